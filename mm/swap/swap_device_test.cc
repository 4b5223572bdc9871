// Swap devices: boot words, the mkswap header, the slot allocator, zram.
#include "mm/swap/swap_device.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_system.h"
#include "mm/swap/host_swap_ops.h"
#include "mm/vm/host_file_ops.h"

namespace mm::swap {
namespace {

std::string TmpPath(const char* name) {
  const char* d = std::getenv("TEST_TMPDIR");
  return std::string(d != nullptr ? d : "/tmp") + "/" + name;
}

int Parse(const char* w, SwapConfig* c) { return ParseSwapOption(w, std::strlen(w), c); }

TEST(ParseSwapOption, Words) {
  SwapConfig c;
  LogCapture log;
  EXPECT_EQ(Parse("swap=zram:64M", &c), 0);
  EXPECT_EQ(Parse("swap=file:/tmp/sw.img:128M:5", &c), 0);
  EXPECT_EQ(Parse("swap=zram:1G:-7", &c), 0);
  ASSERT_EQ(c.nr_devices, 3);
  EXPECT_EQ(c.devices[0].kind, SwapKind::kZram);
  EXPECT_EQ(c.devices[0].bytes, 64u << 20);
  EXPECT_EQ(c.devices[0].prio, kNoPrio);
  EXPECT_EQ(c.devices[1].kind, SwapKind::kFile);
  EXPECT_STREQ(c.devices[1].path, "/tmp/sw.img");
  EXPECT_EQ(c.devices[1].prio, 5);
  EXPECT_EQ(c.devices[2].prio, -7);
  EXPECT_EQ(Parse("swap_policy=lru", &c), 0);
  EXPECT_EQ(c.policy, PolicyKind::kLru);
  EXPECT_EQ(Parse("zram.comp_algorithm=zstd", &c), 0);
  EXPECT_STREQ(c.zram_comp, "zstd");
  EXPECT_EQ(Parse("vm.swappiness=100", &c), 0);
  EXPECT_EQ(c.swappiness, 100);
  EXPECT_EQ(Parse("kswapd=sync", &c), 0);
  EXPECT_FALSE(c.kswapd_thread);
  EXPECT_EQ(Parse("mem=64M", &c), 1);
  EXPECT_EQ(Parse("swapx=1", &c), 1);
  for (const char* bad : {"swap=zram:", "swap=zram:12Q", "swap=disk:1M", "swap=file::1M",
                          "swap=file:/x", "swap=zram:1M:x", "swap=zram:1M:1:2", "swap=zram:4K",
                          "swap_policy=nope", "swap_policy=opt", "zram.comp_algorithm=lzo",
                          "vm.swappiness=300", "kswapd=maybe"}) {
    log.Clear();
    EXPECT_EQ(Parse(bad, &c), -kEINVAL) << bad;
    EXPECT_TRUE(log.Contains(bad)) << bad << ": " << log.text();
  }
  EXPECT_EQ(c.nr_devices, 3);
}

// zram.algorithm_params= (Linux's algorithm_params, commas for spaces): the
// level is checked (1..65537, digits only) and a bad word changes nothing.
TEST(ParseSwapOption, AlgorithmParams) {
  SwapConfig c;
  LogCapture log;
  EXPECT_EQ(c.zram_level, 0);  // the algorithm's default
  EXPECT_EQ(Parse("zram.algorithm_params=level=32", &c), 0);
  EXPECT_EQ(c.zram_level, 32);
  EXPECT_EQ(Parse("zram.algorithm_params=algo=lz4,level=8", &c), 0);
  EXPECT_EQ(c.zram_level, 8);
  EXPECT_EQ(Parse("zram.algorithm_params=priority=0,level=65537", &c), 0);
  EXPECT_EQ(c.zram_level, 65537);
  EXPECT_EQ(Parse("zram.algorithm_params=level=1", &c), 0);
  EXPECT_EQ(c.zram_level, 1);
  for (const char* bad :
       {"zram.algorithm_params=level=0", "zram.algorithm_params=level=-1",
        "zram.algorithm_params=level=-8", "zram.algorithm_params=level=x",
        "zram.algorithm_params=level=3x", "zram.algorithm_params=level=65538",
        "zram.algorithm_params=level=99999999999999999999999", "zram.algorithm_params=level=",
        "zram.algorithm_params=level", "zram.algorithm_params=level=2,",
        "zram.algorithm_params=algo=zstd,level=2", "zram.algorithm_params=algo=lz,level=2",
        "zram.algorithm_params=priority=1,level=2", "zram.algorithm_params=dict=/x,level=2",
        "zram.algorithm_params=algo=lz4", "zram.algorithm_params=level=2 level=3"}) {
    log.Clear();
    EXPECT_EQ(Parse(bad, &c), -kEINVAL) << bad;
    EXPECT_TRUE(log.Contains(bad)) << bad << ": " << log.text();
    EXPECT_EQ(c.zram_level, 1) << bad;  // unchanged
  }
  EXPECT_EQ(Parse("zram.algorithm_params=", &c), 1);  // no value: not this word
  // algo= names the algorithm chosen so far.
  EXPECT_EQ(Parse("zram.comp_algorithm=zstd", &c), 0);
  EXPECT_EQ(Parse("zram.algorithm_params=algo=zstd,level=9", &c), 0);
  EXPECT_EQ(c.zram_level, 9);
  EXPECT_EQ(Parse("zram.algorithm_params=algo=lz4,level=2", &c), -kEINVAL);
  EXPECT_EQ(c.zram_level, 9);
}

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(buddy_.init_result(), 0);
    ASSERT_EQ(slab_.Init(*buddy_, SlabConfig{}), 0);
    buddy_->DrainAllPages();
    free_start_ = buddy_->NrFreePages();
  }
  void TearDown() override {
    // Nothing leaked beyond the slab layer keeping a partial slab per cache.
    buddy_->DrainAllPages();
    EXPECT_GE(buddy_->NrFreePages() + 2, free_start_);  // a cached slab or two
  }
  std::string SwapsLine(SwapDevice& d) {
    char buf[512];
    TextBuffer out(buf, sizeof buf);
    d.ShowSwapsLine(out);
    return buf;
  }
  std::string MmStat(SwapDevice& d) {
    char buf[512];
    TextBuffer out(buf, sizeof buf);
    d.ShowMmStat(out);
    return buf;
  }
  std::vector<uint64_t> MmStatColumns(SwapDevice& d) {
    std::vector<uint64_t> v;
    const std::string text = MmStat(d);
    for (const char* p = text.c_str(); *p;) {
      char* e;
      v.push_back(std::strtoull(p, &e, 10));
      if (e == p) break;
      p = e;
      while (*p == ' ' || *p == '\n') ++p;
    }
    return v;
  }

  TestBuddy buddy_{64u << 20};
  SlabSystem slab_;
  uint64_t free_start_ = 0;
};

TEST_F(DeviceTest, SwapFileHeaderChecked) {
  LogCapture log;
  const std::string path = TmpPath("good.swap");
  const uint32_t bad[] = {3, 700};
  ASSERT_EQ(HostMkswap(path.c_str(), 4u << 20, bad, 2), 0);
  {
    SwapDevice d;
    ASSERT_EQ(d.InitFile(*buddy_, HostFileOps(), path.c_str(), 4u << 20, -2, 0), 0);
    EXPECT_EQ(d.nr_slots(), 1024u);
    EXPECT_EQ(d.usable_pages(), 1024u - 1 - 2);  // header and two bad pages
    EXPECT_TRUE(d.CheckInvariants());
    // /proc/swaps: path padded to 40 columns, "file", kB, used, prio.
    std::string want = path;
    want += std::string(path.size() < 40 ? 40 - path.size() : 1, ' ');
    want += "file\t\t4084\t\t0\t\t-2\n";
    EXPECT_EQ(SwapsLine(d), want);
    // Slots come from one cluster, contiguous, skipping slot 0 and bad pages.
    uint64_t s[8];
    ASSERT_EQ(d.AllocSlots(s, 8), 8);
    std::vector<uint64_t> got(s, s + 8);
    EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 4, 5, 6, 7, 8, 9}));
    std::vector<char> page(kPageSize), back(kPageSize);
    for (size_t i = 0; i < kPageSize; ++i) page[i] = static_cast<char>(i * 7 + 1);
    ASSERT_EQ(d.WritePage(s[3], page.data()), 0);
    ASSERT_EQ(d.ReadPage(s[3], back.data()), 0);
    EXPECT_EQ(page, back);
    d.Dup(s[3]);
    EXPECT_EQ(d.Count(s[3]), 2u);
    EXPECT_EQ(d.Free(s[3]), 1u);
    d.FailNextWrites(1);
    EXPECT_EQ(d.WritePage(s[3], page.data()), -kEIO);
    EXPECT_EQ(d.WritePage(s[3], page.data()), 0);
    EXPECT_EQ(d.inuse_pages(), 8u);
    for (uint64_t x : s) EXPECT_EQ(d.Free(x), 0u);
    EXPECT_EQ(d.inuse_pages(), 0u);
    EXPECT_TRUE(d.CheckInvariants());
    d.Shutdown();
  }
  // Refused: no signature, too small, smaller than asked for.
  const std::string plain = TmpPath("plain.img");
  {
    FILE* f = std::fopen(plain.c_str(), "w");
    std::vector<char> zeros(1 << 20);
    std::fwrite(zeros.data(), 1, zeros.size(), f);
    std::fclose(f);
  }
  SwapDevice d1, d2, d3;
  log.Clear();
  EXPECT_EQ(d1.InitFile(*buddy_, HostFileOps(), plain.c_str(), 0, -2, 0), -kEINVAL);
  EXPECT_TRUE(log.Contains("no swap signature (SWAPSPACE2)")) << log.text();
  const std::string tiny = TmpPath("tiny.swap");
  ASSERT_EQ(HostMkswap(tiny.c_str(), 8 * kPageSize), 0);
  log.Clear();
  EXPECT_EQ(d2.InitFile(*buddy_, HostFileOps(), tiny.c_str(), 0, -2, 0), -kEINVAL);
  EXPECT_TRUE(log.Contains("too small")) << log.text();
  log.Clear();
  EXPECT_EQ(d3.InitFile(*buddy_, HostFileOps(), path.c_str(), 64u << 20, -2, 0), -kEINVAL);
  EXPECT_TRUE(log.Contains("file too small for the requested swap size")) << log.text();
  SwapDevice d4;
  EXPECT_EQ(d4.InitFile(*buddy_, HostFileOps(), TmpPath("missing").c_str(), 0, -2, 0), -kENOENT);
  EXPECT_EQ(d4.InitFile(*buddy_, nullptr, path.c_str(), 0, -2, 0), -kENOSYS);
}

TEST_F(DeviceTest, SlotAllocatorFillsAndFragments) {
  const std::string path = TmpPath("frag.swap");
  ASSERT_EQ(HostMkswap(path.c_str(), 2u << 20), 0);  // 512 slots = 2 clusters
  SwapDevice d;
  ASSERT_EQ(d.InitFile(*buddy_, HostFileOps(), path.c_str(), 0, 0, 0), 0);
  std::vector<uint64_t> all(600);
  EXPECT_EQ(d.AllocSlots(all.data(), 600), 511);
  EXPECT_EQ(d.free_pages(), 0u);
  uint64_t x;
  EXPECT_EQ(d.AllocSlots(&x, 1), 0);
  // Free every other slot of the first cluster: the scan finds them.
  for (uint64_t s = 2; s < 256; s += 2) d.Free(s);
  EXPECT_TRUE(d.CheckInvariants());
  std::vector<uint64_t> again(200);
  EXPECT_EQ(d.AllocSlots(again.data(), 200), 127);
  for (uint64_t s : again)
    if (s != 0) EXPECT_EQ(s % 2, 0u);
  EXPECT_TRUE(d.CheckInvariants());
  d.Shutdown();
}

class ZramTest : public DeviceTest, public ::testing::WithParamInterface<const char*> {
 protected:
  const Compressor* Comp() { return std::strcmp(GetParam(), "lz4") == 0 ? HostLz4() : HostZstd(); }
};

TEST_P(ZramTest, SameCompressedAndHugePages) {
  SwapDevice d;
  ASSERT_EQ(d.InitZram(*buddy_, slab_, Comp(), 16u << 20, 100, 0), 0);
  EXPECT_STREQ(d.name(), "/dev/zram0");
  EXPECT_STREQ(d.comp_name(), GetParam());
  EXPECT_EQ(SwapsLine(d), "/dev/zram0" + std::string(30, ' ') + "partition\t16380\t\t0\t\t100\n");
  uint64_t s[3];
  ASSERT_EQ(d.AllocSlots(s, 3), 3);
  std::vector<char> zero(kPageSize, 0), text(kPageSize), rnd(kPageSize), back(kPageSize);
  const char* words = "the quick brown fox jumps over the lazy dog; ";
  for (size_t i = 0; i < kPageSize; ++i) text[i] = words[i % std::strlen(words)];
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < kPageSize; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&rnd[i], &v, 8);
  }
  ASSERT_EQ(d.WritePage(s[0], zero.data()), 0);
  ASSERT_EQ(d.WritePage(s[1], text.data()), 0);
  ASSERT_EQ(d.WritePage(s[2], rnd.data()), 0);
  EXPECT_EQ(d.same_pages(), 1u);
  EXPECT_EQ(d.huge_pages(), 1u);  // random data is stored as it is
  EXPECT_LT(d.compr_data_size(), 2 * kPageSize);
  EXPECT_GT(d.compr_data_size(), kPageSize);
  const std::vector<uint64_t> col = MmStatColumns(d);
  ASSERT_EQ(col.size(), 9u) << MmStat(d);
  EXPECT_EQ(col[0], 3 * kPageSize);          // orig_data_size
  EXPECT_EQ(col[1], d.compr_data_size());    // compr_data_size
  EXPECT_GE(col[2], kPageSize);              // mem_used_total
  EXPECT_EQ(col[5], 1u);                     // same_pages
  EXPECT_EQ(col[7], 1u);                     // huge_pages
  EXPECT_EQ(col[8], 1u);                     // huge_pages_since
  ASSERT_EQ(d.ReadPage(s[0], back.data()), 0);
  EXPECT_EQ(back, zero);
  ASSERT_EQ(d.ReadPage(s[1], back.data()), 0);
  EXPECT_EQ(back, text);
  ASSERT_EQ(d.ReadPage(s[2], back.data()), 0);
  EXPECT_EQ(back, rnd);
  EXPECT_TRUE(d.CheckInvariants());
  // Freeing drops the data; mem_limit makes writes fail cleanly.
  for (uint64_t x : s) d.Free(x);
  EXPECT_EQ(d.orig_data_pages(), 0u);
  EXPECT_EQ(d.mem_used_total(), 0u);
  d.SetMemLimit(kPageSize);
  ASSERT_EQ(d.AllocSlots(s, 2), 2);
  EXPECT_EQ(d.WritePage(s[0], rnd.data()), 0);
  EXPECT_EQ(d.WritePage(s[1], rnd.data()), -kENOSPC);
  EXPECT_EQ(d.WritePage(s[1], zero.data()), 0);  // same-filled pages cost nothing
  EXPECT_TRUE(d.CheckInvariants());
  d.Shutdown();
}

// Pages of random words (the benchmark's text pages): lz4's acceleration
// (algorithm_params level) trades ratio for speed. Level 0 (no word) is
// level 1; level 32 stores measurably more. (A stack of its own: the slab
// caches keep empty slabs of zram's objects, which DeviceTest's leak check
// would count.)
TEST(ZramLevel, Lz4LevelChangesCompression) {
  TestBuddy buddy(64u << 20);
  SlabSystem slab;
  ASSERT_EQ(buddy.init_result(), 0);
  ASSERT_EQ(slab.Init(*buddy, SlabConfig{}), 0);
  constexpr int kPages = 64;
  std::vector<char> text(kPages * kPageSize);
  const char* words[] = {"the", "memory", "of", "a", "page", "is", "swapped", "out", "when",
                         "kernel", "reclaim", "runs", "and", "compressed", "into", "zram"};
  std::mt19937_64 rng(7);
  for (size_t n = 0; n < text.size();) {
    for (const char* c = words[rng() % 16]; *c && n < text.size(); ++c) text[n++] = *c;
    if (n < text.size()) text[n++] = ' ';
  }
  auto stored = [&](int level) {
    Compressor comp = *HostLz4();
    comp.level = level;
    SwapDevice d;
    EXPECT_EQ(d.InitZram(*buddy, slab, &comp, 1u << 20, 0, 0), 0);
    EXPECT_EQ(d.comp_level(), level);
    uint64_t s[kPages];
    EXPECT_EQ(d.AllocSlots(s, kPages), kPages);
    std::vector<char> back(kPageSize);
    for (int i = 0; i < kPages; ++i) EXPECT_EQ(d.WritePage(s[i], &text[i * kPageSize]), 0);
    for (int i = 0; i < kPages; ++i) {
      EXPECT_EQ(d.ReadPage(s[i], back.data()), 0);
      EXPECT_EQ(std::memcmp(back.data(), &text[i * kPageSize], kPageSize), 0) << i;
    }
    const uint64_t bytes = d.compr_data_size();
    EXPECT_TRUE(d.CheckInvariants());
    for (uint64_t x : s) d.Free(x);
    EXPECT_EQ(d.mem_used_total(), 0u);
    d.Shutdown();
    return bytes;
  };
  const uint64_t l0 = stored(0), l1 = stored(1), l32 = stored(32);
  EXPECT_EQ(l0, l1);
  EXPECT_GT(l32, l1 + l1 / 4) << "level 1: " << l1 << " bytes, level 32: " << l32;
  EXPECT_EQ(HostLz4Accelerated(32).level, 32);
  EXPECT_EQ(HostLz4Accelerated(0).level, 1);
  EXPECT_EQ(HostLz4Accelerated(1 << 30).level, kMaxCompLevel);
}

INSTANTIATE_TEST_SUITE_P(Compressors, ZramTest, ::testing::Values("lz4", "zstd"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace mm::swap
