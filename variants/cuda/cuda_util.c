/* Shared CUDA helpers of the CUDA variants: availability without initialising CUDA, status conversion. */
#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda_util.h"
#include "error.h"

bool c1_cuda_available(void)
{
    static int cached = -1; /* benign race: every thread computes the same answer */
    if (cached < 0) {
        const char *off = getenv("CONV1D_NO_CUDA");
        if (off && *off && strcmp(off, "0") != 0)
            cached = 0;
        else
            cached = access("/dev/nvidiactl", F_OK) == 0 || access("/dev/nvidia0", F_OK) == 0;
    }
    return cached == 1;
}

conv1d_status c1_cuda_status(int cuda_error, const char *variant, const char *what)
{
    const cudaError_t e = (cudaError_t)cuda_error;
    if (e == cudaSuccess) return CONV1D_OK;
    (void)cudaGetLastError(); /* clear a non-sticky error so later calls start clean */
    return c1_fail(CONV1D_DEVICE_ERROR, "%s: %s: %s (%s).", variant, what, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

conv1d_status c1_cuda_ready(const char *variant)
{
    if (!c1_cuda_available())
        return c1_fail(CONV1D_UNSUPPORTED, "%s: no NVIDIA driver device node on this machine.", variant);
    int n = 0;
    C1_CUDA_TRY(variant, cudaGetDeviceCount(&n));
    if (n < 1) return c1_fail(CONV1D_DEVICE_ERROR, "%s: the CUDA runtime sees no device.", variant);
    return CONV1D_OK;
}

conv1d_status c1_cuda_props_get(c1_cuda_props *p)
{
    memset(p, 0, sizeof *p);
    int dev = 0, v = 0;
    C1_CUDA_TRY("cuda", cudaGetDevice(&dev));
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&p->sm_count, cudaDevAttrMultiProcessorCount, dev));
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&p->cc_major, cudaDevAttrComputeCapabilityMajor, dev));
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&p->cc_minor, cudaDevAttrComputeCapabilityMinor, dev));
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&v, cudaDevAttrL2CacheSize, dev));
    p->l2_bytes = (size_t)v;
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    p->smem_per_block_optin = (size_t)v;
    C1_CUDA_TRY("cuda", cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev));
    p->smem_per_sm = (size_t)v;
    return CONV1D_OK;
}
