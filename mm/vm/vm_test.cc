// VmSystem behaviour: address spaces, faults, copy-on-write, tasks, files,
// NOMMU. Every test ends with CheckInvariants() and with nr_free_pages back at
// its starting value (after Shutdown, and before it once all tasks are reaped).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/vm/host_file_ops.h"
#include "mm/vm/vm_system.h"

namespace mm {
namespace {

constexpr unsigned long kRW = PROT_READ | PROT_WRITE;
constexpr unsigned long kAnon = MAP_PRIVATE | MAP_ANONYMOUS;
constexpr uint64_t kRam = 64ull << 20;

class VmTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override { Boot(true); }
  void Boot(bool mmu) {
    buddy_ = std::make_unique<TestBuddy>(kRam);
    ASSERT_EQ(buddy_->init_result(), 0);
    (*buddy_)->DrainAllPages();
    free_start_ = (*buddy_)->NrFreePages();
    vm_ = std::make_unique<VmSystem>();
    VmConfig cfg;
    cfg.mmu = mmu;
    cfg.pgtable_levels = GetParam();
    cfg.file_ops = HostFileOps();
    ASSERT_EQ(vm_->Init(**buddy_, cfg), 0);
    init_ = vm_->InitTask();
    free_after_init_ = FreeWithTables();
  }
  // Free pages plus page-table pages: munmap keeps (empty) upper tables that
  // a remaining VMA's span shares, as Linux's free_pgtables does; Shutdown
  // frees them and TearDown checks the exact count.
  uint64_t FreeWithTables() { return FreePages() + vm_->nr_page_table_pages(); }
  void TearDown() override {
    if (!vm_) return;
    EXPECT_TRUE(vm_->CheckInvariants());
    vm_->Shutdown();
    EXPECT_EQ(FreePages(), free_start_);
  }
  uint64_t FreePages() {
    (*buddy_)->DrainAllPages();
    return (*buddy_)->NrFreePages();
  }
  // Reaps every child of current and checks no page leaked beyond init's own.
  void ExpectOnlyInitLeft() {
    EXPECT_EQ(vm_->nr_tasks(), 1);
    EXPECT_TRUE(vm_->CheckInvariants());
  }
  unsigned long Mmap(unsigned long len, unsigned long prot = kRW, unsigned long flags = kAnon,
                     unsigned long addr = 0, file* f = nullptr, unsigned long off = 0) {
    return vm_->VmMmap(f, addr, len, prot, flags, off);
  }
  int Fork() {
    kernel_clone_args a;
    a.exit_signal = SIGCHLD;
    return vm_->KernelClone(&a);
  }
  task_struct* Task(int pid) { return vm_->FindTaskByPid(pid); }
  void Put64(task_struct* t, unsigned long addr, uint64_t v) {
    ASSERT_EQ(vm_->UserStore(t, addr, &v, sizeof v), 0) << std::hex << addr;
  }
  uint64_t Get64(task_struct* t, unsigned long addr) {
    uint64_t v = ~0ull;
    EXPECT_EQ(vm_->UserLoad(t, addr, &v, sizeof v), 0) << std::hex << addr;
    return v;
  }
  std::string Proc(const std::string& path) {
    static char buf[1 << 16];
    TextBuffer out(buf, sizeof buf);
    const long n = vm_->ProcRead(path.c_str(), out);
    if (n < 0) return "ENOENT";
    return std::string(buf, static_cast<size_t>(n));
  }
  // Waits for pid from current; returns its status.
  int Reap(int pid) {
    int status = -1;
    EXPECT_EQ(vm_->KernelWait(pid, &status), pid);
    return status;
  }
  int CountVmas(mm_struct* mm) { return mm->map_count; }

  std::unique_ptr<TestBuddy> buddy_;
  std::unique_ptr<VmSystem> vm_;
  task_struct* init_ = nullptr;
  uint64_t free_start_ = 0, free_after_init_ = 0;
};

TEST_P(VmTest, ParseVmOption) {
  VmConfig c;
  EXPECT_EQ(VmSystem::ParseVmOption("mmu=off", 7, &c), 0);
  EXPECT_FALSE(c.mmu);
  EXPECT_EQ(VmSystem::ParseVmOption("mmu=on", 6, &c), 0);
  EXPECT_TRUE(c.mmu);
  EXPECT_EQ(VmSystem::ParseVmOption("pgtable=sv48", 12, &c), 0);
  EXPECT_EQ(c.pgtable_levels, 4u);
  LogCapture log;
  EXPECT_EQ(VmSystem::ParseVmOption("mmu=maybe", 9, &c), -kEINVAL);
  EXPECT_TRUE(log.Contains("mmu=maybe"));
  EXPECT_EQ(VmSystem::ParseVmOption("mem=1G", 6, &c), -kENOENT);
}

TEST_P(VmTest, InitLayoutAndProcViews) {
  EXPECT_EQ(init_->pid, 1);
  EXPECT_EQ(vm_->Current(), init_);
  const std::string maps = Proc("/proc/1/maps");
  EXPECT_NE(maps.find("00010000-00011000 r-xp 00000000 00:00 0 \n"), std::string::npos) << maps;
  EXPECT_NE(maps.find("[stack]"), std::string::npos) << maps;
  const unsigned long brk0 = vm_->Brk(0);
  EXPECT_EQ(vm_->Brk(brk0 + 3 * kPageSize), brk0 + 3 * kPageSize);
  const std::string maps2 = Proc("/proc/self/maps");
  const size_t heap = maps2.find("[heap]");
  ASSERT_NE(heap, std::string::npos) << maps2;
  EXPECT_EQ(maps2.rfind('\n', heap) + 1 + 73, heap) << "name at column 74";
  const std::string st = Proc("/proc/1/status");
  EXPECT_NE(st.find("Name:\tinit\n"), std::string::npos) << st;
  EXPECT_NE(st.find("VmSize:\t     152 kB\n"), std::string::npos) << st;  // 4+4+132+12
  EXPECT_NE(st.find("VmRSS:\t       0 kB\n"), std::string::npos) << st;
  EXPECT_NE(st.find("VmStk:\t     132 kB\n"), std::string::npos) << st;
  EXPECT_NE(st.find("VmExe:\t       4 kB\n"), std::string::npos) << st;
  EXPECT_NE(st.find("VmData:\t      16 kB\n"), std::string::npos) << st;
  EXPECT_EQ(Proc("/proc/99/maps"), "ENOENT");
  EXPECT_EQ(Proc("/proc/meminfo"), "ENOENT");
  EXPECT_EQ(vm_->Brk(brk0), brk0);
}

TEST_P(VmTest, DemandZeroAndZeroPage) {
  const unsigned long a = Mmap(16 * kPageSize);
  ASSERT_FALSE(IsErrValue(a));
  EXPECT_EQ(a & (kPageSize - 1), 0u);
  EXPECT_LT(a, init_->mm->mmap_base);
  const uint64_t faults0 = vm_->pgfault();
  EXPECT_EQ(Get64(init_, a + 8), 0u);  // read: the zero page
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 0);
  Put64(init_, a + 8, 0x1234);  // write: a private zeroed page
  EXPECT_EQ(Get64(init_, a + 8), 0x1234u);
  EXPECT_EQ(Get64(init_, a + 16), 0u);
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 1);
  EXPECT_EQ(vm_->pgfault() - faults0, 2u);
  // A and D as hardware sets them.
  pte_t* pte = init_->mm->pgt.Lookup(a);
  ASSERT_NE(pte, nullptr);
  EXPECT_TRUE(*pte & kPteA);
  EXPECT_TRUE(*pte & kPteD);
  EXPECT_EQ(Get64(init_, a + kPageSize), 0u);
  pte_t* pte2 = init_->mm->pgt.Lookup(a + kPageSize);
  EXPECT_TRUE(*pte2 & kPteA);
  EXPECT_FALSE(*pte2 & kPteD);
  EXPECT_EQ(PtePfn(*pte2), (*buddy_)->PageToPfn(vm_->zero_page()));
  PhysAddr pa = 0;
  EXPECT_EQ(vm_->Translate(init_, Access::kLoad, a + 8, &pa), 0);
  EXPECT_EQ(pa >> kPageShift, PtePfn(*pte));
  const uint64_t satp = vm_->Satp(init_->mm);
  EXPECT_EQ(satp >> 60, GetParam() == 3 ? 8u : 9u);
  EXPECT_EQ(satp & ((1ull << 44) - 1), init_->mm->pgt.root_pfn());
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(a, 16 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, MmapArgumentRules) {
  const unsigned long big = vm_->task_size();
  EXPECT_EQ(Mmap(0), static_cast<unsigned long>(-kEINVAL));
  EXPECT_EQ(Mmap(kPageSize, kRW, kAnon, 0, nullptr, 100), static_cast<unsigned long>(-kEINVAL));
  EXPECT_EQ(Mmap(kPageSize, kRW, MAP_ANONYMOUS), static_cast<unsigned long>(-kEINVAL));
  EXPECT_EQ(Mmap(kPageSize, kRW, kAnon | MAP_FIXED, 0x10000123),
            static_cast<unsigned long>(-kEINVAL));
  EXPECT_EQ(Mmap(big, kRW, kAnon), static_cast<unsigned long>(-kENOMEM));
  EXPECT_EQ(Mmap(~0ul - 10), static_cast<unsigned long>(-kENOMEM));
  EXPECT_EQ(Mmap(kPageSize, 0x100), static_cast<unsigned long>(-kEINVAL));
  // A hint is honoured when free; a length rounds up to pages.
  const unsigned long hint = 0x40000000;
  EXPECT_EQ(Mmap(100, kRW, kAnon, hint), hint);
  EXPECT_EQ(vm_->FindVma(init_->mm, hint)->vm_end, hint + kPageSize);
  // Occupied hint: placed elsewhere (top-down under the previous mapping).
  const unsigned long a1 = Mmap(kPageSize);
  const unsigned long a2 = Mmap(kPageSize, kRW, kAnon, hint);
  EXPECT_NE(a2, hint);
  EXPECT_LT(a2, a1);
  // MAP_FIXED replaces; MAP_FIXED_NOREPLACE refuses.
  Put64(init_, hint, 77);
  EXPECT_EQ(Mmap(kPageSize, kRW, kAnon | MAP_FIXED, hint), hint);
  EXPECT_EQ(Get64(init_, hint), 0u);
  EXPECT_EQ(Mmap(kPageSize, kRW, kAnon | MAP_FIXED_NOREPLACE, hint),
            static_cast<unsigned long>(-kEEXIST));
  // Adjacent compatible anonymous mappings merge.
  const int before = CountVmas(init_->mm);
  EXPECT_EQ(Mmap(kPageSize, kRW, kAnon | MAP_FIXED, hint + kPageSize), hint + kPageSize);
  EXPECT_EQ(CountVmas(init_->mm), before);
  EXPECT_EQ(vm_->FindVma(init_->mm, hint)->vm_end, hint + 2 * kPageSize);
  EXPECT_EQ(vm_->VmMunmap(hint + 1, kPageSize), -kEINVAL);
  EXPECT_EQ(vm_->VmMunmap(hint, 0), -kEINVAL);
  EXPECT_EQ(vm_->FindVmaIntersection(init_->mm, hint - kPageSize, hint + 1)->vm_start, hint);
  EXPECT_EQ(vm_->FindVmaIntersection(init_->mm, hint - kPageSize, hint), nullptr);
  EXPECT_TRUE(vm_->CheckInvariants());
}

TEST_P(VmTest, TopDownPicksTheHighestFittingHole) {
  const unsigned long top = init_->mm->mmap_base;
  const unsigned long base = top - 64 * kPageSize;
  ASSERT_EQ(Mmap(64 * kPageSize, PROT_READ, kAnon | MAP_FIXED, base), base);
  const struct {
    unsigned long at, pages;
  } holes[] = {{10, 1}, {20, 3}, {40, 2}, {50, 5}};
  for (const auto& h : holes) ASSERT_EQ(vm_->VmMunmap(base + h.at * kPageSize, h.pages * kPageSize), 0);
  EXPECT_EQ(Mmap(3 * kPageSize), base + 52 * kPageSize);
  EXPECT_EQ(Mmap(4 * kPageSize), base - 4 * kPageSize);
  EXPECT_EQ(Mmap(kPageSize), base + 51 * kPageSize);
  EXPECT_EQ(Mmap(3 * kPageSize), base + 20 * kPageSize);
  EXPECT_EQ(Mmap(2 * kPageSize), base + 40 * kPageSize);
  EXPECT_EQ(Mmap(kPageSize), base + 50 * kPageSize);
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(base - 4 * kPageSize, 68 * kPageSize), 0);
}

TEST_P(VmTest, AddressSpaceFullIsEnomem) {
  // Fill the space with huge PROT_NONE reservations until mmap fails.
  const unsigned long chunk = vm_->task_size() / 8;
  int n = 0;
  unsigned long r;
  while (!IsErrValue(r = Mmap(chunk, PROT_NONE, kAnon | MAP_NORESERVE))) ++n;
  EXPECT_EQ(r, static_cast<unsigned long>(-kENOMEM));
  EXPECT_GE(n, 5);
}

TEST_P(VmTest, MunmapHolesAndAccessInAHoleKillsTheTask) {
  const unsigned long a = Mmap(10 * kPageSize);
  for (int i = 0; i < 10; ++i) Put64(init_, a + i * kPageSize, 100 + i);
  const int vmas = CountVmas(init_->mm);
  EXPECT_EQ(vm_->VmMunmap(a + 3 * kPageSize, 2 * kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(a + 7 * kPageSize, kPageSize), 0);
  EXPECT_EQ(CountVmas(init_->mm), vmas + 2);
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 7);
  for (int i : {0, 1, 2, 5, 6, 8, 9}) EXPECT_EQ(Get64(init_, a + i * kPageSize), 100u + i);
  EXPECT_EQ(vm_->FindVma(init_->mm, a + 3 * kPageSize)->vm_start, a + 5 * kPageSize);
  // munmap of a range with nothing mapped is fine.
  EXPECT_EQ(vm_->VmMunmap(a + 3 * kPageSize, kPageSize), 0);
  const int pid = Fork();
  ASSERT_GT(pid, 0);
  task_struct* child = Task(pid);
  LogCapture log;
  uint64_t v;
  EXPECT_EQ(vm_->UserLoad(child, a + 4 * kPageSize, &v, 8), -kEFAULT);
  EXPECT_TRUE(log.Contains("unhandled signal 11"));
  EXPECT_EQ(child->exit_state, EXIT_ZOMBIE);
  EXPECT_EQ(Reap(pid), SIGSEGV);
  EXPECT_EQ(vm_->VmMunmap(a, 10 * kPageSize), 0);
  ExpectOnlyInitLeft();
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, MprotectSplitAndMerge) {
  const unsigned long a = Mmap(8 * kPageSize);
  for (int i = 0; i < 8; ++i) Put64(init_, a + i * kPageSize, i);
  const int vmas = CountVmas(init_->mm);
  EXPECT_EQ(vm_->Mprotect(a + 2 * kPageSize, 2 * kPageSize, PROT_READ), 0);
  EXPECT_EQ(CountVmas(init_->mm), vmas + 2);
  vm_area_struct* mid = vm_->FindVma(init_->mm, a + 2 * kPageSize);
  EXPECT_EQ(mid->vm_start, a + 2 * kPageSize);
  EXPECT_EQ(mid->vm_end, a + 4 * kPageSize);
  EXPECT_EQ(mid->vm_flags & VM_ACCESS_FLAGS, VM_READ);
  EXPECT_EQ(Get64(init_, a + 3 * kPageSize), 3u);
  EXPECT_TRUE(vm_->CheckInvariants());
  // A store to the read-only part kills a (forked) task.
  const int pid = Fork();
  task_struct* child = Task(pid);
  uint64_t v = 5;
  EXPECT_EQ(vm_->UserStore(child, a + 2 * kPageSize, &v, 8), -kEFAULT);
  EXPECT_EQ(Reap(pid), SIGSEGV);
  // PROT_NONE keeps the data; restoring merges everything back into one VMA.
  EXPECT_EQ(vm_->Mprotect(a + 5 * kPageSize, kPageSize, PROT_NONE), 0);
  EXPECT_EQ(CountVmas(init_->mm), vmas + 4);
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->Mprotect(a, 8 * kPageSize, kRW), 0);
  EXPECT_EQ(CountVmas(init_->mm), vmas);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(Get64(init_, a + i * kPageSize), static_cast<uint64_t>(i));
  Put64(init_, a + 2 * kPageSize, 22);  // write after re-enabling: reuses the page
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 8);
  // Errors: a hole -> ENOMEM, unaligned -> EINVAL, bad prot -> EINVAL.
  EXPECT_EQ(vm_->Mprotect(a, 9 * kPageSize, PROT_READ), -kENOMEM);
  EXPECT_EQ(vm_->Mprotect(a + 1, kPageSize, PROT_READ), -kEINVAL);
  EXPECT_EQ(vm_->Mprotect(a, kPageSize, 0x80), -kEINVAL);
  EXPECT_EQ(vm_->Mprotect(a, 0, PROT_READ), 0);
  EXPECT_EQ(vm_->VmMunmap(a, 8 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, AccessAfterBrkShrinkKillsTheTask) {
  const unsigned long b0 = vm_->Brk(0);
  EXPECT_EQ(vm_->Brk(b0 + 8 * kPageSize), b0 + 8 * kPageSize);
  for (int i = 0; i < 8; ++i) Put64(init_, b0 + i * kPageSize, i + 1);
  EXPECT_EQ(vm_->Brk(b0 + 2 * kPageSize), b0 + 2 * kPageSize);
  EXPECT_EQ(Get64(init_, b0 + kPageSize), 2u);
  EXPECT_EQ(vm_->Brk(b0 - 0x100000), b0 + 2 * kPageSize);  // below start_brk: unchanged
  const int pid = Fork();
  task_struct* child = Task(pid);
  EXPECT_EQ(Get64(child, b0), 1u);
  uint64_t v;
  EXPECT_EQ(vm_->UserLoad(child, b0 + 5 * kPageSize, &v, 8), -kEFAULT);
  EXPECT_EQ(child->fault_signal, SIGSEGV);
  EXPECT_EQ(child->fault_addr, b0 + 5 * kPageSize);
  EXPECT_EQ(Reap(pid), SIGSEGV);
  EXPECT_EQ(vm_->Brk(b0), b0);
  // The data VMA the heap merged into keeps its anon_vma (one pool page).
  EXPECT_LE(free_after_init_ - FreeWithTables(), 1u);
}

TEST_P(VmTest, ForkWithTwoThirdsOfRamInUse) {
  const uint64_t total = (*buddy_)->TotalRamPages();
  const unsigned long pages = total * 2 / 3;
  const unsigned long a = Mmap(pages * kPageSize);
  ASSERT_FALSE(IsErrValue(a));
  for (unsigned long i = 0; i < pages; ++i) Put64(init_, a + i * kPageSize, i * 3 + 1);
  const uint64_t free_before_fork = FreePages();
  const int pid = Fork();
  ASSERT_GT(pid, 0);
  task_struct* child = Task(pid);
  // Only page tables were allocated: the frames are shared copy-on-write.
  EXPECT_LT(free_before_fork - FreePages(), pages / 256);
  EXPECT_EQ(child->mm->rss_stat[MM_ANONPAGES], static_cast<long>(pages));
  for (unsigned long i = 0; i < pages; i += 97) EXPECT_EQ(Get64(child, a + i * kPageSize), i * 3 + 1);
  // The child's writes stay private: the parent cannot see them.
  for (unsigned long i = 0; i < 64; ++i) Put64(child, a + i * kPageSize, 7);
  for (unsigned long i = 0; i < 64; ++i) EXPECT_EQ(Get64(init_, a + i * kPageSize), i * 3 + 1);
  EXPECT_TRUE(vm_->CheckInvariants());
  vm_->SetCurrent(child);
  vm_->DoExit(0);
  EXPECT_EQ(vm_->Current(), init_);
  EXPECT_EQ(Reap(pid), 0);
  EXPECT_EQ(FreePages(), free_before_fork);
  EXPECT_EQ(vm_->VmMunmap(a, pages * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, ThreeTasksWriteSeparateQuarters) {
  constexpr unsigned long kQ = 64;  // pages per quarter
  const unsigned long a = Mmap(4 * kQ * kPageSize);
  for (unsigned long i = 0; i < 4 * kQ; ++i) Put64(init_, a + i * kPageSize, 1000 + i);
  int pids[3];
  for (int& p : pids) p = Fork();
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k) {
    threads.emplace_back([&, k] {
      task_struct* t = Task(pids[k]);
      vm_->SetCurrent(t);
      for (unsigned long i = k * kQ; i < (k + 1) * kQ; ++i) {
        const uint64_t v = 50000 * (k + 1) + i;
        EXPECT_EQ(vm_->UserStore(t, a + i * kPageSize, &v, 8), 0);
      }
      for (unsigned long i = 0; i < 4 * kQ; ++i) {
        uint64_t v = 0;
        EXPECT_EQ(vm_->UserLoad(t, a + i * kPageSize, &v, 8), 0);
        const bool mine = i >= k * kQ && i < (k + 1) * kQ;
        EXPECT_EQ(v, mine ? 50000 * (k + 1) + i : 1000 + i);
      }
    });
  }
  for (unsigned long i = 3 * kQ; i < 4 * kQ; ++i) Put64(init_, a + i * kPageSize, 7);
  for (auto& th : threads) th.join();
  for (unsigned long i = 0; i < 3 * kQ; ++i) EXPECT_EQ(Get64(init_, a + i * kPageSize), 1000 + i);
  EXPECT_TRUE(vm_->CheckInvariants());
  for (int p : pids) {
    vm_->DoExitTask(Task(p), 0);
    EXPECT_EQ(Reap(p), 0);
  }
  EXPECT_EQ(vm_->VmMunmap(a, 4 * kQ * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, CopyToUserIntoACowPageBreaksSharing) {
  const unsigned long a = Mmap(2 * kPageSize);
  Put64(init_, a, 0xAAAA);
  const int pid = Fork();
  task_struct* child = Task(pid);
  page* shared = (*buddy_)->PfnToPage(PtePfn(*init_->mm->pgt.Lookup(a)));
  EXPECT_EQ(shared->_refcount.load(), 2);
  const uint64_t v = 0xBBBB;
  EXPECT_EQ(vm_->CopyToUser(reinterpret_cast<void*>(a), &v, 8), 0u);
  EXPECT_EQ(Get64(init_, a), 0xBBBBu);
  EXPECT_EQ(Get64(child, a), 0xAAAAu);
  EXPECT_NE(PtePfn(*init_->mm->pgt.Lookup(a)), PtePfn(*child->mm->pgt.Lookup(a)));
  EXPECT_EQ(shared->_refcount.load(), 1);
  EXPECT_EQ(shared->_mapcount.load(), 1);
  // The child's write now reuses its (exclusive) page in place.
  const uint64_t cow0 = vm_->pgfault();
  Put64(child, a, 0xCCCC);
  EXPECT_EQ(PtePfn(*child->mm->pgt.Lookup(a)), (*buddy_)->PageToPfn(shared));
  EXPECT_EQ(vm_->pgfault() - cow0, 1u);
  uint64_t r = 0;
  EXPECT_EQ(vm_->CopyFromUser(&r, reinterpret_cast<void*>(a), 8), 0u);
  EXPECT_EQ(r, 0xBBBBu);
  // Bytes not copied: across the end of the mapping, and entirely outside.
  char buf[64] = {};
  EXPECT_EQ(vm_->CopyToUser(reinterpret_cast<void*>(a + 2 * kPageSize - 16), buf, 64), 48u);
  EXPECT_EQ(vm_->CopyFromUser(buf, reinterpret_cast<void*>(0x1000), 64), 64u);
  EXPECT_EQ(init_->exit_state, 0);  // copy_*_user faults are not fatal
  vm_->DoExitTask(child, 3 << 8);
  EXPECT_EQ(Reap(pid), 3 << 8);
  EXPECT_EQ(vm_->VmMunmap(a, 2 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, ForkOfForkStressParentNeverChanges) {
  constexpr unsigned long kPages = 48;
  const unsigned long a = Mmap(kPages * kPageSize);
  for (unsigned long i = 0; i < kPages; i += 2) Put64(init_, a + i * kPageSize, i);  // odd: zero page
  for (int round = 0; round < 20; ++round) {
    const int c = Fork();
    ASSERT_GT(c, 0);
    vm_->SetCurrent(Task(c));
    const int gc = Fork();
    ASSERT_GT(gc, 0);
    for (unsigned long i = round % 3; i < kPages; i += 3) Put64(Task(gc), a + i * kPageSize, 999);
    for (unsigned long i = round % 2; i < kPages; i += 2) Put64(Task(c), a + i * kPageSize, 555);
    if (round % 2 == 0) {
      vm_->DoExitTask(Task(c), 0);  // the grandchild is reparented to init
      vm_->SetCurrent(init_);
      EXPECT_EQ(Reap(c), 0);
      vm_->DoExitTask(Task(gc), 0);
      EXPECT_EQ(Reap(gc), 0);
    } else {
      vm_->DoExitTask(Task(gc), 0);
      EXPECT_EQ(Reap(gc), 0);
      vm_->SetCurrent(init_);
      vm_->DoExitTask(Task(c), 0);
      EXPECT_EQ(Reap(c), 0);
    }
    for (unsigned long i = 0; i < kPages; ++i)
      ASSERT_EQ(Get64(init_, a + i * kPageSize), i % 2 == 0 ? i : 0) << round;
    ASSERT_TRUE(vm_->CheckInvariants());
  }
  ExpectOnlyInitLeft();
  EXPECT_EQ(vm_->VmMunmap(a, kPages * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, LazyAllocationLargerThanRam) {
  const unsigned long len = 2 * kRam;
  const unsigned long a = Mmap(len, kRW, kAnon | MAP_NORESERVE);
  ASSERT_FALSE(IsErrValue(a));
  unsigned long touched = 0;
  for (unsigned long off = 0; off < len; off += 64 * kPageSize, ++touched) Put64(init_, a + off, off);
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], static_cast<long>(touched));
  for (unsigned long off = 0; off < len; off += 64 * kPageSize) ASSERT_EQ(Get64(init_, a + off), off);
  const std::string st = Proc("/proc/self/status");
  EXPECT_NE(st.find("VmRSS:\t" + std::string(std::to_string(touched * 4).size() < 8 ? 8 - std::to_string(touched * 4).size() : 0, ' ') +
                    std::to_string(touched * 4) + " kB\n"),
            std::string::npos)
      << st;
  EXPECT_EQ(vm_->VmMunmap(a, len), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, MremapGrowsMovesAndShrinks) {
  const unsigned long a = Mmap(4 * kPageSize);
  for (int i = 0; i < 4; ++i) Put64(init_, a + i * kPageSize, 40 + i);
  // Block growth in place with a mapping right above.
  const unsigned long blocker = Mmap(kPageSize, kRW, kAnon | MAP_FIXED, a + 4 * kPageSize);
  ASSERT_EQ(blocker, a + 4 * kPageSize);
  EXPECT_EQ(vm_->Mremap(a, 4 * kPageSize, 8 * kPageSize, 0, 0), static_cast<unsigned long>(-kENOMEM));
  const unsigned long b = vm_->Mremap(a, 4 * kPageSize, 8 * kPageSize, MREMAP_MAYMOVE, 0);
  ASSERT_FALSE(IsErrValue(b));
  EXPECT_NE(b, a);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Get64(init_, b + i * kPageSize), 40u + i);
  EXPECT_EQ(Get64(init_, b + 6 * kPageSize), 0u);
  EXPECT_EQ(vm_->FindVmaIntersection(init_->mm, a, a + 4 * kPageSize), nullptr);
  EXPECT_TRUE(vm_->CheckInvariants());
  // Shrink in place, then grow in place (the space above is free now).
  EXPECT_EQ(vm_->Mremap(b, 8 * kPageSize, 2 * kPageSize, 0, 0), b);
  EXPECT_EQ(vm_->Mremap(b, 2 * kPageSize, 3 * kPageSize, 0, 0), b);
  EXPECT_EQ(Get64(init_, b + kPageSize), 41u);
  EXPECT_EQ(Get64(init_, b + 2 * kPageSize), 0u);
  EXPECT_EQ(vm_->Mremap(b + 1, kPageSize, kPageSize, 0, 0), static_cast<unsigned long>(-kEINVAL));
  EXPECT_EQ(vm_->Mremap(0x7000, kPageSize, 2 * kPageSize, 0, 0), static_cast<unsigned long>(-kEFAULT));
  EXPECT_EQ(vm_->Mremap(b, kPageSize, 0, 0, 0), static_cast<unsigned long>(-kEINVAL));
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(b, 3 * kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(blocker, kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, SharedAnonymousMemoryIsSharedAcrossFork) {
  const unsigned long a = Mmap(2 * kPageSize, kRW, MAP_SHARED | MAP_ANONYMOUS);
  Put64(init_, a, 1);
  const int pid = Fork();
  task_struct* child = Task(pid);
  Put64(child, a, 2);
  Put64(child, a + kPageSize, 3);
  EXPECT_EQ(Get64(init_, a), 2u);
  EXPECT_EQ(Get64(init_, a + kPageSize), 3u);
  EXPECT_NE(Proc("/proc/" + std::to_string(pid) + "/maps").find("rw-s"), std::string::npos);
  vm_->DoExitTask(child, 0);
  Reap(pid);
  EXPECT_EQ(vm_->VmMunmap(a, 2 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

bool CountMapping(vm_area_struct*, unsigned long, pte_t*, void* ctx) {
  ++*static_cast<int*>(ctx);
  return true;
}

TEST_P(VmTest, ReverseMapFindsEveryMapping) {
  const unsigned long a = Mmap(kPageSize);
  Put64(init_, a, 1);
  page* p = (*buddy_)->PfnToPage(PtePfn(*init_->mm->pgt.Lookup(a)));
  const int c1 = Fork();
  const int c2 = Fork();
  int n = 0;
  EXPECT_EQ(vm_->RmapWalk(p, &CountMapping, &n), 3);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(p->_mapcount.load(), 3);
  for (int c : {c1, c2}) {
    vm_->DoExitTask(Task(c), 0);
    Reap(c);
  }
  n = 0;
  EXPECT_EQ(vm_->RmapWalk(p, &CountMapping, &n), 1);
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), 0);
}

// A new VMA right below one with anonymous pages merges with it (the upper
// one is absorbed): its anon_vma must survive, since its pages point there.
// (It was freed before being attached to the surviving VMA.)
TEST_P(VmTest, MergeKeepsTheAbsorbedVmasAnonVma) {
  const unsigned long hi = Mmap(kPageSize, kRW, kAnon, 0x60000000);
  ASSERT_EQ(hi, 0x60000000u);
  Put64(init_, hi, 7);
  page* p = (*buddy_)->PfnToPage(PtePfn(*init_->mm->pgt.Lookup(hi)));
  const unsigned long lo = Mmap(kPageSize, kRW, kAnon, hi - kPageSize);
  ASSERT_EQ(lo, hi - kPageSize);
  vm_area_struct* v = vm_->FindVma(init_->mm, lo);
  ASSERT_EQ(v->vm_end, hi + kPageSize);  // one VMA
  ASSERT_EQ(v->anon_vma, p->mapping);
  int n = 0;
  EXPECT_EQ(vm_->RmapWalk(p, &CountMapping, &n), 1);
  // Another anon_vma allocated now must not be the old one's memory.
  const unsigned long other = Mmap(kPageSize);
  Put64(init_, other, 8);
  EXPECT_NE(vm_->FindVma(init_->mm, other)->anon_vma, p->mapping);
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(Get64(init_, hi), 7u);
  EXPECT_EQ(vm_->VmMunmap(other, kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(lo, 2 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, InstructionFetchNeedsExec) {
  const unsigned long code = Mmap(kPageSize, PROT_READ | PROT_EXEC);
  const unsigned long data = Mmap(kPageSize);
  uint32_t insn = 0;
  EXPECT_EQ(vm_->UserFetch(init_, code, &insn, 4), 0);
  const int pid = Fork();
  EXPECT_EQ(vm_->UserFetch(Task(pid), data, &insn, 4), -kEFAULT);
  EXPECT_EQ(Reap(pid), SIGSEGV);
  EXPECT_EQ(vm_->VmMunmap(code, kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(data, kPageSize), 0);
}

TEST_P(VmTest, StackGrowsDownOnAccess) {
  mm_struct* mm = init_->mm;
  vm_area_struct* stack = vm_->FindVma(mm, mm->start_stack);
  const unsigned long low = stack->vm_start;
  Put64(init_, low - 3 * kPageSize, 9);
  EXPECT_EQ(vm_->FindVma(mm, mm->start_stack)->vm_start, low - 3 * kPageSize);
  EXPECT_EQ(Get64(init_, low - 3 * kPageSize), 9u);
}

TEST_P(VmTest, CloneFlags) {
  kernel_clone_args bad;
  bad.flags = CLONE_SIGHAND;
  EXPECT_EQ(vm_->KernelClone(&bad), -kEINVAL);
  bad.flags = CLONE_THREAD | CLONE_VM;
  EXPECT_EQ(vm_->KernelClone(&bad), -kEINVAL);
  kernel_clone_args t;
  t.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_VFORK;
  t.exit_signal = SIGCHLD;
  t.name = "worker";
  const int pid = vm_->KernelClone(&t);
  task_struct* child = Task(pid);
  EXPECT_EQ(child->mm, init_->mm);
  EXPECT_EQ(child->fs, init_->fs);
  EXPECT_EQ(child->files, init_->files);
  EXPECT_EQ(child->sighand, init_->sighand);
  EXPECT_EQ(init_->mm->mm_users.load(), 2);
  EXPECT_TRUE(init_->vfork_waiting);
  EXPECT_STREQ(child->comm, "worker");
  // CLONE_VM: the child sees and changes the parent's memory.
  const unsigned long a = Mmap(kPageSize);
  Put64(child, a, 31);
  EXPECT_EQ(Get64(init_, a), 31u);
  EXPECT_NE(Proc("/proc/" + std::to_string(pid) + "/status").find("PPid:\t1\n"), std::string::npos);
  vm_->DoExitTask(child, 0);
  EXPECT_FALSE(init_->vfork_waiting);
  EXPECT_TRUE(init_->pending_signals & (1ull << (SIGCHLD - 1)));
  EXPECT_EQ(Reap(pid), 0);
  EXPECT_EQ(init_->mm->mm_users.load(), 1);
  EXPECT_EQ(vm_->KernelWait(-1, nullptr), -kECHILD);
  const int f = Fork();
  EXPECT_EQ(vm_->KernelWait(f, nullptr), -kEAGAIN);  // still running
  EXPECT_NE(Task(f)->fs, init_->fs);
  vm_->DoExitTask(Task(f), 0);
  EXPECT_EQ(vm_->KernelWait(-1, nullptr), f);
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/libmm_vm_testXXXXXX";
    const int fd = mkstemp(tmpl);
    path_ = tmpl;
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  std::string Read() const {
    std::string s(1 << 16, '\0');
    const int fd = open(path_.c_str(), O_RDONLY);
    const ssize_t n = read(fd, s.data(), s.size());
    close(fd);
    s.resize(n < 0 ? 0 : n);
    return s;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_P(VmTest, MapSharedHostFileIsWrittenBack) {
  std::string content(3 * kPageSize, 'a');
  content[kPageSize] = 'b';
  TempFile tf(content);
  file* f = vm_->FilpOpen(tf.path().c_str(), O_RDWR, 0);
  ASSERT_FALSE(IsErrValue(reinterpret_cast<unsigned long>(f)));
  const unsigned long a = Mmap(3 * kPageSize, kRW, MAP_SHARED, 0, f, 0);
  ASSERT_FALSE(IsErrValue(a));
  const unsigned long p = Mmap(2 * kPageSize, kRW, MAP_PRIVATE, 0, f, kPageSize);
  ASSERT_FALSE(IsErrValue(p));
  const uint64_t maj0 = vm_->pgmajfault();
  char c = 0;
  EXPECT_EQ(vm_->UserLoad(init_, a + kPageSize, &c, 1), 0);
  EXPECT_EQ(c, 'b');
  EXPECT_EQ(vm_->pgmajfault() - maj0, 1u);
  EXPECT_EQ(vm_->UserLoad(init_, p, &c, 1), 0);  // same page from the cache: minor
  EXPECT_EQ(c, 'b');
  EXPECT_EQ(vm_->pgmajfault() - maj0, 1u);
  EXPECT_EQ(init_->mm->rss_stat[MM_FILEPAGES], 2);
  // A private write copies; it never reaches the file.
  EXPECT_EQ(vm_->UserStore(init_, p + 1, "P", 1), 0);
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 1);
  // Shared writes reach the file on vfs_fsync.
  EXPECT_EQ(vm_->UserStore(init_, a + 2, "XY", 2), 0);
  EXPECT_EQ(tf.Read()[2], 'a');
  EXPECT_EQ(vm_->VfsFsync(f), 0);
  std::string now = tf.Read();
  EXPECT_EQ(now.substr(0, 4), "aaXY");
  EXPECT_EQ(now[kPageSize + 1], 'a');
  // ... and on munmap.
  EXPECT_EQ(vm_->UserStore(init_, a + 2 * kPageSize + 5, "Z", 1), 0);
  const std::string maps = Proc("/proc/self/maps");
  EXPECT_NE(maps.find(tf.path()), std::string::npos) << maps;
  EXPECT_NE(maps.find("rw-s 00000000"), std::string::npos) << maps;
  EXPECT_NE(maps.find("rw-p 00001000"), std::string::npos) << maps;
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(a, 3 * kPageSize), 0);
  EXPECT_EQ(tf.Read()[2 * kPageSize + 5], 'Z');
  EXPECT_EQ(tf.Read().size(), content.size());
  // A read-only file cannot be mapped shared and writable.
  file* ro = vm_->FilpOpen(tf.path().c_str(), O_RDONLY, 0);
  EXPECT_EQ(Mmap(kPageSize, kRW, MAP_SHARED, 0, ro, 0), static_cast<unsigned long>(-kEACCES));
  // Beyond the end of the file: SIGBUS.
  const unsigned long beyond = Mmap(8 * kPageSize, PROT_READ, MAP_SHARED, 0, ro, 0);
  const int pid = Fork();
  EXPECT_EQ(vm_->UserLoad(Task(pid), beyond + 5 * kPageSize, &c, 1), -kEFAULT);
  EXPECT_EQ(Reap(pid), SIGBUS);
  EXPECT_EQ(vm_->VmMunmap(beyond, 8 * kPageSize), 0);
  EXPECT_EQ(vm_->FilpClose(ro), 0);
  EXPECT_EQ(vm_->VmMunmap(p, 2 * kPageSize), 0);
  EXPECT_EQ(vm_->FilpClose(f), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
  file* missing = vm_->FilpOpen("/nonexistent/libmm", O_RDONLY, 0);
  EXPECT_EQ(reinterpret_cast<long>(missing), -kENOENT);
}

TEST_P(VmTest, ChildCannotSeeOrChangeParentMemoryWithMmu) {
  const unsigned long a = Mmap(kPageSize);
  Put64(init_, a, 10);
  const int pid = Fork();
  task_struct* child = Task(pid);
  Put64(child, a, 20);
  EXPECT_EQ(Get64(init_, a), 10u);
  // A fresh parent mapping after fork does not exist in the child.
  const unsigned long b = Mmap(kPageSize);
  Put64(init_, b, 30);
  uint64_t v;
  EXPECT_EQ(vm_->UserLoad(child, b, &v, 8), -kEFAULT);
  EXPECT_EQ(Reap(pid), SIGSEGV);
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(b, kPageSize), 0);
}

TEST_P(VmTest, AsidRolloverKeepsTranslationsRight) {
  const unsigned long a = Mmap(kPageSize);
  Put64(init_, a, 0x5151);
  const uint64_t gen_pages = (1u << kAsidBits) + 16;  // more address spaces than ASIDs
  for (uint64_t i = 0; i < gen_pages; ++i) {
    const int pid = Fork();
    ASSERT_GT(pid, 0);
    task_struct* c = Task(pid);
    uint64_t v = 0;
    ASSERT_EQ(vm_->UserLoad(c, a, &v, 8), 0);  // gives the child an ASID
    ASSERT_EQ(v, 0x5151u);
    if (i % 4096 == 0) Put64(c, a, i);  // a private copy in the child only
    vm_->DoExitTask(c, 0);
    ASSERT_EQ(Reap(pid), 0);
  }
  EXPECT_EQ(Get64(init_, a), 0x5151u);
  Put64(init_, a, 1);
  EXPECT_EQ(Get64(init_, a), 1u);
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, PopulateAndGrowsdown) {
  const uint64_t faults0 = vm_->pgfault();
  const unsigned long a = Mmap(4 * kPageSize, kRW, kAnon | MAP_POPULATE);
  EXPECT_EQ(init_->mm->rss_stat[MM_ANONPAGES], 4);
  EXPECT_EQ(vm_->pgfault() - faults0, 4u);
  Put64(init_, a, 1);  // no fault: already writable
  EXPECT_EQ(vm_->pgfault() - faults0, 4u);
  const unsigned long g = Mmap(2 * kPageSize, kRW, kAnon | MAP_GROWSDOWN, 0x50000000);
  ASSERT_EQ(g, 0x50000000u);
  Put64(init_, g - 2 * kPageSize, 3);  // below the VMA: it grows
  EXPECT_EQ(vm_->FindVma(init_->mm, g)->vm_start, g - 2 * kPageSize);
  EXPECT_NE(Proc("/proc/self/status").find("VmStk:\t     148 kB\n"), std::string::npos)
      << Proc("/proc/self/status");
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(a, 4 * kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(g - 2 * kPageSize, 4 * kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

TEST_P(VmTest, VmstatLinesUseLinuxNames) {
  const unsigned long a = Mmap(kPageSize);
  Put64(init_, a, 1);
  static char buf[4096];
  TextBuffer out(buf, sizeof buf);
  vm_->ShowVmstat(out);
  const std::string s(buf, out.length());
  for (const char* key : {"nr_anon_pages 1\n", "nr_page_table_pages ", "pgfault ", "pgmajfault 0\n"})
    EXPECT_NE(s.find(key), std::string::npos) << key << s;
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), 0);
}

// A toy swap device for the hooks: slots hold page contents and PTE counts.
struct FakeSwap {
  BuddyAllocator* buddy = nullptr;
  std::map<uint64_t, std::pair<std::string, int>> slots;  // offset -> (data, PTE refs)
  int ins = 0;
  // No swap cache: every fault gets its own copy (exclusive when this PTE
  // is the slot's only user).
  static int In(void* ctx, pte_t e, page** out, bool* exclusive) {
    auto* s = static_cast<FakeSwap*>(ctx);
    auto& slot = s->slots.at(SwapPteOffset(e));
    *exclusive = slot.second == 1;
    page* p = s->buddy->AllocPages(GFP_HIGHUSER_MOVABLE, 0);
    if (p == nullptr) return -kENOMEM;
    memcpy(s->buddy->PageAddress(p), slot.first.data(), kPageSize);
    ++s->ins;
    *out = p;
    return 0;
  }
  static void Dup(void* ctx, pte_t e) { ++static_cast<FakeSwap*>(ctx)->slots.at(SwapPteOffset(e)).second; }
  static void Free(void* ctx, pte_t e) {
    auto* s = static_cast<FakeSwap*>(ctx);
    if (--s->slots.at(SwapPteOffset(e)).second == 0) s->slots.erase(SwapPteOffset(e));
  }
};

TEST_P(VmTest, SwapHooksSwapOutAndBackIn) {
  FakeSwap fs;
  fs.buddy = &**buddy_;
  SwapHooks hooks;
  hooks.context = &fs;
  hooks.swap_in = &FakeSwap::In;
  hooks.swap_dup = &FakeSwap::Dup;
  hooks.swap_free = &FakeSwap::Free;
  vm_->SetSwapHooks(&hooks);
  const unsigned long a = Mmap(2 * kPageSize);
  Put64(init_, a, 0xABCD);
  const int pid = Fork();
  task_struct* child = Task(pid);
  page* p = (*buddy_)->PfnToPage(PtePfn(*init_->mm->pgt.Lookup(a)));
  // Swap-out: the swap layer holds a reference, copies the page, unmaps it.
  (*buddy_)->GetPage(p);
  fs.slots[7] = {std::string(static_cast<char*>((*buddy_)->PageAddress(p)), kPageSize), 0};
  bool dirty = false;
  EXPECT_EQ(vm_->UnmapAnonPage(p, MakeSwapPte(0, 7), &dirty), 2);
  EXPECT_TRUE(dirty);
  fs.slots[7].second = 2;
  EXPECT_EQ(p->_mapcount.load(), 0);
  EXPECT_EQ(p->mapping, nullptr);
  (*buddy_)->PutPage(p);  // freed
  EXPECT_EQ(init_->mm->rss_stat[MM_SWAPENTS], 1);
  EXPECT_NE(Proc("/proc/self/status").find("VmSwap:\t       4 kB\n"), std::string::npos);
  EXPECT_TRUE(vm_->CheckInvariants());
  // A grandchild forked now duplicates the swap entry.
  vm_->SetCurrent(child);
  const int gc = Fork();
  vm_->SetCurrent(init_);
  EXPECT_EQ(fs.slots[7].second, 3);
  // Swap-in on access, in each task separately (a major fault each).
  const uint64_t maj = vm_->pgmajfault();
  EXPECT_EQ(Get64(init_, a), 0xABCDu);
  Put64(child, a, 0x1111);
  EXPECT_EQ(Get64(init_, a), 0xABCDu);
  EXPECT_EQ(vm_->pgmajfault() - maj, 2u);
  EXPECT_EQ(fs.slots[7].second, 1);
  EXPECT_TRUE(vm_->CheckInvariants());
  // The grandchild exits without touching it: its PTE's slot reference goes.
  vm_->DoExitTask(Task(gc), 0);
  EXPECT_TRUE(fs.slots.empty());
  vm_->DoExitTask(child, 0);
  Reap(pid);
  EXPECT_EQ(Reap(gc), 0);  // reparented to init
  EXPECT_EQ(vm_->UnmapAnonPage(vm_->zero_page(), MakeSwapPte(0, 1), nullptr), -kEINVAL);
  EXPECT_EQ(vm_->VmMunmap(a, 2 * kPageSize), 0);
  vm_->SetSwapHooks(nullptr);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

// Reclaim's page-cache calls: PageCacheEvict unmaps a page from every
// mapping, writes it back when dirty and leaves a shadow entry whose value a
// refault reports; WritebackPage cleans a page in place; lru_change sees
// pages enter and leave.
struct RefaultLog {
  std::vector<uint64_t> shadows;
  int lru_changes = 0;
  static void Refault(void* c, uint64_t s) { static_cast<RefaultLog*>(c)->shadows.push_back(s); }
  static void Lru(void* c, page*) { ++static_cast<RefaultLog*>(c)->lru_changes; }
};

TEST_P(VmTest, PageCacheEvictWritesBackAndLeavesShadow) {
  RefaultLog log;
  SwapHooks hooks;
  hooks.context = &log;
  hooks.file_refault = &RefaultLog::Refault;
  hooks.lru_change = &RefaultLog::Lru;
  vm_->SetSwapHooks(&hooks);
  TempFile tf(std::string(2 * kPageSize, 'a'));
  file* f = vm_->FilpOpen(tf.path().c_str(), O_RDWR, 0);
  ASSERT_FALSE(IsErrValue(reinterpret_cast<unsigned long>(f)));
  const unsigned long a = Mmap(2 * kPageSize, kRW, MAP_SHARED, 0, f, 0);
  const unsigned long p = Mmap(2 * kPageSize, PROT_READ, MAP_PRIVATE, 0, f, 0);
  ASSERT_FALSE(IsErrValue(a) || IsErrValue(p));
  EXPECT_EQ(vm_->UserStore(init_, a + 1, "W", 1), 0);  // page 0 dirty through the shared mapping
  char c = 0;
  EXPECT_EQ(vm_->UserLoad(init_, p + 1, &c, 1), 0);  // the private mapping maps the cached page
  EXPECT_EQ(c, 'W');
  EXPECT_EQ(log.lru_changes, 1);  // page 0 entered the LRU once
  auto page_at = [&](unsigned long addr) {
    return (*buddy_)->PfnToPage(PtePfn(*init_->mm->pgt.Lookup(addr)));
  };
  page* pg = page_at(a);
  EXPECT_EQ(pg->_mapcount.load(), 2);
  EXPECT_EQ(vm_->nr_file_dirty(), 1u);
  // Reclaim's hold: a reference and PG_locked, taken under vm_lock.
  auto pin = [&](page* x) {
    SpinLockGuard g(vm_->lock());
    (*buddy_)->GetPage(x);
    x->flags |= PG_locked;
  };
  auto unpin = [&](page* x) {
    SpinLockGuard g(vm_->lock());
    x->flags &= ~PG_locked;
    (*buddy_)->PutPage(x);
  };
  pin(pg);
  EXPECT_TRUE(vm_->CheckInvariants());  // exact: cache + 2 PTEs + reclaim
  bool wrote = false;
  EXPECT_EQ(vm_->PageCacheEvict(pg, 0, &wrote), -kEINVAL);  // a shadow value is never 0
  (*buddy_)->GetPage(pg);  // someone else holds it: unmapped and cleaned, but it stays
  EXPECT_EQ(vm_->PageCacheEvict(pg, 5, &wrote), -kEBUSY);
  EXPECT_TRUE(wrote);
  EXPECT_EQ(tf.Read()[1], 'W');
  (*buddy_)->PutPage(pg);
  EXPECT_EQ(vm_->nr_file_dirty(), 0u);
  EXPECT_EQ(vm_->PageCacheEvict(pg, 5, &wrote), 0);
  EXPECT_FALSE(wrote);  // clean by now
  EXPECT_EQ(pg->_refcount.load(), 1);  // only ours
  EXPECT_EQ(pg->mapping, nullptr);
  EXPECT_EQ(log.lru_changes, 2);  // and it left
  unpin(pg);  // freed
  EXPECT_EQ(*init_->mm->pgt.Lookup(a), 0u);
  EXPECT_EQ(*init_->mm->pgt.Lookup(p), 0u);
  EXPECT_EQ(init_->mm->rss_stat[MM_FILEPAGES], 0);
  EXPECT_TRUE(vm_->CheckInvariants());
  // The refault reads it back from the file (a major fault) and reports the shadow.
  const uint64_t maj = vm_->pgmajfault();
  EXPECT_EQ(vm_->UserLoad(init_, a + 1, &c, 1), 0);
  EXPECT_EQ(c, 'W');
  EXPECT_EQ(vm_->pgmajfault(), maj + 1);
  ASSERT_EQ(log.shadows.size(), 1u);
  EXPECT_EQ(log.shadows[0], 5u);
  EXPECT_TRUE(vm_->CheckInvariants());
  // WritebackPage: page_mkclean + write; the page stays; the next store
  // faults and dirties it again.
  EXPECT_EQ(vm_->UserStore(init_, a + kPageSize, "V", 1), 0);
  page* pg1 = page_at(a + kPageSize);
  EXPECT_EQ(vm_->nr_file_dirty(), 1u);
  EXPECT_EQ(vm_->WritebackPage(pg1), 0);
  EXPECT_EQ(tf.Read()[kPageSize], 'V');
  EXPECT_EQ(vm_->nr_file_dirty(), 0u);
  EXPECT_EQ(*init_->mm->pgt.Lookup(a + kPageSize) & kPteW, 0u);
  EXPECT_EQ(vm_->UserStore(init_, a + kPageSize + 1, "U", 1), 0);
  EXPECT_EQ(vm_->nr_file_dirty(), 1u);
  // An anonymous page is no page-cache page.
  const unsigned long an = Mmap(kPageSize);
  Put64(init_, an, 1);
  page* ap = page_at(an);
  pin(ap);
  EXPECT_EQ(vm_->PageCacheEvict(ap, 5, &wrote), -kEINVAL);
  EXPECT_EQ(vm_->WritebackPage(ap), -kEINVAL);
  unpin(ap);
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(an, kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(a, 2 * kPageSize), 0);
  EXPECT_EQ(vm_->VmMunmap(p, 2 * kPageSize), 0);
  EXPECT_EQ(vm_->FilpClose(f), 0);
  EXPECT_EQ(tf.Read().substr(kPageSize, 2), "VU");
  vm_->SetSwapHooks(nullptr);
}

// A fault whose allocation fails drops vm_lock, calls the reclaim hook and
// retries; without progress the OOM hook runs every few rounds, and when it
// kills nobody the faulting task dies of SIGKILL.
struct FakeReclaim {
  VmSystem* vm = nullptr;
  BuddyAllocator* buddy = nullptr;
  std::vector<page*> hoard;
  bool give = true;
  int reclaims = 0, ooms = 0;
  bool called_locked = false;
  static uint64_t Reclaim(void* c) {
    auto* r = static_cast<FakeReclaim*>(c);
    ++r->reclaims;
    if (r->vm->lock().IsLocked()) r->called_locked = true;
    uint64_t n = 0;
    for (; r->give && n < 4 && !r->hoard.empty(); ++n) {
      r->buddy->FreePages(r->hoard.back(), 0);
      r->hoard.pop_back();
    }
    return n;
  }
  static int Oom(void* c) {
    auto* r = static_cast<FakeReclaim*>(c);
    ++r->ooms;
    if (r->vm->lock().IsLocked()) r->called_locked = true;
    return 0;
  }
};

TEST_P(VmTest, FaultWithoutMemoryReclaimsAndRetries) {
  FakeReclaim r;
  r.vm = vm_.get();
  r.buddy = &**buddy_;
  SwapHooks hooks;
  hooks.context = &r;
  hooks.reclaim = &FakeReclaim::Reclaim;
  hooks.out_of_memory = &FakeReclaim::Oom;
  vm_->SetSwapHooks(&hooks);
  const unsigned long a = Mmap(64 * kPageSize);
  Put64(init_, a, 100);  // its page table exists
  const int pid = Fork();
  ASSERT_GT(pid, 0);
  task_struct* child = Task(pid);
  // Every page a fault may take goes to the hoard.
  for (gfp_t gfp : {GFP_KERNEL | __GFP_NOWARN, GFP_HIGHUSER_MOVABLE | __GFP_NOWARN})
    while (page* pg = (*buddy_)->AllocPages(gfp, 0)) r.hoard.push_back(pg);
  ASSERT_GT(r.hoard.size(), 1000u);
  const uint64_t retries = vm_->fault_retries();
  for (unsigned long i = 1; i < 9; ++i) Put64(init_, a + i * kPageSize, 100 + i);
  EXPECT_GT(vm_->fault_retries(), retries);
  EXPECT_GT(r.reclaims, 0);
  EXPECT_EQ(r.ooms, 0);
  EXPECT_FALSE(r.called_locked);
  for (unsigned long i = 0; i < 9; ++i) EXPECT_EQ(Get64(init_, a + i * kPageSize), 100 + i);
  EXPECT_TRUE(vm_->CheckInvariants());
  // No progress at all: the OOM hook runs; it kills nobody, so the child,
  // whose write fault (a CoW copy) cannot get a page, dies of SIGKILL.
  r.give = false;
  uint64_t v = 7;
  EXPECT_EQ(vm_->UserStore(child, a, &v, sizeof v), -kEFAULT);
  EXPECT_EQ(r.ooms, 1);
  EXPECT_FALSE(r.called_locked);
  EXPECT_EQ(Reap(pid) & 0x7f, SIGKILL);
  EXPECT_EQ(Get64(init_, a), 100u);
  for (page* pg : r.hoard) (*buddy_)->FreePages(pg, 0);
  r.hoard.clear();
  EXPECT_TRUE(vm_->CheckInvariants());
  EXPECT_EQ(vm_->VmMunmap(a, 64 * kPageSize), 0);
  vm_->SetSwapHooks(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Sv39AndSv48, VmTest, ::testing::Values(3u, 4u),
                         [](const auto& info) { return info.param == 3 ? "Sv39" : "Sv48"; });

class NommuTest : public VmTest {
 protected:
  void SetUp() override { Boot(false); }
};

TEST_P(NommuTest, AnonymousMmapIsPhysicalAndSharedWithEveryone) {
  EXPECT_FALSE(vm_->mmu());
  const unsigned long a = Mmap(3 * kPageSize);
  ASSERT_FALSE(IsErrValue(a));
  // A user address is a physical address in RAM, contiguous.
  page* p = (*buddy_)->PfnToPage(a >> kPageShift);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ((*buddy_)->PageToPhys(p), a);
  Put64(init_, a + 2 * kPageSize, 5);
  EXPECT_EQ(*reinterpret_cast<uint64_t*>((*buddy_)->PhysToVirt(a + 2 * kPageSize)), 5u);
  // fork is impossible without an MMU.
  EXPECT_EQ(Fork(), -kEINVAL);
  // clone(CLONE_VM) works, and one task reads and changes another's memory.
  kernel_clone_args args;
  args.flags = CLONE_VM;
  args.exit_signal = SIGCHLD;
  const int pid = vm_->KernelClone(&args);
  ASSERT_GT(pid, 0);
  task_struct* child = Task(pid);
  EXPECT_EQ(Get64(child, a + 2 * kPageSize), 5u);
  Put64(child, a, 77);
  EXPECT_EQ(Get64(init_, a), 77u);
  // Even memory the child never mapped: no protection without an MMU.
  vm_->SetCurrent(child);
  const unsigned long mine = Mmap(kPageSize);
  vm_->SetCurrent(init_);
  Put64(init_, mine, 99);
  EXPECT_EQ(Get64(child, mine), 99u);
  uint64_t v = 0;
  EXPECT_EQ(vm_->CopyFromUser(&v, reinterpret_cast<void*>(a), 8), 0u);
  EXPECT_EQ(v, 77u);
  EXPECT_EQ(vm_->VmMunmap(a, kPageSize), -kEINVAL);  // NOMMU unmaps whole regions only
  EXPECT_EQ(vm_->VmMunmap(a, 3 * kPageSize), 0);
  EXPECT_EQ(vm_->Brk(vm_->Brk(0) + kPageSize), vm_->Brk(0));
  vm_->DoExitTask(child, 0);
  EXPECT_EQ(Reap(pid), 0);
  EXPECT_EQ(vm_->VmMunmap(mine, kPageSize), 0);
  EXPECT_EQ(FreeWithTables(), free_after_init_);
}

INSTANTIATE_TEST_SUITE_P(Nommu, NommuTest, ::testing::Values(3u));

}  // namespace
}  // namespace mm
