// Multi-thread stress: threads allocate, touch and free pages of mixed orders,
// pass blocks to each other (remote frees), and exit (cpu slots recycled).
// Run under --config=tsan and --config=asan.
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"

namespace mm {
namespace {

TEST(BuddyStressTest, ThreadsAllocateFreeAndHandOff) {
  TestBuddy b(64 << 20, {.nr_nodes = 2, .nr_cpus = 4});
  ASSERT_EQ(b.init_result(), 0);
  const uint64_t free0 = b->NrFreePages();
  std::mutex handoff_mu;
  std::vector<std::pair<page*, unsigned>> handoff;
  std::atomic<bool> corrupt{false};
  auto worker = [&](int seed) {
    std::mt19937 rng(seed);
    std::vector<std::pair<page*, unsigned>> mine;
    for (int i = 0; i < 20000; ++i) {
      const unsigned r = rng() % 100;
      if (r < 50 || mine.empty()) {
        const unsigned order = rng() % 8 == 0 ? rng() % 6 : 0;
        page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, order);
        if (p == nullptr) continue;
        std::memset(b->PageAddress(p), seed & 0xff, 64);
        mine.push_back({p, order});
      } else {
        auto [p, order] = mine.back();
        mine.pop_back();
        if (static_cast<const unsigned char*>(b->PageAddress(p))[63] != (seed & 0xff)) corrupt = true;
        if (r < 70) {
          std::lock_guard<std::mutex> l(handoff_mu);
          handoff.push_back({p, order});
          continue;
        }
        b->FreePages(p, order);
      }
      if (i % 64 == 0) {
        std::lock_guard<std::mutex> l(handoff_mu);
        for (auto [p, order] : handoff) b->FreePages(p, order);  // remote frees
        handoff.clear();
      }
    }
    for (auto [p, order] : mine) b->FreePages(p, order);
  };
  for (int round = 0; round < 3; ++round) {  // threads come and go
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker, round * 10 + t + 1);
    for (auto& t : threads) t.join();
  }
  for (auto [p, order] : handoff) b->FreePages(p, order);
  EXPECT_FALSE(corrupt.load());
  EXPECT_TRUE(b->CheckInvariants());
  EXPECT_EQ(b->NrFreePages(), free0);
}

}  // namespace
}  // namespace mm
