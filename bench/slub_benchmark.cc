// SLUB beside the peer allocators, in one process (-c opt):
//   bazel run -c opt //bench:slub -- --benchmark_min_time=0.5
// Hot64:   kmem_cache_alloc + kmem_cache_free of a 64-byte object (peers: malloc(64)/free).
// Batch:   1000 allocations of 64 bytes, then 1000 frees (time per pair).
// ProdCons: two threads; one allocates 64-byte objects and hands them over a
//          single-producer/single-consumer ring to the other, which frees them
//          (remote frees). Time per object.
// libmm is called directly (its fast path inlines into the loop); the peers are
// called through function pointers (dlopen'ed), which costs them an indirect
// call each way.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "bench/peer_allocators.h"
#include "bench/spsc_ring.h"
#include "benchmark/benchmark.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"

namespace {

using bench::Peer;
using bench::PeerAllocator;
using bench::Ring;

// One libmm machine for the whole run: 256 MiB of RAM, buddy + slab.
struct Libmm {
  mm::BuddyAllocator* buddy = nullptr;
  mm::SlabSystem* slab = nullptr;
  mm::kmem_cache* c64 = nullptr;

  Libmm() {
    mm::RamRange ram;
    if (!mm::platform::AcquireRam(uint64_t{256} << 20, &ram)) abort();
    mm::Memblock mb(ram);
    buddy = mb.New<mm::BuddyAllocator>();
    slab = mb.New<mm::SlabSystem>();
    mm::BuddyConfig cfg;
    cfg.nr_cpus = 2;
    if (buddy->Init(mb, cfg) != 0) abort();
    mm::SlabConfig scfg;
    scfg.nr_cpus = 2;
    if (slab->Init(*buddy, scfg) != 0) abort();
    c64 = slab->CreateCache("bench64", 64, 0, 0, nullptr);
    mm::platform::SetCpuDeadCallback([](unsigned cpu) { Get().slab->OnCpuDead(cpu); });
  }
  static Libmm& Get() {
    static Libmm* m = new Libmm();
    return *m;
  }
};

// ---- Hot 64-byte pair ----

void BM_Hot64_libmm_slub(benchmark::State& state) {
  Libmm& m = Libmm::Get();
  mm::SlabSystem& sys = *m.slab;
  mm::kmem_cache* s = m.c64;
  for (auto _ : state) {
    void* p = sys.Alloc(s, mm::GFP_KERNEL);
    benchmark::DoNotOptimize(p);
    sys.Free(s, p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hot64_libmm_slub);

void BM_Hot64_libmm_kmalloc(benchmark::State& state) {
  mm::SlabSystem& sys = *Libmm::Get().slab;
  for (auto _ : state) {
    void* p = sys.Kmalloc(64, mm::GFP_KERNEL);
    benchmark::DoNotOptimize(p);
    sys.Kfree(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hot64_libmm_kmalloc);

void BM_Hot64_peer(benchmark::State& state, Peer peer) {
  const PeerAllocator* a = bench::GetPeer(peer);
  if (a == nullptr) return state.SkipWithError("peer not loadable");
  for (auto _ : state) {
    void* p = a->malloc(64);
    benchmark::DoNotOptimize(p);
    a->free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Hot64_peer, mimalloc, Peer::kMimalloc);
BENCHMARK_CAPTURE(BM_Hot64_peer, jemalloc, Peer::kJemalloc);
BENCHMARK_CAPTURE(BM_Hot64_peer, tcmalloc, Peer::kTcmalloc);
BENCHMARK_CAPTURE(BM_Hot64_peer, glibc, Peer::kGlibc);

// ---- Batch of 1000 then free ----

constexpr int kBatch = 1000;

void BM_Batch1000_libmm_slub(benchmark::State& state) {
  Libmm& m = Libmm::Get();
  std::vector<void*> v(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) v[i] = m.slab->Alloc(m.c64, mm::GFP_KERNEL);
    benchmark::DoNotOptimize(v.data());
    for (int i = 0; i < kBatch; ++i) m.slab->Free(m.c64, v[i]);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Batch1000_libmm_slub);

void BM_Batch1000_libmm_bulk(benchmark::State& state) {
  Libmm& m = Libmm::Get();
  std::vector<void*> v(kBatch);
  for (auto _ : state) {
    m.slab->AllocBulk(m.c64, mm::GFP_KERNEL, kBatch, v.data());
    benchmark::DoNotOptimize(v.data());
    m.slab->FreeBulk(m.c64, kBatch, v.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Batch1000_libmm_bulk);

void BM_Batch1000_peer(benchmark::State& state, Peer peer) {
  const PeerAllocator* a = bench::GetPeer(peer);
  if (a == nullptr) return state.SkipWithError("peer not loadable");
  std::vector<void*> v(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) v[i] = a->malloc(64);
    benchmark::DoNotOptimize(v.data());
    for (int i = 0; i < kBatch; ++i) a->free(v[i]);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK_CAPTURE(BM_Batch1000_peer, mimalloc, Peer::kMimalloc);
BENCHMARK_CAPTURE(BM_Batch1000_peer, jemalloc, Peer::kJemalloc);
BENCHMARK_CAPTURE(BM_Batch1000_peer, tcmalloc, Peer::kTcmalloc);
BENCHMARK_CAPTURE(BM_Batch1000_peer, glibc, Peer::kGlibc);

// ---- Two-thread producer/consumer ----

constexpr int kTransfer = 200000;

template <typename AllocF, typename FreeF>
void RunProducerConsumer(benchmark::State& state, AllocF alloc, FreeF free_fn) {
  for (auto _ : state) {
    auto ring = std::make_unique<Ring>();
    std::thread consumer([&] {
      for (int i = 0; i < kTransfer; ++i) free_fn(ring->Pop());
    });
    for (int i = 0; i < kTransfer; ++i) {
      void* p = alloc();
      *static_cast<uint64_t*>(p) = i;
      ring->Push(p);
    }
    consumer.join();
  }
  state.SetItemsProcessed(state.iterations() * kTransfer);
}

void BM_ProdCons_libmm_slub(benchmark::State& state) {
  Libmm& m = Libmm::Get();
  RunProducerConsumer(
      state, [&] { return m.slab->Alloc(m.c64, mm::GFP_KERNEL); },
      [&](void* p) { m.slab->Free(m.c64, p); });
}
BENCHMARK(BM_ProdCons_libmm_slub)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProdCons_peer(benchmark::State& state, Peer peer) {
  const PeerAllocator* a = bench::GetPeer(peer);
  if (a == nullptr) return state.SkipWithError("peer not loadable");
  RunProducerConsumer(
      state, [&] { return a->malloc(64); }, [&](void* p) { a->free(p); });
}
BENCHMARK_CAPTURE(BM_ProdCons_peer, mimalloc, Peer::kMimalloc)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProdCons_peer, jemalloc, Peer::kJemalloc)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProdCons_peer, tcmalloc, Peer::kTcmalloc)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProdCons_peer, glibc, Peer::kGlibc)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
