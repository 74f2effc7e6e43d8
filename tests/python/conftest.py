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
