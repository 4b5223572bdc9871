// The slab layer over a fake page source: page-allocation failures at every
// point, the fallback slab order, and every page given back.
#include "test/slab/fake_page_source.h"

#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/basic_slab_system.h"

namespace mm::testing {
namespace {

static_assert(PageSource<FakePageSource>);
using FakeSlabSystem = BasicSlabSystem<FakePageSource>;

class FakeSlab : public ::testing::Test {
 protected:
  FakeSlab() : pages_(4096) {
    sys_ = std::make_unique<FakeSlabSystem>();
    EXPECT_EQ(sys_->Init(pages_, SlabConfig()), 0);
  }
  ~FakeSlab() override {
    EXPECT_EQ(sys_->Shutdown(), 0);
    EXPECT_EQ(pages_.outstanding(), 0u);  // every page came back
    EXPECT_EQ(pages_.bad_frees(), 0u);
  }
  FakePageSource pages_;
  std::unique_ptr<FakeSlabSystem> sys_;
};

TEST_F(FakeSlab, AllocFailsCleanlyWhenPagesFail) {
  kmem_cache* s = sys_->CreateCache("f", 200, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  pages_.FailAfter(0);
  {
    LogCapture quiet;
    EXPECT_EQ(sys_->Alloc(s, GFP_KERNEL), nullptr);  // no slab yet
    EXPECT_EQ(sys_->Kmalloc(20000, GFP_KERNEL), nullptr);
    void* bulk[10];
    EXPECT_EQ(sys_->AllocBulk(s, GFP_KERNEL, 10, bulk), 0);
  }
  EXPECT_TRUE(sys_->CheckInvariants());
  // One slab's worth succeeds, then failure in the middle of a bulk request
  // leaves nothing allocated.
  pages_.FailAfter(1);
  std::vector<void*> v(3 * s->objects);
  EXPECT_EQ(sys_->AllocBulk(s, GFP_KERNEL, v.size(), v.data()), 0);
  EXPECT_TRUE(sys_->CheckInvariants());
  pages_.FailAfter(-1);
  EXPECT_EQ(sys_->AllocBulk(s, GFP_KERNEL, v.size(), v.data()), static_cast<int>(v.size()));
  sys_->FreeBulk(s, v.size(), v.data());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

TEST_F(FakeSlab, CreateCacheFailsCleanly) {
  // Fill the boot cache's current slab, then fail the pages for a new one.
  std::vector<kmem_cache*> made;
  pages_.FailAfter(0);
  LogCapture quiet;
  for (int i = 0; i < 20; ++i) {
    kmem_cache* s = sys_->CreateCache("c", 64, 0, 0, nullptr);
    if (s == nullptr) break;
    made.push_back(s);
  }
  EXPECT_LT(made.size(), 20u);
  EXPECT_TRUE(sys_->CheckInvariants());
  pages_.FailAfter(-1);
  for (kmem_cache* s : made) EXPECT_EQ(sys_->DestroyCache(s), 0);
}

TEST_F(FakeSlab, FallsBackToTheMinimumOrder) {
  kmem_cache* s = sys_->CreateCache("big", 3000, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  ASSERT_GT(s->order, s->min_order);
  pages_.SetMaxOrder(s->min_order);
  std::vector<void*> v;
  for (unsigned i = 0; i < 5 * s->objects; ++i) v.push_back(sys_->Alloc(s, GFP_KERNEL));
  for (void* p : v) ASSERT_NE(p, nullptr);
  EXPECT_TRUE(sys_->CheckInvariants());
  pages_.SetMaxOrder(kMaxPageOrder);
  for (void* p : v) sys_->Free(s, p);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

}  // namespace
}  // namespace mm::testing
