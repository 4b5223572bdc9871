// SLOB: the simple list-of-blocks allocator (Linux's mm/slob.c, 2.6.16-6.3), over
// an injected page source. K&R-style first fit inside order-0 pages that every
// cache and kmalloc share; three lists of partly free pages by request size
// (< 256 bytes, < 1024, larger); one global lock; every block in a shared page
// carries a one-unit size header (so kfree and ksize work on any object);
// requests that cannot fit a page go straight to the page allocator.
// libmm's addition, header elision: a cache (or a kmalloc size class) whose
// objects pack more densely without a header, once it has a heap page's worth of
// them, puts further objects headerless in page blocks of its own ("own pages",
// first fit with the same free blocks); the page names the cache, which is what
// kfree, ksize and the wrong-cache check need.
//
// LOCK ORDER
//   registry lock (BasicSlabSystem)  ->  Slob::lock_  ->  page source locks
//   - lock_ protects everything below: the page lists, every heap page's free
//     blocks, page->freelist/inuse, the cache-id table, each SlobCache's counters,
//     own page lists and ctor list. There is no lockless path: SLOB is small, not
//     fast. (hdr_allocs is also read without the lock, atomically: a stale value
//     only moves the switch to own pages by an allocation.)
//   - The page source is called with lock_ dropped (a new heap page is taken
//     outside, then linked in under the lock and used at once; an empty page is
//     unlinked under the lock and returned after).
//   - Free/Ksize/ObjectCache read page->slab_cache of an object the caller
//     owns without lock_ (it never changes while the page is SLOB's: an
//     adopted heap page keeps &heap_); whether a heap page is adopted, and a
//     heap block's header, are read under lock_ (adoption turns a heap page
//     into an own page and its headers into free units).
//
// UNITS AND BLOCKS. A heap page is kUnitsPerPage units of kUnit (8) bytes (SLOB's
// minimum alignment on a 64-bit machine: Linux's ARCH_SLAB_MINALIGN and
// ARCH_KMALLOC_MINALIGN; with every object 8-aligned, Linux's 2-byte units would
// only leave unusable 2..6-byte fragments). It is tiled by blocks:
//   free block:      word 0 = units | next << 32    (next: unit offset of the next
//                    free block of the page, kNoNext for none; sorted by address)
//   allocated block: [header] [link word, ctor caches only] [object ...]
//                    header = units | kHdrMagic | kHdrLink? | owner << 32
//                    (owner: 0 = kmalloc, else the cache's id + 1); the object is
//                    aligned as requested. The link word of a live object is 0
//                    (so the word before an object is either a plain header or 0);
//                    a free constructed object of a ctor cache stays allocated in
//                    the heap, chained on its cache's ctor list by that word.
// An own page block (order own_order, kUnitsPerPage << order units) is tiled by
// the same free blocks and by headerless objects of own_units units each.
// page->remote_free (unused by SLOB otherwise): of a heap page, its *sole-owner
// key* -- the id + 1 of the one own-capable cache (or kmalloc class) whose
// blocks are the only ones allocated in it since it was taken, or kSoleMixed;
// of an own page the cache took, the alignment its objects share (own_align);
// of a heap page the cache adopted (slab_cache stays &heap_: the shared
// layer's kfree reads it without lock_), kAdopted | alignment << 32 | key (the
// alignment may be less than own_align: the headered objects stay put).
//
// ADOPTION. A cache (or kmalloc class) that alone fills half of a heap page --
// every block allocated in it its own -- takes that page as its first own page
// and switches to own pages: the headers of its objects there become free
// units (which 8-byte objects reuse at once), and the page's free half holds
// headerless objects. A cache alone on a machine thus never holds a heap page
// beyond its own pages; a cache whose first objects share heap pages with
// others keeps them there (their pages are everyone's) and switches after a
// heap page's worth.
//
// INVARIANTS (CheckCache walks every page):
//   (B1) each heap page: PG_slab, slab_cache == &heap_, objects == kUnitsPerPage,
//        and walking blocks from the page start (free blocks by their units,
//        allocated ones by their header) ends exactly at the page end; each own
//        block of cache c: PG_slab, slab_cache == c (or &heap_ if adopted:
//        remote_free names c), objects == its units, tiled
//        by free blocks and own_units-unit objects (own_align-aligned);
//   (B2) inuse + sum(units of free blocks) == objects; free blocks are in address
//        order and never adjacent (coalesced on free); inuse > 0 (an empty page
//        goes back to the page source at once);
//   (B3) a heap page with free units is on exactly one of small_/medium_/large_,
//        one without any on full_; an own block on its cache's own or own_full;
//   (B4) per cache c: allocated heap blocks with owner c.id + 1
//        == c.live_heap + c.nr_ctor_free; objects in its own blocks == c.live_own;
//        big blocks of c == c.live - c.live_heap - c.live_own.
//   (B5) a heap page keyed to cache k holds only blocks of k (and, if k is a
//        kmalloc class, kmalloc blocks); an own page's objects are aligned to its
//        page alignment, a power of two >= kUnit dividing own_align.
//   Big blocks (a cache object that cannot share a page) are compound page blocks
//   with PG_slab, slab_cache == the cache and objects == 0; they are on no list.
#ifndef MM_SLOB_SLOB_H_
#define MM_SLOB_SLOB_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/list.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/slab_common/kmalloc_sizes.h"
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/object_allocator.h"
#include "mm/slab_common/page_source.h"
#include "mm/slab_common/slab_debug.h"

namespace mm::slob {

inline constexpr unsigned kUnit = 8;
inline constexpr unsigned kUnitsPerPage = kPageSize / kUnit;
inline constexpr uint32_t kNoNext = 0xffff;
inline constexpr uint64_t kUnitsMask = 0xffff;
inline constexpr uint64_t kHdrLink = 1u << 16;           // a link word precedes the header
inline constexpr uint64_t kHdrMagic = 0x5b0ull << 20;    // bits 20..31
inline constexpr uint64_t kHdrMagicMask = 0xfffull << 20;
inline constexpr unsigned kMaxCaches = 1024;             // live kmem_caches SLOB can serve
inline constexpr unsigned kSmallBreak = 256;             // SLOB_BREAK1
inline constexpr unsigned kMediumBreak = 1024;           // SLOB_BREAK2
inline constexpr uintptr_t kSoleMixed = ~uintptr_t{0};   // heap page used by more than one owner

// SLOB's part of a kmem_cache (s->allocator_private). All fields under lock_.
// Invariant (B4): live counts handed-out objects; live_heap of them are
// headered blocks in shared heap pages, live_own headerless blocks in the
// cache's own pages, the rest big blocks; ctor_free chains nr_ctor_free
// constructed, free heap blocks through their link words.
struct SlobCache {
  unsigned id = 0;
  bool big = false;           // objects do not fit a heap page: whole page blocks
  unsigned long live = 0;
  unsigned long live_heap = 0;
  uintptr_t* ctor_free = nullptr;  // link word (block + 8) of the first cached block
  unsigned long nr_ctor_free = 0;
  // Own pages (header elision): a cache whose objects pack more densely without
  // a header (or, for objects too big for a heap page, several to a block), once
  // it has made own_after headered (or big-block) allocations -- or has adopted
  // a heap page it alone half filled (hdr_allocs is then set to own_after) --
  // puts its objects in page blocks of order own_order of its own, headerless
  // (page->slab_cache names the cache). own_after 0: own pages from the first
  // object (a heap page would hold only one).
  unsigned own_units = 0;     // units per object in an own page; 0: never
  unsigned own_align = 0;
  unsigned own_order = 0;
  unsigned own_after = 0;
  unsigned long hdr_allocs = 0;  // headered allocations that could have been own (monotonic)
  unsigned long live_own = 0;
  List own;                   // own pages with free units
  List own_full;              // own pages without
};
static_assert(sizeof(SlobCache) <= kCachePrivateBytes);

template <PageSource PS>
class Slob {
 public:
  static constexpr const char* kName = "slob";

  Slob() = default;
  Slob(const Slob&) = delete;
  Slob& operator=(const Slob&) = delete;

  void Init(PS* pages) {
    pages_ = pages;
    new (&heap_) kmem_cache();
    const char name[] = "slob-heap";
    for (size_t i = 0; i < sizeof name; ++i) heap_.name[i] = name[i];
    heap_.align = kUnit;
    heap_.size = heap_.object_size = heap_.inuse = kUnit;
    for (auto& c : caches_) c = nullptr;
  }

  // Drops the debug layout (SLOB supports no slub_debug option, as Linux's) and
  // decides heap block or big block; takes a cache id.
  int InitCache(kmem_cache* s) {
    const slab_flags_t flags = s->flags & ~SLAB_DEBUG_FLAGS;
    if (slab_debug::ComputeLayout(s, s->object_size, s->align, flags, s->ctor) != 0) return -kEINVAL;
    SlobCache* c = new (s->allocator_private) SlobCache();
    c->big = !FitsHeap(s->object_size, s->align, HeaderBytes(s));
    if (c->big) {
      s->order = Log2Ceil((s->object_size + kPageSize - 1) >> kPageShift);
      s->objects = 1;
    } else {
      s->order = 0;
      s->objects = static_cast<unsigned>(kPageSize / (HeaderBytes(s) + AlignUp(s->object_size, kUnit)));
    }
    if (s->ctor == nullptr) OwnLayout(s, c);
    s->min_order = s->order;
    s->min_objects = s->objects;
    SpinLockGuard guard(lock_);
    for (unsigned i = 0; i < kMaxCaches; ++i) {
      if (caches_[i] == nullptr) {
        caches_[i] = s;
        c->id = i;
        if ((s->flags & SLAB_KMALLOC) && s->object_size <= kKmallocMaxCacheSize) {
          kmalloc_[KmallocIndex(s->object_size)] = s;
        }
        return 0;
      }
    }
    return -kENOMEM;
  }

  void* Alloc(kmem_cache* s, gfp_t gfp, const void* caller);
  void Free(kmem_cache* s, void* obj, const void* caller);
  int AllocBulk(kmem_cache* s, gfp_t gfp, size_t n, void** p) {
    return AllocBulkOneByOne(*this, s, gfp, n, p);
  }
  void FreeBulk(kmem_cache* s, size_t n, void** p) { FreeBulkOneByOne(*this, s, n, p); }
  int Shrink(kmem_cache* s);
  int ShutdownCache(kmem_cache* s);
  void FlushCpu(kmem_cache*, unsigned) {}  // SLOB caches nothing per cpu
  void GetSlabinfo(kmem_cache* s, SlabInfo* info);
  bool CheckCache(kmem_cache* s);
  kmem_cache* ObjectCache(const void* obj);
  // The cache whose own page (taken or adopted) holds obj; nullptr for an
  // object in a shared heap page, a big block or no SLOB page.
  kmem_cache* OwnPageCache(const void* obj);

  // kmalloc for 1 <= size <= KMALLOC_MAX_CACHE_SIZE: exact size plus header (no
  // size classes), aligned to the size when it is a power of two (up to a page);
  // a size whose kmalloc class packs more objects a page without headers (8, 16,
  // 32, 64, 96, 128, 192, 256, 512, 1024, 2048: powers of two pay header +
  // alignment) goes to that class's own pages once the class has had a heap
  // page's worth of such requests. ksize: the header's units, or the class size.
  void* Kmalloc(size_t size, gfp_t gfp, const void* caller);
  // Usable size of an object in a PG_slab page of this allocator.
  size_t Ksize(const void* p, const page* pg) const;

  // Pages held (heap pages and big blocks), for footprint measurements.
  uint64_t PagesHeld() const { return pages_held_.load(std::memory_order_relaxed); }

 private:
  static unsigned HeaderBytes(const kmem_cache* s) { return s->ctor != nullptr ? 2 * kUnit : kUnit; }
  static SlobCache* CacheOf(kmem_cache* s) {
    return std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  }
  // A cache takes own pages after a heap page's worth of headered allocations
  // (hdr_per_page): a cache with fewer objects keeps sharing heap pages, and a
  // cache on its own never holds more than one page beyond perfect packing.
  // Objects of `size` bytes aligned to `align` (>= kUnit) that fit one heap page
  // with a header each: the first object at max(align, header), then one every
  // AlignUp(header + size, align) bytes.
  static unsigned HeaderedPerPage(uint64_t size, unsigned align) {
    const uint64_t sz = AlignUp(size, kUnit);
    const uint64_t first = AlignUp(uint64_t{kUnit}, align);
    const uint64_t stride = AlignUp(sz + kUnit, align);
    return first + sz > kPageSize ? 0 : static_cast<unsigned>((kPageSize - first - sz) / stride + 1);
  }
  // A page of headerless objects of one cache (not a big block, not shared).
  // The cache whose own page pg is (a page it took, or a heap page it adopted:
  // slab_cache stays &heap_ for life, as the shared layer's kfree reads it
  // without lock_), or nullptr for a heap page or a big block.
  kmem_cache* OwnCacheLocked(const page* pg) const MM_EXCLUSIVE_LOCKS_REQUIRED(lock_) {
    if (pg->slab_cache != &heap_) return pg->objects != 0 ? pg->slab_cache : nullptr;
    const uintptr_t w = pg->remote_free;
    return IsAdopted(w) ? caches_[(w & kAdoptedKeyMask) - 1] : nullptr;
  }
  // page->remote_free of an adopted page: kAdopted | page alignment << 32 | key.
  static constexpr uintptr_t kAdopted = uintptr_t{1} << 62;
  static constexpr uintptr_t kAdoptedKeyMask = 0xffffffff;
  static bool IsAdopted(uintptr_t w) { return (w >> 62) == 1; }
  static uintptr_t BlockBytes(const page* pg) {
    return uintptr_t{kPageSize} << ((pg->flags & PG_head) ? pg->order : 0);
  }
  // Decides whether (and how) cache s takes own pages, if that costs less per
  // object than a headered heap block (bytes of a page / objects per page) or a
  // big block of its own. Objects that share heap pages: the smallest order (up
  // to kOwnMaxOrder) whose blocks waste at most 1/8 (a cache with few objects
  // holds one small block). Objects too big for a heap page: the order up to
  // kOwnMaxOrder that costs least per object (the 9.3 KiB kmem_cache
  // descriptor: three to an order-3 block, 2.67 pages each, not one to an
  // order-2 block).
  static void OwnLayout(const kmem_cache* s, SlobCache* c) {
    const unsigned align = s->align < kUnit ? kUnit : s->align;
    if (align > kPageSize) return;
    const uint64_t bytes = AlignUp(uint64_t{s->object_size}, align);
    const unsigned hdr_per_page = c->big ? 0 : HeaderedPerPage(s->object_size, align);
    uint64_t best = c->big ? kPageSize << s->order : kPageSize / hdr_per_page;  // the shared cost
    for (unsigned order = 0; order <= kOwnMaxOrder; ++order) {
      const uint64_t block = uint64_t{kPageSize} << order;
      const uint64_t per = block / bytes;
      if (per == 0 || (!c->big && (block - per * bytes) * 8 > block)) continue;
      if (block / per >= best) {
        if (c->big) continue;
        return;
      }
      best = block / per;
      c->own_units = static_cast<unsigned>(bytes / kUnit);
      c->own_align = align;
      c->own_order = order;
      // A heap page that holds one such object shares only its tail: own
      // blocks from the first object (3000 bytes: five to an order-2 block).
      c->own_after = c->big ? 1 : hdr_per_page > 1 ? hdr_per_page : 0;
      if (!c->big) return;
    }
  }
  // The alignment an own page's objects share (B5): own_align, or less in an
  // adopted heap page.
  static uintptr_t PageAlign(const page* pg) {
    const uintptr_t w = pg->remote_free;
    return IsAdopted(w) ? (w & ~kAdopted) >> 32 : w;
  }
  // Bytes of own page per object of a cache that owns pages.
  static uint64_t OwnCost(const SlobCache* c) {
    const uint64_t block = uint64_t{kPageSize} << c->own_order;
    return block / (block / (uint64_t{c->own_units} * kUnit));
  }
  static constexpr unsigned kOwnMaxOrder = 3;  // 4096 units of 8 bytes: 16-bit offsets
  // A block of `hdr` + size bytes whose object is `align`-aligned fits a page.
  static bool FitsHeap(uint64_t size, unsigned align, unsigned hdr) {
    // In a fresh page the object lands at the first multiple of align >= hdr.
    return align < kPageSize && AlignUp(hdr, align) + AlignUp(size, kUnit) <= kPageSize;
  }
  static bool IsPlainHeader(uint64_t w) {
    return (w & kHdrMagicMask) == kHdrMagic && (w & kHdrLink) == 0;
  }
  // The header of a live object: the word before it, or the one before that
  // when the word before is a ctor object's (zero) link word.
  static uint64_t* HeaderOf(const void* obj) {
    uint64_t* w = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(obj) - kUnit);
    return IsPlainHeader(*w) ? w : w - 1;
  }
  static unsigned FreeUnits(const void* b) { return *static_cast<const uint64_t*>(b) & kUnitsMask; }
  uintptr_t Base(const page* pg) const { return reinterpret_cast<uintptr_t>(pages_->PageAddress(pg)); }
  void* NextFree(const page* pg, const void* b) const {
    const uint32_t n = static_cast<uint32_t>(*static_cast<const uint64_t*>(b) >> 32);
    return n == kNoNext ? nullptr : reinterpret_cast<void*>(Base(pg) + uintptr_t{n} * kUnit);
  }
  void SetFree(const page* pg, void* b, unsigned units, const void* next) {
    const uint64_t n = next == nullptr ? kNoNext
                                       : (reinterpret_cast<uintptr_t>(next) - Base(pg)) / kUnit;
    *static_cast<uint64_t*>(b) = units | (n << 32);
  }
  List& ListFor(size_t bytes) {
    return bytes < kSmallBreak ? small_ : bytes < kMediumBreak ? medium_ : large_;
  }

  // A block in a shared heap page (own == nullptr; hdr bytes of header, counted
  // in c if c != nullptr, one headered allocation more for `demand`) or,
  // headerless, in an own page of cache `own` (counted there).
  void* HeapAlloc(size_t size, unsigned align, unsigned hdr, SlobCache* c, gfp_t gfp,
                  kmem_cache* own = nullptr, SlobCache* demand = nullptr);
  void* PageAllocLocked(page* pg, unsigned units, unsigned align, unsigned hdr)
      MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Returns the block [b, b + units) to its page; returns the page if it became
  // empty (unlinked; the caller frees it after dropping the lock). With
  // `checked`, a block that overlaps a free block or the page end (a double free
  // or a foreign pointer) sets *bad and changes nothing.
  page* HeapFreeLocked(void* b, unsigned units, bool* bad = nullptr) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Adoption: makes heap page pg (on a heap list) an own page of cache s if
  // every block allocated in it is one of s's (a kmalloc class: or a kmalloc
  // block) of own_units + 1 units; the objects stay, their headers become free
  // units. Returns false, changing nothing, otherwise.
  bool AdoptLocked(kmem_cache* s, page* pg) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void DiscardPage(page* pg);
  // Free of an object in an own page / a heap page; returns the page if it
  // became empty (unlinked; the caller frees it after dropping the lock).
  page* OwnFreeLocked(kmem_cache* s, kmem_cache* owner, page* pg, void* obj) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  page* HeapObjectFreeLocked(kmem_cache* s, page* pg, void* obj) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void* AllocBig(kmem_cache* s, gfp_t gfp);
  void ReportRemaining(kmem_cache* s, unsigned owner) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);

  PS* pages_ = nullptr;
  mutable SpinLock lock_;  // mutable: Ksize (const) reads heap headers under it
  List small_ MM_GUARDED_BY(lock_);
  List medium_ MM_GUARDED_BY(lock_);
  List large_ MM_GUARDED_BY(lock_);
  List full_ MM_GUARDED_BY(lock_);
  kmem_cache* caches_[kMaxCaches] MM_GUARDED_BY(lock_) = {};
  // The kmalloc-* caches (registered by InitCache): kmalloc requests that pack
  // more densely in a size class's own pages go there, headerless.
  kmem_cache* kmalloc_[kNrKmallocClasses] = {};
  std::atomic<uint64_t> pages_held_{0};
  // slab_cache of every heap page: marks "shared SLOB page, owner in the header"
  // (never in the registry; kfree dispatches Free(&heap_, obj)).
  kmem_cache heap_;
};

}  // namespace mm::slob

#include "mm/slob/slob_impl.h"  // IWYU pragma: export

#endif  // MM_SLOB_SLOB_H_
