"""scripts/gpu_summary.py on a synthetic gpu-check CSV: the per-shape ratios, the suite's aggregates, the
ceilings read from a hardware record, and refusals of malformed input."""
import csv
import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "gpu_summary.py")
HEADER = "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err".split(",")
DENSE = "batch=1,length=4096,in_channels=256,out_channels=256,kernel_size=3,padding=1"
DW = "batch=1,length=4096,in_channels=512,out_channels=512,kernel_size=4,pad_left=3,groups=512"

spec = importlib.util.spec_from_file_location("gpu_summary", SCRIPT)
gpu_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_summary)


def row(shape, variant, family, precision, ms, status="ok", gflops=""):
    return {"shape": shape, "layout": "nwc", "variant": variant, "family": family, "device": "cuda",
            "precision": precision, "status": status, "median_ms": "" if ms is None else str(ms), "p10_ms": "",
            "p90_ms": "", "gflops": str(gflops), "gbs": "", "rel_err": ""}


ROWS = [
    # dense: the hand-written kernel (0.5 ms) loses to cuDNN's best fp32 algorithm (0.4 ms)
    row(DENSE, "cuda_smem_64x128", "cuda_smem", "fp32", 0.5, gflops=20000),
    row(DENSE, "cuda_tiled_32x32", "cuda_tiled", "fp32", 0.9, gflops=11000),
    row(DENSE, "cudnn_algo0", "cudnn", "fp32", 0.6),
    row(DENSE, "cudnn_algo1", "cudnn", "fp32", 0.4),
    row(DENSE, "cudnn_algo6", "cudnn", "fp32", 0.1, status="wrong"),   # never counted: not correct
    row(DENSE, "cudnn_algo3", "cudnn", "fp32", None, status="unsupported"),
    row(DENSE, "cudnn_tf32_algo1", "cudnn", "tf32", 0.2),
    row(DENSE, "cuda_tc_128x128", "cuda_tc", "tf32", 0.25),   # tensor cores: 0.8x of cuDNN's TF32
    row(DENSE, "copy", "baseline", "fp32", 0.05),
    # depthwise: the kernel (0.02 ms) beats cuDNN (0.1 ms) 5x and reaches 50% of the copy (0.01 ms)
    row(DW, "cuda_depthwise_k4", "cuda_depthwise", "fp32", 0.02, gflops=800),
    row(DW, "cudnn_algo1", "cudnn", "fp32", 0.1),
    row(DW, "cudnn_algo0", "cudnn", "fp32", 0.3),
    row(DW, "cudnn_tf32_algo0", "cudnn", "tf32", 0.08),
    row(DW, "copy", "baseline", "fp32", 0.01),
]
HW = {"fingerprint": "x", "cuda": {"gpus": [{"name": "H100", "peaks": {"fma_gflops": 50000, "copy_gbs": 3000}}]},
      "peaks": {"fma_gflops_all": 200}}


def by_shape(summary):
    return {e["shape"]: e for e in summary["entries"]}


def test_per_shape_ratios_and_roof():
    s = gpu_summary.summarize(ROWS, *gpu_summary.gpu_peaks(HW))
    e = by_shape(s)
    dense, dw = e[DENSE], e[DW]
    assert (dense["hand"], dense["cudnn"], dense["tf32"]) == ("cuda_smem_64x128", "cudnn_algo1", "cudnn_tf32_algo1")
    assert dense["ratio"] == pytest.approx(0.4 / 0.5)
    assert not dense["depthwise"]
    assert dense["roof_of"] == "fp32 peak" and dense["roof"] == pytest.approx(40.0)  # 20000 of 50000 GFLOP/s
    assert dense["winner"] == "cudnn_algo1"
    assert (dw["hand"], dw["cudnn"], dw["tf32"]) == ("cuda_depthwise_k4", "cudnn_algo1", "cudnn_tf32_algo0")
    assert dw["depthwise"]
    assert dw["ratio"] == pytest.approx(5.0)
    assert dw["roof_of"] == "copy" and dw["roof"] == pytest.approx(50.0)


def test_suite_aggregates():
    s = gpu_summary.summarize(ROWS, 50000.0, 3000.0)
    # tuned winner: cudnn_algo1 on the dense shape (ratio 1), the kernel on the depthwise one (0.1 / 0.02 = 5)
    assert s["tuned_vs_cudnn_geomean"] == pytest.approx(math.sqrt(1.0 * 5.0))
    assert s["tuned_vs_cudnn_shapes"] == 2
    assert (s["hand_slower_count"], s["hand_compared"]) == (1, 2)
    assert s["hand_vs_cudnn_geomean"] == pytest.approx(math.sqrt(0.8 * 5.0))
    assert s["depthwise_geomean"] == pytest.approx(5.0) and s["depthwise_shapes"] == 1


def test_tf32_class():
    s = gpu_summary.summarize(ROWS, 50000.0, 3000.0)
    e = by_shape(s)
    assert e[DENSE]["hand_tf32"] == "cuda_tc_128x128" and e[DENSE]["ratio_tf32"] == pytest.approx(0.2 / 0.25)
    assert e[DENSE]["hand"] == "cuda_smem_64x128"  # the fp32 column stays fp32
    assert e[DW]["ratio_tf32"] is None
    assert (s["tf32_compared"], s["tf32_hand_slower_count"]) == (1, 1)


def test_skipped_section(tmp_path):
    path = tmp_path / "gpu.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(ROWS)
    skipped = tmp_path / "skipped.txt"
    skipped.write_text(f"{DENSE} (ncw): time budget\n\n")
    r = subprocess.run([sys.executable, SCRIPT, str(path), "--skipped", str(skipped)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "## Not measured (1)" in r.stdout and f"- {DENSE} (ncw): time budget" in r.stdout


def test_markdown_from_the_command_line(tmp_path):
    path = tmp_path / "gpu.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(ROWS)
    hw = tmp_path / "hw.json"
    hw.write_text(json.dumps(HW))
    r = subprocess.run([sys.executable, SCRIPT, "--bench", str(path), "--hw", str(hw)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "fp32 FMA peak 50000 GFLOP/s" in out and "device copy 3000 GB/s" in out
    assert "| 0.80x |" in out and "| 5.00x |" in out
    assert "40% of fp32 peak" in out and "50% of copy" in out
    assert "slower than the best cuDNN fp32 algorithm on 1 of 2" in out
    assert f"geometric mean {math.sqrt(5.0):.2f}x over 2" in out
    # Without --hw the dense row has no roof, the depthwise row still has its copy row.
    r = subprocess.run([sys.executable, SCRIPT, str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "not available" in r.stdout and "50% of copy" in r.stdout
    assert "of fp32 peak" not in r.stdout


@pytest.mark.parametrize("record", [{}, {"cuda": {"gpus": []}}, {"cuda": {"gpus": [{"peaks": "x"}]}},
                                    {"cuda": {"gpus": [{"peaks": {"fma_gflops": -1, "copy_gbs": True}}]}}, []])
def test_hardware_record_read_defensively(record):
    assert gpu_summary.gpu_peaks(record) == (None, None)


def test_refusals(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("shape,layout,variant\nx,nwc,cudnn_algo0\n")
    r = subprocess.run([sys.executable, SCRIPT, str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "lacks the column" in r.stderr
    r = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "none.csv")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "cannot read" in r.stderr
    good = tmp_path / "good.csv"
    good.write_text(",".join(HEADER) + "\n")
    notjson = tmp_path / "hw.json"
    notjson.write_text("{")
    r = subprocess.run([sys.executable, SCRIPT, str(good), "--hw", str(notjson)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "not JSON" in r.stderr
    r = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "bench CSV" in r.stderr
