"""16-bit tensors through the CLI: `run` on float16 and bfloat16 .npy files, `bench --dtype`.

`run` is checked against NumPy in float64 on exactly the 16-bit inputs: each output must be within one rounding
of the output type (half an ulp) plus what an fp32 accumulation may add, so a truncating or 16-bit-accumulating
result fails. bfloat16 arrays are ml_dtypes' (installed by `make deps`); the raw '<u2' form is checked too.
"""
import csv
import io
import subprocess

import numpy as np
import pytest

from test_cli import TOOL, Desc, reference, tool

ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes (NumPy's bfloat16) is not installed: make deps")
BF16 = np.dtype(ml_dtypes.bfloat16)
MANTISSA = {"bf16": 7, "f16": 10}
NPTYPE = {"bf16": BF16, "f16": np.dtype(np.float16)}

SHAPES = [
    Desc(2, 40, 16, 24, 3, pad_left=1, pad_right=1, bias=True),                        # dense, bias
    Desc(2, 33, 8, 12, 5, stride=2, pad_left=2, pad_right=1, groups=4, layout="ncw"),   # grouped, stride 2, NCW
    Desc(1, 50, 32, 32, 4, pad_left=3, groups=32, bias=True),                            # depthwise, causal
    Desc(3, 20, 6, 9, 3, dilation=2, pad_left=2, pad_right=2, groups=3, bias=True, layout="ncw"),
]


def shape_text(d, dtype):
    return d.text() + f",dtype={dtype}"


def random16(shape, dtype, rng):
    return rng.uniform(-1, 1, shape).astype(NPTYPE[dtype])


def inputs16(d, dtype, rng):
    xs, ws, _ = d.shapes()
    return (random16(xs, dtype, rng), random16(ws, dtype, rng),
            random16((d.out_channels,), dtype, rng) if d.bias else None)


def save(tmp_path, x, w, b, raw=False):
    """np.save as a user would; raw: bfloat16 as its uint16 bits."""
    args = []
    for name, a in (("x", x), ("w", w), ("b", b)):
        if a is None:
            continue
        np.save(tmp_path / f"{name}.npy", a.view(np.uint16) if raw else a)
        args += [f"--{name}", tmp_path / f"{name}.npy"]
    return args


def ulp(v, dtype):
    """The spacing of the 16-bit type at |v| (its subnormal spacing below the normal range)."""
    e = np.floor(np.log2(np.maximum(np.abs(v), 1e-300)))
    emin = -126 if dtype == "bf16" else -14
    return np.exp2(np.maximum(e, emin) - MANTISSA[dtype])


def check_one_rounding(d, dtype, x, w, b, y):
    """|y - ref| <= ulp(|ref| + a)/2 + a, a = terms * 2^-24 * sum|products|: one rounding of an fp32 sum."""
    ref = reference(d, x, w, b)
    absum = reference(d, np.abs(x.astype(np.float64)), np.abs(w.astype(np.float64)),
                      None if b is None else np.abs(b.astype(np.float64)))
    terms = d.in_channels // d.groups * d.kernel_size + (b is not None)
    acc = terms * 2.0 ** -24 * absum
    err = np.abs(y.astype(np.float64) - ref)
    bound = ulp(np.abs(ref) + acc, dtype) / 2 + acc
    assert np.isfinite(y.astype(np.float64)).all(), "NaN or infinity in y: an output left unwritten?"
    worst = np.argmax(err - bound)
    assert (err <= bound).all(), (f"{int((err > bound).sum())} outputs beyond one rounding; at {worst}: "
                                  f"y {y.ravel()[worst]} ref {ref.ravel()[worst]} bound {bound.ravel()[worst]:g}")
    return float((err / ulp(ref, dtype)).max())


def run(tmp_path, d, dtype, args, *extra):
    y_path = tmp_path / "y.npy"
    y_path.unlink(missing_ok=True)
    r = tool("run", "--shape", shape_text(d, dtype), *extra, *args, "--y", y_path)
    return r, y_path


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("variant", ["ref", "dispatcher"])
@pytest.mark.parametrize("i", range(len(SHAPES)))
def test_run_16bit(tmp_path, dtype, variant, i):
    d = SHAPES[i]
    x, w, b = inputs16(d, dtype, np.random.default_rng(100 + i))
    args = save(tmp_path, x, w, b)
    extra = ["--variant", f"ref_{dtype}"] if variant == "ref" else ["--db", tmp_path / "none.db"]
    r, y_path = run(tmp_path, d, dtype, args, *extra)
    assert r.returncode == 0, r.stderr
    y = np.load(y_path)  # ml_dtypes is imported: bfloat16 comes back as bfloat16
    assert y.dtype == NPTYPE[dtype] and y.shape == d.shapes()[2]
    check_one_rounding(d, dtype, x, w, b, y)


def test_run_onednn_bf16(tmp_path):
    """The bf16 peer through `run`, where oneDNN has an optimized bf16 path; else its refusal says so."""
    for i, d in enumerate(SHAPES):
        x, w, b = inputs16(d, "bf16", np.random.default_rng(200 + i))
        r, y_path = run(tmp_path, d, "bf16", save(tmp_path, x, w, b), "--variant", "onednn_bf16")
        if r.returncode != 0:
            assert r.returncode == 2 and "no optimized bf16 convolution" in r.stderr, r.stderr
            assert not y_path.exists()
            continue
        y = np.load(y_path)
        assert y.dtype == BF16
        check_one_rounding(d, "bf16", x, w, b, y)


def test_run_bf16_raw_bits(tmp_path):
    """bfloat16 as '<u2' bits: the same output, written back as '<u2'; forms may be mixed across files."""
    d = SHAPES[0]
    x, w, b = inputs16(d, "bf16", np.random.default_rng(7))
    r, y_path = run(tmp_path, d, "bf16", save(tmp_path, x, w, b), "--variant", "ref_bf16")
    assert r.returncode == 0, r.stderr
    y_native = np.load(y_path)
    assert y_native.dtype == BF16
    assert np.load(y_path, mmap_mode="r").dtype == BF16
    with open(y_path, "rb") as f:
        assert b"'descr': 'bfloat16'" in f.read(128)

    r, y_path = run(tmp_path, d, "bf16", save(tmp_path, x, w, b, raw=True), "--variant", "ref_bf16")
    assert r.returncode == 0, r.stderr
    y_raw = np.load(y_path)
    assert y_raw.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(y_raw, y_native.view(np.uint16))

    np.save(tmp_path / "w.npy", w.view(np.uint16))  # x as ml_dtypes writes it, w as raw bits
    r, y_path = run(tmp_path, d, "bf16", ["--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy", "--b",
                                          tmp_path / "b.npy"], "--variant", "ref_bf16")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(y_path).view(np.uint16), y_native.view(np.uint16))


def test_run_dtype_option(tmp_path):
    """--dtype overrides the shape's dtype, as --layout overrides its layout."""
    d = SHAPES[0]
    x, w, b = inputs16(d, "f16", np.random.default_rng(9))
    y_path = tmp_path / "y.npy"
    r = tool("run", "--shape", d.text(), "--dtype", "float16", "--variant", "ref_f16", *save(tmp_path, x, w, b),
             "--y", y_path)
    assert r.returncode == 0, r.stderr
    assert np.load(y_path).dtype == np.float16
    r = tool("run", "--shape", d.text(), "--dtype", "f64", "--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy",
             "--y", tmp_path / "z.npy")
    assert r.returncode == 2 and "--dtype must be f32, bf16 or f16" in r.stderr, r.stderr
    assert not (tmp_path / "z.npy").exists()


@pytest.mark.parametrize("dtype,given,says", [
    ("bf16", np.float32, "has dtype <f4, expected <V2 or bfloat16 (ml_dtypes.bfloat16) or <u2 (its raw bits) "
                         "for dtype=bf16"),
    ("bf16", np.float16, "has dtype <f2, expected <V2 or bfloat16"),
    ("f16", BF16, "has dtype <V2, expected <f2 (float16) for dtype=f16"),
    ("f16", np.uint16, "has dtype <u2, expected <f2 (float16) for dtype=f16"),
    ("f32", np.float16, "has dtype <f2, expected <f4 (float32) for dtype=f32"),
    ("f32", BF16, "has dtype <V2, expected <f4 (float32)"),
])
@pytest.mark.parametrize("which", ["--x", "--w", "--b"])
def test_run_refuses_a_file_of_another_dtype(tmp_path, dtype, given, says, which):
    d = SHAPES[0]
    xs, ws, _ = d.shapes()
    rng = np.random.default_rng(5)
    files = {}
    for opt, shape in (("--x", xs), ("--w", ws), ("--b", (d.out_channels,))):
        right = np.float32 if dtype == "f32" else NPTYPE[dtype]
        a = rng.uniform(-1, 1, shape).astype(given if opt == which else right)
        files[opt] = tmp_path / f"{opt[2:]}.npy"
        np.save(files[opt], a)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = tool("run", "--shape", shape_text(d, dtype), *[a for kv in files.items() for a in kv], "--y",
             tmp_path / "y.npy")
    assert r.returncode == 2, r.stderr  # as every other refused input file
    assert f"{which} {files[which]} {says}" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- bench --dtype ------------------------------------------------------------------------------------------

BENCH_SHAPE = "batch=2,length=300,in_channels=16,out_channels=24,kernel_size=3,stride=2,pad_left=2,dilation=2,bias=1"


def bench(*args):
    return subprocess.run([TOOL, "bench", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("dtype,cls,peer", [("bf16", "bf16", "onednn_bf16"), ("float16", "f16", "onednn_f16"),
                                            ("f32", "fp32", "onednn")])
def test_bench_dtype_compares_within_the_class(dtype, cls, peer):
    """--dtype overrides the shape's dtype; the default set holds only that class's variants, checked on
    tensors of that dtype, and the header names the class and its peer."""
    r = bench("--shape", BENCH_SHAPE + ",dtype=bf16" if cls != "bf16" else BENCH_SHAPE, "--dtype", dtype,
              "--csv", "--budget", "0.05", "--rounds", "1", "--seed", "3")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows, r.stdout
    assert {row["precision"] for row in rows} == {cls}
    assert peer in {row["variant"] for row in rows}
    for row in rows:  # checked where they ran; the others say they do not apply (f16 here: oneDNN has none)
        assert row["status"] in ("ok", "unsupported"), row
        if row["status"] == "ok":
            assert float(row["rel_err"]) < (1e-4 if cls == "fp32" else 1e-2), row

    r = bench("--shape", BENCH_SHAPE, "--dtype", dtype, "--budget", "0.05", "--rounds", "1", "--variant",
              f"ref_{cls}" if cls != "fp32" else "ref")
    assert r.returncode == 0, r.stderr
    name = {"bf16": "bf16", "f16": "f16", "fp32": "f32"}[cls]
    assert f"class     {cls} (dtype {name}), against {peer}" in r.stdout, r.stdout
    shape_line = r.stdout.splitlines()[0]
    assert shape_line.startswith("shape ") and (f"dtype={name}" in shape_line) == (cls != "fp32"), shape_line


def test_bench_refuses_an_unknown_dtype():
    r = bench("--shape", BENCH_SHAPE, "--dtype", "f64", "--budget", "0.05", "--rounds", "1")
    assert r.returncode == 2
    assert "--dtype must be f32, bf16 or f16" in r.stderr
