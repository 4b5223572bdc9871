// slabtop: procps slabtop's summary and table from /proc/slabinfo text
// ("slabinfo - version: 2.1"), as a library for the tool and its test.
#ifndef TOOLS_SLABTOP_SLABTOP_H_
#define TOOLS_SLABTOP_SLABTOP_H_

#include <string>
#include <vector>

namespace slabtop {

struct CacheRow {
  std::string name;
  unsigned long active_objs = 0;
  unsigned long num_objs = 0;
  unsigned long obj_size = 0;
  unsigned long objs_per_slab = 0;
  unsigned long pages_per_slab = 0;
  unsigned long active_slabs = 0;
  unsigned long num_slabs = 0;
  // num_slabs * pages_per_slab * page size, in bytes.
  unsigned long long cache_size(unsigned long page_size) const {
    return static_cast<unsigned long long>(num_slabs) * pages_per_slab * page_size;
  }
  unsigned use_percent() const {
    return num_objs == 0 ? 0 : static_cast<unsigned>(active_objs * 100 / num_objs);
  }
};

// Parses slabinfo text. Returns false (with *error) on a bad header or line.
bool Parse(const std::string& text, std::vector<CacheRow>* rows, std::string* error);

// slabtop's -s letters: a active objects, b objects per slab, c cache size,
// l slabs, v active slabs, n name, o objects, p pages per slab, s object size,
// u cache utilisation. Returns false for any other letter.
bool ValidSortKey(char key);
void Sort(std::vector<CacheRow>* rows, char key, unsigned long page_size);

// The summary and the table, as `slabtop --once` prints them.
std::string Render(const std::vector<CacheRow>& rows, char sort_key, unsigned long page_size);

}  // namespace slabtop

#endif  // TOOLS_SLABTOP_SLABTOP_H_
