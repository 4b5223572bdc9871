// The buddy allocator's text views, in Linux's exact formats (mm/vmstat.c):
// /proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo, its /proc/vmstat lines,
// and /sys/kernel/debug/extfrag/{extfrag_index,unusable_index}.
//
// Locking: each zone's counters are read under its lock (a consistent
// snapshot per zone, as Linux's walk_zones_in_node takes zone->lock); per-cpu
// values (pcp counts, the pgalloc/pgfree event counts) are read under each
// slot's pcp lock and summed, as Linux folds per-cpu counters when a view is
// read (sum_vm_events, zone_page_state_snapshot), so every view is exact at the
// moment of each read.
#include "mm/base/bits.h"
#include "mm/buddy/buddy_allocator.h"

namespace mm {
namespace {

// Per-order free block counts of one zone, under its lock.
struct FreeSnapshot {
  uint64_t nr_free[kNrPageOrders];
  uint64_t nr_free_mt[kNrPageOrders][kNrMigrateTypes];
};

FreeSnapshot Snapshot(Zone& zone) {
  FreeSnapshot s;
  SpinLockGuard guard(zone.lock);
  for (unsigned o = 0; o <= kMaxPageOrder; ++o) {
    s.nr_free[o] = zone.free_area[o].nr_free.get();
    for (unsigned mt = 0; mt < kNrMigrateTypes; ++mt) {
      s.nr_free_mt[o][mt] = zone.free_area[o].nr_free_mt[mt].get();
    }
  }
  return s;
}

// fill_contig_page_info: free blocks in all, and blocks usable for `order`.
struct ContigInfo {
  uint64_t free_pages = 0;
  uint64_t free_blocks_total = 0;
  uint64_t free_blocks_suitable = 0;
};

ContigInfo FillContigInfo(const FreeSnapshot& s, unsigned order) {
  ContigInfo info;
  for (unsigned o = 0; o <= kMaxPageOrder; ++o) {
    info.free_blocks_total += s.nr_free[o];
    info.free_pages += s.nr_free[o] << o;
    if (o >= order) info.free_blocks_suitable += s.nr_free[o] << (o - order);
  }
  return info;
}

// __fragmentation_index, in thousandths.
int FragIndex(const ContigInfo& info, unsigned order) {
  const uint64_t requested = uint64_t{1} << order;
  if (info.free_blocks_total == 0) return 0;
  if (info.free_blocks_suitable != 0) return -1000;
  return 1000 - static_cast<int>((1000 + info.free_pages * 1000 / requested) / info.free_blocks_total);
}

// unusable_free_index, in thousandths.
int UnusableIndex(const ContigInfo& info, unsigned order) {
  if (info.free_pages == 0) return 1000;
  return static_cast<int>((info.free_pages - (info.free_blocks_suitable << order)) * 1000 /
                          info.free_pages);
}

void PutThousandths(TextBuffer& out, int v) {
  // Linux prints "%d.%03d " of index/1000 and index%1000 (with -1.000 for -1000).
  if (v < 0) {
    out.Append("-%d.%03d ", -v / 1000, -v % 1000);
  } else {
    out.Append("%d.%03d ", v / 1000, v % 1000);
  }
}

// One "Node N, zone NAME v0 v1 ... v10" row of a per-order view; cell(out,
// snapshot, order) prints each value.
template <typename Cell>
void ShowPerOrderRows(BuddyAllocator& b, TextBuffer& out, Cell cell) {
  b.ForEachZone([&](unsigned nid, Zone& zone) {
    const FreeSnapshot s = Snapshot(zone);
    out.Append("Node %u, zone %8s ", nid, zone.name());
    for (unsigned o = 0; o <= kMaxPageOrder; ++o) cell(out, s, o);
    out.PutChar('\n');
  });
}

}  // namespace

int BuddyAllocator::FragmentationIndex(const Zone& zone, unsigned order) {
  return FragIndex(FillContigInfo(Snapshot(const_cast<Zone&>(zone)), order), order);
}

void BuddyAllocator::ShowBuddyinfo(TextBuffer& out) {
  ShowPerOrderRows(*this, out, [](TextBuffer& o, const FreeSnapshot& s, unsigned order) {
    o.Append("%6llu ", static_cast<unsigned long long>(s.nr_free[order]));
  });
}

void BuddyAllocator::ShowPagetypeinfo(TextBuffer& out) {
  out.Append("Page block order: %u\n", kPageblockOrder);
  out.Append("Pages per block:  %llu\n", static_cast<unsigned long long>(kPageblockNrPages));
  out.PutChar('\n');
  out.Append("%-43s ", "Free pages count per migrate type at order");
  for (unsigned o = 0; o <= kMaxPageOrder; ++o) out.Append("%6u ", o);
  out.PutChar('\n');
  ForEachZone([&](unsigned nid, Zone& zone) {
    const FreeSnapshot s = Snapshot(zone);
    for (unsigned mt = 0; mt < kNrMigrateTypes; ++mt) {
      out.Append("Node %4u, zone %8s, type %12s ", nid, zone.name(), kMigrateTypeNames[mt]);
      for (unsigned o = 0; o <= kMaxPageOrder; ++o) {
        out.Append("%6llu ", static_cast<unsigned long long>(s.nr_free_mt[o][mt]));
      }
      out.PutChar('\n');
    }
  });
  out.Append("\n%-23s", "Number of blocks type ");
  for (unsigned mt = 0; mt < kNrMigrateTypes; ++mt) out.Append("%12s ", kMigrateTypeNames[mt]);
  out.PutChar('\n');
  ForEachZone([&](unsigned nid, Zone& zone) {
    uint64_t count[kNrMigrateTypes] = {};
    {
      SpinLockGuard guard(zone.lock);
      const uint64_t blocks = (zone.spanned_pages + kPageblockNrPages - 1) / kPageblockNrPages;
      for (uint64_t b = 0; b < blocks; ++b) ++count[zone.pageblock_mt[b]];
    }
    out.Append("Node %u, zone %8s ", nid, zone.name());
    for (unsigned mt = 0; mt < kNrMigrateTypes; ++mt) {
      out.Append("%12llu ", static_cast<unsigned long long>(count[mt]));
    }
    out.PutChar('\n');
  });
}

void BuddyAllocator::ShowZoneinfo(TextBuffer& out) {
  int last_nid = -1;
  ForEachZone([&](unsigned nid, Zone& zone) {
    out.Append("Node %u, zone %8s", nid, zone.name());
    if (static_cast<int>(nid) != last_nid) {  // the node's first populated zone
      last_nid = static_cast<int>(nid);
      uint64_t node_free = 0;
      for (const Zone& z : nodes_[nid]->zones) node_free += z.nr_free.get();
      out.Append("\n  per-node stats");
      out.Append("\n      %-12s %llu", "nr_free_pages", static_cast<unsigned long long>(node_free));
    }
    out.Append(
        "\n  pages free     %llu"
        "\n        boost    %u"
        "\n        min      %llu"
        "\n        low      %llu"
        "\n        high     %llu"
        "\n        spanned  %llu"
        "\n        present  %llu"
        "\n        managed  %llu"
        "\n        cma      %u",
        static_cast<unsigned long long>(zone.nr_free.get()), 0u,
        static_cast<unsigned long long>(zone.watermark[WMARK_MIN]),
        static_cast<unsigned long long>(zone.watermark[WMARK_LOW]),
        static_cast<unsigned long long>(zone.watermark[WMARK_HIGH]),
        static_cast<unsigned long long>(zone.spanned_pages),
        static_cast<unsigned long long>(zone.present_pages),
        static_cast<unsigned long long>(zone.managed_pages), 0u);
    out.Append("\n        protection: (%llu", static_cast<unsigned long long>(zone.lowmem_reserve[0]));
    for (unsigned i = 1; i < kMaxNrZones; ++i) {
      out.Append(", %llu", static_cast<unsigned long long>(zone.lowmem_reserve[i]));
    }
    out.PutChar(')');
    out.Append("\n      %-12s %llu", "nr_free_pages", static_cast<unsigned long long>(zone.nr_free.get()));
    out.Append("\n  pagesets");
    for (unsigned c = 0; c < nr_cpus_; ++c) {
      PerCpuPages& pcp = zone.pcp[c];
      int count, high, batch;
      {
        PcpLockGuard guard(pcp.lock);
        count = pcp.count();
        high = pcp.high;
        batch = pcp.batch;
      }
      out.Append(
          "\n    cpu: %u"
          "\n              count: %d"
          "\n              high:  %d"
          "\n              batch: %d",
          c, count, high, batch);
      out.Append("\n  vm stats threshold: %d", 0);
    }
    out.Append(
        "\n  node_unreclaimable:  %u"
        "\n  start_pfn:           %llu",
        0u, static_cast<unsigned long long>(zone.start_pfn));
    out.PutChar('\n');
  });
}

void BuddyAllocator::ShowVmstat(TextBuffer& out) {
  uint64_t pgalloc[kMaxNrZones] = {};
  uint64_t pgfree = 0;
  ForEachZone([&](unsigned, Zone& zone) {
    for (unsigned c = 0; c < nr_cpus_; ++c) {
      PcpLockGuard guard(zone.pcp[c].lock);
      pgalloc[zone.type] += zone.pcp[c].pgalloc;
      pgfree += zone.pcp[c].pgfree;
    }
    SpinLockGuard guard(zone.lock);
    pgalloc[zone.type] += zone.pgalloc;
    pgfree += zone.pgfree;
  });
  out.Append("nr_free_pages %llu\n", static_cast<unsigned long long>(NrFreeBuddyPages()));
  out.Append("pgalloc_dma %llu\n", static_cast<unsigned long long>(pgalloc[ZONE_DMA]));
  out.Append("pgalloc_normal %llu\n", static_cast<unsigned long long>(pgalloc[ZONE_NORMAL]));
  out.Append("pgfree %llu\n", static_cast<unsigned long long>(pgfree));
  out.Append("allocstall_normal %llu\n",
             static_cast<unsigned long long>(allocstall_.load(std::memory_order_relaxed)));
}

void BuddyAllocator::ShowExtfragIndex(TextBuffer& out) {
  ShowPerOrderRows(*this, out, [](TextBuffer& o, const FreeSnapshot& s, unsigned order) {
    PutThousandths(o, FragIndex(FillContigInfo(s, order), order));
  });
}

void BuddyAllocator::ShowUnusableIndex(TextBuffer& out) {
  ShowPerOrderRows(*this, out, [](TextBuffer& o, const FreeSnapshot& s, unsigned order) {
    PutThousandths(o, UnusableIndex(FillContigInfo(s, order), order));
  });
}

}  // namespace mm
