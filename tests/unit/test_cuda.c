/* The hand-written CUDA variants (cuda_tiled_*, cuda_smem_*, cuda_dw* in fp32, bf16 and f16, cuda_tc_*: TF32, bf16
 * and f16). Everywhere:
 * the registered names, precision classes and parameter points, each variant taking only its class's dtype, unavailability with a sentence on a machine without a device, supports() answering on
 * dense, depthwise and impossible shapes without touching CUDA, prepare answering a status. With a GPU: every
 * variant against the double reference on shapes around its tile sizes (1, tile-1, tile, tile+1, odd primes,
 * in positions, output and input channels), on random descriptors (stride, dilation, asymmetric and causal
 * padding, groups from dense to depthwise, bias, both layouts), on tensors of more than 2^31 elements, and
 * through run_async on a user stream with an x that is not 16-byte aligned (the scalar fallback). The 16-bit
 * variants run every one of these in their own dtype and pass the harness's 16-bit check (one rounding of an
 * fp32 accumulation). In a build without CUDA the variants must be absent and the GPU tests are skipped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "gpu_test_util.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

static const char *const names[] = {
    "cuda_tiled_64x64",    "cuda_tiled_32x64",    "cuda_tiled_64x32",   "cuda_tiled_32x32",
    "cuda_tiled_128x64",   "cuda_smem_64x64",     "cuda_smem_128x64",   "cuda_smem_64x128",
    "cuda_smem_128x128",   "cuda_smem_64x64_db",  "cuda_smem_128x64_db", "cuda_smem_64x128_db",
    "cuda_smem_128x128_db", "cuda_dw",            "cuda_dw_run8",       "cuda_dw_run32",
    "cuda_tc_128x128",     "cuda_tc_128x64",      "cuda_tc_64x64",     "cuda_tc_bf16_128x128",
    "cuda_tc_bf16_128x64", "cuda_tc_bf16_64x64",  "cuda_tc_f16_128x128", "cuda_tc_f16_128x64",
    "cuda_tc_f16_64x64",   "cuda_dw_bf16",        "cuda_dw_bf16_run8",  "cuda_dw_bf16_run32",
    "cuda_dw_f16",         "cuda_dw_f16_run8",    "cuda_dw_f16_run32",
};
#define NNAMES (sizeof names / sizeof names[0])

static bool is_dw(const c1_variant *v) { return strcmp(v->family, "cuda_depthwise") == 0; }

/* The class a name says: cuda_tc_bf16_* and cuda_dw_bf16* bf16, cuda_tc_f16_* and cuda_dw_f16* f16, the other
 * cuda_tc_* tf32, the rest fp32. */
static c1_precision class_of_name(const char *name)
{
    if (strncmp(name, "cuda_tc_bf16_", 13) == 0 || strncmp(name, "cuda_dw_bf16", 12) == 0) return C1_PREC_BF16;
    if (strncmp(name, "cuda_tc_f16_", 12) == 0 || strncmp(name, "cuda_dw_f16", 11) == 0) return C1_PREC_F16;
    return strncmp(name, "cuda_tc_", 8) == 0 ? C1_PREC_TF32 : C1_PREC_FP32;
}

/* Checks v on d, in the dtype of v's class, on the device (x x_offset elements off its allocation's start,
 * on `stream` when not NULL) and fails the test with the sentence when the result is wrong. */
static void expect_ok_ex(const c1_variant *v, const conv1d_desc *d0, uint64_t seed, int x_offset, void *stream)
{
    c1_error e;
    const conv1d_desc dd = c1_test_for_class(*d0, v->precision), *d = &dd;
    const conv1d_status st = c1_test_gpu_check_ex(v, d, seed, x_offset, stream, &e);
    if (st != CONV1D_OK) {
        char text[256];
        conv1d_desc_format(d, text, sizeof text);
        fail_msg("%s on %s: %s: %s", v->name, text, conv1d_status_string(st), conv1d_last_error());
    }
}

static void expect_ok(const c1_variant *v, const conv1d_desc *d, uint64_t seed) { expect_ok_ex(v, d, seed, 0, NULL); }

/* --- without a device --------------------------------------------------------------------------------- */

static void test_registered(void **unused)
{
    (void)unused;
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        if (!v) continue;
        assert_int_equal(v->device, C1_DEVICE_CUDA);
        assert_int_equal(v->precision, class_of_name(v->name));
        assert_true(strncmp(v->family, "cuda_", 5) == 0);
        assert_non_null(v->ops->available);
        assert_non_null(v->ops->run_async);
        assert_non_null(v->ops->impl_info);
        assert_true(v->params[0] > 0);
    }
    /* and nothing else of these families is registered under another name */
    size_t count;
    const c1_variant *list = c1_variant_list(&count);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(list[i].family, "cuda_tiled") != 0 && strcmp(list[i].family, "cuda_smem") != 0 &&
            strcmp(list[i].family, "cuda_depthwise") != 0 && strcmp(list[i].family, "cuda_tc") != 0)
            continue;
        bool known = false;
        for (size_t j = 0; j < NNAMES; j++) known = known || strcmp(list[i].name, names[j]) == 0;
        if (!known) fail_msg("unexpected variant %s", list[i].name);
    }
}

/* supports() is pure: dense shapes go to the dense families, depthwise shapes to every family, and the
 * impossible ones are refused with a sentence that names the variant. */
static void test_supports(void **unused)
{
    (void)unused;
    const conv1d_desc dense0 = c1_test_shape(2, 100, 16, 32, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NWC);
    const conv1d_desc grouped0 = c1_test_shape(1, 33, 12, 8, 5, 2, 3, 4, 4, 0, 0, CONV1D_LAYOUT_NCW);
    const conv1d_desc dw0 = c1_test_shape(1, 4096, 1536, 1536, 4, 1, 1, 1536, 3, 0, 1, CONV1D_LAYOUT_NWC);
    const conv1d_desc dw_ncw0 = c1_test_shape(3, 17, 7, 7, 9, 3, 2, 7, 5, 6, 1, CONV1D_LAYOUT_NCW);
    /* a window of (64-1)*1 + 500*100 + 1 positions: more shared memory than a block can have */
    const conv1d_desc huge_window0 = c1_test_shape(1, 60000, 4, 4, 501, 1, 100, 1, 0, 0, 0, CONV1D_LAYOUT_NCW);
    const conv1d_desc huge_dw_ncw0 = c1_test_shape(1, 60000, 4, 4, 501, 1, 100, 4, 0, 0, 0, CONV1D_LAYOUT_NCW);
    const conv1d_desc huge_dw_nwc0 = c1_test_shape(1, 60000, 4, 4, 501, 1, 100, 4, 0, 0, 0, CONV1D_LAYOUT_NWC);
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        if (!v) continue;
        const c1_precision p = v->precision;
        const conv1d_desc dense = c1_test_for_class(dense0, p), grouped = c1_test_for_class(grouped0, p);
        const conv1d_desc dw = c1_test_for_class(dw0, p), dw_ncw = c1_test_for_class(dw_ncw0, p);
        const conv1d_desc huge_window = c1_test_for_class(huge_window0, p);
        const conv1d_desc huge_dw_ncw = c1_test_for_class(huge_dw_ncw0, p), huge_dw_nwc = c1_test_for_class(huge_dw_nwc0, p);
        assert_int_equal(v->ops->supports(v, &dw), CONV1D_OK);
        assert_int_equal(v->ops->supports(v, &dw_ncw), CONV1D_OK);
        /* another class's dtype is refused with a sentence that names the variant */
        const conv1d_desc other = c1_test_for_class(dense0, p == C1_PREC_BF16 ? C1_PREC_F16 : C1_PREC_BF16);
        assert_int_equal(v->ops->supports(v, &other), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), v->name));
        if (p == C1_PREC_BF16 || p == C1_PREC_F16) {
            assert_int_equal(v->ops->supports(v, &dense0), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "dtype"));
        }
        if (is_dw(v)) {
            assert_int_equal(v->ops->supports(v, &dense), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "depthwise"));
            assert_non_null(strstr(conv1d_last_error(), v->name));
            assert_int_equal(v->ops->supports(v, &grouped), CONV1D_UNSUPPORTED);
            assert_int_equal(v->ops->supports(v, &huge_dw_ncw), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "shared memory"));
            assert_int_equal(v->ops->supports(v, &huge_dw_nwc), CONV1D_OK); /* taps from global memory */
        } else {
            assert_int_equal(v->ops->supports(v, &dense), CONV1D_OK);
            assert_int_equal(v->ops->supports(v, &grouped), CONV1D_OK);
            const conv1d_status st = v->ops->supports(v, &huge_window);
            if (strcmp(v->family, "cuda_smem") == 0) {
                assert_int_equal(st, CONV1D_UNSUPPORTED);
                assert_non_null(strstr(conv1d_last_error(), "shared memory"));
            } else {
                assert_int_equal(st, CONV1D_OK);
            }
        }
    }
}

/* Without a device every variant is unavailable with a sentence and prepare answers a status. */
static void test_unavailable(void **unused)
{
    (void)unused;
    if (c1_test_have_gpu()) skip();
    const conv1d_desc d0 = c1_test_shape(1, 10, 4, 4, 3, 1, 1, 4, 1, 1, 1, CONV1D_LAYOUT_NWC);
    float w32[4 * 3], b32[4];
    uint16_t w16[4 * 3], b16[4];
    for (int i = 0; i < 12; i++) w32[i] = 0.25f * (float)(i + 1), w16[i] = c1_f32_to_bf16(w32[i]);
    for (int i = 0; i < 4; i++) b32[i] = 1.0f, b16[i] = c1_f32_to_bf16(1.0f);
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        if (!v) continue;
        const conv1d_desc d = c1_test_for_class(d0, v->precision);
        const void *w = d.dtype == CONV1D_F32 ? (const void *)w32 : (const void *)w16;
        const void *b = d.dtype == CONV1D_F32 ? (const void *)b32 : (const void *)b16;
        if (!v->ops->available()) {
            assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
            assert_true(strlen(conv1d_last_error()) > 10);
        }
        void *state = (void *)&d;
        const conv1d_status st = v->ops->prepare(v, &d, NULL, w, b, &state);
        assert_int_not_equal(st, CONV1D_OK);
        assert_null(state);
        assert_true(strlen(conv1d_last_error()) > 10);
    }
}

/* --- with a device ------------------------------------------------------------------------------------ */

/* Lengths and channel counts around each variant's tile sizes. Dense variants: output positions around BM
 * (stride 1, kernel 3, "same" padding, so outputs == length), output channels of a group around BN, input
 * channels of a group around the 16-channel stage; both layouts alternate. Depthwise: channels around the
 * vector width and lengths around the run and the channels-first block. */
static void test_tiling_edges(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
    uint64_t seed = 1;
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        const int64_t p0 = v->params[0], p1 = v->params[1];
        if (is_dw(v)) {
            const int64_t chans[] = {1, 3, 4, 5, 8, 31, 127, 128, 129};
            const int64_t lens[] = {1, p0 - 1, p0, p0 + 1, 67, 64 * p0 - 1, 64 * p0 + 1};
            for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
                for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                    const conv1d_layout lay = (c + l) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    const int64_t k = (int64_t)(c % 4) + 2; /* 2..5: the register windows */
                    const conv1d_desc d =
                        c1_test_shape(2, lens[l], chans[c], chans[c], k, 1, 1, chans[c], k - 1, 0, (int)(l % 2), lay);
                    expect_ok(v, &d, seed++);
                }
            continue;
        }
        const int64_t lens[] = {1, p0 - 1, p0, p0 + 1, 2 * p0 + 3};
        const int64_t kgs[] = {1, p1 - 1, p1, p1 + 1, 31};
        /* around the smem stage (16), the tc pieces (4, 8) and the 16-bit tc iteration (64) */
        const int64_t cgs[] = {1, 7, 8, 15, 16, 17, 33, 64, 65};
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (size_t k = 0; k < sizeof kgs / sizeof kgs[0]; k++) {
                const conv1d_layout lay = (l + k) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                const conv1d_desc d = c1_test_shape(2, lens[l], 5, kgs[k], 3, 1, 1, 1, 1, 1, (int)(k % 2), lay);
                expect_ok(v, &d, seed++);
            }
        for (size_t c = 0; c < sizeof cgs / sizeof cgs[0]; c++)
            for (int lay = 0; lay < 2; lay++) {
                /* channel counts that are multiples of 4 (NWC) take the 16-byte copies of the smem family */
                const conv1d_desc d = c1_test_shape(1, p0 + 1, 2 * cgs[c], 2 * p1, 4, 1, 1, 2, 3, 0, 1,
                                            lay ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC);
                expect_ok(v, &d, seed++);
            }
        /* stride and dilation widen the window; odd primes everywhere */
        const conv1d_desc sd = c1_test_shape(3, 2 * p0 + 13, 13, 67, 7, 3, 2, 1, 5, 2, 1, CONV1D_LAYOUT_NWC);
        expect_ok(v, &sd, seed++);
        const conv1d_desc sd2 = c1_test_shape(3, 2 * p0 + 13, 13, 67, 7, 2, 3, 1, 0, 6, 0, CONV1D_LAYOUT_NCW);
        expect_ok(v, &sd2, seed++);
    }
}

/* Random descriptors from test_util.h (every field) for the dense families, random depthwise ones (kernel up
 * to 33, stride and dilation up to 3, any padding) for all. */
static void test_random(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
    uint64_t s = 0x5eed;
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        int done = 0;
        while (done < 30) {
            const conv1d_desc d = c1_test_for_class(tu_random_desc(&s), v->precision);
            if (v->ops->supports(v, &d) != CONV1D_OK) continue;
            expect_ok(v, &d, tu_next(&s));
            done++;
        }
        for (int j = 0; j < 20; j++) {
            const int64_t c = tu_range(&s, 1, 70), k = tu_range(&s, 1, j % 4 ? 9 : 33);
            const int64_t stride = tu_range(&s, 1, 3), dil = tu_range(&s, 1, 3);
            int64_t pl = tu_range(&s, 0, 8), pr = tu_range(&s, 0, 8);
            if (j % 3 == 0) pl = dil * (k - 1), pr = 0; /* causal */
            const int64_t len = tu_range(&s, 1, 300) + dil * (k - 1);
            const conv1d_desc d = c1_test_shape(tu_range(&s, 1, 3), len, c, c, k, stride, dil, c, pl, pr, j % 2,
                                        tu_range(&s, 0, 1) ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC);
            expect_ok(v, &d, tu_next(&s));
        }
    }
}

/* The host memory available now (MemAvailable), in bytes; -1 when /proc/meminfo does not say. */
static double host_available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* Host bytes one c1_test_gpu_check of d holds at once: x, w, bias, y (floats) and the double reference. */
static double check_host_bytes(const conv1d_desc *d)
{
    return 4.0 * (double)(conv1d_input_elems(d) + conv1d_weight_elems(d) + d->out_channels) +
           12.0 * (double)conv1d_output_elems(d);
}

/* Tensors of more than 2^31 elements: every offset needs 64 bits. Each check holds about 35 GB of host
 * memory (the double reference alone is 17 GB); without that much available the test says so and skips,
 * and CONV1D_GPU_TEST_BIG=0 (make gpu-check, on a short lease) skips it as well. */
static void test_big_index(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
    const char *big = getenv("CONV1D_GPU_TEST_BIG");
    if (big && strcmp(big, "0") == 0) {
        fprintf(stderr, "test_big_index: skipped: CONV1D_GPU_TEST_BIG=0 (it needs about 35 GB of host memory and a "
                        "minute)\n");
        skip();
    }
    const conv1d_desc dw = c1_test_shape(1, (1 << 19) + 3, 4100, 4100, 4, 1, 1, 4100, 3, 0, 1, CONV1D_LAYOUT_NWC);
    const conv1d_desc dense = c1_test_shape(2, (1 << 30) + 5, 1, 1, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NCW);
    const double need = fmax(check_host_bytes(&dw), check_host_bytes(&dense)), have = host_available_bytes();
    if (have >= 0 && have < need * 1.1) {
        fprintf(stderr, "test_big_index: skipped: needs %.1f GB of host memory, %.1f GB available\n", need * 1.1 / 1e9,
                have / 1e9);
        skip();
    }
    expect_ok(c1_test_find("cuda_dw", C1_TEST_CUDA_BUILT), &dw, 11);
    expect_ok(c1_test_find("cuda_tiled_32x32", C1_TEST_CUDA_BUILT), &dense, 12);
}

/* Two plans of one kernel with different shared-memory needs above 48 KiB in one process (the wav2vec2
 * positional conv, about 134 KB, then a k = 14 layer, about 124 KB): each plan's launches keep working whatever the other
 * set up. The limit used to follow the last prepared plan, so the first one's next launch failed. The tensor-core
 * tiles of every element type share the one opt-in. */
static void test_two_plans_shared_memory(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
#ifdef C1_HAVE_CUDA
    const conv1d_desc big0 = c1_test_shape(2, 120, 768, 768, 128, 1, 1, 16, 64, 64, 1, CONV1D_LAYOUT_NWC);
    /* k = 14: 16 channels per stage would need 247 KB, so the plan takes 8 and 124 KB */
    const conv1d_desc small0 = c1_test_shape(2, 300, 64, 64, 14, 1, 1, 1, 7, 6, 1, CONV1D_LAYOUT_NWC);
    const char *const tiles[] = {"cuda_smem_128x128_db", "cuda_tc_128x128", "cuda_tc_bf16_128x128", "cuda_tc_f16_64x64"};
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        const c1_variant *v = c1_test_find(tiles[i], C1_TEST_CUDA_BUILT);
        uint64_t s = 5;
        const conv1d_desc ds[2] = {c1_test_for_class(big0, v->precision), c1_test_for_class(small0, v->precision)};
        const size_t es = conv1d_dtype_size(ds[0].dtype);
        void *x[2], *w[2], *b[2], *dx[2], *dy[2];
        void *state[2];
        for (int j = 0; j < 2; j++) {
            const int64_t nx = conv1d_input_elems(&ds[j]), nw = conv1d_weight_elems(&ds[j]), nb = ds[j].out_channels;
            /* random values as the dtype's elements: fp32 as they are, 16-bit rounded to bf16 bits (also valid
             * f16 numbers of similar size: the test asks only that every launch succeeds) */
            float *f = tu_random_floats(&s, nx + nw + nb);
            char *e = malloc((size_t)(nx + nw + nb) * es);
            for (int64_t k = 0; k < nx + nw + nb; k++) {
                const uint16_t h = ds[j].dtype == CONV1D_F16 ? c1_f32_to_f16(f[k]) : c1_f32_to_bf16(f[k]);
                if (es == 4)
                    memcpy(e + k * 4, &f[k], 4);
                else
                    memcpy(e + k * 2, &h, 2);
            }
            free(f);
            x[j] = e, w[j] = e + (size_t)nx * es, b[j] = e + (size_t)(nx + nw) * es;
            assert_int_equal(cudaMalloc(&dx[j], (size_t)nx * es), cudaSuccess);
            assert_int_equal(cudaMalloc(&dy[j], (size_t)conv1d_output_elems(&ds[j]) * es), cudaSuccess);
            assert_int_equal(cudaMemcpy(dx[j], x[j], (size_t)nx * es, cudaMemcpyHostToDevice), cudaSuccess);
            const conv1d_status st = v->ops->prepare(v, &ds[j], NULL, w[j], b[j], &state[j]);
            if (st != CONV1D_OK) fail_msg("%s: %s", v->name, conv1d_last_error());
        }
        for (int round = 0; round < 2; round++)
            for (int j = 0; j < 2; j++) {
                const conv1d_status st = v->ops->run(state[j], dx[j], dy[j], NULL);
                if (st != CONV1D_OK) fail_msg("%s, plan %d, round %d: %s", v->name, j, round, conv1d_last_error());
            }
        for (int j = 0; j < 2; j++) {
            v->ops->release(state[j]);
            cudaFree(dx[j]), cudaFree(dy[j]);
            free(x[j]);
        }
    }
#endif
}

/* run_async on a user stream with x one element past a 16-byte boundary: the channels-last kernels must fall
 * back to narrower loads, and the result arrive once the stream is synchronised. */
static void test_stream_and_alignment(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
#ifdef C1_HAVE_CUDA
    cudaStream_t stream;
    assert_int_equal(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    const conv1d_desc dense = c1_test_shape(2, 300, 32, 64, 4, 1, 1, 1, 3, 0, 1, CONV1D_LAYOUT_NWC);
    const conv1d_desc dw = c1_test_shape(2, 300, 64, 64, 4, 1, 1, 64, 3, 0, 1, CONV1D_LAYOUT_NWC);
    for (size_t i = 0; i < NNAMES; i++) {
        const c1_variant *v = c1_test_find(names[i], C1_TEST_CUDA_BUILT);
        expect_ok_ex(v, is_dw(v) ? &dw : &dense, 77, 1, stream);
    }
    assert_int_equal(cudaStreamDestroy(stream), cudaSuccess);
#endif
}

/* An impossible request is refused by prepare with the variant's sentence, on the device as well. */
static void test_impossible(void **unused)
{
    (void)unused;
    if (!c1_test_have_gpu()) skip();
    const conv1d_desc dense = c1_test_shape(1, 50, 8, 8, 3, 1, 1, 1, 0, 0, 0, CONV1D_LAYOUT_NWC);
    const conv1d_desc huge = c1_test_shape(1, 60000, 4, 4, 501, 1, 100, 1, 0, 0, 0, CONV1D_LAYOUT_NCW);
    float *w = calloc(4 * 4 * 501, sizeof *w);
    assert_non_null(w);
    void *state = NULL;
    const c1_variant *dw = c1_test_find("cuda_dw", C1_TEST_CUDA_BUILT);
    assert_int_equal(dw->ops->prepare(dw, &dense, NULL, w, NULL, &state), CONV1D_UNSUPPORTED);
    assert_null(state);
    assert_non_null(strstr(conv1d_last_error(), "depthwise"));
    const c1_variant *sm = c1_test_find("cuda_smem_128x128_db", C1_TEST_CUDA_BUILT);
    assert_int_equal(sm->ops->prepare(sm, &huge, NULL, w, NULL, &state), CONV1D_UNSUPPORTED);
    assert_null(state);
    assert_non_null(strstr(conv1d_last_error(), "shared memory"));
    free(w);
}

int main(void)
{
    c1_test_say_gpu_skips("test_cuda");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered),   cmocka_unit_test(test_supports),
        cmocka_unit_test(test_unavailable),  cmocka_unit_test(test_tiling_edges),
        cmocka_unit_test(test_random),       cmocka_unit_test(test_big_index),
        cmocka_unit_test(test_stream_and_alignment), cmocka_unit_test(test_impossible),
        cmocka_unit_test(test_two_plans_shared_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
