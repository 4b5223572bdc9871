#!/usr/bin/env bash
# Usage: qemu_test.sh KERNEL_ELF [--append CMDLINE] [--expect-line LINE]...
#                     [--expect-regex ERE]... [--forbid-regex ERE]...
# Boots KERNEL_ELF on QEMU virt under OpenSBI (-bios default, 128 MiB, 1 hart)
# and checks the serial output: every --expect-line must appear as a whole line,
# every --expect-regex must match some line, no --forbid-regex may match any.
# The kernel must also power itself off (SBI SRST) within the timeout. QEMU's
# exit code says nothing about success: it is 0 even for a failure shutdown.
set -u
kernel="$1"
shift
append=""
expect_lines=()
expect_res=()
forbid_res=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --append) append="$2" ;;
    --expect-line) expect_lines+=("$2") ;;
    --expect-regex) expect_res+=("$2") ;;
    --forbid-regex) forbid_res+=("$2") ;;
    *) echo "qemu_test.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift 2
done

raw="$(timeout 30 qemu-system-riscv64 -machine virt -smp 1 -m 128M -nographic \
        -bios default -kernel "$kernel" -append "$append" </dev/null 2>&1)"
rc=$?
out="$(tr -d '\r' <<<"$raw")"
printf '%s\n' "$out"
echo "----"
fail=0
if [[ $rc -ne 0 ]]; then
  echo "FAIL: qemu exited with rc=$rc (124 = timeout: the kernel did not power off)" >&2
  fail=1
fi
for l in "${expect_lines[@]+"${expect_lines[@]}"}"; do
  if ! grep -qxF -- "$l" <<<"$out"; then
    echo "FAIL: expected line not found: $l" >&2
    fail=1
  fi
done
for r in "${expect_res[@]+"${expect_res[@]}"}"; do
  if ! grep -qE -- "$r" <<<"$out"; then
    echo "FAIL: no line matches: $r" >&2
    fail=1
  fi
done
for r in "${forbid_res[@]+"${forbid_res[@]}"}"; do
  if grep -qE -- "$r" <<<"$out"; then
    echo "FAIL: forbidden line present: $(grep -E -- "$r" <<<"$out" | head -1)" >&2
    fail=1
  fi
done
((fail)) && exit 1
echo "PASS: append='$append'"
