/* The dispatcher's time models: the fit recovers a planted law, coverage rules, ranking, the store's
 * models table (round trip, damaged rows, an older file read-only), and plans of untuned shapes decided by
 * the models fitted from a sweep's measurements. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_info.h"
#include "fit.h"
#include "lookup.h"
#include "model.h"
#include "store.h"
#include "test_util.h"

static char dir[64];

static conv1d_desc shape(int64_t n, int64_t l, int64_t c, int64_t k, int64_t ks, int64_t g, conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = n;
    d.length = l;
    d.in_channels = c;
    d.out_channels = k;
    d.kernel_size = ks;
    d.num_groups = g;
    d.pad_left = ks - 1;
    d.layout = layout;
    return d;
}

/* A planted law: ln t = -1 + 0.9 ln GFLOP + 0.1 ln MB + 0.2 ln cin_g. */
static double planted(const conv1d_desc *d)
{
    double f[C1_MODEL_FEATURES];
    c1_model_features(d, f);
    return exp(-1.0 + 0.9 * f[1] + 0.1 * f[2] + 0.2 * f[3]);
}

static void test_fit_recovers_a_law(void **state)
{
    enum { N = 60 };
    conv1d_desc d[N];
    double ms[N];
    uint64_t rng = 7;
    for (int i = 0; i < N; i++) {
        int64_t c = 8 << tu_range(&rng, 0, 6 - 1), k = 8 << tu_range(&rng, 0, 6 - 1);
        d[i] = shape(1 + tu_range(&rng, 0, 16 - 1), 16 + tu_range(&rng, 0, 4000 - 1), c, k, 1 + tu_range(&rng, 0, 9 - 1), 1,
                     CONV1D_LAYOUT_NWC);
        ms[i] = planted(&d[i]);
    }
    c1_model m = {0};
    c1_model_fit(d, ms, N, &m);
    assert_int_equal(m.samples, N);
    print_message("fit: %.3f %.3f %.3f %.3f, rms %.4f\n", m.coef[0], m.coef[1], m.coef[2], m.coef[3], m.rms);
    /* The ridge pulls towards the prior a little; predictions stay within a few percent. */
    assert_true(m.rms < 0.05);
    for (int i = 0; i < 10; i++) {
        conv1d_desc t = shape(3 + i, 100 + 97 * i, 24 + 8 * i, 40 + 16 * i, 1 + i % 7, 1, CONV1D_LAYOUT_NWC);
        double err = fabs(log(c1_model_predict_ms(&m, &t) / planted(&t)));
        if (err > 0.1) fail_msg("prediction off by %.3f in ln t", err);
    }
    /* One sample: defined, the slopes stay at the prior. */
    c1_model one = {0};
    c1_model_fit(d, ms, 1, &one);
    assert_true(isfinite(one.coef[0]));
    assert_true(fabs(one.coef[1] - 0.5) < 0.5 && fabs(one.coef[2] - 0.5) < 0.5);
}

static void test_covers(void **state)
{
    c1_model m = {.variant = "direct_4x8__c", .device = "cpu", .precision = "fp32", .layout = CONV1D_LAYOUT_NWC,
                  .kind = C1_KIND_DENSE, .samples = C1_MODEL_MIN_SAMPLES};
    conv1d_desc dense = shape(1, 100, 16, 16, 3, 1, CONV1D_LAYOUT_NWC);
    conv1d_desc dw = shape(1, 100, 16, 16, 3, 16, CONV1D_LAYOUT_NWC);
    conv1d_desc grouped = shape(1, 100, 16, 16, 3, 4, CONV1D_LAYOUT_NWC);
    conv1d_desc ncw = shape(1, 100, 16, 16, 3, 1, CONV1D_LAYOUT_NCW);
    assert_int_equal(c1_shape_kind_of(&dense), C1_KIND_DENSE);
    assert_int_equal(c1_shape_kind_of(&dw), C1_KIND_DEPTHWISE);
    assert_int_equal(c1_shape_kind_of(&grouped), C1_KIND_GROUPED);
    assert_true(c1_model_covers(&m, &dense));
    assert_false(c1_model_covers(&m, &dw));
    assert_false(c1_model_covers(&m, &grouped));
    assert_false(c1_model_covers(&m, &ncw));
    m.samples = C1_MODEL_MIN_SAMPLES - 1;
    assert_false(c1_model_covers(&m, &dense));
    m.samples = C1_MODEL_MIN_SAMPLES;
    m.coef[3] = NAN;
    assert_false(c1_model_covers(&m, &dense));
}

/* Ranking: by prediction, only applicable variants of the device, at most max. */
static void test_rank(void **state)
{
    c1_model m[4] = {
        {.variant = "direct_4x8__c", .device = "cpu", .precision = "fp32", .samples = 9, .coef = {1.0}},
        {.variant = "onednn", .device = "cpu", .precision = "fp32", .samples = 9, .coef = {0.5}},
        {.variant = "depthwise__c", .device = "cpu", .precision = "fp32", .samples = 9, .coef = {-3.0}},
        {.variant = "no_such_variant", .device = "cpu", .precision = "fp32", .samples = 9, .coef = {-9.0}},
    };
    conv1d_desc dense = shape(1, 100, 16, 16, 3, 1, CONV1D_LAYOUT_NWC);
    c1_model_pick p[4];
    size_t n = c1_model_rank(m, 4, &dense, C1_DEVICE_CPU, p, 4);
    /* depthwise__c does not apply to a dense shape; the unknown name is not a variant. */
    assert_int_equal(n, c1_variant_find("onednn") ? 2 : 1);
    if (n == 2) {
        assert_string_equal(p[0].v->name, "onednn");
        assert_string_equal(p[1].v->name, "direct_4x8__c");
        assert_true(p[0].predicted_ms < p[1].predicted_ms);
        assert_true(fabs(p[0].predicted_ms - exp(0.5)) < 1e-12);
    }
    assert_int_equal(c1_model_rank(m, 4, &dense, C1_DEVICE_CPU, p, 1), 1);
    assert_int_equal(c1_model_rank(m, 4, &dense, C1_DEVICE_CUDA, p, 4), 0);
}

/* A sweep's worth of measurements: on dense NWC shapes direct_4x8__c is planted twice as fast as the
 * reference everywhere, so the models rank it first on a shape nobody measured. */
static const char *make_measured_db(const char *name)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    c1_store s;
    assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
    const c1_build_info *b = c1_build_info_get();
    c1_store_hardware hw = {.fingerprint = c1_machine_fingerprint(), .record_json = "{}"};
    c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
    int64_t hw_id, build_id, run_id;
    assert_int_equal(c1_store_hardware_id(&s, &hw, &hw_id), CONV1D_OK);
    assert_int_equal(c1_store_build_id(&s, &bu, &build_id), CONV1D_OK);
    assert_int_equal(c1_store_run_start(&s, hw_id, build_id, "test", &run_id), CONV1D_OK);
    for (int i = 0; i < 8; i++) {
        conv1d_desc d = shape(1 + i % 3, 64 << (i % 4), 8 << (i % 3), 8 << ((i + 1) % 3), 1 + 2 * (i % 3), 1,
                              CONV1D_LAYOUT_NWC);
        int64_t shape_id;
        assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
        const char *names[] = {"ref", "direct_4x8__c"};
        for (int v = 0; v < 2; v++) {
            c1_store_measurement m = {.run_id = run_id, .shape_id = shape_id, .hardware_id = hw_id,
                                      .build_id = build_id, .variant = names[v], .family = v ? "direct" : "ref",
                                      .device = "cpu", .precision = "fp32", .status = "ok", .rel_err = NAN,
                                      .rel_l2 = NAN, .median_ms = planted(&d) * (v ? 1.0 : 2.0), .p10_ms = NAN,
                                      .p90_ms = NAN, .ci_lo_ms = NAN, .ci_hi_ms = NAN, .wall_s = NAN};
            assert_int_equal(c1_store_add_measurement(&s, &m), CONV1D_OK);
        }
    }
    /* A wrong result is no evidence, however fast: ref stays twice as slow in the models. */
    {
        conv1d_desc d = shape(1, 64, 8, 16, 1, 1, CONV1D_LAYOUT_NWC);
        int64_t shape_id;
        assert_int_equal(c1_store_shape_id(&s, &d, &shape_id), CONV1D_OK);
        c1_store_measurement m = {.run_id = run_id, .shape_id = shape_id, .hardware_id = hw_id, .build_id = build_id,
                                  .variant = "ref", .family = "ref", .device = "cpu", .precision = "fp32",
                                  .status = "wrong", .rel_err = 1.0, .rel_l2 = 1.0, .median_ms = 1e-9, .p10_ms = NAN,
                                  .p90_ms = NAN, .ci_lo_ms = NAN, .ci_hi_ms = NAN, .wall_s = NAN};
        assert_int_equal(c1_store_add_measurement(&s, &m), CONV1D_OK);
    }
    size_t n = 0;
    assert_int_equal(c1_fit_store(&s, hw_id, build_id, &n), CONV1D_OK);
    assert_int_equal(n, 2);
    c1_model *m = NULL;
    size_t got = 0;
    assert_int_equal(c1_store_load_models(&s, c1_machine_fingerprint(), b->signature, &m, &got), CONV1D_OK);
    assert_int_equal(got, 2);
    for (size_t i = 0; i < got; i++) {
        assert_int_equal(m[i].samples, 8);
        assert_int_equal(m[i].kind, C1_KIND_DENSE);
        assert_int_equal(m[i].layout, CONV1D_LAYOUT_NWC);
    }
    free(m);
    assert_int_equal(c1_store_run_finish(&s, run_id, "done"), CONV1D_OK);
    c1_store_close(&s);
    return path;
}

static void test_plan_uses_models(void **state)
{
    const char *path = make_measured_db("measured.db");
    conv1d_options o;
    conv1d_options_init(&o);
    o.db_path = path;
    conv1d_desc d = shape(2, 333, 24, 40, 3, 1, CONV1D_LAYOUT_NWC);
    conv1d_plan *p;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    print_message("%s: %s\n", conv1d_plan_variant(p), conv1d_plan_explain(p));
    assert_string_equal(conv1d_plan_variant(p), "direct_4x8__c");
    assert_non_null(strstr(conv1d_plan_explain(p), "time model: direct_4x8__c predicted"));
    assert_non_null(strstr(conv1d_plan_explain(p), "next ref"));
    conv1d_plan_destroy(p);
    /* Depthwise shapes were never measured: the models stay silent and the rules decide. */
    conv1d_desc dw = shape(1, 100, 32, 32, 4, 32, CONV1D_LAYOUT_NWC);
    assert_int_equal(conv1d_plan_create(&p, &dw, &o), CONV1D_OK);
    assert_null(strstr(conv1d_plan_explain(p), "time model:"));
    assert_non_null(strstr(conv1d_plan_explain(p), "heuristic: depthwise"));
    conv1d_plan_destroy(p);
    /* NCW was never measured either. */
    d.layout = CONV1D_LAYOUT_NCW;
    assert_int_equal(conv1d_plan_create(&p, &d, &o), CONV1D_OK);
    assert_null(strstr(conv1d_plan_explain(p), "time model:"));
    conv1d_plan_destroy(p);
}

/* The rows of a table or view, counted by a connection of its own. */
static size_t sqlite_count(const char *path, const char *table)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const size_t n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Damaged coefficient rows are left out; a file of schema 1 opened read-only reads as having no models,
 * and without the winner views, reads its winners all the same, and opened for writing it is migrated. */
static void test_store_models_table(void **state)
{
    const char *path = make_measured_db("damaged.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE models SET coef = '1,2,nan' WHERE variant = 'ref'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    c1_store s;
    c1_model *m = NULL;
    size_t n = 0;
    assert_int_equal(c1_store_open(&s, path, false), CONV1D_OK);
    assert_int_equal(c1_store_load_models(&s, c1_machine_fingerprint(), c1_build_info_get()->signature, &m, &n),
                     CONV1D_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].variant, "direct_4x8__c");
    free(m);
    c1_store_close(&s);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE models; PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(c1_store_open(&s, path, false), CONV1D_OK);
    assert_false(c1_store_has_models(&s));
    assert_false(c1_store_has_winner_views(&s));
    /* The winners read all the same, through the views' own text. */
    c1_store_winner_row *rows = NULL;
    size_t nrows = 0;
    const c1_store_winner_query all = {.with_stale = true};
    assert_int_equal(c1_store_load_winners(&s, &all, &rows, &nrows), CONV1D_OK);
    assert_int_equal(nrows, sqlite_count(path, "winners"));
    c1_store_free_winners(rows, nrows);
    assert_int_equal(c1_store_load_models(&s, c1_machine_fingerprint(), c1_build_info_get()->signature, &m, &n),
                     CONV1D_OK);
    assert_int_equal(n, 0);
    c1_store_close(&s);
    assert_int_equal(c1_store_open(&s, path, true), CONV1D_OK);
    assert_true(c1_store_has_models(&s));
    assert_true(c1_store_has_winner_views(&s));
    assert_int_equal(c1_store_load_winners(&s, &all, &rows, &nrows), CONV1D_OK);
    assert_int_equal(nrows, sqlite_count(path, "all_winners"));
    c1_store_free_winners(rows, nrows);
    c1_store_close(&s);
}

static int setup(void **state)
{
    unsetenv("CONV1D_VARIANT");
    snprintf(dir, sizeof dir, "/tmp/conv1d-test-model-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_recovers_a_law),  cmocka_unit_test(test_covers),
        cmocka_unit_test(test_rank),                cmocka_unit_test(test_plan_uses_models),
        cmocka_unit_test(test_store_models_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
