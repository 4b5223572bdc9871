// Bit and alignment helpers (constexpr, freestanding).
#ifndef MM_BASE_BITS_H_
#define MM_BASE_BITS_H_

#include <bit>
#include <cstdint>

namespace mm {

constexpr bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// floor(log2(x)); x must be non-zero. Without a count-leading-zeros
// instruction (RISC-V without Zbb) std::countl_zero becomes a call into libgcc,
// which mm/ must not need: there, a branch-light binary search instead.
constexpr unsigned Log2Floor(uint64_t x) {
#if defined(__riscv) && !defined(__riscv_zbb)
  unsigned r = 0;
  for (unsigned shift = 32; shift != 0; shift >>= 1) {
    if (x >> shift) {
      x >>= shift;
      r += shift;
    }
  }
  return r;
#else
  return 63u - static_cast<unsigned>(std::countl_zero(x));
#endif
}

// ceil(log2(x)); Log2Ceil(1) == 0. x must be non-zero.
constexpr unsigned Log2Ceil(uint64_t x) { return x <= 1 ? 0 : Log2Floor(x - 1) + 1; }

constexpr uint64_t RoundDownPowerOfTwo(uint64_t x) { return x == 0 ? 0 : uint64_t{1} << Log2Floor(x); }

// Round up/down to a multiple of `align`, which must be a power of two.
constexpr uint64_t AlignUp(uint64_t x, uint64_t align) { return (x + align - 1) & ~(align - 1); }
constexpr uint64_t AlignDown(uint64_t x, uint64_t align) { return x & ~(align - 1); }
constexpr bool IsAligned(uint64_t x, uint64_t align) { return (x & (align - 1)) == 0; }

// Integer square root (floor), as Linux's int_sqrt.
constexpr uint64_t IntSqrt(uint64_t x) {
  uint64_t r = 0;
  for (uint64_t bit = uint64_t{1} << 62; bit != 0; bit >>= 2) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

// a * b with overflow detection; returns false on overflow.
constexpr bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

}  // namespace mm

#endif  // MM_BASE_BITS_H_
