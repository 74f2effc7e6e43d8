/*
 * Internal: the conversion wrapper's vector kernels. The wrapper (widen.c) gives an fp32 variant a 16-bit
 * twin: the input widened to float once, the fp32 variant run on it, its output rounded once to the 16-bit
 * type. That is the class's arithmetic (fp32 accumulation, one rounding at the output) for any fp32 family,
 * at the cost of two passes over the tensors, which only compute-bound layers (Winograd tiles, FFTs of long
 * kernels) repay; memory-bound layers have native 16-bit kernels (depthwise16, direct16).
 */
#ifndef CONV1D_WIDEN_H
#define CONV1D_WIDEN_H

#include <stddef.h>
#include <stdint.h>

/* n elements: bf16/f16 bits to float (exact), and float to bf16/f16 (to nearest, ties to even; NaN stays
 * NaN), as core/half.h converts one element. */
typedef struct c1_widen_isa {
    void (*bf16_to_f32)(const uint16_t *in, float *out, size_t n);
    void (*f16_to_f32)(const uint16_t *in, float *out, size_t n);
    void (*f32_to_bf16)(const float *in, uint16_t *out, size_t n);
    void (*f32_to_f16)(const float *in, uint16_t *out, size_t n);
} c1_widen_isa;

extern const c1_widen_isa c1_widen_avx2;
extern const c1_widen_isa c1_widen_avx512;

#endif
