#include "kernel_port/riscv/riscv_platform.h"

#include "kernel_port/riscv/sbi.h"
#include "kernel_port/riscv/uart.h"
#include "mm/base/bits.h"

namespace mm {
namespace {

RiscvBootConfig g_config;
void (*g_cpu_dead)(unsigned) = nullptr;

// The `time` CSR (read by the rdtime pseudo-instruction) counts at the
// timebase frequency; OpenSBI enables S-mode access through mcounteren.TM.
uint64_t ReadTime() {
  uint64_t t;
  asm volatile("rdtime %0" : "=r"(t));
  return t;
}

}  // namespace

void RiscvPlatform::Init(const RiscvBootConfig& config) {
  g_config = config;
  if (config.hart_id >= kMaxCpus) Panic("RiscvPlatform::Init: hart id >= kMaxCpus\n");
  if (config.timebase_hz == 0) Panic("RiscvPlatform::Init: zero timebase frequency\n");
  if (config.kernel_end < config.dram_base ||
      config.kernel_end > config.dram_base + config.dram_size) {
    Panic("RiscvPlatform::Init: kernel image is not inside DRAM\n");
  }
}

uint64_t RiscvPlatform::FreeRamStart() { return AlignUp(g_config.kernel_end, kRamAlign); }

uint64_t RiscvPlatform::FreeRamEnd() {
  return AlignDown(g_config.dram_base + g_config.dram_size, kPageSize);
}

void RiscvPlatform::Write(const char* text, size_t n) { riscv::UartWrite(text, n); }

void RiscvPlatform::Panic(const char* message) {
  size_t n = 0;
  while (message[n] != '\0') ++n;
  riscv::UartWrite(message, n);
  if (n == 0 || message[n - 1] != '\n') riscv::UartPuts("\n");
  riscv::UartPuts("KERNEL_PANIC: powering off (SBI SRST, reason: system failure)\n");
  riscv::SbiShutdown(riscv::ShutdownReason::kSystemFailure);
}

uint64_t RiscvPlatform::NowNs() {
  // ticks * 1e9 / hz without 128-bit arithmetic: whole seconds, then the rest.
  const uint64_t ticks = ReadTime();
  const uint64_t hz = g_config.timebase_hz;
  return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

unsigned RiscvPlatform::CpuId() { return g_config.hart_id; }

unsigned RiscvPlatform::NumCpus() { return 1; }

bool RiscvPlatform::AcquireRam(uint64_t bytes, RamRange* range) {
  const uint64_t start = FreeRamStart();
  const uint64_t end = FreeRamEnd();
  if (start >= end) return false;
  const uint64_t available = end - start;
  if (bytes == 0) {
    bytes = available;
  } else {
    if (bytes > available) return false;
    bytes = AlignUp(bytes, kPageSize);
    if (bytes > available) return false;
  }
  range->phys_base = start;
  range->virt_base = static_cast<uintptr_t>(start);
  range->size = bytes;
  return true;
}

void RiscvPlatform::ReleaseRam(const RamRange&) {}

void RiscvPlatform::SetCpuDeadCallback(void (*callback)(unsigned)) { g_cpu_dead = callback; }

}  // namespace mm

MM_DEFINE_PLATFORM(mm::RiscvPlatform)
