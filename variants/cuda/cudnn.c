/*
 * cuDNN peers: the GPU library everyone compares against, through cuDNN 9's legacy convolution API
 * (cudnn_cnn.h), one variant per forward algorithm and math mode:
 *
 *   cudnn_algo<N>       p0 = N (CUDNN_CONVOLUTION_FWD_ALGO_*, 0..7), p1 = 0: fp32 class, CUDNN_FMA_MATH.
 *                       (CUDNN_DEFAULT_MATH lets cuDNN use TF32 tensor cores for float data on Ampere and
 *                       later, which would put a tf32 result in the fp32 class.)
 *   cudnn_tf32_algo<N>  p1 = 1: tf32 class, CUDNN_TENSOR_OP_MATH.
 *
 * A 1-D convolution is cuDNN's 2-D one with H = 1: NWC runs as NHWC (filters KRSC, packed at prepare from the
 * caller's w[r][c/G][k]), NCW as NCHW (filters KCRS, which is the caller's (out, in/G, kernel) layout as is).
 * Stride, dilation and padding apply to W only; groups through cudnnSetConvolutionGroupCount; the bias is a
 * cudnnAddTensor after the convolution, inside the same run.
 *
 * Padding: the legacy API pads symmetrically. With pad_left != pad_right (causal convs) run() copies x into a
 * zero-padded buffer in the caller's workspace (the pad columns zeroed with cudaMemset2DAsync, the data placed
 * with cudaMemcpy2DAsync) and convolves that with padding 0, the way PyTorch handles asymmetric padding; the
 * copy is part of the timed work and impl_info says so.
 *
 * Support: cuDNN decides per shape which algorithms it implements. prepare() asks for the algorithm's
 * workspace size and runs the forward convolution once on zeros; a NOT_SUPPORTED answer from either (or
 * BAD_PARAM from these algorithm-specific calls, after the descriptors themselves were accepted and the output
 * size verified) makes prepare answer CONV1D_UNSUPPORTED with cuDNN's status in the sentence.
 *
 * Workspace: cuDNN's workspace for the algorithm, then (asymmetric padding only) the padded input, at a
 * 256-byte aligned offset; device memory owned by the caller, so one state serves several threads.
 *
 * Thread safety: a cudnnHandle_t carries its stream and must not be used concurrently. run_async() therefore
 * holds the state's mutex while it sets the handle's stream and enqueues the work; the kernels themselves run
 * after the mutex is released, on the caller's stream, so concurrent callers on different streams overlap on
 * the GPU. Weights and bias are uploaded once at prepare and only read afterwards.
 *
 * Fork rule: available() and supports() make no CUDA or cuDNN call; everything else runs in prepare, run and
 * release, which the tool calls in its measurement child.
 */
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_util.h"
#include "error.h"
#include "variant.h"

#define CUDNN_ALGOS 8
#define PAD_ALIGN 256 /* offset of the padded input in the workspace: cudaMalloc's own alignment */

static const char *const algo_names[CUDNN_ALGOS] = {
    "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED",
};

typedef struct cudnn_state {
    const c1_variant *v;
    conv1d_desc d;
    cudnnHandle_t handle;
    cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnConvolutionFwdAlgo_t algo;
    float *w_dev, *b_dev;
    size_t algo_ws_bytes;  /* cuDNN's workspace, at the start of the caller's */
    size_t pad_offset;     /* where the padded input starts in the caller's workspace */
    size_t pad_bytes;      /* 0: symmetric padding, cuDNN pads by itself */
    pthread_mutex_t lock;  /* serialises use of the handle (its stream) */
    bool lock_ready;
    char info[192];
} cudnn_state;

static bool cudnn_available(void) { return c1_cuda_available(); }

/* cuDNN's answer as a status: the NOT_SUPPORTED family (and, where the caller says it means the same,
 * BAD_PARAM) is CONV1D_UNSUPPORTED, anything else a device error; the sentence names the call and status. */
static conv1d_status cudnn_check(cudnnStatus_t s, const c1_variant *v, const char *what, bool bad_param_unsupported)
{
    if (s == CUDNN_STATUS_SUCCESS) return CONV1D_OK;
    const int category = CUDNN_STATUS_CATEGORY((int)s);
    if (category == CUDNN_STATUS_NOT_SUPPORTED || (bad_param_unsupported && category == CUDNN_STATUS_BAD_PARAM))
        return c1_fail(CONV1D_UNSUPPORTED, "%s: cuDNN does not run %s (%s math) on this shape: %s answers %s "
                                           "(status %d).", v->name, algo_names[v->params[0]],
                       v->params[1] ? "tf32" : "fma", what, cudnnGetErrorString(s), (int)s);
    return c1_fail(CONV1D_DEVICE_ERROR, "%s: %s: %s (cuDNN status %d).", v->name, what, cudnnGetErrorString(s), (int)s);
}

#define CUDNN_TRY(v, call)                                                                      \
    do {                                                                                        \
        const conv1d_status c1_st_ = cudnn_check((call), (v), #call, false);                   \
        if (c1_st_ != CONV1D_OK) return c1_st_;                                                 \
    } while (0)

static int64_t padded_length(const conv1d_desc *d)
{
    return d->pad_left == d->pad_right ? d->length : d->length + d->pad_left + d->pad_right;
}

/* cudaMalloc with its failure as a status: CONV1D_OUT_OF_MEMORY when the device is full (a large FFT
 * workspace, say), else the runtime's device error. */
static conv1d_status device_alloc(const c1_variant *v, void **p, size_t bytes, const char *what)
{
    *p = NULL;
    const cudaError_t e = cudaMalloc(p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        *p = NULL;
        return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of device memory for %s.", v->name, bytes,
                       what);
    }
    if (e != cudaSuccess) *p = NULL;
    return c1_cuda_status((int)e, v->name, what);
}

static conv1d_status cudnn_supports(const c1_variant *v, const conv1d_desc *d)
{
    if (d->dtype != CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s supports only f32, got dtype %d.", v->name, (int)d->dtype);
    if (v->params[0] < 0 || v->params[0] >= CUDNN_ALGOS)
        return c1_fail(CONV1D_INTERNAL, "Variant %s names cuDNN algorithm %d, outside 0..%d.", v->name, v->params[0],
                       CUDNN_ALGOS - 1);
    /* The legacy API describes tensors with int dimensions and strides. The padded length can exceed what
     * conv1d_desc_validate bounds (it bounds the caller's tensors), so its product is computed with a check. */
    const int64_t lp = d->length + (d->pad_left == d->pad_right ? 0 : d->pad_left + d->pad_right);
    const int64_t dims[] = {d->batch, lp, d->in_channels, d->out_channels, d->kernel_size, d->stride,
                            d->pad_left, d->dilation, d->num_groups, conv1d_output_length(d)};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i] > INT_MAX || dims[i] < 0)
            return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: cuDNN's legacy API takes int sizes, and a size of this "
                                               "shape is %lld.", v->name, (long long)dims[i]);
    int64_t x_elems;
    if (__builtin_mul_overflow(d->batch * d->in_channels, lp, &x_elems)) x_elems = INT64_MAX;
    const int64_t elems[] = {x_elems, conv1d_output_elems(d), conv1d_weight_elems(d)};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++)
        if (elems[i] > INT_MAX)
            return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: cuDNN's legacy API takes tensors of at most %d elements, "
                                               "and a tensor of this shape has %lld.", v->name, INT_MAX,
                           (long long)elems[i]);
    return CONV1D_OK;
}

static void cudnn_release(void *state)
{
    cudnn_state *s = state;
    if (!s) return;
    /* Teardown cannot report: statuses are ignored, every object is released once. */
    if (s->conv_desc) cudnnDestroyConvolutionDescriptor(s->conv_desc);
    if (s->w_desc) cudnnDestroyFilterDescriptor(s->w_desc);
    if (s->b_desc) cudnnDestroyTensorDescriptor(s->b_desc);
    if (s->y_desc) cudnnDestroyTensorDescriptor(s->y_desc);
    if (s->x_desc) cudnnDestroyTensorDescriptor(s->x_desc);
    if (s->handle) cudnnDestroy(s->handle);
    if (s->w_dev) cudaFree(s->w_dev);
    if (s->b_dev) cudaFree(s->b_dev);
    (void)cudaGetLastError();
    if (s->lock_ready) pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Descriptors for x (padded when the padding is asymmetric), w, y and the bias, and the convolution. */
static conv1d_status make_descriptors(cudnn_state *s)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const cudnnTensorFormat_t fmt = nwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    const int n = (int)d->batch, c = (int)d->in_channels, k = (int)d->out_channels, r = (int)d->kernel_size;
    const int lout = (int)conv1d_output_length(d);
    const bool symmetric = d->pad_left == d->pad_right;

    CUDNN_TRY(v, cudnnCreateTensorDescriptor(&s->x_desc));
    CUDNN_TRY(v, cudnnCreateTensorDescriptor(&s->y_desc));
    CUDNN_TRY(v, cudnnCreateTensorDescriptor(&s->b_desc));
    CUDNN_TRY(v, cudnnCreateFilterDescriptor(&s->w_desc));
    CUDNN_TRY(v, cudnnCreateConvolutionDescriptor(&s->conv_desc));
    /* cudnnSetTensor4dDescriptor takes the logical n, c, h, w; the format decides the strides. */
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->x_desc, fmt, CUDNN_DATA_FLOAT, n, c, 1, (int)padded_length(d)));
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->y_desc, fmt, CUDNN_DATA_FLOAT, n, k, 1, lout));
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->b_desc, fmt, CUDNN_DATA_FLOAT, 1, k, 1, 1));
    CUDNN_TRY(v, cudnnSetFilter4dDescriptor(s->w_desc, CUDNN_DATA_FLOAT, fmt, k, (int)(d->in_channels / d->num_groups),
                                            1, r));
    /* 1-D convolution is cross-correlation (no filter flip), as in PyTorch and MAX. */
    CUDNN_TRY(v, cudnnSetConvolution2dDescriptor(s->conv_desc, 0, symmetric ? (int)d->pad_left : 0, 1, (int)d->stride,
                                                 1, (int)d->dilation, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_TRY(v, cudnnSetConvolutionGroupCount(s->conv_desc, (int)d->num_groups));
    CUDNN_TRY(v, cudnnSetConvolutionMathType(s->conv_desc, v->params[1] ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));

    int on = 0, oc = 0, oh = 0, ow = 0;
    CUDNN_TRY(v, cudnnGetConvolution2dForwardOutputDim(s->conv_desc, s->x_desc, s->w_desc, &on, &oc, &oh, &ow));
    if (on != n || oc != k || oh != 1 || ow != lout)
        return c1_fail(CONV1D_INTERNAL, "%s: cuDNN computes output %dx%dx%dx%d, the descriptor %dx%dx1x%d.", v->name,
                       on, oc, oh, ow, n, k, lout);
    return CONV1D_OK;
}

/* The weights as cuDNN's filter format expects them, uploaded; the bias uploaded. */
static conv1d_status upload_weights(cudnn_state *s, const float *w, const float *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const int64_t nw = conv1d_weight_elems(d);
    const size_t wbytes = (size_t)nw * sizeof(float);
    const float *src = w;
    float *packed = NULL;
    if (d->layout == CONV1D_LAYOUT_NWC) {
        /* w[r][c][k] (kernel, in/G, out) -> KRSC with R = 1: packed[k][r][c]. */
        const int64_t kr = d->kernel_size, cg = d->in_channels / d->num_groups, ko = d->out_channels;
        packed = malloc(wbytes);
        if (!packed) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes to pack the weights.",
                                    v->name, wbytes);
        for (int64_t r = 0; r < kr; r++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t k = 0; k < ko; k++) packed[(k * kr + r) * cg + c] = w[(r * cg + c) * ko + k];
        src = packed;
    }
    conv1d_status st = device_alloc(v, (void **)&s->w_dev, wbytes, "the weights");
    if (st == CONV1D_OK)
        st = c1_cuda_status((int)cudaMemcpy(s->w_dev, src, wbytes, cudaMemcpyHostToDevice), v->name,
                            "cudaMemcpy(weights)");
    free(packed);
    if (st != CONV1D_OK || !bias) return st;
    const size_t bbytes = (size_t)d->out_channels * sizeof(float);
    st = device_alloc(v, (void **)&s->b_dev, bbytes, "the bias");
    if (st != CONV1D_OK) return st;
    C1_CUDA_TRY(v->name, cudaMemcpy(s->b_dev, bias, bbytes, cudaMemcpyHostToDevice));
    return CONV1D_OK;
}

/* One forward convolution on zeros, so an algorithm cuDNN rejects only at execution is found at prepare. */
static conv1d_status trial_forward(cudnn_state *s)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const size_t xbytes = (size_t)(d->batch * padded_length(d) * d->in_channels) * sizeof(float);
    const size_t ybytes = (size_t)conv1d_output_elems(d) * sizeof(float);
    void *x = NULL, *y = NULL, *ws = NULL;
    conv1d_status st = device_alloc(v, &x, xbytes, "the trial input");
    if (st == CONV1D_OK) st = device_alloc(v, &y, ybytes, "the trial output");
    if (st == CONV1D_OK && s->algo_ws_bytes) st = device_alloc(v, &ws, s->algo_ws_bytes, "cuDNN's workspace");
    if (st == CONV1D_OK) st = c1_cuda_status((int)cudaMemset(x, 0, xbytes), v->name, "cudaMemset(trial input)");
    if (st == CONV1D_OK) st = cudnn_check(cudnnSetStream(s->handle, NULL), v, "cudnnSetStream", false);
    if (st == CONV1D_OK) {
        const float one = 1.0f, zero = 0.0f;
        st = cudnn_check(cudnnConvolutionForward(s->handle, &one, s->x_desc, x, s->w_desc, s->w_dev, s->conv_desc,
                                                 s->algo, ws, s->algo_ws_bytes, &zero, s->y_desc, y),
                         v, "cudnnConvolutionForward", true);
    }
    if (st == CONV1D_OK)
        st = c1_cuda_status((int)cudaStreamSynchronize(NULL), v->name, "cudaStreamSynchronize(trial forward)");
    cudaFree(ws);
    cudaFree(y);
    cudaFree(x);
    if (st == CONV1D_OK) st = c1_cuda_status((int)cudaGetLastError(), v->name, "trial forward");
    return st;
}

static conv1d_status cudnn_prepare_into(cudnn_state *s, const float *w, const float *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return c1_fail(CONV1D_INTERNAL, "%s: cannot initialise the handle's mutex.", v->name);
    s->lock_ready = true;
    CUDNN_TRY(v, cudnnCreate(&s->handle));
    conv1d_status st = make_descriptors(s);
    if (st != CONV1D_OK) return st;

    s->algo = (cudnnConvolutionFwdAlgo_t)v->params[0];
    st = cudnn_check(cudnnGetConvolutionForwardWorkspaceSize(s->handle, s->x_desc, s->w_desc, s->conv_desc,
                                                             s->y_desc, s->algo, &s->algo_ws_bytes),
                     v, "cudnnGetConvolutionForwardWorkspaceSize", true);
    if (st != CONV1D_OK) return st;
    if (d->pad_left != d->pad_right) {
        s->pad_offset = (s->algo_ws_bytes + PAD_ALIGN - 1) / PAD_ALIGN * PAD_ALIGN;
        s->pad_bytes = (size_t)(d->batch * padded_length(d) * d->in_channels) * sizeof(float);
    }
    st = upload_weights(s, w, bias);
    if (st != CONV1D_OK) return st;
    st = trial_forward(s);
    if (st != CONV1D_OK) return st;

    const int ver = (int)cudnnGetVersion();
    snprintf(s->info, sizeof s->info, "cuDNN %d.%d.%d %s %s%s", ver / 10000, ver / 100 % 100, ver % 100,
             algo_names[v->params[0]], v->params[1] ? "tf32" : "fma",
             s->pad_bytes ? "; asymmetric padding: input copied into a zero-padded workspace buffer in the run" : "");
    return CONV1D_OK;
}

static conv1d_status cudnn_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                   const void *w_arg, const void *bias_arg, void **state)
{
    const float *w = w_arg, *bias = bias_arg; /* f32 only: supports() refuses other dtypes */
    *state = NULL;
    conv1d_status st = c1_cuda_ready(v->name);
    if (st != CONV1D_OK) return st;
    st = cudnn_supports(v, d);
    if (st != CONV1D_OK) return st;
    cudnn_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate its state.", v->name);
    s->v = v;
    s->d = *d;
    st = cudnn_prepare_into(s, w, bias);
    if (st != CONV1D_OK) {
        cudnn_release(s);
        return st;
    }
    *state = s;
    return CONV1D_OK;
}

static size_t cudnn_workspace_bytes(const void *state)
{
    const cudnn_state *s = state;
    return s->pad_bytes ? s->pad_offset + s->pad_bytes : s->algo_ws_bytes;
}

/* The zero-padded copy of x in the workspace: pad columns zeroed, data columns copied, all on `stream`.
 * Rows of the copy: NWC one batch item (length*C contiguous floats), NCW one (batch, channel) row. */
static conv1d_status pad_input(const cudnn_state *s, const float *x, float *xp, cudaStream_t stream)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const size_t unit = (size_t)(nwc ? d->in_channels : 1) * sizeof(float); /* bytes per position */
    const size_t rows = (size_t)(nwc ? d->batch : d->batch * d->in_channels);
    const size_t src_pitch = (size_t)d->length * unit, dst_pitch = (size_t)padded_length(d) * unit;
    const size_t left = (size_t)d->pad_left * unit, right = (size_t)d->pad_right * unit;
    char *dst = (char *)xp;
    if (left) C1_CUDA_TRY(v->name, cudaMemset2DAsync(dst, dst_pitch, 0, left, rows, stream));
    if (right) C1_CUDA_TRY(v->name, cudaMemset2DAsync(dst + left + src_pitch, dst_pitch, 0, right, rows, stream));
    C1_CUDA_TRY(v->name, cudaMemcpy2DAsync(dst + left, dst_pitch, x, src_pitch, src_pitch, rows,
                                           cudaMemcpyDeviceToDevice, stream));
    return CONV1D_OK;
}

static conv1d_status enqueue_locked(const cudnn_state *s, const float *x, float *y, void *workspace,
                                    cudaStream_t stream)
{
    const c1_variant *v = s->v;
    CUDNN_TRY(v, cudnnSetStream(s->handle, stream));
    const float *xin = x;
    if (s->pad_bytes) {
        float *xp = (float *)((char *)workspace + s->pad_offset);
        conv1d_status st = pad_input(s, x, xp, stream);
        if (st != CONV1D_OK) return st;
        xin = xp;
    }
    const float one = 1.0f, zero = 0.0f;
    conv1d_status st = cudnn_check(cudnnConvolutionForward(s->handle, &one, s->x_desc, xin, s->w_desc, s->w_dev,
                                                           s->conv_desc, s->algo, s->algo_ws_bytes ? workspace : NULL,
                                                           s->algo_ws_bytes, &zero, s->y_desc, y),
                                   v, "cudnnConvolutionForward", false);
    if (st != CONV1D_OK) return st;
    if (s->b_dev) CUDNN_TRY(v, cudnnAddTensor(s->handle, &one, s->b_desc, s->b_dev, &one, s->y_desc, y));
    return c1_cuda_status((int)cudaGetLastError(), v->name, "enqueueing the convolution");
}

static conv1d_status cudnn_run_async(const void *state, const void *x_arg, void *y_arg, void *workspace, void *stream)
{
    const float *x = x_arg;
    float *y = y_arg;
    cudnn_state *s = (cudnn_state *)state; /* only the mutex is written */
    if (!workspace && cudnn_workspace_bytes(s) > 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "%s: needs a %zu-byte device workspace, got NULL.", s->v->name,
                       cudnn_workspace_bytes(s));
    if (pthread_mutex_lock(&s->lock) != 0)
        return c1_fail(CONV1D_INTERNAL, "%s: cannot lock the cuDNN handle's mutex.", s->v->name);
    const conv1d_status st = enqueue_locked(s, x, y, workspace, (cudaStream_t)stream);
    pthread_mutex_unlock(&s->lock);
    return st;
}

static conv1d_status cudnn_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const cudnn_state *s = state;
    conv1d_status st = cudnn_run_async(state, x, y, workspace, NULL);
    if (st != CONV1D_OK) return st;
    return c1_cuda_status((int)cudaStreamSynchronize(NULL), s->v->name, "cudaStreamSynchronize");
}

static const char *cudnn_impl_info(const void *state) { return ((const cudnn_state *)state)->info; }

const c1_variant_ops c1_cudnn_ops = {
    .available = cudnn_available,
    .supports = cudnn_supports,
    .prepare = cudnn_prepare,
    .workspace_bytes = cudnn_workspace_bytes,
    .run = cudnn_run,
    .release = cudnn_release,
    .run_async = cudnn_run_async,
    .impl_info = cudnn_impl_info,
};
