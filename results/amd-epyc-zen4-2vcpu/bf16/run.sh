#!/bin/bash
# How these files were made (2026-12-07, re-run after the measurement stopped paying page faults in timed runs;
# the Zen 4 of this folder, nothing else running): per shape of
# shapes.suite and layout, `bench` of the f32 class then of the bf16 class back to back, at the CPU's best level
# (avx512bf16) and capped to avx2 (the first, third, fourth and fifth shapes), then scripts/dtype_summary.py.
#   results/amd-epyc-zen4-2vcpu/bf16/run.sh OUTDIR      (from the repository root)
set -euo pipefail
out=${1:?OUTDIR}
here=$(dirname "$0")
T=build/bin/conv1d-tune
H="shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err"
mkdir -p "$out"
for isa in avx512bf16 avx2; do
  shapes=$(grep -v '^#' "$here/shapes.suite")
  [ $isa = avx2 ] && shapes=$(echo "$shapes" | sed -n '1p;2p;4p;5p')
  for dt in f32 bf16; do echo "$H" > "$out/$isa-$dt.csv"; done
  echo "$shapes" | while read -r shape; do
    for layout in nwc ncw; do
      for dt in f32 bf16; do
        CONV1D_ISA=$isa $T bench --shape "$shape" --layout $layout --dtype $dt --csv --copy --budget 0.6 --rounds 3 \
            --screen 3 2>>"$out/log" | tail -n +2 | sed "s|^|\"$shape\",$layout,|" >> "$out/$isa-$dt.csv"
      done
    done
  done
  python3 scripts/dtype_summary.py "$out/$isa-f32.csv" "$out/$isa-bf16.csv" > "$out/$isa-summary.txt"
done
