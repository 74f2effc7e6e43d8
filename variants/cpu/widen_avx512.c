/* The conversion wrapper's AVX-512 kernels (widen.h): 16 elements a step, the tail as core/half.h does. */
#include <immintrin.h>

#include "bf16_round.h"
#include "half.h"
#include "widen.h"

static void bf16_to_f32(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(in + i)));
        _mm512_storeu_ps(out + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
    }
    for (; i < n; i++) out[i] = c1_bf16_to_f32(in[i]);
}

static void f16_to_f32(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(in + i))));
    for (; i < n; i++) out[i] = c1_f16_to_f32(in[i]);
}

/* To nearest even on the integer bits, a NaN kept quiet (bf16_round.h). */
static void f32_to_bf16(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), c1_bf16_round16_quiet(_mm512_loadu_ps(in + i)));
    for (; i < n; i++) out[i] = c1_f32_to_bf16(in[i]);
}

static void f32_to_f16(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = c1_f32_to_f16(in[i]);
}

const c1_widen_isa c1_widen_avx512 = {bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
