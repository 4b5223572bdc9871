// Replaying a trace against a policy (host code, shared by the replayer tool,
// the mm/swap tests and //bench:reclaim).
#ifndef TOOLS_TRACE_REPLAY_REPLAY_H_
#define TOOLS_TRACE_REPLAY_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mm/swap/policies.h"
#include "mm/swap/simulator.h"
#include "tools/trace_replay/trace_reader.h"

namespace trace_replay {

struct ReplayResult {
  uint64_t references = 0;
  uint64_t misses = 0;
  uint64_t writebacks = 0;
  double miss_ratio() const { return references == 0 ? 0.0 : double(misses) / double(references); }
};

// Heap storage for a policy arena (the tool side may allocate; mm/ may not).
class ArenaBuffer {
 public:
  explicit ArenaBuffer(size_t bytes)
      : data_(new std::max_align_t[bytes / sizeof(std::max_align_t) + 1]), bytes_(bytes) {}
  std::span<std::byte> span() { return {reinterpret_cast<std::byte*>(data_.get()), bytes_}; }

 private:
  std::unique_ptr<std::max_align_t[]> data_;
  size_t bytes_;
};

// Replays `trace` through a Simulator<P> with `frames` frames. `next_use` must
// be ComputeNextUse(trace) when P needs it (OPT); it may be empty otherwise.
template <typename P>
ReplayResult ReplayWith(const Trace& trace, const std::vector<uint64_t>& next_use,
                        uint32_t frames) {
  ArenaBuffer buffer(mm::swap::Simulator<P>::RequiredBytes(frames));
  mm::swap::Simulator<P> sim(frames, buffer.span());
  const size_t n = trace.pages.size();
  const bool have_next = next_use.size() == n;
  for (size_t i = 0; i < n; ++i) {
    mm::swap::Reference ref;
    ref.page = trace.pages[i];
    ref.dirty = trace.dirty[i] != 0;
    if (have_next) ref.next_use = next_use[i];
    sim.Access(ref);
  }
  return ReplayResult{sim.references(), sim.misses(), sim.writebacks()};
}

inline ReplayResult Replay(mm::swap::PolicyKind kind, const Trace& trace,
                           const std::vector<uint64_t>& next_use, uint32_t frames) {
  return mm::swap::VisitPolicy(
      kind, [&]<typename P>() { return ReplayWith<P>(trace, next_use, frames); });
}

}  // namespace trace_replay

#endif  // TOOLS_TRACE_REPLAY_REPLAY_H_
