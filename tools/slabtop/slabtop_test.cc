#include "tools/slabtop/slabtop.h"

#include "gtest/gtest.h"

namespace slabtop {
namespace {

const char kText[] =
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
    "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
    "dentry              2000   2100    192   21    1 : tunables    0    0    0 : slabdata    100    100      0\n"
    "kmalloc-8k            10     12   8192    4    8 : tunables    0    0    0 : slabdata      3      3      0\n"
    "kmalloc-8              0      0      8  512    1 : tunables    0    0    0 : slabdata      0      0      0\n";

TEST(Slabtop, ParsesAndRendersLikeProcps) {
  std::vector<CacheRow> rows;
  std::string error;
  ASSERT_TRUE(Parse(kText, &rows, &error)) << error;
  ASSERT_EQ(rows.size(), 3u);
  std::string out = Render(rows, 'o', 4096);
  EXPECT_NE(out.find(" Active / Total Objects (% used)    : 2010 / 2112 (95.2%)\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" Active / Total Slabs (% used)      : 103 / 103 (100.0%)\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" Active / Total Caches (% used)     : 2 / 3 (66.7%)\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" Minimum / Average / Maximum Object : 0.01K / 0.23K / 8.00K\n\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME"), std::string::npos) << out;
  EXPECT_NE(out.find("  2100   2000  95%    0.19K    100       21       400K dentry"), std::string::npos) << out;
  // Sorted by objects: dentry first, then kmalloc-8k, then kmalloc-8.
  EXPECT_LT(out.find("dentry"), out.find("kmalloc-8k"));
  EXPECT_LT(out.find("kmalloc-8k"), out.find("kmalloc-8 "));
}

TEST(Slabtop, SortKeys) {
  std::vector<CacheRow> rows;
  std::string error;
  ASSERT_TRUE(Parse(kText, &rows, &error));
  Sort(&rows, 'c', 4096);  // cache size: dentry 400K, kmalloc-8k 96K
  EXPECT_EQ(rows[0].name, "dentry");
  Sort(&rows, 's', 4096);
  EXPECT_EQ(rows[0].name, "kmalloc-8k");
  Sort(&rows, 'n', 4096);
  EXPECT_EQ(rows[0].name, "dentry");
  EXPECT_EQ(rows[2].name, "kmalloc-8k");
  for (char k : std::string("abclvnopsu")) EXPECT_TRUE(ValidSortKey(k));
  EXPECT_FALSE(ValidSortKey('x'));
}

TEST(Slabtop, RejectsBadInput) {
  std::vector<CacheRow> rows;
  std::string error;
  EXPECT_FALSE(Parse("hello\n", &rows, &error));
  EXPECT_FALSE(Parse("slabinfo - version: 2.1\nbad line\n", &rows, &error));
  EXPECT_NE(error.find("line 2"), std::string::npos);
}

}  // namespace
}  // namespace slabtop
