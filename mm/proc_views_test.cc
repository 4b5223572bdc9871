// The /proc and debugfs views, checked line by line against Linux's formats
// (mm/vmstat.c, fs/proc/meminfo.c) and against the allocator's own state.
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/linux_api.h"

namespace mm {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

std::string Read(const char* path) {
  static char buf[1 << 16];
  long n = proc_read(path, buf, sizeof buf);
  EXPECT_GE(n, 0) << path;
  EXPECT_LT(n, static_cast<long>(sizeof buf)) << path;
  return std::string(buf, n < 0 ? 0 : n);
}

class ProcViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mm_boot("mem=64M numa=2 zones=dma:8M cpus=2 min_free_kbytes=1024"), 0);
    drain_all_pages();
  }
  void TearDown() override { mm_shutdown(); }
};

TEST_F(ProcViewsTest, Buddyinfo) {
  const auto lines = Lines(Read("/proc/buddyinfo"));
  ASSERT_EQ(lines.size(), 3u);  // node 0 DMA + Normal, node 1 Normal
  const std::regex row(R"(Node (\d), zone +(DMA|Normal) ( +\d+ ){11})");
  const char* expect_zone[] = {"     DMA", "  Normal", "  Normal"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], row)) << "[" << lines[i] << "]";
    EXPECT_EQ(lines[i].substr(0, 22), std::string("Node ") + (i < 2 ? "0" : "1") + ", zone " +
                                          expect_zone[i] + " ");
  }
  // The counts are the free blocks: the sum of count << order is nr_free_pages.
  unsigned long total = 0;
  for (const auto& line : lines) {
    std::stringstream ss(line.substr(22));
    for (unsigned o = 0; o <= MAX_PAGE_ORDER; ++o) {
      unsigned long n;
      ss >> n;
      total += n << o;
    }
  }
  EXPECT_EQ(total, nr_free_pages());
  // An allocation of order 3 takes one block off some order >= 3 (or splits).
  const unsigned long before = total;
  page* p = alloc_pages(GFP_KERNEL, 5);
  drain_all_pages();
  total = 0;
  for (const auto& line : Lines(Read("/proc/buddyinfo"))) {
    std::stringstream ss(line.substr(22));
    for (unsigned o = 0; o <= MAX_PAGE_ORDER; ++o) {
      unsigned long n;
      ss >> n;
      total += n << o;
    }
  }
  EXPECT_EQ(total, before - 32);
  __free_pages(p, 5);
}

TEST_F(ProcViewsTest, Pagetypeinfo) {
  const auto lines = Lines(Read("/proc/pagetypeinfo"));
  ASSERT_GE(lines.size(), 16u);
  EXPECT_EQ(lines[0], "Page block order: 9");
  EXPECT_EQ(lines[1], "Pages per block:  512");
  EXPECT_EQ(lines[2], "");
  EXPECT_EQ(lines[3],
            "Free pages count per migrate type at order       0      1      2      3      4      5"
            "      6      7      8      9     10 ");
  EXPECT_EQ(lines[4].substr(0, 47), "Node    0, zone      DMA, type    Unmovable    ");
  EXPECT_EQ(lines[5].substr(0, 41), "Node    0, zone      DMA, type      Movab");
  EXPECT_EQ(lines[6].substr(0, 41), "Node    0, zone      DMA, type  Reclaimab");
  const std::regex free_row(R"(Node +\d, zone +\w+, type +\w+ ( +\d+ ){11})");
  for (int i = 4; i < 13; ++i) EXPECT_TRUE(std::regex_match(lines[i], free_row)) << lines[i];
  EXPECT_EQ(lines[13], "");
  EXPECT_EQ(lines[14], "Number of blocks type     Unmovable      Movable  Reclaimable ");
  // 8M of DMA = 4 pageblocks; node 0 Normal = 32M - 8M = 12 blocks; node 1 = 16.
  // (How many are Unmovable depends on what boot took: the slab layer's caches.)
  const std::regex count_row(R"(Node (\d), zone +(DMA|Normal) +(\d+) +(\d+) +(\d+) )");
  const int blocks[] = {4, 12, 16};
  for (int i = 0; i < 3; ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[15 + i], m, count_row)) << lines[15 + i];
    EXPECT_EQ(std::stoi(m[3]) + std::stoi(m[4]) + std::stoi(m[5]), blocks[i]) << lines[15 + i];
    EXPECT_GT(std::stoi(m[4]), 0) << "most blocks stay Movable: " << lines[15 + i];
  }
  EXPECT_EQ(lines[15].substr(0, 22), "Node 0, zone      DMA ");
  EXPECT_EQ(lines[17].substr(0, 22), "Node 1, zone   Normal ");
}

TEST_F(ProcViewsTest, Zoneinfo) {
  const std::string text = Read("/proc/zoneinfo");
  const auto lines = Lines(text);
  EXPECT_EQ(lines[0], "Node 0, zone      DMA");
  EXPECT_EQ(lines[1], "  per-node stats");
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(R"(      nr_free_pages +\d+)")));
  EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(  pages free     \d+)"))) << lines[3];
  EXPECT_EQ(lines[4], "        boost    0");
  // min_free_kbytes=1024 is 256 pages, shared out by managed size.
  const std::regex wmark(R"(        (min|low|high) +(\d+))");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(lines[5], m, wmark));
  EXPECT_EQ(m[1], "min");
  ASSERT_TRUE(std::regex_match(lines[6], m, wmark));
  EXPECT_EQ(m[1], "low");
  ASSERT_TRUE(std::regex_match(lines[7], m, wmark));
  EXPECT_EQ(m[1], "high");
  EXPECT_EQ(lines[8], "        spanned  2048");
  EXPECT_EQ(lines[9], "        present  2048");
  EXPECT_TRUE(std::regex_match(lines[10], std::regex(R"(        managed  \d+)")));
  EXPECT_EQ(lines[11], "        cma      0");
  EXPECT_TRUE(std::regex_match(lines[12], std::regex(R"(        protection: \(0, \d+\))"))) << lines[12];
  EXPECT_NE(text.find("\nNode 0, zone   Normal\n  pages free "), std::string::npos);
  EXPECT_NE(text.find("\nNode 1, zone   Normal\n  per-node stats\n"), std::string::npos);
  EXPECT_NE(text.find("\n  pagesets\n    cpu: 0\n              count: "), std::string::npos);
  EXPECT_NE(text.find("\n              high:  "), std::string::npos);
  EXPECT_NE(text.find("\n              batch: "), std::string::npos);
  EXPECT_NE(text.find("\n  start_pfn:           524288\n"), std::string::npos);  // 0x80000000 >> 12
}

TEST_F(ProcViewsTest, Meminfo) {
  const auto lines = Lines(Read("/proc/meminfo"));
  const std::regex row(R"(([A-Za-z()]+): +(\d+) kB)");
  std::smatch m;
  ASSERT_GE(lines.size(), 3u);
  for (const auto& line : lines) {
    ASSERT_TRUE(std::regex_match(line, m, row)) << line;
    EXPECT_EQ(line.size(), 16u + 8u + 3u) << "labels pad to 16 columns, values to 8: " << line;
  }
  ASSERT_TRUE(std::regex_match(lines[0], m, row));
  EXPECT_EQ(m[1], "MemTotal");
  EXPECT_EQ(std::stoul(m[2]), totalram_pages() * 4);
  ASSERT_TRUE(std::regex_match(lines[1], m, row));
  EXPECT_EQ(m[1], "MemFree");
  EXPECT_EQ(std::stoul(m[2]), nr_free_pages() * 4);
  ASSERT_TRUE(std::regex_match(lines[2], m, row));
  EXPECT_EQ(m[1], "MemAvailable");
  EXPECT_LT(std::stoul(m[2]), nr_free_pages() * 4);  // free minus the reserves
  EXPECT_GT(std::stoul(m[2]), nr_free_pages() * 4 * 9 / 10);
  // Slab = SReclaimable + SUnreclaim, and a reclaimable cache's slabs count as such.
  auto field = [&](const char* name) -> unsigned long {
    std::smatch mm;
    const std::string text = Read("/proc/meminfo");
    EXPECT_TRUE(std::regex_search(text, mm, std::regex(std::string("\n") + name + ": +(\\d+) kB")))
        << name;
    return std::stoul(mm[1]);
  };
  EXPECT_EQ(field("Slab"), field("SReclaimable") + field("SUnreclaim"));
  EXPECT_GT(field("SUnreclaim"), 0u);  // the kmalloc caches
  const unsigned long reclaimable0 = field("SReclaimable");
  struct kmem_cache* c = kmem_cache_create("dentry", 192, 0, SLAB_RECLAIM_ACCOUNT, nullptr);
  void* obj = kmem_cache_alloc(c, GFP_KERNEL);
  EXPECT_GT(field("SReclaimable"), reclaimable0);
  kmem_cache_free(c, obj);
  kmem_cache_destroy(c);
}

TEST_F(ProcViewsTest, VmstatCountsAllocationsAndFrees) {
  auto value = [](const std::string& text, const std::string& name) -> long {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("(^|\n)" + name + " (\\d+)\n"))) return -1;
    return std::stol(m[2]);
  };
  const std::string before = Read("/proc/vmstat");
  for (const auto& line : Lines(before)) {
    EXPECT_TRUE(std::regex_match(line, std::regex(R"([a-z_]+ \d+)"))) << line;
  }
  EXPECT_EQ(value(before, "nr_free_pages"), static_cast<long>(nr_free_pages()));
  page* p = alloc_pages(GFP_KERNEL, 2);
  page* d = alloc_pages(GFP_DMA, 0);
  __free_pages(p, 2);
  __free_pages(d, 0);
  const std::string after = Read("/proc/vmstat");
  EXPECT_EQ(value(after, "pgalloc_normal") - value(before, "pgalloc_normal"), 4);
  EXPECT_EQ(value(after, "pgalloc_dma") - value(before, "pgalloc_dma"), 1);
  EXPECT_EQ(value(after, "pgfree") - value(before, "pgfree"), 5);
}

TEST_F(ProcViewsTest, ExtfragAndUnusableIndex) {
  // Everything free: every order has a suitable block.
  auto lines = Lines(Read("/sys/kernel/debug/extfrag/extfrag_index"));
  ASSERT_EQ(lines.size(), 3u);
  std::string all_suitable;
  for (int o = 0; o <= 10; ++o) all_suitable += "-1.000 ";
  EXPECT_EQ(lines[0], "Node 0, zone      DMA " + all_suitable);
  // Fragment the DMA zone: take what it gives in order-0 pages, free every other.
  std::vector<page*> pages;
  while (page* q = alloc_pages(GFP_DMA | __GFP_NOWARN, 0)) pages.push_back(q);
  for (size_t i = 0; i < pages.size(); i += 2) __free_pages(pages[i], 0);
  drain_all_pages();
  // Recompute both indices from /proc/buddyinfo with Linux's formulas
  // (__fragmentation_index and unusable_free_index) and compare whole lines.
  std::stringstream bi(Lines(Read("/proc/buddyinfo"))[0].substr(22));
  long nr_free[11];
  for (long& n : nr_free) bi >> n;
  auto thousandths = [](long v) {
    char b[16];
    snprintf(b, sizeof b, v < 0 ? "-%ld.%03ld " : "%ld.%03ld ", std::labs(v) / 1000, std::labs(v) % 1000);
    return std::string(b);
  };
  std::string want_frag = "Node 0, zone      DMA ", want_unusable = want_frag;
  for (int o = 0; o <= 10; ++o) {
    long total = 0, free_pages = 0, suitable = 0;
    for (int k = 0; k <= 10; ++k) {
      total += nr_free[k];
      free_pages += nr_free[k] << k;
      if (k >= o) suitable += nr_free[k] << (k - o);
    }
    const long frag = total == 0 ? 0 : suitable ? -1000 : 1000 - (1000 + free_pages * 1000 / (1L << o)) / total;
    const long unusable = free_pages == 0 ? 1000 : (free_pages - (suitable << o)) * 1000 / free_pages;
    want_frag += thousandths(frag);
    want_unusable += thousandths(unusable);
  }
  EXPECT_EQ(Lines(Read("/sys/kernel/debug/extfrag/extfrag_index"))[0], want_frag);
  EXPECT_EQ(Lines(Read("/sys/kernel/debug/extfrag/unusable_index"))[0], want_unusable);
  // The zone really is fragmented: some order has no suitable block, so its
  // index is a fraction, and the unusable index of order 1 is above zero.
  EXPECT_NE(want_frag.find(" 0.9"), std::string::npos) << want_frag;
  EXPECT_EQ(want_unusable.substr(22, 6), "0.000 ");
  EXPECT_NE(want_unusable.substr(28, 6), "0.000 ");
  for (size_t i = 1; i < pages.size(); i += 2) __free_pages(pages[i], 0);
}

TEST_F(ProcViewsTest, SizesAndUnknownPaths) {
  char small[16];
  const long full = proc_read("/proc/buddyinfo", small, sizeof small);
  EXPECT_GT(full, 16);
  EXPECT_EQ(std::string(small), Read("/proc/buddyinfo").substr(0, 15));
  EXPECT_EQ(proc_read("/proc/nonexistent", small, sizeof small), -ENOENT);
  EXPECT_EQ(small[0], '\0');
}

}  // namespace
}  // namespace mm
