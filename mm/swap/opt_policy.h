// Belady's OPT (offline): evicts the resident page whose next reference is
// farthest in the future (never-again pages first). Needs Reference::next_use,
// which the trace replayer computes in a backward pass over the trace. No
// online policy can have fewer misses on the same trace and cache size.
// O(log frames) per reference (a max-heap on next use).
#ifndef MM_SWAP_OPT_POLICY_H_
#define MM_SWAP_OPT_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/swap/arena.h"
#include "mm/swap/heap.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariant: the heap holds exactly the resident frames, keyed by next_use_
// (farthest first); ties go to the lower frame id, so runs are deterministic.
class OptPolicy {
 public:
  static constexpr const char* kName = "opt";
  static size_t RequiredBytes(uint32_t frames) {
    return ArenaBytes<uint64_t>(frames) + IndexHeap<Farther>::RequiredBytes(frames);
  }

  OptPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    next_use_ = arena.Take<uint64_t>(frames);
    heap_.Init(frames, arena, Farther{next_use_});
  }

  void OnHit(FrameId f, const Reference& ref) {
    next_use_[f] = ref.next_use;
    heap_.Update(f);
  }
  FrameId SelectVictim(const Reference&) { return heap_.Pop(); }
  void OnInsert(FrameId f, const Reference& ref) {
    next_use_[f] = ref.next_use;
    heap_.Push(f);
  }
  void OnRemove(FrameId f) { heap_.Erase(f); }
  void CheckInvariants() const { heap_.CheckInvariants(); }

 private:
  struct Farther {
    const uint64_t* next_use = nullptr;
    bool operator()(uint32_t a, uint32_t b) const {
      return next_use[a] != next_use[b] ? next_use[a] > next_use[b] : a < b;
    }
  };

  uint64_t* next_use_ = nullptr;
  IndexHeap<Farther> heap_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_OPT_POLICY_H_
