#include "mm/buddy/buddy_allocator.h"

#include <climits>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"

namespace mm {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(BuddyInitTest, ManagesAllRamButItsMetadata) {
  TestBuddy b(64 * kMiB, {.nr_nodes = 1, .nr_cpus = 2});
  ASSERT_EQ(b.init_result(), 0);
  const uint64_t pages = 64 * kMiB / kPageSize;
  // mem_map is 64 bytes per page: 1/64 of RAM, plus a little.
  EXPECT_LT(b->TotalRamPages(), pages);
  EXPECT_GT(b->TotalRamPages(), pages - pages / 64 - 16);
  EXPECT_EQ(b->NrFreePages(), b->TotalRamPages());
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyInitTest, RejectsConfigurationsThatDoNotFit) {
  LogCapture log;
  TestBuddy too_many_nodes(16 * kMiB, {.nr_nodes = 8, .nr_cpus = 1});
  EXPECT_EQ(too_many_nodes.init_result(), -22);
  EXPECT_TRUE(log.Contains("numa=8"));
  TestBuddy dma_too_big(16 * kMiB, {.nr_nodes = 1, .nr_cpus = 1, .dma_bytes = 32 * kMiB});
  EXPECT_EQ(dma_too_big.init_result(), -22);
  EXPECT_TRUE(log.Contains("zones=dma"));
}

TEST(BuddyAllocTest, BlocksAreNaturallyAlignedAndDisjoint) {
  TestBuddy b(64 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  const uint64_t free0 = b->NrFreePages();
  std::vector<std::pair<page*, unsigned>> blocks;
  std::set<Pfn> seen;
  for (unsigned order = 0; order <= kMaxPageOrder; ++order) {
    for (int i = 0; i < 3; ++i) {
      page* p = b->AllocPages(GFP_KERNEL, order);
      ASSERT_NE(p, nullptr) << order;
      const Pfn pfn = b->PageToPfn(p);
      EXPECT_EQ(pfn % (1u << order), 0u);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(b->PageAddress(p)) % (kPageSize << order), 0u);
      EXPECT_EQ(p->_refcount.load(), 1);
      for (Pfn k = pfn; k < pfn + (1u << order); ++k) EXPECT_TRUE(seen.insert(k).second);
      std::memset(b->PageAddress(p), 0xab, kPageSize << order);
      blocks.push_back({p, order});
    }
  }
  EXPECT_TRUE(b->CheckInvariants());
  for (auto [p, order] : blocks) b->FreePages(p, order);
  EXPECT_TRUE(b->CheckInvariants());
  EXPECT_EQ(b->NrFreePages(), free0);
  b->DrainAllPages();
  EXPECT_EQ(b->NrFreeBuddyPages(), free0);
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyAllocTest, FreeingCoalescesBackToMaxOrderBlocks) {
  TestBuddy b(16 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  b->DrainAllPages();
  const std::string before = b.View<&BuddyAllocator::ShowBuddyinfo>();
  std::vector<page*> pages;
  while (page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0)) pages.push_back(p);
  EXPECT_GT(pages.size(), 3000u);
  for (page* p : pages) b->FreePages(p, 0);
  b->DrainAllPages();
  EXPECT_EQ(b.View<&BuddyAllocator::ShowBuddyinfo>(), before);
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyAllocTest, GfpZeroZeroesAndOrderAboveMaxWarns) {
  TestBuddy b(16 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  page* p = b->AllocPages(GFP_KERNEL, 2);
  std::memset(b->PageAddress(p), 0x5a, 4 * kPageSize);
  b->FreePages(p, 2);
  page* z = b->AllocPages(GFP_KERNEL | __GFP_ZERO, 2);
  const auto* bytes = static_cast<const unsigned char*>(b->PageAddress(z));
  for (size_t i = 0; i < 4 * kPageSize; ++i) ASSERT_EQ(bytes[i], 0) << i;
  b->FreePages(z, 2);

  LogCapture log;
  EXPECT_EQ(b->AllocPages(GFP_KERNEL, kMaxPageOrder + 1), nullptr);
  EXPECT_TRUE(log.Contains("order 11 > MAX_PAGE_ORDER"));
  log.Clear();
  EXPECT_EQ(b->AllocPages(GFP_KERNEL | __GFP_NOWARN, kMaxPageOrder + 1), nullptr);
  EXPECT_EQ(log.text(), "");
}

TEST(BuddyRefcountTest, GetPagePutPage) {
  TestBuddy b(16 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  const uint64_t free0 = b->NrFreePages();
  page* p = b->AllocPages(GFP_KERNEL, 1);
  b->GetPage(p);
  b->GetPage(p + 1);  // a tail reference counts on the head
  EXPECT_EQ(p->_refcount.load(), 3);
  b->PutPage(p + 1);
  b->FreePages(p, 1);  // __free_pages drops one reference
  EXPECT_EQ(b->NrFreePages(), free0 - 2);
  b->PutPage(p);  // the last reference frees the block
  EXPECT_EQ(b->NrFreePages(), free0);
  EXPECT_TRUE(b->CheckInvariants());
}

// ---- Bad input: each case is reported and changes nothing ----

class BuddyBadInputTest : public ::testing::Test {
 protected:
  BuddyBadInputTest() : b_(16 * kMiB, {.nr_cpus = 1}) {}
  void SetUp() override { ASSERT_EQ(b_.init_result(), 0); }
  void ExpectUnchanged(uint64_t free_before) {
    EXPECT_EQ(b_->NrFreePages(), free_before);
    EXPECT_TRUE(b_->CheckInvariants());
  }
  TestBuddy b_;
  LogCapture log_;
};

TEST_F(BuddyBadInputTest, DoubleFree) {
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  page* keep = b_->AllocPages(GFP_KERNEL, 0);
  b_->FreePages(p, 0);
  const uint64_t free0 = b_->NrFreePages();
  b_->FreePages(p, 0);
  EXPECT_TRUE(log_.Contains("BUG: Bad page state in process"));
  EXPECT_TRUE(log_.Contains("page dumped because: double free"));
  EXPECT_TRUE(log_.Contains("flags: 0x20000(pcp)"));
  ExpectUnchanged(free0);
  // The same after the page reached the buddy lists.
  b_->DrainAllPages();
  log_.Clear();
  b_->FreePages(p, 0);
  EXPECT_TRUE(log_.Contains("double free"));
  EXPECT_TRUE(log_.Contains("(buddy)"));
  ExpectUnchanged(free0);
  b_->FreePages(keep, 0);
}

TEST_F(BuddyBadInputTest, TailPageAndWrongOrder) {
  page* p = b_->AllocPages(GFP_KERNEL, 3);
  const uint64_t free0 = b_->NrFreePages();
  b_->FreePages(p + 2, 3);
  EXPECT_TRUE(log_.Contains("page dumped because: freeing a tail page"));
  char pfn[32];
  snprintf(pfn, sizeof pfn, "pfn:%05llx", static_cast<unsigned long long>(b_->PageToPfn(p + 2)));
  EXPECT_TRUE(log_.Contains(pfn)) << log_.text();
  ExpectUnchanged(free0);
  log_.Clear();
  b_->FreePages(p, 2);
  EXPECT_TRUE(log_.Contains("freeing with the wrong order: freed as order 2, allocated as order 3"));
  EXPECT_TRUE(log_.Contains("order:3"));
  ExpectUnchanged(free0);
  log_.Clear();
  b_->FreePages(p, 3);
  EXPECT_EQ(log_.text(), "");
  EXPECT_EQ(b_->NrFreePages(), free0 + 8);
}

TEST_F(BuddyBadInputTest, StillReferencedTailOrMappedPage) {
  page* p = b_->AllocPages(GFP_KERNEL, 2);
  p[1]._refcount.store(1);  // someone took a reference on a tail directly
  const uint64_t free0 = b_->NrFreePages();
  b_->FreePages(p, 2);
  EXPECT_TRUE(log_.Contains("nonzero _refcount on a tail page"));
  EXPECT_EQ(p->_refcount.load(), 1);  // the block stays with its owner
  ExpectUnchanged(free0);
  p[1]._refcount.store(0);
  log_.Clear();
  p->_mapcount.store(1);
  b_->FreePages(p, 2);
  EXPECT_TRUE(log_.Contains("nonzero mapcount"));
  ExpectUnchanged(free0);
  p->_mapcount.store(0);
  b_->FreePages(p, 2);
  EXPECT_EQ(b_->NrFreePages(), free0 + 4);
}

TEST_F(BuddyBadInputTest, PointersAndAddressesOutsideRam) {
  const uint64_t free0 = b_->NrFreePages();
  page outside{};
  b_->FreePages(&outside, 0);
  EXPECT_TRUE(log_.Contains("not a struct page of this machine"));
  log_.Clear();
  auto misaligned = reinterpret_cast<page*>(reinterpret_cast<char*>(b_->mem_map()) + 8);
  b_->FreePages(misaligned, 0);
  EXPECT_TRUE(log_.Contains("not a struct page"));
  log_.Clear();
  static char not_ram[4096 * 2];
  b_->FreePagesByAddress(reinterpret_cast<uintptr_t>(not_ram) & ~uintptr_t{4095}, 0);
  EXPECT_TRUE(log_.Contains("outside RAM"));
  log_.Clear();
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  b_->FreePagesByAddress(reinterpret_cast<uintptr_t>(b_->PageAddress(p)) + 8, 0);
  EXPECT_TRUE(log_.Contains("not page aligned"));
  EXPECT_EQ(b_->PfnToPage(b_->start_pfn() + b_->nr_pages()), nullptr);
  EXPECT_EQ(b_->VirtToPage(not_ram), nullptr);
  b_->FreePagesByAddress(reinterpret_cast<uintptr_t>(b_->PageAddress(p)), 0);
  ExpectUnchanged(free0);
}

TEST_F(BuddyBadInputTest, ReservedPageAndOrderAboveMax) {
  const uint64_t free0 = b_->NrFreePages();
  b_->FreePages(b_->mem_map(), 0);  // the first page holds mem_map itself
  EXPECT_TRUE(log_.Contains("freeing a reserved page"));
  log_.Clear();
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  b_->FreePages(p, 11);
  EXPECT_TRUE(log_.Contains("order above MAX_PAGE_ORDER"));
  b_->FreePages(p, 0);
  ExpectUnchanged(free0);
}

// Every bad order-0 free goes through the fast path first (FreePages(p, 0)):
// each must be reported by the general path, and leave the page's descriptor,
// the free counts, the views and the invariants exactly as they were.
class BuddyBadOrder0FreeTest : public ::testing::Test {
 protected:
  BuddyBadOrder0FreeTest() : b_(16 * kMiB, {.nr_cpus = 1}) {}
  void SetUp() override { ASSERT_EQ(b_.init_result(), 0); }

  struct State {
    uint64_t free_pages;
    std::string buddyinfo, vmstat;
    unsigned char desc[sizeof(page)];
  };
  State Snapshot(const page* p) {
    State s;
    s.free_pages = b_->NrFreePages();
    s.buddyinfo = b_.View<&BuddyAllocator::ShowBuddyinfo>();
    s.vmstat = b_.View<&BuddyAllocator::ShowVmstat>();
    std::memcpy(s.desc, static_cast<const void*>(p), sizeof(page));
    return s;
  }
  // Frees p as `order`, expects the report `reason` and no change at all.
  void ExpectRejected(page* p, unsigned order, const std::string& reason) {
    const State before = Snapshot(p);
    log_.Clear();
    b_->FreePages(p, order);
    EXPECT_TRUE(log_.Contains("BUG: Bad page state in process")) << reason << "\n" << log_.text();
    EXPECT_TRUE(log_.Contains("page dumped because: " + reason)) << log_.text();
    const State after = Snapshot(p);
    EXPECT_EQ(after.free_pages, before.free_pages) << reason;
    EXPECT_EQ(after.buddyinfo, before.buddyinfo) << reason;
    EXPECT_EQ(after.vmstat, before.vmstat) << reason;
    EXPECT_EQ(std::memcmp(after.desc, before.desc, sizeof(page)), 0) << reason;
    EXPECT_TRUE(b_->CheckInvariants()) << reason;
  }

  TestBuddy b_;
  LogCapture log_;
};

TEST_F(BuddyBadOrder0FreeTest, EachKindIsReportedAndChangesNothing) {
  page* keep = b_->AllocPages(GFP_KERNEL, 0);  // keeps the pcp list non-empty below
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);

  p->_mapcount.store(1);
  ExpectRejected(p, 0, "nonzero mapcount");
  p->_mapcount.store(0);

  int mapping_target = 0;
  // A real pointer, and tagged values like Linux's PAGE_MAPPING_ANON (low bits).
  for (void* mapping : {static_cast<void*>(&mapping_target), reinterpret_cast<void*>(1),
                        reinterpret_cast<void*>(2)}) {
    p->mapping = mapping;
    ExpectRejected(p, 0, "non-NULL mapping");
  }
  p->mapping = nullptr;

  for (uint32_t flag : {PG_slab, PG_lru, PG_locked, PG_active, PG_writeback, PG_swapcache,
                        PG_unevictable, PG_mlocked}) {
    p->flags |= flag;
    ExpectRejected(p, 0, "PAGE_FLAGS_CHECK_AT_FREE flag(s) set");
    p->flags &= ~flag;
  }
  p->flags |= PG_reserved;
  ExpectRejected(p, 0, "freeing a reserved page");
  p->flags &= ~PG_reserved;

  ExpectRejected(p, 1, "freeing with the wrong order: freed as order 1, allocated as order 0");

  for (int32_t refs : {0, -1, INT32_MIN}) {  // references dropped behind the allocator's back
    p->_refcount.store(refs);
    ExpectRejected(p, 0, "double free: page already free (_refcount underflow)");
  }
  p->_refcount.store(1);

  // Compound pages: a tail page, or the head freed as order 0.
  page* c = b_->AllocPages(GFP_KERNEL, 1);
  ASSERT_NE(c, nullptr);
  ExpectRejected(c + 1, 0, "freeing a tail page");
  ExpectRejected(c, 0, "freeing with the wrong order: freed as order 0, allocated as order 1");
  b_->FreePages(c, 1);

  // The real free, then the same page again: first on the pcp list, then on a buddy list.
  log_.Clear();
  b_->FreePages(p, 0);
  EXPECT_EQ(log_.text(), "");
  ExpectRejected(p, 0, "double free: page already free (_refcount underflow)");
  b_->DrainAllPages();
  ExpectRejected(p, 0, "double free: page already free (_refcount underflow)");
  b_->FreePages(keep, 0);
  EXPECT_TRUE(b_->CheckInvariants());
}

TEST_F(BuddyBadOrder0FreeTest, ForeignPointersAreReportedAndChangeNothing) {
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  const State before = Snapshot(p);
  page outside{};
  outside._refcount.store(1);  // would pass every state check
  b_->FreePages(&outside, 0);
  EXPECT_TRUE(log_.Contains("not a struct page of this machine"));
  log_.Clear();
  b_->FreePages(b_->mem_map() + b_->nr_pages(), 0);  // one past the end
  EXPECT_TRUE(log_.Contains("not a struct page of this machine"));
  log_.Clear();
  b_->FreePages(b_->mem_map() - 1, 0);  // one before the start
  EXPECT_TRUE(log_.Contains("not a struct page of this machine"));
  log_.Clear();
  b_->FreePages(reinterpret_cast<page*>(reinterpret_cast<char*>(p) + 16), 0);  // inside a struct page
  EXPECT_TRUE(log_.Contains("not a struct page of this machine"));
  const State after = Snapshot(p);
  EXPECT_EQ(after.free_pages, before.free_pages);
  EXPECT_EQ(after.buddyinfo, before.buddyinfo);
  EXPECT_EQ(after.vmstat, before.vmstat);
  EXPECT_EQ(std::memcmp(after.desc, before.desc, sizeof(page)), 0);
  EXPECT_TRUE(b_->CheckInvariants());
  b_->FreePages(p, 0);
  EXPECT_EQ(b_->NrFreePages(), before.free_pages + 1);
}

TEST_F(BuddyBadOrder0FreeTest, ExtraReferenceOnlyDropsOne) {
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  b_->GetPage(p);
  const uint64_t free0 = b_->NrFreePages();
  b_->FreePages(p, 0);
  EXPECT_EQ(p->_refcount.load(), 1);
  EXPECT_EQ(b_->NrFreePages(), free0);
  b_->FreePages(p, 0);
  EXPECT_EQ(b_->NrFreePages(), free0 + 1);
  EXPECT_EQ(log_.text(), "");
}

// free_mt is the allocator's own byte; if it is ever corrupt, the fast path
// must not index a list with it: the general path frees the page by its
// pageblock's type and repairs the byte.
TEST_F(BuddyBadOrder0FreeTest, CorruptCachedMigratetypeIsNotUsed) {
  page* p = b_->AllocPages(GFP_KERNEL, 0);
  const uint64_t free0 = b_->NrFreePages();
  for (uint8_t bad : {uint8_t{3}, uint8_t{4}, uint8_t{0x80}, uint8_t{0xff}}) {
    p->free_mt = bad;
    b_->FreePages(p, 0);
    EXPECT_EQ(b_->NrFreePages(), free0 + 1);
    EXPECT_LT(p->free_mt, kNrMigrateTypes);
    EXPECT_TRUE(b_->CheckInvariants());
    page* q = b_->AllocPages(GFP_KERNEL, 0);
    EXPECT_EQ(q, p);  // LIFO per-cpu list
    p = q;
  }
  b_->FreePages(p, 0);
  EXPECT_EQ(log_.text(), "");
}

// ---- Zones, nodes, watermarks ----

TEST(BuddyZoneTest, DmaRequestsNeverGoToNormalAndNormalFallsBackToDma) {
  TestBuddy b(64 * kMiB, {.nr_cpus = 1, .dma_bytes = 8 * kMiB});
  ASSERT_EQ(b.init_result(), 0);
  const Zone& dma = b->node(0).zones[ZONE_DMA];
  ASSERT_TRUE(dma.populated);
  std::vector<page*> dma_pages;
  while (page* p = b->AllocPages(GFP_DMA | GFP_KERNEL | __GFP_NOWARN, 0)) {
    ASSERT_EQ(p->zone, ZONE_DMA);
    dma_pages.push_back(p);
  }
  // DMA stops at its own min watermark, never borrowing from Normal.
  EXPECT_GT(dma_pages.size(), 1500u);
  for (page* p : dma_pages) b->FreePages(p, 0);
  std::vector<page*> normal;
  bool reached_dma = false;
  while (page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0)) {
    reached_dma |= p->zone == ZONE_DMA;
    normal.push_back(p);
  }
  EXPECT_TRUE(reached_dma);
  // lowmem_reserve keeps part of DMA back from Normal requests.
  EXPECT_GT(dma.nr_free.get(), dma.lowmem_reserve[ZONE_NORMAL] / 2);
  for (page* p : normal) b->FreePages(p, 0);
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyZoneTest, NodeLocalFirstThenOtherNodesUnlessThisNode) {
  TestBuddy b(64 * kMiB, {.nr_nodes = 2, .nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  page* p = b->AllocPages(GFP_KERNEL, 0, 1);
  EXPECT_EQ(p->node, 1);
  b->FreePages(p, 0);
  std::vector<page*> on1;
  while (page* q = b->AllocPages(GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0, 1)) {
    ASSERT_EQ(q->node, 1);
    on1.push_back(q);
  }
  page* spill = b->AllocPages(GFP_KERNEL, 0, 1);
  ASSERT_NE(spill, nullptr);
  EXPECT_EQ(spill->node, 0);
  b->FreePages(spill, 0);
  for (page* q : on1) b->FreePages(q, 0);
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyWatermarkTest, LinuxFormulaAndAtomicReserve) {
  TestBuddy b(64 * kMiB, {.nr_cpus = 1, .min_free_kbytes = 1024});
  ASSERT_EQ(b.init_result(), 0);
  const Zone& z = b->node(0).zones[ZONE_NORMAL];
  EXPECT_EQ(z.watermark[WMARK_MIN], 256u);  // 1024 kB = 256 pages, one zone
  const uint64_t step = std::max<uint64_t>(256 / 4, z.managed_pages * 10 / 10000);
  EXPECT_EQ(z.watermark[WMARK_LOW], 256 + step);
  EXPECT_EQ(z.watermark[WMARK_HIGH], 256 + 2 * step);

  std::vector<page*> pages;
  while (page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0)) pages.push_back(p);
  b->DrainAllPages();
  const uint64_t free_at_min = z.nr_free.get();
  EXPECT_LE(free_at_min, 257u);
  EXPECT_GE(free_at_min, 200u);
  // GFP_ATOMIC may go below min (to min/2 - min/8), GFP_NOWAIT may not.
  EXPECT_EQ(b->AllocPages(GFP_NOWAIT | __GFP_NOWARN, 0), nullptr);
  int atomic = 0;
  while (page* p = b->AllocPages(GFP_ATOMIC | __GFP_NOWARN, 0)) {
    pages.push_back(p);
    ++atomic;
  }
  EXPECT_GT(atomic, 64);
  b->DrainAllPages();
  EXPECT_GE(z.nr_free.get(), 256u / 2 - 256u / 8 - 1);
  for (page* p : pages) b->FreePages(p, 0);
}

struct HookLog {
  int kswapd = 0;
  int direct = 0;
  std::vector<page*>* stash = nullptr;
  BuddyAllocator* b = nullptr;
};

TEST(BuddyWatermarkTest, ReclaimHooksAreCalledBelowLowAndMin) {
  TestBuddy b(32 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  std::vector<page*> pages;
  HookLog hl{0, 0, &pages, &*b};
  ReclaimHooks hooks;
  hooks.context = &hl;
  hooks.wake_kswapd = [](void* c, int, unsigned) { ++static_cast<HookLog*>(c)->kswapd; };
  hooks.direct_reclaim = [](void* c, gfp_t, unsigned, int) -> uint64_t {
    auto* h = static_cast<HookLog*>(c);
    ++h->direct;
    // "Reclaim" 64 pages the test holds.
    uint64_t n = 0;
    while (n < 64 && !h->stash->empty()) {
      h->b->FreePages(h->stash->back(), 0);
      h->stash->pop_back();
      ++n;
    }
    return n;
  };
  b->SetReclaimHooks(hooks);
  while (page* p = b->AllocPages(GFP_NOWAIT | __GFP_NOWARN, 0)) pages.push_back(p);
  EXPECT_GT(hl.kswapd, 0);
  EXPECT_EQ(hl.direct, 0);  // GFP_NOWAIT may not reclaim directly
  const size_t held = pages.size();
  page* p = b->AllocPages(GFP_KERNEL, 0);
  EXPECT_NE(p, nullptr);
  EXPECT_GT(hl.direct, 0);
  EXPECT_LT(pages.size(), held);
  b->FreePages(p, 0);
  for (page* q : pages) b->FreePages(q, 0);
}

// The order-0 fast path's alloc gate closes with the low watermark: with pages
// on the cpu's list but the zone at or below low, an allocation still takes
// the slow path (wakes kswapd), and opens again when the watermark drops.
TEST(BuddyWatermarkTest, FastPathStopsAtTheLowWatermark) {
  TestBuddy b(16 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  int kswapd = 0;
  ReclaimHooks hooks;
  hooks.context = &kswapd;
  hooks.wake_kswapd = [](void* c, int, unsigned) { ++*static_cast<int*>(c); };
  b->SetReclaimHooks(hooks);
  b->FreePages(b->AllocPages(GFP_KERNEL, 0), 0);  // the cpu's list now holds pages
  const uint64_t kbytes = b->min_free_kbytes();
  b->SetMinFreeKbytes(b->TotalRamPages() * 8);  // every watermark above all RAM
  EXPECT_TRUE(b->CheckInvariants());
  page* p = b->AllocPages(GFP_NOWAIT | __GFP_NOWARN, 0);
  EXPECT_EQ(p, nullptr);  // below min, and GFP_NOWAIT cannot reclaim
  EXPECT_GT(kswapd, 0);
  b->SetMinFreeKbytes(kbytes);
  EXPECT_TRUE(b->CheckInvariants());
  kswapd = 0;
  p = b->AllocPages(GFP_NOWAIT | __GFP_NOWARN, 0);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(kswapd, 0);
  b->FreePages(p, 0);
  EXPECT_TRUE(b->CheckInvariants());
}

TEST(BuddyWatermarkTest, FailureWarnsUnlessNowarn) {
  TestBuddy b(16 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  std::vector<page*> pages;
  while (page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0)) pages.push_back(p);
  LogCapture log;
  EXPECT_EQ(b->AllocPages(GFP_KERNEL, 0), nullptr);
  EXPECT_TRUE(log.Contains("page allocation failure: order:0, mode:0xcc0"));
  EXPECT_TRUE(log.Contains("Node 0 Normal free:"));
  for (page* p : pages) b->FreePages(p, 0);
}

// ---- Migratetypes ----

TEST(BuddyMigrateTest, FallbackStealsWholePageblocks) {
  TestBuddy b(32 * kMiB, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  // All pageblocks start MOVABLE; an unmovable allocation steals the largest
  // free block, a MAX_ORDER block of two pageblocks, which change type.
  page* u = b->AllocPages(GFP_KERNEL, 0);
  const Zone& z = b->node(0).zones[ZONE_NORMAL];
  const uint64_t pb = (b->PageToPfn(u) - z.start_pfn) >> kPageblockOrder;
  EXPECT_EQ(z.pageblock_mt[pb], MIGRATE_UNMOVABLE);
  const std::string info = b.View<&BuddyAllocator::ShowPagetypeinfo>();
  EXPECT_NE(info.find("Node 0, zone   Normal            2           14            0 \n"), std::string::npos) << info;
  // Movable allocations then come from movable pageblocks.
  page* m = b->AllocPages(GFP_HIGHUSER_MOVABLE, 0);
  EXPECT_EQ(z.pageblock_mt[(b->PageToPfn(m) - z.start_pfn) >> kPageblockOrder], MIGRATE_MOVABLE);
  b->FreePages(u, 0);
  b->FreePages(m, 0);
  EXPECT_TRUE(b->CheckInvariants());
}

}  // namespace
}  // namespace mm
