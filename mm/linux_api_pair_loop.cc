// Fixed loops through the Linux facade (mm/linux_api.h) -- the calls
// //bench:allocators makes -- for instruction counts under callgrind:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null
//       bazel-bin/mm/linux_api_pair_loop N MODE [slab_allocator=...]
// MODE: kmalloc-SIZE (one kmalloc(SIZE) + kfree pair per iteration), cache-SIZE
// (kmem_cache_alloc + kmem_cache_free of a SIZE-byte cache), batch-lifo and
// batch-fifo (rounds of 1000 kmalloc(64) then 1000 kfree, N counts pairs),
// kzalloc-64. Run two N and divide the difference of the totals by the
// difference of N: the boot and the first touches cancel out.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mm/linux_api.h"

namespace {

// Each loop is a function of its own, as a caller of the API would be.
[[gnu::noinline]] void KmallocPairs(size_t size, long n) {
  for (long i = 0; i < n; ++i) {
    void* p = mm::kmalloc(size, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    mm::kfree(p);
  }
}

[[gnu::noinline]] void KzallocPairs(size_t size, long n) {
  for (long i = 0; i < n; ++i) {
    void* p = mm::kzalloc(size, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    mm::kfree(p);
  }
}

[[gnu::noinline]] void CachePairs(mm::kmem_cache* s, long n) {
  for (long i = 0; i < n; ++i) {
    void* p = mm::kmem_cache_alloc(s, mm::GFP_KERNEL);
    asm volatile("" : : "r"(p) : "memory");
    mm::kmem_cache_free(s, p);
  }
}

[[gnu::noinline]] void Batches(bool fifo, long n) {
  constexpr int kBatch = 1000;
  static void* p[kBatch];
  for (long r = 0; r < n / kBatch; ++r) {
    for (int i = 0; i < kBatch; ++i) p[i] = mm::kmalloc(64, mm::GFP_KERNEL);
    for (int i = 0; i < kBatch; ++i) mm::kfree(p[fifo ? i : kBatch - 1 - i]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s N kmalloc-SIZE|cache-SIZE|kzalloc-SIZE|batch-lifo|batch-fifo [boot words]\n",
            argv[0]);
    return 2;
  }
  const long n = atol(argv[1]);
  const char* mode = argv[2];
  char cmdline[256];
  snprintf(cmdline, sizeof cmdline, "mem=256M %s", argc > 3 ? argv[3] : "");
  if (mm::mm_boot(cmdline) != 0) return 1;
  int rc = 0;
  if (strncmp(mode, "kmalloc-", 8) == 0) {
    KmallocPairs(strtoul(mode + 8, nullptr, 10), n);
  } else if (strncmp(mode, "kzalloc-", 8) == 0) {
    KzallocPairs(strtoul(mode + 8, nullptr, 10), n);
  } else if (strncmp(mode, "cache-", 6) == 0) {
    mm::kmem_cache* s =
        mm::kmem_cache_create("pair_loop", static_cast<unsigned>(strtoul(mode + 6, nullptr, 10)), 0, 0,
                              nullptr);
    if (s == nullptr) return 1;
    CachePairs(s, n);
    mm::kmem_cache_destroy(s);
  } else if (strcmp(mode, "batch-lifo") == 0 || strcmp(mode, "batch-fifo") == 0) {
    Batches(strcmp(mode, "batch-fifo") == 0, n);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    rc = 2;
  }
  printf("%ld %s iterations on %s\n", n, mode, mm::slab_allocator_name());
  mm::mm_shutdown();
  return rc;
}
