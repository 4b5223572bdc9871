// Swap devices behind one interface: a swap file on the host filesystem (with
// an mkswap header) and zram, a compressed RAM device. Each device has a slot
// allocator that hands out slots from clusters of kClusterSlots contiguous
// slots, and a per-slot use count (Linux's swap_map). Freestanding: file I/O
// goes through FileOps (vm_types.h) and compression through Compressor hooks,
// both implemented on the host in //mm/swap:host_swap_ops; all metadata and
// zram's compressed data come from the buddy allocator and the slab layer.
//
// LOCK ORDER:
//   SwapSystem::lock_ (swap_lock) -> SwapDevice::lock_ -> slab locks -> buddy locks -> log
// SwapDevice::lock_ guards the slot allocator (swap_map_, clusters), the zram
// slot table and its counters, and the scratch buffer; file I/O and
// compression run with it held. Counters read by views are relaxed atomics
// (stats_). Nothing is lockless except those reads.
#ifndef MM_SWAP_SWAP_DEVICE_H_
#define MM_SWAP_SWAP_DEVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/base/types.h"
#include "mm/base/spinlock.h"
#include "mm/base/thread_annotations.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/slab_common/slab_system.h"
#include "mm/swap/policies.h"
#include "mm/vm/vm_types.h"

namespace mm::swap {

// A compression algorithm (host: lz4, zstd). Both return the output length,
// or a negative value on failure (compress: output would exceed `cap`).
// `level` is what Linux 6.12+ zram's algorithm_params "level=N" sets (lz4: the
// acceleration; zstd: the compression level): 0 is the algorithm's default,
// otherwise 1..max_level; max_level 0 means the algorithm takes no level.
struct Compressor {
  const char* name = nullptr;
  void* context = nullptr;
  int level = 0;
  int max_level = 0;
  long (*compress)(void* ctx, int level, const void* src, size_t n, void* dst,
                   size_t cap) = nullptr;
  long (*decompress)(void* ctx, const void* src, size_t n, void* dst, size_t cap) = nullptr;
};
// The largest level any compressor takes (LZ4_ACCELERATION_MAX); the boot
// word refuses anything above it, Init anything above the chosen one's max.
inline constexpr int kMaxCompLevel = 65537;

// What the host gives the swap layer (nullptr on the kernel): file I/O for
// swap files and the compressors zram may use.
struct SwapHostOps {
  const FileOps* files = nullptr;
  const Compressor* compressors = nullptr;
  int nr_compressors = 0;
};

enum class SwapKind : uint8_t { kFile, kZram };

inline constexpr int kMaxSwapDevices = 8;
inline constexpr int kNoPrio = -32768;  // no prio given: Linux's -2, -3, ... by order

struct SwapDeviceConfig {
  SwapKind kind = SwapKind::kZram;
  char path[512] = {};   // swap file path (kFile); longer paths are refused at parse
  uint64_t bytes = 0;    // device size
  int prio = kNoPrio;
};

// Boot configuration of the swap layer (ParseSwapOption fills it).
struct SwapConfig {
  SwapDeviceConfig devices[kMaxSwapDevices];
  int nr_devices = 0;
  PolicyKind policy = kDefaultPolicy;   // swap_policy=NAME
  int swappiness = 60;                  // vm.swappiness=N (0..200)
  char zram_comp[16] = "lz4";           // zram.comp_algorithm=lz4|zstd
  int zram_level = 0;                   // zram.algorithm_params=level=N (0: default)
  bool kswapd_thread = true;            // false: kswapd's work runs in the caller
};

// The mkswap header (version 1) in the first page of a swap file: boot bits,
// then version, last_page, nr_badpages, uuid, volume name, padding, the bad
// page list; "SWAPSPACE2" occupies the last 10 bytes of the page.
struct SwapHeader {
  char bootbits[1024];
  uint32_t version;
  uint32_t last_page;
  uint32_t nr_badpages;
  uint8_t uuid[16];
  char volume_name[16];
  uint32_t padding[117];
  uint32_t badpages[1];
};
inline constexpr size_t kSwapMagicOffset = kPageSize - 10;
inline constexpr size_t kMaxBadPages = (kSwapMagicOffset - offsetof(SwapHeader, badpages)) / 4;
// Fewer usable pages than this: refused (Linux asks for at least 10).
inline constexpr uint64_t kMinSwapPages = 10;

// A big array of T in buddy blocks of kChunkOrder, found through one index
// page. Invariant: chunk i holds elements [i*per_chunk, (i+1)*per_chunk).
template <typename T>
class PageArray {
 public:
  static constexpr unsigned kChunkOrder = 4;
  static constexpr size_t kPerChunk = (kPageSize << kChunkOrder) / sizeof(T);
  static constexpr size_t kMaxChunks = kPageSize / sizeof(void*);

  int Init(BuddyAllocator& buddy, size_t n) {
    buddy_ = &buddy;
    n_ = n;
    const size_t chunks = (n + kPerChunk - 1) / kPerChunk;
    if (chunks > kMaxChunks) return -kEINVAL;
    index_page_ = buddy.AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, 0);
    if (index_page_ == nullptr) return -kENOMEM;
    chunks_ = static_cast<T**>(buddy.PageAddress(index_page_));
    for (size_t c = 0; c < chunks; ++c) {
      page* p = buddy.AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, kChunkOrder);
      if (p == nullptr) {
        Destroy();
        return -kENOMEM;
      }
      chunks_[c] = static_cast<T*>(buddy.PageAddress(p));
      nr_chunks_ = c + 1;
    }
    return 0;
  }
  void Destroy() {
    if (chunks_ == nullptr) return;
    for (size_t c = 0; c < nr_chunks_; ++c)
      buddy_->FreePagesByAddress(reinterpret_cast<uintptr_t>(chunks_[c]), kChunkOrder);
    buddy_->FreePages(index_page_, 0);
    chunks_ = nullptr;
    nr_chunks_ = 0;
  }
  T& operator[](size_t i) { return chunks_[i / kPerChunk][i % kPerChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kPerChunk][i % kPerChunk]; }
  size_t size() const { return n_; }
  // Pages this array takes from the buddy allocator.
  uint64_t pages() const { return chunks_ == nullptr ? 0 : 1 + (nr_chunks_ << kChunkOrder); }

 private:
  BuddyAllocator* buddy_ = nullptr;
  page* index_page_ = nullptr;
  T** chunks_ = nullptr;
  size_t nr_chunks_ = 0;
  size_t n_ = 0;
};

// One swap device: slot allocator + backing store (file or zram).
class SwapDevice {
 public:
  static constexpr uint32_t kClusterSlots = 256;     // SWAPFILE_CLUSTER
  static constexpr uint16_t kSwapMapBad = 0xffff;    // header or bad page: never handed out
  static constexpr uint16_t kSwapMapMax = 0xfff0;    // a slot's use count stays below
  // zram: a page compressing to more than this is stored as it is (a "huge" page).
  static constexpr size_t kHugeThreshold = kPageSize * 3 / 4;

  SwapDevice() = default;
  SwapDevice(const SwapDevice&) = delete;
  SwapDevice& operator=(const SwapDevice&) = delete;

  // Opens a swap file made by mkswap: checks the header (SWAPSPACE2, version
  // 1, last_page, bad pages) and that the file holds `bytes` (0: whatever the
  // header says). -EINVAL with a message naming the file on a bad header or
  // a file too small; -ENOENT/-ENOSYS when it cannot be opened.
  int InitFile(BuddyAllocator& buddy, const FileOps* files, const char* path, uint64_t bytes,
               int prio, int type);
  // A zram device of `bytes` (disksize) compressing with `comp`.
  int InitZram(BuddyAllocator& buddy, SlabSystem& slab, const Compressor* comp, uint64_t bytes,
               int prio, int type);
  // Frees all metadata and stored data; closes the file.
  void Shutdown();

  // ---- Slot allocator ----
  // Hands out up to `n` free slots (use count 1), contiguous when one cluster
  // has them; returns how many were written to out[]. Slot 0 never.
  int AllocSlots(uint64_t* out, int n);
  // One more / one fewer reference. Free returns the count left; at 0 the
  // slot's data is dropped (zram) and the slot is free.
  void Dup(uint64_t slot);
  uint32_t Free(uint64_t slot);
  uint32_t Count(uint64_t slot);

  // ---- I/O (a whole page) ----
  // 0 or -errno (-EIO on a failed write: the caller keeps the page).
  int WritePage(uint64_t slot, const void* data);
  int ReadPage(uint64_t slot, void* data);

  // Fault injection for tests: the next `n` writes fail with -EIO.
  void FailNextWrites(int n) { fail_writes_.store(n, std::memory_order_relaxed); }
  // zram's mem_limit in bytes (0: none): a write that would exceed it fails.
  void SetMemLimit(uint64_t bytes) { mem_limit_.store(bytes, std::memory_order_relaxed); }

  // ---- Views ----
  SwapKind kind() const { return kind_; }
  int type() const { return type_; }
  int prio() const { return prio_; }
  const char* name() const { return name_; }
  uint64_t nr_slots() const { return nr_slots_; }       // incl. slot 0 and bad ones
  uint64_t usable_pages() const { return usable_; }     // Linux's si->pages
  uint64_t inuse_pages() const { return inuse_.load(std::memory_order_relaxed); }
  uint64_t free_pages() const { return usable_ - inuse_pages(); }
  const char* comp_name() const { return comp_ == nullptr ? "" : comp_->name; }
  // The compressor's algorithm_params level (0: the algorithm's default).
  int comp_level() const { return comp_ == nullptr ? 0 : comp_->level; }
  // One /proc/swaps line.
  void ShowSwapsLine(TextBuffer& out);
  // /sys/block/zramN/mm_stat (Linux's 9 columns).
  void ShowMmStat(TextBuffer& out);
  uint64_t same_pages() const { return same_pages_.load(std::memory_order_relaxed); }
  uint64_t huge_pages() const { return huge_pages_.load(std::memory_order_relaxed); }
  uint64_t compr_data_size() const { return compr_bytes_.load(std::memory_order_relaxed); }
  uint64_t orig_data_pages() const { return stored_pages_.load(std::memory_order_relaxed); }
  uint64_t mem_used_total() const { return mem_used_.load(std::memory_order_relaxed); }
  uint64_t metadata_pages() const { return map_.pages() + cluster_used_.pages() + zslots_.pages(); }

  // Walks swap_map and the clusters: used counts, inuse, zram sums.
  bool CheckInvariants();

 private:
  // A zram slot: nothing, a same-filled page (value = the repeated word), a
  // compressed object (kmalloc'd, `size` bytes) or a huge page (a buddy page).
  struct ZSlot {
    uintptr_t handle;
    uint32_t size;
    uint8_t kind;  // kZNone, kZSame, kZObj, kZHuge
  };
  static constexpr uint8_t kZNone = 0, kZSame = 1, kZObj = 2, kZHuge = 3;

  int InitCommon(BuddyAllocator& buddy, uint64_t slots, int prio, int type);
  void ZramDropLocked(uint64_t slot) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  int ZramWriteLocked(uint64_t slot, const void* data) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  int ZramReadLocked(uint64_t slot, void* data) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void TakeSlotLocked(uint64_t slot) MM_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void AddMemUsed(int64_t delta);

  SpinLock lock_;
  SwapKind kind_ = SwapKind::kZram;
  int type_ = 0;
  int prio_ = 0;
  char name_[512] = {};  // the path as /proc/swaps shows it
  BuddyAllocator* buddy_ = nullptr;
  SlabSystem* slab_ = nullptr;
  const FileOps* files_ = nullptr;
  int64_t handle_ = -1;
  const Compressor* comp_ = nullptr;
  uint64_t nr_slots_ = 0;
  uint64_t usable_ = 0;
  // Invariants (CheckInvariants): swap_map_[s] is kSwapMapBad for slot 0 and
  // bad pages, else the number of references (PTEs + swap cache) to slot s;
  // cluster_used_[c] == |{s in cluster c : swap_map_[s] != 0}|;
  // inuse_ == |{s : 0 < swap_map_[s] < kSwapMapBad}|; a cluster with
  // cluster_used_ == 0 is on the free-cluster stack exactly once unless it is
  // the current cluster; zram: zslots_[s].kind != kZNone only if swap_map_[s]
  // != 0, and stored_pages_/same_pages_/huge_pages_/compr_bytes_ are the sums
  // over zslots_.
  PageArray<uint16_t> map_ MM_GUARDED_BY(lock_);
  PageArray<uint16_t> cluster_used_ MM_GUARDED_BY(lock_);
  PageArray<uint32_t> free_clusters_ MM_GUARDED_BY(lock_);  // a stack of cluster numbers
  PageArray<ZSlot> zslots_ MM_GUARDED_BY(lock_);
  uint32_t nr_clusters_ = 0;
  uint32_t nr_free_clusters_ MM_GUARDED_BY(lock_) = 0;
  uint32_t cur_cluster_ MM_GUARDED_BY(lock_) = ~0u;  // the cluster being filled
  uint32_t cur_next_ MM_GUARDED_BY(lock_) = 0;       // next slot to try in it
  uint64_t scan_next_ MM_GUARDED_BY(lock_) = 1;      // fallback scan position
  page* scratch_ MM_GUARDED_BY(lock_) = nullptr;     // zram: 2 pages of compression output
  std::atomic<uint64_t> inuse_{0};
  std::atomic<int> fail_writes_{0};
  std::atomic<uint64_t> mem_limit_{0};
  std::atomic<uint64_t> stored_pages_{0}, same_pages_{0}, huge_pages_{0}, huge_since_{0},
      compr_bytes_{0}, mem_used_{0}, mem_used_max_{0};
};

// Parses one boot word of the swap layer into *cfg:
//   swap=file:PATH:SIZE[:PRIO]   swap=zram:SIZE[:PRIO]   (several allowed)
//   swap_policy=NAME             zram.comp_algorithm=lz4|zstd
//   zram.algorithm_params=[algo=NAME,][priority=0,]level=N   (N 1..kMaxCompLevel)
//   vm.swappiness=N              kswapd=thread|sync
// Returns 0 when parsed, 1 when the word is not a swap word, -EINVAL (with a
// Printk naming the word) for a bad value.
int ParseSwapOption(const char* word, size_t len, SwapConfig* cfg);

}  // namespace mm::swap

#endif  // MM_SWAP_SWAP_DEVICE_H_
