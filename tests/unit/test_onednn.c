/* The oneDNN variants: every descriptor field against the double reference, workspace sizing and reuse,
 * impl_info, and concurrent runs on one prepared state; the bf16 and f16 peers against the 16-bit check
 * where oneDNN has an optimized path, and their refusal where it has none; the verdict's peer of each class. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#include "conv1d_ref.h"
#include "variant.h"
#include "variant_check16.h"
#include "verdict.h"

static const char *const variant_names[] = {"onednn", "onednn_any"};
#define NVARIANTS (sizeof variant_names / sizeof variant_names[0])

/* A prepared variant with its own random weights, bias and workspace. */
typedef struct prepared {
    const c1_variant *v;
    conv1d_desc d;
    float *w, *bias;
    void *state;
    size_t ws_bytes;
} prepared;

static prepared prepare(const char *name, const conv1d_desc *d, uint64_t *rng)
{
    prepared p = {.d = *d};
    p.v = c1_variant_find(name);
    assert_non_null(p.v);
    if (c1_variant_applies(p.v, d) != CONV1D_OK) fail_msg("%s does not apply: %s", name, conv1d_last_error());
    p.w = tu_random_floats(rng, conv1d_weight_elems(d));
    p.bias = d->has_bias ? tu_random_floats(rng, d->out_channels) : NULL;
    if (p.v->ops->prepare(p.v, d, NULL, p.w, p.bias, &p.state) != CONV1D_OK)
        fail_msg("%s prepare failed: %s", name, conv1d_last_error());
    p.ws_bytes = p.v->ops->workspace_bytes ? p.v->ops->workspace_bytes(p.state) : 0;
    return p;
}

static void release(prepared *p)
{
    p->v->ops->release(p->state);
    free(p->w);
    free(p->bias);
}

static float *nan_floats(int64_t n)
{
    float *y = malloc((size_t)n * sizeof *y);
    assert_non_null(y);
    for (int64_t i = 0; i < n; i++) y[i] = NAN;
    return y;
}

/* The workspace is poisoned too, so a variant that relied on zeros left in it (blocked padding) would fail. */
static void *poisoned_workspace(size_t bytes)
{
    if (bytes == 0) return NULL;
    void *ws = malloc(bytes);
    assert_non_null(ws);
    memset(ws, 0xff, bytes);
    return ws;
}

/* Runs p on fresh random x and checks y against the reference: max|y-ref|/max|ref| < 1e-5, no NaN left. */
static void check_against_reference(const prepared *p, uint64_t *rng)
{
    const conv1d_desc *d = &p->d;
    const int64_t ny = conv1d_output_elems(d);
    float *x = tu_random_floats(rng, conv1d_input_elems(d));
    float *y = nan_floats(ny);
    double *ref = malloc((size_t)ny * sizeof *ref);
    assert_non_null(ref);
    void *ws = poisoned_workspace(p->ws_bytes);
    if (p->v->ops->run(p->state, x, y, ws) != CONV1D_OK) fail_msg("%s run failed: %s", p->v->name, conv1d_last_error());
    c1_ref_conv1d_f64(d, x, p->w, p->bias, ref);

    double max_ref = 0, max_err = 0;
    for (int64_t i = 0; i < ny; i++) {
        if (isnan(y[i])) {
            char text[256];
            conv1d_desc_format(d, text, sizeof text);
            fail_msg("%s left NaN at %lld of %lld on %s", p->v->name, (long long)i, (long long)ny, text);
        }
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_err = fmax(max_err, fabs(y[i] - ref[i]));
    }
    if (max_err > 1e-5 * fmax(max_ref, 1e-30)) {
        char text[256];
        conv1d_desc_format(d, text, sizeof text);
        fail_msg("%s on %s: max error %g, max |ref| %g (%s)", p->v->name, text, max_err, max_ref,
                 p->v->ops->impl_info(p->state));
    }
    free(x);
    free(y);
    free(ref);
    free(ws);
}

static void check_desc(const conv1d_desc *d, uint64_t *rng)
{
    for (size_t k = 0; k < NVARIANTS; k++) {
        prepared p = prepare(variant_names[k], d, rng);
        check_against_reference(&p, rng);
        release(&p);
    }
}

static void test_random_descriptors(void **unused)
{
    uint64_t rng = 0x0d11ull;
    for (int i = 0; i < 30; i++) {
        conv1d_desc d = tu_random_desc(&rng);
        check_desc(&d, &rng);
    }
}

static conv1d_desc wide(int64_t channels, int64_t groups, int64_t k, int64_t stride, int64_t dilation,
                        conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 2;
    d.length = 300;
    d.in_channels = d.out_channels = channels;
    d.num_groups = groups;
    d.kernel_size = k;
    d.stride = stride;
    d.dilation = dilation;
    d.pad_left = dilation * (k - 1) / 2;
    d.pad_right = dilation * (k - 1) - d.pad_left;
    d.has_bias = 1;
    d.layout = layout;
    return d;
}

/* Shapes where oneDNN picks its optimised (blocked, JIT) implementations rather than reference ones. */
static void test_wide_descriptors(void **unused)
{
    uint64_t rng = 0x5eedull;
    const conv1d_desc shapes[] = {
        wide(64, 1, 3, 1, 1, CONV1D_LAYOUT_NWC), wide(64, 1, 3, 1, 1, CONV1D_LAYOUT_NCW),
        wide(64, 4, 5, 2, 2, CONV1D_LAYOUT_NWC), wide(64, 64, 4, 1, 1, CONV1D_LAYOUT_NCW),
        wide(48, 1, 1, 1, 1, CONV1D_LAYOUT_NCW), /* channels that are not a multiple of 16 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) check_desc(&shapes[i], &rng);
}

/* Every fixed field value at least once, beyond what the random draw happens to hit. */
static void test_field_edges(void **unused)
{
    uint64_t rng = 0xed9eull;
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 3;
    d.length = 17;
    d.in_channels = 6;
    d.out_channels = 9;
    d.num_groups = 3;
    d.kernel_size = 4;
    for (int layout = 0; layout < 2; layout++)
        for (int64_t stride = 1; stride <= 3; stride++)
            for (int64_t dilation = 1; dilation <= 3; dilation++) {
                d.layout = (conv1d_layout)layout;
                d.stride = stride;
                d.dilation = dilation;
                d.pad_left = dilation * (d.kernel_size - 1); /* causal */
                d.pad_right = 0;
                d.has_bias = (int)((stride + dilation) & 1);
                check_desc(&d, &rng);
                d.pad_left = 1;
                d.pad_right = 3; /* asymmetric */
                check_desc(&d, &rng);
            }
}

static void test_impl_info_and_workspace(void **unused)
{
    uint64_t rng = 0x1a4full;
    const conv1d_desc d = wide(64, 1, 3, 1, 1, CONV1D_LAYOUT_NWC);
    for (size_t k = 0; k < NVARIANTS; k++) {
        prepared p = prepare(variant_names[k], &d, &rng);
        const char *info = p.v->ops->impl_info(p.state);
        assert_non_null(info);
        assert_true(strlen(info) > 0);
        print_message("%s: %s, workspace %zu bytes\n", p.v->name, info, p.ws_bytes);

        /* A workspace of exactly ws_bytes at an odd address: guard bytes after it must survive. */
        const size_t guard = 256;
        unsigned char *buf = malloc(p.ws_bytes + guard + 1);
        assert_non_null(buf);
        unsigned char *ws = buf + 1;
        memset(buf, 0xff, p.ws_bytes + guard + 1);
        const int64_t ny = conv1d_output_elems(&d);
        float *x = tu_random_floats(&rng, conv1d_input_elems(&d));
        float *y1 = nan_floats(ny), *y2 = nan_floats(ny);
        assert_int_equal(p.v->ops->run(p.state, x, y1, p.ws_bytes ? ws : NULL), CONV1D_OK);
        for (size_t i = 0; i < guard; i++) assert_int_equal(ws[p.ws_bytes + i], 0xff);
        /* Rerunning with a differently aligned, re-poisoned workspace gives the same bits. */
        memset(buf, 0xff, p.ws_bytes + guard + 1);
        assert_int_equal(p.v->ops->run(p.state, x, y2, p.ws_bytes ? buf : NULL), CONV1D_OK);
        assert_memory_equal(y1, y2, (size_t)ny * sizeof *y1);
        free(buf);
        free(x);
        free(y1);
        free(y2);
        release(&p);
    }
    /* Releasing nothing is a no-op. */
    c1_variant_find("onednn")->ops->release(NULL);
}

typedef struct worker {
    const prepared *p;
    const float *x;
    float *y;
    int reps;
    conv1d_status st;
    char error[256]; /* the failing run's sentence: conv1d_last_error() is per thread */
} worker;

static void *worker_main(void *arg)
{
    worker *t = arg;
    void *ws = poisoned_workspace(t->p->ws_bytes);
    t->st = CONV1D_OK;
    for (int r = 0; r < t->reps && t->st == CONV1D_OK; r++) t->st = t->p->v->ops->run(t->p->state, t->x, t->y, ws);
    if (t->st != CONV1D_OK) snprintf(t->error, sizeof t->error, "%s", conv1d_last_error());
    free(ws);
    return NULL;
}

/* Two threads run one state at once, each with its own workspace and output; results match one thread's. */
static void test_concurrent_runs(void **unused)
{
    uint64_t rng = 0xc0c0ull;
    const conv1d_desc shapes[] = {wide(64, 1, 3, 1, 1, CONV1D_LAYOUT_NCW), wide(32, 4, 5, 2, 1, CONV1D_LAYOUT_NWC)};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t k = 0; k < NVARIANTS; k++) {
            prepared p = prepare(variant_names[k], &shapes[i], &rng);
            const int64_t ny = conv1d_output_elems(&p.d);
            float *x = tu_random_floats(&rng, conv1d_input_elems(&p.d));
            float *expect = nan_floats(ny);
            worker single = {.p = &p, .x = x, .y = expect, .reps = 1};
            worker_main(&single);
            if (single.st != CONV1D_OK) fail_msg("%s: %s", p.v->name, single.error);

            worker t[2];
            pthread_t tid[2];
            for (int j = 0; j < 2; j++) {
                t[j] = (worker){.p = &p, .x = x, .y = nan_floats(ny), .reps = 20};
                assert_int_equal(pthread_create(&tid[j], NULL, worker_main, &t[j]), 0);
            }
            for (int j = 0; j < 2; j++) {
                assert_int_equal(pthread_join(tid[j], NULL), 0);
                if (t[j].st != CONV1D_OK) fail_msg("%s thread %d: %s", p.v->name, j, t[j].error);
                assert_memory_equal(t[j].y, expect, (size_t)ny * sizeof *expect);
                free(t[j].y);
            }
            free(x);
            free(expect);
            release(&p);
        }
}

/* --- the 16-bit peers -------------------------------------------------------------------------------------- */

static conv1d_desc desc16(conv1d_dtype t, conv1d_layout layout, int64_t batch, int64_t length, int64_t c, int64_t k,
                          int64_t groups, int64_t r, int64_t stride, int64_t dilation, int64_t pad_left,
                          int64_t pad_right, int bias)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.dtype = t;
    d.layout = layout;
    d.batch = batch;
    d.length = length;
    d.in_channels = c;
    d.out_channels = k;
    d.num_groups = groups;
    d.kernel_size = r;
    d.stride = stride;
    d.dilation = dilation;
    d.pad_left = pad_left;
    d.pad_right = pad_right;
    d.has_bias = bias;
    return d;
}

/* The shapes every 16-bit peer is checked on: dense, grouped and depthwise in both layouts, stride 2,
 * dilation, symmetric, causal and asymmetric padding, with and without bias, channels off the 16-blocking. */
static size_t shapes16(conv1d_dtype t, conv1d_desc *out)
{
    const conv1d_layout nwc = CONV1D_LAYOUT_NWC, ncw = CONV1D_LAYOUT_NCW;
    const conv1d_desc shapes[] = {
        desc16(t, nwc, 2, 300, 64, 64, 1, 3, 1, 1, 1, 1, 1),      /* dense, bias */
        desc16(t, ncw, 2, 300, 64, 64, 1, 3, 1, 1, 1, 1, 0),      /* dense NCW */
        desc16(t, nwc, 2, 257, 48, 40, 1, 5, 2, 1, 2, 1, 1),      /* stride 2, asymmetric, off-block channels */
        desc16(t, ncw, 3, 100, 32, 24, 1, 4, 2, 2, 3, 2, 1),      /* stride 2, dilation 2 */
        desc16(t, nwc, 2, 300, 64, 64, 4, 5, 2, 1, 2, 2, 1),      /* grouped, stride 2 */
        desc16(t, ncw, 2, 200, 64, 96, 4, 3, 1, 1, 1, 1, 0),      /* grouped NCW */
        desc16(t, nwc, 2, 300, 64, 64, 64, 4, 1, 1, 3, 0, 1),     /* depthwise, causal (Mamba's k4) */
        desc16(t, ncw, 2, 300, 64, 64, 64, 4, 1, 1, 3, 0, 1),     /* depthwise NCW */
        desc16(t, nwc, 1, 33, 1536, 1536, 1536, 4, 1, 1, 3, 0, 1), /* decode-sized depthwise */
        desc16(t, nwc, 1, 1000, 1, 64, 1, 10, 5, 1, 0, 0, 1),     /* first layer: one input channel, stride 5 */
    };
    const size_t n = sizeof shapes / sizeof shapes[0];
    memcpy(out, shapes, sizeof shapes);
    return n;
}

/* oneDNN 3.2 runs bf16 from avx512_core up (natively with AVX512_BF16, emulated without), f16 only with
 * AVX512_FP16; capped to avx2 or below it has neither. What each 16-bit peer must do at this ISA level:
 * 1 supported, 0 unsupported, -1 either (a CPU this test does not know enough about). */
static int expected_support(conv1d_dtype t)
{
    const c1_isa_level level = c1_isa_effective();
    if (level < C1_ISA_LEVEL_AVX512) return c1_isa_capped() ? 0 : -1; /* an AVX2 CPU may have AVX2-VNNI-2 */
    if (t == CONV1D_BF16) return 1;
    return (c1_isa_effective_flags() & C1_ISA_AVX512_FP16) ? 1 : 0;
}

/* Checks the 16-bit peers of dtype t on every shape: the harness's check where oneDNN has an optimized
 * path, the refusal's sentence where it has none; returns how many shapes were checked. */
static int check_peers16(conv1d_dtype t, const char *const *names, size_t nnames)
{
    uint64_t rng = t == CONV1D_BF16 ? 0xbf16ull : 0xf16ull;
    conv1d_desc shapes[16];
    const size_t nshapes = shapes16(t, shapes);
    const int expect = expected_support(t);
    char sentence[64];
    snprintf(sentence, sizeof sentence, "no optimized %s convolution", conv1d_dtype_name(t));
    int checked = 0;
    for (size_t k = 0; k < nnames; k++) {
        const c1_variant *v = c1_variant_find(names[k]);
        assert_non_null(v);
        assert_string_equal(v->family, "onednn");
        assert_int_equal(v->precision, c1_precision_of_dtype(t));
        int refused = 0;
        for (size_t i = 0; i < nshapes; i++) {
            const conv1d_desc *d = &shapes[i];
            char text[CONV1D_DESC_TEXT_MAX];
            conv1d_desc_format(d, text, sizeof text);
            /* prepare once for oneDNN's answer (the weights' values do not matter to it), then the check */
            conv1d_status st = c1_variant_applies(v, d);
            char impl[256] = "";
            if (st == CONV1D_OK) {
                const int64_t nw = conv1d_weight_elems(d), nb = d->has_bias ? d->out_channels : 0;
                uint16_t *w = calloc((size_t)(nw + nb + 1), sizeof *w);
                assert_non_null(w);
                void *state = NULL;
                st = v->ops->prepare(v, d, NULL, w, nb ? w + nw : NULL, &state);
                if (st == CONV1D_OK) {
                    snprintf(impl, sizeof impl, "%s", v->ops->impl_info(state));
                    v->ops->release(state);
                }
                free(w);
            }
            if (st != CONV1D_OK) {
                if (st != CONV1D_UNSUPPORTED) fail_msg("%s on %s: status %d: %s", v->name, text, st, conv1d_last_error());
                if (!strstr(conv1d_last_error(), sentence) || !strstr(conv1d_last_error(), v->name))
                    fail_msg("%s on %s: the refusal '%s' does not say '%s'", v->name, text, conv1d_last_error(),
                             sentence);
                if (expect == 1)
                    fail_msg("%s refused %s at ISA level %s: %s", v->name, text,
                             c1_isa_level_name(c1_isa_effective()), conv1d_last_error());
                if (refused++ == 0) print_message("%s: %s\n", v->name, conv1d_last_error());
                continue;
            }
            if (expect == 0)
                fail_msg("%s ran %s at ISA level %s (%s), where oneDNN has no optimized %s convolution", v->name,
                         text, c1_isa_level_name(c1_isa_effective()), impl, conv1d_dtype_name(t));
            if (strstr(impl, "ref")) fail_msg("%s on %s runs oneDNN's reference code (%s)", v->name, text, impl);
            const double ulps = tu_variant_ulps16(v, d, &rng);
            print_message("%s: %s ok, %.2f ulp (%s)\n", v->name, text, ulps, impl);
            checked++;
        }
        if (refused) print_message("%s: refused %d of %zu shapes, as above\n", v->name, refused, nshapes);
    }
    return checked;
}

/* bf16 in and out, fp32 accumulation, one rounding: the harness's check, element by element. */
static void test_bf16_peers(void **unused)
{
    static const char *const names[] = {"onednn_bf16", "onednn_bf16_any"};
    const int checked = check_peers16(CONV1D_BF16, names, 2);
    if (expected_support(CONV1D_BF16) == 1) assert_int_equal(checked, 2 * 10);
}

static void test_f16_peers(void **unused)
{
    static const char *const names[] = {"onednn_f16", "onednn_f16_any"};
    const int checked = check_peers16(CONV1D_F16, names, 2);
    if (expected_support(CONV1D_F16) == 1) assert_int_equal(checked, 2 * 10);
}

/* The peer of each class is the registry's oneDNN variant of that class on the caller's layout: among
 * correct timings of every oneDNN variant (the _any ones fastest), the verdict names onednn, onednn_bf16 and
 * onednn_f16, never another class's nor an _any form. */
static void test_peer_of_each_class(void **unused)
{
    static const char *const names[] = {"onednn", "onednn_any", "onednn_bf16", "onednn_bf16_any", "onednn_f16",
                                        "onednn_f16_any", "ref_bf16"};
    enum { N = sizeof names / sizeof names[0] };
    c1_timing t[N];
    for (int i = 0; i < N; i++) {
        const c1_variant *v = c1_variant_find(names[i]);
        assert_non_null(v);
        const double ms = strstr(names[i], "_any") ? 1.0 : strcmp(names[i], "ref_bf16") == 0 ? 0.5 : 2.0;
        t[i] = (c1_timing){.name = v->name, .family = v->family, .cuda = false, .precision = v->precision, .ok = true,
                           .time_ms = {.median = ms, .ci_lo = ms * 0.99, .ci_hi = ms * 1.01, .n = 10}};
    }
    const c1_precision classes[] = {C1_PREC_FP32, C1_PREC_BF16, C1_PREC_F16};
    for (size_t c = 0; c < 3; c++) {
        const char *peer = c1_cpu_peer_name(classes[c]);
        assert_non_null(peer);
        const c1_variant *v = c1_variant_find(peer);
        assert_non_null(v);
        assert_string_equal(v->family, "onednn");
        assert_int_equal(v->precision, classes[c]);
        assert_int_equal(v->params[0], 0); /* the caller's own layout */
        const int i = c1_verdict_peer(t, N, false, classes[c]);
        assert_true(i >= 0);
        assert_string_equal(t[i].name, peer);
    }
    /* a peer that was not correct is no peer */
    t[2].ok = false;
    assert_int_equal(c1_verdict_peer(t, N, false, C1_PREC_BF16), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_descriptors),
        cmocka_unit_test(test_wide_descriptors),
        cmocka_unit_test(test_field_edges),
        cmocka_unit_test(test_impl_info_and_workspace),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_bf16_peers),
        cmocka_unit_test(test_f16_peers),
        cmocka_unit_test(test_peer_of_each_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
