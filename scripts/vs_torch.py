#!/usr/bin/env python3
"""PyTorch as a peer: every shape of a suite, in each layout, through libconv1d from Python (TunedConv1d for
PyTorch's layout, a conv1d_tune.Plan for MAX's NWC layout and for asymmetric padding, which nn.Conv1d cannot
express) and through torch.nn.functional.conv1d, in one process, with the same inputs and thread count.

    scripts/vs_torch.py [--suite FILE | --shape TEXT ...] [--layout nwc|ncw|both] [--dtype f32|bf16|f16]
                        [--threads N] [--db PATH] [--mode measure|db|estimate] [--seconds S] [--out DIR]
                        [--onednn-csv CSV]

What PyTorch runs per layout, as a PyTorch user would write it:
  ncw  F.conv1d(x, w, b, stride, padding, dilation, groups) on a contiguous (batch, channels, length) x;
  nwc  F.conv1d(x.permute(0, 2, 1), ...).permute(0, 2, 1).contiguous(): NWC data in, NWC data out.
Asymmetric padding (causal convolutions) is padded on both sides by the larger amount and the output sliced,
as Mamba's reference code does. libconv1d's side allocates its output every call, as F.conv1d does.

--dtype bf16 (or f16) runs both sides in that type: the same inputs rounded to it, a bfloat16 TunedConv1d
(or Plan) against F.conv1d on bfloat16 tensors (PyTorch's CPU bf16 convolution, oneDNN's where it has one).
The libconv1d side passes torch tensors by address, so no ml_dtypes is needed. Without --dtype each shape
text's own dtype= applies (float32 where it names none). A 16-bit result is checked against the float64
convolution of the same 16-bit inputs: every output within one rounding of an fp32 accumulation (core/check.h's
c1_compare16 bound); the largest error as a fraction of that bound is reported for both sides.

Timing: both are checked against each other first (float32: the fp32 class's thresholds), then timed in alternating
blocks (tuned, torch, torch, tuned, ...), each block one untimed call (for calls under 50 ms) then enough calls
for about --seconds / (2 * --blocks); a side whose one call outlasts --seconds is timed in one block, so a shape
PyTorch takes half a minute a call for costs a few calls, not --blocks times two; the median per-call time over
the blocks is reported with the 10th and 90th percentiles, and the ratio is the median over block pairs of torch's time over libconv1d's in the same pair
(adjacent blocks see the same load from other work on the machine). One further torch call runs with oneDNN's
verbose mode on, and the primitives it executed (implementation, source format, milliseconds) are kept: the
reason a pair is slow is usually there (reorders of the input and weights around a blocked-format kernel, or
no oneDNN primitive at all).

Writes DIR/vs_torch-STAMP.csv and DIR/vs_torch-STAMP-summary.txt (also printed). --onednn-csv (a make bench
CSV of the same run) adds each chosen variant's ratio over the harness's oneDNN beside the PyTorch ratio.
Exit status: 0, 2 for bad options or inputs, 1 when PyTorch or libconv1d cannot be loaded or a result is
wrong."""
import argparse
import csv
import datetime
import math
import os
import pathlib
import re
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

FP32_MAX, FP32_L2 = 1e-4, 2e-5  # runtime/check.c
PROG = "vs_torch"
COLUMNS = ["shape", "layout", "key", "path", "variant", "explain", "threads", "torch", "torch_onednn", "tuned_ms",
           "tuned_p10_ms", "tuned_p90_ms", "torch_ms", "torch_p10_ms", "torch_p90_ms", "vs_torch", "rel_err",
           "torch_kernels", "vs_onednn", "dtype", "bound_tuned", "bound_torch"]


def read_suite(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def onednn_ratios(path):
    """{(shape text, layout): {variant: onednn median / variant median}} from a make bench CSV."""
    groups = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("status") == "ok" and r.get("median_ms"):
                groups.setdefault((r["shape"], r["layout"]), {})[r["variant"]] = float(r["median_ms"])
    out = {}
    for key, ms in groups.items():
        if "onednn" in ms:
            out[key] = {v: ms["onednn"] / t for v, t in ms.items() if t > 0}
    return out


class CaptureFd:
    """Captures what C code writes to file descriptor fd (oneDNN's verbose lines go to stdout)."""

    def __init__(self, fd=1):
        self.fd, self.text = fd, ""

    def __enter__(self):
        sys.stdout.flush()
        self.tmp = tempfile.TemporaryFile(mode="w+b")
        self.saved = os.dup(self.fd)
        os.dup2(self.tmp.fileno(), self.fd)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self.saved, self.fd)
        os.close(self.saved)
        self.tmp.seek(0)
        self.text = self.tmp.read().decode("utf-8", "replace")
        self.tmp.close()


def onednn_primitives(text):
    """'convolution jit:avx512_core src aBcd16b 1.20ms; reorder jit:blk src abcd 0.30ms; ...' from verbose."""
    out = []
    for line in text.splitlines():
        f = line.split(",")
        if "exec" not in f:
            continue
        i = f.index("exec")
        if len(f) < i + 6:
            continue
        kind, impl, mds = f[i + 2], f[i + 3], f[i + 5]
        m = re.search(r"src[_:](?:f32|bf16|f16):[a-z]*:blocked:([A-Za-z0-9]+)", mds)
        try:
            ms = float(f[-1])
        except ValueError:
            ms = float("nan")
        out.append(f"{kind} {impl}{' src ' + m.group(1) if m else ''} {ms:.3g}ms")
    return "; ".join(out) if out else "no oneDNN primitive (PyTorch's own kernel)"


def torch_onednn_version(torch):
    m = re.search(r"(?:MKL-DNN|oneDNN) v([\d.]+)", torch.__config__.show())
    return m.group(1) if m else "none"


def rel_err(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.abs(b).max() or 1.0
    return float(np.abs(a - b).max() / scale), float(np.linalg.norm(a - b) / (np.linalg.norm(b) or 1.0))


def ulp16(v, dtype):
    """The spacing of bfloat16's or float16's numbers at magnitudes v (core/check.c's ulp_of)."""
    import numpy as np
    mant, min_exp = (7, -133) if dtype == "bfloat16" else (10, -24)
    _, e = np.frexp(v)
    return np.ldexp(1.0, np.maximum(e - 1 - mant, min_exp))


def check16(y, ref, absum, terms, dtype):
    """(elements beyond c1_compare16's bound, the largest error as a fraction of its element's bound) of a
    16-bit result y (float64) against the float64 reference on the same inputs; absum: the reference on the
    magnitudes. In ulps of the output the error says little: where the products cancel, an output near zero
    carries the accumulation's error of the large terms, many of its own ulps, which the bound allows."""
    import numpy as np
    acc = 4.0 * math.sqrt(max(terms, 1)) * 2.0 ** -24 * absum
    diff = np.abs(y - ref)
    bound = 0.5 * ulp16(np.abs(ref) + acc, dtype) + acc
    bad = ~np.isfinite(y) | (diff > bound)
    return int(bad.sum()), float(np.max(np.where(np.isfinite(y), diff / bound, np.inf), initial=0.0))


# A call at least this long needs no untimed call before its block: the other side's spinning threads cost it
# nothing measurable.
MIN_UNTIMED_S = 0.05


def time_pair(fa, fb, seconds, blocks):
    """(median, p10, p90) per-call seconds of fa and of fb, timed in alternating blocks, and the median over
    the blocks of fb's time over fa's in the same block pair: a pair of adjacent blocks sees the same load
    on the machine, so a burst of other work skews one ratio, which the median leaves out."""
    import numpy as np
    est = []
    for f in (fa, fb):
        t0 = time.perf_counter()
        f()
        first = time.perf_counter() - t0
        if first > seconds:  # one call outlasts the budget: it is its own estimate
            est.append(first)
            continue
        t0 = time.perf_counter()
        f()
        f()
        est.append((time.perf_counter() - t0) / 2)
    if max(est) > seconds:
        blocks = 1  # a side whose one call outlasts the budget (PyTorch on a k = 8192 layer: 35 s) is timed once
    block_s = seconds / (2 * blocks)
    reps = [max(1, int(block_s / max(e, 1e-7))) for e in est]
    samples = ([], [])
    for blk in range(blocks):
        order = (0, 1) if blk % 2 == 0 else (1, 0)
        for which in order:
            f, n = (fa, fb)[which], reps[which]
            if est[which] < MIN_UNTIMED_S:
                f()  # untimed: the other side's OpenMP threads may still be spinning
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[which].append((time.perf_counter() - t0) / n)
    paired = float(np.median(np.array(samples[1]) / np.array(samples[0])))
    return [tuple(np.percentile(s, [50, 10, 90])) for s in samples] + [paired]


def run_pair(shape, layout, args, torch, ct, TunedConv1d, rng):
    import numpy as np
    F = torch.nn.functional
    desc = ct.Desc.parse(shape, dtype=args.dtype, layout=layout)
    half = desc.dtype.name != "float32"
    tdt = getattr(torch, desc.dtype.name)
    cin, cout, k, g = desc.in_channels, desc.out_channels, desc.kernel_size, desc.num_groups
    x = rng.uniform(-1, 1, desc.input_shape).astype(np.float32)
    w_t = rng.uniform(-1, 1, (cout, cin // g, k)).astype(np.float32)  # PyTorch's weight order
    b_t = rng.uniform(-1, 1, cout).astype(np.float32) if desc.has_bias else None
    xt, wt = torch.from_numpy(x).to(tdt), torch.from_numpy(w_t).to(tdt)  # rounded to the dtype (16-bit)
    bt = None if b_t is None else torch.from_numpy(b_t).to(tdt)
    pl, pr = desc.pad_left, desc.pad_right
    p = max(pl, pr)
    off, lout = (p - pl) // desc.stride, desc.output_length
    if (p - pl) % desc.stride:
        raise SystemExit(f"{PROG}: {shape}: asymmetric padding that a symmetric one cannot cover at this stride")
    sl = slice(off, off + lout) if pl != pr else slice(None)

    if layout == "ncw":
        def torch_fn():
            return F.conv1d(xt, wt, bt, desc.stride, p, desc.dilation, g)[..., sl]
    else:
        def torch_fn():
            return F.conv1d(xt.permute(0, 2, 1), wt, bt, desc.stride, p, desc.dilation, g)[..., sl] \
                .permute(0, 2, 1).contiguous()

    kw = dict(db=args.db, mode=args.mode)
    if layout == "ncw" and pl == pr:
        path = "TunedConv1d"
        mod = TunedConv1d(cin, cout, k, stride=desc.stride, padding=pl, dilation=desc.dilation, groups=g,
                          bias=desc.has_bias, **kw).to(tdt)
        with torch.no_grad():
            mod.weight.copy_(wt)
            if bt is not None:
                mod.bias.copy_(bt)

        def tuned_fn():
            return mod(xt)
        tuned_fn()
        ((variant, explain),) = mod.plans().values()
    elif not half:
        path = "Plan"
        plan = ct.Plan(desc, threads=args.threads, **kw)
        plan.set_weights(w_t if layout == "ncw" else np.ascontiguousarray(w_t.transpose(2, 1, 0)), b_t)
        variant, explain = plan.variant, plan.explain

        def tuned_fn():
            return plan(x)
    else:  # the 16-bit tensors by address, as TunedConv1d passes them (NumPy has no bfloat16 without ml_dtypes)
        path = "Plan"
        plan = ct.Plan(desc, threads=args.threads, **kw)
        w_plan = (wt if layout == "ncw" else wt.permute(2, 1, 0)).contiguous()
        plan._set_weights_ptr(w_plan.data_ptr(), None if bt is None else bt.data_ptr())
        variant, explain = plan.variant, plan.explain
        x_in = xt.contiguous()

        def tuned_fn():
            y = torch.empty(desc.output_shape, dtype=tdt)
            plan._execute_ptr(x_in.data_ptr(), y.data_ptr())
            return y
    try:
        y_torch = torch_fn()
    except RuntimeError as e:  # e.g. PyTorch before 2.1: "slow_conv2d_cpu" not implemented for 'Half'
        raise NotImplementedError(f"PyTorch {torch.__version__} cannot run F.conv1d in {desc.dtype.name} on the "
                                  f"CPU ({str(e).splitlines()[0]})") from None
    y_tuned = tuned_fn()
    err_max, err_l2 = rel_err(y_tuned.double() if half else y_tuned, y_torch.double())
    ulps = {}
    if half:  # both against the float64 convolution of the same 16-bit inputs
        xd = xt.double() if layout == "ncw" else xt.double().permute(0, 2, 1)
        wd, bd = wt.double(), None if bt is None else bt.double()
        ref = F.conv1d(xd, wd, bd, desc.stride, p, desc.dilation, g)[..., sl]
        absum = F.conv1d(xd.abs(), wd.abs(), None if bd is None else bd.abs(), desc.stride, p, desc.dilation,
                         g)[..., sl]
        if layout == "nwc":
            ref, absum = ref.permute(0, 2, 1), absum.permute(0, 2, 1)
        ref, absum = ref.contiguous().numpy(), absum.contiguous().numpy()
        terms = (cin // g) * k + (bt is not None)
        for side, y in (("tuned", y_tuned), ("torch", y_torch)):
            ulps[side] = check16(y.double().contiguous().numpy(), ref, absum, terms, desc.dtype.name)
    (tm, t10, t90), (pm, p10, p90), ratio = time_pair(tuned_fn, torch_fn, args.seconds, args.blocks)
    kernels = ""
    if hasattr(torch.backends, "mkldnn") and hasattr(torch.backends.mkldnn, "verbose"):
        with CaptureFd() as cap, torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            torch_fn()
        kernels = onednn_primitives(cap.text)
    return {"shape": shape, "layout": layout, "key": str(desc), "path": path, "variant": variant, "explain": explain,
            "tuned_ms": tm * 1e3, "tuned_p10_ms": t10 * 1e3, "tuned_p90_ms": t90 * 1e3, "torch_ms": pm * 1e3,
            "torch_p10_ms": p10 * 1e3, "torch_p90_ms": p90 * 1e3, "vs_torch": ratio,
            "rel_err": err_max, "rel_l2": err_l2, "torch_kernels": kernels, "dtype": desc.dtype.name,
            "outside": ulps.get("tuned", (0, 0))[0], "bound_tuned": ulps["tuned"][1] if half else None,
            "bound_torch": ulps["torch"][1] if half else None}


def gmean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def summary(rows, header):
    lines = [header, "",
             f"{'layout':6} {'path':11} {'variant':26} {'tuned_ms':>9} {'torch_ms':>9} {'vs_torch':>8} "
             f"{'vs_onednn':>9}  shape"]
    for r in rows:
        vo = f"{r['vs_onednn']:.2f}x" if r.get("vs_onednn") else "-"
        lines.append(f"{r['layout']:6} {r['path']:11} {r['variant']:26} {r['tuned_ms']:9.4g} {r['torch_ms']:9.4g} "
                     f"{r['vs_torch']:7.2f}x {vo:>9}  {r['shape']}")
    ratios = [r["vs_torch"] for r in rows]
    lines.append("")
    if ratios:
        per = ", ".join(f"{lay} {gmean([r['vs_torch'] for r in rows if r['layout'] == lay]):.2f}x"
                        for lay in ("nwc", "ncw") if any(r["layout"] == lay for r in rows))
        worst = min(rows, key=lambda r: r["vs_torch"])
        lines.append(f"geometric mean of libconv1d's speed over PyTorch's F.conv1d: {gmean(ratios):.2f}x over "
                     f"{len(ratios)} shape/layout pairs ({per}); worst {worst['vs_torch']:.2f}x ({worst['layout']} "
                     f"{worst['shape']})")
        vo = [r["vs_onednn"] for r in rows if r.get("vs_onednn")]
        if vo:
            lines.append(f"the same variants over the harness's oneDNN (make bench CSV): {gmean(vo):.2f}x over "
                         f"{len(vo)} pairs")
        for dt in sorted({r["dtype"] for r in rows} - {"float32"}):
            sub = [r for r in rows if r["dtype"] == dt]
            lines.append(f"{dt}: largest error against the float64 convolution of the same {dt} inputs, as a "
                         f"fraction of c1_compare16's bound (1/2 ulp plus the fp32 accumulation's share): libconv1d "
                         f"{max(r['bound_tuned'] for r in sub):.2f}, PyTorch {max(r['bound_torch'] for r in sub):.2f}")
        slow = [r for r in rows if r["vs_torch"] < 0.97]
        for r in slow:
            lines.append(f"below 0.97x: {r['layout']} {r['shape']}: {r['variant']} {r['tuned_ms']:.4g} ms against "
                         f"{r['torch_ms']:.4g} ms; PyTorch ran: {r['torch_kernels']}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="vs_torch.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", help="suite file (default autotune/suites/bench.suite unless --shape is given)")
    ap.add_argument("--shape", action="append", default=[], help="a descriptor text; repeatable")
    ap.add_argument("--layout", choices=["nwc", "ncw", "both"], default="both")
    ap.add_argument("--dtype", help="f32, bf16 or f16 (or float32, bfloat16, float16) for every shape (default: "
                                    "each shape text's dtype=, float32 where it names none)")
    ap.add_argument("--threads", type=int, default=0, help="threads for both sides (default: torch's default)")
    ap.add_argument("--db", help="results database for the plans (default $CONV1D_DB, else results/conv1d.db)")
    ap.add_argument("--mode", choices=["measure", "db", "estimate"], default="measure",
                    help="plan mode (default measure: a shape without a tuned winner is tuned at plan time and "
                         "stored in the database)")
    ap.add_argument("--seconds", type=float, default=1.0, help="timing per shape and layout, both sides (1.0)")
    ap.add_argument("--blocks", type=int, default=10, help="alternating blocks per side (10)")
    ap.add_argument("--out", default="results/bench", help="folder for the CSV and summary (results/bench)")
    ap.add_argument("--onednn-csv", help="a make bench CSV: adds the chosen variant's ratio over oneDNN")
    args = ap.parse_args(argv)
    if args.threads < 0 or args.seconds <= 0 or args.blocks < 1:
        ap.error("--threads must be >= 0, --seconds > 0 and --blocks >= 1")
    try:
        shapes = args.shape or read_suite(args.suite or ROOT / "autotune" / "suites" / "bench.suite")
    except OSError as e:
        print(f"{PROG}: cannot read the suite: {e}", file=sys.stderr)
        return 2
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"{PROG}: PyTorch is not importable by {sys.executable} ({e}); make bench-torch installs it",
              file=sys.stderr)
        return 1
    import conv1d_tune as ct
    from conv1d_tune import _dtypes
    from conv1d_tune.torch import TunedConv1d
    try:
        ct.library_path()
    except ct.LibraryNotFoundError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    if args.dtype is not None:
        try:
            args.dtype = _dtypes.require(args.dtype).name
        except TypeError as e:
            print(f"{PROG}: --dtype: {e}", file=sys.stderr)
            return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()
    ratios_1dnn = {}
    if args.onednn_csv:
        try:
            ratios_1dnn = onednn_ratios(args.onednn_csv)
        except (OSError, KeyError, ValueError) as e:
            print(f"{PROG}: cannot read {args.onednn_csv}: {e}", file=sys.stderr)
            return 2
    layouts = ["nwc", "ncw"] if args.layout == "both" else [args.layout]
    rng = np.random.default_rng(0)
    onednn_v = torch_onednn_version(torch)
    rows, wrong = [], []
    with torch.inference_mode():
        for shape in shapes:
            for layout in layouts:
                try:
                    r = run_pair(shape, layout, args, torch, ct, TunedConv1d, rng)
                except (ValueError, TypeError) as e:
                    print(f"{PROG}: {shape}: {e}", file=sys.stderr)
                    return 2
                except NotImplementedError as e:  # nothing to compare with
                    print(f"{PROG}: {shape}: {e}", file=sys.stderr)
                    return 1
                r.update(threads=args.threads, torch=torch.__version__, torch_onednn=onednn_v,
                         vs_onednn=ratios_1dnn.get((shape, layout), {}).get(r["variant"]))
                if r["dtype"] != "float32":
                    if r["outside"]:
                        wrong.append(f"{layout} {shape}: {r['variant']}: {r['outside']} {r['dtype']} outputs beyond "
                                     f"one rounding of an fp32 accumulation of the float64 reference (largest "
                                     f"error {r['bound_tuned']:.3g} of the bound)")
                elif r["rel_err"] > FP32_MAX or r["rel_l2"] > FP32_L2:
                    wrong.append(f"{layout} {shape}: {r['variant']} differs from F.conv1d by {r['rel_err']:.3g} "
                                 f"(max) / {r['rel_l2']:.3g} (L2) of the output's scale")
                rows.append(r)
                errs = "" if r["dtype"] == "float32" else \
                    f" (largest error / bound: {r['bound_tuned']:.2f}, torch {r['bound_torch']:.2f})"
                print(f"== {layout} {shape} {r['dtype']}: {r['variant']} {r['tuned_ms']:.4g} ms, torch "
                      f"{r['torch_ms']:.4g} ms, {r['vs_torch']:.2f}x{errs}", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = os.path.join(args.out, f"vs_torch-{stamp}")
    with open(base + ".csv", "w", newline="") as f:
        wr = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        wr.writeheader()
        for r in rows:
            wr.writerow({k: (f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v)) for k, v in r.items()})
    dtypes = sorted({r["dtype"] for r in rows})
    header = (f"libconv1d {ct.library_version()} ({ct.library_path()}) against PyTorch {torch.__version__} "
              f"(oneDNN {onednn_v}) F.conv1d, {args.threads} threads each, same inputs, plan mode {args.mode}, "
              f"dtype {', '.join(dtypes) or '-'}, {stamp}")
    text = summary(rows, header)
    if wrong:
        text += "\n" + "\n".join("WRONG: " + w for w in wrong)
    with open(base + "-summary.txt", "w") as f:
        f.write(text + "\n")
    print(text)
    print(f"wrote {base}.csv and {base}-summary.txt", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
