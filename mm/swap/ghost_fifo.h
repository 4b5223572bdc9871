// GhostFifo: a bounded FIFO of non-resident page ids, each with a 64-bit value
// (e.g. an eviction timestamp), with O(1) lookup by page. Holds the history of
// S3-FIFO's ghost queue and Linux's shadow entries. When full, inserting drops
// the oldest entry.
//
// Invariants:
//   - ring_[(head_ + i) % capacity_] for i < count_ are the entries, oldest
//     first; an entry whose page was Remove()d is a hole (page kHole) that
//     still occupies its place until it reaches the head.
//   - map_ holds page -> ring index exactly for the non-hole entries.
#ifndef MM_SWAP_GHOST_FIFO_H_
#define MM_SWAP_GHOST_FIFO_H_

#include <cstddef>
#include <cstdint>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"

namespace mm::swap {

class GhostFifo {
 public:
  static constexpr PageId kHole = ~PageId{0};
  static constexpr uint32_t kNotFound = PageMap::kNotFound;

  static size_t RequiredBytes(uint32_t capacity) {
    return PageMap::RequiredBytes(capacity) + ArenaBytes<PageId>(capacity) +
           ArenaBytes<uint64_t>(capacity);
  }

  void Init(uint32_t capacity, Arena& arena) {
    MM_CHECK(capacity >= 1);
    capacity_ = capacity;
    map_.Init(capacity, arena);
    pages_ = arena.Take<PageId>(capacity);
    values_ = arena.Take<uint64_t>(capacity);
  }

  // The ring index of `page`'s entry, or kNotFound.
  uint32_t Find(PageId page) const { return map_.Find(page); }
  uint64_t ValueAt(uint32_t index) const { return values_[index]; }
  bool Contains(PageId page) const { return Find(page) != kNotFound; }

  // Appends (page, value) as the newest entry; an older entry for the same
  // page is removed first.
  void Insert(PageId page, uint64_t value) {
    Remove(page);
    if (count_ == capacity_) DropOldest();
    const uint32_t i = static_cast<uint32_t>((head_ + count_) % capacity_);
    pages_[i] = page;
    values_[i] = value;
    map_.Insert(page, i);
    ++count_;
  }

  // Forgets `page` if present (its slot becomes a hole).
  bool Remove(PageId page) {
    const uint32_t i = map_.Find(page);
    if (i == kNotFound) return false;
    pages_[i] = kHole;
    map_.Erase(page);
    return true;
  }

  uint32_t size() const { return map_.size(); }  // live entries
  uint32_t capacity() const { return capacity_; }

  void CheckInvariants() const {
    MM_CHECK(count_ <= capacity_);
    uint32_t live = 0;
    for (uint32_t k = 0; k < count_; ++k) {
      const uint32_t i = static_cast<uint32_t>((head_ + k) % capacity_);
      if (pages_[i] == kHole) continue;
      ++live;
      MM_CHECK(map_.Find(pages_[i]) == i);
    }
    MM_CHECK(live == map_.size());
  }

 private:
  void DropOldest() {
    if (pages_[head_] != kHole) map_.Erase(pages_[head_]);
    head_ = (head_ + 1) % capacity_;
    --count_;
  }

  PageMap map_;
  PageId* pages_ = nullptr;
  uint64_t* values_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_GHOST_FIFO_H_
