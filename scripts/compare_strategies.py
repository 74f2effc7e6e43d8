#!/usr/bin/env python3
"""Compares the sweep's search strategies on a suite: each strategy sweeps the suite into its own
database, then for every shape the winner's time is compared with the exhaustive sweep's best, and the
winner is re-timed against that best in one `bench` run so both are measured side by side.

Prints a table: strategy, sweep time, and the fraction of the exhaustive best each strategy's winners
reach (geometric mean and worst shape).

    scripts/compare_strategies.py --tool build/bin/conv1d-tune --suite autotune/suites/bench.suite \
        [--budget 3] [--cheap-budget 1] [--out DIR]
"""
import argparse
import csv
import io
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time


def sweep(tool, suite, db, strategy, budget):
    start = time.monotonic()
    r = subprocess.run([tool, "sweep", "--suite", suite, "--db", db, "--strategy", strategy, "--budget",
                        str(budget), "--device", "cpu", "--seed", "1"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_strategies: sweep --strategy {strategy} failed: {r.stderr.strip()}")
    return time.monotonic() - start


def winners(db):
    """shape key -> winning variant of the current fp32 winners: the store's current_winners view, or the join it
    makes in a file older than the view."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'current_winners'").fetchone():
            return dict(con.execute("SELECT key, variant FROM current_winners WHERE precision = 'fp32'"))
        return dict(con.execute("SELECT s.key, w.variant FROM winners w JOIN shapes s ON s.id = w.shape_id "
                                "WHERE w.stale = 0 AND w.precision = 'fp32'"))
    finally:
        con.close()


def side_by_side(tool, shape, variants):
    """Medians of the given variants timed in one bench run (interleaved rounds)."""
    args = [tool, "bench", "--shape", shape, "--csv", "--budget", "1", "--rounds", "3", "--seed", "2"]
    for v in sorted(set(variants)):
        args += ["--variant", v]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_strategies: bench failed on {shape}: {r.stderr.strip()}")
    return {row["variant"]: float(row["median_ms"]) for row in csv.DictReader(io.StringIO(r.stdout))
            if row["status"] == "ok"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default="build/bin/conv1d-tune")
    ap.add_argument("--suite", default="autotune/suites/bench.suite")
    ap.add_argument("--budget", type=float, default=3.0, help="exhaustive sweep's seconds per shape")
    ap.add_argument("--cheap-budget", type=float, default=1.0, help="random and halving seconds per shape")
    ap.add_argument("--out", help="folder for the databases (default: a temporary one)")
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="strategies-")
    os.makedirs(out, exist_ok=True)
    plan = [("exhaustive", a.budget), ("exhaustive", a.cheap_budget), ("random", a.cheap_budget),
            ("halving", a.cheap_budget)]
    results = []
    for strategy, budget in plan:
        db = os.path.join(out, f"{strategy}-{budget:g}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        results.append((strategy, budget, sweep(a.tool, a.suite, db, strategy, budget), winners(db)))
    reference = results[0][3]
    fractions = {i: [] for i in range(1, len(results))}
    for shape, best in reference.items():
        picks = {i: results[i][3].get(shape) for i in fractions}
        times = side_by_side(a.tool, shape, [best] + [p for p in picks.values() if p])
        for i, pick in picks.items():
            if pick in times and best in times:
                fractions[i].append(times[best] / times[pick])
    print(f"{'strategy':12} {'budget/shape':>12} {'sweep time':>10} {'shapes':>6} {'geomean of best':>15} {'worst':>6}")
    print(f"{'exhaustive':12} {a.budget:11.1f}s {results[0][2]:9.1f}s {len(reference):6d} {'1.000 (reference)':>15}")
    for i, fr in fractions.items():
        strategy, budget, seconds, _ = results[i]
        gm = math.exp(sum(math.log(min(f, 1.0)) for f in fr) / len(fr)) if fr else float("nan")
        worst = min(fr) if fr else float("nan")
        print(f"{strategy:12} {budget:11.1f}s {seconds:9.1f}s {len(fr):6d} {gm:15.3f} {worst:6.3f}")
    print("\n(fraction = exhaustive winner's median / this strategy's winner's median, both re-timed in one bench"
          " run; values above 1 are noise and count as 1)")


if __name__ == "__main__":
    main()
