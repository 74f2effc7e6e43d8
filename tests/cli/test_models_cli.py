"""The time models from the command line: a sweep fits them, `fit` lists them, `describe --plan` picks by
them for a shape nobody tuned, `export` carries them, and scripts/fallback_quality.py cross-validates the
dispatcher on a database of measurements.

Run with: CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli/test_models_cli.py
"""
import csv
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune"))
# Small dense layers: enough shapes of one kind and layout for the models to speak (C1_MODEL_MIN_SAMPLES 4).
SHAPES = [
    "batch=1,length=64,in_channels=16,out_channels=16,kernel_size=3",
    "batch=2,length=40,in_channels=8,out_channels=24,kernel_size=5",
    "batch=1,length=100,in_channels=24,out_channels=8,kernel_size=1",
    "batch=3,length=30,in_channels=16,out_channels=32,kernel_size=3,stride=2",
    "batch=1,length=80,in_channels=32,out_channels=16,kernel_size=2",
]
UNSEEN = "batch=2,length=77,in_channels=16,out_channels=24,kernel_size=3,padding=1"


def tool(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("CONV1D_VARIANT", "CONV1D_DB")}
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tuned.db"
    args = ["sweep", "--db", path, "--quick", "--device", "cpu", "--layout", "nwc"]
    for s in SHAPES:
        args += ["--shape", s]
    r = tool(*args)
    assert r.returncode == 0, r.stderr
    assert re.search(r"refitted \d+ time models", r.stderr), r.stderr
    return path


def test_fit_lists_models(db):
    r = tool("fit", "--db", db)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    dense = {row[0]: int(row[4]) for row in rows if row[1] == "nwc" and row[2] == "dense"}
    # Every variant that ran on all five shapes has a model of all five.
    assert dense.get("direct_4x8__c") == len(SHAPES), dense
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM models").fetchone()[0]
    con.close()
    assert n == len(rows)


def test_plan_of_an_unseen_shape_follows_the_models(db, tmp_path):
    # A near tuned shape decides first.
    r = tool("describe", UNSEEN, "--plan", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "nearest tuned shape" in r.stdout and "time model:" not in r.stdout, r.stdout
    # Without tuned winners nearby (here: none at all), the models decide.
    copy = tmp_path / "no-winners.db"
    shutil.copy(db, copy)
    con = sqlite3.connect(copy)
    con.execute("DELETE FROM winners")
    con.commit()
    con.close()
    r = tool("describe", UNSEEN, "--plan", "--db", copy)
    assert r.returncode == 0, r.stderr
    chosen = re.search(r"^chosen:\s+(.*)$", r.stdout, re.M).group(1)
    variant = re.search(r"^plan:\s+(\S+)$", r.stdout, re.M).group(1)
    assert "time model: %s predicted" % variant in chosen, chosen
    # The prediction is in the range of what the swept neighbours took.
    ms = float(re.search(r"predicted ([0-9.e+-]+) ms", chosen).group(1))
    assert 1e-5 < ms < 10, chosen
    # An NCW shape has no NCW measurements: the models do not speak for it.
    r = tool("describe", UNSEEN + ",layout=ncw", "--plan", "--db", copy)
    assert r.returncode == 0 and "time model:" not in r.stdout, r.stdout


def test_export_carries_the_models(db, tmp_path):
    out = tmp_path / "tuned.c"
    r = tool("export", "--db", db, "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert re.search(r'\{"direct_4x8__c", "cpu", "fp32", CONV1D_LAYOUT_NWC, C1_KIND_DENSE, %d,' % len(SHAPES), text)


def test_cross_validation(db, tmp_path):
    out = tmp_path / "cv.csv"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "fallback_quality.py"), "--db", str(db), "--tool",
                        TOOL, "--hold-out", "0.4", "--seed", "3", "--csv", str(out), "--compare-nearest"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^time models: 2 held-out shapes: within 1\.1x of the best \d/2", r.stdout, re.M), r.stdout
    assert re.search(r"^without models: 2 held-out shapes", r.stdout, re.M), r.stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for row in rows:
        # Both times come from the sweep: the pick is never faster than the fastest variant of its shape.
        assert float(row["pick_over_best"]) >= 1.0
        assert row["decided_by"] in ("model", "neighbours", "rules"), row
        # Three dense shapes remain for training, fewer than a model needs: the models stay silent.
        assert row["decided_by"] != "model", row


def test_sweep_agreement(db, tmp_path):
    """scripts/sweep_agreement.py: a sweep agrees with itself everywhere; where the other sweep timed one shape's
    winner twice as slow as its own fastest, that shape's comparison says 2.00."""
    script = [sys.executable, str(ROOT / "scripts" / "sweep_agreement.py")]
    r = subprocess.run(script + [str(db), str(db)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    n = 2 * len(SHAPES)
    assert f"{n} comparisons, within 1.1x 100%, p90 1.00x, worst 1.00x" in r.stdout, r.stdout
    other = tmp_path / "other.db"
    shutil.copy(db, other)
    con = sqlite3.connect(other)
    # the first shape's fastest variant in the copy: twice as slow as the copy's next fastest
    sid, = con.execute("SELECT id FROM shapes ORDER BY id LIMIT 1").fetchone()
    rows = con.execute("SELECT id, median_ms FROM measurements WHERE shape_id = ? AND status = 'ok' AND "
                       "median_ms > 0 ORDER BY median_ms", (sid,)).fetchall()
    con.execute("UPDATE measurements SET median_ms = ? WHERE id = ?", (2 * rows[1][1], rows[0][0]))
    con.commit()
    con.close()
    r = subprocess.run(script + [str(db), str(other)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^  2\.00 ", r.stdout, re.M), r.stdout
    assert re.search(rf"{n} comparisons, within 1\.1x \d+%, p90 [\d.]+x, worst 2\.00x", r.stdout), r.stdout
