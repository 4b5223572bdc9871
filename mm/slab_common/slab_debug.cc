#include "mm/slab_common/slab_debug.h"

#include <cstdarg>

#include "mm/base/bits.h"
#include "mm/base/errno.h"
#include "mm/base/format.h"
#include "mm/base/log.h"
#include "mm/platform/platform.h"

namespace mm::slab_debug {
namespace {

constexpr unsigned kWord = sizeof(void*);

unsigned char* B(void* p) { return static_cast<unsigned char*>(p); }

// First byte in [p, p+n) that is not `v`; returns false and fills *c if any.
bool CheckBytes(const char* what, void* p, size_t n, uint8_t v, Corruption* c) {
  unsigned char* b = B(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != v) {
      size_t last = i;
      for (size_t j = i; j < n; ++j)
        if (b[j] != v) last = j;
      c->what = what;
      c->first = reinterpret_cast<uintptr_t>(b + i);
      c->last = reinterpret_cast<uintptr_t>(b + last);
      c->found = b[i];
      c->expected = v;
      return false;
    }
  }
  return true;
}

void SetRedZones(const kmem_cache* s, void* obj, uint8_t v) {
  if ((s->flags & SLAB_RED_ZONE) == 0) return;
  __builtin_memset(B(obj) - s->red_left_pad, v, s->red_left_pad);
  __builtin_memset(B(obj) + s->object_size, v, s->inuse - s->object_size);
}

bool CheckRedZones(const kmem_cache* s, void* obj, uint8_t v, Corruption* c) {
  if ((s->flags & SLAB_RED_ZONE) == 0) return true;
  return CheckBytes("Left Redzone", B(obj) - s->red_left_pad, s->red_left_pad, v, c) &&
         CheckBytes("Right Redzone", B(obj) + s->object_size, s->inuse - s->object_size, v, c);
}

void Poison(const kmem_cache* s, void* obj) {
  if (!PoisonsObject(s) || s->object_size == 0) return;
  __builtin_memset(obj, kPoisonFree, s->object_size - 1);
  B(obj)[s->object_size - 1] = kPoisonEnd;
}

void SetTrack(const kmem_cache* s, void* obj, int which, const void* caller) {
  if ((s->flags & SLAB_STORE_USER) == 0) return;
  Track* t = TracksOf(s, obj) + which;
  t->addr = caller;
  t->when_ns = platform::NowNs();
  t->cpu = platform::CpuId();
  t->valid = 1;
}

void PrintBanner(TextBuffer& tb, const kmem_cache* s, const char* title) {
  tb.Put("=============================================================================\n");
  tb.Append("BUG %s (Not tainted): %s\n", s->name, title);
  tb.Put("-----------------------------------------------------------------------------\n\n");
}

void PrintTrack(TextBuffer& tb, const char* what, const Track& t) {
  if (t.valid == 0) return;
  uint64_t now = platform::NowNs();
  tb.Append("%s in %p age=%llu ns cpu=%u pid=%u\n", what, t.addr,
            static_cast<unsigned long long>(now - t.when_ns), t.cpu, t.cpu);
}

}  // namespace

int ComputeLayout(kmem_cache* s, unsigned size, unsigned align, slab_flags_t flags,
                  void (*ctor)(void*)) {
  if (size == 0 || (align != 0 && !IsPowerOfTwo(align)) || align > kPageSize) return -kEINVAL;
  unsigned a = align < kWord ? kWord : align;
  if (flags & SLAB_HWCACHE_ALIGN) {  // Linux's calculate_alignment
    unsigned ralign = kCacheLineSize;
    while (size <= ralign / 2 && ralign > kWord) ralign /= 2;
    if (ralign > a) a = ralign;
  }
  const bool debug = (flags & SLAB_DEBUG_FLAGS) != 0;
  uint64_t sz = AlignUp(size, kWord);
  if ((flags & SLAB_RED_ZONE) && sz == size) sz += kWord;  // always a right red zone
  s->object_size = size;
  s->align = a;
  s->flags = flags;
  s->ctor = ctor;
  s->inuse = static_cast<unsigned>(sz);
  if (debug || ctor != nullptr || (flags & SLAB_POISON)) {
    s->offset = static_cast<unsigned>(sz);  // free pointer after the object
    sz += kWord;
  } else {
    // The object's first word, as Linux before 5.7 (since then mid-object, so
    // that a small overflow of the previous object misses it). libmm keeps the
    // first word: the allocation's pop then reads the line the caller is about
    // to write, one cache miss instead of two for a cold object over 64 bytes
    // (see mm/slub/README.md). slub_debug moves it after the object, as above.
    s->offset = 0;
  }
  s->track_offset = 0;
  if (flags & SLAB_STORE_USER) {
    s->track_offset = static_cast<unsigned>(sz);
    sz += 2 * sizeof(Track);
  }
  s->tag_offset = 0;
  if (debug) {
    s->tag_offset = static_cast<unsigned>(sz);
    sz += kWord;
  }
  s->red_left_pad = (flags & SLAB_RED_ZONE) ? static_cast<unsigned>(AlignUp(kWord, a)) : 0;
  uint64_t total = AlignUp(s->red_left_pad + sz, a);
  if (total > (kPageSize << kMaxPageOrder)) return -kEINVAL;
  s->size = static_cast<unsigned>(total);
  return 0;
}

void InitFreeObject(const kmem_cache* s, void* obj) {
  SetRedZones(s, obj, kSlubRedInactive);
  Poison(s, obj);
  if (s->flags & SLAB_STORE_USER) __builtin_memset(TracksOf(s, obj), 0, 2 * sizeof(Track));
  if (CacheDebug(s)) *TagOf(s, obj) = kTagFree;
}

void FillPadding(const kmem_cache* s, void* slab_base, size_t slab_bytes, unsigned objects) {
  size_t used = static_cast<size_t>(objects) * s->size;
  if (used < slab_bytes) __builtin_memset(B(slab_base) + used, kPoisonInuse, slab_bytes - used);
}

bool CheckPadding(const kmem_cache* s, void* slab_base, size_t slab_bytes, unsigned objects,
                  Corruption* c) {
  size_t used = static_cast<size_t>(objects) * s->size;
  if (used >= slab_bytes) return true;
  return CheckBytes("Padding", B(slab_base) + used, slab_bytes - used, kPoisonInuse, c);
}

bool CheckFreeObject(const kmem_cache* s, void* obj, Corruption* c) {
  if (!CheckRedZones(s, obj, kSlubRedInactive, c)) return false;
  if (PoisonsObject(s) && s->object_size > 0) {
    if (!CheckBytes("Poison", obj, s->object_size - 1, kPoisonFree, c)) return false;
    if (!CheckBytes("End Poison", B(obj) + s->object_size - 1, 1, kPoisonEnd, c)) return false;
  }
  return true;
}

bool CheckAllocatedObject(const kmem_cache* s, void* obj, Corruption* c) {
  return CheckRedZones(s, obj, kSlubRedActive, c);
}

void MarkAllocated(const kmem_cache* s, void* obj, const void* caller) {
  SetRedZones(s, obj, kSlubRedActive);
  SetTrack(s, obj, 0, caller);
  *TagOf(s, obj) = kTagAllocated;
}

void MarkFreed(const kmem_cache* s, void* obj, const void* caller) {
  SetTrack(s, obj, 1, caller);
  Poison(s, obj);
  SetRedZones(s, obj, kSlubRedInactive);
  *TagOf(s, obj) = kTagFree;
}

void MarkQuarantined(kmem_cache* s, void* obj) {
  *TagOf(s, obj) = kTagQuarantined;
  s->quarantined.fetch_add(1, std::memory_order_relaxed);
}

void ReportObject(kmem_cache* s, const page* slab, const void* slab_base, void* obj,
                  const char* title, const Corruption* c, const char* fix) {
  char buf[2048];
  TextBuffer tb(buf, sizeof buf);
  PrintBanner(tb, s, title);
  uintptr_t base = reinterpret_cast<uintptr_t>(slab_base);
  if (c != nullptr && c->what != nullptr) {
    tb.Append("INFO: 0x%lx-0x%lx @offset=%lu. First byte 0x%x instead of 0x%x\n",
              static_cast<unsigned long>(c->first), static_cast<unsigned long>(c->last),
              static_cast<unsigned long>(c->first - base), c->found, c->expected);
    tb.Append("INFO: %s overwritten at byte %ld of the object\n", c->what,
              static_cast<long>(c->first - reinterpret_cast<uintptr_t>(obj)));
  }
  if (s->flags & SLAB_STORE_USER) {
    Track* t = TracksOf(s, obj);
    PrintTrack(tb, "INFO: Allocated", t[0]);
    PrintTrack(tb, "INFO: Freed", t[1]);
  }
  if (slab != nullptr) {
    tb.Append("INFO: Slab %p objects=%u used=%u fp=%p flags=0x%x(slab)\n",
              static_cast<const void*>(slab), slab->objects, slab->inuse, slab->freelist,
              static_cast<uint32_t>(slab->flags));
  }
  tb.Append("INFO: Object %p @offset=%lu fp=%p\n\n", obj,
            static_cast<unsigned long>(reinterpret_cast<uintptr_t>(obj) - base),
            *reinterpret_cast<void**>(B(obj) + s->offset));
  unsigned dump = s->object_size < 32 ? s->object_size : 32;
  for (unsigned row = 0; row < dump; row += 16) {
    tb.Append("Object   %p:", static_cast<void*>(B(obj) + row));
    for (unsigned i = row; i < row + 16 && i < dump; ++i) tb.Append(" %02x", B(obj)[i]);
    tb.PutChar('\n');
  }
  if (fix != nullptr) tb.Append("FIX %s: %s\n", s->name, fix);
  s->debug_reports.fetch_add(1, std::memory_order_relaxed);
  Printk("%s", tb.data());
}

void ReportSlab(kmem_cache* s, const page* slab, const char* fmt, ...) {
  char title[256];
  va_list args;
  va_start(args, fmt);
  FormatV(title, sizeof title, fmt, args);
  va_end(args);
  char buf[1024];
  TextBuffer tb(buf, sizeof buf);
  PrintBanner(tb, s, title);
  if (slab != nullptr) {
    tb.Append("INFO: Slab %p objects=%u used=%u fp=%p flags=0x%x(slab)\n",
              static_cast<const void*>(slab), slab->objects, slab->inuse, slab->freelist,
              static_cast<uint32_t>(slab->flags));
  }
  s->debug_reports.fetch_add(1, std::memory_order_relaxed);
  Printk("%s", tb.data());
}

}  // namespace mm::slab_debug
