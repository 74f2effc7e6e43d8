/* Descriptor validation: every rejection path names its field and value; derived sizes. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static conv1d_desc base(void)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 2;
    d.length = 100;
    d.in_channels = 8;
    d.out_channels = 12;
    d.kernel_size = 3;
    return d;
}

static void expect_invalid(conv1d_desc d, const char *fragment)
{
    if (conv1d_desc_validate(&d) != CONV1D_INVALID_ARGUMENT) fail_msg("accepted; expected '%s'", fragment);
    if (!strstr(conv1d_last_error(), fragment)) fail_msg("'%s' lacks '%s'", conv1d_last_error(), fragment);
    assert_int_equal(conv1d_output_length(&d), -1);
}

static void test_defaults(void **state)
{
    conv1d_desc d;
    memset(&d, 0x5a, sizeof d);
    conv1d_desc_init(&d);
    assert_int_equal(d.stride, 1);
    assert_int_equal(d.dilation, 1);
    assert_int_equal(d.num_groups, 1);
    assert_int_equal(d.pad_left, 0);
    assert_int_equal(d.pad_right, 0);
    assert_int_equal(d.has_bias, 0);
    assert_int_equal(d.layout, CONV1D_LAYOUT_NWC);
    assert_int_equal(d.dtype, CONV1D_F32);
    d = base();
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
}

static void test_rejections(void **state)
{
    conv1d_desc d;
#define FIELD_CASE(field, value, fragment) \
    d = base();                            \
    d.field = value;                       \
    expect_invalid(d, fragment)
    FIELD_CASE(batch, 0, "batch must be positive, got 0");
    FIELD_CASE(length, -3, "length must be positive, got -3");
    FIELD_CASE(in_channels, 0, "in_channels must be positive");
    FIELD_CASE(out_channels, -1, "out_channels must be positive, got -1");
    FIELD_CASE(kernel_size, 0, "kernel_size must be positive");
    FIELD_CASE(stride, 0, "stride must be positive");
    FIELD_CASE(dilation, 0, "dilation must be positive");
    FIELD_CASE(num_groups, 0, "num_groups must be positive");
    FIELD_CASE(pad_left, -1, "pad_left must be non-negative, got -1");
    FIELD_CASE(pad_right, -2, "pad_right must be non-negative, got -2");
    FIELD_CASE(has_bias, 2, "has_bias must be 0 or 1, got 2");
    FIELD_CASE(layout, (conv1d_layout)7, "layout must be");
    FIELD_CASE(dtype, (conv1d_dtype)3, "dtype must be CONV1D_F32, CONV1D_BF16 or CONV1D_F16, got 3");
    FIELD_CASE(num_groups, 3, "in_channels (8) is not divisible by num_groups (3)");
    FIELD_CASE(num_groups, 8, "out_channels (12) is not divisible by num_groups (8)");
    FIELD_CASE(kernel_size, 101, "wider than the padded input of 100");
    FIELD_CASE(dilation, 60, "spans 121 positions");
    FIELD_CASE(length, INT64_MAX / 2, "length and padding must each be below");
    FIELD_CASE(dilation, INT64_MAX / 2, "too large to represent");
    FIELD_CASE(in_channels, INT64_MAX / 16, "overflows 64 bits");
#undef FIELD_CASE
    d = base();
    d.batch = INT64_MAX / 1000;
    d.length = 1000000;
    expect_invalid(d, "The input tensor has");
    d = base();
    d.kernel_size = 1;
    d.out_channels = (INT64_MAX / 8) / 4;
    expect_invalid(d, "The weight tensor has");
    assert_int_equal(conv1d_desc_validate(NULL), CONV1D_INVALID_ARGUMENT);
}

static void test_output_length(void **state)
{
    conv1d_desc d = base();
    assert_int_equal(conv1d_output_length(&d), 98);
    d.pad_left = d.pad_right = 1;
    assert_int_equal(conv1d_output_length(&d), 100);
    d.stride = 3; /* floor((102 - 3) / 3) + 1 */
    assert_int_equal(conv1d_output_length(&d), 34);
    d.dilation = 4; /* span 9: floor((102 - 9) / 3) + 1 */
    assert_int_equal(conv1d_output_length(&d), 32);
    d = base(); /* wav2vec2's first layer: 1 -> 512, k=10, s=5 over 16000 samples */
    d.in_channels = 1;
    d.out_channels = 512;
    d.kernel_size = 10;
    d.stride = 5;
    d.length = 16000;
    assert_int_equal(conv1d_output_length(&d), 3199);
    d.kernel_size = d.length; /* exactly fits */
    assert_int_equal(conv1d_output_length(&d), 1);
}

static void test_sizes_and_costs(void **state)
{
    conv1d_desc d = base();
    d.num_groups = 2;
    d.has_bias = 1;
    assert_int_equal(conv1d_input_elems(&d), 2 * 100 * 8);
    assert_int_equal(conv1d_weight_elems(&d), 3 * 4 * 12);
    assert_int_equal(conv1d_output_elems(&d), 2 * 98 * 12);
    assert_true(conv1d_desc_flops(&d) == 2.0 * 2 * 98 * 12 * 3 * 4);
    assert_true(conv1d_desc_min_bytes(&d) == 4.0 * (1600 + 144 + 2352 + 12));
}

static void test_status_and_version(void **state)
{
    assert_string_equal(conv1d_status_string(CONV1D_OK), "success");
    assert_string_equal(conv1d_status_string(CONV1D_INVALID_ARGUMENT), "invalid argument");
    assert_string_equal(conv1d_status_string((conv1d_status)999), "unknown status");
#define CHECK_STRING_(name, num, text) \
    assert_int_equal(CONV1D_##name, num); \
    assert_string_equal(conv1d_status_string(CONV1D_##name), text);
    CONV1D_STATUS_MAP(CHECK_STRING_)
#undef CHECK_STRING_
    assert_int_equal(conv1d_version_number(), CONV1D_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", CONV1D_VERSION_MAJOR, CONV1D_VERSION_MINOR, CONV1D_VERSION_PATCH);
    assert_string_equal(conv1d_version_string(), expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_output_length),   cmocka_unit_test(test_sizes_and_costs),
        cmocka_unit_test(test_status_and_version),
    };
    return cmocka_run_group_tests_name("descriptor", tests, NULL, NULL);
}
