/* The conversion wrapper's AVX2 + F16C kernels (widen.h): 8 elements a step, the tail as core/half.h does. */
#include <immintrin.h>

#include "bf16_round.h"
#include "half.h"
#include "widen.h"

static void bf16_to_f32(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(in + i)));
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
    }
    for (; i < n; i++) out[i] = c1_bf16_to_f32(in[i]);
}

static void f16_to_f32(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++) out[i] = c1_f16_to_f32(in[i]);
}

static void f32_to_bf16(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i a = c1_bf16_round8_quiet(_mm256_loadu_ps(in + i)), b = c1_bf16_round8_quiet(_mm256_loadu_ps(in + i + 8));
        /* packus works within 128-bit lanes: a0 b0 a1 b1 -> a0 a1 b0 b1 */
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)(out + i), packed);
    }
    for (; i < n; i++) out[i] = c1_f32_to_bf16(in[i]);
}

static void f32_to_f16(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = c1_f32_to_f16(in[i]);
}

const c1_widen_isa c1_widen_avx2 = {bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
