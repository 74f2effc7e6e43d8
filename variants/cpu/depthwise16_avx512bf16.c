/*
 * bf16 depthwise kernels for AVX512_BF16 (depthwise_bf16__avx512bf16); called only when the CPU has it.
 *
 * The AVX-512 kernels of depthwise16_avx512.inc, compiled here with bf16 rounded by vcvtneps2bf16 (DW16_CVTNE), and
 * two kernels built on vdpbf16ps, which multiplies pairs of bf16 lanes exactly and adds both products to an fp32
 * accumulator: two taps per instruction, twice the multiply-adds of an FMA, the only way past the fp32 FMA peak on
 * the long kernels (QuartzNet's k 33 is compute-bound in fp32: 33 FMAs per output against 4 bytes moved). The pairs
 * must be two taps of one output, in the two halves of one 32-bit lane:
 *
 *   NWC (vectors over channels, stride 1): two input rows r and r + 1 (32 channels each) interleaved by vpunpck[lh]wd
 *       give each channel's pair of taps in one lane, in the channel order 0-3, 8-11, ... (low) and 4-7, 12-15, ...
 *       (high); the weights are packed in that order at prepare, and one vcvtne2ps2bf16 and a permute of 64-bit
 *       quarters bring the two halves back to the channels' order at the store. Six outputs slide along the rows, so
 *       each step of two taps interleaves two new rows for twelve dot products.
 *   NCW (vectors over positions, stride 1, dilation 1): a row's bf16 elements read as 32-bit lanes from an even
 *       position hold pairs of consecutive inputs, which are the pairs of taps (2s, 2s + 1) of the even outputs and
 *       (2s - 1, 2s) of the odd ones; so the row, copied once per chunk into a zero-padded window on the stack (no
 *       widening), is read as such lanes, each vector of them feeding one dot product of even outputs and one of odd
 *       ones, whose sums are interleaved again at the store.
 *
 * vdpbf16ps treats subnormal inputs as zero and flushes subnormal results; bf16 tensors of real models (and the
 * tests' random data) hold none, and the checker would see one.
 */
#define DW16_NAME(f) f##_avx512bf16
#define DW16_CVTNE 1
#include "depthwise16_avx512.inc"

/* 32 bf16 from the fp32 sums of the even-position lanes `lo` and the odd-position lanes `hi`, in the order given by
 * the permute idx of 16-bit lanes; the integer rounding where either holds a subnormal (see narrow16). */
INLINE __m512i narrow_pair(__m512 lo, __m512 hi, __m512i idx)
{
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
    if (__builtin_expect((_mm512_fpclass_ps_mask(lo, 0x20) | _mm512_fpclass_ps_mask(hi, 0x20)) != 0, 0))
        h = _mm512_inserti64x4(_mm512_castsi256_si512(c1_bf16_round16(lo)), c1_bf16_round16(hi), 1);
    return _mm512_permutexvar_epi16(idx, h);
}

/* ---- NWC ---- */

/* The 16-bit lanes of cvtne2ps2bf16(hi, lo) in the channels' order: lo holds channels 8k + j (j < 4) in lane 4k + j,
 * hi channels 8k + 4 + j. */
static inline __m512i nwc_order(void)
{
    int16_t idx[32];
    for (int c = 0; c < 32; c++) idx[c] = (int16_t)((c % 8 < 4 ? 0 : 16) + c / 8 * 4 + c % 4);
    return _mm512_loadu_si512(idx);
}

/* Six outputs o, o + D, ..., o + 5D of one phase of the dilation by 32 channels, all taps inside the input: xp at the
 * first output's tap-0 row, xs = D rows, wd the block's packed pairs (pair s: low half at wd + 32 s, high half at
 * wd + 32 s + 16), yo at the first output, ys = D output rows. Output i's pair s reads rows i + 2s and i + 2s + 1
 * (rows counted in steps of D): I[m] interleaves rows m and m + 1, and step s uses I[2s .. 2s + 5], of which the next
 * step keeps four. An odd kernel's last tap pairs its row with zeros (never reading the row past the last tap). */
INLINE void nwc_dot_six(const uint16_t *xp, int64_t xs, const uint32_t *wd, int64_t R, __m512 blo, __m512 bhi,
                        uint16_t *yo, int64_t ys, __m512i order)
{
    __m512 alo[6], ahi[6];
    __m512i ilo[6], ihi[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) alo[i] = blo, ahi[i] = bhi;
    const int64_t P = R / 2; /* whole pairs */
    __m512i row = _mm512_loadu_si512(xp);
    if (P > 0) {
#pragma GCC unroll 6
        for (int m = 0; m < 6; m++) {
            const __m512i next = _mm512_loadu_si512(xp + (m + 1) * xs);
            ilo[m] = _mm512_unpacklo_epi16(row, next);
            ihi[m] = _mm512_unpackhi_epi16(row, next);
            row = next;
        }
    }
    /* row: row 6 (of the current step's window); each step appends I[2s + 6] and I[2s + 7] */
    for (int64_t s = 0; s < P; s++) {
        const __m512bh wlo = (__m512bh)_mm512_load_si512(wd + 32 * s), whi = (__m512bh)_mm512_load_si512(wd + 32 * s + 16);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            alo[i] = _mm512_dpbf16_ps(alo[i], (__m512bh)ilo[i], wlo);
            ahi[i] = _mm512_dpbf16_ps(ahi[i], (__m512bh)ihi[i], whi);
        }
        if (s + 1 < P) {
            const uint16_t *xr = xp + (2 * s + 7) * xs;
            const __m512i r7 = _mm512_loadu_si512(xr), r8 = _mm512_loadu_si512(xr + xs);
#pragma GCC unroll 4
            for (int m = 0; m < 4; m++) ilo[m] = ilo[m + 2], ihi[m] = ihi[m + 2];
            ilo[4] = _mm512_unpacklo_epi16(row, r7), ihi[4] = _mm512_unpackhi_epi16(row, r7);
            ilo[5] = _mm512_unpacklo_epi16(r7, r8), ihi[5] = _mm512_unpackhi_epi16(r7, r8);
            row = r8;
        }
    }
    if (R % 2) { /* the last tap, R - 1, of output i: row i + R - 1, paired with zeros */
        const __m512bh wlo = (__m512bh)_mm512_load_si512(wd + 32 * P), whi = (__m512bh)_mm512_load_si512(wd + 32 * P + 16);
        const __m512i z = _mm512_setzero_si512();
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            const __m512i r = _mm512_loadu_si512(xp + (i + R - 1) * xs);
            alo[i] = _mm512_dpbf16_ps(alo[i], (__m512bh)_mm512_unpacklo_epi16(r, z), wlo);
            ahi[i] = _mm512_dpbf16_ps(ahi[i], (__m512bh)_mm512_unpackhi_epi16(r, z), whi);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) _mm512_storeu_si512(yo + i * ys, narrow_pair(alo[i], ahi[i], order));
}

void c1_dw16_nwc_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const float *w, const uint32_t *wdot,
                                const float *bias, uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0,
                                int64_t c1)
{
    const int64_t C = g->in_channels, R = g->kernel_size, D = g->dilation, P2 = (R + 1) / 2;
    const uint16_t *xn = x + n * g->length * C;
    uint16_t *yn = y + n * g->out_length * C;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const int64_t cdot = c0 + (c1 - c0) / 32 * 32; /* whole blocks of 32 channels; the rest by FMAs */
    const __m512i order = nwc_order();
    const __m512i lo_ch = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    const __m512i hi_ch = _mm512_add_epi32(lo_ch, _mm512_set1_epi32(4));
    int64_t o = o0;
    for (; o < f0; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, true);
    for (; o + 6 * D <= f1; o += 6 * D)
        for (int64_t p = 0; p < D; p++) {
            const uint16_t *xo = xn + (o + p - g->pad_left) * C;
            uint16_t *yo = yn + (o + p) * C;
            const bool ahead = o + 12 * D <= f1; /* the next six positions are interior too */
            for (int64_t c = c0; c < cdot; c += 32) {
                if (ahead) c1_dw_prefetch_next(xo, c, D * C, R, 6, sizeof *xo);
                const __m512 b0 = _mm512_loadu_ps(bias + c), b1 = _mm512_loadu_ps(bias + c + 16);
                const __m512 blo = _mm512_permutex2var_ps(b0, lo_ch, b1), bhi = _mm512_permutex2var_ps(b0, hi_ch, b1);
                nwc_dot_six(xo + c, D * C, wdot + c / 32 * P2 * 32, R, blo, bhi, yo + c, D * C, order);
            }
            if (cdot < c1)
                for (int64_t i = 0; i < 6; i++) nwc_row(g, xn, w, bias, yo + i * D * C, o + p + i * D, cdot, c1, true);
        }
    for (; o < o1; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, true);
}

/* ---- NCW (stride 1, dilation 1) ----
 *
 * The window W holds the row's bf16 elements from the chunk's first input (zero outside the row), and A_j, its 32-bit
 * lane j, the pair (W[2j], W[2j + 1]). With w[r] = 0 outside [0, R), output t = 2j (even) is the sum over steps s of
 * dp(A_{j+s}, (w[2s], w[2s + 1])), and output 2j + 1 (odd) the sum of dp(A_{j+s}, (w[2s - 1], w[2s])): one vector of
 * pairs feeds both, so a step of NV vectors of even and NV of odd outputs is NV shifted vectors (a valignd each, from
 * aligned loads) for 2 NV dot products, which keeps the shuffles, on the pipes they share with vdpbf16ps, to half of
 * those. Steps s = 0 .. R/2. A pair's zero weight must not meet an element outside the output's window (0 times an
 * infinity there would make it NaN), so the first odd step clears the low halves, a last step whose high weight is past
 * the kernel clears the high halves, and an even kernel skips the last even step (both of its weights are past it). */

/* The steps of a kernel of R taps, and the number of vectors of steps (pass_aligned's nq). */
static inline int64_t dot_steps(int64_t R) { return R / 2 + 1; }

/* The window's length in elements for m outputs: whole passes of 32 outputs read up to 31 elements past the last
 * output, the steps two each, and a vector of slack (the aligned passes' last vector). */
static inline int64_t dot_window(int64_t m, int64_t R) { return (m + 31) / 32 * 32 + 2 * dot_steps(R) + 64; }

/* The aligned passes (below) take kernels of up to this many steps: three vectors of steps, so the window's vectors of
 * a pass (4 + 3 + 1) and the eight sums fit the 32 registers with room. */
#define DOT_ALIGNED_MAX_STEPS 48

/* Step s of output vectors i < nv: u the four (or fewer) vectors of pairs, we and wo the even and odd weights. */
INLINE void dot_step(const __m512i *u, __m512 *ae, __m512 *ao, uint32_t we, uint32_t wo, const int nv)
{
    const __m512bh e = (__m512bh)_mm512_set1_epi32((int)we), o = (__m512bh)_mm512_set1_epi32((int)wo);
#pragma GCC unroll 4
    for (int i = 0; i < nv; i++) {
        ae[i] = _mm512_dpbf16_ps(ae[i], (__m512bh)u[i], e);
        ao[i] = _mm512_dpbf16_ps(ao[i], (__m512bh)u[i], o);
    }
}

/* Steps 0 and S - 1 (S = dot_steps(R), at least 2: the variant pairs taps from R = 2 on) of output vectors i < nv,
 * from W at the pass (unaligned loads: the last step's shift is not a constant), with the halves cleared as the
 * section's comment says. wp: the row's even weights, then its odd ones, S each. */
INLINE void dot_ends(const uint16_t *W, const uint32_t *wp, int64_t R, __m512 *ae, __m512 *ao, const int nv)
{
    const int64_t S = dot_steps(R);
    const __m512i lo = _mm512_set1_epi32(0xffff), hi = _mm512_set1_epi32((int)0xffff0000u);
    const __m512bh e0 = (__m512bh)_mm512_set1_epi32((int)wp[0]), o0 = (__m512bh)_mm512_set1_epi32((int)wp[S]);
    const __m512bh el = (__m512bh)_mm512_set1_epi32((int)wp[S - 1]), ol = (__m512bh)_mm512_set1_epi32((int)wp[2 * S - 1]);
#pragma GCC unroll 4
    for (int i = 0; i < nv; i++) {
        const __m512i u0 = _mm512_loadu_si512(W + 32 * i), ul = _mm512_loadu_si512(W + 32 * i + 2 * (S - 1));
        const __m512i ul_lo = _mm512_and_si512(ul, lo); /* the high halves (past the kernel) cleared */
        ae[i] = _mm512_dpbf16_ps(ae[i], (__m512bh)u0, e0);
        ao[i] = _mm512_dpbf16_ps(ao[i], (__m512bh)_mm512_and_si512(u0, hi), o0);
        if (R % 2) ae[i] = _mm512_dpbf16_ps(ae[i], (__m512bh)ul_lo, el);
        ao[i] = _mm512_dpbf16_ps(ao[i], (__m512bh)(R % 2 ? ul : ul_lo), ol);
    }
}

/* The middle steps s = 16 q + sp (0 < s < S - 1) of four output vectors from the aligned vectors A (valignd). */
INLINE void dot_shift(const __m512i *A, __m512 *ae, __m512 *ao, const uint32_t *wp, int64_t S, const int sp,
                      const int nq)
{
#pragma GCC unroll 3
    for (int q = 0; q < nq; q++) {
        const int64_t s = 16 * q + sp;
        if (s >= S - 1) break;
        if (s == 0) continue;
        __m512i u[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) u[i] = sp ? _mm512_alignr_epi32(A[i + q + 1], A[i + q], sp) : A[i + q];
        dot_step(u, ae, ao, wp[s], wp[S + s], 4);
    }
}

/* A pass of 128 outputs from aligned loads of W (64-byte aligned at the pass): each middle step of each vector is one
 * valignd instead of a load that splits a cache line (every one but one in sixteen). */
INLINE void dot_pass_aligned(const uint16_t *W, const uint32_t *wp, int64_t R, __m512 bv, uint16_t *y, __m512i order,
                             const int nq)
{
    const int64_t S = dot_steps(R);
    __m512i A[4 + DOT_ALIGNED_MAX_STEPS / 16 + 1];
    __m512 ae[4], ao[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) ae[v] = bv, ao[v] = bv;
#pragma GCC unroll 8
    for (int k = 0; k < 4 + nq; k++) A[k] = _mm512_load_si512(W + 32 * k);
    dot_ends(W, wp, R, ae, ao, 4);
    dot_shift(A, ae, ao, wp, S, 0, nq);
    dot_shift(A, ae, ao, wp, S, 1, nq);
    dot_shift(A, ae, ao, wp, S, 2, nq);
    dot_shift(A, ae, ao, wp, S, 3, nq);
    dot_shift(A, ae, ao, wp, S, 4, nq);
    dot_shift(A, ae, ao, wp, S, 5, nq);
    dot_shift(A, ae, ao, wp, S, 6, nq);
    dot_shift(A, ae, ao, wp, S, 7, nq);
    dot_shift(A, ae, ao, wp, S, 8, nq);
    dot_shift(A, ae, ao, wp, S, 9, nq);
    dot_shift(A, ae, ao, wp, S, 10, nq);
    dot_shift(A, ae, ao, wp, S, 11, nq);
    dot_shift(A, ae, ao, wp, S, 12, nq);
    dot_shift(A, ae, ao, wp, S, 13, nq);
    dot_shift(A, ae, ao, wp, S, 14, nq);
    dot_shift(A, ae, ao, wp, S, 15, nq);
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) _mm512_storeu_si512(y + 32 * v, narrow_pair(ae[v], ao[v], order));
}

/* Output vectors i < nv (32 outputs each) from unaligned loads: longer kernels, and the chunk's last outputs. */
INLINE void dot_pass_loads(const uint16_t *W, const uint32_t *wp, int64_t R, __m512 bv, __m512 *ae, __m512 *ao,
                           const int nv)
{
    const int64_t S = dot_steps(R);
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) ae[v] = bv, ao[v] = bv;
    dot_ends(W, wp, R, ae, ao, nv);
    for (int64_t s = 1; s < S - 1; s++) {
        __m512i u[4];
#pragma GCC unroll 4
        for (int i = 0; i < nv; i++) u[i] = _mm512_loadu_si512(W + 32 * i + 2 * s);
        dot_step(u, ae, ao, wp[s], wp[S + s], nv);
    }
}

/* Outputs [0, m) of a chunk from the window W: passes of four vectors of even outputs and four of odd ones (128
 * outputs), then pairs of vectors, the last one masked. */
static void ncw_dot_taps(const uint16_t *W, const uint32_t *wp, int64_t R, float b, uint16_t *y, int64_t m)
{
    const int64_t S = dot_steps(R);
    const __m512 bv = _mm512_set1_ps(b);
    int16_t idx[32];
    for (int i = 0; i < 32; i++) idx[i] = (int16_t)(i / 2 + (i % 2) * 16); /* even, odd, even, ... */
    const __m512i order = _mm512_loadu_si512(idx);
    int64_t t = 0;
    if (S <= DOT_ALIGNED_MAX_STEPS) {
        const int nq = (int)((S + 15) / 16);
        for (; t + 128 <= m; t += 128) switch (nq) {
            case 1: dot_pass_aligned(W + t, wp, R, bv, y + t, order, 1); break;
            case 2: dot_pass_aligned(W + t, wp, R, bv, y + t, order, 2); break;
            default: dot_pass_aligned(W + t, wp, R, bv, y + t, order, 3); break;
            }
    }
    for (; t + 128 <= m; t += 128) {
        __m512 ae[4], ao[4];
        dot_pass_loads(W + t, wp, R, bv, ae, ao, 4);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) _mm512_storeu_si512(y + t + 32 * v, narrow_pair(ae[v], ao[v], order));
    }
    for (; t < m; t += 32) {
        __m512 ae[1], ao[1];
        dot_pass_loads(W + t, wp, R, bv, ae, ao, 1);
        const int64_t left = m - t;
        const __mmask32 keep = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        _mm512_mask_storeu_epi16(y + t, keep, narrow_pair(ae[0], ao[0], order));
    }
}

/* Outputs [o0, o1) of one row, chunk by chunk: the window is the row's bf16 elements from the chunk's first input,
 * zero outside the row, copied into buf (room for 2 * C1_DW16_NCW_BUF elements, 64-byte aligned). */
void c1_dw16_ncw_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const uint32_t *wp, float b, uint16_t *y,
                                int64_t o0, int64_t o1, int64_t chunk, void *buf)
{
    const int64_t L = g->length, R = g->kernel_size;
    uint16_t *W = buf;
    for (int64_t o = o0; o < o1; o += chunk) {
        const int64_t m = min64(o1 - o, chunk), len = dot_window(m, R), i0 = o - g->pad_left;
        const int64_t lo = clamp64(-i0, 0, len), hi = clamp64(L - i0, lo, len);
        memset(W, 0, (size_t)lo * sizeof *W);
        if (hi > lo) memcpy(W + lo, x + i0 + lo, (size_t)(hi - lo) * sizeof *W);
        memset(W + hi, 0, (size_t)(len - hi) * sizeof *W);
        ncw_dot_taps(W, wp, R, b, y + o, m);
    }
}

/* ---- NCW with a channel multiplier: pairs of taps from the window, shared by four output rows ----
 *
 * The fp32 window of a chunk (depthwise16.h) holds each tap's inputs as a unit-stride run, so the pair of taps
 * (2s, 2s + 1) of output t is (buf[off[2s] + t], buf[off[2s + 1] + t]) at any stride and dilation: one pass narrows
 * them (exactly: they were widened from bf16) into 32-bit lanes of pairs, P[s*mp + t], once per chunk for all the
 * rows of the input channel; each row's weights are paired alike at prepare. A pass of four vectors of outputs then
 * loads each pair's four vectors once for four rows, sixteen dot products of two taps each. */
#define PAIR_ROWS 4

INLINE void pair_rows(const uint32_t *P, int64_t mp, int64_t R2, const uint32_t *wp, const float *b, uint16_t *y,
                      int64_t ys, int64_t m, const int NR)
{
    int64_t t = 0;
    for (; t + 4 * VL <= m; t += 4 * VL) {
        __m512 a[PAIR_ROWS][4];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) a[j][0] = a[j][1] = a[j][2] = a[j][3] = _mm512_set1_ps(b[j]);
        for (int64_t s = 0; s < R2; s++) {
            __m512bh xv[4];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) xv[i] = (__m512bh)_mm512_load_si512(P + s * mp + t + i * VL);
#pragma GCC unroll 4
            for (int j = 0; j < NR; j++) {
                const __m512bh wv = (__m512bh)_mm512_set1_epi32((int)wp[j * R2 + s]);
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) a[j][i] = _mm512_dpbf16_ps(a[j][i], xv[i], wv);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) st(y + j * ys + t + i * VL, a[j][i], 0xffff, true, true);
    }
    for (; t < m; t += VL) {
        __m512 a[PAIR_ROWS];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) a[j] = _mm512_set1_ps(b[j]);
        for (int64_t s = 0; s < R2; s++) {
            const __m512bh xv = (__m512bh)_mm512_load_si512(P + s * mp + t);
#pragma GCC unroll 4
            for (int j = 0; j < NR; j++)
                a[j] = _mm512_dpbf16_ps(a[j], xv, (__m512bh)_mm512_set1_epi32((int)wp[j * R2 + s]));
        }
        const __mmask16 keep = lanes(m - t);
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) st(y + j * ys + t, a[j], keep, false, true);
    }
}

void c1_dw16_ncw_mult_dot_avx512bf16(const float *buf, const int64_t *off, int64_t R, const uint32_t *wp,
                                     const float *b, uint16_t *y, int64_t ys, int64_t nk, int64_t m, uint32_t *P)
{
    const int64_t R2 = (R + 1) / 2, mp = (m + VL - 1) / VL * VL;
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    for (int64_t s = 0; s < R2; s++) {
        const float *e = buf + off[2 * s], *o = 2 * s + 1 < R ? buf + off[2 * s + 1] : NULL;
        for (int64_t t = 0; t < mp; t += VL) {
            const __m512i lo = _mm512_srli_epi32(_mm512_loadu_si512(e + t), 16);
            const __m512i hi = o ? _mm512_and_si512(_mm512_loadu_si512(o + t), high) : _mm512_setzero_si512();
            _mm512_store_si512(P + s * mp + t, _mm512_or_si512(lo, hi));
        }
    }
    int64_t j = 0;
    for (; j + PAIR_ROWS <= nk; j += PAIR_ROWS) pair_rows(P, mp, R2, wp + j * R2, b + j, y + j * ys, ys, m, PAIR_ROWS);
    for (; j < nk; j++) pair_rows(P, mp, R2, wp + j * R2, b + j, y + j * ys, ys, m, 1);
}

/* ---- NWC with a channel multiplier: pairs of taps broadcast against pairs of weights ----
 *
 * For a tile of up to T positions of one input channel, Q[t*R2 + s] holds the bf16 pair of taps (2s, 2s + 1) of
 * output o0 + t (zero in the padding and past the last tap), so each (position, pair) is one 32-bit broadcast against
 * the paired weights of a vector of output channels (wpn: per vector of 16 output channels, pair s's 16 lanes at
 * (k/16 * R2 + s) * 16): eight positions by two vectors, sixteen dot products of two taps each per pair. */
INLINE void pair_mult_rows(const uint32_t *q, int64_t R2, const uint32_t *wk, __m512 b0, __m512 b1, uint16_t *yo,
                           int64_t K, const int P, const int NV)
{
    __m512 a[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) a[i][0] = b0, a[i][1] = b1;
    for (int64_t s = 0; s < R2; s++) {
        const __m512bh w0 = (__m512bh)_mm512_load_si512(wk + s * VL);
        const __m512bh w1 = NV == 2 ? (__m512bh)_mm512_load_si512(wk + (R2 + s) * VL) : w0;
#pragma GCC unroll 8
        for (int i = 0; i < P; i++) {
            const __m512bh xb = (__m512bh)_mm512_set1_epi32((int)q[i * R2 + s]);
            a[i][0] = _mm512_dpbf16_ps(a[i][0], xb, w0);
            if (NV == 2) a[i][1] = _mm512_dpbf16_ps(a[i][1], xb, w1);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) {
        st(yo + i * K, a[i][0], 0xffff, true, true);
        if (NV == 2) st(yo + i * K + VL, a[i][1], 0xffff, true, true);
    }
}

void c1_dw16_nwc_mult_dot_avx512bf16(const c1_dw_geom *g, const uint16_t *x, const uint32_t *wpn, const float *bias,
                                     uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult, R = g->kernel_size, L = g->length;
    const int64_t S = g->stride, D = g->dilation, R2 = (R + 1) / 2, T = c1_dw16_pair_positions(R);
    const uint16_t *xn = x + n * L * C;
    uint32_t Q[C1_DW16_PAIR_BUF];
    for (int64_t t0 = o0; t0 < o1; t0 += T) {
        const int64_t nt = min64(T, o1 - t0);
        uint16_t *yo = y + (n * g->out_length + t0) * K;
        for (int64_t ci = c0 / M; ci * M < c1; ci++) {
            for (int64_t t = 0; t < nt; t++)
                for (int64_t s = 0; s < R2; s++) {
                    const int64_t i = (t0 + t) * S - g->pad_left + 2 * s * D, i2 = i + D;
                    const uint32_t lo = i >= 0 && i < L ? xn[i * C + ci] : 0u;
                    const uint32_t hi = 2 * s + 1 < R && i2 >= 0 && i2 < L ? xn[i2 * C + ci] : 0u;
                    Q[t * R2 + s] = lo | hi << 16;
                }
            const int64_t kb = c0 > ci * M ? c0 : ci * M, ke = min64(c1, ci * M + M);
            for (int64_t k = kb; k < ke; k += 2 * VL) { /* a vector pair over all positions (its weights in L1) */
                const bool two = ke - k >= 2 * VL;
                const __m512 b0 = _mm512_loadu_ps(bias + k), b1 = two ? _mm512_loadu_ps(bias + k + VL) : b0;
                const uint32_t *wk = wpn + k * R2;
                int64_t t = 0;
                if (two) {
                    for (; t + 8 <= nt; t += 8) pair_mult_rows(Q + t * R2, R2, wk, b0, b1, yo + t * K + k, K, 8, 2);
                    for (; t < nt; t++) pair_mult_rows(Q + t * R2, R2, wk, b0, b1, yo + t * K + k, K, 1, 2);
                } else {
                    for (; t + 8 <= nt; t += 8) pair_mult_rows(Q + t * R2, R2, wk, b0, b1, yo + t * K + k, K, 8, 1);
                    for (; t < nt; t++) pair_mult_rows(Q + t * R2, R2, wk, b0, b1, yo + t * K + k, K, 1, 1);
                }
            }
        }
    }
}
