// Registers the host's files with the facade before main(), so filp_open on a
// host build reaches real files without any setup call.
#include "mm/linux_api.h"
#include "mm/swap/host_swap_ops.h"
#include "mm/vm/host_file_ops.h"

namespace mm {
namespace {

const bool g_registered = [] {
  mm_register_file_ops(HostFileOps());
  mm_register_swap_ops(swap::HostSwapOps());
  return true;
}();

}  // namespace
}  // namespace mm
