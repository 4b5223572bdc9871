// The software MMU, page faults (handle_mm_fault), copy-on-write, the access
// API, copy_{to,from}_user, zap/protect/move of PTE ranges, TLB maintenance
// and the reverse map. Lock: vm_lock (vm_system.h), held by every function
// here below the public entry points.
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/vm/vm_internal.h"
#include "mm/vm/vm_system.h"

namespace mm {

using namespace vm_internal;

namespace {
constexpr gfp_t kFaultGfp = (GFP_HIGHUSER_MOVABLE & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN;

uintptr_t NeedBits(Access type) {
  switch (type) {
    case Access::kLoad:
      return kPteR | kPteU;
    case Access::kStore:
      return kPteW | kPteD | kPteU;
    case Access::kFetch:
      return kPteX | kPteU;
  }
  return kPteR | kPteU;
}
}  // namespace

// ---------------------------------------------------------------- ASIDs, TLB

// ASIDs are handed out in generations: when 2^16-1 are used, the whole TLB
// is flushed and every mm gets a fresh ASID at its next use.
void VmSystem::EnsureAsid(mm_struct* mm) {
  if (mm->asid != 0 && mm->asid_generation == asid_generation_) return;
  if (next_asid_ >= (1u << kAsidBits)) {
    ++asid_generation_;
    next_asid_ = 1;
    tlb_.FlushAll();
  }
  mm->asid = next_asid_++;
  mm->asid_generation = asid_generation_;
}

void VmSystem::TlbFlushRange(mm_struct* mm, unsigned long start, unsigned long end) {
  if (mm->asid == 0 || mm->asid_generation != asid_generation_) return;
  tlb_.FlushRange(mm->asid, start, end);
}

void VmSystem::FlushTlbPage(vm_area_struct* vma, unsigned long addr) {
  SpinLockGuard g(lock_);
  TlbFlushRange(vma->vm_mm, addr & ~(kPageSize - 1), (addr & ~(kPageSize - 1)) + kPageSize);
}

void VmSystem::FlushTlbRange(vm_area_struct* vma, unsigned long start, unsigned long end) {
  SpinLockGuard g(lock_);
  TlbFlushRange(vma->vm_mm, start, end);
}

void VmSystem::FlushTlbMm(mm_struct* mm) {
  SpinLockGuard g(lock_);
  if (mm->asid != 0 && mm->asid_generation == asid_generation_) tlb_.FlushAsid(mm->asid);
}

uint64_t VmSystem::Satp(mm_struct* mm) {
  SpinLockGuard g(lock_);
  if (!cfg_.mmu) return 0;  // Bare
  EnsureAsid(mm);
  return MakeSatp(mode_, mm->asid, mm->pgt.root_pfn());
}

// ---------------------------------------------------------------- the MMU

// A hart's page-table walk on a TLB miss: checks V, U and R/W/X, sets A (and
// D on a store) in the leaf as hardware with Svadu does, fills the TLB.
uintptr_t VmSystem::MmuWalk(mm_struct* mm, unsigned long va, Access type) {
  if (va >= mode_.user_top()) return 0;
  pte_t* pte = mm->pgt.Lookup(va);
  if (pte == nullptr) return 0;
  pte_t e = *pte;
  if (!PteLeaf(e) || !(e & kPteU)) return 0;
  switch (type) {
    case Access::kLoad:
      if (!(e & kPteR)) return 0;
      e |= kPteA;
      break;
    case Access::kStore:
      if (!(e & kPteW)) return 0;
      e |= kPteA | kPteD;
      break;
    case Access::kFetch:
      if (!(e & kPteX)) return 0;
      e |= kPteA;
      break;
  }
  *pte = e;
  const uintptr_t host = HostOfPfn(PtePfn(e));
  EnsureAsid(mm);
  tlb_.Fill(mm->asid, va, host, e);
  return host | (va & (kPageSize - 1));
}

// One access's translation for task t: TLB, walk, fault, retry. Returns the
// host address, or 0 with *sig set (the fault was not resolvable).
uintptr_t VmSystem::AccessOne(task_struct* t, unsigned long addr, Access type, int* sig) {
  mm_struct* mm = t->mm;
  *sig = 0;
  if (mm == nullptr) {
    *sig = SIGSEGV;
    return 0;
  }
  if (!cfg_.mmu) {  // user addresses are physical: any RAM is reachable
    if (!buddy_->PfnValid(addr >> kPageShift)) {
      *sig = SIGSEGV;
      return 0;
    }
    return buddy_->PhysToVirt(addr);
  }
  EnsureAsid(mm);
  const uintptr_t h = tlb_.Lookup(mm->asid, addr, NeedBits(type));
  if (h != 0) return h;
  int no_progress = 0, retries = 0;
  for (int tries = 0; tries < 3;) {
    const uintptr_t w = MmuWalk(mm, addr, type);
    if (w != 0) return w;
    const int s = UserFault(t, addr, type);
    if (s == kFaultNeedsMemory) {
      // VM_FAULT_RETRY: reclaim without vm_lock, then walk again from the
      // top (the VMA, the PTE, even the task may have changed meanwhile).
      fault_retries_.fetch_add(1, std::memory_order_relaxed);
      if (++retries > kMaxFaultRetries || !ReclaimForFault(&no_progress)) {
        *sig = t->exit_state != 0 ? kTaskGone : SIGKILL;
        return 0;
      }
      if (t->exit_state != 0 || t->mm != mm) {
        *sig = kTaskGone;
        return 0;
      }
      continue;
    }
    if (s != 0) {
      *sig = s;
      return 0;
    }
    ++tries;
  }
  *sig = SIGSEGV;
  return 0;
}

bool VmSystem::ReclaimForFault(int* no_progress) {
  const SwapHooks* h = swap_;
  if (h == nullptr || h->reclaim == nullptr) return false;
  lock_.Unlock();
  bool ok = true;
  if (h->reclaim(h->context) != 0) {
    *no_progress = 0;
  } else if (++*no_progress >= kNoProgressOom) {
    // pagefault_out_of_memory: reclaim keeps failing; kill something.
    *no_progress = 0;
    ok = h->out_of_memory != nullptr && h->out_of_memory(h->context) != 0;
  }
  lock_.Lock();
  return ok;
}

bool VmSystem::ExpandStack(vm_area_struct* vma, unsigned long addr) {
  mm_struct* mm = vma->vm_mm;
  addr &= ~(kPageSize - 1);
  if (vma->vm_end - addr > kStackRlimit) return false;
  vm_area_struct* prev = VmaPrev(mm, vma);
  if (prev != nullptr && addr < prev->vm_end + kStackGuardGap) return false;
  if (addr < kMmapMinAddr) return false;
  const unsigned long grow = (vma->vm_start - addr) >> kPageShift;
  VmaUnlink(mm, vma);
  vma->vm_start = addr;
  vma->vm_pgoff -= grow;
  VmaLink(mm, vma);
  return true;
}

// do_user_addr_fault: returns 0 when resolved, else the signal to deliver.
int VmSystem::UserFault(task_struct* t, unsigned long addr, Access type) {
  mm_struct* mm = t->mm;
  vm_area_struct* vma = LookupVma(mm, addr);
  if (vma == nullptr) return SIGSEGV;
  if (vma->vm_start > addr) {
    if (!(vma->vm_flags & VM_GROWSDOWN) || !ExpandStack(vma, addr)) return SIGSEGV;
  }
  unsigned flags = FAULT_FLAG_USER;
  switch (type) {
    case Access::kLoad:
      if (!(vma->vm_flags & (VM_READ | VM_WRITE))) return SIGSEGV;
      break;
    case Access::kStore:
      if (!(vma->vm_flags & VM_WRITE)) return SIGSEGV;
      flags |= FAULT_FLAG_WRITE;
      break;
    case Access::kFetch:
      if (!(vma->vm_flags & VM_EXEC)) return SIGSEGV;
      flags |= FAULT_FLAG_INSTRUCTION;
      break;
  }
  const unsigned r = HandleMmFaultLocked(vma, addr, flags);
  if (r & VM_FAULT_MAJOR) {
    ++t->maj_flt;
  } else {
    ++t->min_flt;
  }
  if (r & VM_FAULT_OOM) {
    // The allocation ran without direct reclaim (vm_lock is held): the
    // caller reclaims without the lock and retries, when it can.
    return swap_ != nullptr && swap_->reclaim != nullptr ? kFaultNeedsMemory : SIGKILL;
  }
  if (r & VM_FAULT_SIGBUS) return SIGBUS;
  if (r & VM_FAULT_SIGSEGV) return SIGSEGV;
  return 0;
}

// ---------------------------------------------------------------- faults

pte_t VmSystem::MkPte(vm_area_struct* vma, page* p, bool writable) {
  const Pfn pfn = buddy_->PageToPfn(p);
  const unsigned long f = vma->vm_flags;
  if (!(f & VM_ACCESS_FLAGS)) return PfnToPte(pfn, kPteProtNone);
  pte_t bits = kPteV | kPteU;
  if (f & (VM_READ | VM_WRITE)) bits |= kPteR;
  if (f & VM_EXEC) bits |= kPteX;
  if (writable && (f & VM_WRITE)) bits |= kPteW;
  return PfnToPte(pfn, bits);
}

// vm_lock is held: no direct reclaim (it needs vm_lock); kswapd is woken
// below low, and a failure makes the fault reclaim without the lock and retry.
page* VmSystem::NewAnonPage(bool zero) {
  return buddy_->AllocPages(kFaultGfp | (zero ? __GFP_ZERO : 0), 0);
}

namespace {
void UpdateHiwaterRss(mm_struct* mm) {
  const unsigned long rss = static_cast<unsigned long>(
      mm->rss_stat[MM_ANONPAGES] + mm->rss_stat[MM_FILEPAGES] + mm->rss_stat[MM_SHMEMPAGES]);
  if (rss > mm->hiwater_rss) mm->hiwater_rss = rss;
}
}  // namespace

// A new anonymous page (refcount 1) gets its first mapping.
void VmSystem::PageAddAnonRmap(page* p, vm_area_struct* vma, unsigned long addr) {
  p->flags |= PG_anon | PG_swapbacked | PG_uptodate;
  p->mapping = vma->anon_vma;
  p->index = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
  p->_mapcount.store(1, std::memory_order_relaxed);
  ++vma->vm_mm->rss_stat[MM_ANONPAGES];
  UpdateHiwaterRss(vma->vm_mm);
  nr_anon_pages_.fetch_add(1, std::memory_order_relaxed);
  LruChange(p);  // lru_cache_add
}

// One PTE of mm no longer maps p: drop its mapcount and its reference.
void VmSystem::PageRemoveRmap(mm_struct* mm, page* p) {
  if (p == zero_page_) return;
  const int mc = p->_mapcount.fetch_sub(1, std::memory_order_relaxed) - 1;
  MM_CHECK(mc >= 0);
  if (PageHasFlag(p, PG_anon)) {
    --mm->rss_stat[MM_ANONPAGES];
    if (mc == 0) {
      p->mapping = nullptr;
      p->index = 0;
      // A swap-cache page keeps PG_dirty: its data is not on the device.
      p->flags &= ~(PG_anon | PG_swapbacked | PG_uptodate |
                    (PageHasFlag(p, PG_swapcache) ? 0u : static_cast<uint32_t>(PG_dirty)));
      nr_anon_pages_.fetch_sub(1, std::memory_order_relaxed);
      LruChange(p);  // off the anon LRU
    }
  } else {
    --mm->rss_stat[RssCounter(p)];
  }
  buddy_->PutPage(p);
}

unsigned VmSystem::DoAnonymousPage(vm_area_struct* vma, unsigned long addr, pte_t* pte,
                                   unsigned flags) {
  if (!(flags & FAULT_FLAG_WRITE)) {
    // The shared zero page, read-only.
    *pte = MkPte(vma, zero_page_, false);
    zero_faults_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (AnonVmaPrepare(vma) != 0) return VM_FAULT_OOM;
  page* p = NewAnonPage(true);
  if (p == nullptr) return VM_FAULT_OOM;
  PageAddAnonRmap(p, vma, addr);
  *pte = MkPte(vma, p, true);
  return 0;
}

unsigned VmSystem::DoFileFault(vm_area_struct* vma, unsigned long addr, pte_t* pte,
                               unsigned flags) {
  file* f = vma->vm_file;
  const uint64_t index = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
  bool major = false;
  unsigned fault = 0;
  page* p = FindOrReadPage(f, index, &major, &fault);
  if (p == nullptr) return fault;
  unsigned ret = 0;
  if (major) {
    pgmajfault_.fetch_add(1, std::memory_order_relaxed);
    ret |= VM_FAULT_MAJOR;
  }
  if ((flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED)) {
    // do_cow_fault: a private copy of the cached page.
    if (AnonVmaPrepare(vma) != 0) return VM_FAULT_OOM;
    page* np = NewAnonPage(false);
    if (np == nullptr) return VM_FAULT_OOM;
    __builtin_memcpy(buddy_->PageAddress(np), buddy_->PageAddress(p), kPageSize);
    PageAddAnonRmap(np, vma, addr);
    *pte = MkPte(vma, np, true);
    cow_faults_.fetch_add(1, std::memory_order_relaxed);
    return ret;
  }
  buddy_->GetPage(p);
  p->_mapcount.fetch_add(1, std::memory_order_relaxed);
  ++vma->vm_mm->rss_stat[RssCounter(p)];
  UpdateHiwaterRss(vma->vm_mm);
  const bool writable = (flags & FAULT_FLAG_WRITE) != 0;
  if (writable) SetPageDirtyFile(p);
  *pte = MkPte(vma, p, writable);
  return ret;
}

// do_wp_page: a write to a present read-only PTE of a writable VMA.
unsigned VmSystem::DoWpPage(vm_area_struct* vma, unsigned long addr, pte_t* pte) {
  mm_struct* mm = vma->vm_mm;
  const pte_t e = *pte;
  const Pfn pfn = PtePfn(e);
  page* old = pfn == zero_pfn_ ? zero_page_ : buddy_->PfnToPage(pfn);
  MM_CHECK(old != nullptr);
  if (old != zero_page_ && (vma->vm_flags & VM_SHARED)) {
    // wp_page_shared: the file page becomes writable and dirty.
    SetPageDirtyFile(old);
    *pte = e | kPteW;
    TlbFlushRange(mm, addr, addr + kPageSize);
    return 0;
  }
  if (old != zero_page_ && PageHasFlag(old, PG_anon) &&
      old->_refcount.load(std::memory_order_relaxed) == 1) {
    // Exclusively owned: reuse in place (wp_page_reuse).
    MM_DCHECK(old->_mapcount.load(std::memory_order_relaxed) == 1);
    *pte = e | kPteW;
    TlbFlushRange(mm, addr, addr + kPageSize);
    return 0;
  }
  // wp_page_copy: a private copy (of the zero page: a zeroed page).
  if (AnonVmaPrepare(vma) != 0) return VM_FAULT_OOM;
  page* np = NewAnonPage(old == zero_page_);
  if (np == nullptr) return VM_FAULT_OOM;
  if (old != zero_page_)
    __builtin_memcpy(buddy_->PageAddress(np), buddy_->PageAddress(old), kPageSize);
  PageAddAnonRmap(np, vma, addr);
  *pte = MkPte(vma, np, true);
  TlbFlushRange(mm, addr, addr + kPageSize);
  PageRemoveRmap(mm, old);
  cow_faults_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

// do_swap_page: the swap layer hands over the entry's page from the swap
// cache (read from the device if needed). A page other PTEs already map
// (shared before swap-out, e.g. after fork) is mapped again here: one
// physical page, mapcount + 1. It is mapped writable only when exclusive;
// otherwise read-only, and a write goes on to do_wp_page (copy-on-write).
unsigned VmSystem::DoSwapPage(vm_area_struct* vma, unsigned long addr, pte_t* pte,
                              unsigned flags) {
  if (swap_ == nullptr || swap_->swap_in == nullptr) return VM_FAULT_SIGBUS;
  const pte_t entry = *pte;
  if (AnonVmaPrepare(vma) != 0) return VM_FAULT_OOM;
  page* p = nullptr;
  bool exclusive = false;
  const int err = swap_->swap_in(swap_->context, entry, &p, &exclusive);
  if (err != 0 || p == nullptr) return err == -kENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
  mm_struct* mm = vma->vm_mm;
  const uint64_t index = vma->vm_pgoff + ((addr - vma->vm_start) >> kPageShift);
  if (p->_mapcount.load(std::memory_order_relaxed) == 0) {
    PageAddAnonRmap(p, vma, addr);  // our reference becomes the PTE's
  } else if (PageHasFlag(p, PG_anon) && p->mapping == vma->anon_vma && p->index == index) {
    p->_mapcount.fetch_add(1, std::memory_order_relaxed);
    ++mm->rss_stat[MM_ANONPAGES];
    UpdateHiwaterRss(mm);
  } else {
    // Mapped under another anon_vma (its rmap could not find this PTE): a copy.
    page* np = NewAnonPage(false);
    if (np == nullptr) {
      buddy_->PutPage(p);
      return VM_FAULT_OOM;
    }
    __builtin_memcpy(buddy_->PageAddress(np), buddy_->PageAddress(p), kPageSize);
    buddy_->PutPage(p);
    p = np;
    exclusive = true;
    PageAddAnonRmap(p, vma, addr);
  }
  --mm->rss_stat[MM_SWAPENTS];
  const bool write = (flags & FAULT_FLAG_WRITE) != 0;
  *pte = MkPte(vma, p, write && exclusive);
  if (swap_->swap_free != nullptr) swap_->swap_free(swap_->context, entry);
  pgmajfault_.fetch_add(1, std::memory_order_relaxed);
  if (write && !exclusive) {
    const unsigned r = DoWpPage(vma, addr, pte);
    // The copy failed: the page stays mapped read-only; the fault is retried.
    return r | VM_FAULT_MAJOR;
  }
  return VM_FAULT_MAJOR;
}

unsigned VmSystem::HandleMmFaultLocked(vm_area_struct* vma, unsigned long addr, unsigned flags) {
  pgfault_.fetch_add(1, std::memory_order_relaxed);
  mm_struct* mm = vma->vm_mm;
  addr &= ~(kPageSize - 1);
  pte_t* pte = mm->pgt.LookupAlloc(addr);
  if (pte == nullptr) return VM_FAULT_OOM;
  const pte_t e = *pte;
  if (PteNone(e)) {
    return vma->vm_file != nullptr ? DoFileFault(vma, addr, pte, flags)
                                   : DoAnonymousPage(vma, addr, pte, flags);
  }
  if (PteSwap(e)) return DoSwapPage(vma, addr, pte, flags);
  if (PteProtNone(e)) {
    if (!(vma->vm_flags & VM_ACCESS_FLAGS)) return VM_FAULT_SIGSEGV;
    *pte = (e & (kPtePpnMask | kPteA | kPteD)) | (MkPte(vma, zero_page_, false) & ~kPtePpnMask);
    TlbFlushRange(mm, addr, addr + kPageSize);
  }
  if ((flags & FAULT_FLAG_WRITE) && !(*pte & kPteW)) return DoWpPage(vma, addr, pte);
  return 0;  // spurious (another path resolved it)
}

unsigned VmSystem::HandleMmFault(vm_area_struct* vma, unsigned long addr, unsigned flags) {
  SpinLockGuard g(lock_);
  return HandleMmFaultLocked(vma, addr, flags);
}

// populate_vma_page_range: faults [*start, end) in (a write fault for a
// writable private mapping, breaking CoW as FOLL_WRITE does). Returns 0, or
// -ENOMEM with *start at the page whose allocation failed (vm_lock held
// throughout: no direct reclaim), or -EFAULT (SIGBUS-type failure: stop).
int VmSystem::Populate(mm_struct* mm, unsigned long* start, unsigned long end) {
  for (unsigned long a = *start; a < end; a += kPageSize) {
    *start = a;
    vm_area_struct* vma = LookupVma(mm, a);
    if (vma == nullptr || vma->vm_start > a) continue;
    if (!(vma->vm_flags & VM_ACCESS_FLAGS)) continue;
    const bool write = (vma->vm_flags & VM_WRITE) && !(vma->vm_flags & VM_SHARED);
    pte_t* pte = mm->pgt.Lookup(a);
    if (pte != nullptr && PtePresent(*pte) && !(write && !(*pte & kPteW))) continue;
    const unsigned r = HandleMmFaultLocked(vma, a, write ? FAULT_FLAG_WRITE : 0);
    if (r & VM_FAULT_OOM) return -kENOMEM;
    if (r & VM_FAULT_ERROR) return -kEFAULT;
  }
  *start = end;
  return 0;
}

// mm_populate for MAP_POPULATE: when a page cannot be allocated, vm_lock is
// dropped for reclaim (and the OOM killer after rounds without progress)
// and population goes on from that page, as a fault's VM_FAULT_RETRY does;
// the VMAs are looked up afresh after every drop. It stops when reclaim
// can do nothing more or t dies meanwhile; mmap ignores the result, as
// Linux ignores mm_populate's.
int VmSystem::MmPopulate(task_struct* t, unsigned long start, unsigned long end) {
  mm_struct* mm = t->mm;
  int no_progress = 0, retries = 0;
  for (;;) {
    const int err = Populate(mm, &start, end);
    if (err != -kENOMEM) return err;
    populate_retries_.fetch_add(1, std::memory_order_relaxed);
    if (++retries > kMaxFaultRetries || !ReclaimForFault(&no_progress)) return -kENOMEM;
    if (t->exit_state != 0 || t->mm != mm) return -kESRCH;
  }
}

// ---------------------------------------------------------------- PTE ranges

void VmSystem::ZapRange(mm_struct* mm, vm_area_struct* vma, unsigned long start,
                        unsigned long end) {
  if (!cfg_.mmu) return;
  struct Zap : PageWalkCallbacks {
    VmSystem* vm;
    mm_struct* mm;
    bool Pte(pte_t* e, uint64_t) {
      const pte_t v = *e;
      if (v == 0) return true;
      if (PtePresent(v)) {
        if (PtePfn(v) != vm->zero_pfn_) {
          page* p = vm->buddy_->PfnToPage(PtePfn(v));
          if ((v & kPteD) && !PageHasFlag(p, PG_anon)) vm->SetPageDirtyFile(p);
          vm->PageRemoveRmap(mm, p);
        }
      } else {
        --mm->rss_stat[MM_SWAPENTS];  // a swap entry: the swap layer frees its slot
        if (vm->swap_ != nullptr && vm->swap_->swap_free != nullptr)
          vm->swap_->swap_free(vm->swap_->context, v);
      }
      *e = 0;
      return true;
    }
  };
  (void)vma;
  Zap z;
  z.vm = this;
  z.mm = mm;
  mm->pgt.Walk(start, end, z);
  TlbFlushRange(mm, start, end);
}

// change_protection: rewrites the present PTEs of [start, end) for vma's new
// flags. Write permission is never granted here (except to already dirty
// shared pages): the next write faults and do_wp_page decides reuse or copy.
void VmSystem::ChangeProtection(mm_struct* mm, vm_area_struct* vma, unsigned long start,
                                unsigned long end) {
  struct Prot : PageWalkCallbacks {
    unsigned long flags;
    bool Pte(pte_t* e, uint64_t) {
      const pte_t v = *e;
      if (!PtePresent(v)) return true;
      const pte_t keep = v & (kPtePpnMask | kPteA | kPteD);
      if (!(flags & VM_ACCESS_FLAGS)) {
        *e = keep | kPteProtNone;
        return true;
      }
      pte_t bits = kPteV | kPteU;
      if (flags & (VM_READ | VM_WRITE)) bits |= kPteR;
      if (flags & VM_EXEC) bits |= kPteX;
      if ((flags & VM_SHARED) && (flags & VM_WRITE) && (v & kPteW)) bits |= kPteW;
      *e = keep | bits;
      return true;
    }
  };
  Prot w;
  w.flags = vma->vm_flags;
  mm->pgt.Walk(start, end, w);
  TlbFlushRange(mm, start, end);
}

// move_page_tables: PTEs of [old, old+len) move to [new, new+len); pages keep
// their mapcount and index. Tables are allocated first so failure changes nothing.
int VmSystem::MoveVmaPages(mm_struct* mm, unsigned long old_addr, unsigned long new_addr,
                           unsigned long len) {
  for (unsigned long off = 0; off < len; off += kPageSize) {
    pte_t* src = mm->pgt.Lookup(old_addr + off);
    if (src == nullptr || *src == 0) continue;
    if (mm->pgt.LookupAlloc(new_addr + off) == nullptr) return -kENOMEM;
  }
  for (unsigned long off = 0; off < len; off += kPageSize) {
    pte_t* src = mm->pgt.Lookup(old_addr + off);
    if (src == nullptr || *src == 0) continue;
    pte_t* dst = mm->pgt.Lookup(new_addr + off);
    MM_CHECK(dst != nullptr && *dst == 0);
    *dst = *src;
    *src = 0;
  }
  TlbFlushRange(mm, old_addr, old_addr + len);
  return 0;
}

// ---------------------------------------------------------------- access API

void VmSystem::ForceSig(task_struct* t, int sig, unsigned long addr) {
  const vm_area_struct* vma = t->mm != nullptr && cfg_.mmu ? LookupVma(t->mm, addr) : nullptr;
  const int code = (vma == nullptr || vma->vm_start > addr) ? 1 : 2;  // SEGV_MAPERR / ACCERR
  Printk("%s[%d]: unhandled signal %d code 0x%x at 0x%016lx\n", t->comm, t->pid, sig, code, addr);
  t->fault_addr = addr;
  t->fault_signal = sig;
  t->pending_signals |= uint64_t{1} << (sig - 1);
  ExitTaskLocked(t, sig);
}

int VmSystem::UserAccess(task_struct* t, Access type, unsigned long addr, void* buf, size_t n) {
  SpinLockGuard g(lock_);
  if (t == nullptr || t->exit_state != 0) return -kESRCH;
  char* b = static_cast<char*>(buf);
  while (n > 0) {
    const size_t chunk = n < kPageSize - (addr & (kPageSize - 1)) ? n : kPageSize - (addr & (kPageSize - 1));
    int sig = 0;
    const uintptr_t h = AccessOne(t, addr, type, &sig);
    if (h == 0) {
      if (sig == kTaskGone) return -kESRCH;  // killed (OOM) while the fault waited
      ForceSig(t, sig, addr);
      return -kEFAULT;
    }
    if (type == Access::kStore) {
      __builtin_memcpy(reinterpret_cast<void*>(h), b, chunk);
    } else {
      __builtin_memcpy(b, reinterpret_cast<const void*>(h), chunk);
    }
    addr += chunk;
    b += chunk;
    n -= chunk;
  }
  return 0;
}

int VmSystem::Translate(task_struct* t, Access type, unsigned long addr, PhysAddr* pa) {
  SpinLockGuard g(lock_);
  if (t == nullptr || t->mm == nullptr) return -kEFAULT;
  if (!cfg_.mmu) {
    if (!buddy_->PfnValid(addr >> kPageShift)) return -kEFAULT;
    *pa = addr;
    return 0;
  }
  EnsureAsid(t->mm);
  uintptr_t h = tlb_.Lookup(t->mm->asid, addr, NeedBits(type));
  if (h == 0) h = MmuWalk(t->mm, addr, type);
  if (h == 0) return -kEFAULT;
  page* p = buddy_->VirtToPage(reinterpret_cast<void*>(h));
  *pa = buddy_->PageToPhys(p) | (addr & (kPageSize - 1));
  return 0;
}

// copy_{to,from}_user: page by page through the MMU, resolving faults as the
// kernel's fixup path does; stops at the first unresolvable page.
unsigned long VmSystem::CopyUser(void* user, void* kernel, unsigned long n, bool to_user) {
  task_struct* t = CurrentLocked();
  if (t == nullptr || t->exit_state != 0) return n;
  unsigned long addr = reinterpret_cast<unsigned long>(user);
  char* k = static_cast<char*>(kernel);
  unsigned long done = 0;
  if (addr + n < addr || addr + n > task_size_) {
    if (cfg_.mmu) return n;
  }
  while (done < n) {
    const unsigned long chunk =
        n - done < kPageSize - (addr & (kPageSize - 1)) ? n - done : kPageSize - (addr & (kPageSize - 1));
    int sig = 0;
    const uintptr_t h = AccessOne(t, addr, to_user ? Access::kStore : Access::kLoad, &sig);
    if (h == 0) break;
    if (to_user) {
      __builtin_memcpy(reinterpret_cast<void*>(h), k, chunk);
    } else {
      __builtin_memcpy(k, reinterpret_cast<const void*>(h), chunk);
    }
    done += chunk;
    addr += chunk;
    k += chunk;
  }
  return n - done;
}

unsigned long VmSystem::CopyToUser(void* to, const void* from, unsigned long n) {
  SpinLockGuard g(lock_);
  return CopyUser(to, const_cast<void*>(from), n, true);
}

unsigned long VmSystem::CopyFromUser(void* to, const void* from, unsigned long n) {
  SpinLockGuard g(lock_);
  return CopyUser(const_cast<void*>(from), to, n, false);
}

// ---------------------------------------------------------------- rmap

int VmSystem::RmapWalk(page* p, RmapFn fn, void* ctx) {
  SpinLockGuard g(lock_);
  if (!cfg_.mmu || p == nullptr || p->mapping == nullptr) return 0;
  const Pfn pfn = buddy_->PageToPfn(p);
  auto call = [&](vm_area_struct* vma, unsigned long addr, pte_t* pte) {
    return fn(vma, addr, pte, ctx);
  };
  if (PageHasFlag(p, PG_anon)) {
    return ForEachMappingPte<&vm_area_struct::anon_vma_node>(
        static_cast<anon_vma*>(p->mapping)->vmas, p->index, pfn, call);
  }
  return ForEachMappingPte<&vm_area_struct::shared>(
      static_cast<address_space*>(p->mapping)->i_mmap, p->index, pfn, call);
}

}  // namespace mm

namespace mm {

int VmSystem::UnmapAnonPage(page* p, pte_t swap_pte, bool* dirty) {
  SpinLockGuard g(lock_);
  if (p == nullptr || !PageHasFlag(p, PG_anon) || p->mapping == nullptr || !PteSwap(swap_pte))
    return -kEINVAL;
  return ForEachMappingPte<&vm_area_struct::anon_vma_node>(
      static_cast<anon_vma*>(p->mapping)->vmas, p->index, buddy_->PageToPfn(p),
      [&](vm_area_struct* vma, unsigned long addr, pte_t* pte) {
        if ((*pte & kPteD) && dirty != nullptr) *dirty = true;
        *pte = swap_pte;
        TlbFlushRange(vma->vm_mm, addr, addr + kPageSize);
        ++vma->vm_mm->rss_stat[MM_SWAPENTS];
        PageRemoveRmap(vma->vm_mm, p);
        return true;
      });
}

void VmSystem::SetSwapHooks(const SwapHooks* hooks) {
  SpinLockGuard g(lock_);
  swap_ = hooks;
}

}  // namespace mm
