// The object-allocator conformance suite: every allocator (a type in
// slab_test_env.h) must pass it. Each test checks the invariants afterwards.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mm/base/errno.h"
#include "test/slab/slab_test_env.h"

namespace mm::testing {
namespace {

template <typename T>
class SlabConformance : public ::testing::Test {
 protected:
  SlabConformance() : env_(T::kKind, 64 << 20) {}
  SlabSystem& sys() { return env_.sys(); }
  SlabEnv env_;
};

using Allocators = ::testing::Types<Slub, Slab, Slob>;
TYPED_TEST_SUITE(SlabConformance, Allocators);

bool Aligned(const void* p, uintptr_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

TYPED_TEST(SlabConformance, AllocatorNameAndBoot) {
  ASSERT_EQ(this->env_.init_result(), 0);
  EXPECT_STREQ(this->sys().AllocatorName(), TypeParam::kName);
  EXPECT_TRUE(this->sys().CheckInvariants());
}

TYPED_TEST(SlabConformance, AlignArgument) {
  SlabSystem& sys = this->sys();
  for (unsigned align : {8u, 16u, 32u, 64u, 128u, 256u, 512u, 4096u}) {
    for (unsigned size : {1u, 7u, 24u, 100u, 300u}) {
      kmem_cache* s = sys.CreateCache("align", size, align, 0, nullptr);
      ASSERT_NE(s, nullptr);
      std::vector<void*> v;
      for (int i = 0; i < 50; ++i) {
        void* p = sys.Alloc(s, GFP_KERNEL);
        ASSERT_NE(p, nullptr);
        EXPECT_TRUE(Aligned(p, align)) << p << " align " << align << " size " << size;
        v.push_back(p);
      }
      for (void* p : v) sys.Free(s, p);
      EXPECT_EQ(sys.DestroyCache(s), 0);
    }
  }
  // Not a power of two: rejected.
  LogCapture log;
  EXPECT_EQ(sys.CreateCache("bad", 64, 24, 0, nullptr), nullptr);
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, BadCreateArgumentsAndSlabPanic) {
  SlabSystem& sys = this->sys();
  {
    LogCapture log;
    EXPECT_EQ(sys.CreateCache(nullptr, 64, 0, 0, nullptr), nullptr);
    EXPECT_EQ(sys.CreateCache("zero", 0, 0, 0, nullptr), nullptr);
    EXPECT_EQ(sys.CreateCache("huge", 1u << 30, 0, 0, nullptr), nullptr);
    EXPECT_EQ(sys.CreateCache("flags", 64, 0, 0x80000000u, nullptr), nullptr);
    EXPECT_TRUE(log.Contains("kmem_cache_create(huge) failed")) << log.text();
  }
  EXPECT_DEATH(sys.CreateCache("must", 0, 0, SLAB_PANIC, nullptr),
               "kmem_cache_create: Failed to create slab 'must'");
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, HwcacheAlign) {
  SlabSystem& sys = this->sys();
  // Linux's calculate_alignment: a cache line, halved while the object fits in half.
  struct Case { unsigned size, want; };
  for (Case c : {Case{100, 64}, Case{64, 64}, Case{33, 64}, Case{32, 32}, Case{20, 32}, Case{9, 16}}) {
    kmem_cache* s = sys.CreateCache("hw", c.size, 0, SLAB_HWCACHE_ALIGN, nullptr);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->align, c.want);
    std::vector<void*> v;
    for (int i = 0; i < 40; ++i) {
      v.push_back(sys.Alloc(s, GFP_KERNEL));
      EXPECT_TRUE(Aligned(v.back(), c.want)) << c.size;
    }
    for (void* p : v) sys.Free(s, p);
    EXPECT_EQ(sys.DestroyCache(s), 0);
  }
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, KmallocPowerOfTwoAlignment) {
  SlabSystem& sys = this->sys();
  for (size_t size = 8; size <= 2 * kPageSize; size <<= 1) {
    std::vector<void*> v;
    for (int i = 0; i < 20; ++i) {
      void* p = sys.Kmalloc(size, GFP_KERNEL);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(Aligned(p, std::min<size_t>(size, kPageSize))) << size;
      v.push_back(p);
    }
    for (void* p : v) sys.Kfree(p);
  }
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, KmallocEverySizeKsize) {
  SlabSystem& sys = this->sys();
  const size_t max = 2 * kPageSize + 256;
  for (size_t size = 1; size <= max; ++size) {
    auto* p = static_cast<unsigned char*>(sys.Kmalloc(size, GFP_KERNEL));
    ASSERT_NE(p, nullptr) << size;
    ASSERT_TRUE(Aligned(p, 8)) << size;
    size_t ks = sys.Ksize(p);
    ASSERT_GE(ks, size);
    memset(p, 0xab, ks);  // the whole usable size is ours
    sys.Kfree(p);
  }
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, KmallocZeroAndNull) {
  SlabSystem& sys = this->sys();
  void* z = sys.Kmalloc(0, GFP_KERNEL);
  EXPECT_EQ(z, ZERO_SIZE_PTR);
  EXPECT_TRUE(ZERO_OR_NULL_PTR(z));
  EXPECT_EQ(sys.Ksize(z), 0u);
  sys.Kfree(z);
  sys.Kfree(nullptr);
  EXPECT_EQ(sys.Krealloc(nullptr, 0, GFP_KERNEL), ZERO_SIZE_PTR);
  LogCapture log;
  EXPECT_EQ(sys.Kmalloc(kKmallocMaxSize + 1, GFP_KERNEL), nullptr);
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, KzallocKcallocOverflow) {
  SlabSystem& sys = this->sys();
  for (size_t size : {1ul, 64ul, 100ul, 5000ul, 40000ul}) {
    // Dirty the memory first so zeroing is observable.
    void* d = sys.Kmalloc(size, GFP_KERNEL);
    memset(d, 0xff, size);
    sys.Kfree(d);
    auto* p = static_cast<unsigned char*>(sys.Kzalloc(size, GFP_KERNEL));
    ASSERT_NE(p, nullptr);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0) << size << " " << i;
    sys.Kfree(p);
  }
  auto* c = static_cast<uint32_t*>(sys.Kcalloc(100, sizeof(uint32_t), GFP_KERNEL));
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(c[i], 0u);
  sys.Kfree(c);
  EXPECT_EQ(sys.Kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL), nullptr);
  EXPECT_EQ(sys.KmallocArray(SIZE_MAX / 8 + 1, 16, GFP_KERNEL), nullptr);
  void* a = sys.KmallocArray(10, 10, GFP_KERNEL);
  EXPECT_GE(sys.Ksize(a), 100u);
  sys.Kfree(a);
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, KreallocKeepsContents) {
  SlabSystem& sys = this->sys();
  size_t size = 5;
  auto* p = static_cast<unsigned char*>(sys.Kmalloc(size, GFP_KERNEL));
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<unsigned char>(i * 7);
  for (size_t next : {6ul, 64ul, 65ul, 200ul, 1000ul, 4096ul, 9000ul, 70000ul, 100ul, 3ul}) {
    auto* q = static_cast<unsigned char*>(sys.Krealloc(p, next, GFP_KERNEL));
    ASSERT_NE(q, nullptr);
    ASSERT_GE(sys.Ksize(q), next);
    for (size_t i = 0; i < std::min(size, next); ++i) ASSERT_EQ(q[i], static_cast<unsigned char>(i * 7));
    for (size_t i = size; i < next; ++i) q[i] = static_cast<unsigned char>(i * 7);
    p = q;
    size = next;
  }
  EXPECT_EQ(sys.Krealloc(p, 0, GFP_KERNEL), ZERO_SIZE_PTR);  // freed
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, NoOverlapUnderRandomSequence) {
  SlabSystem& sys = this->sys();
  kmem_cache* caches[3] = {sys.CreateCache("r24", 24, 0, 0, nullptr),
                           sys.CreateCache("r200", 200, 0, SLAB_HWCACHE_ALIGN, nullptr),
                           sys.CreateCache("r1500", 1500, 0, 0, nullptr)};
  struct Obj { size_t size; uint32_t seed; kmem_cache* cache; };
  std::map<uintptr_t, Obj> live;  // the model
  std::mt19937 rng(42);
  auto fill = [](void* p, size_t n, uint32_t seed) {
    auto* b = static_cast<unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(seed + i * 31);
  };
  auto verify = [](void* p, size_t n, uint32_t seed) {
    auto* b = static_cast<unsigned char*>(p);
    for (size_t i = 0; i < n; ++i)
      if (b[i] != static_cast<unsigned char>(seed + i * 31)) return false;
    return true;
  };
  const int ops = 200000 / kScale;
  for (int op = 0; op < ops; ++op) {
    const bool alloc = live.size() < 50 || (rng() % 100) < (live.size() > 3000 ? 40u : 55u);
    if (alloc) {
      const unsigned kind = rng() % 4;
      Obj o{};
      void* p;
      if (kind < 3) {
        o.cache = caches[kind];
        o.size = o.cache->object_size;
        p = sys.Alloc(o.cache, GFP_KERNEL);
      } else {
        o.size = 1 + rng() % (3 * kPageSize);
        p = sys.Kmalloc(o.size, GFP_KERNEL);
      }
      ASSERT_NE(p, nullptr);
      const uintptr_t a = reinterpret_cast<uintptr_t>(p);
      auto it = live.lower_bound(a);
      if (it != live.end()) {
        ASSERT_GE(it->first, a + o.size) << "overlaps the next object";
      }
      if (it != live.begin()) {
        auto prev = std::prev(it);
        ASSERT_LE(prev->first + prev->second.size, a) << "overlaps the previous object";
      }
      o.seed = rng();
      fill(p, o.size, o.seed);
      live[a] = o;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      void* p = reinterpret_cast<void*>(it->first);
      ASSERT_TRUE(verify(p, it->second.size, it->second.seed)) << "object contents changed";
      if (it->second.cache != nullptr) {
        sys.Free(it->second.cache, p);
      } else {
        sys.Kfree(p);
      }
      live.erase(it);
    }
    if (op % 50000 == 0) {
      ASSERT_TRUE(sys.CheckInvariants());
    }
  }
  for (auto& [a, o] : live) {
    void* p = reinterpret_cast<void*>(a);
    ASSERT_TRUE(verify(p, o.size, o.seed));
    if (o.cache) sys.Free(o.cache, p); else sys.Kfree(p);
  }
  EXPECT_TRUE(sys.CheckInvariants());
  for (kmem_cache* s : caches) EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_TRUE(sys.CheckInvariants());
}

std::atomic<int> g_ctor_calls{0};
void Ctor(void* p) {
  g_ctor_calls.fetch_add(1);
  auto* w = static_cast<uint64_t*>(p);
  w[0] = 0xc0ffee;
  w[1] = 0x5eed;
}

TYPED_TEST(SlabConformance, CtorRunsOncePerObjectPerSlab) {
  SlabSystem& sys = this->sys();
  g_ctor_calls = 0;
  kmem_cache* s = sys.CreateCache("ctor", 48, 0, 0, Ctor);
  ASSERT_NE(s, nullptr);
  auto* p = static_cast<uint64_t*>(sys.Alloc(s, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  const int per_slab = g_ctor_calls.load();
  EXPECT_GE(per_slab, 1);  // the whole new slab was constructed
  EXPECT_EQ(p[0], 0xc0ffeeu);
  EXPECT_EQ(p[1], 0x5eedu);
  // Free and re-allocate: no constructor call, the object is still constructed.
  for (int i = 0; i < 100; ++i) {
    sys.Free(s, p);
    p = static_cast<uint64_t*>(sys.Alloc(s, GFP_KERNEL));
    ASSERT_EQ(p[0], 0xc0ffeeu);
    ASSERT_EQ(p[1], 0x5eedu);
  }
  EXPECT_EQ(g_ctor_calls.load(), per_slab);
  // Filling the first slab constructs a second one, once.
  std::vector<void*> v{p};
  for (int i = 1; i <= per_slab; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  EXPECT_EQ(g_ctor_calls.load(), 2 * per_slab);
  for (void* q : v) sys.Free(s, q);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TYPED_TEST(SlabConformance, DestroyWithLiveObjectsRefuses) {
  SlabSystem& sys = this->sys();
  kmem_cache* s = sys.CreateCache("leaky", 128, 0, 0, nullptr);
  void* a = sys.Alloc(s, GFP_KERNEL);
  void* b = sys.Alloc(s, GFP_KERNEL);
  {
    LogCapture log;
    EXPECT_EQ(sys.DestroyCache(s), -kEBUSY);
    EXPECT_TRUE(log.Contains("Objects remaining in leaky on __kmem_cache_shutdown()")) << log.text();
    EXPECT_TRUE(log.Contains("kmem_cache_destroy leaky: Slab cache still has objects")) << log.text();
  }
  EXPECT_TRUE(sys.CheckInvariants());
  // Still usable.
  void* c = sys.Alloc(s, GFP_KERNEL);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(sys.CacheSize(s), 128u);
  EXPECT_NE(this->env_.Slabinfo().find("leaky"), std::string::npos);
  for (void* p : {a, b, c}) sys.Free(s, p);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_EQ(this->env_.Slabinfo().find("leaky"), std::string::npos);
  EXPECT_EQ(sys.DestroyCache(nullptr), 0);
  EXPECT_TRUE(sys.CheckInvariants());
}

TYPED_TEST(SlabConformance, EverythingReturnsToThePageAllocator) {
  SlabSystem& sys = this->sys();
  const uint64_t before = this->env_.FreePages();
  kmem_cache* s = sys.CreateCache("ret", 700, 0, 0, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 20000; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  for (int i = 0; i < 200; ++i) v.push_back(sys.Kmalloc(20000, GFP_KERNEL));
  EXPECT_LT(this->env_.FreePages(), before);
  for (void* p : v) sys.Kfree(p);  // kfree works on cache objects too
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_EQ(this->env_.FreePages(), before);
}

TYPED_TEST(SlabConformance, BulkApis) {
  SlabSystem& sys = this->sys();
  kmem_cache* s = sys.CreateCache("bulk", 64, 0, 0, nullptr);
  std::vector<void*> p(1000);
  ASSERT_EQ(sys.AllocBulk(s, GFP_KERNEL, p.size(), p.data()), 1000);
  std::set<void*> distinct(p.begin(), p.end());
  EXPECT_EQ(distinct.size(), 1000u);
  for (void* q : p) memset(q, 1, 64);
  sys.FreeBulk(s, p.size(), p.data());
  EXPECT_EQ(sys.AllocBulk(s, GFP_KERNEL, 0, p.data()), 0);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TYPED_TEST(SlabConformance, ProducerConsumerRemoteFrees) {
  SlabSystem& sys = this->sys();
  const uint64_t before = this->env_.FreePages();
  kmem_cache* s = sys.CreateCache("pc", 64, 0, 0, nullptr);
  constexpr size_t kRing = 1024;
  std::vector<std::atomic<void*>> ring(kRing);
  for (auto& r : ring) r.store(nullptr);
  const size_t total = 400000 / kScale;
  std::thread producer([&] {
    for (size_t i = 0; i < total; ++i) {
      auto* p = static_cast<uint64_t*>(sys.Alloc(s, GFP_KERNEL));
      ASSERT_NE(p, nullptr);
      p[0] = i;
      p[7] = ~i;
      auto& slot = ring[i % kRing];
      while (slot.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
      slot.store(p, std::memory_order_release);
    }
  });
  std::thread consumer([&] {
    for (size_t i = 0; i < total; ++i) {
      auto& slot = ring[i % kRing];
      void* p;
      while ((p = slot.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
      slot.store(nullptr, std::memory_order_release);
      auto* w = static_cast<uint64_t*>(p);
      ASSERT_EQ(w[0], i);
      ASSERT_EQ(w[7], ~i);
      if (i % 3 == 0) {
        sys.Kfree(p);
      } else {
        sys.Free(s, p);
      }
    }
  });
  producer.join();
  consumer.join();
  // Both threads have exited: their cpu slabs were flushed by the cpu-dead callback.
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(this->env_.FreePages(), before);
}

TYPED_TEST(SlabConformance, ManyThreadsMixed) {
  SlabSystem& sys = this->sys();
  kmem_cache* s = sys.CreateCache("mt", 96, 0, 0, nullptr);
  std::vector<std::thread> threads;
  std::vector<std::vector<void*>> handoff(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<void*> mine;
      for (int i = 0; i < 40000 / kScale; ++i) {
        if (mine.size() < 200 || rng() % 2) {
          void* p = (rng() % 2) ? sys.Alloc(s, GFP_KERNEL) : sys.Kmalloc(1 + rng() % 600, GFP_KERNEL);
          ASSERT_NE(p, nullptr);
          mine.push_back(p);
        } else {
          size_t k = rng() % mine.size();
          sys.Kfree(mine[k]);
          mine[k] = mine.back();
          mine.pop_back();
        }
      }
      handoff[t] = std::move(mine);  // freed by another thread below
    });
  }
  for (auto& th : threads) th.join();
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (void* p : handoff[(t + 1) % 4]) sys.Kfree(p);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(sys.CheckInvariants());
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TYPED_TEST(SlabConformance, CpuDeadReturnsCachedSlabs) {
  SlabSystem& sys = this->sys();
  kmem_cache* s = sys.CreateCache("dead", 256, 0, 0, nullptr);
  std::thread([&] {
    std::vector<void*> v;
    for (int i = 0; i < 500; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
    for (void* p : v) sys.Free(s, p);
  }).join();
  EXPECT_TRUE(sys.CheckInvariants());
  // Nothing is cached on the dead cpu: every slab is reachable from the node
  // lists, so shrink frees them all.
  EXPECT_EQ(sys.Shrink(s), 0);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

TYPED_TEST(SlabConformance, SlabinfoFormat) {
  SlabSystem& sys = this->sys();
  kmem_cache* s = sys.CreateCache("info_cache", 100, 0, 0, nullptr);
  std::vector<void*> v;
  for (int i = 0; i < 10; ++i) v.push_back(sys.Alloc(s, GFP_KERNEL));
  std::string text = this->env_.Slabinfo();
  EXPECT_EQ(text.rfind("slabinfo - version: 2.1\n"
                       "# name            <active_objs> <num_objs> <objsize> <objperslab> "
                       "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
                       "<active_slabs> <num_slabs> <sharedavail>\n",
                       0),
            0u)
      << text;
  for (const char* name : {"kmem_cache ", "kmalloc-8 ", "kmalloc-96 ", "kmalloc-192 ", "kmalloc-1k ",
                           "kmalloc-8k ", "info_cache "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
  // The cache's line: name, active, total, objsize, objperslab, pagesperslab.
  size_t at = text.find("\ninfo_cache");
  char name[64];
  unsigned long active, num, objsize, perslab, pages, limit, batch, shared, aslabs, nslabs, avail;
  ASSERT_EQ(sscanf(text.c_str() + at + 1,
                   "%63s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata %lu %lu %lu", name,
                   &active, &num, &objsize, &perslab, &pages, &limit, &batch, &shared, &aslabs,
                   &nslabs, &avail),
            12);
  EXPECT_EQ(objsize, s->size);
  EXPECT_EQ(perslab, s->objects);
  EXPECT_EQ(pages, 1ul << s->order);
  EXPECT_EQ(nslabs, 1u);
  EXPECT_EQ(num, s->objects);
  EXPECT_GE(active, 10u);
  for (void* p : v) sys.Free(s, p);
  EXPECT_EQ(sys.DestroyCache(s), 0);
}

// Runs out of RAM: allocations fail cleanly, and everything is reusable after.
TYPED_TEST(SlabConformance, ExhaustTheMachine) {
  SlabEnv env(TypeParam::kKind, 8 << 20);
  ASSERT_EQ(env.init_result(), 0);
  SlabSystem& sys = env.sys();
  kmem_cache* s = sys.CreateCache("exhaust", 512, 0, 0, nullptr);
  LogCapture quiet;
  auto fill = [&](std::vector<void*>& v) {
    for (;;) {
      void* p = (v.size() % 4 == 3) ? sys.Kmalloc(3 * kPageSize, GFP_KERNEL | __GFP_NOWARN)
                                    : sys.Alloc(s, GFP_KERNEL | __GFP_NOWARN);
      if (p == nullptr) p = sys.Alloc(s, GFP_KERNEL | __GFP_NOWARN);  // smaller blocks may remain
      if (p == nullptr) break;
      v.push_back(p);
    }
  };
  std::vector<void*> first;
  fill(first);
  EXPECT_GT(first.size(), 1000u);
  EXPECT_TRUE(sys.CheckInvariants());
  for (void* p : first) sys.Kfree(p);
  EXPECT_TRUE(sys.CheckInvariants());
  std::vector<void*> second;
  fill(second);
  EXPECT_GE(second.size(), first.size() * 9 / 10);
  for (void* p : second) sys.Kfree(p);
  EXPECT_EQ(sys.DestroyCache(s), 0);
  EXPECT_TRUE(sys.CheckInvariants());
}

}  // namespace
}  // namespace mm::testing
