/*
 * Internal: the depthwise family's shared geometry and the per-ISA kernels behind it (depthwise.c holds
 * the variant ops, depthwise_avx512.c and depthwise_avx2.c the vector kernels).
 *
 * Depthwise here means num_groups == in_channels; out_channels = in_channels * mult, and output channel k
 * reads input channel k / mult. Weights need no packing: NWC's (kernel_size, 1, out_channels) is already
 * [tap][channel] and NCW's (out_channels, 1, kernel_size) is already one row of taps per output channel.
 */
#ifndef CONV1D_DEPTHWISE_H
#define CONV1D_DEPTHWISE_H

#include <stdbool.h>
#include <stdint.h>

#include "conv1d.h"

/* NWC work item: up to this many output positions by one channel block. */
#define C1_DW_NWC_POS_BLOCK 128
/* NWC channel blocks are as wide as possible, so each input row is read in long contiguous runs the hardware
 * prefetchers follow (narrow blocks read every row at a stride of C floats, which for C a multiple of 1 KiB
 * piles the rows into a few L1 sets), while the block's weights (kernel_size x block floats) stay within
 * about an L1's worth of bytes; never narrower than 64 channels. */
#define C1_DW_NWC_WEIGHT_BYTES 32768

/* The stride-1 NWC kernels slide P positions (six or eight) at a time along rows `row` elements of `elem` bytes apart,
 * channels innermost. Each new group of P starts P new input rows (R + P - 1 to R + 2P - 2 from the current group's
 * first, x at channel 0 of it), and the hardware prefetchers, which follow a row only once it has been read for a
 * while, leave the start of every row waiting on memory. Called for each vector of channels from c, this fetches
 * the next group's new rows into L2 one group ahead, once per cache line of channels. Only where the next group
 * is interior too (its rows exist). (Fetching the next group's output lines for writing as well, PREFETCHW, made
 * bf16 Mamba at AVX2 slower: p10 1.65-1.89 ms against 1.53-1.54.) */
static inline void c1_dw_prefetch_next(const void *x, int64_t c, int64_t row, int64_t R, int P, size_t elem)
{
    if ((size_t)c * elem % 64 != 0) return;
    const size_t step = (size_t)row * elem;
    const char *xp = (const char *)x + (size_t)c * elem + (size_t)(R + P - 1) * step;
    /* An instruction, not __builtin_prefetch: GCC 12's dead-code pass deletes a block of four or more of those. */
    for (int j = 0; j < P; j++) __asm__ volatile("prefetcht1 %0" : : "m"(*(xp + (size_t)j * step)));
}

/* The widest NWC channel block for a kernel size: a multiple of 16. */
static inline int64_t c1_dw_nwc_max_channel_block(int64_t kernel_size)
{
    const int64_t cb = C1_DW_NWC_WEIGHT_BYTES / (int64_t)(4 * kernel_size) / 16 * 16;
    return cb < 64 ? 64 : cb;
}

/* The NWC channel block for a layer: the channels split evenly into as few blocks as the widest allows,
 * rounded up to a multiple of granule (the last block takes what is left). The granule is 16 channels, or 32 with
 * a channel multiplier: whole pairs of AVX-512 vectors, so that no block starts mid-pair (with multiplier 32 every
 * pair of such a block would straddle two input channels and miss the multiplier kernel's register form). */
static inline int64_t c1_dw_nwc_channel_block(int64_t channels, int64_t kernel_size, int64_t granule)
{
    const int64_t max = c1_dw_nwc_max_channel_block(kernel_size), blocks = (channels + max - 1) / max;
    return ((channels + blocks - 1) / blocks + granule - 1) / granule * granule;
}

/* NCW stride-1 rows with this many taps go through the AVX-512 aligned-vector path (valignd instead of
 * line-splitting loads, see depthwise_avx512.c), up to six vectors of taps. Measured on 512 x 2048 out of cache
 * (same runs): slower than the unaligned loads up to 17 taps (k 5: 0.40 against 0.28 ms, k 9: 0.40 / 0.30, k 17:
 * 0.43 / 0.39), faster from 21 (0.37 / 0.53) to 31 (0.47 / 0.79); in cache (256 x 1024) it was faster from 5 taps
 * on (10-40%, 1.6x at 33). So from 20 taps. A dilation splits the row into that many phases, each of which fills
 * its own buffer, so only small dilations take it. */
#define C1_DW_NCW_ALIGNED_MIN_TAPS 20
#define C1_DW_NCW_ALIGNED_MAX_TAPS 96
#define C1_DW_NCW_ALIGNED_MAX_DILATION 4

/* NWC at stride 1 with a window ((kernel_size - 1) * dilation rows) of C1_DW_NWC_BUFFER_MIN_SPAN to
 * C1_DW_NWC_BUFFER_MAX_SPAN rows, and at least C1_DW_NWC_BUFFER_MIN_TAPS taps, goes through a per-thread buffer
 * (AVX-512): the block's input rows, C1_DW_NWC_BUFFER_CHANNELS channels at a time, are copied at a row stride of an
 * odd number of cache lines (the tensor's own stride of C floats puts a window's rows in one or two L1 sets when C
 * is a multiple of 256), the weights are packed the same way, and zero rows stand for the padding, so the edges
 * run the sliding kernel too. Measured (QuartzNet-like layers, 500 positions, same run): k 87 dilation 2 on 512
 * channels 50 -> 133 GFLOP/s, on 256 channels 79 -> 118; k 87 dilation 1 105 -> 118; but k 33 (a 32-row window)
 * 132 -> 85 on 256 channels over 1024 positions, where the tensor's rows were already fast and the copy is not
 * paid back, so shorter windows stay unbuffered. */
#define C1_DW_NWC_BUFFER_MIN_TAPS 8
#define C1_DW_NWC_BUFFER_MIN_SPAN 64
#define C1_DW_NWC_BUFFER_MAX_SPAN 512
#define C1_DW_NWC_BUFFER_CHANNELS 128

/* The buffered path's row stride for a channel block: whole vectors, an odd number of cache lines. */
static inline int64_t c1_dw_nwc_buffer_stride(int64_t channels)
{
    const int64_t lines = (channels + 15) / 16;
    return 16 * (lines % 2 ? lines : lines + 1);
}

/* NCW work item: this many output positions of one (batch, channel) row, so long rows still split. */
#define C1_DW_NCW_POS_BLOCK 2048

typedef struct c1_dw_geom {
    int64_t length, out_length, in_channels, out_channels, mult;
    int64_t kernel_size, stride, dilation, pad_left;
    /* [full_lo, full_hi): the output positions whose taps all fall inside the input (possibly empty). */
    int64_t full_lo, full_hi;
} c1_dw_geom;

/* The taps [*r0, *r1) of output position o that fall inside the input; empty when *r0 >= *r1. */
static inline void c1_dw_taps(const c1_dw_geom *g, int64_t o, int64_t *r0, int64_t *r1)
{
    const int64_t i0 = o * g->stride - g->pad_left, last = g->length - 1 - i0;
    const int64_t lo = i0 >= 0 ? 0 : (-i0 + g->dilation - 1) / g->dilation;
    const int64_t hi = last < 0 ? 0 : last / g->dilation + 1;
    *r0 = lo;
    *r1 = hi < g->kernel_size ? hi : g->kernel_size;
}

/* With a channel multiplier m, the vector of output channels [k, k + vl) reads the input channels from k / m on:
 * returns k / m and sets lane j of idx to (k + j) / m - k / m, the permute that spreads them over the lanes. */
static inline int64_t c1_dw_mult_lanes(int64_t k, int64_t m, int vl, int32_t *idx)
{
    const int64_t c = k / m;
    for (int j = 0; j < vl; j++) idx[j] = (int32_t)((k + j) / m - c);
    return c;
}

/* Outputs [o0, o1) of one NCW row: y[o] = b + sum_r w[r] * x[o*stride - pad_left + r*dilation] over the taps
 * inside the input. Tap by tap, each over the outputs whose input it reaches, so the inner loop is an axpy the
 * compiler vectorises and no output waits on a chain of dependent adds: the edges of every vector kernel, the
 * strides they have no vector path for, and the whole of the portable one. */
static inline void c1_dw_ncw_row_taps(const c1_dw_geom *g, const float *restrict x, const float *restrict w,
                                      float b, float *restrict y, int64_t o0, int64_t o1)
{
    const int64_t S = g->stride, L = g->length;
    for (int64_t o = o0; o < o1; o++) y[o] = b;
    for (int64_t r = 0; r < g->kernel_size; r++) {
        const int64_t shift = r * g->dilation - g->pad_left; /* output o reads input o*S + shift */
        int64_t lo = shift >= 0 ? 0 : (-shift + S - 1) / S;
        int64_t hi = L - 1 - shift < 0 ? 0 : (L - 1 - shift) / S + 1;
        lo = lo < o0 ? o0 : lo;
        hi = hi > o1 ? o1 : hi;
        if (lo >= hi) continue;
        const float *restrict xr = x + (lo * S + shift);
        float *restrict yr = y + lo;
        const float wr = w[r];
        const int64_t n = hi - lo;
        /* omp simd: -O2's cost model would not vectorise a loop of unknown trip count at all */
        if (S == 1) {
#pragma omp simd
            for (int64_t i = 0; i < n; i++) yr[i] += xr[i] * wr;
        } else {
#pragma omp simd
            for (int64_t i = 0; i < n; i++) yr[i] += xr[i * S] * wr;
        }
    }
}

/* NCW rows at stride 3 or more are first split into their stride phases (depthwise.c): phase p of a row holds
 * x[S*j + p] for every j, zeros outside the row, so each tap r of output o reads tap[r][o] at unit stride
 * (tap[r] points into the phase of r*dilation - pad_left at the right offset). Up to this many taps. */
#define C1_DW_PHASE_MAX_TAPS 64

/* Outputs [o0, o1) of nrows (1..4) rows that read the same input row through its phase-split taps:
 * y[j][o] = b[j] + sum_r w[j*R + r] * tap[r][o]. The portable form; the AVX-512 one loads each vector of
 * inputs once for the four rows. */
static inline void c1_dw_ncw_phase_taps(const float *const *tap, const float *w, int64_t R, const float *b,
                                        float *const *y, int nrows, int64_t o0, int64_t o1)
{
    for (int j = 0; j < nrows; j++) {
        float *restrict yj = y[j];
        for (int64_t o = o0; o < o1; o++) yj[o] = b[j];
        for (int64_t r = 0; r < R; r++) {
            const float *restrict xr = tap[r];
            const float wr = w[j * R + r];
#pragma omp simd
            for (int64_t o = o0; o < o1; o++) yj[o] += xr[o] * wr;
        }
    }
}

/*
 * The vector kernels. nwc: batch n, output positions [o0, o1), channels [c0, c1) (mult must be 1);
 * x and y are the whole tensors, w the (kernel_size, channels) weights, bias one value per channel (zeros
 * without bias). ncw: outputs [o0, o1) of one row; x, w, y point at that row's input, taps and output.
 */
void c1_dw_nwc_avx512(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                      int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw_ncw_avx512(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1);
/* NWC with a channel multiplier (mult > 1), the same arguments: channels [c0, c1) are output channels, a
 * multiple of 16 from c0. It works out which input channels each vector reads for up to C1_DW_NWC_MULT_CHANNELS
 * output channels at a time. */
#define C1_DW_NWC_MULT_CHANNELS 512
void c1_dw_nwc_mult_avx512(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                           int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
/* NWC through a buffer (see C1_DW_NWC_BUFFER_MIN_TAPS): the block's input rows, channels [c0, c1), copied into buf
 * at a row stride of bs floats with zero rows for the padding; wb the block's weights at the same stride (tap r at
 * wb + r*bs). buf holds (o1 - o0 + (kernel_size - 1) * dilation) * bs floats. */
void c1_dw_nwc_buffered_avx512(const c1_dw_geom *g, const float *x, const float *wb, int64_t bs, const float *bias,
                               float *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1, float *buf);
void c1_dw_ncw_phase_taps_avx512(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                                 int nrows, int64_t o0, int64_t o1);
void c1_dw_ncw_phase_taps_avx2(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                               int nrows, int64_t o0, int64_t o1);
/* depthwise_nt__avx2 in NCW (stride 3 or more, through the phase split): c1_dw_ncw_phase_taps_avx2 for four rows whose
 * outputs share their alignment, with streaming stores from the rows' first 64-byte boundary on (first layers whose
 * output leaves the cache: wav2vec2's 1 -> 512 writes 6.5 MB). The four rows of a call are k, k + P, k + 2P, k + 3P,
 * P = c1_dw_ncw_stream_period(out_length): rows P apart start 32 bytes apart times a whole number, whatever the
 * length. So the variant takes multipliers of 4P and at most C1_DW_MULT_REG_TAPS taps (the passes' constants). */
void c1_dw_ncw_phase_taps_stream_avx2(const float *const *tap, const float *w, int64_t R, const float *b,
                                      float *const *y, int nrows, int64_t o0, int64_t o1);
static inline int64_t c1_dw_ncw_stream_period(int64_t out_length)
{
    return 8 >> __builtin_ctzll((unsigned long long)out_length | 8); /* 8 / gcd(out_length, 8) */
}
void c1_dw_nwc_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                    int64_t o0, int64_t o1, int64_t c0, int64_t c1);
/* depthwise_nt__avx2: c1_dw_nwc_mult_avx2's register form (mult a multiple of 8, up to C1_DW_MULT_REG_TAPS taps)
 * with streaming stores when y is 64-byte aligned and out_channels a multiple of 16, so every row of a pair of
 * vectors is one whole cache line: for first layers whose output leaves the cache anyway (wav2vec2's 1 -> 512). */
#define C1_DW_MULT_REG_TAPS 10
void c1_dw_nwc_mult_stream_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                                int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
/* c1_dw_nwc_mult_avx512's counterpart: channels [c0, c1) a multiple of 8 from c0. */
void c1_dw_nwc_mult_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                         int64_t o0, int64_t o1, int64_t c0, int64_t c1);
void c1_dw_ncw_avx2(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1);

/* Short rows (decode steps, many rows of a few positions): with mult 1 and both the input and the output length at
 * most C1_DW_SHORT_MAX_LEN (NCW) or C1_DW_SHORT_MAX_LEN_NWC, the SIMD variants compute eight channels at a time with
 * the positions in registers,
 * NCW rows transposed in and out in registers, instead of one call per NCW row (NCW) or clamped edge positions one
 * vector at a time (NWC). c1_dw_short_avx2 takes channels [c0, c1) (c0 a multiple of 8) of batch elements [n0, n1)
 * in either layout. wp holds the bias and weights packed per block of eight channels, so that a block reads one
 * contiguous run of them (at a row stride of out_channels floats the taps of a block sit in one L1 set when the
 * channels are a multiple of 1024). On the 64 x 2048 x 4 decode step, one thread, out of cache, NCW: 0.36-0.42 ms
 * with [tap][channel] rows, 0.34-0.37 packed, 0.17-0.19 (the copy's speed) with constants for weights, a bound:
 * what is left above the copy is the weights' traffic, not the transposes. Block b's bias at
 * wp + b*(kernel_size + 1)*8, its tap r at wp + (b*(kernel_size + 1) + 1 + r)*8, zeros past out_channels. The
 * AVX-512 variant calls it too. */
/* NCW takes the short path up to this length (its row kernel pays per row): one thread, 1536 channels, k 4 causal,
 * 12-16 MB out of cache, p10 ms, short path / row kernel / NWC: length 17: 3.2 / 12.5 / 3.3, 20: 3.9 / 11.2 / 3.4,
 * 24: 4.5 / 9.3 / 3.1, 32: 4.9 / 7.2 / 3.3; at 48 and 64 it lost (10.2 / 5.6, 7.6 / 4.6), and at 40 the row kernel
 * still takes twice NWC's time (6.1 against 2.8). */
#define C1_DW_SHORT_MAX_LEN 32
/* The input positions the short path holds, padding included (zero vectors for the padding, see depthwise_avx2.c). */
#define C1_DW_SHORT_SPAN 64
/* Channels per work item of the short path, and in NCW batch elements per work item: the kernel takes each block
 * of channels for all of them in turn, so the block's packed weights come from L1 after the first. On the decode
 * step above, one thread, out of cache: NCW 0.26-0.29 ms with one batch element per item, 0.20-0.22 with four (the
 * copy 0.20-0.24), 0.25-0.27 with eight; NWC (rows of channels, weights reused over the positions already) got
 * slower with more than one (0.245 -> 0.33), so it keeps one. */
#define C1_DW_SHORT_CHANNELS 256
#define C1_DW_SHORT_BATCH 4

/* NWC takes the short path only up to this length: one thread, 1536 channels, k 4 causal, 12-16 MB out of cache,
 * short path against the row kernel (p10, ms): length 4: 6.3 / 10.1, 8: 6.2 / 10.4, 12: 12.4 / 10.9, 16: 8.0 / 6.3
 * (NCW's short path beat its row kernel at every one of them). */
#define C1_DW_SHORT_MAX_LEN_NWC 8

/* Whether a layer takes the short path (the ISA aside). */
static inline bool c1_dw_short_fits(const c1_dw_geom *g, bool ncw)
{
    const int64_t span = (g->out_length - 1) * g->stride + (g->kernel_size - 1) * g->dilation + 1;
    const int64_t max = ncw ? C1_DW_SHORT_MAX_LEN : C1_DW_SHORT_MAX_LEN_NWC;
    return g->mult == 1 && g->length <= max && g->out_length <= max && span <= C1_DW_SHORT_SPAN &&
           g->pad_left + g->length <= C1_DW_SHORT_SPAN;
}

/* NCW rows of four inputs and four outputs (Mamba's k 4 decode step with its causal padding) take a form whose lanes
 * hold the channels of each block of eight in the order 0 2 4 6 1 3 5 7: lane j of the packed weights holds channel
 * c1_dw_short_lane(g, ncw, j). */
static inline bool c1_dw_short_paired(const c1_dw_geom *g) { return g->length == 4 && g->out_length == 4; }
static inline int64_t c1_dw_short_lane(const c1_dw_geom *g, bool ncw, int64_t j)
{
    return ncw && c1_dw_short_paired(g) ? j / 8 * 8 + j % 8 / 4 + 2 * (j % 4) : j;
}
void c1_dw_short_avx2(const c1_dw_geom *g, bool ncw, const float *x, const float *wp, float *y, int64_t n0, int64_t n1,
                      int64_t c0, int64_t c1);

#endif
