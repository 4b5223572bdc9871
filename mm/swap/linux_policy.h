// Linux's two-list LRU with refault-distance activation (mm/vmscan.c and
// mm/workingset.c, modelled on frames):
//   - Pages sit on an inactive or an active list, newest at the front. A new
//     page enters the inactive list. A reference sets the page's referenced
//     flag; a second reference while inactive activates it (mark_page_accessed).
//   - Reclaim first keeps the inactive list at least as long as the active
//     one (inactive_is_low with ratio 1) by moving active tail pages to the
//     inactive front; referenced active pages get one rotation instead
//     (clear the flag, back to the active front). Then it takes the inactive
//     tail: referenced (seen by rmap since the last scan) -> activate;
//     otherwise evict it.
//   - Workingset: a non-resident age counter ticks on every eviction and
//     activation. An evicted page leaves a shadow entry holding the age; on
//     refault, refault distance = age now - age at eviction. If it is at most
//     the active list's size, the page would have stayed resident had the
//     inactive list been that much larger: it is activated right away.
//     Shadow entries are bounded (2 x frames; the oldest is dropped), as the
//     shadow-node shrinker bounds them.
// Amortised O(1): every list move in reclaim consumes an activation or a
// referenced flag some reference produced.
#ifndef MM_SWAP_LINUX_POLICY_H_
#define MM_SWAP_LINUX_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/ghost_fifo.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants: every resident frame is on exactly one of kInactive, kActive;
// page_[f] is the page in resident frame f; shadows_ holds only pages that are
// not resident (an entry is removed when its page refaults).
class LinuxPolicy {
 public:
  static constexpr const char* kName = "linux";
  static uint32_t ShadowCapacity(uint32_t frames) { return 2 * frames; }
  static size_t RequiredBytes(uint32_t frames) {
    return ListSet::RequiredBytes(frames) + ArenaBytes<uint8_t>(frames) +
           ArenaBytes<PageId>(frames) + GhostFifo::RequiredBytes(ShadowCapacity(frames));
  }

  LinuxPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    lists_.Init(frames, arena);
    referenced_ = arena.Take<uint8_t>(frames);
    page_ = arena.Take<PageId>(frames);
    shadows_.Init(ShadowCapacity(frames), arena);
  }

  void OnHit(FrameId f, const Reference&) {
    if (lists_.InList(f, kInactive) && referenced_[f]) {
      Activate(f);
    } else {
      referenced_[f] = 1;
    }
  }

  FrameId SelectVictim(const Reference&) {
    for (;;) {
      // Age the active list while the inactive one is the shorter.
      while (lists_.size(kInactive) < lists_.size(kActive)) {
        const uint32_t f = lists_.Back(kActive);
        if (referenced_[f]) {
          referenced_[f] = 0;
          lists_.MoveToFront(kActive, f);
        } else {
          lists_.Remove(f);
          lists_.PushFront(kInactive, f);
        }
      }
      const uint32_t f = lists_.Back(kInactive);
      if (referenced_[f]) {
        Activate(f);
        continue;
      }
      lists_.Remove(f);
      shadows_.Insert(page_[f], nonresident_age_++);
      return f;
    }
  }

  void OnInsert(FrameId f, const Reference& ref) {
    page_[f] = ref.page;
    referenced_[f] = 0;
    const uint32_t shadow = shadows_.Find(ref.page);
    if (shadow != GhostFifo::kNotFound) {
      const uint64_t distance = nonresident_age_ - shadows_.ValueAt(shadow);
      shadows_.Remove(ref.page);
      if (distance <= lists_.size(kActive)) {
        lists_.PushFront(kActive, f);
        ++nonresident_age_;
        return;
      }
    }
    lists_.PushFront(kInactive, f);
  }

  void OnRemove(FrameId f) { lists_.Remove(f); }

  void CheckInvariants() const {
    lists_.CheckInvariants(2);
    shadows_.CheckInvariants();
  }

 private:
  static constexpr unsigned kInactive = 0;
  static constexpr unsigned kActive = 1;

  void Activate(uint32_t f) {
    referenced_[f] = 0;
    lists_.Remove(f);
    lists_.PushFront(kActive, f);
    ++nonresident_age_;
  }

  ListSet lists_;
  uint8_t* referenced_ = nullptr;
  PageId* page_ = nullptr;
  GhostFifo shadows_;
  uint64_t nonresident_age_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_LINUX_POLICY_H_
