// The platform contract: everything mm/ asks of the world outside it.
//
// mm/ is freestanding (DESIGN.md). It is given one range of RAM at boot and
// never asks for memory again; all else it needs is below. Exactly one platform
// library is linked into a program (host: //mm/platform:host; RISC-V kernel:
// //kernel_port/riscv:platform). A platform is a class with static members that
// satisfies the `Platform` concept; MM_DEFINE_PLATFORM(Class) checks it at
// compile time and emits the hook functions mm/ calls (mm::platform::*), which
// are the only undefined symbols, with mem*, that the mm/ objects may have.
#ifndef MM_PLATFORM_PLATFORM_H_
#define MM_PLATFORM_PLATFORM_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "mm/base/panic.h"
#include "mm/base/types.h"

namespace mm {

// One contiguous range of RAM: physical address and where the kernel sees it
// (the direct map). On the host `virt_base` is an mmap'd region.
struct RamRange {
  PhysAddr phys_base = 0;
  uintptr_t virt_base = 0;
  uint64_t size = 0;
};

template <typename P>
concept Platform = requires(const char* text, size_t n, uint64_t bytes, RamRange* range,
                            const RamRange& held) {
  { P::kName } -> std::convertible_to<const char*>;
  { P::Write(text, n) } -> std::same_as<void>;       // console output, any thread
  { P::Panic(text) } -> std::same_as<void>;          // print and stop; never returns
  { P::NowNs() } -> std::same_as<uint64_t>;          // monotonic nanoseconds
  // This cpu, < kMaxCpus. On the host a cpu is a slot unique among live threads,
  // recycled when its thread exits (after the cpu-dead callback has run on it).
  { P::CpuId() } -> std::same_as<unsigned>;
  { P::NumCpus() } -> std::same_as<unsigned>;        // cpus present (>= 1)
  // The boot-time RAM grant: `bytes` of RAM (0: the platform's default, host 256 MiB,
  // a kernel all free RAM), page-aligned; false if it cannot be had.
  { P::AcquireRam(bytes, range) } -> std::same_as<bool>;
  { P::ReleaseRam(held) } -> std::same_as<void>;     // at shutdown
  // Registers the function called, on the dying cpu, when a cpu goes away (host:
  // a thread exits), so per-cpu caches can be returned (Linux's CPU hot-unplug).
  { P::SetCpuDeadCallback(static_cast<void (*)(unsigned)>(nullptr)) } -> std::same_as<void>;
  // Threads (host only; used for kswapd). StartThread runs fn(arg) on a new
  // thread and returns a handle != 0, or 0 when the platform has no threads
  // (the RISC-V kernel: the caller then does the work synchronously).
  // JoinThread waits for it. WaitOnWord blocks while *word == expected, at most
  // timeout_ns (futex-like; may return early); WakeWord wakes every waiter.
  { P::StartThread(static_cast<void (*)(void*)>(nullptr), static_cast<void*>(nullptr)) }
      -> std::same_as<uintptr_t>;
  { P::JoinThread(uintptr_t{0}) } -> std::same_as<void>;
  { P::WaitOnWord(static_cast<std::atomic<uint32_t>*>(nullptr), uint32_t{0}, uint64_t{0}) }
      -> std::same_as<void>;
  { P::WakeWord(static_cast<std::atomic<uint32_t>*>(nullptr)) } -> std::same_as<void>;
};

namespace platform {
// The hooks (Panic and Write are declared in mm/base/panic.h).
uint64_t NowNs();
unsigned CpuId();
unsigned NumCpus();
bool AcquireRam(uint64_t bytes, RamRange* range);
void ReleaseRam(const RamRange& range);
void SetCpuDeadCallback(void (*callback)(unsigned cpu));
const char* Name();
uintptr_t StartThread(void (*fn)(void*), void* arg);  // 0: no threads on this platform
void JoinThread(uintptr_t handle);
void WaitOnWord(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns);
void WakeWord(std::atomic<uint32_t>* word);

// CpuId() for fast paths. In a hosted build (the host platform) the calling
// thread's slot is read inline from a thread variable the host platform keeps
// (~0u until the thread's first CpuId()), as tcmalloc reads its rseq cpu id; a
// freestanding build (-ffreestanding: __STDC_HOSTED__ == 0) calls the hook.
#if __STDC_HOSTED__
extern __thread unsigned host_cpu_slot;
inline unsigned FastCpuId() {
  const unsigned slot = host_cpu_slot;
  return __builtin_expect(slot != ~0u, 1) ? slot : CpuId();
}
// True once the calling thread has its slot, so that FastCpuId() is a plain
// load: a caller that tests this first and takes its first call on a thread
// out of line leaves no call in its inlined fast path (and so no
// callee-saved registers to spill around it).
inline bool FastCpuIdReady() { return host_cpu_slot != ~0u; }
#else
inline unsigned FastCpuId() { return CpuId(); }
inline bool FastCpuIdReady() { return true; }
#endif
}  // namespace platform

}  // namespace mm

// Emits mm::platform::* for the platform class P; use once, in P's .cc file.
#define MM_DEFINE_PLATFORM(P)                                                            \
  static_assert(::mm::Platform<P>, #P " does not satisfy the mm::Platform contract");    \
  namespace mm::platform {                                                               \
  [[noreturn]] void Panic(const char* m) {                                               \
    P::Panic(m);                                                                         \
    __builtin_unreachable();                                                             \
  }                                                                                      \
  void Write(const char* t, size_t n) { P::Write(t, n); }                                \
  uint64_t NowNs() { return P::NowNs(); }                                                \
  unsigned CpuId() { return P::CpuId(); }                                                \
  unsigned NumCpus() { return P::NumCpus(); }                                            \
  bool AcquireRam(uint64_t b, RamRange* r) { return P::AcquireRam(b, r); }               \
  void ReleaseRam(const RamRange& r) { P::ReleaseRam(r); }                               \
  void SetCpuDeadCallback(void (*f)(unsigned)) { P::SetCpuDeadCallback(f); }             \
  const char* Name() { return P::kName; }                                                \
  uintptr_t StartThread(void (*f)(void*), void* a) { return P::StartThread(f, a); }       \
  void JoinThread(uintptr_t h) { P::JoinThread(h); }                                     \
  void WaitOnWord(std::atomic<uint32_t>* w, uint32_t e, uint64_t t) { P::WaitOnWord(w, e, t); } \
  void WakeWord(std::atomic<uint32_t>* w) { P::WakeWord(w); }                            \
  }

#endif  // MM_PLATFORM_PLATFORM_H_
