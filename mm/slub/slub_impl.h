// SLUB slow paths (template definitions; included by slub.h).
//
// LOCK ORDER (the full contract is at the top of slub.h):
//   registry lock -> SlubNode::lock -> page source.  Functions named *Locked
//   assert the node lock; Deactivate, GetPartial, FreeSlow's locked part and the
//   Debug* paths take it; NewSlab/DiscardSlab run with no lock (the page source
//   has its own). Lockless here: the remote-stack CAS/exchange, the own-cpu
//   partial free, and the sheaves (owner cpu only; a flush to the slabs is the
//   plain or CAS frees of ReturnRun/FreeChain). The barn lock nests inside
//   nothing but is taken with no node lock held, and the page source is
//   called with it released.
#ifndef MM_SLUB_SLUB_IMPL_H_
#define MM_SLUB_SLUB_IMPL_H_

namespace mm::slub {

namespace internal {
inline page* NextPartial(const page* pg) { return reinterpret_cast<page*>(pg->lru.next); }
inline page* LruEntry(ListNode* n) { return ContainerOf(n, &page::lru); }
}  // namespace internal

// ---------------------------------------------------------------------------
// Slab pages
// ---------------------------------------------------------------------------

// A new slab, not on any list, counted on its node. Its objects are built (debug
// init, then ctor: the ctor runs once per object per slab, never per alloc) and
// chained in address order on page->freelist. remote_free == 0 (not frozen).
template <PageSource PS>
page* Slub<PS>::NewSlab(kmem_cache* s, gfp_t gfp) {
  gfp_t pg_gfp = (gfp & ~(__GFP_ZERO | __GFP_COMP)) | __GFP_COMP;
  if (s->flags & SLAB_CACHE_DMA) pg_gfp |= __GFP_DMA;
  if (s->flags & SLAB_RECLAIM_ACCOUNT) pg_gfp |= __GFP_RECLAIMABLE;
  page* pg = nullptr;
  unsigned objects = s->objects;
  if (s->order > s->min_order) {
    pg = pages_->AllocPages(pg_gfp | __GFP_NOWARN | __GFP_NORETRY, s->order, -1);
  }
  if (pg == nullptr) {
    pg = pages_->AllocPages(pg_gfp, s->min_order, -1);
    objects = s->min_objects;
    if (pg == nullptr) return nullptr;
  }
  if (objects != s->objects && objects != s->min_objects) objects = s->min_objects;
  pg->flags |= PG_slab;
  pg->slab_cache = s;
  if (CacheOf(s)->mapped) map_.SetSlab(*pages_, pg, pg->order, s);
  pg->objects = objects;
  pg->inuse = 0;
  Remote(pg).store(0, std::memory_order_relaxed);
  pg->lru.next = pg->lru.prev = nullptr;
  const uintptr_t base = SlabBase(pg);
  const bool debug = CacheDebug(s);
  void* head = nullptr;
  for (unsigned i = objects; i-- > 0;) {
    void* obj = reinterpret_cast<void*>(base + static_cast<uintptr_t>(i) * s->size + s->red_left_pad);
    if (debug) slab_debug::InitFreeObject(s, obj);
    if (s->ctor != nullptr) s->ctor(obj);
    SetFreePointer(s, obj, head);
    head = obj;
  }
  pg->freelist = head;
  if (debug) {
    slab_debug::FillPadding(s, reinterpret_cast<void*>(base), kPageSize << pg->order, objects);
  }
  SlubNode& n = NodeOfSlab(CacheOf(s), pg);
  n.nr_slabs.fetch_add(1, std::memory_order_relaxed);
  n.total_objects.fetch_add(objects, std::memory_order_relaxed);
  return pg;
}

// Returns an empty, unlisted, unfrozen slab to the page source.
template <PageSource PS>
void Slub<PS>::DiscardSlab(kmem_cache* s, page* pg) {
  MM_DCHECK(pg->inuse == 0);
  if (s->flags & SLAB_CONSISTENCY_CHECKS) {
    slab_debug::Corruption c;
    void* base = reinterpret_cast<void*>(SlabBase(pg));
    if (!slab_debug::CheckPadding(s, base, kPageSize << pg->order, pg->objects, &c)) {
      slab_debug::ReportSlab(s, pg, "Padding overwritten. 0x%lx-0x%lx @offset=%lu",
                             static_cast<unsigned long>(c.first), static_cast<unsigned long>(c.last),
                             static_cast<unsigned long>(c.first - SlabBase(pg)));
    }
  }
  SlubNode& n = NodeOfSlab(CacheOf(s), pg);
  n.nr_slabs.fetch_sub(1, std::memory_order_relaxed);
  n.total_objects.fetch_sub(pg->objects, std::memory_order_relaxed);
  const unsigned order = pg->order;
  if (CacheOf(s)->mapped) map_.SetSlab(*pages_, pg, order, nullptr);
  pg->flags &= ~PG_slab;
  pg->slab_cache = nullptr;
  pg->freelist = nullptr;
  pg->inuse = 0;
  pg->objects = 0;
  Remote(pg).store(0, std::memory_order_relaxed);
  pg->lru.next = pg->lru.prev = nullptr;
  pages_->FreePages(pg, order);
}

// Makes pg (frozen by the caller) this cpu's active slab: the cpu takes
// page->freelist as its private list; inuse == objects from now on (S3).
template <PageSource PS>
void Slub<PS>::ActivateSlab(kmem_cache* s, SlubCpu* c, unsigned cpu, page* pg) {
  if (pg == c->free_page) ClearLastPartial(c);
  SetOwner(pg, cpu + 1);
  c->slab = pg;
  c->freelist = pg->freelist;
  pg->freelist = nullptr;
  pg->inuse = pg->objects;
  c->slab_start = SlabBase(pg);
  c->slab_bytes = SlabBytes(s, pg);
}

template <PageSource PS>
bool Slub<PS>::PlaceLocked(kmem_cache* s, SlubCache* sc, SlubNode& n, page* pg, bool on_partial) {
  n.lock.AssertHeld();
  if (pg->inuse == 0 && n.nr_partial >= sc->min_partial) {
    if (pg->lru.linked()) {  // partial list, or a debug cache's full list
      List::Remove(&pg->lru);
      if (on_partial) --n.nr_partial;
    }
    return true;  // discard
  }
  if (pg->inuse < pg->objects) {
    if (!on_partial) {
      if (pg->lru.linked()) List::Remove(&pg->lru);  // debug: off the full list
      n.partial.PushBack(&pg->lru);
      ++n.nr_partial;
    }
  } else if (on_partial) {  // became full (debug alloc)
    List::Remove(&pg->lru);
    --n.nr_partial;
    if (CacheDebug(s)) n.full.PushBack(&pg->lru);
  } else if (CacheDebug(s) && !pg->lru.linked()) {
    n.full.PushBack(&pg->lru);
  }
  return false;
}

template <PageSource PS>
void Slub<PS>::Deactivate(kmem_cache* s, page* pg, void* cpu_freelist) {
  SlubCache* sc = CacheOf(s);
  SlubNode& n = NodeOfSlab(sc, pg);
  // The private list and the page freelist are ours alone (the slab is still
  // frozen): merge them, and what other cpus pushed so far, outside the lock.
  unsigned freed = 0;
  void* merged = pg->freelist;  // cpu-partial slabs keep their page freelist
  auto merge = [&](void* chain) {
    for (void* p = chain; p != nullptr;) {
      void* next = GetFreePointer(s, p);
      SetFreePointer(s, p, merged);
      merged = p;
      // A longer chain than the slab is a cycle: an object freed twice into a
      // non-debug cache (slub_debug=F would have caught it at the free).
      MM_CHECK(++freed <= pg->objects);
      p = next;
    }
  };
  merge(cpu_freelist);
  auto take_remote = [&](uintptr_t r) {  // r: a state word seen frozen
    if (r != kFrozen) {
      merge(reinterpret_cast<void*>(Remote(pg).exchange(kFrozen, std::memory_order_acquire) &
                                    ~kFrozen));
    }
  };
  take_remote(Remote(pg).load(std::memory_order_relaxed));
  const unsigned owner_inuse = pg->inuse;
  MM_CHECK(freed <= owner_inuse);
  if (merged == nullptr && Remote(pg).load(std::memory_order_relaxed) == kFrozen) {
    // Full: it goes on no list, so no lock (Linux's deactivate_slab M_FULL).
    // The page fields are cleared before the CAS that publishes the unfreeze.
    SetOwner(pg, 0);
    pg->freelist = nullptr;
    pg->inuse = 0;
    uintptr_t r = kFrozen;
    if (Remote(pg).compare_exchange_strong(r, PackState(pg, nullptr, owner_inuse),
                                           std::memory_order_release,
                                           std::memory_order_relaxed)) {
      return;
    }
    // A remote free came in: the locked path below merges it.
  }
  bool discard = false;
  {
    SpinLockGuard guard(n.lock);
    // The page fields stop meaning anything once unfrozen (a freer may freeze
    // the slab again right after our CAS): clear them before it.
    SetOwner(pg, 0);
    pg->freelist = nullptr;
    pg->inuse = 0;
    for (;;) {
      uintptr_t r = Remote(pg).load(std::memory_order_relaxed);
      if (r != kFrozen) {  // pushed meanwhile
        take_remote(r);
        continue;
      }
      MM_CHECK(freed <= owner_inuse);
      const unsigned inuse = owner_inuse - freed;
      if (inuse == 0 && n.nr_partial >= sc->min_partial) {
        // Empty, and the node has enough: no object is live, so no free can
        // race with the discard. The slab stays frozen until DiscardSlab.
        discard = true;
        break;
      }
      // Unfreeze: from the CAS on, freers work on the packed word.
      if (Remote(pg).compare_exchange_strong(r, PackState(pg, merged, inuse),
                                             std::memory_order_release,
                                             std::memory_order_relaxed)) {
        if (merged != nullptr) {  // partial (or empty under min_partial)
          n.partial.PushBack(&pg->lru);
          ++n.nr_partial;
        }  // else full: on no list
        break;
      }
    }
  }
  if (discard) DiscardSlab(s, pg);
}

template <PageSource PS>
bool Slub<PS>::CollectParked(kmem_cache* s, SlubCpu* c) {
  c->remote_pending.store(0, std::memory_order_relaxed);
  bool moved = false;
  unsigned looked = 0;
  ListNode* stop = c->parked.last();
  while (ListNode* n = c->parked.first()) {
    page* pg = internal::LruEntry(n);
    List::Remove(n);
    if (Remote(pg).load(std::memory_order_relaxed) != kFrozen) {
      // Take its remote stack: the slab becomes partial, owned as before.
      void* chain = reinterpret_cast<void*>(Remote(pg).exchange(kFrozen, std::memory_order_acquire) &
                                            ~kFrozen);
      unsigned k = 0;
      void* head = pg->freelist;
      while (chain != nullptr) {
        void* next = GetFreePointer(s, chain);
        SetFreePointer(s, chain, head);
        head = chain;
        MM_CHECK(++k <= pg->inuse);  // a longer stack is a cycle (a double free)
        chain = next;
      }
      pg->freelist = head;
      pg->inuse -= k;
      --c->nr_parked;
      PushCpuPartialFront(c, pg);  // activated next
      moved = true;
    } else {
      c->parked.PushBack(n);  // rotate: the next scan starts after it
    }
    if (n == stop || ++looked == kParkedScan) break;
  }
  // Not every parked slab was looked at: keep the hint for the next call.
  if (looked == kParkedScan && !c->parked.empty()) {
    c->remote_pending.store(1, std::memory_order_relaxed);
  }
  return moved;
}

template <PageSource PS>
void Slub<PS>::UnfreezePartials(kmem_cache* s, SlubCpu* c) {
  page* pg = c->partial;
  c->partial = nullptr;
  c->partial_tail = nullptr;
  c->nr_partial = 0;
  ClearLastPartial(c);
  while (pg != nullptr) {
    page* next = internal::NextPartial(pg);
    pg->lru.next = nullptr;
    Deactivate(s, pg, nullptr);
    pg = next;
  }
}

// Freezes an unfrozen node-partial slab (node lock held, off the list): the
// packed state moves into the page, for its new owner; lock-free freers racing
// with the exchange see their CAS fail and push onto the remote stack instead.
template <PageSource PS>
void Slub<PS>::FreezeLocked(page* pg) {
  const uintptr_t w = Remote(pg).exchange(kFrozen, std::memory_order_acquire);
  MM_DCHECK((w & kFrozen) == 0);
  pg->freelist = StateHead(pg, w);
  pg->inuse = StateInuse(w);
}

// Takes a slab from a node partial list (local node first), freezes it and makes
// it active; moves up to half the cpu-partial quota more onto the cpu's list.
template <PageSource PS>
bool Slub<PS>::GetPartial(kmem_cache* s, SlubCpu* c, unsigned cpu) {
  SlubCache* sc = CacheOf(s);
  const unsigned local = LocalNode(sc, cpu);
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[(local + k) % sc->nr_nodes];
    if (n.nr_partial == 0) continue;  // racy peek; rechecked under the lock
    SpinLockGuard guard(n.lock);
    if (n.partial.empty()) continue;
    page* pg = internal::LruEntry(n.partial.PopFront());
    --n.nr_partial;
    FreezeLocked(pg);
    ActivateSlab(s, c, cpu, pg);
    while (c->nr_partial < sc->cpu_partial_refill && !n.partial.empty()) {
      page* extra = internal::LruEntry(n.partial.PopFront());
      --n.nr_partial;
      FreezeLocked(extra);
      SetOwner(extra, cpu + 1);
      PushCpuPartial(c, extra);
    }
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Allocation slow path
// ---------------------------------------------------------------------------

template <PageSource PS>
void* Slub<PS>::AllocSlow(kmem_cache* s, gfp_t gfp, const void* caller) {
  if (CacheDebug(s)) return DebugAlloc(s, gfp, caller);
  const unsigned cpu = platform::FastCpuId();
  SlubCpu* c = CpuOf(s, cpu);
  void* obj = nullptr;
  // The local sheaf, else a full sheaf from the barn (see SHEAVES in slub.h).
  if (Sheaf* sh = c->sheaf; (sh != nullptr && sh->size != 0) || TakeFullSheaf(s, c, cpu)) {
    sh = c->sheaf;
    if (c->freelist == nullptr) c->slab_bytes = 0;  // detached (see DETACHED)
    obj = sh->objs()[--sh->size];
    if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
    return obj;
  }
  for (;;) {
    if (c->slab != nullptr) {
      // Reclaim the objects other cpus freed into our active slab (a plain load
      // first: the exchange is for a stack that holds something).
      uintptr_t r = Remote(c->slab).load(std::memory_order_relaxed);
      if (r != kFrozen) {
        r = Remote(c->slab).exchange(kFrozen, std::memory_order_acquire) & ~kFrozen;
        if (r != 0) {
          obj = reinterpret_cast<void*>(r);
          c->slab_bytes = SlabBytes(s, c->slab);  // re-attached if detached
          break;
        }
      }
      page* old = c->slab;
      if (c->freelist == nullptr) {
        // Exhausted, no remote frees: park it, still frozen (no atomic).
        c->parked.PushBack(&old->lru);
        ++c->nr_parked;
      } else {
        Deactivate(s, old, c->freelist);
      }
      c->slab = nullptr;
      c->slab_start = 0;
      c->slab_bytes = 0;
      c->freelist = nullptr;
    }
    // Parked slabs with remote frees first: they hold every object freed into
    // them since they ran out, and leaving them parked while the partial list
    // lasts would let the remote half of a cross-thread workload pile up.
    if (c->remote_pending.load(std::memory_order_relaxed) != 0) CollectParked(s, c);
    if (c->partial != nullptr) {
      page* pg = PopCpuPartial(c);
      ActivateSlab(s, c, cpu, pg);  // stays frozen
      if (c->freelist != nullptr) {
        obj = c->freelist;
        break;
      }
      continue;  // only remote frees: reclaimed at the top
    }
    if (GetPartial(s, c, cpu)) {
      obj = c->freelist;
      if (obj != nullptr) break;
      continue;
    }
    page* pg = NewSlab(s, gfp);
    if (pg == nullptr) return nullptr;
    Remote(pg).store(kFrozen, std::memory_order_relaxed);
    ActivateSlab(s, c, cpu, pg);
    obj = c->freelist;
    break;
  }
  c->freelist = GetFreePointer(s, obj);
  if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
  return obj;
}

// ---------------------------------------------------------------------------
// Free slow path
// ---------------------------------------------------------------------------

template <PageSource PS>
void Slub<PS>::FreeSlower(kmem_cache* s, void* obj, const void* caller, unsigned cpu, page* pg) {
  if (pg == nullptr || (pg->flags & PG_slab) == 0 || pg->slab_cache != s) {
    if (pg == nullptr || (pg->flags & PG_slab) == 0) {
      slab_debug::ReportSlab(s, pg, "Attempt to free object(%p) outside of slab", obj);
    } else {
      slab_debug::ReportSlab(s, pg, "kmem_cache_free: Wrong slab cache. %s but object is from %s",
                             s->name, pg->slab_cache->name);
    }
    return;
  }
  if (CacheDebug(s)) {
    DebugFree(s, pg, obj, caller);
    return;
  }
  // Not a slab of this cpu. An unfrozen slab with nothing in use: obj is on
  // its freelist already (a double free); reported, nothing changes.
  const uintptr_t w = Remote(pg).load(std::memory_order_relaxed);
  if (__builtin_expect((w & kFrozen) == 0 && StateInuse(w) == 0, 0)) {
    slab_debug::ReportSlab(s, pg, "Object %p already free (double free): slab has no object in use",
                           obj);
    return;
  }
  if (CacheOf(s)->sheaf_cap == 0) {  // no sheaves: one CAS (FreeChain of one)
    FreeChain(s, pg, obj, obj, 1, cpu);
    return;
  }
  // Frozen to another cpu (see SHEAVES): the remote sheaf, which this cpu never
  // allocates from. Unfrozen (on a node list or full): the local sheaf.
  SlubCpu* c = CpuOf(s, cpu);
  if ((w & kFrozen) == 0) {
    SheafPush(s, cpu, &c->sheaf, obj);
    return;
  }
  SheafPush(s, cpu, &c->rsheaf, obj);
  // Pushed (not a reported double free, and a container was found): pg is
  // the remote run.
  if (Sheaf* sh = c->rsheaf; sh != nullptr && sh->NewestIs(obj)) {
    SetRemoteRun(s, c, pg);
  }
}

template <PageSource PS>
void Slub<PS>::RemoteRunSlow(kmem_cache* s, void* obj, unsigned cpu) {
  SlubCpu* c = CpuOf(s, cpu);
  Sheaf* sh = c->rsheaf;
  if (sh->size < sh->cap) {  // a repeat of one of the two newest entries
    ReportDoubleFree(s, obj);
    return;
  }
  const uintptr_t start = c->rrun_start;
  const uint32_t bytes = c->rrun_bytes;
  SheafPushSlow(s, cpu, &c->rsheaf, obj);  // ends the run
  if (Sheaf* next = c->rsheaf; next != nullptr && next->NewestIs(obj)) {
    c->rrun_start = start;  // obj (of the run's slab) is in the new sheaf
    c->rrun_bytes = bytes;
  }
}

// ---------------------------------------------------------------------------
// Sheaves and barns
// ---------------------------------------------------------------------------

template <PageSource PS>
Sheaf* Slub<PS>::GetEmptySheaf(kmem_cache* s, SlubBarn& b) {
  SlubCache* sc = CacheOf(s);
  {
    SpinLockGuard guard(b.lock);
    if (Sheaf* sh = b.empty) {
      b.empty = sh->next;
      --b.nr_empty;
      sh->next = nullptr;
      return sh;
    }
  }
  // A new page of containers (the page source is called with no lock held).
  page* pg = pages_->AllocPages(GFP_NOWAIT | __GFP_NOWARN, 0, -1);
  if (pg == nullptr) return nullptr;
  Sheaf* first = static_cast<Sheaf*>(pages_->PageAddress(pg));
  constexpr unsigned kPerPage = kPageSize / sizeof(Sheaf);
  static_assert(kPerPage >= 2);
  for (unsigned i = 0; i < kPerPage; ++i) {
    first[i].next = i + 1 < kPerPage ? &first[i + 1] : nullptr;
    first[i].size = 0;
    first[i].cap = sc->sheaf_cap;
    first[i].slot[0] = first[i].slot[1] = nullptr;  // the guards (see Sheaf)
  }
  first[0].next = nullptr;  // returned; first[1..] join the empty list
  SpinLockGuard guard(b.lock);
  pg->lru.next = reinterpret_cast<ListNode*>(b.pool_pages);
  b.pool_pages = pg;
  b.nr_sheaves += kPerPage;
  first[kPerPage - 1].next = b.empty;
  b.empty = &first[1];
  b.nr_empty += kPerPage - 1;
  return &first[0];
}

namespace internal {
// A prefetch that asks for the line in a writable state (x86-64's PREFETCHW;
// GCC emits it for __builtin_prefetch(p, 1) only with -mprfchw, and plain
// PREFETCHT0 otherwise, after which the first store still waits for the other
// cpu to give the line up).
inline void PrefetchForWrite(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}
// Warms the four lines of a sheaf container that has just changed cpus (the
// other cpu wrote or read it last), all at once, so that their transfers
// overlap instead of stalling the pushes or pops one line at a time. The
// first line (size) is written on both sides.
inline void PrefetchSheaf(const Sheaf* sh, bool write) {
  for (unsigned k = 0; k < sizeof(Sheaf) / kCacheLineSize; ++k) {
    const char* line = reinterpret_cast<const char*>(sh) + k * kCacheLineSize;
    if (write || k == 0) {
      PrefetchForWrite(line);
    } else {
      __builtin_prefetch(line, 0);
    }
  }
}
}  // namespace internal

template <PageSource PS>
void Slub<PS>::SheafPushSlow(kmem_cache* s, unsigned cpu, Sheaf** slot, void* obj) {
  SlubCache* sc = CacheOf(s);
  SlubBarn& b = BarnOf(s, cpu);
  // The remote sheaf is handed over or replaced: its run ends (FreeSlower
  // starts the next one after the push).
  if (SlubCpu* c = CpuOf(s, cpu); slot == &c->rsheaf) ClearRemoteRun(c);
  Sheaf* sh = *slot;
  if (sh != nullptr) {  // full
    if (__builtin_expect(sh->NewestTwoHold(obj), 0)) {
      ReportDoubleFree(s, obj);
      return;
    }
    // The hand-over slot: one exchange trades the full sheaf for what the
    // slot held (see THE HAND-OVER SLOT).
    const uintptr_t x = b.slot.exchange(reinterpret_cast<uintptr_t>(sh) | kSlotFull,
                                        std::memory_order_acq_rel);
    Sheaf* empty = nullptr;
    if ((x & kSlotFull) != 0) {
      // It displaced a full sheaf nobody took yet: that one goes to the list,
      // with an empty one taken in the same lock hold; at barn_max, back to
      // its slabs, and its container is the next sheaf.
      Sheaf* displaced = reinterpret_cast<Sheaf*>(x & ~kSlotFull);
      bool stored = false;
      {
        SpinLockGuard guard(b.lock);
        if (b.nr_full < sc->barn_max) {
          displaced->next = b.full;
          b.full = displaced;
          ++b.nr_full;
          stored = true;
          if ((empty = b.empty) != nullptr) {
            b.empty = empty->next;
            --b.nr_empty;
            empty->next = nullptr;
          }
        }
      }
      if (!stored) {
        FlushSheaf(s, displaced, cpu);
        empty = displaced;
      }
    } else {
      empty = reinterpret_cast<Sheaf*>(x);
    }
    if (empty != nullptr) {
      internal::PrefetchSheaf(empty, /*write=*/true);
      sh = empty;
    } else {
      sh = GetEmptySheaf(s, b);
    }
  } else {
    sh = GetEmptySheaf(s, b);
  }
  *slot = sh;
  if (sh == nullptr) {  // no page for a container: free it directly
    ReturnRun(s, HeadPageOf(*pages_, obj), obj, obj, 1, cpu);
    return;
  }
  // An empty sheaf (S8): stores only, no load of a line that may still be on
  // its way from the cpu that emptied it.
  sh->objs()[0] = obj;
  sh->size = 1;
}

template <PageSource PS>
bool Slub<PS>::TakeFullSheaf(kmem_cache* s, SlubCpu* c, unsigned cpu) {
  SlubBarn& b = BarnOf(s, cpu);
  // The hand-over slot first (a racy peek, then one exchange that leaves this
  // cpu's empty sheaf, if it has one, for the cpu that fills the next).
  if ((b.slot.load(std::memory_order_relaxed) & kSlotFull) != 0) {
    const uintptr_t x = b.slot.exchange(reinterpret_cast<uintptr_t>(c->sheaf), std::memory_order_acq_rel);
    c->sheaf = reinterpret_cast<Sheaf*>(x & ~kSlotFull);  // empty (or none) if another cpu was first
    if ((x & kSlotFull) != 0) {
      internal::PrefetchSheaf(c->sheaf, /*write=*/false);
      return true;
    }
  }
  if (b.nr_full == 0) return false;  // racy peek; rechecked under the lock
  SpinLockGuard guard(b.lock);
  Sheaf* full = b.full;
  if (full == nullptr) return false;
  b.full = full->next;
  --b.nr_full;
  full->next = nullptr;
  if (Sheaf* empty = c->sheaf) {
    empty->next = b.empty;
    b.empty = empty;
    ++b.nr_empty;
  }
  c->sheaf = full;
  return true;
}

template <PageSource PS>
void Slub<PS>::ReturnRun(kmem_cache* s, page* pg, void* head, void* tail, unsigned count,
                         unsigned cpu) {
  if (Owner(pg) != cpu + 1) {
    FreeChain(s, pg, head, tail, count, cpu);
    return;
  }
  SlubCpu* c = CpuOf(s, cpu);
  if (pg == c->slab) {  // activated since the objects were put in the sheaf
    SetFreePointer(s, tail, c->freelist);
    c->freelist = head;
    c->slab_bytes = SlabBytes(s, pg);  // re-attached if detached
    return;
  }
  if (__builtin_expect(pg->inuse < count, 0)) {
    slab_debug::ReportSlab(s, pg,
                           "Object %p already free (double free): slab has %u object(s) in use, "
                           "%u freed",
                           head, pg->inuse, count);
    return;
  }
  if (pg->inuse == pg->objects) Unpark(c, pg);
  SetFreePointer(s, tail, pg->freelist);
  pg->freelist = head;
  pg->inuse -= count;
}

template <PageSource PS>
void Slub<PS>::FlushSheaf(kmem_cache* s, Sheaf* sh, unsigned cpu) {
  // Duplicates (a double free that the push did not see): a small open-
  // addressing set of the entries seen.
  constexpr unsigned kSlots = 64;
  static_assert(kSlots >= 2 * kSheafMax);
  void* seen[kSlots] = {};
  void* objs[kSheafMax];
  unsigned n = 0;
  const unsigned size = sh->size < kSheafMax ? sh->size : kSheafMax;
  sh->size = 0;
  for (unsigned i = 0; i < size; ++i) {
    void* p = sh->objs()[i];
    unsigned h = static_cast<unsigned>((reinterpret_cast<uintptr_t>(p) >> 3) * 0x9E3779B1u) >> 26;
    bool dup = false;
    while (seen[h] != nullptr) {
      if (seen[h] == p) {
        dup = true;
        break;
      }
      h = (h + 1) % kSlots;
    }
    if (__builtin_expect(dup, 0)) {
      ReportDoubleFree(s, p);
      continue;
    }
    seen[h] = p;
    objs[n++] = p;
  }
  for (unsigned i = 0; i < n;) {
    page* pg = HeadPageOf(*pages_, objs[i]);
    if (__builtin_expect(pg == nullptr || (pg->flags & PG_slab) == 0 || pg->slab_cache != s ||
                             !IsObjectOf(s, pg, objs[i]), 0)) {
      // Its slab went away while the object sat here: it was freed again
      // through another path (a double free). Dropped.
      ReportDoubleFree(s, objs[i]);
      ++i;
      continue;
    }
    const uintptr_t base = SlabBase(pg);
    const uintptr_t bytes = SlabBytes(s, pg);
    unsigned j = i + 1;
    while (j < n && reinterpret_cast<uintptr_t>(objs[j]) - base < bytes) {
      SetFreePointer(s, objs[j - 1], objs[j]);
      ++j;
    }
    ReturnRun(s, pg, objs[i], objs[j - 1], j - i, cpu);
    i = j;
  }
}

template <PageSource PS>
void Slub<PS>::DrainBarns(kmem_cache* s, unsigned cpu) {
  SlubCache* sc = CacheOf(s);
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubBarn& b = sc->barn[k];
    // The slot's sheaf joins the lists (a full one is flushed with them).
    if (b.slot.load(std::memory_order_relaxed) != 0) {
      const uintptr_t x = b.slot.exchange(0, std::memory_order_acq_rel);
      if (Sheaf* sh = reinterpret_cast<Sheaf*>(x & ~kSlotFull); sh != nullptr) {
        SpinLockGuard guard(b.lock);
        if ((x & kSlotFull) != 0) {
          sh->next = b.full;
          b.full = sh;
          ++b.nr_full;
        } else {
          sh->next = b.empty;
          b.empty = sh;
          ++b.nr_empty;
        }
      }
    }
    if (b.nr_full == 0) continue;
    Sheaf* list;
    {
      SpinLockGuard guard(b.lock);
      list = b.full;
      b.full = nullptr;
      b.nr_full = 0;
    }
    while (list != nullptr) {
      Sheaf* next = list->next;
      FlushSheaf(s, list, cpu);
      SpinLockGuard guard(b.lock);
      list->next = b.empty;
      b.empty = list;
      ++b.nr_empty;
      list = next;
    }
  }
}

template <PageSource PS>
bool Slub<PS>::SheavesHeld(kmem_cache* s) {
  SlubCache* sc = CacheOf(s);
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubBarn& b = sc->barn[k];
    SpinLockGuard guard(b.lock);
    const unsigned in_barn = b.nr_empty + static_cast<unsigned>(b.nr_full) +
                             (b.slot.load(std::memory_order_relaxed) != 0);
    if (b.nr_sheaves > in_barn) return true;
  }
  return false;
}

template <PageSource PS>
void Slub<PS>::FreeIdleSheafPages(kmem_cache* s) {
  SlubCache* sc = CacheOf(s);
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubBarn& b = sc->barn[k];
    page* pages;
    {
      // An empty sheaf in the slot is idle too: it joins the list (a CAS from
      // that value, so a sheaf filled meanwhile is left alone). Once every
      // container is on the list no cpu holds one, so none can reach the slot.
      uintptr_t x = b.slot.load(std::memory_order_relaxed);
      if (x == 0 || (x & kSlotFull) != 0 ||
          !b.slot.compare_exchange_strong(x, 0, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        x = 0;
      }
      SpinLockGuard guard(b.lock);
      if (Sheaf* sh = reinterpret_cast<Sheaf*>(x); sh != nullptr) {
        sh->next = b.empty;
        b.empty = sh;
        ++b.nr_empty;
      }
      if (b.pool_pages == nullptr || b.nr_empty != b.nr_sheaves) continue;
      pages = b.pool_pages;
      b.pool_pages = nullptr;
      b.empty = nullptr;
      b.nr_empty = 0;
      b.nr_sheaves = 0;
    }
    while (pages != nullptr) {
      page* next = reinterpret_cast<page*>(pages->lru.next);
      pages->lru.next = nullptr;
      pages_->FreePages(pages, 0);
      pages = next;
    }
  }
}

template <PageSource PS>
void Slub<PS>::FreeChain(kmem_cache* s, page* pg, void* obj, void* tail, unsigned count,
                         unsigned cpu) {
  SlubCache* sc = CacheOf(s);
  SlubNode& n = NodeOfSlab(sc, pg);
  bool locked = false;
  uintptr_t w = Remote(pg).load(std::memory_order_relaxed);
  for (;;) {
    if (w & kFrozen) {
      // Lock-free push onto a frozen slab's remote stack.
      SetFreePointer(s, tail, reinterpret_cast<void*>(w & ~kFrozen));
      if (Remote(pg).compare_exchange_weak(w, reinterpret_cast<uintptr_t>(obj) | kFrozen,
                                           std::memory_order_release,
                                           std::memory_order_relaxed)) {
        if (locked) n.lock.Unlock();
        // The first remote free since the owner last looked: tell it (the slab
        // may be parked). A hint: a stale owner id only costs that cpu a scan.
        const uintptr_t owner = Owner(pg);
        if (w == kFrozen && owner != 0 && owner <= kMaxCpus) {
          std::atomic<uint32_t>& flag = CpuOf(s, static_cast<unsigned>(owner - 1))->remote_pending;
          if (flag.load(std::memory_order_relaxed) == 0) flag.store(1, std::memory_order_relaxed);
        }
        return;
      }
      continue;
    }
    // Unfrozen: (head, inuse) in the word (Linux's __slab_free).
    void* prior = StateHead(pg, w);
    const unsigned inuse = StateInuse(w);
    if (__builtin_expect(inuse < count || inuse > pg->objects, 0)) {
      if (locked) n.lock.Unlock();
      slab_debug::ReportSlab(s, pg,
                             "Object %p already free (double free): slab has %u object(s) in use, "
                             "%u freed",
                             obj, inuse, count);
      return;
    }
    uintptr_t next;
    const bool freeze = prior == nullptr;
    if (freeze) {
      // Full (on no list): freeze it onto this cpu's partial list in the same
      // CAS (Linux's put_cpu_partial); no list to change, so no lock.
      next = kFrozen;
    } else if (inuse == count) {
      // Becomes empty: it may leave the partial list. Lock first, then CAS.
      if (!locked) {
        n.lock.Lock();
        locked = true;
        w = Remote(pg).load(std::memory_order_relaxed);
        continue;
      }
      next = PackState(pg, obj, 0);
    } else {
      next = PackState(pg, obj, inuse - count);
    }
    SetFreePointer(s, tail, prior);
    // acq_rel: a freeze takes over the page fields the unfreezer cleared.
    if (!Remote(pg).compare_exchange_weak(w, next, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
      continue;
    }
    if (freeze) {
      if (locked) n.lock.Unlock();
      // Frozen by us: page freelist/inuse are ours (remote freers use the stack).
      pg->freelist = obj;
      pg->inuse = inuse - count;
      SetOwner(pg, cpu + 1);
      SlubCpu* c = CpuOf(s, cpu);
      if (c->nr_partial >= sc->cpu_partial_slabs) UnfreezePartials(s, c);
      PushCpuPartial(c, pg);
      return;
    }
    if (!locked) return;  // stays on the partial list
    // Empty now (lock held, so nobody froze it meanwhile): discard it if the node
    // has enough partial slabs, as Linux's min_partial.
    bool discard = false;
    if (inuse == count && n.nr_partial >= sc->min_partial) {
      List::Remove(&pg->lru);
      --n.nr_partial;
      pg->freelist = nullptr;
      pg->inuse = 0;
      discard = true;
    }
    n.lock.Unlock();
    if (discard) DiscardSlab(s, pg);
    return;
  }
}

// ---------------------------------------------------------------------------
// Debug caches: everything under the node lock, with checks and reports.
// ---------------------------------------------------------------------------

// Rebuilds page->freelist from the object state tags (after freelist damage):
// every object tagged free goes back on the list; inuse is recomputed.
template <PageSource PS>
void Slub<PS>::RepairFreelist(kmem_cache* s, page* pg) {
  const uintptr_t base = SlabBase(pg);
  void* head = nullptr;
  unsigned nfree = 0;
  for (unsigned i = pg->objects; i-- > 0;) {
    void* obj = reinterpret_cast<void*>(base + static_cast<uintptr_t>(i) * s->size + s->red_left_pad);
    if (*slab_debug::TagOf(s, obj) == kTagFree) {
      SetFreePointer(s, obj, head);
      head = obj;
      ++nfree;
    }
  }
  pg->freelist = head;
  pg->inuse = pg->objects - nfree;
}

template <PageSource PS>
void* Slub<PS>::DebugAlloc(kmem_cache* s, gfp_t gfp, const void* caller) {
  SlubCache* sc = CacheOf(s);
  const unsigned local = LocalNode(sc, platform::FastCpuId());
  for (;;) {
    page* pg = nullptr;
    SlubNode* n = nullptr;
    for (unsigned k = 0; k < sc->nr_nodes && pg == nullptr; ++k) {
      SlubNode& cand = sc->node[(local + k) % sc->nr_nodes];
      cand.lock.Lock();
      if (!cand.partial.empty()) {
        pg = internal::LruEntry(cand.partial.first());
        n = &cand;
      } else {
        cand.lock.Unlock();
      }
    }
    if (pg == nullptr) {
      page* fresh = NewSlab(s, gfp);
      if (fresh == nullptr) return nullptr;
      n = &NodeOfSlab(sc, fresh);
      SpinLockGuard guard(n->lock);
      n->partial.PushFront(&fresh->lru);
      ++n->nr_partial;
      continue;
    }
    // n->lock is held.
    const void* base = reinterpret_cast<void*>(SlabBase(pg));
    void* obj = pg->freelist;
    if (obj == nullptr || !IsObjectOf(s, pg, obj) || *slab_debug::TagOf(s, obj) != kTagFree) {
      slab_debug::ReportSlab(s, pg, "Freepointer corrupt: slab freelist %p", obj);
      RepairFreelist(s, pg);
      Printk("FIX %s: Freelist rebuilt from the object states (%u free)\n", s->name,
             pg->objects - pg->inuse);
      const bool discard = PlaceLocked(s, sc, *n, pg, /*on_partial=*/true);
      n->lock.Unlock();
      if (discard) DiscardSlab(s, pg);
      continue;
    }
    void* next = GetFreePointer(s, obj);
    if (next != nullptr && (!IsObjectOf(s, pg, next) || *slab_debug::TagOf(s, next) != kTagFree)) {
      slab_debug::ReportObject(s, pg, base, obj, "Freechain corrupt", nullptr,
                               "Object set aside, freelist rebuilt from the object states");
      slab_debug::MarkQuarantined(s, obj);
      RepairFreelist(s, pg);
      PlaceLocked(s, sc, *n, pg, /*on_partial=*/true);
      n->lock.Unlock();
      continue;
    }
    slab_debug::Corruption corr;
    const bool intact = slab_debug::CheckFreeObject(s, obj, &corr);
    pg->freelist = next;
    ++pg->inuse;
    if (!intact) {
      char title[64];
      mm::Format(title, sizeof title, "%s overwritten", corr.what);
      slab_debug::ReportObject(s, pg, base, obj, title, &corr,
                               "Object set aside, never handed out again");
      slab_debug::MarkQuarantined(s, obj);
      PlaceLocked(s, sc, *n, pg, /*on_partial=*/true);
      n->lock.Unlock();
      continue;
    }
    slab_debug::MarkAllocated(s, obj, caller);
    PlaceLocked(s, sc, *n, pg, /*on_partial=*/true);
    n->lock.Unlock();
    if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
    return obj;
  }
}

template <PageSource PS>
void Slub<PS>::DebugFree(kmem_cache* s, page* pg, void* obj, const void* caller) {
  SlubCache* sc = CacheOf(s);
  SlubNode& n = NodeOfSlab(sc, pg);
  const void* base = reinterpret_cast<void*>(SlabBase(pg));
  bool discard = false;
  {
    SpinLockGuard guard(n.lock);
    if (!IsObjectOf(s, pg, obj)) {
      slab_debug::ReportSlab(s, pg, "Invalid object pointer %p", obj);
      Printk("FIX %s: Object at %p not freed\n", s->name, obj);
      return;
    }
    const uint64_t tag = *slab_debug::TagOf(s, obj);
    if (tag == kTagFree || tag == kTagQuarantined) {
      slab_debug::ReportObject(s, pg, base, obj, "Object already free", nullptr,
                               tag == kTagFree ? "Object not freed again"
                                               : "Object was set aside; not freed");
      return;
    }
    slab_debug::Corruption corr;
    if (tag != kTagAllocated || !slab_debug::CheckAllocatedObject(s, obj, &corr)) {
      char title[64];
      mm::Format(title, sizeof title, "%s overwritten",
             tag != kTagAllocated ? "Object state" : corr.what);
      slab_debug::ReportObject(s, pg, base, obj, title, tag != kTagAllocated ? nullptr : &corr,
                               "Object set aside, never handed out again");
      slab_debug::MarkQuarantined(s, obj);  // stays counted in inuse
      return;
    }
    slab_debug::MarkFreed(s, obj, caller);
    const bool was_full = pg->inuse == pg->objects;
    SetFreePointer(s, obj, pg->freelist);
    pg->freelist = obj;
    --pg->inuse;
    discard = PlaceLocked(s, sc, n, pg, /*on_partial=*/!was_full);
  }
  if (discard) DiscardSlab(s, pg);
}

// ---------------------------------------------------------------------------
// Shrink, flush, shutdown
// ---------------------------------------------------------------------------

template <PageSource PS>
void Slub<PS>::FlushCpu(kmem_cache* s, unsigned cpu, bool drain_barns) {
  SlubCpu* c = CpuOf(s, cpu);
  // The sheaves (and for shrink and destroy the barns) first: their frees
  // may freeze full slabs onto this cpu, which the rest of the flush then
  // unfreezes. The containers go back to the barn's empty list.
  ClearRemoteRun(c);
  for (Sheaf** slot : {&c->sheaf, &c->rsheaf}) {
    Sheaf* sh = *slot;
    if (sh == nullptr) continue;
    *slot = nullptr;
    FlushSheaf(s, sh, cpu);
    SlubBarn& b = BarnOf(s, cpu);
    SpinLockGuard guard(b.lock);
    sh->next = b.empty;
    b.empty = sh;
    ++b.nr_empty;
  }
  // A cpu going away leaves the barn's full sheaves where they are, as Linux's
  // slub_cpu_dead does: they belong to the node, and the next cpu whose sheaf
  // runs dry takes them (a producer whose consumer thread exited gets its
  // objects back without a slab transition). The last cpu out, the one after
  // which no cpu holds a sheaf of the cache, drains them: nobody is left to
  // take them, and an idle cache then holds no sheaf memory.
  if (drain_barns || !SheavesHeld(s)) DrainBarns(s, cpu);
  if (c->slab != nullptr) {
    page* pg = c->slab;
    void* fl = c->freelist;
    c->slab = nullptr;
    c->freelist = nullptr;
    c->slab_start = 0;
    c->slab_bytes = 0;
    Deactivate(s, pg, fl);
  }
  UnfreezePartials(s, c);
  while (ListNode* n = c->parked.PopFront()) {
    --c->nr_parked;
    Deactivate(s, internal::LruEntry(n), nullptr);
  }
  c->remote_pending.store(0, std::memory_order_relaxed);
  // The last cpu to give its sheaves back (a thread exit, typically) returns
  // the containers' pages, so that an idle cache holds no sheaf memory.
  FreeIdleSheafPages(s);
}

// kmem_cache_shrink: flushes this cpu's slabs (other live cpus keep theirs: we
// cannot interrupt them; a dead cpu's are flushed by its cpu-dead callback) and
// returns every empty slab on the node partial lists, ignoring min_partial.
template <PageSource PS>
int Slub<PS>::Shrink(kmem_cache* s) {
  if (!CacheDebug(s)) FlushCpu(s, platform::FastCpuId(), /*drain_barns=*/true);
  SlubCache* sc = CacheOf(s);
  int remaining = 0;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[k];
    List empty;
    {
      SpinLockGuard guard(n.lock);
      ListNode* p = n.partial.first();
      while (p != nullptr && p != n.partial.end()) {
        ListNode* next = p->next;
        page* pg = internal::LruEntry(p);
        if (SlabInuse(s, pg) == 0) {
          List::Remove(p);
          --n.nr_partial;
          empty.PushBack(p);
        }
        p = next == n.partial.end() ? nullptr : next;
      }
    }
    while (ListNode* p = empty.PopFront()) DiscardSlab(s, internal::LruEntry(p));
    if (n.nr_slabs.load(std::memory_order_relaxed) != 0) remaining = 1;
  }
  FreeIdleSheafPages(s);
  return remaining;
}

// Live objects of slab pg (node lock held): allocated, not quarantined. With
// `report`, prints each one ("Object 0x... @offset=...").
template <PageSource PS>
unsigned Slub<PS>::LiveObjects(kmem_cache* s, page* pg, bool report) {
  const uintptr_t base = SlabBase(pg);
  unsigned live = 0;
  for (unsigned i = 0; i < pg->objects; ++i) {
    void* obj = reinterpret_cast<void*>(base + static_cast<uintptr_t>(i) * s->size + s->red_left_pad);
    bool is_live;
    if (CacheDebug(s)) {
      is_live = *slab_debug::TagOf(s, obj) == kTagAllocated;
    } else {
      is_live = true;
      for (void* f = SlabFreelist(s, pg); f != nullptr && is_live; f = GetFreePointer(s, f)) {
        is_live = f != obj;
      }
    }
    if (!is_live) continue;
    ++live;
    if (report) {
      Printk("Object %p @offset=%lu\n", obj,
             static_cast<unsigned long>(reinterpret_cast<uintptr_t>(obj) - base));
    }
  }
  return live;
}

// __kmem_cache_shutdown. The caller guarantees no other cpu uses the cache, so
// every cpu's slabs may be flushed from here.
template <PageSource PS>
int Slub<PS>::ShutdownCache(kmem_cache* s) {
  for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) FlushCpu(s, cpu, /*drain_barns=*/true);
  SlubCache* sc = CacheOf(s);
  bool live = false;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[k];
    SpinLockGuard guard(n.lock);
    for (List* list : {&n.partial, &n.full}) {
      for (ListNode* p = list->first(); p != nullptr && p != list->end(); p = p->next) {
        page* pg = internal::LruEntry(p);
        if (SlabInuse(s, pg) == 0 || LiveObjects(s, pg, false) == 0) continue;
        live = true;
        slab_debug::ReportSlab(s, pg, "Objects remaining in %s on __kmem_cache_shutdown()",
                               s->name);
        LiveObjects(s, pg, true);
      }
    }
    // Full slabs of non-debug caches are on no list: nr_slabs tells.
    const unsigned long unlisted =
        n.nr_slabs.load(std::memory_order_relaxed) - n.nr_partial - n.full.CountSlow();
    if (unlisted != 0) {
      live = true;
      slab_debug::ReportSlab(s, nullptr,
                             "Objects remaining in %s on __kmem_cache_shutdown(): %lu full slab(s)",
                             s->name, unlisted);
    }
  }
  if (live) return -kEBUSY;
  FreeIdleSheafPages(s);  // every cpu was flushed: all containers are idle
  // Free every slab (empty, or holding only quarantined objects).
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[k];
    List all;
    {
      SpinLockGuard guard(n.lock);
      while (ListNode* p = n.partial.PopFront()) all.PushBack(p);
      while (ListNode* p = n.full.PopFront()) all.PushBack(p);
      n.nr_partial = 0;
    }
    while (ListNode* p = all.PopFront()) {
      page* pg = internal::LruEntry(p);
      pg->inuse = 0;
      DiscardSlab(s, pg);
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Views and invariants
// ---------------------------------------------------------------------------

template <PageSource PS>
void Slub<PS>::GetSlabinfo(kmem_cache* s, SlabInfo* info) {
  SlubCache* sc = CacheOf(s);
  unsigned long slabs = 0, objects = 0, free = 0;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[k];
    slabs += n.nr_slabs.load(std::memory_order_relaxed);
    objects += n.total_objects.load(std::memory_order_relaxed);
    SpinLockGuard guard(n.lock);  // count_partial
    for (ListNode* p = n.partial.first(); p != nullptr && p != n.partial.end(); p = p->next) {
      page* pg = internal::LruEntry(p);
      free += pg->objects - SlabInuse(s, pg);
    }
  }
  info->active_objs = objects - free;
  info->num_objs = objects;
  info->active_slabs = slabs;
  info->num_slabs = slabs;
  info->objects_per_slab = s->objects;
  info->cache_order = s->order;
}

template <PageSource PS>
bool Slub<PS>::CheckCache(kmem_cache* s) {
  SlubCache* sc = CacheOf(s);
  bool ok = true;
  auto fail = [&](const char* what, const void* where) {
    if (ok) Printk("SLUB %s: invariant violated: %s (%p)\n", s->name, what, where);
    ok = false;
  };
  // (S5) a free chain: object boundaries of pg, no cycle; returns its length.
  auto chain = [&](page* pg, void* head, const char* what) -> unsigned {
    unsigned len = 0;
    for (void* p = head; p != nullptr; p = GetFreePointer(s, p)) {
      if (!IsObjectOf(s, pg, p)) {
        fail(what, p);
        return len;
      }
      if (++len > pg->objects) {
        fail("free chain longer than the slab (cycle)", pg);
        return len;
      }
      if (CacheDebug(s) && *slab_debug::TagOf(s, p) != kTagFree) fail("free object not tagged free", p);
    }
    return len;
  };
  auto slab_ok = [&](page* pg) {  // (S1)
    if ((pg->flags & PG_slab) == 0 || pg->slab_cache != s) fail("slab page not PG_slab of this cache", pg);
    if (pg->objects != s->objects && pg->objects != s->min_objects) fail("bad objects count", pg);
    if (!map_.SlabIs(*pages_, pg, pg->order, sc->mapped ? s : nullptr)) fail("slab map does not name this cache", pg);
    unsigned len = chain(pg, SlabFreelist(s, pg), "page freelist entry not an object");
    if (SlabInuse(s, pg) + len != pg->objects) fail("inuse + |freelist| != objects", pg);
  };
  unsigned attached[kMaxNodes] = {};
  auto sheaf_entries_ok = [&](Sheaf* sh) {
    if (sh->slot[0] != nullptr || sh->slot[1] != nullptr) fail("sheaf guard slot not nullptr", sh);
    const unsigned n = sh->size < kSheafMax ? sh->size : kSheafMax;
    for (unsigned i = 0; i < n; ++i) {
      void* p = sh->objs()[i];
      page* pg = HeadPageOf(*pages_, p);
      if (pg == nullptr || (pg->flags & PG_slab) == 0 || pg->slab_cache != s || !IsObjectOf(s, pg, p)) {
        fail("sheaf entry not an object of this cache", p);
        return;
      }
      for (unsigned j = 0; j < i; ++j) {
        if (sh->objs()[j] == p) fail("sheaf entry twice (double free)", p);
      }
      unsigned k = 0;
      for (void* f = SlabFreelist(s, pg); f != nullptr && k++ <= pg->objects; f = GetFreePointer(s, f)) {
        if (f == p) fail("sheaf entry is free in its slab", p);
      }
      const uintptr_t owner = Owner(pg);
      if (owner != 0 && owner <= kMaxCpus && CpuOf(s, static_cast<unsigned>(owner - 1))->slab == pg) {
        k = 0;
        for (void* f = CpuOf(s, static_cast<unsigned>(owner - 1))->freelist; f != nullptr && k++ <= pg->objects;
             f = GetFreePointer(s, f)) {
          if (f == p) fail("sheaf entry is on its active slab's freelist", p);
        }
      }
    }
  };
  unsigned long counted = 0;
  bool have_unlisted_full = !CacheDebug(s);
  for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) {
    SlubCpu* c = CpuOf(s, cpu);
    if (c->slab != nullptr) {  // (S3)
      page* pg = c->slab;
      ++counted;
      slab_ok(pg);
      uintptr_t r = Remote(pg).load(std::memory_order_acquire);
      if ((r & kFrozen) == 0) fail("active slab not frozen", pg);
      if (Owner(pg) != cpu + 1) fail("active slab not owned by its cpu", pg);
      if (pg->freelist != nullptr || pg->inuse != pg->objects) fail("active slab owns a page freelist", pg);
      unsigned a = chain(pg, c->freelist, "cpu freelist entry not an object");
      unsigned b = chain(pg, reinterpret_cast<void*>(r & ~kFrozen), "remote free entry not an object");
      if (a + b > pg->objects) fail("cpu + remote free objects exceed the slab", pg);
      if (c->slab_start != SlabBase(pg) ||
          (c->slab_bytes != SlabBytes(s, pg) && c->slab_bytes != 0)) {
        fail("cpu slab bounds", pg);
      }
      if (c->slab_bytes == 0 && c->freelist != nullptr) fail("detached active slab with a cpu freelist", pg);
    } else if (c->freelist != nullptr || c->slab_bytes != 0) {
      fail("cpu freelist without a slab", c);
    }
    unsigned np = 0;
    for (page* pg = c->partial; pg != nullptr; pg = internal::NextPartial(pg)) {  // (S4)
      ++np;
      ++counted;
      slab_ok(pg);
      uintptr_t r = Remote(pg).load(std::memory_order_acquire);
      if ((r & kFrozen) == 0) fail("cpu-partial slab not frozen", pg);
      if (Owner(pg) != cpu + 1) fail("cpu-partial slab not owned by its cpu", pg);
      unsigned b = chain(pg, reinterpret_cast<void*>(r & ~kFrozen), "remote free entry not an object");
      if (b > pg->inuse) fail("remote frees exceed inuse", pg);
      if (np > 100000) break;
    }
    if (np != c->nr_partial) fail("cpu nr_partial", c);
    if (!c->parked.LinksConsistent()) fail("cpu parked list links", c);
    unsigned nparked = 0;
    for (ListNode* p = c->parked.first(); p != nullptr && p != c->parked.end(); p = p->next) {
      page* pg = internal::LruEntry(p);
      ++nparked;
      ++counted;
      slab_ok(pg);
      uintptr_t r = Remote(pg).load(std::memory_order_acquire);
      if ((r & kFrozen) == 0) fail("parked slab not frozen", pg);
      if (Owner(pg) != cpu + 1) fail("parked slab not owned by its cpu", pg);
      if (pg->freelist != nullptr || pg->inuse != pg->objects) fail("parked slab not full", pg);
      chain(pg, reinterpret_cast<void*>(r & ~kFrozen), "remote free entry not an object");
      if (nparked > 1000000) break;
    }
    if (nparked != c->nr_parked) fail("cpu nr_parked", c);
    // (S8) the sheaves: each entry an allocated object of this cache (not on
    // its slab's free chains), no entry twice, |sheaf| <= cap.
    for (Sheaf* sh : {c->sheaf, c->rsheaf}) {
      if (sh == nullptr) continue;
      ++attached[LocalNode(sc, cpu)];
      if (sc->sheaf_cap == 0) fail("sheaf on a cache without sheaves", c);
      if (sh->cap != sc->sheaf_cap || sh->size > sh->cap) fail("sheaf size over its capacity", sh);
      sheaf_entries_ok(sh);
    }
    if (c->rrun_bytes != 0) {  // (S9) the remote run: a live slab of s with an object in rsheaf
      page* pg = HeadPageOf(*pages_, reinterpret_cast<void*>(c->rrun_start));
      bool held = false;
      for (unsigned i = 0; c->rsheaf != nullptr && i < c->rsheaf->size && i < kSheafMax; ++i) {
        held |= reinterpret_cast<uintptr_t>(c->rsheaf->objs()[i]) - c->rrun_start < c->rrun_bytes;
      }
      if (pg == nullptr || (pg->flags & PG_slab) == 0 || pg->slab_cache != s || SlabBase(pg) != c->rrun_start ||
          c->rrun_bytes != SlabBytes(s, pg)) {
        fail("cpu remote run is not a slab of this cache", reinterpret_cast<void*>(c->rrun_start));
      } else if (!held) {
        fail("cpu remote run without an object in the remote sheaf", pg);
      }
    } else if (c->rrun_start != 0) {
      fail("cpu remote run start without bounds", c);
    }
    if (c->free_page != nullptr) {
      bool listed = false;
      unsigned k = 0;
      for (page* pg = c->partial; pg != nullptr && k++ < c->nr_partial; pg = internal::NextPartial(pg)) {
        listed |= pg == c->free_page;
      }
      if (!listed) fail("cpu free_page not on its partial list", c->free_page);
      if (c->free_bytes != 0 && (c->free_start != SlabBase(c->free_page) ||
                                 c->free_bytes != SlabBytes(s, c->free_page))) {
        fail("cpu free_page bounds", c->free_page);
      }
    } else if (c->free_bytes != 0) {
      fail("cpu free bounds without a slab", c);
    }
    page* last = nullptr;
    for (page* pg = c->partial; pg != nullptr && np-- > 0; pg = internal::NextPartial(pg)) last = pg;
    if (c->partial_tail != last) fail("cpu partial_tail is not the chain's last slab", c);
  }
  unsigned long nr_slabs = 0;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlubNode& n = sc->node[k];
    SpinLockGuard guard(n.lock);
    nr_slabs += n.nr_slabs.load(std::memory_order_relaxed);
    if (!n.partial.LinksConsistent() || !n.full.LinksConsistent()) fail("node list links", &n);
    unsigned long np = 0;
    for (ListNode* p = n.partial.first(); p != nullptr && p != n.partial.end(); p = p->next) {
      page* pg = internal::LruEntry(p);  // (S2)
      ++np;
      ++counted;
      slab_ok(pg);
      const uintptr_t w = Remote(pg).load(std::memory_order_relaxed);
      if ((w & kFrozen) != 0 || Owner(pg) != 0) fail("partial slab frozen", pg);
      if (CacheDebug(s) ? w != 0 : (pg->freelist != nullptr || pg->inuse != 0)) {
        fail("partial slab state outside its word", pg);
      }
      if (SlabInuse(s, pg) >= pg->objects) fail("full slab on the partial list", pg);
    }
    if (np != n.nr_partial) fail("node nr_partial", &n);
    for (ListNode* p = n.full.first(); p != nullptr && p != n.full.end(); p = p->next) {
      page* pg = internal::LruEntry(p);
      ++counted;
      slab_ok(pg);
      if (pg->inuse != pg->objects) fail("non-full slab on the full list", pg);
    }
  }
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {  // (S8) the barns
    SlubBarn& b = sc->barn[k];
    SpinLockGuard guard(b.lock);
    unsigned nf = 0, ne = 0;
    for (Sheaf* sh = b.full; sh != nullptr && nf <= 100000; sh = sh->next, ++nf) {
      if (sh->size != sh->cap || sh->cap != sc->sheaf_cap) fail("barn full sheaf not full", sh);
      sheaf_entries_ok(sh);
    }
    for (Sheaf* sh = b.empty; sh != nullptr && ne <= 100000; sh = sh->next, ++ne) {
      if (sh->size != 0) fail("barn empty sheaf not empty", sh);
    }
    if (nf != b.nr_full || nf > sc->barn_max) fail("barn nr_full", &b);
    if (ne != b.nr_empty) fail("barn nr_empty", &b);
    const uintptr_t x = b.slot.load(std::memory_order_acquire);
    if (Sheaf* sh = reinterpret_cast<Sheaf*>(x & ~kSlotFull); sh != nullptr) {
      if ((x & kSlotFull) != 0) {
        if (sh->size != sh->cap || sh->cap != sc->sheaf_cap) fail("barn slot full sheaf not full", sh);
        sheaf_entries_ok(sh);
      } else if (sh->size != 0) {
        fail("barn slot empty sheaf not empty", sh);
      }
    } else if (x != 0) {
      fail("barn slot tagged without a sheaf", &b);
    }
    if (b.nr_sheaves != nf + ne + (x != 0) + attached[k]) {
      fail("barn nr_sheaves != empty + full + slot + held by cpus", &b);
    }
    if (CacheDebug(s) && b.nr_sheaves != 0) fail("debug cache with sheaves", &b);
  }
  // (S6)
  if (have_unlisted_full ? counted > nr_slabs : counted != nr_slabs) fail("nr_slabs does not match the lists", s);
  return ok;
}

}  // namespace mm::slub

#endif  // MM_SLUB_SLUB_IMPL_H_
