/*
 * The measuring instrument: the comparison catches an off-by-one, a NaN and an unwritten element; the
 * statistics are right; a crashing, a hanging and a wrong variant are each reported with their outcome
 * while the reference measured around them keeps its correct result.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "half.h"
#include "measure.h"
#include "test_util.h"

static void test_compare(void **state)
{
    const double ref[] = {1, -2, 3, 4};
    c1_tolerance t = c1_precision_tolerance(C1_PREC_FP32);
    float y[] = {1, -2, 3, 4};
    assert_true(c1_error_ok(c1_compare(y, ref, 4), t));
    y[2] = 3.0f * (1 + 1e-6f); /* rounding-sized error passes */
    assert_true(c1_error_ok(c1_compare(y, ref, 4), t));
    float shifted[] = {0, 1, -2, 3}; /* off by one position */
    c1_error e = c1_compare(shifted, ref, 4);
    assert_false(c1_error_ok(e, t));
    assert_true(e.rel_max > 0.5);
    float with_nan[] = {1, NAN, 3, 4};
    e = c1_compare(with_nan, ref, 4);
    assert_int_equal(e.bad_index, 1);
    assert_false(c1_error_ok(e, t));
    float with_inf[] = {1, -2, 3, INFINITY};
    assert_int_equal(c1_compare(with_inf, ref, 4).bad_index, 3);
    /* A looser class accepts what fp32 refuses. */
    float tf32ish[] = {1, -2, 3, 4.004f};
    assert_false(c1_error_ok(c1_compare(tf32ish, ref, 4), t));
    assert_true(c1_error_ok(c1_compare(tf32ish, ref, 4), c1_precision_tolerance(C1_PREC_TF32)));
}

static void test_stats(void **state)
{
    double s[] = {5, 1, 4, 2, 3};
    c1_stats st = c1_stats_compute(s, 5);
    assert_true(st.median == 3 && st.n == 5);
    assert_true(fabs(st.p10 - 1.4) < 1e-12 && fabs(st.p90 - 4.6) < 1e-12);
    double one[] = {7};
    st = c1_stats_compute(one, 1);
    assert_true(st.median == 7 && st.p10 == 7 && st.p90 == 7 && st.ci_lo == 7 && st.ci_hi == 7);
    /* 101 samples 0..100: the median's 95% interval spans ranks 50 -+ 0.98*sqrt(101), about [40, 61]. */
    double many[101];
    for (int i = 0; i < 101; i++) many[i] = 100 - i;
    st = c1_stats_compute(many, 101);
    assert_true(st.median == 50);
    assert_true(st.ci_lo >= 39 && st.ci_lo <= 41 && st.ci_hi >= 60 && st.ci_hi <= 62);
}

static conv1d_desc small_desc(void)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 2, d.length = 50, d.in_channels = 6, d.out_channels = 4, d.kernel_size = 3, d.pad_left = 2;
    d.stride = 2, d.dilation = 2, d.has_bias = 1, d.num_groups = 2;
    return d;
}

static void measure(const char *name, const c1_problem *p, c1_measure_opts *o, c1_measurement *m)
{
    const c1_variant *v = c1_variant_find(name);
    assert_non_null(v);
    assert_int_equal(c1_measure(v, p, o, m), CONV1D_OK);
}

static void test_fault_isolation(void **state)
{
    conv1d_desc d = small_desc();
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 42, 30, &p), CONV1D_OK);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.budget_s = 0.05;
    o.timeout_s = 2.0;

    const struct {
        const char *name;
        c1_outcome outcome;
        const char *fragment;
    } cases[] = {
        {"ref", C1_OUTCOME_OK, ""},
        {"test_crash", C1_OUTCOME_CRASHED, "signal 11"},
        {"ref", C1_OUTCOME_OK, ""},
        {"test_hang", C1_OUTCOME_TIMEOUT, "wall-clock limit"},
        {"test_off_by_one", C1_OUTCOME_WRONG, "exceeds the fp32 threshold"},
        {"test_nan", C1_OUTCOME_WRONG, "not finite"},
        {"test_unwritten", C1_OUTCOME_WRONG, "unwritten"},
        {"test_oom", C1_OUTCOME_FAILED, "out of memory"},
        {"test_unsupported", C1_OUTCOME_UNSUPPORTED, "supports no shape"},
        {"ref", C1_OUTCOME_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c1_measurement m;
        measure(cases[i].name, &p, &o, &m);
        if (m.outcome != cases[i].outcome)
            fail_msg("%s: outcome %s, expected %s (%s)", cases[i].name, c1_outcome_name(m.outcome),
                     c1_outcome_name(cases[i].outcome), m.message);
        if (!strstr(m.message, cases[i].fragment))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].name, m.message, cases[i].fragment);
        if (m.outcome == C1_OUTCOME_OK) {
            assert_true(m.error.rel_max < 1e-6 && m.error.bad_index == -1);
            assert_true(m.time_ms.n >= o.min_repeats && m.time_ms.median > 0);
            assert_true(m.time_ms.p10 <= m.time_ms.median && m.time_ms.median <= m.time_ms.p90);
            assert_true(m.threads >= 1 && m.buffer_sets >= 1 && m.runs_per_sample >= 1);
        } else {
            assert_true(m.time_ms.n == 0); /* never timed */
        }
        if (cases[i].outcome == C1_OUTCOME_TIMEOUT) assert_true(m.wall_s < o.timeout_s + 1);
    }
    c1_problem_destroy(&p);
}

/* Several variants per child: each keeps its own outcome whatever its neighbours do; a crash or a hang
 * takes only its own variant, and the variants after it are measured in a fresh child. */
static void test_measure_many(void **state)
{
    conv1d_desc d = small_desc();
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 43, 30, &p), CONV1D_OK);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.budget_s = 0.05;
    o.timeout_s = 2.0;
    const struct {
        const char *name;
        c1_outcome outcome;
        const char *fragment;
    } cases[] = {
        {"ref", C1_OUTCOME_OK, ""},
        {"test_unsupported", C1_OUTCOME_UNSUPPORTED, "supports no shape"},
        {"ref", C1_OUTCOME_OK, ""},
        {"test_crash", C1_OUTCOME_CRASHED, "signal 11"},
        {"ref", C1_OUTCOME_OK, ""},
        {"test_off_by_one", C1_OUTCOME_WRONG, "exceeds the fp32 threshold"},
        {"test_hang", C1_OUTCOME_TIMEOUT, "wall-clock limit"},
        {"test_oom", C1_OUTCOME_FAILED, "out of memory"},
        {"ref", C1_OUTCOME_OK, ""},
        {"test_crash", C1_OUTCOME_CRASHED, "signal 11"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    const c1_variant *vs[N];
    for (int i = 0; i < N; i++) assert_non_null(vs[i] = c1_variant_find(cases[i].name));
    c1_measurement *m = calloc(N, sizeof *m);
    assert_non_null(m);
    const double t0 = c1_now_s();
    assert_int_equal(c1_measure_many(vs, N, &p, &o, m), CONV1D_OK);
    for (int i = 0; i < N; i++) {
        if (m[i].outcome != cases[i].outcome)
            fail_msg("%d %s: outcome %s, expected %s (%s)", i, cases[i].name, c1_outcome_name(m[i].outcome),
                     c1_outcome_name(cases[i].outcome), m[i].message);
        if (!strstr(m[i].message, cases[i].fragment))
            fail_msg("%d %s: message '%s' lacks '%s'", i, cases[i].name, m[i].message, cases[i].fragment);
        if (m[i].outcome == C1_OUTCOME_OK) assert_true(m[i].time_ms.n >= o.min_repeats && m[i].time_ms.median > 0);
        if (m[i].outcome == C1_OUTCOME_TIMEOUT) assert_true(m[i].wall_s >= o.timeout_s && m[i].wall_s < o.timeout_s + 1);
    }
    /* the hang's limit ran from its own start, once */
    assert_true(c1_now_s() - t0 < 3 * o.timeout_s);
    free(m);
    c1_problem_destroy(&p);
}

/* The copy yardstick is timed without a check (its output is not a convolution) and moves the bytes. */
static void test_copy_yardstick(void **state)
{
    conv1d_desc d = small_desc();
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 5, 30, &p), CONV1D_OK);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.budget_s = 0.05;
    c1_measurement m;
    assert_int_equal(c1_measure(&c1_copy_baseline, &p, &o, &m), CONV1D_OK);
    assert_int_equal(m.outcome, C1_OUTCOME_OK);
    assert_true(m.time_ms.n >= o.min_repeats && m.time_ms.median > 0);
    /* a 16-bit shape has a yardstick too: the copy moves any dtype's bytes, whatever the class (measured
     * before anything runs OpenMP in this process, which must fork the reference's child) */
    c1_problem p16;
    conv1d_desc d16 = d;
    d16.dtype = CONV1D_BF16;
    assert_int_equal(c1_problem_create(&d16, 5, 30, &p16), CONV1D_OK);
    assert_int_equal(c1_measure(&c1_copy_baseline, &p16, &o, &m), CONV1D_OK);
    assert_int_equal(m.outcome, C1_OUTCOME_OK);
    c1_problem_destroy(&p16);
    /* and it really copies: run it here on a longer output than input */
    void *st = NULL;
    assert_int_equal(c1_copy_baseline.ops->prepare(&c1_copy_baseline, &d, NULL, p.data.w, p.data.b, &st), CONV1D_OK);
    const int64_t nx = conv1d_input_elems(&d), ny = conv1d_output_elems(&d);
    float *y = malloc((size_t)(nx > ny ? nx : ny) * sizeof *y);
    assert_int_equal(c1_copy_baseline.ops->run(st, p.data.x, y, NULL), CONV1D_OK);
    for (int64_t i = 0; i < (nx < ny ? nx : ny); i++) assert_true(y[i] == p.data.xf[i]);
    for (int64_t i = nx; i < ny; i++) assert_true(y[i] == 0.0f);
    c1_copy_baseline.ops->release(st);
    free(y);
    c1_problem_destroy(&p);
}

/* No timed run pays for first touches of its output pages: with a 6 MB output rotated through a dozen sets and a
 * warm-up too short to visit them all, the timed samples of the copy fault (almost) no page. */
static void test_no_faults_while_timing(void **state)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 24000;
    d.in_channels = 1;
    d.out_channels = 64;
    d.kernel_size = 1;
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 7, 30, &p), CONV1D_OK);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.budget_s = 0.05;
    c1_measurement m;
    assert_int_equal(c1_measure(&c1_copy_baseline, &p, &o, &m), CONV1D_OK);
    if (m.outcome != C1_OUTCOME_OK) fail_msg("outcome %d: %s", (int)m.outcome, m.message);
    assert_true(m.buffer_sets >= 4);
    /* The first touch of one set's output alone is 1500 faults (10503 in all before the sets were written ahead).
     * A few are the threads' own pages, and under AddressSanitizer its runtime's (shadow, quarantine: up to 134
     * seen), so the bound is a quarter of one set. */
    const long set_pages = (long)(conv1d_output_elems(&d) * (int64_t)sizeof(float) / 4096);
    if (m.timed_faults > set_pages / 4)
        fail_msg("%ld page faults during the timed runs over %d sets (one set is %ld pages)", m.timed_faults,
                 m.buffer_sets, set_pages);
    c1_problem_destroy(&p);
}

/* The same seed gives the same data; a different seed different data; no input is zero. */
static void test_problem_data(void **state)
{
    conv1d_desc d = small_desc();
    c1_problem a, b, c;
    assert_int_equal(c1_problem_create(&d, 1, 30, &a), CONV1D_OK);
    assert_int_equal(c1_problem_create(&d, 1, 30, &b), CONV1D_OK);
    assert_int_equal(c1_problem_create(&d, 2, 30, &c), CONV1D_OK);
    const int64_t nx = conv1d_input_elems(&d), ny = conv1d_output_elems(&d);
    assert_memory_equal(a.data.x, b.data.x, (size_t)nx * sizeof(float));
    assert_true(memcmp(a.data.x, c.data.x, (size_t)nx * sizeof(float)) != 0);
    for (int64_t i = 0; i < nx; i++) assert_true(a.data.xf[i] != 0.0f && a.data.xf[i] >= -1 && a.data.xf[i] < 1);
    double sum = 0;
    for (int64_t i = 0; i < ny; i++) sum += fabs(a.ref[i]);
    assert_true(sum > 0);
    c1_problem_destroy(&a), c1_problem_destroy(&b), c1_problem_destroy(&c);
}

/* A measurement child that outlives its tool would keep holding a GPU (or cores): it must die with the
 * process that forked it. A helper process runs a sandboxed child that only sleeps, is SIGKILLed, and the
 * child must be gone (or a zombie waiting for its new parent) within a few seconds. */
static int sleeping_child(void *arg, void *shared)
{
    (void)arg;
    *(volatile pid_t *)shared = getpid();
    sleep(60);
    return 0;
}

static bool process_gone(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')'); /* "pid (comm) S ...": the state follows the command's ')' */
    return close && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
}

static void test_child_dies_with_parent(void **state)
{
    volatile pid_t *grandchild = c1_shared_alloc(sizeof(pid_t));
    assert_non_null(grandchild);
    const pid_t helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {
        c1_outcome outcome;
        char detail[128];
        c1_sandbox_run(sleeping_child, NULL, (void *)grandchild, 120, &outcome, detail, sizeof detail);
        _exit(0);
    }
    const double until = c1_now_s() + 10;
    while (*grandchild == 0 && c1_now_s() < until) usleep(1000);
    const pid_t child = *grandchild;
    kill(helper, SIGKILL);
    int status;
    waitpid(helper, &status, 0);
    assert_true(child > 0);
    const double gone_by = c1_now_s() + 5;
    while (!process_gone(child) && c1_now_s() < gone_by) usleep(1000);
    const bool gone = process_gone(child);
    if (!gone) kill(child, SIGKILL); /* leave nothing behind, then fail */
    c1_shared_free((void *)grandchild, sizeof(pid_t));
    assert_true(gone);
}


/* 16-bit problems: the data are the dtype's own numbers (x, w, b and their float copies agree), the class's
 * reference passes, and a variant that truncates its output or accumulates in 16 bits is called wrong. */
static void test_sixteen_bit_check(void **state)
{
    static const conv1d_dtype types[] = {CONV1D_BF16, CONV1D_F16};
    for (size_t t = 0; t < 2; t++) {
        conv1d_desc d;
        conv1d_desc_init(&d);
        d.batch = 2, d.length = 80, d.in_channels = 32, d.out_channels = 24, d.kernel_size = 5, d.pad_left = 2;
        d.pad_right = 2, d.has_bias = 1, d.dtype = types[t];
        const bool bf = types[t] == CONV1D_BF16;
        c1_problem p;
        assert_int_equal(c1_problem_create(&d, 7, 30, &p), CONV1D_OK);
        const uint16_t *x = p.data.x;
        for (int64_t i = 0; i < conv1d_input_elems(&d); i++)
            assert_true(p.data.xf[i] == (bf ? c1_bf16_to_f32(x[i]) : c1_f16_to_f32(x[i])) && p.data.xf[i] != 0.0f);
        assert_non_null(p.absum);
        c1_measure_opts o;
        c1_measure_opts_init(&o);
        o.check_only = true;
        c1_measurement m;
        measure(bf ? "ref_bf16" : "ref_f16", &p, &o, &m);
        assert_int_equal(m.outcome, C1_OUTCOME_OK);
        assert_true(m.error.ulp_max <= 0.5 + 1e-9);
        measure(bf ? "test_bf16_truncate" : "test_f16_truncate", &p, &o, &m);
        assert_int_equal(m.outcome, C1_OUTCOME_WRONG);
        assert_non_null(strstr(m.message, "rounding"));
        measure(bf ? "test_bf16_narrow_acc" : "test_f16_narrow_acc", &p, &o, &m);
        assert_int_equal(m.outcome, C1_OUTCOME_WRONG);
        /* the other class's reference is refused, never compared */
        measure(bf ? "ref_f16" : "ref_bf16", &p, &o, &m);
        assert_int_equal(m.outcome, C1_OUTCOME_UNSUPPORTED);
        c1_problem_destroy(&p);
    }
}

int main(void)
{
    c1_harness_init(); /* as conv1d-tune does: it forks children that may use CUDA */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_problem_data),
        cmocka_unit_test(test_sixteen_bit_check),
        cmocka_unit_test(test_fault_isolation),
        cmocka_unit_test(test_child_dies_with_parent),
        cmocka_unit_test(test_measure_many),
        /* Last: it runs the yardstick in this process, which starts OpenMP threads, and a process with
         * OpenMP threads must not fork measurement children afterwards. */
        cmocka_unit_test(test_no_faults_while_timing), /* before anything runs OpenMP in this process */
        cmocka_unit_test(test_copy_yardstick),
    };
    return cmocka_run_group_tests_name("measure", tests, NULL, NULL);
}
