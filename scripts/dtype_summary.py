#!/usr/bin/env python3
"""The 16-bit classes against fp32 (`make bench`): per shape and layout of two bench CSVs of the same suite
(scripts/bench.sh, one run with the shapes in float32, one with `--dtype bf16` or `f16`), the fastest
correct variant of each class, the 16-bit one's speed over the fp32 one (the issue's figure: bf16 against
the best fp32 variant of the same shape) and over oneDNN of its own class, and how close each gets to a copy
of its own bytes. Then the geometric means, and the pairs below a goal (--goal, default 1.7x).

    scripts/dtype_summary.py F32.csv BF16.csv [--goal 1.7]
"""
import argparse
import csv
import math
import sys
from collections import defaultdict


def ok_ms(r):
    try:
        ms = float(r["median_ms"]) if r and r["status"] == "ok" else None
    except (TypeError, ValueError):
        return None
    return ms if ms and ms > 0 else None


def load(path):
    groups = defaultdict(dict)
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            groups[(r["shape"], r["layout"])][r["variant"]] = r
    return groups


def best(variants, prec):
    """(name, ms) of the fastest correct variant of class prec, the copy yardstick left out."""
    cands = [(ok_ms(r), n) for n, r in variants.items()
             if n != "copy" and (r.get("precision") or "fp32") == prec and ok_ms(r)]
    return (min(cands)[1], min(cands)[0]) if cands else (None, None)


def gmean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("f32_csv")
    ap.add_argument("half_csv")
    ap.add_argument("--goal", type=float, default=1.7, help="the speed over fp32 a 16-bit pair should reach")
    args = ap.parse_args()
    try:
        f32, half = load(args.f32_csv), load(args.half_csv)
    except OSError as e:
        print(f"dtype_summary: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    prec = next((r.get("precision") for v in half.values() for r in v.values()
                 if r.get("precision") in ("bf16", "f16")), None)
    if not prec:
        print(f"dtype_summary: {args.half_csv} has no bf16 or f16 row", file=sys.stderr)
        return 2
    peer = f"onednn_{prec}"
    print(f"{'layout':6} {'best fp32':26} {'ms':>9} {'best ' + prec:26} {'ms':>9} {'vs fp32':>8} "
          f"{'vs ' + peer:>16} {'%copy':>6}  shape")
    over_fp32, over_peer, below = [], [], []
    for key in sorted(half, key=lambda k: (k[0], k[1])):
        shape, layout = key
        n32, t32 = best(f32.get(key, {}), "fp32")
        n16, t16 = best(half[key], prec)
        if not n16:
            print(f"{layout:6} {'-' if not n32 else n32:26} {'-':>9} {'(none correct)':26}  {shape}")
            continue
        speed = t32 / t16 if t32 else None
        pm = ok_ms(half[key].get(peer))
        vs_peer = pm / t16 if pm else None
        copy = ok_ms(half[key].get("copy"))
        if speed:
            over_fp32.append(speed)
            if speed < args.goal:
                below.append((speed, layout, shape))
        if vs_peer:
            over_peer.append(vs_peer)
        print(f"{layout:6} {n32 or '-':26} {t32 or float('nan'):9.4g} {n16:26} {t16:9.4g} "
              f"{(f'{speed:.2f}x' if speed else '-'):>8} {(f'{vs_peer:.2f}x' if vs_peer else 'unsupported'):>16} "
              f"{(f'{100 * copy / t16:.0f}%' if copy else '-'):>6}  {shape}")
    print(f"\n{prec} over the best fp32 variant: geometric mean {gmean(over_fp32):.2f}x over {len(over_fp32)} pairs"
          + (f" (min {min(over_fp32):.2f}x, max {max(over_fp32):.2f}x)" if over_fp32 else ""))
    if over_peer:
        print(f"{prec} over {peer} (where oneDNN has an optimized path): geometric mean {gmean(over_peer):.2f}x "
              f"over {len(over_peer)} pairs (min {min(over_peer):.2f}x)")
    else:
        print(f"{peer}: no optimized path on this machine (reported unsupported)")
    print(f"below {args.goal:.2f}x over fp32: {len(below)} of {len(over_fp32)}")
    for speed, layout, shape in sorted(below):
        print(f"  {speed:.2f}x  {layout}  {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
