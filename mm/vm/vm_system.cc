// VmSystem: boot, shutdown, tasks (kernel_clone, fork's copy-on-write
// duplication of an mm, exit, wait). Lock: vm_lock (vm_system.h).
#include "mm/vm/vm_system.h"

#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/platform/platform.h"
#include "mm/vm/vm_internal.h"

namespace mm {

using namespace vm_internal;

namespace {
bool WordIs(const char* w, size_t len, const char* lit) {
  size_t i = 0;
  for (; lit[i] != 0; ++i)
    if (i >= len || w[i] != lit[i]) return false;
  return i == len;
}
bool StartsWith(const char* w, size_t len, const char* lit) {
  size_t i = 0;
  for (; lit[i] != 0; ++i)
    if (i >= len || w[i] != lit[i]) return false;
  return true;
}
}  // namespace

int VmSystem::ParseVmOption(const char* word, size_t len, VmConfig* cfg) {
  if (StartsWith(word, len, "mmu=")) {
    if (WordIs(word, len, "mmu=on")) {
      cfg->mmu = true;
      return 0;
    }
    if (WordIs(word, len, "mmu=off")) {
      cfg->mmu = false;
      return 0;
    }
    return RejectBootWord(word, len, "mmu= takes on or off");
  }
  if (StartsWith(word, len, "pgtable=")) {
    if (WordIs(word, len, "pgtable=sv39")) {
      cfg->pgtable_levels = 3;
      return 0;
    }
    if (WordIs(word, len, "pgtable=sv48")) {
      cfg->pgtable_levels = 4;
      return 0;
    }
    return RejectBootWord(word, len, "pgtable= takes sv39 or sv48");
  }
  return -kENOENT;
}

int VmSystem::Init(BuddyAllocator& buddy, const VmConfig& cfg) {
  SpinLockGuard g(lock_);
  if (cfg.pgtable_levels != 3 && cfg.pgtable_levels != 4) {
    Printk("VmSystem::Init: pgtable levels must be 3 (sv39) or 4 (sv48)\n");
    return -kEINVAL;
  }
  buddy_ = &buddy;
  cfg_ = cfg;
  mode_ = PagingMode{cfg.pgtable_levels};
  task_size_ = cfg.mmu ? mode_.user_top() : ~static_cast<unsigned long>(kPageSize - 1);
  file_ops_ = cfg.file_ops;
  task_pool_.Init(buddy_, "task_struct", sizeof(task_struct));
  mm_pool_.Init(buddy_, "mm_struct", sizeof(mm_struct));
  vma_pool_.Init(buddy_, "vm_area_struct", sizeof(vm_area_struct));
  anon_vma_pool_.Init(buddy_, "anon_vma", sizeof(anon_vma));
  file_pool_.Init(buddy_, "filp", sizeof(file));
  pc_pool_.Init(buddy_, "page_cache_node", sizeof(PcNode));
  small_pool_.Init(buddy_, "fs_files_sighand", 16);
  static_assert(sizeof(fs_struct) <= 16 && sizeof(files_struct) <= 16 &&
                sizeof(sighand_struct) <= 16);

  zero_page_ = buddy_->AllocPages(GFP_KERNEL | __GFP_ZERO, 0);
  if (zero_page_ == nullptr) return -kENOMEM;
  zero_page_->flags |= PG_zero;
  zero_pfn_ = buddy_->PageToPfn(zero_page_);

  task_struct* init = AllocTask();
  mm_struct* mm = init != nullptr ? MmAlloc() : nullptr;
  fs_struct* fs = small_pool_.New<fs_struct>();
  files_struct* files = small_pool_.New<files_struct>();
  sighand_struct* sh = small_pool_.New<sighand_struct>();
  if (mm == nullptr || fs == nullptr || files == nullptr || sh == nullptr ||
      SetupInitMm(mm) != 0) {
    Printk("VmSystem::Init: out of memory for the init task\n");
    if (fs != nullptr) small_pool_.Delete(fs);
    if (files != nullptr) small_pool_.Delete(files);
    if (sh != nullptr) small_pool_.Delete(sh);
    if (mm != nullptr) MmPut(mm);
    if (init != nullptr) ReapLocked(init);
    zero_page_->flags &= ~PG_zero;
    buddy_->FreePages(zero_page_, 0);
    zero_page_ = nullptr;
    return -kENOMEM;
  }
  const char name[] = "init";
  for (size_t i = 0; i < sizeof name; ++i) init->comm[i] = name[i];
  init->mm = init->active_mm = mm;
  init->fs = fs;
  init->files = files;
  init->sighand = sh;
  init_task_ = init;
  for (auto& c : current_) c = init;
  initialized_ = true;
  return 0;
}

// Lays out the init task as exec would: text, data, brk above data, [stack]
// at the top of the user half; mmap_base 128 MiB (Linux's minimum gap) under it.
int VmSystem::SetupInitMm(mm_struct* mm) {
  mm->task_size = task_size_;
  if (!cfg_.mmu) return 0;
  mm->mmap_base = task_size_ - (128ul << 20);
  mm->start_code = 0x10000;
  mm->end_code = 0x11000;
  mm->start_data = 0x11000;
  mm->end_data = 0x12000;
  mm->start_brk = mm->brk = 0x12000;
  mm->start_stack = task_size_ - kPageSize;
  struct Seg {
    unsigned long start, end, flags;
  } const segs[] = {
      {mm->start_code, mm->end_code, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC},
      {mm->start_data, mm->end_data, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC},
      {task_size_ - kInitStackSize, task_size_,
       VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN},
  };
  for (const Seg& s : segs) {
    vm_area_struct* v = VmaAlloc(mm);
    if (v == nullptr) return -kENOMEM;
    v->vm_start = s.start;
    v->vm_end = s.end;
    v->vm_flags = s.flags;
    v->vm_pgoff = s.start >> kPageShift;
    VmaLink(mm, v);
  }
  return 0;
}

void VmSystem::Shutdown() {
  SpinLockGuard g(lock_);
  if (!initialized_) return;
  while (!tasks_.empty()) {
    task_struct* t = ContainerOf(tasks_.first(), &task_struct::tasks);
    if (t->exit_state == 0) {
      ExitTaskLocked(t, SIGKILL);
    } else {
      ReapLocked(t);
    }
  }
  while (!files_.empty()) {
    file* f = ContainerOf(files_.first(), &file::files);
    MM_CHECK(f->f_mapping.i_mmap.empty());
    f->f_count = 1;
    FputLocked(f);
  }
  zero_page_->flags &= ~PG_zero;
  buddy_->FreePages(zero_page_, 0);
  zero_page_ = nullptr;
  for (auto& c : current_) c = nullptr;
  const ObjectPool* pools[] = {&task_pool_, &mm_pool_,  &vma_pool_,  &anon_vma_pool_,
                               &file_pool_, &pc_pool_,  &small_pool_};
  for (const ObjectPool* p : pools) {
    if (p->in_use() != 0) Printk("VmSystem::Shutdown: %zu %s objects leaked\n", p->in_use(), p->name());
    MM_CHECK(p->in_use() == 0);
  }
  tlb_.FlushAll();
  initialized_ = false;
}

// ---------------------------------------------------------------- tasks

task_struct* VmSystem::CurrentLocked() { return current_[platform::CpuId() % kMaxCpus]; }

task_struct* VmSystem::Current() {
  SpinLockGuard g(lock_);
  return CurrentLocked();
}

void VmSystem::SetCurrent(task_struct* t) {
  SpinLockGuard g(lock_);
  current_[platform::CpuId() % kMaxCpus] = t;
}

task_struct* VmSystem::FindTaskByPid(int pid) {
  SpinLockGuard g(lock_);
  for (ListNode* n = tasks_.first(); n != nullptr && n != tasks_.end(); n = n->next) {
    task_struct* t = ContainerOf(n, &task_struct::tasks);
    if (t->pid == pid) return t;
  }
  return nullptr;
}

task_struct* VmSystem::AllocTask() {
  task_struct* t = task_pool_.New<task_struct>();
  if (t == nullptr) return nullptr;
  t->pid = next_pid_++;
  tasks_.PushBack(&t->tasks);
  ++nr_tasks_;
  return t;
}

void VmSystem::FreeTask(task_struct* t) { task_pool_.Delete(t); }

mm_struct* VmSystem::MmAlloc() {
  mm_struct* mm = mm_pool_.New<mm_struct>();
  if (mm == nullptr) return nullptr;
  mm->task_size = task_size_;
  if (cfg_.mmu && mm->pgt.Init(buddy_, mode_, &nr_pgtables_) != 0) {
    mm_pool_.Delete(mm);
    return nullptr;
  }
  mms_.PushBack(&mm->mmlist);
  return mm;
}

void VmSystem::MmPut(mm_struct* mm) {
  if (mm->mm_users.fetch_sub(1, std::memory_order_relaxed) != 1) return;
  ExitMmap(mm);
  MmDrop(mm);
}

void VmSystem::MmDrop(mm_struct* mm) {
  if (mm->mm_count.fetch_sub(1, std::memory_order_relaxed) != 1) return;
  List::Remove(&mm->mmlist);
  mm_pool_.Delete(mm);
}

// exit_mmap: unmaps every VMA, frees every page table.
void VmSystem::ExitMmap(mm_struct* mm) {
  while (AvlNode* n = mm->mm_rb.First()) {
    vm_area_struct* v = VmaOfNode(n);
    if (cfg_.mmu) {
      ZapRange(mm, v, v->vm_start, v->vm_end);
    } else if (v->nommu_pages != nullptr) {
      buddy_->FreePages(v->nommu_pages, v->nommu_order);
      mm->rss_stat[MM_ANONPAGES] -= static_cast<long>(VmaPages(v));
      v->nommu_pages = nullptr;
    }
    VmaUnlink(mm, v);
    if (v->vm_ops != nullptr && v->vm_ops->close != nullptr) v->vm_ops->close(v);
    AnonVmaDetach(v);
    FileVmaDetach(v);
    VmaFree(v);
  }
  if (cfg_.mmu) {
    mm->pgt.FreeTablesIn(0, mode_.user_top());
    mm->pgt.Destroy();
    if (mm->asid != 0 && mm->asid_generation == asid_generation_) tlb_.FlushAsid(mm->asid);
  }
}

// dup_mmap: copies every VMA and, copy-on-write, every PTE. Private pages
// become read-only in both parent and child and gain a reference and a
// mapcount; shared pages are simply mapped twice.
int VmSystem::DupMm(mm_struct* old_mm, mm_struct** out) {
  mm_struct* mm = MmAlloc();
  if (mm == nullptr) return -kENOMEM;
  mm->mmap_base = old_mm->mmap_base;
  mm->start_code = old_mm->start_code;
  mm->end_code = old_mm->end_code;
  mm->start_data = old_mm->start_data;
  mm->end_data = old_mm->end_data;
  mm->start_brk = old_mm->start_brk;
  mm->brk = old_mm->brk;
  mm->start_stack = old_mm->start_stack;
  mm->hiwater_rss = old_mm->hiwater_rss;

  struct CopyPtes : PageWalkCallbacks {
    VmSystem* vm;
    mm_struct* dst;
    vm_area_struct* vma;
    bool failed = false;
    bool Pte(pte_t* src, uint64_t addr) {
      pte_t e = *src;
      if (e == 0) return true;
      pte_t* d = dst->pgt.LookupAlloc(addr);
      if (d == nullptr) {
        failed = true;
        return false;
      }
      if (PtePresent(e)) {
        if (PtePfn(e) != vm->zero_pfn_) {
          page* p = vm->buddy_->PfnToPage(PtePfn(e));
          if (!(vma->vm_flags & VM_SHARED)) {
            e &= ~kPteW;  // copy-on-write: both sides read-only
            *src = e;
          }
          vm->buddy_->GetPage(p);
          p->_mapcount.fetch_add(1, std::memory_order_relaxed);
          ++dst->rss_stat[RssCounter(p)];
        }
      } else {
        ++dst->rss_stat[MM_SWAPENTS];
        if (vm->swap_ != nullptr && vm->swap_->swap_dup != nullptr)
          vm->swap_->swap_dup(vm->swap_->context, e);
      }
      *d = e;
      return true;
    }
  };

  for (AvlNode* n = old_mm->mm_rb.First(); n != nullptr; n = AvlTree::Next(n)) {
    vm_area_struct* v = VmaOfNode(n);
    if (v->vm_flags & VM_DONTCOPY) continue;
    vm_area_struct* nv = VmaDup(mm, v, v->vm_start, v->vm_end);
    if (nv == nullptr) {
      MmPut(mm);
      return -kENOMEM;
    }
    VmaLink(mm, nv);
    if (nv->vm_ops != nullptr && nv->vm_ops->open != nullptr) nv->vm_ops->open(nv);
    CopyPtes c;
    c.vm = this;
    c.dst = mm;
    c.vma = v;
    old_mm->pgt.Walk(v->vm_start, v->vm_end, c);
    if (c.failed) {
      TlbFlushRange(old_mm, 0, mode_.user_top());
      MmPut(mm);
      return -kENOMEM;
    }
  }
  if (old_mm->asid != 0 && old_mm->asid_generation == asid_generation_) tlb_.FlushAsid(old_mm->asid);
  *out = mm;
  return 0;
}

// fork's allocations run under vm_lock, where the page allocator cannot
// reclaim; a clone that failed for memory has released everything, so like a
// fault (ReclaimForFault) it reclaims through the swap hooks with no lock held
// and tries again, and after kNoProgressOom rounds without progress asks the
// OOM killer, as Linux's fork would inside its GFP_KERNEL allocations.
int VmSystem::KernelClone(const kernel_clone_args* args) {
  int no_progress = 0;
  for (;;) {
    const int r = KernelCloneOnce(args);
    const SwapHooks* h = swap_;
    if (r != -kENOMEM || h == nullptr || h->reclaim == nullptr) return r;
    if (h->reclaim(h->context) != 0) {
      no_progress = 0;
    } else if (++no_progress >= kNoProgressOom) {
      no_progress = 0;
      if (h->out_of_memory == nullptr || h->out_of_memory(h->context) == 0) return r;
    }
  }
}

int VmSystem::KernelCloneOnce(const kernel_clone_args* args) {
  SpinLockGuard g(lock_);
  task_struct* parent = CurrentLocked();
  if (parent == nullptr || parent->exit_state != 0) return -kESRCH;
  const unsigned long flags = args->flags;
  if ((flags & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS)) return -kEINVAL;
  if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) return -kEINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -kEINVAL;
  if (args->exit_signal < 0 || args->exit_signal > 64) return -kEINVAL;
  // Without an MMU an address space cannot be duplicated (kernel/fork.c).
  if (!cfg_.mmu && !(flags & CLONE_VM)) return -kEINVAL;
  if (parent->mm == nullptr) return -kEINVAL;

  task_struct* child = AllocTask();
  if (child == nullptr) return -kENOMEM;
  const char* name = args->name != nullptr ? args->name : parent->comm;
  for (size_t i = 0; i + 1 < sizeof child->comm && name[i] != 0; ++i) child->comm[i] = name[i];

  int err = 0;
  fs_struct* fs = nullptr;
  files_struct* files = nullptr;
  sighand_struct* sh = nullptr;
  if (flags & CLONE_FS) {
    fs = parent->fs;
    ++fs->users;
  } else if ((fs = small_pool_.New<fs_struct>()) != nullptr) {
    fs->umask = parent->fs->umask;
  }
  if (flags & CLONE_FILES) {
    files = parent->files;
    ++files->count;
  } else if ((files = small_pool_.New<files_struct>()) != nullptr) {
    files->max_fds = parent->files->max_fds;
  }
  if (flags & CLONE_SIGHAND) {
    sh = parent->sighand;
    ++sh->count;
  } else if ((sh = small_pool_.New<sighand_struct>()) != nullptr) {
    sh->ignored = parent->sighand->ignored;
  }
  child->fs = fs;
  child->files = files;
  child->sighand = sh;
  if (fs == nullptr || files == nullptr || sh == nullptr) err = -kENOMEM;

  if (err == 0) {
    if (flags & CLONE_VM) {
      child->mm = parent->mm;
      child->mm->mm_users.fetch_add(1, std::memory_order_relaxed);
    } else {
      err = DupMm(parent->mm, &child->mm);
    }
  }
  if (err != 0) {
    // Undo: the child never ran; release what it holds and free it.
    child->exit_state = EXIT_DEAD;
    if (child->fs != nullptr && --child->fs->users == 0) small_pool_.Delete(child->fs);
    if (child->files != nullptr && --child->files->count == 0) small_pool_.Delete(child->files);
    if (child->sighand != nullptr && --child->sighand->count == 0) small_pool_.Delete(child->sighand);
    ReapLocked(child);
    return err;
  }
  child->active_mm = child->mm;
  child->clone_flags = flags;
  child->exit_signal = (flags & CLONE_THREAD) ? -1 : args->exit_signal;
  task_struct* real_parent =
      (flags & (CLONE_PARENT | CLONE_THREAD)) && parent->parent != nullptr ? parent->parent : parent;
  child->parent = real_parent;
  real_parent->children.PushBack(&child->sibling);
  if (flags & CLONE_VFORK) {
    child->vfork_parent = parent;
    parent->vfork_waiting = true;
  }
  return child->pid;
}

void VmSystem::ReapLocked(task_struct* t) {
  if (t->sibling.linked()) List::Remove(&t->sibling);
  List::Remove(&t->tasks);
  --nr_tasks_;
  if (init_task_ == t) init_task_ = nullptr;
  for (auto& c : current_)
    if (c == t) c = nullptr;
  FreeTask(t);
}

// do_exit for t: releases its mm, fs, files and signal handlers, wakes a
// vfork parent, reparents its children to init and becomes a zombie (or is
// reaped at once when nobody will wait for it).
void VmSystem::ExitTaskLocked(task_struct* t, long code) {
  if (t->exit_state != 0) return;
  if (t->mm != nullptr) {
    mm_struct* mm = t->mm;
    t->mm = t->active_mm = nullptr;
    MmPut(mm);
  }
  if (t->fs != nullptr && --t->fs->users == 0) small_pool_.Delete(t->fs);
  if (t->files != nullptr && --t->files->count == 0) small_pool_.Delete(t->files);
  if (t->sighand != nullptr && --t->sighand->count == 0) small_pool_.Delete(t->sighand);
  t->fs = nullptr;
  t->files = nullptr;
  t->sighand = nullptr;
  if (t->vfork_parent != nullptr) {
    t->vfork_parent->vfork_waiting = false;
    t->vfork_parent = nullptr;
  }
  task_struct* reaper = (init_task_ != nullptr && init_task_ != t && init_task_->exit_state == 0)
                            ? init_task_
                            : nullptr;
  while (ListNode* n = t->children.PopFront()) {
    task_struct* c = ContainerOf(n, &task_struct::sibling);
    if (c->vfork_parent == t) c->vfork_parent = nullptr;
    if (reaper != nullptr) {
      c->parent = reaper;
      reaper->children.PushBack(&c->sibling);
    } else {
      c->parent = nullptr;
      if (c->exit_state != 0) ReapLocked(c);
    }
  }
  t->exit_code = static_cast<int>(code);
  t->exit_state = EXIT_ZOMBIE;
  task_struct* p = t->parent;
  if (p != nullptr && t->exit_signal > 0) p->pending_signals |= uint64_t{1} << (t->exit_signal - 1);
  // The "scheduler": a cpu running t switches to its parent (or init).
  task_struct* next = p != nullptr && p->exit_state == 0 ? p : reaper;
  for (auto& c : current_)
    if (c == t) c = next;
  if (p == nullptr || (t->clone_flags & CLONE_THREAD)) {
    t->exit_state = EXIT_DEAD;
    ReapLocked(t);
  }
}

void VmSystem::DoExit(long code) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t != nullptr) ExitTaskLocked(t, code);
}

void VmSystem::DoExitTask(task_struct* t, long code) {
  SpinLockGuard g(lock_);
  if (t != nullptr) ExitTaskLocked(t, code);
}

int VmSystem::KernelWait(int pid, int* status) {
  SpinLockGuard g(lock_);
  task_struct* parent = CurrentLocked();
  if (parent == nullptr) return -kECHILD;
  bool found = false;
  for (ListNode* n = parent->children.first(); n != nullptr && n != parent->children.end();
       n = n->next) {
    task_struct* c = ContainerOf(n, &task_struct::sibling);
    if (pid > 0 && c->pid != pid) continue;
    found = true;
    if (c->exit_state == EXIT_ZOMBIE) {
      const int cpid = c->pid;
      if (status != nullptr) *status = c->exit_code;
      ReapLocked(c);
      return cpid;
    }
  }
  return found ? -kEAGAIN : -kECHILD;
}

}  // namespace mm
