/*
 * fp32 -> bf16 to nearest even in integer operations, for the AVX2 and AVX-512 kernels that have no (or do not
 * trust) a bf16 conversion instruction: add 0x7fff plus the lowest kept bit (bit 16), keep the high 16 bits.
 * Infinities stay infinite and the largest finite values round to infinity, as they should.
 *
 * A NaN needs care only when its low 16 bits are not all zero, because the addition could then carry into the
 * exponent. The kernels' own outputs never have such NaNs: each output is a sum of products of 16-bit values, so a
 * NaN among them is a widened 16-bit NaN or the default NaN of an invalid operation, both with the low half zero.
 * The plain forms below rely on that; the _quiet forms, for arbitrary fp32 data (the conversion wrapper), return
 * any NaN as a quiet bf16 NaN. The scalar reference is c1_f32_to_bf16 (core/half.h).
 */
#ifndef CONV1D_BF16_ROUND_H
#define CONV1D_BF16_ROUND_H

#include <immintrin.h>

#ifdef __AVX2__
/* 8 floats to bf16, each in the low 16 bits of its 32-bit lane. */
static inline __m256i c1_bf16_round8(__m256 v)
{
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    return _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
}

/* The same, any NaN a quiet NaN (its top half with the quiet bit set). */
static inline __m256i c1_bf16_round8_quiet(__m256 v)
{
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(_mm256_castps_si256(v), 16), _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(c1_bf16_round8(v), quiet, nan);
}
#endif

#ifdef __AVX512F__
/* 16 floats to bf16, each in the high 16 bits of its 32-bit lane (the low half is garbage): what a word permute
 * of two vectors takes without a shift. */
static inline __m512i c1_bf16_round16_high(__m512 v)
{
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
}

/* 16 floats to bf16, as 16 packed 16-bit values. */
static inline __m256i c1_bf16_round16(__m512 v)
{
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(c1_bf16_round16_high(v), 16));
}

/* The same, any NaN a quiet NaN. */
static inline __m256i c1_bf16_round16_quiet(__m512 v)
{
    const __m512i u = _mm512_castps_si512(v);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    const __m512i r = _mm512_mask_or_epi32(_mm512_srli_epi32(c1_bf16_round16_high(v), 16), nan,
                                           _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(r);
}
#endif

#endif
