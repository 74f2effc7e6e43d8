/*
 * Internal: checking and timing one variant on one descriptor, isolated in a child process.
 *
 * The parent makes the problem once (c1_problem_create): seeded random inputs (never zero), the double
 * reference computed in a child and shared through memory. Each measurement then forks a child that
 * prepares the variant, runs it once on the problem with the output poisoned (NaN), compares with the
 * reference, and only if correct times it. A crash, a hang past the wall-clock limit or a wrong answer
 * becomes the variant's outcome; the parent and every other variant's result are untouched.
 *
 * CUDA variants (device C1_DEVICE_CUDA) follow the same protocol on the GPU, all of it inside the child (a
 * CUDA context does not survive fork(), so the parent never calls the CUDA runtime): device buffers, the
 * input uploaded, the output poisoned with NaN (0xFF bytes), one run_async on a stream of the child's own
 * and a synchronisation, the output copied back and compared with the same double reference; then timed
 * with CUDA events on that stream, rotating input/output sets whose total exceeds twice the GPU's L2, with
 * the CPU path's warm-up, grouping of short kernels, statistics and stopping rule. Each start event waits
 * behind a short busy kernel on the stream, so the runs it times are already enqueued when it fires and the
 * host's enqueue work (a library's locking, stream setting, extra copies) is not charged to short kernels
 * (the same for every variant and the copy yardstick). Any CUDA error becomes
 * outcome FAILED with the runtime's sentence.
 */
#ifndef CONV1D_MEASURE_H
#define CONV1D_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "conv1d.h"
#include "check.h"
#include "verdict.h"
#include "hwinfo.h"
#include "trial.h"
#include "variant.h"

/* What happened to a variant on a shape. Stored by name in the results DB: never renumber. */
#define C1_OUTCOME_MAP(X)                                                                      \
    X(OK, "ok")                   /* correct within its precision class, and timed */          \
    X(WRONG, "wrong")             /* ran, but the output failed the check: never timed */       \
    X(UNSUPPORTED, "unsupported") /* does not apply to this shape or machine */                 \
    X(CRASHED, "crashed")         /* died on a signal (or exited) before reporting */           \
    X(TIMEOUT, "timeout")         /* exceeded the wall-clock limit and was killed */            \
    X(FAILED, "failed")           /* returned an error status, e.g. out of memory */

typedef enum c1_outcome {
#define C1_OUTCOME_ENUM_(name, text) C1_OUTCOME_##name,
    C1_OUTCOME_MAP(C1_OUTCOME_ENUM_)
#undef C1_OUTCOME_ENUM_
} c1_outcome;

const char *c1_outcome_name(c1_outcome o);

/* Order statistics of timing samples (milliseconds). */
/* c1_stats and c1_stats_compute: core/verdict.h. */

/* A problem shared by every measurement of one shape: the trial engine's seeded data (runtime/trial.h: for
 * the 16-bit dtypes the values are rounded to the dtype first, so the reference is exact on what a variant
 * reads) and its double reference, computed once in a child and mapped shared. */
typedef struct c1_problem {
    c1_trial_data data;
    uint64_t seed;
    double *ref;   /* shared mapping: filled by a child so the reference may use every core */
    double *absum; /* 16-bit dtypes: the reference on |x|, |w|, |b| (c1_compare16's bound); else NULL */
} c1_problem;

conv1d_status c1_problem_create(const conv1d_desc *d, uint64_t seed, double timeout_s, c1_problem *p);
void c1_problem_destroy(c1_problem *p);

typedef struct c1_measure_opts {
    int threads;          /* OpenMP threads inside the child; 0: all cores */
    double budget_s;      /* timing budget for this variant (the check is extra) */
    double timeout_s;     /* wall-clock limit of the child, check and timing included */
    double target_ci;     /* stop once the 95% CI of the median is within +-target_ci of it (0.03) */
    int min_repeats;      /* at least this many timed samples (5) */
    double llc_bytes;     /* last-level cache size, for buffer rotation (0: 32 MiB) */
    bool rotate;          /* rotate input/output sets whose total exceeds 2x the LLC */
    bool check_only;      /* prepare + check, no timing */
    double run_limit_s;   /* > 0: seconds the check and timing may take after prepare; past them the child ends and
                           * the outcome is timeout ("run limit"); 0: only timeout_s applies */
} c1_measure_opts;

void c1_measure_opts_init(c1_measure_opts *o);

#define C1_MAX_SAMPLES 2048

typedef struct c1_measurement {
    c1_outcome outcome;
    c1_error error;
    c1_stats time_ms;
    int threads;
    int buffer_sets;      /* input/output sets rotated through while timing */
    int runs_per_sample;  /* runs averaged into one sample (short kernels) */
    long timed_faults;    /* page faults (minor and major) of the child during the timed samples: 0 unless the
                             variant itself maps fresh memory while it runs */
    double wall_s;        /* the child's whole life */
    char impl[128];       /* what a library chose (oneDNN impl_info), or "" */
    char message[256];    /* why it was not ok, one sentence */
    int nsamples;         /* the timed samples (ms), so interleaved rounds can be pooled */
    double samples[C1_MAX_SAMPLES];
} c1_measurement;

/* The copy yardstick: not a convolution, so never checked; it reads the input and writes the output
 * bytes of the problem once (memcpy of the common part, the rest read or zeroed), with all threads, through
 * the same timing loop and buffer rotation as the variants, so "fraction of a copy" compares like with like.
 * Measure it with c1_measure like a variant. */
extern const c1_variant c1_copy_baseline;

/* The yardstick of a device: c1_copy_baseline for the CPU; for CUDA (CUDA builds only, else NULL) a
 * device-to-device copy moving the same bytes through DRAM (the common part copied from input to output,
 * a longer output's rest zeroed, a longer input's rest read by copying half of it into the workspace, which
 * moves as many bytes), named "copy" as well. */
const c1_variant *c1_copy_baseline_for(c1_device dev);
/* True for either yardstick. */
bool c1_is_copy_baseline(const c1_variant *v);

/* The GPU half of the machine record (hwinfo's CUDA fields) queried in a forked child, so the calling
 * process never initialises CUDA; the answer is kept for the life of the process. Without CUDA in the build
 * it leaves the record as c1_hw_collect made it. (harness/gpu_probe.c) */
void c1_hw_gpu_probe_isolated(c1_hwinfo *hw);

/* What a program that measures must call before anything else asks for the machine record (the fingerprint
 * included): installs c1_hw_gpu_probe_isolated as hwinfo's GPU probe (c1_hw_set_gpu_probe), as every such
 * program forks children that must be free to use CUDA. Idempotent, thread-safe. conv1d-tune's main() and
 * the test programs that measure call it; libconv1d alone never needs it. */
void c1_harness_init(void);

/* The GPU ceilings (fp32 FMA GFLOP/s, device copy GB/s) measured in a forked child by the CUDA build's
 * c1_cuda_measure_peaks. CONV1D_OK with both figures positive; CONV1D_UNSUPPORTED without CUDA in the build
 * or without a GPU; CONV1D_DEVICE_ERROR when the child failed. */
conv1d_status c1_gpu_peaks_isolated(double timeout_s, double *gflops, double *gbs);

/* Checks and (unless check_only) times v on p in a child process; always fills *m. Returns CONV1D_OK when
 * the measurement itself worked (whatever the variant's outcome), an error when no child could run. */
conv1d_status c1_measure(const c1_variant *v, const c1_problem *p, const c1_measure_opts *o, c1_measurement *m);

/* c1_measure of n variants in as few children as the outcomes allow: one child measures vs[0], vs[1], ...
 * in order, each variant's result landing in m[i] as soon as it is known, and its own limit o->timeout_s
 * counting from its own start. A child stops after any outcome but OK and UNSUPPORTED (a wrong answer or
 * a failed call may have left a broken device context or corrupted memory behind), and a child that dies
 * or is killed takes only the variant it was measuring with it (CRASHED or TIMEOUT, as c1_measure says);
 * either way the rest go to a fresh child. So no variant's result is hidden or changed by another's, and
 * a GPU's context, library handles and loaded modules are set up once per child instead of per variant. */
conv1d_status c1_measure_many(const c1_variant *const *vs, int n, const c1_problem *p, const c1_measure_opts *o,
                              c1_measurement *m);

/* Runs fn(arg, shared) in a forked child with `shared` (shared_bytes, zeroed) visible to the parent;
 * waits at most timeout_s. *outcome: OK when the child exited 0, CRASHED on a signal or other exit code,
 * TIMEOUT when killed at the limit; *detail says which signal or code. */
typedef int (*c1_child_fn)(void *arg, void *shared);
conv1d_status c1_sandbox_run(c1_child_fn fn, void *arg, void *shared, double timeout_s, c1_outcome *outcome,
                             char *detail, size_t detail_size);
/* c1_sandbox_run with a moving limit: the child is killed (TIMEOUT) once the clock (c1_now_s) passes
 * deadline(deadline_arg), asked at every poll; timeout_s is only quoted in *detail. */
typedef double (*c1_deadline_fn)(void *deadline_arg);
conv1d_status c1_sandbox_run_watched(c1_child_fn fn, void *arg, void *shared, c1_deadline_fn deadline,
                                     void *deadline_arg, double timeout_s, c1_outcome *outcome, char *detail,
                                     size_t detail_size);
/* Shared anonymous memory for c1_sandbox_run (zeroed); NULL on failure. */
void *c1_shared_alloc(size_t bytes);
void c1_shared_free(void *p, size_t bytes);

#endif
