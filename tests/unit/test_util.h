/* Shared by the C tests: a seeded generator, random descriptors and tensors, and cmocka's includes. */
#ifndef CONV1D_TEST_UTIL_H
#define CONV1D_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "conv1d.h"

/* splitmix64: tiny, seedable, identical everywhere. */
static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t tu_range(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_next(s) % (uint64_t)(hi - lo + 1));
}

/* Uniform in [-1, 1), never exactly zero so an input never hides a missing term. */
static inline float tu_value(uint64_t *s)
{
    float v = (float)((double)(tu_next(s) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    return v == 0.0f ? 0.5f : v;
}

static inline float *tu_random_floats(uint64_t *s, int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++) p[i] = tu_value(s);
    return p;
}

/* A random valid descriptor with small sizes that exercises every field: stride, dilation, asymmetric
 * and causal padding, groups from dense to depthwise, bias, batch, both layouts. */
static inline conv1d_desc tu_random_desc(uint64_t *s)
{
    conv1d_desc d;
    for (;;) {
        conv1d_desc_init(&d);
        d.batch = tu_range(s, 1, 3);
        d.num_groups = tu_range(s, 1, 4);
        d.in_channels = d.num_groups * tu_range(s, 1, 4);
        d.out_channels = d.num_groups * tu_range(s, 1, 4);
        if (tu_range(s, 0, 4) == 0) d.in_channels = d.out_channels = d.num_groups; /* depthwise */
        d.kernel_size = tu_range(s, 1, 6);
        d.stride = tu_range(s, 1, 3);
        d.dilation = tu_range(s, 1, 3);
        d.length = tu_range(s, 1, 40);
        switch (tu_range(s, 0, 3)) {
        case 0: break;                                                              /* none */
        case 1: d.pad_left = d.pad_right = tu_range(s, 0, 4); break;               /* symmetric */
        case 2: d.pad_left = d.dilation * (d.kernel_size - 1); break;              /* causal */
        default: d.pad_left = tu_range(s, 0, 5); d.pad_right = tu_range(s, 0, 5); /* asymmetric */
        }
        d.has_bias = (int)tu_range(s, 0, 1);
        d.layout = tu_range(s, 0, 1) ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
        if (conv1d_desc_validate(&d) == CONV1D_OK) return d;
    }
}

#endif
