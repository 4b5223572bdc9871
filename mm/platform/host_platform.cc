#include "mm/platform/host_platform.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace mm {
namespace {

std::atomic<unsigned> g_next_slot{0};
thread_local unsigned t_slot = ~0u;

}  // namespace

void HostPlatform::Write(const char* text, size_t n) { fwrite(text, 1, n, stderr); }

void HostPlatform::Panic(const char* message) {
  fputs(message, stderr);
  fflush(stderr);
  abort();
}

uint64_t HostPlatform::NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

unsigned HostPlatform::CpuId() {
  unsigned slot = t_slot;
  if (__builtin_expect(slot == ~0u, 0)) {
    slot = g_next_slot.fetch_add(1, std::memory_order_relaxed);
    t_slot = slot;
  }
  return slot;
}

unsigned HostPlatform::NumCpus() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

bool HostPlatform::AcquireRam(uint64_t bytes, RamRange* range) {
  if (bytes == 0) bytes = uint64_t{256} << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return false;
  range->phys_base = kPhysBase;
  range->virt_base = reinterpret_cast<uintptr_t>(p);
  range->size = bytes;
  return true;
}

void HostPlatform::ReleaseRam(const RamRange& range) {
  munmap(reinterpret_cast<void*>(range.virt_base), range.size);
}

}  // namespace mm

MM_DEFINE_PLATFORM(mm::HostPlatform)
