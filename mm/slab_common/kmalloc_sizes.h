// kmalloc size classes: Linux's kmalloc-8 ... kmalloc-8k including 96 and 192,
// plus (a libmm difference from Linux) three intermediate classes per doubling
// from 256 bytes to 8 KiB (320, 384, 448, 640, ... 7k), jemalloc-like spacing
// that bounds the rounding above 256 bytes to 25 % (Linux: up to 100 %). They
// appear in /proc/slabinfo under Linux-style names (kmalloc-320, kmalloc-3k).
// Requests above the largest class go straight to the page allocator.
#ifndef MM_SLAB_COMMON_KMALLOC_SIZES_H_
#define MM_SLAB_COMMON_KMALLOC_SIZES_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "mm/base/bits.h"
#include "mm/base/types.h"

namespace mm {

struct KmallocClass {
  unsigned size;
  unsigned align;  // natural alignment: the largest power of two dividing size, up to PAGE_SIZE
  const char* name;
};

inline constexpr std::array<KmallocClass, 28> kKmallocClasses = {{
    {8, 8, "kmalloc-8"},
    {16, 16, "kmalloc-16"},
    {32, 32, "kmalloc-32"},
    {64, 64, "kmalloc-64"},
    {96, 32, "kmalloc-96"},
    {128, 128, "kmalloc-128"},
    {192, 64, "kmalloc-192"},
    {256, 256, "kmalloc-256"},
    {320, 64, "kmalloc-320"},
    {384, 128, "kmalloc-384"},
    {448, 64, "kmalloc-448"},
    {512, 512, "kmalloc-512"},
    {640, 128, "kmalloc-640"},
    {768, 256, "kmalloc-768"},
    {896, 128, "kmalloc-896"},
    {1024, 1024, "kmalloc-1k"},
    {1280, 256, "kmalloc-1280"},
    {1536, 512, "kmalloc-1536"},
    {1792, 256, "kmalloc-1792"},
    {2048, 2048, "kmalloc-2k"},
    {2560, 512, "kmalloc-2560"},
    {3072, 1024, "kmalloc-3k"},
    {3584, 512, "kmalloc-3584"},
    {4096, 4096, "kmalloc-4k"},
    {5120, 1024, "kmalloc-5k"},
    {6144, 2048, "kmalloc-6k"},
    {7168, 1024, "kmalloc-7k"},
    {8192, 4096, "kmalloc-8k"},
}};
inline constexpr unsigned kNrKmallocClasses = kKmallocClasses.size();
inline constexpr size_t kKmallocMaxCacheSize = 8192;  // KMALLOC_MAX_CACHE_SIZE
// Largest kmalloc: one maximal buddy block (KMALLOC_MAX_SIZE).
inline constexpr size_t kKmallocMaxSize = kPageSize << kMaxPageOrder;

// Index of the smallest class holding `size` (1 <= size <= kKmallocMaxCacheSize).
// A table for <= 256 bytes (8-byte steps, as Linux's size_index); above, the
// exponent and the two bits below the leading one pick one of four classes.
// (A namespace-scope table: a local one would be rebuilt on the stack, with a
// stack-protector canary, on every kmalloc.)
inline constexpr std::array<uint8_t, 32> kKmallocSmallIndex = {
    0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,  // 8 16 24 32 40 48 56 64 72 80 88 96
    5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,  // 104..128, 136..192
    7, 7, 7, 7, 7, 7, 7, 7};             // 200..256
constexpr unsigned KmallocIndex(size_t size) {
  if (size <= 256) return kKmallocSmallIndex[(size - 1) / 8];
  const uint64_t x = size - 1;
  const unsigned e = Log2Floor(x);  // >= 8 (a clz where the target has one)
  return 8 + (e - 8) * 4 + static_cast<unsigned>((x >> (e - 2)) & 3);
}

}  // namespace mm

#endif  // MM_SLAB_COMMON_KMALLOC_SIZES_H_
