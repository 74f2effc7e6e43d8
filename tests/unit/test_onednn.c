/* The oneDNN variants: every descriptor field against the double reference, workspace sizing and reuse,
 * impl_info, and concurrent runs on one prepared state. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#include "conv1d_ref.h"
#include "variant.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_descriptors),
        cmocka_unit_test(test_wide_descriptors),
        cmocka_unit_test(test_field_edges),
        cmocka_unit_test(test_impl_info_and_workspace),
        cmocka_unit_test(test_concurrent_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
