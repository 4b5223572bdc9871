// //bench:swap — run with -c opt:
//   1. zram's compressors (lz4, zstd) on realistic page contents: zero pages,
//      text, program data, random: compression ratio and GB/s, one core,
//      through a zram device, through zram's compressor hook, and with the raw
//      library calls (LZ4_compress_default, LZ4_compress_fast_extState,
//      ZSTD_compressCCtx, ZSTD_compress) on the same pages;
//   2. swap-out and swap-in throughput per device (swap file, zram lz4/zstd)
//      through the whole stack (reclaim -> rmap -> unmap -> device; fault ->
//      swap_in -> device);
//   3. the thrashing curve: run time of touching a working set 4 times
//      against working set / RAM, written as DIR/thrash.{dat,gp,png} (gnuplot).
// Usage: swap_benchmark [--plot_dir=DIR] [--ram_mb=N] [--compressors_only]
//                       [--content=zero|text|data|random] [--reps=N (default 5)]
#include <lz4.h>
#include <zstd.h>

#include <algorithm>
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
// Every row compresses the same kPages pages of one content type. Four kinds of
// row per algorithm, so zram's cost can be told apart from the library's:
//   zram device  SwapDevice::WritePage/ReadPage on a zram device (lock,
//                same-filled check, compression into the scratch page, kmalloc
//                and copy of the output, or a buddy page for a huge one);
//   zram hook    the Compressor zram calls (host_swap_ops.cc), alone;
//   raw ...      the library called directly, no zram code around it.
// Within one repetition every row runs once, in turn, so load from other
// processes falls on all rows alike; each row's figure is its best of 5
// (--reps=N).
constexpr size_t kBenchPages = 2048;  // 8 MiB of input

struct Lz4Raw {
  LZ4_stream_t state;
  Lz4Raw() { LZ4_initStream(&state, sizeof state); }
};
Lz4Raw lz4_raw;
ZSTD_CCtx* zstd_raw_cctx = nullptr;
ZSTD_DCtx* zstd_raw_dctx = nullptr;

long RawLz4Default(const void* src, void* dst, size_t cap) {
  return LZ4_compress_default(static_cast<const char*>(src), static_cast<char*>(dst),
                              static_cast<int>(kPageSize), static_cast<int>(cap));
}
long RawLz4ExtState(const void* src, void* dst, size_t cap) {
  return LZ4_compress_fast_extState(&lz4_raw.state, static_cast<const char*>(src),
                                    static_cast<char*>(dst), static_cast<int>(kPageSize),
                                    static_cast<int>(cap), 1);
}
long RawLz4Decompress(const void* src, size_t n, void* dst) {
  return LZ4_decompress_safe(static_cast<const char*>(src), static_cast<char*>(dst),
                             static_cast<int>(n), static_cast<int>(kPageSize));
}
long RawZstdSimple(const void* src, void* dst, size_t cap) {
  const size_t r = ZSTD_compress(dst, cap, src, kPageSize, 1);
  return ZSTD_isError(r) ? -1 : static_cast<long>(r);
}
long RawZstdCCtx(const void* src, void* dst, size_t cap) {
  const size_t r = ZSTD_compressCCtx(zstd_raw_cctx, dst, cap, src, kPageSize, 1);
  return ZSTD_isError(r) ? -1 : static_cast<long>(r);
}
long RawZstdDecompress(const void* src, size_t n, void* dst) {
  const size_t r = ZSTD_decompressDCtx(zstd_raw_dctx, dst, kPageSize, src, n);
  return ZSTD_isError(r) ? -1 : static_cast<long>(r);
}

struct Row {
  const char* algo;
  const char* path;
  const swap::Compressor* hook = nullptr;       // zram hook / zram device rows
  bool device = false;                          // through SwapDevice
  long (*raw)(const void*, void*, size_t) = nullptr;
  long (*raw_decompress)(const void*, size_t, void*) = nullptr;
  // Results per content: ratio, compress and decompress ns (best of reps;
  // 0: content not run).
  double ratio[4] = {}, comp_ns[4] = {}, decomp_ns[4] = {};
};

[[noreturn]] void RoundTripFailed(const Row& r, const char* content) {
  std::fprintf(stderr, "%s %s: round trip failed on %s\n", r.algo, r.path, content);
  std::exit(1);
}

// One repetition of one row on one content: compress then decompress every
// page; returns the compressed bytes (the device's compr_data_size for zram).
uint64_t RunRow(Row& r, int ci, const std::vector<uint8_t>& in, std::vector<uint8_t>& out,
                std::vector<long>& len, std::vector<uint8_t>& back, swap::SwapDevice* dev,
                std::vector<uint64_t>& slots, double* comp_ns, double* decomp_ns) {
  const char* content = kContents[ci].name;
  uint64_t total = 0;
  if (r.device) {
    // Slots taken and freed outside the timed loops (a free drops the data).
    for (size_t got = 0; got < kBenchPages;) {
      const int n = dev->AllocSlots(&slots[got], static_cast<int>(kBenchPages - got));
      if (n <= 0) RoundTripFailed(r, content);
      got += static_cast<size_t>(n);
    }
    uint64_t t0 = Now();
    for (size_t i = 0; i < kBenchPages; ++i)
      if (dev->WritePage(slots[i], &in[i * kPageSize]) != 0) RoundTripFailed(r, content);
    *comp_ns = static_cast<double>(Now() - t0);
    total = dev->compr_data_size();
    t0 = Now();
    for (size_t i = 0; i < kBenchPages; ++i)
      if (dev->ReadPage(slots[i], back.data()) != 0 ||
          std::memcmp(back.data(), &in[i * kPageSize], kPageSize) != 0)
        RoundTripFailed(r, content);
    *decomp_ns = static_cast<double>(Now() - t0);
    for (uint64_t s : slots) dev->Free(s);
    return total;
  }
  uint64_t t0 = Now();
  for (size_t i = 0; i < kBenchPages; ++i) {
    const uint8_t* src = &in[i * kPageSize];
    uint8_t* dst = &out[i * 2 * kPageSize];
    len[i] = r.hook != nullptr
                 ? r.hook->compress(r.hook->context, r.hook->level, src, kPageSize, dst, 2 * kPageSize)
                 : r.raw(src, dst, 2 * kPageSize);
    total += static_cast<uint64_t>(len[i]);
  }
  *comp_ns = static_cast<double>(Now() - t0);
  t0 = Now();
  for (size_t i = 0; i < kBenchPages; ++i) {
    const uint8_t* src = &out[i * 2 * kPageSize];
    const size_t n = static_cast<size_t>(len[i]);
    const long got = r.hook != nullptr
                         ? r.hook->decompress(r.hook->context, src, n, back.data(), kPageSize)
                         : r.raw_decompress(src, n, back.data());
    if (got != static_cast<long>(kPageSize) ||
        std::memcmp(back.data(), &in[i * kPageSize], kPageSize) != 0)
      RoundTripFailed(r, content);
  }
  *decomp_ns = static_cast<double>(Now() - t0);
  return total;
}

void PrintGbs(const char* title, const Row* rows, size_t nr, bool decompress) {
  std::printf("%s\n\n| algorithm | path | zero | text | data | random |\n|---|---|---|---|---|---|\n",
              title);
  const double bytes = static_cast<double>(kBenchPages * kPageSize);
  for (size_t k = 0; k < nr; ++k) {
    std::printf("| %s | %s |", rows[k].algo, rows[k].path);
    for (int c = 0; c < 4; ++c) {
      if (rows[k].comp_ns[c] == 0) std::printf(" - |");  // content not run
      else std::printf(" %.2f |", bytes / (decompress ? rows[k].decomp_ns[c] : rows[k].comp_ns[c]));
    }
    std::printf("\n");
  }
  std::printf("\n");
}

// content: run only that content type (nullptr: all); reps: repetitions per row.
void BenchCompressors(const char* only_content, int reps) {
  zstd_raw_cctx = ZSTD_createCCtx();
  zstd_raw_dctx = ZSTD_createDCtx();
  // zram devices of their own (not a whole stack): 64 MiB of RAM holds the
  // device's metadata and up to kBenchPages huge pages.
  TestBuddy buddy(64u << 20);
  SlabSystem slab;
  if (buddy.init_result() != 0 || slab.Init(*buddy, SlabConfig{}) != 0) {
    std::fprintf(stderr, "buddy/slab init failed\n");
    std::exit(1);
  }
  swap::SwapDevice zram_lz4, zram_zstd;
  if (zram_lz4.InitZram(*buddy, slab, swap::HostLz4(), 2 * kBenchPages * kPageSize, 0, 0) != 0 ||
      zram_zstd.InitZram(*buddy, slab, swap::HostZstd(), 2 * kBenchPages * kPageSize, 0, 1) != 0) {
    std::fprintf(stderr, "zram init failed\n");
    std::exit(1);
  }
  // lz4 at zram's default acceleration 1, and two accelerations (Linux 6.12+
  // zram's lz4 "level") to show what speed costs in ratio.
  const swap::Compressor accel8 = swap::HostLz4Accelerated(8);
  const swap::Compressor accel32 = swap::HostLz4Accelerated(32);
  Row rows[] = {
      {"lz4", "zram device (WritePage/ReadPage)", swap::HostLz4(), true},
      {"lz4", "zram hook (fast_extState, per-thread state)", swap::HostLz4()},
      {"lz4", "raw LZ4_compress_fast_extState", nullptr, false, &RawLz4ExtState, &RawLz4Decompress},
      {"lz4", "raw LZ4_compress_default", nullptr, false, &RawLz4Default, &RawLz4Decompress},
      {"lz4 accel 8", "zram hook", &accel8},
      {"lz4 accel 32", "zram hook", &accel32},
      {"zstd 1", "zram device (WritePage/ReadPage)", swap::HostZstd(), true},
      {"zstd 1", "zram hook (ZSTD_compressCCtx, per-thread context)", swap::HostZstd()},
      {"zstd 1", "raw ZSTD_compressCCtx (one context)", nullptr, false, &RawZstdCCtx,
       &RawZstdDecompress},
      {"zstd 1", "raw ZSTD_compress (context per call)", nullptr, false, &RawZstdSimple,
       &RawZstdDecompress},
  };
  constexpr size_t kRows = sizeof rows / sizeof *rows;
  std::vector<uint8_t> in(kBenchPages * kPageSize), out(kBenchPages * 2 * kPageSize),
      back(kPageSize);
  std::vector<long> len(kBenchPages);
  std::vector<uint64_t> slots(kBenchPages);
  for (int ci = 0; ci < 4; ++ci) {
    if (only_content != nullptr && std::strcmp(only_content, kContents[ci].name) != 0) continue;
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < kBenchPages; ++i) kContents[ci].fill(rng, &in[i * kPageSize]);
    for (Row& r : rows) r.comp_ns[ci] = r.decomp_ns[ci] = 1e30;
    for (int rep = 0; rep < reps; ++rep) {
      for (Row& r : rows) {
        swap::SwapDevice* dev = r.hook == swap::HostZstd() ? &zram_zstd : &zram_lz4;
        double c = 0, d = 0;
        const uint64_t total = RunRow(r, ci, in, out, len, back, dev, slots, &c, &d);
        r.ratio[ci] = static_cast<double>(kBenchPages * kPageSize) / static_cast<double>(total);
        r.comp_ns[ci] = std::min(r.comp_ns[ci], c);
        r.decomp_ns[ci] = std::min(r.decomp_ns[ci], d);
      }
    }
  }
  std::printf("## zram compressors against the raw libraries (one core, %zu pages of 4 KiB per "
              "content, best of %d, rows interleaved)\n\n",
              kBenchPages, reps);
  std::printf("Compression ratio (zram device: orig / compr_data_size, a same-filled page "
              "counts 0 bytes and a huge page 4 KiB)\n\n| algorithm | path | zero | text | data | "
              "random |\n|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s |", r.algo, r.path);
    for (int c = 0; c < 4; ++c) {
      if (r.comp_ns[c] == 0) std::printf(" - |");
      else std::printf(r.ratio[c] > 1e6 ? " inf |" : " %.2f |", r.ratio[c]);
    }
    std::printf("\n");
  }
  std::printf("\n");
  PrintGbs("Compress GB/s", rows, kRows, false);
  PrintGbs("Decompress GB/s (includes a 4 KiB memcmp per page)", rows, kRows, true);
  // zram as a share of the raw library on the same pages.
  std::printf("zram compress speed as %% of the raw library on the same pages\n\n| algorithm | "
              "zram path / raw path | zero | text | data | random |\n|---|---|---|---|---|---|\n");
  struct Share {
    size_t zram, raw;
  };
  for (const Share& s : {Share{0, 3}, Share{1, 3}, Share{1, 2}, Share{0, 2}, Share{6, 9},
                         Share{7, 8}, Share{6, 8}}) {
    std::printf("| %s | %s / %s |", rows[s.zram].algo, rows[s.zram].path, rows[s.raw].path);
    for (int c = 0; c < 4; ++c) {
      if (rows[s.zram].comp_ns[c] == 0) std::printf(" - |");
      else std::printf(" %.0f%% |", 100.0 * rows[s.raw].comp_ns[c] / rows[s.zram].comp_ns[c]);
    }
    std::printf("\n");
  }
  std::printf("\n(zram stores a same-filled page without compressing it, and one that compresses "
              "to more than 3 KiB as it is.)\n\n");
  zram_lz4.Shutdown();
  zram_zstd.Shutdown();
  ZSTD_freeCCtx(zstd_raw_cctx);
  ZSTD_freeDCtx(zstd_raw_dctx);
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
  const char* content = nullptr;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--compressors_only") == 0) compressors_only = true;
    if (std::strncmp(argv[i], "--content=", 10) == 0) content = argv[i] + 10;
    if (std::strncmp(argv[i], "--reps=", 7) == 0) reps = std::atoi(argv[i] + 7) < 1 ? 1 : std::atoi(argv[i] + 7);
    if (std::strncmp(argv[i], "--plot_dir=", 11) == 0) dir = argv[i] + 11;
    if (std::strncmp(argv[i], "--ram_mb=", 9) == 0) ram_mb = std::strtoull(argv[i] + 9, nullptr, 10);
  }
  if (std::system(("mkdir -p " + dir).c_str()) != 0) return 1;
  mm::BenchCompressors(content, reps);
  if (compressors_only) return 0;
  mm::BenchDevices(ram_mb << 20);
  mm::BenchThrashing(ram_mb << 20, dir);
  return 0;
}
