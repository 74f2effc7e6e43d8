/* The FFT family's frequency-domain kernels (fft_kernels.inc) for AVX-512: -mavx512f ... -mfma, 16 frequencies a
 * vector, tiles up to 8 (16 accumulators of 32 registers); called only after the driver's CPU check. */
#define FFT_ISA c1_fft_avx512
#define FFT_VW 16
#define FFT_MAX_TILE 8
#include "fft_kernels.inc"
