// BasicSlabSystem: out-of-line template definitions (included by
// basic_slab_system.h; lock order and invariants are documented there).
#ifndef MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_IMPL_H_
#define MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_IMPL_H_

namespace mm {

template <PageSource PS>
void BasicSlabSystem<PS>::SetupCache(kmem_cache* s, const char* name) {
  new (s) kmem_cache();
  size_t i = 0;
  for (; name[i] != '\0' && i + 1 < kCacheNameLen; ++i) s->name[i] = name[i];
  s->name[i] = '\0';
  s->refcount = 1;
}

template <PageSource PS>
int BasicSlabSystem<PS>::Init(PS& pages, const SlabConfig& cfg) {
  pages_ = &pages;
  if constexpr (LinearMemMap<PS>) {
    mem_map_ = pages.mem_map();
    ram_start_ = reinterpret_cast<uintptr_t>(pages.PageAddress(mem_map_));
    ram_bytes_ = static_cast<uint64_t>(pages.nr_pages()) << kPageShift;
  }
  cfg_ = cfg;
  kind_ = cfg.kind;
  caches_.Init();
  switch (kind_) {
    case AllocatorKind::kSlob:
      slob_.Init(&pages);
      break;
    case AllocatorKind::kSlub:
      slub_.Init(&pages, cfg.nr_cpus != 0 ? cfg.nr_cpus : platform::NumCpus());
      break;
    case AllocatorKind::kSlab:
      slab_.Init(&pages, cfg.nr_cpus != 0 ? cfg.nr_cpus : platform::NumCpus());
      break;
    default:
      Printk("slab: slab_allocator=%s is not built into this kernel\n", AllocatorKindName(cfg.kind));
      return -kEINVAL;
  }
  // The boot cache: kmem_cache objects, its own descriptor in this object.
  kmem_cache* boot = &boot_cache_;
  SetupCache(boot, "kmem_cache");
  slab_flags_t flags = SLAB_HWCACHE_ALIGN | DebugFlagsFor(cfg_, "kmem_cache");
  if (slab_debug::ComputeLayout(boot, sizeof(kmem_cache), alignof(kmem_cache), flags, nullptr) != 0 ||
      Dispatch([&](auto& a) { return a.InitCache(boot); }) != 0) {
    return -kENOMEM;
  }
  {
    SpinLockGuard guard(registry_lock_);
    caches_.PushFront(&boot->list);
  }
  up_ = true;
  for (unsigned k = 0; k < kNrKmallocClasses; ++k) {
    const KmallocClass& kc = kKmallocClasses[k];
    kmalloc_[k] = CreateCacheInternal(kc.name, kc.size, kc.align, SLAB_KMALLOC, nullptr, nullptr);
    if (kmalloc_[k] == nullptr) {
      Printk("slab: cannot create %s\n", kc.name);
      return -kENOMEM;
    }
  }
  return 0;
}

template <PageSource PS>
int BasicSlabSystem<PS>::Shutdown() {
  if (!up_) return 0;
  int result = 0;
  // Newest first: user caches, then kmalloc caches, then the boot cache.
  for (;;) {
    kmem_cache* s = nullptr;
    {
      SpinLockGuard guard(registry_lock_);
      for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
        kmem_cache* c = ContainerOf(n, &kmem_cache::list);
        if (c != &boot_cache_) {
          s = c;
          break;
        }
      }
      if (s == nullptr) break;
      List::Remove(&s->list);
    }
    if (Dispatch([&](auto& a) { return a.ShutdownCache(s); }) != 0) {
      result = -kEBUSY;
      continue;  // its memory stays; it is off the registry
    }
    Dispatch([&](auto& a) { a.Free(&boot_cache_, s, nullptr); });
  }
  if (Dispatch([&](auto& a) { return a.ShutdownCache(&boot_cache_); }) != 0) result = -kEBUSY;
  {
    SpinLockGuard guard(registry_lock_);
    if (boot_cache_.list.linked()) List::Remove(&boot_cache_.list);
  }
  for (auto& k : kmalloc_) k = nullptr;
  if (kind_ == AllocatorKind::kSlub) slub_.Shutdown();
  up_ = false;
  return result;
}

template <PageSource PS>
kmem_cache* BasicSlabSystem<PS>::CreateCacheInternal(const char* name, unsigned size,
                                                     unsigned align, slab_flags_t flags,
                                                     void (*ctor)(void*), const void* caller) {
  int err = -kEINVAL;
  kmem_cache* s = nullptr;
  if (!up_ || name == nullptr || name[0] == '\0' || size == 0 ||
      (flags & ~(SLAB_CREATE_MASK | SLAB_KMALLOC)) != 0) {
    goto fail;
  }
  s = static_cast<kmem_cache*>(
      Dispatch([&](auto& a) { return a.Alloc(&boot_cache_, GFP_KERNEL, caller); }));
  if (s == nullptr) {
    err = -kENOMEM;
    goto fail;
  }
  SetupCache(s, name);
  flags |= DebugFlagsFor(cfg_, s->name);
  err = slab_debug::ComputeLayout(s, size, align, flags, ctor);
  if (err == 0) err = Dispatch([&](auto& a) { return a.InitCache(s); });
  if (err != 0) {
    Dispatch([&](auto& a) { a.Free(&boot_cache_, s, caller); });
    goto fail;
  }
  {
    SpinLockGuard guard(registry_lock_);
    caches_.PushFront(&s->list);
  }
  return s;
fail:
  if (flags & SLAB_PANIC) {
    char buf[160];
    Format(buf, sizeof buf, "kmem_cache_create: Failed to create slab '%s'. Error %d",
           name != nullptr ? name : "(null)", err);
    PanicAt(__func__, __FILE__, __LINE__, buf);
  }
  Printk("kmem_cache_create(%s) failed with error %d\n", name != nullptr ? name : "(null)", err);
  return nullptr;
}

template <PageSource PS>
kmem_cache* BasicSlabSystem<PS>::CreateCache(const char* name, unsigned size, unsigned align,
                                             slab_flags_t flags, void (*ctor)(void*)) {
  if (flags & SLAB_KMALLOC) flags &= ~SLAB_KMALLOC;  // reserved for the kmalloc caches
  return CreateCacheInternal(name, size, align, flags, ctor, __builtin_return_address(0));
}

template <PageSource PS>
int BasicSlabSystem<PS>::DestroyCache(kmem_cache* s) {
  if (s == nullptr) return 0;
  if (s == &boot_cache_ || (s->flags & SLAB_KMALLOC) != 0) {
    Printk("kmem_cache_destroy %s: refusing to destroy a boot or kmalloc cache\n", s->name);
    return -kEINVAL;
  }
  const void* caller = __builtin_return_address(0);
  {
    SpinLockGuard guard(registry_lock_);
    if (Dispatch([&](auto& a) { return a.ShutdownCache(s); }) != 0) {
      Printk("kmem_cache_destroy %s: Slab cache still has objects when called from %p\n",
             s->name, caller);
      return -kEBUSY;
    }
    List::Remove(&s->list);
  }
  Dispatch([&](auto& a) { a.Free(&boot_cache_, s, caller); });
  return 0;
}

template <PageSource PS>
void* BasicSlabSystem<PS>::KmallocLarge(size_t size, gfp_t gfp) {
  if (size > kKmallocMaxSize) {
    if ((gfp & __GFP_NOWARN) == 0) {
      Printk("kmalloc: size %zu above KMALLOC_MAX_SIZE (%zu)\n", size, kKmallocMaxSize);
    }
    return nullptr;
  }
  const uint64_t nr = (size + kPageSize - 1) >> kPageShift;
  const unsigned order = Log2Ceil(nr);
  page* pg = pages_->AllocPages(gfp | __GFP_COMP, order, -1);
  if (pg == nullptr) return nullptr;
  if (nr != (uint64_t{1} << order) && order <= kKmallocExactMaxOrder) {
    // Linux's alloc_pages_exact, done in power-of-two pieces: the block is cut
    // into aligned compound chunks (the binary digits of nr, then whatever
    // aligned chunks fill the rest), the chunks past nr go back to the page
    // allocator, so a 9-page request holds 9 pages, not 16. The first page
    // records the count; the other chunk heads are marked so kfree refuses them.
    const uint64_t block = uint64_t{1} << order;
    ForEachExactChunk(nr, block, [&](uint64_t start, unsigned j) {
      PrepExactChunk(pg + start, j);
      if (start >= nr) {
        pages_->FreePages(pg + start, j);
      } else if (start != 0) {
        pg[start].private_ = kKmallocExactTail;
      }
    });
    pg->index = nr;
    pg->private_ = kKmallocExactMagic;
  }
  return pages_->PageAddress(pg);
}

template <PageSource PS>
void BasicSlabSystem<PS>::KfreeLarge(const void* p, page* pg) {
  if (pg == nullptr || pages_->PageAddress(pg) != p || pg->private_ == kKmallocExactTail) {
    Printk("kfree: invalid pointer %p: not a slab object nor the start of a kmalloc'ed page block\n",
           p);
    return;
  }
  if (uint64_t nr = ExactPages(pg)) {  // free_pages_exact, chunk by chunk
    pg->index = 0;
    ForEachExactChunk(nr, nr, [&](uint64_t start, unsigned j) {
      pg[start].private_ = 0;
      pages_->FreePages(pg + start, j);
    });
    return;
  }
  pages_->FreePages(pg, (pg->flags & PG_head) ? pg->order : 0);
}

template <PageSource PS>
size_t BasicSlabSystem<PS>::Ksize(const void* p) const {
  if (ZERO_OR_NULL_PTR(p)) return 0;
  page* pg = HeadPageOf(*pages_, p);
  if (pg == nullptr) return 0;
  if (pg->flags & PG_slab) {
    return const_cast<BasicSlabSystem*>(this)->Dispatch([&](auto& a) -> size_t {
      if constexpr (requires { a.Ksize(p, pg); }) {
        return a.Ksize(p, pg);
      } else {
        return pg->slab_cache->object_size;
      }
    });
  }
  if (uint64_t nr = ExactPages(pg)) return nr * kPageSize;
  return kPageSize << ((pg->flags & PG_head) ? pg->order : 0);
}

template <PageSource PS>
void* BasicSlabSystem<PS>::Krealloc(const void* p, size_t new_size, gfp_t gfp) {
  if (new_size == 0) {
    Kfree(p);
    return ZERO_SIZE_PTR;
  }
  if (ZERO_OR_NULL_PTR(p)) return Kmalloc(new_size, gfp);
  const size_t ks = Ksize(p);
  if (ks >= new_size) return const_cast<void*>(p);
  void* n = Kmalloc(new_size, gfp & ~__GFP_ZERO);
  if (n == nullptr) return nullptr;
  __builtin_memcpy(n, p, ks);
  if (gfp & __GFP_ZERO) __builtin_memset(static_cast<char*>(n) + ks, 0, Ksize(n) - ks);
  Kfree(p);
  return n;
}

template <PageSource PS>
void BasicSlabSystem<PS>::ShowSlabinfo(TextBuffer& out) {
  out.Put("slabinfo - version: 2.1\n");
  out.Put("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
          " : tunables <limit> <batchcount> <sharedfactor>"
          " : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    SlabInfo info;
    Dispatch([&](auto& a) { a.GetSlabinfo(s, &info); });
    out.Append("%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
               s->name, info.active_objs, info.num_objs, s->size, info.objects_per_slab,
               1 << info.cache_order, info.limit, info.batchcount, info.shared,
               info.active_slabs, info.num_slabs, info.shared_avail);
  }
}

template <PageSource PS>
void BasicSlabSystem<PS>::SlabPages(uint64_t* reclaimable, uint64_t* unreclaimable) {
  *reclaimable = *unreclaimable = 0;
  // SLOB's pages are shared by every cache and kmalloc: it counts them itself
  // (all unreclaimable: a page may hold objects of any cache).
  const bool whole = Dispatch([&](auto& a) {
    if constexpr (requires { a.PagesHeld(); }) {
      *unreclaimable = a.PagesHeld();
      return true;
    } else {
      return false;
    }
  });
  if (whole) return;
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    SlabInfo info;
    Dispatch([&](auto& a) { a.GetSlabinfo(s, &info); });
    const uint64_t pages = static_cast<uint64_t>(info.num_slabs) << info.cache_order;
    *((s->flags & SLAB_RECLAIM_ACCOUNT) ? reclaimable : unreclaimable) += pages;
  }
}

template <PageSource PS>
void BasicSlabSystem<PS>::OnCpuDead(unsigned cpu) {
  if (!up_ || cpu >= kMaxCpus) return;
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    Dispatch([&](auto& a) { a.FlushCpu(s, cpu); });
  }
}

template <PageSource PS>
void BasicSlabSystem<PS>::Reap() {
  if (!up_) return;
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    Dispatch([&](auto& a) {
      if constexpr (requires { a.Reap(s); }) a.Reap(s);
    });
  }
}

namespace internal {
// " %d" as sscanf reads it: optional white space, an optional sign, digits.
inline bool ScanInt(const char*& p, const char* end, long* out) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n')) ++p;
  bool neg = false;
  if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
  if (p >= end || *p < '0' || *p > '9') return false;
  long v = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    if (v < (1l << 40)) v = v * 10 + (*p - '0');
    ++p;
  }
  *out = neg ? -v : v;
  return true;
}
}  // namespace internal

template <PageSource PS>
int BasicSlabSystem<PS>::ProcWriteSlabinfo(const char* text, size_t len) {
  constexpr size_t kMaxWrite = 128;  // MAX_SLABINFO_WRITE
  if (len > kMaxWrite) return -kEINVAL;
  char name[kMaxWrite + 1];
  size_t i = 0;
  for (; i < len && text[i] != '\0' && text[i] != ' '; ++i) name[i] = text[i];
  if (i >= len || text[i] != ' ') return -kEINVAL;
  name[i] = '\0';
  const char* p = text + i + 1;
  const char* end = text + len;
  for (const char* q = p; q < end; ++q) {
    if (*q == '\0') end = q;
  }
  long limit, batch, shared;
  if (!internal::ScanInt(p, end, &limit) || !internal::ScanInt(p, end, &batch) ||
      !internal::ScanInt(p, end, &shared)) {
    return -kEINVAL;
  }
  if (kind_ != AllocatorKind::kSlab) return -kEIO;
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    size_t k = 0;
    while (s->name[k] != '\0' && s->name[k] == name[k]) ++k;
    if (s->name[k] != name[k]) continue;
    if (limit < 1 || batch < 1 || batch > limit || shared < 0) return 0;  // ignored, as Linux
    if (limit > 0xffff || shared > 0xffff) return -kEINVAL;
    return slab_.Tune(s, static_cast<unsigned>(limit), static_cast<unsigned>(batch),
                      static_cast<unsigned>(shared));
  }
  return -kEINVAL;
}

template <PageSource PS>
kmem_cache* BasicSlabSystem<PS>::FindCache(const char* name) {
  SpinLockGuard guard(registry_lock_);
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    size_t i = 0;
    while (s->name[i] != '\0' && s->name[i] == name[i]) ++i;
    if (s->name[i] == name[i]) return s;
  }
  return nullptr;
}

template <PageSource PS>
bool BasicSlabSystem<PS>::CheckInvariants() {
  if (!up_) return true;
  bool ok = true;
  SpinLockGuard guard(registry_lock_);
  if (!caches_.LinksConsistent()) {
    Printk("slab: registry list corrupt\n");
    return false;
  }
  bool boot_seen = false;
  unsigned kmalloc_seen = 0;
  for (ListNode* n = caches_.first(); n != nullptr && n != caches_.end(); n = n->next) {
    kmem_cache* s = ContainerOf(n, &kmem_cache::list);
    if (s == &boot_cache_) boot_seen = true;
    for (unsigned k = 0; k < kNrKmallocClasses; ++k) {
      if (kmalloc_[k] == s) {
        ++kmalloc_seen;
        if (s->object_size != kKmallocClasses[k].size) {
          Printk("slab: %s has object_size %u\n", s->name, s->object_size);
          ok = false;
        }
      }
    }
    if (s->size % s->align != 0 || s->red_left_pad % s->align != 0 || s->inuse > s->size ||
        s->object_size > s->inuse) {
      Printk("slab: %s: bad layout\n", s->name);
      ok = false;
    }
    if (!Dispatch([&](auto& a) { return a.CheckCache(s); })) ok = false;
  }
  if (!boot_seen || kmalloc_seen != kNrKmallocClasses) {
    Printk("slab: registry lacks the boot cache or a kmalloc cache\n");
    ok = false;
  }
  return ok;
}

}  // namespace mm

#endif  // MM_SLAB_COMMON_BASIC_SLAB_SYSTEM_IMPL_H_
