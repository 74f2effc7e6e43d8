/* Winner choice with statistics, and the search strategies on real variants. */
#include <string.h>

#include "test_util.h"
#include "tuner.h"
#include "variant.h"

static c1_variant fake(const char *name, const char *family, c1_precision prec)
{
    return (c1_variant){.name = name, .family = family, .device = C1_DEVICE_CPU, .precision = prec};
}

static c1_candidate timed(const c1_variant *v, double median, double half_ci, double err)
{
    c1_candidate c = {.v = v, .measured = true};
    c.m.outcome = C1_OUTCOME_OK;
    c.m.time_ms = (c1_stats){.median = median, .ci_lo = median - half_ci, .ci_hi = median + half_ci, .n = 10};
    c.m.error.rel_max = err;
    return c;
}

static void test_choose_winner(void **state)
{
    c1_variant direct = fake("direct_a", "direct", C1_PREC_FP32), onednn = fake("onednn", "onednn", C1_PREC_FP32),
               direct_b = fake("direct_b", "direct", C1_PREC_FP32), tf = fake("tf", "cudnn", C1_PREC_TF32);
    bool tie;
    /* clearly faster wins, no tie */
    c1_candidate c[4] = {timed(&direct, 2.0, 0.05, 1e-7), timed(&onednn, 1.0, 0.05, 1e-7)};
    assert_int_equal(c1_choose_winner(c, 2, C1_PREC_FP32, &tie), 1);
    assert_false(tie);
    /* overlapping intervals: the simpler family (direct before onednn), recorded as a tie */
    c[0] = timed(&direct, 1.02, 0.05, 1e-7);
    assert_int_equal(c1_choose_winner(c, 2, C1_PREC_FP32, &tie), 0);
    assert_true(tie);
    /* overlapping intervals but medians 10% apart: no tie, the faster wins */
    c[0] = timed(&direct, 1.10, 0.2, 1e-7);
    assert_int_equal(c1_choose_winner(c, 2, C1_PREC_FP32, &tie), 1);
    assert_false(tie);
    /* same family overlapping: the more accurate */
    c[0] = timed(&direct, 1.02, 0.05, 1e-7);
    c[1] = timed(&direct_b, 1.0, 0.05, 1e-8);
    assert_int_equal(c1_choose_winner(c, 2, C1_PREC_FP32, &tie), 1);
    assert_true(tie);
    /* a wrong or unmeasured variant never wins, however fast it claims to be */
    c[2] = timed(&onednn, 0.1, 0.01, 0.5);
    c[2].m.outcome = C1_OUTCOME_WRONG;
    c[3] = timed(&onednn, 0.1, 0.01, 0);
    c[3].measured = false;
    const int w = c1_choose_winner(c, 4, C1_PREC_FP32, &tie);
    assert_true(w == 0 || w == 1);
    /* classes compete apart: a tf32 variant never takes the fp32 slot, and wins its own */
    c[2] = timed(&tf, 0.1, 0.01, 1e-3);
    assert_int_not_equal(c1_choose_winner(c, 3, C1_PREC_FP32, &tie), 2);
    assert_int_equal(c1_choose_winner(c, 3, C1_PREC_TF32, &tie), 2);
    assert_int_equal(c1_choose_winner(c, 3, C1_PREC_BF16, &tie), -1);
    assert_true(c1_family_rank("ref") < c1_family_rank("direct"));
    assert_true(c1_family_rank("direct") < c1_family_rank("onednn"));
    assert_true(c1_family_rank("onednn") < c1_family_rank("no_such_family"));
}

static void test_strategy_names(void **state)
{
    c1_strategy s;
    const char *names[] = {"auto", "exhaustive", "random", "halving"};
    for (int i = 0; i < 4; i++) {
        assert_true(c1_strategy_parse(names[i], &s));
        assert_string_equal(c1_strategy_name(s), names[i]);
    }
    assert_false(c1_strategy_parse("best", &s));
}

/* Every strategy measures the real variants, finds a correct winner, and the budgeted ones try no more. */
static void test_strategies(void **state)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 200, d.in_channels = 16, d.out_channels = 16, d.kernel_size = 3, d.pad_left = d.pad_right = 1;
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 3, 30, &p), CONV1D_OK);
    size_t nreg;
    const c1_variant *reg = c1_variant_list(&nreg);
    c1_candidate *c = calloc(nreg, sizeof *c);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.min_repeats = 3;
    volatile int stop = 0;
    for (int s = C1_STRATEGY_EXHAUSTIVE; s <= C1_STRATEGY_HALVING; s++) {
        int n = 0;
        for (size_t i = 0; i < nreg; i++)
            /* The variants that apply at this ISA level: a budgeted search among the ones that cannot run would
             * measure nothing by design. */
            if (reg[i].device == C1_DEVICE_CPU && strncmp(reg[i].name, "test_", 5) != 0 &&
                c1_variant_applies(&reg[i], &d) == CONV1D_OK)
                c[n++] = (c1_candidate){.v = &reg[i]};
        assert_int_equal(c1_tune_shape(c, n, &p, (c1_strategy)s, 0.3, &o, 11, &stop), CONV1D_OK);
        int measured = 0;
        for (int i = 0; i < n; i++) measured += c[i].measured;
        if (s == C1_STRATEGY_EXHAUSTIVE || s == C1_STRATEGY_HALVING) assert_int_equal(measured, n);
        assert_true(measured >= 1);
        bool tie;
        const int w = c1_choose_winner(c, n, C1_PREC_FP32, &tie);
        assert_true(w >= 0);
        assert_int_equal(c[w].m.outcome, C1_OUTCOME_OK);
        assert_true(c[w].m.error.rel_max < 1e-5);
    }
    /* A stop request ends the search before anything is measured. */
    stop = 1;
    c[0] = (c1_candidate){.v = &reg[0]};
    assert_int_equal(c1_tune_shape(c, 1, &p, C1_STRATEGY_EXHAUSTIVE, 0.3, &o, 11, &stop), CONV1D_OK);
    assert_false(c[0].measured);
    free(c);
    c1_problem_destroy(&p);
}

/* Once one candidate is timed, one that cannot finish within many times its runs is stopped at the hopeless
 * limit (a few seconds), not at the child's wall-clock limit, and says why. */
static void test_hopeless_candidates_stop_early(void **state)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 200, d.in_channels = 16, d.out_channels = 16, d.kernel_size = 3, d.pad_left = d.pad_right = 1;
    c1_problem p;
    assert_int_equal(c1_problem_create(&d, 5, 30, &p), CONV1D_OK);
    c1_candidate c[2] = {{.v = c1_variant_find("direct_4x8__c")}, {.v = c1_variant_find("test_hang")}};
    assert_non_null(c[0].v);
    assert_non_null(c[1].v);
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    o.timeout_s = 60;
    o.min_repeats = 3;
    volatile int stop = 0;
    assert_int_equal(c1_tune_shape(c, 2, &p, C1_STRATEGY_EXHAUSTIVE, 0.2, &o, 7, &stop), CONV1D_OK);
    assert_int_equal(c[0].m.outcome, C1_OUTCOME_OK);
    assert_int_equal(c[1].m.outcome, C1_OUTCOME_TIMEOUT);
    assert_true(c[1].m.wall_s < 10);
    assert_non_null(strstr(c[1].m.message, "cannot win"));
    c1_problem_destroy(&p);
}

int main(void)
{
    c1_harness_init(); /* as conv1d-tune does: it forks children that may use CUDA */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose_winner),
        cmocka_unit_test(test_strategy_names),
        cmocka_unit_test(test_strategies),
        cmocka_unit_test(test_hopeless_candidates_stop_early),
    };
    return cmocka_run_group_tests_name("tuner", tests, NULL, NULL);
}
