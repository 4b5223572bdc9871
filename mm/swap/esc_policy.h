// Enhanced second chance (the (reference, dirty) classes of the classic VM
// texts): evict from the lowest non-empty class, in the order
//   (0,0) not referenced, clean  <  (0,1) not referenced, dirty
//   < (1,0) referenced, clean    <  (1,1) referenced, dirty.
// Each class is a FIFO list (oldest at the front), so eviction is O(1)
// instead of the textbook's up to four sweeps of the clock. When both
// unreferenced classes are empty, every reference bit is cleared at once
// (the textbook's second sweep): (1,0) is appended to (0,0) and (1,1) to
// (0,1), keeping their age order. Amortised O(1): a page is relabelled once
// per reference bit that was set.
// A page stays dirty until evicted (writeback happens at eviction).
#ifndef MM_SWAP_ESC_POLICY_H_
#define MM_SWAP_ESC_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/base/panic.h"
#include "mm/swap/arena.h"
#include "mm/swap/list_set.h"
#include "mm/swap/policy.h"

namespace mm::swap {

// Invariant: every resident frame is in exactly the list numbered
// 2 * referenced + dirty of its page; free frames are in none.
class EscPolicy {
 public:
  static constexpr const char* kName = "esc";
  static size_t RequiredBytes(uint32_t frames) { return ListSet::RequiredBytes(frames); }

  EscPolicy(uint32_t frames, std::span<std::byte> memory) {
    Arena arena(memory);
    classes_.Init(frames, arena);
  }

  void OnHit(FrameId f, const Reference& ref) {
    const unsigned cls = classes_.ListOf(f);
    const unsigned want = 2u | (cls & 1u) | (ref.dirty ? 1u : 0u);
    if (cls != want) classes_.MoveToBack(want, f);
  }
  FrameId SelectVictim(const Reference&) {
    if (classes_.empty(0) && classes_.empty(1)) {
      classes_.SpliceBack(0, 2);
      classes_.SpliceBack(1, 3);
    }
    const unsigned cls = classes_.empty(0) ? 1 : 0;
    const FrameId f = classes_.Front(cls);
    classes_.Remove(f);
    return f;
  }
  void OnInsert(FrameId f, const Reference& ref) {
    classes_.PushBack(2u | (ref.dirty ? 1u : 0u), f);
  }
  void OnRemove(FrameId f) { classes_.Remove(f); }
  void CheckInvariants() const { classes_.CheckInvariants(4); }

 private:
  ListSet classes_;
};

}  // namespace mm::swap

#endif  // MM_SWAP_ESC_POLICY_H_
