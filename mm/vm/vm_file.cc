// Files and their page caches: filp_open/filp_close/vfs_fsync, the page-cache
// index (an AVL tree of small nodes per address_space), read-in on fault and
// write-back of dirty shared pages. Lock: vm_lock (vm_system.h). Host file
// I/O goes through FileOps (vm_types.h) with vm_lock held.
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/vm/vm_internal.h"
#include "mm/vm/vm_system.h"

namespace mm {

using namespace vm_internal;

namespace {
file* ErrPtr(int err) { return reinterpret_cast<file*>(static_cast<intptr_t>(err)); }
}  // namespace

page* VmSystem::FindOrReadPage(file* f, uint64_t index, bool* major, unsigned* fault) {
  address_space* as = &f->f_mapping;
  AvlNode* parent = nullptr;
  AvlNode** link = as->pages.root_link();
  while (*link != nullptr) {
    parent = *link;
    PcNode* n = ContainerOf(parent, &PcNode::node);
    if (n->index == index) return n->pg;
    link = index < n->index ? &parent->left : &parent->right;
  }
  int64_t size = -1;
  if (f->handle >= 0) {
    size = file_ops_->size(file_ops_->context, f->handle);
    if (size < 0 || index >= (static_cast<uint64_t>(size) + kPageSize - 1) >> kPageShift) {
      *fault = VM_FAULT_SIGBUS;  // beyond the end of the file
      return nullptr;
    }
  }
  PcNode* n = pc_pool_.New<PcNode>();
  page* p = n != nullptr ? buddy_->AllocPages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO | __GFP_NOWARN, 0)
                         : nullptr;
  if (p == nullptr) {
    if (n != nullptr) pc_pool_.Delete(n);
    *fault = VM_FAULT_OOM;
    return nullptr;
  }
  if (f->handle >= 0) {
    const long r = file_ops_->read(file_ops_->context, f->handle, index << kPageShift,
                                   buddy_->PageAddress(p), kPageSize);
    if (r < 0) {
      buddy_->FreePages(p, 0);
      pc_pool_.Delete(n);
      *fault = VM_FAULT_SIGBUS;
      return nullptr;
    }
    *major = true;
  }
  p->mapping = as;
  p->index = index;
  p->flags |= PG_uptodate;
  n->index = index;
  n->pg = p;
  as->pages.InsertAt(&n->node, parent, link);
  ++as->nrpages;
  nr_file_pages_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

int VmSystem::WritePage(file* f, page* p) {
  if (f->handle < 0) {
    p->flags &= ~PG_dirty;
    return 0;
  }
  const int64_t size = file_ops_->size(file_ops_->context, f->handle);
  const uint64_t off = p->index << kPageShift;
  if (size < 0) return static_cast<int>(size);
  if (off >= static_cast<uint64_t>(size)) {
    p->flags &= ~PG_dirty;
    return 0;
  }
  const uint64_t len = static_cast<uint64_t>(size) - off < kPageSize ? static_cast<uint64_t>(size) - off
                                                                      : kPageSize;
  const long r = file_ops_->write(file_ops_->context, f->handle, off, buddy_->PageAddress(p), len);
  if (r < 0) return static_cast<int>(r);
  p->flags &= ~PG_dirty;
  nr_written_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

// Moves PTE dirty bits of every shared mapping of f into PG_dirty (clearing D
// and W, as page_mkclean does), then writes every dirty cached page back.
int VmSystem::SyncFileLocked(file* f) {
  struct Clean : PageWalkCallbacks {
    VmSystem* vm;
    bool Pte(pte_t* e, uint64_t) {
      const pte_t v = *e;
      if (!PtePresent(v) || !(v & kPteD)) return true;
      page* p = vm->buddy_->PfnToPage(PtePfn(v));
      if (!PageHasFlag(p, PG_anon)) {
        if (!PageHasFlag(p, PG_dirty)) vm->nr_dirtied_.fetch_add(1, std::memory_order_relaxed);
        p->flags |= PG_dirty;
        *e = v & ~(kPteD | kPteW);
      }
      return true;
    }
  };
  List& vmas = f->f_mapping.i_mmap;
  for (ListNode* n = vmas.first(); n != nullptr && n != vmas.end(); n = n->next) {
    vm_area_struct* vma = ContainerOf(n, &vm_area_struct::shared);
    if (!(vma->vm_flags & VM_SHARED)) continue;
    Clean c;
    c.vm = this;
    vma->vm_mm->pgt.Walk(vma->vm_start, vma->vm_end, c);
    TlbFlushRange(vma->vm_mm, vma->vm_start, vma->vm_end);
  }
  int err = 0;
  for (AvlNode* a = f->f_mapping.pages.First(); a != nullptr; a = AvlTree::Next(a)) {
    page* p = ContainerOf(a, &PcNode::node)->pg;
    if (PageHasFlag(p, PG_dirty)) {
      const int r = WritePage(f, p);
      if (r != 0 && err == 0) err = r;
    }
  }
  if (f->handle >= 0 && file_ops_->sync != nullptr) {
    const int r = file_ops_->sync(file_ops_->context, f->handle);
    if (r != 0 && err == 0) err = r;
  }
  return err;
}

void VmSystem::PageCacheRemove(file* f, PcNode* n) {
  page* p = n->pg;
  MM_CHECK(p->_mapcount.load(std::memory_order_relaxed) == 0);
  f->f_mapping.pages.Erase(&n->node);
  --f->f_mapping.nrpages;
  p->mapping = nullptr;
  p->index = 0;
  p->flags &= ~(PG_uptodate | PG_dirty);
  nr_file_pages_.fetch_sub(1, std::memory_order_relaxed);
  buddy_->PutPage(p);
  pc_pool_.Delete(n);
}

// fput: with the last reference the file's dirty pages are written back, its
// page cache freed and the host file closed.
void VmSystem::FputLocked(file* f) {
  MM_CHECK(f->f_count > 0);
  if (--f->f_count != 0) return;
  if (f->handle >= 0) SyncFileLocked(f);
  while (AvlNode* a = f->f_mapping.pages.root()) PageCacheRemove(f, ContainerOf(a, &PcNode::node));
  if (f->handle >= 0 && file_ops_ != nullptr) file_ops_->close(file_ops_->context, f->handle);
  List::Remove(&f->files);
  file_pool_.Delete(f);
}

file* VmSystem::FilpOpen(const char* path, int flags, unsigned short mode) {
  SpinLockGuard g(lock_);
  if (file_ops_ == nullptr || file_ops_->open == nullptr) return ErrPtr(-kENOSYS);
  if (path == nullptr) return ErrPtr(-kEFAULT);
  size_t len = 0;
  while (path[len] != 0) ++len;
  if (len == 0) return ErrPtr(-kENOENT);
  if (len >= sizeof(file::path)) return ErrPtr(-36);  // ENAMETOOLONG
  file* f = file_pool_.New<file>();
  if (f == nullptr) return ErrPtr(-kENOMEM);
  int64_t handle = -1;
  const int err = file_ops_->open(file_ops_->context, path, flags, mode, &handle);
  if (err < 0) {
    file_pool_.Delete(f);
    return ErrPtr(err);
  }
  f->handle = handle;
  f->f_flags = static_cast<unsigned>(flags);
  f->f_count = 1;
  f->f_mapping.host = f;
  for (size_t i = 0; i <= len; ++i) f->path[i] = path[i];
  if (file_ops_->stat != nullptr) file_ops_->stat(file_ops_->context, handle, &f->dev, &f->ino);
  files_.PushBack(&f->files);
  return f;
}

int VmSystem::FilpClose(file* f) {
  SpinLockGuard g(lock_);
  if (f == nullptr || IsErrValue(reinterpret_cast<unsigned long>(f))) return -kEINVAL;
  FputLocked(f);
  return 0;
}

int VmSystem::VfsFsync(file* f) {
  SpinLockGuard g(lock_);
  if (f == nullptr || IsErrValue(reinterpret_cast<unsigned long>(f))) return -kEINVAL;
  return SyncFileLocked(f);
}

void VmSystem::SetFileOps(const FileOps* ops) {
  SpinLockGuard g(lock_);
  file_ops_ = ops;
}

}  // namespace mm
