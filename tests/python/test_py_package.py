"""conv1d_tune (python/): descriptors, plans and conv1d against an independent NumPy conv1d in both layouts;
arrays refused with their message; dtypes; library lookup; plans shared by threads with the GIL released.

Run with: python3 -m pytest -q tests/python/test_py_package.py   (after `make`)
"""
import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import ROOT, assert_fp32_close, ref_conv1d

import conv1d_tune as ct


def random_case(rng, layout):
    """A valid random descriptor (as a dict) covering dense, grouped, depthwise and multiplier shapes."""
    while True:
        kind = rng.choice(["dense", "grouped", "depthwise", "multiplier"])
        if kind == "dense":
            groups, cin, cout = 1, int(rng.integers(1, 40)), int(rng.integers(1, 70))
        elif kind == "grouped":
            groups = int(rng.choice([2, 3, 4]))
            cin, cout = groups * int(rng.integers(1, 12)), groups * int(rng.integers(1, 12))
        elif kind == "depthwise":
            groups = cin = cout = int(rng.integers(2, 70))
        else:
            groups = cin = int(rng.integers(2, 40))
            cout = cin * int(rng.integers(2, 4))
        k = int(rng.integers(1, 10))
        d = dict(batch=int(rng.integers(1, 4)), length=int(rng.integers(1, 200)), in_channels=cin, out_channels=cout,
                 kernel_size=k, stride=int(rng.integers(1, 4)), dilation=int(rng.integers(1, 4)), groups=groups,
                 pad_left=int(rng.integers(0, 5)), pad_right=int(rng.integers(0, 5)), bias=bool(rng.integers(0, 2)),
                 layout=layout)
        if d["dilation"] * (k - 1) + 1 <= d["length"] + d["pad_left"] + d["pad_right"]:
            return d


def random_tensors(rng, desc):
    x = rng.uniform(-1, 1, desc.input_shape).astype(np.float32)
    w = rng.uniform(-1, 1, desc.weight_shape).astype(np.float32)
    b = rng.uniform(-1, 1, desc.out_channels).astype(np.float32) if desc.has_bias else None
    return x, w, b


def ref_of(desc, x, w, b):
    return ref_conv1d(x, w, b, desc.stride, desc.pad_left, desc.pad_right, desc.dilation, desc.num_groups,
                      desc.layout)


@pytest.mark.parametrize("layout", ["nwc", "ncw"])
def test_plans_match_numpy_on_random_shapes(layout):
    rng = np.random.default_rng(1 if layout == "nwc" else 2)
    variants = set()
    for i in range(40):
        case = random_case(rng, layout)
        desc = ct.Desc(**case)
        x, w, b = random_tensors(rng, desc)
        with ct.Plan(desc, mode="estimate") as plan:
            plan.set_weights(w, b)
            y = plan(x)
            variants.add(plan.variant)
            assert y.shape == desc.output_shape and y.dtype == np.float32
            assert y.ctypes.data % 64 == 0
            assert_fp32_close(y, ref_of(desc, x, w, b), f"{desc} ({plan.variant})")
            out = np.full(desc.output_shape, np.nan, np.float32)
            assert plan(x, out=out) is out
            assert_fp32_close(out, ref_of(desc, x, w, b), f"{desc} into out")
    assert len(variants) >= 2, variants  # the rules picked more than one family over these shapes


@pytest.mark.parametrize("layout", ["nwc", "ncw"])
def test_conv1d_function_matches_numpy_and_caches_plans(layout):
    ct.clear_plan_cache()
    rng = np.random.default_rng(3)
    for padding, stride, dilation, groups in [(1, 1, 1, 1), ((3, 0), 1, 1, 4), ("same", 1, 2, 2), ("valid", 2, 1, 1),
                                              (2, 3, 2, 8)]:
        n, length, cin, cout, k = 2, 37, 8, 16, 3
        x = rng.uniform(-1, 1, (n, length, cin) if layout == "nwc" else (n, cin, length)).astype(np.float32)
        wshape = (k, cin // groups, cout) if layout == "nwc" else (cout, cin // groups, k)
        w = rng.uniform(-1, 1, wshape).astype(np.float32)
        b = rng.uniform(-1, 1, cout).astype(np.float32)
        y = ct.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
        pl, pr = ct.padding_pair(padding, k, dilation, stride)
        assert_fp32_close(y, ref_conv1d(x, w, b, stride, pl, pr, dilation, groups, layout), f"{padding} {layout}")
        # New weights for the same shape: the cached plan takes them.
        w2 = -2 * w
        y2 = ct.conv1d(x, w2, None, stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
        assert_fp32_close(y2, ref_conv1d(x, w2, None, stride, pl, pr, dilation, groups, layout), "new weights")
    assert len(ct.plan_cache_info()) == 10  # one plan per shape (with and without bias)
    ct.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
    assert len(ct.plan_cache_info()) == 10
    ct.clear_plan_cache()
    assert ct.plan_cache_info() == []


def test_same_padding_follows_pytorch():
    assert ct.padding_pair("same", 4, 1) == (1, 2)  # the odd zero goes right, as in torch.nn.Conv1d
    assert ct.padding_pair("same", 3, 5) == (5, 5)
    assert ct.padding_pair((3, 0)) == (3, 0)
    with pytest.raises(ValueError, match="stride 1"):
        ct.padding_pair("same", 3, 1, 2)
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        ct.padding_pair("full")


def test_desc_forms_and_errors():
    d = ct.Desc.parse("g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0")
    assert (d.batch, d.in_channels, d.pad_left, d.pad_right, d.dilation, d.layout) == (8, 256, 1, 1, 1, "nwc")
    e = ct.Desc(batch=8, length=4096, in_channels=256, out_channels=256, kernel_size=3, padding=1)
    assert d == e and hash(d) == hash(e) and str(d) == e.text
    assert ct.Desc.parse(str(d)) == d
    n = d.replace(layout="ncw", bias=True)
    assert n.input_shape == (8, 256, 4096) and n.weight_shape == (256, 256, 3) and n.bias_shape == (256,)
    assert n.output_shape == (8, 256, 4096) and n.flops == 2 * 8 * 4096 * 256 * 256 * 3
    assert ct.Plan(dict(length=10, in_channels=2, out_channels=2, kernel_size=3), mode="estimate").desc.output_length == 8
    with pytest.raises(AttributeError, match="immutable"):
        d.length = 5
    with pytest.raises(ValueError, match="num_groups"):
        ct.Desc(length=10, in_channels=6, out_channels=4, kernel_size=3, groups=4)
    with pytest.raises(ValueError, match="wider than the padded input"):
        ct.Desc(length=2, in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(ValueError, match="64 bits"):
        ct.Desc(length=2 ** 64, in_channels=1, out_channels=1, kernel_size=1)
    with pytest.raises(TypeError, match="integer"):
        ct.Desc(length=10.5, in_channels=1, out_channels=1, kernel_size=1)
    with pytest.raises(ValueError, match="layout"):
        ct.Desc(length=10, in_channels=1, out_channels=1, kernel_size=1, layout="nchw")
    with pytest.raises(ValueError, match="kernel_size"):
        ct.Desc.parse("length=10,in_channels=1,out_channels=1")
    with pytest.raises(ValueError, match="mode"):
        ct.Plan(d, mode="fast")
    with pytest.raises(TypeError, match="either a descriptor or keywords"):
        ct.Plan(d, length=3)


def test_dtype_is_part_of_the_descriptor():
    assert ct.supported_dtypes() == ["float32", "bfloat16", "float16"]
    shape = dict(length=4, in_channels=1, out_channels=1, kernel_size=1)
    for spec in ("float32", "f32", np.float32, np.dtype("<f4"), ct.float32):
        assert ct.Desc(**shape, dtype=spec).dtype.name == "float32"
    for spec in ("float16", "f16", "fp16", "half", "FLOAT16", np.float16, np.dtype("<f2")):
        assert ct.Desc(**shape, dtype=spec).dtype.name == "float16"
    for spec in ("bfloat16", "bf16", "BFloat16"):
        assert ct.Desc(**shape, dtype=spec).dtype.name == "bfloat16"
    # The canonical text names a 16-bit dtype (float32 stays unwritten), and parsing it gives it back.
    d = ct.Desc(**shape, dtype="bf16", layout="ncw")
    assert d.text.endswith(",layout=ncw,dtype=bf16") and ct.Desc(**shape).text.endswith(",layout=nwc")
    assert ct.Desc.parse(d.text) == d and ct.Desc.parse(d.text).dtype.name == "bfloat16"
    assert ct.Desc.parse(ct.Desc(**shape).text, dtype="float16").dtype.name == "float16"  # dtype= overrides
    assert ct.Desc.parse(d.text, dtype="float32").dtype.name == "float32"
    assert d != d.replace(dtype="float16") != d.replace(dtype="float32")
    assert d.replace(dtype="f16").min_bytes * 2 == d.replace(dtype="f32").min_bytes
    import pickle
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(TypeError, match="unknown dtype 'int8'"):
        ct.Desc(**shape, dtype="int8")
    with pytest.raises(TypeError, match="float64"):
        ct.Desc(**shape, dtype=np.float64)
    with pytest.raises(TypeError, match=r"dtype >f2 \(float16\) is not a conv1d_tune element type"):
        ct.Desc(**shape, dtype=np.dtype(">f2"))
    with pytest.raises(TypeError, match=r"x has dtype int32"):
        ct.conv1d(np.ones((1, 4, 1), np.int32), np.ones((1, 1, 1), np.int32))


@pytest.mark.parametrize("how", ["returns NULL", "lacks conv1d_dtype_name"])
def test_a_library_without_the_16_bit_types_keeps_them_refused(monkeypatch, how):
    """A libconv1d from before the 16-bit types (conv1d_dtype_name absent, or not naming them) computes
    float32 only: the 16-bit names stay known and are refused with a TypeError saying so."""
    from conv1d_tune import _lib
    monkeypatch.setattr(_lib.lib(), "conv1d_dtype_name", (lambda v: None) if how == "returns NULL" else None)
    assert ct.supported_dtypes() == ["float32"]
    for spec in ("bfloat16", "bf16", "float16", np.float16):
        with pytest.raises(TypeError, match=r"(bfloat16|float16) is not supported by this libconv1d.*float32 only"):
            ct.Plan(length=4, in_channels=1, out_channels=1, kernel_size=1, dtype=spec)
    x = np.ones((1, 4, 1), np.float16)
    with pytest.raises(TypeError, match="x has dtype float16: dtype float16 is not supported"):
        ct.conv1d(x, np.ones((1, 1, 1), np.float16))
    y = ct.conv1d(x.astype(np.float32), np.full((1, 1, 1), 2, np.float32))  # float32 as ever
    np.testing.assert_array_equal(y, np.full((1, 4, 1), 2, np.float32))


@pytest.fixture
def plan():
    p = ct.Plan(length=16, in_channels=4, out_channels=6, kernel_size=3, bias=True, mode="estimate")
    rng = np.random.default_rng(5)
    p.set_weights(rng.uniform(-1, 1, (3, 4, 6)).astype(np.float32), rng.uniform(-1, 1, 6).astype(np.float32))
    yield p
    p.close()


def test_bad_arrays_are_refused_with_the_message(plan):
    x = np.ones((1, 16, 4), np.float32)
    cases = [
        (x.astype(np.float64), TypeError, r"x has dtype float64 \('<f8'\), but the plan's dtype is float32"),
        (x.astype(">f4"), TypeError, r"x has dtype >f4 \('>f4'\)"),
        (np.ones((1, 4, 16), np.float32), ValueError,
         r"x has shape \(1, 4, 16\), but the plan \(nwc\) expects \(batch, length, in_channels\) = \(1, 16, 4\)"),
        (np.ones((16, 4), np.float32), ValueError, r"x has shape \(16, 4\)"),
        (np.ones((1, 32, 4), np.float32)[:, ::2], ValueError, r"x is not C-contiguous .* np.ascontiguousarray\(x\)"),
        (np.asfortranarray(np.ones((2, 16, 4), np.float32))[:1], ValueError, "x is not C-contiguous"),
        (np.frombuffer(bytearray(64 * 4 + 1), np.float32, 64, 1).reshape(1, 16, 4), ValueError,
         r"x's data \(address 0x[0-9a-f]+\) is not aligned to its 4-byte elements"),
        ([[[1.0] * 4] * 16], TypeError, "x must be an array"),
        (None, TypeError, "x must be an array"),
    ]
    for bad, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            plan(bad)
    out = np.zeros((1, 14, 6), np.float32)
    with pytest.raises(ValueError, match=r"out has shape \(1, 16, 6\), but the plan \(nwc\) expects "
                                         r"\(batch, new_length, out_channels\) = \(1, 14, 6\)"):
        plan(x, out=np.zeros((1, 16, 6), np.float32))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        plan(x, out=out)
    big = np.zeros(64 + 84, np.float32)
    with pytest.raises(ValueError, match="out overlaps x"):
        plan(big[:64].reshape(1, 16, 4), out=big[40:124].reshape(1, 14, 6))
    with pytest.raises(TypeError, match="w has dtype float64"):
        plan.set_weights(np.ones((3, 4, 6)), np.ones(6, np.float32))
    with pytest.raises(ValueError, match=r"w has shape \(6, 4, 3\), but the plan \(nwc\) expects \(kernel_size, "
                                         r"in_channels/groups, out_channels\) = \(3, 4, 6\)"):
        plan.set_weights(np.ones((6, 4, 3), np.float32), np.ones(6, np.float32))
    with pytest.raises(ValueError, match=r"has a bias \(bias=1\): pass b of shape \(6,\)"):
        plan.set_weights(np.ones((3, 4, 6), np.float32))
    with pytest.raises(ValueError, match=r"b has shape \(5,\)"):
        plan.set_weights(np.ones((3, 4, 6), np.float32), np.ones(5, np.float32))
    # After all that the plan still computes, with its original weights.
    assert np.isfinite(plan(x)).all()
    nobias = ct.Plan(length=16, in_channels=4, out_channels=6, kernel_size=3, mode="estimate")
    with pytest.raises(ValueError, match="no bias"):
        nobias.set_weights(np.ones((3, 4, 6), np.float32), np.ones(6, np.float32))
    with pytest.raises(RuntimeError, match="no weights"):
        nobias(x)
    nobias.close()
    with pytest.raises(ValueError, match="closed"):
        nobias(x)
    nobias.close()  # idempotent
    with pytest.raises(TypeError, match="cannot be pickled"):
        import pickle
        pickle.dumps(plan)


def test_arrays_from_other_producers_are_viewed_not_copied(plan):
    """A memoryview (buffer protocol) and an __array_interface__ object stand for what MAX or PyTorch hand
    over: the output is written through them."""
    x = np.ones((1, 16, 4), np.float32)
    ref = plan(x)
    out = np.zeros((1, 14, 6), np.float32)
    plan(memoryview(x), out=memoryview(out))
    np.testing.assert_array_equal(out, ref)

    class Wrapped:
        def __init__(self, a):
            self.__array_interface__ = a.__array_interface__
    out2 = np.zeros((1, 14, 6), np.float32)
    plan(Wrapped(x), out=Wrapped(out2))
    np.testing.assert_array_equal(out2, ref)


def test_default_mode_falls_back_and_says_why():
    p = ct.Plan(length=64, in_channels=8, out_channels=8, kernel_size=4, groups=8, pad_left=3)
    assert p.variant.startswith("depthwise")
    assert "heuristic" in p.explain and "none.db" in p.explain


def test_measure_mode_tunes_into_the_given_database(tmp_path):
    db = tmp_path / "tuned.db"
    desc = ct.Desc(length=64, in_channels=4, out_channels=8, kernel_size=3, layout="ncw")
    p = ct.Plan(desc, db=db, mode="measure")
    assert db.is_file()
    again = ct.Plan(desc, db=db)
    assert again.variant == p.variant
    assert "exact winner from DB" in again.explain and str(db) in again.explain


def test_threads_share_one_plan_and_set_weights_waits_for_them():
    desc = ct.Desc(batch=2, length=2000, in_channels=64, out_channels=64, kernel_size=5, padding=2)
    rng = np.random.default_rng(7)
    xs = [rng.uniform(-1, 1, desc.input_shape).astype(np.float32) for _ in range(4)]
    w1 = rng.uniform(-1, 1, desc.weight_shape).astype(np.float32)
    w2 = rng.uniform(-1, 1, desc.weight_shape).astype(np.float32)
    plan = ct.Plan(desc, threads=1, mode="estimate").set_weights(w1)
    serial1 = [plan(x) for x in xs]
    errors, results = [], [[] for _ in range(2)]
    stop = threading.Event()

    def work(t):
        try:
            i = 0
            while not stop.is_set() or i < 8:
                results[t].append((i % 4, plan(xs[i % 4])))
                i += 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    plan.set_weights(w2)  # while both threads keep executing
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    serial2 = [plan(x) for x in xs]
    seen = set()
    for res in results:
        assert len(res) >= 8
        for i, y in res:  # every result is wholly the old weights' or wholly the new weights'
            if np.array_equal(y, serial1[i]):
                seen.add(1)
            else:
                np.testing.assert_array_equal(y, serial2[i])
                seen.add(2)
        np.testing.assert_array_equal(res[-1][1], serial2[res[-1][0]])  # the last ones after set_weights
    assert_fp32_close(serial2[0], ref_conv1d(xs[0], w2, None, 1, 2, 2), "after set_weights")


def test_execute_releases_the_gil():
    """A Python thread keeps counting while this thread is in an execute: at a good fraction of the rate it
    counts while this thread sleeps. Holding the GIL through the call would stop it for the call's length."""
    desc = ct.Desc(batch=1, length=20000, in_channels=128, out_channels=128, kernel_size=7, padding=3)
    plan = ct.Plan(desc, threads=1, mode="estimate").set_weights(np.ones(desc.weight_shape, np.float32))
    x = np.ones(desc.input_shape, np.float32)
    out = np.empty(desc.output_shape, np.float32)
    plan(x, out=out)
    count, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1
    helper = threading.Thread(target=spin)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(2e-4)  # the helper's turns before the call, GIL or not, stay short
    helper.start()
    try:
        ratios = []
        for _ in range(3):
            c0, t0 = count[0], time.perf_counter()
            time.sleep(0.05)
            rate = (count[0] - c0) / (time.perf_counter() - t0)
            c0, t0 = count[0], time.perf_counter()
            plan(x, out=out)
            ratios.append((count[0] - c0) / (rate * (time.perf_counter() - t0)))
    finally:
        stop.set()
        helper.join()
        sys.setswitchinterval(old_interval)
    assert max(ratios) > 0.4, ratios


def run_python(code, env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "python"), **env})


def test_library_lookup():
    assert ct.library_path() == (os.environ.get("CONV1D_LIB") or str(ROOT / "build" / "lib" / "libconv1d.so"))
    assert ct.library_version().startswith("0.")
    r = run_python("import conv1d_tune as ct\ntry:\n    ct.Plan(length=4, in_channels=1, out_channels=1, "
                   "kernel_size=1)\nexcept ct.LibraryNotFoundError as e:\n    print(e)",
                   {"CONV1D_LIB": "/nonexistent/libconv1d.so"})
    assert r.returncode == 0, r.stderr
    assert "cannot load libconv1d from $CONV1D_LIB=/nonexistent/libconv1d.so" in r.stdout
    assert "No such file" in r.stdout or "cannot open" in r.stdout
    lib_dir = os.path.dirname(ct.library_path())
    r = run_python("import conv1d_tune as ct; print(ct.library_path())", {"CONV1D_LIB": lib_dir})
    assert r.returncode == 0 and r.stdout.strip() == os.path.join(lib_dir, "libconv1d.so"), r.stderr


def test_package_copied_out_of_the_tree_says_where_it_looked(tmp_path):
    """An installed copy with no recorded tree and no installed library lists what it tried."""
    import shutil
    shutil.copytree(ROOT / "python" / "conv1d_tune", tmp_path / "conv1d_tune",
                    ignore=shutil.ignore_patterns("__pycache__", "_source_tree.py"))
    r = subprocess.run([sys.executable, "-c", "import conv1d_tune as ct\ntry:\n    print(ct.library_path())\n"
                        "except ct.LibraryNotFoundError as e:\n    print('ERR', e)"], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path,
                       env={k: v for k, v in os.environ.items() if k not in ("CONV1D_LIB", "PYTHONPATH")}
                       | {"PKG_CONFIG_PATH": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    if r.stdout.startswith("ERR"):  # no libconv1d installed on this machine
        assert "libconv1d not found" in r.stdout and "CONV1D_LIB" in r.stdout and "make install" in r.stdout
    else:  # an installed one (make install into the loader's path) was found
        assert "libconv1d" in r.stdout


def _vs_torch_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("vs_torch", ROOT / "scripts" / "vs_torch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_vs_torch_times_a_side_slower_than_its_budget_in_one_block():
    """scripts/vs_torch.py's alternating blocks: a side whose one call outlasts --seconds gets one timed block,
    no untimed call before it, so the pair costs a few of its calls; a fast pair keeps every block."""
    import time
    vs = _vs_torch_module()
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1

    def slow():
        calls["slow"] += 1
        time.sleep(0.06)

    (fm, _, _), (sm, _, _), ratio = vs.time_pair(fast, slow, seconds=0.05, blocks=10)
    assert calls["slow"] == 2, calls  # the estimate and the one timed block
    assert sm >= 0.06 and fm < sm and ratio > 1
    calls.update(fast=0, slow=0)
    vs.time_pair(fast, fast, seconds=0.01, blocks=4)
    assert calls["fast"] >= 3 + 4 * 2, calls  # the estimates, then an untimed and a timed call each block
