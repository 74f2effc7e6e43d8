/*
 * One variant on one problem: prepare, check against the reference, time; all inside a child process.
 *
 * CPU variants run on host buffers with OpenMP threads pinned to cores and are timed with the monotonic
 * clock. CUDA variants run on device buffers the child allocates, on a stream the child creates, and are
 * timed with CUDA events on that stream; the parent never touches CUDA (a context does not survive fork()).
 * Both paths share the check (NaN-poisoned output against the double reference), the warm-up that sizes
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "conv1d_ref.h"
#include "half.h"
#include "error.h"
#include "measure.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_peaks.h"
#include "cuda_util.h"
#endif

#define MAX_ROTATION_SETS 64
#define ROTATION_MEMORY_CAP (1ull << 30)
/* Every buffer set starts on a 256-byte boundary, as a framework's tensors do (PyTorch aligns CPU tensors to 64
 * bytes, CUDA ones to 256): a kernel's aligned and streaming-store paths are then taken on every set, as they
 * would be in production, and no set straddles cache lines differently from the next. */
#define SET_ALIGN 256

static size_t set_stride(size_t bytes) { return (bytes + SET_ALIGN - 1) / SET_ALIGN * SET_ALIGN; }

/* ---- the copy yardstick ---- */

typedef struct copy_state {
    size_t xb, yb;
} copy_state;

static conv1d_status copy_supports(const c1_variant *v, const conv1d_desc *d) { return CONV1D_OK; }

static conv1d_status copy_prepare(const c1_variant *v, const conv1d_desc *d, const void *w_arg, const void *b_arg,
                                  void **state)
{
    copy_state *s = malloc(sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the copy yardstick's state.");
    s->xb = (size_t)conv1d_input_elems(d) * conv1d_dtype_size(d->dtype); /* the bytes of any dtype */
    s->yb = (size_t)conv1d_output_elems(d) * conv1d_dtype_size(d->dtype);
    *state = s;
    return CONV1D_OK;
}

/* In 256 KiB chunks over all threads, as the kernels use all threads: memcpy of the common part, memset of
 * the rest of a longer output, a summing read of the rest of a longer input. */
static conv1d_status copy_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const unsigned char *x = x_arg; /* bytes: the yardstick moves any dtype's */
    unsigned char *y = y_arg;
    const copy_state *s = state;
    const size_t common = s->xb < s->yb ? s->xb : s->yb, total = s->xb > s->yb ? s->xb : s->yb;
    const size_t chunk = 256 << 10;
    const int64_t chunks = (int64_t)((total + chunk - 1) / chunk);
    unsigned sink = 0;
#pragma omp parallel for schedule(static) reduction(+ : sink)
    for (int64_t c = 0; c < chunks; c++) {
        const size_t lo = (size_t)c * chunk, hi = lo + chunk < total ? lo + chunk : total;
        if (lo < common) memcpy((char *)y + lo, (const char *)x + lo, (hi < common ? hi : common) - lo);
        const size_t rest = lo > common ? lo : common;
        if (hi > rest && s->yb > s->xb) memset((char *)y + rest, 0, hi - rest);
        if (hi > rest && s->xb > s->yb)
            for (size_t i = rest / 2; i < hi / 2; i++) sink += ((const uint16_t *)(const void *)x)[i]; /* sizes are even */
    }
    if (sink == 12345u) y[0] = (unsigned char)sink; /* keeps the extra input reads */
    return CONV1D_OK;
}

static void copy_release(void *state) { free(state); }

static const c1_variant_ops copy_ops = {
    .supports = copy_supports, .prepare = copy_prepare, .run = copy_run, .release = copy_release};

const c1_variant c1_copy_baseline = {"copy", "baseline", C1_DEVICE_CPU, C1_PREC_FP32, C1_ISA_LEVEL_C, &copy_ops, {0}};

#ifdef C1_HAVE_CUDA
/* The GPU yardstick moves xb + yb bytes through DRAM like the CPU one: cudaMemcpyAsync of the common part
 * (read once, written once), cudaMemsetAsync of a longer output's rest (written once), and for a longer
 * input, half of its rest copied into the workspace (rest/2 read + rest/2 written = the rest's bytes), as the
 * copy engines cannot read without writing. */
static size_t copy_cuda_workspace(const void *state)
{
    const copy_state *s = state;
    return s->xb > s->yb ? ((s->xb - s->yb) / 2 + 255) / 256 * 256 : 0;
}

static conv1d_status copy_cuda_run_async(const void *state, const void *x, void *y, void *workspace, void *stream)
{
    const copy_state *s = state;
    cudaStream_t st = (cudaStream_t)stream;
    const size_t common = s->xb < s->yb ? s->xb : s->yb;
    C1_CUDA_TRY("copy", cudaMemcpyAsync(y, x, common, cudaMemcpyDeviceToDevice, st));
    if (s->yb > common) C1_CUDA_TRY("copy", cudaMemsetAsync((char *)y + common, 0, s->yb - common, st));
    if (s->xb > common) {
        const size_t half = (s->xb - common) / 2;
        if (half > 0 && workspace)
            C1_CUDA_TRY("copy", cudaMemcpyAsync(workspace, (const char *)x + common, half, cudaMemcpyDeviceToDevice,
                                                st));
    }
    return CONV1D_OK;
}

static conv1d_status copy_cuda_run(const void *state, const void *x, void *y, void *workspace)
{
    conv1d_status st = copy_cuda_run_async(state, x, y, workspace, NULL);
    if (st != CONV1D_OK) return st;
    C1_CUDA_TRY("copy", cudaStreamSynchronize(NULL));
    return CONV1D_OK;
}

static const c1_variant_ops copy_cuda_ops = {.available = c1_cuda_available,
                                             .supports = copy_supports,
                                             .prepare = copy_prepare,
                                             .workspace_bytes = copy_cuda_workspace,
                                             .run = copy_cuda_run,
                                             .release = copy_release,
                                             .run_async = copy_cuda_run_async};

static const c1_variant copy_baseline_cuda = {"copy", "baseline", C1_DEVICE_CUDA, C1_PREC_FP32, C1_ISA_LEVEL_C, &copy_cuda_ops, {0}};
#endif

const c1_variant *c1_copy_baseline_for(c1_device dev)
{
    if (dev == C1_DEVICE_CPU) return &c1_copy_baseline;
#ifdef C1_HAVE_CUDA
    if (dev == C1_DEVICE_CUDA) return &copy_baseline_cuda;
#endif
    return NULL;
}

bool c1_is_copy_baseline(const c1_variant *v)
{
#ifdef C1_HAVE_CUDA
    if (v == &copy_baseline_cuda) return true;
#endif
    return v == &c1_copy_baseline;
}

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
    const conv1d_desc *d = &p->d;
    double *ref = shared;
    if (c1_ref_conv1d_f64(d, p->xf, p->wf, p->bf, ref) != CONV1D_OK) return 1;
    if (!p->absum) return 0;
    /* The bound of c1_compare16: the same convolution on the magnitudes. */
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), nb = d->has_bias ? d->out_channels : 0;
    float *ax = malloc((size_t)(nx + nw + nb) * sizeof(float));
    if (!ax) return 1;
    float *aw = ax + nx, *ab = aw + nw;
    for (int64_t i = 0; i < nx; i++) ax[i] = fabsf(p->xf[i]);
    for (int64_t i = 0; i < nw; i++) aw[i] = fabsf(p->wf[i]);
    for (int64_t i = 0; i < nb; i++) ab[i] = fabsf(p->bf[i]);
    const conv1d_status st = c1_ref_conv1d_f64(d, ax, aw, nb ? ab : NULL, p->absum);
    free(ax);
    return st == CONV1D_OK ? 0 : 1;
}

void c1_problem_destroy(c1_problem *p)
{
    const size_t ny = (size_t)conv1d_output_elems(&p->d);
    if (p->xf != p->x) free(p->xf);
    if (p->wf != p->w) free(p->wf);
    if (p->bf != p->b) free(p->bf);
    free(p->x);
    free(p->w);
    free(p->b);
    c1_shared_free(p->ref, ny * sizeof(double));
    c1_shared_free(p->absum, ny * sizeof(double));
    memset(p, 0, sizeof *p);
}

/* n random values into f (as c1_fill_random), rounded to dtype t and stored in raw (16-bit t), f then holding
 * the rounded values; for f32, raw is f and nothing is rounded. */
static void fill_random_in(conv1d_dtype t, float *f, void *raw, int64_t n, uint64_t *s)
{
    c1_fill_random(f, n, s);
    if (t == CONV1D_F32) return;
    uint16_t *h = raw;
    for (int64_t i = 0; i < n; i++) {
        h[i] = t == CONV1D_BF16 ? c1_f32_to_bf16(f[i]) : c1_f32_to_f16(f[i]);
        f[i] = t == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
    }
}

conv1d_status c1_problem_create(const conv1d_desc *d, uint64_t seed, double timeout_s, c1_problem *p)
{
    memset(p, 0, sizeof *p);
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    p->d = *d;
    p->seed = seed;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0;
    const bool narrow = d->dtype != CONV1D_F32;
    const size_t es = conv1d_dtype_size(d->dtype);
    p->xf = malloc((size_t)nx * sizeof(float));
    p->wf = malloc((size_t)nw * sizeof(float));
    p->bf = nb ? malloc((size_t)nb * sizeof(float)) : NULL;
    p->x = narrow ? malloc((size_t)nx * es) : p->xf;
    p->w = narrow ? malloc((size_t)nw * es) : p->wf;
    p->b = narrow && nb ? malloc((size_t)nb * es) : p->bf;
    p->ref = c1_shared_alloc((size_t)ny * sizeof(double));
    if (narrow) p->absum = c1_shared_alloc((size_t)ny * sizeof(double));
    if (!p->x || !p->w || !p->xf || !p->wf || (nb && (!p->b || !p->bf)) || !p->ref || (narrow && !p->absum)) {
        c1_problem_destroy(p);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the test problem (%lld input, %lld output elements).",
                       (long long)nx, (long long)ny);
    }
    uint64_t s = seed;
    fill_random_in(d->dtype, p->xf, p->x, nx, &s);
    fill_random_in(d->dtype, p->wf, p->w, nw, &s);
    if (nb) fill_random_in(d->dtype, p->bf, p->b, nb, &s);

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
static void arm_run_limit(c1_measurement *m, double seconds, double t_start)
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

static void disarm_run_limit(void)
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

static void set_message(c1_measurement *m, c1_outcome outcome, const char *prefix)
{
    m->outcome = outcome;
    snprintf(m->message, sizeof m->message, "%s%s", prefix, conv1d_last_error());
}

/* Compares a checked run's output (host memory, elements of the problem's dtype) with the reference; false
 * (outcome WRONG, the reason in m->message) when it fails the precision class's check. */
static bool check_output(const c1_variant *v, const c1_problem *p, const void *ys, c1_measurement *m)
{
    const conv1d_desc *d = &p->d;
    const int64_t ny = conv1d_output_elems(d);
    const bool narrow = d->dtype != CONV1D_F32;
    const int64_t terms = d->in_channels / d->num_groups * d->kernel_size + (d->has_bias ? 1 : 0);
    m->error = narrow ? c1_compare16(ys, d->dtype, p->ref, p->absum, ny, terms) : c1_compare(ys, p->ref, ny);
    if (c1_error_ok(m->error, c1_precision_tolerance(v->precision))) return true;
    m->outcome = C1_OUTCOME_WRONG;
    const uint16_t *h = ys;
    const float *f = ys;
    if (m->error.bad_index >= 0) {
        const int64_t i = m->error.bad_index;
        const double y = !narrow ? f[i] : d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
        snprintf(m->message, sizeof m->message, "Output element %lld is %g (unwritten or not finite).", (long long)i, y);
    } else if (m->error.outside > 0) {
        const int64_t i = m->error.first_outside;
        const double y = d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
        snprintf(m->message, sizeof m->message,
                 "%lld outputs beyond one %s rounding of an fp32 sum (element %lld: %g, reference %g; worst %.2f ulp).",
                 (long long)m->error.outside, conv1d_dtype_name(d->dtype), (long long)i, y, p->ref[i],
                 m->error.ulp_max);
    } else
        snprintf(m->message, sizeof m->message, "Error %.3g of max|ref| (relative L2 %.3g) exceeds the %s threshold %.1g.",
                 m->error.rel_max, m->error.rel_l2, c1_precision_name(v->precision),
                 c1_precision_tolerance(v->precision).rel_max);
    return false;
}

/* The stopping rule: at least min_repeats samples; then stop at the budget's end, or once there are twice
 * min_repeats and the 95% CI of the median is within +-target_ci of it. */
/* A timed variant's outcome: its samples kept and their statistics (sorts samples). */
static void record_timing(c1_measurement *m, double *samples, int n)
{
    memcpy(m->samples, samples, (size_t)n * sizeof *samples);
    m->nsamples = n;
    m->time_ms = c1_stats_compute(samples, n);
    m->outcome = C1_OUTCOME_OK;
}

static bool timing_done(const double *samples, int n, const c1_measure_opts *o, double stop)
{
    if (n < o->min_repeats) return false;
    if (c1_now_s() > stop) return true;
    double tmp[C1_MAX_SAMPLES];
    memcpy(tmp, samples, (size_t)n * sizeof *tmp);
    const c1_stats s = c1_stats_compute(tmp, n);
    return (s.ci_hi - s.ci_lo) / 2 <= o->target_ci * s.median && n >= 2 * o->min_repeats;
}

/* Kernels under 100 us are timed in groups, so the clock's resolution and overhead do not show. */
static int group_size(double per_run_s, int max_group)
{
    int group = per_run_s > 0 ? (int)fmin(ceil(1e-4 / per_run_s), (double)max_group) : 1;
    return group < 1 ? 1 : group;
}

#ifdef C1_HAVE_CUDA
/* Groups of short GPU runs stay below this many launches per sample: a stream holds about a thousand pending
 * launches before the host blocks, and the runs of a sample are enqueued behind a busy wait. */
#define GPU_MAX_GROUP 256
/* The busy wait before each start event (see measure_child_cuda), and how many samples may be dropped for
 * an enqueue that outlasted it. */
#define GPU_MIN_SPIN_S 50e-6
#define GPU_MAX_SPIN_S 0.2
#define GPU_MAX_DROPPED 20
/* L2 size assumed when the runtime does not report one (H100: 50 MiB). */
#define GPU_DEFAULT_L2 (64.0 * 1024 * 1024)

/* In measure_child_cuda: a failed CUDA call ends the measurement as FAILED with the runtime's sentence. */
#define GPU_TRY(what, call)                                                \
    do {                                                                   \
        if (c1_cuda_status((int)(call), v->name, (what)) != CONV1D_OK) {   \
            set_message(m, C1_OUTCOME_FAILED, "");                         \
            goto done;                                                     \
        }                                                                  \
    } while (0)

/* Enqueues one run on the stream; a variant without run_async runs synchronously on the legacy stream
 * (the caller then passes stream NULL). */
static conv1d_status gpu_launch(const c1_variant *v, const void *state, const float *x, float *y, void *ws,
                                cudaStream_t stream)
{
    if (v->ops->run_async) return v->ops->run_async(state, x, y, ws, stream);
    return v->ops->run(state, x, y, ws);
}

/* The CUDA path of the measurement child: the CPU path's protocol on device buffers, timed with events. */
static int measure_child_cuda(const child_args *a, c1_measurement *m, double t_start)
{
    const c1_variant *v = a->v;
    const c1_problem *p = a->p;
    const c1_measure_opts *o = a->o;
    const conv1d_desc *d = &p->d;
    void *state = NULL, *ws = NULL;
    char *xs = NULL, *ys = NULL;
    float *host_y = NULL;
    double *samples = NULL;
    cudaStream_t stream = NULL;
    cudaEvent_t ev0 = NULL, ev1 = NULL;
    bool prepared = false;
    m->threads = 1; /* one host thread drives the device */

    conv1d_status st = c1_variant_applies(v, d);
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "");
        goto done;
    }
    st = v->ops->prepare(v, d, p->w, p->b, &state);
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "prepare: ");
        goto done;
    }
    prepared = true;
    arm_run_limit(m, o->run_limit_s, t_start);
    if (v->ops->impl_info && v->ops->impl_info(state))
        snprintf(m->impl, sizeof m->impl, "%s", v->ops->impl_info(state));

    const int64_t ny = conv1d_output_elems(d);
    const size_t es = conv1d_dtype_size(d->dtype);
    const size_t xb = (size_t)conv1d_input_elems(d) * es, yb = (size_t)ny * es;
    const size_t wsb = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;

    /* Enough input/output sets that cycling through them evicts the L2, within half the free memory. */
    int dev = 0, l2 = 0, sets = 1;
    size_t free_bytes = 0, total_bytes = 0;
    GPU_TRY("cudaGetDevice", cudaGetDevice(&dev));
    GPU_TRY("cudaDeviceGetAttribute(L2 size)", cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    GPU_TRY("cudaMemGetInfo", cudaMemGetInfo(&free_bytes, &total_bytes));
    if (o->rotate && !o->check_only) {
        const double per_set = (double)(xb + yb);
        sets = (int)ceil(2.0 * (l2 > 0 ? (double)l2 : GPU_DEFAULT_L2) / per_set);
        if (sets < 1) sets = 1;
        if (sets > MAX_ROTATION_SETS) sets = MAX_ROTATION_SETS;
        while (sets > 1 && (per_set * sets > ROTATION_MEMORY_CAP || per_set * sets > free_bytes / 2.0)) sets--;
    }
    m->buffer_sets = sets;
    const size_t xstep = set_stride(xb), ystep = set_stride(yb);
    GPU_TRY("cudaMalloc(input sets)", cudaMalloc((void **)&xs, xstep * (size_t)sets));
    GPU_TRY("cudaMalloc(output sets)", cudaMalloc((void **)&ys, ystep * (size_t)sets));
    if (wsb) GPU_TRY("cudaMalloc(workspace)", cudaMalloc(&ws, wsb));
    host_y = malloc(yb);
    samples = malloc(C1_MAX_SAMPLES * sizeof *samples);
    if (!host_y || !samples) {
        m->outcome = C1_OUTCOME_FAILED;
        snprintf(m->message, sizeof m->message, "Out of host memory for the output copy (%zu bytes).", yb);
        goto done;
    }
    /* A blocking stream also orders against the legacy stream, which a variant without run_async uses. */
    if (v->ops->run_async) GPU_TRY("cudaStreamCreate", cudaStreamCreate(&stream));
    GPU_TRY("cudaEventCreate", cudaEventCreate(&ev0));
    GPU_TRY("cudaEventCreate", cudaEventCreate(&ev1));
    for (int s = 0; s < sets; s++)
        GPU_TRY("cudaMemcpy(input upload)", cudaMemcpy(xs + (size_t)s * xstep, p->x, xb, cudaMemcpyHostToDevice));
    /* Every set's output starts as NaN too, so a later run cannot be mistaken for a checked one. */
    GPU_TRY("cudaMemset(NaN poison)", cudaMemset(ys, 0xFF, ystep * (size_t)sets));
    /* A pageable upload may still be in flight when cudaMemcpy returns. */
    GPU_TRY("cudaDeviceSynchronize(uploads)", cudaDeviceSynchronize());

    /* The check: one run on the poisoned output, copied back, against the reference (not the yardstick). */
    st = gpu_launch(v, state, (const float *)xs, (float *)ys, ws, stream);
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "run: ");
        goto done;
    }
    GPU_TRY("cudaStreamSynchronize(checked run)", cudaStreamSynchronize(stream));
    GPU_TRY("cudaGetLastError(checked run)", cudaGetLastError());
    if (!c1_is_copy_baseline(v)) {
        GPU_TRY("cudaMemcpy(output download)", cudaMemcpy(host_y, ys, yb, cudaMemcpyDeviceToHost));
        if (!check_output(v, p, host_y, m)) goto done;
        if (o->check_only) {
            m->outcome = C1_OUTCOME_OK;
            goto done;
        }
    }

    /* Unbiased starts. The start event is recorded behind a busy wait on the stream, so the runs of a sample
     * are already enqueued when the GPU reaches it and run back to back: the host's enqueue work (a
     * library's handle mutex and stream setting, its extra copies and bias kernels, the launch itself) is
     * not charged to a short kernel, for our kernels, cuDNN and the copy alike. The wait lasts twice the
     * longest host enqueue seen for that many runs, at least 50 us; a sample whose enqueue outlasted its
     * wait (the host was descheduled) is dropped and the wait doubled. */
    double spin_s = GPU_MIN_SPIN_S, enqueue_per_run_s = 0;
    int dropped = 0;

    /* Warm-up: at least two runs and 20 ms (or a tenth of the budget); the event times size a sample. */
    int next = 0, runs = 0;
    double gpu_ms = 0;
    const double warm_until = c1_now_s() + fmin(0.02, o->budget_s / 10);
    do {
        GPU_TRY("busy wait", c1_cuda_busy_wait(spin_s, stream));
        GPU_TRY("cudaEventRecord", cudaEventRecord(ev0, stream));
        const double h0 = c1_now_s();
        st = gpu_launch(v, state, (const float *)(xs + (size_t)next * xstep), (float *)(ys + (size_t)next * ystep), ws,
                        stream);
        if (st != CONV1D_OK) {
            set_message(m, C1_OUTCOME_FAILED, "run: ");
            goto done;
        }
        enqueue_per_run_s = fmax(enqueue_per_run_s, c1_now_s() - h0);
        GPU_TRY("cudaEventRecord", cudaEventRecord(ev1, stream));
        GPU_TRY("cudaEventSynchronize(warm-up)", cudaEventSynchronize(ev1));
        float ms = 0;
        GPU_TRY("cudaEventElapsedTime", cudaEventElapsedTime(&ms, ev0, ev1));
        gpu_ms += ms;
        next = (next + 1) % sets;
        runs++;
    } while (runs < 2 || c1_now_s() < warm_until);
    const int group = group_size(gpu_ms / runs / 1e3, GPU_MAX_GROUP);
    m->runs_per_sample = group;
    spin_s = fmin(GPU_MAX_SPIN_S, fmax(GPU_MIN_SPIN_S, 2.0 * enqueue_per_run_s * group));

    /* A sample: `group` runs back to back between two events, rotating the sets. */
    const double stop = c1_now_s() + o->budget_s;
    int n = 0;
    while (n < C1_MAX_SAMPLES) {
        GPU_TRY("busy wait", c1_cuda_busy_wait(spin_s, stream));
        GPU_TRY("cudaEventRecord", cudaEventRecord(ev0, stream));
        const double h0 = c1_now_s();
        for (int g = 0; g < group; g++) {
            st = gpu_launch(v, state, (const float *)(xs + (size_t)next * xstep), (float *)(ys + (size_t)next * ystep), ws,
                            stream);
            if (st != CONV1D_OK) {
                set_message(m, C1_OUTCOME_FAILED, "run: ");
                goto done;
            }
            next = (next + 1) % sets;
        }
        const double enqueue_s = c1_now_s() - h0;
        GPU_TRY("cudaEventRecord", cudaEventRecord(ev1, stream));
        GPU_TRY("cudaEventSynchronize(sample)", cudaEventSynchronize(ev1));
        float ms = 0;
        GPU_TRY("cudaEventElapsedTime", cudaEventElapsedTime(&ms, ev0, ev1));
        if (enqueue_s > 0.8 * spin_s && spin_s < GPU_MAX_SPIN_S && dropped < GPU_MAX_DROPPED && c1_now_s() < stop) {
            spin_s = fmin(GPU_MAX_SPIN_S, fmax(2 * spin_s, 2 * enqueue_s));
            dropped++;
            continue;
        }
        samples[n++] = (double)ms / group;
        if (timing_done(samples, n, o, stop)) break;
    }
    GPU_TRY("cudaGetLastError(timing)", cudaGetLastError());
    disarm_run_limit();
    record_timing(m, samples, n);
done:
    disarm_run_limit();
    m->wall_s = c1_now_s() - t_start;
    free(samples);
    free(host_y);
    /* Teardown after a sticky error fails too; the outcome already says why, and the child exits next. */
    if (ev0) (void)cudaEventDestroy(ev0);
    if (ev1) (void)cudaEventDestroy(ev1);
    if (stream) (void)cudaStreamDestroy(stream);
    if (ws) (void)cudaFree(ws);
    if (ys) (void)cudaFree(ys);
    if (xs) (void)cudaFree(xs);
    if (prepared) v->ops->release(state);
    return 0;
}
#undef GPU_TRY
#endif

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

    if (v->device == C1_DEVICE_CUDA) {
#ifdef C1_HAVE_CUDA
        return measure_child_cuda(a, m, t_start);
#else
        m->outcome = C1_OUTCOME_UNSUPPORTED;
        snprintf(m->message, sizeof m->message, "%s is a CUDA variant, and this build has no CUDA.", v->name);
        return 0;
#endif
    }
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
    arm_run_limit(m, o->run_limit_s, t_start);
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
    const size_t xstep = set_stride(xb), ystep = set_stride(yb);
    char *xs = aligned_alloc(SET_ALIGN, xstep * (size_t)sets), *ys = aligned_alloc(SET_ALIGN, ystep * (size_t)sets);
    void *ws = wsb ? malloc(wsb) : NULL;
    double *samples = malloc(C1_MAX_SAMPLES * sizeof *samples);
    if (!xs || !ys || (wsb && !ws) || !samples) {
        m->outcome = C1_OUTCOME_FAILED;
        snprintf(m->message, sizeof m->message, "Out of memory for %d buffer sets of %zu bytes.", sets, xb + yb);
        goto done;
    }
    for (int s = 0; s < sets; s++) memcpy((char *)xs + s * xstep, p->x, xb);

    /* The check: poisoned output, one run, compared with the double reference (not for the yardstick). */
    memset(ys, 0xFF, yb); /* NaN in every dtype */
    st = v->ops->run(state, xs, ys, ws);
    if (st == CONV1D_OK && c1_is_copy_baseline(v)) goto timing;
    if (st != CONV1D_OK) {
        set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "run: ");
        goto done;
    }
    if (!check_output(v, p, ys, m)) goto done;
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
    const int group = group_size(per_run, INT_MAX / 2);
    m->runs_per_sample = group;

    const double stop = c1_now_s() + o->budget_s;
    int n = 0;
    while (n < C1_MAX_SAMPLES) {
        t0 = c1_now_s();
        for (int g = 0; g < group; g++) {
            v->ops->run(state, xs + next * xstep, ys + next * ystep, ws);
            next = (next + 1) % sets;
        }
        samples[n++] = (c1_now_s() - t0) * 1e3 / group;
        if (timing_done(samples, n, o, stop)) break;
    }
    disarm_run_limit();
    record_timing(m, samples, n);
done:
    disarm_run_limit();
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
        const child_args ca = {a->vs[i], a->p, a->o};
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

/* ---- the GPU probes: CUDA is queried only in children ---- */

#ifdef C1_HAVE_CUDA

/* Copies what c1_hw_collect_gpu fills. */
static void copy_gpu_fields(c1_hwinfo *dst, const c1_hwinfo *src)
{
    dst->cuda_compiled = src->cuda_compiled;
    dst->cuda_driver_version = src->cuda_driver_version;
    dst->cuda_runtime_version = src->cuda_runtime_version;
    dst->cudnn_version = src->cudnn_version;
    memcpy(dst->cuda_error, src->cuda_error, sizeof dst->cuda_error);
    dst->cuda_error[sizeof dst->cuda_error - 1] = '\0';
    dst->gpu_count = src->gpu_count >= 0 && src->gpu_count <= C1_HW_MAX_GPUS ? src->gpu_count : 0;
    memcpy(dst->gpus, src->gpus, sizeof dst->gpus);
}

static int gpu_probe_child(void *arg, void *shared)
{
    c1_hw_collect_gpu(shared);
    return 0;
}
#endif

void c1_hw_gpu_probe_isolated(c1_hwinfo *hw)
{
#ifdef C1_HAVE_CUDA
    /* The GPUs of a process do not change while it runs: one probe child per process. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static c1_hwinfo *answer;
    pthread_mutex_lock(&lock);
    if (!answer) {
        c1_hwinfo *shared = c1_shared_alloc(sizeof *shared);
        c1_hwinfo *copy = calloc(1, sizeof *copy);
        if (shared && copy) {
            c1_outcome outcome;
            char detail[160];
            const conv1d_status st =
                c1_sandbox_run(gpu_probe_child, NULL, shared, 60.0, &outcome, detail, sizeof detail);
            if (st == CONV1D_OK && outcome == C1_OUTCOME_OK) {
                copy_gpu_fields(copy, shared);
            } else {
                copy->cuda_compiled = 1;
                snprintf(copy->cuda_error, sizeof copy->cuda_error, "the GPU probe child %s",
                         st == CONV1D_OK ? detail : conv1d_last_error());
            }
            answer = copy;
            copy = NULL;
        }
        free(copy);
        c1_shared_free(shared, sizeof *shared);
    }
    if (answer) {
        copy_gpu_fields(hw, answer);
    } else {
        c1_hwinfo none = {.cuda_compiled = 1, .cuda_error = "out of memory for the GPU probe"};
        copy_gpu_fields(hw, &none);
    }
    pthread_mutex_unlock(&lock);
#else
    c1_hw_collect_gpu(hw);
#endif
}

/* Programs that link the harness fork measurement children: their GPU facts come from a probe child. */
__attribute__((constructor)) static void install_gpu_probe(void) { c1_hw_set_gpu_probe(c1_hw_gpu_probe_isolated); }

typedef struct gpu_peaks_result {
    double gflops, gbs;
    char message[256];
} gpu_peaks_result;

#ifdef C1_HAVE_CUDA
static int gpu_peaks_child(void *arg, void *shared)
{
    gpu_peaks_result *r = shared;
    if (c1_cuda_measure_peaks(&r->gflops, &r->gbs) != 0) {
        snprintf(r->message, sizeof r->message, "%s", conv1d_last_error());
        return 1;
    }
    return 0;
}
#endif

conv1d_status c1_gpu_peaks_isolated(double timeout_s, double *gflops, double *gbs)
{
    *gflops = *gbs = 0;
#ifndef C1_HAVE_CUDA
    (void)timeout_s;
    return c1_fail(CONV1D_UNSUPPORTED, "This build has no CUDA, so there are no GPU ceilings to measure.");
#else
    if (!c1_cuda_available()) return c1_fail(CONV1D_UNSUPPORTED, "This machine has no NVIDIA driver device node.");
    gpu_peaks_result *r = c1_shared_alloc(sizeof *r);
    if (!r) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not map memory shared with the GPU ceilings child.");
    c1_outcome outcome;
    char detail[160];
    conv1d_status st = c1_sandbox_run(gpu_peaks_child, NULL, r, timeout_s, &outcome, detail, sizeof detail);
    if (st == CONV1D_OK && outcome != C1_OUTCOME_OK && r->message[0])
        st = c1_fail(CONV1D_DEVICE_ERROR, "Measuring the GPU ceilings failed: %s", r->message);
    else if (st == CONV1D_OK && outcome != C1_OUTCOME_OK)
        st = c1_fail(CONV1D_DEVICE_ERROR, "Measuring the GPU ceilings failed: the child %s.", detail);
    else if (st == CONV1D_OK && !(r->gflops > 0 && r->gbs > 0 && isfinite(r->gflops) && isfinite(r->gbs)))
        st = c1_fail(CONV1D_DEVICE_ERROR, "The GPU ceilings child reported %g GFLOP/s and %g GB/s.", r->gflops,
                     r->gbs);
    if (st == CONV1D_OK) {
        *gflops = r->gflops;
        *gbs = r->gbs;
    }
    c1_shared_free(r, sizeof *r);
    return st;
#endif
}
