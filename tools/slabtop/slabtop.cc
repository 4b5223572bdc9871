// slabtop: procps slabtop's view of /proc/slabinfo.
//
//   slabtop [-o|--once] [-s KEY|--sort=KEY] [-d SECS|--delay=SECS] [FILE | - | --demo]
//
// FILE defaults to /proc/slabinfo; '-' reads standard input; --demo boots libmm
// (buddy allocator + SLUB), runs a small workload and shows libmm's own
// /proc/slabinfo. Sort keys are slabtop's: a b c l v n o p s u (default o).
// Without --once the view is redrawn every SECS seconds (3) from FILE.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/slab_common/slab_system.h"
#include "tools/slabtop/slabtop.h"

namespace {

void Usage() {
  fprintf(stderr,
          "usage: slabtop [-o|--once] [-s KEY|--sort=KEY] [-d SECS|--delay=SECS] "
          "[FILE | - | --demo]\n"
          "  sort keys: a active objects, b objects per slab, c cache size, l slabs,\n"
          "             v active slabs, n name, o objects (default), p pages per slab,\n"
          "             s object size, u cache utilisation\n");
}

// Boots a libmm machine, makes some caches busy, and returns its slabinfo text.
std::string DemoSlabinfo() {
  mm::RamRange ram;
  if (!mm::platform::AcquireRam(uint64_t{64} << 20, &ram)) return "";
  mm::Memblock mb(ram);
  auto* buddy = mb.New<mm::BuddyAllocator>();
  auto* sys = mb.New<mm::SlabSystem>();
  if (buddy->Init(mb, mm::BuddyConfig{}) != 0 || sys->Init(*buddy, mm::SlabConfig{}) != 0) return "";
  mm::kmem_cache* task = sys->CreateCache("task_struct", 2944, 0, mm::SLAB_HWCACHE_ALIGN, nullptr);
  mm::kmem_cache* dentry = sys->CreateCache("dentry", 192, 0, mm::SLAB_RECLAIM_ACCOUNT, nullptr);
  mm::kmem_cache* vma = sys->CreateCache("vm_area_struct", 152, 0, 0, nullptr);
  std::vector<void*> keep;
  for (int i = 0; i < 100; ++i) keep.push_back(sys->Alloc(task, mm::GFP_KERNEL));
  for (int i = 0; i < 3000; ++i) keep.push_back(sys->Alloc(dentry, mm::GFP_KERNEL));
  for (int i = 0; i < 1500; ++i) keep.push_back(sys->Alloc(vma, mm::GFP_KERNEL));
  for (int i = 0; i < 4000; ++i) keep.push_back(sys->Kmalloc(8 + (i * 37) % 3000, mm::GFP_KERNEL));
  for (size_t i = 0; i < keep.size(); i += 3) sys->Kfree(keep[i]);  // leave partial slabs
  static char buf[1 << 16];
  mm::TextBuffer out(buf, sizeof buf);
  sys->ShowSlabinfo(out);
  std::string text(buf, out.length() < sizeof buf ? out.length() : sizeof buf - 1);
  mm::platform::ReleaseRam(ram);
  return text;
}

bool ReadAll(const std::string& path, std::string* text) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream f(path);
    if (!f) return false;
    ss << f.rdbuf();
  }
  *text = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool once = false, demo = false;
  char sort = 'o';
  int delay = 3;
  std::string path = "/proc/slabinfo";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& longopt) -> std::string {
      if (a.rfind(longopt + "=", 0) == 0) return a.substr(longopt.size() + 1);
      if (i + 1 < argc) return argv[++i];
      Usage();
      exit(2);
    };
    if (a == "-o" || a == "--once") {
      once = true;
    } else if (a == "-s" || a.rfind("--sort", 0) == 0) {
      std::string v = a == "-s" ? value("-s") : value("--sort");
      if (v.size() != 1 || !slabtop::ValidSortKey(v[0])) {
        fprintf(stderr, "slabtop: invalid sort key '%s'\n", v.c_str());
        Usage();
        return 2;
      }
      sort = v[0];
    } else if (a.rfind("-s", 0) == 0 && a.size() == 3) {
      if (!slabtop::ValidSortKey(a[2])) {
        fprintf(stderr, "slabtop: invalid sort key '%c'\n", a[2]);
        return 2;
      }
      sort = a[2];
    } else if (a == "-d" || a.rfind("--delay", 0) == 0) {
      delay = atoi((a == "-d" ? value("-d") : value("--delay")).c_str());
      if (delay <= 0) delay = 3;
    } else if (a == "--demo") {
      demo = true;
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (a == "-" || a[0] != '-') {
      path = a;
    } else {
      fprintf(stderr, "slabtop: unknown option '%s'\n", a.c_str());
      Usage();
      return 2;
    }
  }
  const unsigned long page_size = 4096;
  if (demo || path == "-") once = true;  // nothing to re-read
  for (;;) {
    std::string text;
    if (demo) {
      text = DemoSlabinfo();
    } else if (!ReadAll(path, &text)) {
      fprintf(stderr, "slabtop: cannot read %s\n", path.c_str());
      return 1;
    }
    std::vector<slabtop::CacheRow> rows;
    std::string error;
    if (!slabtop::Parse(text, &rows, &error)) {
      fprintf(stderr, "slabtop: %s: %s\n", demo ? "demo" : path.c_str(), error.c_str());
      return 1;
    }
    if (!once) fputs("\033[H\033[2J", stdout);
    fputs(slabtop::Render(rows, sort, page_size).c_str(), stdout);
    fflush(stdout);
    if (once) return 0;
    sleep(static_cast<unsigned>(delay));
  }
}
