// Clang thread-safety annotations (no-ops on GCC), as tcmalloc and Abseil spell them.
#ifndef MM_BASE_THREAD_ANNOTATIONS_H_
#define MM_BASE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define MM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define MM_THREAD_ANNOTATION(x)
#endif

#define MM_CAPABILITY(x) MM_THREAD_ANNOTATION(capability(x))
#define MM_GUARDED_BY(x) MM_THREAD_ANNOTATION(guarded_by(x))
#define MM_PT_GUARDED_BY(x) MM_THREAD_ANNOTATION(pt_guarded_by(x))
#define MM_ACQUIRED_BEFORE(...) MM_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define MM_EXCLUSIVE_LOCKS_REQUIRED(...) MM_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define MM_LOCKS_EXCLUDED(...) MM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define MM_ACQUIRE(...) MM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define MM_TRY_ACQUIRE(...) MM_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define MM_RELEASE(...) MM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define MM_ASSERT_CAPABILITY(x) MM_THREAD_ANNOTATION(assert_capability(x))
#define MM_NO_THREAD_SAFETY_ANALYSIS MM_THREAD_ANNOTATION(no_thread_safety_analysis)
#define MM_SCOPED_CAPABILITY MM_THREAD_ANNOTATION(scoped_lockable)

#endif  // MM_BASE_THREAD_ANNOTATIONS_H_
