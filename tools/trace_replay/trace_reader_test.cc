#include "tools/trace_replay/trace_reader.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace trace_replay {
namespace {

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/trace_reader_testXXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return name;
}

TEST(TraceReaderTest, LirsSkipsMarkersAndAcceptsCrlf) {
  const std::string path = WriteTemp("1\r\n*\r\n2\r\n1\r\nabc\n\n3");
  auto trace = ReadTrace(path, TraceFormat::kLirs);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->pages, (std::vector<mm::swap::PageId>{1, 2, 1, 3}));
  EXPECT_EQ(trace->distinct_pages, 3u);
  EXPECT_EQ(trace->skipped_lines, 3u);
  unlink(path.c_str());
}

TEST(TraceReaderTest, SpecPagesAndDirty) {
  const std::string path = WriteTemp("s 0x2000 1\nl 0x2fff 3\r\nl 0x1000 0\n");
  auto trace = ReadTrace(path, TraceFormat::kSpec, 4096);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->pages, (std::vector<mm::swap::PageId>{2, 2, 1}));
  EXPECT_EQ(trace->dirty, (std::vector<uint8_t>{1, 0, 0}));
  unlink(path.c_str());
}

TEST(TraceReaderTest, MalformedSpecLineNamesTheLine) {
  const std::string path = WriteTemp("l 0x10 1\nl 0x20 1\nx 0x30\n");
  auto trace = ReadTrace(path, TraceFormat::kSpec);
  ASSERT_FALSE(trace.ok());
  EXPECT_NE(std::string(trace.status().message()).find(":3: malformed"), std::string::npos)
      << trace.status();
  unlink(path.c_str());
}

TEST(TraceReaderTest, MissingFile) {
  EXPECT_FALSE(ReadTrace("/nonexistent/trace.gz", TraceFormat::kLirs).ok());
}

TEST(TraceReaderTest, FramesAsPercentages) {
  auto frames = ParseFrames("5%,10%,25%,50%,7", 1223);
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ(*frames, (std::vector<uint32_t>{61, 122, 305, 611, 7}));
  EXPECT_FALSE(ParseFrames("0", 10).ok());
  EXPECT_FALSE(ParseFrames("x%", 10).ok());
}

TEST(TraceReaderTest, NextUse) {
  Trace t;
  t.pages = {1, 2, 1, 3, 2};
  t.dirty.assign(5, 0);
  t.distinct_pages = 3;
  EXPECT_EQ(ComputeNextUse(t),
            (std::vector<uint64_t>{2, 4, mm::swap::kNeverUsedAgain, mm::swap::kNeverUsedAgain,
                                   mm::swap::kNeverUsedAgain}));
}

TEST(TraceReaderTest, SharedTracesAreFoundAsData) {
  const std::string path = FindSharedTrace("lirs/cpp.trace.gz");
  ASSERT_FALSE(path.empty());
  printf("shared trace found at %s (TEST_SRCDIR=%s)\n", path.c_str(),
         getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : "");
  auto trace = ReadTrace(path, TraceFormat::kLirs);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->pages.size(), 9047u);
  EXPECT_EQ(trace->distinct_pages, 1223u);
}

}  // namespace
}  // namespace trace_replay
