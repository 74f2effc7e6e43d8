"""PyTorch: TunedConv1d, a drop-in torch.nn.Conv1d running inference through libconv1d, and swap_conv1d.

    from conv1d_tune.torch import TunedConv1d, swap_conv1d
    conv = TunedConv1d(80, 512, 3, padding=1)       # nn.Conv1d's constructor, parameters and state_dict
    swap_conv1d(model)                              # every nn.Conv1d of a model, in place, parameters shared
    with torch.inference_mode():
        y = model(x)

A forward runs through a libconv1d plan made on first use for each (batch, length, thread count, dtype) of
the input: CPU, float32, bfloat16 or float16 (input, weights and bias of the same dtype; the output is of it
too), a contiguous input, zero padding, and no gradient being recorded. Anything else (CUDA, other dtypes,
mixed dtypes, padding_mode other than 'zeros', autograd, tracing or compiling, tensor subclasses) goes to
nn.Conv1d's own forward (F.conv1d), with one log line per layer and reason (logger "conv1d_tune.torch").

bfloat16 and float16 layers (model.to(torch.bfloat16)) run plans of that dtype: fp32 accumulation and one
rounding to nearest-even at the output, as PyTorch's CPU bf16 convolution; the tensors are passed by
address (no NumPy, no ml_dtypes needed). PyTorch before 2.1 has no CPU float16 convolution at all, so there a
float16 layer computes only through libconv1d.

Weights: a plan packs the layer's weight and bias when it is made. A change of the parameters is noticed
through the tensor's identity, storage address and version counter (optimizer steps, load_state_dict, copy_
under no_grad, .to()) and the plans are made again; writes through .data bypass the version counter, so
after `conv.weight.data[...] = ...` call conv.reset_plans()."""
import logging
import threading

import torch
import torch.nn as nn

from . import _dtypes
from ._lib import Conv1dError
from ._plan import Plan, Desc, padding_pair

log = logging.getLogger("conv1d_tune.torch")

_compiler = getattr(torch, "compiler", None)
_is_compiling = getattr(_compiler, "is_compiling", None) or (lambda: False)
# torch dtype -> DType for every type conv1d_tune knows; whether the loaded library computes one is asked when
# a plan is made (Desc refuses it otherwise), so importing this module never loads the library.
_DTYPES = {}
for _d in _dtypes.DTYPES:
    _t = getattr(torch, _d.name, None)
    if _t is not None and _d.c_value is not None:
        _DTYPES[_t] = _d


class _NotApplicable(Exception):
    pass


def _version(t):
    # Inference tensors (parameters made under torch.inference_mode) keep no version counter; identity and
    # address still count. Asked first: reading ._version raises for them, and PyTorch builds that exception
    # with a C++ backtrace (1-3 ms in 1.13), on every forward.
    if t.is_inference():
        return None
    try:
        return t._version
    except RuntimeError:
        return None


class TunedConv1d(nn.Conv1d):
    """torch.nn.Conv1d whose CPU inference in float32, bfloat16 or float16 runs through libconv1d's tuned plans.

    Same constructor (plus keyword-only db= and mode=, as conv1d_tune.Plan takes them), same parameters,
    buffers and state_dict as nn.Conv1d: a model's checkpoints load either way. See the module's docstring for
    when it falls back to F.conv1d."""

    def __init__(self, *args, db=None, mode="db", **kwargs):
        super().__init__(*args, **kwargs)
        self._c1_init(db, mode)

    @classmethod
    def from_conv1d(cls, conv, *, db=None, mode="db"):
        """A TunedConv1d sharing conv's parameters, buffers and hooks (conv itself is left unchanged)."""
        if not isinstance(conv, nn.Conv1d):
            raise TypeError(f"from_conv1d needs a torch.nn.Conv1d, got {type(conv).__name__}")
        new = cls.__new__(cls)
        # Module state is a set of dicts (parameters, buffers, submodules, hooks): copy each container so
        # the two modules evolve apart, but keep the same Parameter objects (optimizers keep working).
        new.__dict__.update({k: (v.copy() if isinstance(v, dict) else v) for k, v in conv.__dict__.items()
                             if not k.startswith("_c1_")})
        new._c1_init(db, mode)
        return new

    def _c1_init(self, db, mode):
        d = self.__dict__  # plain attributes, set past nn.Module.__setattr__
        d["_c1_db"] = db
        d["_c1_mode"] = mode
        d["_c1_lock"] = threading.Lock()
        d["_c1_plans"] = {}
        d["_c1_wkey"] = None
        d["_c1_wrefs"] = None
        d["_c1_logged"] = set()

    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_c1_lock", "_c1_plans", "_c1_wkey", "_c1_wrefs", "_c1_logged"):
            state.pop(k, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._c1_init(state.get("_c1_db"), state.get("_c1_mode", "db"))

    def reset_plans(self):
        """Drops this layer's plans: the next forward makes them again from the current weights."""
        with self._c1_lock:
            self.__dict__["_c1_plans"] = {}
            self.__dict__["_c1_wkey"] = None
            self.__dict__["_c1_wrefs"] = None

    def plans(self):
        """{(batch, length, threads, dtype): (variant, explanation)} of the plans made so far; an input shape no plan
        could be made for maps to (None, the reason), and runs F.conv1d."""
        return {k: (None, p) if isinstance(p, str) else (p.variant, p.explain) for k, p in self._c1_plans.items()}

    # --- forward ---
    def forward(self, input):
        why = self._c1_why_not(input)
        if why is None:
            try:
                return self._c1_forward(input)
            except _NotApplicable as e:
                why = str(e)
        if why not in self._c1_logged:
            self._c1_logged.add(why)
            log.warning("%s(%s): %s; using torch.nn.functional.conv1d", type(self).__name__, self.extra_repr(), why)
        return super().forward(input)

    def _c1_why_not(self, x):
        """None when libconv1d can run this call, else the reason it cannot. Every forward pays for these
        checks, so the cheap ones come first; the weights' dtype and device are checked when a plan is made
        (a change of them changes their storage, which makes the plans again)."""
        if type(x) is not torch.Tensor:
            return f"the input is a {type(x).__module__}.{type(x).__name__}, not a plain torch.Tensor"
        if not x.is_cpu:
            return f"the input is on {x.device}, libconv1d plans here are CPU ones"
        if x.dtype not in _DTYPES:
            return f"dtype {x.dtype}: libconv1d computes {_dtypes.supported_text()}"
        if torch.is_grad_enabled():
            b = self.bias
            if x.requires_grad or self.weight.requires_grad or (b is not None and b.requires_grad):
                return ("autograd: gradients are being recorded (run inference under torch.no_grad() or "
                        "torch.inference_mode())")
        if self.padding_mode != "zeros":
            return f"padding_mode={self.padding_mode!r} (libconv1d pads with zeros)"
        if not x.is_contiguous():
            return "the input is not contiguous"
        if x.layout is not torch.strided or x.is_quantized:
            return f"a {x.layout} tensor"
        if torch.jit.is_tracing() or _is_compiling():
            return "tracing or compiling: the graph must see F.conv1d"
        if x.dim() not in (2, 3):
            return f"a {x.dim()}-D input"
        if x.numel() == 0:
            return "an empty input"
        return None

    def _c1_forward(self, input):
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(0)
        n, c, length = x.shape
        if c != self.in_channels:
            raise _NotApplicable(f"the input has {c} channels, the layer takes {self.in_channels}")
        w, b = self.weight, self.bias
        wkey = (id(w), _version(w), w.data_ptr(),
                None if b is None else (id(b), _version(b), b.data_ptr()))
        key = (n, length, torch.get_num_threads(), x.dtype)
        plan = self._c1_plans.get(key) if wkey == self._c1_wkey else None
        if plan is None:
            plan = self._c1_make_plan(key, wkey)
        if isinstance(plan, str):  # no plan for this shape: the reason, kept so it is not tried on every call
            raise _NotApplicable(plan)
        y = torch.empty((n, self.out_channels, plan.desc.output_length), dtype=x.dtype)
        # A plan of this layer is never given other weights nor closed (new weights get new plans), so the
        # plan's own guard against that is not needed here.
        plan._execute_unlocked(x.data_ptr(), y.data_ptr())
        return y if batched else y.squeeze(0)

    def _c1_make_plan(self, key, wkey):
        n, length, threads, dtype = key
        with self._c1_lock:
            d = self.__dict__
            if wkey != d["_c1_wkey"]:  # new weights: every shape's plan is made again
                d["_c1_plans"] = {}
                d["_c1_wkey"] = wkey
                d["_c1_wrefs"] = (self.weight, self.bias)  # keeps the ids in wkey from being reused
            plan = d["_c1_plans"].get(key)
            if plan is not None:
                return plan
            w, b = self.weight, self.bias
            try:
                if w.dtype != dtype or not w.is_cpu or (b is not None and (b.dtype != dtype or not b.is_cpu)):
                    raise TypeError(f"the weights are {w.dtype} on {w.device}"
                                    + ("" if b is None else f", the bias {b.dtype} on {b.device}")
                                    + f", the input {dtype} on the CPU")
                pl, pr = padding_pair(self.padding if isinstance(self.padding, str) else self.padding[0],
                                      self.kernel_size[0], self.dilation[0], self.stride[0])
                desc = Desc(batch=n, length=length, in_channels=self.in_channels, out_channels=self.out_channels,
                            kernel_size=self.kernel_size[0], stride=self.stride[0], pad_left=pl, pad_right=pr,
                            dilation=self.dilation[0], groups=self.groups, bias=b is not None, layout="ncw",
                            dtype=_DTYPES[dtype])
                plan = Plan(desc, db=self._c1_db, threads=threads, mode=self._c1_mode)
                with torch.no_grad():
                    # By address, as the input and output: NumPy cannot view a bfloat16 tensor.
                    wc = w.detach().contiguous()
                    bc = None if b is None else b.detach().contiguous()
                    if tuple(wc.shape) != desc.weight_shape or (bc is not None and
                                                                tuple(bc.shape) != (self.out_channels,)):
                        raise ValueError(f"the weight has shape {tuple(wc.shape)}"
                                         + ("" if bc is None else f" and the bias {tuple(bc.shape)}")
                                         + f", the plan expects {desc.weight_shape} and ({self.out_channels},)")
                    plan._set_weights_ptr(wc.data_ptr(), None if bc is None else bc.data_ptr())
            except (Conv1dError, ValueError, TypeError) as e:
                plan = f"libconv1d: {e}"
            d["_c1_plans"][key] = plan
            if not isinstance(plan, str):
                log.debug("%s(%s) input %s: %s (%s)", type(self).__name__, self.extra_repr(), key, plan.variant,
                          plan.explain)
            return plan


def swap_conv1d(model, *, db=None, mode="db"):
    """Replaces every torch.nn.Conv1d of model (exactly that class: subclasses and parametrized layers keep
    their own forward) by a TunedConv1d sharing its parameters, in place, and returns the model; a module
    used in several places is replaced by one TunedConv1d. When model itself is an nn.Conv1d, the new
    TunedConv1d is returned instead."""
    if type(model) is nn.Conv1d:
        return TunedConv1d.from_conv1d(model, db=db, mode=mode)
    done = {}
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if type(child) is nn.Conv1d:
                if id(child) not in done:
                    done[id(child)] = TunedConv1d.from_conv1d(child, db=db, mode=mode)
                parent._modules[name] = done[id(child)]
    log.debug("swap_conv1d: %d Conv1d layers replaced", len(done))
    return model


__all__ = ["TunedConv1d", "swap_conv1d"]
