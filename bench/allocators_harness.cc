#include "bench/allocators_harness.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "mm/base/log.h"

extern "C" int je_mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen);

namespace bench {
namespace {

constexpr uint64_t kPageBytes = 4096;

// ---- libmm machine state (the benchmark is single-threaded between runs) ----
std::string g_booted;  // slab allocator of the running machine, "" if none
int64_t g_boot_non_slab = 0;
std::map<unsigned, mm::kmem_cache*> g_caches;
struct LeakCheck {
  int shutdowns = 0, leaks = 0;
  int64_t boot_non_slab = 0;
  int64_t max_held = 0;  // non-slab pages above boot, before shutdown
  std::string detail;
};
std::map<std::string, LeakCheck> g_checks;  // by slab allocator
bool g_leak_found = false;

struct LogCapture {
  std::string text;
  mm::LogHandler prev = nullptr;
  void* prev_ctx = nullptr;
  LogCapture() {
    prev = mm::SetLogHandler([](const char* t, size_t n,
                                void* ctx) { static_cast<LogCapture*>(ctx)->text.append(t, n); },
                             this, &prev_ctx);
  }
  ~LogCapture() { mm::SetLogHandler(prev, prev_ctx); }
  bool ReportsObjects() const {
    return text.find("Objects remaining") != std::string::npos ||
           text.find("still has objects") != std::string::npos;
  }
};

// A numeric field of a /proc text view: the first number after `key`.
int64_t ProcField(const char* path, const char* key) {
  static char buf[1 << 16];
  if (mm::proc_read(path, buf, sizeof buf) < 0) return -1;
  const char* p = std::strstr(buf, key);
  if (p == nullptr) return -1;
  return std::strtoll(p + std::strlen(key), nullptr, 10);
}

// ---- peer statistics interfaces ----
using MiProcessInfo = void (*)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*,
                               size_t*);
using TcNumericProperty = int (*)(const char*, size_t*);

template <typename F>
F Lookup(const char* lib, const char* sym) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (h == nullptr) return nullptr;
  return reinterpret_cast<F>(dlsym(h, sym));
}

MiProcessInfo MiInfo() {
  static MiProcessInfo f = Lookup<MiProcessInfo>("libmimalloc.so.2", "mi_process_info");
  return f;
}
TcNumericProperty TcProperty() {
  static TcNumericProperty f =
      Lookup<TcNumericProperty>("libtcmalloc_minimal.so.4", "MallocExtension_GetNumericProperty");
  return f;
}

}  // namespace

std::vector<Contender> AllContenders(std::vector<std::string>* notes) {
  std::vector<Contender> out;
  for (const char* slab : {"slub", "slab", "slob"}) {
    out.push_back({slab, Family::kLibmmKmalloc, slab, nullptr});
    out.push_back({std::string(slab) + "-cache", Family::kLibmmCache, slab, nullptr});
  }
  for (Peer p : {Peer::kGlibc, Peer::kJemalloc, Peer::kMimalloc, Peer::kTcmalloc}) {
    const PeerAllocator* a = GetPeer(p);
    static const char* kNames[] = {"glibc", "jemalloc", "mimalloc", "tcmalloc"};
    if (a == nullptr) {
      notes->push_back(std::string(kNames[static_cast<int>(p)]) +
                       ": skipped (its library could not be loaded)");
      continue;
    }
    out.push_back({a->name, Family::kPeer, "", a});
  }
  return out;
}

// ---- Libmm ----

bool Libmm::Ensure(const std::string& slab, std::string* why) {
  if (g_booted == slab) return true;
  Shutdown();
  const std::string cmdline = std::string("mem=") + kMem + " slab_allocator=" + slab;
  int err;
  {
    LogCapture log;  // mm_boot names the word it refuses
    err = mm::mm_boot(cmdline.c_str());
    if (err != 0 && why != nullptr) {
      std::string msg = log.text;
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      *why =
          "mm_boot(\"" + cmdline + "\") = " + std::to_string(err) + (msg.empty() ? "" : ": " + msg);
    }
  }
  if (err != 0) return false;
  g_booted = slab;
  g_boot_non_slab = NonSlabPages();
  return true;
}

mm::kmem_cache* Libmm::Cache(unsigned size) {
  auto it = g_caches.find(size);
  if (it != g_caches.end()) return it->second;
  const std::string name = "bench-" + std::to_string(size);
  mm::kmem_cache* s = mm::kmem_cache_create(name.c_str(), size, 0, 0, nullptr);
  if (s == nullptr) {
    std::fprintf(stderr, "allocators: kmem_cache_create(%s) failed\n", name.c_str());
    std::abort();
  }
  g_caches[size] = s;
  return s;
}

void Libmm::Shutdown(bool report) {
  if (g_booted.empty()) return;
  std::string problem;
  int64_t held = 0;
  {
    LogCapture log;
    for (auto& [size, s] : g_caches) mm::kmem_cache_destroy(s);
    g_caches.clear();
    held = NonSlabPages() - g_boot_non_slab;
    mm::mm_shutdown();
    if (log.ReportsObjects()) problem = "objects remaining at shutdown: " + log.text;
  }
  LeakCheck& check = g_checks[g_booted];
  check.boot_non_slab = g_boot_non_slab;
  if (report || !problem.empty()) {
    ++check.shutdowns;
    check.max_held = std::max(check.max_held, held);
  }
  if (!problem.empty()) {
    ++check.leaks;
    check.detail = problem;
    g_leak_found = true;
  }
  g_booted.clear();
}

std::vector<std::string> Libmm::LeakReport() {
  std::vector<std::string> out;
  for (const auto& [slab, c] : g_checks) {
    if (c.shutdowns == 0) continue;
    std::string line = "libmm " + slab + ": " + std::to_string(c.shutdowns) + " shutdown(s), ";
    if (c.leaks == 0) {
      line += "no leak (no cache reported objects remaining)";
    } else {
      line += std::to_string(c.leaks) + " LEAK(s), last: " + c.detail;
    }
    if (c.max_held == 0) {
      line += "; pages outside slabs back to their boot value (" + std::to_string(c.boot_non_slab) +
              ") every time";
    } else {
      line += "; up to " + std::to_string(c.max_held) +
              " pages outside the Slab line of /proc/meminfo still held before shutdown "
              "(allocator metadata not counted as Slab, or kmalloc-large blocks)";
    }
    out.push_back(line);
  }
  return out;
}

bool Libmm::LeakFound() { return g_leak_found; }

void Libmm::ResetLeakReport() {
  g_checks.clear();
  g_leak_found = false;
}

uint64_t Libmm::PagesInUse() { return mm::totalram_pages() - mm::nr_free_pages(); }

int64_t Libmm::NonSlabPages() {
  mm::drain_all_pages();
  const int64_t slab_kb = ProcField("/proc/meminfo", "Slab:");
  return static_cast<int64_t>(PagesInUse()) - slab_kb / 4;
}

int64_t Libmm::SlabActiveObjects() {
  static char buf[1 << 16];
  if (mm::proc_read("/proc/slabinfo", buf, sizeof buf) < 0) return -1;
  int64_t total = 0;
  const char* line = buf;
  while (*line != '\0') {
    const char* end = std::strchr(line, '\n');
    if (line[0] != '#' && std::strncmp(line, "slabinfo", 8) != 0) {
      // "name <active_objs> <num_objs> ..."
      const char* p = line;
      while (*p != '\0' && *p != ' ' && *p != '\n') ++p;
      total += std::strtoll(p, nullptr, 10);
    }
    if (end == nullptr) break;
    line = end + 1;
  }
  return total;
}

// ---- memory counters ----

bool SystemBytes(const Contender& c, uint64_t* bytes) {
  if (c.is_libmm()) {
    *bytes = Libmm::PagesInUse() * kPageBytes;
    return true;
  }
  switch (c.peer->id) {
    case Peer::kGlibc: {
      const struct mallinfo2 mi = mallinfo2();
      *bytes = mi.arena + mi.hblkhd;
      return true;
    }
    case Peer::kJemalloc: {
      uint64_t epoch = 1;
      size_t len = sizeof epoch;
      je_mallctl("epoch", &epoch, &len, &epoch, len);
      size_t resident = 0;
      len = sizeof resident;
      if (je_mallctl("stats.resident", &resident, &len, nullptr, 0) != 0) return false;
      *bytes = resident;
      return true;
    }
    case Peer::kMimalloc: {
      MiProcessInfo f = MiInfo();
      if (f == nullptr) return false;
      size_t e, u, s, rss, peak_rss, commit, peak_commit, faults;
      f(&e, &u, &s, &rss, &peak_rss, &commit, &peak_commit, &faults);
      *bytes = commit;
      return true;
    }
    case Peer::kTcmalloc: {
      TcNumericProperty f = TcProperty();
      if (f == nullptr) return false;
      size_t heap = 0, unmapped = 0;
      if (!f("generic.heap_size", &heap)) return false;
      f("tcmalloc.pageheap_unmapped_bytes", &unmapped);
      *bytes = heap > unmapped ? heap - unmapped : heap;
      return true;
    }
  }
  return false;
}

const char* SystemBytesMethod(const Contender& c) {
  if (c.is_libmm()) return "totalram_pages() - nr_free_pages(), x 4 KiB";
  uint64_t unused;
  if (!SystemBytes(c, &unused)) return "VmRSS of a forked child running only this allocator";
  switch (c.peer->id) {
    case Peer::kGlibc:
      return "mallinfo2(): arena + hblkhd";
    case Peer::kJemalloc:
      return "je_mallctl(\"stats.resident\") after \"epoch\"";
    case Peer::kMimalloc:
      return "mi_process_info(): current_commit";
    case Peer::kTcmalloc:
      return "MallocExtension_GetNumericProperty: generic.heap_size - "
             "tcmalloc.pageheap_unmapped_bytes";
  }
  return "?";
}

uint64_t ProcessRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  if (std::fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

MemoryMeter::MemoryMeter(const Contender& c) : c_(c) {
  use_rss_ = !SystemBytes(c_, &base_);
  if (use_rss_) base_ = ProcessRssBytes();
  peak_sys_ = base_;
}

void MemoryMeter::OnAlloc(size_t n) {
  const uint64_t live = live_.fetch_add(n, std::memory_order_relaxed) + n;
  uint64_t peak = peak_live_.load(std::memory_order_relaxed);
  while (live > peak && !peak_live_.compare_exchange_weak(peak, live)) {
  }
  thread_local uint32_t count = 0;
  if (++count % kSampleEvery == 0) Sample();
}

void MemoryMeter::Sample() {
  uint64_t now = 0;
  if (use_rss_ || !SystemBytes(c_, &now)) now = ProcessRssBytes();
  uint64_t peak = peak_sys_.load(std::memory_order_relaxed);
  while (now > peak && !peak_sys_.compare_exchange_weak(peak, now)) {
  }
}

uint64_t MemoryMeter::peak_system() const {
  const uint64_t p = peak_sys_.load();
  return p > base_ ? p - base_ : 0;
}

MemoryResult MeasureInChild(const Contender& c, const std::function<void(MemoryMeter&)>& body) {
  MemoryResult r;
  int fds[2];
  if (pipe(fds) != 0) return r;
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  if (pid == 0) {
    close(fds[0]);
    MemoryResult out;
    if (!c.is_libmm() || Libmm::Ensure(c.slab, nullptr)) {
      MemoryMeter meter(c);
      body(meter);
      meter.Sample();
      out.ok = true;
      out.peak_live = meter.peak_live();
      out.peak_system = meter.peak_system();
      out.used_rss = meter.used_rss();
    }
    ssize_t unused = write(fds[1], &out, sizeof out);
    (void)unused;
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) r = MemoryResult{};
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r.ok = false;
  return r;
}

uint64_t ProcessCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace bench
