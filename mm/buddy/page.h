// struct page: one descriptor per physical page frame, as Linux's mem_map.
//
// Layout (64 bytes, one cache line):
//   flags(4) order(1) node(1) zone(1) free_mt(1) | _refcount(4) _mapcount(4) | lru(16) | union(32)
// node and zone are set at boot and never change (Linux keeps them in page->flags).
// The union is owned by whoever owns the page: the buddy allocator (free and
// per-cpu lists use only `lru` and `order`), a slab allocator (the slab words),
// the VM (mapping/index/private), or the compound-page bookkeeping of a tail page.
//
// Invariants (checked by BuddyAllocator::CheckInvariants):
//   - PG_buddy  <=> the page heads a free block of 2^order pages on exactly one
//                   free list of its zone; _refcount == 0, no other flag but
//                   PG_reserved is clear.
//   - PG_pcp    <=> the page sits on a per-cpu list (order in `order`), _refcount == 0.
//   - PG_head   <=> the page heads an allocated block of order >= 1; its tail pages
//                   carry PG_tail and point back at it (compound_head).
//   - an allocated block's head has _refcount >= 1; free pages have 0.
#ifndef MM_BUDDY_PAGE_H_
#define MM_BUDDY_PAGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mm/base/list.h"
#include "mm/base/types.h"

namespace mm {

// Page flag bits (libmm's own numbering; /proc and reports print them by name).
enum PageFlag : uint32_t {
  PG_locked = 1u << 0,
  PG_referenced = 1u << 1,
  PG_uptodate = 1u << 2,
  PG_dirty = 1u << 3,
  PG_lru = 1u << 4,
  PG_active = 1u << 5,
  PG_workingset = 1u << 6,
  PG_slab = 1u << 7,
  PG_reserved = 1u << 8,  // memblock/metadata: never on a free list
  PG_private = 1u << 9,
  PG_writeback = 1u << 10,
  PG_head = 1u << 11,     // first page of an allocated block of order >= 1
  PG_tail = 1u << 12,     // a non-first page of such a block
  PG_swapcache = 1u << 13,
  PG_swapbacked = 1u << 14,
  PG_anon = 1u << 15,
  PG_buddy = 1u << 16,    // heads a free block on a buddy free list (Linux: PageBuddy)
  PG_pcp = 1u << 17,      // on a per-cpu free list
  PG_zero = 1u << 18,     // the shared zero page
  PG_unevictable = 1u << 19,
  PG_mlocked = 1u << 20,
  PG_hwpoison = 1u << 21, // set aside after a bad-state report; never handed out again
};

inline constexpr int kNrPageFlags = 22;
// Names in bit order, for reports ("flags: 0x810(slab|head)").
extern const char* const kPageFlagNames[kNrPageFlags];

struct kmem_cache;  // the slab layer's cache (opaque here)

// page->flags: a word that other cpus may read while its owner writes it (the
// buddy allocator tests PG_buddy of a neighbour it does not own, as Linux's
// PageBuddy check does). Every access is a relaxed atomic load or store, which
// compile to plain loads and stores; read-modify-writes are NOT atomic and are
// only for the page's owner (or under the lock that owns the page's state).
class PageFlags {
 public:
  constexpr PageFlags() = default;
  operator uint32_t() const { return v_.load(std::memory_order_relaxed); }
  PageFlags& operator=(uint32_t f) {
    v_.store(f, std::memory_order_relaxed);
    return *this;
  }
  PageFlags& operator|=(uint32_t f) { return *this = *this | f; }
  PageFlags& operator&=(uint32_t f) { return *this = *this & f; }
  uint32_t get() const { return *this; }

 private:
  std::atomic<uint32_t> v_{0};
};
static_assert(sizeof(PageFlags) == 4);

struct page {
  PageFlags flags;
  uint8_t order;  // free block order (PG_buddy/PG_pcp) or allocated block order (head)
  uint8_t node;
  uint8_t zone;   // index into the node's zones
  // Buddy-owned: the migratetype of the free list (PG_buddy) or per-cpu list
  // (PG_pcp) the page is on; an allocated page keeps the value of the list it
  // came from, and an order-0 free goes back to that type's per-cpu list
  // (Linux caches it as pcppage_migratetype). Always < kNrMigrateTypes.
  uint8_t free_mt;
  std::atomic<int32_t> _refcount;
  std::atomic<int32_t> _mapcount;  // number of PTEs mapping the page (0 = unmapped)
  ListNode lru;                    // free lists, per-cpu lists, LRU lists, slab lists
  union {
    struct {  // page cache, anonymous memory, swap
      void* mapping;        // address_space or anon_vma
      uint64_t index;       // offset in the file, or virtual page number
      uintptr_t private_;   // swap entry, buffer state...
      void* rmap;           // reverse-map chain (the VM's)
    };
    struct {  // slab pages (PG_slab), laid out for the slab allocators to share
      kmem_cache* slab_cache;
      void* freelist;       // first free object (SLUB/SLOB) or free-index array (SLAB)
      uint32_t inuse;       // objects handed out
      uint32_t objects;     // objects in this slab
      // Objects freed by other cpus (a lock-free stack). Access it only through
      // std::atomic_ref<uintptr_t> (an anonymous struct cannot hold std::atomic).
      uintptr_t remote_free;
    };
    struct {  // tail page of an allocated block
      struct page* compound_head;
      uintptr_t compound_pad[3];
    };
  };
};

static_assert(sizeof(page) == 64, "struct page must stay one cache line");

inline bool PageHasFlag(const page* p, uint32_t f) { return (p->flags & f) != 0; }

// The page's first two 8-byte words as single loads, for the buddy allocator's
// fused free check (one load instead of one per field). On a little-endian
// machine the head word is flags | order << 32 | node << 40 | zone << 48 |
// free_mt << 56 and the reference word is _refcount | _mapcount << 32.
using PageWord = uint64_t __attribute__((may_alias));
inline uint64_t PageHeadWord(const page* p) {
  return __atomic_load_n(reinterpret_cast<const PageWord*>(p), __ATOMIC_RELAXED);
}
// Acquire, as the _refcount read of put_page_testzero.
inline uint64_t PageRefWord(const page* p) {
  return __atomic_load_n(reinterpret_cast<const PageWord*>(&p->_refcount), __ATOMIC_ACQUIRE);
}
// The same words as single stores. A fast path that later reads a word whole
// also writes it whole: a load wider than the store before it cannot be
// forwarded from the store buffer and stalls (a dozen cycles on x86).
inline void PageSetHeadWord(page* p, uint64_t w) {
  __atomic_store_n(reinterpret_cast<PageWord*>(p), w, __ATOMIC_RELAXED);
}
inline void PageSetRefWord(page* p, uint64_t w) {
  __atomic_store_n(reinterpret_cast<PageWord*>(&p->_refcount), w, __ATOMIC_RELAXED);
}
// The head word of an allocated order-0 page with no flags.
constexpr uint64_t PageHeadWordOf(uint8_t node, uint8_t zone, uint8_t free_mt) {
  return uint64_t{node} << 40 | uint64_t{zone} << 48 | uint64_t{free_mt} << 56;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "PageHeadWord/PageRefWord decode little-endian");
static_assert(offsetof(page, order) == 4 && offsetof(page, node) == 5 && offsetof(page, zone) == 6 &&
              offsetof(page, free_mt) == 7 && offsetof(page, _refcount) == 8 &&
              offsetof(page, _mapcount) == 12 && offsetof(page, lru) == 16,
              "the word layout PageHeadWord/PageRefWord decode");

}  // namespace mm

#endif  // MM_BUDDY_PAGE_H_
