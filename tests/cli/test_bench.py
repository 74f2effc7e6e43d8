"""conv1d-tune bench: the CSV contract, variant selection, and refusals."""
import csv
import io
import os
import subprocess

import pytest

TOOL = os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune")
COLUMNS = "variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err"
SHAPE = "batch=2,length=300,in_channels=16,out_channels=24,kernel_size=3,stride=2,pad_left=2,dilation=2,bias=1"


def bench(*args):
    return subprocess.run([TOOL, "bench", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["nwc", "ncw"])
def test_csv_contract(layout):
    r = bench("--shape", SHAPE, "--layout", layout, "--csv", "--budget", "0.1", "--rounds", "2",
              "--variant", "ref", "--variant", "onednn", "--variant", "onednn_any", "--seed", "7")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == COLUMNS
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sorted(row["variant"] for row in rows) == ["onednn", "onednn_any", "ref"]
    times = []
    for row in rows:
        assert row["status"] == "ok", row
        assert row["device"] == "cpu" and row["precision"] == "fp32"
        p10, med, p90 = float(row["p10_ms"]), float(row["median_ms"]), float(row["p90_ms"])
        assert 0 < p10 <= med <= p90
        assert float(row["gflops"]) > 0 and float(row["gbs"]) > 0
        assert 0 <= float(row["rel_err"]) < 1e-4
        times.append(med)
    assert times == sorted(times), "rows are sorted by median time"


def test_default_set_excludes_reference():
    r = bench("--shape", SHAPE, "--csv", "--budget", "0.05", "--rounds", "1")
    assert r.returncode == 0, r.stderr
    names = [row["variant"] for row in csv.DictReader(io.StringIO(r.stdout))]
    assert "ref" not in names and "onednn" in names


def test_table_mentions_peer_and_roofline():
    r = bench("--shape", SHAPE, "--budget", "0.05", "--rounds", "1")
    assert r.returncode == 0, r.stderr
    assert "vs_onednn" in r.stdout and "%roof" in r.stdout
    assert "batch=2,length=300" in r.stdout


def test_per_child_and_screen_keep_every_row():
    """Several variants per child and a screened second round report the same rows with the same outcomes."""
    base = bench("--shape", SHAPE, "--csv", "--budget", "0.05", "--rounds", "1", "--seed", "3")
    grouped = bench("--shape", SHAPE, "--csv", "--budget", "0.1", "--rounds", "2", "--seed", "3",
                    "--per-child", "64", "--screen", "1")
    assert base.returncode == 0 and grouped.returncode == 0, base.stderr + grouped.stderr
    status = lambda out: {row["variant"]: row["status"] for row in csv.DictReader(io.StringIO(out))}
    assert status(base.stdout) == status(grouped.stdout)
    for row in csv.DictReader(io.StringIO(grouped.stdout)):
        if row["status"] == "ok":
            assert float(row["median_ms"]) > 0


@pytest.mark.parametrize("args,fragment", [
    (["--shape", SHAPE, "--per-child", "0"], "--per-child"),
    (["--shape", SHAPE, "--screen", "-1"], "--screen"),
    (["--shape", SHAPE, "--variant", "nope"], "unknown variant 'nope'"),
    (["--shape", "length=0"], "bad --shape"),
    (["--variant", "ref"], "--shape DESC is required"),
    (["--shape", SHAPE, "--threads", "0"], "--threads"),
    (["--shape", SHAPE, "--budget", "-1"], "--budget"),
    (["--shape", SHAPE, "--bogus"], "unrecognized option"),
])
def test_refusals(args, fragment):
    r = bench(*args)
    assert r.returncode == 2
    assert fragment in r.stderr


def test_help():
    r = bench("--help")
    assert r.returncode == 0 and "usage: conv1d-tune bench" in r.stdout


def test_copy_yardstick():
    """--copy adds the copy of the same bytes as a row of its own: timed, never a convolution result."""
    r = bench("--shape", SHAPE, "--csv", "--budget", "0.1", "--rounds", "1", "--variant", "onednn", "--copy")
    assert r.returncode == 0, r.stderr
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(r.stdout))}
    assert set(rows) == {"onednn", "copy"}
    c = rows["copy"]
    assert c["family"] == "baseline" and c["status"] == "ok"
    assert float(c["median_ms"]) > 0 and float(c["gbs"]) > 0
    assert c["gflops"] == "" and c["rel_err"] == ""
    table = bench("--shape", SHAPE, "--budget", "0.05", "--rounds", "1", "--variant", "onednn", "--copy")
    assert table.returncode == 0 and "%copy" in table.stdout and "yardstick" in table.stdout


@pytest.mark.parametrize("levels,expect", [("avx512bf16 avx512 avx2 c", ["avx512bf16", "avx2"]),
                                           ("avx512 avx2 c", ["avx512", "avx2"]), ("avx2 c", ["avx2"])])
def test_bench_script_levels(tmp_path, levels, expect):
    """scripts/bench.sh (make bench) runs the CPU's best ISA level and, on any AVX-512 machine (AVX512_BF16 ones
    included), the AVX2 level too: checked with a stand-in for the tool that reports the given levels and records
    the CONV1D_ISA of each bench call."""
    calls = tmp_path / "calls"
    fake = tmp_path / "tool"
    fake.write_text(f"""#!/bin/sh
if [ "$1" = hw ]; then echo "{levels}"; exit 0; fi
echo "$CONV1D_ISA $*" >> {calls}
echo "{COLUMNS}"
echo "ref,ref,cpu,fp32,ok,1,1,1,1,1,0"
""")
    fake.chmod(0o755)
    suite = tmp_path / "one.suite"
    suite.write_text("# one shape\n" + SHAPE + "\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_ISA", "BENCH_DTYPES", "CONV1D_ISA")}
    env["BENCH_DTYPES"] = ""
    script = os.path.join(root, "scripts", "bench.sh")
    r = subprocess.run(["bash", script, str(fake), str(suite), str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    isas = [line.split()[0] for line in calls.read_text().splitlines()]
    assert sorted(set(isas)) == sorted(expect), isas
    assert len(isas) == 2 * len(expect)  # both layouts per level
