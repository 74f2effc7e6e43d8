/*
 * verdict.h: the one rule that says which measured variant wins a shape and which one is its peer, used by
 * the sweep, `bench`, and the library's CONV1D_MODE_MEASURE alike, and the statistics it reads.
 *
 * The winner of a precision class is the fastest correct median; among the candidates tied with it (their
 * medians' 95% intervals overlap and the medians are within C1_TIE_TOLERANCE), the simplest family wins,
 * then the smallest error. The peer of a class is what a user would otherwise call: oneDNN on the CPU (the
 * variant c1_cpu_peer_name names for the class: onednn, onednn_bf16, onednn_f16), the fastest correct cuDNN
 * variant of the class (family C1_CUDA_PEER_FAMILY) on CUDA.
 */
#ifndef CONV1D_CORE_VERDICT_H
#define CONV1D_CORE_VERDICT_H

#include <stdbool.h>

#include "precision.h"

#define C1_CPU_PEER "onednn" /* the fp32 class's; c1_cpu_peer_name for any class */
#define C1_CUDA_PEER_FAMILY "cudnn"

/* Largest relative gap between two medians that can still be a tie. */
#define C1_TIE_TOLERANCE 0.03

typedef struct c1_stats {
    double median, p10, p90;
    double ci_lo, ci_hi; /* distribution-free 95% confidence interval of the median */
    int n;
} c1_stats;

/* Sorts s in place and fills the statistics; n >= 1. */
c1_stats c1_stats_compute(double *s, int n);

/* One candidate as the verdict sees it. */
typedef struct c1_timing {
    const char *name, *family;
    bool cuda;             /* a CUDA variant (its peer is cuDNN) */
    c1_precision precision;
    bool ok;               /* measured, correct and timed */
    c1_stats time_ms;
    double rel_err;        /* max error against the reference, the tie's last word */
} c1_timing;

/* Families from simplest to most machinery; a tie goes to the simpler. */
int c1_family_rank(const char *family);

/* The winner among the ok timings of class prec, by the rule above: its index, or -1 when none is ok.
 * *tie tells whether any candidate tied with the fastest. */
int c1_verdict_winner(const c1_timing *t, int n, c1_precision prec, bool *tie);

/* The CPU peer's variant name for class prec ("onednn", "onednn_bf16", "onednn_f16"), or NULL (tf32). */
const char *c1_cpu_peer_name(c1_precision prec);

/* The peer of class prec among the ok timings of one device (cuda false: the CPU): its index, or -1. */
int c1_verdict_peer(const c1_timing *t, int n, bool cuda, c1_precision prec);

#endif
