"""The dispatcher from the command line: `run` without --variant follows the database a real quick sweep
filled, `export` writes that database's winners as a C table that compiles, `bench-dispatch` runs.

Run with: CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli/test_dispatch_cli.py
"""
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune"))
SHAPES = [
    "batch=1,length=64,in_channels=4,out_channels=4,kernel_size=3",
    "batch=1,length=50,in_channels=8,out_channels=8,kernel_size=4,num_groups=8,pad_left=3",
]


def tool(*args, env=None):
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"{TOOL} is not built (make all, or set CONV1D_TUNE)")
    env = {k: v for k, v in os.environ.items() if k not in ("CONV1D_VARIANT", "CONV1D_DB")} | (env or {})
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("dispatch") / "tuned.db"
    args = ["sweep", "--db", path, "--quick", "--device", "cpu"]
    for s in SHAPES:
        args += ["--shape", s]
    r = tool(*args)
    assert r.returncode == 0, r.stderr
    return path


def winners(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT sh.key, w.variant FROM winners w JOIN shapes sh ON sh.id = w.shape_id "
                       "WHERE w.stale = 0").fetchall()
    con.close()
    return dict(rows)


def canonical(shape):
    r = tool("describe", shape)
    assert r.returncode == 0, r.stderr
    return next(line.split()[-1] for line in r.stdout.splitlines() if "batch=" in line)


def test_run_follows_the_database(db, tmp_path):
    won = winners(db)
    assert len(won) == len(SHAPES)
    rng = np.random.default_rng(0)
    shape = SHAPES[0]
    x = rng.uniform(-1, 1, (1, 64, 4)).astype(np.float32)
    w = rng.uniform(-1, 1, (3, 4, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    r = tool("run", "--shape", shape, "--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy", "--y",
             tmp_path / "y.npy", "--db", db, "--verbose")
    assert r.returncode == 0, r.stderr
    variant = re.search(r"^variant:\s+(\S+)", r.stderr, re.M).group(1)
    assert "chosen:    exact winner from DB" in r.stderr
    assert variant == won[canonical(shape)]
    y = np.load(tmp_path / "y.npy")
    ref = sum(x[:, k:k + 62, :].astype(np.float64) @ w[k] for k in range(3))
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    # CONV1D_VARIANT forces a variant over the database, and CONV1D_VERBOSE logs the decision.
    r = tool("run", "--shape", shape, "--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy", "--y",
             tmp_path / "y.npy", "--db", db, env={"CONV1D_VARIANT": "ref", "CONV1D_VERBOSE": "1"})
    assert r.returncode == 0, r.stderr
    assert "-> ref (forced by CONV1D_VARIANT=ref)" in r.stderr
    r = tool("run", "--shape", shape, "--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy", "--y",
             tmp_path / "y.npy", env={"CONV1D_VARIANT": "nope"})
    assert r.returncode == 1 and "CONV1D_VARIANT=nope names no variant" in r.stderr


def test_export_writes_a_table_that_compiles(db, tmp_path):
    out = tmp_path / "tuned.c"
    r = tool("export", "--db", db, "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    fingerprint = re.search(r'c1_tuned_fingerprint\[\] = "([0-9a-f]{16})"', text).group(1)
    hw = tool("hw")
    assert fingerprint in hw.stdout
    for key, variant in winners(db).items():
        assert f'{{"{key}", "cpu", "fp32", "{variant}"}},' in text
    assert f"const size_t c1_tuned_count = {len(SHAPES)};" in text
    # The sweep's time models travel with the table, one per variant, layout and kind measured.
    n_models = int(re.search(r"const size_t c1_tuned_model_count = (\d+);", text).group(1))
    assert n_models > 0 and text.count("CONV1D_LAYOUT_") == n_models
    cc = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", f"-I{ROOT / 'runtime'}",
                         f"-I{ROOT / 'include'}", out], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    # A database with nothing for this machine gives an empty table, still valid C.
    db = shutil.copy(db, tmp_path / "foreign.db")
    con = sqlite3.connect(db)
    con.execute("UPDATE hardware SET fingerprint = 'ffffffffffffffff'")
    con.commit()
    con.close()
    r = tool("export", "--db", db, "-o", tmp_path / "empty.c")
    assert r.returncode == 0, r.stderr
    assert "const size_t c1_tuned_count = 0;" in (tmp_path / "empty.c").read_text()


def test_export_errors(tmp_path):
    r = tool("export", "--db", tmp_path / "missing.db", "-o", tmp_path / "t.c")
    assert r.returncode == 1 and "missing.db" in r.stderr
    assert not (tmp_path / "t.c").exists()
    r = tool("export")
    assert r.returncode == 2 and "-o FILE is required" in r.stderr


def test_bench_dispatch_runs():
    r = tool("bench-dispatch", "--iters", "1000", "--shapes", "50")
    assert r.returncode == 0, r.stderr
    assert "overhead" in r.stdout and "neighbour scan" in r.stdout
