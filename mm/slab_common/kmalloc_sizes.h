// kmalloc size classes, as Linux has them: kmalloc-8 ... kmalloc-8k including 96
// and 192. Requests above the largest class go straight to the page allocator.
#ifndef MM_SLAB_COMMON_KMALLOC_SIZES_H_
#define MM_SLAB_COMMON_KMALLOC_SIZES_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "mm/base/types.h"

namespace mm {

struct KmallocClass {
  unsigned size;
  unsigned align;  // natural alignment: the largest power of two dividing size, up to PAGE_SIZE
  const char* name;
};

inline constexpr std::array<KmallocClass, 13> kKmallocClasses = {{
    {8, 8, "kmalloc-8"},
    {16, 16, "kmalloc-16"},
    {32, 32, "kmalloc-32"},
    {64, 64, "kmalloc-64"},
    {96, 32, "kmalloc-96"},
    {128, 128, "kmalloc-128"},
    {192, 64, "kmalloc-192"},
    {256, 256, "kmalloc-256"},
    {512, 512, "kmalloc-512"},
    {1024, 1024, "kmalloc-1k"},
    {2048, 2048, "kmalloc-2k"},
    {4096, 4096, "kmalloc-4k"},
    {8192, 4096, "kmalloc-8k"},
}};
inline constexpr unsigned kNrKmallocClasses = kKmallocClasses.size();
inline constexpr size_t kKmallocMaxCacheSize = 8192;  // KMALLOC_MAX_CACHE_SIZE
// Largest kmalloc: one maximal buddy block (KMALLOC_MAX_SIZE).
inline constexpr size_t kKmallocMaxSize = kPageSize << kMaxPageOrder;

// Index of the smallest class holding `size` (1 <= size <= kKmallocMaxCacheSize).
// Table-driven for <= 192 bytes (8-byte steps, as Linux's size_index), log2 above.
constexpr unsigned KmallocIndex(size_t size) {
  constexpr std::array<uint8_t, 24> kSmall = {
      0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,     // 8 16 24 32 40 48 56 64 72 80 88 96
      5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6};    // 104..128, 136..192
  if (size <= 192) return kSmall[(size - 1) / 8];
  unsigned idx = 7;  // 256
  size_t c = 256;
  while (c < size) {
    c <<= 1;
    ++idx;
  }
  return idx;
}

}  // namespace mm

#endif  // MM_SLAB_COMMON_KMALLOC_SIZES_H_
