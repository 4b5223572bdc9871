// Host side of the swap layer (host only, never in the kernel): swap files
// through POSIX (the VM's HostFileOps), zram's compressors over liblz4 and
// libzstd, and an mkswap for tests and benchmarks.
#ifndef MM_SWAP_HOST_SWAP_OPS_H_
#define MM_SWAP_HOST_SWAP_OPS_H_

#include <cstdint>

#include "mm/swap/swap_device.h"

namespace mm::swap {

// Files + {lz4, zstd}. Process-wide and stateless (zstd keeps one context per
// thread).
const SwapHostOps* HostSwapOps();
const Compressor* HostLz4();  // acceleration 1, as Linux's zram by default
// lz4 with another acceleration (Linux 6.12+ zram: algorithm_params
// "algo=lz4 level=N"; clamped to 1..kMaxCompLevel): faster, larger output;
// decompression is the same. The boot word zram.algorithm_params=level=N
// sets Compressor::level the same way.
Compressor HostLz4Accelerated(int acceleration);
const Compressor* HostZstd();

// Writes a swap file of `bytes` at `path` with a version-1 header (like
// mkswap), listing `nr_bad` bad pages. Returns 0 or -errno.
int HostMkswap(const char* path, uint64_t bytes, const uint32_t* bad = nullptr, uint32_t nr_bad = 0);

}  // namespace mm::swap

#endif  // MM_SWAP_HOST_SWAP_OPS_H_
