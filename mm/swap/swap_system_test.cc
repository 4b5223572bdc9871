// SwapSystem over a real stack (buddy, slab, VM): swap-out and swap-in through
// the VM's hooks, the integrity test (3x RAM, every device, several policies),
// fault injection, OOM, PSI, /proc views, kswapd with concurrent faults.
#include "mm/swap/swap_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mm/swap/swap_test_util.h"

namespace mm {
namespace {

// The physical address task t's page at addr maps now (0: not present).
PhysAddr PaOf(Stack& s, task_struct* t, unsigned long addr) {
  PhysAddr pa = 0;
  return s.vm().Translate(t, Access::kLoad, addr, &pa) == 0 ? pa & ~(kPageSize - 1) : 0;
}

// A MAP_SHARED|MAP_ANONYMOUS region of n pages holding FillPage(key, i); its
// address, or 0 when it could not be mapped or filled.
unsigned long SharedFilled(Stack& s, task_struct* t, unsigned long n, uint64_t key) {
  const unsigned long a = s.MmapShared(n * kPageSize);
  if (IsErrValue(a) || s.FillRange(t, a, n, key) != 0) return 0;
  return a;
}

// A host file of n pages at path, opened and mapped MAP_SHARED read-write
// whole; the address (and *f), or 0 when a step failed.
unsigned long SharedFileMapping(Stack& s, const std::string& path, unsigned long n, file** f) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  const bool sized = ::ftruncate(fd, static_cast<off_t>(n * kPageSize)) == 0;
  ::close(fd);
  if (!sized) return 0;
  *f = s.vm().FilpOpen(path.c_str(), O_RDWR, 0);
  if (IsErrValue(reinterpret_cast<unsigned long>(*f))) return 0;
  const unsigned long a = s.vm().VmMmap(*f, 0, n * kPageSize, kRW, MAP_SHARED, 0);
  return IsErrValue(a) ? 0 : a;
}

TEST(SwapSystem, NoDevicesViews) {
  SwapConfig c;
  c.kswapd_thread = false;
  Stack s(16u << 20, c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.Proc("/proc/swaps"), "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
  EXPECT_EQ(s.Proc("/proc/pressure/memory"),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  EXPECT_EQ(s.Proc("/proc/meminfo"), "<-2>");
  EXPECT_EQ(s.Proc("/sys/block/zram0/mm_stat"), "<-2>");
  EXPECT_EQ(s.Proc("/proc/1/oom_score_adj"), "0\n");
  EXPECT_EQ(s.Proc("/proc/1/oom_score"), "0\n");  // init is unkillable
  EXPECT_EQ(s.Proc("/proc/99/oom_score"), "<-2>");
  SwapMeminfo mi;
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_total_kb, 0u);
  EXPECT_TRUE(s.Check());
}

TEST(SwapSystem, BadSwapFileRefusedAtInit) {
  LogCapture log;
  SwapConfig c;
  c.kswapd_thread = false;
  const std::string p = TmpPath("notswap");
  { FILE* f = std::fopen(p.c_str(), "w"); std::fputs(std::string(1 << 16, 'x').c_str(), f); std::fclose(f); }
  c.devices[0].kind = SwapKind::kFile;
  std::strcpy(c.devices[0].path, p.c_str());
  c.devices[0].bytes = 1 << 16;
  c.nr_devices = 1;
  Stack s(16u << 20, c);
  EXPECT_EQ(s.init_result(), -kEINVAL);
  EXPECT_TRUE(log.Contains("no swap signature")) << log.text();
}

// Two devices: the higher priority fills first, then the other; /proc/swaps
// lists both.
TEST(SwapSystem, PrioritiesAcrossDevices) {
  SwapConfig c = Config(SwapKind::kZram, 64 * kPageSize);
  c.devices[0].prio = 10;
  const std::string p = TmpPath("prio.swap");
  ASSERT_EQ(swap::HostMkswap(p.c_str(), 4u << 20), 0);
  c.devices[1].kind = SwapKind::kFile;
  std::strcpy(c.devices[1].path, p.c_str());
  c.devices[1].bytes = 4u << 20;
  c.nr_devices = 2;  // no prio: -2
  Stack s(16u << 20, c);
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 200;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  ASSERT_EQ(s.FillRange(init, a, n, 12), 0);
  uint64_t freed = 0;
  for (int k = 0; k < 64 && freed < n - 16; ++k) freed += s.swap().ReclaimPages(32, -1);
  EXPECT_EQ(s.swap().device(0)->free_pages(), 0u);  // zram (prio 10) is full
  EXPECT_EQ(s.swap().device(1)->inuse_pages(), freed - 63);
  const std::string swaps = s.Proc("/proc/swaps");
  EXPECT_NE(swaps.find("partition\t252\t\t252\t\t10\n"), std::string::npos) << swaps;
  EXPECT_NE(swaps.find(p), std::string::npos) << swaps;
  EXPECT_NE(swaps.find("\t-2\n"), std::string::npos) << swaps;
  EXPECT_EQ(s.VerifyRange(init, a, n, 12), -1);
  EXPECT_TRUE(s.Check());
}

// Swap out everything a task has (shared after fork too), then read it back.
TEST(SwapSystem, SwapOutAndBackInWithForkSharing) {
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 256;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  ASSERT_EQ(s.FillRange(init, a, n, 1), 0);
  const int pid = s.Fork("child");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  uint64_t freed = 0;
  for (int k = 0; k < 64; ++k) freed += s.swap().ReclaimPages(64, -1);
  EXPECT_GE(freed, n - 16);
  EXPECT_EQ(s.swap().pswpout(), freed);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.Proc("/proc/swaps").find("/dev/zram0"), 39u);
  SwapMeminfo mi;
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_total_kb, (32u << 10) - 4);
  EXPECT_EQ(mi.swap_total_kb - mi.swap_free_kb, freed * 4);  // one slot per shared page
  // Both tasks read every page back.
  for (task_struct* t : {child, init}) EXPECT_EQ(s.VerifyRange(t, a, n, 1), -1);
  EXPECT_GT(s.swap().pswpin(), 0u);
  EXPECT_TRUE(s.Check());
  const std::string vs = s.Vmstat();
  EXPECT_NE(vs.find("pswpout " + std::to_string(freed) + "\n"), std::string::npos) << vs;
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb + mi.swap_cached_kb, mi.swap_total_kb);
  EXPECT_TRUE(s.Check());
}

// The integrity test: tasks map and touch 3x RAM (private anonymous, a
// MAP_SHARED file, CoW pages shared after fork, MAP_SHARED|MAP_ANONYMOUS
// memory shared with the child); everything is read back in random order
// and compared.
struct IntegrityCase {
  SwapKind kind;
  const char* comp;
  PolicyKind policy;
};

class IntegrityTest : public ::testing::TestWithParam<IntegrityCase> {};

// Both tasks load FillPage(r, i) at addr (faulting it in), then it is
// translated for both: the same physical page (a page reclaim took again in
// between is skipped; *compared counts the pages compared).
::testing::AssertionResult SamePageForBoth(Stack& s, task_struct* t1, task_struct* t2,
                                           unsigned long addr, uint64_t r, uint64_t i,
                                           unsigned long* compared) {
  std::vector<uint64_t> page(kPageSize / 8), back(kPageSize / 8);
  FillPage(r, i, page.data());
  for (task_struct* t : {t1, t2}) {
    if (s.Load(t, addr, back.data(), kPageSize) != 0 || page != back)
      return ::testing::AssertionFailure() << "task " << t->pid << " region " << r << " page " << i;
  }
  const PhysAddr p1 = PaOf(s, t1, addr), p2 = PaOf(s, t2, addr);
  if (p1 == 0 || p2 == 0) return ::testing::AssertionSuccess();
  ++*compared;
  if (p1 != p2) return ::testing::AssertionFailure() << "region " << r << " page " << i << " is two pages";
  return ::testing::AssertionSuccess();
}

TEST_P(IntegrityTest, NothingLost) {
  const IntegrityCase ic = GetParam();
  constexpr uint64_t kRam = 16u << 20;
  const std::string fname = std::string("integrity_") + swap::PolicyName(ic.policy) + ".swap";
  // 4 x RAM of swap: a shared page takes one slot (it comes back shared),
  // and the MAP_SHARED file's pages go back to their file.
  Stack s(kRam, Config(ic.kind, 4 * kRam, ic.policy, ic.comp, fname));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long pages = 3 * kRam / kPageSize;
  // Region 1: parent's private anonymous memory, shared with the child after fork (CoW).
  const unsigned long n1 = pages / 3;
  const unsigned long a1 = s.MmapAnon(n1 * kPageSize);
  // Region 3: a MAP_SHARED file of half of RAM (page cache: file LRU,
  // written back and dropped under pressure, refaulted from the file).
  const std::string fpath = TmpPath(fname + ".data");
  const unsigned long n3 = pages / 6;
  { int fd = ::open(fpath.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600); ASSERT_EQ(::ftruncate(fd, n3 * kPageSize), 0); ::close(fd); }
  file* f = s.vm().FilpOpen(fpath.c_str(), O_RDWR, 0);
  ASSERT_FALSE(IsErrValue(reinterpret_cast<unsigned long>(f)));
  const unsigned long a3 = s.vm().VmMmap(f, 0, n3 * kPageSize, kRW, MAP_SHARED, 0);
  ASSERT_FALSE(IsErrValue(a3));
  // Region 4: shared anonymous memory (shmem) of a sixth of the pages,
  // shared with the child by fork: one page for both, swapped through the
  // shmem index; the child overwrites every 3rd page, which the parent must
  // then see too.
  const unsigned long n4 = pages / 6;
  const unsigned long a4 = s.MmapShared(n4 * kPageSize);
  ASSERT_FALSE(IsErrValue(a4));
  std::vector<uint64_t> page(kPageSize / 8), back(kPageSize / 8);
  for (unsigned long i = 0; i < n1; ++i) {
    FillPage(1, i, page.data());
    ASSERT_EQ(s.Store(init, a1 + i * kPageSize, page.data(), kPageSize), 0) << i;
  }
  for (unsigned long i = 0; i < n3; ++i) {
    FillPage(3, i, page.data());
    ASSERT_EQ(s.Store(init, a3 + i * kPageSize, page.data(), kPageSize), 0);
  }
  for (unsigned long i = 0; i < n4; ++i) {
    FillPage(6, i, page.data());
    ASSERT_EQ(s.Store(init, a4 + i * kPageSize, page.data(), kPageSize), 0) << i;
  }
  const int pid = s.Fork("worker");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  // Region 2: the child's own anonymous memory; the child also overwrites
  // every 4th page of region 1 (CoW breaks), so both versions must survive.
  const unsigned long n2 = pages - n1 - n3 - n4;
  s.vm().SetCurrent(child);
  const unsigned long a2 = s.MmapAnon(n2 * kPageSize);
  s.vm().SetCurrent(init);
  for (unsigned long i = 0; i < n2; ++i) {
    FillPage(2, i, page.data());
    ASSERT_EQ(s.Store(child, a2 + i * kPageSize, page.data(), kPageSize), 0) << i;
  }
  for (unsigned long i = 0; i < n1; i += 4) {
    FillPage(4, i, page.data());
    ASSERT_EQ(s.Store(child, a1 + i * kPageSize, page.data(), kPageSize), 0) << i;
  }
  for (unsigned long i = 0; i < n4; i += 3) {
    FillPage(7, i, page.data());
    ASSERT_EQ(s.Store(child, a4 + i * kPageSize, page.data(), kPageSize), 0) << i;
  }
  EXPECT_GT(s.swap().pswpout(), pages / 2);
  EXPECT_GT(s.vm().shmem_swapouts(), n4 / 4);
  EXPECT_TRUE(s.Check());
  // Read back in random order.
  struct Ref {
    task_struct* t;
    unsigned long addr;
    uint64_t r, i;
  };
  std::vector<Ref> refs;
  for (unsigned long i = 0; i < n1; ++i) {
    refs.push_back({init, a1 + i * kPageSize, 1, i});
    refs.push_back({child, a1 + i * kPageSize, i % 4 == 0 ? 4u : 1u, i});
  }
  for (unsigned long i = 0; i < n2; ++i) refs.push_back({child, a2 + i * kPageSize, 2, i});
  for (unsigned long i = 0; i < n3; ++i) {
    refs.push_back({init, a3 + i * kPageSize, 3, i});
    refs.push_back({child, a3 + i * kPageSize, 3, i});
  }
  for (unsigned long i = 0; i < n4; ++i) {
    refs.push_back({init, a4 + i * kPageSize, i % 3 == 0 ? 7u : 6u, i});
    refs.push_back({child, a4 + i * kPageSize, i % 3 == 0 ? 7u : 6u, i});
  }
  std::shuffle(refs.begin(), refs.end(), std::mt19937_64(7));
  for (const Ref& r : refs) {
    FillPage(r.r, r.i, page.data());
    ASSERT_EQ(s.Load(r.t, r.addr, back.data(), kPageSize), 0);
    ASSERT_TRUE(page == back) << "task " << r.t->pid << " region " << r.r << " page " << r.i;
  }
  EXPECT_GT(s.swap().pswpin(), pages / 4);
  EXPECT_EQ(s.swap().oom_kills(), 0u);
  EXPECT_TRUE(s.Check());
  // Pages still shared after fork (the child never wrote them) are one
  // physical page after swap-in, with their data. Both are faulted in, then
  // translated; a page reclaim took again in between is skipped (counted).
  unsigned long compared = 0, sampled = 0;
  for (unsigned long i = 1; i < n1; i += 3) {
    if (i % 4 == 0) continue;
    ++sampled;
    ASSERT_TRUE(SamePageForBoth(s, child, init, a1 + i * kPageSize, 1, i, &compared));
  }
  EXPECT_GT(compared, sampled * 9 / 10);
  EXPECT_GT(s.vm().shmem_swapins(), 0u);
  // shmem pages too: one page for both tasks after swap-in.
  compared = sampled = 0;
  for (unsigned long i = 0; i < n4; i += 5) {
    ++sampled;
    ASSERT_TRUE(SamePageForBoth(s, init, child, a4 + i * kPageSize, i % 3 == 0 ? 7 : 6, i, &compared));
  }
  EXPECT_GT(compared, sampled * 9 / 10);
  EXPECT_TRUE(s.Check());
  if (ic.kind == SwapKind::kZram) {
    const std::string st = s.Proc("/sys/block/zram0/mm_stat");
    EXPECT_EQ(std::count(st.begin(), st.end(), ' ') >= 8, true) << st;
  }
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  EXPECT_EQ(s.vm().VmMunmap(a3, n3 * kPageSize), 0);
  EXPECT_EQ(s.vm().VmMunmap(a4, n4 * kPageSize), 0);
  EXPECT_EQ(s.vm().nr_shmem_pages(), 0u);
  EXPECT_EQ(s.vm().FilpClose(f), 0);
  EXPECT_GT(s.swap().pgsteal_file(), 0u);
  // The file's pages all reached the host file.
  const int fd = ::open(fpath.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  for (unsigned long i = 0; i < n3; ++i) {
    FillPage(3, i, page.data());
    ASSERT_EQ(::pread(fd, back.data(), kPageSize, static_cast<off_t>(i * kPageSize)),
              static_cast<ssize_t>(kPageSize));
    ASSERT_TRUE(page == back) << "file page " << i;
  }
  ::close(fd);
  EXPECT_TRUE(s.Check());
}

INSTANTIATE_TEST_SUITE_P(
    DevicesAndPolicies, IntegrityTest,
    ::testing::Values(IntegrityCase{SwapKind::kFile, "lz4", PolicyKind::kMm},
                      IntegrityCase{SwapKind::kFile, "lz4", PolicyKind::kLru},
                      IntegrityCase{SwapKind::kFile, "lz4", PolicyKind::kClock},
                      IntegrityCase{SwapKind::kZram, "lz4", PolicyKind::kMm},
                      IntegrityCase{SwapKind::kZram, "lz4", PolicyKind::kLinux},
                      IntegrityCase{SwapKind::kZram, "zstd", PolicyKind::kS3Fifo}),
    [](const auto& info) {
      return std::string(info.param.kind == SwapKind::kFile ? "file_" : "zram_") +
             info.param.comp + "_" + swap::PolicyName(info.param.policy);
    });

// A failing swap write leaves the page resident (in the swap cache) and intact.
TEST(SwapSystem, FailedWriteKeepsPage) {
  LogCapture log;
  Stack s(16u << 20, Config(SwapKind::kFile, 8u << 20, swap::kDefaultPolicy, "lz4", "fail.swap"));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  ASSERT_EQ(s.FillRange(init, a, n, 9), 0);
  s.swap().device(0)->FailNextWrites(1 << 20);
  EXPECT_EQ(s.swap().ReclaimPages(n, -1), 0u);
  EXPECT_GT(s.swap().swap_write_failures(), 0u);
  EXPECT_TRUE(log.Contains("failed (-5): page kept in the swap cache")) << log.text();
  EXPECT_GT(s.swap().swap_cache_pages(), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(init, a, n, 9), -1);
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);  // each came back; the cache let go
  EXPECT_TRUE(s.Check());
  s.swap().device(0)->FailNextWrites(0);
  EXPECT_GT(s.swap().ReclaimPages(n, -1), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
}

// The shmem counterpart of FailedWriteKeepsPage: a MAP_SHARED|MAP_ANONYMOUS
// region shared by parent and child, every swap write failing. The pages are
// unmapped before the write (ShmemSwapOutLocked, as Linux's try_to_unmap comes
// before writepage), so after the failure each stays resident in the swap
// cache (PG_dirty), its entry in the index node; reclaim retries and fails
// again without losing it. Each sharer's next access maps that same page
// again from the swap cache (no device read: the slot was never written, a
// read would give zeros), intact; then the slot is released and the swap
// cache empty. With writes working again the pages swap out and back in.
TEST(SwapSystem, FailedShmemWriteKeepsPageInEverySharer) {
  LogCapture log;
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long a = SharedFilled(s, init, n, 41);
  ASSERT_NE(a, 0u);
  const int pid = s.Fork("child");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  std::vector<PhysAddr> pa(n);
  for (unsigned long i = 0; i < n; ++i) {
    pa[i] = PaOf(s, init, a + i * kPageSize);
    ASSERT_NE(pa[i], 0u);
    ASSERT_EQ(PaOf(s, child, a + i * kPageSize), pa[i]);
  }
  const uint64_t pswpin0 = s.swap().pswpin();
  SwapMeminfo mi;
  s.swap().device(0)->FailNextWrites(1 << 20);
  EXPECT_EQ(s.swap().ReclaimPages(n, -1), 0u);
  const uint64_t failures = s.swap().swap_write_failures();
  EXPECT_GT(failures, 0u);
  EXPECT_TRUE(log.Contains("failed (-5): page kept in the swap cache")) << log.text();
  EXPECT_EQ(s.swap().swap_cache_pages(), failures);
  EXPECT_EQ(s.vm().shmem_swapouts(), failures);
  EXPECT_EQ(s.vm().nr_shmem_pages(), n - failures);
  EXPECT_TRUE(s.Check());
  // Reclaim again, still failing: ShrinkSwapCache writes the swap cache's
  // dirty pages again (and fails again); none is dropped.
  EXPECT_EQ(s.swap().ReclaimPages(n, -1), 0u);
  EXPECT_GE(s.swap().swap_cache_pages(), failures);
  EXPECT_EQ(s.swap().device(0)->orig_data_pages(), 0u);  // nothing reached the device
  EXPECT_TRUE(s.Check());
  // Both sharers read every page back intact and map one page again.
  EXPECT_EQ(s.VerifyRange(child, a, n, 41), -1);
  EXPECT_EQ(s.VerifyRange(init, a, n, 41), -1);
  EXPECT_EQ(s.swap().pswpin(), pswpin0);  // from the swap cache, not the device
  for (unsigned long i = 0; i < n; ++i) {
    const PhysAddr pp = PaOf(s, init, a + i * kPageSize);
    ASSERT_NE(pp, 0u) << i;
    ASSERT_EQ(PaOf(s, child, a + i * kPageSize), pp) << "page " << i << " is two pages";
    page* p = s.buddy().PfnToPage(pp >> kPageShift);
    EXPECT_EQ(p->_mapcount.load(), 2) << i;
    EXPECT_EQ(p->_refcount.load(), 3) << i;  // the page cache and the two PTEs
    EXPECT_EQ(p->flags & (PG_swapcache | PG_writeback | PG_dirty | PG_locked), 0u) << i;
  }
  EXPECT_EQ(s.vm().nr_shmem_pages(), n);
  EXPECT_EQ(s.vm().shmem_swapins(), s.vm().shmem_swapouts());
  // The slots are released: nothing in use on the device, the cache empty.
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);
  EXPECT_EQ(s.swap().device(0)->inuse_pages(), 0u);
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_TRUE(s.Check());
  // Writes work again: the whole region swaps out and comes back intact.
  s.swap().device(0)->FailNextWrites(0);
  uint64_t freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  EXPECT_EQ(freed, n);
  EXPECT_EQ(s.vm().nr_shmem_pages(), 0u);
  EXPECT_EQ(s.VerifyRange(child, a, n, 41), -1);
  EXPECT_EQ(s.VerifyRange(init, a, n, 41), -1);
  EXPECT_TRUE(s.Check());
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_TRUE(s.Check());
}

// zram.algorithm_params=level=N reaches zram's compressor: text pages swapped
// out at lz4 level 32 take measurably more room than at level 1 or with no
// word (level 1 is the default); zstd takes 1..22, and a level it cannot take
// fails zram's start with a message, as Linux fails the device's setup.
// /sys/block/zram0/algorithm_params is write-only, as in Linux.
TEST(SwapSystem, AlgorithmParamsLevelReachesZram) {
  auto text_page = [](std::mt19937_64& rng, uint8_t* p) {
    static const char* kWords[] = {"the", "memory", "of", "a", "page", "is", "swapped", "out",
                                   "when", "kernel", "reclaim", "runs", "and", "compressed",
                                   "into", "zram", "with", "lz4", "or", "zstd"};
    for (size_t n = 0; n < kPageSize;) {
      for (const char* c = kWords[rng() % 20]; *c && n < kPageSize; ++c) p[n++] = *c;
      if (n < kPageSize) p[n++] = ' ';
    }
  };
  // Boots with the words, swaps out n text pages, reads them back; returns
  // zram's compr_data_size after the swap-out (0 on failure).
  auto swapped = [&](const char* comp, std::vector<const char*> words, int want_level) {
    SwapConfig c = Config(SwapKind::kZram, 32u << 20, swap::kDefaultPolicy, comp);
    for (const char* w : words)
      EXPECT_EQ(SwapSystem::ParseSwapOption(w, std::strlen(w), &c), 0) << w;
    Stack s(16u << 20, c);
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return uint64_t{0};
    EXPECT_EQ(s.swap().device(0)->comp_level(), want_level);
    EXPECT_EQ(s.Proc("/sys/block/zram0/comp_algorithm"), std::string(comp) + "\n");
    EXPECT_EQ(s.Proc("/sys/block/zram0/algorithm_params"), "<-13>");  // -EACCES
    task_struct* init = s.vm().InitTask();
    const unsigned long n = 256;
    const unsigned long a = s.MmapAnon(n * kPageSize);
    std::mt19937_64 rng(5);
    std::vector<uint8_t> page(kPageSize), back(kPageSize);
    for (unsigned long i = 0; i < n; ++i) {
      text_page(rng, page.data());
      EXPECT_EQ(s.Store(init, a + i * kPageSize, page.data(), kPageSize), 0);
    }
    uint64_t freed = 0;
    for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
    EXPECT_EQ(s.swap().device(0)->orig_data_pages(), n);
    const uint64_t bytes = s.swap().device(0)->compr_data_size();
    rng.seed(5);
    for (unsigned long i = 0; i < n; ++i) {
      text_page(rng, page.data());
      EXPECT_EQ(s.Load(init, a + i * kPageSize, back.data(), kPageSize), 0);
      EXPECT_TRUE(page == back) << i;
    }
    EXPECT_TRUE(s.Check());
    return bytes;
  };
  const uint64_t none = swapped("lz4", {}, 0);
  const uint64_t l1 = swapped("lz4", {"zram.algorithm_params=level=1"}, 1);
  const uint64_t l32 = swapped("lz4", {"zram.algorithm_params=algo=lz4,level=32"}, 32);
  ASSERT_GT(l1, 0u);
  EXPECT_EQ(none, l1);
  EXPECT_GT(l32, l1 + l1 / 4) << "level 1: " << l1 << " bytes, level 32: " << l32;
  const uint64_t z_default = swapped("zstd", {}, 0);
  const uint64_t z19 = swapped("zstd", {"zram.algorithm_params=level=19"}, 19);
  ASSERT_GT(z19, 0u);
  EXPECT_LT(z19, z_default);
  // A level zstd cannot take: the boot word passes (1..65537), zram refuses.
  LogCapture log;
  SwapConfig c = Config(SwapKind::kZram, 32u << 20, swap::kDefaultPolicy, "zstd");
  ASSERT_EQ(SwapSystem::ParseSwapOption("zram.algorithm_params=level=23", 30, &c), 0);
  Stack s(16u << 20, c);
  EXPECT_EQ(s.init_result(), -kEINVAL);
  EXPECT_TRUE(log.Contains("zram: algorithm_params level=23 out of range for zstd (1..22)"))
      << log.text();
}

// A full swap device: reclaim cannot free memory; the OOM killer picks the
// biggest killable task (never oom_score_adj -1000) and logs the kill.
TEST(SwapSystem, FullSwapRunsOomKiller) {
  LogCapture log;
  constexpr uint64_t kRam = 16u << 20;
  Stack s(kRam, Config(SwapKind::kFile, 1u << 20, swap::kDefaultPolicy, "lz4", "small.swap"));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const int big = s.Fork("hog");
  const int other = s.Fork("bystander");
  const int prot = s.Fork("protected");
  ASSERT_GT(prot, 0);
  task_struct* hog = s.vm().FindTaskByPid(big);
  task_struct* protect = s.vm().FindTaskByPid(prot);
  EXPECT_EQ(s.swap().SetOomScoreAdj(prot, -1000), 0);
  EXPECT_EQ(s.swap().SetOomScoreAdj(prot, -1001), -kEINVAL);
  EXPECT_EQ(s.swap().SetOomScoreAdj(4242, 5), -kESRCH);
  EXPECT_EQ(s.Proc(("/proc/" + std::to_string(prot) + "/oom_score_adj").c_str()), "-1000\n");
  EXPECT_EQ(s.Proc(("/proc/" + std::to_string(prot) + "/oom_score").c_str()), "0\n");
  // The protected task holds a little; the hog maps 2x RAM and touches it.
  s.vm().SetCurrent(protect);
  const unsigned long pa = s.MmapAnon(64 * kPageSize);
  ASSERT_EQ(s.FillRange(protect, pa, 64, 5), 0);
  s.vm().SetCurrent(hog);
  const unsigned long n = 2 * kRam / kPageSize;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  s.vm().SetCurrent(init);
  EXPECT_EQ(s.FillRange(hog, a, n, 6), -kESRCH);  // the hog was killed
  EXPECT_EQ(s.swap().oom_kills(), 1u);
  EXPECT_TRUE(log.Contains("swap: all swap devices are full")) << log.text();
  EXPECT_TRUE(log.Contains("Out of memory: Killed process " + std::to_string(big) +
                           " (hog) total-vm:"))
      << log.text();
  EXPECT_TRUE(log.Contains("shmem-rss:0kB, UID:0 pgtables:")) << log.text();
  EXPECT_TRUE(log.Contains("oom_score_adj:0\n")) << log.text();
  // The protected task's memory is intact.
  EXPECT_EQ(s.VerifyRange(protect, pa, 64, 5), -1);
  EXPECT_NE(s.Vmstat().find("oom_kill 1\n"), std::string::npos);
  EXPECT_TRUE(s.Check());
  int status;
  EXPECT_EQ(s.vm().KernelWait(big, &status), big);
  (void)other;
}

// Thrashing: a working set of twice RAM accessed cyclically refaults pages
// evicted recently; the refaults and the stall show in vmstat and PSI.
TEST(SwapSystem, ThrashingShowsInPressure) {
  constexpr uint64_t kRam = 16u << 20;
  Stack s(kRam, Config(SwapKind::kZram, 4 * kRam, PolicyKind::kLru));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 3 * kRam / 2 / kPageSize;  // a working set of 1.5 x RAM
  const unsigned long a = s.MmapAnon(n * kPageSize);
  std::vector<uint64_t> page(kPageSize / 8);
  for (int round = 0; round < 3; ++round) {
    for (unsigned long i = 0; i < n; ++i) {
      FillPage(7, i, page.data());
      ASSERT_EQ(s.Store(init, a + i * kPageSize, page.data(), 64), 0);
    }
  }
  EXPECT_GT(s.swap().workingset_refaults(), n / 2);
  // W(t, delta) grows with delta and stays within the resident pages.
  const uint64_t w1 = s.swap().WorkingSetPages(1), w8 = s.swap().WorkingSetPages(8);
  EXPECT_LE(w1, w8);
  EXPECT_GT(w8, 0u);
  EXPECT_LE(w8, kRam / kPageSize);
  const std::string vs = s.Vmstat();
  EXPECT_EQ(vs.find("workingset_refault_anon 0\n"), std::string::npos) << vs;
  EXPECT_EQ(vs.find("workingset_activate_anon 0\n"), std::string::npos) << vs;
  const std::string psi = s.Proc("/proc/pressure/memory");
  unsigned long long some_total = 0, full_total = 0;
  ASSERT_EQ(std::sscanf(psi.c_str(),
                        "some avg10=%*u.%*u avg60=%*u.%*u avg300=%*u.%*u total=%llu "
                        "full avg10=%*u.%*u avg60=%*u.%*u avg300=%*u.%*u total=%llu",
                        &some_total, &full_total),
            2)
      << psi;
  EXPECT_GT(some_total, 0u) << psi;
  EXPECT_GE(some_total, full_total);
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  EXPECT_TRUE(s.Check());
}

// kswapd as a real thread, concurrently with two threads faulting two tasks.
TEST(SwapSystem, KswapdConcurrentWithFaultingTasks) {
  constexpr uint64_t kRam = 16u << 20;
  SwapConfig c = Config(SwapKind::kZram, 4 * kRam, swap::kDefaultPolicy);
  c.kswapd_thread = true;
  Stack s(kRam, c);
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  // Shared anonymous memory, shared with the worker by fork: written by the
  // worker, read back by init (one page for both, through the shmem index).
  const unsigned long shm_pages = kRam / 2 / kPageSize;
  const unsigned long shm = s.MmapShared(shm_pages * kPageSize);
  ASSERT_FALSE(IsErrValue(shm));
  const int pid = s.Fork("worker");
  // Two tasks' anonymous memory and a MAP_SHARED file of init's, each
  // written and read back by its own thread, and the shmem region: 2.5 x
  // RAM in all.
  task_struct* tasks[3] = {init, s.vm().FindTaskByPid(pid), init};
  const unsigned long pages[3] = {kRam * 3 / 4 / kPageSize, kRam * 3 / 4 / kPageSize,
                                  kRam / 2 / kPageSize};
  unsigned long addr[3];
  for (int k = 0; k < 2; ++k) {
    s.vm().SetCurrent(tasks[k]);
    addr[k] = s.MmapAnon(pages[k] * kPageSize);
  }
  s.vm().SetCurrent(init);
  const std::string path = TmpPath("kswapd_file");
  {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(pages[2] * kPageSize)), 0);
    ::close(fd);
  }
  file* f = s.vm().FilpOpen(path.c_str(), O_RDWR, 0);
  ASSERT_FALSE(IsErrValue(reinterpret_cast<unsigned long>(f)));
  addr[2] = s.vm().VmMmap(f, 0, pages[2] * kPageSize, kRW, MAP_SHARED, 0);
  ASSERT_FALSE(IsErrValue(addr[2]));
  bool ok[4] = {true, true, true, true};
  auto work = [&](int k) {
    if (k == 3) {
      ok[k] = s.FillRange(tasks[1], shm, shm_pages, 13) == 0 &&
              s.VerifyRange(init, shm, shm_pages, 13) == -1;
      return;
    }
    ok[k] = s.FillRange(tasks[k], addr[k], pages[k], 10 + k) == 0 &&
            s.VerifyRange(tasks[k], addr[k], pages[k], 10 + k) == -1;
  };
  // A third thread checks every invariant while kswapd and the faults run:
  // kswapd's pins (a reference and PG_locked, under vm_lock) keep the VM's
  // refcount check exact.
  std::atomic<int> running{4};
  int checks = 0, bad = 0;
  std::thread checker([&] {
    while (running.load() > 0) {
      ++checks;
      if (!s.Check()) ++bad;
      std::this_thread::yield();
    }
  });
  std::thread t0([&] { work(0); --running; }), t1([&] { work(1); --running; }),
      t2([&] { work(2); --running; }), t3([&] { work(3); --running; });
  t0.join();
  t1.join();
  t2.join();
  t3.join();
  checker.join();
  EXPECT_GT(checks, 0);
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(ok[0]);
  EXPECT_TRUE(ok[1]);
  EXPECT_TRUE(ok[2]);
  EXPECT_TRUE(ok[3]);
  EXPECT_GT(s.vm().shmem_swapouts(), 0u);
  EXPECT_GT(s.swap().pswpout(), 0u);
  EXPECT_EQ(s.swap().oom_kills(), 0u);
  const std::string vs = s.Vmstat();
  EXPECT_EQ(vs.find("pgsteal_kswapd 0\n"), std::string::npos) << vs;
  EXPECT_GT(s.swap().pgsteal_file(), 0u);
  s.swap().StopKswapd();
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(addr[2], pages[2] * kPageSize), 0);
  EXPECT_EQ(s.vm().VmMunmap(shm, shm_pages * kPageSize), 0);
  EXPECT_EQ(s.vm().FilpClose(f), 0);
}

// MAP_POPULATE of more than RAM (but within RAM + swap) faults every page
// in: when an allocation fails, population drops vm_lock, reclaims (older
// populated pages go to swap) and goes on from that page.
TEST(SwapSystem, MapPopulateReclaimsUnderPressure) {
  constexpr uint64_t kRam = 16u << 20;
  Stack s(kRam, Config(SwapKind::kZram, 4 * kRam));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  // Half of RAM is in use already.
  const unsigned long n0 = kRam / 2 / kPageSize;
  const unsigned long a0 = s.MmapAnon(n0 * kPageSize);
  ASSERT_EQ(s.FillRange(init, a0, n0, 41), 0);
  const long anon0 = init->mm->rss_stat[MM_ANONPAGES] + init->mm->rss_stat[MM_SWAPENTS];
  const unsigned long n = 3 * kRam / 2 / kPageSize;
  const unsigned long a =
      s.vm().VmMmap(nullptr, 0, n * kPageSize, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, 0);
  ASSERT_FALSE(IsErrValue(a));
  EXPECT_GT(s.vm().populate_retries(), 0u);
  // Every page of the new region is populated: resident or swapped.
  EXPECT_EQ(init->mm->rss_stat[MM_ANONPAGES] + init->mm->rss_stat[MM_SWAPENTS] - anon0,
            static_cast<long>(n));
  EXPECT_EQ(s.swap().oom_kills(), 0u);
  EXPECT_TRUE(s.Check());
  // Shared anonymous memory of RAM's size: every page is in the shmem
  // index, resident or swapped out from there.
  const unsigned long ns = kRam / kPageSize;
  const uint64_t out0 = s.vm().shmem_swapouts() - s.vm().shmem_swapins();
  const unsigned long as =
      s.vm().VmMmap(nullptr, 0, ns * kPageSize, kRW, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, 0);
  ASSERT_FALSE(IsErrValue(as));
  EXPECT_EQ(s.vm().nr_shmem_pages() + (s.vm().shmem_swapouts() - s.vm().shmem_swapins()) - out0, ns);
  EXPECT_TRUE(s.Check());
  // The data written before is intact.
  EXPECT_EQ(s.VerifyRange(init, a0, n0, 41), -1);
  EXPECT_EQ(s.vm().VmMunmap(as, ns * kPageSize), 0);
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  EXPECT_EQ(s.vm().VmMunmap(a0, n0 * kPageSize), 0);
  EXPECT_TRUE(s.Check());
}

// A fault that cannot allocate drops vm_lock, reclaims and retries: nothing
// reclaims before the accesses, and there is no kswapd thread.
TEST(SwapSystem, FaultRunsDirectReclaimAndRetries) {
  constexpr uint64_t kRam = 16u << 20;
  Stack s(kRam, Config(SwapKind::kZram, 4 * kRam));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 2 * kRam / kPageSize;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  EXPECT_EQ(s.swap().allocstall(), 0u);
  EXPECT_EQ(s.vm().fault_retries(), 0u);
  ASSERT_EQ(s.FillRange(init, a, n, 17), 0);
  EXPECT_GT(s.vm().fault_retries(), 0u);
  EXPECT_GT(s.swap().allocstall(), 0u);
  EXPECT_GT(s.swap().pswpout(), n / 2);
  EXPECT_EQ(s.swap().oom_kills(), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(init, a, n, 17), -1);
  EXPECT_EQ(s.Vmstat().find("allocstall_normal 0\n"), std::string::npos) << s.Vmstat();
  // Pages entered the LRUs through the VM's lru_change calls: the node's
  // frames were scanned once, at the first reclaim, not on every pass.
  EXPECT_EQ(s.swap().lru_full_scans(), 1u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
}

// A page shared after fork is swapped out once (one slot) and comes back as
// one physical page mapped by both (mapcount 2); the slot is freed with its
// last reference; a write then breaks the sharing copy-on-write.
TEST(SwapSystem, ForkSharedPageSwappedOnceComesBackShared) {
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  ASSERT_EQ(s.FillRange(init, a, n, 21), 0);
  const int pid = s.Fork("child");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  for (unsigned long i = 0; i < n; ++i)
    ASSERT_EQ(PaOf(s, init, a + i * kPageSize), PaOf(s, child, a + i * kPageSize));
  uint64_t freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  ASSERT_EQ(freed, n);
  SwapMeminfo mi;
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_total_kb - mi.swap_free_kb, n * 4);  // one slot per shared page
  for (unsigned long i = 0; i < n; ++i) EXPECT_EQ(PaOf(s, child, a + i * kPageSize), 0u);
  EXPECT_TRUE(s.Check());
  // The child reads first: the page stays in the swap cache, mapped read-only,
  // for the parent, whose fault maps the same page.
  EXPECT_EQ(s.VerifyRange(child, a, n, 21), -1);
  EXPECT_GT(s.swap().swap_cache_pages(), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(init, a, n, 21), -1);
  for (unsigned long i = 0; i < n; ++i) {
    const PhysAddr pp = PaOf(s, init, a + i * kPageSize), pc = PaOf(s, child, a + i * kPageSize);
    ASSERT_NE(pp, 0u) << i;
    ASSERT_EQ(pp, pc) << "page " << i << " came back as two pages";
    page* p = s.buddy().PfnToPage(pp >> kPageShift);
    EXPECT_EQ(p->_mapcount.load(), 2) << i;
    EXPECT_EQ(p->_refcount.load(), 2) << i;  // the two PTEs; the swap cache let go
  }
  // Every slot went with its last reference; the cache is empty.
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);
  EXPECT_TRUE(s.Check());
  // A store by the child breaks the sharing (CoW); the parent keeps its data.
  std::vector<uint64_t> w(kPageSize / 8, 0x5a5a5a5a5a5a5a5aull);
  ASSERT_EQ(s.Store(child, a, w.data(), kPageSize), 0);
  EXPECT_NE(PaOf(s, child, a), PaOf(s, init, a));
  EXPECT_EQ(s.VerifyRange(init, a, 1, 21), -1);
  EXPECT_TRUE(s.Check());
  // Swapped out again, the child takes page 1 back and exits; the parent's
  // fault then finds the page alone in the cache and takes it over.
  freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  ASSERT_EQ(freed, n);
  uint64_t word = 0;
  ASSERT_EQ(s.Load(child, a + kPageSize, &word, 8), 0);
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(init, a, n, 21) <= 0, true);  // page 0 alone differs in the child only
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
}

// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) shared by fork: reclaim
// unmaps each page from both tasks and moves it to a swap slot recorded in
// the shmem index (the PTEs become none); a fault by either task brings the
// one page back for both, and stores by the child after swap-out and
// swap-in are seen by the parent.
TEST(SwapSystem, ShmemSwappedOutAndBackInStaysShared) {
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long a = SharedFilled(s, init, n, 31);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(s.vm().nr_shmem_pages(), n);
  const int pid = s.Fork("child");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  for (unsigned long i = 0; i < n; ++i)
    ASSERT_EQ(PaOf(s, init, a + i * kPageSize), PaOf(s, child, a + i * kPageSize));
  auto rss_shmem = [&](int p) {
    static char buf[4096];
    TextBuffer out(buf, sizeof buf);
    if (s.vm().ProcRead(("/proc/" + std::to_string(p) + "/status").c_str(), out) < 0) return std::string();
    const std::string t(buf);
    const size_t at = t.find("RssShmem:");
    return at == std::string::npos ? std::string() : t.substr(at, t.find('\n', at) - at);
  };
  EXPECT_EQ(rss_shmem(pid), "RssShmem:\t     256 kB");
  EXPECT_TRUE(s.Check());
  uint64_t freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  ASSERT_EQ(freed, n);
  EXPECT_EQ(s.vm().shmem_swapouts(), n);
  EXPECT_EQ(s.vm().nr_shmem_pages(), 0u);
  SwapMeminfo mi;
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_total_kb - mi.swap_free_kb, n * 4);  // one slot per page, held by the index
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);
  for (unsigned long i = 0; i < n; ++i) {
    EXPECT_EQ(PaOf(s, child, a + i * kPageSize), 0u);
    EXPECT_EQ(PaOf(s, init, a + i * kPageSize), 0u);
  }
  EXPECT_EQ(rss_shmem(pid), "RssShmem:\t       0 kB");
  EXPECT_TRUE(s.Check());
  // The child faults every page back; the parent's faults find the same pages.
  EXPECT_EQ(s.VerifyRange(child, a, n, 31), -1);
  EXPECT_EQ(s.vm().shmem_swapins(), n);
  EXPECT_EQ(s.VerifyRange(init, a, n, 31), -1);
  EXPECT_EQ(s.vm().shmem_swapins(), n);  // no second swap-in
  for (unsigned long i = 0; i < n; ++i) {
    const PhysAddr pp = PaOf(s, init, a + i * kPageSize), pc = PaOf(s, child, a + i * kPageSize);
    ASSERT_NE(pp, 0u) << i;
    ASSERT_EQ(pp, pc) << "page " << i << " came back as two pages";
    page* p = s.buddy().PfnToPage(pp >> kPageShift);
    EXPECT_EQ(p->_mapcount.load(), 2) << i;
    EXPECT_EQ(p->_refcount.load(), 3) << i;  // the page cache and the two PTEs
  }
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_EQ(s.swap().swap_cache_pages(), 0u);
  EXPECT_EQ(s.vm().nr_shmem_pages(), n);
  EXPECT_TRUE(s.Check());
  // After swap-out and swap-in, a store by the child is the parent's data.
  std::vector<uint64_t> w(kPageSize / 8, 0x5a5a5a5a5a5a5a5aull), back(kPageSize / 8);
  ASSERT_EQ(s.Store(child, a, w.data(), kPageSize), 0);
  ASSERT_EQ(s.Load(init, a, back.data(), kPageSize), 0);
  EXPECT_TRUE(back == w);
  EXPECT_EQ(PaOf(s, child, a), PaOf(s, init, a));
  // Out again: the child's store faults page 1 in (a write fault on a
  // swapped shmem page), the parent's load sees it, and page 0 kept the
  // child's earlier store through its own second trip to the device.
  freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  ASSERT_EQ(freed, n);
  EXPECT_EQ(s.vm().nr_shmem_pages(), 0u);
  std::vector<uint64_t> w2(kPageSize / 8, 0x0123456789abcdefull);
  ASSERT_EQ(s.Store(child, a + kPageSize, w2.data(), kPageSize), 0);
  ASSERT_EQ(s.Load(init, a + kPageSize, back.data(), kPageSize), 0);
  EXPECT_TRUE(back == w2);
  ASSERT_EQ(s.Load(init, a, back.data(), kPageSize), 0);
  EXPECT_TRUE(back == w);
  EXPECT_TRUE(s.Check());
  // The child exits; the parent still reads everything.
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  std::vector<uint64_t> want(kPageSize / 8);
  for (unsigned long i = 2; i < n; ++i) {
    FillPage(31, i, want.data());
    ASSERT_EQ(s.Load(init, a + i * kPageSize, back.data(), kPageSize), 0);
    ASSERT_TRUE(back == want) << i;
  }
  EXPECT_TRUE(s.Check());
  // Swapped out once more and unmapped: the index's slots go with it.
  freed = 0;
  for (int k = 0; k < 64 && freed < n; ++k) freed += s.swap().ReclaimPages(64, -1);
  EXPECT_EQ(freed, n);
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  s.swap().MeminfoCounters(&mi);
  EXPECT_EQ(mi.swap_free_kb + mi.swap_cached_kb, mi.swap_total_kb);
  EXPECT_EQ(mi.swap_free_kb, mi.swap_total_kb);
  EXPECT_EQ(s.vm().nr_shmem_pages(), 0u);
  EXPECT_TRUE(s.Check());
}

// File pages: a MAP_SHARED mapping of twice RAM is written; reclaim writes
// dirty pages back to the file and drops them (shadow entries left), rereads
// refault them from the file; the host file holds every byte. Then a
// MAP_PRIVATE mapping of it is read (clean pages dropped, nothing written)
// and partly written (private copies, swapped or kept; the file unchanged).
// With a zram device and with no swap device at all.
class FileReclaimTest : public ::testing::TestWithParam<bool> {};

TEST_P(FileReclaimTest, FileMappingLargerThanRam) {
  constexpr uint64_t kRam = 16u << 20;
  const bool with_swap = GetParam();
  SwapConfig c;
  if (with_swap) {
    c = Config(SwapKind::kZram, 2 * kRam);
  } else {
    c.kswapd_thread = false;
  }
  Stack s(kRam, c);
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 2 * kRam / kPageSize;
  const std::string path = TmpPath(std::string("bigfile_") + (with_swap ? "swap" : "noswap"));
  file* f = nullptr;
  const unsigned long a = SharedFileMapping(s, path, n, &f);
  ASSERT_NE(a, 0u);
  ASSERT_EQ(s.FillRange(init, a, n, 31), 0);
  EXPECT_GT(s.swap().pgsteal_file(), n / 2);
  EXPECT_GE(s.swap().pgwrite_file(), n / 2);  // evicted pages were dirty: written first
  EXPECT_EQ(s.swap().pswpout(), 0u);
  EXPECT_EQ(s.swap().oom_kills(), 0u);
  EXPECT_GT(s.vm().nr_file_dirty(), 0u);  // the resident part is still dirty
  EXPECT_LE(s.vm().nr_file_pages(), kRam / kPageSize);
  EXPECT_TRUE(s.Check());
  SwapMeminfo mi;
  s.swap().MeminfoCounters(&mi);
  EXPECT_GT(mi.active_file_kb + mi.inactive_file_kb, 0u);
  // Reread after eviction: the written data comes back from the file.
  EXPECT_EQ(s.VerifyRange(init, a, n, 31), -1);
  EXPECT_GT(s.swap().workingset_refaults_file(), 0u);
  const std::string vs = s.Vmstat();
  for (const char* zero : {"pgsteal_file 0\n", "pgscan_file 0\n", "workingset_refault_file 0\n"})
    EXPECT_EQ(vs.find(zero), std::string::npos) << zero << vs;
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  // MAP_PRIVATE: reads evict clean pages without writing; writes stay private.
  const uint64_t written = s.swap().pgwrite_file(), stolen = s.swap().pgsteal_file();
  const unsigned long b = s.vm().VmMmap(f, 0, n * kPageSize, kRW, MAP_PRIVATE, 0);
  ASSERT_FALSE(IsErrValue(b));
  EXPECT_EQ(s.VerifyRange(init, b, n, 31), -1);
  EXPECT_GT(s.swap().pgsteal_file(), stolen);
  std::vector<uint64_t> w(kPageSize / 8, 0x77);
  for (unsigned long i = 0; i < n; i += 64) ASSERT_EQ(s.Store(init, b + i * kPageSize, w.data(), kPageSize), 0);
  std::vector<uint64_t> want(kPageSize / 8), got(kPageSize / 8);
  for (unsigned long i = 0; i < n; i += 7) {
    ASSERT_EQ(s.Load(init, b + i * kPageSize, got.data(), kPageSize), 0);
    if (i % 64 == 0) {
      ASSERT_TRUE(got == w) << "private page " << i;
    } else {
      FillPage(31, i, want.data());
      ASSERT_TRUE(got == want) << "file page " << i;
    }
  }
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(b, n * kPageSize), 0);
  EXPECT_EQ(s.swap().pgwrite_file(), written);  // clean drops and private pages write nothing
  EXPECT_EQ(s.vm().FilpClose(f), 0);
  // The host file has every page as written through the shared mapping.
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  for (unsigned long i = 0; i < n; ++i) {
    FillPage(31, i, want.data());
    ASSERT_EQ(::pread(fd, got.data(), kPageSize, static_cast<off_t>(i * kPageSize)),
              static_cast<ssize_t>(kPageSize));
    ASSERT_TRUE(want == got) << "file page " << i;
  }
  ::close(fd);
  EXPECT_TRUE(s.Check());
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutSwap, FileReclaimTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zram" : "noswap"; });

// Every point where reclaim holds a page pinned with vm_lock released (the
// step hook) must leave the VM's invariants exact: there a vm_lock holder
// (the checker thread of KswapdConcurrentWithFaultingTasks) can look at the
// page. Shared anonymous pages mapped by two tasks, private anonymous pages
// and a MAP_SHARED file's pages all go through reclaim; the VM is checked at
// each step. (A shmem page used to sit in both the page cache and the swap
// cache, mapped, between two of these sections: refcount 1 + mapcount +
// reclaim + the swap cache's, which the check reported, 1 run in ~20, as
// "file refcount != 1 + mapcount + reclaim".)
TEST(SwapSystem, VmInvariantsHoldAtEveryReclaimStep) {
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long shm = SharedFilled(s, init, n, 51);
  ASSERT_NE(shm, 0u);
  const int pid = s.Fork("child");
  ASSERT_GT(pid, 0);
  task_struct* child = s.vm().FindTaskByPid(pid);
  ASSERT_EQ(s.VerifyRange(child, shm, n, 51), -1);  // mapped in both tasks
  const unsigned long anon = s.MmapAnon(n * kPageSize);
  ASSERT_FALSE(IsErrValue(anon));
  ASSERT_EQ(s.FillRange(init, anon, n, 52), 0);
  const std::string path = TmpPath("step_hook_file");
  file* f = nullptr;
  const unsigned long fa = SharedFileMapping(s, path, n, &f);
  ASSERT_NE(fa, 0u);
  ASSERT_EQ(s.FillRange(init, fa, n, 53), 0);
  ASSERT_TRUE(s.Check());
  struct Steps {
    VmSystem* vm;
    int steps = 0, bad = 0;
  } st{&s.vm()};
  s.swap().SetReclaimStepHook(
      [](void* c) {
        auto* st = static_cast<Steps*>(c);
        ++st->steps;
        if (!st->vm->CheckInvariants()) ++st->bad;
      },
      &st);
  uint64_t freed = 0;
  for (int k = 0; k < 64 && freed < 3 * n; ++k) freed += s.swap().ReclaimPages(64, -1);
  s.swap().SetReclaimStepHook(nullptr, nullptr);
  EXPECT_GT(st.steps, 0);
  EXPECT_EQ(st.bad, 0) << "of " << st.steps << " steps";
  EXPECT_GT(s.vm().shmem_swapouts(), 0u);
  EXPECT_GT(s.swap().pgsteal_anon(), s.vm().shmem_swapouts());
  EXPECT_GT(s.swap().pgsteal_file(), 0u);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(child, shm, n, 51), -1);
  EXPECT_EQ(s.VerifyRange(init, shm, n, 51), -1);
  EXPECT_EQ(s.VerifyRange(init, anon, n, 52), -1);
  EXPECT_EQ(s.VerifyRange(init, fa, n, 53), -1);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(fa, n * kPageSize), 0);
  EXPECT_EQ(s.vm().FilpClose(f), 0);
  s.vm().DoExitTask(child, 0);
  int status;
  EXPECT_EQ(s.vm().KernelWait(pid, &status), pid);
  EXPECT_EQ(s.vm().VmMunmap(anon, n * kPageSize), 0);
  EXPECT_EQ(s.vm().VmMunmap(shm, n * kPageSize), 0);
  EXPECT_TRUE(s.Check());
  ::unlink(path.c_str());
}

// Swap-in readahead racing reclaim at every step where reclaim has vm_lock
// released: at each step the hook faults in the page swapped out last
// before this reclaim round, so readahead reads the slots after its own,
// which include the slot reclaim has just taken for its page. That slot
// must never look like a swapped-out page (counted, but neither in the swap
// cache nor written): readahead read it (zeros) into the swap cache, and
// reclaim's own insertion of the entry was then a duplicate ("check failed:
// keys_[i] != page" in PageMap::Insert; in an opt build, two pages for one
// entry). KswapdConcurrentWithFaultingTasks hit it about once in 120 runs.
TEST(SwapSystem, ReadaheadAtEveryReclaimStep) {
  Stack s(16u << 20, Config(SwapKind::kZram, 32u << 20));
  ASSERT_TRUE(s.ok());
  task_struct* init = s.vm().InitTask();
  const unsigned long n = 64;
  const unsigned long a = s.MmapAnon(n * kPageSize);
  ASSERT_FALSE(IsErrValue(a));
  ASSERT_EQ(s.FillRange(init, a, n, 61), 0);
  struct Faults {
    Stack* s;
    task_struct* t;
    unsigned long a, n;
    std::vector<bool> out;               // seen swapped out
    std::vector<unsigned long> order;    // pages in the order they went out
    std::vector<unsigned long> earlier;  // out before this round, oldest first
    int steps = 0, loads = 0, bad = 0;
    bool Resident(unsigned long i) { return PaOf(*s, t, a + i * kPageSize) != 0; }
  } st{&s, init, a, n, std::vector<bool>(n)};
  s.swap().SetReclaimStepHook(
      [](void* c) {
        auto* st = static_cast<Faults*>(c);
        ++st->steps;
        for (unsigned long i = 0; i < st->n; ++i) {
          if (!st->out[i] && !st->Resident(i)) {
            st->out[i] = true;
            st->order.push_back(i);
          }
        }
        while (!st->earlier.empty()) {
          const unsigned long i = st->earlier.back();
          st->earlier.pop_back();
          if (st->Resident(i)) continue;
          std::vector<uint64_t> buf(kPageSize / 8);
          ++st->loads;
          if (st->s->Load(st->t, st->a + i * kPageSize, buf.data(), kPageSize) != 0) ++st->bad;
          st->out[i] = false;
          break;
        }
        if (!st->s->vm().CheckInvariants()) ++st->bad;
      },
      &st);
  for (int k = 0; k < 16; ++k) {
    st.earlier.clear();
    for (unsigned long i : st.order)
      if (st.out[i]) st.earlier.push_back(i);
    s.swap().ReclaimPages(4, -1);
  }
  s.swap().SetReclaimStepHook(nullptr, nullptr);
  EXPECT_GT(st.steps, 0);
  EXPECT_GT(st.loads, 0);
  EXPECT_EQ(st.bad, 0);
  EXPECT_GT(s.swap().pswpout(), 0u);
  EXPECT_GT(s.swap().pswpin(), 0u) << st.steps << " steps, " << st.loads << " loads";
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.VerifyRange(init, a, n, 61), -1);
  EXPECT_TRUE(s.Check());
  EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
  EXPECT_TRUE(s.Check());
}

// Swappiness splits reclaim between anon and file as get_scan_count does:
// with a quarter of RAM each resident, 0 takes file pages only, 200 anon
// only, 60 both (file more: 60 : 140 on lists of equal size).
TEST(SwapSystem, SwappinessBalancesAnonAndFile) {
  constexpr uint64_t kRam = 16u << 20;
  for (int sw : {0, 60, 200}) {
    SCOPED_TRACE(sw);
    SwapConfig c = Config(SwapKind::kZram, 4 * kRam);
    c.swappiness = sw;
    Stack s(kRam, c);
    ASSERT_TRUE(s.ok());
    task_struct* init = s.vm().InitTask();
    const unsigned long n = kRam / 4 / kPageSize;
    const unsigned long a = s.MmapAnon(n * kPageSize);
    ASSERT_EQ(s.FillRange(init, a, n, 41), 0);
    const std::string path = TmpPath("swappiness_" + std::to_string(sw));
    {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
      std::vector<uint64_t> pg(kPageSize / 8);
      for (unsigned long i = 0; i < n; ++i) {
        FillPage(42, i, pg.data());
        ASSERT_EQ(::pwrite(fd, pg.data(), kPageSize, static_cast<off_t>(i * kPageSize)),
                  static_cast<ssize_t>(kPageSize));
      }
      ::close(fd);
    }
    file* f = s.vm().FilpOpen(path.c_str(), O_RDWR, 0);
    ASSERT_FALSE(IsErrValue(reinterpret_cast<unsigned long>(f)));
    const unsigned long b = s.vm().VmMmap(f, 0, n * kPageSize, PROT_READ, MAP_SHARED, 0);
    ASSERT_EQ(s.VerifyRange(init, b, n, 42), -1);  // clean page cache
    ASSERT_EQ(s.swap().pgsteal_anon() + s.swap().pgsteal_file(), 0u);  // no pressure yet
    uint64_t freed = 0;
    for (int k = 0; k < 4; ++k) freed += s.swap().ReclaimPages(64, -1);
    EXPECT_EQ(freed, 256u);
    const uint64_t anon = s.swap().pgsteal_anon(), filep = s.swap().pgsteal_file();
    if (sw == 0) {
      EXPECT_EQ(anon, 0u);
      EXPECT_EQ(filep, freed);
    } else if (sw == 200) {
      EXPECT_EQ(filep, 0u);
      EXPECT_EQ(anon, freed);
    } else {
      EXPECT_GT(anon, 0u);
      EXPECT_GT(filep, anon);
    }
    EXPECT_EQ(s.swap().pgwrite_file(), 0u);  // clean: dropped, not written
    EXPECT_TRUE(s.Check());
    EXPECT_EQ(s.VerifyRange(init, a, n, 41), -1);
    EXPECT_EQ(s.VerifyRange(init, b, n, 42), -1);
    EXPECT_EQ(s.vm().VmMunmap(b, n * kPageSize), 0);
    EXPECT_EQ(s.vm().FilpClose(f), 0);
    EXPECT_EQ(s.vm().VmMunmap(a, n * kPageSize), 0);
    EXPECT_TRUE(s.Check());
  }
}

}  // namespace
}  // namespace mm
