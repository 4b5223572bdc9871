// LRU (exact): evicts the least recently referenced page.
#ifndef MM_SWAP_LRU_POLICY_H_
#define MM_SWAP_LRU_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariant: list 0 holds exactly the resident frames in recency order, most
// recently referenced at the front.
class LruPolicy {
 public:
  static constexpr const char* kName = "lru";
  static size_t RequiredBytes(uint32_t frames) { return ListSet::RequiredBytes(frames); }

  LruPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    stack_.Init(frames, arena);
  }

  void OnHit(FrameId f, const Reference&) { stack_.MoveToFront(0, f); }
  FrameId SelectVictim(const Reference&) {
    const FrameId f = stack_.Back(0);
    stack_.Remove(f);
    return f;
  }
  void OnInsert(FrameId f, const Reference&) { stack_.PushFront(0, f); }
  void OnRemove(FrameId f) { stack_.Remove(f); }
  void CheckInvariants() const { stack_.CheckInvariants(1); }

 private:
  ListSet stack_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_LRU_POLICY_H_
