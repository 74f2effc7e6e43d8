/* The depthwise variants: every one available here, against the double reference, on shapes derived from the
 * kernels' tiling (vector width, channel and position blocks, interior versus clamped edges), on random
 * depthwise descriptors, and refusing everything that is not depthwise. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#include "conv1d_ref.h"
#include "depthwise.h"
#include "variant.h"

#define MAX_VARIANTS 8

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;

static int setup(void **unused)
{
    size_t count;
    const c1_variant *list = c1_variant_list(&count);
    for (size_t i = 0; i < count; i++)
        /* the fp32 variants: the bf16 and f16 ones are test_depthwise16.c's */
        if (strcmp(list[i].family, "depthwise") == 0 && list[i].precision == C1_PREC_FP32 &&
            c1_isa_available(list[i].isa) && (!list[i].ops->available || list[i].ops->available())) {
            assert_true(nvariants < MAX_VARIANTS);
            variants[nvariants++] = &list[i];
        }
    return 0;
}

enum { PAD_NONE, PAD_SYMMETRIC, PAD_CAUSAL, PAD_ASYMMETRIC, PAD_LEFT_HEAVY, NPAD };

/* A depthwise descriptor; padding that leaves no room for the kernel falls back to causal padding, which
 * always fits. PAD_ASYMMETRIC pads the right by more than the kernel spans, so the last outputs read only
 * padding (bias alone); PAD_LEFT_HEAVY does the same on the left. */
static conv1d_desc dw_desc(int64_t batch, int64_t channels, int64_t mult, int64_t length, int64_t k, int64_t stride,
                           int64_t dilation, int pad, int bias, conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = batch;
    d.length = length;
    d.in_channels = d.num_groups = channels;
    d.out_channels = channels * mult;
    d.kernel_size = k;
    d.stride = stride;
    d.dilation = dilation;
    const int64_t span = dilation * (k - 1);
    switch (pad) {
    case PAD_SYMMETRIC: d.pad_left = d.pad_right = span / 2; break;
    case PAD_CAUSAL: d.pad_left = span; break;
    case PAD_ASYMMETRIC: d.pad_left = 1; d.pad_right = span + 2; break;
    case PAD_LEFT_HEAVY: d.pad_left = span + 3; d.pad_right = 0; break;
    default: break;
    }
    d.has_bias = bias;
    d.layout = layout;
    if (conv1d_desc_validate(&d) != CONV1D_OK) {
        d.pad_left = span;
        d.pad_right = 0;
    }
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    return d;
}

static void describe(const conv1d_desc *d, char *text, size_t size) { conv1d_desc_format(d, text, size); }

/* Fresh random weights, bias and input for one descriptor, and the reference output, shared by the variants. */
typedef struct problem {
    const conv1d_desc *d;
    float *w, *bias, *x;
    double *ref;
} problem;

/* Prepares v, runs it into a NaN-poisoned y, and checks max|y - ref| / max|ref| < 1e-5 with every output
 * finite. */
/* Outputs 64-byte aligned, as a framework's tensors are (the streaming variant streams only then); else as malloc
 * gives them. */
static bool align_y;

/* The streaming variant applies only where it streams (depthwise.h); every other one to every depthwise shape. */
static bool streams(const c1_variant *v) { return v->params[0] == 1; }

static void check_variant(const c1_variant *v, const problem *p)
{
    const conv1d_desc *d = p->d;
    char text[CONV1D_DESC_TEXT_MAX];
    if (c1_variant_applies(v, d) != CONV1D_OK) {
        if (streams(v)) return;
        describe(d, text, sizeof text);
        fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
    }
    void *state = NULL;
    if (v->ops->prepare(v, d, NULL, p->w, p->bias, &state) != CONV1D_OK)
        fail_msg("%s prepare failed: %s", v->name, conv1d_last_error());
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    void *ws = ws_bytes ? malloc(ws_bytes) : NULL;
    if (ws_bytes) memset(ws, 0xff, ws_bytes);

    const int64_t ny = conv1d_output_elems(d);
    float *y = align_y ? aligned_alloc(64, ((size_t)ny * sizeof *y + 63) / 64 * 64) : malloc((size_t)ny * sizeof *y);
    assert_non_null(y);
    for (int64_t i = 0; i < ny; i++) y[i] = NAN;
    if (v->ops->run(state, p->x, y, ws) != CONV1D_OK) fail_msg("%s run failed: %s", v->name, conv1d_last_error());

    double max_ref = 0, max_err = 0;
    for (int64_t i = 0; i < ny; i++) {
        if (!isfinite(y[i])) {
            describe(d, text, sizeof text);
            fail_msg("%s left %g at %lld of %lld on %s", v->name, (double)y[i], (long long)i, (long long)ny, text);
        }
        max_ref = fmax(max_ref, fabs(p->ref[i]));
        max_err = fmax(max_err, fabs(y[i] - p->ref[i]));
    }
    if (max_err > 1e-5 * fmax(max_ref, 1e-30)) {
        describe(d, text, sizeof text);
        fail_msg("%s on %s: max error %g, max |ref| %g", v->name, text, max_err, max_ref);
    }
    v->ops->release(state);
    free(ws);
    free(y);
}

static int checks;

static void check_all(const conv1d_desc *d, uint64_t *rng)
{
    problem p = {.d = d};
    p.w = tu_random_floats(rng, conv1d_weight_elems(d));
    p.bias = d->has_bias ? tu_random_floats(rng, d->out_channels) : NULL;
    p.x = tu_random_floats(rng, conv1d_input_elems(d));
    p.ref = malloc((size_t)conv1d_output_elems(d) * sizeof *p.ref);
    assert_non_null(p.ref);
    c1_ref_conv1d_f64(d, p.x, p.w, p.bias, p.ref);
    for (size_t i = 0; i < nvariants; i++) check_variant(variants[i], &p);
    free(p.w);
    free(p.bias);
    free(p.x);
    free(p.ref);
    checks++;
}

static const int64_t channel_counts[] = {1, 7, 15, 16, 17, 31, 32, 33, 64 + 5};
static const int64_t kernel_sizes[] = {1, 2, 3, 4, 5, 31, 33};
#define NCHANNELS (int)(sizeof channel_counts / sizeof channel_counts[0])
#define NKERNELS (int)(sizeof kernel_sizes / sizeof kernel_sizes[0])

static void test_registered(void **unused)
{
    assert_non_null(c1_variant_find("depthwise__c"));
    assert_non_null(c1_variant_find("depthwise__avx2"));
    assert_non_null(c1_variant_find("depthwise__avx512"));
    /* The portable variant is always there; the vector ones whenever the CPU has their ISA and CONV1D_ISA
     * leaves it. */
    bool has_c = false;
    for (size_t i = 0; i < nvariants; i++) has_c |= strcmp(variants[i]->name, "depthwise__c") == 0;
    assert_true(has_c);
    assert_non_null(c1_variant_find("depthwise_nt__avx2"));
    size_t expect = 1 + 2 * c1_isa_available(C1_ISA_LEVEL_AVX2) + c1_isa_available(C1_ISA_LEVEL_AVX512);
    assert_int_equal(nvariants, expect);
    for (size_t i = 0; i < nvariants; i++) print_message("checking %s\n", variants[i]->name);
}

/* Every channel count (below, at and above the AVX2 and AVX-512 vector widths, with remainders) with every
 * length 1..40, both layouts; kernel, stride, dilation, padding, bias and batch cycle through their values. */
static void test_channels_and_lengths(void **unused)
{
    uint64_t rng = 0xd3e9ull;
    int idx = 0;
    for (int c = 0; c < NCHANNELS; c++)
        for (int64_t length = 1; length <= 40; length++)
            for (int layout = 0; layout < 2; layout++, idx++) {
                const conv1d_desc d = dw_desc(1 + (idx / 7) % 3, channel_counts[c], 1, length,
                                              kernel_sizes[idx % NKERNELS], 1 + idx % 3, 1 + (idx / 3) % 3,
                                              idx % NPAD, (idx / 5) & 1, (conv1d_layout)layout);
                check_all(&d, &rng);
            }
}

/* Every kernel size, stride, dilation and padding, both layouts, with about one NWC position block of
 * outputs (one below, at, above, and two blocks plus a remainder). */
static void test_kernel_stride_dilation_padding(void **unused)
{
    uint64_t rng = 0x6e71ull;
    const int64_t PB = C1_DW_NWC_POS_BLOCK, targets[] = {PB - 1, PB, PB + 1, 2 * PB + 3};
    int idx = 0;
    for (int k = 0; k < NKERNELS; k++)
        for (int64_t stride = 1; stride <= 3; stride++)
            for (int64_t dilation = 1; dilation <= 3; dilation++)
                for (int pad = 0; pad < NPAD; pad++)
                    for (int layout = 0; layout < 2; layout++, idx++) {
                        /* The input length that gives the target output length without padding. */
                        const int64_t out = targets[idx % 4], r = kernel_sizes[k];
                        const int64_t length = (out - 1) * stride + dilation * (r - 1) + 1;
                        const conv1d_desc d = dw_desc(1 + idx % 2, channel_counts[idx % NCHANNELS], 1, length, r,
                                                      stride, dilation, pad, (idx / 2) & 1, (conv1d_layout)layout);
                        check_all(&d, &rng);
                    }
}

/* NCW rows at stride 1 with C1_DW_NCW_ALIGNED_MIN_TAPS..MAX_TAPS taps and dilation up to MAX_DILATION take the
 * aligned-vector path: tap counts around each multiple of 16 (the shifts and the vectors of taps), lengths shorter
 * than the kernel, around a pass of 128 outputs and past the work-item block, every padding, and dilations 1 to one
 * past the path's (the phases). */
static void test_ncw_aligned_taps(void **unused)
{
    uint64_t rng = 0xa119ull;
    const int64_t taps[] = {C1_DW_NCW_ALIGNED_MIN_TAPS - 1, C1_DW_NCW_ALIGNED_MIN_TAPS, 21, 31, 32, 33, 47, 48, 49,
                            63, 64, 65, 80, 87, 95, C1_DW_NCW_ALIGNED_MAX_TAPS, C1_DW_NCW_ALIGNED_MAX_TAPS + 1};
    const int64_t lengths[] = {1, 5, 40, 127, 128, 129, 200, 255, 257, C1_DW_NCW_POS_BLOCK + 130};
    int idx = 0;
    for (size_t k = 0; k < sizeof taps / sizeof taps[0]; k++)
        for (int pad = 0; pad < NPAD; pad++, idx++) {
            const int64_t length = lengths[idx % (int)(sizeof lengths / sizeof lengths[0])];
            const int64_t dilation = 1 + (idx + idx / NPAD) % (C1_DW_NCW_ALIGNED_MAX_DILATION + 1);
            const conv1d_desc d = dw_desc(1 + idx % 2, 1 + idx % 5, 1 + (idx / 5) % 2, length * dilation, taps[k], 1,
                                          dilation, pad, (idx / 3) & 1, CONV1D_LAYOUT_NCW);
            check_all(&d, &rng);
        }
}

/* NWC rows at stride 1 with C1_DW_NWC_BUFFER_MIN_TAPS taps or more and a window within C1_DW_NWC_BUFFER_MIN_SPAN..
 * MAX_SPAN go through the buffered path: channel counts around its channel block, power-of-two row strides (the case
 * it is for), dilations, lengths around the position block, every padding, and windows just outside the span. */
static void test_nwc_buffered(void **unused)
{
    uint64_t rng = 0xbf0full;
    const int64_t CB = C1_DW_NWC_BUFFER_CHANNELS, PB = C1_DW_NWC_POS_BLOCK;
    const int64_t channels[] = {1, 17, CB - 1, CB, CB + 1, 2 * CB + 16, 512};
    const int64_t taps[] = {C1_DW_NWC_BUFFER_MIN_TAPS - 1, C1_DW_NWC_BUFFER_MIN_TAPS, 33, 64, 65, 87};
    const int64_t lengths[] = {3, PB - 1, PB, PB + 1, 2 * PB + 5};
    int idx = 0;
    for (size_t k = 0; k < sizeof taps / sizeof taps[0]; k++)
        for (int64_t dilation = 1; dilation <= 10; dilation += 3)
            for (int pad = 0; pad < NPAD; pad++, idx++) {
                const int64_t c = channels[idx % (int)(sizeof channels / sizeof channels[0])];
                const int64_t out = lengths[idx % (int)(sizeof lengths / sizeof lengths[0])];
                const int64_t length = out + (taps[k] - 1) * dilation;
                const conv1d_desc d = dw_desc(1 + idx % 2, c, 1, length, taps[k], 1, dilation, pad, (idx / 2) & 1,
                                              CONV1D_LAYOUT_NWC);
                check_all(&d, &rng);
            }
    /* Windows at and just past the span: the last one takes the unbuffered kernel. */
    const int64_t span = C1_DW_NWC_BUFFER_MAX_SPAN, r = C1_DW_NWC_BUFFER_MIN_TAPS;
    for (int64_t dilation = span / (r - 1); dilation <= span / (r - 1) + 1; dilation++) {
        const conv1d_desc d = dw_desc(1, CB + 3, 1, PB + (r - 1) * dilation, r, 1, dilation, PAD_SYMMETRIC, 1,
                                      CONV1D_LAYOUT_NWC);
        check_all(&d, &rng);
    }
}

/* Work-item boundaries: NWC position and channel blocks, NCW position blocks, each at -1, 0, +1. */
static void test_block_edges(void **unused)
{
    uint64_t rng = 0xb10cull;
    const int64_t PB = C1_DW_NWC_POS_BLOCK, NPB = C1_DW_NCW_POS_BLOCK;
    const int64_t nwc_lengths[] = {PB - 1, PB, PB + 1, 2 * PB + 1};
    const int64_t kernels[] = {4, 31, 87};
    for (int k = 0; k < 3; k++) {
        const int64_t R = kernels[k], CB = c1_dw_nwc_max_channel_block(R);
        const int64_t nwc_channels[] = {CB - 1, CB, CB + 1, 2 * CB + 1};
        /* Channel blocks with one position block and a bit, then position blocks with two channel blocks. */
        const int pad = k == 0 ? PAD_CAUSAL : PAD_SYMMETRIC;
        for (int i = 0; i < 4; i++) {
            conv1d_desc d = dw_desc(1, nwc_channels[i], 1, PB + 1, R, 1, 1, pad, i & 1, CONV1D_LAYOUT_NWC);
            check_all(&d, &rng);
            d = dw_desc(1 + i % 2, CB + 1, 1, nwc_lengths[i], R, 1, 1, pad, (i + 1) & 1, CONV1D_LAYOUT_NWC);
            check_all(&d, &rng);
        }
    }
    /* Even splits: never wider than the widest block, as few blocks as it allows. */
    for (int64_t c = 1; c <= 3000; c++)
        for (int k = 0; k < 3; k++) {
            const int64_t max = c1_dw_nwc_max_channel_block(kernels[k]), cb = c1_dw_nwc_channel_block(c, kernels[k], 16);
            assert_true(cb % 16 == 0 && cb <= max && cb > 0);
            assert_int_equal((c + cb - 1) / cb, (c + max - 1) / max);
        }
    const int64_t ncw_lengths[] = {NPB - 1, NPB, NPB + 1, 2 * NPB + 1};
    for (int i = 0; i < 4; i++)
        for (int64_t stride = 1; stride <= 2; stride++) {
            conv1d_desc d = dw_desc(2, 3, 1, ncw_lengths[i] * stride, 4, stride, 1, PAD_CAUSAL, 1, CONV1D_LAYOUT_NCW);
            check_all(&d, &rng);
            d = dw_desc(1, 2, 1, ncw_lengths[i] * stride + 30, 31, stride, 1, PAD_NONE, 1, CONV1D_LAYOUT_NCW);
            check_all(&d, &rng);
        }
}

/* Layers of the models the family is for: Mamba (k=4 causal), QuartzNet and Conformer (k=31..87). */
static void test_model_shapes(void **unused)
{
    uint64_t rng = 0x3a3bull;
    for (int layout = 0; layout < 2; layout++) {
        const conv1d_layout l = (conv1d_layout)layout;
        conv1d_desc d = dw_desc(2, 256, 1, 600, 4, 1, 1, PAD_CAUSAL, 1, l);
        check_all(&d, &rng);
        d = dw_desc(1, 144, 1, 500, 31, 1, 1, PAD_SYMMETRIC, 1, l);
        check_all(&d, &rng);
        d = dw_desc(1, 80, 1, 400, 87, 1, 1, PAD_SYMMETRIC, 0, l);
        check_all(&d, &rng);
        d = dw_desc(1, 96, 1, 401, 33, 2, 1, PAD_SYMMETRIC, 1, l);
        check_all(&d, &rng);
    }
}

/* A channel multiplier, every variant in both layouts. */
static void test_channel_multiplier(void **unused)
{
    uint64_t rng = 0x3017ull;
    const int64_t channels[] = {1, 7, 17, 33};
    int idx = 0;
    for (int c = 0; c < 4; c++)
        for (int64_t mult = 2; mult <= 3; mult++)
            for (int layout = 0; layout < 2; layout++, idx++) {
                const conv1d_desc d = dw_desc(1 + idx % 2, channels[c], mult, 37 + idx, kernel_sizes[idx % NKERNELS],
                                              1 + idx % 2, 1 + idx % 3, idx % NPAD, idx & 1, (conv1d_layout)layout);
                check_all(&d, &rng);
            }
}

/* NWC with a channel multiplier (the vector variants' own kernels): multipliers that put one input channel under
 * both vectors of a pair (32, 512), under each vector (16, 48; 8 and 24 for AVX2's eight lanes), or several under
 * one vector through the permute (2, 3, 17); more output channels than one chunk of sources; lengths around the
 * groups of four and eight and the position block; tap counts around the unrolled ones (up to 12); strides and
 * dilations off the sliding form. */
static void test_nwc_multiplier(void **unused)
{
    uint64_t rng = 0x6d17ull;
    const int64_t CH = C1_DW_NWC_MULT_CHANNELS, PB = C1_DW_NWC_POS_BLOCK;
    const int64_t shapes[][2] = {{1, 32}, {1, 512},     {1, 16},          {2, 48}, {3, 17}, {5, 2},
                                 {4, 3},  {1, CH + 32}, {2, CH / 2 + 16}, {3, 8},  {2, 24}}; /* channels, multiplier */
    const int64_t taps[] = {1, 3, 7, 12, 13};
    const int64_t outs[] = {1, 7, 8, 9, 17, PB + 3, 2 * PB + 8};
    const int64_t steps[][2] = {{1, 1}, {1, 2}, {5, 1}}; /* stride, dilation */
    int idx = 0;
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
        for (size_t k = 0; k < sizeof taps / sizeof taps[0]; k++)
            for (size_t st = 0; st < sizeof steps / sizeof steps[0]; st++, idx++) {
                const int64_t S = steps[st][0], D = steps[st][1];
                const int64_t out = outs[idx % (int)(sizeof outs / sizeof outs[0])];
                const int64_t length = (out - 1) * S + (taps[k] - 1) * D + 1;
                const conv1d_desc d = dw_desc(1 + idx % 2, shapes[sh][0], shapes[sh][1], length, taps[k], S, D,
                                              idx % NPAD, (idx / 2) & 1, CONV1D_LAYOUT_NWC);
                check_all(&d, &rng);
            }
}

/* The multiplier kernel's register form (AVX-512: whole pairs of vectors on one input channel; AVX2: one vector on
 * one input channel, in steps of eight rows up to 6 taps and four above; up to 10 taps): every tap count from 1 past
 * the limit, at stride 1, at wav2vec2's stride 5 and with dilation 2; output lengths around its steps of four and
 * eight rows and the position block, each padding kind; multipliers 8 and 24 (AVX2's alone), 32, 64 and 96 over one
 * and two input channels. */
static void test_nwc_multiplier_registers(void **unused)
{
    uint64_t rng = 0x4e61ull;
    const int64_t PB = C1_DW_NWC_POS_BLOCK;
    const int64_t outs[] = {1, 3, 4, 5, 6, 8, 11, 15, 16, 17, PB + 1, PB + 6, 2 * PB + 7};
    const int64_t steps[][2] = {{1, 1}, {5, 1}, {2, 2}}; /* stride, dilation */
    const int64_t mults[] = {8, 24, 32, 64, 96};
    int idx = 0;
    for (size_t m = 0; m < sizeof mults / sizeof mults[0]; m++)
        for (int64_t channels = 1, mult = mults[m]; channels <= 2; channels++)
            for (int64_t k = 1; k <= 11; k++)
                for (size_t st = 0; st < sizeof steps / sizeof steps[0]; st++, idx++) {
                    const int64_t S = steps[st][0], D = steps[st][1];
                    const int64_t out = outs[idx % (int)(sizeof outs / sizeof outs[0])];
                    const conv1d_desc d = dw_desc(1 + idx % 2, channels, mult, (out - 1) * S + (k - 1) * D + 1, k, S,
                                                  D, idx % NPAD, (idx / 2) & 1, CONV1D_LAYOUT_NWC);
                    check_all(&d, &rng);
                }
    /* 27 x 32 output channels at 10 taps split into two channel blocks, the second starting on a pair. */
    const conv1d_desc d = dw_desc(1, 27, 32, 200, 10, 1, 1, PAD_SYMMETRIC, 1, CONV1D_LAYOUT_NWC);
    check_all(&d, &rng);
}

/* The streaming variant (depthwise_nt__avx2) on 64-byte aligned outputs, where it streams: multipliers 8, 16, 32 and
 * 512 over one to three input channels (pairs that read one channel or two, a last single vector refused), every tap
 * count it takes and one past, strides and dilations, output lengths around its steps and the position block; and
 * what it refuses, with the sentence. */
static void test_nwc_multiplier_stream(void **unused)
{
    uint64_t rng = 0x57e4ull;
    const int64_t PB = C1_DW_NWC_POS_BLOCK;
    const int64_t shapes[][2] = {{1, 8}, {2, 8}, {3, 16}, {1, 32}, {2, 24}, {1, 512}}; /* channels, multiplier */
    const int64_t outs[] = {1, 5, 6, 7, 12, 13, PB + 5, 2 * PB + 1};
    const int64_t steps[][2] = {{1, 1}, {5, 1}, {2, 3}}; /* stride, dilation */
    int idx = 0;
    align_y = true;
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
        for (int64_t k = 1; k <= C1_DW_MULT_REG_TAPS + 1; k++, idx++) {
            const int64_t S = steps[idx % 3][0], D = steps[idx % 3][1];
            const int64_t out = outs[idx % (int)(sizeof outs / sizeof outs[0])];
            const conv1d_desc d = dw_desc(1 + idx % 2, shapes[sh][0], shapes[sh][1], (out - 1) * S + (k - 1) * D + 1,
                                          k, S, D, idx % NPAD, (idx / 2) & 1, CONV1D_LAYOUT_NWC);
            check_all(&d, &rng);
        }
    align_y = false;
    const c1_variant *nt = c1_variant_find("depthwise_nt__avx2");
    conv1d_desc d = dw_desc(1, 1, 32, 100, 7, 1, 1, PAD_SYMMETRIC, 1, CONV1D_LAYOUT_NCW);
    assert_int_equal(nt->ops->supports(nt, &d), CONV1D_UNSUPPORTED);
    assert_string_equal(conv1d_last_error(),
                        "Variant depthwise_nt__avx2 needs in NCW a stride of at least 3, a channel multiplier that is "
                        "a multiple of 8 (four rows of one alignment at this output length) and at most 10 taps, got "
                        "stride 1, multiplier 32, 7 taps.");
    d = dw_desc(1, 1, 8, 301, 10, 3, 1, PAD_NONE, 0, CONV1D_LAYOUT_NCW); /* 98 outputs: rows 4 apart share it */
    assert_int_equal(nt->ops->supports(nt, &d), CONV1D_UNSUPPORTED);
    assert_string_equal(conv1d_last_error(),
                        "Variant depthwise_nt__avx2 needs in NCW a stride of at least 3, a channel multiplier that is "
                        "a multiple of 16 (four rows of one alignment at this output length) and at most 10 taps, got "
                        "stride 3, multiplier 8, 10 taps.");
    d = dw_desc(1, 3, 8, 100, 11, 1, 1, PAD_SYMMETRIC, 1, CONV1D_LAYOUT_NWC);
    assert_int_equal(nt->ops->supports(nt, &d), CONV1D_UNSUPPORTED);
    assert_string_equal(conv1d_last_error(),
                        "Variant depthwise_nt__avx2 needs a channel multiplier that is a multiple of 8, output "
                        "channels a multiple of 16 and at most 10 taps, got multiplier 8, 24 output channels, 11 "
                        "taps.");
}

/* The streaming variant in NCW (the phase split at strides 3 and more): output lengths of every residue mod 8, so
 * that the four rows of a call are 1, 2, 4 or 8 rows apart (c1_dw_ncw_stream_period), around a pass of 24 outputs
 * past the rows' first 64-byte boundary and around the position block; every tap count it takes; multipliers of one
 * and two groups of rows; outputs 64-byte aligned and not. */
static void test_ncw_multiplier_stream(void **unused)
{
    uint64_t rng = 0x57e5ull;
    const int64_t outs[] = {1, 23, 37, 40, 61, 66, 100, 1003, C1_DW_NCW_POS_BLOCK + 13};
    const int nouts = (int)(sizeof outs / sizeof outs[0]);
    int idx = 0, streamed = 0;
    const c1_variant *nt = c1_variant_find("depthwise_nt__avx2");
    for (int i = 0; i < nouts; i++)
        for (int64_t k = 1; k <= C1_DW_MULT_REG_TAPS; k++, idx++) {
            const int64_t S = 3 + idx % 4, D = 1 + (idx % 3 == 2), channels = 1 + idx % 3;
            conv1d_desc d = dw_desc(1 + idx % 2, channels, 1, (outs[i] - 1) * S + (k - 1) * D + 1, k, S, D, idx % NPAD,
                                    (idx / 2) & 1, CONV1D_LAYOUT_NCW);
            d.out_channels = channels * 4 * c1_dw_ncw_stream_period(conv1d_output_length(&d)) * (1 + idx % 2);
            assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
            assert_int_equal(nt->ops->supports(nt, &d), CONV1D_OK);
            streamed++;
            align_y = idx % 3 != 0;
            check_all(&d, &rng);
        }
    align_y = false;
    assert_int_equal(streamed, nouts * C1_DW_MULT_REG_TAPS);
}

static void test_random_depthwise(void **unused)
{
    uint64_t rng = 0xd1ceull;
    for (int i = 0; i < 100; i++) {
        const int64_t mult = tu_range(&rng, 0, 3) == 0 ? tu_range(&rng, 2, 3) : 1;
        const int64_t k = tu_range(&rng, 0, 3) == 0 ? tu_range(&rng, 6, 40) : tu_range(&rng, 1, 5);
        const conv1d_desc d = dw_desc(tu_range(&rng, 1, 3), tu_range(&rng, 1, 80), mult, tu_range(&rng, 1, 300), k,
                                      tu_range(&rng, 1, 3), tu_range(&rng, 1, 3), (int)tu_range(&rng, 0, NPAD - 1),
                                      (int)tu_range(&rng, 0, 1), (conv1d_layout)tu_range(&rng, 0, 1));
        check_all(&d, &rng);
    }
}

/* NCW at strides 3-6 runs through the phase split: first layers with a channel multiplier (wav2vec2's 1 -> 512,
 * k 10, stride 5, scaled down), every padding kind, dilation, output lengths around the AVX-512 kernel's 128
 * outputs per pass and its position blocks, and more taps than the split takes (the strided path then). */
static void test_ncw_phase_split(void **unused)
{
    uint64_t rng = 0x5417ull;
    const int64_t outs[] = {1, 15, 127, 128, 129, 300, C1_DW_NCW_POS_BLOCK + 17};
    for (int64_t stride = 3; stride <= 6; stride++)
        for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
            for (int pad = 0; pad < NPAD; pad++) {
                const int64_t k = 10 - (int64_t)i % 4, dilation = 1 + (pad + (int)i) % 2, mult = 1 + 3 * (pad % 3);
                const int64_t length = (outs[i] - 1) * stride + dilation * (k - 1) + 1;
                const conv1d_desc d = dw_desc(1 + (int64_t)(i % 2), 1 + (int64_t)(pad % 2), mult, length, k, stride,
                                              dilation, pad, pad & 1, CONV1D_LAYOUT_NCW);
                check_all(&d, &rng);
            }
    const conv1d_desc many_taps = dw_desc(1, 2, 2, 500, C1_DW_PHASE_MAX_TAPS + 1, 3, 1, PAD_SYMMETRIC, 1,
                                          CONV1D_LAYOUT_NCW);
    check_all(&many_taps, &rng);
    /* Four rows a task (multipliers of 4) with tap counts past the ones compiled as constants (the AVX2 form's 10),
     * up to the split's limit, over output lengths around its passes of 16 and its last partial vector. */
    const int64_t taps[] = {11, 12, 20, C1_DW_PHASE_MAX_TAPS};
    for (size_t i = 0; i < sizeof taps / sizeof taps[0]; i++)
        for (int64_t out = 7; out <= 41; out += 17) {
            const conv1d_desc d = dw_desc(1 + (int64_t)(i % 2), 1, 8, (out - 1) * 3 + taps[i], taps[i], 3, 1,
                                          (int)i % NPAD, (int)i & 1, CONV1D_LAYOUT_NCW);
            check_all(&d, &rng);
        }
}

/* The short path (decode steps; lengths up to C1_DW_SHORT_MAX_LEN in NCW, C1_DW_SHORT_MAX_LEN_NWC in NWC): every input
 * length from 1 to one past NCW's limit, each padding kind, kernel sizes, strides and dilations, so that output
 * lengths fall below, at and above one and two tiles of eight; channel counts below, at and above a block of eight
 * and the work item's C1_DW_SHORT_CHANNELS (blocks that end a work item, a batch element or the tensor spill no loads
 * or stores past it), batches of one and six (NCW work items of C1_DW_SHORT_BATCH batch elements, the last one
 * short). Then the paired NCW form (four inputs, four outputs) over channel counts around its blocks, and spans just
 * inside and outside C1_DW_SHORT_SPAN. */
static void test_short_rows(void **unused)
{
    uint64_t rng = 0x5407ull;
    const int64_t CH = C1_DW_SHORT_CHANNELS;
    const int64_t channels[] = {1, 3, 7, 8, 9, 16, 17, 24, CH - 1, CH, CH + 1, CH + 8, 2 * CH + 13};
    const int64_t kernels[] = {1, 2, 3, 4, 5, 7};
    const int nch = (int)(sizeof channels / sizeof channels[0]), nk = (int)(sizeof kernels / sizeof kernels[0]);
    int idx = 0;
    for (int64_t length = 1; length <= C1_DW_SHORT_MAX_LEN + 1; length++)
        for (int pad = 0; pad < NPAD; pad++)
            for (int layout = 0; layout < 2; layout++, idx++) {
                const int64_t k = kernels[idx % nk], stride = 1 + (idx / 7) % 2, dilation = 1 + (idx / 11) % 2;
                const conv1d_desc d = dw_desc(1 + 5 * (idx % 2), channels[idx % nch], 1, length, k, stride, dilation,
                                              pad, (idx / 3) & 1, (conv1d_layout)layout);
                check_all(&d, &rng);
            }
    /* Four in, four out: k 4 causal (Mamba's decode step), k 3 symmetric, k 1. */
    const int64_t paired_k[] = {4, 3, 1};
    const int paired_pad[] = {PAD_CAUSAL, PAD_SYMMETRIC, PAD_NONE};
    for (int c = 0; c < nch; c++)
        for (int i = 0; i < 3; i++) {
            const conv1d_desc d = dw_desc(1 + 5 * ((c + i) % 2), channels[c], 1, 4, paired_k[i], 1, 1, paired_pad[i],
                                          (c + i) & 1, CONV1D_LAYOUT_NCW);
            assert_int_equal(conv1d_output_length(&d), 4);
            check_all(&d, &rng);
        }
    /* Causal spans (pad_left + L) at and past C1_DW_SHORT_SPAN (the latter takes the row kernels). */
    _Static_assert(C1_DW_SHORT_SPAN == 7 + 3 * 19, "the span at the limit below");
    for (int64_t dilation = 19; dilation <= 20; dilation++)
        for (int layout = 0; layout < 2; layout++) {
            const conv1d_desc d = dw_desc(2, 19, 1, 7, 4, 1, dilation, PAD_CAUSAL, 1, (conv1d_layout)layout);
            check_all(&d, &rng);
        }
}

typedef struct worker {
    const c1_variant *v;
    const void *state;
    const float *x;
    float *y;
    conv1d_status st;
} worker;

static void *worker_main(void *arg)
{
    worker *t = arg;
    for (int r = 0; r < 5 && t->st == CONV1D_OK; r++) t->st = t->v->ops->run(t->state, t->x, t->y, NULL);
    return NULL;
}

/* Two threads run one prepared state at once; both get the single-threaded result bit for bit. */
static void test_concurrent_runs(void **unused)
{
    uint64_t rng = 0xc0c0ull;
    for (int layout = 0; layout < 2; layout++) {
        const conv1d_desc d = dw_desc(2, 96, 1, 700, 4, 1, 1, PAD_CAUSAL, 1, (conv1d_layout)layout);
        const int64_t ny = conv1d_output_elems(&d);
        float *x = tu_random_floats(&rng, conv1d_input_elems(&d));
        float *w = tu_random_floats(&rng, conv1d_weight_elems(&d));
        float *bias = tu_random_floats(&rng, d.out_channels);
        for (size_t i = 0; i < nvariants; i++) {
            const c1_variant *v = variants[i];
            void *state = NULL;
            if (streams(v)) { /* it refuses these shapes, in prepare too */
                assert_int_equal(v->ops->prepare(v, &d, NULL, w, bias, &state), CONV1D_UNSUPPORTED);
                continue;
            }
            assert_int_equal(v->ops->prepare(v, &d, NULL, w, bias, &state), CONV1D_OK);
            assert_true(!v->ops->workspace_bytes || v->ops->workspace_bytes(state) == 0);
            float *expect = tu_random_floats(&rng, ny);
            assert_int_equal(v->ops->run(state, x, expect, NULL), CONV1D_OK);
            worker t[2];
            pthread_t tid[2];
            for (int j = 0; j < 2; j++) {
                t[j] = (worker){.v = v, .state = state, .x = x, .y = tu_random_floats(&rng, ny)};
                assert_int_equal(pthread_create(&tid[j], NULL, worker_main, &t[j]), 0);
            }
            for (int j = 0; j < 2; j++) {
                assert_int_equal(pthread_join(tid[j], NULL), 0);
                assert_int_equal(t[j].st, CONV1D_OK);
                assert_memory_equal(t[j].y, expect, (size_t)ny * sizeof *expect);
                free(t[j].y);
            }
            free(expect);
            v->ops->release(state);
        }
        free(x);
        free(w);
        free(bias);
    }
    /* Releasing nothing is a no-op. */
    c1_variant_find("depthwise__c")->ops->release(NULL);
}

/* Anything but num_groups == in_channels is refused with a sentence that says why. */
static void test_refuses_non_depthwise(void **unused)
{
    uint64_t rng = 0x0dd5ull;
    int refused = 0;
    while (refused < 50) {
        const conv1d_desc d = tu_random_desc(&rng);
        if (d.num_groups == d.in_channels) continue;
        for (size_t i = 0; i < nvariants; i++) {
            assert_int_equal(c1_variant_applies(variants[i], &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "needs num_groups == in_channels"));
        }
        refused++;
    }
    conv1d_desc d = dw_desc(1, 64, 1, 100, 3, 1, 1, PAD_SYMMETRIC, 0, CONV1D_LAYOUT_NWC);
    d.num_groups = 1;
    const c1_variant *c = c1_variant_find("depthwise__c");
    assert_int_equal(c1_variant_applies(c, &d), CONV1D_UNSUPPORTED);
    assert_string_equal(conv1d_last_error(),
                        "Variant depthwise__c needs num_groups == in_channels, got 1 group for 64 channels.");
    print_message("%d descriptors checked on %zu variants\n", checks, nvariants);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered),
        cmocka_unit_test(test_channels_and_lengths),
        cmocka_unit_test(test_kernel_stride_dilation_padding),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_ncw_aligned_taps),
        cmocka_unit_test(test_nwc_buffered),
        cmocka_unit_test(test_model_shapes),
        cmocka_unit_test(test_channel_multiplier),
        cmocka_unit_test(test_nwc_multiplier),
        cmocka_unit_test(test_nwc_multiplier_registers),
        cmocka_unit_test(test_nwc_multiplier_stream),
        cmocka_unit_test(test_random_depthwise),
        cmocka_unit_test(test_ncw_phase_split),
        cmocka_unit_test(test_ncw_multiplier_stream),
        cmocka_unit_test(test_short_rows),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_refuses_non_depthwise),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
