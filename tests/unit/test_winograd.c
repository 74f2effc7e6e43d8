/* The Winograd family: the generated transforms against direct evaluation in double, then every registered
 * Winograd variant this machine can run on cases derived from its tile (m outputs, alpha inputs), its GEMM
 * register tile and its block of tiles, every field it supports, and random descriptors, against the double
 * reference; the measured error of each tile against the table that decides where it applies. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "variant_check.h"

#include "variant.h"
#include "winograd.h"

#define MAX_VARIANTS 32
#define A_MAX C1_WINOGRAD_MAX_ALPHA

/* The kernel context every check prepares with: this machine's, with the blocking a test forces. */
static c1_kernel_ctx test_ctx;

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;

static int setup(void **unused)
{
    test_ctx = *c1_kernel_ctx_machine();
    nvariants = tu_family_variants("winograd", variants, MAX_VARIANTS);
    return 0; /* no Winograd variant below AVX2: the tests that need one skip */
}

/* y = AT [(G g) . (BT d)] equals the correlation y_i = sum_k g_k d_{i+k} to double rounding, for every tile
 * the table knows and a few beyond it. */
static void test_transforms_match_direct_evaluation(void **unused)
{
    uint64_t rng = 0x7a11ull;
    const int tiles[][2] = {{2, 3}, {4, 3}, {6, 3}, {4, 2}, {6, 2}, {2, 5}, {4, 5}, {2, 7}, {4, 7}, {1, 1}, {8, 3}};
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
        const int m = tiles[t][0], r = tiles[t][1], n = m + r - 1;
        double AT[A_MAX * A_MAX], G[A_MAX * A_MAX], BT[A_MAX * A_MAX];
        assert_int_equal(c1_winograd_transforms(m, r, AT, G, BT), 0);
        for (int trial = 0; trial < 20; trial++) {
            double g[A_MAX], d[A_MAX], u[A_MAX], v[A_MAX];
            for (int k = 0; k < r; k++) g[k] = tu_value(&rng);
            for (int j = 0; j < n; j++) d[j] = tu_value(&rng);
            for (int xi = 0; xi < n; xi++) {
                u[xi] = v[xi] = 0.0;
                for (int k = 0; k < r; k++) u[xi] += G[xi * r + k] * g[k];
                for (int j = 0; j < n; j++) v[xi] += BT[xi * n + j] * d[j];
            }
            for (int i = 0; i < m; i++) {
                double y = 0.0, ref = 0.0;
                for (int xi = 0; xi < n; xi++) y += AT[i * n + xi] * u[xi] * v[xi];
                for (int k = 0; k < r; k++) ref += g[k] * d[i + k];
                if (fabs(y - ref) > 1e-12 * (1.0 + fabs(ref)))
                    fail_msg("F(%d,%d) output %d: %.17g, direct %.17g", m, r, i, y, ref);
            }
        }
        /* The data transform is exact in floats: entries are small integers and halves after scaling. */
        for (int i = 0; i < n * n; i++) assert_true(fabs(BT[i]) <= 1.0);
    }
    double AT[A_MAX * A_MAX], G[A_MAX * A_MAX], BT[A_MAX * A_MAX];
    assert_int_equal(c1_winograd_transforms(0, 3, AT, G, BT), -1);
    assert_int_equal(c1_winograd_transforms(8, 6, AT, G, BT), -1); /* alpha 13 > C1_WINOGRAD_MAX_ALPHA */
}

/* The variant on d (which it must apply to): its error as a fraction of max|ref| (tu_variant_error). */
static double run_and_compare(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    if (c1_variant_applies(v, d) != CONV1D_OK) {
        char text[CONV1D_DESC_TEXT_MAX];
        conv1d_desc_format(d, text, sizeof text);
        fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
    }
    return tu_variant_error_ctx(v, d, &test_ctx, rng, NULL, 0);
}

/* Small shapes must stay within the fp32 class and within a few times the tile's table entry. */
static void check(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    const double err = run_and_compare(v, d, rng);
    const double limit = fmax(1e-5, 4 * c1_winograd_error_estimate(v->params[0], v->params[1],
                                                                     d->in_channels / d->num_groups));
    if (err > limit) {
        char text[CONV1D_DESC_TEXT_MAX];
        conv1d_desc_format(d, text, sizeof text);
        fail_msg("%s on %s: error %g of max|ref| (limit %g)", v->name, text, err, limit);
    }
}

/* Output lengths around m, around the GEMM's MR tiles and a forced block of tiles; output channels around the
 * GEMM's NR and the 16-channel row padding; both layouts, bias on and off, "same" padding and none. */
static void test_tile_and_block_edges(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    uint64_t rng = 0xed9eull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t m = v->params[0], r = v->params[1], mr = v->params[2], nr = v->params[3];
        const int64_t tb = 2 * mr; /* forced: two GEMM row tiles per block */
        const int64_t outs[] = {1, m - 1, m, m + 1, mr * m - 1, mr * m + 1, tb * m, tb * m + 1, 2 * tb * m + m - 1};
        const int64_t chans[] = {1, 15, 17, nr - 1, nr + 1, 2 * nr + 3};
        test_ctx.force_blocking[0] = tb;
        for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
            for (size_t j = 0; j < sizeof chans / sizeof chans[0]; j++) {
                if (outs[i] < 1) continue;
                conv1d_desc d = tu_base_desc(outs[i], 3 + (int64_t)(i % 3) * 7, chans[j], r);
                d.pad_left = (r - 1) / 2;
                d.pad_right = r - 1 - d.pad_left; /* output length = input length */
                d.has_bias = (int)((i + j) & 1);
                d.layout = (i + j) % 3 == 0 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                d.batch = 1 + (int64_t)(j % 2);
                check(v, &d, &rng);
                d.pad_left = d.pad_right = 0;
                d.length = outs[i] + r - 1;
                check(v, &d, &rng);
            }
        test_ctx = *c1_kernel_ctx_machine();
    }
}

/* Blocks that span phases and images: short rows (fewer tiles than a GEMM row tile), batches, dilations whose
 * phases differ in length (the output length not a multiple of the dilation), blocks of one tile, of MR and of
 * more than two row tiles, both layouts. */
static void test_blocks_across_rows(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    uint64_t rng = 0xb10cull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t m = v->params[0], r = v->params[1], mr = v->params[2];
        const int64_t blocks[] = {1, mr, 2 * mr + 1};
        const int64_t outs[] = {1, m + 1, 3 * m + 2};
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
            for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
                for (int64_t dilation = 1; dilation <= 3; dilation++) {
                    test_ctx.force_blocking[0] = blocks[b];
                    conv1d_desc d = tu_base_desc(outs[i] + dilation * (r - 1), 5, 19, r);
                    d.dilation = dilation;
                    d.batch = 3 + (int64_t)(i % 2);
                    d.pad_left = (int64_t)(b % 2);
                    d.pad_right = (int64_t)(i % 2);
                    d.has_bias = (int)((b + i) & 1);
                    d.layout = (b + i + (size_t)dilation) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check(v, &d, &rng);
                    d.layout = d.layout == CONV1D_LAYOUT_NCW ? CONV1D_LAYOUT_NWC : CONV1D_LAYOUT_NCW;
                    check(v, &d, &rng);
                }
        test_ctx = *c1_kernel_ctx_machine();
    }
}

/* Dilation (phases), every padding kind including padding wider than the kernel and a window wholly in the
 * padding, groups from dense to depthwise. */
static void test_dilation_padding_groups(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    uint64_t rng = 0xd11a7ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t m = v->params[0], r = v->params[1];
        for (int64_t dilation = 1; dilation <= 3; dilation++)
            for (int pad = 0; pad < 5; pad++)
                for (int64_t groups = 1; groups <= 4; groups *= 2) {
                    conv1d_desc d = tu_base_desc(3 * m * dilation + 5, 3 * groups, 5 * groups, r);
                    d.dilation = dilation;
                    d.num_groups = groups;
                    switch (pad) {
                    case 0: break;
                    case 1: d.pad_left = d.pad_right = 1; break;
                    case 2: d.pad_left = dilation * (r - 1); break; /* causal */
                    case 3: d.pad_left = 1; d.pad_right = 3 * r; break;
                    case 4: d.pad_left = dilation * r + 2; d.pad_right = 2; break; /* first outputs all padding */
                    }
                    d.has_bias = pad & 1;
                    d.layout = (pad + dilation) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    d.batch = 1 + pad % 2;
                    check(v, &d, &rng);
                }
        /* Depthwise (one channel per group), causal, as in Mamba's k=4 layers. */
        conv1d_desc d = tu_base_desc(4 * m + 3, 24, 24, r);
        d.num_groups = 24;
        d.pad_left = r - 1;
        d.has_bias = 1;
        check(v, &d, &rng);
        d.layout = CONV1D_LAYOUT_NCW;
        check(v, &d, &rng);
    }
}

/* Random stride-1 descriptors with the tile's kernel size, everything else random. */
static void test_random_descriptors(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    uint64_t rng = 0x4a2d0ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        for (int i = 0; i < 25; i++) {
            conv1d_desc d = tu_random_desc(&rng);
            d.stride = 1;
            d.kernel_size = v->params[1];
            d.length += d.dilation * (d.kernel_size - 1); /* keep at least one output */
            if (conv1d_desc_validate(&d) != CONV1D_OK) continue;
            check(v, &d, &rng);
        }
    }
}

/* Wide layers, where rounding differs most from direct kernels: each tile's error at 256 channels over a few
 * seeds and both layouts must stay within its table entry, which decides where the tile applies. */
static void test_error_table(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    uint64_t rng = 0xe770ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int m = v->params[0], r = v->params[1];
        const double entry = c1_winograd_error_estimate(m, r, 256);
        double worst = 0;
        for (int seed = 0; seed < 4; seed++) {
            conv1d_desc d = tu_base_desc(257, 256, 64, r);
            d.pad_left = d.pad_right = (r - 1) / 2;
            d.layout = seed % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
            worst = fmax(worst, run_and_compare(v, &d, &rng));
        }
        print_message("%-24s F(%d,%d) error %.2g of max|ref| at 256 channels (table %.2g)\n", v->name, m, r, worst,
                      entry);
        if (worst > entry) fail_msg("%s: measured error %g exceeds its table entry %g", v->name, worst, entry);
    }
}

/* What the family declines, each with a sentence naming the reason. */
static void test_unsupported_shapes(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "winograd");
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t r = v->params[1];
        conv1d_desc d = tu_base_desc(64, 8, 8, r);
        d.stride = 2;
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "stride 1"));
        d.stride = 1;
        d.kernel_size = r + 1;
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "kernel_size"));
        /* So many channels per group that the tile's error would leave the fp32 class. */
        d.kernel_size = r;
        d.in_channels = (int64_t)1 << 26;
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "fp32 error class"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transforms_match_direct_evaluation),
        cmocka_unit_test(test_tile_and_block_edges),
        cmocka_unit_test(test_blocks_across_rows),
        cmocka_unit_test(test_dilation_padding_groups),
        cmocka_unit_test(test_random_descriptors),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_unsupported_shapes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
