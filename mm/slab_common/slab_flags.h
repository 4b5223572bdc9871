// slab_flags_t and the SLAB_* cache flags with Linux's values, ZERO_SIZE_PTR.
// Shared by every object allocator (SLUB now; SLAB and SLOB later) and by the
// Linux-named facade (mm/linux_api.h), which re-exports these names.
#ifndef MM_SLAB_COMMON_SLAB_FLAGS_H_
#define MM_SLAB_COMMON_SLAB_FLAGS_H_

#include <cstdint>

namespace mm {

using slab_flags_t = unsigned int;

// Debug flags (slub_debug letters in brackets).
inline constexpr slab_flags_t SLAB_CONSISTENCY_CHECKS = 0x00000100u;  // [F] checks on alloc/free
inline constexpr slab_flags_t SLAB_RED_ZONE = 0x00000400u;            // [Z] red zones around objects
inline constexpr slab_flags_t SLAB_POISON = 0x00000800u;              // [P] poison free objects
inline constexpr slab_flags_t SLAB_KMALLOC = 0x00001000u;             // a kmalloc-* cache
inline constexpr slab_flags_t SLAB_HWCACHE_ALIGN = 0x00002000u;       // align objects on cache lines
inline constexpr slab_flags_t SLAB_CACHE_DMA = 0x00004000u;           // slabs from ZONE_DMA
inline constexpr slab_flags_t SLAB_STORE_USER = 0x00010000u;          // [U] last alloc/free owner
inline constexpr slab_flags_t SLAB_RECLAIM_ACCOUNT = 0x00020000u;     // slabs are reclaimable
inline constexpr slab_flags_t SLAB_PANIC = 0x00040000u;               // panic if create fails
inline constexpr slab_flags_t SLAB_TYPESAFE_BY_RCU = 0x00080000u;
inline constexpr slab_flags_t SLAB_TRACE = 0x00200000u;               // [T]
inline constexpr slab_flags_t SLAB_NOLEAKTRACE = 0x00800000u;
inline constexpr slab_flags_t SLAB_ACCOUNT = 0x04000000u;

// The flags that turn on slab debugging (Linux's SLAB_DEBUG_FLAGS).
inline constexpr slab_flags_t SLAB_DEBUG_FLAGS =
    SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE;

// Flags a caller may pass to kmem_cache_create (others are rejected with -EINVAL).
inline constexpr slab_flags_t SLAB_CREATE_MASK =
    SLAB_DEBUG_FLAGS | SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC |
    SLAB_TYPESAFE_BY_RCU | SLAB_NOLEAKTRACE | SLAB_ACCOUNT;

// kmalloc(0) returns this: non-NULL, distinct, faults when dereferenced.
#define ZERO_SIZE_PTR (reinterpret_cast<void*>(16))
#define ZERO_OR_NULL_PTR(x) (reinterpret_cast<uintptr_t>(x) <= reinterpret_cast<uintptr_t>(ZERO_SIZE_PTR))

// Byte values of slab debugging (Linux's include/linux/poison.h).
inline constexpr uint8_t kSlubRedInactive = 0xbb;  // red zone of a free object
inline constexpr uint8_t kSlubRedActive = 0xcc;    // red zone of an allocated object
inline constexpr uint8_t kPoisonInuse = 0x5a;      // uninitialised memory (slab padding)
inline constexpr uint8_t kPoisonFree = 0x6b;       // a free object
inline constexpr uint8_t kPoisonEnd = 0xa5;        // last byte of a poisoned object

}  // namespace mm

#endif  // MM_SLAB_COMMON_SLAB_FLAGS_H_
