// The RISC-V kernel's platform (mm/platform/platform.h): QEMU virt under
// OpenSBI, one hart, no paging (physical == virtual), console on UART0.
#ifndef KERNEL_PORT_RISCV_RISCV_PLATFORM_H_
#define KERNEL_PORT_RISCV_RISCV_PLATFORM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/platform/platform.h"

namespace mm {

// What the boot code learned before mm/ starts (from a0 and the device tree).
struct RiscvBootConfig {
  unsigned hart_id = 0;
  uint64_t dram_base = 0;  // /memory reg
  uint64_t dram_size = 0;
  uint64_t timebase_hz = 0;  // /cpus timebase-frequency (rdtime ticks per second)
  uintptr_t kernel_end = 0;  // first byte after the kernel image and its stack
};

struct RiscvPlatform {
  static constexpr const char* kName = "riscv64-qemu-virt";
  // Free RAM starts at the end of the kernel rounded up to this (a 2 MiB
  // megapage, so naturally aligned high-order buddy blocks are possible).
  static constexpr uint64_t kRamAlign = uint64_t{2} << 20;

  // Records the boot facts; call once, before any other member. Panics if they
  // are unusable (hart id >= kMaxCpus, kernel outside DRAM, zero timebase).
  static void Init(const RiscvBootConfig& config);
  // The free RAM range [start, end) that AcquireRam hands out.
  static uint64_t FreeRamStart();
  static uint64_t FreeRamEnd();

  static void Write(const char* text, size_t n);        // UART0
  [[noreturn]] static void Panic(const char* message);  // print, SBI shutdown (failure)
  static uint64_t NowNs();                              // rdtime scaled by the timebase
  static unsigned CpuId();                              // the boot hart's id
  static unsigned NumCpus();                            // 1
  // From the kernel end (kRamAlign-aligned) upwards: all of it when bytes == 0,
  // else `bytes` rounded up to a page; false if that is more than there is.
  // phys_base == virt_base (no paging). Every call returns the same start.
  static bool AcquireRam(uint64_t bytes, RamRange* range);
  static void ReleaseRam(const RamRange& range);  // no-op: the RAM stays the kernel's
  static void SetCpuDeadCallback(void (*callback)(unsigned cpu));  // stored; cpus never die
  // No threads: StartThread returns 0 (kswapd's work runs synchronously in the
  // allocation path); waits return at once.
  static uintptr_t StartThread(void (*)(void*), void*) { return 0; }
  static void JoinThread(uintptr_t) {}
  static void WaitOnWord(std::atomic<uint32_t>*, uint32_t, uint64_t) {}
  static void WakeWord(std::atomic<uint32_t>*) {}
};

}  // namespace mm

#endif  // KERNEL_PORT_RISCV_RISCV_PLATFORM_H_
