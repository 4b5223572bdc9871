#!/usr/bin/env bash
# Runs `slabtop --once --demo` and `slabtop -o -s n -` on its own demo text.
set -euo pipefail
bin="$1"
out="$("$bin" --once --demo)"
printf '%s\n' "$out"
grep -q '^ Active / Total Objects (% used)    : ' <<<"$out"
grep -q '^ Minimum / Average / Maximum Object : ' <<<"$out"
grep -q '^  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME' <<<"$out"
grep -q ' dentry' <<<"$out"
grep -q ' kmalloc-8k' <<<"$out"
# Bad sort key is an error.
if "$bin" -o -s x --demo 2>/dev/null; then echo "bad sort key accepted" >&2; exit 1; fi
echo PASS
