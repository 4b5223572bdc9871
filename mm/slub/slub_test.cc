// SLUB unit tests: calculate_order and the cpu/node machinery on the real buddy
// allocator. The cross-allocator conformance suite is in //test/slab.
#include "mm/slub/slub.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_system.h"
#include "test/slab/slab_test_env.h"

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

TEST_F(SlubTest, KmallocLargeTakesExactPages) {
  const uint64_t free0 = buddy_->NrFreePages();
  // 5 pages: an order-3 block cut into chunks, 3 pages given back.
  void* p = sys_->Kmalloc(4 * kPageSize + 1, GFP_KERNEL);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(free0 - buddy_->NrFreePages(), 5u);
  EXPECT_EQ(sys_->Ksize(p), 5 * kPageSize);
  memset(p, 0x5a, 5 * kPageSize);
  // A power-of-two count stays one compound block; so does anything above
  // order 3 (kKmallocExactMaxOrder): 9 pages take 16.
  void* q = sys_->Kmalloc(8 * kPageSize, GFP_KERNEL);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(free0 - buddy_->NrFreePages(), 13u);
  EXPECT_EQ(sys_->Ksize(q), 8 * kPageSize);
  void* big = sys_->Kmalloc(8 * kPageSize + 1, GFP_KERNEL);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(free0 - buddy_->NrFreePages(), 29u);
  EXPECT_EQ(sys_->Ksize(big), 16 * kPageSize);
  sys_->Kfree(big);
  // krealloc within the exact block keeps it; beyond it moves the bytes.
  EXPECT_EQ(sys_->Krealloc(p, 5 * kPageSize, GFP_KERNEL), p);
  void* r = sys_->Krealloc(p, 7 * kPageSize, GFP_KERNEL);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(r)[5 * kPageSize - 1], 0x5a);
  EXPECT_EQ(sys_->Ksize(r), 7 * kPageSize);
  sys_->Kfree(r);
  sys_->Kfree(q);
  EXPECT_EQ(buddy_->NrFreePages(), free0);
  // Pointers inside an exact block (7 pages: chunks of 4, 2 and 1) are not
  // kmalloc'ed blocks: refused, nothing freed.
  void* t = sys_->Kmalloc(7 * kPageSize, GFP_KERNEL);
  for (int k : {1, 4, 6}) {  // inside the first chunk; the heads of the others
    LogCapture log;
    sys_->Kfree(static_cast<char*>(t) + k * kPageSize);
    EXPECT_TRUE(log.Contains("invalid pointer")) << k << log.text();
  }
  EXPECT_EQ(free0 - buddy_->NrFreePages(), 7u);
  sys_->Kfree(t);
  EXPECT_EQ(buddy_->NrFreePages(), free0);
  EXPECT_TRUE(sys_->CheckInvariants());
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

// ---- The lock-free free into unfrozen slabs (Linux's __slab_free) ----

using S = Slub<BuddyAllocator>;

#ifdef MM_SANITIZER
constexpr int kIters = 1;
#else
constexpr int kIters = 4;
#endif

// Objects allocated on a thread that then exits: its slabs are deactivated by
// the cpu-dead callback, full ones on no list.
std::vector<void*> AllocOnOtherThread(SlabSystem& sys, kmem_cache* s, int n) {
  std::vector<void*> v;
  std::thread([&] {
    for (int i = 0; i < n; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      ASSERT_NE(p, nullptr);
      memset(p, 0x11, s->object_size);
      v.push_back(p);
    }
  }).join();
  return v;
}

TEST(SlubLockFree, FullSlabFreezesOntoTheFreeingCpu) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("lf_full", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const unsigned per_slab = s->objects;
  std::vector<void*> v = AllocOnOtherThread(sys, s, static_cast<int>(per_slab * 3));
  // Every slab full and unfrozen: the state word says head 0, inuse objects.
  page* pg0 = HeadPageOf(sys.pages(), v[0]);
  uintptr_t w = Remote(pg0).load();
  EXPECT_EQ(w & kFrozen, 0u);
  EXPECT_EQ(S::StateInuse(w), per_slab);
  EXPECT_EQ(sys.slub().SlabFreelist(s, pg0), nullptr);
  EXPECT_TRUE(sys.CheckInvariants());
  // One free into each full slab: frozen onto this cpu's partial list, no lock.
  const unsigned cpu = platform::FastCpuId();
  SlubCpu* c = S::CpuOf(s, cpu);
  const unsigned before = c->nr_partial;
  for (unsigned k = 0; k < 3; ++k) sys.Free(s, v[k * per_slab]);
  // Frees into unfrozen slabs wait in this cpu's sheaf (the slabs see no change yet)...
  EXPECT_EQ(S::SheafObjects(c), 3u);
  EXPECT_EQ(c->nr_partial, before);
  EXPECT_EQ(S::StateInuse(Remote(pg0).load()), per_slab);
  EXPECT_TRUE(sys.CheckInvariants());
  // ... until the flush: one CAS per slab.
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(S::SheafObjects(c), 0u);
  EXPECT_EQ(c->nr_partial, before + 3);
  for (unsigned k = 0; k < 3; ++k) {
    page* pg = HeadPageOf(sys.pages(), v[k * per_slab]);
    EXPECT_NE(Remote(pg).load() & kFrozen, 0u);
    EXPECT_EQ(Owner(pg), cpu + 1);
    EXPECT_EQ(pg->inuse, per_slab - 1);
    EXPECT_EQ(pg->freelist, v[k * per_slab]);
  }
  EXPECT_TRUE(sys.CheckInvariants());
  // Further frees into them, one per slab, wait in the local sheaf too (own
  // slabs: the next allocations take them back without a slab switch)...
  for (unsigned k = 0; k < 3; ++k) sys.Free(s, v[k * per_slab + 1]);
  EXPECT_EQ(S::SheafObjects(c), 3u);
  EXPECT_EQ(HeadPageOf(sys.pages(), v[1])->inuse, per_slab - 1);
  EXPECT_TRUE(sys.CheckInvariants());
  // ... and a flush returns them to their slabs with plain pushes.
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(HeadPageOf(sys.pages(), v[1])->inuse, per_slab - 2);
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned k = 0; k < 3; ++k) {
    for (unsigned i = 2; i < per_slab; ++i) sys.Free(s, v[k * per_slab + i]);
  }
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TEST(SlubLockFree, PartialSlabFreeUpdatesThePackedWordAndDiscardsEmpties) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("lf_partial", 128, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  SlubCache* sc = S::CacheOf(s);
  const unsigned per_slab = s->objects;
  const unsigned nslabs = sc->min_partial + sc->cpu_partial_slabs + 8;
  std::vector<void*> v = AllocOnOtherThread(sys, s, static_cast<int>(per_slab * nslabs));
  // Make every slab partial on the node: a second thread frees one object of
  // each (freezing them onto its partial list, over quota they are unfrozen to
  // the node), then exits (its remaining slabs are unfrozen by cpu-dead). The
  // frees wait in sheaves, and cpu-dead leaves the barn's full ones alone: the
  // thread flushes them itself before it exits.
  std::thread([&] {
    for (unsigned k = 0; k < nslabs; ++k) sys.Free(s, v[k * per_slab]);
    sys.slub().FlushSheaves(s, platform::FastCpuId());
  }).join();
  SlubNode& n = sc->node[0];
  EXPECT_EQ(n.nr_partial, nslabs);
  EXPECT_TRUE(sys.CheckInvariants());
  // A free into a node-partial slab from here: one CAS of the packed word.
  page* pg = HeadPageOf(sys.pages(), v[1]);
  EXPECT_EQ(Remote(pg).load() & kFrozen, 0u);
  EXPECT_EQ(sys.slub().SlabInuse(s, pg), per_slab - 1);
  const unsigned cpu = platform::FastCpuId();
  sys.Free(s, v[1]);
  EXPECT_EQ(sys.slub().SlabInuse(s, pg), per_slab - 1);  // buffered
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(sys.slub().SlabInuse(s, pg), per_slab - 2);
  EXPECT_EQ(sys.slub().SlabFreelist(s, pg), v[1]);
  EXPECT_EQ(S::GetFreePointer(s, v[1]), v[0]);
  EXPECT_EQ(Owner(pg), 0u);
  EXPECT_EQ(pg->freelist, nullptr);  // page fields unused while unfrozen
  EXPECT_TRUE(sys.CheckInvariants());
  // Empty every slab: an emptied slab is discarded while the node's partial
  // list (itself included) holds min_partial, as Linux's __slab_free: the node
  // keeps min_partial - 1 empty slabs, the rest go back.
  const unsigned long slabs_before = n.nr_slabs.load();
  for (unsigned k = 0; k < nslabs; ++k) {
    for (unsigned i = (k == 0 ? 2 : 1); i < per_slab; ++i) sys.Free(s, v[k * per_slab + i]);
  }
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(n.nr_partial, sc->min_partial - 1);
  EXPECT_EQ(n.nr_slabs.load(), sc->min_partial - 1);
  EXPECT_LT(n.nr_slabs.load(), slabs_before);
  EXPECT_TRUE(sys.CheckInvariants());
  // A free into an empty unfrozen slab is a double free: reported, no change.
  page* kept;
  {
    SpinLockGuard guard(n.lock);
    ASSERT_FALSE(n.partial.empty());
    kept = internal::LruEntry(n.partial.first());
  }
  void* obj = sys.slub().SlabFreelist(s, kept);
  {
    LogCapture log;
    sys.Free(s, obj);
    EXPECT_EQ(S::SheafObjects(S::CpuOf(s, cpu)), 0u);  // caught before the sheaf
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(sys.slub().SlabInuse(s, kept), 0u);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TEST(SlubLockFree, ExhaustedSlabsParkAndComeBack) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("park", 256, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const unsigned per_slab = s->objects;
  const unsigned cpu = platform::FastCpuId();
  SlubCpu* c = S::CpuOf(s, cpu);
  SlubNode& n = S::CacheOf(s)->node[0];
  std::vector<void*> v;
  for (unsigned i = 0; i < per_slab * 3 + 1; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  // Three slabs ran out: parked, still frozen to this cpu, no atomic taken.
  EXPECT_EQ(c->nr_parked, 3u);
  page* p0 = HeadPageOf(sys.pages(), v[0]);
  EXPECT_EQ(Owner(p0), cpu + 1);
  EXPECT_EQ(Remote(p0).load(), kFrozen);
  EXPECT_TRUE(sys.CheckInvariants());
  // An own free into a parked slab goes to the local sheaf: the slab is not
  // touched (still parked, full)...
  sys.Free(s, v[0]);
  EXPECT_EQ(S::SheafObjects(c), 1u);
  EXPECT_EQ(c->nr_parked, 3u);
  EXPECT_EQ(p0->inuse, per_slab);
  EXPECT_TRUE(sys.CheckInvariants());
  // ... until the sheaf is flushed: a plain push, the slab moves to the partial list.
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(c->nr_parked, 2u);
  EXPECT_EQ(c->nr_partial, 1u);
  EXPECT_EQ(p0->inuse, per_slab - 1);
  EXPECT_TRUE(sys.CheckInvariants());
  // Another cpu frees every object of the second parked slab: its remote stack,
  // and the owner's remote_pending hint.
  c->remote_pending.store(0);
  std::thread([&] {
    for (unsigned i = per_slab; i < 2 * per_slab; ++i) sys.Free(s, v[i]);
  }).join();
  EXPECT_NE(c->remote_pending.load(), 0u);
  page* p1 = HeadPageOf(sys.pages(), v[per_slab]);
  EXPECT_NE(Remote(p1).load(), kFrozen);
  EXPECT_TRUE(sys.CheckInvariants());
  // The owner uses up its active and partial slabs, then collects the parked
  // slab with remote frees instead of taking a new one.
  const unsigned long slabs = n.nr_slabs.load();
  std::vector<void*> w;
  // Active: per_slab - 1 free; partial: 1; the collected slab: per_slab.
  for (unsigned i = 0; i < 2 * per_slab; ++i) w.push_back(sys.Alloc(s, GFP_KERNEL));
  EXPECT_EQ(n.nr_slabs.load(), slabs);
  EXPECT_EQ(c->remote_pending.load(), 0u);
  std::set<void*> got(w.begin(), w.end());
  for (unsigned i = per_slab; i < 2 * per_slab; ++i) EXPECT_EQ(got.count(v[i]), 1u) << i;
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned i = 1; i < per_slab; ++i) sys.Free(s, v[i]);
  for (unsigned i = 2 * per_slab; i < v.size(); ++i) sys.Free(s, v[i]);
  for (void* p : w) sys.Free(s, p);
  EXPECT_TRUE(sys.CheckInvariants());
  // Shrink flushes this cpu (parked slabs included): nothing is left.
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(c->nr_parked, 0u);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TEST(SlubLockFree, ConsecutiveFreesIntoOnePartialSlabSkipThePageLookup) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("lastfree", 64, 0, 0, nullptr);
  const unsigned per_slab = s->objects;
  SlubCpu* c = S::CpuOf(s, platform::FastCpuId());
  std::vector<void*> v;
  for (unsigned i = 0; i < 3 * per_slab; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  page* p0 = HeadPageOf(sys.pages(), v[0]);
  sys.Free(s, v[0]);  // parked p0: into the sheaf, not remembered
  EXPECT_EQ(c->free_page, nullptr);
  sys.slub().FlushSheaves(s, platform::FastCpuId());  // p0 unparked: partial
  EXPECT_EQ(p0->inuse, per_slab - 1);
  sys.Free(s, v[1]);  // partial p0: into the sheaf; remembered
  EXPECT_EQ(c->free_page, p0);
  EXPECT_EQ(c->free_bytes, 0u);
  EXPECT_EQ(S::SheafObjects(c), 1u);
  sys.Free(s, v[2]);  // second in a row: a plain push, bounds cached
  EXPECT_EQ(c->free_bytes, per_slab * s->size);
  EXPECT_EQ(S::SheafObjects(c), 1u);
  EXPECT_EQ(p0->inuse, per_slab - 2);
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned i = 3; i < per_slab; ++i) sys.Free(s, v[i]);  // plain pushes
  EXPECT_EQ(S::SheafObjects(c), 1u);
  EXPECT_EQ(p0->inuse, 1u);  // v[1] waits in the sheaf
  sys.slub().FlushSheaves(s, platform::FastCpuId());
  EXPECT_EQ(p0->inuse, 0u);
  EXPECT_EQ(Slub<BuddyAllocator>::GetFreePointer(s, v[per_slab - 1]), v[per_slab - 2]);
  EXPECT_TRUE(sys.CheckInvariants());
  // Allocating activates p0 (the oldest partial slab) after the active one: the cache is dropped.
  std::vector<void*> w;
  for (unsigned i = 0; i < per_slab + 1; ++i) w.push_back(sys.Alloc(s, GFP_KERNEL));
  EXPECT_EQ(c->free_page, nullptr);
  EXPECT_TRUE(sys.CheckInvariants());
  for (void* p : w) sys.Free(s, p);
  for (unsigned i = per_slab; i < v.size(); ++i) sys.Free(s, v[i]);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// Random frees into the cpu's own full (parked) slabs wait in the local sheaf
// and are handed out again by the next allocations, newest first, with no
// slab switch; a full sheaf lets the next own free go straight to its slab;
// a double free of a sheaved object is reported and changes nothing.
// Run through kmem_cache_free and through kfree (whose inline path,
// FreeToCpuSheaf, must keep the same decisions and the double-free report).
void OwnFreesThroughTheSheaf(bool via_kfree) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("ownsheaf", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  auto free_obj = [&](void* p) {
    if (via_kfree) {
      sys.Kfree(p);
    } else {
      sys.Free(s, p);
    }
  };
  const unsigned per_slab = s->objects;
  const unsigned cap = S::CacheOf(s)->sheaf_cap;
  ASSERT_GE(cap, 4u);
  SlubCpu* c = S::CpuOf(s, platform::FastCpuId());
  const unsigned nslabs = cap + 2;
  std::vector<void*> v;
  for (unsigned i = 0; i < per_slab * nslabs; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  // Take the active slab's last object too, so that the next allocation must
  // find its object elsewhere.
  while (c->freelist != nullptr) v.push_back(sys.Alloc(s, GFP_KERNEL));
  page* active = c->slab;
  const unsigned parked = c->nr_parked;
  ASSERT_GE(parked, nslabs - 1);
  // One object of each of three parked slabs: the slabs stay parked and full.
  void* freed[3] = {v[0], v[per_slab], v[2 * per_slab]};
  free_obj(freed[0]);
  {
    LogCapture log;
    free_obj(freed[0]);  // the only entry (the check meets a guard slot too)
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(S::SheafObjects(c), 1u);
  free_obj(freed[1]);
  free_obj(freed[2]);
  EXPECT_EQ(S::SheafObjects(c), 3u);
  EXPECT_EQ(c->nr_parked, parked);
  EXPECT_EQ(c->nr_partial, 0u);
  EXPECT_EQ(HeadPageOf(sys.pages(), v[0])->inuse, per_slab);
  EXPECT_TRUE(sys.CheckInvariants());
  {
    LogCapture log;
    free_obj(v[per_slab]);  // the newest but one again
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(S::SheafObjects(c), 3u);
  // The allocations pop the sheaf, newest first; the active slab stays.
  EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), freed[2]);
  EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), freed[1]);
  EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), freed[0]);
  EXPECT_EQ(c->slab, active);
  EXPECT_EQ(c->nr_parked, parked);
  EXPECT_TRUE(sys.CheckInvariants());
  // Fill the sheaf with one object from each of `cap` slabs; the next own free
  // finds it full and, the cpu allocating from its sheaf (detached, see
  // slub.h), trades it at the barn for an empty one: no slab changes.
  EXPECT_EQ(c->slab_bytes, 0u);
  for (unsigned k = 0; k < cap; ++k) free_obj(v[k * per_slab + 1]);
  EXPECT_EQ(S::SheafObjects(c), cap);
  const Sheaf* full = c->sheaf;
  page* last = HeadPageOf(sys.pages(), v[cap * per_slab + 1]);
  free_obj(v[cap * per_slab + 1]);
  EXPECT_NE(c->sheaf, full);
  EXPECT_EQ(S::SheafObjects(c), 1u);
  EXPECT_EQ(last->inuse, per_slab);
  EXPECT_EQ(c->nr_partial, 0u);
  EXPECT_EQ(c->nr_parked, parked);
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned k = 0; k < 3; ++k) v[k * per_slab] = nullptr;  // handed out again above
  for (unsigned k = 0; k <= cap; ++k) v[k * per_slab + 1] = nullptr;
  for (void* p : v) free_obj(p);
  for (void* p : freed) free_obj(p);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}
TEST(SlubLockFree, OwnFreesComeBackThroughTheSheafWithoutASlabSwitch) { OwnFreesThroughTheSheaf(false); }
TEST(SlubLockFree, OwnKfreesComeBackThroughTheSheafWithoutASlabSwitch) { OwnFreesThroughTheSheaf(true); }

// A producer whose objects are all freed by another thread keeps reusing its
// own slabs (parked, then collected): the slab count stays bounded.
TEST(SlubLockFree, ProducerReusesParkedSlabsFreedRemotely) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("park_pc", 64, 0, 0, nullptr);
  SlubNode& n = S::CacheOf(s)->node[0];
  std::atomic<void*> box[256];
  for (auto& b : box) b.store(nullptr);
  std::atomic<bool> done{false};
  unsigned long max_slabs = 0;
  std::thread consumer([&] {
    for (;;) {
      bool any = false;
      for (auto& b : box) {
        if (void* p = b.exchange(nullptr, std::memory_order_acq_rel)) {
          sys.Free(s, p);
          any = true;
        }
      }
      if (!any && done.load(std::memory_order_acquire)) break;
      if (!any) std::this_thread::yield();
    }
  });
  std::thread producer([&] {
    for (int i = 0; i < 100000 * kIters / 4; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      ASSERT_NE(p, nullptr);
      auto& b = box[i % 256];
      void* expected = nullptr;
      while (!b.compare_exchange_weak(expected, p, std::memory_order_acq_rel)) {
        expected = nullptr;
        std::this_thread::yield();
      }
      if (i % 1024 == 0) max_slabs = std::max(max_slabs, n.nr_slabs.load());
    }
    done.store(true, std::memory_order_release);
  });
  producer.join();
  consumer.join();
  // At most 256 objects are live at once (4 slabs of 64): allow generous slack
  // for the hint's lag, far below the 1500+ slabs a leak would take.
  EXPECT_LT(max_slabs, 200u);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// Remote frees racing with the owner: one thread allocates and frees its own
// objects (its frees of other slabs freeze them; its refills freeze node-partial
// slabs with an exchange), while two others free objects it handed them into
// whatever state the slabs are in (frozen: remote stack; unfrozen: the packed
// word; emptying: under the node lock). Each object carries its index, so a
// double hand-out or a lost object shows.
TEST(SlubLockFree, RemoteFreesRaceWithTheOwner) {
  for (unsigned size : {32u, 256u, 1024u}) {
    testing::SlabEnv env(AllocatorKind::kSlub, 128 << 20);
    SlabSystem& sys = env.sys();
    kmem_cache* s = sys.CreateCache("lf_race", size, 0, 0, nullptr);
    ASSERT_NE(s, nullptr);
    constexpr int kFreers = 2;
    constexpr size_t kRing = 4096;
    const size_t total = 200000 * kIters / 4;
    std::vector<std::atomic<uint64_t*>> ring[kFreers];
    for (auto& r : ring) {
      r = std::vector<std::atomic<uint64_t*>>(kRing);
      for (auto& slot : r) slot.store(nullptr);
    }
    std::atomic<bool> failed{false};
    std::thread owner([&] {
      std::mt19937 rng(size);
      std::vector<uint64_t*> mine;
      size_t sent[kFreers] = {};
      for (size_t i = 0; i < total; ++i) {
        auto* p = static_cast<uint64_t*>(sys.Alloc(s, GFP_KERNEL));
        if (p == nullptr) {
          failed = true;
          break;
        }
        if (p[1] == 0xfeedfacefeedfaceull) failed = true;  // handed out while live
        p[0] = i;
        p[1] = 0xfeedfacefeedfaceull;
        const unsigned r = rng() % 4;
        if (r < kFreers) {  // hand over: freed remotely
          auto& slot = ring[r][sent[r]++ % kRing];
          while (slot.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
          slot.store(p, std::memory_order_release);
        } else {
          mine.push_back(p);
          if (mine.size() > 3000 || (rng() % 3 == 0 && !mine.empty())) {
            size_t k = rng() % mine.size();
            mine[k][1] = 0;
            sys.Free(s, mine[k]);
            mine[k] = mine.back();
            mine.pop_back();
          }
        }
      }
      for (uint64_t* p : mine) {
        p[1] = 0;
        sys.Free(s, p);
      }
      for (int f = 0; f < kFreers; ++f) {  // end markers
        auto& slot = ring[f][sent[f] % kRing];
        while (slot.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
        slot.store(reinterpret_cast<uint64_t*>(1), std::memory_order_release);
      }
    });
    std::vector<std::thread> freers;
    for (int f = 0; f < kFreers; ++f) {
      freers.emplace_back([&, f] {
        for (size_t k = 0;; ++k) {
          auto& slot = ring[f][k % kRing];
          uint64_t* p;
          while ((p = slot.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
          slot.store(nullptr, std::memory_order_release);
          if (p == reinterpret_cast<uint64_t*>(1)) break;
          if (p[1] != 0xfeedfacefeedfaceull) failed = true;
          p[1] = 0;
          if (k % 2) {
            sys.Kfree(p);
          } else {
            sys.Free(s, p);
          }
        }
      });
    }
    owner.join();
    for (auto& t : freers) t.join();
    EXPECT_FALSE(failed.load()) << "size " << size;
    EXPECT_TRUE(sys.CheckInvariants());
    EXPECT_EQ(sys.Shrink(s), 0) << "size " << size;
    EXPECT_EQ(sys.DestroyCache(s), 0);
  }
}

// Many threads free each other's objects of one cache at random (every slab
// state and transition: full -> frozen by a freer, partial -> empty under the
// lock, discard, refill by exchange); at the end nothing is lost.
TEST(SlubLockFree, CrossFreesKeepEveryObject) {
  testing::SlabEnv env(AllocatorKind::kSlub, 128 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("lf_cross", 96, 0, 0, nullptr);
  const uint64_t free_before = env.FreePages();
  constexpr int kThreads = 4;
  constexpr size_t kSlots = 8192;
  std::vector<std::atomic<void*>> table(kSlots);
  for (auto& t : table) t.store(nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t + 7);
      for (int i = 0; i < 60000 * kIters / 4; ++i) {
        void* p = sys.Alloc(s, GFP_KERNEL);
        ASSERT_NE(p, nullptr);
        memset(p, t, 96);
        void* old = table[rng() % kSlots].exchange(p, std::memory_order_acq_rel);
        if (old != nullptr) sys.Free(s, old);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(sys.CheckInvariants());
  std::set<void*> live;
  for (auto& t : table) {
    void* p = t.exchange(nullptr);
    if (p != nullptr) {
      EXPECT_TRUE(live.insert(p).second);
    }
  }
  for (void* p : live) sys.Free(s, p);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), free_before);
}

// ---- The remote-free buffer ----

// Runs fn on a thread that stays alive (its cpu slot and slabs stay its own)
// until the returned object is destroyed.
class LiveThread {
 public:
  template <typename F>
  explicit LiveThread(F fn) {
    th_ = std::thread([this, fn] {
      fn();
      ready_.store(true);
      while (!stop_.load()) std::this_thread::yield();
    });
    while (!ready_.load()) std::this_thread::yield();
  }
  ~LiveThread() {
    stop_.store(true);
    th_.join();
  }

 private:
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::thread th_;
};

TEST(SlubRemoteBuffer, RemoteFreesAreBufferedAndComeBackOnFlush) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("rb_flush", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t free_before = env.FreePages();
  std::vector<void*> v;
  {
    LiveThread owner([&] {
      for (int i = 0; i < 10; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
    });
    for (void* p : v) ASSERT_NE(p, nullptr);
    page* pg = HeadPageOf(sys.pages(), v[0]);
    ASSERT_EQ(pg, HeadPageOf(sys.pages(), v[9]));  // the owner's active slab
    const unsigned cpu = platform::FastCpuId();
    SlubCpu* c = S::CpuOf(s, cpu);
    for (void* p : v) sys.Free(s, p);
    // In this cpu's remote sheaf, the owner's slab untouched (no remote stack yet).
    EXPECT_EQ(S::SheafObjects(c), 10u);
    ASSERT_NE(c->rsheaf, nullptr);
    EXPECT_EQ(c->rsheaf->objs()[9], v[9]);
    EXPECT_EQ(Remote(pg).load(), kFrozen);
    SlabInfo info;
    sys.slub().GetSlabinfo(s, &info);
    EXPECT_GE(info.active_objs, 10u);  // buffered objects count as active
    EXPECT_TRUE(sys.CheckInvariants());
    // Shrink flushes this cpu: one CAS puts all ten on the remote stack.
    sys.Shrink(s);
    EXPECT_EQ(S::SheafObjects(c), 0u);
    unsigned stacked = 0;
    for (void* p = reinterpret_cast<void*>(Remote(pg).load() & ~kFrozen); p != nullptr;
         p = S::GetFreePointer(s, p)) {
      ++stacked;
    }
    EXPECT_EQ(stacked, 10u);
    EXPECT_TRUE(sys.CheckInvariants());
  }
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), free_before);
}

// kmem_cache_destroy flushes every cpu's buffer, including a live thread's.
TEST(SlubRemoteBuffer, DestroySeesBufferedObjectsFreed) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("rb_destroy", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 20; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  unsigned buffered = 0;
  LiveThread freer([&] {
    for (void* p : v) sys.Free(s, p);
    buffered = S::SheafObjects(S::CpuOf(s, platform::FastCpuId()));
  });
  EXPECT_EQ(buffered, 20u);
  LogCapture log;
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_FALSE(log.Contains("Objects remaining")) << log.text();
}

TEST(SlubRemoteBuffer, DuplicateRemoteFreeIsReportedAndDropped) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("rb_dup", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  std::vector<void*> v;
  LiveThread owner([&] {
    for (int i = 0; i < 4; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  });
  const unsigned cpu = platform::FastCpuId();
  SlubCpu* c = S::CpuOf(s, cpu);
  page* pg = HeadPageOf(sys.pages(), v[0]);
  {
    // The same object twice in a row: caught at the push.
    LogCapture log;
    sys.Free(s, v[0]);
    sys.Free(s, v[0]);
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
    EXPECT_EQ(S::SheafObjects(c), 1u);
  }
  {
    // X, Y, Z, X: beyond the two newest entries the push compares with; the
    // flush finds the repeat and returns the object once.
    LogCapture log;
    sys.Free(s, v[1]);
    sys.Free(s, v[2]);
    sys.Free(s, v[0]);
    EXPECT_EQ(S::SheafObjects(c), 4u);
    EXPECT_FALSE(sys.CheckInvariants());  // (S8): an entry twice
    sys.slub().FlushSheaves(s, cpu);
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(S::SheafObjects(c), 0u);
  // The slab's remote stack holds v[0], v[1] and v[2] once each (one CAS).
  std::set<void*> stacked;
  unsigned len = 0;
  for (void* p = reinterpret_cast<void*>(Remote(pg).load() & ~kFrozen); p != nullptr && len < 100;
       p = S::GetFreePointer(s, p), ++len) {
    stacked.insert(p);
  }
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(stacked, (std::set<void*>{v[0], v[1], v[2]}));
  EXPECT_TRUE(sys.CheckInvariants());
  sys.Free(s, v[3]);
  sys.Shrink(s);
  EXPECT_TRUE(sys.CheckInvariants());
}

// Producer/consumer on two threads (run under TSan): every object the
// consumer frees goes through its buffer; nothing is lost.
TEST(SlubRemoteBuffer, ProducerConsumerStress) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("rb_pc", 128, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t free_before = env.FreePages();
  constexpr size_t kRing = 1024;
  const int n = 50000 * kIters;
  std::vector<std::atomic<void*>> ring(kRing);
  for (auto& r : ring) r.store(nullptr);
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      if (p == nullptr) {
        failed.store(true);
        return;
      }
      memset(p, 0x5a, 128);
      std::atomic<void*>& slot = ring[static_cast<size_t>(i) % kRing];
      while (slot.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
      slot.store(p, std::memory_order_release);
    }
  });
  std::thread consumer([&] {
    for (int i = 0; i < n; ++i) {
      std::atomic<void*>& slot = ring[static_cast<size_t>(i) % kRing];
      void* p;
      while ((p = slot.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
      slot.store(nullptr, std::memory_order_release);
      if (static_cast<unsigned char*>(p)[127] != 0x5a) failed.store(true);
      sys.Free(s, p);
    }
  });
  producer.join();
  consumer.join();
  EXPECT_FALSE(failed.load());
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_EQ(env.FreePages(), free_before);
}


// ---- Sheaves and the barn ----

// A consumer's frees of a producer's objects go into its remote sheaf with no
// write to the objects; full sheaves reach the barn, and a cpu whose sheaf is
// empty takes them from there. The freeing cpu itself never allocates them
// (no passive false sharing).
TEST(SlubSheaves, RemoteFreesReachAnotherCpuThroughTheBarnUntouched) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_barn", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  SlubCache* sc = S::CacheOf(s);
  ASSERT_EQ(sc->sheaf_cap, kSheafMax);
  const unsigned cap = sc->sheaf_cap;
  std::vector<void*> v;
  LiveThread owner([&] {
    for (unsigned i = 0; i < 4 * cap; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      *static_cast<uint64_t*>(p) = 0x1111000000000000ull + i;
      v.push_back(p);
    }
  });
  SlubCpu* c = S::CpuOf(s, platform::FastCpuId());
  for (unsigned i = 0; i < 10; ++i) sys.Free(s, v[i]);
  EXPECT_EQ(S::SheafObjects(c), 10u);
  // This cpu's own allocation is not one of them.
  void* mine = sys.Alloc(s, GFP_KERNEL);
  for (unsigned i = 0; i < 10; ++i) EXPECT_NE(mine, v[i]);
  for (unsigned i = 10; i < v.size(); ++i) sys.Free(s, v[i]);
  SlubBarn& b = sc->barn[0];
  EXPECT_EQ(S::BarnFullSheaves(b), 3u);  // the fourth is still this cpu's (full) remote sheaf
  EXPECT_TRUE(sys.CheckInvariants());
  SlabInfo info;
  sys.slub().GetSlabinfo(s, &info);
  EXPECT_GE(info.active_objs, v.size() + 1);  // sheaf objects count as active
  // The objects were not written (the free pointer is at offset 0).
  for (unsigned i = 0; i < v.size(); ++i) {
    EXPECT_EQ(*static_cast<uint64_t*>(v[i]), 0x1111000000000000ull + i);
  }
  // A fresh cpu takes the full sheaves.
  std::set<void*> freed(v.begin(), v.end());
  std::thread([&] {
    std::vector<void*> got;
    for (unsigned i = 0; i < 3 * cap; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      EXPECT_EQ(freed.count(p), 1u) << i;
      EXPECT_EQ(*static_cast<uint64_t*>(p) >> 48, 0x1111u);  // as the owner wrote it
      got.push_back(p);
    }
    EXPECT_EQ(S::BarnFullSheaves(b), 0u);
    // Objects of the owner's slabs: into this cpu's remote sheaf.
    for (void* p : got) sys.Free(s, p);
  }).join();  // cpu dead: its sheaves go back to the slabs
  EXPECT_TRUE(sys.CheckInvariants());
  sys.Free(s, mine);
  EXPECT_EQ(sys.Shrink(s), 1);  // the owner still holds its active slab
  EXPECT_EQ(S::BarnFullSheaves(b), 0u);
  EXPECT_EQ(S::SheafObjects(c), 0u);
  EXPECT_TRUE(sys.CheckInvariants());
}

// kmem_cache_free of another cpu's objects, slab by slab: the first free into
// a slab looks at its struct page and makes it the remote run; the next ones
// into it go straight into the remote sheaf, without reading the page (here:
// a page whose slab_cache was overwritten, which the page lookup would report
// as a free to the wrong cache). The run ends when the sheaf is handed over
// or flushed; a repeat of the newest entry is still caught at the push.
TEST(SlubSheaves, RemoteRunsSkipThePageLookup) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_run", 64, 0, 0, nullptr);
  kmem_cache* other = sys.CreateCache("sh_run_other", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  ASSERT_NE(other, nullptr);
  const unsigned cap = S::CacheOf(s)->sheaf_cap;
  ASSERT_EQ(cap, kSheafMax);
  std::vector<void*> v;
  LiveThread owner([&] {
    for (unsigned i = 0; i < 2 * cap; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  });
  page* pg = HeadPageOf(sys.pages(), v[0]);
  ASSERT_EQ(pg, HeadPageOf(sys.pages(), v[cap - 1]));  // one slab (64 objects)
  const unsigned cpu = platform::FastCpuId();
  SlubCpu* c = S::CpuOf(s, cpu);
  EXPECT_EQ(c->rrun_bytes, 0u);
  sys.Free(s, v[0]);
  EXPECT_EQ(c->rrun_start, sys.slub().SlabBase(pg));
  EXPECT_EQ(c->rrun_bytes, pg->objects * s->size);
  EXPECT_TRUE(sys.CheckInvariants());
  {
    LogCapture log;
    kmem_cache* saved = pg->slab_cache;
    pg->slab_cache = other;  // what a page lookup would see
    for (unsigned i = 1; i < 5; ++i) sys.Free(s, v[i]);
    pg->slab_cache = saved;
    EXPECT_FALSE(log.Contains("Wrong slab cache")) << log.text();
  }
  EXPECT_EQ(S::SheafObjects(c), 5u);
  EXPECT_EQ(c->rsheaf->objs()[4], v[4]);
  {
    LogCapture log;
    sys.Free(s, v[4]);  // the newest entry again
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(S::SheafObjects(c), 5u);
  EXPECT_TRUE(sys.CheckInvariants());
  // A run that fills the sheaf: the hand-over (still no page lookup) puts
  // the sheaf in the barn, and the run goes on in the new sheaf.
  ASSERT_EQ(HeadPageOf(sys.pages(), v[cap]), pg);
  {
    LogCapture log;
    kmem_cache* saved = pg->slab_cache;
    pg->slab_cache = other;
    for (unsigned i = 5; i <= cap; ++i) sys.Free(s, v[i]);
    pg->slab_cache = saved;
    EXPECT_FALSE(log.Contains("Wrong slab cache")) << log.text();
  }
  EXPECT_EQ(S::BarnFullSheaves(S::CacheOf(s)->barn[0]), 1u);
  EXPECT_EQ(c->rsheaf->size, 1u);
  EXPECT_EQ(c->rsheaf->objs()[0], v[cap]);
  EXPECT_EQ(c->rrun_start, sys.slub().SlabBase(pg));
  EXPECT_TRUE(sys.CheckInvariants());
  {
    LogCapture log;
    sys.Free(s, v[cap]);  // the newest entry of the new sheaf again
    EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
  }
  EXPECT_EQ(c->rsheaf->size, 1u);
  // (S9) a run without an object of its slab in the remote sheaf is caught.
  const uintptr_t saved_start = c->rrun_start;
  c->rrun_start = sys.slub().SlabBase(HeadPageOf(sys.pages(), v[cap])) + (uintptr_t{1} << 30);
  {
    LogCapture log;
    EXPECT_FALSE(sys.CheckInvariants());
    EXPECT_TRUE(log.Contains("remote run")) << log.text();
  }
  c->rrun_start = saved_start;
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned i = cap + 1; i < v.size(); ++i) sys.Free(s, v[i]);
  sys.slub().FlushSheaves(s, cpu);
  EXPECT_EQ(c->rrun_bytes, 0u);
  EXPECT_EQ(c->rrun_start, 0u);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(other), 0);
}

// A cpu that goes away (its thread exits) flushes its own sheaves but leaves
// the barn's full sheaves to the node (Linux's slub_cpu_dead) while another
// cpu still holds a sheaf: the next cpu whose sheaf runs dry allocates exactly
// those objects. The last cpu out drains the barn.
TEST(SlubSheaves, CpuDeadLeavesTheBarnToTheNextCpu) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_dead", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  SlubCache* sc = S::CacheOf(s);
  const unsigned cap = sc->sheaf_cap;
  std::vector<void*> v;
  LiveThread owner([&] {
    // The owner's free of its first object (a parked slab of its own) goes
    // into its local sheaf: a live cpu holds a sheaf from here on.
    void* first = sys.Alloc(s, GFP_KERNEL);
    for (unsigned i = 0; i < 4 * cap; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
    sys.Free(s, first);
    EXPECT_EQ(S::SheafObjects(S::CpuOf(s, platform::FastCpuId())), 1u);
  });
  std::thread([&] {
    for (void* p : v) sys.Free(s, p);  // three full sheaves to the barn, the fourth held
    EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 3u);
  }).join();  // cpu dead
  EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 3u);
  EXPECT_TRUE(sys.CheckInvariants());
  std::set<void*> barn(v.begin(), v.begin() + 3 * cap);
  std::vector<void*> got;
  std::thread([&] {
    for (unsigned i = 0; i < 3 * cap; ++i) {
      void* p = sys.Alloc(s, GFP_KERNEL);
      EXPECT_EQ(barn.count(p), 1u) << i;
      got.push_back(p);
    }
    EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 0u);
    for (void* p : got) sys.Free(s, p);
  }).join();
  EXPECT_EQ(std::set<void*>(got.begin(), got.end()).size(), got.size());
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// The last cpu holding a sheaf of a cache drains the barn when it goes away:
// the objects are back in their slabs and the container pages are returned.
TEST(SlubSheaves, LastCpuOutDrainsTheBarn) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_last", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  SlubCache* sc = S::CacheOf(s);
  const unsigned cap = sc->sheaf_cap;
  std::vector<void*> v;
  LiveThread owner([&] {
    for (unsigned i = 0; i < 4 * cap; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  });
  std::thread([&] {
    for (void* p : v) sys.Free(s, p);
    EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 3u);
  }).join();  // no other cpu holds a sheaf
  EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 0u);
  EXPECT_EQ(sc->barn[0].nr_sheaves, 0u);  // container pages returned
  // Every object is on the remote stack of its (the owner's frozen) slab.
  std::set<page*> slabs;
  for (void* p : v) slabs.insert(HeadPageOf(sys.pages(), p));
  size_t stacked = 0;
  for (page* pg : slabs) {
    for (void* p = reinterpret_cast<void*>(Remote(pg).load() & ~kFrozen); p != nullptr && stacked <= v.size();
         p = S::GetFreePointer(s, p)) {
      ++stacked;
    }
  }
  EXPECT_EQ(stacked, v.size());
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// kmem_cache_shrink returns the objects of this cpu's sheaves and of the barn,
// and the container pages once no cpu holds a sheaf; destroy leaves nothing.
TEST(SlubSheaves, ShrinkAndDestroyReturnSheavesAndTheirPages) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_shrink", 256, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  SlubCache* sc = S::CacheOf(s);
  ASSERT_GT(sc->sheaf_cap, 0u);
  const uint64_t free_before = env.FreePages();
  // Full unfrozen slabs (their thread is gone): frees into them go into this
  // cpu's local sheaf, and from there to the barn.
  std::vector<void*> v = AllocOnOtherThread(sys, s, static_cast<int>(40 * s->objects));
  for (size_t i = 0; i < v.size(); i += 2) sys.Free(s, v[i]);
  EXPECT_GT(S::BarnFullSheaves(sc->barn[0]), 0u);
  EXPECT_LE(sc->barn[0].nr_full, sc->barn_max);  // and at most one more in the hand-over slot
  EXPECT_TRUE(sys.CheckInvariants());
  for (size_t i = 1; i < v.size(); i += 2) sys.Free(s, v[i]);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(S::BarnFullSheaves(sc->barn[0]), 0u);
  EXPECT_EQ(sc->barn[0].nr_sheaves, 0u);  // container pages returned
  EXPECT_EQ(env.FreePages(), free_before);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// kfree of an object whose slab is frozen to another cpu goes into the freeing
// cpu's local sheaf while that has room (as Linux's sheaves take any object),
// then into its remote sheaf on kfree's inline path (PushRemoteSheaf); a
// repeat of one of the two newest entries of either is reported and changes
// nothing.
TEST(SlubSheaves, RemoteKfreeGoesIntoTheLocalThenTheRemoteSheaf) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("rkfree", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 8; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));  // this cpu's active slab
  std::thread t([&] {
    const unsigned cpu = platform::FastCpuId();
    SlubCpu* c = S::CpuOf(s, cpu);
    // This cpu's own slab: fill one (it parks) and free one of its objects.
    std::vector<void*> own;
    for (unsigned i = 0; i <= s->objects; ++i) own.push_back(sys.Alloc(s, GFP_KERNEL));
    sys.Kfree(own[0]);
    ASSERT_NE(c->sheaf, nullptr);
    ASSERT_EQ(c->sheaf->size, 1u);
    const unsigned cap = c->sheaf->cap;
    // Another cpu's objects fill the local sheaf first...
    sys.Kfree(v[0]);
    EXPECT_EQ(c->sheaf->size, 2u);
    {
      LogCapture log;
      sys.Kfree(v[0]);  // ...and a repeat of its newest entry is caught there.
      EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
      EXPECT_EQ(c->sheaf->size, 2u);
    }
    size_t next = 1;
    while (c->sheaf->size < cap) sys.Kfree(own[next++]);
    EXPECT_EQ(c->rsheaf, nullptr);
    // ...then, with the local sheaf full, the remote sheaf.
    for (int i = 1; i < 5; ++i) sys.Kfree(v[i]);
    ASSERT_NE(c->rsheaf, nullptr);
    EXPECT_EQ(c->rsheaf->size, 4u);
    EXPECT_EQ(c->sheaf->size, cap);
    for (int i : {4, 3}) {
      LogCapture log;
      sys.Kfree(v[i]);
      EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
    }
    EXPECT_EQ(c->rsheaf->size, 4u);
    EXPECT_TRUE(sys.CheckInvariants());
    for (size_t i = next; i < own.size(); ++i) sys.Kfree(own[i]);
    sys.slub().FlushSheaves(s, cpu);
  });
  t.join();
  for (int i = 5; i < 8; ++i) sys.Free(s, v[i]);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// Runs body(sys, s, cpu, c) on a thread of its own (a fresh cpu slot) for a
// new 64-byte SLUB cache, with a and b holding two slabs' worth of objects
// allocated there first: a's slab is parked, b's is the active slab, exhausted.
// The body frees what it still holds; then the cpu's sheaves are flushed, the
// invariants must hold and the cache must be destroyable.
template <typename Body>
void WithTwoExhaustedSlabs(const char* name, Body body) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache(name, 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  std::thread t([&] {
    const unsigned cpu = platform::FastCpuId();
    SlubCpu* c = S::CpuOf(s, cpu);
    std::vector<void*> a, b;
    for (unsigned i = 0; i < s->objects; ++i) a.push_back(sys.Alloc(s, GFP_KERNEL));
    for (unsigned i = 0; i < s->objects; ++i) b.push_back(sys.Alloc(s, GFP_KERNEL));
    body(sys, s, cpu, c, a, b);
    sys.slub().FlushSheaves(s, cpu);
    EXPECT_TRUE(sys.CheckInvariants());
  });
  t.join();
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// DETACHED (slub.h): while the cpu allocates from its sheaf, the exhausted
// active slab's own frees join the sheaf instead of the cpu freelist; once the
// sheaf is full, the next own free trades it at the barn for an empty one,
// and when that runs dry the allocation takes the full one back instead of a
// slab. The invariants hold in every state.
TEST(SlubSheaves, AnExhaustedActiveSlabIsDetachedWhileTheSheafServes) {
  WithTwoExhaustedSlabs("detach", [](SlabSystem& sys, kmem_cache* s, unsigned, SlubCpu* c,
                                     std::vector<void*>& a, std::vector<void*>& b) {
    ASSERT_NE(c->slab, nullptr);
    ASSERT_EQ(c->freelist, nullptr);
    const page* active = c->slab;
    ASSERT_NE(c->slab_bytes, 0u);
    for (int i = 0; i < 4; ++i) sys.Kfree(a[i]);  // the parked slab's frees: the sheaf
    ASSERT_NE(c->sheaf, nullptr);
    ASSERT_EQ(c->sheaf->size, 4u);
    const unsigned cap = c->sheaf->cap;
    ASSERT_GE(s->objects, 4 + cap);
    EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), a[3]);  // from the sheaf: detached
    EXPECT_EQ(c->slab, active);
    EXPECT_EQ(c->slab_bytes, 0u);
    EXPECT_TRUE(sys.CheckInvariants());
    sys.Kfree(b[0]);  // the detached slab's own free joins the sheaf
    EXPECT_EQ(c->freelist, nullptr);
    EXPECT_EQ(c->sheaf->size, 4u);
    {
      LogCapture log;
      sys.Kfree(b[0]);  // and a repeat is caught there
      EXPECT_TRUE(log.Contains("already free (double free)")) << log.text();
      EXPECT_EQ(c->sheaf->size, 4u);
    }
    size_t next = 4;
    while (c->sheaf->size < cap) sys.Kfree(a[next++]);
    EXPECT_TRUE(sys.CheckInvariants());
    const Sheaf* full = c->sheaf;
    sys.Kfree(b[1]);  // the sheaf is full: traded at the barn, still detached
    EXPECT_NE(c->sheaf, full);
    EXPECT_EQ(c->sheaf->size, 1u);
    EXPECT_EQ(c->freelist, nullptr);
    EXPECT_EQ(c->slab_bytes, 0u);
    EXPECT_TRUE(sys.CheckInvariants());
    EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), b[1]);
    EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), a[next - 1]);  // the full sheaf, back from the barn
    EXPECT_EQ(c->sheaf, full);
    EXPECT_EQ(c->sheaf->size, cap - 1);
    EXPECT_EQ(c->slab, active);
    EXPECT_TRUE(sys.CheckInvariants());
    sys.Kfree(a[3]);
    sys.Kfree(a[next - 1]);
    for (size_t i = next; i < a.size(); ++i) sys.Kfree(a[i]);
    for (size_t i = 1; i < b.size(); ++i) sys.Kfree(b[i]);
  });
}

// A detached active slab whose remote stack AllocSlow takes (another cpu
// flushed its frees there) is re-attached with that stack as its freelist.
TEST(SlubSheaves, ADetachedSlabTakingItsRemoteFreesIsReattached) {
  WithTwoExhaustedSlabs("detachr", [](SlabSystem& sys, kmem_cache* s, unsigned, SlubCpu* c,
                                      std::vector<void*>& a, std::vector<void*>& b) {
    sys.Kfree(a[0]);
    EXPECT_EQ(sys.Alloc(s, GFP_KERNEL), a[0]);  // from the sheaf: detached, sheaf empty
    ASSERT_EQ(c->slab_bytes, 0u);
    ASSERT_EQ(c->sheaf->size, 0u);
    std::thread remote([&] {  // three frees into the slab, flushed onto its remote stack
      for (int i = 0; i < 3; ++i) sys.Kfree(b[i]);
      sys.slub().FlushSheaves(s, platform::FastCpuId());
    });
    remote.join();
    void* got = sys.Alloc(s, GFP_KERNEL);
    EXPECT_TRUE(got == b[0] || got == b[1] || got == b[2]);
    EXPECT_NE(c->freelist, nullptr);
    EXPECT_EQ(c->slab_bytes, uintptr_t{s->objects} * s->size);
    EXPECT_TRUE(sys.CheckInvariants());
    void* p1 = sys.Alloc(s, GFP_KERNEL);
    void* p2 = sys.Alloc(s, GFP_KERNEL);
    for (void* p : {got, p1, p2}) sys.Kfree(p);
    for (size_t i = 3; i < b.size(); ++i) sys.Kfree(b[i]);
    for (void* p : a) sys.Kfree(p);
  });
}

// CheckCache (S8) catches a sheaf entry that is not an allocated object.
TEST(SlubSheaves, CheckCacheCatchesABadSheafEntry) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_check", 64, 0, 0, nullptr);
  std::vector<void*> v = AllocOnOtherThread(sys, s, static_cast<int>(3 * s->objects));
  sys.Free(s, v[0]);  // a full unfrozen slab: into the local sheaf
  SlubCpu* c = S::CpuOf(s, platform::FastCpuId());
  ASSERT_NE(c->sheaf, nullptr);
  ASSERT_EQ(c->sheaf->size, 1u);
  EXPECT_TRUE(sys.CheckInvariants());
  c->sheaf->objs()[0] = static_cast<char*>(v[0]) + 8;  // not an object boundary
  {
    LogCapture log;
    EXPECT_FALSE(sys.CheckInvariants());
    EXPECT_TRUE(log.Contains("sheaf entry not an object")) << log.text();
  }
  // An object that is free in its slab (flushed there, then put back by hand).
  c->sheaf->objs()[0] = v[0];
  EXPECT_TRUE(sys.CheckInvariants());
  // A guard slot that is not nullptr (the double-free check relies on them).
  c->sheaf->slot[1] = v[1];
  {
    LogCapture log;
    EXPECT_FALSE(sys.CheckInvariants());
    EXPECT_TRUE(log.Contains("sheaf guard slot not nullptr")) << log.text();
  }
  c->sheaf->slot[1] = nullptr;
  EXPECT_TRUE(sys.CheckInvariants());
  sys.slub().FlushSheaves(s, platform::FastCpuId());
  ASSERT_EQ(c->sheaf->size, 0u);
  c->sheaf->objs()[0] = v[0];
  c->sheaf->size = 1;
  {
    LogCapture log;
    EXPECT_FALSE(sys.CheckInvariants());
    EXPECT_TRUE(log.Contains("sheaf entry is free in its slab")) << log.text();
  }
  c->sheaf->size = 0;
  sys.Free(s, v[1]);  // (v[0] is free in its slab already)
  EXPECT_TRUE(sys.CheckInvariants());
  for (unsigned i = 2; i < v.size(); ++i) sys.Free(s, v[i]);
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// Debug caches never use sheaves.
TEST(SlubSheaves, DebugCachesHaveNoSheaves) {
  testing::SlabEnv env(AllocatorKind::kSlub, 64 << 20);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("sh_debug", 64, 0, SLAB_CONSISTENCY_CHECKS, nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(S::CacheOf(s)->sheaf_cap, 0u);
  std::vector<void*> v;
  for (unsigned i = 0; i < 3 * s->objects; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  for (void* p : v) sys.Free(s, p);
  EXPECT_EQ(S::SheafObjects(S::CpuOf(s, platform::FastCpuId())), 0u);
  EXPECT_EQ(S::CacheOf(s)->barn[0].nr_sheaves, 0u);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// ---- The slab map (slab_map.h): kfree's cache lookup without struct page ----

// Every page of a slab, tail pages of a compound slab included, names its
// cache; kfree through the map frees into it; a discarded slab's pages name
// nothing, so a stale kfree falls to struct page and is refused, freeing
// nothing.
TEST_F(SlubTest, SlabMapNamesTheCacheOfEverySlabPage) {
  kmem_cache* s = sys_->CreateCache("map2k", 2048, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  ASSERT_GT(s->order, 0u);  // compound slabs
  const SlabMap& map = sys_->slub().slab_map();
  ASSERT_NE(map.bytes(), 0u);
  EXPECT_TRUE(S::CacheOf(s)->mapped);
  const uint64_t free_before = buddy_->NrFreePages();
  std::vector<void*> v;
  for (unsigned i = 0; i < 4 * s->objects; ++i) v.push_back(sys_->Alloc(s, GFP_KERNEL));
  bool saw_tail = false;
  for (void* p : v) {
    EXPECT_EQ(map.Lookup(p), s);
    EXPECT_EQ(map.Lookup(static_cast<char*>(p) + 2047), s);
    page* pg = buddy_->VirtToPage(p);
    saw_tail |= (pg->flags & PG_tail) != 0;
  }
  EXPECT_TRUE(saw_tail);
  EXPECT_TRUE(sys_->CheckInvariants());
  for (void* p : v) sys_->Kfree(p);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->Shrink(s), 0);
  EXPECT_EQ(buddy_->NrFreePages(), free_before);
  for (void* p : v) EXPECT_EQ(map.Lookup(p), nullptr);
  {
    LogCapture log;
    sys_->Kfree(v[1]);
    EXPECT_TRUE(log.Contains("invalid pointer")) << log.text();
  }
  EXPECT_EQ(buddy_->NrFreePages(), free_before);
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

// Debug caches stay off the map (their kfree takes the checked path), and
// pointers outside RAM miss it.
TEST_F(SlubTest, SlabMapLeavesDebugCachesAndForeignPointersOut) {
  kmem_cache* s = sys_->CreateCache("mapdbg", 64, 0, SLAB_RED_ZONE, nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(S::CacheOf(s)->mapped);
  void* p = sys_->Alloc(s, GFP_KERNEL);
  EXPECT_EQ(sys_->slub().slab_map().Lookup(p), nullptr);
  sys_->Kfree(p);
  {
    LogCapture log;
    sys_->Kfree(p);  // the debug path still catches the double free
    EXPECT_TRUE(log.Contains("double free") || log.Contains("already free")) << log.text();
  }
  int local = 0;
  EXPECT_EQ(sys_->slub().slab_map().Lookup(&local), nullptr);
  // kfree tests nullptr and ZERO_SIZE_PTR only after the map misses.
  EXPECT_EQ(sys_->slub().slab_map().Lookup(nullptr), nullptr);
  EXPECT_EQ(sys_->slub().slab_map().Lookup(ZERO_SIZE_PTR), nullptr);
  {
    LogCapture log;
    sys_->Kfree<true>(nullptr);
    sys_->Kfree<true>(ZERO_SIZE_PTR);
    EXPECT_EQ(log.text(), "");
  }
  EXPECT_TRUE(sys_->CheckInvariants());
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

// Caches come and go far past any fixed number, each is mapped while it
// lives, and a destroyed cache's pages name nothing: a later slab on the same
// pages names its own cache.
TEST_F(SlubTest, SlabMapForgetsADestroyedCache) {
  const uintptr_t kPageMask = ~uintptr_t{kPageSize - 1};
  uintptr_t prev_page = 0;
  unsigned reused = 0;  // slabs built on the page the previous cache had
  for (unsigned i = 0; i < 600; ++i) {
    kmem_cache* s = sys_->CreateCache("mapid", 96, 0, 0, nullptr);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(S::CacheOf(s)->mapped) << i;
    void* p = sys_->Alloc(s, GFP_KERNEL);
    ASSERT_EQ(sys_->slub().slab_map().Lookup(p), s) << i;
    reused += (reinterpret_cast<uintptr_t>(p) & kPageMask) == prev_page;
    sys_->Kfree(p);
    ASSERT_EQ(sys_->DestroyCache(s), 0);
    ASSERT_EQ(sys_->slub().slab_map().Lookup(p), nullptr) << i;
    prev_page = reinterpret_cast<uintptr_t>(p) & kPageMask;
  }
  EXPECT_GT(reused, 0u);
  EXPECT_TRUE(sys_->CheckInvariants());
}

// The map covers only its first pages: a slab past them reads nullptr (kfree
// then takes the struct page path), SlabIs checks the covered pages only, and
// Release gives the map's pages back.
TEST_F(SlubTest, SlabMapCoversOnlyItsFirstPages) {
  kmem_cache* s = sys_->CreateCache("mapcover", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  const uint64_t free_before = buddy_->NrFreePages();
  SlabMap map;
  map.Init(*buddy_, 64);
  ASSERT_EQ(map.bytes(), 64 * kPageSize);
  EXPECT_EQ(buddy_->NrFreePages(), free_before - 1);  // 64 entries: one page
  page* pg = buddy_->mem_map() + 60;  // pages 60..67 straddle the end
  auto addr = [&](int i) { return static_cast<char*>(buddy_->PageAddress(pg)) + i * kPageSize + 8; };
  map.SetSlab(*buddy_, pg, 3, s);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(map.Lookup(addr(i)), s) << i;
  for (int i = 4; i < 8; ++i) EXPECT_EQ(map.Lookup(addr(i)), nullptr) << i;
  EXPECT_TRUE(map.SlabIs(*buddy_, pg, 3, s));
  EXPECT_FALSE(map.SlabIs(*buddy_, pg, 3, nullptr));
  map.SetSlab(*buddy_, pg, 3, nullptr);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(map.Lookup(addr(i)), nullptr) << i;
  EXPECT_TRUE(map.SlabIs(*buddy_, pg, 3, nullptr));
  map.Release(*buddy_);
  EXPECT_EQ(map.bytes(), 0u);
  EXPECT_EQ(map.Lookup(addr(0)), nullptr);
  EXPECT_EQ(buddy_->NrFreePages(), free_before);
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

// CheckCache catches a slab page the map does not name as its cache.
TEST_F(SlubTest, CheckCacheCatchesAWrongSlabMapEntry) {
  kmem_cache* s = sys_->CreateCache("mapbad", 64, 0, 0, nullptr);
  ASSERT_NE(s, nullptr);
  void* p = sys_->Alloc(s, GFP_KERNEL);
  page* pg = buddy_->VirtToPage(p);
  SlabMap& map = const_cast<SlabMap&>(sys_->slub().slab_map());
  map.SetSlab(*buddy_, pg, 0, nullptr);
  {
    LogCapture log;
    EXPECT_FALSE(sys_->CheckInvariants());
    EXPECT_TRUE(log.Contains("slab map does not name this cache")) << log.text();
  }
  map.SetSlab(*buddy_, pg, 0, s);
  EXPECT_TRUE(sys_->CheckInvariants());
  sys_->Kfree(p);
  EXPECT_EQ(sys_->DestroyCache(s), 0);
}

}  // namespace
}  // namespace mm::slub
