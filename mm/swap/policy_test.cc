// Property tests for every replacement policy, through the Simulator:
//   - a policy never evicts a page it was not given, and evicts exactly when
//     all frames are full (and only on a miss);
//   - invariants hold after every operation, including removals;
//   - OPT is never beaten by any policy on the same trace and cache size;
// plus small hand-checked behaviours per policy.
#include <cstdint>
#include <memory>
#include <random>
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

template <typename P>
class Harness {
 public:
  explicit Harness(uint32_t frames)
      : buffer_(Simulator<P>::RequiredBytes(frames)), sim_(frames, buffer_.span()) {}

  // Access with the properties checked against a model of the resident set.
  AccessResult Access(PageId page, bool dirty = false, uint64_t next_use = kNeverUsedAgain) {
    const bool was_resident = resident_.count(page) != 0;
    const bool was_full = resident_.size() == sim_.frames();
    const AccessResult r = sim_.Access(Reference{page, dirty, next_use});
    EXPECT_EQ(r.hit, was_resident) << "page " << page;
    EXPECT_EQ(r.evicted, !was_resident && was_full) << "page " << page;
    if (r.evicted) {
      EXPECT_EQ(resident_.count(r.victim), 1u)
          << "evicted page " << r.victim << " it was not given";
      EXPECT_NE(r.victim, page);
      resident_.erase(r.victim);
    }
    resident_.insert(page);
    EXPECT_EQ(sim_.resident(), resident_.size());
    EXPECT_EQ(sim_.PageIn(r.frame), page);
    return r;
  }
  bool Remove(PageId page) {
    const bool removed = sim_.Remove(page);
    EXPECT_EQ(removed, resident_.erase(page) == 1);
    return removed;
  }
  Simulator<P>& sim() { return sim_; }

 private:
  trace_replay::ArenaBuffer buffer_;
  Simulator<P> sim_;
  std::set<PageId> resident_;
};

template <typename P>
class PolicyTest : public ::testing::Test {};

using AllPolicies = ::testing::Types<FifoPolicy, LruPolicy, ClockPolicy, EscPolicy, LfuPolicy,
                                     OptPolicy, LinuxPolicy, ArcPolicy, ClockProPolicy, LirsPolicy,
                                     S3FifoPolicy, SievePolicy, MmPolicy>;
TYPED_TEST_SUITE(PolicyTest, AllPolicies);

// Synthetic reference strings that exercise the policies' different paths:
// uniform, skewed, a loop larger than the cache, and phase changes.
std::vector<PageId> MakeTrace(int kind, size_t n, uint32_t universe, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<PageId> t;
  t.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:
        t.push_back(rng() % universe);
        break;
      case 1: {  // skewed: most references to a few pages
        const uint32_t r = rng() % 100;
        t.push_back(r < 80 ? rng() % (universe / 8 + 1) : rng() % universe);
        break;
      }
      case 2:
        t.push_back(i % universe);
        break;
      default:  // phases with different hot sets, plus scans
        t.push_back((i / 500) % 3 == 2 ? i % (2 * universe)
                                       : (i / 1500) * 7 + rng() % (universe / 2 + 1));
        break;
    }
  }
  return t;
}

std::vector<uint64_t> NextUse(const std::vector<PageId>& pages) {
  trace_replay::Trace t;
  t.pages = pages;
  t.dirty.assign(pages.size(), 0);
  t.distinct_pages = std::set<PageId>(pages.begin(), pages.end()).size();
  return trace_replay::ComputeNextUse(t);
}

TYPED_TEST(PolicyTest, EvictsOnlyGivenPagesAndOnlyWhenFull) {
  for (uint32_t frames : {1u, 2u, 3u, 7u, 64u}) {
    for (int kind = 0; kind < 4; ++kind) {
      const std::vector<PageId> trace = MakeTrace(kind, 3000, 3 * frames + 5, 17 + kind);
      const std::vector<uint64_t> next = NextUse(trace);
      Harness<TypeParam> h(frames);
      for (size_t i = 0; i < trace.size(); ++i) {
        h.Access(trace[i], (trace[i] + i) % 3 == 0, next[i]);
        if (i % 97 == 0) h.sim().CheckInvariants();
        if (::testing::Test::HasFailure()) return;
      }
      h.sim().CheckInvariants();
    }
  }
}

TYPED_TEST(PolicyTest, SurvivesRemovals) {
  const uint32_t frames = 16;
  const std::vector<PageId> trace = MakeTrace(3, 4000, 40, 5);
  const std::vector<uint64_t> next = NextUse(trace);
  std::mt19937 rng(9);
  Harness<TypeParam> h(frames);
  for (size_t i = 0; i < trace.size(); ++i) {
    h.Access(trace[i], rng() % 4 == 0, next[i]);
    if (rng() % 5 == 0) h.Remove(rng() % 40);
    if (i % 53 == 0) h.sim().CheckInvariants();
    if (::testing::Test::HasFailure()) return;
  }
  h.sim().CheckInvariants();
  // Remove everything, then refill: the policy must cope with an empty cache.
  for (PageId p = 0; p < 40; ++p) h.Remove(p);
  EXPECT_EQ(h.sim().resident(), 0u);
  h.sim().CheckInvariants();
  for (size_t i = 0; i < 500; ++i) h.Access(trace[i], false, next[i]);
  h.sim().CheckInvariants();
}

TYPED_TEST(PolicyTest, OptIsNeverBeaten) {
  for (uint32_t frames : {2u, 5u, 31u}) {
    for (int kind = 0; kind < 4; ++kind) {
      trace_replay::Trace t;
      t.pages = MakeTrace(kind, 5000, 4 * frames, 3 + kind);
      t.dirty.assign(t.pages.size(), 0);
      const std::vector<uint64_t> next = trace_replay::ComputeNextUse(t);
      const auto opt = trace_replay::ReplayWith<OptPolicy>(t, next, frames);
      const auto other = trace_replay::ReplayWith<TypeParam>(t, next, frames);
      EXPECT_GE(other.misses, opt.misses)
          << TypeParam::kName << " frames=" << frames << " kind=" << kind;
    }
  }
}

TYPED_TEST(PolicyTest, OptIsNeverBeatenOnSharedTraces) {
  for (const char* name : {"cpp", "cs", "multi1"}) {
    const std::string path =
        trace_replay::FindSharedTrace(std::string("lirs/") + name + ".trace.gz");
    ASSERT_FALSE(path.empty());
    auto t = trace_replay::ReadTrace(path, trace_replay::TraceFormat::kLirs);
    ASSERT_TRUE(t.ok());
    const std::vector<uint64_t> next = trace_replay::ComputeNextUse(*t);
    for (uint32_t frames : {static_cast<uint32_t>(t->distinct_pages / 20),
                            static_cast<uint32_t>(t->distinct_pages / 4)}) {
      const auto opt = trace_replay::ReplayWith<OptPolicy>(*t, next, frames);
      const auto other = trace_replay::ReplayWith<TypeParam>(*t, next, frames);
      EXPECT_GE(other.misses, opt.misses) << name << " frames=" << frames;
    }
  }
}

TYPED_TEST(PolicyTest, AllHitsOnceTheWorkingSetFits) {
  Harness<TypeParam> h(8);
  for (int round = 0; round < 5; ++round) {
    for (PageId p = 100; p < 108; ++p) {
      const AccessResult r = h.Access(p);
      EXPECT_EQ(r.hit, round > 0);
    }
  }
}

TEST(PolicyRegistryTest, NamesRoundTrip) {
  for (PolicyKind k : kAllPolicies) {
    const auto parsed = ParsePolicyName(PolicyName(k));
    ASSERT_TRUE(parsed.has_value()) << PolicyName(k);
    EXPECT_EQ(*parsed, k);
  }
  const char* expected[] = {"fifo", "lru",      "clock", "esc",    "lfu",   "opt", "linux",
                            "arc",  "clockpro", "lirs",  "s3fifo", "sieve", "mm"};
  for (const char* name : expected) EXPECT_TRUE(ParsePolicyName(name).has_value()) << name;
  EXPECT_EQ(ParsePolicyName("clock-pro"), PolicyKind::kClockPro);
  EXPECT_FALSE(ParsePolicyName("random").has_value());
  EXPECT_EQ(kDefaultPolicy, PolicyKind::kMm);
}

TEST(LruTest, EvictsLeastRecentlyUsed) {
  Harness<LruPolicy> h(3);
  h.Access(1), h.Access(2), h.Access(3), h.Access(1);
  EXPECT_EQ(h.Access(4).victim, 2u);
  EXPECT_EQ(h.Access(5).victim, 3u);
}

TEST(FifoTest, IgnoresHits) {
  Harness<FifoPolicy> h(3);
  h.Access(1), h.Access(2), h.Access(3), h.Access(1);
  EXPECT_EQ(h.Access(4).victim, 1u);
}

TEST(ClockTest, SecondChance) {
  Harness<ClockPolicy> h(3);
  h.Access(1), h.Access(2), h.Access(3), h.Access(1);  // 1 referenced
  EXPECT_EQ(h.Access(4).victim, 2u);                   // 1 gets a second chance
  EXPECT_EQ(h.Access(5).victim, 3u);
  EXPECT_EQ(h.Access(6).victim, 1u);
}

TEST(EscTest, PrefersUnreferencedCleanPages) {
  Harness<EscPolicy> h(3);
  h.Access(1, /*dirty=*/true), h.Access(2), h.Access(3, true);
  // All referenced: aging clears the bits; the clean page goes first.
  EXPECT_EQ(h.Access(4).victim, 2u);
  // Now (0,1): 1 and 3 (dirty); 4 is (1,0): the unreferenced dirty go first.
  EXPECT_EQ(h.Access(5).victim, 1u);
}

TEST(LfuTest, EvictsLeastFrequent) {
  Harness<LfuPolicy> h(3);
  h.Access(1), h.Access(1), h.Access(2), h.Access(2), h.Access(3);
  EXPECT_EQ(h.Access(4).victim, 3u);
  h.Access(4), h.Access(4);
  EXPECT_EQ(h.Access(5).victim, 1u);  // 1 and 2 tie at 2 references; 1 is older
}

TEST(OptTest, EvictsFarthestNextUse) {
  Harness<OptPolicy> h(2);
  h.Access(1, false, 3), h.Access(2, false, 10);
  EXPECT_EQ(h.Access(3, false, 5).victim, 2u);
}

TEST(SieveTest, HandKeepsVisitedPages) {
  Harness<SievePolicy> h(3);
  h.Access(1), h.Access(2), h.Access(3), h.Access(1);
  EXPECT_EQ(h.Access(4).victim, 2u);  // 1 visited: spared, bit cleared
  h.Access(3);
  // The hand moves on from where it stopped (toward the head): 3 is spared,
  // and the new page 4, never hit, goes.
  EXPECT_EQ(h.Access(5).victim, 4u);
}

TEST(S3FifoTest, OneHitWondersLeaveThroughTheSmallQueue) {
  Harness<S3FifoPolicy> h(20);                               // small queue: 2 frames
  for (PageId p = 0; p < 18; ++p) h.Access(p), h.Access(p);  // hot pages
  for (PageId p = 1000; p < 1100; ++p) {
    const AccessResult r = h.Access(p);  // a scan of one-hit wonders
    if (r.evicted) {
      EXPECT_GE(r.victim, 18u) << "scan evicted hot page " << r.victim;
    }
  }
  for (PageId p = 0; p < 18; ++p) EXPECT_TRUE(h.sim().Contains(p));
  EXPECT_GE(S3FifoPolicy::SmallTarget(4), 2u);
  EXPECT_GE(S3FifoPolicy::SmallTarget(100), 10u);
}

TEST(ArcTest, GhostHitGoesToFrequencySide) {
  Harness<ArcPolicy> h(4);
  for (PageId p = 0; p < 4; ++p) h.Access(p);
  h.Access(3);  // 3 moves to T2
  h.Access(4);  // evicts T1's LRU page 0 into B1
  EXPECT_FALSE(h.sim().Contains(0));
  EXPECT_EQ(h.sim().policy().target_t1(), 0u);
  h.Access(0);  // B1 hit: T1's target grows
  EXPECT_EQ(h.sim().policy().target_t1(), 1u);
  h.sim().CheckInvariants();
}

// Loops larger than the cache: LRU, CLOCK, FIFO miss on every reference,
// LIRS and CLOCK-Pro keep a fixed set resident and hit on it.
TEST(LoopTest, ReuseDistancePoliciesHitOnLoops) {
  trace_replay::Trace t;
  for (int round = 0; round < 20; ++round) {
    for (PageId p = 0; p < 100; ++p) t.pages.push_back(p);
  }
  t.dirty.assign(t.pages.size(), 0);
  const std::vector<uint64_t> none;
  EXPECT_EQ(trace_replay::ReplayWith<LruPolicy>(t, none, 50).misses, t.pages.size());
  EXPECT_LT(trace_replay::ReplayWith<LirsPolicy>(t, none, 50).misses, t.pages.size() * 6 / 10);
  EXPECT_LT(trace_replay::ReplayWith<ClockProPolicy>(t, none, 50).misses, t.pages.size() * 6 / 10);
  EXPECT_LT(trace_replay::ReplayWith<MmPolicy>(t, none, 50).misses, t.pages.size() * 6 / 10);
}

TEST(LinuxTest, RefaultWithinWorkingsetActivates) {
  Harness<LinuxPolicy> h(4);
  // Build an active list: reference pages twice.
  for (PageId p = 0; p < 2; ++p) h.Access(p), h.Access(p);
  h.Access(2), h.Access(3);
  h.Access(4);  // evicts from the inactive list (2)
  h.sim().CheckInvariants();
  EXPECT_TRUE(h.sim().Contains(0));
  EXPECT_TRUE(h.sim().Contains(1));
}

}  // namespace
}  // namespace mm::swap
