#!/usr/bin/env bash
# make gpu-check: everything a GPU machine can tell in one command, within about nine minutes.
#
#   scripts/gpu_check.sh [OUTDIR]   (default results/gpu-check; `make gpu-check OUT=dir`)
#
# 1. dependencies: hwloc, SQLite and cmocka from the system, else unpacked (dpkg -x) from the .deb files of
#    .gpu-deps/ (scripts/gpu_deps.sh, run where apt works) into a private prefix, with PKG_CONFIG_PATH,
#    CPATH, LIBRARY_PATH and LD_LIBRARY_PATH pointing there;
# 2. the build: CUDA=1 into $GPU_BUILD (build/gpu), ONEDNN=0 when .deps/onednn is absent, cuDNN from the
#    toolkit or the image's nvidia-cudnn wheel (CUDNN_ROOT), else CUDNN=0;
# 3. the GPU unit tests (test_cuda, test_cudnn) when they exist;
# 4. conv1d-tune hw --json --peaks (CPU and GPU ceilings) into hw.json;
# 5. conv1d-tune bench --device cuda --copy of every gpu.suite shape, NWC first for every shape and then NCW,
#    into one CSV (shape,layout + the bench columns, as scripts/bench.sh writes);
# 6. a short sweep --device cuda of gpu.suite into gpu.db, and its winners;
# 7. summary.md (scripts/gpu_summary.py, when present), and a short table on stdout, last.
#
# The bench and the sweep share what is left of GPU_CHECK_SECONDS (500) after the build; a shape that no
# longer fits is listed as skipped, never cut off half-measured. GPU_BENCH_ARGS overrides the bench options
# (default "--rounds 1 --budget 0.3 --timeout 60"); GPU_ONEDNN=0 builds without oneDNN even where
# .deps/onednn exists. Exit status: 0 when the build, the unit tests, hw and at
# least one bench worked; 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root_dir=$PWD
out=${1:-results/gpu-check}
build=${GPU_BUILD:-build/gpu}
budget=${GPU_CHECK_SECONDS:-500}
bench_args=${GPU_BENCH_ARGS:---rounds 1 --budget 0.3 --timeout 60}
suite=autotune/suites/gpu.suite
jobs=$(nproc 2>/dev/null || echo 4)
start=$(date +%s)
mkdir -p "$out"
out=$(cd "$out" && pwd)
status=0
notes=()

elapsed() { echo $(($(date +%s) - start)); }
say() { echo "gpu-check [$(elapsed) s] $*" >&2; }
note() { notes+=("$*"); say "$*"; }

# --- 1. dependencies ----------------------------------------------------------------------------------
declare -A debs_of=([hwloc]="libhwloc-dev libhwloc15" [sqlite3]="libsqlite3-dev libsqlite3-0"
                    [cmocka]="libcmocka-dev libcmocka0")
case $build in
/*) prefix=$build/deps-root ;;
*) prefix=$root_dir/$build/deps-root ;;
esac
unpack() { # unpack the newest .deb of each named package into $prefix
    local p f
    for p in "$@"; do
        f=$(ls -1 .gpu-deps/"${p}"_*.deb 2>/dev/null | sort -V | tail -n 1)
        if [ -z "$f" ]; then
            note "dependency package $p is not in .gpu-deps/ (run scripts/gpu_deps.sh where apt works)"
            return 1
        fi
        mkdir -p "$prefix" && dpkg -x "$f" "$prefix" || return 1
    done
}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
export PATH="$prefix/usr/bin:$PATH"
export PKG_CONFIG_PATH="$prefix/usr/lib/$multiarch/pkgconfig:$prefix/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
export LIBRARY_PATH="$prefix/usr/lib/$multiarch${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$prefix/usr/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! command -v pkg-config >/dev/null; then
    unpack pkgconf-bin libpkgconf3 && ln -sf pkgconf "$prefix/usr/bin/pkg-config"
fi
have_cmocka=1
for pc in hwloc sqlite3 cmocka; do
    pkg-config --exists "$pc" 2>/dev/null && continue
    # shellcheck disable=SC2086
    if unpack ${debs_of[$pc]} && pkg-config --exists "$pc"; then
        say "$pc: unpacked from .gpu-deps into $prefix"
    elif [ "$pc" = cmocka ]; then
        have_cmocka=0
        note "cmocka is missing: the GPU unit tests are not built"
    else
        note "$pc is missing and not in .gpu-deps/: cannot build"
        status=1
    fi
done

# --- 2. build -----------------------------------------------------------------------------------------
onednn=${GPU_ONEDNN:-1}
[ -f .deps/onednn/include/oneapi/dnnl/dnnl.h ] || onednn=0
# FFTW 3 (the fft family) where the image has it, else a build without the family.
fftw=1
pkg-config --exists fftw3f fftw3 2>/dev/null || { fftw=0; note "FFTW 3 is missing: built without the fft family"; }
tool=$build/bin/conv1d-tune
# cuDNN: the toolkit's own, else the nvidia-cudnn wheel of the image's Python (include/ and lib/ below its
# package folder), else none: the build then leaves the cuDNN peer out (CUDNN=0) and says so.
nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cuda_home=$(dirname "$(dirname "$nvcc_path")")
cudnn_args=()
if [ -f "$cuda_home/include/cudnn.h" ] && compgen -G "$cuda_home/lib64/libcudnn.so*" >/dev/null; then
    say "cuDNN: from the CUDA toolkit at $cuda_home"
elif wheel=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) &&
    [ -f "$wheel/include/cudnn.h" ] && compgen -G "$wheel/lib/libcudnn.so*" >/dev/null; then
    if [ -e "$wheel/lib/libcudnn.so" ]; then
        link=-lcudnn
    else
        link="-l:$(basename "$(ls -1 "$wheel"/lib/libcudnn.so.* | sort -V | head -n 1)")"
    fi
    cudnn_args=(CUDNN_ROOT="$wheel" CUDNN_LINK="$link")
    export LD_LIBRARY_PATH="$wheel/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "cuDNN: from the Python wheel at $wheel ($link)"
else
    cudnn_args=(CUDNN=0)
    note "no cuDNN found (toolkit or nvidia-cudnn wheel): built without the cuDNN peer, no cuDNN comparison"
fi
if [ $status = 0 ]; then
    say "building (CUDA=1 ONEDNN=$onednn BUILD=$build, -j$jobs); log in $out/build.log"
    if ! make -j"$jobs" BUILD="$build" CUDA=1 ONEDNN="$onednn" FFTW="$fftw" "${cudnn_args[@]}" all >"$out/build.log" 2>&1; then
        note "the build failed (last lines of $out/build.log follow)"
        tail -n 30 "$out/build.log" >&2
        status=1
    fi
fi

# --- 3. GPU unit tests --------------------------------------------------------------------------------
unit_results=()
if [ $status = 0 ] && [ $have_cmocka = 1 ]; then
    for t in test_cuda test_cudnn; do
        [ -f "tests/unit/$t.c" ] || continue
        if ! make -j"$jobs" BUILD="$build" CUDA=1 ONEDNN="$onednn" FFTW="$fftw" "${cudnn_args[@]}" "$build/tests/$t" \
            >>"$out/build.log" 2>&1; then
            note "$t did not build (see $out/build.log)"
            unit_results+=("$t: build failed")
            status=1
            continue
        fi
        say "running $t"
        if timeout 150 "$build/tests/$t" >"$out/$t.log" 2>&1; then
            unit_results+=("$t: passed ($(grep -c '^\[       OK \]' "$out/$t.log") tests)")
        else
            unit_results+=("$t: FAILED (see $t.log)")
            note "$t failed"
            status=1
        fi
    done
fi

# --- 4. the machine -----------------------------------------------------------------------------------
if [ -x "$tool" ]; then
    say "hw --json --peaks"
    "$tool" hw --json --peaks >"$out/hw.json" 2>"$out/hw.log" || { note "hw --json --peaks failed"; status=1; }
    "$tool" hw >"$out/hw.txt" 2>>"$out/hw.log"
fi

# --- 5. bench -----------------------------------------------------------------------------------------
csv=$out/bench.csv
log=$out/bench.log
benched=0 skipped=0
mapfile -t shapes < <(grep -v '^[[:space:]]*\(#\|$\)' "$suite" | sed 's/[[:space:]]*#.*//')
if [ -x "$tool" ]; then
    echo "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err" >"$csv"
    : >"$log"
    left=$((start + budget - $(date +%s)))
    bench_until=$(($(date +%s) + left * 7 / 10))
    say "bench: ${#shapes[@]} shapes x 2 layouts, until +$((bench_until - start)) s; log in $log"
    for layout in nwc ncw; do
        for shape in "${shapes[@]}"; do
            now=$(date +%s)
            if [ "$now" -ge "$bench_until" ]; then
                echo "== skipped (time budget): $shape ($layout)" >>"$log"
                skipped=$((skipped + 1))
                continue
            fi
            echo "== $shape ($layout)" >>"$log"
            # shellcheck disable=SC2086
            if timeout $((bench_until - now + 60)) "$tool" bench --shape "$shape" --layout "$layout" --device cuda \
                --copy --csv $bench_args 2>>"$log" >"$out/.bench-one.csv"; then
                tail -n +2 "$out/.bench-one.csv" | sed "s|^|\"$shape\",$layout,|" >>"$csv"
                benched=$((benched + 1))
            else
                echo "== bench exited with status $? on $shape ($layout)" >>"$log"
            fi
        done
    done
    rm -f "$out/.bench-one.csv"
    say "bench: $benched shape-layout pairs measured, $skipped skipped for time"
    [ $skipped -gt 0 ] && notes+=("bench: $skipped shape-layout pairs skipped to stay within ${budget} s")
    [ $benched -gt 0 ] || { note "no bench run worked (see $log)"; status=1; }
fi

# --- 6. a short sweep ---------------------------------------------------------------------------------
if [ -x "$tool" ]; then
    left=$((start + budget - 20 - $(date +%s)))
    if [ $left -ge 20 ]; then
        say "sweep --device cuda --quick into $out/gpu.db (at most $left s)"
        rm -f "$out/gpu.db" "$out/gpu.db-wal" "$out/gpu.db-shm"
        timeout $((left + 60)) "$tool" sweep --suite "$suite" --device cuda --db "$out/gpu.db" --quick \
            --total-budget "$left" >"$out/sweep.log" 2>&1 || note "the sweep did not finish (see sweep.log)"
        "$tool" winners --db "$out/gpu.db" >"$out/winners.txt" 2>&1 || note "winners failed (see winners.txt)"
    else
        note "no time left for the sweep"
    fi
fi

# --- 7. summary ---------------------------------------------------------------------------------------
if [ -f scripts/gpu_summary.py ] && [ -f "$out/hw.json" ] && [ -f "$csv" ]; then
    python3 scripts/gpu_summary.py --bench "$csv" --hw "$out/hw.json" >"$out/summary.md" 2>"$out/summary.log" ||
        note "gpu_summary.py failed (see summary.log)"
fi
{
    echo "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed) s, outputs in $out"
    for r in "${unit_results[@]}"; do echo "  $r"; done
    for n in "${notes[@]}"; do echo "  note: $n"; done
} | tee "$out/status.txt"
if [ -f "$csv" ]; then
    python3 - "$csv" "$out/hw.json" <<'PY'
# The short table: per shape and layout, the fastest correct non-cuDNN CUDA variant, the fastest cuDNN one
# of the same precision class, the speedup, and the fraction of a device copy of the same bytes.
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
try:
    gpu = json.load(open(sys.argv[2]))["cuda"]["gpus"][0]
    print(f"{gpu['name']}: {gpu.get('peaks', {}).get('fma_gflops', 0):.0f} GFLOP/s fp32, "
          f"{gpu.get('peaks', {}).get('copy_gbs', 0):.0f} GB/s copy (0: not measured)")
except (OSError, ValueError, KeyError, IndexError):
    print("no GPU in hw.json")
groups = {}
for r in rows:
    groups.setdefault((r["shape"], r["layout"]), []).append(r)
def short(shape):
    keys = {"batch": "b", "length": "L", "in_channels": "ci", "out_channels": "co", "kernel_size": "k",
            "stride": "s", "dilation": "d", "num_groups": "g"}
    return ",".join(f"{keys[k]}{v}" for k, v in (kv.split("=") for kv in shape.split(",")) if k in keys)
print(f"{'shape':<34} {'lay':<3} {'best variant':<28} {'ms':>9} {'cudnn ms':>9} {'x':>6} {'%copy':>6}")
for (shape, layout), rs in groups.items():
    ok = [r for r in rs if r["status"] == "ok" and r["median_ms"]]
    ours = [r for r in ok if r["family"] not in ("cudnn", "baseline")]
    copy = [float(r["median_ms"]) for r in ok if r["family"] == "baseline"]
    if not ours:
        print(f"{short(shape):<34} {layout:<3} {'(no correct CUDA variant)':<28}")
        continue
    best = min(ours, key=lambda r: float(r["median_ms"]))
    peers = [float(r["median_ms"]) for r in ok if r["family"] == "cudnn" and r["precision"] == best["precision"]]
    ms = float(best["median_ms"])
    peer = f"{min(peers):9.4g}" if peers else f"{'-':>9}"
    x = f"{min(peers) / ms:5.2f}x" if peers else f"{'-':>6}"
    pc = f"{100 * copy[0] / ms:5.0f}%" if copy else f"{'-':>6}"
    print(f"{short(shape):<34} {layout:<3} {best['variant']:<28} {ms:9.4g} {peer} {x} {pc}")
PY
fi
exit $status
