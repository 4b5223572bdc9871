#include "mm/base/string_util.h"

namespace mm {

size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

bool StrEq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool StrEqN(const char* a, size_t n, const char* b) {
  for (size_t i = 0; i < n; ++i) {
    if (b[i] == '\0' || a[i] != b[i]) return false;
  }
  return b[n] == '\0';
}

bool StartsWith(const char* s, const char* prefix) {
  while (*prefix != '\0') {
    if (*s++ != *prefix++) return false;
  }
  return true;
}

size_t StrCopy(char* dst, size_t size, const char* src) {
  size_t n = StrLen(src);
  if (size > 0) {
    size_t k = n < size - 1 ? n : size - 1;
    for (size_t i = 0; i < k; ++i) dst[i] = src[i];
    dst[k] = '\0';
  }
  return n;
}

bool ParseU64(const char* s, size_t n, uint64_t* out) {
  if (n == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ParseSize(const char* s, size_t n, uint64_t* out) {
  if (n == 0) return false;
  unsigned shift = 0;
  switch (s[n - 1]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: break;
  }
  uint64_t v;
  if (!ParseU64(s, shift != 0 ? n - 1 : n, &v)) return false;
  if (shift != 0 && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

}  // namespace mm
