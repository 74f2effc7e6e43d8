/*
 * Winograd F(m, r) convolution for stride-1 layers, channels last (NWC) natively.
 *
 *   winograd_f<m>r<r>__<isa>    p0 = m outputs per tile, p1 = r taps, p2 x p3 = the GEMM register tile
 *
 * The transforms (winograd.h) come from c1_winograd_transforms in double. A tile of m outputs of one phase
 * (below) reads alpha = m + r - 1 input rows. Per block of tb tiles, all channels at once:
 *   1. input transform   V[xi][t][c] = sum_j BT[xi][j] x[row_j(t)][c]           (per-ISA, vectorized over c)
 *   2. alpha GEMMs       M[xi][t][k] = sum_c V[xi][t][c] U[xi][c][k]            (the direct micro-kernels)
 *   3. output transform  y[out_i(t)][k] = bias[k] + sum_xi AT[i][xi] M[xi][t][k] (per-ISA, vectorized over k)
 * U = G g is computed once at prepare (in double, then rounded) and packed like the direct family's weights,
 * one panel of NR output channels per (xi, group, channel block), so step 2 is exactly the direct kernel with a
 * single tap. The element-wise stage does alpha/m multiplies per output instead of r: 1.5x (F(2,3)), 2x
 * (F(4,3)), 2.25x (F(6,3)) fewer than a direct kernel.
 *
 * Blocking: tb tiles per block, so V and M of a block (alpha * tb * (C + K) floats) take half of L2, and each
 * thread owns one slot of the workspace with its V and M; blocks shrink until there are enough tasks for the
 * team. Within a block the GEMMs walk (group, xi, output-channel block, row tile): one NR-wide panel of U
 * stays in L1 while the tile rows stream from L2, as in the direct family's wide layers.
 *
 * Padding: a tile row outside the input points at a row of zeros, so there is no padded copy and the edge
 * tiles run the same code. Dilation d: the outputs split into d phases, o = p + q*d; the tiles of one phase
 * take every d-th input row, which is a dense stride-1 convolution on that phase's sub-signal, read in place.
 * Blocks are runs of tile rows across phases and images (count_tiles), so that short rows and many phases still
 * give the GEMMs whole row tiles.
 * Stride > 1 is not supported: a polyphase split of a k=3 stride-2 layer leaves an F(m,2) on the even taps and
 * a single tap on the odd ones, at best (m+1)/m + 1 multiplies per output instead of 3 (1.33x for m = 4) before
 * the transforms, while the direct family already runs those layers well (results/NOTES.md).
 *
 * NCW: run() transposes x into the workspace (NWC) first; each block's output transform writes an NWC block
 * of the slot, which the task transposes into y while it is still in cache. Both transposes are timed.
 *
 * Error: the transforms' coefficients grow with the tile (powers of the points), and so does the rounding
 * error; c1_winograd_error_estimate gives each tile's measured error, and supports() refuses a shape where it
 * passes a quarter of the fp32 threshold (the checker's limit stays 4x away).
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "basics.h"
#include "direct.h"
#include "error.h"
#include "variant.h"
#include "winograd.h"

#define WS_ALIGN 64

/* --- transforms ---------------------------------------------------------------------------------------- */

/* Interpolation points in the order tiles take them; infinity is always the last point. */
static const double points[C1_WINOGRAD_MAX_ALPHA - 1] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1.0 / 3.0,
                                                         -1.0 / 3.0};

static double ipow(double p, int e)
{
    double v = 1.0;
    for (int i = 0; i < e; i++) v *= p;
    return v;
}

/* inv = a^-1 for an n x n row-major matrix (Gauss-Jordan with partial pivoting): 0, or -1 if singular. */
static int invert(int n, const double *a, double *inv)
{
    double w[C1_WINOGRAD_MAX_ALPHA][2 * C1_WINOGRAD_MAX_ALPHA];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2 * n; j++) w[i][j] = j < n ? a[i * n + j] : (j - n == i);
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int i = col + 1; i < n; i++)
            if (fabs(w[i][col]) > fabs(w[piv][col])) piv = i;
        if (fabs(w[piv][col]) < 1e-12) return -1;
        for (int j = 0; j < 2 * n; j++) {
            const double t = w[col][j];
            w[col][j] = w[piv][j];
            w[piv][j] = t;
        }
        const double s = 1.0 / w[col][col];
        for (int j = 0; j < 2 * n; j++) w[col][j] *= s;
        for (int i = 0; i < n; i++) {
            if (i == col || w[i][col] == 0.0) continue;
            const double f = w[i][col];
            for (int j = 0; j < 2 * n; j++) w[i][j] -= f * w[col][j];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) inv[i * n + j] = w[i][n + j];
    return 0;
}

int c1_winograd_transforms(int m, int r, double *AT, double *G, double *BT)
{
    const int n = m + r - 1;
    if (m < 1 || r < 1 || n > C1_WINOGRAD_MAX_ALPHA) return -1;
    /* Evaluation matrix of polynomials of degree n-1 at the points (the last row picks the leading coefficient,
     * the point at infinity). The linear convolution of a degree r-1 and a degree m-1 polynomial is then
     * T_g h = V^-1 diag(E_g g) E_h h, and the correlation y = T_g^T d = E_h^T diag(E_g g) V^-T d. */
    double V[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA], Vinv[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA];
    for (int j = 0; j < n; j++)
        for (int k = 0; k < n; k++) V[j * n + k] = j < n - 1 ? ipow(points[j], k) : (k == n - 1);
    if (invert(n, V, Vinv) != 0) return -1;
    for (int xi = 0; xi < n; xi++) {
        double s = 0.0;
        for (int j = 0; j < n; j++) {
            BT[xi * n + j] = Vinv[j * n + xi];
            if (fabs(BT[xi * n + j]) > s) s = fabs(BT[xi * n + j]);
        }
        for (int j = 0; j < n; j++) BT[xi * n + j] /= s;
        for (int k = 0; k < r; k++) G[xi * r + k] = s * (xi < n - 1 ? ipow(points[xi], k) : (k == r - 1));
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) AT[i * n + j] = j < n - 1 ? ipow(points[j], i) : (i == m - 1);
    return 0;
}

static void sparse_from(c1_winograd_sparse *s, const double *a, int rows, int cols)
{
    int e = 0;
    s->rows = rows;
    s->cols = cols;
    for (int i = 0; i < rows; i++) {
        s->start[i] = e;
        for (int j = 0; j < cols; j++)
            if (a[i * cols + j] != 0.0) {
                s->col[e] = j;
                s->coef[e++] = (float)a[i * cols + j];
            }
    }
    s->start[rows] = e;
}

/* --- error class ---------------------------------------------------------------------------------------- */

/* Each tile's error on uniform random data in [-1, 1), as a fraction of max|ref|, over 256 input channels per
 * group: the largest of the measurements in tests/unit/test_winograd.c (several seeds, both ISAs, both
 * layouts) rounded up; the test fails if a measurement ever exceeds its entry. Direct kernels measure about
 * 1.5e-6 on the same data. results/NOTES.md keeps the table. */
static const struct {
    int m, r;
    double error;
} error_table[] = {
    {2, 3, 1.5e-6}, {4, 3, 5e-6}, {6, 3, 7e-6}, {4, 2, 3e-6}, {6, 2, 5e-6},
    {2, 5, 4e-6},   {4, 5, 6e-6}, {2, 7, 5e-6}, {3, 7, 2e-5},
};

double c1_winograd_error_estimate(int m, int r, int64_t group_channels)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].m == m && error_table[i].r == r)
            /* Rounding errors of a longer sum grow at most like its square root (a bound, not a measurement). */
            return error_table[i].error * sqrt(fmax(1.0, (double)group_channels / 256.0));
    return INFINITY;
}

/* --- state ---------------------------------------------------------------------------------------------- */

typedef struct wino_state {
    conv1d_desc d;
    int m, r, alpha, mr, nr;
    const c1_direct_kernels *kern;
    const c1_winograd_isa *isa;
    c1_winograd_sparse bt, at;
    int64_t out_len, cg, kg, nkb;
    /* Tile rows (below): each image has t1 of them, rows t < t2 hold a tile of every phase, a last row t2 < t1 only
     * the first rem phases'. */
    int64_t rem, t1, t2;
    int64_t rb; /* tile rows per block; tb = rb * dilation tiles at most */
    int64_t cp, kp; /* row strides of V and M (channels rounded up to 16) */
    int64_t tb;     /* tiles per block */
    float *u;       /* [alpha][G][nkb][Cg][NR] */
    float *bias;    /* [K]: the bias or zeros */
    float *zeros;   /* max(C, NR) zeros: the padding row and the GEMM's starting values */
    size_t xt_bytes, slot_bytes, ws_bytes;
    int slots;
    char info[160];
} wino_state;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static size_t align_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

static const c1_direct_kernels *kernels_of(const c1_variant *v)
{
    return v->isa == C1_ISA_LEVEL_AVX512 ? c1_direct_avx512_kernels(v->params[2], v->params[3])
                                   : c1_direct_avx2_kernels(v->params[2], v->params[3]);
}

static conv1d_status wino_supports(const c1_variant *v, const conv1d_desc *d)
{
    const int m = v->params[0], r = v->params[1];
    if (!kernels_of(v))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s has no %dx%d GEMM kernels in this build.", v->name,
                       v->params[2], v->params[3]);
    if (d->dtype != CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes f32 only, got dtype %d.", v->name, (int)d->dtype);
    if (d->kernel_size != r)
        return c1_fail(CONV1D_UNSUPPORTED, "Winograd F(%d,%d) needs kernel_size %d, got %lld.", m, r, r,
                       (long long)d->kernel_size);
    if (d->stride != 1)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "Winograd F(%d,%d) computes stride 1 only, got stride %lld; strided layers run on the direct "
                       "family.",
                       m, r, (long long)d->stride);
    const int64_t cg = d->in_channels / d->num_groups;
    const double bound = c1_winograd_error_estimate(m, r, cg), limit = c1_precision_tolerance(C1_PREC_FP32).rel_max / 4;
    if (bound > limit)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "Winograd F(%d,%d) would leave the fp32 error class here: estimated error %.2g of max|ref| over "
                       "%lld channels per group, limit %.2g.",
                       m, r, bound, (long long)cg, limit);
    return CONV1D_OK;
}

static void wino_release(void *state)
{
    wino_state *s = state;
    if (!s) return;
    free(s->u);
    free(s->bias);
    free(s->zeros);
    free(s);
}

/* Tile rows: tile t of every phase of one image, o = p + (t*m + i)*d for p < d and i < m, i.e. the m*d consecutive
 * output positions from t*m*d. A block is any rb consecutive tile rows of the batch (numbered image by image), so a
 * block covers one run of consecutive positions per image it touches: short rows and many phases (64 images of 38
 * positions at dilation 3: 2-3 tiles of F(6,3) per phase) still fill the GEMM's MR rows, which blocks within one
 * phase of one image did not, and in NCW each run goes to y in one transpose. Phase p of OL = q0*d + rem outputs
 * has q0 + 1 of them for p < rem and q0 for the rest, so t1 = ceil((q0 + 1)/m) rows, of which the first
 * t2 = ceil(q0/m) hold every phase. */
static void count_tiles(wino_state *s)
{
    const int64_t dil = s->d.dilation, q0 = s->out_len / dil;
    s->rem = s->out_len % dil;
    s->t1 = ceil_div(q0 + 1, s->m);
    s->t2 = ceil_div(q0, s->m);
}

/* Tiles per block from ctx's L2, or as ctx forces it, in whole tile rows. */
static void choose_blocking(wino_state *s, const c1_kernel_ctx *ctx)
{
    const conv1d_desc *d = &s->d;
    const int64_t dil = d->dilation;
    const int64_t per_tile = (int64_t)s->alpha * (s->cp + s->kp) * (int64_t)sizeof(float) +
                             (d->layout == CONV1D_LAYOUT_NCW ? s->m * d->out_channels * (int64_t)sizeof(float) : 0);
    int64_t tb = ctx->l2_bytes / 2 / per_tile;
    tb = min64(max64(tb, s->mr), 16 * (int64_t)s->mr) / s->mr * s->mr;
    const int64_t threads = omp_get_max_threads(), rows = d->batch * s->t1;
    const int64_t rmin = min64(rows, ceil_div(s->mr, dil)); /* a whole GEMM row tile where there are enough */
    int64_t rb = min64(max64(rmin, tb / dil), rows);
    while (rb > rmin && ceil_div(rows, rb) < 4 * threads) rb = max64(rmin, rb / 2);
    /* Of rb down to half of it, the most rows whose rb*d tiles leave the least of the last GEMM row tile empty
     * (dilation 5, MR 8: 8 rows of 40 tiles rather than 9 of 45, whose sixth row tile ran 5 of 8 rows). */
    int64_t best = rb, best_empty = ceil_div(rb * dil, s->mr) * s->mr - rb * dil;
    for (int64_t c = rb - 1; c > rb / 2 && c >= rmin && best_empty > 0; c--) {
        const int64_t empty = ceil_div(c * dil, s->mr) * s->mr - c * dil;
        if (empty * best < best_empty * c) best = c, best_empty = empty; /* a smaller empty fraction */
    }
    rb = best;
    if (ctx->force_blocking[0] > 0) rb = max64(1, ctx->force_blocking[0] / dil);
    s->rb = rb;
    s->tb = rb * dil;
}

static conv1d_status wino_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                  const void *w_arg, const void *bias_arg, void **state)
{
    const float *w = w_arg, *bias = bias_arg; /* f32 only: supports() refuses other dtypes */
    conv1d_status st = wino_supports(v, d);
    if (st != CONV1D_OK) return st;
    wino_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate its state.", v->name);
    s->d = *d;
    s->m = v->params[0];
    s->r = v->params[1];
    s->alpha = s->m + s->r - 1;
    s->mr = v->params[2];
    s->nr = v->params[3];
    s->kern = kernels_of(v);
    s->isa = v->isa == C1_ISA_LEVEL_AVX512 ? &c1_winograd_avx512 : &c1_winograd_avx2;
    const int64_t G = d->num_groups, C = d->in_channels, K = d->out_channels, R = s->r, nr = s->nr;
    const int alpha = s->alpha;
    s->out_len = conv1d_output_length(d);
    s->cg = C / G;
    s->kg = K / G;
    s->nkb = ceil_div(s->kg, nr);
    s->cp = ceil_div(C, 16) * 16;
    s->kp = ceil_div(K, 16) * 16;

    double AT[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA], Gm[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA],
        BT[C1_WINOGRAD_MAX_ALPHA * C1_WINOGRAD_MAX_ALPHA];
    if (c1_winograd_transforms(s->m, s->r, AT, Gm, BT) != 0) {
        wino_release(s);
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: no transforms for F(%d,%d).", v->name, v->params[0],
                       v->params[1]);
    }
    sparse_from(&s->bt, BT, alpha, alpha);
    sparse_from(&s->at, AT, s->m, alpha);

    size_t u_elems = 0;
    if (__builtin_mul_overflow((size_t)alpha * (size_t)(G * s->nkb * nr), (size_t)s->cg, &u_elems) ||
        u_elems > SIZE_MAX / 2 / sizeof(float)) {
        wino_release(s);
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: the transformed weights would not fit in memory.", v->name);
    }
    s->u = c1_alloc_floats(u_elems);
    s->bias = c1_alloc_floats((size_t)K);
    s->zeros = c1_alloc_floats((size_t)max64(s->cp, nr));
    if (!s->u || !s->bias || !s->zeros) {
        wino_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate %zu bytes of transformed weights.",
                       v->name, u_elems * sizeof(float));
    }
    if (d->has_bias) memcpy(s->bias, bias, (size_t)K * sizeof(float));

    /* U[xi][g][kb][c][j] = sum_r G[xi][r] w(k = g*Kg + kb*NR + j, c, r), zero beyond the group's channels. */
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const int64_t Cg = s->cg, Kg = s->kg;
    for (int xi = 0; xi < alpha; xi++)
        for (int64_t g = 0; g < G; g++)
            for (int64_t kb = 0; kb < s->nkb; kb++)
                for (int64_t c = 0; c < Cg; c++) {
                    float *dst = s->u + (((xi * G + g) * s->nkb + kb) * Cg + c) * nr;
                    for (int64_t j = 0; j < nr; j++) {
                        const int64_t k = kb * nr + j, ko = g * Kg + k;
                        if (k >= Kg) continue;
                        double acc = 0.0;
                        for (int64_t r = 0; r < R; r++)
                            acc += Gm[xi * R + r] * (double)(nwc ? w[(r * Cg + c) * K + ko] : w[(ko * Cg + c) * R + r]);
                        dst[j] = (float)acc;
                    }
                }

    count_tiles(s);
    choose_blocking(s, c1_kernel_ctx_or_machine(ctx));
    s->slots = omp_get_max_threads();
    s->slot_bytes = align_up((size_t)alpha * (size_t)s->tb * (size_t)(s->cp + s->kp) * sizeof(float));
    if (!nwc) {
        s->slot_bytes += align_up((size_t)(s->tb * s->m) * (size_t)K * sizeof(float));
        s->xt_bytes = align_up((size_t)conv1d_input_elems(d) * sizeof(float));
    }
    s->ws_bytes = s->xt_bytes + (size_t)s->slots * s->slot_bytes + WS_ALIGN - 1;
    snprintf(s->info, sizeof s->info, "F(%d,%d) %s, GEMM %dx%d, %lld tiles per block, %d slots%s", s->m, s->r,
             v->isa == C1_ISA_LEVEL_AVX512 ? "avx512" : "avx2", s->mr, s->nr, (long long)s->tb, s->slots,
             nwc ? "" : ", ncw transposed through the workspace");
    *state = s;
    return CONV1D_OK;
}

static size_t wino_workspace_bytes(const void *state) { return ((const wino_state *)state)->ws_bytes; }

/* One block: tile rows [r0, r1) of the batch. x is NWC; y is NWC, or NCW through ybuf, whose row
 * (r - r0)*m*d + j holds position t*m*d + j of tile row r (image r / t1, t = r % t1). The three steps walk the
 * block's tiles in the same order: row by row, phase by phase. */
static void run_block(const wino_state *s, const float *x, float *y, float *slot, int64_t r0, int64_t r1)
{
    const conv1d_desc *d = &s->d;
    const int64_t L = d->length, C = d->in_channels, K = d->out_channels, G = d->num_groups, dil = d->dilation;
    const int64_t OL = s->out_len, m = s->m, alpha = s->alpha, tb = s->tb, cp = s->cp, kp = s->kp;
    const int64_t Cg = s->cg, Kg = s->kg, nr = s->nr, mr = s->mr, nkb = s->nkb, t1 = s->t1;
    const bool ncw = d->layout == CONV1D_LAYOUT_NCW;
    float *V = slot, *M = slot + alpha * tb * cp, *ybuf = M + alpha * tb * kp;
#define FOR_EACH_TILE(body)                                                                                           \
    for (int64_t r = r0, tl = 0; r < r1; r++) {                                                                       \
        const int64_t n = r / t1, t = r % t1, phases = t < s->t2 ? dil : s->rem;                                      \
        for (int64_t p = 0; p < phases; p++, tl++) body                                                               \
    }

    /* 1. Input transform: row j of tile t of phase p is input position p + (t*m + j)*d - pad_left. */
    const float *rows[C1_WINOGRAD_MAX_ALPHA];
    int64_t nt = 0;
    FOR_EACH_TILE({
        const float *xn = x + n * L * C;
        const int64_t base = p + t * m * dil - d->pad_left;
        for (int64_t j = 0; j < alpha; j++) {
            const int64_t pos = base + j * dil;
            rows[j] = pos >= 0 && pos < L ? xn + pos * C : s->zeros;
        }
        /* The rows this phase's next tile adds, first touched one tile row later: ask for them now. */
        for (int64_t j = alpha; j < alpha + m; j++) {
            const int64_t pos = base + j * dil;
            if (pos < 0 || pos >= L) continue;
            const char *row = (const char *)(xn + pos * C);
            for (int64_t off = 0; off < C * (int64_t)sizeof(float); off += 64) __builtin_prefetch(row + off);
        }
        s->isa->in(&s->bt, rows, V + tl * cp, tb * cp, C);
        nt = tl + 1;
    })

    /* 2. The alpha GEMMs on the direct micro-kernels (one tap, the whole group's channels). */
    c1_direct_tile tile = {.x_row = cp, .x_tap = 0, .w_tap = 0, .y_row = kp, .taps = 1, .kc = Cg, .init = s->zeros};
    for (int64_t g = 0; g < G; g++)
        for (int64_t xi = 0; xi < alpha; xi++)
            for (int64_t kb = 0; kb < nkb; kb++) {
                tile.w = s->u + (((xi * G + g) * nkb + kb) * Cg) * nr;
                tile.nvalid = (int)min64(nr, Kg - kb * nr);
                for (int64_t t0 = 0; t0 < nt; t0 += mr) {
                    tile.x = V + (xi * tb + t0) * cp + g * Cg;
                    tile.y = M + (xi * tb + t0) * kp + g * Kg + kb * nr;
                    s->kern->ukr[min64(mr, nt - t0) - 1](&tile);
                }
            }

    /* 3. Output transform, with the bias, into y (NWC) or the slot's NWC block (NCW). */
    float *out[C1_WINOGRAD_MAX_ALPHA];
    FOR_EACH_TILE({
        int valid = 0;
        for (int64_t i = 0; i < m; i++) {
            const int64_t o = p + (t * m + i) * dil;
            if (o >= OL) break;
            out[valid++] = ncw ? ybuf + ((r - r0) * m + i) * dil * K + p * K : y + (n * OL + o) * K;
        }
        s->isa->out(&s->at, M + tl * kp, tb * kp, s->bias, out, valid, K);
    })
#undef FOR_EACH_TILE
    if (!ncw) return;

    /* NCW: the block's rows of one image are one run of positions, transposed into y at once. */
    for (int64_t ra = r0, rz; ra < r1; ra = rz) {
        const int64_t n = ra / t1;
        rz = min64(r1, (n + 1) * t1);
        const int64_t o0 = ra % t1 * m * dil, o1 = min64(OL, ((rz - 1) % t1 + 1) * m * dil);
        c1_direct_avx2_transpose(ybuf + (ra - r0) * m * dil * K, K, y + n * K * OL + o0, OL, o1 - o0, K);
    }
}

static conv1d_status wino_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const wino_state *s = state;
    const conv1d_desc *d = &s->d;
    char *ws = (char *)(((uintptr_t)workspace + WS_ALIGN - 1) & ~(uintptr_t)(WS_ALIGN - 1));
    const int nthreads = (int)min64(omp_get_max_threads(), s->slots);

    if (d->layout == CONV1D_LAYOUT_NCW) {
        c1_direct_ncw_to_nwc(d, x, (float *)ws, c1_direct_avx2_transpose);
        x = (const float *)ws;
    }
    char *slots = ws + s->xt_bytes;

    /* Tasks: blocks of rb consecutive tile rows of the batch. */
    const int64_t rows = d->batch * s->t1, ntasks = ceil_div(rows, s->rb);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int64_t task = 0; task < ntasks; task++) {
        float *slot = (float *)(slots + (size_t)omp_get_thread_num() * s->slot_bytes);
        run_block(s, x, y, slot, task * s->rb, min64(rows, (task + 1) * s->rb));
    }
    return CONV1D_OK;
}

static const char *wino_impl_info(const void *state) { return ((const wino_state *)state)->info; }

/* One table for every ISA: the variant's isa column picks the GEMM kernels and transforms (AVX2 or AVX-512;
 * there is no portable Winograd variant). */
const c1_variant_ops c1_winograd_ops = {
    .supports = wino_supports,
    .prepare = wino_prepare,
    .workspace_bytes = wino_workspace_bytes,
    .run = wino_run,
    .release = wino_release,
    .impl_info = wino_impl_info,
};
