// CLOCK (second chance): frames sit on a circle swept by a hand. A reference
// sets the frame's reference bit; the hand clears set bits as it passes and
// evicts the first frame whose bit is clear. A newly loaded page starts with a
// clear bit and sits just behind the hand (it is the last the hand reaches).
#ifndef MM_SWAP_CLOCK_POLICY_H_
#define MM_SWAP_CLOCK_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants: hand_ < frames_; referenced_[f] is 0 for free frames.
// SelectVictim runs only when every frame is resident, so the sweep needs no
// free-slot test and ends within two turns (amortised O(1): each step clears a
// bit that some reference set).
class ClockPolicy {
 public:
  static constexpr const char* kName = "clock";
  static size_t RequiredBytes(uint32_t frames) { return ArenaBytes<uint8_t>(frames); }

  ClockPolicy(uint32_t frames, std::span<std::byte> memory) : frames_(frames) {
    Arena arena(memory);
    referenced_ = arena.Take<uint8_t>(frames);
  }

  void OnHit(FrameId f, const Reference&) { referenced_[f] = 1; }
  FrameId SelectVictim(const Reference&) {
    while (referenced_[hand_]) {
      referenced_[hand_] = 0;
      Advance();
    }
    const FrameId victim = hand_;
    Advance();
    return victim;
  }
  void OnInsert(FrameId f, const Reference&) { referenced_[f] = 0; }
  void OnRemove(FrameId f) { referenced_[f] = 0; }
  void CheckInvariants() const { MM_CHECK(hand_ < frames_); }

 private:
  void Advance() {
    if (++hand_ == frames_) hand_ = 0;
  }

  uint8_t* referenced_ = nullptr;
  uint32_t frames_;
  uint32_t hand_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_CLOCK_POLICY_H_
