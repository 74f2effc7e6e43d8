/* fp32 FMA peak and streaming copy kernels for AVX2 + FMA (ymm); called only when the CPU has avx2 and fma. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "peaks.h"

/* 12 independent chains: two FMA pipes times a 4-5 cycle latency needs 8-10. Each chain is
 * acc = acc * mul + add, finite for 0 < mul < 1; different start values keep the chains distinct. */
float c1_peaks_fma_avx2(int64_t iters, float mul, float add)
{
    const __m256 m = _mm256_set1_ps(mul), a = _mm256_set1_ps(add);
#define C1_ACC_(k) __m256 acc##k = _mm256_set1_ps(1.0f + 0.01f * (k));
#define C1_FMA_(k) acc##k = _mm256_fmadd_ps(acc##k, m, a);
#define C1_ALL_(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    C1_ALL_(C1_ACC_)
    for (int64_t i = 0; i < iters; i++) {
        C1_ALL_(C1_FMA_)
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)),
                             _mm256_add_ps(_mm256_add_ps(acc4, acc5), _mm256_add_ps(acc6, acc7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(acc8, acc9), _mm256_add_ps(acc10, acc11)));
#undef C1_ACC_
#undef C1_FMA_
#undef C1_ALL_
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* Copy with non-temporal stores: the destination is written without first being read into the cache, so
 * DRAM moves exactly the bytes counted. dst and src 32-byte aligned, bytes a multiple of 128. */
void c1_peaks_copy_nt_avx2(void *dst, const void *src, size_t bytes)
{
    float *d = dst;
    const float *s = src;
    const size_t step = 32 / sizeof(float);
    for (size_t i = 0; i < bytes / sizeof(float); i += 4 * step) {
        __m256 a = _mm256_load_ps(s + i), b = _mm256_load_ps(s + i + step);
        __m256 c = _mm256_load_ps(s + i + 2 * step), e = _mm256_load_ps(s + i + 3 * step);
        _mm256_stream_ps(d + i, a);
        _mm256_stream_ps(d + i + step, b);
        _mm256_stream_ps(d + i + 2 * step, c);
        _mm256_stream_ps(d + i + 3 * step, e);
    }
    _mm_sfence();
}
