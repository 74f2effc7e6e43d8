/*
 * cuda_tc_*: the tensor-core implicit GEMMs, one kernel template for three precision classes:
 *   tf32 (cuda_tc_<tile>):       fp32 data, inputs rounded to TF32 by cvt.rna, mma.m16n8k8, the class PyTorch
 *                                users get from cuDNN by default;
 *   bf16, f16 (cuda_tc_bf16_*, cuda_tc_f16_*): 16-bit data read as it is, mma.m16n8k16 with fp32
 *                                accumulators, the bias added in fp32 and the output rounded once to the
 *                                16-bit type (__float2bfloat16_rn / __float2half_rn), as the 16-bit classes
 *                                require.
 * All index arithmetic (GEMM rows across batch items, the two reduction orders, copy slots, shared-memory
 * offsets, ldmatrix addresses, fragment ownership) lives in tc_map.h, which tests/unit/test_tc_emulate.c runs
 * on the host lane by lane against the double reference for every element type; this file adds the
 * instructions around it.
 *
 * tc_kernel<KIND, BM, BN, WM, WN, STAGES, VEC>: a block of (BM/WM) x (BN/WN) warps computes a BM x BN tile of
 * (rows = batch x output positions) x (output channels of one group); each warp a WM x WN sub-tile as
 * (WM/16) x (WN/8) mma accumulators (fp32, in registers). Per reduction iteration (one stage row of 32
 * words: 32 fp32 or 64 16-bit columns) the block copies the A tile (BM rows) and the B^T tile (BN rows) into
 * one of STAGES shared-memory stages, STAGES - 1 iterations ahead of the math: cp.async 16-byte pieces for B
 * always and for A in vec mode; in flat mode fp32 gathers 4-byte elements with cp.async, while 16-bit gathers
 * the two elements of each word with 2-byte loads into registers (cp.async has no 2-byte form) and stores the
 * word to the stage after this iteration's math, so the loads' latency hides behind the mma. Zero-fill for
 * padding, halo and tails. Each warp then loads its fragments with ldmatrix.x4 (one per 16-row A block, one
 * per two n8 B blocks: 128-bit shared loads, conflict-free by the row pitch) and issues (WM/16) * (WN/8) mma
 * per 8 words of k. The epilogue adds the bias in fp32 and stores each accumulator where c1_ptx_c_f32 says it
 * belongs; 16-bit channels-last outputs go out as pairs of neighbouring channels in one 4-byte store.
 *
 * Resource use (nvcc -O3 -lineinfo -Xptxas -v, CUDA 13.0; no spills, no stack frame in any instantiation),
 * registers flat / vec:
 *   tf32  sm_90: 64x64 96 / 122, 128x64 126 / 164, 128x128 126 / 160;
 *         sm_80: 64x64 94 / 126, 128x64 126 / 168, 128x128 126 / 160;
 *   bf16, f16: see C1_TC_CONFIGS.
 * Dynamic shared memory 3 * (BM + BN) * 36 * 4 bytes (55 KB, 83 KB, 111 KB) for every element type, so every
 * tile needs the opt-in limit (c1_cuda_smem_optin). 128x128 vec: 160 x 256 threads, one block per SM by
 * registers; whether two smaller blocks or __launch_bounds__ minimum blocks do better is a question for the
 * GPU.
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "conv1d.h"
#include "cuda_conv.h"
#include "cuda_half.cuh"
#include "tc_map.h"

typedef long long i64;

static const i64 kMaxBlocks = 1ll << 20;

__device__ __forceinline__ void tc_cp16(void *dst, const void *src, bool ok)
{
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(ok ? 16 : 0) : "memory");
}

__device__ __forceinline__ void tc_cp4(void *dst, const void *src, bool ok)
{
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(ok ? 4 : 0) : "memory");
}

__device__ __forceinline__ void tc_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void tc_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void tc_ldsm_x4(unsigned &r0, unsigned &r1, unsigned &r2, unsigned &r3, const void *p)
{
    const unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(a));
}

/* The element types (c1_el: storage E, widen, narrow; x, w, bias and y all of E) and what the tensor cores
 * add: frag, what a fragment register needs before the mma (TF32: round to nearest, ties away from zero, as
 * cvt.rna does and the emulation does; 16-bit: nothing), and mma, one warp-wide D = A B + D. */
enum { TC_TF32 = CONV1D_F32, TC_BF16 = CONV1D_BF16, TC_F16 = CONV1D_F16 };

template <int KIND>
struct tc_elem;

template <>
struct tc_elem<TC_TF32> : c1_el<CONV1D_F32> {
    static __device__ __forceinline__ unsigned frag(unsigned bits)
    {
        unsigned r;
        asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(bits)));
        return r;
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
    {
        asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

template <>
struct tc_elem<TC_BF16> : c1_el<CONV1D_BF16> {
    static __device__ __forceinline__ unsigned frag(unsigned bits) { return bits; }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
    {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

template <>
struct tc_elem<TC_F16> : c1_el<CONV1D_F16> {
    static __device__ __forceinline__ unsigned frag(unsigned bits) { return bits; }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
    {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

template <int KIND, int BM, int BN, int WM, int WN, int STAGES, bool VEC>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * 32)
    tc_kernel(const typename tc_elem<KIND>::E *__restrict__ x, typename tc_elem<KIND>::E *__restrict__ y,
              const typename tc_elem<KIND>::E *__restrict__ w, const typename tc_elem<KIND>::E *__restrict__ bias,
              const c1_tc_geom G, const i64 m_tiles, const i64 n_tiles, const i64 total)
{
    typedef tc_elem<KIND> X;
    typedef typename X::E E;
    constexpr bool H16 = KIND != TC_TF32;         /* 16-bit elements, two per word */
    constexpr bool STAGED = H16 && !VEC;          /* flat 16-bit A: gathered through registers */
    constexpr int EPP = 16 / (int)sizeof(E);      /* elements per 16-byte piece */
    constexpr int NTH = (BM / WM) * (BN / WN) * 32, MI = WM / 16, NI = WN / 8, PIECES = C1_TC_BK / 4;
    constexpr int AV = BM * PIECES / NTH, AE = BM * C1_TC_BK / NTH, BV = BN * PIECES / NTH, AR = VEC ? AV : 1;
    constexpr int SW = (BM + BN) * C1_TC_PITCH;   /* words per stage */
    static_assert(NTH % PIECES == 0 && (BM * PIECES) % NTH == 0 && (BN * PIECES) % NTH == 0, "piece slots");
    static_assert(NTH % BM == 0, "flat mode: one A row per thread");
    static_assert(WM % 16 == 0 && WN % 16 == 0 && STAGES >= 2, "warp tile");
    extern __shared__ __align__(16) unsigned smem[];
    const int tid = (int)threadIdx.x, lane = tid & 31;
    int wm0, wn0;
    c1_tc_warp_origin(tid >> 5, BM, WM, WN, &wm0, &wn0);
    const bool y_pairs = H16 && G.nwc && ((uintptr_t)y & 3) == 0;

    for (i64 t = blockIdx.x; t < total; t += gridDim.x) {
        i64 mt, nt, grp;
        c1_tc_tile(t, m_tiles, n_tiles, &mt, &nt, &grp);
        const i64 m0 = mt * BM, k0 = nt * BN;

        /* This thread's A rows (the same in every iteration): batch item and output position, 32-bit (the
         * variant refuses longer tensors), or -1 past the last row. */
        int arow[AR], aq = 0, an[AR], ao[AR];
#pragma unroll
        for (int j = 0; j < AR; j++) {
            int col;
            if (VEC)
                c1_tc_piece_slot(tid, j, NTH, &arow[j], &aq);
            else
                c1_tc_elem_slot(tid, j, NTH, BM, &arow[j], &col);
            const i64 m = m0 + arow[j];
            i64 n = -1, o = 0;
            if (m < G.M) c1_tc_row(&G, m, &n, &o);
            an[j] = (int)n;
            ao[j] = (int)o;
        }
        /* This thread's B^T rows: output channels k0 + brow, brow = brow0 + j * NTH / PIECES. */
        int brow0, bq;
        c1_tc_piece_slot(tid, 0, NTH, &brow0, &bq);
        const E *wrow0 = w + (grp * G.Kg + k0 + brow0) * G.Kp;
        unsigned staged[STAGED ? AE : 1]; /* flat 16-bit: the A words of the iteration in flight */

        /* Copies of reduction iteration it into stage s, as one commit group (committed by the caller); in
         * flat 16-bit mode the A words go to `staged` and store_staged puts them into the stage. */
        auto load_stage = [&](i64 it, int s) {
            unsigned *st = smem + s * SW;
            i64 r0, c0;
            c1_tc_red_start(&G, it, &r0, &c0);
            if constexpr (VEC) {
                i64 r, c;
                const bool okc = c1_tc_red_col(&G, r0, c0, aq * EPP, &r, &c);
#pragma unroll
                for (int j = 0; j < AV; j++) {
                    const i64 pos = c1_tc_pos(&G, ao[j], r);
                    const bool ok = an[j] >= 0 && okc && pos >= 0 && pos < G.L;
                    tc_cp16(st + c1_tc_sa(arow[j], aq * 4), ok ? x + c1_tc_x_index(&G, an[j], pos, grp * G.Cg + c) : x,
                            ok);
                }
            } else if constexpr (!H16) {
#pragma unroll
                for (int j = 0; j < AE; j++) {
                    int row, col;
                    c1_tc_elem_slot(tid, j, NTH, BM, &row, &col);
                    i64 r, c;
                    const bool okc = c1_tc_red_col(&G, r0, c0, col, &r, &c);
                    const i64 pos = c1_tc_pos(&G, ao[0], r);
                    const bool ok = an[0] >= 0 && okc && pos >= 0 && pos < G.L;
                    tc_cp4(st + c1_tc_sa(row, col), ok ? x + c1_tc_x_index(&G, an[0], pos, grp * G.Cg + c) : x, ok);
                }
            } else {
#pragma unroll
                for (int j = 0; j < AE; j++) {
                    int row, wcol;
                    c1_tc_elem_slot(tid, j, NTH, BM, &row, &wcol);
                    unsigned word = 0;
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        i64 r, c;
                        const bool okc = c1_tc_red_col(&G, r0, c0, 2 * wcol + h, &r, &c);
                        const i64 pos = c1_tc_pos(&G, ao[0], r);
                        if (an[0] >= 0 && okc && pos >= 0 && pos < G.L)
                            word |= (unsigned)__ldg(x + c1_tc_x_index(&G, an[0], pos, grp * G.Cg + c)) << (16 * h);
                    }
                    staged[j] = word;
                }
            }
            i64 start, limit;
            c1_tc_b_cols(&G, r0, c0, &start, &limit);
            const i64 col = start + bq * EPP;
#pragma unroll
            for (int j = 0; j < BV; j++) {
                const int brow = brow0 + j * (NTH / PIECES);
                const bool ok = k0 + brow < G.Kg && col < limit;
                tc_cp16(st + c1_tc_sb(BM, brow, bq * 4), ok ? wrow0 + (i64)j * (NTH / PIECES) * G.Kp + col : w, ok);
            }
        };
        auto store_staged = [&](int s) {
            if constexpr (STAGED) {
                unsigned *st = smem + s * SW;
#pragma unroll
                for (int j = 0; j < AE; j++) {
                    int row, wcol;
                    c1_tc_elem_slot(tid, j, NTH, BM, &row, &wcol);
                    st[c1_tc_sa(row, wcol)] = staged[j];
                }
            }
        };

        float acc[MI][NI][4];
#pragma unroll
        for (int mi = 0; mi < MI; mi++)
#pragma unroll
            for (int ni = 0; ni < NI; ni++)
#pragma unroll
                for (int e = 0; e < 4; e++) acc[mi][ni][e] = 0.0f;

        const i64 nk = G.nk;
#pragma unroll
        for (int s = 0; s < STAGES - 1; s++) {
            if (s < nk) {
                load_stage(s, s);
                store_staged(s);
            }
            tc_commit();
        }
        int lr, lc, nr, nc;
        c1_tc_ldsm_a(lane, &lr, &lc);
        c1_tc_ldsm_b(lane, &nr, &nc);
        for (i64 it = 0; it < nk; it++) {
            /* Iteration it's copies have landed (at most STAGES - 2 younger groups pending; staged words were
             * stored an iteration ago) for every thread, and every warp is done with the stage the next
             * copies overwrite (iteration it - 1's). */
            tc_wait<STAGES - 2>();
            __syncthreads();
            const i64 pre = it + STAGES - 1;
            if (pre < nk) load_stage(pre, (int)(pre % STAGES));
            tc_commit();

            const unsigned *st = smem + (int)(it % STAGES) * SW;
#pragma unroll
            for (int ks = 0; ks < C1_TC_BK / 8; ks++) {
                unsigned af[MI][4], bf[NI][2];
#pragma unroll
                for (int mi = 0; mi < MI; mi++) {
                    tc_ldsm_x4(af[mi][0], af[mi][1], af[mi][2], af[mi][3],
                               st + c1_tc_sa(wm0 + mi * 16 + lr, ks * 8 + lc));
#pragma unroll
                    for (int e = 0; e < 4; e++) af[mi][e] = X::frag(af[mi][e]);
                }
#pragma unroll
                for (int nj = 0; nj < NI / 2; nj++) {
                    tc_ldsm_x4(bf[2 * nj][0], bf[2 * nj][1], bf[2 * nj + 1][0], bf[2 * nj + 1][1],
                               st + c1_tc_sb(BM, wn0 + nj * 16 + nr, ks * 8 + nc));
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        bf[2 * nj][e] = X::frag(bf[2 * nj][e]);
                        bf[2 * nj + 1][e] = X::frag(bf[2 * nj + 1][e]);
                    }
                }
#pragma unroll
                for (int mi = 0; mi < MI; mi++)
#pragma unroll
                    for (int ni = 0; ni < NI; ni++) X::mma(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
            }
            /* The stage written here was last read in iteration it - 1 (before this iteration's barrier)
             * and is next read in iteration pre, after at least one more barrier. */
            if (pre < nk) store_staged((int)(pre % STAGES));
        }
        /* Nothing in flight and nobody reading before the next tile's copies. */
        tc_wait<0>();
        __syncthreads();

#pragma unroll
        for (int mi = 0; mi < MI; mi++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int r, cc;
                c1_ptx_c_f32(lane, 2 * h, &r, &cc);
                const i64 m = m0 + wm0 + mi * 16 + r;
                if (m >= G.M) continue;
                i64 n, o;
                c1_tc_row(&G, m, &n, &o);
#pragma unroll
                for (int ni = 0; ni < NI; ni++) {
                    if constexpr (!H16) {
#pragma unroll
                        for (int e = 0; e < 2; e++) {
                            c1_ptx_c_f32(lane, 2 * h + e, &r, &cc);
                            const i64 k = k0 + wn0 + ni * 8 + cc;
                            if (k >= G.Kg) continue;
                            const i64 kk = grp * G.Kg + k;
                            y[c1_tc_y_index(&G, n, o, kk)] = acc[mi][ni][2 * h + e] + (bias ? __ldg(bias + kk) : 0.0f);
                        }
                    } else {
                        /* Elements 2h and 2h + 1 are output channels k, k + 1 (k even) of one row: the bias
                         * added in fp32, then one rounding each. */
                        const i64 k = k0 + wn0 + ni * 8 + cc;
                        if (k >= G.Kg) continue;
                        const i64 kk = grp * G.Kg + k, yi = c1_tc_y_index(&G, n, o, kk);
                        const float v0 = acc[mi][ni][2 * h] + (bias ? X::widen(__ldg(bias + kk)) : 0.0f);
                        if (k + 1 < G.Kg) {
                            const float v1 = acc[mi][ni][2 * h + 1] + (bias ? X::widen(__ldg(bias + kk + 1)) : 0.0f);
                            if (y_pairs && (yi & 1) == 0) {
                                *reinterpret_cast<unsigned *>(y + yi) =
                                    (unsigned)X::narrow(v0) | (unsigned)X::narrow(v1) << 16;
                            } else {
                                y[yi] = X::narrow(v0);
                                y[c1_tc_y_index(&G, n, o, kk + 1)] = X::narrow(v1);
                            }
                        } else {
                            y[yi] = X::narrow(v0);
                        }
                    }
                }
            }
    }
}

template <int BM, int BN, int WM, int WN, int STAGES>
static size_t tc_smem_bytes()
{
    return (size_t)STAGES * (size_t)c1_tc_stage_words(BM, BN) * 4;
}

template <int KIND, int BM, int BN, int WM, int WN, int STAGES>
static int tc_launch(const c1_cuda_conv_args *a, cudaStream_t stream)
{
    typedef typename tc_elem<KIND>::E E;
    const c1_tc_geom G = c1_tc_geom_make(a->batch, a->length, a->in_channels, a->out_channels, a->kernel_size,
                                         a->stride, a->dilation, a->pad_left, a->groups, a->out_length, a->nwc,
                                         ((uintptr_t)a->x & 15) == 0, (int)sizeof(E));
    const i64 m_tiles = (G.M + BM - 1) / BM, n_tiles = (G.Kg + BN - 1) / BN;
    const i64 total = m_tiles * n_tiles * G.G;
    const unsigned blocks = (unsigned)(total < kMaxBlocks ? total : kMaxBlocks);
    const unsigned threads = (BM / WM) * (BN / WN) * 32;
    const size_t smem = tc_smem_bytes<BM, BN, WM, WN, STAGES>();
    /* x, y, w and bias hold elements of the class's dtype (cuda_conv.h). */
    const E *x = reinterpret_cast<const E *>(a->x), *w = reinterpret_cast<const E *>(a->w);
    const E *bias = reinterpret_cast<const E *>(a->bias);
    E *y = reinterpret_cast<E *>(a->y);
    if (G.vec)
        tc_kernel<KIND, BM, BN, WM, WN, STAGES, true>
            <<<blocks, threads, smem, stream>>>(x, y, w, bias, G, m_tiles, n_tiles, total);
    else
        tc_kernel<KIND, BM, BN, WM, WN, STAGES, false>
            <<<blocks, threads, smem, stream>>>(x, y, w, bias, G, m_tiles, n_tiles, total);
    return (int)cudaGetLastError();
}

template <int KIND, int BM, int BN, int WM, int WN, int STAGES>
static cudaError_t tc_optin(int bytes)
{
    cudaError_t e = cudaFuncSetAttribute(tc_kernel<KIND, BM, BN, WM, WN, STAGES, true>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(tc_kernel<KIND, BM, BN, WM, WN, STAGES, false>,
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return e;
}

/* (BM, BN, WM, WN, STAGES), the same points for every element type. Shared memory: STAGES * (BM + BN) * 36 *
 * 4 bytes: 110592, 82944, 55296. The registry (cuda.inc) names the same points; c1_cuda_tc_smem_bytes answers
 * 0 for any other.
 * 16-bit registers (nvcc -O3 -lineinfo -Xptxas -v, CUDA 13.0; no spills, no stack frame), flat / vec, bf16
 * and f16 alike:
 *   sm_90: 64x64 116 / 122, 128x64 168 / 168, 128x128 156 / 166;
 *   sm_80: 64x64 96 / 122, 128x64 166 / 168, 128x128 158 / 166.
 * The flat 16-bit mode holds one stage's A words in registers (BM * 32 / threads of them). */
#define C1_TC_CONFIGS(X)       \
    X(128, 128, 64, 32, 3)     \
    X(128, 64, 64, 32, 3)      \
    X(64, 64, 32, 32, 3)

extern "C" size_t c1_cuda_tc_smem_bytes(int bm, int bn, int wm, int wn)
{
#define C1_BYTES(BM, BN, WM, WN, S) \
    if (bm == BM && bn == BN && wm == WM && wn == WN) return tc_smem_bytes<BM, BN, WM, WN, S>();
    C1_TC_CONFIGS(C1_BYTES)
#undef C1_BYTES
    return 0;
}

extern "C" int c1_cuda_tc_optin(int bytes)
{
    cudaError_t e = cudaSuccess;
#define C1_OPTIN(BM, BN, WM, WN, S)                                         \
    if (e == cudaSuccess) e = tc_optin<TC_TF32, BM, BN, WM, WN, S>(bytes); \
    if (e == cudaSuccess) e = tc_optin<TC_BF16, BM, BN, WM, WN, S>(bytes); \
    if (e == cudaSuccess) e = tc_optin<TC_F16, BM, BN, WM, WN, S>(bytes);
    C1_TC_CONFIGS(C1_OPTIN)
#undef C1_OPTIN
    return (int)e;
}

extern "C" int c1_cuda_tc_launch(const c1_cuda_conv_args *a, int bm, int bn, int wm, int wn, void *stream)
{
    const cudaStream_t s = (cudaStream_t)stream;
#define C1_LAUNCH(BM, BN, WM, WN, S)                                                     \
    if (bm == BM && bn == BN && wm == WM && wn == WN) {                                  \
        switch (a->dtype) {                                                              \
        case CONV1D_F32: return tc_launch<TC_TF32, BM, BN, WM, WN, S>(a, s);            \
        case CONV1D_BF16: return tc_launch<TC_BF16, BM, BN, WM, WN, S>(a, s);           \
        case CONV1D_F16: return tc_launch<TC_F16, BM, BN, WM, WN, S>(a, s);             \
        default: return (int)cudaErrorInvalidValue;                                      \
        }                                                                                \
    }
    C1_TC_CONFIGS(C1_LAUNCH)
#undef C1_LAUNCH
    return (int)cudaErrorInvalidConfiguration;
}
