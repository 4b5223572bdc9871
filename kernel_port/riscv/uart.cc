#include "kernel_port/riscv/uart.h"

namespace mm::riscv {
namespace {

// NS16550A register offsets (bytes from the base; reg-shift 0):
//   0  THR  Transmit Holding Register (write; DLAB = 0)
//   5  LSR  Line Status Register (read)
constexpr uintptr_t kThr = 0;
constexpr uintptr_t kLsr = 5;

// LSR bits: 0 DR data ready, 1 OE overrun, 2 PE parity error, 3 FE framing error,
// 4 BI break, 5 THRE transmit holding register empty (THR may be written),
// 6 TEMT transmitter fully empty, 7 error in receive FIFO.
constexpr uint8_t kLsrThre = 1u << 5;

volatile uint8_t* Reg(uintptr_t offset) {
  return reinterpret_cast<volatile uint8_t*>(kVirtUart0Base + offset);
}

void PutRaw(char c) {
  while ((*Reg(kLsr) & kLsrThre) == 0) {
  }
  *Reg(kThr) = static_cast<uint8_t>(c);
}

}  // namespace

void UartWrite(const char* text, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (text[i] == '\n') PutRaw('\r');
    PutRaw(text[i]);
  }
}

void UartPuts(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  UartWrite(text, n);
}

}  // namespace mm::riscv
