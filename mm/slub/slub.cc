#include "mm/slub/slub.h"

namespace mm::slub {
namespace {

// Linux's calc_slab_order: the first order from the one that holds min_objects
// whose leftover is at most slab_size / fract_leftover.
unsigned CalcSlabOrder(unsigned size, unsigned min_objects, unsigned max_order,
                       unsigned fract_leftover) {
  uint64_t need = static_cast<uint64_t>(min_objects) * size;
  unsigned order = Log2Ceil((need + kPageSize - 1) / kPageSize);
  for (; order <= max_order; ++order) {
    uint64_t slab_size = kPageSize << order;
    uint64_t rem = slab_size % size;
    if (rem <= slab_size / fract_leftover) break;
  }
  return order;
}

}  // namespace

int CalculateOrder(unsigned size, unsigned nr_cpus) {
  // min_objects = 4 * (fls(nr_cpu_ids) + 1), capped by what a max-order slab holds.
  unsigned fls = nr_cpus == 0 ? 0 : Log2Floor(nr_cpus) + 1;
  unsigned min_objects = 4 * (fls + 1);
  uint64_t max_objects = (kPageSize << kMaxOrder) / size;
  if (min_objects > max_objects) min_objects = static_cast<unsigned>(max_objects);
  while (min_objects > 1) {
    for (unsigned fraction = 16; fraction >= 4; fraction /= 2) {
      unsigned order = CalcSlabOrder(size, min_objects, kMaxOrder, fraction);
      if (order <= kMaxOrder) return static_cast<int>(order);
    }
    --min_objects;
  }
  // One object per slab: any leftover.
  unsigned order = CalcSlabOrder(size, 1, kMaxOrder, 1);
  if (order <= kMaxOrder) return static_cast<int>(order);
  order = CalcSlabOrder(size, 1, kMaxPageOrder, 1);
  if (order <= kMaxPageOrder) return static_cast<int>(order);
  return -1;
}

}  // namespace mm::slub
