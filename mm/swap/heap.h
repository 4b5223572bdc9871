// IndexHeap: a binary min-heap of frame ids ordered by a caller-owned key
// array, with a position index so any member can be re-keyed in O(log n).
//
// Invariants: heap_[0..size_) holds distinct frames; pos_[heap_[i]] == i for
// them and pos_[f] == kAbsent otherwise; key(heap_[parent(i)]) <= key(heap_[i]).
#ifndef MM_SWAP_HEAP_H_
#define MM_SWAP_HEAP_H_

#include <cstddef>
#include <cstdint>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"

namespace mm::swap {

// Less(a, b): a strict weak order on frames ("a should be evicted before b").
template <typename Less>
class IndexHeap {
 public:
  static constexpr uint32_t kAbsent = ~uint32_t{0};
  static size_t RequiredBytes(uint32_t n) { return 2 * ArenaBytes<uint32_t>(n); }

  void Init(uint32_t n, Arena& arena, Less less) {
    heap_ = arena.Take<uint32_t>(n);
    pos_ = arena.Take<uint32_t>(n);
    for (uint32_t i = 0; i < n; ++i) pos_[i] = kAbsent;
    less_ = less;
    size_ = 0;
  }

  bool Contains(uint32_t f) const { return pos_[f] != kAbsent; }
  uint32_t size() const { return size_; }
  uint32_t Top() const { return heap_[0]; }

  void Push(uint32_t f) {
    MM_DCHECK(pos_[f] == kAbsent);
    heap_[size_] = f;
    pos_[f] = size_;
    Up(size_++);
  }
  void Erase(uint32_t f) {
    const uint32_t i = pos_[f];
    MM_DCHECK(i != kAbsent);
    pos_[f] = kAbsent;
    if (i == --size_) return;
    heap_[i] = heap_[size_];
    pos_[heap_[i]] = i;
    Fix(i);
  }
  uint32_t Pop() {
    const uint32_t f = heap_[0];
    Erase(f);
    return f;
  }
  // f's key changed: restore the order.
  void Update(uint32_t f) { Fix(pos_[f]); }

  void CheckInvariants() const {
    for (uint32_t i = 0; i < size_; ++i) {
      MM_CHECK(pos_[heap_[i]] == i);
      if (i > 0) MM_CHECK(!less_(heap_[i], heap_[(i - 1) / 2]));
    }
  }

 private:
  void Fix(uint32_t i) {
    if (i > 0 && less_(heap_[i], heap_[(i - 1) / 2]))
      Up(i);
    else
      Down(i);
  }
  void Up(uint32_t i) {
    const uint32_t f = heap_[i];
    while (i > 0) {
      const uint32_t parent = (i - 1) / 2;
      if (!less_(f, heap_[parent])) break;
      heap_[i] = heap_[parent];
      pos_[heap_[i]] = i;
      i = parent;
    }
    heap_[i] = f;
    pos_[f] = i;
  }
  void Down(uint32_t i) {
    const uint32_t f = heap_[i];
    for (;;) {
      uint32_t child = 2 * i + 1;
      if (child >= size_) break;
      if (child + 1 < size_ && less_(heap_[child + 1], heap_[child])) ++child;
      if (!less_(heap_[child], f)) break;
      heap_[i] = heap_[child];
      pos_[heap_[i]] = i;
      i = child;
    }
    heap_[i] = f;
    pos_[f] = i;
  }

  uint32_t* heap_ = nullptr;
  uint32_t* pos_ = nullptr;
  uint32_t size_ = 0;
  Less less_{};
};

}  // namespace mm::swap

#endif  // MM_SWAP_HEAP_H_
