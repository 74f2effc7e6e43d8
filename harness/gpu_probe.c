/*
 * The GPU facts of a process that forks measurement children: CUDA is queried only in children of its own
 * (a CUDA context does not survive fork(), and a parent that initialised CUDA could not hand the GPU to its
 * children). A program that uses the harness calls c1_harness_init() first, which makes hwinfo ask
 * c1_hw_gpu_probe_isolated instead of the CUDA runtime. See measure.h.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "error.h"
#include "measure.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_peaks.h"
#include "cuda_util.h"
#endif

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

static pthread_once_t harness_once = PTHREAD_ONCE_INIT;

static void harness_init_once(void) { c1_hw_set_gpu_probe(c1_hw_gpu_probe_isolated); }

void c1_harness_init(void) { pthread_once(&harness_once, harness_init_once); }

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
