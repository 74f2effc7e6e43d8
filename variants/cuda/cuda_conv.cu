/*
 * The hand-written CUDA convolution kernels and their launchers (host side: cuda_conv.c; interface and the
 * packed weight layouts: cuda_conv.h). fp32 arithmetic throughout, both layouts by index arithmetic (no
 * transposes), every descriptor field (stride, dilation, asymmetric padding, groups, bias). The depthwise
 * kernels also take bf16 and f16 x and y (KIND): 16-bit elements read and written as they are, widened to
 * fp32 on load, accumulated in fp32 with the weights and bias (fp32 on the device: the host widens them
 * exactly at prepare) and rounded once on store (cuda_half.cuh).
 *
 * Work decomposition. Every kernel walks a 1-D grid over its work items with a grid-stride loop and 64-bit
 * indices, so batch x length of any size stays inside the grid limits; the loop variable of the block-level
 * kernels is block-uniform, so their __syncthreads() are never divergent.
 *
 * tiled_kernel<BM, BN, TM, TN>: a block computes BM output positions x BN output channels of one (batch,
 *   group); a thread TM x TN of them in registers, positions tm + i * (BM/TM), channels tn + j * (BN/TN), so
 *   a warp's weight loads and channels-last stores are contiguous. Operands come straight from global
 *   memory (L1/L2), the reduction runs over taps and input channels of the group.
 *
 * smem_kernel<BM, BN, TM, TN, DB, VEC>: the implicit GEMM M = output positions of a batch, N = K/G output
 *   channels, reduction over (input channel of the group, tap). Per stage of bk input channels the block
 *   stages the input window with its halo, span = (BM-1)*stride + (R-1)*dilation + 1 positions x bk
 *   channels, and the weights [R][bk][BN] in shared memory with cp.async (zero-filled outside the tensor,
 *   which is also the padding). VEC: 16-byte copies, chosen per launch when the layout is channels last,
 *   C/G and K/G are multiples of 4, bk is, and x is 16-byte aligned; 4-byte copies otherwise. DB: two
 *   stages in flight, the next channel block's copies overlapping the current block's FMAs. The x window is
 *   stored [position][channel] for channels last (16-byte copies land contiguously) and [channel][position]
 *   for channels first (conflict-free 4-byte copies along a row); weights read by a warp are contiguous.
 *   bk is chosen at prepare (cuda_conv.c) from the shared memory the shape needs.
 *
 * dw_nwc_kernel<V, RT>: depthwise, channels last. A thread owns V::W (4, or 1) consecutive channels and
 *   `run` consecutive outputs; a warp's loads and stores per output are 512 (fp32: float4) or 256 (16-bit:
 *   8-byte loads of 4 elements, which keeps the fp32 window's registers) contiguous bytes, so the kernel
 *   streams at copy speed. RT > 0 (stride 1, dilation 1, R = RT <= 8: Mamba's causal widths 2-4):
 *   the R-tap window slides in registers, each input read once per run plus R-1 halo reads; runs away
 *   from the edges go in unrolled chunks of 8 outputs whose 8 loads are independent, so every thread keeps
 *   8 x 16 bytes in flight (the bandwidth-latency product of HBM3 needs about 16 KiB per SM). RT == 0: any
 *   R, stride, dilation; taps from global memory through the read-only cache.
 *
 * dw_ncw_kernel<KIND>: depthwise, channels first. A 256-thread block owns a segment of up to 64 * run outputs of
 *   one (batch, channel) row; the input window of the segment and the channel's R taps are staged in
 *   shared memory with coalesced loads along the row, then each thread computes outputs t, t + 256, ...
 *
 * Resource use (nvcc -Xptxas -v, sm_90, CUDA 13.0; no spills, no stack frame in any instantiation):
 *   tiled 32x64 (2x4) 48 registers, 64x32 (4x2) 58, 32x32 (2x2) 59, 64x64 (4x4) 96, 128x64 (8x4) 120;
 *   smem 119-128 registers for every tile, dynamic shared memory as c1_cuda_smem_bytes says (e.g. 128x128,
 *   R 4, stride 1, bk 16, double-buffered: 2 * (131 * 16 + 4 * 16 * 128) * 4 = 82 KiB);
 *   dw_nwc 40-64 registers scalar, 48-120 float4 (80 for Mamba's R = 4), no shared memory;
 *   dw_ncw 40 registers, (span + R) * 4 bytes of shared memory, at most 48 KiB;
 *   16-bit dw_nwc and dw_ncw: see the note at dw_nwc_pick.
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include <mutex>

#include "cuda_conv.h"
#include "cuda_half.cuh"

typedef long long i64;

/* The largest 1-D grid the launchers use; the kernels loop over the rest. */
static const i64 kMaxBlocks = 1ll << 20;

static inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }

/* --- tiled, straight from global memory ------------------------------------------------------------- */

template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    tiled_kernel(const c1_cuda_conv_args a, const i64 m_tiles, const i64 n_tiles, const i64 total)
{
    constexpr int NT = BN / TN, MT = BM / TM;
    const int tn = (int)threadIdx.x % NT, tm = (int)threadIdx.x / NT;
    const i64 L = a.length, C = a.in_channels, K = a.out_channels, R = a.kernel_size, G = a.groups;
    const i64 Cg = C / G, Kg = K / G, OL = a.out_length, stride = a.stride, dil = a.dilation;
    /* x(pos, c) at xb[pos * xps + c * xcs]; y(o, k) at yb[o * yos + k * yks] */
    const i64 xps = a.nwc ? C : 1, xcs = a.nwc ? 1 : a.length;
    const i64 yos = a.nwc ? K : 1, yks = a.nwc ? 1 : OL;

    for (i64 t = blockIdx.x; t < total; t += gridDim.x) {
        i64 rest = t;
        const i64 nt = rest % n_tiles;
        rest /= n_tiles;
        const i64 mt = rest % m_tiles;
        rest /= m_tiles;
        const i64 g = rest % G, n = rest / G;
        const float *xb = a.x + (a.nwc ? n * L * C + g * Cg : (n * C + g * Cg) * L);
        float *yb = a.y + (a.nwc ? n * OL * K + g * Kg : (n * K + g * Kg) * OL);

        i64 ipos[TM]; /* input position of tap 0 for each of this thread's outputs */
        bool orow[TM];
#pragma unroll
        for (int i = 0; i < TM; i++) {
            const i64 o = mt * BM + tm + i * MT;
            orow[i] = o < OL;
            ipos[i] = o * stride - a.pad_left;
        }
        bool kcol[TN];
#pragma unroll
        for (int j = 0; j < TN; j++) kcol[j] = nt * BN + tn + j * NT < Kg;

        float acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

        for (i64 r = 0; r < R; r++) {
            const float *wr = a.w + (g * R + r) * Cg * Kg + nt * BN + tn;
            for (i64 c = 0; c < Cg; c++) {
                float xv[TM], wv[TN];
#pragma unroll
                for (int i = 0; i < TM; i++) {
                    const i64 pos = ipos[i] + r * dil;
                    xv[i] = orow[i] && pos >= 0 && pos < L ? __ldg(xb + pos * xps + c * xcs) : 0.0f;
                }
#pragma unroll
                for (int j = 0; j < TN; j++) wv[j] = kcol[j] ? __ldg(wr + c * Kg + j * NT) : 0.0f;
#pragma unroll
                for (int i = 0; i < TM; i++)
#pragma unroll
                    for (int j = 0; j < TN; j++) acc[i][j] = fmaf(xv[i], wv[j], acc[i][j]);
            }
        }

#pragma unroll
        for (int j = 0; j < TN; j++) {
            const i64 k = nt * BN + tn + j * NT;
            if (!kcol[j]) continue;
            const float b = a.bias ? __ldg(a.bias + g * Kg + k) : 0.0f;
#pragma unroll
            for (int i = 0; i < TM; i++)
                if (orow[i]) yb[(mt * BM + tm + i * MT) * yos + k * yks] = acc[i][j] + b;
        }
    }
}

template <int BM, int BN, int TM, int TN>
static int tiled_launch(const c1_cuda_conv_args *a, cudaStream_t stream)
{
    const i64 Kg = a->out_channels / a->groups;
    const i64 m_tiles = ceil_div(a->out_length, BM), n_tiles = ceil_div(Kg, BN);
    const i64 total = a->batch * a->groups * m_tiles * n_tiles;
    const unsigned blocks = (unsigned)(total < kMaxBlocks ? total : kMaxBlocks);
    tiled_kernel<BM, BN, TM, TN><<<blocks, (BM / TM) * (BN / TN), 0, stream>>>(*a, m_tiles, n_tiles, total);
    return (int)cudaGetLastError();
}

#define C1_TILED_CONFIGS(X) \
    X(64, 64, 4, 4)         \
    X(32, 64, 2, 4)         \
    X(64, 32, 4, 2)         \
    X(32, 32, 2, 2)         \
    X(128, 64, 8, 4)

extern "C" int c1_cuda_tiled_known(int bm, int bn, int tm, int tn)
{
#define C1_KNOWN(BM, BN, TM, TN) \
    if (bm == BM && bn == BN && tm == TM && tn == TN) return 1;
    C1_TILED_CONFIGS(C1_KNOWN)
#undef C1_KNOWN
    return 0;
}

extern "C" int c1_cuda_tiled_launch(const c1_cuda_conv_args *a, int bm, int bn, int tm, int tn, void *stream)
{
#define C1_LAUNCH(BM, BN, TM, TN) \
    if (bm == BM && bn == BN && tm == TM && tn == TN) return tiled_launch<BM, BN, TM, TN>(a, (cudaStream_t)stream);
    C1_TILED_CONFIGS(C1_LAUNCH)
#undef C1_LAUNCH
    return (int)cudaErrorInvalidConfiguration;
}

/* --- shared-memory implicit GEMM ---------------------------------------------------------------------- */

/* cp.async with zero fill: src_bytes 0 writes zeros without reading src (which must still be a valid
 * address of the right alignment). */
__device__ __forceinline__ void cp_async4(float *dst, const float *src, int src_bytes)
{
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async16(float *dst, const float *src, int src_bytes)
{
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* Floats of one stage: the x window (rounded up to 4 floats so the weights stay 16-byte aligned), then
 * the weights [R][bk][BN]. */
static inline i64 smem_xs_floats(i64 span, i64 bk) { return (span * bk + 3) / 4 * 4; }

template <int BM, int BN, int TM, int TN, bool DB, bool VEC>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    smem_kernel(const c1_cuda_conv_args a, const int bk, const int span, const int stage_floats,
                const i64 m_tiles, const i64 n_tiles, const i64 total)
{
    extern __shared__ __align__(16) float smem[];
    constexpr int NTH = (BM / TM) * (BN / TN), NT = BN / TN, MT = BM / TM;
    const int tid = (int)threadIdx.x, tn = tid % NT, tm = tid / NT;
    const i64 L = a.length, C = a.in_channels, K = a.out_channels, G = a.groups;
    const int R = (int)a.kernel_size, stride = (int)a.stride, dil = (int)a.dilation;
    const i64 Cg = C / G, Kg = K / G, OL = a.out_length;
    const int xs_floats = (span * bk + 3) / 4 * 4;
    /* x window element (p, c) at xs[p * sxp + c * sxc] */
    const int sxp = a.nwc ? bk : 1, sxc = a.nwc ? 1 : span;
    const i64 yos = a.nwc ? K : 1, yks = a.nwc ? 1 : OL;
    const int nkb = (int)((Cg + bk - 1) / bk);

    for (i64 t = blockIdx.x; t < total; t += gridDim.x) {
        i64 rest = t;
        const i64 nt = rest % n_tiles;
        rest /= n_tiles;
        const i64 mt = rest % m_tiles;
        rest /= m_tiles;
        const i64 g = rest % G, n = rest / G;
        const i64 o0 = mt * BM, k0 = nt * BN, i0 = o0 * stride - a.pad_left;
        const float *xb = a.x + (a.nwc ? n * L * C + g * Cg : (n * C + g * Cg) * L);
        const float *wg = a.w + g * R * Cg * Kg;

        /* Issues the copies of channel block kb into stage s, as one commit group. */
        auto load_stage = [&](int kb, int s) {
            float *xs = smem + s * stage_floats, *ws = xs + xs_floats;
            const i64 c0 = (i64)kb * bk;
            if (VEC) {
                const int nq = bk / 4;
                for (int e = tid; e < span * nq; e += NTH) {
                    const int p = e / nq, q = e % nq;
                    const i64 pos = i0 + p, c = c0 + q * 4;
                    const bool ok = pos >= 0 && pos < L && c < Cg;
                    cp_async16(xs + p * bk + q * 4, ok ? xb + pos * C + c : a.x, ok ? 16 : 0);
                }
                constexpr int NQ = BN / 4;
                for (int e = tid; e < R * bk * NQ; e += NTH) {
                    const int q = e % NQ, c = (e / NQ) % bk, r = e / NQ / bk;
                    const i64 k = k0 + q * 4;
                    const bool ok = c0 + c < Cg && k < Kg;
                    cp_async16(ws + (r * bk + c) * BN + q * 4, ok ? wg + ((i64)r * Cg + c0 + c) * Kg + k : a.w,
                               ok ? 16 : 0);
                }
            } else {
                if (a.nwc) {
                    for (int e = tid; e < span * bk; e += NTH) {
                        const int p = e / bk, c = e % bk;
                        const i64 pos = i0 + p;
                        const bool ok = pos >= 0 && pos < L && c0 + c < Cg;
                        cp_async4(xs + p * bk + c, ok ? xb + pos * C + c0 + c : a.x, ok ? 4 : 0);
                    }
                } else {
                    for (int e = tid; e < span * bk; e += NTH) {
                        const int p = e % span, c = e / span;
                        const i64 pos = i0 + p;
                        const bool ok = pos >= 0 && pos < L && c0 + c < Cg;
                        cp_async4(xs + c * span + p, ok ? xb + (c0 + c) * L + pos : a.x, ok ? 4 : 0);
                    }
                }
                for (int e = tid; e < R * bk * BN; e += NTH) {
                    const int q = e % BN, c = (e / BN) % bk, r = e / BN / bk;
                    const i64 k = k0 + q;
                    const bool ok = c0 + c < Cg && k < Kg;
                    cp_async4(ws + (r * bk + c) * BN + q, ok ? wg + ((i64)r * Cg + c0 + c) * Kg + k : a.w, ok ? 4 : 0);
                }
            }
            cp_async_commit();
        };

        float acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

        load_stage(0, 0);
        for (int kb = 0; kb < nkb; kb++) {
            const int s = DB ? (kb & 1) : 0;
            if (DB && kb + 1 < nkb) {
                load_stage(kb + 1, s ^ 1);
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();

            const float *xs = smem + s * stage_floats, *ws = xs + xs_floats;
            const int cb = (int)(Cg - (i64)kb * bk < bk ? Cg - (i64)kb * bk : bk);
            for (int c = 0; c < cb; c++) {
                for (int r = 0; r < R; r++) {
                    float xv[TM], wv[TN];
                    const float *xr = xs + (r * dil + tm * stride) * sxp + c * sxc;
#pragma unroll
                    for (int i = 0; i < TM; i++) xv[i] = xr[i * MT * stride * sxp];
                    const float *wr = ws + (r * bk + c) * BN + tn;
#pragma unroll
                    for (int j = 0; j < TN; j++) wv[j] = wr[j * NT];
#pragma unroll
                    for (int i = 0; i < TM; i++)
#pragma unroll
                        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(xv[i], wv[j], acc[i][j]);
                }
            }
            __syncthreads();
            if (!DB && kb + 1 < nkb) load_stage(kb + 1, 0);
        }

        float *yb = a.y + (a.nwc ? n * OL * K + g * Kg : (n * K + g * Kg) * OL);
#pragma unroll
        for (int j = 0; j < TN; j++) {
            const i64 k = k0 + tn + j * NT;
            if (k >= Kg) continue;
            const float b = a.bias ? __ldg(a.bias + g * Kg + k) : 0.0f;
#pragma unroll
            for (int i = 0; i < TM; i++) {
                const i64 o = o0 + tm + i * MT;
                if (o < OL) yb[o * yos + k * yks] = acc[i][j] + b;
            }
        }
    }
}

/* Window span of a block tile; -1 when it does not fit an int (no shared memory could hold it anyway). */
static i64 smem_span(const c1_cuda_conv_args *a, int bm)
{
    const double s = (double)(bm - 1) * (double)a->stride + (double)(a->kernel_size - 1) * (double)a->dilation + 1;
    return s > 1e9 ? -1 : (i64)s;
}

extern "C" size_t c1_cuda_smem_bytes(const c1_cuda_conv_args *a, int bm, int bn, int bk, int db)
{
    const i64 span = smem_span(a, bm);
    if (span < 0 || a->kernel_size > (1 << 20)) return (size_t)-1;
    const i64 stage = smem_xs_floats(span, bk) + a->kernel_size * bk * bn;
    return (size_t)(stage * (db ? 2 : 1)) * sizeof(float);
}

/* Raises the dynamic shared memory limit of every instantiation the smem launcher may pick to `bytes`. */
template <int BM, int BN, int TM, int TN, bool DB>
static cudaError_t smem_optin(int bytes)
{
    cudaError_t e = cudaFuncSetAttribute(smem_kernel<BM, BN, TM, TN, DB, true>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(smem_kernel<BM, BN, TM, TN, DB, false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 bytes);
    return e;
}

template <int BM, int BN, int TM, int TN, bool DB>
static int smem_launch(const c1_cuda_conv_args *a, int bk, size_t smem_bytes, cudaStream_t stream)
{
    const i64 Cg = a->in_channels / a->groups, Kg = a->out_channels / a->groups;
    const i64 m_tiles = ceil_div(a->out_length, BM), n_tiles = ceil_div(Kg, BN);
    const i64 total = a->batch * a->groups * m_tiles * n_tiles;
    const unsigned blocks = (unsigned)(total < kMaxBlocks ? total : kMaxBlocks);
    const int span = (int)smem_span(a, BM);
    const int stage_floats = (int)(smem_xs_floats(span, bk) + a->kernel_size * bk * BN);
    const bool vec = a->nwc && Cg % 4 == 0 && Kg % 4 == 0 && bk % 4 == 0 && ((uintptr_t)a->x & 15) == 0 &&
                     ((uintptr_t)a->w & 15) == 0;
    const unsigned threads = (BM / TM) * (BN / TN);
    if (vec)
        smem_kernel<BM, BN, TM, TN, DB, true>
            <<<blocks, threads, smem_bytes, stream>>>(*a, bk, span, stage_floats, m_tiles, n_tiles, total);
    else
        smem_kernel<BM, BN, TM, TN, DB, false>
            <<<blocks, threads, smem_bytes, stream>>>(*a, bk, span, stage_floats, m_tiles, n_tiles, total);
    return (int)cudaGetLastError();
}

#define C1_SMEM_CONFIGS(X) \
    X(64, 64, 8, 4)        \
    X(128, 64, 8, 4)       \
    X(64, 128, 8, 8)       \
    X(128, 128, 8, 8)

extern "C" int c1_cuda_smem_known(int bm, int bn, int tm, int tn)
{
#define C1_KNOWN(BM, BN, TM, TN) \
    if (bm == BM && bn == BN && tm == TM && tn == TN) return 1;
    C1_SMEM_CONFIGS(C1_KNOWN)
#undef C1_KNOWN
    return 0;
}

/* The limit is a property of the kernel in the device's context, not of a launch: set per launch state, a
 * second plan of the same tile needing less would lower it under the first plan's need, and the first plan's
 * next launch would fail. So it is raised once per device, to the device's opt-in maximum, for every kernel
 * that may need more than 48 KiB; a launch still asks only for what it needs. */
#define C1_MAX_DEVICES 64
static std::mutex optin_lock;
static bool optin_done[C1_MAX_DEVICES];

extern "C" int c1_cuda_smem_optin(void)
{
    int dev = 0, bytes = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return (int)e;
    if (dev < 0 || dev >= C1_MAX_DEVICES) return (int)cudaErrorInvalidDevice;
    std::lock_guard<std::mutex> guard(optin_lock);
    if (optin_done[dev]) return (int)cudaSuccess;
    e = cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
#define C1_OPTIN(BM, BN, TM, TN)                                                      \
    if (e == cudaSuccess) e = smem_optin<BM, BN, TM, TN, true>(bytes);               \
    if (e == cudaSuccess) e = smem_optin<BM, BN, TM, TN, false>(bytes);
    C1_SMEM_CONFIGS(C1_OPTIN)
#undef C1_OPTIN
    if (e == cudaSuccess) e = (cudaError_t)c1_cuda_tc_optin(bytes);
    if (e == cudaSuccess) optin_done[dev] = true;
    return (int)e;
}

extern "C" int c1_cuda_smem_launch(const c1_cuda_conv_args *a, int bm, int bn, int tm, int tn, int bk, int db,
                                   size_t smem_bytes, void *stream)
{
    const cudaStream_t s = (cudaStream_t)stream;
#define C1_LAUNCH(BM, BN, TM, TN)                                             \
    if (bm == BM && bn == BN && tm == TM && tn == TN)                         \
        return db ? smem_launch<BM, BN, TM, TN, true>(a, bk, smem_bytes, s) \
                  : smem_launch<BM, BN, TM, TN, false>(a, bk, smem_bytes, s);
    C1_SMEM_CONFIGS(C1_LAUNCH)
#undef C1_LAUNCH
    return (int)cudaErrorInvalidConfiguration;
}

/* --- depthwise, channels last ------------------------------------------------------------------------- */

/* One thread's W channels of the depthwise kernels: E the stored x/y element, type the fp32 registers,
 * load_x/store_y move W elements of x/y (16-bit: widened on load, rounded once on store), load_w W fp32
 * weights or bias values. */
template <int VEC>
struct vec_t;
template <>
struct vec_t<4> {
    typedef float E;
    static constexpr int W = 4;
    typedef float4 type;
    static __device__ __forceinline__ float4 zero() { return make_float4(0.f, 0.f, 0.f, 0.f); }
    static __device__ __forceinline__ float4 load(const float *p) { return __ldg(reinterpret_cast<const float4 *>(p)); }
    static __device__ __forceinline__ void store(float *p, float4 v) { *reinterpret_cast<float4 *>(p) = v; }
    static __device__ __forceinline__ float4 fma(float4 a, float4 b, float4 c)
    {
        return make_float4(fmaf(a.x, b.x, c.x), fmaf(a.y, b.y, c.y), fmaf(a.z, b.z, c.z), fmaf(a.w, b.w, c.w));
    }
    static __device__ __forceinline__ float4 load_x(const float *p) { return load(p); }
    static __device__ __forceinline__ float4 load_w(const float *p) { return load(p); }
    static __device__ __forceinline__ void store_y(float *p, float4 v) { store(p, v); }
};
template <>
struct vec_t<1> {
    typedef float E;
    static constexpr int W = 1;
    typedef float type;
    static __device__ __forceinline__ float zero() { return 0.0f; }
    static __device__ __forceinline__ float load(const float *p) { return __ldg(p); }
    static __device__ __forceinline__ void store(float *p, float v) { *p = v; }
    static __device__ __forceinline__ float fma(float a, float b, float c) { return fmaf(a, b, c); }
    static __device__ __forceinline__ float load_x(const float *p) { return load(p); }
    static __device__ __forceinline__ float load_w(const float *p) { return load(p); }
    static __device__ __forceinline__ void store_y(float *p, float v) { store(p, v); }
};
/* 16-bit x and y (KIND CONV1D_BF16 or CONV1D_F16), fp32 arithmetic: 4 elements as one 8-byte access, or 1. */
template <int KIND, int VEC>
struct vec16_t;
template <int KIND>
struct vec16_t<KIND, 4> : vec_t<4> {
    typedef c1_el<KIND> X;
    typedef unsigned short E;
    static __device__ __forceinline__ float4 load_x(const E *p)
    {
        const uint2 u = __ldg(reinterpret_cast<const uint2 *>(p));
        return make_float4(X::widen((E)(u.x & 0xffffu)), X::widen((E)(u.x >> 16)), X::widen((E)(u.y & 0xffffu)),
                           X::widen((E)(u.y >> 16)));
    }
    static __device__ __forceinline__ void store_y(E *p, float4 v)
    {
        uint2 u;
        u.x = (unsigned)X::narrow(v.x) | (unsigned)X::narrow(v.y) << 16;
        u.y = (unsigned)X::narrow(v.z) | (unsigned)X::narrow(v.w) << 16;
        *reinterpret_cast<uint2 *>(p) = u;
    }
};
template <int KIND>
struct vec16_t<KIND, 1> : vec_t<1> {
    typedef c1_el<KIND> X;
    typedef unsigned short E;
    static __device__ __forceinline__ float load_x(const E *p) { return X::widen(__ldg(p)); }
    static __device__ __forceinline__ void store_y(E *p, float v) { *p = X::narrow(v); }
};

template <typename V, int RT>
__global__ void __launch_bounds__(256)
    dw_nwc_kernel(const c1_cuda_conv_args a, const int run, const i64 groups_c, const i64 runs, const i64 total)
{
    typedef typename V::type T;
    typedef typename V::E E;
    constexpr int VEC = V::W;
    const i64 L = a.length, C = a.in_channels, OL = a.out_length, R = a.kernel_size;
    const i64 stride = a.stride, dil = a.dilation, pl = a.pad_left;
    for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
        const i64 cq = t % groups_c, rest = t / groups_c, ru = rest % runs, n = rest / runs;
        const i64 c = cq * VEC, o0 = ru * run, o1 = o0 + run < OL ? o0 + run : OL;
        const E *xb = reinterpret_cast<const E *>(a.x) + n * L * C + c;
        E *yb = reinterpret_cast<E *>(a.y) + n * OL * C + c;
        const T b = a.bias ? V::load_w(a.bias + c) : V::zero();
        if constexpr (RT > 0) {
            /* stride 1, dilation 1: output o reads positions o - pl + 0 .. RT-1. */
            T w[RT];
#pragma unroll
            for (int r = 0; r < RT; r++) w[r] = V::load_w(a.w + r * C + c);
            const i64 first = o0 - pl; /* input position of the run's first tap */
            if (o1 - o0 == run && first >= 0 && first + run - 1 + RT - 1 < L) {
                /* Interior run: no bounds tests; KCHUNK independent loads in flight per thread, the window
                 * win[0 .. RT-2] carried from one chunk to the next. */
                constexpr int KCHUNK = 8;
                T win[RT - 1 + KCHUNK];
#pragma unroll
                for (int r = 0; r + 1 < RT; r++) win[r] = V::load_x(xb + (first + r) * C);
                for (int ch = 0; ch < run; ch += KCHUNK) {
#pragma unroll
                    for (int u = 0; u < KCHUNK; u++) win[RT - 1 + u] = V::load_x(xb + (first + ch + u + RT - 1) * C);
#pragma unroll
                    for (int u = 0; u < KCHUNK; u++) {
                        T acc = b;
#pragma unroll
                        for (int r = 0; r < RT; r++) acc = V::fma(win[u + r], w[r], acc);
                        V::store_y(yb + (o0 + ch + u) * C, acc);
                    }
#pragma unroll
                    for (int r = 0; r + 1 < RT; r++) win[r] = win[KCHUNK + r];
                }
            } else {
                /* Edge run: win[r] holds position o - pl + r, win[RT-1] loaded fresh for each output. */
                T win[RT];
#pragma unroll
                for (int r = 0; r + 1 < RT; r++) {
                    const i64 pos = first + r;
                    win[r + 1] = pos >= 0 && pos < L ? V::load_x(xb + pos * C) : V::zero();
                }
                for (i64 o = o0; o < o1; o++) {
#pragma unroll
                    for (int r = 0; r + 1 < RT; r++) win[r] = win[r + 1];
                    const i64 pos = o - pl + RT - 1;
                    win[RT - 1] = pos >= 0 && pos < L ? V::load_x(xb + pos * C) : V::zero();
                    T acc = b;
#pragma unroll
                    for (int r = 0; r < RT; r++) acc = V::fma(win[r], w[r], acc);
                    V::store_y(yb + o * C, acc);
                }
            }
        } else {
            for (i64 o = o0; o < o1; o++) {
                T acc = b;
                const i64 p0 = o * stride - pl;
                for (i64 r = 0; r < R; r++) {
                    const i64 pos = p0 + r * dil;
                    if (pos >= 0 && pos < L) acc = V::fma(V::load_x(xb + pos * C), V::load_w(a.w + r * C + c), acc);
                }
                V::store_y(yb + o * C, acc);
            }
        }
    }
}

template <typename V, int RT>
static void dw_nwc_start(const c1_cuda_conv_args *a, int run, cudaStream_t stream)
{
    const i64 groups_c = a->in_channels / V::W, runs = ceil_div(a->out_length, run);
    const i64 total = a->batch * runs * groups_c;
    const i64 nb = ceil_div(total, 256);
    dw_nwc_kernel<V, RT><<<(unsigned)(nb < kMaxBlocks ? nb : kMaxBlocks), 256, 0, stream>>>(*a, run, groups_c, runs,
                                                                                           total);
}

/* 16-bit resource use (nvcc -O3 -lineinfo -Xptxas -v, CUDA 13.0; no spills, no stack frame), bf16 and f16
 * alike: dw_nwc scalar 40-60 registers on sm_90 (34-55 on sm_80), 4-wide 46-98 (40-100), 76 (64) for Mamba's
 * R = 4; dw_ncw 32 registers. */
template <typename V>
static void dw_nwc_pick(const c1_cuda_conv_args *a, int run, cudaStream_t stream)
{
    const bool slide = a->stride == 1 && a->dilation == 1;
    switch (slide ? a->kernel_size : 0) {
    case 1: dw_nwc_start<V, 1>(a, run, stream); break;
    case 2: dw_nwc_start<V, 2>(a, run, stream); break;
    case 3: dw_nwc_start<V, 3>(a, run, stream); break;
    case 4: dw_nwc_start<V, 4>(a, run, stream); break;
    case 5: dw_nwc_start<V, 5>(a, run, stream); break;
    case 6: dw_nwc_start<V, 6>(a, run, stream); break;
    case 7: dw_nwc_start<V, 7>(a, run, stream); break;
    case 8: dw_nwc_start<V, 8>(a, run, stream); break;
    default: dw_nwc_start<V, 0>(a, run, stream); break;
    }
}

extern "C" int c1_cuda_dw_nwc_launch(const c1_cuda_conv_args *a, int run, void *stream)
{
    if (run != 8 && run != 16 && run != 32) return (int)cudaErrorInvalidConfiguration;
    /* 4 channels per thread: 16-byte (fp32) or 8-byte (16-bit) x and y accesses, 16-byte fp32 weights */
    const uintptr_t xy_align = a->dtype == CONV1D_F32 ? 15 : 7;
    const bool vec = a->in_channels % 4 == 0 && ((uintptr_t)a->x & xy_align) == 0 && ((uintptr_t)a->y & xy_align) == 0 &&
                     ((uintptr_t)a->w & 15) == 0 && (!a->bias || ((uintptr_t)a->bias & 15) == 0);
    const cudaStream_t s = (cudaStream_t)stream;
    switch (a->dtype) {
    case CONV1D_F32: vec ? dw_nwc_pick<vec_t<4>>(a, run, s) : dw_nwc_pick<vec_t<1>>(a, run, s); break;
    case CONV1D_BF16:
        vec ? dw_nwc_pick<vec16_t<CONV1D_BF16, 4>>(a, run, s) : dw_nwc_pick<vec16_t<CONV1D_BF16, 1>>(a, run, s);
        break;
    case CONV1D_F16:
        vec ? dw_nwc_pick<vec16_t<CONV1D_F16, 4>>(a, run, s) : dw_nwc_pick<vec16_t<CONV1D_F16, 1>>(a, run, s);
        break;
    default: return (int)cudaErrorInvalidValue;
    }
    return (int)cudaGetLastError();
}

/* --- depthwise, channels first ------------------------------------------------------------------------ */

static const int kDwNcwThreads = 256;

template <int KIND>
__global__ void __launch_bounds__(256)
    dw_ncw_kernel(const c1_cuda_conv_args a, const int bo, const int span, const i64 segs, const i64 total)
{
    typedef c1_el<KIND> X;
    typedef typename X::E E;
    extern __shared__ __align__(16) float smem[];
    float *xs = smem, *ws = smem + span;
    const i64 L = a.length, C = a.in_channels, OL = a.out_length;
    const int R = (int)a.kernel_size, stride = (int)a.stride, dil = (int)a.dilation;
    const int tid = (int)threadIdx.x;
    for (i64 t = blockIdx.x; t < total; t += gridDim.x) {
        const i64 seg = t % segs, row = t / segs, c = row % C;
        const i64 o0 = seg * bo, i0 = o0 * stride - a.pad_left;
        const E *xr = reinterpret_cast<const E *>(a.x) + row * L;
        __syncthreads(); /* the previous segment's readers are done */
        for (int p = tid; p < span; p += kDwNcwThreads) {
            const i64 pos = i0 + p;
            xs[p] = pos >= 0 && pos < L ? X::widen(__ldg(xr + pos)) : 0.0f;
        }
        for (int r = tid; r < R; r += kDwNcwThreads) ws[r] = __ldg(a.w + c * R + r);
        __syncthreads();
        const float b = a.bias ? __ldg(a.bias + c) : 0.0f;
        E *yr = reinterpret_cast<E *>(a.y) + row * OL;
        const int on = (int)(OL - o0 < bo ? OL - o0 : bo);
        for (int o = tid; o < on; o += kDwNcwThreads) {
            float acc = b;
            const float *xo = xs + o * stride;
            for (int r = 0; r < R; r++) acc = fmaf(xo[r * dil], ws[r], acc);
            yr[o0 + o] = X::narrow(acc);
        }
    }
}

extern "C" long long c1_cuda_dw_ncw_plan(long long kernel_size, long long stride, long long dilation, int run,
                                         size_t *smem_bytes)
{
    *smem_bytes = 0;
    for (i64 bo = 64ll * run; bo >= 32; bo /= 2) {
        const double span = (double)(bo - 1) * (double)stride + (double)(kernel_size - 1) * (double)dilation + 1;
        const double bytes = (span + (double)kernel_size) * sizeof(float);
        if (bytes <= 48.0 * 1024) {
            *smem_bytes = (size_t)bytes;
            return bo;
        }
    }
    return 0;
}

extern "C" int c1_cuda_dw_ncw_launch(const c1_cuda_conv_args *a, int run, void *stream)
{
    size_t smem = 0;
    const i64 bo = c1_cuda_dw_ncw_plan(a->kernel_size, a->stride, a->dilation, run, &smem);
    if (bo <= 0) return (int)cudaErrorInvalidConfiguration;
    const int span = (int)((bo - 1) * a->stride + (a->kernel_size - 1) * a->dilation + 1);
    const i64 segs = ceil_div(a->out_length, bo), total = a->batch * a->in_channels * segs;
    const unsigned blocks = (unsigned)(total < kMaxBlocks ? total : kMaxBlocks);
    const cudaStream_t s = (cudaStream_t)stream;
    switch (a->dtype) {
    case CONV1D_F32: dw_ncw_kernel<CONV1D_F32><<<blocks, kDwNcwThreads, smem, s>>>(*a, (int)bo, span, segs, total); break;
    case CONV1D_BF16: dw_ncw_kernel<CONV1D_BF16><<<blocks, kDwNcwThreads, smem, s>>>(*a, (int)bo, span, segs, total); break;
    case CONV1D_F16: dw_ncw_kernel<CONV1D_F16><<<blocks, kDwNcwThreads, smem, s>>>(*a, (int)bo, span, segs, total); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return (int)cudaGetLastError();
}
