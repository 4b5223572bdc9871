// mm::SlabSystem: the object-allocator layer over the buddy allocator, as a
// machine holds it. See basic_slab_system.h for the contract of every method.
#ifndef MM_SLAB_COMMON_SLAB_SYSTEM_H_
#define MM_SLAB_COMMON_SLAB_SYSTEM_H_

#include "mm/buddy/buddy_allocator.h"
#include "mm/slab_common/basic_slab_system.h"

namespace mm {

static_assert(PageSource<BuddyAllocator>);

extern template class BasicSlabSystem<BuddyAllocator>;
extern template class slub::Slub<BuddyAllocator>;
extern template class slob::Slob<BuddyAllocator>;
extern template class slab::Slab<BuddyAllocator>;

using SlabSystem = BasicSlabSystem<BuddyAllocator>;

}  // namespace mm

#endif  // MM_SLAB_COMMON_SLAB_SYSTEM_H_
