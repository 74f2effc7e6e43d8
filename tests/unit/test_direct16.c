/* The direct family on 16-bit tensors (variants/cpu/direct16*.c): every registered bf16 and f16 direct variant this
 * machine can run, against the double reference on the same 16-bit inputs, outputs poisoned with 0xFFFF (a NaN)
 * and checked by c1_compare16 (one rounding of an fp32 sum), on cases derived from the tiling: output positions
 * around MR, output channels around NR, odd and even input channels (the native kernels read channels in pairs),
 * forced channel blocks (partial sums kept in fp32), groups, stride, dilation, padding, both layouts, streaming
 * stores. The input ends at a guard page, so a read past its last element (an odd last channel read as a pair)
 * crashes the test; every check runs twice, into an aligned and a misaligned y, and requires the same bits. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "variant_check.h"

#include "check.h"
#include "direct16.h"
#include "half.h"
#include "hwinfo.h"
#include "variant.h"

#define MAX_VARIANTS 48

/* The kernel context every check prepares with: this machine's, with the blocking a test forces. */
static c1_kernel_ctx test_ctx;

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;

static bool is16(const c1_variant *v) { return v->precision == C1_PREC_BF16 || v->precision == C1_PREC_F16; }

/* Streaming variants (p2 = 1) take only NWC shapes with whole 16-channel blocks per group; the rest must apply. */
static bool is_streaming(const c1_variant *v) { return v->params[2] == 1; }

static bool streams_on(const conv1d_desc *d)
{
    return d->layout == CONV1D_LAYOUT_NWC && d->out_channels % 16 == 0 && d->out_channels / d->num_groups % 16 == 0;
}

static int setup(void **unused)
{
    test_ctx = *c1_kernel_ctx_machine();
    const c1_variant *all[MAX_VARIANTS];
    const size_t n = tu_family_variants_of("direct", true, all, MAX_VARIANTS);
    for (size_t i = 0; i < n; i++)
        if (is16(all[i])) variants[nvariants++] = all[i];
    return 0;
}

static conv1d_dtype dtype_of(const c1_variant *v) { return v->precision == C1_PREC_F16 ? CONV1D_F16 : CONV1D_BF16; }
static uint16_t narrow(conv1d_dtype t, float f) { return t == CONV1D_BF16 ? c1_f32_to_bf16(f) : c1_f32_to_f16(f); }
static float widen(conv1d_dtype t, uint16_t h) { return t == CONV1D_BF16 ? c1_bf16_to_f32(h) : c1_f16_to_f32(h); }

/* n 16-bit elements whose last one ends right at an inaccessible page: reading past the end faults. */
typedef struct guarded {
    void *map;
    size_t map_bytes;
    uint16_t *p;
} guarded;

static guarded guarded_alloc(int64_t n)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)n * sizeof(uint16_t);
    const size_t data_pages = (bytes + page - 1) / page;
    guarded g = {.map_bytes = (data_pages + 1) * page};
    g.map = mmap(NULL, g.map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g.map != MAP_FAILED);
    assert_int_equal(mprotect((char *)g.map + data_pages * page, page, PROT_NONE), 0);
    g.p = (uint16_t *)((char *)g.map + data_pages * page - bytes);
    return g;
}

static void guarded_free(guarded *g) { munmap(g->map, g->map_bytes); }

/* Random values of the dtype: raw bits into h, the same values widened into f. */
static void random16(conv1d_dtype t, uint64_t *rng, uint16_t *h, float *f, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        h[i] = narrow(t, tu_value(rng));
        f[i] = widen(t, h[i]);
    }
}

/* Runs v on d (which it must apply to, unless v streams and d is not a shape it takes: then -1) on fresh 16-bit
 * data into a 0xFFFF-poisoned, 64-byte aligned y, with a poisoned workspace at an odd address; reruns into a y one
 * element off alignment (streaming variants then store normally) with another workspace alignment and requires
 * the same bits. With inf_at >= 0, input element inf_at is +infinity and only the outputs listed in `only` (n_only
 * of them; NULL: all) are compared. Returns the worst error in ulps. */
static double check_on(const c1_variant *v, const conv1d_desc *d0, uint64_t *rng, int64_t inf_at, const int64_t *only,
                       int64_t n_only)
{
    conv1d_desc d = *d0;
    d.dtype = dtype_of(v);
    char text[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(&d, text, sizeof text);
    const bool applies = c1_variant_applies(v, &d) == CONV1D_OK;
    if (is_streaming(v) && applies != streams_on(&d))
        fail_msg("%s %s to %s: %s", v->name, applies ? "applies" : "does not apply", text, conv1d_last_error());
    if (!applies && is_streaming(v)) return -1;
    if (!applies) fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
    const int64_t nx = conv1d_input_elems(&d), nw = conv1d_weight_elems(&d), ny = conv1d_output_elems(&d);
    const int64_t nb = d.has_bias ? d.out_channels : 0;
    guarded gx = guarded_alloc(nx);
    uint16_t *x = gx.p, *w = malloc((size_t)nw * 2 + 2), *b = malloc((size_t)nb * 2 + 2);
    uint16_t *y = aligned_alloc(64, ((size_t)ny * 2 + 63) / 64 * 64);
    uint16_t *y2base = aligned_alloc(64, ((size_t)ny * 2 + 64 + 63) / 64 * 64);
    uint16_t *y2 = y2base ? y2base + 1 : NULL;
    float *xf = malloc((size_t)nx * 4), *wf = malloc((size_t)nw * 4), *bf = malloc((size_t)nb * 4 + 4);
    float *ax = malloc((size_t)nx * 4), *aw = malloc((size_t)nw * 4), *ab = malloc((size_t)nb * 4 + 4);
    double *ref = malloc((size_t)ny * 8), *absum = malloc((size_t)ny * 8);
    assert_true(w && b && y && y2 && xf && wf && bf && ax && aw && ab && ref && absum);
    random16(d.dtype, rng, x, xf, nx);
    random16(d.dtype, rng, w, wf, nw);
    random16(d.dtype, rng, b, bf, nb);
    if (inf_at >= 0) {
        x[inf_at] = d.dtype == CONV1D_BF16 ? 0x7f80 : 0x7c00;
        xf[inf_at] = INFINITY;
    }
    for (int64_t i = 0; i < nx; i++) ax[i] = fabsf(xf[i]);
    for (int64_t i = 0; i < nw; i++) aw[i] = fabsf(wf[i]);
    for (int64_t i = 0; i < nb; i++) ab[i] = fabsf(bf[i]);

    void *state = NULL;
    if (v->ops->prepare(v, &d, &test_ctx, w, nb ? b : NULL, &state) != CONV1D_OK)
        fail_msg("%s prepare failed on %s: %s", v->name, text, conv1d_last_error());
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    unsigned char *ws = malloc(ws_bytes + 8);
    assert_non_null(ws);
    memset(ws, 0xff, ws_bytes + 8);
    memset(y, 0xff, (size_t)ny * 2);
    if (v->ops->run(state, x, y, ws + 3) != CONV1D_OK)
        fail_msg("%s run failed on %s: %s", v->name, text, conv1d_last_error());
    memset(ws, 0xff, ws_bytes + 8);
    memset(y2, 0xff, (size_t)ny * 2);
    assert_int_equal(v->ops->run(state, x, y2, ws + 6), CONV1D_OK);
    if (memcmp(y, y2, (size_t)ny * 2) != 0) fail_msg("%s on %s: two runs differ", v->name, text);

    assert_int_equal(c1_ref_conv1d_f64(&d, xf, wf, nb ? bf : NULL, ref), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(&d, ax, aw, nb ? ab : NULL, absum), CONV1D_OK);
    const int64_t terms = d.in_channels / d.num_groups * d.kernel_size + (d.has_bias ? 1 : 0);
    if (only) {
        /* The listed outputs, gathered. */
        for (int64_t i = 0; i < n_only; i++) {
            y2[i] = y[only[i]];
            ref[i] = ref[only[i]];
            absum[i] = absum[only[i]];
        }
    }
    const int64_t nc = only ? n_only : ny;
    const c1_error e = c1_compare16(only ? y2 : y, d.dtype, ref, absum, nc, terms);
    if (e.bad_index >= 0)
        fail_msg("%s on %s: output %lld of %lld is %g (unwritten or not finite; %s)", v->name, text,
                 (long long)e.bad_index, (long long)nc, (double)widen(d.dtype, (only ? y2 : y)[e.bad_index]),
                 v->ops->impl_info(state));
    if (e.outside > 0 || !c1_error_ok(e, c1_precision_tolerance(v->precision)))
        fail_msg("%s on %s: %lld outputs beyond one rounding of an fp32 sum (first %lld: %g, reference %g; worst %.2f "
                 "ulp; %s)",
                 v->name, text, (long long)e.outside, (long long)e.first_outside,
                 (double)widen(d.dtype, (only ? y2 : y)[e.first_outside]), ref[e.first_outside], e.ulp_max,
                 v->ops->impl_info(state));
    v->ops->release(state);
    guarded_free(&gx);
    free(w), free(b), free(y), free(y2base), free(xf), free(wf), free(bf), free(ax), free(aw), free(ab), free(ref),
        free(absum), free(ws);
    return e.ulp_max;
}

static double check(const c1_variant *v, const conv1d_desc *d, uint64_t *rng) { return check_on(v, d, rng, -1, NULL, 0); }

/* Every registered 16-bit direct variant applies exactly where its ISA level may run, to its own dtype only, and
 * says why not otherwise. Runs at every level, the portable one included. */
static void test_applies(void **unused)
{
    size_t count = 0, seen = 0;
    const c1_variant *list = c1_variant_list(&count);
    conv1d_desc d = tu_base_desc(20, 16, 16, 3);
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        if (strcmp(v->family, "direct") != 0 || !is16(v)) continue;
        seen++;
        d.dtype = dtype_of(v);
        const conv1d_status st = c1_variant_applies(v, &d);
        if (c1_isa_available(v->isa))
            assert_int_equal(st, CONV1D_OK);
        else {
            assert_int_equal(st, CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), c1_isa_level_name(v->isa)));
        }
        /* Other dtypes: refused by the class, and by supports() itself. */
        d.dtype = CONV1D_F32;
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_int_equal(v->ops->supports(v, &d), CONV1D_UNSUPPORTED);
        assert_true(strlen(conv1d_last_error()) > 10);
        d.dtype = dtype_of(v) == CONV1D_BF16 ? CONV1D_F16 : CONV1D_BF16;
        assert_int_equal(v->ops->supports(v, &d), CONV1D_UNSUPPORTED);
    }
    assert_true(seen >= 4); /* the native bf16 tiles and the conversion ones are registered */
    /* Streaming variants say why they refuse a shape. */
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        if (strcmp(v->family, "direct") != 0 || !is16(v) || !is_streaming(v)) continue;
        conv1d_desc e = tu_base_desc(20, 16, 24, 3);
        e.dtype = dtype_of(v);
        assert_int_equal(v->ops->supports(v, &e), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "multiple of 16"));
        e.out_channels = 32;
        e.layout = CONV1D_LAYOUT_NCW;
        assert_int_equal(v->ops->supports(v, &e), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "NWC"));
        e.layout = CONV1D_LAYOUT_NWC;
        assert_int_equal(v->ops->supports(v, &e), CONV1D_OK);
    }
    print_message("%zu of %zu 16-bit direct variants run at ISA level %s\n", nvariants, seen,
                  c1_isa_level_name(c1_isa_effective()));
}

/* Output positions around MR, output channels 1, 15, 17, 33, 100 around the 16-channel vectors and NR, input
 * channels 1, 3, 16, 17 (odd ones end on a half pair), padding (edge rows) and none, both layouts, bias on and
 * off, batch 1 and 3. */
static void test_tile_edges(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0xd16e;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0];
        const int64_t lens[] = {1, mr - 1, mr, mr + 1, 2 * mr + 3};
        const int64_t kouts[] = {1, 15, 17, 33, 100}, cins[] = {1, 3, 16, 17};
        int i = 0;
        for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
            for (size_t b = 0; b < sizeof kouts / sizeof kouts[0]; b++)
                for (size_t c = 0; c < sizeof cins / sizeof cins[0]; c++, i++) {
                    if (lens[a] < 1) continue;
                    /* k=3, padding 1: output length = input length, with an edge row at each end. */
                    conv1d_desc d = tu_base_desc(lens[a], cins[c], kouts[b], 3);
                    d.pad_left = d.pad_right = 1;
                    d.has_bias = i & 1;
                    d.batch = i % 3 == 0 ? 3 : 1;
                    d.layout = i % 4 == 1 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check(v, &d, &rng);
                    /* No padding: every row is interior. */
                    d.pad_left = d.pad_right = 0;
                    d.length = lens[a] + 2;
                    d.layout = i % 4 == 3 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check(v, &d, &rng);
                }
    }
}

/* Groups of 2 and 4 with odd and even channels per group, stride 2, dilation 2, every padding kind. */
static void test_groups_stride_dilation(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0x960d;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t cgs[] = {1, 3, 16, 17}, kgs[] = {1, 15, nr + 1};
        int i = 0;
        for (int64_t groups = 2; groups <= 4; groups += 2)
            for (size_t a = 0; a < sizeof cgs / sizeof cgs[0]; a++)
                for (size_t b = 0; b < sizeof kgs / sizeof kgs[0]; b++, i++) {
                    conv1d_desc d = tu_base_desc(2 * mr + 7, groups * cgs[a], groups * kgs[b], 3 + i % 3);
                    d.num_groups = groups;
                    d.stride = 1 + i % 2;
                    d.dilation = 1 + (i / 2) % 2;
                    switch (i % 4) {
                    case 0: break;
                    case 1: d.pad_left = d.pad_right = 2; break;
                    case 2: d.pad_left = d.dilation * (d.kernel_size - 1); break; /* causal */
                    default: d.pad_left = 7, d.pad_right = 9;                     /* wider than the kernel */
                    }
                    d.has_bias = (i / 3) & 1;
                    d.batch = i % 5 == 0 ? 3 : 1;
                    d.layout = i % 3 == 1 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check(v, &d, &rng);
                }
        /* Dense with stride 2 and dilation 2 together, odd channels, both layouts. */
        for (int layout = 0; layout < 2; layout++) {
            conv1d_desc d = tu_base_desc(3 * mr + 4, 17, 2 * nr + 1, 4);
            d.stride = d.dilation = 2;
            d.pad_left = 3, d.pad_right = 2;
            d.has_bias = 1;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
        }
    }
}

/* Forced input-channel blocks (partial sums wait in fp32, one rounding at the end), odd remainders, position blocks
 * that are not multiples of MR, several output-channel blocks per task; and the cache-derived split of a wide
 * layer. */
static void test_channel_blocks(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0xb10c;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t kcs[] = {1, 2, 3, 4, 6};
        int i = 0;
        for (size_t a = 0; a < sizeof kcs / sizeof kcs[0]; a++)
            for (int64_t cin = 5; cin <= 17; cin += 6, i++) {
                const int64_t obs[] = {0, 1, mr + 1}, kbcs[] = {0, 1, 2, 3};
                test_ctx.force_blocking[0] = kcs[a];
                test_ctx.force_blocking[1] = obs[i % 3];
                test_ctx.force_blocking[2] = kbcs[i % 4];
                conv1d_desc d = tu_base_desc(2 * mr + 5, cin, 2 * nr + 3, 3);
                d.pad_left = 2, d.pad_right = 1;
                d.has_bias = i & 1;
                d.layout = i % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                check(v, &d, &rng);
                /* Grouped and dilated, so the channel blocks sit inside a group. */
                d.num_groups = 2;
                d.in_channels = 2 * cin;
                d.out_channels = 2 * (nr / 2 + 1);
                d.dilation = 2;
                check(v, &d, &rng);
            }
        test_ctx = *c1_kernel_ctx_machine();
        /* Just over the cache-derived block for either kind's weight size, so two uneven blocks. */
        const int64_t R = 3, kc = c1_hw_cache_bytes(2) / 2 / (R * nr * 2);
        conv1d_desc d = tu_base_desc(mr + 2, kc + 1, nr + 1, R);
        d.pad_left = d.pad_right = 1;
        d.has_bias = 1;
        check(v, &d, &rng);
        d.layout = CONV1D_LAYOUT_NCW;
        d.batch = 2;
        check(v, &d, &rng);
    }
}

/* Whether v prepared on d runs tiles of images at one position (its impl_info says so). */
static bool runs_batch_rows(const c1_variant *v, const conv1d_desc *d)
{
    uint16_t *w = calloc((size_t)conv1d_weight_elems(d) + 1, 2), *b = calloc((size_t)d->out_channels + 1, 2);
    assert_true(w && b);
    void *state = NULL;
    assert_int_equal(v->ops->prepare(v, d, &test_ctx, w, d->has_bias ? b : NULL, &state), CONV1D_OK);
    const bool yes = strstr(v->ops->impl_info(state), "images at one position") != NULL;
    v->ops->release(state);
    free(w), free(b);
    return yes;
}

/* Short rows of many images (decode steps), where a row tile is MR images at one position (tu_short_rows_case), odd
 * input channels included; one output position must run that way. */
static void test_batch_rows(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0xba7c4ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        conv1d_desc d;
        int got;
        for (int q = 0; (got = tu_short_rows_case(q, v->params[0], v->params[1], &d, test_ctx.force_blocking)); q++) {
            if (got < 0) continue;
            d.dtype = dtype_of(v);
            if (check(v, &d, &rng) < 0) continue; /* a streaming variant declined */
            char text[CONV1D_DESC_TEXT_MAX];
            conv1d_desc_format(&d, text, sizeof text);
            if (conv1d_output_length(&d) == 1 && !runs_batch_rows(v, &d))
                fail_msg("%s on %s: one output position of %lld images, but tiles of positions", v->name, text,
                         (long long)d.batch);
        }
        test_ctx = *c1_kernel_ctx_machine();
    }
}

/* Few-channel first layers, where the native kind runs taps and channels as one run of pairs: one channel k10 s5
 * (wav2vec2), three channels k7 (a run crossing taps mid-pair; edge rows starting on an odd value), with padding. */
static void test_first_layers(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0xf125;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t nr = v->params[1];
        for (int layout = 0; layout < 2; layout++) {
            conv1d_desc d = tu_base_desc(163, 1, 2 * nr + 5, 10);
            d.stride = 5;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
            d.pad_left = 7, d.pad_right = 4; /* edge rows from every tap */
            d.has_bias = 1;
            d.batch = 3;
            check(v, &d, &rng);
            d = tu_base_desc(50, 3, nr, 7);
            d.pad_left = d.pad_right = 3;
            d.has_bias = 1;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
            d.kernel_size = 6;
            d.pad_left = 5, d.pad_right = 0;
            check(v, &d, &rng);
        }
    }
}

/* Random small descriptors over every field. */
static void test_random(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0x7a2d;
    for (size_t k = 0; k < nvariants; k++)
        for (int i = 0; i < 60; i++) {
            conv1d_desc d = tu_random_desc(&rng);
            check(variants[k], &d, &rng);
        }
}

/* An odd last channel is read alone: with +inf in the channel right after it (the next group's first, or the next
 * position's first), the outputs that never use that element stay exact. A pair read would make them NaN (0 * inf). */
static void test_odd_channel_reads_alone(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0x0dd;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t nr = v->params[1];
        /* Two groups of 3 channels, NWC: +inf at channel 3 (group 1) of position 4; group 0's outputs are compared. */
        conv1d_desc d = tu_base_desc(12, 6, 2 * (nr + 1), 3);
        d.num_groups = 2;
        d.pad_left = d.pad_right = 1;
        const int64_t OL = conv1d_output_length(&d), K = d.out_channels, Kg = K / 2;
        int64_t *only = malloc((size_t)(OL * Kg) * sizeof *only), n = 0;
        assert_non_null(only);
        for (int64_t o = 0; o < OL; o++)
            for (int64_t j = 0; j < Kg; j++) only[n++] = o * K + j;
        check_on(v, &d, &rng, 4 * 6 + 3, only, n);
        /* Dense, 3 channels, k3, no padding: +inf at the last position. The row whose window ends just before it
         * reads a run of 9 values (taps and channels as one run, natively) whose odd last value sits next to the
         * inf. */
        d = tu_base_desc(15, 3, nr + 1, 3);
        const int64_t OL2 = conv1d_output_length(&d);
        n = 0;
        for (int64_t o = 0; o + 3 < d.length; o++)
            for (int64_t j = 0; j < d.out_channels; j++) only[n++] = o * d.out_channels + j;
        assert_true(OL2 > 1);
        check_on(v, &d, &rng, (d.length - 1) * 3, only, n);
        free(only);
    }
}

/* The streaming variants on the shapes they take: output channels 16, NR, 2 NR + 16 (a last block of 16 stored
 * normally), groups of 16-channel multiples, edges, forced channel blocks (y still written once), and a first
 * layer. Each shape must apply (check_on returns -1 otherwise). */
static void test_streaming(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0x57ea;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        if (!is_streaming(v)) continue;
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t chans[] = {16, nr, 2 * nr + 16};
        for (size_t j = 0; j < sizeof chans / sizeof chans[0]; j++)
            for (int64_t len = 1; len <= 2 * mr + 3; len += mr / 2 + 1) {
                conv1d_desc d = tu_base_desc(len, 1 + (int64_t)j, chans[j], 5);
                d.pad_left = 3, d.pad_right = 1;
                d.has_bias = (int)(len & 1);
                d.batch = 1 + len % 2;
                assert_true(check(v, &d, &rng) >= 0);
                d = tu_base_desc(5 * len + 10, 1, chans[j], 10); /* raw-audio first layer */
                d.stride = 5;
                assert_true(check(v, &d, &rng) >= 0);
                d = tu_base_desc(len + 3, 6, 2 * chans[j], 3); /* two groups of 16-multiples */
                d.num_groups = 2;
                d.dilation = 2;
                d.pad_left = d.pad_right = 2;
                assert_true(check(v, &d, &rng) >= 0);
            }
        test_ctx.force_blocking[0] = 4;
        conv1d_desc d = tu_base_desc(2 * mr + 1, 13, 2 * nr, 3);
        d.pad_left = d.pad_right = 1;
        assert_true(check(v, &d, &rng) >= 0);
        test_ctx = *c1_kernel_ctx_machine();
    }
}

typedef struct worker {
    const c1_variant *v;
    const void *state;
    const uint16_t *x;
    uint16_t *y;
    size_t ws_bytes;
    conv1d_status st;
} worker;

static void *worker_main(void *arg)
{
    worker *t = arg;
    void *ws = malloc(t->ws_bytes + 1);
    t->st = ws ? CONV1D_OK : CONV1D_OUT_OF_MEMORY;
    for (int r = 0; r < 5 && t->st == CONV1D_OK; r++) t->st = t->v->ops->run(t->state, t->x, t->y, ws);
    free(ws);
    return NULL;
}

/* Three threads run one prepared state at once, each with its own workspace and output: the same bits as one. */
static void test_concurrent_runs(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "16-bit direct");
    uint64_t rng = 0xc0c0;
    for (size_t k = 0; k < nvariants; k++)
        for (int layout = 0; layout < 2; layout++) {
            const c1_variant *v = variants[k];
            conv1d_desc d = tu_base_desc(97, 24, 64, 5);
            d.pad_left = d.pad_right = 2;
            d.has_bias = 1;
            d.layout = (conv1d_layout)layout;
            d.dtype = dtype_of(v);
            if (is_streaming(v) && !streams_on(&d)) continue;
            const int64_t nx = conv1d_input_elems(&d), nw = conv1d_weight_elems(&d), ny = conv1d_output_elems(&d);
            uint16_t *x = malloc((size_t)nx * 2), *w = malloc((size_t)nw * 2), b[64], *y[3];
            float *scratch = malloc((size_t)(nx > nw ? nx : nw) * 4);
            assert_true(x && w && scratch);
            random16(d.dtype, &rng, x, scratch, nx);
            random16(d.dtype, &rng, w, scratch, nw);
            random16(d.dtype, &rng, b, scratch, 64);
            void *state = NULL;
            assert_int_equal(v->ops->prepare(v, &d, &test_ctx, w, b, &state), CONV1D_OK);
            worker t[3];
            pthread_t th[3];
            for (int j = 0; j < 3; j++) {
                y[j] = malloc((size_t)ny * 2);
                assert_non_null(y[j]);
                memset(y[j], 0xff, (size_t)ny * 2);
                t[j] = (worker){v, state, x, y[j], v->ops->workspace_bytes(state), CONV1D_OK};
                assert_int_equal(pthread_create(&th[j], NULL, worker_main, &t[j]), 0);
            }
            for (int j = 0; j < 3; j++) {
                pthread_join(th[j], NULL);
                assert_int_equal(t[j].st, CONV1D_OK);
            }
            assert_memory_equal(y[0], y[1], (size_t)ny * 2);
            assert_memory_equal(y[0], y[2], (size_t)ny * 2);
            v->ops->release(state);
            for (int j = 0; j < 3; j++) free(y[j]);
            free(x), free(w), free(scratch);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies),
        cmocka_unit_test(test_tile_edges),
        cmocka_unit_test(test_groups_stride_dilation),
        cmocka_unit_test(test_channel_blocks),
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_first_layers),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_odd_channel_reads_alone),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_concurrent_runs),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
