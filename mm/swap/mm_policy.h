// mm: libmm's own policy, "follow the leader over shadow experts".
//
// Published policies win on different workloads: LIRS (and CLOCK-Pro) on
// loops and scans, LRU on recency-friendly or shifting working sets where
// LIRS's small HIR area makes it slow to adopt new hot pages. `mm` runs
// complete shadow copies of the experts (LRU and LIRS) on page ids only: each
// expert sees every reference and decides, in its own shadow directory of
// `frames` pages, what it would keep. The real frames follow whichever expert
// has had fewer misses recently:
//   - Each expert's misses feed an exponentially decaying score (horizon
//     max(4 x frames, 4096) references). The leader changes only when
//     another expert's score is lower by a margin (1/32), so it does not
//     flap. LIRS leads at first: on a cold start both experts miss alike and
//     loops, where following LRU first is expensive, are common.
//   - For each expert k, D_k lists the resident frames whose page expert k
//     does not hold (oldest first). On a miss the victim is D_leader's oldest
//     frame. D_leader is never empty when the frames are full: the incoming
//     page is in the leader's directory but not resident, and both hold at
//     most `frames` pages. So while one expert leads, the real cache converges
//     to exactly that expert's resident set and then behaves like it; after a
//     switch it converges to the new leader's set one miss at a time, never
//     faulting in anything the leader would not have.
// Cost: every reference is replayed by each expert (one hash lookup each),
// O(1) amortised. Memory: the experts' directories plus one page map.
#ifndef MM_SWAP_MM_POLICY_H_
#define MM_SWAP_MM_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/bits.h"
#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/lirs_policy.h"
#include "mm/swap/list_set.h"
#include "mm/swap/lru_policy.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"
#include "mm/swap/simulator.h"

namespace mm::swap {

// Invariants:
//   - real_map_ maps exactly the resident pages to their frames, page_[f] is
//     the page in resident frame f.
//   - For each expert k and resident frame f: f is in disagree_[k] iff
//     expert k's directory does not hold page_[f].
//   - leader_ < kExperts.
class MmPolicy {
 public:
  static constexpr const char* kName = "mm";
  static constexpr unsigned kExperts = 2;

  static size_t RequiredBytes(uint32_t frames) {
    return Simulator<LruPolicy>::RequiredBytes(frames) +
           Simulator<LirsPolicy>::RequiredBytes(frames) + 2 * alignof(std::max_align_t) +
           PageMap::RequiredBytes(frames) + ArenaBytes<PageId>(frames) +
           kExperts * ListSet::RequiredBytes(frames);
  }

  MmPolicy(uint32_t frames, std::span<std::byte> memory)
      : arena_(memory),
        lru_(frames, arena_.TakeBytes(Simulator<LruPolicy>::RequiredBytes(frames))),
        lirs_(frames, arena_.TakeBytes(Simulator<LirsPolicy>::RequiredBytes(frames))),
        decay_shift_(Log2Ceil(Horizon(frames))) {
    real_map_.Init(frames, arena_);
    page_ = arena_.Take<PageId>(frames);
    for (unsigned k = 0; k < kExperts; ++k) disagree_[k].Init(frames, arena_);
  }

  static uint64_t Horizon(uint32_t frames) {
    const uint64_t h = kHorizon * static_cast<uint64_t>(frames);
    return h > kMinHorizon ? h : kMinHorizon;
  }

  void OnHit(FrameId, const Reference& ref) { Consult(ref); }

  FrameId SelectVictim(const Reference& incoming) {
    Consult(incoming);
    consulted_ = true;
    const FrameId f = disagree_[leader_].Front(0);
    MM_CHECK(f != ListSet::kNil);
    for (unsigned k = 0; k < kExperts; ++k) {
      if (disagree_[k].InList(f, 0)) disagree_[k].Remove(f);
    }
    real_map_.Erase(page_[f]);
    return f;
  }

  void OnInsert(FrameId f, const Reference& ref) {
    if (!consulted_) Consult(ref);
    consulted_ = false;
    page_[f] = ref.page;
    real_map_.Insert(ref.page, f);  // every expert holds ref.page now
  }

  void OnRemove(FrameId f) {
    for (unsigned k = 0; k < kExperts; ++k) {
      if (disagree_[k].InList(f, 0)) disagree_[k].Remove(f);
    }
    real_map_.Erase(page_[f]);
  }

  unsigned leader() const { return leader_; }
  uint64_t switches() const { return switches_; }

  void CheckInvariants() const {
    real_map_.CheckInvariants();
    lru_.CheckInvariants();
    lirs_.CheckInvariants();
    MM_CHECK(leader_ < kExperts);
    for (unsigned k = 0; k < kExperts; ++k) disagree_[k].CheckInvariants(1);
    uint32_t resident = 0;
    for (FrameId f = 0; f < lru_.frames(); ++f) {
      if (real_map_.Find(page_[f]) != f) {
        for (unsigned k = 0; k < kExperts; ++k) MM_CHECK(!disagree_[k].InList(f, 0));
        continue;
      }
      ++resident;
      MM_CHECK(disagree_[0].InList(f, 0) == !lru_.Contains(page_[f]));
      MM_CHECK(disagree_[1].InList(f, 0) == !lirs_.Contains(page_[f]));
    }
    MM_CHECK(resident == real_map_.size());
  }

 private:
  static constexpr uint64_t kMissWeight = uint64_t{1} << 20;  // fixed point
  static constexpr unsigned kMarginShift = 5;                 // switch when 1/32 better
  static constexpr unsigned kHorizon = 4;        // score horizon: 4 x frames references,
  static constexpr uint64_t kMinHorizon = 4096;  // but at least 4096
  static constexpr unsigned kInitialLeader = 1;  // LIRS: wins on cold loops

  // Replays `ref` in every expert and updates the disagreement lists and
  // scores; then re-elects the leader.
  void Consult(const Reference& ref) {
    Feed(0, lru_.Access(ref), ref.page);
    Feed(1, lirs_.Access(ref), ref.page);
    const unsigned other = 1 - leader_;
    if (score_[other] + (score_[other] >> kMarginShift) < score_[leader_]) {
      leader_ = other;
      ++switches_;
    }
  }

  void Feed(unsigned k, const AccessResult& r, PageId page) {
    score_[k] -= score_[k] >> decay_shift_;
    if (!r.hit) {
      score_[k] += kMissWeight;
      const uint32_t f = real_map_.Find(page);
      if (f != PageMap::kNotFound && disagree_[k].InList(f, 0)) disagree_[k].Remove(f);
    }
    if (r.evicted) {
      const uint32_t f = real_map_.Find(r.victim);
      if (f != PageMap::kNotFound) disagree_[k].PushBack(0, f);
    }
  }

  Arena arena_;
  Simulator<LruPolicy> lru_;
  Simulator<LirsPolicy> lirs_;
  PageMap real_map_;
  PageId* page_ = nullptr;
  ListSet disagree_[kExperts];
  uint64_t score_[kExperts] = {};
  unsigned decay_shift_;
  unsigned leader_ = kInitialLeader;
  uint64_t switches_ = 0;
  bool consulted_ = false;
};

}  // namespace mm::swap

#endif  // MM_SWAP_MM_POLICY_H_
