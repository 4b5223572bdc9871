// Randomized model-based test: a million operations against a reference model
// (a map of allocated blocks): no overlap, natural alignment, contents kept,
// and one fully coalesced free state after everything is freed.
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"

namespace mm {
namespace {

struct Block {
  page* p;
  unsigned order;
  uint32_t tag;
};

TEST(BuddyModelTest, MillionRandomOperationsAgainstAModel) {
  TestBuddy b(64 << 20, {.nr_nodes = 2, .nr_cpus = 2, .dma_bytes = 4 << 20});
  ASSERT_EQ(b.init_result(), 0);
  b->DrainAllPages();
  const std::string pristine = b.View<&BuddyAllocator::ShowBuddyinfo>();
  const uint64_t free0 = b->NrFreePages();

  std::mt19937_64 rng(12345);
  std::map<Pfn, Block> live;  // first pfn -> block
  std::vector<Pfn> keys;
  uint64_t live_pages = 0;
  const gfp_t kGfps[] = {GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE,
                         GFP_ATOMIC, GFP_DMA | GFP_KERNEL};
  constexpr int kOps = 1000000;
  for (int op = 0; op < kOps; ++op) {
    const bool alloc = keys.empty() || (rng() % 100) < (live_pages < 8000 ? 55u : 40u);
    if (alloc) {
      // Mostly small orders, as real workloads.
      unsigned order = static_cast<unsigned>(rng() % 100);
      order = order < 70 ? 0 : order < 85 ? 1 : order < 93 ? 2 : order < 97 ? 3 : 4 + rng() % 7;
      const gfp_t gfp = kGfps[rng() % 5] | __GFP_NOWARN;
      const int nid = static_cast<int>(rng() % 3) - 1;
      page* p = b->AllocPages(gfp, order, nid);
      if (p == nullptr) continue;
      const Pfn pfn = b->PageToPfn(p);
      ASSERT_EQ(pfn % (1u << order), 0u);
      if (gfp & __GFP_DMA) {
        ASSERT_EQ(p->zone, ZONE_DMA);
      }
      // No overlap with any live block.
      auto next = live.lower_bound(pfn);
      if (next != live.end()) {
        ASSERT_GE(next->first, pfn + (1u << order));
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + (1u << prev->second.order), pfn);
      }
      const uint32_t tag = static_cast<uint32_t>(rng());
      std::memcpy(b->PageAddress(p), &tag, sizeof tag);
      live[pfn] = {p, order, tag};
      keys.push_back(pfn);
      live_pages += 1u << order;
    } else {
      const size_t i = rng() % keys.size();
      const Pfn pfn = keys[i];
      keys[i] = keys.back();
      keys.pop_back();
      Block blk = live[pfn];
      live.erase(pfn);
      uint32_t tag;
      std::memcpy(&tag, b->PageAddress(blk.p), sizeof tag);
      ASSERT_EQ(tag, blk.tag) << "contents of a live block changed";
      b->FreePages(blk.p, blk.order);
      live_pages -= 1u << blk.order;
    }
    if (op % 50000 == 0) {
      ASSERT_TRUE(b->CheckInvariants()) << "after op " << op;
      ASSERT_EQ(b->NrFreePages() + live_pages, free0);
    }
  }
  for (auto& [pfn, blk] : live) b->FreePages(blk.p, blk.order);
  b->DrainAllPages();
  EXPECT_TRUE(b->CheckInvariants());
  EXPECT_EQ(b->NrFreePages(), free0);
  EXPECT_EQ(b.View<&BuddyAllocator::ShowBuddyinfo>(), pristine);
}

}  // namespace
}  // namespace mm
