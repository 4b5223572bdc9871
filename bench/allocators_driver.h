// //bench:allocators: libmm (kmalloc and kmem_cache on SLUB, SLAB, SLOB)
// against glibc, jemalloc, mimalloc and tcmalloc on the workloads of
// bench/allocators_workloads.h. Prints a summary table (time per operation and
// ratio to the row's best, memory overhead), and optionally writes Google
// Benchmark's JSON and a gnuplot chart. See bench/README.md.
#ifndef BENCH_ALLOCATORS_DRIVER_H_
#define BENCH_ALLOCATORS_DRIVER_H_

namespace bench {

// The whole program: parses its own flags (see kUsage in the .cc) and passes
// the rest to Google Benchmark. Returns the exit status: non-zero on a bad
// flag, a failed output file or a libmm leak. Call at most once per process.
int RunAllocatorsBenchmark(int argc, char** argv);

}  // namespace bench

#endif  // BENCH_ALLOCATORS_DRIVER_H_
