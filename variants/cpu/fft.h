/*
 * Internal: the FFT family (variants/cpu/fft*.c): convolution by FFTW 3 transforms for long kernels.
 *
 * The driver (fft.c) turns any descriptor into stride-1 correlations over "virtual channels": with stride S
 * and dilation D, tap r reads padded input position o*S + r*D = (o + j)*S + p with j = r*D / S and phase
 * p = r*D % S, so each (input channel, phase p that some tap hits) is one sub-signal u[m] = xpad[m*S + p]
 * with its own sub-kernel of J = (R-1)*D/S + 1 taps. The frequency-domain stage sums over the virtual
 * channels of a group, which is where stride and dilation cost nothing extra.
 *
 * The per-ISA part (fft_avx512.c, fft_avx2.c, both from fft_kernels.inc) is that frequency-domain stage,
 * a small complex GEMM per frequency, vectorised over frequencies on split (real, imaginary) planes, and the
 * moves between FFTW's interleaved spectra and those planes. FFTW does the transforms; wisdom and the
 * planner lock live in fft_wisdom.c.
 */
#ifndef CONV1D_FFT_H
#define CONV1D_FFT_H

#include <stddef.h>
#include <stdint.h>

/* Largest row x output-channel register tile of a product kernel (mt * kt), and the sides. */
#define C1_FFT_MAX_TILE 8
#define C1_FFT_TILE_LOG2 4 /* tiles 1, 2, 4, 8 on each side */

/*
 * One product call: for each of nchunks chunks of vw frequencies and each of mt rows and kt output channels,
 *   Y[m][k] = sum over v < cv of X[m][v] * W[v][k]   (complex, per frequency)
 * Real parts at re, imaginary parts plane_im floats after them. Chunk q of:
 *   X row m, channel v: x + m*x_row + v*x_v + q*vw
 *   W channel v, output k: w + q*w_chunk + (v*kt + k)*2*vw  (real vw floats, then imaginary vw floats)
 *   Y row m, output k: y + m*y_row + k*y_k + q*vw
 * All pointers 64-byte aligned (32 for AVX2), strides multiples of vw.
 */
typedef struct c1_fft_prod_args {
    const float *x, *w;
    float *y;
    ptrdiff_t x_row, x_v, w_chunk, y_row, y_k, plane_im;
    int64_t cv, nchunks;
} c1_fft_prod_args;

typedef void (*c1_fft_prod_fn)(const c1_fft_prod_args *a);

typedef struct c1_fft_isa {
    int vw;       /* frequencies per chunk: one vector of floats */
    int max_tile; /* largest mt * kt that stays in registers */
    c1_fft_prod_fn prod[C1_FFT_TILE_LOG2][C1_FFT_TILE_LOG2]; /* [log2 mt][log2 kt]; NULL past max_tile */
    /* re[f], im[f] = c[2f], c[2f+1] for f < nf, zeros for nf <= f < nfp */
    void (*split)(const float *c, float *re, float *im, int64_t nf, int64_t nfp);
    /* c[2f], c[2f+1] = re[f], im[f] for f < nf */
    void (*join)(const float *re, const float *im, float *c, int64_t nf);
} c1_fft_isa;

/* The kernels compiled for each ISA; call only after the matching CPU check. */
extern const c1_fft_isa c1_fft_avx512;
extern const c1_fft_isa c1_fft_avx2;

/*
 * The measured error of the family as a fraction of max|ref| for transforms of n points summing
 * `virtual_channels` products per output (tests/unit/test_fft.c checks measurements against it; results/NOTES.md
 * keeps the table). supports() refuses a shape whose estimate passes a quarter of the fp32 threshold.
 */
double c1_fft_error_estimate(int64_t n, int64_t virtual_channels);

/* The FFT size the family uses for a whole sequence needing `span` points: the smallest 2^a, 3 2^a, 5 2^a or 9 2^a
 * >= span with a >= 1 (r2c wants an even size). Not every 2^a 3^b 5^c: FFTW's time per point grows with the powers
 * of 3 and 5 (on a Zen 4 a 4050-point r2c + c2r pair, 2 3^4 5^2, took 2.3x a 4096-point one). These sizes are at
 * most 1.34x apart, and over spans of 300-48000 their time was 1.13x that of the fastest size from the span to 4x
 * it on average (p90 1.42x), against 1.27x (p90 1.84x) for the smallest 2^a 3^b 5^c
 * (results/amd-epyc-zen4-2vcpu/fft-sizes/). */
int64_t c1_fft_good_size(int64_t span);

/* --- FFTW's planner and wisdom (fft_wisdom.c) ---------------------------------------------------------------
 *
 * FFTW's planner (plan creation and destruction, wisdom import and export) is not thread-safe; executing a plan
 * is. Every planner call of the family happens between c1_fft_planner_lock() and c1_fft_planner_unlock().
 *
 * Wisdom is a cache, like the results database: the file named by $CONV1D_FFTW_WISDOM, else
 * $XDG_CACHE_HOME/conv1d-tune/fftwf-wisdom-<c1_cpu_key()>.txt (XDG_CACHE_HOME defaulting to ~/.cache; the
 * folder of the machine's measured peaks), one file per machine so a shared home never hands one machine
 * another's timings; an empty CONV1D_FFTW_WISDOM, or "off", keeps wisdom in the process only. It is read into
 * FFTW once per process and path, before the first FFTW_MEASURE plan; a missing, unreadable, corrupt, truncated
 * or foreign file (another FFTW build or precision) is ignored and never fails a plan. After planning with
 * FFTW_MEASURE, new wisdom is merged with what the file holds by then and written back atomically (a temporary
 * file renamed over it); a failed write is ignored.
 */
void c1_fft_planner_lock(void);
void c1_fft_planner_unlock(void);

/* The wisdom file in effect ("" when wisdom stays in the process); the string is valid until the next call.
 * Call with the lock held. */
const char *c1_fft_wisdom_path_locked(void);
/* Reads the wisdom file into FFTW if this process has not read this path yet. Lock held. */
void c1_fft_wisdom_load_locked(void);
/* Writes the process's wisdom back (merged with the file's) when it has grown since it was read. Lock held. */
void c1_fft_wisdom_save_locked(void);
/* Test hook: forgets all of FFTW's single-precision wisdom and that any file was read. Takes the lock. */
void c1_fft_wisdom_reset(void);

#endif
