// PageMap: a fixed-capacity open-addressed hash map from page id to a 32-bit
// value (a frame or a history slot), living in an arena (freestanding).
//
// Invariants:
//   - capacity_ is a power of two >= 2 * max_entries, so the load factor stays
//     at or below 1/2 and every probe sequence ends at an empty slot.
//   - keys_[i] == kEmptyKey marks an empty slot; kEmptyKey is never a valid page.
//   - Linear probing with backward-shift deletion: for every occupied slot i,
//     all slots from Home(keys_[i]) up to i (cyclically) are occupied. No
//     tombstones, so lookups stay short after many erases.
//   - size_ == number of occupied slots <= max_entries_.
#ifndef MM_SWAP_PAGE_MAP_H_
#define MM_SWAP_PAGE_MAP_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/bits.h"
#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/policy.h"

namespace mm::swap {

class PageMap {
 public:
  static constexpr PageId kEmptyKey = ~PageId{0};
  static constexpr uint32_t kNotFound = ~uint32_t{0};

  static size_t Capacity(uint32_t max_entries) {
    return RoundUpPow2(2 * static_cast<uint64_t>(max_entries) + 2);
  }
  static size_t RequiredBytes(uint32_t max_entries) {
    const size_t cap = Capacity(max_entries);
    return ArenaBytes<PageId>(cap) + ArenaBytes<uint32_t>(cap);
  }

  PageMap() = default;
  PageMap(const PageMap&) = delete;
  PageMap& operator=(const PageMap&) = delete;

  // Takes RequiredBytes(max_entries) from `arena`; the map starts empty.
  void Init(uint32_t max_entries, Arena& arena) {
    capacity_ = Capacity(max_entries);
    mask_ = capacity_ - 1;
    shift_ = 64 - Log2Floor(capacity_);
    max_entries_ = max_entries;
    size_ = 0;
    keys_ = arena.Take<PageId>(capacity_);
    values_ = arena.Take<uint32_t>(capacity_);
    for (size_t i = 0; i < capacity_; ++i) keys_[i] = kEmptyKey;
  }

  // The value stored for `page`, or kNotFound.
  uint32_t Find(PageId page) const {
    for (size_t i = Home(page);; i = (i + 1) & mask_) {
      if (keys_[i] == page) return values_[i];
      if (keys_[i] == kEmptyKey) return kNotFound;
    }
  }

  // Inserts page -> value; `page` must be absent and the map not full.
  void Insert(PageId page, uint32_t value) {
    MM_DCHECK(page != kEmptyKey);
    MM_CHECK(size_ < max_entries_);
    size_t i = Home(page);
    while (keys_[i] != kEmptyKey) {
      MM_DCHECK(keys_[i] != page);
      i = (i + 1) & mask_;
    }
    keys_[i] = page;
    values_[i] = value;
    ++size_;
  }

  // Overwrites the value of a present page.
  void Update(PageId page, uint32_t value) {
    for (size_t i = Home(page);; i = (i + 1) & mask_) {
      if (keys_[i] == page) {
        values_[i] = value;
        return;
      }
      MM_CHECK(keys_[i] != kEmptyKey);
    }
  }

  // Removes `page`; returns false if it was absent.
  bool Erase(PageId page) {
    size_t i = Home(page);
    while (keys_[i] != page) {
      if (keys_[i] == kEmptyKey) return false;
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later members of the cluster into the hole when
    // their home position does not lie cyclically in (hole, j].
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; keys_[j] != kEmptyKey; j = (j + 1) & mask_) {
      const size_t home = Home(keys_[j]);
      const bool home_in_range =
          hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_in_range) {
        keys_[hole] = keys_[j];
        values_[hole] = values_[j];
        hole = j;
      }
    }
    keys_[hole] = kEmptyKey;
    --size_;
    return true;
  }

  uint32_t size() const { return size_; }
  uint32_t max_entries() const { return max_entries_; }
  // Iteration over the table: slot i holds KeyAt(i) (kEmptyKey: none) and
  // ValueAt(i). Erase may move a later key into the erased slot.
  uint32_t capacity() const { return static_cast<uint32_t>(capacity_); }
  PageId KeyAt(uint32_t i) const { return keys_[i]; }
  uint32_t ValueAt(uint32_t i) const { return values_[i]; }

  // O(capacity): the probing invariant above and the size count.
  void CheckInvariants() const {
    uint32_t n = 0;
    for (size_t i = 0; i < capacity_; ++i) {
      if (keys_[i] == kEmptyKey) continue;
      ++n;
      for (size_t k = Home(keys_[i]); k != i; k = (k + 1) & mask_) MM_CHECK(keys_[k] != kEmptyKey);
    }
    MM_CHECK(n == size_);
  }

 private:
  static uint64_t RoundUpPow2(uint64_t x) { return x <= 1 ? 1 : uint64_t{1} << Log2Ceil(x); }
  size_t Home(PageId page) const {
    // Fibonacci hashing: the high bits of the product are well mixed.
    return static_cast<size_t>((page * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  PageId* keys_ = nullptr;
  uint32_t* values_ = nullptr;
  size_t capacity_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 63;
  uint32_t max_entries_ = 0;
  uint32_t size_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_PAGE_MAP_H_
