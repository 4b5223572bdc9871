// //bench:reclaim — every policy on every shared trace:
//   1. the miss-ratio table at 5/10/25/50% of each trace's distinct pages
//      (SPEC traces at 4 KiB pages), printed as a table;
//   2. miss-ratio curves, drawn by gnuplot into reclaim_curves.png (and the
//      data into reclaim_curves.dat) under --plot_dir (default: /tmp/reclaim);
//   3. Google Benchmark throughput, references per second per policy,
//      replaying all traces at 10% of their distinct pages on one core.
// Run with: bazel run -c opt //bench:reclaim -- [--plot_dir=DIR] [--benchmark_filter=...]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "mm/swap/policies.h"
#include "tools/trace_replay/replay.h"
#include "tools/trace_replay/trace_reader.h"

namespace {

using mm::swap::PolicyKind;
using trace_replay::TraceFormat;

struct LoadedTrace {
  std::string name;
  trace_replay::Trace trace;
  std::vector<uint64_t> next_use;
};

const char* const kTraceFiles[] = {
    "lirs/2_pools.trace.gz", "lirs/cpp.trace.gz",    "lirs/cs.trace.gz",     "lirs/gli.trace.gz",
    "lirs/loop.trace.gz",    "lirs/multi1.trace.gz", "lirs/multi2.trace.gz", "lirs/multi3.trace.gz",
    "lirs/ps.trace.gz",      "lirs/sprite.trace.gz", "spec/gcc.trace.gz",    "spec/swim.trace.gz",
    "spec/twolf.trace.gz",
};
constexpr int kPercents[] = {5, 10, 25, 50};

// One colour and dash per policy (in kAllPolicies order); mm is drawn thick.
const char* const kColours[] = {"#999999", "#1f77b4", "#17becf", "#8c564b", "#bcbd22",
                                "#000000", "#ff7f0e", "#9467bd", "#2ca02c", "#98df8a",
                                "#e377c2", "#7f7f7f", "#d62728"};
static_assert(std::size(kColours) == std::size(mm::swap::kAllPolicies));

std::string Style(size_t i, PolicyKind k) {
  const bool is_mm = k == PolicyKind::kMm;
  return std::string(" with linespoints lc rgb '") + kColours[i] + "' dt " +
         std::to_string(i % 3 + 1) + " lw " + (is_mm ? "3" : "1.2") + " pt 7 ps " +
         (is_mm ? "0.8" : "0.4");
}

std::vector<LoadedTrace>& Traces() {
  static auto* traces = new std::vector<LoadedTrace>;
  if (!traces->empty()) return *traces;
  for (const char* file : kTraceFiles) {
    const std::string path = trace_replay::FindSharedTrace(file);
    if (path.empty()) {
      fprintf(stderr, "reclaim: cannot find %s (data dependency @traces//:all)\n", file);
      exit(1);
    }
    const TraceFormat format =
        strncmp(file, "spec/", 5) == 0 ? TraceFormat::kSpec : TraceFormat::kLirs;
    auto trace = trace_replay::ReadTrace(path, format);
    if (!trace.ok()) {
      fprintf(stderr, "reclaim: %s\n", std::string(trace.status().message()).c_str());
      exit(1);
    }
    LoadedTrace t;
    t.name = std::string(file).substr(5);
    t.name = t.name.substr(0, t.name.find('.'));
    t.next_use = trace_replay::ComputeNextUse(*trace);
    t.trace = *std::move(trace);
    traces->push_back(std::move(t));
  }
  return *traces;
}

uint32_t FramesFor(const LoadedTrace& t, int percent) {
  const uint64_t n = t.trace.distinct_pages * static_cast<uint64_t>(percent) / 100;
  return static_cast<uint32_t>(n == 0 ? 1 : n);
}

// The table, the curve data and the chart.
void PrintTableAndPlot(const std::string& plot_dir) {
  const std::vector<LoadedTrace>& traces = Traces();
  std::string dat;
  printf("Miss ratios (misses / references; the first touch is a miss)\n");
  printf("%-8s %4s %6s", "trace", "%", "frames");
  for (PolicyKind k : mm::swap::kAllPolicies) printf(" %8s", mm::swap::PolicyName(k));
  printf("\n");
  std::vector<double> sums(std::size(mm::swap::kAllPolicies), 0.0);
  int cells = 0;
  for (const LoadedTrace& t : traces) {
    dat += "# " + t.name + "\n";
    for (int pct : kPercents) {
      const uint32_t frames = FramesFor(t, pct);
      printf("%-8s %4d %6u", t.name.c_str(), pct, frames);
      dat += std::to_string(pct);
      size_t i = 0;
      for (PolicyKind k : mm::swap::kAllPolicies) {
        const double r = trace_replay::Replay(k, t.trace, t.next_use, frames).miss_ratio();
        sums[i++] += r;
        printf(" %8.4f", r);
        char buf[32];
        snprintf(buf, sizeof buf, " %.5f", r);
        dat += buf;
      }
      ++cells;
      printf("\n");
      dat += "\n";
    }
    dat += "\n\n";  // gnuplot data set separator: one index per trace
  }
  printf("%-8s %4s %6s", "mean", "", "");
  for (double s : sums) printf(" %8.4f", s / cells);
  printf("\n\n");

  if (plot_dir.empty()) return;
  const std::string dat_path = plot_dir + "/reclaim_curves.dat";
  const std::string png_path = plot_dir + "/reclaim_curves.png";
  const std::string gp_path = plot_dir + "/reclaim_curves.gp";
  FILE* f = fopen(dat_path.c_str(), "w");
  if (f == nullptr) {
    fprintf(stderr, "reclaim: cannot write %s\n", dat_path.c_str());
    return;
  }
  fputs(dat.c_str(), f);
  fclose(f);
  std::string gp;
  gp += "set terminal pngcairo noenhanced size 1400,1080 font 'Sans,8'\n";
  gp += "set output '" + png_path + "'\n";
  gp +=
      "set multiplot layout 4,4 title 'libmm page replacement: miss ratio vs cache size (% of "
      "distinct pages)'\n";
  gp += "set key off\nset grid\nset xrange [0:55]\nset xtics (5,10,25,50)\nset yrange [0:*]\n";
  for (size_t i = 0; i < traces.size(); ++i) {
    // SPEC traces fit in few pages: a log scale shows their small ratios.
    const bool spec = strncmp(kTraceFiles[i], "spec/", 5) == 0;
    gp += spec ? "set logscale y\nset yrange [*:*]\n" : "unset logscale y\nset yrange [0:*]\n";
    gp += "set title '" + traces[i].name + (spec ? " (log scale)" : "") + "'\n";
    gp += "plot ";
    size_t col = 2;
    for (PolicyKind k : mm::swap::kAllPolicies) {
      gp += std::string(col > 2 ? ", " : "") + "'" + dat_path + "' index " + std::to_string(i) +
            " using 1:" + std::to_string(col) + Style(col - 2, k) + " title '" +
            mm::swap::PolicyName(k) + "'";
      ++col;
    }
    gp += "\n";
  }
  // The last cell: the legend alone.
  gp += "set key center center box\nunset title\nunset border\nunset tics\nunset grid\n";
  gp += "unset logscale y\nset yrange [0:1]\n";
  gp += "plot ";
  size_t col = 2;
  for (PolicyKind k : mm::swap::kAllPolicies) {
    gp += std::string(col > 2 ? ", " : "") + "2" + Style(col - 2, k) + " title '" +
          mm::swap::PolicyName(k) + "'";
    ++col;
  }
  gp += "\nunset multiplot\n";
  f = fopen(gp_path.c_str(), "w");
  if (f == nullptr) return;
  fputs(gp.c_str(), f);
  fclose(f);
  const std::string cmd = "gnuplot '" + gp_path + "'";
  if (system(cmd.c_str()) == 0) {
    printf("miss-ratio curves: %s (data %s)\n\n", png_path.c_str(), dat_path.c_str());
  } else {
    fprintf(stderr, "reclaim: gnuplot failed (is gnuplot-nox installed?)\n");
  }
}

// Throughput: every trace at 10% of its distinct pages, back to back.
void BM_Replay(benchmark::State& state, PolicyKind kind) {
  const std::vector<LoadedTrace>& traces = Traces();
  uint64_t refs = 0, misses = 0;
  for (auto _ : state) {
    for (const LoadedTrace& t : traces) {
      const auto r = trace_replay::Replay(kind, t.trace, t.next_use, FramesFor(t, 10));
      refs += r.references;
      misses += r.misses;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(refs));
  state.counters["miss_ratio"] =
      refs == 0 ? 0.0 : static_cast<double>(misses) / static_cast<double>(refs);
}

}  // namespace

int main(int argc, char** argv) {
  std::string plot_dir = "/tmp/reclaim";
  bool table = true;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "--plot_dir=", 11) == 0) {
      plot_dir = argv[i] + 11;
      if (!plot_dir.empty() && plot_dir[0] != '/') {
        if (const char* wd = getenv("BUILD_WORKING_DIRECTORY"))
          plot_dir = std::string(wd) + "/" + plot_dir;
      }
    } else if (strcmp(argv[i], "--no_table") == 0) {
      table = false;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (plot_dir == "/tmp/reclaim") {
    if (system("mkdir -p /tmp/reclaim") != 0) plot_dir.clear();
  }
  if (table) PrintTableAndPlot(plot_dir);
  for (PolicyKind k : mm::swap::kAllPolicies) {
    benchmark::RegisterBenchmark((std::string("BM_Replay/") + mm::swap::PolicyName(k)).c_str(),
                                 [k](benchmark::State& s) { BM_Replay(s, k); })
        ->Unit(benchmark::kMillisecond);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
