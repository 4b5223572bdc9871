// SIEVE (Zhang et al., NSDI'24): one FIFO queue with a visited bit per page
// and a hand. New pages enter at the head; a hit only sets the bit (no queue
// movement). To evict, the hand walks from its position toward the head,
// clearing set bits, and evicts the first unvisited page; the hand stays
// there, wrapping to the tail when it passes the head. Survivors keep their
// queue position, so new pages are sifted out quickly (a "quick demotion").
// Amortised O(1): each step of the hand clears a bit a hit set.
#ifndef MM_SWAP_SIEVE_POLICY_H_
#define MM_SWAP_SIEVE_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants: list 0 holds exactly the resident frames, newest at the front;
// hand_ is kNil or a member of list 0; visited_[f] is 0 for free frames.
class SievePolicy {
 public:
  static constexpr const char* kName = "sieve";
  static size_t RequiredBytes(uint32_t frames) {
    return ListSet::RequiredBytes(frames) + ArenaBytes<uint8_t>(frames);
  }

  SievePolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    queue_.Init(frames, arena);
    visited_ = arena.Take<uint8_t>(frames);
  }

  void OnHit(FrameId f, const Reference&) { visited_[f] = 1; }
  FrameId SelectVictim(const Reference&) {
    uint32_t n = hand_ != ListSet::kNil ? hand_ : queue_.Back(0);
    while (visited_[n]) {
      visited_[n] = 0;
      n = queue_.Prev(n);
      if (n == ListSet::kNil) n = queue_.Back(0);
    }
    hand_ = queue_.Prev(n);
    queue_.Remove(n);
    return n;
  }
  void OnInsert(FrameId f, const Reference&) {
    visited_[f] = 0;
    queue_.PushFront(0, f);
  }
  void OnRemove(FrameId f) {
    if (hand_ == f) hand_ = queue_.Prev(f);
    queue_.Remove(f);
    visited_[f] = 0;
  }
  void CheckInvariants() const {
    queue_.CheckInvariants(1);
    MM_CHECK(hand_ == ListSet::kNil || queue_.InList(hand_, 0));
  }

 private:
  ListSet queue_;
  uint8_t* visited_ = nullptr;
  uint32_t hand_ = ListSet::kNil;
};

}  // namespace mm::swap

#endif  // MM_SWAP_SIEVE_POLICY_H_
