/* The Winograd transforms (winograd_transforms.inc) compiled for AVX2 with FMA: -mavx2 -mfma; called only after the
 * driver's CPU check. */
#define WINOGRAD_VBYTES 32
#define WINOGRAD_ISA c1_winograd_avx2
#include "winograd_transforms.inc"
