#include "mm/slab_common/slab_config.h"

#include <cstring>

#include "gtest/gtest.h"
#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/kmalloc_sizes.h"

namespace mm {
namespace {

int Parse(const char* w, SlabConfig* cfg) { return ParseSlabOption(w, strlen(w), cfg); }

TEST(SlabConfig, SlabAllocatorWord) {
  SlabConfig cfg;
  EXPECT_EQ(Parse("slab_allocator=slub", &cfg), 0);
  EXPECT_EQ(cfg.kind, AllocatorKind::kSlub);
  LogCapture log;
  EXPECT_EQ(Parse("slab_allocator=slab", &cfg), 0);
  EXPECT_EQ(cfg.kind, AllocatorKind::kSlab);
  EXPECT_EQ(Parse("slab_allocator=slob", &cfg), 0);
  EXPECT_EQ(cfg.kind, AllocatorKind::kSlob);
  EXPECT_EQ(Parse("slab_allocator=foo", &cfg), -kEINVAL);
  EXPECT_TRUE(log.Contains("slab_allocator=foo")) << log.text();
  EXPECT_EQ(Parse("mem=64M", &cfg), 1);  // not ours
}

TEST(SlabConfig, SlubDebugForms) {
  SlabConfig cfg;
  EXPECT_EQ(Parse("slub_debug", &cfg), 0);
  EXPECT_EQ(cfg.debug_flags, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER);
  EXPECT_EQ(DebugFlagsFor(cfg, "anything"), cfg.debug_flags);

  cfg = SlabConfig();
  EXPECT_EQ(Parse("slub_debug=FZPU", &cfg), 0);
  EXPECT_EQ(cfg.debug_flags, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER);

  cfg = SlabConfig();
  EXPECT_EQ(Parse("slub_debug=FZ,kmalloc-64", &cfg), 0);
  EXPECT_EQ(cfg.debug_flags, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE);
  EXPECT_EQ(DebugFlagsFor(cfg, "kmalloc-64"), SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE);
  EXPECT_EQ(DebugFlagsFor(cfg, "kmalloc-96"), 0u);

  cfg = SlabConfig();
  EXPECT_EQ(Parse("slub_debug=P,dentry,kmalloc-*", &cfg), 0);
  EXPECT_EQ(DebugFlagsFor(cfg, "kmalloc-8k"), SLAB_POISON);
  EXPECT_EQ(DebugFlagsFor(cfg, "dentry"), SLAB_POISON);
  EXPECT_EQ(DebugFlagsFor(cfg, "dentryx"), 0u);

  cfg = SlabConfig();
  EXPECT_EQ(Parse("slub_debug=-", &cfg), 0);
  EXPECT_EQ(cfg.debug_flags, 0u);
}

TEST(SlabConfig, BadLettersAreNamed) {
  SlabConfig cfg;
  LogCapture log;
  EXPECT_EQ(Parse("slub_debug=FQX", &cfg), -kEINVAL);
  EXPECT_TRUE(log.Contains("'QX'")) << log.text();
  EXPECT_TRUE(log.Contains("slub_debug=FQX")) << log.text();
}

TEST(KmallocSizes, IndexIsSmallestFittingClass) {
  for (size_t size = 1; size <= kKmallocMaxCacheSize; ++size) {
    unsigned k = KmallocIndex(size);
    ASSERT_LT(k, kNrKmallocClasses);
    ASSERT_GE(kKmallocClasses[k].size, size) << size;
    if (k > 0) {
      ASSERT_LT(kKmallocClasses[k - 1].size, size) << size;
    }
  }
}

TEST(KmallocSizes, FourClassesPerDoublingAbove256WithLinuxStyleNames) {
  // Rounding above 256 bytes is at most 25 % (one of four classes per doubling).
  for (size_t size = 257; size <= kKmallocMaxCacheSize; ++size) {
    const unsigned cls = kKmallocClasses[KmallocIndex(size)].size;
    ASSERT_LE(cls * 4, size * 5 + 3) << size;
  }
  for (const KmallocClass& kc : kKmallocClasses) {
    char want[32];
    Format(want, sizeof want, kc.size % 1024 == 0 ? "kmalloc-%uk" : "kmalloc-%u",
           kc.size % 1024 == 0 ? kc.size / 1024 : kc.size);
    EXPECT_STREQ(kc.name, want);
    EXPECT_EQ(kc.align & (kc.align - 1), 0u);
    EXPECT_EQ(kc.size % kc.align, 0u) << kc.size;
    EXPECT_TRUE(kc.align == kPageSize || (kc.size / kc.align) % 2 == 1) << kc.size;
  }
  EXPECT_EQ(kKmallocClasses[KmallocIndex(300)].size, 320u);
  EXPECT_EQ(kKmallocClasses[KmallocIndex(5000)].size, 5120u);
  EXPECT_EQ(kKmallocClasses[KmallocIndex(8192)].size, 8192u);
}

}  // namespace
}  // namespace mm
