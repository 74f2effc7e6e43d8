/*
 * conv1d-tune run: one convolution on .npy files, through the tuned dispatcher or one named variant.
 *
 * The descriptor's dtype (dtype= in --shape, or --dtype) decides the element type of every file: float32,
 * float16, or bfloat16 as NumPy users hold it (ml_dtypes.bfloat16, or its raw uint16 bits); the forms each
 * dtype may take are npy.h's. The output is written in the input's form, so raw bits come back as raw bits.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basics.h"
#include "cli.h"
#include "npy.h"
#include "precision.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

static const char *sub = "run";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: conv1d-tune run --shape DESC [--layout nwc|ncw] [--dtype T] [--variant NAME | --db PATH]\n"
            "                       --x X.npy --w W.npy [--b B.npy] --y Y.npy [--verbose]\n\n"
            "Computes y = conv1d(x, w) [+ b] and writes y, with the variant libconv1d's dispatcher chooses for this\n"
            "machine (conv1d_plan_create: CONV1D_VARIANT, results database, nearest tuned shape, rules) or with\n"
            "the one --variant names. All files are C order, of the descriptor's dtype:\n"
            "  f32   <f4 (numpy.float32)\n"
            "  f16   <f2 (numpy.float16)\n"
            "  bf16  ml_dtypes.bfloat16 (np.save writes it as <V2; the descr 'bfloat16' is read too), or its raw\n"
            "        bits as <u2 (arr.view(np.uint16))\n"
            "y is written in the same dtype: bf16 under ml_dtypes' name, which np.load returns as bfloat16 once\n"
            "ml_dtypes is imported, or as <u2 when x was given as <u2. Shapes:\n"
            "  nwc: x (batch, length, in_channels)  w (kernel_size, in_channels/groups, out_channels)\n"
            "       y (batch, out_length, out_channels)\n"
            "  ncw: x (batch, in_channels, length)  w (out_channels, in_channels/groups, kernel_size)\n"
            "       y (batch, out_channels, out_length)\n"
            "  b (out_channels,)\n\n"
            "options:\n"
            "  --shape DESC       the convolution (key=value or benchdnn form; see conv1d-tune describe)\n"
            "  --layout nwc|ncw   override the descriptor's layout\n"
            "  --dtype T          override the descriptor's dtype: f32, bf16 or f16 (or float32, bfloat16, float16)\n"
            "  --variant NAME     this implementation (conv1d-tune list) instead of the dispatcher's choice\n"
            "  --db PATH          the database the dispatcher reads (default: $CONV1D_DB, else results/conv1d.db)\n"
            "  --x, --w FILE      input and weights\n"
            "  --b FILE           bias; its presence turns the bias on, whatever DESC says about bias\n"
            "  --y FILE           the output, written atomically (replaced if it exists)\n"
            "  --verbose          say what ran, why (the dispatcher's explanation) and how long it took, on stderr\n"
            "  --help             this text\n");
}

typedef struct tensor_shape {
    int64_t shape[3];
    const char *axes;
} tensor_shape;

/* A status from reading inputs: out of memory is the machine's problem (1), anything else the input's (2). */
static int input_exit(conv1d_status st) { return st == CONV1D_OUT_OF_MEMORY ? C1_EXIT_FAILURE : C1_EXIT_USAGE; }

/* Reads a .npy that must hold tensors of dtype t (in one of its forms, returned in *form), C order, of the
 * given shape; the message says what it has instead. */
static int load(const char *opt, const char *path, conv1d_dtype t, int ndim, const int64_t *shape, const char *axes,
                const char *layout, c1_npy *a, c1_npy_form *form)
{
    conv1d_status st = c1_npy_read(path, a);
    if (st != CONV1D_OK) return c1_cli_error(input_exit(st), sub, "%s: %s", opt, conv1d_last_error());
    if ((*form = c1_npy_form_of(a, t)) == C1_NPY_NOT_DTYPE)
        return c1_cli_error(C1_EXIT_USAGE, sub, "%s %s has dtype %s, expected %s for dtype=%s.", opt, path, a->descr,
                            c1_npy_forms_text(t), conv1d_dtype_name(t));
    if (a->fortran_order)
        return c1_cli_error(C1_EXIT_USAGE, sub, "%s %s is Fortran-ordered, expected C order (np.ascontiguousarray).",
                            opt, path);
    if (a->ndim != ndim || memcmp(a->shape, shape, (size_t)ndim * sizeof *shape) != 0) {
        char have[1600], want[128];
        c1_npy_format_shape(have, sizeof have, a->ndim, a->shape);
        c1_npy_format_shape(want, sizeof want, ndim, shape);
        return c1_cli_error(C1_EXIT_USAGE, sub, "%s %s has shape %s, expected %s = %s for layout %s.", opt, path, have,
                            want, axes, layout);
    }
    return C1_EXIT_OK;
}

static int unknown_variant(const char *name)
{
    size_t n, len = 0;
    const c1_variant *v = c1_variant_list(&n);
    for (size_t i = 0; i < n; i++) len += strlen(v[i].name) + 2;
    char *names = calloc(1, len + 1);
    if (!names) return c1_cli_error(C1_EXIT_USAGE, sub, "unknown variant '%s'.", name);
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(names, ", ");
        strcat(names, v[i].name);
    }
    int rc = c1_cli_error(C1_EXIT_USAGE, sub, "unknown variant '%s'; known variants: %s.", name, names);
    free(names);
    return rc;
}


#ifdef C1_HAVE_CUDA
/* CUDA variants take device pointers (and device workspace): stage x and y through device memory. */
static conv1d_status run_on_device(const c1_variant *v, const void *state, const c1_npy *x, void *y, size_t ybytes,
                                   size_t ws_bytes)
{
    void *dx = NULL, *dy = NULL, *dws = NULL;
    conv1d_status st = CONV1D_DEVICE_ERROR;
    cudaError_t e;
    if ((e = cudaMalloc(&dx, x->nbytes ? x->nbytes : 1)) != cudaSuccess ||
        (e = cudaMalloc(&dy, ybytes ? ybytes : 1)) != cudaSuccess ||
        (ws_bytes && (e = cudaMalloc(&dws, ws_bytes)) != cudaSuccess) ||
        (e = cudaMemcpy(dx, x->data, x->nbytes, cudaMemcpyHostToDevice)) != cudaSuccess) {
        c1_cli_error(C1_EXIT_FAILURE, sub, "CUDA: %s.", cudaGetErrorString(e));
        goto done;
    }
    if ((st = v->ops->run(state, dx, dy, dws)) != CONV1D_OK) {
        c1_cli_error(C1_EXIT_FAILURE, sub, "variant %s failed: %s", v->name, conv1d_last_error());
        goto done;
    }
    if ((e = cudaDeviceSynchronize()) != cudaSuccess ||
        (e = cudaMemcpy(y, dy, ybytes, cudaMemcpyDeviceToHost)) != cudaSuccess) {
        st = CONV1D_DEVICE_ERROR;
        c1_cli_error(C1_EXIT_FAILURE, sub, "CUDA: %s.", cudaGetErrorString(e));
    }
done:
    cudaFree(dx);
    cudaFree(dy);
    cudaFree(dws);
    return st;
}
#endif

/* The dispatcher's way: plan (the choice), set the weights, execute. */
static int run_planned(const conv1d_desc *d, const char *db, const c1_npy *x, const c1_npy *w, const c1_npy *b,
                       void *y, conv1d_plan **plan)
{
    conv1d_options o;
    conv1d_options_init(&o);
    o.db_path = db;
    if (conv1d_plan_create(plan, d, &o) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_FAILURE, sub, "no plan: %s", conv1d_last_error());
    if (conv1d_plan_set_weights(*plan, w->data, b ? b->data : NULL) != CONV1D_OK ||
        conv1d_execute(*plan, x->data, y) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_FAILURE, sub, "variant %s failed: %s", conv1d_plan_variant(*plan),
                            conv1d_last_error());
    return C1_EXIT_OK;
}

int c1_cmd_run(int argc, char **argv)
{
    enum { OPT_SHAPE = 256, OPT_LAYOUT, OPT_VARIANT, OPT_X, OPT_W, OPT_B, OPT_Y, OPT_VERBOSE, OPT_DB, OPT_DTYPE };
    static const struct option options[] = {
        {"shape", required_argument, NULL, OPT_SHAPE}, {"layout", required_argument, NULL, OPT_LAYOUT},
        {"variant", required_argument, NULL, OPT_VARIANT}, {"x", required_argument, NULL, OPT_X},
        {"w", required_argument, NULL, OPT_W}, {"b", required_argument, NULL, OPT_B},
        {"y", required_argument, NULL, OPT_Y}, {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"db", required_argument, NULL, OPT_DB}, {"dtype", required_argument, NULL, OPT_DTYPE},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *shape = NULL, *layout = NULL, *variant = NULL, *db = NULL, *dtype = NULL;
    const char *xp = NULL, *wp = NULL, *bp = NULL, *yp = NULL;
    int verbose = 0, c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_SHAPE: shape = optarg; break;
        case OPT_LAYOUT: layout = optarg; break;
        case OPT_VARIANT: variant = optarg; break;
        case OPT_X: xp = optarg; break;
        case OPT_W: wp = optarg; break;
        case OPT_B: bp = optarg; break;
        case OPT_Y: yp = optarg; break;
        case OPT_VERBOSE: verbose = 1; break;
        case OPT_DB: db = optarg; break;
        case OPT_DTYPE: dtype = optarg; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, sub, "option %s needs a value.", argv[optind - 1]);
        default: return c1_cli_error(C1_EXIT_USAGE, sub, "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, sub, "unexpected argument '%s'.", argv[optind]);
    const char *missing = !shape ? "--shape DESC" : !xp ? "--x FILE" : !wp ? "--w FILE" : !yp ? "--y FILE" : NULL;
    if (missing) return c1_cli_error(C1_EXIT_USAGE, sub, "%s is required (see --help).", missing);

    conv1d_desc d;
    int rc = c1_cli_shape(sub, shape, layout, &d);
    if (rc != C1_EXIT_OK) return rc;
    if (dtype && !c1_dtype_parse(dtype, &d.dtype))
        return c1_cli_error(C1_EXIT_USAGE, sub, "--dtype must be f32, bf16 or f16 (or float32, bfloat16, float16), "
                            "got '%s'.", dtype);
    d.has_bias = bp != NULL;
    if ((rc = c1_cli_check_size(sub, &d)) != C1_EXIT_OK) return rc;
    if (variant && db) return c1_cli_error(C1_EXIT_USAGE, sub, "--db is for the dispatcher; --variant bypasses it.");
    const c1_variant *v = NULL;
    if (variant) {
        if (!(v = c1_variant_find(variant))) return unknown_variant(variant);
        if (c1_variant_applies(v, &d) != CONV1D_OK)
            return c1_cli_error(C1_EXIT_USAGE, sub, "variant %s does not apply: %s", v->name, conv1d_last_error());
    }

    /* The expected shapes of x, w and y, as conv1d.h gives them per layout. */
    const int nwc = d.layout == CONV1D_LAYOUT_NWC;
    const char *lname = nwc ? "nwc" : "ncw";
    const int64_t ol = conv1d_output_length(&d), cg = d.in_channels / d.num_groups;
    const tensor_shape nwc_shapes[3] = {
        {{d.batch, d.length, d.in_channels}, "(batch, length, in_channels)"},
        {{d.kernel_size, cg, d.out_channels}, "(kernel_size, in_channels/groups, out_channels)"},
        {{d.batch, ol, d.out_channels}, "(batch, out_length, out_channels)"},
    };
    const tensor_shape ncw_shapes[3] = {
        {{d.batch, d.in_channels, d.length}, "(batch, in_channels, length)"},
        {{d.out_channels, cg, d.kernel_size}, "(out_channels, in_channels/groups, kernel_size)"},
        {{d.batch, d.out_channels, ol}, "(batch, out_channels, out_length)"},
    };
    const tensor_shape *ts = nwc ? nwc_shapes : ncw_shapes;

    c1_npy x = {0}, w = {0}, b = {0};
    c1_npy_form xform = C1_NPY_NATIVE, form;
    void *y = NULL;
    void *state = NULL, *ws = NULL;
    conv1d_plan *plan = NULL;
    char canonical[512];
    conv1d_desc_format(&d, canonical, sizeof canonical);
    if ((rc = load("--x", xp, d.dtype, 3, ts[0].shape, ts[0].axes, lname, &x, &xform)) != C1_EXIT_OK ||
        (rc = load("--w", wp, d.dtype, 3, ts[1].shape, ts[1].axes, lname, &w, &form)) != C1_EXIT_OK ||
        (bp && (rc = load("--b", bp, d.dtype, 1, &d.out_channels, "(out_channels,)", lname, &b, &form)) != C1_EXIT_OK))
        goto done;
    /* y in x's form: raw bits in, raw bits out */
    const char *ydescr = c1_npy_descr_of(d.dtype, xform);

    rc = C1_EXIT_FAILURE;
    const size_t ycount = (size_t)conv1d_output_elems(&d), esize = conv1d_dtype_size(d.dtype);
    const size_t ybytes = ycount * esize;
    if (!(y = malloc(ybytes ? ybytes : 1))) {
        c1_cli_error(rc, sub, "cannot allocate %zu bytes for the output.", ybytes);
        goto done;
    }
    /* A variant that skips outputs shows up as NaN, not stale memory: all-ones bits are a NaN in every dtype. */
    memset(y, 0xff, ybytes);
    double t0 = c1_now_s() * 1e3;
    if (!v) {
        if (run_planned(&d, db, &x, &w, bp ? &b : NULL, y, &plan) != C1_EXIT_OK) goto done;
        double t2 = c1_now_s() * 1e3;
        if (c1_npy_write(yp, ydescr, y, 3, ts[2].shape) != CONV1D_OK) {
            c1_cli_error(rc, sub, "%s", conv1d_last_error());
            goto done;
        }
        if (verbose) {
            char yshape[128];
            c1_npy_format_shape(yshape, sizeof yshape, 3, ts[2].shape);
            fprintf(stderr, "shape:     %s\nvariant:   %s\nchosen:    %s\nplan+run:  %.3f ms (one cold run)\n"
                            "wrote:     %s %s %s\n",
                    canonical, conv1d_plan_variant(plan), conv1d_plan_explain(plan), t2 - t0, yp, yshape, ydescr);
        }
        rc = C1_EXIT_OK;
        goto done;
    }
    if (v->ops->prepare(v, &d, NULL, w.data, bp ? b.data : NULL, &state) != CONV1D_OK) {
        c1_cli_error(rc, sub, "variant %s failed to prepare: %s", v->name, conv1d_last_error());
        goto done;
    }
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    double t1 = c1_now_s() * 1e3;
    if (v->device == C1_DEVICE_CUDA) {
#ifdef C1_HAVE_CUDA
        if (run_on_device(v, state, &x, y, ybytes, ws_bytes) != CONV1D_OK) goto done;
#else
        c1_cli_error(rc, sub, "variant %s needs CUDA, which this build lacks.", v->name);
        goto done;
#endif
    } else {
        if (ws_bytes && !(ws = malloc(ws_bytes))) {
            c1_cli_error(rc, sub, "cannot allocate the %zu-byte workspace of variant %s.", ws_bytes, v->name);
            goto done;
        }
        if (v->ops->run(state, x.data, y, ws) != CONV1D_OK) {
            c1_cli_error(rc, sub, "variant %s failed: %s", v->name, conv1d_last_error());
            goto done;
        }
    }
    double t2 = c1_now_s() * 1e3;
    if (c1_npy_write(yp, ydescr, y, 3, ts[2].shape) != CONV1D_OK) {
        c1_cli_error(rc, sub, "%s", conv1d_last_error());
        goto done;
    }
    if (verbose) {
        const char *info = v->ops->impl_info ? v->ops->impl_info(state) : NULL;
        char yshape[128];
        c1_npy_format_shape(yshape, sizeof yshape, 3, ts[2].shape);
        fprintf(stderr, "shape:     %s\nvariant:   %s%s%s%s\nprepare:   %.3f ms\nrun:       %.3f ms (one cold run)\n"
                        "wrote:     %s %s %s\n",
                canonical, v->name, info ? " (" : "", info ? info : "", info ? ")" : "", t1 - t0, t2 - t1, yp, yshape, ydescr);
    }
    rc = C1_EXIT_OK;
done:
    if (state) v->ops->release(state);
    conv1d_plan_destroy(plan);
    free(ws);
    free(y);
    c1_npy_free(&x);
    c1_npy_free(&w);
    c1_npy_free(&b);
    return rc;
}
