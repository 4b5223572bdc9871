// Test helpers: a standalone buddy allocator over host RAM, and a log capture.
#ifndef MM_BUDDY_BUDDY_TEST_UTIL_H_
#define MM_BUDDY_BUDDY_TEST_UTIL_H_

#include <string>

#include "mm/base/log.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"

namespace mm {

// Captures every Printk while alive.
class LogCapture {
 public:
  LogCapture() { previous_ = SetLogHandler(&Append, this, &previous_context_); }
  ~LogCapture() { SetLogHandler(previous_, previous_context_); }
  const std::string& text() const { return text_; }
  void Clear() { text_.clear(); }
  bool Contains(const std::string& s) const { return text_.find(s) != std::string::npos; }

 private:
  static void Append(const char* t, size_t n, void* self) {
    static_cast<LogCapture*>(self)->text_.append(t, n);
  }
  std::string text_;
  LogHandler previous_ = nullptr;
  void* previous_context_ = nullptr;
};

// A buddy allocator over `bytes` of host RAM, torn down at scope exit.
class TestBuddy {
 public:
  explicit TestBuddy(uint64_t bytes, BuddyConfig config = {}) {
    if (!platform::AcquireRam(bytes, &ram_)) return;
    Memblock mb(ram_);
    buddy_ = mb.New<BuddyAllocator>();
    init_result_ = buddy_->Init(mb, config);
  }
  ~TestBuddy() {
    if (ram_.size != 0) platform::ReleaseRam(ram_);
  }
  TestBuddy(const TestBuddy&) = delete;
  TestBuddy& operator=(const TestBuddy&) = delete;

  BuddyAllocator& operator*() { return *buddy_; }
  BuddyAllocator* operator->() { return buddy_; }
  int init_result() const { return init_result_; }

  template <void (BuddyAllocator::*Show)(TextBuffer&)>
  std::string View() {
    static char buf[1 << 16];
    TextBuffer out(buf, sizeof buf);
    (buddy_->*Show)(out);
    return std::string(buf, out.length() < sizeof buf ? out.length() : sizeof buf - 1);
  }

 private:
  RamRange ram_;
  BuddyAllocator* buddy_ = nullptr;
  int init_result_ = -1;
};

}  // namespace mm

#endif  // MM_BUDDY_BUDDY_TEST_UTIL_H_
