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


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "CONV1D_ISA"}
    env.update(extra)
    return env


def test_isa_cap():
    """CONV1D_ISA lowers the level variants and oneDNN use; a capped process is another machine to the store."""
    levels = hw("--isa-levels", env=_env()).stdout.split()
    assert levels and levels[-1] == "c" and len(set(levels)) == len(levels)
    assert set(levels) <= {"avx512bf16", "avx512", "avx2", "c"}
    full = json.loads(hw("--json", env=_env()).stdout)
    assert full["cpu"]["isa_level"] == levels[0] and full["cpu"]["isa_cap"] == "none"
    for level in levels[1:]:
        r = hw("--json", env=_env(CONV1D_ISA=level))
        assert r.returncode == 0, r.stderr
        capped = json.loads(r.stdout)
        assert capped["cpu"]["isa_level"] == level and capped["cpu"]["isa_cap"] == level
        assert capped["fingerprint"] != full["fingerprint"]
        order = ["c", "avx2", "avx512", "avx512bf16"]
        below = lambda lv: order.index(lv) <= order.index(level)  # the levels this cap still runs
        assert capped["cpu"]["isa"]["avx512f"] == below("avx512")
        assert capped["cpu"]["isa"]["avx512_bf16"] == below("avx512bf16")
        assert capped["cpu"]["isa"]["avx2"] == below("avx2")
        assert ("avx512" in capped["onednn"]["isa"]) == below("avx512")
        assert "bf16" not in capped["onednn"]["isa"] or below("avx512bf16")
        summary = hw(env=_env(CONV1D_ISA=level)).stdout
        assert re.search(r"^isa level:\s+%s \(capped by CONV1D_ISA; the CPU has %s\)" % (level, levels[0]),
                         summary, re.M), summary
        # The variants of a level above the cap are refused, by name and reason.
        b = subprocess.run([TOOL, "bench", "--shape", "batch=1,length=64,in_channels=16,out_channels=16,kernel_size=3",
                            "--csv", "--budget", "0.05"], capture_output=True, text=True, timeout=300,
                           env=_env(CONV1D_ISA=level))
        assert b.returncode == 0, b.stderr
        rows = [line.split(",") for line in b.stdout.splitlines()[1:]]
        names = {r[0] for r in rows if r[4] == "ok"}
        assert all(r[4] in ("ok", "unsupported") for r in rows), rows
        assert "direct_4x8__c" in names, names
        for lv in order:
            if not below(lv):
                assert not any(n.endswith("__" + lv) for n in names), (lv, names)
        assert any(n.endswith("__avx2") for n in names) == below("avx2"), names
        assert any(n.endswith("__avx512") for n in names) == below("avx512"), names
    # A cap above the CPU's level changes nothing.
    assert json.loads(hw("--json", env=_env(CONV1D_ISA="avx512bf16")).stdout)["fingerprint"] == full["fingerprint"] \
        or levels[0] != "avx512bf16"


def test_isa_cap_refused():
    for bad in ("avx-512", "sse2", "AVX3"):
        r = hw(env=_env(CONV1D_ISA=bad))
        assert r.returncode == 2
        assert "CONV1D_ISA=%s is not an ISA level" % bad in r.stderr, r.stderr
