#include "mm/buddy/memblock.h"

namespace mm {

void* Memblock::Alloc(size_t bytes, size_t align) {
  uintptr_t start = AlignUp(next_, align);
  if (start + bytes > ram_.virt_base + ram_.size || start + bytes < start) return nullptr;
  next_ = start + bytes;
  auto* p = reinterpret_cast<unsigned char*>(start);
  __builtin_memset(p, 0, bytes);
  return p;
}

}  // namespace mm
