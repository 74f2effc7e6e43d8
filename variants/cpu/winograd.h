/*
 * Internal: the Winograd family (variants/cpu/winograd*.c).
 *
 * F(m, r) computes m outputs of an r-tap correlation from alpha = m + r - 1 inputs with alpha multiplies:
 *     y = AT [ (G g) . (BT d) ]        AT: m x alpha,  G: alpha x r,  BT: alpha x alpha
 * The matrices come from c1_winograd_transforms (Cook-Toom with the point at infinity, as in Lavin and Gray):
 * for finite points p_0..p_{alpha-2}, G's rows evaluate the filter polynomial, AT's columns evaluate the output
 * polynomial, and BT is the transposed inverse of the alpha x alpha evaluation (Vandermonde) matrix; each BT row
 * is scaled to a largest entry of 1 and G's row by the inverse, which keeps the data transform exact in small
 * integers and halves for the usual points 0, +-1, +-2, +-1/2.
 *
 * The transforms of many channels at once are the per-ISA part (winograd_avx512.c, winograd_avx2.c, both from
 * winograd_transforms.inc); the driver (winograd.c) packs G g once, runs the element-wise stage as alpha GEMMs on
 * the direct family's micro-kernels (direct.h), and owns blocking and threads.
 */
#ifndef CONV1D_WINOGRAD_H
#define CONV1D_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

/* Largest alpha = m + r - 1 of any registered tile. */
#define C1_WINOGRAD_MAX_ALPHA 12

/* Fills AT (m x alpha), G (alpha x r) and BT (alpha x alpha), row-major, in double: 0, or -1 when m, r are out
 * of range (m >= 1, r >= 1, m + r - 1 <= C1_WINOGRAD_MAX_ALPHA) or the points make the system singular. */
int c1_winograd_transforms(int m, int r, double *AT, double *G, double *BT);

/* The expected error of F(m, r) with this many input channels per group, as a fraction of max|ref| (measured
 * at 256 channels, grown with the square root beyond); INFINITY for a tile without a measurement. */
double c1_winograd_error_estimate(int m, int r, int64_t group_channels);


/* A transform's nonzero coefficients, row by row: row i uses coef[start[i] .. start[i+1]) at columns col[...]. */
typedef struct c1_winograd_sparse {
    int rows, cols;
    int start[C1_WINOGRAD_MAX_ALPHA + 1];
    int col[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA];
    float coef[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA];
} c1_winograd_sparse;

/* Input transform of one tile over n channels: v[xi * v_stride + c] = sum_j BT[xi][j] * rows[j][c]. rows[j] is
 * input row j of the tile (a zero row where the tile reaches into the padding). */
typedef void (*c1_winograd_in_fn)(const c1_winograd_sparse *bt, const float *const *rows, float *v,
                                  ptrdiff_t v_stride, int64_t n);
/* Output transform of one tile over n channels: for each of the `valid` rows i,
 * out[i] [k] = bias[k] + sum_xi AT[i][xi] * mv[xi * m_stride + k]. */
typedef void (*c1_winograd_out_fn)(const c1_winograd_sparse *at, const float *mv, ptrdiff_t m_stride,
                                   const float *bias, float *const *out, int valid, int64_t n);

typedef struct c1_winograd_isa {
    c1_winograd_in_fn in;
    c1_winograd_out_fn out;
} c1_winograd_isa;

/* The transforms compiled for each ISA; call only after the matching CPU check. */
extern const c1_winograd_isa c1_winograd_avx512;
extern const c1_winograd_isa c1_winograd_avx2;

#endif
