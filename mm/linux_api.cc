// The facade: every Linux-named function forwards to the current machine.
// The current-machine pointer is the one global the design allows, here at
// the top of the layering where Linux's API itself is global.
#include "mm/linux_api.h"

#include "mm/base/log.h"
#include "mm/base/panic.h"
#include "mm/base/string_util.h"
#include "mm/machine.h"

namespace mm {
namespace {

Machine* g_machine = nullptr;
// g_machine->slab(), or nullptr without a machine: the hot object entry points
// test this one word (see HOT ENTRY POINTS below).
SlabSystem* g_slab = nullptr;
// g_slab when it runs SLUB, else nullptr: the hot entry points test this one
// pointer and then take SLUB's arm with no branch on the allocator kind.
SlabSystem* g_slub = nullptr;
const FileOps* g_file_ops = nullptr;
const swap::SwapHostOps* g_swap_ops = nullptr;

Machine& M(const char* function) {
  if (__builtin_expect(g_machine == nullptr, 0)) {
    PanicAt(function, __FILE__, __LINE__, "no machine: call mm_boot() first");
  }
  return *g_machine;
}

BuddyAllocator& Buddy(const char* function) { return M(function).buddy(); }

void CpuDead(unsigned cpu) {
  if (g_machine != nullptr) g_machine->OnCpuDead(cpu);
}

const char* CurrentComm() {
  if (g_machine == nullptr) return "swapper";
  task_struct* t = g_machine->vm().Current();
  return t != nullptr && t->comm[0] != '\0' ? t->comm : "swapper";
}

VmSystem& Vm(const char* function) { return M(function).vm(); }

// User accesses may fault and allocate; a fault that cannot allocate drops
// vm_lock, reclaims through the swap layer's hooks and retries by itself.
VmSystem& VmForAccess(const char* function) { return M(function).vm(); }

// HOT ENTRY POINTS (kmalloc, kfree, kmem_cache_alloc, kmem_cache_free). The
// slab layer's fast paths are inlined into them. Everything that would put a
// call in the middle of that path -- no machine yet (a panic), the calling
// thread's first use (its cpu slot is assigned by a call), __GFP_ZERO (a
// memset) -- is tested first, with one branch, and taken out of line, so the
// inlined path calls nothing but tail calls to slow paths and needs no saved
// registers (in callgrind: 114 -> 58 instructions per kmalloc(64)+kfree pair).
// `slab` is g_slub, tested first (SLAB and SLOB then pay one more load and
// branch, SLUB none for the allocator kind), or g_slab.
[[gnu::always_inline]] inline bool HotPathReady(const SlabSystem* slab, gfp_t gfp) {
  return slab != nullptr && platform::FastCpuIdReady() && (gfp & __GFP_ZERO) == 0;
}

// The same operations with the checks done and the caller passed down (the
// return address SLAB_STORE_USER records).
[[gnu::noinline]] void* KmallocCold(size_t size, gfp_t gfp, const void* caller) {
  SlabSystem& slab = M("kmalloc").slab();
  platform::CpuId();
  return slab.Kmalloc(size, gfp, caller);
}
[[gnu::noinline]] void KfreeCold(const void* p, const void* caller) {
  SlabSystem& slab = M("kfree").slab();
  platform::CpuId();
  slab.Kfree(p, caller);
}
[[gnu::noinline]] void* CacheAllocCold(kmem_cache* s, gfp_t gfp, const void* caller) {
  SlabSystem& slab = M("kmem_cache_alloc").slab();
  platform::CpuId();
  return slab.Alloc(s, gfp, caller);
}
[[gnu::noinline]] void CacheFreeCold(kmem_cache* s, void* obj, const void* caller) {
  SlabSystem& slab = M("kmem_cache_free").slab();
  platform::CpuId();
  slab.Free(s, obj, caller);
}

}  // namespace

int mm_boot(const char* cmdline) {
  if (g_machine != nullptr) {
    Printk("mm_boot: a machine is already running; call mm_shutdown() first\n");
    return -kEBUSY;
  }
  Machine* m = nullptr;
  int err = Machine::Boot(cmdline, g_file_ops, g_swap_ops, &m);
  if (err != 0) return err;
  g_machine = m;
  g_slab = &m->slab();
  g_slub = g_slab->kind() == AllocatorKind::kSlub ? g_slab : nullptr;
  m->buddy().SetCommHook(&CurrentComm);
  platform::SetCpuDeadCallback(&CpuDead);
  return 0;
}

void mm_register_file_ops(const FileOps* ops) { g_file_ops = ops; }
void mm_register_swap_ops(const swap::SwapHostOps* ops) { g_swap_ops = ops; }

void mm_shutdown(void) {
  if (g_machine == nullptr) return;
  platform::SetCpuDeadCallback(nullptr);
  Machine* m = g_machine;
  g_machine = nullptr;
  g_slab = nullptr;
  g_slub = nullptr;
  m->Shutdown();
}

struct page* alloc_pages(gfp_t gfp, unsigned int order) {
  return Buddy(__func__).AllocPages(gfp, order);
}

struct page* alloc_pages_node(int nid, gfp_t gfp, unsigned int order) {
  return Buddy(__func__).AllocPages(gfp, order, nid);
}

struct page* alloc_page(gfp_t gfp) { return Buddy(__func__).AllocPages(gfp, 0); }

void __free_pages(struct page* page, unsigned int order) { Buddy(__func__).FreePages(page, order); }

void __free_page(struct page* page) { Buddy(__func__).FreePages(page, 0); }

unsigned long __get_free_pages(gfp_t gfp, unsigned int order) {
  BuddyAllocator& b = Buddy(__func__);
  page* p = b.AllocPages(gfp, order);
  return p == nullptr ? 0 : reinterpret_cast<unsigned long>(b.PageAddress(p));
}

unsigned long __get_free_page(gfp_t gfp) { return __get_free_pages(gfp, 0); }

unsigned long get_zeroed_page(gfp_t gfp) { return __get_free_pages(gfp | __GFP_ZERO, 0); }

void free_pages(unsigned long addr, unsigned int order) {
  Buddy(__func__).FreePagesByAddress(addr, order);
}

void free_page(unsigned long addr) { Buddy(__func__).FreePagesByAddress(addr, 0); }

void* page_address(const struct page* page) { return Buddy(__func__).PageAddress(page); }

struct page* virt_to_page(const void* addr) { return Buddy(__func__).VirtToPage(addr); }

bool virt_addr_valid(const void* addr) { return Buddy(__func__).VirtAddrValid(addr); }

unsigned long page_to_pfn(const struct page* page) { return Buddy(__func__).PageToPfn(page); }

struct page* pfn_to_page(unsigned long pfn) { return Buddy(__func__).PfnToPage(pfn); }

bool pfn_valid(unsigned long pfn) { return Buddy(__func__).PfnValid(pfn); }

int page_to_nid(const struct page* page) { return page->node; }

void get_page(struct page* page) { Buddy(__func__).GetPage(page); }

void put_page(struct page* page) { Buddy(__func__).PutPage(page); }

int page_count(const struct page* page) {
  if (page->flags & PG_tail) page = page->compound_head;
  return page->_refcount.load(std::memory_order_relaxed);
}

int page_mapcount(const struct page* page) { return page->_mapcount.load(std::memory_order_relaxed); }

unsigned long nr_free_pages(void) { return Buddy(__func__).NrFreePages(); }

unsigned long totalram_pages(void) { return Buddy(__func__).TotalRamPages(); }

void drain_all_pages(void) { Buddy(__func__).DrainAllPages(); }

struct kmem_cache* kmem_cache_create(const char* name, unsigned int size, unsigned int align,
                                     slab_flags_t flags, void (*ctor)(void*)) {
  return M(__func__).slab().CreateCache(name, size, align, flags, ctor);
}

void kmem_cache_destroy(struct kmem_cache* s) { M(__func__).slab().DestroyCache(s); }

void* kmem_cache_alloc(struct kmem_cache* s, gfp_t gfp) {
  if (__builtin_expect(HotPathReady(g_slub, gfp), 1)) return g_slub->Alloc<true>(s, gfp);
  if (__builtin_expect(!HotPathReady(g_slab, gfp), 0)) return CacheAllocCold(s, gfp, __builtin_return_address(0));
  return g_slab->Alloc(s, gfp);
}

void* kmem_cache_zalloc(struct kmem_cache* s, gfp_t gfp) { return M(__func__).slab().Zalloc(s, gfp); }

void kmem_cache_free(struct kmem_cache* s, void* obj) {
  if (__builtin_expect(HotPathReady(g_slub, 0), 1)) return g_slub->Free<true>(s, obj);
  if (__builtin_expect(!HotPathReady(g_slab, 0), 0)) return CacheFreeCold(s, obj, __builtin_return_address(0));
  g_slab->Free(s, obj);
}

int kmem_cache_alloc_bulk(struct kmem_cache* s, gfp_t gfp, size_t nr, void** p) {
  return M(__func__).slab().AllocBulk(s, gfp, nr, p);
}

void kmem_cache_free_bulk(struct kmem_cache* s, size_t nr, void** p) {
  M(__func__).slab().FreeBulk(s, nr, p);
}

int kmem_cache_shrink(struct kmem_cache* s) { return M(__func__).slab().Shrink(s); }

unsigned int kmem_cache_size(struct kmem_cache* s) { return M(__func__).slab().CacheSize(s); }

void* kmalloc(size_t size, gfp_t gfp) {
  if (__builtin_expect(HotPathReady(g_slub, gfp), 1)) return g_slub->Kmalloc<true>(size, gfp);
  if (__builtin_expect(!HotPathReady(g_slab, gfp), 0)) return KmallocCold(size, gfp, __builtin_return_address(0));
  return g_slab->Kmalloc(size, gfp);
}

void* kzalloc(size_t size, gfp_t gfp) { return M(__func__).slab().Kzalloc(size, gfp); }

void* kcalloc(size_t n, size_t size, gfp_t gfp) { return M(__func__).slab().Kcalloc(n, size, gfp); }

void* kmalloc_array(size_t n, size_t size, gfp_t gfp) {
  return M(__func__).slab().KmallocArray(n, size, gfp);
}

void* krealloc(const void* p, size_t new_size, gfp_t gfp) {
  return M(__func__).slab().Krealloc(p, new_size, gfp);
}

void kfree(const void* p) {
  if (__builtin_expect(HotPathReady(g_slub, 0), 1)) return g_slub->Kfree<true>(p);
  if (__builtin_expect(!HotPathReady(g_slab, 0), 0)) return KfreeCold(p, __builtin_return_address(0));
  g_slab->Kfree(p);
}

size_t ksize(const void* p) { return M(__func__).slab().Ksize(p); }

const char* slab_allocator_name(void) { return M(__func__).slab().AllocatorName(); }

struct task_struct* init_task_get(void) { return Vm(__func__).InitTask(); }
struct task_struct* get_current(void) { return Vm(__func__).Current(); }
void set_current(struct task_struct* t) { Vm(__func__).SetCurrent(t); }
struct task_struct* find_task_by_pid(int pid) { return Vm(__func__).FindTaskByPid(pid); }
int task_pid(const struct task_struct* t) { return VmSystem::TaskPid(t); }
int kernel_clone(const struct kernel_clone_args* args) { return Vm(__func__).KernelClone(args); }
void do_exit(long code) { Vm(__func__).DoExit(code); }
int kernel_wait(int pid, int* status) { return Vm(__func__).KernelWait(pid, status); }

unsigned long vm_mmap(struct file* f, unsigned long addr, unsigned long len, unsigned long prot,
                      unsigned long flags, unsigned long offset) {
  return Vm(__func__).VmMmap(f, addr, len, prot, flags, offset);
}

int vm_munmap(unsigned long start, size_t len) { return Vm(__func__).VmMunmap(start, len); }

long sys_mprotect(unsigned long start, size_t len, unsigned long prot) {
  return Vm(__func__).Mprotect(start, len, prot);
}

unsigned long sys_brk(unsigned long brk) { return Vm(__func__).Brk(brk); }

unsigned long sys_mremap(unsigned long old_addr, unsigned long old_len, unsigned long new_len,
                         unsigned long flags, unsigned long new_addr) {
  return Vm(__func__).Mremap(old_addr, old_len, new_len, flags, new_addr);
}

struct vm_area_struct* find_vma(struct mm_struct* mm, unsigned long addr) {
  return Vm(__func__).FindVma(mm, addr);
}

struct vm_area_struct* find_vma_intersection(struct mm_struct* mm, unsigned long start,
                                             unsigned long end) {
  return Vm(__func__).FindVmaIntersection(mm, start, end);
}

unsigned long copy_to_user(void* to, const void* from, unsigned long n) {
  return VmForAccess(__func__).CopyToUser(to, from, n);
}

unsigned long copy_from_user(void* to, const void* from, unsigned long n) {
  return VmForAccess(__func__).CopyFromUser(to, from, n);
}

struct file* filp_open(const char* path, int flags, unsigned short mode) {
  return Vm(__func__).FilpOpen(path, flags, mode);
}

int filp_close(struct file* f) { return Vm(__func__).FilpClose(f); }
int vfs_fsync(struct file* f) { return Vm(__func__).VfsFsync(f); }

int user_load(struct task_struct* t, unsigned long addr, void* out, size_t n) {
  return VmForAccess(__func__).UserLoad(t, addr, out, n);
}

int user_store(struct task_struct* t, unsigned long addr, const void* in, size_t n) {
  return VmForAccess(__func__).UserStore(t, addr, in, n);
}

int user_fetch(struct task_struct* t, unsigned long addr, void* out, size_t n) {
  return VmForAccess(__func__).UserFetch(t, addr, out, n);
}

long proc_write(const char* path, const char* buf, size_t len) {
  Machine& m = M(__func__);
  if (!StrEq(path, "/proc/slabinfo")) return -kENOENT;
  const int r = m.slab().ProcWriteSlabinfo(buf, len);
  return r < 0 ? r : static_cast<long>(len);
}

void mm_periodic_work(void) { M(__func__).slab().Reap(); }

long proc_read(const char* path, char* buf, size_t size) { return M(__func__).ProcRead(path, buf, size); }

}  // namespace mm
