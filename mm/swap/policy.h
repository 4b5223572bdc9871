// The page-replacement policy contract of mm/swap.
//
// A policy decides which resident page to evict. It works on dense frame slots
// 0..frames-1 (the page frames the reclaim engine manages); the owner of the
// frames (the reclaim engine, or mm/swap/simulator.h when replaying a trace)
// keeps the page -> frame mapping and tells the policy about
//   - every reference to a resident page            (OnHit),
//   - the need to free a frame when all are in use  (SelectVictim),
//   - a page loaded into a free frame               (OnInsert),
//   - a page dropped by its owner (munmap, truncate) (OnRemove).
// A policy that keeps history of non-resident pages (ARC, LIRS, CLOCK-Pro,
// S3-FIFO ghosts, Linux shadow entries) keeps it in fixed-capacity tables
// inside its arena, keyed by page id.
//
// Memory: a policy never allocates. The caller sizes an arena with
// P::RequiredBytes(frames) and passes it to the constructor; the arena must
// outlive the policy. No operation allocates; each is O(1) or O(log frames),
// amortised where noted in the policy's header.
//
// Concurrency: none inside. A policy (and a Simulator) belongs to one reclaim
// context; its owner serialises every call (the reclaim engine holds its LRU
// lock around them), so there is no lock order to state here.
#ifndef MM_SWAP_POLICY_H_
#define MM_SWAP_POLICY_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mm::swap {

using PageId = uint64_t;   // a virtual page number or a block number; ~0 is reserved
using FrameId = uint32_t;  // a frame slot, 0..frames-1

inline constexpr FrameId kNoFrame = ~FrameId{0};
// Reference::next_use for a page that is never referenced again.
inline constexpr uint64_t kNeverUsedAgain = ~uint64_t{0};

// One reference to a page.
struct Reference {
  PageId page = 0;
  bool dirty = false;  // a store: the page becomes dirty
  // Only for offline policies (OPT): the position in the trace of the next
  // reference to `page`, or kNeverUsedAgain. Online policies ignore it.
  uint64_t next_use = kNeverUsedAgain;
};

// The compile-time contract every policy satisfies.
//
//   static size_t RequiredBytes(uint32_t frames);
//       Arena bytes needed for a policy managing `frames` (>= 1) frames.
//   P(uint32_t frames, std::span<std::byte> arena);
//       Takes RequiredBytes(frames) bytes of `arena`; all frames start free.
//   void OnHit(FrameId f, const Reference& ref);
//       `ref.page` is resident in frame f and was referenced.
//   FrameId SelectVictim(const Reference& incoming);
//       Called only when every frame holds a page and `incoming.page` is not
//       resident. Returns the frame whose page the owner must evict; the policy
//       has already forgotten that page (it may keep it as history). The owner
//       then calls OnInsert(f, incoming) for the same reference.
//   void OnInsert(FrameId f, const Reference& ref);
//       `ref.page` (not resident) was loaded into free frame f.
//   void OnRemove(FrameId f);
//       The owner dropped the page in frame f; the frame becomes free.
//   void CheckInvariants() const;
//       Panics (MM_CHECK) on a broken invariant; O(frames + history).
template <typename P>
concept ReplacementPolicy = requires(P p, const P cp, FrameId f, const Reference& ref,
                                     uint32_t frames, std::span<std::byte> arena) {
  { P::RequiredBytes(frames) } -> std::convertible_to<size_t>;
  {P(frames, arena)};
  {p.OnHit(f, ref)};
  { p.SelectVictim(ref) } -> std::same_as<FrameId>;
  {p.OnInsert(f, ref)};
  {p.OnRemove(f)};
  {cp.CheckInvariants()};
  { P::kName } -> std::convertible_to<const char*>;
};

}  // namespace mm::swap

#endif  // MM_SWAP_POLICY_H_
