/*
 * Internal: what every CUDA variant (variants/cuda/) shares. Usable from C and CUDA C++.
 *
 * Fork rule: the tool checks and times each variant in a forked child, and a CUDA context does not survive
 * fork(). So nothing here touches the CUDA runtime until a variant is prepared or run; c1_cuda_available()
 * only looks for the driver's device node, and the real device query happens in prepare (a machine whose
 * driver is present but broken then answers CONV1D_DEVICE_ERROR with the runtime's sentence).
 */
#ifndef CONV1D_CUDA_UTIL_H
#define CONV1D_CUDA_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "conv1d.h"

#ifdef __cplusplus
extern "C" {
#endif

/* True when this build has CUDA and the NVIDIA driver exposes a device node (/dev/nvidia0 or
 * /dev/nvidiactl). Never initialises CUDA; cheap after the first call. The variable CONV1D_NO_CUDA=1 makes
 * it false, so a GPU machine can run the CPU-only path. */
bool c1_cuda_available(void);

/* Makes sure the calling thread has a usable device (device 0, or CUDA_VISIBLE_DEVICES's first): CONV1D_OK,
 * or CONV1D_DEVICE_ERROR with the runtime's sentence ("cudaGetDeviceCount: no CUDA-capable device is
 * detected."). Call at the top of every prepare. */
conv1d_status c1_cuda_ready(const char *variant);

/* Turns a cudaError_t (passed as int so C callers need no CUDA header) into CONV1D_OK or CONV1D_DEVICE_ERROR
 * with "<variant>: <what>: <runtime message>." as the sentence. Clears the runtime's non-sticky error. */
conv1d_status c1_cuda_status(int cuda_error, const char *variant, const char *what);

/* The current device's properties the kernels size themselves by; zeros when there is no device. */
typedef struct c1_cuda_props {
    int sm_count, cc_major, cc_minor;
    size_t l2_bytes, smem_per_block_optin, smem_per_sm;
} c1_cuda_props;
conv1d_status c1_cuda_props_get(c1_cuda_props *p);

#ifdef __cplusplus
}
#endif

/* In a function returning conv1d_status: evaluate a CUDA call and return its failure as a status. */
#define C1_CUDA_TRY(variant, call)                                                   \
    do {                                                                             \
        const conv1d_status c1_st_ = c1_cuda_status((int)(call), (variant), #call); \
        if (c1_st_ != CONV1D_OK) return c1_st_;                                      \
    } while (0)

#endif
