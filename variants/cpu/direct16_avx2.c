/*
 * AVX2 + F16C code of the direct family's conversion kind on 16-bit tensors (direct16.c): the widening of input
 * blocks into fp32 scratch tiles, the narrowing of fp32 tiles (NCW), and the micro-kernels, direct_avx2.c's FMA
 * tiles with a 16-bit store. Widening is exact (bf16: a shift; f16: vcvtph2ps); narrowing rounds to nearest
 * even, as core/half.h does (bf16 has no AVX2 instruction, so the integer form of bf16_round.h). Tails of
 * fewer than 8 go through core/half.h.
 * Compiled with -mavx2 -mfma -mf16c; called only after the driver's ISA check.
 */
#include <immintrin.h>

#include "bf16_round.h"
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


void c1_direct16_avx2_narrow_bf16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        /* packus interleaves the two inputs by 128-bit lane; the permute puts them back in order. */
        const __m256i p = _mm256_packus_epi32(c1_bf16_round8(_mm256_loadu_ps(src + i)), c1_bf16_round8(_mm256_loadu_ps(src + i + 8)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)));
    }
    for (; i + 8 <= n; i += 8) {
        const __m256i r = c1_bf16_round8(_mm256_loadu_ps(src + i));
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

/* --- micro-kernels of the conversion kind ------------------------------------------------------------------ */

/* 8 sums rounded once to the output type, as 8 16-bit values. */
static inline __attribute__((always_inline)) __m128i to16(__m256 v, const int f16)
{
    if (f16) return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i r = c1_bf16_round8(v);
    return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
}

/* direct_avx2.c's M x (8*NV) fp32 tile on widened input, with the starts and stores of direct16.h: the sums are
 * rounded in registers and stored as 16 bits (a partial vector through a small buffer, AVX2 having no 16-bit
 * masked store). M, NV and f16 are constants at every call site. */
static inline __attribute__((always_inline)) void tile_w(const c1_direct16_tile *t, const int M, const int NV,
                                                         const int f16)
{
    __m256 acc[C1_DIRECT_MAX_MR][2];
    if (t->init) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __m256 b = _mm256_loadu_ps(t->init + 8 * v);
#pragma GCC unroll 6
            for (int m = 0; m < M; m++) acc[m][v] = b;
        }
    } else {
#pragma GCC unroll 6
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[m][v] = _mm256_loadu_ps(t->acc + m * t->acc_row + 8 * v);
    }
    const ptrdiff_t xs = t->x_row;
    const float *xr = t->x, *wr = t->w;
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const float *xc = xr, *wc = wr;
        for (int64_t c = 0; c < t->kc; c++, xc++, wc += 8 * NV) {
            __m256 wv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) wv[v] = _mm256_load_ps(wc + 8 * v);
#pragma GCC unroll 6
            for (int m = 0; m < M; m++) {
                const __m256 xb = _mm256_broadcast_ss(xc + m * xs);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[m][v] = _mm256_fmadd_ps(xb, wv[v], acc[m][v]);
            }
        }
    }
    if (!t->y) {
#pragma GCC unroll 6
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) _mm256_storeu_ps(t->acc + m * t->acc_row + 8 * v, acc[m][v]);
        return;
    }
    if (!f16 && NV == 2 && t->nvalid == 16) {
        /* Whole bf16 rows of 16: one pack and one store for both vectors. */
#pragma GCC unroll 6
        for (int m = 0; m < M; m++) {
            const __m256i p = _mm256_packus_epi32(c1_bf16_round8(acc[m][0]), c1_bf16_round8(acc[m][NV - 1]));
            const __m256i h = _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0));
            if (t->stream)
                _mm256_stream_si256((__m256i *)(t->y + m * t->y_row), h);
            else
                _mm256_storeu_si256((__m256i *)(t->y + m * t->y_row), h);
        }
        return;
    }
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        const int n = t->nvalid - 8 * v;
        if (n <= 0) break;
#pragma GCC unroll 6
        for (int m = 0; m < M; m++) {
            uint16_t *p = t->y + m * t->y_row + 8 * v;
            const __m128i h = to16(acc[m][v], f16);
            if (t->stream) {
                _mm_stream_si128((__m128i *)p, h);
            } else if (n >= 8) {
                _mm_storeu_si128((__m128i *)p, h);
            } else {
                uint16_t part[8];
                _mm_storeu_si128((__m128i *)part, h);
                for (int j = 0; j < n; j++) p[j] = part[j];
            }
        }
    }
}

#define KERNEL(M, NV)                                                               \
    static void kb_##M##_##NV(const c1_direct16_tile *t) { tile_w(t, M, NV, 0); } \
    static void kh_##M##_##NV(const c1_direct16_tile *t) { tile_w(t, M, NV, 1); }
KERNEL(1, 2)
KERNEL(2, 2)
KERNEL(3, 2)
KERNEL(4, 2)
KERNEL(5, 2)
KERNEL(6, 2)

#define ROWS_4(P) P##_1_2, P##_2_2, P##_3_2, P##_4_2
#define ROWS_6(P) ROWS_4(P), P##_5_2, P##_6_2

static const c1_direct16_kernels bf16_tables[] = {{6, 16, {ROWS_6(kb)}}, {4, 16, {ROWS_4(kb)}}};
static const c1_direct16_kernels f16_tables[] = {{6, 16, {ROWS_6(kh)}}, {4, 16, {ROWS_4(kh)}}};

const c1_direct16_kernels *c1_direct16_avx2_kernels(int mr, int nr, conv1d_dtype t)
{
    const c1_direct16_kernels *tables = t == CONV1D_F16 ? f16_tables : bf16_tables;
    for (size_t i = 0; i < sizeof bf16_tables / sizeof bf16_tables[0]; i++)
        if (tables[i].mr == mr && tables[i].nr == nr) return &tables[i];
    return NULL;
}
