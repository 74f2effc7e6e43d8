/* The FFT family's frequency-domain kernels (fft_kernels.inc) for AVX2 + FMA, 8 frequencies a vector, tiles up
 * to 4 (8 accumulators of 16 registers); called only after the driver's CPU check. */
#define FFT_ISA c1_fft_avx2
#define FFT_VW 8
#define FFT_MAX_TILE 4
#include "fft_kernels.inc"
