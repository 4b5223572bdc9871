#include "mm/base/format.h"

#include <cstdint>

namespace mm {
namespace {

// Output cursor with snprintf semantics: counts everything, stores what fits.
struct Sink {
  char* buf;
  size_t size;
  size_t n = 0;
  void Put(char c) {
    if (n + 1 < size) buf[n] = c;
    ++n;
  }
  void Repeat(char c, int count) {
    for (int i = 0; i < count; ++i) Put(c);
  }
};

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int width = 0;
  int precision = -1;
};

void EmitNumber(Sink& out, const Spec& spec, uint64_t value, bool negative, unsigned base,
                bool upper, const char* prefix) {
  char digits[24];
  int nd = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[nd++] = set[value % base];
    value /= base;
  } while (value != 0);
  if (spec.precision == 0 && nd == 1 && digits[0] == '0') nd = 0;
  char sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '\0';
  int prefix_len = 0;
  while (prefix != nullptr && prefix[prefix_len] != '\0') ++prefix_len;
  int zeros = spec.precision > nd ? spec.precision - nd : 0;
  int body = nd + zeros + prefix_len + (sign != '\0' ? 1 : 0);
  int pad = spec.width > body ? spec.width - body : 0;
  bool zero_pad = spec.zero && !spec.left && spec.precision < 0;
  if (!spec.left && !zero_pad) out.Repeat(' ', pad);
  if (sign != '\0') out.Put(sign);
  for (int i = 0; i < prefix_len; ++i) out.Put(prefix[i]);
  if (zero_pad) out.Repeat('0', pad);
  out.Repeat('0', zeros);
  while (nd > 0) out.Put(digits[--nd]);
  if (spec.left) out.Repeat(' ', pad);
}

void EmitString(Sink& out, const Spec& spec, const char* s) {
  if (s == nullptr) s = "(null)";
  int len = 0;
  while (s[len] != '\0' && (spec.precision < 0 || len < spec.precision)) ++len;
  int pad = spec.width > len ? spec.width - len : 0;
  if (!spec.left) out.Repeat(' ', pad);
  for (int i = 0; i < len; ++i) out.Put(s[i]);
  if (spec.left) out.Repeat(' ', pad);
}

}  // namespace

size_t FormatV(char* buf, size_t size, const char* fmt, va_list args) {
  Sink out{buf, size};
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      out.Put(*p);
      continue;
    }
    ++p;
    Spec spec;
    for (;; ++p) {
      if (*p == '-') spec.left = true;
      else if (*p == '0') spec.zero = true;
      else if (*p == '+') spec.plus = true;
      else if (*p == ' ') spec.space = true;
      else if (*p == '#') spec.alt = true;
      else break;
    }
    if (*p == '*') {
      spec.width = va_arg(args, int);
      if (spec.width < 0) {
        spec.left = true;
        spec.width = -spec.width;
      }
      ++p;
    } else {
      while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
    }
    if (*p == '.') {
      ++p;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
      }
    }
    int length = 0;  // 0 int, 1 long, 2 long long, -1 short, -2 char; size_t/ptrdiff as long
    for (;; ++p) {
      if (*p == 'l') ++length;
      else if (*p == 'h') --length;
      else if (*p == 'z' || *p == 't' || *p == 'j') length = 2;
      else break;
    }
    auto get_signed = [&]() -> int64_t {
      if (length >= 1) return length == 1 ? va_arg(args, long) : va_arg(args, long long);
      int v = va_arg(args, int);
      return length == -1 ? static_cast<short>(v) : length <= -2 ? static_cast<signed char>(v) : v;
    };
    auto get_unsigned = [&]() -> uint64_t {
      if (length >= 1) {
        return length == 1 ? va_arg(args, unsigned long) : va_arg(args, unsigned long long);
      }
      unsigned v = va_arg(args, unsigned);
      return length == -1 ? static_cast<unsigned short>(v)
             : length <= -2 ? static_cast<unsigned char>(v) : v;
    };
    switch (*p) {
      case 'd':
      case 'i': {
        int64_t v = get_signed();
        uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        EmitNumber(out, spec, mag, v < 0, 10, false, nullptr);
        break;
      }
      case 'u':
        EmitNumber(out, spec, get_unsigned(), false, 10, false, nullptr);
        break;
      case 'x':
      case 'X': {
        uint64_t v = get_unsigned();
        EmitNumber(out, spec, v, false, 16, *p == 'X',
                   spec.alt && v != 0 ? (*p == 'X' ? "0X" : "0x") : nullptr);
        break;
      }
      case 'o':
        EmitNumber(out, spec, get_unsigned(), false, 8, false, spec.alt ? "0" : nullptr);
        break;
      case 'p': {
        auto v = reinterpret_cast<uintptr_t>(va_arg(args, void*));
        EmitNumber(out, spec, v, false, 16, false, "0x");
        break;
      }
      case 'c': {
        char c = static_cast<char>(va_arg(args, int));
        char s[2] = {c, '\0'};
        EmitString(out, spec, s);
        break;
      }
      case 's':
        EmitString(out, spec, va_arg(args, const char*));
        break;
      case '%':
        out.Put('%');
        break;
      case '\0':
        --p;  // a lone '%' at the end: stop
        break;
      default:
        out.Put('%');
        out.Put(*p);
        break;
    }
  }
  if (size > 0) buf[out.n < size ? out.n : size - 1] = '\0';
  return out.n;
}

size_t Format(char* buf, size_t size, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  size_t n = FormatV(buf, size, fmt, args);
  va_end(args);
  return n;
}

void TextBuffer::AppendV(const char* fmt, va_list args) {
  size_t room = length_ < size_ ? size_ - length_ : 0;
  char scratch[1];
  size_t n = room > 0 ? FormatV(buf_ + length_, room, fmt, args) : FormatV(scratch, 0, fmt, args);
  length_ += n;
}

void TextBuffer::Append(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  AppendV(fmt, args);
  va_end(args);
}

void TextBuffer::Put(const char* text) {
  while (*text != '\0') PutChar(*text++);
}

void TextBuffer::PutChar(char c) {
  if (length_ + 1 < size_) {
    buf_[length_] = c;
    buf_[length_ + 1] = '\0';
  }
  ++length_;
}

}  // namespace mm
