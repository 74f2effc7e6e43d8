#!/usr/bin/env python3
"""How good is the dispatcher's pick for a shape nobody tuned?

From one tuned database, every other suite line (by --every; both layouts) is removed in a copy: its measurements and winners
are deleted. For each removed shape the dispatcher (`conv1d-tune run` without --variant, reading the copy)
picks a variant by nearest tuned shape or rules; the pick's median from the original sweep is compared
with that shape's winner median from the same sweep. Both times come from one sweep, so no re-timing
noise enters the ratio.

    scripts/fallback_quality.py --db results/conv1d.db [--tool build/bin/conv1d-tune] [--every 2]
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np


def shapes_with_winners(con):
    return con.execute(
        "SELECT s.id, s.key, s.batch, s.length, s.in_channels, s.out_channels, s.kernel_size, s.num_groups, "
        "s.has_bias, s.layout, w.variant, w.median_ms FROM winners w JOIN shapes s ON s.id = w.shape_id "
        "WHERE w.stale = 0 AND w.device = 'cpu' AND w.precision = 'fp32' ORDER BY s.id").fetchall()


def pick(tool, db, row, tmp):
    """The dispatcher's choice for this shape with `db`, through `conv1d-tune run --verbose`."""
    _, key, n, length, cin, cout, k, groups, bias, layout, _, _ = row
    shape_x = (n, length, cin) if layout == "nwc" else (n, cin, length)
    shape_w = (k, cin // groups, cout) if layout == "nwc" else (cout, cin // groups, k)
    rng = np.random.default_rng(0)
    np.save(os.path.join(tmp, "x.npy"), rng.standard_normal(shape_x, dtype=np.float32))
    np.save(os.path.join(tmp, "w.npy"), rng.standard_normal(shape_w, dtype=np.float32))
    args = [tool, "run", "--shape", key, "--db", db, "--x", os.path.join(tmp, "x.npy"), "--w",
            os.path.join(tmp, "w.npy"), "--y", os.path.join(tmp, "y.npy"), "--verbose"]
    if bias:
        np.save(os.path.join(tmp, "b.npy"), rng.standard_normal((cout,), dtype=np.float32))
        args += ["--b", os.path.join(tmp, "b.npy")]
    r = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "CONV1D_VERBOSE": "0"})
    if r.returncode != 0:
        sys.exit(f"fallback_quality: run failed on {key}: {r.stderr.strip()}")
    fields = dict(line.split(":", 1) for line in r.stderr.splitlines() if ":" in line)
    return fields["variant"].strip(), fields.get("chosen", "").strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="results/conv1d.db")
    ap.add_argument("--tool", default="build/bin/conv1d-tune")
    ap.add_argument("--every", type=int, default=2, help="leave out every N-th tuned shape (default 2)")
    a = ap.parse_args()
    if not os.path.exists(a.db):
        sys.exit(f"fallback_quality: no database at {a.db}")
    tmp = tempfile.mkdtemp(prefix="fallback-")
    half = os.path.join(tmp, "half.db")
    src = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    rows = shapes_with_winners(src)
    # Whole suite lines (a shape in both layouts: consecutive ids) are left out together, so a left-out
    # shape cannot borrow its own other layout's winner and both layouts keep tuned neighbours.
    left_out = [r for i, r in enumerate(rows) if (i // 2) % a.every == 1]
    dst = sqlite3.connect(half)
    src.backup(dst)
    for row in left_out:
        dst.execute("DELETE FROM winners WHERE shape_id = ?", (row[0],))
        dst.execute("DELETE FROM measurements WHERE shape_id = ?", (row[0],))
    dst.commit()
    dst.close()
    ratios = []
    print(f"{'ratio':>6}  {'pick':24} {'winner':24} shape / why")
    for row in left_out:
        variant, why = pick(a.tool, half, row, tmp)
        t = src.execute("SELECT median_ms FROM measurements WHERE shape_id = ? AND variant = ? AND status = 'ok' "
                        "ORDER BY id DESC LIMIT 1", (row[0], variant)).fetchone()
        if t is None:
            print(f"{'-':>6}  {variant:24} {row[10]:24} {row[1]} (pick not timed in the sweep)")
            continue
        ratio = t[0] / row[11]
        ratios.append(ratio)
        print(f"{ratio:6.2f}  {variant:24} {row[10]:24} {row[1]}\n        {why}")
    src.close()
    shutil.rmtree(tmp)
    if ratios:
        q = np.percentile(ratios, [0, 25, 50, 75, 90, 100])
        print(f"\n{len(ratios)} left-out shapes: pick time / best time: min {q[0]:.2f}, p25 {q[1]:.2f}, "
              f"median {q[2]:.2f}, p75 {q[3]:.2f}, p90 {q[4]:.2f}, max {q[5]:.2f}; "
              f"within 10% of the best: {sum(r <= 1.10 for r in ratios)}/{len(ratios)}")


if __name__ == "__main__":
    main()
