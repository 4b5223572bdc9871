// Arena: carves a caller-provided byte range into typed arrays (freestanding).
//
// Every policy in mm/swap takes all of its memory from one arena that the caller
// sizes with the policy's static RequiredBytes(). The arena never frees; a
// policy's arrays live as long as the policy does.
#ifndef MM_SWAP_ARENA_H_
#define MM_SWAP_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

#include "mm/base/panic.h"

namespace mm::swap {

// Bytes an arena must hold for `n` objects of type T, including worst-case
// alignment padding. RequiredBytes() functions sum these.
template <typename T>
constexpr size_t ArenaBytes(size_t n) {
  return n * sizeof(T) + alignof(T);
}

class Arena {
 public:
  explicit Arena(std::span<std::byte> memory) : next_(memory.data()), left_(memory.size()) {}

  // Returns `n` default-initialised (for trivial T: indeterminate) objects,
  // aligned for T. Panics when the arena is too small (a sizing bug).
  template <typename T>
  T* Take(size_t n) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(next_);
    const size_t pad = (alignof(T) - p % alignof(T)) % alignof(T);
    MM_CHECK(left_ >= pad && left_ - pad >= n * sizeof(T));
    T* out = reinterpret_cast<T*>(next_ + pad);
    next_ += pad + n * sizeof(T);
    left_ -= pad + n * sizeof(T);
    for (size_t i = 0; i < n; ++i) new (&out[i]) T();
    return out;
  }

  // Returns the next `n` bytes, aligned for any scalar, as a sub-arena.
  std::span<std::byte> TakeBytes(size_t n) {
    std::byte* p = reinterpret_cast<std::byte*>(Take<std::max_align_t>(0));
    MM_CHECK(left_ >= n);
    next_ += n;
    left_ -= n;
    return {p, n};
  }

  size_t left() const { return left_; }

 private:
  std::byte* next_;
  size_t left_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_ARENA_H_
