/*
 * Internal: the bf16 and f16 depthwise family (depthwise16.c holds the variant ops and the portable kernels,
 * depthwise16_avx2.c and depthwise16_avx512.inc the vector kernels, the latter compiled by depthwise16_avx512.c and
 * by depthwise16_avx512bf16.c, which adds the bf16 dot-product ones).
 *
 * x and y are the raw 16 bits of the descriptor's dtype and are read and written only in 16 bits: each kernel widens
 * what it loads (bf16: the bits shifted into the top half of a float; f16: F16C) and narrows what it stores (to
 * nearest even, once), with the weights and bias widened to fp32 at prepare and every sum accumulated in fp32.
 * The geometry (c1_dw_geom, c1_dw_taps, the NWC channel block) is the fp32 family's (depthwise.h).
 *
 * Weights are packed at prepare as fp32:
 *   NWC  per vector of VL channels, its taps contiguous: channel k's tap r at w[(k / VL) * R * VL + r * VL + k % VL]
 *        (VL = 8 for the portable and AVX2 kernels, 16 for AVX-512), so the taps of one vector of channels are one
 *        run of R * VL floats: the tensor's [tap][channel] rows, C floats apart, would put a long kernel's weights
 *        into a few L1 sets; the AVX2 bf16 kernels without a multiplier take each whole block of sixteen channels
 *        in the lane order of vpunpck[lh]wd (depthwise16_avx2.c): its first vector holds channels 0-3 and 8-11 of
 *        the block, its second 4-7 and 12-15 (a last block of fewer than sixteen stays in order);
 *   NCW  one row of R taps per channel, as the tensor has them.
 * The bias is K floats, zeros without one.
 */
#ifndef CONV1D_DEPTHWISE16_H
#define CONV1D_DEPTHWISE16_H

#include <stdbool.h>
#include <stdint.h>

#include "depthwise.h"
#include "half.h"

/* f16 to fp32 without branches, so a loop of them vectorises: the 15 bits shifted into fp32's place and scaled by
 * 2^112 (exact for normal and subnormal values alike), infinities and NaN selected by a mask. Equal to
 * c1_f16_to_f32 (the portable kernels'). */
static inline float c1_dw16_f16_widen(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, em = (uint32_t)(h & 0x7fffu) << 13;
    const uint32_t finite = c1_f32_bits(c1_bits_f32(em) * 0x1p112f);
    const uint32_t special = 0u - (uint32_t)((h & 0x7c00u) == 0x7c00u); /* all ones for infinities and NaN */
    return c1_bits_f32(sign | (finite & ~special) | ((0x7f800000u | em) & special));
}

/* fp32 to f16, rounded to nearest even, without branches (each case computed, one selected by masks), so a loop of
 * them vectorises. Equal to c1_f32_to_f16: normal results by rebiasing and rounding the 13 dropped bits in integer
 * operations; subnormal ones by one float addition of 2^-1 (fp32 then rounds at 2^-24, f16's last place); beyond
 * the range infinity; NaN keeps its top mantissa bits, quiet. */
static inline uint16_t c1_dw16_f16_narrow(float f)
{
    const uint32_t u = c1_f32_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    const uint32_t normal = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
    const uint32_t sub = c1_f32_bits(c1_bits_f32(a) + 0.5f) - 0x3f000000u; /* 0.5 + |f|: the last place is 2^-24 */
    const uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);
    const uint32_t is_nan = 0u - (uint32_t)(a > 0x7f800000u), is_big = 0u - (uint32_t)(a >= 0x477ff000u);
    const uint32_t is_sub = 0u - (uint32_t)(a < 0x38800000u);
    uint32_t r = (normal & ~is_sub) | (sub & is_sub);
    r = (r & ~is_big) | (0x7c00u & is_big);
    r = (r & ~is_nan) | (nan & is_nan);
    return (uint16_t)(sign | r);
}

/* NCW rows go through a window buffer of fp32 (on the stack, in L1): the inputs of a chunk of outputs, widened once
 * and zero outside the row (so no tap is clamped), split into the stride's phases (so every tap of a vector of
 * outputs is a unit-stride load), then each tap of each vector of outputs is one fp32 load from L1. The window of
 * a chunk of m outputs is S*m + (kernel_size - 1)*dilation + S floats plus a vector of slack per phase. */
#define C1_DW16_NCW_BUF 6144
#define C1_DW16_NCW_CHUNK 1024
/* NCW work item: this many output positions of one (batch, channel) row. */
#define C1_DW16_NCW_POS_BLOCK 2048

/* The window buffer of one chunk: phase p of the S phases at buf + p * plen holds x[i0 + S*j + p] for j < len, zero
 * outside the row, and tap r of the chunk's output t reads buf[off[r] + t] (c1_dw16_tap_offset). plen is the
 * layer's (the longest chunk's) phase length, len this chunk's (c1_dw16_phase_len of its m outputs). */
typedef struct c1_dw16_window {
    int64_t i0, plen, len, m; /* first input, phase stride, phase length filled, outputs in the chunk */
} c1_dw16_window;

/* The positions [*jlo, *jhi) of phase p of a window that fall inside the row (the rest are zeros). */
static inline void c1_dw16_phase_range(const c1_dw_geom *g, c1_dw16_window win, int64_t p, int64_t *jlo, int64_t *jhi)
{
    const int64_t S = g->stride, a = -win.i0 - p, b = g->length - win.i0 - p; /* S*j >= a and S*j < b */
    int64_t lo = a <= 0 ? 0 : (a + S - 1) / S, hi = b <= 0 ? 0 : (b + S - 1) / S;
    lo = lo < win.len ? lo : win.len;
    hi = hi < lo ? lo : hi > win.len ? win.len : hi;
    *jlo = lo;
    *jhi = hi;
}

/* The largest chunk of outputs whose window fits C1_DW16_NCW_BUF (at most C1_DW16_NCW_CHUNK); 0 when not even 16
 * outputs fit, and the row then takes the portable per-output form. */
static inline int64_t c1_dw16_ncw_chunk(const c1_dw_geom *g)
{
    const int64_t S = g->stride, span = (g->kernel_size - 1) * g->dilation;
    const int64_t m = (C1_DW16_NCW_BUF - span - S - 32 * S) / S;
    if (m < 16) return 0;
    return m > C1_DW16_NCW_CHUNK ? C1_DW16_NCW_CHUNK : m;
}

/* Tap r's offset into the window of a chunk: phase (r*D) mod S, (r*D) div S positions in (see c1_dw16_window);
 * output t of the chunk reads input i0 + S*t + r*D, which is phase (r*D) mod S at t + (r*D) div S. */
static inline int64_t c1_dw16_tap_offset(const c1_dw_geom *g, int64_t r, int64_t plen)
{
    const int64_t u = r * g->dilation;
    return (u % g->stride) * plen + u / g->stride;
}

/* The phase length of the windows of chunks of up to `chunk` outputs: chunk + span / S + 1 rounded up to 16
 * floats, plus 16 of slack (a vector read past the last output stays inside the phase). One length for every
 * chunk of a layer, so the taps' offsets are worked out once, at prepare. */
static inline int64_t c1_dw16_phase_len(const c1_dw_geom *g, int64_t chunk)
{
    const int64_t span = (g->kernel_size - 1) * g->dilation;
    return (chunk + span / g->stride + 1 + 15) / 16 * 16 + 16;
}

/* Short rows (decode steps: input and output lengths up to C1_DW16_SHORT_MAX_LEN, no channel multiplier) take one
 * kernel for both layouts and both SIMD variants, c1_dw16_short_avx2: eight channels at a time with every position
 * a vector, NCW's eight rows transposed in registers, the bias and weights packed per block of eight channels at
 * prepare (block b's bias at wp + b*(R + 1)*8, its tap r at wp + (b*(R + 1) + 1 + r)*8). Work items as in the fp32
 * family: C1_DW_SHORT_CHANNELS channels, and in NCW C1_DW_SHORT_BATCH batch elements innermost, so a block's packed
 * weights come from L1 after the first. */
#define C1_DW16_SHORT_MAX_LEN 8
#define C1_DW16_SHORT_SPAN 64

static inline bool c1_dw16_short_fits(const c1_dw_geom *g)
{
    const int64_t span = (g->out_length - 1) * g->stride + (g->kernel_size - 1) * g->dilation + 1;
    return g->mult == 1 && g->length <= C1_DW16_SHORT_MAX_LEN && g->out_length <= C1_DW16_SHORT_MAX_LEN &&
           span <= C1_DW16_SHORT_SPAN && g->pad_left + g->length <= C1_DW16_SHORT_SPAN;
}

/* A channel multiplier M > 1 (first layers: 1 -> 32, 1 -> 512; output channel k reads input channel k / M).
 *
 * NWC: the inputs that a tile of up to C1_DW16_MULT_POS output positions reads from one input channel are widened
 * into a run on the stack, xs[j] = x[o0*S - pad_left + j] (zero in the padding), so output o0 + t at tap r reads
 * xs[t*S + r*D]; every vector of that input channel's M output channels then takes each (position, tap) as one
 * broadcast from the run, against the packed weights (the NWC packing above, by output channel). The inputs are read
 * from x once for M output channels, and no tap is clamped. The vector kernels need M a multiple of their vector
 * length (so no vector of output channels straddles two input channels) and a run of at least one position;
 * otherwise they hand the block to the portable kernel. At AVX512_BF16 with M >= 64 the taps go in pairs for
 * vdpbf16ps (c1_dw16_nwc_mult_dot_avx512bf16).
 * NCW: each chunk of an input row is widened into the window once (as without a multiplier) and then feeds the taps
 * of C1_DW16_NCW_MULT_ROWS output rows, four at a time; at AVX512_BF16 in pairs of taps for vdpbf16ps
 * (c1_dw16_ncw_mult_dot_avx512bf16). */
#define C1_DW16_MULT_RUN 4096
#define C1_DW16_MULT_POS 96
#define C1_DW16_NCW_MULT_ROWS 64

/* Positions per run: 0 when not even one position's span fits. */
static inline int64_t c1_dw16_mult_positions(const c1_dw_geom *g)
{
    const int64_t span = (g->kernel_size - 1) * g->dilation + 1;
    if (span > C1_DW16_MULT_RUN) return 0;
    const int64_t t = (C1_DW16_MULT_RUN - span) / g->stride + 1;
    return t > C1_DW16_MULT_POS ? C1_DW16_MULT_POS : t;
}

/* The run of input channel ci for outputs [o0, o0 + nt) of batch element xn (x at that batch element). */
static inline void c1_dw16_mult_fill(const c1_dw_geom *g, bool bf, const uint16_t *xn, int64_t ci, int64_t o0,
                                     int64_t nt, float *xs)
{
    const int64_t C = g->in_channels, L = g->length, i0 = o0 * g->stride - g->pad_left;
    const int64_t n = (nt - 1) * g->stride + (g->kernel_size - 1) * g->dilation + 1;
    for (int64_t j = 0; j < n; j++) {
        const int64_t i = i0 + j;
        const uint16_t h = i >= 0 && i < L ? xn[i * C + ci] : 0; /* +0 in both types */
        xs[j] = bf ? c1_bf16_to_f32(h) : c1_f16_to_f32(h);
    }
}

/*
 * The kernels; bf: the dtype is bf16 (else f16).
 *
 * nwc: batch n, output positions [o0, o1), channels [c0, c1) (c0 a multiple of the kernel's vector length); x and y
 * the whole tensors, w the packed weights, bias K floats.
 * ncw_fill: the window of one chunk (c1_dw16_window) from the row x of length L into buf (64-byte aligned).
 * ncw_taps: outputs y[0, m) of one chunk, y[t] = b + sum_r w[r] * buf[off[r] + t], rounded once into y.
 * short: channels [c0, c1) (c0 a multiple of 8) of batch elements [n0, n1) in either layout.
 */
void c1_dw16_nwc_c(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                   int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_ncw_fill_c(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf);
void c1_dw16_ncw_taps_c(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b, uint16_t *y,
                        int64_t m);

/* NWC with a channel multiplier (g->mult > 1): the nwc kernels' arguments, channels [c0, c1) output channels with c0
 * a multiple of 16. The portable kernel takes the weights' packing vector length vl (8 or 16: the variant's). */
void c1_dw16_nwc_mult_c(const c1_dw_geom *g, bool bf, int vl, const uint16_t *x, const float *w, const float *bias,
                        uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_nwc_mult_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                           uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_nwc_mult_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                             uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_nwc_mult_avx512bf16(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                                 uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);

/* NCW with a channel multiplier: ncw_taps for four output rows of one window, row j's taps at w + j*R, its bias b[j],
 * its outputs at y + j*ys. */
void c1_dw16_ncw_taps4_c(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                         uint16_t *y, int64_t ys, int64_t m);
void c1_dw16_ncw_taps4_avx2(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                            uint16_t *y, int64_t ys, int64_t m);
void c1_dw16_ncw_taps4_avx512(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                              uint16_t *y, int64_t ys, int64_t m);
void c1_dw16_ncw_taps4_avx512bf16(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R,
                                  const float *b, uint16_t *y, int64_t ys, int64_t m);

void c1_dw16_nwc_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                      int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_ncw_fill_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf);
void c1_dw16_ncw_taps_avx2(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                           uint16_t *y, int64_t m);
/* NCW at stride 1 and dilation 1, AVX2: outputs from o0 on whose taps are all inside the row, straight from it, in
 * whole vectors up to o1; returns where it stopped (the rest, and the edges, go through the window). */
int64_t c1_dw16_ncw_interior_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b,
                                  uint16_t *y, int64_t o0, int64_t o1);
void c1_dw16_short_avx2(const c1_dw_geom *g, bool bf, bool ncw, const uint16_t *x, const float *wp, uint16_t *y,
                        int64_t n0, int64_t n1, int64_t c0, int64_t c1);

/* NCW at stride 1 and dilation 1 with up to this many taps: AVX-512 kernels straight from the row (valignd of widened
 * input vectors for the taps), without the window: outputs [o0, o1) of one row, x, w and y at that row. */
#define C1_DW16_NCW_ROW_MAX_TAPS 48
void c1_dw16_ncw_row_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b, uint16_t *y,
                            int64_t o0, int64_t o1);

void c1_dw16_nwc_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                        uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_ncw_fill_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf);
void c1_dw16_ncw_taps_avx512(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                             uint16_t *y, int64_t m);

/* depthwise_bf16__avx512bf16 (depthwise16_avx512bf16.c): the AVX-512 kernels above with vcvtneps2bf16 stores, and
 * two on vdpbf16ps, two taps per instruction. NWC at stride 1: channels [c0, c1) with c0 a multiple of 32, wdot the
 * taps' pairs packed per block of 32 channels (block b's pair s at wdot + (b*P2 + s)*32, P2 = ceil(R / 2): sixteen
 * lanes of channels 32b + 8k + j, then sixteen of 32b + 8k + 4 + j, k, j < 4; each lane tap 2s in its low half and
 * tap 2s + 1, or zero past the last tap, in its high half); w and bias as for nwc, for the edges and the channels
 * past the last whole block of 32. NCW at stride 1 and dilation 1: outputs [o0, o1) of one row in chunks of `chunk`
 * through buf (C1_DW16_NCW_BUF floats' room), wp the row's weights in pairs: S = R/2 + 1 even ones (w[2s] low,
 * w[2s + 1] high), then S odd ones (w[2s - 1] low, w[2s] high), zero for taps outside [0, R). */
void c1_dw16_nwc_avx512bf16(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                            uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_ncw_fill_avx512bf16(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf);
void c1_dw16_ncw_taps_avx512bf16(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                                 uint16_t *y, int64_t m);
void c1_dw16_ncw_row_avx512bf16(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b,
                                uint16_t *y, int64_t o0, int64_t o1);
/* NCW with a channel multiplier at AVX512_BF16: nk output rows of one chunk's window (buf, off as for ncw_taps, m
 * outputs), row j's taps paired as wp[j*R2 + s] = tap 2s (low) | tap 2s + 1 or zero (high), R2 = ceil(R / 2), its bias
 * b[j], its outputs at y + j*ys; P a 64-byte aligned scratch of R2 * (m rounded up to 16) lanes. */
#define C1_DW16_PAIR_BUF 4096
void c1_dw16_ncw_mult_dot_avx512bf16(const float *buf, const int64_t *off, int64_t R, const uint32_t *wp,
                                     const float *b, uint16_t *y, int64_t ys, int64_t nk, int64_t m, uint32_t *P);
/* NWC with a channel multiplier at AVX512_BF16 (M a multiple of 16, R >= 2, at least one position per tile of
 * pairs): the nwc kernels' arguments but the weights, paired per vector of 16 output channels (wpn: pair s of
 * channel k, tap 2s low and tap 2s + 1 or zero high, at (k/16 * R2 + s) * 16 + k % 16). */
static inline int64_t c1_dw16_pair_positions(int64_t R)
{
    const int64_t t = C1_DW16_PAIR_BUF / ((R + 1) / 2);
    return t > C1_DW16_MULT_POS ? C1_DW16_MULT_POS : t;
}
void c1_dw16_nwc_mult_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const uint32_t *wpn, const float *bias,
                                     uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw16_nwc_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const float *w, const uint32_t *wdot,
                                const float *bias, uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0,
                                int64_t c1);
void c1_dw16_ncw_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const uint32_t *wp, float b, uint16_t *y,
                                int64_t o0, int64_t o1, int64_t chunk, void *buf);

#endif
