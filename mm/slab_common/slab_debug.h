// Slab debugging shared by the object allocators (Linux's slub_debug machinery,
// written to work on any allocator that lays objects out as kmem_cache.h says):
// red zones (0xbb inactive, 0xcc active), poisoning (0x6b free, 0xa5 end marker,
// 0x5a slab padding), an object state tag that makes double frees and freelist
// damage detectable in O(1), user tracking (last alloc/free site, cpu, time) and
// Linux-style reports ("BUG kmalloc-64 (Not tainted): Poison overwritten").
//
// None of these functions takes a lock: the allocator calls them with the lock
// that protects the object's slab held (debug caches run entirely on locked
// paths), or on an object nobody else can reach yet.
#ifndef MM_SLAB_COMMON_SLAB_DEBUG_H_
#define MM_SLAB_COMMON_SLAB_DEBUG_H_

#include <cstddef>
#include <cstdint>

#include "mm/buddy/page.h"
#include "mm/slab_common/kmem_cache.h"

namespace mm::slab_debug {

// Where and when an object was last allocated or freed (SLAB_STORE_USER).
struct Track {
  const void* addr;  // caller (__builtin_return_address of the API entry)
  uint64_t when_ns;  // platform::NowNs()
  uint32_t cpu;      // cpu slot (on the host: the thread)
  uint32_t valid;
};

// Fills the layout fields of `s` (object_size, align, inuse, red_left_pad,
// offset, track_offset, tag_offset, size) for an object of `size` bytes aligned
// to `align` (0 or a power of two) with `flags`. Returns 0 or -EINVAL.
int ComputeLayout(kmem_cache* s, unsigned size, unsigned align, slab_flags_t flags,
                  void (*ctor)(void*));

inline uint64_t* TagOf(const kmem_cache* s, void* obj) {
  return reinterpret_cast<uint64_t*>(static_cast<char*>(obj) + s->tag_offset);
}
inline Track* TracksOf(const kmem_cache* s, void* obj) {
  return reinterpret_cast<Track*>(static_cast<char*>(obj) + s->track_offset);
}
inline bool PoisonsObject(const kmem_cache* s) {
  return (s->flags & SLAB_POISON) != 0 && s->ctor == nullptr;
}

// A detected corruption: bytes [first, last] differ from `expected` (first is
// `found`), in the region named `what` ("Poison", "Right Redzone", ...).
struct Corruption {
  const char* what = nullptr;
  uintptr_t first = 0;
  uintptr_t last = 0;
  uint8_t found = 0;
  uint8_t expected = 0;
};

// A fresh object in a new slab (before the ctor): red zones inactive, poisoned
// (without ctor), tag free, no tracks.
void InitFreeObject(const kmem_cache* s, void* obj);
// Fills the bytes of a slab after its last object with 0x5a.
void FillPadding(const kmem_cache* s, void* slab_base, size_t slab_bytes, unsigned objects);
// Checks that padding; false (and *c) if it was overwritten.
bool CheckPadding(const kmem_cache* s, void* slab_base, size_t slab_bytes, unsigned objects,
                  Corruption* c);
// A free object about to be handed out: tag free, red zones 0xbb, poison intact.
bool CheckFreeObject(const kmem_cache* s, void* obj, Corruption* c);
// An allocated object being freed: red zones still 0xcc.
bool CheckAllocatedObject(const kmem_cache* s, void* obj, Corruption* c);
// State changes (with tracks when SLAB_STORE_USER).
void MarkAllocated(const kmem_cache* s, void* obj, const void* caller);
void MarkFreed(const kmem_cache* s, void* obj, const void* caller);
void MarkQuarantined(kmem_cache* s, void* obj);

// Prints a Linux-style report on object `obj` of the slab headed by `slab`
// (whose memory starts at `slab_base`): the BUG banner with `title`, the
// corruption (if any), the tracks, the slab, a hex dump of the object's start and
// the FIX line `fix` (if any). Counts the report in s->debug_reports.
void ReportObject(kmem_cache* s, const page* slab, const void* slab_base, void* obj,
                  const char* title, const Corruption* c, const char* fix);
// A report about a slab or a pointer (no object to dump): the banner with the
// formatted title.
void ReportSlab(kmem_cache* s, const page* slab, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace mm::slab_debug

#endif  // MM_SLAB_COMMON_SLAB_DEBUG_H_
