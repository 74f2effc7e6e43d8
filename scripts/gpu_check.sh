#!/usr/bin/env bash
# make gpu-check: what a GPU machine can tell in one command, within GPU_CHECK_SECONDS (330: five and a half
# minutes, build included), always ending with a summary of what it measured and what it skipped.
#
#   scripts/gpu_check.sh [OUTDIR]   (default results/gpu-check; `make gpu-check OUT=dir`)
#
# What the machine needs: the working tree, plus .gpu-deps/ where the image lacks the hwloc, SQLite or cmocka
# development files. .gpu-deps/ is git-ignored, so a copy of the tree made from git (or by a tool that
# copies tracked files only) arrives without it: copy it along explicitly (`make gpu-deps` fills it, where
# apt works). Without it, on such an image, the check stops at once with one line saying so.
#
# 1. dependencies: hwloc, SQLite, cmocka (and pkg-config) from the system, else unpacked (dpkg -x) from
#    .gpu-deps/ into a private prefix below the build folder;
# 2. the build: CUDA=1 into $GPU_BUILD (build/gpu), ONEDNN=0 when .deps/onednn is absent, cuDNN from the
#    toolkit or the image's nvidia-cudnn wheel (CUDNN_ROOT), else CUDNN=0; with GPU_CHECK_FAST=1 (the
#    default) only for this GPU's own architecture (nvidia-smi's compute_cap), GPU_CHECK_FAST=0 for every
#    architecture the Makefile lists; the unit test binaries in the same make run;
# 3. the unit tests test_cuda (without test_big_index: CONV1D_GPU_TEST_BIG=0), test_cudnn and
#    test_tc_emulate, side by side, each within a share of the time left;
# 4. conv1d-tune hw --json --peaks (CPU and GPU ceilings) into hw.json;
# 5. conv1d-tune bench --device cuda --copy of the shapes of autotune/suites/gpu.suite top down (the most
#    telling first), each in both layouts before the next shape, every variant of a pair in one child
#    (--per-child) and only the fastest of each class timed again (--screen), into bench.csv
#    (shape,layout + the bench columns); a pair that no longer fits in the time left is skipped, never cut
#    off half-measured;
# 6. with a minute to spare, a short sweep --device cuda into gpu.db and its winners;
# 7. always, also when interrupted: summary.md (scripts/gpu_summary.py: per pair our best fp32 and tf32
#    kernels against cuDNN's, and the pairs not measured), status.txt (build, unit tests, pairs measured and
#    skipped, notes) and a short table on stdout.
#
# GPU_BENCH_ARGS overrides the bench options ("--rounds 3 --budget 0.3 --timeout 30 --per-child 64
# --screen 2"); GPU_ONEDNN=0 builds without oneDNN even where .deps/onednn exists. Exit status: 0 when the
# build, the unit tests, hw and at least one bench worked; 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root_dir=$PWD
out=${1:-results/gpu-check}
build=${GPU_BUILD:-build/gpu}
budget=${GPU_CHECK_SECONDS:-330}
fast=${GPU_CHECK_FAST:-1}
bench_args=${GPU_BENCH_ARGS:---rounds 3 --budget 0.3 --timeout 30 --per-child 64 --screen 2}
suite=autotune/suites/gpu.suite
jobs=$(nproc 2>/dev/null || echo 4)
start=$(date +%s)
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
csv=$out/bench.csv
status=0
notes=()
unit_results=()
measured=()
failed=()
build_state="not started"
mapfile -t shapes < <(grep -v '^[[:space:]]*\(#\|$\)' "$suite" | sed 's/[[:space:]]*#.*//')
pairs=()
for shape in "${shapes[@]}"; do pairs+=("$shape|nwc" "$shape|ncw"); done
next_pair=0
rm -f "$csv" "$out/summary.md" "$out/status.txt" "$out/skipped.txt"

elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((start + budget - $(date +%s))); }
say() { echo "gpu-check [$(elapsed) s] $*" >&2; }
note() { notes+=("$*"); say "$*"; }

# --- 7. the summary, on every way out ------------------------------------------------------------------
finish() {
    trap - EXIT INT TERM
    local i p
    : >"$out/skipped.txt"
    for ((i = next_pair; i < ${#pairs[@]}; i++)); do
        p=${pairs[$i]}
        echo "${p%|*} (${p##*|}): ${skip_reason:-not reached within the ${budget} s budget}" >>"$out/skipped.txt"
    done
    if [ -f "$csv" ] && [ -f scripts/gpu_summary.py ]; then
        local hw_arg=()
        [ -s "$out/hw.json" ] && hw_arg=(--hw "$out/hw.json")
        python3 scripts/gpu_summary.py --bench "$csv" "${hw_arg[@]}" --skipped "$out/skipped.txt" \
            >"$out/summary.md" 2>"$out/summary.log" || echo "  note: gpu_summary.py failed (see summary.log)" >&2
    fi
    {
        echo "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed) s of ${budget}, outputs in $out"
        echo "  build: $build_state"
        for r in "${unit_results[@]}"; do echo "  unit: $r"; done
        echo "  bench: ${#measured[@]} shape/layout pairs measured, ${#failed[@]} failed," \
            "$(wc -l <"$out/skipped.txt") not measured (listed in skipped.txt)"
        for p in "${failed[@]}"; do echo "  bench failed: $p"; done
        for n in "${notes[@]}"; do echo "  note: $n"; done
    } | tee "$out/status.txt"
    if [ -s "$csv" ]; then
        python3 - "$csv" "$out/hw.json" <<'PY'
# Per shape and layout: our fastest correct fp32 kernel and tf32 kernel against the fastest cuDNN algorithm
# of the same class (above 1x ours is faster), and the copy of the same bytes as a fraction of ours.
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
def best(rs, pred):
    ok = [r for r in rs if r["status"] == "ok" and r["median_ms"] and pred(r)]
    return min(ok, key=lambda r: float(r["median_ms"])) if ok else None
print(f"{'shape':<34} {'lay':<3} {'fp32 ours':<22} {'ms':>8} {'x cuDNN':>7} {'tf32 ours':<17} {'ms':>8} "
      f"{'x cuDNN':>7} {'%copy':>6}")
for (shape, layout), rs in groups.items():
    cols = []
    for prec in ("fp32", "tf32"):
        ours = best(rs, lambda r: r["family"] not in ("cudnn", "baseline") and r["precision"] == prec)
        peer = best(rs, lambda r: r["family"] == "cudnn" and r["precision"] == prec)
        if ours:
            ms = float(ours["median_ms"])
            x = f"{float(peer['median_ms']) / ms:6.2f}x" if peer else f"{'-':>7}"
            cols.append((ours["variant"], f"{ms:8.4g}", x))
        else:
            cols.append(("-", f"{'-':>8}", f"{'-':>7}"))
    copy = best(rs, lambda r: r["family"] == "baseline")
    fastest = best(rs, lambda r: r["family"] not in ("cudnn", "baseline"))
    pc = f"{100 * float(copy['median_ms']) / float(fastest['median_ms']):5.0f}%" if copy and fastest else f"{'-':>6}"
    print(f"{short(shape):<34} {layout:<3} {cols[0][0]:<22} {cols[0][1]} {cols[0][2]} {cols[1][0]:<17} "
          f"{cols[1][1]} {cols[1][2]} {pc}")
PY
    fi
    [ -s "$out/summary.md" ] && echo "gpu-check: the full table is in $out/summary.md" >&2
    exit $status
}
trap finish EXIT
trap 'note "interrupted"; status=1; exit 1' INT TERM

# --- 1. dependencies ----------------------------------------------------------------------------------
declare -A debs_of=([hwloc]="libhwloc-dev libhwloc15" [sqlite3]="libsqlite3-dev libsqlite3-0"
                    [cmocka]="libcmocka-dev libcmocka0")
case $build in
/*) prefix=$build/deps-root ;;
*) prefix=$root_dir/$build/deps-root ;;
esac
fix=".gpu-deps/ is not here: run 'make gpu-deps' where apt works and copy .gpu-deps/ along with the working tree (it is git-ignored)"
unpack() { # unpack the newest .deb of each named package into $prefix
    local p f
    for p in "$@"; do
        f=$(ls -1 .gpu-deps/"${p}"_*.deb 2>/dev/null | sort -V | tail -n 1)
        [ -n "$f" ] || return 1
        mkdir -p "$prefix" && dpkg -x "$f" "$prefix" || return 1
    done
}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
export PATH="$prefix/usr/bin:$PATH"
export PKG_CONFIG_PATH="$prefix/usr/lib/$multiarch/pkgconfig:$prefix/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
export LIBRARY_PATH="$prefix/usr/lib/$multiarch${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$prefix/usr/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
missing=()
if ! command -v pkg-config >/dev/null; then
    if unpack pkgconf-bin libpkgconf3; then ln -sf pkgconf "$prefix/usr/bin/pkg-config"; else missing+=(pkg-config); fi
fi
for pc in hwloc sqlite3; do
    command -v pkg-config >/dev/null && pkg-config --exists "$pc" 2>/dev/null && continue
    # shellcheck disable=SC2086
    if command -v pkg-config >/dev/null && unpack ${debs_of[$pc]} && pkg-config --exists "$pc"; then
        say "$pc: unpacked from .gpu-deps into $prefix"
    else
        missing+=("$pc")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    build_state="not built"
    status=1
    if [ -d .gpu-deps ]; then
        note "cannot build: ${missing[*]} missing here and not in .gpu-deps/: re-run 'make gpu-deps' where apt works and copy .gpu-deps/ again"
    else
        note "cannot build: the ${missing[*]} development files are missing here and $fix"
    fi
    skip_reason="not measured: the build could not start"
    exit 1
fi
have_cmocka=1
if ! pkg-config --exists cmocka 2>/dev/null; then
    if unpack ${debs_of[cmocka]} && pkg-config --exists cmocka; then
        say "cmocka: unpacked from .gpu-deps into $prefix"
    else
        have_cmocka=0
        note "cmocka is missing, so the unit tests are not built: $([ -d .gpu-deps ] && echo "re-run 'make gpu-deps' (cmocka is not in .gpu-deps/)" || echo "$fix")"
    fi
fi

# --- the GPU --------------------------------------------------------------------------------------------
if ! nvidia-smi -L >"$out/gpus.txt" 2>&1; then
    note "nvidia-smi -L failed: no usable NVIDIA GPU here ($(head -n 1 "$out/gpus.txt"))"
    skip_reason="not measured: no GPU"
    status=1
    exit 1
fi
say "GPU: $(head -n 1 "$out/gpus.txt")"

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
# GPU_CHECK_FAST=1: SASS for this GPU only (one nvcc pass per .cu file instead of three).
arch_args=()
arch_text="every architecture of the Makefile"
if [ "$fast" = 1 ]; then
    cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
    if [[ $cc =~ ^[0-9]+$ ]] && "$nvcc_path" --list-gpu-code 2>/dev/null | grep -qx "sm_$cc"; then
        arch_args=("NVCC_ARCH=-gencode arch=compute_$cc,code=sm_$cc")
        arch_text="sm_$cc only (GPU_CHECK_FAST=1)"
    else
        note "GPU_CHECK_FAST: this GPU's compute capability ('$cc') is not one nvcc builds; building every architecture"
    fi
fi
targets=(all)
if [ $have_cmocka = 1 ]; then
    for t in test_cuda test_cudnn test_tc_emulate; do [ -f "tests/unit/$t.c" ] && targets+=("$build/tests/$t"); done
fi
say "building (CUDA=1 ONEDNN=$onednn BUILD=$build, $arch_text, -j$jobs); log in $out/build.log"
b0=$(date +%s)
if make -j"$jobs" BUILD="$build" CUDA=1 ONEDNN="$onednn" FFTW="$fftw" "${cudnn_args[@]}" "${arch_args[@]}" "${targets[@]}" \
    >"$out/build.log" 2>&1; then
    build_state="ok in $(($(date +%s) - b0)) s ($arch_text)"
else
    build_state="FAILED after $(($(date +%s) - b0)) s (last lines of build.log follow)"
    note "the build failed (see $out/build.log)"
    tail -n 30 "$out/build.log" >&2
    status=1
    skip_reason="not measured: the build failed"
    exit 1
fi
say "build: $build_state"

# --- 3. unit tests, side by side -----------------------------------------------------------------------
unit_log() { # one line per test binary from its cmocka log
    local t=$1 rc=$2 log=$out/$1.log ok fails skips hung
    ok=$(grep -c '^\[       OK \]' "$log")
    fails=$(grep '^\[  FAILED  \] [a-z]' "$log" | awk '{print $NF}' | sort -u | tr '\n' ' ')
    skips=$(grep -c '^\[  SKIPPED \] [a-z]' "$log")
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        hung=$(grep '^\[ RUN      \]' "$log" | tail -n 1 | awk '{print $NF}')
        echo "$t: TIMED OUT in ${hung:-?} after $ok passed (see $t.log)"
    elif [ "$rc" = 0 ]; then
        echo "$t: passed ($ok passed, $skips skipped)"
    else
        echo "$t: FAILED ${fails:-(exit $rc)} ($ok passed; see $t.log)"
    fi
}
if [ $have_cmocka = 1 ]; then
    share=$(($(left) / 4))
    [ $share -gt 120 ] && share=120
    [ $share -lt 30 ] && share=30
    say "unit tests, at most $share s each"
    declare -A pids=()
    for t in test_cuda test_cudnn test_tc_emulate; do
        [ -x "$build/tests/$t" ] || continue
        CONV1D_GPU_TEST_BIG=0 timeout -k 5 "$share" "$build/tests/$t" >"$out/$t.log" 2>&1 &
        pids[$t]=$!
    done
    for t in "${!pids[@]}"; do
        wait "${pids[$t]}"
        rc=$?
        line=$(unit_log "$t" $rc)
        unit_results+=("$line")
        say "$line"
        [ $rc = 0 ] || status=1
    done
fi

# --- 4. the machine -----------------------------------------------------------------------------------
say "hw --json --peaks"
timeout -k 5 90 "$tool" hw --json --peaks >"$out/hw.json" 2>"$out/hw.log" || { note "hw --json --peaks failed (see hw.log)"; status=1; }
"$tool" hw >"$out/hw.txt" 2>>"$out/hw.log"

# --- 5. bench, the most telling pairs first ------------------------------------------------------------
reserve=20 # seconds kept for the summary
echo "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err" >"$csv"
log=$out/bench.log
: >"$log"
say "bench: ${#pairs[@]} shape/layout pairs in order of gpu.suite, about $(($(left) - reserve)) s; log in $log"
spent=0
while [ $next_pair -lt ${#pairs[@]} ]; do
    p=${pairs[$next_pair]}
    shape=${p%|*} layout=${p##*|}
    avail=$(($(left) - reserve))
    # the next pair must fit: at least 30 s, and at least the mean of the pairs so far
    need=30
    [ ${#measured[@]} -gt 0 ] && [ $((spent / ${#measured[@]})) -gt $need ] && need=$((spent / ${#measured[@]}))
    if [ $avail -lt $need ]; then
        say "bench: $avail s left, a pair takes about $need s: stopping"
        break
    fi
    echo "== $shape ($layout)" >>"$log"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    timeout -k 5 "$avail" "$tool" bench --shape "$shape" --layout "$layout" --device cuda --copy --csv $bench_args \
        2>>"$log" >"$out/.bench-one.csv"
    rc=$?
    dt=$(($(date +%s) - t0))
    next_pair=$((next_pair + 1))
    if [ $rc = 0 ]; then
        tail -n +2 "$out/.bench-one.csv" | sed "s|^|\"$shape\",$layout,|" >>"$csv"
        measured+=("$shape ($layout)")
        spent=$((spent + dt))
        say "bench: $shape ($layout) in $dt s"
    else
        failed+=("$shape ($layout): exit status $rc after $dt s (see bench.log)")
        echo "== bench exited with status $rc on $shape ($layout)" >>"$log"
        say "bench: $shape ($layout) FAILED (status $rc)"
    fi
done
rm -f "$out/.bench-one.csv"
[ ${#measured[@]} -gt 0 ] || { note "no bench run worked (see $log)"; status=1; }

# --- 6. a short sweep, with time to spare ---------------------------------------------------------------
sweep_s=$(($(left) - reserve))
if [ $sweep_s -ge 60 ]; then
    say "sweep --device cuda --quick into $out/gpu.db (at most $sweep_s s)"
    rm -f "$out/gpu.db" "$out/gpu.db-wal" "$out/gpu.db-shm"
    timeout -k 5 $((sweep_s + 10)) "$tool" sweep --suite "$suite" --device cuda --db "$out/gpu.db" --quick \
        --total-budget "$sweep_s" >"$out/sweep.log" 2>&1 || note "the sweep did not finish (see sweep.log)"
    "$tool" winners --db "$out/gpu.db" >"$out/winners.txt" 2>&1 || note "winners failed (see winners.txt)"
else
    note "no sweep: $sweep_s s left (it needs 60)"
fi
exit $status
