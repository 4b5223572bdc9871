// RISC-V Sv39 / Sv48 page-table entry format (the architecture file).
//
// Everything that knows the hardware's bit layout lives here; the generic VM
// (page_table.h, vm_system.*) asks only through these helpers. The RISC-V
// kernel port hands the very same tables to the hardware through satp.
//
// A page-table entry is 64 bits (RISC-V privileged spec, "Sv39"/"Sv48"):
//
//   63   62-61  60-54     53 ............ 10  9-8  7 6 5 4 3 2 1 0
//   N    PBMT   reserved  PPN (44 bits)       RSW  D A G U X W R V
//
//   V  valid. R W X: readable, writable, executable. R=W=X=0 with V=1 is a
//      pointer to the next-level table; W=1 with R=0 is reserved.
//   U  user-accessible.  G  global (all address spaces).
//   A  accessed, D  dirty: set by hardware (here: the software MMU) on access.
//   RSW two bits for software. libmm uses bit 8 (kPteProtNone) on a NON-valid
//      entry to mean "present but PROT_NONE" (the PPN is kept); bit 9 is unused.
//   PPN physical page number, bits 53..10 (PPN[3..0] for Sv48, PPN[2..0] Sv39).
//   N, PBMT (Svnapot/Svpbmt) are always 0 here.
//
// A non-valid entry (V=0) that is not PROT_NONE and not zero is a swap entry:
//   bits 7..2  swap type (6 bits), bits 63..10 swap offset, bits 1, 8, 9 zero.
//
// Virtual addresses: Sv39 has 3 levels of 9 index bits above a 12-bit offset
// (39 bits; bits 63..39 must equal bit 38), Sv48 has 4 levels (48 bits). Each
// table is one 4 KiB page of 512 entries. satp = MODE(63..60) ASID(59..44)
// PPN(43..0), MODE 8 = Sv39, 9 = Sv48.
#ifndef MM_VM_RISCV_PTE_H_
#define MM_VM_RISCV_PTE_H_

#include <cstdint>

#include "mm/base/types.h"

namespace mm {

using pte_t = uint64_t;

inline constexpr pte_t kPteV = 1u << 0;
inline constexpr pte_t kPteR = 1u << 1;
inline constexpr pte_t kPteW = 1u << 2;
inline constexpr pte_t kPteX = 1u << 3;
inline constexpr pte_t kPteU = 1u << 4;
inline constexpr pte_t kPteG = 1u << 5;
inline constexpr pte_t kPteA = 1u << 6;
inline constexpr pte_t kPteD = 1u << 7;
inline constexpr pte_t kPteRsw0 = 1u << 8;
inline constexpr pte_t kPteRsw1 = 1u << 9;
inline constexpr pte_t kPteProtNone = kPteRsw0;
inline constexpr pte_t kPteRwx = kPteR | kPteW | kPteX;
inline constexpr unsigned kPtePpnShift = 10;
inline constexpr pte_t kPtePpnMask = ((pte_t{1} << 44) - 1) << kPtePpnShift;

inline constexpr unsigned kPtesPerTable = 512;
inline constexpr unsigned kLevelBits = 9;

inline constexpr uint64_t kSatpModeSv39 = 8;
inline constexpr uint64_t kSatpModeSv48 = 9;
inline constexpr unsigned kAsidBits = 16;

constexpr bool PteValid(pte_t e) { return (e & kPteV) != 0; }
// A valid entry with any of R/W/X is a leaf; otherwise it points at a table.
constexpr bool PteLeaf(pte_t e) { return PteValid(e) && (e & kPteRwx) != 0; }
constexpr bool PteTable(pte_t e) { return PteValid(e) && (e & kPteRwx) == 0; }
constexpr bool PteProtNone(pte_t e) { return !PteValid(e) && (e & kPteProtNone) != 0; }
// Maps a page (valid, or PROT_NONE-present): the PPN is meaningful.
constexpr bool PtePresent(pte_t e) { return PteValid(e) || PteProtNone(e); }
constexpr bool PteSwap(pte_t e) { return e != 0 && !PtePresent(e); }
constexpr bool PteNone(pte_t e) { return e == 0; }
constexpr Pfn PtePfn(pte_t e) { return (e & kPtePpnMask) >> kPtePpnShift; }
constexpr pte_t PfnToPte(Pfn pfn, pte_t bits) { return (pfn << kPtePpnShift) | bits; }
constexpr pte_t MakeTablePte(Pfn table_pfn) { return PfnToPte(table_pfn, kPteV); }

// Swap entries (for the swap layer): type 0..63, offset < 2^54.
constexpr pte_t MakeSwapPte(unsigned type, uint64_t offset) {
  return (offset << kPtePpnShift) | (pte_t{type & 63u} << 2);
}
constexpr unsigned SwapPteType(pte_t e) { return static_cast<unsigned>((e >> 2) & 63u); }
constexpr uint64_t SwapPteOffset(pte_t e) { return e >> kPtePpnShift; }

// Geometry of one paging mode.
struct PagingMode {
  unsigned levels;  // 3 (Sv39) or 4 (Sv48)
  constexpr unsigned va_bits() const { return kPageShift + levels * kLevelBits; }
  // The user half: [0, 2^(va_bits-1)), Linux's TASK_SIZE on riscv.
  constexpr uint64_t user_top() const { return uint64_t{1} << (va_bits() - 1); }
  constexpr uint64_t satp_mode() const { return levels == 3 ? kSatpModeSv39 : kSatpModeSv48; }
};

// Index of `va` in a table of `level` (0 = the leaf table).
constexpr unsigned PteIndex(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (kPageShift + level * kLevelBits)) & (kPtesPerTable - 1));
}
// Bytes mapped by one entry of a table at `level`.
constexpr uint64_t LevelSpan(unsigned level) { return uint64_t{1} << (kPageShift + level * kLevelBits); }

constexpr uint64_t MakeSatp(const PagingMode& m, unsigned asid, Pfn root_pfn) {
  return (m.satp_mode() << 60) | (uint64_t{asid & ((1u << kAsidBits) - 1)} << 44) | root_pfn;
}

static_assert(PagingMode{3}.user_top() == 0x4000000000ull);
static_assert(PagingMode{4}.user_top() == 0x800000000000ull);
static_assert(PteIndex(0x7fffffffffull, 2) == 511);
static_assert(PteSwap(MakeSwapPte(3, 77)) && SwapPteOffset(MakeSwapPte(3, 77)) == 77 &&
              SwapPteType(MakeSwapPte(3, 77)) == 3);

}  // namespace mm

#endif  // MM_VM_RISCV_PTE_H_
