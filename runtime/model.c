/* The time model of variants (model.h): features, prediction, ranking. The fit is the tuner's (autotune/fit.c). */
#include "model.h"

#include <math.h>

c1_shape_kind c1_shape_kind_of(const conv1d_desc *d)
{
    if (d->num_groups == 1) return C1_KIND_DENSE;
    return d->num_groups == d->in_channels ? C1_KIND_DEPTHWISE : C1_KIND_GROUPED;
}

const char *c1_shape_kind_name(c1_shape_kind k)
{
    return k == C1_KIND_DEPTHWISE ? "depthwise" : k == C1_KIND_GROUPED ? "grouped" : "dense";
}

void c1_model_features(const conv1d_desc *d, double f[C1_MODEL_FEATURES])
{
    const double g = (double)d->num_groups;
    f[0] = 1.0;
    f[1] = log(fmax(conv1d_desc_flops(d), 1.0) * 1e-9);
    f[2] = log(fmax(conv1d_desc_min_bytes(d), 1.0) * 1e-6);
    f[3] = log((double)d->in_channels / g);
    f[4] = log((double)d->out_channels / g);
    f[5] = log((double)d->kernel_size);
    f[6] = d->stride > 1 ? 1.0 : 0.0;
    f[7] = d->dilation > 1 ? 1.0 : 0.0;
}

double c1_model_predict_ms(const c1_model *m, const conv1d_desc *d)
{
    double f[C1_MODEL_FEATURES], z = 0.0;
    c1_model_features(d, f);
    for (int i = 0; i < C1_MODEL_FEATURES; i++) z += m->coef[i] * f[i];
    return exp(z);
}

int c1_model_covers(const c1_model *m, const conv1d_desc *d)
{
    if (m->layout != d->layout || m->kind != c1_shape_kind_of(d) || m->samples < C1_MODEL_MIN_SAMPLES) return 0;
    for (int i = 0; i < C1_MODEL_FEATURES; i++)
        if (!isfinite(m->coef[i])) return 0;
    return 1;
}
