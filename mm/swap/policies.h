// All replacement policies of mm/swap, by name.
//
//   fifo lru clock esc lfu opt linux arc clockpro lirs s3fifo sieve mm
//
// VisitPolicy(kind, f) calls f.template operator()<P>() with the policy type,
// so callers (the replayer, tests, the benchmark) can instantiate Simulator<P>
// without virtual calls on the per-reference path.
#ifndef MM_SWAP_POLICIES_H_
#define MM_SWAP_POLICIES_H_

#include <cstddef>
#include <optional>
#include <utility>

#include "mm/swap/arc_policy.h"
#include "mm/swap/clock_policy.h"
#include "mm/swap/clockpro_policy.h"
#include "mm/swap/esc_policy.h"
#include "mm/swap/fifo_policy.h"
#include "mm/swap/lfu_policy.h"
#include "mm/swap/linux_policy.h"
#include "mm/swap/lirs_policy.h"
#include "mm/swap/lru_policy.h"
#include "mm/swap/mm_policy.h"
#include "mm/swap/opt_policy.h"
#include "mm/swap/policy.h"
#include "mm/swap/s3fifo_policy.h"
#include "mm/swap/sieve_policy.h"

namespace mm::swap {

enum class PolicyKind : int {
  kFifo,
  kLru,
  kClock,
  kEsc,
  kLfu,
  kOpt,
  kLinux,
  kArc,
  kClockPro,
  kLirs,
  kS3Fifo,
  kSieve,
  kMm,
};

inline constexpr PolicyKind kAllPolicies[] = {
    PolicyKind::kFifo,     PolicyKind::kLru,  PolicyKind::kClock,  PolicyKind::kEsc,
    PolicyKind::kLfu,      PolicyKind::kOpt,  PolicyKind::kLinux,  PolicyKind::kArc,
    PolicyKind::kClockPro, PolicyKind::kLirs, PolicyKind::kS3Fifo, PolicyKind::kSieve,
    PolicyKind::kMm,
};

// The default policy of the reclaim engine.
inline constexpr PolicyKind kDefaultPolicy = PolicyKind::kMm;
using DefaultPolicy = MmPolicy;

template <typename F>
decltype(auto) VisitPolicy(PolicyKind kind, F&& f) {
  switch (kind) {
    case PolicyKind::kFifo:
      return std::forward<F>(f).template operator()<FifoPolicy>();
    case PolicyKind::kLru:
      return std::forward<F>(f).template operator()<LruPolicy>();
    case PolicyKind::kClock:
      return std::forward<F>(f).template operator()<ClockPolicy>();
    case PolicyKind::kEsc:
      return std::forward<F>(f).template operator()<EscPolicy>();
    case PolicyKind::kLfu:
      return std::forward<F>(f).template operator()<LfuPolicy>();
    case PolicyKind::kOpt:
      return std::forward<F>(f).template operator()<OptPolicy>();
    case PolicyKind::kLinux:
      return std::forward<F>(f).template operator()<LinuxPolicy>();
    case PolicyKind::kArc:
      return std::forward<F>(f).template operator()<ArcPolicy>();
    case PolicyKind::kClockPro:
      return std::forward<F>(f).template operator()<ClockProPolicy>();
    case PolicyKind::kLirs:
      return std::forward<F>(f).template operator()<LirsPolicy>();
    case PolicyKind::kS3Fifo:
      return std::forward<F>(f).template operator()<S3FifoPolicy>();
    case PolicyKind::kSieve:
      return std::forward<F>(f).template operator()<SievePolicy>();
    case PolicyKind::kMm:
      return std::forward<F>(f).template operator()<MmPolicy>();
  }
  __builtin_unreachable();
}

// The policy's name (its kName).
const char* PolicyName(PolicyKind kind);

// Whether the policy needs Reference::next_use (offline).
constexpr bool IsOffline(PolicyKind kind) { return kind == PolicyKind::kOpt; }

// Parses a policy name; "clock-pro" is accepted for "clockpro".
std::optional<PolicyKind> ParsePolicyName(const char* name);

}  // namespace mm::swap

#endif  // MM_SWAP_POLICIES_H_
