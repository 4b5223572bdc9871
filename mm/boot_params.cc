#include "mm/boot_params.h"

#include "mm/base/log.h"
#include "mm/base/string_util.h"
#include "mm/base/types.h"

namespace mm {
int ParseBootParams(const char* cmdline, BootParams* params) {
  *params = BootParams{};
  if (cmdline == nullptr) return 0;
  const char* p = cmdline;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t' || *p == '\n') ++p;
    if (*p == '\0') break;
    const char* word = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') ++p;
    const size_t len = static_cast<size_t>(p - word);
    size_t name_len = 0;
    while (name_len < len && word[name_len] != '=') ++name_len;
    const bool has_value = name_len < len;
    const char* value = word + name_len + 1;
    const size_t value_len = has_value ? len - name_len - 1 : 0;
    auto is = [&](const char* name) { return StrEqN(word, name_len, name); };

    uint64_t v = 0;
    if (is("mem")) {
      if (!has_value || !ParseSize(value, value_len, &v) || v < (uint64_t{4} << 20)) {
        return RejectBootWord(word, len, "expected mem=SIZE of at least 4M (e.g. mem=256M)");
      }
      params->mem_bytes = v & ~(uint64_t{kPageSize} - 1);
    } else if (is("numa")) {
      if (!has_value || !ParseU64(value, value_len, &v) || v < 1 || v > kMaxNodes) {
        return RejectBootWord(word, len, "expected numa=N with 1 <= N <= 8");
      }
      params->nr_nodes = static_cast<unsigned>(v);
    } else if (is("cpus")) {
      if (!has_value || !ParseU64(value, value_len, &v) || v < 1 || v > kMaxCpus) {
        return RejectBootWord(word, len, "expected cpus=N with 1 <= N <= 64");
      }
      params->nr_cpus = static_cast<unsigned>(v);
    } else if (is("zones")) {
      if (!has_value || value_len < 5 || !StartsWith(value, "dma:") ||
          !ParseSize(value + 4, value_len - 4, &v) || v == 0) {
        return RejectBootWord(word, len, "expected zones=dma:SIZE (e.g. zones=dma:16M)");
      }
      params->dma_bytes = v;
    } else if (is("min_free_kbytes")) {
      if (!has_value || !ParseU64(value, value_len, &v) || v > 65536 * 1024ull) {
        return RejectBootWord(word, len, "expected min_free_kbytes=N (kilobytes)");
      }
      params->min_free_kbytes = static_cast<int64_t>(v);
    } else {
      if (params->nr_layer_words == BootParams::kMaxLayerWords) {
        return RejectBootWord(word, len, "too many words");
      }
      params->layer_words[params->nr_layer_words] = word;
      params->layer_word_len[params->nr_layer_words] = len;
      ++params->nr_layer_words;
    }
  }
  return 0;
}

}  // namespace mm
