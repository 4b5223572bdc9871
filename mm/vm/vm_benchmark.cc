// //bench:vm — the VM's hot paths (run with -c opt).
//   BM_TlbHitTranslate     a translation that hits the software TLB
//   BM_UserLoadTlbHit      UserLoad of 8 bytes that hits the TLB (lock + lookup + copy)
//   BM_MmapMunmap          mmap+munmap of a page among 1000 VMAs
//   BM_PageWalkMiss        the MMU's page-table walk on a TLB miss (+ A bit, TLB fill)
//   BM_DemandZeroFault     a store to an untouched anonymous page: TLB miss, walk,
//                          handle_mm_fault (page allocation + zeroing), walk again
//   BM_Fork1GiB            fork of a task with 1 GiB mapped and touched (items = pages)
//   BM_CowBreakPerPage     a child's first store to a shared page: copy-on-write
#include <benchmark/benchmark.h>

#include "mm/buddy/buddy_allocator.h"
#include "mm/buddy/memblock.h"
#include "mm/platform/platform.h"
#include "mm/vm/vm_system.h"

namespace mm {
namespace {

struct Rig {
  BuddyAllocator* buddy = nullptr;
  VmSystem* vm = nullptr;
};

// 1.5 GiB of simulated RAM, Sv39, built once.
Rig& SharedRig() {
  static Rig rig = [] {
    Rig r;
    RamRange ram;
    if (!platform::AcquireRam(uint64_t{1536} << 20, &ram)) return r;
    Memblock mb(ram);
    r.buddy = mb.New<BuddyAllocator>();
    BuddyConfig config;
    if (r.buddy->Init(mb, config) != 0) return r;
    static VmSystem vm;
    VmConfig vc;
    if (vm.Init(*r.buddy, vc) != 0) return r;
    r.vm = &vm;
    return r;
  }();
  return rig;
}

constexpr unsigned long kRW = PROT_READ | PROT_WRITE;
constexpr unsigned long kAnon = MAP_PRIVATE | MAP_ANONYMOUS;

void Touch(VmSystem* vm, task_struct* t, unsigned long a, unsigned long pages) {
  for (unsigned long i = 0; i < pages; ++i) {
    const uint64_t v = i;
    vm->UserStore(t, a + i * kPageSize, &v, sizeof v);
  }
}

// An anonymous mapping of `pages` in t, every page written once.
unsigned long MapTouched(VmSystem* vm, task_struct* t, unsigned long pages) {
  const unsigned long a = vm->VmMmap(nullptr, 0, pages * kPageSize, kRW, kAnon, 0);
  Touch(vm, t, a, pages);
  return a;
}

void BM_TlbHitTranslate(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = 64;
  const unsigned long a = MapTouched(r.vm, t, kPages);
  uint64_t sink = 0;
  for (unsigned long i = 0; i < kPages; ++i) r.vm->UserLoad(t, a + i * kPageSize, &sink, 8);
  SoftTlb& tlb = r.vm->tlb();
  const unsigned asid = t->mm->asid;
  unsigned long i = 0;
  for (auto _ : state) {
    const uintptr_t h = tlb.Lookup(asid, a + ((i++ & (kPages - 1)) << kPageShift) + 8, kPteR | kPteU);
    benchmark::DoNotOptimize(h);
  }
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_TlbHitTranslate);

// The whole access API on a TLB hit: vm_lock, TLB lookup, 8-byte copy.
void BM_UserLoadTlbHit(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = 64;
  const unsigned long a = MapTouched(r.vm, t, kPages);
  unsigned long i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    r.vm->UserLoad(t, a + ((i++ & (kPages - 1)) << kPageShift), &v, sizeof v);
    benchmark::DoNotOptimize(v);
  }
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_UserLoadTlbHit);

// mmap + munmap of one anonymous page among 1000 other VMAs (tree + gap search).
void BM_MmapMunmap(benchmark::State& state) {
  Rig& r = SharedRig();
  unsigned long held[1000];
  for (size_t k = 0; k < 1000; ++k)  // alternating protections: no merging
    held[k] = r.vm->VmMmap(nullptr, 0, kPageSize, k % 2 ? PROT_READ : kRW, kAnon, 0);
  for (auto _ : state) {
    const unsigned long a = r.vm->VmMmap(nullptr, 0, kPageSize, kRW, kAnon, 0);
    r.vm->VmMunmap(a, kPageSize);
  }
  for (auto h : held) r.vm->VmMunmap(h, kPageSize);
}
BENCHMARK(BM_MmapMunmap);

void BM_PageWalkMiss(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = 4096;  // 16 MiB: far more than the TLB holds
  const unsigned long a = MapTouched(r.vm, t, kPages);
  mm_struct* mm = t->mm;
  unsigned long i = 0;
  r.vm->lock().Lock();
  for (auto _ : state) {
    // Stride 97 pages: consecutive walks use different tables and TLB sets.
    const uintptr_t h = r.vm->MmuWalk(mm, a + (((i += 97) & (kPages - 1)) << kPageShift), Access::kLoad);
    benchmark::DoNotOptimize(h);
  }
  r.vm->lock().Unlock();
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_PageWalkMiss);

void BM_DemandZeroFault(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = 16384;  // 64 MiB per round
  unsigned long a = r.vm->VmMmap(nullptr, 0, kPages * kPageSize, kRW, kAnon, 0);
  unsigned long i = 0;
  for (auto _ : state) {
    if (i == kPages) {
      state.PauseTiming();
      r.vm->VmMunmap(a, kPages * kPageSize);
      a = r.vm->VmMmap(nullptr, 0, kPages * kPageSize, kRW, kAnon, 0);
      i = 0;
      state.ResumeTiming();
    }
    const uint64_t v = i;
    r.vm->UserStore(t, a + (i++ << kPageShift), &v, sizeof v);
  }
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_DemandZeroFault);

int Fork(VmSystem* vm) {
  kernel_clone_args args;
  args.exit_signal = SIGCHLD;
  return vm->KernelClone(&args);
}

void Reap(VmSystem* vm, int pid) {
  vm->DoExitTask(vm->FindTaskByPid(pid), 0);
  int status;
  vm->KernelWait(pid, &status);
}

void BM_Fork1GiB(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = (1ul << 30) >> kPageShift;
  const unsigned long a = MapTouched(r.vm, t, kPages);
  if (t->mm->rss_stat[MM_ANONPAGES] < static_cast<long>(kPages)) {
    state.SkipWithError("1 GiB not resident");
    return;
  }
  for (auto _ : state) {
    const int pid = Fork(r.vm);
    state.PauseTiming();
    Reap(r.vm, pid);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPages);
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_Fork1GiB)->Unit(benchmark::kMillisecond);

void BM_CowBreakPerPage(benchmark::State& state) {
  Rig& r = SharedRig();
  task_struct* t = r.vm->InitTask();
  constexpr unsigned long kPages = 16384;
  const unsigned long a = MapTouched(r.vm, t, kPages);
  int pid = Fork(r.vm);
  task_struct* child = r.vm->FindTaskByPid(pid);
  unsigned long i = 0;
  for (auto _ : state) {
    if (i == kPages) {
      state.PauseTiming();
      Reap(r.vm, pid);
      pid = Fork(r.vm);
      child = r.vm->FindTaskByPid(pid);
      i = 0;
      state.ResumeTiming();
    }
    const uint64_t v = i;
    r.vm->UserStore(child, a + (i++ << kPageShift), &v, sizeof v);
  }
  Reap(r.vm, pid);
  r.vm->VmMunmap(a, kPages * kPageSize);
}
BENCHMARK(BM_CowBreakPerPage);

}  // namespace
}  // namespace mm

BENCHMARK_MAIN();
