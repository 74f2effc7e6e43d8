#!/usr/bin/env python3
"""How good is the dispatcher's pick for a shape nobody tuned? A cross-validation nobody can tune to.

From one results database with every variant measured on many shapes (a sweep of the default suite plus
shapes drawn by scripts/gen_shapes.py), a random part of the suite lines (both layouts of a line together)
is held out: a copy of the database loses their measurements and winners and has its time models refitted
(`conv1d-tune fit`). For each held-out shape the dispatcher picks a variant from the copy (`conv1d-tune
describe --plan`, which plans exactly as conv1d_plan_create does), and the pick's median is compared with
the fastest variant's median and oneDNN's on that shape, all three from the same sweep run. A sweep times
each variant once or a few times, one after another, so a variant caught by a busy moment looks slower
than it is; with --timed the pick, the sweep's fastest variant and oneDNN are timed again together in one
`conv1d-tune bench` run (interleaved rounds on the same data) and the ratios come from that run. With
--compare-nearest the same held-out shapes are picked once more without time models (tuned shapes nearby,
then rules).

    scripts/fallback_quality.py --db DB [--tool build/bin/conv1d-tune] [--hold-out 0.5] [--seed 1]
                                [--test-from unseen.suite] [--csv OUT.csv] [--compare-nearest] [--timed]

--test-from SUITE holds out only lines of that suite (e.g. the drawn shapes), so the default suite is
always among what the models learn from, as in a real deployment. Prints per held-out shape the ratio
pick/best and what decided, then the fraction within 1.1x of the best, the p90, the worst, and how many
picks are slower than oneDNN by more than 3%.
"""
import argparse
import csv
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

GOAL_WITHIN = 1.10


def line_of(key):
    """The suite line of a shape key: the key without its layout."""
    return re.sub(r",layout=\w+", "", key)


def measured(con):
    """key -> {variant: median_ms} for the hardware and build with the most ok CPU fp32 measurements."""
    hb = con.execute("SELECT hardware_id, build_id FROM measurements WHERE status = 'ok' AND device = 'cpu' "
                     "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1").fetchone()
    if not hb:
        return {}, None
    rows = con.execute(
        "SELECT s.id, s.key, m.variant, m.median_ms FROM measurements m JOIN shapes s ON s.id = m.shape_id "
        "WHERE m.hardware_id = ? AND m.build_id = ? AND m.status = 'ok' AND m.device = 'cpu' AND "
        "m.precision = 'fp32' AND m.median_ms > 0 ORDER BY m.id", hb).fetchall()
    out = {}
    for sid, key, variant, ms in rows:
        out.setdefault(key, {"id": sid, "times": {}})["times"][variant] = ms  # the newest wins
    return out, hb


def plan(tool, db, key):
    r = subprocess.run([tool, "describe", key, "--plan", "--db", db], capture_output=True, text=True,
                       env={**os.environ, "CONV1D_VERBOSE": "0"})
    if r.returncode != 0:
        sys.exit(f"fallback_quality: describe --plan failed on {key}: {r.stderr.strip()}")
    fields = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    return fields["plan"].strip(), fields["chosen"].strip()


def retime(tool, key, variants, budget=1.0, rounds=5):
    """{variant: median_ms} of variants timed together in one `conv1d-tune bench` run (interleaved rounds, the
    same data and threads), the ones that were correct and finished."""
    args = [tool, "bench", "--shape", key, "--csv", "--budget", str(budget), "--rounds", str(rounds)]
    for v in dict.fromkeys(variants):
        args += ["--variant", v]
    r = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "CONV1D_VERBOSE": "0"})
    if r.returncode != 0:
        sys.exit(f"fallback_quality: bench failed on {key}: {r.stderr.strip()}")
    out = {}
    for row in csv.DictReader(r.stdout.splitlines()):
        if row["status"] == "ok" and row["median_ms"]:
            out[row["variant"]] = float(row["median_ms"])
    return out


def decided_by(why):
    if "time model:" in why:
        return "model"
    if "nearby, the nearest tuned shape" in why:
        return "neighbours"
    if "heuristic" in why:
        return "rules"
    return "other"


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    i = (len(xs) - 1) * q / 100
    lo = int(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)


def cross_validate(db, tool, hold_out=0.5, seed=1, test_from=None, use_models=True, timed=False):
    """Rows (key, pick, best, best_ms, pick_ms, onednn_ms, ratio, vs_onednn, decided, why), one per held-out
    shape. The times are the sweep's, or with `timed` those of the pick, the sweep's fastest variant and oneDNN
    timed again together in one bench run (best: the faster of the pick and the sweep's fastest there)."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    shapes, hb = measured(src)
    if not shapes:
        src.close()
        return []
    lines = sorted({line_of(k) for k in shapes})
    eligible = lines
    if test_from:
        wanted = [line_of(re.sub(r"\s*#.*", "", ln).strip()) for ln in open(test_from)]
        wanted = [w for w in wanted if w]
        eligible = [ln for ln in lines if any(_same(ln, w) for w in wanted)]
    rng = random.Random(seed)
    held = set(rng.sample(eligible, max(1, round(len(eligible) * hold_out)))) if eligible else set()
    tmp = tempfile.mkdtemp(prefix="fallback-")
    try:
        copy = os.path.join(tmp, "train.db")
        dst = sqlite3.connect(copy)
        src.backup(dst)
        for key, s in shapes.items():
            if line_of(key) in held:
                dst.execute("DELETE FROM winners WHERE shape_id = ?", (s["id"],))
                dst.execute("DELETE FROM measurements WHERE shape_id = ?", (s["id"],))
        dst.commit()
        dst.close()
        fit = subprocess.run([tool, "fit", "--db", copy, "--quiet"], capture_output=True, text=True)
        if fit.returncode != 0:
            sys.exit(f"fallback_quality: fit failed: {fit.stderr.strip()}")
        if not use_models:
            con = sqlite3.connect(copy)
            con.execute("DELETE FROM models")
            con.commit()
            con.close()
        rows = []
        for key in sorted(k for k in shapes if line_of(k) in held):
            times = shapes[key]["times"]
            pick, why = plan(tool, copy, key)
            best = min(times, key=times.get)
            if timed:
                times = retime(tool, key, [pick, best] + (["onednn"] if "onednn" in times else []))
                best = min((v for v in (pick, best) if v in times), key=times.get, default=best)
                if best not in times:
                    continue
            pick_ms = times.get(pick)
            if pick_ms is None:
                rows.append((key, pick, best, times[best], None, times.get("onednn"), None, None, decided_by(why), why))
                continue
            onednn = times.get("onednn")
            rows.append((key, pick, best, times[best], pick_ms, onednn, pick_ms / times[best],
                         pick_ms / onednn if onednn else None, decided_by(why), why))
        return rows
    finally:
        src.close()
        shutil.rmtree(tmp)


def _same(a, b):
    """Two descriptor texts with the same fields (a suite line may spell padding=P for pad_left/pad_right)."""
    def fields(t):
        f = dict(kv.split("=", 1) for kv in t.split(",") if "=" in kv)
        if "padding" in f:
            f["pad_left"] = f["pad_right"] = f.pop("padding")
        if "groups" in f:
            f["num_groups"] = f.pop("groups")
        defaults = {"stride": "1", "pad_left": "0", "pad_right": "0", "dilation": "1", "num_groups": "1",
                    "bias": "0", "batch": "1"}
        return {**defaults, **f}
    return fields(a) == fields(b)


def summary(rows, label):
    ratios = [r[6] for r in rows if r[6] is not None]
    unmeasured = sum(r[6] is None for r in rows)
    slow = [r for r in rows if r[7] is not None and r[7] > 1.03]
    within = sum(x <= GOAL_WITHIN for x in ratios)
    by = {}
    for r in rows:
        by[r[8]] = by.get(r[8], 0) + 1
    text = (f"{label}: {len(ratios)} held-out shapes: within {GOAL_WITHIN:.1f}x of the best {within}/{len(ratios)} "
            f"({100 * within / max(1, len(ratios)):.0f}%), p90 {percentile(ratios, 90):.2f}x, worst "
            f"{max(ratios, default=float('nan')):.2f}x; slower than oneDNN by more than 3%: {len(slow)}; "
            f"decided by {', '.join(f'{k} {v}' for k, v in sorted(by.items()))}")
    if unmeasured:
        text += f"; {unmeasured} picks were not measured in the sweep"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="results/conv1d.db")
    ap.add_argument("--tool", default="build/bin/conv1d-tune")
    ap.add_argument("--hold-out", type=float, default=0.5, help="fraction of the eligible suite lines held out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test-from", help="hold out only lines of this suite file")
    ap.add_argument("--csv", help="write the per-shape rows here")
    ap.add_argument("--compare-nearest", action="store_true",
                    help="also pick the held-out shapes without time models (tuned shapes nearby, then rules)")
    ap.add_argument("--timed", action="store_true",
                    help="time each pick again beside the sweep's fastest variant and oneDNN in one bench run")
    a = ap.parse_args()
    if not os.path.exists(a.db):
        sys.exit(f"fallback_quality: no database at {a.db}")
    if not 0 < a.hold_out < 1:
        sys.exit("fallback_quality: --hold-out must be between 0 and 1")
    rows = cross_validate(a.db, a.tool, a.hold_out, a.seed, a.test_from, timed=a.timed)
    if not rows:
        sys.exit(f"fallback_quality: {a.db} has no measurements to hold out")
    print(f"{'ratio':>6} {'vs_dnn':>6}  {'pick':26} {'best':26} {'by':8} shape")
    for r in rows:
        ratio = f"{r[6]:6.2f}" if r[6] is not None else "     -"
        vs = f"{r[7]:6.2f}" if r[7] is not None else "     -"
        print(f"{ratio} {vs}  {r[1]:26} {r[2]:26} {r[8]:8} {r[0]}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["shape", "pick", "best", "best_ms", "pick_ms", "onednn_ms", "pick_over_best",
                        "pick_over_onednn", "decided_by", "explain"])
            w.writerows(rows)
    print()
    print(summary(rows, "time models"))
    if a.compare_nearest:
        print(summary(cross_validate(a.db, a.tool, a.hold_out, a.seed, a.test_from, use_models=False, timed=a.timed),
                      "without models"))


if __name__ == "__main__":
    main()
