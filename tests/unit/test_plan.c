/* The tuned dispatcher: lookup order (forced, DB exact, nearest, rules), broken databases, threads, errors,
 * and CUDA plans (refused with a sentence without a GPU or CUDA build; with a GPU: CUDA variants only, device
 * pointers, the caller's stream). */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_info.h"
#include "check.h"
#include "conv1d_ref.h"
#include "half.h"
#include "lookup.h"
#include "store.h"
#include "test_util.h"

#include "gpu_test_util.h"

static char dir[64];
static char db_path[128];      /* winners for this machine and build */
static char foreign_path[128]; /* the same winners under another machine's fingerprint */

/* Tuned shapes and the (deliberately unusual) winners the test stores for them. */
static const char *const tuned_dense = "batch=1,length=200,in_channels=24,out_channels=40,kernel_size=3,padding=1";
static const char *const tuned_dw = "batch=1,length=300,in_channels=64,out_channels=64,kernel_size=4,pad_left=3,"
                                    "groups=64";
static const char *const dense_winner = "direct_4x8__c";
static const char *const dw_winner = "depthwise__c";

static conv1d_desc parse(const char *text)
{
    conv1d_desc d;
    assert_int_equal(conv1d_desc_parse(text, &d), CONV1D_OK);
    return d;
}

/* A results DB with winners[0] for tuned_dense and winners[1] for tuned_dw, stored for `device` on this build
 * and the given machine fingerprint. */
static void make_db_for(const char *path, const char *fingerprint, const char *device, const char *const winners[2])
{
    c1_store s;
    assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
    const c1_build_info *b = c1_build_info_get();
    c1_store_hardware hw = {.fingerprint = fingerprint, .record_json = "{}"};
    c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
    int64_t hw_id, build_id, run_id;
    assert_int_equal(c1_store_hardware_id(&s, &hw, &hw_id), CONV1D_OK);
    assert_int_equal(c1_store_build_id(&s, &bu, &build_id), CONV1D_OK);
    assert_int_equal(c1_store_run_start(&s, hw_id, build_id, "test", &run_id), CONV1D_OK);
    const char *shapes[] = {tuned_dense, tuned_dw};
    for (int i = 0; i < 2; i++) {
        conv1d_desc d = parse(shapes[i]);
        int64_t shape_id;
        assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
        c1_store_winner w = {.hardware_id = hw_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                             .device = device, .precision = "fp32", .variant = winners[i], .median_ms = 1.0,
                             .p10_ms = 0.9, .p90_ms = 1.1, .peer_median_ms = NAN};
        assert_int_equal(c1_store_set_winner(&s, &w), CONV1D_OK);
    }
    assert_int_equal(c1_store_run_finish(&s, run_id, "done"), CONV1D_OK);
    c1_store_close(&s);
}

static void make_db(const char *path, const char *fingerprint)
{
    const char *const winners[2] = {dense_winner, dw_winner};
    make_db_for(path, fingerprint, "cpu", winners);
}

static int setup(void **state)
{
    unsetenv("CONV1D_VARIANT");
    unsetenv("CONV1D_VERBOSE");
    snprintf(dir, sizeof dir, "/tmp/conv1d-test-plan-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(db_path, sizeof db_path, "%s/tuned.db", dir);
    snprintf(foreign_path, sizeof foreign_path, "%s/foreign.db", dir);
    make_db(db_path, c1_machine_fingerprint());
    make_db(foreign_path, "0123456789abcdef");
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Plans d, runs it on random data and checks it against the double-precision reference. */
static void check_plan(const conv1d_desc *d, const conv1d_options *o, const char *want_variant,
                       const char *want_explain)
{
    uint64_t seed = 42;
    conv1d_plan *p = NULL;
    assert_int_equal(conv1d_plan_create(&p, d, o), CONV1D_OK);
    assert_non_null(p);
    if (want_variant) assert_string_equal(conv1d_plan_variant(p), want_variant);
    assert_string_not_equal(conv1d_plan_variant(p), "ref");
    if (want_explain && !strstr(conv1d_plan_explain(p), want_explain))
        fail_msg("explain '%s' lacks '%s'", conv1d_plan_explain(p), want_explain);
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    float *x = tu_random_floats(&seed, nx), *w = tu_random_floats(&seed, nw);
    float *b = tu_random_floats(&seed, d->out_channels), *y = malloc((size_t)ny * sizeof *y);
    double *ref = malloc((size_t)ny * sizeof *ref);
    assert_non_null(y);
    assert_non_null(ref);
    for (int64_t i = 0; i < ny; i++) y[i] = NAN; /* an output the variant skips shows up */
    assert_int_equal(conv1d_plan_set_weights(p, w, b), CONV1D_OK);
    assert_int_equal(conv1d_execute(p, x, y), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(d, x, w, b, ref), CONV1D_OK);
    double max_ref = 0, max_err = 0;
    for (int64_t i = 0; i < ny; i++) {
        max_ref = fmax(max_ref, fabs(ref[i]));
        double e = fabs((double)y[i] - ref[i]);
        if (!(e <= max_err)) max_err = isnan(e) ? INFINITY : e;
    }
    if (!(max_err <= 1e-5 * fmax(max_ref, 1e-30)))
        fail_msg("%s: max rel err %g", conv1d_plan_variant(p), max_err / max_ref);
    conv1d_plan_destroy(p);
    free(x), free(w), free(b), free(y), free(ref);
}

static conv1d_options db_options(const char *path, conv1d_mode mode)
{
    conv1d_options o;
    assert_int_equal(conv1d_options_init(&o), CONV1D_OK);
    o.db_path = path;
    o.mode = mode;
    return o;
}

static void test_exact_winner(void **state)
{
    conv1d_options o = db_options(db_path, CONV1D_MODE_DB);
    conv1d_desc d = parse(tuned_dense);
    check_plan(&d, &o, dense_winner, "exact winner from DB");
    d = parse(tuned_dw);
    check_plan(&d, &o, dw_winner, "exact winner from DB");
}

static void test_nearest_shape(void **state)
{
    conv1d_options o = db_options(db_path, CONV1D_MODE_DB);
    conv1d_desc d = parse(tuned_dense);
    d.length = 333;
    d.out_channels = 48;
    check_plan(&d, &o, dense_winner, "nearest tuned shape");
    d = parse(tuned_dw);
    d.in_channels = d.out_channels = d.num_groups = 96;
    check_plan(&d, &o, dw_winner, "nearest tuned shape");
    /* Family constraint: a dense shape never takes the depthwise winner, whatever the distance. */
    d = parse("batch=1,length=300,in_channels=64,out_channels=64,kernel_size=4,pad_left=3");
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    assert_string_not_equal(conv1d_plan_variant(p), dw_winner);
    conv1d_plan_destroy(p);
}

/* Untuned shapes of every kind run a non-reference variant that matches the reference. */
/* Tuned shapes near an untuned one vote (lookup.h): the nearest one's winner, X, is a close second to Y there but
 * three times slower on the two others, and timed out on a fourth, so Y is chosen; a variant that does not apply
 * ("unsupported") is no evidence; a DB of winners without measurements still gives the nearest winner. */
static void test_neighbour_vote(void **state)
{
    const char *x = "direct_4x8__c", *y = "onednn";
    conv1d_desc q = parse("batch=1,length=500,in_channels=32,out_channels=32,kernel_size=3,padding=1");
    if (!c1_variant_find(y) || c1_variant_applies(c1_variant_find(y), &q) != CONV1D_OK) {
        print_message("skipped: %s is not in this build or does not apply at this ISA level\n", y);
        c1_clear_error();
        return;
    }
    char path[160];
    snprintf(path, sizeof path, "%s/vote.db", dir);
    c1_store s;
    assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
    const c1_build_info *b = c1_build_info_get();
    c1_store_hardware hw = {.fingerprint = c1_machine_fingerprint(), .record_json = "{}"};
    c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
    int64_t hw_id, build_id, run_id;
    assert_int_equal(c1_store_hardware_id(&s, &hw, &hw_id), CONV1D_OK);
    assert_int_equal(c1_store_build_id(&s, &bu, &build_id), CONV1D_OK);
    assert_int_equal(c1_store_run_start(&s, hw_id, build_id, "test", &run_id), CONV1D_OK);
    static const struct {
        int64_t length;
        double x_ms, y_ms; /* NaN: timed out */
    } near[] = {{512, 1.0, 1.05}, {1024, 3.0, 1.0}, {256, 3.0, 1.0}, {2048, NAN, 1.0}};
    for (int i = 0; i < 4; i++) {
        conv1d_desc d = q;
        d.length = near[i].length;
        int64_t shape_id;
        assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
        const char *names[] = {x, y, "depthwise__c"};
        const double ms[] = {near[i].x_ms, near[i].y_ms, 0.01};
        const char *status[] = {isnan(ms[0]) ? "timeout" : "ok", "ok", "unsupported"};
        for (int v = 0; v < 3; v++) {
            c1_store_measurement m = {.run_id = run_id, .shape_id = shape_id, .hardware_id = hw_id,
                                      .build_id = build_id, .variant = names[v], .family = "direct", .device = "cpu",
                                      .precision = "fp32", .status = status[v], .rel_err = NAN, .rel_l2 = NAN,
                                      .median_ms = ms[v], .p10_ms = NAN, .p90_ms = NAN, .ci_lo_ms = NAN,
                                      .ci_hi_ms = NAN, .wall_s = NAN};
            assert_int_equal(c1_store_add_measurement(&s, &m), CONV1D_OK);
        }
        const bool x_wins = near[i].x_ms < near[i].y_ms;
        c1_store_winner w = {.hardware_id = hw_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                             .device = "cpu", .precision = "fp32", .variant = x_wins ? x : y,
                             .median_ms = x_wins ? near[i].x_ms : near[i].y_ms, .p10_ms = NAN, .p90_ms = NAN,
                             .peer_median_ms = NAN};
        assert_int_equal(c1_store_set_winner(&s, &w), CONV1D_OK);
    }
    assert_int_equal(c1_store_run_finish(&s, run_id, "done"), CONV1D_OK);
    c1_store_close(&s);

    conv1d_options o = db_options(path, CONV1D_MODE_DB);
    check_plan(&q, &o, y, "4 tuned shapes nearby, the nearest tuned shape batch=1,length=512,");
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &q, &o), CONV1D_OK);
    print_message("%s\n", conv1d_plan_explain(p));
    assert_non_null(strstr(conv1d_plan_explain(p), "onednn at 1.0")); /* ln 1.05 weighted: 1.01 or so */
    assert_non_null(strstr(conv1d_plan_explain(p), "next direct_4x8__c at"));
    conv1d_plan_destroy(p);

    /* Nearer shapes tuned by another machine (more than the first look takes) hide nothing: the full scan finds
     * this machine's. */
    assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
    c1_store_hardware other = {.fingerprint = "0123456789abcdef", .record_json = "{}"};
    int64_t other_id;
    assert_int_equal(c1_store_hardware_id(&s, &other, &other_id), CONV1D_OK);
    for (int64_t length = 490; length <= 507; length++) {
        if (length == 500) continue;
        conv1d_desc d = q;
        d.length = length;
        int64_t shape_id;
        assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
        c1_store_winner w = {.hardware_id = other_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                             .device = "cpu", .precision = "fp32", .variant = x, .median_ms = 1.0, .p10_ms = NAN,
                             .p90_ms = NAN, .peer_median_ms = NAN};
        assert_int_equal(c1_store_set_winner(&s, &w), CONV1D_OK);
    }
    c1_store_close(&s);
    check_plan(&q, &o, y, "4 tuned shapes nearby, the nearest tuned shape batch=1,length=512,");

    /* Without the measurements the winners alone vote: three of the four say Y. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM measurements", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    check_plan(&q, &o, y, "tuned shapes nearby");
}

/* With many tuned shapes the dispatcher keeps the shapes table between plans (lookup.c); a sweep that adds a
 * nearer shape meanwhile is seen by the next plan. */
static void test_neighbours_after_a_sweep(void **state)
{
    char path[160];
    snprintf(path, sizeof path, "%s/many.db", dir);
    const conv1d_desc q = parse("batch=1,length=500,in_channels=32,out_channels=32,kernel_size=3,padding=1");
    for (int round = 0; round < 2; round++) {
        c1_store s;
        assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
        const c1_build_info *b = c1_build_info_get();
        c1_store_hardware hw = {.fingerprint = c1_machine_fingerprint(), .record_json = "{}"};
        c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
        int64_t hw_id, build_id, run_id;
        assert_int_equal(c1_store_hardware_id(&s, &hw, &hw_id), CONV1D_OK);
        assert_int_equal(c1_store_build_id(&s, &bu, &build_id), CONV1D_OK);
        assert_int_equal(c1_store_run_start(&s, hw_id, build_id, "test", &run_id), CONV1D_OK);
        /* First 300 shapes from length 1000 up (more than the full scan is used for), then one at 501. */
        for (int i = 0; i < (round == 0 ? 300 : 1); i++) {
            conv1d_desc d = q;
            d.length = round == 0 ? 1000 + 10 * i : 501;
            int64_t shape_id;
            assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
            c1_store_winner w = {.hardware_id = hw_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                                 .device = "cpu", .precision = "fp32", .variant = dense_winner, .median_ms = 1.0,
                                 .p10_ms = NAN, .p90_ms = NAN, .peer_median_ms = NAN};
            assert_int_equal(c1_store_set_winner(&s, &w), CONV1D_OK);
        }
        assert_int_equal(c1_store_run_finish(&s, run_id, "done"), CONV1D_OK);
        c1_store_close(&s);
        conv1d_options o = db_options(path, CONV1D_MODE_DB);
        check_plan(&q, &o, dense_winner,
                   round == 0 ? "the nearest tuned shape batch=1,length=1000," : "the nearest tuned shape batch=1,length=501,");
    }
}

static void test_untuned_rules(void **state)
{
    const char *shapes[] = {
        "batch=2,length=100,in_channels=80,out_channels=96,kernel_size=3,padding=1,bias=1",
        "batch=1,length=257,in_channels=1,out_channels=32,kernel_size=7,stride=2,padding=3",
        "batch=1,length=77,in_channels=16,out_channels=24,kernel_size=5,dilation=2,padding=4",
        "batch=2,length=123,in_channels=48,out_channels=48,kernel_size=4,pad_left=3,groups=48,bias=1",
        "batch=1,length=64,in_channels=32,out_channels=64,kernel_size=3,groups=4,padding=1",
        "batch=2,length=90,in_channels=64,out_channels=64,kernel_size=3,padding=1,layout=ncw",
        "batch=1,length=100,in_channels=32,out_channels=32,kernel_size=9,groups=32,padding=4,layout=ncw",
    };
    conv1d_options est = db_options(NULL, CONV1D_MODE_ESTIMATE), db = db_options(db_path, CONV1D_MODE_DB);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        conv1d_desc d = parse(shapes[i]);
        check_plan(&d, &est, NULL, "heuristic: ");
        check_plan(&d, &db, NULL, NULL);
    }
    conv1d_desc d = parse(shapes[3]);
    check_plan(&d, &est, NULL, "heuristic: depthwise");
    /* A wide stride-1 k=3 layer: a Winograd tile where this CPU has one, computing the right answer. */
    if (c1_isa_available(C1_ISA_LEVEL_AVX2)) {
        d = parse("batch=1,length=70,in_channels=128,out_channels=160,kernel_size=3,padding=1,bias=1,layout=ncw");
        check_plan(&d, &est, NULL, "heuristic: dense, wide, stride 1: Winograd");
    }
}

static void expect_fallback(const char *path, const char *why)
{
    conv1d_options o = db_options(path, CONV1D_MODE_DB);
    conv1d_desc d = parse(tuned_dense);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_plan(&d, &o, NULL, why);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* A locked file is waited for briefly, never for the tuner's minute-long busy timeout. */
    assert_true((double)(t1.tv_sec - t0.tv_sec) < 10.0);
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    assert_string_not_equal(conv1d_plan_variant(p), dense_winner);
    assert_non_null(strstr(conv1d_plan_explain(p), "heuristic: "));
    conv1d_plan_destroy(p);
}


/* bf16 and f16 plans: a variant of the dtype's own class (never an fp32 one), whatever the step that chose it,
 * computing within one output rounding of the reference on the dtype's own numbers; an fp32 variant forced on
 * a 16-bit shape is refused; MEASURE mode tunes within the class. */
static void test_sixteen_bit_plans(void **state)
{
    const char *shapes[] = {
        "batch=2,length=100,in_channels=80,out_channels=96,kernel_size=3,padding=1,bias=1",
        "batch=2,length=123,in_channels=48,out_channels=48,kernel_size=4,pad_left=3,groups=48,bias=1",
        "batch=1,length=64,in_channels=32,out_channels=64,kernel_size=3,groups=4,padding=1,layout=ncw",
        "batch=1,length=300,in_channels=8,out_channels=8,kernel_size=65,padding=32",
        tuned_dense,
    };
    const conv1d_dtype types[] = {CONV1D_BF16, CONV1D_F16};
    conv1d_options est = db_options(NULL, CONV1D_MODE_ESTIMATE), db = db_options(db_path, CONV1D_MODE_DB);
    const conv1d_options *opts[] = {&est, &db};
    uint64_t seed = 5;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t t = 0; t < 2; t++)
            for (size_t k = 0; k < 2; k++) {
                conv1d_desc d = parse(shapes[i]);
                d.dtype = types[t];
                conv1d_plan *p = NULL;
                assert_int_equal(conv1d_plan_create(&p, &d, opts[k]), CONV1D_OK);
                const c1_variant *v = c1_variant_find(conv1d_plan_variant(p));
                assert_non_null(v);
                if (v->precision != c1_precision_of_dtype(d.dtype))
                    fail_msg("%s plan got %s (%s)", conv1d_dtype_name(d.dtype), v->name, c1_precision_name(v->precision));
                const int64_t nx = conv1d_input_elems(&d), nw = conv1d_weight_elems(&d), ny = conv1d_output_elems(&d);
                uint16_t *h = malloc((size_t)(nx + nw + d.out_channels + ny) * sizeof *h);
                float *f = malloc((size_t)(nx + nw + d.out_channels) * 2 * sizeof *f);
                double *ref = malloc((size_t)ny * 2 * sizeof *ref);
                assert_true(h && f && ref);
                uint16_t *xh = h, *wh = h + nx, *bh = wh + nw, *y = bh + d.out_channels;
                float *xf = f, *wf = f + nx, *bf = wf + nw, *a = bf + d.out_channels;
                for (int64_t j = 0; j < nx + nw + d.out_channels; j++) {
                    const float r = tu_value(&seed);
                    h[j] = d.dtype == CONV1D_BF16 ? c1_f32_to_bf16(r) : c1_f32_to_f16(r);
                    f[j] = d.dtype == CONV1D_BF16 ? c1_bf16_to_f32(h[j]) : c1_f16_to_f32(h[j]);
                    a[j] = fabsf(f[j]);
                }
                memset(y, 0xff, (size_t)ny * sizeof *y);
                assert_int_equal(conv1d_plan_set_weights(p, wh, bh), CONV1D_OK);
                assert_int_equal(conv1d_execute(p, xh, y), CONV1D_OK);
                assert_int_equal(c1_ref_conv1d_f64(&d, xf, wf, d.has_bias ? bf : NULL, ref), CONV1D_OK);
                assert_int_equal(c1_ref_conv1d_f64(&d, a, a + nx, d.has_bias ? a + nx + nw : NULL, ref + ny),
                                 CONV1D_OK);
                const c1_error e = c1_compare16(y, d.dtype, ref, ref + ny, ny,
                                                d.in_channels / d.num_groups * d.kernel_size + d.has_bias);
                if (!c1_error_ok(e, c1_precision_tolerance(v->precision)))
                    fail_msg("%s on %s: %lld outside, bad index %lld", v->name, shapes[i], (long long)e.outside,
                             (long long)e.bad_index);
                conv1d_plan_destroy(p);
                free(h), free(f), free(ref);
            }
    conv1d_desc d = parse(shapes[0]);
    d.dtype = CONV1D_BF16;
    conv1d_plan *p = NULL;
    setenv("CONV1D_VARIANT", "ref", 1);
    assert_int_not_equal(conv1d_plan_create(&p, &d, &est), CONV1D_OK);
    assert_non_null(strstr(conv1d_last_error(), "bf16"));
    unsetenv("CONV1D_VARIANT");
    conv1d_options measure = db_options(db_path, CONV1D_MODE_MEASURE);
    assert_int_equal(conv1d_plan_create(&p, &d, &measure), CONV1D_OK);
    assert_non_null(strstr(conv1d_plan_explain(p), "measured"));
    assert_int_equal(c1_variant_find(conv1d_plan_variant(p))->precision, C1_PREC_BF16);
    conv1d_plan_destroy(p);
}

static void test_unusable_dbs(void **state)
{
    char path[192];
    snprintf(path, sizeof path, "%s/corrupt.db", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    expect_fallback(path, "DB unusable: ");

    snprintf(path, sizeof path, "%s/empty.db", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    expect_fallback(path, "DB unusable: ");

    snprintf(path, sizeof path, "%s/missing.db", dir);
    expect_fallback(path, "DB unusable: ");

    expect_fallback(foreign_path, "no exact winner in DB");
}

/* A rollback-journal database under an exclusive lock cannot be read at all; a WAL one still can. */
static void test_locked_db(void **state)
{
    char path[192];
    snprintf(path, sizeof path, "%s/locked.db", dir);
    make_db(path, c1_machine_fingerprint());
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    /* An exclusive transaction takes its lock at BEGIN; a write makes sure it is held. */
    assert_int_equal(sqlite3_exec(db, "UPDATE winners SET median_ms = median_ms", NULL, NULL, NULL), SQLITE_OK);
    expect_fallback(path, "DB unusable: ");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    conv1d_options o = db_options(db_path, CONV1D_MODE_DB);
    conv1d_desc d = parse(tuned_dense);
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    conv1d_plan_destroy(p);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
}

static void test_forced_variant(void **state)
{
    conv1d_options o = db_options(db_path, CONV1D_MODE_DB);
    conv1d_desc d = parse(tuned_dense);
    conv1d_plan *p = (conv1d_plan *)&o;
    setenv("CONV1D_VARIANT", "onednn", 1);
    check_plan(&d, &o, "onednn", "forced by CONV1D_VARIANT=onednn");
    setenv("CONV1D_VARIANT", "no_such_variant", 1);
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_INVALID_ARGUMENT);
    assert_null(p);
    assert_non_null(strstr(conv1d_last_error(), "CONV1D_VARIANT=no_such_variant"));
    setenv("CONV1D_VARIANT", "depthwise__c", 1);
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "does not apply"));
    unsetenv("CONV1D_VARIANT");
}

/* An untuned shape is measured, stored, and found exactly by the next plan; a tuned one is not measured. */
static void test_measure_mode(void **state)
{
    char path[192];
    snprintf(path, sizeof path, "%s/measured.db", dir);
    conv1d_options o = db_options(path, CONV1D_MODE_MEASURE);
    conv1d_desc d = parse("batch=1,length=200,in_channels=16,out_channels=32,kernel_size=3,padding=1,bias=1");
    check_plan(&d, &o, NULL, "measured ");
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    if (!strstr(conv1d_plan_explain(p), "exact winner from DB"))
        fail_msg("second plan: '%s'", conv1d_plan_explain(p));
    char winner[128];
    snprintf(winner, sizeof winner, "%s", conv1d_plan_variant(p));
    conv1d_plan_destroy(p);
    o.mode = CONV1D_MODE_DB;
    check_plan(&d, &o, winner, "exact winner from DB");

    o = db_options(db_path, CONV1D_MODE_MEASURE);
    d = parse(tuned_dense);
    check_plan(&d, &o, dense_winner, "exact winner from DB");
    /* A database that cannot be written still gives a measured plan, and says so. */
    o = db_options("/nonexistent-dir/x.db", CONV1D_MODE_MEASURE);
    d = parse("batch=1,length=100,in_channels=8,out_channels=8,kernel_size=3,groups=8");
    check_plan(&d, &o, NULL, "not stored: ");
}

typedef struct job {
    const conv1d_plan *plan;
    const float *x;
    float *y;
    int repeats;
    conv1d_status st;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int i = 0; i < j->repeats && j->st == CONV1D_OK; i++) j->st = conv1d_execute(j->plan, j->x, j->y);
    return NULL;
}

/* Several threads on one plan (more than workspaces, so some wait) give exactly the single-thread result. */
static void test_threads(void **state)
{
    const char *shapes[] = {"batch=2,length=300,in_channels=64,out_channels=96,kernel_size=3,padding=1,bias=1",
                            "batch=1,length=200,in_channels=32,out_channels=64,kernel_size=3,groups=4"};
    for (int s = 0; s < 2; s++) {
        conv1d_desc d = parse(shapes[s]);
        conv1d_options o = db_options(NULL, CONV1D_MODE_ESTIMATE);
        conv1d_plan *p;
        uint64_t seed = 7;
        assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
        const int64_t ny = conv1d_output_elems(&d);
        float *w = tu_random_floats(&seed, conv1d_weight_elems(&d)), *b = tu_random_floats(&seed, d.out_channels);
        assert_int_equal(conv1d_plan_set_weights(p, w, b), CONV1D_OK);
        enum { THREADS = 4 };
        float *x[THREADS], *y[THREADS], *want[THREADS];
        job jobs[THREADS];
        pthread_t tid[THREADS];
        for (int t = 0; t < THREADS; t++) {
            x[t] = tu_random_floats(&seed, conv1d_input_elems(&d));
            y[t] = calloc((size_t)ny, sizeof(float));
            want[t] = calloc((size_t)ny, sizeof(float));
            assert_int_equal(conv1d_execute(p, x[t], want[t]), CONV1D_OK);
            jobs[t] = (job){p, x[t], y[t], 20, CONV1D_OK};
        }
        for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_create(&tid[t], NULL, run_job, &jobs[t]), 0);
        for (int t = 0; t < THREADS; t++) {
            pthread_join(tid[t], NULL);
            assert_int_equal(jobs[t].st, CONV1D_OK);
            assert_memory_equal(y[t], want[t], (size_t)ny * sizeof(float));
            free(x[t]), free(y[t]), free(want[t]);
        }
        free(w), free(b);
        conv1d_plan_destroy(p);
    }
}

static void test_errors(void **state)
{
    conv1d_desc d = parse(tuned_dense);
    conv1d_plan *p = NULL;
    float v[1] = {0};
    assert_int_equal(conv1d_options_init(NULL), CONV1D_INVALID_ARGUMENT);
    assert_true(strlen(conv1d_last_error()) > 10);
    assert_int_equal(conv1d_plan_create(NULL, &d, NULL), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(conv1d_plan_create(&p, NULL, NULL), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "descriptor"));
    conv1d_desc bad = d;
    bad.stride = 0;
    assert_int_equal(conv1d_plan_create(&p, &bad, NULL), CONV1D_INVALID_ARGUMENT);
    assert_null(p);
    conv1d_options o = db_options(NULL, CONV1D_MODE_ESTIMATE);
    o.mode = (conv1d_mode)42;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_INVALID_ARGUMENT);
    o = db_options(NULL, CONV1D_MODE_MEASURE);
    o.device = CONV1D_DEVICE_CUDA;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_UNSUPPORTED);
    o = db_options(NULL, CONV1D_MODE_ESTIMATE);
    o.device = CONV1D_DEVICE_CUDA;
    size_t n, cuda_variants = 0;
    const c1_variant *list = c1_variant_list(&n);
    for (size_t i = 0; i < n; i++) cuda_variants += list[i].device == C1_DEVICE_CUDA;
    if (cuda_variants == 0) { /* a plan for a device without variants is refused with a reason */
        assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_UNSUPPORTED);
        assert_non_null(strstr(conv1d_last_error(), "cuda"));
    }
    o = db_options(NULL, CONV1D_MODE_ESTIMATE);
    o.threads = -1;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_INVALID_ARGUMENT);
    o.threads = 1;
    d.has_bias = 1;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    assert_int_equal(conv1d_execute(p, v, v), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "set_weights"));
    assert_int_equal(conv1d_plan_set_weights(NULL, v, v), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(conv1d_plan_set_weights(p, NULL, v), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(conv1d_plan_set_weights(p, v, NULL), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "bias"));
    assert_int_equal(conv1d_execute(NULL, v, v), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(conv1d_execute(p, NULL, v), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(conv1d_execute(p, v, NULL), CONV1D_INVALID_ARGUMENT);
    conv1d_plan_destroy(p);
    conv1d_plan_destroy(NULL);
    assert_string_equal(conv1d_plan_variant(NULL), "");
    assert_string_equal(conv1d_plan_explain(NULL), "");
}

/* Where CUDA plans cannot exist (CPU-only build, no NVIDIA driver) they are refused with a sentence; the
 * rules never hand a CUDA plan a CPU variant. */
static void test_cuda_plan_refused_or_cuda_only(void **state)
{
    conv1d_options o;
    assert_int_equal(conv1d_options_init(&o), CONV1D_OK);
    assert_null(o.cuda_stream);
    o.device = CONV1D_DEVICE_CUDA;
    o.mode = CONV1D_MODE_ESTIMATE;
    const char *shapes[] = {tuned_dense, tuned_dw, "length=100,in_channels=16,out_channels=32,kernel_size=5,groups=4"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        conv1d_desc d = parse(shapes[i]);
        char why[64];
        const c1_variant *v = c1_heuristic_choice(&d, C1_DEVICE_CUDA, why, sizeof why);
        if (v) assert_int_equal(v->device, C1_DEVICE_CUDA);
        if (c1_test_have_gpu()) {
            assert_non_null(v); /* cudnn_algo1 at least applies to every valid shape */
            continue;
        }
        assert_null(v);
        conv1d_plan *p = (conv1d_plan *)&o;
        assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_UNSUPPORTED);
        assert_null(p);
        assert_non_null(strstr(conv1d_last_error(), "cuda plan"));
#ifdef C1_HAVE_CUDA
        assert_non_null(strstr(conv1d_last_error(), "NVIDIA"));
#else
        assert_non_null(strstr(conv1d_last_error(), "without CUDA"));
#endif
    }
}

#ifdef C1_HAVE_CUDA
/* A CUDA plan of d: a CUDA variant (want_variant when given), run on device memory on o's stream, checked
 * against the double reference. */
static void check_cuda_plan(const conv1d_desc *d, const conv1d_options *o, const char *want_variant,
                            const char *want_explain)
{
    uint64_t seed = 17;
    conv1d_plan *p = NULL;
    if (conv1d_plan_create(&p, d, o) != CONV1D_OK) fail_msg("cuda plan: %s", conv1d_last_error());
    const c1_variant *v = c1_variant_find(conv1d_plan_variant(p));
    assert_non_null(v);
    assert_int_equal(v->device, C1_DEVICE_CUDA);
    assert_int_equal(v->precision, C1_PREC_FP32);
    if (want_variant) assert_string_equal(v->name, want_variant);
    if (want_explain && !strstr(conv1d_plan_explain(p), want_explain))
        fail_msg("explain '%s' lacks '%s'", conv1d_plan_explain(p), want_explain);
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    float *x = tu_random_floats(&seed, nx), *w = tu_random_floats(&seed, nw);
    float *b = tu_random_floats(&seed, d->out_channels), *y = malloc((size_t)ny * sizeof *y);
    double *ref = malloc((size_t)ny * sizeof *ref);
    assert_non_null(y);
    assert_non_null(ref);
    float *dx = NULL, *dy = NULL;
    assert_int_equal(cudaMalloc((void **)&dx, (size_t)nx * sizeof(float)), cudaSuccess);
    assert_int_equal(cudaMalloc((void **)&dy, (size_t)ny * sizeof(float)), cudaSuccess);
    assert_int_equal(cudaMemcpy(dx, x, (size_t)nx * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_equal(cudaMemset(dy, 0xFF, (size_t)ny * sizeof(float)), cudaSuccess); /* NaN poison */
    if (conv1d_plan_set_weights(p, w, b) != CONV1D_OK) fail_msg("%s: %s", v->name, conv1d_last_error());
    for (int rep = 0; rep < 2; rep++) /* a second execute reuses the workspace */
        if (conv1d_execute(p, dx, dy) != CONV1D_OK) fail_msg("%s: %s", v->name, conv1d_last_error());
    assert_int_equal(cudaMemcpy(y, dy, (size_t)ny * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    assert_int_equal(c1_ref_conv1d_f64(d, x, w, b, ref), CONV1D_OK);
    const c1_error err = c1_compare(y, ref, ny);
    if (!c1_error_ok(err, c1_precision_tolerance(C1_PREC_FP32)))
        fail_msg("%s: rel_max %g, first bad element %lld", v->name, err.rel_max, (long long)err.bad_index);
    conv1d_plan_destroy(p);
    cudaFree(dx);
    cudaFree(dy);
    free(x), free(w), free(b), free(y), free(ref);
}

#endif

/* With a GPU: rules, DB winners and a forced variant for CUDA plans, executed on device memory. */
static void test_cuda_plans_on_gpu(void **state)
{
    if (!c1_test_have_gpu()) skip();
#ifdef C1_HAVE_CUDA
    conv1d_options o;
    assert_int_equal(conv1d_options_init(&o), CONV1D_OK);
    o.device = CONV1D_DEVICE_CUDA;
    o.mode = CONV1D_MODE_ESTIMATE;
    const char *shapes[] = {tuned_dense, tuned_dw, "length=100,in_channels=16,out_channels=32,kernel_size=5,groups=4",
                            "batch=2,length=77,in_channels=8,out_channels=12,kernel_size=3,stride=2,dilation=2,"
                            "pad_left=4,bias=1,layout=ncw"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        conv1d_desc d = parse(shapes[i]);
        check_cuda_plan(&d, &o, NULL, "heuristic: cuda");
    }
    /* The caller's stream. */
    cudaStream_t stream;
    assert_int_equal(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    o.cuda_stream = stream;
    conv1d_desc d = parse(tuned_dense);
    check_cuda_plan(&d, &o, NULL, NULL);
    setenv("CONV1D_VARIANT", "cudnn_algo1", 1);
    check_cuda_plan(&d, &o, "cudnn_algo1", "forced");
    setenv("CONV1D_VARIANT", dense_winner, 1); /* a CPU variant cannot serve a CUDA plan */
    conv1d_plan *p = NULL;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "cpu variant"));
    unsetenv("CONV1D_VARIANT");
    assert_int_equal(cudaStreamDestroy(stream), cudaSuccess);
    o.cuda_stream = NULL;

    /* The DB: a CPU variant stored under device "cuda" is not dispatched to; a cuDNN winner is. */
    char path[192];
    snprintf(path, sizeof path, "%s/cuda.db", dir);
    /* Winners stored for device "cuda": a CPU variant (which a CUDA plan must refuse) and a cuDNN one. */
    const char *const cuda_winners[2] = {dense_winner, "cudnn_algo0"};
    make_db_for(path, c1_machine_fingerprint(), "cuda", cuda_winners);
    o.db_path = path;
    o.mode = CONV1D_MODE_DB;
    check_cuda_plan(&d, &o, NULL, "does not apply here");
    conv1d_desc dw = parse(tuned_dw);
    check_cuda_plan(&dw, &o, "cudnn_algo0", "exact winner from DB");
    /* The CPU plans of the same shapes still see only CPU winners. */
    o.device = CONV1D_DEVICE_CPU;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    assert_int_equal(c1_variant_find(conv1d_plan_variant(p))->device, C1_DEVICE_CPU);
    conv1d_plan_destroy(p);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_winner),  cmocka_unit_test(test_nearest_shape),
        cmocka_unit_test(test_neighbour_vote), cmocka_unit_test(test_neighbours_after_a_sweep),
        cmocka_unit_test(test_untuned_rules), cmocka_unit_test(test_unusable_dbs),
        cmocka_unit_test(test_locked_db),     cmocka_unit_test(test_forced_variant),
        cmocka_unit_test(test_threads),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_measure_mode),
        cmocka_unit_test(test_sixteen_bit_plans),
        cmocka_unit_test(test_cuda_plan_refused_or_cuda_only),
        cmocka_unit_test(test_cuda_plans_on_gpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
