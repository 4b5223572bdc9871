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

}  // namespace
}  // namespace mm::swap
