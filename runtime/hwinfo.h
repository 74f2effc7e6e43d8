/*
 * hwinfo.h: the machine a measurement ran on (part of libconv1d: dispatch keys tuned results by it).
 *
 * c1_hw_collect fills a c1_hwinfo from hwloc (CPU, caches, NUMA), cpuid (ISA flags), uname, the build,
 * oneDNN and, in CUDA builds, the CUDA runtime, driver, cuDNN and each GPU. c1_hw_fingerprint hashes only
 * the parts that change performance, so results keyed by it stay valid across reboots, kernel updates and
 * renamed hosts, and are not reused on a machine whose CPU, caches, ISA, oneDNN or GPU stack differ.
 *
 * The process-wide cache sizes that kernels size their blocking from live in core/cpu_caches.h.
 *
 * The GPU part comes from a probe. By default (the library, whose plan path never forks) c1_hw_collect_gpu
 * queries the CUDA runtime in the calling process. A program that forks children which use CUDA (the tuning
 * tool, whose measurement children each create a context) must not initialise CUDA before forking, since a
 * CUDA context does not survive fork(); it installs a probe (c1_hw_set_gpu_probe) that runs
 * c1_hw_collect_gpu in a child and copies the CUDA fields back.
 */
#ifndef CONV1D_HWINFO_H
#define CONV1D_HWINFO_H

#include <stdint.h>

#include "conv1d.h"
#include "cpu_caches.h"
#include "isa.h"

#define C1_HW_MAX_GPUS 16

typedef struct c1_hw_gpu {
    char name[256];
    char uuid[48]; /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as nvidia-smi prints it */
    int sm_count;
    int cc_major, cc_minor;
    int64_t memory_bytes;
    int64_t l2_bytes;
    /* Measured ceilings, filled only on request (conv1d-tune hw --peaks); 0: not measured. Not part of the
     * fingerprint. */
    double peak_fma_gflops; /* fp32 FMA, one multiply-add counted as 2 FLOPs */
    double peak_copy_gbs;   /* device-to-device copy, 1e9 bytes per second, read + write */
} c1_hw_gpu;

/* Plain data: copy it freely. Unknown strings are "unknown", unknown numbers -1. */
typedef struct c1_hwinfo {
    /* CPU */
    char cpu_model[128];  /* hwloc "CPUModel", e.g. "AMD EPYC 9R14" */
    char cpu_vendor[64];  /* "GenuineIntel", "AuthenticAMD", ... */
    int cpu_family, cpu_model_number, cpu_stepping;
    int packages, cores, pus;
    c1_hw_cache l1d, l2, l3;
    uint32_t isa; /* C1_ISA_* bits the CPU and OS support and the CONV1D_ISA cap leaves (isa.h) */
    char isa_level[16]; /* the level variants may use here: "avx512", "avx2" or "c" */
    char isa_cap[16];   /* CONV1D_ISA when it lowers the CPU's level, else "none" */

    /* memory */
    int numa_nodes;
    int64_t memory_bytes; /* installed (total), not free */

    /* OS and build */
    char os_name[64], os_release[128], os_version[256], os_machine[64], hostname[256];
    char compiler[128];
    char build_flags[512]; /* C1_BUILD_FLAGS when the build defines it, else "unknown" */
    char hwloc_api_version[32]; /* hwloc_get_api_version(): the API level, which lags the release number */

    /* oneDNN ("none" in all three in a build without oneDNN, ONEDNN=0) */
    char onednn_version[32]; /* "3.2.0" */
    char onednn_hash[64];
    char onednn_isa[32]; /* what dnnl_get_effective_cpu_isa() dispatches to, e.g. "avx512_core_bf16" */

    /* CUDA: cuda_compiled 0 means a build without CUDA; then the rest is zero/empty */
    int cuda_compiled;
    int cuda_driver_version;  /* CUDA's encoding, 1000*major + 10*minor; 0 when no driver is installed */
    int cuda_runtime_version; /* same encoding */
    int cudnn_version;        /* cudnnGetVersion(): 10000*major + 100*minor + patch for cuDNN 9; 0 without a GPU */
    char cuda_error[256];     /* why there is no GPU ("" when gpu_count > 0 or without CUDA) */
    int gpu_count;            /* GPUs listed in gpus[] (at most C1_HW_MAX_GPUS) */
    c1_hw_gpu gpus[C1_HW_MAX_GPUS];
} c1_hwinfo;

/* Fills *hw. Fails (CONV1D_DEVICE_ERROR, sentence in conv1d_last_error) only when hwloc cannot describe
 * the machine; a missing GPU or driver is not a failure (gpu_count 0, reason in cuda_error). Thread-safe;
 * takes tens of milliseconds (hwloc topology discovery, CUDA initialisation). */
conv1d_status c1_hw_collect(c1_hwinfo *hw);

/* Fills only the CUDA fields (cuda_compiled through gpus[]) by querying the CUDA runtime and cuDNN in the
 * calling process, which initialises CUDA there; the other fields are untouched. In a build without CUDA it
 * only clears them. A missing GPU is not an error: gpu_count 0, the reason in cuda_error. */
void c1_hw_collect_gpu(c1_hwinfo *hw);

/* What c1_hw_collect calls for the CUDA fields: fn(hw) must fill exactly what c1_hw_collect_gpu fills.
 * NULL restores the default (c1_hw_collect_gpu in the calling process). Set it before any thread calls
 * c1_hw_collect. */
typedef void (*c1_hw_gpu_probe_fn)(c1_hwinfo *hw);
void c1_hw_set_gpu_probe(c1_hw_gpu_probe_fn fn);

/* The fingerprint: FNV-1a 64-bit over the canonical text of the performance-relevant fields (see
 * c1_hw_fingerprint_text), as 16 lower-case hex digits plus NUL. Thread-safe. */
void c1_hw_fingerprint(const c1_hwinfo *hw, char out[17]);

/* The text the fingerprint hashes, one "key=value" per line: CPU vendor, model, family and model number,
 * packages, cores and PUs per package, L1d/L2/L3 sizes and counts, ISA flags, oneDNN version and ISA, and
 * (only when a GPU is present) the CUDA driver, runtime and cuDNN versions and each GPU's name (which
 * names its memory size, "H100 80GB HBM3"), SM count and compute capability. Kernel version, hostname, memory size and times are left out on purpose.
 * Writes like snprintf and returns the length the full text needs. Thread-safe. */
size_t c1_hw_fingerprint_text(const c1_hwinfo *hw, char *buf, size_t size);

/* The whole record as one JSON object (no trailing newline), fingerprint included; *json is malloc'd and
 * the caller frees it. CONV1D_OUT_OF_MEMORY on allocation failure. Thread-safe. */
conv1d_status c1_hw_to_json(const c1_hwinfo *hw, char **json);


#endif
