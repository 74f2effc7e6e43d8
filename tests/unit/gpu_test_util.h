/*
 * Shared by the GPU tests (test_cuda.c, test_cudnn.c): one variant checked on one descriptor on the device
 * against the double-precision reference, and the question whether a device is there at all.
 *
 * c1_test_gpu_check fills host x, w, bias from a seeded generator (never zero, so a missing term shows),
 * uploads x, poisons y with 0xFF bytes (a NaN pattern, so an element the kernel never writes is reported
 * through bad_index), prepares, runs and releases the variant with a device workspace of the size it asks
 * for, copies y back and compares it with c1_ref_conv1d_f64 under the variant's precision tolerance.
 * In a build without CUDA both functions answer "no device". Include after test_util.h.
 */
#ifndef CONV1D_GPU_TEST_UTIL_H
#define CONV1D_GPU_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "conv1d.h"
#include "conv1d_ref.h"
#include "error.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_util.h"
#endif

/* Whether this build has the hand-written CUDA variants and the cuDNN ones (CUDA=0, CUDNN=0 leave them out). */
#ifdef C1_HAVE_CUDA
#define C1_TEST_CUDA_BUILT true
#else
#define C1_TEST_CUDA_BUILT false
#endif
#ifdef C1_HAVE_CUDNN
#define C1_TEST_CUDNN_BUILT true
#else
#define C1_TEST_CUDNN_BUILT false
#endif

/* The registered variant of this name when the build has its family (built), which it must; otherwise asserts
 * that it is absent and gives NULL. */
static inline const c1_variant *c1_test_find(const char *name, bool built)
{
    const c1_variant *v = c1_variant_find(name);
    if (built && !v) fail_msg("variant %s is not registered", name);
    if (!built) assert_null(v);
    return v;
}

/* A valid descriptor from every field (asserted valid). */
static inline conv1d_desc c1_test_shape(int64_t batch, int64_t length, int64_t cin, int64_t cout, int64_t k,
                                        int64_t stride, int64_t dilation, int64_t groups, int64_t pad_left,
                                        int64_t pad_right, int bias, conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = batch;
    d.length = length;
    d.in_channels = cin;
    d.out_channels = cout;
    d.kernel_size = k;
    d.stride = stride;
    d.dilation = dilation;
    d.num_groups = groups;
    d.pad_left = pad_left;
    d.pad_right = pad_right;
    d.has_bias = bias;
    d.layout = layout;
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    return d;
}

/* true when c1_cuda_available() and cudaGetDeviceCount() >= 1; used to skip() GPU tests. */
static inline bool c1_test_have_gpu(void)
{
#ifdef C1_HAVE_CUDA
    static int cached = -1;
    if (cached < 0) {
        int n = 0;
        cached = c1_cuda_available() && cudaGetDeviceCount(&n) == cudaSuccess && n >= 1;
        (void)cudaGetLastError();
    }
    return cached == 1;
#else
    return false;
#endif
}

/* Says once on stderr why the GPU tests of `test` skip, when they do: no CUDA in the build, no driver device
 * node, or the runtime's answer. */
static inline void c1_test_say_gpu_skips(const char *test)
{
    if (c1_test_have_gpu()) return;
#ifdef C1_HAVE_CUDA
    int n = 0;
    const cudaError_t e = c1_cuda_available() ? cudaGetDeviceCount(&n) : cudaSuccess;
    (void)cudaGetLastError();
    fprintf(stderr, "%s: the GPU tests skip: %s\n", test,
            !c1_cuda_available() ? "no NVIDIA driver device node (or CONV1D_NO_CUDA is set)"
            : e != cudaSuccess   ? cudaGetErrorString(e)
                                 : "the CUDA runtime sees no device");
#else
    fprintf(stderr, "%s: the GPU tests skip: this build has no CUDA\n", test);
#endif
}

/* splitmix64 step of its own, so this header does not depend on test_util.h's. */
static inline float c1_test_gpu_value_(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float v = (float)((double)(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    return v == 0.0f ? 0.5f : v;
}

static inline float *c1_test_gpu_floats_(uint64_t *s, int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (p)
        for (int64_t i = 0; i < n; i++) p[i] = c1_test_gpu_value_(s);
    return p;
}

/* Checks one variant on one descriptor on the GPU: random host x/w/b (seeded, never zero), the CPU
 * double reference, device buffers, y poisoned with 0xFF bytes (NaN), prepare/run/release, copy back,
 * c1_compare + c1_error_ok with the variant's precision tolerance. Returns CONV1D_OK / the failing status
 * (a wrong result is CONV1D_INTERNAL with a sentence); *err filled (bad_index -2 when nothing was compared). */
static inline conv1d_status c1_test_gpu_check(const c1_variant *v, const conv1d_desc *d, uint64_t seed,
                                              c1_error *err)
{
    err->rel_max = err->rel_l2 = 0.0;
    err->bad_index = -2;
#ifndef C1_HAVE_CUDA
    (void)v;
    (void)d;
    (void)seed;
    return c1_fail(CONV1D_UNSUPPORTED, "this build has no CUDA.");
#else
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0;
    uint64_t s = seed;
    float *x = c1_test_gpu_floats_(&s, nx), *w = c1_test_gpu_floats_(&s, nw), *b = c1_test_gpu_floats_(&s, nb);
    float *y = malloc((size_t)(ny > 0 ? ny : 1) * sizeof *y);
    double *ref = malloc((size_t)(ny > 0 ? ny : 1) * sizeof *ref);
    float *dx = NULL, *dy = NULL;
    void *dws = NULL, *state = NULL;
    if (!x || !w || !b || !y || !ref) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "test: host buffers of %lld elements.", (long long)(nx + nw + ny));
        goto done;
    }
    st = c1_ref_conv1d_f64(d, x, w, d->has_bias ? b : NULL, ref);
    if (st != CONV1D_OK) goto done;

    st = c1_cuda_status(cudaMalloc((void **)&dx, (size_t)nx * sizeof(float)), v->name, "test cudaMalloc x");
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMalloc((void **)&dy, (size_t)ny * sizeof(float)), v->name, "test cudaMalloc y");
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemcpy(dx, x, (size_t)nx * sizeof(float), cudaMemcpyHostToDevice), v->name,
                        "test upload x");
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemset(dy, 0xFF, (size_t)ny * sizeof(float)), v->name, "test poison y");
    if (st != CONV1D_OK) goto done;

    st = v->ops->prepare(v, d, NULL, w, d->has_bias ? b : NULL, &state);
    if (st != CONV1D_OK) goto done;
    const size_t wsb = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    if (wsb > 0) {
        st = c1_cuda_status(cudaMalloc(&dws, wsb), v->name, "test cudaMalloc workspace");
        if (st != CONV1D_OK) goto done;
    }
    st = v->ops->run(state, dx, dy, dws);
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemcpy(y, dy, (size_t)ny * sizeof(float), cudaMemcpyDeviceToHost), v->name,
                        "test download y");
    if (st != CONV1D_OK) goto done;

    *err = c1_compare(y, ref, ny);
    if (!c1_error_ok(*err, c1_precision_tolerance(v->precision))) {
        char text[256];
        conv1d_desc_format(d, text, sizeof text);
        st = c1_fail(CONV1D_INTERNAL, "%s on %s: rel_max %.3g, rel_l2 %.3g, first bad element %lld.", v->name,
                     text, err->rel_max, err->rel_l2, (long long)err->bad_index);
    }

done:
    if (state) v->ops->release(state);
    cudaFree(dws);
    cudaFree(dy);
    cudaFree(dx);
    (void)cudaGetLastError();
    free(ref);
    free(y);
    free(b);
    free(w);
    free(x);
    return st;
#endif
}

#endif
