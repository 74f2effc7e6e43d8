/*
 * Internal: the C interface between the host side of the hand-written CUDA variants (cuda_conv.c) and their
 * kernels (cuda_conv.cu). Plain structs of sizes and strides in, the cudaError_t out as an int, the stream
 * as a void * (a cudaStream_t; NULL is the legacy default stream), so the C side needs no CUDA C++ header.
 *
 * Packed weights (made on the host at prepare, uploaded once):
 *   dense kernels (tiled, smem): [g][r][c][k], c < C/G, k < K/G, the output channel fastest, so one tap of
 *                                one input channel is a contiguous row of output-channel weights;
 *   tensor cores (tc):           [g][k][Kp], Kp = R * C/G rounded up to 16 bytes (4 fp32 or 8 16-bit
 *                                elements), a row r * C/G + c, zeros after;
 *   depthwise, channels last:    [r][c], one tap is a contiguous row over channels (float4 loads);
 *   depthwise, channels first:   [c][r], one channel's taps are contiguous (staged in shared memory).
 * The launchers never synchronise; errors of the launch itself are returned (cudaGetLastError after each).
 */
#ifndef CONV1D_CUDA_CONV_H
#define CONV1D_CUDA_CONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes and strides of one convolution, all 64-bit; x, y: device tensors in the descriptor's layout. The
 * pointers are typed for the fp32 kernels; with dtype CONV1D_BF16 or CONV1D_F16 x and y hold the raw 16-bit
 * elements, which the launchers reinterpret, and so do w and bias for the tensor-core kernels (the depthwise
 * kernels take fp32 weights and bias for every dtype). Only those two families take a 16-bit dtype. */
typedef struct c1_cuda_conv_args {
    const float *x;
    float *y;
    const float *w;    /* packed as above */
    const float *bias; /* K elements, or NULL */
    long long batch, length, in_channels, out_channels, kernel_size, stride, dilation, pad_left, groups;
    long long out_length;
    int nwc;   /* 1: channels last (NWC), 0: channels first (NCW) */
    int dtype; /* conv1d_dtype of x, y, w and bias */
} c1_cuda_conv_args;

/* Tiled kernel straight from global memory: block tile bm x bn (positions x output channels of a group),
 * thread tile tm x tn. Known configurations: see c1_cuda_tiled_known. */
int c1_cuda_tiled_known(int bm, int bn, int tm, int tn);
int c1_cuda_tiled_launch(const c1_cuda_conv_args *a, int bm, int bn, int tm, int tn, void *stream);

/* Raises the dynamic shared memory limit of every kernel here that may need more than 48 KiB (the smem and
 * tensor-core families) to the current device's opt-in maximum, once per device and process (thread-safe);
 * must be called (in prepare) before the first launch of a plan needing more than 48 KiB. A launch asks only
 * for what it needs, so raising the limit changes nothing else. */
int c1_cuda_smem_optin(void);

/* Shared-memory implicit GEMM: block tile bm x bn, thread tile tm x tn, bk input channels per stage,
 * double-buffered (cp.async) when db. c1_cuda_smem_bytes is the dynamic shared memory a launch needs. */
int c1_cuda_smem_known(int bm, int bn, int tm, int tn);
size_t c1_cuda_smem_bytes(const c1_cuda_conv_args *a, int bm, int bn, int bk, int db);
int c1_cuda_smem_launch(const c1_cuda_conv_args *a, int bm, int bn, int tm, int tn, int bk, int db,
                        size_t smem_bytes, void *stream);

/* Depthwise (groups == in_channels == out_channels), any dtype. Channels last: each thread owns 4 consecutive
 * channels (or 1 when the channel count or a pointer is not aligned to 4 elements) and `run` consecutive output
 * positions; run is 8, 16 or 32. Channels first: a block of 256 threads owns a row segment of up to 64 * run
 * outputs, its input window and the channel's taps staged in shared memory; c1_cuda_dw_ncw_plan (pure host
 * arithmetic) says how many outputs a block covers and how much shared memory that takes (0 when even a
 * 32-output segment does not fit in 48 KiB). */
int c1_cuda_dw_nwc_launch(const c1_cuda_conv_args *a, int run, void *stream);
long long c1_cuda_dw_ncw_plan(long long kernel_size, long long stride, long long dilation, int run,
                              size_t *smem_bytes);
int c1_cuda_dw_ncw_launch(const c1_cuda_conv_args *a, int run, void *stream);

/* Tensor-core implicit GEMM (cuda_tc.cu, index arithmetic in tc_map.h): TF32 for a->dtype CONV1D_F32, bf16
 * and f16 (fp32 accumulation, one rounding at the output) for CONV1D_BF16 and CONV1D_F16; block tile bm x bn,
 * warp tile wm x wn; weights packed [g][k][Kp] (tc_map.h). c1_cuda_tc_smem_bytes: the dynamic shared memory a
 * launch takes (the same for every element type), 0 for an unknown configuration. c1_cuda_tc_optin is
 * c1_cuda_smem_optin's part for these kernels. Needs compute capability 8.0 or later. */
size_t c1_cuda_tc_smem_bytes(int bm, int bn, int wm, int wn);
int c1_cuda_tc_optin(int bytes);
int c1_cuda_tc_launch(const c1_cuda_conv_args *a, int bm, int bn, int wm, int wn, void *stream);

#ifdef __cplusplus
}
#endif

#endif
