// struct kmem_cache: one object cache, as every object allocator sees it.
//
// The first part is common to all allocators and is filled by the shared layer
// (BasicSlabSystem::CreateCache via slab_debug::ComputeLayout and the
// allocator's InitCache); `allocator_private` is the selected allocator's own
// per-cache state (SLUB: per-cpu slabs and per-node partial lists), placed in
// the cache itself so that a fast path reaches its per-cpu data with one
// address computation and no pointer chase.
//
// Object layout inside a slot of `size` bytes (offsets from the OBJECT pointer p,
// which is what callers see; the slot starts at p - red_left_pad):
//
//   [-red_left_pad, 0)          left red zone            (SLAB_RED_ZONE)
//   [0, object_size)            the caller's object      (0x6b.. 0xa5 when poisoned and free)
//   [object_size, inuse)        right red zone           (SLAB_RED_ZONE; 0xbb free, 0xcc allocated)
//   [offset, offset+8)          free pointer             (inside the object when no ctor,
//                                                          no poison and no debugging; else at inuse)
//   [track_offset, +2*Track)    last alloc and free site (SLAB_STORE_USER)
//   [tag_offset, +8)            object state tag         (any debug flag)
//   ... padding up to `size`, which is a multiple of `align`.
//
// Invariants: align is a power of two >= 8; size % align == 0;
// red_left_pad % align == 0 (so p stays aligned); object_size <= inuse <= size;
// a slab of `objects` objects occupies objects*size <= PAGE_SIZE << order bytes.
//
// Lock order: the registry (list, refcount) is protected by the owning system's
// registry lock; everything in the common part is written once at creation and
// read-only afterwards (so fast paths read it without locks).
#ifndef MM_SLAB_COMMON_KMEM_CACHE_H_
#define MM_SLAB_COMMON_KMEM_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/list.h"
#include "mm/base/types.h"
#include "mm/slab_common/slab_flags.h"

namespace mm {

inline constexpr size_t kCacheNameLen = 32;  // names are truncated to 31 characters
// Room for the largest allocator's per-cache state (SLUB: two cache lines per
// cpu and two per node).
inline constexpr size_t kCachePrivateBytes =
    2 * kCacheLineSize * kMaxCpus + 2 * kCacheLineSize * kMaxNodes + 2 * kCacheLineSize;

// Object state tags of debug caches (the word at tag_offset).
inline constexpr uint64_t kTagFree = 0x46524545'6f626a21ull;         // on a free list
inline constexpr uint64_t kTagAllocated = 0x414c4c4f'6f626a21ull;    // handed out
inline constexpr uint64_t kTagQuarantined = 0x42414421'6f626a21ull;  // set aside after a report

struct kmem_cache {
  // ---- Read by fast paths ----
  unsigned int offset;       // free pointer offset from the object pointer
  unsigned int size;         // slot stride
  unsigned int object_size;  // the caller's size
  slab_flags_t flags;
  uintptr_t random;          // freelist hardening key (CONFIG_SLAB_FREELIST_HARDENED)

  // ---- Layout (see above) ----
  unsigned int align;
  unsigned int inuse;
  unsigned int red_left_pad;
  unsigned int track_offset;
  unsigned int tag_offset;
  unsigned int order;        // preferred slab order and objects per such slab
  unsigned int objects;
  unsigned int min_order;    // fallback order when the preferred one is unavailable
  unsigned int min_objects;
  void (*ctor)(void*);

  // ---- Registry ----
  char name[kCacheNameLen];
  int refcount;
  ListNode list;
  // Objects set aside after a debug report (never handed out again).
  std::atomic<uint64_t> quarantined;
  std::atomic<uint64_t> debug_reports;  // reports printed for this cache

  // ---- The selected allocator's state ----
  alignas(kCacheLineSize) unsigned char allocator_private[kCachePrivateBytes];
};

inline bool CacheDebug(const kmem_cache* s) { return (s->flags & SLAB_DEBUG_FLAGS) != 0; }

// Per-slab statistics an allocator reports for /proc/slabinfo.
struct SlabInfo {
  unsigned long active_objs = 0;
  unsigned long num_objs = 0;
  unsigned long active_slabs = 0;
  unsigned long num_slabs = 0;
  unsigned long shared_avail = 0;
  unsigned int limit = 0;       // SLAB's tunables; 0 for SLUB and SLOB
  unsigned int batchcount = 0;
  unsigned int shared = 0;
  unsigned int objects_per_slab = 0;
  unsigned int cache_order = 0;
};

}  // namespace mm

#endif  // MM_SLAB_COMMON_KMEM_CACHE_H_
