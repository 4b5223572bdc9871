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
    return pg->slab_cache != nullptr && std::string(pg->slab_cache->name) == "slob-heap" &&
           OwnPage(p) == nullptr;
  }
  // The cache whose own page (taken or adopted) holds p.
  kmem_cache* OwnPage(const void* p) { return sys_->slob().OwnPageCache(p); }

 private:
  TestBuddy buddy_;
  std::unique_ptr<SlabSystem> sys_;
};

// 8-byte objects: a heap page holds 256 with headers, an own page 512. A cache
// alone fills half its heap page (128 objects) and then adopts it: the page
// becomes its first own page, the 128 headers free units that the next 8-byte
// objects take. 1000 objects hold 2 pages, as packed (the old switch after a
// heap page's worth held 3: the heap page beside two own pages).
TEST(Slob, CacheAloneAdoptsItsHeapPage) {
  Env env;
  const uint64_t before = env.FreePages();
  kmem_cache* s = env.sys().CreateCache("tiny", 8, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t held = env.sys().slob().PagesHeld();
  std::vector<void*> v;
  for (int i = 0; i < 127; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(v.back())) << i;
  }
  v.push_back(env.sys().Alloc(s, GFP_KERNEL));  // the 128th: half the page
  ASSERT_EQ(env.OwnPage(v[0]), s);   // adopted, objects in place
  ASSERT_EQ(env.PageOf(v[127]), env.PageOf(v[0]));
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (int i = 128; i < 1000; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_FALSE(env.InHeap(v.back())) << i;
    ASSERT_EQ(env.OwnPage(v.back()), s);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 8, 0u);
  }
  // The first own object took the first free unit: the old header of v[0].
  EXPECT_EQ(static_cast<char*>(v[0]) - static_cast<char*>(v[128]), 8);
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 2u);
  EXPECT_EQ(env.sys().Ksize(v[0]), 8u);
  EXPECT_EQ(env.sys().Ksize(v[500]), 8u);
  EXPECT_EQ(env.sys().slob().ObjectCache(v[0]), s);
  EXPECT_EQ(env.sys().slob().ObjectCache(v[500]), s);
  SlabInfo info;
  env.sys().slob().GetSlabinfo(s, &info);
  EXPECT_EQ(info.active_objs, 1000u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (size_t i = 0; i < v.size(); i += 2) env.sys().Free(s, v[i]);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (size_t i = 1; i < v.size(); i += 2) env.sys().Kfree(v[i]);  // kfree works on them too
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().slob().PagesHeld(), held);  // the adopted page went back when it emptied
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), before);
}

// 32-byte objects: a heap page holds 102 with headers, 128 without. Adopted at
// half a page (52), the page keeps the 52 and holds 64 more in its free half:
// 1000 objects hold 8 pages, as packed (old: 9).
TEST(Slob, AdoptedPageHoldsObjectsInItsFreeHalf) {
  Env env;
  kmem_cache* s = env.sys().CreateCache("c32", 32, 0, 0, nullptr);
  const uint64_t held = env.sys().slob().PagesHeld();
  std::vector<void*> v;
  for (int i = 0; i < 1000; ++i) v.push_back(env.sys().Alloc(s, GFP_KERNEL));
  EXPECT_EQ(env.OwnPage(v[0]), s);
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 8u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (void* p : v) env.sys().Free(s, p);
  EXPECT_EQ(env.sys().slob().PagesHeld(), held);
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
}

// CheckCache sees a broken (B5): an own page alignment that does not divide
// own_align, a heap page keyed to a cache whose blocks are not all there.
TEST(Slob, CheckCacheCatchesBadOwnerKeysAndPageAlignment) {
  Env env;
  kmem_cache* a = env.sys().CreateCache("key_a", 8, 0, 0, nullptr);
  kmem_cache* b = env.sys().CreateCache("key_b", 8, 0, 0, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 200; ++i) v.push_back(env.sys().Alloc(a, GFP_KERNEL));
  void* heap_obj = env.sys().Alloc(b, GFP_KERNEL);  // b's first: headered, a fresh heap page
  ASSERT_TRUE(env.InHeap(heap_obj));
  void* other = env.sys().Kmalloc(100, GFP_KERNEL);  // a kmalloc block in b's page: mixed
  ASSERT_EQ(env.PageOf(other), env.PageOf(heap_obj));
  page* own = env.PageOf(v[0]);
  page* heap = env.PageOf(heap_obj);
  ASSERT_EQ(env.OwnPage(v[0]), a);
  EXPECT_TRUE(env.sys().CheckInvariants());
  const uintptr_t align = own->remote_free;
  const uintptr_t key = heap->remote_free;
  {
    LogCapture log;
    own->remote_free = align + (uintptr_t{8} << 32);  // adopted, alignment 16: more than its objects share
    EXPECT_FALSE(env.sys().CheckInvariants());
    EXPECT_TRUE(log.Contains("(B5)")) << log.text();
    own->remote_free = align;
    log.Clear();
    heap->remote_free = *reinterpret_cast<const uint64_t*>(static_cast<char*>(heap_obj) - 8) >> 32;  // b alone
    EXPECT_FALSE(env.sys().CheckInvariants());
    EXPECT_TRUE(log.Contains("(B5) block of another owner")) << log.text();
    heap->remote_free = key;
  }
  EXPECT_TRUE(env.sys().CheckInvariants());
  env.sys().Kfree(other);
  env.sys().Free(b, heap_obj);
  for (void* p : v) env.sys().Free(a, p);
  EXPECT_EQ(env.sys().DestroyCache(a), 0);
  EXPECT_EQ(env.sys().DestroyCache(b), 0);
}

// Caches whose first objects share heap pages keep them there (the pages are
// everyone's) and switch after a heap page's worth each, as before.
TEST(Slob, SharedHeapPageIsNotAdopted) {
  Env env;
  kmem_cache* a = env.sys().CreateCache("share_a", 8, 0, 0, nullptr);
  kmem_cache* b = env.sys().CreateCache("share_b", 8, 0, 0, nullptr);
  std::vector<void*> va, vb;
  for (int i = 0; i < 256; ++i) {
    va.push_back(env.sys().Alloc(a, GFP_KERNEL));
    vb.push_back(env.sys().Alloc(b, GFP_KERNEL));
    ASSERT_TRUE(env.InHeap(va.back())) << i;
    ASSERT_TRUE(env.InHeap(vb.back())) << i;
  }
  void* own = env.sys().Alloc(a, GFP_KERNEL);  // a's 257th: its own page
  EXPECT_EQ(env.OwnPage(own), a);
  EXPECT_TRUE(env.InHeap(va[0]));
  EXPECT_TRUE(env.sys().CheckInvariants());
  env.sys().Free(a, own);
  for (void* p : va) env.sys().Free(a, p);
  for (void* p : vb) env.sys().Kfree(p);
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().DestroyCache(a), 0);
  EXPECT_EQ(env.sys().DestroyCache(b), 0);
}

// 3000-byte objects: a heap page holds one (its 1 KiB tail is all it shares),
// an order-2 own block five. Own blocks from the first: 10 objects hold 8 pages
// (old: a heap page for the first and two blocks for the other nine, 9).
TEST(Slob, ObjectsOnePerHeapPageTakeOwnBlocksFromTheFirst) {
  Env env;
  kmem_cache* s = env.sys().CreateCache("c3000", 3000, 0, 0, nullptr);
  const uint64_t held = env.sys().slob().PagesHeld();
  std::vector<void*> v;
  for (int i = 0; i < 10; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_EQ(env.OwnPage(v.back()), s) << i;
    std::memset(v.back(), i, 3000);
  }
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 8u);
  std::vector<void*> k;
  for (int i = 0; i < 10; ++i) k.push_back(env.sys().Kmalloc(3000, GFP_KERNEL));  // kmalloc-3k's blocks
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 16u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(static_cast<unsigned char*>(v[i])[2999], i);
    env.sys().Free(s, v[i]);
    env.sys().Kfree(k[i]);
  }
  EXPECT_EQ(env.sys().slob().PagesHeld(), held);
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
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

// kmalloc(32) must be 32-aligned: with a header that costs 64 bytes a block
// (the 24 bytes in front stay free). Alone, the kmalloc-32 class adopts the heap
// page at half (52 requests): gap and header make 32 free bytes in front of
// each object, so the page holds 128 and 100 requests hold one page (old: 2).
// kmalloc(100) (112 bytes with its header, 128 in kmalloc-128) stays in the heap.
TEST(Slob, KmallocUsesClassPagesOnlyWhereTheyPackBetter) {
  Env env;
  const uint64_t before = env.FreePages();
  const uint64_t held = env.sys().slob().PagesHeld();
  kmem_cache* k32 = env.sys().KmallocCache(KmallocIndex(32));
  std::vector<void*> v;
  for (int i = 0; i < 100; ++i) {
    v.push_back(env.sys().Kmalloc(32, GFP_KERNEL));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 32, 0u);
  }
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 1u);
  for (int i = 0; i < 964; ++i) {
    v.push_back(env.sys().Kmalloc(32, GFP_KERNEL));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.back()) % 32, 0u);
  }
  for (void* p : v) {
    ASSERT_EQ(env.OwnPage(p), k32);
    ASSERT_EQ(env.sys().Ksize(p), 32u);
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
  // /proc/slabinfo's kmalloc-32 shows its objects: 1064 minus the one krealloc moved.
  EXPECT_EQ(info.active_objs, 1063u);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (void* p : v) env.sys().Kfree(p);
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.FreePages(), before);
}

// kmalloc(96) in the heap is 8-aligned (a 104-byte block); kmalloc-96's own
// objects are 32-aligned. An adopted page keeps the 8-aligned ones where they
// are (its page alignment is 8) and packs 32-aligned ones in its free half:
// 1000 requests hold 24 pages, as packed (old: 25). Frees of the adopted
// objects are checked against the page's alignment.
TEST(Slob, AdoptedKmallocPageKeepsLessAlignedObjects) {
  Env env;
  const uint64_t held = env.sys().slob().PagesHeld();
  kmem_cache* k96 = env.sys().KmallocCache(KmallocIndex(96));
  std::vector<void*> v;
  for (int i = 0; i < 1000; ++i) v.push_back(env.sys().Kmalloc(96, GFP_KERNEL));
  EXPECT_EQ(env.sys().slob().PagesHeld() - held, 24u);
  ASSERT_EQ(env.OwnPage(v[0]), k96);
  EXPECT_EQ(env.sys().Ksize(v[0]), 96u);
  bool some_8_aligned = false;
  for (int i = 0; i < 20; ++i) some_8_aligned |= reinterpret_cast<uintptr_t>(v[i]) % 32 != 0;
  EXPECT_TRUE(some_8_aligned);
  for (int i = 100; i < 1000; ++i) ASSERT_EQ(reinterpret_cast<uintptr_t>(v[i]) % 32, 0u) << i;
  EXPECT_TRUE(env.sys().CheckInvariants());
  void* adopted = v[1];
  env.sys().Kfree(adopted);
  {
    LogCapture log;
    env.sys().Kfree(adopted);  // its block is free space now
    EXPECT_TRUE(log.Contains("double free")) << log.text();
    log.Clear();
    env.sys().Kfree(static_cast<char*>(v[2]) + 4);
    EXPECT_TRUE(log.Contains("Invalid object pointer")) << log.text();
  }
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != 1) env.sys().Kfree(v[i]);
  }
  EXPECT_TRUE(env.sys().CheckInvariants());
  EXPECT_EQ(env.sys().slob().PagesHeld(), held);
}

// 31 objects of a cache of `size` bytes (too big for a heap page) hold
// `pages`; contents, ksize, kfree and the cache's destruction give all back.
void ExpectBigObjectsHold(unsigned size, uint64_t pages) {
  Env env;
  const uint64_t before = env.FreePages();
  kmem_cache* s = env.sys().CreateCache("big", size, 0, 0, nullptr);
  const uint64_t created = env.FreePages();
  std::vector<void*> v;
  for (int i = 0; i < 31; ++i) {
    v.push_back(env.sys().Alloc(s, GFP_KERNEL));
    ASSERT_NE(v.back(), nullptr);
    std::memset(v.back(), i, size);
  }
  EXPECT_EQ(created - env.FreePages(), pages) << size;
  EXPECT_EQ(env.sys().Ksize(v[5]), size);
  EXPECT_TRUE(env.sys().CheckInvariants());
  for (int i = 0; i < 31; ++i) {
    EXPECT_EQ(static_cast<unsigned char*>(v[i])[size - 1], i) << i;
    if (i % 2) {
      env.sys().Kfree(v[i]);
    } else {
      env.sys().Free(s, v[i]);
    }
  }
  EXPECT_EQ(env.FreePages(), created);
  EXPECT_EQ(env.sys().DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), before);
}

// Objects too big for a heap page (5000 bytes): the first is a big block of
// its own (order 1, 8 KiB); the rest share order-2 blocks three to a block:
// 1 big block (2 pages) + 10 blocks of 4 pages, not 31 x 2 pages.
TEST(Slob, BigObjectsShareOwnBlocks) { ExpectBigObjectsHold(5000, 2 + 10 * 4); }

// Objects too big for a heap page take the own-block order that costs least
// per object: 9536 bytes (libmm's kmem_cache descriptor today) three to an
// order-3 block (2.67 pages each), not one to an order-2 block (4 pages; old:
// order 3 wastes 4160 bytes, over the 1/8 rule of shared-page sizes): 1 big
// block (order 2) + 10 blocks of 8 pages, not 31 x 4 pages.
TEST(Slob, BigObjectsTakeTheCheapestOrder) { ExpectBigObjectsHold(9536, 4 + 10 * 8); }

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
  ASSERT_EQ(env.OwnPage(own), a);
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
