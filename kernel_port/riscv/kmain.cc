// The kernel's C++ entry: read the device tree, set up the platform, run the
// self-tests, report KERNEL_SELFTEST: PASS/FAIL on the console and power off.
#include <cstddef>
#include <cstdint>

#include "kernel_port/riscv/fdt.h"
#include "kernel_port/riscv/mm_selftest.h"
#include "kernel_port/riscv/riscv_platform.h"
#include "kernel_port/riscv/sbi.h"
#include "mm/base/bits.h"
#include "mm/base/format.h"
#include "mm/base/log.h"
#include "mm/base/string_util.h"

extern "C" {
// From kernel.ld.
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
extern char __kernel_end[];
}

namespace mm::riscv {
namespace {

// The kernel command line, copied out of the device tree (which lies in DRAM
// that mm/ may be given).
char g_cmdline[1024];

// Prints the verdict and powers off; reason = system failure unless `ok`.
[[noreturn]] void Finish(bool ok, const char* why) {
  if (ok) {
    Printk("KERNEL_SELFTEST: PASS\n");
    SbiShutdown(ShutdownReason::kNone);
  }
  Printk("KERNEL_SELFTEST: FAIL: %s\n", why);
  SbiShutdown(ShutdownReason::kSystemFailure);
}

// Runs the C++ global constructors (mm/ may have some; .init_array).
void RunInitArray() {
  for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();
}

// Checks the platform contract on real hardware before mm/ relies on it.
bool PlatformSelftest(const char** why) {
  RamRange all;
  if (!RiscvPlatform::AcquireRam(0, &all)) {
    *why = "AcquireRam(0) failed";
    return false;
  }
  if (all.phys_base != all.virt_base || !IsAligned(all.phys_base, RiscvPlatform::kRamAlign) ||
      all.phys_base + all.size != RiscvPlatform::FreeRamEnd() || all.size == 0) {
    *why = "AcquireRam(0) returned a wrong range";
    return false;
  }
  RamRange r;
  if (RiscvPlatform::AcquireRam(all.size + kPageSize, &r)) {
    *why = "AcquireRam accepted more bytes than there are";
    return false;
  }
  if (!RiscvPlatform::AcquireRam(1, &r) || r.size != kPageSize || r.phys_base != all.phys_base) {
    *why = "AcquireRam(1) did not give one page at the start";
    return false;
  }
  // The first and last word of the range are real, writable RAM.
  auto* first = reinterpret_cast<volatile uint64_t*>(all.virt_base);
  auto* last = reinterpret_cast<volatile uint64_t*>(all.virt_base + all.size - 8);
  *first = 0x6c69626d6d000001ull;
  *last = 0x6c69626d6d000002ull;
  if (*first != 0x6c69626d6d000001ull || *last != 0x6c69626d6d000002ull) {
    *why = "free RAM does not read back what was written";
    return false;
  }
  const uint64_t t0 = RiscvPlatform::NowNs();
  uint64_t t1 = t0;
  for (int i = 0; i < 1000000 && t1 == t0; ++i) t1 = RiscvPlatform::NowNs();
  if (t1 <= t0) {
    *why = "NowNs does not advance";
    return false;
  }
  Printk("platform: %s, cpu %u of %u, free RAM %#lx-%#lx (%lu KiB)\n", RiscvPlatform::kName,
         RiscvPlatform::CpuId(), RiscvPlatform::NumCpus(),
         static_cast<unsigned long>(all.phys_base),
         static_cast<unsigned long>(all.phys_base + all.size),
         static_cast<unsigned long>(all.size >> 10));
  return true;
}

}  // namespace
}  // namespace mm::riscv

// Called from start.S with the registers OpenSBI passed: a0 = hart id, a1 = dtb.
extern "C" [[noreturn]] void kmain(unsigned long hart_id, uintptr_t dtb) {
  using namespace mm;
  using namespace mm::riscv;
  RunInitArray();
  Printk("libmm riscv64 kernel: hart %lu, device tree at %#lx\n", hart_id,
         static_cast<unsigned long>(dtb));

  Fdt fdt;
  BootInfo info;
  const char* error = nullptr;
  if (!fdt.Init(reinterpret_cast<const void*>(dtb), &error) || !ReadBootInfo(fdt, &info, &error)) {
    Printk("device tree: %s\n", error);
    Finish(false, "cannot read the device tree");
  }
  if (StrCopy(g_cmdline, sizeof g_cmdline, info.bootargs) >= sizeof g_cmdline) {
    Finish(false, "kernel command line longer than 1023 bytes");
  }
  Printk("dram: %#lx-%#lx (%lu MiB), timebase-frequency %lu Hz\n",
         static_cast<unsigned long>(info.ram_base),
         static_cast<unsigned long>(info.ram_base + info.ram_size),
         static_cast<unsigned long>(info.ram_size >> 20),
         static_cast<unsigned long>(info.timebase_hz));
  Printk("bootargs: \"%s\"\n", g_cmdline);

  RiscvPlatform::Init({
      .hart_id = static_cast<unsigned>(hart_id),
      .dram_base = info.ram_base,
      .dram_size = info.ram_size,
      .timebase_hz = info.timebase_hz,
      .kernel_end = reinterpret_cast<uintptr_t>(__kernel_end),
  });

  const char* why = "";
  const bool ok = PlatformSelftest(&why) && RunMmSelftest(g_cmdline, &why);
  Finish(ok, why);
}

// Called from start.S's trap vector: nothing should trap, so report and stop.
extern "C" [[noreturn]] void KernelTrap(uint64_t scause, uint64_t sepc, uint64_t stval) {
  char buf[160];
  mm::Format(buf, sizeof buf, "KernelTrap: unexpected trap scause=%#lx sepc=%#lx stval=%#lx\n",
             static_cast<unsigned long>(scause), static_cast<unsigned long>(sepc),
             static_cast<unsigned long>(stval));
  mm::RiscvPlatform::Panic(buf);
}
