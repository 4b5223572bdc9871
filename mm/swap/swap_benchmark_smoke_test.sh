#!/bin/bash
# //bench:swap's compressor section, once per row on every content: it exits
# non-zero on a failed round trip; every row is printed; on the same pages the
# zram rows and the raw library rows give the same compression ratio (the
# device's zero column is infinite: same-filled pages are not compressed).
set -euo pipefail
bin="$1"
out="$("$bin" --compressors_only --reps=1)"
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
for row in "zram device (WritePage/ReadPage)" "zram hook (fast_extState, per-thread state)" \
           "raw LZ4_compress_fast_extState" "raw LZ4_compress_default" \
           "zram hook (ZSTD_compressCCtx, per-thread context)" \
           "raw ZSTD_compressCCtx (one context)" "raw ZSTD_compress (context per call)"; do
  grep -qF "| $row |" <<<"$out" || fail "row '$row' missing"
done
# The ratio table is the first table: columns algorithm, path, zero, text, data, random.
ratios="$(awk '/^Compression ratio/{t=1} /^Compress GB\/s/{t=0} t && /^\| (lz4|zstd 1) \|/' <<<"$out")"
for algo in "lz4" "zstd 1"; do
  n=$(awk -F'|' -v a=" $algo " '$2==a {print $5 $6 $7}' <<<"$ratios" | sort -u | wc -l)
  rows=$(awk -F'|' -v a=" $algo " '$2==a' <<<"$ratios" | wc -l)
  [[ "$rows" -eq 4 ]] || fail "$algo: $rows ratio rows, want 4"
  [[ "$n" -eq 1 ]] || fail "$algo: text/data/random ratios differ between zram and raw rows"
done
awk -F'|' '$2==" lz4 " && $3 ~ /zram device/ {exit !($4 ~ /inf/)}' <<<"$ratios" ||
  fail "zram device: zero pages should be same-filled (ratio inf)"
echo PASS
