// SLAB: template definitions (included by slab.h).
//
// LOCK ORDER (the full contract is at the top of slab.h):
//   registry lock -> alien lock -> SlabNode::list_lock -> MetaPool lock -> page
//   source. Functions named *Locked assert list_lock. In practice no two of
//   these are held together except list_lock -> MetaPool (never: arrays are
//   allocated and freed with no list_lock held) -- objects leaving an alien or a
//   shared array are first copied out and then freed to their node.
#ifndef MM_SLAB_SLAB_IMPL_H_
#define MM_SLAB_SLAB_IMPL_H_

namespace mm::slab {

namespace internal {
inline page* LruEntry(ListNode* n) { return ContainerOf(n, &page::lru); }
inline constexpr unsigned kChunk = 64;  // objects moved per lock hold when draining
}  // namespace internal

// ---------------------------------------------------------------------------
// Cache set-up: order, on/off-slab management, colouring, tunables
// ---------------------------------------------------------------------------

namespace internal {
struct SlabLayout {
  unsigned num = 0, left = 0, idx_bytes = 1, freelist_bytes = 0;
  bool off_slab = false;
};
// One slab of `slab_bytes` with objects of `size`: Linux's cache_estimate with
// set_off_slab_cache's choice (objects >= OFF_SLAB_MIN_SIZE keep their index array
// in the slab's leftover tail when it fits there, else off the slab).
inline SlabLayout Estimate(unsigned size, size_t slab_bytes) {
  SlabLayout l;
  if (size >= kOffSlabMinSize) {
    l.num = static_cast<unsigned>(slab_bytes / size);
    l.idx_bytes = l.num > 256 ? 2 : 1;
    l.freelist_bytes = l.num * l.idx_bytes;
    l.left = static_cast<unsigned>(slab_bytes - size_t{l.num} * size);
    if (l.left >= l.freelist_bytes) {
      l.left -= l.freelist_bytes;
    } else {
      l.off_slab = true;
    }
    return l;
  }
  l.num = static_cast<unsigned>(slab_bytes / (size + 1));
  if (l.num > 256) {
    l.idx_bytes = 2;
    l.num = static_cast<unsigned>(slab_bytes / (size + 2));
  }
  l.freelist_bytes = l.num * l.idx_bytes;
  l.left = static_cast<unsigned>(slab_bytes - size_t{l.num} * size - l.freelist_bytes);
  return l;
}
}  // namespace internal

template <PageSource PS>
ArrayCache* Slab<PS>::NewArray(unsigned limit, unsigned batch, int nid) {
  auto* ac = static_cast<ArrayCache*>(pool_.Alloc(ArrayCache::Bytes(limit), nid));
  if (ac == nullptr) return nullptr;
  new (ac) ArrayCache{0, limit, batch, 0, {}, limit, 0};
  return ac;
}

// Frees a node's (empty) shared and alien arrays.
template <PageSource PS>
void Slab<PS>::FreeNodeArrays(SlabNode& n) {
  ArrayCache* sh;
  {
    SpinLockGuard guard(n.list_lock);
    sh = n.shared;
    n.shared = nullptr;
  }
  FreeArray(sh);
  for (ArrayCache*& a : n.alien) {
    FreeArray(a);
    a = nullptr;
  }
}

template <PageSource PS>
int Slab<PS>::InitCache(kmem_cache* s) {
  SlabCache* sc = new (s->allocator_private) SlabCache();
  sc->nr_nodes = pages_->nr_nodes();
  if (sc->nr_nodes == 0 || sc->nr_nodes > kMaxNodes) sc->nr_nodes = 1;
  // calculate_slab_order: the first order whose leftover is at most 1/8 of the
  // slab, stopping at slab_max_order (or at the first order holding an object).
  internal::SlabLayout best;
  unsigned order = 0;
  for (unsigned o = 0; o <= kMaxPageOrder; ++o) {
    const size_t slab_bytes = kPageSize << o;
    internal::SlabLayout l = internal::Estimate(s->size, slab_bytes);
    if (l.num == 0) continue;
    best = l;
    order = o;
    if (size_t{l.left} * 8 <= slab_bytes || o >= kSlabMaxOrder) break;
  }
  if (best.num == 0 || best.num > 65535) return -kEINVAL;
  sc->num = best.num;
  sc->order = order;
  sc->idx_bytes = best.idx_bytes;
  sc->off_slab = best.off_slab;
  sc->freelist_bytes = best.freelist_bytes;
  sc->colour_off = s->align > kCacheLineSize ? s->align : static_cast<unsigned>(kCacheLineSize);
  sc->colour = best.left / sc->colour_off;
  s->order = s->min_order = order;
  s->objects = s->min_objects = best.num;
  // enable_cpucache.
  const unsigned limit = DefaultLimit(s->size);
  const unsigned shared = (s->size <= kPageSize && nr_cpus_ > 1) ? kSharedFactorSmp : 0;
  sc->limit.store(limit, std::memory_order_relaxed);
  sc->batchcount.store((limit + 1) / 2, std::memory_order_relaxed);
  sc->shared.store(shared, std::memory_order_relaxed);
  const unsigned batch = (limit + 1) / 2;
  const unsigned cpus_per_node = (nr_cpus_ + sc->nr_nodes - 1) / sc->nr_nodes;
  bool ok = true;
  for (unsigned k = 0; k < sc->nr_nodes && ok; ++k) {
    SlabNode& n = sc->node[k];
    n.free_limit = (1 + cpus_per_node) * batch + sc->num;
    if (shared != 0) {
      ArrayCache* a = NewArray(shared * batch, kSharedBatch, static_cast<int>(k));
      ok = a != nullptr;
      SpinLockGuard guard(n.list_lock);
      n.shared = a;
    }
    for (unsigned m = 0; m < sc->nr_nodes && ok && sc->nr_nodes > 1; ++m) {
      if (m == k) continue;
      n.alien[m] = NewArray(limit > 1 ? kAlienLimit : limit, kSharedBatch, static_cast<int>(k));
      ok = n.alien[m] != nullptr;
    }
  }
  if (ok) return 0;
  // No ShutdownCache follows a failed InitCache: give the arrays back here.
  for (unsigned k = 0; k < sc->nr_nodes; ++k) FreeNodeArrays(sc->node[k]);
  return -kENOMEM;
}

// ---------------------------------------------------------------------------
// Slabs
// ---------------------------------------------------------------------------

// cache_grow: a new slab (not yet on a list), objects built (debug init, then
// ctor: once per object per slab), index array 0..num-1, the next colour.
template <PageSource PS>
page* Slab<PS>::Grow(kmem_cache* s, gfp_t gfp, unsigned nid) {
  SlabCache* sc = CacheOf(s);
  gfp_t pg_gfp = (gfp & ~(__GFP_ZERO | __GFP_COMP)) | __GFP_COMP;
  if (s->flags & SLAB_CACHE_DMA) pg_gfp |= __GFP_DMA;
  if (s->flags & SLAB_RECLAIM_ACCOUNT) pg_gfp |= __GFP_RECLAIMABLE;
  page* pg = pages_->AllocPages(pg_gfp, sc->order, sc->nr_nodes > 1 ? static_cast<int>(nid) : -1);
  if (pg == nullptr) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(pages_->PageAddress(pg));
  const size_t slab_bytes = kPageSize << sc->order;
  void* freelist;
  if (sc->off_slab) {
    freelist = pool_.Alloc(sc->freelist_bytes, static_cast<int>(nid));
    if (freelist == nullptr) {
      pages_->FreePages(pg, sc->order);
      return nullptr;
    }
  } else {
    freelist = reinterpret_cast<void*>(base + slab_bytes - sc->freelist_bytes);
  }
  SlabNode& n = NodeOf(sc, pg);
  unsigned colour;
  {
    SpinLockGuard guard(n.list_lock);
    colour = n.colour_next;
    if (++n.colour_next >= sc->colour) n.colour_next = 0;
  }
  pg->flags |= PG_slab;
  pg->slab_cache = s;
  pg->objects = sc->num;
  pg->inuse = 0;
  pg->freelist = freelist;
  pg->remote_free = base + uintptr_t{colour} * sc->colour_off;  // s_mem
  pg->lru.next = pg->lru.prev = nullptr;
  const bool debug = CacheDebug(s);
  for (unsigned i = 0; i < sc->num; ++i) {
    void* obj = ObjAt(s, pg, i);
    if (debug) slab_debug::InitFreeObject(s, obj);
    if (s->ctor != nullptr) s->ctor(obj);
    SetIdx(sc, pg, i, i);
  }
  return pg;
}

template <PageSource PS>
void Slab<PS>::DestroySlab(kmem_cache* s, page* pg) {
  SlabCache* sc = CacheOf(s);
  if (sc->off_slab) pool_.Free(pg->freelist, sc->freelist_bytes);
  pg->flags &= ~PG_slab;
  pg->slab_cache = nullptr;
  pg->freelist = nullptr;
  pg->inuse = 0;
  pg->objects = 0;
  pg->remote_free = 0;
  pg->lru.next = pg->lru.prev = nullptr;
  pages_->FreePages(pg, sc->order);
}

template <PageSource PS>
void Slab<PS>::DestroyList(kmem_cache* s, List* l) {
  while (ListNode* p = l->PopFront()) DestroySlab(s, internal::LruEntry(p));
}

template <PageSource PS>
unsigned Slab<PS>::TakeFromSlabsLocked(kmem_cache* s, SlabNode& n, void** out, unsigned want) {
  n.list_lock.AssertHeld();
  SlabCache* sc = CacheOf(s);
  unsigned got = 0;
  while (got < want) {
    ListNode* ln = n.slabs_partial.first();
    if (ln == nullptr) {
      ln = n.slabs_free.first();
      if (ln == nullptr) break;
      --n.free_slabs;
      n.free_touched = true;
    }
    page* pg = internal::LruEntry(ln);
    List::Remove(ln);
    while (got < want && pg->inuse < pg->objects) {
      out[got++] = ObjAt(s, pg, GetIdx(sc, pg, pg->inuse));
      ++pg->inuse;
      --n.free_objects;
    }
    if (pg->inuse == pg->objects) {
      n.slabs_full.PushBack(ln);
    } else {
      n.slabs_partial.PushFront(ln);
    }
  }
  return got;
}

template <PageSource PS>
void Slab<PS>::FreeBlockLocked(kmem_cache* s, SlabNode& n, void** objs, unsigned nr, List* destroy) {
  n.list_lock.AssertHeld();
  SlabCache* sc = CacheOf(s);
  for (unsigned i = 0; i < nr; ++i) {
    page* pg = HeadPageOf(*pages_, objs[i]);
    const unsigned idx = IndexOf(s, pg, objs[i]);
    MM_CHECK(idx != ~0u && pg->inuse > 0);  // a foreign or doubly freed pointer
    --pg->inuse;
    SetIdx(sc, pg, pg->inuse, idx);
    ++n.free_objects;
    List::Remove(&pg->lru);
    if (pg->inuse == 0) {
      n.slabs_free.PushFront(&pg->lru);
      ++n.free_slabs;
    } else {
      n.slabs_partial.PushBack(&pg->lru);
    }
  }
  while (n.free_objects > n.free_limit && !n.slabs_free.empty()) {
    ListNode* p = n.slabs_free.PopBack();
    --n.free_slabs;
    --n.total_slabs;
    n.free_objects -= sc->num;
    destroy->PushBack(p);
  }
}

// Frees objects of any node to their slabs (one lock hold per run of objects
// from the same node).
template <PageSource PS>
void Slab<PS>::FreeObjects(kmem_cache* s, void** e, unsigned nr) {
  SlabCache* sc = CacheOf(s);
  List destroy;
  unsigned i = 0;
  while (i < nr) {
    SlabNode& n = NodeOf(sc, HeadPageOf(*pages_, e[i]));
    unsigned j = i + 1;
    while (j < nr && &NodeOf(sc, HeadPageOf(*pages_, e[j])) == &n) ++j;
    {
      SpinLockGuard guard(n.list_lock);
      FreeBlockLocked(s, n, e + i, j - i, &destroy);
    }
    i = j;
  }
  DestroyList(s, &destroy);
}

template <PageSource PS>
void Slab<PS>::DrainArray(kmem_cache* s, ArrayCache* ac, unsigned nr) {
  if (nr > ac->avail) nr = ac->avail;
  if (nr == 0) return;
  FreeObjects(s, ac->entry(), nr);
  ac->avail -= nr;
  __builtin_memmove(ac->entry(), ac->entry() + nr, ac->avail * sizeof(void*));
}

// Frees the `nr` oldest objects of a node's shared array (~0u: all of them).
template <PageSource PS>
void Slab<PS>::DrainShared(kmem_cache* s, SlabNode& n, unsigned nr) {
  void* tmp[internal::kChunk];
  while (nr > 0) {
    unsigned k;
    {
      SpinLockGuard guard(n.list_lock);
      ArrayCache* sh = n.shared;
      if (sh == nullptr || sh->avail == 0) return;
      k = sh->avail < internal::kChunk ? sh->avail : internal::kChunk;
      if (k > nr) k = nr;
      __builtin_memcpy(tmp, sh->entry(), k * sizeof(void*));
      sh->avail -= k;
      __builtin_memmove(sh->entry(), sh->entry() + k, sh->avail * sizeof(void*));
    }
    FreeObjects(s, tmp, k);
    nr -= k;
  }
}

// cache_flusharray: a full per-cpu array gives its oldest batchcount objects to
// the node's shared array (as many as fit) or back to their slabs.
template <PageSource PS>
void Slab<PS>::FlushArray(kmem_cache* s, ArrayCache* ac, unsigned nid) {
  SlabCache* sc = CacheOf(s);
  unsigned batch = ac->batchcount < ac->avail ? ac->batchcount : ac->avail;
  SlabNode& n = sc->node[nid];
  {
    SpinLockGuard guard(n.list_lock);
    ArrayCache* sh = n.shared;
    if (sh != nullptr && sh->avail < sh->limit) {
      const unsigned room = sh->limit - sh->avail;
      if (batch > room) batch = room;
      __builtin_memcpy(sh->entry() + sh->avail, ac->entry(), batch * sizeof(void*));
      sh->avail += batch;
      ac->avail -= batch;
      __builtin_memmove(ac->entry(), ac->entry() + batch, ac->avail * sizeof(void*));
      return;
    }
  }
  DrainArray(s, ac, batch);
}

// Objects from an alien array (all of node `to_node`): the node's shared array
// first, the rest to their slabs.
template <PageSource PS>
void Slab<PS>::DrainAlien(kmem_cache* s, ArrayCache* alien, unsigned to_node) {
  void* tmp[kAlienLimit];
  unsigned k;
  {
    SpinLockGuard guard(alien->lock);
    k = alien->avail;
    __builtin_memcpy(tmp, alien->entry(), k * sizeof(void*));
    alien->avail = 0;
  }
  if (k == 0) return;
  SlabNode& n = CacheOf(s)->node[to_node];
  List destroy;
  {
    SpinLockGuard guard(n.list_lock);
    unsigned moved = 0;
    if (ArrayCache* sh = n.shared) {
      moved = sh->limit - sh->avail < k ? sh->limit - sh->avail : k;
      __builtin_memcpy(sh->entry() + sh->avail, tmp, moved * sizeof(void*));
      sh->avail += moved;
    }
    FreeBlockLocked(s, n, tmp + moved, k - moved, &destroy);
  }
  DestroyList(s, &destroy);
}

template <PageSource PS>
ArrayCache* Slab<PS>::CpuArray(kmem_cache* s, unsigned cpu) {
  SlabCache* sc = CacheOf(s);
  ArrayCache* ac = sc->cpu[cpu];
  const unsigned limit = sc->limit.load(std::memory_order_relaxed);
  const unsigned batch = sc->batchcount.load(std::memory_order_relaxed);
  if (__builtin_expect(ac != nullptr && ac->limit == limit && ac->batchcount == batch, 1)) return ac;
  if (ac != nullptr) {  // tunables changed: drain and re-size
    DrainArray(s, ac, ac->avail);
    sc->cpu[cpu] = nullptr;
    FreeArray(ac);
  }
  ac = NewArray(limit, batch, static_cast<int>(cpu % sc->nr_nodes));
  sc->cpu[cpu] = ac;
  return ac;
}

// ---------------------------------------------------------------------------
// Allocation and free slow paths
// ---------------------------------------------------------------------------

// One object without a per-cpu array (no memory left for one).
template <PageSource PS>
void* Slab<PS>::AllocOne(kmem_cache* s, gfp_t gfp) {
  SlabCache* sc = CacheOf(s);
  const unsigned nid = LocalNode(sc);
  void* obj = nullptr;
  for (unsigned k = 0; k < sc->nr_nodes && obj == nullptr; ++k) {
    SlabNode& n = sc->node[(nid + k) % sc->nr_nodes];
    SpinLockGuard guard(n.list_lock);
    TakeFromSlabsLocked(s, n, &obj, 1);
  }
  if (obj != nullptr) return obj;
  page* pg = Grow(s, gfp, nid);
  if (pg == nullptr) return nullptr;
  SlabNode& n = NodeOf(sc, pg);
  SpinLockGuard guard(n.list_lock);
  n.slabs_free.PushBack(&pg->lru);
  ++n.total_slabs;
  ++n.free_slabs;
  n.free_objects += sc->num;
  TakeFromSlabsLocked(s, n, &obj, 1);
  return obj;
}

// cache_alloc_refill: up to batchcount objects into an empty per-cpu array,
// from the node's shared array, else its partial and free slabs, else a new slab.
template <PageSource PS>
bool Slab<PS>::Refill(kmem_cache* s, ArrayCache* ac, unsigned nid, gfp_t gfp) {
  SlabCache* sc = CacheOf(s);
  SlabNode& n = sc->node[nid];
  const unsigned batch = ac->batchcount < ac->limit ? ac->batchcount : ac->limit;
  {
    SpinLockGuard guard(n.list_lock);
    ArrayCache* sh = n.shared;
    if (sh != nullptr && sh->avail != 0) {
      const unsigned k = sh->avail < batch ? sh->avail : batch;
      sh->avail -= k;
      __builtin_memcpy(ac->entry(), sh->entry() + sh->avail, k * sizeof(void*));
      ac->avail = k;
      sh->touched = 1;
      return true;
    }
    ac->avail = TakeFromSlabsLocked(s, n, ac->entry(), batch);
  }
  if (ac->avail != 0) return true;
  page* pg = Grow(s, gfp, nid);  // cache_grow, then take from the new slab's node
  if (pg == nullptr) return false;
  SlabNode& m = NodeOf(sc, pg);
  SpinLockGuard guard(m.list_lock);
  m.slabs_free.PushBack(&pg->lru);
  ++m.total_slabs;
  ++m.free_slabs;
  m.free_objects += sc->num;
  ac->avail = TakeFromSlabsLocked(s, m, ac->entry(), batch);
  return ac->avail != 0;
}

template <PageSource PS>
void* Slab<PS>::AllocSlow(kmem_cache* s, gfp_t gfp, const void* caller) {
  if (CacheDebug(s)) return DebugAlloc(s, gfp, caller);
  const unsigned cpu = platform::FastCpuId();
  SlabCache* sc = CacheOf(s);
  ArrayCache* ac = CpuArray(s, cpu);
  if (ac == nullptr) {
    void* obj = AllocOne(s, gfp);
    if (obj != nullptr && (gfp & __GFP_ZERO)) __builtin_memset(obj, 0, s->object_size);
    return obj;
  }
  if (ac->avail == 0 && !Refill(s, ac, cpu % sc->nr_nodes, gfp)) return nullptr;
  ac->touched = 1;
  void* obj = ac->entry()[--ac->avail];
  if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
  return obj;
}

template <PageSource PS>
void Slab<PS>::FreeSlow(kmem_cache* s, void* obj, const void* caller) {
  if (CacheDebug(s)) {
    DebugFree(s, obj, caller);
    return;
  }
  const unsigned cpu = platform::FastCpuId();
  SlabCache* sc = CacheOf(s);
  const unsigned local = cpu % sc->nr_nodes;
  if (sc->nr_nodes > 1) {  // cache_free_alien
    const page* pg = HeadPageOf(*pages_, obj);
    const unsigned node = pg->node < sc->nr_nodes ? pg->node : 0;
    if (node != local) {
      ArrayCache* alien = sc->node[local].alien[node];
      for (;;) {
        {
          SpinLockGuard guard(alien->lock);
          if (alien->avail < alien->limit) {
            alien->entry()[alien->avail++] = obj;
            return;
          }
        }
        DrainAlien(s, alien, node);  // full: to the object's node, then retry
      }
    }
  }
  ArrayCache* ac = CpuArray(s, cpu);
  if (ac == nullptr) {  // no memory for an array: straight back to the slab
    SlabNode& n = NodeOf(sc, HeadPageOf(*pages_, obj));
    List destroy;
    {
      SpinLockGuard guard(n.list_lock);
      FreeBlockLocked(s, n, &obj, 1, &destroy);
    }
    DestroyList(s, &destroy);
    return;
  }
  if (ac->avail >= ac->limit) FlushArray(s, ac, local);
  ac->entry()[ac->avail++] = obj;
}

// ---------------------------------------------------------------------------
// Debug caches: the same arrays, with checks where objects cross the API.
// ---------------------------------------------------------------------------

template <PageSource PS>
void* Slab<PS>::DebugAlloc(kmem_cache* s, gfp_t gfp, const void* caller) {
  const unsigned cpu = platform::FastCpuId();
  for (;;) {
    void* obj;
    ArrayCache* ac = CpuArray(s, cpu);
    if (ac != nullptr && ac->avail != 0) {
      obj = ac->entry()[--ac->avail];
    } else if (ac != nullptr) {
      if (!Refill(s, ac, cpu % CacheOf(s)->nr_nodes, gfp)) return nullptr;
      continue;
    } else {
      obj = AllocOne(s, gfp);
      if (obj == nullptr) return nullptr;
    }
    page* pg = HeadPageOf(*pages_, obj);
    const void* base = reinterpret_cast<const void*>(SMem(pg));
    slab_debug::Corruption c;
    if (*slab_debug::TagOf(s, obj) != kTagFree) {
      slab_debug::ReportObject(s, pg, base, obj, "Object state overwritten", nullptr,
                               "Object set aside, never handed out again");
      slab_debug::MarkQuarantined(s, obj);
      continue;
    }
    if (!slab_debug::CheckFreeObject(s, obj, &c)) {
      char title[64];
      mm::Format(title, sizeof title, "%s overwritten", c.what);
      slab_debug::ReportObject(s, pg, base, obj, title, &c, "Object set aside, never handed out again");
      slab_debug::MarkQuarantined(s, obj);
      continue;
    }
    slab_debug::MarkAllocated(s, obj, caller);
    if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
    return obj;
  }
}

template <PageSource PS>
void Slab<PS>::DebugFree(kmem_cache* s, void* obj, const void* caller) {
  page* pg = HeadPageOf(*pages_, obj);
  if (pg == nullptr || (pg->flags & PG_slab) == 0) {
    slab_debug::ReportSlab(s, pg, "Attempt to free object(%p) outside of slab", obj);
    return;
  }
  if (pg->slab_cache != s) {
    slab_debug::ReportSlab(s, pg, "kmem_cache_free: Wrong slab cache. %s but object is from %s",
                           s->name, pg->slab_cache != nullptr ? pg->slab_cache->name : "?");
    return;
  }
  if (IndexOf(s, pg, obj) == ~0u) {
    slab_debug::ReportSlab(s, pg, "Invalid object pointer %p", obj);
    Printk("FIX %s: Object at %p not freed\n", s->name, obj);
    return;
  }
  const void* base = reinterpret_cast<const void*>(SMem(pg));
  const uint64_t tag = *slab_debug::TagOf(s, obj);
  if (tag == kTagFree || tag == kTagQuarantined) {
    slab_debug::ReportObject(s, pg, base, obj, "Object already free", nullptr,
                             tag == kTagFree ? "Object not freed again" : "Object was set aside; not freed");
    return;
  }
  slab_debug::Corruption c;
  if (tag != kTagAllocated || !slab_debug::CheckAllocatedObject(s, obj, &c)) {
    char title[64];
    mm::Format(title, sizeof title, "%s overwritten", tag != kTagAllocated ? "Object state" : c.what);
    slab_debug::ReportObject(s, pg, base, obj, title, tag != kTagAllocated ? nullptr : &c,
                             "Object set aside, never handed out again");
    slab_debug::MarkQuarantined(s, obj);  // stays counted in its slab's inuse
    return;
  }
  slab_debug::MarkFreed(s, obj, caller);
  // The non-debug free path, minus its debug dispatch.
  const unsigned cpu = platform::FastCpuId();
  SlabCache* sc = CacheOf(s);
  ArrayCache* ac = CpuArray(s, cpu);
  if (ac == nullptr || sc->nr_nodes > 1) {
    SlabNode& n = NodeOf(sc, pg);
    List destroy;
    {
      SpinLockGuard guard(n.list_lock);
      FreeBlockLocked(s, n, &obj, 1, &destroy);
    }
    DestroyList(s, &destroy);
    return;
  }
  if (ac->avail >= ac->limit) FlushArray(s, ac, cpu % sc->nr_nodes);
  ac->entry()[ac->avail++] = obj;
}

// ---------------------------------------------------------------------------
// Flush, shrink, reap, tune, shutdown
// ---------------------------------------------------------------------------

template <PageSource PS>
void Slab<PS>::FlushCpu(kmem_cache* s, unsigned cpu) {
  SlabCache* sc = CacheOf(s);
  ArrayCache* ac = sc->cpu[cpu];
  if (ac == nullptr) return;
  DrainArray(s, ac, ac->avail);
  sc->cpu[cpu] = nullptr;
  FreeArray(ac);
}

template <PageSource PS>
void Slab<PS>::DrainAllArrays(kmem_cache* s, bool all_cpus) {
  SlabCache* sc = CacheOf(s);
  if (all_cpus) {
    for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) FlushCpu(s, cpu);
  } else if (ArrayCache* ac = sc->cpu[platform::FastCpuId()]) {
    DrainArray(s, ac, ac->avail);
  }
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    for (unsigned m = 0; m < sc->nr_nodes; ++m) {
      if (sc->node[k].alien[m] != nullptr) DrainAlien(s, sc->node[k].alien[m], m);
    }
  }
  for (unsigned k = 0; k < sc->nr_nodes; ++k) DrainShared(s, sc->node[k], ~0u);
}

template <PageSource PS>
int Slab<PS>::Shrink(kmem_cache* s) {
  SlabCache* sc = CacheOf(s);
  DrainAllArrays(s, /*all_cpus=*/false);  // other live cpus keep theirs (no IPIs)
  int remaining = 0;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    List destroy;
    {
      SpinLockGuard guard(n.list_lock);
      while (ListNode* p = n.slabs_free.PopFront()) {
        --n.free_slabs;
        --n.total_slabs;
        n.free_objects -= sc->num;
        destroy.PushBack(p);
      }
      if (n.total_slabs != 0) remaining = 1;
    }
    DestroyList(s, &destroy);
  }
  return remaining;
}

template <PageSource PS>
void Slab<PS>::Reap(kmem_cache* s) {
  SlabCache* sc = CacheOf(s);
  auto tofree = [](const ArrayCache* a, unsigned limit) {
    unsigned t = (limit + 4) / 5;
    if (t > a->avail) t = (a->avail + 1) / 2;
    return t;
  };
  if (ArrayCache* ac = sc->cpu[platform::FastCpuId()]) {  // drain_array
    if (ac->touched) {
      ac->touched = 0;
    } else if (ac->avail != 0) {
      DrainArray(s, ac, tofree(ac, ac->limit));
    }
  }
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    for (unsigned m = 0; m < sc->nr_nodes; ++m) {  // reap_alien
      if (n.alien[m] != nullptr) DrainAlien(s, n.alien[m], m);
    }
    unsigned drain = 0;
    unsigned slabs_to_free = 0;
    {
      SpinLockGuard guard(n.list_lock);
      if (ArrayCache* sh = n.shared) {
        if (sh->touched) {
          sh->touched = 0;
        } else {
          drain = tofree(sh, sh->limit);
        }
      }
      if (n.free_touched) {
        n.free_touched = false;
      } else {  // drain_freelist: about a fifth of free_limit, in slabs
        slabs_to_free = static_cast<unsigned>((n.free_limit + 5 * sc->num - 1) / (5 * sc->num));
      }
    }
    if (drain != 0) DrainShared(s, n, drain);
    List destroy;
    {
      SpinLockGuard guard(n.list_lock);
      while (slabs_to_free-- > 0 && !n.slabs_free.empty()) {
        ListNode* p = n.slabs_free.PopBack();
        --n.free_slabs;
        --n.total_slabs;
        n.free_objects -= sc->num;
        destroy.PushBack(p);
      }
    }
    DestroyList(s, &destroy);
  }
}

template <PageSource PS>
int Slab<PS>::Tune(kmem_cache* s, unsigned limit, unsigned batchcount, unsigned shared) {
  SlabCache* sc = CacheOf(s);
  ArrayCache* fresh[kMaxNodes] = {};
  if (shared != 0) {
    for (unsigned k = 0; k < sc->nr_nodes; ++k) {
      const uint64_t entries = uint64_t{shared} * batchcount;
      if (entries > (kPageSize << kSlabMaxOrder) / sizeof(void*) ||
          (fresh[k] = NewArray(static_cast<unsigned>(entries), kSharedBatch, static_cast<int>(k))) == nullptr) {
        for (ArrayCache* a : fresh) FreeArray(a);
        return -kENOMEM;
      }
    }
  }
  sc->limit.store(limit, std::memory_order_relaxed);
  sc->batchcount.store(batchcount, std::memory_order_relaxed);
  sc->shared.store(shared, std::memory_order_relaxed);
  const unsigned cpus_per_node = (nr_cpus_ + sc->nr_nodes - 1) / sc->nr_nodes;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    ArrayCache* old;
    {
      SpinLockGuard guard(n.list_lock);
      old = n.shared;
      n.shared = nullptr;
      n.free_limit = (1 + cpus_per_node) * batchcount + sc->num;
    }
    if (old != nullptr) {  // its objects go back to their slabs
      DrainArray(s, old, old->avail);
      FreeArray(old);
    }
    SpinLockGuard guard(n.list_lock);
    n.shared = fresh[k];
  }
  CpuArray(s, platform::FastCpuId());  // this cpu adopts the tunables now
  return 0;
}

template <PageSource PS>
unsigned Slab<PS>::LiveObjects(kmem_cache* s, page* pg, bool report) {
  SlabCache* sc = CacheOf(s);
  unsigned live = 0;
  for (unsigned i = 0; i < pg->objects; ++i) {
    void* obj = ObjAt(s, pg, i);
    bool is_live = CacheDebug(s) ? *slab_debug::TagOf(s, obj) == kTagAllocated : !IsFreeInSlab(sc, pg, i);
    if (!is_live) continue;
    ++live;
    if (report) {
      Printk("Object %p @offset=%lu\n", obj,
             static_cast<unsigned long>(reinterpret_cast<uintptr_t>(obj) - SMem(pg)));
    }
  }
  return live;
}

// __kmem_cache_shutdown: the cache is quiescent, so every cpu's array may be
// drained from here.
template <PageSource PS>
int Slab<PS>::ShutdownCache(kmem_cache* s) {
  SlabCache* sc = CacheOf(s);
  DrainAllArrays(s, /*all_cpus=*/true);
  bool live = false;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    SpinLockGuard guard(n.list_lock);
    for (List* list : {&n.slabs_full, &n.slabs_partial}) {
      for (ListNode* p = list->first(); p != nullptr && p != list->end(); p = p->next) {
        page* pg = internal::LruEntry(p);
        if (LiveObjects(s, pg, false) == 0) continue;
        if (!live) {
          slab_debug::ReportSlab(s, pg, "Objects remaining in %s on __kmem_cache_shutdown()", s->name);
        }
        live = true;
        LiveObjects(s, pg, true);
      }
    }
  }
  if (live) return -kEBUSY;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    List all;
    {
      SpinLockGuard guard(n.list_lock);
      for (List* list : {&n.slabs_full, &n.slabs_partial, &n.slabs_free}) {
        while (ListNode* p = list->PopFront()) all.PushBack(p);
      }
      n.total_slabs = n.free_slabs = n.free_objects = 0;
    }
    DestroyList(s, &all);
    FreeNodeArrays(n);
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Views and invariants
// ---------------------------------------------------------------------------

template <PageSource PS>
void Slab<PS>::GetSlabinfo(kmem_cache* s, SlabInfo* info) {
  SlabCache* sc = CacheOf(s);
  unsigned long slabs = 0, free_slabs = 0, free_objects = 0, shared_avail = 0;
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    SpinLockGuard guard(n.list_lock);
    slabs += n.total_slabs;
    free_slabs += n.free_slabs;
    free_objects += n.free_objects;
    if (n.shared != nullptr) shared_avail += n.shared->avail;
  }
  info->num_objs = slabs * sc->num;
  info->active_objs = info->num_objs - free_objects;
  info->num_slabs = slabs;
  info->active_slabs = slabs - free_slabs;
  info->shared_avail = shared_avail;
  info->limit = sc->limit.load(std::memory_order_relaxed);
  info->batchcount = sc->batchcount.load(std::memory_order_relaxed);
  info->shared = sc->shared.load(std::memory_order_relaxed);
  info->objects_per_slab = sc->num;
  info->cache_order = sc->order;
}

template <PageSource PS>
bool Slab<PS>::CheckCache(kmem_cache* s) {
  SlabCache* sc = CacheOf(s);
  bool ok = true;
  auto fail = [&](const char* what, const void* where) {
    if (ok) Printk("SLAB %s: invariant violated: %s (%p)\n", s->name, what, where);
    ok = false;
  };
  if (!pool_.CheckInvariants()) fail("metadata pool: a page without a chunk in use or a bad free list", &pool_);
  unsigned long inuse_total = 0;
  unsigned long in_arrays = 0;
  // (L4)/(L5): an array entry is an in-use object of this cache.
  auto check_array = [&](ArrayCache* a) {
    if (a == nullptr) return;
    if (a->avail > a->limit) fail("(L5) array avail > limit", a);
    for (unsigned i = 0; i < a->avail && i <= a->limit; ++i) {
      void* obj = a->entry()[i];
      page* pg = HeadPageOf(*pages_, obj);
      if (pg == nullptr || (pg->flags & PG_slab) == 0 || pg->slab_cache != s) {
        fail("(L4) array entry not an object of this cache", obj);
        continue;
      }
      const unsigned idx = IndexOf(s, pg, obj);
      if (idx == ~0u) {
        fail("(L4) array entry not at an object boundary", obj);
      } else if (IsFreeInSlab(sc, pg, idx)) {
        fail("(L4) array entry is free in its slab (double free?)", obj);
      }
      ++in_arrays;
    }
  };
  for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) check_array(sc->cpu[cpu]);
  for (unsigned k = 0; k < sc->nr_nodes; ++k) {
    SlabNode& n = sc->node[k];
    for (unsigned m = 0; m < sc->nr_nodes; ++m) {
      if (n.alien[m] == nullptr) continue;
      SpinLockGuard guard(n.alien[m]->lock);
      check_array(n.alien[m]);
    }
    SpinLockGuard guard(n.list_lock);
    check_array(n.shared);
    unsigned long slabs = 0, free_slabs = 0, free_objects = 0;
    struct { List* list; int kind; } lists[] = {{&n.slabs_full, 0}, {&n.slabs_partial, 1}, {&n.slabs_free, 2}};
    for (auto& l : lists) {
      if (!l.list->LinksConsistent()) fail("(L3) list links", l.list);
      for (ListNode* p = l.list->first(); p != nullptr && p != l.list->end(); p = p->next) {
        page* pg = internal::LruEntry(p);
        ++slabs;
        if ((pg->flags & PG_slab) == 0 || pg->slab_cache != s || pg->objects != sc->num) {
          fail("(L1) slab descriptor", pg);
          continue;
        }
        if (sc->nr_nodes > 1 && pg->node != k) fail("(L1) slab on another node's lists", pg);
        if (pg->inuse > pg->objects) fail("(L1) inuse > num", pg);
        if (l.kind == 0 && pg->inuse != pg->objects) fail("(L2) non-full slab on slabs_full", pg);
        if (l.kind == 1 && (pg->inuse == 0 || pg->inuse == pg->objects)) fail("(L2) slabs_partial", pg);
        if (l.kind == 2) {
          ++free_slabs;
          if (pg->inuse != 0) fail("(L2) used slab on slabs_free", pg);
        }
        free_objects += pg->objects - pg->inuse;
        inuse_total += pg->inuse;
        // (L1) the free indices are distinct and in range.
        uint64_t seen[64] = {};  // slabs of up to 4096 objects are checked
        for (unsigned i = pg->inuse; i < pg->objects && pg->objects <= 4096; ++i) {
          const unsigned v = GetIdx(sc, pg, i);
          if (v >= pg->objects) {
            fail("(L1) free index out of range", pg);
            break;
          }
          if (seen[v / 64] & (uint64_t{1} << (v % 64))) fail("(L1) free index listed twice", pg);
          seen[v / 64] |= uint64_t{1} << (v % 64);
        }
      }
    }
    if (slabs != n.total_slabs || free_slabs != n.free_slabs || free_objects != n.free_objects) {
      fail("(L3) node counters do not match the lists", &n);
    }
  }
  if (in_arrays > inuse_total) fail("(L4) more objects in arrays than in use", s);
  return ok;
}

}  // namespace mm::slab

#endif  // MM_SLAB_SLAB_IMPL_H_
