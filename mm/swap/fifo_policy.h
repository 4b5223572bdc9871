// FIFO: evicts the page that was loaded longest ago; references do not matter.
#ifndef MM_SWAP_FIFO_POLICY_H_
#define MM_SWAP_FIFO_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariant: list 0 holds exactly the resident frames, newest at the front.
class FifoPolicy {
 public:
  static constexpr const char* kName = "fifo";
  static size_t RequiredBytes(uint32_t frames) { return ListSet::RequiredBytes(frames); }

  FifoPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    queue_.Init(frames, arena);
  }

  void OnHit(FrameId, const Reference&) {}
  FrameId SelectVictim(const Reference&) {
    const FrameId f = queue_.Back(0);
    queue_.Remove(f);
    return f;
  }
  void OnInsert(FrameId f, const Reference&) { queue_.PushFront(0, f); }
  void OnRemove(FrameId f) { queue_.Remove(f); }
  void CheckInvariants() const { queue_.CheckInvariants(1); }

 private:
  ListSet queue_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_FIFO_POLICY_H_
