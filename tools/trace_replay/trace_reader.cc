#include "tools/trace_replay/trace_reader.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace trace_replay {
namespace {

// Reads lines from a gzip or plain file; lines may be arbitrarily long.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {}
  ~LineReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  bool ok() const { return file_ != nullptr; }

  // Next line without its '\n'; false at end of file.
  bool Next(std::string* line) {
    line->clear();
    char buf[4096];
    for (;;) {
      if (gzgets(file_, buf, sizeof buf) == nullptr) return !line->empty();
      const size_t n = strlen(buf);
      if (n > 0 && buf[n - 1] == '\n') {
        line->append(buf, n - 1);
        return true;
      }
      line->append(buf, n);
    }
  }
  bool error() const {
    int err = Z_OK;
    gzerror(file_, &err);
    return err != Z_OK && err != Z_STREAM_END;
  }

 private:
  gzFile file_;
};

bool FileExists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

}  // namespace

absl::StatusOr<TraceFormat> ParseTraceFormat(const std::string& name) {
  if (name == "lirs") return TraceFormat::kLirs;
  if (name == "spec") return TraceFormat::kSpec;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown trace format '", name, "' (expected lirs or spec)"));
}

absl::StatusOr<Trace> ReadTrace(const std::string& path, TraceFormat format, uint64_t page_size) {
  if (page_size == 0 || (page_size & (page_size - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", page_size, " is not a power of two"));
  }
  LineReader reader(path);
  if (!reader.ok()) return absl::NotFoundError(absl::StrCat("cannot open trace '", path, "'"));
  Trace trace;
  std::string line;
  uint64_t line_no = 0;
  while (reader.Next(&line)) {
    ++line_no;
    absl::string_view text = absl::StripAsciiWhitespace(line);  // also drops '\r'
    if (format == TraceFormat::kLirs) {
      uint64_t block;
      if (text.empty() || !absl::SimpleAtoi(text, &block) || text[0] == '-' || text[0] == '+' ||
          block == mm::swap::kNeverUsedAgain) {
        ++trace.skipped_lines;
        continue;
      }
      trace.pages.push_back(block);
      trace.dirty.push_back(0);
      continue;
    }
    if (text.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(text, ' ', absl::SkipEmpty());
    uint64_t address = 0;
    uint64_t gap = 0;
    absl::string_view hex = fields.size() == 3 ? fields[1] : absl::string_view();
    const bool had_prefix = absl::ConsumePrefix(&hex, "0x") || absl::ConsumePrefix(&hex, "0X");
    if (fields.size() != 3 || (fields[0] != "l" && fields[0] != "s") || !had_prefix ||
        hex.empty() || !absl::SimpleHexAtoi(hex, &address) || hex[0] == '-' || hex[0] == '+' ||
        !absl::SimpleAtoi(fields[2], &gap)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no,
                                                     ": malformed spec trace line '", text,
                                                     "' (expected 'l|s 0xADDRESS COUNT')"));
    }
    trace.pages.push_back(address / page_size);
    trace.dirty.push_back(fields[0] == "s" ? 1 : 0);
  }
  if (reader.error()) {
    return absl::DataLossError(absl::StrCat(path, ": read error after line ", line_no));
  }
  std::unordered_map<mm::swap::PageId, uint32_t> seen;
  seen.reserve(trace.pages.size() / 4 + 16);
  for (mm::swap::PageId p : trace.pages) seen.emplace(p, 0);
  trace.distinct_pages = seen.size();
  return trace;
}

std::vector<uint64_t> ComputeNextUse(const Trace& trace) {
  std::vector<uint64_t> next(trace.pages.size(), mm::swap::kNeverUsedAgain);
  std::unordered_map<mm::swap::PageId, uint64_t> last;
  last.reserve(trace.distinct_pages + 16);
  for (size_t i = trace.pages.size(); i-- > 0;) {
    auto [it, inserted] = last.try_emplace(trace.pages[i], i);
    if (!inserted) {
      next[i] = it->second;
      it->second = i;
    }
  }
  return next;
}

absl::StatusOr<std::vector<uint32_t>> ParseFrames(const std::string& spec,
                                                  uint64_t distinct_pages) {
  std::vector<uint32_t> out;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    item = absl::StripAsciiWhitespace(item);
    uint64_t n = 0;
    if (absl::ConsumeSuffix(&item, "%")) {
      double percent;
      if (!absl::SimpleAtod(item, &percent) || !(percent > 0) || percent > 100) {
        return absl::InvalidArgumentError(absl::StrCat("bad frame percentage '", item, "%'"));
      }
      n = static_cast<uint64_t>(static_cast<double>(distinct_pages) * percent / 100.0);
      if (n == 0) n = 1;
    } else if (!absl::SimpleAtoi(item, &n) || n == 0 || n > (uint64_t{1} << 31)) {
      return absl::InvalidArgumentError(absl::StrCat("bad frame count '", item, "'"));
    }
    out.push_back(static_cast<uint32_t>(n));
  }
  if (out.empty()) return absl::InvalidArgumentError("no frame counts given");
  return out;
}

std::string FindSharedTrace(const std::string& relative) {
  std::vector<std::string> roots;
  if (const char* srcdir = getenv("TEST_SRCDIR")) {
    roots.push_back(absl::StrCat(srcdir, "/traces"));
    roots.push_back(absl::StrCat(srcdir, "/libmm/external/traces"));
  }
  if (const char* ws = getenv("BUILD_WORKSPACE_DIRECTORY")) {
    roots.push_back(absl::StrCat(ws, "/../shared/traces"));
  }
  for (const char* r :
       {"external/traces", "../traces", "../shared/traces", "../../shared/traces"}) {
    roots.push_back(r);
  }
  for (const std::string& root : roots) {
    std::string path = absl::StrCat(root, "/", relative);
    if (FileExists(path)) return path;
  }
  return "";
}

}  // namespace trace_replay
