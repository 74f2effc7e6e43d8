"""Descriptors, plans and the functional conv1d over libconv1d.

Shapes follow the layout (include/conv1d.h):
  nwc (MAX's default)     x (batch, length, in_channels)  w (kernel_size, in_channels/groups, out_channels)
                          y (batch, new_length, out_channels)
  ncw (PyTorch, MAX's permute=True)
                          x (batch, in_channels, length)  w (out_channels, in_channels/groups, kernel_size)
                          y (batch, out_channels, new_length)
  bias (out_channels,)

Every array is of the descriptor's dtype, never converted: float32; bfloat16 as ml_dtypes.bfloat16 arrays
(NumPy has no bfloat16 of its own; PyTorch bfloat16 tensors are viewed as such); float16 as np.float16. An
array of another dtype is refused with a TypeError naming both.
"""
import collections
import ctypes
import math
import operator
import os
import sys
import threading
from collections.abc import Mapping

import numpy as np

from . import _dtypes
from . import _lib
from ._lib import Conv1dError

OUTPUT_ALIGN = 64  # outputs the package allocates start on a cache line (the streaming-store paths need it)
_INT64_MAX = 2 ** 63 - 1


def _int(name, v):
    if isinstance(v, bool):
        raise TypeError(f"{name} must be an integer, got {v!r}")
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__} {v!r}") from None
    if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
        raise ValueError(f"{name}={v} does not fit in 64 bits")
    return v


def _layout(v):
    s = str(v).lower() if isinstance(v, str) else None
    if s not in _lib.LAYOUTS:
        raise ValueError(f"layout must be 'nwc' (channels last, MAX's default) or 'ncw' (channels first, "
                         f"PyTorch's), got {v!r}")
    return s


def padding_pair(padding, kernel_size=None, dilation=1, stride=1):
    """(pad_left, pad_right) of an int, a (left, right) pair, 'valid' or 'same' (PyTorch's split: the
    extra zero of an odd total goes right; stride 1 only, as in PyTorch)."""
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return 0, 0
        if p == "same":
            if stride != 1:
                raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride={stride}")
            total = dilation * (kernel_size - 1)
            return total // 2, total - total // 2
        raise ValueError(f"padding must be an int, a (left, right) pair, 'valid' or 'same', got {padding!r}")
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(f"padding as a sequence must be a (left, right) pair, got {padding!r}")
        return _int("pad_left", padding[0]), _int("pad_right", padding[1])
    p = _int("padding", padding)
    return p, p


class Desc:
    """One convolution (conv1d_desc): immutable, hashable, compared by its canonical text and dtype.

    Desc(length=, in_channels=, out_channels=, kernel_size=, batch=1, stride=1, padding=0 (int, (left,
    right), 'valid' or 'same') or pad_left=/pad_right=, dilation=1 (dense), groups=1 (or num_groups=),
    bias=False (or has_bias=), layout='nwc', dtype='float32'); Desc.parse(text) reads the canonical or
    benchdnn form. An invalid combination raises ValueError with libconv1d's sentence naming the field.

    dtype: 'float32' ('f32'), 'bfloat16' ('bf16') or 'float16' ('f16'), MAX's names and the short ones alike,
    or a NumPy, ml_dtypes or torch dtype; ct.supported_dtypes() lists what the loaded libconv1d computes."""
    __slots__ = ("batch", "length", "in_channels", "out_channels", "kernel_size", "stride", "pad_left", "pad_right",
                 "dilation", "num_groups", "has_bias", "layout", "dtype", "_text")

    def __init__(self, *, length, in_channels, out_channels, kernel_size, batch=1, stride=1, padding=None,
                 pad_left=None, pad_right=None, dilation=1, groups=None, num_groups=None, bias=None, has_bias=None,
                 layout="nwc", dtype="float32"):
        set_ = object.__setattr__
        for name, v in (("batch", batch), ("length", length), ("in_channels", in_channels),
                        ("out_channels", out_channels), ("kernel_size", kernel_size), ("stride", stride),
                        ("dilation", dilation)):
            set_(self, name, _int(name, v))
        if groups is not None and num_groups is not None and groups != num_groups:
            raise ValueError(f"groups={groups!r} and num_groups={num_groups!r} disagree: give one")
        set_(self, "num_groups", _int("groups", groups if groups is not None else
                                      num_groups if num_groups is not None else 1))
        if padding is not None and (pad_left is not None or pad_right is not None):
            raise ValueError("give either padding or pad_left/pad_right, not both")
        if padding is not None:
            pl, pr = padding_pair(padding, self.kernel_size, self.dilation, self.stride)
        else:
            pl = _int("pad_left", pad_left if pad_left is not None else 0)
            pr = _int("pad_right", pad_right if pad_right is not None else 0)
        set_(self, "pad_left", pl)
        set_(self, "pad_right", pr)
        if bias is not None and has_bias is not None and bool(bias) != bool(has_bias):
            raise ValueError(f"bias={bias!r} and has_bias={has_bias!r} disagree: give one")
        hb = bias if bias is not None else has_bias if has_bias is not None else False
        if hb not in (0, 1, True, False):
            raise TypeError(f"bias must be True or False, got {hb!r}")
        set_(self, "has_bias", bool(hb))
        set_(self, "layout", _layout(layout))
        set_(self, "dtype", _dtypes.require(dtype))
        c = self._c()
        L = _lib.lib()
        if L.conv1d_desc_validate(ctypes.byref(c)) != 0:
            raise ValueError(_lib.last_error())
        buf = ctypes.create_string_buffer(_lib.DESC_TEXT_MAX)
        L.conv1d_desc_format(ctypes.byref(c), buf, len(buf))
        set_(self, "_text", buf.value.decode())

    @classmethod
    def parse(cls, text, dtype=None, layout=None):
        """A Desc from the canonical key=value form or a benchdnn descriptor (conv1d_desc_parse); dtype and
        layout, when given, override the text's (dtype=bf16, ...; float32 where the text names none)."""
        if not isinstance(text, str):
            raise TypeError(f"a descriptor text must be a str, got {type(text).__name__}")
        c = _lib.CDesc()
        if _lib.lib().conv1d_desc_parse(text.encode(), ctypes.byref(c)) != 0:
            raise ValueError(_lib.last_error())
        return cls._from_c(c, dtype, layout)

    @classmethod
    def _from_c(cls, c, dtype=None, layout=None):
        if dtype is None:
            dtype = next((d for d in _dtypes.DTYPES if d.c_value == c.dtype), None)
            if dtype is None:
                raise TypeError(f"the descriptor's dtype {c.dtype} is not one conv1d_tune knows")
        return cls(batch=c.batch, length=c.length, in_channels=c.in_channels, out_channels=c.out_channels,
                   kernel_size=c.kernel_size, stride=c.stride, pad_left=c.pad_left, pad_right=c.pad_right,
                   dilation=c.dilation, groups=c.num_groups, bias=bool(c.has_bias),
                   layout=layout or ("ncw" if c.layout == 1 else "nwc"), dtype=dtype)

    def replace(self, **changes):
        """A copy with some fields changed (same keywords as the constructor)."""
        kw = {f: getattr(self, f) for f in ("batch", "length", "in_channels", "out_channels", "kernel_size",
                                            "stride", "dilation", "layout", "dtype")}
        kw["groups"] = self.num_groups
        kw["bias"] = self.has_bias
        if "padding" not in changes:
            kw["pad_left"], kw["pad_right"] = self.pad_left, self.pad_right
        for a, b in (("num_groups", "groups"), ("has_bias", "bias")):
            if a in changes:
                changes[b] = changes.pop(a)
        if "pad_left" in changes or "pad_right" in changes:
            kw.pop("padding", None)
        kw.update(changes)
        return Desc(**kw)

    def _c(self):
        c = _lib.CDesc()
        for f in ("batch", "length", "in_channels", "out_channels", "kernel_size", "stride", "pad_left",
                  "pad_right", "dilation", "num_groups"):
            setattr(c, f, getattr(self, f))
        c.has_bias = int(self.has_bias)
        c.layout = _lib.LAYOUTS[self.layout]
        c.dtype = self.dtype.c_value
        return c

    def __setattr__(self, name, value):
        raise AttributeError("a Desc is immutable; use desc.replace(...)")

    def __reduce__(self):
        return (Desc.parse, (self._text, self.dtype.name))

    @property
    def text(self):
        """The canonical key=value form (layout included; the dtype where it is not float32, as ',dtype=bf16')."""
        return self._text

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"Desc.parse({self._text!r}, dtype={self.dtype.name!r})"

    def __eq__(self, other):
        return isinstance(other, Desc) and self._text == other._text and self.dtype == other.dtype

    def __hash__(self):
        return hash((self._text, self.dtype.name))

    @property
    def output_length(self):
        span = self.dilation * (self.kernel_size - 1) + 1
        return (self.length + self.pad_left + self.pad_right - span) // self.stride + 1

    @property
    def input_shape(self):
        if self.layout == "nwc":
            return (self.batch, self.length, self.in_channels)
        return (self.batch, self.in_channels, self.length)

    @property
    def weight_shape(self):
        cig = self.in_channels // self.num_groups
        if self.layout == "nwc":
            return (self.kernel_size, cig, self.out_channels)
        return (self.out_channels, cig, self.kernel_size)

    @property
    def bias_shape(self):
        return (self.out_channels,) if self.has_bias else None

    @property
    def output_shape(self):
        if self.layout == "nwc":
            return (self.batch, self.output_length, self.out_channels)
        return (self.batch, self.out_channels, self.output_length)

    @property
    def flops(self):
        """Multiply-adds counted as two FLOPs."""
        return _lib.lib().conv1d_desc_flops(ctypes.byref(self._c()))

    @property
    def min_bytes(self):
        """Every tensor read or written once."""
        return _lib.lib().conv1d_desc_min_bytes(ctypes.byref(self._c()))


_SHAPE_NAMES = {"nwc": {"x": "(batch, length, in_channels)", "w": "(kernel_size, in_channels/groups, out_channels)",
                        "y": "(batch, new_length, out_channels)"},
                "ncw": {"x": "(batch, in_channels, length)", "w": "(out_channels, in_channels/groups, kernel_size)",
                        "y": "(batch, out_channels, new_length)"}}


def as_desc(desc=None, dtype=None, **fields):
    """A Desc from a Desc, a descriptor text, a mapping of Desc keywords, or keywords."""
    if desc is None:
        if not fields:
            raise TypeError("give a descriptor: a Desc, its text, a dict, or keywords (length=, in_channels=, ...)")
        return Desc(**fields, **({"dtype": dtype} if dtype is not None else {}))
    if fields:
        raise TypeError(f"give either a descriptor or keywords, not both (got also {', '.join(fields)})")
    if isinstance(desc, Desc):
        if dtype is not None and _dtypes.lookup(dtype) != desc.dtype:
            return desc.replace(dtype=dtype)
        return desc
    if isinstance(desc, str):
        return Desc.parse(desc, dtype=dtype)
    if isinstance(desc, Mapping):
        kw = dict(desc)
        if dtype is not None:
            kw["dtype"] = dtype
        return Desc(**kw)
    raise TypeError(f"a descriptor must be a Desc, a str or a dict, got {type(desc).__name__}")


def as_array(a, name, output=False):
    """a as a NumPy array without copying: ndarrays as they are, DLPack producers (MAX, PyTorch, JAX on the
    CPU) through np.from_dlpack, and anything with __array__, __array_interface__ or the buffer protocol. An
    output prefers __array__ (a PyTorch tensor's is a writeable view; NumPy before 2.1 marks every DLPack
    import read-only)."""
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple, int, float, complex, str, bytes)) or a is None:
        raise TypeError(f"{name} must be an array (NumPy, or an object exposing DLPack, __array__ or the buffer "
                        f"protocol), got {type(a).__name__}")
    bf16 = None
    if str(getattr(a, "dtype", "")) == "torch.bfloat16":
        # NumPy cannot import a bfloat16 tensor (DLPack or __array__): view its bits as int16 and those as
        # ml_dtypes.bfloat16, the same memory.
        bf16 = _dtypes.lookup("bfloat16").numpy()
    try:
        if bf16 is not None:
            a = a.view(sys.modules["torch"].int16)
        if hasattr(a, "__dlpack__") and not (output and hasattr(a, "__array__")):
            r = np.from_dlpack(a)
        else:
            r = np.asarray(a)
        return r if bf16 is None else r.view(bf16)
    except Exception as e:  # noqa: BLE001: whatever the producer raises, the caller gets one clear TypeError
        raise TypeError(f"{name}: cannot view a {type(a).__module__}.{type(a).__name__} as a host NumPy array "
                        f"without copying ({e})") from None


def empty_aligned(shape, dtype, align=OUTPUT_ALIGN):
    """An uninitialised C-order array whose data starts on an align-byte boundary."""
    dtype = np.dtype(dtype)
    n = math.prod(shape) * dtype.itemsize
    buf = np.empty(n + align, dtype=np.uint8)
    off = -address(buf) % align
    return buf[off:off + n].view(dtype).reshape(shape)


def address(a):
    """The address of a C-contiguous array's data: through ctypes' buffer import where the array is writeable
    (a fraction of a microsecond), else through a.ctypes (about 2 us)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def address_bits(a):
    """address() of an array whose dtype the buffer protocol cannot carry (ml_dtypes.bfloat16): through a
    uint16 view of the same memory (half a microsecond), else a.ctypes."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a.view(np.uint16)))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def _dtype_text(dt):
    """How a NumPy dtype is named in messages: 'float32' ('<f4'); ml_dtypes' bfloat16, whose .str is a
    meaningless '<V2', by its name and source."""
    return f"{dt} (ml_dtypes)" if dt.kind == "V" and dt.name == "bfloat16" else f"{dt} ('{dt.str}')"


def _convert_hint(name, dtype):
    if dtype.name == "bfloat16":
        return f"{name}.astype(ml_dtypes.bfloat16)"
    return f"{name}.astype(np.{dtype.name})"


def check_array(a, name, desc, role, expected_shape, want, writeable=False):
    """Refuses, with a sentence saying what was expected, an array a plan cannot take as it is. want: the
    NumPy dtype of the plan's elements, None where NumPy cannot hold them here (bfloat16 without ml_dtypes)."""
    if want is None or a.dtype != want:  # (None first: NumPy takes a dtype == None for float64)
        if want is None:  # raises the TypeError saying what is missing
            desc.dtype.numpy()
        raise TypeError(f"{name} has dtype {_dtype_text(a.dtype)}, but the plan's dtype is {desc.dtype.name}"
                        f"{'' if want.kind == 'V' else f' ({want.str!r})'}; arrays are never converted here: "
                        f"convert it, e.g. {_convert_hint(name, desc.dtype)}")
    if a.shape != tuple(expected_shape):
        what = _SHAPE_NAMES[desc.layout].get(role, "(out_channels,)")
        raise ValueError(f"{name} has shape {a.shape}, but the plan ({desc.layout}) expects {what} = "
                         f"{tuple(expected_shape)} for {desc}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous (strides {a.strides}); pass np.ascontiguousarray({name})")
    if not a.flags.aligned:  # NumPy's flag: the data address and every stride are multiples of the alignment
        raise ValueError(f"{name}'s data (address {a.ctypes.data:#x}) is not aligned to its {a.dtype.itemsize}-byte "
                         f"elements; pass a copy ({name}.copy())")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} is read-only; the output must be writeable")


class Plan:
    """A prepared convolution (conv1d_plan): the variant libconv1d chose for this shape on this machine, its
    packed weights and its workspaces.

        plan = Plan(desc_or_kwargs, db=None, threads=0, mode="db")
        plan.set_weights(w, b)        # packs them once (a copy: w and b may change or go afterwards)
        y = plan(x)                   # or plan(x, out=y); as often as needed, from any number of threads

    desc_or_kwargs: a Desc, a descriptor text (canonical or benchdnn), a dict of Desc keywords, or the
    keywords themselves (Plan(length=..., in_channels=..., ...)). db: the results database (None:
    $CONV1D_DB, else results/conv1d.db); threads: OpenMP threads per call (0: the OpenMP default); mode:
    'db' (exported table, database, rules), 'measure' (also tunes an untuned shape at plan time and stores
    the winner) or 'estimate' (rules only). .variant and .explain say what was chosen and why.

    Calls release the GIL. set_weights waits for running calls and holds new ones until it is done, so a
    plan may be shared by threads freely; close() (or the end of a `with` block) frees it.

    The plan's dtype (the descriptor's) is that of x, w, b and the output alike: np.float32, ml_dtypes.bfloat16
    or np.float16 arrays (a 16-bit plan runs only variants of its precision class: fp32 accumulation, one
    rounding to nearest-even at the output). Arrays of another dtype raise TypeError; nothing is converted."""

    def __init__(self, desc=None, db=None, threads=0, mode="db", *, dtype=None, **fields):
        self.desc = as_desc(desc, dtype=dtype, **fields)
        if mode not in _lib.MODES:
            raise ValueError(f"mode must be one of {', '.join(_lib.MODES)}, got {mode!r}")
        threads = _int("threads", threads)
        if not 0 <= threads <= 4096:
            raise ValueError(f"threads must be 0 (the OpenMP default) or 1..4096, got {threads}")
        self.db = None if db is None else os.fspath(db)
        self.threads = threads
        self.mode = mode
        L = _lib.lib()
        opts = _lib.Options()
        L.conv1d_options_init(ctypes.byref(opts))
        opts.db_path = os.fsencode(self.db) if self.db is not None else None
        opts.threads = threads
        opts.device = _lib.DEVICE_CPU
        opts.mode = _lib.MODES[mode]
        h = ctypes.c_void_p()
        _lib.check(L.conv1d_plan_create(ctypes.byref(h), ctypes.byref(self.desc._c()), ctypes.byref(opts)),
                   "conv1d_plan_create")
        self._h = h.value
        self._L = L
        self._variant = L.conv1d_plan_variant(self._h).decode()
        self._explain = L.conv1d_plan_explain(self._h).decode("utf-8", "replace")
        self._cv = threading.Condition(threading.Lock())
        self._active = 0      # executes in flight
        self._writers = 0     # set_weights/close calls waiting or running: new executes wait
        self._has_weights = False
        d = self.desc
        self._x_shape, self._w_shape, self._y_shape = d.input_shape, d.weight_shape, d.output_shape
        try:
            self._np_dtype = d.dtype.numpy()
        except TypeError:  # bfloat16 without ml_dtypes: no NumPy array can be given, torch tensors still can
            self._np_dtype = None
        # The buffer protocol cannot carry ml_dtypes' bfloat16: its addresses come through a uint16 view.
        self._address = address_bits if d.dtype.name == "bfloat16" else address

    # --- what was chosen ---
    @property
    def variant(self):
        """The chosen variant's stable name, e.g. 'direct_8x48__avx512'."""
        return self._variant

    @property
    def explain(self):
        """Why that variant: 'exact winner from DB ...', 'nearest tuned shape ...', 'heuristic: ...'."""
        return self._explain

    @property
    def dtype(self):
        return self.desc.dtype

    @property
    def has_weights(self):
        return self._has_weights

    @property
    def closed(self):
        return self._h is None

    def __repr__(self):
        state = "closed" if self._h is None else f"variant={self._variant}"
        return f"<conv1d_tune.Plan {self.desc} dtype={self.desc.dtype.name} {state}>"

    # --- weights ---
    def set_weights(self, w, b=None):
        """Packs w (and b, required exactly when the descriptor has a bias) into the plan, replacing earlier
        weights. w and b are read during the call only."""
        d = self.desc
        w = as_array(w, "w")
        check_array(w, "w", d, "w", self._w_shape, self._np_dtype)
        if d.has_bias:
            if b is None:
                raise ValueError(f"the descriptor has a bias (bias=1): pass b of shape ({d.out_channels},)")
            b = as_array(b, "b")
            check_array(b, "b", d, "b", (d.out_channels,), self._np_dtype)
            bp = b.ctypes.data
        else:
            if b is not None:
                raise ValueError("b was given, but the descriptor has no bias; make the plan with bias=True")
            bp = None
        return self._set_weights_ptr(w.ctypes.data, bp)

    def _set_weights_ptr(self, wp, bp):
        """set_weights on raw addresses the caller has checked (shape, dtype, C order; bp None exactly when the
        descriptor has no bias)."""
        with self._cv:
            self._writers += 1
            try:
                while self._active:
                    self._cv.wait()
                self._require_open()
                _lib.check(self._L.conv1d_plan_set_weights(self._h, wp, bp), "conv1d_plan_set_weights")
                self._has_weights = True
            finally:
                self._writers -= 1
                self._cv.notify_all()
        return self

    # --- execution ---
    def __call__(self, x, out=None):
        """y = conv1d(x) with the plan's weights; out (C order, the output shape and dtype, not overlapping x)
        receives it when given, else a new array of the plan's dtype (aligned to 64 bytes) is returned."""
        x = as_array(x, "x")
        d = self.desc
        check_array(x, "x", d, "x", self._x_shape, self._np_dtype)
        if out is None:
            out = empty_aligned(self._y_shape, self._np_dtype)
        else:
            out = as_array(out, "out", output=True)
            check_array(out, "out", d, "y", self._y_shape, self._np_dtype, writeable=True)
            if np.may_share_memory(x, out):
                raise ValueError("out overlaps x; the output must be a separate buffer")
        addr = self._address
        self._execute_ptr(addr(x), addr(out))
        return out

    def _execute_ptr(self, xp, yp):
        """Runs the plan on raw addresses the caller has checked (shape, dtype, C order, no overlap)."""
        cv = self._cv
        with cv:
            while self._writers:
                cv.wait()
            self._require_open()
            if not self._has_weights:
                raise RuntimeError("the plan has no weights: call plan.set_weights(w, b) first")
            self._active += 1
        try:
            st = self._L.conv1d_execute(self._h, xp, yp)
        finally:
            with cv:
                self._active -= 1
                if not self._active and self._writers:
                    cv.notify_all()
        if st:
            _lib.check(st, "conv1d_execute")

    def _execute_unlocked(self, xp, yp):
        """_execute_ptr without the guard against set_weights and close: for an owner that never calls either
        on a plan other threads may be running (TunedConv1d makes a new plan for new weights)."""
        st = self._L.conv1d_execute(self._h, xp, yp)
        if st:
            _lib.check(st, "conv1d_execute")

    def _require_open(self):
        if self._h is None:
            raise ValueError("the plan is closed")

    # --- lifetime ---
    def close(self):
        """Frees the plan (waiting for running calls); later calls raise ValueError. Idempotent."""
        cv = getattr(self, "_cv", None)
        if cv is None or getattr(self, "_h", None) is None:
            return
        with cv:
            self._writers += 1
            try:
                while self._active:
                    cv.wait()
                if self._h is not None:
                    self._L.conv1d_plan_destroy(self._h)
                    self._h = None
            finally:
                self._writers -= 1
                cv.notify_all()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) is not None:
                self._L.conv1d_plan_destroy(self._h)
                self._h = None
        except Exception:  # noqa: BLE001: interpreter shutdown may have torn ctypes down already
            pass

    def __reduce__(self):
        raise TypeError("a Plan holds native memory and cannot be pickled or copied; make a new Plan(desc) and "
                        "set its weights")


# --- the functional form -------------------------------------------------------------------------------

PLAN_CACHE_SIZE = 32
_tls = threading.local()


def _cache():
    c = getattr(_tls, "plans", None)
    if c is None:
        c = _tls.plans = collections.OrderedDict()
    return c


def clear_plan_cache():
    """Drops the calling thread's cached plans of conv1d()."""
    c = getattr(_tls, "plans", None)
    if c:
        for p in c.values():
            p.close()
        c.clear()


def plan_cache_info():
    """The calling thread's cached plans of conv1d(), least recently used first: [(desc, variant), ...]."""
    return [(k[0], p.variant) for k, p in _cache().items()]


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, layout="nwc", *, out=None, db=None, threads=0,
           mode="db"):
    """y = conv1d(x, w) + b through libconv1d, for NumPy and MAX arrays (anything DLPack or the array
    protocols expose on the host, without copying).

    layout 'nwc' (default: MAX's layout and weight order): x (batch, length, in_channels), w (kernel_size,
    in_channels/groups, out_channels); layout 'ncw' (PyTorch's): x (batch, in_channels, length), w
    (out_channels, in_channels/groups, kernel_size). padding: an int, a (left, right) pair, 'valid' or
    'same'. The dtype is x's: float32, bfloat16 (ml_dtypes.bfloat16 arrays) or float16, and w, b and the
    output are of the same dtype (another is refused, not converted). Plans are cached per thread, keyed by
    the shape and dtype (the PLAN_CACHE_SIZE most recent); the weights are packed on every call, which costs
    about 1/new_length of the convolution: for repeated calls with the same weights a Plan packs them once."""
    layout = _layout(layout)
    x = as_array(x, "x")
    w = as_array(w, "w")
    if b is not None:
        b = as_array(b, "b")
    try:
        dt = _dtypes.require(x.dtype)
    except TypeError as e:
        raise TypeError(f"x has dtype {x.dtype}: {e}") from None
    if x.ndim != 3 or w.ndim != 3:
        bad, a = ("x", x) if x.ndim != 3 else ("w", w)
        raise ValueError(f"{bad} must be 3-D, {_SHAPE_NAMES[layout][bad]} for layout {layout}, got shape {a.shape}")
    groups = _int("groups", groups)
    if layout == "nwc":
        n, length, cin = x.shape
        k, cig, cout = w.shape
    else:
        n, cin, length = x.shape
        cout, cig, k = w.shape
    if groups < 1 or cig * groups != cin:
        raise ValueError(f"w has shape {w.shape}, {_SHAPE_NAMES[layout]['w']} for layout {layout}: its "
                         f"in_channels/groups ({cig}) times groups ({groups}) must equal x's in_channels ({cin})")
    pl, pr = padding_pair(padding, k, _int("dilation", dilation), _int("stride", stride))
    desc = Desc(batch=n, length=length, in_channels=cin, out_channels=cout, kernel_size=k, stride=stride,
                pad_left=pl, pad_right=pr, dilation=dilation, groups=groups, bias=b is not None, layout=layout,
                dtype=dt)
    key = (desc, None if db is None else os.fspath(db), threads, mode)
    cache = _cache()
    plan = cache.get(key)
    if plan is None:
        plan = Plan(desc, db=db, threads=threads, mode=mode)
        cache[key] = plan
        while len(cache) > PLAN_CACHE_SIZE:
            cache.popitem(last=False)[1].close()
    else:
        cache.move_to_end(key)
    plan.set_weights(w, b)
    return plan(x, out=out)


__all__ = ["Desc", "Plan", "conv1d", "clear_plan_cache", "plan_cache_info", "Conv1dError", "padding_pair"]
