// SLUB, SLAB and SLOB side by side in one process (-c opt):
//   bazel run -c opt //bench:slab_compare -- --benchmark_min_time=0.5
// First prints the footprint tables (--footprint_only: only those): each
// allocator's fixed cost of a new cache; N = 10 .. 100000 live objects of 8 ..
// 3000 bytes (a kmem_cache of that size, and kmalloc), the pages each allocator
// took from the buddy allocator for them (measured on a freshly booted machine:
// free pages before minus after, so per-cpu caches, free slabs kept, headers,
// rounding, metadata and the cache descriptor all count) divided by the bytes
// live; random kmalloc sizes; many caches with few objects each. Then the speed
// benchmarks of the SLUB issue for all three:
//   Hot64:    kmem_cache_alloc + kmem_cache_free of a 64-byte object (1 thread,
//             and 2 threads at once on the same cache).
//   Batch1000: 1000 allocations of 64 bytes, then 1000 frees (time per pair).
//   ProdCons: two threads; one allocates 64-byte objects and hands them over an
//             SPSC ring to the other, which frees them (remote frees); per object.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <memory>
#include <thread>
#include <vector>

#include "bench/spsc_ring.h"
#include "benchmark/benchmark.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"

namespace {

using bench::Ring;
using mm::AllocatorKind;

constexpr AllocatorKind kKinds[] = {AllocatorKind::kSlub, AllocatorKind::kSlab, AllocatorKind::kSlob};

// One booted machine: buddy + slab layer over its own RAM.
struct Machine {
  mm::RamRange ram;
  mm::BuddyAllocator* buddy = nullptr;
  mm::SlabSystem* slab = nullptr;

  Machine(AllocatorKind kind, uint64_t bytes) {
    if (!mm::platform::AcquireRam(bytes, &ram)) abort();
    mm::Memblock mb(ram);
    buddy = mb.New<mm::BuddyAllocator>();
    slab = mb.New<mm::SlabSystem>();
    mm::BuddyConfig cfg;
    cfg.nr_cpus = 2;
    if (buddy->Init(mb, cfg) != 0) abort();
    mm::SlabConfig scfg;
    scfg.kind = kind;
    scfg.nr_cpus = 2;
    if (slab->Init(*buddy, scfg) != 0) abort();
  }
  ~Machine() {
    slab->Shutdown();
    mm::platform::ReleaseRam(ram);
  }
};

// ---- Footprint ----
//
// Every cell boots a fresh machine, notes the buddy allocator's free pages, does
// its allocations and takes the difference: slab pages, partial slabs, per-cpu
// slabs and arrays, shared and alien arrays, SLAB's off-slab index arrays and
// metadata pages, SLOB's headers, the new caches' descriptors (each allocator
// places them in its own boot cache) -- everything each allocator takes for the
// objects, including its fixed cost per cache.

// RAM for a machine holding n objects of `size` bytes (and room to spare).
uint64_t RamFor(unsigned size, unsigned n) {
  const uint64_t per = size <= 2048 ? 2 * uint64_t{size} + 16 : 2 * uint64_t{mm::kPageSize};
  return (uint64_t{96} << 20) + n * per;
}

// A cache's fixed cost: pages per kmem_cache_create(size), averaged over
// kCreates caches (the descriptor is a slot of a boot-cache slab or block, so
// one creation takes a whole new block or nothing), and the pages the first
// object of one new cache takes (per-cpu slab or array, a slab, SLOB: room in
// the heap).
constexpr unsigned kCreates = 60;
void CacheFixedCost(AllocatorKind kind, unsigned size, double* create, uint64_t* first) {
  Machine m(kind, uint64_t{96} << 20);
  uint64_t before = m.buddy->NrFreePages();
  std::vector<mm::kmem_cache*> cs(kCreates);
  for (unsigned i = 0; i < kCreates; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "fixed-%u", i);
    cs[i] = m.slab->CreateCache(name, size, 0, 0, nullptr);
  }
  *create = static_cast<double>(before - m.buddy->NrFreePages()) / kCreates;
  before = m.buddy->NrFreePages();
  void* p = m.slab->Alloc(cs[0], mm::GFP_KERNEL);
  *first = before - m.buddy->NrFreePages();
  m.slab->Free(cs[0], p);
  for (mm::kmem_cache* s : cs) m.slab->DestroyCache(s);
}

// Bytes taken from the page allocator per byte live, for n objects of `size`.
double Footprint(AllocatorKind kind, unsigned size, unsigned n, bool cache) {
  Machine m(kind, RamFor(size, n));
  // The cache is created first: its creation cost is the fixed-cost table's.
  mm::kmem_cache* s = cache ? m.slab->CreateCache("footprint", size, 0, 0, nullptr) : nullptr;
  const uint64_t before = m.buddy->NrFreePages();
  std::vector<void*> v(n);
  for (unsigned i = 0; i < n; ++i) {
    v[i] = cache ? m.slab->Alloc(s, mm::GFP_KERNEL) : m.slab->Kmalloc(size, mm::GFP_KERNEL);
    if (v[i] == nullptr) abort();
  }
  const uint64_t held = (before - m.buddy->NrFreePages()) * mm::kPageSize;
  for (void* p : v) m.slab->Kfree(p);
  if (s != nullptr) m.slab->DestroyCache(s);
  return static_cast<double>(held) / (static_cast<double>(n) * size);
}

// The same for n kmalloc objects of sizes drawn uniformly from [1, max_size]
// (fixed seed): requests that do not sit on a size class.
double FootprintRandom(AllocatorKind kind, unsigned max_size, unsigned n) {
  Machine m(kind, uint64_t{192} << 20);
  const uint64_t before = m.buddy->NrFreePages();
  std::vector<void*> v(n);
  uint64_t live = 0;
  uint64_t x = 88172645463325252ull;  // xorshift64
  for (unsigned i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const unsigned size = 1 + static_cast<unsigned>(x % max_size);
    live += size;
    v[i] = m.slab->Kmalloc(size, mm::GFP_KERNEL);
    if (v[i] == nullptr) abort();
  }
  const uint64_t held = (before - m.buddy->NrFreePages()) * mm::kPageSize;
  for (void* p : v) m.slab->Kfree(p);
  return static_cast<double>(held) / static_cast<double>(live);
}

// Many caches with few objects each (a kernel's long tail of small caches):
// `caches` caches of struct-like sizes, `per` objects in each, allocated round
// robin. Bytes held / bytes live, the caches' descriptors included.
double FootprintManyCaches(AllocatorKind kind, unsigned caches, unsigned per) {
  static constexpr unsigned kSizes[] = {16, 24, 40, 56, 72, 104, 136, 200, 264, 328};
  Machine m(kind, uint64_t{192} << 20);
  const uint64_t before = m.buddy->NrFreePages();
  std::vector<mm::kmem_cache*> cs(caches);
  uint64_t live = 0;
  for (unsigned c = 0; c < caches; ++c) {
    char name[32];
    std::snprintf(name, sizeof name, "many-%u", c);
    cs[c] = m.slab->CreateCache(name, kSizes[c % 10], 0, 0, nullptr);
    if (cs[c] == nullptr) abort();
  }
  std::vector<std::pair<mm::kmem_cache*, void*>> v;
  for (unsigned i = 0; i < per; ++i) {
    for (unsigned c = 0; c < caches; ++c) {
      void* p = m.slab->Alloc(cs[c], mm::GFP_KERNEL);
      if (p == nullptr) abort();
      v.emplace_back(cs[c], p);
      live += kSizes[c % 10];
    }
  }
  const uint64_t held = (before - m.buddy->NrFreePages()) * mm::kPageSize;
  for (auto& [c, p] : v) m.slab->Free(c, p);
  for (mm::kmem_cache* c : cs) m.slab->DestroyCache(c);
  return static_cast<double>(held) / static_cast<double>(live);
}

void PrintFootprint() {
  const unsigned sizes[] = {8, 32, 96, 192, 512, 1000, 3000};
  std::printf("\nFixed cost per cache: pages per kmem_cache_create(size) (mean of %u) / pages taken "
              "by its first object\n", kCreates);
  std::printf("%-6s", "alloc");
  for (unsigned size : sizes) std::printf(" %9u", size);
  std::printf("\n");
  for (AllocatorKind kind : kKinds) {
    std::printf("%-6s", mm::AllocatorKindName(kind));
    for (unsigned size : sizes) {
      double create = 0;
      uint64_t first = 0;
      CacheFixedCost(kind, size, &create, &first);
      std::printf(" %5.2f/%-3llu", create, static_cast<unsigned long long>(first));
    }
    std::printf("\n");
  }
  for (bool cache : {true, false}) {
    for (unsigned n : {10u, 100u, 1000u, 100000u}) {
      std::printf("\nFootprint: bytes held / bytes live, N=%u live objects via %s\n", n,
                  cache ? "kmem_cache_create(size)+kmem_cache_alloc" : "kmalloc(size)");
      std::printf("%-6s", "alloc");
      for (unsigned size : sizes) std::printf(" %8u", size);
      std::printf("\n");
      for (AllocatorKind kind : kKinds) {
        std::printf("%-6s", mm::AllocatorKindName(kind));
        for (unsigned size : sizes) std::printf(" %8.3f", Footprint(kind, size, n, cache));
        std::printf("\n");
        std::fflush(stdout);
      }
    }
  }
  std::printf("\nFootprint: bytes held / bytes live, N=10000 kmalloc objects of random sizes\n");
  std::printf("%-6s %8s %8s %8s\n", "alloc", "1..64", "1..256", "1..1024");
  for (AllocatorKind kind : kKinds) {
    std::printf("%-6s", mm::AllocatorKindName(kind));
    for (unsigned max : {64u, 256u, 1024u}) std::printf(" %8.3f", FootprintRandom(kind, max, 10000));
    std::printf("\n");
  }
  std::printf("\nFootprint: bytes held / bytes live, many caches (sizes 16..328) with few objects each\n");
  std::printf("%-6s %10s %10s %10s %10s\n", "alloc", "50x4", "50x16", "200x4", "200x16");
  for (AllocatorKind kind : kKinds) {
    std::printf("%-6s", mm::AllocatorKindName(kind));
    for (auto [c, per] : {std::pair{50u, 4u}, std::pair{50u, 16u}, std::pair{200u, 4u}, std::pair{200u, 16u}}) {
      std::printf(" %10.3f", FootprintManyCaches(kind, c, per));
    }
    std::printf("\n");
  }
  std::printf("\n");
  std::fflush(stdout);
}

// ---- Speed ----

struct Machines {
  std::unique_ptr<Machine> m[3];
  mm::kmem_cache* c64[3] = {};
  Machines() {
    for (int i = 0; i < 3; ++i) {
      m[i] = std::make_unique<Machine>(kKinds[i], uint64_t{128} << 20);
      c64[i] = m[i]->slab->CreateCache("bench64", 64, 0, 0, nullptr);
    }
    mm::platform::SetCpuDeadCallback([](unsigned cpu) {
      for (auto& mm_ : Get().m) mm_->slab->OnCpuDead(cpu);
    });
  }
  static Machines& Get() {
    static Machines* ms = new Machines();
    return *ms;
  }
};

template <int K>
void BM_Hot64(benchmark::State& state) {
  Machines& ms = Machines::Get();
  mm::SlabSystem& sys = *ms.m[K]->slab;
  mm::kmem_cache* s = ms.c64[K];
  for (auto _ : state) {
    void* p = sys.Alloc(s, mm::GFP_KERNEL);
    benchmark::DoNotOptimize(p);
    sys.Free(s, p);
  }
  state.SetItemsProcessed(state.iterations());
}
// Threads(2): both threads run hot pairs on the same cache at once (SLOB's one
// lock serialises them; SLUB and SLAB each work on their own cpu's structures).
BENCHMARK(BM_Hot64<0>)->Name("BM_Hot64/slub")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Hot64<1>)->Name("BM_Hot64/slab")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Hot64<2>)->Name("BM_Hot64/slob")->Threads(1)->Threads(2)->UseRealTime();

constexpr int kBatch = 1000;

template <int K>
void BM_Batch1000(benchmark::State& state) {
  Machines& ms = Machines::Get();
  mm::SlabSystem& sys = *ms.m[K]->slab;
  mm::kmem_cache* s = ms.c64[K];
  std::vector<void*> v(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) v[i] = sys.Alloc(s, mm::GFP_KERNEL);
    benchmark::DoNotOptimize(v.data());
    for (int i = 0; i < kBatch; ++i) sys.Free(s, v[i]);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Batch1000<0>)->Name("BM_Batch1000/slub");
BENCHMARK(BM_Batch1000<1>)->Name("BM_Batch1000/slab");
BENCHMARK(BM_Batch1000<2>)->Name("BM_Batch1000/slob");

constexpr int kTransfer = 200000;

template <int K>
void BM_ProdCons(benchmark::State& state) {
  Machines& ms = Machines::Get();
  mm::SlabSystem& sys = *ms.m[K]->slab;
  mm::kmem_cache* s = ms.c64[K];
  for (auto _ : state) {
    auto ring = std::make_unique<Ring>();
    std::thread consumer([&] {
      for (int i = 0; i < kTransfer; ++i) sys.Free(s, ring->Pop());
    });
    for (int i = 0; i < kTransfer; ++i) {
      void* p = sys.Alloc(s, mm::GFP_KERNEL);
      *static_cast<uint64_t*>(p) = i;
      ring->Push(p);
    }
    consumer.join();
  }
  state.SetItemsProcessed(state.iterations() * kTransfer);
}
BENCHMARK(BM_ProdCons<0>)->Name("BM_ProdCons/slub")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProdCons<1>)->Name("BM_ProdCons/slab")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProdCons<2>)->Name("BM_ProdCons/slob")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  bool footprint_only = false;
  for (int i = 1; i < argc; ++i) footprint_only |= std::strcmp(argv[i], "--footprint_only") == 0;
  PrintFootprint();
  if (footprint_only) return 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
