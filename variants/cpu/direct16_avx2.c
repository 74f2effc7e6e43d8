/*
 * AVX2 + F16C conversions of the direct family on 16-bit tensors (direct16.c): the input blocks it widens
 * into fp32 scratch tiles and the fp32 output tiles it narrows into y. Widening is exact (bf16: a shift;
 * f16: vcvtph2ps); narrowing rounds to nearest even, as core/half.h does (bf16 has no AVX2 instruction, so
 * the integer form: add 0x7fff plus the lowest kept bit, keep the high half; a NaN becomes a quiet NaN
 * instead, since the addition could carry it into infinity). Tails of fewer than 8 go through core/half.h.
 * Compiled with -mavx2 -mfma -mf16c; called only after the driver's ISA check.
 */
#include <immintrin.h>

#include "direct16.h"
#include "half.h"

void c1_direct16_avx2_widen_bf16(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(h, 16));
    }
    for (; i < n; i++) dst[i] = c1_bf16_to_f32(src[i]);
}

void c1_direct16_avx2_widen_f16(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = c1_f16_to_f32(src[i]);
}

/* 8 floats rounded to bf16, each in the low half of its 32-bit lane. */
static inline __m256i round_bf16(__m256 f)
{
    const __m256i u = _mm256_castps_si256(f);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                           _mm256_set1_epi32(0x7f800000));
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

void c1_direct16_avx2_narrow_bf16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        /* packus interleaves the two inputs by 128-bit lane; the permute puts them back in order. */
        const __m256i p = _mm256_packus_epi32(round_bf16(_mm256_loadu_ps(src + i)), round_bf16(_mm256_loadu_ps(src + i + 8)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)));
    }
    for (; i + 8 <= n; i += 8) {
        const __m256i r = round_bf16(_mm256_loadu_ps(src + i));
        const __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storeu_si128((__m128i *)(dst + i), p);
    }
    for (; i < n; i++) dst[i] = c1_f32_to_bf16(src[i]);
}

void c1_direct16_avx2_narrow_f16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = c1_f32_to_f16(src[i]);
}
