/*
 * Internal: how conv1d_plan_create chooses a variant (the order is documented in conv1d.h).
 *
 * Tuned shapes nearby. A shape without an exact winner is decided by the measurements of the tuned shapes
 * near it: at most C1_NEIGHBOURS of them within C1_NEAREST_MAX_DISTANCE, of the same layout and kind, where the
 * kind is dense (one group), depthwise (groups == in_channels > 1) or grouped (anything else), because a
 * winner rarely carries over between kinds. The distance is
 *     |log2 ratio| of the rows batch * length, of in_channels and of out_channels
 *   + 2 |log2 ratio| of kernel_size, + 2 more for any different kernel_size (a Winograd tile fits one size)
 *   + |log2 ratio| of dilation and of groups
 *   + 4 for a different stride, 4 when one is dilated and the other is not (a different loop structure)
 *   + 0.25 for a different bias flag.
 * Every variant that applies to the shape is ranked by the weighted geometric mean, over the neighbours it
 * was measured on, of its time over that neighbour's fastest time (weights exp(-distance /
 * C1_NEIGHBOUR_SCALE); measured but not ok counts as exp(C1_NEIGHBOUR_FAILED)), and the lowest wins: a
 * variant close to the best on every neighbour beats one that won the nearest and lost the others. A
 * neighbour without measurements (a database of winners only) counts its winner at 1x. With one neighbour
 * this is that neighbour's winner, where it applies.
 *
 * Time models. A shape with no tuned shape near is decided by the time models fitted from every variant's
 * measurements on this machine and build (model.h): each applicable variant whose model covers the shape's
 * layout and kind gets a predicted time, and the fastest prediction wins, when at least C1_MODEL_MIN_RANKED
 * variants could be ranked. (Cross-validated on held-out shapes, results/NOTES.md, the models picked worse
 * than the neighbours' measurements, so they come after them.)
 *
 * Rules, when nothing is tuned (chosen from the winners measured on AVX-512 and AVX2 machines):
 *   long kernels: a sub-kernel span (kernel_size-1)*dilation/stride + 1 of at least 16 taps with 16 or more input
 *   channels a group (dense or grouped), 192 with fewer (depthwise)
 *                      -> fft_b256_m / b1024_m / b4096_m / whole_m (__avx512, else __avx2: b256_m, whole_m), the
 *                         first that applies; else the rules below
 *   depthwise          -> depthwise__avx512, else depthwise__avx2, else depthwise__c
 *   dense, stride 1, kernel_size 3, 5 or 7, in and out channels >= 128
 *                      -> winograd_f4r3 / winograd_f4r5 / winograd_f3r7, else f2r7 (__avx512, else __avx2),
 *                         where the tile stays in the fp32 error class; else the dense rules below
 *   dense, in and out channels >= 64, or a first layer (in_channels <= 8)
 *                      -> direct_8x48__avx512 / direct_6x32__avx512, else direct_6x16__avx2, else onednn
 *   other dense        -> direct_6x32__avx512, else direct_6x16__avx2, else onednn
 *   grouped            -> onednn, else direct_4x8__c
 * each taken only when it applies; otherwise the first applicable non-reference variant of the device in
 * registry order, and finally the reference.
 *
 * CUDA plans choose only among CUDA variants (DB and table winners of device "cuda", whose variant must be a
 * CUDA one), and their rules name families, not points, because the hand-written kernels' parameter points
 * change more often than the rule:
 *   depthwise          -> the first cuda_depthwise variant that applies
 *   otherwise, or no depthwise kernel applies
 *                      -> the first cuda_smem variant that applies
 *   then               -> cudnn_algo1 (IMPLICIT_PRECOMP_GEMM, fp32), else cudnn_algo0
 * then the first applicable fp32 CUDA variant; never a CPU variant nor the reference (which run on the host).
 */
#ifndef CONV1D_LOOKUP_H
#define CONV1D_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "conv1d.h"
#include "model.h"
#include "variant.h"

#define C1_NEAREST_MAX_DISTANCE 6.0

/* The neighbourhood of an untuned shape (above): at most this many tuned shapes, weighted exp(-distance /
 * C1_NEIGHBOUR_SCALE); a variant measured there but not ok (too slow to finish, or failed) counts as
 * exp(C1_NEIGHBOUR_FAILED) times the best; a variant is ranked only when measured on neighbours holding at
 * least C1_NEIGHBOUR_COVER of the neighbourhood's weight. */
#define C1_NEIGHBOURS 4
#define C1_NEIGHBOUR_SCALE 2.0
#define C1_NEIGHBOUR_FAILED 1.386294 /* ln 4 */
#define C1_NEIGHBOUR_COVER 0.5

typedef struct c1_neighbour_pick {
    const c1_variant *v;
    double ratio; /* weighted geometric mean over the neighbours of its time / their fastest variant's */
} c1_neighbour_pick;

/* The time models (model.h) decide a shape without an exact winner only where at least this many of its
 * applicable variants can be ranked; else the nearest tuned shape does. */
#define C1_MODEL_MIN_RANKED 2

typedef struct c1_model_pick {
    const c1_variant *v;
    double predicted_ms;
    int samples;
} c1_model_pick;

/* Ranks the variants of device dev and precision class fp32 that apply to *d and that a model in models[]
 * covers (c1_model_covers), fastest predicted first, into out[0..max); returns how many were ranked. */
size_t c1_model_rank(const c1_model *models, size_t n_models, const conv1d_desc *d, c1_device dev,
                     c1_model_pick *out, size_t max);

/* This machine's fingerprint (c1_hw_fingerprint), computed once per process; "" when hwloc cannot
 * describe the machine. Thread-safe. */
const char *c1_machine_fingerprint(void);

/* The distance above; INFINITY for shapes of different layout or kind. */
double c1_shape_distance(const conv1d_desc *a, const conv1d_desc *b);

/* The rules above: the variant and a short reason ("depthwise") written into why. Never NULL. */
const c1_variant *c1_heuristic_choice(const conv1d_desc *d, c1_device dev, char *why, size_t why_size);

/* Steps 1-6 of conv1d.h for a valid *d. On success *v is the variant, explain holds the reason and *exact
 * tells whether it was forced or tuned for exactly this shape (false: nearest shape or rules). Fails only
 * for a CONV1D_VARIANT that is unknown or does not apply, or when no variant of the device applies. */
conv1d_status c1_lookup_choose(const conv1d_desc *d, c1_device dev, conv1d_mode mode, const char *db_path,
                               const c1_variant **v, char *explain, size_t explain_size, bool *exact);

/* The time models' best max candidates for *d (the database's models, else the embedded table's); 0 when
 * no model covers the shape or nothing can be read. */
size_t c1_model_top(const conv1d_desc *d, c1_device dev, const char *db_path, c1_model_pick *out, size_t max);

/* The best max variants on the tuned shapes near *d in the database (db_path, else the default path), as step
 * 3 ranks them; 0 when there are none or nothing can be read. */
size_t c1_neighbour_top(const conv1d_desc *d, c1_device dev, const char *db_path, c1_neighbour_pick *out,
                        size_t max);

/* CONV1D_MODE_MEASURE after a lookup that was not exact (plan_measure.c): times a few candidates, *v (the
 * lookup's choice) among them, sets *v to the fastest correct one, stores it as the shape's winner in the
 * database (db_path, else the default path; created when missing) and rewrites explain. Fails only for a
 * device other than the CPU or out of memory; a database that cannot be written is said in explain. */
conv1d_status c1_measure_choose(const conv1d_desc *d, c1_device dev, const char *db_path, const c1_variant **v,
                                char *explain, size_t explain_size);

#endif
