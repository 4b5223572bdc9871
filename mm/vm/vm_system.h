// VmSystem: libmm's virtual memory — address spaces (mm_struct, a VMA tree),
// Sv39/Sv48 page tables, a software TLB and MMU, page faults (demand zero,
// the shared zero page, a per-file page cache, copy-on-write), tasks with
// kernel_clone/fork/exit/wait, copy_{to,from}_user, a simulated CPU access
// API, /proc/<pid>/{maps,status}, and NOMMU mode (mmu=off).
//
// LOCK ORDER (one lock):
//   VmSystem::lock_ (vm_lock)  ->  the buddy allocator's locks (pcp -> zone)  ->  log
// vm_lock guards every task, mm, VMA, page table, anon_vma, file and page-cache
// structure and the software TLB. Public methods take it; *Locked helpers
// assert it. Host file I/O (FileOps) is called with vm_lock held. No path is
// lockless except the counters' relaxed reads in ShowVmstat.
// The one place vm_lock is dropped inside a call: a user access (UserAccess,
// copy_{to,from}_user) whose fault could not allocate a page releases it,
// calls SwapHooks::reclaim (and, without progress, out_of_memory), takes it
// again and retries the access from the page-table walk (VM_FAULT_RETRY);
// nothing found before the drop is trusted after it.
// The swap layer calls some *Locked helpers (ShmemPageLocked,
// EvictableFilePageLocked, ShmemSwapOutLocked) holding vm_lock itself
// (VmSystem::lock()), so that a multi-step change to a page (a shmem page
// moving from the page cache to the swap cache) is one vm_lock section.
//
// "current" is per cpu (platform::CpuId()), like Linux's per-cpu current:
// SetCurrent on a host thread selects the task the Linux-style calls act for.
//
// Page ownership (invariants checked by CheckInvariants):
//   - anonymous page: PG_anon, mapping == its anon_vma, index == linear index,
//     _mapcount == number of PTEs mapping it; _refcount == _mapcount
//     + 1 if in the swap cache (PG_swapcache) + 1 if held by reclaim
//     (PG_locked). A page in the swap cache is mapped writable only while
//     reclaim holds it (swap-out in progress).
//   - page-cache page: mapping == its address_space, index == file page,
//     _refcount == 1 + _mapcount + 1 if held by reclaim (PG_locked).
//   - the zero page: PG_zero, mapped read-only anywhere, not counted in
//     _mapcount, _refcount or RSS.
//   - a PTE with W set lies in a VMA with VM_WRITE; a private mapping's PTE
//     with W set maps an anonymous page with _mapcount == 1.
#ifndef MM_VM_VM_SYSTEM_H_
#define MM_VM_VM_SYSTEM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/vm/object_pool.h"
#include "mm/vm/page_table.h"
#include "mm/vm/tlb.h"
#include "mm/vm/vm_types.h"

namespace mm {

class VmSystem {
 public:
  static constexpr int kMaxMapCount = 65530;  // vm.max_map_count
  static constexpr unsigned long kMmapMinAddr = 65536;  // vm.mmap_min_addr
  static constexpr unsigned long kStackGuardGap = 256ul << kPageShift;
  static constexpr unsigned long kInitStackSize = 132ul << 10;  // [stack] at boot
  static constexpr unsigned long kStackRlimit = 8ul << 20;

  VmSystem() = default;
  VmSystem(const VmSystem&) = delete;
  VmSystem& operator=(const VmSystem&) = delete;

  // Parses one boot word this layer owns: "mmu=on|off", "pgtable=sv39|sv48".
  // Returns 0 when parsed into *cfg, -EINVAL (with a Printk naming the word)
  // for a bad value, -ENOENT when the word is not a VM word.
  static int ParseVmOption(const char* word, size_t len, VmConfig* cfg);

  // Sets up the zero page and the init task (pid 1, "init", with text, data,
  // brk and [stack] laid out as exec would) and makes it current on every
  // cpu. Returns 0, -ENOMEM or -EINVAL.
  int Init(BuddyAllocator& buddy, const VmConfig& cfg);
  // Frees every task, address space, file and page; afterwards the buddy
  // allocator has every page back that Init and later calls took.
  void Shutdown();
  void SetFileOps(const FileOps* ops);

  bool mmu() const { return cfg_.mmu; }
  PagingMode paging_mode() const { return mode_; }
  unsigned long task_size() const { return task_size_; }

  // ---- Tasks (API.md "Tasks and address spaces") ----
  task_struct* InitTask() { return init_task_; }
  task_struct* Current();
  void SetCurrent(task_struct* t);
  task_struct* FindTaskByPid(int pid);
  static int TaskPid(const task_struct* t) { return t->pid; }
  // kernel_clone: the child's pid or -errno (-EINVAL for a bad flag
  // combination or fork without CLONE_VM under mmu=off, -ENOMEM). Out of
  // memory it reclaims with vm_lock dropped and retries (the OOM killer after
  // reclaim stops making progress) before giving -ENOMEM.
  int KernelClone(const kernel_clone_args* args);
  // do_exit for current (which then becomes its parent, or init, on this cpu).
  void DoExit(long code);
  // The same for any live task (used when a fault kills one).
  void DoExitTask(task_struct* t, long code);
  // Reaps a zombie child of current: pid > 0 that child, -1 any. Returns the
  // pid and sets *status; -ECHILD if no such child; -EAGAIN if it still runs
  // (the simulation never blocks).
  int KernelWait(int pid, int* status);

  // ---- Address space calls of current (Linux's rules and errors) ----
  unsigned long VmMmap(file* f, unsigned long addr, unsigned long len, unsigned long prot,
                       unsigned long flags, unsigned long offset);
  int VmMunmap(unsigned long start, size_t len);
  long Mprotect(unsigned long start, size_t len, unsigned long prot);
  unsigned long Brk(unsigned long brk);
  unsigned long Mremap(unsigned long old_addr, unsigned long old_len, unsigned long new_len,
                       unsigned long flags, unsigned long new_addr);
  // The first VMA with vm_end > addr, or nullptr.
  vm_area_struct* FindVma(mm_struct* mm, unsigned long addr);
  // The first VMA intersecting [start, end), or nullptr.
  vm_area_struct* FindVmaIntersection(mm_struct* mm, unsigned long start, unsigned long end);

  // copy_to_user/copy_from_user for current: bytes NOT copied (faults are
  // resolved as the kernel's would be; a bad address is not fatal).
  unsigned long CopyToUser(void* to, const void* from, unsigned long n);
  unsigned long CopyFromUser(void* to, const void* from, unsigned long n);

  // Host files to map: filp_open returns a file or an ERR_PTR (-ENOENT,
  // -ENOSYS without FileOps). filp_close drops the opener's reference; the
  // page cache is written back and freed with the last reference.
  file* FilpOpen(const char* path, int flags, unsigned short mode);
  int FilpClose(file* f);
  // Writes every dirty page of f's page cache back (PTE dirty bits included).
  int VfsFsync(file* f);

  // ---- The simulated CPU (hardware view) ----
  // Loads/stores/fetches `n` bytes of task t's memory at user address `addr`
  // as a hart in user mode: TLB, then a page-table walk (setting A/D), then
  // the fault handler. Returns 0; on an unresolvable fault delivers SIGSEGV
  // (or SIGBUS) to t, kills it (the parent sees the signal in kernel_wait),
  // and returns -EFAULT. t must be alive and stay unreaped during the call.
  // A fault whose page allocation fails drops vm_lock, runs direct reclaim
  // through the swap hooks and retries; when reclaim makes no progress the
  // OOM killer runs. If t itself is killed meanwhile: -ESRCH (no signal line
  // printed; the kill was logged). Without reclaim hooks, or when nothing can
  // be killed, the task gets SIGKILL as before.
  int UserAccess(task_struct* t, Access type, unsigned long addr, void* buf, size_t n);
  int UserLoad(task_struct* t, unsigned long addr, void* out, size_t n) {
    return UserAccess(t, Access::kLoad, addr, out, n);
  }
  int UserStore(task_struct* t, unsigned long addr, const void* in, size_t n) {
    return UserAccess(t, Access::kStore, addr, const_cast<void*>(in), n);
  }
  int UserFetch(task_struct* t, unsigned long addr, void* out, size_t n) {
    return UserAccess(t, Access::kFetch, addr, out, n);
  }
  // The MMU alone: the physical address `addr` translates to for `type`,
  // without faulting (0 and *pa set, or -EFAULT). Fills the TLB like a hart.
  int Translate(task_struct* t, Access type, unsigned long addr, PhysAddr* pa);

  // handle_mm_fault (VM_FAULT_* bits; 0 = resolved). For the swap layer and tests.
  unsigned HandleMmFault(vm_area_struct* vma, unsigned long addr, unsigned flags);

  // ---- TLB maintenance ----
  void FlushTlbPage(vm_area_struct* vma, unsigned long addr);
  void FlushTlbRange(vm_area_struct* vma, unsigned long start, unsigned long end);
  void FlushTlbMm(mm_struct* mm);
  // satp value for mm (MODE | ASID | root PPN), for a RISC-V hart.
  uint64_t Satp(mm_struct* mm);

  // ---- Reverse map (for swap) ----
  // Calls fn(vma, addr, pte, ctx) for every PTE mapping `p` (an anonymous or
  // page-cache page); stops when fn returns false. Returns mappings visited.
  using RmapFn = bool (*)(vm_area_struct* vma, unsigned long addr, pte_t* pte, void* ctx);
  int RmapWalk(page* p, RmapFn fn, void* ctx);

  // try_to_unmap for swap-out: every PTE mapping the anonymous page p becomes
  // `swap_pte` (a swap entry); each such PTE drops its mapcount and reference
  // on p (so the caller must hold its own reference) and holds one reference
  // on the swap slot. Returns the number of PTEs replaced and sets *dirty if
  // any was dirty; -EINVAL if p is not anonymous or swap_pte not a swap entry.
  int UnmapAnonPage(page* p, pte_t swap_pte, bool* dirty);
  void SetSwapHooks(const SwapHooks* hooks);

  // ---- Page-cache reclaim (for the swap/reclaim layer) ----
  // True when p is a page-cache page reclaim may evict (PG_lru: its file has
  // backing), read under vm_lock (the caller holds it).
  bool EvictableFilePageLocked(const page* p) const MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Evicts the page-cache page p, which the caller holds (one reference of
  // its own, PG_locked set under vm_lock): unmaps it from every PTE through
  // the file's i_mmap (PTE D bits become PG_dirty), writes it back through
  // FileOps when dirty, removes it from the page cache and leaves a shadow
  // entry holding `shadow` (non-zero: SwapHooks::file_refault gets it back
  // on a refault). On return 0 the caller's reference is the last one.
  // -EINVAL: p is not an evictable page-cache page (any more); -EBUSY: still
  // referenced by someone else; a write-back error (-EIO...): the page stays
  // cached, unmapped and dirty. *wrote tells whether it was written back.
  int PageCacheEvict(page* p, uint64_t shadow, bool* wrote);
  // Writes one page-cache page back (page_mkclean: PTE D bits move into
  // PG_dirty and the PTEs lose W, then FileOps write); it stays cached.
  // 0 (also when it was clean) or -errno. The caller holds a reference.
  int WritebackPage(page* p);
  // ---- Shared anonymous memory (shmem) reclaim ----
  // True when p is a resident shmem page (PG_swapbacked, in the index of a
  // shared anonymous mapping's unnamed file): it belongs on the anon LRU.
  // vm_lock held (the caller holds it).
  bool ShmemPageLocked(const page* p) const MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // shmem_writepage's VM half. The caller holds p (a reference of its own,
  // PG_locked), has put it in the swap cache under `entry` and taken one
  // slot reference for the index node. Every PTE mapping p becomes none
  // (through i_mmap), then p leaves the page cache: its index node keeps
  // `entry` (nrswapped) and the cache's page reference goes. 0 on success;
  // -EINVAL: not a shmem page (any more); -EBUSY: referenced by someone
  // else (it stays cached, unmapped). On failure the index holds no entry.
  // vm_lock held, and held by the caller from the swap-cache insertion to
  // here (and through the undo on failure): a page in the page cache and the
  // swap cache at once is never seen by another vm_lock holder (its refcount
  // would be 1 + mapcount + reclaim + the swap cache's, against the rule
  // above and CheckInvariants).
  int ShmemSwapOutLocked(page* p, pte_t entry) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  uint64_t nr_shmem_pages() const { return nr_shmem_.load(std::memory_order_relaxed); }
  uint64_t shmem_swapouts() const { return shmem_swapout_.load(std::memory_order_relaxed); }
  uint64_t shmem_swapins() const { return shmem_swapin_.load(std::memory_order_relaxed); }
  uint64_t nr_file_pages() const { return nr_file_pages_.load(std::memory_order_relaxed); }
  uint64_t nr_file_dirty() const { return nr_dirty_.load(std::memory_order_relaxed); }

  // ---- Views and checks ----
  // /proc/<pid>/maps and /proc/<pid>/status (Linux formats), /proc/self/...;
  // returns the text length or -ENOENT for any other path.
  long ProcRead(const char* path, TextBuffer& out);
  // pgfault, pgmajfault, nr_page_table_pages, ... in /proc/vmstat's format.
  void ShowVmstat(TextBuffer& out);
  uint64_t pgfault() const { return pgfault_.load(std::memory_order_relaxed); }
  uint64_t pgmajfault() const { return pgmajfault_.load(std::memory_order_relaxed); }
  uint64_t nr_page_table_pages() const { return nr_pgtables_.load(std::memory_order_relaxed); }
  uint64_t tlb_hits() const { return tlb_.hits(); }
  uint64_t tlb_fills() const { return tlb_.fills(); }
  uint64_t cow_faults() const { return cow_faults_.load(std::memory_order_relaxed); }
  // Faults that dropped vm_lock to reclaim and retried (VM_FAULT_RETRY).
  uint64_t fault_retries() const { return fault_retries_.load(std::memory_order_relaxed); }
  // MAP_POPULATE rounds that dropped vm_lock to reclaim and went on.
  uint64_t populate_retries() const { return populate_retries_.load(std::memory_order_relaxed); }
  uint64_t pgfile_evicted() const { return pgfile_evicted_.load(std::memory_order_relaxed); }
  int nr_tasks() const { return nr_tasks_; }
  page* zero_page() const { return zero_page_; }
  // Walks every task, mm, VMA tree, page table and page it maps; prints the
  // first violation and returns false. O(mapped pages).
  bool CheckInvariants();

  // For benchmarks: the TLB and the page-table walk of the MMU alone.
  SoftTlb& tlb() { return tlb_; }
  // Walks mm's tables for `va` as the MMU does on a TLB miss (sets A/D, fills
  // the TLB); returns the host address or 0 for a page fault. vm_lock held.
  uintptr_t MmuWalk(mm_struct* mm, unsigned long va, Access type) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  SpinLock& lock() { return lock_; }

 private:
  // One page-cache index node (address_space::pages, keyed by index).
  struct PcNode {
    AvlNode node;
    uint64_t index = 0;
    page* pg = nullptr;   // nullptr: a shadow entry or a swap entry
    uint64_t shadow = 0;  // the evictor's value (pg == nullptr, file with backing)
    pte_t swap = 0;       // a shmem page's swap entry (pg == nullptr); holds a slot reference
  };
  friend struct VmCopyWalk;

  // tasks
  task_struct* AllocTask();
  void FreeTask(task_struct* t);
  mm_struct* MmAlloc();
  void MmPut(mm_struct* mm);     // mm_users--; exit_mmap at zero
  void MmDrop(mm_struct* mm);    // mm_count--; free at zero
  int DupMm(mm_struct* old_mm, mm_struct** out);
  void ExitMmap(mm_struct* mm);
  void ExitTaskLocked(task_struct* t, long code);
  void ReapLocked(task_struct* t);
  int SetupInitMm(mm_struct* mm);
  task_struct* CurrentLocked();

  // VMAs
  vm_area_struct* VmaAlloc(mm_struct* mm);
  vm_area_struct* VmaDup(mm_struct* mm, const vm_area_struct* src, unsigned long start,
                         unsigned long end);
  void VmaFree(vm_area_struct* vma);
  void VmaLink(mm_struct* mm, vm_area_struct* vma);
  void VmaUnlink(mm_struct* mm, vm_area_struct* vma);
  vm_area_struct* VmaNext(mm_struct* mm, vm_area_struct* vma);
  vm_area_struct* VmaPrev(mm_struct* mm, vm_area_struct* vma);
  void VmStatAccount(mm_struct* mm, unsigned long flags, long pages);
  int SplitVma(mm_struct* mm, vm_area_struct* vma, unsigned long addr);
  bool CanMerge(vm_area_struct* a, vm_area_struct* b);
  vm_area_struct* TryMerge(mm_struct* mm, vm_area_struct* vma);
  void AnonVmaAttach(vm_area_struct* vma, anon_vma* av);
  void AnonVmaDetach(vm_area_struct* vma);
  int AnonVmaPrepare(vm_area_struct* vma);
  void FileVmaAttach(vm_area_struct* vma, file* f);
  void FileVmaDetach(vm_area_struct* vma);

  // mmap
  unsigned long GetUnmappedArea(mm_struct* mm, unsigned long addr, unsigned long len,
                                unsigned long flags);
  bool RangeFree(mm_struct* mm, unsigned long start, unsigned long end);
  static void VmaAugment(AvlNode* n);
  static vm_area_struct* GapSearchTopDown(AvlNode* n, unsigned long len, unsigned long low,
                                          unsigned long high);
  unsigned long DoMmap(mm_struct* mm, file* f, unsigned long addr, unsigned long len,
                       unsigned long prot, unsigned long flags, unsigned long pgoff);
  int DoMunmap(mm_struct* mm, unsigned long start, unsigned long len);
  unsigned long NommuMmap(mm_struct* mm, file* f, unsigned long len, unsigned long prot,
                          unsigned long flags, unsigned long pgoff);
  int NommuMunmap(mm_struct* mm, unsigned long start, unsigned long len);
  void ZapRange(mm_struct* mm, vm_area_struct* vma, unsigned long start, unsigned long end);
  void FreePgtables(mm_struct* mm, unsigned long start, unsigned long end);
  void ChangeProtection(mm_struct* mm, vm_area_struct* vma, unsigned long start,
                        unsigned long end);
  int MoveVmaPages(mm_struct* mm, unsigned long old_addr, unsigned long new_addr,
                   unsigned long len);
  int Populate(mm_struct* mm, unsigned long* start, unsigned long end);
  int MmPopulate(task_struct* t, unsigned long start, unsigned long end)
      MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);

  // faults
  unsigned HandleMmFaultLocked(vm_area_struct* vma, unsigned long addr, unsigned flags);
  unsigned DoAnonymousPage(vm_area_struct* vma, unsigned long addr, pte_t* pte, unsigned flags);
  unsigned DoFileFault(vm_area_struct* vma, unsigned long addr, pte_t* pte, unsigned flags);
  unsigned DoWpPage(vm_area_struct* vma, unsigned long addr, pte_t* pte);
  unsigned DoSwapPage(vm_area_struct* vma, unsigned long addr, pte_t* pte, unsigned flags);
  // The user fault path for the MMU: resolves or returns the signal (SIGSEGV/SIGBUS/SIGKILL).
  int UserFault(task_struct* t, unsigned long addr, Access type);
  // The retry half of a fault that could not allocate: drops vm_lock, runs
  // the reclaim hook (the OOM hook after kNoProgressOom rounds without
  // progress), takes vm_lock again. False when nothing more can be done.
  bool ReclaimForFault(int* no_progress) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // One attempt of KernelClone, under vm_lock (-ENOMEM leaves nothing behind).
  int KernelCloneOnce(const kernel_clone_args* args) MM_LOCKS_EXCLUDED(lock_);
  static constexpr int kFaultNeedsMemory = -1;  // UserFault: allocation failed
  static constexpr int kTaskGone = -2;          // AccessOne: t died meanwhile
  static constexpr int kNoProgressOom = 4;
  static constexpr int kMaxFaultRetries = 1024;
  bool ExpandStack(vm_area_struct* vma, unsigned long addr);
  pte_t MkPte(vm_area_struct* vma, page* p, bool writable);
  void PageAddAnonRmap(page* p, vm_area_struct* vma, unsigned long addr);
  void PageRemoveRmap(mm_struct* mm, page* p);  // one PTE gone: mapcount/ref drop
  void LruChange(page* p) {
    if (swap_ != nullptr && swap_->lru_change != nullptr) swap_->lru_change(swap_->context, p);
  }
  page* NewAnonPage(bool zero);
  void ForceSig(task_struct* t, int sig, unsigned long addr);
  uintptr_t AccessOne(task_struct* t, unsigned long addr, Access type, int* sig);
  unsigned long CopyUser(void* user, void* kernel, unsigned long n, bool to_user);
  void EnsureAsid(mm_struct* mm);
  void TlbFlushRange(mm_struct* mm, unsigned long start, unsigned long end);

  // files
  page* FindOrReadPage(file* f, uint64_t index, bool* major, unsigned* fault);
  // A shmem index node holding a swap entry: the page comes back from the
  // swap cache or the device and is put back in the node (nullptr, *fault).
  page* ShmemSwapIn(address_space* as, PcNode* n, unsigned* fault);
  void PageCacheAdded(address_space* as, page* p);  // counters and LRU of a new cached page
  static bool IsShmem(const address_space* as) { return as->host != nullptr && as->host->handle < 0; }
  // Which rss_stat counter a PTE mapping p counts in (mm_counter).
  static int RssCounter(const page* p) {
    return PageHasFlag(p, PG_anon) ? MM_ANONPAGES
                                   : PageHasFlag(p, PG_swapbacked) ? MM_SHMEMPAGES : MM_FILEPAGES;
  }
  int WritePage(file* f, page* p);
  void PageCacheRemove(file* f, PcNode* n);
  PcNode* PageCacheFind(address_space* as, uint64_t index);
  void SetPageDirtyFile(page* p);    // PG_dirty on a page-cache page, counted
  void ClearPageDirtyFile(page* p);
  int MkcleanFilePage(page* p);      // PTE D -> PG_dirty, W dropped; PTEs visited
  int UnmapFilePage(page* p);        // every PTE -> none; PTEs left mapping p
  void FputLocked(file* f);
  int SyncFileLocked(file* f);

  // views
  void ShowMaps(task_struct* t, TextBuffer& out);
  void ShowStatus(task_struct* t, TextBuffer& out);
  bool CheckMm(mm_struct* mm);

  uintptr_t HostOfPfn(Pfn pfn) const { return buddy_->PhysToVirt(pfn << kPageShift); }

  SpinLock lock_;
  BuddyAllocator* buddy_ = nullptr;
  VmConfig cfg_;
  PagingMode mode_{3};
  unsigned long task_size_ = 0;
  const FileOps* file_ops_ = nullptr;
  const SwapHooks* swap_ = nullptr;
  page* zero_page_ = nullptr;
  Pfn zero_pfn_ = 0;
  task_struct* init_task_ = nullptr;
  task_struct* current_[kMaxCpus] = {};
  List tasks_;
  List mms_;
  List files_;
  int next_pid_ = 1;
  int nr_tasks_ = 0;
  SoftTlb tlb_;
  unsigned next_asid_ = 1;
  uint64_t asid_generation_ = 1;
  ObjectPool task_pool_, mm_pool_, vma_pool_, anon_vma_pool_, file_pool_, pc_pool_, small_pool_;
  std::atomic<uint64_t> pgfault_{0}, pgmajfault_{0}, nr_pgtables_{0}, cow_faults_{0},
      zero_faults_{0}, nr_anon_pages_{0}, nr_file_pages_{0}, nr_dirtied_{0}, nr_written_{0},
      nr_dirty_{0}, fault_retries_{0}, pgfile_evicted_{0}, nr_shmem_{0}, shmem_swapout_{0},
      shmem_swapin_{0}, populate_retries_{0};
  bool initialized_ = false;
};

}  // namespace mm

#endif  // MM_VM_VM_SYSTEM_H_
