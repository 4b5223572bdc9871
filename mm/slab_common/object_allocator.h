// The one object-allocator interface: a C++20 concept that SLUB (and later SLAB
// and SLOB) satisfy, for direct (static) use; BasicSlabSystem adds the runtime
// dispatch chosen once at boot (slab_allocator=).
//
// Contract of each operation (A is the allocator, s a cache A has initialised):
//   A::kName                       "slub", "slab" or "slob"
//   a.InitCache(s)                 after the shared layer has filled the layout
//                                  (slab_debug::ComputeLayout): choose slab order,
//                                  build per-cache state in s->allocator_private.
//                                  0 or -errno.
//   a.Alloc(s, gfp, caller)        an object or nullptr; __GFP_ZERO zeroes it.
//   a.Free(s, obj, caller)         obj from a.Alloc(s, ...); debug caches check it.
//   a.AllocBulk(s, gfp, n, p)      n objects into p[0..n) or 0 (nothing allocated).
//   a.FreeBulk(s, n, p)
//   a.Shrink(s)                    returns empty slabs it can reach to the pages;
//                                  0 if the cache now holds no slab, else 1.
//   a.ShutdownCache(s)             frees every slab if no object is live and
//                                  returns 0; otherwise reports the live objects
//                                  ("Objects remaining in NAME on
//                                  __kmem_cache_shutdown()") and returns -EBUSY,
//                                  leaving the cache usable.
//   a.FlushCpu(s, cpu)             returns cpu's cached objects/slabs (cpu-dead;
//                                  runs on that cpu or while it cannot run).
//   a.GetSlabinfo(s, &info)        counters for /proc/slabinfo.
//   a.CheckCache(s)                walks the cache's structures (quiescent cache)
//                                  and checks their invariants; prints the first
//                                  violation and returns false.
//   a.ObjectCache(obj)             the cache owning a slab object, or nullptr if
//                                  obj is not in a slab page of this allocator.
#ifndef MM_SLAB_COMMON_OBJECT_ALLOCATOR_H_
#define MM_SLAB_COMMON_OBJECT_ALLOCATOR_H_

#include <concepts>
#include <cstddef>

#include "mm/buddy/gfp.h"
#include "mm/slab_common/kmem_cache.h"

namespace mm {

template <typename A>
concept ObjectAllocator = requires(A& a, kmem_cache* s, gfp_t gfp, void* obj, const void* caller,
                                   size_t n, void** p, unsigned cpu, SlabInfo* info) {
  { A::kName } -> std::convertible_to<const char*>;
  { a.InitCache(s) } -> std::same_as<int>;
  { a.Alloc(s, gfp, caller) } -> std::same_as<void*>;
  { a.Free(s, obj, caller) } -> std::same_as<void>;
  { a.AllocBulk(s, gfp, n, p) } -> std::same_as<int>;
  { a.FreeBulk(s, n, p) } -> std::same_as<void>;
  { a.Shrink(s) } -> std::same_as<int>;
  { a.ShutdownCache(s) } -> std::same_as<int>;
  { a.FlushCpu(s, cpu) } -> std::same_as<void>;
  { a.GetSlabinfo(s, info) } -> std::same_as<void>;
  { a.CheckCache(s) } -> std::same_as<bool>;
  { a.ObjectCache(obj) } -> std::same_as<kmem_cache*>;
};

// AllocBulk/FreeBulk for an allocator with no faster way than one at a time
// (SLAB, SLOB): all n objects or none.
template <typename A>
int AllocBulkOneByOne(A& a, kmem_cache* s, gfp_t gfp, size_t n, void** p) {
  for (size_t i = 0; i < n; ++i) {
    p[i] = a.Alloc(s, gfp, nullptr);
    if (p[i] == nullptr) {
      for (size_t k = 0; k < i; ++k) a.Free(s, p[k], nullptr);
      return 0;
    }
  }
  return static_cast<int>(n);
}
template <typename A>
void FreeBulkOneByOne(A& a, kmem_cache* s, size_t n, void** p) {
  for (size_t i = 0; i < n; ++i) a.Free(s, p[i], nullptr);
}

}  // namespace mm

#endif  // MM_SLAB_COMMON_OBJECT_ALLOCATOR_H_
