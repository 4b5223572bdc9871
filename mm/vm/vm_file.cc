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

VmSystem::PcNode* VmSystem::PageCacheFind(address_space* as, uint64_t index) {
  AvlNode* a = as->pages.root();
  while (a != nullptr) {
    PcNode* n = ContainerOf(a, &PcNode::node);
    if (n->index == index) return n;
    a = index < n->index ? a->left : a->right;
  }
  return nullptr;
}

// shmem pages are not counted dirty (Linux's shmem has no write-back: its
// dirty_folio is a no-op for the counters); their data always goes to a
// fresh swap slot when reclaimed.
void VmSystem::SetPageDirtyFile(page* p) {
  if (PageHasFlag(p, PG_dirty) || PageHasFlag(p, PG_swapbacked)) return;
  p->flags |= PG_dirty;
  nr_dirtied_.fetch_add(1, std::memory_order_relaxed);
  nr_dirty_.fetch_add(1, std::memory_order_relaxed);
}

void VmSystem::ClearPageDirtyFile(page* p) {
  if (!PageHasFlag(p, PG_dirty)) return;
  p->flags &= ~PG_dirty;
  nr_dirty_.fetch_sub(1, std::memory_order_relaxed);
}

page* VmSystem::FindOrReadPage(file* f, uint64_t index, bool* major, unsigned* fault) {
  address_space* as = &f->f_mapping;
  AvlNode* parent = nullptr;
  AvlNode** link = as->pages.root_link();
  PcNode* shadow = nullptr;  // an evicted page's node: this read is a refault
  while (*link != nullptr) {
    parent = *link;
    PcNode* n = ContainerOf(parent, &PcNode::node);
    if (n->index == index) {
      if (n->pg != nullptr) return n->pg;
      if (n->swap != 0) {  // a shmem page on a swap device
        page* p = ShmemSwapIn(as, n, fault);
        if (p != nullptr) *major = true;
        return p;
      }
      shadow = n;
      break;
    }
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
  // vm_lock is held: no direct reclaim (the fault retries after reclaim).
  PcNode* n = shadow != nullptr ? shadow : pc_pool_.New<PcNode>();
  page* p = n != nullptr ? buddy_->AllocPages((GFP_HIGHUSER_MOVABLE & ~__GFP_DIRECT_RECLAIM) |
                                                  __GFP_ZERO | __GFP_NOWARN, 0)
                         : nullptr;
  if (p == nullptr) {
    if (n != nullptr && n != shadow) pc_pool_.Delete(n);
    *fault = VM_FAULT_OOM;
    return nullptr;
  }
  if (f->handle >= 0) {
    const long r = file_ops_->read(file_ops_->context, f->handle, index << kPageShift,
                                   buddy_->PageAddress(p), kPageSize);
    if (r < 0) {
      buddy_->FreePages(p, 0);
      if (n != shadow) pc_pool_.Delete(n);
      *fault = VM_FAULT_SIGBUS;
      return nullptr;
    }
    *major = true;
  }
  p->index = index;
  if (shadow != nullptr) {
    const uint64_t value = shadow->shadow;
    shadow->shadow = 0;
    shadow->pg = p;
    --as->nrshadows;
    if (swap_ != nullptr && swap_->file_refault != nullptr)
      swap_->file_refault(swap_->context, value);
  } else {
    n->index = index;
    n->pg = p;
    as->pages.InsertAt(&n->node, parent, link);
  }
  PageCacheAdded(as, p);
  return p;
}

// A page enters the page cache of `as` (its node already points to it):
// pages with backing go on the file LRU (PG_lru); shmem pages (the unnamed
// file of a shared anonymous mapping) are swap-backed and go on the anon
// LRU, as Linux's shmem folios do. lru_cache_add either way.
void VmSystem::PageCacheAdded(address_space* as, page* p) {
  p->mapping = as;
  const bool shmem = IsShmem(as);
  p->flags |= PG_uptodate | (shmem ? PG_swapbacked : PG_lru);
  ++as->nrpages;
  nr_file_pages_.fetch_add(1, std::memory_order_relaxed);
  if (shmem) nr_shmem_.fetch_add(1, std::memory_order_relaxed);
  LruChange(p);
}

// shmem_swapin_folio: the entry's page from the swap cache (or read from the
// device into it) goes back into the index node, which gives up its slot
// reference (with the last one the swap cache lets go of the page). A page
// a reclaimer is still writing (PG_writeback) is copied instead: the writer
// reads it without vm_lock, so nobody may store into it meanwhile.
page* VmSystem::ShmemSwapIn(address_space* as, PcNode* n, unsigned* fault) {
  if (swap_ == nullptr || swap_->swap_in == nullptr) {
    *fault = VM_FAULT_SIGBUS;
    return nullptr;
  }
  const pte_t entry = n->swap;
  page* p = nullptr;
  bool exclusive = false;
  const int err = swap_->swap_in(swap_->context, entry, &p, &exclusive);
  if (err != 0 || p == nullptr) {
    *fault = err == -kENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
    return nullptr;
  }
  if (PageHasFlag(p, PG_writeback) || p->mapping != nullptr ||
      p->_mapcount.load(std::memory_order_relaxed) != 0) {
    page* np = NewAnonPage(false);
    if (np == nullptr) {
      buddy_->PutPage(p);
      *fault = VM_FAULT_OOM;
      return nullptr;
    }
    __builtin_memcpy(buddy_->PageAddress(np), buddy_->PageAddress(p), kPageSize);
    buddy_->PutPage(p);
    p = np;
  }
  // Our reference becomes the page cache's.
  n->swap = 0;
  n->pg = p;
  --as->nrswapped;
  p->index = n->index;
  PageCacheAdded(as, p);
  if (swap_->swap_free != nullptr) swap_->swap_free(swap_->context, entry);
  shmem_swapin_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

bool VmSystem::ShmemPageLocked(const page* p) const {
  return (p->flags & (PG_swapbacked | PG_anon | PG_lru | PG_slab | PG_buddy | PG_pcp)) ==
             PG_swapbacked &&
         p->mapping != nullptr && IsShmem(static_cast<const address_space*>(p->mapping));
}

int VmSystem::ShmemSwapOutLocked(page* p, pte_t entry) {
  if (p == nullptr || !PteSwap(entry) || !ShmemPageLocked(p)) return -kEINVAL;
  address_space* as = static_cast<address_space*>(p->mapping);
  PcNode* n = PageCacheFind(as, p->index);
  if (n == nullptr || n->pg != p) return -kEINVAL;
  if (UnmapFilePage(p) != 0) return -kEBUSY;
  // The page cache's, the swap cache's and the caller's references only.
  if (p->_refcount.load(std::memory_order_relaxed) != 3) return -kEBUSY;
  n->pg = nullptr;
  n->swap = entry;
  ++as->nrswapped;
  --as->nrpages;
  p->mapping = nullptr;
  p->index = 0;
  p->flags &= ~(PG_uptodate | PG_swapbacked);
  nr_file_pages_.fetch_sub(1, std::memory_order_relaxed);
  nr_shmem_.fetch_sub(1, std::memory_order_relaxed);
  shmem_swapout_.fetch_add(1, std::memory_order_relaxed);
  LruChange(p);        // off the anon LRU
  buddy_->PutPage(p);  // the page cache's reference
  return 0;
}

int VmSystem::WritePage(file* f, page* p) {
  if (f->handle < 0) {
    ClearPageDirtyFile(p);
    return 0;
  }
  const int64_t size = file_ops_->size(file_ops_->context, f->handle);
  const uint64_t off = p->index << kPageShift;
  if (size < 0) return static_cast<int>(size);
  if (off >= static_cast<uint64_t>(size)) {
    ClearPageDirtyFile(p);
    return 0;
  }
  const uint64_t len = static_cast<uint64_t>(size) - off < kPageSize ? static_cast<uint64_t>(size) - off
                                                                      : kPageSize;
  const long r = file_ops_->write(file_ops_->context, f->handle, off, buddy_->PageAddress(p), len);
  if (r < 0) return static_cast<int>(r);
  ClearPageDirtyFile(p);
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
        vm->SetPageDirtyFile(p);
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
    if (p != nullptr && PageHasFlag(p, PG_dirty)) {
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

// Drops a page-cache node: its page (unmapped; the cache's reference goes)
// or its shadow entry.
void VmSystem::PageCacheRemove(file* f, PcNode* n) {
  page* p = n->pg;
  f->f_mapping.pages.Erase(&n->node);
  if (p == nullptr) {
    if (n->swap != 0) {  // a shmem page on a swap device: its slot goes
      --f->f_mapping.nrswapped;
      if (swap_ != nullptr && swap_->swap_free != nullptr) swap_->swap_free(swap_->context, n->swap);
    } else {
      --f->f_mapping.nrshadows;
    }
    pc_pool_.Delete(n);
    return;
  }
  MM_CHECK(p->_mapcount.load(std::memory_order_relaxed) == 0);
  --f->f_mapping.nrpages;
  ClearPageDirtyFile(p);
  p->mapping = nullptr;
  p->index = 0;
  if (PageHasFlag(p, PG_swapbacked)) nr_shmem_.fetch_sub(1, std::memory_order_relaxed);
  p->flags &= ~(PG_uptodate | PG_lru | PG_swapbacked);
  nr_file_pages_.fetch_sub(1, std::memory_order_relaxed);
  LruChange(p);
  buddy_->PutPage(p);
  pc_pool_.Delete(n);
}

bool VmSystem::EvictableFilePageLocked(const page* p) const {
  return (p->flags & (PG_lru | PG_anon | PG_swapcache | PG_slab | PG_buddy | PG_pcp)) == PG_lru &&
         p->mapping != nullptr;
}

// page_mkclean for one page: D bits move into PG_dirty, the PTEs lose W (the
// next store faults and dirties the page again).
int VmSystem::MkcleanFilePage(page* p) {
  return ForEachMappingPte<&vm_area_struct::shared>(
      static_cast<address_space*>(p->mapping)->i_mmap, p->index, buddy_->PageToPfn(p),
      [&](vm_area_struct* vma, unsigned long addr, pte_t* pte) {
        if (*pte & kPteD) SetPageDirtyFile(p);
        if (*pte & (kPteD | kPteW)) {
          *pte &= ~(kPteD | kPteW);
          TlbFlushRange(vma->vm_mm, addr, addr + kPageSize);
        }
        return true;
      });
}

// try_to_unmap for a page-cache page: every PTE becomes none (a later access
// faults the page in again from the cache or the file).
int VmSystem::UnmapFilePage(page* p) {
  ForEachMappingPte<&vm_area_struct::shared>(
      static_cast<address_space*>(p->mapping)->i_mmap, p->index, buddy_->PageToPfn(p),
      [&](vm_area_struct* vma, unsigned long addr, pte_t* pte) {
        if (*pte & kPteD) SetPageDirtyFile(p);
        *pte = 0;
        TlbFlushRange(vma->vm_mm, addr, addr + kPageSize);
        PageRemoveRmap(vma->vm_mm, p);
        return true;
      });
  return p->_mapcount.load(std::memory_order_relaxed);
}

int VmSystem::PageCacheEvict(page* p, uint64_t shadow, bool* wrote) {
  SpinLockGuard g(lock_);
  if (wrote != nullptr) *wrote = false;
  if (p == nullptr || shadow == 0 || !EvictableFilePageLocked(p)) return -kEINVAL;
  address_space* as = static_cast<address_space*>(p->mapping);
  file* f = as->host;
  PcNode* n = PageCacheFind(as, p->index);
  if (f == nullptr || f->handle < 0 || n == nullptr || n->pg != p) return -kEINVAL;
  if (UnmapFilePage(p) != 0) return -kEBUSY;
  if (PageHasFlag(p, PG_dirty)) {
    const int err = WritePage(f, p);  // pageout()
    if (err != 0) return err;
    if (wrote != nullptr) *wrote = true;
  }
  // The cache's reference and the caller's: nobody else may hold it.
  if (p->_refcount.load(std::memory_order_relaxed) != 2) return -kEBUSY;
  n->pg = nullptr;
  n->shadow = shadow;
  ++as->nrshadows;
  --as->nrpages;
  p->mapping = nullptr;
  p->index = 0;
  p->flags &= ~(PG_uptodate | PG_lru);
  nr_file_pages_.fetch_sub(1, std::memory_order_relaxed);
  pgfile_evicted_.fetch_add(1, std::memory_order_relaxed);
  LruChange(p);
  buddy_->PutPage(p);  // the cache's reference; the caller's is the last
  return 0;
}

int VmSystem::WritebackPage(page* p) {
  SpinLockGuard g(lock_);
  if (p == nullptr || !EvictableFilePageLocked(p)) return -kEINVAL;
  address_space* as = static_cast<address_space*>(p->mapping);
  if (as->host == nullptr || as->host->handle < 0) return -kEINVAL;
  MkcleanFilePage(p);
  return PageHasFlag(p, PG_dirty) ? WritePage(as->host, p) : 0;
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
