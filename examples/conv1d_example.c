/*
 * conv1d_example: plan a 1-D convolution with libconv1d, run it, and check it against a naive loop.
 *
 *   cc conv1d_example.c $(pkg-config --cflags --libs conv1d) -lm -o conv1d_example
 *   ./conv1d_example             (CONV1D_VERBOSE=1 also shows the dispatcher's decision)
 *
 * The plan reads the tuned winners from $CONV1D_DB or results/conv1d.db when there is one and falls back
 * to built-in rules when there is not; the result is the same either way, only the speed differs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <conv1d.h>

/* y = conv1d(x, w) + b for the NWC layout, straight from the definition, accumulated in double. */
static void naive_nwc(const conv1d_desc *d, const float *x, const float *w, const float *b, double *y)
{
    const int64_t ol = conv1d_output_length(d), cg = d->in_channels / d->num_groups,
                  og = d->out_channels / d->num_groups;
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t o = 0; o < ol; o++)
            for (int64_t oc = 0; oc < d->out_channels; oc++) {
                const int64_t g = oc / og;
                double acc = d->has_bias ? b[oc] : 0.0;
                for (int64_t k = 0; k < d->kernel_size; k++) {
                    const int64_t i = o * d->stride + k * d->dilation - d->pad_left;
                    if (i < 0 || i >= d->length) continue;
                    for (int64_t c = 0; c < cg; c++)
                        acc += (double)x[(n * d->length + i) * d->in_channels + g * cg + c] *
                               w[(k * cg + c) * d->out_channels + oc];
                }
                y[(n * ol + o) * d->out_channels + oc] = acc;
            }
}

static float *random_floats(int64_t n, unsigned *seed)
{
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) * 0x1.0p-24 * 2.0 - 1.0);
    }
    return p;
}

int main(void)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = 2;
    d.length = 1000;
    d.in_channels = 64;
    d.out_channels = 96;
    d.kernel_size = 3;
    d.pad_left = d.pad_right = 1;
    d.has_bias = 1;

    conv1d_plan *plan;
    if (conv1d_plan_create(&plan, &d, NULL) != CONV1D_OK) {
        fprintf(stderr, "conv1d_plan_create: %s\n", conv1d_last_error());
        return 1;
    }
    unsigned seed = 1;
    const int64_t ny = conv1d_output_elems(&d);
    float *x = random_floats(conv1d_input_elems(&d), &seed), *w = random_floats(conv1d_weight_elems(&d), &seed);
    float *b = random_floats(d.out_channels, &seed), *y = malloc((size_t)ny * sizeof *y);
    double *ref = malloc((size_t)ny * sizeof *ref);
    int rc = 1;
    if (!x || !w || !b || !y || !ref) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    if (conv1d_plan_set_weights(plan, w, b) != CONV1D_OK || conv1d_execute(plan, x, y) != CONV1D_OK) {
        fprintf(stderr, "conv1d: %s\n", conv1d_last_error());
        goto done;
    }
    naive_nwc(&d, x, w, b, ref);
    double max_err = 0, max_ref = 0;
    for (int64_t i = 0; i < ny; i++) {
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_err = fmax(max_err, fabs(y[i] - ref[i]));
    }
    const double rel = max_err / fmax(max_ref, 1e-30);
    printf("libconv1d %s\nvariant: %s\nwhy:     %s\nmax relative error vs a naive loop: %.2e\n",
           conv1d_version_string(), conv1d_plan_variant(plan), conv1d_plan_explain(plan), rel);
    rc = rel < 1e-5 ? 0 : 1;
    if (rc) fprintf(stderr, "conv1d_example: the result differs from the naive loop\n");
done:
    conv1d_plan_destroy(plan);
    free(x), free(w), free(b), free(y), free(ref);
    return rc;
}
