// ARC (Megiddo and Modha, FAST'03): adaptive replacement cache.
//   T1: resident pages seen once recently; T2: resident pages seen at least
//   twice. B1, B2: ghosts (page ids only) of pages evicted from T1, T2.
//   p: the adaptive target size of T1, in [0, frames].
// A miss on a page in B1 means T1 was too small: p grows (by |B2|/|B1|, at
// least 1); a miss in B2 shrinks p symmetrically; the page enters T2. REPLACE
// evicts T1's LRU page into B1 when |T1| exceeds p (or equals it on a B2 hit),
// else T2's LRU page into B2. Directory bounds: |T1| + |B1| <= c and
// |T1| + |T2| + |B1| + |B2| <= 2c. All operations O(1).
//
// Nodes 0..c-1 are the frames (in T1/T2); nodes c..2c are ghost slots (in
// B1/B2, or on the free-slot stack); one spare slot covers the moment in a
// ghost hit when REPLACE has added a ghost and the hit one is not yet gone.
#ifndef MM_SWAP_ARC_POLICY_H_
#define MM_SWAP_ARC_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariants: resident frames are in exactly one of kT1, kT2; ghost slots in
// use are in exactly one of kB1, kB2 and in ghost_map_ (page -> slot); the
// bounds above hold between calls; 0 <= p_ <= frames_.
class ArcPolicy {
 public:
  static constexpr const char* kName = "arc";
  static size_t RequiredBytes(uint32_t frames) {
    const uint32_t nodes = 2 * frames + 1;
    return ListSet::RequiredBytes(nodes) + ArenaBytes<PageId>(nodes) +
           ArenaBytes<uint32_t>(frames + 1) + PageMap::RequiredBytes(frames + 1);
  }

  ArcPolicy(uint32_t frames, std::span<std::byte> memory) : c_(frames) {
    Arena arena(memory);
    lists_.Init(2 * frames + 1, arena);
    page_ = arena.Take<PageId>(2 * frames + 1);
    free_ghosts_ = arena.Take<uint32_t>(frames + 1);
    for (uint32_t i = 0; i <= frames; ++i) free_ghosts_[i] = 2 * frames - i;
    free_ghost_count_ = frames + 1;
    ghost_map_.Init(frames + 1, arena);
  }

  void OnHit(FrameId f, const Reference&) { lists_.MoveToFront(kT2, f); }

  FrameId SelectVictim(const Reference& incoming) {
    selected_ = true;
    const uint32_t g = ghost_map_.Find(incoming.page);
    if (g != PageMap::kNotFound) {
      const bool in_b2 = Adapt(g);
      return Replace(in_b2);
    }
    const uint32_t b1 = lists_.size(kB1), b2 = lists_.size(kB2);
    const uint32_t t1 = lists_.size(kT1);
    if (t1 + b1 >= c_) {
      if (t1 < c_) {
        DropGhost(lists_.Back(kB1));
        return Replace(false);
      }
      const uint32_t f = lists_.Back(kT1);  // |T1| == c: evict without a ghost
      lists_.Remove(f);
      return f;
    }
    if (t1 + lists_.size(kT2) + b1 + b2 >= 2 * c_) DropGhost(lists_.Back(kB2));
    return Replace(false);
  }

  void OnInsert(FrameId f, const Reference& ref) {
    page_[f] = ref.page;
    const uint32_t g = ghost_map_.Find(ref.page);
    if (g != PageMap::kNotFound) {
      if (!selected_) Adapt(g);  // free frame: adapt as a ghost hit would
      DropGhost(g);
      lists_.PushFront(kT2, f);
    } else {
      if (!selected_) {
        // A free frame after removals: keep the directory bounds.
        if (lists_.size(kT1) + lists_.size(kB1) >= c_ && !lists_.empty(kB1))
          DropGhost(lists_.Back(kB1));
        if (Total() >= 2 * c_ && !lists_.empty(kB2)) DropGhost(lists_.Back(kB2));
      }
      lists_.PushFront(kT1, f);
    }
    selected_ = false;
  }

  void OnRemove(FrameId f) { lists_.Remove(f); }

  uint32_t target_t1() const { return p_; }

  void CheckInvariants() const {
    lists_.CheckInvariants(4);
    MM_CHECK(p_ <= c_);
    MM_CHECK(lists_.size(kT1) + lists_.size(kT2) <= c_);
    MM_CHECK(lists_.size(kT1) + lists_.size(kB1) <= c_);
    MM_CHECK(Total() <= 2 * c_);
    MM_CHECK(ghost_map_.size() == lists_.size(kB1) + lists_.size(kB2));
    MM_CHECK(free_ghost_count_ + ghost_map_.size() == c_ + 1);
    for (uint32_t g = c_; g <= 2 * c_; ++g) {
      const uint8_t l = lists_.ListOf(g);
      if (l != ListSet::kNone) MM_CHECK((l == kB1 || l == kB2) && ghost_map_.Find(page_[g]) == g);
    }
  }

 private:
  static constexpr unsigned kT1 = 0, kT2 = 1, kB1 = 2, kB2 = 3;

  uint32_t Total() const {
    return lists_.size(kT1) + lists_.size(kT2) + lists_.size(kB1) + lists_.size(kB2);
  }

  // A reference to ghost g: moves p; returns whether g is in B2.
  bool Adapt(uint32_t g) {
    const uint32_t b1 = lists_.size(kB1), b2 = lists_.size(kB2);
    if (lists_.InList(g, kB1)) {
      const uint32_t delta = b1 >= b2 ? 1 : b2 / b1;
      p_ = p_ + delta < c_ ? p_ + delta : c_;
      return false;
    }
    const uint32_t delta = b2 >= b1 ? 1 : b1 / b2;
    p_ = p_ > delta ? p_ - delta : 0;
    return true;
  }

  // Moves the LRU page of T1 or T2 to its ghost list; returns its frame.
  FrameId Replace(bool hit_in_b2) {
    const uint32_t t1 = lists_.size(kT1);
    const bool from_t1 = t1 > 0 && (t1 > p_ || (hit_in_b2 && t1 == p_) || lists_.empty(kT2));
    const FrameId f = lists_.Back(from_t1 ? kT1 : kT2);
    lists_.Remove(f);
    MM_CHECK(free_ghost_count_ > 0);
    const uint32_t g = free_ghosts_[--free_ghost_count_];
    page_[g] = page_[f];
    ghost_map_.Insert(page_[g], g);
    lists_.PushFront(from_t1 ? kB1 : kB2, g);
    return f;
  }

  void DropGhost(uint32_t g) {
    ghost_map_.Erase(page_[g]);
    lists_.Remove(g);
    free_ghosts_[free_ghost_count_++] = g;
  }

  ListSet lists_;
  PageId* page_ = nullptr;  // per node: the page (resident or ghost)
  uint32_t* free_ghosts_ = nullptr;
  uint32_t free_ghost_count_ = 0;
  PageMap ghost_map_;
  uint32_t c_;
  uint32_t p_ = 0;
  bool selected_ = false;  // SelectVictim ran for the reference OnInsert completes
};

}  // namespace mm::swap

#endif  // MM_SWAP_ARC_POLICY_H_
