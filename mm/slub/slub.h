// SLUB: the unqueued slab allocator, as Linux builds it, over an injected page
// source (BuddyAllocator in production, a fake in tests).
//
// LOCK ORDER AND LOCKLESS PATHS
//   registry lock (BasicSlabSystem)  ->  SlubNode::lock  ->  page source locks
//   registry lock (BasicSlabSystem)  ->  SlubBarn::lock (a leaf)
//   - SlubNode::lock protects the node's partial list (page->lru of the slabs on
//     it), nr_partial, the full list of debug caches, page->freelist/inuse of
//     debug slabs, and for unfrozen slabs of other caches the state-word changes
//     that move a slab between lists: freezing a node-partial slab (GetPartial),
//     unfreezing (Deactivate), and a free that takes inuse to 0.
//   - SlubCpu is touched only by the cpu that owns it (platform::CpuId(); on the
//     host a cpu slot is unique to a live thread), so it needs no lock and no
//     atomics, exactly as Linux's this_cpu ops with preemption off. Exceptions,
//     documented at each use: FlushCpu from the cpu-dead callback (runs on the
//     dying cpu) and ShutdownCache/CheckCache, whose callers guarantee the cache is
//     quiescent (Linux's kmem_cache_destroy contract).
//   - LOCKLESS FAST PATHS: Alloc pops the cpu's private freelist; Free pushes onto
//     it when the object lies in the cpu's active slab, else onto the page
//     freelist of the cpu-partial slab it last freed into (cached bounds), else
//     into rsheaf when it lies in the remote run's slab. No lock, no atomic.
//   - OWN-CPU PARTIAL FREE: a free into a slab frozen to the freeing cpu (its
//     partial or parked slabs) goes, with sheaves, into the cpu's local sheaf
//     while it has room (owner only, plain stores), except a run of frees into
//     one partial slab; otherwise it pushes onto page->freelist with plain
//     stores: a frozen slab's page->freelist and inuse belong to the cpu that
//     froze it (Owner()).
//   - LOCK-FREE REMOTE FREE: a free into a FROZEN slab that is not the freeing
//     cpu's active slab (another cpu's active slab, or any cpu-partial slab) is a
//     CAS push onto Remote(page). The owner takes the whole stack with one
//     exchange when its private freelist runs dry.
//   - LOCK-FREE UNFROZEN FREE (Linux's __slab_free): an unfrozen slab of a
//     non-debug cache keeps its freelist head and inuse packed in the same word
//     (the STATE WORD below), so a free into it is one CAS of that word. The
//     node lock is taken (before the CAS) only when the free may change the
//     slab's list: inuse 1 -> 0 (the slab may be discarded). A free into a FULL
//     unfrozen slab (on no list) freezes it in the same CAS and puts it on the
//     freeing cpu's partial list, with no lock.
//   - SHEAVES (non-debug caches of objects up to 2 KiB): a free that misses
//     the active slab goes, with plain stores and no write to the object, into
//     one of the freeing cpu's two sheaves (SlubCpu::sheaf for its own and
//     unfrozen slabs, SlubCpu::rsheaf for slabs frozen to another cpu; owner
//     only). kfree fills the local sheaf with any slab's objects while it has
//     room (as Linux's sheaves do), and only then chooses by the slab's owner.
//   - THE SLAB MAP (slab_map.h): kfree reads the cache from one pointer per page
//     (relaxed atomics, written by NewSlab and DiscardSlab) instead of from
//     struct page. A full sheaf is exchanged for an empty one at the node's barn
//     (SlubBarn::lock); at barn_max full sheaves the sheaf is flushed to its
//     slabs instead (FlushSheaf: runs of one slab, a plain splice for the
//     cpu's own slabs, one CAS of the paths above otherwise). AllocSlow pops
//     the local sheaf, else swaps it for a full one from the barn, before any
//     slab transition. Until flushed a sheaf's objects count as in use in
//     their slabs (slabinfo's active_objs), as SLAB's array caches do.
//   - SlubBarn::lock is a leaf: held only around list operations on the barn
//     (never with a node lock held, never across a flush or a page-source
//     call); the registry lock may be held outside it (OnCpuDead, shutdown).
//   - Node counters nr_slabs/total_objects are relaxed atomics (read by slabinfo).
//
// THE STATE WORD page->remote_free (accessed only through Remote()):
//   frozen:   (remote stack head | kFrozen). page->freelist/inuse belong to the
//             owner cpu (Owner()); other cpus push onto the remote stack.
//   unfrozen (non-debug caches): ((head - slab base + 1) << 32) | (inuse << 1),
//             head 0 = empty freelist; page->freelist == nullptr and
//             page->inuse == 0 are unused. A slab whose word has head == 0 is
//             full and on no list; any other unfrozen slab is on its node's
//             partial list. Every change is one CAS (frees) or an exchange
//             under the node lock (GetPartial freezes; Deactivate unfreezes with
//             a CAS from an empty frozen stack, under the lock).
//   debug caches: always 0; page->freelist/inuse under the node lock.
//   The frozen bit is set under the node lock (GetPartial), on a brand-new slab
//   nobody else sees, or by the CAS of a free into a full slab; it is cleared
//   only under the node lock (Deactivate). A freer that sees it clear works on
//   the packed word, so the free-list owner is always unambiguous.
//
// SLAB INVARIANTS (CheckCache walks them on a quiescent cache):
//   (S1) every slab: PG_slab, slab_cache == s, objects == s->objects or
//        s->min_objects, and   inuse + |freelist| == objects, where (freelist,
//        inuse) are the page's fields for frozen and debug slabs and the state
//        word's for unfrozen slabs of non-debug caches (SlabFreelist/SlabInuse).
//   (S2) a slab on a node partial list is not frozen (owner 0; non-debug: page
//        freelist nullptr, page inuse 0) and 0 <= inuse < objects;
//        node.nr_partial == length of node.partial.
//   (S3) an active slab (cpu->slab) is frozen, page->freelist == nullptr,
//        inuse == objects, and  |cpu->freelist| + |remote stack| <= objects;
//        cpu->slab_start/slab_bytes describe exactly its objects, or
//        slab_bytes is 0 and cpu->freelist empty (detached, see DETACHED).
//   (S4) a cpu-partial slab is frozen; cpu->nr_partial == length of the chain.
//        Active and cpu-partial slabs of cpu c have Owner == c + 1; slabs on a
//        node list have Owner == 0 and the frozen bit clear (debug: word 0).
//   (S5) every free-list entry (page, cpu, remote) is an object boundary inside
//        its slab, and no list has a cycle.
//   (S6) sum over nodes of nr_slabs == slabs on partial lists + active slabs +
//        cpu-partial slabs + full slabs (full slabs are on no list, except debug
//        caches, which keep them on node.full so that they can be validated).
//   (S7) (the former remote-free buffer; replaced by the sheaves of S8.)
//   (S8) sheaves: every entry of a cpu's sheaf/rsheaf and of a barn's full
//        sheaves is an allocated object boundary of a slab of this cache
//        (not on its slab's free chains) and no entry appears twice in a
//        sheaf, whose two guard slots are nullptr; size <= cap == sheaf_cap;
//        a barn's nr_full == |full| <= barn_max with every full sheaf at cap,
//        nr_empty == |empty| of size 0, and nr_sheaves == nr_full +
//        nr_empty + the sheaves its cpus hold.
//        Debug caches and caches with sheaf_cap 0 have none.
//   (S9) a cpu's remote run (rrun_start/rrun_bytes, bytes != 0) is exactly
//        the bounds of a slab of this cache, and the cpu's rsheaf holds at
//        least one object of it; rrun_bytes == 0 => rrun_start == 0.
//   Debug caches never use the cpu structures: every operation runs under the
//   node lock, and every object carries a state tag (slab_debug.h); quarantined
//   objects count as in use.
#ifndef MM_SLUB_SLUB_H_
#define MM_SLUB_SLUB_H_

#include <atomic>
#include <bit>
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
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/page_source.h"
#include "mm/slab_common/slab_debug.h"
#include "mm/slub/slab_map.h"

namespace mm::slub {

// CONFIG_SLAB_FREELIST_HARDENED: free pointers are stored as
// ptr ^ cache random ^ address of the slot rotated by 32 bits (Linux swabs it;
// a rotation needs no libgcc helper on RISC-V without Zbb). Off by default, as
// in Linux's Kconfig; `--define slab_freelist_hardened=1` turns it on for the
// whole build (mm/slub/BUILD), costing 8 instructions per alloc+free pair.
#ifndef MM_SLAB_FREELIST_HARDENED
#define MM_SLAB_FREELIST_HARDENED 0
#endif
inline constexpr bool kFreelistHardened = MM_SLAB_FREELIST_HARDENED != 0;

inline constexpr uintptr_t kFrozen = 1;
static_assert(sizeof(uintptr_t) == 8, "the unfrozen state word packs a 32-bit offset and inuse");
// page->remote_free is a plain word in struct page; it is only ever accessed
// through this atomic view.
inline std::atomic_ref<uintptr_t> Remote(page* pg) { return std::atomic_ref<uintptr_t>(pg->remote_free); }
// The cpu that froze a slab, plus one (0: not frozen), kept in page->_mapcount,
// which a slab page never uses otherwise (Linux keeps its slab page type in the
// same word); it is back to 0 before the slab returns to the page allocator.
// Written by the owner or under the node lock; read by any freeing cpu, which
// only ever acts on finding ITS OWN id (which only it sets or clears).
inline uintptr_t Owner(const page* pg) {
  return static_cast<uintptr_t>(pg->_mapcount.load(std::memory_order_relaxed));
}
inline void SetOwner(page* pg, uintptr_t cpu_plus_one) {
  pg->_mapcount.store(static_cast<int32_t>(cpu_plus_one), std::memory_order_relaxed);
}
inline constexpr unsigned kMaxOrder = 3;       // slub_max_order (PAGE_ALLOC_COSTLY_ORDER)
// The per-cpu partial quota (libmm difference from Linux): this much slab
// memory per cpu and cache, at most 1/256 of RAM (at least Linux's
// set_cpu_partial count). Refills
// from a node list still move Linux's count.
inline constexpr uint64_t kCpuPartialBytes = 1024 * 1024;
inline constexpr unsigned kParkedScan = 32;  // parked slabs CollectParked looks at

// SHEAVES (libmm's version of Linux 6.18's per-cpu sheaves; see README.md): an
// array of object pointers in front of the slabs. A free that misses the
// active slab goes into a sheaf without writing the object; an allocation that
// finds the private freelist empty pops the local sheaf. Full and empty sheaves
// are exchanged with the node's barn; only a sheaf the barn has no room for is
// flushed back to its slabs. A sheaf is a 256-byte container carved out of
// pages the cache takes from the page source (16 per page).
inline constexpr unsigned kSheafMax = 28;       // entries a container holds
inline constexpr unsigned kSheafBytes = 28 * 1024;  // object bytes per sheaf: capacity = min(28, 28 KiB / size)
inline constexpr unsigned kSheafMaxSize = 2048;     // larger objects: no sheaves
inline constexpr unsigned kBarnBytes = 32768;   // object bytes the barn holds in full sheaves
inline constexpr unsigned kBarnMaxFull = 16;    // and at most this many full sheaves
// Entries live in slot[2 .. 2 + size); slot[0] and slot[1] are always nullptr,
// so that a push compares obj with the two newest entries (the double-free
// check) without first testing how many there are: below two entries it
// meets the guards, which no object equals.
struct Sheaf {
  Sheaf* next;   // barn list link (unused while a cpu holds it)
  uint32_t size; // entries objs()[0..size): allocated objects of this cache (counted in use)
  uint32_t cap;  // capacity, <= kSheafMax (the cache's sheaf_cap)
  void* slot[2 + kSheafMax];
  void** objs() { return slot + 2; }
  void* const* objs() const { return slot + 2; }
  // True iff obj is one of the two newest entries (size may be 0 or 1).
  // (A 64-bit index: size + 1 then folds into the address, with no register.)
  bool NewestTwoHold(const void* obj) const {
    const size_t n = size;
    return slot[n + 1] == obj || slot[n] == obj;
  }
  // True iff obj is the newest entry (false when empty: the guard).
  bool NewestIs(const void* obj) const { return slot[size_t{size} + 1] == obj; }
  // Appends obj if there is room and it is not one of the two newest entries
  // (a double free, for the caller to report); false leaves the sheaf alone.
  [[gnu::always_inline]] bool TryPush(void* obj) {
    const size_t n = size;
    if (__builtin_expect(n >= cap || NewestTwoHold(obj), 0)) return false;
    objs()[n] = obj;
    size = static_cast<uint32_t>(n + 1);
    return true;
  }
};
static_assert(sizeof(Sheaf) == 256);

// A cpu's view of a cache. Owned by that cpu (see LOCK ORDER).
// PARKED SLABS (a libmm difference from Linux, after mimalloc's full pages):
// an active slab that runs out of objects stays frozen to its cpu, on the cpu's
// `parked` list, instead of unfreezing (an atomic per slab). The owner's own
// free into it is a plain push that moves it to the partial list; other cpus'
// frees go onto its remote stack and raise remote_pending, and the owner
// collects such slabs (to the front of its partial list) in AllocSlow.
// FlushCpu (cpu dead, shrink on this cpu, shutdown) unfreezes them as Linux
// unfreezes full slabs.
// DETACHED: once the active slab's freelist is empty and the cpu allocates
// from its sheaf, slab_bytes is 0, so that the owner's frees into the slab miss
// the fast path's bounds and go into the sheaf with the other frees. Else, in
// a random mix, each such free made the freelist non-empty for one allocation
// and both fast paths' first branches unpredictable (0.4 mispredicts per
// kmalloc/kfree pair). A detached cpu's own frees that find the sheaf full
// trade it for an empty one at the barn (FreeOwnPartial; as SLAB's array
// caches do at their shared cache), so that when the sheaf runs dry AllocSlow
// finds a full one there rather than activating a slab whose freelist would
// serve the next allocations: on churn that took the mispredicts from 0.29 to
// 0.07 per replacement, and random-1e4's D1 misses from 5.6 to 5.0. AllocSlow
// replaces a detached slab as it replaces an exhausted one. Whatever gives the
// slab a cpu freelist again re-attaches it (sets slab_bytes): ActivateSlab,
// ReturnRun (a flushed sheaf's run into it), AllocSlow taking its remote stack.
// Invariant (S3/S4): slab == nullptr <=> slab_start == slab_bytes == 0 and
// freelist == nullptr; otherwise slab is frozen with Owner == cpu + 1, and
// either slab_bytes == 0 (detached) and freelist == nullptr, or every
// object on freelist lies in [slab_start, slab_start + slab_bytes), and
// |freelist| + |slab's remote stack| <= slab->objects; free_page is nullptr
// (free_bytes 0) or a slab on the partial chain, and free_bytes is 0 or
// free_start/free_bytes are its bounds; nr_parked == |parked|,
// each parked slab frozen with Owner == cpu + 1, page freelist nullptr and
// inuse == objects; nr_partial == length of
// the `partial` chain, each slab on it frozen with Owner == cpu + 1, and
// partial_tail its last slab. The chain is FIFO: slabs are added at the tail
// and activated from the head, so a slab gathers frees for as long as
// possible before it is allocated from again.
struct alignas(kCacheLineSize) SlubCpu {
  // First line: the owner's fast and slow paths.
  void* freelist;        // private free objects of `slab` (encoded chain)
  uintptr_t slab_start;  // address of the active slab's first slot; 0 if none
  uintptr_t slab_bytes;  // objects * size of the active slab; 0 if none
  page* slab;            // the active (frozen) slab, or nullptr
  // The local sheaf (see SHEAVES below), in this line with the fields every
  // fast path reads: a random kmalloc/kfree mix pops and pushes it.
  Sheaf* sheaf;
  // The cpu-partial slab this cpu last freed into (nullptr: none), and, once
  // two frees in a row went to it, its bounds (free_bytes 0: not yet): the
  // next free into it is then a plain push with no page lookup.
  page* free_page;
  uintptr_t free_start;
  uint32_t free_bytes;
  uint32_t nr_partial;
  // Second line: slow-path state, the parked slabs (owner only) and the flag
  // other cpus raise.
  alignas(kCacheLineSize) page* partial;  // frozen per-cpu partial slabs, oldest first, via page->lru.next
  page* partial_tail;                     // newest partial slab (nullptr iff none)
  List parked;  // full slabs still frozen to this cpu, via page->lru
  unsigned nr_parked;
  // THE REMOTE RUN: the bounds of the slab of the newest rsheaf entry pushed
  // by FreeRemote/FreeSlower (a slab frozen to another cpu when that free
  // looked at its page); rrun_bytes 0: none. A kmem_cache_free that misses
  // the active and last-partial bounds and falls inside them goes straight
  // into rsheaf, with no page lookup (a consumer frees its producer's objects
  // slab by slab). Invariant: rrun_bytes != 0 => rsheaf holds an object of
  // that slab (set only right after such a push, cleared whenever rsheaf is
  // handed over or flushed), so the slab is live and a slab of this cache.
  uint32_t rrun_bytes;
  // SHEAVES (non-debug caches with sheaf_cap != 0; nullptr until first used).
  // `sheaf` (first line): frees into slabs this cpu may reuse (its own partial
  // and parked slabs, unfrozen slabs); allocations pop it. `rsheaf`: frees into slabs
  // frozen to ANOTHER cpu; never allocated from by this cpu (so an object of
  // another cpu's slab is not handed out next to that cpu's objects: no
  // passive false sharing); when full it goes to the barn, where the next cpu
  // whose sheaf runs dry takes it (a producer gets its consumer's frees back
  // without the objects being touched). Entries are allocated objects to their
  // slabs; |sheaf|, |rsheaf| <= cap.
  Sheaf* rsheaf;
  uintptr_t rrun_start;  // first slot of the remote run's slab (see THE REMOTE RUN)
  // Set (a plain atomic store) by a cpu whose remote free made the remote stack
  // of one of this cpu's frozen slabs non-empty: the owner then looks for
  // parked slabs with remote frees before taking a node's or a new slab.
  std::atomic<uint32_t> remote_pending;
};
static_assert(sizeof(SlubCpu) == 2 * kCacheLineSize);


// A counter written under a lock and peeked at without it (relaxed atomics that
// compile to plain loads and stores).
class LockedCounter {
 public:
  operator unsigned long() const { return v_.load(std::memory_order_relaxed); }
  LockedCounter& operator=(unsigned long x) {
    v_.store(x, std::memory_order_relaxed);
    return *this;
  }
  LockedCounter& operator++() { return *this = *this + 1; }
  LockedCounter& operator--() { return *this = *this - 1; }

 private:
  std::atomic<unsigned long> v_{0};
};

// A node's barn of sheaves (its lock is a leaf: no other lock is taken while it
// is held, and the page source is called with it released). Invariant (S8):
// nr_full == |full| <= barn_max, every full sheaf has size == cap; nr_empty ==
// |empty|, every empty sheaf size 0; the slot sheaf, if any, is full (tagged)
// or empty (untagged) as above; nr_sheaves == nr_empty + nr_full + (slot != 0)
// + the sheaves cpus of this node hold; pool_pages chains (via lru.next) the
// pages the containers were carved from.
// THE HAND-OVER SLOT (lock-free, one exchange a side): `slot` holds nothing
// (0), one empty sheaf, or one full sheaf (tagged kSlotFull; containers are
// 256-byte aligned). A cpu with a full sheaf exchanges it into the slot and
// takes what was there: an empty sheaf is its next one; a full one it has
// displaced goes to the `full` list (or, at barn_max, back to its slabs). A
// cpu whose sheaf ran dry that sees a full sheaf in the slot exchanges its
// empty one for it. In a producer/consumer pair each side thus trades with
// the other through one atomic exchange per sheaf, without the lock. The slot
// sheaf counts in nr_sheaves, not in nr_full or nr_empty, and may be one full
// sheaf beyond barn_max. Exchanges are acq_rel: the sheaf's contents travel
// with it.
inline constexpr uintptr_t kSlotFull = 1;
struct alignas(kCacheLineSize) SlubBarn {
  SpinLock lock;
  std::atomic<uintptr_t> slot{0};  // see THE HAND-OVER SLOT
  LockedCounter nr_full;  // written under lock; peeked at without it
  Sheaf* full MM_GUARDED_BY(lock) = nullptr;
  Sheaf* empty MM_GUARDED_BY(lock) = nullptr;
  unsigned nr_empty MM_GUARDED_BY(lock) = 0;
  unsigned nr_sheaves MM_GUARDED_BY(lock) = 0;
  page* pool_pages MM_GUARDED_BY(lock) = nullptr;
};

// A node's slabs. Invariant (S2/S6): nr_partial == |partial|; every slab on
// `partial` is unfrozen with 0 <= inuse < objects; every slab on `full` (debug
// caches only) has inuse == objects; nr_slabs counts every slab of the node
// whatever its state, total_objects the sum of their `objects`.
struct alignas(kCacheLineSize) SlubNode {
  SpinLock lock;
  LockedCounter nr_partial;  // written under lock; GetPartial peeks at it without

  List partial MM_GUARDED_BY(lock);
  List full MM_GUARDED_BY(lock);  // debug caches only
  std::atomic<unsigned long> nr_slabs{0};
  std::atomic<unsigned long> total_objects{0};
};

// SLUB's part of a kmem_cache (placed in s->allocator_private).
struct SlubCache {
  SlubCpu cpu[kMaxCpus];
  SlubNode node[kMaxNodes];
  SlubBarn barn[kMaxNodes];
  unsigned sheaf_cap = 0;  // 0: no sheaves (debug caches, objects over 2 KiB)
  unsigned barn_max = 0;   // full sheaves a barn keeps
  unsigned min_partial = 5;
  unsigned cpu_partial_slabs = 0;   // quota of a cpu's partial list
  unsigned cpu_partial_refill = 0;  // slabs GetPartial moves to a cpu (Linux's quota / 2)
  unsigned nr_nodes = 1;
  bool mapped = false;  // the SlabMap names this cache's slabs (not for debug caches)
};
static_assert(sizeof(SlubCache) <= kCachePrivateBytes, "grow kCachePrivateBytes");

// Linux's calculate_order: the smallest order whose leftover is at most
// slab_size/fraction with at least `min_objects` objects, relaxing fraction from
// 1/16 to 1/4 and then min_objects, up to kMaxOrder; then anything that fits.
// Returns the order, or -1 if even a maximal block cannot hold one object.
int CalculateOrder(unsigned size, unsigned nr_cpus);

template <PageSource PS>
class Slub {
 public:
  static constexpr const char* kName = "slub";

  Slub() = default;
  Slub(const Slub&) = delete;
  Slub& operator=(const Slub&) = delete;

  void Init(PS* pages, unsigned nr_cpus) {
    pages_ = pages;
    nr_cpus_ = nr_cpus == 0 ? 1 : nr_cpus;
    map_.Init(*pages);
  }
  // Returns the slab map's pages (after every cache was shut down).
  void Shutdown() { map_.Release(*pages_); }
  const SlabMap& slab_map() const { return map_; }
  PS* pages() const { return pages_; }

  int InitCache(kmem_cache* s) {
    int order = CalculateOrder(s->size, nr_cpus_);
    if (order < 0) return -kEINVAL;
    s->order = static_cast<unsigned>(order);
    s->objects = static_cast<unsigned>((kPageSize << s->order) / s->size);
    s->min_order = static_cast<unsigned>(Log2Ceil((s->size + kPageSize - 1) / kPageSize));
    s->min_objects = static_cast<unsigned>((kPageSize << s->min_order) / s->size);
    if (s->min_order > s->order) {
      s->min_order = s->order;
      s->min_objects = s->objects;
    }
    SlubCache* c = new (s->allocator_private) SlubCache();
    // Linux's set_min_partial: ilog2(size) / 2 clamped to [5, 10].
    unsigned mp = Log2Floor(s->size) / 2;
    c->min_partial = mp < 5 ? 5 : (mp > 10 ? 10 : mp);
    // Linux's set_cpu_partial (5.16+ values), objects converted to slabs; libmm
    // raises the quota to kCpuPartialBytes of slab memory per cpu, so that the
    // frees of a batch or of a random working set find their slab frozen to
    // this cpu (a plain push) instead of unfrozen (a CAS; see README.md).
    unsigned nr_objects = s->size >= kPageSize ? 6 : s->size >= 1024 ? 24 : s->size >= 256 ? 52 : 120;
    const unsigned linux_slabs = (nr_objects * 2 + s->objects - 1) / s->objects;
    // On a small machine the quota shrinks to 1/256 of RAM per cpu and cache,
    // so that dozens of caches times the cpus cannot pin a large part of it.
    uint64_t quota_bytes = kCpuPartialBytes;
    if constexpr (LinearMemMap<PS>) {
      const uint64_t ram_share = (static_cast<uint64_t>(pages_->nr_pages()) << kPageShift) / 256;
      if (ram_share < quota_bytes) quota_bytes = ram_share;
    }
    const unsigned byte_slabs = static_cast<unsigned>(quota_bytes / (kPageSize << s->order));
    c->cpu_partial_slabs = byte_slabs > linux_slabs ? byte_slabs : linux_slabs;
    c->cpu_partial_refill = linux_slabs / 2;
    c->nr_nodes = pages_->nr_nodes();
    if (c->nr_nodes == 0 || c->nr_nodes > kMaxNodes) c->nr_nodes = 1;
    if (kFreelistHardened) s->random = MixRandom(reinterpret_cast<uintptr_t>(s));
    // Sheaves: debug caches keep their checked, unbuffered path.
    const unsigned cap = s->size == 0 || s->size > kSheafMaxSize ? 0 : kSheafBytes / s->size;
    if (!CacheDebug(s) && cap != 0) {
      c->sheaf_cap = cap > kSheafMax ? kSheafMax : cap;
      const unsigned full = kBarnBytes / (c->sheaf_cap * s->size);
      c->barn_max = full < 2 ? 2 : (full > kBarnMaxFull ? kBarnMaxFull : full);
    }
    // Debug caches stay off the map: their frees take the checked path.
    c->mapped = !CacheDebug(s) && map_.bytes() != 0;
    return 0;
  }

  // ---- Fast paths (lockless) ----
  // `cpu` is the calling cpu (platform::FastCpuId()); a caller that read it
  // already passes it, so that no call to assign it is left on its path.
  [[gnu::always_inline]] void* Alloc(kmem_cache* s, gfp_t gfp, const void* caller,
                                     unsigned cpu = platform::FastCpuId()) {
    return AllocOnCpu(s, gfp, caller, CpuOf(s, cpu));
  }

  [[gnu::always_inline]] void Free(kmem_cache* s, void* obj, const void* caller,
                                   unsigned cpu = platform::FastCpuId()) {
    FreeOnCpu(s, obj, caller, cpu, CpuOf(s, cpu));
  }

  // kfree's entries. In order: the active slab (the hot pair), the last
  // partial slab's run (a batch), the local sheaf while it has room, whatever
  // slab obj lies in (random frees; S8 lets a sheaf hold objects of any
  // slab), then, with the head page, the remote sheaf for a slab frozen to
  // another cpu and the general path. head() yields obj's head page, a
  // PG_slab page of cache s; it is read only past the sheaf.
  //
  // KfreeMapped: the cache from the slab map, no struct page read unless the
  // sheaf is full. False if the map does not know p (the caller looks at
  // struct page: kmalloc-large blocks, debug caches, bad pointers).
  [[gnu::always_inline]] bool KfreeMapped(const void* p, const void* caller, unsigned cpu) {
    kmem_cache* s = map_.Lookup(p);
    if (__builtin_expect(s == nullptr, 0)) return false;
    if constexpr (LinearMemMap<PS>) {
      // The head page from p, which is live anyway (a captured index would
      // keep one more register busy across the sheaf push).
      FreeInSlab(s, const_cast<void*>(p),
                 [this, p] { return HeadPageFrom(pages_->mem_map() + map_.PageIndex(p)); }, caller,
                 cpu);
    }
    return true;
  }
  // pg is obj's head page, a PG_slab page of cache s (the caller read s from it).
  [[gnu::always_inline]] void FreeInSlab(kmem_cache* s, void* obj, page* pg, const void* caller,
                                         unsigned cpu = platform::FastCpuId()) {
    FreeInSlab(s, obj, [pg] { return pg; }, caller, cpu);
  }
  template <typename HeadFn>
  [[gnu::always_inline]] void FreeInSlab(kmem_cache* s, void* obj, HeadFn head, const void* caller,
                                         unsigned cpu) {
    SlubCpu* c = CpuOf(s, cpu);
    if (__builtin_expect(reinterpret_cast<uintptr_t>(obj) - c->slab_start < c->slab_bytes, 1)) {
      FreeOnCpu(s, obj, caller, cpu, c);
      return;
    }
    if (FreeToLastPartial(s, obj, c)) return;
    if (Sheaf* sh = c->sheaf; __builtin_expect(sh != nullptr, 1)) {
      // A repeat of one of its two newest entries is a double free whether or
      // not the sheaf has room (else the remote sheaf would take it again).
      if (__builtin_expect(sh->NewestTwoHold(obj), 0)) return ReportDoubleFree(s, obj);
      const size_t n = sh->size;
      if (__builtin_expect(n < sh->cap, 1)) {
        sh->objs()[n] = obj;
        sh->size = static_cast<uint32_t>(n + 1);
        return;
      }
    }
    page* pg = head();
    if (PushRemoteSheaf(obj, pg, cpu, c)) return;
    FreeOwnPartial(s, obj, caller, cpu, pg);
  }
  // A free into a slab frozen to another cpu goes into this cpu's remote
  // sheaf (rsheaf), when it exists, has room and obj is not one of its two
  // newest entries (a double free; FreeOwnPartial and FreeSlower report it).
  // pg is obj's head page, a slab page of obj's cache. Returns false to leave
  // obj to the general path (the cpu's own and unfrozen slabs, whose free
  // checks the state word, once the local sheaf is full). Another cpu's id
  // may be stale by the time it is read (the slab may be unfrozen
  // meanwhile): that only changes which sheaf holds the object, as a sheaf
  // may hold objects of slabs in any state (S8). kfree's only:
  // kmem_cache_free's miss path (FreeSlow) looks the page up out of line and
  // goes through FreeOwnPartial, whose run detection this skips (a batch's
  // frees reach it once the sheaf is full), and through FreeToRemoteSheaf's
  // out-of-line twin, which also starts a remote run (kfree needs none).
  [[gnu::always_inline]] static bool PushRemoteSheaf(void* obj, page* pg, unsigned cpu, SlubCpu* c) {
    const uintptr_t owner = Owner(pg);
    if (__builtin_expect(owner == 0 || owner == cpu + 1, 0)) return false;
    Sheaf* sh = c->rsheaf;
    if (__builtin_expect(sh == nullptr, 0)) return false;
    return sh->TryPush(obj);
  }

  // Bulk: the cpu is looked up once for the whole batch.
  int AllocBulk(kmem_cache* s, gfp_t gfp, size_t n, void** p) {
    const void* caller = __builtin_return_address(0);
    SlubCpu* c = CpuOf(s, platform::FastCpuId());
    for (size_t i = 0; i < n; ++i) {
      p[i] = AllocOnCpu(s, gfp, caller, c);
      if (p[i] == nullptr) {
        FreeBulk(s, i, p);
        return 0;
      }
    }
    return static_cast<int>(n);
  }

  void FreeBulk(kmem_cache* s, size_t n, void** p) {
    const void* caller = __builtin_return_address(0);
    const unsigned cpu = platform::FastCpuId();
    SlubCpu* c = CpuOf(s, cpu);
    for (size_t i = 0; i < n; ++i) FreeOnCpu(s, p[i], caller, cpu, c);
  }

  kmem_cache* ObjectCache(const void* obj) const {
    page* pg = HeadPageOf(*pages_, obj);
    if (pg == nullptr || (pg->flags & PG_slab) == 0) return nullptr;
    return pg->slab_cache;
  }

  [[gnu::noinline, gnu::cold]] static void ReportDoubleFree(kmem_cache* s, void* obj) {
    slab_debug::ReportSlab(s, nullptr, "Object %p already free (double free)", obj);
  }

  // ---- Fast paths on a given cpu (lockless) ----
  [[gnu::always_inline]] void* AllocOnCpu(kmem_cache* s, gfp_t gfp, const void* caller,
                                          SlubCpu* c) {
    void* obj = c->freelist;
    if (__builtin_expect(obj != nullptr, 1)) {
      c->freelist = GetFreePointer(s, obj);
      if (__builtin_expect((gfp & __GFP_ZERO) != 0, 0)) __builtin_memset(obj, 0, s->object_size);
      return obj;
    }
    // The local sheaf (see SHEAVES), before the slow path. The exhausted
    // active slab is detached (DETACHED below) so that frees into it join
    // the sheaf instead of refilling the cpu freelist one object at a time.
    if (Sheaf* sh = c->sheaf; sh != nullptr && sh->size != 0) {
      c->slab_bytes = 0;
      obj = sh->objs()[--sh->size];
      if (__builtin_expect((gfp & __GFP_ZERO) != 0, 0)) __builtin_memset(obj, 0, s->object_size);
      return obj;
    }
    return AllocSlow(s, gfp, caller);
  }

  [[gnu::always_inline]] void FreeOnCpu(kmem_cache* s, void* obj, const void* caller,
                                        unsigned cpu, SlubCpu* c) {
    if (__builtin_expect(reinterpret_cast<uintptr_t>(obj) - c->slab_start < c->slab_bytes, 1)) {
      // Hardened builds catch the naive double free, as Linux's set_freepointer.
      if (kFreelistHardened && __builtin_expect(obj == c->freelist, 0)) {
        ReportDoubleFree(s, obj);
        return;
      }
      SetFreePointer(s, obj, c->freelist);
      c->freelist = obj;
      return;
    }
    if (FreeToLastPartial(s, obj, c)) return;
    if (FreeToRemoteRun(s, obj, cpu, c)) return;
    FreeSlow(s, obj, caller, cpu);
  }

  // A free into the cpu-partial slab this cpu last freed into: a plain push
  // onto its page freelist (the slab is frozen to this cpu), no page lookup.
  [[gnu::always_inline]] bool FreeToLastPartial(kmem_cache* s, void* obj, SlubCpu* c) {
    if (__builtin_expect(reinterpret_cast<uintptr_t>(obj) - c->free_start < c->free_bytes, 1)) {
      page* pg = c->free_page;
      if (kFreelistHardened && __builtin_expect(obj == pg->freelist, 0)) {
        ReportDoubleFree(s, obj);
        return true;
      }
      SetFreePointer(s, obj, pg->freelist);
      pg->freelist = obj;
      --pg->inuse;
      return true;
    }
    return false;
  }
  void SetLastPartial(kmem_cache* s, SlubCpu* c, page* pg) {
    c->free_page = pg;
    c->free_start = SlabBase(pg);
    c->free_bytes = static_cast<uint32_t>(SlabBytes(s, pg));
  }
  static void ClearLastPartial(SlubCpu* c) {
    c->free_page = nullptr;
    c->free_start = 0;
    c->free_bytes = 0;
  }

  // ---- Slow paths ----
  void* AllocSlow(kmem_cache* s, gfp_t gfp, const void* caller);
  // kmem_cache_free past the three bounds FreeOnCpu tests inline (active
  // slab, last partial slab, remote run): the page lookup. (Out of line, so
  // that the fast paths stay small enough for the compiler to inline the
  // dispatch's lambdas. The last-partial and remote-run tests used to be in
  // here: inline, the batch loop went from 69 to 59 instructions per pair
  // and prodcons from 105 to 97, the other loops unchanged.)
  [[gnu::noinline]] void FreeSlow(kmem_cache* s, void* obj, const void* caller, unsigned cpu) {
    FreeOwnPartial(s, obj, caller, cpu, HeadPageOf(*pages_, obj));
  }
  // A free into the slab of the remote run (see THE REMOTE RUN): into rsheaf
  // with no page lookup, while it has room and obj is neither of its two
  // newest entries; otherwise RemoteRunSlow (the hand-over, or the report).
  [[gnu::always_inline]] bool FreeToRemoteRun(kmem_cache* s, void* obj, unsigned cpu, SlubCpu* c) {
    if (__builtin_expect(reinterpret_cast<uintptr_t>(obj) - c->rrun_start < c->rrun_bytes, 1)) {
      // (rsheaf exists and holds an object of the run's slab: S9.)
      if (__builtin_expect(!c->rsheaf->TryPush(obj), 0)) RemoteRunSlow(s, obj, cpu);
      return true;
    }
    return false;
  }
  // The remote run's sheaf is full (or obj repeats one of its newest entries):
  // the sheaf is handed over and obj starts the next one, in the same slab.
  [[gnu::noinline]] void RemoteRunSlow(kmem_cache* s, void* obj, unsigned cpu);
  // obj, of slab pg, has just been pushed onto c->rsheaf: pg's bounds become
  // the remote run.
  void SetRemoteRun(kmem_cache* s, SlubCpu* c, const page* pg) {
    c->rrun_start = SlabBase(pg);
    c->rrun_bytes = static_cast<uint32_t>(SlabBytes(s, pg));
  }
  static void ClearRemoteRun(SlubCpu* c) {
    c->rrun_start = 0;
    c->rrun_bytes = 0;
  }
  // A slab on this cpu's partial list: its page freelist is ours, a plain push.
  // (Owner is 0 for every slab of a debug cache, and slab_cache tells a slab
  // of s from any other page.) Anything else: FreeRemote. Out of line, so
  // that the inline paths in front of it (FreeInSlab, FreeOnCpu) keep none of
  // this body's register pressure.
  [[gnu::noinline]] void FreeOwnPartial(kmem_cache* s, void* obj, const void* caller,
                                             unsigned cpu, page* pg) {
    if (__builtin_expect(pg != nullptr && Owner(pg) == cpu + 1 && pg->slab_cache == s, 1)) {
      // Not the active slab (the caller checked the bounds). With sheaves, the
      // local sheaf while it has room: the next allocations pop it, so a
      // random free/alloc mix needs no slab switch and touches no struct page
      // (see README.md, "Own frees into the sheaf"). A second free in a row
      // into one partial slab is a run (a batch): it and the rest of the run
      // go to the slab, through the cached bounds of FreeToLastPartial. A
      // parked slab is not remembered (free_page is always a partial slab).
      // A detached cpu (see DETACHED) trades a full sheaf at the barn too, so
      // that its allocations find a full sheaf there rather than a slab.
      SlubCpu* c = CpuOf(s, cpu);
      if (Sheaf* sh = c->sheaf;
          pg != c->free_page && (sh == nullptr ? CacheOf(s)->sheaf_cap != 0
                                               : sh->size < sh->cap || c->slab_bytes == 0)) {
        if (c->free_bytes == 0 && pg->inuse != pg->objects) c->free_page = pg;  // not parked
        SheafPush(s, cpu, &c->sheaf, obj);
        return;
      }
      // The sheaf is full (or this is a run): a full slab is parked, and the
      // free makes it partial. (Not the active slab: attached, its bounds took
      // the free; detached, the sheaf did, and the free page is never active.)
      if (__builtin_expect(pg->inuse == pg->objects, 0)) Unpark(c, pg);
      SetFreePointer(s, obj, pg->freelist);
      pg->freelist = obj;
      --pg->inuse;
      // Two frees in a row into this slab: cache its bounds for the next ones
      // (a batch); one: just remember it (random frees pay two stores).
      if (pg == c->free_page) {
        SetLastPartial(s, c, pg);
      } else {
        c->free_page = pg;
        c->free_bytes = 0;
      }
      return;
    }
    FreeRemote(s, obj, caller, cpu, pg);
  }
  // A free into a slab that is not this cpu's own (frozen to another cpu, or
  // unfrozen), inline in FreeOwnPartial so that the remote free takes one
  // out-of-line call from the last-partial miss to the sheaf push: a slab page
  // of s, one load of its state word, the sheaf it chooses present and not
  // full (a cpu holds sheaves only for a non-debug cache with sheaf_cap != 0,
  // so neither is tested here), and no repeat of the sheaf's two newest
  // entries. A slab frozen to another cpu goes to FreeToRemoteSheaf (a tail
  // call: kept out of here, the remote run's bookkeeping cost the random
  // loop's own and unfrozen frees 7 instructions of register saves). Anything
  // else, including every report, is FreeSlower's (whose SheafPush makes the
  // same push; calling SheafPush here instead measured 5 instructions more per
  // random replacement and per prodcons object).
  [[gnu::always_inline]] void FreeRemote(kmem_cache* s, void* obj, const void* caller,
                                         unsigned cpu, page* pg) {
    if (__builtin_expect(pg != nullptr && (pg->flags & PG_slab) != 0 && pg->slab_cache == s, 1)) {
      const uintptr_t w = Remote(pg).load(std::memory_order_relaxed);
      // Frozen (to another cpu: the caller ruled out this one): the remote
      // sheaf. Unfrozen with objects in use: the local sheaf. (Unfrozen with
      // nothing in use is a double free, reported by FreeSlower.)
      if ((w & kFrozen) != 0) {
        FreeToRemoteSheaf(s, obj, caller, cpu, pg);
        return;
      }
      Sheaf* sh = StateInuse(w) != 0 ? CpuOf(s, cpu)->sheaf : nullptr;
      if (__builtin_expect(sh != nullptr && sh->TryPush(obj), 1)) return;
    }
    FreeSlower(s, obj, caller, cpu, pg);
  }
  // obj's slab pg (of s) is frozen to another cpu: onto the remote sheaf, and
  // pg becomes the remote run (the next frees into it skip the page lookup).
  // A full or missing sheaf, or a repeat of its two newest entries: FreeSlower.
  [[gnu::noinline]] void FreeToRemoteSheaf(kmem_cache* s, void* obj, const void* caller,
                                           unsigned cpu, page* pg) {
    SlubCpu* c = CpuOf(s, cpu);
    if (Sheaf* sh = c->rsheaf; __builtin_expect(sh != nullptr && sh->TryPush(obj), 1)) {
      SetRemoteRun(s, c, pg);
      return;
    }
    FreeSlower(s, obj, caller, cpu, pg);
  }
  // FreeRemote's general case (the same decisions, with the checks, the debug
  // path, the reports and the sheaf hand-over).
  [[gnu::noinline]] void FreeSlower(kmem_cache* s, void* obj, const void* caller, unsigned cpu,
                                    page* pg);
  // Puts obj (an allocated object of s) into *slot (&c->sheaf or &c->rsheaf of
  // `cpu`, sheaves enabled). The same object as one of the two newest entries
  // is a double free: reported, not added.
  [[gnu::always_inline]] void SheafPush(kmem_cache* s, unsigned cpu, Sheaf** slot, void* obj) {
    Sheaf* sh = *slot;
    if (__builtin_expect(sh != nullptr && sh->size < sh->cap, 1)) {
      const size_t n = sh->size;
      if (__builtin_expect(sh->NewestTwoHold(obj), 0)) {
        ReportDoubleFree(s, obj);
        return;
      }
      sh->objs()[n] = obj;
      sh->size = static_cast<uint32_t>(n + 1);
      return;
    }
    SheafPushSlow(s, cpu, slot, obj);
  }
  // *slot is full or missing: the full sheaf goes to the barn (or, the barn
  // being at barn_max, back to its slabs), an empty one takes its place.
  [[gnu::noinline]] void SheafPushSlow(kmem_cache* s, unsigned cpu, Sheaf** slot, void* obj);
  // Returns every object of sh to its slab (sh->size becomes 0), runs of one
  // slab at a time (ReturnRun). A duplicate entry (a double free) is reported
  // and returned once; an entry that is not an object of s is reported and
  // dropped.
  void FlushSheaf(kmem_cache* s, Sheaf* sh, unsigned cpu);
  // Returns head..tail (count objects of slab pg, chained through their free
  // pointers) as `cpu`'s free: onto the private list if pg is cpu's active
  // slab, onto the page freelist if cpu owns it otherwise (a parked slab
  // becomes partial), else FreeChain.
  void ReturnRun(kmem_cache* s, page* pg, void* head, void* tail, unsigned count, unsigned cpu);
  // An empty sheaf for node barn b (from its empty list or a new page), or nullptr.
  Sheaf* GetEmptySheaf(kmem_cache* s, SlubBarn& b);
  // cpu's local sheaf is empty: swaps it for a full one from the barn.
  bool TakeFullSheaf(kmem_cache* s, SlubCpu* c, unsigned cpu);
  // Flushes every full sheaf of every barn to the slabs (as `cpu`).
  void DrainBarns(kmem_cache* s, unsigned cpu);
  // Frees a barn's container pages when no cpu holds a sheaf of it.
  void FreeIdleSheafPages(kmem_cache* s);
  // True if some cpu holds a sheaf container of s (a snapshot: cpus may take
  // or return one meanwhile).
  bool SheavesHeld(kmem_cache* s);
  SlubBarn& BarnOf(kmem_cache* s, unsigned cpu) {
    SlubCache* sc = CacheOf(s);
    return sc->barn[LocalNode(sc, cpu)];
  }
  // Frees the chain head..tail (count objects of slab pg of the non-debug cache
  // s, linked through their free pointers) with one CAS of pg's state word:
  // onto the remote stack if pg is frozen, else into the packed word, with the
  // list transitions of a single free (full -> frozen onto `cpu`'s partial
  // list; -> empty under the node lock, discarded beyond min_partial). A chain
  // longer than pg's inuse is a double free: reported, dropped.
  void FreeChain(kmem_cache* s, page* pg, void* head, void* tail, unsigned count, unsigned cpu);

  int Shrink(kmem_cache* s);
  int ShutdownCache(kmem_cache* s);
  // Returns cpu's sheaves and slabs (cpu dead; with drain_barns, as shrink on
  // this cpu and destroy, or when no cpu holds a sheaf any more, also every
  // barn's full sheaves).
  void FlushCpu(kmem_cache* s, unsigned cpu, bool drain_barns = false);
  void GetSlabinfo(kmem_cache* s, SlabInfo* info);
  bool CheckCache(kmem_cache* s);

  // ---- Helpers (public for tests) ----
  // Returns the objects of cpu's two sheaves and of the barns to their slabs
  // (the containers stay).
  void FlushSheaves(kmem_cache* s, unsigned cpu) {
    SlubCpu* c = CpuOf(s, cpu);
    if (c->sheaf != nullptr) FlushSheaf(s, c->sheaf, cpu);
    ClearRemoteRun(c);
    if (c->rsheaf != nullptr) FlushSheaf(s, c->rsheaf, cpu);
    DrainBarns(s, cpu);
  }
  // Full sheaves a barn holds: its list and the hand-over slot.
  static unsigned BarnFullSheaves(const SlubBarn& b) {
    return static_cast<unsigned>(b.nr_full) + ((b.slot.load(std::memory_order_relaxed) & kSlotFull) != 0);
  }
  static unsigned SheafObjects(const SlubCpu* c) {
    return (c->sheaf != nullptr ? c->sheaf->size : 0) + (c->rsheaf != nullptr ? c->rsheaf->size : 0);
  }
  static SlubCache* CacheOf(kmem_cache* s) {
    return std::launder(reinterpret_cast<SlubCache*>(s->allocator_private));
  }
  static SlubCpu* CpuOf(kmem_cache* s, unsigned cpu) {
    return reinterpret_cast<SlubCpu*>(s->allocator_private) + cpu;
  }
  static void* GetFreePointer(const kmem_cache* s, void* obj) {
    uintptr_t* slot = reinterpret_cast<uintptr_t*>(static_cast<char*>(obj) + s->offset);
    uintptr_t v = *slot;
    if (kFreelistHardened) v ^= s->random ^ std::rotl(reinterpret_cast<uintptr_t>(slot), 32);
    return reinterpret_cast<void*>(v);
  }
  static void SetFreePointer(const kmem_cache* s, void* obj, void* next) {
    uintptr_t* slot = reinterpret_cast<uintptr_t*>(static_cast<char*>(obj) + s->offset);
    uintptr_t v = reinterpret_cast<uintptr_t>(next);
    if (kFreelistHardened) v ^= s->random ^ std::rotl(reinterpret_cast<uintptr_t>(slot), 32);
    *slot = v;
  }
  // Slab memory start (first slot) of a slab page.
  uintptr_t SlabBase(const page* pg) const {
    return reinterpret_cast<uintptr_t>(pages_->PageAddress(pg));
  }
  // Bytes from SlabBase(pg) that its objects span (the cpu's cached bounds).
  static uintptr_t SlabBytes(const kmem_cache* s, const page* pg) {
    return uintptr_t{pg->objects} * s->size;
  }
  // The unfrozen state word (see THE STATE WORD above).
  uintptr_t PackState(const page* pg, const void* head, unsigned inuse) const {
    const uintptr_t off =
        head == nullptr ? 0 : reinterpret_cast<uintptr_t>(head) - SlabBase(pg) + 1;
    return off << 32 | uintptr_t{inuse} << 1;
  }
  void* StateHead(const page* pg, uintptr_t w) const {
    const uintptr_t off = w >> 32;
    return off == 0 ? nullptr : reinterpret_cast<void*>(SlabBase(pg) + off - 1);
  }
  static unsigned StateInuse(uintptr_t w) { return static_cast<uint32_t>(w) >> 1; }
  // A slab's (freelist, inuse) wherever they live: the page for frozen and debug
  // slabs, the state word for unfrozen non-debug ones. For a quiescent slab, or
  // one whose node lock is held (a snapshot then).
  void* SlabFreelist(const kmem_cache* s, page* pg) const {
    const uintptr_t w = Remote(pg).load(std::memory_order_acquire);
    return (CacheDebug(s) || (w & kFrozen) != 0) ? pg->freelist : StateHead(pg, w);
  }
  unsigned SlabInuse(const kmem_cache* s, page* pg) const {
    const uintptr_t w = Remote(pg).load(std::memory_order_acquire);
    return (CacheDebug(s) || (w & kFrozen) != 0) ? pg->inuse : StateInuse(w);
  }
  unsigned SlabOrder(const kmem_cache* s, const page* pg) const {
    return pg->objects == s->objects ? s->order : s->min_order;
  }
  // True iff obj is an object pointer (slot start + red_left_pad) of slab pg.
  bool IsObjectOf(const kmem_cache* s, const page* pg, const void* obj) const {
    uintptr_t off = reinterpret_cast<uintptr_t>(obj) - SlabBase(pg);
    if (off < s->red_left_pad) return false;
    off -= s->red_left_pad;
    return off % s->size == 0 && off / s->size < pg->objects;
  }

 private:
  static uintptr_t MixRandom(uintptr_t seed) {  // splitmix64 of the clock and the cache
    uint64_t z = platform::NowNs() ^ seed ^ 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<uintptr_t>(z ^ (z >> 31)) | 1;
  }
  // (No division on a one-node machine: the barn paths of a producer/consumer
  // pair run it once per sheaf each.)
  unsigned LocalNode(const SlubCache* c, unsigned cpu) const {
    return c->nr_nodes == 1 ? 0 : cpu % c->nr_nodes;
  }
  SlubNode& NodeOfSlab(SlubCache* c, const page* pg) {
    return c->node[pg->node < c->nr_nodes ? pg->node : 0];
  }

  page* NewSlab(kmem_cache* s, gfp_t gfp);
  void DiscardSlab(kmem_cache* s, page* pg);
  void ActivateSlab(kmem_cache* s, SlubCpu* c, unsigned cpu, page* pg);
  // Unfreezes pg (an active slab with private list `cpu_freelist`, or a
  // cpu-partial slab with cpu_freelist == nullptr): merges its remote stack and
  // the private list into page->freelist and puts it where it belongs.
  void Deactivate(kmem_cache* s, page* pg, void* cpu_freelist);
  // Freezes a node-partial slab taken off its list (node lock held).
  void FreezeLocked(page* pg);
  void UnfreezePartials(kmem_cache* s, SlubCpu* c);
  static void PushCpuPartial(SlubCpu* c, page* pg) {
    pg->lru.next = nullptr;
    if (c->partial_tail == nullptr) {
      c->partial = pg;
    } else {
      c->partial_tail->lru.next = reinterpret_cast<ListNode*>(pg);
    }
    c->partial_tail = pg;
    ++c->nr_partial;
  }
  static void Unpark(SlubCpu* c, page* pg) {
    List::Remove(&pg->lru);
    --c->nr_parked;
    PushCpuPartial(c, pg);
  }
  // Moves parked slabs with remote frees (their stacks merged into the page
  // freelist) to the front of the cpu partial list; looks at up to kParkedScan slabs,
  // rotating the others to the back. Returns true if it moved any.
  bool CollectParked(kmem_cache* s, SlubCpu* c);
  static void PushCpuPartialFront(SlubCpu* c, page* pg) {
    pg->lru.next = reinterpret_cast<ListNode*>(c->partial);
    c->partial = pg;
    if (c->partial_tail == nullptr) c->partial_tail = pg;
    ++c->nr_partial;
  }
  static page* PopCpuPartial(SlubCpu* c) {
    page* pg = c->partial;
    c->partial = reinterpret_cast<page*>(pg->lru.next);
    if (c->partial == nullptr) c->partial_tail = nullptr;
    --c->nr_partial;
    pg->lru.next = nullptr;
    return pg;
  }
  bool GetPartial(kmem_cache* s, SlubCpu* c, unsigned cpu);
  // Places an unfrozen slab after a change of inuse, node lock held; returns true
  // if the slab must be discarded (already taken off every list).
  bool PlaceLocked(kmem_cache* s, SlubCache* sc, SlubNode& n, page* pg, bool on_partial)
      MM_EXCLUSIVE_LOCKS_REQUIRED(n.lock);
  unsigned ChainLength(const kmem_cache* s, void* head) const {
    unsigned k = 0;
    for (void* p = head; p != nullptr; p = GetFreePointer(s, p)) ++k;
    return k;
  }

  // Debug caches (all under the node lock).
  void* DebugAlloc(kmem_cache* s, gfp_t gfp, const void* caller);
  void DebugFree(kmem_cache* s, page* pg, void* obj, const void* caller);
  void RepairFreelist(kmem_cache* s, page* pg);
  unsigned LiveObjects(kmem_cache* s, page* pg, bool report);

  PS* pages_ = nullptr;
  SlabMap map_;
  unsigned nr_cpus_ = 1;
};

}  // namespace mm::slub

#include "mm/slub/slub_impl.h"  // IWYU pragma: export

#endif  // MM_SLUB_SLUB_H_
