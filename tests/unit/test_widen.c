/* The conversion wrapper (variants/cpu/widen.c): its vector conversions against core/half.h on every 16-bit
 * pattern and on the float edges (ties, NaN, infinities, subnormals, overflow), then every wrapper variant
 * this machine can run on shapes along its wrapped variant's edges, checked as the harness checks 16-bit
 * variants. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "variant_check16.h"

#include "isa.h"
#include "variant.h"
#include "widen.h"

/* The ISA tables this process may run. */
static size_t tables(const c1_widen_isa **out)
{
    size_t n = 0;
    if (c1_isa_available(C1_ISA_LEVEL_AVX2)) out[n++] = &c1_widen_avx2;
    if (c1_isa_available(C1_ISA_LEVEL_AVX512)) out[n++] = &c1_widen_avx512;
    return n;
}

static bool same_bits16(uint16_t a, uint16_t b, bool bf)
{
    /* NaNs: any quiet NaN will do, with the sign kept */
    const bool nan_a = bf ? (a & 0x7f80) == 0x7f80 && (a & 0x7f) : (a & 0x7c00) == 0x7c00 && (a & 0x3ff);
    const bool nan_b = bf ? (b & 0x7f80) == 0x7f80 && (b & 0x7f) : (b & 0x7c00) == 0x7c00 && (b & 0x3ff);
    return nan_a || nan_b ? nan_a && nan_b && ((a ^ b) & 0x8000) == 0 : a == b;
}

static void test_conversions(void **unused)
{
    const c1_widen_isa *t[2];
    const size_t nt = tables(t);
    if (nt == 0) {
        print_message("skipped: the wrapper's conversions need AVX2 (ISA level %s)\n", c1_isa_level_name(c1_isa_effective()));
        skip();
    }
    /* every 16-bit pattern, in a length that leaves a tail */
    enum { N = 65536 + 7 };
    uint16_t *h = malloc(N * sizeof *h), *back = malloc(N * sizeof *back);
    float *f = malloc(N * sizeof *f);
    assert_true(h && back && f);
    for (size_t i = 0; i < N; i++) h[i] = (uint16_t)i;
    /* floats: random, ties of both types at every exponent, and the edges */
    enum { M = 200003 };
    float *g = malloc(M * sizeof *g);
    uint64_t rng = 0x5eed;
    for (size_t i = 0; i < M; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(rng >> 32);
        if (i % 4 == 1) u = (u & 0xffff0000u) | 0x8000u;         /* a bf16 tie */
        if (i % 4 == 2) u = (u & 0xffffe000u) | 0x1000u;         /* an f16 tie among normals */
        if (i % 4 == 3) u = (u & 0x807fffffu) | (uint32_t)(100 + i % 60) << 23; /* f16's range and below */
        memcpy(&g[i], &u, sizeof u);
    }
    const float edges[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 65504.0f, 65520.0f, 65519.99f, 1e-8f,
                           5.96e-8f, 2.98e-8f, 3.4e38f, -3.4e38f, 1.17549435e-38f, 1e-45f};
    memcpy(g, edges, sizeof edges);
    uint16_t *gh = malloc(M * sizeof *gh);
    for (size_t k = 0; k < nt; k++) {
        for (int bf = 0; bf < 2; bf++) {
            (bf ? t[k]->bf16_to_f32 : t[k]->f16_to_f32)(h, f, N);
            for (size_t i = 0; i < N; i++) {
                const float want = bf ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
                const bool both_nan = isnan(want) && isnan(f[i]) && signbit(want) == signbit(f[i]);
                if (!both_nan && memcmp(&want, &f[i], sizeof want) != 0) /* a NaN may come back quieted */
                    fail_msg("%s widening of 0x%04x: %a, expected %a", bf ? "bf16" : "f16", h[i], f[i], want);
            }
            (bf ? t[k]->f32_to_bf16 : t[k]->f32_to_f16)(g, gh, M);
            for (size_t i = 0; i < M; i++) {
                const uint16_t want = bf ? c1_f32_to_bf16(g[i]) : c1_f32_to_f16(g[i]);
                if (!same_bits16(gh[i], want, bf))
                    fail_msg("%s rounding of %a: 0x%04x, expected 0x%04x", bf ? "bf16" : "f16", g[i], gh[i], want);
            }
        }
    }
    free(h), free(back), free(f), free(g), free(gh);
}

/* Each wrapper on shapes along its wrapped variant's edges, both layouts, both 16-bit classes. */
static void test_wrappers(void **unused)
{
    size_t count = 0, ran = 0;
    const c1_variant *list = c1_variant_list(&count);
    uint64_t rng = 0xc0de;
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        extern const c1_variant_ops c1_widen_ops;
        if (v->ops != &c1_widen_ops) continue;
        if (!c1_isa_available(v->isa)) {
            print_message("skipping %s: ISA level %s\n", v->name, c1_isa_level_name(c1_isa_effective()));
            continue;
        }
        const bool fft = strcmp(v->family, "fft") == 0;
        const int64_t k = fft ? 33 : v->name[strlen("winograd_f4r")] - '0';
        const int64_t lengths[] = {k, 2 * k + 5, fft ? 700 : 61};
        /* Winograd's wrappers take 32 channels a group or more (widen.c), so only the last pair reaches them. */
        const int64_t channels[][2] = {{1, 1}, {7, 17}, {32, 33}};
        double worst = 0;
        int tried = 0;
        for (size_t li = 0; li < 3; li++)
            for (size_t ci = 0; ci < 3; ci++)
                for (int layout = 0; layout < 2; layout++) {
                    conv1d_desc d;
                    conv1d_desc_init(&d);
                    d.batch = 1 + (int64_t)(li % 2);
                    d.length = lengths[li];
                    d.in_channels = channels[ci][0];
                    d.out_channels = channels[ci][1];
                    d.kernel_size = k;
                    d.pad_left = d.pad_right = (k - 1) / 2;
                    d.has_bias = (ci + li) % 2;
                    d.layout = layout ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    d.dtype = v->precision == C1_PREC_BF16 ? CONV1D_BF16 : CONV1D_F16;
                    if (c1_variant_applies(v, &d) != CONV1D_OK) continue;
                    worst = fmax(worst, tu_variant_ulps16(v, &d, &rng));
                    tried++;
                }
        print_message("%s: %d shapes, worst %.2f ulp\n", v->name, tried, worst);
        assert_true(tried > 0);
        if (!fft) { /* one channel: refused, with the reason */
            conv1d_desc d;
            conv1d_desc_init(&d);
            d.length = 64;
            d.in_channels = d.out_channels = 1;
            d.kernel_size = k;
            d.dtype = v->precision == C1_PREC_BF16 ? CONV1D_BF16 : CONV1D_F16;
            assert_int_equal(v->ops->supports(v, &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "needs at least 32 input channels a group, got 1"));
        }
        ran++;
    }
    if (ran == 0) {
        print_message("skipped: no wrapper runs at ISA level %s\n", c1_isa_level_name(c1_isa_effective()));
        skip();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
