// SlabMap: one kmem_cache pointer per page of RAM naming the SLUB cache whose
// slab holds the page (a libmm addition; tcmalloc's page map plays the same
// part). kfree needs the cache of an object before anything else; reading it
// from struct page costs a 64-byte line per page of the working set, which
// misses the L1 on random frees, where the map keeps 8 pages per line. The
// entry is the cache itself, not an index into a table of caches: the hot
// kfree then has one dependent load before it can touch the cpu's freelist,
// not two (measured: a byte id per page cost the kmalloc-64 pair 15% of its
// wall time, see README.md).
//
// LOCK ORDER: none (no lock; SetSlab runs under the caller's slab ownership).
// LOCKLESS: the entries are relaxed atomics. A slab's entries are written while
// nobody else can hold one of its objects (NewSlab, before the first object is
// handed out; DiscardSlab, after the last came back), so a reader that holds a
// live object of the slab sees its cache through the same happens-before that
// gave it the object. A stale pointer reads whichever cache's slab holds the
// page now, as Linux's virt_to_slab would; a page in no mapped slab (free,
// kmalloc-large, a debug cache's) reads nullptr and takes the checked struct
// page path.
//
// INVARIANTS (Slub::CheckCache checks the first for its cache):
//   - every covered page of a slab of a mapped cache s holds s;
//   - every covered page that is not in a slab of a mapped cache holds nullptr.
// Coverage: the first min(nr_pages, kMaxCovered) pages of mem_map, so that
// the map is one buddy block. Pages past it, a page source without a linear
// mem_map, or no memory for the map at boot: Lookup misses and kfree takes
// the struct page path, which is always correct.
#ifndef MM_SLUB_SLAB_MAP_H_
#define MM_SLUB_SLAB_MAP_H_

#include <atomic>
#include <cstdint>

#include "mm/base/bits.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/page_source.h"

namespace mm::slub {

class SlabMap {
 public:
  using Entry = std::atomic<kmem_cache*>;
  static_assert(sizeof(Entry) == sizeof(kmem_cache*) && Entry::is_always_lock_free);
  // Pages one maximal buddy block of entries covers (2 GiB of RAM at 4 KiB).
  static constexpr uint64_t kMaxCovered = (kPageSize << kMaxPageOrder) / sizeof(Entry);

  // Takes the map's pages from ps (a failure leaves the map off). It covers
  // the first min(nr_pages, max_pages, kMaxCovered) pages of mem_map.
  template <PageSource PS>
  void Init(PS& ps, uint64_t max_pages = kMaxCovered) {
    if constexpr (LinearMemMap<PS>) {
      if (max_pages > kMaxCovered) max_pages = kMaxCovered;
      const uint64_t pages = ps.nr_pages() < max_pages ? ps.nr_pages() : max_pages;
      if (pages == 0) return;
      const uint64_t map_pages = (pages * sizeof(Entry) + kPageSize - 1) >> kPageShift;
      const unsigned order = Log2Ceil(map_pages);
      // RAM at address 0 would put nullptr and ZERO_SIZE_PTR in the map's
      // range, and kfree tests them only after a miss: no map then.
      const uintptr_t start = reinterpret_cast<uintptr_t>(ps.PageAddress(ps.mem_map()));
      if (start < kPageSize) return;
      page* block = ps.AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, order, -1);
      if (block == nullptr) return;
      block_ = block;
      order_ = order;
      entries_ = static_cast<Entry*>(ps.PageAddress(block));  // zeroed: all nullptr
      start_ = start;
      covered_ = pages;
      bytes_ = pages << kPageShift;
    }
  }
  // Returns the map's pages (every mapped cache must be gone).
  template <PageSource PS>
  void Release(PS& ps) {
    if (block_ != nullptr) ps.FreePages(block_, order_);
    block_ = nullptr;
    entries_ = nullptr;
    start_ = 0;
    covered_ = 0;
    bytes_ = 0;
  }

  // RAM bytes the map covers (0: no map).
  uint64_t bytes() const { return bytes_; }

  // The cache of the slab holding addr (any byte of it), or nullptr if the
  // map does not know (not a slab of a mapped cache, not covered, no map).
  // Always nullptr for an address below kPageSize (nullptr, ZERO_SIZE_PTR).
  [[gnu::always_inline]] kmem_cache* Lookup(const void* addr) const {
    const uintptr_t off = reinterpret_cast<uintptr_t>(addr) - start_;
    if (__builtin_expect(off >= bytes_, 0)) return nullptr;
    return entries_[off >> kPageShift].load(std::memory_order_relaxed);
  }
  // addr's page index in mem_map (addr covered: Lookup found it).
  uint64_t PageIndex(const void* addr) const {
    return (reinterpret_cast<uintptr_t>(addr) - start_) >> kPageShift;
  }

  // Marks the covered pages of slab pg (a head page of ps, 2^order pages) as
  // a slab of s (nullptr: clears them).
  template <PageSource PS>
  void SetSlab(const PS& ps, const page* pg, unsigned order, kmem_cache* s) {
    if constexpr (LinearMemMap<PS>) {
      const uint64_t pfn = static_cast<uint64_t>(pg - ps.mem_map());
      for (uint64_t i = pfn; i < pfn + (uint64_t{1} << order) && i < covered_; ++i) {
        entries_[i].store(s, std::memory_order_relaxed);
      }
    }
  }
  // True iff every covered page of slab pg (2^order pages) holds s
  // (CheckCache's test of the first invariant).
  template <PageSource PS>
  bool SlabIs(const PS& ps, const page* pg, unsigned order, const kmem_cache* s) const {
    if constexpr (LinearMemMap<PS>) {
      const uint64_t pfn = static_cast<uint64_t>(pg - ps.mem_map());
      for (uint64_t i = pfn; i < pfn + (uint64_t{1} << order) && i < covered_; ++i) {
        if (entries_[i].load(std::memory_order_relaxed) != s) return false;
      }
    }
    return true;
  }

 private:
  Entry* entries_ = nullptr;  // covered_ entries, one per page from start_
  uintptr_t start_ = 0;       // address of mem_map[0]'s page
  uint64_t bytes_ = 0;        // covered_ << kPageShift; 0: no map
  uint64_t covered_ = 0;
  page* block_ = nullptr;
  unsigned order_ = 0;
};

}  // namespace mm::slub

#endif  // MM_SLUB_SLAB_MAP_H_
