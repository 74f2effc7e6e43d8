#!/usr/bin/env python3
"""Summarises a `make bench` CSV: per shape and layout, each correct variant's speed relative to oneDNN's
(the `onednn` variant, timed in the same run) and, where the copy yardstick ran, its bandwidth as a
fraction of a copy of the same bytes; then the geometric mean per variant across the suite."""
import argparse
import csv
import math
import sys
from collections import defaultdict

PEER = "onednn"
COPY = "copy"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv", help="CSV written by scripts/bench.sh")
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
    print(f"{'layout':6} {'variant':24} {'status':11} {'median_ms':>10} {'GFLOP/s':>9} {'GB/s':>8} {'%copy':>6} "
          f"{'vs_onednn':>9}  shape")
    for (shape, layout), variants in groups.items():
        peer = variants.get(PEER)
        peer_ms = float(peer["median_ms"]) if peer and peer["status"] == "ok" else None
        copy = variants.get(COPY)
        copy_ms = float(copy["median_ms"]) if copy and copy["status"] == "ok" else None
        for name, r in sorted(variants.items(), key=lambda kv: float(kv[1]["median_ms"] or "inf")):
            if r["status"] != "ok":
                print(f"{layout:6} {name:24} {r['status']:11} {'-':>10} {'-':>9} {'-':>8} {'-':>6} {'-':>9}  {shape}")
                continue
            ms = float(r["median_ms"])
            of_copy = f"{100 * copy_ms / ms:.0f}%" if copy_ms else "-"
            if name == COPY:
                print(f"{layout:6} {name:24} {'ok':11} {ms:10.4g} {'-':>9} {float(r['gbs']):8.2f} {of_copy:>6} {'-':>9}  {shape}")
                continue
            ratio = peer_ms / ms if peer_ms else None
            if ratio:
                ratios[name].append(ratio)
            vs = f"{ratio:.2f}x" if ratio else "-"
            print(f"{layout:6} {name:24} {'ok':11} {ms:10.4g} {float(r['gflops']):9.2f} {float(r['gbs']):8.2f} "
                  f"{of_copy:>6} {vs:>9}  {shape}")
    print("\ngeometric mean of speed relative to oneDNN (same run, same shape):")
    for name, rs in sorted(ratios.items()):
        gm = math.exp(sum(math.log(x) for x in rs) / len(rs))
        print(f"  {name:24} {gm:6.2f}x over {len(rs)} shape/layout pairs (min {min(rs):.2f}x, max {max(rs):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
