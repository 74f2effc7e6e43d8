/* Search strategies and winner choice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "error.h"
#include "lookup.h"
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

/*
 * Hopeless candidates end early. Once a candidate has a median, a later one whose check and timing (two warm-ups,
 * min_repeats samples and the check: min_repeats + 3 runs, plus its timing slice) take longer after its prepare
 * than HOPELESS_FACTOR times that many runs of the fastest median so far, or HOPELESS_FLOOR_S seconds, whichever is
 * longer, is at least that many times slower and cannot win: its child stops there (c1_measure_opts.run_limit_s;
 * outcome timeout, saying why). Prepare is not counted, so a slow plan (an FFTW_MEASURE plan without wisdom) never
 * stops a fast kernel. On a Hyena layer (k = L = 2048, 768 channels) the dense direct kernels take seconds a run
 * where the FFT takes milliseconds, and eight runs of each of 17 such candidates took 16 minutes of a sweep; now
 * about a minute. Candidates are measured with the rules' choice (c1_heuristic_choice) first, so a good median is
 * known early.
 */
#define HOPELESS_FACTOR 10.0
#define HOPELESS_FLOOR_S 2.0

double c1_hopeless_limit(const c1_measure_opts *base, double best_ms, double budget_s)
{
    if (!isfinite(best_ms)) return 0;
    return fmax(HOPELESS_FLOOR_S, HOPELESS_FACTOR * best_ms * 1e-3 * (base->min_repeats + 3)) + budget_s;
}

void c1_hopeless_note(c1_measurement *m, double limit_s, const char *best_name, double best_ms)
{
    if (m->outcome == C1_OUTCOME_TIMEOUT && limit_s > 0 && strstr(m->message, "run limit"))
        snprintf(m->message, sizeof m->message,
                 "Stopped %.1f s after prepare: over %.0fx the runs of the fastest candidate so far (%s, %.3g ms), "
                 "it cannot win.",
                 limit_s, HOPELESS_FACTOR, best_name, best_ms);
}

typedef struct search_state {
    double best_ms;       /* fastest ok median so far (any class), INFINITY before one */
    const char *best_name;
} search_state;

static conv1d_status measure_one(c1_candidate *c, const c1_problem *p, const c1_measure_opts *base, double budget_s,
                                 search_state *ss)
{
    c1_measure_opts o = *base;
    o.budget_s = budget_s;
    o.run_limit_s = c1_hopeless_limit(base, ss->best_ms, budget_s);
    conv1d_status rc = c1_measure(c->v, p, &o, &c->m);
    c->measured = rc == CONV1D_OK;
    if (!c->measured) return rc;
    c1_hopeless_note(&c->m, o.run_limit_s, ss->best_name, ss->best_ms);
    if (c->m.outcome == C1_OUTCOME_OK && c->m.time_ms.median < ss->best_ms) {
        ss->best_ms = c->m.time_ms.median;
        ss->best_name = c->v->name;
    }
    return rc;
}

int c1_rules_choice_index(const c1_variant *const *v, int n, const conv1d_desc *d)
{
    char why[64];
    const c1_variant *pick = n > 0 ? c1_heuristic_choice(d, v[0]->device, why, sizeof why) : NULL;
    for (int i = 0; i < n && pick; i++)
        if (v[i] == pick) return i;
    return -1;
}

/* order[] := 0..n-1 with the rules' choice for this shape first and the rest of its family next, if it is a
 * candidate: the fastest median is then known after a few measurements, whatever one noisy sample said. */
static void heuristic_first(const c1_candidate *c, int n, const c1_problem *p, int *order)
{
    int first = -1;
    const c1_variant **v = calloc((size_t)n, sizeof *v);
    if (v) {
        for (int i = 0; i < n; i++) v[i] = c[i].v;
        first = c1_rules_choice_index(v, n, &p->data.d);
        free(v);
    }
    int k = 0;
    if (first >= 0) order[k++] = first;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const bool kin = first >= 0 && strcmp(c[i].v->family, c[first].v->family) == 0;
            if (i != first && kin == (pass == 0)) order[k++] = i;
        }
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
    search_state ss = {.best_ms = INFINITY, .best_name = ""};
    int *order = malloc((size_t)n * sizeof *order);
    if (!order) return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory ordering %d candidates.", n);
    if (strategy == C1_STRATEGY_EXHAUSTIVE) {
        const double slice = fmax(MIN_SLICE_S, budget_s / n);
        heuristic_first(c, n, p, order);
        for (int i = 0; i < n && rc == CONV1D_OK && !*stop; i++) rc = measure_one(&c[order[i]], p, base, slice, &ss);
        free(order);
        return rc;
    }
    if (strategy == C1_STRATEGY_RANDOM) {
        /* Fisher-Yates order by a splitmix64 stream; as many candidates as the budget buys. */
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
            rc = measure_one(&c[order[i]], p, base, slice, &ss);
            spent += slice;
        }
        free(order);
        return rc;
    }
    /* Successive halving: rounds of doubling slices over the faster half, budget split evenly per round. */
    c1_candidate **alive = malloc((size_t)n * sizeof *alive);
    if (!alive) {
        free(order);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory for %d candidates.", n);
    }
    int live = n, rounds = 1;
    for (int k = n; k > 1; k = (k + 1) / 2) rounds++;
    heuristic_first(c, n, p, order);
    for (int i = 0; i < n; i++) alive[i] = &c[order[i]];
    free(order);
    for (int r = 0; r < rounds && live > 0 && rc == CONV1D_OK && !*stop; r++) {
        const double slice = fmax(MIN_SLICE_S, budget_s / rounds / live);
        for (int i = 0; i < live && rc == CONV1D_OK && !*stop; i++) rc = measure_one(alive[i], p, base, slice, &ss);
        qsort(alive, (size_t)live, sizeof *alive, by_median);
        while (live > 0 && alive[live - 1]->m.outcome != C1_OUTCOME_OK) live--;
        if (live <= 1) break;
        live = (live + 1) / 2;
    }
    free(alive);
    return rc;
}

size_t c1_device_candidates(c1_device device, const c1_variant **out, size_t max)
{
    size_t nreg, n = 0;
    const c1_variant *reg = c1_variant_list(&nreg);
    for (size_t i = 0; i < nreg && n < max; i++)
        if (reg[i].device == device && strcmp(reg[i].family, "ref") != 0) out[n++] = &reg[i];
    return n;
}
