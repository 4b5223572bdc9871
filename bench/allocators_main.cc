// //bench:allocators, the main job: ./bazelw run -c opt //bench:allocators -- --help
#include "bench/allocators_driver.h"

int main(int argc, char** argv) { return bench::RunAllocatorsBenchmark(argc, argv); }
