#!/usr/bin/env python3
"""Performance report of a conv1d-tune results database: an HTML page with figures (PNG and SVG) and
winners.csv, for one machine's newest non-stale winners.

    report.py --db results/conv1d.db --out results/report [--baseline OLD.db] [--machine FINGERPRINT]
              [--torch results/bench/vs_torch-STAMP.csv]

Exit status: 0 on success, 2 for a missing, empty or foreign database or a bad option, 1 otherwise."""
import argparse
import csv
import datetime
import html
import json
import math
import os
import re
import sqlite3
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib's own dependency)

# SVG text stays text (searchable, and several times smaller than glyph outlines).
matplotlib.rcParams["svg.fonttype"] = "none"

PROG = "report"
DPI = 90  # modest: the committed reports stay small and the labels stay readable
SHAPES_PER_PAGE = 12
PAGE_COLS = 3
NOISE_THRESHOLD = 0.05  # a baseline change smaller than this is noise even when the ranges do not overlap
TABLES = {"hardware", "builds", "runs", "shapes", "measurements", "winners"}

# Fixed colours per family so that every figure (and every report) reads the same way.
FAMILY_COLORS = {
    "ref": "#7f7f7f", "direct": "#1f77b4", "depthwise": "#2ca02c", "winograd": "#9467bd",
    "cuda_tiled": "#17becf", "cuda_smem": "#8c564b", "cuda_depthwise": "#bcbd22", "onednn": "#ff7f0e",
    "cudnn": "#d62728", "fft": "#e377c2",
}
CUDA_PEER_FAMILY = "cudnn"  # CPU rows are measured against oneDNN, CUDA rows against the best cuDNN algorithm
WINNER_COLOR, PEER_COLOR, OTHER_COLOR = "#1f77b4", "#ff7f0e", "#c7c7c7"


class ReportError(Exception):
    """A problem with the inputs, reported as one line and exit status 2."""


# --- reading the database -----------------------------------------------------------------------------

def open_db(path):
    """Opens a results DB read-only; refuses a missing file or one that is not a conv1d-tune DB."""
    if not os.path.isfile(path):
        raise ReportError(f"no such database file: {path}")
    try:
        con = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise ReportError(f"{path} is not a conv1d-tune results database ({e})") from None
    missing = TABLES - names
    if missing:
        raise ReportError(f"{path} is not a conv1d-tune results database (no table {', '.join(sorted(missing))})")
    return con


def pick_hardware(con, path, machine):
    """The hardware row to report on: --machine (a fingerprint or a unique prefix), else the newest run's."""
    if machine:
        rows = con.execute("SELECT * FROM hardware WHERE fingerprint LIKE ? || '%'", (machine,)).fetchall()
        if len(rows) != 1:
            known = ", ".join(r[0] for r in con.execute("SELECT fingerprint FROM hardware")) or "none"
            what = "no" if not rows else "more than one"
            raise ReportError(f"{path} has {what} machine matching '{machine}' (machines: {known})")
        return rows[0]
    row = con.execute("SELECT h.* FROM runs r JOIN hardware h ON h.id = r.hardware_id "
                      "ORDER BY r.started DESC, r.id DESC LIMIT 1").fetchone()
    if row is None:
        raise ReportError(f"{path} has no runs: nothing to report")
    return row


def family_map(con):
    """variant -> family from every build's variant list ("name family device precision params;...")."""
    families = {}
    for (text,) in con.execute("SELECT variants FROM builds"):
        for item in text.split(";"):
            parts = item.split()
            if len(parts) >= 2:
                families[parts[0]] = parts[1]
    for v, f in con.execute("SELECT DISTINCT variant, family FROM measurements"):
        families.setdefault(v, f)
    return families


def out_length(s):
    span = s["dilation"] * (s["kernel_size"] - 1) + 1
    return (s["length"] + s["pad_left"] + s["pad_right"] - span) // s["stride"] + 1


def shape_flops(s):
    """A multiply-add is two FLOPs: 2 * output elements * kernel_size * in_channels / groups."""
    out_elems = s["batch"] * out_length(s) * s["out_channels"]
    return 2.0 * out_elems * s["kernel_size"] * s["in_channels"] / s["num_groups"]


def shape_min_bytes(s):
    """Every tensor read or written once in float32: input, weights, bias, output."""
    cin, cout, k, g = s["in_channels"], s["out_channels"], s["kernel_size"], s["num_groups"]
    elems = (s["batch"] * s["length"] * cin + k * (cin // g) * cout + (cout if s["has_bias"] else 0)
             + s["batch"] * out_length(s) * cout)
    return 4.0 * elems


def is_depthwise(s):
    return s["num_groups"] == s["in_channels"] and s["num_groups"] > 1


def shape_label(s):
    """A short label, e.g. "ci512 co512 k3 s2 L3199 nwc"; fields at their defaults are left out."""
    parts = [] if s["batch"] == 1 else [f"b{s['batch']}"]
    parts += [f"ci{s['in_channels']}", f"co{s['out_channels']}", f"k{s['kernel_size']}"]
    if s["stride"] != 1:
        parts.append(f"s{s['stride']}")
    if s["dilation"] != 1:
        parts.append(f"d{s['dilation']}")
    if is_depthwise(s):
        parts.append("dw")
    elif s["num_groups"] != 1:
        parts.append(f"g{s['num_groups']}")
    if s["pad_left"] or s["pad_right"]:
        pads = s["pad_left"] if s["pad_left"] == s["pad_right"] else f"{s['pad_left']},{s['pad_right']}"
        parts.append(f"p{pads}")
    parts += [f"L{s['length']}", s["layout"]]
    return " ".join(parts)


def has_winner_views(con):
    """Whether the file has the store's winner views (schema 3 and later; see runtime/store.h)."""
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'current_winners'").fetchone() \
        is not None


def newest_winners(con, hardware_id):
    """The newest non-stale winner per (shape, device, precision) of one machine, with its shape: from the store's
    current_winners view, whose peer of a CUDA winner is already the fastest cuDNN algorithm; a file older than the
    view is read with the join the view makes, and load() sets those peers itself."""
    if has_winner_views(con):
        rows = con.execute("SELECT * FROM current_winners WHERE hardware_id = ? ORDER BY decided",
                           (hardware_id,)).fetchall()
    else:
        rows = con.execute(
            "SELECT w.*, s.key, s.batch, s.length, s.in_channels, s.out_channels, s.kernel_size, s.stride, "
            "s.pad_left, s.pad_right, s.dilation, s.num_groups, s.has_bias, s.layout "
            "FROM winners w JOIN shapes s ON s.id = w.shape_id "
            "WHERE w.hardware_id = ? AND w.stale = 0 ORDER BY w.decided", (hardware_id,)).fetchall()
    newest = {}
    for r in rows:  # ordered by decision time, so the last one seen is the newest
        newest[(r["key"], r["device"], r["precision"])] = dict(r)
    return newest


def cuda_peer(w):
    """A CUDA winner's peer is the fastest correct cuDNN variant of its precision class on the same shape, from
    the same run (the measurements are already restricted to the winner's precision; the earliest of equal
    ones), whatever the tuner stored; without a cuDNN measurement the stored peer stays. The current_winners
    view gives this peer; a file older than the view needs it set here."""
    cudnn = [v for v in w["variants"] if v["family"] == CUDA_PEER_FAMILY]
    if cudnn:
        best = min(cudnn, key=lambda v: v["median_ms"])
        w["peer_variant"], w["peer_median_ms"] = best["variant"], best["median_ms"]
        w["speedup"] = best["median_ms"] / w["median_ms"]


def load(con, path, machine):
    """Everything the figures need, as plain Python data."""
    hw = dict(pick_hardware(con, path, machine))
    winners = newest_winners(con, hw["id"])
    from_view = has_winner_views(con)
    if not winners:
        raise ReportError(f"{path} has no current winners for machine {hw['fingerprint']}: nothing to report")
    families = family_map(con)
    labels, seen = {}, defaultdict(int)
    for w in winners.values():
        w["family"] = families.get(w["variant"], "unknown")
        w["flops"], w["bytes"] = shape_flops(w), shape_min_bytes(w)
        w["gflops"] = w["flops"] / (w["median_ms"] * 1e6)
        w["speedup"] = (w["peer_median_ms"] / w["median_ms"]) if w["peer_median_ms"] else None
        label = labels.get(w["key"]) or shape_label(w)
        if w["key"] not in labels:  # two keys with one short label (e.g. bias only): number them apart
            seen[label] += 1
            label = label if seen[label] == 1 else f"{label} #{seen[label]}"
            labels[w["key"]] = label
        w["label"] = label + ("" if w["device"] == "cpu" and w["precision"] == "fp32"
                              else f" [{w['device']} {w['precision']}]")
    # The measurements of each winner's run for its shape and device: the variants it competed against.
    for w in winners.values():
        rows = con.execute(
            "SELECT variant, family, status, median_ms, p10_ms, p90_ms FROM measurements "
            "WHERE run_id IS ? AND shape_id = ? AND hardware_id = ? AND build_id = ? AND device = ? "
            "AND precision = ? AND status = 'ok' AND median_ms > 0",
            (w["run_id"], w["shape_id"], hw["id"], w["build_id"], w["device"], w["precision"])).fetchall()
        w["variants"] = [dict(r) for r in rows]
        if w["device"] == "cuda" and not from_view:
            cuda_peer(w)
    builds = [dict(r) for r in con.execute(
        "SELECT * FROM builds WHERE id IN (%s)" % ",".join("?" * len({w["build_id"] for w in winners.values()})),
        sorted({w["build_id"] for w in winners.values()}))]
    runs = [dict(r) for r in con.execute("SELECT * FROM runs WHERE hardware_id = ? ORDER BY started, id",
                                         (hw["id"],))]
    return {"hw": hw, "winners": winners, "families": families, "builds": builds, "runs": runs}


def load_torch(path, data):
    """Adds to each CPU winner the PyTorch ratio of a scripts/vs_torch.py CSV (matched by canonical shape key):
    that script's own same-run ratio of F.conv1d's median over libconv1d's dispatched plan."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise ReportError(f"cannot read the PyTorch CSV {path}: {e.strerror}") from None
    if rows and not {"key", "variant", "vs_torch", "torch"} <= set(rows[0]):
        raise ReportError(f"{path} is not a scripts/vs_torch.py CSV (no key, variant, vs_torch or torch column)")
    by_key = {r["key"]: r for r in rows if r.get("vs_torch")}
    matched = 0
    for w in data["winners"].values():
        r = by_key.get(w["key"]) if w["device"] == "cpu" else None
        w["vs_torch"] = float(r["vs_torch"]) if r else None
        w["vs_torch_variant"] = r["variant"] if r else ""
        matched += r is not None
    versions = sorted({f"PyTorch {r['torch']} (oneDNN {r.get('torch_onednn') or '?'})" for r in rows})
    data["torch"] = {"path": path, "versions": versions, "matched": matched}


# --- figures ------------------------------------------------------------------------------------------

def save(fig, out, name):
    """Writes NAME.png and NAME.svg and returns NAME."""
    png = os.path.join(out, name + ".png")
    # bbox "tight" grows the canvas to fit long tick labels that tight_layout alone may still clip
    fig.savefig(png, dpi=DPI, bbox_inches="tight", pad_inches=0.15)
    svg = os.path.join(out, name + ".svg")
    fig.savefig(svg, bbox_inches="tight", pad_inches=0.15, metadata={"Date": None})  # no date: same input, same file
    plt.close(fig)
    compact_svg(svg)
    # A 256-colour palette keeps flat-colour charts sharp at about a third of the truecolour size.
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)
    return name


def compact_svg(path):
    """Coordinates to 2 decimals (a hundredth of a point) and no indentation: about half the size, same picture."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(\d\.\d\d)\d+", r"\1", text)
    text = re.sub(r"\n[ \t]+", "\n", text)
    with open(path, "w") as f:
        f.write(text)


def log_ticks_plain(axis, subs=(1.0, 2.0, 5.0)):
    """Log-scale ticks at 1, 2, 5 x 10^n written as plain numbers: easier to read than 10^n alone."""
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def sorted_winners(data):
    # nwc and ncw of one shape side by side: sort by the key without its layout, then by layout
    return sorted(data["winners"].values(),
                  key=lambda w: (w["key"].replace(f"layout={w['layout']}", ""), w["layout"], w["device"]))


def fig_variants(data, out):
    """Per shape: every correct variant's GFLOP/s with p10-p90 error bars; pages of small multiples."""
    winners = sorted_winners(data)
    names = []
    for page, start in enumerate(range(0, len(winners), SHAPES_PER_PAGE), 1):
        chunk = winners[start:start + SHAPES_PER_PAGE]
        rows = math.ceil(len(chunk) / PAGE_COLS)
        heights = [max(len(w["variants"]) for w in chunk[r * PAGE_COLS:(r + 1) * PAGE_COLS]) or 1
                   for r in range(rows)]
        fig, axes = plt.subplots(rows, PAGE_COLS, figsize=(16, 1.0 + sum(0.17 * h + 0.8 for h in heights)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        for ax, w in zip(axes.flat, chunk):
            variant_panel(ax, w)
        for ax in list(axes.flat)[len(chunk):]:
            ax.set_visible(False)
        pages = math.ceil(len(winners) / SHAPES_PER_PAGE)
        fig.suptitle(f"GFLOP/s of every correct variant per shape (page {page} of {pages}); bar = median, "
                     "whisker = p10-p90", fontsize=12)
        fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in (WINNER_COLOR, PEER_COLOR, OTHER_COLOR)],
                   labels=["winner", "peer (oneDNN; best cuDNN on CUDA)", "other variants"], loc="upper right", ncol=3,
                   fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.975))
        names.append(save(fig, out, f"variants-{page}"))
    return names


def variant_panel(ax, w):
    vs = sorted(w["variants"], key=lambda v: v["median_ms"])  # fastest at the top
    if not vs:
        ax.text(0.5, 0.5, "no correct timed variant", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(w["label"], fontsize=9)
        return
    gf = np.array([w["flops"] / (v["median_ms"] * 1e6) for v in vs])
    # a longer time is a lower rate: p90 gives the lower whisker, p10 the upper one
    lo = np.array([w["flops"] / ((v["p90_ms"] or v["median_ms"]) * 1e6) for v in vs])
    hi = np.array([w["flops"] / ((v["p10_ms"] or v["median_ms"]) * 1e6) for v in vs])
    peer = w.get("peer_variant") or "onednn"
    colors = [WINNER_COLOR if v["variant"] == w["variant"] else
              PEER_COLOR if v["variant"] == peer or (v["family"] == "onednn" and w["device"] == "cpu") else OTHER_COLOR
              for v in vs]
    y = np.arange(len(vs))
    ax.barh(y, gf, color=colors, xerr=[np.maximum(gf - lo, 0), np.maximum(hi - gf, 0)],
            error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
    ax.set_yticks(y, [v["variant"] + (" *" if v["variant"] == w["variant"] else "") for v in vs], fontsize=7)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("GFLOP/s", fontsize=8)
    ax.set_title(w["label"], fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def fig_speedup(data, out):
    """The winner's speedup over the peer across the suite, sorted, log scale, with the geometric mean."""
    ws = sorted((w for w in data["winners"].values() if w["speedup"]), key=lambda w: w["speedup"])
    if not ws:
        return None
    sp = np.array([w["speedup"] for w in ws])
    gmean = float(np.exp(np.mean(np.log(sp))))
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.19 * len(ws)))
    y = np.arange(len(ws))
    ax.barh(y, sp, color=[FAMILY_COLORS.get(w["family"], "#333333") for w in ws])
    ax.set_xscale("log")
    log_ticks_plain(ax.xaxis)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.axvline(gmean, color="#d62728", ls="--", lw=1.2, label=f"geometric mean {gmean:.2f}x")
    ax.set_yticks(y, [w["label"] for w in ws], fontsize=7.5)
    ax.set_ylim(-0.6, len(ws) - 0.4)
    peers = sorted({w["peer_variant"] for w in ws if w["peer_variant"]})
    ax.set_xlabel(f"speedup of the winner over {'/'.join(peers)} (peer median / winner median, x, log scale)")
    ax.set_title(f"Winner vs {'/'.join(peers)} over {len(ws)} shapes (bar colour: winner's family)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=FAMILY_COLORS.get(f, "#333333"))
               for f in sorted({w["family"] for w in ws})]
    leg = ax.legend(handles=handles + ax.get_legend_handles_labels()[0],
                    labels=sorted({w["family"] for w in ws}) + [f"geometric mean {gmean:.2f}x"],
                    loc="lower right", fontsize=8)
    leg.set_zorder(5)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "speedup"), gmean


def fig_roofline(data, out, device):
    """Winners and oneDNN on the roofline of the machine's measured ceilings (CPU ceilings only)."""
    ws = [w for w in data["winners"].values() if w["device"] == device]
    hw = data["hw"]
    fig, ax = plt.subplots(figsize=(9, 6.5))
    ai = np.array([w["flops"] / w["bytes"] for w in ws])
    lo, hi = max(ai.min() / 2, 1e-2), ai.max() * 2
    x = np.logspace(math.log10(lo), math.log10(hi), 200)
    if device == "cpu" and hw["fma_gflops_all"] and hw["copy_gbs_all"]:
        for fma, copy, style, what in ((hw["fma_gflops_all"], hw["copy_gbs_all"], "-", "all cores"),
                                       (hw["fma_gflops_1core"], hw["copy_gbs_1core"], ":", "one core")):
            if fma and copy:
                ax.plot(x, np.minimum(fma, copy * x), color="black", ls=style, lw=1.3,
                        label=f"roofline, {what}: {fma:.0f} GFLOP/s FMA, {copy:.0f} GB/s copy")
    else:
        ax.text(0.02, 0.97, f"no measured ceilings for device '{device}'", transform=ax.transAxes, va="top")
    for w, a in zip(ws, ai):
        if w["peer_median_ms"]:
            ax.plot([a, a], [w["flops"] / (w["peer_median_ms"] * 1e6), w["gflops"]], color="#bbbbbb", lw=0.7,
                    zorder=1)
    peer_pts = [(a, w["flops"] / (w["peer_median_ms"] * 1e6)) for w, a in zip(ws, ai) if w["peer_median_ms"]]
    if peer_pts:
        peer_name = "oneDNN" if device == "cpu" else "best cuDNN"
        ax.scatter(*zip(*peer_pts), marker="x", color=PEER_COLOR, s=30, zorder=2,
                   label=f"{peer_name} (peer), same shape")
    for fam in sorted({w["family"] for w in ws}):
        pts = [(a, w["gflops"]) for w, a in zip(ws, ai) if w["family"] == fam]
        ax.scatter(*zip(*pts), color=FAMILY_COLORS.get(fam, "#333333"), edgecolor="black", lw=0.4, s=36,
                   zorder=3, label=f"winner: {fam}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / minimum bytes: input, weights, bias, output once in fp32)")
    ax.set_ylabel("achieved GFLOP/s (median)")
    ax.set_title(f"Roofline, {device}: each shape's winner and {'oneDNN' if device == 'cpu' else 'the best cuDNN'} "
                 f"({len(ws)} shapes)")
    ax.grid(which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save(fig, out, f"roofline-{device}")


def fig_families(data, out):
    """Which family wins where: kernel size against channels per group, one panel per layout."""
    ws = list(data["winners"].values())
    layouts = sorted({w["layout"] for w in ws})
    fig, axes = plt.subplots(1, len(layouts), figsize=(6.5 * len(layouts), 5.5), squeeze=False, sharey=True)
    for ax, layout in zip(axes[0], layouts):
        group = [w for w in ws if w["layout"] == layout]
        for i, w in enumerate(group):
            # shapes often share (channels per group, kernel size): a small fixed spread keeps them visible
            jitter = 1.0 + 0.06 * ((i % 5) - 2)
            ax.scatter(w["in_channels"] / w["num_groups"] * jitter, w["kernel_size"],
                       color=FAMILY_COLORS.get(w["family"], "#333333"), marker="^" if is_depthwise(w) else "o",
                       s=55, edgecolor="black", lw=0.5, alpha=0.85)
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_ticks_plain(ax.xaxis)
        ax.set_yticks(spaced_ticks(sorted({w["kernel_size"] for w in ws})))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("channels per group (in_channels / groups, log scale)")
        ax.set_title(f"{layout.upper()}: winner's family per shape")
        ax.grid(which="both", alpha=0.25)
    axes[0][0].set_ylabel("kernel size (taps, log scale)")
    fams = sorted({w["family"] for w in ws})
    handles = [plt.Line2D([], [], marker="o", ls="", color=FAMILY_COLORS.get(f, "#333333"), markersize=8)
               for f in fams]
    handles += [plt.Line2D([], [], marker="o", ls="", color="white", markeredgecolor="black", markersize=8),
                plt.Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", markersize=8)]
    fig.legend(handles=handles, labels=fams + ["dense / grouped", "depthwise (groups = in_channels)"],
               loc="lower center", ncol=len(handles), fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return save(fig, out, "families")


# --- the FFT family against direct convolution ---------------------------------------------------------

OWN_FAMILIES = ("direct", "depthwise", "winograd")  # the kernels an FFT replaces on long kernels


def sub_kernel_span(s):
    """Taps of the stride-1 sub-signal the FFT family correlates with: (kernel_size - 1) * dilation / stride + 1."""
    return (s["kernel_size"] - 1) * s["dilation"] // s["stride"] + 1


def fft_size(variant, s):
    """The transform size of an fft variant on a shape: fft_b<N>_... is N; fft_whole_... the smallest 2^a 3^b 5^c
    (a >= 1) covering the outputs and the kernel, as variants/cpu/fft.c chooses it."""
    m = re.match(r"fft_b(\d+)_", variant)
    if m:
        return int(m.group(1))
    need = max(out_length(s) + sub_kernel_span(s) - 1, 2)
    best, p5 = None, 1
    while best is None or p5 < best:
        p3 = p5
        while best is None or p3 < best:
            n = 2 * p3
            while n < need:
                n *= 2
            best = n if best is None else min(best, n)
            p3 *= 3
        p5 *= 5
    return best


def fft_flops(variant, s):
    """FFT flops of one run as the family computes it: 2.5 N log2 N per real transform (half a complex one), one
    forward per input channel and phase and one inverse per output channel in every block, and 8 flops per
    complex multiply-add of the frequency-domain sum over a group's virtual channels."""
    n = fft_size(variant, s)
    span = sub_kernel_span(s)
    blocks = -(-out_length(s) // (n - span + 1)) * s["batch"]
    g = math.gcd(s["dilation"] % s["stride"], s["stride"]) or s["stride"]
    phases = min(s["kernel_size"], s["stride"] // g)
    cv = s["in_channels"] // s["num_groups"] * phases
    transforms = (s["in_channels"] * phases + s["out_channels"]) * 2.5 * n * math.log2(n)
    return blocks * (transforms + 8.0 * (n // 2 + 1) * cv * s["out_channels"])


def fft_points(con, data):
    """Per CPU fp32 shape with an fft measurement: its span, the best fft variant and time, the best direct,
    depthwise or Winograd time (None when those were all stopped as hopeless, which bounds the ratio by the
    tuner's factor) and the fft's fraction of the FMA peak counted in FFT flops."""
    peak = data["hw"]["fma_gflops_all"]
    pts = []
    for w in data["winners"].values():
        if w["device"] != "cpu" or w["precision"] != "fp32":
            continue
        fft = [v for v in w["variants"] if v["family"] == "fft"]
        if not fft:
            continue
        best = min(fft, key=lambda v: v["median_ms"])
        own = [v["median_ms"] for v in w["variants"] if v["family"] in OWN_FAMILIES]
        stopped = con.execute(
            "SELECT count(*) FROM measurements WHERE run_id IS ? AND shape_id = ? AND build_id = ? AND device = 'cpu' "
            "AND family IN ('direct', 'depthwise', 'winograd') AND status = 'timeout' AND message LIKE '%cannot win%'",
            (w["run_id"], w["shape_id"], w["build_id"])).fetchone()[0]
        gflops = fft_flops(best["variant"], w) / (best["median_ms"] * 1e6)
        pts.append({"w": w, "span": sub_kernel_span(w), "fft": best, "own_ms": min(own) if own else None,
                    "stopped": stopped, "peak_frac": gflops / peak if peak else None})
    return pts


def fig_fft(con, data, out):
    """Left: the best direct/depthwise/Winograd time over the best FFT time against the sub-kernel span, per shape
    kind and layout. Right: the FFT variants' FFT-flop rate as a fraction of the machine's FMA peak."""
    pts = fft_points(con, data)
    if not pts:
        return None
    kinds = {"dense": "o", "grouped": "s", "depthwise": "^"}

    def kind(w):
        return "depthwise" if is_depthwise(w) else "dense" if w["num_groups"] == 1 else "grouped"

    colors = {"nwc": "#1f77b4", "ncw": "#d62728"}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.5))
    for p in pts:
        w = p["w"]
        if p["own_ms"] is not None:
            ax.scatter(p["span"], p["own_ms"] / p["fft"]["median_ms"], marker=kinds[kind(w)], s=55,
                       color=colors.get(w["layout"], "#333333"), edgecolor="black", lw=0.5, zorder=3)
        elif p["stopped"]:
            # every direct/depthwise kernel was stopped for running past 10x the fastest: at least that
            ax.scatter(p["span"], 10.0, marker=kinds[kind(w)], s=55, facecolor="none",
                       edgecolor=colors.get(w["layout"], "#333333"), lw=1.2, zorder=3)
            ax.annotate("", xy=(p["span"], 16.0), xytext=(p["span"], 10.5),
                        arrowprops={"arrowstyle": "->", "color": colors.get(w["layout"], "#333333")})
        if p["peak_frac"] is not None:
            bx.scatter(p["span"], 100.0 * p["peak_frac"], marker=kinds[kind(w)], s=55,
                       color=colors.get(w["layout"], "#333333"), edgecolor="black", lw=0.5, zorder=3)
    ax.axhline(1.0, color="black", lw=1)
    ratios = [p["own_ms"] / p["fft"]["median_ms"] for p in pts if p["own_ms"] is not None]
    ratios += [16.0 for p in pts if p["own_ms"] is None and p["stopped"]]
    ax.set_ylim(min(ratios + [1.0]) / 1.5, max(ratios + [1.0]) * 1.5)
    bx.set_ylim(bottom=0)
    for a in (ax, bx):
        a.set_xscale("log")
        log_ticks_plain(a.xaxis)
        a.set_xlabel("sub-kernel span: (kernel_size - 1) * dilation / stride + 1 taps (log scale)")
        a.grid(which="both", alpha=0.25)
    ax.set_yscale("log")
    log_ticks_plain(ax.yaxis)
    ax.set_ylabel("best direct / depthwise / Winograd time over best FFT time")
    ax.set_title("Where the FFT family wins (above the line)")
    bx.set_ylabel("% of the FMA peak, counted in FFT flops")
    bx.set_title(f"FFT variants' FFT-flop rate ({data['hw']['fma_gflops_all'] or 0:.0f} GFLOP/s peak)")
    handles = [plt.Line2D([], [], marker=m, ls="", color="white", markeredgecolor="black", markersize=8)
               for m in kinds.values()]
    handles += [plt.Line2D([], [], marker="o", ls="", color=c, markersize=8) for c in colors.values()]
    fig.legend(handles=handles, labels=list(kinds) + [l.upper() for l in colors], loc="lower center",
               ncol=len(handles), fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return save(fig, out, "fft")


def spaced_ticks(values, gap=1.12):
    """The values, less any within a factor `gap` of the previous tick (their labels would collide)."""
    ticks = []
    for v in values:
        if not ticks or v >= ticks[-1] * gap:
            ticks.append(v)
    return ticks


def shape_rows(con, hardware_id):
    return {r["id"]: dict(r) for r in con.execute(
        "SELECT * FROM shapes WHERE id IN (SELECT DISTINCT shape_id FROM measurements WHERE hardware_id = ?)",
        (hardware_id,))}


def fig_tuning_cost(con, data, out, shapes):
    """Wall time spent per shape and run (sum of measurements.wall_s), sorted."""
    rows = con.execute("SELECT shape_id, run_id, sum(wall_s) AS wall FROM measurements WHERE hardware_id = ? "
                       "GROUP BY shape_id, run_id HAVING wall > 0 ORDER BY wall", (data["hw"]["id"],)).fetchall()
    if not rows:
        return None
    run_ids = sorted({r["run_id"] for r in rows})
    many = len(run_ids) > 1
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.19 * len(rows)))
    y = np.arange(len(rows))
    cmap = plt.get_cmap("tab10")
    ax.barh(y, [r["wall"] for r in rows], color=[cmap(run_ids.index(r["run_id"]) % 10) for r in rows])
    ax.set_yticks(y, [shape_label(shapes[r["shape_id"]]) + (f" (run {r['run_id']})" if many else "")
                      for r in rows], fontsize=7.5)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("wall time spent measuring (s, sum of measurements.wall_s)")
    total = sum(r["wall"] for r in rows)
    ax.set_title(f"Tuning cost per shape and run: {total:.0f} s in all over {len(rows)} shape-runs")
    if many:
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=cmap(i % 10)) for i in range(len(run_ids))],
                  labels=[f"run {i}" for i in run_ids], fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "tuning-cost")


def run_strategy(args):
    """The strategy named in a run's arguments ("auto" when none is given)."""
    words = args.replace("=", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "--strategy":
            return words[i + 1]
    return "auto"


def strategy_pairs(con, data):
    """(shape, budgeted run, exhaustive run) triples on this machine, with how the budgeted pick fared.

    The comparison is made inside the exhaustive run: the budgeted pick's median there over the exhaustive
    pick's, so machine drift between the runs does not count. "auto" runs count as exhaustive for a shape
    with at most 16 candidates (the tuner's own rule)."""
    hw_id = data["hw"]["id"]
    strategies = {r["id"]: run_strategy(r["args"]) for r in data["runs"]}
    per = defaultdict(dict)  # (shape, device, precision) -> run -> {variant: median}
    candidates = defaultdict(int)
    for r in con.execute("SELECT run_id, shape_id, device, precision, variant, status, median_ms FROM measurements "
                         "WHERE hardware_id = ?", (hw_id,)):
        key = (r["shape_id"], r["device"], r["precision"])
        if r["status"] != "unsupported":
            candidates[(key, r["run_id"])] += 1
        if r["status"] == "ok" and r["median_ms"]:
            per[key].setdefault(r["run_id"], {})[r["variant"]] = r["median_ms"]
    pairs = []
    for key, runs in per.items():
        budgeted = [rid for rid in runs if strategies.get(rid) in ("random", "halving")]
        exhaustive = [rid for rid in runs if strategies.get(rid) == "exhaustive"
                      or (strategies.get(rid) == "auto" and candidates[(key, rid)] <= 16)]
        if not exhaustive:
            continue
        ref = runs[max(exhaustive)]  # the newest exhaustive run of this shape
        best_variant = min(ref, key=ref.get)
        for rid in budgeted:
            pick = min(runs[rid], key=runs[rid].get)
            ratio = (ref[pick] if pick in ref else runs[rid][pick]) / ref[best_variant]
            pairs.append({"shape_id": key[0], "device": key[1], "run": rid, "strategy": strategies[rid],
                          "pick": pick, "best": best_variant, "ratio": ratio})
    return pairs


def fig_strategy(pairs, out, shapes):
    pairs = sorted(pairs, key=lambda p: p["ratio"])
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.22 * len(pairs)))
    y = np.arange(len(pairs))
    ax.barh(y, [p["ratio"] for p in pairs],
            color=["#2ca02c" if p["pick"] == p["best"] else "#ff7f0e" for p in pairs])
    ax.set_yticks(y, [f"{shape_label(shapes[p['shape_id']])} ({p['strategy']}, run {p['run']})" for p in pairs],
                  fontsize=7.5)
    ax.set_ylim(-0.6, len(pairs) - 0.4)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlim(left=min(0.95, min(p["ratio"] for p in pairs) * 0.98))
    same = sum(p["pick"] == p["best"] for p in pairs)
    ax.set_xlabel("budgeted pick's median / exhaustive pick's median (x, both timed in the exhaustive run)")
    ax.set_title(f"Budgeted search vs exhaustive: same winner on {same} of {len(pairs)} shapes")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#2ca02c", "#ff7f0e")],
              labels=["same variant as exhaustive", "another variant"], fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "strategy")


def dispatcher_quality(args):
    """The cross-validation of scripts/fallback_quality.py, with and without the time models; None when the
    tool is missing or the database has too few measured shapes."""
    if not args.tool or not os.access(args.tool, os.X_OK):
        return None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fallback_quality as fq  # noqa: E402  (a sibling script)
    rows = fq.cross_validate(args.db, args.tool, hold_out=0.5, seed=1)
    base = fq.cross_validate(args.db, args.tool, hold_out=0.5, seed=1, use_models=False)
    ratios = [r[6] for r in rows if r[6] is not None]
    if len(ratios) < 2:
        return None
    return {"models": ratios, "nearest": [r[6] for r in base if r[6] is not None],
            "summary": fq.summary(rows, "time models"), "summary_nearest": fq.summary(base, "without models")}


def fig_dispatcher(q, out):
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for key, label, color in (("models", "tuned shapes nearby, time models, rules", "#1f77b4"),
                              ("nearest", "tuned shapes nearby, rules (no models)", "#ff7f0e")):
        xs = sorted(q[key])
        if not xs:
            continue
        ax.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post", color=color, label=label)
    ax.axvline(1.1, color="black", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("pick's median / fastest variant's median on the held-out shape (same sweep)")
    ax.set_ylabel("fraction of held-out shapes")
    within = sum(r <= 1.1 for r in q["models"]) / len(q["models"])
    ax.set_title(f"Shapes nobody tuned: {within:.0%} of picks within 1.1x of the best")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "dispatcher")


def compare_baseline(data, base):
    """Matches winners by shape key, device and precision (the machine is the same fingerprint)."""
    rows = []
    for k, w in data["winners"].items():
        b = base["winners"].get(k)
        if b is None:
            continue
        change = w["median_ms"] / b["median_ms"] - 1.0
        overlap = not ((w["p10_ms"] or w["median_ms"]) > (b["p90_ms"] or b["median_ms"])
                       or (w["p90_ms"] or w["median_ms"]) < (b["p10_ms"] or b["median_ms"]))
        verdict = "noise" if overlap or abs(change) <= NOISE_THRESHOLD else ("regression" if change > 0
                                                                            else "improvement")
        rows.append({"label": w["label"], "key": k, "now": w, "base": b, "change": change, "verdict": verdict})
    return sorted(rows, key=lambda r: r["change"])


VERDICT_COLORS = {"regression": "#d62728", "improvement": "#2ca02c", "noise": "#aaaaaa"}


def fig_baseline(rows, out):
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.19 * len(rows)))
    y = np.arange(len(rows))
    ratio = np.array([1.0 + r["change"] for r in rows])
    # bars grow from 1 (no change) to the ratio on a log axis, so 2x slower and 2x faster look alike in size
    colors = [VERDICT_COLORS[r["verdict"]] for r in rows]
    ax.barh(y, ratio - 1.0, left=1.0, color=colors)
    ax.scatter(ratio, y, marker="|", s=60, color=colors, zorder=3)  # visible even where the bar has no length
    ax.set_xscale("log")
    log_ticks_plain(ax.xaxis, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0))
    ax.axvline(1.0, color="black", lw=0.8)
    span = max(1.2, float(np.max(np.maximum(ratio, 1 / ratio))) * 1.15)
    ax.set_xlim(1 / span, span)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=7.5)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("winner's median, this DB / baseline (x, log scale; < 1 is faster)")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICT_COLORS}
    ax.set_title(f"Change against the baseline over {len(rows)} matched shapes")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in VERDICT_COLORS.values()],
              labels=[f"{v} ({counts[v]})" for v in VERDICT_COLORS], fontsize=8, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "baseline")


# --- outputs ------------------------------------------------------------------------------------------

CSV_COLUMNS = ["shape", "device", "precision", "variant", "family", "median_ms", "p10_ms", "p90_ms", "gflops",
               "peer", "peer_ms", "speedup"]


def fmt(x):
    return "" if x is None else f"{x:.6g}"


def write_csv(data, out):
    torch = data.get("torch")
    with open(os.path.join(out, "winners.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(CSV_COLUMNS + (["vs_torch", "vs_torch_variant"] if torch else []))
        for w in sorted_winners(data):
            wr.writerow([w["key"], w["device"], w["precision"], w["variant"], w["family"], fmt(w["median_ms"]),
                         fmt(w["p10_ms"]), fmt(w["p90_ms"]), fmt(w["gflops"]), w["peer_variant"] or "",
                         fmt(w["peer_median_ms"]), fmt(w["speedup"])]
                        + ([fmt(w["vs_torch"]), w["vs_torch_variant"]] if torch else []))


def figure_html(name, title, how_to_read):
    return (f'<section id="{name}"><h2>{html.escape(title)}</h2><p>{how_to_read}</p>'
            f'<a href="{name}.svg"><img src="{name}.png" alt="{html.escape(title)}"></a></section>')


def winners_table(data):
    torch = data.get("torch")
    head = "".join(f"<th>{c}</th>" for c in ("shape", "device", "precision", "variant", "family", "median ms",
                                             "p10 ms", "p90 ms", "GFLOP/s", "peer", "peer ms", "speedup")
                   + (("vs PyTorch",) if torch else ()))
    body = []
    for w in sorted_winners(data):
        cells = [f'<td title="{html.escape(w["key"])}">{html.escape(w["label"])}</td>'] + [
            f"<td>{html.escape(str(v))}</td>" for v in (
                w["device"], w["precision"], w["variant"] + (" (tie)" if w["tie"] else ""), w["family"],
                fmt(w["median_ms"]), fmt(w["p10_ms"]), fmt(w["p90_ms"]), f"{w['gflops']:.1f}",
                w["peer_variant"] or "-", fmt(w["peer_median_ms"]) or "-",
                f"{w['speedup']:.2f}x" if w["speedup"] else "-")]
        if torch:
            other = f" ({w['vs_torch_variant']})" if w["vs_torch"] and w["vs_torch_variant"] != w["variant"] else ""
            ratio = f"{w['vs_torch']:.2f}x{other}" if w["vs_torch"] else "-"
            cells.append(f"<td>{html.escape(ratio)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


CSS = """body{font-family:sans-serif;max-width:1500px;margin:1em auto;padding:0 1em;color:#222}
img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}
th{background:#eee}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}
section{margin:2em 0}"""


def write_html(data, out, sections, args):
    hw = data["hw"]
    try:
        record = json.loads(hw["record"])
    except (TypeError, ValueError):
        record = {}
    cpu = record.get("cpu", {})
    cpu_text = " ".join(str(x) for x in (cpu.get("vendor"), cpu.get("model")) if x) or "unknown"
    if "family" in cpu:
        cpu_text += f" (family {cpu.get('family')}, model {cpu.get('model_number')}, {cpu.get('cores')} cores, " \
                    f"{cpu.get('pus')} hardware threads)"

    def num(x, unit):
        return f"{x:.1f} {unit}" if x else "not measured"
    facts = [
        ("machine fingerprint", hw["fingerprint"]),
        ("CPU", cpu_text),
        ("fp32 FMA peak", f"{num(hw['fma_gflops_all'], 'GFLOP/s')} all cores, "
                          f"{num(hw['fma_gflops_1core'], 'GFLOP/s')} one core"),
        ("copy bandwidth", f"{num(hw['copy_gbs_all'], 'GB/s')} all cores, {num(hw['copy_gbs_1core'], 'GB/s')} one core"),
    ]
    for b in data["builds"]:
        facts.append(("build", f"libconv1d {b['version']}, signature {b['signature']}, {b['compiler']}, "
                               f"oneDNN {b['onednn'] or 'none'}"))
    if data["runs"]:
        facts.append(("runs", f"{len(data['runs'])}, from {data['runs'][0]['started']} to "
                              f"{data['runs'][-1]['ended'] or data['runs'][-1]['started']}"))
    facts.append(("database", os.path.basename(args.db) + (f" (baseline {os.path.basename(args.baseline)})"
                                                            if args.baseline else "")))
    facts.append(("report made", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>conv1d-tune report {html.escape(hw['fingerprint'])}</title><style>{CSS}</style></head><body>"
            f"<h1>conv1d-tune performance report</h1><dl>{dl}</dl>"
            f"<p>{len(data['winners'])} shape-layout pairs: the newest non-stale winner of each on this machine. "
            f"Every figure links to its SVG; <a href=\"winners.csv\">winners.csv</a> holds the table below.</p>"
            + "".join(sections) +
            f"<section id=\"winners\"><h2>Winners</h2><p>One row per shape, device and precision class; hover a "
            f"shape for its full descriptor. GFLOP/s counts a multiply-add as two FLOPs; the speedup is the peer's "
            f"median over the winner's, both from the same run; the peer is oneDNN for CPU rows and the fastest cuDNN "
            f"algorithm of the row's precision class for CUDA rows.</p>{winners_table(data)}</section></body></html>\n")
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(page)


def torch_section(data):
    t = data["torch"]
    ratios = [w["vs_torch"] for w in data["winners"].values() if w.get("vs_torch")]
    gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else None
    what = (f"geometric mean {gm:.2f}x over {len(ratios)} shapes, from {min(ratios):.2f}x to {max(ratios):.2f}x"
            if ratios else "no shape of this report is in it")
    return (f"<section id=\"torch\"><h2>Against PyTorch</h2><p>The <i>vs PyTorch</i> column of the winners table "
            f"comes from {html.escape(os.path.basename(t['path']))} ({html.escape(', '.join(t['versions']))}), "
            f"written by <code>scripts/vs_torch.py</code> (<code>make bench</code>): in one process, with the same "
            f"inputs and thread count, timed in alternating blocks, <code>torch.nn.functional.conv1d</code>'s "
            f"median over that of the plan libconv1d dispatched to (named in brackets where it is not this "
            f"report's winner): {what}.</p></section>")


def make_report(args):
    con = open_db(args.db)
    data = load(con, args.db, args.machine)
    if args.torch:
        load_torch(args.torch, data)
    base = None
    if args.baseline:
        bcon = open_db(args.baseline)
        brow = bcon.execute("SELECT id FROM hardware WHERE fingerprint = ?", (data["hw"]["fingerprint"],)).fetchone()
        if brow is None:
            raise ReportError(f"baseline {args.baseline} has no results for machine {data['hw']['fingerprint']}")
        base = {"winners": newest_winners(bcon, brow["id"])}
    os.makedirs(args.out, exist_ok=True)
    shapes = shape_rows(con, data["hw"]["id"])
    sections = []

    pages = fig_variants(data, args.out)
    sections += [figure_html(n, f"Every variant per shape ({i} of {len(pages)})",
                             "One panel per shape (label: channels in/out, kernel, stride, dilation, groups or "
                             "<i>dw</i> for depthwise, padding, length, layout), fastest variant at the top. The bar "
                             "is the median GFLOP/s, the whisker the p10-p90 range; blue (and *) is the winner, "
                             "orange is the peer: oneDNN for CPU shapes, the fastest cuDNN algorithm of the same "
                             "precision class for CUDA shapes.") for i, n in enumerate(pages, 1)]
    sp = fig_speedup(data, args.out)
    if sp:
        sections.append(figure_html(sp[0], "Speedup over the peer",
                                    f"Each bar is one shape: the peer's median time over the winner's (the peer "
                                    f"is oneDNN for CPU rows, the fastest cuDNN algorithm of the same precision "
                                    f"class for CUDA rows), "
                                    f"from the same run, on a log scale; right of the black line the winner is "
                                    f"faster. The dashed line is the geometric mean, {sp[1]:.2f}x."))
    else:
        sections.append("<section><h2>Speedup over the peer</h2><p>No winner has a peer (oneDNN, or cuDNN on CUDA) "
                        "measurement, so "
                        "there is no speedup to show.</p></section>")
    if data.get("torch"):
        sections.append(torch_section(data))
    for device in sorted({w["device"] for w in data["winners"].values()}):
        sections.append(figure_html(
            fig_roofline(data, args.out, device), f"Roofline ({device})",
            "Each dot is a shape's winner at its arithmetic intensity (FLOPs over the bytes of every tensor moved "
            "once) and its achieved GFLOP/s; the cross on the grey line is the peer (oneDNN; the best cuDNN "
            "algorithm on CUDA) on the same shape. The "
            "black lines are this machine's measured ceilings: a dot near the sloped part is memory-bound, near "
            "the flat part compute-bound."))
    sections.append(figure_html(
        fig_families(data, args.out), "Which family wins where",
        "Each marker is a shape placed by its channels per group and kernel size, coloured by the winner's "
        "family; triangles are depthwise layers. Markers are spread slightly where shapes coincide."))
    ff = fig_fft(con, data, args.out)
    if ff:
        sections.append(figure_html(
            ff, "FFT family against direct convolution",
            "Left: per shape where an FFT variant was measured, the best direct, depthwise or Winograd median over "
            "the best FFT median, against the span of the kernel on the stride-1 sub-signal the FFT correlates "
            "with; above the line the FFT wins. Hollow markers with an arrow: every direct and depthwise kernel "
            "was stopped for running past 10x the fastest candidate, so the ratio is at least 10. Right: the best "
            "FFT variant's rate counted in FFT flops (2.5 N log2 N per real transform, 8 per complex "
            "multiply-add), as a share of the machine's measured FMA peak. Markers: circles dense, squares "
            "grouped, triangles depthwise."))
    else:
        sections.append("<section id=\"fft\"><h2>FFT family against direct convolution</h2><p>No shape has an "
                        "FFT measurement (the family takes kernels spanning 8 or more taps), so there is nothing "
                        "to compare.</p></section>")
    tc = fig_tuning_cost(con, data, args.out, shapes)
    if tc:
        sections.append(figure_html(tc, "Tuning cost",
                                    "The wall time each shape's measurements took (checking and timing every "
                                    "variant), per run, sorted; the title gives the total."))
    pairs = strategy_pairs(con, data)
    if pairs:
        sections.append(figure_html(
            fig_strategy(pairs, args.out, shapes), "Budgeted search against exhaustive search",
            "For each shape that a budgeted strategy (random or halving) and an exhaustive run both tuned: the "
            "budgeted pick's median over the exhaustive pick's, both as timed in the exhaustive run. 1.0 (green) "
            "means the same variant was chosen."))
    else:
        sections.append("<section id=\"strategy\"><h2>Budgeted search against exhaustive search</h2><p>No shape "
                        "was tuned both by a budgeted strategy (<code>--strategy random</code> or "
                        "<code>halving</code>) and by an exhaustive run on this machine, so there is nothing to "
                        "compare.</p></section>")
    q = dispatcher_quality(args)
    if q:
        sections.append(figure_html(
            fig_dispatcher(q, args.out), "The dispatcher on shapes nobody tuned",
            "Half of the measured suite lines (both layouts) are held out, the time models are refitted without "
            "them, and the dispatcher picks a variant for each held-out shape (scripts/fallback_quality.py). "
            "The curves are the distribution of the pick's median over the fastest variant's, both from the "
            "same sweep, with the time models and without them (tuned shapes nearby, then rules); left of the "
            f"dashed line the pick is within 1.1x of the best. {html.escape(q['summary'])}. "
            f"{html.escape(q['summary_nearest'])}."))
    else:
        sections.append("<section id=\"dispatcher\"><h2>The dispatcher on shapes nobody tuned</h2><p>Not "
                        "measured: it needs <code>conv1d-tune</code> (<code>--tool</code>) and a database with "
                        "several measured shapes.</p></section>")
    if base is not None:
        rows = compare_baseline(data, base)
        if rows:
            sections.append(figure_html(
                fig_baseline(rows, args.out), "Change against the baseline",
                f"Each bar is a shape matched in both databases (machine, shape, device, precision): this "
                f"database's winner median over the baseline's. Red is a regression, green an improvement: the "
                f"p10-p90 ranges do not overlap and the change exceeds {NOISE_THRESHOLD:.0%}; grey is within the "
                f"noise."))
        else:
            sections.append("<section id=\"baseline\"><h2>Change against the baseline</h2><p>No shape of this "
                            "database has a winner in the baseline for this machine.</p></section>")
    write_csv(data, args.out)
    write_html(data, args.out, sections, args)
    return len(data["winners"])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="report.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="results database written by conv1d-tune sweep")
    ap.add_argument("--out", required=True, help="folder for index.html, the figures and winners.csv")
    ap.add_argument("--baseline", help="an older results database to compare the winners' medians against")
    ap.add_argument("--machine", help="hardware fingerprint (or a unique prefix); default: the newest run's")
    ap.add_argument("--tool", default=os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune"),
                    help="conv1d-tune, for the dispatcher's cross-validation (default: $CONV1D_TUNE, else "
                         "build/bin/conv1d-tune)")
    ap.add_argument("--torch", help="a scripts/vs_torch.py CSV: adds each shape's ratio over PyTorch's F.conv1d")
    args = ap.parse_args(argv)
    try:
        n = make_report(args)
    except ReportError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as e:
        print(f"{PROG}: cannot read the database: {e}", file=sys.stderr)
        return 2
    print(f"{PROG}: {n} winners -> {os.path.join(args.out, 'index.html')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
