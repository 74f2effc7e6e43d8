/* The direct family: every registered direct variant this machine can run, on cases derived from its register
 * tile (MR positions x NR channels) and cache blocking (kc input channels, ob positions), every descriptor
 * field, and random descriptors, against the double reference. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "variant_check.h"

#include "direct.h"
#include "hwinfo.h"
#include "variant.h"

#define MAX_VARIANTS 32

/* The kernel context every check prepares with: this machine's, with the blocking a test forces. */
static c1_kernel_ctx test_ctx;

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;

static int setup(void **unused)
{
    test_ctx = *c1_kernel_ctx_machine();
    nvariants = tu_family_variants("direct", variants, MAX_VARIANTS); /* fp32: test_direct16.c has the rest */
    return nvariants > 0 ? 0 : -1;
}

/* Streaming variants (p2 = 1) take only NWC shapes with whole 16-channel output blocks; the rest must apply. */
static bool is_streaming(const c1_variant *v) { return v->params[2] == 1; }

/* The variant on d within 1e-5 of max|ref| (tu_variant_error); false when a streaming variant declines d. */
static bool check(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    char text[CONV1D_DESC_TEXT_MAX], impl[160];
    conv1d_desc_format(d, text, sizeof text);
    if (c1_variant_applies(v, d) != CONV1D_OK) {
        if (is_streaming(v)) return false;
        fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
    }
    const double err = tu_variant_error_ctx(v, d, &test_ctx, rng, impl, sizeof impl);
    if (err > 1e-5) fail_msg("%s on %s: error %g of max|ref| (%s)", v->name, text, err, impl);
    return true;
}

/* Output lengths around MR and output channels around NR, both layouts, bias on and off. */
static void test_tile_edges(void **unused)
{
    uint64_t rng = 0xd1ec7ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t lens[] = {1, mr - 1, mr, mr + 1, 2 * mr + 3};
        const int64_t chans[] = {1, nr - 1, nr, nr + 1, 2 * nr - 1, 2 * nr + 1, 3 * nr};
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            for (size_t j = 0; j < sizeof chans / sizeof chans[0]; j++) {
                if (lens[i] < 1) continue;
                /* k=3, padding 1: output length = input length, with an edge row at each end. */
                conv1d_desc d = tu_base_desc(lens[i], 5, chans[j], 3);
                d.pad_left = d.pad_right = 1;
                d.has_bias = (int)((i + j) & 1);
                d.layout = (i + j) % 3 == 0 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                d.batch = 1 + (int64_t)(j % 3);
                check(v, &d, &rng);
                /* No padding: every row is interior. */
                d.pad_left = d.pad_right = 0;
                d.length = lens[i] + 2;
                check(v, &d, &rng);
            }
    }
}

/* Input channels around forced and cache-derived kc blocks, and position blocks that are not multiples of MR. */
static void test_channel_and_position_blocks(void **unused)
{
    uint64_t rng = 0xb10cull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t kcs[] = {1, 3, 4};
        for (size_t a = 0; a < sizeof kcs / sizeof kcs[0]; a++) {
            const int64_t kc = kcs[a];
            const int64_t cins[] = {kc - 1, kc, kc + 1, 2 * kc, 2 * kc + 1, 3 * kc + 2};
            for (size_t b = 0; b < sizeof cins / sizeof cins[0]; b++) {
                if (cins[b] < 1) continue;
                const int64_t obs[] = {0, 1, mr + 1}, kbcs[] = {0, 1, 2, 3};
                test_ctx.force_blocking[0] = kc;
                test_ctx.force_blocking[1] = obs[b % 3];
                test_ctx.force_blocking[2] = kbcs[(a + b) % 4];
                conv1d_desc d = tu_base_desc(2 * mr + 5, cins[b], 2 * nr + 3, 3);
                d.pad_left = 2;
                d.pad_right = 1;
                d.has_bias = (int)(b & 1);
                d.layout = b % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                check(v, &d, &rng);
                /* Grouped, so the channel blocks sit inside a group. */
                d.num_groups = 2;
                d.in_channels = 2 * cins[b];
                d.out_channels = 2 * (nr / 2 + 1);
                d.dilation = 2;
                check(v, &d, &rng);
            }
        }
        test_ctx = *c1_kernel_ctx_machine();
        /* Just over the cache-derived block (half of L2 for the weight panel), so two uneven blocks. */
        const int64_t R = 3, kc = c1_hw_cache_bytes(2) / 2 / (R * nr * (int64_t)sizeof(float));
        conv1d_desc d = tu_base_desc(mr + 2, kc + 1, nr + 1, R);
        d.pad_left = d.pad_right = 1;
        d.has_bias = 1;
        check(v, &d, &rng);
        d.layout = CONV1D_LAYOUT_NCW;
        d.batch = 2;
        check(v, &d, &rng);
    }
}

/* Short rows of many images (decode steps), where a row tile is MR images at one position (tu_short_rows_case); one
 * output position must run that way. */
static void test_batch_rows(void **unused)
{
    uint64_t rng = 0xba7c4ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        conv1d_desc d;
        int got;
        for (int q = 0; (got = tu_short_rows_case(q, v->params[0], v->params[1], &d, test_ctx.force_blocking)); q++) {
            if (got < 0) continue;
            char impl[160] = "", text[CONV1D_DESC_TEXT_MAX];
            conv1d_desc_format(&d, text, sizeof text);
            if (c1_variant_applies(v, &d) != CONV1D_OK) {
                check(v, &d, &rng); /* fails unless a streaming variant declines */
                continue;
            }
            const double err = tu_variant_error_ctx(v, &d, &test_ctx, &rng, impl, sizeof impl);
            if (err > 1e-5) fail_msg("%s on %s: error %g of max|ref| (%s)", v->name, text, err, impl);
            if (conv1d_output_length(&d) == 1 && !strstr(impl, "images at one position"))
                fail_msg("%s on %s: one output position of %lld images, but tiles of positions (%s)", v->name, text,
                         (long long)d.batch, impl);
        }
        test_ctx = *c1_kernel_ctx_machine();
    }
}

/* Stride, dilation and every padding kind, including padding wider than the kernel. */
static void test_stride_dilation_padding(void **unused)
{
    uint64_t rng = 0x57d1ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        for (int64_t stride = 1; stride <= 3; stride++)
            for (int64_t dilation = 1; dilation <= 3; dilation++)
                for (int pad = 0; pad < 5; pad++) {
                    conv1d_desc d = tu_base_desc(3 * mr + 7, 6, nr + 2, 4);
                    d.stride = stride;
                    d.dilation = dilation;
                    switch (pad) {
                    case 0: break;
                    case 1: d.pad_left = d.pad_right = 2; break;
                    case 2: d.pad_left = dilation * 3; break; /* causal */
                    case 3: d.pad_left = 1; d.pad_right = 4; break;
                    default: d.pad_left = 13; d.pad_right = 11; /* wider than the kernel's span */
                    }
                    d.has_bias = pad & 1;
                    d.batch = 1 + (stride + dilation) % 3;
                    d.layout = (stride + dilation + pad) & 1 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check(v, &d, &rng);
                }
        /* Kernel wider than the input (padding makes it fit), and a length-1 input. */
        conv1d_desc d = tu_base_desc(3, 4, nr, 7);
        d.pad_left = 4;
        d.pad_right = 5;
        check(v, &d, &rng);
        d = tu_base_desc(1, 3, nr - 1 > 0 ? nr - 1 : 1, 1);
        check(v, &d, &rng);
    }
}

/* Groups with few channels each, depthwise, and few-channel first layers. */
static void test_groups(void **unused)
{
    uint64_t rng = 0x960ull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        const int64_t mr = v->params[0], nr = v->params[1];
        for (int64_t cg = 1; cg <= 3; cg++)
            for (int64_t groups = 2; groups <= 5; groups += 3) {
                conv1d_desc d = tu_base_desc(2 * mr + 1, cg * groups, groups * (cg + 1), 3);
                d.num_groups = groups;
                d.pad_left = d.pad_right = 1;
                d.has_bias = (int)(cg & 1);
                d.layout = groups == 2 ? CONV1D_LAYOUT_NWC : CONV1D_LAYOUT_NCW;
                check(v, &d, &rng);
                /* Output channels per group above NR. */
                d.out_channels = groups * (nr + 1);
                d.stride = 2;
                check(v, &d, &rng);
            }
        for (int layout = 0; layout < 2; layout++) {
            conv1d_desc d = tu_base_desc(3 * mr + 2, 7, 7, 4); /* depthwise, causal */
            d.num_groups = 7;
            d.pad_left = 3;
            d.has_bias = 1;
            d.batch = 2;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
            d = tu_base_desc(160, 1, 2 * nr + 5, 10); /* a raw-audio first layer: one channel, k=10, stride 5 */
            d.stride = 5;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
            d = tu_base_desc(50, 3, nr, 7); /* three channels, k=7, same padding */
            d.pad_left = d.pad_right = 3;
            d.has_bias = 1;
            d.layout = (conv1d_layout)layout;
            check(v, &d, &rng);
        }
    }
}

/* The streaming variants on the shapes they take: edges, groups of 16 channels, and partial blocks mixed in. */
static void test_streaming(void **unused)
{
    uint64_t rng = 0x57eaull;
    for (size_t k = 0; k < nvariants; k++) {
        const c1_variant *v = variants[k];
        if (!is_streaming(v)) continue;
        const int64_t mr = v->params[0], nr = v->params[1];
        const int64_t chans[] = {16, nr, 2 * nr, nr + 16, 3 * nr + 16};
        for (size_t j = 0; j < sizeof chans / sizeof chans[0]; j++)
            for (int64_t len = 1; len <= 2 * mr + 3; len += mr / 2 + 1) {
                conv1d_desc d = tu_base_desc(len, 1 + (int64_t)j, chans[j], 5);
                d.pad_left = 3;
                d.pad_right = 1;
                d.has_bias = (int)(len & 1);
                d.batch = 1 + len % 2;
                assert_true(check(v, &d, &rng));
                d = tu_base_desc(5 * len + 10, 1, chans[j], 10); /* raw-audio first layer */
                d.stride = 5;
                assert_true(check(v, &d, &rng));
                d = tu_base_desc(len + 3, 6, 2 * chans[j], 3); /* two groups of 16-multiples */
                d.num_groups = 2;
                d.dilation = 2;
                d.pad_left = d.pad_right = 2;
                assert_true(check(v, &d, &rng));
            }
        conv1d_desc d = tu_base_desc(10, 4, 24, 3);
        assert_false(check(v, &d, &rng)); /* 24 output channels: not whole 16-channel blocks */
        d.out_channels = 32;
        d.layout = CONV1D_LAYOUT_NCW;
        assert_false(check(v, &d, &rng));
    }
}

typedef struct worker {
    const c1_variant *v;
    const void *state;
    const float *x;
    float *y;
    size_t ws_bytes;
    conv1d_status st;
} worker;

static void *worker_main(void *arg)
{
    worker *t = arg;
    void *ws = malloc(t->ws_bytes + 1);
    t->st = ws ? CONV1D_OK : CONV1D_OUT_OF_MEMORY;
    for (int r = 0; r < 10 && t->st == CONV1D_OK; r++) t->st = t->v->ops->run(t->state, t->x, t->y, ws);
    free(ws);
    return NULL;
}

/* Two threads run one prepared state at once, each with its own workspace and output: same bits as one. */
static void test_concurrent_runs(void **unused)
{
    uint64_t rng = 0xc0c0ull;
    for (size_t k = 0; k < nvariants; k++)
        for (int layout = 0; layout < 2; layout++) {
            const c1_variant *v = variants[k];
            conv1d_desc d = tu_base_desc(97, 24, 64, 5);
            d.pad_left = d.pad_right = 2;
            d.has_bias = 1;
            d.layout = (conv1d_layout)layout;
            if (c1_variant_applies(v, &d) != CONV1D_OK) continue;
            float *w = tu_random_floats(&rng, conv1d_weight_elems(&d));
            float *bias = tu_random_floats(&rng, d.out_channels);
            float *x = tu_random_floats(&rng, conv1d_input_elems(&d));
            void *state = NULL;
            assert_int_equal(v->ops->prepare(v, &d, NULL, w, bias, &state), CONV1D_OK);
            const int64_t ny = conv1d_output_elems(&d);
            worker t[3];
            for (int j = 0; j < 3; j++)
                t[j] = (worker){.v = v, .state = state, .x = x, .y = tu_nan_floats(ny),
                                .ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0};
            worker_main(&t[0]);
            assert_int_equal(t[0].st, CONV1D_OK);
            pthread_t tid[2];
            for (int j = 1; j < 3; j++) assert_int_equal(pthread_create(&tid[j - 1], NULL, worker_main, &t[j]), 0);
            for (int j = 1; j < 3; j++) {
                assert_int_equal(pthread_join(tid[j - 1], NULL), 0);
                assert_int_equal(t[j].st, CONV1D_OK);
                assert_memory_equal(t[j].y, t[0].y, (size_t)ny * sizeof(float));
            }
            for (int j = 0; j < 3; j++) free(t[j].y);
            v->ops->release(state);
            free(w);
            free(bias);
            free(x);
        }
}

static void test_random_descriptors(void **unused)
{
    uint64_t rng = 0xd12ec7ull;
    for (int i = 0; i < 100; i++) {
        const conv1d_desc d = tu_random_desc(&rng);
        for (size_t k = 0; k < nvariants; k++) check(variants[k], &d, &rng);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_edges),
        cmocka_unit_test(test_channel_and_position_blocks),
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_stride_dilation_padding),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_random_descriptors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
