// A read-only reader for flattened device trees (DTB, devicetree spec v0.4
// chapter 5), enough for boot: find a property by node path. Freestanding, no
// allocation; every offset read from the blob is bounds-checked.
#ifndef KERNEL_PORT_RISCV_FDT_H_
#define KERNEL_PORT_RISCV_FDT_H_

#include <cstddef>
#include <cstdint>

namespace mm::riscv {

// A property value: `size` bytes at `data`, inside the blob.
struct FdtValue {
  const uint8_t* data = nullptr;
  uint32_t size = 0;
};

class Fdt {
 public:
  // Checks the header of the blob at `blob` (magic, version, block bounds).
  // On failure returns false and points *error at a static reason.
  bool Init(const void* blob, const char** error);

  // Finds property `name` of the node at `path` ("/", "/chosen", "/cpus/cpu@0").
  // A path component without '@' also matches a node with a unit address
  // ("/memory" finds "memory@80000000"); the first match in the tree wins.
  // False if there is no such property or the structure block is malformed.
  bool FindProperty(const char* path, const char* name, FdtValue* value) const;

  uint32_t total_size() const { return total_size_; }

 private:
  // The property name at `offset` in the strings block, or nullptr if out of bounds.
  const char* PropertyName(uint32_t offset) const;

  uint32_t total_size_ = 0;
  const uint8_t* struct_ = nullptr;
  uint32_t struct_size_ = 0;
  const char* strings_ = nullptr;
  uint32_t strings_size_ = 0;
};

// Reads a big-endian number of `cells` 32-bit cells (1 or 2) at `p`.
uint64_t FdtReadCells(const uint8_t* p, unsigned cells);

// What the kernel needs from the device tree at boot.
struct BootInfo {
  uint64_t ram_base = 0;  // first /memory node, first reg entry
  uint64_t ram_size = 0;
  uint64_t timebase_hz = 0;   // /cpus (or /cpus/cpu@0) timebase-frequency
  const char* bootargs = "";  // /chosen bootargs (QEMU -append), inside the blob; "" if none
};

// Reads BootInfo from an initialised Fdt; false with a static reason if a
// required property (/memory reg, timebase-frequency) is missing or malformed.
bool ReadBootInfo(const Fdt& fdt, BootInfo* info, const char** error);

}  // namespace mm::riscv

#endif  // KERNEL_PORT_RISCV_FDT_H_
