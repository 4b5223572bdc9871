// SLAB: Bonwick's slab allocator as Linux 2.6-6.7 built it (mm/slab.c), over an
// injected page source: per-node slabs_full / slabs_partial / slabs_free lists,
// slabs managed by a free-index array (on the slab, in its leftover tail, or off
// the slab), cache colouring, per-cpu array caches in front of everything, a
// shared array per node, alien arrays for frees to another node, periodic
// reaping, and the tunables of /proc/slabinfo.
//
// LOCK ORDER AND LOCKLESS PATHS
//   registry lock (BasicSlabSystem) -> alien lock (of the freeing node) ->
//   SlabNode::list_lock -> MetaPool lock -> page source
//   - list_lock protects the node's three lists, every slab on them (page->inuse,
//     the free-index array), the counters total_slabs/free_slabs/free_objects,
//     colour_next, free_touched, and the node's shared array.
//   - ArrayCache::lock protects an alien array (only).
//   - A per-cpu array (SlabCache::cpu[c]) is touched only by cpu c (on the host a
//     cpu slot is unique to a live thread), so the fast paths take no lock and
//     use no atomic, as Linux's with interrupts off. Exceptions: FlushCpu from the
//     cpu-dead callback (runs on the dying cpu), ShutdownCache/CheckCache (the
//     cache is quiescent).
//   - LOCKLESS FAST PATHS: Alloc pops the cpu's array; Free pushes onto it while
//     it has room (one node; with numa>1 the free first checks the object's node).
//   - New slabs are built with no lock held and then linked under list_lock;
//     slabs to destroy are unlinked under it and freed after.
//   - Tunables written by ProcWriteSlabinfo are cache-wide words; each cpu adopts
//     them (drains and re-sizes its array) on its next slow path or Reap, as Linux
//     does with an IPI to every cpu. The writer's own cpu adopts them at once.
//
// SLAB INVARIANTS (CheckCache walks them on a quiescent cache), per node:
//   (L1) every slab on the lists: PG_slab, slab_cache == s, objects == num,
//        node == this node; free indices freelist[inuse .. num) are distinct and
//        < num (the free-index array: a stack of free object indices);
//   (L2) slabs_full: inuse == num; slabs_partial: 0 < inuse < num;
//        slabs_free: inuse == 0;
//   (L3) total_slabs == |full| + |partial| + |free|, free_slabs == |free|,
//        free_objects == sum over slabs of (num - inuse);
//   (L4) every pointer in a per-cpu, shared or alien array is an object of this
//        cache whose index is in its slab's in-use part; |all arrays| <= sum inuse
//        (the rest are with callers, or set aside by debugging);
//   (L5) each array: avail <= limit.
#ifndef MM_SLAB_SLAB_H_
#define MM_SLAB_SLAB_H_

#include <atomic>
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
#include "mm/base/thread_annotations.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/platform/platform.h"
#include "mm/slab/meta_pool.h"
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/object_allocator.h"
#include "mm/slab_common/page_source.h"
#include "mm/slab_common/slab_debug.h"

namespace mm::slab {

// Largest slab order the order search prefers (Linux's slab_max_order boot
// option; its default was 0 or 1, libmm's is 3 because kmem_cache descriptors
// carry every allocator's per-cpu state inline and are 5 KiB).
inline constexpr unsigned kSlabMaxOrder = 3;
inline constexpr unsigned kOffSlabMinSize = kPageSize >> 5;  // OFF_SLAB_MIN_SIZE
inline constexpr unsigned kAlienLimit = 12;                  // alloc_alien_cache
inline constexpr unsigned kSharedBatch = 0xbaadf00d;         // shared arrays: no batch
inline constexpr unsigned kSharedFactorSmp = 8;

// An array cache (Linux's struct array_cache): a LIFO stack of object pointers
// in front of the slabs. Invariant (L5): avail <= limit; entry() holds `limit`
// slots allocated with it.
struct ArrayCache {
  unsigned avail;
  unsigned limit;
  unsigned batchcount;
  unsigned touched;
  SpinLock lock;  // alien arrays only
  unsigned capacity;
  uint64_t pad;
  void** entry() { return reinterpret_cast<void**>(this + 1); }
  static size_t Bytes(unsigned limit) { return sizeof(ArrayCache) + size_t{limit} * sizeof(void*); }
};
static_assert(sizeof(ArrayCache) == 32);

// Linux's kmem_cache_node. Invariants (L1)-(L3) above.
struct alignas(kCacheLineSize) SlabNode {
  SpinLock list_lock;
  List slabs_full MM_GUARDED_BY(list_lock);
  List slabs_partial MM_GUARDED_BY(list_lock);
  List slabs_free MM_GUARDED_BY(list_lock);
  unsigned long total_slabs MM_GUARDED_BY(list_lock) = 0;
  unsigned long free_slabs MM_GUARDED_BY(list_lock) = 0;
  unsigned long free_objects MM_GUARDED_BY(list_lock) = 0;
  unsigned long free_limit = 0;
  unsigned colour_next MM_GUARDED_BY(list_lock) = 0;
  bool free_touched MM_GUARDED_BY(list_lock) = false;
  ArrayCache* shared MM_GUARDED_BY(list_lock) = nullptr;
  ArrayCache* alien[kMaxNodes] = {};  // frees from this node to node k (numa > 1)
};

// SLAB's part of a kmem_cache (s->allocator_private).
struct SlabCache {
  ArrayCache* cpu[kMaxCpus] = {};  // owned by each cpu (see LOCK ORDER)
  SlabNode node[kMaxNodes];
  // Layout of a slab.
  unsigned num = 0;           // objects per slab
  unsigned order = 0;
  unsigned colour = 0;        // colours: offsets colour_off * [0, colour)
  unsigned colour_off = 0;
  unsigned idx_bytes = 1;     // freelist_idx_t: 1 byte up to 256 objects, else 2
  bool off_slab = false;      // free-index array from the MetaPool
  unsigned freelist_bytes = 0;
  unsigned nr_nodes = 1;
  // Tunables (cache-wide; see LOCK ORDER for how cpus adopt them).
  std::atomic<unsigned> limit{0};
  std::atomic<unsigned> batchcount{0};
  std::atomic<unsigned> shared{0};
};
static_assert(sizeof(SlabCache) <= kCachePrivateBytes, "grow kCachePrivateBytes");

// Linux's enable_cpucache defaults: the per-cpu limit by object size.
constexpr unsigned DefaultLimit(unsigned size) {
  return size > 131072 ? 1 : size > kPageSize ? 8 : size > 1024 ? 24 : size > 256 ? 54 : 120;
}

template <PageSource PS>
class Slab {
 public:
  static constexpr const char* kName = "slab";

  Slab() = default;
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  void Init(PS* pages, unsigned nr_cpus) {
    pages_ = pages;
    pool_.Init(pages);
    nr_cpus_ = nr_cpus == 0 ? 1 : nr_cpus;
  }

  int InitCache(kmem_cache* s);

  // ---- Fast paths (lockless, on this cpu's array) ----
  // `cpu` is the calling cpu; a caller that read it already passes it.
  [[gnu::always_inline]] void* Alloc(kmem_cache* s, gfp_t gfp, const void* caller,
                                     unsigned cpu = platform::FastCpuId()) {
    SlabCache* sc = CacheOf(s);
    ArrayCache* ac = sc->cpu[cpu];
    if (__builtin_expect(ac != nullptr && ac->avail != 0 && !CacheDebug(s), 1)) {
      ac->touched = 1;
      void* obj = ac->entry()[--ac->avail];
      if (__builtin_expect((gfp & __GFP_ZERO) != 0, 0)) __builtin_memset(obj, 0, s->object_size);
      return obj;
    }
    return AllocSlow(s, gfp, caller);
  }
  [[gnu::always_inline]] void Free(kmem_cache* s, void* obj, const void* caller,
                                   unsigned cpu = platform::FastCpuId()) {
    SlabCache* sc = CacheOf(s);
    ArrayCache* ac = sc->cpu[cpu];
    if (__builtin_expect(ac != nullptr && ac->avail < ac->limit && sc->nr_nodes == 1 &&
                             !CacheDebug(s), 1)) {
      ac->entry()[ac->avail++] = obj;
      return;
    }
    FreeSlow(s, obj, caller);
  }
  int AllocBulk(kmem_cache* s, gfp_t gfp, size_t n, void** p) {
    return AllocBulkOneByOne(*this, s, gfp, n, p);
  }
  void FreeBulk(kmem_cache* s, size_t n, void** p) { FreeBulkOneByOne(*this, s, n, p); }

  // ---- Slow paths and maintenance ----
  [[gnu::noinline]] void* AllocSlow(kmem_cache* s, gfp_t gfp, const void* caller);
  [[gnu::noinline]] void FreeSlow(kmem_cache* s, void* obj, const void* caller);
  int Shrink(kmem_cache* s);
  int ShutdownCache(kmem_cache* s);
  void FlushCpu(kmem_cache* s, unsigned cpu);
  void GetSlabinfo(kmem_cache* s, SlabInfo* info);
  bool CheckCache(kmem_cache* s);
  kmem_cache* ObjectCache(const void* obj) const {
    page* pg = HeadPageOf(*pages_, obj);
    if (pg == nullptr || (pg->flags & PG_slab) == 0) return nullptr;
    return pg->slab_cache;
  }
  // cache_reap for one cache: this cpu's array and every node's alien and shared
  // arrays give back a fifth of their limit unless touched since the last reap;
  // a node's free slabs beyond what was touched go back to the page source.
  void Reap(kmem_cache* s);
  // do_tune_cpucache: the checks are the caller's (ProcWriteSlabinfo's). 0 or -ENOMEM.
  int Tune(kmem_cache* s, unsigned limit, unsigned batchcount, unsigned shared);

  // ---- Helpers (public for tests) ----
  static SlabCache* CacheOf(kmem_cache* s) {
    return std::launder(reinterpret_cast<SlabCache*>(s->allocator_private));
  }
  uint64_t MetaPagesHeld() const { return pool_.PagesHeld(); }

 private:
  // s_mem (first object's slot) of a slab: kept in page->remote_free, a word
  // SLAB does not otherwise use (reset to 0 before the page is freed).
  static uintptr_t SMem(const page* pg) { return pg->remote_free; }
  void* ObjAt(const kmem_cache* s, const page* pg, unsigned i) const {
    return reinterpret_cast<void*>(SMem(pg) + uintptr_t{i} * s->size + s->red_left_pad);
  }
  // Index of obj in its slab, or ~0u if obj is not an object boundary there.
  unsigned IndexOf(const kmem_cache* s, const page* pg, const void* obj) const {
    uintptr_t off = reinterpret_cast<uintptr_t>(obj) - SMem(pg);
    if (off < s->red_left_pad) return ~0u;
    off -= s->red_left_pad;
    if (off % s->size != 0 || off / s->size >= pg->objects) return ~0u;
    return static_cast<unsigned>(off / s->size);
  }
  static unsigned GetIdx(const SlabCache* sc, const page* pg, unsigned i) {
    const auto* f = static_cast<const unsigned char*>(pg->freelist);
    return sc->idx_bytes == 1 ? f[i] : reinterpret_cast<const uint16_t*>(f)[i];
  }
  static void SetIdx(const SlabCache* sc, page* pg, unsigned i, unsigned v) {
    auto* f = static_cast<unsigned char*>(pg->freelist);
    if (sc->idx_bytes == 1) {
      f[i] = static_cast<unsigned char>(v);
    } else {
      reinterpret_cast<uint16_t*>(f)[i] = static_cast<uint16_t>(v);
    }
  }
  unsigned LocalNode(const SlabCache* sc) const { return platform::FastCpuId() % sc->nr_nodes; }
  SlabNode& NodeOf(SlabCache* sc, const page* pg) { return sc->node[pg->node < sc->nr_nodes ? pg->node : 0]; }

  ArrayCache* NewArray(unsigned limit, unsigned batch, int nid);
  void FreeArray(ArrayCache* ac) {
    if (ac != nullptr) pool_.Free(ac, ArrayCache::Bytes(ac->capacity));
  }
  void FreeNodeArrays(SlabNode& n);
  // This cpu's array, created (or re-sized after a Tune) on demand; may be nullptr
  // when no memory is left for it.
  ArrayCache* CpuArray(kmem_cache* s, unsigned cpu);
  page* Grow(kmem_cache* s, gfp_t gfp, unsigned nid);
  void DestroySlab(kmem_cache* s, page* pg);
  // Takes up to `want` objects from the node's slabs into out[]; returns how many.
  unsigned TakeFromSlabsLocked(kmem_cache* s, SlabNode& n, void** out, unsigned want)
      MM_EXCLUSIVE_LOCKS_REQUIRED(n.list_lock);
  // Returns objs to their slabs (all on node n); slabs beyond free_limit are moved
  // to `destroy` (freed by the caller with the lock dropped).
  void FreeBlockLocked(kmem_cache* s, SlabNode& n, void** objs, unsigned nr, List* destroy)
      MM_EXCLUSIVE_LOCKS_REQUIRED(n.list_lock);
  void DestroyList(kmem_cache* s, List* l);
  // cache_flusharray: makes room in a full per-cpu array.
  void FlushArray(kmem_cache* s, ArrayCache* ac, unsigned nid);
  // Frees objects (of any node) to their slabs.
  void FreeObjects(kmem_cache* s, void** objs, unsigned nr);
  // Frees the `nr` oldest objects of an array to their slabs, shifting the rest down.
  void DrainArray(kmem_cache* s, ArrayCache* ac, unsigned nr);
  void DrainShared(kmem_cache* s, SlabNode& n, unsigned nr);
  bool Refill(kmem_cache* s, ArrayCache* ac, unsigned nid, gfp_t gfp);
  void DrainAlien(kmem_cache* s, ArrayCache* alien, unsigned to_node);
  void DrainAllArrays(kmem_cache* s, bool all_cpus);
  void* AllocOne(kmem_cache* s, gfp_t gfp);
  void* DebugAlloc(kmem_cache* s, gfp_t gfp, const void* caller);
  void DebugFree(kmem_cache* s, void* obj, const void* caller);
  bool IsFreeInSlab(const SlabCache* sc, const page* pg, unsigned idx) const {
    for (unsigned i = pg->inuse; i < pg->objects; ++i)
      if (GetIdx(sc, pg, i) == idx) return true;
    return false;
  }
  unsigned LiveObjects(kmem_cache* s, page* pg, bool report);

  PS* pages_ = nullptr;
  MetaPool<PS> pool_;
  unsigned nr_cpus_ = 1;
};

}  // namespace mm::slab

#include "mm/slab/slab_impl.h"  // IWYU pragma: export

#endif  // MM_SLAB_SLAB_H_
