"""Fault injection: what the tools do when the world is hostile.

Each test provokes one failure (a database that cannot be written, a full disk, rows from another machine,
an absurd descriptor, a hostile .npy header, an over-long suite line, absurd environment variables) and
checks three things: the exit status, a clear sentence on stderr, and that what was stored before is intact
(integrity_check passes, no shape is stored in part, nothing is silently skipped).
"""
import os
import resource
import shutil
import signal
import sqlite3
import struct
import subprocess
import tempfile

import numpy as np
import pytest

TOOL = os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune")
SHAPES = [
    "batch=1,length=200,in_channels=8,out_channels=16,kernel_size=3,padding=1",
    "batch=1,length=150,in_channels=16,out_channels=16,kernel_size=5,stride=2,bias=1",
    "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=4,num_groups=32,pad_left=3",
]
SMALL = "batch=1,length=50,in_channels=4,out_channels=4,kernel_size=3"
HUGE = "batch=1000000,length=1000000,in_channels=1000,out_channels=1,kernel_size=1"
# AddressSanitizer reserves terabytes of address space for its shadow memory, so RLIMIT_AS cannot be used.
SANITIZED = "build-san" in TOOL or "ASAN_OPTIONS" in os.environ


def sweep_args(db, *extra, shapes=SHAPES):
    args = [TOOL, "sweep", "--db", str(db), "--quick", "--seed", "7", "--budget", "0.05"]
    for s in shapes:
        args += ["--shape", s]
    return args + list(extra)


def run(args, **kw):
    kw.setdefault("timeout", 300)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def snapshot(db):
    """Every row of every table, and the integrity check, of a database file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def assert_whole_shapes(db):
    """Each measured shape has one row per variant and a winner: nothing is stored in part."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_shape = con.execute("SELECT shape_id, count(*), count(DISTINCT variant) FROM measurements "
                                "GROUP BY shape_id, run_id").fetchall()
        sizes = {rows for _, rows, _ in per_shape}
        assert len(sizes) <= 1, f"shapes of different sizes: {per_shape}"
        for _, rows, distinct in per_shape:
            assert rows == distinct
        measured = {s for (s,) in con.execute("SELECT DISTINCT shape_id FROM measurements")}
        won = {s for (s,) in con.execute("SELECT DISTINCT shape_id FROM winners")}
        assert measured == won
        return len(measured)
    finally:
        con.close()


# ---- databases that cannot be written ---------------------------------------------------------------------

@pytest.fixture
def shared_dir():
    """A directory an unprivileged user can enter, for tests that drop root (tmp_path's parents are 0700)."""
    d = tempfile.mkdtemp(prefix="conv1d-faults-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def unprivileged(home):
    """Permissions do not stop root, so when the tests run as root the tool runs as nobody instead."""
    env = dict(os.environ, HOME=home, XDG_CACHE_HOME=home)
    if os.geteuid() != 0:
        return {"env": env}

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return {"env": env, "preexec_fn": drop}


def make_db(path):
    r = run(sweep_args(path, shapes=SHAPES[:2]))
    assert r.returncode == 0, r.stderr
    # Fold the WAL into the main file so that the file alone is the database.
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(str(path) + suffix):
            os.remove(str(path) + suffix)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_read_only_database(shared_dir, what):
    home = os.path.join(shared_dir, "home")
    os.mkdir(home)
    os.chmod(home, 0o777)
    dbdir = os.path.join(shared_dir, "db")
    os.mkdir(dbdir)
    db = os.path.join(dbdir, "r.db")
    make_db(db)
    before = snapshot(db)
    raw = open(db, "rb").read()
    if what == "file":
        os.chmod(dbdir, 0o777)  # the directory is writable, the file is not
        os.chmod(db, 0o444)
    else:
        os.chmod(db, 0o644)     # the file would be writable by its owner, the directory is not
        os.chmod(dbdir, 0o555)
    try:
        r = run(sweep_args(db, "--force"), **unprivileged(home))
    finally:
        os.chmod(dbdir, 0o755)
        os.chmod(db, 0o644)
    assert r.returncode == 1, r.stderr
    assert "Results database" in r.stderr and db in r.stderr, r.stderr
    assert "readonly" in r.stderr.replace("-", "").replace(" ", "").lower() or "unable to open" in r.stderr, r.stderr
    assert open(db, "rb").read() == raw, "the file is unchanged, byte for byte"
    assert snapshot(db) == before
    # Reading still works.
    r = run([TOOL, "winners", "--db", db, "--all", "--csv"], **unprivileged(home))
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 + 2


# ---- a full disk ------------------------------------------------------------------------------------------

def limit_file_size(nbytes):
    """A write past nbytes fails with EFBIG, as on a full disk (SIGXFSZ would kill instead: it is ignored)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return apply


def test_disk_full_keeps_whole_shapes(tmp_path):
    db = tmp_path / "full.db"
    make_db(db)
    before_size = os.path.getsize(db)
    done_before = assert_whole_shapes(db)
    # Room for a few pages more, not for a new shape's rows, run row and WAL frames.
    r = run(sweep_args(db, "--force"), preexec_fn=limit_file_size(before_size + 4096))
    assert r.returncode == 1, r.stderr
    assert "Results database" in r.stderr, r.stderr
    assert any(w in r.stderr for w in ("full", "too large", "I/O error", "disk")), r.stderr
    assert "Traceback" not in r.stderr and "Sanitizer" not in r.stderr
    assert assert_whole_shapes(db) >= done_before
    # With room again, the same command finishes the job.
    r = run(sweep_args(db))
    assert r.returncode == 0, r.stderr
    assert assert_whole_shapes(db) == len(SHAPES)


def test_disk_full_from_the_start(tmp_path):
    db = tmp_path / "new.db"
    r = run(sweep_args(db), preexec_fn=limit_file_size(1024))
    assert r.returncode == 1, r.stderr
    assert "Results database" in r.stderr, r.stderr
    if db.exists() and db.stat().st_size > 0:
        assert assert_whole_shapes(db) == 0


# ---- rows from another machine ----------------------------------------------------------------------------

def test_database_from_another_machine(tmp_path):
    db = tmp_path / "other.db"
    make_db(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE hardware SET fingerprint = 'f' || substr(fingerprint, 2) || '-elsewhere'")
    con.commit()
    measured = con.execute("SELECT count(*) FROM measurements").fetchone()[0]
    con.close()
    r = run([TOOL, "winners", "--db", str(db), "--csv"])
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) <= 1, "another machine's winners are not shown by default"
    r = run([TOOL, "winners", "--db", str(db), "--csv", "--all"])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1 + 2
    # A sweep here measures again instead of trusting the other machine's rows.
    r = run(sweep_args(db, shapes=SHAPES[:2]))
    assert r.returncode == 0, r.stderr
    assert "already finished" not in r.stderr or "0 already finished" in r.stderr, r.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM measurements").fetchone()[0] == 2 * measured
    assert con.execute("SELECT count(*) FROM hardware").fetchone()[0] == 2
    con.close()
    r = run([TOOL, "winners", "--db", str(db), "--csv"])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1 + 2


# ---- descriptors too large to allocate --------------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["bench", "run", "sweep"])
def test_huge_descriptor_refused_before_allocation(tmp_path, cmd):
    args = {"bench": [TOOL, "bench", "--shape", HUGE],
            "run": [TOOL, "run", "--shape", HUGE, "--x", str(tmp_path / "x.npy"), "--w", str(tmp_path / "w.npy"),
                    "--y", str(tmp_path / "y.npy")],
            "sweep": [TOOL, "sweep", "--db", str(tmp_path / "h.db"), "--shape", HUGE]}[cmd]

    def small_address_space():
        # Were the tool to try, it would fail here rather than exhaust the machine.
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    r = run(args, timeout=60, preexec_fn=None if SANITIZED else small_address_space)
    assert r.returncode == 2, r.stderr
    assert "over the limit of 16 GiB" in r.stderr and "CONV1D_MAX_BYTES" in r.stderr, r.stderr
    assert not (tmp_path / "h.db").exists() and not (tmp_path / "y.npy").exists()


def test_max_bytes_lowers_and_must_be_a_number(tmp_path):
    r = run([TOOL, "bench", "--shape", SMALL], env=dict(os.environ, CONV1D_MAX_BYTES="1000"))
    assert r.returncode == 2 and "over the limit" in r.stderr, r.stderr
    for bad in ("abc", "-5", "0", "1e9", "99999999999999999999999"):
        r = run([TOOL, "bench", "--shape", SMALL], env=dict(os.environ, CONV1D_MAX_BYTES=bad))
        assert r.returncode == 2 and "CONV1D_MAX_BYTES must be" in r.stderr, (bad, r.stderr)


def test_overflowing_descriptor_is_a_clear_error():
    big = "batch=9223372036854775807,length=9223372036854775807,in_channels=3,out_channels=3,kernel_size=1"
    r = run([TOOL, "bench", "--shape", big], timeout=60)
    assert r.returncode == 2 and "bench" in r.stderr, r.stderr


# ---- hostile .npy files -----------------------------------------------------------------------------------

def npy_bytes(header, data=b"", version=(1, 0)):
    header = header.encode("latin1") if isinstance(header, str) else header
    pad = (-(10 + len(header) + 1)) % 64
    header = header + b" " * pad + b"\n"
    if version == (1, 0):
        pre = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
    else:
        pre = b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(header))
    return pre + header + data


HOSTILE_NPY = {
    "huge_dim": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1152921504606846976, 50, 4), }"),
    "overflowing_product": npy_bytes("{'descr': '<f4', 'fortran_order': False, "
                                     "'shape': (4294967296, 4294967296, 4294967296), }"),
    "negative_dim": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -50, 4), }"),
    "header_len_past_end": b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'",
    "v2_header_len_4GiB": b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr': '<f4'",
    "truncated_data": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 50, 4), }", b"\0" * 100),
    "extra_data": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 50, 4), }", b"\0" * 801),
    "object_dtype": npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1, 50, 4), }", b"\0" * 1600),
    "structured_dtype": npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 50, 4), }"),
    "nested_parens": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 2000 + ")" * 2000
                               + ", }"),
    "too_many_dims": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 100 + "), }",
                               b"\0" * 4),
    "unknown_key": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 50, 4), 'x': 1}",
                             b"\0" * 800),
    "not_npy": b"PK\x03\x04" + os.urandom(200),
    "empty": b"",
    "nul_in_header": npy_bytes("{'descr': '<f4\0', 'fortran_order': False, 'shape': (1, 50, 4), }", b"\0" * 800),
    "long_descr": npy_bytes("{'descr': '" + "<" * 5000 + "f4', 'fortran_order': False, 'shape': (1, 50, 4), }",
                            b"\0" * 800, version=(2, 0)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NPY))
def test_hostile_npy_refused(tmp_path, name):
    x = tmp_path / "x.npy"
    x.write_bytes(HOSTILE_NPY[name])
    w = tmp_path / "w.npy"
    np.save(w, np.ones((3, 4, 4), np.float32))
    y = tmp_path / "y.npy"
    r = run([TOOL, "run", "--shape", SMALL, "--x", str(x), "--w", str(w), "--y", str(y), "--variant", "ref"],
            timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert str(x) in r.stderr and len(r.stderr) < 2000, r.stderr
    assert not y.exists()


# ---- suite files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [4097, 5000, 100000])
def test_overlong_suite_line(tmp_path, length):
    suite = tmp_path / "long.suite"
    line = SHAPES[0] + "," + " " * (length - len(SHAPES[0]) - 1)
    suite.write_text(SHAPES[1] + "\n" + line + "\n")
    r = run([TOOL, "sweep", "--db", str(tmp_path / "x.db"), "--suite", str(suite)], timeout=60)
    assert r.returncode == 2 and f"{suite}:2: line longer than 4096 characters" in r.stderr, r.stderr
    assert not (tmp_path / "x.db").exists()


def test_suite_line_at_the_limit_is_accepted(tmp_path):
    suite = tmp_path / "edge.suite"
    suite.write_text(SHAPES[0] + " " * (4095 - len(SHAPES[0])) + "\n")  # 4096 characters with the newline
    r = run([TOOL, "sweep", "--db", str(tmp_path / "x.db"), "--suite", str(suite), "--quick", "--budget", "0.05"])
    assert r.returncode == 0, r.stderr


def test_binary_suite(tmp_path):
    suite = tmp_path / "bin.suite"
    suite.write_bytes(b"\0\xff\xfe" * 1000 + b"\n")
    r = run([TOOL, "sweep", "--db", str(tmp_path / "x.db"), "--suite", str(suite)], timeout=60)
    assert r.returncode == 2 and f"{suite}:1:" in r.stderr, r.stderr


# ---- environment variables with absurd values -------------------------------------------------------------

def test_db_variable_naming_a_directory(tmp_path):
    env = dict(os.environ, CONV1D_DB=str(tmp_path))
    r = run([TOOL, "sweep", "--quick", "--shape", SMALL], env=env)
    assert r.returncode == 1 and "Results database" in r.stderr and str(tmp_path) in r.stderr, r.stderr
    r = run([TOOL, "winners"], env=env)
    assert r.returncode == 1 and "Results database" in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


def test_db_variable_unreachable_or_overlong(tmp_path):
    r = run([TOOL, "winners"], env=dict(os.environ, CONV1D_DB=str(tmp_path / "no" / "such" / "dir.db")))
    assert r.returncode == 2 and "no results database at" in r.stderr, r.stderr
    r = run([TOOL, "sweep", "--quick", "--shape", SMALL],
            env=dict(os.environ, CONV1D_DB=str(tmp_path / "no" / "such" / "dir.db")))
    assert r.returncode == 1 and "Results database" in r.stderr, r.stderr
    for args in (["winners", "--db", "x" * 5000], ["sweep", "--quick", "--shape", SMALL, "--db", "x" * 5000]):
        r = run([TOOL, *args], cwd=tmp_path)
        assert r.returncode in (1, 2) and "database" in r.stderr.lower(), r.stderr
        assert len(r.stderr) < 8000
    assert os.listdir(tmp_path) == []


def make_inputs(tmp_path):
    x, w, y = tmp_path / "x.npy", tmp_path / "w.npy", tmp_path / "y.npy"
    np.save(x, np.random.default_rng(0).uniform(-1, 1, (1, 50, 4)).astype(np.float32))
    np.save(w, np.random.default_rng(1).uniform(-1, 1, (3, 4, 4)).astype(np.float32))
    return [TOOL, "run", "--shape", SMALL, "--x", str(x), "--w", str(w), "--y", str(y)], y


@pytest.mark.parametrize("value", ["no_such_variant", "x" * 10000, "ref\nref", "%s%s%n"])
def test_variant_variable_absurd(tmp_path, value):
    args, y = make_inputs(tmp_path)
    r = run(args, env=dict(os.environ, CONV1D_VARIANT=value, CONV1D_DB=str(tmp_path / "none.db")), timeout=60)
    assert r.returncode == 1 and "CONV1D_VARIANT" in r.stderr, r.stderr
    assert len(r.stderr) < 2000
    assert not y.exists()


@pytest.mark.parametrize("var,value", [
    ("CONV1D_VERBOSE", "99999999999999999999999"), ("CONV1D_VERBOSE", "-1"), ("CONV1D_VERBOSE", "yes please"),
    ("OMP_NUM_THREADS", "100000"), ("OMP_NUM_THREADS", "0"), ("OMP_NUM_THREADS", "-3"), ("OMP_NUM_THREADS", "abc"),
    ("OMP_NUM_THREADS", "1,2,3,4,5,6,7,8,9,10"),
])
def test_absurd_environment_still_computes(tmp_path, var, value):
    args, y = make_inputs(tmp_path)
    r = run(args, env=dict(os.environ, **{var: value}, CONV1D_DB=str(tmp_path / "none.db")), timeout=120)
    assert r.returncode == 0, r.stderr
    got = np.load(y)
    assert got.shape == (1, 48, 4) and np.isfinite(got).all()
