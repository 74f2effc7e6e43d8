"""Element types: the descriptor's dtype (conv1d_desc.dtype in include/conv1d.h), shared by input, weights,
bias and output.

One table row per type. `c_value` is the conv1d_dtype enum value, or None while libconv1d has no such type;
the numpy and torch element types are looked up when first needed (bfloat16 comes from ml_dtypes). Adding a
type the library gained is filling in its c_value (and its numpy source if new)."""
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np


def _ml_dtypes_bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        raise TypeError("bfloat16 arrays need the ml_dtypes package (pip install ml_dtypes; make deps installs "
                        "it): NumPy has no bfloat16 of its own") from None
    return np.dtype(ml_dtypes.bfloat16)


@dataclass(frozen=True)
class DType:
    name: str                       # the descriptor's name: float32, bfloat16, float16
    c_value: Optional[int]          # conv1d_dtype value; None: not (yet) in libconv1d
    itemsize: int
    aliases: Tuple[str, ...]
    numpy_source: Callable[[], np.dtype]
    precision: str                  # the precision class a plan of this type competes in

    @property
    def supported(self) -> bool:
        """Whether the loaded libconv1d computes this type (loading it; LibraryNotFoundError if it cannot be)."""
        if self.c_value is None:
            return False
        from . import _lib
        return _lib.has_dtype(self.c_value)

    def numpy(self) -> np.dtype:
        return self.numpy_source()

    def torch(self):
        import torch
        return getattr(torch, self.name)

    def __str__(self):
        return self.name


DTYPES = (
    DType("float32", 0, 4, ("f32", "fp32", "float"), lambda: np.dtype(np.float32), "fp32"),
    DType("bfloat16", 1, 2, ("bf16",), _ml_dtypes_bfloat16, "bf16"),
    DType("float16", 2, 2, ("f16", "fp16", "half"), lambda: np.dtype(np.float16), "f16"),
)
_BY_NAME = {n: d for d in DTYPES for n in (d.name, *d.aliases)}
FLOAT32 = DTYPES[0]


def supported_names():
    """Names of the types the loaded libconv1d computes (loading it)."""
    return [d.name for d in DTYPES if d.supported]


def supported_text():
    """The supported names for a message: what the library says, or, when it cannot be loaded, the types this
    package knows (a message must not fail for want of the library)."""
    from ._lib import Conv1dError
    try:
        return ", ".join(supported_names())
    except Conv1dError:
        return ", ".join(d.name for d in DTYPES if d.c_value is not None)


def lookup(spec) -> DType:
    """The DType named by spec: a DType, a name ("float32", "bf16"), a numpy dtype or scalar type, or a torch
    dtype. Unknown types raise TypeError; known but unsupported ones are returned (see require)."""
    if isinstance(spec, DType):
        return spec
    if isinstance(spec, str):
        d = _BY_NAME.get(spec.lower())
        if d is None:
            raise TypeError(f"unknown dtype {spec!r}: conv1d_tune knows {', '.join(d.name for d in DTYPES)}")
        return d
    mod = type(spec).__module__
    if mod.split(".")[0] in ("torch", "max"):  # torch.bfloat16 prints as "torch.bfloat16", MAX's as DType.bfloat16
        return lookup(str(spec).rpartition(".")[2])
    try:
        nd = np.dtype(spec)
    except TypeError:
        raise TypeError(f"unknown dtype {spec!r}: conv1d_tune knows {', '.join(d.name for d in DTYPES)}") from None
    if nd.name in _BY_NAME and nd.isnative:
        return _BY_NAME[nd.name]
    raise TypeError(f"dtype {nd.str} ({nd.name}) is not a conv1d_tune element type: "
                    f"{', '.join(d.name for d in DTYPES)} in native byte order")


def require(spec) -> DType:
    """lookup(spec), refusing (TypeError) a type this libconv1d cannot compute."""
    d = lookup(spec)
    if not d.supported:
        raise TypeError(f"dtype {d.name} is not supported by this libconv1d, which computes "
                        f"{' and '.join(supported_names())} only; convert the arrays (e.g. x.astype(np.float32)) "
                        f"and use dtype='float32'")
    return d
