// Boot-time configuration of the object-allocator layer: which allocator runs
// (slab_allocator=) and slab debugging (slub_debug[=...]), parsed from kernel
// command-line words with Linux's syntax.
#ifndef MM_SLAB_COMMON_SLAB_CONFIG_H_
#define MM_SLAB_COMMON_SLAB_CONFIG_H_

#include <cstddef>

#include "mm/slab_common/slab_flags.h"

namespace mm {

// The object allocators (mm/slub, mm/slab, mm/slob).
enum class AllocatorKind : unsigned { kSlub = 0, kSlab = 1, kSlob = 2 };

const char* AllocatorKindName(AllocatorKind kind);

struct SlabConfig {
  AllocatorKind kind = AllocatorKind::kSlub;
  // slub_debug: flags applied to every cache (debug_caches empty) or only to the
  // caches named in debug_caches (comma-separated; a trailing '*' is a prefix glob).
  slab_flags_t debug_flags = 0;
  char debug_caches[128] = {};
  // cpus the system is sized for (Linux's nr_cpu_ids, used by calculate_order);
  // 0 means platform::NumCpus().
  unsigned nr_cpus = 0;
};

// Parses one command-line word of the slab layer into `cfg`:
//   slab_allocator=slub|slab|slob
//   slub_debug                      all of F Z P U on every cache
//   slub_debug=FZPU                 the given letters on every cache ('-' switches off)
//   slub_debug=FZ,kmalloc-64,dentry the letters on the named caches only
// Returns 0 if the word was parsed, 1 if the word is not a slab option (left to
// the caller), or -EINVAL with a Printk naming the bad word or letter.
int ParseSlabOption(const char* word, size_t len, SlabConfig* cfg);

// Debug flags that apply to a cache named `name` under `cfg`.
slab_flags_t DebugFlagsFor(const SlabConfig& cfg, const char* name);

}  // namespace mm

#endif  // MM_SLAB_COMMON_SLAB_CONFIG_H_
