/* ISA levels and the CONV1D_ISA cap: names, parsing, the order of the levels, and the registry's use of the
 * variants.inc ISA column. Run by `make test` once per level this CPU has, so each cap is seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "test_util.h"
#include "variant.h"

static void test_names_and_parse(void **state)
{
    for (int l = 0; l < C1_ISA_LEVEL_COUNT; l++) {
        const char *name = c1_isa_level_name((c1_isa_level)l);
        assert_non_null(name);
        c1_isa_level back = C1_ISA_LEVEL_COUNT;
        assert_true(c1_isa_level_parse(name, &back));
        assert_int_equal(back, l);
    }
    c1_isa_level l = C1_ISA_LEVEL_C;
    assert_true(c1_isa_level_parse("AVX2", &l));
    assert_int_equal(l, C1_ISA_LEVEL_AVX2);
    assert_true(c1_isa_level_parse("AVX512", &l));
    assert_int_equal(l, C1_ISA_LEVEL_AVX512);
    l = C1_ISA_LEVEL_AVX2;
    assert_false(c1_isa_level_parse("avx-512", &l));
    assert_false(c1_isa_level_parse("", &l));
    assert_false(c1_isa_level_parse(NULL, &l));
    assert_false(c1_isa_level_parse("sse2", &l));
    assert_int_equal(l, C1_ISA_LEVEL_AVX2); /* untouched on failure */
    assert_null(c1_isa_level_name(C1_ISA_LEVEL_COUNT));
    assert_string_equal(c1_isa_flag_name(C1_ISA_F16C), "f16c");
    assert_null(c1_isa_flag_name(C1_ISA_AVX | C1_ISA_AVX2));
}

/* The effective level is the CPU's, lowered to CONV1D_ISA where that names a lower level; levels are nested. */
static void test_cap_follows_env(void **state)
{
    const char *env = getenv("CONV1D_ISA");
    c1_isa_level cap = C1_ISA_LEVEL_COUNT, cpu = c1_isa_cpu_level(), eff = c1_isa_effective();
    bool has_cap = env && *env && c1_isa_level_parse(env, &cap);
    print_message("CONV1D_ISA=%s: cpu %s, effective %s\n", env ? env : "(unset)", c1_isa_level_name(cpu),
                  c1_isa_level_name(eff));
    assert_true(eff <= cpu);
    assert_int_equal(eff, has_cap && cap < cpu ? cap : cpu);
    assert_int_equal(c1_isa_capped(), eff < cpu);
    assert_true(c1_isa_available(C1_ISA_LEVEL_C));
    for (int l = 0; l < C1_ISA_LEVEL_COUNT; l++) assert_int_equal(c1_isa_available((c1_isa_level)l), l <= (int)eff);
    /* The flags variants may use never exceed the CPU's, and a level's flags are there when it is available. */
    uint32_t flags = c1_isa_effective_flags();
    assert_int_equal(flags & ~c1_isa_cpu_flags(), 0);
    if (c1_isa_available(C1_ISA_LEVEL_AVX2)) assert_true((flags & (C1_ISA_AVX2 | C1_ISA_FMA | C1_ISA_F16C)) != 0);
    if (!c1_isa_available(C1_ISA_LEVEL_AVX2)) assert_int_equal(flags & (C1_ISA_AVX2 | C1_ISA_FMA), 0);
    if (c1_isa_available(C1_ISA_LEVEL_AVX512)) assert_true(flags & C1_ISA_AVX512F);
    if (!c1_isa_available(C1_ISA_LEVEL_AVX512)) assert_int_equal(flags & (C1_ISA_AVX512F | C1_ISA_AVX512_BF16), 0);
    if (has_cap || !env || !*env)
        assert_int_equal(c1_isa_check_env(), CONV1D_OK);
    else {
        assert_int_equal(c1_isa_check_env(), CONV1D_INVALID_ARGUMENT);
        assert_non_null(strstr(conv1d_last_error(), "CONV1D_ISA="));
    }
}

/* The ISA column and the name's __<isa> suffix say the same thing; the registry refuses what the level
 * excludes, with a sentence that names the level. */
static void test_registry_column(void **state)
{
    size_t count = 0;
    const c1_variant *list = c1_variant_list(&count);
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 64;
    d.in_channels = d.out_channels = 16;
    d.kernel_size = 3;
    int checked = 0;
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        const char *sep = strstr(v->name, "__");
        const char *suffix = sep ? sep + 2 : NULL;
        if (suffix) {
            c1_isa_level named;
            if (!c1_isa_level_parse(suffix, &named)) fail_msg("%s: suffix '%s' is not an ISA level", v->name, suffix);
            if (named != v->isa)
                fail_msg("%s: name says %s, the ISA column %s", v->name, suffix, c1_isa_level_name(v->isa));
        } else if (v->device == C1_DEVICE_CPU && v->isa != C1_ISA_LEVEL_C) {
            fail_msg("%s: a CPU variant of level %s must say so in its name", v->name, c1_isa_level_name(v->isa));
        }
        if (!c1_isa_available(v->isa)) {
            assert_int_equal(c1_variant_applies(v, &d), CONV1D_UNSUPPORTED);
            assert_non_null(strstr(conv1d_last_error(), c1_isa_level_name(v->isa)));
            checked++;
        }
    }
    print_message("%d variants refused for their ISA level\n", checked);
    if (c1_isa_effective() < C1_ISA_LEVEL_AVX512) assert_true(checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_parse),
        cmocka_unit_test(test_cap_follows_env),
        cmocka_unit_test(test_registry_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
