// A page table (generic side): tables are order-0 buddy pages holding RISC-V
// entries (riscv_pte.h), walked by one generic walker with per-level callbacks.
//
// Concurrency: a PageTable has no lock of its own; its owner (VmSystem's
// vm_lock) serialises every call. Leaf entries may have A/D set by the
// software MMU under the same lock.
//
// Invariants (PageTable::CheckInvariants): every valid non-leaf entry points
// at a page this table allocated; the number of such pages, plus the root,
// equals nr_tables(); no leaf entry above level 0 (libmm maps 4 KiB pages only).
#ifndef MM_VM_PAGE_TABLE_H_
#define MM_VM_PAGE_TABLE_H_

#include <atomic>
#include <cstdint>

#include "mm/buddy/buddy_allocator.h"
#include "mm/vm/riscv_pte.h"

namespace mm {

// Per-level callbacks of PageTable::Walk. Every callback returns true to go
// on, false to stop the walk. Override what you need (static dispatch).
struct PageWalkCallbacks {
  // A valid table entry at `level` (>= 1) covering [addr, end), before descending.
  bool TableEntry(pte_t* /*entry*/, unsigned /*level*/, uint64_t /*addr*/, uint64_t /*end*/) {
    return true;
  }
  // After the table below `entry` was walked (free-empty-tables goes here).
  bool TableDone(pte_t* /*entry*/, unsigned /*level*/, uint64_t /*addr*/, uint64_t /*end*/) {
    return true;
  }
  // A leaf-level slot (level 0), whatever it holds (none, present, swap).
  bool Pte(pte_t* /*pte*/, uint64_t /*addr*/) { return true; }
  // [addr, end) at `level` has no table below it (entry not valid).
  bool Hole(uint64_t /*addr*/, uint64_t /*end*/, unsigned /*level*/) { return true; }
};

class PageTable {
 public:
  PageTable() = default;
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  // Allocates the root table. Returns 0 or -ENOMEM.
  // `counter` (may be nullptr) tracks table pages across tables (nr_page_table_pages).
  int Init(BuddyAllocator* buddy, PagingMode mode, std::atomic<uint64_t>* counter = nullptr);
  // Frees every table (leaf entries must already be cleared by the owner).
  void Destroy();

  bool initialized() const { return root_ != nullptr; }
  PagingMode mode() const { return mode_; }
  unsigned levels() const { return mode_.levels; }
  pte_t* root() const { return root_; }
  Pfn root_pfn() const { return root_pfn_; }
  uint64_t nr_tables() const { return nr_tables_; }

  // The host pointer of the table an entry points to.
  pte_t* TableOf(pte_t entry) const {
    return reinterpret_cast<pte_t*>(buddy_->PhysToVirt(PtePfn(entry) << kPageShift));
  }

  // The leaf slot for `va`, or nullptr if a table on the way is missing.
  pte_t* Lookup(uint64_t va) const {
    pte_t* table = root_;
    for (unsigned level = mode_.levels - 1; level > 0; --level) {
      const pte_t e = table[PteIndex(va, level)];
      if (!PteTable(e)) return nullptr;
      table = TableOf(e);
    }
    return &table[PteIndex(va, 0)];
  }
  // The leaf slot for `va`, allocating missing tables; nullptr on -ENOMEM.
  pte_t* LookupAlloc(uint64_t va);

  // Walks [start, end) (page-aligned) top-down calling `cb`'s per-level
  // callbacks in address order. Returns false if a callback stopped it.
  template <typename Cb>
  bool Walk(uint64_t start, uint64_t end, Cb& cb) {
    if (start >= end) return true;
    return WalkLevel(root_, mode_.levels - 1, start, end, cb);
  }

  // Frees the tables lying entirely inside [floor, ceiling): Linux's
  // free_pgtables for the gap around an unmapped range. Leaf entries in it
  // must be none.
  void FreeTablesIn(uint64_t floor, uint64_t ceiling);

  // Frees one table page whose entries are all zero (helper of FreeTablesIn).
  void FreeTable(pte_t* entry);

  bool CheckInvariants();

 private:
  template <typename Cb>
  bool WalkLevel(pte_t* table, unsigned level, uint64_t start, uint64_t end, Cb& cb) {
    const uint64_t span = LevelSpan(level);
    uint64_t addr = start;
    while (addr < end) {
      const uint64_t next_boundary = (addr & ~(span - 1)) + span;
      const uint64_t next = next_boundary < end && next_boundary != 0 ? next_boundary : end;
      pte_t* e = &table[PteIndex(addr, level)];
      if (level == 0) {
        if (!cb.Pte(e, addr)) return false;
      } else if (PteTable(*e)) {
        if (!cb.TableEntry(e, level, addr, next)) return false;
        if (!WalkLevel(TableOf(*e), level - 1, addr, next, cb)) return false;
        if (!cb.TableDone(e, level, addr, next)) return false;
      } else {
        if (!cb.Hole(addr, next, level)) return false;
      }
      addr = next;
    }
    return true;
  }

  pte_t* AllocTable(Pfn* pfn);

  BuddyAllocator* buddy_ = nullptr;
  PagingMode mode_{3};
  pte_t* root_ = nullptr;
  Pfn root_pfn_ = 0;
  uint64_t nr_tables_ = 0;
  std::atomic<uint64_t>* counter_ = nullptr;
};

}  // namespace mm

#endif  // MM_VM_PAGE_TABLE_H_
