#!/usr/bin/env python3
"""Which whole-sequence FFT size rule wastes least time, from sizes.txt (fft_sizes.c: microseconds of one
FFTW_MEASURE r2c + c2r pair of each even 2^a 3^b 5^c size, best of 5 blocks of calls, one thread).

For 3000 spans drawn log-uniformly from 300 to a little under half the largest size measured, each rule's size
is timed against the fastest measured size from the span to 4x the span. Rules: A, the smallest 2^a 3^b 5^c; B,
odd part 1, 3 or 5; B9, odd part 1, 3, 5 or 9 (what c1_fft_good_size takes); B15, odd part 1, 3, 5, 9 or 15; P,
powers of two. Prints mean, median, p90 and worst of the ratio, then the worst spans of A and B9."""
import math
import os
import random

t = {}
for line in open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sizes.txt")):
    n, us = line.split()
    t[int(n)] = float(us)
ns = sorted(t)
ODD = {"A": None, "B": (1, 3, 5), "B9": (1, 3, 5, 9), "B15": (1, 3, 5, 9, 15), "P": (1,)}


def allowed(n, rule):
    m = n
    while m % 2 == 0:
        m //= 2
    return ODD[rule] is None or m in ODD[rule]


def pick(span, rule):
    return next(n for n in ns if n >= span and allowed(n, rule))


random.seed(1)
spans = [int(math.exp(random.uniform(math.log(300), math.log(ns[-1] / 2.1)))) for _ in range(3000)]
best = {s: min(t[n] for n in ns if s <= n <= 4 * s) for s in spans}
for rule in ODD:
    r = sorted(t[pick(s, rule)] / best[s] for s in spans)
    print("%-4s mean %.3f p50 %.3f p90 %.3f worst %.3f" % (rule, sum(r) / len(r), r[len(r) // 2],
                                                        r[int(0.9 * len(r))], r[-1]))
for rule in ("A", "B9"):
    bad = sorted({(s, pick(s, rule)) for s in spans if t[pick(s, rule)] / best[s] > 1.4})
    print("\n%s: %d of the drawn spans over 1.4x, for example" % (rule, len(bad)))
    for s, n in bad[:: max(1, len(bad) // 8)]:
        b = min((m for m in ns if s <= m <= 4 * s), key=lambda m: t[m])
        print("  span %6d: %6d takes %7.1f us, %6d %7.1f us" % (s, n, t[n], b, t[b]))
