/*
 * Plans: conv1d_plan_create chooses the variant (lookup.c), set_weights prepares it and allocates a pool
 * of workspaces, execute runs it.
 *
 * Workspaces: a variant's run() needs scratch memory that concurrent calls must not share, and execute
 * must not allocate. The plan therefore owns one workspace per core (at least one, at most
 * MAX_WORKSPACES), each behind an atomic busy flag. execute claims a free one with a compare-and-swap and
 * releases it after the run; when every one is busy (more concurrent callers than cores, who would only
 * slow each other down anyway) the caller yields the processor and tries again. Variants without a
 * workspace skip the pool entirely.
 *
 * CUDA plans (options.device CONV1D_DEVICE_CUDA) choose only among CUDA variants (lookup.c), take device
 * pointers, keep their workspaces in device memory, and execute by enqueuing the variant's run_async on
 * options.cuda_stream and synchronizing that stream: y is written when execute returns, and the workspace is
 * idle again before it goes back to the pool. Plan creation itself makes no CUDA call (the device is only
 * looked for), so it is safe in a process that forks afterwards; set_weights is the first call that creates
 * a CUDA context. A build without CUDA, or a machine without an NVIDIA driver, refuses CUDA plans with
 * CONV1D_UNSUPPORTED.
 */
#include <omp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv1d.h"
#include "cpu_caches.h"
#include "error.h"
#include "isa.h"
#include "lookup.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_util.h"
#endif

#define MAX_WORKSPACES 64
#define WORKSPACE_ALIGN 64

struct conv1d_plan {
    conv1d_desc desc;
    conv1d_options options;
    const c1_variant *variant;
    void *state;                  /* NULL until set_weights */
    size_t ws_bytes;              /* per workspace, rounded up to WORKSPACE_ALIGN */
    int n_ws;                     /* workspaces in the pool, 0 when the variant needs none */
    void *ws[MAX_WORKSPACES];
    atomic_int busy[MAX_WORKSPACES];
    char explain[1536];
};

conv1d_status conv1d_options_init(conv1d_options *o)
{
    if (!o) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_options_init: options pointer is NULL.");
    memset(o, 0, sizeof *o);
    o->db_path = NULL;
    o->threads = 0;
    o->device = CONV1D_DEVICE_CPU;
    o->mode = CONV1D_MODE_DB;
    o->cuda_stream = NULL;
    return CONV1D_OK;
}

static void free_workspaces(conv1d_plan *p)
{
    for (int i = 0; i < p->n_ws; i++) {
#ifdef C1_HAVE_CUDA
        if (p->variant->device == C1_DEVICE_CUDA) {
            cudaFree(p->ws[i]);
            p->ws[i] = NULL;
            continue;
        }
#endif
        free(p->ws[i]);
        p->ws[i] = NULL;
    }
    p->n_ws = 0;
    p->ws_bytes = 0;
}

conv1d_status conv1d_plan_create(conv1d_plan **plan, const conv1d_desc *d, const conv1d_options *o)
{
    if (!plan) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_create: plan pointer is NULL.");
    *plan = NULL;
    if (!d) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_create: descriptor pointer is NULL.");
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    if ((st = c1_isa_check_env()) != CONV1D_OK) return st;
    conv1d_options opts;
    conv1d_options_init(&opts);
    if (o) opts = *o;
    opts.db_path = NULL; /* not kept: the caller's string need not outlive the call */
    if (opts.device != CONV1D_DEVICE_CPU && opts.device != CONV1D_DEVICE_CUDA)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_create: options.device must be CONV1D_DEVICE_CPU or "
                                                "CONV1D_DEVICE_CUDA, got %d.", (int)opts.device);
    if (opts.mode != CONV1D_MODE_DB && opts.mode != CONV1D_MODE_MEASURE && opts.mode != CONV1D_MODE_ESTIMATE)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_create: options.mode must be a CONV1D_MODE_* value, "
                                                "got %d.", (int)opts.mode);
    if (opts.threads < 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_create: options.threads must be >= 0, got %d.",
                       opts.threads);
    if (opts.device == CONV1D_DEVICE_CUDA) {
#ifdef C1_HAVE_CUDA
        if (!c1_cuda_available())
            return c1_fail(CONV1D_UNSUPPORTED, "conv1d_plan_create: a cuda plan needs an NVIDIA GPU, and this machine "
                                               "has no NVIDIA driver device (or CONV1D_NO_CUDA is set).");
#else
        return c1_fail(CONV1D_UNSUPPORTED, "conv1d_plan_create: a cuda plan needs a CUDA build of libconv1d, and "
                                           "this one was built without CUDA.");
#endif
    }

    conv1d_plan *p = calloc(1, sizeof *p);
    if (!p) return c1_fail(CONV1D_OUT_OF_MEMORY, "conv1d_plan_create: cannot allocate a plan.");
    p->desc = *d;
    p->options = opts;
    const c1_device dev = opts.device == CONV1D_DEVICE_CUDA ? C1_DEVICE_CUDA : C1_DEVICE_CPU;
    bool exact;
    st = c1_lookup_choose(d, dev, opts.mode, o ? o->db_path : NULL, &p->variant, p->explain, sizeof p->explain,
                          &exact);
    if (st == CONV1D_OK && opts.mode == CONV1D_MODE_MEASURE && !exact)
        st = c1_measure_choose(d, dev, o ? o->db_path : NULL, &p->variant, p->explain, sizeof p->explain);
    if (st != CONV1D_OK) {
        free(p);
        return st;
    }
    const char *verbose = getenv("CONV1D_VERBOSE");
    if (verbose && *verbose && strcmp(verbose, "0") != 0) {
        char key[CONV1D_DESC_TEXT_MAX];
        conv1d_desc_format(d, key, sizeof key);
        /* The one place the library prints, on request: the decision, so a deployment can be audited. */
        fprintf(stderr, "conv1d: %s -> %s (%s)\n", key, p->variant->name, p->explain);
    }
    *plan = p;
    return CONV1D_OK;
}

static conv1d_status alloc_workspaces(conv1d_plan *p, size_t bytes)
{
    if (bytes == 0) return CONV1D_OK;
    p->ws_bytes = (bytes + WORKSPACE_ALIGN - 1) / WORKSPACE_ALIGN * WORKSPACE_ALIGN;
    int n = c1_hw_cores();
    n = n < 1 ? 1 : n > MAX_WORKSPACES ? MAX_WORKSPACES : n;
    for (int i = 0; i < n; i++) {
        void *w = NULL;
#ifdef C1_HAVE_CUDA
        if (p->variant->device == C1_DEVICE_CUDA) {
            if (cudaMalloc(&w, p->ws_bytes) != cudaSuccess) w = NULL;
        } else
#endif
            w = aligned_alloc(WORKSPACE_ALIGN, p->ws_bytes);
        if (!w) {
            free_workspaces(p);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "conv1d_plan_set_weights: cannot allocate a %zu-byte workspace.",
                           bytes);
        }
        p->ws[i] = w;
        atomic_init(&p->busy[i], 0);
        p->n_ws = i + 1;
    }
    return CONV1D_OK;
}

conv1d_status conv1d_plan_set_weights(conv1d_plan *plan, const void *w, const void *bias)
{
    if (!plan) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_set_weights: plan is NULL.");
    if (!w) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_plan_set_weights: weights pointer is NULL.");
    if (plan->desc.has_bias && !bias)
        return c1_fail(CONV1D_INVALID_ARGUMENT,
                       "conv1d_plan_set_weights: the descriptor has_bias but the bias pointer is NULL.");
    const c1_variant *v = plan->variant;
    void *state = NULL;
    conv1d_status st = v->ops->prepare(v, &plan->desc, NULL, w, plan->desc.has_bias ? bias : NULL, &state);
    if (st != CONV1D_OK) return st;
    if (plan->state) v->ops->release(plan->state);
    free_workspaces(plan);
    plan->state = state;
    st = alloc_workspaces(plan, v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0);
    if (st != CONV1D_OK) {
        v->ops->release(plan->state);
        plan->state = NULL;
    }
    return st;
}

conv1d_status conv1d_execute(const conv1d_plan *plan, const void *x, void *y)
{
    if (!plan) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_execute: plan is NULL.");
    if (!x || !y) return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_execute: %s pointer is NULL.", !x ? "x" : "y");
    if (!plan->state)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "conv1d_execute: no weights; call conv1d_plan_set_weights first.");
    /* Claim a workspace; the pool lives in the plan, so casting away const touches only the busy flags. */
    conv1d_plan *p = (conv1d_plan *)plan;
    int slot = -1;
    if (p->n_ws > 0) {
        for (;;) {
            for (int i = 0; i < p->n_ws; i++) {
                int expected = 0;
                if (atomic_load_explicit(&p->busy[i], memory_order_relaxed) == 0 &&
                    atomic_compare_exchange_strong_explicit(&p->busy[i], &expected, 1, memory_order_acquire,
                                                            memory_order_relaxed)) {
                    slot = i;
                    break;
                }
            }
            if (slot >= 0) break;
            sched_yield();
        }
    }
    void *ws = slot >= 0 ? p->ws[slot] : NULL;
    conv1d_status st;
#ifdef C1_HAVE_CUDA
    if (p->variant->device == C1_DEVICE_CUDA) {
        /* The workspace may be handed to another caller (on another stream) as soon as it is released, so the
         * work using it must have finished: synchronize the plan's stream, which also makes y ready. */
        cudaStream_t stream = (cudaStream_t)p->options.cuda_stream;
        st = p->variant->ops->run_async ? p->variant->ops->run_async(p->state, x, y, ws, stream)
                                        : p->variant->ops->run(p->state, x, y, ws);
        const cudaError_t e = cudaStreamSynchronize(stream);
        if (st == CONV1D_OK && e != cudaSuccess)
            st = c1_fail(CONV1D_DEVICE_ERROR, "conv1d_execute: %s failed on the GPU: %s (%s).", p->variant->name,
                         cudaGetErrorString(e), cudaGetErrorName(e));
        if (slot >= 0) atomic_store_explicit(&p->busy[slot], 0, memory_order_release);
        return st;
    }
#endif
    /* The thread count is an OpenMP setting of the calling thread: set it for this call only. */
    const int saved_threads = omp_get_max_threads();
    const bool set_threads = p->options.threads > 0 && p->options.threads != saved_threads;
    if (set_threads) omp_set_num_threads(p->options.threads);
    st = p->variant->ops->run(p->state, x, y, ws);
    if (set_threads) omp_set_num_threads(saved_threads);
    if (slot >= 0) atomic_store_explicit(&p->busy[slot], 0, memory_order_release);
    return st;
}

const char *conv1d_plan_variant(const conv1d_plan *plan) { return plan ? plan->variant->name : ""; }

const char *conv1d_plan_explain(const conv1d_plan *plan) { return plan ? plan->explain : ""; }

void conv1d_plan_destroy(conv1d_plan *plan)
{
    if (!plan) return;
    if (plan->state) plan->variant->ops->release(plan->state);
    free_workspaces(plan);
    free(plan);
}
