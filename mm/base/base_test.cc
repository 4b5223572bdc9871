#include <cstdio>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "mm/base/bits.h"
#include "mm/base/format.h"
#include "mm/base/list.h"
#include "mm/base/log.h"
#include "mm/base/spinlock.h"
#include "mm/base/string_util.h"

namespace mm {
namespace {

std::string Fmt(const char* fmt, auto... args) {
  char buf[256];
  size_t n = Format(buf, sizeof buf, fmt, args...);
  EXPECT_EQ(n, std::string(buf).size());
  return buf;
}

TEST(SpinLockTest, TryLockAndTryLockOnceExcludeEachOtherAndLock) {
  SpinLock l;
  EXPECT_TRUE(l.TryLockOnce());
  EXPECT_TRUE(l.IsLocked());
  EXPECT_FALSE(l.TryLockOnce());  // held: a second attempt fails
  EXPECT_FALSE(l.TryLock());
  l.Unlock();
  EXPECT_TRUE(l.TryLock());
  EXPECT_FALSE(l.TryLockOnce());
  l.Unlock();
  EXPECT_FALSE(l.IsLocked());
  // Mutual exclusion with both kinds of acquire mixed on two threads.
  long counter = 0;
  auto work = [&](bool once) {
    for (int i = 0; i < 100000; ++i) {
      if (once) {
        while (!l.TryLockOnce()) CpuRelax();
      } else {
        l.Lock();
      }
      ++counter;
      l.Unlock();
    }
  };
  std::thread a(work, true), b(work, false);
  a.join();
  b.join();
  EXPECT_EQ(counter, 200000);
}

TEST(FormatTest, MatchesSnprintfOnProcStyleConversions) {
  for (const char* c : {"%d", "%5d", "%-5d|", "%05d", "%+d", "%3d"}) {
    for (int v : {0, 7, -42, 123456}) {
      char want[64];
      snprintf(want, sizeof want, c, v);
      EXPECT_EQ(Fmt(c, v), want) << c << " " << v;
    }
  }
  for (const char* c : {"%lx", "%#lx", "%08lx", "%lu", "%-9lu|"}) {
    for (unsigned long v : {0ul, 7ul, 0xdeadbeeful}) {
      char want[64];
      snprintf(want, sizeof want, c, v);
      EXPECT_EQ(Fmt(c, v), want) << c << " " << v;
    }
  }
  EXPECT_EQ(Fmt("Node %d, zone %8s %6lu ", 0, "Normal", 17ul), "Node 0, zone   Normal     17 ");
  EXPECT_EQ(Fmt("%-12s|%.3s|%c|%%", "ab", "abcdef", 'z'), "ab          |abc|z|%");
  EXPECT_EQ(Fmt("%zu %lld %llu", size_t{5}, -3LL, 18446744073709551615ULL),
            "5 -3 18446744073709551615");
  EXPECT_EQ(Fmt("%s", static_cast<const char*>(nullptr)), "(null)");
}

TEST(FormatTest, TruncatesLikeSnprintfAndReportsFullLength) {
  char buf[6];
  EXPECT_EQ(Format(buf, sizeof buf, "%s-%d", "abcdef", 12), 9u);
  EXPECT_STREQ(buf, "abcde");
  TextBuffer tb(buf, sizeof buf);
  tb.Append("abc");
  tb.Append("%d", 12345);
  tb.PutChar('!');
  EXPECT_EQ(tb.length(), 9u);
  EXPECT_TRUE(tb.truncated());
  EXPECT_STREQ(buf, "abc12");
}

TEST(StringUtilTest, ParsesSizesAndRejectsGarbage) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseSize("256M", 4, &v));
  EXPECT_EQ(v, 256ull << 20);
  EXPECT_TRUE(ParseSize("4k", 2, &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(ParseSize("12", 2, &v));
  EXPECT_EQ(v, 12u);
  EXPECT_FALSE(ParseSize("", 0, &v));
  EXPECT_FALSE(ParseSize("M", 1, &v));
  EXPECT_FALSE(ParseSize("12Q", 3, &v));
  EXPECT_FALSE(ParseSize("99999999999999999999", 20, &v));
  EXPECT_FALSE(ParseSize("17179869184G", 12, &v));  // overflows after the shift
  EXPECT_TRUE(StrEqN("slub,x", 4, "slub"));
  EXPECT_FALSE(StrEqN("slu", 3, "slub"));
}

TEST(BitsTest, Logs) {
  EXPECT_EQ(Log2Floor(1), 0u);
  EXPECT_EQ(Log2Floor(1023), 9u);
  EXPECT_EQ(Log2Ceil(1025), 11u);
  EXPECT_EQ(RoundDownPowerOfTwo(24), 16u);
  EXPECT_EQ(IntSqrt(262144ull * 16), 2048u);
  EXPECT_EQ(IntSqrt(99), 9u);
  uint64_t out;
  EXPECT_FALSE(CheckedMul(1ull << 40, 1ull << 30, &out));
  EXPECT_TRUE(CheckedMul(3, 5, &out));
  EXPECT_EQ(out, 15u);
}

struct Item {
  int value;
  ListNode link;
};

TEST(ListTest, PushPopRemoveKeepLinksConsistent) {
  List list;
  Item items[4] = {{0, {}}, {1, {}}, {2, {}}, {3, {}}};
  for (auto& it : items) list.PushBack(&it.link);
  EXPECT_EQ(list.CountSlow(), 4u);
  List::Remove(&items[2].link);
  EXPECT_FALSE(items[2].link.linked());
  EXPECT_TRUE(list.LinksConsistent());
  EXPECT_EQ(ContainerOf(list.PopFront(), &Item::link)->value, 0);
  EXPECT_EQ(ContainerOf(list.PopBack(), &Item::link)->value, 3);
  EXPECT_EQ(ContainerOf(list.PopBack(), &Item::link)->value, 1);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.PopFront(), nullptr);
}

TEST(LogTest, HandlerCapturesPrintk) {
  std::string captured;
  SetLogHandler([](const char* t, size_t n, void* ctx) { static_cast<std::string*>(ctx)->append(t, n); },
                &captured);
  Printk("BUG: %s %d\n", "x", 3);
  SetLogHandler(nullptr, nullptr);
  EXPECT_EQ(captured, "BUG: x 3\n");
}

}  // namespace
}  // namespace mm
