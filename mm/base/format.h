// printf-style formatting into caller buffers (freestanding; no heap, no libc).
//
// Supported conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers h hh l ll z
// t j, flags '-' '0' '+' ' ' '#', width and precision (also '*'). Like snprintf:
// writes at most size-1 bytes plus a NUL and returns the length the full text has.
#ifndef MM_BASE_FORMAT_H_
#define MM_BASE_FORMAT_H_

#include <cstdarg>
#include <cstddef>

namespace mm {

size_t FormatV(char* buf, size_t size, const char* fmt, va_list args);
size_t Format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// Appends formatted text to a fixed buffer, remembering the full length that the
// text would have had (so /proc readers can report the size, like seq_file).
class TextBuffer {
 public:
  TextBuffer(char* buf, size_t size) : buf_(buf), size_(size) {
    if (size_ > 0) buf_[0] = '\0';
  }
  void Append(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void AppendV(const char* fmt, va_list args);
  void Put(const char* text);
  void PutChar(char c);
  size_t length() const { return length_; }  // full length, even past the buffer
  const char* data() const { return buf_; }
  bool truncated() const { return length_ + 1 > size_; }

 private:
  char* buf_;
  size_t size_;
  size_t length_ = 0;
};

}  // namespace mm

#endif  // MM_BASE_FORMAT_H_
