#include "mm/swap/policies.h"

#include "mm/swap/simulator.h"

namespace mm::swap {
namespace {

bool Equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

}  // namespace

const char* PolicyName(PolicyKind kind) {
  return VisitPolicy(kind, []<typename P>() { return P::kName; });
}

std::optional<PolicyKind> ParsePolicyName(const char* name) {
  if (Equal(name, "clock-pro")) name = "clockpro";
  for (PolicyKind k : kAllPolicies) {
    if (Equal(name, PolicyName(k))) return k;
  }
  return std::nullopt;
}

// Instantiate every policy and its simulator here, so that building this
// library (also for the freestanding RISC-V target) compiles all of them.
template class Simulator<FifoPolicy>;
template class Simulator<LruPolicy>;
template class Simulator<ClockPolicy>;
template class Simulator<EscPolicy>;
template class Simulator<LfuPolicy>;
template class Simulator<OptPolicy>;
template class Simulator<LinuxPolicy>;
template class Simulator<ArcPolicy>;
template class Simulator<ClockProPolicy>;
template class Simulator<LirsPolicy>;
template class Simulator<S3FifoPolicy>;
template class Simulator<SievePolicy>;
template class Simulator<MmPolicy>;

}  // namespace mm::swap
