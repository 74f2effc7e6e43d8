/* The precision classes: a variant competes only within its class, and the checker's thresholds follow it. */
#ifndef CONV1D_CORE_PRECISION_H
#define CONV1D_CORE_PRECISION_H

#include <stdbool.h>

#include "conv1d.h"

/* A variant competes only within its precision class; the checker's threshold follows it. */
typedef enum c1_precision {
    C1_PREC_FP32 = 0, /* fp32 arithmetic (Winograd included) */
    C1_PREC_TF32 = 1, /* tensor-core TF32 inputs, fp32 accumulation */
    C1_PREC_BF16 = 2, /* bf16 tensors, fp32 accumulation, one rounding at the output */
    C1_PREC_F16 = 3   /* f16 tensors, fp32 accumulation, one rounding at the output */
} c1_precision;
#define C1_PREC_COUNT 4

/* "fp32", "tf32", "bf16", "f16"; "unknown" for anything else. */
const char *c1_precision_name(c1_precision prec);

/* Whether a variant of class p computes tensors of dtype t: fp32 and tf32 take f32 data, bf16 and f16 their
 * own type. Classes are never mixed: a bf16 plan never gets an fp32 variant. */
bool c1_precision_takes(c1_precision p, conv1d_dtype t);

/* Parses a dtype name as the descriptor's text form takes it: f32, bf16, f16 or MAX's float32, bfloat16,
 * float16 (case-insensitive). false, *t untouched, for anything else. Pure. */
bool c1_dtype_parse(const char *text, conv1d_dtype *t);

/* The class a CPU plan of dtype t is tuned and dispatched in: fp32, bf16 or f16. */
c1_precision c1_precision_of_dtype(conv1d_dtype t);

#endif
