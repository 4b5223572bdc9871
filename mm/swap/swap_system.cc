// SwapSystem: swap cache, reclaim, kswapd, workingset, PSI, OOM killer.
// Lock order, invariants and where reclaim may run: swap_system.h.
#include "mm/swap/swap_system.h"

#include <new>

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/base/string_util.h"
#include "mm/platform/platform.h"
#include "mm/swap/simulator.h"

namespace mm {

using swap::PolicyKind;
using swap::Reference;
using swap::SwapDevice;
using swap::SwapKind;

namespace {

constexpr gfp_t kSwapInGfp = GFP_NOWAIT | __GFP_NOWARN;  // vm_lock held: no reclaim, no reserves
constexpr gfp_t kReadaheadGfp = GFP_NOWAIT | __GFP_NOWARN;
constexpr uint64_t kFakeBase = uint64_t{1} << 62;        // page ids no pfn reaches
constexpr uint8_t kUntracked = 0, kPending = 1, kActive = 2, kInactive = 3;

template <typename... P>
constexpr size_t MaxSizeOf() {
  size_t m = 0;
  ((m = sizeof(P) > m ? sizeof(P) : m), ...);
  return m;
}

// Allocates `pages` physically contiguous pages (any count) from the buddy
// allocator: one block when it fits an order, else adjacent max-order blocks.
// Returns the first page or nullptr; *blocks and *order describe what to free.
struct BigAlloc {
  page* first = nullptr;
  unsigned order = 0;
  unsigned blocks = 0;
};

bool AllocBig(BuddyAllocator& buddy, uint64_t pages, BigAlloc* out) {
  const unsigned order = Log2Ceil(pages);
  if (order <= kMaxPageOrder) {
    out->first = buddy.AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, order);
    out->order = order;
    out->blocks = 1;
    return out->first != nullptr;
  }
  const uint64_t per = uint64_t{1} << kMaxPageOrder;
  const unsigned need = static_cast<unsigned>((pages + per - 1) / per);
  constexpr unsigned kTries = 64;
  page* got[kTries];
  unsigned n = 0;
  bool ok = false;
  unsigned run_start = 0;
  while (n < kTries && !ok) {
    got[n] = buddy.AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, kMaxPageOrder);
    if (got[n] == nullptr) break;
    ++n;
    // Look for `need` blocks in got[] forming one ascending run.
    for (unsigned i = 0; i < n && !ok; ++i) {
      unsigned len = 1;
      Pfn next = buddy.PageToPfn(got[i]) + per;
      for (bool grew = true; grew && len < need;) {
        grew = false;
        for (unsigned j = 0; j < n; ++j) {
          if (buddy.PageToPfn(got[j]) == next) {
            ++len;
            next += per;
            grew = true;
          }
        }
      }
      if (len >= need) {
        ok = true;
        run_start = i;
      }
    }
  }
  if (!ok) {
    for (unsigned i = 0; i < n; ++i) buddy.FreePages(got[i], kMaxPageOrder);
    return false;
  }
  const Pfn lo = buddy.PageToPfn(got[run_start]);
  for (unsigned i = 0; i < n; ++i) {
    const Pfn p = buddy.PageToPfn(got[i]);
    if (p < lo || p >= lo + need * per) buddy.FreePages(got[i], kMaxPageOrder);
  }
  out->first = got[run_start];
  out->order = kMaxPageOrder;
  out->blocks = need;
  return true;
}

void FreeBig(BuddyAllocator& buddy, const BigAlloc& a) {
  for (unsigned i = 0; i < a.blocks; ++i)
    buddy.FreePages(buddy.PfnToPage(buddy.PageToPfn(a.first) + (uint64_t{i} << a.order)), a.order);
}

}  // namespace

// One node's LRU, driven by a replacement policy the way a cache simulator
// drives it: the policy (inside a Simulator<P>) manages a resident set of C
// "active" slots; a page the policy evicts from that set goes to the tail of
// the inactive list (still in memory), and reclaim swaps out from the head of
// the inactive list. A new anonymous page is a miss (a load), a referenced
// page (A bit seen by aging) a hit, a referenced inactive page a miss again
// (activation). When reclaim needs more inactive pages than the policy has
// evicted, it feeds the policy misses of filler page ids (no pfn reaches them)
// so that the policy chooses what to deactivate. C is set from the anonymous
// population when reclaim first runs and reset when that population drifts
// far from it (the simulator is rebuilt).
//
// Invariants (CheckInvariants): state[f] is kUntracked, kPending (tracked,
// no simulator yet), kActive (in the simulator as page pfn) or kInactive (on
// the inactive list, exactly once); nr_tracked == |{f : state[f] !=
// kUntracked}|; nr_inactive == |inactive list|; the simulator holds exactly
// the kActive frames plus fillers; a tracked frame held an anonymous page
// when last scanned.
struct SwapSystem::NodeLru {
  static constexpr uint32_t kNil = ~0u;
  int nid = 0;
  Pfn start = 0;
  uint32_t frames = 0;
  uint32_t max_c = 0;  // the largest active set the arena has room for
  PolicyKind kind = swap::kDefaultPolicy;
  void* sim = nullptr;  // Simulator<P>*, built lazily in sim_mem
  uint32_t sim_frames = 0;
  std::span<std::byte> sim_mem;
  uint8_t* state = nullptr;
  uint16_t* last_ref = nullptr;  // aging pass (mod 2^16) that last saw frame f referenced
  uint16_t pass = 1;             // aging passes so far (mod 2^16)
  uint32_t* next = nullptr;  // the inactive list, by frame
  uint32_t* prev = nullptr;
  uint32_t head = kNil, tail = kNil;
  uint64_t nr_inactive = 0;
  uint32_t hand = 0;
  uint64_t nr_tracked = 0;
  uint64_t fake_next = 0;
  BigAlloc mem;
  // The node's LRU-change events (anon NodeLru only): frames the VM reported
  // through SwapHooks::lru_change since the last ScanNode (a per-node
  // lru_add pagevec). On overflow, or before the first scan, `rescan` asks
  // for a scan of every frame instead.
  SpinLock events_lock;
  uint32_t* events = nullptr;
  uint32_t nr_events = 0;
  bool rescan = true;

  template <typename F>
  void Visit(F&& f) {
    swap::VisitPolicy(kind, [&]<typename P>() { f(*static_cast<swap::Simulator<P>*>(sim)); });
  }
  static size_t SimBytes(PolicyKind kind, uint32_t frames) {
    size_t n = 0;
    swap::VisitPolicy(kind, [&]<typename P>() {
      n = sizeof(swap::Simulator<P>) + 64 + swap::Simulator<P>::RequiredBytes(frames);
    });
    return n;
  }
  void DestroySim() {
    if (sim == nullptr) return;
    Visit([](auto& s) {
      using S = std::remove_reference_t<decltype(s)>;
      s.~S();
    });
    sim = nullptr;
  }
  void ListAdd(uint32_t f) {
    next[f] = kNil;
    prev[f] = tail;
    if (tail != kNil) next[tail] = f; else head = f;
    tail = f;
    ++nr_inactive;
  }
  void ListDel(uint32_t f) {
    if (prev[f] != kNil) next[prev[f]] = next[f]; else head = next[f];
    if (next[f] != kNil) prev[next[f]] = prev[f]; else tail = prev[f];
    --nr_inactive;
  }
  void Evicted(const swap::AccessResult& r) {
    if (!r.evicted || r.victim >= kFakeBase) return;
    const uint32_t f = static_cast<uint32_t>(r.victim - start);
    state[f] = kInactive;
    ListAdd(f);
  }
  // Frame f's page enters the policy's set (a miss).
  void Admit(uint32_t f) {
    state[f] = kActive;
    Visit([&](auto& s) { Evicted(s.Access(Reference{start + f})); });
  }
  // (Re)builds the simulator with C slots and admits every tracked page.
  void Build(uint32_t c) {
    DestroySim();
    swap::VisitPolicy(kind, [&]<typename P>() {
      using S = swap::Simulator<P>;
      std::byte* obj = reinterpret_cast<std::byte*>(
          AlignUp(reinterpret_cast<uintptr_t>(sim_mem.data()), 64));
      sim = new (obj) S(c, sim_mem.subspan(sizeof(S) + 64, S::RequiredBytes(c)));
    });
    sim_frames = c;
    head = tail = kNil;
    nr_inactive = 0;
    for (uint32_t f = 0; f < frames; ++f)
      if (state[f] != kUntracked) Admit(f);
  }
  void Track(uint32_t f) {
    ++nr_tracked;
    if (sim == nullptr) {
      state[f] = kPending;
    } else {
      Admit(f);
    }
  }
  void Untrack(uint32_t f) {
    if (state[f] == kActive) Visit([&](auto& s) { s.Remove(start + f); });
    if (state[f] == kInactive) ListDel(f);
    state[f] = kUntracked;
    --nr_tracked;
  }
  void Referenced(uint32_t f) {
    if (state[f] == kActive) {
      Visit([&](auto& s) { s.Access(Reference{start + f}); });
    } else if (state[f] == kInactive) {
      ListDel(f);
      Admit(f);  // activation
    }
  }
  // Asks the policy to deactivate pages until `want` are inactive: a filler
  // page is loaded (a miss: the policy evicts its choice) and referenced
  // again at once, so it stays and takes a slot for good. (Referenced twice,
  // LIRS and CLOCK-Pro make it hot and demote their coldest hot page, which
  // a later miss then evicts; recency policies just keep it.) The active set
  // shrinks by one slot per filler until ScanNode resizes it.
  void Deactivate(uint64_t want) {
    for (uint64_t budget = 2 * want + sim_frames; nr_inactive < want && budget > 0; --budget) {
      const Reference filler{kFakeBase + fake_next++};
      Visit([&](auto& s) {
        Evicted(s.Access(filler));
        s.Access(filler);
      });
    }
  }
};

// ---------------------------------------------------------------- init

int SwapSystem::Init(BuddyAllocator& buddy, SlabSystem& slab, VmSystem& vm,
                     const swap::SwapConfig& cfg, const swap::SwapHostOps* host) {
  buddy_ = &buddy;
  slab_ = &slab;
  vm_ = &vm;
  cfg_ = cfg;
  policy_kind_ = cfg.policy;
  int err = 0;
  // Devices.
  const swap::Compressor* comp = nullptr;
  if (host != nullptr) {
    for (int i = 0; i < host->nr_compressors; ++i)
      if (StrEq(host->compressors[i].name, cfg.zram_comp)) comp = &host->compressors[i];
  }
  bool bad_level = false;
  if (comp != nullptr) {
    // algorithm_params: the boot word checked 1..kMaxCompLevel; the chosen
    // algorithm's own range is known only now (Linux fails the device's
    // initialisation when its backend refuses the parameters).
    zram_comp_ = *comp;
    if (cfg.zram_level != 0) {
      if (cfg.zram_level > comp->max_level) {
        Printk("zram: algorithm_params level=%d out of range for %s (1..%d)\n", cfg.zram_level,
               comp->name, comp->max_level);
        bad_level = true;
      }
      zram_comp_.level = cfg.zram_level;
    }
    comp = &zram_comp_;
  }
  int next_auto_prio = -2;
  int nr_zram = 0;
  for (int i = 0; i < cfg.nr_devices && err == 0; ++i) {
    const swap::SwapDeviceConfig& d = cfg.devices[i];
    const int prio = d.prio != swap::kNoPrio ? d.prio : next_auto_prio--;
    if (d.kind == SwapKind::kFile) {
      err = devices_[i].InitFile(buddy, host != nullptr ? host->files : nullptr, d.path, d.bytes,
                                 prio, i);
    } else {
      if (comp == nullptr) Printk("zram: comp_algorithm %s not available\n", cfg.zram_comp);
      err = bad_level ? -kEINVAL : devices_[i].InitZram(buddy, slab, comp, d.bytes, prio, i);
      ++nr_zram;
    }
    if (err == 0) {
      err = shadow_[i].Init(buddy, devices_[i].nr_slots());
      nr_devices_ = i + 1;
    } else {
      devices_[i].Shutdown();
    }
    (void)nr_zram;
  }
  // Swap cache table.
  if (err == 0) {
    // Every page in the swap cache is resident: room for a quarter of RAM
    // (within bounds; ~12 bytes per RAM page at most). A shared page swapped
    // in stays shared until its last sharer faults while the cache has room.
    const uint64_t ram = buddy.TotalRamPages() / 4;
    cache_max_ = static_cast<uint32_t>(ram < kSwapCacheMin ? kSwapCacheMin
                                       : ram > kSwapCacheMax ? kSwapCacheMax : ram);
    const size_t bytes = swap::PageMap::RequiredBytes(cache_max_) + 64;
    cache_order_ = Log2Ceil((bytes + kPageSize - 1) / kPageSize);
    cache_mem_ = buddy.AllocPages(GFP_KERNEL | __GFP_NOWARN, cache_order_);
    if (cache_mem_ == nullptr) {
      err = -kENOMEM;
    } else {
      SpinLockGuard g(lock_);
      swap::Arena arena({static_cast<std::byte*>(buddy.PageAddress(cache_mem_)), kPageSize << cache_order_});
      cache_.Init(cache_max_, arena);
    }
  }
  // Per-node LRUs, anon and file: the node's frames, the inactive list and
  // room for a simulator over all of them (the largest C it may be rebuilt with).
  for (unsigned i = 0; err == 0 && i < 2 * buddy.nr_nodes(); ++i) {
    const unsigned nid = i / 2;
    const LruKind kind = i % 2 == 0 ? kAnonLru : kFileLru;
    const Node& node = buddy.node(static_cast<int>(nid));
    const uint32_t frames = static_cast<uint32_t>(node.spanned_pages);
    // Each of the two LRUs' policies gets room for an active set of half the
    // node (anon + file pages never exceed it; C is 3/4 of a list's pages,
    // capped there), so the two cost what one sized for the node would.
    const uint32_t max_c = frames / 2 > 64 ? frames / 2 : (frames < 64 ? frames : 64);
    const size_t sim_bytes = NodeLru::SimBytes(cfg.policy, max_c);
    const size_t total =
        sizeof(NodeLru) + 64 + sim_bytes + 64 + frames * 11 + kLruEvents * 4 + 128;
    BigAlloc mem;
    if (!AllocBig(buddy, (total + kPageSize - 1) / kPageSize, &mem)) {
      Printk("swap: no room for node %u's %s LRU (%zu bytes)\n", nid,
             kind == kAnonLru ? "anon" : "file", total);
      err = -kENOMEM;
      break;
    }
    swap::Arena arena({static_cast<std::byte*>(buddy.PageAddress(mem.first)),
                       (uint64_t{mem.blocks} << mem.order) * kPageSize});
    NodeLru* lru = new (arena.Take<NodeLru>(0)) NodeLru();
    arena.TakeBytes(sizeof(NodeLru));
    lru->nid = static_cast<int>(nid);
    lru->start = node.start_pfn;
    lru->frames = frames;
    lru->max_c = max_c;
    lru->kind = cfg.policy;
    lru->mem = mem;
    lru->sim_mem = arena.TakeBytes(sim_bytes);
    lru->state = arena.Take<uint8_t>(frames);
    lru->last_ref = arena.Take<uint16_t>(frames);
    lru->next = arena.Take<uint32_t>(frames);
    lru->prev = arena.Take<uint32_t>(frames);
    lru->events = arena.Take<uint32_t>(kLruEvents);
    lrus_[kind][nid] = lru;
  }
  if (err != 0) {
    Shutdown();
    return err;
  }
  // Hooks and kswapd.
  hooks_.context = this;
  hooks_.swap_in = &HookSwapIn;
  hooks_.swap_dup = &HookSwapDup;
  hooks_.swap_free = &HookSwapFree;
  hooks_.reclaim = &HookFaultReclaim;
  hooks_.out_of_memory = &HookFaultOom;
  hooks_.file_refault = &HookFileRefault;
  hooks_.lru_change = &HookLruChange;
  vm.SetSwapHooks(&hooks_);
  ReclaimHooks rh;
  rh.context = this;
  rh.wake_kswapd = &HookWakeKswapd;
  rh.direct_reclaim = &HookDirectReclaim;
  buddy.SetReclaimHooks(rh);
  initialized_ = true;
  psi_last_ns_ = platform::NowNs();
  if (cfg.kswapd_thread) kswapd_thread_ = platform::StartThread(&KswapdMain, this);
  return 0;
}

void SwapSystem::StopKswapd() {
  if (kswapd_thread_ != 0) {
    kswapd_stop_.store(true, std::memory_order_release);
    WakeKswapd();
    platform::JoinThread(kswapd_thread_);
    kswapd_thread_ = 0;
  }
  if (buddy_ != nullptr) buddy_->SetReclaimHooks(ReclaimHooks{});
}

void SwapSystem::Shutdown() {
  StopKswapd();
  if (initialized_) vm_->SetSwapHooks(nullptr);
  // Swap cache pages.
  if (cache_mem_ != nullptr) {
    SpinLockGuard g(lock_);
    for (uint32_t i = 0; i < cache_.capacity(); ++i) {
      const swap::PageId key = cache_.KeyAt(i);
      if (key == swap::PageMap::kEmptyKey) continue;
      page* p = buddy_->PfnToPage(buddy_->start_pfn() + cache_.ValueAt(i));
      p->flags &= ~(PG_swapcache | PG_dirty | PG_writeback);
      p->private_ = 0;
      buddy_->PutPage(p);
    }
    buddy_->FreePages(cache_mem_, cache_order_);
    cache_mem_ = nullptr;
    cache_pages_.store(0, std::memory_order_relaxed);
  }
  for (auto& per_kind : lrus_) {
    for (NodeLru*& lru : per_kind) {
      if (lru == nullptr) continue;
      lru->DestroySim();
      const BigAlloc mem = lru->mem;
      lru->~NodeLru();
      FreeBig(*buddy_, mem);
      lru = nullptr;
    }
  }
  for (int i = 0; i < nr_devices_; ++i) {
    shadow_[i].Destroy();
    devices_[i].Shutdown();
  }
  nr_devices_ = 0;
  initialized_ = false;
}

// ---------------------------------------------------------------- swap cache

page* SwapSystem::CacheLookup(pte_t entry) {
  const uint32_t v = cache_.Find(entry);
  return v == swap::PageMap::kNotFound ? nullptr : buddy_->PfnToPage(buddy_->start_pfn() + v);
}

bool SwapSystem::CacheInsert(pte_t entry, page* p) {
  if (cache_.size() >= cache_max_) return false;
  cache_.Insert(entry, static_cast<uint32_t>(buddy_->PageToPfn(p) - buddy_->start_pfn()));
  buddy_->GetPage(p);  // the cache's reference
  p->flags |= PG_swapcache;
  p->private_ = entry;
  cache_pages_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SwapSystem::CacheErase(pte_t entry) {
  page* p = CacheLookup(entry);
  if (p == nullptr) return;
  cache_.Erase(entry);
  p->flags &= ~(PG_swapcache | PG_dirty | PG_writeback);
  p->private_ = 0;
  cache_pages_.fetch_sub(1, std::memory_order_relaxed);
  buddy_->PutPage(p);  // the cache's reference (a mapped page stays)
}

// Reclaim's hold on a page: one reference and PG_locked, both under vm_lock
// so the VM's exact refcount check sees them together.
bool SwapSystem::Pin(page* p, LruKind kind) {
  SpinLockGuard vg(vm_->lock());
  if (!OfKind(p, kind) || (p->flags & PG_locked)) return false;
  buddy_->GetPage(p);
  p->flags |= PG_locked;
  return true;
}

void SwapSystem::UnpinLocked(page* p) {
  p->flags &= ~PG_locked;
  buddy_->PutPage(p);
}

void SwapSystem::Unpin(page* p) {
  SpinLockGuard vg(vm_->lock());
  UnpinLocked(p);
}

// The LRU a page belongs on, read under vm_lock: a mapped anonymous page
// (in the swap cache or not), or an evictable page-cache page.
bool SwapSystem::OfKind(const page* p, LruKind kind) {
  if (p == nullptr) return false;
  if (kind == kFileLru) return vm_->EvictableFilePageLocked(p);
  return ((p->flags & (PG_anon | PG_slab | PG_buddy | PG_pcp)) == PG_anon && p->mapping != nullptr &&
          p->_mapcount.load(std::memory_order_relaxed) > 0) ||
         vm_->ShmemPageLocked(p);  // shmem: swap-backed, on the anon LRU as in Linux
}

// ---------------------------------------------------------------- hooks

int SwapSystem::HookSwapIn(void* ctx, pte_t entry, page** out, bool* exclusive) {
  return static_cast<SwapSystem*>(ctx)->SwapIn(entry, out, exclusive);
}
void SwapSystem::HookSwapDup(void* ctx, pte_t entry) {
  auto* s = static_cast<SwapSystem*>(ctx);
  const unsigned type = SwapPteType(entry);
  if (static_cast<int>(type) < s->nr_devices_) s->devices_[type].Dup(SwapPteOffset(entry));
}
void SwapSystem::HookSwapFree(void* ctx, pte_t entry) {
  static_cast<SwapSystem*>(ctx)->SwapFreeEntry(entry);
}
uint64_t SwapSystem::HookFaultReclaim(void* ctx) {
  return static_cast<SwapSystem*>(ctx)->FaultReclaim();
}
int SwapSystem::HookFaultOom(void* ctx) {
  auto* s = static_cast<SwapSystem*>(ctx);
  bool full = s->nr_devices_ > 0;
  for (int i = 0; i < s->nr_devices_; ++i) full &= s->devices_[i].free_pages() == 0;
  if (full) Printk("swap: all swap devices are full; reclaim cannot free memory\n");
  return s->OutOfMemory("page fault");
}

// A file page comes back: its refault distance (evictions since it left)
// against the resident LRU pages decides whether it was part of the working
// set (mm/workingset.c's rule). vm_lock held: counters only.
void SwapSystem::HookFileRefault(void* ctx, uint64_t shadow) {
  auto* s = static_cast<SwapSystem*>(ctx);
  s->ws_refault_file_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t distance = s->nonresident_age_.load(std::memory_order_relaxed) - shadow;
  uint64_t workingset = s->active_file_.load() + s->inactive_file_.load();
  if (s->nr_devices_ > 0) workingset += s->active_anon_.load() + s->inactive_anon_.load();
  if (distance <= workingset) {
    s->ws_activate_file_.fetch_add(1, std::memory_order_relaxed);
    s->ws_restore_file_.fetch_add(1, std::memory_order_relaxed);
  }
}

// lru_cache_add (and its undo), vm_lock held: note the frame for the next
// ScanNode of its node.
void SwapSystem::HookLruChange(void* ctx, page* p) {
  auto* s = static_cast<SwapSystem*>(ctx);
  if (p->node >= kMaxNodes) return;
  NodeLru* lru = s->lrus_[kAnonLru][p->node];
  if (lru == nullptr) return;
  const Pfn pfn = s->buddy_->PageToPfn(p);
  if (pfn < lru->start || pfn - lru->start >= lru->frames) return;
  SpinLockGuard g(lru->events_lock);
  if (lru->nr_events < kLruEvents) {
    lru->events[lru->nr_events++] = static_cast<uint32_t>(pfn - lru->start);
  } else {
    lru->rescan = true;
  }
}

void SwapSystem::SwapFreeEntry(pte_t entry) {
  const unsigned type = SwapPteType(entry);
  if (static_cast<int>(type) >= nr_devices_) return;
  SwapDevice& dev = devices_[type];
  const uint64_t slot = SwapPteOffset(entry);
  SpinLockGuard g(lock_);
  const uint32_t left = dev.Free(slot);
  if (left == 0) shadow_[type][slot] = 0;  // the slot is free: no refault to see
  if (left != 1) return;
  // Only the swap cache still refers to the slot: the cache lets go of the
  // page (which stays mapped where it is; a page under write-back is left to
  // the reclaimer writing it).
  page* p = CacheLookup(entry);
  if (p == nullptr || (p->flags & PG_writeback)) return;
  CacheErase(entry);
  dev.Free(slot);
}

int SwapSystem::SwapIn(pte_t entry, page** out, bool* exclusive) {
  const unsigned type = SwapPteType(entry);
  if (static_cast<int>(type) >= nr_devices_) return -kEINVAL;
  SwapDevice& dev = devices_[type];
  const uint64_t slot = SwapPteOffset(entry);
  const uint64_t t0 = platform::NowNs();
  SpinLockGuard g(lock_);
  // Refault distance: evictions since this page left, against the resident
  // anonymous set; within it, the page was part of the working set.
  const uint32_t shadow = shadow_[type][slot];
  shadow_[type][slot] = 0;
  bool thrashing = false;
  if (shadow != 0) {
    ws_refault_.fetch_add(1, std::memory_order_relaxed);
    const uint32_t distance = static_cast<uint32_t>(nonresident_age_.load()) - shadow;
    if (distance <= active_anon_.load() + inactive_anon_.load()) {
      ws_activate_.fetch_add(1, std::memory_order_relaxed);
      ws_restore_.fetch_add(1, std::memory_order_relaxed);
      thrashing = true;
    }
  }
  page* cp = CacheLookup(entry);
  if (cp != nullptr) {
    // The swap cache's page, maybe mapped by former sharers already: the
    // fault maps this same page (do_swap_page's swapcache hit).
    swap_ra_hit_.fetch_add(1, std::memory_order_relaxed);
    buddy_->GetPage(cp);
    *exclusive = !(cp->flags & PG_writeback) && dev.Count(slot) == 2 &&
                 cp->_mapcount.load(std::memory_order_relaxed) == 0;
    *out = cp;
    return 0;
  }
  page* np = buddy_->AllocPages(kSwapInGfp, 0);
  if (np == nullptr) return -kENOMEM;
  if (dev.ReadPage(slot, buddy_->PageAddress(np)) != 0) {
    buddy_->PutPage(np);
    return -kEIO;
  }
  pswpin_.fetch_add(1, std::memory_order_relaxed);
  if (CacheInsert(entry, np)) {
    dev.Dup(slot);  // the cache's slot reference
    *exclusive = dev.Count(slot) == 2;
  } else {
    *exclusive = dev.Count(slot) == 1;  // cache full: a private page
  }
  Readahead(static_cast<int>(type), slot);
  *out = np;
  if (thrashing) {
    const uint64_t us = (platform::NowNs() - t0) / 1000 + 1;
    psi_some_us_.fetch_add(us, std::memory_order_relaxed);
  }
  return 0;
}

void SwapSystem::Readahead(int type, uint64_t slot) {
  SwapDevice& dev = devices_[type];
  if (NodeBelow(-1, WMARK_HIGH)) return;  // no readahead under pressure
  for (uint64_t s = slot + 1; s < slot + kReadahead && s < dev.nr_slots(); ++s) {
    const uint32_t c = dev.Count(s);
    if (c == 0 || c >= SwapDevice::kSwapMapMax) continue;
    const pte_t e = MakeSwapPte(static_cast<unsigned>(type), s);
    if (CacheLookup(e) != nullptr || cache_.size() >= cache_max_) continue;
    page* p = buddy_->AllocPages(kReadaheadGfp, 0);
    if (p == nullptr) return;
    if (dev.ReadPage(s, buddy_->PageAddress(p)) != 0) {
      buddy_->PutPage(p);
      continue;
    }
    dev.Dup(s);
    CacheInsert(e, p);
    buddy_->PutPage(p);  // the cache's reference remains
    swap_ra_.fetch_add(1, std::memory_order_relaxed);
  }
}

void SwapSystem::HookWakeKswapd(void* ctx, int, unsigned) {
  auto* s = static_cast<SwapSystem*>(ctx);
  if (s->kswapd_thread_ != 0) s->WakeKswapd();
}

uint64_t SwapSystem::HookDirectReclaim(void* ctx, gfp_t, unsigned order, int nid) {
  auto* s = static_cast<SwapSystem*>(ctx);
  // Reclaim needs vm_lock; the VM allocates with it held. Only reclaim when it
  // is free (then it is not ours).
  if (!s->vm_->lock().TryLock()) {
    // Maybe ours: only what needs no VM call, the clean swap-cache pages.
    if (!s->reclaim_lock_.TryLock()) return 0;
    const uint64_t freed = s->ShrinkSwapCache(kSwapClusterMax << order);
    s->reclaim_lock_.Unlock();
    return freed;
  }
  s->vm_->lock().Unlock();
  s->allocstall_.fetch_add(1, std::memory_order_relaxed);
  return s->ReclaimPages(kSwapClusterMax << order, nid);
}

// ---------------------------------------------------------------- reclaim

bool SwapSystem::NodeBelow(int nid, int mark) {
  for (unsigned n = 0; n < buddy_->nr_nodes(); ++n) {
    if (nid >= 0 && static_cast<unsigned>(nid) != n) continue;
    const Node& node = buddy_->node(static_cast<int>(n));
    uint64_t free = 0, wm = 0;
    for (const Zone& z : node.zones) {
      if (!z.populated) continue;
      free += z.nr_free.get();
      wm += mark == kMarkMid ? (z.watermark[WMARK_MIN] + z.watermark[WMARK_LOW]) / 2
                             : z.watermark[mark];
    }
    if (free < wm) return true;
  }
  return false;
}

pte_t SwapSystem::AllocSwapEntryLocked() {
  for (int tries = 0; tries < 2; ++tries) {
    int best = -1;
    for (int k = 0; k < nr_devices_; ++k) {
      const int i = (rr_next_ + k) % nr_devices_;
      if (devices_[i].free_pages() == 0) continue;
      if (best < 0 || devices_[i].prio() > devices_[best].prio()) best = i;
    }
    if (best < 0) return 0;
    uint64_t slot;
    if (devices_[best].AllocSlots(&slot, 1) == 1) {
      rr_next_ = (best + 1) % nr_devices_;
      return MakeSwapPte(static_cast<unsigned>(best), slot);
    }
  }
  return 0;
}

// add_to_swap (vm_lock and swap_lock held): a fresh slot, and p in the swap
// cache under it with PG_writeback, in one swap_lock section. A slot that
// is counted but neither cached nor written is never visible: Readahead
// (swap_lock) would take it for a swapped-out page, read it (zeros) into
// the swap cache, and this insertion would then be a duplicate. Returns the
// entry, or 0 with *err = -ENOSPC (no free slot) or 0 (the cache is full).
pte_t SwapSystem::AddToSwapCacheLocked(page* p, int* err) {
  const pte_t entry = AllocSwapEntryLocked();
  if (entry == 0) {
    *err = -kENOSPC;
    return 0;
  }
  if (!CacheInsert(entry, p)) {
    devices_[SwapPteType(entry)].Free(SwapPteOffset(entry));
    *err = 0;
    return 0;
  }
  p->flags |= PG_writeback;
  return entry;
}

// A swap write failed (vm_lock and swap_lock held): the page stays in the
// swap cache, intact (PG_dirty: its data is not on the device); faults map
// it from there and ShrinkSwapCache retries the write. Unpins it.
void SwapSystem::KeepAfterFailedWrite(page* p, SwapDevice& dev, uint64_t slot, int err) {
  p->flags |= PG_dirty;
  swap_fail_.fetch_add(1, std::memory_order_relaxed);
  Printk("swap: write to %s slot %llu failed (%d): page kept in the swap cache\n", dev.name(),
         static_cast<unsigned long long>(slot), err);
  UnpinLocked(p);
}

// Swaps one anonymous page out. p is pinned (Pin) and unpinned here. A page
// already in the swap cache (swapped in while shared and mapped again,
// read-only) keeps its entry and is written only when its data is not on
// the device. Returns 1 when the page was freed, 0 when it stays, -ENOSPC.
int SwapSystem::SwapOutPage(page* p) {
  pte_t entry = 0;
  bool reuse = false;
  int reserved = 0;
  bool shmem = false;
  {
    SpinLockGuard vg(vm_->lock());
    SpinLockGuard g(lock_);
    if (!OfKind(p, kAnonLru) || (p->flags & PG_writeback)) {
      UnpinLocked(p);
      return 0;
    }
    shmem = vm_->ShmemPageLocked(p);
    if (!shmem && (p->flags & PG_swapcache)) {
      entry = p->private_;
      reuse = true;
      p->flags |= PG_writeback;
      reserved = p->_mapcount.load(std::memory_order_relaxed) + 8;
    }
  }
  ReclaimStep();
  if (shmem) return SwapOutShmemPage(p);
  if (!reuse) {
    SpinLockGuard vg(vm_->lock());
    SpinLockGuard g(lock_);
    int err = 0;
    if (!OfKind(p, kAnonLru) || (p->flags & PG_swapcache) ||
        (entry = AddToSwapCacheLocked(p, &err)) == 0) {
      UnpinLocked(p);
      return err;
    }
    // Every PTE UnmapAnonPage rewrites holds a slot reference, and a fault
    // may drop one as soon as it is there: take them first (with room for
    // a fork in between) and give back what was not used.
    reserved = p->_mapcount.load(std::memory_order_relaxed) + 8;
  }
  ReclaimStep();
  const unsigned type = SwapPteType(entry);
  const uint64_t slot = SwapPteOffset(entry);
  SwapDevice& dev = devices_[type];
  for (int k = 0; k < reserved; ++k) dev.Dup(slot);
  bool dirty = false;
  const int n = vm_->UnmapAnonPage(p, entry, &dirty);
  for (int k = reserved; k < n; ++k) dev.Dup(slot);  // more sharers than reserved (racy fork)
  for (int k = n < 0 ? 0 : n; k < reserved; ++k) dev.Free(slot);
  ReclaimStep();
  bool need_write;
  {
    SpinLockGuard vg(vm_->lock());
    SpinLockGuard g(lock_);
    if (n <= 0) {  // nothing mapped it any more
      if (reuse) {
        p->flags &= ~PG_writeback;  // stays cached, unmapped: ShrinkSwapCache's
      } else {
        CacheErase(entry);
        dev.Free(slot);
      }
      UnpinLocked(p);
      return 0;
    }
    shadow_[type][slot] = static_cast<uint32_t>(nonresident_age_.fetch_add(1) + 1);
    need_write = !reuse || dirty || (p->flags & PG_dirty) != 0;
  }
  return WriteAndFinishSwapOut(p, entry, need_write, /*clear_dirty=*/true,
                               /*recheck_mapped=*/true);
}

// The tail both swap-outs share. p is pinned, in the swap cache under entry
// with PG_writeback, unmapped (its PTEs or its index node hold the entry);
// vm_lock and swap_lock are not held. Writes p to the slot when need_write,
// then under both locks ends PG_writeback and either keeps p after a failed
// write (KeepAfterFailedWrite) or lets the swap cache drop it and the slot
// reference the cache held. clear_dirty: the data is on the device now, so
// PG_dirty goes even if p stays cached (private pages). recheck_mapped: a
// fault may have mapped p again during the write (private pages: it stays,
// shared through the swap cache while PTEs still hold the entry; a shmem
// fault copies a page under write-back instead). Unpins p; 1 when freed.
int SwapSystem::WriteAndFinishSwapOut(page* p, pte_t entry, bool need_write, bool clear_dirty,
                                      bool recheck_mapped) {
  SwapDevice& dev = devices_[SwapPteType(entry)];
  const uint64_t slot = SwapPteOffset(entry);
  ReclaimStep();
  const int err = need_write ? dev.WritePage(slot, buddy_->PageAddress(p)) : 0;
  SpinLockGuard vg(vm_->lock());
  SpinLockGuard g(lock_);
  p->flags &= ~PG_writeback;
  if (err != 0) {
    KeepAfterFailedWrite(p, dev, slot, err);
    return 0;
  }
  if (clear_dirty) p->flags &= ~PG_dirty;
  if (need_write) pswpout_.fetch_add(1, std::memory_order_relaxed);
  if (recheck_mapped && p->_mapcount.load(std::memory_order_relaxed) > 0) {
    // Mapped again during the write: it stays; the cache lets go only when
    // no PTE holds the entry any more.
    if (dev.Count(slot) == 1) {
      CacheErase(entry);
      dev.Free(slot);
    }
    UnpinLocked(p);
    return 0;
  }
  // A shmem page's index node keeps its reference on the slot (unless a
  // fault took a copy back meanwhile and dropped it: then the slot goes too).
  CacheErase(entry);
  dev.Free(slot);
  UnpinLocked(p);  // the last reference: the page is free
  return 1;
}

// shmem_writepage: one shared anonymous page (pinned; unpinned here) goes
// to a fresh slot. In one vm_lock section it gets the slot and enters the
// swap cache under PG_writeback (AddToSwapCacheLocked) with one more slot reference for its index node, the VM
// unmaps it from every PTE and leaves the entry in the node
// (ShmemSwapOutLocked), or, when that fails, it leaves the swap cache again:
// no vm_lock holder ever sees it in the page cache and the swap cache at
// once. (swap_lock is held for the swap-cache changes only, not while the VM
// unmaps.) Then it is written and the swap cache lets go of it. A fault
// meanwhile finds the entry in the node and the page in the swap cache
// (copied while PG_writeback). 1 when freed.
int SwapSystem::SwapOutShmemPage(page* p) {
  pte_t entry = 0;
  {
    SpinLockGuard vg(vm_->lock());
    {
      SpinLockGuard g(lock_);
      int err = 0;
      if (!vm_->ShmemPageLocked(p) || (p->flags & PG_swapcache) ||
          (entry = AddToSwapCacheLocked(p, &err)) == 0) {
        UnpinLocked(p);
        return err;
      }
      devices_[SwapPteType(entry)].Dup(SwapPteOffset(entry));  // the index node's reference
    }
    const int moved = vm_->ShmemSwapOutLocked(p, entry);
    const unsigned type = SwapPteType(entry);
    const uint64_t slot = SwapPteOffset(entry);
    SpinLockGuard g(lock_);
    if (moved != 0) {  // still in the page cache (maybe unmapped): it stays
      p->flags &= ~PG_writeback;
      CacheErase(entry);
      devices_[type].Free(slot);
      devices_[type].Free(slot);
      UnpinLocked(p);
      return 0;
    }
    shadow_[type][slot] = static_cast<uint32_t>(nonresident_age_.fetch_add(1) + 1);
  }
  return WriteAndFinishSwapOut(p, entry, /*need_write=*/true, /*clear_dirty=*/false,
                               /*recheck_mapped=*/false);
}

// Evicts one page-cache page (pinned; unpinned here) through the VM, which
// writes it back first when dirty. 1 when freed.
int SwapSystem::EvictFilePage(page* p) {
  const uint64_t shadow = nonresident_age_.fetch_add(1) + 1;
  bool wrote = false;
  ReclaimStep();
  const int err = vm_->PageCacheEvict(p, shadow, &wrote);
  if (wrote) pgwrite_file_.fetch_add(1, std::memory_order_relaxed);
  ReclaimStep();
  Unpin(p);
  return err == 0 ? 1 : 0;
}

// Drops unmapped swap-cache pages (readahead, or left by a swap-out): those
// only the cache holds (_refcount 1), so the VM cannot be looking at them.
uint64_t SwapSystem::ShrinkSwapCache(uint64_t nr) {
  uint64_t freed = 0;
  SpinLockGuard g(lock_);
  // A hand goes round the table from where it stopped; it stops after nr
  // pages, after one round, or once it has seen every entry there was.
  const uint32_t cap = cache_.capacity();
  uint64_t left = cache_.size();
  uint32_t i = cache_hand_ < cap ? cache_hand_ : 0;
  for (uint32_t step = 0; step < cap && freed < nr && left > 0; ++step) {
    const swap::PageId key = cache_.KeyAt(i);
    const uint32_t next = i + 1 == cap ? 0 : i + 1;
    if (key == swap::PageMap::kEmptyKey) {
      i = next;
      continue;
    }
    --left;
    page* p = buddy_->PfnToPage(buddy_->start_pfn() + cache_.ValueAt(i));
    if (p->_refcount.load(std::memory_order_relaxed) != 1 ||
        p->_mapcount.load(std::memory_order_relaxed) != 0 || (p->flags & PG_writeback)) {
      i = next;
      continue;
    }
    const pte_t entry = key;
    SwapDevice& dev = devices_[SwapPteType(entry)];
    const uint64_t slot = SwapPteOffset(entry);
    if (p->flags & PG_dirty) {
      if (dev.WritePage(slot, buddy_->PageAddress(p)) != 0) {  // still failing
        i = next;
        continue;
      }
      pswpout_.fetch_add(1, std::memory_order_relaxed);
    }
    CacheErase(entry);  // backward-shift deletion may move another key into slot i: stay
    dev.Free(slot);
    ++freed;
  }
  cache_hand_ = i;
  return freed;
}

// Brings the node's LRUs up to date (vm_lock held, so the VM's flags are
// stable): the frames the VM reported since the last call (lru_change), or
// every frame on the first call and after an event overflow. A frame is on
// the anon LRU when it holds a mapped anonymous page, on the file LRU when
// it holds an evictable page-cache page.
void SwapSystem::ScanNode(int nid) {
  NodeLru& anon = *lrus_[kAnonLru][nid];
  NodeLru& file = *lrus_[kFileLru][nid];
  auto classify = [&](uint32_t f) {
    page* p = buddy_->PfnToPage(anon.start + f);
    const bool is_anon = OfKind(p, kAnonLru);
    const bool is_file = !is_anon && OfKind(p, kFileLru);
    for (auto [lru, want] : {std::pair<NodeLru*, bool>{&anon, is_anon}, {&file, is_file}}) {
      if (want && lru->state[f] == kUntracked) {
        lru->Track(f);
        lru->last_ref[f] = lru->pass;
      } else if (!want && lru->state[f] != kUntracked) {
        lru->Untrack(f);
      }
    }
  };
  {
    SpinLockGuard vg(vm_->lock());
    SpinLockGuard eg(anon.events_lock);
    if (anon.rescan) {
      lru_full_scans_.fetch_add(1, std::memory_order_relaxed);
      for (uint32_t f = 0; f < anon.frames; ++f) classify(f);
      anon.rescan = false;
    } else {
      for (uint32_t i = 0; i < anon.nr_events; ++i) classify(anon.events[i]);
    }
    anon.nr_events = 0;
  }
  // Size each policy's active set from its population: 3/4 of it, so the
  // policy decides which quarter is inactive.
  for (NodeLru* lru : {&anon, &file}) {
    const uint64_t want = lru->nr_tracked * 3 / 4 > 64 ? lru->nr_tracked * 3 / 4 : 64;
    if (lru->sim == nullptr || want > 2 * uint64_t{lru->sim_frames} || 2 * want < lru->sim_frames)
      lru->Build(static_cast<uint32_t>(want < lru->max_c ? want : lru->max_c));
  }
}

namespace {
struct AgeCtx {
  VmSystem* vm;
  bool referenced;
};
// page_referenced: test and clear the A bit of every PTE (vm_lock held by
// RmapWalk), dropping the TLB entry so the next access sets A again.
bool AgeOne(vm_area_struct* vma, unsigned long addr, pte_t* pte, void* c) {
  auto* ctx = static_cast<AgeCtx*>(c);
  if (*pte & kPteA) {
    ctx->referenced = true;
    *pte &= ~kPteA;
    ctx->vm->tlb().FlushPage(vma->vm_mm->asid, addr);
  }
  return true;
}
}  // namespace

void SwapSystem::AgeNode(NodeLru& lru, LruKind kind, uint32_t budget) {
  for (uint32_t k = 0; k < lru.frames && budget > 0; ++k) {
    const uint32_t f = lru.hand;
    lru.hand = lru.hand + 1 == lru.frames ? 0 : lru.hand + 1;
    if (lru.hand == 0) ++lru.pass;  // the hand went round: one aging pass
    if (lru.state[f] == kUntracked) continue;
    --budget;
    page* p = buddy_->PfnToPage(lru.start + f);
    if (!Pin(p, kind)) continue;
    AgeCtx ctx{vm_, false};
    vm_->RmapWalk(p, &AgeOne, &ctx);
    Unpin(p);
    if (ctx.referenced) {
      lru.Referenced(f);
      lru.last_ref[f] = lru.pass;
    }
  }
}

uint64_t SwapSystem::WorkingSetPages(unsigned delta) {
  SpinLockGuard g(reclaim_lock_);
  uint64_t w = 0;
  for (auto& per_kind : lrus_) {
    for (NodeLru* lru : per_kind) {
      if (lru == nullptr) continue;
      for (uint32_t f = 0; f < lru->frames; ++f) {
        if (lru->state[f] == kUntracked) continue;
        if (static_cast<uint16_t>(lru->pass - lru->last_ref[f]) < delta && lru->last_ref[f] != 0) ++w;
      }
    }
  }
  return w;
}

// Takes up to nr pages from the head of the inactive list (after asking the
// policy to deactivate enough) and reclaims them. Returns pages freed.
uint64_t SwapSystem::ShrinkList(NodeLru& lru, LruKind kind, uint64_t nr, uint64_t* scanned,
                                bool age) {
  uint64_t freed = 0;
  if (nr == 0 || lru.nr_tracked == 0) return 0;
  if (age) AgeNode(lru, kind, static_cast<uint32_t>(4 * nr + 256));
  lru.Deactivate(nr);
  for (uint64_t budget = lru.nr_inactive; freed < nr && budget > 0 && lru.head != NodeLru::kNil;
       --budget) {
    const uint32_t f = lru.head;
    lru.ListDel(f);
    lru.state[f] = kUntracked;
    --lru.nr_tracked;
    page* p = buddy_->PfnToPage(lru.start + f);
    if (!Pin(p, kind)) continue;
    ++*scanned;
    (kind == kAnonLru ? pgscan_anon_ : pgscan_file_).fetch_add(1, std::memory_order_relaxed);
    const int r = kind == kAnonLru ? SwapOutPage(p) : EvictFilePage(p);
    if (r > 0) {
      ++freed;
      (kind == kAnonLru ? pgsteal_anon_ : pgsteal_file_).fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Still resident: back on the inactive list's tail.
    {
      SpinLockGuard vg(vm_->lock());
      if (OfKind(p, kind)) {
        lru.state[f] = kInactive;
        lru.ListAdd(f);
        ++lru.nr_tracked;
      }
    }
    if (r == -kENOSPC) break;
  }
  return freed;
}

bool SwapSystem::CanSwap() {
  for (int i = 0; i < nr_devices_; ++i)
    if (devices_[i].free_pages() > 0) return true;
  return false;
}

// get_scan_count: how many of nr come from the anon and the file lists.
// Anonymous pages need a swap slot; swappiness 0 reclaims file pages only
// (anon only when the file list gives nothing), 200 anon only (file when
// anon gives nothing); in between the lists are scanned in proportion to
// their size weighted by swappiness : 200 - swappiness.
void SwapSystem::GetScanCount(const NodeLru& anon, const NodeLru& file, uint64_t nr,
                              uint64_t* nr_anon, uint64_t* nr_file) {
  const uint64_t a = anon.nr_tracked, fl = file.nr_tracked;
  const uint64_t sw = static_cast<uint64_t>(cfg_.swappiness);
  if (!CanSwap() || a == 0 || sw == 0) {
    *nr_anon = 0;
  } else if (fl == 0 || sw >= 200) {
    *nr_anon = nr;
  } else {
    const uint64_t wa = sw * a, wf = (200 - sw) * fl;
    *nr_anon = (nr * wa + (wa + wf) / 2) / (wa + wf);
  }
  *nr_file = nr - *nr_anon;
}

uint64_t SwapSystem::ShrinkNode(int nid, uint64_t nr, uint64_t* scanned) {
  NodeLru& anon = *lrus_[kAnonLru][nid];
  NodeLru& file = *lrus_[kFileLru][nid];
  ScanNode(nid);
  uint64_t nr_anon = 0, nr_file = 0;
  GetScanCount(anon, file, nr, &nr_anon, &nr_file);
  const uint64_t freed_file = ShrinkList(file, kFileLru, nr_file, scanned, true);
  uint64_t freed = freed_file;
  if (nr_anon > 0) freed += ShrinkList(anon, kAnonLru, nr_anon, scanned, true);
  // A shortfall is taken from the other list, as far as swappiness allows
  // (a list aged above is not aged again).
  if (freed < nr && CanSwap() && (cfg_.swappiness > 0 || freed_file == 0))
    freed += ShrinkList(anon, kAnonLru, nr - freed, scanned, nr_anon == 0);
  if (freed < nr) freed += ShrinkList(file, kFileLru, nr - freed, scanned, nr_file == 0);
  uint64_t counts[2][2] = {};  // [kind][active, inactive]
  for (int k = 0; k < 2; ++k) {
    for (NodeLru* lru : lrus_[k]) {
      if (lru == nullptr) continue;
      counts[k][1] += lru->nr_inactive;
      counts[k][0] += lru->nr_tracked - lru->nr_inactive;
    }
  }
  active_anon_.store(counts[kAnonLru][0], std::memory_order_relaxed);
  inactive_anon_.store(counts[kAnonLru][1], std::memory_order_relaxed);
  active_file_.store(counts[kFileLru][0], std::memory_order_relaxed);
  inactive_file_.store(counts[kFileLru][1], std::memory_order_relaxed);
  return freed;
}

uint64_t SwapSystem::ReclaimPages(uint64_t nr, int nid) {
  SpinLockGuard g(reclaim_lock_);
  uint64_t freed = ShrinkSwapCache(nr), scanned = 0;
  for (unsigned n = 0; n < buddy_->nr_nodes() && freed < nr; ++n) {
    if (nid >= 0 && static_cast<unsigned>(nid) != n) continue;
    const uint64_t got = ShrinkNode(static_cast<int>(n), nr - freed, &scanned);
    freed += got;
    pgsteal_direct_.fetch_add(got, std::memory_order_relaxed);
  }
  pgscan_direct_.fetch_add(scanned, std::memory_order_relaxed);
  return freed;
}

uint64_t SwapSystem::BalanceNode(int nid) {
  kswapd_runs_.fetch_add(1, std::memory_order_relaxed);
  uint64_t total = 0;
  for (int round = 0; round < 1 << 16 && NodeBelow(nid, WMARK_HIGH); ++round) {
    uint64_t got, scanned = 0;
    {
      SpinLockGuard g(reclaim_lock_);
      got = ShrinkSwapCache(kSwapClusterMax);
      for (unsigned n = 0; n < buddy_->nr_nodes(); ++n) {
        if (nid >= 0 && static_cast<unsigned>(nid) != n) continue;
        if (!NodeBelow(static_cast<int>(n), WMARK_HIGH)) continue;
        got += ShrinkNode(static_cast<int>(n), kSwapClusterMax, &scanned);
      }
    }
    pgscan_kswapd_.fetch_add(scanned, std::memory_order_relaxed);
    pgsteal_kswapd_.fetch_add(got, std::memory_order_relaxed);
    total += got;
    if (got == 0) {
      buddy_->DrainAllPages();  // per-cpu lists hold free pages too
      break;                    // kswapd never kills: faults decide on OOM
    }
  }
  return total;
}

void SwapSystem::WakeKswapd() {
  kswapd_word_.fetch_add(1, std::memory_order_release);
  platform::WakeWord(&kswapd_word_);
}

void SwapSystem::KswapdMain(void* arg) {
  auto* s = static_cast<SwapSystem*>(arg);
  while (!s->kswapd_stop_.load(std::memory_order_acquire)) {
    const uint32_t w = s->kswapd_word_.load(std::memory_order_acquire);
    if (s->NodeBelow(-1, WMARK_LOW)) s->BalanceNode(-1);
    if (s->kswapd_stop_.load(std::memory_order_acquire)) break;
    platform::WaitOnWord(&s->kswapd_word_, w, 100 * 1000 * 1000);
  }
}

// A fault could not allocate (vm_lock dropped): direct reclaim of a batch;
// without a kswapd thread the faulting task also does kswapd's work up to
// the high watermark. The time is a memory stall (PSI some and full).
uint64_t SwapSystem::FaultReclaim() {
  if (!initialized_) return 0;
  const uint64_t t0 = platform::NowNs();
  allocstall_.fetch_add(1, std::memory_order_relaxed);
  uint64_t freed = ReclaimPages(kSwapClusterMax, -1);
  if (NodeBelow(-1, WMARK_LOW)) {
    if (kswapd_thread_ != 0) {
      WakeKswapd();
    } else {
      freed += BalanceNode(-1);
    }
  }
  if (freed == 0) buddy_->DrainAllPages();
  const uint64_t us = (platform::NowNs() - t0) / 1000 + 1;
  psi_some_us_.fetch_add(us, std::memory_order_relaxed);
  psi_full_us_.fetch_add(us, std::memory_order_relaxed);
  return freed;
}

// ---------------------------------------------------------------- OOM

int SwapSystem::OomAdjOf(int pid) {
  for (const OomAdj& a : oom_adj_)
    if (a.pid == pid) return a.adj;
  return 0;
}

int SwapSystem::SetOomScoreAdj(int pid, int adj) {
  if (adj < -1000 || adj > 1000) return -kEINVAL;
  if (vm_->FindTaskByPid(pid) == nullptr) return -kESRCH;
  SpinLockGuard g(lock_);
  OomAdj* free_slot = nullptr;
  for (OomAdj& a : oom_adj_) {
    if (a.pid == pid) {
      a.adj = adj;
      if (adj == 0) a.pid = 0;
      return 0;
    }
    if (a.pid == 0 && free_slot == nullptr) free_slot = &a;
  }
  if (adj == 0) return 0;
  if (free_slot == nullptr) return -kENOMEM;
  *free_slot = {pid, adj};
  return 0;
}

long SwapSystem::OomBadness(task_struct* t, uint64_t totalpages) {
  if (t->mm == nullptr || t->exit_state != 0 || t->pid == 1) return kUnkillable;
  int adj;
  {
    SpinLockGuard g(lock_);
    adj = OomAdjOf(t->pid);
  }
  if (adj == -1000) return kUnkillable;
  long points = t->mm->rss_stat[MM_ANONPAGES] + t->mm->rss_stat[MM_FILEPAGES] +
                t->mm->rss_stat[MM_SHMEMPAGES] + t->mm->rss_stat[MM_SWAPENTS] + static_cast<long>(t->mm->pgt.nr_tables());
  points += static_cast<long>(adj) * static_cast<long>(totalpages / 1000);
  return points;
}

namespace {
// Next task in a depth-first walk of the process tree below init (vm_lock).
task_struct* NextTask(task_struct* t, task_struct* root) {
  if (!t->children.empty()) return ContainerOf(t->children.first(), &task_struct::sibling);
  while (t != root) {
    task_struct* parent = t->parent;
    if (t->sibling.next != parent->children.end())
      return ContainerOf(t->sibling.next, &task_struct::sibling);
    t = parent;
  }
  return nullptr;
}
}  // namespace

int SwapSystem::OutOfMemory(const char* why) {
  uint64_t swap_pages = 0;
  for (int i = 0; i < nr_devices_; ++i) swap_pages += devices_[i].usable_pages();
  const uint64_t totalpages = buddy_->TotalRamPages() + swap_pages;
  int victim = 0;
  char comm[16] = {};
  unsigned long total_vm = 0, anon = 0, file = 0, shmem = 0, pgtables = 0;
  int adj = 0;
  {
    SpinLockGuard vg(vm_->lock());
    task_struct* root = vm_->InitTask();
    long best = kUnkillable;
    for (task_struct* t = root; t != nullptr; t = NextTask(t, root)) {
      const long b = OomBadness(t, totalpages);
      if (b == kUnkillable || b <= best) continue;
      best = b;
      victim = t->pid;
      StrCopy(comm, sizeof comm, t->comm);
      total_vm = t->mm->total_vm;
      anon = static_cast<unsigned long>(t->mm->rss_stat[MM_ANONPAGES]);
      file = static_cast<unsigned long>(t->mm->rss_stat[MM_FILEPAGES]);
      shmem = static_cast<unsigned long>(t->mm->rss_stat[MM_SHMEMPAGES]);
      pgtables = t->mm->pgt.nr_tables();
      SpinLockGuard g(lock_);
      adj = OomAdjOf(t->pid);
    }
  }
  Printk("%s invoked oom-killer: gfp_mask=0x%x(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0\n",
         why, static_cast<unsigned>(GFP_HIGHUSER_MOVABLE));
  uint64_t zram_used = 0, swap_free = 0;
  for (int i = 0; i < nr_devices_; ++i) {
    zram_used += devices_[i].mem_used_total() / kPageSize + devices_[i].metadata_pages();
    swap_free += devices_[i].free_pages();
  }
  Printk("Mem-Info: free:%llu active_anon:%llu inactive_anon:%llu swapcache:%llu "
         "swap_dev_ram:%llu free_swap:%llu (pages)\n",
         static_cast<unsigned long long>(buddy_->NrFreePages()),
         static_cast<unsigned long long>(active_anon_.load()),
         static_cast<unsigned long long>(inactive_anon_.load()),
         static_cast<unsigned long long>(cache_pages_.load()),
         static_cast<unsigned long long>(zram_used), static_cast<unsigned long long>(swap_free));
  if (victim == 0) {
    Printk("Out of memory and no killable processes...\n");
    return 0;
  }
  const unsigned long kb = kPageSize / 1024;
  Printk("Out of memory: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, "
         "shmem-rss:%lukB, UID:0 pgtables:%lukB oom_score_adj:%d\n",
         victim, comm, total_vm * kb, anon * kb, file * kb, shmem * kb, pgtables * kb, adj);
  task_struct* t = vm_->FindTaskByPid(victim);
  if (t != nullptr) vm_->DoExitTask(t, SIGKILL);
  oom_kill_.fetch_add(1, std::memory_order_relaxed);
  return victim;
}

// ---------------------------------------------------------------- PSI

namespace {
// Decay per 2 s period for 10 s, 60 s, 300 s windows, in 1/2048 (Linux's
// loadavg-style fixed point): exp(-2/10), exp(-2/60), exp(-2/300).
constexpr uint64_t kFixed1 = 2048;
constexpr uint64_t kExp[3] = {1677, 1981, 2034};
constexpr uint64_t kPeriodNs = 2000000000ull;
}  // namespace

void SwapSystem::PsiUpdate() {
  SpinLockGuard g(psi_lock_);
  const uint64_t now = platform::NowNs();
  if (now - psi_last_ns_ < kPeriodNs) return;
  uint64_t periods = (now - psi_last_ns_) / kPeriodNs;
  const uint64_t some = psi_some_us_.load(), full = psi_full_us_.load();
  const uint64_t stalled[2] = {some - psi_last_some_, full - psi_last_full_};
  psi_last_some_ = some;
  psi_last_full_ = full;
  psi_last_ns_ += periods * kPeriodNs;
  if (periods > 1000) periods = 1000;
  for (int k = 0; k < 2; ++k) {
    // Stall share of the elapsed time, in 1/100 percent, spread evenly.
    uint64_t pct = stalled[k] * 10000 / (periods * kPeriodNs / 1000);
    if (pct > 10000) pct = 10000;
    for (uint64_t i = 0; i < periods; ++i)
      for (int w = 0; w < 3; ++w)
        psi_avg_[k][w] = (psi_avg_[k][w] * kExp[w] + pct * (kFixed1 - kExp[w])) / kFixed1;
  }
}

void SwapSystem::ShowPressure(TextBuffer& out) {
  PsiUpdate();
  SpinLockGuard g(psi_lock_);
  const char* names[2] = {"some", "full"};
  const uint64_t totals[2] = {psi_some_us_.load(), psi_full_us_.load()};
  for (int k = 0; k < 2; ++k) {
    out.Append("%s avg10=%llu.%02llu avg60=%llu.%02llu avg300=%llu.%02llu total=%llu\n", names[k],
               static_cast<unsigned long long>(psi_avg_[k][0] / 100),
               static_cast<unsigned long long>(psi_avg_[k][0] % 100),
               static_cast<unsigned long long>(psi_avg_[k][1] / 100),
               static_cast<unsigned long long>(psi_avg_[k][1] % 100),
               static_cast<unsigned long long>(psi_avg_[k][2] / 100),
               static_cast<unsigned long long>(psi_avg_[k][2] % 100),
               static_cast<unsigned long long>(totals[k]));
  }
}

// ---------------------------------------------------------------- views

long SwapSystem::ProcRead(const char* path, TextBuffer& out) {
  if (StrEq(path, "/proc/swaps")) {
    out.Put("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    for (int i = 0; i < nr_devices_; ++i) devices_[i].ShowSwapsLine(out);
    return static_cast<long>(out.length());
  }
  if (StrEq(path, "/proc/pressure/memory")) {
    ShowPressure(out);
    return static_cast<long>(out.length());
  }
  if (StartsWith(path, "/sys/block/zram")) {
    const char* p = path + 15;
    int n = 0;
    while (*p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
    int seen = 0;
    for (int i = 0; i < nr_devices_; ++i) {
      if (devices_[i].kind() != SwapKind::kZram) continue;
      if (seen++ != n) continue;
      if (StrEq(p, "/mm_stat")) {
        devices_[i].ShowMmStat(out);
      } else if (StrEq(p, "/comp_algorithm")) {
        out.Append("%s\n", devices_[i].comp_name());
      } else if (StrEq(p, "/algorithm_params")) {
        return -kEACCES;  // write-only in Linux (DEVICE_ATTR_WO): nothing to read
      } else if (StrEq(p, "/disksize")) {
        out.Append("%llu\n", static_cast<unsigned long long>(devices_[i].nr_slots() * kPageSize));
      } else {
        return -kENOENT;
      }
      return static_cast<long>(out.length());
    }
    return -kENOENT;
  }
  if (StartsWith(path, "/proc/")) {
    const char* p = path + 6;
    int pid = 0;
    if (StartsWith(p, "self/")) {
      task_struct* cur = vm_->Current();
      pid = cur != nullptr ? cur->pid : 0;
      p += 4;
    } else {
      while (*p >= '0' && *p <= '9') pid = pid * 10 + (*p++ - '0');
    }
    const bool score = StrEq(p, "/oom_score");
    const bool adj = StrEq(p, "/oom_score_adj");
    if (pid <= 0 || (!score && !adj)) return -kENOENT;
    if (adj) {
      if (vm_->FindTaskByPid(pid) == nullptr) return -kENOENT;
      SpinLockGuard g(lock_);
      out.Append("%d\n", OomAdjOf(pid));
      return static_cast<long>(out.length());
    }
    uint64_t swap_pages = 0;
    for (int i = 0; i < nr_devices_; ++i) swap_pages += devices_[i].usable_pages();
    const uint64_t totalpages = buddy_->TotalRamPages() + swap_pages;
    long points = 0;
    {
      SpinLockGuard vg(vm_->lock());
      task_struct* root = vm_->InitTask();
      task_struct* t = root;
      while (t != nullptr && t->pid != pid) t = NextTask(t, root);
      if (t == nullptr) return -kENOENT;
      const long b = OomBadness(t, totalpages);
      // proc_oom_score: 1000 + badness * 1000 / totalpages, 0 if unkillable.
      points = b == kUnkillable ? 0 : 1000 + b * 1000 / static_cast<long>(totalpages);
      if (points < 0) points = 0;
    }
    out.Append("%ld\n", points);
    return static_cast<long>(out.length());
  }
  return -kENOENT;
}

void SwapSystem::ShowVmstat(TextBuffer& out) {
  auto line = [&](const char* name, uint64_t v) {
    out.Append("%s %llu\n", name, static_cast<unsigned long long>(v));
  };
  line("nr_swapcached", cache_pages_.load());
  line("workingset_refault_anon", ws_refault_.load());
  line("workingset_refault_file", ws_refault_file_.load());
  line("workingset_activate_anon", ws_activate_.load());
  line("workingset_activate_file", ws_activate_file_.load());
  line("workingset_restore_anon", ws_restore_.load());
  line("workingset_restore_file", ws_restore_file_.load());
  line("pswpin", pswpin_.load());
  line("pswpout", pswpout_.load());
  line("allocstall_normal", allocstall_.load());
  line("pgsteal_kswapd", pgsteal_kswapd_.load());
  line("pgsteal_direct", pgsteal_direct_.load());
  line("pgscan_kswapd", pgscan_kswapd_.load());
  line("pgscan_direct", pgscan_direct_.load());
  line("pgscan_anon", pgscan_anon_.load());
  line("pgscan_file", pgscan_file_.load());
  line("pgsteal_anon", pgsteal_anon_.load());
  line("pgsteal_file", pgsteal_file_.load());
  line("swap_ra", swap_ra_.load());
  line("swap_ra_hit", swap_ra_hit_.load());
  line("oom_kill", oom_kill_.load());
}

void SwapSystem::MeminfoCounters(SwapMeminfo* out) {
  const uint64_t kb = kPageSize / 1024;
  *out = SwapMeminfo{};
  for (int i = 0; i < nr_devices_; ++i) {
    out->swap_total_kb += devices_[i].usable_pages() * kb;
    out->swap_free_kb += devices_[i].free_pages() * kb;
  }
  out->swap_cached_kb = cache_pages_.load() * kb;
  out->active_anon_kb = active_anon_.load() * kb;
  out->inactive_anon_kb = inactive_anon_.load() * kb;
  out->active_file_kb = active_file_.load() * kb;
  out->inactive_file_kb = inactive_file_.load() * kb;
}

bool SwapSystem::CheckInvariants() {
  for (int i = 0; i < nr_devices_; ++i)
    if (!devices_[i].CheckInvariants()) return false;
  {
    SpinLockGuard g(lock_);
    uint64_t n = 0;
    for (uint32_t i = 0; cache_mem_ != nullptr && i < cache_.capacity(); ++i) {
      const swap::PageId key = cache_.KeyAt(i);
      if (key == swap::PageMap::kEmptyKey) continue;
      ++n;
      page* p = buddy_->PfnToPage(buddy_->start_pfn() + cache_.ValueAt(i));
      const unsigned type = SwapPteType(key);
      if (!(p->flags & PG_swapcache) || p->private_ != key || static_cast<int>(type) >= nr_devices_ ||
          devices_[type].Count(SwapPteOffset(key)) == 0 ||
          p->_refcount.load(std::memory_order_relaxed) < 1) {
        Printk("swap: swap cache entry %llx is inconsistent\n", static_cast<unsigned long long>(key));
        return false;
      }
    }
    if (n != cache_pages_.load() || n != cache_.size()) {
      Printk("swap: swap cache holds %llu pages, counted %llu\n",
             static_cast<unsigned long long>(cache_pages_.load()), static_cast<unsigned long long>(n));
      return false;
    }
  }
  SpinLockGuard g(reclaim_lock_);
  for (unsigned i = 0; i < 2 * kMaxNodes; ++i) {
    const unsigned nid = i / 2;
    NodeLru* lru = lrus_[i % 2][nid];
    if (lru == nullptr) continue;
    if (i % 2 == 1) {  // a frame is on one LRU at most
      const NodeLru* anon = lrus_[kAnonLru][nid];
      for (uint32_t f = 0; f < lru->frames; ++f) {
        if (lru->state[f] != kUntracked && anon->state[f] != kUntracked) {
          Printk("swap: node %u frame %u on both the anon and the file LRU\n", nid, f);
          return false;
        }
      }
    }
    uint64_t tracked = 0, inactive = 0, active = 0;
    for (uint32_t f = 0; f < lru->frames; ++f) {
      tracked += lru->state[f] != kUntracked;
      active += lru->state[f] == kActive;
    }
    for (uint32_t f = lru->head; f != NodeLru::kNil && inactive <= lru->frames; f = lru->next[f]) {
      ++inactive;
      if (lru->state[f] != kInactive) {
        Printk("swap: node %u frame %u on the inactive list in state %u\n", nid, f, lru->state[f]);
        return false;
      }
    }
    if (tracked != lru->nr_tracked || (lru->sim == nullptr && active != 0)) {
      Printk("swap: node %u LRU tracks %llu frames, counted %llu\n", nid,
             static_cast<unsigned long long>(lru->nr_tracked), static_cast<unsigned long long>(tracked));
      return false;
    }
    if (inactive != lru->nr_inactive) {
      Printk("swap: node %u inactive list holds %llu, counted %llu\n", nid,
             static_cast<unsigned long long>(lru->nr_inactive), static_cast<unsigned long long>(inactive));
      return false;
    }
    if (lru->sim != nullptr) {
      bool ok = true;
      lru->Visit([&](auto& sim) {
        sim.CheckInvariants();
        for (uint32_t f = 0; f < lru->frames; ++f)
          if ((lru->state[f] == kActive) != sim.Contains(lru->start + f)) ok = false;
      });
      if (!ok) {
        Printk("swap: node %u simulator and active frames disagree\n", nid);
        return false;
      }
    }
  }
  return true;
}

}  // namespace mm
