/*
 * Internal: the direct family on 16-bit tensors (bf16, f16): variants/cpu/direct16*.c.
 *
 * Two kinds of kernels share one driver (direct16.c):
 *   - native bf16 (AVX512_BF16): one micro-kernel call computes a tile of `rows` output positions x NR output
 *     channels with vdpbf16ps, reading the caller's bf16 input directly; the weights are packed in pairs of
 *     input channels (see c1_direct16_tile), the sums stay fp32 and are rounded once at the store;
 *   - conversion on load (AVX2, AVX-512): blocks of the input are widened into an fp32 scratch tile, the fp32
 *     kernels of direct.h run on it into an fp32 output tile, which is then narrowed once into y. The widening
 *     and narrowing routines are declared here.
 */
#ifndef CONV1D_DIRECT16_H
#define CONV1D_DIRECT16_H

#include <stddef.h>
#include <stdint.h>

#include "direct.h"

/* One native micro-kernel call. Strides are in 16-bit elements (x, w) or floats (acc). Row m, tap r reads the
 * kc input channels at x[m*x_row + r*x_tap + c], two at a time (one 32-bit broadcast per pair; an odd last
 * channel is read alone, never past it), against the weights at w[r*w_tap + p*2*NR ...]: for pair p, the 2*NR
 * bf16 values (w[k][2p], w[k][2p+1]) for k = 0..NR-1, interleaved. Where the tile starts from and where it
 * goes:
 *   init set:    starts from init[0..NR) (bias or zeros); otherwise from acc[m*acc_row + j] (earlier channels)
 *   y set:       rounds once to bf16 and stores y[m*y_row + j] for j < nvalid;
 *                otherwise stores the fp32 sums into acc[m*acc_row + j] for all j < NR */
typedef struct c1_direct16_tile {
    const uint16_t *x;
    const uint16_t *w;
    const float *init;
    float *acc;
    uint16_t *y;
    ptrdiff_t x_row, x_tap, w_tap, y_row, acc_row;
    int64_t taps, kc; /* taps may be 0: the tile is then just its starting values */
    int nvalid;       /* output channels of the block to store, 1..NR */
} c1_direct16_tile;

typedef void (*c1_direct16_ukr)(const c1_direct16_tile *t);

/* The kernels of one register tile: ukr[rows - 1] handles 1 <= rows <= mr. */
typedef struct c1_direct16_kernels {
    int mr, nr;
    c1_direct16_ukr ukr[C1_DIRECT_MAX_MR];
} c1_direct16_kernels;

/* The AVX512_BF16 table for an mr x nr tile, or NULL. Callable anywhere; the kernels only after the ISA check. */
const c1_direct16_kernels *c1_direct16_avx512bf16_kernels(int mr, int nr);

/* Conversions between n 16-bit values and floats: widening is exact, narrowing rounds to nearest even (NaN
 * stays NaN), as core/half.h does one value at a time. One set per ISA file, callable after its CPU check. */
typedef void (*c1_widen_fn)(const uint16_t *src, float *dst, int64_t n);
typedef void (*c1_narrow_fn)(const float *src, uint16_t *dst, int64_t n);

void c1_direct16_avx2_widen_bf16(const uint16_t *src, float *dst, int64_t n);
void c1_direct16_avx2_widen_f16(const uint16_t *src, float *dst, int64_t n);
void c1_direct16_avx2_narrow_bf16(const float *src, uint16_t *dst, int64_t n);
void c1_direct16_avx2_narrow_f16(const float *src, uint16_t *dst, int64_t n);
void c1_direct16_avx512_widen_bf16(const uint16_t *src, float *dst, int64_t n);
void c1_direct16_avx512_widen_f16(const uint16_t *src, float *dst, int64_t n);
void c1_direct16_avx512_narrow_bf16(const float *src, uint16_t *dst, int64_t n);
void c1_direct16_avx512_narrow_f16(const float *src, uint16_t *dst, int64_t n);

/* Test hook: forces the input-channel block (kc, rounded up to even), the position block (ob) and the
 * output-channel blocks per task (kbc) of states prepared after the call; 0 restores the cache-derived choice.
 * Not thread-safe against concurrent prepare(). */
void c1_direct16_test_blocking(int64_t kc, int64_t ob, int64_t kbc);

#endif
