/*
 * half.h: the 16-bit element types (bfloat16, IEEE binary16) to and from float, in portable C, exactly as
 * the SIMD kernels convert them: widening is exact, narrowing rounds to nearest even. NaN stays NaN and
 * infinities stay infinite; float values beyond binary16's range become infinities.
 */
#ifndef CONV1D_CORE_HALF_H
#define CONV1D_CORE_HALF_H

#include <stdint.h>
#include <string.h>

#include "conv1d.h"

static inline uint32_t c1_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float c1_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float c1_bf16_to_f32(uint16_t h) { return c1_bits_f32((uint32_t)h << 16); }

static inline uint16_t c1_f32_to_bf16(float f)
{
    uint32_t u = c1_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* a quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                           /* to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

static inline float c1_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return c1_bits_f32(sign | 0x7f800000u | (mant << 13)); /* inf, NaN */
    if (exp != 0) return c1_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
    /* subnormal (or zero): mant * 2^-24, exact in float */
    const float v = (float)mant * 0x1p-24f;
    return sign ? -v : v;
}

static inline uint16_t c1_f32_to_f16(float f)
{
    const uint32_t u = c1_f32_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN stays NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: infinity */
    if (a < 0x38800000u) {
        /* below binary16's smallest normal 2^-14: a subnormal, rounded to nearest even at 2^-24 */
        const uint32_t m = (a & 0x7fffffu) | 0x800000u, e = a >> 23;
        if (e < 102) return (uint16_t)sign; /* below half the smallest subnormal */
        const uint32_t shift = 126 - e;     /* 14 + (113 - e) - 1 */
        uint32_t r = m >> shift;
        const uint32_t rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    /* normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even */
    uint32_t r = a - 0x38000000u;
    r += 0xfffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
}

/* One element of a 16-bit dtype t (CONV1D_BF16 or CONV1D_F16) to float (exact), and a float to t. */
static inline float c1_half_to_f32(conv1d_dtype t, uint16_t h)
{
    return t == CONV1D_BF16 ? c1_bf16_to_f32(h) : c1_f16_to_f32(h);
}

static inline uint16_t c1_f32_to_half(conv1d_dtype t, float f)
{
    return t == CONV1D_BF16 ? c1_f32_to_bf16(f) : c1_f32_to_f16(f);
}

/* A double rounded once to bfloat16 or binary16 (to nearest, ties to even), as a reference rounds its exact sum:
 * first to float with round-to-odd (float keeps more than two bits beyond either 16-bit type, so the second
 * rounding then cannot create a tie the first removed), then to the 16-bit type. */
static inline float c1_f64_to_f32_odd(double v)
{
    const float f = (float)v;
    uint32_t u = c1_f32_bits(f);
    if ((double)f != v && (double)f == (double)f && !(u & 1u)) { /* inexact and even: the odd neighbour */
        const double av = v < 0 ? -v : v, af = f < 0 ? -(double)f : (double)f;
        u = av > af ? u + 1u : u - 1u;
    }
    return c1_bits_f32(u);
}

static inline uint16_t c1_f64_to_bf16(double v) { return c1_f32_to_bf16(c1_f64_to_f32_odd(v)); }
static inline uint16_t c1_f64_to_f16(double v) { return c1_f32_to_f16(c1_f64_to_f32_odd(v)); }

#endif
