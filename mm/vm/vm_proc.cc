// /proc/<pid>/maps and /proc/<pid>/status in Linux's formats, the VM's
// /proc/vmstat lines, and CheckInvariants. Lock: vm_lock (vm_system.h).
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/platform/platform.h"
#include "mm/vm/vm_internal.h"
#include "mm/vm/vm_system.h"

namespace mm {

using namespace vm_internal;

namespace {
bool Eat(const char*& p, const char* lit) {
  const char* q = p;
  for (; *lit != 0; ++lit, ++q)
    if (*q != *lit) return false;
  p = q;
  return true;
}
unsigned long long Kb(unsigned long pages) {
  return static_cast<unsigned long long>(pages) << (kPageShift - 10);
}
}  // namespace

long VmSystem::ProcRead(const char* path, TextBuffer& out) {
  SpinLockGuard g(lock_);
  const char* p = path;
  if (p == nullptr || !Eat(p, "/proc/")) return -kENOENT;
  task_struct* t = nullptr;
  if (Eat(p, "self")) {
    t = CurrentLocked();
  } else {
    long pid = 0;
    if (*p < '0' || *p > '9') return -kENOENT;
    while (*p >= '0' && *p <= '9') pid = pid * 10 + (*p++ - '0');
    for (ListNode* n = tasks_.first(); n != nullptr && n != tasks_.end(); n = n->next) {
      task_struct* c = ContainerOf(n, &task_struct::tasks);
      if (c->pid == pid) t = c;
    }
  }
  if (t == nullptr) return -kENOENT;
  const char* rest = p;
  if (Eat(p, "/maps") && *p == 0) {
    ShowMaps(t, out);
  } else if ((p = rest, Eat(p, "/status")) && *p == 0) {
    ShowStatus(t, out);
  } else {
    return -kENOENT;
  }
  return static_cast<long>(out.length());
}

// show_map_vma: "start-end perms offset major:minor inode", the name padded
// to column 73 as seq_pad does.
void VmSystem::ShowMaps(task_struct* t, TextBuffer& out) {
  mm_struct* mm = t->mm;
  if (mm == nullptr) return;
  for (AvlNode* n = mm->mm_rb.First(); n != nullptr; n = AvlTree::Next(n)) {
    vm_area_struct* v = VmaOfNode(n);
    const size_t line_start = out.length();
    file* f = v->vm_file;
    unsigned long long pgoff = 0;
    unsigned major = 0, minor = 0;
    unsigned long ino = 0;
    if (f != nullptr) {
      pgoff = static_cast<unsigned long long>(v->vm_pgoff) << kPageShift;
      major = static_cast<unsigned>(f->dev >> 32);
      minor = static_cast<unsigned>(f->dev & 0xffffffffu);
      ino = f->ino;
    }
    out.Append("%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", v->vm_start, v->vm_end,
               (v->vm_flags & VM_READ) ? 'r' : '-', (v->vm_flags & VM_WRITE) ? 'w' : '-',
               (v->vm_flags & VM_EXEC) ? 'x' : '-', (v->vm_flags & VM_MAYSHARE) ? 's' : 'p', pgoff,
               major, minor, ino);
    const char* name = nullptr;
    if (f != nullptr) {
      name = f->path;
    } else if (v->vm_ops != nullptr && v->vm_ops->name != nullptr) {
      name = v->vm_ops->name(v);
    } else if (cfg_.mmu && v->vm_start <= mm->brk && v->vm_end >= mm->start_brk &&
               mm->start_brk != 0) {
      name = "[heap]";
    } else if (v->vm_start <= mm->start_stack && v->vm_end >= mm->start_stack) {
      name = "[stack]";
    }
    if (name != nullptr) {
      while (out.length() - line_start < 72) out.PutChar(' ');
      out.PutChar(' ');
      out.Put(name);
    }
    out.PutChar('\n');
  }
}

void VmSystem::ShowStatus(task_struct* t, TextBuffer& out) {
  const char* state = t->exit_state == EXIT_ZOMBIE ? "Z (zombie)"
                      : t->exit_state == EXIT_DEAD ? "X (dead)"
                      : t->vfork_waiting           ? "D (disk sleep)"
                                                   : "R (running)";
  out.Append("Name:\t%s\n", t->comm);
  out.Append("Umask:\t%04o\n", t->fs != nullptr ? t->fs->umask : 022u);
  out.Append("State:\t%s\n", state);
  out.Append("Tgid:\t%d\n", t->pid);
  out.Append("Ngid:\t0\n");
  out.Append("Pid:\t%d\n", t->pid);
  out.Append("PPid:\t%d\n", t->parent != nullptr ? t->parent->pid : 0);
  out.Append("TracerPid:\t0\n");
  out.Append("Uid:\t0\t0\t0\t0\n");
  out.Append("Gid:\t0\t0\t0\t0\n");
  out.Append("FDSize:\t%d\n", t->files != nullptr ? t->files->max_fds : 0);
  out.Append("Groups:\t\n");
  mm_struct* mm = t->mm;
  if (mm != nullptr) {
    const unsigned long anon = static_cast<unsigned long>(mm->rss_stat[MM_ANONPAGES]);
    const unsigned long filep = static_cast<unsigned long>(mm->rss_stat[MM_FILEPAGES]);
    const unsigned long shmem = static_cast<unsigned long>(mm->rss_stat[MM_SHMEMPAGES]);
    const unsigned long rss = anon + filep + shmem;
    const unsigned long hiwater_rss = mm->hiwater_rss > rss ? mm->hiwater_rss : rss;
    const unsigned long hiwater_vm = mm->hiwater_vm > mm->total_vm ? mm->hiwater_vm : mm->total_vm;
    unsigned long text = 0;
    if (mm->end_code > mm->start_code)
      text = (PageAlignUp(mm->end_code) - (mm->start_code & ~(kPageSize - 1))) >> kPageShift;
    if (text > mm->exec_vm) text = mm->exec_vm;
    const unsigned long lib = mm->exec_vm - text;
    out.Append("VmPeak:\t%8llu kB\n", Kb(hiwater_vm));
    out.Append("VmSize:\t%8llu kB\n", Kb(mm->total_vm));
    out.Append("VmLck:\t%8llu kB\n", Kb(mm->locked_vm));
    out.Append("VmPin:\t%8llu kB\n", Kb(0));
    out.Append("VmHWM:\t%8llu kB\n", Kb(hiwater_rss));
    out.Append("VmRSS:\t%8llu kB\n", Kb(rss));
    out.Append("RssAnon:\t%8llu kB\n", Kb(anon));
    out.Append("RssFile:\t%8llu kB\n", Kb(filep));
    out.Append("RssShmem:\t%8llu kB\n", Kb(shmem));
    out.Append("VmData:\t%8llu kB\n", Kb(mm->data_vm));
    out.Append("VmStk:\t%8llu kB\n", Kb(mm->stack_vm));
    out.Append("VmExe:\t%8llu kB\n", Kb(text));
    out.Append("VmLib:\t%8llu kB\n", Kb(lib));
    out.Append("VmPTE:\t%8llu kB\n",
               static_cast<unsigned long long>(cfg_.mmu ? mm->pgt.nr_tables() * (kPageSize >> 10) : 0));
    out.Append("VmSwap:\t%8llu kB\n", Kb(static_cast<unsigned long>(mm->rss_stat[MM_SWAPENTS])));
  }
  out.Append("Threads:\t1\n");
  out.Append("SigPnd:\t%016llx\n", static_cast<unsigned long long>(t->pending_signals));
  out.Append("ShdPnd:\t%016llx\n", 0ull);
}

void VmSystem::ShowVmstat(TextBuffer& out) {
  auto v = [](const std::atomic<uint64_t>& a) {
    return static_cast<unsigned long long>(a.load(std::memory_order_relaxed));
  };
  out.Append("nr_anon_pages %llu\n", v(nr_anon_pages_));
  out.Append("nr_file_pages %llu\n", v(nr_file_pages_));
  out.Append("nr_shmem %llu\n", v(nr_shmem_));
  out.Append("nr_page_table_pages %llu\n", v(nr_pgtables_));
  out.Append("nr_dirty %llu\n", v(nr_dirty_));
  out.Append("nr_writeback 0\n");  // write-back is synchronous (FileOps under vm_lock)
  out.Append("nr_dirtied %llu\n", v(nr_dirtied_));
  out.Append("nr_written %llu\n", v(nr_written_));
  out.Append("pgfault %llu\n", v(pgfault_));
  out.Append("pgmajfault %llu\n", v(pgmajfault_));
  out.Append("shmem_swapout %llu\n", v(shmem_swapout_));
  out.Append("shmem_swapin %llu\n", v(shmem_swapin_));
}

// ---------------------------------------------------------------- invariants

#define VM_EXPECT(cond, ...)                                  \
  do {                                                        \
    if (!(cond)) {                                            \
      Printk("VmSystem::CheckInvariants: " __VA_ARGS__);      \
      return false;                                           \
    }                                                         \
  } while (0)

bool VmSystem::CheckMm(mm_struct* mm) {
  VM_EXPECT(mm->mm_rb.CheckInvariants() == mm->map_count, "VMA tree broken or map_count %d wrong\n",
            mm->map_count);
  unsigned long total = 0, data = 0, exec = 0, stack = 0, prev_end = 0;
  for (AvlNode* n = mm->mm_rb.First(); n != nullptr; n = AvlTree::Next(n)) {
    vm_area_struct* v = VmaOfNode(n);
    VM_EXPECT(v->vm_mm == mm && v->vm_start < v->vm_end && PageAligned(v->vm_start) &&
                  PageAligned(v->vm_end) && v->vm_start >= prev_end,
              "bad VMA %lx-%lx after %lx\n", v->vm_start, v->vm_end, prev_end);
    VM_EXPECT(v->anon_vma == nullptr || (v->anon_vma_node.linked() &&
                                         v->anon_vma->refcount ==
                                             static_cast<long>(v->anon_vma->vmas.CountSlow())),
              "anon_vma of %lx: link or refcount\n", v->vm_start);
    VM_EXPECT(v->vm_file == nullptr || v->shared.linked(), "i_mmap link\n");
    VM_EXPECT(v->gap_before == v->vm_start - prev_end, "gap_before of %lx\n", v->vm_start);
    unsigned long g = v->gap_before;
    for (AvlNode* c : {n->left, n->right})
      if (c != nullptr && VmaOfNode(c)->rb_subtree_gap > g) g = VmaOfNode(c)->rb_subtree_gap;
    VM_EXPECT(v->rb_subtree_gap == g, "rb_subtree_gap of %lx\n", v->vm_start);
    prev_end = v->vm_end;
    const unsigned long pages = VmaPages(v), f = v->vm_flags;
    total += pages;
    if ((f & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE) data += pages;
    if ((f & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC) exec += pages;
    if (f & VM_STACK) stack += pages;
  }
  VM_EXPECT(total == mm->total_vm && data == mm->data_vm && exec == mm->exec_vm &&
                stack == mm->stack_vm,
            "vm counters %lu/%lu %lu/%lu %lu/%lu %lu/%lu\n", total, mm->total_vm, data, mm->data_vm,
            exec, mm->exec_vm, stack, mm->stack_vm);
  if (!cfg_.mmu) return true;
  VM_EXPECT(mm->pgt.CheckInvariants(), "page table of mm %p\n", static_cast<void*>(mm));

  struct Check : PageWalkCallbacks {
    VmSystem* vm;
    vm_area_struct* vma;
    long anon = 0, filep = 0, shmem = 0, swap = 0, present = 0;
    const char* bad = nullptr;
    unsigned long bad_addr = 0;
    bool Fail(const char* why, uint64_t addr) {
      bad = why;
      bad_addr = addr;
      return false;
    }
    bool Pte(pte_t* e, uint64_t addr) {
      const pte_t v = *e;
      if (v == 0) return true;
      if (!PtePresent(v)) {
        ++swap;
        return true;
      }
      ++present;
      if (vma == nullptr) return true;  // the whole-range count pass
      if ((v & kPteW) && !(vma->vm_flags & VM_WRITE)) return Fail("W outside VM_WRITE", addr);
      if (PtePfn(v) == vm->zero_pfn_) return (v & kPteW) ? Fail("writable zero page", addr) : true;
      page* p = vm->buddy_->PfnToPage(PtePfn(v));
      if (p == nullptr) return Fail("PTE outside RAM", addr);
      const int mc = p->_mapcount.load(std::memory_order_relaxed);
      const int rc = p->_refcount.load(std::memory_order_relaxed);
      const uint64_t index = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
      if (p->index != index) return Fail("page->index", addr);
      if (PageHasFlag(p, PG_anon)) {
        ++anon;
        if (p->mapping != vma->anon_vma) return Fail("anon page->mapping", addr);
        // Exact: the PTEs, the swap cache, and reclaim while it holds the page.
        const int held = PageHasFlag(p, PG_swapcache) + PageHasFlag(p, PG_locked);
        if (mc < 1 || rc != mc + held) return Fail("anon refcount != mapcount + cache + reclaim", addr);
        // Writable and in the swap cache only while reclaim is swapping it
        // out (between add_to_swap and try_to_unmap).
        if ((v & kPteW) && PageHasFlag(p, PG_swapcache) && !PageHasFlag(p, PG_locked))
          return Fail("writable swap-cache page", addr);
        if ((v & kPteW) && !(vma->vm_flags & VM_SHARED) && mc != 1)
          return Fail("writable shared CoW page", addr);
      } else {
        ++(PageHasFlag(p, PG_swapbacked) ? shmem : filep);
        if (vma->vm_file == nullptr || p->mapping != &vma->vm_file->f_mapping)
          return Fail("file page->mapping", addr);
        if (mc < 1 || rc != mc + 1 + PageHasFlag(p, PG_locked))
          return Fail("file refcount != 1 + mapcount + reclaim", addr);
        if ((v & kPteW) && !(vma->vm_flags & VM_SHARED)) return Fail("writable private file page", addr);
      }
      return true;
    }
  };
  Check c;
  c.vm = this;
  for (AvlNode* n = mm->mm_rb.First(); n != nullptr; n = AvlTree::Next(n)) {
    c.vma = VmaOfNode(n);
    mm->pgt.Walk(c.vma->vm_start, c.vma->vm_end, c);
    VM_EXPECT(c.bad == nullptr, "%s at %lx\n", c.bad, c.bad_addr);
  }
  Check all;
  all.vm = this;
  all.vma = nullptr;
  mm->pgt.Walk(0, mode_.user_top(), all);
  VM_EXPECT(all.present == c.present && all.swap == c.swap, "PTEs outside every VMA (%ld vs %ld)\n",
            all.present, c.present);
  VM_EXPECT(c.swap == mm->rss_stat[MM_SWAPENTS], "swap entries %ld, counted %ld\n", c.swap,
            mm->rss_stat[MM_SWAPENTS]);
  VM_EXPECT(c.anon == mm->rss_stat[MM_ANONPAGES] && c.filep == mm->rss_stat[MM_FILEPAGES] &&
                c.shmem == mm->rss_stat[MM_SHMEMPAGES],
            "rss anon %ld/%ld file %ld/%ld shmem %ld/%ld\n", c.anon, mm->rss_stat[MM_ANONPAGES],
            c.filep, mm->rss_stat[MM_FILEPAGES], c.shmem, mm->rss_stat[MM_SHMEMPAGES]);
  return true;
}

bool VmSystem::CheckInvariants() {
  SpinLockGuard g(lock_);
  const ObjectPool* pools[] = {&task_pool_, &mm_pool_, &vma_pool_,  &anon_vma_pool_,
                               &file_pool_, &pc_pool_, &small_pool_};
  for (const ObjectPool* p : pools)
    if (!p->CheckInvariants()) return false;
  uint64_t tables = 0;
  for (ListNode* n = mms_.first(); n != nullptr && n != mms_.end(); n = n->next) {
    mm_struct* mm = ContainerOf(n, &mm_struct::mmlist);
    VM_EXPECT(mm->mm_users.load() >= 1 && mm->mm_count.load() >= 1, "mm refcounts\n");
    if (!CheckMm(mm)) return false;
    if (cfg_.mmu) tables += mm->pgt.nr_tables();
  }
  VM_EXPECT(tables == nr_pgtables_.load(), "nr_page_table_pages %llu, tables %llu\n",
            static_cast<unsigned long long>(nr_pgtables_.load()),
            static_cast<unsigned long long>(tables));
  int count = 0;
  for (ListNode* n = tasks_.first(); n != nullptr && n != tasks_.end(); n = n->next) {
    task_struct* t = ContainerOf(n, &task_struct::tasks);
    ++count;
    VM_EXPECT(t->exit_state != 0 || t->mm != nullptr, "live task %d without mm\n", t->pid);
    VM_EXPECT(t->exit_state == 0 || t->mm == nullptr, "zombie %d holds its mm\n", t->pid);
    VM_EXPECT(t->parent == nullptr || t->sibling.linked(), "task %d not on its parent's list\n",
              t->pid);
  }
  VM_EXPECT(count == nr_tasks_, "nr_tasks %d/%d\n", count, nr_tasks_);
  for (ListNode* n = files_.first(); n != nullptr && n != files_.end(); n = n->next) {
    file* f = ContainerOf(n, &file::files);
    VM_EXPECT(f->f_count >= 1, "file %s with f_count %ld\n", f->path, f->f_count);
    const address_space& as = f->f_mapping;
    VM_EXPECT(as.pages.CheckInvariants() == static_cast<long>(as.nrpages + as.nrshadows + as.nrswapped),
              "page cache of %s\n", f->path);
    unsigned long resident = 0, swapped = 0;
    const bool shmem = f->handle < 0;
    for (AvlNode* a = as.pages.First(); a != nullptr; a = AvlTree::Next(a)) {
      const PcNode* n = ContainerOf(a, &PcNode::node);
      if (n->pg == nullptr) {
        // A file page's shadow, or a shmem page's swap entry (never both).
        VM_EXPECT(shmem ? n->swap != 0 && PteSwap(n->swap) && n->shadow == 0
                        : n->shadow != 0 && n->swap == 0,
                  "%s: page %llu is neither cached, a shadow nor swapped\n", f->path,
                  static_cast<unsigned long long>(n->index));
        swapped += n->swap != 0;
        continue;
      }
      ++resident;
      const page* p = n->pg;
      const int mc = p->_mapcount.load(std::memory_order_relaxed);
      VM_EXPECT(p->mapping == &as && p->index == n->index && n->swap == 0 &&
                    PageHasFlag(p, PG_lru) == !shmem && PageHasFlag(p, PG_swapbacked) == shmem &&
                    !PageHasFlag(p, PG_anon | PG_swapcache) &&
                    p->_refcount.load(std::memory_order_relaxed) == 1 + mc + PageHasFlag(p, PG_locked),
                "%s: cached page %llu: mapping, index, flags or refcount\n", f->path,
                static_cast<unsigned long long>(n->index));
    }
    VM_EXPECT(resident == as.nrpages && swapped == as.nrswapped,
              "%s: %lu resident pages, nrpages %lu; %lu swapped, nrswapped %lu\n", f->path, resident,
              as.nrpages, swapped, as.nrswapped);
  }
  return true;
}

}  // namespace mm
