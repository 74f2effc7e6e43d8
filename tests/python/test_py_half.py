"""conv1d_tune's bfloat16 and float16 plans: both layouts and the usual shapes (dense, grouped, depthwise, a
channel multiplier, stride, padding, dilation, bias) against a NumPy float64 reference on exactly the same
16-bit inputs, each output within one rounding of the output type plus a small fp32-accumulation term
(core/check.h's c1_compare16, reproduced in conftest.py); arrays of another dtype refused, never converted.

bfloat16 arrays are ml_dtypes.bfloat16 arrays: the bfloat16 tests skip, saying so, where ml_dtypes is not
installed (make deps installs it); the float16 ones need NumPy only.
Run with: python3 -m pytest -q tests/python/test_py_half.py   (after `make`)
"""
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from conftest import ROOT, assert_half_close, half_outside, half_reference, ulp16

import conv1d_tune as ct

try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None

DTYPES = ["bfloat16", "float16"]


def np_dtype(name):
    """NumPy's dtype of a 16-bit type; skips (with the reason) bfloat16 where ml_dtypes is missing."""
    if name == "bfloat16":
        if ml_dtypes is None:
            pytest.skip("bfloat16 arrays need ml_dtypes, which this Python lacks (make deps installs it)")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(np.float16)


def tensors16(rng, desc, dt, scale=1.0):
    """Random x, w, b of the plan's shapes, rounded to the 16-bit type (the values the reference sees)."""
    def r(shape):
        return (scale * rng.uniform(-1, 1, shape)).astype(np.float32).astype(dt)
    return r(desc.input_shape), r(desc.weight_shape), r(desc.out_channels) if desc.has_bias else None


def reference(desc, x, w, b):
    return half_reference(x, w, b, desc.stride, desc.pad_left, desc.pad_right, desc.dilation, desc.num_groups,
                          desc.layout)


CASES = {
    "dense": dict(batch=2, length=67, in_channels=24, out_channels=40, kernel_size=3, padding=1, bias=True),
    "dense, no bias, k1": dict(batch=1, length=50, in_channels=33, out_channels=17, kernel_size=1),
    "first layer": dict(batch=2, length=400, in_channels=1, out_channels=32, kernel_size=10, stride=5),
    "grouped": dict(batch=2, length=45, in_channels=24, out_channels=16, kernel_size=5, groups=4, padding=2,
                    bias=True),
    "depthwise causal": dict(batch=2, length=100, in_channels=48, out_channels=48, kernel_size=4, groups=48,
                             pad_left=3, bias=True),
    "depthwise long": dict(batch=1, length=120, in_channels=16, out_channels=16, kernel_size=33, groups=16,
                           padding=16),
    "depthwise decode": dict(batch=4, length=1, in_channels=64, out_channels=64, kernel_size=4, groups=64,
                             pad_left=3, bias=True),
    "multiplier": dict(batch=1, length=40, in_channels=8, out_channels=24, kernel_size=3, groups=8, padding=1),
    "stride 2": dict(batch=2, length=81, in_channels=16, out_channels=24, kernel_size=3, stride=2, padding=1,
                     bias=True),
    "dilation 3, asymmetric padding": dict(batch=1, length=60, in_channels=12, out_channels=12, kernel_size=3,
                                           dilation=3, pad_left=6, pad_right=1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nwc", "ncw"])
@pytest.mark.parametrize("case", list(CASES))
def test_16_bit_plans_round_once_at_the_output(dtype, layout, case):
    dt = np_dtype(dtype)
    desc = ct.Desc(**CASES[case], layout=layout, dtype=dtype)
    rng = np.random.default_rng(zlib.crc32(f"{dtype} {layout} {case}".encode()))
    x, w, b = tensors16(rng, desc, dt)
    ref, absum, terms = reference(desc, x, w, b)
    with ct.Plan(desc, mode="estimate") as plan:
        assert plan.dtype.name == dtype
        plan.set_weights(w, b)
        y = plan(x)
        assert y.dtype == dt and y.shape == desc.output_shape and y.ctypes.data % 64 == 0
        assert_half_close(y, ref, absum, terms, dtype, f"{desc} ({plan.variant})")
        out = np.full(desc.output_shape, np.nan, np.float32).astype(dt)
        assert plan(x, out=out) is out
        np.testing.assert_array_equal(out.view(np.uint16), y.view(np.uint16))


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_shapes_and_scales(dtype):
    """Random valid shapes in both layouts, with inputs of magnitudes far from 1 (the 16-bit types' range
    is where float16 differs from bfloat16)."""
    from test_py_package import random_case
    dt = np_dtype(dtype)
    rng = np.random.default_rng(21 if dtype == "bfloat16" else 22)
    for i in range(24):
        desc = ct.Desc(**random_case(rng, "nwc" if i % 2 else "ncw"), dtype=dtype)
        scale = float(rng.choice([1 / 64, 1.0, 16.0]))
        x, w, b = tensors16(rng, desc, dt, scale)
        ref, absum, terms = reference(desc, x, w, b)
        with ct.Plan(desc, mode="estimate") as plan:
            y = plan.set_weights(w, b)(x)
            assert_half_close(y, ref, absum, terms, dtype, f"{desc} scale {scale} ({plan.variant})")


@pytest.mark.parametrize("dtype, variant, k", [("bfloat16", "winograd_f4r3_bf16__avx2", 3),
                                               ("float16", "winograd_f4r3_f16__avx2", 3),
                                               ("bfloat16", "fft_whole_m_bf16__avx2", 33),
                                               ("float16", "fft_b256_m_f16__avx2", 33)])
def test_a_forced_variant_of_the_class_sees_the_same_bits(dtype, variant, k, monkeypatch):
    """Not only the class's reference: a variant of another family forced by CONV1D_VARIANT (read when a
    plan is made) gets the same 16-bit tensors through the package."""
    dt = np_dtype(dtype)
    monkeypatch.setenv("CONV1D_VARIANT", variant)
    desc = ct.Desc(batch=2, length=150, in_channels=32, out_channels=24, kernel_size=k, padding=k // 2, bias=True,
                   dtype=dtype)
    try:
        plan = ct.Plan(desc, mode="estimate")
    except ct.Conv1dError as e:
        if "ISA level" in str(e):  # CONV1D_ISA caps this process below the variant's level
            pytest.skip(f"{variant} cannot run here: {e}")
        raise
    assert plan.variant == variant and "forced" in plan.explain
    x, w, b = tensors16(np.random.default_rng(23), desc, dt)
    ref, absum, terms = reference(desc, x, w, b)
    assert_half_close(plan.set_weights(w, b)(x), ref, absum, terms, dtype, variant)
    plan.close()


def test_the_bound_catches_a_missing_rounding():
    """The comparison these tests make can fail: a float32 result truncated to bfloat16 or float16 instead of
    rounded is caught on ordinary data, and the rounded one passes."""
    if ml_dtypes is None:
        pytest.skip("needs ml_dtypes for the bfloat16 half (make deps installs it)")
    rng = np.random.default_rng(24)
    desc = ct.Desc(batch=1, length=200, in_channels=32, out_channels=32, kernel_size=3, padding=1)
    for dtype, dt in (("bfloat16", ml_dtypes.bfloat16), ("float16", np.float16)):
        x, w, b = tensors16(rng, desc, np.dtype(dt))
        ref, absum, terms = reference(desc, x, w, b)
        rounded = ref.astype(np.float32).astype(dt)
        assert half_outside(rounded, ref, absum, terms, dtype)[0].size == 0
        f32 = ref.astype(np.float32)
        bits = f32.view(np.uint32)
        if dtype == "bfloat16":  # drop the low 16 bits: rounding toward zero
            truncated = (bits & np.uint32(0xFFFF0000)).view(np.float32).astype(dt)
        else:  # float16 toward zero: the rounded value, one step toward zero where rounding went away from it
            truncated = rounded.copy()
            away = np.abs(rounded.astype(np.float64)) > np.abs(f32.astype(np.float64))
            truncated[away] = np.nextafter(rounded[away], np.float16(0))
        bad, ulps = half_outside(truncated, ref, absum, terms, dtype)
        assert bad.size > ref.size // 10 and ulps > 0.5, (dtype, bad.size, ulps)
        with pytest.raises(AssertionError, match=f"{dtype} outputs beyond one rounding"):
            assert_half_close(truncated, ref, absum, terms, dtype, "truncated")
    assert ulp16(1.0, "bfloat16") == 2.0 ** -7 and ulp16(1.0, "float16") == 2.0 ** -10
    assert ulp16(2.0 ** -20, "float16") == 2.0 ** -24 and ulp16(3.0, "bfloat16") == 2.0 ** -6  # subnormal floor


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_mismatches_raise_naming_both(dtype):
    dt = np_dtype(dtype)
    other = np.dtype(np.float16) if dtype == "bfloat16" else (np.dtype(ml_dtypes.bfloat16) if ml_dtypes else None)
    desc = ct.Desc(length=16, in_channels=4, out_channels=6, kernel_size=3, bias=True, dtype=dtype)
    plan = ct.Plan(desc, mode="estimate")
    rng = np.random.default_rng(25)
    x, w, b = tensors16(rng, desc, dt)
    hint = "ml_dtypes.bfloat16" if dtype == "bfloat16" else "np.float16"
    for bad in [w.astype(np.float32), w.astype(np.float64), w.view(np.uint16)] + ([w.astype(other)] if other else []):
        with pytest.raises(TypeError, match=rf"w has dtype {bad.dtype}.*but the plan's dtype is {dtype}.*never "
                                            rf"converted.*w\.astype\({hint}\)"):
            plan.set_weights(bad, b)
    with pytest.raises(TypeError, match=rf"b has dtype float32 \('<f4'\), but the plan's dtype is {dtype}"):
        plan.set_weights(w, b.astype(np.float32))
    plan.set_weights(w, b)
    ref = plan(x)
    for bad in (x.astype(np.float32), x.view(np.uint16)):
        with pytest.raises(TypeError, match=rf"x has dtype {bad.dtype} \('<[fu][24]'\), but the plan's dtype is "
                                            rf"{dtype}"):
            plan(bad)
    with pytest.raises(TypeError, match=rf"out has dtype float32 \('<f4'\), but the plan's dtype is {dtype}"):
        plan(x, out=np.zeros(desc.output_shape, np.float32))
    # And a float32 plan refuses the 16-bit arrays the same way.
    p32 = ct.Plan(desc.replace(dtype="float32"), mode="estimate")
    with pytest.raises(TypeError, match=rf"x has dtype {dtype}.*but the plan's dtype is float32 \('<f4'\)"):
        p32.set_weights(w.astype(np.float32), b.astype(np.float32))(x)
    np.testing.assert_array_equal(plan(x).view(np.uint16), ref.view(np.uint16))  # the plan is unharmed
    # The functional form: x decides the dtype, w and b must follow it.
    with pytest.raises(TypeError, match=rf"w has dtype float32.*the plan's dtype is {dtype}"):
        ct.conv1d(x, w.astype(np.float32), b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_function_keys_its_plans_by_dtype(dtype):
    dt = np_dtype(dtype)
    ct.clear_plan_cache()
    rng = np.random.default_rng(26)
    for layout in ("nwc", "ncw"):
        desc = ct.Desc(batch=2, length=37, in_channels=8, out_channels=8, kernel_size=4, groups=8,
                       pad_left=3, bias=True, layout=layout, dtype=dtype)
        x, w, b = tensors16(rng, desc, dt)
        y = ct.conv1d(x, w, b, padding=(3, 0), groups=8, layout=layout)
        assert y.dtype == dt
        ref, absum, terms = reference(desc, x, w, b)
        assert_half_close(y, ref, absum, terms, dtype, f"conv1d {layout}")
        y32 = ct.conv1d(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), padding=(3, 0), groups=8,
                        layout=layout)
        assert y32.dtype == np.float32
    info = ct.plan_cache_info()
    assert sorted(d.dtype.name for d, _ in info) == sorted(["float32", dtype] * 2)
    ct.clear_plan_cache()


def test_bfloat16_plans_without_ml_dtypes_say_what_is_missing():
    """Where ml_dtypes is missing a bfloat16 plan can still be made (PyTorch passes its tensors by address), and
    a NumPy array for it is refused with a TypeError naming the package."""
    code = """
import sys
sys.modules["ml_dtypes"] = None  # import ml_dtypes raises ImportError
import numpy as np, conv1d_tune as ct
plan = ct.Plan(length=8, in_channels=2, out_channels=2, kernel_size=1, dtype="bfloat16", mode="estimate")
print("variant", plan.variant)
for call in (lambda: plan(np.ones((1, 8, 2), np.float32)), lambda: plan.set_weights(np.ones((1, 2, 2), np.uint16)),
             lambda: plan.set_weights(np.ones((1, 2, 2), np.float64))):  # (NumPy takes float64 == None)
    try:
        call()
    except TypeError as e:
        print("TypeError", e)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("variant ") and len(lines) == 4, r.stdout
    assert all(line.startswith("TypeError bfloat16 arrays need the ml_dtypes package") for line in lines[1:]), r.stdout
