/* bf16 and f16 depthwise kernels for AVX-512 (F/BW/VL/DQ) + F16C, bf16 rounded in integer operations; called only
 * when the CPU has them. The kernels are depthwise16_avx512.inc's, shared with the AVX512_BF16 level. */
#define DW16_NAME(f) f##_avx512
#include "depthwise16_avx512.inc"
