/*
 * Internal: the index arithmetic of the tensor-core implicit-GEMM kernels (cuda_tc.cu: TF32, bf16, f16), in
 * plain C that both nvcc (device and host) and the host C compiler build, so the kernels and their host
 * emulation (tests/unit/test_tc_emulate.c) run the very same functions. Everything a kernel decides about
 * where an element comes from or goes to is here; the kernel adds only the copies, the ldmatrix/mma
 * instructions and the pipeline around them.
 *
 * The GEMM. Rows m = (batch item, output position), m < M = batch * out_length, so one block tile can span
 * batch items (a short layer still fills the GPU). Columns = output channels of one group (Kg). Reduction
 * over (tap r, input channel c of the group), in one of two orders, bk columns per iteration (bk = 32 fp32
 * or 64 16-bit elements: one stage row is always 32 four-byte words, 8 pieces of 16 bytes):
 *   vec (channels last, C and C/G multiples of a piece, x 16-byte aligned): iteration it is tap it / nkc and
 *     the channel block (it % nkc) * bk .. + bk, copied in 16-byte pieces (cp.async.cg 16);
 *   flat (everything else: channels first, odd channel counts): iteration it is the flattened columns
 *     kk = it * bk .. + bk of (r, c) with kk = r * Cg + c, gathered one word at a time (fp32: cp.async 4;
 *     16-bit: the two elements of a word loaded into registers and stored together, cp.async having no
 *     2-byte form); a first layer with one input channel then still fills the k dimension of every mma
 *     with taps.
 * Weights are packed on the host as [g][k][Kp], Kp = R * Cg rounded up to a 16-byte piece (4 or 8
 * elements; zeros after R * Cg), so a tap's channels are contiguous and every weight copy is 16 bytes.
 *
 * Shared memory of one pipeline stage, in 4-byte words: A (BM rows x 32 words) then B (BN rows x 32 words,
 * B stored n-major, i.e. as B^T), both with a row pitch of 36 words: 16-byte aligned rows for ldmatrix and
 * cp.async, and 8 consecutive rows start 4 banks apart, so each 8-lane phase of an ldmatrix touches all 32
 * banks once (no conflicts). A 16-bit word holds elements 2w (low half) and 2w + 1 (high half).
 *
 * Fragments. TF32 uses mma.m16n8k8 with 32-bit elements; ldmatrix .m8n8 .b16 moves 8 rows of 16 bytes per
 * matrix, i.e. 8 rows x 4 words, and lane l receives word l % 4 of row l / 4: exactly the (groupID,
 * threadID_in_group) layout of the TF32 A and B fragments. The 16-bit forms (bf16/f16 mma.m16n8k16) use the
 * very same word addresses: a word then carries the two neighbouring k elements that the PTX fragments of
 * m16n8k16 put in one register, so 8 words of a row are the 16 k columns of one mma.
 *
 * Names c1_ptx_* are the PTX ISA's definitions (hardware behaviour, "Matrix Fragments for mma.m16n8k8" and
 * "...m16n8k16", "ldmatrix"); c1_tc_* are this kernel's choices, which the emulation checks against them.
 */
#ifndef CONV1D_TC_MAP_H
#define CONV1D_TC_MAP_H

#ifdef __CUDACC__
#define C1_HD static __host__ __device__ __forceinline__
#else
#define C1_HD static inline
#endif

typedef long long c1_i64;

/* 4-byte words of one stage row (32 fp32 or 64 16-bit reduction columns) and the shared-memory row pitch
 * (words). */
#define C1_TC_BK 32
#define C1_TC_PITCH (C1_TC_BK + 4)

/* --- PTX definitions ---------------------------------------------------------------------------------- */

/* mma.m16n8k8 .tf32, multiplicand A (16 x 8), element i of lane (i = 0..3). */
C1_HD void c1_ptx_a_tf32(int lane, int i, int *row, int *col)
{
    *row = (lane >> 2) + 8 * (i & 1);
    *col = (lane & 3) + 4 * (i >> 1);
}
/* mma.m16n8k8 .tf32, multiplicand B (8 x 8), element i = 0..1: row k, column n. */
C1_HD void c1_ptx_b_tf32(int lane, int i, int *k, int *n)
{
    *k = (lane & 3) + 4 * i;
    *n = lane >> 2;
}
/* mma.m16n8k{8,16} .f32 accumulators C/D (16 x 8), element i = 0..3. */
C1_HD void c1_ptx_c_f32(int lane, int i, int *row, int *col)
{
    *row = (lane >> 2) + 8 * (i >> 1);
    *col = 2 * (lane & 3) + (i & 1);
}
/* mma.m16n8k16 .bf16/.f16, multiplicand A (16 x 16), element i = 0..7 (two per 32-bit register). */
C1_HD void c1_ptx_a_16bit(int lane, int i, int *row, int *col)
{
    *row = (lane >> 2) + 8 * ((i >> 1) & 1);
    *col = 2 * (lane & 3) + (i & 1) + 8 * (i >> 2);
}
/* mma.m16n8k16 .bf16/.f16, multiplicand B (16 x 8), element i = 0..3: row k, column n. */
C1_HD void c1_ptx_b_16bit(int lane, int i, int *k, int *n)
{
    *k = 2 * (lane & 3) + (i & 1) + 8 * (i >> 1);
    *n = lane >> 2;
}
/* ldmatrix .m8n8 .x4 .b16: lanes 8j .. 8j+7 give the addresses of rows 0..7 of matrix j; register j of
 * lane l receives the 32-bit word l % 4 of row l / 4 of matrix j, i.e. of the row whose address lane
 * 8j + l / 4 gave. */
C1_HD void c1_ptx_ldsm_x4(int lane, int j, int *addr_lane, int *word)
{
    *addr_lane = 8 * j + (lane >> 2);
    *word = lane & 3;
}

/* --- this kernel's choices ---------------------------------------------------------------------------- */

/* The geometry of one convolution as the kernel sees it (host-made, passed by value). */
typedef struct c1_tc_geom {
    c1_i64 M;                 /* GEMM rows: batch * out_length */
    c1_i64 OL, L, C, K, G, Cg, Kg, R, stride, dil, pad_left;
    c1_i64 Kred, Kp;          /* R * Cg; the packed weight row, Kred rounded up to a piece (epp) */
    c1_i64 nk;                /* reduction iterations */
    int nkc;                  /* vec: channel blocks per tap */
    int nwc, vec;
    int epp;                  /* elements per 16-byte piece: 4 (fp32) or 8 (bf16, f16) */
    int bk;                   /* reduction columns per iteration: 8 pieces, 32 or 64 */
} c1_tc_geom;

/* Elements of elem_bytes (4 or 2). vec needs channels last, C and C/G multiples of a piece and a 16-byte
 * aligned x (x_aligned). */
C1_HD c1_tc_geom c1_tc_geom_make(c1_i64 batch, c1_i64 length, c1_i64 in_channels, c1_i64 out_channels,
                                 c1_i64 kernel_size, c1_i64 stride, c1_i64 dilation, c1_i64 pad_left,
                                 c1_i64 groups, c1_i64 out_length, int nwc, int x_aligned, int elem_bytes)
{
    c1_tc_geom g;
    g.OL = out_length;
    g.M = batch * out_length;
    g.L = length;
    g.C = in_channels;
    g.K = out_channels;
    g.G = groups;
    g.Cg = in_channels / groups;
    g.Kg = out_channels / groups;
    g.R = kernel_size;
    g.stride = stride;
    g.dil = dilation;
    g.pad_left = pad_left;
    g.epp = 16 / elem_bytes;
    g.bk = 8 * g.epp;
    g.Kred = g.R * g.Cg;
    g.Kp = (g.Kred + g.epp - 1) / g.epp * g.epp;
    g.nwc = nwc;
    g.vec = nwc && in_channels % g.epp == 0 && g.Cg % g.epp == 0 && x_aligned;
    g.nkc = (int)((g.Cg + g.bk - 1) / g.bk);
    g.nk = g.vec ? g.R * g.nkc : (g.Kred + g.bk - 1) / g.bk;
    return g;
}

/* Block tile t of the grid: tile of rows mt, tile of columns nt, group grp (m fastest: neighbouring blocks
 * share weights). */
C1_HD void c1_tc_tile(c1_i64 t, c1_i64 m_tiles, c1_i64 n_tiles, c1_i64 *mt, c1_i64 *nt, c1_i64 *grp)
{
    *mt = t % m_tiles;
    t /= m_tiles;
    *nt = t % n_tiles;
    *grp = t / n_tiles;
}

/* GEMM row m: batch item n and output position o. */
C1_HD void c1_tc_row(const c1_tc_geom *g, c1_i64 m, c1_i64 *n, c1_i64 *o)
{
    *n = m / g->OL;
    *o = m - *n * g->OL;
}

/* Element offsets of x(n, position, channel) and y(n, output position, channel), channels over all groups. */
C1_HD c1_i64 c1_tc_x_index(const c1_tc_geom *g, c1_i64 n, c1_i64 pos, c1_i64 ch)
{
    return g->nwc ? (n * g->L + pos) * g->C + ch : (n * g->C + ch) * g->L + pos;
}
C1_HD c1_i64 c1_tc_y_index(const c1_tc_geom *g, c1_i64 n, c1_i64 o, c1_i64 k)
{
    return g->nwc ? (n * g->OL + o) * g->K + k : (n * g->K + k) * g->OL + o;
}

/* Where reduction iteration it starts: tap *r0 and channel *c0 of its first column (one division per
 * iteration; the columns then follow from c1_tc_red_col without one, for a group of at least bk channels). */
C1_HD void c1_tc_red_start(const c1_tc_geom *g, c1_i64 it, c1_i64 *r0, c1_i64 *c0)
{
    if (g->vec) {
        *r0 = it / g->nkc;
        *c0 = (it - *r0 * g->nkc) * g->bk;
    } else {
        const c1_i64 kk = it * g->bk;
        *r0 = kk / g->Cg;
        *c0 = kk - *r0 * g->Cg;
    }
}

/* Column col (0 .. bk-1) of the iteration starting at (r0, c0): tap *r and channel *c of the group; 0 when
 * the column is padding (beyond the group's channels in vec mode, beyond R * Cg in flat mode), whose A
 * element is then zero. */
C1_HD int c1_tc_red_col(const c1_tc_geom *g, c1_i64 r0, c1_i64 c0, int col, c1_i64 *r, c1_i64 *c)
{
    *r = r0;
    *c = c0 + col;
    if (g->vec) return *c < g->Cg;
    if (*c >= g->Cg) {
        if (g->Cg >= g->bk) { /* c0 < Cg and col < bk <= Cg: at most one tap further */
            *c -= g->Cg;
            *r += 1;
        } else {
            const int q = (int)*c / (int)g->Cg; /* c < Cg + bk: small */
            *r += q;
            *c -= (c1_i64)q * g->Cg;
        }
    }
    return *r < g->R;
}

/* The weight columns of the iteration starting at (r0, c0) in a packed row: 16-byte pieces start + epp q
 * with start + epp q < limit are copied, the others zero-filled (in flat mode start = it * bk). */
C1_HD void c1_tc_b_cols(const c1_tc_geom *g, c1_i64 r0, c1_i64 c0, c1_i64 *start, c1_i64 *limit)
{
    *start = r0 * g->Cg + c0;
    *limit = g->vec ? r0 * g->Cg + g->Cg : g->Kp;
}

/* Input position of output position o at tap r (may be outside 0 .. L-1: padding). */
C1_HD c1_i64 c1_tc_pos(const c1_tc_geom *g, c1_i64 o, c1_i64 r) { return o * g->stride - g->pad_left + r * g->dil; }

/* Copy slots of thread tid (nth threads) per stage.
 * 16-byte pieces (A in vec mode, B always): slot j is piece e = tid + j * nth, row e / 8, piece q = e % 8
 * of the row (words 4q .. 4q+3, elements epp q ..); q is the same for every j since nth is a multiple of 8.
 * Words (A in flat mode: one fp32 element, or 16-bit elements 2 col and 2 col + 1): row tid % bm, the same
 * for every j (nth is a multiple of bm), word column tid / bm + j * (nth / bm); consecutive threads take
 * consecutive rows, i.e. positions, which is what channels-first memory holds contiguously. */
C1_HD void c1_tc_piece_slot(int tid, int j, int nth, int *row, int *q)
{
    const int e = tid + j * nth;
    *row = e / (C1_TC_BK / 4);
    *q = e % (C1_TC_BK / 4);
}
C1_HD void c1_tc_elem_slot(int tid, int j, int nth, int bm, int *row, int *col)
{
    *row = tid % bm;
    *col = tid / bm + j * (nth / bm);
}

/* Word offsets in one stage: A(row, word col), then B^T(n row, word col) after bm rows. */
C1_HD int c1_tc_sa(int row, int col) { return row * C1_TC_PITCH + col; }
C1_HD int c1_tc_sb(int bm, int nrow, int col) { return (bm + nrow) * C1_TC_PITCH + col; }
C1_HD int c1_tc_stage_words(int bm, int bn) { return (bm + bn) * C1_TC_PITCH; }

/* Warp w's tile origin in the block tile (warps along m fastest). */
C1_HD void c1_tc_warp_origin(int warp, int bm, int wm, int wn, int *m0, int *n0)
{
    const int warps_m = bm / wm;
    *m0 = (warp % warps_m) * wm;
    *n0 = (warp / warps_m) * wn;
}

/* ldmatrix.x4 address of lane for the A fragment of a 16-row x 8-word block (TF32: 16 x 8, 16-bit: 16 x 16
 * elements): matrix j = lane / 8 is rows (j & 1) * 8 .. + 7, 16-byte column piece j >> 1; registers then
 * hold a0 (rows 0-7, words 0-3), a1 (rows 8-15, words 0-3), a2 (rows 0-7, words 4-7), a3 (rows 8-15, words
 * 4-7). *row within the 16, *col in words within the 8. */
C1_HD void c1_tc_ldsm_a(int lane, int *row, int *col)
{
    const int j = lane >> 3;
    *row = (j & 1) * 8 + (lane & 7);
    *col = (j >> 1) * 4;
}
/* ldmatrix.x4 address of lane for the B fragments of two neighbouring n8 tiles x 8 words (B^T rows = n):
 * matrix j is n rows (j >> 1) * 8 .. + 7 and column piece j & 1, so the registers are b0, b1 of the first
 * tile, then b0, b1 of the second. */
C1_HD void c1_tc_ldsm_b(int lane, int *nrow, int *col)
{
    const int j = lane >> 3;
    *nrow = (j >> 1) * 8 + (lane & 7);
    *col = (j & 1) * 4;
}

#ifndef __CUDACC__
/* The packed weights [g][k][Kp] from the caller's w (NWC: w[r][c][k]; NCW: w[k][c][r]), zeros after R * Cg
 * in each row; p holds out_channels * Kp elements, Kp = R * C/G rounded up to 4 (fp32) or 8 (16-bit: the
 * raw bits are moved). Host C only (cuda_conv.c and the emulation). */
#define C1_TC_PACK_BODY(EPP)                                                                                       \
    const c1_i64 K = out_channels, Cg = in_channels / groups, R = kernel_size, kp = (R * Cg + EPP - 1) / EPP * EPP; \
    for (c1_i64 k = 0; k < K; k++) {                                                                               \
        for (c1_i64 r = 0; r < R; r++)                                                                             \
            for (c1_i64 c = 0; c < Cg; c++)                                                                        \
                p[k * kp + r * Cg + c] = nwc ? w[(r * Cg + c) * K + k] : w[(k * Cg + c) * R + r];                  \
        for (c1_i64 i = R * Cg; i < kp; i++) p[k * kp + i] = 0;                                                    \
    }
static inline void c1_tc_pack_weights(c1_i64 in_channels, c1_i64 out_channels, c1_i64 kernel_size, c1_i64 groups,
                                      int nwc, const float *w, float *p)
{
    C1_TC_PACK_BODY(4)
}
static inline void c1_tc_pack_weights16(c1_i64 in_channels, c1_i64 out_channels, c1_i64 kernel_size, c1_i64 groups,
                                        int nwc, const unsigned short *w, unsigned short *p)
{
    C1_TC_PACK_BODY(8)
}
#undef C1_TC_PACK_BODY
#endif

#endif
