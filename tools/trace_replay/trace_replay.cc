// trace_replay: replays a page-reference trace against mm/swap's replacement
// policies and prints one line per policy and frame count:
//   policy=lru frames=496 references=100000 misses=49012 miss_ratio=0.4901
//
// bazel run -c opt //tools:trace_replay -- --trace=PATH --format=lirs|spec
//     --policy=NAME[,NAME...] --frames=N[,N...] [--page_size=BYTES]
// --frames accepts percentages of the trace's distinct pages: --frames=5%,10%.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "mm/swap/policies.h"
#include "tools/trace_replay/replay.h"
#include "tools/trace_replay/trace_reader.h"

ABSL_FLAG(std::string, trace, "", "trace file (.gz or plain text)");
ABSL_FLAG(std::string, format, "lirs", "trace format: lirs or spec");
ABSL_FLAG(std::string, policy, "lru", "comma-separated policy names");
ABSL_FLAG(std::string, frames, "10%",
          "comma-separated frame counts or percentages of distinct pages");
ABSL_FLAG(uint64_t, page_size, 4096, "bytes per page for spec traces (a power of two)");

namespace {

int Fail(const std::string& message) {
  fprintf(stderr, "trace_replay: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "--trace=PATH --format=lirs|spec --policy=NAME[,NAME...] --frames=N[,N...] "
      "[--page_size=BYTES]");
  absl::ParseCommandLine(argc, argv);

  std::string path = absl::GetFlag(FLAGS_trace);
  if (path.empty()) return Fail("--trace is required");
  // `bazel run` starts us in the runfiles tree: resolve relative paths
  // against the directory the user ran bazel from.
  if (path[0] != '/') {
    if (const char* wd = getenv("BUILD_WORKING_DIRECTORY")) path = std::string(wd) + "/" + path;
  }
  auto format = trace_replay::ParseTraceFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return Fail(std::string(format.status().message()));

  std::vector<mm::swap::PolicyKind> policies;
  for (const std::string& name : std::vector<std::string>(
           absl::StrSplit(absl::GetFlag(FLAGS_policy), ',', absl::SkipEmpty()))) {
    auto kind = mm::swap::ParsePolicyName(name.c_str());
    if (!kind) {
      std::string known;
      for (mm::swap::PolicyKind k : mm::swap::kAllPolicies) {
        known += std::string(known.empty() ? "" : " ") + mm::swap::PolicyName(k);
      }
      return Fail("unknown policy '" + name + "' (known: " + known + ")");
    }
    policies.push_back(*kind);
  }
  if (policies.empty()) return Fail("--policy names no policy");

  auto trace = trace_replay::ReadTrace(path, *format, absl::GetFlag(FLAGS_page_size));
  if (!trace.ok()) return Fail(std::string(trace.status().message()));
  if (trace->pages.empty()) return Fail("trace '" + path + "' holds no references");
  auto frames = trace_replay::ParseFrames(absl::GetFlag(FLAGS_frames), trace->distinct_pages);
  if (!frames.ok()) return Fail(std::string(frames.status().message()));

  std::vector<uint64_t> next_use;
  for (mm::swap::PolicyKind k : policies) {
    if (mm::swap::IsOffline(k) && next_use.empty()) next_use = trace_replay::ComputeNextUse(*trace);
  }
  for (mm::swap::PolicyKind k : policies) {
    for (uint32_t n : *frames) {
      const trace_replay::ReplayResult r = trace_replay::Replay(k, *trace, next_use, n);
      printf("policy=%s frames=%u references=%llu misses=%llu miss_ratio=%.4f\n",
             mm::swap::PolicyName(k), n, static_cast<unsigned long long>(r.references),
             static_cast<unsigned long long>(r.misses), r.miss_ratio());
    }
  }
  return 0;
}
