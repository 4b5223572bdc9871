#include "tools/slabtop/slabtop.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace slabtop {

bool Parse(const std::string& text, std::vector<CacheRow>* rows, std::string* error) {
  std::istringstream in(text);
  std::string line;
  bool header = false;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    if (!header) {
      unsigned major = 0, minor = 0;
      if (sscanf(line.c_str(), "slabinfo - version: %u.%u", &major, &minor) != 2 || major != 2) {
        *error = "not slabinfo version 2.x: '" + line + "'";
        return false;
      }
      header = true;
      continue;
    }
    if (line[0] == '#') continue;
    CacheRow r;
    char name[256];
    unsigned long limit, batch, shared, avail;
    int n = sscanf(line.c_str(),
                   "%255s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata %lu %lu %lu", name,
                   &r.active_objs, &r.num_objs, &r.obj_size, &r.objs_per_slab, &r.pages_per_slab,
                   &limit, &batch, &shared, &r.active_slabs, &r.num_slabs, &avail);
    if (n != 12) {
      *error = "line " + std::to_string(lineno) + ": cannot parse '" + line + "'";
      return false;
    }
    r.name = name;
    rows->push_back(r);
  }
  if (!header) {
    *error = "empty input";
    return false;
  }
  return true;
}

bool ValidSortKey(char key) {
  return std::string("abclvnopsu").find(key) != std::string::npos;
}

void Sort(std::vector<CacheRow>* rows, char key, unsigned long page_size) {
  auto value = [&](const CacheRow& r) -> unsigned long long {
    switch (key) {
      case 'a': return r.active_objs;
      case 'b': return r.objs_per_slab;
      case 'c': return r.cache_size(page_size);
      case 'l': return r.num_slabs;
      case 'v': return r.active_slabs;
      case 'p': return r.pages_per_slab;
      case 's': return r.obj_size;
      case 'u': return r.use_percent();
      case 'o':
      default: return r.num_objs;
    }
  };
  if (key == 'n') {
    std::stable_sort(rows->begin(), rows->end(),
                     [](const CacheRow& a, const CacheRow& b) { return a.name < b.name; });
  } else {
    std::stable_sort(rows->begin(), rows->end(), [&](const CacheRow& a, const CacheRow& b) {
      return value(a) > value(b);
    });
  }
}

std::string Render(const std::vector<CacheRow>& rows_in, char sort_key, unsigned long page_size) {
  std::vector<CacheRow> rows = rows_in;
  Sort(&rows, sort_key, page_size);
  unsigned long long objs = 0, active = 0, slabs = 0, active_slabs = 0;
  unsigned long caches = rows.size(), active_caches = 0;
  double total_size = 0, active_size = 0;
  unsigned long min_obj = 0, max_obj = 0;
  bool first = true;
  for (const CacheRow& r : rows) {
    objs += r.num_objs;
    active += r.active_objs;
    slabs += r.num_slabs;
    active_slabs += r.active_slabs;
    if (r.active_objs > 0) ++active_caches;
    total_size += static_cast<double>(r.num_objs) * r.obj_size;
    active_size += static_cast<double>(r.active_objs) * r.obj_size;
    if (first || r.obj_size < min_obj) min_obj = r.obj_size;
    if (first || r.obj_size > max_obj) max_obj = r.obj_size;
    first = false;
  }
  auto pct = [](double a, double b) { return b == 0 ? 0.0 : 100.0 * a / b; };
  char buf[512];
  std::string out;
  snprintf(buf, sizeof buf, " Active / Total Objects (%% used)    : %llu / %llu (%.1f%%)\n", active,
           objs, pct(active, objs));
  out += buf;
  snprintf(buf, sizeof buf, " Active / Total Slabs (%% used)      : %llu / %llu (%.1f%%)\n",
           active_slabs, slabs, pct(active_slabs, slabs));
  out += buf;
  snprintf(buf, sizeof buf, " Active / Total Caches (%% used)     : %lu / %lu (%.1f%%)\n",
           active_caches, caches, pct(active_caches, caches));
  out += buf;
  snprintf(buf, sizeof buf, " Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)\n",
           active_size / 1024.0, total_size / 1024.0, pct(active_size, total_size));
  out += buf;
  snprintf(buf, sizeof buf, " Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK\n\n",
           min_obj / 1024.0, objs == 0 ? 0.0 : total_size / objs / 1024.0, max_obj / 1024.0);
  out += buf;
  snprintf(buf, sizeof buf, "%6s %6s %4s %8s %6s %8s %10s %-23s\n", "OBJS", "ACTIVE", "USE",
           "OBJ SIZE", "SLABS", "OBJ/SLAB", "CACHE SIZE", "NAME");
  out += buf;
  for (const CacheRow& r : rows) {
    snprintf(buf, sizeof buf, "%6lu %6lu %3u%% %7.2fK %6lu %8lu %9lluK %-23s\n", r.num_objs,
             r.active_objs, r.use_percent(), r.obj_size / 1024.0, r.num_slabs, r.objs_per_slab,
             r.cache_size(page_size) / 1024, r.name.c_str());
    out += buf;
  }
  return out;
}

}  // namespace slabtop
