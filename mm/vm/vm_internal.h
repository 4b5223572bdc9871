// Helpers shared by the vm_*.cc files of VmSystem (not part of the API).
#ifndef MM_VM_VM_INTERNAL_H_
#define MM_VM_VM_INTERNAL_H_

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/list.h"
#include "mm/vm/vm_types.h"

namespace mm::vm_internal {

inline constexpr int kEBADF = 9;

inline vm_area_struct* VmaOfNode(AvlNode* n) {
  return n == nullptr ? nullptr : ContainerOf(n, &vm_area_struct::vm_rb);
}

// find_vma: the lowest VMA with vm_end > addr (O(log n)).
inline vm_area_struct* LookupVma(mm_struct* mm, unsigned long addr) {
  vm_area_struct* best = nullptr;
  AvlNode* n = mm->mm_rb.root();
  while (n != nullptr) {
    vm_area_struct* v = VmaOfNode(n);
    if (v->vm_end > addr) {
      best = v;
      if (v->vm_start <= addr) break;
      n = n->left;
    } else {
      n = n->right;
    }
  }
  return best;
}

inline unsigned long VmaPages(const vm_area_struct* v) { return (v->vm_end - v->vm_start) >> kPageShift; }
inline unsigned long PageAlignUp(unsigned long x) { return (x + kPageSize - 1) & ~(kPageSize - 1); }
inline bool PageAligned(unsigned long x) { return (x & (kPageSize - 1)) == 0; }
inline unsigned long ErrVal(int err) { return static_cast<unsigned long>(static_cast<long>(err)); }

// Linux's calc_vm_prot_bits + the VM_MAY* bits.
inline unsigned long ProtToVmFlags(unsigned long prot) {
  unsigned long f = 0;
  if (prot & PROT_READ) f |= VM_READ;
  if (prot & PROT_WRITE) f |= VM_WRITE;
  if (prot & PROT_EXEC) f |= VM_EXEC;
  return f;
}

inline page* LruPage(ListNode* n) { return ContainerOf(n, &page::lru); }

// rmap_walk for one page: fn(vma, addr, pte) for every present PTE that maps
// pfn as page `index` of the VMAs on `vmas` (an anon_vma's vmas, linked by
// anon_vma_node, or a file's i_mmap, linked by shared: `Link`). fn returns
// false to stop the walk. Returns the number of PTEs fn was called for.
// Caller holds vm_lock.
template <ListNode vm_area_struct::*Link, typename Fn>
int ForEachMappingPte(List& vmas, uint64_t index, Pfn pfn, Fn&& fn) {
  int visited = 0;
  for (ListNode* n = vmas.first(); n != nullptr && n != vmas.end(); n = n->next) {
    vm_area_struct* vma = ContainerOf(n, Link);
    if (index < vma->vm_pgoff) continue;
    const unsigned long addr = vma->vm_start + ((index - vma->vm_pgoff) << kPageShift);
    if (addr < vma->vm_start || addr >= vma->vm_end) continue;
    pte_t* pte = vma->vm_mm->pgt.Lookup(addr);
    if (pte == nullptr || !PtePresent(*pte) || PtePfn(*pte) != pfn) continue;
    ++visited;
    if (!fn(vma, addr, pte)) break;
  }
  return visited;
}

}  // namespace mm::vm_internal

#endif  // MM_VM_VM_INTERNAL_H_
