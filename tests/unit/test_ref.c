/*
 * The reference convolution: hand-computed cases, then the metamorphic relations of DESIGN.md on random
 * descriptors covering every field. Each relation rebuilds the same convolution another way (per-group
 * pieces, explicit zero padding, a zero-inserted dense kernel, a subsampled stride-1 output, the other
 * layout, an impulse, a linear combination) and must agree to double rounding.
 */
#include <string.h>

#include "conv1d_ref.h"
#include "test_util.h"
#include "variant.h"

#define CASES 200

/* Element offsets for both layouts. */
static int64_t x_at(const conv1d_desc *d, int64_t n, int64_t c, int64_t i)
{
    return d->layout == CONV1D_LAYOUT_NWC ? (n * d->length + i) * d->in_channels + c
                                          : (n * d->in_channels + c) * d->length + i;
}
static int64_t w_at(const conv1d_desc *d, int64_t k, int64_t c, int64_t r)
{
    const int64_t cg = d->in_channels / d->num_groups;
    return d->layout == CONV1D_LAYOUT_NWC ? (r * cg + c) * d->out_channels + k : (k * cg + c) * d->kernel_size + r;
}
static int64_t y_at(const conv1d_desc *d, int64_t n, int64_t k, int64_t o)
{
    const int64_t ol = conv1d_output_length(d);
    return d->layout == CONV1D_LAYOUT_NWC ? (n * ol + o) * d->out_channels + k : (n * d->out_channels + k) * ol + o;
}

static double *ref(const conv1d_desc *d, const float *x, const float *w, const float *b)
{
    double *y = malloc((size_t)conv1d_output_elems(d) * sizeof *y);
    assert_non_null(y);
    c1_ref_conv1d_f64(d, x, w, b, y);
    return y;
}

static void assert_close(double a, double b)
{
    if (fabs(a - b) > 1e-9 * (1.0 + fabs(b))) fail_msg("%.17g != %.17g", a, b);
}

/* ---- hand-computed ---- */

static void test_hand_computed(void **state)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 5, d.in_channels = 1, d.out_channels = 1, d.kernel_size = 3, d.pad_left = d.pad_right = 1;
    const float x[] = {1, 2, 3, 4, 5}, w[] = {1, 0, -1};
    double *y = ref(&d, x, w, NULL);
    const double expect[] = {-2, -2, -2, -2, 4};
    for (int i = 0; i < 5; i++) assert_close(y[i], expect[i]);
    free(y);

    /* stride 2, dilation 2, pad (1, 0), bias 0.5: y[o] = x[2o-1] + 10 x[2o+1] + 0.5 */
    d.stride = 2, d.dilation = 2, d.pad_left = 1, d.pad_right = 0, d.kernel_size = 2, d.length = 6, d.has_bias = 1;
    const float x2[] = {1, 2, 3, 4, 5, 6}, w2[] = {1, 10}, b2[] = {0.5f};
    assert_int_equal(conv1d_output_length(&d), 3);
    y = ref(&d, x2, w2, b2);
    const double expect2[] = {20.5, 42.5, 64.5};
    for (int i = 0; i < 3; i++) assert_close(y[i], expect2[i]);
    free(y);

    /* Two groups, NWC, two channels each side, k=1: channel k sees only its own group's channel. */
    conv1d_desc_init(&d);
    d.length = 2, d.in_channels = 2, d.out_channels = 2, d.kernel_size = 1, d.num_groups = 2;
    const float x3[] = {1, 2, 3, 4}; /* (l, c): (0,0)=1 (0,1)=2 (1,0)=3 (1,1)=4 */
    const float w3[] = {10, 100};    /* (r, c/g, k): k0 <- 10, k1 <- 100 */
    y = ref(&d, x3, w3, NULL);
    const double expect3[] = {10, 200, 30, 400};
    for (int i = 0; i < 4; i++) assert_close(y[i], expect3[i]);
    free(y);

    /* The same in NCW: x (c, l), w (k, c/g, r). */
    d.layout = CONV1D_LAYOUT_NCW;
    const float x4[] = {1, 3, 2, 4};
    y = ref(&d, x4, w3, NULL);
    const double expect4[] = {10, 30, 200, 400};
    for (int i = 0; i < 4; i++) assert_close(y[i], expect4[i]);
    free(y);
}

/* ---- metamorphic relations ---- */

typedef struct problem {
    conv1d_desc d;
    float *x, *w, *b;
    double *y;
} problem;

static problem make_problem(uint64_t *rng, conv1d_desc d)
{
    problem p = {.d = d};
    p.x = tu_random_floats(rng, conv1d_input_elems(&d));
    p.w = tu_random_floats(rng, conv1d_weight_elems(&d));
    p.b = tu_random_floats(rng, d.out_channels);
    p.y = ref(&d, p.x, p.w, p.b);
    return p;
}

static void free_problem(problem *p)
{
    free(p->x), free(p->w), free(p->b), free(p->y);
}

/* grouped = per-group convolutions, concatenated over output channels */
static void check_groups(const problem *p)
{
    const conv1d_desc *d = &p->d;
    const int64_t G = d->num_groups, cg = d->in_channels / G, kg = d->out_channels / G, R = d->kernel_size;
    conv1d_desc s = *d;
    s.num_groups = 1, s.in_channels = cg, s.out_channels = kg;
    float *x = malloc((size_t)conv1d_input_elems(&s) * sizeof *x), *w = malloc((size_t)conv1d_weight_elems(&s) * 4);
    for (int64_t g = 0; g < G; g++) {
        for (int64_t n = 0; n < d->batch; n++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t i = 0; i < d->length; i++) x[x_at(&s, n, c, i)] = p->x[x_at(d, n, g * cg + c, i)];
        for (int64_t k = 0; k < kg; k++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t r = 0; r < R; r++) w[w_at(&s, k, c, r)] = p->w[w_at(d, g * kg + k, c, r)];
        double *y = ref(&s, x, w, p->b + g * kg);
        for (int64_t n = 0; n < d->batch; n++)
            for (int64_t k = 0; k < kg; k++)
                for (int64_t o = 0; o < conv1d_output_length(d); o++)
                    assert_close(y[y_at(&s, n, k, o)], p->y[y_at(d, n, g * kg + k, o)]);
        free(y);
    }
    free(x), free(w);
}

/* padding = the unpadded convolution of an explicitly zero-padded input */
static void check_padding(const problem *p)
{
    const conv1d_desc *d = &p->d;
    conv1d_desc s = *d;
    s.length = d->length + d->pad_left + d->pad_right, s.pad_left = s.pad_right = 0;
    float *x = calloc((size_t)conv1d_input_elems(&s), sizeof *x);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t c = 0; c < d->in_channels; c++)
            for (int64_t i = 0; i < d->length; i++) x[x_at(&s, n, c, i + d->pad_left)] = p->x[x_at(d, n, c, i)];
    double *y = ref(&s, x, p->w, p->b);
    assert_int_equal(conv1d_output_elems(&s), conv1d_output_elems(d));
    for (int64_t i = 0; i < conv1d_output_elems(d); i++) assert_close(y[i], p->y[i]);
    free(x), free(y);
}

/* dilation d = a dense kernel of (k-1)d+1 taps with zeros inserted */
static void check_dilation(const problem *p)
{
    const conv1d_desc *d = &p->d;
    conv1d_desc s = *d;
    s.dilation = 1, s.kernel_size = (d->kernel_size - 1) * d->dilation + 1;
    const int64_t cg = d->in_channels / d->num_groups;
    float *w = calloc((size_t)conv1d_weight_elems(&s), sizeof *w);
    for (int64_t k = 0; k < d->out_channels; k++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t r = 0; r < d->kernel_size; r++) w[w_at(&s, k, c, r * d->dilation)] = p->w[w_at(d, k, c, r)];
    double *y = ref(&s, p->x, w, p->b);
    for (int64_t i = 0; i < conv1d_output_elems(d); i++) assert_close(y[i], p->y[i]);
    free(w), free(y);
}

/* stride s = the stride-1 output subsampled every s positions */
static void check_stride(const problem *p)
{
    const conv1d_desc *d = &p->d;
    conv1d_desc s = *d;
    s.stride = 1;
    double *y = ref(&s, p->x, p->w, p->b);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t k = 0; k < d->out_channels; k++)
            for (int64_t o = 0; o < conv1d_output_length(d); o++)
                assert_close(y[y_at(&s, n, k, o * d->stride)], p->y[y_at(d, n, k, o)]);
    free(y);
}

/* NWC = NCW with every tensor transposed */
static void check_layouts(const problem *p)
{
    const conv1d_desc *d = &p->d;
    conv1d_desc s = *d;
    s.layout = d->layout == CONV1D_LAYOUT_NWC ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
    const int64_t cg = d->in_channels / d->num_groups;
    float *x = malloc((size_t)conv1d_input_elems(d) * sizeof *x), *w = malloc((size_t)conv1d_weight_elems(d) * 4);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t c = 0; c < d->in_channels; c++)
            for (int64_t i = 0; i < d->length; i++) x[x_at(&s, n, c, i)] = p->x[x_at(d, n, c, i)];
    for (int64_t k = 0; k < d->out_channels; k++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t r = 0; r < d->kernel_size; r++) w[w_at(&s, k, c, r)] = p->w[w_at(d, k, c, r)];
    double *y = ref(&s, x, w, p->b);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t k = 0; k < d->out_channels; k++)
            for (int64_t o = 0; o < conv1d_output_length(d); o++)
                assert_close(y[y_at(&s, n, k, o)], p->y[y_at(d, n, k, o)]);
    free(x), free(w), free(y);
}

/* linearity: conv(a x1 + b x2) = a conv(x1) + b conv(x2) without bias, and the bias adds its constant */
static void check_linearity(uint64_t *rng, const problem *p)
{
    conv1d_desc s = p->d;
    s.has_bias = 0;
    const int64_t nx = conv1d_input_elems(&s), ny = conv1d_output_elems(&s);
    float *x2 = tu_random_floats(rng, nx), *mix = malloc((size_t)nx * sizeof *mix);
    const float a = 0.75f, b = -2.0f; /* exact in float, so the mix is exact */
    for (int64_t i = 0; i < nx; i++) mix[i] = a * p->x[i] + b * x2[i];
    double *y1 = ref(&s, p->x, p->w, NULL), *y2 = ref(&s, x2, p->w, NULL), *ym = ref(&s, mix, p->w, NULL);
    for (int64_t i = 0; i < ny; i++) {
        /* mix[i] was rounded to float; allow for it relative to the terms' size */
        if (fabs(ym[i] - (a * y1[i] + b * y2[i])) > 1e-5 * (1.0 + fabs(y1[i]) + fabs(y2[i])))
            fail_msg("linearity: %g vs %g", ym[i], a * y1[i] + b * y2[i]);
    }
    if (p->d.has_bias)
        for (int64_t n = 0; n < s.batch; n++)
            for (int64_t k = 0; k < s.out_channels; k++)
                for (int64_t o = 0; o < conv1d_output_length(&s); o++)
                    assert_close(p->y[y_at(&s, n, k, o)], y1[y_at(&s, n, k, o)] + p->b[k]);
    free(x2), free(mix), free(y1), free(y2), free(ym);
}

/* impulse response: a unit impulse at position q gives the (reversed) kernel, y[q + pad_left - r] = w[r] */
static void check_impulse(uint64_t *rng)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.in_channels = d.out_channels = 1, d.length = tu_range(rng, 8, 30), d.kernel_size = tu_range(rng, 1, 7);
    d.pad_left = tu_range(rng, 0, d.kernel_size - 1), d.pad_right = d.kernel_size - 1 - d.pad_left;
    d.layout = tu_range(rng, 0, 1) ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
    float *x = calloc((size_t)d.length, sizeof *x), *w = tu_random_floats(rng, d.kernel_size);
    const int64_t q = tu_range(rng, 0, d.length - 1);
    x[q] = 1.0f;
    double *y = ref(&d, x, w, NULL);
    for (int64_t o = 0; o < conv1d_output_length(&d); o++) {
        const int64_t r = q + d.pad_left - o;
        assert_close(y[o], r >= 0 && r < d.kernel_size ? w[r] : 0.0);
    }
    free(x), free(w), free(y);
}

static void test_metamorphic(void **state)
{
    uint64_t rng = 20261123;
    for (int i = 0; i < CASES; i++) {
        problem p = make_problem(&rng, tu_random_desc(&rng));
        check_groups(&p);
        check_padding(&p);
        check_dilation(&p);
        check_stride(&p);
        check_layouts(&p);
        check_linearity(&rng, &p);
        check_impulse(&rng);
        free_problem(&p);
    }
}

/* The registered ref variant runs c1_ref_conv1d_f64 and rounds once to float. */
static void test_ref_variant(void **state)
{
    size_t n;
    const c1_variant *list = c1_variant_list(&n);
    assert_true(n >= 1);
    assert_string_equal(list[0].name, "ref");
    assert_ptr_equal(c1_variant_find("ref"), &list[0]);
    assert_null(c1_variant_find("no_such_variant"));
    uint64_t rng = 7;
    for (int i = 0; i < 50; i++) {
        problem p = make_problem(&rng, tu_random_desc(&rng));
        const c1_variant *v = &list[0];
        assert_int_equal(c1_variant_applies(v, &p.d), CONV1D_OK);
        void *st = NULL;
        assert_int_equal(v->ops->prepare(v, &p.d, NULL, p.w, p.d.has_bias ? p.b : NULL, &st), CONV1D_OK);
        void *ws = malloc(v->ops->workspace_bytes(st));
        const int64_t ny = conv1d_output_elems(&p.d);
        float *y = malloc((size_t)ny * sizeof *y);
        for (int64_t j = 0; j < ny; j++) y[j] = NAN;
        double *expect = ref(&p.d, p.x, p.w, p.b);
        assert_int_equal(v->ops->run(st, p.x, y, ws), CONV1D_OK);
        for (int64_t j = 0; j < ny; j++) assert_true(y[j] == (float)expect[j]);
        v->ops->release(st);
        free(ws), free(y), free(expect);
        free_problem(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_metamorphic),
        cmocka_unit_test(test_ref_variant),
    };
    return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}
