// The contenders of //bench:allocators and how each one is called and measured:
// libmm (booted through mm/linux_api.h with slab_allocator=slub|slab|slob) as
// kmalloc or as a kmem_cache of the workload's fixed size, and the peers of
// //bench:peer_allocators; the memory counters ("bytes obtained from the
// system") each of them exposes; and the forked-child memory measurement.
#ifndef BENCH_ALLOCATORS_HARNESS_H_
#define BENCH_ALLOCATORS_HARNESS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/peer_allocators.h"
#include "mm/linux_api.h"

namespace bench {

enum class Family { kLibmmKmalloc, kLibmmCache, kPeer };

struct Contender {
  std::string name;  // column name: "slub", "slub-cache", "glibc", ...
  Family family;
  std::string slab;  // libmm: "slub", "slab" or "slob"
  const PeerAllocator* peer = nullptr;
  bool is_libmm() const { return family != Family::kPeer; }
};

// Every contender the run may use, in column order: slub, slub-cache, slab,
// slab-cache, slob, slob-cache, glibc, jemalloc, mimalloc, tcmalloc (peers that
// cannot be loaded are left out with a note).
std::vector<Contender> AllContenders(std::vector<std::string>* notes);

// ---- libmm's machine: one at a time, booted on demand ----
class Libmm {
 public:
  // mem= of every boot: large enough for the largest working set (~60 MiB live
  // at 10^5 objects of random size) with room to spare; the RAM is mmap'd
  // MAP_NORESERVE, so untouched pages cost nothing.
  static constexpr const char* kMem = "1024M";

  // Boots libmm with `slab` unless that machine is already up (shutting down
  // any other first). False, with the reason, if mm_boot refuses.
  static bool Ensure(const std::string& slab, std::string* why);
  // A kmem_cache of `size` bytes on the current machine (created on first use).
  static mm::kmem_cache* Cache(unsigned size);
  // Destroys the caches and shuts the machine down. A leak is a cache that
  // reports objects remaining at shutdown (slab_common's shutdown flushes
  // every per-cpu and shared cache first, so this is exact for every slab
  // allocator). Also records how many pages outside the Slab line of
  // /proc/meminfo (after drain_all_pages) are held above the boot value: 0 for
  // SLUB and SLOB; an allocator whose metadata is not counted as Slab shows it
  // there. Counts the check in LeakReport() (with report == false only if it
  // finds a leak). No-op when nothing is booted.
  static void Shutdown(bool report = true);
  // One line per slab allocator: shutdowns checked and leaks found.
  static std::vector<std::string> LeakReport();
  static bool LeakFound();
  static void ResetLeakReport();

  // Pages allocated from the buddy allocator right now.
  static uint64_t PagesInUse();
  // PagesInUse() minus the pages held by slabs (after draining the per-cpu
  // page lists): what must return to its boot value when nothing is leaked.
  static int64_t NonSlabPages();
  // Sum of active_objs over /proc/slabinfo.
  static int64_t SlabActiveObjects();
};

// ---- The allocator adapters the workloads are instantiated with ----
struct KmallocApi {
  void* Alloc(size_t n) { return mm::kmalloc(n, mm::GFP_KERNEL); }
  void Free(void* p, size_t) { mm::kfree(p); }
};
struct CacheApi {
  mm::kmem_cache* cache;
  void* Alloc(size_t) { return mm::kmem_cache_alloc(cache, mm::GFP_KERNEL); }
  void Free(void* p, size_t) { mm::kmem_cache_free(cache, p); }
};
struct PeerApi {
  const PeerAllocator* peer;
  void* Alloc(size_t n) { return peer->malloc(n); }
  void Free(void* p, size_t) { peer->free(p); }
};

// Calls f(api) with the adapter for `c` (libmm must already be booted with
// c.slab). fixed_size is the object size of a kmem_cache contender.
template <typename F>
void WithApi(const Contender& c, unsigned fixed_size, F&& f) {
  switch (c.family) {
    case Family::kLibmmKmalloc: {
      KmallocApi api;
      f(api);
      return;
    }
    case Family::kLibmmCache: {
      CacheApi api{Libmm::Cache(fixed_size)};
      f(api);
      return;
    }
    case Family::kPeer: {
      PeerApi api{c.peer};
      f(api);
      return;
    }
  }
}

// ---- Memory: bytes obtained from the system, per contender ----
// libmm: PagesInUse() * 4 KiB (the buddy allocator's own counters).
// glibc: mallinfo2() arena + hblkhd (sbrk'd heap of all arenas + mmap'd chunks).
// jemalloc: je_mallctl "stats.resident" after refreshing "epoch".
// mimalloc: current_commit of mi_process_info (dlsym'ed; mimalloc's own
//   commit statistics).
// tcmalloc: MallocExtension_GetNumericProperty (dlsym'ed C API)
//   "generic.heap_size" minus "tcmalloc.pageheap_unmapped_bytes".
// Returns false if the interface is missing (then RSS is used: VmRSS of the
// forked child that runs only that allocator).
bool SystemBytes(const Contender& c, uint64_t* bytes);
const char* SystemBytesMethod(const Contender& c);
uint64_t ProcessRssBytes();

// Counts live (requested) bytes and samples the contender's system bytes every
// kSampleEvery allocations of each thread, keeping both peaks.
class MemoryMeter {
 public:
  static constexpr uint32_t kSampleEvery = 256;
  explicit MemoryMeter(const Contender& c);
  void OnAlloc(size_t n);
  void OnFree(size_t n) { live_.fetch_sub(n, std::memory_order_relaxed); }
  void Sample();
  uint64_t peak_live() const { return peak_live_.load(); }
  // Peak system bytes minus the value at construction.
  uint64_t peak_system() const;
  bool used_rss() const { return use_rss_; }

 private:
  const Contender& c_;
  bool use_rss_ = false;
  uint64_t base_ = 0;
  std::atomic<uint64_t> live_{0};
  std::atomic<uint64_t> peak_live_{0};
  std::atomic<uint64_t> peak_sys_{0};
};

template <typename Api>
struct MeteredApi {
  Api& inner;
  MemoryMeter& meter;
  void* Alloc(size_t n) {
    void* p = inner.Alloc(n);
    meter.OnAlloc(n);
    return p;
  }
  void Free(void* p, size_t n) {
    inner.Free(p, n);
    meter.OnFree(n);
  }
};

struct MemoryResult {
  bool ok = false;
  uint64_t peak_live = 0;    // bytes
  uint64_t peak_system = 0;  // bytes, above the child's starting point
  bool used_rss = false;
  double overhead() const {
    return peak_live == 0 ? 0 : static_cast<double>(peak_system) / static_cast<double>(peak_live);
  }
};

// Runs `body(meter)` in a forked child (which boots libmm itself for a libmm
// contender), so every measurement starts from the same parent state and one
// allocator's retained memory never counts against another. The parent must
// have no other threads running.
MemoryResult MeasureInChild(const Contender& c, const std::function<void(MemoryMeter&)>& body);

// CPU time of the whole process (all threads), in nanoseconds.
uint64_t ProcessCpuNs();

}  // namespace bench

#endif  // BENCH_ALLOCATORS_HARNESS_H_
