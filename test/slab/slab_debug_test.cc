// Slab debugging conformance: every detection is triggered, its report checked
// (captured with SetLogHandler), and the state checked afterwards: invariants
// hold, the bad object is set aside and never handed out again, nothing else is
// lost (the cache can be destroyed and every page comes back).
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/base/errno.h"
#include "test/slab/slab_test_env.h"

namespace mm::testing {
namespace {

// Allocators without slab debugging (SLOB, like Linux's) skip the cases that
// need red zones, poisoning, tracking or object state; the cases they pass
// (wrong-cache and outside-of-slab frees, no false reports) still run.
#define SKIP_WITHOUT_DEBUG()                                                             \
  if (!TypeParam::kDebug)                                                                \
  GTEST_SKIP() << TypeParam::kName                                                       \
               << " supports no slab debugging (red zones, poison, tracking, object "   \
                  "states), as Linux's SLOB; see mm/slob/README.md"

constexpr slab_flags_t kAll = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;

template <typename T>
class SlabDebug : public ::testing::Test {
 protected:
  SlabDebug() : env_(T::kKind, 32 << 20) { before_ = env_.FreePages(); }

  kmem_cache* Make(const char* name, unsigned size, slab_flags_t flags = kAll) {
    kmem_cache* s = env_.sys().CreateCache(name, size, 0, flags, nullptr);
    EXPECT_NE(s, nullptr);
    return s;
  }
  // Allocates `n` objects and checks `bad` is not among them; frees them again.
  void ExpectNeverHandedOut(kmem_cache* s, const void* bad, int n) {
    std::vector<void*> v;
    for (int i = 0; i < n; ++i) {
      void* p = sys().Alloc(s, GFP_KERNEL);
      ASSERT_NE(p, nullptr);
      ASSERT_NE(p, bad) << "a set-aside object was handed out again";
      v.push_back(p);
    }
    for (void* p : v) sys().Free(s, p);
  }
  // Destroys `s` and checks that every page came back.
  void ExpectNothingLost(kmem_cache* s) {
    EXPECT_TRUE(sys().CheckInvariants());
    EXPECT_EQ(sys().DestroyCache(s), 0);
    EXPECT_EQ(env_.FreePages(), before_);
  }
  SlabSystem& sys() { return env_.sys(); }

  SlabEnv env_;
  uint64_t before_ = 0;
};

using Allocators = ::testing::Types<Slub, Slab, Slob>;
TYPED_TEST_SUITE(SlabDebug, Allocators);

TYPED_TEST(SlabDebug, LayoutAndFreshObjects) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("layout", 24);
  auto* p = static_cast<unsigned char*>(this->sys().Alloc(s, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  // Active red zones around the object.
  for (unsigned i = s->object_size; i < s->inuse; ++i) EXPECT_EQ(p[i], kSlubRedActive) << i;
  for (unsigned i = 1; i <= s->red_left_pad; ++i) EXPECT_EQ(p[-static_cast<int>(i)], kSlubRedActive);
  // A never-used free object is poisoned: 0x6b ... 0xa5.
  this->sys().Free(s, p);
  EXPECT_EQ(p[0], kPoisonFree);
  EXPECT_EQ(p[s->object_size - 1], kPoisonEnd);
  for (unsigned i = s->object_size; i < s->inuse; ++i) EXPECT_EQ(p[i], kSlubRedInactive) << i;
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, DoubleFree) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("dfree", 64);
  void* keep = this->sys().Alloc(s, GFP_KERNEL);
  void* p = this->sys().Alloc(s, GFP_KERNEL);
  this->sys().Free(s, p);
  {
    LogCapture log;
    this->sys().Free(s, p);
    EXPECT_TRUE(log.Contains("BUG dfree (Not tainted): Object already free")) << log.text();
    EXPECT_TRUE(log.Contains("Allocated in")) << log.text();
    EXPECT_TRUE(log.Contains("Freed in")) << log.text();
    EXPECT_TRUE(log.Contains("FIX dfree:")) << log.text();
  }
  EXPECT_TRUE(this->sys().CheckInvariants());
  // The object was freed once: it is handed out exactly once more.
  std::set<void*> seen;
  std::vector<void*> v;
  for (int i = 0; i < 200; ++i) {
    void* q = this->sys().Alloc(s, GFP_KERNEL);
    ASSERT_TRUE(seen.insert(q).second) << "handed out twice";
    v.push_back(q);
  }
  for (void* q : v) this->sys().Free(s, q);
  this->sys().Free(s, keep);
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, ForeignPointer) {
  kmem_cache* a = this->Make("cache_a", 64);
  kmem_cache* b = this->Make("cache_b", 64);
  void* pa = this->sys().Alloc(a, GFP_KERNEL);
  void* big = this->sys().Kmalloc(5 * kPageSize, GFP_KERNEL);
  {
    LogCapture log;
    this->sys().Free(b, pa);
    EXPECT_TRUE(log.Contains("BUG cache_b (Not tainted): kmem_cache_free: Wrong slab cache. cache_b but object is from cache_a")) << log.text();
    log.Clear();
    this->sys().Free(b, big);
    EXPECT_TRUE(log.Contains("BUG cache_b (Not tainted): Attempt to free object")) << log.text();
    EXPECT_TRUE(log.Contains("outside of slab")) << log.text();
  }
  EXPECT_TRUE(this->sys().CheckInvariants());
  // Nothing changed: pa is still allocated in a.
  this->sys().Free(a, pa);
  this->sys().Kfree(big);
  EXPECT_EQ(this->sys().DestroyCache(b), 0);
  this->ExpectNothingLost(a);
}

TYPED_TEST(SlabDebug, NotAtObjectBoundary) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("bound", 64);
  auto* p = static_cast<char*>(this->sys().Alloc(s, GFP_KERNEL));
  {
    LogCapture log;
    this->sys().Free(s, p + 8);
    EXPECT_TRUE(log.Contains("BUG bound (Not tainted): Invalid object pointer")) << log.text();
    EXPECT_TRUE(log.Contains("not freed")) << log.text();
  }
  EXPECT_TRUE(this->sys().CheckInvariants());
  this->sys().Free(s, p);  // the real free still works
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, CorruptedFreelist) {
  SKIP_WITHOUT_DEBUG();
  if (!TypeParam::kInObjectFreePointer) {
    GTEST_SKIP() << TypeParam::kName
                 << " keeps no free pointer inside free objects (SLAB: free-index arrays and "
                    "array caches; SLOB: block headers), so there is no free chain to corrupt";
  }
  kmem_cache* s = this->Make("fl", 64, SLAB_CONSISTENCY_CHECKS);
  void* a = this->sys().Alloc(s, GFP_KERNEL);
  void* b = this->sys().Alloc(s, GFP_KERNEL);
  void* c = this->sys().Alloc(s, GFP_KERNEL);
  this->sys().Free(s, b);
  this->sys().Free(s, a);  // freelist: a -> b -> ...
  // A stray write over a's free pointer.
  *reinterpret_cast<uintptr_t*>(static_cast<char*>(a) + s->offset) = 0xdeadbeef;
  void* got;
  {
    LogCapture log;
    got = this->sys().Alloc(s, GFP_KERNEL);
    EXPECT_TRUE(log.Contains("BUG fl (Not tainted): Freechain corrupt")) << log.text();
    EXPECT_TRUE(log.Contains("FIX fl:")) << log.text();
  }
  ASSERT_NE(got, nullptr);
  EXPECT_NE(got, a);
  EXPECT_EQ(s->quarantined.load(), 1u);
  EXPECT_TRUE(this->sys().CheckInvariants());
  this->ExpectNeverHandedOut(s, a, 3 * static_cast<int>(s->objects));
  this->sys().Free(s, got);
  this->sys().Free(s, c);
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, RightRedzoneOverwritten) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("rz", 24);
  auto* p = static_cast<unsigned char*>(this->sys().Alloc(s, GFP_KERNEL));
  p[24] = 0x00;  // one byte past the object
  {
    LogCapture log;
    this->sys().Free(s, p);
    EXPECT_TRUE(log.Contains("BUG rz (Not tainted): Right Redzone overwritten")) << log.text();
    EXPECT_TRUE(log.Contains("First byte 0x0 instead of 0xcc")) << log.text();
    EXPECT_TRUE(log.Contains("Allocated in")) << log.text();
    EXPECT_TRUE(log.Contains("set aside")) << log.text();
  }
  EXPECT_TRUE(this->sys().CheckInvariants());
  this->ExpectNeverHandedOut(s, p, 3 * static_cast<int>(s->objects));
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, LeftRedzoneOverwritten) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("lrz", 40);
  auto* p = static_cast<unsigned char*>(this->sys().Alloc(s, GFP_KERNEL));
  p[-1] = 0x11;
  {
    LogCapture log;
    this->sys().Free(s, p);
    EXPECT_TRUE(log.Contains("BUG lrz (Not tainted): Left Redzone overwritten")) << log.text();
    EXPECT_TRUE(log.Contains("First byte 0x11 instead of 0xcc")) << log.text();
  }
  EXPECT_TRUE(this->sys().CheckInvariants());
  this->ExpectNeverHandedOut(s, p, 3 * static_cast<int>(s->objects));
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, PoisonOverwrittenUseAfterFree) {
  SKIP_WITHOUT_DEBUG();
  kmem_cache* s = this->Make("uaf", 64);
  auto* p = static_cast<unsigned char*>(this->sys().Alloc(s, GFP_KERNEL));
  this->sys().Free(s, p);
  p[5] = 0x42;  // use after free
  void* got;
  {
    LogCapture log;
    got = this->sys().Alloc(s, GFP_KERNEL);  // LIFO would hand p out: it is checked first
    EXPECT_TRUE(log.Contains("BUG uaf (Not tainted): Poison overwritten")) << log.text();
    EXPECT_TRUE(log.Contains("First byte 0x42 instead of 0x6b")) << log.text();
    EXPECT_TRUE(log.Contains("overwritten at byte 5 of the object")) << log.text();
    EXPECT_TRUE(log.Contains("Freed in")) << log.text();
  }
  ASSERT_NE(got, nullptr);
  EXPECT_NE(got, p);
  EXPECT_TRUE(this->sys().CheckInvariants());
  this->ExpectNeverHandedOut(s, p, 3 * static_cast<int>(s->objects));
  this->sys().Free(s, got);
  this->ExpectNothingLost(s);
}

TYPED_TEST(SlabDebug, RedzoneCaughtOnAllocOfFreeObject) {
  SKIP_WITHOUT_DEBUG();
  // Overflowing a free neighbour's red zone is found when it is handed out.
  kmem_cache* s = this->Make("rzfree", 32);
  auto* p = static_cast<unsigned char*>(this->sys().Alloc(s, GFP_KERNEL));
  this->sys().Free(s, p);
  p[32] = 0x77;
  {
    LogCapture log;
    void* got = this->sys().Alloc(s, GFP_KERNEL);
    EXPECT_NE(got, p);
    EXPECT_TRUE(log.Contains("Right Redzone overwritten")) << log.text();
    EXPECT_TRUE(log.Contains("instead of 0xbb")) << log.text();
    this->sys().Free(s, got);
  }
  this->ExpectNothingLost(s);
}

// slub_debug on the command line applies to the named caches only.
TYPED_TEST(SlabDebug, BootOptionSelectsCaches) {
  SKIP_WITHOUT_DEBUG();
  SlabEnv env(TypeParam::kKind, 16 << 20, "slub_debug=FZP,kmalloc-64,named");
  ASSERT_EQ(env.init_result(), 0);
  SlabSystem& sys = env.sys();
  kmem_cache* named = sys.CreateCache("named", 50, 0, 0, nullptr);
  kmem_cache* other = sys.CreateCache("other", 50, 0, 0, nullptr);
  EXPECT_EQ(named->flags & kAll, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON);
  EXPECT_EQ(other->flags & kAll, 0u);
  EXPECT_NE(sys.KmallocCache(KmallocIndex(64))->flags & SLAB_RED_ZONE, 0u);
  EXPECT_EQ(sys.KmallocCache(KmallocIndex(96))->flags & SLAB_RED_ZONE, 0u);
  // kmalloc-64 with red zones: a kmalloc overflow is reported on kfree.
  auto* k = static_cast<unsigned char*>(sys.Kmalloc(64, GFP_KERNEL));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(k) % 64, 0u);  // still naturally aligned
  EXPECT_EQ(sys.Ksize(k), 64u);
  k[64] = 0;
  {
    LogCapture log;
    sys.Kfree(k);
    EXPECT_TRUE(log.Contains("BUG kmalloc-64 (Not tainted): Right Redzone overwritten")) << log.text();
  }
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(named), 0);
  EXPECT_EQ(sys.DestroyCache(other), 0);
}

// Every object of every kmalloc class survives a full debug round trip.
TYPED_TEST(SlabDebug, GlobalSlubDebugKmalloc) {
  SlabEnv env(TypeParam::kKind, 16 << 20, "slub_debug");
  ASSERT_EQ(env.init_result(), 0);
  SlabSystem& sys = env.sys();
  std::vector<void*> v;
  for (size_t size = 1; size <= 2 * kPageSize + 64; size += 37) {
    auto* p = static_cast<unsigned char*>(sys.Kmalloc(size, GFP_KERNEL));
    ASSERT_NE(p, nullptr);
    ASSERT_GE(sys.Ksize(p), size);
    memset(p, 0x33, size);
    v.push_back(p);
  }
  LogCapture log;
  for (void* p : v) sys.Kfree(p);
  EXPECT_EQ(log.text(), "");
  EXPECT_TRUE(sys.CheckInvariants());
}

}  // namespace
}  // namespace mm::testing
