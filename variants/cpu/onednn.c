/*
 * oneDNN peers: the library everyone compares against, run through its C API.
 *
 *   onednn      (p0 = 0) forward-inference direct convolution on the caller's own layout (nwc or ncw src/dst);
 *               oneDNN picks the weights format and the weights are reordered into it once at prepare.
 *   onednn_any  (p0 = 1) oneDNN also picks the activation formats (usually channel-blocked); run() reorders x
 *               into oneDNN's src format and oneDNN's dst back into y, so the reorders are part of the timed
 *               work, as they are for a caller whose data arrives in its own layout. The blocked buffers live
 *               in the caller's workspace. A reorder oneDNN's choice makes unnecessary is skipped.
 *   onednn_bf16, onednn_bf16_any, onednn_f16, onednn_f16_any
 *               the same two on 16-bit tensors, the peers of the bf16 and f16 classes: x, weights, bias and y
 *               all in the variant's dtype, as MAX takes them; oneDNN accumulates in fp32 and rounds once at
 *               the output. A bias oneDNN refuses in the 16-bit type is widened (exactly) to f32 at prepare.
 *               Where oneDNN has no optimized implementation (none at all, as for bf16 below AVX-512 or f16
 *               without AVX512_FP16, or only its reference code) the variant reports CONV1D_UNSUPPORTED, in
 *               supports() when oneDNN has none on this CPU at all, in prepare() when it has none for the
 *               descriptor: a reference peer would only be slow, making every tuned kernel look good. On
 *               AVX-512 without AVX512_BF16 (CONV1D_ISA=avx512) oneDNN 3.2 emulates the bf16 dot product in
 *               its JIT kernels (jit_bf16:avx512_core); that is what a user there runs, so it is the peer.
 *
 * Thread safety. One prepared state serves concurrent run() calls with distinct workspaces:
 *   - Primitives: created once at prepare with dnnl_scratchpad_mode_user, which oneDNN documents as safe to
 *     execute concurrently as long as each execution has its own scratchpad; the scratchpad is carved out of
 *     the caller's workspace.
 *   - Memory objects and streams: dnnl_memory_set_data_handle mutates its memory object, and oneDNN documents
 *     no thread-safety guarantee for sharing one dnnl_stream between threads (a CPU stream is cheap but
 *     stateful), so neither may be shared by concurrent calls. They cannot live in the workspace either: they
 *     are opaque library objects, and the caller frees a workspace without telling us, which would leak them.
 *     Instead the state keeps a pool of execution contexts (a stream plus the memory objects run() binds to the
 *     caller's pointers); run() claims a free one with an atomic flag, rebinds its data handles (for CPU
 *     memory that is a pointer assignment: no allocation, no zero padding) and hands it back. prepare() makes
 *     the first context, so single-threaded use never allocates in run(); a run() that finds every context
 *     busy creates one more (a few small host allocations inside oneDNN), once per new level of concurrency,
 *     and it is kept until release().
 *   - The engine is one CPU engine for the process, created once (pthread_once) and never destroyed.
 * Threads inside a run: oneDNN's OpenMP team, sized by the caller (OMP_NUM_THREADS, omp_set_num_threads).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oneapi/dnnl/dnnl.h"
#include "oneapi/dnnl/dnnl_debug.h"

#include "error.h"
#include "half.h"
#include "isa.h"
#include "onednn.h"
#include "variant.h"

/* Workspace regions start on cache-line boundaries; the caller's pointer may have any alignment. */
#define WS_ALIGN 64

/* --- the CONV1D_ISA cap ----------------------------------------------------------------------------------- */

/* oneDNN accepts a limit only before its first JIT kernel and only once, hence the once; it fails harmlessly
 * when the program set ONEDNN_MAX_CPU_ISA itself or used oneDNN earlier, and the record then shows
 * what oneDNN really dispatches to. */
static pthread_once_t onednn_limit_once = PTHREAD_ONCE_INIT;

static void onednn_limit(void)
{
    if (!c1_isa_capped()) return;
    switch (c1_isa_effective()) {
    case C1_ISA_LEVEL_C: (void)dnnl_set_max_cpu_isa(dnnl_cpu_isa_sse41); break;
    case C1_ISA_LEVEL_AVX2: (void)dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2); break;
    case C1_ISA_LEVEL_AVX512: (void)dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx512_core); break; /* no bf16 */
    default: break;
    }
}

void c1_onednn_limit_isa(void) { pthread_once(&onednn_limit_once, onednn_limit); }

/* --- the process's engine ------------------------------------------------------------------------------ */

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;

static void engine_init(void)
{
    c1_onednn_limit_isa(); /* CONV1D_ISA caps the peer too, before its first kernel is generated */
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
}

static bool onednn_available(void)
{
    pthread_once(&engine_once, engine_init);
    return engine_status == dnnl_success;
}

/* --- state ---------------------------------------------------------------------------------------------- */

/* What one run() needs exclusively; see the thread-safety note at the top. */
typedef struct exec_ctx {
    struct exec_ctx *next; /* set before the context is published, never changed after */
    atomic_bool busy;
    dnnl_stream_t stream;
    dnnl_memory_t x, y;         /* the caller's tensors, in the caller's layout */
    dnnl_memory_t x_blk, y_blk; /* oneDNN's src/dst formats in the workspace; NULL when no reorder is needed */
    dnnl_memory_t conv_scratch, src_scratch, dst_scratch; /* NULL when that primitive needs none */
} exec_ctx;

typedef struct ctx_pool {
    _Atomic(exec_ctx *) head;
} ctx_pool;

typedef struct onednn_state {
    conv1d_desc d;
    const char *name; /* the variant's name, for error sentences */
    dnnl_memory_desc_t user_src_md, user_dst_md;
    dnnl_primitive_desc_t conv_pd, src_reorder_pd, dst_reorder_pd; /* reorder pds NULL when not needed */
    dnnl_primitive_t conv, src_reorder, dst_reorder;
    dnnl_memory_t weights, bias; /* oneDNN-owned copies; bias NULL without bias */
    size_t scratch_bytes;        /* the largest scratchpad of the (sequentially run) primitives */
    size_t x_blk_off, y_blk_off; /* offsets into the aligned workspace */
    size_t ws_bytes;             /* what workspace_bytes reports, alignment slack included */
    ctx_pool *pool;              /* the one part of the state run() changes */
    char impl[256];
} onednn_state;

/* Turns a failed oneDNN call into the caller's status and sentence; the status's enum name is dnnl_ + its
 * dnnl_status2str text. */
static conv1d_status dnnl_fail(const char *variant, const char *what, dnnl_status_t ds)
{
    conv1d_status st = ds == dnnl_out_of_memory ? CONV1D_OUT_OF_MEMORY : CONV1D_INTERNAL;
    return c1_fail(st, "Variant %s: oneDNN could not %s (dnnl_%s).", variant, what, dnnl_status2str(ds));
}

/* Every oneDNN call goes through this: on failure, the sentence, then the function's one cleanup path. Needs
 * `st` and `s` (the state, for its name) in scope. */
#define DNNL_TRY(call, what)                      \
    do {                                          \
        dnnl_status_t ds_ = (call);               \
        if (ds_ != dnnl_success) {                \
            st = dnnl_fail(s->name, (what), ds_); \
            goto cleanup;                         \
        }                                         \
    } while (0)

static size_t align_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

static size_t scratch_size(const_dnnl_primitive_desc_t pd)
{
    return pd ? dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)) : 0;
}

static void destroy_memory(dnnl_memory_t m)
{
    if (m) dnnl_memory_destroy(m);
}

static void ctx_destroy(exec_ctx *c)
{
    if (!c) return;
    destroy_memory(c->x);
    destroy_memory(c->y);
    destroy_memory(c->x_blk);
    destroy_memory(c->y_blk);
    destroy_memory(c->conv_scratch);
    destroy_memory(c->src_scratch);
    destroy_memory(c->dst_scratch);
    if (c->stream) dnnl_stream_destroy(c->stream);
    free(c);
}

/* A scratchpad memory object for pd, unbound; *m stays NULL when pd needs no scratchpad. */
static dnnl_status_t scratch_memory(const_dnnl_primitive_desc_t pd, dnnl_memory_t *m)
{
    if (scratch_size(pd) == 0) return dnnl_success;
    return dnnl_memory_create(m, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), engine,
                              DNNL_MEMORY_NONE);
}

/* A new context, already claimed (busy) by the caller, published in the pool. */
static conv1d_status ctx_create(const onednn_state *s, exec_ctx **out)
{
    conv1d_status st = CONV1D_OK;
    exec_ctx *c = calloc(1, sizeof *c);
    if (!c) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate an execution context.", s->name);
    atomic_init(&c->busy, true);
    DNNL_TRY(dnnl_stream_create(&c->stream, engine, dnnl_stream_default_flags), "create a stream");
    DNNL_TRY(dnnl_memory_create(&c->x, s->user_src_md, engine, DNNL_MEMORY_NONE), "create the input memory");
    DNNL_TRY(dnnl_memory_create(&c->y, s->user_dst_md, engine, DNNL_MEMORY_NONE), "create the output memory");
    if (s->src_reorder_pd)
        DNNL_TRY(dnnl_memory_create(&c->x_blk, dnnl_primitive_desc_query_md(s->conv_pd, dnnl_query_src_md, 0),
                                    engine, DNNL_MEMORY_NONE),
                 "create the reordered input memory");
    if (s->dst_reorder_pd)
        DNNL_TRY(dnnl_memory_create(&c->y_blk, dnnl_primitive_desc_query_md(s->conv_pd, dnnl_query_dst_md, 0),
                                    engine, DNNL_MEMORY_NONE),
                 "create the blocked output memory");
    DNNL_TRY(scratch_memory(s->conv_pd, &c->conv_scratch), "create the convolution's scratchpad memory");
    DNNL_TRY(scratch_memory(s->src_reorder_pd, &c->src_scratch), "create the input reorder's scratchpad memory");
    DNNL_TRY(scratch_memory(s->dst_reorder_pd, &c->dst_scratch), "create the output reorder's scratchpad memory");

    exec_ctx *head = atomic_load(&s->pool->head);
    do c->next = head;
    while (!atomic_compare_exchange_weak(&s->pool->head, &head, c));
    *out = c;
    return CONV1D_OK;
cleanup:
    ctx_destroy(c);
    return st;
}

static conv1d_status ctx_acquire(const onednn_state *s, exec_ctx **out)
{
    for (exec_ctx *c = atomic_load(&s->pool->head); c; c = c->next)
        if (!atomic_load_explicit(&c->busy, memory_order_relaxed) && !atomic_exchange(&c->busy, true)) {
            *out = c;
            return CONV1D_OK;
        }
    return ctx_create(s, out);
}

static void ctx_release(exec_ctx *c) { atomic_store(&c->busy, false); }

/* oneDNN's format tag notation for a blocked descriptor, e.g. "aBc16b" (nCw16c) or "acb" (nwc): outer dims
 * from the largest stride down, upper case when the dim is also blocked, then the inner blocks. */
static void format_tag(const_dnnl_memory_desc_t md, char *buf, size_t size)
{
    int kind = 0, ndims = 0, nblks = 0;
    const dnnl_dims_t *strides = NULL, *blks = NULL, *idxs = NULL;
    if (dnnl_memory_desc_query(md, dnnl_query_format_kind, &kind) != dnnl_success || kind != dnnl_blocked ||
        dnnl_memory_desc_query(md, dnnl_query_ndims_s32, &ndims) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_strides, &strides) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_inner_nblks_s32, &nblks) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_inner_blks, &blks) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_inner_idxs, &idxs) != dnnl_success || ndims > DNNL_MAX_NDIMS) {
        snprintf(buf, size, "%s", kind == dnnl_blocked ? "blocked" : "opaque");
        return;
    }
    bool blocked[DNNL_MAX_NDIMS] = {false}, used[DNNL_MAX_NDIMS] = {false};
    for (int i = 0; i < nblks; i++) blocked[(*idxs)[i]] = true;
    size_t n = 0;
    for (int k = 0; k < ndims && n + 1 < size; k++) {
        int best = -1;
        for (int i = 0; i < ndims; i++)
            if (!used[i] && (best < 0 || (*strides)[i] > (*strides)[best])) best = i;
        used[best] = true;
        buf[n++] = (char)((blocked[best] ? 'A' : 'a') + best);
    }
    buf[n] = '\0';
    for (int i = 0; i < nblks && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%lld%c", (long long)(*blks)[i], (char)('a' + (*idxs)[i]));
}

static void onednn_release(void *state)
{
    onednn_state *s = state;
    if (!s) return;
    if (s->pool) {
        exec_ctx *c = atomic_load(&s->pool->head);
        while (c) {
            exec_ctx *next = c->next;
            ctx_destroy(c);
            c = next;
        }
        free(s->pool);
    }
    if (s->conv) dnnl_primitive_destroy(s->conv);
    if (s->src_reorder) dnnl_primitive_destroy(s->src_reorder);
    if (s->dst_reorder) dnnl_primitive_destroy(s->dst_reorder);
    if (s->conv_pd) dnnl_primitive_desc_destroy(s->conv_pd);
    if (s->src_reorder_pd) dnnl_primitive_desc_destroy(s->src_reorder_pd);
    if (s->dst_reorder_pd) dnnl_primitive_desc_destroy(s->dst_reorder_pd);
    destroy_memory(s->weights);
    destroy_memory(s->bias);
    if (s->user_src_md) dnnl_memory_desc_destroy(s->user_src_md);
    if (s->user_dst_md) dnnl_memory_desc_destroy(s->user_dst_md);
    free(s);
}

/* oneDNN's name of the descriptor's element type. */
static dnnl_data_type_t dnnl_dtype(conv1d_dtype t)
{
    return t == CONV1D_BF16 ? dnnl_bf16 : t == CONV1D_F16 ? dnnl_f16 : dnnl_f32;
}

/* Whether oneDNN's implementation name is one of its reference (naive C++) ones: "ref:any", "gemm:ref"
 * (a GEMM convolution over the reference GEMM), and the like. */
static bool reference_impl(const char *impl)
{
    for (const char *p = impl; (p = strstr(p, "ref")) != NULL; p += 3) {
        const bool starts = p == impl || p[-1] == ':' || p[-1] == ' ', ends = p[3] == '\0' || p[3] == ':';
        if (starts && ends) return true;
    }
    return false;
}

/* --- whether oneDNN has an optimized 16-bit convolution here ------------------------------------------------ */

/* Asked once per process and dtype: a small dense NWC convolution, the commonest case, planned in bf16 (f16).
 * oneDNN either refuses it (3.2 runs bf16 from AVX-512 up, natively with AVX512_BF16 and emulated without,
 * and f16 only with AVX512_FP16) or names its implementation; a reference one means none is optimized. So
 * supports() can say so without planning each descriptor, and the dispatcher never picks a peer that would
 * fail at prepare on every shape. A descriptor oneDNN only has reference code for is still caught at prepare. */
static pthread_once_t half_probe_once = PTHREAD_ONCE_INIT;
static bool half_optimized[2]; /* [0] bf16, [1] f16 */

static bool probe_dtype(dnnl_data_type_t dt)
{
    const dnnl_dims_t src_dims = {1, 16, 32}, dst_dims = {1, 16, 30}, w_dims = {16, 16, 3};
    const dnnl_dims_t strides = {1}, dilates = {0}, pad = {0};
    dnnl_memory_desc_t src = NULL, dst = NULL, w = NULL;
    dnnl_primitive_desc_t pd = NULL;
    bool ok = dnnl_memory_desc_create_with_tag(&src, 3, src_dims, dt, dnnl_nwc) == dnnl_success &&
              dnnl_memory_desc_create_with_tag(&dst, 3, dst_dims, dt, dnnl_nwc) == dnnl_success &&
              dnnl_memory_desc_create_with_tag(&w, 3, w_dims, dt, dnnl_format_tag_any) == dnnl_success &&
              dnnl_convolution_forward_primitive_desc_create(&pd, engine, dnnl_forward_inference,
                                                             dnnl_convolution_direct, src, w, NULL, dst, strides,
                                                             dilates, pad, pad, NULL) == dnnl_success;
    const char *impl = NULL;
    ok = ok && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
         !reference_impl(impl);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (src) dnnl_memory_desc_destroy(src);
    if (dst) dnnl_memory_desc_destroy(dst);
    if (w) dnnl_memory_desc_destroy(w);
    return ok;
}

static void half_probe(void)
{
    half_optimized[0] = probe_dtype(dnnl_bf16);
    half_optimized[1] = probe_dtype(dnnl_f16);
}

/* --- variant ops ---------------------------------------------------------------------------------------- */

static conv1d_status onednn_supports(const c1_variant *v, const conv1d_desc *d)
{
    if (!c1_precision_takes(v->precision, d->dtype))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes class %s and does not take dtype %s.", v->name,
                       c1_precision_name(v->precision), conv1d_dtype_name(d->dtype));
    if (d->dtype != CONV1D_F32 && onednn_available()) {
        pthread_once(&half_probe_once, half_probe);
        if (!half_optimized[d->dtype == CONV1D_F16])
            return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: oneDNN has no optimized %s convolution on this CPU%s%s.",
                           v->name, conv1d_dtype_name(d->dtype), c1_isa_capped() ? " at CONV1D_ISA=" : "",
                           c1_isa_capped() ? c1_isa_level_name(c1_isa_effective()) : "");
    }
    return CONV1D_OK;
}

/* The caller's weights as oneDNN sees them (grouped: g, oc/g, ic/g, kw), with the strides of the caller's
 * layout, so that a reorder primitive does the transposition. */
static dnnl_status_t user_weights_md(const conv1d_desc *d, dnnl_memory_desc_t *md)
{
    const dnnl_data_type_t dt = dnnl_dtype(d->dtype);
    const int64_t G = d->num_groups, K = d->out_channels, Kg = K / G, Cg = d->in_channels / G, R = d->kernel_size;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    if (G == 1) {
        /* NWC w[r][c][k]; NCW w[k][c][r] */
        const dnnl_dims_t dims = {K, Cg, R};
        const dnnl_dims_t nwc_strides = {1, K, Cg * K}, ncw_strides = {Cg * R, R, 1};
        return dnnl_memory_desc_create_with_strides(md, 3, dims, dt, nwc ? nwc_strides : ncw_strides);
    }
    const dnnl_dims_t dims = {G, Kg, Cg, R};
    const dnnl_dims_t nwc_strides = {Kg, 1, K, Cg * K}, ncw_strides = {Kg * Cg * R, Cg * R, R, 1};
    return dnnl_memory_desc_create_with_strides(md, 4, dims, dt, nwc ? nwc_strides : ncw_strides);
}

static conv1d_status onednn_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *kctx,
                                    const void *w_arg, const void *bias_arg, void **state)
{
    conv1d_status st = CONV1D_OK;
    const bool any = v->params[0] != 0;
    const dnnl_data_type_t dt = dnnl_dtype(d->dtype);
    const bool half = d->dtype != CONV1D_F32;
    dnnl_data_type_t bias_dt = dt;
    dnnl_memory_desc_t src_md = NULL, dst_md = NULL, w_any_md = NULL, w_user_md = NULL, bias_md = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t w_reorder_pd = NULL;
    dnnl_primitive_t w_reorder = NULL;
    dnnl_memory_t w_user = NULL;
    exec_ctx *ctx = NULL;

    if (!onednn_available())
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: oneDNN could not create a CPU engine (dnnl_%s).", v->name,
                       dnnl_status2str(engine_status));
    onednn_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the state of variant %s.", v->name);
    s->d = *d;
    s->name = v->name;
    s->pool = calloc(1, sizeof *s->pool);
    if (!s->pool) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the context pool of variant %s.", v->name);
        goto cleanup;
    }
    atomic_init(&s->pool->head, NULL);

    const int64_t OL = conv1d_output_length(d);
    const dnnl_format_tag_t user_tag = d->layout == CONV1D_LAYOUT_NWC ? dnnl_nwc : dnnl_ncw;
    const dnnl_format_tag_t act_tag = any ? dnnl_format_tag_any : user_tag;
    const dnnl_dims_t src_dims = {d->batch, d->in_channels, d->length};
    const dnnl_dims_t dst_dims = {d->batch, d->out_channels, OL};
    DNNL_TRY(dnnl_memory_desc_create_with_tag(&s->user_src_md, 3, src_dims, dt, user_tag), "describe the input");
    DNNL_TRY(dnnl_memory_desc_create_with_tag(&s->user_dst_md, 3, dst_dims, dt, user_tag), "describe the output");
    DNNL_TRY(dnnl_memory_desc_create_with_tag(&src_md, 3, src_dims, dt, act_tag), "describe the input");
    DNNL_TRY(dnnl_memory_desc_create_with_tag(&dst_md, 3, dst_dims, dt, act_tag), "describe the output");
    DNNL_TRY(user_weights_md(d, &w_user_md), "describe the weights");
    {
        const int64_t G = d->num_groups, K = d->out_channels, Cg = d->in_channels / G, R = d->kernel_size;
        const dnnl_dims_t w_dims = {K, Cg, R}, gw_dims = {G, K / G, Cg, R};
        DNNL_TRY(G == 1 ? dnnl_memory_desc_create_with_tag(&w_any_md, 3, w_dims, dt, dnnl_format_tag_any)
                        : dnnl_memory_desc_create_with_tag(&w_any_md, 4, gw_dims, dt, dnnl_format_tag_any),
                 "describe the weights");
    }
    if (d->has_bias) {
        const dnnl_dims_t b_dims = {d->out_channels};
        DNNL_TRY(dnnl_memory_desc_create_with_tag(&bias_md, 1, b_dims, dt, dnnl_a), "describe the bias");
    }
    DNNL_TRY(dnnl_primitive_attr_create(&attr), "create primitive attributes");
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set the scratchpad mode");

    const dnnl_dims_t strides = {d->stride}, dilates = {d->dilation - 1};
    const dnnl_dims_t pad_l = {d->pad_left}, pad_r = {d->pad_right};
    dnnl_status_t ds = dnnl_convolution_forward_primitive_desc_create(
        &s->conv_pd, engine, dnnl_forward_inference, dnnl_convolution_direct, src_md, w_any_md, bias_md, dst_md,
        strides, dilates, pad_l, pad_r, attr);
    if (ds == dnnl_unimplemented && half && d->has_bias) {
        /* Some 16-bit implementations take only an f32 bias; widening it is exact, so the result is the same. */
        s->conv_pd = NULL;
        dnnl_memory_desc_destroy(bias_md);
        bias_md = NULL;
        bias_dt = dnnl_f32;
        const dnnl_dims_t b_dims = {d->out_channels};
        DNNL_TRY(dnnl_memory_desc_create_with_tag(&bias_md, 1, b_dims, bias_dt, dnnl_a), "describe the bias");
        ds = dnnl_convolution_forward_primitive_desc_create(&s->conv_pd, engine, dnnl_forward_inference,
                                                            dnnl_convolution_direct, src_md, w_any_md, bias_md,
                                                            dst_md, strides, dilates, pad_l, pad_r, attr);
    }
    if (ds != dnnl_success) {
        s->conv_pd = NULL;
        if (ds == dnnl_out_of_memory)
            st = c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: oneDNN ran out of memory planning the convolution.",
                         v->name);
        else if (half)
            st = c1_fail(CONV1D_UNSUPPORTED,
                         "Variant %s: oneDNN has no optimized %s convolution for this descriptor on this CPU "
                         "(dnnl_%s).",
                         v->name, conv1d_dtype_name(d->dtype), dnnl_status2str(ds));
        else
            st = c1_fail(CONV1D_UNSUPPORTED, "Variant %s: oneDNN has no convolution for this descriptor (dnnl_%s).",
                         v->name, dnnl_status2str(ds));
        goto cleanup;
    }

    const char *impl = NULL;
    DNNL_TRY(dnnl_primitive_desc_query(s->conv_pd, dnnl_query_impl_info_str, 0, &impl), "name its implementation");
    if (half && impl && reference_impl(impl)) {
        /* Checked before the primitive is created: no point generating code that is never run. */
        st = c1_fail(CONV1D_UNSUPPORTED,
                     "Variant %s: oneDNN has no optimized %s convolution for this descriptor on this CPU (only its "
                     "reference code, %s).",
                     v->name, conv1d_dtype_name(d->dtype), impl);
        goto cleanup;
    }
    DNNL_TRY(dnnl_primitive_create(&s->conv, s->conv_pd), "create the convolution primitive");
    size_t n = (size_t)snprintf(s->impl, sizeof s->impl, "%s", impl ? impl : "");
    if (d->has_bias && bias_dt != dt && n < sizeof s->impl)
        n += (size_t)snprintf(s->impl + n, sizeof s->impl - n, " bias:f32");

    /* onednn_any: reorders only where oneDNN's choice differs from the caller's layout. */
    const_dnnl_memory_desc_t conv_src = dnnl_primitive_desc_query_md(s->conv_pd, dnnl_query_src_md, 0);
    const_dnnl_memory_desc_t conv_dst = dnnl_primitive_desc_query_md(s->conv_pd, dnnl_query_dst_md, 0);
    if (!dnnl_memory_desc_equal(conv_src, s->user_src_md)) {
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&s->src_reorder_pd, s->user_src_md, engine, conv_src, engine,
                                                    attr),
                 "plan the input reorder");
        DNNL_TRY(dnnl_primitive_create(&s->src_reorder, s->src_reorder_pd), "create the input reorder");
        char tag[64];
        format_tag(conv_src, tag, sizeof tag);
        if (n < sizeof s->impl) n += (size_t)snprintf(s->impl + n, sizeof s->impl - n, " src:%s", tag);
    }
    if (!dnnl_memory_desc_equal(conv_dst, s->user_dst_md)) {
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&s->dst_reorder_pd, conv_dst, engine, s->user_dst_md, engine,
                                                    attr),
                 "plan the output reorder");
        DNNL_TRY(dnnl_primitive_create(&s->dst_reorder, s->dst_reorder_pd), "create the output reorder");
        char tag[64];
        format_tag(conv_dst, tag, sizeof tag);
        if (n < sizeof s->impl) snprintf(s->impl + n, sizeof s->impl - n, " dst:%s", tag);
    }

    /* Workspace: [scratchpad | reordered input | blocked output]; the reorders and the convolution run one
     * after the other, so they share one scratchpad region. */
    size_t scratch = scratch_size(s->conv_pd);
    if (scratch_size(s->src_reorder_pd) > scratch) scratch = scratch_size(s->src_reorder_pd);
    if (scratch_size(s->dst_reorder_pd) > scratch) scratch = scratch_size(s->dst_reorder_pd);
    s->scratch_bytes = scratch;
    s->x_blk_off = align_up(scratch);
    s->y_blk_off = s->x_blk_off + (s->src_reorder_pd ? align_up(dnnl_memory_desc_get_size(conv_src)) : 0);
    const size_t used = s->y_blk_off + (s->dst_reorder_pd ? align_up(dnnl_memory_desc_get_size(conv_dst)) : 0);
    s->ws_bytes = used ? used + WS_ALIGN - 1 : 0;

    /* The first context, which also runs the one-time weight reorder. */
    if ((st = ctx_create(s, &ctx)) != CONV1D_OK) goto cleanup;

    /* The caller's weights are only read (reorder src), so dropping const for the handle is safe. */
    const_dnnl_memory_desc_t conv_w = dnnl_primitive_desc_query_md(s->conv_pd, dnnl_query_weights_md, 0);
    DNNL_TRY(dnnl_memory_create(&w_user, w_user_md, engine, (void *)w_arg), "wrap the weights");
    DNNL_TRY(dnnl_memory_create(&s->weights, conv_w, engine, DNNL_MEMORY_ALLOCATE), "allocate the packed weights");
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&w_reorder_pd, w_user_md, engine, conv_w, engine, NULL),
             "plan the weight reorder");
    DNNL_TRY(dnnl_primitive_create(&w_reorder, w_reorder_pd), "create the weight reorder");
    const dnnl_exec_arg_t w_args[] = {{DNNL_ARG_FROM, w_user}, {DNNL_ARG_TO, s->weights}};
    DNNL_TRY(dnnl_primitive_execute(w_reorder, ctx->stream, 2, w_args), "reorder the weights");
    DNNL_TRY(dnnl_stream_wait(ctx->stream), "finish the weight reorder");

    if (d->has_bias) {
        void *p = NULL;
        DNNL_TRY(dnnl_memory_create(&s->bias, bias_md, engine, DNNL_MEMORY_ALLOCATE), "allocate the bias");
        DNNL_TRY(dnnl_memory_get_data_handle(s->bias, &p), "map the bias");
        if (bias_dt == dt) {
            memcpy(p, bias_arg, (size_t)d->out_channels * conv1d_dtype_size(d->dtype));
        } else { /* a 16-bit bias widened to f32 (exact) */
            const uint16_t *b16 = bias_arg;
            float *bf = p;
            for (int64_t k = 0; k < d->out_channels; k++)
                bf[k] = d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(b16[k]) : c1_f16_to_f32(b16[k]);
        }
    }
    ctx_release(ctx);
    ctx = NULL;
    *state = s;

cleanup:
    if (ctx) ctx_release(ctx);
    if (w_reorder) dnnl_primitive_destroy(w_reorder);
    if (w_reorder_pd) dnnl_primitive_desc_destroy(w_reorder_pd);
    destroy_memory(w_user);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (src_md) dnnl_memory_desc_destroy(src_md);
    if (dst_md) dnnl_memory_desc_destroy(dst_md);
    if (w_any_md) dnnl_memory_desc_destroy(w_any_md);
    if (w_user_md) dnnl_memory_desc_destroy(w_user_md);
    if (bias_md) dnnl_memory_desc_destroy(bias_md);
    if (st != CONV1D_OK) onednn_release(s);
    return st;
}

static size_t onednn_workspace_bytes(const void *state) { return ((const onednn_state *)state)->ws_bytes; }

/* x and y hold elements of the descriptor's dtype; the memory objects already carry it. */
static conv1d_status onednn_run(const void *state, const void *x, void *y, void *workspace)
{
    const onednn_state *s = state;
    exec_ctx *c = NULL;
    conv1d_status st = ctx_acquire(s, &c);
    if (st != CONV1D_OK) return st;

    char *ws = (char *)(((uintptr_t)workspace + WS_ALIGN - 1) & ~(uintptr_t)(WS_ALIGN - 1));
    /* x is only read (src of the reorder or the convolution), so dropping const for the handle is safe. */
    DNNL_TRY(dnnl_memory_set_data_handle(c->x, (void *)x), "bind the input");
    DNNL_TRY(dnnl_memory_set_data_handle(c->y, y), "bind the output");
    if (c->x_blk) DNNL_TRY(dnnl_memory_set_data_handle(c->x_blk, ws + s->x_blk_off), "bind the reordered input");
    if (c->y_blk) DNNL_TRY(dnnl_memory_set_data_handle(c->y_blk, ws + s->y_blk_off), "bind the blocked output");
    if (c->conv_scratch) DNNL_TRY(dnnl_memory_set_data_handle(c->conv_scratch, ws), "bind the scratchpad");
    if (c->src_scratch) DNNL_TRY(dnnl_memory_set_data_handle(c->src_scratch, ws), "bind the scratchpad");
    if (c->dst_scratch) DNNL_TRY(dnnl_memory_set_data_handle(c->dst_scratch, ws), "bind the scratchpad");

    if (s->src_reorder) {
        const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, c->x}, {DNNL_ARG_TO, c->x_blk},
                                        {DNNL_ARG_SCRATCHPAD, c->src_scratch}};
        DNNL_TRY(dnnl_primitive_execute(s->src_reorder, c->stream, c->src_scratch ? 3 : 2, args),
                 "reorder the input");
    }
    {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, c->x_blk ? c->x_blk : c->x},
                                   {DNNL_ARG_WEIGHTS, s->weights},
                                   {DNNL_ARG_DST, c->y_blk ? c->y_blk : c->y}};
        int nargs = 3;
        if (s->bias) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->bias};
        if (c->conv_scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, c->conv_scratch};
        DNNL_TRY(dnnl_primitive_execute(s->conv, c->stream, nargs, args), "run the convolution");
    }
    if (s->dst_reorder) {
        const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, c->y_blk}, {DNNL_ARG_TO, c->y},
                                        {DNNL_ARG_SCRATCHPAD, c->dst_scratch}};
        DNNL_TRY(dnnl_primitive_execute(s->dst_reorder, c->stream, c->dst_scratch ? 3 : 2, args),
                 "reorder the output");
    }
    DNNL_TRY(dnnl_stream_wait(c->stream), "finish the convolution");
cleanup:
    ctx_release(c);
    return st;
}

static const char *onednn_impl_info(const void *state) { return ((const onednn_state *)state)->impl; }

const c1_variant_ops c1_onednn_ops = {
    .available = onednn_available,
    .supports = onednn_supports,
    .prepare = onednn_prepare,
    .workspace_bytes = onednn_workspace_bytes,
    .run = onednn_run,
    .release = onednn_release,
    .impl_info = onednn_impl_info,
};
