/*
 * Internal to the harness: what the measurement child's CPU path (measure.c) and CUDA path (measure_cuda.c)
 * share: the buffer-set geometry, the check, the stopping rule and the run limit.
 */
#ifndef CONV1D_MEASURE_CHILD_H
#define CONV1D_MEASURE_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "measure.h"

#define MAX_ROTATION_SETS 64
#define ROTATION_MEMORY_CAP (1ull << 30)
/* Every buffer set starts on a 256-byte boundary, as a framework's tensors do (PyTorch aligns CPU tensors to 64
 * bytes, CUDA ones to 256): a kernel's aligned and streaming-store paths are then taken on every set, as they
 * would be in production, and no set straddles cache lines differently from the next. */
#define SET_ALIGN 256

static inline size_t c1_set_stride(size_t bytes) { return (bytes + SET_ALIGN - 1) / SET_ALIGN * SET_ALIGN; }

typedef struct c1_child_args {
    const c1_variant *v;
    const c1_problem *p;
    const c1_measure_opts *o;
} c1_child_args;

/* m's outcome, its message the prefix and conv1d_last_error(). */
void c1_child_set_message(c1_measurement *m, c1_outcome outcome, const char *prefix);
/* Compares a checked run's output (host memory, the problem's dtype) with the reference; false (outcome
 * WRONG, the reason in m->message) when it fails the precision class's check. */
bool c1_child_check_output(const c1_variant *v, const c1_problem *p, const void *ys, c1_measurement *m);
/* A timed variant's outcome: its samples kept and their statistics (sorts samples). */
void c1_child_record_timing(c1_measurement *m, double *samples, int n);
/* The stopping rule: at least min_repeats samples; then stop at the budget's end, or once there are twice
 * min_repeats and the 95% CI of the median is within +-target_ci of it. */
bool c1_child_timing_done(const double *samples, int n, const c1_measure_opts *o, double stop);
/* Runs per sample for a run of per_run_s seconds (samples of about 0.1 ms), at most max_group. */
int c1_child_group_size(double per_run_s, int max_group);
/* The run limit (c1_measure_opts.run_limit_s): armed after prepare, it ends the child with outcome TIMEOUT. */
void c1_child_arm_run_limit(c1_measurement *m, double seconds, double t_start);
void c1_child_disarm_run_limit(void);

#ifdef C1_HAVE_CUDA
/* The CUDA path of the measurement child (measure_cuda.c). */
int c1_measure_child_cuda(const c1_child_args *a, c1_measurement *m, double t_start);
#endif

#endif
