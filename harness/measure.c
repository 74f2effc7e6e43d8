/*
 * One variant on one problem: prepare, check against the reference, time; all inside a child process.
 *
 * CPU variants run on host buffers with OpenMP threads pinned to cores and are timed with the monotonic
 * clock. CUDA variants run on device buffers the child allocates, on a stream the child creates, and are
 * timed with CUDA events on that stream; the parent never touches CUDA (a context does not survive fork()).
 * (measure_cuda.c holds the CUDA path, yardstick.c the copy yardsticks, gpu_probe.c the GPU facts.) Both
 * paths share the check (NaN-poisoned output against the double reference), the warm-up that sizes
 * groups of short runs, the rotation of input/output sets beyond the last-level cache (the GPU's L2 for
 * CUDA), the order statistics and the stopping rule.
 */
#include <hwloc.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "error.h"
#include "measure.h"
#include "measure_child.h"
#include "trial.h"

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
    return c1_trial_reference(&p->data, shared, p->absum) == CONV1D_OK ? 0 : 1;
}

void c1_problem_destroy(c1_problem *p)
{
    const size_t ny = (size_t)conv1d_output_elems(&p->data.d);
    c1_trial_data_destroy(&p->data);
    c1_shared_free(p->ref, ny * sizeof(double));
    c1_shared_free(p->absum, ny * sizeof(double));
    memset(p, 0, sizeof *p);
}

conv1d_status c1_problem_create(const conv1d_desc *d, uint64_t seed, double timeout_s, c1_problem *p)
{
    memset(p, 0, sizeof *p);
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    if ((st = c1_trial_data_create(d, seed, &p->data)) != CONV1D_OK) return st;
    p->seed = seed;
    const size_t ny = (size_t)conv1d_output_elems(d);
    p->ref = c1_shared_alloc(ny * sizeof(double));
    if (d->dtype != CONV1D_F32) p->absum = c1_shared_alloc(ny * sizeof(double));
    if (!p->ref || (d->dtype != CONV1D_F32 && !p->absum)) {
        c1_problem_destroy(p);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not map the reference of %zu output elements.", ny);
    }

    /* The parent never runs OpenMP code (a forked child of an OpenMP process can hang), so the reference,
     * which uses every core, runs in a child of its own; absum is shared memory too. */
    c1_outcome outcome;
    char detail[128];
    st = c1_sandbox_run(ref_child, p, p->ref, timeout_s, &outcome, detail, sizeof detail);
    if (st == CONV1D_OK && outcome != C1_OUTCOME_OK)
        st = c1_fail(CONV1D_INTERNAL, "The reference computation did not finish: %s.", detail);
    if (st != CONV1D_OK) c1_problem_destroy(p);
    return st;
}

/* ---- the measurement child ---- */


static hwloc_topology_t topology; /* loaded in the parent, inherited by every child */

/* The run limit (c1_measure_opts.run_limit_s): a timer armed after prepare ends the child, its measurement
 * recorded as a timeout, without the parent's wall-clock limit having to count the prepare. */
static c1_measurement *volatile run_limit_m;
static double run_limit_t_start;

static void run_limit_reached(int sig)
{
    (void)sig;
    c1_measurement *m = run_limit_m;
    if (m) {
        static const char text[] = "Stopped at its run limit after prepare.";
        for (size_t i = 0; i < sizeof text; i++) m->message[i] = text[i]; /* async-signal-safe stores */
        m->outcome = C1_OUTCOME_TIMEOUT;
        m->wall_s = c1_now_s() - run_limit_t_start; /* clock_gettime: async-signal-safe */
    }
    _exit(0);
}

/* Arms the run limit of o for measurement m, which started at t_start (for its wall time). */
void c1_child_arm_run_limit(c1_measurement *m, double seconds, double t_start)
{
    if (!(seconds > 0)) return;
    run_limit_m = m;
    run_limit_t_start = t_start;
    signal(SIGALRM, run_limit_reached);
    struct itimerval it = {.it_value = {.tv_sec = (time_t)seconds,
                                        .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)}};
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
}

void c1_child_disarm_run_limit(void)
{
    const struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    run_limit_m = NULL;
}

/* Pins OpenMP thread t to core t (round-robin), so timings do not move between cores. Only the cores that the
 * process's binding touches count (taskset, a batch scheduler's task binding), and a thread is bound to the part
 * of its core inside that binding: two measurements sharing a machine, each bound to its own cores, are never
 * both moved to core 0. */
static void pin_threads(void)
{
    if (!topology) return;
    const int ncores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    if (ncores <= 0) return;
    int *use = malloc((size_t)ncores * sizeof *use);
    hwloc_bitmap_t bound = hwloc_bitmap_alloc();
    bool restrict_to_bound = bound && hwloc_get_cpubind(topology, bound, HWLOC_CPUBIND_THREAD) == 0;
    int cores = 0;
    for (int i = 0; use && i < ncores; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, (unsigned)i);
        if (core && (!restrict_to_bound || hwloc_bitmap_intersects(core->cpuset, bound))) use[cores++] = i;
    }
    if (use && cores == 0) { /* a binding outside every core: ignore it */
        restrict_to_bound = false;
        for (int i = 0; i < ncores; i++) use[cores++] = i;
    }
    if (cores > 0) {
#pragma omp parallel
        {
            hwloc_obj_t core =
                hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, (unsigned)use[omp_get_thread_num() % cores]);
            hwloc_bitmap_t set = core ? hwloc_bitmap_dup(core->cpuset) : NULL;
            if (set && restrict_to_bound) hwloc_bitmap_and(set, set, bound);
            if (set) hwloc_set_cpubind(topology, set, HWLOC_CPUBIND_THREAD);
            hwloc_bitmap_free(set);
        }
    }
    hwloc_bitmap_free(bound);
    free(use);
}

void c1_child_set_message(c1_measurement *m, c1_outcome outcome, const char *prefix)
{
    m->outcome = outcome;
    snprintf(m->message, sizeof m->message, "%s%s", prefix, conv1d_last_error());
}

/* Compares a checked run's output (host memory, the problem's dtype) with the reference; false (outcome WRONG,
 * the reason in m->message) when it fails the precision class's check. */
bool c1_child_check_output(const c1_variant *v, const c1_problem *p, const void *ys, c1_measurement *m)
{
    if (c1_trial_compare(v, &p->data.d, ys, p->ref, p->absum, &m->error)) return true;
    m->outcome = C1_OUTCOME_WRONG;
    c1_trial_explain(v, &p->data.d, ys, p->ref, m->error, m->message, sizeof m->message);
    return false;
}

/* The stopping rule: at least min_repeats samples; then stop at the budget's end, or once there are twice
 * min_repeats and the 95% CI of the median is within +-target_ci of it. */
/* A timed variant's outcome: its samples kept and their statistics (sorts samples). */
void c1_child_record_timing(c1_measurement *m, double *samples, int n)
{
    memcpy(m->samples, samples, (size_t)n * sizeof *samples);
    m->nsamples = n;
    m->time_ms = c1_stats_compute(samples, n);
    m->outcome = C1_OUTCOME_OK;
}

bool c1_child_timing_done(const double *samples, int n, const c1_measure_opts *o, double stop)
{
    if (n < o->min_repeats) return false;
    if (c1_now_s() > stop) return true;
    double tmp[C1_MAX_SAMPLES];
    memcpy(tmp, samples, (size_t)n * sizeof *tmp);
    const c1_stats s = c1_stats_compute(tmp, n);
    return (s.ci_hi - s.ci_lo) / 2 <= o->target_ci * s.median && n >= 2 * o->min_repeats;
}

/* Kernels under 100 us are timed in groups, so the clock's resolution and overhead do not show. */
int c1_child_group_size(double per_run_s, int max_group)
{
    int group = per_run_s > 0 ? (int)fmin(ceil(1e-4 / per_run_s), (double)max_group) : 1;
    return group < 1 ? 1 : group;
}

/* The page faults of this process so far (all its threads). */
static long page_faults(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt + ru.ru_majflt : 0;
}


static int measure_child(void *arg, void *shared)
{
    const c1_child_args *a = arg;
    const c1_variant *v = a->v;
    const c1_problem *p = a->p;
    const c1_measure_opts *o = a->o;
    c1_measurement *m = shared;
    const conv1d_desc *d = &p->data.d;
    const double t_start = c1_now_s();
    m->outcome = C1_OUTCOME_FAILED;

    if (v->device == C1_DEVICE_CUDA) {
#ifdef C1_HAVE_CUDA
        return c1_measure_child_cuda(a, m, t_start);
#else
        m->outcome = C1_OUTCOME_UNSUPPORTED;
        snprintf(m->message, sizeof m->message, "%s is a CUDA variant, and this build has no CUDA.", v->name);
        return 0;
#endif
    }
    if (o->threads > 0) omp_set_num_threads(o->threads);
    m->threads = omp_get_max_threads();
    pin_threads();

    /* The yardstick moves the bytes of any dtype: no precision class to match. */
    conv1d_status st = c1_is_copy_baseline(v) ? CONV1D_OK : c1_variant_applies(v, d);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "");
        return 0;
    }
    void *state = NULL;
    st = v->ops->prepare(v, d, NULL, p->data.w, p->data.b, &state);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "prepare: ");
        return 0;
    }
    c1_child_arm_run_limit(m, o->run_limit_s, t_start);
    if (v->ops->impl_info && v->ops->impl_info(state))
        snprintf(m->impl, sizeof m->impl, "%s", v->ops->impl_info(state));

    const int64_t nx = conv1d_input_elems(d), ny = conv1d_output_elems(d);
    const size_t es = conv1d_dtype_size(d->dtype), xb = (size_t)nx * es, yb = (size_t)ny * es;
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
    const size_t xstep = c1_set_stride(xb), ystep = c1_set_stride(yb);
    char *xs = aligned_alloc(SET_ALIGN, xstep * (size_t)sets), *ys = aligned_alloc(SET_ALIGN, ystep * (size_t)sets);
    void *ws = wsb ? malloc(wsb) : NULL;
    double *samples = malloc(C1_MAX_SAMPLES * sizeof *samples);
    if (!xs || !ys || (wsb && !ws) || !samples) {
        m->outcome = C1_OUTCOME_FAILED;
        snprintf(m->message, sizeof m->message, "Out of memory for %d buffer sets of %zu bytes.", sets, xb + yb);
        goto done;
    }
    for (int s = 0; s < sets; s++) memcpy((char *)xs + s * xstep, p->data.x, xb);
    /* Every output set written once here, so no timed run pays the kernel's first touch of its pages: the warm-up
     * below may end before it has visited every set, and a run that faults in a fresh megabyte of output measures
     * the page allocator (several times the kernel's own time on microsecond layers). */
    memset(ys, 0, ystep * (size_t)sets);
    if (ws) memset(ws, 0, wsb);
    memset(samples, 0, C1_MAX_SAMPLES * sizeof *samples);

    /* The check (runtime/trial.h): poisoned output, one run, compared with the double reference; the
     * yardstick only runs. */
    bool correct = true;
    st = c1_is_copy_baseline(v) ? v->ops->run(state, xs, ys, ws)
                                : c1_trial_check(v, state, d, xs, ys, ws, p->ref, p->absum, &m->error, &correct);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "run: ");
        goto done;
    }
    if (c1_is_copy_baseline(v)) goto timing;
    if (!correct) {
        m->outcome = C1_OUTCOME_WRONG;
        c1_trial_explain(v, d, ys, p->ref, m->error, m->message, sizeof m->message);
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
        v->ops->run(state, xs + next * xstep, ys + next * ystep, ws);
        next = (next + 1) % sets;
        runs++;
    } while (runs < 2 || c1_now_s() < warm_until);
    const double per_run = (c1_now_s() - t0) / runs;
    const int group = c1_child_group_size(per_run, INT_MAX / 2);
    m->runs_per_sample = group;

    const long faults0 = page_faults();
    const double stop = c1_now_s() + o->budget_s;
    int n = 0;
    while (n < C1_MAX_SAMPLES) {
        t0 = c1_now_s();
        for (int g = 0; g < group; g++) {
            v->ops->run(state, xs + next * xstep, ys + next * ystep, ws);
            next = (next + 1) % sets;
        }
        samples[n++] = (c1_now_s() - t0) * 1e3 / group;
        if (c1_child_timing_done(samples, n, o, stop)) break;
    }
    m->timed_faults = page_faults() - faults0;
    c1_child_disarm_run_limit();
    c1_child_record_timing(m, samples, n);
done:
    c1_child_disarm_run_limit();
    m->wall_s = c1_now_s() - t_start;
    free(samples);
    free(ws);
    free(xs);
    free(ys);
    v->ops->release(state);
    return 0;
}

/* Where a child of c1_measure_many is: the variant it measures since when, and how many are done. */
typedef struct many_progress {
    volatile int current, done;
    volatile double started;
} many_progress;

typedef struct many_args {
    const c1_variant *const *vs;
    int n, first;
    const c1_problem *p;
    const c1_measure_opts *o;
    many_progress *progress; /* shared */
    c1_measurement *m;       /* shared, n of them */
} many_args;

static int many_child(void *arg, void *shared)
{
    (void)shared;
    many_args *a = arg;
    for (int i = a->first; i < a->n; i++) {
        a->progress->started = c1_now_s();
        __sync_synchronize();
        a->progress->current = i;
        __sync_synchronize();
        const c1_child_args ca = {a->vs[i], a->p, a->o};
        measure_child((void *)&ca, &a->m[i]);
        __sync_synchronize();
        a->progress->done = i + 1;
        if (a->m[i].outcome != C1_OUTCOME_OK && a->m[i].outcome != C1_OUTCOME_UNSUPPORTED) break;
    }
    return 0;
}

static double many_deadline(void *arg)
{
    const many_args *a = arg;
    return a->progress->started + a->o->timeout_s;
}

conv1d_status c1_measure_many(const c1_variant *const *vs, int n, const c1_problem *p, const c1_measure_opts *o,
                              c1_measurement *m)
{
    if (n <= 0) return CONV1D_OK;
    if (!topology && hwloc_topology_init(&topology) == 0 && hwloc_topology_load(topology) != 0) {
        hwloc_topology_destroy(topology);
        topology = NULL;
    }
    const size_t bytes = sizeof(many_progress) + (size_t)n * sizeof(c1_measurement);
    char *shared = c1_shared_alloc(bytes);
    if (!shared) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not map memory shared with the measurement child.");
    many_args args = {vs, n, 0, p, o, (many_progress *)shared, (c1_measurement *)(shared + sizeof(many_progress))};
    conv1d_status st = CONV1D_OK;
    int next = 0;
    while (next < n && st == CONV1D_OK) {
        for (int i = next; i < n; i++) {
            memset(&args.m[i], 0, sizeof args.m[i]);
            args.m[i].error.bad_index = -1;
        }
        args.first = next;
        args.progress->current = args.progress->done = next;
        args.progress->started = c1_now_s();
        c1_outcome outcome;
        char detail[160];
        st = c1_sandbox_run_watched(many_child, &args, shared, many_deadline, &args, o->timeout_s, &outcome, detail,
                                    sizeof detail);
        if (st != CONV1D_OK) break;
        const int done = args.progress->done, current = args.progress->current;
        if (outcome == C1_OUTCOME_OK) {
            if (done > next) {
                next = done;
                continue;
            }
            if (current >= done && args.m[current].outcome == C1_OUTCOME_TIMEOUT) {
                /* Stopped at its run limit after prepare: the child wrote why before it left. */
                args.m[current].wall_s = c1_now_s() - args.progress->started;
                next = current + 1;
                continue;
            }
            outcome = C1_OUTCOME_CRASHED; /* exited cleanly without a result: cannot happen, but say so */
            snprintf(detail, sizeof detail, "ended without reporting a result");
        }
        /* The child died or was killed: variants before `done` have their results; the one it was measuring
         * (if it had not finished it) gets the child's fate. */
        if (current >= done) {
            c1_measurement *mc = &args.m[current];
            memset(mc, 0, sizeof *mc);
            mc->error.bad_index = -1;
            mc->outcome = outcome;
            mc->wall_s = c1_now_s() - args.progress->started;
            snprintf(mc->message, sizeof mc->message, "The measurement child %s.", detail);
            next = current + 1;
        } else {
            next = done;
        }
    }
    if (st == CONV1D_OK) memcpy(m, args.m, (size_t)n * sizeof *m);
    c1_shared_free(shared, bytes);
    return st;
}

conv1d_status c1_measure(const c1_variant *v, const c1_problem *p, const c1_measure_opts *o, c1_measurement *m)
{
    memset(m, 0, sizeof *m);
    m->error.bad_index = -1;
    return c1_measure_many(&v, 1, p, o, m);
}

