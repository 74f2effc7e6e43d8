/* The Winograd transforms (winograd_transforms.inc) compiled for AVX-512: -mavx512f ... -mfma; called only after the
 * driver's CPU check. */
#define WINOGRAD_VBYTES 64
#define WINOGRAD_ISA c1_winograd_avx512
#include "winograd_transforms.inc"
