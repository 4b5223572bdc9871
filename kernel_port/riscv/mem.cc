// The mem* functions GCC may call even in freestanding code, and that mm/ may
// call (the only libc symbols it is allowed). Byte loops: simple and correct;
// built with -fno-tree-loop-distribute-patterns so GCC cannot turn a loop back
// into a call to the very function being defined.
#include <cstddef>
#include <cstdint>

extern "C" {

// Fills n bytes at d with (unsigned char)c; returns d.
void* memset(void* d, int c, size_t n) {
  auto* p = static_cast<unsigned char*>(d);
  while (n-- != 0) *p++ = static_cast<unsigned char>(c);
  return d;
}

// Copies n bytes from s to d (the ranges must not overlap); returns d.
void* memcpy(void* __restrict d, const void* __restrict s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  const auto* sp = static_cast<const unsigned char*>(s);
  while (n-- != 0) *dp++ = *sp++;
  return d;
}

// Copies n bytes from s to d; the ranges may overlap; returns d.
void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  const auto* sp = static_cast<const unsigned char*>(s);
  if (reinterpret_cast<uintptr_t>(dp) <= reinterpret_cast<uintptr_t>(sp)) {
    while (n-- != 0) *dp++ = *sp++;
  } else {
    dp += n;
    sp += n;
    while (n-- != 0) *--dp = *--sp;
  }
  return d;
}

// Compares n bytes as unsigned chars: <0, 0 or >0 like the first difference.
int memcmp(const void* a, const void* b, size_t n) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

}  // extern "C"
