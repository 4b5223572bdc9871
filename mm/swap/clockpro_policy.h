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
//
// Speed: HAND_cold only stops at resident cold pages and HAND_test only at
// cold pages (resident or not), so besides the clock ring (all pages, walked
// by HAND_hot) the policy threads two sub-rings through the same nodes in the
// same cyclic order: the resident cold pages, and all cold pages. Every page
// that turns cold (loaded, given a second chance, demoted) lands at the list
// head, which is just behind HAND_hot, so its place in a sub-ring is just
// before the first sub-ring member at or after HAND_hot, which the policy
// tracks (cold_after_hot_, nonhot_after_hot_). The hands on the sub-rings
// then see exactly the pages, in exactly the order, that the textbook hands
// would stop at on the big ring, and skip the rest in O(1). Per fault:
// amortised O(1) for the cold and test hands (each step clears a bit, evicts,
// or ends a test period); HAND_hot walks the whole ring, also passing cold
// pages (ending their test periods, as the algorithm asks).
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

// A circular doubly-linked ring threaded through node indices.
struct NodeRing {
  static constexpr uint32_t kNil = ~uint32_t{0};
  uint32_t* next = nullptr;
  uint32_t* prev = nullptr;

  void Init(uint32_t nodes, Arena& arena) {
    next = arena.Take<uint32_t>(nodes);
    prev = arena.Take<uint32_t>(nodes);
  }
  // Puts n just before `at` (at == kNil: n forms a ring of its own).
  void InsertBefore(uint32_t at, uint32_t n) {
    if (at == kNil) {
      next[n] = prev[n] = n;
      return;
    }
    prev[n] = prev[at];
    next[n] = at;
    next[prev[at]] = n;
    prev[at] = n;
  }
  // Unlinks n; returns its successor, or kNil if n was alone.
  uint32_t Remove(uint32_t n) {
    const uint32_t after = next[n];
    if (after == n) return kNil;
    next[prev[n]] = after;
    prev[after] = prev[n];
    return after;
  }
  // Puts `with` where n is.
  void Replace(uint32_t n, uint32_t with) {
    if (next[n] == n) {
      next[with] = prev[with] = with;
      return;
    }
    next[with] = next[n];
    prev[with] = prev[n];
    prev[next[n]] = with;
    next[prev[n]] = with;
  }
};

// Invariants:
//   - ring_ holds every resident frame and every history slot in use;
//     hand_hot_ is kNil iff the ring is empty, else a member.
//   - cold_ring_ holds exactly the resident cold frames and cold_ring2_ (the
//     "non-hot" ring) the resident cold frames and the history slots, each in
//     the cyclic order of ring_. cold_after_hot_ / nonhot_after_hot_ are the
//     first member at or after hand_hot_ in that order (kNil iff empty);
//     hand_cold_ / hand_test_ are members (kNil iff empty).
//   - hot_ + cold_ == resident frames; history_ == history slots in use ==
//     history_map_.size() <= frames (frames + 1 only inside a call).
//   - 1 <= cold_target_ <= max(1, frames - 1); hot_ <= frames - 1 when
//     frames > 1, so a full cache always has a resident cold page to evict.
class ClockProPolicy {
 public:
  static constexpr const char* kName = "clockpro";
  static constexpr uint32_t kNil = NodeRing::kNil;

  static size_t RequiredBytes(uint32_t frames) {
    const uint32_t nodes = 2 * frames + 1;
    return 6 * ArenaBytes<uint32_t>(nodes) + ArenaBytes<uint8_t>(nodes) +
           ArenaBytes<PageId>(nodes) + ArenaBytes<uint32_t>(frames + 1) +
           PageMap::RequiredBytes(frames + 1);
  }

  ClockProPolicy(uint32_t frames, std::span<std::byte> memory) : m_(frames) {
    Arena arena(memory);
    const uint32_t nodes = 2 * frames + 1;
    ring_.Init(nodes, arena);
    cold_ring_.Init(nodes, arena);
    nonhot_ring_.Init(nodes, arena);
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
      MM_CHECK(n != kNil);
      const uint8_t fl = flags_[n];
      hand_cold_ = cold_ring_.next[n];
      if (fl & kRef) {
        if (fl & kTest) {
          // Re-referenced within its test period: hot.
          LeaveColdRings(n);
          flags_[n] = kHot;
          --cold_;
          ++hot_;
          GrowColdTarget();
          if (hot_ > HotTarget()) RunHandHot();
        } else {
          // Second chance with a new test period, at the list head.
          flags_[n] = kTest;
          MoveToHead(n);
        }
        continue;
      }
      --cold_;
      RemoveFrom(cold_ring_, n, &cold_after_hot_, &hand_cold_);
      if (fl & kTest) {
        // Keep its history while the test period lasts.
        const uint32_t h = free_slots_[--free_slot_count_];
        page_[h] = page_[n];
        flags_[h] = kTest;
        ReplaceIn(ring_, n, h);
        if (hand_hot_ == n) hand_hot_ = h;
        ReplaceIn(nonhot_ring_, n, h);
        if (nonhot_after_hot_ == n) nonhot_after_hot_ = h;
        if (hand_test_ == n) hand_test_ = h;
        history_map_.Insert(page_[h], h);
        ++history_;
        while (history_ > m_) RunHandTest();
      } else {
        RemoveFrom(nonhot_ring_, n, &nonhot_after_hot_, &hand_test_);
        UnlinkFromRing(n);
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
      InsertAtHead(f);
    } else {
      flags_[f] = kTest;
      ++cold_;
      InsertAtHead(f);
      EnterColdRingsAtHead(f);
    }
  }

  void OnRemove(FrameId f) {
    if (flags_[f] & kHot) {
      --hot_;
    } else {
      --cold_;
      LeaveColdRings(f);
    }
    UnlinkFromRing(f);
  }

  uint32_t cold_target() const { return cold_target_; }

  void CheckInvariants() const {
    MM_CHECK((hand_hot_ == kNil) == (ring_size_ == 0));
    uint32_t hot = 0, cold = 0, history = 0, count = 0;
    // Walk the big ring from HAND_hot and the sub-rings from their
    // "first at or after HAND_hot" member in lockstep: same order.
    uint32_t c = cold_after_hot_, nh = nonhot_after_hot_;
    uint32_t cold_seen = 0, nonhot_seen = 0;
    bool saw_hand_cold = hand_cold_ == kNil, saw_hand_test = hand_test_ == kNil;
    if (ring_size_ > 0) {
      uint32_t n = hand_hot_;
      do {
        MM_CHECK(ring_.prev[ring_.next[n]] == n);
        ++count;
        MM_CHECK(count <= ring_size_);
        if (n < m_ && (flags_[n] & kHot)) {
          ++hot;
        } else {
          MM_CHECK(nh == n);
          nh = nonhot_ring_.next[n];
          ++nonhot_seen;
          saw_hand_test |= n == hand_test_;
          if (n < m_) {
            ++cold;
            MM_CHECK(c == n);
            c = cold_ring_.next[n];
            ++cold_seen;
            saw_hand_cold |= n == hand_cold_;
          } else {
            ++history;
            MM_CHECK(history_map_.Find(page_[n]) == n);
          }
        }
        n = ring_.next[n];
      } while (n != hand_hot_);
    }
    MM_CHECK(cold_seen == 0 ? cold_after_hot_ == kNil : c == cold_after_hot_);
    MM_CHECK(nonhot_seen == 0 ? nonhot_after_hot_ == kNil : nh == nonhot_after_hot_);
    MM_CHECK(saw_hand_cold && saw_hand_test);
    MM_CHECK((hand_cold_ == kNil) == (cold_seen == 0));
    MM_CHECK((hand_test_ == kNil) == (nonhot_seen == 0));
    MM_CHECK(count == ring_size_ && hot == hot_ && cold == cold_ && history == history_);
    MM_CHECK(history_ == history_map_.size() && history_ <= m_);
    MM_CHECK(history_ + free_slot_count_ == m_ + 1);
    MM_CHECK(cold_target_ >= 1 && cold_target_ <= MaxColdTarget());
    if (m_ > 1) MM_CHECK(hot_ <= m_ - 1);
  }

 private:
  static constexpr uint8_t kHot = 1, kTest = 2, kRef = 4;

  uint32_t MaxColdTarget() const { return m_ > 1 ? m_ - 1 : 1; }
  uint32_t HotTarget() const { return m_ > cold_target_ ? m_ - cold_target_ : 0; }
  void GrowColdTarget() {
    if (cold_target_ < MaxColdTarget()) ++cold_target_;
  }
  void ShrinkColdTarget() {
    if (cold_target_ > 1) --cold_target_;
  }

  // HAND_hot: demote the first hot page whose bit is clear; cold pages it
  // passes end their test period.
  void RunHandHot() {
    for (;;) {
      const uint32_t n = hand_hot_;
      const bool hot = n < m_ && (flags_[n] & kHot);
      AdvanceHandHot();
      if (hot) {
        if (flags_[n] & kRef) {
          flags_[n] &= static_cast<uint8_t>(~kRef);
          continue;
        }
        flags_[n] = 0;  // resident cold, no test period; now just behind HAND_hot
        --hot_;
        ++cold_;
        EnterColdRingsAtHead(n);
        return;
      }
      EndTest(n);
    }
  }

  // Moves HAND_hot one step, keeping the "first at or after" markers.
  void AdvanceHandHot() {
    const uint32_t n = hand_hot_;
    if (cold_after_hot_ == n) cold_after_hot_ = cold_ring_.next[n];
    if (nonhot_after_hot_ == n) nonhot_after_hot_ = nonhot_ring_.next[n];
    hand_hot_ = ring_.next[n];
  }

  // HAND_test: end test periods until one history entry is dropped.
  void RunHandTest() {
    for (;;) {
      const uint32_t n = hand_test_;
      MM_CHECK(n != kNil);
      hand_test_ = nonhot_ring_.next[n];
      if (n >= m_) {
        ShrinkColdTarget();
        DropHistory(n);
        return;
      }
      if (flags_[n] & kTest) {
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
    } else if (flags_[n] & kTest) {
      flags_[n] &= static_cast<uint8_t>(~kTest);
      ShrinkColdTarget();
    }
  }

  void DropHistory(uint32_t h) {
    history_map_.Erase(page_[h]);
    RemoveFrom(nonhot_ring_, h, &nonhot_after_hot_, &hand_test_);
    UnlinkFromRing(h);
    --history_;
    free_slots_[free_slot_count_++] = h;
  }

  // The list head is the position just behind HAND_hot.
  void InsertAtHead(uint32_t n) {
    ring_.InsertBefore(hand_hot_, n);
    if (hand_hot_ == kNil) hand_hot_ = n;
    ++ring_size_;
  }

  // n (resident cold) was just placed at the list head: in each sub-ring it
  // goes just before the first member at or after HAND_hot.
  void EnterColdRingsAtHead(uint32_t n) {
    cold_ring_.InsertBefore(cold_after_hot_, n);
    if (cold_after_hot_ == kNil) cold_after_hot_ = n;
    if (hand_cold_ == kNil) hand_cold_ = n;
    nonhot_ring_.InsertBefore(nonhot_after_hot_, n);
    if (nonhot_after_hot_ == kNil) nonhot_after_hot_ = n;
    if (hand_test_ == kNil) hand_test_ = n;
  }

  void LeaveColdRings(uint32_t n) {
    RemoveFrom(cold_ring_, n, &cold_after_hot_, &hand_cold_);
    RemoveFrom(nonhot_ring_, n, &nonhot_after_hot_, &hand_test_);
  }

  static void RemoveFrom(NodeRing& r, uint32_t n, uint32_t* after_hot, uint32_t* hand) {
    const uint32_t next = r.Remove(n);
    if (*after_hot == n) *after_hot = next;
    if (*hand == n) *hand = next;
  }
  static void ReplaceIn(NodeRing& r, uint32_t n, uint32_t with) { r.Replace(n, with); }

  // Second chance: resident cold n moves to the list head.
  void MoveToHead(uint32_t n) {
    if (ring_size_ == 1 || (ring_.next[n] == hand_hot_ && n != hand_hot_)) return;  // already there
    LeaveColdRings(n);
    UnlinkFromRing(n);
    InsertAtHead(n);
    EnterColdRingsAtHead(n);
  }

  void UnlinkFromRing(uint32_t n) {
    const uint32_t next = ring_.Remove(n);
    if (hand_hot_ == n) hand_hot_ = next;
    --ring_size_;
  }

  NodeRing ring_;         // every page, in clock order
  NodeRing cold_ring_;    // resident cold pages, same order
  NodeRing nonhot_ring_;  // resident cold pages and history, same order
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
  uint32_t hand_hot_ = kNil;
  uint32_t hand_cold_ = kNil;
  uint32_t hand_test_ = kNil;
  uint32_t cold_after_hot_ = kNil;
  uint32_t nonhot_after_hot_ = kNil;
};

}  // namespace mm::swap

#endif  // MM_SWAP_CLOCKPRO_POLICY_H_
