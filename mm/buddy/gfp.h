// gfp_t: "get free pages" flags, with Linux's bit values and compositions.
#ifndef MM_BUDDY_GFP_H_
#define MM_BUDDY_GFP_H_

#include <cstdint>

namespace mm {

using gfp_t = unsigned int;

inline constexpr gfp_t __GFP_DMA = 0x01u;
inline constexpr gfp_t __GFP_HIGHMEM = 0x02u;
inline constexpr gfp_t __GFP_DMA32 = 0x04u;
inline constexpr gfp_t __GFP_MOVABLE = 0x08u;
inline constexpr gfp_t __GFP_RECLAIMABLE = 0x10u;
inline constexpr gfp_t __GFP_HIGH = 0x20u;
inline constexpr gfp_t __GFP_IO = 0x40u;
inline constexpr gfp_t __GFP_FS = 0x80u;
inline constexpr gfp_t __GFP_ZERO = 0x100u;
inline constexpr gfp_t __GFP_DIRECT_RECLAIM = 0x400u;
inline constexpr gfp_t __GFP_KSWAPD_RECLAIM = 0x800u;
inline constexpr gfp_t __GFP_WRITE = 0x1000u;
inline constexpr gfp_t __GFP_NOWARN = 0x2000u;
inline constexpr gfp_t __GFP_RETRY_MAYFAIL = 0x4000u;
inline constexpr gfp_t __GFP_NOFAIL = 0x8000u;
inline constexpr gfp_t __GFP_NORETRY = 0x10000u;
inline constexpr gfp_t __GFP_MEMALLOC = 0x20000u;
inline constexpr gfp_t __GFP_COMP = 0x40000u;
inline constexpr gfp_t __GFP_NOMEMALLOC = 0x80000u;
inline constexpr gfp_t __GFP_HARDWALL = 0x100000u;
inline constexpr gfp_t __GFP_THISNODE = 0x200000u;
inline constexpr gfp_t __GFP_ACCOUNT = 0x400000u;

inline constexpr gfp_t __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
inline constexpr gfp_t GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
inline constexpr gfp_t GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_NOIO = __GFP_RECLAIM;
inline constexpr gfp_t GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
inline constexpr gfp_t GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
inline constexpr gfp_t GFP_DMA = __GFP_DMA;
inline constexpr gfp_t GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
inline constexpr gfp_t GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;

// Migrate types: which free lists a request draws from (Linux's order).
enum MigrateType : uint8_t {
  MIGRATE_UNMOVABLE = 0,
  MIGRATE_MOVABLE = 1,
  MIGRATE_RECLAIMABLE = 2,
  MIGRATE_PCPTYPES = 3,  // the types with per-cpu lists; also the number of types
};
inline constexpr unsigned kNrMigrateTypes = 3;
extern const char* const kMigrateTypeNames[kNrMigrateTypes];

constexpr MigrateType GfpMigrateType(gfp_t gfp) {
  if (gfp & __GFP_MOVABLE) return MIGRATE_MOVABLE;
  if (gfp & __GFP_RECLAIMABLE) return MIGRATE_RECLAIMABLE;
  return MIGRATE_UNMOVABLE;
}

// Zones, bottom up. ZONE_DMA exists only when booted with zones=dma:SIZE.
enum ZoneType : uint8_t { ZONE_DMA = 0, ZONE_NORMAL = 1 };
inline constexpr unsigned kMaxNrZones = 2;
extern const char* const kZoneNames[kMaxNrZones];

// The highest zone a request may use: DMA requests never go to NORMAL.
constexpr ZoneType GfpZone(gfp_t gfp) { return (gfp & __GFP_DMA) ? ZONE_DMA : ZONE_NORMAL; }

}  // namespace mm

#endif  // MM_BUDDY_GFP_H_
