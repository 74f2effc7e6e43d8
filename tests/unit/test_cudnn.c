/* The cuDNN peer variants. Everywhere: the registered names and their parameter points, supports() answering
 * without a device, and (without a GPU) a refusal with a sentence. With a GPU: every algorithm in both math
 * modes against the double reference on shapes covering both layouts, groups, stride, dilation, symmetric and
 * asymmetric padding and bias, where cuDNN may decline an algorithm (CONV1D_UNSUPPORTED) but never give a
 * wrong result, and IMPLICIT_GEMM or IMPLICIT_PRECOMP_GEMM runs every shape; then impl_info and the workspace
 * that asymmetric padding adds. In a build without CUDA the variants must be absent. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#include "gpu_test_util.h"
#include "variant.h"

#define ALGOS 8

static void test_registered(void **unused)
{
    size_t n, count = 0;
    const c1_variant *list = c1_variant_list(&n);
    for (size_t i = 0; i < n; i++) count += strcmp(list[i].family, "cudnn") == 0;
#ifdef C1_HAVE_CUDNN
    assert_int_equal(count, 2 * ALGOS);
#else
    assert_int_equal(count, 0);
#endif
    for (int a = 0; a < ALGOS; a++) {
        char name[32];
        for (int tf32 = 0; tf32 < 2; tf32++) {
            snprintf(name, sizeof name, tf32 ? "cudnn_tf32_algo%d" : "cudnn_algo%d", a);
            const c1_variant *v = c1_test_find(name, C1_TEST_CUDNN_BUILT);
            if (!v) continue;
            assert_string_equal(v->family, "cudnn");
            assert_int_equal(v->device, C1_DEVICE_CUDA);
            assert_int_equal(v->precision, tf32 ? C1_PREC_TF32 : C1_PREC_FP32);
            assert_int_equal(v->params[0], a);
            assert_int_equal(v->params[1], tf32);
            assert_non_null(v->ops->run_async);
            assert_non_null(v->ops->impl_info);
            assert_non_null(v->ops->workspace_bytes);
        }
    }
}

/* supports() looks at the descriptor only: it answers the same with or without a device, in any process. */
static void test_supports_is_pure(void **unused)
{
    const c1_variant *v = c1_test_find("cudnn_algo1", C1_TEST_CUDNN_BUILT);
    if (!v) skip();
    conv1d_desc d = c1_test_shape(2, 100, 16, 32, 3, 2, 2, 4, 3, 0, 1, CONV1D_LAYOUT_NCW);
    for (int i = 0; i < 3; i++) assert_int_equal(v->ops->supports(v, &d), CONV1D_OK);
    /* Beyond the int sizes of the legacy API: declined with a sentence, not truncated. */
    conv1d_desc big = c1_test_shape(1, (int64_t)1 << 31, 1, 1, 1, 1, 1, 1, 0, 0, 0, CONV1D_LAYOUT_NWC);
    assert_int_equal(v->ops->supports(v, &big), CONV1D_UNSUPPORTED);
    assert_non_null(strstr(conv1d_last_error(), "cudnn_algo1"));
    assert_non_null(strstr(conv1d_last_error(), "int"));
    big = c1_test_shape(1, 1 << 20, 1 << 12, 8, 1, 1, 1, 1, 0, 0, 0, CONV1D_LAYOUT_NCW); /* 2^32 input elements */
    assert_int_equal(v->ops->supports(v, &big), CONV1D_UNSUPPORTED);
    assert_non_null(strstr(conv1d_last_error(), "elements"));
}

/* Without a GPU the variants are listed but refuse, each with a sentence naming it. */
static void test_unavailable_without_gpu(void **unused)
{
    if (c1_test_have_gpu()) skip();
    const c1_variant *v = c1_test_find("cudnn_tf32_algo0", C1_TEST_CUDNN_BUILT);
    if (!v) skip();
    conv1d_desc d = c1_test_shape(1, 16, 4, 4, 3, 1, 1, 1, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_false(v->ops->available());
    assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
    assert_non_null(strstr(conv1d_last_error(), "cudnn_tf32_algo0"));
    float w[48];
    for (int i = 0; i < 48; i++) w[i] = 1.0f;
    void *state = (void *)&d;
    assert_int_equal(v->ops->prepare(v, &d, NULL, w, NULL, &state), CONV1D_UNSUPPORTED);
    assert_null(state);
    assert_non_null(strstr(conv1d_last_error(), "cudnn_tf32_algo0"));
    v->ops->release(NULL);
}

/* The shapes every algorithm is checked on. */
static size_t gpu_shapes(conv1d_desc *out, size_t cap)
{
    const conv1d_layout nwc = CONV1D_LAYOUT_NWC, ncw = CONV1D_LAYOUT_NCW;
    const conv1d_desc fixed[] = {
        c1_test_shape(2, 37, 16, 24, 3, 1, 1, 1, 1, 1, 1, nwc),   /* dense, symmetric padding, bias */
        c1_test_shape(2, 37, 16, 24, 3, 1, 1, 1, 1, 1, 1, ncw),
        c1_test_shape(1, 256, 64, 64, 3, 1, 1, 1, 1, 1, 0, nwc),  /* wider, longer */
        c1_test_shape(1, 256, 64, 64, 3, 1, 1, 1, 1, 1, 0, ncw),
        c1_test_shape(3, 50, 16, 32, 5, 2, 1, 4, 2, 2, 1, nwc),   /* grouped, stride 2 */
        c1_test_shape(3, 50, 16, 32, 5, 2, 1, 4, 2, 2, 1, ncw),
        c1_test_shape(2, 64, 12, 12, 3, 1, 2, 3, 2, 2, 0, nwc),   /* grouped, dilated */
        c1_test_shape(2, 64, 12, 12, 3, 1, 2, 3, 2, 2, 0, ncw),
        c1_test_shape(2, 80, 32, 32, 4, 1, 1, 32, 3, 0, 1, nwc),  /* depthwise causal (Mamba), bias */
        c1_test_shape(2, 80, 32, 32, 4, 1, 1, 32, 3, 0, 1, ncw),
        c1_test_shape(1, 61, 8, 16, 3, 3, 2, 1, 2, 1, 1, nwc),    /* stride 3, dilation 2, asymmetric padding */
        c1_test_shape(1, 61, 8, 16, 3, 3, 2, 1, 2, 1, 1, ncw),
        c1_test_shape(2, 45, 24, 40, 1, 1, 1, 1, 0, 0, 1, nwc),   /* pointwise */
        c1_test_shape(1, 9, 3, 5, 7, 1, 1, 1, 0, 3, 0, ncw),      /* kernel wider than the data, right padding only */
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && n < cap; i++) out[n++] = fixed[i];
    uint64_t rng = 0xc0d1ull;
    while (n < cap) out[n++] = tu_random_desc(&rng);
    return n;
}

static void test_every_algorithm_on_gpu(void **unused)
{
    if (!c1_test_have_gpu()) skip();
    conv1d_desc shapes[24];
    const size_t ns = gpu_shapes(shapes, sizeof shapes / sizeof shapes[0]);
    for (size_t s = 0; s < ns; s++) {
        char text[CONV1D_DESC_TEXT_MAX];
        conv1d_desc_format(&shapes[s], text, sizeof text);
        bool basic_ran = false;
        for (int tf32 = 0; tf32 < 2; tf32++)
            for (int a = 0; a < ALGOS; a++) {
                char name[32];
                snprintf(name, sizeof name, tf32 ? "cudnn_tf32_algo%d" : "cudnn_algo%d", a);
                const c1_variant *v = c1_test_find(name, C1_TEST_CUDNN_BUILT);
                c1_error err;
                const conv1d_status st = c1_test_gpu_check(v, &shapes[s], 0x5eedull + s, &err);
                if (st == CONV1D_UNSUPPORTED) {
                    if (strlen(conv1d_last_error()) < 10) fail_msg("%s on %s: UNSUPPORTED without a sentence", name,
                                                                   text);
                    continue;
                }
                if (st != CONV1D_OK) fail_msg("%s on %s: %s", name, text, conv1d_last_error());
                if (!tf32 && a <= 1) basic_ran = true;
            }
        if (!basic_ran) fail_msg("neither cudnn_algo0 nor cudnn_algo1 runs %s", text);
    }
}

/* impl_info names the version, algorithm and math; asymmetric padding adds the padded input to the workspace. */
static void test_impl_info_and_workspace_on_gpu(void **unused)
{
    if (!c1_test_have_gpu()) skip();
    const c1_variant *v = c1_test_find("cudnn_algo1", C1_TEST_CUDNN_BUILT), *t = c1_test_find("cudnn_tf32_algo1", C1_TEST_CUDNN_BUILT);
    const conv1d_desc sym = c1_test_shape(2, 64, 16, 16, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NWC);
    const conv1d_desc causal = c1_test_shape(2, 64, 16, 16, 3, 1, 1, 1, 2, 0, 1, CONV1D_LAYOUT_NWC);
    uint64_t rng = 7;
    float *w = tu_random_floats(&rng, conv1d_weight_elems(&sym)), *b = tu_random_floats(&rng, 16);
    void *s1 = NULL, *s2 = NULL, *s3 = NULL;
    if (v->ops->prepare(v, &sym, NULL, w, b, &s1) != CONV1D_OK) fail_msg("%s", conv1d_last_error());
    if (v->ops->prepare(v, &causal, NULL, w, b, &s2) != CONV1D_OK) fail_msg("%s", conv1d_last_error());
    if (t->ops->prepare(t, &sym, NULL, w, b, &s3) != CONV1D_OK) fail_msg("%s", conv1d_last_error());
    const char *info = v->ops->impl_info(s1);
    assert_true(strncmp(info, "cuDNN 9.", 8) == 0);
    assert_non_null(strstr(info, "IMPLICIT_PRECOMP_GEMM fma"));
    assert_null(strstr(info, "padded"));
    assert_non_null(strstr(v->ops->impl_info(s2), "zero-padded"));
    assert_non_null(strstr(t->ops->impl_info(s3), "IMPLICIT_PRECOMP_GEMM tf32"));
    /* The padded input (2 x 66 x 16 floats) comes on top of cuDNN's own workspace. */
    assert_true(v->ops->workspace_bytes(s2) >= v->ops->workspace_bytes(s1) + 2 * 66 * 16 * sizeof(float));
    v->ops->release(s1);
    v->ops->release(s2);
    t->ops->release(s3);
    free(w);
    free(b);
}

int main(void)
{
    c1_test_say_gpu_skips("test_cudnn");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered),
        cmocka_unit_test(test_supports_is_pure),
        cmocka_unit_test(test_unavailable_without_gpu),
        cmocka_unit_test(test_every_algorithm_on_gpu),
        cmocka_unit_test(test_impl_info_and_workspace_on_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
