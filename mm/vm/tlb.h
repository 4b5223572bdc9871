// A software TLB: direct-mapped main array plus a small fully associative
// victim buffer, tagged by ASID, as a hart's TLB caches Sv39/Sv48 leaves.
//
// Concurrency: none inside; the owner (VmSystem's vm_lock) serialises every
// call. The translation fast path (Lookup) is a load, a compare and an add.
//
// Invariants: an entry caches one 4 KiB leaf (vpn, asid) -> host page base and
// its permission bits at fill time; an entry with tag 0 is empty (ASID 0 is
// never handed to an address space, so no live tag is 0). A translation is
// cached only after the walker has set A (and D for a write-permitted entry
// only when D was set), so a store through an entry whose cached D is clear
// misses and re-walks to set D, as hardware does.
#ifndef MM_VM_TLB_H_
#define MM_VM_TLB_H_

#include <cstdint>

#include "mm/base/types.h"
#include "mm/vm/riscv_pte.h"

namespace mm {

class SoftTlb {
 public:
  static constexpr unsigned kSets = 512;    // direct-mapped entries
  static constexpr unsigned kVictims = 8;   // victim buffer

  struct Entry {
    uint64_t tag = 0;   // (vpn << kAsidBits) | asid; 0 = empty
    uintptr_t host = 0; // host address of the page | PTE permission bits (low 12)
  };

  static constexpr uint64_t Tag(unsigned asid, uint64_t vpn) { return (vpn << kAsidBits) | asid; }

  // Host address for `va`, or 0 on a miss or if `need` (kPteR/W/X|U|D bits)
  // is not all granted by the cached entry.
  uintptr_t Lookup(unsigned asid, uint64_t va, uintptr_t need) {
    const uint64_t vpn = va >> kPageShift;
    const uint64_t tag = Tag(asid, vpn);
    Entry& e = main_[vpn & (kSets - 1)];
    if (__builtin_expect(e.tag == tag && (e.host & need) == need, 1)) {
      ++hits_;
      return (e.host & ~uintptr_t{kPageSize - 1}) | (va & (kPageSize - 1));
    }
    return LookupVictim(tag, va, need);
  }

  // Caches a translation (after a successful walk).
  void Fill(unsigned asid, uint64_t va, uintptr_t host_page, pte_t pte) {
    const uint64_t vpn = va >> kPageShift;
    const uint64_t tag = Tag(asid, vpn);
    Entry& e = main_[vpn & (kSets - 1)];
    RemoveVictim(tag);
    if (e.tag != 0 && e.tag != tag) {
      victims_[victim_next_] = e;
      victim_next_ = (victim_next_ + 1) % kVictims;
    }
    e.tag = tag;
    e.host = host_page | (pte & (kPageSize - 1));
    ++fills_;
  }

  // flush_tlb_page: one page of one address space.
  void FlushPage(unsigned asid, uint64_t va) {
    const uint64_t vpn = va >> kPageShift;
    const uint64_t tag = Tag(asid, vpn);
    Entry& e = main_[vpn & (kSets - 1)];
    if (e.tag == tag) e = Entry{};
    RemoveVictim(tag);
    ++flushes_;
  }
  // flush_tlb_range: [start, end) of one address space.
  void FlushRange(unsigned asid, uint64_t start, uint64_t end) {
    if ((end - start) >> kPageShift >= kSets) {
      FlushAsid(asid);
      return;
    }
    for (uint64_t va = start; va < end; va += kPageSize) FlushPage(asid, va);
  }
  // flush_tlb_mm: every entry of one ASID.
  void FlushAsid(unsigned asid) {
    const uint64_t mask = (uint64_t{1} << kAsidBits) - 1;
    for (Entry& e : main_)
      if (e.tag != 0 && (e.tag & mask) == asid) e = Entry{};
    for (Entry& e : victims_)
      if (e.tag != 0 && (e.tag & mask) == asid) e = Entry{};
    ++flushes_;
  }
  // flush_tlb_all.
  void FlushAll() {
    for (Entry& e : main_) e = Entry{};
    for (Entry& e : victims_) e = Entry{};
    ++flushes_;
  }

  uint64_t hits() const { return hits_; }
  uint64_t victim_hits() const { return victim_hits_; }
  uint64_t fills() const { return fills_; }
  uint64_t flushes() const { return flushes_; }

 private:
  uintptr_t LookupVictim(uint64_t tag, uint64_t va, uintptr_t need) {
    for (unsigned i = 0; i < kVictims; ++i) {
      Entry& v = victims_[i];
      if (v.tag == tag && (v.host & need) == need) {
        // Swap with the main slot so the hot entry is found first next time.
        Entry& m = main_[(va >> kPageShift) & (kSets - 1)];
        const Entry hit = v;
        v = m;
        m = hit;
        ++victim_hits_;
        return (hit.host & ~uintptr_t{kPageSize - 1}) | (va & (kPageSize - 1));
      }
    }
    return 0;
  }
  void RemoveVictim(uint64_t tag) {
    for (Entry& v : victims_)
      if (v.tag == tag) v = Entry{};
  }

  Entry main_[kSets];
  Entry victims_[kVictims];
  unsigned victim_next_ = 0;
  uint64_t hits_ = 0;
  uint64_t victim_hits_ = 0;
  uint64_t fills_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace mm

#endif  // MM_VM_TLB_H_
