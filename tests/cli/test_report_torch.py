"""scripts/report.py --torch: the PyTorch ratios of a scripts/vs_torch.py CSV beside the oneDNN speedup."""
import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build/bin/conv1d-tune"))
SHAPES = ["batch=1,length=200,in_channels=8,out_channels=16,kernel_size=3,padding=1",
          "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=4,num_groups=32,pad_left=3"]


def canonical(shape, layout):
    r = subprocess.run([TOOL, "describe", shape, "--layout", layout], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return next(line.split()[-1] for line in r.stdout.splitlines() if "batch=" in line)


def test_report_shows_the_pytorch_ratio(tmp_path):
    db = tmp_path / "r.db"
    args = [TOOL, "sweep", "--db", str(db), "--quick", "--seed", "3", "--layout", "both"]
    for s in SHAPES:
        args += ["--shape", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # A vs_torch CSV for three of the four shape/layout pairs (the fourth has no PyTorch figure).
    ratios = {canonical(SHAPES[0], "nwc"): 2.0, canonical(SHAPES[0], "ncw"): 0.5, canonical(SHAPES[1], "ncw"): 8.0}
    vs = tmp_path / "vs_torch-20260101T000000Z.csv"
    with open(vs, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["shape", "layout", "key", "path", "variant", "explain", "threads", "torch", "torch_onednn",
                     "tuned_ms", "torch_ms", "vs_torch"])
        for key, ratio in ratios.items():
            wr.writerow(["s", "l", key, "Plan", "someone_else", "", 2, "9.9.9", "3.13.3", 1, ratio, ratio])
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, str(ROOT / "scripts/report.py"), "--db", str(db), "--out", str(out),
                        "--torch", str(vs)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with open(out / "winners.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[-3:] == ["speedup", "vs_torch", "vs_torch_variant"]
    got = {row["shape"]: (row["vs_torch"], row["vs_torch_variant"]) for row in rows}
    assert len(got) == 4
    for key, (ratio, variant) in got.items():
        if key in ratios:
            assert float(ratio) == ratios[key] and variant == "someone_else"
        else:
            assert (ratio, variant) == ("", "")
    page = (out / "index.html").read_text()
    assert "Against PyTorch" in page and "PyTorch 9.9.9 (oneDNN 3.13.3)" in page
    assert "geometric mean 2.00x over 3 shapes, from 0.50x to 8.00x" in page
    assert "8.00x (someone_else)" in page
    # Not a vs_torch CSV: refused with the reason, exit 2.
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    r = subprocess.run([sys.executable, str(ROOT / "scripts/report.py"), "--db", str(db), "--out", str(out),
                        "--torch", str(bad)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "is not a scripts/vs_torch.py CSV" in r.stderr
