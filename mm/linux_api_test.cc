// The facade: boot words, reboot, the page API with Linux's semantics, and
// coexistence with the C library's headers.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include <cstring>
#include <thread>

#include "mm/linux_api.h"

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_debug.h"

namespace mm {
namespace {

TEST(BootTest, AcceptsEveryDocumentedWord) {
  ASSERT_EQ(mm_boot("mem=64M numa=2 zones=dma:8M cpus=3 min_free_kbytes=2048"), 0);
  EXPECT_LT(totalram_pages(), 64u << 8);
  EXPECT_GT(totalram_pages(), (64u << 8) * 62 / 64);
  char buf[4096];
  ASSERT_GT(proc_read("/proc/buddyinfo", buf, sizeof buf), 0);
  EXPECT_NE(strstr(buf, "Node 0, zone      DMA "), nullptr) << buf;
  EXPECT_NE(strstr(buf, "Node 0, zone   Normal "), nullptr);
  EXPECT_NE(strstr(buf, "Node 1, zone   Normal "), nullptr);
  mm_shutdown();
}

TEST(BootTest, RejectsBadWordsNamingThem) {
  const char* bad[] = {"mem=", "mem=12Q", "mem=1M", "numa=0", "numa=9", "cpus=x", "cpus=65",
                       "zones=dma", "zones=normal:4M", "zones=dma:0", "min_free_kbytes=-1",
                       "bogus=1", "mmu", "mem=64M mem64M", "slab_allocator=foo",
                       "slub_debug=FQ", "mmu=maybe", "pgtable=sv57", "pgtable"};
  for (const char* cmdline : bad) {
    LogCapture log;
    EXPECT_EQ(mm_boot(cmdline), -EINVAL) << cmdline;
    const char* last_word = strrchr(cmdline, ' ');
    last_word = last_word == nullptr ? cmdline : last_word + 1;
    EXPECT_TRUE(log.Contains(last_word)) << cmdline << ": " << log.text();
  }
  // Configurations that parse but do not fit are refused as well.
  LogCapture log;
  EXPECT_EQ(mm_boot("mem=16M zones=dma:32M"), -EINVAL);
  EXPECT_TRUE(log.Contains("zones=dma"));
  // And a good boot still works afterwards: nothing was left half-built.
  ASSERT_EQ(mm_boot("mem=16M"), 0);
  mm_shutdown();
}

TEST(BootTest, BootAgainAfterShutdownAndRefuseDoubleBoot) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(mm_boot(i % 2 ? "mem=32M" : "mem=16M cpus=1"), 0);
    EXPECT_EQ(mm_boot("mem=16M"), -EBUSY);
    page* p = alloc_pages(GFP_KERNEL, 3);
    ASSERT_NE(p, nullptr);
    __free_pages(p, 3);
    mm_shutdown();
  }
  mm_shutdown();  // a second shutdown is harmless
}

class PageApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(mm_boot("mem=32M cpus=2"), 0); }
  void TearDown() override { mm_shutdown(); }
};

TEST_F(PageApiTest, AddressesPfnsAndPagesRoundTrip) {
  const unsigned long free0 = nr_free_pages();
  page* p = alloc_pages(GFP_KERNEL, 2);
  ASSERT_NE(p, nullptr);
  void* a = page_address(p);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % (4 * PAGE_SIZE), 0u);
  EXPECT_EQ(virt_to_page(a), p);
  EXPECT_EQ(virt_to_page(static_cast<char*>(a) + PAGE_SIZE + 5), p + 1);
  EXPECT_EQ(pfn_to_page(page_to_pfn(p)), p);
  EXPECT_TRUE(pfn_valid(page_to_pfn(p)));
  EXPECT_EQ(page_to_nid(p), 0);
  EXPECT_EQ(page_count(p), 1);
  EXPECT_EQ(page_count(p + 3), 1);  // a tail reports its head's count
  EXPECT_EQ(nr_free_pages(), free0 - 4);
  __free_pages(p, 2);
  EXPECT_EQ(nr_free_pages(), free0);
}

TEST_F(PageApiTest, GetFreePagesFamily) {
  const unsigned long free0 = nr_free_pages();
  unsigned long a = __get_free_pages(GFP_KERNEL, 1);
  ASSERT_NE(a, 0u);
  memset(reinterpret_cast<void*>(a), 0x77, 2 * PAGE_SIZE);
  free_pages(a, 1);
  unsigned long z = get_zeroed_page(GFP_KERNEL);
  for (size_t i = 0; i < PAGE_SIZE; ++i) ASSERT_EQ(reinterpret_cast<unsigned char*>(z)[i], 0);
  free_page(z);
  unsigned long one = __get_free_page(GFP_ATOMIC);
  free_page(one);
  free_pages(0, 3);  // free_pages(0) is a no-op, as in Linux
  page* q = alloc_page(GFP_KERNEL);
  get_page(q);
  put_page(q);
  EXPECT_EQ(page_count(q), 1);
  __free_page(q);
  EXPECT_EQ(nr_free_pages(), free0);
  EXPECT_EQ(alloc_pages_node(5, GFP_KERNEL | __GFP_NOWARN, 0), nullptr);  // no node 5
}

TEST_F(PageApiTest, ExitingThreadsAreHarmless) {
  const unsigned long free0 = nr_free_pages();
  for (int i = 0; i < 100; ++i) {
    std::thread([] {
      page* p = alloc_pages(GFP_KERNEL, 0);
      __free_pages(p, 0);
    }).join();
  }
  EXPECT_EQ(nr_free_pages(), free0);
}

class ObjectApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(mm_boot("mem=32M cpus=2 slab_allocator=slub"), 0); }
  void TearDown() override { mm_shutdown(); }
};

int g_ctor_calls = 0;

TEST_F(ObjectApiTest, KmemCacheAndKmallocThroughTheFacade) {
  EXPECT_STREQ(slab_allocator_name(), "slub");
  g_ctor_calls = 0;
  struct kmem_cache* c = kmem_cache_create("task_struct", 200, 0, SLAB_HWCACHE_ALIGN,
                                           [](void* p) { ++g_ctor_calls; memset(p, 0x11, 200); });
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(kmem_cache_size(c), 200u);
  void* objs[64];
  for (auto& o : objs) {
    o = kmem_cache_alloc(c, GFP_KERNEL);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(o) % 64, 0u);
    EXPECT_EQ(static_cast<unsigned char*>(o)[199], 0x11);  // constructed
  }
  EXPECT_GE(g_ctor_calls, 64);
  const int ctors = g_ctor_calls;
  kmem_cache_free(c, objs[0]);
  objs[0] = kmem_cache_alloc(c, GFP_KERNEL);
  EXPECT_EQ(g_ctor_calls, ctors);  // not on every allocation
  char buf[8192];
  ASSERT_GT(proc_read("/proc/slabinfo", buf, sizeof buf), 0);
  EXPECT_EQ(std::string(buf).substr(0, 24), "slabinfo - version: 2.1\n");
  EXPECT_NE(strstr(buf, "\ntask_struct "), nullptr) << buf;
  EXPECT_NE(strstr(buf, "\nkmalloc-96 "), nullptr);
  {
    LogCapture log;
    kmem_cache_destroy(c);  // live objects: refused and reported
    EXPECT_TRUE(log.Contains("task_struct")) << log.text();
  }
  for (auto* o : objs) kmem_cache_free(c, o);
  kmem_cache_destroy(c);

  EXPECT_EQ(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
  kfree(nullptr);
  kfree(ZERO_SIZE_PTR);
  char* p = static_cast<char*>(kmalloc(100, GFP_KERNEL));
  ASSERT_NE(p, nullptr);
  EXPECT_GE(ksize(p), 100u);
  strcpy(p, "kept across krealloc");
  p = static_cast<char*>(krealloc(p, 5000, GFP_KERNEL));
  EXPECT_STREQ(p, "kept across krealloc");
  kfree(p);
  EXPECT_EQ(kmalloc_array(SIZE_MAX / 2, 3, GFP_KERNEL), nullptr);
  EXPECT_EQ(kcalloc(SIZE_MAX / 8, 16, GFP_KERNEL), nullptr);
  int* z = static_cast<int*>(kcalloc(100, sizeof(int), GFP_KERNEL));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(z[i], 0);
  kfree(z);
  void* big = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);  // above 8 KiB: the page allocator
  ASSERT_NE(big, nullptr);
  memset(big, 1, 3 * PAGE_SIZE);
  kfree(big);
}

// The hot entry points take three cases out of line (HOT ENTRY POINTS in
// linux_api.cc): a thread's first call, __GFP_ZERO, and no machine. Each must
// behave exactly as the inline path, on every allocator.
// kmem_cache_destroy refuses (and keeps listing) a cache with live objects.
bool DestroyedCleanly(struct kmem_cache* c, const char* name) {
  kmem_cache_destroy(c);
  static char buf[16384];
  if (proc_read("/proc/slabinfo", buf, sizeof buf) <= 0) return false;
  return strstr(buf, (std::string("\n") + name + " ").c_str()) == nullptr;
}

class HotEntryTest : public ::testing::TestWithParam<const char*> {
 protected:
  void Boot(const char* extra) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mem=32M cpus=4 slab_allocator=%s %s", GetParam(), extra);
    ASSERT_EQ(mm_boot(cmd), 0);
  }
  void TearDown() override { mm_shutdown(); }
};

TEST_P(HotEntryTest, FirstCallOnAThreadIsEachEntryPoint) {
  Boot("");
  struct kmem_cache* c = kmem_cache_create("hot_entry", 48, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  void* from_cache = nullptr;
  void* from_kmalloc = nullptr;
  // Each thread's first call into the slab layer is a different entry point.
  std::thread([&] { from_cache = kmem_cache_alloc(c, GFP_KERNEL); }).join();
  std::thread([&] { from_kmalloc = kmalloc(200, GFP_KERNEL); }).join();
  ASSERT_NE(from_cache, nullptr);
  ASSERT_NE(from_kmalloc, nullptr);
  memset(from_cache, 0x5a, 48);
  memset(from_kmalloc, 0x5a, 200);
  std::thread([&] { kmem_cache_free(c, from_cache); }).join();
  std::thread([&] { kfree(from_kmalloc); }).join();
  std::thread([] { kfree(nullptr); }).join();
  EXPECT_TRUE(DestroyedCleanly(c, "hot_entry"));  // nothing left: every free landed
}

TEST_P(HotEntryTest, GfpZeroThroughKmallocAndKmemCacheAlloc) {
  Boot("");
  struct kmem_cache* c = kmem_cache_create("hot_zero", 96, 0, 0, nullptr);
  ASSERT_NE(c, nullptr);
  for (int round = 0; round < 4; ++round) {
    unsigned char* a = static_cast<unsigned char*>(kmalloc(100, GFP_KERNEL));
    unsigned char* b = static_cast<unsigned char*>(kmem_cache_alloc(c, GFP_KERNEL));
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    memset(a, 0xff, 100);
    memset(b, 0xff, 96);
    kfree(a);
    kmem_cache_free(c, b);
    a = static_cast<unsigned char*>(kmalloc(100, GFP_KERNEL | __GFP_ZERO));
    b = static_cast<unsigned char*>(kmem_cache_alloc(c, GFP_KERNEL | __GFP_ZERO));
    for (int i = 0; i < 100; ++i) ASSERT_EQ(a[i], 0) << i;
    for (int i = 0; i < 96; ++i) ASSERT_EQ(b[i], 0) << i;
    kfree(a);
    kmem_cache_free(c, b);
  }
  EXPECT_TRUE(DestroyedCleanly(c, "hot_zero"));
}

INSTANTIATE_TEST_SUITE_P(AllAllocators, HotEntryTest, ::testing::Values("slub", "slab", "slob"),
                         [](const auto& info) { return std::string(info.param); });

// SLAB_STORE_USER records the facade's caller on every route: the inline
// path, a thread's first call and __GFP_ZERO (both out of line).
[[gnu::noinline]] void* KmallocHere(gfp_t gfp) {
  void* p = kmalloc(64, gfp);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}
[[gnu::noinline]] void KmallocHereEnd() { asm volatile(""); }

TEST(HotEntryCallerTest, StoreUserRecordsTheFacadesCaller) {
  ASSERT_EQ(mm_boot("mem=32M cpus=2 slab_allocator=slub slub_debug=U"), 0);
  const uintptr_t lo = reinterpret_cast<uintptr_t>(&KmallocHere);
  auto recorded = [](void* p) {
    struct page* pg = virt_to_page(p);
    if (pg->flags & PG_tail) pg = pg->compound_head;
    return reinterpret_cast<uintptr_t>(slab_debug::TracksOf(pg->slab_cache, p)[0].addr);
  };
  void* inline_path = KmallocHere(GFP_KERNEL);
  void* zeroed = KmallocHere(GFP_KERNEL | __GFP_ZERO);
  void* first_on_thread = nullptr;
  std::thread([&] { first_on_thread = KmallocHere(GFP_KERNEL); }).join();
  for (void* p : {inline_path, zeroed, first_on_thread}) {
    ASSERT_NE(p, nullptr);
    const uintptr_t a = recorded(p);
    EXPECT_GT(a, lo);
    EXPECT_LT(a, lo + 128) << "caller recorded outside KmallocHere";
    kfree(p);
  }
  mm_shutdown();
}

TEST(HotEntryDeathTest, NoMachineNamesTheCall) {
  EXPECT_DEATH(kmalloc(8, GFP_KERNEL), "kmalloc.*no machine");
  EXPECT_DEATH(kfree(reinterpret_cast<void*>(0x1000)), "kfree.*no machine");
}

TEST(ConstantsTest, LinuxValuesCoexistWithLibc) {
  EXPECT_EQ(ENOMEM, 12);
  EXPECT_EQ(EINVAL, 22);
  EXPECT_EQ(PAGE_SIZE, 4096u);
  EXPECT_TRUE(IS_ERR_VALUE(static_cast<unsigned long>(-ENOMEM)));
  EXPECT_FALSE(IS_ERR_VALUE(4096ul));
  EXPECT_EQ(GFP_KERNEL, 0xcc0u);
  EXPECT_EQ(GFP_ATOMIC, 0x820u);  // Linux >= 6.3 (no __GFP_ATOMIC)
}

}  // namespace
}  // namespace mm
