// The object-allocator layer of a machine (Linux's slab_common): the kmem_cache
// registry, kmalloc size classes and large kmalloc, ksize/krealloc/kcalloc,
// /proc/slabinfo, and the runtime dispatch to the allocator chosen once at boot.
//
// DISPATCH. Every entry point makes one branch on kind_ (fixed at Init), SLUB
// first (the hot ones none, given kKnownSlub by a caller that already knows),
// and then calls the selected allocator's member function directly;
// each allocator satisfies the ObjectAllocator concept, so SLUB's and SLAB's
// fast paths are inlined into the entry points and SLOB's is one call: no
// virtual call, no function pointer. Adding
// an allocator = adding a member, a branch in Dispatch() and one in each hot
// entry point. Allocator-specific hooks: Kmalloc(size, gfp, caller) and
// Ksize(p, page) (SLOB: exact-size kmalloc with a header instead of the
// size-class caches); FreeInSlab(s, obj, head_page, caller) (SLUB: kfree hands
// over the slab page it already looked up).
//
// LOCK ORDER
//   registry_lock_  ->  the allocator's locks (SLUB: SlubNode::lock)  ->  page source
//   - registry_lock_ protects caches_ (the list of every kmem_cache, newest
//     first, like Linux's slab_caches) and each cache's refcount.
//   - kmalloc_[] and the boot cache are written once in Init and read lock-free.
//   - Alloc/Free/Kmalloc/Kfree take no lock of this layer.
//
// METADATA. Every kmem_cache except the first lives in a slab object of the boot
// cache "kmem_cache" (Linux's boot_kmem_cache), whose own descriptor is a member
// of this object; the object itself lives where the machine puts it (its RAM).
//
// INVARIANTS (CheckInvariants): the registry list is consistent and holds the boot
// cache and every kmalloc cache; each cache passes its allocator's CheckCache;
// every kmalloc cache k has object_size == kKmallocClasses[k].size.
#ifndef MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_H_
#define MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/base/list.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/base/spinlock.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/slab_common/kmalloc_sizes.h"
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/object_allocator.h"
#include "mm/slab_common/page_source.h"
#include "mm/slab_common/slab_config.h"
#include "mm/slab_common/slab_debug.h"
#include "mm/slab_common/slab_flags.h"
#include "mm/slab/slab.h"
#include "mm/slob/slob.h"
#include "mm/slub/slub.h"

namespace mm {

template <PageSource PS>
class BasicSlabSystem {
  static_assert(ObjectAllocator<slub::Slub<PS>>);
  static_assert(ObjectAllocator<slob::Slob<PS>>);
  static_assert(ObjectAllocator<slab::Slab<PS>>);

 public:
  BasicSlabSystem() = default;
  BasicSlabSystem(const BasicSlabSystem&) = delete;
  BasicSlabSystem& operator=(const BasicSlabSystem&) = delete;

  // Boots the layer over `pages`: the boot cache and the kmalloc caches.
  // Returns 0, -EINVAL (allocator not built) or -ENOMEM.
  int Init(PS& pages, const SlabConfig& cfg);
  // Tears every cache down (all objects must have been freed). Returns 0, or
  // -EBUSY after reporting the caches that still hold objects (their memory stays).
  int Shutdown();

  // slab_allocator= and slub_debug[=...] words; see slab_config.h.
  static int ParseSlabOption(const char* word, size_t len, SlabConfig* cfg) {
    return mm::ParseSlabOption(word, len, cfg);
  }

  // ---- kmem_cache_* ----
  // The inline entry points record __builtin_return_address(0) of the function
  // they are inlined into (the facade's caller) for SLAB_STORE_USER.
  // kmem_cache_create: nullptr on bad arguments or no memory (panics with SLAB_PANIC).
  kmem_cache* CreateCache(const char* name, unsigned size, unsigned align, slab_flags_t flags,
                          void (*ctor)(void*));
  // kmem_cache_destroy: 0, or -EBUSY with Linux's reports when objects are live
  // (the cache then stays usable); nullptr is a no-op. kmalloc caches and the
  // boot cache cannot be destroyed (-EINVAL).
  int DestroyCache(kmem_cache* s);

  // `caller` (recorded by SLAB_STORE_USER) defaults to the return address of
  // the function the call is written in: the facade's caller.
  // The hot entry points (Alloc, Free, Kmalloc, Kfree) take kKnownSlub = true
  // from a caller that knows kind() is kSlub (the facade keeps a pointer that
  // is set only then): the same SLUB arm without the branch on kind_.
  template <bool kKnownSlub = false>
  [[gnu::always_inline]] void* Alloc(kmem_cache* s, gfp_t gfp,
                                     const void* caller = __builtin_return_address(0)) {
    if (kKnownSlub || kind_ == AllocatorKind::kSlub) [[likely]]
      return slub_.Alloc(s, gfp, caller, platform::FastCpuId());
    if (kind_ == AllocatorKind::kSlab) return slab_.Alloc(s, gfp, caller, platform::FastCpuId());
    return SlobAlloc(s, gfp, caller);
  }
  [[gnu::always_inline]] void* Zalloc(kmem_cache* s, gfp_t gfp) {
    const void* caller = __builtin_return_address(0);
    return Dispatch([=](auto& a) { return a.Alloc(s, gfp | __GFP_ZERO, caller); });
  }
  template <bool kKnownSlub = false>
  [[gnu::always_inline]] void Free(kmem_cache* s, void* obj,
                                   const void* caller = __builtin_return_address(0)) {
    if (obj == nullptr) return;
    if (kKnownSlub || kind_ == AllocatorKind::kSlub) [[likely]]
      return slub_.Free(s, obj, caller, platform::FastCpuId());
    if (kind_ == AllocatorKind::kSlab) return slab_.Free(s, obj, caller, platform::FastCpuId());
    SlobFree(s, obj, caller);
  }
  // nr objects into p[0..nr), or 0 with nothing allocated.
  int AllocBulk(kmem_cache* s, gfp_t gfp, size_t nr, void** p) {
    return Dispatch([&](auto& a) { return a.AllocBulk(s, gfp, nr, p); });
  }
  void FreeBulk(kmem_cache* s, size_t nr, void** p) {
    Dispatch([&](auto& a) { a.FreeBulk(s, nr, p); });
  }
  // kmem_cache_shrink: 0 if the cache holds no slab afterwards, else 1.
  int Shrink(kmem_cache* s) {
    return Dispatch([&](auto& a) { return a.Shrink(s); });
  }
  unsigned CacheSize(const kmem_cache* s) const { return s->object_size; }

  // ---- kmalloc family ----
  template <bool kKnownSlub = false>
  [[gnu::always_inline]] void* Kmalloc(size_t size, gfp_t gfp,
                                       const void* caller = __builtin_return_address(0)) {
    if (__builtin_expect(size - 1 < kKmallocMaxCacheSize, 1)) {
      // SLUB and SLAB allocate from the size class's cache; SLOB (exact
      // sizes, no classes) takes the request whole.
      if (kKnownSlub || kind_ == AllocatorKind::kSlub) [[likely]]
        return slub_.Alloc(kmalloc_[KmallocIndex(size)], gfp, caller, platform::FastCpuId());
      if (kind_ == AllocatorKind::kSlab)
        return slab_.Alloc(kmalloc_[KmallocIndex(size)], gfp, caller, platform::FastCpuId());
      return SlobKmalloc(size, gfp, caller);
    }
    if (size == 0) return ZERO_SIZE_PTR;
    return KmallocLarge(size, gfp);
  }
  void* Kzalloc(size_t size, gfp_t gfp, const void* caller = __builtin_return_address(0)) {
    return Kmalloc(size, gfp | __GFP_ZERO, caller);
  }
  // nullptr when n * size overflows.
  void* KmallocArray(size_t n, size_t size, gfp_t gfp,
                     const void* caller = __builtin_return_address(0)) {
    uint64_t bytes;
    if (!CheckedMul(n, size, &bytes)) return nullptr;
    return Kmalloc(bytes, gfp, caller);
  }
  void* Kcalloc(size_t n, size_t size, gfp_t gfp, const void* caller = __builtin_return_address(0)) {
    return KmallocArray(n, size, gfp | __GFP_ZERO, caller);
  }
  // Keeps the first min(old, new) bytes. new_size 0 frees and returns
  // ZERO_SIZE_PTR; on failure returns nullptr and leaves p alone.
  void* Krealloc(const void* p, size_t new_size, gfp_t gfp);
  // Accepts nullptr and ZERO_SIZE_PTR.
  template <bool kKnownSlub = false>
  [[gnu::always_inline]] void Kfree(const void* p, const void* caller = __builtin_return_address(0)) {
    // SLUB: the slab map names the cache without a struct page read; what it
    // does not know (kmalloc-large blocks, debug caches, bad pointers) takes
    // the call below. nullptr and ZERO_SIZE_PTR never map (SlabMap::Lookup
    // of an address below the first page misses), so they are tested only
    // after the miss. The cpu is read before the page: the relaxed atomic
    // load of page->flags would keep the compiler from reusing a caller's read
    // of it. (A caller that does not know the kind takes one call for SLUB.)
    if (kKnownSlub) {
      const unsigned cpu = platform::FastCpuId();
      if (__builtin_expect(slub_.KfreeMapped(p, caller, cpu), 1)) return;
      if (ZERO_OR_NULL_PTR(p)) return;
      return SlubKfreeUnmapped(p, caller, cpu);
    }
    if (ZERO_OR_NULL_PTR(p)) return;
    const unsigned cpu = platform::FastCpuId();
    if (kind_ == AllocatorKind::kSlub) [[likely]] return SlubKfree(p, caller, cpu);
    uint32_t flags = 0;
    page* pg = KfreeHeadPage(p, &flags);
    if (__builtin_expect((flags & PG_slab) != 0, 1)) {
      kmem_cache* s = pg->slab_cache;
      void* obj = const_cast<void*>(p);
      if (kind_ == AllocatorKind::kSlab) return slab_.Free(s, obj, caller, cpu);
      SlobFree(s, obj, caller);
      return;
    }
    KfreeLarge(p, pg);
  }
  // Usable size of a kmalloc'ed (or cache) object; 0 for nullptr/ZERO_SIZE_PTR.
  size_t Ksize(const void* p) const;

  const char* AllocatorName() const { return AllocatorKindName(kind_); }
  AllocatorKind kind() const { return kind_; }

  // /proc/slabinfo ("slabinfo - version: 2.1").
  void ShowSlabinfo(TextBuffer& out);
  // Pages held in slabs, split as /proc/meminfo's SReclaimable (caches created
  // with SLAB_RECLAIM_ACCOUNT) and SUnreclaim (all others). Under SLOB: every
  // heap page and big block, all SUnreclaim.
  void SlabPages(uint64_t* reclaimable, uint64_t* unreclaimable);
  // Returns a dead cpu's cached objects and slabs (call on that cpu, or when it
  // cannot run).
  void OnCpuDead(unsigned cpu);
  // Periodic reaping (Linux's cache_reap, every 2 s per cpu): SLAB trims this
  // cpu's arrays and every node's shared and alien arrays and free slabs;
  // SLUB and SLOB have nothing to reap. Call from the machine's timer or tests.
  void Reap();
  // A write to /proc/slabinfo: "NAME LIMIT BATCHCOUNT SHARED" tunes a SLAB
  // cache, with Linux's rules: more than 128 bytes, no space after the name,
  // not three integers, or no such cache: -EINVAL; limit < 1, batchcount < 1,
  // batchcount > limit or shared < 0: accepted and ignored (0); else 0 or
  // -ENOMEM. SLUB and SLOB have no tunables: -EIO (as Linux's SLUB).
  int ProcWriteSlabinfo(const char* text, size_t len);
  // Checks the invariants above on a quiescent system; prints the first
  // violation and returns false.
  bool CheckInvariants();

  // ---- For tests, tools and benchmarks ----
  kmem_cache* KmallocCache(unsigned index) const { return kmalloc_[index]; }
  kmem_cache* boot_cache() { return &boot_cache_; }
  PS& pages() const { return *pages_; }
  slub::Slub<PS>& slub() { return slub_; }
  slob::Slob<PS>& slob() { return slob_; }
  slab::Slab<PS>& slab() { return slab_; }
  kmem_cache* FindCache(const char* name);

 private:
  // The single runtime dispatch: a switch on the allocator chosen at boot.
  // The runtime dispatch: SLUB, the default, first.
  template <typename F>
  [[gnu::always_inline]] decltype(auto) Dispatch(F&& f) {
    if (kind_ == AllocatorKind::kSlub) [[likely]] return f(slub_);
    if (kind_ == AllocatorKind::kSlab) return f(slab_);
    return f(slob_);
  }
  // The hot entry points (Alloc, Free, Kmalloc, Kfree) inline SLUB's and
  // SLAB's fast paths behind plain branches and reach SLOB (whose paths take
  // its one lock anyway) through one out-of-line call; a lambda through
  // Dispatch made the compiler store its captures to the stack on every call.
  [[gnu::noinline]] void* SlobAlloc(kmem_cache* s, gfp_t gfp, const void* caller) {
    return slob_.Alloc(s, gfp, caller);
  }
  [[gnu::noinline]] void SlobFree(kmem_cache* s, void* obj, const void* caller) {
    slob_.Free(s, obj, caller);
  }
  // SLUB's kfree of a pointer the slab map does not know: struct page says
  // what it is (a slab of an unmapped cache, a kmalloc-large block, or
  // neither, which KfreeLarge reports).
  [[gnu::noinline]] void SlubKfree(const void* p, const void* caller, unsigned cpu) {
    if (slub_.KfreeMapped(p, caller, cpu)) return;
    SlubKfreeUnmapped(p, caller, cpu);
  }
  [[gnu::noinline]] void SlubKfreeUnmapped(const void* p, const void* caller, unsigned cpu) {
    uint32_t flags = 0;
    page* pg = KfreeHeadPage(p, &flags);
    if ((flags & PG_slab) != 0) return slub_.FreeInSlab(pg->slab_cache, const_cast<void*>(p), pg, caller, cpu);
    KfreeLarge(p, pg);
  }
  [[gnu::noinline]] void* SlobKmalloc(size_t size, gfp_t gfp, const void* caller) {
    return slob_.Kmalloc(size, gfp, caller);
  }

  kmem_cache* CreateCacheInternal(const char* name, unsigned size, unsigned align,
                                  slab_flags_t flags, void (*ctor)(void*), const void* caller);
  // kmalloc above the largest class: a compound block when the page count is
  // a power of two or the block is above kKmallocExactMaxOrder, else exact
  // pages (see ExactPages). Above PAGE_ALLOC_COSTLY_ORDER the cut (a prepared
  // struct page per page, chunks freed and merged again) costs more than the
  // rounding is worth, and such blocks are rare.
  static constexpr unsigned kKmallocExactMaxOrder = 3;
  void* KmallocLarge(size_t size, gfp_t gfp);
  // The page count of an exact kmalloc-large block headed by pg (its first
  // page, the head of its first chunk: index = count, private_ =
  // kKmallocExactMagic), else 0. Its other chunk heads carry kKmallocExactTail,
  // so that kfree refuses them.
  static constexpr uintptr_t kKmallocExactMagic = 0x6b6d616c6c6f6378;  // "kmallocx"
  static constexpr uintptr_t kKmallocExactTail = 0x6b6d616c6c6f6374;   // "kmallocT"
  static uint64_t ExactPages(const page* pg) {
    return ((pg->flags & (PG_slab | PG_tail)) == 0 && pg->private_ == kKmallocExactMagic)
               ? pg->index
               : 0;
  }
  // Calls f(start, order) for the aligned power-of-two chunks that tile
  // [0, end) of a block: those of [0, nr) are nr's binary digits, largest
  // first; past nr, the largest aligned chunk that fits.
  template <typename F>
  static void ForEachExactChunk(uint64_t nr, uint64_t end, F&& f) {
    uint64_t start = 0;
    while (start < end) {
      const uint64_t limit = start < nr ? nr : end;
      unsigned j = 0;
      while ((start & ((uint64_t{2} << j) - 1)) == 0 && start + (uint64_t{2} << j) <= limit) ++j;
      f(start, j);
      start += uint64_t{1} << j;
    }
  }
  // Makes h..h+2^j-1 (pages of one allocated compound block) an allocated
  // block of order j of its own, as the page allocator prepares one (split_page).
  static void PrepExactChunk(page* h, unsigned j) {
    h->flags = j > 0 ? PG_head : 0;
    h->order = static_cast<uint8_t>(j);
    h->compound_head = nullptr;  // the mapping word of a head page
    h->private_ = 0;
    h->_refcount.store(1, std::memory_order_relaxed);
    for (uint64_t t = 1; t < (uint64_t{1} << j); ++t) {
      h[t].flags = PG_tail;
      h[t].order = 0;
      h[t].compound_head = h;
      h[t]._refcount.store(0, std::memory_order_relaxed);
    }
  }
  void KfreeLarge(const void* p, page* pg);
  // HeadPageOf(*pages_, p, flags), from this object's copy of a linear memory
  // map's bounds (set in Init; they never change) rather than through pages_.
  [[gnu::always_inline]] page* KfreeHeadPage(const void* p, uint32_t* flags) const {
    if constexpr (LinearMemMap<PS>) {
      const uintptr_t off = reinterpret_cast<uintptr_t>(p) - ram_start_;
      if (__builtin_expect(off >= ram_bytes_, 0)) return nullptr;
      return HeadPageFrom(mem_map_ + (off >> kPageShift), flags);
    } else {
      return HeadPageOf(*pages_, p, flags);
    }
  }
  void SetupCache(kmem_cache* s, const char* name);

  AllocatorKind kind_ = AllocatorKind::kSlub;
  PS* pages_ = nullptr;
  page* mem_map_ = nullptr;  // LinearMemMap page sources: KfreeHeadPage's bounds
  uintptr_t ram_start_ = 0;
  uint64_t ram_bytes_ = 0;
  SlabConfig cfg_;
  slub::Slub<PS> slub_;
  slob::Slob<PS> slob_;
  slab::Slab<PS> slab_;
  kmem_cache* kmalloc_[kNrKmallocClasses] = {};
  SpinLock registry_lock_;
  List caches_ MM_GUARDED_BY(registry_lock_);
  bool up_ = false;
  kmem_cache boot_cache_;
};

}  // namespace mm

#include "mm/slab_common/basic_slab_system_impl.h"  // IWYU pragma: export

#endif  // MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_H_
