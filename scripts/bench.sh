#!/usr/bin/env bash
# make bench: `conv1d-tune bench` over a suite in both layouts; writes one CSV (the bench columns with the
# shape and layout in front), a log of anything the tool said on stderr, and a summary of each variant's speed
# against oneDNN's in the same run.
#
# Once per ISA level: the CPU's best, and AVX2 as well where the CPU has AVX-512 (CONV1D_ISA=avx2, which caps
# oneDNN to AVX2 too), so both paths keep their figures whichever machine a change was made on. The capped
# run's files carry the level in their names (bench-STAMP-avx2.csv). BENCH_ISA="avx2 c" picks the levels.
# At each level the suite runs once more per 16-bit dtype of BENCH_DTYPES (default "bf16"; "bf16 f16", or ""
# for none), its files named bench-STAMP[-level]-bf16.*, with a summary of each class against fp32
# (scripts/dtype_summary.py: the best 16-bit variant over the best fp32 one, and over oneDNN of the class).
#   scripts/bench.sh TOOL SUITE OUTDIR [extra bench options...]
set -euo pipefail
tool=$1 suite=$2 outdir=$3
shift 3
mkdir -p "$outdir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
read -r -a cpu_levels <<<"$(env -u CONV1D_ISA "$tool" hw --isa-levels)"
if [ -n "${BENCH_ISA:-}" ]; then
    read -r -a levels <<<"$BENCH_ISA"
else
    levels=("${cpu_levels[0]}")
    case "${cpu_levels[0]}" in avx512*) levels+=(avx2) ;; esac # avx512 and avx512bf16 alike
fi
read -r -a dtypes <<<"${BENCH_DTYPES-bf16}"
for isa in "${levels[@]}"; do
  for dtype in f32 "${dtypes[@]}"; do
    suffix=$([ "$isa" = "${cpu_levels[0]}" ] && echo "" || echo "-$isa")
    f32_csv="$outdir/bench-$stamp$suffix.csv"
    [ "$dtype" = f32 ] || suffix="$suffix-$dtype"
    csv="$outdir/bench-$stamp$suffix.csv"
    log="$outdir/bench-$stamp$suffix.log"
    summary="$outdir/bench-$stamp$suffix-summary.txt"
    echo "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err" >"$csv"
    grep -v '^[[:space:]]*\(#\|$\)' "$suite" | sed 's/[[:space:]]*#.*//' | while read -r shape; do
        for layout in nwc ncw; do
            echo "== $shape ($layout, $dtype, CONV1D_ISA=$isa)" >&2
            CONV1D_ISA=$isa "$tool" bench --shape "$shape" --layout "$layout" --dtype "$dtype" --csv --copy "$@" \
                2>>"$log" | tail -n +2 | sed "s|^|\"$shape\",$layout,|" | tee -a "$csv" >&2
        done
    done
    if [ "$isa" = "${cpu_levels[0]}" ]; then what="the CPU's best"; else what="CONV1D_ISA=$isa, oneDNN capped alike"; fi
    {
        echo "ISA level $isa ($what), dtype $dtype"
        python3 "$(dirname "$0")/bench_summary.py" "$csv"
        if [ "$dtype" != f32 ]; then echo; python3 "$(dirname "$0")/dtype_summary.py" "$f32_csv" "$csv"; fi
    } | tee "$summary"
    echo "wrote $csv, $log and $summary" >&2
  done
done
