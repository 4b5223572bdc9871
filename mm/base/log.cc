#include "mm/base/log.h"

#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/base/panic.h"

namespace mm {
namespace {

void ConsoleSink(const char* text, size_t length, void*) { platform::Write(text, length); }

LogHandler g_handler = ConsoleSink;
void* g_context = nullptr;

}  // namespace

LogHandler SetLogHandler(LogHandler handler, void* context, void** previous_context) {
  LogHandler old = g_handler;
  if (previous_context != nullptr) *previous_context = g_context;
  g_handler = handler != nullptr ? handler : ConsoleSink;
  g_context = handler != nullptr ? context : nullptr;
  return old == ConsoleSink ? nullptr : old;
}

void VPrintk(const char* fmt, va_list args) {
  char buf[2048];
  size_t n = FormatV(buf, sizeof buf, fmt, args);
  if (n >= sizeof buf) n = sizeof buf - 1;
  g_handler(buf, n, g_context);
}

void Printk(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  VPrintk(fmt, args);
  va_end(args);
}

int RejectBootWord(const char* word, size_t len, const char* why) {
  Printk("mm_boot: bad command-line word '%.*s': %s\n", static_cast<int>(len), word, why);
  return -kEINVAL;
}

[[noreturn]] void PanicAt(const char* function, const char* file, int line, const char* what) {
  char buf[512];
  Format(buf, sizeof buf, "Kernel panic - %s: check failed: %s (%s:%d)\n", function, what, file,
         line);
  platform::Panic(buf);
}

}  // namespace mm
