// Simulator: owns frames 0..frames-1 and the page -> frame mapping, and drives
// a ReplacementPolicy with a stream of references, as the reclaim engine does
// with real page frames. Used by the trace replayer, the tests, the benchmark,
// and by the `mm` policy to run its shadow experts.
//
// Invariants:
//   - map_ holds exactly the resident pages; map_[p] == f iff frame_page_[f] == p.
//   - A frame is either resident (frame_page_[f] != kFreePage) or on the free
//     stack free_[0..free_count_), never both; resident + free_count_ == frames.
//   - Policy contract: SelectVictim is called only when free_count_ == 0, and
//     must return a resident frame (checked: a policy never evicts a page it
//     was not given).
#ifndef MM_SWAP_SIMULATOR_H_
#define MM_SWAP_SIMULATOR_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"

namespace mm::swap {

struct AccessResult {
  bool hit = false;
  bool evicted = false;        // a resident page was evicted to make room
  bool evicted_dirty = false;  // ... and it needed writing back
  PageId victim = 0;           // the evicted page, when evicted
  FrameId frame = kNoFrame;    // the frame that holds the referenced page now
};

template <ReplacementPolicy P>
class Simulator {
 public:
  static constexpr PageId kFreePage = ~PageId{0};

  static size_t RequiredBytes(uint32_t frames) {
    return PageMap::RequiredBytes(frames) + ArenaBytes<PageId>(frames) +
           ArenaBytes<FrameId>(frames) + ArenaBytes<uint8_t>(frames) + P::RequiredBytes(frames) +
           alignof(std::max_align_t);
  }

  // Takes RequiredBytes(frames) bytes of `arena`; all frames start free.
  Simulator(uint32_t frames, std::span<std::byte> arena)
      : arena_(arena),
        frames_(frames),
        policy_(frames, arena_.TakeBytes(P::RequiredBytes(frames))) {
    MM_CHECK(frames >= 1);
    map_.Init(frames, arena_);
    frame_page_ = arena_.Take<PageId>(frames);
    free_ = arena_.Take<FrameId>(frames);
    dirty_ = arena_.Take<uint8_t>(frames);
    for (uint32_t i = 0; i < frames; ++i) {
      frame_page_[i] = kFreePage;
      free_[i] = frames - 1 - i;  // frames are handed out 0, 1, 2, ...
      dirty_[i] = 0;
    }
    free_count_ = frames;
  }
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // References ref.page: a hit, or a miss that loads it (evicting if full).
  AccessResult Access(const Reference& ref) {
    MM_DCHECK(ref.page != kFreePage);
    AccessResult r;
    ++references_;
    const uint32_t f = map_.Find(ref.page);
    if (f != PageMap::kNotFound) {
      r.hit = true;
      r.frame = f;
      dirty_[f] |= ref.dirty;
      policy_.OnHit(f, ref);
      return r;
    }
    ++misses_;
    FrameId frame;
    if (free_count_ > 0) {
      frame = free_[--free_count_];
    } else {
      frame = policy_.SelectVictim(ref);
      MM_CHECK(frame < frames_ && frame_page_[frame] != kFreePage);
      r.evicted = true;
      r.victim = frame_page_[frame];
      r.evicted_dirty = dirty_[frame] != 0;
      writebacks_ += dirty_[frame];
      map_.Erase(r.victim);
    }
    frame_page_[frame] = ref.page;
    dirty_[frame] = ref.dirty;
    map_.Insert(ref.page, frame);
    policy_.OnInsert(frame, ref);
    r.frame = frame;
    return r;
  }

  // Drops `page` if resident (the owner freed it); returns whether it was.
  bool Remove(PageId page) {
    const uint32_t f = map_.Find(page);
    if (f == PageMap::kNotFound) return false;
    policy_.OnRemove(f);
    map_.Erase(page);
    frame_page_[f] = kFreePage;
    free_[free_count_++] = f;
    return true;
  }

  // The frame holding `page`, or kNoFrame.
  FrameId FrameOf(PageId page) const {
    const uint32_t f = map_.Find(page);
    return f == PageMap::kNotFound ? kNoFrame : f;
  }
  PageId PageIn(FrameId f) const { return frame_page_[f]; }
  bool Contains(PageId page) const { return map_.Find(page) != PageMap::kNotFound; }

  uint32_t frames() const { return frames_; }
  uint32_t resident() const { return frames_ - free_count_; }
  uint64_t references() const { return references_; }
  uint64_t misses() const { return misses_; }
  uint64_t writebacks() const { return writebacks_; }
  P& policy() { return policy_; }
  const P& policy() const { return policy_; }

  void CheckInvariants() const {
    map_.CheckInvariants();
    MM_CHECK(map_.size() == resident());
    for (uint32_t f = 0; f < frames_; ++f) {
      if (frame_page_[f] != kFreePage) MM_CHECK(map_.Find(frame_page_[f]) == f);
    }
    for (uint32_t i = 0; i < free_count_; ++i) MM_CHECK(frame_page_[free_[i]] == kFreePage);
    policy_.CheckInvariants();
  }

 private:
  Arena arena_;
  uint32_t frames_;
  P policy_;
  PageMap map_;
  PageId* frame_page_ = nullptr;
  FrameId* free_ = nullptr;
  uint8_t* dirty_ = nullptr;
  uint32_t free_count_ = 0;
  uint64_t references_ = 0;
  uint64_t misses_ = 0;
  uint64_t writebacks_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_SIMULATOR_H_
