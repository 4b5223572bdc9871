// VMAs and the mmap family: mmap/munmap/mprotect/brk/mremap with Linux's
// rules, VMA split and merge, NOMMU mappings. Lock: vm_lock (see vm_system.h);
// every function here but the public entry points runs with it held.
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/vm/vm_internal.h"
#include "mm/vm/vm_system.h"

namespace mm {

using namespace vm_internal;

// ---------------------------------------------------------------- VMA basics

vm_area_struct* VmSystem::VmaAlloc(mm_struct* mm) {
  vm_area_struct* v = vma_pool_.New<vm_area_struct>();
  if (v != nullptr) v->vm_mm = mm;
  return v;
}

void VmSystem::VmaFree(vm_area_struct* vma) {
  MM_CHECK(vma->vm_rb.height == 0 && !vma->anon_vma_node.linked() && !vma->shared.linked());
  vma_pool_.Delete(vma);
}

void VmSystem::VmStatAccount(mm_struct* mm, unsigned long flags, long pages) {
  mm->total_vm += pages;
  if ((flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE) mm->data_vm += pages;
  if ((flags & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC) mm->exec_vm += pages;
  if (flags & VM_STACK) mm->stack_vm += pages;
  if (mm->total_vm > mm->hiwater_vm) mm->hiwater_vm = mm->total_vm;
}

// Inserts vma into mm's tree by vm_start and accounts it.
void VmSystem::VmaLink(mm_struct* mm, vm_area_struct* vma) {
  AvlNode* parent = nullptr;
  AvlNode** link = mm->mm_rb.root_link();
  while (*link != nullptr) {
    parent = *link;
    link = vma->vm_start < VmaOfNode(parent)->vm_start ? &parent->left : &parent->right;
  }
  mm->mm_rb.set_augment(&VmaAugment);
  mm->mm_rb.InsertAt(&vma->vm_rb, parent, link);
  vm_area_struct* prev = VmaPrev(mm, vma);
  vma->gap_before = vma->vm_start - (prev != nullptr ? prev->vm_end : 0);
  mm->mm_rb.Propagate(&vma->vm_rb);
  if (vm_area_struct* next = VmaNext(mm, vma)) {
    next->gap_before = next->vm_start - vma->vm_end;
    mm->mm_rb.Propagate(&next->vm_rb);
  }
  ++mm->map_count;
  VmStatAccount(mm, vma->vm_flags, static_cast<long>(VmaPages(vma)));
}

void VmSystem::VmaUnlink(mm_struct* mm, vm_area_struct* vma) {
  vm_area_struct* prev = VmaPrev(mm, vma);
  vm_area_struct* next = VmaNext(mm, vma);
  mm->mm_rb.Erase(&vma->vm_rb);
  if (next != nullptr) {
    next->gap_before = next->vm_start - (prev != nullptr ? prev->vm_end : 0);
    mm->mm_rb.Propagate(&next->vm_rb);
  }
  --mm->map_count;
  VmStatAccount(mm, vma->vm_flags, -static_cast<long>(VmaPages(vma)));
}

// rb_subtree_gap = max(gap_before, children's rb_subtree_gap).
void VmSystem::VmaAugment(AvlNode* n) {
  vm_area_struct* v = VmaOfNode(n);
  unsigned long g = v->gap_before;
  if (n->left != nullptr && VmaOfNode(n->left)->rb_subtree_gap > g) g = VmaOfNode(n->left)->rb_subtree_gap;
  if (n->right != nullptr && VmaOfNode(n->right)->rb_subtree_gap > g)
    g = VmaOfNode(n->right)->rb_subtree_gap;
  v->rb_subtree_gap = g;
}

// The highest VMA in n's subtree whose gap below it, clipped to [low, high),
// holds len bytes; subtrees whose largest gap is too small are skipped.
vm_area_struct* VmSystem::GapSearchTopDown(AvlNode* n, unsigned long len, unsigned long low,
                                           unsigned long high) {
  if (n == nullptr) return nullptr;
  vm_area_struct* v = VmaOfNode(n);
  if (v->rb_subtree_gap < len) return nullptr;
  const unsigned long gap_start = v->vm_start - v->gap_before;
  if (gap_start < high) {  // else v and everything right of it lie above high
    if (vm_area_struct* r = GapSearchTopDown(n->right, len, low, high)) return r;
    const unsigned long end = v->vm_start < high ? v->vm_start : high;
    const unsigned long start = gap_start > low ? gap_start : low;
    if (end > start && end - start >= len) return v;
  }
  return GapSearchTopDown(n->left, len, low, high);
}

vm_area_struct* VmSystem::VmaNext(mm_struct*, vm_area_struct* vma) {
  return VmaOfNode(AvlTree::Next(&vma->vm_rb));
}
vm_area_struct* VmSystem::VmaPrev(mm_struct*, vm_area_struct* vma) {
  return VmaOfNode(AvlTree::Prev(&vma->vm_rb));
}

void VmSystem::AnonVmaAttach(vm_area_struct* vma, anon_vma* av) {
  MM_CHECK(vma->anon_vma == nullptr);
  vma->anon_vma = av;
  av->vmas.PushBack(&vma->anon_vma_node);
  ++av->refcount;
}

void VmSystem::AnonVmaDetach(vm_area_struct* vma) {
  anon_vma* av = vma->anon_vma;
  if (av == nullptr) return;
  List::Remove(&vma->anon_vma_node);
  vma->anon_vma = nullptr;
  if (--av->refcount == 0) anon_vma_pool_.Delete(av);
}

int VmSystem::AnonVmaPrepare(vm_area_struct* vma) {
  if (vma->anon_vma != nullptr) return 0;
  anon_vma* av = anon_vma_pool_.New<anon_vma>();
  if (av == nullptr) return -kENOMEM;
  AnonVmaAttach(vma, av);
  return 0;
}

void VmSystem::FileVmaAttach(vm_area_struct* vma, file* f) {
  vma->vm_file = f;
  ++f->f_count;
  f->f_mapping.i_mmap.PushBack(&vma->shared);
}

void VmSystem::FileVmaDetach(vm_area_struct* vma) {
  file* f = vma->vm_file;
  if (f == nullptr) return;
  List::Remove(&vma->shared);
  vma->vm_file = nullptr;
  FputLocked(f);
}

// Splits vma at addr (strictly inside): vma keeps [start, addr), a new VMA
// gets [addr, end). Returns 0 or -ENOMEM.
int VmSystem::SplitVma(mm_struct* mm, vm_area_struct* vma, unsigned long addr) {
  MM_CHECK(addr > vma->vm_start && addr < vma->vm_end && PageAligned(addr));
  if (mm->map_count >= kMaxMapCount) return -kENOMEM;
  vm_area_struct* hi = VmaDup(mm, vma, addr, vma->vm_end);
  if (hi == nullptr) return -kENOMEM;
  VmaUnlink(mm, vma);
  vma->vm_end = addr;
  VmaLink(mm, vma);
  VmaLink(mm, hi);
  if (hi->vm_ops != nullptr && hi->vm_ops->open != nullptr) hi->vm_ops->open(hi);
  return 0;
}

// A new VMA of mm describing [start, end) of `src` (same flags, ops, file and
// anon_vma; vm_pgoff adjusted to start). Not linked. nullptr on -ENOMEM.
vm_area_struct* VmSystem::VmaDup(mm_struct* mm, const vm_area_struct* src, unsigned long start,
                                 unsigned long end) {
  vm_area_struct* v = VmaAlloc(mm);
  if (v == nullptr) return nullptr;
  v->vm_start = start;
  v->vm_end = end;
  v->vm_flags = src->vm_flags;
  v->vm_pgoff = src->vm_pgoff + ((start - src->vm_start) >> kPageShift);
  v->vm_ops = src->vm_ops;
  v->vm_private_data = src->vm_private_data;
  if (src->anon_vma != nullptr) AnonVmaAttach(v, src->anon_vma);
  if (src->vm_file != nullptr) FileVmaAttach(v, src->vm_file);
  return v;
}

// Adjacent (a directly below b) and compatible: one VMA could describe both.
bool VmSystem::CanMerge(vm_area_struct* a, vm_area_struct* b) {
  if (a == nullptr || b == nullptr || a->vm_end != b->vm_start) return false;
  if (!cfg_.mmu) return false;
  if (a->vm_flags != b->vm_flags || a->vm_file != b->vm_file || a->vm_ops != b->vm_ops ||
      a->vm_private_data != b->vm_private_data)
    return false;
  if (a->vm_pgoff + VmaPages(a) != b->vm_pgoff) return false;
  return a->anon_vma == nullptr || b->anon_vma == nullptr || a->anon_vma == b->anon_vma;
}

// Merges vma with its neighbours where compatible; returns the surviving VMA.
vm_area_struct* VmSystem::TryMerge(mm_struct* mm, vm_area_struct* vma) {
  for (int side = 0; side < 2; ++side) {
    vm_area_struct* lo = side == 0 ? VmaPrev(mm, vma) : vma;
    vm_area_struct* hi = side == 0 ? vma : VmaNext(mm, vma);
    if (!CanMerge(lo, hi)) continue;
    // lo absorbs hi (and hi's anon_vma, before hi lets go of it: hi's
    // pages keep pointing there).
    if (lo->anon_vma == nullptr && hi->anon_vma != nullptr) AnonVmaAttach(lo, hi->anon_vma);
    VmaUnlink(mm, hi);
    AnonVmaDetach(hi);
    FileVmaDetach(hi);
    if (hi->vm_ops != nullptr && hi->vm_ops->close != nullptr) hi->vm_ops->close(hi);
    const unsigned long end = hi->vm_end;
    VmaFree(hi);
    VmaUnlink(mm, lo);
    lo->vm_end = end;
    VmaLink(mm, lo);
    vma = lo;
  }
  return vma;
}

vm_area_struct* VmSystem::FindVma(mm_struct* mm, unsigned long addr) {
  SpinLockGuard g(lock_);
  return LookupVma(mm, addr);
}

vm_area_struct* VmSystem::FindVmaIntersection(mm_struct* mm, unsigned long start,
                                              unsigned long end) {
  SpinLockGuard g(lock_);
  vm_area_struct* v = LookupVma(mm, start);
  return v != nullptr && v->vm_start < end ? v : nullptr;
}

// ---------------------------------------------------------------- mmap

bool VmSystem::RangeFree(mm_struct* mm, unsigned long start, unsigned long end) {
  vm_area_struct* v = LookupVma(mm, start);
  return v == nullptr || v->vm_start >= end;
}

// arch_get_unmapped_area_topdown: the hint if free, else the highest gap
// below mmap_base, else bottom-up from TASK_UNMAPPED_BASE; -ENOMEM if full.
unsigned long VmSystem::GetUnmappedArea(mm_struct* mm, unsigned long addr, unsigned long len,
                                        unsigned long flags) {
  const unsigned long top = mm->task_size;
  if (len > top - kMmapMinAddr) return ErrVal(-kENOMEM);
  if (flags & MAP_FIXED) return addr;
  if (addr != 0) {
    addr = PageAlignUp(addr);
    if (addr >= kMmapMinAddr && addr <= top - len && RangeFree(mm, addr, addr + len)) return addr;
  }
  // Top-down under mmap_base: first the space above the last VMA, then the
  // highest fitting gap in the tree (O(log n) with rb_subtree_gap).
  const unsigned long high = mm->mmap_base;
  const unsigned long low = kMmapMinAddr;
  vm_area_struct* last = VmaOfNode(mm->mm_rb.Last());
  const unsigned long top_gap_start = last != nullptr ? last->vm_end : 0;
  if (top_gap_start < high && high - (top_gap_start > low ? top_gap_start : low) >= len &&
      high - len >= low)
    return high - len;
  if (vm_area_struct* v = GapSearchTopDown(mm->mm_rb.root(), len, low, high))
    return (v->vm_start < high ? v->vm_start : high) - len;
  // Bottom-up fallback (Linux retries arch_get_unmapped_area).
  unsigned long lo = PageAlignUp(top / 3);
  for (vm_area_struct* v = LookupVma(mm, lo); v != nullptr; v = VmaNext(mm, v)) {
    if (v->vm_start >= lo && v->vm_start - lo >= len) return lo;
    if (v->vm_end > lo) lo = v->vm_end;
  }
  if (lo <= top && top - lo >= len) return lo;
  return ErrVal(-kENOMEM);
}

unsigned long VmSystem::DoMmap(mm_struct* mm, file* f, unsigned long addr, unsigned long len,
                               unsigned long prot, unsigned long flags, unsigned long pgoff) {
  unsigned long vm_flags = ProtToVmFlags(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  const unsigned long type = flags & MAP_TYPE;
  if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) {
    vm_flags |= VM_SHARED | VM_MAYSHARE;
    if (f != nullptr && (f->f_flags & O_ACCMODE) == O_RDONLY) {
      if (prot & PROT_WRITE) return ErrVal(-kEACCES);
      vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
    }
  } else if (type != MAP_PRIVATE) {
    return ErrVal(-kEINVAL);
  }
  if (f != nullptr && (f->f_flags & O_ACCMODE) == O_WRONLY) return ErrVal(-kEACCES);
  if (flags & MAP_GROWSDOWN) vm_flags |= VM_GROWSDOWN;
  if (flags & MAP_NORESERVE) vm_flags |= VM_NORESERVE;
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;

  if (flags & MAP_FIXED) {
    if (!PageAligned(addr)) return ErrVal(-kEINVAL);
    if (addr > mm->task_size || len > mm->task_size - addr) return ErrVal(-kENOMEM);
    if (addr < kMmapMinAddr) return ErrVal(-kEPERM);
  }
  addr = GetUnmappedArea(mm, addr, len, flags);
  if (IsErrValue(addr)) return addr;
  if (flags & MAP_FIXED_NOREPLACE) {
    if (!RangeFree(mm, addr, addr + len)) return ErrVal(-kEEXIST);
  } else if (flags & MAP_FIXED) {
    const int err = DoMunmap(mm, addr, len);
    if (err != 0) return ErrVal(err);
  }
  if (mm->map_count >= kMaxMapCount) return ErrVal(-kENOMEM);

  // Shared anonymous memory is an unnamed file (Linux: shmem, "/dev/zero (deleted)").
  file* anon_shared = nullptr;
  if (f == nullptr && (vm_flags & VM_SHARED)) {
    anon_shared = file_pool_.New<file>();
    if (anon_shared == nullptr) return ErrVal(-kENOMEM);
    anon_shared->f_flags = O_RDWR;
    anon_shared->f_count = 0;
    anon_shared->f_mapping.host = anon_shared;
    const char* name = "/dev/zero (deleted)";
    for (int i = 0; name[i] != 0; ++i) anon_shared->path[i] = name[i];
    files_.PushBack(&anon_shared->files);
    f = anon_shared;
    pgoff = 0;
  }
  vm_area_struct* vma = VmaAlloc(mm);
  if (vma == nullptr) {
    if (anon_shared != nullptr) {
      List::Remove(&anon_shared->files);
      file_pool_.Delete(anon_shared);
    }
    return ErrVal(-kENOMEM);
  }
  vma->vm_start = addr;
  vma->vm_end = addr + len;
  vma->vm_flags = vm_flags;
  vma->vm_pgoff = f != nullptr ? pgoff : addr >> kPageShift;
  if (f != nullptr) FileVmaAttach(vma, f);
  VmaLink(mm, vma);
  vma = TryMerge(mm, vma);
  return addr;
}

unsigned long VmSystem::VmMmap(file* f, unsigned long addr, unsigned long len, unsigned long prot,
                               unsigned long flags, unsigned long offset) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->mm == nullptr) return ErrVal(-kEINVAL);
  mm_struct* mm = t->mm;
  if (!PageAligned(offset)) return ErrVal(-kEINVAL);
  if (len == 0) return ErrVal(-kEINVAL);
  const unsigned long aligned = PageAlignUp(len);
  if (aligned == 0 || aligned < len) return ErrVal(-kENOMEM);
  if ((offset >> kPageShift) + (aligned >> kPageShift) < (offset >> kPageShift))
    return ErrVal(-kEOVERFLOW);
  if (flags & MAP_ANONYMOUS) f = nullptr;
  if (prot & ~static_cast<unsigned long>(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
    return ErrVal(-kEINVAL);
  const unsigned long type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
    return ErrVal(-kEINVAL);
  if (f != nullptr && IsErrValue(reinterpret_cast<unsigned long>(f))) return ErrVal(-kEBADF);
  if (!cfg_.mmu) return NommuMmap(mm, f, aligned, prot, flags, offset >> kPageShift);
  const unsigned long r = DoMmap(mm, f, addr, aligned, prot, flags, offset >> kPageShift);
  if (!IsErrValue(r) && (flags & MAP_POPULATE)) MmPopulate(t, r, r + aligned);
  return r;
}

// Removes [start, start+len) from mm: splits the VMAs at the edges, zaps their
// pages (shared file pages are written back), frees the page tables left empty.
int VmSystem::DoMunmap(mm_struct* mm, unsigned long start, unsigned long len) {
  const unsigned long end = start + len;
  vm_area_struct* vma = LookupVma(mm, start);
  if (vma == nullptr || vma->vm_start >= end) return 0;
  if (vma->vm_start < start && vma->vm_end > end && mm->map_count >= kMaxMapCount)
    return -kENOMEM;
  if (vma->vm_start < start) {
    const int err = SplitVma(mm, vma, start);
    if (err != 0) return err;
    vma = VmaNext(mm, vma);
  }
  vm_area_struct* last = LookupVma(mm, end - 1);
  if (last != nullptr && last->vm_start < end && last->vm_end > end) {
    const int err = SplitVma(mm, last, end);
    if (err != 0) return err;
  }
  vm_area_struct* prev = VmaPrev(mm, vma);
  const unsigned long floor = prev != nullptr ? prev->vm_end : 0;
  vm_area_struct* v = vma;
  while (v != nullptr && v->vm_start < end) {
    vm_area_struct* next = VmaNext(mm, v);
    ZapRange(mm, v, v->vm_start, v->vm_end);
    file* f = v->vm_file;
    if (f != nullptr && (v->vm_flags & VM_SHARED) && f->handle >= 0) SyncFileLocked(f);
    VmaUnlink(mm, v);
    if (v->vm_ops != nullptr && v->vm_ops->close != nullptr) v->vm_ops->close(v);
    AnonVmaDetach(v);
    FileVmaDetach(v);
    VmaFree(v);
    v = next;
  }
  const unsigned long ceiling = v != nullptr ? v->vm_start : mode_.user_top();
  FreePgtables(mm, floor, ceiling);
  return 0;
}

int VmSystem::VmMunmap(unsigned long start, size_t len) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->mm == nullptr) return -kEINVAL;
  if (!PageAligned(start) || len == 0) return -kEINVAL;
  len = PageAlignUp(len);
  if (len == 0 || start > task_size_ || len > task_size_ - start) return -kEINVAL;
  if (!cfg_.mmu) return NommuMunmap(t->mm, start, len);
  return DoMunmap(t->mm, start, len);
}

void VmSystem::FreePgtables(mm_struct* mm, unsigned long floor, unsigned long ceiling) {
  if (!cfg_.mmu) return;
  mm->pgt.FreeTablesIn(floor, ceiling);
}

// ---------------------------------------------------------------- mprotect

long VmSystem::Mprotect(unsigned long start, size_t len, unsigned long prot) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->mm == nullptr) return -kEINVAL;
  mm_struct* mm = t->mm;
  if (!PageAligned(start)) return -kEINVAL;
  if (prot & ~static_cast<unsigned long>(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM |
                                         PROT_GROWSDOWN | PROT_GROWSUP))
    return -kEINVAL;
  if ((prot & PROT_GROWSDOWN) && (prot & PROT_GROWSUP)) return -kEINVAL;
  if (len == 0) return 0;
  len = PageAlignUp(len);
  const unsigned long end = start + len;
  if (len == 0 || end <= start) return -kENOMEM;
  const unsigned long newbits = ProtToVmFlags(prot);
  // The whole range must be mapped, and each VMA must allow the new access.
  unsigned long cur = start;
  for (vm_area_struct* v = LookupVma(mm, start); cur < end; v = VmaNext(mm, v)) {
    if (v == nullptr || v->vm_start > cur) return -kENOMEM;
    if (newbits & ~((v->vm_flags >> 4) & VM_ACCESS_FLAGS)) return -kEACCES;
    cur = v->vm_end;
  }
  cur = start;
  while (cur < end) {
    vm_area_struct* v = LookupVma(mm, cur);
    if (v->vm_start < cur) {
      const int err = SplitVma(mm, v, cur);
      if (err != 0) return err;
      v = VmaNext(mm, v);
    }
    if (v->vm_end > end) {
      const int err = SplitVma(mm, v, end);
      if (err != 0) return err;
    }
    const unsigned long next = v->vm_end;
    const unsigned long nf = (v->vm_flags & ~VM_ACCESS_FLAGS) | newbits;
    if (nf != v->vm_flags) {
      VmaUnlink(mm, v);
      v->vm_flags = nf;
      VmaLink(mm, v);
      if (cfg_.mmu) ChangeProtection(mm, v, v->vm_start, v->vm_end);
    }
    TryMerge(mm, v);
    cur = next;
  }
  return 0;
}

// ---------------------------------------------------------------- brk

unsigned long VmSystem::Brk(unsigned long brk) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->mm == nullptr) return 0;
  mm_struct* mm = t->mm;
  if (!cfg_.mmu || brk < mm->start_brk || brk > mm->task_size) return mm->brk;
  const unsigned long newbrk = PageAlignUp(brk);
  const unsigned long oldbrk = PageAlignUp(mm->brk);
  if (newbrk == oldbrk) {
    mm->brk = brk;
    return brk;
  }
  if (brk <= mm->brk) {
    if (DoMunmap(mm, newbrk, oldbrk - newbrk) != 0) return mm->brk;
    mm->brk = brk;
    return brk;
  }
  vm_area_struct* next = LookupVma(mm, oldbrk);
  if (next != nullptr && newbrk + kPageSize > next->vm_start) return mm->brk;
  if (mm->map_count >= kMaxMapCount) return mm->brk;
  vm_area_struct* vma = VmaAlloc(mm);
  if (vma == nullptr) return mm->brk;
  vma->vm_start = oldbrk;
  vma->vm_end = newbrk;
  vma->vm_flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  vma->vm_pgoff = oldbrk >> kPageShift;
  VmaLink(mm, vma);
  TryMerge(mm, vma);
  mm->brk = brk;
  return brk;
}

// ---------------------------------------------------------------- mremap

unsigned long VmSystem::Mremap(unsigned long old_addr, unsigned long old_len,
                               unsigned long new_len, unsigned long flags,
                               unsigned long new_addr) {
  SpinLockGuard g(lock_);
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->mm == nullptr) return ErrVal(-kEINVAL);
  mm_struct* mm = t->mm;
  if (flags & ~static_cast<unsigned long>(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
    return ErrVal(-kEINVAL);
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return ErrVal(-kEINVAL);
  if (flags & MREMAP_DONTUNMAP) return ErrVal(-kEINVAL);  // not supported
  if (!PageAligned(old_addr)) return ErrVal(-kEINVAL);
  old_len = PageAlignUp(old_len);
  new_len = PageAlignUp(new_len);
  if (new_len == 0) return ErrVal(-kEINVAL);
  if (!cfg_.mmu) return ErrVal(-kEINVAL);
  if (old_addr > task_size_ || old_len > task_size_ - old_addr) return ErrVal(-kEFAULT);

  vm_area_struct* vma = LookupVma(mm, old_addr);
  if (vma == nullptr || vma->vm_start > old_addr) return ErrVal(-kEFAULT);
  if (old_len == 0 || old_addr + old_len > vma->vm_end) return ErrVal(-kEFAULT);

  if (flags & MREMAP_FIXED) {
    if (!PageAligned(new_addr)) return ErrVal(-kEINVAL);
    if (new_addr > task_size_ || new_len > task_size_ - new_addr) return ErrVal(-kEINVAL);
    if (new_addr < old_addr + old_len && old_addr < new_addr + new_len) return ErrVal(-kEINVAL);
    int err = DoMunmap(mm, new_addr, new_len);
    if (err != 0) return ErrVal(err);
    if (old_len > new_len) {
      err = DoMunmap(mm, old_addr + new_len, old_len - new_len);
      if (err != 0) return ErrVal(err);
      old_len = new_len;
    }
  } else {
    if (new_len <= old_len) {
      if (new_len < old_len) {
        const int err = DoMunmap(mm, old_addr + new_len, old_len - new_len);
        if (err != 0) return ErrVal(err);
      }
      return old_addr;
    }
    // Grow in place when the range ends the VMA and the space above is free.
    if (old_addr + old_len == vma->vm_end &&
        old_addr + new_len <= task_size_ &&
        RangeFree(mm, vma->vm_end, old_addr + new_len)) {
      vm_area_struct* nx = VmaNext(mm, vma);
      if (nx == nullptr || nx->vm_start >= old_addr + new_len) {
        VmaUnlink(mm, vma);
        vma->vm_end = old_addr + new_len;
        VmaLink(mm, vma);
        TryMerge(mm, vma);
        return old_addr;
      }
    }
    if (!(flags & MREMAP_MAYMOVE)) return ErrVal(-kENOMEM);
    new_addr = GetUnmappedArea(mm, 0, new_len, 0);
    if (IsErrValue(new_addr)) return new_addr;
  }
  // Move: isolate [old_addr, old_addr+old_len) as one VMA, give it the new range.
  if (mm->map_count + 3 > kMaxMapCount) return ErrVal(-kENOMEM);
  vma = LookupVma(mm, old_addr);
  if (vma->vm_start < old_addr) {
    const int err = SplitVma(mm, vma, old_addr);
    if (err != 0) return ErrVal(err);
    vma = VmaNext(mm, vma);
  }
  if (vma->vm_end > old_addr + old_len) {
    const int err = SplitVma(mm, vma, old_addr + old_len);
    if (err != 0) return ErrVal(err);
  }
  const int err = MoveVmaPages(mm, old_addr, new_addr, old_len);
  if (err != 0) return ErrVal(err);
  VmaUnlink(mm, vma);
  vma->vm_start = new_addr;
  vma->vm_end = new_addr + new_len;  // vm_pgoff unchanged: page->index stays valid
  VmaLink(mm, vma);
  // Free the tables of the gap the old range now lies in.
  vm_area_struct* next = LookupVma(mm, old_addr);
  vm_area_struct* prev = next != nullptr ? VmaPrev(mm, next) : VmaOfNode(mm->mm_rb.Last());
  FreePgtables(mm, prev != nullptr ? prev->vm_end : 0,
               next != nullptr ? next->vm_start : mode_.user_top());
  TryMerge(mm, vma);
  return new_addr;
}

// ---------------------------------------------------------------- NOMMU

unsigned long VmSystem::NommuMmap(mm_struct* mm, file* f, unsigned long len, unsigned long prot,
                                  unsigned long flags, unsigned long /*pgoff*/) {
  if (f != nullptr) return ErrVal(-kENODEV);  // no file mappings without an MMU here
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) return ErrVal(-kEINVAL);
  if (mm->map_count >= kMaxMapCount) return ErrVal(-kENOMEM);
  const unsigned order = Log2Ceil(len >> kPageShift);
  if (order > kMaxPageOrder) return ErrVal(-kENOMEM);
  page* p = buddy_->AllocPages(GFP_USER | __GFP_ZERO | __GFP_NOWARN, order);
  if (p == nullptr) return ErrVal(-kENOMEM);
  vm_area_struct* vma = VmaAlloc(mm);
  if (vma == nullptr) {
    buddy_->FreePages(p, order);
    return ErrVal(-kENOMEM);
  }
  const unsigned long addr = buddy_->PageToPhys(p);
  vma->vm_start = addr;
  vma->vm_end = addr + len;
  vma->vm_flags = ProtToVmFlags(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if ((flags & MAP_TYPE) != MAP_PRIVATE) vma->vm_flags |= VM_SHARED | VM_MAYSHARE;
  vma->vm_pgoff = addr >> kPageShift;
  vma->nommu_pages = p;
  vma->nommu_order = order;
  VmaLink(mm, vma);
  mm->rss_stat[MM_ANONPAGES] += static_cast<long>(len >> kPageShift);
  if (static_cast<unsigned long>(mm->rss_stat[MM_ANONPAGES]) > mm->hiwater_rss)
    mm->hiwater_rss = mm->rss_stat[MM_ANONPAGES];
  return addr;
}

int VmSystem::NommuMunmap(mm_struct* mm, unsigned long start, unsigned long len) {
  vm_area_struct* vma = LookupVma(mm, start);
  if (vma == nullptr || vma->vm_start != start || vma->vm_end != start + len) return -kEINVAL;
  VmaUnlink(mm, vma);
  mm->rss_stat[MM_ANONPAGES] -= static_cast<long>(len >> kPageShift);
  buddy_->FreePages(vma->nommu_pages, vma->nommu_order);
  vma->nommu_pages = nullptr;
  VmaFree(vma);
  return 0;
}

}  // namespace mm
