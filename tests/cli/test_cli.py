"""conv1d-tune describe, list and run, driven as a user would, checked against an independent NumPy conv1d.

Run with: CONV1D_TUNE=$PWD/build/bin/conv1d-tune python3 -m pytest -q tests/cli
"""
import os
import pathlib
import subprocess
from dataclasses import dataclass, replace

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = os.environ.get("CONV1D_TUNE", str(ROOT / "build" / "bin" / "conv1d-tune"))


def tool(*args, cwd=None):
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"{TOOL} is not built (make all, or set CONV1D_TUNE)")
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


@dataclass
class Desc:
    batch: int
    length: int
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int = 1
    pad_left: int = 0
    pad_right: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = False
    layout: str = "nwc"

    @property
    def out_length(self):
        span = self.dilation * (self.kernel_size - 1) + 1
        return (self.length + self.pad_left + self.pad_right - span) // self.stride + 1

    def text(self, style=0, bias=None):
        """The key=value form; style varies separators and aliases, bias overrides the bias key."""
        bias = self.bias if bias is None else bias
        kv = [("batch", self.batch), ("length", self.length), ("in_channels", self.in_channels),
              ("out_channels", self.out_channels), ("kernel_size", self.kernel_size), ("stride", self.stride)]
        if style == 1 and self.pad_left == self.pad_right:
            kv.append(("padding", self.pad_left))
        else:
            kv += [("pad_left", self.pad_left), ("pad_right", self.pad_right)]
        kv += [("dilation", self.dilation), ("groups" if style == 1 else "num_groups", self.groups),
               ("bias", int(bias)), ("layout", self.layout)]
        return (" " if style == 2 else ",").join(f"{k}={v}" for k, v in kv)

    def benchdnn(self):
        """benchdnn's form: dw counts from 0, the right padding follows from ow, the layout is not in it."""
        return (f"g{self.groups}mb{self.batch}ic{self.in_channels}iw{self.length}oc{self.out_channels}"
                f"ow{self.out_length}kw{self.kernel_size}sw{self.stride}pw{self.pad_left}dw{self.dilation - 1}")

    def shapes(self):
        """x, w, y shapes in this layout (conv1d.h)."""
        n, l, c, k, r, ol = self.batch, self.length, self.in_channels, self.out_channels, self.kernel_size, \
            self.out_length
        cg = c // self.groups
        if self.layout == "nwc":
            return (n, l, c), (r, cg, k), (n, ol, k)
        return (n, c, l), (k, cg, r), (n, k, ol)


def random_desc(rng):
    """A small valid descriptor exercising every field."""
    while True:
        g = int(rng.integers(1, 5))
        c, k = g * int(rng.integers(1, 5)), g * int(rng.integers(1, 5))
        if rng.integers(0, 5) == 0:
            c = k = g  # depthwise
        d = Desc(batch=int(rng.integers(1, 4)), length=int(rng.integers(1, 41)), in_channels=c, out_channels=k,
                 kernel_size=int(rng.integers(1, 7)), stride=int(rng.integers(1, 4)),
                 dilation=int(rng.integers(1, 4)), groups=g, bias=bool(rng.integers(0, 2)),
                 layout=["nwc", "ncw"][int(rng.integers(0, 2))])
        pad = int(rng.integers(0, 4))
        if pad == 1:
            d.pad_left = d.pad_right = int(rng.integers(0, 5))
        elif pad == 2:
            d.pad_left = d.dilation * (d.kernel_size - 1)  # causal
        elif pad == 3:
            d.pad_left, d.pad_right = int(rng.integers(0, 6)), int(rng.integers(0, 6))
        if d.out_length >= 1 and d.dilation * (d.kernel_size - 1) + 1 <= d.length + d.pad_left + d.pad_right:
            return d


def reference(d, x, w, b):
    """conv1d from the definition in float64: zero-pad, gather the dilated windows, one einsum per group."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    if d.layout == "ncw":
        x, w = x.transpose(0, 2, 1), w.transpose(2, 1, 0)  # to (N, L, C) and (R, C/G, K)
    xp = np.pad(x, ((0, 0), (d.pad_left, d.pad_right), (0, 0)))
    pos = np.arange(d.out_length)[:, None] * d.stride + np.arange(d.kernel_size)[None, :] * d.dilation
    windows = xp[:, pos, :]  # (N, OL, R, C)
    cg, kg = d.in_channels // d.groups, d.out_channels // d.groups
    y = np.concatenate([np.einsum("norc,rck->nok", windows[..., g * cg:(g + 1) * cg], w[:, :, g * kg:(g + 1) * kg])
                        for g in range(d.groups)], axis=2)
    if b is not None:
        y = y + b.astype(np.float64)
    return y.transpose(0, 2, 1) if d.layout == "ncw" else y


def random_inputs(d, rng):
    xs, ws, _ = d.shapes()
    x = rng.uniform(-1, 1, xs).astype(np.float32)
    w = rng.uniform(-1, 1, ws).astype(np.float32)
    b = rng.uniform(-1, 1, (d.out_channels,)).astype(np.float32) if d.bias else None
    return x, w, b


def save_inputs(tmp_path, x, w, b):
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    args = ["--x", tmp_path / "x.npy", "--w", tmp_path / "w.npy"]
    if b is not None:
        np.save(tmp_path / "b.npy", b)
        args += ["--b", tmp_path / "b.npy"]
    return args


def assert_close(y, ref, rtol):
    assert y.dtype == np.float32 and y.shape == ref.shape
    scale = max(np.abs(ref).max(initial=0.0), 1e-30)
    err = np.abs(y.astype(np.float64) - ref).max(initial=0.0)
    assert err <= rtol * scale, f"max error {err:g} > {rtol:g} * max|ref| {scale:g}"


def run_and_check(tmp_path, d, shape_args, rng, variant="ref", rtol=1e-5):
    x, w, b = random_inputs(d, rng)
    args = save_inputs(tmp_path, x, w, b)
    y_path = tmp_path / "y.npy"
    r = tool("run", *shape_args, "--variant", variant, *args, "--y", y_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert_close(np.load(y_path), reference(d, x, w, b), rtol)


# --- run: correctness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(48))
def test_run_ref_random(tmp_path, case):
    rng = np.random.default_rng(20240 + case)
    d = random_desc(rng)
    # The bias key in the text is overridden by the presence of --b, either way.
    text = d.text(style=case % 3, bias=bool(rng.integers(0, 2)))
    if case % 4 == 0:  # the layout from --layout instead of the text
        other = "ncw" if d.layout == "nwc" else "nwc"
        run_and_check(tmp_path, d, ["--shape", replace(d, layout=other).text(), "--layout", d.layout], rng)
    else:
        run_and_check(tmp_path, d, ["--shape", text], rng)


@pytest.mark.parametrize("case", range(10))
def test_run_ref_benchdnn(tmp_path, case):
    rng = np.random.default_rng(777 + case)
    d = random_desc(rng)
    text = d.benchdnn() + ('n"layer_%d"' % case if case % 2 else "")
    if case % 3 == 0:
        text = "mb" + text.split("mb", 1)[1] if d.groups == 1 else text.replace("ic", "_ic")
    run_and_check(tmp_path, d, ["--shape", text, "--layout", d.layout], rng)


@pytest.mark.parametrize("d", [
    Desc(2, 16, 8, 8, 4, pad_left=3, groups=8, bias=True),                       # Mamba-style causal depthwise
    Desc(1, 33, 6, 9, 3, stride=2, pad_left=1, pad_right=1, groups=3, layout="ncw"),
    Desc(3, 20, 4, 4, 3, dilation=4, pad_left=4, pad_right=4, bias=True, layout="ncw"),
    Desc(1, 5, 3, 2, 5),                                                         # kernel as wide as the input
    Desc(2, 7, 2, 3, 1, stride=3),                                               # pointwise, strided
    Desc(1, 1, 1, 1, 1),
])
def test_run_ref_edges(tmp_path, d):
    run_and_check(tmp_path, d, ["--shape", d.text()], np.random.default_rng(5))


def test_output_is_what_numpy_writes(tmp_path):
    d = Desc(2, 10, 3, 4, 3, pad_left=1, pad_right=1, bias=True)
    x, w, b = random_inputs(d, np.random.default_rng(1))
    r = tool("run", "--shape", d.text(), *save_inputs(tmp_path, x, w, b), "--y", tmp_path / "y.npy", "--verbose",
             "--variant", "ref")
    assert r.returncode == 0, r.stderr
    assert "variant:   ref" in r.stderr
    y = np.load(tmp_path / "y.npy")
    np.save(tmp_path / "again.npy", y)
    assert (tmp_path / "y.npy").read_bytes() == (tmp_path / "again.npy").read_bytes()
    # An existing output is replaced.
    r = tool("run", "--shape", d.text(), *save_inputs(tmp_path, x, w, b), "--y", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.npy", "b.npy", "w.npy", "x.npy", "y.npy"]


@pytest.mark.parametrize("layout", ["nwc", "ncw"])
def test_run_without_variant_uses_the_dispatcher(tmp_path, layout):
    d = Desc(2, 50, 16, 32, 3, pad_left=1, pad_right=1, bias=True, layout=layout)
    x, w, b = random_inputs(d, np.random.default_rng(3))
    r = tool("run", "--shape", d.text(), *save_inputs(tmp_path, x, w, b), "--y", tmp_path / "y.npy", "--verbose",
             "--db", tmp_path / "missing.db")
    assert r.returncode == 0, r.stderr
    assert "variant:   ref" not in r.stderr
    assert "chosen:    DB unusable: " in r.stderr and "heuristic: " in r.stderr
    assert_close(np.load(tmp_path / "y.npy"), reference(d, x, w, b), 1e-5)


def list_variants():
    r = tool("list", "--csv")
    assert r.returncode == 0, r.stderr
    return [line.split(",") for line in r.stdout.splitlines()[1:]]


def test_every_variant_correct_or_refused(tmp_path):
    """Every listed variant either computes the convolution or refuses it cleanly (exit 2, nothing written)."""
    tolerance = {"fp32": 1e-5, "tf32": 5e-3, "bf16": 2e-2}
    rng = np.random.default_rng(99)
    descs = [random_desc(rng) for _ in range(4)] + [Desc(2, 64, 16, 32, 3, pad_left=1, pad_right=1, bias=True),
                                                    Desc(1, 64, 16, 16, 4, pad_left=3, groups=16, layout="ncw")]
    for name, _family, _device, precision in list_variants():
        for d in descs:
            x, w, b = random_inputs(d, rng)
            args = save_inputs(tmp_path, x, w, b)
            y_path = tmp_path / "y.npy"
            y_path.unlink(missing_ok=True)
            r = tool("run", "--shape", d.text(), "--variant", name, *args, "--y", y_path)
            if r.returncode == 0:
                assert_close(np.load(y_path), reference(d, x, w, b), tolerance[precision])
            else:
                assert r.returncode == 2, (name, r.stderr)
                assert f"variant {name} does not apply" in r.stderr
                assert not y_path.exists()


# --- run: refusals ---------------------------------------------------------------------------------------

BASE = Desc(2, 12, 4, 6, 3, pad_left=1, pad_right=1, groups=2)


@pytest.fixture
def inputs(tmp_path):
    """Valid x, w, b files for BASE (nwc); a refusal test swaps one argument."""
    x, w, _ = random_inputs(BASE, np.random.default_rng(3))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "b.npy", np.ones(6, np.float32))
    return {"--shape": BASE.text(), "--x": tmp_path / "x.npy", "--w": tmp_path / "w.npy", "--y": tmp_path / "y.npy"}


def refused(tmp_path, options, *fragments, extra=(), code=2):
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a for kv in options.items() if kv[1] is not None for a in kv]
    r = tool("run", *args, *extra)
    assert r.returncode == code, r.stderr
    assert r.stderr.startswith("conv1d-tune run: ")
    for f in fragments:
        assert str(f) in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a refused run left files behind"
    assert r.stdout == ""


def test_refuse_wrong_x_shape(tmp_path, inputs):
    np.save(tmp_path / "bad.npy", np.zeros((2, 4, 12), np.float32))  # ncw shape under nwc
    refused(tmp_path, {**inputs, "--x": tmp_path / "bad.npy"}, "--x", "bad.npy", "has shape (2, 4, 12)",
            "expected (2, 12, 4)", "(batch, length, in_channels)")


def test_refuse_wrong_w_shape(tmp_path, inputs):
    np.save(tmp_path / "bad.npy", np.zeros((3, 4, 6), np.float32))  # in_channels instead of in_channels/groups
    refused(tmp_path, {**inputs, "--w": tmp_path / "bad.npy"}, "--w", "has shape (3, 4, 6)", "expected (3, 2, 6)")
    np.save(tmp_path / "bad2.npy", np.zeros((3, 2), np.float32))
    refused(tmp_path, {**inputs, "--w": tmp_path / "bad2.npy"}, "has shape (3, 2)")


def test_refuse_layout_mismatch(tmp_path, inputs):
    refused(tmp_path, inputs, "--x", "expected (2, 4, 12)", "layout ncw", extra=["--layout", "ncw"])


def test_refuse_bias_of_wrong_length(tmp_path, inputs):
    np.save(tmp_path / "bad.npy", np.ones(5, np.float32))
    refused(tmp_path, {**inputs, "--b": tmp_path / "bad.npy"}, "--b", "has shape (5,)", "expected (6,)")
    np.save(tmp_path / "bad2.npy", np.ones((1, 6), np.float32))
    refused(tmp_path, {**inputs, "--b": tmp_path / "bad2.npy"}, "has shape (1, 6)")


def test_refuse_float64(tmp_path, inputs):
    np.save(tmp_path / "bad.npy", np.load(inputs["--x"]).astype(np.float64))
    refused(tmp_path, {**inputs, "--x": tmp_path / "bad.npy"}, "bad.npy has dtype <f8, expected <f4 (float32)")
    np.save(tmp_path / "int.npy", np.ones(6, np.int32))
    refused(tmp_path, {**inputs, "--b": tmp_path / "int.npy"}, "int.npy has dtype <i4")


def test_refuse_fortran_order(tmp_path, inputs):
    np.save(tmp_path / "bad.npy", np.asfortranarray(np.load(inputs["--x"])))
    refused(tmp_path, {**inputs, "--x": tmp_path / "bad.npy"}, "bad.npy is Fortran-ordered, expected C order")


def test_refuse_truncated_and_oversized(tmp_path, inputs):
    data = inputs["--w"].read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-3])
    refused(tmp_path, {**inputs, "--w": tmp_path / "short.npy"}, "short.npy", "truncated")
    (tmp_path / "long.npy").write_bytes(data + b"\0\0\0\0")
    refused(tmp_path, {**inputs, "--w": tmp_path / "long.npy"}, "long.npy", "extra data")
    (tmp_path / "text.npy").write_text("not numpy\n")
    refused(tmp_path, {**inputs, "--w": tmp_path / "text.npy"}, "text.npy is not a NumPy .npy file")


def test_refuse_missing_file(tmp_path, inputs):
    refused(tmp_path, {**inputs, "--x": tmp_path / "nope.npy"}, "nope.npy", "No such file")


def test_refuse_missing_options(tmp_path, inputs):
    for opt in ["--shape", "--x", "--w", "--y"]:
        refused(tmp_path, {**inputs, opt: None}, f"{opt} ", "is required")


def test_refuse_descriptor_text(tmp_path, inputs):
    refused(tmp_path, {**inputs, "--shape": "length=12,in_channels=4,out_channels=6,kernel_size=3,bogus=1"},
            "bogus")
    refused(tmp_path, {**inputs, "--shape": "length=12,in_channels=4"}, "--shape")
    refused(tmp_path, inputs, "--layout", "xyz", extra=["--layout", "xyz"])


def test_refuse_descriptor_values(tmp_path, inputs):
    refused(tmp_path, {**inputs, "--shape": "length=4,in_channels=4,out_channels=6,kernel_size=9"},
            "wider than the padded input")
    refused(tmp_path, {**inputs, "--shape": "length=12,in_channels=4,out_channels=6,kernel_size=3,groups=3"},
            "not divisible by num_groups")


def test_refuse_unknown_variant(tmp_path, inputs):
    refused(tmp_path, inputs, "unknown variant 'nope'", "ref", extra=["--variant", "nope"])


def test_refuse_unknown_option_and_argument(tmp_path, inputs):
    refused(tmp_path, inputs, "unknown option '--bogus'", extra=["--bogus"])
    refused(tmp_path, inputs, "unexpected argument 'stray'", extra=["stray"])
    refused(tmp_path, {**inputs, "--y": None}, "--y needs a value", extra=["--y"])


def test_refuse_unwritable_output(tmp_path, inputs):
    refused(tmp_path, {**inputs, "--y": tmp_path / "no" / "dir" / "y.npy"}, "Cannot write", "y.npy", code=1)
    (tmp_path / "a_dir").mkdir()
    refused(tmp_path, {**inputs, "--y": tmp_path / "a_dir"}, "Cannot write", "a_dir", code=1)


# --- describe ----------------------------------------------------------------------------------------------


def describe(*args):
    r = tool("describe", *args)
    assert r.returncode == 0, r.stderr
    fields = {}
    for line in r.stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def expected_costs(d):
    ol, cg = d.out_length, d.in_channels // d.groups
    flops = 2 * d.batch * ol * d.out_channels * d.kernel_size * cg
    elems = d.batch * d.length * d.in_channels + d.kernel_size * cg * d.out_channels + d.batch * ol * d.out_channels
    return flops, 4 * (elems + (d.out_channels if d.bias else 0))


@pytest.mark.parametrize("case", range(8))
def test_describe_fields(case):
    d = random_desc(np.random.default_rng(300 + case))
    f = describe(d.text(style=case % 3))
    canonical = dict(kv.split("=") for kv in f["canonical"].split(","))
    assert canonical == {"batch": str(d.batch), "length": str(d.length), "in_channels": str(d.in_channels),
                         "out_channels": str(d.out_channels), "kernel_size": str(d.kernel_size),
                         "stride": str(d.stride), "pad_left": str(d.pad_left), "pad_right": str(d.pad_right),
                         "dilation": str(d.dilation), "num_groups": str(d.groups), "bias": str(int(d.bias)),
                         "layout": d.layout}
    assert describe(f["canonical"])["canonical"] == f["canonical"]
    assert f["layout"] == d.layout
    assert int(f["output_length"]) == d.out_length
    flops, nbytes = expected_costs(d)
    assert int(f["flops"].split()[0]) == flops
    assert int(f["min_bytes"].split()[0]) == nbytes
    assert float(f["intensity"].split()[0]) == pytest.approx(flops / nbytes, rel=1e-3)
    xs, ws, ys = d.shapes()
    assert f["input"].startswith(str(xs))
    assert f["weight"].startswith(str(ws))
    assert f["output"].startswith(str(ys))
    assert f["bias"] == (f"({d.out_channels},)  (out_channels,)" if d.bias else "none")


def test_describe_benchdnn_and_layout():
    f = describe('g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n"conv1"', "--layout", "ncw")
    assert "pad_right=1" in f["canonical"] and "layout=ncw" in f["canonical"]
    assert f["output_length"] == "4096"
    assert f["flops"].startswith("12884901888 ")
    assert f["input"].startswith("(8, 256, 4096)")
    assert f["weight"].startswith("(256, 256, 3)")
    assert f["output"].startswith("(8, 256, 4096)")


@pytest.mark.parametrize("args, fragment", [
    ([], "expected exactly one descriptor"),
    (["length=8,in_channels=1,out_channels=1,kernel_size=1", "extra"], "expected exactly one descriptor"),
    (["length=8,in_channels=1,out_channels=1"], "kernel_size"),
    (["nonsense"], "nonsense"),
    (["length=8,in_channels=1,out_channels=1,kernel_size=20"], "wider than the padded input"),
    (["length=8,in_channels=1,out_channels=1,kernel_size=2", "--layout", "nhwc"], "nhwc"),
    (["length=8,in_channels=1,out_channels=1,kernel_size=2", "--frobnicate"], "unknown option '--frobnicate'"),
])
def test_describe_refusals(args, fragment):
    r = tool("describe", *args)
    assert r.returncode == 2
    assert r.stdout == "" or r.stdout.startswith("usage")
    assert fragment in r.stderr


# --- list, help --------------------------------------------------------------------------------------------


def test_list_csv():
    r = tool("list", "--csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "variant,family,device,precision"
    rows = [line.split(",") for line in lines[1:]]
    assert rows[0] == ["ref", "ref", "cpu", "fp32"]
    assert all(len(row) == 4 and row[2] in ("cpu", "cuda") and row[3] in ("fp32", "tf32", "bf16", "f16") for row in rows)
    names = [row[0] for row in rows]
    assert len(set(names)) == len(names)


def test_list_table():
    r = tool("list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["variant", "family", "device", "precision"]
    assert [line.split()[0] for line in lines[1:]] == [row[0] for row in list_variants()]
    assert tool("list", "--bogus").returncode == 2
    assert tool("list", "extra").returncode == 2


@pytest.mark.parametrize("sub", ["describe", "list", "run"])
def test_help(sub):
    r = tool(sub, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith(f"usage: conv1d-tune {sub}")
    assert r.stderr == ""


def test_run_help_explains_bias_override():
    assert "whatever DESC says about bias" in tool("run", "--help").stdout
