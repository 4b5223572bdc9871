// One single-threaded workload of //bench:allocators, run a fixed number of
// steps on one contender, for deterministic instruction and cache-miss counts
// under callgrind (the same workload code and adapters as the timed run):
//   valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file=/dev/null \
//       bazel-bin/bench/workload_loop N WORKLOAD CONTENDER
// WORKLOAD: random-1e4, random-1e5 (SlotReplace over the power-law sizes),
// large (SlotReplace over 64 KiB..4 MiB), hot-SIZE (HotPair), batch-lifo and
// batch-fifo (Batch: a step is 1000 allocations then 1000 frees), churn
// (RunServerChurn: two threads, N replacements each; callgrind runs one thread
// at a time, so its counts are of the instructions, not of the contention). CONTENDER: slub, slab, slob (kmalloc) or a peer (glibc,
// jemalloc, mimalloc, tcmalloc). Run two N and divide the difference of the
// totals by the difference of N: setup, boot and teardown cancel out.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/allocators_harness.h"
#include "bench/allocators_workloads.h"
#include "bench/peer_allocators.h"

namespace {

template <typename Workload>
[[gnu::noinline]] void Steps(Workload& w, long n) {
  w.Setup();
  for (long i = 0; i < n; ++i) w.Step();
  w.Teardown();
}

template <typename Api>
int Run(Api& api, const char* workload, long n) {
  if (strncmp(workload, "random-1e", 9) == 0) {
    const int exp = atoi(workload + 9);
    if (exp < 2 || exp > 6) return 2;
    uint32_t slots = 1;
    for (int i = 0; i < exp; ++i) slots *= 10;
    // As allocators_driver.cc's random rows: seed 42, only the first bytes written.
    bench::SlotReplace<Api> w(api, bench::RandomSizes(), slots, 42, false);
    Steps(w, n);
    return 0;
  }
  if (strcmp(workload, "large") == 0) {  // the large row: 16 slots, the last byte written too
    bench::SlotReplace<Api> w(api, bench::LargeSizes(), 16, 42, true);
    Steps(w, n);
    return 0;
  }
  if (strcmp(workload, "batch-lifo") == 0 || strcmp(workload, "batch-fifo") == 0) {
    // One step: 1000 allocations of 64 bytes, then 1000 frees.
    bench::Batch<Api> w(api, strcmp(workload, "batch-fifo") == 0);
    Steps(w, n);
    return 0;
  }
  if (strcmp(workload, "churn") == 0) {  // the churn row: 2 threads, n replacements each, 10^4 slots
    bench::RunServerChurn(api, 10000, static_cast<uint64_t>(n), 7);
    return 0;
  }
  if (strncmp(workload, "hot-", 4) == 0) {
    bench::HotPair<Api> w(api, strtoul(workload + 4, nullptr, 10));
    Steps(w, n);
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s N random-1e4|random-1e5|large|hot-SIZE|batch-lifo|batch-fifo|churn slub|slab|slob|PEER\n", argv[0]);
    return 2;
  }
  const long n = atol(argv[1]);
  const char* workload = argv[2];
  const std::string who = argv[3];
  int rc;
  if (who == "slub" || who == "slab" || who == "slob") {
    std::string why;
    if (!bench::Libmm::Ensure(who, &why)) {
      fprintf(stderr, "%s\n", why.c_str());
      return 1;
    }
    bench::KmallocApi api;
    rc = Run(api, workload, n);
    bench::Libmm::Shutdown();
  } else {
    const bench::PeerAllocator* peer = nullptr;
    for (const bench::PeerAllocator* p : bench::AllPeers()) {
      if (who == p->name) peer = p;
    }
    if (peer == nullptr) {
      fprintf(stderr, "unknown contender %s\n", who.c_str());
      return 2;
    }
    bench::PeerApi api{peer};
    rc = Run(api, workload, n);
  }
  if (rc != 0) fprintf(stderr, "unknown workload %s\n", workload);
  return rc;
}
