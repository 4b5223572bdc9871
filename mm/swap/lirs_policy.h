// LIRS (Jiang and Zhang, SIGMETRICS'02): ranks pages by inter-reference
// recency (IRR, the number of distinct pages referenced between a page's last
// two references) instead of recency.
//   - LIR pages (low IRR) fill all but lhirs = max(1, 1%) of the frames and
//     are never evicted directly; resident HIR pages use the rest and are
//     evicted in FIFO order from the queue Q.
//   - The stack S orders recently referenced pages (LIR, resident HIR, and
//     non-resident HIR ghosts) by recency; its bottom is always an LIR page
//     ("stack pruning" removes HIR entries that sink to the bottom).
//   - A HIR page referenced while it is in S has an IRR smaller than the
//     bottom LIR page's recency: it becomes LIR and the bottom LIR page is
//     demoted to a resident HIR page at Q's tail.
// Ghosts in S are bounded at 2 x frames: when more are needed, the oldest
// ghost (by time of eviction) leaves S. All operations O(1) amortised
// (pruning removes each entry once).
//
// Nodes 0..c-1 are frames; nodes c..c+G-1 ghost slots, with a page -> slot map.
#ifndef MM_SWAP_LIRS_POLICY_H_
#define MM_SWAP_LIRS_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants:
//   - Every resident frame is LIR or HIR; HIR frames are exactly the members of
//     Q (q_ list kQueue); LIR frames are all in S; lir_count_ counts them and
//     lir_count_ <= lir_target_.
//   - Ghost slots in use are in S, in the ghost FIFO (q_ list kGhosts) and in
//     ghost_map_; free ones are on the free stack.
//   - S is empty or its bottom (back) entry is LIR.
class LirsPolicy {
 public:
  static constexpr const char* kName = "lirs";
  static uint32_t GhostCapacity(uint32_t frames) { return 2 * frames; }
  static uint32_t HirTarget(uint32_t frames) {
    const uint32_t h = frames / 100;
    return h < 1 ? 1 : h;
  }
  static size_t RequiredBytes(uint32_t frames) {
    const uint32_t nodes = frames + GhostCapacity(frames);
    return 2 * ListSet::RequiredBytes(nodes) + ArenaBytes<PageId>(nodes) +
           ArenaBytes<uint8_t>(nodes) + ArenaBytes<uint32_t>(GhostCapacity(frames)) +
           PageMap::RequiredBytes(GhostCapacity(frames));
  }

  LirsPolicy(uint32_t frames, std::span<std::byte> memory)
      : frames_(frames),
        ghosts_(GhostCapacity(frames)),
        lir_target_(frames > HirTarget(frames) ? frames - HirTarget(frames) : 0) {
    Arena arena(memory);
    const uint32_t nodes = frames + ghosts_;
    s_.Init(nodes, arena);
    q_.Init(nodes, arena);
    page_ = arena.Take<PageId>(nodes);
    state_ = arena.Take<uint8_t>(nodes);
    free_ghosts_ = arena.Take<uint32_t>(ghosts_);
    for (uint32_t i = 0; i < ghosts_; ++i) free_ghosts_[i] = nodes - 1 - i;
    free_ghost_count_ = ghosts_;
    ghost_map_.Init(ghosts_, arena);
  }

  void OnHit(FrameId f, const Reference&) {
    if (state_[f] == kLir) {
      const bool bottom = s_.Back(kStack) == f;
      s_.MoveToFront(kStack, f);
      if (bottom) Prune();
      return;
    }
    if (s_.InList(f, kStack)) {  // HIR with a small IRR: promote
      s_.MoveToFront(kStack, f);
      q_.Remove(f);
      state_[f] = kLir;
      ++lir_count_;
      if (lir_count_ > lir_target_) DemoteBottom();
    } else {
      s_.PushFront(kStack, f);
      q_.MoveToBack(kQueue, f);
      if (lir_count_ == 0) Prune();
    }
  }

  FrameId SelectVictim(const Reference&) {
    const uint32_t f = q_.Front(kQueue);
    MM_CHECK(f != ListSet::kNil);
    q_.Remove(f);
    if (s_.InList(f, kStack)) {  // keep its recency as a non-resident ghost
      if (free_ghost_count_ == 0) DropGhost(q_.Front(kGhosts));
      const uint32_t g = free_ghosts_[--free_ghost_count_];
      page_[g] = page_[f];
      state_[g] = kGhost;
      s_.Replace(f, g);
      q_.PushBack(kGhosts, g);
      ghost_map_.Insert(page_[g], g);
    }
    return f;
  }

  void OnInsert(FrameId f, const Reference& ref) {
    page_[f] = ref.page;
    const uint32_t g = ghost_map_.Find(ref.page);
    if (g != PageMap::kNotFound) {
      // Re-referenced while its recency is still in S: IRR is below the
      // bottom LIR page's recency, so it becomes LIR.
      s_.Replace(g, f);
      FreeGhost(g);
      s_.MoveToFront(kStack, f);
      state_[f] = kLir;
      ++lir_count_;
      if (lir_count_ > lir_target_) DemoteBottom();
      return;
    }
    s_.PushFront(kStack, f);
    if (lir_count_ < lir_target_) {  // warm-up: LIR set not full yet
      state_[f] = kLir;
      ++lir_count_;
    } else {
      state_[f] = kHir;
      q_.PushBack(kQueue, f);
      if (lir_count_ == 0) Prune();  // no LIR page at all (a 1-frame cache)
    }
  }

  void OnRemove(FrameId f) {
    if (state_[f] == kLir) --lir_count_;
    if (q_.ListOf(f) != ListSet::kNone) q_.Remove(f);
    if (s_.InList(f, kStack)) {
      s_.Remove(f);
      Prune();
    }
  }

  void CheckInvariants() const {
    s_.CheckInvariants(1);
    q_.CheckInvariants(2);
    MM_CHECK(lir_count_ <= lir_target_ || lir_target_ == 0);
    uint32_t lirs = 0;
    for (uint32_t n = 0; n < frames_; ++n) {
      if (q_.ListOf(n) == kQueue) MM_CHECK(state_[n] == kHir);
      if (state_[n] == kLir && s_.InList(n, kStack)) ++lirs;
    }
    MM_CHECK(lirs == lir_count_);
    MM_CHECK(ghost_map_.size() + free_ghost_count_ == ghosts_);
    MM_CHECK(q_.size(kGhosts) == ghost_map_.size());
    for (uint32_t g = frames_; g < frames_ + ghosts_; ++g) {
      if (q_.ListOf(g) == kGhosts) MM_CHECK(s_.InList(g, kStack) && ghost_map_.Find(page_[g]) == g);
    }
    if (!s_.empty(kStack)) MM_CHECK(state_[s_.Back(kStack)] == kLir);
  }

 private:
  static constexpr unsigned kStack = 0;               // s_: the LIRS stack S
  static constexpr unsigned kQueue = 0, kGhosts = 1;  // q_: Q, and ghosts by age
  static constexpr uint8_t kLir = 0, kHir = 1, kGhost = 2;

  // The bottom LIR page of S becomes a resident HIR page at Q's tail.
  void DemoteBottom() {
    const uint32_t b = s_.Back(kStack);
    MM_CHECK(b != ListSet::kNil && state_[b] == kLir);
    s_.Remove(b);
    state_[b] = kHir;
    --lir_count_;
    q_.PushBack(kQueue, b);
    Prune();
  }

  // Removes HIR entries from the bottom of S until an LIR page is there.
  void Prune() {
    for (uint32_t b = s_.Back(kStack); b != ListSet::kNil && state_[b] != kLir;
         b = s_.Back(kStack)) {
      if (state_[b] == kGhost) {
        DropGhost(b);
      } else {
        s_.Remove(b);
      }
    }
  }

  void DropGhost(uint32_t g) {
    s_.Remove(g);
    FreeGhost(g);
  }
  // g has already left S (or is leaving it via Replace).
  void FreeGhost(uint32_t g) {
    q_.Remove(g);
    ghost_map_.Erase(page_[g]);
    free_ghosts_[free_ghost_count_++] = g;
  }

  ListSet s_;
  ListSet q_;
  PageId* page_ = nullptr;
  uint8_t* state_ = nullptr;
  uint32_t* free_ghosts_ = nullptr;
  uint32_t free_ghost_count_ = 0;
  PageMap ghost_map_;
  uint32_t frames_;
  uint32_t ghosts_;
  uint32_t lir_target_;
  uint32_t lir_count_ = 0;
};

}  // namespace mm::swap

#endif  // MM_SWAP_LIRS_POLICY_H_
