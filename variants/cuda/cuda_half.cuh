/*
 * Internal (CUDA C++): the element types of the CUDA kernels by their conv1d_dtype number, so a kernel
 * templated on KIND = CONV1D_F32, CONV1D_BF16 or CONV1D_F16 stores, widens and rounds its elements the same
 * way everywhere (cuda_conv.cu's depthwise kernels, cuda_tc.cu's tensor-core kernels).
 *
 *   E          how x and y are stored: float, or the raw 16 bits (unsigned short, as the host passes them);
 *   widen(e)   the element as fp32 (exact);
 *   narrow(f)  fp32 rounded once to the element type, to nearest even (__float2bfloat16_rn,
 *              __float2half_rn), which is the one rounding the 16-bit classes allow.
 */
#ifndef CONV1D_CUDA_HALF_CUH
#define CONV1D_CUDA_HALF_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "conv1d.h"

template <int KIND>
struct c1_el;

template <>
struct c1_el<CONV1D_F32> {
    typedef float E;
    static __device__ __forceinline__ float widen(float v) { return v; }
    static __device__ __forceinline__ float narrow(float v) { return v; }
};

template <>
struct c1_el<CONV1D_BF16> {
    typedef unsigned short E;
    static __device__ __forceinline__ float widen(unsigned short v) { return __bfloat162float(__ushort_as_bfloat16(v)); }
    static __device__ __forceinline__ unsigned short narrow(float v)
    {
        return __bfloat16_as_ushort(__float2bfloat16_rn(v));
    }
};

template <>
struct c1_el<CONV1D_F16> {
    typedef unsigned short E;
    static __device__ __forceinline__ float widen(unsigned short v) { return __half2float(__ushort_as_half(v)); }
    static __device__ __forceinline__ unsigned short narrow(float v) { return __half_as_ushort(__float2half_rn(v)); }
};

#endif
