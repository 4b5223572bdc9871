// Linux-named VM types and constants: task_struct, mm_struct, vm_area_struct,
// file, kernel_clone_args, PROT_* / MAP_* / CLONE_* / SIG* / O_* (Linux's
// values, defined as macros only where the C library has not, API.md).
//
// Concurrency: every field below is guarded by the owning VmSystem's vm_lock
// unless it says otherwise (mm_users/mm_count are atomics so a holder can pin
// an mm cheaply; they change only under vm_lock too).
#ifndef MM_VM_VM_TYPES_H_
#define MM_VM_VM_TYPES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/list.h"
#include "mm/buddy/page.h"
#include "mm/vm/avl_tree.h"
#include "mm/vm/page_table.h"
#include "mm/vm/riscv_pte.h"

// ---- Constants (Linux's numbers; the C library may already define them) ----
#ifndef PROT_NONE
#define PROT_NONE 0x0
#endif
#ifndef PROT_READ
#define PROT_READ 0x1
#endif
#ifndef PROT_WRITE
#define PROT_WRITE 0x2
#endif
#ifndef PROT_EXEC
#define PROT_EXEC 0x4
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef PROT_GROWSDOWN
#define PROT_GROWSDOWN 0x01000000
#endif
#ifndef PROT_GROWSUP
#define PROT_GROWSUP 0x02000000
#endif
#ifndef MAP_SHARED
#define MAP_SHARED 0x01
#endif
#ifndef MAP_PRIVATE
#define MAP_PRIVATE 0x02
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_TYPE
#define MAP_TYPE 0x0f
#endif
#ifndef MAP_FIXED
#define MAP_FIXED 0x10
#endif
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS 0x20
#endif
#ifndef MAP_ANON
#define MAP_ANON MAP_ANONYMOUS
#endif
#ifndef MAP_GROWSDOWN
#define MAP_GROWSDOWN 0x0100
#endif
#ifndef MAP_DENYWRITE
#define MAP_DENYWRITE 0x0800
#endif
#ifndef MAP_EXECUTABLE
#define MAP_EXECUTABLE 0x1000
#endif
#ifndef MAP_LOCKED
#define MAP_LOCKED 0x2000
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0x4000
#endif
#ifndef MAP_POPULATE
#define MAP_POPULATE 0x8000
#endif
#ifndef MAP_NONBLOCK
#define MAP_NONBLOCK 0x10000
#endif
#ifndef MAP_STACK
#define MAP_STACK 0x20000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_FAILED
#define MAP_FAILED ((void*)-1)
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef CSIGNAL
#define CSIGNAL 0x000000ff
#endif
#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif
#ifndef CLONE_FS
#define CLONE_FS 0x00000200
#endif
#ifndef CLONE_FILES
#define CLONE_FILES 0x00000400
#endif
#ifndef CLONE_SIGHAND
#define CLONE_SIGHAND 0x00000800
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_PTRACE
#define CLONE_PTRACE 0x00002000
#endif
#ifndef CLONE_VFORK
#define CLONE_VFORK 0x00004000
#endif
#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif
#ifndef CLONE_NEWNS
#define CLONE_NEWNS 0x00020000
#endif
#ifndef CLONE_SYSVSEM
#define CLONE_SYSVSEM 0x00040000
#endif
#ifndef CLONE_SETTLS
#define CLONE_SETTLS 0x00080000
#endif
#ifndef CLONE_PARENT_SETTID
#define CLONE_PARENT_SETTID 0x00100000
#endif
#ifndef CLONE_CHILD_CLEARTID
#define CLONE_CHILD_CLEARTID 0x00200000
#endif
#ifndef CLONE_DETACHED
#define CLONE_DETACHED 0x00400000
#endif
#ifndef CLONE_UNTRACED
#define CLONE_UNTRACED 0x00800000
#endif
#ifndef CLONE_CHILD_SETTID
#define CLONE_CHILD_SETTID 0x01000000
#endif
#ifndef SIGKILL
#define SIGKILL 9
#endif
#ifndef SIGBUS
#define SIGBUS 7
#endif
#ifndef SIGSEGV
#define SIGSEGV 11
#endif
#ifndef SIGCHLD
#define SIGCHLD 17
#endif
#ifndef O_RDONLY
#define O_RDONLY 00
#endif
#ifndef O_WRONLY
#define O_WRONLY 01
#endif
#ifndef O_RDWR
#define O_RDWR 02
#endif
#ifndef O_ACCMODE
#define O_ACCMODE 03
#endif
#ifndef O_CREAT
#define O_CREAT 0100
#endif
#ifndef O_TRUNC
#define O_TRUNC 01000
#endif

namespace mm {

// vm_area_struct::vm_flags (Linux's bit values).
inline constexpr unsigned long VM_NONE = 0x0;
inline constexpr unsigned long VM_READ = 0x1;
inline constexpr unsigned long VM_WRITE = 0x2;
inline constexpr unsigned long VM_EXEC = 0x4;
inline constexpr unsigned long VM_SHARED = 0x8;
inline constexpr unsigned long VM_MAYREAD = 0x10;
inline constexpr unsigned long VM_MAYWRITE = 0x20;
inline constexpr unsigned long VM_MAYEXEC = 0x40;
inline constexpr unsigned long VM_MAYSHARE = 0x80;
inline constexpr unsigned long VM_GROWSDOWN = 0x100;
inline constexpr unsigned long VM_LOCKED = 0x2000;
inline constexpr unsigned long VM_DONTCOPY = 0x20000;
inline constexpr unsigned long VM_ACCOUNT = 0x100000;
inline constexpr unsigned long VM_NORESERVE = 0x200000;
inline constexpr unsigned long VM_STACK = VM_GROWSDOWN;
inline constexpr unsigned long VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

// Fault flags (FAULT_FLAG_*) and results (VM_FAULT_*), Linux's values.
inline constexpr unsigned FAULT_FLAG_WRITE = 0x1;
inline constexpr unsigned FAULT_FLAG_USER = 0x40;
inline constexpr unsigned FAULT_FLAG_INSTRUCTION = 0x100;
inline constexpr unsigned VM_FAULT_OOM = 0x1;
inline constexpr unsigned VM_FAULT_SIGBUS = 0x2;
inline constexpr unsigned VM_FAULT_MAJOR = 0x4;
inline constexpr unsigned VM_FAULT_SIGSEGV = 0x40;
inline constexpr unsigned VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

// task_struct::exit_state.
inline constexpr int EXIT_ZOMBIE = 0x20;
inline constexpr int EXIT_DEAD = 0x10;

// Linux's order; MM_SHMEMPAGES counts PTEs mapping pages of shared anonymous
// memory (the unnamed shmem file), MM_FILEPAGES the other page-cache pages.
enum mm_counter {
  MM_FILEPAGES = 0,
  MM_ANONPAGES = 1,
  MM_SWAPENTS = 2,
  MM_SHMEMPAGES = 3,
  NR_MM_COUNTERS = 4
};

struct mm_struct;
struct vm_area_struct;
struct file;

// The anonymous-memory reverse map: every VMA whose anonymous pages may sit
// in pages pointing here (fork shares the parent's anon_vma with the child's
// copy of the VMA). An anonymous page has PG_anon, page->mapping == its
// anon_vma and page->index == its linear index (vma->vm_pgoff + offset), so
// its mappings are found by walking `vmas`. Invariant: refcount == |vmas|.
struct anon_vma {
  List vmas;  // vm_area_struct::anon_vma_node
  long refcount = 0;
};

struct vm_operations_struct {
  void (*open)(vm_area_struct* vma);
  void (*close)(vm_area_struct* vma);
  const char* (*name)(vm_area_struct* vma);  // "[vdso]"-style name for /proc maps
};

// Invariants: vm_start < vm_end, both page-aligned; the VMA is in its mm's
// tree and list exactly once; vm_pgoff is the file page of vm_start (file
// mappings) or the linear index of vm_start (anonymous: vm_start >> 12 when
// created, kept across mremap so page->index stays valid).
struct vm_area_struct {
  unsigned long vm_start = 0;
  unsigned long vm_end = 0;
  mm_struct* vm_mm = nullptr;
  unsigned long vm_flags = 0;
  unsigned long vm_pgoff = 0;
  file* vm_file = nullptr;
  struct anon_vma* anon_vma = nullptr;
  const vm_operations_struct* vm_ops = nullptr;
  void* vm_private_data = nullptr;
  AvlNode vm_rb;           // mm->mm_rb, keyed by vm_start (in-order = address order)
  // The free gap below this VMA (vm_start - previous VMA's vm_end, or
  // vm_start for the first) and the largest such gap in its subtree: the
  // tree's augmentation, so mmap finds a hole in O(log n).
  unsigned long gap_before = 0;
  unsigned long rb_subtree_gap = 0;
  ListNode anon_vma_node;  // anon_vma->vmas
  ListNode shared;         // file->f_mapping.i_mmap
  page* nommu_pages = nullptr;  // mmu=off: the contiguous block backing it
  unsigned nommu_order = 0;
};

// The page cache of one file: pages indexed by file page number (an AVL tree
// of small index nodes), and the VMAs mapping it (for write-back). A cached
// page has mapping == this, index == file page, PG_uptodate, and holds one
// reference for the cache plus one per PTE mapping it (plus one while
// reclaim holds it, PG_locked). Pages of a file with backing (FileOps handle)
// carry PG_lru: reclaim may evict them (VmSystem::PageCacheEvict), leaving a
// shadow entry (an index node without page) for refault detection.
// Shared anonymous memory (shmem: the unnamed file behind MAP_SHARED|
// MAP_ANONYMOUS, no backing) has PG_swapbacked pages instead, which sit on
// the anon LRU; reclaim moves such a page to a swap slot and leaves the swap
// entry in its index node (VmSystem::ShmemSwapOutLocked; Linux keeps it in the
// shmem mapping's xarray), and the next fault of any sharer swaps it back in
// there (the PTEs of a shmem page are none while it is out).
struct address_space {
  AvlTree pages;             // resident pages, shadow entries, swap entries
  unsigned long nrpages = 0;     // resident pages
  unsigned long nrshadows = 0;   // shadow entries (evicted file pages)
  unsigned long nrswapped = 0;   // swap entries (shmem pages on a swap device)
  // pages.size() == nrpages + nrshadows + nrswapped
  List i_mmap;  // vm_area_struct::shared
  file* host = nullptr;
};

struct file {
  long f_count = 0;  // filp_open's reference + one per VMA mapping it
  unsigned f_flags = 0;
  int64_t handle = -1;  // the FileOps handle
  uint64_t dev = 0, ino = 0;
  address_space f_mapping;
  ListNode files;  // VmSystem's open files
  char path[192] = {};
};

// Per-address-space state. Invariants (VmSystem::CheckInvariants):
//   map_count == |VMAs| == mm_rb.size(); VMAs are sorted and disjoint;
//   total_vm == sum of VMA pages; data_vm/exec_vm/stack_vm likewise by flags;
//   rss_stat[MM_ANONPAGES] / [MM_FILEPAGES] / [MM_SHMEMPAGES] == present PTEs
//   of anonymous / page-cache / shmem pages (the zero page counts in neither);
//   the mm's page tables == pgt.nr_tables(); mm_users >= 0, mm_count >= 1
//   while the struct lives (mm_users > 0 holds one mm_count).
struct mm_struct {
  AvlTree mm_rb;     // VMAs by vm_start
  int map_count = 0;
  unsigned long total_vm = 0, data_vm = 0, exec_vm = 0, stack_vm = 0, locked_vm = 0;
  unsigned long hiwater_vm = 0, hiwater_rss = 0;
  long rss_stat[NR_MM_COUNTERS] = {};
  std::atomic<int> mm_users{1};
  std::atomic<int> mm_count{1};
  unsigned long mmap_base = 0, task_size = 0;
  unsigned long start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  unsigned long start_brk = 0, brk = 0, start_stack = 0;
  PageTable pgt;               // the page table (not initialised with mmu=off)
  unsigned asid = 0;           // 0: none yet
  uint64_t asid_generation = 0;
  ListNode mmlist;             // VmSystem's list of live mms
};

// fs, files and signal-handler tables: shared by CLONE_FS / CLONE_FILES /
// CLONE_SIGHAND, copied otherwise. `users` counts the tasks sharing one.
struct fs_struct {
  int users = 1;
  unsigned umask = 022;
};
struct files_struct {
  int count = 1;
  int max_fds = 64;
};
struct sighand_struct {
  int count = 1;
  uint64_t ignored = 0;  // bit n-1: signal n ignored
};

struct task_struct {
  int pid = 0;
  char comm[16] = {};
  unsigned state = 0;  // 0 running
  int exit_state = 0;  // 0, EXIT_ZOMBIE or EXIT_DEAD
  int exit_code = 0;   // the wait status
  int exit_signal = 0; // sent to the parent at exit (SIGCHLD for fork)
  unsigned long clone_flags = 0;
  mm_struct* mm = nullptr;
  mm_struct* active_mm = nullptr;
  task_struct* parent = nullptr;
  List children;    // task_struct::sibling
  ListNode sibling;
  ListNode tasks;   // VmSystem's task list
  fs_struct* fs = nullptr;
  files_struct* files = nullptr;
  sighand_struct* sighand = nullptr;
  uint64_t pending_signals = 0;  // bit n-1: signal n pending
  unsigned long min_flt = 0, maj_flt = 0;
  task_struct* vfork_parent = nullptr;  // CLONE_VFORK: released at exit
  bool vfork_waiting = false;           // this parent waits for a vfork child
  unsigned long fault_addr = 0;         // last SIGSEGV/SIGBUS address
  int fault_signal = 0;
};

struct kernel_clone_args {
  unsigned long flags = 0;   // CLONE_* (the low byte, CSIGNAL, is ignored: use exit_signal)
  int exit_signal = 0;       // SIGCHLD for fork
  const char* name = nullptr;  // comm of the child (default: the parent's)
};

// The host-file hook: mm/vm stays freestanding; a host-only target
// (//mm/vm:host_file_ops) implements this over POSIX, and a kernel could over
// its block layer. Functions return >= 0 or -errno.
struct FileOps {
  void* context = nullptr;
  int (*open)(void* ctx, const char* path, int flags, unsigned mode, int64_t* handle) = nullptr;
  long (*read)(void* ctx, int64_t handle, uint64_t offset, void* buf, size_t n) = nullptr;
  long (*write)(void* ctx, int64_t handle, uint64_t offset, const void* buf, size_t n) = nullptr;
  int64_t (*size)(void* ctx, int64_t handle) = nullptr;
  int (*sync)(void* ctx, int64_t handle) = nullptr;
  int (*close)(void* ctx, int64_t handle) = nullptr;
  // Device and inode numbers for /proc/<pid>/maps (may be nullptr).
  int (*stat)(void* ctx, int64_t handle, uint64_t* dev, uint64_t* ino) = nullptr;
};

// What the swap and reclaim layer plugs in (VmSystem::SetSwapHooks). A
// non-present PTE that is not PROT_NONE holds a swap entry (riscv_pte.h
// MakeSwapPte); every such PTE holds one reference on its swap slot.
struct SwapHooks {
  void* context = nullptr;
  // do_swap_page (and shmem_swapin_folio for an entry kept in a shmem index
  // node), called with vm_lock held: the page of `entry` with one
  // reference for the caller. It is the swap cache's page (PG_swapcache,
  // private == entry): found there (maybe already mapped by other PTEs that
  // held the entry — then it is an anonymous page of their anon_vma), or
  // read from the device into a new page inserted there. *exclusive is set
  // when no other PTE holds the entry and no PTE maps the page, so the VM may
  // map it writable (the swap_free that follows then drops it from the swap
  // cache). Returns 0, -ENOMEM (no page: the fault reclaims and retries) or
  // another -errno (SIGBUS). Allocates without direct reclaim.
  int (*swap_in)(void* ctx, pte_t entry, page** out, bool* exclusive) = nullptr;
  // A PTE holding `entry` was copied (fork). vm_lock held.
  void (*swap_dup)(void* ctx, pte_t entry) = nullptr;
  // A PTE holding `entry` went away (munmap, exit, or after a swap-in).
  // vm_lock held. With the last PTE reference the swap cache lets go of the
  // entry's page (a page still mapped stays mapped).
  void (*swap_free)(void* ctx, pte_t entry) = nullptr;
  // Direct reclaim for a fault whose page allocation failed: called WITHOUT
  // vm_lock (the fault dropped it and retries afterwards, VM_FAULT_RETRY
  // style). Returns the progress made (pages freed; 0 = none).
  uint64_t (*reclaim)(void* ctx) = nullptr;
  // The OOM killer, when reclaim made no progress several times in a row:
  // called WITHOUT vm_lock; returns the pid killed or 0 when none was.
  int (*out_of_memory)(void* ctx) = nullptr;
  // A file page evicted with shadow value `shadow` (PageCacheEvict) is read
  // again (vm_lock held): refault-distance accounting.
  void (*file_refault)(void* ctx, uint64_t shadow) = nullptr;
  // lru_cache_add and its undo, vm_lock held: p may have entered or left
  // the LRU (an anonymous page's first mapping or last unmapping, a
  // page-cache page with backing inserted, evicted or removed). Cheap: the
  // reclaimer looks at p's state itself later.
  void (*lru_change)(void* ctx, page* p) = nullptr;
};

// Boot-time configuration (mmu=on|off, pgtable=sv39|sv48).
struct VmConfig {
  bool mmu = true;
  unsigned pgtable_levels = 3;  // 3 = Sv39, 4 = Sv48
  const FileOps* file_ops = nullptr;
};

// Simulated CPU accesses (the access API).
enum class Access { kLoad, kStore, kFetch };

}  // namespace mm

#endif  // MM_VM_VM_TYPES_H_
