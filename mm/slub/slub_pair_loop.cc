// A fixed loop of kmem_cache_alloc + kmem_cache_free pairs of a 64-byte object
// through mm::SlabSystem, for instruction counts:
//   valgrind --tool=callgrind bazel-bin/mm/slub/slub_pair_loop N [slub|kmalloc|batch|slab|slab-kmalloc|mimalloc|jemalloc]
// "random" and "random-mimalloc" replace N random slots of a table of 10^5 live
// objects of power-law sizes (8 B..32 KiB, p(s) ~ s^-1.5, as //bench:allocators'
// random-1e5) through kmalloc/kfree or mi_malloc/mi_free; run them under
// `valgrind --tool=callgrind --cache-sim=yes` for instructions and cache misses
// per replacement, a deterministic view of that row.
// Run with two N and divide the difference of the totals by the difference of N.
// "prodcons" (and "slab-prodcons") hands batches of 256 64-byte objects from an
// allocating thread to a freeing one, in lockstep (one thread runs at a time, so
// the count is deterministic): per object one kmem_cache_alloc on one cpu and
// one remote kmem_cache_free on the other, with the sheaf hand-over through the
// barn (//bench:slab_compare's ProdCons without the ring and the timing).
// "prodcons-4096" (and "slab-prodcons-4096") hands over batches of 4096, the
// size of the benchmark's ring: what the benchmark does when its two threads
// share one core and each runs a ring's worth per time slice (the barn then
// overflows and most sheaves go back to their slabs).
// "mimalloc" runs mi_malloc(64)/mi_free through dlopen, "jemalloc" the
// statically linked je_malloc/je_free, for comparison.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <semaphore>
#include <thread>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"

extern "C" {
void* je_malloc(size_t);
void je_free(void*);
}

namespace {
uint64_t g_rng = 0x9E3779B97F4A7C15ull;
uint64_t Next() {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545F4914F6CDD1Dull;
}
// Power-law size in [8, 32768]: inverse CDF of p(s) ~ s^-1.5.
size_t PowerLawSize() {
  const double u = static_cast<double>(Next() >> 11) * 0x1.0p-53;
  const double a = 1.0 / 2.8284271247461903, b = 1.0 / 181.01933598375618;  // 8^-0.5, 32768^-0.5
  const double x = a - u * (a - b);
  return static_cast<size_t>(1.0 / (x * x));
}
template <typename A, typename F>
void RandomReplace(long n, A alloc, F free_fn) {
  constexpr size_t kSlots = 100000;
  static void* slot[kSlots];
  for (size_t i = 0; i < kSlots; ++i) {
    slot[i] = alloc(PowerLawSize());
    *static_cast<uint32_t*>(slot[i]) = 1;
  }
  for (long k = 0; k < n; ++k) {
    const size_t i = static_cast<size_t>((Next() >> 32) * kSlots >> 32);
    free_fn(slot[i]);
    slot[i] = alloc(PowerLawSize());
    *static_cast<uint32_t*>(slot[i]) = 1;
  }
  for (size_t i = 0; i < kSlots; ++i) free_fn(slot[i]);
}
// Each pair loop is a function of its own, as a caller of the API would be
// (inlined into main, the loop competed for registers with every other mode).
[[gnu::noinline]] void CachePairs(mm::SlabSystem* sys, mm::kmem_cache* s, long n) {
  for (long i = 0; i < n; ++i) {
    void* p = sys->Alloc(s, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    sys->Free(s, p);
  }
}
[[gnu::noinline]] void KmallocPairs(mm::SlabSystem* sys, long n) {
  for (long i = 0; i < n; ++i) {
    void* p = sys->Kmalloc(64, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    sys->Kfree(p);
  }
}
// n / batch batches of `batch` (<= 4096) objects: the caller allocates, a
// second thread frees.
void ProdCons(mm::SlabSystem* sys, mm::kmem_cache* s, long n, int batch) {
  static void* v[4096];
  std::binary_semaphore full(0), empty(0);
  const long rounds = n / batch;
  std::thread consumer([&] {
    for (long r = 0; r < rounds; ++r) {
      full.acquire();
      for (int i = 0; i < batch; ++i) sys->Free(s, v[i]);
      empty.release();
    }
  });
  for (long r = 0; r < rounds; ++r) {
    for (int i = 0; i < batch; ++i) {
      v[i] = sys->Alloc(s, mm::GFP_KERNEL);
      *static_cast<long*>(v[i]) = i;
    }
    full.release();
    empty.acquire();
  }
  consumer.join();
}
}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char* mode = argc > 2 ? argv[2] : "slub";
  if (strcmp(mode, "random-mimalloc") == 0) {
    void* h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return 1;
    auto mi_malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(h, "mi_malloc"));
    auto mi_free = reinterpret_cast<void (*)(void*)>(dlsym(h, "mi_free"));
    RandomReplace(n, mi_malloc, mi_free);
    printf("%ld mimalloc random replacements\n", n);
    return 0;
  }
  if (strcmp(mode, "mimalloc") == 0) {
    void* h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return 1;
    auto mi_malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(h, "mi_malloc"));
    auto mi_free = reinterpret_cast<void (*)(void*)>(dlsym(h, "mi_free"));
    for (long i = 0; i < n; ++i) {
      void* p = mi_malloc(64);
      asm volatile("" : : "r"(p) : "memory");
      mi_free(p);
    }
    printf("%ld mimalloc pairs\n", n);
    return 0;
  }
  if (strcmp(mode, "jemalloc") == 0) {
    for (long i = 0; i < n; ++i) {
      void* p = je_malloc(64);
      asm volatile("" : : "r"(p) : "memory");
      je_free(p);
    }
    printf("%ld jemalloc pairs\n", n);
    return 0;
  }
  mm::RamRange ram;
  if (!mm::platform::AcquireRam(uint64_t{256} << 20, &ram)) return 1;
  mm::Memblock mb(ram);
  mm::BuddyAllocator* b = mb.New<mm::BuddyAllocator>();
  mm::SlabSystem* sys = mb.New<mm::SlabSystem>();
  mm::BuddyConfig config;
  config.nr_cpus = 2;
  if (b->Init(mb, config) != 0) return 1;
  mm::SlabConfig scfg;
  scfg.nr_cpus = 2;
  // "slab" and "slab-kmalloc": the same pair loops on Bonwick's SLAB, for the
  // SLUB-vs-SLAB comparison (issue 4).
  if (strncmp(mode, "slab", 4) == 0) {
    scfg.kind = mm::AllocatorKind::kSlab;
    mode = strcmp(mode, "slab-kmalloc") == 0        ? "kmalloc"
           : strcmp(mode, "slab-prodcons") == 0      ? "prodcons"
           : strcmp(mode, "slab-prodcons-4096") == 0 ? "prodcons-4096"
                                                     : "slub";
  }
  if (sys->Init(*b, scfg) != 0) return 1;
  mm::kmem_cache* s = sys->CreateCache("loop64", 64, 0, 0, nullptr);
  if (strcmp(mode, "batch") == 0) {  // n/1000 rounds of 1000 allocations then 1000 frees
    static void* v[1000];
    for (long r = 0; r < n / 1000; ++r) {
      for (int i = 0; i < 1000; ++i) v[i] = sys->Alloc(s, mm::GFP_KERNEL);
      asm volatile("" : : "r"(v) : "memory");
      for (int i = 0; i < 1000; ++i) sys->Free(s, v[i]);
    }
    printf("%ld batch pairs\n", n);
    return 0;
  }
  if (strcmp(mode, "prodcons") == 0 || strcmp(mode, "prodcons-4096") == 0) {
    ProdCons(sys, s, n, mode[8] == '\0' ? 256 : 4096);
    printf("%ld objects handed over\n", n);
    return 0;
  }
  if (strcmp(mode, "random") == 0) {
    RandomReplace(
        n, [&](size_t size) { return sys->Kmalloc(size, mm::GFP_KERNEL); },
        [&](void* p) { sys->Kfree(p); });
    printf("%ld kmalloc random replacements\n", n);
    return 0;
  }
  if (strcmp(mode, "kmalloc") == 0) {
    KmallocPairs(sys, n);
  } else {
    CachePairs(sys, s, n);
  }
  printf("%ld %s pairs\n", n, mode);
  return 0;
}
