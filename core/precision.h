/* The precision classes: a variant competes only within its class, and the checker's thresholds follow it. */
#ifndef CONV1D_CORE_PRECISION_H
#define CONV1D_CORE_PRECISION_H

/* A variant competes only within its precision class; the checker's threshold follows it. */
typedef enum c1_precision {
    C1_PREC_FP32 = 0, /* fp32 arithmetic (Winograd included) */
    C1_PREC_TF32 = 1, /* tensor-core TF32 inputs, fp32 accumulation */
    C1_PREC_BF16 = 2  /* bf16 inputs, fp32 accumulation */
} c1_precision;

/* "fp32", "tf32", "bf16"; "unknown" for anything else. */
const char *c1_precision_name(c1_precision prec);

#endif
