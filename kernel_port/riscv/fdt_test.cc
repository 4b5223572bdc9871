// The device-tree reader against the blob QEMU generates for `virt` (dumped by
// the :virt_dtb genrule with -m 128M -append "mem=64M bogus=1"), plus damaged copies.
#include "kernel_port/riscv/fdt.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mm::riscv {
namespace {

std::string g_dtb_path;

// The blob, in 8-byte aligned storage (the reader needs 4-byte alignment).
std::vector<uint64_t> LoadDtb() {
  std::ifstream in(g_dtb_path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 64u) << g_dtb_path;
  std::vector<uint64_t> words((bytes.size() + 7) / 8);
  memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

void PutBe32(void* blob, size_t offset, uint32_t v) {
  auto* p = static_cast<uint8_t*>(blob) + offset;
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

TEST(FdtTest, ReadsQemuVirtBootInfo) {
  auto blob = LoadDtb();
  Fdt fdt;
  const char* error = nullptr;
  ASSERT_TRUE(fdt.Init(blob.data(), &error)) << error;
  BootInfo info;
  ASSERT_TRUE(ReadBootInfo(fdt, &info, &error)) << error;
  EXPECT_EQ(info.ram_base, 0x80000000u);
  EXPECT_EQ(info.ram_size, 128u << 20);
  EXPECT_EQ(info.timebase_hz, 10000000u);
  EXPECT_STREQ(info.bootargs, "mem=64M bogus=1");
}

TEST(FdtTest, FindsPropertiesByPathAndUnitAddress) {
  auto blob = LoadDtb();
  Fdt fdt;
  const char* error = nullptr;
  ASSERT_TRUE(fdt.Init(blob.data(), &error)) << error;
  FdtValue v;
  ASSERT_TRUE(fdt.FindProperty("/memory@80000000", "device_type", &v));
  EXPECT_STREQ(reinterpret_cast<const char*>(v.data), "memory");
  ASSERT_TRUE(fdt.FindProperty("/cpus/cpu@0", "device_type", &v));
  EXPECT_STREQ(reinterpret_cast<const char*>(v.data), "cpu");
  ASSERT_TRUE(fdt.FindProperty("/", "compatible", &v));
  EXPECT_STREQ(reinterpret_cast<const char*>(v.data), "riscv-virtio");
  EXPECT_FALSE(fdt.FindProperty("/chosen", "no-such-property", &v));
  EXPECT_FALSE(fdt.FindProperty("/no-such-node", "reg", &v));
  EXPECT_FALSE(fdt.FindProperty("/memory@1234", "reg", &v));
  // A property of a child is not a property of its parent.
  EXPECT_FALSE(fdt.FindProperty("/cpus", "device_type", &v));
}

TEST(FdtTest, RejectsDamagedHeaders) {
  const char* error = nullptr;
  Fdt fdt;
  {
    auto blob = LoadDtb();
    PutBe32(blob.data(), 0, 0xfeeddead);
    EXPECT_FALSE(fdt.Init(blob.data(), &error));
    EXPECT_NE(std::string(error).find("magic"), std::string::npos);
  }
  {
    auto blob = LoadDtb();
    PutBe32(blob.data(), 0x08, 0x7fffff00);  // off_dt_struct far outside
    EXPECT_FALSE(fdt.Init(blob.data(), &error));
  }
  {
    auto blob = LoadDtb();
    PutBe32(blob.data(), 0x14, 3);  // version 3
    EXPECT_FALSE(fdt.Init(blob.data(), &error));
  }
}

TEST(FdtTest, TruncatedStructureBlockIsNotFoundNotOverrun) {
  auto blob = LoadDtb();
  // Cut size_dt_struct to 40 bytes: the walk must stop inside the block.
  PutBe32(blob.data(), 0x24, 40);
  Fdt fdt;
  const char* error = nullptr;
  ASSERT_TRUE(fdt.Init(blob.data(), &error)) << error;
  FdtValue v;
  EXPECT_FALSE(fdt.FindProperty("/chosen", "bootargs", &v));
  BootInfo info;
  EXPECT_FALSE(ReadBootInfo(fdt, &info, &error));
}

}  // namespace
}  // namespace mm::riscv

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) mm::riscv::g_dtb_path = argv[1];
  return RUN_ALL_TESTS();
}
