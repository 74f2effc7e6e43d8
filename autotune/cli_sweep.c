/*
 * conv1d-tune sweep: the main job. For each shape of a suite (or --shape list): every applicable variant
 * checked against the reference and timed, each in its own child process; every measurement and the
 * winner per (machine, build, shape, device, precision class) stored in SQLite, one transaction per shape.
 * Resumable: shapes already finished for this machine and build are skipped, so a killed or interrupted
 * sweep is finished by running the same command again.
 *
 * Devices: --device cpu, cuda or all. CUDA candidates are the registry's CUDA variants; whether this machine
 * has a usable GPU comes from the GPU probe child of c1_hw_collect (the tool never initialises CUDA itself,
 * so every measurement child can). Each winner is stored with its peer: oneDNN for the CPU, the fastest
 * correct cuDNN variant (family "cudnn") of the same precision class for CUDA.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "build_info.h"
#include "cli.h"
#include "fit.h"
#include "hwinfo.h"
#include "peaks.h"
#include "store.h"
#include "suite.h"
#include "sweep.h"
#include "tuner.h"


static const char *const sweep_usage =
    "usage: conv1d-tune sweep (--suite FILE | --shape DESC)... [options]\n\n"
    "Measures every applicable variant on each shape and records the measurements and the winners in the\n"
    "results database. Re-running the same command skips the shapes already finished for this machine and\n"
    "build, so an interrupted sweep resumes where it stopped.\n\n"
    "  --suite FILE        shapes, one descriptor per line ('#' comments); repeatable\n"
    "  --shape DESC        one shape (canonical or benchdnn form); repeatable\n"
    "  --db PATH           results database (default: $CONV1D_DB, else results/conv1d.db)\n"
    "  --device D          cpu, cuda or all (default all: every device this machine has; a machine without\n"
    "                      a usable GPU skips cuda, and --device cuda then fails)\n"
    "  --layout L          nwc, ncw, both, or as-written (default: as written in each descriptor)\n"
    "  --dtype LIST        each shape in these dtypes, comma-separated: f32, bf16, f16 (or MAX's float32,\n"
    "                      bfloat16, float16), or as-written (the default); each is tuned in its own class\n"
    "  --budget S          timing seconds per shape and device (default 3)\n"
    "  --total-budget S    stop starting new shapes after S seconds (resume later)\n"
    "  --strategy S        auto, exhaustive, random or halving (default auto)\n"
    "  --shard I/N         only shapes I, I+N, I+2N, ... of the list (1 <= I <= N)\n"
    "  --threads N         OpenMP threads per variant (default: all cores)\n"
    "  --quick             smoke run: 0.2 s per shape, one short check and a few samples per variant\n"
    "  --force             measure again shapes already finished\n"
    "  --seed N            base data seed (default: from the clock)\n"
    "  --help\n";

static volatile sig_atomic_t interrupted;
static volatile int stop_flag;

static void on_signal(int sig)
{
    interrupted = sig;
    stop_flag = 1;
}



/* Progress: a redrawn bar on a terminal, one plain line per shape otherwise. */
static void progress(bool tty, size_t done, size_t total, double elapsed, const char *line)
{
    if (!tty) {
        fprintf(stderr, "[%zu/%zu] %s\n", done, total, line);
        return;
    }
    const int width = 24, fill = total ? (int)(width * done / total) : width;
    char eta[32] = "--:--";
    if (done > 0 && done < total) {
        const int s = (int)(elapsed / done * (total - done));
        snprintf(eta, sizeof eta, "%d:%02d", s / 60, s % 60);
    }
    fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu  %d:%02d elapsed  ETA %s  %.60s", fill,
            "########################", width - fill, "", done, total, (int)elapsed / 60, (int)elapsed % 60, eta,
            line);
    if (done == total) fputc('\n', stderr);
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && *out > lo && *out <= hi;
}

/* Replaces each shape of *suite by one per dtype of list ("f32,bf16"); usage error for a bad name. */
static int expand_dtypes(c1_suite *suite, const char *list)
{
    conv1d_dtype dtypes[8];
    int n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == (int)(sizeof dtypes / sizeof dtypes[0]) || !c1_dtype_parse(tok, &dtypes[n]))
            return c1_cli_error(C1_EXIT_USAGE, "sweep",
                                "--dtype must list f32, bf16 or f16 (or float32, bfloat16, float16), got '%s'.", tok);
        n++;
    }
    if (n == 0) return c1_cli_error(C1_EXIT_USAGE, "sweep", "--dtype needs at least one dtype, got '%s'.", list);
    c1_suite expanded = {0};
    for (size_t i = 0; i < suite->count; i++)
        for (int k = 0; k < n; k++) {
            conv1d_desc d = suite->shapes[i];
            d.dtype = dtypes[k];
            if (c1_suite_add(&expanded, &d) != CONV1D_OK) {
                c1_suite_free(&expanded);
                return c1_cli_error(C1_EXIT_FAILURE, "sweep", "%s", conv1d_last_error());
            }
        }
    c1_suite_free(suite);
    *suite = expanded;
    return C1_EXIT_OK;
}

int c1_cmd_sweep(int argc, char **argv)
{
    enum { O_SUITE = 256, O_SHAPE, O_DB, O_DEVICE, O_LAYOUT, O_DTYPE, O_BUDGET, O_TOTAL, O_STRATEGY, O_SHARD, O_THREADS,
           O_QUICK, O_FORCE, O_SEED, O_HELP };
    static const struct option opts[] = {
        {"suite", required_argument, 0, O_SUITE},     {"shape", required_argument, 0, O_SHAPE},
        {"db", required_argument, 0, O_DB},           {"device", required_argument, 0, O_DEVICE},
        {"layout", required_argument, 0, O_LAYOUT},   {"budget", required_argument, 0, O_BUDGET},
        {"dtype", required_argument, 0, O_DTYPE},
        {"total-budget", required_argument, 0, O_TOTAL}, {"strategy", required_argument, 0, O_STRATEGY},
        {"shard", required_argument, 0, O_SHARD},     {"threads", required_argument, 0, O_THREADS},
        {"quick", no_argument, 0, O_QUICK},           {"force", no_argument, 0, O_FORCE},
        {"seed", required_argument, 0, O_SEED},       {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    c1_sweep_ctx x = {.strategy = C1_STRATEGY_AUTO, .budget_s = 3.0, .stop = &stop_flag};
    c1_measure_opts_init(&x.opts);
    c1_suite suite = {0};
    const char *db_path = NULL, *device_opt = "all", *layout_opt = NULL, *dtype_opt = NULL;
    double total_budget = INFINITY;
    long shard_i = 1, shard_n = 1;
    bool quick = false, seeded = false;
    int rc = C1_EXIT_OK;
    optind = 1;
    for (int c; rc == C1_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char *end = NULL;
        conv1d_desc d;
        switch (c) {
        case O_SUITE:
            if (c1_suite_load(optarg, &suite) != CONV1D_OK)
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "%s", conv1d_last_error());
            break;
        case O_SHAPE:
            if ((rc = c1_cli_shape("sweep", optarg, NULL, &d)) == C1_EXIT_OK && c1_suite_add(&suite, &d) != CONV1D_OK)
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "%s", conv1d_last_error());
            break;
        case O_DB: db_path = optarg; break;
        case O_DEVICE: device_opt = optarg; break;
        case O_LAYOUT: layout_opt = optarg; break;
        case O_DTYPE: dtype_opt = optarg; break;
        case O_BUDGET:
            if (!parse_double(optarg, 0, 86400, &x.budget_s))
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--budget must be in (0, 86400] seconds, got '%s'.", optarg);
            break;
        case O_TOTAL:
            if (!parse_double(optarg, 0, 1e7, &total_budget))
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--total-budget must be positive seconds, got '%s'.", optarg);
            break;
        case O_STRATEGY:
            if (!c1_strategy_parse(optarg, &x.strategy))
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep",
                                  "--strategy must be auto, exhaustive, random or halving, got '%s'.", optarg);
            break;
        case O_SHARD:
            shard_i = strtol(optarg, &end, 10);
            if (*end == '/') shard_n = strtol(end + 1, &end, 10);
            if (*end || end == optarg || shard_n < 1 || shard_n > 100000 || shard_i < 1 || shard_i > shard_n)
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--shard must be I/N with 1 <= I <= N, got '%s'.", optarg);
            break;
        case O_THREADS:
            x.opts.threads = (int)strtol(optarg, &end, 10);
            if (*end || x.opts.threads < 1 || x.opts.threads > 4096)
                rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--threads must be 1..4096, got '%s'.", optarg);
            break;
        case O_QUICK: quick = true; break;
        case O_FORCE: x.force = true; break;
        case O_SEED:
            x.seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg) rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--seed must be an integer, got '%s'.", optarg);
            seeded = true;
            break;
        case O_HELP: fputs(sweep_usage, stdout); c1_suite_free(&suite); return C1_EXIT_OK;
        default: fputs(sweep_usage, stderr); rc = C1_EXIT_USAGE;
        }
    }
    if (rc == C1_EXIT_OK && optind < argc)
        rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "unexpected argument '%s'.", argv[optind]);
    if (rc == C1_EXIT_OK && suite.count == 0) rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "give --suite FILE or --shape DESC.");
    bool want_cpu = false, want_cuda = false;
    if (rc == C1_EXIT_OK) {
        if (strcmp(device_opt, "cpu") == 0) want_cpu = true;
        else if (strcmp(device_opt, "cuda") == 0) want_cuda = true;
        else if (strcmp(device_opt, "all") == 0) want_cpu = want_cuda = true;
        else rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--device must be cpu, cuda or all, got '%s'.", device_opt);
    }
    /* Layout expansion: "both" measures each shape in NWC and NCW. */
    if (rc == C1_EXIT_OK && layout_opt && strcmp(layout_opt, "as-written") != 0) {
        const bool both = strcmp(layout_opt, "both") == 0;
        const bool ncw = strcmp(layout_opt, "ncw") == 0;
        if (!both && !ncw && strcmp(layout_opt, "nwc") != 0) {
            rc = c1_cli_error(C1_EXIT_USAGE, "sweep", "--layout must be nwc, ncw, both or as-written, got '%s'.",
                              layout_opt);
        } else {
            c1_suite expanded = {0};
            for (size_t i = 0; i < suite.count && rc == C1_EXIT_OK; i++) {
                conv1d_desc d = suite.shapes[i];
                d.layout = ncw ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
                if (c1_suite_add(&expanded, &d) != CONV1D_OK) rc = C1_EXIT_FAILURE;
                d.layout = CONV1D_LAYOUT_NCW;
                if (both && c1_suite_add(&expanded, &d) != CONV1D_OK) rc = C1_EXIT_FAILURE;
            }
            c1_suite_free(&suite);
            suite = expanded;
        }
    }
    /* Dtype expansion: each shape once per listed dtype, in the list's order. */
    if (rc == C1_EXIT_OK && dtype_opt && strcmp(dtype_opt, "as-written") != 0) rc = expand_dtypes(&suite, dtype_opt);
    /* Every shape is checked against the memory limit before the database is touched. */
    for (size_t i = 0; i < suite.count && rc == C1_EXIT_OK; i++) rc = c1_cli_check_size("sweep", &suite.shapes[i]);
    if (rc != C1_EXIT_OK) {
        c1_suite_free(&suite);
        return rc;
    }
    if (quick) {
        x.budget_s = fmin(x.budget_s, 0.2);
        x.opts.min_repeats = 3;
        x.opts.target_ci = 0.10;
    }
    if (!seeded) x.seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();

    c1_hwinfo hw;
    char fingerprint[17];
    char *record = NULL;
    if (c1_hw_collect(&hw) != CONV1D_OK || c1_hw_to_json(&hw, &record) != CONV1D_OK) {
        c1_suite_free(&suite);
        return c1_cli_error(C1_EXIT_FAILURE, "sweep", "%s", conv1d_last_error());
    }
    /* CUDA is measured when the build registers an available CUDA variant and the probe child found a GPU. */
    size_t nreg;
    const c1_variant *reg = c1_variant_list(&nreg);
    bool cuda_variants = false;
    for (size_t i = 0; i < nreg; i++)
        if (reg[i].device == C1_DEVICE_CUDA && (!reg[i].ops->available || reg[i].ops->available()))
            cuda_variants = true;
    const char *no_cuda = !hw.cuda_compiled ? "this build has no CUDA"
                          : hw.gpu_count == 0 ? hw.cuda_error
                          : !cuda_variants    ? "this build registers no available CUDA variant"
                                              : NULL;
    if (want_cuda && no_cuda) {
        if (!want_cpu) {
            free(record);
            c1_suite_free(&suite);
            return c1_cli_error(C1_EXIT_FAILURE, "sweep", "--device cuda, but this machine has no usable GPU (%s).",
                                no_cuda);
        }
        fprintf(stderr, "sweep: skipping cuda: no usable GPU (%s).\n", no_cuda);
        want_cuda = false;
    }
    c1_hw_fingerprint(&hw, fingerprint);
    x.opts.llc_bytes = (double)c1_hw_cache_bytes(3);
    c1_peaks peaks = {0};
    c1_peaks_load_isolated(fingerprint, &peaks); /* unknown ceilings are stored as NULL */

    const c1_build_info *bi = c1_build_info_get();
    if (!db_path) db_path = c1_store_default_path();
    char args[4096] = "";
    for (int i = 1; i < argc; i++) {
        const size_t used = strlen(args);
        snprintf(args + used, sizeof args - used, "%s%s", i > 1 ? " " : "", argv[i]);
    }
    const c1_store_hardware hwrow = {fingerprint,          record,          peaks.fma_gflops_1core,
                                     peaks.fma_gflops_all, peaks.copy_gbs_1core, peaks.copy_gbs_all};
    const c1_store_build brow = {bi->signature, bi->version, bi->compiler, bi->onednn,
                                 bi->cuda[0] ? bi->cuda : NULL, bi->cudnn[0] ? bi->cudnn : NULL, bi->variants};
    conv1d_status st = c1_store_open(&x.store, db_path, true);
    if (st == CONV1D_OK) st = c1_store_begin(&x.store);
    if (st == CONV1D_OK) {
        st = c1_store_hardware_id(&x.store, &hwrow, &x.hardware_id);
        if (st == CONV1D_OK) st = c1_store_build_id(&x.store, &brow, &x.build_id);
        if (st == CONV1D_OK) st = c1_store_mark_stale(&x.store, x.hardware_id, x.build_id);
        if (st == CONV1D_OK) st = c1_store_run_start(&x.store, x.hardware_id, x.build_id, args, &x.run_id);
        st = st == CONV1D_OK ? c1_store_commit(&x.store) : (c1_store_rollback(&x.store), st);
    }
    free(record);
    if (st != CONV1D_OK) {
        c1_suite_free(&suite);
        c1_store_close(&x.store);
        return c1_cli_error(C1_EXIT_FAILURE, "sweep", "%s", conv1d_last_error());
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    const bool tty = isatty(STDERR_FILENO);
    size_t total = 0;
    for (size_t i = 0; i < suite.count; i++)
        if ((long)(i % shard_n) == shard_i - 1) total += (size_t)want_cpu + (size_t)want_cuda;
    fprintf(stderr, "sweep: %zu shape-device pairs into %s (machine %s, build %s, strategy %s, %.2g s per shape)\n",
            total, db_path, fingerprint, bi->signature, c1_strategy_name(x.strategy), x.budget_s);
    const double start = c1_now_s();
    size_t done = 0, measured = 0, skipped_count = 0;
    bool out_of_budget = false;
    for (size_t i = 0; i < suite.count && st == CONV1D_OK && !stop_flag && !out_of_budget; i++) {
        if ((long)(i % shard_n) != shard_i - 1) continue;
        for (int dev = 0; dev < 2 && st == CONV1D_OK && !stop_flag; dev++) {
            if ((dev == 0 && !want_cpu) || (dev == 1 && !want_cuda)) continue;
            if (c1_now_s() - start > total_budget) {
                out_of_budget = true;
                break;
            }
            char summary[1024];
            bool skipped;
            st = c1_sweep_shape(&x, &suite.shapes[i], dev == 0 ? C1_DEVICE_CPU : C1_DEVICE_CUDA, summary, sizeof summary,
                             &skipped);
            if (st != CONV1D_OK || stop_flag) break;
            done++;
            skipped ? skipped_count++ : measured++;
            progress(tty, done, total, c1_now_s() - start, summary);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (tty && done < total) fputc('\n', stderr);

    /* A run stopped by a signal or by --total-budget is 'interrupted': re-running finishes it. */
    const char *status = st != CONV1D_OK ? "failed" : stop_flag || out_of_budget ? "interrupted" : "done";
    char err[512] = "";
    if (st != CONV1D_OK) snprintf(err, sizeof err, "%s", conv1d_last_error());
    c1_store_run_finish(&x.store, x.run_id, status);
    /* The dispatcher's time models learn from every measurement of this machine and build, this run's too. */
    size_t n_models = 0;
    if (measured > 0 && st == CONV1D_OK) {
        if (c1_fit_store(&x.store, x.hardware_id, x.build_id, &n_models) == CONV1D_OK)
            fprintf(stderr, "sweep: refitted %zu time models\n", n_models);
        else
            fprintf(stderr, "sweep: the time models were not refitted: %s\n", conv1d_last_error());
    }
    c1_store_close(&x.store);
    c1_suite_free(&suite);
    fprintf(stderr, "sweep: %s: %zu measured, %zu already finished, %zu left, %.1f s\n", status, measured,
            skipped_count, total - done, c1_now_s() - start);
    if (st != CONV1D_OK) return c1_cli_error(C1_EXIT_FAILURE, "sweep", "%s", err);
    if (interrupted) return 128 + interrupted;
    if (out_of_budget) fprintf(stderr, "sweep: --total-budget reached; run the same command again to continue.\n");
    return C1_EXIT_OK;
}
