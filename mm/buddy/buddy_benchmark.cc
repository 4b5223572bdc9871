// //bench:buddy — the page allocator's hot paths (run with -c opt).
//   BM_Order0Pair/pcp:1   alloc+free of one page through the per-cpu lists
//   BM_Order0Pair/pcp:0   the same straight from the zone free lists (zone lock)
//   BM_OrderPair/N        alloc+free of an order-N block, N = 0..10
//   BM_Order0Pair threads:2  two threads on one allocator (separate cpu slots)
#include <benchmark/benchmark.h>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"

namespace mm {
namespace {

BuddyAllocator* SharedBuddy() {
  static BuddyAllocator* buddy = [] {
    RamRange ram;
    if (!platform::AcquireRam(uint64_t{256} << 20, &ram)) return static_cast<BuddyAllocator*>(nullptr);
    Memblock mb(ram);
    BuddyAllocator* b = mb.New<BuddyAllocator>();
    BuddyConfig config;
    config.nr_cpus = 2;
    return b->Init(mb, config) == 0 ? b : nullptr;
  }();
  return buddy;
}

void BM_Order0Pair(benchmark::State& state) {
  BuddyAllocator* b = SharedBuddy();
  if (state.thread_index() == 0) b->SetPcpEnabled(state.range(0) != 0);
  for (auto _ : state) {
    page* p = b->AllocPages(GFP_KERNEL, 0);
    benchmark::DoNotOptimize(p);
    b->FreePages(p, 0);
  }
  if (state.thread_index() == 0) b->SetPcpEnabled(true);
}
BENCHMARK(BM_Order0Pair)->ArgName("pcp")->Arg(1)->Arg(0);
BENCHMARK(BM_Order0Pair)->ArgName("pcp")->Arg(1)->Threads(2)->UseRealTime();

void BM_OrderPair(benchmark::State& state) {
  BuddyAllocator* b = SharedBuddy();
  const unsigned order = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    page* p = b->AllocPages(GFP_KERNEL, order);
    benchmark::DoNotOptimize(p);
    b->FreePages(p, order);
  }
}
BENCHMARK(BM_OrderPair)->DenseRange(0, 10);

// A batch of 64 order-0 pages held, then freed: exercises refill and drain.
void BM_Order0Batch64(benchmark::State& state) {
  BuddyAllocator* b = SharedBuddy();
  page* pages[64];
  for (auto _ : state) {
    for (auto& p : pages) p = b->AllocPages(GFP_KERNEL, 0);
    for (auto* p : pages) b->FreePages(p, 0);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_Order0Batch64);

}  // namespace
}  // namespace mm

BENCHMARK_MAIN();
