"""The Python package's tests: the package of this tree (python/), over $CONV1D_LIB or this tree's
build/lib/libconv1d.so (never the sanitized build-san/ one, which cannot be loaded into Python)."""
import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

# The fp32 precision class's thresholds (runtime/check.c): max |y - ref| / max |ref|, and the relative L2 norm.
FP32_MAX, FP32_L2 = 1e-4, 2e-5


@pytest.fixture(autouse=True, scope="session")
def _no_user_database(tmp_path_factory):
    """Plans of the default mode look in $CONV1D_DB; point it at an empty folder so no test depends on (or
    writes to) the user's results database."""
    old = os.environ.get("CONV1D_DB")
    os.environ["CONV1D_DB"] = str(tmp_path_factory.mktemp("db") / "none.db")
    yield
    if old is None:
        os.environ.pop("CONV1D_DB", None)
    else:
        os.environ["CONV1D_DB"] = old


def ref_conv1d(x, w, b, stride=1, pad_left=0, pad_right=0, dilation=1, groups=1, layout="nwc"):
    """An independent conv1d in float64, either layout (MAX's semantics; weights in the layout's order)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    if layout == "ncw":
        x, w = x.transpose(0, 2, 1), w.transpose(2, 1, 0)
    n, length, cin = x.shape
    k, cig, cout = w.shape
    cog = cout // groups
    xp = np.pad(x, ((0, 0), (pad_left, pad_right), (0, 0)))
    lout = (length + pad_left + pad_right - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((n, lout, groups, cog))
    for t in range(k):
        s = t * dilation
        xs = xp[:, s:s + stride * (lout - 1) + 1:stride, :].reshape(n, lout, groups, cig)
        y += np.einsum("nlgc,cgo->nlgo", xs, w[t].reshape(cig, groups, cog))
    y = y.reshape(n, lout, cout)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return y.transpose(0, 2, 1) if layout == "ncw" else y


def assert_fp32_close(y, ref, what=""):
    y = np.asarray(y, np.float64)
    assert y.shape == ref.shape, f"{what}: shape {y.shape} != {ref.shape}"
    scale = np.abs(ref).max()
    err_max = np.abs(y - ref).max() / scale
    err_l2 = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    assert err_max <= FP32_MAX and err_l2 <= FP32_L2, f"{what}: max {err_max:.3g}, L2 {err_l2:.3g}"


# --- the 16-bit classes ------------------------------------------------------------------------------------

def ulp16(v, dtype):
    """The spacing of bfloat16's or float16's numbers at magnitudes v >= 0 (core/check.c's ulp_of): 2^(exponent
    - mantissa bits), no finer than the type's smallest subnormal."""
    mant, min_exp = (7, -133) if dtype == "bfloat16" else (10, -24)
    _, e = np.frexp(np.asarray(v, np.float64))
    return np.ldexp(1.0, np.maximum(e - 1 - mant, min_exp))


def half_bound(ref, absum, terms, dtype):
    """core/check.h's c1_compare16 bound per element: one rounding to nearest of an fp32 accumulation,
    1/2 ulp(|ref| + a) + a with a = 4 sqrt(terms) 2^-24 absum (absum: the reference on |x|, |w| and |b|)."""
    acc = 4.0 * np.sqrt(max(terms, 1)) * 2.0 ** -24 * absum
    return 0.5 * ulp16(np.abs(ref) + acc, dtype) + acc


def half_reference(x, w, b, stride=1, pad_left=0, pad_right=0, dilation=1, groups=1, layout="nwc"):
    """(ref, absum, terms) of a 16-bit problem: the float64 reference on exactly the 16-bit inputs (widened,
    which is exact), the same on their magnitudes, and the products per output."""
    def wide(a):
        return None if a is None else np.asarray(a).astype(np.float64)
    xd, wd, bd = wide(x), wide(w), wide(b)
    args = (stride, pad_left, pad_right, dilation, groups, layout)
    ref = ref_conv1d(xd, wd, bd, *args)
    absum = ref_conv1d(np.abs(xd), np.abs(wd), None if bd is None else np.abs(bd), *args)
    k = wd.shape[0] if layout == "nwc" else wd.shape[2]
    return ref, absum, wd.shape[1] * k + (bd is not None)


def half_outside(y, ref, absum, terms, dtype):
    """Indices (flat) of the elements of y beyond their bound, and the largest error in output ulps."""
    yd = np.asarray(y).astype(np.float64).ravel()
    ref, absum = ref.ravel(), absum.ravel()
    diff = np.abs(yd - ref)
    bad = ~np.isfinite(yd) | (diff > half_bound(ref, absum, terms, dtype))
    return np.flatnonzero(bad), float(np.max(diff / ulp16(np.abs(ref), dtype), initial=0.0))


def assert_half_close(y, ref, absum, terms, dtype, what=""):
    """Every element of the 16-bit output y within c1_compare16's bound of the reference."""
    assert y.shape == ref.shape, f"{what}: shape {y.shape} != {ref.shape}"
    bad, ulps = half_outside(y, ref, absum, terms, dtype)
    if bad.size:
        i = bad[0]
        raise AssertionError(f"{what}: {bad.size} of {ref.size} {dtype} outputs beyond one rounding of an fp32 "
                             f"accumulation; first at {np.unravel_index(i, ref.shape)}: "
                             f"{float(np.asarray(y).ravel()[i])} against {ref.ravel()[i]!r} (largest error "
                             f"{ulps:.3g} ulp)")
