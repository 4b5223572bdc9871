#include "kernel_port/riscv/fdt.h"

namespace mm::riscv {
namespace {

// FDT header: ten big-endian 32-bit fields at the start of the blob.
//   0x00 magic              0xd00dfeed
//   0x04 totalsize          size of the whole blob in bytes
//   0x08 off_dt_struct      offset of the structure block
//   0x0c off_dt_strings     offset of the strings block (property names)
//   0x10 off_mem_rsvmap     offset of the memory reservation block
//   0x14 version            17 for current blobs
//   0x18 last_comp_version  oldest version this blob is compatible with (16)
//   0x1c boot_cpuid_phys    physical id of the boot cpu
//   0x20 size_dt_strings    length of the strings block
//   0x24 size_dt_struct     length of the structure block (version >= 17)
constexpr uint32_t kMagic = 0xd00dfeed;
constexpr uint32_t kHeaderSize = 0x28;
constexpr uint32_t kOffTotalSize = 0x04;
constexpr uint32_t kOffStruct = 0x08;
constexpr uint32_t kOffStrings = 0x0c;
constexpr uint32_t kOffVersion = 0x14;
constexpr uint32_t kOffLastCompVersion = 0x18;
constexpr uint32_t kOffSizeStrings = 0x20;
constexpr uint32_t kOffSizeStruct = 0x24;
constexpr uint32_t kSupportedVersion = 17;

// Structure block tokens (big-endian 32-bit, 4-byte aligned):
//   FDT_BEGIN_NODE 0x1  followed by the node's NUL-terminated name ("" for the
//                       root, "memory@80000000"), padded to 4 bytes
//   FDT_END_NODE   0x2
//   FDT_PROP       0x3  followed by u32 len, u32 nameoff (into the strings
//                       block), then len bytes of value, padded to 4 bytes
//   FDT_NOP        0x4
//   FDT_END        0x9  end of the structure block
constexpr uint32_t kTokenBeginNode = 0x1;
constexpr uint32_t kTokenEndNode = 0x2;
constexpr uint32_t kTokenProp = 0x3;
constexpr uint32_t kTokenNop = 0x4;
constexpr uint32_t kTokenEnd = 0x9;

// Deepest node path FindProperty accepts (components after the root).
constexpr int kMaxPathDepth = 8;

uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint32_t Align4(uint32_t n) { return (n + 3u) & ~3u; }

bool StrEq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// One component of a node path: [text, text + length).
struct Component {
  const char* text;
  uint32_t length;
};

// True if node `name` (length `n`) matches `c`: equal, or equal up to the '@'
// of the unit address when `c` itself has no '@'.
bool NameMatches(const char* name, uint32_t n, const Component& c) {
  bool c_has_at = false;
  for (uint32_t i = 0; i < c.length; ++i) c_has_at |= c.text[i] == '@';
  uint32_t base = n;
  if (!c_has_at) {
    for (uint32_t i = 0; i < n; ++i) {
      if (name[i] == '@') {
        base = i;
        break;
      }
    }
  }
  if (base != c.length) return false;
  for (uint32_t i = 0; i < base; ++i) {
    if (name[i] != c.text[i]) return false;
  }
  return true;
}

}  // namespace

uint64_t FdtReadCells(const uint8_t* p, unsigned cells) {
  uint64_t v = 0;
  for (unsigned i = 0; i < cells; ++i) v = (v << 32) | Be32(p + 4 * i);
  return v;
}

bool Fdt::Init(const void* blob, const char** error) {
  const auto* b = static_cast<const uint8_t*>(blob);
  if (b == nullptr || (reinterpret_cast<uintptr_t>(b) & 3) != 0) {
    *error = "device tree pointer is null or not 4-byte aligned";
    return false;
  }
  if (Be32(b) != kMagic) {
    *error = "bad device tree magic (expected 0xd00dfeed)";
    return false;
  }
  const uint32_t total = Be32(b + kOffTotalSize);
  if (total < kHeaderSize) {
    *error = "device tree totalsize smaller than its header";
    return false;
  }
  if (Be32(b + kOffVersion) < kSupportedVersion ||
      Be32(b + kOffLastCompVersion) > kSupportedVersion) {
    *error = "unsupported device tree version (need a v17-compatible blob)";
    return false;
  }
  const uint32_t off_struct = Be32(b + kOffStruct);
  const uint32_t size_struct = Be32(b + kOffSizeStruct);
  const uint32_t off_strings = Be32(b + kOffStrings);
  const uint32_t size_strings = Be32(b + kOffSizeStrings);
  if (off_struct > total || size_struct > total - off_struct || (off_struct & 3) != 0 ||
      off_strings > total || size_strings > total - off_strings) {
    *error = "device tree block outside totalsize";
    return false;
  }
  total_size_ = total;
  struct_ = b + off_struct;
  struct_size_ = size_struct;
  strings_ = reinterpret_cast<const char*>(b + off_strings);
  strings_size_ = size_strings;
  return true;
}

const char* Fdt::PropertyName(uint32_t offset) const {
  if (offset >= strings_size_) return nullptr;
  for (uint32_t i = offset; i < strings_size_; ++i) {
    if (strings_[i] == '\0') return strings_ + offset;
  }
  return nullptr;  // not NUL-terminated inside the block
}

bool Fdt::FindProperty(const char* path, const char* name, FdtValue* value) const {
  if (struct_ == nullptr || path == nullptr || path[0] != '/') return false;
  Component comps[kMaxPathDepth];
  int ncomp = 0;
  for (const char* p = path + 1; *p != '\0';) {
    const char* start = p;
    while (*p != '\0' && *p != '/') ++p;
    if (p > start) {
      if (ncomp == kMaxPathDepth) return false;
      comps[ncomp++] = {start, static_cast<uint32_t>(p - start)};
    }
    if (*p == '/') ++p;
  }

  // `level`: depth of the innermost open node (root = 0, -1 before the root).
  // `matched`: deepest level whose node and all its ancestors match the path,
  // so the target node is open exactly when matched == level == ncomp.
  int level = -1;
  int matched = -1;
  uint32_t off = 0;
  while (struct_size_ - off >= 4) {
    const uint32_t token = Be32(struct_ + off);
    off += 4;
    switch (token) {
      case kTokenBeginNode: {
        const char* node = reinterpret_cast<const char*>(struct_ + off);
        uint32_t n = 0;
        while (off + n < struct_size_ && node[n] != '\0') ++n;
        if (off + n >= struct_size_) return false;  // name not terminated
        const uint32_t skip = Align4(n + 1);
        if (skip > struct_size_ - off) return false;
        off += skip;
        ++level;
        if (level == 0) {
          matched = 0;
        } else if (matched == level - 1 && level <= ncomp &&
                   NameMatches(node, n, comps[level - 1])) {
          matched = level;
        }
        break;
      }
      case kTokenEndNode:
        if (level < 0) return false;
        if (matched == level) --matched;
        if (--level < 0) return false;  // the root closed: not found
        break;
      case kTokenProp: {
        if (level < 0 || struct_size_ - off < 8) return false;
        const uint32_t len = Be32(struct_ + off);
        const uint32_t name_off = Be32(struct_ + off + 4);
        off += 8;
        if (len > struct_size_ - off) return false;
        if (matched == level && level == ncomp) {
          const char* prop = PropertyName(name_off);
          if (prop == nullptr) return false;
          if (StrEq(prop, name)) {
            value->data = struct_ + off;
            value->size = len;
            return true;
          }
        }
        const uint32_t skip = Align4(len);
        if (skip > struct_size_ - off) return false;
        off += skip;
        break;
      }
      case kTokenNop:
        break;
      case kTokenEnd:
      default:
        return false;
    }
  }
  return false;
}

bool ReadBootInfo(const Fdt& fdt, BootInfo* info, const char** error) {
  // The root's #address-cells / #size-cells (spec defaults 2 and 1) give the
  // layout of /memory's reg: (address, size) pairs of that many cells each.
  unsigned address_cells = 2;
  unsigned size_cells = 1;
  FdtValue v;
  if (fdt.FindProperty("/", "#address-cells", &v)) {
    if (v.size != 4) {
      *error = "malformed /#address-cells";
      return false;
    }
    address_cells = static_cast<unsigned>(FdtReadCells(v.data, 1));
  }
  if (fdt.FindProperty("/", "#size-cells", &v)) {
    if (v.size != 4) {
      *error = "malformed /#size-cells";
      return false;
    }
    size_cells = static_cast<unsigned>(FdtReadCells(v.data, 1));
  }
  if (address_cells < 1 || address_cells > 2 || size_cells < 1 || size_cells > 2) {
    *error = "unsupported #address-cells/#size-cells (need 1 or 2)";
    return false;
  }

  if (!fdt.FindProperty("/memory", "reg", &v) || v.size < 4 * (address_cells + size_cells)) {
    *error = "no usable /memory reg property";
    return false;
  }
  info->ram_base = FdtReadCells(v.data, address_cells);
  info->ram_size = FdtReadCells(v.data + 4 * address_cells, size_cells);
  if (info->ram_size == 0 || info->ram_base + info->ram_size < info->ram_base) {
    *error = "empty or wrapping /memory reg range";
    return false;
  }

  // timebase-frequency is normally in /cpus; the spec also allows it per cpu.
  if (!fdt.FindProperty("/cpus", "timebase-frequency", &v) &&
      !fdt.FindProperty("/cpus/cpu", "timebase-frequency", &v)) {
    *error = "no timebase-frequency in /cpus";
    return false;
  }
  if (v.size != 4 && v.size != 8) {
    *error = "malformed timebase-frequency";
    return false;
  }
  info->timebase_hz = FdtReadCells(v.data, v.size / 4);
  if (info->timebase_hz == 0) {
    *error = "timebase-frequency is zero";
    return false;
  }

  info->bootargs = "";
  if (fdt.FindProperty("/chosen", "bootargs", &v) && v.size > 0) {
    if (v.data[v.size - 1] != '\0') {
      *error = "/chosen bootargs is not NUL-terminated";
      return false;
    }
    info->bootargs = reinterpret_cast<const char*>(v.data);
  }
  return true;
}

}  // namespace mm::riscv
