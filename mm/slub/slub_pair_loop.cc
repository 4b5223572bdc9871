// A fixed loop of kmem_cache_alloc + kmem_cache_free pairs of a 64-byte object
// through mm::SlabSystem, for instruction counts:
//   valgrind --tool=callgrind bazel-bin/mm/slub/slub_pair_loop N [slub|kmalloc|batch|mimalloc|jemalloc]
// Run with two N and divide the difference of the totals by the difference of N.
// "mimalloc" runs mi_malloc(64)/mi_free through dlopen, "jemalloc" the
// statically linked je_malloc/je_free, for comparison.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"

extern "C" {
void* je_malloc(size_t);
void je_free(void*);
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char* mode = argc > 2 ? argv[2] : "slub";
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
  if (!mm::platform::AcquireRam(uint64_t{64} << 20, &ram)) return 1;
  mm::Memblock mb(ram);
  mm::BuddyAllocator* b = mb.New<mm::BuddyAllocator>();
  mm::SlabSystem* sys = mb.New<mm::SlabSystem>();
  mm::BuddyConfig config;
  config.nr_cpus = 2;
  if (b->Init(mb, config) != 0) return 1;
  mm::SlabConfig scfg;
  scfg.nr_cpus = 2;
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
  const bool kmalloc = strcmp(mode, "kmalloc") == 0;
  for (long i = 0; i < n; ++i) {
    void* p = kmalloc ? sys->Kmalloc(64, mm::GFP_KERNEL) : sys->Alloc(s, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    if (kmalloc) {
      sys->Kfree(p);
    } else {
      sys->Free(s, p);
    }
  }
  printf("%ld %s pairs\n", n, mode);
  return 0;
}
