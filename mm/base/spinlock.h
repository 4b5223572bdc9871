// Test-and-test-and-set spinlock for freestanding code (host threads or harts).
//
// Lock contract: not recursive; holders must not block. Annotated for clang's
// -Wthread-safety so GUARDED_BY fields are compiler-checked.
#ifndef MM_BASE_SPINLOCK_H_
#define MM_BASE_SPINLOCK_H_

#include <atomic>
#include <cstdint>

#include "mm/base/thread_annotations.h"

namespace mm {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__riscv)
  asm volatile(".insn i 0x0F, 0, x0, x0, 0x010");  // Zihintpause "pause" (a hint: nop if absent)
#endif
}

class MM_CAPABILITY("mutex") SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() MM_ACQUIRE() {
    while (word_.exchange(1, std::memory_order_acquire) != 0) {
      while (word_.load(std::memory_order_relaxed) != 0) CpuRelax();
    }
  }
  bool TryLock() MM_TRY_ACQUIRE(true) {
    return word_.load(std::memory_order_relaxed) == 0 &&
           word_.exchange(1, std::memory_order_acquire) == 0;
  }
  // One attempt with one atomic and no load first (`lock bts` on x86): for a
  // fast path whose lock is almost never contended, where TryLock's test
  // would only add a load (the buddy allocator's per-cpu lists, as Linux's
  // pcp_spin_trylock).
  bool TryLockOnce() MM_TRY_ACQUIRE(true) {
    return (word_.fetch_or(1, std::memory_order_acquire) & 1) == 0;
  }
  void Unlock() MM_RELEASE() { word_.store(0, std::memory_order_release); }
  bool IsLocked() const { return word_.load(std::memory_order_relaxed) != 0; }
  // Documents (and, in debug builds, checks) that the caller holds the lock.
  void AssertHeld() const MM_ASSERT_CAPABILITY(this) {}

 private:
  std::atomic<uint32_t> word_{0};
};

class MM_SCOPED_CAPABILITY SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& l) MM_ACQUIRE(l) : lock_(l) { lock_.Lock(); }
  ~SpinLockGuard() MM_RELEASE() { lock_.Unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace mm

#endif  // MM_BASE_SPINLOCK_H_
