#!/usr/bin/env python3
"""Summarises a `make bench` (or `make gpu-check`) CSV: per shape and layout, each correct variant's speed
relative to its peer timed in the same run and, where the copy yardstick ran, its bandwidth as a fraction of a
copy of the same bytes; then the geometric mean per variant across the suite.

The peer of a CPU row is oneDNN in the row's precision class (`onednn`, `onednn_bf16`, `onednn_f16`). The peer of a CUDA row is the fastest correct cuDNN
variant (family `cudnn`) of the row's precision class on the same shape and layout, so fp32 kernels are
measured against cuDNN's best fp32 algorithm and tf32 ones against its best tf32 algorithm."""
import argparse
import csv
import math
import sys
from collections import defaultdict

CPU_PEER = "onednn"
CUDA_PEER_FAMILY = "cudnn"
COPY = "copy"


def device_of(r):
    """The row's device; CSVs without a device column are CPU runs, except for the CUDA families' names."""
    dev = r.get("device") or ""
    if dev:
        return dev
    return "cuda" if r["variant"].startswith(("cuda", "cudnn")) else "cpu"


def precision_of(r):
    return r.get("precision") or ("tf32" if "tf32" in r["variant"] else "fp32")


def family_of(r):
    return r.get("family") or ("cudnn" if r["variant"].startswith("cudnn") else "")


def ok_ms(r):
    try:
        ms = float(r["median_ms"]) if r and r["status"] == "ok" else None
    except (TypeError, ValueError):
        return None
    return ms if ms and ms > 0 else None


def cpu_peer(prec):
    """The CPU peer's name for a precision class (core/verdict.c, c1_cpu_peer_name)."""
    return CPU_PEER if prec == "fp32" else f"{CPU_PEER}_{prec}"


def peer_times(variants):
    """(device, precision) -> (peer name, peer median ms) for one shape and layout."""
    peers = {}
    for name, r in variants.items():
        ms = ok_ms(r)
        if ms is None:
            continue
        dev, prec = device_of(r), precision_of(r)
        is_peer = name == cpu_peer(prec) if dev == "cpu" else family_of(r) == CUDA_PEER_FAMILY
        if is_peer and ((dev, prec) not in peers or ms < peers[(dev, prec)][1]):
            peers[(dev, prec)] = (name, ms)
    return peers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", help="CSV written by scripts/bench.sh or scripts/gpu-check.sh")
    args = ap.parse_args()
    try:
        with open(args.csv, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print(f"bench_summary: cannot read {args.csv}: {e.strerror}", file=sys.stderr)
        return 2
    groups = defaultdict(dict)
    for r in rows:
        groups[(r["shape"], r["layout"])][r["variant"]] = r
    ratios = defaultdict(list)
    peer_names = defaultdict(set)
    print(f"{'layout':6} {'variant':24} {'status':11} {'median_ms':>10} {'GFLOP/s':>9} {'GB/s':>8} {'%copy':>6} "
          f"{'vs_onednn':>9} {'vs_cudnn':>9}  shape")
    for (shape, layout), variants in groups.items():
        peers = peer_times(variants)
        copy_ms = ok_ms(variants.get(COPY))
        for name, r in sorted(variants.items(), key=lambda kv: ok_ms(kv[1]) or math.inf):
            ms = ok_ms(r)
            if ms is None:
                print(f"{layout:6} {name:24} {r['status']:11} {'-':>10} {'-':>9} {'-':>8} {'-':>6} {'-':>9} {'-':>9}"
                      f"  {shape}")
                continue
            of_copy = f"{100 * copy_ms / ms:.0f}%" if copy_ms else "-"
            if name == COPY:
                print(f"{layout:6} {name:24} {'ok':11} {ms:10.4g} {'-':>9} {float(r['gbs']):8.2f} {of_copy:>6} "
                      f"{'-':>9} {'-':>9}  {shape}")
                continue
            dev = device_of(r)
            peer = peers.get((dev, precision_of(r)))
            ratio = peer[1] / ms if peer else None
            if ratio:
                ratios[(dev, name)].append(ratio)
                peer_names[(dev, name)].add(peer[0])
            vs = f"{ratio:.2f}x" if ratio else "-"
            vs_cpu, vs_cuda = (vs, "-") if dev == "cpu" else ("-", vs)
            print(f"{layout:6} {name:24} {'ok':11} {ms:10.4g} {float(r['gflops']):9.2f} {float(r['gbs']):8.2f} "
                  f"{of_copy:>6} {vs_cpu:>9} {vs_cuda:>9}  {shape}")
    for dev, what in (("cpu", "oneDNN"), ("cuda", "the best cuDNN algorithm of the same precision class")):
        sel = {name: rs for (d, name), rs in ratios.items() if d == dev}
        if not sel:
            continue
        print(f"\ngeometric mean of speed relative to {what} (same run, same shape):")
        for name, rs in sorted(sel.items()):
            gm = math.exp(sum(math.log(x) for x in rs) / len(rs))
            print(f"  {name:24} {gm:6.2f}x over {len(rs)} shape/layout pairs (min {min(rs):.2f}x, max {max(rs):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
