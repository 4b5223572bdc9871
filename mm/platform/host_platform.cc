#include "mm/platform/host_platform.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace mm {
namespace {

// Slot allocation: a bitmap of held slots under a mutex (slow path only: a
// thread's first CpuId() call and its exit).
std::mutex g_slot_mutex;
uint64_t g_held[(kMaxCpus + 63) / 64];
std::atomic<void (*)(unsigned)> g_cpu_dead{nullptr};

unsigned TakeSlot() {
  std::lock_guard<std::mutex> lock(g_slot_mutex);
  for (unsigned i = 0; i < kMaxCpus; ++i) {
    if ((g_held[i / 64] & (uint64_t{1} << (i % 64))) == 0) {
      g_held[i / 64] |= uint64_t{1} << (i % 64);
      return i;
    }
  }
  HostPlatform::Panic("HostPlatform::CpuId: more live threads than kMaxCpus cpu slots\n");
}

// Releases the thread's slot at thread exit, after the cpu-dead callback.
struct SlotHolder {
  unsigned slot = ~0u;
  ~SlotHolder() {
    if (slot == ~0u) return;
    if (auto cb = g_cpu_dead.load(std::memory_order_acquire)) cb(slot);
    platform::host_cpu_slot = ~0u;  // later calls on this thread take a new slot
    std::lock_guard<std::mutex> lock(g_slot_mutex);
    g_held[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  }
};

thread_local SlotHolder t_holder;

}  // namespace

namespace platform {
__thread unsigned host_cpu_slot = ~0u;  // read inline by FastCpuId()
}  // namespace platform

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
  unsigned slot = platform::host_cpu_slot;
  if (__builtin_expect(slot == ~0u, 0)) {
    slot = TakeSlot();
    platform::host_cpu_slot = slot;
    t_holder.slot = slot;  // registers the exit hook
  }
  return slot;
}

unsigned HostPlatform::NumCpus() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// The range is aligned to kRamAlign in virtual memory, as it is physically
// (kPhysBase), so that naturally aligned blocks of every order are aligned in
// the direct map too, as they are in Linux's.
bool HostPlatform::AcquireRam(uint64_t bytes, RamRange* range) {
  constexpr uint64_t kRamAlign = uint64_t{4} << 20;  // MAX_PAGE_ORDER block
  if (bytes == 0) bytes = uint64_t{256} << 20;
  bytes = (bytes + kPageSize - 1) & ~uint64_t{kPageSize - 1};
  void* p = mmap(nullptr, bytes + kRamAlign, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  const uintptr_t raw = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = (raw + kRamAlign - 1) & ~uintptr_t{kRamAlign - 1};
  if (start > raw) munmap(p, start - raw);
  const uintptr_t end = start + bytes;
  if (raw + bytes + kRamAlign > end) munmap(reinterpret_cast<void*>(end), raw + bytes + kRamAlign - end);
  // Linux maps its direct map of RAM with huge pages (2 MiB/1 GiB on x86-64),
  // so a kernel walking slabs and struct pages takes few TLB misses; the host
  // RAM asks for the same from transparent huge pages (advice only: with THP
  // off it stays 4 KiB-mapped; a 2 MiB region nobody touched still costs nothing).
  madvise(reinterpret_cast<void*>(start), bytes, MADV_HUGEPAGE);
  range->phys_base = kPhysBase;
  range->virt_base = start;
  range->size = bytes;
  return true;
}

void HostPlatform::ReleaseRam(const RamRange& range) {
  munmap(reinterpret_cast<void*>(range.virt_base), range.size);
}

void HostPlatform::SetCpuDeadCallback(void (*callback)(unsigned)) {
  g_cpu_dead.store(callback, std::memory_order_release);
}

uintptr_t HostPlatform::StartThread(void (*fn)(void*), void* arg) {
  return reinterpret_cast<uintptr_t>(new std::thread(fn, arg));
}

void HostPlatform::JoinThread(uintptr_t handle) {
  auto* t = reinterpret_cast<std::thread*>(handle);
  if (t == nullptr) return;
  t->join();
  delete t;
}

void HostPlatform::WaitOnWord(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000ull);
  ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000ull);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
}

void HostPlatform::WakeWord(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr,
          nullptr, 0);
}

}  // namespace mm

MM_DEFINE_PLATFORM(mm::HostPlatform)
