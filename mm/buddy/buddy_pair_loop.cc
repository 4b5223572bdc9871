// A fixed loop of alloc+free pairs of one order, for instruction counts:
//   valgrind --tool=callgrind bazel-bin/mm/buddy/buddy_pair_loop N [MODE]
// MODE: 1 (default) or 0 -- order-0 pairs with per-cpu lists on or off (the
// original interface); order-K -- AllocPages(GFP_KERNEL, K) + FreePages(p, K)
// through the per-cpu lists (K <= 3) or the zone (K > 3); order-K-nopcp -- the
// same with per-cpu lists off.
// Run with two N and divide the difference of the totals by the difference of N
// (/tmp/cg.sh-style): the boot and the first refills cancel out.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"

namespace {

// Each loop is a function of its own, as a caller would be. The order is a
// template argument, so that it folds at the call site as a constant order does.
template <unsigned kOrder>
[[gnu::noinline]] void Pairs(mm::BuddyAllocator* b, long n) {
  for (long i = 0; i < n; ++i) {
    mm::page* p = b->AllocPages(mm::GFP_KERNEL, kOrder);
    asm volatile("" : : "r"(p) : "memory");
    b->FreePages(p, kOrder);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char* mode = argc > 2 && argv[2][0] != '\0' ? argv[2] : "1";
  unsigned order = 0;
  bool pcp = true;
  if (strncmp(mode, "order-", 6) == 0) {
    char* end = nullptr;
    order = static_cast<unsigned>(strtoul(mode + 6, &end, 10));
    if (strcmp(end, "-nopcp") == 0) {
      pcp = false;
    } else if (*end != '\0') {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
  } else {
    pcp = atoi(mode) != 0;
  }
  mm::RamRange ram;
  if (!mm::platform::AcquireRam(uint64_t{64} << 20, &ram)) return 1;
  mm::Memblock mb(ram);
  mm::BuddyAllocator* b = mb.New<mm::BuddyAllocator>();
  mm::BuddyConfig config;
  config.nr_cpus = 2;
  if (b->Init(mb, config) != 0) return 1;
  b->SetPcpEnabled(pcp);
  switch (order) {
    case 0: Pairs<0>(b, n); break;
    case 1: Pairs<1>(b, n); break;
    case 2: Pairs<2>(b, n); break;
    case 3: Pairs<3>(b, n); break;
    case 4: Pairs<4>(b, n); break;
    default:
      fprintf(stderr, "order %u not built into the loop (0..4)\n", order);
      return 2;
  }
  printf("%ld order-%u pairs, %lu free\n", n, order, static_cast<unsigned long>(b->NrFreePages()));
  return 0;
}
