// LFU: evicts the resident page with the fewest references since it was
// loaded; ties go to the least recently referenced. Counts are per residency
// (a re-loaded page starts at 1). O(log frames) per reference (a min-heap).
#ifndef MM_SWAP_LFU_POLICY_H_
#define MM_SWAP_LFU_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/swap/arena.h"
#include "mm/swap/heap.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariant: the heap holds exactly the resident frames ordered by
// (count_, last_), smallest first; last_ values are distinct (a clock).
class LfuPolicy {
 public:
  static constexpr const char* kName = "lfu";
  static size_t RequiredBytes(uint32_t frames) {
    return 2 * ArenaBytes<uint64_t>(frames) + IndexHeap<Fewer>::RequiredBytes(frames);
  }

  LfuPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    count_ = arena.Take<uint64_t>(frames);
    last_ = arena.Take<uint64_t>(frames);
    heap_.Init(frames, arena, Fewer{count_, last_});
  }

  void OnHit(FrameId f, const Reference&) {
    ++count_[f];
    last_[f] = ++clock_;
    heap_.Update(f);
  }
  FrameId SelectVictim(const Reference&) { return heap_.Pop(); }
  void OnInsert(FrameId f, const Reference&) {
    count_[f] = 1;
    last_[f] = ++clock_;
    heap_.Push(f);
  }
  void OnRemove(FrameId f) { heap_.Erase(f); }
  void CheckInvariants() const { heap_.CheckInvariants(); }

 private:
  struct Fewer {
    const uint64_t* count = nullptr;
    const uint64_t* last = nullptr;
    bool operator()(uint32_t a, uint32_t b) const {
      return count[a] != count[b] ? count[a] < count[b] : last[a] < last[b];
    }
  };

  uint64_t* count_ = nullptr;
  uint64_t* last_ = nullptr;
  uint64_t clock_ = 0;
  IndexHeap<Fewer> heap_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_LFU_POLICY_H_
