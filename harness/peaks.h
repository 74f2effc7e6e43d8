/*
 * peaks.h: the machine's own ceilings, so every result can be read as a fraction of the roofline.
 *
 * fp32 FMA peak: independent FMA chains on the widest vector ISA the CPU has (AVX-512, AVX2+FMA, else
 * SSE multiply+add), one core and then one thread per core. DRAM copy bandwidth: copies between two
 * buffers far larger than the last-level cache, counting bytes read plus bytes written, with ordinary and
 * with non-temporal stores; the faster is the ceiling. Each figure is the best of several short trials,
 * since on a shared machine noise only ever makes a trial slower.
 */
#ifndef CONV1D_PEAKS_H
#define CONV1D_PEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv1d.h"

typedef struct c1_peaks {
    double fma_gflops_1core; /* fp32, one multiply-add counted as 2 FLOPs */
    double fma_gflops_all;
    double copy_gbs_1core; /* 1e9 bytes per second, read + write */
    double copy_gbs_all;
    int threads; /* threads of the "all" figures: one per physical core */
} c1_peaks;

/* Default total measuring time of c1_peaks_load_or_measure, in seconds. */
#define C1_PEAKS_DEFAULT_SECONDS 1.2

/* Measures the four ceilings in about `seconds` (plus allocating and touching the copy buffers, a few
 * tens of milliseconds); a very small budget still runs one trial of each. Uses every core: do not run it
 * beside timed work. CONV1D_OUT_OF_MEMORY when the copy buffers cannot be allocated. Not thread-safe
 * with itself (it binds OpenMP threads to cores and restores their binding afterwards). */
conv1d_status c1_peaks_measure(double seconds, c1_peaks *p);

/* The vector ISA the FMA and copy kernels use on this CPU: "avx512", "avx2" or "sse2". */
const char *c1_peaks_fma_isa(void);

/* The cache file for a fingerprint: $XDG_CACHE_HOME/conv1d-tune/peaks-<fingerprint>.txt, or
 * $HOME/.cache/conv1d-tune/... when XDG_CACHE_HOME is unset or empty. Writes like snprintf; returns the
 * length needed, or 0 when neither variable gives a directory. */
size_t c1_peaks_cache_path(const char *fingerprint, char *buf, size_t size);

/* Reads the cached ceilings of `fingerprint`. The file is key=value lines (format, fingerprint, the four
 * figures, threads), '#' comment lines allowed; every key exactly once, nothing else, values positive and
 * finite. CONV1D_NOT_FOUND when there is no file, CONV1D_PARSE_ERROR when it is malformed or belongs to
 * another fingerprint (*p is then unchanged), CONV1D_IO_ERROR when it cannot be read. Thread-safe. */
conv1d_status c1_peaks_load(const char *fingerprint, c1_peaks *p);

/* Writes the cache file atomically (temporary file, then rename), creating the directory. Thread-safe. */
conv1d_status c1_peaks_save(const char *fingerprint, const c1_peaks *p);

/* The cached ceilings of this machine, or, when there are none, the cache is corrupt or `force` is set,
 * a fresh measurement of C1_PEAKS_DEFAULT_SECONDS that is then cached. A cache that cannot be written does
 * not make this fail: the cache only saves time. */
conv1d_status c1_peaks_load_or_measure(const char *fingerprint, c1_peaks *p, bool force);

/* As c1_peaks_load_or_measure with a measuring budget of `seconds`; *from_cache (may be NULL) tells
 * whether the figures came from the cache. */
conv1d_status c1_peaks_load_or_measure_for(const char *fingerprint, double seconds, c1_peaks *p, bool force,
                                           bool *from_cache);

/* The ceilings as one JSON object (no trailing newline); *json is malloc'd, the caller frees it. */
conv1d_status c1_peaks_to_json(const c1_peaks *p, char **json);

/* Internal: the per-ISA FMA kernels (harness/peaks_<isa>.c), each `iters` rounds of 12 independent vector
 * FMA chains (12 * 16 * 2 and 12 * 8 * 2 FLOPs per round); the result only keeps the work alive. Call them
 * only after the CPU check (c1_peaks_fma_isa). */
float c1_peaks_fma_avx512(int64_t iters, float mul, float add);
float c1_peaks_fma_avx2(int64_t iters, float mul, float add);
/* Internal: copies with non-temporal stores; dst and src 64-byte aligned, bytes a multiple of 256. */
void c1_peaks_copy_nt_avx512(void *dst, const void *src, size_t bytes);
void c1_peaks_copy_nt_avx2(void *dst, const void *src, size_t bytes);

/* c1_peaks_load_or_measure in a child process, for callers that fork measurement children and so must
 * not start OpenMP themselves (a forked child of an OpenMP process can hang). false if it failed. */
bool c1_peaks_load_isolated(const char *fingerprint, c1_peaks *p);

#endif
