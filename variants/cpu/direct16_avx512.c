/*
 * AVX-512 code of the direct family's conversion kind on 16-bit tensors (direct16.c): the AVX2 file's widening
 * and narrowing 16 lanes at a time with masked tails (widening exact, bf16 by a shift, f16 by vcvtph2ps;
 * narrowing to nearest even, f16 by vcvtps2ph, bf16 by the integer form since this level has no bf16
 * instruction), and the micro-kernels, direct_avx512.c's FMA tiles with a 16-bit store.
 * Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c; called only after the ISA check.
 */
#include <immintrin.h>

#include "bf16_round.h"
#include "direct16.h"

static inline __mmask16 tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1); }

void c1_direct16_avx512_widen_bf16(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_si512(dst + i, _mm512_slli_epi32(h, 16));
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
        _mm512_mask_storeu_epi32(dst + i, m, _mm512_slli_epi32(h, 16));
    }
}

void c1_direct16_avx512_widen_f16(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}


void c1_direct16_avx512_narrow_bf16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(dst + i), c1_bf16_round16(_mm512_loadu_ps(src + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm256_mask_storeu_epi16(dst + i, m, c1_bf16_round16(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

void c1_direct16_avx512_narrow_f16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm256_mask_storeu_epi16(dst + i, m,
                                 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
}

/* --- micro-kernels of the conversion kind ------------------------------------------------------------------ */

/* 16 sums rounded once to the output type. */
static inline __attribute__((always_inline)) __m256i to16(__m512 v, const int f16)
{
    return f16 ? _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) : c1_bf16_round16(v);
}

/* direct_avx512.c's M x (16*NV) fp32 tile on widened input, with the starts and stores of direct16.h: the sums
 * are rounded in registers and stored as 16 bits, so no fp32 output ever goes through memory on the way to y.
 * M, NV and f16 are constants at every call site. */
static inline __attribute__((always_inline)) void tile_w(const c1_direct16_tile *t, const int M, const int NV,
                                                         const int f16)
{
    __m512 acc[C1_DIRECT_MAX_MR][2];
    if (t->init) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __m512 b = _mm512_loadu_ps(t->init + 16 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) acc[m][v] = b;
        }
    } else {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[m][v] = _mm512_loadu_ps(t->acc + m * t->acc_row + 16 * v);
    }
    const ptrdiff_t xs = t->x_row;
    const float *xr = t->x, *wr = t->w;
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const float *xc = xr, *wc = wr;
        for (int64_t c = 0; c < t->kc; c++, xc++, wc += 16 * NV) {
            __m512 wv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) wv[v] = _mm512_load_ps(wc + 16 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) {
                const __m512 xb = _mm512_set1_ps(xc[m * xs]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[m][v] = _mm512_fmadd_ps(xb, wv[v], acc[m][v]);
            }
        }
    }
    if (!t->y) {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(t->acc + m * t->acc_row + 16 * v, acc[m][v]);
        return;
    }
    if (t->stream) {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                _mm256_stream_si256((__m256i *)(t->y + m * t->y_row + 16 * v), to16(acc[m][v], f16));
        return;
    }
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        const int n = t->nvalid - 16 * v;
        if (n <= 0) break;
        const __mmask16 mask = n >= 16 ? (__mmask16)0xffff : tail_mask(n);
#pragma GCC unroll 14
        for (int m = 0; m < M; m++) _mm256_mask_storeu_epi16(t->y + m * t->y_row + 16 * v, mask, to16(acc[m][v], f16));
    }
}

#define KERNEL(M, NV)                                                               \
    static void kb_##M##_##NV(const c1_direct16_tile *t) { tile_w(t, M, NV, 0); } \
    static void kh_##M##_##NV(const c1_direct16_tile *t) { tile_w(t, M, NV, 1); }
#define KERNELS_8(NV) KERNEL(1, NV) KERNEL(2, NV) KERNEL(3, NV) KERNEL(4, NV) KERNEL(5, NV) KERNEL(6, NV) \
    KERNEL(7, NV) KERNEL(8, NV)
KERNELS_8(1)
KERNEL(9, 1)
KERNEL(10, 1)
KERNEL(11, 1)
KERNEL(12, 1)
KERNEL(13, 1)
KERNEL(14, 1)
KERNELS_8(2)

#define ROWS_8(P, NV) P##_1_##NV, P##_2_##NV, P##_3_##NV, P##_4_##NV, P##_5_##NV, P##_6_##NV, P##_7_##NV, P##_8_##NV
#define ROWS_14(P, NV) ROWS_8(P, NV), P##_9_##NV, P##_10_##NV, P##_11_##NV, P##_12_##NV, P##_13_##NV, P##_14_##NV

static const c1_direct16_kernels bf16_tables[] = {{8, 32, {ROWS_8(kb, 2)}}, {14, 16, {ROWS_14(kb, 1)}}};
static const c1_direct16_kernels f16_tables[] = {{8, 32, {ROWS_8(kh, 2)}}, {14, 16, {ROWS_14(kh, 1)}}};

const c1_direct16_kernels *c1_direct16_avx512_kernels(int mr, int nr, conv1d_dtype t)
{
    const c1_direct16_kernels *tables = t == CONV1D_F16 ? f16_tables : bf16_tables;
    for (size_t i = 0; i < sizeof bf16_tables / sizeof bf16_tables[0]; i++)
        if (tables[i].mr == mr && tables[i].nr == nr) return &tables[i];
    return NULL;
}
