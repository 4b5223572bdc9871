// Zones, their free areas and per-cpu page lists.
//
// LOCK ORDER (for this file and buddy_allocator.cc):
//   PerCpuPages::lock  ->  Zone::lock
//   - Zone::lock protects free_area[] (lists and counters), nr_free, the pageblock
//     migratetypes and the zone's buddy-path statistics.
//   - PerCpuPages::lock protects that cpu slot's lists, count and statistics. On
//     the host a "cpu" is a thread slot (several threads may share one), so the
//     lock is needed even though it is almost never contended (Linux's
//     pcp_spin_lock does the same on PREEMPT_RT).
//   - watermarks, managed_pages, lowmem_reserve are written once at boot (or by
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

// A cpu slot's cache of free pages of orders 0..kPcpMaxOrder.
// Invariant: count == sum over lists of (length << order); every page on a list
// has PG_pcp, _refcount == 0 and `order` equal to its list's order.
struct alignas(kCacheLineSize) PerCpuPages {
  SpinLock lock;
  int count MM_GUARDED_BY(lock) = 0;  // pages (not blocks) held
  int high = 0;                       // drain to the zone above this
  int batch = 0;                      // pages moved per refill/drain
  List lists[kPcpMaxOrder + 1][kNrMigrateTypes] MM_GUARDED_BY(lock);
  // vmstat, folded on read.
  uint64_t pgalloc MM_GUARDED_BY(lock) = 0;
  uint64_t pgfree MM_GUARDED_BY(lock) = 0;
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
