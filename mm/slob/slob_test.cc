// SLOB beyond the conformance suite (test/slab): shared heap blocks with
// headers for caches and kmalloc sizes with few objects, headerless own pages
// once a cache (or a kmalloc size class) has a heap page's worth of them, own
// multi-object blocks for objects too big for a heap page, and the checks that
// still work on headerless objects (wrong cache, double free).
#include "mm/slob/slob.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_system.h"

namespace mm::slob {
namespace {

class Env {
 public:
  Env() : buddy_(64 << 20, BuddyConfig{1, 2, 0, -1}) {
    SlabConfig cfg;
    cfg.kind = AllocatorKind::kSlob;
    cfg.nr_cpus = 2;
    sys_ = std::make_unique<SlabSystem>();
    EXPECT_EQ(sys_->Init(*buddy_, cfg), 0);
  }
  ~Env() { EXPECT_EQ(sys_->Shutdown(), 0); }
  SlabSystem& sys() { return *sys_; }
  uint64_t FreePages() { return buddy_->NrFreePages(); }
  page* PageOf(const void* p) { return HeadPageOf(sys_->pages(), p); }
  // The object sits in a shared heap page (with a header), not an own page.
  bool InHeap(const void* p) {
    const page* pg = PageOf(p);
    return pg->slab_cache != nullptr && std::string(pg->slab_cache->name) == "slob-heap";
  }

 private:
  TestBuddy buddy_;
  std::unique_ptr<SlabSystem> sys_;
};

// 8-byte objects: a heap page holds 256 with headers, an own page 512. The first
// 256 share the heap; after them the cache packs its own pages, 8 bytes apart.
TEST(Slob, CacheTakesOwnPagesAfterAHeapPageOfObjects) {
  Env env;
  const uint64_t before = env.FreePages();
  kmem_cache* s = env.sys().CreateCache("tiny", 8, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t held = env.sys().slob().PagesHeld();
  std::vector<void*> v;
  for (int i = 0; i < 256; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(v.back())) << i;
  }
  for (int i = 0; i < 2000; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_FALSE(env.InHeap(v.back())) << i;
    ASSERT_EQ(env.PageOf(v.back())->slab_cache, s);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 8, 0u);
  }
  // Headerless and packed: consecutive objects of a fresh own page are adjacent.
  EXPECT_EQ(static_cast<char*>(v[300]) - static_cast<char*>(v[299]), 8);
  EXPECT_EQ(env.sys().Ksize(v[300]), 8u);
  EXPECT_EQ(env.sys().Ksize(v[0]), 8u);
  EXPECT_EQ(env.sys().slob().ObjectCache(v[300]), s);
  EXPECT_EQ(env.sys().slob().ObjectCache(v[0]), s);
  EXPECT_TRUE(env.sys().CheckInvariants());
  // 2000 own objects fill 4 pages (512 each), not 8 (256 with headers); the
  // first 256 took at most one heap page.
  EXPECT_LE(env.sys().slob().PagesHeld() - held, 5u);
  for (size_t i = 0; i < v.size(); i += 2) env.sys().Free(s, v[i]);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (size_t i = 1; i < v.size(); i += 2) env.sys().Kfree(v[i]);  // kfree works on them too
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), before);
}

// A cache with a ctor keeps its headered heap blocks (the ctor list lives in
// them); a cache whose objects do not pack better without a header (1000
// bytes: 4 a page either way) never takes own pages.
TEST(Slob, CachesThatDoNotGainStayInTheHeap) {
  Env env;
  kmem_cache* ctor = env.sys().CreateCache("ctor", 8, 0, 0, [](void* p) { std::memset(p, 1, 8); });
  kmem_cache* k1000 = env.sys().CreateCache("k1000", 1000, 0, 0, nullptr);
  std::vector<void*> a, b;
  for (int i = 0; i < 1000; ++i) {
    a.push_back(env.sys().Alloc(ctor, GFP_KERNEL));
    b.push_back(env.sys().Alloc(k1000, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(a.back()));
    ASSERT_TRUE(env.InHeap(b.back()));
  }
  for (void* p : a) env.sys().Free(ctor, p);
  for (void* p : b) env.sys().Free(k1000, p);
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().DestroyCache(ctor), 0);
  EXPECT_EQ(env.sys().DestroyCache(k1000), 0);
}

// kmalloc(32) must be 32-aligned: with a header that costs 64 bytes a block.
// After a heap page's worth (64) the kmalloc-32 class's own pages take them,
// headerless; kmalloc(100) (112 bytes with its header, 128 in kmalloc-128)
// stays in the heap.
TEST(Slob, KmallocUsesClassPagesOnlyWhereTheyPackBetter) {
  Env env;
  const uint64_t before = env.FreePages();
  kmem_cache* k32 = env.sys().KmallocCache(KmallocIndex(32));
  std::vector<void*> v;
  for (int i = 0; i < 64; ++i) {
    v.push_back(env.sys().Kmalloc(32, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(v.back()));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 32, 0u);
  }
  for (int i = 0; i < 1000; ++i) {
    v.push_back(env.sys().Kmalloc(32, GFP_KERNEL));
    ASSERT_EQ(env.PageOf(v.back())->slab_cache, k32);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 32, 0u);
    ASSERT_EQ(env.sys().Ksize(v.back()), 32u);
  }
  for (int i = 0; i < 1000; ++i) {
    v.push_back(env.sys().Kmalloc(100, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(v.back()));
    ASSERT_EQ(env.sys().Ksize(v.back()), 104u);
  }
  // krealloc within and beyond ksize keeps the contents.
  std::memset(v[100], 0x5a, 32);
  void* grown = env.sys().Krealloc(v[100], 200, GFP_KERNEL);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(grown)[31], 0x5a);
  v[100] = grown;
  SlabInfo info;
  env.sys().slob().GetSlabinfo(k32, &info);
  // /proc/slabinfo's kmalloc-32 shows its objects: 1000 minus the one krealloc moved.
  EXPECT_EQ(info.active_objs, 999u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (void* p : v) env.sys().Kfree(p);
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.FreePages(), before);
}

// Objects too big for a heap page (5000 bytes): the first is a big block of
// its own (order 1, 8 KiB); the rest share order-2 blocks three to a block.
TEST(Slob, BigObjectsShareOwnBlocks) {
  Env env;
  const uint64_t before = env.FreePages();
  kmem_cache* s = env.sys().CreateCache("big", 5000, 0, 0, nullptr);
  const uint64_t created = env.FreePages();
  std::vector<void*> v;
  for (int i = 0; i < 31; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_NE(v.back(), nullptr);
    std::memset(v.back(), i, 5000);
  }
  // 1 big block (2 pages) + 10 blocks of 4 pages, not 31 x 2 pages.
  EXPECT_EQ(created - env.FreePages(), 2u + 10u * 4u);
  EXPECT_EQ(env.sys().Ksize(v[5]), 5000u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (int i = 0; i < 31; ++i) {
    EXPECT_EQ(static_cast<unsigned char*>(v[i])[4999], i) << i;
    env.sys().Kfree(v[i]);
  }
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), before);
}

// Headerless objects still get Linux's reports: the wrong cache, a pointer
// into free space (a double free), a misaligned pointer -- reported and
// ignored, with the heap intact.
TEST(Slob, BadFreesOfOwnPageObjectsAreReported) {
  Env env;
  kmem_cache* a = env.sys().CreateCache("own_a", 16, 0, 0, nullptr);
  kmem_cache* b = env.sys().CreateCache("own_b", 16, 0, 0, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 600; ++i) v.push_back(env.sys().Alloc(a, GFP_KERNEL));
  void* own = v.back();
  ASSERT_EQ(env.PageOf(own)->slab_cache, a);
  {
    LogCapture log;
    env.sys().Free(b, own);
    EXPECT_TRUE(log.Contains("kmem_cache_free: Wrong slab cache. own_b but object is from own_a")) << log.text();
  }
  v.pop_back();
  env.sys().Free(a, own);
  {
    LogCapture log;
    env.sys().Free(a, own);  // again: its block is free space now
    EXPECT_TRUE(log.Contains("double free")) << log.text();
    log.Clear();
    env.sys().Kfree(static_cast<char*>(v[400]) + 4);
    EXPECT_TRUE(log.Contains("Invalid object pointer")) << log.text();
  }
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().DestroyCache(a), -kEBUSY);  // still live: refused, listed
  for (void* p : v) env.sys().Free(a, p);
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().DestroyCache(a), 0);
  EXPECT_EQ(env.sys().DestroyCache(b), 0);
}

}  // namespace
}  // namespace mm::slob
