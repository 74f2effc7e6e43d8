/* The 16-bit classes' check (c1_compare16): one rounding of an fp32 accumulation passes, element by element;
 * a missing rounding (truncation) and a 16-bit accumulator do not. Also the conversions of core/half.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv1d_ref.h"
#include "half.h"
#include "test_util.h"

typedef enum { EXACT_ROUNDING, TRUNCATION, NARROW_ACCUMULATOR } flavour;

static uint16_t narrow(conv1d_dtype t, float f) { return t == CONV1D_BF16 ? c1_f32_to_bf16(f) : c1_f32_to_f16(f); }
static float widen(conv1d_dtype t, uint16_t h) { return t == CONV1D_BF16 ? c1_bf16_to_f32(h) : c1_f16_to_f32(h); }

/* A deliberately simple variant in three flavours: NWC, stride 1, padding on both sides. */
static void conv16(const conv1d_desc *d, const float *x, const float *w, const float *b, uint16_t *y, flavour fl)
{
    const int64_t OL = conv1d_output_length(d), C = d->in_channels, K = d->out_channels, R = d->kernel_size;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t o = 0; o < OL; o++)
            for (int64_t k = 0; k < K; k++) {
                float acc = b ? b[k] : 0.0f;
                for (int64_t r = 0; r < R; r++) {
                    const int64_t pos = o + r - d->pad_left;
                    if (pos < 0 || pos >= d->length) continue;
                    for (int64_t c = 0; c < C; c++) {
                        acc += x[(n * d->length + pos) * C + c] * w[(r * C + c) * K + k];
                        if (fl == NARROW_ACCUMULATOR) acc = widen(d->dtype, narrow(d->dtype, acc));
                    }
                }
                uint16_t out = narrow(d->dtype, acc);
                if (fl == TRUNCATION && d->dtype == CONV1D_BF16) out = (uint16_t)(c1_f32_bits(acc) >> 16);
                if (fl == TRUNCATION && d->dtype == CONV1D_F16) {
                    /* toward zero: step back one ulp where rounding went away from zero */
                    if (fabsf(widen(d->dtype, out)) > fabsf(acc)) out = (uint16_t)(out - 1);
                }
                y[(n * OL + o) * K + k] = out;
            }
}

static c1_error check(conv1d_dtype t, flavour fl)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 2, d.length = 300, d.in_channels = 96, d.out_channels = 40, d.kernel_size = 5;
    d.pad_left = d.pad_right = 2, d.has_bias = 1, d.dtype = t;
    const int64_t nx = conv1d_input_elems(&d), nw = conv1d_weight_elems(&d), ny = conv1d_output_elems(&d);
    uint64_t seed = 11;
    /* Inputs in the 16-bit type, widened exactly: what the reference and the variant both see. */
    float *x = tu_random_floats(&seed, nx), *w = tu_random_floats(&seed, nw), *b = tu_random_floats(&seed, 40);
    for (int64_t i = 0; i < nx; i++) x[i] = widen(t, narrow(t, x[i]));
    for (int64_t i = 0; i < nw; i++) w[i] = widen(t, narrow(t, w[i]));
    for (int64_t i = 0; i < 40; i++) b[i] = widen(t, narrow(t, b[i]));
    double *ref = malloc((size_t)ny * sizeof *ref), *absum = malloc((size_t)ny * sizeof *absum);
    float *ax = malloc((size_t)nx * sizeof *ax), *aw = malloc((size_t)nw * sizeof *aw), ab[40];
    uint16_t *y = malloc((size_t)ny * sizeof *y);
    assert_true(ref && absum && ax && aw && y);
    for (int64_t i = 0; i < nx; i++) ax[i] = fabsf(x[i]);
    for (int64_t i = 0; i < nw; i++) aw[i] = fabsf(w[i]);
    for (int64_t i = 0; i < 40; i++) ab[i] = fabsf(b[i]);
    assert_int_equal(c1_ref_conv1d_f64(&d, x, w, b, ref), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(&d, ax, aw, ab, absum), CONV1D_OK);
    conv16(&d, x, w, b, y, fl);
    c1_error e = c1_compare16(y, t, ref, absum, ny, d.in_channels * d.kernel_size + 1);
    print_message("%s %s: %lld of %lld outside, max %.2f ulp, rel_max %.2e\n", conv1d_dtype_name(t),
                  fl == EXACT_ROUNDING ? "rounded" : fl == TRUNCATION ? "truncated" : "narrow accumulator",
                  (long long)e.outside, (long long)ny, e.ulp_max, e.rel_max);
    free(x), free(w), free(b), free(ref), free(absum), free(ax), free(aw), free(y);
    return e;
}

static void test_rounded_passes(void **state)
{
    for (conv1d_dtype t = CONV1D_BF16; t <= CONV1D_F16; t++) {
        c1_error e = check(t, EXACT_ROUNDING);
        assert_int_equal(e.outside, 0);
        assert_int_equal(e.bad_index, -1);
        assert_true(c1_error_ok(e, c1_precision_tolerance(c1_precision_of_dtype(t))));
    }
}

static void test_truncation_fails(void **state)
{
    for (conv1d_dtype t = CONV1D_BF16; t <= CONV1D_F16; t++) {
        c1_error e = check(t, TRUNCATION);
        assert_true(e.outside > 100); /* about a quarter of the outputs land beyond half an ulp */
        assert_false(c1_error_ok(e, c1_precision_tolerance(c1_precision_of_dtype(t))));
    }
}

static void test_narrow_accumulator_fails(void **state)
{
    for (conv1d_dtype t = CONV1D_BF16; t <= CONV1D_F16; t++) {
        c1_error e = check(t, NARROW_ACCUMULATOR);
        assert_true(e.outside > 1000);
        assert_true(e.ulp_max > 2.0);
        assert_false(c1_error_ok(e, c1_precision_tolerance(c1_precision_of_dtype(t))));
    }
}

static void test_unwritten_fails(void **state)
{
    const uint16_t nan16[2] = {0x7fc0, 0x7e00};
    const double ref[2] = {1.0, 1.0}, absum[2] = {1.0, 1.0};
    c1_error e = c1_compare16(&nan16[0], CONV1D_BF16, ref, absum, 1, 1);
    assert_int_equal(e.bad_index, 0);
    e = c1_compare16(&nan16[1], CONV1D_F16, ref, absum, 1, 1);
    assert_int_equal(e.bad_index, 0);
    assert_false(c1_error_ok(e, c1_precision_tolerance(C1_PREC_F16)));
}

/* Widening is exact and narrowing rounds to nearest even, at the edges of each type. */
static void test_conversions(void **state)
{
    assert_int_equal(c1_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(c1_f32_to_bf16(c1_bits_f32(0x3f808000u)), 0x3f80); /* a tie, to even */
    assert_int_equal(c1_f32_to_bf16(c1_bits_f32(0x3f818000u)), 0x3f82); /* a tie, to even */
    assert_int_equal(c1_f32_to_bf16(c1_bits_f32(0x3f808001u)), 0x3f81);
    assert_true(isnan(c1_bf16_to_f32(c1_f32_to_bf16(NAN))));
    assert_int_equal(c1_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(c1_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(c1_f32_to_f16(65520.0f), 0x7c00);          /* rounds to infinity */
    assert_int_equal(c1_f32_to_f16(0x1p-24f), 0x0001);          /* the smallest subnormal */
    assert_int_equal(c1_f32_to_f16(0x1p-25f), 0x0000);          /* a tie, to even: zero */
    assert_int_equal(c1_f32_to_f16(0x1.8p-25f), 0x0001);
    assert_int_equal(c1_f32_to_f16(-2.0f), 0xc000);
    assert_true(isnan(c1_f16_to_f32(c1_f32_to_f16(NAN))));
    for (uint32_t h = 0; h < 0x7c00; h++) { /* every finite positive f16 survives the round trip */
        assert_int_equal(c1_f32_to_f16(c1_f16_to_f32((uint16_t)h)), h);
        assert_int_equal(c1_f32_to_bf16(c1_bf16_to_f32((uint16_t)h)), h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounded_passes),    cmocka_unit_test(test_truncation_fails),
        cmocka_unit_test(test_narrow_accumulator_fails), cmocka_unit_test(test_unwritten_fails),
        cmocka_unit_test(test_conversions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
