#include "mm/slab_common/slab_config.h"

#include "mm/base/errno.h"
#include "mm/base/log.h"

namespace mm {
namespace {

bool HasPrefix(const char* word, size_t len, const char* prefix, size_t* plen) {
  size_t n = 0;
  while (prefix[n] != '\0') {
    if (n >= len || word[n] != prefix[n]) return false;
    ++n;
  }
  *plen = n;
  return true;
}

bool Equals(const char* a, size_t alen, const char* b) {
  size_t i = 0;
  for (; i < alen; ++i) {
    if (b[i] == '\0' || a[i] != b[i]) return false;
  }
  return b[i] == '\0';
}

// Letter -> flag, Linux's slub_debug letters.
bool LetterFlag(char c, slab_flags_t* flag) {
  switch (c) {
    case 'F': case 'f': *flag = SLAB_CONSISTENCY_CHECKS; return true;
    case 'Z': case 'z': *flag = SLAB_RED_ZONE; return true;
    case 'P': case 'p': *flag = SLAB_POISON; return true;
    case 'U': case 'u': *flag = SLAB_STORE_USER; return true;
    case 'T': case 't': *flag = SLAB_TRACE; return true;
    default: return false;
  }
}

constexpr slab_flags_t kAllDebug =
    SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;

}  // namespace

const char* AllocatorKindName(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::kSlub: return "slub";
    case AllocatorKind::kSlab: return "slab";
    case AllocatorKind::kSlob: return "slob";
  }
  return "?";
}

int ParseSlabOption(const char* word, size_t len, SlabConfig* cfg) {
  size_t plen = 0;
  if (HasPrefix(word, len, "slab_allocator=", &plen)) {
    const char* v = word + plen;
    size_t vlen = len - plen;
    if (Equals(v, vlen, "slub")) {
      cfg->kind = AllocatorKind::kSlub;
      return 0;
    }
    if (Equals(v, vlen, "slob")) {
      cfg->kind = AllocatorKind::kSlob;
      return 0;
    }
    if (Equals(v, vlen, "slab")) {
      cfg->kind = AllocatorKind::kSlab;
      return 0;
    }
    Printk("slab: bad option '%.*s': expected slab_allocator=slub|slab|slob\n",
           static_cast<int>(len), word);
    return -kEINVAL;
  }
  if (Equals(word, len, "slub_debug")) {
    cfg->debug_flags = kAllDebug;
    cfg->debug_caches[0] = '\0';
    return 0;
  }
  if (!HasPrefix(word, len, "slub_debug=", &plen)) return 1;
  const char* v = word + plen;
  size_t vlen = len - plen;
  size_t i = 0;
  slab_flags_t flags = 0;
  bool any_letter = false;
  char bad[16];
  size_t nbad = 0;
  for (; i < vlen && v[i] != ','; ++i) {
    slab_flags_t f;
    if (v[i] == '-') {
      flags = 0;
      any_letter = true;
    } else if (LetterFlag(v[i], &f)) {
      flags |= f;
      any_letter = true;
    } else if (nbad + 1 < sizeof bad) {
      bad[nbad++] = v[i];
    }
  }
  if (nbad > 0) {
    bad[nbad] = '\0';
    Printk("slub_debug: bad option '%.*s': unknown letter(s) '%s' (valid: F Z P U T -)\n",
           static_cast<int>(len), word, bad);
    return -kEINVAL;
  }
  if (!any_letter) flags = kAllDebug;  // "slub_debug=,name" means all checks on `name`
  cfg->debug_flags = flags;
  cfg->debug_caches[0] = '\0';
  if (i < vlen) {  // a cache list follows the comma
    size_t n = vlen - i - 1;
    if (n == 0 || n + 1 > sizeof cfg->debug_caches) {
      Printk("slub_debug: bad option '%.*s': cache list empty or longer than %zu characters\n",
             static_cast<int>(len), word, sizeof cfg->debug_caches - 1);
      return -kEINVAL;
    }
    __builtin_memcpy(cfg->debug_caches, v + i + 1, n);
    cfg->debug_caches[n] = '\0';
  }
  return 0;
}

slab_flags_t DebugFlagsFor(const SlabConfig& cfg, const char* name) {
  if (cfg.debug_flags == 0) return 0;
  if (cfg.debug_caches[0] == '\0') return cfg.debug_flags;
  const char* p = cfg.debug_caches;
  while (*p != '\0') {
    const char* e = p;
    while (*e != '\0' && *e != ',') ++e;
    size_t n = static_cast<size_t>(e - p);
    bool glob = n > 0 && p[n - 1] == '*';
    size_t cmp = glob ? n - 1 : n;
    size_t k = 0;
    while (k < cmp && name[k] == p[k]) ++k;
    if (k == cmp && (glob || name[k] == '\0')) return cfg.debug_flags;
    p = *e == ',' ? e + 1 : e;
  }
  return 0;
}

}  // namespace mm
