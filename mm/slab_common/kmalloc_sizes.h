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

// Index of the smallest class holding `size` (1 <= size <= kKmallocMaxCacheSize):
// one byte of a table per 8-byte step up to 8 KiB (every class size is a
// multiple of 8), like tcmalloc's class array. One load and no branch: under
// random sizes a test of "small or not" before the lookup is a mispredicted
// branch on every sixth kmalloc. The table (1 KiB) is built at compile time,
// at namespace scope (a local one would be rebuilt on the stack, with a
// stack-protector canary, on every kmalloc).
inline constexpr std::array<uint8_t, kKmallocMaxCacheSize / 8> kKmallocIndexTable = [] {
  std::array<uint8_t, kKmallocMaxCacheSize / 8> t{};
  unsigned k = 0;
  for (unsigned i = 0; i < t.size(); ++i) {
    while (kKmallocClasses[k].size < (i + 1) * 8) ++k;  // the class of size 8 * (i + 1)
    t[i] = static_cast<uint8_t>(k);
  }
  return t;
}();
static_assert(kNrKmallocClasses <= 256 && kKmallocClasses.back().size == kKmallocMaxCacheSize);
constexpr unsigned KmallocIndex(size_t size) { return kKmallocIndexTable[(size - 1) / 8]; }
static_assert(KmallocIndex(1) == 0 && KmallocIndex(8) == 0 && KmallocIndex(9) == 1);
static_assert(KmallocIndex(97) == 5 && KmallocIndex(257) == 8 && KmallocIndex(8192) == 27);

}  // namespace mm

#endif  // MM_SLAB_COMMON_KMALLOC_SIZES_H_
