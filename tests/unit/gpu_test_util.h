/*
 * Shared by the GPU tests (test_cuda.c, test_cudnn.c): one variant checked on one descriptor on the device
 * against the double-precision reference, and the question whether a device is there at all.
 *
 * c1_test_gpu_check fills host x, w, bias from a seeded generator (never zero, so a missing term shows),
 * uploads x, poisons y with 0xFF bytes (a NaN pattern, so an element the kernel never writes is reported
 * through bad_index), prepares, runs and releases the variant with a device workspace of the size it asks
 * for, copies y back and compares it with c1_ref_conv1d_f64 under the variant's precision tolerance. For a
 * bf16 or f16 descriptor the values are first rounded to the dtype and the tensors moved as raw 16-bit
 * elements, the reference is taken on exactly those values, and the output must pass the harness's 16-bit
 * check (c1_compare16: one rounding of an fp32 accumulation). c1_test_for_class gives a descriptor the dtype
 * of a variant's class. In a build without CUDA the checks answer "no device". Include after test_util.h.
 */
#ifndef CONV1D_GPU_TEST_UTIL_H
#define CONV1D_GPU_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "conv1d.h"
#include "half.h"
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

/* d with the dtype a variant of class prec takes (bf16, f16, else f32). */
static inline conv1d_desc c1_test_for_class(conv1d_desc d, c1_precision prec)
{
    d.dtype = prec == C1_PREC_BF16 ? CONV1D_BF16 : prec == C1_PREC_F16 ? CONV1D_F16 : CONV1D_F32;
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

/* Checks one variant on one descriptor (of its class's dtype) on the GPU: random host x/w/b (seeded, never
 * zero; 16-bit descriptors: rounded to the dtype), the CPU double reference on exactly those values, device
 * buffers, y poisoned with 0xFF bytes (NaN), prepare/run/release, copy back, and c1_compare + c1_error_ok
 * with the variant's precision tolerance (16-bit: c1_compare16, the harness's per-element bound). Returns
 * CONV1D_OK / the failing status (a wrong result is CONV1D_INTERNAL with a sentence); *err filled
 * (bad_index -2 when nothing was compared).
 * c1_test_gpu_check_ex in addition places x x_offset elements past the start of its allocation (1: not
 * 16-byte aligned, so the kernels' 16-byte paths must step aside) and, with a stream (a cudaStream_t),
 * poisons, runs (run_async) and copies back on that stream, synchronising it only at the end. */
static inline conv1d_status c1_test_gpu_check_ex(const c1_variant *v, const conv1d_desc *d, uint64_t seed,
                                                 int x_offset, void *stream, c1_error *err)
{
    *err = (c1_error){.bad_index = -2, .first_outside = -1};
#ifndef C1_HAVE_CUDA
    (void)v;
    (void)d;
    (void)seed;
    (void)x_offset;
    (void)stream;
    return c1_fail(CONV1D_UNSUPPORTED, "this build has no CUDA.");
#else
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    const bool h16 = d->dtype != CONV1D_F32;
    const size_t es = conv1d_dtype_size(d->dtype);
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0, nall = nx + nw + nb;
    uint64_t s = seed;
    float *f = c1_test_gpu_floats_(&s, nall); /* x, w, b as values */
    float *fa = malloc((size_t)(nall > 0 ? nall : 1) * sizeof *fa);
    uint16_t *h = malloc((size_t)(nall > 0 ? nall : 1) * sizeof *h); /* 16-bit: the same values, raw */
    void *y = malloc((size_t)(ny > 0 ? ny : 1) * es);
    double *ref = malloc((size_t)(ny > 0 ? ny : 1) * sizeof *ref), *absum = malloc((size_t)(ny > 0 ? ny : 1) * sizeof *absum);
    void *dx0 = NULL, *dy = NULL, *dws = NULL, *state = NULL;
    const cudaStream_t cs = (cudaStream_t)stream;
    if (!f || !fa || !h || !y || !ref || !absum) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "test: host buffers of %lld elements.", (long long)(nall + ny));
        goto done;
    }
    for (int64_t i = 0; i < nall && h16; i++) {
        h[i] = d->dtype == CONV1D_BF16 ? c1_f32_to_bf16(f[i]) : c1_f32_to_f16(f[i]);
        f[i] = d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
    }
    for (int64_t i = 0; i < nall; i++) fa[i] = f[i] < 0 ? -f[i] : f[i];
    st = c1_ref_conv1d_f64(d, f, f + nx, nb ? f + nx + nw : NULL, ref);
    if (st == CONV1D_OK && h16) st = c1_ref_conv1d_f64(d, fa, fa + nx, nb ? fa + nx + nw : NULL, absum);
    if (st != CONV1D_OK) goto done;
    const void *hx = h16 ? (const void *)h : (const void *)f;

    st = c1_cuda_status(cudaMalloc(&dx0, (size_t)(nx + x_offset) * es), v->name, "test cudaMalloc x");
    if (st != CONV1D_OK) goto done;
    void *dx = (char *)dx0 + (size_t)x_offset * es;
    st = c1_cuda_status(cudaMalloc(&dy, (size_t)ny * es), v->name, "test cudaMalloc y");
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemcpy(dx, hx, (size_t)nx * es, cudaMemcpyHostToDevice), v->name, "test upload x");
    if (st != CONV1D_OK) goto done;
    /* a pageable upload may still be in flight when cudaMemcpy returns; a non-blocking stream must see it */
    st = c1_cuda_status(cudaDeviceSynchronize(), v->name, "test synchronise the upload");
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemsetAsync(dy, 0xFF, (size_t)ny * es, cs), v->name, "test poison y");
    if (st != CONV1D_OK) goto done;

    st = v->ops->prepare(v, d, NULL, (const char *)hx + (size_t)nx * es, nb ? (const char *)hx + (size_t)(nx + nw) * es : NULL,
                         &state);
    if (st != CONV1D_OK) goto done;
    if (v->ops->impl_info && !v->ops->impl_info(state)) {
        st = c1_fail(CONV1D_INTERNAL, "%s: prepared, but impl_info says nothing.", v->name);
        goto done;
    }
    const size_t wsb = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    if (wsb > 0) {
        st = c1_cuda_status(cudaMalloc(&dws, wsb), v->name, "test cudaMalloc workspace");
        if (st != CONV1D_OK) goto done;
    }
    st = stream ? v->ops->run_async(state, dx, dy, dws, stream) : v->ops->run(state, dx, dy, dws);
    if (st != CONV1D_OK) goto done;
    st = c1_cuda_status(cudaMemcpyAsync(y, dy, (size_t)ny * es, cudaMemcpyDeviceToHost, cs), v->name,
                        "test download y");
    if (st == CONV1D_OK) st = c1_cuda_status(cudaStreamSynchronize(cs), v->name, "test synchronise the stream");
    if (st != CONV1D_OK) goto done;

    if (h16) {
        const int64_t terms = d->in_channels / d->num_groups * d->kernel_size + (nb ? 1 : 0);
        *err = c1_compare16(y, d->dtype, ref, absum, ny, terms);
    } else {
        *err = c1_compare(y, ref, ny);
    }
    if (!c1_error_ok(*err, c1_precision_tolerance(v->precision))) {
        char text[256];
        conv1d_desc_format(d, text, sizeof text);
        st = c1_fail(CONV1D_INTERNAL, "%s on %s: rel_max %.3g, rel_l2 %.3g, first bad element %lld, %lld outside "
                                      "one rounding (first %lld, worst %.2f ulp).", v->name, text, err->rel_max,
                     err->rel_l2, (long long)err->bad_index, (long long)err->outside, (long long)err->first_outside,
                     err->ulp_max);
    }

done:
    if (state) v->ops->release(state);
    cudaFree(dws);
    cudaFree(dy);
    cudaFree(dx0);
    (void)cudaGetLastError();
    free(absum);
    free(ref);
    free(y);
    free(h);
    free(fa);
    free(f);
    return st;
#endif
}

static inline conv1d_status c1_test_gpu_check(const c1_variant *v, const conv1d_desc *d, uint64_t seed,
                                              c1_error *err)
{
    return c1_test_gpu_check_ex(v, d, seed, 0, NULL, err);
}

#endif
