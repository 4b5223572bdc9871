#include "mm/slab_common/slab_system.h"

namespace mm {

template class slub::Slub<BuddyAllocator>;
template class slob::Slob<BuddyAllocator>;
template class slab::Slab<BuddyAllocator>;
template class BasicSlabSystem<BuddyAllocator>;

}  // namespace mm
