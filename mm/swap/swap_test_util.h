// Test and benchmark helpers for mm/swap: a whole stack (buddy, slab, VM,
// swap) over host RAM, page contents with a known checksum, configs.
#ifndef MM_SWAP_SWAP_TEST_UTIL_H_
#define MM_SWAP_SWAP_TEST_UTIL_H_

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mm/buddy/buddy_test_util.h"
#include "mm/swap/host_swap_ops.h"
#include "mm/swap/swap_system.h"
#include "mm/vm/host_file_ops.h"

namespace mm {

using swap::PolicyKind;
using swap::SwapConfig;
using swap::SwapKind;

constexpr unsigned long kRW = PROT_READ | PROT_WRITE;

inline std::string TmpPath(const std::string& name) {
  const char* d = std::getenv("TEST_TMPDIR");
  return std::string(d != nullptr ? d : "/tmp") + "/" + name;
}

// The contents of page `i` of region `r`: 16 words from a key, the rest zero
// (compressible), except every 16th page, which is random (incompressible).
inline void FillPage(uint64_t r, uint64_t i, uint64_t* w) {
  uint64_t x = (r << 40) ^ (i * 0x9E3779B97F4A7C15ull) ^ 0x1234567;
  auto next = [&] {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const size_t words = i % 16 == 5 ? kPageSize / 8 : 16;
  for (size_t k = 0; k < kPageSize / 8; ++k) w[k] = k < words ? next() : 0;
}

class Stack {
 public:
  explicit Stack(uint64_t ram, const SwapConfig& cfg) : buddy_(ram) {
    ok_ = buddy_.init_result() == 0 && slab_.Init(*buddy_, SlabConfig{}) == 0;
    buddy_->DrainAllPages();
    VmConfig vc;
    vc.file_ops = HostFileOps();
    ok_ = ok_ && vm_.Init(*buddy_, vc) == 0;
    init_result_ = ok_ ? swap_.Init(*buddy_, slab_, vm_, cfg, swap::HostSwapOps()) : -1;
    ok_ = ok_ && init_result_ == 0;
  }
  ~Stack() {
    swap_.StopKswapd();
    vm_.Shutdown();
    swap_.Shutdown();
  }
  bool ok() const { return ok_; }
  int init_result() const { return init_result_; }
  VmSystem& vm() { return vm_; }
  SwapSystem& swap() { return swap_; }
  BuddyAllocator& buddy() { return *buddy_; }

  std::string Proc(const char* path) {
    static char buf[1 << 14];
    TextBuffer out(buf, sizeof buf);
    const long n = swap_.ProcRead(path, out);
    return n < 0 ? "<" + std::to_string(n) + ">" : std::string(buf);
  }
  std::string Vmstat() {
    static char buf[1 << 14];
    TextBuffer out(buf, sizeof buf);
    swap_.ShowVmstat(out);
    return buf;
  }
  // Plain user accesses: a fault that cannot allocate reclaims by itself.
  int Store(task_struct* t, unsigned long a, const void* d, size_t n) {
    return vm_.UserStore(t, a, d, n);
  }
  int Load(task_struct* t, unsigned long a, void* d, size_t n) {
    return vm_.UserLoad(t, a, d, n);
  }
  unsigned long MmapAnon(unsigned long len) {
    return vm_.VmMmap(nullptr, 0, len, kRW, MAP_PRIVATE | MAP_ANONYMOUS, 0);
  }
  // Shared anonymous memory (shmem).
  unsigned long MmapShared(unsigned long len) {
    return vm_.VmMmap(nullptr, 0, len, kRW, MAP_SHARED | MAP_ANONYMOUS, 0);
  }
  int Fork(const char* name) {
    kernel_clone_args a;
    a.exit_signal = SIGCHLD;
    a.name = name;
    return vm_.KernelClone(&a);
  }
  bool Check() { return vm_.CheckInvariants() && swap_.CheckInvariants(); }
  // Stores FillPage(r, i) into pages [0, n) at a; the first error or 0.
  int FillRange(task_struct* t, unsigned long a, unsigned long n, uint64_t r) {
    std::vector<uint64_t> page(kPageSize / 8);
    for (unsigned long i = 0; i < n; ++i) {
      FillPage(r, i, page.data());
      if (int err = Store(t, a + i * kPageSize, page.data(), kPageSize); err != 0) return err;
    }
    return 0;
  }
  // Reads pages [0, n) back, last first; the first bad page or -1.
  long VerifyRange(task_struct* t, unsigned long a, unsigned long n, uint64_t r) {
    std::vector<uint64_t> page(kPageSize / 8), back(kPageSize / 8);
    for (unsigned long i = n; i-- > 0;) {
      FillPage(r, i, page.data());
      if (Load(t, a + i * kPageSize, back.data(), kPageSize) != 0 || page != back)
        return static_cast<long>(i);
    }
    return -1;
  }

 private:
  TestBuddy buddy_;
  SlabSystem slab_;
  VmSystem vm_;
  SwapSystem swap_;
  bool ok_ = false;
  int init_result_ = -1;
};

inline SwapConfig Config(SwapKind kind, uint64_t bytes, PolicyKind policy = swap::kDefaultPolicy,
                  const char* comp = "lz4", const std::string& file = "swapfile") {
  SwapConfig c;
  c.policy = policy;
  c.kswapd_thread = false;
  std::strcpy(c.zram_comp, comp);
  c.devices[0].kind = kind;
  c.devices[0].bytes = bytes;
  if (kind == SwapKind::kFile) {
    const std::string p = TmpPath(file);
    if (swap::HostMkswap(p.c_str(), bytes) != 0) std::abort();
    std::strcpy(c.devices[0].path, p.c_str());
  }
  c.nr_devices = 1;
  return c;
}

}  // namespace mm

#endif  // MM_SWAP_SWAP_TEST_UTIL_H_
