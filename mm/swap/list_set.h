// ListSet: up to kMaxLists doubly-linked lists threaded through one array of
// nodes 0..nodes-1 (indices, no pointers), living in an arena. Policies use it
// for their queues and stacks: resident frames and history slots are nodes.
//
// Invariants:
//   - A node is in at most one list; list_[n] names it (kNone when in none).
//   - For list l: walking next_ from head_[l] visits size_[l] nodes, each with
//     list_ == l, ends at kNil at tail_[l], and prev_ mirrors next_.
// "Front" is the head (most recently pushed by PushFront), "back" the tail.
#ifndef MM_SWAP_LIST_SET_H_
#define MM_SWAP_LIST_SET_H_

#include <cstddef>
#include <cstdint>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"

namespace mm::swap {

class ListSet {
 public:
  static constexpr uint32_t kNil = ~uint32_t{0};
  static constexpr uint8_t kNone = 0xff;
  static constexpr unsigned kMaxLists = 8;

  static size_t RequiredBytes(uint32_t nodes) {
    return 2 * ArenaBytes<uint32_t>(nodes) + ArenaBytes<uint8_t>(nodes);
  }

  ListSet() = default;
  ListSet(const ListSet&) = delete;
  ListSet& operator=(const ListSet&) = delete;

  void Init(uint32_t nodes, Arena& arena) {
    nodes_ = nodes;
    prev_ = arena.Take<uint32_t>(nodes);
    next_ = arena.Take<uint32_t>(nodes);
    list_ = arena.Take<uint8_t>(nodes);
    for (uint32_t i = 0; i < nodes; ++i) list_[i] = kNone;
    for (unsigned l = 0; l < kMaxLists; ++l) head_[l] = tail_[l] = kNil, size_[l] = 0;
  }

  uint32_t Front(unsigned l) const { return head_[l]; }
  uint32_t Back(unsigned l) const { return tail_[l]; }
  uint32_t Next(uint32_t n) const { return next_[n]; }  // toward the back
  uint32_t Prev(uint32_t n) const { return prev_[n]; }  // toward the front
  uint32_t size(unsigned l) const { return size_[l]; }
  bool empty(unsigned l) const { return size_[l] == 0; }
  uint8_t ListOf(uint32_t n) const { return list_[n]; }
  bool InList(uint32_t n, unsigned l) const { return list_[n] == l; }

  void PushFront(unsigned l, uint32_t n) {
    MM_DCHECK(list_[n] == kNone);
    prev_[n] = kNil;
    next_[n] = head_[l];
    if (head_[l] != kNil)
      prev_[head_[l]] = n;
    else
      tail_[l] = n;
    head_[l] = n;
    list_[n] = static_cast<uint8_t>(l);
    ++size_[l];
  }

  void PushBack(unsigned l, uint32_t n) {
    MM_DCHECK(list_[n] == kNone);
    next_[n] = kNil;
    prev_[n] = tail_[l];
    if (tail_[l] != kNil)
      next_[tail_[l]] = n;
    else
      head_[l] = n;
    tail_[l] = n;
    list_[n] = static_cast<uint8_t>(l);
    ++size_[l];
  }

  // Unlinks n from its list (n must be in one).
  void Remove(uint32_t n) {
    const uint8_t l = list_[n];
    MM_DCHECK(l != kNone);
    if (prev_[n] != kNil)
      next_[prev_[n]] = next_[n];
    else
      head_[l] = next_[n];
    if (next_[n] != kNil)
      prev_[next_[n]] = prev_[n];
    else
      tail_[l] = prev_[n];
    list_[n] = kNone;
    --size_[l];
  }

  void MoveToFront(unsigned l, uint32_t n) {
    Remove(n);
    PushFront(l, n);
  }
  void MoveToBack(unsigned l, uint32_t n) {
    Remove(n);
    PushBack(l, n);
  }

  // Puts `replacement` (in no list) where `n` is, in n's list; n leaves it.
  void Replace(uint32_t n, uint32_t replacement) {
    const uint8_t l = list_[n];
    MM_DCHECK(l != kNone && list_[replacement] == kNone);
    prev_[replacement] = prev_[n];
    next_[replacement] = next_[n];
    if (prev_[n] != kNil)
      next_[prev_[n]] = replacement;
    else
      head_[l] = replacement;
    if (next_[n] != kNil)
      prev_[next_[n]] = replacement;
    else
      tail_[l] = replacement;
    list_[replacement] = l;
    list_[n] = kNone;
  }

  // Appends all of list `from` to the back of list `to` (O(size(from)) to
  // relabel the nodes).
  void SpliceBack(unsigned to, unsigned from) {
    for (uint32_t n = head_[from]; n != kNil; n = next_[n]) list_[n] = static_cast<uint8_t>(to);
    if (head_[from] == kNil) return;
    if (tail_[to] != kNil) {
      next_[tail_[to]] = head_[from];
      prev_[head_[from]] = tail_[to];
    } else {
      head_[to] = head_[from];
    }
    tail_[to] = tail_[from];
    size_[to] += size_[from];
    head_[from] = tail_[from] = kNil;
    size_[from] = 0;
  }

  // O(nodes): the invariants above for lists 0..lists-1.
  void CheckInvariants(unsigned lists) const {
    uint64_t total = 0;
    for (unsigned l = 0; l < lists; ++l) {
      uint32_t count = 0;
      uint32_t prev = kNil;
      for (uint32_t n = head_[l]; n != kNil; n = next_[n]) {
        MM_CHECK(n < nodes_ && list_[n] == l && prev_[n] == prev);
        prev = n;
        ++count;
        MM_CHECK(count <= size_[l]);
      }
      MM_CHECK(count == size_[l] && tail_[l] == prev);
      total += count;
    }
    uint64_t labelled = 0;
    for (uint32_t n = 0; n < nodes_; ++n) labelled += list_[n] != kNone;
    MM_CHECK(labelled == total);
  }

 private:
  uint32_t* prev_ = nullptr;
  uint32_t* next_ = nullptr;
  uint8_t* list_ = nullptr;
  uint32_t nodes_ = 0;
  uint32_t head_[kMaxLists];
  uint32_t tail_[kMaxLists];
  uint32_t size_[kMaxLists];
};

}  // namespace mm::swap

#endif  // MM_SWAP_LIST_SET_H_
