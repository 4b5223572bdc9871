// Swap devices: slot allocator, swap file with an mkswap header, zram.
// Lock order and invariants: swap_device.h.
#include "mm/swap/swap_device.h"

#include "mm/base/bits.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/base/string_util.h"

namespace mm::swap {

namespace {

constexpr gfp_t kMetaGfp = GFP_KERNEL | __GFP_NOWARN;
// Compressed data and huge pages: never recurse into reclaim (we are called
// from it) and dip into the reserves, as zram's writes from reclaim do.
constexpr gfp_t kDataGfp = GFP_ATOMIC | __GFP_NOWARN;

bool SameFilled(const void* data, uintptr_t* value) {
  const uint64_t* w = static_cast<const uint64_t*>(data);
  const uint64_t v = w[0];
  for (size_t i = 1; i < kPageSize / 8; ++i)
    if (w[i] != v) return false;
  *value = static_cast<uintptr_t>(v);
  return true;
}

}  // namespace

int SwapDevice::InitCommon(BuddyAllocator& buddy, uint64_t slots, int prio, int type) {
  buddy_ = &buddy;
  prio_ = prio;
  type_ = type;
  nr_slots_ = slots;
  nr_clusters_ = static_cast<uint32_t>((slots + kClusterSlots - 1) / kClusterSlots);
  int err = map_.Init(buddy, slots);
  if (err == 0) err = cluster_used_.Init(buddy, nr_clusters_);
  if (err == 0) err = free_clusters_.Init(buddy, nr_clusters_);
  if (err != 0) return err;
  SpinLockGuard g(lock_);
  // Slots past the end of the last cluster do not exist; slot 0 is the header.
  map_[0] = kSwapMapBad;
  cluster_used_[0] = 1;
  nr_free_clusters_ = 0;
  cur_cluster_ = 0;  // cluster 0 (holding the header) is filled first
  cur_next_ = 1;
  for (uint32_t c = nr_clusters_; c-- > 0;) {
    const uint64_t end = static_cast<uint64_t>(c + 1) * kClusterSlots;
    if (end > slots) cluster_used_[c] += static_cast<uint16_t>(end - slots);
    if (cluster_used_[c] == 0 && c != 0) free_clusters_[nr_free_clusters_++] = c;
  }
  return 0;
}

int SwapDevice::InitFile(BuddyAllocator& buddy, const FileOps* files, const char* path,
                         uint64_t bytes, int prio, int type) {
  kind_ = SwapKind::kFile;
  StrCopy(name_, sizeof name_, path);
  if (files == nullptr || files->open == nullptr) {
    Printk("swapon: %s: no host files on this platform\n", path);
    return -kENOSYS;
  }
  int64_t h = -1;
  int err = files->open(files->context, path, O_RDWR, 0, &h);
  if (err < 0) {
    Printk("swapon: %s: cannot open (error %d)\n", path, err);
    return err;
  }
  files_ = files;
  handle_ = h;
  const int64_t fsize = files->size != nullptr ? files->size(files->context, h) : -1;
  page* hp = buddy.AllocPages(kMetaGfp, 0);
  if (hp == nullptr) {
    Shutdown();
    return -kENOMEM;
  }
  auto* hdr = static_cast<SwapHeader*>(buddy.PageAddress(hp));
  const long got = fsize >= static_cast<int64_t>(kPageSize)
                       ? files->read(files->context, h, 0, hdr, kPageSize)
                       : 0;
  const char* bad = nullptr;
  uint64_t pages = 0;
  if (got != static_cast<long>(kPageSize)) {
    bad = "too small for a swap header";
  } else if (__builtin_memcmp(reinterpret_cast<char*>(hdr) + kSwapMagicOffset, "SWAPSPACE2", 10) !=
             0) {
    bad = "no swap signature (SWAPSPACE2) found: not an mkswap'd swap file";
  } else if (hdr->version != 1) {
    bad = "unsupported swap header version (want 1)";
  } else if (hdr->nr_badpages > kMaxBadPages) {
    bad = "too many bad pages in the swap header";
  } else {
    pages = static_cast<uint64_t>(hdr->last_page) + 1;
    const uint64_t file_pages = static_cast<uint64_t>(fsize) / kPageSize;
    if (bytes != 0 && pages > bytes / kPageSize) pages = bytes / kPageSize;
    if (pages > file_pages) {
      bad = "swap area is larger than the file (last_page past the end)";
    } else if (bytes != 0 && file_pages < bytes / kPageSize) {
      bad = "file too small for the requested swap size";
    } else if (pages < kMinSwapPages) {
      bad = "swap area too small (fewer than 10 pages)";
    }
  }
  if (bad != nullptr) {
    Printk("swapon: %s: %s\n", path, bad);
    buddy.FreePages(hp, 0);
    Shutdown();
    return -kEINVAL;
  }
  err = InitCommon(buddy, pages, prio, type);
  if (err == 0) {
    SpinLockGuard g(lock_);
    usable_ = pages - 1;
    for (uint32_t i = 0; i < hdr->nr_badpages; ++i) {
      const uint64_t b = hdr->badpages[i];
      if (b == 0 || b >= pages || map_[b] == kSwapMapBad) continue;
      TakeSlotLocked(b);
      map_[b] = kSwapMapBad;
      --usable_;
    }
  }
  buddy.FreePages(hp, 0);
  if (err != 0) Shutdown();
  return err;
}

int SwapDevice::InitZram(BuddyAllocator& buddy, SlabSystem& slab, const Compressor* comp,
                         uint64_t bytes, int prio, int type) {
  kind_ = SwapKind::kZram;
  StrCopy(name_, sizeof name_, "/dev/zram0");
  name_[9] = static_cast<char>('0' + (type < 10 ? type : 9));
  slab_ = &slab;
  comp_ = comp;
  if (comp == nullptr || comp->compress == nullptr || comp->decompress == nullptr) {
    Printk("zram: no compressor available\n");
    return -kENOSYS;
  }
  const uint64_t pages = bytes / kPageSize;
  if (pages < kMinSwapPages) {
    Printk("zram: disksize %llu too small\n", static_cast<unsigned long long>(bytes));
    return -kEINVAL;
  }
  int err = InitCommon(buddy, pages, prio, type);
  if (err == 0) err = zslots_.Init(buddy, pages);
  if (err == 0) {
    SpinLockGuard g(lock_);
    scratch_ = buddy.AllocPages(kMetaGfp, 1);
    if (scratch_ == nullptr) err = -kENOMEM;
  }
  if (err != 0) {
    Shutdown();
    return err;
  }
  usable_ = pages - 1;
  return 0;
}

void SwapDevice::Shutdown() {
  if (kind_ == SwapKind::kZram && zslots_.size() != 0) {
    SpinLockGuard g(lock_);
    for (uint64_t s = 0; s < nr_slots_; ++s) ZramDropLocked(s);
  }
  {
    SpinLockGuard g(lock_);
    if (scratch_ != nullptr) buddy_->FreePages(scratch_, 1);
    scratch_ = nullptr;
    zslots_.Destroy();
    map_.Destroy();
    cluster_used_.Destroy();
    free_clusters_.Destroy();
  }
  if (handle_ >= 0 && files_ != nullptr && files_->close != nullptr)
    files_->close(files_->context, handle_);
  handle_ = -1;
  inuse_.store(0, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- slots

void SwapDevice::TakeSlotLocked(uint64_t slot) {
  // A slot taken from a cluster that was free leaves the free-cluster stack.
  const uint32_t c = static_cast<uint32_t>(slot / kClusterSlots);
  if (cluster_used_[c] == 0 && c != cur_cluster_) {
    for (uint32_t i = 0; i < nr_free_clusters_; ++i) {
      if (free_clusters_[i] == c) {
        free_clusters_[i] = free_clusters_[--nr_free_clusters_];
        break;
      }
    }
  }
  ++cluster_used_[c];
}

int SwapDevice::AllocSlots(uint64_t* out, int n) {
  SpinLockGuard g(lock_);
  int got = 0;
  while (got < n && inuse_.load(std::memory_order_relaxed) < usable_) {
    // 1. The current cluster, sequentially (so a batch of pages lands on
    //    contiguous slots and readahead finds neighbours).
    if (cur_cluster_ != ~0u) {
      const uint64_t base = static_cast<uint64_t>(cur_cluster_) * kClusterSlots;
      while (cur_next_ < kClusterSlots && got < n) {
        const uint64_t s = base + cur_next_++;
        if (s >= nr_slots_ || map_[s] != 0) continue;
        map_[s] = 1;
        ++cluster_used_[cur_cluster_];
        inuse_.fetch_add(1, std::memory_order_relaxed);
        out[got++] = s;
      }
      if (got == n) break;
      cur_cluster_ = ~0u;
    }
    // 2. A free cluster.
    if (nr_free_clusters_ > 0) {
      cur_cluster_ = free_clusters_[--nr_free_clusters_];
      cur_next_ = 0;
      continue;
    }
    // 3. Fragmented: scan for any free slot.
    bool found = false;
    for (uint64_t i = 0; i < nr_slots_; ++i) {
      const uint64_t s = scan_next_;
      scan_next_ = scan_next_ + 1 >= nr_slots_ ? 1 : scan_next_ + 1;
      if (map_[s] != 0) continue;
      TakeSlotLocked(s);
      map_[s] = 1;
      inuse_.fetch_add(1, std::memory_order_relaxed);
      out[got++] = s;
      found = true;
      break;
    }
    if (!found) break;
  }
  return got;
}

void SwapDevice::Dup(uint64_t slot) {
  SpinLockGuard g(lock_);
  MM_CHECK(slot < nr_slots_ && map_[slot] != 0 && map_[slot] < kSwapMapMax);
  ++map_[slot];
}

uint32_t SwapDevice::Free(uint64_t slot) {
  SpinLockGuard g(lock_);
  MM_CHECK(slot < nr_slots_ && map_[slot] != 0 && map_[slot] != kSwapMapBad);
  const uint32_t left = --map_[slot];
  if (left == 0) {
    if (kind_ == SwapKind::kZram) ZramDropLocked(slot);
    const uint32_t c = static_cast<uint32_t>(slot / kClusterSlots);
    if (--cluster_used_[c] == 0 && c != cur_cluster_) free_clusters_[nr_free_clusters_++] = c;
    inuse_.fetch_sub(1, std::memory_order_relaxed);
  }
  return left;
}

uint32_t SwapDevice::Count(uint64_t slot) {
  SpinLockGuard g(lock_);
  return slot < nr_slots_ ? map_[slot] : 0;
}

// ---------------------------------------------------------------- I/O

int SwapDevice::WritePage(uint64_t slot, const void* data) {
  SpinLockGuard g(lock_);
  MM_CHECK(slot > 0 && slot < nr_slots_ && map_[slot] != 0 && map_[slot] != kSwapMapBad);
  int f = fail_writes_.load(std::memory_order_relaxed);
  while (f > 0 && !fail_writes_.compare_exchange_weak(f, f - 1, std::memory_order_relaxed)) {
  }
  if (f > 0) return -kEIO;
  if (kind_ == SwapKind::kZram) return ZramWriteLocked(slot, data);
  const long n = files_->write(files_->context, handle_, slot * kPageSize, data, kPageSize);
  return n == static_cast<long>(kPageSize) ? 0 : -kEIO;
}

int SwapDevice::ReadPage(uint64_t slot, void* data) {
  SpinLockGuard g(lock_);
  MM_CHECK(slot > 0 && slot < nr_slots_ && map_[slot] != 0 && map_[slot] != kSwapMapBad);
  if (kind_ == SwapKind::kZram) return ZramReadLocked(slot, data);
  const long n = files_->read(files_->context, handle_, slot * kPageSize, data, kPageSize);
  return n == static_cast<long>(kPageSize) ? 0 : -kEIO;
}

void SwapDevice::AddMemUsed(int64_t delta) {
  const uint64_t now = mem_used_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed) +
                       static_cast<uint64_t>(delta);
  if (now > mem_used_max_.load(std::memory_order_relaxed))
    mem_used_max_.store(now, std::memory_order_relaxed);
}

void SwapDevice::ZramDropLocked(uint64_t slot) {
  ZSlot& z = zslots_[slot];
  switch (z.kind) {
    case kZNone:
      return;
    case kZSame:
      same_pages_.fetch_sub(1, std::memory_order_relaxed);
      break;
    case kZObj:
      AddMemUsed(-static_cast<int64_t>(slab_->Ksize(reinterpret_cast<void*>(z.handle))));
      slab_->Kfree(reinterpret_cast<void*>(z.handle));
      break;
    case kZHuge:
      AddMemUsed(-static_cast<int64_t>(kPageSize));
      huge_pages_.fetch_sub(1, std::memory_order_relaxed);
      buddy_->FreePagesByAddress(z.handle, 0);
      break;
  }
  compr_bytes_.fetch_sub(z.size, std::memory_order_relaxed);
  stored_pages_.fetch_sub(1, std::memory_order_relaxed);
  z = ZSlot{};
}

int SwapDevice::ZramWriteLocked(uint64_t slot, const void* data) {
  ZramDropLocked(slot);  // an overwrite
  ZSlot z{};
  uintptr_t value;
  if (SameFilled(data, &value)) {
    z.kind = kZSame;
    z.handle = value;
    same_pages_.fetch_add(1, std::memory_order_relaxed);
  } else {
    void* buf = buddy_->PageAddress(scratch_);
    const long n =
        comp_->compress(comp_->context, comp_->level, data, kPageSize, buf, 2 * kPageSize);
    const uint64_t limit = mem_limit_.load(std::memory_order_relaxed);
    if (n > 0 && static_cast<size_t>(n) <= kHugeThreshold) {
      if (limit != 0 && mem_used_.load(std::memory_order_relaxed) + n > limit) return -kENOSPC;
      void* obj = slab_->Kmalloc(static_cast<size_t>(n), kDataGfp);
      if (obj == nullptr) return -kENOMEM;
      __builtin_memcpy(obj, buf, static_cast<size_t>(n));
      z.kind = kZObj;
      z.handle = reinterpret_cast<uintptr_t>(obj);
      z.size = static_cast<uint32_t>(n);
      AddMemUsed(static_cast<int64_t>(slab_->Ksize(obj)));
    } else {
      // Incompressible: stored as it is, in a page of its own.
      if (limit != 0 && mem_used_.load(std::memory_order_relaxed) + kPageSize > limit)
        return -kENOSPC;
      page* p = buddy_->AllocPages(kDataGfp, 0);
      if (p == nullptr) return -kENOMEM;
      __builtin_memcpy(buddy_->PageAddress(p), data, kPageSize);
      z.kind = kZHuge;
      z.handle = reinterpret_cast<uintptr_t>(buddy_->PageAddress(p));
      z.size = kPageSize;
      huge_pages_.fetch_add(1, std::memory_order_relaxed);
      huge_since_.fetch_add(1, std::memory_order_relaxed);
      AddMemUsed(kPageSize);
    }
  }
  compr_bytes_.fetch_add(z.size, std::memory_order_relaxed);
  stored_pages_.fetch_add(1, std::memory_order_relaxed);
  zslots_[slot] = z;
  return 0;
}

int SwapDevice::ZramReadLocked(uint64_t slot, void* data) {
  const ZSlot& z = zslots_[slot];
  switch (z.kind) {
    case kZNone:
      __builtin_memset(data, 0, kPageSize);  // never written: reads as zeros
      return 0;
    case kZSame: {
      uint64_t* w = static_cast<uint64_t*>(data);
      for (size_t i = 0; i < kPageSize / 8; ++i) w[i] = z.handle;
      return 0;
    }
    case kZHuge:
      __builtin_memcpy(data, reinterpret_cast<void*>(z.handle), kPageSize);
      return 0;
    default: {
      const long n = comp_->decompress(comp_->context, reinterpret_cast<void*>(z.handle), z.size,
                                       data, kPageSize);
      return n == static_cast<long>(kPageSize) ? 0 : -kEIO;
    }
  }
}

// ---------------------------------------------------------------- views

void SwapDevice::ShowSwapsLine(TextBuffer& out) {
  // Linux: the path, padded to 40 columns, then type, sizes in kB, priority.
  const size_t len = StrLen(name_);
  const unsigned long size_kb = usable_ * (kPageSize / 1024);
  const unsigned long used_kb = inuse_pages() * (kPageSize / 1024);
  out.Append("%s%*s%s\t%lu\t%s%lu\t%s%d\n", name_, static_cast<int>(len < 40 ? 40 - len : 1), " ",
             kind_ == SwapKind::kZram ? "partition" : "file\t", size_kb,
             size_kb < 10000000 ? "\t" : "", used_kb, used_kb < 10000000 ? "\t" : "", prio_);
}

void SwapDevice::ShowMmStat(TextBuffer& out) {
  out.Append("%8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu\n",
             static_cast<unsigned long long>(stored_pages_.load() * kPageSize),
             static_cast<unsigned long long>(compr_bytes_.load()),
             static_cast<unsigned long long>(mem_used_.load()),
             static_cast<unsigned long long>(mem_limit_.load()),
             static_cast<unsigned long long>(mem_used_max_.load()),
             static_cast<unsigned long long>(same_pages_.load()), 0ull,
             static_cast<unsigned long long>(huge_pages_.load()),
             static_cast<unsigned long long>(huge_since_.load()));
}

bool SwapDevice::CheckInvariants() {
  SpinLockGuard g(lock_);
  uint64_t inuse = 0, stored = 0, same = 0, huge = 0, compr = 0;
  for (uint32_t c = 0; c < nr_clusters_; ++c) {
    uint32_t used = 0;
    for (uint64_t s = uint64_t{c} * kClusterSlots; s < uint64_t{c + 1} * kClusterSlots; ++s) {
      if (s >= nr_slots_) {
        ++used;
        continue;
      }
      if (map_[s] != 0) ++used;
      if (map_[s] != 0 && map_[s] != kSwapMapBad) ++inuse;
      if (kind_ == SwapKind::kZram && zslots_[s].kind != kZNone) {
        if (map_[s] == 0) {
          Printk("swap: %s slot %llu holds data but is free\n", name_,
                 static_cast<unsigned long long>(s));
          return false;
        }
        ++stored;
        same += zslots_[s].kind == kZSame;
        huge += zslots_[s].kind == kZHuge;
        compr += zslots_[s].size;
      }
    }
    if (used != cluster_used_[c]) {
      Printk("swap: %s cluster %u used %u, counted %u\n", name_, c, cluster_used_[c], used);
      return false;
    }
  }
  for (uint32_t i = 0; i < nr_free_clusters_; ++i) {
    if (cluster_used_[free_clusters_[i]] != 0 || free_clusters_[i] == cur_cluster_) {
      Printk("swap: %s free-cluster stack holds a used cluster\n", name_);
      return false;
    }
  }
  if (inuse != inuse_.load() || (kind_ == SwapKind::kZram &&
                                 (stored != stored_pages_.load() || same != same_pages_.load() ||
                                  huge != huge_pages_.load() || compr != compr_bytes_.load()))) {
    Printk("swap: %s counters disagree with the slot map\n", name_);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- boot words

namespace {

int Bad(const char* word, size_t len, const char* why) {
  Printk("swap: bad option '%.*s': %s\n", static_cast<int>(len), word, why);
  return -kEINVAL;
}

// Splits off the next ':'-separated field of [*p, end).
bool NextField(const char** p, const char* end, const char** f, size_t* n) {
  if (*p > end) return false;
  const char* s = *p;
  const char* e = s;
  while (e < end && *e != ':') ++e;
  *f = s;
  *n = static_cast<size_t>(e - s);
  *p = e + 1;
  return true;
}

bool ParseInt(const char* s, size_t n, int* out) {
  bool neg = false;
  if (n > 0 && *s == '-') {
    neg = true;
    ++s;
    --n;
  }
  uint64_t v;
  if (!ParseU64(s, n, &v) || v > 32767) return false;
  *out = neg ? -static_cast<int>(v) : static_cast<int>(v);
  return true;
}

}  // namespace

int ParseSwapOption(const char* word, size_t len, SwapConfig* cfg) {
  const char* end = word + len;
  if (len > 5 && StrEqN(word, 5, "swap=")) {
    if (cfg->nr_devices >= kMaxSwapDevices) return Bad(word, len, "too many swap devices");
    SwapDeviceConfig d;
    const char* p = word + 5;
    const char* f = nullptr;
    size_t n = 0;
    NextField(&p, end, &f, &n);
    if (n == 4 && StrEqN(f, 4, "file")) {
      d.kind = SwapKind::kFile;
      if (!NextField(&p, end, &f, &n) || n == 0 || n >= sizeof d.path)
        return Bad(word, len, "want swap=file:PATH:SIZE[:PRIO]");
      __builtin_memcpy(d.path, f, n);
      d.path[n] = '\0';
    } else if (n == 4 && StrEqN(f, 4, "zram")) {
      d.kind = SwapKind::kZram;
    } else {
      return Bad(word, len, "device kind must be file or zram");
    }
    if (!NextField(&p, end, &f, &n) || !ParseSize(f, n, &d.bytes) || d.bytes < kMinSwapPages * kPageSize)
      return Bad(word, len, "SIZE missing, malformed or below 40K");
    if (NextField(&p, end, &f, &n) && !ParseInt(f, n, &d.prio))
      return Bad(word, len, "PRIO must be an integer in -32767..32767");
    if (p <= end) return Bad(word, len, "trailing fields");
    cfg->devices[cfg->nr_devices++] = d;
    return 0;
  }
  if (len > 12 && StrEqN(word, 12, "swap_policy=")) {
    char name[24];
    if (len - 12 >= sizeof name) return Bad(word, len, "unknown policy");
    __builtin_memcpy(name, word + 12, len - 12);
    name[len - 12] = '\0';
    const std::optional<PolicyKind> k = ParsePolicyName(name);
    if (!k.has_value() || IsOffline(*k)) return Bad(word, len, "unknown (or offline) policy");
    cfg->policy = *k;
    return 0;
  }
  if (len > 20 && StrEqN(word, 20, "zram.comp_algorithm=")) {
    const char* a = word + 20;
    const size_t n = len - 20;
    if (!((n == 3 && StrEqN(a, 3, "lz4")) || (n == 4 && StrEqN(a, 4, "zstd"))))
      return Bad(word, len, "comp_algorithm must be lz4 or zstd");
    __builtin_memcpy(cfg->zram_comp, a, n);
    cfg->zram_comp[n] = '\0';
    return 0;
  }
  if (len > 22 && StrEqN(word, 22, "zram.algorithm_params=")) {
    // Linux's "algo=NAME priority=N level=N" with commas for spaces (a boot
    // word has none). algo must name the algorithm chosen so far (Linux looks
    // it up among the device's algorithms); priority 0 only (no recompression
    // here); dict= and other keys are not supported. The level is checked
    // against the chosen compressor's own range again when zram starts.
    const char* p = word + 22;
    int level = 0;
    for (;;) {
      const char* e = p;
      while (e < end && *e != ',') ++e;
      const char* eq = p;
      while (eq < e && *eq != '=') ++eq;
      if (eq == e || eq + 1 == e) return Bad(word, len, "want key=value pairs separated by ','");
      const size_t klen = static_cast<size_t>(eq - p);
      const char* v = eq + 1;
      const size_t vlen = static_cast<size_t>(e - v);
      if (klen == 5 && StrEqN(p, 5, "level")) {
        uint64_t n;
        if (!ParseU64(v, vlen, &n) || n < 1 || n > static_cast<uint64_t>(kMaxCompLevel))
          return Bad(word, len, "level must be an integer in 1..65537");
        level = static_cast<int>(n);
      } else if (klen == 4 && StrEqN(p, 4, "algo")) {
        if (!StrEqN(v, vlen, cfg->zram_comp))
          return Bad(word, len, "algo is not zram's comp_algorithm");
      } else if (klen == 8 && StrEqN(p, 8, "priority")) {
        if (!(vlen == 1 && *v == '0')) return Bad(word, len, "only priority 0 (no recompression)");
      } else {
        return Bad(word, len, "only algo=, priority= and level= are supported");
      }
      if (e == end) break;
      p = e + 1;  // a trailing ',' leaves an empty pair: refused above
    }
    if (level == 0) return Bad(word, len, "level=N missing");
    cfg->zram_level = level;
    return 0;
  }
  if (len > 14 && StrEqN(word, 14, "vm.swappiness=")) {
    int v;
    if (!ParseInt(word + 14, len - 14, &v) || v < 0 || v > 200)
      return Bad(word, len, "swappiness must be 0..200");
    cfg->swappiness = v;
    return 0;
  }
  if (len > 7 && StrEqN(word, 7, "kswapd=")) {
    if (len == 13 && StrEqN(word + 7, 6, "thread")) {
      cfg->kswapd_thread = true;
    } else if (len == 11 && StrEqN(word + 7, 4, "sync")) {
      cfg->kswapd_thread = false;
    } else {
      return Bad(word, len, "kswapd must be thread or sync");
    }
    return 0;
  }
  return 1;
}

}  // namespace mm::swap
