#include "mm/vm/page_table.h"

#include "mm/base/errno.h"
#include "mm/base/log.h"
#include "mm/base/panic.h"

namespace mm {

pte_t* PageTable::AllocTable(Pfn* pfn) {
  page* p = buddy_->AllocPages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, 0);
  if (p == nullptr) return nullptr;
  *pfn = buddy_->PageToPfn(p);
  ++nr_tables_;
  if (counter_ != nullptr) counter_->fetch_add(1, std::memory_order_relaxed);
  return static_cast<pte_t*>(buddy_->PageAddress(p));
}

int PageTable::Init(BuddyAllocator* buddy, PagingMode mode, std::atomic<uint64_t>* counter) {
  counter_ = counter;
  MM_CHECK(mode.levels == 3 || mode.levels == 4);
  buddy_ = buddy;
  mode_ = mode;
  nr_tables_ = 0;
  root_ = AllocTable(&root_pfn_);
  return root_ == nullptr ? -kENOMEM : 0;
}

pte_t* PageTable::LookupAlloc(uint64_t va) {
  pte_t* table = root_;
  for (unsigned level = mode_.levels - 1; level > 0; --level) {
    pte_t* e = &table[PteIndex(va, level)];
    if (!PteTable(*e)) {
      MM_CHECK(*e == 0);  // no superpages, no swap entries above level 0
      Pfn pfn;
      if (AllocTable(&pfn) == nullptr) return nullptr;
      *e = MakeTablePte(pfn);
    }
    table = TableOf(*e);
  }
  return &table[PteIndex(va, 0)];
}

void PageTable::FreeTable(pte_t* entry) {
  page* p = buddy_->PfnToPage(PtePfn(*entry));
  MM_CHECK(p != nullptr);
  *entry = 0;
  --nr_tables_;
  if (counter_ != nullptr) counter_->fetch_sub(1, std::memory_order_relaxed);
  buddy_->FreePages(p, 0);
}

namespace {

// Frees tables whose whole span lies inside [floor, ceiling).
struct FreeTablesWalk : PageWalkCallbacks {
  PageTable* pt;
  uint64_t floor, ceiling;
  bool TableDone(pte_t* e, unsigned level, uint64_t addr, uint64_t /*end*/) {
    const uint64_t span = LevelSpan(level);
    const uint64_t base = addr & ~(span - 1);
    if (base >= floor && base + span - 1 <= ceiling - 1) {
      const pte_t* t = pt->TableOf(*e);
      for (unsigned i = 0; i < kPtesPerTable; ++i) MM_CHECK(t[i] == 0);
      pt->FreeTable(e);
    }
    return true;
  }
};

struct DestroyWalk : PageWalkCallbacks {
  PageTable* pt;
  bool Pte(pte_t* e, uint64_t) {
    MM_CHECK(*e == 0);
    return true;
  }
  bool TableDone(pte_t* e, unsigned, uint64_t, uint64_t) {
    pt->FreeTable(e);
    return true;
  }
};

struct CountWalk : PageWalkCallbacks {
  uint64_t tables = 0;
  bool bad = false;
  bool TableEntry(pte_t*, unsigned, uint64_t, uint64_t) {
    ++tables;
    return true;
  }
  bool Hole(uint64_t, uint64_t, unsigned) { return true; }
};

}  // namespace

void PageTable::FreeTablesIn(uint64_t floor, uint64_t ceiling) {
  if (root_ == nullptr || floor >= ceiling) return;
  FreeTablesWalk w;
  w.pt = this;
  w.floor = floor;
  w.ceiling = ceiling;
  Walk(floor, ceiling, w);
}

void PageTable::Destroy() {
  if (root_ == nullptr) return;
  DestroyWalk w;
  w.pt = this;
  Walk(0, mode_.user_top(), w);
  // Kernel half (never used by libmm's user tables) must be empty too.
  for (unsigned i = 0; i < kPtesPerTable; ++i) MM_CHECK(root_[i] == 0);
  page* p = buddy_->PfnToPage(root_pfn_);
  buddy_->FreePages(p, 0);
  --nr_tables_;
  if (counter_ != nullptr) counter_->fetch_sub(1, std::memory_order_relaxed);
  MM_CHECK(nr_tables_ == 0);
  root_ = nullptr;
}

bool PageTable::CheckInvariants() {
  if (root_ == nullptr) return true;
  CountWalk w;
  Walk(0, mode_.user_top(), w);
  if (w.tables + 1 != nr_tables_) {
    Printk("PageTable::CheckInvariants: %llu tables reachable, %llu counted\n",
           static_cast<unsigned long long>(w.tables + 1),
           static_cast<unsigned long long>(nr_tables_));
    return false;
  }
  return true;
}

}  // namespace mm
