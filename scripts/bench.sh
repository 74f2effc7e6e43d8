#!/usr/bin/env bash
# make bench: `conv1d-tune bench` over a suite in both layouts; writes one CSV (the bench columns with the
# shape and layout in front), a log of anything the tool said on stderr, and a summary of each variant's speed against oneDNN's in the same run.
#   scripts/bench.sh TOOL SUITE OUTDIR [extra bench options...]
set -euo pipefail
tool=$1 suite=$2 outdir=$3
shift 3
mkdir -p "$outdir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
csv="$outdir/bench-$stamp.csv"
log="$outdir/bench-$stamp.log"
echo "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err" >"$csv"
grep -v '^[[:space:]]*\(#\|$\)' "$suite" | sed 's/[[:space:]]*#.*//' | while read -r shape; do
    for layout in nwc ncw; do
        echo "== $shape ($layout)" >&2
        "$tool" bench --shape "$shape" --layout "$layout" --csv --copy "$@" 2>>"$log" |
            tail -n +2 | sed "s|^|\"$shape\",$layout,|" | tee -a "$csv" >&2
    done
done
python3 "$(dirname "$0")/bench_summary.py" "$csv" | tee "$outdir/bench-$stamp-summary.txt"
echo "wrote $csv, $log and $outdir/bench-$stamp-summary.txt" >&2
