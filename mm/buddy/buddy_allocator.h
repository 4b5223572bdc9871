// The buddy page allocator: nodes -> zones -> free_area[order][migratetype],
// per-cpu page lists for orders 0..3, watermarks, zone and node fallback, and
// migratetype fallback with pageblock stealing, with Linux's semantics.
//
// LOCK ORDER: see zone.h (PerCpuPages::lock -> Zone::lock). Reclaim hooks are
// called with no lock held. The translation functions (PfnToPage, PageAddress,
// VirtToPage) are lock-free and read-only after Init.
//
// Bad input (double free, a tail page, a wrong order, a page still referenced or
// mapped, a pointer or address outside RAM, an order above MAX_PAGE_ORDER) is
// reported through Printk in Linux's "BUG: Bad page state" form and leaves the
// allocator exactly as it was.
#ifndef MM_BUDDY_BUDDY_ALLOCATOR_H_
#define MM_BUDDY_BUDDY_ALLOCATOR_H_

#include <atomic>
#include <cstdint>

#include "mm/base/format.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/memblock.h"
#include "mm/buddy/page.h"
#include "mm/buddy/zone.h"
#include "mm/platform/platform.h"

namespace mm {

inline constexpr int kNumaNoNode = -1;

struct BuddyConfig {
  unsigned nr_nodes = 1;         // numa=N: RAM split evenly
  unsigned nr_cpus = 1;          // cpus=N: per-cpu list slots
  uint64_t dma_bytes = 0;        // zones=dma:SIZE at the bottom of node 0 (0: no ZONE_DMA)
  int64_t min_free_kbytes = -1;  // -1: Linux's default, int_sqrt(lowmem_kbytes * 16)
};

// Called by the allocator when memory runs low; installed by the reclaim engine.
struct ReclaimHooks {
  void* context = nullptr;
  // An allocation fell below a zone's low watermark: wake the node's kswapd.
  void (*wake_kswapd)(void* context, int nid, unsigned order) = nullptr;
  // Below min with __GFP_DIRECT_RECLAIM: reclaim now; returns pages freed.
  uint64_t (*direct_reclaim)(void* context, gfp_t gfp, unsigned order, int nid) = nullptr;
};

class BuddyAllocator {
 public:
  BuddyAllocator() = default;
  BuddyAllocator(const BuddyAllocator&) = delete;
  BuddyAllocator& operator=(const BuddyAllocator&) = delete;

  // Builds mem_map and the zones over memblock's RAM, taking its metadata from
  // `memblock`, and frees every page memblock has not handed out. Call once,
  // after all other boot-time memblock allocations. Returns 0 or -ENOMEM/-EINVAL
  // (with a message) when the configuration does not fit.
  int Init(Memblock& memblock, const BuddyConfig& config);

  // ---- Allocation (alloc_pages_node semantics) ----
  // 2^order contiguous pages, naturally aligned, with _refcount 1; nullptr on
  // failure (with a "page allocation failure" warning unless __GFP_NOWARN).
  // nid == kNumaNoNode means the current cpu's node.
  // An any-node request of order <= kPcpMaxOrder is dispatched inline (as
  // Linux's inline alloc_pages_node) to a per-cpu fast path (order 0, or
  // orders 1..kPcpMaxOrder), so that a constant order, nid and gfp fold away at
  // the call site.
  page* AllocPages(gfp_t gfp, unsigned order, int nid = kNumaNoNode) {
    if (__builtin_expect(nid == kNumaNoNode, 1)) {
      if (__builtin_expect(order == 0, 1)) return AllocPcpFast(gfp, GfpMigrateType(gfp));
      if (order <= kPcpMaxOrder) return AllocPcpFastHigh(gfp, order, GfpMigrateType(gfp));
    }
    return AllocPagesGeneral(gfp, order, nid);
  }
  // __free_pages: drops one reference; at zero returns the block (checked).
  void FreePages(page* p, unsigned order) {
    if (__builtin_expect(order == 0, 1)) {
      FreePcpFast(p);
    } else if (order <= kPcpMaxOrder) {
      FreePcpFastHigh(p, order);
    } else {
      FreePagesGeneral(p, order);
    }
  }
  // free_pages(addr): the same by direct-map address (checked to be in RAM).
  void FreePagesByAddress(uintptr_t addr, unsigned order);
  void GetPage(page* p);
  // put_page: drops a reference; at zero frees the block of the page's order.
  void PutPage(page* p);
  // Returns every per-cpu list's pages to the zones (drain_all_pages).
  void DrainAllPages();

  // ---- Translation (lock-free) ----
  bool PfnValid(Pfn pfn) const { return pfn - start_pfn_ < nr_pages_; }
  // True iff p points exactly at one of this machine's struct pages.
  bool IsPage(const page* p) const {
    const uintptr_t off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(mem_map_);
    return off < nr_pages_ * sizeof(page) && off % sizeof(page) == 0;
  }
  page* PfnToPage(Pfn pfn) const { return PfnValid(pfn) ? mem_map_ + (pfn - start_pfn_) : nullptr; }
  Pfn PageToPfn(const page* p) const { return start_pfn_ + static_cast<Pfn>(p - mem_map_); }
  void* PageAddress(const page* p) const {
    return reinterpret_cast<void*>(virt_base_ + (static_cast<uintptr_t>(p - mem_map_) << kPageShift));
  }
  PhysAddr PageToPhys(const page* p) const { return PageToPfn(p) << kPageShift; }
  // The struct page of a direct-map address, or nullptr if outside RAM.
  page* VirtToPage(const void* addr) const;
  bool VirtAddrValid(const void* addr) const {
    return reinterpret_cast<uintptr_t>(addr) - virt_base_ < (nr_pages_ << kPageShift);
  }
  uintptr_t PhysToVirt(PhysAddr pa) const { return virt_base_ + (pa - (start_pfn_ << kPageShift)); }

  // ---- Counters ----
  uint64_t NrFreePages() const;        // buddy lists + per-cpu lists
  uint64_t NrFreeBuddyPages() const;   // buddy lists only (Linux's NR_FREE_PAGES)
  uint64_t TotalRamPages() const { return total_managed_; }
  uint64_t TotalReservePages() const;  // Linux's totalreserve_pages
  uint64_t SumLowWatermarks() const;
  unsigned nr_nodes() const { return nr_nodes_; }
  unsigned nr_cpus() const { return nr_cpus_; }
  Node& node(int nid) { return *nodes_[nid]; }
  const Node& node(int nid) const { return *nodes_[nid]; }
  Pfn start_pfn() const { return start_pfn_; }
  uint64_t nr_pages() const { return nr_pages_; }
  page* mem_map() const { return mem_map_; }

  // Recomputes watermarks from min_free_kbytes (setup_per_zone_wmarks).
  void SetMinFreeKbytes(uint64_t kbytes);
  uint64_t min_free_kbytes() const { return min_free_kbytes_; }

  // With false, every order goes to the zone free lists under the zone lock:
  // the lists are drained, their high drops to 1 so that a free drains at once
  // (Linux's zone_pcp_disable) and the order-0 alloc gates close. Not to be
  // called concurrently with itself.
  void SetPcpEnabled(bool enabled);

  // Calls f(nid, zone) for every populated zone: nodes in order, zones bottom up.
  template <typename F>
  void ForEachZone(F&& f) {
    for (unsigned nid = 0; nid < nr_nodes_; ++nid) {
      for (Zone& zone : nodes_[nid]->zones) {
        if (zone.populated) f(nid, zone);
      }
    }
  }
  template <typename F>
  void ForEachZone(F&& f) const {
    for (unsigned nid = 0; nid < nr_nodes_; ++nid) {
      for (const Zone& zone : nodes_[nid]->zones) {
        if (zone.populated) f(nid, zone);
      }
    }
  }

  void SetReclaimHooks(const ReclaimHooks& hooks) { hooks_ = hooks; }
  // Name printed as "in process NAME" in reports (the VM installs `current`'s comm).
  void SetCommHook(const char* (*comm)()) { comm_hook_ = comm; }

  // Walks every zone, free list, per-cpu list and struct page and checks the
  // invariants of page.h and zone.h. Returns true if all hold; otherwise prints
  // the first violation. Takes every lock; O(pages).
  bool CheckInvariants();

  // ---- Text views (Linux formats) ----
  void ShowBuddyinfo(TextBuffer& out);
  void ShowPagetypeinfo(TextBuffer& out);
  void ShowZoneinfo(TextBuffer& out);
  void ShowVmstat(TextBuffer& out);     // nr_free_pages, pgalloc_*, pgfree, ...
  void ShowExtfragIndex(TextBuffer& out);   // /sys/kernel/debug/extfrag/extfrag_index
  void ShowUnusableIndex(TextBuffer& out);  // /sys/kernel/debug/extfrag/unusable_index
  // Linux's fragmentation_index for `order` in `zone`, in thousandths: -1000
  // when a suitable block exists, 0 when nothing is free, else 0..1000.
  int FragmentationIndex(const Zone& zone, unsigned order);

  // Reports a bad page in Linux's form; `reason` completes "page dumped because: ".
  void BadPage(const page* p, const char* reason);

 private:
  struct AllocContext;

  // The pcp slot of the calling cpu and that slot's node (tables, no division).
  int CpuSlot() const { return slot_of_cpu_[platform::FastCpuId() % kMaxCpus]; }
  int NodeOfSlot(int slot) const { return node_of_slot_[slot]; }

  class ZoneLockGuard;

  // The order-0 fast paths (Linux's rmqueue_pcplist / free_unref_page with the
  // checks of free_page_is_bad fused): straight-line code on the calling cpu's
  // list that falls through (a tail call) to the general path for anything
  // else: an unknown cpu, a closed alloc gate, an empty list, a busy pcp lock,
  // or any page that is not in the plain allocated state (the general path
  // then checks and reports).
  page* AllocPcpFast(gfp_t gfp, size_t mt);  // mt: a MigrateType
  void FreePcpFast(page* p);
  // The same for a compound block of order 1..kPcpMaxOrder (Linux keeps pcp
  // lists up to PAGE_ALLOC_COSTLY_ORDER since 5.14): the alloc gate is
  // high_order_gate_, and the free also checks the tail pages (all of them
  // PG_tail pointing at the head, with no reference and no mapping) before it
  // writes anything.
  page* AllocPcpFastHigh(gfp_t gfp, unsigned order, size_t mt);
  void FreePcpFastHigh(page* p, unsigned order);
  page* AllocPagesGeneral(gfp_t gfp, unsigned order, int nid);
  void FreePagesGeneral(page* p, unsigned order);
  // AllocPcpFast and AllocPcpFastHigh's shared body (kCompound: order >= 1).
  template <bool kCompound>
  page* PcpListPop(gfp_t gfp, unsigned order, size_t mt);
  // Cold tail of the fast paths.
  page* ZeroNewPages(page* p, unsigned order);
  // Returns pages to the zone (PcpFreeCount of them, starting with the list
  // `freed`, the block just freed, is on) and unlocks.
  void DrainPcpAndUnlock(PerCpuPages& pcp, const page* freed) MM_RELEASE(pcp.lock);
  // Index of alloc_gate_'s second dimension for a request (0: Normal, 1: DMA).
  static unsigned GateIndex(ZoneType z) { return z == ZONE_DMA ? 1 : 0; }
  // Opens or closes the zone's alloc gate for every cpu of its node to match
  // pcp_enabled_ && nr_free > low watermark; the zone lock is held.
  void SyncAllocGate(Zone& zone) MM_EXCLUSIVE_LOCKS_REQUIRED(zone.lock);
  void SetPcpHigh(PerCpuPages& pcp, int high, int batch) MM_EXCLUSIVE_LOCKS_REQUIRED(pcp.lock);
  void UpdatePcpHighAndBatch(Zone& zone);
  page* GetPageFromFreelist(AllocContext& ac, unsigned order, int wmark_index,
                            unsigned alloc_flags);
  page* AllocSlowpath(AllocContext& ac, gfp_t gfp, unsigned order);
  page* Rmqueue(Zone& zone, int slot, unsigned order, MigrateType mt);
  page* RmqueuePcp(Zone& zone, int slot, unsigned order, MigrateType mt);
  page* RmqueueSmallest(Zone& zone, unsigned order, MigrateType mt);
  page* RmqueueFallback(Zone& zone, unsigned order, MigrateType start_mt);
  void Expand(Zone& zone, page* p, unsigned low, unsigned high, MigrateType mt);
  void AddToFreeArea(Zone& zone, page* p, unsigned order, MigrateType mt);
  void DelFromFreeArea(Zone& zone, page* p, unsigned order);
  void FreeOneBlock(Zone& zone, page* p, Pfn pfn, unsigned order, MigrateType mt);
  void FreeToPcp(Zone& zone, int slot, page* p, unsigned order, MigrateType mt);
  void FreePcpBulk(Zone& zone, PerCpuPages& pcp, int pages, unsigned pindex)
      MM_EXCLUSIVE_LOCKS_REQUIRED(pcp.lock);
  void DrainZonePcp(Zone& zone, PerCpuPages& pcp) MM_EXCLUSIVE_LOCKS_REQUIRED(pcp.lock);
  uint64_t MovePageblockFree(Zone& zone, Pfn pageblock_start, MigrateType mt);
  bool WatermarkOk(const Zone& zone, unsigned order, uint64_t mark, ZoneType highest,
                   unsigned alloc_flags) const;
  void PrepNewPage(page* p, unsigned order, gfp_t gfp);
  // Validates a block about to be freed; returns nullptr if fine, else the reason.
  // (CheckFreeRequest may format the reason into buf.)
  const char* CheckFreeBlock(const page* p, unsigned order) const;
  const char* CheckFreeRequest(const page* p, unsigned order, char* buf, size_t size) const;
  void FreeBlock(page* p, unsigned order);
  MigrateType PageblockMigrateType(const Zone& zone, Pfn pfn) const {
    return static_cast<MigrateType>(zone.pageblock_mt[(pfn - zone.start_pfn) >> kPageblockOrder]);
  }
  Zone& ZoneOf(const page* p) { return *zone_table_[p->node][p->zone]; }
  void SetupWatermarks();
  void SetupLowmemReserve();
  void WarnAllocFailure(gfp_t gfp, unsigned order);

  page* mem_map_ = nullptr;
  Pfn start_pfn_ = 0;
  uint64_t nr_pages_ = 0;
  uintptr_t virt_base_ = 0;
  unsigned nr_nodes_ = 1;
  unsigned nr_cpus_ = 1;
  uint64_t total_managed_ = 0;
  uint64_t min_free_kbytes_ = 0;
  Node* nodes_[kMaxNodes] = {};
  Zone* zone_table_[kMaxNodes][kMaxNrZones] = {};  // nullptr where unpopulated
  ReclaimHooks hooks_;
  const char* (*comm_hook_)() = nullptr;
  std::atomic<bool> pcp_enabled_{true};
  uint8_t slot_of_cpu_[kMaxCpus] = {};   // cpu id -> pcp slot (cpu % nr_cpus)
  uint8_t node_of_slot_[kMaxCpus] = {};  // pcp slot -> its node (slot % nr_nodes)
  // The order-0 alloc gate: [cpu][GateIndex(GfpZone(gfp))] is the cpu's pcp in
  // its node's zone of that type while the zone's alloc_gate_open holds, else
  // nullptr (no such zone, pcp disabled, or at/below the low watermark). Read
  // lock-free by the fast path (one load for the zone, its pcp and its
  // watermark check); written under the zone's lock.
  std::atomic<PerCpuPages*> alloc_gate_[kMaxCpus][kMaxNrZones] = {};
  // The same for orders 1..kPcpMaxOrder, open while the zone's
  // high_order_gate_open holds (see zone.h): then __zone_watermark_ok at the
  // low watermark passes for every order up to kPcpMaxOrder.
  std::atomic<PerCpuPages*> high_order_gate_[kMaxCpus][kMaxNrZones] = {};
  // [cpu][node * kMaxNrZones + zone]: the cpu's pcp in that zone (nullptr where
  // unpopulated). Written at boot only.
  PerCpuPages* pcp_of_cpu_[kMaxCpus][kMaxNodes * kMaxNrZones] = {};
  std::atomic<uint64_t> alloc_failures_{0};
  std::atomic<uint64_t> allocstall_{0};
  std::atomic<uint64_t> kswapd_wakeups_{0};
};

}  // namespace mm

#endif  // MM_BUDDY_BUDDY_ALLOCATOR_H_
