/*
 * conv1d-tune bench-dispatch: what the dispatcher costs. Execute through a plan versus calling the same
 * variant's run() directly on a tiny shape (where the overhead would show), and conv1d_plan_create's time
 * against a database of many tuned shapes (an exact hit, and an untuned shape decided by the tuned shapes nearby,
 * the first time in a process and later).
 */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "build_info.h"
#include "cli.h"
#include "fit.h"
#include "lookup.h"
#include "store.h"
#include "variant.h"

static const char *sub = "bench-dispatch";

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune bench-dispatch [--iters N] [--shapes N]\n\n"
               "Measures the dispatcher's overhead: conv1d_execute through a plan versus the chosen variant's\n"
               "run() called directly on a tiny shape (best of 5 rounds of N calls each), and conv1d_plan_create\n"
               "against a temporary database holding winners for N random shapes on this machine and build.\n\n"
               "options:\n"
               "  --iters N    calls per round (default 200000)\n"
               "  --shapes N   tuned shapes in the temporary database (default 5000)\n"
               "  --help       this text\n");
}



static int64_t pick(uint64_t *s, const int64_t *values, int n) { return values[c1_splitmix64(s) % (uint64_t)n]; }

/* A database with winners for n random shapes of this machine and build, in one transaction; with
 * `measured`, instead two measurements per shape (the would-be winner and the reference) and the time models
 * fitted from them. */
static conv1d_status make_db(const char *path, int n, bool measured, conv1d_desc *last)
{
    static const int64_t lengths[] = {64, 100, 250, 500, 1000, 2048, 3000, 4096, 16000};
    static const int64_t channels[] = {1, 16, 32, 64, 80, 128, 256, 384, 512, 768, 1024};
    static const int64_t kernels[] = {1, 2, 3, 4, 5, 7, 9, 31};
    c1_store s;
    conv1d_status st = c1_store_open(&s, path, true);
    if (st != CONV1D_OK) return st;
    const c1_build_info *b = c1_build_info_get();
    c1_store_hardware hw = {.fingerprint = c1_machine_fingerprint(), .record_json = "{}"};
    c1_store_build bu = {b->signature, b->version, b->compiler, b->onednn, b->cuda, b->cudnn, b->variants};
    int64_t hw_id, build_id, run_id;
    uint64_t seed = 1;
    if ((st = c1_store_begin(&s)) == CONV1D_OK && (st = c1_store_hardware_id(&s, &hw, &hw_id)) == CONV1D_OK &&
        (st = c1_store_build_id(&s, &bu, &build_id)) == CONV1D_OK)
        st = c1_store_run_start(&s, hw_id, build_id, "bench-dispatch", &run_id);
    for (int i = 0; i < n && st == CONV1D_OK;) {
        conv1d_desc d;
        conv1d_desc_init(&d);
        d.batch = 1 + (int64_t)(c1_splitmix64(&seed) % 4);
        d.length = pick(&seed, lengths, 9);
        d.in_channels = pick(&seed, channels, 11);
        d.out_channels = c1_splitmix64(&seed) % 4 ? pick(&seed, channels, 11) : d.in_channels;
        d.kernel_size = pick(&seed, kernels, 8);
        d.stride = 1 + (int64_t)(c1_splitmix64(&seed) % 2);
        d.pad_left = d.pad_right = d.kernel_size / 2;
        d.num_groups = c1_splitmix64(&seed) % 5 == 0 ? d.in_channels : 1;
        if (d.num_groups > 1) d.out_channels = d.in_channels;
        d.has_bias = (int)(c1_splitmix64(&seed) % 2);
        d.layout = c1_splitmix64(&seed) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
        if (conv1d_desc_validate(&d) != CONV1D_OK) continue;
        int64_t shape_id;
        if ((st = c1_store_shape_id(&s, &d, &shape_id)) != CONV1D_OK) break;
        c1_store_winner w = {.hardware_id = hw_id, .build_id = build_id, .shape_id = shape_id, .run_id = run_id,
                             .device = "cpu", .precision = "fp32",
                             .variant = d.num_groups > 1 ? "depthwise__c" : "direct_4x8__c", .median_ms = 1.0,
                             .p10_ms = 1.0, .p90_ms = 1.0, .peer_median_ms = NAN};
        /* The measured database holds no winners: no tuned shape is near, so the time models decide. */
        if (!measured) st = c1_store_set_winner(&s, &w);
        for (int k = 0; measured && k < 2 && st == CONV1D_OK; k++) {
            c1_store_measurement m = {.run_id = run_id, .shape_id = shape_id, .hardware_id = hw_id,
                                      .build_id = build_id, .variant = k ? "ref" : w.variant,
                                      .family = k ? "ref" : d.num_groups > 1 ? "depthwise" : "direct",
                                      .device = "cpu", .precision = "fp32", .status = "ok", .rel_err = NAN,
                                      .rel_l2 = NAN, .median_ms = conv1d_desc_flops(&d) * (k ? 2e-8 : 1e-8),
                                      .p10_ms = NAN, .p90_ms = NAN, .ci_lo_ms = NAN, .ci_hi_ms = NAN, .wall_s = NAN};
            st = c1_store_add_measurement(&s, &m);
        }
        *last = d;
        i++;
    }
    if (st == CONV1D_OK) st = c1_store_commit(&s);
    else c1_store_rollback(&s);
    if (st == CONV1D_OK && measured) st = c1_fit_store(&s, hw_id, build_id, NULL);
    c1_store_close(&s);
    return st;
}

/* Mean seconds of conv1d_plan_create + destroy over `reps`. */
static double time_create(const conv1d_desc *d, const conv1d_options *o, int reps, char *variant, size_t size)
{
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        conv1d_plan *p;
        double t0 = c1_now_s();
        if (conv1d_plan_create(&p, d, o) != CONV1D_OK) return NAN;
        double t = c1_now_s() - t0;
        snprintf(variant, size, "%s", conv1d_plan_variant(p));
        conv1d_plan_destroy(p);
        if (t < best) best = t;
    }
    return best;
}

int c1_cmd_bench_dispatch(int argc, char **argv)
{
    enum { OPT_ITERS = 256, OPT_SHAPES };
    static const struct option options[] = {
        {"iters", required_argument, NULL, OPT_ITERS}, {"shapes", required_argument, NULL, OPT_SHAPES},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    long iters = 200000, shapes = 5000;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        char *end;
        switch (c) {
        case OPT_ITERS:
        case OPT_SHAPES: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000000)
                return c1_cli_error(C1_EXIT_USAGE, sub, "%s must be a positive count, got '%s'.",
                                    c == OPT_ITERS ? "--iters" : "--shapes", optarg);
            *(c == OPT_ITERS ? &iters : &shapes) = v;
            break;
        }
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, sub, "option %s needs a value.", argv[optind - 1]);
        default: return c1_cli_error(C1_EXIT_USAGE, sub, "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, sub, "unexpected argument '%s'.", argv[optind]);

    double t_fp = c1_now_s();
    c1_machine_fingerprint();
    t_fp = c1_now_s() - t_fp;

    /* 1. execute overhead on a tiny shape, single-threaded so the OpenMP team does not dominate. */
    conv1d_desc d;
    conv1d_desc_parse("batch=1,length=16,in_channels=4,out_channels=4,kernel_size=3,padding=1", &d);
    conv1d_options o;
    conv1d_options_init(&o);
    o.mode = CONV1D_MODE_ESTIMATE;
    o.threads = 1;
    conv1d_plan *p = NULL;
    float x[64], w[48], y[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 48; i++) w[i] = (float)(i % 5) - 2.0f;
    if (conv1d_plan_create(&p, &d, &o) != CONV1D_OK || conv1d_plan_set_weights(p, w, NULL) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_FAILURE, sub, "%s", conv1d_last_error());
    const c1_variant *v = c1_variant_find(conv1d_plan_variant(p));
    void *state = NULL, *ws = NULL;
    if (!v || v->ops->prepare(v, &d, NULL, w, NULL, &state) != CONV1D_OK) {
        conv1d_plan_destroy(p);
        return c1_cli_error(C1_EXIT_FAILURE, sub, "preparing the variant: %s", conv1d_last_error());
    }
    size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    if (ws_bytes && !(ws = malloc(ws_bytes))) {
        v->ops->release(state);
        conv1d_plan_destroy(p);
        return c1_cli_error(C1_EXIT_FAILURE, sub, "out of memory.");
    }
    double best_plan = INFINITY, best_direct = INFINITY;
    for (int round = 0; round < 5; round++) {
        double t0 = c1_now_s();
        for (long i = 0; i < iters; i++) conv1d_execute(p, x, y);
        double t1 = c1_now_s();
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        for (long i = 0; i < iters; i++) v->ops->run(state, x, y, ws);
        omp_set_num_threads(saved);
        double t2 = c1_now_s();
        best_plan = fmin(best_plan, (t1 - t0) / (double)iters);
        best_direct = fmin(best_direct, (t2 - t1) / (double)iters);
    }
    printf("execute, tiny shape (%s, 1 thread, best of 5 x %ld calls):\n", v->name, iters);
    printf("  through the plan   %8.1f ns/call\n  variant run()      %8.1f ns/call\n"
           "  overhead           %8.1f ns/call\n",
           best_plan * 1e9, best_direct * 1e9, (best_plan - best_direct) * 1e9);
    free(ws);
    v->ops->release(state);
    conv1d_plan_destroy(p);

    /* 2. plan creation against a large database. */
    char dir[] = "/tmp/conv1d-bench-dispatch-XXXXXX", path[64];
    if (!mkdtemp(dir)) return c1_cli_error(C1_EXIT_FAILURE, sub, "cannot create a temporary directory.");
    char path_models[80];
    snprintf(path, sizeof path, "%s/many.db", dir);
    snprintf(path_models, sizeof path_models, "%s/measured.db", dir);
    conv1d_desc last;
    double t0 = c1_now_s();
    conv1d_status st = make_db(path, (int)shapes, false, &last);
    double t_fill = c1_now_s() - t0;
    if (st == CONV1D_OK) st = make_db(path_models, (int)shapes, true, &last);
    int rc = C1_EXIT_OK;
    if (st != CONV1D_OK) {
        rc = c1_cli_error(C1_EXIT_FAILURE, sub, "%s", conv1d_last_error());
    } else {
        conv1d_options_init(&o);
        o.db_path = path;
        char hit_v[128], miss_v[128], est_v[128];
        conv1d_desc miss = last;
        miss.length += 7; /* untuned: the neighbour scan reads every winner of its layout and kind */
        conv1d_options est;
        conv1d_options_init(&est);
        est.mode = CONV1D_MODE_ESTIMATE;
        double hit = time_create(&last, &o, 20, hit_v, sizeof hit_v);
        /* The first untuned plan of a process reads the shapes table; later ones use the kept copy (lookup.c). */
        double first = time_create(&miss, &o, 1, miss_v, sizeof miss_v);
        double nearest = time_create(&miss, &o, 20, miss_v, sizeof miss_v);
        double estimate = time_create(&miss, &est, 20, est_v, sizeof est_v);
        char model_v[128];
        conv1d_options om = o;
        om.db_path = path_models;
        double model = time_create(&miss, &om, 20, model_v, sizeof model_v);
        printf("plan_create, database of %ld tuned shapes (written in %.2f s), best of 20:\n", shapes, t_fill);
        printf("  exact hit          %8.3f ms  (%s)\n  time models        %8.3f ms  (%s; untuned shape, no tuned shape near, "
               "the same shapes measured and fitted)\n  neighbour scan     %8.3f ms  (%s; untuned shape, winners only; %.3f ms "
               "the first time in a process)\n"
               "  estimate mode      %8.3f ms  (%s, no database)\n"
               "  machine fingerprint %7.3f ms  (once per process, on the first plan)\n",
               hit * 1e3, hit_v, model * 1e3, model_v, nearest * 1e3, miss_v, first * 1e3, estimate * 1e3, est_v,
               t_fp * 1e3);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "conv1d-tune %s: could not remove %s\n", sub, dir);
    return rc;
}
