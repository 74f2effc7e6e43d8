"""conv1d-tune winners, merge and diff on small databases filled by real quick sweeps, checked against direct
sqlite3 queries.

Run with: CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli/test_store_cli.py
"""
import csv
import hashlib
import importlib.util
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


# --- the store's winner views (schema 3) and older files --------------------------------------------------

VIEW_ROW = ("SELECT key, device, precision, variant, median_ms, p10_ms, p90_ms, peer_variant, peer_median_ms, "
            "speedup, tie, stale, fingerprint FROM {}")
PRECISION_CLASSES = {"fp32", "tf32", "bf16", "f16"}


def views(db):
    return {n for (n,) in query(db, "SELECT name FROM sqlite_master WHERE type = 'view'")}


def as_csv_row(row):
    """A view row as `winners --csv` prints it."""
    num = lambda x: "" if x is None else f"{x:.6g}"
    key, device, precision, variant, med, p10, p90, peer, peer_ms, speedup, tie, stale, fp = row
    return {"shape": key, "device": device, "precision": precision, "variant": variant, "median_ms": num(med),
            "p10_ms": num(p10), "p90_ms": num(p90), "peer": peer or "", "peer_ms": num(peer_ms),
            "speedup": num(speedup), "tie": str(tie), "stale": str(stale), "hardware": fp}


def table_rows(stdout):
    """The rows of `winners`' aligned table as dicts (no cell holds a space; the shape comes last)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("device "))
    names = lines[start].split()
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        if not line.startswith("(none"):
            rows.append(dict(zip(names, line.split())))
    return rows


def test_views_give_the_winners_of_the_command(dbs, tmp_path):
    db = copy_db(dbs["full"], tmp_path / "views.db")
    assert query(db, "PRAGMA user_version")[0][0] >= 3
    assert {"all_winners", "current_winners"} <= views(db)
    # One stale winner, so that the two views (and winners with and without --all) differ.
    key = query(db, "SELECT key FROM all_winners ORDER BY key")[0][0]
    modify(db, "UPDATE winners SET stale = 1 WHERE shape_id = (SELECT id FROM shapes WHERE key = ?1)", (key,))
    for args, view, n in ((["--all"], "all_winners", len(SHAPES)), ([], "current_winners", len(SHAPES) - 1)):
        r = tool("winners", "--db", db, "--csv", *args)
        assert r.returncode == 0, r.stderr
        got = csv_rows(r.stdout)
        want = [as_csv_row(row) for row in query(db, VIEW_ROW.format(view))]
        assert len(got) == n
        assert sorted(got, key=lambda d: sorted(d.items())) == sorted(want, key=lambda d: sorted(d.items()))
    # One view row per winner, with its shape's fields and dtype.
    assert query(db, "SELECT count(*) FROM all_winners")[0][0] == query(db, "SELECT count(*) FROM winners")[0][0]
    assert query(db, "SELECT count(*) FROM all_winners v JOIN shapes s ON s.id = v.shape_id WHERE v.key = s.key "
                     "AND v.batch = s.batch AND v.length = s.length AND v.in_channels = s.in_channels AND "
                     "v.out_channels = s.out_channels AND v.kernel_size = s.kernel_size AND v.stride = s.stride AND "
                     "v.pad_left = s.pad_left AND v.pad_right = s.pad_right AND v.dilation = s.dilation AND "
                     "v.num_groups = s.num_groups AND v.has_bias = s.has_bias AND v.layout = s.layout AND "
                     "v.dtype = s.dtype")[0][0] == len(SHAPES)


def test_winners_show_the_precision_class(dbs, tmp_path):
    db = copy_db(dbs["full"], tmp_path / "classes.db")
    # A bf16 winner next to an fp32 one on the same shape, as a bf16 variant class would store it.
    shape_id = query(db, "SELECT min(shape_id) FROM winners")[0][0]
    modify(db, "INSERT INTO winners (hardware_id, build_id, shape_id, device, precision, variant, median_ms, p10_ms, "
               "p90_ms, peer_variant, peer_median_ms, tie, stale, run_id) SELECT hardware_id, build_id, shape_id, "
               "device, 'bf16', 'some_bf16_variant', median_ms / 2, p10_ms / 2, p90_ms / 2, peer_variant, "
               "peer_median_ms, 0, 0, run_id FROM winners WHERE shape_id = ?1", (shape_id,))
    rows = csv_rows(tool("winners", "--db", db, "--csv").stdout)
    table = table_rows(tool("winners", "--db", db).stdout)
    assert len(rows) == len(table) == len(SHAPES) + 1
    for listing in (rows, table):
        assert {row["precision"] for row in listing} <= PRECISION_CLASSES
        assert [row["precision"] for row in listing if row["variant"] == "some_bf16_variant"] == ["bf16"]
        assert sum(row["precision"] == "fp32" for row in listing) == len(SHAPES)
    assert query(db, "SELECT precision, dtype FROM current_winners WHERE variant = 'some_bf16_variant'") == \
        [("bf16", "f32")]


def test_cuda_peer_is_the_fastest_cudnn_measurement_of_the_run(dbs, tmp_path):
    db = copy_db(dbs["full"], tmp_path / "cuda.db")
    hw, build, shape, run = query(db, "SELECT hardware_id, build_id, shape_id, run_id FROM winners "
                                      "ORDER BY shape_id LIMIT 1")[0]
    for precision in ("fp32", "tf32"):
        modify(db, "INSERT INTO winners (hardware_id, build_id, shape_id, device, precision, variant, median_ms, "
                   "peer_variant, peer_median_ms, run_id) VALUES (?1, ?2, ?3, 'cuda', ?4, 'cuda_kernel', 1.0, "
                   "'cudnn_stored', 2.0, ?5)", (hw, build, shape, precision, run))
    measured = [("cudnn_a", "cudnn", "fp32", "ok", 1.5), ("cudnn_b", "cudnn", "fp32", "ok", 1.2),
                ("cudnn_c", "cudnn", "fp32", "wrong", 0.1), ("cuda_other", "cuda_tiled", "fp32", "ok", 0.3),
                ("cudnn_d", "cudnn", "tf32", "ok", 0.5), ("cudnn_e", "cudnn", "tf32", "ok", 0.5)]
    for variant, family, precision, status, ms in measured:
        modify(db, "INSERT INTO measurements (run_id, shape_id, hardware_id, build_id, variant, family, device, "
                   "precision, status, median_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'cuda', ?7, ?8, ?9)",
               (run, shape, hw, build, variant, family, precision, status, ms))
    cuda = lambda: {row["precision"]: row for row in csv_rows(tool("winners", "--db", db, "--csv").stdout)
                    if row["device"] == "cuda"}
    got = cuda()
    # The fastest correct cuDNN measurement of the class (the earliest of equal ones), not the stored peer.
    assert (got["fp32"]["peer"], got["fp32"]["peer_ms"], got["fp32"]["speedup"]) == ("cudnn_b", "1.2", "1.2")
    assert (got["tf32"]["peer"], got["tf32"]["peer_ms"], got["tf32"]["speedup"]) == ("cudnn_d", "0.5", "0.5")
    assert query(db, "SELECT precision, peer_variant, peer_median_ms FROM current_winners WHERE device = 'cuda' "
                     "ORDER BY precision") == [("fp32", "cudnn_b", 1.2), ("tf32", "cudnn_d", 0.5)]
    # Without a cuDNN measurement in the winner's run the stored peer stays.
    modify(db, "UPDATE winners SET run_id = NULL WHERE device = 'cuda' AND precision = 'tf32'")
    assert (cuda()["tf32"]["peer"], cuda()["tf32"]["peer_ms"]) == ("cudnn_stored", "2")


def downgrade(src, dst, version):
    """A copy of src as a file of an older schema: without the views (and, before 2, the models table)."""
    copy_db(src, dst)
    con = sqlite3.connect(dst)
    con.executescript("DROP VIEW current_winners; DROP VIEW all_winners;" +
                      ("DROP TABLE models;" if version < 2 else "") + f"PRAGMA user_version = {version};")
    con.close()
    return dst


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", [2, 1])
def test_older_schema_reads_the_same(dbs, tmp_path, version):
    """winners, export and diff open a file read-only and never migrate it: an older one reads as the current."""
    new = copy_db(dbs["full"], tmp_path / "new.db")
    old = downgrade(dbs["full"], tmp_path / "old.db", version)
    before = digest(old)
    out = lambda *args: tool(*args).stdout.replace(str(old), "DB").replace(str(new), "DB")
    for args in (["winners", "--csv"], ["winners", "--csv", "--all"], ["winners"], ["winners", "--all"]):
        r = tool(*args, "--db", old)
        assert r.returncode == 0, r.stderr
        assert out(*args, "--db", old) == out(*args, "--db", new)
    assert len(csv_rows(out("winners", "--csv", "--db", old))) == len(SHAPES)
    # export: the same winners table (a file without the models table exports no time models).
    table = lambda text: text[:text.index("const c1_model")]
    r = tool("export", "--db", old, "-o", "-")
    assert r.returncode == 0, r.stderr
    assert table(out("export", "--db", old, "-o", "-")) == table(out("export", "--db", new, "-o", "-"))
    assert f"c1_tuned_count = {len(SHAPES)};" in r.stdout
    if version < 2:
        assert "c1_tuned_model_count = 0;" in r.stdout
    else:
        assert out("export", "--db", old, "-o", "-") == out("export", "--db", new, "-o", "-")
    # diff: either way round, and against itself.
    assert diff_counts(out("diff", old, new)) == (len(SHAPES), 0, 0, 0, 0)
    assert diff_counts(out("diff", new, old)) == (len(SHAPES), 0, 0, 0, 0)
    assert out("diff", old, old, "--csv") == out("diff", new, new, "--csv")
    # The scripts fall back to the join the view makes.
    assert load_script("compare_strategies").winners(old) == load_script("compare_strategies").winners(new)
    # Nothing was migrated or written.
    assert digest(old) == before
    assert query(old, "PRAGMA user_version") == [(version,)] and views(old) == set()


def test_only_the_store_speaks_sql():
    """Every statement of the library and the tool is the store's (ARCHITECTURE.md, "A new query")."""
    store = {ROOT / "runtime" / "store.c", ROOT / "runtime" / "store_merge.c"}
    speaking = {p for part in ("core", "variants", "runtime", "harness", "autotune")
                for p in (ROOT / part).rglob("*.[ch]") if re.search(r"sqlite3[_.]", p.read_text(errors="replace"))}
    assert speaking == store, sorted(str(p.relative_to(ROOT)) for p in speaking ^ store)
