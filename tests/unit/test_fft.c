/* The FFT family: the transform sizes it picks, then every registered fft variant this machine can run on cases
 * derived from its block (output lengths around the B = N - J + 1 outputs of a block, kernels around half the
 * block), every field (stride, dilation, asymmetric and causal padding, groups from dense to depthwise and a
 * channel multiplier, bias, batch, both layouts), forced blockings and random descriptors, against the double
 * reference; the error against kernel size up to 64K taps against the estimate that decides where the family
 * applies; one state run from several threads; and the wisdom cache: a missing, corrupt, truncated, foreign or
 * unwritable wisdom file never fails a plan. Most cases plan with FFTW_ESTIMATE (test_ctx.fft_estimate) so the test
 * takes seconds; the wisdom cases plan with FFTW_MEASURE. */
#include <fftw3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basics.h"
#include "test_util.h"
#include "variant_check.h"

#include "fft.h"
#include "isa.h"
#include "variant.h"

#define MAX_VARIANTS 32

/* The kernel context every check prepares with: this machine's, with the blocking a test forces. */
static c1_kernel_ctx test_ctx;

static const c1_variant *variants[MAX_VARIANTS];
static size_t nvariants;
static char tmpdir[256];

static int setup(void **unused)
{
    test_ctx = *c1_kernel_ctx_machine();
    nvariants = tu_family_variants("fft", variants, MAX_VARIANTS);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/conv1d-test-fft-%ld", (long)getpid());
    if (mkdir(tmpdir, 0700) != 0) return -1;
    setenv("CONV1D_FFTW_WISDOM", "off", 1);
    test_ctx.fft_estimate = true;
    return 0; /* no fft variant below AVX2: the tests that need one skip */
}

static int teardown(void **unused)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void describe(const conv1d_desc *d, char *text) { conv1d_desc_format(d, text, CONV1D_DESC_TEXT_MAX); }

/* Runs v on d when it applies (else returns -1); fails above the fp32 class's rel_max threshold. */
static double check(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    if (c1_variant_applies(v, d) != CONV1D_OK) return -1;
    const double err = tu_variant_error_ctx(v, d, &test_ctx, rng, NULL, 0);
    if (err > 1e-5) {
        char text[CONV1D_DESC_TEXT_MAX];
        describe(d, text);
        fail_msg("%s on %s: error %g of max|ref|", v->name, text, err);
    }
    return err;
}

/* Like check(), but the variant must apply. */
static void check_applies(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    if (c1_variant_applies(v, d) != CONV1D_OK) {
        char text[CONV1D_DESC_TEXT_MAX];
        describe(d, text);
        fail_msg("%s does not apply to %s: %s", v->name, text, conv1d_last_error());
    }
    check(v, d, rng);
}

/* The whole-sequence size: the smallest 2^a, 3 2^a, 5 2^a or 9 2^a >= span with a >= 1. */
static bool good_size_form(int64_t n)
{
    if (n % 2) return false;
    while (n % 2 == 0) n /= 2;
    return n == 1 || n == 3 || n == 5 || n == 9;
}

static void test_good_size(void **unused)
{
    for (int64_t span = 1; span <= 5000; span++) {
        const int64_t n = c1_fft_good_size(span);
        assert_true(n >= span && good_size_form(n));
        for (int64_t k = span; k < n; k++) /* nothing smaller qualifies */
            if (good_size_form(k))
                fail_msg("span %lld: %lld chosen, %lld is smaller", (long long)span, (long long)n, (long long)k);
    }
    assert_int_equal(c1_fft_good_size(4013), 4096); /* not 4050 = 2 3^4 5^2: Hyena's 1966 samples, 2048 taps */
    assert_int_equal(c1_fft_good_size(16385), 18432);
    assert_int_equal(c1_fft_good_size(1 << 20), 1 << 20);
}

/* Output lengths around multiples of the block's B outputs, kernels from the shortest taken to half the block,
 * channel counts around the 16-channel gather and write blocks, both layouts, bias on and off. */
static void test_block_edges(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0xb10cull;
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        const int64_t N = v->params[0];
        if (N == 0) continue;
        const int64_t kernels[] = {8, 37, N / 2 - 1, N / 2};
        for (size_t a = 0; a < sizeof kernels / sizeof kernels[0]; a++) {
            const int64_t J = kernels[a], B = N - J + 1;
            const int64_t outs[] = {N / 2 - J + 2, B - 1, B, B + 1, 2 * B, 2 * B + 1};
            /* channels around the 16-channel blocks on short kernels; the reference's time stays small */
            const int64_t chans[] = {1, J < 64 ? 17 : 2};
            for (size_t b = 0; b < sizeof outs / sizeof outs[0]; b++)
                for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++) {
                    if (outs[b] < 1) continue;
                    conv1d_desc d = tu_base_desc(outs[b] + J - 1, chans[c], chans[c] + 2 * (int64_t)c, J);
                    d.has_bias = (int)((a + b) & 1);
                    d.layout = (a + b + c) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                    check_applies(v, &d, &rng);
                }
        }
    }
}

/* A kernel size whose sub-kernel spans about N/4 positions at this stride and dilation. */
static int64_t max_r(int64_t N, int64_t stride, int64_t dilation) { return (N / 4 - 1) * stride / dilation + 1; }

/* Every field on every variant where it applies, each way of padding, on short sequences of a few blocks. */
static void test_fields(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0xf1e1dull;
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        /* the fields are handled by code every block size shares: the smallest blocks and the whole-sequence
         * variants cover it, at a reference cost of seconds */
        if (v->params[0] > 256) continue;
        const int64_t N = v->params[0] ? v->params[0] : 256;
        int ran = 0;
        for (int64_t stride = 1; stride <= 3; stride++)
            for (int64_t dilation = 1; dilation <= 3; dilation += 2)
                for (int pad = 0; pad < 5; pad++)
                    for (int groups = 0; groups < 4; groups++) {
                        /* a kernel of about N/4 sub-signal taps, a sequence of about 2.5 blocks */
                        const int64_t R = max_r(N, stride, dilation);
                        conv1d_desc d = tu_base_desc(N * 5 / 4 * stride, 4, 6, R);
                        d.stride = stride;
                        d.dilation = dilation;
                        switch (groups) {
                        case 0: break;
                        case 1: d.in_channels = 6; d.num_groups = 2; break; /* 3 -> 3 a group */
                        case 2: d.in_channels = d.out_channels = d.num_groups = 19; break; /* depthwise */
                        case 3: d.in_channels = d.num_groups = 5; d.out_channels = 10; break; /* multiplier 2 */
                        }
                        const int64_t span = dilation * (R - 1);
                        switch (pad) {
                        case 0: break;
                        case 1: d.pad_left = d.pad_right = span / 2; break;             /* "same" */
                        case 2: d.pad_left = span; break;                                /* causal */
                        case 3: d.pad_left = 3; d.pad_right = span + 7; break;           /* asymmetric */
                        case 4: d.pad_left = span + stride * 3 + 1; d.pad_right = 1; break; /* first outputs all padding */
                        }
                        d.has_bias = (pad + groups) & 1;
                        d.layout = (pad + groups + stride) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                        d.batch = 1 + (pad + stride) % 3;
                        if (conv1d_desc_validate(&d) != CONV1D_OK) continue;
                        if (check(v, &d, &rng) >= 0) ran++;
                    }
        print_message("%-24s %d field cases\n", v->name, ran);
        assert_true(ran > 0);
    }
}

/* Forced blockings: one row a task, rows split across tasks, a group's output channels in several parts. */
static void test_forced_blocking(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0xb10c4ull;
    const int64_t forced[][2] = {{1, 1}, {2, 3}, {3, 2}, {16, 4}};
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        if (v->params[0] > 256) continue; /* the blocking is the same code for every block size */
        const int64_t N = v->params[0] ? v->params[0] : 256;
        for (size_t f = 0; f < sizeof forced / sizeof forced[0]; f++) {
            test_ctx.force_blocking[0] = forced[f][0], test_ctx.force_blocking[1] = forced[f][1];
            conv1d_desc d = tu_base_desc(N * 3, 12, 40, N / 4);
            d.batch = 3;
            d.num_groups = 2;
            d.pad_left = d.pad_right = N / 8;
            d.has_bias = 1;
            d.layout = f % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
            check(v, &d, &rng);
            d.num_groups = 1;
            d.layout = f % 2 ? CONV1D_LAYOUT_NWC : CONV1D_LAYOUT_NCW;
            check(v, &d, &rng);
        }
        test_ctx.force_blocking[0] = test_ctx.force_blocking[1] = 0;
    }
}

/* Random descriptors with long enough kernels, everything else random. */
static void test_random_descriptors(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0x7a2d0ull;
    int ran = 0;
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        for (int t = 0; t < 30; t++) {
            conv1d_desc d = tu_random_desc(&rng);
            d.kernel_size = tu_range(&rng, 8, 200);
            d.length = tu_range(&rng, 1, 1500) + d.dilation * (d.kernel_size - 1);
            if (conv1d_desc_validate(&d) != CONV1D_OK) continue;
            if (check(v, &d, &rng) >= 0) ran++;
        }
    }
    print_message("%d random descriptors ran\n", ran);
    assert_true(ran > 0);
}

/* Error against the double reference for kernels as long as the sequence (Hyena's causal k = L), 1K to 64K
 * taps, and for a wide grouped layer: within the estimate that decides where the family applies. */
static void test_error_growth(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0xe770ull;
    const c1_variant *whole = NULL;
    for (size_t i = 0; i < nvariants && !whole; i++)
        if (variants[i]->params[0] == 0) whole = variants[i];
    assert_non_null(whole);
    for (int64_t k = 1024; k <= 65536; k *= 4) {
        conv1d_desc d = tu_base_desc(k, 1, 1, k);
        d.pad_left = k - 1;
        const double err = check(whole, &d, &rng), est = c1_fft_error_estimate(c1_fft_good_size(2 * k - 1), 1);
        print_message("%-24s depthwise k = L = %6lld: error %.2g of max|ref| (estimate %.2g)\n", whole->name,
                      (long long)k, err, est);
        if (err > est) fail_msg("measured error %g exceeds the estimate %g", err, est);
    }
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        const int64_t N = v->params[0] ? v->params[0] : 640;
        conv1d_desc d = tu_base_desc(499, 768, 96, 128); /* wav2vec2's positional conv, two of its 16 groups */
        d.in_channels = 96;
        d.num_groups = 2;
        d.pad_left = d.pad_right = 64;
        const double err = check(v, &d, &rng), est = c1_fft_error_estimate(N, 48);
        if (err < 0) continue;
        print_message("%-24s 48 channels a group, k 128: error %.2g of max|ref| (estimate %.2g)\n", v->name, err, est);
        if (err > est) fail_msg("%s: measured error %g exceeds the estimate %g", v->name, err, est);
    }
    /* A thousand channels summed in each frequency: the error grows like their square root. */
    conv1d_desc d = tu_base_desc(600, 1024, 4, 64);
    d.pad_left = d.pad_right = 32;
    const double err = check(whole, &d, &rng);
    const double est = c1_fft_error_estimate(c1_fft_good_size(600 + 63), 1024);
    print_message("%-24s 1024 channels, k 64: error %.2g of max|ref| (estimate %.2g)\n", whole->name, err, est);
    if (err > est) fail_msg("measured error %g exceeds the estimate %g", err, est);
}

/* What the family declines, each with a sentence naming the reason. */
static void test_unsupported_shapes(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        const int64_t N = v->params[0];
        conv1d_desc d = tu_base_desc(4096, 8, 8, 7);
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "at least 8"));
        d.kernel_size = 14; /* 7 sub-signal taps at stride 2 */
        d.stride = 2;
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        d.kernel_size = 15; /* 8 */
        d.length = N ? 16384 : 4096; /* at least half of the block filled; the whole sequence short */
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_OK);
        d.length = 4096;
        if (N) {
            d.stride = 1;
            d.kernel_size = N / 2 + 1;
            assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "at most"));
            d.kernel_size = 8;
            d.length = N / 4;
            assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "empty"));
        } else {
            d.stride = 1;
            d.length = 1 << 16;
            d.kernel_size = 64; /* a long sequence with a short kernel: the blocked variants' */
            assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), "blocked"));
        }
        /* So many channels summed that the error would leave the fp32 class. */
        d = tu_base_desc(4096, (int64_t)1 << 24, 1, 64);
        assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "fp32 error class"));
    }
}

/* One prepared state, several threads each with its own workspace: the same bits as a single run. */
typedef struct runner {
    const c1_variant *v;
    const void *state;
    const float *x;
    float *y;
    void *ws;
} runner;

static void *run_thread(void *arg)
{
    runner *r = arg;
    for (int i = 0; i < 3; i++)
        if (r->v->ops->run(r->state, r->x, r->y, r->ws) != CONV1D_OK) return (void *)1;
    return NULL;
}

static void test_concurrent_runs(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0xc0ull;
    for (size_t i = 0; i < nvariants; i++) {
        const c1_variant *v = variants[i];
        const int64_t N = v->params[0] ? v->params[0] : 1024;
        conv1d_desc d = tu_base_desc(N * 2, 20, 20, N / 4);
        d.num_groups = 4;
        d.pad_left = N / 4 - 1;
        if (c1_variant_applies(v, &d) != CONV1D_OK) continue;
        float *w = tu_random_floats(&rng, conv1d_weight_elems(&d)), *x = tu_random_floats(&rng, conv1d_input_elems(&d));
        void *state = NULL;
        assert_int_equal(v->ops->prepare(v, &d, &test_ctx, w, NULL, &state), CONV1D_OK);
        const size_t wsb = v->ops->workspace_bytes(state);
        const int64_t ny = conv1d_output_elems(&d);
        runner r[3];
        pthread_t th[3];
        for (int t = 0; t < 3; t++) {
            r[t] = (runner){v, state, x, tu_nan_floats(ny), malloc(wsb)};
            assert_non_null(r[t].ws);
        }
        for (int t = 0; t < 3; t++) assert_int_equal(pthread_create(&th[t], NULL, run_thread, &r[t]), 0);
        for (int t = 0; t < 3; t++) {
            void *ret;
            pthread_join(th[t], &ret);
            assert_null(ret);
        }
        for (int t = 1; t < 3; t++) assert_memory_equal(r[0].y, r[t].y, (size_t)ny * sizeof(float));
        for (int t = 0; t < 3; t++) {
            free(r[t].y);
            free(r[t].ws);
        }
        v->ops->release(state);
        free(w);
        free(x);
    }
}

/* --- wisdom ----------------------------------------------------------------------------------------------- */

static const c1_variant *measure_variant(void)
{
    for (size_t i = 0; i < nvariants; i++)
        if (variants[i]->params[1] == 1 && variants[i]->params[0] == 256) return variants[i];
    for (size_t i = 0; i < nvariants; i++)
        if (variants[i]->params[1] == 1) return variants[i];
    return NULL;
}

/* A fresh process's view: FFTW's wisdom forgotten, then a MEASURE plan of the variant checked against the
 * reference; fails the test if prepare or the result fails. */
static void plan_fresh(const c1_variant *v, uint64_t *rng)
{
    c1_fft_wisdom_reset();
    const int64_t N = v->params[0] ? v->params[0] : 256;
    conv1d_desc d = tu_base_desc(N, 3, 5, N / 4);
    d.pad_left = N / 8;
    check_applies(v, &d, rng);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The file's text (at most size-1 bytes); "" when missing. */
static void read_text(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    const size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_wisdom_cache(void **unused)
{
    TU_SKIP_WITHOUT_VARIANTS(nvariants, "fft");
    uint64_t rng = 0x5153ull;
    const c1_variant *v = measure_variant();
    assert_non_null(v);
    test_ctx.fft_estimate = false;
    char path[400], text[1 << 16], again[1 << 16];

    /* Written where CONV1D_FFTW_WISDOM says, parent folders created, FFTW's own format. */
    snprintf(path, sizeof path, "%s/new/folder/w.wisdom", tmpdir);
    setenv("CONV1D_FFTW_WISDOM", path, 1);
    plan_fresh(v, &rng);
    read_text(path, text, sizeof text);
    assert_non_null(strstr(text, "fftwf_wisdom"));
    /* Read back by the next process, which learns nothing new and leaves the file alone. */
    plan_fresh(v, &rng);
    read_text(path, again, sizeof again);
    assert_string_equal(text, again);

    /* Corrupt files of every kind never fail a plan; the next save replaces them with good wisdom. */
    const size_t len = strlen(text);
    char bad[1 << 16];
    for (int kind = 0; kind < 7; kind++) {
        size_t n = 0;
        switch (kind) {
        case 0: /* random bytes */
            for (n = 0; n < 3000; n++) bad[n] = (char)tu_next(&rng);
            break;
        case 1: /* truncated in the middle of an entry */
            n = len / 2;
            memcpy(bad, text, n);
            break;
        case 2: /* FFTW's header with garbage entries */
            n = (size_t)snprintf(bad, sizeof bad, "(fftw-3.3.10 fftwf_wisdom #x1 #x2 #x3 #x4\n  (fftwf_bogus 9 9 9 #x0 #x0 #x0 #x0)\n)\n");
            break;
        case 3: /* empty */
            n = 0;
            break;
        case 4: /* another precision's wisdom: foreign */
        {
            double *a = fftw_malloc(256 * sizeof(double));
            fftw_complex *c = fftw_malloc(129 * sizeof(fftw_complex));
            c1_fft_planner_lock();
            fftw_plan p = fftw_plan_dft_r2c_1d(256, a, c, FFTW_MEASURE);
            char *dw = fftw_export_wisdom_to_string();
            fftw_destroy_plan(p);
            c1_fft_planner_unlock();
            n = strlen(dw);
            memcpy(bad, dw, n);
            free(dw);
            fftw_free(a);
            fftw_free(c);
            break;
        }
        case 6: /* a well-formed entry whose flags overflow FFTW's 20-bit field (FFTW's reader would abort) */
        {
            const char *e = strchr(text, '\n') + 1; /* the first entry: "  (name id #xL #xU ..." */
            const char *u = strstr(strstr(e, "#x") + 2, "#x");
            const char *end = strchr(u, ' ');
            n = (size_t)snprintf(bad, sizeof bad, "%.*s#xfffffff%s", (int)(u - text), text, end);
            break;
        }
        case 5: /* FFTW's text with one changed digit in every signature: another build's */
        {
            memcpy(bad, text, len);
            n = len;
            char *sig = strstr(bad, "#x");
            for (int s = 0; sig && s < 4; s++, sig = strstr(sig + 2, "#x")) sig[2] = sig[2] == '1' ? '2' : '1';
            break;
        }
        }
        write_file(path, bad, n);
        plan_fresh(v, &rng);
        read_text(path, again, sizeof again);
        if (!strstr(again, "fftwf_wisdom")) fail_msg("corrupt wisdom of kind %d was not replaced", kind);
        if (kind == 6 && strstr(again, "#xfffffff")) fail_msg("an out-of-range entry was kept");
    }

    /* Random byte flips in good wisdom: every plan still succeeds and computes the right result. */
    for (int t = 0; t < 10; t++) {
        memcpy(bad, text, len);
        for (int f = 0; f < 3; f++) bad[tu_range(&rng, 0, (int64_t)len - 1)] = (char)tu_range(&rng, 32, 126);
        write_file(path, bad, len);
        plan_fresh(v, &rng);
    }

    /* A folder where the file should be, a path that cannot be created, and wisdom switched off. */
    snprintf(path, sizeof path, "%s/adir", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    setenv("CONV1D_FFTW_WISDOM", path, 1);
    plan_fresh(v, &rng);
    snprintf(path, sizeof path, "/proc/conv1d-no/such/place.wisdom");
    setenv("CONV1D_FFTW_WISDOM", path, 1);
    plan_fresh(v, &rng);
    setenv("CONV1D_FFTW_WISDOM", "off", 1);
    plan_fresh(v, &rng);
    c1_fft_wisdom_reset();
    test_ctx.fft_estimate = true;
}

/* Where the wisdom lives when CONV1D_FFTW_WISDOM is unset: under $XDG_CACHE_HOME (else ~/.cache)/conv1d-tune, one
 * file per CPU (c1_cpu_key). */
static void test_wisdom_default_path(void **unused)
{
    char xdg[300];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmpdir);
    unsetenv("CONV1D_FFTW_WISDOM");
    setenv("XDG_CACHE_HOME", xdg, 1);
    c1_fft_planner_lock();
    char path[512];
    snprintf(path, sizeof path, "%s", c1_fft_wisdom_path_locked());
    c1_fft_planner_unlock();
    assert_true(strncmp(path, xdg, strlen(xdg)) == 0);
    char name[64];
    snprintf(name, sizeof name, "/conv1d-tune/fftwf-wisdom-%s.txt", c1_cpu_key());
    assert_non_null(strstr(path, name));
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/someone", 1);
    c1_fft_planner_lock();
    static const char home_path[] = "/home/someone/.cache/conv1d-tune/fftwf-wisdom-";
    assert_true(strncmp(c1_fft_wisdom_path_locked(), home_path, sizeof home_path - 1) == 0);
    setenv("CONV1D_FFTW_WISDOM", "", 1);
    assert_string_equal(c1_fft_wisdom_path_locked(), "");
    c1_fft_planner_unlock();
    setenv("CONV1D_FFTW_WISDOM", "off", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_size),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_forced_blocking),
        cmocka_unit_test(test_random_descriptors),
        cmocka_unit_test(test_error_growth),
        cmocka_unit_test(test_unsupported_shapes),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_wisdom_cache),
        cmocka_unit_test(test_wisdom_default_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
