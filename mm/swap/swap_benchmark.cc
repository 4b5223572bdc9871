// //bench:swap — run with -c opt:
//   1. zram's compressors (lz4, zstd) on realistic page contents: zero pages,
//      text, program data, random: compression ratio and GB/s, one core;
//   2. swap-out and swap-in throughput per device (swap file, zram lz4/zstd)
//      through the whole stack (reclaim -> rmap -> unmap -> device; fault ->
//      swap_in -> device);
//   3. the thrashing curve: run time of touching a working set 4 times
//      against working set / RAM, written as DIR/thrash.{dat,gp,png} (gnuplot).
// Usage: swap_benchmark [--plot_dir=DIR] [--ram_mb=N] [--compressors_only]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mm/swap/host_swap_ops.h"
#include "mm/swap/swap_test_util.h"

namespace mm {
namespace {

uint64_t Now() { return platform::NowNs(); }

// ---- page contents ----
void ZeroPage(std::mt19937_64&, uint8_t* p) { std::memset(p, 0, kPageSize); }

void TextPage(std::mt19937_64& rng, uint8_t* p) {
  static const char* kWords[] = {"the", "memory", "of", "a", "page", "is", "swapped", "out",
                                 "when", "kernel", "reclaim", "runs", "and", "compressed", "into",
                                 "zram", "with", "lz4", "or", "zstd", "function", "return", "int",
                                 "static", "const", "char", "struct", "list", "node", "value"};
  size_t n = 0;
  while (n < kPageSize) {
    const char* w = kWords[rng() % (sizeof kWords / sizeof *kWords)];
    for (const char* c = w; *c && n < kPageSize; ++c) p[n++] = static_cast<uint8_t>(*c);
    if (n < kPageSize) p[n++] = rng() % 12 == 0 ? '\n' : ' ';
  }
}

// A heap page of a typical program: 48-byte records (a next pointer with the
// heap's high bits, small integers, flags, a double, zero padding).
void DataPage(std::mt19937_64& rng, uint8_t* p) {
  std::memset(p, 0, kPageSize);
  const uint64_t heap = 0x00005555a0000000ull;
  for (size_t off = 0; off + 48 <= kPageSize; off += 48) {
    uint64_t rec[6] = {};
    rec[0] = heap + (rng() % (1 << 20)) * 16;  // pointer
    rec[1] = rng() % 1000;                      // counter
    rec[2] = (rng() % 4) | ((rng() % 2) << 8);  // flags
    const double d = static_cast<double>(rng() % 10000) / 100.0;
    std::memcpy(&rec[3], &d, 8);
    rec[4] = rng() % 3 == 0 ? heap + (rng() % 4096) * 64 : 0;
    std::memcpy(p + off, rec, sizeof rec);
  }
}

void RandomPage(std::mt19937_64& rng, uint8_t* p) {
  for (size_t i = 0; i < kPageSize; i += 8) {
    const uint64_t v = rng();
    std::memcpy(p + i, &v, 8);
  }
}

struct Content {
  const char* name;
  void (*fill)(std::mt19937_64&, uint8_t*);
};
const Content kContents[] = {{"zero", ZeroPage}, {"text", TextPage}, {"data", DataPage},
                             {"random", RandomPage}};

// ---- 1. compressors ----
void BenchCompressors() {
  constexpr size_t kPages = 2048;  // 8 MiB of input
  std::printf("## zram compressors (one core, %zu pages of 4 KiB each, best of 5)\n\n", kPages);
  std::printf("| algorithm | content | ratio | compress GB/s | decompress GB/s |\n");
  // lz4 at zram's default acceleration 1, and two accelerations (Linux 6.12+
  // zram's lz4 "level") to show what speed costs in ratio.
  const swap::Compressor accel8 = swap::HostLz4Accelerated(8);
  const swap::Compressor accel32 = swap::HostLz4Accelerated(32);
  struct Algo {
    const char* label;
    const swap::Compressor* c;
  };
  const Algo algos[] = {{"lz4", swap::HostLz4()},
                        {"lz4 accel 8", &accel8},
                        {"lz4 accel 32", &accel32},
                        {"zstd", swap::HostZstd()}};
  std::printf("|---|---|---|---|---|\n");
  std::vector<uint8_t> in(kPages * kPageSize), out(kPages * 2 * kPageSize), back(kPageSize);
  std::vector<long> len(kPages);
  for (const Algo& algo : algos) {
    const swap::Compressor* c = algo.c;
    for (const Content& ct : kContents) {
      std::mt19937_64 rng(1);
      for (size_t i = 0; i < kPages; ++i) ct.fill(rng, &in[i * kPageSize]);
      double best_c = 1e30, best_d = 1e30;
      uint64_t total = 0;
      for (int rep = 0; rep < 5; ++rep) {
        total = 0;
        uint64_t t0 = Now();
        for (size_t i = 0; i < kPages; ++i) {
          len[i] = c->compress(c->context, &in[i * kPageSize], kPageSize, &out[i * 2 * kPageSize],
                               2 * kPageSize);
          total += static_cast<uint64_t>(len[i]);
        }
        best_c = std::min(best_c, static_cast<double>(Now() - t0));
        t0 = Now();
        for (size_t i = 0; i < kPages; ++i) {
          if (c->decompress(c->context, &out[i * 2 * kPageSize], static_cast<size_t>(len[i]),
                            back.data(), kPageSize) != static_cast<long>(kPageSize) ||
              std::memcmp(back.data(), &in[i * kPageSize], kPageSize) != 0) {
            std::fprintf(stderr, "round trip failed\n");
            std::exit(1);
          }
        }
        best_d = std::min(best_d, static_cast<double>(Now() - t0));
      }
      const double bytes = static_cast<double>(kPages * kPageSize);
      std::printf("| %s | %s | %.2f | %.2f | %.2f |\n", algo.label, ct.name,
                  bytes / static_cast<double>(total), bytes / best_c, bytes / best_d);
    }
  }
  std::printf("\n(decompress includes a 4 KiB memcmp per page; zram stores a same-filled page "
              "without compressing it, and one that compresses to more than 3 KiB as it is.)\n\n");
}

// ---- 2. swap-out / swap-in through the stack ----
void BenchDevices(uint64_t ram) {
  std::printf("## swap-out / swap-in through the whole stack (RAM %llu MiB, data = mixed "
              "contents: text, program data, zero, random in 4:4:1:1)\n\n",
              static_cast<unsigned long long>(ram >> 20));
  std::printf("| device | pages | swap-out MB/s | swap-in MB/s | zram mem_used / data |\n");
  std::printf("|---|---|---|---|---|\n");
  struct Dev {
    const char* name;
    SwapKind kind;
    const char* comp;
  };
  for (const Dev& d : {Dev{"file", SwapKind::kFile, "lz4"}, Dev{"zram lz4", SwapKind::kZram, "lz4"},
                       Dev{"zram zstd", SwapKind::kZram, "zstd"}}) {
    Stack s(ram, Config(d.kind, 4 * ram, swap::kDefaultPolicy, d.comp, "bench.swap"));
    if (!s.ok()) {
      std::printf("| %s | stack failed to boot | | | |\n", d.name);
      continue;
    }
    task_struct* t = s.vm().InitTask();
    const unsigned long n = ram / kPageSize / 2;
    const unsigned long a = s.MmapAnon(n * kPageSize);
    std::mt19937_64 rng(3);
    std::vector<uint8_t> page(kPageSize);
    for (unsigned long i = 0; i < n; ++i) {
      const int k = static_cast<int>(i % 10);
      kContents[k < 4 ? 1 : k < 8 ? 2 : k < 9 ? 0 : 3].fill(rng, page.data());
      s.Store(t, a + i * kPageSize, page.data(), kPageSize);
    }
    const uint64_t out0 = s.swap().pswpout();
    uint64_t t0 = Now();
    for (int k = 0; k < 1000 && s.swap().pswpout() - out0 < n * 9 / 10; ++k)
      if (s.swap().ReclaimPages(256, -1) == 0) break;
    const double out_ns = static_cast<double>(Now() - t0);
    const uint64_t outs = s.swap().pswpout() - out0;
    double used_ratio = 0;
    if (d.kind == SwapKind::kZram) {
      swap::SwapDevice* dev = s.swap().device(0);
      used_ratio = static_cast<double>(dev->mem_used_total()) /
                   static_cast<double>(dev->orig_data_pages() * kPageSize);
    }
    const uint64_t in0 = s.swap().pswpin() + 0;
    t0 = Now();
    for (unsigned long i = 0; i < n; ++i) s.Load(t, a + i * kPageSize, page.data(), 8);
    const double in_ns = static_cast<double>(Now() - t0);
    const uint64_t ins = s.swap().pswpin() - in0;
    std::printf("| %s | %llu out, %llu in (+readahead) | %.0f | %.0f | %s |\n", d.name,
                static_cast<unsigned long long>(outs), static_cast<unsigned long long>(ins),
                static_cast<double>(outs * kPageSize) / out_ns * 1e3,
                static_cast<double>(outs * kPageSize) / in_ns * 1e3,
                d.kind == SwapKind::kZram ? std::to_string(used_ratio).substr(0, 5).c_str() : "-");
  }
  std::printf("\n(swap-in MB/s: every page that went out read back once by a sequential scan, "
              "including faults, readahead and the page-table walk.)\n\n");
}

// ---- 3. thrashing curve ----
void BenchThrashing(uint64_t ram, const std::string& dir) {
  std::printf("## thrashing curve (zram lz4, mm policy, RAM %llu MiB; 4 passes over the working "
              "set, one 8-byte store per page)\n\n| working set / RAM | run time ms | pswpin | "
              "workingset refaults |\n|---|---|---|---|\n",
              static_cast<unsigned long long>(ram >> 20));
  const std::string dat = dir + "/thrash.dat";
  FILE* f = std::fopen(dat.c_str(), "w");
  for (double x = 0.25; x <= 2.01; x += 0.125) {
    Stack s(ram, Config(SwapKind::kZram, 4 * ram, swap::kDefaultPolicy, "lz4"));
    if (!s.ok()) continue;
    task_struct* t = s.vm().InitTask();
    const unsigned long n = static_cast<unsigned long>(x * static_cast<double>(ram / kPageSize));
    const unsigned long a = s.MmapAnon(n * kPageSize);
    uint64_t v = 1;
    for (unsigned long i = 0; i < n; ++i) s.Store(t, a + i * kPageSize, &v, 8);  // warm up
    const uint64_t t0 = Now();
    for (int pass = 0; pass < 4; ++pass)
      for (unsigned long i = 0; i < n; ++i) s.Store(t, a + i * kPageSize, &v, 8);
    const double ms = static_cast<double>(Now() - t0) / 1e6;
    std::printf("| %.3f | %.1f | %llu | %llu |\n", x, ms,
                static_cast<unsigned long long>(s.swap().pswpin()),
                static_cast<unsigned long long>(s.swap().workingset_refaults()));
    if (f != nullptr) std::fprintf(f, "%.3f %.3f\n", x, ms);
  }
  if (f == nullptr) return;
  std::fclose(f);
  const std::string gp = dir + "/thrash.gp";
  FILE* g = std::fopen(gp.c_str(), "w");
  std::fprintf(g,
               "set terminal pngcairo size 800,500\nset output '%s/thrash.png'\n"
               "set title 'libmm thrashing curve (zram lz4, mm policy)'\n"
               "set xlabel 'working set / RAM'\nset ylabel 'run time of 4 passes (ms)'\n"
               "set logscale y\nset grid\nplot '%s' using 1:2 with linespoints title 'run time'\n",
               dir.c_str(), dat.c_str());
  std::fclose(g);
  const std::string cmd = "gnuplot " + gp;
  if (std::system(cmd.c_str()) != 0) std::printf("\n(gnuplot failed; data in %s)\n", dat.c_str());
  else std::printf("\nwrote %s/thrash.png\n", dir.c_str());
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) {
  std::string dir = "/tmp/swap_bench";
  uint64_t ram_mb = 32;
  bool compressors_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--compressors_only") == 0) compressors_only = true;
    if (std::strncmp(argv[i], "--plot_dir=", 11) == 0) dir = argv[i] + 11;
    if (std::strncmp(argv[i], "--ram_mb=", 9) == 0) ram_mb = std::strtoull(argv[i] + 9, nullptr, 10);
  }
  if (std::system(("mkdir -p " + dir).c_str()) != 0) return 1;
  mm::BenchCompressors();
  if (compressors_only) return 0;
  mm::BenchDevices(ram_mb << 20);
  mm::BenchThrashing(ram_mb << 20, dir);
  return 0;
}
