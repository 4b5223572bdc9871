#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"

namespace mm {

const char* const kPageFlagNames[kNrPageFlags] = {
    "locked",    "referenced", "uptodate", "dirty",      "lru",         "active",
    "workingset", "slab",      "reserved", "private",    "writeback",   "head",
    "tail",      "swapcache",  "swapbacked", "anon",     "buddy",       "pcp",
    "zero",      "unevictable", "mlocked", "hwpoison",
};

const char* const kMigrateTypeNames[kNrMigrateTypes] = {"Unmovable", "Movable", "Reclaimable"};

const char* const kZoneNames[kMaxNrZones] = {"DMA", "Normal"};

}  // namespace mm
