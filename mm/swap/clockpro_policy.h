// CLOCK-Pro (Jiang, Chen and Zhang, USENIX ATC'05): LIRS's reuse-distance
// idea on a clock. One circular list holds hot pages, resident cold pages
// and non-resident cold pages (history, at most `frames` of them). A cold
// page is in its "test period" for a while after it is loaded (or given a
// second chance); if it is referenced during it, its reuse distance is small
// and it becomes hot. References only set a bit. Three hands move one way:
//   - HAND_cold evicts: at a resident cold page with its bit set it promotes
//     it to hot (if in test) or clears the bit and restarts its test period
//     at the list head; at one with the bit clear it evicts the page, which
//     stays as a non-resident cold page while in its test period.
//   - HAND_hot demotes: it clears set bits of hot pages and turns the first
//     unreferenced hot page cold; cold pages it passes end their test period.
//   - HAND_test ends test periods and drops non-resident pages when there are
//     more than `frames` of them.
// m_c, the target number of resident cold pages, adapts: +1 when a cold page
// is re-referenced in its test period (including a fault on its history
// entry), -1 when a test period ends unused; the hot target is frames - m_c.
// New pages are inserted at the list head: just behind HAND_hot.
// Per fault: amortised O(1) in the hand movements that clear bits or end test
// periods; a hand may also pass cold pages without changing them.
//
// Nodes 0..c-1 are frames; nodes c..2c history slots (one spare).
#ifndef MM_SWAP_CLOCKPRO_POLICY_H_
#define MM_SWAP_CLOCKPRO_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants:
//   - The ring (next_/prev_) holds every resident frame and every history slot
//     in use; hands are kNil iff the ring is empty, else ring members.
//   - hot_ + cold_ == resident frames; history_ == history slots in use ==
//     history_map_.size() <= frames + 1 (<= frames between calls).
//   - 1 <= cold_target_ <= max(1, frames - 1); hot_ <= frames - 1 when
//     frames > 1, so a full cache always has a resident cold page to evict.
class ClockProPolicy {
 public:
  static constexpr const char* kName = "clockpro";
  static constexpr uint32_t kNil = ~uint32_t{0};

  static size_t RequiredBytes(uint32_t frames) {
    const uint32_t nodes = 2 * frames + 1;
    return 2 * ArenaBytes<uint32_t>(nodes) + ArenaBytes<uint8_t>(nodes) +
           ArenaBytes<PageId>(nodes) + ArenaBytes<uint32_t>(frames + 1) +
           PageMap::RequiredBytes(frames + 1);
  }

  ClockProPolicy(uint32_t frames, std::span<std::byte> memory) : m_(frames) {
    Arena arena(memory);
    const uint32_t nodes = 2 * frames + 1;
    next_ = arena.Take<uint32_t>(nodes);
    prev_ = arena.Take<uint32_t>(nodes);
    flags_ = arena.Take<uint8_t>(nodes);
    page_ = arena.Take<PageId>(nodes);
    free_slots_ = arena.Take<uint32_t>(frames + 1);
    for (uint32_t i = 0; i <= frames; ++i) free_slots_[i] = nodes - 1 - i;
    free_slot_count_ = frames + 1;
    history_map_.Init(frames + 1, arena);
  }

  void OnHit(FrameId f, const Reference&) { flags_[f] |= kRef; }

  FrameId SelectVictim(const Reference&) {
    for (;;) {
      const uint32_t n = hand_cold_;
      const uint8_t fl = flags_[n];
      if (!IsResidentCold(n)) {
        hand_cold_ = next_[n];
        continue;
      }
      if (fl & kRef) {
        if (fl & kTest) {
          // Re-referenced within its test period: hot.
          hand_cold_ = next_[n];
          flags_[n] = kHot;
          --cold_;
          ++hot_;
          GrowColdTarget();
          if (hot_ > HotTarget()) RunHandHot();
        } else {
          // Second chance with a new test period, at the list head.
          hand_cold_ = next_[n];
          flags_[n] = kTest;
          MoveToHead(n);
        }
        continue;
      }
      hand_cold_ = next_[n];
      --cold_;
      if (fl & kTest) {
        // Keep its history while the test period lasts.
        const uint32_t h = free_slots_[--free_slot_count_];
        page_[h] = page_[n];
        flags_[h] = kTest;
        ReplaceInRing(n, h);
        history_map_.Insert(page_[h], h);
        ++history_;
        while (history_ > m_) RunHandTest();
      } else {
        Unlink(n);
      }
      return n;
    }
  }

  void OnInsert(FrameId f, const Reference& ref) {
    page_[f] = ref.page;
    const uint32_t h = history_map_.Find(ref.page);
    if (h != PageMap::kNotFound) {
      // Faulted within its test period: its reuse distance is short.
      GrowColdTarget();
      DropHistory(h);
      flags_[f] = kHot;
      ++hot_;
      InsertAtHead(f);
      if (hot_ > HotTarget()) RunHandHot();
      return;
    }
    if (hot_ + 1 <= HotTarget() && hot_ + 1 < m_) {  // warm-up: fill the hot set first
      flags_[f] = kHot;
      ++hot_;
    } else {
      flags_[f] = kTest;
      ++cold_;
    }
    InsertAtHead(f);
  }

  void OnRemove(FrameId f) {
    if (flags_[f] & kHot) --hot_; else --cold_;
    Unlink(f);
  }

  uint32_t cold_target() const { return cold_target_; }

  void CheckInvariants() const {
    MM_CHECK((hand_cold_ == kNil) == (ring_size_ == 0));
    MM_CHECK((hand_hot_ == kNil) == (ring_size_ == 0));
    MM_CHECK((hand_test_ == kNil) == (ring_size_ == 0));
    uint32_t hot = 0, cold = 0, history = 0, count = 0;
    bool saw_cold = false, saw_hot = false, saw_test = false;
    if (ring_size_ > 0) {
      uint32_t n = hand_hot_;
      do {
        MM_CHECK(prev_[next_[n]] == n);
        ++count;
        MM_CHECK(count <= ring_size_);
        if (n < m_) {
          if (flags_[n] & kHot) ++hot; else ++cold;
        } else {
          ++history;
          MM_CHECK(history_map_.Find(page_[n]) == n);
        }
        saw_cold |= n == hand_cold_;
        saw_hot |= n == hand_hot_;
        saw_test |= n == hand_test_;
        n = next_[n];
      } while (n != hand_hot_);
      MM_CHECK(saw_cold && saw_hot && saw_test);
    }
    MM_CHECK(count == ring_size_ && hot == hot_ && cold == cold_ && history == history_);
    MM_CHECK(history_ == history_map_.size() && history_ <= m_);
    MM_CHECK(history_ + free_slot_count_ == m_ + 1);
    MM_CHECK(cold_target_ >= 1 && cold_target_ <= MaxColdTarget());
    if (m_ > 1) MM_CHECK(hot_ <= m_ - 1);
  }

 private:
  static constexpr uint8_t kHot = 1, kTest = 2, kRef = 4;

  bool IsResidentCold(uint32_t n) const { return n < m_ && !(flags_[n] & kHot); }
  uint32_t MaxColdTarget() const { return m_ > 1 ? m_ - 1 : 1; }
  uint32_t HotTarget() const { return m_ > cold_target_ ? m_ - cold_target_ : 0; }
  void GrowColdTarget() {
    if (cold_target_ < MaxColdTarget()) ++cold_target_;
  }
  void ShrinkColdTarget() {
    if (cold_target_ > 1) --cold_target_;
  }

  // HAND_hot: demote the first hot page whose bit is clear.
  void RunHandHot() {
    for (;;) {
      const uint32_t n = hand_hot_;
      if (n < m_ && (flags_[n] & kHot)) {
        if (flags_[n] & kRef) {
          flags_[n] &= static_cast<uint8_t>(~kRef);
          hand_hot_ = next_[n];
          continue;
        }
        flags_[n] = 0;  // resident cold, no test period
        --hot_;
        ++cold_;
        hand_hot_ = next_[n];
        return;
      }
      hand_hot_ = next_[n];
      EndTest(n);
    }
  }

  // HAND_test: end test periods until one history entry is dropped.
  void RunHandTest() {
    for (;;) {
      const uint32_t n = hand_test_;
      hand_test_ = next_[n];
      if (n >= m_) {
        ShrinkColdTarget();
        DropHistory(n);
        return;
      }
      if ((flags_[n] & (kHot | kTest)) == kTest) {
        flags_[n] &= static_cast<uint8_t>(~kTest);
        ShrinkColdTarget();
      }
    }
  }

  // Ends the test period of cold node n (a hand passed it unused).
  void EndTest(uint32_t n) {
    if (n >= m_) {
      ShrinkColdTarget();
      DropHistory(n);
    } else if ((flags_[n] & (kHot | kTest)) == kTest) {
      flags_[n] &= static_cast<uint8_t>(~kTest);
      ShrinkColdTarget();
    }
  }

  void DropHistory(uint32_t h) {
    history_map_.Erase(page_[h]);
    Unlink(h);
    --history_;
    free_slots_[free_slot_count_++] = h;
  }

  // The list head is the position just behind HAND_hot.
  void InsertAtHead(uint32_t n) {
    if (ring_size_ == 0) {
      next_[n] = prev_[n] = n;
      hand_cold_ = hand_hot_ = hand_test_ = n;
    } else {
      const uint32_t at = hand_hot_;
      prev_[n] = prev_[at];
      next_[n] = at;
      next_[prev_[at]] = n;
      prev_[at] = n;
    }
    ++ring_size_;
  }

  void MoveToHead(uint32_t n) {
    if (ring_size_ == 1 || (next_[n] == hand_hot_ && n != hand_hot_)) return;  // already there
    Unlink(n);
    InsertAtHead(n);
  }

  void Unlink(uint32_t n) {
    if (--ring_size_ == 0) {
      hand_cold_ = hand_hot_ = hand_test_ = kNil;
      return;
    }
    const uint32_t after = next_[n];
    if (hand_cold_ == n) hand_cold_ = after;
    if (hand_hot_ == n) hand_hot_ = after;
    if (hand_test_ == n) hand_test_ = after;
    next_[prev_[n]] = after;
    prev_[after] = prev_[n];
  }

  void ReplaceInRing(uint32_t n, uint32_t with) {
    if (ring_size_ == 1) {
      next_[with] = prev_[with] = with;
    } else {
      next_[with] = next_[n];
      prev_[with] = prev_[n];
      prev_[next_[n]] = with;
      next_[prev_[n]] = with;
    }
    if (hand_cold_ == n) hand_cold_ = with;
    if (hand_hot_ == n) hand_hot_ = with;
    if (hand_test_ == n) hand_test_ = with;
  }

  uint32_t* next_ = nullptr;
  uint32_t* prev_ = nullptr;
  uint8_t* flags_ = nullptr;
  PageId* page_ = nullptr;
  uint32_t* free_slots_ = nullptr;
  uint32_t free_slot_count_ = 0;
  PageMap history_map_;
  uint32_t m_;
  uint32_t cold_target_ = 1;
  uint32_t hot_ = 0;
  uint32_t cold_ = 0;
  uint32_t history_ = 0;
  uint32_t ring_size_ = 0;
  uint32_t hand_cold_ = kNil;
  uint32_t hand_hot_ = kNil;
  uint32_t hand_test_ = kNil;
};

}  // namespace mm::swap

#endif  // MM_SWAP_CLOCKPRO_POLICY_H_
