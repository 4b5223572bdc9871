// Freestanding basic types and the page geometry every layer agrees on.
#ifndef MM_BASE_TYPES_H_
#define MM_BASE_TYPES_H_

#include <cstddef>
#include <cstdint>

namespace mm {

using PhysAddr = uint64_t;  // a simulated (host) or real (RISC-V) physical address
using Pfn = uint64_t;       // physical frame number: PhysAddr >> kPageShift

inline constexpr unsigned kPageShift = 12;
inline constexpr size_t kPageSize = size_t{1} << kPageShift;
inline constexpr unsigned kMaxPageOrder = 10;  // Linux's MAX_PAGE_ORDER
inline constexpr unsigned kNrPageOrders = kMaxPageOrder + 1;
inline constexpr unsigned kMaxCpus = 64;  // cpu slots (host: live threads at once)
inline constexpr unsigned kMaxNodes = 8;
inline constexpr size_t kCacheLineSize = 64;

}  // namespace mm

#endif  // MM_BASE_TYPES_H_
