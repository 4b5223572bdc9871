// Zones, their free areas and per-cpu page lists.
//
// LOCK ORDER (for this file and buddy_allocator.cc):
//   PerCpuPages::lock  ->  Zone::lock
//   - Zone::lock protects free_area[] (lists and counters), nr_free, the pageblock
//     migratetypes, alloc_gate_open, high_order_gate_open and the zone's buddy-path statistics.
//   - PerCpuPages::lock protects that cpu slot's lists, headroom, high, batch and
//     statistics. On the host a "cpu" is a thread slot (several threads may share
//     one), so the lock is needed even though it is almost never contended. The
//     fast paths (orders 0..kPcpMaxOrder) only try it once (SpinLock::TryLockOnce,
//     one `lock bts` on x86) and take the general path if it is busy, as Linux's
//     pcp_spin_trylock.
//   - watermarks, managed_pages, lowmem_reserve are written at boot (or by
//     SetMinFreeKbytes under every zone lock) and read lock-free.
//   - nr_free is also read lock-free (relaxed) by watermark checks, as Linux's
//     zone_page_state does: a stale value only makes a check slightly early/late.
#ifndef MM_BUDDY_ZONE_H_
#define MM_BUDDY_ZONE_H_

#include <atomic>
#include <cstdint>

#include "mm/base/list.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"

namespace mm {

inline constexpr unsigned kPageblockOrder = 9;  // 2 MiB pageblocks, as x86-64 Linux
inline constexpr uint64_t kPageblockNrPages = uint64_t{1} << kPageblockOrder;
inline constexpr unsigned kPcpMaxOrder = 3;     // PAGE_ALLOC_COSTLY_ORDER: pcp lists for 0..3

enum WatermarkIndex { WMARK_MIN = 0, WMARK_LOW = 1, WMARK_HIGH = 2, NR_WMARK = 3 };

// A counter written under a lock and read lock-free (relaxed) elsewhere.
class RelaxedCounter {
 public:
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  void add(int64_t d) { v_.store(get() + static_cast<uint64_t>(d), std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// One order's free blocks, a list per migratetype.
// Invariant: nr_free == sum over mt of nr_free_mt[mt] == total length of lists[].
struct FreeArea {
  List lists[kNrMigrateTypes];
  RelaxedCounter nr_free;
  RelaxedCounter nr_free_mt[kNrMigrateTypes];
};

// The per-cpu list lock: a SpinLock whose order-0 fast paths try it once
// (SpinLock::TryLockOnce); general paths, drains and views take it.
using PcpLock = SpinLock;
using PcpLockGuard = SpinLockGuard;

struct Zone;

// A cpu slot's cache of free pages of orders 0..kPcpMaxOrder.
// Invariants (under lock):
//   high - headroom == count() == sum over lists of (length << order);
//   every page on lists[o][mt] has PG_pcp, _refcount == 0, order == o and
//   free_mt == mt (so an order-0 page remembers, once allocated, the list it
//   came from: the fast free path puts it back there without a pageblock lookup);
//   1 <= headroom <= high, i.e. 0 <= count < high: a free that brings count to
//   high (headroom to 0) drains at least a batch, and a refill stops short of
//   high, so the order-0 free needs one decrement and one branch. With pcp
//   disabled high == 1 and batch == 1, so every free drains at once (Linux's
//   zone_pcp_disable) and the lists stay empty.
// pgalloc and pgfree are this slot's vm event counts (Linux's per-cpu
// vm_event_states): written only under the lock, summed over the slots when
// /proc/vmstat is read.
struct alignas(kCacheLineSize) PerCpuPages {
  PcpLock lock;
  int headroom MM_GUARDED_BY(lock) = 0;  // pages this slot takes before it drains: high - count
  int high MM_GUARDED_BY(lock) = 0;      // drain to the zone when count reaches this (>= 1)
  int batch MM_GUARDED_BY(lock) = 0;     // pages moved per refill/drain
  Zone* zone = nullptr;                  // the owning zone (set at boot)
  List lists[kPcpMaxOrder + 1][kNrMigrateTypes] MM_GUARDED_BY(lock);
  uint64_t pgalloc MM_GUARDED_BY(lock) = 0;
  uint64_t pgfree MM_GUARDED_BY(lock) = 0;
  // pgalloc and pgfree when the slot last drained (because it reached high):
  // with no allocation since, the frees since are a burst, and the next drain
  // returns that many pages (up to high - batch) instead of a batch, as Linux's
  // pcp->free_count makes nr_pcp_free grow over consecutive frees.
  uint64_t pgalloc_at_drain MM_GUARDED_BY(lock) = 0;
  uint64_t pgfree_at_drain MM_GUARDED_BY(lock) = 0;
  // [mt]: PageHeadWordOf(zone's node, zone, mt), the head word the order-0
  // fast path stores whole into a page it takes from lists[0][mt] (flags 0;
  // order, node, zone and free_mt as they already are). Set at boot.
  uint64_t alloc_head_word[kNrMigrateTypes] = {};

  int count() const MM_EXCLUSIVE_LOCKS_REQUIRED(lock) { return high - headroom; }
};

struct Zone {
  SpinLock lock;
  ZoneType type = ZONE_NORMAL;
  uint8_t node = 0;
  bool populated = false;
  Pfn start_pfn = 0;           // first pfn spanned
  uint64_t spanned_pages = 0;  // pfns from start to end
  uint64_t present_pages = 0;  // RAM pages in the span
  uint64_t managed_pages = 0;  // present minus reserved (memblock) pages
  uint64_t watermark[NR_WMARK] = {};
  uint64_t lowmem_reserve[kMaxNrZones] = {};  // pages kept back from requests whose top zone is i
  RelaxedCounter nr_free;            // pages in free_area (not pcp); written under lock
  // Cached "pcp enabled and nr_free > watermark[WMARK_LOW]": whether the cpus of
  // this node may take order-0 pages from their lists here without looking at
  // the zone (BuddyAllocator's alloc gate). Recomputed when a zone-lock section
  // that changed nr_free or the watermarks ends.
  bool alloc_gate_open MM_GUARDED_BY(lock) = false;
  // The same for orders 1..kPcpMaxOrder: alloc_gate_open, nr_free above low by
  // at least 2^kPcpMaxOrder - 1 more, and a free block of order >=
  // kPcpMaxOrder in free_area (so __zone_watermark_ok holds for any order up
  // to kPcpMaxOrder). Recomputed with alloc_gate_open.
  bool high_order_gate_open MM_GUARDED_BY(lock) = false;
  FreeArea free_area[kNrPageOrders];  // lists and counters written under lock
  uint8_t* pageblock_mt = nullptr;   // migratetype per pageblock of the span
  PerCpuPages* pcp = nullptr;        // [nr_cpus]
  // vmstat for the buddy path (pcp-path counts live in PerCpuPages).
  uint64_t pgalloc MM_GUARDED_BY(lock) = 0;
  uint64_t pgfree MM_GUARDED_BY(lock) = 0;
  uint64_t steal_count MM_GUARDED_BY(lock) = 0;  // pageblocks converted by fallback

  bool Spans(Pfn pfn) const { return pfn >= start_pfn && pfn < start_pfn + spanned_pages; }
  Pfn end_pfn() const { return start_pfn + spanned_pages; }
  const char* name() const { return kZoneNames[type]; }
};

struct Node {
  int id = 0;
  Pfn start_pfn = 0;
  uint64_t spanned_pages = 0;
  Zone zones[kMaxNrZones];  // indexed by ZoneType; unpopulated ones are skipped
};

}  // namespace mm

#endif  // MM_BUDDY_ZONE_H_
