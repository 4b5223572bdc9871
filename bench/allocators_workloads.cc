#include "bench/allocators_workloads.h"

#include <cmath>

namespace bench {

SizeTable::SizeTable(uint32_t min, uint32_t max, double alpha, uint64_t seed) {
  // Inverse CDF of p(s) ~ s^-alpha on [min, max] (alpha == 1: log-uniform).
  Rng rng(seed);
  const double lo = min, hi = max;
  for (uint32_t& s : sizes_) {
    const double u = static_cast<double>(rng.Next() >> 11) * 0x1.0p-53;
    double v;
    if (std::fabs(alpha - 1.0) < 1e-9) {
      v = lo * std::pow(hi / lo, u);
    } else {
      const double a = 1.0 - alpha;
      v = std::pow(std::pow(lo, a) + u * (std::pow(hi, a) - std::pow(lo, a)), 1.0 / a);
    }
    s = static_cast<uint32_t>(std::fmin(hi, std::fmax(lo, std::floor(v))));
  }
}

double SizeTable::MeanSize() const {
  double sum = 0;
  for (uint32_t s : sizes_) sum += s;
  return sum / kEntries;
}

const SizeTable& RandomSizes() {
  static const SizeTable* t = new SizeTable(8, 32 << 10, 1.5, 1);
  return *t;
}
const SizeTable& SmallSizes() {
  static const SizeTable* t = new SizeTable(8, 1 << 10, 1.5, 2);
  return *t;
}
const SizeTable& LargeSizes() {
  static const SizeTable* t = new SizeTable(64 << 10, 4 << 20, 1.0, 3);
  return *t;
}

void** HandoverQueue::ProducerBlock() {
  const uint64_t p = published_.load(std::memory_order_relaxed);
  while (p - released_.load(std::memory_order_acquire) >= kBlocks) std::this_thread::yield();
  return slots_[p % kBlocks];
}

void HandoverQueue::Publish() {
  published_.store(published_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void** HandoverQueue::ConsumerBlock() {
  const uint64_t r = released_.load(std::memory_order_relaxed);
  while (published_.load(std::memory_order_acquire) == r) std::this_thread::yield();
  return slots_[r % kBlocks];
}

void HandoverQueue::Release() {
  released_.store(released_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

}  // namespace bench
