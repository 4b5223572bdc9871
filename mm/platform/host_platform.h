// The host (Linux user-space) platform: "physical RAM" is one mmap'd range,
// cpus are thread slots, the console is stderr.
#ifndef MM_PLATFORM_HOST_PLATFORM_H_
#define MM_PLATFORM_HOST_PLATFORM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/platform/platform.h"

namespace mm {

struct HostPlatform {
  static constexpr const char* kName = "host";
  // Simulated physical base of RAM: the same as QEMU virt's, so pfns read alike.
  static constexpr PhysAddr kPhysBase = 0x80000000ull;

  static void Write(const char* text, size_t n);
  [[noreturn]] static void Panic(const char* message);
  static uint64_t NowNs();
  // The calling thread's cpu slot: the lowest slot no live thread holds, taken
  // at the thread's first call and released (after the cpu-dead callback) when
  // it exits. Panics if more than kMaxCpus threads hold slots at once.
  static unsigned CpuId();
  static unsigned NumCpus();
  static bool AcquireRam(uint64_t bytes, RamRange* range);
  static void ReleaseRam(const RamRange& range);
  static void SetCpuDeadCallback(void (*callback)(unsigned cpu));
  // Threads: real host threads (std::thread), futex waits.
  static uintptr_t StartThread(void (*fn)(void*), void* arg);
  static void JoinThread(uintptr_t handle);
  static void WaitOnWord(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns);
  static void WakeWord(std::atomic<uint32_t>* word);
};

}  // namespace mm

#endif  // MM_PLATFORM_HOST_PLATFORM_H_
