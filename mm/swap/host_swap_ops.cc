// Host swap ops: POSIX files, liblz4, libzstd, mkswap.
#include "mm/swap/host_swap_ops.h"

#include <fcntl.h>
#include <lz4.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "mm/vm/host_file_ops.h"

namespace mm::swap {

namespace {

// One LZ4 state per thread, handed to LZ4_compress_fast_extState: no 16 KiB
// state on the stack and no allocation per page. Every page is an independent
// block (plain LZ4_decompress_safe reads it). liblz4 1.9.4 clears the hash table
// for any input of 4 KiB or more even on its "fast reset" paths
// (LZ4_compress_fast_extState_fastReset is also not exported by Debian's
// liblz4.so), so the clearing stays; measured, it is not where the time goes.
// The stream API (LZ4_resetStream_fast + LZ4_compress_fast_continue) that was
// used before avoids the clearing but compresses every page in external-
// dictionary mode with a 32-bit table: 14% slower on text, 8% on program data.
struct Lz4State {
  LZ4_stream_t s;
  Lz4State() { LZ4_initStream(&s, sizeof s); }
};
thread_local Lz4State lz4_state;

// level: the acceleration (Linux zram's lz4 "level" in algorithm_params; 0:
// the default, 1, as Linux's LZ4_ACCELERATION_DEFAULT).
long Lz4Compress(void*, int level, const void* src, size_t n, void* dst, size_t cap) {
  const int accel = level < 1 ? 1 : level;
  const int r = LZ4_compress_fast_extState(&lz4_state.s, static_cast<const char*>(src),
                                           static_cast<char*>(dst), static_cast<int>(n),
                                           static_cast<int>(cap), accel);
  return r > 0 ? r : -1;
}
long Lz4Decompress(void*, const void* src, size_t n, void* dst, size_t cap) {
  const int r = LZ4_decompress_safe(static_cast<const char*>(src), static_cast<char*>(dst),
                                    static_cast<int>(n), static_cast<int>(cap));
  return r >= 0 ? r : -1;
}

// Level 1 unless algorithm_params says otherwise: zram favours speed (Linux's
// zram uses zstd's default, 3, unless told).
constexpr int kZstdLevel = 1;
constexpr int kZstdMaxLevel = 22;  // ZSTD_maxCLevel() of libzstd 1.5
struct ZstdContexts {
  ZSTD_CCtx* c = nullptr;
  ZSTD_DCtx* d = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local ZstdContexts zstd_ctx;

long ZstdCompress(void*, int level, const void* src, size_t n, void* dst, size_t cap) {
  if (zstd_ctx.c == nullptr) zstd_ctx.c = ZSTD_createCCtx();
  const size_t r =
      ZSTD_compressCCtx(zstd_ctx.c, dst, cap, src, n, level == 0 ? kZstdLevel : level);
  return ZSTD_isError(r) ? -1 : static_cast<long>(r);
}
long ZstdDecompress(void*, const void* src, size_t n, void* dst, size_t cap) {
  if (zstd_ctx.d == nullptr) zstd_ctx.d = ZSTD_createDCtx();
  const size_t r = ZSTD_decompressDCtx(zstd_ctx.d, dst, cap, src, n);
  return ZSTD_isError(r) ? -1 : static_cast<long>(r);
}

const Compressor kCompressors[2] = {
    {"lz4", nullptr, 0, kMaxCompLevel, &Lz4Compress, &Lz4Decompress},
    {"zstd", nullptr, 0, kZstdMaxLevel, &ZstdCompress, &ZstdDecompress},
};

}  // namespace

const Compressor* HostLz4() { return &kCompressors[0]; }
Compressor HostLz4Accelerated(int acceleration) {
  Compressor c = kCompressors[0];
  c.level = acceleration < 1 ? 1 : acceleration > c.max_level ? c.max_level : acceleration;
  return c;
}
const Compressor* HostZstd() { return &kCompressors[1]; }

const SwapHostOps* HostSwapOps() {
  static const SwapHostOps ops{HostFileOps(), kCompressors, 2};
  return &ops;
}

int HostMkswap(const char* path, uint64_t bytes, const uint32_t* bad, uint32_t nr_bad) {
  const int fd = ::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -errno;
  int err = 0;
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) err = -errno;
  alignas(8) char hdr_page[kPageSize] = {};
  auto* hdr = reinterpret_cast<SwapHeader*>(hdr_page);
  hdr->version = 1;
  hdr->last_page = static_cast<uint32_t>(bytes / kPageSize - 1);
  hdr->nr_badpages = nr_bad;
  for (uint32_t i = 0; i < nr_bad && i < kMaxBadPages; ++i) hdr->badpages[i] = bad[i];
  std::memcpy(hdr->volume_name, "libmm", 5);
  std::memcpy(hdr_page + kSwapMagicOffset, "SWAPSPACE2", 10);
  if (err == 0 && ::pwrite(fd, hdr_page, kPageSize, 0) != static_cast<ssize_t>(kPageSize))
    err = -EIO;
  ::close(fd);
  return err;
}

}  // namespace mm::swap
