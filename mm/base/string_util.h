// Small freestanding string helpers.
#ifndef MM_BASE_STRING_UTIL_H_
#define MM_BASE_STRING_UTIL_H_

#include <cstddef>
#include <cstdint>

namespace mm {

size_t StrLen(const char* s);
bool StrEq(const char* a, const char* b);
// True when the n bytes at a equal the NUL-terminated b and b has length n.
bool StrEqN(const char* a, size_t n, const char* b);
bool StartsWith(const char* s, const char* prefix);
// Copies at most size-1 bytes and NUL-terminates; returns StrLen(src).
size_t StrCopy(char* dst, size_t size, const char* src);

// Parses a decimal unsigned integer that spans exactly [s, s+n). False if
// empty, non-digit or overflowing.
bool ParseU64(const char* s, size_t n, uint64_t* out);
// Parses a size with an optional K/M/G/T suffix (binary units), like memparse().
bool ParseSize(const char* s, size_t n, uint64_t* out);

}  // namespace mm

#endif  // MM_BASE_STRING_UTIL_H_
