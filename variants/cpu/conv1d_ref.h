/* Internal: the double-precision reference convolution, shared by the ref variant and the checker. */
#ifndef CONV1D_REF_H
#define CONV1D_REF_H

#include "conv1d.h"

/* y (output elements of d, in d's layout) = conv(x, w) + bias, accumulated in double. d must be valid;
 * bias is read only when d->has_bias. Allocates the packed weights; CONV1D_OUT_OF_MEMORY if it cannot. */
conv1d_status c1_ref_conv1d_f64(const conv1d_desc *d, const float *x, const float *w, const float *bias, double *y);

/* The two halves of c1_ref_conv1d_f64, for callers that keep the packed weights (conv1d_weight_elems(d)
 * doubles, layout-independent). */
void c1_ref_pack_weights(const conv1d_desc *d, const float *w, double *wd);
void c1_ref_conv1d_packed(const conv1d_desc *d, const float *x, const double *wd, const float *bias, double *y);

#endif
