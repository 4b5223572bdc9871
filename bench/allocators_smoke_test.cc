// Smoke test of //bench:allocators: every workload runs (tiny sizes) on every
// allocator, libmm's counters return to their boot values, and the driver
// writes its summary, JSON and chart. No timing is checked.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/allocators_driver.h"
#include "bench/allocators_harness.h"
#include "bench/allocators_workloads.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

// Every workload once, small.
template <typename Api>
void RunAllWorkloads(Api& api) {
  for (size_t size : {16, 64, 256, 1024, 4096}) {
    HotPair<Api> h(api, size);
    for (int i = 0; i < 100; ++i) h.Step();
  }
  for (bool fifo : {false, true}) {
    Batch<Api> b(api, fifo);
    for (int i = 0; i < 3; ++i) b.Step();
  }
  SlotReplace<Api> random(api, RandomSizes(), 2000, 1, false);
  random.Setup();
  for (int i = 0; i < 4000; ++i) random.Step();
  random.Teardown();
  SlotReplace<Api> large(api, LargeSizes(), 4, 2, true);
  large.Setup();
  for (int i = 0; i < 20; ++i) large.Step();
  large.Teardown();
  EXPECT_EQ(RunServerChurn(api, 500, 2000, 3), 4000u);
  EXPECT_EQ(RunProducerConsumer(api, 3000, 4), 3008u);  // whole blocks of 64
  EXPECT_EQ(RunFalseSharing(api, 500, 4), 1000u);
}

// The fixed-size workloads through a kmem_cache.
void RunCacheWorkloads() {
  for (unsigned size : {16u, 64u, 4096u}) {
    mm::kmem_cache* s = mm::kmem_cache_create("smoke", size, 0, 0, nullptr);
    ASSERT_NE(s, nullptr);
    CacheApi api{s};
    HotPair<CacheApi> h(api, size);
    for (int i = 0; i < 100; ++i) h.Step();
    Batch<CacheApi> b(api, true);
    for (int i = 0; i < 3; ++i) b.Step();
    mm::kmem_cache_destroy(s);
  }
}

// Every workload on every libmm allocator that boots, in a thread that exits
// (so its per-cpu caches are flushed); then no cache may report objects
// remaining at shutdown.
TEST(AllocatorsSmokeTest, LibmmFreesEveryObject) {
  int booted = 0;
  for (const char* slab : {"slub", "slab", "slob"}) {
    std::string why;
    if (!Libmm::Ensure(slab, &why)) {
      std::printf("libmm %s not available: %s\n", slab, why.c_str());
      continue;
    }
    ++booted;
    std::thread t([] {
      KmallocApi api;
      RunAllWorkloads(api);
      RunCacheWorkloads();
    });
    t.join();
    Libmm::Shutdown();
    std::string report;
    for (const std::string& line : Libmm::LeakReport()) report += line + "\n";
    EXPECT_FALSE(Libmm::LeakFound()) << slab << "\n" << report;
  }
  EXPECT_GE(booted, 1);  // SLUB at least
}

// Objects above 8 KiB bypass the slabs: the pages in use must come back exactly.
TEST(AllocatorsSmokeTest, LibmmLargeReturnsEveryPage) {
  for (const char* slab : {"slub", "slab", "slob"}) {
    if (!Libmm::Ensure(slab, nullptr)) continue;
    mm::drain_all_pages();
    const uint64_t before = Libmm::PagesInUse();
    std::thread t([] {
      KmallocApi api;
      SlotReplace<KmallocApi> large(api, LargeSizes(), 8, 5, true);
      large.Setup();
      for (int i = 0; i < 200; ++i) large.Step();
      large.Teardown();
    });
    t.join();
    mm::drain_all_pages();
    EXPECT_EQ(Libmm::PagesInUse(), before) << slab;
    Libmm::Shutdown();
  }
}

// SLUB keeps no metadata outside its slabs: pages outside the Slab line and
// the active objects of /proc/slabinfo return exactly to their boot values.
TEST(AllocatorsSmokeTest, SlubCountersReturnToBootValues) {
  ASSERT_TRUE(Libmm::Ensure("slub", nullptr));
  const int64_t pages = Libmm::NonSlabPages();
  const int64_t objects = Libmm::SlabActiveObjects();
  ASSERT_GT(pages, 0);
  ASSERT_GE(objects, 0);
  std::thread t([] {
    KmallocApi api;
    RunAllWorkloads(api);
    RunCacheWorkloads();
  });
  t.join();
  EXPECT_EQ(Libmm::NonSlabPages(), pages);
  EXPECT_EQ(Libmm::SlabActiveObjects(), objects);
  Libmm::Shutdown();
  EXPECT_FALSE(Libmm::LeakFound());
}

// The peers are not built with ThreadSanitizer (Debian's libraries, dlopen'ed
// or linked as they are), so TSan cannot see their internal synchronisation:
// memory freed on one thread and handed out again on another looks like a
// race, and jemalloc's fork handlers look like double locks in the child. Under
// --config=tsan the tests that run the peers are skipped; libmm's workloads
// above run under it in full.
#if defined(__SANITIZE_THREAD__)
constexpr bool kUninstrumentedPeers = true;
#else
constexpr bool kUninstrumentedPeers = false;
#endif

TEST(AllocatorsSmokeTest, PeersRunEveryWorkload) {
  if (kUninstrumentedPeers) GTEST_SKIP() << "peers are not TSan-instrumented";
  std::vector<std::string> notes;
  for (const Contender& c : AllContenders(&notes)) {
    if (c.is_libmm()) continue;
    PeerApi api{c.peer};
    RunAllWorkloads(api);
    uint64_t bytes = 0;
    EXPECT_TRUE(SystemBytes(c, &bytes)) << c.name << ": " << SystemBytesMethod(c);
  }
}

// The negative control: an object left allocated is reported.
TEST(AllocatorsSmokeTest, LeakCheckCatchesALeftoverObject) {
  Libmm::ResetLeakReport();
  ASSERT_TRUE(Libmm::Ensure("slub", nullptr));
  std::thread t([] { ASSERT_NE(mm::kmalloc(100, mm::GFP_KERNEL), nullptr); });
  t.join();
  Libmm::Shutdown();
  EXPECT_TRUE(Libmm::LeakFound());
  Libmm::ResetLeakReport();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(AllocatorsSmokeTest, DriverWritesSummaryJsonAndChart) {
  if (kUninstrumentedPeers) GTEST_SKIP() << "the driver runs the peers, not TSan-instrumented";
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string json = dir + "/allocators.json";
  const std::string summary = dir + "/summary.txt";
  const std::string png = dir + "/allocators.png";
  std::vector<std::string> args = {"allocators", "--smoke", "--benchmark_out=" + json,
                                   "--summary_out=" + summary, "--plot=" + png};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ASSERT_EQ(RunAllocatorsBenchmark(static_cast<int>(args.size()), argv.data()), 0);

  const std::string text = ReadFile(summary);
  for (const char* want :
       {"hot-16", "hot-4096", "batch-lifo", "batch-fifo", "random-1e4", "random-1e5", "churn",
        "prodcons", "falseshare", "large", "slub", "slub-cache", "glibc", "jemalloc", "mimalloc",
        "tcmalloc", "peak bytes from the system", "targets", "no leak"}) {
    EXPECT_NE(text.find(want), std::string::npos) << "summary lacks " << want << "\n" << text;
  }
  EXPECT_EQ(text.find("LEAK"), std::string::npos) << text;
  EXPECT_EQ(text.find("error"), std::string::npos) << text;

  const std::string j = ReadFile(json);
  EXPECT_NE(j.find("\"benchmarks\""), std::string::npos);
  EXPECT_NE(j.find("\"hot-64/slub\""), std::string::npos);
  EXPECT_NE(j.find("\"random-1e5/jemalloc\""), std::string::npos);
  EXPECT_NE(j.find("items_per_second"), std::string::npos);

  std::ifstream p(png, std::ios::binary);
  char magic[4] = {};
  p.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

}  // namespace
}  // namespace bench
