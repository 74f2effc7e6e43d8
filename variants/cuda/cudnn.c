/*
 * cuDNN peers: the GPU library everyone compares against, through cuDNN 9's legacy convolution API
 * (cudnn_cnn.h), one variant per forward algorithm and math mode:
 *
 *   cudnn_algo<N>       p0 = N (CUDNN_CONVOLUTION_FWD_ALGO_*, 0..7), p1 = 0: fp32 class, CUDNN_FMA_MATH.
 *                       (CUDNN_DEFAULT_MATH lets cuDNN use TF32 tensor cores for float data on Ampere and
 *                       later, which would put a tf32 result in the fp32 class.)
 *   cudnn_tf32_algo<N>  p1 = 1: tf32 class, CUDNN_TENSOR_OP_MATH.
 *   cudnn_bf16_algo<N>, cudnn_f16_algo<N>
 *                       p1 = 1: the bf16 and f16 classes, CUDNN_TENSOR_OP_MATH (what PyTorch sets for 16-bit
 *                       data): tensors CUDNN_DATA_BFLOAT16 / CUDNN_DATA_HALF, compute type CUDNN_DATA_FLOAT
 *                       (cuDNN's PSEUDO_BFLOAT16 / PSEUDO_HALF configurations: fp32 accumulation, one
 *                       rounding to the output type), the bias in the same 16-bit type.
 *
 * A 1-D convolution is cuDNN's 2-D one with H = 1: NWC runs as NHWC (filters KRSC, packed at prepare from the
 * caller's w[r][c/G][k]), NCW as NCHW (filters KCRS, which is the caller's (out, in/G, kernel) layout as is).
 * Stride, dilation and padding apply to W only; groups through cudnnSetConvolutionGroupCount.
 *
 * Bias: fp32 and tf32 add it with cudnnAddTensor after the convolution, inside the same run. The 16-bit
 * classes allow one rounding only, and cudnnAddTensor on a 16-bit y reads the rounded convolution, adds the
 * bias and rounds again (up to one ulp off instead of half). So IMPLICIT_PRECOMP_GEMM, the one algorithm
 * cuDNN fuses a bias into without an activation (cudnnConvolutionBiasActivationForward with
 * CUDNN_ACTIVATION_IDENTITY), adds it there, in the fp32 epilogue before the output conversion; z is y with
 * alpha2 = 0, as TensorFlow passes it (should cuDNN read it anyway, the checked run's NaN-poisoned y shows).
 * The bias goes in as the 16-bit type; should cuDNN decline that, as a float tensor (the same values, widened
 * exactly) instead. The other algorithms, and PRECOMP where cuDNN declines the fused call on a shape, keep cudnnAddTensor and
 * its second rounding; impl_info says which, and the 16-bit check decides whether the result still passes
 * (on a layer without bias nothing changes).
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
 * Workspace: cuDNN's workspace for the algorithm, then (asymmetric padding only) the padded input (elements of
 * the dtype), at a 256-byte aligned offset; device memory owned by the caller, so one state serves several
 * threads.
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
#include "half.h"
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
    cudnnActivationDescriptor_t act_desc; /* identity, for the fused bias of the 16-bit classes */
    cudnnConvolutionFwdAlgo_t algo;
    cudnnDataType_t dt;    /* the tensors' type: FLOAT, BFLOAT16 or HALF */
    size_t es;             /* bytes per element */
    bool fused_bias;       /* the bias goes through cudnnConvolutionBiasActivationForward */
    cudnnTensorDescriptor_t fb_desc; /* the fused call's bias: b_desc / b_dev, or a float copy */
    const void *fb_dev;
    cudnnTensorDescriptor_t b32_desc;
    void *w_dev, *b_dev, *b32_dev;
    size_t algo_ws_bytes;  /* cuDNN's workspace, at the start of the caller's */
    size_t pad_offset;     /* where the padded input starts in the caller's workspace */
    size_t pad_bytes;      /* 0: symmetric padding, cuDNN pads by itself */
    pthread_mutex_t lock;  /* serialises use of the handle (its stream) */
    bool lock_ready;
    char info[256];
} cudnn_state;

static bool cudnn_available(void) { return c1_cuda_available(); }

/* The math a variant asks cuDNN for, as its messages and impl_info name it. */
static const char *math_name(const c1_variant *v)
{
    switch (v->precision) {
    case C1_PREC_TF32: return "tf32";
    case C1_PREC_BF16: return "bf16 tensor-op";
    case C1_PREC_F16: return "f16 tensor-op";
    default: return "fma";
    }
}

/* cuDNN's answer as a status: the NOT_SUPPORTED family (and, where the caller says it means the same,
 * BAD_PARAM) is CONV1D_UNSUPPORTED, anything else a device error; the sentence names the call and status. */
static conv1d_status cudnn_check(cudnnStatus_t s, const c1_variant *v, const char *what, bool bad_param_unsupported)
{
    if (s == CUDNN_STATUS_SUCCESS) return CONV1D_OK;
    const int category = CUDNN_STATUS_CATEGORY((int)s);
    if (category == CUDNN_STATUS_NOT_SUPPORTED || (bad_param_unsupported && category == CUDNN_STATUS_BAD_PARAM))
        return c1_fail(CONV1D_UNSUPPORTED, "%s: cuDNN does not run %s (%s math) on this shape: %s answers %s "
                                           "(status %d).", v->name, algo_names[v->params[0]], math_name(v), what,
                       cudnnGetErrorString(s), (int)s);
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
    if (!c1_precision_takes(v->precision, d->dtype))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s is of precision class %s and does not take dtype %d.", v->name,
                       c1_precision_name(v->precision), (int)d->dtype);
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
    if (s->act_desc) cudnnDestroyActivationDescriptor(s->act_desc);
    if (s->conv_desc) cudnnDestroyConvolutionDescriptor(s->conv_desc);
    if (s->w_desc) cudnnDestroyFilterDescriptor(s->w_desc);
    if (s->b_desc) cudnnDestroyTensorDescriptor(s->b_desc);
    if (s->b32_desc) cudnnDestroyTensorDescriptor(s->b32_desc);
    if (s->y_desc) cudnnDestroyTensorDescriptor(s->y_desc);
    if (s->x_desc) cudnnDestroyTensorDescriptor(s->x_desc);
    if (s->handle) cudnnDestroy(s->handle);
    if (s->w_dev) cudaFree(s->w_dev);
    if (s->b_dev) cudaFree(s->b_dev);
    if (s->b32_dev) cudaFree(s->b32_dev);
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
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->x_desc, fmt, s->dt, n, c, 1, (int)padded_length(d)));
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->y_desc, fmt, s->dt, n, k, 1, lout));
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->b_desc, fmt, s->dt, 1, k, 1, 1));
    CUDNN_TRY(v, cudnnSetFilter4dDescriptor(s->w_desc, s->dt, fmt, k, (int)(d->in_channels / d->num_groups), 1, r));
    /* 1-D convolution is cross-correlation (no filter flip), as in PyTorch and MAX. The compute type is fp32
     * for every class: the 16-bit ones accumulate in fp32. */
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

/* The weights as cuDNN's filter format expects them, uploaded; the bias uploaded. Elements of the dtype
 * (s->es bytes), moved as they are. */
static conv1d_status upload_weights(cudnn_state *s, const void *w, const void *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const int64_t nw = conv1d_weight_elems(d);
    const size_t es = s->es, wbytes = (size_t)nw * es;
    const void *src = w;
    char *packed = NULL;
    if (d->layout == CONV1D_LAYOUT_NWC) {
        /* w[r][c][k] (kernel, in/G, out) -> KRSC with R = 1: packed[k][r][c]. */
        const int64_t kr = d->kernel_size, cg = d->in_channels / d->num_groups, ko = d->out_channels;
        packed = malloc(wbytes);
        if (!packed) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes to pack the weights.",
                                    v->name, wbytes);
        const char *wb = w;
        for (int64_t r = 0; r < kr; r++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t k = 0; k < ko; k++)
                    memcpy(packed + (size_t)((k * kr + r) * cg + c) * es, wb + (size_t)((r * cg + c) * ko + k) * es, es);
        src = packed;
    }
    conv1d_status st = device_alloc(v, &s->w_dev, wbytes, "the weights");
    if (st == CONV1D_OK)
        st = c1_cuda_status((int)cudaMemcpy(s->w_dev, src, wbytes, cudaMemcpyHostToDevice), v->name,
                            "cudaMemcpy(weights)");
    free(packed);
    if (st != CONV1D_OK || !bias) return st;
    const size_t bbytes = (size_t)d->out_channels * es;
    st = device_alloc(v, &s->b_dev, bbytes, "the bias");
    if (st != CONV1D_OK) return st;
    C1_CUDA_TRY(v->name, cudaMemcpy(s->b_dev, bias, bbytes, cudaMemcpyHostToDevice));
    return CONV1D_OK;
}

/* The convolution as run() enqueues it, minus the padding copy and the separate bias: the fused call when the
 * state fuses the bias (z = y, alpha2 = 0), else cudnnConvolutionForward. */
static cudnnStatus_t forward(const cudnn_state *s, const void *x, void *y, void *ws)
{
    const float one = 1.0f, zero = 0.0f; /* float scaling factors for float, bf16 and half data alike */
    if (s->fused_bias)
        return cudnnConvolutionBiasActivationForward(s->handle, &one, s->x_desc, x, s->w_desc, s->w_dev, s->conv_desc,
                                                     s->algo, ws, s->algo_ws_bytes, &zero, s->y_desc, y, s->fb_desc,
                                                     s->fb_dev, s->act_desc, s->y_desc, y);
    return cudnnConvolutionForward(s->handle, &one, s->x_desc, x, s->w_desc, s->w_dev, s->conv_desc, s->algo, ws,
                                   s->algo_ws_bytes, &zero, s->y_desc, y);
}

/* The 16-bit bias as a float tensor on the device, for a fused call that declines the 16-bit one. */
static conv1d_status float_bias(cudnn_state *s, const uint16_t *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const size_t n = (size_t)d->out_channels;
    float *b32 = malloc(n * sizeof *b32);
    if (!b32) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes for the bias.", v->name, n * 4);
    for (size_t i = 0; i < n; i++) b32[i] = d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(bias[i]) : c1_f16_to_f32(bias[i]);
    conv1d_status st = device_alloc(v, &s->b32_dev, n * sizeof(float), "the float bias");
    if (st == CONV1D_OK)
        st = c1_cuda_status((int)cudaMemcpy(s->b32_dev, b32, n * sizeof(float), cudaMemcpyHostToDevice), v->name,
                            "cudaMemcpy(float bias)");
    free(b32);
    if (st != CONV1D_OK) return st;
    CUDNN_TRY(v, cudnnCreateTensorDescriptor(&s->b32_desc));
    CUDNN_TRY(v, cudnnSetTensor4dDescriptor(s->b32_desc, d->layout == CONV1D_LAYOUT_NWC ? CUDNN_TENSOR_NHWC
                                                                                         : CUDNN_TENSOR_NCHW,
                                            CUDNN_DATA_FLOAT, 1, (int)d->out_channels, 1, 1));
    s->fb_desc = s->b32_desc;
    s->fb_dev = s->b32_dev;
    return CONV1D_OK;
}

static bool declined(cudnnStatus_t st)
{
    const int category = CUDNN_STATUS_CATEGORY((int)st);
    return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_BAD_PARAM;
}

/* One forward convolution on zeros, so an algorithm cuDNN rejects only at execution is found at prepare; with
 * a fused bias, the bias as the 16-bit type, then as float, then (both declined) no fusion. */
static conv1d_status trial_forward(cudnn_state *s, const void *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const size_t xbytes = (size_t)(d->batch * padded_length(d) * d->in_channels) * s->es;
    const size_t ybytes = (size_t)conv1d_output_elems(d) * s->es;
    void *x = NULL, *y = NULL, *ws = NULL;
    conv1d_status st = device_alloc(v, &x, xbytes, "the trial input");
    if (st == CONV1D_OK) st = device_alloc(v, &y, ybytes, "the trial output");
    if (st == CONV1D_OK && s->algo_ws_bytes) st = device_alloc(v, &ws, s->algo_ws_bytes, "cuDNN's workspace");
    if (st == CONV1D_OK) st = c1_cuda_status((int)cudaMemset(x, 0, xbytes), v->name, "cudaMemset(trial input)");
    if (st == CONV1D_OK) st = cudnn_check(cudnnSetStream(s->handle, NULL), v, "cudnnSetStream", false);
    if (st == CONV1D_OK && s->fused_bias) {
        /* cuDNN may decline the fused call on a shape: the bias is then added separately (see above). */
        cudnnStatus_t fs = forward(s, x, y, ws);
        if (declined(fs)) {
            st = float_bias(s, bias);
            if (st == CONV1D_OK) fs = forward(s, x, y, ws);
        }
        if (st == CONV1D_OK && declined(fs))
            s->fused_bias = false;
        else if (st == CONV1D_OK)
            st = cudnn_check(fs, v, "cudnnConvolutionBiasActivationForward", false);
    }
    if (st == CONV1D_OK && !s->fused_bias)
        st = cudnn_check(forward(s, x, y, ws), v, "cudnnConvolutionForward", true);
    if (st == CONV1D_OK)
        st = c1_cuda_status((int)cudaStreamSynchronize(NULL), v->name, "cudaStreamSynchronize(trial forward)");
    cudaFree(ws);
    cudaFree(y);
    cudaFree(x);
    if (st == CONV1D_OK) st = c1_cuda_status((int)cudaGetLastError(), v->name, "trial forward");
    return st;
}

static conv1d_status cudnn_prepare_into(cudnn_state *s, const void *w, const void *bias)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return c1_fail(CONV1D_INTERNAL, "%s: cannot initialise the handle's mutex.", v->name);
    s->lock_ready = true;
    s->dt = d->dtype == CONV1D_BF16 ? CUDNN_DATA_BFLOAT16 : d->dtype == CONV1D_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    s->es = conv1d_dtype_size(d->dtype);
    CUDNN_TRY(v, cudnnCreate(&s->handle));
    conv1d_status st = make_descriptors(s);
    if (st != CONV1D_OK) return st;
    /* One rounding for the 16-bit classes' bias where cuDNN can fuse it (see above). */
    if (d->dtype != CONV1D_F32 && bias && v->params[0] == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) {
        CUDNN_TRY(v, cudnnCreateActivationDescriptor(&s->act_desc));
        CUDNN_TRY(v, cudnnSetActivationDescriptor(s->act_desc, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0));
        s->fused_bias = true;
        s->fb_desc = s->b_desc;
    }

    s->algo = (cudnnConvolutionFwdAlgo_t)v->params[0];
    st = cudnn_check(cudnnGetConvolutionForwardWorkspaceSize(s->handle, s->x_desc, s->w_desc, s->conv_desc,
                                                             s->y_desc, s->algo, &s->algo_ws_bytes),
                     v, "cudnnGetConvolutionForwardWorkspaceSize", true);
    if (st != CONV1D_OK) return st;
    if (d->pad_left != d->pad_right) {
        s->pad_offset = (s->algo_ws_bytes + PAD_ALIGN - 1) / PAD_ALIGN * PAD_ALIGN;
        s->pad_bytes = (size_t)(d->batch * padded_length(d) * d->in_channels) * s->es;
    }
    st = upload_weights(s, w, bias);
    if (st != CONV1D_OK) return st;
    s->fb_dev = s->b_dev;
    st = trial_forward(s, bias);
    if (st != CONV1D_OK) return st;

    const int ver = (int)cudnnGetVersion();
    snprintf(s->info, sizeof s->info, "cuDNN %d.%d.%d %s %s%s%s", ver / 10000, ver / 100 % 100, ver % 100,
             algo_names[v->params[0]], math_name(v),
             d->dtype == CONV1D_F32        ? ""
             : !bias                       ? ", fp32 compute"
             : s->fused_bias && s->b32_dev ? ", fp32 compute; bias (as float) fused before the one rounding"
             : s->fused_bias               ? ", fp32 compute; bias fused before the one rounding"
                                           : ", fp32 compute; bias by cudnnAddTensor (a second rounding)",
             s->pad_bytes ? "; asymmetric padding: input copied into a zero-padded workspace buffer in the run" : "");
    return CONV1D_OK;
}

static conv1d_status cudnn_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                   const void *w_arg, const void *bias_arg, void **state)
{
    *state = NULL;
    conv1d_status st = c1_cuda_ready(v->name);
    if (st != CONV1D_OK) return st;
    st = cudnn_supports(v, d);
    if (st != CONV1D_OK) return st;
    cudnn_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: cannot allocate its state.", v->name);
    s->v = v;
    s->d = *d;
    st = cudnn_prepare_into(s, w_arg, bias_arg);
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
 * Rows of the copy: NWC one batch item (length*C contiguous elements), NCW one (batch, channel) row. */
static conv1d_status pad_input(const cudnn_state *s, const void *x, void *xp, cudaStream_t stream)
{
    const c1_variant *v = s->v;
    const conv1d_desc *d = &s->d;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const size_t unit = (size_t)(nwc ? d->in_channels : 1) * s->es; /* bytes per position */
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

static conv1d_status enqueue_locked(const cudnn_state *s, const void *x, void *y, void *workspace,
                                    cudaStream_t stream)
{
    const c1_variant *v = s->v;
    CUDNN_TRY(v, cudnnSetStream(s->handle, stream));
    const void *xin = x;
    if (s->pad_bytes) {
        void *xp = (char *)workspace + s->pad_offset;
        conv1d_status st = pad_input(s, x, xp, stream);
        if (st != CONV1D_OK) return st;
        xin = xp;
    }
    conv1d_status st = cudnn_check(forward(s, xin, y, s->algo_ws_bytes ? workspace : NULL), v,
                                   s->fused_bias ? "cudnnConvolutionBiasActivationForward" : "cudnnConvolutionForward",
                                   false);
    if (st != CONV1D_OK) return st;
    const float one = 1.0f;
    if (s->b_dev && !s->fused_bias)
        CUDNN_TRY(v, cudnnAddTensor(s->handle, &one, s->b_desc, s->b_dev, &one, s->y_desc, y));
    return c1_cuda_status((int)cudaGetLastError(), v->name, "enqueueing the convolution");
}

static conv1d_status cudnn_run_async(const void *state, const void *x, void *y, void *workspace, void *stream)
{
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

static conv1d_status cudnn_run(const void *state, const void *x, void *y, void *workspace)
{
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
