// Memblock: the boot-time bump allocator. At boot it hands out the metadata
// (mem_map, zone tables, per-cpu lists, the machine itself) from the bottom of
// the RAM range; the buddy allocator then reserves what it handed out and frees
// the rest. Single-threaded, boot only.
#ifndef MM_BUDDY_MEMBLOCK_H_
#define MM_BUDDY_MEMBLOCK_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "mm/base/bits.h"
#include "mm/platform/platform.h"

namespace mm {

class Memblock {
 public:
  explicit Memblock(const RamRange& ram) : ram_(ram), next_(ram.virt_base) {}

  // Zeroed memory of `bytes`, aligned to `align` (a power of two); nullptr if
  // RAM is exhausted.
  void* Alloc(size_t bytes, size_t align = 64);

  // Constructs a T in memblock memory (nullptr on exhaustion).
  template <typename T, typename... Args>
  T* New(Args&&... args) {
    void* p = Alloc(sizeof(T), alignof(T) > 64 ? alignof(T) : 64);
    return p == nullptr ? nullptr : new (p) T(static_cast<Args&&>(args)...);
  }

  const RamRange& ram() const { return ram_; }
  // Bytes handed out so far, rounded up to whole pages (what must be reserved).
  uint64_t used_bytes() const { return AlignUp(next_ - ram_.virt_base, kPageSize); }

 private:
  RamRange ram_;
  uintptr_t next_;
};

}  // namespace mm

#endif  // MM_BUDDY_MEMBLOCK_H_
