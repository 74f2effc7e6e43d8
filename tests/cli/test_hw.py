"""conv1d-tune hw: the JSON record, the summary, cached ceilings, and refusals."""
import json
import os
import re
import subprocess

TOOL = os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune")
FP_RE = re.compile(r"^[0-9a-f]{16}$")


def hw(*args, env=None):
    return subprocess.run([TOOL, "hw", *args], capture_output=True, text=True, timeout=120, env=env)


def record():
    r = hw("--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_record():
    d = record()
    assert FP_RE.match(d["fingerprint"])
    for key in ("cpu", "caches", "memory", "os", "build", "onednn", "cuda"):
        assert key in d, key
    cpu = d["cpu"]
    assert cpu["model"] and cpu["vendor"]
    assert 1 <= cpu["packages"] <= cpu["cores"] <= cpu["pus"] <= os.cpu_count()
    for flag in ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16",
                 "avx512_vnni", "amx_tile"):
        assert isinstance(cpu["isa"][flag], bool), flag
    for level in ("l1d", "l2", "l3"):
        assert d["caches"][level]["size_bytes"] >= 0 and d["caches"][level]["count"] >= 0
    assert d["caches"]["l1d"]["size_bytes"] > 0 and d["caches"]["l2"]["size_bytes"] > 0
    assert d["memory"]["numa_nodes"] >= 1 and d["memory"]["total_bytes"] > 0
    assert d["os"]["name"] and d["os"]["release"]
    assert d["build"]["compiler"] and d["build"]["flags"]
    assert re.match(r"^\d+\.\d+\.\d+$", d["onednn"]["version"])
    assert d["onednn"]["isa"]
    cuda = d["cuda"]
    assert isinstance(cuda["compiled"], bool)
    assert cuda["gpu_count"] == len(cuda["gpus"])
    if cuda["compiled"] and cuda["gpu_count"] == 0:
        assert cuda["error"]
    for gpu in cuda["gpus"]:
        assert gpu["name"] and gpu["sm_count"] > 0 and re.match(r"^\d+\.\d+$", gpu["compute_capability"])
    assert "peaks" not in d


def test_fingerprint_stable_and_in_summary():
    fp = record()["fingerprint"]
    assert record()["fingerprint"] == fp
    r = hw()
    assert r.returncode == 0, r.stderr
    assert re.search(r"^fingerprint:\s+" + fp + "$", r.stdout, re.M)
    for label in ("cpu:", "caches:", "isa:", "onednn:"):
        assert re.search("^" + re.escape(label), r.stdout, re.M), label


def test_cached_peaks(tmp_path):
    fp = record()["fingerprint"]
    cache = tmp_path / "conv1d-tune"
    cache.mkdir()
    (cache / f"peaks-{fp}.txt").write_text(
        f"format=1\nfingerprint={fp}\nfma_gflops_1core=115.5\nfma_gflops_all=229.25\n"
        "copy_gbs_1core=24.5\ncopy_gbs_all=41\nthreads=2\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    r = hw("--json", "--peaks", env=env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["fingerprint"] == fp
    assert d["peaks_cached"] is True
    p = d["peaks"]
    assert (p["fma_gflops_1core"], p["fma_gflops_all"], p["copy_gbs_1core"], p["copy_gbs_all"], p["threads"]) == \
        (115.5, 229.25, 24.5, 41, 2)
    assert p["fma_isa"] in ("avx512", "avx2", "sse2")
    r = hw("--peaks", env=env)
    assert r.returncode == 0, r.stderr
    assert "229.2 GFLOP/s" in r.stdout or "229.3 GFLOP/s" in r.stdout
    assert "41.0 GB/s" in r.stdout


def test_help():
    r = hw("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: conv1d-tune hw")
    top = subprocess.run([TOOL, "--help"], capture_output=True, text=True, timeout=60)
    assert re.search(r"^\s+hw\s", top.stdout, re.M)


def test_refusals():
    for args in (["--bogus"], ["extra"], ["--json=1"]):
        r = hw(*args)
        assert r.returncode == 2, args
        assert r.stderr.startswith("conv1d-tune hw: "), r.stderr
        assert r.stdout == ""
