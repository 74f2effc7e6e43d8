/* One variant on one problem: prepare, check against the reference, time; all inside a child process. */
#include <hwloc.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basics.h"
#include "conv1d_ref.h"
#include "error.h"
#include "measure.h"

#define MAX_ROTATION_SETS 64
#define ROTATION_MEMORY_CAP (1ull << 30)

/* ---- the copy yardstick ---- */

typedef struct copy_state {
    size_t xb, yb;
} copy_state;

static conv1d_status copy_supports(const c1_variant *v, const conv1d_desc *d) { return CONV1D_OK; }

static conv1d_status copy_prepare(const c1_variant *v, const conv1d_desc *d, const float *w, const float *b,
                                  void **state)
{
    copy_state *s = malloc(sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the copy yardstick's state.");
    s->xb = (size_t)conv1d_input_elems(d) * sizeof(float);
    s->yb = (size_t)conv1d_output_elems(d) * sizeof(float);
    *state = s;
    return CONV1D_OK;
}

/* In 256 KiB chunks over all threads, as the kernels use all threads: memcpy of the common part, memset of
 * the rest of a longer output, a summing read of the rest of a longer input. */
static conv1d_status copy_run(const void *state, const float *x, float *y, void *workspace)
{
    const copy_state *s = state;
    const size_t common = s->xb < s->yb ? s->xb : s->yb, total = s->xb > s->yb ? s->xb : s->yb;
    const size_t chunk = 256 << 10;
    const int64_t chunks = (int64_t)((total + chunk - 1) / chunk);
    float sink = 0;
#pragma omp parallel for schedule(static) reduction(+ : sink)
    for (int64_t c = 0; c < chunks; c++) {
        const size_t lo = (size_t)c * chunk, hi = lo + chunk < total ? lo + chunk : total;
        if (lo < common) memcpy((char *)y + lo, (const char *)x + lo, (hi < common ? hi : common) - lo);
        const size_t rest = lo > common ? lo : common;
        if (hi > rest && s->yb > s->xb) memset((char *)y + rest, 0, hi - rest);
        if (hi > rest && s->xb > s->yb)
            for (size_t i = rest / sizeof(float); i < hi / sizeof(float); i++) sink += x[i];
    }
    if (sink == 1234.5f) y[0] = sink; /* keeps the extra input reads */
    return CONV1D_OK;
}

static void copy_release(void *state) { free(state); }

static const c1_variant_ops copy_ops = {
    .supports = copy_supports, .prepare = copy_prepare, .run = copy_run, .release = copy_release};

const c1_variant c1_copy_baseline = {"copy", "baseline", C1_DEVICE_CPU, C1_PREC_FP32, &copy_ops, {0}};

void c1_measure_opts_init(c1_measure_opts *o)
{
    *o = (c1_measure_opts){
        .threads = 0,
        .budget_s = 1.0,
        .timeout_s = 120.0,
        .target_ci = 0.03,
        .min_repeats = 5,
        .llc_bytes = 0,
        .rotate = true,
    };
}


static int ref_child(void *arg, void *shared)
{
    const c1_problem *p = arg;
    return c1_ref_conv1d_f64(&p->d, p->x, p->w, p->b, (double *)shared) == CONV1D_OK ? 0 : 1;
}

void c1_problem_destroy(c1_problem *p)
{
    free(p->x);
    free(p->w);
    free(p->b);
    c1_shared_free(p->ref, (size_t)conv1d_output_elems(&p->d) * sizeof(double));
    memset(p, 0, sizeof *p);
}

conv1d_status c1_problem_create(const conv1d_desc *d, uint64_t seed, double timeout_s, c1_problem *p)
{
    memset(p, 0, sizeof *p);
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    p->d = *d;
    p->seed = seed;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    p->x = malloc((size_t)nx * sizeof(float));
    p->w = malloc((size_t)nw * sizeof(float));
    p->b = d->has_bias ? malloc((size_t)d->out_channels * sizeof(float)) : NULL;
    p->ref = c1_shared_alloc((size_t)ny * sizeof(double));
    if (!p->x || !p->w || (d->has_bias && !p->b) || !p->ref) {
        c1_problem_destroy(p);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the test problem (%lld input, %lld output elements).",
                       (long long)nx, (long long)ny);
    }
    uint64_t s = seed;
    c1_fill_random(p->x, nx, &s);
    c1_fill_random(p->w, nw, &s);
    if (p->b) c1_fill_random(p->b, d->out_channels, &s);

    /* The parent never runs OpenMP code (a forked child of an OpenMP process can hang), so the reference,
     * which uses every core, runs in a child of its own. */
    c1_outcome outcome;
    char detail[128];
    st = c1_sandbox_run(ref_child, p, p->ref, timeout_s, &outcome, detail, sizeof detail);
    if (st == CONV1D_OK && outcome != C1_OUTCOME_OK)
        st = c1_fail(CONV1D_INTERNAL, "The reference computation did not finish: %s.", detail);
    if (st != CONV1D_OK) c1_problem_destroy(p);
    return st;
}

/* ---- the measurement child ---- */

typedef struct child_args {
    const c1_variant *v;
    const c1_problem *p;
    const c1_measure_opts *o;
} child_args;

static hwloc_topology_t topology; /* loaded in the parent, inherited by every child */

/* Pins OpenMP thread t to core t (round-robin), so timings do not move between cores. */
static void pin_threads(void)
{
    if (!topology) return;
    const int cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    if (cores <= 0) return;
#pragma omp parallel
    {
        hwloc_obj_t core = hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, (unsigned)(omp_get_thread_num() % cores));
        if (core) hwloc_set_cpubind(topology, core->cpuset, HWLOC_CPUBIND_THREAD);
    }
}

static void set_message(c1_measurement *m, c1_outcome outcome, const char *prefix)
{
    m->outcome = outcome;
    snprintf(m->message, sizeof m->message, "%s%s", prefix, conv1d_last_error());
}

static int measure_child(void *arg, void *shared)
{
    const child_args *a = arg;
    const c1_variant *v = a->v;
    const c1_problem *p = a->p;
    const c1_measure_opts *o = a->o;
    c1_measurement *m = shared;
    const conv1d_desc *d = &p->d;
    const double t_start = c1_now_s();
    m->outcome = C1_OUTCOME_FAILED;

    if (o->threads > 0) omp_set_num_threads(o->threads);
    m->threads = omp_get_max_threads();
    pin_threads();

    conv1d_status st = c1_variant_applies(v, d);
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "");
        return 0;
    }
    void *state = NULL;
    st = v->ops->prepare(v, d, p->w, p->b, &state);
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "prepare: ");
        return 0;
    }
    if (v->ops->impl_info && v->ops->impl_info(state))
        snprintf(m->impl, sizeof m->impl, "%s", v->ops->impl_info(state));

    const int64_t nx = conv1d_input_elems(d), ny = conv1d_output_elems(d);
    const size_t xb = (size_t)nx * sizeof(float), yb = (size_t)ny * sizeof(float);
    const size_t wsb = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;

    /* Enough input/output sets that cycling through them evicts the last-level cache. */
    int sets = 1;
    if (o->rotate && !o->check_only) {
        const double llc = o->llc_bytes > 0 ? o->llc_bytes : 32.0 * 1024 * 1024;
        const double per_set = (double)(xb + yb);
        sets = (int)ceil(2.0 * llc / per_set);
        if (sets < 1) sets = 1;
        if (sets > MAX_ROTATION_SETS) sets = MAX_ROTATION_SETS;
        while (sets > 1 && per_set * sets > ROTATION_MEMORY_CAP) sets--;
    }
    m->buffer_sets = sets;
    float *xs = malloc(xb * (size_t)sets), *ys = malloc(yb * (size_t)sets);
    void *ws = wsb ? malloc(wsb) : NULL;
    double *samples = malloc(C1_MAX_SAMPLES * sizeof *samples);
    if (!xs || !ys || (wsb && !ws) || !samples) {
        m->outcome = C1_OUTCOME_FAILED;
        snprintf(m->message, sizeof m->message, "Out of memory for %d buffer sets of %zu bytes.", sets, xb + yb);
        goto done;
    }
    for (int s = 0; s < sets; s++) memcpy((char *)xs + s * xb, p->x, xb);

    /* The check: poisoned output, one run, compared with the double reference (not for the yardstick). */
    for (int64_t i = 0; i < ny; i++) ys[i] = NAN;
    st = v->ops->run(state, xs, ys, ws);
    if (st == CONV1D_OK && v == &c1_copy_baseline) goto timing;
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "run: ");
        goto done;
    }
    m->error = c1_compare(ys, p->ref, ny);
    if (!c1_error_ok(m->error, c1_precision_tolerance(v->precision))) {
        m->outcome = C1_OUTCOME_WRONG;
        if (m->error.bad_index >= 0)
            snprintf(m->message, sizeof m->message, "Output element %lld is %g (unwritten or not finite).",
                     (long long)m->error.bad_index, (double)ys[m->error.bad_index]);
        else
            snprintf(m->message, sizeof m->message,
                     "Error %.3g of max|ref| (relative L2 %.3g) exceeds the %s threshold %.1g.", m->error.rel_max,
                     m->error.rel_l2, c1_precision_name(v->precision), c1_precision_tolerance(v->precision).rel_max);
        goto done;
    }
    if (o->check_only) {
        m->outcome = C1_OUTCOME_OK;
        goto done;
    }

timing:;
    /* Warm-up: at least two runs and 20 ms (or a tenth of the budget), which also sizes a sample. */
    int next = 0, runs = 0;
    const double warm_until = c1_now_s() + fmin(0.02, o->budget_s / 10);
    double t0 = c1_now_s();
    do {
        v->ops->run(state, (const float *)((char *)xs + next * xb), (float *)((char *)ys + next * yb), ws);
        next = (next + 1) % sets;
        runs++;
    } while (runs < 2 || c1_now_s() < warm_until);
    const double per_run = (c1_now_s() - t0) / runs;
    /* Kernels under 100 us are timed in groups, so the clock's resolution and overhead do not show. */
    int group = per_run > 0 ? (int)ceil(1e-4 / per_run) : 1;
    if (group < 1) group = 1;
    m->runs_per_sample = group;

    const double stop = c1_now_s() + o->budget_s;
    int n = 0;
    while (n < C1_MAX_SAMPLES) {
        t0 = c1_now_s();
        for (int g = 0; g < group; g++) {
            v->ops->run(state, (const float *)((char *)xs + next * xb), (float *)((char *)ys + next * yb), ws);
            next = (next + 1) % sets;
        }
        samples[n++] = (c1_now_s() - t0) * 1e3 / group;
        if (n >= o->min_repeats) {
            if (c1_now_s() > stop) break;
            double tmp[C1_MAX_SAMPLES];
            memcpy(tmp, samples, (size_t)n * sizeof *tmp);
            c1_stats s = c1_stats_compute(tmp, n);
            if ((s.ci_hi - s.ci_lo) / 2 <= o->target_ci * s.median && n >= 2 * o->min_repeats) break;
        }
    }
    memcpy(m->samples, samples, (size_t)n * sizeof *samples);
    m->nsamples = n;
    m->time_ms = c1_stats_compute(samples, n);
    m->outcome = C1_OUTCOME_OK;
done:
    m->wall_s = c1_now_s() - t_start;
    free(samples);
    free(ws);
    free(xs);
    free(ys);
    v->ops->release(state);
    return 0;
}

conv1d_status c1_measure(const c1_variant *v, const c1_problem *p, const c1_measure_opts *o, c1_measurement *m)
{
    memset(m, 0, sizeof *m);
    m->error.bad_index = -1;
    if (!topology && hwloc_topology_init(&topology) == 0 && hwloc_topology_load(topology) != 0) {
        hwloc_topology_destroy(topology);
        topology = NULL;
    }
    c1_measurement *shared = c1_shared_alloc(sizeof *shared);
    if (!shared) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not map memory shared with the measurement child.");
    child_args args = {v, p, o};
    c1_outcome outcome;
    char detail[160];
    conv1d_status st = c1_sandbox_run(measure_child, &args, shared, o->timeout_s, &outcome, detail, sizeof detail);
    if (st == CONV1D_OK) {
        *m = *shared;
        if (outcome != C1_OUTCOME_OK) {
            m->outcome = outcome;
            snprintf(m->message, sizeof m->message, "The measurement child %s.", detail);
        }
    }
    c1_shared_free(shared, sizeof *shared);
    return st;
}
