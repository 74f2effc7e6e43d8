#!/usr/bin/env python3
"""How well does one sweep agree with another of the same shapes? The noise floor of any dispatcher judged by one
sweep's times.

    scripts/sweep_agreement.py A.db B.db

For every shape both databases measured (the CPU fp32 measurements of each one's most measured machine and build,
as scripts/fallback_quality.py reads them), the fastest variant of one sweep is looked up in the other and its
time there divided by that sweep's fastest, both ways. Prints the comparisons above 1.1x, then the fraction within
1.1x, the p90 and the worst. Run `conv1d-tune sweep` twice on the same suite into two files, minutes apart.
"""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fallback_quality as fq  # noqa: E402


def open_ro(path):
    return sqlite3.connect("file:" + path + "?mode=ro", uri=True)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sweep_agreement.py A.db B.db")
    a, _ = fq.measured(open_ro(sys.argv[1]))
    b, _ = fq.measured(open_ro(sys.argv[2]))
    ratios = []
    print(f"{'a in b':>6} {'b in a':>6}  {'winner of a':24} {'winner of b':24} shape")
    for key in sorted(set(a) & set(b)):
        ta, tb = a[key]["times"], b[key]["times"]
        wa, wb = min(ta, key=ta.get), min(tb, key=tb.get)
        r_ab = tb.get(wa, float("inf")) / tb[wb]  # a's winner, timed by b
        r_ba = ta.get(wb, float("inf")) / ta[wa]
        ratios += [r_ab, r_ba]
        if r_ab > 1.1 or r_ba > 1.1:
            print(f"{r_ab:6.2f} {r_ba:6.2f}  {wa:24} {wb:24} {key}")
    if not ratios:
        sys.exit("no shape measured in both databases")
    within = sum(r <= 1.1 for r in ratios) / len(ratios)
    print(f"winner of one sweep, timed in the other: {len(ratios)} comparisons, within 1.1x {within:.0%}, "
          f"p90 {fq.percentile(ratios, 90):.2f}x, worst {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
