/*
 * CONV1D_MODE_MEASURE: when neither the exported table nor the database has the exact shape, time a few
 * candidates in this process, choose among the correct ones by the sweep's own verdict (core/verdict.h:
 * fastest median, ties to the simpler family), and store the winner so the next plan finds it
 * (CONV1D_MODE_DB).
 *
 * This is a quick tune, not a sweep: the candidates are the variant the lookup chose (time model, nearest
 * shape or rules), the time models' four fastest predictions, the rules' choice, oneDNN, and every variant
 * that already won some shape on this machine and build (so a fresh process tries what has proven itself
 * here, a few at most, not the whole registry); each is checked against the double-precision reference on
 * random data first (the sweep's data and check in the plan's dtype: runtime/trial.h, the engine the tuner's
 * children run too), then timed: 7 samples of at least 10 ms each, taken round-robin across the candidates.
 * It runs in the caller's process, unlike the tuner's sandboxed children, which is why only
 * these proven candidates are tried.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basics.h"
#include "build_info.h"
#include "check.h"
#include "trial.h"
#include "conv1d_ref.h"
#include "error.h"
#include "hwinfo.h"
#include "lookup.h"
#include "store.h"
#include "verdict.h"

#define MAX_CANDIDATES 16
#define MODEL_CANDIDATES 4 /* the time models' best few join the candidates */
#define SAMPLES 7
#define SAMPLE_MIN_S 0.01  /* each sample at least this long: tiny kernels are timed in groups */


static void add_candidate(const c1_variant **c, int *n, const c1_variant *v, const conv1d_desc *d, c1_device dev)
{
    if (!v || *n >= MAX_CANDIDATES || v->device != dev || v->precision != c1_precision_of_dtype(d->dtype)) return;
    for (int i = 0; i < *n; i++)
        if (c[i] == v) return;
    if (c1_variant_applies(v, d) == CONV1D_OK) c[(*n)++] = v;
}

typedef struct proven {
    const c1_variant **c;
    int *n;
    const conv1d_desc *d;
    c1_device dev;
} proven;

static int proven_visit(void *ctx, const char *shape_key, const conv1d_desc *shape, const char *variant)
{
    proven *p = ctx;
    add_candidate(p->c, p->n, c1_variant_find(variant), p->d, p->dev);
    return *p->n >= MAX_CANDIDATES;
}

/* Every variant that won a shape on this machine and build. A database that cannot be read adds none. */
static void add_proven(const c1_variant **c, int *n, const conv1d_desc *d, c1_device dev, const char *path)
{
    c1_store s;
    if (c1_store_open_wait(&s, path, false, 100) != CONV1D_OK) return;
    proven p = {c, n, d, dev};
    int64_t rows;
    c1_store_each_winner(&s, c1_machine_fingerprint(), c1_build_info_get()->signature, c1_device_name(dev),
                         c1_precision_name(c1_precision_of_dtype(d->dtype)), NULL, proven_visit, &p, &rows);
    c1_store_close(&s);
}

/* One candidate during the tune: prepared, checked, then timed in interleaved rounds. */
typedef struct trial {
    const c1_variant *v;
    void *state, *ws;
    long reps;             /* runs per sample, so that one sample lasts at least SAMPLE_MIN_S */
    double t[SAMPLES];     /* ms per run */
    double rel_err;        /* the checked run's max error */
    bool ok;               /* prepared and correct */
} trial;

/* Prepares t->v, checks it as the sweep does (runtime/trial.h) and calibrates its group size; t->ok when all
 * went well. */
static void start_trial(trial *t, const c1_trial_data *data, const double *ref, const double *absum, void *y)
{
    const c1_variant *v = t->v;
    const conv1d_desc *d = &data->d;
    if (v->ops->prepare(v, d, NULL, data->w, d->has_bias ? data->b : NULL, &t->state) != CONV1D_OK) {
        t->state = NULL;
        return;
    }
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(t->state) : 0;
    if (ws_bytes && !(t->ws = malloc(ws_bytes))) return;
    c1_error e;
    bool correct = false;
    /* The tuner's checker and thresholds: a variant wrong here must not be stored as a winner. */
    if (c1_trial_check(v, t->state, d, data->x, y, t->ws, ref, absum, &e, &correct) != CONV1D_OK || !correct) return;
    t->rel_err = e.rel_max;
    t->reps = c1_trial_calibrate(v, t->state, data->x, y, t->ws, SAMPLE_MIN_S);
    t->ok = true;
}

/* The statistics of each correct trial's samples (ms per run), sampled round-robin so that a burst of load
 * on this shared machine falls on all candidates alike rather than on one; a trial that is not ok gets
 * ok = false. */
static void time_trials(trial *tr, int n, const void *x, void *y, c1_timing *timing)
{
    for (int s = 0; s < SAMPLES; s++)
        for (int i = 0; i < n; i++)
            if (tr[i].ok) tr[i].t[s] = c1_trial_sample_ms(tr[i].v, tr[i].state, x, y, tr[i].ws, tr[i].reps);
    for (int i = 0; i < n; i++) {
        timing[i] = (c1_timing){.name = tr[i].v->name, .family = tr[i].v->family, .cuda = false,
                                .precision = tr[i].v->precision, .ok = tr[i].ok, .rel_err = tr[i].rel_err};
        if (tr[i].ok) timing[i].time_ms = c1_stats_compute(tr[i].t, SAMPLES);
    }
}

/* Stores v as the winner of *d on this machine and build. */
static conv1d_status store_winner(const char *path, const conv1d_desc *d, const c1_variant *v, const c1_stats *t,
                                  bool tie, const c1_variant *peer, double peer_ms)
{
    c1_hwinfo *hw = malloc(sizeof *hw);
    char *record = NULL;
    if (!hw) return c1_fail(CONV1D_OUT_OF_MEMORY, "cannot allocate the machine record.");
    conv1d_status st = c1_hw_collect(hw);
    if (st == CONV1D_OK) st = c1_hw_to_json(hw, &record);
    free(hw);
    if (st != CONV1D_OK) return st;
    c1_store s;
    if ((st = c1_store_open_wait(&s, path, true, 2000)) != CONV1D_OK) {
        free(record);
        return st;
    }
    const c1_build_info *b = c1_build_info_get();
    c1_store_hardware h = {.fingerprint = c1_machine_fingerprint(), .record_json = record};
    c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
    int64_t hw_id, build_id, shape_id, run_id;
    if ((st = c1_store_begin(&s)) == CONV1D_OK) {
        if ((st = c1_store_hardware_id(&s, &h, &hw_id)) == CONV1D_OK &&
            (st = c1_store_build_id(&s, &bu, &build_id)) == CONV1D_OK &&
            (st = c1_store_shape_id(&s, d, &shape_id)) == CONV1D_OK &&
            (st = c1_store_run_start(&s, hw_id, build_id, "conv1d_plan_create (CONV1D_MODE_MEASURE)", &run_id)) ==
                CONV1D_OK) {
            c1_store_winner w = {.hardware_id = hw_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                                 .device = c1_device_name(v->device), .precision = c1_precision_name(v->precision),
                                 .variant = v->name,
                                 .median_ms = t->median, .p10_ms = t->p10, .p90_ms = t->p90, .tie = tie,
                                 .peer_variant = peer ? peer->name : NULL, .peer_median_ms = peer ? peer_ms : NAN};
            if ((st = c1_store_set_winner(&s, &w)) == CONV1D_OK) st = c1_store_run_finish(&s, run_id, "done");
        }
        if (st == CONV1D_OK) st = c1_store_commit(&s);
        else c1_store_rollback(&s);
    }
    c1_store_close(&s);
    free(record);
    return st;
}


conv1d_status c1_measure_choose(const conv1d_desc *d, c1_device dev, const char *db_path, const c1_variant **v,
                                char *explain, size_t explain_size)
{
    if (dev != C1_DEVICE_CPU)
        return c1_fail(CONV1D_UNSUPPORTED, "CONV1D_MODE_MEASURE tunes CPU plans only; use conv1d-tune sweep for %s.",
                       c1_device_name(dev));
    const char *path = db_path ? db_path : c1_store_default_path();
    const c1_variant *cand[MAX_CANDIDATES];
    int n = 0;
    char why[64];
    add_candidate(cand, &n, *v, d, dev);
    /* The time models' favourites: what this machine's measurements predict to be fastest here. */
    c1_model_pick top[MODEL_CANDIDATES];
    const size_t ntop = c1_model_top(d, dev, db_path, top, MODEL_CANDIDATES);
    for (size_t i = 0; i < ntop; i++) add_candidate(cand, &n, top[i].v, d, dev);
    /* And the best on the tuned shapes nearby. */
    c1_neighbour_pick near[MODEL_CANDIDATES];
    const size_t nnear = c1_neighbour_top(d, dev, db_path, near, MODEL_CANDIDATES);
    for (size_t i = 0; i < nnear; i++) add_candidate(cand, &n, near[i].v, d, dev);
    add_candidate(cand, &n, c1_heuristic_choice(d, dev, why, sizeof why), d, dev);
    const char *peer_name = c1_cpu_peer_name(c1_precision_of_dtype(d->dtype));
    if (peer_name) add_candidate(cand, &n, c1_variant_find(peer_name), d, dev);
    add_proven(cand, &n, d, dev, path);
    c1_clear_error();

    const uint64_t seed = 0x243f6a8885a308d3ull; /* fixed: a plan-time measurement is reproducible */
    const int64_t ny = conv1d_output_elems(d);
    c1_trial_data data;
    conv1d_status st = c1_trial_data_create(d, seed, &data);
    if (st != CONV1D_OK) return st;
    void *y = malloc((size_t)ny * conv1d_dtype_size(d->dtype));
    double *ref = malloc((size_t)ny * 2 * sizeof *ref), *absum = ref ? ref + ny : NULL;
    if (!y || !ref) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "CONV1D_MODE_MEASURE: cannot allocate the test tensors.");
        goto done;
    }
    if ((st = c1_trial_reference(&data, ref, absum)) != CONV1D_OK) goto done;

    trial tr[MAX_CANDIDATES];
    c1_timing timing[MAX_CANDIDATES];
    memset(tr, 0, sizeof tr);
    for (int i = 0; i < n; i++) {
        tr[i].v = cand[i];
        start_trial(&tr[i], &data, ref, absum, y);
    }
    time_trials(tr, n, data.x, y, timing);
    for (int i = 0; i < n; i++) {
        free(tr[i].ws);
        if (tr[i].state) tr[i].v->ops->release(tr[i].state);
    }

    /* The sweep's verdict and peer (core/verdict.h), so MEASURE mode stores winners by the same rule. */
    bool tie = false;
    const c1_precision prec = c1_precision_of_dtype(d->dtype);
    const int wi = c1_verdict_winner(timing, n, prec, &tie), pi = c1_verdict_peer(timing, n, false, prec);
    const c1_variant *best = wi >= 0 ? cand[wi] : NULL, *peer = pi >= 0 ? cand[pi] : NULL;
    const double peer_ms = pi >= 0 ? timing[pi].time_ms.median : NAN;
    char timings[1024] = "";
    for (int i = 0; i < n; i++) {
        c1_appendf(timings, sizeof timings, "%s%s ", i ? ", " : "", cand[i]->name);
        if (!timing[i].ok) c1_appendf(timings, sizeof timings, "failed");
        else c1_appendf(timings, sizeof timings, "%.3g ms", timing[i].time_ms.median);
    }
    c1_clear_error();
    if (!best) {
        c1_appendf(explain, explain_size, "; measured %d candidates, none correct (%s), keeping %s", n, timings,
               (*v)->name);
        goto done;
    }
    *v = best;
    snprintf(explain, explain_size, "measured %d candidates (%s): %s %s", n, timings, best->name,
             tie ? "wins a tie (the simpler family)" : "fastest");
    if (store_winner(path, d, best, &timing[wi].time_ms, tie, peer, peer_ms) == CONV1D_OK) {
        c1_appendf(explain, explain_size, ", stored in DB %s", path);
    } else {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", conv1d_last_error());
        c1_appendf(explain, explain_size, ", not stored: %s", reason);
    }
    c1_clear_error();
done:
    c1_trial_data_destroy(&data);
    free(y), free(ref);
    return st;
}
