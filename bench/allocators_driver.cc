#include "bench/allocators_driver.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/allocators_harness.h"
#include "bench/allocators_workloads.h"
#include "benchmark/benchmark.h"

namespace bench {
namespace {

constexpr const char* kUsage = R"(usage: allocators [flags] [--benchmark_* flags]
  --allocators=LIST  contenders, comma-separated: slub slub-cache slab slab-cache slob
                     slob-cache glibc jemalloc mimalloc tcmalloc; also libmm, peers, all
                     ("slub" selects kmalloc and kmem_cache on SLUB). Default: all.
  --workloads=LIST   hot batch random churn (larson) prodcons (xmalloc) falseshare
                     (scratch) large, or row names (hot-64, random-1e5). Default: all.
  --quick            short run (under a minute): small repetition counts and episodes
  --smoke            tiny run for tests (working sets scaled down 10x)
  --memory=0|1       the memory pass (peak system bytes / peak live bytes); default 1
  --plot=FILE.png    draw the chart with gnuplot
  --summary_out=FILE also write the summary table to FILE
  --benchmark_out=FILE (Google Benchmark) the JSON results
Relative paths are taken from the directory `bazel run` was started in.
)";

enum class Kind { kHot, kBatchLifo, kBatchFifo, kRandom, kChurn, kProdCons, kFalseShare, kLarge };

struct Workload {
  std::string name;   // row name
  std::string group;  // flag name
  Kind kind;
  unsigned size = 0;   // object size of fixed-size workloads (kmem_cache contenders)
  uint32_t slots = 0;  // working set (random, large, churn)
  bool threaded = false;
  bool memory = false;  // has a memory-overhead measurement
};

struct Scale {
  uint32_t random_small = 10000, random_big = 100000, large_slots = 16, churn_slots = 10000;
  uint64_t churn_ops = 100000, prodcons_objects = 200000, falseshare_rounds = 100000;
  int falseshare_writes = 64;
  double memory_steps = 2.0;  // memory pass: steps per live object after filling
};

struct Options {
  std::set<std::string> allocators;  // empty: all
  std::set<std::string> workloads;   // empty: all
  bool quick = false, smoke = false, memory = true;
  std::string plot, summary_out;
};

std::string Resolve(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const char* wd = std::getenv("BUILD_WORKING_DIRECTORY");
  return wd != nullptr && wd[0] != '\0' ? std::string(wd) + "/" + path : path;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<Workload> AllWorkloads(const Scale& s) {
  std::vector<Workload> w;
  for (unsigned size : {16u, 64u, 256u, 1024u, 4096u}) {
    w.push_back({"hot-" + std::to_string(size), "hot", Kind::kHot, size});
  }
  w.push_back({"batch-lifo", "batch", Kind::kBatchLifo, 64});
  w.push_back({"batch-fifo", "batch", Kind::kBatchFifo, 64});
  w.push_back({"random-1e4", "random", Kind::kRandom, 0, s.random_small, false, true});
  w.push_back({"random-1e5", "random", Kind::kRandom, 0, s.random_big, false, true});
  w.push_back({"churn", "churn", Kind::kChurn, 0, s.churn_slots, true, true});
  w.push_back({"prodcons", "prodcons", Kind::kProdCons, 0, 0, true, true});
  w.push_back({"falseshare", "falseshare", Kind::kFalseShare, 8, 0, true, false});
  w.push_back({"large", "large", Kind::kLarge, 0, s.large_slots, false, true});
  return w;
}

bool WorkloadSelected(const Options& o, const Workload& w) {
  if (o.workloads.empty()) return true;
  static const std::map<std::string, std::string> kAliases = {{"larson", "churn"},
                                                              {"xmalloc", "prodcons"},
                                                              {"scratch", "falseshare"},
                                                              {"cache-scratch", "falseshare"}};
  for (const std::string& name : o.workloads) {
    auto a = kAliases.find(name);
    const std::string& g = a == kAliases.end() ? name : a->second;
    if (g == w.group || g == w.name) return true;
  }
  return false;
}

bool ContenderSelected(const Options& o, const Contender& c) {
  if (o.allocators.empty()) return true;
  for (const std::string& name : o.allocators) {
    if (name == "all" || name == c.name) return true;
    if (name == "libmm" && c.is_libmm()) return true;
    if (name == "peers" && !c.is_libmm()) return true;
    if (c.is_libmm() && name == c.slab) return true;  // "slub": kmalloc and kmem_cache
  }
  return false;
}

// ---- running one workload on one contender ----

template <typename W>
void RunSteps(benchmark::State& st, W& w) {
  w.Setup();
  for (auto _ : st) w.Step();
  w.Teardown();
  st.SetItemsProcessed(st.iterations() * W::kOpsPerStep);
}

template <typename F>
void RunEpisodes(benchmark::State& st, F episode) {
  uint64_t ops = 0;
  const uint64_t cpu0 = ProcessCpuNs();
  for (auto _ : st) ops += episode();
  const uint64_t cpu = ProcessCpuNs() - cpu0;
  st.SetItemsProcessed(static_cast<int64_t>(ops));
  if (ops != 0) st.counters["proc_cpu_ns_per_op"] = static_cast<double>(cpu) / ops;
}

template <typename Api>
void Timed(benchmark::State& st, Api& api, const Workload& w, const Scale& s) {
  switch (w.kind) {
    case Kind::kHot: {
      HotPair<Api> x(api, w.size);
      return RunSteps(st, x);
    }
    case Kind::kBatchLifo:
    case Kind::kBatchFifo: {
      Batch<Api> x(api, w.kind == Kind::kBatchFifo);
      return RunSteps(st, x);
    }
    case Kind::kRandom:
    case Kind::kLarge: {
      const bool large = w.kind == Kind::kLarge;
      SlotReplace<Api> x(api, large ? LargeSizes() : RandomSizes(), w.slots, 42, large);
      return RunSteps(st, x);
    }
    case Kind::kChurn:
      return RunEpisodes(st, [&] { return RunServerChurn(api, w.slots, s.churn_ops, 7); });
    case Kind::kProdCons:
      return RunEpisodes(st, [&] { return RunProducerConsumer(api, s.prodcons_objects, 9); });
    case Kind::kFalseShare:
      return RunEpisodes(
          st, [&] { return RunFalseSharing(api, s.falseshare_rounds, s.falseshare_writes); });
  }
}

// The memory pass body: the workload once, through a MeteredApi.
template <typename Api>
void Metered(Api& inner, MemoryMeter& meter, const Workload& w, const Scale& s) {
  MeteredApi<Api> api{inner, meter};
  switch (w.kind) {
    case Kind::kRandom:
    case Kind::kLarge: {
      const bool large = w.kind == Kind::kLarge;
      SlotReplace<MeteredApi<Api>> x(api, large ? LargeSizes() : RandomSizes(), w.slots, 42, large);
      x.Setup();
      const uint64_t steps = static_cast<uint64_t>(s.memory_steps * w.slots) + 1000;
      for (uint64_t i = 0; i < steps; ++i) x.Step();
      meter.Sample();
      x.Teardown();
      return;
    }
    case Kind::kChurn:
      RunServerChurn(api, w.slots, s.churn_ops, 7);
      return;
    case Kind::kProdCons:
      RunProducerConsumer(api, s.prodcons_objects, 9);
      return;
    default:
      return;
  }
}

// ---- collecting results ----

struct Cell {
  bool present = false, median = false, error = false;
  double ns_per_op = 0;
  std::string error_message;
};

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(int total) : total_(total) {}
  std::map<std::string, Cell> cells;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && r.repetition_index == 0) {
        GetOutputStream() << "[" << ++done_ << "/" << total_ << "] ";
      }
    }
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type == Run::RT_Aggregate && !median) continue;
      std::string name = r.run_name.str();
      const std::string kRealTime = "/real_time";
      if (name.size() > kRealTime.size() &&
          name.compare(name.size() - kRealTime.size(), kRealTime.size(), kRealTime) == 0) {
        name.resize(name.size() - kRealTime.size());
      }
      Cell& c = cells[name];
      if (c.median && !median) continue;
      c.present = true;
      c.median = median;
      c.error = r.error_occurred;
      c.error_message = r.error_message;
      auto it = r.counters.find("items_per_second");
      if (!r.error_occurred && it != r.counters.end() && it->second.value > 0) {
        c.ns_per_op = 1e9 / it->second.value;
      } else if (!r.error_occurred) {
        c.error = true;
        c.error_message = "no rate";
      }
    }
  }

 private:
  int total_;
  int done_ = 0;
};

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string FormatNs(double ns) {
  if (ns >= 1e6) return Fixed(ns / 1e6, 2) + " ms";
  if (ns >= 1e4) return Fixed(ns / 1e3, 1) + " us";
  if (ns >= 100) return Fixed(ns, 0) + " ns";
  return Fixed(ns, 1) + " ns";
}

std::string Pad(const std::string& s, size_t width, bool left = false) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

// A markdown table with aligned columns.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out = "|";
  for (size_t i = 0; i < header.size(); ++i) out += " " + Pad(header[i], width[i], i == 0) + " |";
  out += "\n|";
  for (size_t i = 0; i < header.size(); ++i) {
    out += (i == 0 ? ":" : "") + std::string(width[i] + 1, '-') + (i == 0 ? "|" : ":|");
  }
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < row.size(); ++i) out += " " + Pad(row[i], width[i], i == 0) + " |";
    out += "\n";
  }
  return out;
}

struct Results {
  std::vector<Workload> rows;
  std::vector<Contender> columns;
  std::map<std::string, Cell> cells;                  // "row/column"
  std::map<std::string, MemoryResult> memory;         // "row/column"
  std::map<std::string, std::string> memory_methods;  // column -> method
  std::vector<std::string> notes;

  const Cell* At(const Workload& w, const Contender& c) const {
    auto it = cells.find(w.name + "/" + c.name);
    return it == cells.end() || !it->second.present || it->second.error ? nullptr : &it->second;
  }
  double Best(const Workload& w, bool peers_only) const {
    double best = 0;
    for (const Contender& c : columns) {
      if (peers_only && c.is_libmm()) continue;
      const Cell* cell = At(w, c);
      if (cell != nullptr && (best == 0 || cell->ns_per_op < best)) best = cell->ns_per_op;
    }
    return best;
  }
  const MemoryResult* Mem(const Workload& w, const std::string& column) const {
    auto it = memory.find(w.name + "/" + column);
    return it == memory.end() || !it->second.ok ? nullptr : &it->second;
  }
};

std::string TargetsText(const Results& r) {
  std::string out;
  const Contender* slub = nullptr;
  const Contender* slub_cache = nullptr;
  for (const Contender& c : r.columns) {
    if (c.name == "slub") slub = &c;
    if (c.name == "slub-cache") slub_cache = &c;
  }
  if (slub == nullptr && slub_cache == nullptr) return "(SLUB not in this run: no targets)\n";
  for (const Workload& w : r.rows) {
    double limit = 0;
    if (w.group == "hot" || w.group == "batch") limit = 1.0;
    if (w.group == "random") limit = 1.2;
    if (w.threaded) limit = 1.5;
    if (limit == 0) continue;
    const double best_peer = r.Best(w, true);
    if (best_peer == 0) continue;
    double ratio = 0;
    std::string how;
    for (const Contender* c : {slub, slub_cache}) {
      const Cell* cell = c == nullptr ? nullptr : r.At(w, *c);
      if (cell == nullptr) continue;
      const double q = cell->ns_per_op / best_peer;
      // Each API's own verdict: kmem_cache where the row has a fixed size,
      // kmalloc always; the row's verdict is the better of the two.
      how += (how.empty() ? "" : ", ") + c->name + " " + Fixed(q, 2) + "x" +
             (q <= limit ? " met" : " missed");
      if (ratio == 0 || q < ratio) ratio = q;
    }
    if (ratio == 0) continue;
    out += "- " + Pad(w.name, 11, true) + " SLUB/best peer: " + how + " (limit " + Fixed(limit, 1) +
           "x): " + (ratio <= limit ? "MET" : "MISSED") + "\n";
  }
  for (const Workload& w : r.rows) {
    if (w.group != "random") continue;
    const MemoryResult* s = r.Mem(w, "slub");
    const MemoryResult* je = r.Mem(w, "jemalloc");
    if (s == nullptr || je == nullptr) continue;
    out += "- " + Pad(w.name, 11, true) + " memory overhead: slub " + Fixed(s->overhead(), 2) +
           "x vs jemalloc " + Fixed(je->overhead(), 2) +
           "x: " + (s->overhead() <= je->overhead() ? "MET" : "MISSED") + "\n";
  }
  return out;
}

std::string SummaryText(const Results& r, const Options& o) {
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::string out = "\n== allocators: time per operation (ratio to the best in the row) ==\n";
  out += std::string("mode: ") +
         (o.smoke   ? "smoke"
          : o.quick ? "quick"
                    : "full") +
         ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cpus, load average " +
         Fixed(load[0], 2) + " at the end; medians when --benchmark_repetitions > 1\n";
  out += "single-threaded rows: CPU time; 2-thread rows (churn, prodcons, falseshare): wall time\n";
  out += "one op = an alloc+free pair (hot, batch) or one replacement (free + alloc)\n\n";
  std::vector<std::string> header = {"workload"};
  for (const Contender& c : r.columns) header.push_back(c.name);
  std::vector<std::vector<std::string>> rows;
  for (const Workload& w : r.rows) {
    std::vector<std::string> row = {w.name};
    const double best = r.Best(w, false);
    for (const Contender& c : r.columns) {
      auto it = r.cells.find(w.name + "/" + c.name);
      if (it == r.cells.end() || !it->second.present) {
        row.push_back("-");
      } else if (it->second.error) {
        row.push_back("error");
      } else {
        const double ns = it->second.ns_per_op;
        row.push_back(FormatNs(ns) + " " + Fixed(ns / best, 2) + "x");
      }
    }
    rows.push_back(row);
  }
  out += Table(header, rows);

  if (o.memory) {
    out += "\n== memory: peak bytes from the system / peak bytes live (peak system MiB) ==\n\n";
    std::vector<std::string> mheader = {"workload (peak live)"};
    std::vector<std::vector<std::string>> mrows;
    std::vector<const Contender*> mcols;
    for (const Contender& c : r.columns) {
      if (c.family != Family::kLibmmCache) {
        mcols.push_back(&c);
        mheader.push_back(c.name);
      }
    }
    for (const Workload& w : r.rows) {
      if (!w.memory) continue;
      uint64_t live = 0;
      for (const Contender* c : mcols) {
        if (const MemoryResult* m = r.Mem(w, c->name)) live = std::max(live, m->peak_live);
      }
      std::vector<std::string> row = {w.name + " (" + Fixed(live / 1048576.0, 1) + " MiB)"};
      for (const Contender* c : mcols) {
        const MemoryResult* m = r.Mem(w, c->name);
        if (m == nullptr) {
          row.push_back("-");
        } else if (m->peak_system == 0) {
          row.push_back("0 (reused)");  // served from memory it held before the run
        } else {
          row.push_back(Fixed(m->overhead(), 2) + "x (" + Fixed(m->peak_system / 1048576.0, 1) +
                        ")");
        }
      }
      mrows.push_back(row);
    }
    out += Table(mheader, mrows);
    out += "\nsystem bytes measured by:\n";
    for (const auto& [name, method] : r.memory_methods) out += "- " + name + ": " + method + "\n";
  }
  out += "\n== targets (libmm SLUB vs the best peer in this run) ==\n";
  out += TargetsText(r);
  if (!r.notes.empty() || !Libmm::LeakReport().empty()) out += "\n== notes ==\n";
  for (const std::string& n : r.notes) out += "- " + n + "\n";
  for (const std::string& n : Libmm::LeakReport()) out += "- " + n + "\n";
  return out;
}

bool WritePlot(const Results& r, const Options& o, const std::string& path) {
  char dir[] = "/tmp/allocators_plot.XXXXXX";
  if (mkdtemp(dir) == nullptr) return false;
  const std::string data = std::string(dir) + "/time.dat";
  const std::string mem = std::string(dir) + "/mem.dat";
  const std::string script = std::string(dir) + "/plot.gp";
  {
    std::ofstream d(data);
    d << "workload";
    for (const Contender& c : r.columns) d << " " << c.name;
    d << "\n";
    for (const Workload& w : r.rows) {
      const double best = r.Best(w, false);
      d << w.name;
      for (const Contender& c : r.columns) {
        const Cell* cell = r.At(w, c);
        if (cell == nullptr || best == 0) {
          d << " ?";
        } else {
          d << " " << cell->ns_per_op / best;
        }
      }
      d << "\n";
    }
  }
  bool have_mem = false;
  std::vector<std::string> mcols;
  for (const Contender& c : r.columns) {
    if (c.family != Family::kLibmmCache) mcols.push_back(c.name);
  }
  {
    std::ofstream m(mem);
    m << "workload";
    for (const std::string& c : mcols) m << " " << c;
    m << "\n";
    for (const Workload& w : r.rows) {
      if (!w.memory) continue;
      m << w.name;
      for (const std::string& c : mcols) {
        const MemoryResult* res = r.Mem(w, c);
        if (res == nullptr || res->peak_live == 0 || res->peak_system == 0) {
          m << " ?";
        } else {
          m << " " << res->overhead();
          have_mem = true;
        }
      }
      m << "\n";
    }
  }
  // One colour per allocator in both panels.
  auto colour = [](const std::string& name) -> const char* {
    static const std::map<std::string, const char*> kColours = {
        {"slub", "#6a1b9a"},       {"slub-cache", "#ba68c8"}, {"slab", "#00796b"},
        {"slab-cache", "#80cbc4"}, {"slob", "#e65100"},       {"slob-cache", "#ffb74d"},
        {"glibc", "#c0a000"},      {"jemalloc", "#1565c0"},   {"mimalloc", "#c62828"},
        {"tcmalloc", "#424242"}};
    auto it = kColours.find(name);
    return it == kColours.end() ? "#888888" : it->second;
  };
  auto plot_line = [&](const std::string& file, const std::vector<std::string>& names) {
    std::string line = "plot ";
    for (size_t i = 0; i < names.size(); ++i) {
      line += (i == 0 ? "'" + file + "' using 2:xtic(1)" : ", '' using " + std::to_string(i + 2)) +
              " title columnhead lc rgb '" + colour(names[i]) + "'";
    }
    return line + "\n";
  };
  std::vector<std::string> tcols;
  for (const Contender& c : r.columns) tcols.push_back(c.name);
  const bool two = have_mem && o.memory;
  std::ofstream g(script);
  g << "set terminal pngcairo size 1100," << (two ? 820 : 460) << " font 'sans,9'\n"
    << "set output '" << path << "'\n"
    << "set datafile missing '?'\n"
    << "set style data histograms\nset style histogram clustered gap 1\n"
    << "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
    << "set key outside right top vertical\nset grid ytics\nset xtics rotate by -30\n"
    << "set logscale y 2\n";
  if (two) g << "set multiplot layout 2,1\n";
  g << "set title 'libmm vs peers: time per operation / best in row (lower is better; "
       "CPU time, wall time for 2-thread rows)'\n"
    << "set ylabel 'x best'\nset yrange [0.7:*]\n"
    << plot_line(data, tcols);
  if (two) {
    g << "set title 'memory: peak bytes from the system / peak bytes live (lower is better)'\n"
      << "set ylabel 'overhead'\nset yrange [0.7:*]\n"
      << plot_line(mem, mcols) << "unset multiplot\n";
  }
  g.close();
  const std::string cmd = "gnuplot '" + script + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::remove(data.c_str());
  std::remove(mem.c_str());
  std::remove(script.c_str());
  rmdir(dir);
  return rc == 0;
}

}  // namespace

int RunAllocatorsBenchmark(int argc, char** argv) {
  Options o;
  std::vector<char*> pass = {argv[0]};
  std::vector<std::string> storage;  // rewritten flags, kept alive for Initialize
  storage.reserve(argc + 4);
  bool user_min_time = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (const char* v = value("--allocators=")) {
      for (auto& s : SplitCommas(v)) o.allocators.insert(s);
    } else if (const char* v = value("--workloads=")) {
      for (auto& s : SplitCommas(v)) o.workloads.insert(s);
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--smoke") {
      o.smoke = o.quick = true;
    } else if (const char* v = value("--memory=")) {
      o.memory = std::strcmp(v, "0") != 0 && std::strcmp(v, "false") != 0;
    } else if (const char* v = value("--plot=")) {
      o.plot = Resolve(v);
    } else if (const char* v = value("--summary_out=")) {
      o.summary_out = Resolve(v);
    } else if (const char* v = value("--benchmark_out=")) {
      storage.push_back("--benchmark_out=" + Resolve(v));
      pass.push_back(storage.back().data());
    } else {
      if (value("--benchmark_min_time=") != nullptr) user_min_time = true;
      pass.push_back(argv[i]);
    }
  }
  if (!user_min_time) {
    storage.push_back(std::string("--benchmark_min_time=") + (o.smoke   ? "0.002"
                                                              : o.quick ? "0.03"
                                                                        : "0.2"));
    pass.insert(pass.begin() + 1, storage.back().data());
  }
  int pass_argc = static_cast<int>(pass.size());
  pass.push_back(nullptr);
  benchmark::Initialize(&pass_argc, pass.data());
  if (benchmark::ReportUnrecognizedArguments(pass_argc, pass.data())) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  Scale s;
  if (o.quick) {
    s.churn_ops = 20000;
    s.prodcons_objects = 40000;
    s.falseshare_rounds = 20000;
    s.memory_steps = 1.0;
  }
  if (o.smoke) {
    s.random_small = 1000;
    s.random_big = 10000;
    s.large_slots = 4;
    s.churn_slots = 1000;
    s.churn_ops = 2000;
    s.prodcons_objects = 4000;
    s.falseshare_rounds = 1000;
    s.falseshare_writes = 8;
    s.memory_steps = 0.5;
  }

  Results r;
  // Validate the selections.
  std::vector<Contender> all = AllContenders(&r.notes);
  for (const std::string& name : o.allocators) {
    bool known = name == "all" || name == "libmm" || name == "peers";
    for (const Contender& c : all) known |= name == c.name || name == c.slab;
    for (const char* n : {"glibc", "jemalloc", "mimalloc", "tcmalloc"}) known |= name == n;
    if (!known) {
      std::fprintf(stderr, "allocators: unknown allocator '%s'\n%s", name.c_str(), kUsage);
      return 2;
    }
  }
  for (const Workload& w : AllWorkloads(s)) {
    if (WorkloadSelected(o, w)) r.rows.push_back(w);
  }
  if (r.rows.empty()) {
    std::fprintf(stderr, "allocators: no workload matches --workloads\n%s", kUsage);
    return 2;
  }
  // libmm allocators: probe each by booting it once.
  std::map<std::string, bool> libmm_ok;
  for (const Contender& c : all) {
    if (!c.is_libmm() || !ContenderSelected(o, c) || libmm_ok.count(c.slab) != 0) continue;
    std::string why;
    libmm_ok[c.slab] = Libmm::Ensure(c.slab, &why);
    if (!libmm_ok[c.slab]) {
      r.notes.push_back("libmm " + c.slab + ": skipped: " + why +
                        " (it takes part automatically once mm_boot accepts it)");
      std::fprintf(stderr, "allocators: libmm %s skipped: %s\n", c.slab.c_str(), why.c_str());
    }
  }
  Libmm::Shutdown(/*report=*/false);
  for (const Contender& c : all) {
    if (ContenderSelected(o, c) && (!c.is_libmm() || libmm_ok[c.slab])) r.columns.push_back(c);
  }
  if (r.columns.empty()) {
    std::fprintf(stderr, "allocators: no allocator left to run\n");
    return 2;
  }

  // Memory pass first: each measurement in a child forked from this quiet parent.
  if (o.memory) {
    int total = 0, done = 0;
    for (const Workload& w : r.rows) {
      for (const Contender& c : r.columns) total += w.memory && c.family != Family::kLibmmCache;
    }
    for (const Workload& w : r.rows) {
      if (!w.memory) continue;
      for (const Contender& c : r.columns) {
        if (c.family == Family::kLibmmCache) continue;
        MemoryResult m = MeasureInChild(c, [&](MemoryMeter& meter) {
          WithApi(c, w.size, [&](auto& api) { Metered(api, meter, w, s); });
        });
        r.memory[w.name + "/" + c.name] = m;
        r.memory_methods[c.name] = m.used_rss
                                       ? "VmRSS of a forked child running only this allocator"
                                       : SystemBytesMethod(c);
        std::fprintf(stderr, "memory [%d/%d] %s/%s: %s\n", ++done, total, w.name.c_str(),
                     c.name.c_str(),
                     m.ok ? (Fixed(m.overhead(), 2) + "x of " + Fixed(m.peak_live / 1048576.0, 1) +
                             " MiB live")
                                .c_str()
                          : "failed");
      }
    }
  }

  // Timing: one Google Benchmark per (workload, contender), rows outermost so
  // a row's cells run close together in time.
  int total = 0;
  for (const Workload& w : r.rows) {
    for (const Contender& c : r.columns) {
      if (c.family == Family::kLibmmCache && w.size == 0) continue;
      if (c.family == Family::kLibmmCache && w.kind == Kind::kFalseShare) continue;
      ++total;
      const std::string name = w.name + "/" + c.name;
      auto* b = benchmark::RegisterBenchmark(name.c_str(), [w, c, s](benchmark::State& st) {
        if (c.is_libmm()) {
          std::string why;
          if (!Libmm::Ensure(c.slab, &why)) {
            st.SkipWithError(why.c_str());
            return;
          }
        }
        WithApi(c, w.size, [&](auto& api) { Timed(st, api, w, s); });
      });
      if (w.threaded) b->UseRealTime();
    }
  }
  SummaryReporter reporter(total);
  reporter.SetOutputStream(&std::cerr);
  reporter.SetErrorStream(&std::cerr);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  Libmm::Shutdown();
  r.cells = reporter.cells;

  const std::string summary = SummaryText(r, o);
  std::fputs(summary.c_str(), stdout);
  std::fflush(stdout);
  int rc = 0;
  if (!o.summary_out.empty()) {
    std::ofstream f(o.summary_out);
    f << summary;
    if (!f) {
      std::fprintf(stderr, "allocators: cannot write %s\n", o.summary_out.c_str());
      rc = 1;
    }
  }
  if (!o.plot.empty()) {
    if (WritePlot(r, o, o.plot)) {
      std::fprintf(stderr, "allocators: chart written to %s\n", o.plot.c_str());
    } else {
      std::fprintf(stderr, "allocators: gnuplot failed to write %s\n", o.plot.c_str());
      rc = 1;
    }
  }
  benchmark::Shutdown();
  if (Libmm::LeakFound()) rc = 1;
  return rc;
}

}  // namespace bench
