#!/usr/bin/env python3
"""Writes a suite of shapes nobody tuned: the layers of a suite (by default the real-model layers of
autotune/suites/default.suite) at random batch sizes and lengths, the way production code runs them.

Each output line takes one input layer, keeps its channels, kernel, stride, dilation, groups, padding and
bias, and draws
  batch  from 1, 2, 4, 8, 16, 32, 64 (serving batch sizes),
  length the layer's length times 2^u, u uniform in [-3, 1], or, one time in six, a decode window of
         1 to 2x the kernel's span (a streaming step),
never below what the padded kernel needs and never above --max-elems elements per tensor. Lines whose
result equals an input line are drawn again, so no output shape is in the input suite.

    scripts/gen_shapes.py [--suite autotune/suites/default.suite] [--count 40] [--seed 1] > unseen.suite
"""
import argparse
import random
import re
import sys

BATCHES = (1, 2, 4, 8, 16, 32, 64)


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split(","))


def fmt(f):
    order = ["batch", "length", "in_channels", "out_channels", "kernel_size", "stride", "pad_left", "pad_right",
             "padding", "dilation", "num_groups", "bias"]
    keys = [k for k in order if k in f] + [k for k in f if k not in order]
    return ",".join(f"{k}={f[k]}" for k in keys)


def pads(f):
    if "padding" in f:
        p = int(f["padding"])
        return p, p
    return int(f.get("pad_left", 0)), int(f.get("pad_right", 0))


def draw(f, rng, max_elems, max_gflop):
    g = dict(f)
    k, d, s = int(f["kernel_size"]), int(f.get("dilation", 1)), int(f.get("stride", 1))
    pl, pr = pads(f)
    span = d * (k - 1) + 1
    min_len = max(1, span - pl - pr)
    if rng.random() < 1 / 6:
        length = rng.randint(max(min_len, 1), max(min_len, 2 * span))
    else:
        length = int(round(int(f["length"]) * 2 ** rng.uniform(-3, 1)))
    length = max(length, min_len)
    batch = rng.choice(BATCHES)
    cin, cout = int(f["in_channels"]), int(f["out_channels"])
    out_len = (length + pl + pr - span) // s + 1
    while batch > 1 and batch * max(length * cin, out_len * cout) > max_elems:
        batch //= 2
    while batch * length * cin > max_elems and length > min_len:
        length = max(min_len, length // 2)
    groups = int(f.get("num_groups", 1))
    while batch > 1 and 2e-9 * batch * out_len * cout * (cin // groups) * k > max_gflop:
        batch //= 2
    g["batch"], g["length"] = str(batch), str(length)
    return g


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="autotune/suites/default.suite")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-elems", type=int, default=2 << 20, help="largest input or output tensor (elements)")
    ap.add_argument("--max-gflop", type=float, default=2.0, help="most work per shape (GFLOP), so a sweep stays short")
    a = ap.parse_args()
    try:
        lines = [re.sub(r"\s*#.*", "", ln).strip() for ln in open(a.suite)]
    except OSError as e:
        sys.exit(f"gen_shapes: cannot read {a.suite}: {e.strerror}")
    layers = [parse(ln) for ln in lines if ln and "=" in ln]
    if not layers:
        sys.exit(f"gen_shapes: {a.suite} has no shapes")
    known = {fmt(f) for f in layers}
    rng = random.Random(a.seed)
    out, seen = [], set(known)
    tries = 0
    while len(out) < a.count and tries < 100 * a.count:
        tries += 1
        line = fmt(draw(rng.choice(layers), rng, a.max_elems, a.max_gflop))
        if line not in seen:
            seen.add(line)
            out.append(line)
    print(f"# {len(out)} shapes drawn by scripts/gen_shapes.py --suite {a.suite} --count {a.count} --seed {a.seed}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
