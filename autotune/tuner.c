/* Search strategies and winner choice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "error.h"
#include "tuner.h"

static const char *const strategy_names[] = {"auto", "exhaustive", "random", "halving"};

bool c1_strategy_parse(const char *name, c1_strategy *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, strategy_names[i]) == 0) {
            *out = (c1_strategy)i;
            return true;
        }
    return false;
}

const char *c1_strategy_name(c1_strategy s) { return (unsigned)s < 4 ? strategy_names[s] : "unknown"; }

c1_timing c1_candidate_timing(const c1_candidate *c)
{
    return (c1_timing){.name = c->v->name,
                       .family = c->v->family,
                       .cuda = c->v->device == C1_DEVICE_CUDA,
                       .precision = c->v->precision,
                       .ok = c->measured && c->m.outcome == C1_OUTCOME_OK,
                       .time_ms = c->m.time_ms,
                       .rel_err = c->m.error.rel_max};
}

int c1_choose_winner(const c1_candidate *c, int n, c1_precision prec, bool *tie)
{
    c1_timing *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
    if (!t) {
        *tie = false;
        return -1;
    }
    for (int i = 0; i < n; i++) t[i] = c1_candidate_timing(&c[i]);
    const int w = c1_verdict_winner(t, n, prec, tie);
    free(t);
    return w;
}

int c1_find_peer(const c1_candidate *c, int n, c1_device device, c1_precision prec)
{
    c1_timing *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < n; i++) t[i] = c1_candidate_timing(&c[i]);
    const int p = c1_verdict_peer(t, n, device == C1_DEVICE_CUDA, prec);
    free(t);
    return p;
}

static conv1d_status measure_one(c1_candidate *c, const c1_problem *p, const c1_measure_opts *base, double budget_s)
{
    c1_measure_opts o = *base;
    o.budget_s = budget_s;
    conv1d_status rc = c1_measure(c->v, p, &o, &c->m);
    c->measured = rc == CONV1D_OK;
    return rc;
}

static int by_median(const void *a, const void *b)
{
    const c1_candidate *x = *(c1_candidate *const *)a, *y = *(c1_candidate *const *)b;
    const double mx = x->m.outcome == C1_OUTCOME_OK ? x->m.time_ms.median : INFINITY;
    const double my = y->m.outcome == C1_OUTCOME_OK ? y->m.time_ms.median : INFINITY;
    return (mx > my) - (mx < my);
}

/* The smallest timing slice worth a child process: a few samples of most kernels. */
#define MIN_SLICE_S 0.02

conv1d_status c1_tune_shape(c1_candidate *c, int n, const c1_problem *p, c1_strategy strategy, double budget_s,
                            const c1_measure_opts *base, uint64_t seed, volatile int *stop)
{
    if (n == 0) return CONV1D_OK;
    if (strategy == C1_STRATEGY_AUTO) strategy = n <= 16 ? C1_STRATEGY_EXHAUSTIVE : C1_STRATEGY_HALVING;
    conv1d_status rc = CONV1D_OK;
    if (strategy == C1_STRATEGY_EXHAUSTIVE) {
        const double slice = fmax(MIN_SLICE_S, budget_s / n);
        for (int i = 0; i < n && rc == CONV1D_OK && !*stop; i++) rc = measure_one(&c[i], p, base, slice);
        return rc;
    }
    if (strategy == C1_STRATEGY_RANDOM) {
        /* Fisher-Yates order by a splitmix64 stream; as many candidates as the budget buys. */
        int *order = malloc((size_t)n * sizeof *order);
        if (!order) return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory ordering %d candidates.", n);
        for (int i = 0; i < n; i++) order[i] = i;
        uint64_t s = seed;
        for (int i = n - 1; i > 0; i--) {
            const int j = (int)(c1_splitmix64(&s) % (uint64_t)(i + 1));
            const int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        const double slice = fmax(MIN_SLICE_S, fmin(budget_s / n * 2, budget_s / 4));
        double spent = 0;
        for (int i = 0; i < n && rc == CONV1D_OK && !*stop && (i == 0 || spent + slice <= budget_s); i++) {
            rc = measure_one(&c[order[i]], p, base, slice);
            spent += slice;
        }
        free(order);
        return rc;
    }
    /* Successive halving: rounds of doubling slices over the faster half, budget split evenly per round. */
    c1_candidate **alive = malloc((size_t)n * sizeof *alive);
    if (!alive) return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory for %d candidates.", n);
    int live = n, rounds = 1;
    for (int k = n; k > 1; k = (k + 1) / 2) rounds++;
    for (int i = 0; i < n; i++) alive[i] = &c[i];
    for (int r = 0; r < rounds && live > 0 && rc == CONV1D_OK && !*stop; r++) {
        const double slice = fmax(MIN_SLICE_S, budget_s / rounds / live);
        for (int i = 0; i < live && rc == CONV1D_OK && !*stop; i++) rc = measure_one(alive[i], p, base, slice);
        qsort(alive, (size_t)live, sizeof *alive, by_median);
        while (live > 0 && alive[live - 1]->m.outcome != C1_OUTCOME_OK) live--;
        if (live <= 1) break;
        live = (live + 1) / 2;
    }
    free(alive);
    return rc;
}
