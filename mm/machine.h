// A Machine: everything one mm_boot() builds — the RAM grant, the buddy
// allocator, the object allocator, the VM and swap —
// living in the RAM it manages (its first memblock allocation).
//
// Concurrency: Boot and Shutdown are single-threaded (no other thread may use
// the machine meanwhile). Everything else is as thread-safe as its layer.
#ifndef MM_MACHINE_H_
#define MM_MACHINE_H_

#include <cstddef>

#include "mm/boot_params.h"
#include "mm/buddy/buddy_allocator.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"
#include "mm/swap/swap_system.h"
#include "mm/vm/vm_system.h"

namespace mm {

class Machine {
 public:
  Machine() = default;  // only Boot() makes a usable one
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Builds a machine from the command line. Returns 0 and sets *out, or
  // -EINVAL/-ENOMEM with a message naming the cause (nothing is left allocated).
  // `file_ops` and `swap_ops` (may be nullptr) are how filp_open and swap
  // devices reach files and compressors (the host's).
  static int Boot(const char* cmdline, const FileOps* file_ops, const swap::SwapHostOps* swap_ops,
                  Machine** out);
  // Tears the machine down and returns its RAM to the platform.
  void Shutdown();

  BuddyAllocator& buddy() { return *buddy_; }
  SlabSystem& slab() { return *slab_; }
  VmSystem& vm() { return *vm_; }
  SwapSystem& swap() { return *swap_; }
  const BootParams& params() const { return params_; }

  // proc_read's implementation: fills buf like snprintf, returns the full
  // length, or -ENOENT for an unknown path.
  long ProcRead(const char* path, char* buf, size_t size);

  // Called on a dying cpu (host: an exiting thread) to return its caches.
  void OnCpuDead(unsigned cpu);

 private:
  void ShowMeminfo(TextBuffer& out);
  void ShowVmstat(TextBuffer& out);

  RamRange ram_;
  BootParams params_;
  BuddyAllocator* buddy_ = nullptr;
  SlabSystem* slab_ = nullptr;
  VmSystem* vm_ = nullptr;
  SwapSystem* swap_ = nullptr;
};

}  // namespace mm

#endif  // MM_MACHINE_H_
