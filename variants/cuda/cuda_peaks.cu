/*
 * Measured GPU ceilings (see cuda_peaks.h).
 *
 * FMA: fma_kernel runs kIters iterations of 8 independent dependent-FMA chains per thread, unrolled so the
 * loop overhead is a few percent; the grid is 8 blocks of 256 threads per SM, so every SM holds enough
 * warps to cover the 4-cycle FMA latency on all four schedulers. The result is written only under a
 * condition the values never meet, so the compiler keeps the chains but the kernel writes no memory.
 * 2 flops per FMA. Copy: cudaMemcpyAsync device to device of 512 MiB (256 MiB when memory is short),
 * bytes read + written over the elapsed time. Both: one warm-up, then the best of 5 timed repetitions.
 */
#include <cuda_runtime.h>

#include "conv1d.h"
#include "cuda_peaks.h"
#include "cuda_util.h"

static const int kIters = 4096, kChains = 8, kThreads = 256, kBlocksPerSm = 8, kReps = 5;

__global__ void __launch_bounds__(256) fma_kernel(float seed, float *sink)
{
    float v[kChains];
#pragma unroll
    for (int c = 0; c < kChains; c++) v[c] = seed + (float)(threadIdx.x + c);
    const float m = 0.999999f, add = 1e-7f;
    for (int i = 0; i < kIters; i++) {
#pragma unroll
        for (int u = 0; u < 4; u++)
#pragma unroll
            for (int c = 0; c < kChains; c++) v[c] = fmaf(v[c], m, add);
    }
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < kChains; c++) s += v[c];
    if (s == -1.0f) sink[blockIdx.x * blockDim.x + threadIdx.x] = s; /* never true: keeps the work */
}

#define PEAK_TRY(call)                                                               \
    do {                                                                             \
        st = c1_cuda_status((int)(call), "cuda peaks", #call);                      \
        if (st != CONV1D_OK) goto done;                                              \
    } while (0)

extern "C" int c1_cuda_measure_peaks(double *fp32_gflops, double *copy_gbs)
{
    *fp32_gflops = 0.0;
    *copy_gbs = 0.0;
    conv1d_status st = c1_cuda_ready("cuda peaks");
    if (st != CONV1D_OK) return (int)st;

    c1_cuda_props props;
    cudaEvent_t e0 = NULL, e1 = NULL;
    float *sink = NULL, *src = NULL, *dst = NULL;
    double best_flops = 0.0, best_copy = 0.0;
    size_t bytes = (size_t)512 << 20;
    st = c1_cuda_props_get(&props);
    if (st != CONV1D_OK) return (int)st;
    {
        const unsigned blocks = (unsigned)(props.sm_count * kBlocksPerSm);
        PEAK_TRY(cudaEventCreate(&e0));
        PEAK_TRY(cudaEventCreate(&e1));
        PEAK_TRY(cudaMalloc((void **)&sink, (size_t)blocks * kThreads * sizeof(float)));
        for (int rep = 0; rep <= kReps; rep++) {
            float ms = 0.0f;
            PEAK_TRY(cudaEventRecord(e0, 0));
            fma_kernel<<<blocks, kThreads>>>(1.0f, sink);
            PEAK_TRY(cudaGetLastError());
            PEAK_TRY(cudaEventRecord(e1, 0));
            PEAK_TRY(cudaEventSynchronize(e1));
            PEAK_TRY(cudaEventElapsedTime(&ms, e0, e1));
            const double flops = 2.0 * kIters * 4.0 * kChains * (double)blocks * kThreads;
            if (rep > 0 && ms > 0.0f && flops / (ms * 1e6) > best_flops) best_flops = flops / (ms * 1e6);
        }

        size_t free_b = 0, total_b = 0;
        PEAK_TRY(cudaMemGetInfo(&free_b, &total_b));
        while (bytes > ((size_t)16 << 20) && 2 * bytes + ((size_t)64 << 20) > free_b) bytes /= 2;
        PEAK_TRY(cudaMalloc((void **)&src, bytes));
        PEAK_TRY(cudaMalloc((void **)&dst, bytes));
        PEAK_TRY(cudaMemset(src, 0, bytes));
        for (int rep = 0; rep <= kReps; rep++) {
            float ms = 0.0f;
            PEAK_TRY(cudaEventRecord(e0, 0));
            PEAK_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
            PEAK_TRY(cudaEventRecord(e1, 0));
            PEAK_TRY(cudaEventSynchronize(e1));
            PEAK_TRY(cudaEventElapsedTime(&ms, e0, e1));
            const double gbs = 2.0 * (double)bytes / (ms * 1e6);
            if (rep > 0 && ms > 0.0f && gbs > best_copy) best_copy = gbs;
        }
        *fp32_gflops = best_flops;
        *copy_gbs = best_copy;
    }

done:
    cudaFree(dst);
    cudaFree(src);
    cudaFree(sink);
    if (e1) cudaEventDestroy(e1);
    if (e0) cudaEventDestroy(e0);
    return (int)st;
}

/* One thread reading the global nanosecond timer until `ns` have passed. */
__global__ void busy_kernel(unsigned long long ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
}

extern "C" int c1_cuda_busy_wait(double seconds, void *stream)
{
    const double ns = seconds > 0 ? seconds * 1e9 : 0;
    busy_kernel<<<1, 1, 0, (cudaStream_t)stream>>>((unsigned long long)(ns < 1e12 ? ns : 1e12));
    return (int)cudaGetLastError();
}
