#include "mm/vm/object_pool.h"

#include "mm/base/log.h"
#include "mm/base/panic.h"

namespace mm {

namespace {
struct FreeObj {
  FreeObj* next;
};
page* LruToPage(ListNode* n) { return ContainerOf(n, &page::lru); }
}  // namespace

void ObjectPool::Init(BuddyAllocator* buddy, const char* name, size_t size) {
  buddy_ = buddy;
  name_ = name;
  size_ = (size + 15) & ~size_t{15};
  per_page_ = kPageSize / size_;
  MM_CHECK(per_page_ >= 1);
}

void* ObjectPool::Alloc() {
  page* p = nullptr;
  if (!pages_.empty()) {
    page* first = LruToPage(pages_.first());
    if (first->freelist != nullptr) p = first;
  }
  if (p == nullptr) {
    p = buddy_->AllocPages(GFP_KERNEL | __GFP_NOWARN, 0);
    if (p == nullptr) return nullptr;
    p->flags |= PG_slab;
    p->slab_cache = nullptr;
    p->inuse = 0;
    p->objects = static_cast<uint32_t>(per_page_);
    char* base = static_cast<char*>(buddy_->PageAddress(p));
    FreeObj* head = nullptr;
    for (size_t i = per_page_; i-- > 0;) {
      FreeObj* o = reinterpret_cast<FreeObj*>(base + i * size_);
      o->next = head;
      head = o;
    }
    p->freelist = head;
    pages_.PushFront(&p->lru);
    ++nr_pages_;
  }
  FreeObj* o = static_cast<FreeObj*>(p->freelist);
  p->freelist = o->next;
  ++p->inuse;
  ++in_use_;
  if (p->freelist == nullptr) {  // full: to the back
    List::Remove(&p->lru);
    pages_.PushBack(&p->lru);
  }
  char* c = reinterpret_cast<char*>(o);
  for (size_t i = 0; i < size_; ++i) c[i] = 0;
  return o;
}

void ObjectPool::Free(void* obj) {
  page* p = buddy_->VirtToPage(obj);
  MM_CHECK(p != nullptr && PageHasFlag(p, PG_slab) && p->slab_cache == nullptr && p->inuse > 0);
  FreeObj* o = static_cast<FreeObj*>(obj);
  const bool was_full = p->freelist == nullptr;
  o->next = static_cast<FreeObj*>(p->freelist);
  p->freelist = o;
  --p->inuse;
  --in_use_;
  if (p->inuse == 0) {
    List::Remove(&p->lru);
    p->flags &= ~PG_slab;
    p->freelist = nullptr;
    p->inuse = 0;
    p->objects = 0;
    p->remote_free = 0;
    p->slab_cache = nullptr;
    --nr_pages_;
    buddy_->FreePages(p, 0);
  } else if (was_full) {
    List::Remove(&p->lru);
    pages_.PushFront(&p->lru);
  }
}

bool ObjectPool::CheckInvariants() const {
  size_t pages = 0, used = 0;
  for (ListNode* n = pages_.first(); n != nullptr && n != pages_.end(); n = n->next) {
    const page* p = LruToPage(n);
    if (!PageHasFlag(p, PG_slab) || p->inuse == 0 || p->inuse > per_page_) {
      Printk("ObjectPool(%s)::CheckInvariants: bad page inuse=%u\n", name_, p->inuse);
      return false;
    }
    ++pages;
    used += p->inuse;
  }
  if (pages != nr_pages_ || used != in_use_) {
    Printk("ObjectPool(%s)::CheckInvariants: pages %zu/%zu objects %zu/%zu\n", name_, pages,
           nr_pages_, used, in_use_);
    return false;
  }
  return true;
}

}  // namespace mm
