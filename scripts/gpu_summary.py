#!/usr/bin/env python3
"""Summarises a `make gpu-check` bench CSV as Markdown: the hand-written CUDA kernels against cuDNN.

    gpu_summary.py BENCH.csv [--hw HW.json] [--skipped LIST]   (or --bench BENCH.csv, as gpu_check.sh calls it)

BENCH.csv has the columns shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,
gbs,rel_err, with rows of the cuDNN algorithms (family cudnn), the hand-written kernels (families cuda_*) and
the `copy` yardstick. HW.json is `conv1d-tune hw --json --peaks`; the first GPU's fp32 FMA GFLOP/s and copy
GB/s ceilings are read from it where present (cuda.gpus[0].peaks), and left out of the table where not.

Per shape and layout: the fastest correct fp32 hand-written kernel, the fastest correct fp32 cuDNN algorithm,
their ratio (cuDNN time over the kernel's: above 1 the kernel is faster), the same for the tf32 class (the
tensor-core kernels against cuDNN's TF32 algorithms: what PyTorch runs by default), and how close the fp32
kernel comes to the machine: depthwise layers (memory-bound) as a percentage of
the copy row's speed on the same bytes, other layers as a percentage of the fp32 FMA peak. Then, over the
suite: the geometric mean of best cuDNN fp32 time over the tuned fp32 winner's time (the fastest fp32 variant
of all, cuDNN included, so at least 1), the number of shapes where the best hand-written kernel is slower than
cuDNN, the geometric mean of cuDNN over the hand-written kernel on depthwise shapes, and the tf32 class's
geometric mean. LIST (one line per shape/layout pair gpu-check did not measure, with the reason) is copied
into a last section, so the summary says what was skipped as well as what was measured.

Exit status: 0 ok, 2 unreadable or malformed input."""
import argparse
import csv
import json
import math
import re
import sys
from collections import defaultdict

COLUMNS = ["shape", "layout", "variant", "family", "device", "precision", "status", "median_ms", "gflops"]
CUDNN = "cudnn"
HAND_PREFIX = "cuda_"
COPY = "copy"


class InputError(Exception):
    pass


def shape_fields(shape):
    """The integer fields of a canonical (key=value) or benchdnn descriptor; {} when neither parses."""
    fields = {}
    for k, v in re.findall(r"([a-z_]+)\s*=\s*(\d+)", shape):
        fields[k] = int(v)
    if "groups" in fields and "num_groups" not in fields:
        fields["num_groups"] = fields["groups"]
    if not fields:  # benchdnn: g64mb8ic64iw4096oc64...
        for k, v in re.findall(r"(g|ic)(\d+)", shape.replace("_", "")):
            fields.setdefault({"g": "num_groups", "ic": "in_channels"}[k], int(v))
    return fields


def is_depthwise(shape, hand_family=None):
    f = shape_fields(shape)
    if "num_groups" in f and "in_channels" in f:
        return f["num_groups"] == f["in_channels"] and f["num_groups"] > 1
    return hand_family == "cuda_depthwise"  # a shape text we cannot read: trust the kernel that ran it


def gpu_peaks(hw):
    """(fp32 FMA GFLOP/s, copy GB/s) of the first GPU in a `conv1d-tune hw --json --peaks` record; None where
    absent or not a positive number."""
    def positive(x):
        return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 else None

    gpus = None
    if isinstance(hw, dict):
        cuda = hw.get("cuda")
        gpus = cuda.get("gpus") if isinstance(cuda, dict) else None
        if gpus is None:
            gpus = hw.get("gpus")
    if not isinstance(gpus, list) or not gpus or not isinstance(gpus[0], dict):
        return None, None
    peaks = gpus[0].get("peaks")
    if not isinstance(peaks, dict):
        return None, None
    return positive(peaks.get("fma_gflops")), positive(peaks.get("copy_gbs"))


def ok_ms(r):
    if r.get("status") != "ok":
        return None
    try:
        ms = float(r.get("median_ms") or "nan")
    except ValueError:
        return None
    return ms if ms > 0 and math.isfinite(ms) else None


def fastest(rows, pred):
    best = None
    for r in rows:
        ms = ok_ms(r)
        if ms is not None and pred(r) and (best is None or ms < best[1]):
            best = (r, ms)
    return best


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(rows, fma_gflops=None, copy_gbs=None):
    """Per (shape, layout) entries and the suite's aggregates, as plain data."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["shape"], r["layout"])].append(r)
    entries = []
    for (shape, layout), rs in groups.items():
        fp32 = [r for r in rs if r.get("precision") == "fp32" and r["variant"] != COPY]
        hand = fastest(fp32, lambda r: r["family"].startswith(HAND_PREFIX))
        cudnn = fastest(fp32, lambda r: r["family"] == CUDNN)
        tf32 = fastest(rs, lambda r: r["family"] == CUDNN and r.get("precision") == "tf32")
        hand_tf32 = fastest(rs, lambda r: r["family"].startswith(HAND_PREFIX) and r.get("precision") == "tf32")
        winner = fastest(fp32, lambda r: r["family"] == CUDNN or r["family"].startswith(HAND_PREFIX))
        copy = fastest(rs, lambda r: r["variant"] == COPY)
        e = {"shape": shape, "layout": layout, "depthwise": is_depthwise(shape, hand[0]["family"] if hand else None),
             "hand": hand[0]["variant"] if hand else None, "hand_ms": hand[1] if hand else None,
             "cudnn": cudnn[0]["variant"] if cudnn else None, "cudnn_ms": cudnn[1] if cudnn else None,
             "tf32": tf32[0]["variant"] if tf32 else None, "tf32_ms": tf32[1] if tf32 else None,
             "hand_tf32": hand_tf32[0]["variant"] if hand_tf32 else None,
             "hand_tf32_ms": hand_tf32[1] if hand_tf32 else None,
             "ratio_tf32": tf32[1] / hand_tf32[1] if tf32 and hand_tf32 else None,
             "winner": winner[0]["variant"] if winner else None, "winner_ms": winner[1] if winner else None,
             "copy_ms": copy[1] if copy else None, "ratio": None, "roof": None, "roof_of": None}
        if hand and cudnn:
            e["ratio"] = cudnn[1] / hand[1]
        if hand and e["depthwise"] and copy:
            e["roof"], e["roof_of"] = 100.0 * copy[1] / hand[1], "copy"
        elif hand and not e["depthwise"] and fma_gflops:
            try:
                gf = float(hand[0].get("gflops") or "nan")
            except ValueError:
                gf = math.nan
            if math.isfinite(gf) and gf > 0:
                e["roof"], e["roof_of"] = 100.0 * gf / fma_gflops, "fp32 peak"
        entries.append(e)
    vs_winner = [e["cudnn_ms"] / e["winner_ms"] for e in entries if e["cudnn_ms"] and e["winner_ms"]]
    both = [e for e in entries if e["ratio"] is not None]
    dw = [e["ratio"] for e in both if e["depthwise"]]
    tf32_both = [e["ratio_tf32"] for e in entries if e["ratio_tf32"] is not None]
    return {
        "entries": entries,
        "fma_gflops": fma_gflops,
        "copy_gbs": copy_gbs,
        "tuned_vs_cudnn_geomean": geomean(vs_winner),
        "tuned_vs_cudnn_shapes": len(vs_winner),
        "hand_slower_count": sum(1 for e in both if e["ratio"] < 1.0),
        "hand_compared": len(both),
        "hand_vs_cudnn_geomean": geomean([e["ratio"] for e in both]),
        "depthwise_geomean": geomean(dw),
        "depthwise_shapes": len(dw),
        "tf32_hand_vs_cudnn_geomean": geomean(tf32_both),
        "tf32_compared": len(tf32_both),
        "tf32_hand_slower_count": sum(1 for x in tf32_both if x < 1.0),
    }


def ms_text(ms):
    return f"{ms:.4g}" if ms is not None else "-"


def markdown(s, skipped=None):
    out = ["# GPU kernels against cuDNN", ""]
    peaks = []
    if s["fma_gflops"]:
        peaks.append(f"fp32 FMA peak {s['fma_gflops']:.0f} GFLOP/s")
    if s["copy_gbs"]:
        peaks.append(f"device copy {s['copy_gbs']:.0f} GB/s")
    out.append("Measured ceilings of GPU 0: " + (", ".join(peaks) if peaks else "not available") + ". "
               "Times are medians in ms; cuDNN/kernel above 1 means the hand-written kernel is faster. "
               "Depthwise rows compare the kernel with the copy of the same bytes, the others with the fp32 peak.")
    out.append("")
    out.append("| shape | layout | fastest CUDA kernel (fp32) | ms | best cuDNN fp32 | ms | cuDNN/kernel | "
               "fastest CUDA kernel (tf32) | ms | best cuDNN tf32 | ms | cuDNN/kernel (tf32) | kernel vs roof |")
    out.append("|---|---|---|---:|---|---:|---:|---|---:|---|---:|---:|---:|")
    for e in s["entries"]:
        ratio = f"{e['ratio']:.2f}x" if e["ratio"] is not None else "-"
        ratio_tf32 = f"{e['ratio_tf32']:.2f}x" if e["ratio_tf32"] is not None else "-"
        roof = f"{e['roof']:.0f}% of {e['roof_of']}" if e["roof"] is not None else "-"
        shape = e["shape"].replace("|", "\\|") + (" (depthwise)" if e["depthwise"] else "")
        out.append(f"| {shape} | {e['layout']} | {e['hand'] or '-'} | {ms_text(e['hand_ms'])} | {e['cudnn'] or '-'} | "
                   f"{ms_text(e['cudnn_ms'])} | {ratio} | {e['hand_tf32'] or '-'} | {ms_text(e['hand_tf32_ms'])} | "
                   f"{e['tf32'] or '-'} | {ms_text(e['tf32_ms'])} | {ratio_tf32} | {roof} |")
    out.append("")

    def gm(x):
        return f"{x:.2f}x" if x is not None else "n/a"

    out.append(f"- Tuned fp32 winner (fastest fp32 variant, cuDNN included) vs best cuDNN fp32: geometric mean "
               f"{gm(s['tuned_vs_cudnn_geomean'])} over {s['tuned_vs_cudnn_shapes']} shape/layout pairs.")
    out.append(f"- Hand-written kernel slower than the best cuDNN fp32 algorithm on {s['hand_slower_count']} of "
               f"{s['hand_compared']} shape/layout pairs "
               f"(geometric mean cuDNN/kernel {gm(s['hand_vs_cudnn_geomean'])}).")
    out.append(f"- Depthwise: cuDNN/kernel geometric mean {gm(s['depthwise_geomean'])} over {s['depthwise_shapes']} "
               f"shape/layout pairs.")
    out.append(f"- tf32 class (tensor cores): the fastest hand-written kernel is slower than the best cuDNN TF32 "
               f"algorithm on {s['tf32_hand_slower_count']} of {s['tf32_compared']} shape/layout pairs (geometric mean "
               f"cuDNN/kernel {gm(s['tf32_hand_vs_cudnn_geomean'])}).")
    if skipped:
        out += ["", f"## Not measured ({len(skipped)})", ""]
        out += [f"- {line}" for line in skipped]
    return "\n".join(out) + "\n"


def read_rows(path):
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path} lacks the column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}")


def read_hw(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not JSON: {e.msg} at line {e.lineno}")


def read_lines(path):
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="?", help="bench CSV written by make gpu-check")
    ap.add_argument("--bench", help="the same CSV, as an option")
    ap.add_argument("--hw", help="conv1d-tune hw --json --peaks output (GPU ceilings)")
    ap.add_argument("--skipped", help="lines 'shape (layout): reason' of the pairs not measured")
    args = ap.parse_args(argv)
    if bool(args.csv) == bool(args.bench):
        ap.error("give the bench CSV once: as the argument or with --bench")
    try:
        rows = read_rows(args.csv or args.bench)
        fma, copy = gpu_peaks(read_hw(args.hw)) if args.hw else (None, None)
        skipped = read_lines(args.skipped) if args.skipped else []
    except InputError as e:
        print(f"gpu_summary: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(summarize(rows, fma, copy), skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
