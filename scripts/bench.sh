#!/usr/bin/env bash
# make bench: `conv1d-tune bench` over a suite in both layouts; writes one CSV (the bench columns with the
# shape and layout in front), a log of anything the tool said on stderr, and a summary of each variant's speed
# against oneDNN's in the same run.
#
# Once per ISA level: the CPU's best, and AVX2 as well where the CPU has AVX-512 (CONV1D_ISA=avx2, which caps
# oneDNN to AVX2 too), so both paths keep their figures whichever machine a change was made on. The capped
# run's files carry the level in their names (bench-STAMP-avx2.csv). BENCH_ISA="avx2 c" picks the levels.
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
    [ "${cpu_levels[0]}" = avx512 ] && levels+=(avx2)
fi
for isa in "${levels[@]}"; do
    suffix=$([ "$isa" = "${cpu_levels[0]}" ] && echo "" || echo "-$isa")
    csv="$outdir/bench-$stamp$suffix.csv"
    log="$outdir/bench-$stamp$suffix.log"
    summary="$outdir/bench-$stamp$suffix-summary.txt"
    echo "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err" >"$csv"
    grep -v '^[[:space:]]*\(#\|$\)' "$suite" | sed 's/[[:space:]]*#.*//' | while read -r shape; do
        for layout in nwc ncw; do
            echo "== $shape ($layout, CONV1D_ISA=$isa)" >&2
            CONV1D_ISA=$isa "$tool" bench --shape "$shape" --layout "$layout" --csv --copy "$@" 2>>"$log" |
                tail -n +2 | sed "s|^|\"$shape\",$layout,|" | tee -a "$csv" >&2
        done
    done
    if [ -z "$suffix" ]; then what="the CPU's best"; else what="CONV1D_ISA=$isa, oneDNN capped alike"; fi
    { echo "ISA level $isa ($what)"; python3 "$(dirname "$0")/bench_summary.py" "$csv"; } |
        tee "$summary"
    echo "wrote $csv, $log and $summary" >&2
done
