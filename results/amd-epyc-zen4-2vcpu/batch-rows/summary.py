#!/usr/bin/env python3
"""The run.sh CSV as a table: per shape, layout, dtype and ISA level, the best own variant of each build and oneDNN."""
import csv
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1])))
best = defaultdict(lambda: (float("inf"), ""))
dnn = {}
for r in rows:
    key = (r["shape"], r["layout"], r["dtype"], r["isa"], r["build"])
    t = float(r["median_ms"])
    if r["variant"].startswith("onednn"):
        dnn[key] = min(t, dnn.get(key, float("inf")))
    elif t < best[key][0]:
        best[key] = (t, r["variant"])
print(f"{'shape':<52} {'layout':<4} {'dtype':<5} {'isa':<10} {'old ms':>8} {'new ms':>8} {'speedup':>7} {'oneDNN':>8} {'vs oneDNN':>9}  new best")
seen = []
for r in rows:
    k = (r["shape"], r["layout"], r["dtype"], r["isa"])
    if k in seen:
        continue
    seen.append(k)
    o, n = best[k + ("old",)], best[k + ("new",)]
    d = dnn.get(k + ("new",), float("nan"))
    short = r["shape"].replace("in_channels=", "").replace("out_channels=", "").replace("kernel_size=", "k")
    short = short.replace("batch=", "b").replace("length=", "L").replace("stride=", "s").replace("dilation=", "d")
    short = short.replace("pad_left=", "pl").replace("pad_right=", "pr").replace("bias=1", "bias")
    print(f"{short:<52} {r['layout']:<4} {r['dtype']:<5} {r['isa']:<10} {o[0]:8.4f} {n[0]:8.4f} {o[0] / n[0]:6.2f}x {d:8.4f} {d / n[0]:8.2f}x  {n[1]}")
