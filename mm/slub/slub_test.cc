// SLUB unit tests: calculate_order and the cpu/node machinery on the real buddy
// allocator. The cross-allocator conformance suite is in //test/slab.
#include "mm/slub/slub.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_system.h"

namespace mm::slub {
namespace {

TEST(CalculateOrder, MatchesLinuxForKmallocSizes) {
  // 2 cpus: min_objects = 4 * (fls(2) + 1) = 12.
  EXPECT_EQ(CalculateOrder(64, 2), 0);
  EXPECT_EQ(CalculateOrder(96, 2), 0);
  EXPECT_EQ(CalculateOrder(192, 2), 0);
  EXPECT_EQ(CalculateOrder(512, 2), 1);
  EXPECT_EQ(CalculateOrder(4096, 2), 3);
  EXPECT_EQ(CalculateOrder(8192, 2), 3);
  // Bounded waste: 700-byte objects; leftover at most 1/16 of the slab if possible.
  int o = CalculateOrder(700, 2);
  ASSERT_GE(o, 0);
  uint64_t slab = kPageSize << o;
  EXPECT_LE(slab % 700, slab / 8);
  EXPECT_GE(slab / 700, 5u);
  // Too big for kMaxOrder: one object, any leftover, up to MAX_PAGE_ORDER.
  EXPECT_EQ(CalculateOrder(100000, 2), 5);
}

class SlubTest : public ::testing::Test {
 protected:
  SlubTest() : buddy_(64 << 20) {
    sys_ = new SlabSystem();
    EXPECT_EQ(sys_->Init(*buddy_, SlabConfig()), 0);
  }
  ~SlubTest() override {
    EXPECT_EQ(sys_->Shutdown(), 0);
    delete sys_;
  }
  TestBuddy buddy_;
  SlabSystem* sys_;
};

TEST_F(SlubTest, FastPathReusesLastFreed) {
  kmem_cache* s = sys_->CreateCache("t64", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  void* a = sys_->Alloc(s, GFP_KERNEL);
  ASSERT_NE(a, nullptr);
  sys_->Free(s, a);
  void* b = sys_->Alloc(s, GFP_KERNEL);
  EXPECT_EQ(a, b);  // LIFO per-cpu freelist
  sys_->Free(s, b);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

TEST_F(SlubTest, EmptySlabsReturnBeyondMinPartial) {
  kmem_cache* s = sys_->CreateCache("t256", 256, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t free_before = buddy_->NrFreePages();
  std::vector<void*> v;
  for (int i = 0; i < 5000; ++i) v.push_back(sys_->Alloc(s, GFP_KERNEL));
  EXPECT_LT(buddy_->NrFreePages(), free_before);
  for (void* p : v) sys_->Free(s, p);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->Shrink(s), 0);
  EXPECT_TRUE(sys_->CheckInvariants());
  SlabInfo info;
  sys_->slub().GetSlabinfo(s, &info);
  EXPECT_EQ(info.num_slabs, 0u);
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

TEST_F(SlubTest, HardenedFreelistAndNaiveDoubleFree) {
  kmem_cache* s = sys_->CreateCache("hard", 64, 0, 0, nullptr);
  void* a = sys_->Alloc(s, GFP_KERNEL);
  void* b = sys_->Alloc(s, GFP_KERNEL);
  sys_->Free(s, a);
  sys_->Free(s, b);  // b's free pointer is a
  const uintptr_t stored =
      *reinterpret_cast<uintptr_t*>(static_cast<char*>(b) + s->offset);
  if (kFreelistHardened) {
    EXPECT_NE(stored, reinterpret_cast<uintptr_t>(a));  // obfuscated
    LogCapture log;
    sys_->Free(s, b);  // b is the freelist head: caught
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  } else {
    EXPECT_EQ(stored, reinterpret_cast<uintptr_t>(a));
  }
  EXPECT_EQ(Slub<BuddyAllocator>::GetFreePointer(s, b), a);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

TEST(SlubNuma, TwoNodesKeepPerNodeLists) {
  BuddyConfig bc;
  bc.nr_nodes = 2;
  bc.nr_cpus = 2;
  TestBuddy buddy(64 << 20, bc);
  ASSERT_EQ(buddy.init_result(), 0);
  auto sys = std::make_unique<SlabSystem>();
  ASSERT_EQ(sys->Init(*buddy, SlabConfig()), 0);
  kmem_cache* s = sys->CreateCache("numa", 512, 0, 0, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 80000; ++i) v.push_back(sys->Alloc(s, GFP_KERNEL));
  for (void* p : v) ASSERT_NE(p, nullptr);
  // 40 MiB of objects in 2 x 32 MiB nodes: both nodes hold slabs.
  EXPECT_GT(Slub<BuddyAllocator>::CacheOf(s)->node[0].nr_slabs.load(), 0u);
  EXPECT_GT(Slub<BuddyAllocator>::CacheOf(s)->node[1].nr_slabs.load(), 0u);
  for (size_t i = 0; i < v.size(); i += 2) sys->Free(s, v[i]);
  EXPECT_TRUE(sys->CheckInvariants());
  for (size_t i = 1; i < v.size(); i += 2) sys->Free(s, v[i]);
  EXPECT_EQ(sys->Shrink(s), 0);
  EXPECT_TRUE(sys->CheckInvariants());
  EXPECT_EQ(sys->DestroyCache(s), 0);
  EXPECT_EQ(sys->Shutdown(), 0);
}

}  // namespace
}  // namespace mm::slub
