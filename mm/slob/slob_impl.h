// SLOB: template definitions (included by slob.h).
//
// LOCK ORDER (the full contract is at the top of slob.h):
//   registry lock -> Slob::lock_ -> page source. Functions named *Locked assert
//   lock_; the page source is only called with lock_ dropped.
#ifndef MM_SLOB_SLOB_IMPL_H_
#define MM_SLOB_SLOB_IMPL_H_

namespace mm::slob {

namespace internal {
inline page* LruEntry(ListNode* n) { return ContainerOf(n, &page::lru); }
}  // namespace internal

// First fit inside one page: the first free block that can hold `units` units
// with the object (at block + hdr) aligned to `align`. An alignment gap in front
// stays a free block; a tail stays a free block.
template <PageSource PS>
void* Slob<PS>::PageAllocLocked(page* pg, unsigned units, unsigned align, unsigned hdr) {
  lock_.AssertHeld();
  void* prev = nullptr;
  for (void* cur = pg->freelist; cur != nullptr; prev = cur, cur = NextFree(pg, cur)) {
    unsigned avail = FreeUnits(cur);
    const uintptr_t a = reinterpret_cast<uintptr_t>(cur);
    const uintptr_t aligned = AlignUp(a + hdr, align) - hdr;
    const unsigned delta = static_cast<unsigned>((aligned - a) / kUnit);
    if (avail < units + delta) continue;
    void* next = NextFree(pg, cur);
    if (delta != 0) {  // keep the gap free; allocate from the aligned part
      void* b = reinterpret_cast<void*>(aligned);
      SetFree(pg, b, avail - delta, next);
      SetFree(pg, cur, delta, b);
      prev = cur;
      cur = b;
      avail -= delta;
    }
    void* rest = next;
    if (avail > units) {
      rest = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(cur) + uintptr_t{units} * kUnit);
      SetFree(pg, rest, avail - units, next);
    }
    if (prev != nullptr) {
      SetFree(pg, prev, FreeUnits(prev), rest);
    } else {
      pg->freelist = rest;
    }
    pg->inuse += units;
    return cur;
  }
  return nullptr;
}

template <PageSource PS>
void* Slob<PS>::HeapAlloc(size_t size, unsigned align, unsigned hdr, SlobCache* c, gfp_t gfp,
                          kmem_cache* own, SlobCache* demand) {
  SlobCache* oc = own != nullptr ? CacheOf(own) : nullptr;
  if (oc != nullptr) {  // headerless, in the cache's own pages
    hdr = 0;
    c = oc;
  }
  const unsigned units = oc != nullptr ? oc->own_units
                                       : static_cast<unsigned>((hdr + AlignUp(size, kUnit)) / kUnit);
  List& list = oc != nullptr ? oc->own : ListFor(size);
  List& full = oc != nullptr ? oc->own_full : full_;
  page* fresh = nullptr;
  for (;;) {
    void* b = nullptr;
    page* pg = nullptr;
    {
      SpinLockGuard guard(lock_);
      if (fresh != nullptr) {  // linked in under the lock, then used at once
        list.PushFront(&fresh->lru);
        fresh = nullptr;
      }
      for (ListNode* n = list.first(); n != nullptr && n != list.end(); n = n->next) {
        pg = internal::LruEntry(n);
        if (pg->objects - pg->inuse < units) continue;  // not enough room in total
        b = PageAllocLocked(pg, units, align, hdr);
        if (b != nullptr) break;
      }
      if (b != nullptr) {
        // Linux's SLOB: the next search starts at this page (the pages skipped
        // go to the tail), which keeps first fit from re-walking pages that had
        // no room -- without it N same-size blocks leaving small tails cost O(N^2).
        while (list.first() != &pg->lru) list.PushBack(list.PopFront());
        if (pg->inuse == pg->objects) {  // (B3) full: off the partial list
          List::Remove(&pg->lru);
          full.PushBack(&pg->lru);
        }
        if (oc != nullptr) {
          ++oc->live;
          ++oc->live_own;
          return b;
        }
        uint64_t* h = static_cast<uint64_t*>(b);
        const uint64_t owner = c == nullptr ? 0 : c->id + 1;
        *h = units | kHdrMagic | (hdr > kUnit ? kHdrLink : 0) | (owner << 32);
        if (hdr > kUnit) h[1] = 0;  // the link word of a live ctor object is 0
        if (c != nullptr) {
          ++c->live;
          ++c->live_heap;
        }
        // (B5) the page's sole-owner key: the first owner, kSoleMixed at a second.
        const uintptr_t key = demand != nullptr ? demand->id + 1 : kSoleMixed;
        if (pg->remote_free != key) pg->remote_free = pg->remote_free == 0 ? key : kSoleMixed;
        if (demand != nullptr) {
          __atomic_fetch_add(&demand->hdr_allocs, 1, __ATOMIC_RELAXED);
          // Alone in half a heap page: adopt it and switch to own pages.
          if (pg->remote_free == key && pg->inuse * 2 >= pg->objects) {
            if (AdoptLocked(caches_[demand->id], pg)) {
              if (__atomic_load_n(&demand->hdr_allocs, __ATOMIC_RELAXED) < demand->own_after) {
                __atomic_store_n(&demand->hdr_allocs, demand->own_after, __ATOMIC_RELAXED);
              }
            } else {
              pg->remote_free = kSoleMixed;  // not adoptable: do not walk it again
            }
          }
        }
        return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(b) + hdr);
      }
    }
    // No page has room: a new one, taken with the lock dropped.
    const unsigned order = oc != nullptr ? oc->own_order : 0;
    page* np = pages_->AllocPages((gfp & ~(__GFP_ZERO | __GFP_COMP)) | (order != 0 ? __GFP_COMP : 0),
                                  order, -1);
    if (np == nullptr) return nullptr;
    np->flags |= PG_slab;
    np->slab_cache = own != nullptr ? own : &heap_;
    np->objects = kUnitsPerPage << order;
    np->inuse = 0;
    np->remote_free = oc != nullptr ? oc->own_align : 0;  // (B5) page alignment / no owner yet
    np->lru.next = np->lru.prev = nullptr;
    void* first = pages_->PageAddress(np);
    SetFree(np, first, np->objects, nullptr);
    np->freelist = first;
    pages_held_.fetch_add(uint64_t{1} << order, std::memory_order_relaxed);
    fresh = np;
  }
}

template <PageSource PS>
page* Slob<PS>::HeapFreeLocked(void* b, unsigned units, bool* bad) {
  lock_.AssertHeld();
  page* pg = HeadPageOf(*pages_, b);
  const uintptr_t ub = reinterpret_cast<uintptr_t>(b);
  // Find the free neighbours (address order); the block must lie between them.
  void* prev = nullptr;
  void* next = pg->freelist;
  while (next != nullptr && next < b) {
    prev = next;
    next = NextFree(pg, next);
  }
  if (units == 0 || units > pg->inuse || ub + uintptr_t{units} * kUnit > Base(pg) + BlockBytes(pg) ||
      (next != nullptr && ub + uintptr_t{units} * kUnit > reinterpret_cast<uintptr_t>(next)) ||
      (prev != nullptr && reinterpret_cast<uintptr_t>(prev) + uintptr_t{FreeUnits(prev)} * kUnit > ub)) {
    MM_CHECK(bad != nullptr);  // internal callers free only blocks they own
    *bad = true;
    return nullptr;
  }
  const bool was_full = pg->inuse == pg->objects;
  pg->inuse -= units;
  if (pg->inuse == 0) {  // (B2) an empty page goes back at once
    List::Remove(&pg->lru);
    return pg;
  }
  if (was_full) {
    SetFree(pg, b, units, nullptr);
    pg->freelist = b;
    List::Remove(&pg->lru);
    kmem_cache* own = OwnCacheLocked(pg);
    (own != nullptr ? CacheOf(own)->own : ListFor(uint64_t{units} * kUnit)).PushFront(&pg->lru);
    return nullptr;
  }
  // Insert in address order, merging with the neighbours.
  if (next != nullptr && ub + uintptr_t{units} * kUnit == reinterpret_cast<uintptr_t>(next)) {
    units += FreeUnits(next);
    next = NextFree(pg, next);
  }
  SetFree(pg, b, units, next);
  if (prev == nullptr) {
    pg->freelist = b;
  } else if (reinterpret_cast<uintptr_t>(prev) + uintptr_t{FreeUnits(prev)} * kUnit == ub) {
    SetFree(pg, prev, FreeUnits(prev) + units, next);
  } else {
    SetFree(pg, prev, FreeUnits(prev), b);
  }
  return nullptr;
}

template <PageSource PS>
bool Slob<PS>::AdoptLocked(kmem_cache* s, page* pg) {
  lock_.AssertHeld();
  SlobCache* c = CacheOf(s);
  if (c->own_units == 0 || pg->slab_cache != &heap_ || IsAdopted(pg->remote_free)) return false;
  const bool kmalloc_class = (s->flags & SLAB_KMALLOC) != 0;
  const uintptr_t base = Base(pg);
  const uintptr_t end = base + kPageSize;
  // Pass 1: every allocated block is s's, one object of own_units behind its header.
  uintptr_t align = c->own_align;
  unsigned long objs = 0, counted = 0;
  void* f = pg->freelist;
  for (uintptr_t b = base; b < end;) {
    if (reinterpret_cast<void*>(b) == f) {
      b += uintptr_t{FreeUnits(f)} * kUnit;
      f = NextFree(pg, f);
      continue;
    }
    const uint64_t h = *reinterpret_cast<const uint64_t*>(b);
    const uint64_t owner = h >> 32;
    if ((h & kHdrMagicMask) != kHdrMagic || (h & kHdrLink) || (h & kUnitsMask) != c->own_units + 1 ||
        !(owner == c->id + 1 || (kmalloc_class && owner == 0))) {
      return false;
    }
    while ((b + kUnit - base) % align != 0) align /= 2;  // the alignment all objects share
    ++objs;
    if (owner != 0) ++counted;
    b += uintptr_t{c->own_units + 1} * kUnit;
  }
  // Pass 2: the free blocks and the headers, merged where adjacent, are the own
  // page's free list (each run's word is written once the next run is known;
  // every word read lies at or ahead of the walk, every word written behind it).
  void* first = nullptr;
  uintptr_t run = 0;
  unsigned run_units = 0;
  auto add_free = [&](uintptr_t at, unsigned units) {
    if (run != 0 && run + uintptr_t{run_units} * kUnit == at) {
      run_units += units;
      return;
    }
    if (run != 0) SetFree(pg, reinterpret_cast<void*>(run), run_units, reinterpret_cast<void*>(at));
    if (first == nullptr) first = reinterpret_cast<void*>(at);
    run = at;
    run_units = units;
  };
  f = pg->freelist;
  for (uintptr_t b = base; b < end;) {
    if (reinterpret_cast<void*>(b) == f) {
      const unsigned u = FreeUnits(f);
      f = NextFree(pg, f);
      add_free(b, u);
      b += uintptr_t{u} * kUnit;
      continue;
    }
    add_free(b, 1);  // the header
    b += uintptr_t{c->own_units + 1} * kUnit;
  }
  if (run != 0) SetFree(pg, reinterpret_cast<void*>(run), run_units, nullptr);
  pg->freelist = first;
  pg->inuse = static_cast<uint32_t>(objs * c->own_units);
  pg->remote_free = kAdopted | align << 32 | (c->id + 1);  // slab_cache stays &heap_
  List::Remove(&pg->lru);
  (pg->inuse == pg->objects ? c->own_full : c->own).PushBack(&pg->lru);
  c->live_heap -= counted;
  c->live += objs - counted;  // kmalloc blocks were not counted: now the class's
  c->live_own += objs;
  return true;
}

template <PageSource PS>
void Slob<PS>::DiscardPage(page* pg) {
  const unsigned order = (pg->flags & PG_head) ? pg->order : 0;
  pg->flags &= ~PG_slab;
  pg->slab_cache = nullptr;
  pg->freelist = nullptr;
  pg->inuse = 0;
  pg->objects = 0;
  pg->remote_free = 0;
  pg->lru.next = pg->lru.prev = nullptr;
  pages_held_.fetch_sub(uint64_t{1} << order, std::memory_order_relaxed);
  pages_->FreePages(pg, order);
}

template <PageSource PS>
void* Slob<PS>::AllocBig(kmem_cache* s, gfp_t gfp) {
  gfp_t pg_gfp = (gfp & ~__GFP_ZERO) | __GFP_COMP;
  if (s->flags & SLAB_CACHE_DMA) pg_gfp |= __GFP_DMA;
  page* pg = pages_->AllocPages(pg_gfp, s->order, -1);
  if (pg == nullptr) return nullptr;
  pg->flags |= PG_slab;
  pg->slab_cache = s;
  pg->objects = 0;  // marks a big block
  pg->inuse = 1;
  pg->freelist = nullptr;
  pg->remote_free = 0;
  pages_held_.fetch_add(uint64_t{1} << s->order, std::memory_order_relaxed);
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  SpinLockGuard guard(lock_);
  ++c->live;
  if (c->own_units != 0) __atomic_fetch_add(&c->hdr_allocs, 1, __ATOMIC_RELAXED);
  return pages_->PageAddress(pg);
}

template <PageSource PS>
void* Slob<PS>::Alloc(kmem_cache* s, gfp_t gfp, const void* /*caller*/) {
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  void* obj = nullptr;
  if (s->ctor != nullptr && !c->big) {
    SpinLockGuard guard(lock_);
    if (c->ctor_free != nullptr) {  // still constructed: no ctor call
      uintptr_t* link = c->ctor_free;
      c->ctor_free = reinterpret_cast<uintptr_t*>(*link);
      *link = 0;
      --c->nr_ctor_free;
      ++c->live;
      ++c->live_heap;
      obj = link + 1;
    }
  }
  if (obj == nullptr) {
    if (c->big && (c->own_units == 0 || __atomic_load_n(&c->hdr_allocs, __ATOMIC_RELAXED) < c->own_after)) {
      obj = AllocBig(s, gfp);
    } else if (c->own_units != 0) {  // own pages once the cache has enough objects
      // hdr_allocs is read without lock_: a stale value only delays the switch.
      const bool own = __atomic_load_n(&c->hdr_allocs, __ATOMIC_RELAXED) >= c->own_after;
      obj = own ? HeapAlloc(s->object_size, c->own_align, 0, c, gfp, s)
                : HeapAlloc(s->object_size, s->align, HeaderBytes(s), c, gfp, nullptr, c);
    } else {
      obj = HeapAlloc(s->object_size, s->align, HeaderBytes(s), c, gfp);
    }
    if (obj == nullptr) return nullptr;
    if (s->ctor != nullptr) s->ctor(obj);  // first construction of this block
  }
  if (gfp & __GFP_ZERO) __builtin_memset(obj, 0, s->object_size);
  return obj;
}

template <PageSource PS>
void* Slob<PS>::Kmalloc(size_t size, gfp_t gfp, const void* /*caller*/) {
  const unsigned align =
      IsPowerOfTwo(size) ? static_cast<unsigned>(size < kPageSize ? size : kPageSize) : kUnit;
  if (FitsHeap(size, align < kUnit ? kUnit : align, kUnit)) {
    // A size class whose own pages hold more of these than headered heap blocks
    // would (e.g. kmalloc(8): 512 a page against 256): its own pages, headerless,
    // once the class has had own_after such requests.
    kmem_cache* kc = kmalloc_[KmallocIndex(size)];
    SlobCache* kcc = kc != nullptr ? CacheOf(kc) : nullptr;
    void* p;
    if (kcc != nullptr && kcc->own_units != 0 &&
        OwnCost(kcc) < kPageSize / HeaderedPerPage(size, align < kUnit ? kUnit : align)) {
      const bool own = __atomic_load_n(&kcc->hdr_allocs, __ATOMIC_RELAXED) >= kcc->own_after;
      p = own ? HeapAlloc(size, kcc->own_align, 0, nullptr, gfp, kc)
              : HeapAlloc(size, align < kUnit ? kUnit : align, kUnit, nullptr, gfp, nullptr, kcc);
    } else {
      p = HeapAlloc(size, align < kUnit ? kUnit : align, kUnit, nullptr, gfp);
    }
    if (p != nullptr && (gfp & __GFP_ZERO)) __builtin_memset(p, 0, size);
    return p;
  }
  // Straight from the page allocator (not PG_slab: kfree frees it as a page block).
  const unsigned order = Log2Ceil((size + kPageSize - 1) >> kPageShift);
  page* pg = pages_->AllocPages(gfp | __GFP_COMP, order, -1);
  return pg == nullptr ? nullptr : pages_->PageAddress(pg);
}

template <PageSource PS>
size_t Slob<PS>::Ksize(const void* p, const page* pg) const {
  // An own object's slot (the bytes its headered block had: ksize does not
  // change when its page is adopted).
  if (pg->slab_cache != &heap_) {
    if (pg->objects == 0) return kPageSize << ((pg->flags & PG_head) ? pg->order : 0);  // big block
    return uintptr_t{CacheOf(pg->slab_cache)->own_units} * kUnit;
  }
  SpinLockGuard guard(lock_);
  if (kmem_cache* own = OwnCacheLocked(pg)) return uintptr_t{CacheOf(own)->own_units} * kUnit;
  const uint64_t h = *HeaderOf(p);
  return (h & kUnitsMask) * kUnit - ((h & kHdrLink) ? 2 * kUnit : kUnit);
}

template <PageSource PS>
kmem_cache* Slob<PS>::ObjectCache(const void* obj) {
  page* pg = HeadPageOf(*pages_, obj);
  if (pg == nullptr || (pg->flags & PG_slab) == 0) return nullptr;
  if (pg->slab_cache != &heap_) return pg->slab_cache;
  SpinLockGuard guard(lock_);
  if (kmem_cache* own = OwnCacheLocked(pg)) return own;
  const uint64_t owner = *HeaderOf(obj) >> 32;
  return owner == 0 || owner > kMaxCaches ? nullptr : caches_[owner - 1];
}

template <PageSource PS>
kmem_cache* Slob<PS>::OwnPageCache(const void* obj) {
  page* pg = HeadPageOf(*pages_, obj);
  if (pg == nullptr || (pg->flags & PG_slab) == 0) return nullptr;
  SpinLockGuard guard(lock_);
  return OwnCacheLocked(pg);
}

template <PageSource PS>
void Slob<PS>::Free(kmem_cache* s, void* obj, const void* /*caller*/) {
  page* pg = HeadPageOf(*pages_, obj);
  if (pg == nullptr || (pg->flags & PG_slab) == 0) {
    slab_debug::ReportSlab(s, pg, "Attempt to free object(%p) outside of slab", obj);
    return;
  }
  if (pg->slab_cache != &heap_ && pg->objects == 0) {  // a big block
    kmem_cache* owner = pg->slab_cache;
    if (s != &heap_ && s != owner) {
      slab_debug::ReportSlab(s, pg, "kmem_cache_free: Wrong slab cache. %s but object is from %s",
                             s->name, owner->name);
      return;
    }
    if (pages_->PageAddress(pg) != obj) {
      slab_debug::ReportSlab(owner, pg, "Invalid object pointer %p", obj);
      return;
    }
    SlobCache* c = CacheOf(owner);
    {
      SpinLockGuard guard(lock_);
      --c->live;
    }
    pg->inuse = 0;
    DiscardPage(pg);
    return;
  }
  page* empty = nullptr;
  {
    SpinLockGuard guard(lock_);  // the page kind and the header, read where adoption cannot change them
    kmem_cache* own = OwnCacheLocked(pg);
    empty = own != nullptr ? OwnFreeLocked(s, own, pg, obj) : HeapObjectFreeLocked(s, pg, obj);
  }
  if (empty != nullptr) DiscardPage(empty);
}

// A headerless object in a page of its cache.
template <PageSource PS>
page* Slob<PS>::OwnFreeLocked(kmem_cache* s, kmem_cache* owner, page* pg, void* obj) {
  if (s != &heap_ && s != owner) {
    slab_debug::ReportSlab(s, pg, "kmem_cache_free: Wrong slab cache. %s but object is from %s",
                           s->name, owner->name);
    return nullptr;
  }
  SlobCache* c = CacheOf(owner);
  const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - Base(pg);
  if (off % PageAlign(pg) != 0) {
    slab_debug::ReportSlab(owner, pg, "Invalid object pointer %p", obj);
    return nullptr;
  }
  bool bad = false;
  page* empty = HeapFreeLocked(obj, c->own_units, &bad);
  if (bad) {
    slab_debug::ReportSlab(owner, pg, "Invalid object pointer %p (free space: double free?)", obj);
    return nullptr;
  }
  --c->live;
  --c->live_own;
  return empty;
}

// A headered block in a shared heap page.
template <PageSource PS>
page* Slob<PS>::HeapObjectFreeLocked(kmem_cache* s, page* pg, void* obj) {
  const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - Base(pg);
  if (off % kUnit != 0 || off < kUnit) {
    slab_debug::ReportSlab(s, pg, "Invalid object pointer %p (no SLOB block header)", obj);
    return nullptr;
  }
  const uint64_t before = *reinterpret_cast<const uint64_t*>(reinterpret_cast<uintptr_t>(obj) - kUnit);
  const uint64_t h = (off >= 2 * kUnit || IsPlainHeader(before)) ? *HeaderOf(obj) : 0;
  const unsigned hdr = (h & kHdrLink) ? 2 * kUnit : kUnit;
  const unsigned units = h & kUnitsMask;
  if ((h & kHdrMagicMask) != kHdrMagic || off < hdr || off - hdr + uintptr_t{units} * kUnit > kPageSize) {
    slab_debug::ReportSlab(s, pg, "Invalid object pointer %p (no SLOB block header)", obj);
    return nullptr;
  }
  const uint64_t owner = h >> 32;
  kmem_cache* oc = owner == 0 || owner > kMaxCaches ? nullptr : caches_[owner - 1];
  if (s != &heap_ && oc != s) {
    slab_debug::ReportSlab(s, pg, "kmem_cache_free: Wrong slab cache. %s but object is from %s",
                           s->name, oc != nullptr ? oc->name : "kmalloc");
    return nullptr;
  }
  void* block = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(obj) - hdr);
  SlobCache* c = oc != nullptr ? CacheOf(oc) : nullptr;
  if (c != nullptr && (h & kHdrLink)) {  // a constructed object: kept for the next Alloc
    --c->live;
    --c->live_heap;
    uintptr_t* link = static_cast<uintptr_t*>(block) + 1;
    *link = reinterpret_cast<uintptr_t>(c->ctor_free);
    c->ctor_free = link;
    ++c->nr_ctor_free;
    return nullptr;
  }
  bool bad = false;
  page* empty = HeapFreeLocked(block, units, &bad);
  if (bad) {
    slab_debug::ReportSlab(s, pg, "Invalid object pointer %p (free space: double free?)", obj);
    return nullptr;
  }
  if (c != nullptr) {
    --c->live;
    --c->live_heap;
  }
  return empty;
}

// Returns the constructed objects a ctor cache keeps to the heap.
template <PageSource PS>
int Slob<PS>::Shrink(kmem_cache* s) {
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  for (;;) {
    page* empty = nullptr;
    {
      SpinLockGuard guard(lock_);
      if (c->ctor_free == nullptr) return c->live == 0 ? 0 : 1;
      uintptr_t* link = c->ctor_free;
      c->ctor_free = reinterpret_cast<uintptr_t*>(*link);
      --c->nr_ctor_free;
      empty = HeapFreeLocked(link - 1, *reinterpret_cast<uint64_t*>(link - 1) & kUnitsMask);
    }
    if (empty != nullptr) DiscardPage(empty);
  }
}

// Prints every live heap object of cache `owner` (id + 1).
template <PageSource PS>
void Slob<PS>::ReportRemaining(kmem_cache* s, unsigned owner) {
  lock_.AssertHeld();
  for (List* list : {&small_, &medium_, &large_, &full_}) {
    for (ListNode* n = list->first(); n != nullptr && n != list->end(); n = n->next) {
      page* pg = internal::LruEntry(n);
      const uintptr_t base = Base(pg);
      void* f = pg->freelist;
      for (uintptr_t b = base; b < base + kPageSize;) {
        if (reinterpret_cast<void*>(b) == f) {
          b += uintptr_t{FreeUnits(f)} * kUnit;
          f = NextFree(pg, f);
          continue;
        }
        const uint64_t h = *reinterpret_cast<uint64_t*>(b);
        const unsigned hdr = (h & kHdrLink) ? 2 * kUnit : kUnit;
        const unsigned units = h & kUnitsMask;
        if ((h >> 32) == owner) {
          bool cached = false;  // on the ctor list: free, not live
          SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
          for (uintptr_t* l = c->ctor_free; l != nullptr && !cached; l = reinterpret_cast<uintptr_t*>(*l)) {
            cached = reinterpret_cast<uintptr_t>(l) == b + kUnit;
          }
          if (!cached) Printk("Object %p @offset=%lu\n", reinterpret_cast<void*>(b + hdr),
                              static_cast<unsigned long>(b + hdr - base));
        }
        if (units == 0) break;
        b += uintptr_t{units} * kUnit;
      }
    }
  }
  SlobCache* c = CacheOf(s);
  for (List* list : {&c->own, &c->own_full}) {  // headerless objects in own pages
    for (ListNode* n = list->first(); n != nullptr && n != list->end(); n = n->next) {
      page* pg = internal::LruEntry(n);
      const uintptr_t base = Base(pg);
      void* f = pg->freelist;
      for (uintptr_t b = base; b < base + BlockBytes(pg);) {
        if (reinterpret_cast<void*>(b) == f) {
          b += uintptr_t{FreeUnits(f)} * kUnit;
          f = NextFree(pg, f);
          continue;
        }
        Printk("Object %p @offset=%lu\n", reinterpret_cast<void*>(b), static_cast<unsigned long>(b - base));
        b += uintptr_t{c->own_units} * kUnit;
      }
    }
  }
}

template <PageSource PS>
int Slob<PS>::ShutdownCache(kmem_cache* s) {
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  Shrink(s);
  SpinLockGuard guard(lock_);
  if (c->live != 0) {
    slab_debug::ReportSlab(s, nullptr, "Objects remaining in %s on __kmem_cache_shutdown()", s->name);
    ReportRemaining(s, c->id + 1);
    if (c->live != c->live_heap + c->live_own) {
      Printk("%lu big object(s) of %s remaining\n", c->live - c->live_heap - c->live_own, s->name);
    }
    return -kEBUSY;
  }
  if (caches_[c->id] == s) caches_[c->id] = nullptr;
  for (kmem_cache*& k : kmalloc_) {
    if (k == s) k = nullptr;
  }
  return 0;
}

// SLOB has no slabs of its own; /proc/slabinfo shows the objects and the pages
// they would fill if packed (Linux's SLOB had no /proc/slabinfo at all).
template <PageSource PS>
void Slob<PS>::GetSlabinfo(kmem_cache* s, SlabInfo* info) {
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  unsigned long live;
  {
    SpinLockGuard guard(lock_);
    live = c->live + c->nr_ctor_free;
  }
  const unsigned per = s->objects == 0 ? 1 : s->objects;
  const unsigned long slabs = (live + per - 1) / per;
  info->active_objs = live - c->nr_ctor_free;
  info->num_objs = slabs * per;
  info->active_slabs = slabs;
  info->num_slabs = slabs;
  info->objects_per_slab = per;
  info->cache_order = s->order;
}

template <PageSource PS>
bool Slob<PS>::CheckCache(kmem_cache* s) {
  SlobCache* c = std::launder(reinterpret_cast<SlobCache*>(s->allocator_private));
  bool ok = true;
  auto fail = [&](const char* what, const void* where) {
    if (ok) Printk("SLOB %s: invariant violated: %s (%p)\n", s->name, what, where);
    ok = false;
  };
  // Walks the blocks of pg from its base to `end`: each free block (met in
  // address order on pg's free list) is checked and its units added to
  // *free_units; each allocated block goes to used(address), which returns its
  // units (0: a bad block, stop). Returns where the walk stopped; *rest is the
  // free-list entry not met (nullptr when the list was walked whole).
  auto walk_blocks = [&](page* pg, uintptr_t end, unsigned* free_units, void** rest,
                         auto&& used) -> uintptr_t {
    void* f = pg->freelist;
    uintptr_t b = Base(pg);
    uintptr_t last_free_end = 0;
    while (b < end) {
      if (reinterpret_cast<void*>(b) == f) {
        const unsigned u = FreeUnits(f);
        if (u == 0) {
          fail("(B1) empty free block", f);
          break;
        }
        if (b == last_free_end) fail("(B2) adjacent free blocks not merged", f);
        *free_units += u;
        b += uintptr_t{u} * kUnit;
        last_free_end = b;
        f = NextFree(pg, f);
        continue;
      }
      const unsigned u = used(b);
      if (u == 0) break;
      b += uintptr_t{u} * kUnit;
    }
    *rest = f;
    return b;
  };
  SpinLockGuard guard(lock_);
  if (caches_[c->id] != s) fail("cache not in the id table", s);
  unsigned long mine = 0;
  for (List* list : {&small_, &medium_, &large_, &full_}) {
    if (!list->LinksConsistent()) fail("page list links", list);
    for (ListNode* n = list->first(); n != nullptr && n != list->end(); n = n->next) {
      page* pg = internal::LruEntry(n);
      if ((pg->flags & PG_slab) == 0 || pg->slab_cache != &heap_ || pg->objects != kUnitsPerPage ||
          IsAdopted(pg->remote_free)) {
        fail("(B1) heap page descriptor", pg);
        continue;
      }
      if (pg->inuse == 0 || pg->inuse > pg->objects) fail("(B2) page inuse", pg);
      if ((list == &full_) != (pg->inuse == pg->objects)) fail("(B3) page on the wrong list", pg);
      // (B5) the blocks of a page keyed to one owner are that owner's.
      const uintptr_t key = pg->remote_free;
      const kmem_cache* kc = key == kSoleMixed || key == 0 || key > kMaxCaches ? nullptr : caches_[key - 1];
      if (key != kSoleMixed && kc == nullptr) fail("(B5) heap page owner key", pg);
      const bool key_kmalloc = kc != nullptr && (kc->flags & SLAB_KMALLOC) != 0;
      unsigned free_units = 0;
      void* f = nullptr;
      const uintptr_t end = Base(pg) + kPageSize;
      const uintptr_t b = walk_blocks(pg, end, &free_units, &f, [&](uintptr_t blk) -> unsigned {
        const uint64_t h = *reinterpret_cast<uint64_t*>(blk);
        const unsigned u = h & kUnitsMask;
        if ((h & kHdrMagicMask) != kHdrMagic || u == 0) {
          fail("(B1) allocated block without a valid header", reinterpret_cast<void*>(blk));
          return 0;
        }
        if ((h >> 32) == c->id + 1) ++mine;
        if (kc != nullptr && (h >> 32) != key && !(key_kmalloc && (h >> 32) == 0)) {
          fail("(B5) block of another owner in a keyed heap page", reinterpret_cast<void*>(blk));
        }
        return u;
      });
      if (b != end) fail("(B1) blocks do not tile the page", pg);
      if (f != nullptr) fail("(B2) free list out of address order or outside the page", pg);
      if (pg->inuse + free_units != pg->objects) fail("(B2) inuse + free units != objects", pg);
    }
  }
  if (mine != c->live_heap + c->nr_ctor_free) fail("(B4) heap blocks of the cache != live_heap + cached", s);
  // Own pages: headerless blocks of own_units each, tiled with the free blocks.
  unsigned long own_objs = 0;
  for (List* list : {&c->own, &c->own_full}) {
    if (!list->LinksConsistent()) fail("own page list links", list);
    for (ListNode* n = list->first(); n != nullptr && n != list->end(); n = n->next) {
      page* pg = internal::LruEntry(n);
      if ((pg->flags & PG_slab) == 0 || OwnCacheLocked(pg) != s || pg->objects != BlockBytes(pg) / kUnit ||
          c->own_units == 0) {
        fail("(B1) own page descriptor", pg);
        continue;
      }
      if (pg->inuse == 0 || pg->inuse > pg->objects) fail("(B2) own page inuse", pg);
      const uintptr_t palign = PageAlign(pg);
      if (palign < kUnit || !IsPowerOfTwo(palign) || c->own_align % palign != 0) {
        fail("(B5) own page alignment", pg);
        continue;
      }
      if ((list == &c->own_full) != (pg->inuse == pg->objects)) fail("(B3) own page on the wrong list", pg);
      const uintptr_t base = Base(pg);
      unsigned free_units = 0, used_units = 0;
      void* f = nullptr;
      const uintptr_t end = base + BlockBytes(pg);
      const uintptr_t b = walk_blocks(pg, end, &free_units, &f, [&](uintptr_t blk) -> unsigned {
        if ((blk - base) % palign != 0) fail("(B5) own object misaligned", reinterpret_cast<void*>(blk));
        ++own_objs;
        used_units += c->own_units;
        return c->own_units;
      });
      if (b != end) fail("(B1) blocks do not tile the own page", pg);
      if (f != nullptr) fail("(B2) free list out of address order or outside the own page", pg);
      if (pg->inuse != used_units || pg->inuse + free_units != pg->objects) fail("(B2) own page units", pg);
    }
  }
  if (own_objs != c->live_own) fail("(B4) own-page objects != live_own", s);
  if (c->live < c->live_heap + c->live_own) fail("(B4) live < live_heap + live_own", s);
  unsigned long cached = 0;
  for (uintptr_t* l = c->ctor_free; l != nullptr && cached <= c->nr_ctor_free; l = reinterpret_cast<uintptr_t*>(*l)) {
    ++cached;
  }
  if (cached != c->nr_ctor_free) fail("(B4) ctor list length", s);

  return ok;
}

}  // namespace mm::slob

#endif  // MM_SLOB_SLOB_IMPL_H_
