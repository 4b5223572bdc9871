// A fake page source for the slab layer's tests (tcmalloc's habit: inject the
// outside world). Naturally aligned blocks of 2^order pages out of one host
// allocation, first fit, with failure injection: fail every request after N more
// successes, or every request above an order.
#ifndef TEST_SLAB_FAKE_PAGE_SOURCE_H_
#define TEST_SLAB_FAKE_PAGE_SOURCE_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"

namespace mm::testing {

class FakePageSource {
 public:
  explicit FakePageSource(size_t nr_pages) : nr_pages_(nr_pages), used_(nr_pages, false) {
    const size_t align = kPageSize << kMaxPageOrder;
    base_ = static_cast<char*>(std::aligned_alloc(align, (nr_pages * kPageSize + align - 1) / align * align));
    pages_.reset(new page[nr_pages]());
  }
  ~FakePageSource() { std::free(base_); }

  page* AllocPages(gfp_t gfp, unsigned order, int /*nid*/) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    if (order > max_order_ || fail_after_ == 0) return nullptr;
    const size_t n = size_t{1} << order;
    for (size_t start = 0; start + n <= nr_pages_; start += n) {
      bool free = true;
      for (size_t i = 0; i < n && free; ++i) free = !used_[start + i];
      if (!free) continue;
      for (size_t i = 0; i < n; ++i) used_[start + i] = true;
      if (fail_after_ > 0) --fail_after_;
      outstanding_ += n;
      page* p = &pages_[start];
      p->flags = order > 0 ? PG_head : 0;
      p->order = static_cast<uint8_t>(order);
      p->_refcount.store(1);
      for (size_t i = 1; i < n; ++i) {
        p[i].flags = PG_tail;
        p[i].compound_head = p;
      }
      if (gfp & __GFP_ZERO) __builtin_memset(PageAddress(p), 0, n * kPageSize);
      return p;
    }
    return nullptr;
  }

  void FreePages(page* p, unsigned order) {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t start = static_cast<size_t>(p - pages_.get());
    const size_t n = size_t{1} << order;
    if (p->order != order || (p->flags & (PG_tail | PG_slab)) != 0 ||
        p->_mapcount.load() != 0) {
      ++bad_frees_;
      return;
    }
    for (size_t i = 0; i < n; ++i) {
      used_[start + i] = false;
      pages_[start + i].flags = 0;
      pages_[start + i].compound_head = nullptr;
    }
    p->_refcount.store(0);
    outstanding_ -= n;
  }

  void* PageAddress(const page* p) const {
    return base_ + static_cast<size_t>(p - pages_.get()) * kPageSize;
  }
  page* VirtToPage(const void* addr) const {
    const uintptr_t off = reinterpret_cast<uintptr_t>(addr) - reinterpret_cast<uintptr_t>(base_);
    return off < nr_pages_ * kPageSize ? &pages_[off / kPageSize] : nullptr;
  }
  unsigned nr_nodes() const { return 1; }

  // Failure injection. fail_after: -1 never; N >= 0: the next N requests succeed.
  void FailAfter(long n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_after_ = n;
  }
  void SetMaxOrder(unsigned order) {
    std::lock_guard<std::mutex> lock(mu_);
    max_order_ = order;
  }
  size_t outstanding() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }
  size_t bad_frees() {
    std::lock_guard<std::mutex> lock(mu_);
    return bad_frees_;
  }

 private:
  std::mutex mu_;
  size_t nr_pages_;
  char* base_ = nullptr;
  std::unique_ptr<page[]> pages_;
  std::vector<bool> used_;
  long fail_after_ = -1;
  unsigned max_order_ = kMaxPageOrder;
  size_t outstanding_ = 0;
  size_t requests_ = 0;
  size_t bad_frees_ = 0;
};

}  // namespace mm::testing

#endif  // TEST_SLAB_FAKE_PAGE_SOURCE_H_
