"""scripts/bench_summary.py and scripts/dtype_summary.py on small CSVs of known timings: each class against its
own oneDNN, and the 16-bit class against the best fp32 variant of the same shape."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAD = "shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err\n"


def write(path, rows):
    path.write_text(HEAD + "".join(f'"{s}",{lay},{v},{fam},cpu,{prec},{st},{ms},{ms},{ms},1,1,0\n'
                                   for s, lay, v, fam, prec, st, ms in rows))
    return str(path)


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), *args], capture_output=True,
                          text=True, timeout=60)


def test_each_class_against_its_own_onednn(tmp_path):
    csv = write(tmp_path / "b.csv", [
        ("s1", "nwc", "onednn", "onednn", "fp32", "ok", 4.0),
        ("s1", "nwc", "direct_a", "direct", "fp32", "ok", 2.0),
        ("s1", "nwc", "onednn_bf16", "onednn", "bf16", "ok", 3.0),
        ("s1", "nwc", "direct_bf16_a", "direct", "bf16", "ok", 1.0),
    ])
    r = run("bench_summary.py", csv)
    assert r.returncode == 0, r.stderr
    assert "direct_a                   2.00x" in r.stdout and "direct_bf16_a              3.00x" in r.stdout, r.stdout


def test_sixteen_bit_over_the_best_fp32(tmp_path):
    f32 = write(tmp_path / "f32.csv", [
        ("s1", "nwc", "onednn", "onednn", "fp32", "ok", 5.0),
        ("s1", "nwc", "direct_a", "direct", "fp32", "ok", 2.0),
        ("s1", "nwc", "direct_b", "direct", "fp32", "wrong", 0.5),  # a wrong variant is never the best
        ("s2", "ncw", "depthwise_a", "depthwise", "fp32", "ok", 1.0),
    ])
    half = write(tmp_path / "bf16.csv", [
        ("s1", "nwc", "onednn_bf16", "onednn", "bf16", "ok", 2.0),
        ("s1", "nwc", "direct_bf16_a", "direct", "bf16", "ok", 1.0),
        ("s1", "nwc", "copy", "baseline", "fp32", "ok", 0.5),
        ("s2", "ncw", "depthwise_bf16_a", "depthwise", "bf16", "ok", 0.8),
        ("s2", "ncw", "onednn_bf16", "onednn", "bf16", "unsupported", "nan"),
    ])
    r = run("dtype_summary.py", f32, half)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "direct_a" in out and "2.00x" in out and "50%" in out, out  # 2.0 / 1.0; copy 0.5 / 1.0
    assert "1.25x" in out and "unsupported" in out, out               # s2: 1.0 / 0.8, no oneDNN bf16
    assert "geometric mean 1.58x over 2 pairs" in out, out            # sqrt(2 * 1.25)
    assert "below 1.70x over fp32: 1 of 2" in out and "1.25x  ncw  s2" in out, out
    assert run("dtype_summary.py", f32, f32).returncode == 2           # no 16-bit rows: refused
