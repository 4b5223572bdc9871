// The arch format, the generic walker, the software TLB, the AVL tree and the
// object pool.
#include <map>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "mm/buddy/buddy_test_util.h"
#include "mm/vm/avl_tree.h"
#include "mm/vm/object_pool.h"
#include "mm/vm/page_table.h"
#include "mm/vm/riscv_pte.h"
#include "mm/vm/tlb.h"

namespace mm {
namespace {

TEST(RiscvPte, BitLayoutMatchesThePrivilegedSpec) {
  EXPECT_EQ(kPteV, 0x1u);
  EXPECT_EQ(kPteR, 0x2u);
  EXPECT_EQ(kPteW, 0x4u);
  EXPECT_EQ(kPteX, 0x8u);
  EXPECT_EQ(kPteU, 0x10u);
  EXPECT_EQ(kPteG, 0x20u);
  EXPECT_EQ(kPteA, 0x40u);
  EXPECT_EQ(kPteD, 0x80u);
  EXPECT_EQ(kPteRsw0 | kPteRsw1, 0x300u);
  // PPN occupies bits 53..10.
  EXPECT_EQ(kPtePpnMask, 0x003ffffffffffc00ull);
  const pte_t e = PfnToPte(0x80123, kPteV | kPteR | kPteW);
  EXPECT_EQ(e, (0x80123ull << 10) | 0x7);
  EXPECT_EQ(PtePfn(e), 0x80123u);
  EXPECT_TRUE(PteLeaf(e));
  EXPECT_TRUE(PteTable(MakeTablePte(5)));
  EXPECT_FALSE(PteLeaf(MakeTablePte(5)));
  // VPN fields: Sv39 VPN[2] is bits 38..30, Sv48 VPN[3] bits 47..39.
  EXPECT_EQ(PteIndex(0x0000007fc0000000ull, 2), 511u);
  EXPECT_EQ(PteIndex(0x0000ff8000000000ull, 3), 511u);
  EXPECT_EQ(PteIndex(0x1000, 0), 1u);
  // satp: MODE 8 (Sv39) / 9 (Sv48) in 63..60, ASID 59..44, PPN 43..0.
  EXPECT_EQ(MakeSatp(PagingMode{3}, 7, 0x80000), (8ull << 60) | (7ull << 44) | 0x80000);
  EXPECT_EQ(MakeSatp(PagingMode{4}, 1, 1) >> 60, 9u);
  const pte_t swp = MakeSwapPte(5, 12345);
  EXPECT_FALSE(PteValid(swp));
  EXPECT_FALSE(PteProtNone(swp));
  EXPECT_TRUE(PteSwap(swp));
  EXPECT_EQ(SwapPteType(swp), 5u);
  EXPECT_EQ(SwapPteOffset(swp), 12345u);
  EXPECT_TRUE(PtePresent(PfnToPte(9, kPteProtNone)));
}

class PageTableTest : public ::testing::TestWithParam<unsigned> {};

struct Collect : PageWalkCallbacks {
  std::vector<uint64_t> leaves;
  std::vector<std::pair<unsigned, uint64_t>> tables;
  uint64_t holes = 0;
  bool TableEntry(pte_t*, unsigned level, uint64_t addr, uint64_t) {
    tables.push_back({level, addr});
    return true;
  }
  bool Pte(pte_t* e, uint64_t addr) {
    if (*e != 0) leaves.push_back(addr);
    return true;
  }
  bool Hole(uint64_t addr, uint64_t end, unsigned) {
    holes += end - addr;
    return true;
  }
};

TEST_P(PageTableTest, MapWalkAndFreeReturnEveryPage) {
  TestBuddy buddy(16 << 20);
  ASSERT_EQ(buddy.init_result(), 0);
  const uint64_t free0 = buddy->NrFreePages();
  std::atomic<uint64_t> counter{0};
  {
    PageTable pt;
    ASSERT_EQ(pt.Init(&*buddy, PagingMode{GetParam()}, &counter), 0);
    const PagingMode m = pt.mode();
    const uint64_t top = m.user_top();
    const uint64_t addrs[] = {0x1000, 0x2000, 0x200000, 0x40000000, top - 0x1000};
    for (uint64_t a : addrs) {
      pte_t* e = pt.LookupAlloc(a);
      ASSERT_NE(e, nullptr);
      *e = PfnToPte(a >> 12, kPteV | kPteR | kPteU);
    }
    EXPECT_EQ(pt.Lookup(0x3000) != nullptr, true);  // same leaf table as 0x1000
    EXPECT_EQ(*pt.Lookup(0x3000), 0u);
    EXPECT_EQ(pt.Lookup(top / 2), nullptr);
    Collect c;
    ASSERT_TRUE(pt.Walk(0, top, c));
    EXPECT_EQ(c.leaves, std::vector<uint64_t>(std::begin(addrs), std::end(addrs)));
    EXPECT_EQ(counter.load(), pt.nr_tables());
    // Tables: root + per distinct path. The walker visits levels top-down.
    EXPECT_EQ(c.tables.front().first, GetParam() - 1);
    EXPECT_TRUE(pt.CheckInvariants());
    for (uint64_t a : addrs) *pt.Lookup(a) = 0;
    pt.FreeTablesIn(0, top);
    EXPECT_EQ(pt.nr_tables(), 1u);
    pt.Destroy();
    EXPECT_EQ(counter.load(), 0u);
  }
  buddy->DrainAllPages();
  EXPECT_EQ(buddy->NrFreePages(), free0);
}

TEST_P(PageTableTest, FreeTablesInKeepsTablesStillNeeded) {
  TestBuddy buddy(16 << 20);
  PageTable pt;
  ASSERT_EQ(pt.Init(&*buddy, PagingMode{GetParam()}), 0);
  *pt.LookupAlloc(0x1000) = PfnToPte(1, kPteV | kPteR);
  *pt.LookupAlloc(0x400000) = PfnToPte(2, kPteV | kPteR);
  const uint64_t before = pt.nr_tables();
  *pt.Lookup(0x400000) = 0;
  pt.FreeTablesIn(0x200000, 0x800000);  // only 0x400000's leaf table is wholly inside
  EXPECT_EQ(pt.nr_tables(), before - 1);
  EXPECT_NE(pt.Lookup(0x1000), nullptr);
  *pt.Lookup(0x1000) = 0;
  pt.FreeTablesIn(0, pt.mode().user_top());
  pt.Destroy();
}

INSTANTIATE_TEST_SUITE_P(Sv39AndSv48, PageTableTest, ::testing::Values(3u, 4u),
                         [](const auto& info) { return info.param == 3 ? "Sv39" : "Sv48"; });

TEST(SoftTlb, HitMissVictimAndFlushes) {
  SoftTlb tlb;
  const pte_t rw = kPteV | kPteR | kPteW | kPteU | kPteA | kPteD;
  tlb.Fill(1, 0x1000, 0x7000000, rw);
  EXPECT_EQ(tlb.Lookup(1, 0x1234, kPteR | kPteU), 0x7000234u);
  EXPECT_EQ(tlb.Lookup(2, 0x1234, kPteR | kPteU), 0u);  // other ASID
  EXPECT_EQ(tlb.Lookup(1, 0x1234, kPteX), 0u);          // no X permission
  // A conflicting page evicts into the victim buffer and is still found.
  const uint64_t conflict = 0x1000 + SoftTlb::kSets * kPageSize;
  tlb.Fill(1, conflict, 0x8000000, rw);
  EXPECT_EQ(tlb.Lookup(1, 0x1000, kPteR), 0x7000000u);
  EXPECT_EQ(tlb.victim_hits(), 1u);
  EXPECT_EQ(tlb.Lookup(1, conflict, kPteR), 0x8000000u);
  tlb.FlushPage(1, 0x1000);
  EXPECT_EQ(tlb.Lookup(1, 0x1000, kPteR), 0u);
  EXPECT_NE(tlb.Lookup(1, conflict, kPteR), 0u);
  tlb.Fill(2, 0x5000, 0x9000000, rw);
  tlb.FlushAsid(1);
  EXPECT_EQ(tlb.Lookup(1, conflict, kPteR), 0u);
  EXPECT_NE(tlb.Lookup(2, 0x5000, kPteR), 0u);
  tlb.FlushRange(2, 0x4000, 0x6000);
  EXPECT_EQ(tlb.Lookup(2, 0x5000, kPteR), 0u);
  // A clean entry (D clear) does not satisfy a store.
  tlb.Fill(3, 0x1000, 0x7000000, kPteV | kPteR | kPteW | kPteU | kPteA);
  EXPECT_EQ(tlb.Lookup(3, 0x1000, kPteW | kPteD | kPteU), 0u);
  EXPECT_NE(tlb.Lookup(3, 0x1000, kPteR | kPteU), 0u);
  tlb.FlushAll();
  EXPECT_EQ(tlb.Lookup(3, 0x1000, kPteR), 0u);
}

struct Item {
  AvlNode node;
  uint64_t key;
};

TEST(AvlTree, RandomInsertEraseStaysBalancedAndOrdered) {
  std::mt19937_64 rng(42);
  AvlTree tree;
  std::map<uint64_t, Item*> ref;
  std::vector<Item> items(4000);
  for (size_t i = 0; i < items.size(); ++i) items[i].key = i * 7919 % 100003;
  for (int round = 0; round < 20000; ++round) {
    Item* it = &items[rng() % items.size()];
    if (ref.count(it->key)) {
      tree.Erase(&it->node);
      ref.erase(it->key);
    } else {
      AvlNode* parent = nullptr;
      AvlNode** link = tree.root_link();
      while (*link) {
        parent = *link;
        link = it->key < ContainerOf(parent, &Item::node)->key ? &parent->left : &parent->right;
      }
      tree.InsertAt(&it->node, parent, link);
      ref[it->key] = it;
    }
    if (round % 997 == 0) {
      ASSERT_EQ(tree.CheckInvariants(), static_cast<long>(ref.size()));
    }
  }
  ASSERT_EQ(tree.CheckInvariants(), static_cast<long>(ref.size()));
  auto r = ref.begin();
  for (AvlNode* n = tree.First(); n; n = AvlTree::Next(n), ++r)
    ASSERT_EQ(ContainerOf(n, &Item::node)->key, r->first);
  EXPECT_EQ(r, ref.end());
  auto rr = ref.rbegin();
  for (AvlNode* n = tree.Last(); n; n = AvlTree::Prev(n), ++rr)
    ASSERT_EQ(ContainerOf(n, &Item::node)->key, rr->first);
}

TEST(ObjectPool, PagesComeAndGo) {
  TestBuddy buddy(8 << 20);
  buddy->DrainAllPages();
  const uint64_t free0 = buddy->NrFreePages();
  ObjectPool pool;
  pool.Init(&*buddy, "test", 200);
  std::vector<void*> objs;
  std::set<void*> seen;
  for (int i = 0; i < 1000; ++i) {
    void* p = pool.Alloc();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second);
    objs.push_back(p);
  }
  EXPECT_TRUE(pool.CheckInvariants());
  EXPECT_EQ(pool.in_use(), 1000u);
  EXPECT_EQ(pool.nr_pages(), (1000 + pool.per_page() - 1) / pool.per_page());
  for (size_t i = 0; i < objs.size(); i += 2) pool.Free(objs[i]);
  EXPECT_TRUE(pool.CheckInvariants());
  for (size_t i = 1; i < objs.size(); i += 2) pool.Free(objs[i]);
  EXPECT_EQ(pool.nr_pages(), 0u);
  buddy->DrainAllPages();
  EXPECT_EQ(buddy->NrFreePages(), free0);
}

}  // namespace
}  // namespace mm
