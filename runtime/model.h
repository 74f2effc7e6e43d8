/*
 * Internal: a model of each variant's time on this machine, for shapes nobody tuned.
 *
 * Per (variant, layout, kind), where kind is dense, depthwise or grouped (lookup.h), the log of the median
 * time is linear in the log of the work and of the shape:
 *
 *     ln t_ms = c0 + c1 ln GFLOP + c2 ln MB + c3 ln(in_channels/groups) + c4 ln(out_channels/groups)
 *             + c5 ln kernel_size + c6 [stride > 1] + c7 [dilation > 1]
 *
 * (GFLOP and MB as conv1d_desc_flops and conv1d_desc_min_bytes count them). A power law in FLOPs and bytes
 * is a roofline that may bend (a compute-bound shape has c1 near 1, a memory-bound one c2 near 1); the channel
 * and kernel terms carry what a kernel's tiles waste or gain at a width (a 48-wide tile on 64 channels), the
 * flags the loop structure stride and dilation change. It is fitted (autotune/fit.c) by ridge regression
 * towards c1 = c2 = 1/2, from every variant's time on every swept shape of this machine and build, so a
 * variant measured on few shapes stays close to a plain roofline, and stored in the results database
 * (`models`) and in an exported table. A model predicts for its own kind and layout only, and only when it
 * saw at least C1_MODEL_MIN_SAMPLES shapes of them; the dispatcher then ranks every applicable variant that
 * has such a model by its predicted time.
 */
#ifndef CONV1D_MODEL_H
#define CONV1D_MODEL_H

#include <stddef.h>

#include "conv1d.h"

#define C1_MODEL_FEATURES 8
/* A model fitted on fewer shapes of its kind and layout predicts nothing. */
#define C1_MODEL_MIN_SAMPLES 4

typedef enum c1_shape_kind { C1_KIND_DENSE = 0, C1_KIND_DEPTHWISE = 1, C1_KIND_GROUPED = 2 } c1_shape_kind;

c1_shape_kind c1_shape_kind_of(const conv1d_desc *d);
const char *c1_shape_kind_name(c1_shape_kind k); /* "dense", "depthwise", "grouped" */

typedef struct c1_model {
    char variant[64];
    char device[8];     /* "cpu", "cuda" */
    char precision[8];  /* "fp32", ... */
    conv1d_layout layout;
    c1_shape_kind kind;
    int samples;        /* shapes it was fitted on */
    double rms;         /* root mean square residual of ln t over those shapes */
    double coef[C1_MODEL_FEATURES];
} c1_model;

/* The features above for a valid *d. */
void c1_model_features(const conv1d_desc *d, double f[C1_MODEL_FEATURES]);

/* exp(coef . features): the predicted median in milliseconds. */
double c1_model_predict_ms(const c1_model *m, const conv1d_desc *d);

/* Whether m speaks for *d: same layout and kind, enough samples, finite coefficients. */
int c1_model_covers(const c1_model *m, const conv1d_desc *d);

#endif
