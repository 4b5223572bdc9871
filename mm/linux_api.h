// libmm's Linux-compatible API (shared/docs/API.md): Linux's names, signatures
// and return conventions, as a thin facade over the current Machine.
// Freestanding: the same header compiles into the RISC-V kernel.
//
// Concurrency: mm_boot/mm_shutdown must not race with any other call. The
// other functions are thread-safe. Calls other than mm_boot panic (naming the
// function) when no machine is booted.
#ifndef MM_LINUX_API_H_
#define MM_LINUX_API_H_

#include <cstddef>
#include <cstdint>

#include "mm/base/errno.h"
#include "mm/base/types.h"
#include "mm/buddy/gfp.h"
#include "mm/buddy/page.h"
#include "mm/slab_common/kmem_cache.h"
#include "mm/slab_common/slab_flags.h"
#include "mm/swap/swap_device.h"
#include "mm/vm/vm_types.h"

// ---- Constants the C library may also define: macros only where it has not ----
#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#endif
#ifndef PAGE_MASK
#define PAGE_MASK (~(PAGE_SIZE - 1))
#endif
#define MAX_PAGE_ORDER 10
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define NUMA_NO_NODE (-1)
#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-4095)

#ifndef EPERM
#define EPERM 1
#endif
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef ESRCH
#define ESRCH 3
#endif
#ifndef EINTR
#define EINTR 4
#endif
#ifndef EIO
#define EIO 5
#endif
#ifndef ECHILD
#define ECHILD 10
#endif
#ifndef EAGAIN
#define EAGAIN 11
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef EACCES
#define EACCES 13
#endif
#ifndef EFAULT
#define EFAULT 14
#endif
#ifndef EBUSY
#define EBUSY 16
#endif
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENODEV
#define ENODEV 19
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#ifndef ENOSYS
#define ENOSYS 38
#endif
#ifndef EOVERFLOW
#define EOVERFLOW 75
#endif

static_assert(PAGE_SHIFT == 12 && MAX_PAGE_ORDER == 10, "libmm's page geometry");

namespace mm {

// ---- Boot ----
// Builds a machine from a kernel-style command line (mem= numa= zones=dma:
// cpus= min_free_kbytes= slab_allocator= slub_debug). Returns 0, -EINVAL with a
// message naming the bad word, -ENOMEM, or -EBUSY if a machine is running.
int mm_boot(const char* cmdline);
// How filp_open reaches files at the next mm_boot (nullptr: no files). On the
// host, linking //mm:host_files registers the host's files before main().
void mm_register_file_ops(const FileOps* ops);
// How swap devices reach files and the lz4/zstd compressors, likewise.
void mm_register_swap_ops(const swap::SwapHostOps* ops);
// Tears the current machine down, returning all memory to the host.
void mm_shutdown(void);

// ---- Pages (buddy allocator) ----
struct page* alloc_pages(gfp_t gfp, unsigned int order);
struct page* alloc_pages_node(int nid, gfp_t gfp, unsigned int order);
struct page* alloc_page(gfp_t gfp);
void __free_pages(struct page* page, unsigned int order);
void __free_page(struct page* page);
unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
unsigned long __get_free_page(gfp_t gfp);
unsigned long get_zeroed_page(gfp_t gfp);
void free_pages(unsigned long addr, unsigned int order);
void free_page(unsigned long addr);
void* page_address(const struct page* page);
struct page* virt_to_page(const void* addr);   // nullptr if addr is not in RAM
bool virt_addr_valid(const void* addr);
unsigned long page_to_pfn(const struct page* page);
struct page* pfn_to_page(unsigned long pfn);   // nullptr if !pfn_valid(pfn)
bool pfn_valid(unsigned long pfn);
int page_to_nid(const struct page* page);
void get_page(struct page* page);
void put_page(struct page* page);  // frees the page when the count drops to zero
int page_count(const struct page* page);
int page_mapcount(const struct page* page);
unsigned long nr_free_pages(void);
unsigned long totalram_pages(void);
void drain_all_pages(void);

// ---- Objects (one interface; SLUB, SLAB or SLOB behind it) ----
// kmem_cache_create: nullptr on bad arguments or no memory (panics with SLAB_PANIC).
// The ctor runs when an object is first constructed in a new slab.
struct kmem_cache* kmem_cache_create(const char* name, unsigned int size, unsigned int align,
                                     slab_flags_t flags, void (*ctor)(void*));
// Refuses, reporting "Objects remaining in NAME on __kmem_cache_shutdown()", a
// cache with live objects (it stays usable); nullptr is a no-op.
void kmem_cache_destroy(struct kmem_cache* s);
void* kmem_cache_alloc(struct kmem_cache* s, gfp_t gfp);
void* kmem_cache_zalloc(struct kmem_cache* s, gfp_t gfp);
void kmem_cache_free(struct kmem_cache* s, void* obj);
int kmem_cache_alloc_bulk(struct kmem_cache* s, gfp_t gfp, size_t nr, void** p);  // nr or 0
void kmem_cache_free_bulk(struct kmem_cache* s, size_t nr, void** p);
int kmem_cache_shrink(struct kmem_cache* s);
unsigned int kmem_cache_size(struct kmem_cache* s);
// kmalloc(0) is ZERO_SIZE_PTR; objects are aligned to at least 8 bytes and to
// their power-of-two size up to PAGE_SIZE; above 8 KiB the page allocator serves.
void* kmalloc(size_t size, gfp_t gfp);
void* kzalloc(size_t size, gfp_t gfp);
void* kcalloc(size_t n, size_t size, gfp_t gfp);        // nullptr on n*size overflow
void* kmalloc_array(size_t n, size_t size, gfp_t gfp);  // likewise
void* krealloc(const void* p, size_t new_size, gfp_t gfp);
void kfree(const void* p);  // accepts nullptr and ZERO_SIZE_PTR
size_t ksize(const void* p);
const char* slab_allocator_name(void);  // "slub", "slab" or "slob"

// ---- Tasks and address spaces ----
// On the host, user addresses live in the simulated address space of
// `current`; they are reached only through the page table (copy_*_user and the
// access API), never dereferenced.
struct task_struct* init_task_get(void);  // pid 1 after mm_boot
struct task_struct* get_current(void);    // `current`
void set_current(struct task_struct* t);  // host: which task this cpu's calls act for
struct task_struct* find_task_by_pid(int pid);
int task_pid(const struct task_struct* t);
int kernel_clone(const struct kernel_clone_args* args);  // child pid or -errno
void do_exit(long code);                                 // current exits (a zombie)
int kernel_wait(int pid, int* status);                   // reap a child of current
unsigned long vm_mmap(struct file* f, unsigned long addr, unsigned long len, unsigned long prot,
                      unsigned long flags, unsigned long offset);  // address or IS_ERR_VALUE
int vm_munmap(unsigned long start, size_t len);
long sys_mprotect(unsigned long start, size_t len, unsigned long prot);
unsigned long sys_brk(unsigned long brk);
unsigned long sys_mremap(unsigned long old_addr, unsigned long old_len, unsigned long new_len,
                         unsigned long flags, unsigned long new_addr);
struct vm_area_struct* find_vma(struct mm_struct* mm, unsigned long addr);
struct vm_area_struct* find_vma_intersection(struct mm_struct* mm, unsigned long start,
                                             unsigned long end);
unsigned long copy_to_user(void* to, const void* from, unsigned long n);    // bytes NOT copied
unsigned long copy_from_user(void* to, const void* from, unsigned long n);  // bytes NOT copied
struct file* filp_open(const char* path, int flags, unsigned short mode);   // ERR_PTR on failure
int filp_close(struct file* f);
int vfs_fsync(struct file* f);  // writes MAP_SHARED dirty pages back
// The simulated CPU: a task's loads, stores and instruction fetches through the
// TLB and the fault handler as hardware would. 0, or -EFAULT after SIGSEGV was
// delivered to the task (recorded; the task is killed as Linux would).
int user_load(struct task_struct* t, unsigned long addr, void* out, size_t n);
int user_store(struct task_struct* t, unsigned long addr, const void* in, size_t n);
int user_fetch(struct task_struct* t, unsigned long addr, void* out, size_t n);

// ---- Text views, as Linux prints them ----
// Fills buf like snprintf (at most size-1 bytes plus a NUL) and returns the
// full length of the file's text, or -ENOENT.
long proc_read(const char* path, char* buf, size_t size);
// Writes to a tunable file, as Linux's: "/proc/slabinfo" takes
// "name limit batchcount shared" (SLAB; -EIO under SLUB and SLOB, as Linux).
// Returns len, or -errno (-ENOENT for a file that is not writable here).
long proc_write(const char* path, const char* buf, size_t len);
// The periodic work Linux's timers do (SLAB's cache_reap); call every ~2 s.
void mm_periodic_work(void);

}  // namespace mm

#ifndef current
#define current (::mm::get_current())
#endif

#endif  // MM_LINUX_API_H_
