#!/usr/bin/env bash
# Usage: run_qemu.sh KERNEL_ELF [QEMU ARGS...]
# Boots the kernel on QEMU virt under OpenSBI with the console on stdio; extra
# arguments go to QEMU (e.g. -append "mem=64M" or -m 256M, which override the
# defaults below). Quit a hung kernel with Ctrl-A X.
set -u
kernel="$1"
shift
exec qemu-system-riscv64 -machine virt -smp 1 -m 128M -nographic -bios default \
  -kernel "$kernel" "$@"
