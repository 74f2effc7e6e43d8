"""conv1d-tune winners, merge and diff on small databases filled by real quick sweeps, checked against direct
sqlite3 queries.

Run with: CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli/test_store_cli.py
"""
import csv
import hashlib
import io
import math
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune"))

WINNERS_HEADER = "shape,device,precision,variant,median_ms,p10_ms,p90_ms,peer,peer_ms,speedup,tie,stale,hardware"
DIFF_HEADER = "shape,device,precision,hardware,variant_a,median_ms_a,variant_b,median_ms_b,ratio,status"
# Tiny shapes, so a quick sweep takes about half a second each: dense, depthwise causal, strided.
SHAPES = [
    "batch=1,length=64,in_channels=4,out_channels=4,kernel_size=3",
    "batch=1,length=50,in_channels=8,out_channels=8,kernel_size=4,num_groups=8,pad_left=3",
    "batch=1,length=40,in_channels=4,out_channels=8,kernel_size=3,stride=2,pad_left=1,pad_right=1",
]
TABLES = ["hardware", "builds", "shapes", "runs", "measurements", "winners"]


def tool(*args, env=None):
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"{TOOL} is not built (make all, or set CONV1D_TUNE)")
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def sweep(db, *extra):
    args = ["sweep", "--db", db, "--quick", "--device", "cpu"]
    for s in SHAPES:
        args += ["--shape", s]
    r = tool(*args, *extra)
    assert r.returncode == 0, r.stderr
    return db


def query(db, sql, params=()):
    with sqlite3.connect(db) as con:
        rows = con.execute(sql, params).fetchall()
    con.close()
    return rows


def modify(db, sql, params=()):
    con = sqlite3.connect(db)
    with con:
        con.execute(sql, params)
    con.close()


def counts(db):
    return {t: query(db, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def copy_db(src, dst):
    """The main file alone is the whole database: every writer here has closed, which checkpoints the WAL."""
    shutil.copyfile(src, dst)
    return dst


def digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def integrity_ok(db):
    return query(db, "PRAGMA integrity_check") == [("ok",)] and query(db, "PRAGMA foreign_key_check") == []


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def diff_counts(stdout):
    m = re.search(r"^(\d+) same, (\d+) faster, (\d+) slower, (\d+) only in A, (\d+) only in B$", stdout, re.M)
    assert m, stdout
    return tuple(int(x) for x in m.groups())


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    """One full sweep of SHAPES and the same sweep split into two shards."""
    d = tmp_path_factory.mktemp("store")
    return {
        "full": sweep(d / "full.db"),
        "shard1": sweep(d / "shard1.db", "--shard", "1/2"),
        "shard2": sweep(d / "shard2.db", "--shard", "2/2"),
    }


# --- winners ----------------------------------------------------------------------------------------------

def test_winners_csv_matches_database(dbs):
    db = dbs["full"]
    r = tool("winners", "--db", db, "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == WINNERS_HEADER
    # The shape contains commas: it is quoted and must read back whole.
    assert all(line.startswith('"batch=') for line in r.stdout.splitlines()[1:])
    got = {(row["shape"], row["device"], row["precision"]): row for row in csv_rows(r.stdout)}
    want = query(db, "SELECT sh.key, w.device, w.precision, w.variant, w.median_ms, w.p10_ms, w.p90_ms, "
                     "w.peer_variant, w.peer_median_ms, w.tie, w.stale, h.fingerprint FROM winners w "
                     "JOIN shapes sh ON sh.id = w.shape_id JOIN hardware h ON h.id = w.hardware_id "
                     "WHERE w.stale = 0")
    assert len(want) == len(SHAPES)
    assert set(got) == {(w[0], w[1], w[2]) for w in want}
    for key, dev, prec, variant, med, p10, p90, peer, peer_ms, tie, stale, fp in want:
        row = got[(key, dev, prec)]
        assert row["variant"] == variant and row["hardware"] == fp
        assert float(row["median_ms"]) == pytest.approx(med, rel=1e-5)
        assert float(row["p10_ms"]) == pytest.approx(p10, rel=1e-5)
        assert float(row["p90_ms"]) == pytest.approx(p90, rel=1e-5)
        assert row["peer"] == (peer or "")
        if peer_ms is None:
            assert row["peer_ms"] == "" and row["speedup"] == ""
        else:
            assert float(row["peer_ms"]) == pytest.approx(peer_ms, rel=1e-5)
            assert float(row["speedup"]) == pytest.approx(peer_ms / med, rel=1e-5)
        assert (row["tie"], row["stale"]) == (str(tie), str(stale))
    # The shape field is the canonical text: describing it gives it back unchanged.
    for key in {k for k, _, _ in got}:
        r = tool("describe", key)
        assert r.returncode == 0 and f"canonical:     {key}\n" in r.stdout


def test_winners_table_ends_with_geometric_mean(dbs):
    r = tool("winners", "--db", dbs["full"])
    assert r.returncode == 0, r.stderr
    assert "median_ms" in r.stdout and "speedup" in r.stdout and "batch=1,length=64" in r.stdout
    speedups = [s for (s,) in query(dbs["full"], "SELECT peer_median_ms / median_ms FROM winners "
                                                 "WHERE stale = 0 AND peer_median_ms IS NOT NULL")]
    if speedups:
        geo = math.exp(sum(map(math.log, speedups)) / len(speedups))
        m = re.search(r"geometric mean speedup over the peer: ([0-9.]+)x", r.stdout)
        assert m, r.stdout
        assert float(m.group(1)) == pytest.approx(geo, abs=0.006)


def test_winners_default_hides_stale_and_other_machines(dbs, tmp_path):
    db = copy_db(dbs["full"], tmp_path / "stale.db")
    key = query(db, "SELECT sh.key FROM winners w JOIN shapes sh ON sh.id = w.shape_id ORDER BY sh.key")[0][0]
    modify(db, "UPDATE winners SET stale = 1 WHERE shape_id = (SELECT id FROM shapes WHERE key = ?1)", (key,))
    default = csv_rows(tool("winners", "--db", db, "--csv").stdout)
    everything = csv_rows(tool("winners", "--db", db, "--csv", "--all").stdout)
    assert key not in {row["shape"] for row in default}
    assert len(default) == len(SHAPES) - 1 and len(everything) == len(SHAPES)
    assert [row["stale"] for row in everything if row["shape"] == key] == ["1"]

    # Rows recorded under another machine's fingerprint appear only with --all.
    modify(db, "UPDATE hardware SET fingerprint = '0123456789abcdef'")
    assert csv_rows(tool("winners", "--db", db, "--csv").stdout) == []
    other = csv_rows(tool("winners", "--db", db, "--csv", "--all").stdout)
    assert {row["hardware"] for row in other} == {"0123456789abcdef"} and len(other) == len(SHAPES)


def test_winners_missing_database(tmp_path):
    path = tmp_path / "absent.db"
    r = tool("winners", "--db", path)
    assert r.returncode == 2
    assert f"no results database at {path} (run conv1d-tune sweep first)" in r.stderr
    assert not path.exists()
    # The default path comes from $CONV1D_DB.
    r = tool("winners", env={"CONV1D_DB": str(path)})
    assert r.returncode == 2 and str(path) in r.stderr


def test_winners_corrupt_database(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(os.urandom(8192))
    r = tool("winners", "--db", bad)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "corrupt.db" in r.stderr and r.stderr.strip().endswith(".")
    assert r.stdout == ""


# --- merge ------------------------------------------------------------------------------------------------

def merge_summary(stdout):
    m = re.search(r"added (\d+) runs, (\d+) measurements, (\d+) winners", stdout)
    assert m, stdout
    return tuple(int(x) for x in m.groups())


def test_merge_of_shards_equals_full_sweep(dbs, tmp_path):
    out = tmp_path / "merged.db"
    r = tool("merge", "--db", out, dbs["shard1"], dbs["shard2"])
    assert r.returncode == 0, r.stderr
    shard_counts = [counts(dbs["shard1"]), counts(dbs["shard2"])]
    assert merge_summary(r.stdout) == tuple(sum(c[t] for c in shard_counts) for t in ("runs", "measurements",
                                                                                        "winners"))
    keys = lambda db: {k for (k,) in query(db, "SELECT sh.key FROM winners w JOIN shapes sh ON sh.id = w.shape_id")}
    assert keys(out) == keys(dbs["full"]) and len(keys(out)) == len(SHAPES)
    assert counts(out)["winners"] == counts(dbs["full"])["winners"]
    assert counts(out)["hardware"] == 1 and counts(out)["builds"] == 1
    assert integrity_ok(out)
    # Measurements follow their runs: every merged measurement points at a run of the same machine and build.
    assert query(out, "SELECT count(*) FROM measurements m JOIN runs r ON r.id = m.run_id "
                      "WHERE r.hardware_id <> m.hardware_id OR r.build_id <> m.build_id") == [(0,)]
    # The merged file reads like a swept one.
    rows = csv_rows(tool("winners", "--db", out, "--csv").stdout)
    assert len(rows) == len(SHAPES)


def test_merge_twice_adds_nothing(dbs, tmp_path):
    out = tmp_path / "twice.db"
    assert tool("merge", "--db", out, dbs["full"]).returncode == 0
    before = counts(out)
    assert before == counts(dbs["full"])
    for inputs in ([dbs["full"]], [dbs["full"], dbs["full"]], [out]):
        r = tool("merge", "--db", out, *inputs)
        assert r.returncode == 0, r.stderr
        assert merge_summary(r.stdout) == (0, 0, 0)
        assert counts(out) == before
    assert integrity_ok(out)


def test_merge_keeps_the_faster_winner(dbs, tmp_path):
    out = copy_db(dbs["full"], tmp_path / "out.db")
    faster = copy_db(dbs["full"], tmp_path / "faster.db")
    # A later run on the same machine and build that found a faster winner for one shape.
    shape_id = query(faster, "SELECT min(shape_id) FROM winners")[0][0]
    modify(faster, "UPDATE runs SET started = '2099-01-01T00:00:00.000Z'")
    modify(faster, "UPDATE winners SET median_ms = median_ms / 4, variant = 'faster_one' WHERE shape_id = ?1",
           (shape_id,))
    r = tool("merge", "--db", out, faster)
    assert r.returncode == 0, r.stderr
    assert merge_summary(r.stdout) == (counts(faster)["runs"], counts(faster)["measurements"], 1)
    assert query(out, "SELECT count(*) FROM winners WHERE variant = 'faster_one'") == [(1,)]
    assert counts(out)["winners"] == counts(dbs["full"])["winners"]
    # A slower one does not replace it.
    slower = copy_db(dbs["full"], tmp_path / "slower.db")
    modify(slower, "UPDATE runs SET started = '2098-01-01T00:00:00.000Z'")
    modify(slower, "UPDATE winners SET median_ms = median_ms * 4, variant = 'slower_one'")
    assert merge_summary(tool("merge", "--db", out, slower).stdout)[2] == 0
    assert query(out, "SELECT count(*) FROM winners WHERE variant = 'slower_one'") == [(0,)]
    assert integrity_ok(out)


def test_merge_refuses_non_database_and_leaves_out_unchanged(dbs, tmp_path):
    out = tmp_path / "out.db"
    assert tool("merge", "--db", out, dbs["shard1"]).returncode == 0
    before = digest(out)
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    plain = tmp_path / "plain.db"
    modify(plain, "CREATE TABLE t (x)")
    newer = copy_db(dbs["shard2"], tmp_path / "newer.db")
    modify(newer, "PRAGMA user_version = 99")
    for bad in (junk, plain, newer, tmp_path / "absent.db"):
        r = tool("merge", "--db", out, dbs["shard2"], bad)
        assert r.returncode == 1, (bad, r.returncode, r.stderr)
        assert str(bad) in r.stderr
        assert digest(out) == before
    assert counts(out) == counts(dbs["shard1"])
    # A new OUT is not even created.
    fresh = tmp_path / "fresh.db"
    assert tool("merge", "--db", fresh, junk).returncode == 1
    assert not fresh.exists()


def test_merge_usage_errors(dbs, tmp_path):
    assert tool("merge", dbs["full"]).returncode == 2
    assert tool("merge", "--db", tmp_path / "x.db").returncode == 2
    assert tool("merge", "--bogus").returncode == 2
    assert tool("merge", "--help").returncode == 0


# --- diff -------------------------------------------------------------------------------------------------

def test_diff_of_a_database_with_itself(dbs):
    db = dbs["full"]
    r = tool("diff", db, db)
    assert r.returncode == 0, r.stderr
    assert diff_counts(r.stdout) == (len(SHAPES), 0, 0, 0, 0)
    r = tool("diff", db, db, "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == DIFF_HEADER
    rows = csv_rows(r.stdout)
    assert len(rows) == len(SHAPES)
    for row in rows:
        assert row["status"] == "same" and row["variant_a"] == row["variant_b"]
        assert float(row["ratio"]) == 1.0 and row["median_ms_a"] == row["median_ms_b"]


def test_diff_reports_slower_faster_and_one_sided(dbs, tmp_path):
    a = dbs["full"]
    b = copy_db(a, tmp_path / "b.db")
    keys = [k for (k,) in query(b, "SELECT sh.key FROM winners w JOIN shapes sh ON sh.id = w.shape_id "
                                   "ORDER BY sh.key")]
    shape = "UPDATE winners SET {} WHERE shape_id = (SELECT id FROM shapes WHERE key = ?1)"
    # Slower and faster by ranges that cannot overlap the measured ones, however wide those were (a loaded
    # machine can measure p90 > 2 * p10, so scaling the whole distribution is not enough).
    # (Every right-hand side reads the old row.)
    modify(b, shape.format("median_ms = 2 * median_ms, p10_ms = 1.5 * p90_ms, p90_ms = 3 * p90_ms + 2 * median_ms"),
           (keys[0],))
    modify(b, shape.format("median_ms = median_ms / 3, p90_ms = p10_ms / 2, p10_ms = p10_ms / 4, "
                           "variant = 'another_variant'"), (keys[1],))
    r = tool("diff", a, b, "--csv")
    assert r.returncode == 0, r.stderr  # regressions do not change the exit status
    by_key = {row["shape"]: row for row in csv_rows(r.stdout)}
    assert by_key[keys[0]]["status"] == "slower"
    assert float(by_key[keys[0]]["ratio"]) == pytest.approx(2.0, rel=1e-4)
    assert by_key[keys[1]]["status"] == "faster" and by_key[keys[1]]["variant_b"] == "another_variant"
    assert by_key[keys[2]]["status"] == "same"
    r = tool("diff", a, b)
    assert diff_counts(r.stdout) == (len(SHAPES) - 2, 1, 1, 0, 0)
    assert "-> another_variant" in r.stdout and "changed variant" in r.stdout
    # A huge threshold counts everything as the same.
    assert diff_counts(tool("diff", a, b, "--threshold", "5").stdout) == (len(SHAPES), 0, 0, 0, 0)
    # Stale winners do not take part; what one side lacks is reported as such.
    modify(b, shape.format("stale = 1"), (keys[2],))
    assert diff_counts(tool("diff", a, b).stdout) == (0, 1, 1, 1, 0)
    assert diff_counts(tool("diff", b, a).stdout) == (0, 1, 1, 0, 1)


def test_diff_errors(dbs, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(os.urandom(4096))
    r = tool("diff", dbs["full"], bad)
    assert r.returncode == 1 and "bad.db" in r.stderr
    assert tool("diff", dbs["full"], tmp_path / "absent.db").returncode == 1
    assert tool("diff", dbs["full"]).returncode == 2
    assert tool("diff", dbs["full"], dbs["full"], "--threshold", "-1").returncode == 2
    assert tool("diff", dbs["full"], dbs["full"], "--threshold", "x").returncode == 2
    assert tool("diff", "--help").returncode == 0
