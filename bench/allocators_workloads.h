// The workloads of //bench:allocators, written for libmm (the patterns of the
// usual allocator benchmark suites, re-implemented here; no code is taken from
// them). Each workload is a template over an allocator API:
//
//   struct Api {
//     void* Alloc(size_t n);         // never returns nullptr (callers abort)
//     void Free(void* p, size_t n);  // n: the size given to Alloc
//   };
//
// so the adapter inlines into the loop and the only call per operation is the
// allocator's own entry point (libmm's kmalloc/kmem_cache_alloc, or a peer's
// function pointer). Every object gets its requested size written into its
// first 4 bytes (sizes are >= 8), which both touches the memory and lets a
// thread that did not allocate an object free it with its size.
//
// Single-threaded workloads are step machines (Setup, Step*, Teardown) so the
// benchmark loop times only Step; the 2-thread ones run whole episodes.
#ifndef BENCH_ALLOCATORS_WORKLOADS_H_
#define BENCH_ALLOCATORS_WORKLOADS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace bench {

// xorshift64*: cheap enough to sit inside a timed loop.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull | 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, n) (multiply-shift, no division).
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  uint64_t s_;
};

// 4096 sizes drawn once from a truncated power law p(s) ~ s^-alpha over
// [min, max]; a step picks one with 12 random bits.
class SizeTable {
 public:
  static constexpr int kEntries = 4096;
  SizeTable(uint32_t min, uint32_t max, double alpha, uint64_t seed);
  uint32_t Pick(Rng& rng) const { return sizes_[rng.Next() >> 52]; }
  double MeanSize() const;

 private:
  uint32_t sizes_[kEntries];
};

// The size tables: 8 B..32 KiB (alpha 1.5, mean ~0.5 KiB) for random sizes;
// 8 B..1 KiB (alpha 1.5) for the 2-thread workloads; 64 KiB..4 MiB
// log-uniform (alpha 1) for large.
const SizeTable& RandomSizes();
const SizeTable& SmallSizes();
const SizeTable& LargeSizes();

inline void Stamp(void* p, size_t n) {
  const uint32_t v = static_cast<uint32_t>(n);
  std::memcpy(p, &v, sizeof v);
}
inline size_t StampedSize(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename Api>
void* AllocOrDie(Api& api, size_t n) {
  void* p = api.Alloc(n);
  if (p == nullptr) {
    std::fprintf(stderr, "allocators: allocation of %zu bytes failed\n", n);
    std::abort();
  }
  Stamp(p, n);
  return p;
}

// ---- hot pair: allocate one object and free it again ----
template <typename Api>
class HotPair {
 public:
  HotPair(Api& api, size_t size) : api_(api), size_(size) {}
  void Setup() {}
  void Step() {
    void* p = AllocOrDie(api_, size_);
    asm volatile("" : : "r"(p) : "memory");
    api_.Free(p, size_);
  }
  void Teardown() {}
  static constexpr int kOpsPerStep = 1;

 private:
  Api& api_;
  size_t size_;
};

// ---- batch: 1000 allocations of 64 bytes, then 1000 frees (LIFO or FIFO) ----
template <typename Api>
class Batch {
 public:
  static constexpr int kOpsPerStep = 1000;
  static constexpr size_t kSize = 64;
  Batch(Api& api, bool fifo) : api_(api), fifo_(fifo), objs_(kOpsPerStep) {}
  void Setup() {}
  void Step() {
    for (int i = 0; i < kOpsPerStep; ++i) objs_[i] = AllocOrDie(api_, kSize);
    asm volatile("" : : "r"(objs_.data()) : "memory");
    if (fifo_) {
      for (int i = 0; i < kOpsPerStep; ++i) api_.Free(objs_[i], kSize);
    } else {
      for (int i = kOpsPerStep - 1; i >= 0; --i) api_.Free(objs_[i], kSize);
    }
  }
  void Teardown() {}

 private:
  Api& api_;
  bool fifo_;
  std::vector<void*> objs_;
};

// ---- slot replacement: a table of `slots` live objects; each step frees a
// random one and puts a new object of a random size in its place, so lifetimes
// are random (geometric). Used for random sizes (8 B..32 KiB) and large
// (64 KiB..4 MiB). ----
template <typename Api>
class SlotReplace {
 public:
  static constexpr int kOpsPerStep = 1;
  SlotReplace(Api& api, const SizeTable& sizes, uint32_t slots, uint64_t seed, bool touch_end)
      : api_(api), sizes_(sizes), rng_(seed), ptr_(slots), size_(slots), touch_end_(touch_end) {}
  void Setup() {
    for (size_t i = 0; i < ptr_.size(); ++i) Put(i);
  }
  void Step() {
    const uint32_t i = rng_.Below(static_cast<uint32_t>(ptr_.size()));
    api_.Free(ptr_[i], size_[i]);
    Put(i);
  }
  void Teardown() {
    for (size_t i = 0; i < ptr_.size(); ++i) api_.Free(ptr_[i], size_[i]);
  }

 private:
  void Put(size_t i) {
    const uint32_t n = sizes_.Pick(rng_);
    void* p = AllocOrDie(api_, n);
    if (touch_end_) static_cast<char*>(p)[n - 1] = 1;
    ptr_[i] = p;
    size_[i] = n;
  }
  Api& api_;
  const SizeTable& sizes_;
  Rng rng_;
  std::vector<void*> ptr_;
  std::vector<uint32_t> size_;
  bool touch_end_;
};

// ---- server churn (larson-like): 2 threads each replace random slots of one
// shared table with new objects of random sizes; the object a thread takes out
// was allocated by either thread, so about half the frees are remote. ----
template <typename Api>
uint64_t RunServerChurn(Api& api, uint32_t slots, uint64_t ops_per_thread, uint64_t seed) {
  std::vector<std::atomic<void*>> table(slots);
  Rng fill(seed);
  for (auto& s : table) {
    s.store(AllocOrDie(api, SmallSizes().Pick(fill)), std::memory_order_relaxed);
  }
  auto worker = [&](uint64_t thread_seed) {
    Rng rng(thread_seed);
    for (uint64_t k = 0; k < ops_per_thread; ++k) {
      void* p = AllocOrDie(api, SmallSizes().Pick(rng));
      void* old = table[rng.Below(slots)].exchange(p, std::memory_order_acq_rel);
      api.Free(old, StampedSize(old));
    }
  };
  std::thread a(worker, seed + 1), b(worker, seed + 2);
  a.join();
  b.join();
  for (auto& s : table) {
    void* p = s.load(std::memory_order_relaxed);
    api.Free(p, StampedSize(p));
  }
  return 2 * ops_per_thread;
}

// Single-producer/single-consumer queue of pointers handed over in blocks of
// kBlock (as a producer thread fills a buffer and publishes it).
class HandoverQueue {
 public:
  static constexpr uint32_t kBlock = 64;
  static constexpr uint32_t kBlocks = 16;
  // Producer: the next block to fill (waits while all blocks are full).
  void** ProducerBlock();
  void Publish();
  // Consumer: the next full block (waits while none is full).
  void** ConsumerBlock();
  void Release();

 private:
  alignas(64) std::atomic<uint64_t> published_{0};
  alignas(64) std::atomic<uint64_t> released_{0};
  alignas(64) void* slots_[kBlocks][kBlock];
};

// ---- producer/consumer (xmalloc-like): one thread allocates objects of
// random sizes, the other frees every one of them (all frees are remote). ----
template <typename Api>
uint64_t RunProducerConsumer(Api& api, uint64_t objects, uint64_t seed) {
  const uint64_t blocks = (objects + HandoverQueue::kBlock - 1) / HandoverQueue::kBlock;
  auto queue = std::make_unique<HandoverQueue>();
  std::thread consumer([&] {
    for (uint64_t b = 0; b < blocks; ++b) {
      void** block = queue->ConsumerBlock();
      for (uint32_t i = 0; i < HandoverQueue::kBlock; ++i)
        api.Free(block[i], StampedSize(block[i]));
      queue->Release();
    }
  });
  Rng rng(seed);
  for (uint64_t b = 0; b < blocks; ++b) {
    void** block = queue->ProducerBlock();
    for (uint32_t i = 0; i < HandoverQueue::kBlock; ++i) {
      block[i] = AllocOrDie(api, SmallSizes().Pick(rng));
    }
    queue->Publish();
  }
  consumer.join();
  return blocks * HandoverQueue::kBlock;
}

// ---- false sharing (cache-scratch-like): the main thread allocates one small
// object per worker (neighbours in memory for most allocators); each worker
// writes the object it was given, frees it, then repeatedly allocates its own
// small object, writes it `writes` times and frees it. An allocator that hands
// the two threads objects in one cache line makes every write a coherence miss.
// Ops = rounds of alloc + writes + free, over both threads. ----
template <typename Api>
uint64_t RunFalseSharing(Api& api, uint64_t rounds_per_thread, int writes) {
  constexpr size_t kSize = 8;
  void* given[2] = {AllocOrDie(api, kSize), AllocOrDie(api, kSize)};
  auto worker = [&](int t) {
    auto write = [&](void* p) {
      volatile uint8_t* b = static_cast<volatile uint8_t*>(p) + 4;
      for (int w = 0; w < writes; ++w) *b = static_cast<uint8_t>(*b + 1);
    };
    write(given[t]);
    api.Free(given[t], kSize);
    for (uint64_t r = 0; r < rounds_per_thread; ++r) {
      void* p = AllocOrDie(api, kSize);
      write(p);
      api.Free(p, kSize);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  return 2 * rounds_per_thread;
}

}  // namespace bench

#endif  // BENCH_ALLOCATORS_WORKLOADS_H_
