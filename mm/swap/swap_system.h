// SwapSystem: the swap and reclaim layer a Machine holds — swap devices by
// priority, the swap cache, LRU reclaim driven by a replacement policy
// (policies.h; default `mm`), kswapd, refault distances with shadow entries,
// memory pressure (PSI) and the OOM killer.
//
// LOCK ORDER:
//   reclaim_lock_  ->  VmSystem::lock_ (vm_lock)  ->  lock_ (swap_lock)
//                  ->  SwapDevice::lock_  ->  slab  ->  buddy  ->  log
//   vm_lock  ->  NodeLru::events_lock (a leaf: the lru_change hook's queue)
// reclaim_lock_ serialises reclaimers (kswapd, direct reclaim) and guards
// the LRU state (policies, tracked frames, active bits). swap_lock guards the
// swap cache, the shadow entries and oom_score_adj. The VM calls the swap-in,
// dup, free and refault hooks with vm_lock held, so they take swap_lock and
// device locks only; its reclaim and OOM hooks run without vm_lock. Reclaim
// never holds swap_lock while calling the VM. A page's flags change under
// vm_lock (the swap cache's flags under vm_lock + swap_lock), except those
// of swap-cache pages only the cache holds (_refcount 1, unmapped), which
// the VM cannot reach. Lockless: counters (relaxed atomics), kswapd's wake
// word.
//
// Where reclaim runs (Linux's split): kswapd, woken by the allocator below
// the low watermark; direct reclaim from the allocator (ReclaimHooks) for
// allocations made without vm_lock (a TryLock probe: under vm_lock only
// clean unmapped swap-cache pages are dropped); and, for faults, which
// allocate under vm_lock without direct reclaim, the VM's retry: the fault
// drops vm_lock, calls SwapHooks::reclaim (FaultReclaim: direct reclaim, and
// kswapd's work when there is no kswapd thread), retries, and after
// repeated failure calls SwapHooks::out_of_memory (the OOM killer).
//
// Reclaim's hold on a page: one reference plus PG_locked, both taken and
// dropped under vm_lock (Pin/Unpin), so VmSystem::CheckInvariants' refcount
// check stays exact while kswapd runs. Whenever reclaim releases vm_lock
// while it holds a page, the page is in a state the VM's invariants allow
// (SetReclaimStepHook marks those points for tests): in particular a shmem
// page enters the swap cache and leaves the page cache (or, on failure,
// leaves the swap cache again) inside one vm_lock section
// (SwapOutShmemPage), so no vm_lock holder sees it in both caches. Under
// swap_lock, a swap slot is taken and its page put in the swap cache in one
// section (AddToSwapCacheLocked): a counted slot outside the cache is
// always one whose data is on the device (what Readahead reads).
#ifndef MM_SWAP_SWAP_SYSTEM_H_
#define MM_SWAP_SWAP_SYSTEM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/format.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/slab_common/slab_system.h"
#include "mm/swap/page_map.h"
#include "mm/swap/policies.h"
#include "mm/swap/swap_device.h"
#include "mm/vm/vm_system.h"

namespace mm {

// /proc/meminfo's swap and LRU lines, in kB.
struct SwapMeminfo {
  uint64_t swap_total_kb = 0, swap_free_kb = 0, swap_cached_kb = 0;
  uint64_t active_anon_kb = 0, inactive_anon_kb = 0, active_file_kb = 0, inactive_file_kb = 0;
};

class SwapSystem {
 public:
  // Pages the swap cache may hold: a quarter of RAM, within these bounds.
  static constexpr uint32_t kSwapCacheMin = 4096;
  static constexpr uint32_t kSwapCacheMax = 32768;
  static constexpr int kReadahead = 8;              // neighbouring slots read on a fault
  static constexpr int kMaxOomAdj = 256;            // tasks with a non-zero oom_score_adj
  static constexpr uint64_t kSwapClusterMax = 32;   // SWAP_CLUSTER_MAX

  SwapSystem() = default;
  SwapSystem(const SwapSystem&) = delete;
  SwapSystem& operator=(const SwapSystem&) = delete;

  // Boot words: swap=..., swap_policy=, zram.comp_algorithm=,
  // zram.algorithm_params=, vm.swappiness=, kswapd=thread|sync. 0, 1 (not a
  // swap word) or -EINVAL (message printed).
  static int ParseSwapOption(const char* word, size_t len, swap::SwapConfig* cfg) {
    return swap::ParseSwapOption(word, len, cfg);
  }

  // Opens every configured device (host == nullptr: zram and files are
  // refused with a message), sets up the LRU with cfg.policy, installs the
  // VM's SwapHooks and the buddy allocator's ReclaimHooks, starts kswapd
  // (a thread per node when the platform has threads). 0 or -errno.
  int Init(BuddyAllocator& buddy, SlabSystem& slab, VmSystem& vm, const swap::SwapConfig& cfg,
           const swap::SwapHostOps* host);
  // Teardown, in this order: StopKswapd() (kswapd joined, reclaim hooks
  // removed), then VmSystem::Shutdown() (which frees every swap entry through
  // our hooks), then Shutdown() (uninstalls the swap hooks, frees the swap
  // cache, the LRUs and the devices). Shutdown() calls StopKswapd() itself.
  void StopKswapd();
  void Shutdown();

  // /proc/swaps, /proc/pressure/memory, /sys/block/zramN/mm_stat,
  // /proc/<pid>/oom_score, /proc/<pid>/oom_score_adj: the text length, or
  // -ENOENT for any other path (-EACCES for /sys/block/zramN/algorithm_params,
  // write-only as in Linux).
  long ProcRead(const char* path, TextBuffer& out);
  // Writes /proc/<pid>/oom_score_adj (-1000..1000). 0, -EINVAL or -ESRCH.
  int SetOomScoreAdj(int pid, int adj);
  // pswpin pswpout pgsteal_* pgscan_* workingset_* oom_kill ... (vmstat format).
  void ShowVmstat(TextBuffer& out);
  void MeminfoCounters(SwapMeminfo* out);

  // ---- Reclaim ----
  // try_to_free_pages on node nid (-1: all): up to nr pages from the anon
  // and file LRUs (split by swappiness, get_scan_count) and unmapped
  // swap-cache pages. Returns pages freed.
  uint64_t ReclaimPages(uint64_t nr, int nid);
  // kswapd's work for node nid: reclaim until free pages reach the high
  // watermark or nothing more can be freed (it never runs the OOM killer).
  // Returns pages freed.
  uint64_t BalanceNode(int nid);
  // What a fault that could not allocate runs (without vm_lock): direct
  // reclaim, plus kswapd's work when there is no kswapd thread. Pages freed.
  uint64_t FaultReclaim();
  // out_of_memory(): kills the task with the highest badness. Returns its pid
  // or 0 when none is killable.
  int OutOfMemory(const char* why);
  // Linux's oom_badness (pages; LONG_MIN-like kUnkillable for -1000 / init).
  static constexpr long kUnkillable = -(1l << 62);
  long OomBadness(task_struct* t, uint64_t totalpages);

  // Denning's working set W(t, delta): LRU pages (anon and file) referenced
  // (or first seen) within the last `delta` aging passes (a pass = the aging hand
  // going once round the node's frames during reclaim).
  uint64_t WorkingSetPages(unsigned delta);

  swap::SwapDevice* device(int i) { return i < nr_devices_ ? &devices_[i] : nullptr; }
  int nr_devices() const { return nr_devices_; }
  swap::PolicyKind policy() const { return policy_kind_; }
  uint64_t pswpin() const { return pswpin_.load(std::memory_order_relaxed); }
  uint64_t pswpout() const { return pswpout_.load(std::memory_order_relaxed); }
  uint64_t oom_kills() const { return oom_kill_.load(std::memory_order_relaxed); }
  uint64_t swap_cache_pages() const { return cache_pages_.load(std::memory_order_relaxed); }
  uint64_t workingset_refaults() const { return ws_refault_.load(std::memory_order_relaxed); }
  uint64_t workingset_refaults_file() const {
    return ws_refault_file_.load(std::memory_order_relaxed);
  }
  uint64_t pgsteal_anon() const { return pgsteal_anon_.load(std::memory_order_relaxed); }
  uint64_t pgsteal_file() const { return pgsteal_file_.load(std::memory_order_relaxed); }
  uint64_t pgwrite_file() const { return pgwrite_file_.load(std::memory_order_relaxed); }
  uint64_t allocstall() const { return allocstall_.load(std::memory_order_relaxed); }
  // Scans of every frame of a node (the first, and after an LRU-event overflow).
  uint64_t lru_full_scans() const { return lru_full_scans_.load(std::memory_order_relaxed); }
  uint64_t swap_write_failures() const { return swap_fail_.load(std::memory_order_relaxed); }

  // Walks the devices, the swap cache (every cached page is PG_swapcache with
  // a slot reference) and the LRU (tracked == frames the policy holds).
  bool CheckInvariants();

  // Test hook: called with no lock held (reclaim_lock_ aside) every time
  // reclaim, holding a page pinned, is between two vm_lock sections of its
  // swap-out or eviction, i.e. wherever a vm_lock holder (CheckInvariants)
  // may look at a page reclaim is part way through. nullptr: none.
  void SetReclaimStepHook(void (*fn)(void* ctx), void* ctx) {
    step_ctx_ = ctx;
    step_hook_ = fn;
  }

 private:
  struct NodeLru;  // per node and kind: the policy and its frames (swap_system.cc)
  enum LruKind { kAnonLru = 0, kFileLru = 1 };

  // SwapHooks (vm_lock held, except reclaim and out_of_memory).
  static int HookSwapIn(void* ctx, pte_t entry, page** out, bool* exclusive);
  static void HookSwapDup(void* ctx, pte_t entry);
  static void HookSwapFree(void* ctx, pte_t entry);
  static uint64_t HookFaultReclaim(void* ctx);
  static int HookFaultOom(void* ctx);
  static void HookFileRefault(void* ctx, uint64_t shadow);
  static void HookLruChange(void* ctx, page* p);
  static constexpr uint32_t kLruEvents = 4096;  // per node, between two ScanNodes
  // ReclaimHooks (no lock held by the allocator; maybe vm_lock by the VM).
  static void HookWakeKswapd(void* ctx, int nid, unsigned order);
  static uint64_t HookDirectReclaim(void* ctx, gfp_t gfp, unsigned order, int nid);
  static void KswapdMain(void* arg);

  int SwapIn(pte_t entry, page** out, bool* exclusive);
  void SwapFreeEntry(pte_t entry);
  void Readahead(int type, uint64_t slot) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  page* CacheLookup(pte_t entry) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  bool CacheInsert(pte_t entry, page* p) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void CacheErase(pte_t entry) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Picks a device by priority and takes a slot; 0 when every device is full.
  pte_t AllocSwapEntryLocked() MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // A fresh slot and p in the swap cache under it (PG_writeback), at once.
  pte_t AddToSwapCacheLocked(page* p, int* err) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Reclaim's hold on p (vm_lock taken inside): false if p is not (any more)
  // a page of that LRU or is held already.
  bool Pin(page* p, LruKind kind);
  void Unpin(page* p);
  void UnpinLocked(page* p);  // vm_lock held
  bool OfKind(const page* p, LruKind kind);  // vm_lock held
  // Swaps one anonymous page out (reclaim_lock held, p pinned; unpins).
  // 1 if freed, 0 if it stays, -ENOSPC.
  int SwapOutPage(page* p) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  int SwapOutShmemPage(page* p) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  int WriteAndFinishSwapOut(page* p, pte_t entry, bool need_write, bool clear_dirty,
                            bool recheck_mapped) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  void KeepAfterFailedWrite(page* p, swap::SwapDevice& dev, uint64_t slot, int err)
      MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  int EvictFilePage(page* p) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  uint64_t ShrinkSwapCache(uint64_t nr) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  bool CanSwap();
  void GetScanCount(const NodeLru& anon, const NodeLru& file, uint64_t nr, uint64_t* nr_anon,
                    uint64_t* nr_file);
  uint64_t ShrinkNode(int nid, uint64_t nr, uint64_t* scanned)
      MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  uint64_t ShrinkList(NodeLru& lru, LruKind kind, uint64_t nr, uint64_t* scanned, bool age)
      MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  void ScanNode(int nid) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  void AgeNode(NodeLru& lru, LruKind kind, uint32_t budget) MM_EXCLUSIVE_LOCKS_REQUIRED(reclaim_lock_);
  static constexpr int kMarkMid = 3;  // halfway between min and low
  bool NodeBelow(int nid, int mark);  // WMARK_MIN, WMARK_LOW, WMARK_HIGH or kMarkMid
  void WakeKswapd();
  void StallBegin(uint64_t* t0);
  void StallEnd(uint64_t t0, bool full);
  void PsiUpdate();
  int OomAdjOf(int pid) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void ShowPressure(TextBuffer& out);
  void ReclaimStep() {
    if (step_hook_ != nullptr) step_hook_(step_ctx_);
  }

  BuddyAllocator* buddy_ = nullptr;
  SlabSystem* slab_ = nullptr;
  VmSystem* vm_ = nullptr;
  swap::SwapConfig cfg_;
  swap::PolicyKind policy_kind_ = swap::kDefaultPolicy;
  SwapHooks hooks_;
  bool initialized_ = false;
  void (*step_hook_)(void* ctx) = nullptr;  // SetReclaimStepHook
  void* step_ctx_ = nullptr;

  swap::SwapDevice devices_[swap::kMaxSwapDevices];
  // zram's compressor: the host's, with cfg.zram_level (algorithm_params).
  swap::Compressor zram_comp_;
  int nr_devices_ = 0;
  int rr_next_ = 0;  // round robin among equal priorities (swap_lock)

  // The swap cache. Invariant: cache_ maps a swap entry to (pfn - start_pfn)
  // of a page with PG_swapcache and private == entry; the cache holds one
  // page reference and one slot reference. The page is unmapped (mapping
  // nullptr) or an anonymous page mapped read-only by PTEs that swapped it in
  // while others still hold the entry (writable only while a reclaimer swaps
  // it out); a shmem page is in its page cache too only inside one vm_lock
  // section of SwapOutShmemPage (never seen so by a vm_lock holder).
  // PG_dirty: the data is not (or no longer) on the device; PG_writeback: a
  // reclaimer is writing it (never handed over as exclusive).
  SpinLock lock_;
  swap::PageMap cache_ MM_GUARDED_BY(lock_);
  page* cache_mem_ = nullptr;  // the cache table's buddy block
  uint32_t cache_max_ = kSwapCacheMin;
  uint32_t cache_hand_ MM_GUARDED_BY(lock_) = 0;  // ShrinkSwapCache's position
  unsigned cache_order_ = 0;
  // Shadow entries: per device, per slot, the eviction clock when the page
  // left (0: none), for refault distances.
  swap::PageArray<uint32_t> shadow_[swap::kMaxSwapDevices];
  struct OomAdj {
    int pid;
    int adj;
  };
  OomAdj oom_adj_[kMaxOomAdj] MM_GUARDED_BY(lock_) = {};

  // LRU (reclaim_lock).
  SpinLock reclaim_lock_ MM_ACQUIRED_BEFORE(lock_);
  NodeLru* lrus_[2][kMaxNodes] = {};  // [LruKind][nid]
  std::atomic<uint64_t> nonresident_age_{1};  // evictions so far, anon and file (the eviction clock)
  std::atomic<uint64_t> active_anon_{0}, inactive_anon_{0}, active_file_{0}, inactive_file_{0};

  // kswapd.
  std::atomic<uint32_t> kswapd_word_{0};  // bumped to wake kswapd
  std::atomic<bool> kswapd_stop_{false};
  uintptr_t kswapd_thread_ = 0;
  std::atomic<uint64_t> kswapd_runs_{0};

  // PSI (microseconds).
  std::atomic<uint64_t> psi_some_us_{0}, psi_full_us_{0};
  SpinLock psi_lock_;
  uint64_t psi_last_ns_ MM_GUARDED_BY(psi_lock_) = 0;
  uint64_t psi_last_some_ MM_GUARDED_BY(psi_lock_) = 0, psi_last_full_ MM_GUARDED_BY(psi_lock_) = 0;
  uint64_t psi_avg_[2][3] MM_GUARDED_BY(psi_lock_) = {};  // some/full x 10/60/300 s, 1/100 %

  std::atomic<uint64_t> pswpin_{0}, pswpout_{0}, pgscan_kswapd_{0}, pgscan_direct_{0},
      pgsteal_kswapd_{0}, pgsteal_direct_{0}, ws_refault_{0}, ws_activate_{0}, ws_restore_{0},
      oom_kill_{0}, swap_ra_{0}, swap_ra_hit_{0}, swap_fail_{0}, cache_pages_{0},
      allocstall_{0}, pgscan_anon_{0}, pgscan_file_{0}, pgsteal_anon_{0}, pgsteal_file_{0},
      pgwrite_file_{0}, ws_refault_file_{0}, ws_activate_file_{0}, ws_restore_file_{0},
      lru_full_scans_{0};
};

}  // namespace mm

#endif  // MM_SWAP_SWAP_SYSTEM_H_
