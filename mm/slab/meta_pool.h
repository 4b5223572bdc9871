// MetaPool: where SLAB keeps its own metadata (per-cpu, shared and alien array
// caches; off-slab free-index arrays) -- Linux takes them from kmalloc; libmm's
// SLAB cannot call the layer above it, so it carves power-of-two chunks
// (64 B .. 2 KiB) out of order-0 pages of the page source, and takes whole page
// blocks for anything larger. A page whose chunks are all free goes back at once.
//
// LOCK ORDER: SLAB node list_lock / alien lock  ->  MetaPool::lock_  ->  page source.
// The page source is called with lock_ dropped.
//
// INVARIANT: each chunk page (objects == its class) is on partial_[class] iff it
// has a free chunk; inuse + |page->freelist| == kPageSize >> (class + kMinShift);
// inuse > 0 for every page the pool holds.
#ifndef MM_SLAB_META_POOL_H_
#define MM_SLAB_META_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/bits.h"
#include "mm/base/list.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/slab_common/page_source.h"

namespace mm::slab {

template <PageSource PS>
class MetaPool {
 public:
  static constexpr unsigned kMinShift = 6;  // 64-byte chunks
  static constexpr unsigned kClasses = 6;   // 64 .. 2048

  void Init(PS* pages) { pages_ = pages; }

  // `bytes` of zeroed memory, or nullptr.
  void* Alloc(size_t bytes, int nid) {
    void* p = bytes > (size_t{1} << (kMinShift + kClasses - 1)) ? AllocBlock(bytes, nid)
                                                                   : AllocChunk(ClassOf(bytes), nid);
    if (p != nullptr) __builtin_memset(p, 0, bytes);
    return p;
  }
  // Frees what Alloc(bytes) returned.
  void Free(void* p, size_t bytes) {
    if (p == nullptr) return;
    page* pg = HeadPageOf(*pages_, p);
    if (bytes > (size_t{1} << (kMinShift + kClasses - 1))) {
      Release(pg, Log2Ceil((bytes + kPageSize - 1) >> kPageShift));
      return;
    }
    bool release = false;
    {
      SpinLockGuard guard(lock_);
      const bool was_full = pg->freelist == nullptr;
      *static_cast<void**>(p) = pg->freelist;
      pg->freelist = p;
      --pg->inuse;
      if (pg->inuse == 0) {
        if (!was_full) List::Remove(&pg->lru);
        release = true;
      } else if (was_full) {
        partial_[pg->objects].PushFront(&pg->lru);
      }
    }
    if (release) Release(pg, 0);
  }
  uint64_t PagesHeld() const { return pages_held_.load(std::memory_order_relaxed); }

  // The invariant above for every page on a partial list: inuse > 0, a free
  // chunk, inuse + free chunks == chunks per page, free chunks inside the page.
  bool CheckInvariants() {
    SpinLockGuard guard(lock_);
    for (unsigned k = 0; k < kClasses; ++k) {
      if (!partial_[k].LinksConsistent()) return false;
      const uintptr_t chunk = uintptr_t{1} << (kMinShift + k);
      for (ListNode* n = partial_[k].first(); n != nullptr && n != partial_[k].end(); n = n->next) {
        page* pg = ContainerOf(n, &page::lru);
        const uintptr_t base = reinterpret_cast<uintptr_t>(pages_->PageAddress(pg));
        unsigned free = 0;
        for (void* c = pg->freelist; c != nullptr && free <= kPageSize / chunk; c = *static_cast<void**>(c)) {
          const uintptr_t a = reinterpret_cast<uintptr_t>(c);
          if (a < base || a >= base + kPageSize || (a - base) % chunk != 0) return false;
          ++free;
        }
        if (pg->objects != k || pg->inuse == 0 || free == 0 || pg->inuse + free != kPageSize / chunk) {
          return false;
        }
      }
    }
    return true;
  }

 private:
  static unsigned ClassOf(size_t bytes) {
    unsigned k = 0;
    while ((size_t{1} << (kMinShift + k)) < bytes) ++k;
    return k;
  }
  void* AllocBlock(size_t bytes, int nid) {
    const unsigned order = Log2Ceil((bytes + kPageSize - 1) >> kPageShift);
    page* pg = pages_->AllocPages(GFP_KERNEL | __GFP_COMP, order, nid);
    if (pg == nullptr) return nullptr;
    pages_held_.fetch_add(uint64_t{1} << order, std::memory_order_relaxed);
    return pages_->PageAddress(pg);
  }
  // A chunk from a partial page, else from a new page that the caller uses at
  // once: a page is taken with lock_ dropped, so two threads can both find no
  // partial page and both take one; each takes its first chunk from its own page
  // before any other thread can see it, so no page is ever held with no chunk in
  // use (which would stay held forever: only a free of its last chunk gives a
  // page back).
  void* AllocChunk(unsigned k, int nid) {
    {
      SpinLockGuard guard(lock_);
      if (!partial_[k].empty()) return TakeLocked(ContainerOf(partial_[k].first(), &page::lru));
    }
    page* pg = pages_->AllocPages(GFP_KERNEL, 0, nid);
    if (pg == nullptr) return nullptr;
    pages_held_.fetch_add(1, std::memory_order_relaxed);
    const size_t chunk = size_t{1} << (kMinShift + k);
    char* base = static_cast<char*>(pages_->PageAddress(pg));
    void* head = nullptr;
    for (size_t off = kPageSize; off >= chunk; off -= chunk) {
      void* c = base + off - chunk;
      *static_cast<void**>(c) = head;
      head = c;
    }
    pg->freelist = head;
    pg->inuse = 0;
    pg->objects = k;
    SpinLockGuard guard(lock_);
    partial_[k].PushFront(&pg->lru);
    return TakeLocked(pg);
  }
  // One chunk of a page on partial_ (taken off the list when it was the last).
  void* TakeLocked(page* pg) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_) {
    void* p = pg->freelist;
    pg->freelist = *static_cast<void**>(p);
    ++pg->inuse;
    if (pg->freelist == nullptr) List::Remove(&pg->lru);
    return p;
  }
  void Release(page* pg, unsigned order) {
    pg->freelist = nullptr;
    pg->inuse = 0;
    pg->objects = 0;
    pg->lru.next = pg->lru.prev = nullptr;
    pages_held_.fetch_sub(uint64_t{1} << order, std::memory_order_relaxed);
    pages_->FreePages(pg, order);
  }

  PS* pages_ = nullptr;
  SpinLock lock_;
  List partial_[kClasses] MM_GUARDED_BY(lock_);
  std::atomic<uint64_t> pages_held_{0};
};

}  // namespace mm::slab

#endif  // MM_SLAB_META_POOL_H_
