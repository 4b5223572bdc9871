// A fixed-size object pool on order-0 buddy pages (a minimal kmem_cache for
// the VM's own descriptors while the slab layer is built alongside).
//
// Concurrency: none inside; the owner (VmSystem's vm_lock) serialises calls.
//
// Invariants: every page of the pool is on `pages_` (linked through
// page->lru), carries PG_slab and has page->slab_cache == nullptr,
// page->freelist = its first free object and page->inuse objects handed out,
// 0 < inuse <= per_page(). A page whose last object is freed goes straight
// back to the buddy allocator, so an idle pool holds no memory.
// Sum over pages of inuse == in_use().
#ifndef MM_VM_OBJECT_POOL_H_
#define MM_VM_OBJECT_POOL_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "mm/base/list.h"
#include "mm/buddy/buddy_allocator.h"

namespace mm {

class ObjectPool {
 public:
  ObjectPool() = default;
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  void Init(BuddyAllocator* buddy, const char* name, size_t size);
  // A zeroed object, or nullptr when the buddy allocator is out of pages.
  void* Alloc();
  void Free(void* obj);
  template <typename T>
  T* New() {
    void* p = Alloc();
    return p == nullptr ? nullptr : new (p) T();
  }
  template <typename T>
  void Delete(T* obj) {
    obj->~T();
    Free(obj);
  }

  size_t in_use() const { return in_use_; }
  size_t nr_pages() const { return nr_pages_; }
  size_t per_page() const { return per_page_; }
  const char* name() const { return name_; }
  bool CheckInvariants() const;

 private:
  BuddyAllocator* buddy_ = nullptr;
  const char* name_ = "";
  size_t size_ = 0;
  size_t per_page_ = 0;
  size_t in_use_ = 0;
  size_t nr_pages_ = 0;
  List pages_;    // pages with at least one free object first, full pages last
};

}  // namespace mm

#endif  // MM_VM_OBJECT_POOL_H_
