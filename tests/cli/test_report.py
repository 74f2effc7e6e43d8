"""scripts/report.py: the report of a real quick sweep, its numbers against the DB, its refusals, and the page
as a browser renders it (headless Chromium, which `make deps` installs)."""
import csv
import hashlib
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build/bin/conv1d-tune"))
REPORT = ROOT / "scripts/report.py"
SCREENSHOT = Path(__file__).resolve().parent / "output" / "report-screenshot.png"
SHAPES = [
    "batch=1,length=200,in_channels=8,out_channels=16,kernel_size=3,padding=1",
    "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=4,num_groups=32,pad_left=3",
    "batch=1,length=400,in_channels=1,out_channels=16,kernel_size=7,stride=3",
]
# A baseline-free report with one page of variants: variants-1, speedup, roofline-cpu, families, tuning-cost.
BASE_FIGURES = {"variants-1", "speedup", "roofline-cpu", "families", "tuning-cost"}


def sweep(db, *extra):
    args = [TOOL, "sweep", "--db", str(db), "--quick", "--seed", "3", "--layout", "both", *extra]
    for s in SHAPES:
        args += ["--shape", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def report(db, out, *extra):
    return subprocess.run([sys.executable, str(REPORT), "--db", str(db), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120)


def figures(out):
    """Names of the figures in a report folder; each must come as both PNG and SVG."""
    png = {p.stem for p in Path(out).glob("*.png")}
    svg = {p.stem for p in Path(out).glob("*.svg")}
    assert png == svg, (png, svg)
    return png


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A budgeted (random) sweep, then an exhaustive one of the same shapes: the newest winners come from it."""
    path = tmp_path_factory.mktemp("report") / "r.db"
    sweep(path, "--strategy", "random")
    sweep(path, "--strategy", "exhaustive", "--force")
    return path


@pytest.fixture(scope="module")
def baseline(db, tmp_path_factory):
    """A copy of the DB in which one shape's winner was 3x slower (now an improvement) and another's 3x faster
    (now a regression); the rest are unchanged (noise)."""
    path = tmp_path_factory.mktemp("baseline") / "b.db"
    shutil.copy(db, path)
    con = sqlite3.connect(path)
    ids = [r[0] for r in con.execute("SELECT shape_id FROM winners WHERE stale = 0 ORDER BY shape_id")]
    # A point range 3x beyond the far end of the current [p10, p90]: scaling the whole range instead would
    # still overlap it whenever p90 > 3 p10, as on a loaded machine or a sanitizer build.
    con.execute("UPDATE winners SET median_ms = p90_ms * 3, p10_ms = p90_ms * 3, p90_ms = p90_ms * 3 "
                "WHERE shape_id = ?", (ids[0],))
    con.execute("UPDATE winners SET median_ms = p10_ms / 3, p10_ms = p10_ms / 3, p90_ms = p10_ms / 3 "
                "WHERE shape_id = ?", (ids[1],))
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def full_report(db, baseline, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "report"
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    r = report(db, out, "--baseline", baseline)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before, "the DB is opened read-only"
    return out


def test_files_and_figures(full_report):
    for name in ("index.html", "winners.csv"):
        assert (full_report / name).stat().st_size > 0
    # The dispatcher's cross-validation needs the tool, which the CLI tests have (CONV1D_TUNE).
    assert figures(full_report) == BASE_FIGURES | {"strategy", "baseline", "dispatcher"}
    for p in full_report.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000, p
    page = (full_report / "index.html").read_text()
    fingerprint = subprocess.run([TOOL, "hw", "--json"], capture_output=True, text=True).stdout
    assert re.search(r'"fingerprint"\s*:\s*"([0-9a-f]+)"', fingerprint).group(1) in page
    for fragment in ("FMA peak", "copy bandwidth", "oneDNN", "signature", "<table>"):
        assert fragment in page, fragment


def test_winners_csv_matches_the_db(db, full_report):
    with open(full_report / "winners.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == ["shape", "device", "precision", "variant", "family", "median_ms", "p10_ms",
                                    "p90_ms", "gflops", "peer", "peer_ms", "speedup"]
    con = sqlite3.connect(db)
    want = {r[0]: r for r in con.execute(
        "SELECT s.key, w.device, w.precision, w.variant, w.median_ms, w.p10_ms, w.p90_ms, w.peer_variant, "
        "w.peer_median_ms FROM winners w JOIN shapes s ON s.id = w.shape_id WHERE w.stale = 0")}
    assert len(rows) == len(want) == 2 * len(SHAPES)
    listed = subprocess.run([TOOL, "list", "--csv"], capture_output=True, text=True).stdout.splitlines()[1:]
    family = {line.split(",")[0]: line.split(",")[1] for line in listed}
    for row in rows:
        key, device, precision, variant, median, p10, p90, peer, peer_ms = want[row["shape"]]
        assert (row["device"], row["precision"], row["variant"], row["peer"]) == (device, precision, variant, peer)
        assert row["family"] == family[variant]
        for got, exp in ((row["median_ms"], median), (row["p10_ms"], p10), (row["p90_ms"], p90),
                         (row["peer_ms"], peer_ms), (row["speedup"], peer_ms / median)):
            assert math.isclose(float(got), exp, rel_tol=1e-5), (key, got, exp)
        # FLOPs as the CLI counts them, independently of the report's own formula
        described = subprocess.run([TOOL, "describe", key], capture_output=True, text=True).stdout
        flops = int(re.search(r"^flops:\s+(\d+)", described, re.M).group(1))
        assert math.isclose(float(row["gflops"]), flops / (median * 1e6), rel_tol=1e-5), key


def test_baseline_verdicts(full_report):
    svg = (full_report / "baseline.svg").read_text()
    # the legend counts each verdict: one improvement, one regression, the rest noise
    assert "regression (1)" in svg and "improvement (1)" in svg and f"noise ({2 * len(SHAPES) - 2})" in svg


def test_without_budgeted_runs_or_baseline(db, tmp_path):
    copy = tmp_path / "exhaustive-only.db"
    shutil.copy(db, copy)
    con = sqlite3.connect(copy)
    con.execute("DELETE FROM measurements WHERE run_id IN (SELECT id FROM runs WHERE args LIKE '%random%')")
    con.execute("DELETE FROM runs WHERE args LIKE '%random%'")
    con.commit()
    con.close()
    r = report(copy, tmp_path / "out", "--tool", "/nonexistent/conv1d-tune")
    assert r.returncode == 0, r.stderr
    assert figures(tmp_path / "out") == BASE_FIGURES
    page = (tmp_path / "out/index.html").read_text()
    assert "nothing to compare" in page
    # Without the tool there is no cross-validation, and the page says what it needs.
    assert "The dispatcher on shapes nobody tuned</h2><p>Not measured" in page


def test_fft_figure(tmp_path):
    """A long-kernel shape brings the FFT family in: the report plots it against the direct kernels and as a
    share of the FMA peak."""
    db = tmp_path / "fft.db"
    env = dict(os.environ, CONV1D_FFTW_WISDOM=str(tmp_path / "wisdom"))
    r = subprocess.run([TOOL, "sweep", "--db", str(db), "--quick", "--seed", "3", "--shape",
                        "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=33,num_groups=4,padding=16"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    r = report(db, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert figures(tmp_path / "out") == BASE_FIGURES - {"speedup"} | {"fft"} or \
        figures(tmp_path / "out") == BASE_FIGURES | {"fft"}
    page = (tmp_path / "out/index.html").read_text()
    assert "FFT family against direct convolution" in page and "FFT flops" in page


def test_help():
    r = subprocess.run([sys.executable, str(REPORT), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--baseline" in r.stdout and "--machine" in r.stdout


def empty_conv1d_db(src, dst, keep_runs):
    """A DB with the conv1d-tune schema and no winners (and no runs unless keep_runs)."""
    shutil.copy(src, dst)
    con = sqlite3.connect(dst)
    con.execute("DELETE FROM winners")
    if not keep_runs:
        con.execute("DELETE FROM measurements")
        con.execute("DELETE FROM runs")
    con.commit()
    con.close()


@pytest.mark.parametrize("case,fragment", [
    ("missing", "no such database file"),
    ("random-bytes", "is not a conv1d-tune results database"),
    ("zero-bytes", "is not a conv1d-tune results database"),
    ("other-sqlite", "is not a conv1d-tune results database"),
    ("no-runs", "has no runs"),
    ("no-winners", "has no current winners"),
    ("unknown-machine", "no machine matching"),
])
def test_refusals(db, tmp_path, case, fragment):
    path, extra = tmp_path / "x.db", []
    if case == "random-bytes":
        path.write_bytes(os.urandom(4096))
    elif case == "zero-bytes":
        path.write_bytes(b"")
    elif case == "other-sqlite":
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    elif case in ("no-runs", "no-winners"):
        empty_conv1d_db(db, path, keep_runs=case == "no-winners")
    elif case == "unknown-machine":
        path, extra = db, ["--machine", "nosuchmachine"]
    r = report(path, tmp_path / "out", *extra)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("report: ") and fragment in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed: the report's browser check needs it (`make deps` installs it)")
    return [exe, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"]


def test_page_renders_in_chromium(full_report):
    browser = chromium()
    page = full_report / "index.html"
    on_disk = Images()
    on_disk.feed(page.read_text())
    assert len(on_disk.images) == len(figures(full_report))
    for img in on_disk.images:
        assert (full_report / img["src"]).is_file(), img["src"]
    # A copy of the page that records, once loaded, whether each image decoded; plus one image that must not.
    probe = ('<img id="probe" src="no-such-figure.png"><script>window.addEventListener("load", () => {'
             'for (const i of document.images) i.dataset.loaded = i.complete && i.naturalWidth > 0 ? "yes" : "no";'
             '});</script></body>')
    check = full_report / "_check.html"
    check.write_text(page.read_text().replace("</body>", probe))
    try:
        r = subprocess.run(browser + ["--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000",
                                      "--dump-dom", check.as_uri()], capture_output=True, text=True, timeout=60)
    finally:
        check.unlink()
    rendered = Images()
    rendered.feed(r.stdout)
    assert len(rendered.images) == len(on_disk.images) + 1, r.stderr[-2000:]
    for img in rendered.images:
        assert img.get("data-loaded") == ("no" if img.get("id") == "probe" else "yes"), img
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    r = subprocess.run(browser + [f"--screenshot={SCREENSHOT}", "--window-size=1400,4000", page.as_uri()],
                       capture_output=True, text=True, timeout=60)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10000, r.stderr[-2000:]
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"report screenshot: {SCREENSHOT}")


def test_older_schema_reports_the_same_winners(db, full_report, tmp_path):
    """A file older than the store's current_winners view (schema 2) is read with the join the view makes."""
    old = tmp_path / "old.db"
    shutil.copy(db, old)
    con = sqlite3.connect(old)
    con.executescript("DROP VIEW current_winners; DROP VIEW all_winners; PRAGMA user_version = 2;")
    con.close()
    r = report(old, tmp_path / "report")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report" / "winners.csv").read_text() == (full_report / "winners.csv").read_text()
