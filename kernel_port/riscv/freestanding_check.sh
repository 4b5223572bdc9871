#!/usr/bin/env bash
# Usage: freestanding_check.sh [--allow-libgcc] ARCHIVE...
# The freestanding check of DESIGN.md: the mm/ archives, built for riscv64, may
# leave undefined only
#   - memset memcpy memmove memcmp (the kernel provides them),
#   - the platform hooks, C++ names in namespace mm::platform (_ZN2mm8platform...),
#   - symbols that another archive of the set defines,
#   - with --allow-libgcc: helpers defined by the cross compiler's libgcc.a
#     (e.g. __clzdi2 for std::countl_zero on rv64gc), which the kernel links
#     with -lgcc; they are listed as a note.
# Anything else (malloc, operator new, __cxa_*, atexit, ...) fails the test,
# naming the symbol and the archive member that needs it.
set -euo pipefail
NM=/usr/bin/riscv64-linux-gnu-nm

allow_libgcc=0
if [[ "${1:-}" == "--allow-libgcc" ]]; then
  allow_libgcc=1
  shift
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [--allow-libgcc] ARCHIVE..." >&2
  exit 2
fi

tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/freestanding.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Global symbols defined anywhere in the set (nm -P: "name type value size").
for a in "$@"; do
  "$NM" -P -g --defined-only "$a" 2>/dev/null | awk 'NF >= 2 && $1 !~ /:$/ { print $1 }'
done | sort -u >"$tmp/defined"

libgcc_defined="$tmp/libgcc_defined"
: >"$libgcc_defined"
if ((allow_libgcc)); then
  libgcc="$(/usr/bin/riscv64-linux-gnu-gcc -print-libgcc-file-name)"
  "$NM" -P -g --defined-only "$libgcc" 2>/dev/null | awk 'NF >= 2 && $1 !~ /:$/ { print $1 }' |
    sort -u >"$libgcc_defined"
fi

# Undefined references, one line "archive[member] symbol" each.
for a in "$@"; do
  "$NM" -P -A -u "$a" | awk -v arc="$(basename "$a")" '
    NF >= 3 { m = $1; sub(/:$/, "", m); sub(/^.*\//, "", m); print m, $2 }'
done | sort -u >"$tmp/undefined"

bad=0
libgcc_used=()
while read -r where sym; do
  case "$sym" in
    memset | memcpy | memmove | memcmp) continue ;;
    _ZN2mm8platform*) continue ;;
  esac
  if grep -qxF -- "$sym" "$tmp/defined"; then continue; fi
  if grep -qxF -- "$sym" "$libgcc_defined"; then
    libgcc_used+=("$sym ($where)")
    continue
  fi
  echo "FREESTANDING VIOLATION: undefined symbol '$sym' in $where" >&2
  bad=1
done <"$tmp/undefined"

echo "checked $# archive(s):"
for a in "$@"; do echo "  $a"; done
for u in "${libgcc_used[@]+"${libgcc_used[@]}"}"; do
  echo "note: libgcc helper used (the kernel links -lgcc): $u"
done
if ((bad)); then
  echo "FAIL: mm/ needs symbols a freestanding kernel does not provide (see above)" >&2
  exit 1
fi
echo "PASS: only mem*, mm::platform hooks and in-set symbols are undefined"
