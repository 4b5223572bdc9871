// FIFO, LRU, CLOCK and OPT reproduce the known miss ratios of
// ../shared/traces/README.md (measured there with an independent simulator)
// to the third decimal, on every listed trace and cache size.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/swap/policies.h"
#include "tools/trace_replay/replay.h"
#include "tools/trace_replay/trace_reader.h"

namespace mm::swap {
namespace {

struct Row {
  const char* trace;
  uint32_t frames;
  double fifo, lru, clock, opt;
};

// shared/traces/README.md, "Known answers".
constexpr Row kLirsRows[] = {
    {"2_pools", 496, 0.574, 0.490, 0.483, 0.372},  {"2_pools", 993, 0.501, 0.456, 0.456, 0.315},
    {"2_pools", 2484, 0.400, 0.384, 0.384, 0.222}, {"2_pools", 4969, 0.277, 0.272, 0.273, 0.147},
    {"cpp", 61, 0.803, 0.806, 0.772, 0.289},       {"cpp", 122, 0.372, 0.243, 0.227, 0.159},
    {"cpp", 305, 0.207, 0.164, 0.160, 0.135},      {"cpp", 611, 0.168, 0.141, 0.142, 0.135},
    {"cs", 70, 0.982, 0.982, 0.982, 0.940},        {"cs", 140, 0.982, 0.982, 0.982, 0.899},
    {"cs", 352, 0.982, 0.982, 0.982, 0.774},       {"cs", 704, 0.982, 0.982, 0.982, 0.566},
    {"gli", 126, 0.991, 0.991, 0.991, 0.906},      {"gli", 252, 0.991, 0.991, 0.991, 0.822},
    {"gli", 632, 0.989, 0.989, 0.988, 0.578},      {"gli", 1264, 0.889, 0.787, 0.687, 0.425},
    {"loop", 50, 1.000, 1.000, 1.000, 0.952},      {"loop", 101, 1.000, 1.000, 1.000, 0.901},
    {"loop", 252, 1.000, 1.000, 1.000, 0.752},     {"loop", 505, 1.000, 1.000, 1.000, 0.501},
    {"multi1", 130, 0.801, 0.762, 0.731, 0.507},   {"multi1", 260, 0.661, 0.566, 0.559, 0.473},
    {"multi1", 651, 0.572, 0.528, 0.523, 0.374},   {"multi1", 1303, 0.540, 0.515, 0.512, 0.210},
    {"multi2", 284, 0.807, 0.731, 0.715, 0.513},   {"multi2", 568, 0.702, 0.631, 0.618, 0.451},
    {"multi2", 1421, 0.584, 0.517, 0.512, 0.314},  {"multi2", 2842, 0.348, 0.303, 0.292, 0.216},
    {"multi3", 372, 0.804, 0.734, 0.720, 0.532},   {"multi3", 745, 0.708, 0.645, 0.636, 0.471},
    {"multi3", 1863, 0.605, 0.555, 0.552, 0.325},  {"multi3", 3727, 0.390, 0.370, 0.337, 0.246},
    {"ps", 154, 0.878, 0.878, 0.878, 0.585},       {"ps", 308, 0.878, 0.837, 0.837, 0.456},
    {"ps", 770, 0.575, 0.514, 0.514, 0.367},       {"ps", 1541, 0.514, 0.474, 0.474, 0.295},
    {"sprite", 353, 0.382, 0.344, 0.347, 0.177},   {"sprite", 707, 0.180, 0.135, 0.136, 0.086},
    {"sprite", 1768, 0.086, 0.068, 0.070, 0.056},  {"sprite", 3537, 0.064, 0.057, 0.058, 0.053},
};

// SPEC address traces at 4 KiB pages.
constexpr Row kSpecRows[] = {
    {"gcc", 4, 0.134, 0.124, 0.123, 0.074},   {"gcc", 8, 0.056, 0.045, 0.046, 0.026},
    {"gcc", 16, 0.017, 0.012, 0.013, 0.006},  {"twolf", 4, 0.151, 0.136, 0.128, 0.075},
    {"twolf", 8, 0.033, 0.021, 0.026, 0.013}, {"twolf", 16, 0.005, 0.002, 0.003, 0.001},
};

const trace_replay::Trace& Load(const std::string& relative, trace_replay::TraceFormat format) {
  static auto* cache = new std::map<std::string, trace_replay::Trace>;
  auto it = cache->find(relative);
  if (it != cache->end()) return it->second;
  const std::string path = trace_replay::FindSharedTrace(relative);
  EXPECT_FALSE(path.empty()) << relative << " not found in the runfiles";
  auto trace = trace_replay::ReadTrace(path, format);
  EXPECT_TRUE(trace.ok()) << trace.status();
  return cache->emplace(relative, trace.ok() ? *std::move(trace) : trace_replay::Trace{})
      .first->second;
}

// The README's figures have three decimals. Exact LRU (no implementation
// freedom; cross-checked with an independent OrderedDict LRU) lands up to
// 0.00055 away from some of them (gli 1264: 0.78753 vs 0.787; ps 770:
// 0.51455 vs 0.514, yet gli 632: 0.98853 vs 0.989), so the reference's
// rounding is not a consistent round-half-up or truncation. The tolerance is
// therefore 0.0006: every figure agrees to the third decimal, none may drift
// by a unit of it. mm/swap/README.md lists the entries that sit on the edge.
void ExpectRounded(double measured, double expected, const std::string& what) {
  EXPECT_LE(std::fabs(measured - expected), 0.0006)
      << what << ": measured " << measured << ", README says " << expected;
}

void CheckRow(const Row& row, const trace_replay::Trace& trace) {
  ASSERT_FALSE(trace.pages.empty());
  const std::vector<uint64_t> next_use = trace_replay::ComputeNextUse(trace);
  const struct {
    PolicyKind kind;
    double expected;
  } cases[] = {{PolicyKind::kFifo, row.fifo},
               {PolicyKind::kLru, row.lru},
               {PolicyKind::kClock, row.clock},
               {PolicyKind::kOpt, row.opt}};
  for (const auto& c : cases) {
    const trace_replay::ReplayResult r = trace_replay::Replay(c.kind, trace, next_use, row.frames);
    EXPECT_EQ(r.references, trace.pages.size());
    ExpectRounded(r.miss_ratio(), c.expected,
                  std::string(row.trace) + " frames=" + std::to_string(row.frames) + " " +
                      PolicyName(c.kind));
  }
}

TEST(KnownAnswerTest, LirsTraces) {
  for (const Row& row : kLirsRows) {
    CheckRow(row, Load(std::string("lirs/") + row.trace + ".trace.gz",
                       trace_replay::TraceFormat::kLirs));
  }
}

TEST(KnownAnswerTest, SpecTraces) {
  for (const Row& row : kSpecRows) {
    CheckRow(row, Load(std::string("spec/") + row.trace + ".trace.gz",
                       trace_replay::TraceFormat::kSpec));
  }
}

TEST(KnownAnswerTest, LirsTraceSizesMatchTheReadme) {
  const struct {
    const char* name;
    size_t references;
    uint64_t distinct;
  } sizes[] = {{"2_pools", 100000, 9939}, {"cpp", 9047, 1223},     {"cs", 6781, 1409},
               {"gli", 6015, 2529},       {"loop", 505500, 1011},  {"multi1", 15858, 2606},
               {"multi2", 26311, 5684},   {"multi3", 30241, 7454}, {"ps", 10448, 3083},
               {"sprite", 133996, 7075}};
  for (const auto& s : sizes) {
    const trace_replay::Trace& t =
        Load(std::string("lirs/") + s.name + ".trace.gz", trace_replay::TraceFormat::kLirs);
    EXPECT_EQ(t.pages.size(), s.references) << s.name;
    EXPECT_EQ(t.distinct_pages, s.distinct) << s.name;
  }
}

}  // namespace
}  // namespace mm::swap
