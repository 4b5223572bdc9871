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

// Four threads share one cpu slot (so the fast paths' pcp trylock fails now
// and then and the general path takes over) while another thread drains every
// list, switches the per-cpu lists off and on (closing and opening the alloc
// gates, dropping high to 1) and reads the views that fold per-cpu counts.
TEST(BuddyStressTest, SharedSlotWithDrainsTogglesAndViews) {
  TestBuddy b(32 << 20, {.nr_cpus = 1});
  ASSERT_EQ(b.init_result(), 0);
  const uint64_t free0 = b->NrFreePages();
  std::atomic<bool> stop{false};
  std::atomic<bool> corrupt{false};
  std::atomic<uint64_t> pairs{0};
  auto worker = [&](int seed) {
    std::vector<page*> held;
    std::mt19937 rng(seed);
    for (int i = 0; i < 30000; ++i) {
      if (held.size() < 32 && rng() % 2 == 0) {
        page* p = b->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (p == nullptr) continue;
        *static_cast<int*>(b->PageAddress(p)) = seed;
        held.push_back(p);
      } else if (!held.empty()) {
        page* p = held.back();
        held.pop_back();
        if (*static_cast<int*>(b->PageAddress(p)) != seed) corrupt = true;
        b->FreePages(p, 0);
        pairs.fetch_add(1, std::memory_order_relaxed);
      }
    }
    for (page* p : held) b->FreePages(p, 0);
  };
  std::thread admin([&] {
    static char buf[1 << 16];
    for (int i = 0; !stop.load(); ++i) {
      TextBuffer out(buf, sizeof buf);
      switch (i % 4) {
        case 0: b->DrainAllPages(); break;
        case 1: b->SetPcpEnabled(false); break;
        case 2: b->SetPcpEnabled(true); break;
        case 3: b->ShowZoneinfo(out); b->ShowVmstat(out); (void)b->NrFreePages(); break;
      }
    }
    b->SetPcpEnabled(true);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t + 1);
  for (auto& t : threads) t.join();
  stop = true;
  admin.join();
  EXPECT_FALSE(corrupt.load());
  EXPECT_GT(pairs.load(), 0u);
  EXPECT_TRUE(b->CheckInvariants());
  EXPECT_EQ(b->NrFreePages(), free0);
}

}  // namespace
}  // namespace mm
