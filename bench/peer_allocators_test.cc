#include "bench/peer_allocators.h"

#include <cstring>

#include "gtest/gtest.h"

namespace bench {
namespace {

TEST(PeerAllocators, AllFourLoadAndWork) {
  for (Peer p : {Peer::kGlibc, Peer::kJemalloc, Peer::kMimalloc, Peer::kTcmalloc}) {
    const PeerAllocator* a = GetPeer(p);
    ASSERT_NE(a, nullptr);
    void* x = a->malloc(100);
    ASSERT_NE(x, nullptr) << a->name;
    memset(x, 1, 100);
    EXPECT_GE(a->usable_size(x), 100u) << a->name;
    x = a->realloc(x, 5000);
    ASSERT_NE(x, nullptr);
    a->free(x);
    auto* z = static_cast<unsigned char*>(a->calloc(10, 10));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(z[i], 0);
    a->free(z);
  }
  EXPECT_EQ(AllPeers().size(), 4u);
  // The process malloc stays glibc's.
  void* m = malloc(16);
  EXPECT_NE(m, nullptr);
  free(m);
}

}  // namespace
}  // namespace bench
