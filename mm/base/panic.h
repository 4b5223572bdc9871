// Assertions and panics. Three levels, as mimalloc has them:
//   MM_CHECK(c)            always on: a broken invariant that would corrupt memory.
//   MM_DCHECK(c)           debug builds (NDEBUG unset): cheap internal consistency.
//   MM_EXPENSIVE_CHECK(c)  only with -DMM_EXPENSIVE_CHECKS: O(n) walks.
// A failed check panics with the function, file and line, through the platform.
#ifndef MM_BASE_PANIC_H_
#define MM_BASE_PANIC_H_

#include <cstddef>

namespace mm {
namespace platform {
// Platform hooks (mm/platform/platform.h defines the contract; exactly one
// platform library linked into the program implements them).
[[noreturn]] void Panic(const char* message);
void Write(const char* text, size_t length);
}  // namespace platform

[[noreturn]] void PanicAt(const char* function, const char* file, int line, const char* what);

}  // namespace mm

#define MM_CHECK(cond)                                                             \
  do {                                                                             \
    if (__builtin_expect(!(cond), 0)) ::mm::PanicAt(__func__, __FILE__, __LINE__, #cond); \
  } while (0)

#ifdef NDEBUG
#define MM_DCHECK(cond) \
  do {                  \
  } while (0)
#else
#define MM_DCHECK(cond) MM_CHECK(cond)
#endif

#ifdef MM_EXPENSIVE_CHECKS
#define MM_EXPENSIVE_CHECK(cond) MM_CHECK(cond)
#else
#define MM_EXPENSIVE_CHECK(cond) \
  do {                           \
  } while (0)
#endif

#endif  // MM_BASE_PANIC_H_
