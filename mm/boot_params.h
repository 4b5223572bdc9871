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
  // slab_allocator= and slub_debug[=...] are validated by the slab layer; the
  // words are kept here as given (pointers into the command line).
  const char* slab_words[4] = {};
  size_t slab_word_len[4] = {};
  int nr_slab_words = 0;
};

// Parses `cmdline` (may be nullptr or empty). Returns 0, or -EINVAL after
// Printk("mm_boot: ...") naming the first bad word.
int ParseBootParams(const char* cmdline, BootParams* params);

}  // namespace mm

#endif  // MM_BOOT_PARAMS_H_
