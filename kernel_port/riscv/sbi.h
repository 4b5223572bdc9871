// Calls into the SBI firmware (OpenSBI) from S-mode: system reset (SRST).
#ifndef KERNEL_PORT_RISCV_SBI_H_
#define KERNEL_PORT_RISCV_SBI_H_

namespace mm::riscv {

// Why the machine is powered off; the SRST "reset_reason" values.
enum class ShutdownReason : unsigned long {
  kNone = 0,           // a normal shutdown
  kSystemFailure = 1,  // the kernel failed (panic, failed self-test)
};

// Powers the machine off through SBI SRST with `reason`. If the firmware lacks
// SRST (or the call returns) the hart parks in wfi forever.
[[noreturn]] void SbiShutdown(ShutdownReason reason);

// True if the firmware implements the SBI extension `extension_id`.
bool SbiProbeExtension(long extension_id);

}  // namespace mm::riscv

#endif  // KERNEL_PORT_RISCV_SBI_H_
