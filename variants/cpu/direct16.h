/*
 * Internal: the direct family on 16-bit tensors (bf16, f16): variants/cpu/direct16*.c.
 *
 * Two kinds of micro-kernels share one driver (direct16.c) and one tile description:
 *   - native bf16 (AVX512_BF16, direct16_avx512bf16.c): vdpbf16ps on the caller's bf16 input, the weights
 *     packed in pairs of input channels;
 *   - conversion on load (AVX2, AVX-512: direct16_avx2.c, direct16_avx512.c): FMA on fp32 input the driver has
 *     widened into a scratch tile, with the fp32 weight packing of direct.c.
 * Both keep an M x NR tile of fp32 sums in registers and round it once to the 16-bit type at the store.
 * The widening and narrowing routines the driver uses around them are declared here too.
 */
#ifndef CONV1D_DIRECT16_H
#define CONV1D_DIRECT16_H

#include <stddef.h>
#include <stdint.h>

#include "conv1d.h"
#include "direct.h"

/* One micro-kernel call. x and w are uint16_t (native kind) or float (conversion kind); strides are in those
 * elements, acc's in floats.
 *   native:      row m, tap r reads the kc input channels at x[m*x_row + r*x_tap + c] two at a time (one 32-bit
 *                broadcast per pair; an odd last channel is read alone, never past it) against, for pair p, the
 *                2*NR bf16 weights at w[r*w_tap + p*2*NR ...]: (w[k][2p], w[k][2p+1]) for k < NR, interleaved
 *   conversion:  row m, tap r, channel c reads x[m*x_row + r*x_tap + c] and the NR weights at w[r*w_tap + c*NR]
 * Where the tile starts from and where it goes:
 *   init set:    starts from init[0..NR) (bias or zeros); otherwise from acc[m*acc_row + j] (earlier channels)
 *   y set:       rounds once to the 16-bit type and stores y[m*y_row + j] for j < nvalid;
 *                otherwise stores the fp32 sums into acc[m*acc_row + j] for all j < NR */
typedef struct c1_direct16_tile {
    const void *x;
    const void *w;
    const float *init;
    float *acc;
    uint16_t *y;
    ptrdiff_t x_row, x_tap, w_tap, y_row, acc_row;
    int64_t taps, kc; /* taps may be 0: the tile is then just its starting values */
    int nvalid;       /* output channels of the block to store, 1..NR */
    int stream;       /* y set, nvalid == NR, y rows 32-byte aligned: store y with non-temporal stores */
} c1_direct16_tile;

typedef void (*c1_direct16_ukr)(const c1_direct16_tile *t);

/* The kernels of one register tile: ukr[rows - 1] handles 1 <= rows <= mr. */
typedef struct c1_direct16_kernels {
    int mr, nr;
    c1_direct16_ukr ukr[C1_DIRECT_MAX_MR];
} c1_direct16_kernels;

/* The table for an mr x nr tile storing dtype t (bf16 or f16), or NULL when the file has none. Callable anywhere;
 * the kernels only after the ISA check. */
const c1_direct16_kernels *c1_direct16_avx512bf16_kernels(int mr, int nr);
const c1_direct16_kernels *c1_direct16_avx512_kernels(int mr, int nr, conv1d_dtype t);
const c1_direct16_kernels *c1_direct16_avx2_kernels(int mr, int nr, conv1d_dtype t);

/* Conversions between n 16-bit values and floats: widening is exact, narrowing rounds to nearest even as core/half.h
 * does one value at a time (bf16: NaN stays NaN for NaNs whose low 16 bits are zero, the only ones the family's sums
 * produce). One set per ISA file, callable after its CPU check. */
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

#endif
