/*
 * AVX512_BF16 micro-kernels of the direct family on bf16 tensors: an M x (16*NV) output tile in M*NV zmm fp32
 * accumulators (NV <= 2). Input channels c and c+1 of one position are adjacent 16-bit values, so one 32-bit broadcast
 * of the pair feeds vdpbf16ps (acc += x[c]*w[k][c] + x[c+1]*w[k][c+1] for 16 output channels k) against a
 * weight vector holding the pairs interleaved (direct16.h). An odd last channel is broadcast alone,
 * zero-extended, so nothing past it is read, and the weights' second halves are masked to zero there, so a
 * weight beyond the run never meets the zero (the flat packings of direct16.c hold real weights there).
 *
 * vdpbf16ps and vcvtneps2bf16 treat denormal inputs as zero and flush denormal results (the instructions do
 * not consult MXCSR); outputs that small lie far inside the checker's accumulation bound. The sums are fp32
 * throughout and rounded once to nearest even at the store.
 * Compiled with the AVX-512 flags plus -mavx512bf16; called only after the driver's ISA check.
 */
#include <immintrin.h>
#include <string.h>

#include "direct16.h"

/* The pair (p[0], p[1]) in every 32-bit lane; p need only be 2-byte aligned. */
static inline __attribute__((always_inline)) __m512i bcast_pair(const uint16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* M and NV are constants at every call site, so the loops unroll and acc stays in registers. */
static inline __attribute__((always_inline)) void tile_bf16(const c1_direct16_tile *t, const int M, const int NV)
{
    __m512 acc[C1_DIRECT_MAX_MR][2];
    if (t->init) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __m512 b = _mm512_loadu_ps(t->init + 16 * v);
#pragma GCC unroll 16
            for (int m = 0; m < M; m++) acc[m][v] = b;
        }
    } else {
#pragma GCC unroll 16
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[m][v] = _mm512_loadu_ps(t->acc + m * t->acc_row + 16 * v);
    }
    const ptrdiff_t xs = t->x_row;
    const int64_t pairs = t->kc / 2;
    const uint16_t *xr = t->x, *wr = t->w; /* the native kind's pairs */
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const uint16_t *xc = xr, *wc = wr;
        for (int64_t p = 0; p < pairs; p++, xc += 2, wc += 32 * NV) {
            __m512i wv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) wv[v] = _mm512_load_si512(wc + 32 * v);
#pragma GCC unroll 16
            for (int m = 0; m < M; m++) {
                const __m512bh xb = (__m512bh)bcast_pair(xc + m * xs);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], xb, (__m512bh)wv[v]);
            }
        }
        if (t->kc & 1) {
            /* The odd last channel: (x[c], 0) against (w[k][c], 0). */
            const __m512i lo = _mm512_set1_epi32(0xffff);
            __m512i wv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) wv[v] = _mm512_and_si512(_mm512_load_si512(wc + 32 * v), lo);
#pragma GCC unroll 16
            for (int m = 0; m < M; m++) {
                const __m512bh xb = (__m512bh)_mm512_set1_epi32((int32_t)xc[m * xs]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], xb, (__m512bh)wv[v]);
            }
        }
    }
    if (!t->y) {
#pragma GCC unroll 16
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(t->acc + m * t->acc_row + 16 * v, acc[m][v]);
        return;
    }
    if (t->stream) {
#pragma GCC unroll 16
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                _mm256_stream_si256((__m256i *)(t->y + m * t->y_row + 16 * v), (__m256i)_mm512_cvtneps_pbh(acc[m][v]));
        return;
    }
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        const int n = t->nvalid - 16 * v;
        if (n <= 0) break;
        const __mmask16 mask = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
#pragma GCC unroll 16
        for (int m = 0; m < M; m++)
            _mm256_mask_storeu_epi16(t->y + m * t->y_row + 16 * v, mask, (__m256i)_mm512_cvtneps_pbh(acc[m][v]));
    }
}

#define KERNEL(M, NV) \
    static void k_##M##_##NV(const c1_direct16_tile *t) { tile_bf16(t, M, NV); }
#define KERNELS_12(NV) KERNEL(1, NV) KERNEL(2, NV) KERNEL(3, NV) KERNEL(4, NV) KERNEL(5, NV) KERNEL(6, NV) \
    KERNEL(7, NV) KERNEL(8, NV) KERNEL(9, NV) KERNEL(10, NV) KERNEL(11, NV) KERNEL(12, NV)
KERNELS_12(1)
KERNELS_12(2)

#define ROWS_6(NV) k_1_##NV, k_2_##NV, k_3_##NV, k_4_##NV, k_5_##NV, k_6_##NV
#define ROWS_8(NV) ROWS_6(NV), k_7_##NV, k_8_##NV
#define ROWS_12(NV) ROWS_8(NV), k_9_##NV, k_10_##NV, k_11_##NV, k_12_##NV

/* The tiles that measured best on dense layers (all within a few percent of each other on 512 channels; 6 rows
 * for short outputs, 16 channels for layers whose width is an odd multiple of 16). */
static const c1_direct16_kernels tables[] = {
    {6, 32, {ROWS_6(2)}},
    {8, 32, {ROWS_8(2)}},
    {12, 32, {ROWS_12(2)}},
    {12, 16, {ROWS_12(1)}},
};

const c1_direct16_kernels *c1_direct16_avx512bf16_kernels(int mr, int nr)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (tables[i].mr == mr && tables[i].nr == nr) return &tables[i];
    return NULL;
}
