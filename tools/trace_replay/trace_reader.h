// Reading page-reference traces (host code): the LIRS block traces and the
// SPEC CPU address traces of ../shared/traces, gzip-compressed or plain.
#ifndef TOOLS_TRACE_REPLAY_TRACE_READER_H_
#define TOOLS_TRACE_REPLAY_TRACE_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mm/swap/policy.h"

namespace trace_replay {

enum class TraceFormat {
  kLirs,  // one block number per line; non-integer lines (`*` markers) are skipped
  kSpec,  // `l|s 0xADDRESS n` per line; page = address / page_size; `s` = dirty
};

// Parses "lirs" / "spec".
absl::StatusOr<TraceFormat> ParseTraceFormat(const std::string& name);

struct Trace {
  std::vector<mm::swap::PageId> pages;  // one entry per reference
  std::vector<uint8_t> dirty;           // 1 if the reference is a store
  uint64_t distinct_pages = 0;
  uint64_t skipped_lines = 0;  // lirs: non-integer lines ignored
};

// Reads `path` (gzip or plain text; zlib reads both). For kSpec, `page_size`
// (a power of two) divides addresses. Errors name the file and line.
absl::StatusOr<Trace> ReadTrace(const std::string& path, TraceFormat format,
                                uint64_t page_size = 4096);

// next_use[i] = index of the next reference to pages[i] after i, or
// mm::swap::kNeverUsedAgain: what OPT needs.
std::vector<uint64_t> ComputeNextUse(const Trace& trace);

// Frame counts from "N" or "P%" (P percent of the distinct pages, rounded
// down, at least 1), comma-separated.
absl::StatusOr<std::vector<uint32_t>> ParseFrames(const std::string& spec, uint64_t distinct_pages);

// Locates a shared trace (e.g. "lirs/cpp.trace.gz") from a test or benchmark
// that has @traces//:all (or :lirs, :spec) as data. With Bazel 4.2.3 the file
// is at $TEST_SRCDIR/traces/lirs/cpp.trace.gz, i.e. ../traces/... from the
// working directory of a test or `bazel run` (the runfiles root
// $TEST_SRCDIR/libmm); external/traces/... and ../shared/traces/... (from the
// workspace root) are tried too. Returns "" if not found.
std::string FindSharedTrace(const std::string& relative);

}  // namespace trace_replay

#endif  // TOOLS_TRACE_REPLAY_TRACE_READER_H_
