// The kernel command line: words of the form name=value (or a bare name),
// separated by spaces. Every word must be known; a malformed or unknown word
// is an error that names it, as the brief requires (Linux would only warn).
#ifndef MM_BOOT_PARAMS_H_
#define MM_BOOT_PARAMS_H_

#include <cstddef>
#include <cstdint>

namespace mm {

struct BootParams {
  uint64_t mem_bytes = 0;        // mem=SIZE (0: the platform's default)
  unsigned nr_nodes = 1;         // numa=N
  unsigned nr_cpus = 0;          // cpus=N (0: the platform's count)
  uint64_t dma_bytes = 0;        // zones=dma:SIZE
  int64_t min_free_kbytes = -1;  // min_free_kbytes=N (-1: Linux's default)
  // Every other word is a layer's own (slab_allocator=, slub_debug for the slab
  // layer; mmu=, pgtable= for the VM; swap=, swap_policy=, ... for swap), kept
  // as given (pointers into the command line); a word no layer claims is refused.
  static constexpr int kMaxLayerWords = 16;
  const char* layer_words[kMaxLayerWords] = {};
  size_t layer_word_len[kMaxLayerWords] = {};
  int nr_layer_words = 0;
};

// Parses `cmdline` (may be nullptr or empty). Returns 0, or -EINVAL after
// Printk("mm_boot: ...") naming the first bad word.
int ParseBootParams(const char* cmdline, BootParams* params);

}  // namespace mm

#endif  // MM_BOOT_PARAMS_H_
