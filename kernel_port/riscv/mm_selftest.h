// The seam between the kernel's boot code and mm/: boot mm/ from the kernel
// command line, exercise it, and shut it down again.
#ifndef KERNEL_PORT_RISCV_MM_SELFTEST_H_
#define KERNEL_PORT_RISCV_MM_SELFTEST_H_

namespace mm::riscv {

// Boots mm/ with `cmdline` (the /chosen bootargs), runs the self-test and
// prints the /proc views to the console. True on success; on failure false,
// with a static reason in *why.
bool RunMmSelftest(const char* cmdline, const char** why);

}  // namespace mm::riscv

#endif  // KERNEL_PORT_RISCV_MM_SELFTEST_H_
