// The VM through Linux's names: fork isolation with the MMU, the NOMMU demo
// where one task changes another's memory, /proc/<pid>/maps, a host file
// mapped MAP_SHARED and written back, and nr_free_pages back at its start.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "mm/linux_api.h"

#include "gtest/gtest.h"

namespace mm {
namespace {

std::string Proc(const std::string& path) {
  static char buf[1 << 16];
  long n = proc_read(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, n);
}

int Fork() {
  kernel_clone_args args;
  args.exit_signal = SIGCHLD;
  return kernel_clone(&args);
}

TEST(VmFacadeTest, WithAnMmuAForkedChildCanNeitherSeeNorChangeItsParent) {
  ASSERT_EQ(mm_boot("mem=64M mmu=on"), 0);
  task_struct* parent = current;
  ASSERT_EQ(task_pid(parent), 1);
  unsigned long a = vm_mmap(nullptr, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, 0);
  ASSERT_FALSE(IS_ERR_VALUE(a));
  const char secret[] = "parent's secret";
  ASSERT_EQ(copy_to_user(reinterpret_cast<void*>(a), secret, sizeof secret), 0u);
  const unsigned long free0 = nr_free_pages();  // fork .. wait must give back every frame
  const int pid = Fork();
  ASSERT_GT(pid, 1);
  task_struct* child = find_task_by_pid(pid);
  // The child sees a copy-on-write copy and its store lands in its own page.
  char seen[sizeof secret] = {};
  ASSERT_EQ(user_load(child, a, seen, sizeof seen), 0);
  EXPECT_STREQ(seen, secret);
  ASSERT_EQ(user_store(child, a, "child", 6), 0);
  ASSERT_EQ(user_load(parent, a, seen, sizeof seen), 0);
  EXPECT_STREQ(seen, secret);
  EXPECT_NE(Proc("/proc/" + std::to_string(pid) + "/maps").find("rw-p"), std::string::npos);
  set_current(child);
  do_exit(0);
  set_current(parent);
  int status = -1;
  EXPECT_EQ(kernel_wait(pid, &status), pid);
  EXPECT_EQ(nr_free_pages(), free0);
  EXPECT_EQ(vm_munmap(a, 4 * PAGE_SIZE), 0);
  mm_shutdown();
}

TEST(VmFacadeTest, WithoutAnMmuForkFailsAndTasksShareMemory) {
  ASSERT_EQ(mm_boot("mem=64M mmu=off"), 0);
  EXPECT_EQ(Fork(), -EINVAL);  // kernel/fork.c without CONFIG_MMU
  task_struct* parent = current;
  unsigned long a = vm_mmap(nullptr, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, 0);
  ASSERT_FALSE(IS_ERR_VALUE(a));
  ASSERT_EQ(copy_to_user(reinterpret_cast<void*>(a), "before", 7), 0u);
  kernel_clone_args args;
  args.flags = CLONE_VM;
  args.exit_signal = SIGCHLD;
  const int pid = kernel_clone(&args);
  ASSERT_GT(pid, 1);
  // The lecture's demo: another task writes straight into the parent's memory.
  ASSERT_EQ(user_store(find_task_by_pid(pid), a, "changed", 8), 0);
  char seen[8] = {};
  ASSERT_EQ(user_load(parent, a, seen, sizeof seen), 0);
  EXPECT_STREQ(seen, "changed");
  set_current(find_task_by_pid(pid));
  do_exit(0);
  set_current(parent);
  EXPECT_EQ(kernel_wait(pid, nullptr), pid);
  mm_shutdown();
}

TEST(VmFacadeTest, SharedFileMappingIsWrittenBackAndBadAccessIsSigsegv) {
  char path[] = "/tmp/libmm_vm_facade_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string page(PAGE_SIZE, 'a');
  ASSERT_EQ(write(fd, page.data(), page.size()), static_cast<ssize_t>(page.size()));
  close(fd);
  ASSERT_EQ(mm_boot("mem=64M"), 0);
  struct file* f = filp_open(path, O_RDWR, 0);
  ASSERT_FALSE(IS_ERR_VALUE(reinterpret_cast<unsigned long>(f)));
  unsigned long a = vm_mmap(f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
  ASSERT_FALSE(IS_ERR_VALUE(a));
  ASSERT_EQ(copy_to_user(reinterpret_cast<void*>(a + 10), "libmm", 5), 0u);
  EXPECT_EQ(vfs_fsync(f), 0);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.substr(8, 9), "aalibmmaa");
  EXPECT_NE(Proc("/proc/1/maps").find(path), std::string::npos);
  EXPECT_EQ(vm_munmap(a, PAGE_SIZE), 0);
  EXPECT_EQ(filp_close(f), 0);
  // A store into a read-only mapping kills the task with SIGSEGV.
  const int pid = Fork();
  ASSERT_GT(pid, 1);
  task_struct* child = find_task_by_pid(pid);
  unsigned long ro = vm_mmap(nullptr, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0);
  EXPECT_EQ(user_store(child, ro, "x", 1), -EFAULT);
  int status = 0;
  EXPECT_EQ(kernel_wait(pid, &status), pid);
  EXPECT_EQ(status & 0x7f, SIGSEGV);
  mm_shutdown();
  unlink(path);
}

TEST(VmFacadeTest, ZramSwapKeepsMoreThanRamAndShowsInProc) {
  ASSERT_EQ(mm_boot("mem=32M swap=zram:64M kswapd=sync"), 0);
  const std::string swaps = Proc("/proc/swaps");
  EXPECT_EQ(swaps.substr(0, 8), "Filename");
  EXPECT_NE(swaps.find("/dev/zram0"), std::string::npos) << swaps;
  // As in Linux, the first page of the area is its header: 64 MiB shows 65532 kB.
  EXPECT_NE(Proc("/proc/meminfo").find("\nSwapTotal:         65532 kB\n"), std::string::npos)
      << Proc("/proc/meminfo");
  // 48 MiB of distinct pages in a 32 MiB machine: the rest lives in zram.
  const unsigned long len = 48ul << 20;
  unsigned long a = vm_mmap(nullptr, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
  ASSERT_FALSE(IS_ERR_VALUE(a));
  for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
    const unsigned long tag = off * 2654435761ul;
    ASSERT_EQ(copy_to_user(reinterpret_cast<void*>(a + off), &tag, sizeof tag), 0u) << off;
  }
  for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
    unsigned long tag = 0;
    ASSERT_EQ(copy_from_user(&tag, reinterpret_cast<void*>(a + off), sizeof tag), 0u) << off;
    ASSERT_EQ(tag, off * 2654435761ul) << off;
  }
  const std::string vmstat = Proc("/proc/vmstat");
  EXPECT_NE(vmstat.find("\npswpout "), std::string::npos);
  EXPECT_EQ(vmstat.find("\npswpout 0\n"), std::string::npos) << "nothing was swapped out";
  EXPECT_EQ(vm_munmap(a, len), 0);
  mm_shutdown();
}

// A MAP_SHARED file of 1.5 x RAM through the facade, no swap device: page
// cache pages are written back and dropped by reclaim (the faults reclaim by
// themselves), /proc/meminfo shows Cached, Dirty and the file LRU, vmstat
// pgsteal_file, and the host file gets every page.
TEST(VmFacadeTest, FileMappingLargerThanRamIsReclaimedAndWrittenBack) {
  char path[] = "/tmp/libmm_vm_facade_big_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const unsigned long len = 48ul << 20;
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(len)), 0);
  ASSERT_EQ(mm_boot("mem=32M kswapd=sync"), 0);
  struct file* f = filp_open(path, O_RDWR, 0);
  ASSERT_FALSE(IS_ERR_VALUE(reinterpret_cast<unsigned long>(f)));
  unsigned long a = vm_mmap(f, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
  ASSERT_FALSE(IS_ERR_VALUE(a));
  for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
    const unsigned long tag = off * 2654435761ul + 1;
    ASSERT_EQ(copy_to_user(reinterpret_cast<void*>(a + off), &tag, sizeof tag), 0u) << off;
  }
  auto field = [](const std::string& text, const std::string& name) -> long {
    const size_t at = text.find("\n" + name + ":");
    return at == std::string::npos ? -1 : std::stol(text.substr(at + name.size() + 2));
  };
  const std::string mi = Proc("/proc/meminfo");
  EXPECT_GT(field(mi, "Cached"), 0) << mi;
  EXPECT_GT(field(mi, "Dirty"), 0) << mi;
  EXPECT_EQ(field(mi, "Writeback"), 0) << mi;
  EXPECT_GT(field(mi, "Active(file)") + field(mi, "Inactive(file)"), 0) << mi;
  EXPECT_LT(field(mi, "Cached"), 32l << 10) << mi;
  for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
    unsigned long tag = 0;
    ASSERT_EQ(copy_from_user(&tag, reinterpret_cast<void*>(a + off), sizeof tag), 0u) << off;
    ASSERT_EQ(tag, off * 2654435761ul + 1) << off;
  }
  const std::string vmstat = Proc("/proc/vmstat");
  for (const char* zero : {"\npgsteal_file 0\n", "\nworkingset_refault_file 0\n", "\nnr_written 0\n"})
    EXPECT_EQ(vmstat.find(zero), std::string::npos) << zero << vmstat;
  EXPECT_EQ(vm_munmap(a, len), 0);
  EXPECT_EQ(filp_close(f), 0);
  mm_shutdown();
  const int rfd = open(path, O_RDONLY);
  ASSERT_GE(rfd, 0);
  for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
    unsigned long tag = 0;
    ASSERT_EQ(pread(rfd, &tag, sizeof tag, static_cast<off_t>(off)), static_cast<ssize_t>(sizeof tag));
    ASSERT_EQ(tag, off * 2654435761ul + 1) << off;
  }
  close(rfd);
  unlink(path);
}

}  // namespace
}  // namespace mm
