#include "mm/vm/host_file_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace mm {
namespace {

int Open(void*, const char* path, int flags, unsigned mode, int64_t* handle) {
  const int fd = ::open(path, flags | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  *handle = fd;
  return 0;
}

long Read(void*, int64_t h, uint64_t off, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(static_cast<int>(h), static_cast<char*>(buf) + done, n - done,
                              static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<long>(done);
}

long Write(void*, int64_t h, uint64_t off, const void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pwrite(static_cast<int>(h), static_cast<const char*>(buf) + done, n - done,
                               static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    done += static_cast<size_t>(r);
  }
  return static_cast<long>(done);
}

int64_t Size(void*, int64_t h) {
  struct stat st;
  if (::fstat(static_cast<int>(h), &st) != 0) return -errno;
  return st.st_size;
}

int Sync(void*, int64_t h) { return ::fsync(static_cast<int>(h)) == 0 ? 0 : -errno; }

int Close(void*, int64_t h) { return ::close(static_cast<int>(h)) == 0 ? 0 : -errno; }

int Stat(void*, int64_t h, uint64_t* dev, uint64_t* ino) {
  struct stat st;
  if (::fstat(static_cast<int>(h), &st) != 0) return -errno;
  *dev = (static_cast<uint64_t>(major(st.st_dev)) << 32) | minor(st.st_dev);
  *ino = st.st_ino;
  return 0;
}

const FileOps kHostFileOps = {nullptr, &Open, &Read, &Write, &Size, &Sync, &Close, &Stat};

}  // namespace

const FileOps* HostFileOps() { return &kHostFileOps; }

}  // namespace mm
