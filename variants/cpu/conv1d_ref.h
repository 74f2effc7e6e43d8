/* Internal: the double-precision reference convolution, shared by the ref variant and the checker. */
#ifndef CONV1D_REF_H
#define CONV1D_REF_H

#include "conv1d.h"

/* y (output elements of d, in d's layout) = conv(x, w) + bias, accumulated in double. d must be valid;
 * bias is read only when d->has_bias. */
void c1_ref_conv1d_f64(const conv1d_desc *d, const float *x, const float *w, const float *bias, double *y);

#endif
