// Polled output to the NS16550A UART of QEMU's `virt` machine (the console that
// QEMU -nographic connects to stdio). OpenSBI has already programmed it.
#ifndef KERNEL_PORT_RISCV_UART_H_
#define KERNEL_PORT_RISCV_UART_H_

#include <cstddef>
#include <cstdint>

namespace mm::riscv {

// QEMU virt's UART0: registers are one byte apart (reg-shift 0) from this base.
inline constexpr uintptr_t kVirtUart0Base = 0x10000000;

// Writes `n` bytes to UART0, turning "\n" into "\r\n" for serial terminals.
// Busy-waits on the transmitter; not locked (one hart, no interrupts).
void UartWrite(const char* text, size_t n);

// Writes a NUL-terminated string to UART0 (as UartWrite).
void UartPuts(const char* text);

}  // namespace mm::riscv

#endif  // KERNEL_PORT_RISCV_UART_H_
