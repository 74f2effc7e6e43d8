/*
 * The measurement child's CUDA path (measure.h): the CPU path's protocol on device buffers the child
 * allocates, on a stream of its own, timed with CUDA events; the parent never touches CUDA.
 */
#ifdef C1_HAVE_CUDA
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "basics.h"
#include "cuda_peaks.h"
#include "cuda_util.h"
#include "error.h"
#include "measure_child.h"

/* Groups of short GPU runs stay below this many launches per sample: a stream holds about a thousand pending
 * launches before the host blocks, and the runs of a sample are enqueued behind a busy wait. */
#define GPU_MAX_GROUP 256
/* The busy wait before each start event (see c1_measure_child_cuda), and how many samples may be dropped for
 * an enqueue that outlasted it. */
#define GPU_MIN_SPIN_S 50e-6
#define GPU_MAX_SPIN_S 0.2
#define GPU_MAX_DROPPED 20
/* L2 size assumed when the runtime does not report one (H100: 50 MiB). */
#define GPU_DEFAULT_L2 (64.0 * 1024 * 1024)

/* In c1_measure_child_cuda: a failed CUDA call ends the measurement as FAILED with the runtime's sentence. */
#define GPU_TRY(what, call)                                                \
    do {                                                                   \
        if (c1_cuda_status((int)(call), v->name, (what)) != CONV1D_OK) {   \
            c1_child_set_message(m, C1_OUTCOME_FAILED, "");                         \
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
int c1_measure_child_cuda(const c1_child_args *a, c1_measurement *m, double t_start)
{
    const c1_variant *v = a->v;
    const c1_problem *p = a->p;
    const c1_measure_opts *o = a->o;
    const conv1d_desc *d = &p->data.d;
    void *state = NULL, *ws = NULL;
    char *xs = NULL, *ys = NULL;
    float *host_y = NULL;
    double *samples = NULL;
    cudaStream_t stream = NULL;
    cudaEvent_t ev0 = NULL, ev1 = NULL;
    bool prepared = false;
    m->threads = 1; /* one host thread drives the device */

    /* The yardstick moves the bytes of any dtype: no precision class to match. */
    conv1d_status st = c1_is_copy_baseline(v) ? CONV1D_OK : c1_variant_applies(v, d);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "");
        goto done;
    }
    st = v->ops->prepare(v, d, NULL, p->data.w, p->data.b, &state);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "prepare: ");
        goto done;
    }
    prepared = true;
    c1_child_arm_run_limit(m, o->run_limit_s, t_start);
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
    const size_t xstep = c1_set_stride(xb), ystep = c1_set_stride(yb);
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
        GPU_TRY("cudaMemcpy(input upload)", cudaMemcpy(xs + (size_t)s * xstep, p->data.x, xb, cudaMemcpyHostToDevice));
    /* Every set's output starts as NaN too, so a later run cannot be mistaken for a checked one. */
    GPU_TRY("cudaMemset(NaN poison)", cudaMemset(ys, 0xFF, ystep * (size_t)sets));
    /* A pageable upload may still be in flight when cudaMemcpy returns. */
    GPU_TRY("cudaDeviceSynchronize(uploads)", cudaDeviceSynchronize());

    /* The check: one run on the poisoned output, copied back, against the reference (not the yardstick). */
    st = gpu_launch(v, state, (const float *)xs, (float *)ys, ws, stream);
    if (st != CONV1D_OK) {
        c1_child_set_message(m, st == CONV1D_UNSUPPORTED ? C1_OUTCOME_UNSUPPORTED : C1_OUTCOME_FAILED, "run: ");
        goto done;
    }
    GPU_TRY("cudaStreamSynchronize(checked run)", cudaStreamSynchronize(stream));
    GPU_TRY("cudaGetLastError(checked run)", cudaGetLastError());
    if (!c1_is_copy_baseline(v)) {
        GPU_TRY("cudaMemcpy(output download)", cudaMemcpy(host_y, ys, yb, cudaMemcpyDeviceToHost));
        if (!c1_child_check_output(v, p, host_y, m)) goto done;
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
            c1_child_set_message(m, C1_OUTCOME_FAILED, "run: ");
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
    const int group = c1_child_group_size(gpu_ms / runs / 1e3, GPU_MAX_GROUP);
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
                c1_child_set_message(m, C1_OUTCOME_FAILED, "run: ");
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
        if (c1_child_timing_done(samples, n, o, stop)) break;
    }
    GPU_TRY("cudaGetLastError(timing)", cudaGetLastError());
    c1_child_disarm_run_limit();
    c1_child_record_timing(m, samples, n);
done:
    c1_child_disarm_run_limit();
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
