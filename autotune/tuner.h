/* Internal: searching a shape's variants within a budget, and choosing the winner with statistics. */
#ifndef CONV1D_TUNER_H
#define CONV1D_TUNER_H

#include <stdbool.h>

#include "measure.h"
#include "variant.h"
#include "verdict.h"

typedef enum c1_strategy {
    C1_STRATEGY_AUTO,       /* exhaustive for up to 16 candidates, else halving */
    C1_STRATEGY_EXHAUSTIVE, /* every candidate, the budget split evenly */
    C1_STRATEGY_RANDOM,     /* candidates in random order until the budget is spent */
    C1_STRATEGY_HALVING     /* successive halving: all briefly, the faster half again with twice the time */
} c1_strategy;

/* "auto", "exhaustive", "random", "halving" -> strategy; false for anything else. */
bool c1_strategy_parse(const char *name, c1_strategy *out);
const char *c1_strategy_name(c1_strategy s);

typedef struct c1_candidate {
    const c1_variant *v;
    c1_measurement m; /* the candidate's last (longest) measurement */
    bool measured;
} c1_candidate;

/* Measures candidates on p by `strategy` within budget_s seconds of timing (checks and process start-up
 * are extra). Every candidate that was measured has `measured` set. CONV1D_OK unless a child could not
 * be started at all. *stop, when set by a signal handler, ends the search early. */
conv1d_status c1_tune_shape(c1_candidate *c, int n, const c1_problem *p, c1_strategy strategy, double budget_s,
                            const c1_measure_opts *base, uint64_t seed, volatile int *stop);

/* The candidate as the verdict (core/verdict.h) sees it. */
c1_timing c1_candidate_timing(const c1_candidate *c);

/* Hopeless candidates (tuner.c says why): the run limit after prepare (c1_measure_opts.run_limit_s) for one
 * measured with budget_s of timing when the fastest median so far is best_ms (INFINITY: none yet, 0: no limit);
 * and m's message rewritten to say why when that limit stopped it. */
double c1_hopeless_limit(const c1_measure_opts *base, double best_ms, double budget_s);
void c1_hopeless_note(c1_measurement *m, double limit_s, const char *best_name, double best_ms);

/* The candidates of a device, in registry order, at most max of them into out: every registered variant of
 * it but the references, which are the checker's yardstick rather than competitors. Returns how many. */
size_t c1_device_candidates(c1_device device, const c1_variant **out, size_t max);

/* The index among v[0..n) of the variant the dispatcher's rules pick for d (c1_heuristic_choice), or -1: the
 * candidate measured first, so a good median is known early. */
int c1_rules_choice_index(const c1_variant *const *v, int n, const conv1d_desc *d);

/* c1_verdict_winner over the candidates: the index of the winner of class prec, or -1 when none is ok. */
int c1_choose_winner(const c1_candidate *c, int n, c1_precision prec, bool *tie);

/* c1_verdict_peer over the candidates of one device: the index of the peer of class prec, or -1. */
int c1_find_peer(const c1_candidate *c, int n, c1_device device, c1_precision prec);

#endif
