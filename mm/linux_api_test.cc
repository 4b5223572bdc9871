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
