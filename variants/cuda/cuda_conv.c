/*
 * The hand-written CUDA variants, host side: cuda_tiled_* (block tiles straight from global memory),
 * cuda_smem_* (shared-memory implicit GEMM, optionally double-buffered), cuda_dw* (depthwise at copy
 * speed) and cuda_tc_* (tensor-core implicit GEMM: TF32 in class tf32, cuda_tc_bf16_* and cuda_tc_f16_* in
 * classes bf16 and f16), and cuda_dw_bf16* / cuda_dw_f16* (depthwise on 16-bit x and y). The kernels and their
 * design are in cuda_conv.cu and cuda_tc.cu; the interface and weight layouts in cuda_conv.h. Every variant
 * takes the dtype of its precision class (fp32 and tf32: f32); the 16-bit tensor-core variants move the raw
 * 16-bit weights and bias to the device as they are, the 16-bit depthwise ones widen them to fp32 (exactly)
 * at prepare, since their few taps live in fp32 registers anyway.
 *
 * supports() is pure arithmetic on the descriptor (it runs in the tool's parent, which must not touch
 * CUDA). prepare() checks the device (c1_cuda_ready), packs the weights on the host into the layout the
 * kernel reads, uploads them and the bias once, and for the shared-memory family picks the input-channel
 * block bk from the shared memory the shape needs: the largest of 16, 8, 4, 2, 1 (no larger than C/G
 * rounded up to a power of two) that fits in 48 KiB, else in the device's opt-in limit, which is then
 * raised once per device for every such kernel (c1_cuda_smem_optin). run_async() only launches (no allocation, no
 * synchronisation), so one state serves any number of threads and streams; run() is run_async() on the
 * legacy default stream followed by cudaStreamSynchronize.
 *
 * Registry parameters (variants/cuda/cuda.inc):
 *   cuda_tiled:     p0, p1 = block tile (positions x output channels), p2, p3 = thread tile
 *   cuda_smem:      p0, p1 = block tile, p2 = thread tile columns (rows are 8), p3 = 1 when double-buffered
 *   cuda_depthwise: p0 = outputs per thread run (channels last; channels first: 64 * p0 per block)
 *   cuda_tc:        p0, p1 = block tile (rows = batch x positions, output channels), p2, p3 = warp tile
 */
#include <cuda_runtime_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_conv.h"
#include "cuda_util.h"
#include "tc_map.h"
#include "error.h"
#include "half.h"
#include "variant.h"

typedef enum cuda_kind { KIND_TILED, KIND_SMEM, KIND_DW, KIND_TC } cuda_kind;

typedef struct cuda_state {
    const c1_variant *v;
    cuda_kind kind;
    conv1d_desc d;
    c1_cuda_conv_args a; /* sizes and the device weights; x and y are filled per launch */
    void *dw, *dbias;    /* device copies of the packed weights and the bias, elements of d.dtype */
    int bk;              /* smem: input channels per stage */
    size_t smem_bytes;   /* smem, depthwise channels first: dynamic shared memory per block */
    char info[224];
} cuda_state;

/* The largest shared memory per block of any target architecture (sm_90: 227 KiB; sm_80: 163 KiB). */
#define C1_SMEM_MAX_ANY (227u * 1024u)
#define C1_SMEM_DEFAULT (48u * 1024u)

static bool cuda_available(void) { return c1_cuda_available(); }

static int smem_tm(const c1_variant *v) { (void)v; return 8; }

static c1_cuda_conv_args args_of(const conv1d_desc *d)
{
    c1_cuda_conv_args a;
    memset(&a, 0, sizeof a);
    a.batch = d->batch;
    a.length = d->length;
    a.in_channels = d->in_channels;
    a.out_channels = d->out_channels;
    a.kernel_size = d->kernel_size;
    a.stride = d->stride;
    a.dilation = d->dilation;
    a.pad_left = d->pad_left;
    a.groups = d->num_groups;
    a.out_length = conv1d_output_length(d);
    a.nwc = d->layout == CONV1D_LAYOUT_NWC;
    a.dtype = (int)d->dtype;
    return a;
}

static bool is_depthwise(const conv1d_desc *d)
{
    return d->num_groups == d->in_channels && d->in_channels == d->out_channels;
}

/* The registry hands a variant only its class's dtype; supports() says so too, for callers that ask it
 * directly. */
static conv1d_status check_common(const c1_variant *v, const conv1d_desc *d)
{
    if (!c1_precision_takes(v->precision, d->dtype))
        return c1_fail(CONV1D_UNSUPPORTED, "%s is of precision class %s and does not take dtype %d.", v->name,
                       c1_precision_name(v->precision), (int)d->dtype);
    return CONV1D_OK;
}

static conv1d_status tiled_supports(const c1_variant *v, const conv1d_desc *d)
{
    conv1d_status st = check_common(v, d);
    if (st != CONV1D_OK) return st;
    if (!c1_cuda_tiled_known(v->params[0], v->params[1], v->params[2], v->params[3]))
        return c1_fail(CONV1D_UNSUPPORTED, "%s: no kernel is compiled for tile %dx%d with thread tile %dx%d.",
                       v->name, v->params[0], v->params[1], v->params[2], v->params[3]);
    return CONV1D_OK;
}

static conv1d_status smem_supports(const c1_variant *v, const conv1d_desc *d)
{
    conv1d_status st = check_common(v, d);
    if (st != CONV1D_OK) return st;
    if (!c1_cuda_smem_known(v->params[0], v->params[1], smem_tm(v), v->params[2]))
        return c1_fail(CONV1D_UNSUPPORTED, "%s: no kernel is compiled for tile %dx%d with thread tile %dx%d.",
                       v->name, v->params[0], v->params[1], smem_tm(v), v->params[2]);
    const c1_cuda_conv_args a = args_of(d);
    const size_t need = c1_cuda_smem_bytes(&a, v->params[0], v->params[1], 1, v->params[3]);
    if (need > C1_SMEM_MAX_ANY)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "%s: the input window and weights of one channel (kernel_size %lld, stride %lld, "
                       "dilation %lld) need more shared memory than any GPU has per block.",
                       v->name, (long long)d->kernel_size, (long long)d->stride, (long long)d->dilation);
    return CONV1D_OK;
}

static conv1d_status dw_supports(const c1_variant *v, const conv1d_desc *d)
{
    conv1d_status st = check_common(v, d);
    if (st != CONV1D_OK) return st;
    if (!is_depthwise(d))
        return c1_fail(CONV1D_UNSUPPORTED,
                       "%s needs a depthwise convolution (groups == in_channels == out_channels), got %lld "
                       "groups, %lld in and %lld out channels.",
                       v->name, (long long)d->num_groups, (long long)d->in_channels, (long long)d->out_channels);
    const int run = v->params[0];
    if (run != 8 && run != 16 && run != 32)
        return c1_fail(CONV1D_UNSUPPORTED, "%s: no kernel is compiled for runs of %d outputs.", v->name, run);
    if (d->layout == CONV1D_LAYOUT_NCW) {
        size_t smem = 0;
        if (c1_cuda_dw_ncw_plan(d->kernel_size, d->stride, d->dilation, run, &smem) <= 0)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "%s: channels first with kernel_size %lld, stride %lld and dilation %lld needs an "
                           "input window larger than 48 KiB of shared memory.",
                           v->name, (long long)d->kernel_size, (long long)d->stride, (long long)d->dilation);
    }
    return CONV1D_OK;
}

/* The tensor-core kernel keeps batch items, positions and packed weight columns in 32 bits. */
#define C1_TC_INDEX_MAX 2147483647ll

static conv1d_status tc_supports(const c1_variant *v, const conv1d_desc *d)
{
    conv1d_status st = check_common(v, d);
    if (st != CONV1D_OK) return st;
    if (c1_cuda_tc_smem_bytes(v->params[0], v->params[1], v->params[2], v->params[3]) == 0)
        return c1_fail(CONV1D_UNSUPPORTED, "%s: no kernel is compiled for tile %dx%d with warp tile %dx%d.", v->name,
                       v->params[0], v->params[1], v->params[2], v->params[3]);
    const int64_t kred = d->kernel_size * (d->in_channels / d->num_groups);
    if (d->batch > C1_TC_INDEX_MAX || d->length > C1_TC_INDEX_MAX || kred + 7 > C1_TC_INDEX_MAX)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "%s keeps batch items, positions and kernel_size x channels per group in 32 bits, and this "
                       "shape has batch %lld, length %lld, %lld weights per output channel.",
                       v->name, (long long)d->batch, (long long)d->length, (long long)kred);
    return CONV1D_OK;
}

static void cuda_release(void *state)
{
    cuda_state *s = state;
    if (!s) return;
    /* Errors while freeing are not actionable; clear them so the next call starts clean. */
    if (s->dw) cudaFree(s->dw);
    if (s->dbias) cudaFree(s->dbias);
    (void)cudaGetLastError();
    free(s);
}

/* Packed weight elements: the tensor-core rows are padded to Kp, a whole 16-byte piece (tc_map.h). */
static int64_t packed_elems(const cuda_state *s)
{
    const conv1d_desc *d = &s->d;
    if (s->kind != KIND_TC) return conv1d_weight_elems(d);
    const int64_t epp = 16 / (int64_t)conv1d_dtype_size(d->dtype);
    return d->out_channels * ((d->kernel_size * (d->in_channels / d->num_groups) + epp - 1) / epp * epp);
}

/* Host packing of the weights into the kernel's layout (cuda_conv.h); p has packed_elems() elements of the
 * dtype for the tensor-core family, floats for the others (the 16-bit depthwise ones get them widened). */
static void pack_weights(const cuda_state *s, const void *w_arg, void *p_arg)
{
    const conv1d_desc *d = &s->d;
    const int64_t K = d->out_channels, G = d->num_groups, Cg = d->in_channels / G, Kg = K / G, R = d->kernel_size;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    if (s->kind == KIND_TC) {
        if (d->dtype == CONV1D_F32)
            c1_tc_pack_weights(d->in_channels, K, R, G, nwc, w_arg, p_arg);
        else
            c1_tc_pack_weights16(d->in_channels, K, R, G, nwc, w_arg, p_arg);
        return;
    }
    const float *w = w_arg;
    float *p = p_arg;
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < R; r++) {
                /* source: NWC w[r][c][k], NCW w[k][c][r] */
                const float val = nwc ? w[(r * Cg + c) * K + k] : w[(k * Cg + c) * R + r];
                if (s->kind != KIND_DW)
                    p[((k / Kg * R + r) * Cg + c) * Kg + k % Kg] = val; /* [g][r][c][k] */
                else if (nwc)
                    p[r * K + k] = val; /* [r][channel] (Cg == Kg == 1) */
                else
                    p[k * R + r] = val; /* [channel][r] */
            }
}

/* Picks bk and the shared memory size for the smem family; UNSUPPORTED when nothing fits the device. */
static conv1d_status smem_plan(cuda_state *s)
{
    const c1_variant *v = s->v;
    c1_cuda_props props;
    conv1d_status st = c1_cuda_props_get(&props);
    if (st != CONV1D_OK) return st;
    const int64_t Cg = s->d.in_channels / s->d.num_groups;
    int bk0 = 1;
    while (bk0 < 16 && bk0 < Cg) bk0 *= 2;
    const size_t limits[2] = {C1_SMEM_DEFAULT, props.smem_per_block_optin};
    for (int pass = 0; pass < 2; pass++) {
        /* the first pass keeps at least 4 channels per stage (when the group has them) under 48 KiB */
        const int bk_min = pass == 0 ? (bk0 < 4 ? bk0 : 4) : 1;
        for (int bk = bk0; bk >= bk_min; bk /= 2) {
            const size_t need = c1_cuda_smem_bytes(&s->a, v->params[0], v->params[1], bk, v->params[3]);
            if (need <= limits[pass]) {
                s->bk = bk;
                s->smem_bytes = need;
                return CONV1D_OK;
            }
        }
    }
    return c1_fail(CONV1D_UNSUPPORTED,
                   "%s: kernel_size %lld, stride %lld and dilation %lld need more shared memory per block "
                   "than this device's %zu bytes.",
                   v->name, (long long)s->d.kernel_size, (long long)s->d.stride, (long long)s->d.dilation,
                   props.smem_per_block_optin);
}

/* The tensor-core kernels need compute capability 8.0 (mma TF32 and bf16 m16n8k16, cp.async, ldmatrix) and
 * their stages' shared memory within the device's opt-in limit. */
static conv1d_status tc_plan(cuda_state *s)
{
    const c1_variant *v = s->v;
    c1_cuda_props props;
    conv1d_status st = c1_cuda_props_get(&props);
    if (st != CONV1D_OK) return st;
    if (props.cc_major < 8)
        return c1_fail(CONV1D_UNSUPPORTED, "%s needs compute capability 8.0 or later (%s mma.sync), and this GPU "
                                           "has %d.%d.", v->name, c1_precision_name(v->precision), props.cc_major,
                       props.cc_minor);
    s->smem_bytes = c1_cuda_tc_smem_bytes(v->params[0], v->params[1], v->params[2], v->params[3]);
    if (s->smem_bytes > props.smem_per_block_optin)
        return c1_fail(CONV1D_UNSUPPORTED, "%s needs %zu bytes of shared memory per block, more than this device's %zu.",
                       v->name, s->smem_bytes, props.smem_per_block_optin);
    return CONV1D_OK;
}

/* n 16-bit elements of dtype t widened to fp32 (exact); NULL when out of memory. */
static float *widened(const uint16_t *h, int64_t n, conv1d_dtype t)
{
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    if (f)
        for (int64_t i = 0; i < n; i++) f[i] = t == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
    return f;
}

static conv1d_status cuda_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                  const void *w_arg, const void *bias_arg, void **state)
{
    *state = NULL;
    conv1d_status st = c1_cuda_ready(v->name);
    if (st != CONV1D_OK) return st;
    st = c1_variant_applies(v, d);
    if (st != CONV1D_OK) return st;

    cuda_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: could not allocate the variant's state.", v->name);
    s->v = v;
    s->d = *d;
    s->kind = strcmp(v->family, "cuda_smem") == 0    ? KIND_SMEM
              : strcmp(v->family, "cuda_tiled") == 0 ? KIND_TILED
              : strcmp(v->family, "cuda_tc") == 0    ? KIND_TC
                                                     : KIND_DW;
    if (s->kind == KIND_TC) {
        st = tc_plan(s);
        if (st != CONV1D_OK) {
            free(s);
            return st;
        }
    }
    s->a = args_of(d);

    /* The device weights and bias: elements of the dtype, except fp32 for the 16-bit depthwise kernels. */
    const bool widen = s->kind == KIND_DW && d->dtype != CONV1D_F32;
    float *w32 = widen ? widened(w_arg, conv1d_weight_elems(d), d->dtype) : NULL;
    float *b32 = widen && d->has_bias ? widened(bias_arg, d->out_channels, d->dtype) : NULL;
    if (widen && (!w32 || (d->has_bias && !b32))) {
        free(w32), free(b32);
        cuda_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: could not allocate the weights widened to float.", v->name);
    }
    const void *w_src = widen ? (const void *)w32 : w_arg, *b_src = widen ? (const void *)b32 : bias_arg;
    const size_t es = widen ? sizeof(float) : conv1d_dtype_size(d->dtype), wbytes = (size_t)packed_elems(s) * es;
    void *packed = malloc(wbytes);
    if (!packed) {
        free(w32), free(b32);
        cuda_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "%s: could not allocate %zu bytes to pack the weights.", v->name,
                       wbytes);
    }
    pack_weights(s, w_src, packed);
    st = c1_cuda_status(cudaMalloc(&s->dw, wbytes), v->name, "cudaMalloc(weights)");
    if (st == CONV1D_OK)
        st = c1_cuda_status(cudaMemcpy(s->dw, packed, wbytes, cudaMemcpyHostToDevice), v->name, "cudaMemcpy(weights)");
    free(packed);
    if (st == CONV1D_OK && d->has_bias) {
        const size_t nb = (size_t)d->out_channels * es;
        st = c1_cuda_status(cudaMalloc(&s->dbias, nb), v->name, "cudaMalloc(bias)");
        if (st == CONV1D_OK)
            st = c1_cuda_status(cudaMemcpy(s->dbias, b_src, nb, cudaMemcpyHostToDevice), v->name, "cudaMemcpy(bias)");
    }
    free(w32);
    free(b32);
    s->a.w = s->dw;
    s->a.bias = s->dbias;

    if (st == CONV1D_OK) {
        switch (s->kind) {
        case KIND_TILED:
            snprintf(s->info, sizeof s->info, "tile %dx%d, thread tile %dx%d, operands from global memory",
                     v->params[0], v->params[1], v->params[2], v->params[3]);
            break;
        case KIND_SMEM:
            st = smem_plan(s);
            if (st == CONV1D_OK && s->smem_bytes > C1_SMEM_DEFAULT)
                st = c1_cuda_status(c1_cuda_smem_optin(), v->name, "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
            snprintf(s->info, sizeof s->info, "tile %dx%d, thread tile %dx%d, %d input channels per stage, %zu "
                     "bytes shared memory%s",
                     v->params[0], v->params[1], smem_tm(v), v->params[2], s->bk, s->smem_bytes,
                     v->params[3] ? ", double-buffered" : "");
            break;
        case KIND_TC: {
            const c1_tc_geom g = c1_tc_geom_make(d->batch, d->length, d->in_channels, d->out_channels, d->kernel_size,
                                                 d->stride, d->dilation, d->pad_left, d->num_groups,
                                                 conv1d_output_length(d), d->layout == CONV1D_LAYOUT_NWC, 1, (int)es);
            if (s->smem_bytes > C1_SMEM_DEFAULT)
                st = c1_cuda_status(c1_cuda_smem_optin(), v->name, "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
            snprintf(s->info, sizeof s->info, "%s, tile %dx%d, warp tile %dx%d, 3 stages, %zu bytes "
                     "shared memory, %s (%lld iterations of %d)",
                     d->dtype == CONV1D_BF16  ? "bf16 mma.m16n8k16, fp32 accumulation"
                     : d->dtype == CONV1D_F16 ? "f16 mma.m16n8k16, fp32 accumulation"
                                              : "TF32 mma.m16n8k8",
                     v->params[0], v->params[1], v->params[2], v->params[3], s->smem_bytes,
                     g.vec ? "16-byte channel blocks per tap when x is 16-byte aligned" : "flattened taps x channels",
                     (long long)g.nk, g.bk);
            break;
        }
        case KIND_DW: {
            const char *io = d->dtype == CONV1D_BF16  ? "bf16 in and out, fp32 accumulation, "
                             : d->dtype == CONV1D_F16 ? "f16 in and out, fp32 accumulation, "
                                                      : "";
            if (d->layout == CONV1D_LAYOUT_NCW) {
                const long long bo = c1_cuda_dw_ncw_plan(d->kernel_size, d->stride, d->dilation, v->params[0],
                                                         &s->smem_bytes);
                snprintf(s->info, sizeof s->info, "%schannels first, %lld outputs per block, %zu bytes shared memory",
                         io, bo, s->smem_bytes);
            } else {
                snprintf(s->info, sizeof s->info, "%schannels last, runs of %d outputs, %s", io, v->params[0],
                         d->stride == 1 && d->dilation == 1 && d->kernel_size <= 8 ? "sliding register window"
                                                                                   : "taps from global memory");
            }
            break;
        }
        }
    }
    /* A pageable cudaMemcpy may return before its DMA lands; a kernel on a non-blocking user stream must
     * still see the weights. */
    if (st == CONV1D_OK) st = c1_cuda_status(cudaDeviceSynchronize(), v->name, "cudaDeviceSynchronize");
    if (st != CONV1D_OK) {
        cuda_release(s);
        return st;
    }
    *state = s;
    return CONV1D_OK;
}

static conv1d_status cuda_run_async(const void *state, const void *x_arg, void *y_arg, void *workspace, void *stream)
{
    const float *x = x_arg;
    float *y = y_arg;
    (void)workspace;
    const cuda_state *s = state;
    const c1_variant *v = s->v;
    c1_cuda_conv_args a = s->a;
    a.x = x;
    a.y = y;
    int e = 0;
    switch (s->kind) {
    case KIND_TILED:
        e = c1_cuda_tiled_launch(&a, v->params[0], v->params[1], v->params[2], v->params[3], stream);
        break;
    case KIND_SMEM:
        e = c1_cuda_smem_launch(&a, v->params[0], v->params[1], smem_tm(v), v->params[2], s->bk, v->params[3],
                                s->smem_bytes, stream);
        break;
    case KIND_TC:
        e = c1_cuda_tc_launch(&a, v->params[0], v->params[1], v->params[2], v->params[3], stream);
        break;
    case KIND_DW:
        e = a.nwc ? c1_cuda_dw_nwc_launch(&a, v->params[0], stream) : c1_cuda_dw_ncw_launch(&a, v->params[0], stream);
        break;
    }
    return c1_cuda_status(e, v->name, "kernel launch");
}

static conv1d_status cuda_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const cuda_state *s = state;
    conv1d_status st = cuda_run_async(state, x, y, workspace, NULL);
    if (st != CONV1D_OK) return st;
    return c1_cuda_status(cudaStreamSynchronize(0), s->v->name, "cudaStreamSynchronize");
}

static const char *cuda_impl_info(const void *state)
{
    const cuda_state *s = state;
    return s && s->info[0] ? s->info : NULL;
}

const c1_variant_ops c1_cuda_tiled_ops = {
    .available = cuda_available,
    .supports = tiled_supports,
    .prepare = cuda_prepare,
    .run = cuda_run,
    .release = cuda_release,
    .run_async = cuda_run_async,
    .impl_info = cuda_impl_info,
};

const c1_variant_ops c1_cuda_smem_ops = {
    .available = cuda_available,
    .supports = smem_supports,
    .prepare = cuda_prepare,
    .run = cuda_run,
    .release = cuda_release,
    .run_async = cuda_run_async,
    .impl_info = cuda_impl_info,
};

const c1_variant_ops c1_cuda_dw_ops = {
    .available = cuda_available,
    .supports = dw_supports,
    .prepare = cuda_prepare,
    .run = cuda_run,
    .release = cuda_release,
    .run_async = cuda_run_async,
    .impl_info = cuda_impl_info,
};

const c1_variant_ops c1_cuda_tc_ops = {
    .available = cuda_available,
    .supports = tc_supports,
    .prepare = cuda_prepare,
    .run = cuda_run,
    .release = cuda_release,
    .run_async = cuda_run_async,
    .impl_info = cuda_impl_info,
};
