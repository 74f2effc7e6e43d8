/* fp32 FMA peak and streaming copy kernels for AVX-512 (zmm); called only when the CPU has avx512f. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "peaks.h"

/* 12 independent chains: enough to cover a 4-cycle FMA latency on two 512-bit pipes (8 needed) with room
 * for the loop overhead. Each chain is acc = acc * mul + add, which stays finite for 0 < mul < 1. The
 * chains start from different values so the compiler cannot merge them. */
float c1_peaks_fma_avx512(int64_t iters, float mul, float add)
{
    const __m512 m = _mm512_set1_ps(mul), a = _mm512_set1_ps(add);
#define C1_ACC_(k) __m512 acc##k = _mm512_set1_ps(1.0f + 0.01f * (k));
#define C1_FMA_(k) acc##k = _mm512_fmadd_ps(acc##k, m, a);
#define C1_ALL_(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    C1_ALL_(C1_ACC_)
    for (int64_t i = 0; i < iters; i++) {
        C1_ALL_(C1_FMA_)
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)),
                             _mm512_add_ps(_mm512_add_ps(acc4, acc5), _mm512_add_ps(acc6, acc7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc8, acc9), _mm512_add_ps(acc10, acc11)));
#undef C1_ACC_
#undef C1_FMA_
#undef C1_ALL_
    return _mm512_reduce_add_ps(s);
}

/* Copy with non-temporal stores: the destination is written without first being read into the cache, so
 * DRAM moves exactly the bytes counted. dst and src 64-byte aligned, bytes a multiple of 256. */
void c1_peaks_copy_nt_avx512(void *dst, const void *src, size_t bytes)
{
    float *d = dst;
    const float *s = src;
    const size_t step = 64 / sizeof(float);
    for (size_t i = 0; i < bytes / sizeof(float); i += 4 * step) {
        __m512 a = _mm512_load_ps(s + i), b = _mm512_load_ps(s + i + step);
        __m512 c = _mm512_load_ps(s + i + 2 * step), e = _mm512_load_ps(s + i + 3 * step);
        _mm512_stream_ps(d + i, a);
        _mm512_stream_ps(d + i + step, b);
        _mm512_stream_ps(d + i + 2 * step, c);
        _mm512_stream_ps(d + i + 3 * step, e);
    }
    _mm_sfence();
}
