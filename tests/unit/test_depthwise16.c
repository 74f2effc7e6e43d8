/* The bf16 and f16 depthwise variants (depthwise16*.c): every one available here, against the double reference on the
 * same 16-bit inputs, its output poisoned (0xFFFF, a NaN in both types) and checked element by element by
 * c1_compare16 (one rounding of an fp32 accumulation), on shapes derived from the kernels' tiling: channel counts
 * below, at and above the AVX2 and AVX-512 vector widths (8 and 16) with remainders, lengths of one, below the
 * kernel, at the short-row limit and long (past the NCW window chunk and position block), strides 1-3, dilations 1-2,
 * no, causal and two-sided padding, bias on and off, both layouts, batch 1 and 3; the decode step; the NCW row whose
 * window does not fit its buffer; channel multipliers; and what the family refuses. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#include "check.h"
#include "conv1d_ref.h"
#include "depthwise16.h"
#include "half.h"
#include "variant.h"

#define MAX_VARIANTS 8

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;

static int setup(void **unused)
{
    size_t count;
    const c1_variant *list = c1_variant_list(&count);
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        if (strcmp(v->family, "depthwise") != 0 || (v->precision != C1_PREC_BF16 && v->precision != C1_PREC_F16))
            continue;
        if (!c1_isa_available(v->isa)) {
            print_message("not run here: %s (ISA level %s%s)\n", v->name, c1_isa_level_name(c1_isa_effective()),
                          c1_isa_capped() ? ", capped by CONV1D_ISA" : "");
            continue;
        }
        assert_true(nvariants < MAX_VARIANTS);
        variants[nvariants++] = v;
    }
    return 0;
}

enum { PAD_NONE, PAD_CAUSAL, PAD_BOTH, NPAD };

/* A depthwise descriptor; padding that leaves no output falls back to causal padding, which always fits. */
static conv1d_desc dw_desc(int64_t batch, int64_t channels, int64_t length, int64_t k, int64_t stride,
                           int64_t dilation, int pad, int bias, conv1d_layout layout, conv1d_dtype t)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = batch;
    d.length = length;
    d.in_channels = d.out_channels = d.num_groups = channels;
    d.kernel_size = k;
    d.stride = stride;
    d.dilation = dilation;
    const int64_t span = dilation * (k - 1);
    if (pad == PAD_CAUSAL) d.pad_left = span;
    if (pad == PAD_BOTH) d.pad_left = span / 2, d.pad_right = span - span / 2 + 1; /* uneven: one more on the right */
    d.has_bias = bias;
    d.layout = layout;
    d.dtype = t;
    if (conv1d_desc_validate(&d) != CONV1D_OK) {
        d.pad_left = span;
        d.pad_right = 0;
    }
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    return d;
}

/* n random values of dtype t: raw bits in h, their exact values in f and |f| in a. */
static void random16(uint64_t *rng, conv1d_dtype t, int64_t n, uint16_t **h, float **f, float **a)
{
    *h = malloc((size_t)(n > 0 ? n : 1) * sizeof **h);
    *f = malloc((size_t)(n > 0 ? n : 1) * sizeof **f);
    *a = malloc((size_t)(n > 0 ? n : 1) * sizeof **a);
    assert_true(*h && *f && *a);
    for (int64_t i = 0; i < n; i++) {
        const float v = tu_value(rng);
        (*h)[i] = t == CONV1D_BF16 ? c1_f32_to_bf16(v) : c1_f32_to_f16(v);
        (*f)[i] = t == CONV1D_BF16 ? c1_bf16_to_f32((*h)[i]) : c1_f16_to_f32((*h)[i]);
        (*a)[i] = fabsf((*f)[i]);
    }
}

static int checks;

/* Every variant of d's dtype on one fresh problem: prepared on the 16-bit weights and bias, run into a poisoned
 * output, which must pass c1_compare16 against the double reference on the same values; then run again into a fresh
 * poison, which must give the same bits. */
static void check_all(const conv1d_desc *d, uint64_t *rng)
{
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0;
    uint16_t *x, *w, *b;
    float *xf, *wf, *bf, *xa, *wa, *ba;
    random16(rng, d->dtype, nx, &x, &xf, &xa);
    random16(rng, d->dtype, nw, &w, &wf, &wa);
    random16(rng, d->dtype, nb, &b, &bf, &ba);
    double *ref = malloc((size_t)ny * sizeof *ref), *absum = malloc((size_t)ny * sizeof *absum);
    uint16_t *y = malloc((size_t)ny * sizeof *y), *y2 = malloc((size_t)ny * sizeof *y2);
    assert_true(ref && absum && y && y2);
    assert_int_equal(c1_ref_conv1d_f64(d, xf, wf, nb ? bf : NULL, ref), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(d, xa, wa, nb ? ba : NULL, absum), CONV1D_OK);
    const c1_precision prec = d->dtype == CONV1D_BF16 ? C1_PREC_BF16 : C1_PREC_F16;
    char text[CONV1D_DESC_TEXT_MAX];
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        if (v->precision != prec) continue;
        if (c1_variant_applies(v, d) != CONV1D_OK) {
            conv1d_desc_format(d, text, sizeof text);
            fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
        }
        void *state = NULL;
        if (v->ops->prepare(v, d, NULL, w, nb ? b : NULL, &state) != CONV1D_OK)
            fail_msg("%s prepare failed: %s", v->name, conv1d_last_error());
        const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
        void *ws = ws_bytes ? malloc(ws_bytes) : NULL;
        memset(y, 0xff, (size_t)ny * sizeof *y);
        if (v->ops->run(state, x, y, ws) != CONV1D_OK) fail_msg("%s run failed: %s", v->name, conv1d_last_error());
        const c1_error e = c1_compare16(y, d->dtype, ref, absum, ny, d->kernel_size + (nb ? 1 : 0));
        if (e.bad_index >= 0 || e.outside > 0 || !c1_error_ok(e, c1_precision_tolerance(prec))) {
            conv1d_desc_format(d, text, sizeof text);
            const int64_t at = e.bad_index >= 0 ? e.bad_index : e.first_outside;
            fail_msg("%s on %s: %lld of %lld outside their bound (%.2f ulp), first bad output %lld: bits 0x%04x, "
                     "reference %.9g", v->name, text, (long long)e.outside, (long long)ny, e.ulp_max, (long long)at,
                     at >= 0 ? y[at] : 0, at >= 0 ? ref[at] : 0.0);
        }
        memset(y2, 0xff, (size_t)ny * sizeof *y2);
        assert_int_equal(v->ops->run(state, x, y2, ws), CONV1D_OK);
        assert_memory_equal(y, y2, (size_t)ny * sizeof *y);
        v->ops->release(state);
        free(ws);
    }
    free(x), free(w), free(b), free(xf), free(wf), free(bf), free(xa), free(wa), free(ba);
    free(ref), free(absum), free(y), free(y2);
    checks++;
}

/* Both dtypes of one shape. */
static void check_both(conv1d_desc d, uint64_t *rng)
{
    d.dtype = CONV1D_BF16;
    check_all(&d, rng);
    d.dtype = CONV1D_F16;
    check_all(&d, rng);
}

static void test_registered(void **unused)
{
    static const char *const names[] = {"depthwise_bf16__c",      "depthwise_f16__c",      "depthwise_bf16__avx2",
                                        "depthwise_f16__avx2",    "depthwise_bf16__avx512", "depthwise_f16__avx512",
                                        "depthwise_bf16__avx512bf16"};
    size_t expect = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const c1_variant *v = c1_variant_find(names[i]);
        assert_non_null(v);
        expect += c1_isa_available(v->isa);
    }
    assert_int_equal(nvariants, expect);
    assert_true(nvariants >= 2); /* the portable pair runs everywhere */
    for (size_t i = 0; i < nvariants; i++) print_message("checking %s\n", variants[i]->name);
}

static const int64_t channel_counts[] = {1, 15, 16, 17, 31, 33, 100};
static const int64_t kernel_sizes[] = {1, 2, 3, 4, 5, 7, 33};
#define NCHANNELS (int)(sizeof channel_counts / sizeof channel_counts[0])
#define NKERNELS (int)(sizeof kernel_sizes / sizeof kernel_sizes[0])

/* Every channel count by lengths 1, 3, one below the kernel's span, 40 and 300, by stride 1-3, by padding, both
 * layouts; kernel, dilation, bias and batch cycle through their values. */
static void test_tiling_edges(void **unused)
{
    uint64_t rng = 0x16d3ull;
    int idx = 0;
    for (int ci = 0; ci < NCHANNELS; ci++)
        for (int li = 0; li < 5; li++)
            for (int64_t stride = 1; stride <= 3; stride++)
                for (int pad = 0; pad < NPAD; pad++)
                    for (int lay = 0; lay < 2; lay++, idx++) {
                        const int64_t k = kernel_sizes[idx % NKERNELS], dil = 1 + idx / 7 % 2;
                        const int64_t span = (k - 1) * dil;
                        const int64_t lengths[] = {1, 3, span > 1 ? span : 1, 40, 300};
                        const conv1d_desc d = dw_desc(idx % 3 == 0 ? 3 : 1, channel_counts[ci], lengths[li], k,
                                                      stride, dil, pad, idx / 2 % 2, (conv1d_layout)lay, CONV1D_BF16);
                        check_both(d, &rng);
                    }
    print_message("%d problems\n", checks);
}

/* Short rows (the decode path, lengths up to C1_DW16_SHORT_MAX_LEN): every input length 1..8 by kernel 1..4, stride
 * and dilation 1..2, padding, both layouts, channel counts around the block of eight and the work item's 256. */
static void test_short_rows(void **unused)
{
    static const int64_t channels[] = {1, 8, 15, 17, 100, 264};
    uint64_t rng = 0x5407ull;
    int idx = 0;
    for (int64_t L = 1; L <= C1_DW16_SHORT_MAX_LEN; L++)
        for (int64_t k = 1; k <= 4; k++)
            for (int pad = 0; pad < NPAD; pad++)
                for (int lay = 0; lay < 2; lay++, idx++) {
                    const conv1d_desc d = dw_desc(1 + idx % 3 * 2, channels[idx % 6], L, k, 1 + idx / 6 % 2,
                                                  1 + idx / 12 % 2, pad, idx % 2, (conv1d_layout)lay, CONV1D_BF16);
                    check_both(d, &rng);
                }
}

/* Mamba's decode step: batch 64, 4 positions, 2048 channels, k 4 with its causal padding, both layouts (with and
 * without bias); and one position at a time. */
static void test_decode_step(void **unused)
{
    uint64_t rng = 0xdec0ull;
    for (int lay = 0; lay < 2; lay++)
        for (int64_t L = 1; L <= 4; L += 3) {
            check_both(dw_desc(64, 2048, L, 4, 1, 1, PAD_CAUSAL, lay, (conv1d_layout)lay, CONV1D_BF16), &rng);
        }
}

/* Long rows: past the NCW window's chunk (C1_DW16_NCW_CHUNK outputs) and the NCW and NWC position blocks, so chunks
 * and blocks end mid-row, at strides 1-3 (the vector fill of strides 1 and 2 and the scalar one), dilation 2, Mamba's
 * k 4 causal and QuartzNet's k 33 both sides. */
static void test_long_rows(void **unused)
{
    uint64_t rng = 0x10e6ull;
    const int64_t L = C1_DW16_NCW_POS_BLOCK + C1_DW16_NCW_CHUNK / 2 + 37;
    for (int lay = 0; lay < 2; lay++)
        for (int64_t stride = 1; stride <= 3; stride++) {
            check_both(dw_desc(1 + stride % 2, 20, L, 4, stride, 1, PAD_CAUSAL, 1, (conv1d_layout)lay, CONV1D_BF16),
                       &rng);
            check_both(dw_desc(1, 33, L, 33, stride, 2, PAD_BOTH, 0, (conv1d_layout)lay, CONV1D_BF16), &rng);
        }
}

/* The tap counts of the pairing kernels (depthwise_bf16__avx512bf16, stride 1): one pair, odd and even counts, and the
 * NCW form's limits of one, two and three vectors of pairs (up to 48 pairs) and past them, over rows of whole passes
 * (128 outputs) and a ragged end, with padding on both sides; both layouts, 40 channels (a block of 32 and the rest). */
static void test_tap_pairs(void **unused)
{
    static const int64_t taps[] = {2, 3, 4, 5, 31, 32, 33, 34, 63, 64, 96, 97, 98, 99, 130};
    uint64_t rng = 0x9a125ull;
    for (size_t i = 0; i < sizeof taps / sizeof taps[0]; i++)
        for (int lay = 0; lay < 2; lay++)
            check_both(dw_desc(1 + (int64_t)i % 2, 40, 700 + 53 * (int64_t)i, taps[i], 1, 1, PAD_BOTH, (int)i % 2,
                               (conv1d_layout)lay, CONV1D_BF16),
                       &rng);
}

/* NaN and infinities in x: an output whose window holds a NaN (or infinities of both signs) is a NaN of the type, one
 * whose window holds an infinity is that infinity, and every other output is as usual. The kernels round bf16 with
 * integer operations that have no NaN case (depthwise16_avx2.c says why none is needed) or with vcvtneps2bf16, and
 * sum pairs of taps with vdpbf16ps: each of those paths meets a NaN and both infinities here, in rows and columns that
 * long and short kernels, strides, dilations, both layouts and the decode path cover. */
static void check_special(const conv1d_desc *d, uint64_t *rng)
{
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0, C = d->in_channels, L = d->length;
    const bool bf = d->dtype == CONV1D_BF16;
    uint16_t *x, *w, *b;
    float *xf, *wf, *bf_, *xa, *wa, *ba;
    random16(rng, d->dtype, nx, &x, &xf, &xa);
    random16(rng, d->dtype, nw, &w, &wf, &wa);
    random16(rng, d->dtype, nb, &b, &bf_, &ba);
    /* (channel, position, value): NaN; +inf and -inf a few positions apart in one channel (one group of outputs in both
     * layouts); +inf alone */
    const int64_t at[][2] = {{3 % C, L / 6}, {20 % C, L / 3}, {20 % C, L / 3 + 5 < L ? L / 3 + 5 : L - 1},
                             {35 % C, 2 * L / 3}};
    const uint16_t nan = bf ? 0x7fc0 : 0x7e00, inf = bf ? 0x7f80 : 0x7c00;
    const uint16_t vals[] = {nan, inf, (uint16_t)(inf | 0x8000), inf};
    for (int i = 0; i < 4; i++) {
        const int64_t c = at[i][0], l = at[i][1];
        const int64_t idx = d->layout == CONV1D_LAYOUT_NWC ? l * C + c : c * L + l; /* batch element 0 */
        x[idx] = vals[i];
        xf[idx] = bf ? c1_bf16_to_f32(vals[i]) : c1_f16_to_f32(vals[i]);
        xa[idx] = fabsf(xf[idx]);
    }
    double *ref = malloc((size_t)ny * sizeof *ref), *absum = malloc((size_t)ny * sizeof *absum);
    double *rf = malloc((size_t)ny * sizeof *rf), *af = malloc((size_t)ny * sizeof *af);
    uint16_t *y = malloc((size_t)ny * sizeof *y), *yf = malloc((size_t)ny * sizeof *yf);
    assert_true(ref && absum && rf && af && y && yf);
    assert_int_equal(c1_ref_conv1d_f64(d, xf, wf, nb ? bf_ : NULL, ref), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(d, xa, wa, nb ? ba : NULL, absum), CONV1D_OK);
    const c1_precision prec = bf ? C1_PREC_BF16 : C1_PREC_F16;
    char text[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, text, sizeof text);
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        if (v->precision != prec) continue;
        void *state = NULL;
        assert_int_equal(v->ops->prepare(v, d, NULL, w, nb ? b : NULL, &state), CONV1D_OK);
        const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
        void *ws = ws_bytes ? malloc(ws_bytes) : NULL;
        memset(y, 0xff, (size_t)ny * sizeof *y);
        assert_int_equal(v->ops->run(state, x, y, ws), CONV1D_OK);
        int64_t nf = 0, nnan = 0, ninf = 0;
        for (int64_t j = 0; j < ny; j++) {
            const double yv = bf ? c1_bf16_to_f32(y[j]) : c1_f16_to_f32(y[j]);
            if (isnan(ref[j])) {
                if (!isnan(yv)) fail_msg("%s on %s: output %lld is %g, not NaN", v->name, text, (long long)j, yv);
                nnan++;
            } else if (isinf(ref[j])) {
                if (yv != ref[j]) fail_msg("%s on %s: output %lld is %g, not %g", v->name, text, (long long)j, yv, ref[j]);
                ninf++;
            } else {
                rf[nf] = ref[j], af[nf] = absum[j], yf[nf++] = y[j];
            }
        }
        assert_true(nnan > 0 && ninf > 0);
        const c1_error e = c1_compare16(yf, d->dtype, rf, af, nf, d->kernel_size + (nb ? 1 : 0));
        if (e.bad_index >= 0 || e.outside > 0)
            fail_msg("%s on %s: %lld finite outputs outside their bound, first bad at %lld of the finite ones", v->name,
                     text, (long long)e.outside, (long long)(e.bad_index >= 0 ? e.bad_index : e.first_outside));
        v->ops->release(state);
        free(ws);
    }
    free(x), free(w), free(b), free(xf), free(wf), free(bf_), free(xa), free(wa), free(ba);
    free(ref), free(absum), free(rf), free(af), free(y), free(yf);
}

static void test_nan_and_infinities(void **unused)
{
    uint64_t rng = 0x7a7aull;
    for (int lay = 0; lay < 2; lay++)
        for (conv1d_dtype t = CONV1D_BF16; t <= CONV1D_F16; t++) {
            const conv1d_layout l = (conv1d_layout)lay;
            const conv1d_desc ds[] = {
                dw_desc(2, 40, 300, 4, 1, 1, PAD_CAUSAL, 1, l, t), dw_desc(1, 40, 300, 33, 1, 1, PAD_BOTH, 0, l, t),
                dw_desc(1, 40, 300, 3, 2, 1, PAD_BOTH, 1, l, t),   dw_desc(1, 40, 300, 5, 1, 2, PAD_BOTH, 1, l, t),
                dw_desc(3, 40, 6, 4, 1, 1, PAD_CAUSAL, 1, l, t),
            };
            for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) check_special(&ds[i], &rng);
        }
}

/* An NCW row whose window does not fit the buffer (a span of 8000 positions): the per-output form. */
static void test_huge_span(void **unused)
{
    uint64_t rng = 0x4a9eull;
    const conv1d_desc d = dw_desc(2, 3, 8500, 3, 1, 4000, PAD_BOTH, 1, CONV1D_LAYOUT_NCW, CONV1D_BF16);
    assert_true(c1_dw16_ncw_chunk(&(c1_dw_geom){.kernel_size = 3, .dilation = 4000, .stride = 1}) == 0);
    check_both(d, &rng);
    check_both(dw_desc(2, 3, 8500, 3, 1, 4000, PAD_BOTH, 1, CONV1D_LAYOUT_NWC, CONV1D_BF16), &rng);
}

/* dw_desc with a channel multiplier: out_channels = m * channels. */
static conv1d_desc mult_desc(int64_t batch, int64_t channels, int64_t m, int64_t length, int64_t k, int64_t stride,
                             int64_t dilation, int pad, int bias, conv1d_layout layout)
{
    conv1d_desc d = dw_desc(batch, channels, length, k, stride, dilation, pad, bias, layout, CONV1D_BF16);
    d.out_channels = m * channels;
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    return d;
}

/* A channel multiplier: multipliers that are and are not multiples of the vector lengths (8, 16) and of the pair of
 * vectors the kernels take (16, 32), one to three input channels (so blocks of output channels start mid input
 * channel), kernel sizes 1 to 33, strides 1-5, dilation 1-2, lengths from one position to past the NWC run
 * (C1_DW16_MULT_POS positions) and the NCW window's chunk and position block, every padding, both layouts; then
 * wav2vec2's and EnCodec's first layers, a span that shortens the run, and a kernel too long for one position's run. */
static void test_channel_multiplier(void **unused)
{
    static const int64_t mults[] = {2, 3, 8, 16, 24, 32, 40, 64, 96};
    static const int64_t taps[] = {1, 3, 7, 10, 33};
    static const int64_t lengths[] = {1, 9, 50, 301, C1_DW16_NCW_POS_BLOCK + 77};
    uint64_t rng = 0x3a17ull;
    int idx = 0;
    for (size_t mi = 0; mi < sizeof mults / sizeof mults[0]; mi++)
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
            for (int lay = 0; lay < 2; lay++, idx++) {
                const int64_t k = taps[idx % 5], stride = 1 + idx % 5, dil = 1 + idx / 5 % 2;
                const int64_t channels = 1 + idx % 3, L = lengths[li] > 1000 && mults[mi] > 16 ? 1200 : lengths[li];
                check_both(mult_desc(1 + idx % 2, channels, mults[mi], L, k, stride, dil, idx % NPAD, idx / 3 % 2,
                                     (conv1d_layout)lay),
                           &rng);
            }
    for (int lay = 0; lay < 2; lay++) {
        conv1d_desc d = mult_desc(2, 1, 512, 1600, 10, 5, 1, PAD_NONE, 1, (conv1d_layout)lay); /* wav2vec2 */
        check_both(d, &rng);
        check_both(mult_desc(1, 1, 32, 700, 7, 1, 1, PAD_BOTH, 1, (conv1d_layout)lay), &rng); /* EnCodec */
        check_both(mult_desc(1, 2, 16, 4300, C1_DW16_MULT_RUN + 3, 1, 1, PAD_NONE, 0, (conv1d_layout)lay), &rng);
        /* a span that leaves room for 46 positions per run */
        check_both(mult_desc(1, 1, 16, 4200, 2, 1, 4050, PAD_NONE, 1, (conv1d_layout)lay), &rng);
    }
    const c1_dw_geom too_long = {.kernel_size = C1_DW16_MULT_RUN + 3, .dilation = 1, .stride = 1};
    assert_int_equal(c1_dw16_mult_positions(&too_long), 0);
}

/* The portable kernels' branch-free f16 conversions equal core/half.h's: every f16 value widened, and floats every 61
 * bit patterns apart (all exponents and signs, NaN and infinities among them) plus every float within 8 of each f16
 * rounding boundary narrowed. */
static void test_f16_conversions(void **unused)
{
    for (uint32_t h = 0; h < 0x10000u; h++)
        assert_int_equal(c1_f32_bits(c1_dw16_f16_widen((uint16_t)h)), c1_f32_bits(c1_f16_to_f32((uint16_t)h)));
    for (uint64_t u = 0; u <= 0xffffffffull; u += 61) {
        const float f = c1_bits_f32((uint32_t)u);
        if (c1_dw16_f16_narrow(f) != c1_f32_to_f16(f))
            fail_msg("0x%08x: 0x%04x, not 0x%04x", (unsigned)u, c1_dw16_f16_narrow(f), c1_f32_to_f16(f));
    }
    for (uint32_t h = 0; h < 0x8000u; h++) { /* the midpoint above each positive f16, and its negative */
        const double mid = h < 0x7bff ? ((double)c1_f16_to_f32((uint16_t)h) + c1_f16_to_f32((uint16_t)(h + 1))) / 2 : 65520;
        const uint32_t m = c1_f32_bits((float)mid);
        for (uint32_t d = m - 8; d <= m + 8; d++)
            for (int neg = 0; neg < 2; neg++) {
                const uint32_t b = d | (neg ? 0x80000000u : 0u);
                const float f = c1_bits_f32(b);
                if (c1_dw16_f16_narrow(f) != c1_f32_to_f16(f))
                    fail_msg("0x%08x: 0x%04x, not 0x%04x", (unsigned)b, c1_dw16_f16_narrow(f), c1_f32_to_f16(f));
            }
    }
}

/* What the family refuses, with a sentence: another dtype than its class's, groups that are not depthwise; and what
 * it takes: a channel multiplier. */
static void test_refuses(void **unused)
{
    const c1_variant *v = c1_variant_find("depthwise_bf16__c"), *h = c1_variant_find("depthwise_f16__c");
    assert_non_null(v);
    assert_non_null(h);
    conv1d_desc d = dw_desc(1, 8, 16, 3, 1, 1, PAD_NONE, 0, CONV1D_LAYOUT_NWC, CONV1D_BF16);
    assert_int_equal(v->ops->supports(v, &d), CONV1D_OK);
    assert_int_equal(h->ops->supports(h, &d), CONV1D_UNSUPPORTED);
    assert_non_null(strstr(conv1d_last_error(), "dtype bf16"));
    d.dtype = CONV1D_F32;
    assert_int_equal(v->ops->supports(v, &d), CONV1D_UNSUPPORTED);
    d.dtype = CONV1D_BF16;
    d.num_groups = 4;
    assert_int_equal(v->ops->supports(v, &d), CONV1D_UNSUPPORTED);
    assert_non_null(strstr(conv1d_last_error(), "num_groups == in_channels"));
    d.num_groups = 8;
    d.out_channels = 16;
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    assert_int_equal(v->ops->supports(v, &d), CONV1D_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered), cmocka_unit_test(test_tiling_edges), cmocka_unit_test(test_short_rows),
        cmocka_unit_test(test_decode_step), cmocka_unit_test(test_long_rows),  cmocka_unit_test(test_tap_pairs),
        cmocka_unit_test(test_huge_span),  cmocka_unit_test(test_nan_and_infinities),
        cmocka_unit_test(test_channel_multiplier),
        cmocka_unit_test(test_f16_conversions),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
