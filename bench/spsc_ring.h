// A single-producer/single-consumer ring of pointers for the two-thread
// producer/consumer benchmarks (the producer allocates, the consumer frees).
#ifndef BENCH_SPSC_RING_H_
#define BENCH_SPSC_RING_H_

#include <atomic>
#include <cstddef>
#include <thread>

namespace bench {

class Ring {
 public:
  static constexpr size_t kSize = 4096;
  void Push(void* p) {
    const size_t t = tail_.load(std::memory_order_relaxed);
    while (t - head_cache_ >= kSize) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ >= kSize) std::this_thread::yield();
    }
    slots_[t % kSize] = p;
    tail_.store(t + 1, std::memory_order_release);
  }
  void* Pop() {
    const size_t h = head_.load(std::memory_order_relaxed);
    while (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) std::this_thread::yield();
    }
    void* p = slots_[h % kSize];
    head_.store(h + 1, std::memory_order_release);
    return p;
  }

 private:
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) size_t tail_cache_ = 0;  // consumer's copy
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) size_t head_cache_ = 0;  // producer's copy
  void* slots_[kSize];
};

}  // namespace bench

#endif  // BENCH_SPSC_RING_H_
