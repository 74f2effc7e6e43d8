/*
 * Internal: the blocked direct convolution family (variants/cpu/direct*.c).
 *
 * One micro-kernel call computes a tile of `rows` output positions x NR output channels of one group, over a
 * run of `taps` kernel taps and `kc` input channels, in registers. The driver (direct.c) packs the weights,
 * blocks over positions, output-channel blocks and input-channel blocks, and calls the per-ISA kernels
 * (direct_avx512.c, direct_avx2.c, or the portable ones in direct.c) through the tables declared here.
 */
#ifndef CONV1D_DIRECT_H
#define CONV1D_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv1d.h"

/* Largest register tile any kernel table provides. */
#define C1_DIRECT_MAX_MR 16

/* One micro-kernel call. Strides are in floats. Row m, tap r, channel c reads x[m*x_row + r*x_tap + c] and
 * the NR weights at w[r*w_tap + c*NR]; it writes y[m*y_row + j] for j < nvalid only, or with ncw set,
 * y[j*y_row + m]. */
typedef struct c1_direct_tile {
    const float *x;    /* row 0, first tap, first channel */
    const float *w;    /* packed weights of the first tap and channel: NR floats per channel */
    const float *init; /* NR starting values (bias or zeros), or NULL to add onto what y holds */
    float *y;          /* row 0, first output channel of the block */
    ptrdiff_t x_row, x_tap, w_tap, y_row;
    int64_t taps, kc; /* taps may be 0: the tile is then just init (or y unchanged) */
    int nvalid;       /* output channels of the block to store, 1..NR */
    int stream;       /* 1 (AVX-512 only): nvalid == NR and y rows 64-byte aligned; store with non-temporal stores */
    int ncw;          /* 1 (AVX-512 only, init set): store transposed, channels first */
} c1_direct_tile;

typedef void (*c1_direct_ukr)(const c1_direct_tile *t);

/* The kernels of one register tile: ukr[rows - 1] handles 1 <= rows <= mr. */
typedef struct c1_direct_kernels {
    int mr, nr;
    c1_direct_ukr ukr[C1_DIRECT_MAX_MR];
} c1_direct_kernels;

/* The kernel table for an mr x nr tile in each ISA file, or NULL when that file has no such tile. Callable on
 * any CPU; the kernels themselves only after the ISA check. */
const c1_direct_kernels *c1_direct_avx512_kernels(int mr, int nr);
const c1_direct_kernels *c1_direct_avx2_kernels(int mr, int nr);

/* dst[c*ds + r] = src[r*ss + c] for r < rows, c < cols (strides in floats); the AVX2 one only after its CPU check. */
typedef void (*c1_direct_transpose_fn)(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds, int64_t rows,
                                       int64_t cols);
void c1_direct_avx2_transpose(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds, int64_t rows, int64_t cols);


/* ---- rows of the drivers (direct.c, direct16.c) ----
 * A row tile is MR output positions of one image, or, for short rows of many images (decode steps), MR images at
 * one output position (batch_rows): chosen when that takes a quarter fewer kernel calls. Positions [lo, hi) have
 * their whole window inside the input; the others (edges) clip their taps, the same way for every image. */
static inline int64_t c1_direct_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static inline bool c1_direct_batch_rows(int64_t batch, int64_t out_len, int64_t mr)
{
    return batch > 1 && 4 * out_len * c1_direct_ceil_div(batch, mr) <= 3 * batch * c1_direct_ceil_div(out_len, mr);
}

/* The interior positions [lo, hi) of d's out_len outputs. */
static inline void c1_direct_interior(const conv1d_desc *d, int64_t out_len, int64_t *lo, int64_t *hi)
{
    const int64_t last = d->length - 1 + d->pad_left - d->dilation * (d->kernel_size - 1); /* largest full o*stride */
    const int64_t l = c1_direct_ceil_div(d->pad_left, d->stride);
    *lo = l < out_len ? l : out_len;
    *hi = last < 0 ? 0 : last / d->stride + 1 < out_len ? last / d->stride + 1 : out_len;
    if (*hi < *lo) *hi = *lo;
}

/* The taps [r_lo, r_hi) of output position o that land inside the input: all of them inside [lo, hi), none when
 * the window lies wholly in the padding. */
static inline void c1_direct_tap_range(const conv1d_desc *d, int64_t lo, int64_t hi, int64_t o, int64_t *r_lo,
                                       int64_t *r_hi)
{
    const int64_t i0 = o * d->stride - d->pad_left, dil = d->dilation, R = d->kernel_size;
    *r_lo = 0;
    *r_hi = R;
    if (o >= lo && o < hi) return;
    *r_lo = i0 >= 0 ? 0 : c1_direct_ceil_div(-i0, dil);
    *r_hi = i0 > d->length - 1 ? 0 : (d->length - 1 - i0) / dil + 1 < R ? (d->length - 1 - i0) / dil + 1 : R;
    if (*r_hi <= *r_lo) *r_lo = *r_hi = 0;
}

/* Rows of the tile at output position o with `left` rows of the block to go: up to MR images, or up to MR interior
 * positions, or one edge position. */
static inline int64_t c1_direct_tile_rows(bool batch_rows, int64_t lo, int64_t hi, int64_t o, int64_t mr,
                                          int64_t left)
{
    int64_t rows = left < mr ? left : mr;
    if (batch_rows) return rows;
    if (o < lo || o >= hi) return 1;
    return rows < hi - o ? rows : hi - o;
}

/* x (NCW) into xt (NWC), tiled and OpenMP-parallel: how the direct and Winograd families take NCW input. */
void c1_direct_ncw_to_nwc(const conv1d_desc *d, const float *x, float *xt, c1_direct_transpose_fn transpose);


#endif
