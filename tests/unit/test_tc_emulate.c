/*
 * The tensor-core kernels (variants/cuda/cuda_tc.cu: TF32, bf16, f16) emulated on the host, lane by lane,
 * with the index functions they run (variants/cuda/tc_map.h), against the double reference. Runs in every
 * build, with or without CUDA or a GPU: the point is to check, where no GPU is at hand, everything the
 * kernels decide about indices.
 *
 * What is emulated: every block tile of the grid; the pipeline in the kernel's order (stages 0 .. STAGES-2
 * filled first, then per iteration the copies of iteration it + STAGES - 1 into their stage before the math
 * of iteration it reads its own), every thread's copies into a shared-memory stage (A pieces, gathered fp32
 * elements or the 16-bit word pairs the flat 16-bit mode stores from registers, B^T pieces, zero-fill where
 * the kernel passes size 0), with each word stamped by the iteration that wrote it; every warp's ldmatrix.x4
 * with the addresses the kernel computes and the PTX ISA's rule of which lane receives which word
 * (c1_ptx_ldsm_x4); the TF32 rounding (cvt.rna); each mma (m16n8k8 .tf32 or m16n8k16 .bf16/.f16) by
 * gathering A, B and C from the 32 lanes' registers through the PTX fragment definitions (c1_ptx_a_tf32,
 * c1_ptx_b_tf32, c1_ptx_a_16bit, c1_ptx_b_16bit with the lower-numbered element in a register's low half,
 * c1_ptx_c_f32) and scattering D back; the epilogue's stores (16-bit: bias added in fp32, one rounding to
 * nearest even, neighbouring channels paired into one 4-byte store where the kernel pairs them). Checked on
 * the way: every fragment word read was written for the same iteration (not a stale or overwritten stage),
 * every source read lies inside x or the packed weights and every 16-byte piece's source is 16-byte aligned,
 * each copy and ldmatrix address is aligned and inside its stage, each ldmatrix phase touches 32 distinct
 * banks, each mma operand element is owned by exactly one lane, and each output element is written exactly
 * once. The fp32 accumulations must match the double reference of the exact (TF32-rounded or 16-bit) inputs
 * to fp32 accumulation accuracy (so a dropped tap or channel shows), the TF32 output the true reference
 * within the tf32 class's threshold, and the 16-bit output the 16-bit classes' per-element check
 * (c1_compare16, the harness's).
 *
 * What is not emulated: the cp.async pipeline's timing (the wait/barrier placement is argued in cuda_tc.cu),
 * the instructions' encodings, the hardware's own accumulation order inside one mma, and anything about
 * speed. Also checked: the ldmatrix addresses give the A and B fragments of the PTX definitions for the TF32
 * form and, in 16-bit units, for the bf16/f16 m16n8k16 form.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "check.h"
#include "conv1d_ref.h"
#include "half.h"
#include "tc_map.h"

typedef struct tc_cfg {
    int bm, bn, wm, wn, stages;
} tc_cfg;

/* The configurations of cuda_tc.cu's C1_TC_CONFIGS. */
static const tc_cfg cfgs[] = {{128, 128, 64, 32, 3}, {128, 64, 64, 32, 3}, {64, 64, 32, 32, 3}};

/* cvt.rna.tf32.f32: round to nearest, ties away from zero, keeping 10 mantissa bits (finite inputs). */
static float tf32_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x1000u) & 0xffffe000u;
    memcpy(&f, &u, 4);
    return f;
}

/* The element type the emulated kernel runs on: CONV1D_F32 (TF32 tensor cores), CONV1D_BF16, CONV1D_F16. */
static float widen16(conv1d_dtype t, uint16_t h) { return t == CONV1D_BF16 ? c1_bf16_to_f32(h) : c1_f16_to_f32(h); }
static uint16_t narrow16(conv1d_dtype t, float f) { return t == CONV1D_BF16 ? c1_f32_to_bf16(f) : c1_f32_to_f16(f); }

typedef struct emu {
    const c1_tc_geom *g;
    tc_cfg c;
    conv1d_dtype t;
    const void *x, *wp; /* float or uint16_t elements */
    c1_i64 nx, nwp;
    uint32_t *smem;     /* stage words */
    c1_i64 *stamp;      /* iteration that wrote each shared word, -1: never */
    int stage_words;
} emu;

/* The raw bits of element i of x (w = 0) or the packed weights (w = 1), checked to lie inside. */
static uint32_t elem_bits(const emu *e, int w, c1_i64 i)
{
    const c1_i64 n = w ? e->nwp : e->nx;
    if (i < 0 || i >= n) fail_msg("%s element %lld read, outside [0, %lld)", w ? "weight" : "x", (long long)i, (long long)n);
    const void *base = w ? e->wp : e->x;
    if (e->t == CONV1D_F32) {
        uint32_t u;
        memcpy(&u, (const float *)base + i, 4);
        return u;
    }
    return ((const uint16_t *)base)[i];
}

static void put_word(emu *e, int s, int off, uint32_t word, c1_i64 it)
{
    assert_true(off >= 0 && off < e->stage_words);
    e->smem[s * e->stage_words + off] = word;
    e->stamp[s * e->stage_words + off] = it;
}

/* One 16-byte cp.async (4 words) at word offset off of stage s: from element src of x or the weights, or
 * zeros when ok is false. The source of a real copy must be 16-byte aligned (its buffers are). */
static void copy_piece(emu *e, int s, int off, int w, c1_i64 src, int ok, c1_i64 it)
{
    assert_true(off % 4 == 0 && off + 4 <= e->stage_words);
    const int epp = e->g->epp;
    if (ok && src % epp != 0) fail_msg("16-byte copy from element %lld, not a piece boundary", (long long)src);
    for (int q = 0; q < 4; q++) {
        uint32_t word = 0;
        if (ok) word = epp == 4 ? elem_bits(e, w, src + q) : elem_bits(e, w, src + 2 * q) | elem_bits(e, w, src + 2 * q + 1) << 16;
        put_word(e, s, off + q, word, it);
    }
}

/* A register of lane `lane` from an ldmatrix.x4 whose lanes gave the word offsets addr[]. */
static uint32_t ldsm(const emu *e, int s, const int *addr, int lane, int j, c1_i64 it)
{
    int src_lane, word;
    c1_ptx_ldsm_x4(lane, j, &src_lane, &word);
    const int off = addr[src_lane] + word;
    assert_true(off >= 0 && off < e->stage_words);
    if (e->stamp[s * e->stage_words + off] != it)
        fail_msg("fragment read of shared word %d (stage %d) written by iteration %lld, not %lld", off, s,
                 e->stamp[s * e->stage_words + off], it);
    return e->smem[s * e->stage_words + off];
}

/* The lanes' addresses of one ldmatrix.x4: 16-byte aligned, and each phase of 8 lanes on 32 distinct banks. */
static void check_ldsm_addresses(const int *addr)
{
    for (int phase = 0; phase < 4; phase++) {
        unsigned banks = 0;
        for (int l = 8 * phase; l < 8 * phase + 8; l++) {
            assert_true(addr[l] % 4 == 0);
            for (int b = 0; b < 4; b++) banks |= 1u << ((addr[l] + b) % 32);
        }
        assert_true(banks == 0xffffffffu);
    }
}

/* The kernel's load_stage for thread tid of tile (m0, k0, grp), with the flat 16-bit mode's register words
 * stored at once (the kernel stores them after the math, into the same stage). */
static void load_stage(emu *e, int tid, c1_i64 m0, c1_i64 k0, c1_i64 grp, c1_i64 it, int s)
{
    const c1_tc_geom *G = e->g;
    const int BM = e->c.bm, BN = e->c.bn, NTH = (e->c.bm / e->c.wm) * (e->c.bn / e->c.wn) * 32;
    const int PIECES = C1_TC_BK / 4, AV = BM * PIECES / NTH, AE = BM * C1_TC_BK / NTH, BV = BN * PIECES / NTH;
    const int AR = G->vec ? AV : 1, EPP = G->epp;
    int arow[16], aq = 0, an[16], ao[16];
    assert_true(AR <= 16);
    for (int j = 0; j < AR; j++) {
        int col;
        if (G->vec)
            c1_tc_piece_slot(tid, j, NTH, &arow[j], &aq);
        else
            c1_tc_elem_slot(tid, j, NTH, BM, &arow[j], &col);
        const c1_i64 m = m0 + arow[j];
        c1_i64 n = -1, o = 0;
        if (m < G->M) c1_tc_row(G, m, &n, &o);
        an[j] = (int)n;
        ao[j] = (int)o;
    }
    int brow0, bq;
    c1_tc_piece_slot(tid, 0, NTH, &brow0, &bq);
    const c1_i64 wrow0 = (grp * G->Kg + k0 + brow0) * G->Kp;

    c1_i64 r0, c0;
    c1_tc_red_start(G, it, &r0, &c0);
    if (G->vec) {
        c1_i64 r, c;
        const int okc = c1_tc_red_col(G, r0, c0, aq * EPP, &r, &c);
        for (int j = 0; j < AV; j++) {
            const c1_i64 pos = c1_tc_pos(G, ao[j], r);
            const int ok = an[j] >= 0 && okc && pos >= 0 && pos < G->L;
            copy_piece(e, s, c1_tc_sa(arow[j], aq * 4), 0, ok ? c1_tc_x_index(G, an[j], pos, grp * G->Cg + c) : 0, ok,
                       it);
        }
    } else {
        for (int j = 0; j < AE; j++) {
            int row, wcol;
            c1_tc_elem_slot(tid, j, NTH, BM, &row, &wcol);
            uint32_t word = 0;
            for (int h = 0; h < (EPP == 4 ? 1 : 2); h++) {
                c1_i64 r, c;
                const int okc = c1_tc_red_col(G, r0, c0, EPP == 4 ? wcol : 2 * wcol + h, &r, &c);
                const c1_i64 pos = c1_tc_pos(G, ao[0], r);
                if (an[0] >= 0 && okc && pos >= 0 && pos < G->L)
                    word |= elem_bits(e, 0, c1_tc_x_index(G, an[0], pos, grp * G->Cg + c)) << (16 * h);
            }
            put_word(e, s, c1_tc_sa(row, wcol), word, it);
        }
    }
    c1_i64 start, limit;
    c1_tc_b_cols(G, r0, c0, &start, &limit);
    const c1_i64 col = start + bq * EPP;
    for (int j = 0; j < BV; j++) {
        const int brow = brow0 + j * (NTH / PIECES);
        const int ok = k0 + brow < G->Kg && col < limit;
        copy_piece(e, s, c1_tc_sb(BM, brow, bq * 4), 1, ok ? wrow0 + (c1_i64)j * (NTH / PIECES) * G->Kp + col : 0, ok,
                   it);
    }
}

/* One mma of a warp, D = A B + C with the operands gathered from the lanes' registers: m16n8k8 .tf32 (kk = 8:
 * one element per A/B register) or m16n8k16 .bf16/.f16 (kk = 16: two per register, element i in register
 * i / 2, the lower-numbered one in the low half). Products are exact in double, the sum is rounded to fp32. */
static void mma(const emu *e, uint32_t a[32][4], uint32_t b[32][2], float c[32][4])
{
    const int kk = e->t == CONV1D_F32 ? 8 : 16;
    double A[16][16], B[16][8], C[16][8];
    int seen_a[16][16] = {{0}}, seen_b[16][8] = {{0}}, seen_c[16][8] = {{0}};
    for (int l = 0; l < 32; l++) {
        for (int i = 0; i < 4; i++) {
            int r, k;
            c1_ptx_c_f32(l, i, &r, &k);
            C[r][k] = c[l][i];
            seen_c[r][k]++;
        }
        for (int i = 0; i < (kk == 8 ? 4 : 8); i++) {
            int r, k;
            if (kk == 8) {
                c1_ptx_a_tf32(l, i, &r, &k);
                float f;
                memcpy(&f, &a[l][i], 4);
                A[r][k] = f;
            } else {
                c1_ptx_a_16bit(l, i, &r, &k);
                A[r][k] = widen16(e->t, (uint16_t)(a[l][i >> 1] >> (16 * (i & 1))));
            }
            seen_a[r][k]++;
        }
        for (int i = 0; i < (kk == 8 ? 2 : 4); i++) {
            int k, n;
            if (kk == 8) {
                c1_ptx_b_tf32(l, i, &k, &n);
                float f;
                memcpy(&f, &b[l][i], 4);
                B[k][n] = f;
            } else {
                c1_ptx_b_16bit(l, i, &k, &n);
                B[k][n] = widen16(e->t, (uint16_t)(b[l][i >> 1] >> (16 * (i & 1))));
            }
            seen_b[k][n]++;
        }
    }
    for (int r = 0; r < 16; r++)
        for (int k = 0; k < kk; k++) assert_true(seen_a[r][k] == 1);
    for (int k = 0; k < kk; k++)
        for (int n = 0; n < 8; n++) assert_true(seen_b[k][n] == 1);
    for (int r = 0; r < 16; r++)
        for (int n = 0; n < 8; n++) assert_true(seen_c[r][n] == 1);
    for (int l = 0; l < 32; l++)
        for (int i = 0; i < 4; i++) {
            int r, n;
            c1_ptx_c_f32(l, i, &r, &n);
            double s = C[r][n];
            for (int k = 0; k < kk; k++) s += A[r][k] * B[k][n];
            c[l][i] = (float)s; /* fp32 accumulation */
        }
}

/* The emulated kernel's outputs: the fp32 values before the output conversion (acc + bias) and, for 16-bit,
 * the stored elements. */
typedef struct emu_out {
    float *yf;
    uint16_t *y16;
} emu_out;

/* Runs the emulated kernel of element type t for d with configuration c; x_aligned picks vec mode where the
 * layout allows. x, w: float or uint16_t elements; bias: its values as float (16-bit: widened exactly), or
 * NULL. *g_out the geometry. */
static emu_out emulate(const conv1d_desc *d, conv1d_dtype t, tc_cfg c, int x_aligned, const void *x, const void *w,
                       const float *bias, c1_tc_geom *g_out)
{
    const c1_tc_geom G = c1_tc_geom_make(d->batch, d->length, d->in_channels, d->out_channels, d->kernel_size,
                                         d->stride, d->dilation, d->pad_left, d->num_groups, conv1d_output_length(d),
                                         d->layout == CONV1D_LAYOUT_NWC, x_aligned, (int)conv1d_dtype_size(t));
    *g_out = G;
    const int NTH = (c.bm / c.wm) * (c.bn / c.wn) * 32, WARPS = NTH / 32, MI = c.wm / 16, NI = c.wn / 8;
    assert_true(NTH % c.bm == 0 && c.wm % 16 == 0 && c.wn % 16 == 0 && MI <= 4 && NI <= 8);
    emu e = {.g = &G, .c = c, .t = t, .x = x, .nx = conv1d_input_elems(d)};
    /* the packers' row (R * C/G rounded up to 4 or 8 elements, one 16-byte piece) is the kernel's Kp */
    const c1_i64 epp = t == CONV1D_F32 ? 4 : 8;
    assert_int_equal(G.Kp, (d->kernel_size * (d->in_channels / d->num_groups) + epp - 1) / epp * epp);
    e.nwp = d->out_channels * G.Kp;
    void *wp = malloc((size_t)e.nwp * conv1d_dtype_size(t));
    if (t == CONV1D_F32)
        c1_tc_pack_weights(d->in_channels, d->out_channels, d->kernel_size, d->num_groups, G.nwc, w, wp);
    else
        c1_tc_pack_weights16(d->in_channels, d->out_channels, d->kernel_size, d->num_groups, G.nwc, w, wp);
    e.wp = wp;
    e.stage_words = c1_tc_stage_words(c.bm, c.bn);
    e.smem = malloc((size_t)c.stages * e.stage_words * sizeof *e.smem);
    e.stamp = malloc((size_t)c.stages * e.stage_words * sizeof *e.stamp);
    for (int i = 0; i < c.stages * e.stage_words; i++) e.smem[i] = 0x7fc00000u, e.stamp[i] = -1;

    const c1_i64 ny = conv1d_output_elems(d);
    emu_out out = {.yf = malloc((size_t)ny * sizeof(float)), .y16 = malloc((size_t)ny * sizeof(uint16_t))};
    int *written = calloc((size_t)ny, sizeof *written);
    for (c1_i64 i = 0; i < ny; i++) out.yf[i] = NAN, out.y16[i] = 0xffff;
    float(*acc)[32][4] = malloc((size_t)WARPS * MI * NI * sizeof *acc); /* [warp][mi][ni] x lanes x 4 */
    const int pairs = t != CONV1D_F32 && G.nwc; /* the buffers of this test are 4-byte aligned */

    const c1_i64 m_tiles = (G.M + c.bm - 1) / c.bm, n_tiles = (G.Kg + c.bn - 1) / c.bn, total = m_tiles * n_tiles * G.G;
    for (c1_i64 tile = 0; tile < total; tile++) {
        c1_i64 mt, nt, grp;
        c1_tc_tile(tile, m_tiles, n_tiles, &mt, &nt, &grp);
        const c1_i64 m0 = mt * c.bm, k0 = nt * c.bn;
        memset(acc, 0, (size_t)WARPS * MI * NI * sizeof *acc);
        for (int s = 0; s < c.stages - 1 && s < G.nk; s++)
            for (int tid = 0; tid < NTH; tid++) load_stage(&e, tid, m0, k0, grp, s, s);
        for (c1_i64 it = 0; it < G.nk; it++) {
            const c1_i64 pre = it + c.stages - 1;
            if (pre < G.nk)
                for (int tid = 0; tid < NTH; tid++) load_stage(&e, tid, m0, k0, grp, pre, (int)(pre % c.stages));
            const int s = (int)(it % c.stages);
            for (int warp = 0; warp < WARPS; warp++) {
                int wm0, wn0;
                c1_tc_warp_origin(warp, c.bm, c.wm, c.wn, &wm0, &wn0);
                for (int ks = 0; ks < C1_TC_BK / 8; ks++) {
                    uint32_t af[4][32][4], bf[8][32][2];
                    int addr[32];
                    for (int mi = 0; mi < MI; mi++) {
                        for (int l = 0; l < 32; l++) {
                            int lr, lc;
                            c1_tc_ldsm_a(l, &lr, &lc);
                            addr[l] = c1_tc_sa(wm0 + mi * 16 + lr, ks * 8 + lc);
                        }
                        check_ldsm_addresses(addr);
                        for (int l = 0; l < 32; l++)
                            for (int j = 0; j < 4; j++) af[mi][l][j] = ldsm(&e, s, addr, l, j, it);
                    }
                    for (int nj = 0; nj < NI / 2; nj++) {
                        for (int l = 0; l < 32; l++) {
                            int nr, nc;
                            c1_tc_ldsm_b(l, &nr, &nc);
                            addr[l] = c1_tc_sb(c.bm, wn0 + nj * 16 + nr, ks * 8 + nc);
                        }
                        check_ldsm_addresses(addr);
                        for (int l = 0; l < 32; l++) {
                            bf[2 * nj][l][0] = ldsm(&e, s, addr, l, 0, it);
                            bf[2 * nj][l][1] = ldsm(&e, s, addr, l, 1, it);
                            bf[2 * nj + 1][l][0] = ldsm(&e, s, addr, l, 2, it);
                            bf[2 * nj + 1][l][1] = ldsm(&e, s, addr, l, 3, it);
                        }
                    }
                    if (t == CONV1D_F32) { /* cvt.rna on every fragment register */
                        for (int l = 0; l < 32; l++) {
                            for (int mi = 0; mi < MI; mi++)
                                for (int j = 0; j < 4; j++) {
                                    float f;
                                    memcpy(&f, &af[mi][l][j], 4);
                                    f = tf32_round(f);
                                    memcpy(&af[mi][l][j], &f, 4);
                                }
                            for (int ni = 0; ni < NI; ni++)
                                for (int j = 0; j < 2; j++) {
                                    float f;
                                    memcpy(&f, &bf[ni][l][j], 4);
                                    f = tf32_round(f);
                                    memcpy(&bf[ni][l][j], &f, 4);
                                }
                        }
                    }
                    for (int mi = 0; mi < MI; mi++)
                        for (int ni = 0; ni < NI; ni++) mma(&e, af[mi], bf[ni], acc[(warp * MI + mi) * NI + ni]);
                }
            }
        }
        /* the epilogue */
        for (int warp = 0; warp < WARPS; warp++) {
            int wm0, wn0;
            c1_tc_warp_origin(warp, c.bm, c.wm, c.wn, &wm0, &wn0);
            for (int l = 0; l < 32; l++)
                for (int mi = 0; mi < MI; mi++)
                    for (int h = 0; h < 2; h++) {
                        int r, cc;
                        c1_ptx_c_f32(l, 2 * h, &r, &cc);
                        const c1_i64 m = m0 + wm0 + mi * 16 + r;
                        if (m >= G.M) continue;
                        c1_i64 n, o;
                        c1_tc_row(&G, m, &n, &o);
                        for (int ni = 0; ni < NI; ni++) {
                            const float *a = acc[(warp * MI + mi) * NI + ni][l];
                            c1_i64 yi[2] = {-1, -1};
                            float v[2];
                            for (int e2 = 0; e2 < 2; e2++) {
                                int r2, c2;
                                c1_ptx_c_f32(l, 2 * h + e2, &r2, &c2);
                                assert_int_equal(r2, r);
                                assert_int_equal(c2, cc + e2); /* the kernel's pairing relies on it */
                                const c1_i64 k = k0 + wn0 + ni * 8 + c2;
                                if (k >= G.Kg) continue;
                                const c1_i64 kk = grp * G.Kg + k;
                                yi[e2] = c1_tc_y_index(&G, n, o, kk);
                                assert_true(yi[e2] >= 0 && yi[e2] < ny);
                                v[e2] = a[2 * h + e2] + (bias ? bias[kk] : 0.0f); /* fp32 addition */
                            }
                            if (yi[0] < 0) assert_true(yi[1] < 0);
                            if (pairs && yi[1] >= 0 && (yi[0] & 1) == 0)
                                assert_true(yi[1] == yi[0] + 1); /* one 4-byte store */
                            for (int e2 = 0; e2 < 2; e2++) {
                                if (yi[e2] < 0) continue;
                                out.yf[yi[e2]] = v[e2];
                                if (t != CONV1D_F32) out.y16[yi[e2]] = narrow16(t, v[e2]);
                                written[yi[e2]]++;
                            }
                        }
                    }
        }
    }
    for (c1_i64 i = 0; i < ny; i++)
        if (written[i] != 1) fail_msg("output element %lld written %d times", (long long)i, written[i]);
    free(acc);
    free(written);
    free(e.stamp);
    free(e.smem);
    free(wp);
    return out;
}

static conv1d_desc shape(int64_t batch, int64_t length, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                         int64_t dil, int64_t groups, int64_t pl, int64_t pr, int bias, conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = batch, d.length = length, d.in_channels = cin, d.out_channels = cout, d.kernel_size = k;
    d.stride = stride, d.dilation = dil, d.num_groups = groups, d.pad_left = pl, d.pad_right = pr;
    d.has_bias = bias, d.layout = layout;
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    return d;
}

/* Emulates d with element type t, every configuration (or only cfg_index >= 0), in vec and flat modes, and
 * checks the result. */
static void check_shape_type(const conv1d_desc *d, conv1d_dtype t, uint64_t seed, int cfg_index)
{
    uint64_t s = seed;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->out_channels, nall = nx + nw + nb;
    float *f = tu_random_floats(&s, nall); /* x, w, b */
    float *fx = malloc((size_t)nall * sizeof *fx), *fa = malloc((size_t)nall * sizeof *fa); /* exact inputs, |.| */
    uint16_t *h = malloc((size_t)nall * sizeof *h);
    for (int64_t i = 0; i < nall; i++) {
        if (t == CONV1D_F32) {
            fx[i] = i < nx + nw ? tf32_round(f[i]) : f[i]; /* the bias is added in fp32 */
        } else {
            h[i] = narrow16(t, f[i]);
            fx[i] = widen16(t, h[i]);
        }
        fa[i] = fabsf(fx[i]);
    }
    const float *bias = d->has_bias ? fx + nx + nw : NULL;
    double *ref = malloc((size_t)ny * sizeof *ref), *ref_exact = malloc((size_t)ny * sizeof *ref_exact);
    double *absum = malloc((size_t)ny * sizeof *absum);
    assert_int_equal(c1_ref_conv1d_f64(d, f, f + nx, d->has_bias ? f + nx + nw : NULL, ref), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(d, fx, fx + nx, bias, ref_exact), CONV1D_OK);
    assert_int_equal(c1_ref_conv1d_f64(d, fa, fa + nx, d->has_bias ? fa + nx + nw : NULL, absum), CONV1D_OK);
    const c1_tolerance exact = {.rel_max = 2e-6, .rel_l2 = 5e-7}; /* fp32 accumulation of exact inputs */
    const int64_t terms = d->in_channels / d->num_groups * d->kernel_size + (d->has_bias ? 1 : 0);
    const void *x = t == CONV1D_F32 ? (const void *)f : (const void *)h;
    const void *w = t == CONV1D_F32 ? (const void *)(f + nx) : (const void *)(h + nx);
    const int epp = t == CONV1D_F32 ? 4 : 8;
    for (int ci = 0; ci < (int)(sizeof cfgs / sizeof cfgs[0]); ci++) {
        if (cfg_index >= 0 && ci != cfg_index) continue;
        for (int aligned = 0; aligned < 2; aligned++) {
            c1_tc_geom g;
            const emu_out y = emulate(d, t, cfgs[ci], aligned, x, w, bias, &g);
            if (aligned && !g.vec && d->layout == CONV1D_LAYOUT_NWC && (d->in_channels / d->num_groups) % epp == 0 &&
                d->in_channels % epp == 0)
                fail_msg("vec mode not taken");
            char text[256];
            conv1d_desc_format(d, text, sizeof text);
            const c1_error e1 = c1_compare(y.yf, ref_exact, ny);
            if (!c1_error_ok(e1, exact))
                fail_msg("%s tile %dx%d %s on %s: accumulation vs exact-input reference rel_max %.3g",
                         t == CONV1D_F32 ? "tf32" : t == CONV1D_BF16 ? "bf16" : "f16", cfgs[ci].bm, cfgs[ci].bn,
                         g.vec ? "vec" : "flat", text, e1.rel_max);
            if (t == CONV1D_F32) {
                const c1_error e2 = c1_compare(y.yf, ref, ny);
                if (!c1_error_ok(e2, c1_precision_tolerance(C1_PREC_TF32)))
                    fail_msg("tf32 tile %dx%d %s on %s: vs reference rel_max %.3g", cfgs[ci].bm, cfgs[ci].bn,
                             g.vec ? "vec" : "flat", text, e2.rel_max);
            } else {
                const c1_error e2 = c1_compare16(y.y16, t, ref_exact, absum, ny, terms);
                if (!c1_error_ok(e2, c1_precision_tolerance(t == CONV1D_BF16 ? C1_PREC_BF16 : C1_PREC_F16)))
                    fail_msg("%s tile %dx%d %s on %s: %lld outputs beyond one rounding (worst %.2f ulp), bad %lld",
                             t == CONV1D_BF16 ? "bf16" : "f16", cfgs[ci].bm, cfgs[ci].bn, g.vec ? "vec" : "flat", text,
                             (long long)e2.outside, e2.ulp_max, (long long)e2.bad_index);
            }
            free(y.yf);
            free(y.y16);
            if (!aligned && g.vec) fail_msg("vec mode with an unaligned x");
        }
    }
    free(absum), free(ref_exact), free(ref), free(h), free(fa), free(fx), free(f);
}

/* Every shape runs the TF32 kernel and one 16-bit kernel, bf16 and f16 in turn by seed: they share every
 * index, and differ only in the conversions, which each shape set reaches many times. */
static void check_shape(const conv1d_desc *d, uint64_t seed, int cfg_index)
{
    check_shape_type(d, CONV1D_F32, seed, cfg_index);
    check_shape_type(d, seed % 2 ? CONV1D_F16 : CONV1D_BF16, seed, cfg_index);
}

/* The kernel's ldmatrix addresses yield exactly the PTX fragments: TF32 A and B, and in 16-bit units (each
 * 32-bit word two elements) the bf16/f16 m16n8k16 A and B. */
static void test_fragment_addresses(void **unused)
{
    (void)unused;
    for (int l = 0; l < 32; l++)
        for (int j = 0; j < 4; j++) {
            int src, word, r, c, fr, fc;
            c1_ptx_ldsm_x4(l, j, &src, &word);
            /* A: the source lane's row and float column, plus the word */
            c1_tc_ldsm_a(src, &r, &c);
            c1_ptx_a_tf32(l, j, &fr, &fc);
            assert_int_equal(r, fr);
            assert_int_equal(c + word, fc);
            /* 16-bit: a 16-byte piece holds 8 elements, word w elements 2w and 2w + 1 */
            for (int h = 0; h < 2; h++) {
                c1_ptx_a_16bit(l, 2 * j + h, &fr, &fc);
                assert_int_equal(r, fr);
                assert_int_equal(c / 4 * 8 + 2 * word + h, fc);
            }
            /* B^T rows are n: registers 0, 1 of the first n8 tile, 2, 3 of the second */
            c1_tc_ldsm_b(src, &r, &c);
            int k, n;
            c1_ptx_b_tf32(l, j & 1, &k, &n);
            assert_int_equal(r, n + 8 * (j >> 1));
            assert_int_equal(c + word, k);
            for (int h = 0; h < 2; h++) {
                c1_ptx_b_16bit(l, 2 * (j & 1) + h, &k, &n);
                assert_int_equal(r, n + 8 * (j >> 1));
                assert_int_equal(c / 4 * 8 + 2 * word + h, k);
            }
        }
}

/* Rows around the block tile (batch items spanning tiles), output channels around BN, channels per group
 * around the 4-float piece and the 32-column iteration, both layouts. */
static void test_tile_edges(void **unused)
{
    (void)unused;
    uint64_t seed = 1;
    const int64_t cgs[] = {1, 3, 4, 8, 31, 32, 36, 64};
    for (size_t i = 0; i < sizeof cgs / sizeof cgs[0]; i++)
        for (int lay = 0; lay < 2; lay++) {
            const conv1d_layout layout = lay ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
            /* M = 2 * 70 = 140 rows: two tiles of 128 (the second spanning both items' ends), three of 64 */
            const conv1d_desc d = shape(2, 70, cgs[i], 20 + 11 * (int64_t)i, 3, 1, 1, 1, 1, 1, (int)(i % 2), layout);
            check_shape(&d, seed++, -1);
        }
    /* output channels around 64 and 128 */
    const int64_t kgs[] = {63, 64, 65, 129};
    for (size_t i = 0; i < sizeof kgs / sizeof kgs[0]; i++) {
        const conv1d_desc d = shape(1, 65, 8, kgs[i], 2, 1, 1, 1, 0, 1, 1, i % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC);
        check_shape(&d, seed++, -1);
    }
}

/* Every other field: stride, dilation, asymmetric and causal padding, groups, a one-channel first layer,
 * a long grouped kernel (wav2vec2's positional conv, scaled down), depthwise. */
static void test_fields(void **unused)
{
    (void)unused;
    const conv1d_desc cases[] = {
        shape(3, 200, 1, 24, 10, 5, 1, 1, 0, 0, 1, CONV1D_LAYOUT_NWC),     /* wav2vec2 first layer */
        shape(3, 200, 1, 24, 10, 5, 1, 1, 0, 0, 1, CONV1D_LAYOUT_NCW),
        shape(2, 61, 16, 48, 7, 1, 3, 1, 9, 9, 1, CONV1D_LAYOUT_NWC),      /* HiFi-GAN dilated */
        shape(2, 61, 16, 48, 7, 1, 3, 1, 9, 9, 0, CONV1D_LAYOUT_NCW),
        shape(2, 49, 32, 64, 4, 2, 1, 1, 2, 0, 1, CONV1D_LAYOUT_NWC),      /* EnCodec downsampling, asymmetric */
        shape(2, 49, 32, 64, 4, 2, 1, 1, 2, 0, 1, CONV1D_LAYOUT_NCW),
        shape(2, 40, 48, 48, 16, 1, 1, 4, 8, 7, 1, CONV1D_LAYOUT_NWC),     /* grouped long kernel */
        shape(2, 40, 48, 48, 16, 1, 1, 4, 8, 7, 1, CONV1D_LAYOUT_NCW),
        shape(1, 30, 12, 12, 4, 1, 1, 12, 3, 0, 1, CONV1D_LAYOUT_NWC),     /* depthwise causal */
        shape(2, 33, 6, 9, 5, 3, 2, 3, 4, 1, 0, CONV1D_LAYOUT_NCW),        /* everything odd */
        shape(1, 9, 40, 8, 9, 1, 1, 1, 0, 0, 0, CONV1D_LAYOUT_NWC),        /* one output position */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_shape(&cases[i], 100 + i, -1);
}

/* Random descriptors from test_util.h, each with one configuration in turn. */
static void test_random(void **unused)
{
    (void)unused;
    uint64_t s = 0x7c;
    for (int i = 0; i < 24; i++) {
        conv1d_desc d = tu_random_desc(&s);
        if (conv1d_output_elems(&d) * (d.kernel_size * d.in_channels / d.num_groups) > 400000) {
            i--;
            continue;
        }
        check_shape(&d, tu_next(&s), i % 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragment_addresses),
        cmocka_unit_test(test_tile_edges),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests_name("tc_emulate", tests, NULL, NULL);
}
