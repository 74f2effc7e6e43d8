/*
 * AVX-512 micro-kernels of the direct family: an M x (16*NV) output tile in M*NV zmm accumulators; per input
 * channel NV weight vectors are loaded once and each row's input value is broadcast and FMA'd into them.
 * Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma; called only after the driver's CPU check.
 */
#include <immintrin.h>

#include "direct.h"

/* r[j] = column j of the 16x16 matrix whose rows are r[0..15]. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* Then lane L of r[4i + j] holds column 4L + j of rows 4i..4i+3. */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
        t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
        t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
        r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd);
    }
}

/* M and NV are constants at every call site, so the loops unroll and acc stays in registers. */
static inline __attribute__((always_inline)) void tile_avx512(const c1_direct_tile *t, const int M, const int NV)
{
    __m512 acc[C1_DIRECT_MAX_MR][3];
    __mmask16 mask[3];
#pragma GCC unroll 3
    for (int v = 0; v < NV; v++) {
        const int n = t->nvalid - 16 * v;
        mask[v] = n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
    }
    if (t->init) {
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            const __m512 b = _mm512_loadu_ps(t->init + 16 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) acc[m][v] = b;
        }
    } else {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) acc[m][v] = _mm512_maskz_loadu_ps(mask[v], t->y + m * t->y_row + 16 * v);
    }
    const ptrdiff_t xs = t->x_row;
    const float *xr = t->x, *wr = t->w;
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const float *xc = xr, *wc = wr;
        for (int64_t c = 0; c < t->kc; c++, xc++, wc += 16 * NV) {
            __m512 wv[3];
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) wv[v] = _mm512_load_ps(wc + 16 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) {
                const __m512 xb = _mm512_set1_ps(xc[m * xs]);
#pragma GCC unroll 3
                for (int v = 0; v < NV; v++) acc[m][v] = _mm512_fmadd_ps(xb, wv[v], acc[m][v]);
            }
        }
    }
    if (t->ncw) {
        const __mmask16 rows = (__mmask16)((1u << M) - 1);
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __m512 col[16];
#pragma GCC unroll 16
            for (int m = 0; m < 16; m++) col[m] = m < M ? acc[m][v] : _mm512_setzero_ps();
            transpose16(col);
            const int n = t->nvalid - 16 * v;
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                if (j < n) _mm512_mask_storeu_ps(t->y + (16 * v + j) * t->y_row, rows, col[j]);
        }
        return;
    }
    if (t->stream) {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) _mm512_stream_ps(t->y + m * t->y_row + 16 * v, acc[m][v]);
        return;
    }
#pragma GCC unroll 14
    for (int m = 0; m < M; m++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(t->y + m * t->y_row + 16 * v, mask[v], acc[m][v]);
}

#define KERNEL(M, NV) \
    static void k_##M##_##NV(const c1_direct_tile *t) { tile_avx512(t, M, NV); }
#define KERNELS_8(NV) KERNEL(1, NV) KERNEL(2, NV) KERNEL(3, NV) KERNEL(4, NV) KERNEL(5, NV) KERNEL(6, NV) \
    KERNEL(7, NV) KERNEL(8, NV)
KERNELS_8(1)
KERNEL(9, 1)
KERNEL(10, 1)
KERNEL(11, 1)
KERNEL(12, 1)
KERNEL(13, 1)
KERNEL(14, 1)
KERNEL(15, 1)
KERNEL(16, 1)
KERNELS_8(2)
KERNELS_8(3)

#define ROWS_4(NV) k_1_##NV, k_2_##NV, k_3_##NV, k_4_##NV
#define ROWS_6(NV) ROWS_4(NV), k_5_##NV, k_6_##NV
#define ROWS_8(NV) ROWS_6(NV), k_7_##NV, k_8_##NV
#define ROWS_12(NV) ROWS_8(NV), k_9_##NV, k_10_##NV, k_11_##NV, k_12_##NV
#define ROWS_14(NV) ROWS_12(NV), k_13_##NV, k_14_##NV
#define ROWS_16(NV) ROWS_14(NV), k_15_##NV, k_16_##NV

static const c1_direct_kernels tables[] = {
    {6, 32, {ROWS_6(2)}},   {8, 32, {ROWS_8(2)}},   {12, 16, {ROWS_12(1)}},
    {14, 16, {ROWS_14(1)}}, {4, 48, {ROWS_4(3)}},   {8, 48, {ROWS_8(3)}},   {16, 16, {ROWS_16(1)}},
};

const c1_direct_kernels *c1_direct_avx512_kernels(int mr, int nr)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (tables[i].mr == mr && tables[i].nr == nr) return &tables[i];
    return NULL;
}
