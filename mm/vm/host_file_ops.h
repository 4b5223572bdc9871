// FileOps over host (POSIX) files: how filp_open reaches real files on the
// host. Host-only; the freestanding mm/vm libraries never depend on it.
#ifndef MM_VM_HOST_FILE_OPS_H_
#define MM_VM_HOST_FILE_OPS_H_

#include "mm/vm/vm_types.h"

namespace mm {

// The process-wide POSIX FileOps (stateless; handles are file descriptors).
const FileOps* HostFileOps();

}  // namespace mm

#endif  // MM_VM_HOST_FILE_OPS_H_
