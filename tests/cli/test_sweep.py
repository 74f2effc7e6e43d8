"""conv1d-tune sweep: resumable after SIGKILL and SIGINT, concurrent writers, and what it records."""
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

TOOL = os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune")
SHAPES = [
    "batch=1,length=200,in_channels=8,out_channels=16,kernel_size=3,padding=1",
    "batch=2,length=150,in_channels=16,out_channels=16,kernel_size=5,stride=2,bias=1",
    "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=4,num_groups=32,pad_left=3",
    "batch=1,length=120,in_channels=4,out_channels=8,kernel_size=3,dilation=2,pad_left=2,pad_right=2",
    "batch=1,length=100,in_channels=12,out_channels=12,kernel_size=3,num_groups=3,layout=ncw",
    "batch=1,length=400,in_channels=1,out_channels=16,kernel_size=7,stride=3",
]


def sweep_args(db, *extra):
    args = [TOOL, "sweep", "--db", str(db), "--quick", "--seed", "5"]
    for s in SHAPES:
        args += ["--shape", s]
    return args + list(extra)


def counts(db):
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        shapes_done = con.execute("SELECT count(DISTINCT shape_id) FROM measurements").fetchone()[0]
        per_shape = con.execute(
            "SELECT shape_id, count(*), count(DISTINCT variant) FROM measurements GROUP BY shape_id").fetchall()
        winners = con.execute("SELECT count(*) FROM winners").fetchone()[0]
        return shapes_done, per_shape, winners
    finally:
        con.close()


def test_records_every_measurement_and_a_winner(tmp_path):
    db = tmp_path / "r.db"
    r = subprocess.run(sweep_args(db), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    listed = subprocess.run([TOOL, "list", "--csv"], capture_output=True, text=True).stdout.splitlines()[1:]
    cpu_variants = {line.split(",")[0] for line in listed if ",cpu," in line and line.split(",")[1] != "ref"}
    for (key,) in con.execute("SELECT key FROM shapes"):
        got = {v for (v,) in con.execute(
            "SELECT variant FROM measurements m JOIN shapes s ON s.id = m.shape_id WHERE s.key = ?", (key,))}
        assert got == cpu_variants, key
        w = con.execute("SELECT w.variant, w.median_ms, w.stale FROM winners w JOIN shapes s ON s.id = w.shape_id "
                        "WHERE s.key = ?", (key,)).fetchone()
        assert w is not None and w[1] > 0 and w[2] == 0
        # the winner is a correct, timed measurement of that shape, and no ok variant is more than 2x faster
        best = con.execute("SELECT min(median_ms) FROM measurements m JOIN shapes s ON s.id = m.shape_id "
                           "WHERE s.key = ? AND status = 'ok'", (key,)).fetchone()[0]
        status = con.execute("SELECT status FROM measurements m JOIN shapes s ON s.id = m.shape_id "
                             "WHERE s.key = ? AND variant = ?", (key, w[0])).fetchone()[0]
        assert status == "ok" and w[1] <= 2 * best
    assert con.execute("SELECT count(*) FROM shapes").fetchone()[0] == len(SHAPES)
    assert con.execute("SELECT status FROM runs").fetchall() == [("done",)]
    # run again: nothing to do, nothing added
    before = counts(db)
    r = subprocess.run(sweep_args(db), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "already finished" in r.stderr
    assert counts(db) == before


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path, sig):
    rng = random.Random(int(sig))
    db = tmp_path / "k.db"
    for attempt in range(3):
        p = subprocess.Popen(sweep_args(db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.5))
        p.send_signal(sig)
        p.wait(timeout=60)
        done, per_shape, _ = counts(db)  # integrity_check inside
        assert done <= len(SHAPES)
        for _, rows, distinct in per_shape:
            assert rows == distinct, "a shape is stored whole, once"
    r = subprocess.run(sweep_args(db), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    done, per_shape, winners = counts(db)
    assert done == len(SHAPES) and winners == len(SHAPES)
    assert len({distinct for _, _, distinct in per_shape}) == 1
    for _, rows, distinct in per_shape:
        assert rows == distinct
    if sig == signal.SIGINT:
        statuses = sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY id").fetchall()
        assert ("interrupted",) in statuses and statuses[-1] == ("done",)


def test_concurrent_sweeps_keep_every_row(tmp_path):
    db = tmp_path / "c.db"
    procs = [subprocess.Popen(sweep_args(db, "--force", "--seed", str(i)), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = con.execute("SELECT id, status FROM runs").fetchall()
    assert [s for _, s in runs] == ["done", "done"]
    per_run = [con.execute("SELECT count(DISTINCT shape_id), count(*) FROM measurements WHERE run_id = ?",
                           (rid,)).fetchone() for rid, _ in runs]
    assert per_run[0] == per_run[1] and per_run[0][0] == len(SHAPES)
    assert con.execute("SELECT count(*) FROM winners").fetchone()[0] == len(SHAPES)


def test_new_build_marks_old_winners_stale(tmp_path):
    db = tmp_path / "s.db"
    assert subprocess.run(sweep_args(db), capture_output=True, timeout=300).returncode == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE builds SET signature = 'an-older-build'")  # as if these rows came from another build
    con.commit()
    con.close()
    r = subprocess.run(sweep_args(db, "--shape", SHAPES[0]), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    old = con.execute("SELECT count(*), sum(stale) FROM winners w JOIN builds b ON b.id = w.build_id "
                      "WHERE b.signature = 'an-older-build'").fetchone()
    assert old == (len(SHAPES), len(SHAPES)), "kept, marked stale"
    assert con.execute("SELECT count(*) FROM winners WHERE stale = 0").fetchone()[0] == len(SHAPES)


@pytest.mark.parametrize("args,fragment", [
    (["--shape", "length=0"], "bad --shape"),
    ([], "give --suite FILE or --shape DESC"),
    (["--shape", SHAPES[0], "--shard", "3/2"], "--shard"),
    (["--shape", SHAPES[0], "--strategy", "best"], "--strategy"),
    (["--shape", SHAPES[0], "--device", "tpu"], "--device"),
    (["--suite", "/nonexistent.suite"], "Cannot open suite"),
    (["--shape", SHAPES[0], "--dtype", "f32,int8"], "--dtype"),
    (["--shape", SHAPES[0], "--dtype", ","], "--dtype"),
])
def test_refusals(tmp_path, args, fragment):
    r = subprocess.run([TOOL, "sweep", "--db", str(tmp_path / "x.db"), *args], capture_output=True, text=True)
    assert r.returncode == 2 and fragment in r.stderr, r.stderr
    assert not (tmp_path / "x.db").exists()


def test_dtypes_tuned_in_their_own_class(tmp_path):
    """--dtype sweeps each shape once per dtype; each winner is a variant of the dtype's class, and a class's
    peer is oneDNN of that class."""
    db = tmp_path / "d.db"
    r = subprocess.run([TOOL, "sweep", "--db", str(db), "--quick", "--seed", "3", "--device", "cpu", "--shape",
                        SHAPES[0], "--shape", SHAPES[2], "--dtype", "float32,bf16,f16"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    listed = subprocess.run([TOOL, "list", "--csv"], capture_output=True, text=True).stdout.splitlines()[1:]
    precision = {line.split(",")[0]: line.split(",")[3] for line in listed}
    con = sqlite3.connect(db)
    dtypes = sorted(d for (d,) in con.execute("SELECT DISTINCT dtype FROM shapes"))
    assert dtypes == ["bf16", "f16", "f32"]
    assert con.execute("SELECT count(*) FROM shapes").fetchone()[0] == 6
    rows = con.execute("SELECT s.dtype, w.precision, w.variant, w.peer_variant FROM winners w "
                       "JOIN shapes s ON s.id = w.shape_id").fetchall()
    want = {"f32": "fp32", "bf16": "bf16", "f16": "f16"}
    assert {dtype for dtype, *_ in rows} == set(dtypes), rows
    for dtype, prec, variant, peer in rows:
        assert prec == want[dtype] and precision[variant] == prec, (dtype, prec, variant)
        assert peer is None or precision[peer] == prec, (dtype, peer)
    # each measurement of a 16-bit shape is of its class or was refused
    for dtype, prec, status in con.execute("SELECT s.dtype, m.precision, m.status FROM measurements m "
                                           "JOIN shapes s ON s.id = m.shape_id"):
        assert prec == want[dtype] or status == "unsupported", (dtype, prec, status)


def test_bad_suite_line_names_file_and_line(tmp_path):
    suite = tmp_path / "bad.suite"
    suite.write_text("# a comment\n" + SHAPES[0] + "\nlength=10,in_channels=2,out_channels=2,kernel_size=zz\n")
    r = subprocess.run([TOOL, "sweep", "--db", str(tmp_path / "x.db"), "--suite", str(suite)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and f"{suite}:3:" in r.stderr and "zz" in r.stderr


def test_not_a_database(tmp_path):
    db = tmp_path / "junk.db"
    db.write_bytes(os.urandom(4096))
    before = db.read_bytes()
    r = subprocess.run(sweep_args(db), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Results database" in r.stderr
    assert db.read_bytes() == before
