"""conv1d_tune.torch: TunedConv1d against torch.nn.Conv1d on random shapes, the NWC layout through conv1d on
torch tensors, swap_conv1d on small real models, the fallbacks and their log lines, weight changes, threads;
bfloat16 and float16 layers against PyTorch's own bf16 convolution and the float64 reference.

Needs PyTorch (Debian's python3-torch is enough); `make test` runs this file with a Python that imports it.
Run with: python3 -m pytest -q tests/python/test_py_torch.py
"""
import copy
import io
import logging
import math
import os
import sys
import threading

import numpy as np
import pytest

from conftest import assert_fp32_close, assert_half_close, half_bound, half_reference, ref_conv1d

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    _where = os.environ.get("CONV1D_TORCH_PYTHON")
    pytest.skip(f"PyTorch is not importable by {sys.executable}"
                + (f"; make runs this file with {_where}" if _where else
                   " (make deps installs Debian's python3-torch; make bench-torch a PyPI one)"),
                allow_module_level=True)

import conv1d_tune as ct  # noqa: E402
from conv1d_tune.torch import TunedConv1d, swap_conv1d  # noqa: E402

LOGGER = "conv1d_tune.torch"


def as_np(t):
    return t.detach().double().numpy()


def random_conv(rng):
    """Constructor arguments of a random valid nn.Conv1d and an input length that fits it."""
    kind = rng.choice(["dense", "grouped", "depthwise", "multiplier", "pointwise"])
    if kind in ("dense", "pointwise"):
        g, cin, cout = 1, int(rng.integers(1, 48)), int(rng.integers(1, 80))
    elif kind == "grouped":
        g = int(rng.choice([2, 4]))
        cin, cout = g * int(rng.integers(1, 10)), g * int(rng.integers(1, 10))
    elif kind == "depthwise":
        g = cin = cout = int(rng.integers(2, 80))
    else:
        g = cin = int(rng.integers(2, 32))
        cout = 2 * cin
    k = 1 if kind == "pointwise" else int(rng.integers(1, 12))
    stride, dilation = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding = rng.choice(["int", "same", "valid"]) if stride == 1 else rng.choice(["int", "valid"])
    padding = int(rng.integers(0, 6)) if padding == "int" else str(padding)
    kw = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=stride, padding=padding, dilation=dilation,
              groups=g, bias=bool(rng.integers(0, 2)))
    length = dilation * (k - 1) + 1 + int(rng.integers(0, 300))
    return kw, length


def test_tuned_conv1d_matches_nn_conv1d_on_random_shapes(caplog):
    rng = np.random.default_rng(11)
    torch.manual_seed(11)
    variants = set()
    with caplog.at_level(logging.WARNING, LOGGER), torch.inference_mode():
        for i in range(30):
            kw, length = random_conv(rng)
            ref = nn.Conv1d(**kw)
            tuned = TunedConv1d(**kw)
            tuned.load_state_dict(ref.state_dict())
            assert list(tuned.state_dict()) == list(ref.state_dict())
            batch = int(rng.integers(1, 4))
            x = torch.empty(batch, kw["in_channels"], length).uniform_(-1, 1)
            if i % 5 == 0:
                x = x[0]  # an unbatched (channels, length) input
            y = tuned(x)
            assert y.shape == ref(x).shape and y.dtype == torch.float32
            assert_fp32_close(as_np(y), as_np(ref(x)), f"{kw} length {length}")
            ((variant, why),) = tuned.plans().values()
            assert variant is not None, f"{kw}: no plan was made: {why}"
            variants.update(v for v, _ in tuned.plans().values())
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert len(variants) >= 2, variants


def test_nwc_layout_on_torch_tensors_through_conv1d():
    """MAX's layout with PyTorch tensors: x (batch, length, in_channels), weights (kernel_size, in/groups,
    out), against F.conv1d on the permuted view; and PyTorch's layout through layout='ncw'."""
    rng = np.random.default_rng(12)
    torch.manual_seed(12)
    for _ in range(12):
        kw, length = random_conv(rng)
        conv = nn.Conv1d(**kw)
        pl, pr = ct.padding_pair(kw["padding"], kw["kernel_size"], kw["dilation"], kw["stride"])
        x_nwc = torch.empty(2, length, kw["in_channels"]).uniform_(-1, 1)
        with torch.no_grad():
            ref = conv(x_nwc.permute(0, 2, 1)).permute(0, 2, 1)
            w_max = conv.weight.detach().permute(2, 1, 0).contiguous()
            b = None if conv.bias is None else conv.bias.detach()
        y = ct.conv1d(x_nwc, w_max, b, stride=kw["stride"], padding=(pl, pr), dilation=kw["dilation"],
                      groups=kw["groups"], layout="nwc")
        assert_fp32_close(y, as_np(ref), f"nwc {kw}")
        y = ct.conv1d(x_nwc.permute(0, 2, 1).contiguous(), conv.weight.detach(), b, stride=kw["stride"],
                      padding=(pl, pr), dilation=kw["dilation"], groups=kw["groups"], layout="ncw")
        assert_fp32_close(y, as_np(ref.permute(0, 2, 1)), f"ncw {kw}")


def test_torch_tensors_a_plan_cannot_take_are_refused():
    plan = ct.Plan(length=16, in_channels=4, out_channels=6, kernel_size=3, layout="ncw", mode="estimate")
    with pytest.raises(TypeError, match=r"w: cannot view a torch.*Tensor as a host NumPy array"):
        plan.set_weights(torch.ones(6, 4, 3, requires_grad=True))
    plan.set_weights(torch.ones(6, 4, 3))
    with pytest.raises(ValueError, match=r"x is not C-contiguous"):
        plan(torch.ones(1, 16, 4).permute(0, 2, 1))
    with pytest.raises(TypeError, match=r"x has dtype float64"):
        plan(torch.ones(1, 4, 16, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x has shape \(1, 4, 15\)"):
        plan(torch.ones(1, 4, 15))
    out = torch.full((1, 6, 14), float("nan"))
    plan(torch.ones(1, 4, 16), out=out)  # written in place through DLPack
    assert torch.all(out == 12)


# --- small real models ----------------------------------------------------------------------------------

class Wav2Vec2FeatureEncoder(nn.Module):
    """fairseq's ConvFeatureExtractionModel, mode "default": conv_feature_layers
    [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2, no bias, GroupNorm after the first conv, GELU."""

    def __init__(self, dim=512):
        super().__init__()
        layers, cin = [], 1
        for i, (k, s) in enumerate([(10, 5)] + [(3, 2)] * 4 + [(2, 2)] * 2):
            block = [nn.Conv1d(cin, dim, k, stride=s, bias=False), nn.Dropout(0.0)]
            if i == 0:
                block.append(nn.GroupNorm(dim, dim, affine=True))
            block.append(nn.GELU())
            layers.append(nn.Sequential(*block))
            cin = dim
        self.conv_layers = nn.ModuleList(layers)

    def forward(self, wav):
        x = wav.unsqueeze(1)
        for conv in self.conv_layers:
            x = conv(x)
        return x


class WhisperStem(nn.Module):
    """openai/whisper AudioEncoder's convolutions (tiny: n_mels 80, n_state 384)."""

    def __init__(self, n_mels=80, n_state=384):
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, n_state, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)

    def forward(self, mel):
        return F.gelu(self.conv2(F.gelu(self.conv1(mel))))


class QuartzNetBlock(nn.Module):
    """A NeMo QuartzNet 15x5 time-channel separable sub-block, 256 channels, k=33, with a residual that
    reuses the pointwise conv (one module in two places)."""

    def __init__(self, c=256, k=33):
        super().__init__()
        self.dw = nn.Conv1d(c, c, k, padding=k // 2, groups=c, bias=False)
        self.pw = nn.Conv1d(c, c, 1, bias=False)
        self.bn = nn.BatchNorm1d(c)
        self.res = nn.Sequential(self.pw, nn.BatchNorm1d(c))

    def forward(self, x):
        return F.relu(self.bn(self.pw(self.dw(x))) + self.res(x))


@pytest.mark.parametrize("make, shape, n_convs", [(Wav2Vec2FeatureEncoder, (2, 4000), 7),
                                                  (WhisperStem, (1, 80, 1000), 2),
                                                  (QuartzNetBlock, (2, 256, 300), 2)])
def test_swap_conv1d_keeps_a_models_outputs(make, shape, n_convs, caplog):
    torch.manual_seed(13)
    model = make().eval()
    for m in model.modules():  # non-trivial normalisation statistics
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    x = torch.empty(shape).uniform_(-1, 1)
    params = {n: p for n, p in model.named_parameters()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.inference_mode():
        ref = model(x)
    assert swap_conv1d(model) is model
    tuned = [m for m in model.modules() if isinstance(m, TunedConv1d)]
    assert len(tuned) == n_convs
    assert not any(type(m) is nn.Conv1d for m in model.modules())
    assert all(p is params[n] for n, p in model.named_parameters())  # the same Parameter objects
    assert list(model.state_dict()) == list(state)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    with caplog.at_level(logging.WARNING, LOGGER), torch.inference_mode():
        y = model(x)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert all(m.plans() and all(v for v, _ in m.plans().values()) for m in tuned)
    assert_fp32_close(as_np(y), as_np(ref), make.__name__)


def test_swap_conv1d_leaves_subclasses_and_returns_a_lone_conv():
    class MyConv(nn.Conv1d):
        pass
    model = nn.Sequential(MyConv(2, 2, 3), nn.Conv1d(2, 2, 3))
    swap_conv1d(model)
    assert type(model[0]) is MyConv and type(model[1]) is TunedConv1d
    lone = nn.Conv1d(3, 4, 5)
    swapped = swap_conv1d(lone)
    assert type(swapped) is TunedConv1d and swapped.weight is lone.weight and type(lone) is nn.Conv1d


def test_fallbacks_say_why_once_and_match_nn_conv1d(caplog):
    torch.manual_seed(14)
    ref = nn.Conv1d(8, 16, 3, padding=1)
    tuned = TunedConv1d.from_conv1d(ref)
    x = torch.empty(2, 8, 50).uniform_(-1, 1)
    with caplog.at_level(logging.WARNING, LOGGER):
        # Autograd: recorded gradients need F.conv1d, and the gradients are nn.Conv1d's.
        xg = x.clone().requires_grad_()
        y = tuned(xg)
        y2 = tuned(xg)
        assert torch.equal(y, ref(xg)) and torch.equal(y2, y)
        y.sum().backward()
        assert xg.grad is not None and tuned.weight.grad is not None
        assert len(caplog.records) == 1 and "autograd" in caplog.records[0].getMessage()
        assert "using torch.nn.functional.conv1d" in caplog.records[0].getMessage()
        caplog.clear()
        with torch.no_grad():
            for what, inp, mod in [
                    ("float64", x.double(), TunedConv1d.from_conv1d(copy.deepcopy(ref).double())),
                    ("padding_mode='reflect'", x, TunedConv1d(8, 16, 3, padding=1, padding_mode="reflect")),
                    ("not contiguous", x.transpose(1, 2).contiguous().transpose(1, 2), tuned)]:
                caplog.clear()
                assert not inp.is_contiguous() or what != "not contiguous"
                base = nn.Conv1d.forward(mod, inp)
                assert torch.equal(mod(inp), base) and torch.equal(mod(inp), base)
                msgs = [r.getMessage() for r in caplog.records]
                assert len(msgs) == 1 and what.split("=")[0] in msgs[0], (what, msgs)
            caplog.clear()
            tuned(x)  # and the plain case runs through libconv1d, silently
            assert not caplog.records and all(v for v, _ in tuned.plans().values())


def test_weight_changes_are_followed():
    torch.manual_seed(15)
    conv = TunedConv1d(4, 4, 3, padding=1)
    ref = nn.Conv1d(4, 4, 3, padding=1)
    x = torch.empty(1, 4, 40).uniform_(-1, 1)

    def check(what):
        ref.load_state_dict(conv.state_dict())
        with torch.no_grad():
            assert_fp32_close(as_np(conv(x)), as_np(ref(x)), what)
    check("initial")
    with torch.no_grad():
        conv.weight.mul_(-3)
    check("in-place mul_")
    conv.load_state_dict({"weight": torch.randn(4, 4, 3), "bias": torch.randn(4)})
    check("load_state_dict")
    conv.weight = nn.Parameter(torch.randn(4, 4, 3))
    check("a new Parameter")
    conv.bias.data.fill_(7)  # through .data: no version bump, so the plans must be reset by hand
    conv.reset_plans()
    check(".data write and reset_plans")
    torch.optim.SGD(conv.parameters(), lr=0.5).zero_grad()
    conv(x).sum().backward()  # (fallback: autograd)
    torch.optim.SGD(conv.parameters(), lr=0.5).step()
    check("an optimizer step")


def test_copies_and_checkpoints_keep_working():
    torch.manual_seed(16)
    model = swap_conv1d(nn.Sequential(nn.Conv1d(3, 5, 3), nn.ReLU(), nn.Conv1d(5, 2, 1)))
    x = torch.empty(1, 3, 20).uniform_(-1, 1)
    with torch.no_grad():
        y = model(x)
        clone = copy.deepcopy(model)
        buf = io.BytesIO()
        torch.save(model, buf)
        buf.seek(0)
        loaded = torch.load(buf, weights_only=False) if "weights_only" in torch.load.__code__.co_varnames \
            else torch.load(buf)
        for other in (clone, loaded):
            assert type(other[0]) is TunedConv1d and not other[0].plans()
            assert torch.equal(other(x), y) and other[0].plans()


def test_two_threads_share_one_tuned_conv1d():
    torch.manual_seed(17)
    conv = TunedConv1d(64, 64, 5, padding=2, groups=1)
    xs = [torch.empty(2, 64, 700).uniform_(-1, 1) for _ in range(4)]
    with torch.no_grad():
        serial = [conv(x) for x in xs]
    errors = []

    def work(t):
        try:
            with torch.no_grad():
                for i in range(12):
                    assert torch.equal(conv(xs[(i + t) % 4]), serial[(i + t) % 4])
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(conv.plans()) == 1
    ref = ref_conv1d(xs[0].numpy(), conv.weight.detach().numpy(), conv.bias.detach().numpy(), 1, 2, 2,
                     layout="ncw")
    assert_fp32_close(as_np(serial[0]), ref, "threads")


def test_vs_torch_script_writes_its_csv_and_summary(tmp_path):
    """scripts/vs_torch.py end to end on two small shapes (one causal), both layouts, a short timing."""
    import csv
    import subprocess
    from conftest import ROOT
    shapes = ["batch=1,length=300,in_channels=16,out_channels=16,kernel_size=4,num_groups=16,pad_left=3,bias=1",
              "batch=2,length=200,in_channels=8,out_channels=12,kernel_size=3,padding=1"]
    bench = tmp_path / "bench.csv"  # the make bench CSV it reads the oneDNN ratio from
    bench.write_text("shape,layout,variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err\n"
                     + "".join(f'"{s}",{lay},{v},x,cpu,fp32,ok,{ms},{ms},{ms},1,1,0\n' for s in shapes
                               for lay in ("nwc", "ncw") for v, ms in (("onednn", 3.0), ("ref", 6.0))))
    args = [sys.executable, str(ROOT / "scripts" / "vs_torch.py"), "--mode", "estimate", "--seconds", "0.05",
            "--blocks", "2", "--out", str(tmp_path), "--threads", "1", "--onednn-csv", str(bench)]
    for s in shapes:
        args += ["--shape", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "CONV1D_VARIANT": "ref"})  # forced, so the oneDNN ratio is known
    assert r.returncode == 0, r.stderr
    (csv_path,) = tmp_path.glob("vs_torch-*.csv")
    rows = list(csv.DictReader(open(csv_path)))
    assert [(row["shape"], row["layout"]) for row in rows] == [(s, lay) for s in shapes for lay in ("nwc", "ncw")]
    for row in rows:
        assert row["variant"] == "ref" and row["threads"] == "1" and row["torch"] == torch.__version__
        assert row["key"] == str(ct.Desc.parse(row["shape"], layout=row["layout"]))
        assert float(row["vs_torch"]) > 0 and float(row["rel_err"]) < 1e-4
        t = {k: float(row[k]) for k in ("tuned_p10_ms", "tuned_p90_ms", "torch_p10_ms", "torch_p90_ms", "vs_torch")}
        # the median of the block pairs' ratios lies within the ratios the ranges allow (p10/p90 are not the
        # extremes a pair may hit on a loaded machine: a factor of 2 of slack, still a consistency check)
        assert 0.5 * t["torch_p10_ms"] / t["tuned_p90_ms"] <= t["vs_torch"] <= 2.0 * t["torch_p90_ms"] / t["tuned_p10_ms"]
        assert float(row["vs_onednn"]) == 0.5
        assert row["torch_kernels"]
    # nn.Conv1d cannot pad on one side: the causal shape goes through a Plan in both layouts
    assert [row["path"] for row in rows] == ["Plan", "Plan", "Plan", "TunedConv1d"]
    summary = (csv_path.parent / (csv_path.stem + "-summary.txt")).read_text()
    assert f"PyTorch {torch.__version__}" in summary
    assert "geometric mean of libconv1d's speed over PyTorch's F.conv1d" in summary
    assert "the same variants over the harness's oneDNN (make bench CSV): 0.50x over 4 pairs" in summary


def test_without_libconv1d_a_model_still_runs_on_f_conv1d():
    import subprocess
    from conftest import ROOT
    code = """
import logging, torch
from conv1d_tune.torch import TunedConv1d
logging.basicConfig(level=logging.WARNING, format="LOG %(message)s")
conv = TunedConv1d(4, 8, 3)
x = torch.randn(2, 4, 30)
with torch.no_grad():
    for _ in range(3):
        assert torch.equal(conv(x), torch.nn.functional.conv1d(x, conv.weight, conv.bias))
print(conv.plans())
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "python"), "CONV1D_LIB": "/nonexistent.so"})
    assert r.returncode == 0, r.stderr
    logs = [line for line in r.stderr.splitlines() if line.startswith("LOG ")]
    assert len(logs) == 1 and "cannot load libconv1d from $CONV1D_LIB=/nonexistent.so" in logs[0], r.stderr
    assert "using torch.nn.functional.conv1d" in logs[0]
    assert "(None, 'libconv1d: cannot load libconv1d" in r.stdout


# --- bfloat16 and float16 ---------------------------------------------------------------------------------

def half_ref_of(conv, x):
    """(ref, absum, terms) of an nn.Conv1d on x: the float64 reference on exactly its 16-bit tensors."""
    kw = dict(stride=conv.stride[0], dilation=conv.dilation[0], groups=conv.groups)
    pl, pr = ct.padding_pair(conv.padding if isinstance(conv.padding, str) else conv.padding[0],
                             conv.kernel_size[0], kw["dilation"], kw["stride"])
    b = None if conv.bias is None else as_np(conv.bias)
    return half_reference(as_np(x), as_np(conv.weight), b, pad_left=pl, pad_right=pr, layout="ncw", **kw)


def test_bf16_tuned_conv1d_matches_torchs_bf16_conv1d(caplog):
    """A bfloat16 TunedConv1d keeps bf16 in and out, rounds once (the float64 reference's bound), and agrees
    with PyTorch's own bf16 F.conv1d (which rounds the same way on the CPU) to within the two bounds."""
    rng = np.random.default_rng(31)
    torch.manual_seed(31)
    with caplog.at_level(logging.WARNING, LOGGER), torch.inference_mode():
        for i in range(20):
            kw, length = random_conv(rng)
            ref_mod = nn.Conv1d(**kw).to(torch.bfloat16)
            tuned = TunedConv1d.from_conv1d(ref_mod)
            x = torch.empty(int(rng.integers(1, 4)), kw["in_channels"], length).uniform_(-1, 1).bfloat16()
            y = tuned(x)
            assert y.dtype == torch.bfloat16 and y.shape == ref_mod(x).shape
            ((key, (variant, why)),) = tuned.plans().items()
            assert key[3] == torch.bfloat16 and variant is not None, f"{kw}: no plan: {why}"
            ref, absum, terms = half_ref_of(ref_mod, x)
            assert_half_close(as_np(y), ref, absum, terms, "bfloat16", f"{kw} length {length} ({variant})")
            diff = np.abs(as_np(y) - as_np(ref_mod(x)))
            bound = 2 * half_bound(ref, absum, terms, "bfloat16")
            assert (diff <= bound).all(), f"{kw}: {(diff > bound).sum()} outputs differ from torch's bf16 beyond 1 ulp"
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_f16_tuned_conv1d_against_the_float64_reference(caplog):
    """A float16 layer runs through libconv1d (PyTorch 1.13 has no CPU float16 convolution at all; where a
    newer one has, it is compared too)."""
    rng = np.random.default_rng(32)
    torch.manual_seed(32)
    with caplog.at_level(logging.WARNING, LOGGER), torch.inference_mode():
        for i in range(12):
            kw, length = random_conv(rng)
            conv = TunedConv1d(**kw).half()
            x = torch.empty(2, kw["in_channels"], length).uniform_(-1, 1).half()
            y = conv(x)
            assert y.dtype == torch.float16
            ((variant, why),) = conv.plans().values()
            assert variant is not None, why
            ref, absum, terms = half_ref_of(conv, x)
            assert_half_close(as_np(y), ref, absum, terms, "float16", f"{kw} ({variant})")
            try:
                yt = nn.Conv1d.forward(conv, x)
            except RuntimeError:  # "slow_conv2d_cpu" not implemented for 'Half'
                continue
            assert (np.abs(as_np(y) - as_np(yt)) <= 2 * half_bound(ref, absum, terms, "float16")).all()
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_swap_conv1d_on_a_bf16_model_keeps_bf16():
    torch.manual_seed(33)
    model = WhisperStem(n_mels=16, n_state=64).eval().to(torch.bfloat16)
    x = torch.empty(1, 16, 300).uniform_(-1, 1).bfloat16()
    with torch.inference_mode():
        ref = model(x)
        h_ref = model.conv1(x)
    swap_conv1d(model)
    with torch.inference_mode():
        y = model(x)
        h = model.conv1(x)
    assert y.dtype == torch.bfloat16 and y.shape == ref.shape
    assert all(v for m in (model.conv1, model.conv2) for v, _ in m.plans().values())
    assert all(k[3] == torch.bfloat16 for m in (model.conv1, model.conv2) for k in m.plans())
    r, a, t = half_ref_of(model.conv1, x)
    assert_half_close(as_np(h), r, a, t, "bfloat16", "conv1")
    assert (np.abs(as_np(h) - as_np(h_ref)) <= 2 * half_bound(r, a, t, "bfloat16")).all()
    # Through GELU and a second convolution, one-ulp differences stay a few bf16 ulps of the output's scale.
    assert np.abs(as_np(y) - as_np(ref)).max() <= 4 * 2.0 ** -8 * np.abs(as_np(ref)).max()


def test_mixed_dtypes_fall_back_as_nn_conv1d_does(caplog):
    """A bf16 input to a float32 layer (and the reverse) is nn.Conv1d's business: one log line naming both
    dtypes, then F.conv1d, which raises just as it does for nn.Conv1d."""
    torch.manual_seed(34)
    conv = TunedConv1d(4, 4, 3)
    x = torch.empty(1, 4, 20).uniform_(-1, 1)
    with caplog.at_level(logging.WARNING, LOGGER), torch.no_grad():
        for mod, inp in ((conv, x.bfloat16()), (TunedConv1d.from_conv1d(nn.Conv1d(4, 4, 3).bfloat16()), x)):
            caplog.clear()
            with pytest.raises(RuntimeError) as ours:
                mod(inp)
            with pytest.raises(RuntimeError) as theirs:
                nn.Conv1d.forward(mod, inp)
            assert str(ours.value) == str(theirs.value)
            (msg,) = [r.getMessage() for r in caplog.records]
            assert "torch.bfloat16" in msg and "torch.float32" in msg and "using torch.nn.functional.conv1d" in msg


def test_plans_and_conv1d_take_bf16_and_f16_tensors():
    """Plan and conv1d on torch tensors of the 16-bit types: float16 through DLPack; bfloat16 (which NumPy
    cannot import) viewed as ml_dtypes.bfloat16 where ml_dtypes is installed, else refused saying so."""
    torch.manual_seed(35)
    for dtype, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        conv = nn.Conv1d(6, 8, 3, padding=1).to(dtype)
        x = torch.empty(2, 6, 30).uniform_(-1, 1).to(dtype)
        plan = ct.Plan(length=30, in_channels=6, out_channels=8, kernel_size=3, padding=1, bias=True, batch=2,
                       layout="ncw", dtype=name, mode="estimate")
        try:
            import ml_dtypes  # noqa: F401
        except ImportError:
            if dtype == torch.bfloat16:
                with pytest.raises(TypeError, match="bfloat16 arrays need the ml_dtypes package"):
                    plan.set_weights(conv.weight.detach(), conv.bias.detach())
                continue
        plan.set_weights(conv.weight.detach(), conv.bias.detach())
        out = torch.full((2, 8, 30), float("nan"), dtype=dtype)
        plan(x, out=out)  # written in place
        ref, absum, terms = half_ref_of(conv, x)
        assert_half_close(as_np(out), ref, absum, terms, name, f"Plan on torch {dtype}")
        y = ct.conv1d(x, conv.weight.detach(), conv.bias.detach(), padding=1, layout="ncw")
        assert_half_close(y.astype(np.float64), ref, absum, terms, name, f"conv1d on torch {dtype}")
        with pytest.raises(TypeError, match=f"x has dtype float32.*the plan's dtype is {name}"):
            plan(x.float())


def test_vs_torch_script_compares_bf16_with_torchs_bf16(tmp_path):
    """scripts/vs_torch.py --dtype bf16: both sides in bfloat16, each checked against the float64 convolution
    of the same inputs; --dtype f16 where PyTorch has no CPU float16 convolution says so and fails."""
    import csv
    import subprocess
    from conftest import ROOT
    shapes = ["batch=1,length=300,in_channels=16,out_channels=16,kernel_size=4,num_groups=16,pad_left=3,bias=1",
              "batch=2,length=200,in_channels=8,out_channels=12,kernel_size=3,padding=1"]
    base = [sys.executable, str(ROOT / "scripts" / "vs_torch.py"), "--mode", "estimate", "--seconds", "0.05",
            "--blocks", "2", "--threads", "1"]
    r = subprocess.run(base + ["--out", str(tmp_path), "--dtype", "bf16", "--shape", shapes[0], "--shape", shapes[1]],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (csv_path,) = tmp_path.glob("vs_torch-*.csv")
    rows = list(csv.DictReader(open(csv_path)))
    assert [(row["shape"], row["layout"]) for row in rows] == [(s, lay) for s in shapes for lay in ("nwc", "ncw")]
    for row in rows:
        assert row["dtype"] == "bfloat16" and row["key"].endswith(",dtype=bf16")
        assert row["key"] == str(ct.Desc.parse(row["shape"], dtype="bf16", layout=row["layout"]))
        assert row["variant"] and float(row["vs_torch"]) > 0
        assert 0 < float(row["bound_tuned"]) <= 1 and float(row["bound_torch"]) > 0  # within c1_compare16's bound
        assert float(row["rel_err"]) <= 2 ** -6  # the two sides within about an ulp of each other
    assert [row["path"] for row in rows] == ["Plan", "Plan", "Plan", "TunedConv1d"]
    summary = (csv_path.parent / (csv_path.stem + "-summary.txt")).read_text()
    assert "dtype bfloat16" in summary and "bfloat16: largest error against the float64 convolution" in summary
    assert "fraction of c1_compare16's bound" in summary
    assert "WRONG" not in summary

    r = subprocess.run(base + ["--out", str(tmp_path / "f16"), "--dtype", "f16", "--layout", "ncw",
                               "--shape", shapes[1]], capture_output=True, text=True, timeout=300)
    try:
        F.conv1d(torch.ones(1, 1, 4, dtype=torch.float16), torch.ones(1, 1, 2, dtype=torch.float16))
    except RuntimeError:  # PyTorch before 2.1
        assert r.returncode == 1 and "cannot run F.conv1d in float16 on the CPU" in r.stderr, r.stderr
    else:
        assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["--out", str(tmp_path / "int8"), "--dtype", "int8", "--shape", shapes[0]],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--dtype: unknown dtype 'int8'" in r.stderr, r.stderr
