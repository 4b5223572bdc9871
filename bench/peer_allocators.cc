#include "bench/peer_allocators.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
void* je_malloc(size_t);
void je_free(void*);
void* je_calloc(size_t, size_t);
void* je_realloc(void*, size_t);
size_t je_malloc_usable_size(void*);
}

namespace bench {
namespace {

size_t GlibcUsable(void* p) { return malloc_usable_size(p); }
size_t JeUsable(void* p) { return je_malloc_usable_size(p); }

template <typename F>
bool Sym(void* h, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(h, name));
  if (*out == nullptr) fprintf(stderr, "peer_allocators: dlsym(%s) failed\n", name);
  return *out != nullptr;
}

bool LoadDl(PeerAllocator* a, const char* lib, const char* prefix) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    fprintf(stderr, "peer_allocators: dlopen(%s) failed: %s\n", lib, dlerror());
    return false;
  }
  std::string p(prefix);
  return Sym(h, (p + "malloc").c_str(), &a->malloc) && Sym(h, (p + "free").c_str(), &a->free) &&
         Sym(h, (p + "calloc").c_str(), &a->calloc) &&
         Sym(h, (p + "realloc").c_str(), &a->realloc) &&
         Sym(h, (p + "malloc_size").c_str(), &a->usable_size);
}

struct Registry {
  PeerAllocator peers[4];
  bool ok[4] = {};
  std::vector<const PeerAllocator*> all;

  Registry() {
    peers[0] = {Peer::kGlibc, "glibc", malloc, free, calloc, realloc, GlibcUsable};
    ok[0] = true;
    peers[1] = {Peer::kJemalloc, "jemalloc", je_malloc, je_free, je_calloc, je_realloc, JeUsable};
    ok[1] = true;
    peers[2] = {Peer::kMimalloc, "mimalloc", nullptr, nullptr, nullptr, nullptr, nullptr};
    ok[2] = LoadDl(&peers[2], "libmimalloc.so.2", "mi_") ||
            (fprintf(stderr, "peer_allocators: mimalloc unavailable\n"), false);
    peers[3] = {Peer::kTcmalloc, "tcmalloc", nullptr, nullptr, nullptr, nullptr, nullptr};
    // tcmalloc spells its usable-size function tc_malloc_size.
    ok[3] = LoadDl(&peers[3], "libtcmalloc_minimal.so.4", "tc_");
    for (int i = 0; i < 4; ++i)
      if (ok[i]) all.push_back(&peers[i]);
  }
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: peers may be used at exit
  return *r;
}

}  // namespace

const PeerAllocator* GetPeer(Peer peer) {
  Registry& r = GetRegistry();
  int i = static_cast<int>(peer);
  return r.ok[i] ? &r.peers[i] : nullptr;
}

std::span<const PeerAllocator* const> AllPeers() {
  Registry& r = GetRegistry();
  return {r.all.data(), r.all.size()};
}

}  // namespace bench
