#!/bin/bash
# How these files were made (2026-12-07, the Zen 4 of this folder, nothing else running): the first layers of
# wav2vec2 (1 -> 512, k10, s5; batch 1 and 4) and EnCodec (1 -> 32, k7) in both layouts, `bench` of the f32 class
# then of the bf16 class back to back, at the CPU's best level (avx512bf16) and capped to avx2, then
# scripts/dtype_summary.py.
#   results/amd-epyc-zen4-2vcpu/bf16/first-layers/run.sh OUTDIR      (from the repository root)
set -euo pipefail
out=${1:?OUTDIR}
T=build/bin/conv1d-tune
H="shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err"
shapes=("batch=1,length=16000,in_channels=1,out_channels=512,kernel_size=10,stride=5"
        "batch=4,length=16000,in_channels=1,out_channels=512,kernel_size=10,stride=5"
        "batch=1,length=24000,in_channels=1,out_channels=32,kernel_size=7,pad_left=3,pad_right=3")
mkdir -p "$out"
for isa in avx512bf16 avx2; do
  for dt in f32 bf16; do echo "$H" > "$out/$isa-$dt.csv"; done
  for shape in "${shapes[@]}"; do
    for layout in nwc ncw; do
      for dt in f32 bf16; do
        CONV1D_ISA=$isa $T bench --shape "$shape" --layout $layout --dtype $dt --csv --copy --budget 0.6 --rounds 3 \
            --screen 3 2>>"$out/log" | tail -n +2 | sed "s|^|\"$shape\",$layout,|" >> "$out/$isa-$dt.csv"
      done
    done
  done
  python3 scripts/dtype_summary.py "$out/$isa-f32.csv" "$out/$isa-bf16.csv" > "$out/$isa-summary.txt"
done
