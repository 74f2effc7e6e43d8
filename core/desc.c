/* The descriptor: defaults, validation, derived sizes and costs. */
#include <stdint.h>

#include "conv1d.h"
#include "error.h"

void conv1d_desc_init(conv1d_desc *d)
{
    *d = (conv1d_desc){
        .batch = 1,
        .stride = 1,
        .dilation = 1,
        .num_groups = 1,
        .layout = CONV1D_LAYOUT_NWC,
        .dtype = CONV1D_F32,
    };
}

/* a*b, or -1 when the product of two non-negative numbers leaves int64. */
static int64_t mul_or_neg(int64_t a, int64_t b)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return -1;
    return r;
}

/* The output length without validation; may be <= 0 or garbage for invalid descriptors. */
static int64_t raw_output_length(const conv1d_desc *d)
{
    int64_t span = d->dilation * (d->kernel_size - 1) + 1;
    int64_t padded = d->length + d->pad_left + d->pad_right;
    if (padded < span) return 0;
    return (padded - span) / d->stride + 1;
}

/* Largest element count accepted for one tensor: its byte size must fit in 63 bits. */
#define C1_MAX_ELEMS (INT64_MAX / (int64_t)sizeof(double))

static conv1d_status check_elems(const char *tensor, int64_t a, int64_t b, int64_t c)
{
    int64_t ab = mul_or_neg(a, b);
    int64_t abc = ab < 0 ? -1 : mul_or_neg(ab, c);
    if (abc < 0 || abc > C1_MAX_ELEMS)
        return c1_fail(CONV1D_INVALID_ARGUMENT,
                       "The %s tensor has %lld x %lld x %lld elements, whose byte size overflows 64 bits.", tensor,
                       (long long)a, (long long)b, (long long)c);
    return CONV1D_OK;
}

conv1d_status conv1d_desc_validate(const conv1d_desc *d)
{
    if (!d) return c1_fail(CONV1D_INVALID_ARGUMENT, "The descriptor pointer is NULL.");
    const struct {
        const char *name;
        int64_t value;
    } positive[] = {
        {"batch", d->batch},           {"length", d->length},     {"in_channels", d->in_channels},
        {"out_channels", d->out_channels}, {"kernel_size", d->kernel_size}, {"stride", d->stride},
        {"dilation", d->dilation},     {"num_groups", d->num_groups},
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i].value <= 0)
            return c1_fail(CONV1D_INVALID_ARGUMENT, "%s must be positive, got %lld.", positive[i].name,
                           (long long)positive[i].value);
    if (d->pad_left < 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "pad_left must be non-negative, got %lld.", (long long)d->pad_left);
    if (d->pad_right < 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "pad_right must be non-negative, got %lld.",
                       (long long)d->pad_right);
    if (d->has_bias != 0 && d->has_bias != 1)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "has_bias must be 0 or 1, got %d.", d->has_bias);
    if (d->layout != CONV1D_LAYOUT_NWC && d->layout != CONV1D_LAYOUT_NCW)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "layout must be CONV1D_LAYOUT_NWC or CONV1D_LAYOUT_NCW, got %d.",
                       (int)d->layout);
    if (!conv1d_dtype_size(d->dtype))
        return c1_fail(CONV1D_INVALID_ARGUMENT, "dtype must be CONV1D_F32, CONV1D_BF16 or CONV1D_F16, got %d.",
                       (int)d->dtype);
    if (d->in_channels % d->num_groups != 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "in_channels (%lld) is not divisible by num_groups (%lld).",
                       (long long)d->in_channels, (long long)d->num_groups);
    if (d->out_channels % d->num_groups != 0)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "out_channels (%lld) is not divisible by num_groups (%lld).",
                       (long long)d->out_channels, (long long)d->num_groups);

    /* Each of these must fit before the span and the padded length can be formed. */
    const int64_t big = INT64_MAX / 4;
    if (d->length > big || d->pad_left > big || d->pad_right > big)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "length and padding must each be below %lld, got %lld, %lld, %lld.",
                       (long long)big, (long long)d->length, (long long)d->pad_left, (long long)d->pad_right);
    int64_t span = mul_or_neg(d->dilation, d->kernel_size - 1);
    if (span < 0 || span > big)
        return c1_fail(CONV1D_INVALID_ARGUMENT,
                       "dilation (%lld) times kernel_size - 1 (%lld) is too large to represent.",
                       (long long)d->dilation, (long long)(d->kernel_size - 1));
    span += 1;
    int64_t padded = d->length + d->pad_left + d->pad_right;
    if (span > padded)
        return c1_fail(CONV1D_INVALID_ARGUMENT,
                       "The dilated kernel spans %lld positions (kernel_size %lld, dilation %lld), wider than the "
                       "padded input of %lld (length %lld + pad_left %lld + pad_right %lld).",
                       (long long)span, (long long)d->kernel_size, (long long)d->dilation, (long long)padded,
                       (long long)d->length, (long long)d->pad_left, (long long)d->pad_right);

    conv1d_status st;
    if ((st = check_elems("input", d->batch, d->length, d->in_channels)) != CONV1D_OK) return st;
    if ((st = check_elems("weight", d->kernel_size, d->in_channels / d->num_groups, d->out_channels)) != CONV1D_OK)
        return st;
    if ((st = check_elems("output", d->batch, raw_output_length(d), d->out_channels)) != CONV1D_OK) return st;
    return CONV1D_OK;
}

int64_t conv1d_output_length(const conv1d_desc *d)
{
    if (conv1d_desc_validate(d) != CONV1D_OK) return -1;
    return raw_output_length(d);
}

int64_t conv1d_input_elems(const conv1d_desc *d) { return d->batch * d->length * d->in_channels; }

int64_t conv1d_weight_elems(const conv1d_desc *d)
{
    return d->kernel_size * (d->in_channels / d->num_groups) * d->out_channels;
}

int64_t conv1d_output_elems(const conv1d_desc *d) { return d->batch * raw_output_length(d) * d->out_channels; }

double conv1d_desc_flops(const conv1d_desc *d)
{
    return 2.0 * (double)conv1d_output_elems(d) * (double)d->kernel_size * (double)(d->in_channels / d->num_groups);
}

double conv1d_desc_min_bytes(const conv1d_desc *d)
{
    double elems = (double)conv1d_input_elems(d) + (double)conv1d_weight_elems(d) + (double)conv1d_output_elems(d) +
                   (d->has_bias ? (double)d->out_channels : 0.0);
    return elems * (double)conv1d_dtype_size(d->dtype);
}

size_t conv1d_dtype_size(conv1d_dtype t)
{
    switch (t) {
    case CONV1D_F32: return 4;
    case CONV1D_BF16:
    case CONV1D_F16: return 2;
    }
    return 0;
}

const char *conv1d_dtype_name(conv1d_dtype t)
{
    switch (t) {
    case CONV1D_F32: return "f32";
    case CONV1D_BF16: return "bf16";
    case CONV1D_F16: return "f16";
    }
    return NULL;
}
