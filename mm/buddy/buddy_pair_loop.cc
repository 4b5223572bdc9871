// A fixed loop of order-0 alloc+free pairs, for instruction counts:
//   valgrind --tool=callgrind bazel-bin/mm/buddy/buddy_pair_loop N [pcp]
// Run with two N and divide the difference of the totals by the difference of N.
#include <cstdio>
#include <cstdlib>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  const bool pcp = argc > 2 ? atoi(argv[2]) != 0 : true;
  mm::RamRange ram;
  if (!mm::platform::AcquireRam(uint64_t{64} << 20, &ram)) return 1;
  mm::Memblock mb(ram);
  mm::BuddyAllocator* b = mb.New<mm::BuddyAllocator>();
  mm::BuddyConfig config;
  config.nr_cpus = 2;
  if (b->Init(mb, config) != 0) return 1;
  b->SetPcpEnabled(pcp);
  for (long i = 0; i < n; ++i) {
    mm::page* p = b->AllocPages(mm::GFP_KERNEL, 0);
    asm volatile("" : : "r"(p) : "memory");
    b->FreePages(p, 0);
  }
  printf("%ld pairs, %lu free\n", n, static_cast<unsigned long>(b->NrFreePages()));
  return 0;
}
