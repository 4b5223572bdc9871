// RunMmSelftest over the Linux facade (mm/linux_api.h): boot mm/ from the
// kernel command line, exercise the buddy allocator on real (QEMU) RAM, print
// /proc/buddyinfo and /proc/meminfo, shut down, and boot once more.
#include "kernel_port/riscv/mm_selftest.h"

#include <cstddef>
#include <cstdint>

#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/linux_api.h"

namespace mm::riscv {
namespace {

// Large enough for any /proc view of a one-node machine.
char g_proc_buf[16384];

// The word written at byte offset `i` of a block at `addr` (unique per word).
uint64_t Pattern(uintptr_t addr, size_t i) { return (addr + i) ^ 0x5a5aa5a5c3c33c3cull; }

void Fill(void* block, size_t bytes) {
  auto* w = static_cast<uint64_t*>(block);
  const auto base = reinterpret_cast<uintptr_t>(block);
  for (size_t i = 0; i < bytes / 8; ++i) w[i] = Pattern(base, i * 8);
}

bool Verify(const void* block, size_t bytes) {
  const auto* w = static_cast<const uint64_t*>(block);
  const auto base = reinterpret_cast<uintptr_t>(block);
  for (size_t i = 0; i < bytes / 8; ++i) {
    if (w[i] != Pattern(base, i * 8)) return false;
  }
  return true;
}

// Prints /proc/`path` to the console under a "cat" header; false if unreadable.
bool PrintProc(const char* path) {
  const long n = proc_read(path, g_proc_buf, sizeof g_proc_buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof g_proc_buf) return false;
  Printk("$ cat %s\n", path);
  platform::Write(g_proc_buf, static_cast<size_t>(n));
  return true;
}

// One block of every order 0..MAX_PAGE_ORDER held at once: natural alignment,
// page_address/virt_to_page/page_to_pfn agree, the memory holds a pattern
// (written to all blocks before any is checked, so overlaps show), and the
// free page count returns to where it started.
bool EveryOrderTest(const char** why) {
  drain_all_pages();
  const unsigned long free_before = nr_free_pages();
  struct page* blocks[NR_PAGE_ORDERS] = {};
  for (unsigned order = 0; order <= MAX_PAGE_ORDER; ++order) {
    struct page* p = alloc_pages(GFP_KERNEL, order);
    if (p == nullptr) {
      *why = "alloc_pages(GFP_KERNEL, order) returned NULL for some order 0..10";
      return false;
    }
    blocks[order] = p;
    void* addr = page_address(p);
    const uintptr_t bytes = uintptr_t{PAGE_SIZE} << order;
    if ((reinterpret_cast<uintptr_t>(addr) & (bytes - 1)) != 0 ||
        (page_to_pfn(p) & ((1ul << order) - 1)) != 0) {
      *why = "a block of order n is not aligned to 2^n pages";
      return false;
    }
    if (virt_to_page(addr) != p) {
      *why = "virt_to_page(page_address(p)) != p";
      return false;
    }
    Fill(addr, bytes);
  }
  if (nr_free_pages() + ((1ul << NR_PAGE_ORDERS) - 1) > free_before) {
    *why = "nr_free_pages did not drop by the pages allocated";
    return false;
  }
  for (unsigned order = 0; order <= MAX_PAGE_ORDER; ++order) {
    if (!Verify(page_address(blocks[order]), uintptr_t{PAGE_SIZE} << order)) {
      *why = "a block does not hold what was written (blocks overlap?)";
      return false;
    }
  }
  for (unsigned order = 0; order <= MAX_PAGE_ORDER; ++order) __free_pages(blocks[order], order);
  drain_all_pages();
  if (nr_free_pages() != free_before) {
    Printk("selftest: nr_free_pages %lu before, %lu after freeing\n", free_before, nr_free_pages());
    *why = "nr_free_pages did not return to its starting value";
    return false;
  }
  return true;
}

// Many order-0 pages (through the per-cpu lists), each tagged with its own
// address, then freed in a different order; the count must come back.
bool ManySmallPagesTest(const char** why) {
  constexpr int kPages = 1024;
  static struct page* pages[kPages];
  drain_all_pages();
  const unsigned long free_before = nr_free_pages();
  for (int i = 0; i < kPages; ++i) {
    pages[i] = alloc_page(GFP_KERNEL);
    if (pages[i] == nullptr) {
      *why = "alloc_page failed while plenty of memory is free";
      return false;
    }
    *static_cast<volatile uintptr_t*>(page_address(pages[i])) =
        reinterpret_cast<uintptr_t>(pages[i]);
  }
  for (int i = 0; i < kPages; ++i) {
    if (*static_cast<volatile uintptr_t*>(page_address(pages[i])) !=
        reinterpret_cast<uintptr_t>(pages[i])) {
      *why = "two order-0 allocations share a page";
      return false;
    }
  }
  for (int i = 0; i < kPages; i += 2) __free_page(pages[i]);
  for (int i = 1; i < kPages; i += 2) __free_page(pages[i]);
  drain_all_pages();
  if (nr_free_pages() != free_before) {
    *why = "nr_free_pages did not return after freeing 1024 order-0 pages";
    return false;
  }
  return true;
}

// Allocates order-MAX blocks until the allocator says no, then frees them all:
// the whole range is usable RAM and exhaustion fails cleanly (NULL).
bool ExhaustionTest(const char** why) {
  constexpr int kMaxBlocks = 1024;  // 4 GiB of order-10 blocks: more than QEMU gives
  static struct page* blocks[kMaxBlocks];
  drain_all_pages();
  const unsigned long free_before = nr_free_pages();
  int n = 0;
  while (n < kMaxBlocks) {
    struct page* p = alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER);
    if (p == nullptr) break;
    auto* first = static_cast<volatile uint64_t*>(page_address(p));
    first[0] = 0x1234;
    first[(PAGE_SIZE << MAX_PAGE_ORDER) / 8 - 1] = 0x5678;
    blocks[n++] = p;
  }
  if (n == 0 || n == kMaxBlocks) {
    *why = "order-10 allocations until exhaustion gave no block or never failed";
    return false;
  }
  for (int i = 0; i < n; ++i) __free_pages(blocks[i], MAX_PAGE_ORDER);
  drain_all_pages();
  Printk("selftest: %d order-%d blocks (%lu MiB) allocated before exhaustion\n", n, MAX_PAGE_ORDER,
         static_cast<unsigned long>(n) * (PAGE_SIZE << MAX_PAGE_ORDER) >> 20);
  if (nr_free_pages() != free_before) {
    *why = "nr_free_pages did not return after the exhaustion test";
    return false;
  }
  return true;
}

}  // namespace

bool RunMmSelftest(const char* cmdline, const char** why) {
  const int rc = mm_boot(cmdline);
  if (rc != 0) {
    Printk("mm: mm_boot failed: %d\n", rc);
    *why = rc == -EINVAL ? "mm_boot rejected the command line" : "mm_boot failed";
    return false;
  }
  Printk("mm: booted, totalram_pages %lu (%lu KiB), nr_free_pages %lu\n", totalram_pages(),
         totalram_pages() * (PAGE_SIZE >> 10), nr_free_pages());
  if (totalram_pages() == 0 || nr_free_pages() > totalram_pages()) {
    *why = "totalram_pages/nr_free_pages are inconsistent after boot";
    return false;
  }
  if (!EveryOrderTest(why) || !ManySmallPagesTest(why) || !ExhaustionTest(why)) return false;
  Printk("selftest: buddy allocator OK (orders 0..%d, 1024 order-0 pages, exhaustion)\n",
         MAX_PAGE_ORDER);
  if (!PrintProc("/proc/buddyinfo") || !PrintProc("/proc/meminfo")) {
    *why = "proc_read failed for /proc/buddyinfo or /proc/meminfo";
    return false;
  }
  mm_shutdown();
  // The platform hands out the same RAM again: booting twice must work.
  if (mm_boot(cmdline) != 0) {
    *why = "mm_boot after mm_shutdown failed";
    return false;
  }
  mm_shutdown();
  return true;
}

}  // namespace mm::riscv
