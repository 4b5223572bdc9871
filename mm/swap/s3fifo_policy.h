// S3-FIFO (Yang et al., SOSP'23): three FIFO queues. New pages enter the
// small queue S (10% of the frames, at least two); the main queue M holds the
// rest; the ghost queue G remembers pages recently evicted from S (as many as
// M holds). Each resident page has a 2-bit access counter (hits, capped at 3).
//   - Miss on a page in G: it goes straight to M. Other misses go to S.
//   - Evicting: if S holds at least its target, take S's oldest page: if it
//     was hit since insertion, it moves to M; otherwise it is evicted and
//     remembered in G. Else take M's oldest: if its counter is non-zero,
//     decrement it and reinsert it at M's head; otherwise evict it.
// Amortised O(1): every reinsertion consumes a counter unit a hit added.
#ifndef MM_SWAP_S3FIFO_POLICY_H_
#define MM_SWAP_S3FIFO_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/ghost_fifo.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants: every resident frame is in exactly one of kSmall, kMain (newest
// at the front); freq_[f] <= 3; page_[f] is the page in resident frame f.
class S3FifoPolicy {
 public:
  static constexpr const char* kName = "s3fifo";

  static uint32_t SmallTarget(uint32_t frames) {
    uint32_t s = frames / 10;
    if (s < 2) s = 2;
    return s < frames ? s : (frames > 1 ? frames - 1 : 1);
  }
  static uint32_t GhostCapacity(uint32_t frames) {
    const uint32_t main = frames - (SmallTarget(frames) < frames ? SmallTarget(frames) : 0);
    return main > 0 ? main : 1;
  }
  static size_t RequiredBytes(uint32_t frames) {
    return ListSet::RequiredBytes(frames) + ArenaBytes<uint8_t>(frames) +
           ArenaBytes<PageId>(frames) + GhostFifo::RequiredBytes(GhostCapacity(frames));
  }

  S3FifoPolicy(uint32_t frames, std::span<std::byte> memory) : small_target_(SmallTarget(frames)) {
    Arena arena(memory);
    queues_.Init(frames, arena);
    freq_ = arena.Take<uint8_t>(frames);
    page_ = arena.Take<PageId>(frames);
    ghost_.Init(GhostCapacity(frames), arena);
  }

  void OnHit(FrameId f, const Reference&) {
    if (freq_[f] < 3) ++freq_[f];
  }

  FrameId SelectVictim(const Reference&) {
    for (;;) {
      if (queues_.size(kSmall) >= small_target_ || queues_.empty(kMain)) {
        const uint32_t f = queues_.Back(kSmall);
        queues_.Remove(f);
        if (freq_[f] > 0) {
          freq_[f] = 0;
          queues_.PushFront(kMain, f);
          continue;
        }
        ghost_.Insert(page_[f], 0);
        return f;
      }
      const uint32_t f = queues_.Back(kMain);
      if (freq_[f] > 0) {
        --freq_[f];
        queues_.MoveToFront(kMain, f);
        continue;
      }
      queues_.Remove(f);
      return f;
    }
  }

  void OnInsert(FrameId f, const Reference& ref) {
    page_[f] = ref.page;
    freq_[f] = 0;
    queues_.PushFront(ghost_.Remove(ref.page) ? kMain : kSmall, f);
  }
  void OnRemove(FrameId f) { queues_.Remove(f); }

  void CheckInvariants() const {
    queues_.CheckInvariants(2);
    ghost_.CheckInvariants();
  }

 private:
  static constexpr unsigned kSmall = 0;
  static constexpr unsigned kMain = 1;

  ListSet queues_;
  uint8_t* freq_ = nullptr;
  PageId* page_ = nullptr;
  GhostFifo ghost_;
  uint32_t small_target_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_S3FIFO_POLICY_H_
