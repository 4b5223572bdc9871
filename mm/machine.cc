#include "mm/machine.h"

#include "mm/base/errno.h"
#include "mm/base/log.h"
#include "mm/base/string_util.h"

namespace mm {

int Machine::Boot(const char* cmdline, const FileOps* file_ops, const swap::SwapHostOps* swap_ops,
                  Machine** out) {
  BootParams params;
  int err = ParseBootParams(cmdline, &params);
  if (err != 0) return err;
  SlabConfig slab_config;
  VmConfig vm_config;
  swap::SwapConfig swap_config;
  for (int i = 0; i < params.nr_layer_words; ++i) {
    const char* word = params.layer_words[i];
    const size_t len = params.layer_word_len[i];
    err = SlabSystem::ParseSlabOption(word, len, &slab_config);  // 1: not a slab word
    if (err == 1) err = VmSystem::ParseVmOption(word, len, &vm_config);  // -ENOENT: not a VM word
    if (err == -kENOENT) err = SwapSystem::ParseSwapOption(word, len, &swap_config);  // 1: not swap
    if (err == 1) return RejectBootWord(word, len, "unknown parameter");
    if (err < 0) return err;  // the layer named the bad word
  }
  RamRange ram;
  if (!platform::AcquireRam(params.mem_bytes, &ram)) {
    Printk("mm_boot: the platform cannot provide mem=%lluK of RAM\n",
           static_cast<unsigned long long>(params.mem_bytes >> 10));
    return -kENOMEM;
  }
  Memblock memblock(ram);
  Machine* m = memblock.New<Machine>();
  BuddyAllocator* buddy = memblock.New<BuddyAllocator>();
  SlabSystem* slab = memblock.New<SlabSystem>();
  VmSystem* vm = memblock.New<VmSystem>();
  SwapSystem* swap = memblock.New<SwapSystem>();
  if (m == nullptr || buddy == nullptr || slab == nullptr || vm == nullptr || swap == nullptr) {
    platform::ReleaseRam(ram);
    return -kENOMEM;
  }
  m->ram_ = ram;
  m->params_ = params;
  m->buddy_ = buddy;
  BuddyConfig config;
  config.nr_nodes = params.nr_nodes;
  config.nr_cpus = params.nr_cpus != 0 ? params.nr_cpus : platform::NumCpus();
  if (config.nr_cpus > kMaxCpus) config.nr_cpus = kMaxCpus;
  config.dma_bytes = params.dma_bytes;
  config.min_free_kbytes = params.min_free_kbytes;
  err = buddy->Init(memblock, config);  // memblock is closed after this
  if (err != 0) {
    platform::ReleaseRam(ram);
    return err;
  }
  slab_config.nr_cpus = config.nr_cpus;
  err = slab->Init(*buddy, slab_config);
  if (err != 0) {
    Printk("mm_boot: the %s allocator failed to start (%d)\n", AllocatorKindName(slab_config.kind),
           err);
    platform::ReleaseRam(ram);
    return err;
  }
  m->slab_ = slab;
  vm_config.file_ops = file_ops;
  err = vm->Init(*buddy, vm_config);
  if (err != 0) {
    Printk("mm_boot: the VM failed to start (%d)\n", err);
    slab->Shutdown();
    platform::ReleaseRam(ram);
    return err;
  }
  m->vm_ = vm;
  err = swap->Init(*buddy, *slab, *vm, swap_config, swap_ops);
  if (err != 0) {
    Printk("mm_boot: swap failed to start (%d)\n", err);
    vm->Shutdown();
    slab->Shutdown();
    platform::ReleaseRam(ram);
    return err;
  }
  m->swap_ = swap;
  *out = m;
  return 0;
}

void Machine::Shutdown() {
  // Caches with live objects are reported by the slab layer; the RAM goes back
  // to the platform all the same, since nothing can use it after shutdown.
  // kswapd stops first; the VM then frees its swap entries through the swap
  // hooks, before swap itself goes.
  if (swap_ != nullptr) swap_->StopKswapd();
  if (vm_ != nullptr) vm_->Shutdown();
  if (swap_ != nullptr) swap_->Shutdown();
  if (slab_ != nullptr) slab_->Shutdown();
  const RamRange ram = ram_;
  this->~Machine();
  platform::ReleaseRam(ram);  // the machine itself lived in this RAM
}

void Machine::OnCpuDead(unsigned cpu) {
  if (slab_ != nullptr) slab_->OnCpuDead(cpu);
}

// si_mem_available: free pages above the reserves, plus the part of the page
// cache and reclaimable slab that could be reclaimed without thrashing.
void Machine::ShowMeminfo(TextBuffer& out) {
  auto kb = [](uint64_t pages) { return pages << (kPageShift - 10); };
  const uint64_t total = buddy_->TotalRamPages();
  const uint64_t free_pages = buddy_->NrFreePages();
  const uint64_t reserve = buddy_->TotalReservePages();
  const uint64_t wmark_low = buddy_->SumLowWatermarks();
  uint64_t sreclaimable = 0, sunreclaim = 0;
  slab_->SlabPages(&sreclaimable, &sunreclaim);
  const uint64_t pagecache = vm_->nr_file_pages();  // the VM's page cache (swap cache apart)
  int64_t available = static_cast<int64_t>(free_pages) - static_cast<int64_t>(reserve);
  const uint64_t cache_part = pagecache / 2 < wmark_low ? pagecache / 2 : wmark_low;
  available += static_cast<int64_t>(pagecache - cache_part);
  const uint64_t slab_part = sreclaimable / 2 < wmark_low ? sreclaimable / 2 : wmark_low;
  available += static_cast<int64_t>(sreclaimable - slab_part);
  // Linux's show_val_kb: the label padded to 16 columns, the value to 8.
  auto line = [&](const char* label, uint64_t kbytes) {
    out.Append("%-16s%8llu kB\n", label, static_cast<unsigned long long>(kbytes));
  };
  line("MemTotal:", kb(total));
  line("MemFree:", kb(free_pages));
  line("MemAvailable:", kb(available < 0 ? 0 : static_cast<uint64_t>(available)));
  line("Buffers:", 0);
  line("Cached:", kb(pagecache));
  SwapMeminfo sw;
  swap_->MeminfoCounters(&sw);
  line("SwapCached:", sw.swap_cached_kb);
  line("Active:", sw.active_anon_kb + sw.active_file_kb);
  line("Inactive:", sw.inactive_anon_kb + sw.inactive_file_kb);
  line("Active(anon):", sw.active_anon_kb);
  line("Inactive(anon):", sw.inactive_anon_kb);
  line("Active(file):", sw.active_file_kb);
  line("Inactive(file):", sw.inactive_file_kb);
  line("SwapTotal:", sw.swap_total_kb);
  line("SwapFree:", sw.swap_free_kb);
  line("Dirty:", kb(vm_->nr_file_dirty()));
  line("Writeback:", 0);  // page-cache and swap writes complete before reclaim goes on
  line("Shmem:", kb(vm_->nr_shmem_pages()));  // resident shared anonymous pages (in Cached too)
  line("Slab:", kb(sreclaimable + sunreclaim));
  line("SReclaimable:", kb(sreclaimable));
  line("SUnreclaim:", kb(sunreclaim));
}

void Machine::ShowVmstat(TextBuffer& out) {
  buddy_->ShowVmstat(out);
  uint64_t sreclaimable = 0, sunreclaim = 0;
  slab_->SlabPages(&sreclaimable, &sunreclaim);
  out.Append("nr_slab_reclaimable %llu\n", static_cast<unsigned long long>(sreclaimable));
  out.Append("nr_slab_unreclaimable %llu\n", static_cast<unsigned long long>(sunreclaim));
  vm_->ShowVmstat(out);
  swap_->ShowVmstat(out);
}

long Machine::ProcRead(const char* path, char* buf, size_t size) {
  TextBuffer out(buf, size);
  if (StrEq(path, "/proc/buddyinfo")) {
    buddy_->ShowBuddyinfo(out);
  } else if (StrEq(path, "/proc/pagetypeinfo")) {
    buddy_->ShowPagetypeinfo(out);
  } else if (StrEq(path, "/proc/zoneinfo")) {
    buddy_->ShowZoneinfo(out);
  } else if (StrEq(path, "/proc/slabinfo")) {
    slab_->ShowSlabinfo(out);
  } else if (StrEq(path, "/proc/meminfo")) {
    ShowMeminfo(out);
  } else if (StrEq(path, "/proc/vmstat")) {
    ShowVmstat(out);
  } else if (StrEq(path, "/sys/kernel/debug/extfrag/extfrag_index")) {
    buddy_->ShowExtfragIndex(out);
  } else if (StrEq(path, "/sys/kernel/debug/extfrag/unusable_index")) {
    buddy_->ShowUnusableIndex(out);
  } else if (vm_->ProcRead(path, out) == -kENOENT &&  // /proc/<pid>/maps, status
             swap_->ProcRead(path, out) == -kENOENT) {  // swaps, pressure, zram, oom_*
    if (size > 0) buf[0] = '\0';
    return -kENOENT;
  }
  return static_cast<long>(out.length());
}

}  // namespace mm
