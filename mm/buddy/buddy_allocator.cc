// The buddy allocator's allocation and free paths.
//
// LOCK ORDER: PerCpuPages::lock -> Zone::lock (zone.h has the full block).
//   - Allocation of order <= 3 takes only the cpu slot's pcp lock unless the list
//     is empty (then zone lock inside it, to refill a batch).
//   - Free of order <= 3 takes only the pcp lock unless the slot reaches
//     `high` (then the zone lock inside it, to return a batch).
//   - Orders above 3 take the zone lock.
//   - Lock-free reads: watermark checks read zone counters (relaxed); the
//     order-0 fast paths read alloc_gate_ (relaxed) and the boot-time tables
//     (mem_map_, nr_pages_, pcp_of_cpu_), then only TRY the pcp lock.
//   - Every zone-lock section that changes nr_free or the watermarks ends in
//     ZoneLockGuard, which re-syncs the zone's alloc gate before unlocking.
//   - Reclaim hooks are called with no lock held.
#include "mm/buddy/buddy_allocator.h"

#include <bit>

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"

namespace mm {
namespace {

// alloc_flags, as Linux's ALLOC_* (a subset).
constexpr unsigned kAllocMinReserve = 1u << 0;  // __GFP_HIGH: may dip to half of min
constexpr unsigned kAllocNonBlock = 1u << 1;    // cannot reclaim: with MIN_RESERVE, a further quarter

// Linux's fallbacks[]: where each migratetype looks when its own lists are empty.
constexpr MigrateType kFallbacks[kNrMigrateTypes][2] = {
    {MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE},    // UNMOVABLE
    {MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE},  // MOVABLE
    {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE},      // RECLAIMABLE
};

// Flags that must be clear on a page being freed (Linux's PAGE_FLAGS_CHECK_AT_FREE).
constexpr uint32_t kFlagsCheckAtFree = PG_locked | PG_lru | PG_active | PG_slab | PG_writeback |
                                       PG_swapcache | PG_unevictable | PG_mlocked | PG_reserved;

// lowmem_reserve ratios (sysctl_lowmem_reserve_ratio): DMA 256, Normal 32.
constexpr uint64_t kLowmemReserveRatio[kMaxNrZones] = {256, 32};

page* Entry(ListNode* n) { return ContainerOf(n, &page::lru); }

// Flags that send an order-0 free off the fast path: compound pages, pages
// already free, and PAGE_FLAGS_CHECK_AT_FREE.
constexpr uint32_t kNotPlain = PG_tail | PG_head | PG_buddy | PG_pcp | kFlagsCheckAtFree;

// The fused free check (Linux's free_page_is_bad as two compares). First, with
// the head word rotated left by 8 (free_mt in bits 0-7, flags in 8-39, order in
// 40-47), masking keeps free_mt, the flags that must be clear and the order:
// the result is the page's cached migratetype (< kNrMigrateTypes) exactly when
// no kNotPlain flag is set, the order is 0 and free_mt is valid; anything else
// is larger. Second, `(_refcount | _mapcount << 32) ^ 1 | mapping` is zero
// exactly when the page holds one reference, is unmapped and has no mapping.
constexpr uint64_t kFreeFastMask = uint64_t{0xff} | (uint64_t{kNotPlain} << 8) | (uint64_t{0xff} << 40);
static_assert(sizeof(page) == 64, "FreePcpFast's one-compare IsPage rotates by log2(64)");
static_assert(__GFP_DMA == 1, "alloc_gate_ is indexed by gfp & __GFP_DMA");

// The calling cpu for the fast paths, or a value >= kMaxCpus when it is not
// known cheaply (a host thread before its first platform::CpuId()): the fast
// path then takes the general path, which asks the platform. Hosted builds read
// the host platform's thread variable (what platform::FastCpuId() reads) without
// a fallback call, so the fast paths stay leaf functions.
inline unsigned PeekCpuId() {
#if __STDC_HOSTED__
  return platform::host_cpu_slot;
#else
  return platform::CpuId();
#endif
}

// How many pages a full pcp returns to the zone (Linux's nr_pcp_free): a batch,
// or, after a burst of frees with no allocation since the last drain, the pages
// freed since then (Linux's pcp->free_count), at most high - batch so that a
// batch stays; everything when high is not above a batch (pcp disabled: high
// == 1); always enough to bring headroom back to at least 1.
int PcpFreeCount(const PerCpuPages& pcp) MM_NO_THREAD_SAFETY_ANALYSIS {
  int pages;
  if (pcp.high <= pcp.batch) {
    pages = pcp.count();
  } else {
    pages = pcp.batch;
    if (pcp.pgalloc == pcp.pgalloc_at_drain) {
      const uint64_t burst = pcp.pgfree - pcp.pgfree_at_drain;
      const uint64_t max = static_cast<uint64_t>(pcp.high - pcp.batch);
      if (burst > static_cast<uint64_t>(pages)) pages = static_cast<int>(burst < max ? burst : max);
    }
  }
  if (pages < 1 - pcp.headroom) pages = 1 - pcp.headroom;
  return pages;
}

// The tail pages of a block on a per-cpu list stay prepared as an allocated
// block's (zone.h), so that the pcp fast paths neither write them on alloc
// nor clear them on free: they are prepared when a block enters a pcp list
// from the zone (and by prep_new_page) and cleared, as inside any free buddy
// block, when it leaves for the zone.
void PrepPcpTails(page* p, unsigned order) {
  for (uint64_t i = 1; i < (uint64_t{1} << order); ++i) {
    p[i].flags = PG_tail;
    p[i].compound_head = p;
  }
}
void ClearTails(page* p, unsigned order) {
  for (uint64_t i = 1; i < (uint64_t{1} << order); ++i) {
    p[i].flags = 0;
    p[i].compound_head = nullptr;
  }
}

// A pcp list by its Linux pindex (order * kNrMigrateTypes + migratetype).
constexpr unsigned kNrPcpLists = (kPcpMaxOrder + 1) * kNrMigrateTypes;
List& PcpList(PerCpuPages& pcp, unsigned pindex) MM_NO_THREAD_SAFETY_ANALYSIS {
  return pcp.lists[pindex / kNrMigrateTypes][pindex % kNrMigrateTypes];
}

// list_add (PushFront) with the two stores into `n` kept apart: GCC's SLP
// vectorizer otherwise packs them into one 16-byte store that costs four
// instructions instead of two.
inline void PushFrontUnpacked(ListNode* head, ListNode* n) {
  ListNode* first = head->next;
  n->next = first;
  first->prev = n;  // may alias n->prev as far as the compiler knows
  n->prev = head;
  head->next = n;
}

// zone_batchsize(): pages per refill/drain, from the zone's size.
int PcpBatch(const Zone& zone) {
  uint64_t batch = zone.managed_pages >> 10;
  if (batch > (uint64_t{1} << 20) / kPageSize) batch = (uint64_t{1} << 20) / kPageSize;
  batch /= 4;
  if (batch < 1) batch = 1;
  batch = RoundDownPowerOfTwo(batch + batch / 2) - 1;
  if (batch < 1) batch = 1;
  return static_cast<int>(batch);
}

}  // namespace

// A zone-lock section that may change nr_free or the watermarks: on exit the
// zone's alloc gate is re-synced (SyncAllocGate), then the lock is released.
class MM_SCOPED_CAPABILITY BuddyAllocator::ZoneLockGuard {
 public:
  ZoneLockGuard(BuddyAllocator& b, Zone& zone) MM_ACQUIRE(zone.lock) : b_(b), zone_(zone) {
    zone_.lock.Lock();
  }
  ~ZoneLockGuard() MM_RELEASE() {
    b_.SyncAllocGate(zone_);
    zone_.lock.Unlock();
  }
  ZoneLockGuard(const ZoneLockGuard&) = delete;
  ZoneLockGuard& operator=(const ZoneLockGuard&) = delete;

 private:
  BuddyAllocator& b_;
  Zone& zone_;
};

struct BuddyAllocator::AllocContext {
  int slot;  // the calling cpu's pcp slot
  int preferred_nid;
  ZoneType highest_zone;
  MigrateType mt;
  bool this_node;
};

// ---------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------

int BuddyAllocator::Init(Memblock& memblock, const BuddyConfig& config) {
  const RamRange& ram = memblock.ram();
  if (!IsAligned(ram.phys_base, kPageSize) || !IsAligned(ram.virt_base, kPageSize) ||
      ram.size < (uint64_t{4} << 20)) {
    Printk("buddy: RAM range too small or misaligned (%llu bytes)\n",
           static_cast<unsigned long long>(ram.size));
    return -kEINVAL;
  }
  nr_nodes_ = config.nr_nodes;
  nr_cpus_ = config.nr_cpus;
  if (nr_nodes_ < 1 || nr_nodes_ > kMaxNodes || nr_cpus_ < 1 || nr_cpus_ > kMaxCpus) {
    Printk("buddy: bad node or cpu count (numa=%u cpus=%u)\n", nr_nodes_, nr_cpus_);
    return -kEINVAL;
  }
  for (unsigned c = 0; c < kMaxCpus; ++c) {
    slot_of_cpu_[c] = static_cast<uint8_t>(c % nr_cpus_);
    node_of_slot_[c] = static_cast<uint8_t>((c % nr_cpus_) % nr_nodes_);
  }
  start_pfn_ = ram.phys_base >> kPageShift;
  nr_pages_ = ram.size >> kPageShift;
  virt_base_ = ram.virt_base;

  // Nodes split RAM evenly, on MAX_PAGE_ORDER-block boundaries; the last takes the rest.
  const uint64_t block = uint64_t{1} << kMaxPageOrder;
  const uint64_t per_node = AlignDown(nr_pages_ / nr_nodes_, block);
  if (per_node < block) {
    Printk("buddy: numa=%u leaves nodes smaller than %llu pages\n", nr_nodes_,
           static_cast<unsigned long long>(block));
    return -kEINVAL;
  }
  const uint64_t dma_pages = AlignUp(config.dma_bytes >> kPageShift, kPageblockNrPages);
  if (config.dma_bytes != 0 && dma_pages >= per_node) {
    Printk("buddy: zones=dma:%lluK does not fit in node 0 (%lluK)\n",
           static_cast<unsigned long long>(config.dma_bytes >> 10),
           static_cast<unsigned long long>(per_node << (kPageShift - 10)));
    return -kEINVAL;
  }

  mem_map_ = static_cast<page*>(memblock.Alloc(nr_pages_ * sizeof(page), kCacheLineSize));
  if (mem_map_ == nullptr) return -kENOMEM;
  for (unsigned nid = 0; nid < nr_nodes_; ++nid) {
    Node* n = memblock.New<Node>();
    if (n == nullptr) return -kENOMEM;
    nodes_[nid] = n;
    n->id = static_cast<int>(nid);
    n->start_pfn = start_pfn_ + nid * per_node;
    n->spanned_pages = nid + 1 == nr_nodes_ ? nr_pages_ - nid * per_node : per_node;
    Pfn zone_start = n->start_pfn;
    for (unsigned z = 0; z < kMaxNrZones; ++z) {
      Zone& zone = n->zones[z];
      zone.type = static_cast<ZoneType>(z);
      zone.node = static_cast<uint8_t>(nid);
      uint64_t span = 0;
      if (z == ZONE_DMA) {
        span = nid == 0 ? dma_pages : 0;
      } else {
        span = n->start_pfn + n->spanned_pages - zone_start;
      }
      zone.start_pfn = zone_start;
      zone.spanned_pages = span;
      zone.present_pages = span;
      zone_start += span;
      if (span == 0) continue;
      zone.populated = true;
      zone_table_[nid][z] = &zone;
      const uint64_t nr_pageblocks = (span + kPageblockNrPages - 1) / kPageblockNrPages;
      zone.pageblock_mt = static_cast<uint8_t*>(memblock.Alloc(nr_pageblocks, 8));
      zone.pcp = static_cast<PerCpuPages*>(
          memblock.Alloc(sizeof(PerCpuPages) * nr_cpus_, alignof(PerCpuPages)));
      if (zone.pageblock_mt == nullptr || zone.pcp == nullptr) return -kENOMEM;
      for (uint64_t i = 0; i < nr_pageblocks; ++i) zone.pageblock_mt[i] = MIGRATE_MOVABLE;
      for (unsigned c = 0; c < nr_cpus_; ++c) new (&zone.pcp[c]) PerCpuPages();
      for (unsigned c = 0; c < nr_cpus_; ++c) {
        zone.pcp[c].zone = &zone;
        for (unsigned mt = 0; mt < kNrMigrateTypes; ++mt) {
          zone.pcp[c].alloc_head_word[mt] = PageHeadWordOf(static_cast<uint8_t>(nid),
                                                           static_cast<uint8_t>(z),
                                                           static_cast<uint8_t>(mt));
        }
      }
      for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) {
        pcp_of_cpu_[cpu][nid * kMaxNrZones + z] = &zone.pcp[slot_of_cpu_[cpu]];
      }
      for (Pfn pfn = zone.start_pfn; pfn < zone.end_pfn(); ++pfn) {
        page* p = PfnToPage(pfn);
        p->flags = PG_reserved;
        p->node = static_cast<uint8_t>(nid);
        p->zone = static_cast<uint8_t>(z);
      }
    }
  }

  // Everything memblock handed out (including the above) stays reserved; the
  // rest goes to the free lists in the largest naturally aligned blocks.
  const Pfn first_free = start_pfn_ + (memblock.used_bytes() >> kPageShift);
  total_managed_ = 0;
  ForEachZone([&](unsigned, Zone& zone) {
    Pfn pfn = zone.start_pfn < first_free ? first_free : zone.start_pfn;
    if (pfn > zone.end_pfn()) pfn = zone.end_pfn();
    zone.managed_pages = zone.end_pfn() - pfn;
    total_managed_ += zone.managed_pages;
    ZoneLockGuard guard(*this, zone);
    while (pfn < zone.end_pfn()) {
      unsigned order = kMaxPageOrder;
      while (order > 0 && (!IsAligned(pfn, uint64_t{1} << order) ||
                           pfn + (uint64_t{1} << order) > zone.end_pfn())) {
        --order;
      }
      page* p = PfnToPage(pfn);
      for (uint64_t i = 0; i < (uint64_t{1} << order); ++i) p[i].flags = 0;
      FreeOneBlock(zone, p, pfn, order, PageblockMigrateType(zone, pfn));
      pfn += uint64_t{1} << order;
    }
  });
  if (total_managed_ == 0) {
    Printk("buddy: no RAM left after boot metadata\n");
    return -kENOMEM;
  }

  // Per-cpu batch and high are set with the watermarks (SetupWatermarks).
  SetupLowmemReserve();
  uint64_t kbytes;
  if (config.min_free_kbytes >= 0) {
    kbytes = static_cast<uint64_t>(config.min_free_kbytes);
  } else {
    // init_per_zone_wmark_min: int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144].
    kbytes = IntSqrt((total_managed_ << (kPageShift - 10)) * 16);
    if (kbytes < 128) kbytes = 128;
    if (kbytes > 262144) kbytes = 262144;
  }
  SetMinFreeKbytes(kbytes);
  return 0;
}

void BuddyAllocator::SetPcpHigh(PerCpuPages& pcp, int high, int batch) {
  pcp.lock.AssertHeld();
  pcp.headroom += high - pcp.high;  // keeps high - headroom == count
  pcp.high = high;
  pcp.batch = batch;
}

void BuddyAllocator::SetupLowmemReserve() {
  for (unsigned nid = 0; nid < nr_nodes_; ++nid) {
    Zone* zones = nodes_[nid]->zones;
    for (unsigned j = 0; j < kMaxNrZones; ++j) {
      uint64_t above = 0;
      zones[j].lowmem_reserve[j] = 0;
      for (unsigned i = j + 1; i < kMaxNrZones; ++i) {
        above += zones[i].managed_pages;
        zones[j].lowmem_reserve[i] = zones[j].populated ? above / kLowmemReserveRatio[j] : 0;
      }
    }
  }
}

void BuddyAllocator::SetMinFreeKbytes(uint64_t kbytes) {
  min_free_kbytes_ = kbytes;
  SetupWatermarks();
}

// __setup_per_zone_wmarks: min shared out by managed size; low and high a
// quarter of min (or 0.1% of the zone, watermark_scale_factor 10) above it.
void BuddyAllocator::SetupWatermarks() {
  const uint64_t pages_min = min_free_kbytes_ >> (kPageShift - 10);
  ForEachZone([&](unsigned, Zone& zone) {
    ZoneLockGuard guard(*this, zone);
    uint64_t tmp = pages_min * zone.managed_pages / total_managed_;
    zone.watermark[WMARK_MIN] = tmp;
    uint64_t scaled = zone.managed_pages * 10 / 10000;
    uint64_t step = (tmp >> 2) > scaled ? (tmp >> 2) : scaled;
    zone.watermark[WMARK_LOW] = tmp + step;
    zone.watermark[WMARK_HIGH] = tmp + 2 * step;
  });
  // As setup_per_zone_wmarks: high follows the low watermark.
  ForEachZone([&](unsigned, Zone& zone) { UpdatePcpHighAndBatch(zone); });
}

// zone_pcp_update: batch from zone_batchsize(), high from zone_highsize() (the
// zone's low watermark shared out over the node's cpus, so that full per-cpu
// lists do not push the zone below low by themselves; at least 4 * batch);
// with pcp lists off, high and batch 1. A slot holding high pages or more is
// drained first, so that count < high holds.
void BuddyAllocator::UpdatePcpHighAndBatch(Zone& zone) {
  int batch = 1;
  int high = 1;
  if (pcp_enabled_.load(std::memory_order_relaxed)) {
    batch = PcpBatch(zone);
    unsigned cpus = 0;
    for (unsigned c = 0; c < nr_cpus_; ++c) cpus += NodeOfSlot(static_cast<int>(c)) == zone.node;
    uint64_t h = zone.watermark[WMARK_LOW] / (cpus != 0 ? cpus : nr_cpus_);
    if (h < uint64_t{4} * static_cast<uint64_t>(batch)) h = uint64_t{4} * static_cast<uint64_t>(batch);
    if (h > (uint64_t{1} << 20)) h = uint64_t{1} << 20;
    high = static_cast<int>(h);
  }
  for (unsigned c = 0; c < nr_cpus_; ++c) {
    PerCpuPages& pcp = zone.pcp[c];
    PcpLockGuard guard(pcp.lock);
    if (pcp.count() >= high) DrainZonePcp(zone, pcp);
    SetPcpHigh(pcp, high, batch);
  }
}

namespace {

// Whether the zone's order-0 and higher-order alloc gates should be open
// (zone.h: alloc_gate_open, high_order_gate_open).
struct GateState {
  bool open;
  bool high_order_open;
};

GateState ComputeGates(const Zone& zone, bool pcp_enabled) MM_NO_THREAD_SAFETY_ANALYSIS {
  const uint64_t free = zone.nr_free.get();
  const uint64_t low = zone.watermark[WMARK_LOW];
  GateState g{pcp_enabled && free > low, false};
  if (g.open && free > low + (uint64_t{1} << kPcpMaxOrder) - 1) {
    // Largest orders first: a zone with memory to spare has MAX_PAGE_ORDER blocks.
    for (unsigned o = kMaxPageOrder; o >= kPcpMaxOrder && !g.high_order_open; --o) {
      g.high_order_open = zone.free_area[o].nr_free.get() != 0;
    }
  }
  return g;
}

}  // namespace

void BuddyAllocator::SyncAllocGate(Zone& zone) {
  zone.lock.AssertHeld();
  const GateState g = ComputeGates(zone, pcp_enabled_.load(std::memory_order_relaxed));
  if (g.open == zone.alloc_gate_open && g.high_order_open == zone.high_order_gate_open) return;
  zone.alloc_gate_open = g.open;
  zone.high_order_gate_open = g.high_order_open;
  for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) {
    const int slot = slot_of_cpu_[cpu];
    if (NodeOfSlot(slot) != zone.node) continue;
    alloc_gate_[cpu][GateIndex(zone.type)].store(g.open ? &zone.pcp[slot] : nullptr,
                                                 std::memory_order_relaxed);
    high_order_gate_[cpu][GateIndex(zone.type)].store(
        g.high_order_open ? &zone.pcp[slot] : nullptr, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------

// The allocation fast paths share one body, PcpListPop, with the order a
// constant in each (the order-0 path compiles to what it was when written out).
//
// Order 0: one page from the calling cpu's list in its node's highest allowed
// zone. The alloc gate entry is that zone's pcp only while the zone is above
// its low watermark (for the zone itself lowmem_reserve is 0, so that is
// __zone_watermark_ok for order 0) and pcp lists are on.
// Orders 1..kPcpMaxOrder: the same steps behind high_order_gate_ (open only
// while __zone_watermark_ok at low holds for every order up to kPcpMaxOrder in
// the zone, so the general path would take this zone's list too), then
// prep_new_page for a compound block: the head word (PG_head, the order, which
// the list already recorded, node, zone, free_mt) and one reference; the tail
// pages stayed prepared on the list.
// Anything else (an unknown cpu, a closed gate, a busy pcp lock, an empty list)
// tail-calls the general path, which decides.
template <bool kCompound>
[[gnu::always_inline]] inline page* BuddyAllocator::PcpListPop(gfp_t gfp, unsigned order, size_t mt) {
  const unsigned cpu = PeekCpuId();
  if (__builtin_expect(cpu >= kMaxCpus, 0)) return AllocPagesGeneral(gfp, order, kNumaNoNode);
  PerCpuPages* pcp = (kCompound ? high_order_gate_ : alloc_gate_)[cpu][gfp & __GFP_DMA].load(
      std::memory_order_relaxed);
  if (__builtin_expect(pcp == nullptr || !pcp->lock.TryLockOnce(), 0)) {
    return AllocPagesGeneral(gfp, order, kNumaNoNode);
  }
  // list_del of the first entry; the head is the list's end().
  ListNode* head = const_cast<ListNode*>(pcp->lists[order][mt].end());
  ListNode* n = head->next;
  if (__builtin_expect(n == head, 0)) {
    pcp->lock.Unlock();
    return AllocPagesGeneral(gfp, order, kNumaNoNode);
  }
  ListNode* next = n->next;
  head->next = next;
  next->prev = head;
  const int pages = 1 << order;
  pcp->headroom += pages;
  pcp->pgalloc += static_cast<uint64_t>(pages);
  uint64_t head_word = pcp->alloc_head_word[mt];
  if (kCompound) head_word |= PG_head | uint64_t{order} << 32;
  pcp->lock.Unlock();
  // prep_new_page: the head word (order 0: flags 0, the order is already 0 and
  // free_mt names the list it came from); one reference (mapping and mapcount
  // were checked clear at free). Both words are written whole, as the free
  // fast paths read them. A compound block's tail pages are prepared already
  // (PG_tail, compound_head = p).
  page* p = Entry(n);
  n->next = nullptr;  // not on any list (lru.linked() is false)
  PageSetHeadWord(p, head_word);
  PageSetRefWord(p, 1);  // _refcount 1, _mapcount 0
  p->private_ = 0;
  if (gfp & __GFP_ZERO) return ZeroNewPages(p, order);
  return p;
}

page* BuddyAllocator::AllocPcpFast(gfp_t gfp, size_t mt) { return PcpListPop<false>(gfp, 0, mt); }

__attribute__((noinline)) page* BuddyAllocator::ZeroNewPages(page* p, unsigned order) {
  __builtin_memset(PageAddress(p), 0, kPageSize << order);
  return p;
}

page* BuddyAllocator::AllocPcpFastHigh(gfp_t gfp, unsigned order, size_t mt) {
  return PcpListPop<true>(gfp, order, mt);
}

__attribute__((noinline)) page* BuddyAllocator::AllocPagesGeneral(gfp_t gfp, unsigned order,
                                                                 int nid) {
  if (__builtin_expect(order > kMaxPageOrder, 0)) {
    if (!(gfp & __GFP_NOWARN)) {
      Printk("WARNING: alloc_pages: order %u > MAX_PAGE_ORDER (%u), mode:%#x\n", order,
             kMaxPageOrder, gfp);
    }
    return nullptr;
  }
  if (nid != kNumaNoNode && (nid < 0 || nid >= static_cast<int>(nr_nodes_))) {
    if (!(gfp & __GFP_NOWARN)) Printk("WARNING: alloc_pages_node: no node %d\n", nid);
    return nullptr;
  }
  const int slot = CpuSlot();
  AllocContext ac{slot, nid == kNumaNoNode ? NodeOfSlot(slot) : nid, GfpZone(gfp),
                  GfpMigrateType(gfp), (gfp & __GFP_THISNODE) != 0};
  page* p = GetPageFromFreelist(ac, order, WMARK_LOW, 0);
  if (__builtin_expect(p == nullptr, 0)) p = AllocSlowpath(ac, gfp, order);
  if (p != nullptr) PrepNewPage(p, order, gfp);
  return p;
}

// The zonelist walk: the preferred node's zones from the highest allowed down
// (Normal -> DMA, never DMA requests into Normal), then the other nodes in
// order unless __GFP_THISNODE.
page* BuddyAllocator::GetPageFromFreelist(AllocContext& ac, unsigned order, int wmark_index,
                                          unsigned alloc_flags) {
  const int nodes = ac.this_node ? 1 : static_cast<int>(nr_nodes_);
  for (int k = 0, nid = ac.preferred_nid; k < nodes; ++k, nid = nid + 1 == static_cast<int>(nr_nodes_) ? 0 : nid + 1) {
    for (int z = ac.highest_zone; z >= 0; --z) {
      Zone& zone = nodes_[nid]->zones[z];
      if (!zone.populated) continue;
      if (!WatermarkOk(zone, order, zone.watermark[wmark_index], ac.highest_zone, alloc_flags)) {
        continue;
      }
      page* p = Rmqueue(zone, ac.slot, order, ac.mt);
      if (p != nullptr) return p;
    }
  }
  return nullptr;
}

page* BuddyAllocator::AllocSlowpath(AllocContext& ac, gfp_t gfp, unsigned order) {
  // Below the low watermark: wake kswapd on the nodes we may use.
  if ((gfp & __GFP_KSWAPD_RECLAIM) && hooks_.wake_kswapd != nullptr) {
    const int nodes = ac.this_node ? 1 : static_cast<int>(nr_nodes_);
    for (int k = 0; k < nodes; ++k) {
      kswapd_wakeups_.fetch_add(1, std::memory_order_relaxed);
      hooks_.wake_kswapd(hooks_.context, (ac.preferred_nid + k) % static_cast<int>(nr_nodes_),
                         order);
    }
  } else if (gfp & __GFP_KSWAPD_RECLAIM) {
    kswapd_wakeups_.fetch_add(1, std::memory_order_relaxed);
  }
  unsigned alloc_flags = 0;
  if (gfp & __GFP_HIGH) alloc_flags |= kAllocMinReserve;
  if (!(gfp & __GFP_DIRECT_RECLAIM)) alloc_flags |= kAllocNonBlock;
  page* p = GetPageFromFreelist(ac, order, WMARK_MIN, alloc_flags);
  if (p != nullptr) return p;

  if ((gfp & __GFP_DIRECT_RECLAIM) && hooks_.direct_reclaim != nullptr) {
    const int tries = (gfp & __GFP_NORETRY) ? 1 : 16;
    for (int i = 0; i < tries; ++i) {
      allocstall_.fetch_add(1, std::memory_order_relaxed);
      uint64_t progress = hooks_.direct_reclaim(hooks_.context, gfp, order, ac.preferred_nid);
      p = GetPageFromFreelist(ac, order, WMARK_MIN, alloc_flags);
      if (p != nullptr) return p;
      if (progress == 0) break;
    }
  }
  // Last resort before failing: pages parked on per-cpu lists.
  DrainAllPages();
  p = GetPageFromFreelist(ac, order, WMARK_MIN, alloc_flags);
  if (p != nullptr) return p;
  alloc_failures_.fetch_add(1, std::memory_order_relaxed);
  if (!(gfp & __GFP_NOWARN)) WarnAllocFailure(gfp, order);
  return nullptr;
}

void BuddyAllocator::WarnAllocFailure(gfp_t gfp, unsigned order) {
  Printk("%s: page allocation failure: order:%u, mode:%#x, nodemask=(null)\n",
         comm_hook_ != nullptr ? comm_hook_() : "swapper", order, gfp);
  ForEachZone([](unsigned nid, const Zone& zone) {
    Printk("Node %u %s free:%llukB min:%llukB low:%llukB high:%llukB managed:%llukB\n", nid,
           zone.name(), static_cast<unsigned long long>(zone.nr_free.get() << 2),
           static_cast<unsigned long long>(zone.watermark[WMARK_MIN] << 2),
           static_cast<unsigned long long>(zone.watermark[WMARK_LOW] << 2),
           static_cast<unsigned long long>(zone.watermark[WMARK_HIGH] << 2),
           static_cast<unsigned long long>(zone.managed_pages << 2));
  });
}

// __zone_watermark_ok.
inline bool BuddyAllocator::WatermarkOk(const Zone& zone, unsigned order, uint64_t mark,
                                 ZoneType highest, unsigned alloc_flags) const {
  int64_t min = static_cast<int64_t>(mark);
  if (alloc_flags & kAllocMinReserve) {
    min -= min / 2;
    if (alloc_flags & kAllocNonBlock) min -= min / 4;
  }
  int64_t free_pages = static_cast<int64_t>(zone.nr_free.get()) - ((int64_t{1} << order) - 1);
  if (free_pages <= min + static_cast<int64_t>(zone.lowmem_reserve[highest])) return false;
  if (order == 0) return true;
  for (unsigned o = order; o <= kMaxPageOrder; ++o) {
    if (zone.free_area[o].nr_free.get() != 0) return true;
  }
  return false;
}

page* BuddyAllocator::Rmqueue(Zone& zone, int slot, unsigned order, MigrateType mt) {
  if (order <= kPcpMaxOrder && pcp_enabled_.load(std::memory_order_relaxed)) {
    return RmqueuePcp(zone, slot, order, mt);
  }
  ZoneLockGuard guard(*this, zone);
  page* p = RmqueueSmallest(zone, order, mt);
  if (p == nullptr) p = RmqueueFallback(zone, order, mt);
  if (p != nullptr) zone.pgalloc += uint64_t{1} << order;
  return p;
}

page* BuddyAllocator::RmqueuePcp(Zone& zone, int slot, unsigned order, MigrateType mt) {
  PerCpuPages& pcp = zone.pcp[slot];
  PcpLockGuard guard(pcp.lock);
  List& list = pcp.lists[order][mt];
  if (__builtin_expect(list.empty(), 0)) {
    // Refill a batch (scaled down for higher orders, as nr_pcp_alloc), but no
    // more than keeps count below high once the block asked for is gone.
    int want = pcp.batch >> order;
    if (want < 2) want = 2;
    const int room = ((pcp.headroom - 1) >> order) + 1;
    if (want > room) want = room;
    ZoneLockGuard zguard(*this, zone);
    for (int i = 0; i < want; ++i) {
      page* p = RmqueueSmallest(zone, order, mt);
      if (p == nullptr) p = RmqueueFallback(zone, order, mt);
      if (p == nullptr) break;
      p->flags = PG_pcp;
      p->order = static_cast<uint8_t>(order);
      p->free_mt = mt;
      PrepPcpTails(p, order);
      list.PushBack(&p->lru);
      pcp.headroom -= 1 << order;
    }
    if (list.empty()) return nullptr;
  }
  page* p = Entry(list.PopFront());
  pcp.headroom += 1 << order;
  pcp.pgalloc += uint64_t{1} << order;
  p->flags = 0;
  return p;
}

void BuddyAllocator::AddToFreeArea(Zone& zone, page* p, unsigned order, MigrateType mt) {
  zone.lock.AssertHeld();
  p->flags = PG_buddy;
  p->order = static_cast<uint8_t>(order);
  p->free_mt = mt;
  FreeArea& area = zone.free_area[order];
  area.lists[mt].PushFront(&p->lru);
  area.nr_free.add(1);
  area.nr_free_mt[mt].add(1);
  zone.nr_free.add(int64_t{1} << order);
}

void BuddyAllocator::DelFromFreeArea(Zone& zone, page* p, unsigned order) {
  zone.lock.AssertHeld();
  FreeArea& area = zone.free_area[order];
  List::Remove(&p->lru);
  area.nr_free.add(-1);
  area.nr_free_mt[p->free_mt].add(-1);
  zone.nr_free.add(-(int64_t{1} << order));
  p->flags &= ~PG_buddy;
}

// Splits a block of order `high` down to `low`, freeing the upper halves.
void BuddyAllocator::Expand(Zone& zone, page* p, unsigned low, unsigned high, MigrateType mt) {
  uint64_t size = uint64_t{1} << high;
  while (high > low) {
    --high;
    size >>= 1;
    AddToFreeArea(zone, p + size, high, mt);
  }
}

page* BuddyAllocator::RmqueueSmallest(Zone& zone, unsigned order, MigrateType mt) {
  for (unsigned o = order; o <= kMaxPageOrder; ++o) {
    ListNode* n = zone.free_area[o].lists[mt].first();
    if (n == nullptr) continue;
    page* p = Entry(n);
    DelFromFreeArea(zone, p, o);
    Expand(zone, p, order, o, mt);
    return p;
  }
  return nullptr;
}

// __rmqueue_fallback: take from another migratetype. Prefer the largest block
// that may be stolen (whole pageblocks change hands, keeping types apart);
// otherwise take the smallest block without changing ownership.
page* BuddyAllocator::RmqueueFallback(Zone& zone, unsigned order, MigrateType start_mt) {
  for (int o = kMaxPageOrder; o >= static_cast<int>(order); --o) {
    const bool can_steal = o >= static_cast<int>(kPageblockOrder / 2) ||
                           start_mt == MIGRATE_RECLAIMABLE || start_mt == MIGRATE_UNMOVABLE;
    if (!can_steal) break;
    for (MigrateType fmt : kFallbacks[start_mt]) {
      ListNode* n = zone.free_area[o].lists[fmt].first();
      if (n == nullptr) continue;
      page* p = Entry(n);
      const Pfn pfn = PageToPfn(p);
      if (o >= static_cast<int>(kPageblockOrder)) {
        // The block spans whole pageblocks: they all change type.
        for (Pfn b = pfn; b < pfn + (uint64_t{1} << o); b += kPageblockNrPages) {
          zone.pageblock_mt[(b - zone.start_pfn) >> kPageblockOrder] = start_mt;
        }
        DelFromFreeArea(zone, p, o);
        AddToFreeArea(zone, p, o, start_mt);
        ++zone.steal_count;
      } else {
        Pfn pb = AlignDown(pfn, kPageblockNrPages);
        if (pb < zone.start_pfn) pb = zone.start_pfn;
        uint64_t moved = MovePageblockFree(zone, pb, start_mt);
        if (moved >= kPageblockNrPages / 2) {
          zone.pageblock_mt[(pb - zone.start_pfn) >> kPageblockOrder] = start_mt;
          ++zone.steal_count;
        }
      }
      return RmqueueSmallest(zone, order, start_mt);
    }
  }
  for (unsigned o = order; o <= kMaxPageOrder; ++o) {
    for (MigrateType fmt : kFallbacks[start_mt]) {
      ListNode* n = zone.free_area[o].lists[fmt].first();
      if (n == nullptr) continue;
      page* p = Entry(n);
      DelFromFreeArea(zone, p, o);
      Expand(zone, p, order, o, fmt);
      return p;
    }
  }
  return nullptr;
}

// move_freepages_block: every free block in the pageblock moves to `mt`'s lists.
uint64_t BuddyAllocator::MovePageblockFree(Zone& zone, Pfn start, MigrateType mt) {
  uint64_t moved = 0;
  Pfn end = start + kPageblockNrPages;
  if (end > zone.end_pfn()) end = zone.end_pfn();
  for (Pfn pfn = start; pfn < end;) {
    page* p = PfnToPage(pfn);
    if (p->flags & PG_buddy) {
      const unsigned order = p->order;
      DelFromFreeArea(zone, p, order);
      AddToFreeArea(zone, p, order, mt);
      moved += uint64_t{1} << order;
      pfn += uint64_t{1} << order;
    } else {
      ++pfn;
    }
  }
  return moved;
}

// post_alloc_hook/prep_new_page. mapping and the mapcount are already clear
// (checked at free); the other union words are the new owner's to set.
inline void BuddyAllocator::PrepNewPage(page* p, unsigned order, gfp_t gfp) {
  p->flags = order > 0 ? PG_head : 0;
  p->order = static_cast<uint8_t>(order);
  p->_refcount.store(1, std::memory_order_relaxed);
  p->private_ = 0;
  PrepPcpTails(p, order);  // already so for a block from a pcp list
  if (gfp & __GFP_ZERO) __builtin_memset(PageAddress(p), 0, kPageSize << order);
}

// ---------------------------------------------------------------------------
// Free
// ---------------------------------------------------------------------------

page* BuddyAllocator::VirtToPage(const void* addr) const {
  if (!VirtAddrValid(addr)) return nullptr;
  return mem_map_ + ((reinterpret_cast<uintptr_t>(addr) - virt_base_) >> kPageShift);
}

const char* BuddyAllocator::CheckFreeRequest(const page* p, unsigned order, char* buf,
                                             size_t size) const {
  if (order > kMaxPageOrder) return "order above MAX_PAGE_ORDER";
  if (p->flags & PG_tail) return "freeing a tail page";
  if (p->flags & PG_reserved) return "freeing a reserved page";
  if ((p->flags & (PG_buddy | PG_pcp)) || p->_refcount.load(std::memory_order_relaxed) <= 0) {
    return "double free: page already free (_refcount underflow)";
  }
  if (order != p->order || (order > 0) != ((p->flags & PG_head) != 0)) {
    Format(buf, size, "freeing with the wrong order: freed as order %u, allocated as order %u",
           order, p->order);
    return buf;
  }
  return nullptr;
}

const char* BuddyAllocator::CheckFreeBlock(const page* p, unsigned order) const {
  if (p->_mapcount.load(std::memory_order_relaxed) != 0) return "nonzero mapcount";
  if (p->mapping != nullptr) return "non-NULL mapping";
  if (p->flags & kFlagsCheckAtFree) return "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
  for (uint64_t i = 1; i < (uint64_t{1} << order); ++i) {
    const page* t = p + i;
    if (t->_refcount.load(std::memory_order_relaxed) != 0) return "nonzero _refcount on a tail page";
    if (t->_mapcount.load(std::memory_order_relaxed) != 0) return "nonzero mapcount on a tail page";
    if (!(t->flags & PG_tail) || t->compound_head != p) return "corrupted compound tail page";
  }
  return nullptr;
}

// The order-0 free fast path. Three compares decide whether the page may go
// straight to the cpu's list: IsPage (range and alignment at once) and the two
// of the fused state check (kFreeFastMask), which also yields the list's
// migratetype. Every
// bad free (not one of our pages, a tail or head page, a page already free on a
// pcp or buddy list, a reserved or slab/lru/locked page, a refcount other than
// one, a mapped page or one with a mapping, a corrupt free_mt) fails one of them
// and tail-calls the general path, which checks again and reports, before
// anything has been written. So does an unknown cpu or a busy pcp lock.
void BuddyAllocator::FreePcpFast(page* p) {
  const uintptr_t off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(mem_map_);
  if (__builtin_expect(std::rotr(off, 6) >= nr_pages_, 0)) return FreePagesGeneral(p, 0);
  const uint64_t mt = std::rotl(PageHeadWord(p), 8) & kFreeFastMask;
  if (__builtin_expect(mt >= kNrMigrateTypes, 0)) return FreePagesGeneral(p, 0);
  const uint64_t in_use = (PageRefWord(p) ^ 1) | reinterpret_cast<uintptr_t>(p->mapping);
  if (__builtin_expect(in_use != 0, 0)) return FreePagesGeneral(p, 0);
  const unsigned cpu = PeekCpuId();
  if (__builtin_expect(cpu >= kMaxCpus, 0)) return FreePagesGeneral(p, 0);
  PerCpuPages* pcp = pcp_of_cpu_[cpu][p->node * kMaxNrZones + p->zone];
  if (__builtin_expect(!pcp->lock.TryLockOnce(), 0)) return FreePagesGeneral(p, 0);
  // put_page_testzero: a count of 1 is ours alone, so the last put is a store.
  PageSetRefWord(p, 0);  // _refcount 0, _mapcount 0 (checked)
  p->flags = PG_pcp;
  PushFrontUnpacked(const_cast<ListNode*>(pcp->lists[0][mt].end()), &p->lru);
  pcp->pgfree += 1;
  // count reached high (headroom >= 1 before, so == 0 is the only way there).
  if (__builtin_expect(--pcp->headroom == 0, 0)) return DrainPcpAndUnlock(*pcp, p);
  pcp->lock.Unlock();
}

// FreePcpFast for a compound block of order 1..kPcpMaxOrder. The head must be
// in the plain allocated state of that order (the masked head word is PG_head,
// `order` and a valid free_mt; one reference, unmapped, no mapping) and every
// tail page exactly as prepared (flags PG_tail alone, pointing at the head, no
// reference, no mapcount): three ORs per tail, one branch. Anything else, an
// unknown cpu or a busy lock tail-calls the general path before anything is
// written, which checks again and reports. The block goes to the list of its
// cached free_mt (as order 0) with its tail pages as they are.
void BuddyAllocator::FreePcpFastHigh(page* p, unsigned order) {
  const uintptr_t off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(mem_map_);
  if (__builtin_expect(std::rotr(off, 6) >= nr_pages_, 0)) return FreePagesGeneral(p, order);
  const uint64_t mt = (std::rotl(PageHeadWord(p), 8) & kFreeFastMask) ^
                      (uint64_t{PG_head} << 8 | uint64_t{order} << 40);
  if (__builtin_expect(mt >= kNrMigrateTypes, 0)) return FreePagesGeneral(p, order);
  const uint64_t in_use = (PageRefWord(p) ^ 1) | reinterpret_cast<uintptr_t>(p->mapping);
  if (__builtin_expect(in_use != 0, 0)) return FreePagesGeneral(p, order);
  const int pages = 1 << order;
  uint64_t bad = 0;
  for (int i = 1; i < pages; ++i) {
    const page* t = p + i;
    bad |= __atomic_load_n(reinterpret_cast<const PageWord*>(&t->_refcount), __ATOMIC_RELAXED) |
           (reinterpret_cast<uintptr_t>(t->compound_head) ^ reinterpret_cast<uintptr_t>(p)) |
           (t->flags.get() ^ PG_tail);
  }
  if (__builtin_expect(bad != 0, 0)) return FreePagesGeneral(p, order);
  const unsigned cpu = PeekCpuId();
  if (__builtin_expect(cpu >= kMaxCpus, 0)) return FreePagesGeneral(p, order);
  PerCpuPages* pcp = pcp_of_cpu_[cpu][p->node * kMaxNrZones + p->zone];
  if (__builtin_expect(!pcp->lock.TryLockOnce(), 0)) return FreePagesGeneral(p, order);
  PageSetRefWord(p, 0);  // _refcount 0, _mapcount 0 (checked)
  p->flags = PG_pcp;  // order and free_mt stay: the list's
  PushFrontUnpacked(const_cast<ListNode*>(pcp->lists[order][mt].end()), &p->lru);
  pcp->pgfree += static_cast<uint64_t>(pages);
  pcp->headroom -= pages;
  if (__builtin_expect(pcp->headroom <= 0, 0)) return DrainPcpAndUnlock(*pcp, p);
  pcp->lock.Unlock();
}

// A slot reached high: a drain of PcpFreeCount pages, starting with the list
// just freed to (the one `freed` is on: its order and free_mt name it), then
// remembers the event counts (PcpFreeCount's burst test).
__attribute__((noinline)) void BuddyAllocator::DrainPcpAndUnlock(PerCpuPages& pcp,
                                                                 const page* freed) {
  FreePcpBulk(*pcp.zone, pcp, PcpFreeCount(pcp), freed->order * kNrMigrateTypes + freed->free_mt);
  pcp.pgalloc_at_drain = pcp.pgalloc;
  pcp.pgfree_at_drain = pcp.pgfree;
  pcp.lock.Unlock();
}

__attribute__((noinline)) void BuddyAllocator::FreePagesGeneral(page* p, unsigned order) {
  if (p == nullptr) return;
  if (!IsPage(p)) {
    Printk("BUG: Bad page pointer %p freed (order %u): not a struct page of this machine\n",
           static_cast<void*>(p), order);
    return;
  }
  char buf[128];
  if (const char* reason = CheckFreeRequest(p, order, buf, sizeof buf)) {
    BadPage(p, reason);
    return;
  }
  // put_page_testzero. A count of 1 is ours alone: nobody else can take a new
  // reference without holding one, so the last put needs no atomic RMW.
  if (p->_refcount.load(std::memory_order_acquire) == 1) {
    p->_refcount.store(0, std::memory_order_relaxed);
  } else if (p->_refcount.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;  // still referenced
  }
  FreeBlock(p, order);
}

void BuddyAllocator::FreeBlock(page* p, unsigned order) {
  if (const char* reason = CheckFreeBlock(p, order)) {
    p->_refcount.store(1, std::memory_order_relaxed);  // the block stays with its owner
    BadPage(p, reason);
    return;
  }
  p->flags = 0;
  Zone& zone = ZoneOf(p);
  const Pfn pfn = PageToPfn(p);
  const MigrateType mt = PageblockMigrateType(zone, pfn);
  if (order <= kPcpMaxOrder && pcp_enabled_.load(std::memory_order_relaxed)) {
    PrepPcpTails(p, order);  // checked to be tails of p; now exactly PG_tail
    FreeToPcp(zone, CpuSlot(), p, order, mt);
    return;
  }
  ClearTails(p, order);
  ZoneLockGuard guard(*this, zone);
  FreeOneBlock(zone, p, pfn, order, mt);
  zone.pgfree += uint64_t{1} << order;
}

void BuddyAllocator::FreePagesByAddress(uintptr_t addr, unsigned order) {
  if (addr == 0) return;
  if (!VirtAddrValid(reinterpret_cast<void*>(addr)) || !IsAligned(addr, kPageSize)) {
    Printk("BUG: Bad page address %#lx freed (order %u): %s [%#lx-%#lx)\n",
           static_cast<unsigned long>(addr), order,
           IsAligned(addr, kPageSize) ? "outside RAM" : "not page aligned in RAM",
           static_cast<unsigned long>(virt_base_),
           static_cast<unsigned long>(virt_base_ + (nr_pages_ << kPageShift)));
    return;
  }
  FreePages(VirtToPage(reinterpret_cast<void*>(addr)), order);
}

void BuddyAllocator::GetPage(page* p) {
  if (p->flags & PG_tail) p = p->compound_head;
  MM_CHECK(p->_refcount.load(std::memory_order_relaxed) > 0);
  p->_refcount.fetch_add(1, std::memory_order_relaxed);
}

void BuddyAllocator::PutPage(page* p) {
  if (p->flags & PG_tail) p = p->compound_head;
  FreePages(p, p->order);
}

void BuddyAllocator::FreeToPcp(Zone& zone, int slot, page* p, unsigned order, MigrateType mt) {
  PerCpuPages& pcp = zone.pcp[slot];
  pcp.lock.Lock();
  p->flags = PG_pcp;
  p->order = static_cast<uint8_t>(order);
  p->free_mt = mt;
  pcp.lists[order][mt].PushFront(&p->lru);
  pcp.headroom -= 1 << order;
  pcp.pgfree += uint64_t{1} << order;
  if (pcp.headroom <= 0) return DrainPcpAndUnlock(pcp, p);  // count reached high
  pcp.lock.Unlock();
}

// free_pcppages_bulk: returns at least `pages` pages (or all the slot holds),
// coldest (list tail) first, a list at a time: first list `pindex` (the one
// just freed to, which is the one growing), then the next lists in turn, as
// Linux does. (Taking one block from every list in turn, as this did before,
// also returned the blocks of the lists allocations were draining, which
// then had to be refilled from the zone at once.) A page goes to the buddy
// list of its pageblock's current type (not its pcp list's).
__attribute__((noinline)) void BuddyAllocator::FreePcpBulk(Zone& zone, PerCpuPages& pcp,
                                                           int pages, unsigned pindex) {
  pcp.lock.AssertHeld();
  ZoneLockGuard guard(*this, zone);
  int freed = 0;
  while (freed < pages && pcp.count() > 0) {  // some list is not empty: the walk ends
    List& list = PcpList(pcp, pindex);
    const unsigned o = pindex / kNrMigrateTypes;
    while (freed < pages) {
      ListNode* n = list.PopBack();
      if (n == nullptr) break;
      page* p = Entry(n);
      p->flags = 0;
      ClearTails(p, o);
      const Pfn pfn = PageToPfn(p);
      FreeOneBlock(zone, p, pfn, o, PageblockMigrateType(zone, pfn));
      pcp.headroom += 1 << o;
      freed += 1 << o;
    }
    pindex = pindex + 1 == kNrPcpLists ? 0 : pindex + 1;
  }
}

void BuddyAllocator::DrainZonePcp(Zone& zone, PerCpuPages& pcp) {
  pcp.lock.AssertHeld();
  FreePcpBulk(zone, pcp, pcp.count(), 0);
}

// With false, high drops to 1 (every free drains at once, as Linux's
// zone_pcp_disable with high 0) and the alloc gates close; the lists are drained.
void BuddyAllocator::SetPcpEnabled(bool enabled) {
  pcp_enabled_.store(enabled, std::memory_order_relaxed);
  ForEachZone([&](unsigned, Zone& zone) {
    UpdatePcpHighAndBatch(zone);  // off: high 1, so every list is drained
    ZoneLockGuard guard(*this, zone);  // opens or closes the alloc gate
  });
}

void BuddyAllocator::DrainAllPages() {
  ForEachZone([&](unsigned, Zone& zone) {
    for (unsigned c = 0; c < nr_cpus_; ++c) {
      PcpLockGuard guard(zone.pcp[c].lock);
      DrainZonePcp(zone, zone.pcp[c]);
    }
  });
}

// __free_one_page: merge with the buddy (pfn ^ (1 << order)) while it is free
// at the same order and in the same zone, all the way up.
void BuddyAllocator::FreeOneBlock(Zone& zone, page* p, Pfn pfn, unsigned order, MigrateType mt) {
  zone.lock.AssertHeld();
  while (order < kMaxPageOrder) {
    const Pfn buddy_pfn = pfn ^ (Pfn{1} << order);
    if (!zone.Spans(buddy_pfn)) break;
    page* buddy = p + (static_cast<int64_t>(buddy_pfn) - static_cast<int64_t>(pfn));
    if (!(buddy->flags & PG_buddy) || buddy->order != order) break;
    DelFromFreeArea(zone, buddy, order);
    const Pfn combined = pfn & buddy_pfn;
    p += static_cast<int64_t>(combined) - static_cast<int64_t>(pfn);
    pfn = combined;
    ++order;
  }
  if (order >= kPageblockOrder) {
    // A merged block of whole pageblocks is of one type: the freed page's.
    for (Pfn b = pfn; b < pfn + (uint64_t{1} << order); b += kPageblockNrPages) {
      zone.pageblock_mt[(b - zone.start_pfn) >> kPageblockOrder] = mt;
    }
  }
  AddToFreeArea(zone, p, order, mt);
}

// ---------------------------------------------------------------------------
// Counters, reports, invariants
// ---------------------------------------------------------------------------

uint64_t BuddyAllocator::NrFreeBuddyPages() const {
  uint64_t n = 0;
  ForEachZone([&](unsigned, const Zone& zone) { n += zone.nr_free.get(); });
  return n;
}

uint64_t BuddyAllocator::NrFreePages() const {
  uint64_t n = NrFreeBuddyPages();
  ForEachZone([&](unsigned, const Zone& zone) {
    for (unsigned c = 0; c < nr_cpus_; ++c) {
      PcpLockGuard guard(zone.pcp[c].lock);
      n += static_cast<uint64_t>(zone.pcp[c].count());
    }
  });
  return n;
}

uint64_t BuddyAllocator::TotalReservePages() const {
  uint64_t total = 0;
  ForEachZone([&](unsigned, const Zone& zone) {
    uint64_t max = 0;
    for (uint64_t r : zone.lowmem_reserve) max = r > max ? r : max;
    uint64_t reserve = max + zone.watermark[WMARK_HIGH];
    total += reserve < zone.managed_pages ? reserve : zone.managed_pages;
  });
  return total;
}

uint64_t BuddyAllocator::SumLowWatermarks() const {
  uint64_t total = 0;
  ForEachZone([&](unsigned, const Zone& zone) { total += zone.watermark[WMARK_LOW]; });
  return total;
}

void BuddyAllocator::BadPage(const page* p, const char* reason) {
  char names[256];
  TextBuffer flags(names, sizeof names);
  for (int i = 0; i < kNrPageFlags; ++i) {
    if (p->flags & (1u << i)) {
      if (flags.length() != 0) flags.PutChar('|');
      flags.Put(kPageFlagNames[i]);
    }
  }
  const Pfn pfn = PageToPfn(p);
  Printk(
      "BUG: Bad page state in process %s  pfn:%05llx\n"
      "page:%p refcount:%d mapcount:%d mapping:%p index:%#llx pfn:%#llx order:%u\n"
      "flags: %#x(%s)\n"
      "page dumped because: %s\n",
      comm_hook_ != nullptr ? comm_hook_() : "swapper", static_cast<unsigned long long>(pfn),
      static_cast<const void*>(p), p->_refcount.load(std::memory_order_relaxed),
      p->_mapcount.load(std::memory_order_relaxed),
      (p->flags & PG_tail) ? nullptr : p->mapping,
      static_cast<unsigned long long>((p->flags & PG_tail) ? 0 : p->index),
      static_cast<unsigned long long>(pfn), p->order, p->flags.get(), names, reason);
}

bool BuddyAllocator::CheckInvariants() {
  auto fail = [](const char* what, Pfn pfn) {
    Printk("buddy: invariant violated at pfn %#llx: %s\n", static_cast<unsigned long long>(pfn),
           what);
    return false;
  };
  bool all_ok = true;
  ForEachZone([&](unsigned nid, Zone& zone) {
    if (!all_ok) return;
    for (unsigned c = 0; c < nr_cpus_; ++c) zone.pcp[c].lock.Lock();
    zone.lock.Lock();
    bool ok = true;
    // Free lists: counts, flags, alignment, placement.
    uint64_t free_pages = 0;
    for (unsigned o = 0; o <= kMaxPageOrder && ok; ++o) {
      FreeArea& area = zone.free_area[o];
      uint64_t blocks = 0;
      for (unsigned mt = 0; mt < kNrMigrateTypes && ok; ++mt) {
        if (!area.lists[mt].LinksConsistent()) ok = fail("free list links broken", 0);
        uint64_t n = 0;
        for (const ListNode* x = area.lists[mt].first(); ok && x != nullptr && x != area.lists[mt].end();
             x = x->next) {
          const page* p = Entry(const_cast<ListNode*>(x));
          const Pfn pfn = PageToPfn(p);
          if (!(p->flags & PG_buddy) || p->order != o || p->free_mt != mt) {
            ok = fail("free-list page without PG_buddy at its order/type", pfn);
          } else if (!IsAligned(pfn, uint64_t{1} << o) || !zone.Spans(pfn) ||
                     !zone.Spans(pfn + (uint64_t{1} << o) - 1)) {
            ok = fail("free block misaligned or outside its zone", pfn);
          } else if (p->_refcount.load(std::memory_order_relaxed) != 0) {
            ok = fail("free block with nonzero refcount", pfn);
          } else if (o < kMaxPageOrder) {
            const Pfn b = pfn ^ (Pfn{1} << o);
            if (zone.Spans(b)) {
              const page* bp = PfnToPage(b);
              if ((bp->flags & PG_buddy) && bp->order == o) ok = fail("unmerged free buddies", pfn);
            }
          }
          ++n;
        }
        if (ok && n != area.nr_free_mt[mt].get()) ok = fail("nr_free per migratetype mismatch", 0);
        blocks += n;
        free_pages += n << o;
      }
      if (ok && blocks != area.nr_free.get()) ok = fail("nr_free mismatch", 0);
    }
    if (ok && free_pages != zone.nr_free.get()) ok = fail("zone nr_free mismatch", zone.start_pfn);
    // Per-cpu lists.
    for (unsigned c = 0; c < nr_cpus_ && ok; ++c) {
      PerCpuPages& pcp = zone.pcp[c];
      int64_t count = 0;
      for (unsigned o = 0; o <= kPcpMaxOrder && ok; ++o) {
        for (unsigned mt = 0; mt < kNrMigrateTypes && ok; ++mt) {
          if (!pcp.lists[o][mt].LinksConsistent()) ok = fail("pcp list links broken", zone.start_pfn);
          for (const ListNode* x = pcp.lists[o][mt].first(); ok && x != nullptr && x != pcp.lists[o][mt].end();
               x = x->next) {
            const page* p = Entry(const_cast<ListNode*>(x));
            if (!(p->flags & PG_pcp) || p->order != o || p->free_mt != mt ||
                p->_refcount.load(std::memory_order_relaxed) != 0 || !zone.Spans(PageToPfn(p))) {
              ok = fail("pcp page without PG_pcp at its order/type", PageToPfn(p));
            }
            count += int64_t{1} << o;
          }
        }
      }
      if (ok && count != pcp.count()) ok = fail("pcp count (high - headroom) mismatch", zone.start_pfn);
      if (ok && (pcp.headroom < 1 || pcp.headroom > pcp.high)) {
        ok = fail("pcp count not in [0, high)", zone.start_pfn);
      }
      if (ok && pcp.zone != &zone) ok = fail("pcp not pointing at its zone", zone.start_pfn);
    }
    // The alloc gates: open exactly when pcp lists are on and the zone is above
    // low (for orders up to kPcpMaxOrder: above low by 2^kPcpMaxOrder - 1 more,
    // with a free block of order >= kPcpMaxOrder), and then each cpu of the
    // node sees its slot's pcp there.
    const GateState g = ComputeGates(zone, pcp_enabled_.load(std::memory_order_relaxed));
    if (ok && (zone.alloc_gate_open != g.open || zone.high_order_gate_open != g.high_order_open)) {
      ok = fail("alloc gate out of date", zone.start_pfn);
    }
    for (unsigned cpu = 0; cpu < kMaxCpus && ok; ++cpu) {
      const int slot = slot_of_cpu_[cpu];
      if (pcp_of_cpu_[cpu][nid * kMaxNrZones + zone.type] != &zone.pcp[slot]) {
        ok = fail("pcp_of_cpu_ entry wrong", zone.start_pfn);
      } else if (NodeOfSlot(slot) == static_cast<int>(nid) &&
                 (alloc_gate_[cpu][GateIndex(zone.type)].load(std::memory_order_relaxed) !=
                      (g.open ? &zone.pcp[slot] : nullptr) ||
                  high_order_gate_[cpu][GateIndex(zone.type)].load(std::memory_order_relaxed) !=
                      (g.high_order_open ? &zone.pcp[slot] : nullptr))) {
        ok = fail("alloc gate entry wrong", zone.start_pfn);
      }
    }
    // Every struct page of the zone: free blocks, allocated blocks, reserved.
    for (Pfn pfn = zone.start_pfn; ok && pfn < zone.end_pfn();) {
      const page* p = PfnToPage(pfn);
      if (p->node != nid || p->zone != zone.type) {
        ok = fail("page with wrong node/zone", pfn);
        break;
      }
      uint64_t span = 1;
      if (p->flags & (PG_buddy | PG_pcp | PG_head)) span = uint64_t{1} << p->order;
      if (p->flags & PG_tail) {
        ok = fail("tail page without a head", pfn);
        break;
      }
      for (uint64_t i = 1; i < span && ok; ++i) {
        const page* t = p + i;
        if (p->flags & PG_head) {
          if (!(t->flags & PG_tail) || t->compound_head != p) ok = fail("bad tail page", pfn + i);
        } else if (p->flags & PG_pcp) {
          if (t->flags != PG_tail || t->compound_head != p ||
              t->_refcount.load(std::memory_order_relaxed) != 0 ||
              t->_mapcount.load(std::memory_order_relaxed) != 0) {
            ok = fail("per-cpu block's tail page not prepared", pfn + i);
          }
        } else if (t->flags != 0 || t->_refcount.load(std::memory_order_relaxed) != 0) {
          ok = fail("page inside a free block is in use", pfn + i);
        }
      }
      pfn += span;
    }
    zone.lock.Unlock();
    for (unsigned c = 0; c < nr_cpus_; ++c) zone.pcp[c].lock.Unlock();
    if (!ok) all_ok = false;
  });
  return all_ok;
}

}  // namespace mm
