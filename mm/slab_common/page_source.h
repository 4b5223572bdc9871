// The page source an object allocator takes its slabs from (tcmalloc's habit of
// injecting the outside world as a template parameter): the buddy allocator in
// production, a fake in tests.
#ifndef MM_SLAB_COMMON_PAGE_SOURCE_H_
#define MM_SLAB_COMMON_PAGE_SOURCE_H_

#include <concepts>
#include <cstdint>

#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"

namespace mm {

// A page source hands out naturally aligned blocks of 2^order pages with struct
// pages; for order >= 1 the tail pages carry PG_tail and point at the head
// (compound_head), and the head has PG_head and `order` set (page.h).
template <typename P>
concept PageSource = requires(P& ps, const P& cps, page* pg, const void* addr, gfp_t gfp,
                              unsigned order) {
  { ps.AllocPages(gfp, order, -1) } -> std::same_as<page*>;  // nid -1: any node
  { ps.FreePages(pg, order) } -> std::same_as<void>;
  { cps.PageAddress(pg) } -> std::same_as<void*>;
  { cps.VirtToPage(addr) } -> std::same_as<page*>;  // nullptr outside RAM
  { cps.nr_nodes() } -> std::convertible_to<unsigned>;
};

// A page source with one contiguous mem_map over one contiguous direct map
// (the buddy allocator): address -> page inline, without a call.
template <typename P>
concept LinearMemMap = requires(const P& ps) {
  { ps.mem_map() } -> std::same_as<page*>;
  { ps.nr_pages() } -> std::convertible_to<uint64_t>;
};

// The head page of pg's block (pg itself unless it is a tail page; pg is not
// nullptr); with `head_flags`, also that page's flags (one load of the word for
// a head or order-0 page: kfree's path).
[[gnu::always_inline]] inline page* HeadPageFrom(page* pg, uint32_t* head_flags = nullptr) {
  uint32_t f = pg->flags;
  if ((f & PG_tail) != 0) {
    pg = pg->compound_head;
    if (head_flags != nullptr) f = pg->flags;
  }
  if (head_flags != nullptr) *head_flags = f;
  return pg;
}

// The head page of the block that holds `addr`, or nullptr outside RAM; with
// `head_flags`, also that page's flags (see HeadPageFrom).
template <PageSource P>
inline page* HeadPageOf(const P& ps, const void* addr, uint32_t* head_flags = nullptr) {
  page* pg;
  if constexpr (LinearMemMap<P>) {
    page* map = ps.mem_map();
    const uintptr_t off =
        reinterpret_cast<uintptr_t>(addr) - reinterpret_cast<uintptr_t>(ps.PageAddress(map));
    if (off >= (static_cast<uint64_t>(ps.nr_pages()) << kPageShift)) return nullptr;
    pg = map + (off >> kPageShift);
  } else {
    pg = ps.VirtToPage(addr);
    if (pg == nullptr) return nullptr;
  }
  return HeadPageFrom(pg, head_flags);
}

}  // namespace mm

#endif  // MM_SLAB_COMMON_PAGE_SOURCE_H_
