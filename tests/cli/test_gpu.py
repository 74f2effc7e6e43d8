"""conv1d-tune on the GPU side: --device for sweep and bench, the GPU part of hw, and gpu.suite.

On a machine without a usable GPU (or a build without CUDA) the CUDA paths must refuse or skip with one
clear sentence; the GPU-only checks skip there. Run with:
CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli/test_gpu.py
"""
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune"))
# A CPU-only build of the same sources, for the fingerprint comparison (make CUDA=0 BUILD=build-nocuda all).
TOOL_NOCUDA = os.environ.get("CONV1D_TUNE_NOCUDA", str(ROOT / "build-nocuda" / "bin" / "conv1d-tune"))
SHAPE = "batch=1,length=64,in_channels=4,out_channels=4,kernel_size=3,padding=1"
GPU_SUITE = ROOT / "autotune" / "suites" / "gpu.suite"


def tool(*args, exe=None, timeout=300):
    exe = exe or TOOL
    if not os.path.exists(exe):
        pytest.fail(f"{exe} is not built (make all, or set CONV1D_TUNE)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def hw_record(exe=None):
    r = tool("hw", "--json", exe=exe)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def record():
    return hw_record()


@pytest.fixture(scope="module")
def has_gpu(record):
    return record["cuda"]["gpu_count"] > 0


def no_gpu_only(has_gpu):
    if has_gpu:
        pytest.skip("this machine has a GPU")


def gpu_only(has_gpu):
    if not has_gpu:
        pytest.skip("no usable GPU on this machine")


# --- without a GPU ------------------------------------------------------------------------------------

def test_hw_has_no_gpu_entry(record, has_gpu):
    no_gpu_only(has_gpu)
    cuda = record["cuda"]
    assert cuda["gpus"] == [] and cuda["gpu_count"] == 0
    if cuda["compiled"]:
        assert cuda["error"]  # why there is none, from the probe child


def test_fingerprint_same_with_and_without_cuda(record, has_gpu):
    no_gpu_only(has_gpu)
    if not os.path.exists(TOOL_NOCUDA):
        pytest.skip(f"no CPU-only build at {TOOL_NOCUDA} (make CUDA=0 BUILD=build-nocuda all)")
    other = hw_record(TOOL_NOCUDA)
    assert other["cuda"]["compiled"] is False
    assert other["fingerprint"] == record["fingerprint"]


def test_sweep_device_cuda_fails_with_a_sentence(tmp_path, has_gpu):
    no_gpu_only(has_gpu)
    db = tmp_path / "x.db"
    r = tool("sweep", "--shape", SHAPE, "--device", "cuda", "--db", str(db), "--quick")
    assert r.returncode == 1, r.stderr
    assert "--device cuda, but this machine has no usable GPU (" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not db.exists()


def test_sweep_device_all_skips_cuda(tmp_path, has_gpu):
    no_gpu_only(has_gpu)
    db = tmp_path / "x.db"
    r = tool("sweep", "--shape", SHAPE, "--device", "all", "--db", str(db), "--quick", "--threads", "1",
             "--seed", "7")
    assert r.returncode == 0, r.stderr
    skips = [line for line in r.stderr.splitlines() if "skipping cuda" in line]
    assert len(skips) == 1 and "no usable GPU" in skips[0], r.stderr
    with sqlite3.connect(db) as c:
        devices = {d for (d,) in c.execute("SELECT DISTINCT device FROM measurements")}
    assert devices == {"cpu"}


def test_bench_device_cuda_says_no_gpu(has_gpu):
    no_gpu_only(has_gpu)
    r = tool("bench", "--shape", SHAPE, "--device", "cuda", "--copy")
    assert r.returncode == 1, r.stderr
    assert "no usable GPU" in r.stderr and r.stdout == ""


# --- either way ---------------------------------------------------------------------------------------

def test_bench_device_refusal():
    r = tool("bench", "--shape", SHAPE, "--device", "tpu")
    assert r.returncode == 2 and "--device must be cpu or cuda" in r.stderr, r.stderr


def test_bench_help_mentions_device():
    r = tool("bench", "--help")
    assert r.returncode == 0 and "--device D" in r.stdout


def test_gpu_suite_lines_parse_and_cite_a_model():
    lines = GPU_SUITE.read_text().splitlines()
    shapes = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(shapes) >= 12
    for shape in shapes:
        r = tool("describe", shape)
        assert r.returncode == 0, (shape, r.stderr)
        batch = int(shape.split("batch=")[1].split(",")[0])
        assert 8 <= batch <= 64, shape
    # Every shape sits under a "# --- <model> (<source>)" heading.
    heading = None
    for line in lines:
        if line.startswith("# ---"):
            heading = line
        elif line.strip() and not line.startswith("#"):
            assert heading and "(" in heading, line


# --- make gpu-check's deployment paths, on any machine ----------------------------------------------------

def check_tree(tmp_path, fakes):
    """A copy of what gpu_check.sh reads (as a copy of the working tree without .gpu-deps/ would have it) and
    a bin folder of fake commands put first on PATH."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    (tree / "autotune" / "suites").mkdir(parents=True)
    for name in ("gpu_check.sh", "gpu_summary.py"):
        shutil.copy2(ROOT / "scripts" / name, tree / "scripts" / name)
    shutil.copy2(GPU_SUITE, tree / "autotune" / "suites" / "gpu.suite")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in fakes.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    out = tmp_path / "out"
    r = subprocess.run([str(tree / "scripts" / "gpu_check.sh"), str(out)], capture_output=True, text=True,
                       timeout=120, env=env)
    return r, out


def suite_pairs():
    lines = GPU_SUITE.read_text().splitlines()
    return 2 * len([line for line in lines if line.strip() and not line.lstrip().startswith("#")])


def test_gpu_check_without_gpu_deps_says_so_in_one_line(tmp_path):
    r, out = check_tree(tmp_path, {"pkg-config": "exit 1"})
    assert r.returncode == 1
    said = [line for line in r.stderr.splitlines() if ".gpu-deps" in line]
    assert len(said) == 1 and "make gpu-deps" in said[0] and "copy .gpu-deps/ along" in said[0], r.stderr
    # and the summary is still written: nothing measured, every pair listed as skipped
    status = (out / "status.txt").read_text()
    assert "build: not built" in status and "0 shape/layout pairs measured" in status
    skipped = (out / "skipped.txt").read_text().splitlines()
    assert len(skipped) == suite_pairs() and all("(nwc)" in s or "(ncw)" in s for s in skipped)


def test_gpu_check_without_a_gpu_ends_with_a_summary(tmp_path):
    if subprocess.run(["pkg-config", "--exists", "hwloc", "sqlite3"]).returncode != 0:
        pytest.skip("pkg-config finds no hwloc/SQLite here")
    r, out = check_tree(tmp_path, {"nvidia-smi": "echo 'NVIDIA-SMI has failed' >&2; exit 9"})
    assert r.returncode == 1
    assert "no usable NVIDIA GPU here" in r.stderr
    status = (out / "status.txt").read_text()
    assert f"{suite_pairs()} not measured" in status
    assert "not measured: no GPU" in (out / "skipped.txt").read_text()


# --- with a GPU ---------------------------------------------------------------------------------------

def test_hw_gpu_entry(record, has_gpu):
    gpu_only(has_gpu)
    cuda = record["cuda"]
    assert cuda["compiled"] and cuda["driver_version"] > 0 and cuda["error"] == ""
    for g in cuda["gpus"]:
        assert g["name"] and g["sm_count"] > 0 and g["memory_bytes"] > 0 and g["l2_bytes"] > 0
        assert "peaks" not in g


def test_hw_gpu_peaks(has_gpu, tmp_path):
    gpu_only(has_gpu)
    env_cache = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    r = subprocess.run([TOOL, "hw", "--json", "--peaks"], capture_output=True, text=True, timeout=300, env=env_cache)
    assert r.returncode == 0, r.stderr
    g = json.loads(r.stdout)["cuda"]["gpus"][0]
    if "peaks" not in g:
        pytest.skip(f"GPU ceilings not measured: {r.stderr.strip()}")
    assert g["peaks"]["fma_gflops"] > 100 and g["peaks"]["copy_gbs"] > 50


def test_bench_cuda_copy_row(has_gpu):
    gpu_only(has_gpu)
    r = tool("bench", "--shape", SHAPE, "--device", "cuda", "--copy", "--csv", "--budget", "0.2", "--rounds", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err"
    rows = [line.split(",") for line in lines[1:]]
    copy = [row for row in rows if row[0] == "copy"]
    assert len(copy) == 1 and copy[0][2] == "cuda" and copy[0][4] == "ok" and float(copy[0][5]) > 0
    assert all(row[2] == "cuda" for row in rows)


def test_sweep_device_cuda_records_cuda_only(tmp_path, has_gpu):
    gpu_only(has_gpu)
    db = tmp_path / "x.db"
    r = tool("sweep", "--shape", SHAPE, "--device", "cuda", "--db", str(db), "--quick")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(db) as c:
        devices = {d for (d,) in c.execute("SELECT DISTINCT device FROM measurements")}
    assert devices <= {"cuda"}
