// The claim of the `mm` policy (mm/swap/README.md), checked deterministically
// on miss counts over the shared traces: every LIRS trace at 5/10/25/50% of its
// distinct pages (the README's cache sizes), every SPEC trace (4 KiB pages) at
// 5/10/25/50% and at 4/8/16 frames.
//   - mm's mean miss ratio is lower than CLOCK-Pro's and LIRS's;
//   - on no trace and size is mm more than 5% (relative) worse than LRU.
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/swap/policies.h"
#include "mm/swap/simulator.h"
#include "tools/trace_replay/replay.h"
#include "tools/trace_replay/trace_reader.h"

namespace mm::swap {
namespace {

TEST(MmPolicyClaimTest, BeatsLirsAndClockProOnAverageAndNeverFarBehindLru) {
  struct TraceSpec {
    const char* file;
    trace_replay::TraceFormat format;
    std::vector<uint32_t> extra_frames;
  };
  const TraceSpec traces[] = {
      {"lirs/2_pools.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/cpp.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/cs.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/gli.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/loop.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/multi1.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/multi2.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/multi3.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/ps.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"lirs/sprite.trace.gz", trace_replay::TraceFormat::kLirs, {}},
      {"spec/gcc.trace.gz", trace_replay::TraceFormat::kSpec, {4, 8, 16}},
      {"spec/swim.trace.gz", trace_replay::TraceFormat::kSpec, {4, 8, 16}},
      {"spec/twolf.trace.gz", trace_replay::TraceFormat::kSpec, {4, 8, 16}},
  };
  double sum_mm = 0, sum_lirs = 0, sum_clockpro = 0, sum_lru = 0, worst = 0;
  std::string worst_at;
  int cells = 0;
  const std::vector<uint64_t> no_next_use;
  for (const TraceSpec& spec : traces) {
    const std::string path = trace_replay::FindSharedTrace(spec.file);
    ASSERT_FALSE(path.empty()) << spec.file;
    auto trace = trace_replay::ReadTrace(path, spec.format);
    ASSERT_TRUE(trace.ok()) << trace.status();
    auto pct = trace_replay::ParseFrames("5%,10%,25%,50%", trace->distinct_pages);
    ASSERT_TRUE(pct.ok());
    std::set<uint32_t> sizes(pct->begin(), pct->end());
    sizes.insert(spec.extra_frames.begin(), spec.extra_frames.end());
    for (uint32_t frames : sizes) {
      const auto lru = trace_replay::ReplayWith<LruPolicy>(*trace, no_next_use, frames);
      const auto lirs = trace_replay::ReplayWith<LirsPolicy>(*trace, no_next_use, frames);
      const auto clockpro = trace_replay::ReplayWith<ClockProPolicy>(*trace, no_next_use, frames);
      const auto mm = trace_replay::ReplayWith<MmPolicy>(*trace, no_next_use, frames);
      sum_lru += lru.miss_ratio();
      sum_lirs += lirs.miss_ratio();
      sum_clockpro += clockpro.miss_ratio();
      sum_mm += mm.miss_ratio();
      ++cells;
      const double gap = static_cast<double>(mm.misses) / static_cast<double>(lru.misses) - 1.0;
      EXPECT_LE(mm.misses, lru.misses * 105 / 100)
          << spec.file << " frames=" << frames << ": mm " << mm.miss_ratio() << " vs LRU "
          << lru.miss_ratio();
      if (gap > worst) {
        worst = gap;
        worst_at = std::string(spec.file) + " frames=" + std::to_string(frames);
      }
    }
  }
  printf(
      "cells=%d mean miss ratio: mm=%.4f lirs=%.4f clockpro=%.4f lru=%.4f; worst mm vs LRU: "
      "%+.2f%% (%s)\n",
      cells, sum_mm / cells, sum_lirs / cells, sum_clockpro / cells, sum_lru / cells, 100 * worst,
      worst_at.c_str());
  EXPECT_LT(sum_mm, sum_lirs);
  EXPECT_LT(sum_mm, sum_clockpro);
}

// While one expert leads throughout, the real frames hold exactly that
// expert's pages: on pure loops LRU misses every reference, LIRS leads from the
// start and never loses the lead, so mm's misses equal LIRS's, reference for
// reference.
TEST(MmPolicyTest, FollowsAConstantLeaderExactly) {
  const std::vector<uint64_t> no_next_use;
  for (const char* file : {"lirs/loop.trace.gz", "lirs/cs.trace.gz"}) {
    const std::string path = trace_replay::FindSharedTrace(file);
    ASSERT_FALSE(path.empty()) << file;
    auto trace = trace_replay::ReadTrace(path, trace_replay::TraceFormat::kLirs);
    ASSERT_TRUE(trace.ok()) << trace.status();
    auto frames = trace_replay::ParseFrames("5%,10%,25%,50%", trace->distinct_pages);
    ASSERT_TRUE(frames.ok());
    for (uint32_t n : *frames) {
      EXPECT_EQ(trace_replay::ReplayWith<MmPolicy>(*trace, no_next_use, n).misses,
                trace_replay::ReplayWith<LirsPolicy>(*trace, no_next_use, n).misses)
          << file << " frames=" << n;
    }
  }
}

// The leader changes when the workload does: a loop (LIRS wins), then a
// recency-friendly phase with a shifting hot set (LRU wins), then the loop.
TEST(MmPolicyTest, SwitchesLeaderWithThePhase) {
  std::vector<PageId> pages;
  for (int r = 0; r < 40; ++r) {
    for (PageId p = 0; p < 150; ++p) pages.push_back(p);
  }
  for (int i = 0; i < 60000; ++i) pages.push_back(1000 + (i / 2000) * 40 + (i * 7) % 90);
  trace_replay::Trace t;
  t.pages = pages;
  t.dirty.assign(pages.size(), 0);
  trace_replay::ArenaBuffer buffer(Simulator<MmPolicy>::RequiredBytes(100));
  Simulator<MmPolicy> sim(100, buffer.span());
  EXPECT_EQ(sim.policy().leader(), 1u);  // LIRS first
  for (PageId p : pages) sim.Access(Reference{p, false, kNeverUsedAgain});
  sim.CheckInvariants();
  EXPECT_GE(sim.policy().switches(), 1u);
  const std::vector<uint64_t> none;
  const uint64_t lru = trace_replay::ReplayWith<LruPolicy>(t, none, 100).misses;
  const uint64_t lirs = trace_replay::ReplayWith<LirsPolicy>(t, none, 100).misses;
  EXPECT_LE(sim.misses(), (lru < lirs ? lru : lirs) * 105 / 100)
      << "mm " << sim.misses() << " lru " << lru << " lirs " << lirs;
}

}  // namespace
}  // namespace mm::swap
