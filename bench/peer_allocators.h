// The peer allocators libmm is measured against, callable side by side in one
// process without replacing the process malloc: glibc (the process malloc),
// jemalloc (statically linked with a je_ prefix, @sys//:jemalloc_prefixed),
// mimalloc and tcmalloc_minimal (dlopen'ed RTLD_LOCAL, called through
// mi_*/tc_* entry points). See shared/docs/bazel-offline.md for why.
#ifndef BENCH_PEER_ALLOCATORS_H_
#define BENCH_PEER_ALLOCATORS_H_

#include <cstddef>
#include <span>

namespace bench {

enum class Peer { kGlibc, kJemalloc, kMimalloc, kTcmalloc };

struct PeerAllocator {
  Peer id;
  const char* name;  // "glibc", "jemalloc", "mimalloc", "tcmalloc"
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  size_t (*usable_size)(void*);  // malloc_usable_size and friends
};

// The allocator, loaded on first use; nullptr (with a message on stderr) if its
// library cannot be loaded.
const PeerAllocator* GetPeer(Peer peer);

// Every peer that could be loaded, in enum order.
std::span<const PeerAllocator* const> AllPeers();

}  // namespace bench

#endif  // BENCH_PEER_ALLOCATORS_H_
