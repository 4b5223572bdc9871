#include "kernel_port/riscv/sbi.h"

namespace mm::riscv {
namespace {

// SBI calling convention (SBI spec v1.0, "Binary Encoding"): a7 = extension id
// (EID), a6 = function id (FID), arguments in a0..a5; the firmware returns
// a0 = error (0 = SBI_SUCCESS, negative SBI_ERR_*) and a1 = value.
struct SbiRet {
  long error;
  long value;
};

constexpr long kEidBase = 0x10;         // Base extension
constexpr long kFidProbeExtension = 3;  // sbi_probe_extension(eid): value != 0 if present
constexpr long kEidSrst = 0x53525354;   // "SRST": System Reset extension
constexpr long kFidSystemReset = 0;     // sbi_system_reset(reset_type, reset_reason)
constexpr long kResetTypeShutdown = 0;  // reset_type 0 = shutdown (1 cold, 2 warm reboot)

SbiRet SbiCall(long eid, long fid, long arg0, long arg1) {
  register long a0 asm("a0") = arg0;
  register long a1 asm("a1") = arg1;
  register long a6 asm("a6") = fid;
  register long a7 asm("a7") = eid;
  asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
  return {a0, a1};
}

}  // namespace

bool SbiProbeExtension(long extension_id) {
  SbiRet r = SbiCall(kEidBase, kFidProbeExtension, extension_id, 0);
  return r.error == 0 && r.value != 0;
}

void SbiShutdown(ShutdownReason reason) {
  SbiCall(kEidSrst, kFidSystemReset, kResetTypeShutdown, static_cast<long>(reason));
  for (;;) asm volatile("wfi");
}

}  // namespace mm::riscv
