/*
 * AVX2 micro-kernels of the direct family: an M x (8*NV) output tile in M*NV ymm accumulators, the same scheme
 * as direct_avx512.c with 16 vector registers. Compiled with -mavx2 -mfma; called only after the driver's CPU
 * check.
 */
#include <immintrin.h>
#include <stdbool.h>

#include "direct.h"

/* M and NV are constants at every call site, so the loops unroll and acc stays in registers. */
static inline __attribute__((always_inline)) void tile_avx2(const c1_direct_tile *t, const int M, const int NV)
{
    __m256 acc[C1_DIRECT_MAX_MR][2];
    __m256i mask[2];
    bool full[2];
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        const int n = t->nvalid - 8 * v;
        full[v] = n >= 8;
        mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    }
    if (t->init) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __m256 b = _mm256_loadu_ps(t->init + 8 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) acc[m][v] = b;
        }
    } else {
#pragma GCC unroll 14
        for (int m = 0; m < M; m++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[m][v] = _mm256_maskload_ps(t->y + m * t->y_row + 8 * v, mask[v]);
    }
    const ptrdiff_t xs = t->x_row;
    const float *xr = t->x, *wr = t->w;
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const float *xc = xr, *wc = wr;
        for (int64_t c = 0; c < t->kc; c++, xc++, wc += 8 * NV) {
            __m256 wv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) wv[v] = _mm256_load_ps(wc + 8 * v);
#pragma GCC unroll 14
            for (int m = 0; m < M; m++) {
                const __m256 xb = _mm256_broadcast_ss(xc + m * xs);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[m][v] = _mm256_fmadd_ps(xb, wv[v], acc[m][v]);
            }
        }
    }
#pragma GCC unroll 14
    for (int m = 0; m < M; m++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            float *p = t->y + m * t->y_row + 8 * v;
            if (full[v])
                _mm256_storeu_ps(p, acc[m][v]);
            else
                _mm256_maskstore_ps(p, mask[v], acc[m][v]);
        }
}

#define KERNEL(M, NV) \
    static void k_##M##_##NV(const c1_direct_tile *t) { tile_avx2(t, M, NV); }
#define KERNELS_6(NV) KERNEL(1, NV) KERNEL(2, NV) KERNEL(3, NV) KERNEL(4, NV) KERNEL(5, NV) KERNEL(6, NV)
KERNELS_6(1)
KERNEL(7, 1)
KERNEL(8, 1)
KERNEL(9, 1)
KERNEL(10, 1)
KERNEL(11, 1)
KERNEL(12, 1)
KERNELS_6(2)

#define ROWS_4(NV) k_1_##NV, k_2_##NV, k_3_##NV, k_4_##NV
#define ROWS_6(NV) ROWS_4(NV), k_5_##NV, k_6_##NV
#define ROWS_12(NV) ROWS_6(NV), k_7_##NV, k_8_##NV, k_9_##NV, k_10_##NV, k_11_##NV, k_12_##NV

static const c1_direct_kernels tables[] = {
    {6, 16, {ROWS_6(2)}},
    {4, 16, {ROWS_4(2)}},
    {12, 8, {ROWS_12(1)}},
};

const c1_direct_kernels *c1_direct_avx2_kernels(int mr, int nr)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (tables[i].mr == mr && tables[i].nr == nr) return &tables[i];
    return NULL;
}

/* dst[c*ds + r] = src[r*ss + c] for r < rows, c < cols: 8x8 blocks transposed in registers, scalar edges. */
void c1_direct_avx2_transpose(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds, int64_t rows, int64_t cols)
{
    const int64_t rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
    for (int64_t r = 0; r < rows8; r += 8)
        for (int64_t c = 0; c < cols8; c += 8) {
            const float *s = src + r * ss + c;
            const __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + ss), a2 = _mm256_loadu_ps(s + 2 * ss),
                         a3 = _mm256_loadu_ps(s + 3 * ss), a4 = _mm256_loadu_ps(s + 4 * ss),
                         a5 = _mm256_loadu_ps(s + 5 * ss), a6 = _mm256_loadu_ps(s + 6 * ss),
                         a7 = _mm256_loadu_ps(s + 7 * ss);
            const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
            const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
            const __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
            const __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *d = dst + c * ds + r;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = r < rows8 ? cols8 : 0; c < cols; c++) dst[c * ds + r] = src[r * ss + c];
}
