/* The one verdict (verdict.h): statistics, the winner and the peer of a shape's measurements. */
#include "verdict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default "linear" method). */
static double quantile(const double *sorted, int n, double q)
{
    const double pos = q * (n - 1);
    const int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

c1_stats c1_stats_compute(double *s, int n)
{
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    c1_stats st = {.n = n, .median = quantile(s, n, 0.5), .p10 = quantile(s, n, 0.1), .p90 = quantile(s, n, 0.9)};
    /* The median's 95% interval from the binomial(n, 1/2) order statistics: ranks n/2 -+ 0.98 sqrt(n). */
    const double half = 0.98 * sqrt((double)n);
    int lo = (int)floor(n / 2.0 - half), hi = (int)ceil(n / 2.0 + half);
    if (lo < 0) lo = 0;
    if (hi > n - 1) hi = n - 1;
    st.ci_lo = s[lo];
    st.ci_hi = s[hi];
    return st;
}

int c1_family_rank(const char *family)
{
    /* Documented order (README): our own kernels before library calls, plain before transformed. */
    static const char *const order[] = {"ref",        "direct",    "depthwise",      "winograd", "fft",
                                        "cuda_tiled", "cuda_smem", "cuda_depthwise", "cuda_tc",  "onednn",
                                        "cudnn"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (strcmp(family, order[i]) == 0) return (int)i;
    return (int)(sizeof order / sizeof order[0]);
}

/* Two timings are a tie when their medians' 95% intervals overlap and the medians are within
 * C1_TIE_TOLERANCE of each other: overlap alone is too generous when a noisy machine and a short budget
 * make the intervals wide. */
static bool tied(const c1_stats *a, const c1_stats *fastest)
{
    return a->ci_lo <= fastest->ci_hi && fastest->ci_lo <= a->ci_hi &&
           a->median <= fastest->median * (1 + C1_TIE_TOLERANCE);
}

int c1_verdict_winner(const c1_timing *t, int n, c1_precision prec, bool *tie)
{
    int fastest = -1;
    for (int i = 0; i < n; i++)
        if (t[i].ok && t[i].precision == prec && (fastest < 0 || t[i].time_ms.median < t[fastest].time_ms.median))
            fastest = i;
    *tie = false;
    if (fastest < 0) return -1;
    int best = fastest;
    for (int i = 0; i < n; i++) {
        if (i == fastest || !t[i].ok || t[i].precision != prec) continue;
        if (!tied(&t[i].time_ms, &t[fastest].time_ms)) continue;
        *tie = true;
        const int ri = c1_family_rank(t[i].family), rb = c1_family_rank(t[best].family);
        if (ri < rb || (ri == rb && t[i].rel_err < t[best].rel_err)) best = i;
    }
    return best;
}

const char *c1_cpu_peer_name(c1_precision prec)
{
    switch (prec) {
    case C1_PREC_FP32: return C1_CPU_PEER;
    case C1_PREC_BF16: return C1_CPU_PEER "_bf16";
    case C1_PREC_F16: return C1_CPU_PEER "_f16";
    case C1_PREC_TF32: break;
    }
    return NULL;
}

int c1_verdict_peer(const c1_timing *t, int n, bool cuda, c1_precision prec)
{
    const char *cpu_peer = c1_cpu_peer_name(prec);
    int peer = -1;
    for (int i = 0; i < n; i++) {
        if (!t[i].ok || t[i].precision != prec || t[i].cuda != cuda) continue;
        const bool is_peer =
            cuda ? strcmp(t[i].family, C1_CUDA_PEER_FAMILY) == 0 : cpu_peer && strcmp(t[i].name, cpu_peer) == 0;
        if (is_peer && (peer < 0 || t[i].time_ms.median < t[peer].time_ms.median)) peer = i;
    }
    return peer;
}
