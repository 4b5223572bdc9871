// Test environment for the object-allocator conformance suite: a buddy
// allocator over host RAM with a SlabSystem on top, the cpu-dead callback wired
// to it, and the allocator kinds the typed tests run on.
#ifndef TEST_SLAB_SLAB_TEST_ENV_H_
#define TEST_SLAB_SLAB_TEST_ENV_H_

#include <atomic>
#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/slab_common/slab_system.h"

namespace mm::testing {

// One type per object allocator.
struct Slub {
  static constexpr AllocatorKind kKind = AllocatorKind::kSlub;
  static constexpr const char* kName = "slub";
  static constexpr bool kDebug = true;  // supports slub_debug F Z P U
  static constexpr bool kInObjectFreePointer = true;
};
struct Slab {
  static constexpr AllocatorKind kKind = AllocatorKind::kSlab;
  static constexpr const char* kName = "slab";
  static constexpr bool kDebug = true;  // red zone, poison, store user (and F checks)
  // Free objects are tracked by free-index arrays and array caches, never by a
  // pointer inside the object: there is no free chain to corrupt.
  static constexpr bool kInObjectFreePointer = false;
};
struct Slob {
  static constexpr AllocatorKind kKind = AllocatorKind::kSlob;
  static constexpr const char* kName = "slob";
  // Linux's SLOB supported no slab debugging; libmm's neither (it only reports
  // a wrong-cache free and a pointer that is not a slab object).
  static constexpr bool kDebug = false;
  static constexpr bool kInObjectFreePointer = false;
};

#ifdef MM_SANITIZER
inline constexpr int kScale = 8;  // sanitizers are slow: fewer iterations
#else
inline constexpr int kScale = 1;
#endif

class SlabEnv {
 public:
  // `words`: slab command-line words (e.g. "slub_debug=FZ,foo"), space-separated.
  SlabEnv(AllocatorKind kind, uint64_t ram_bytes, const char* words = "")
      : buddy_(ram_bytes) {
    SlabConfig cfg;
    cfg.kind = kind;
    std::string w(words);
    size_t pos = 0;
    while (pos < w.size()) {
      size_t end = w.find(' ', pos);
      if (end == std::string::npos) end = w.size();
      if (end > pos) {
        EXPECT_EQ(SlabSystem::ParseSlabOption(w.data() + pos, end - pos, &cfg), 0);
      }
      pos = end + 1;
    }
    sys_ = std::make_unique<SlabSystem>();
    init_result_ = sys_->Init(*buddy_, cfg);
    current_.store(this);
    platform::SetCpuDeadCallback(&CpuDead);
  }
  ~SlabEnv() {
    platform::SetCpuDeadCallback(nullptr);
    current_.store(nullptr);
    if (init_result_ == 0) {
      EXPECT_EQ(sys_->Shutdown(), 0);
    }
  }
  SlabSystem& sys() { return *sys_; }
  BuddyAllocator& buddy() { return *buddy_; }
  int init_result() const { return init_result_; }

  std::string Slabinfo() {
    static char buf[1 << 16];
    TextBuffer out(buf, sizeof buf);
    sys_->ShowSlabinfo(out);
    return std::string(buf, out.length() < sizeof buf ? out.length() : sizeof buf - 1);
  }
  // Free pages with every per-cpu page list drained back to the zones.
  uint64_t FreePages() { return buddy_->NrFreePages(); }

 private:
  static void CpuDead(unsigned cpu) {
    if (SlabEnv* env = current_.load()) env->sys_->OnCpuDead(cpu);
  }
  static inline std::atomic<SlabEnv*> current_{nullptr};

  TestBuddy buddy_;
  std::unique_ptr<SlabSystem> sys_;
  int init_result_ = -1;
};

}  // namespace mm::testing

#endif  // TEST_SLAB_SLAB_TEST_ENV_H_
