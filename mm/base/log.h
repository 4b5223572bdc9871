// The kernel log (printk). Every message goes to one sink: by default the
// platform console; tests install a handler to capture and check reports.
//
// Concurrency: SetLogHandler is not synchronised against concurrent Printk; set it
// while no other thread logs (tests do so between operations).
#ifndef MM_BASE_LOG_H_
#define MM_BASE_LOG_H_

#include <cstdarg>
#include <cstddef>

namespace mm {

// Receives each complete message (may hold several lines, ends with '\n').
using LogHandler = void (*)(const char* text, size_t length, void* context);

// Installs `handler` (nullptr restores the console) and returns the previous one.
LogHandler SetLogHandler(LogHandler handler, void* context, void** previous_context = nullptr);

// Formats (at most 2 KiB per message) and hands the text to the sink.
void Printk(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void VPrintk(const char* fmt, va_list args);

// Reports a kernel command-line word no layer accepts, as every layer's
// parser does ("mm_boot: bad command-line word 'WORD': WHY"); returns -EINVAL.
int RejectBootWord(const char* word, size_t len, const char* why);

}  // namespace mm

#endif  // MM_BASE_LOG_H_
