/*
 * The reference: direct convolution accumulating in double, every field, both layouts. It is what every
 * other variant is checked against, so it favours obviousness over speed; it is also the runtime's last
 * resort. Weights are copied at prepare so the caller's buffers need not outlive it.
 */
#include <stdlib.h>
#include <string.h>

#include "conv1d_ref.h"
#include "half.h"
#include "error.h"
#include "variant.h"

/* Weights as double in [group][tap][channel of group][output channel of group], whatever the layout. */
void c1_ref_pack_weights(const conv1d_desc *d, const float *w, double *wd)
{
    const int64_t K = d->out_channels, G = d->num_groups, Cg = d->in_channels / G, Kg = K / G, R = d->kernel_size;
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < R; r++) {
                /* NWC: w[r][c][k];  NCW: w[k][c][r] */
                const float v = d->layout == CONV1D_LAYOUT_NWC ? w[(r * Cg + c) * K + k] : w[(k * Cg + c) * R + r];
                wd[((k / Kg * R + r) * Cg + c) * Kg + k % Kg] = v;
            }
}

void c1_ref_conv1d_packed(const conv1d_desc *d, const float *x, const double *wd, const float *bias, double *y)
{
    const int64_t L = d->length, OL = conv1d_output_length(d);
    const int64_t C = d->in_channels, K = d->out_channels, G = d->num_groups;
    const int64_t Cg = C / G, Kg = K / G, R = d->kernel_size;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    /* y(n, k, o) lives at yo + k * ys: contiguous over k in NWC, strided by the output length in NCW. */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t o = 0; o < OL; o++) {
            double *yo = nwc ? y + (n * OL + o) * K : y + n * K * OL + o;
            const int64_t ys = nwc ? 1 : OL;
            for (int64_t k = 0; k < K; k++) yo[k * ys] = d->has_bias ? (double)bias[k] : 0.0;
            if (Kg == 1) {
                /* One output channel per group (depthwise): only the taps inside the input, r in [r0, r1) reading
                 * positions first + r*dilation, summed in registers rather than in y, 64 taps at a time so the
                 * block's input rows stay in cache over the channels (NWC); long kernels (Hyena's k = L: 10^10
                 * taps) then take seconds rather than minutes. */
                const int64_t first = o * d->stride - d->pad_left, dil = d->dilation;
                int64_t r0 = 0, r1 = R;
                if (first < 0) r0 = (-first + dil - 1) / dil;                            /* first tap with i >= 0 */
                if (first > L - 1) r1 = 0;                                               /* no tap inside */
                else if ((L - 1 - first) / dil + 1 < R) r1 = (L - 1 - first) / dil + 1; /* last with i < L */
                const int64_t xs = nwc ? C * dil : dil;                                  /* between taps */
                for (int64_t rb = r0; rb < r1; rb += 64) {
                    const int64_t nr = r1 - rb < 64 ? r1 - rb : 64;
                    for (int64_t ci = 0; ci < C; ci++) {
                        const int64_t g = ci / Cg, c = ci % Cg, i = first + rb * dil;
                        const float *xc = nwc ? x + (n * L + i) * C + ci : x + (n * C + ci) * L + i;
                        const double *wc = wd + (g * R + rb) * Cg + c; /* tap rb + j at wc[j * Cg] */
                        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
                        int64_t j = 0;
                        for (; j + 4 <= nr; j += 4) {
                            a0 += xc[j * xs] * wc[j * Cg];
                            a1 += xc[(j + 1) * xs] * wc[(j + 1) * Cg];
                            a2 += xc[(j + 2) * xs] * wc[(j + 2) * Cg];
                            a3 += xc[(j + 3) * xs] * wc[(j + 3) * Cg];
                        }
                        for (; j < nr; j++) a0 += xc[j * xs] * wc[j * Cg];
                        yo[g * ys] += (a0 + a1) + (a2 + a3);
                    }
                }
                continue;
            }
            for (int64_t g = 0; g < G; g++) {
                for (int64_t r = 0; r < R; r++) {
                    const int64_t i = o * d->stride - d->pad_left + r * d->dilation;
                    if (i < 0 || i >= L) continue; /* zero padding */
                    for (int64_t c = 0; c < Cg; c++) {
                        const int64_t ci = g * Cg + c;
                        const double xv = nwc ? x[(n * L + i) * C + ci] : x[(n * C + ci) * L + i];
                        const double *wr = wd + ((g * R + r) * Cg + c) * Kg;
                        double *yg = yo + g * Kg * ys;
                        for (int64_t kk = 0; kk < Kg; kk++) yg[kk * ys] += xv * wr[kk];
                    }
                }
            }
        }
}

conv1d_status c1_ref_conv1d_f64(const conv1d_desc *d, const float *x, const float *w, const float *bias, double *y)
{
    double *wd = malloc((size_t)conv1d_weight_elems(d) * sizeof *wd);
    if (!wd) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the reference's %lld weights.",
                            (long long)conv1d_weight_elems(d));
    c1_ref_pack_weights(d, w, wd);
    c1_ref_conv1d_packed(d, x, wd, bias, y);
    free(wd);
    return CONV1D_OK;
}

typedef struct ref_state {
    conv1d_desc d;
    double *w;   /* packed by c1_ref_pack_weights */
    float *bias; /* NULL without bias */
} ref_state;

static conv1d_status ref_supports(const c1_variant *v, const conv1d_desc *d)
{
    (void)v;
    (void)d;
    return CONV1D_OK;
}

static void ref_release(void *state)
{
    ref_state *s = state;
    if (!s) return;
    free(s->w);
    free(s->bias);
    free(s);
}

/* Element i of p, of dtype t, as float (exact). ref serves fp32, ref_bf16 and ref_f16 their 16-bit classes. */
static float widen(conv1d_dtype t, const void *p, int64_t i)
{
    if (t == CONV1D_F32) return ((const float *)p)[i];
    const uint16_t h = ((const uint16_t *)p)[i];
    return c1_half_to_f32(t, h);
}

static conv1d_status ref_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                 const void *w, const void *bias, void **state)
{
    (void)v;
    ref_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the reference variant's state.");
    s->d = *d;
    const int64_t nw = conv1d_weight_elems(d);
    size_t wbytes = (size_t)nw * sizeof(double);
    s->w = malloc(wbytes);
    float *wf = d->dtype == CONV1D_F32 ? NULL : calloc((size_t)nw, sizeof(float));
    if (d->has_bias) s->bias = malloc((size_t)d->out_channels * sizeof(float));
    if (!s->w || (d->dtype != CONV1D_F32 && !wf) || (d->has_bias && !s->bias)) {
        free(wf);
        ref_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate %zu bytes for the reference variant's weights.",
                       wbytes);
    }
    for (int64_t i = 0; wf && i < nw; i++) wf[i] = widen(d->dtype, w, i); /* exact */
    c1_ref_pack_weights(d, wf ? wf : (const float *)w, s->w);
    free(wf);
    for (int64_t k = 0; d->has_bias && k < d->out_channels; k++) s->bias[k] = widen(d->dtype, bias, k);
    *state = s;
    return CONV1D_OK;
}

/* The double accumulators (and, for a 16-bit dtype, the input widened to float) live in the caller's
 * workspace, so run allocates nothing. */
static size_t ref_workspace_bytes(const void *state)
{
    const ref_state *s = state;
    const size_t acc = (size_t)conv1d_output_elems(&s->d) * sizeof(double);
    return acc + (s->d.dtype == CONV1D_F32 ? 0 : (size_t)conv1d_input_elems(&s->d) * sizeof(float));
}

/* Accumulated in double and rounded once to the output's dtype. */
static conv1d_status ref_run(const void *state, const void *x, void *y, void *workspace)
{
    const ref_state *s = state;
    const conv1d_dtype t = s->d.dtype;
    const int64_t n = conv1d_output_elems(&s->d), nx = conv1d_input_elems(&s->d);
    double *acc = workspace;
    const float *xf = x;
    if (t != CONV1D_F32) {
        float *wide = (float *)(acc + n);
        for (int64_t i = 0; i < nx; i++) wide[i] = widen(t, x, i);
        xf = wide;
    }
    c1_ref_conv1d_packed(&s->d, xf, s->w, s->bias, acc);
    if (t == CONV1D_F32)
        for (int64_t i = 0; i < n; i++) ((float *)y)[i] = (float)acc[i];
    else
        for (int64_t i = 0; i < n; i++) ((uint16_t *)y)[i] = t == CONV1D_BF16 ? c1_f64_to_bf16(acc[i]) : c1_f64_to_f16(acc[i]);
    return CONV1D_OK;
}

const c1_variant_ops c1_ref_ops = {
    .supports = ref_supports,
    .prepare = ref_prepare,
    .workspace_bytes = ref_workspace_bytes,
    .run = ref_run,
    .release = ref_release,
};
