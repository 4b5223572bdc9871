// slab_allocator=slub|slab|slob at mm_boot routes every API call: boots each
// allocator in turn in one process through the Linux-named facade and checks
// that the named allocator is the one serving kmalloc and kmem_cache_*.
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mm/linux_api.h"

namespace {

using namespace mm;  // NOLINT: the facade's Linux spelling

std::string ProcRead(const char* path) {
  std::vector<char> buf(1 << 16);
  long n = proc_read(path, buf.data(), buf.size());
  EXPECT_GT(n, 0) << path;
  return std::string(buf.data());
}

unsigned long MeminfoSlabKb() {
  std::string m = ProcRead("/proc/meminfo");
  unsigned long kb = 0;
  size_t at = m.find("\nSlab:");
  EXPECT_NE(at, std::string::npos) << m;
  sscanf(m.c_str() + at + 1, "Slab: %lu", &kb);
  return kb;
}

void ExerciseOnce(const char* name) {
  std::string cmdline = std::string("mem=64M slab_allocator=") + name;
  ASSERT_EQ(mm_boot(cmdline.c_str()), 0) << cmdline;
  EXPECT_STREQ(slab_allocator_name(), name);
  const unsigned long free_before = nr_free_pages();
  const unsigned long slab_kb_before = MeminfoSlabKb();

  kmem_cache* s = kmem_cache_create("select_test", 72, 0, SLAB_HWCACHE_ALIGN, nullptr);
  ASSERT_NE(s, nullptr);
  std::vector<void*> objs;
  for (int i = 0; i < 1000; ++i) {
    void* p = kmem_cache_alloc(s, GFP_KERNEL);
    ASSERT_NE(p, nullptr);
    memset(p, i, 72);
    objs.push_back(p);
    void* k = kmalloc(1 + i % 3000, GFP_KERNEL);
    ASSERT_NE(k, nullptr);
    ASSERT_GE(ksize(k), static_cast<size_t>(1 + i % 3000));
    objs.push_back(k);
  }
  EXPECT_LT(nr_free_pages(), free_before);
  EXPECT_GT(MeminfoSlabKb(), slab_kb_before + 500);  // /proc/meminfo sees the objects
  std::string info = ProcRead("/proc/slabinfo");
  EXPECT_NE(info.find("\nselect_test "), std::string::npos) << info;
  // The allocators differ where Linux's did: only SLAB has tunables.
  const bool slab = std::string(name) == "slab";
  const size_t line = info.find("\nselect_test ");
  unsigned long limit = 0;
  ASSERT_EQ(sscanf(info.c_str() + info.find(": tunables", line), ": tunables %lu", &limit), 1);
  EXPECT_EQ(limit != 0, slab) << info.substr(line, 160);
  for (size_t i = 0; i < objs.size(); ++i) {
    if (i % 2 == 0) kmem_cache_free(s, objs[i]); else kfree(objs[i]);
  }
  kmem_cache_destroy(s);
  mm_shutdown();
}

TEST(AllocatorSelection, EachAllocatorInTurnInOneProcess) {
  for (const char* name : {"slub", "slob", "slab", "slub", "slob", "slab"}) {
    SCOPED_TRACE(name);
    ExerciseOnce(name);
  }
}

TEST(AllocatorSelection, DefaultIsSlubAndBadWordRejected) {
  ASSERT_EQ(mm_boot("mem=64M"), 0);
  EXPECT_STREQ(slab_allocator_name(), "slub");
  mm_shutdown();
  EXPECT_EQ(mm_boot("mem=64M slab_allocator=slib"), -EINVAL);
}

}  // namespace
