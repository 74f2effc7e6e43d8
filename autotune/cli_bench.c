/*
 * conv1d-tune bench: every applicable variant (or the named ones) checked and timed on one shape, in
 * interleaved rounds, each variant in its own child process (or --per-child N in one, c1_measure_many);
 * --screen K times only the fastest of the first round again; a table sorted by time with GFLOP/s, GB/s,
 * the fraction of this machine's roofline and the speedup over the device's peer, or CSV.
 *
 * --device picks the registry's variants of one device (cpu by default). The peer of a CPU row is oneDNN of
 * its precision class (onednn, onednn_bf16, onednn_f16); the peer of a CUDA row is the fastest correct cuDNN
 * variant (family "cudnn") of its precision class, so a TF32 kernel is compared with cuDNN's TF32 algorithms
 * and an fp32 kernel with the fp32 ones. --dtype (or the shape's dtype=) picks the class: by default only the
 * variants of the classes that take that dtype are measured.
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hwinfo.h"
#include "measure.h"
#include "peaks.h"
#include "tuner.h"

#define MAX_NAMED 64

static const char *const bench_usage =
    "usage: conv1d-tune bench --shape DESC [options]\n\n"
    "Checks every applicable variant against the double-precision reference on fresh random data, times\n"
    "the correct ones, and prints them sorted by median time.\n\n"
    "  --shape DESC        canonical key=value or benchdnn descriptor (see conv1d-tune describe)\n"
    "  --layout nwc|ncw    override the descriptor's layout\n"
    "  --dtype T           override the descriptor's dtype: f32, bf16 or f16 (or float32, bfloat16, float16);\n"
    "                      the variants of its precision class compete, the speedup column is against that\n"
    "                      class's peer (onednn, onednn_bf16, onednn_f16)\n"
    "  --device D          cpu or cuda: the variants of this device (default cpu); the speedup column is\n"
    "                      against oneDNN for cpu, the fastest correct cuDNN variant of the precision for cuda\n"
    "  --variant NAME      only this variant (repeatable); default: every registered one of the device and\n"
    "                      the dtype's class but the reference, the dispatcher rules' choice first; in the first round a variant\n"
    "                      whose runs after prepare take over 10x those of the fastest so far (2 s at least)\n"
    "                      is stopped and shown as timeout (it cannot win); named variants are always timed\n"
    "  --threads N         OpenMP threads per variant (default: all cores)\n"
    "  --budget S          timing seconds per variant, split over the rounds (default 1)\n"
    "  --rounds R          interleaved rounds over the variants (default 3)\n"
    "  --timeout S         wall-clock limit of one variant's measurement (default 120)\n"
    "  --per-child N       variants measured one after another in one child process (default 1); a crash,\n"
    "                      hang or failure ends the child and the rest go on in a fresh one, so no result\n"
    "                      hides another, while a GPU's context and libraries are set up once per child\n"
    "  --screen K          after the first round, time only the K fastest correct variants of each precision\n"
    "                      class and the K fastest peers (oneDNN, cuDNN) of each; the others keep their\n"
    "                      first-round figures (default 0: every correct variant every round)\n"
    "  --seed N            data seed (default: from the clock; printed)\n"
    "  --no-rotate         do not rotate buffer sets beyond the last-level cache\n"
    "  --copy              also time a copy of the same bytes (input read, output written once, all threads;\n"
    "                      a device-to-device copy with --device cuda), the memory-bound yardstick: row\n"
    "                      'copy', and each variant's %copy in the table\n"
    "  --csv               CSV: variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err\n"
    "  --help\n";

/* Page faults in a variant's timed samples (all rounds) above which the table says so: a few are threads' stacks. */
#define C1_BENCH_FAULTS_NOTED 64

typedef struct row {
    const c1_variant *v;
    c1_measurement m;   /* the first round's check, then the pooled timing */
    int nsamples;
    double *samples;    /* pooled over rounds */
    c1_stats t;
} row;

static int by_time(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    const bool oka = a->m.outcome == C1_OUTCOME_OK, okb = b->m.outcome == C1_OUTCOME_OK;
    if (oka != okb) return oka ? -1 : 1;
    if (!oka) return strcmp(a->v->name, b->v->name);
    return (a->t.median > b->t.median) - (a->t.median < b->t.median);
}

/* Whether v is a peer of its device (core/verdict.h): oneDNN on the CPU, a cuDNN algorithm on CUDA. */
static bool is_peer(const c1_variant *v)
{
    const char *cpu_peer = c1_cpu_peer_name(v->precision);
    return v->device == C1_DEVICE_CUDA ? strcmp(v->family, C1_CUDA_PEER_FAMILY) == 0
                                       : cpu_peer && strcmp(v->name, cpu_peer) == 0;
}

int c1_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"shape", required_argument, 0, 's'},   {"layout", required_argument, 0, 'l'},
        {"variant", required_argument, 0, 'v'}, {"threads", required_argument, 0, 't'},
        {"budget", required_argument, 0, 'b'},  {"rounds", required_argument, 0, 'r'},
        {"timeout", required_argument, 0, 'T'}, {"seed", required_argument, 0, 'S'},
        {"no-rotate", no_argument, 0, 'n'},     {"csv", no_argument, 0, 'c'},
        {"copy", no_argument, 0, 'C'},          {"device", required_argument, 0, 'D'},
        {"per-child", required_argument, 0, 'P'}, {"screen", required_argument, 0, 'K'},
        {"dtype", required_argument, 0, 'd'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *shape = NULL, *layout = NULL, *device_opt = "cpu", *dtype = NULL, *named[MAX_NAMED];
    int nnamed = 0, rounds = 3, per_child = 1, screen = 0;
    bool csv = false, seeded = false, copy = false;
    unsigned long long seed = 0;
    c1_measure_opts o;
    c1_measure_opts_init(&o);
    double budget = 1.0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char *end = NULL;
        switch (c) {
        case 's': shape = optarg; break;
        case 'l': layout = optarg; break;
        case 'd': dtype = optarg; break;
        case 'v':
            if (nnamed == MAX_NAMED) return c1_cli_error(C1_EXIT_USAGE, "bench", "at most %d --variant.", MAX_NAMED);
            named[nnamed++] = optarg;
            break;
        case 't':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 1 || o.threads > 4096)
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--threads must be 1..4096, got '%s'.", optarg);
            break;
        case 'b':
            budget = strtod(optarg, &end);
            if (*end || !(budget > 0 && budget <= 3600))
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--budget must be in (0, 3600] seconds, got '%s'.",
                                    optarg);
            break;
        case 'r':
            rounds = (int)strtol(optarg, &end, 10);
            if (*end || rounds < 1 || rounds > 100)
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--rounds must be 1..100, got '%s'.", optarg);
            break;
        case 'T':
            o.timeout_s = strtod(optarg, &end);
            if (*end || !(o.timeout_s > 0 && o.timeout_s <= 86400))
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--timeout must be in (0, 86400] seconds, got '%s'.",
                                    optarg);
            break;
        case 'S':
            seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg) return c1_cli_error(C1_EXIT_USAGE, "bench", "--seed must be an integer, got '%s'.", optarg);
            seeded = true;
            break;
        case 'P':
            per_child = (int)strtol(optarg, &end, 10);
            if (*end || per_child < 1 || per_child > 1024)
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--per-child must be 1..1024, got '%s'.", optarg);
            break;
        case 'K':
            screen = (int)strtol(optarg, &end, 10);
            if (*end || screen < 0 || screen > 1024)
                return c1_cli_error(C1_EXIT_USAGE, "bench", "--screen must be 0..1024, got '%s'.", optarg);
            break;
        case 'n': o.rotate = false; break;
        case 'c': csv = true; break;
        case 'C': copy = true; break;
        case 'D': device_opt = optarg; break;
        case 'h': fputs(bench_usage, stdout); return C1_EXIT_OK;
        default: fputs(bench_usage, stderr); return C1_EXIT_USAGE;
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, "bench", "unexpected argument '%s'.", argv[optind]);
    conv1d_desc d;
    int rc = c1_cli_shape("bench", shape, layout, &d);
    if (rc == C1_EXIT_OK && dtype && !c1_dtype_parse(dtype, &d.dtype))
        rc = c1_cli_error(C1_EXIT_USAGE, "bench", "--dtype must be f32, bf16 or f16 (or float32, bfloat16, float16), "
                          "got '%s'.", dtype);
    if (rc == C1_EXIT_OK) rc = c1_cli_check_size("bench", &d);
    if (rc != C1_EXIT_OK) return rc;
    c1_device device;
    if (strcmp(device_opt, "cpu") == 0)
        device = C1_DEVICE_CPU;
    else if (strcmp(device_opt, "cuda") == 0)
        device = C1_DEVICE_CUDA;
    else
        return c1_cli_error(C1_EXIT_USAGE, "bench", "--device must be cpu or cuda, got '%s'.", device_opt);

    /* The GPU facts come from a probe child (the fork rule): the tool itself never initialises CUDA. */
    c1_hwinfo hw;
    char fingerprint[17] = "unknown";
    const bool have_hw = c1_hw_collect(&hw) == CONV1D_OK;
    if (have_hw) c1_hw_fingerprint(&hw, fingerprint);
    if (device == C1_DEVICE_CUDA && !(have_hw && hw.gpu_count > 0))
        return c1_cli_error(C1_EXIT_FAILURE, "bench", "--device cuda, but this machine has no usable GPU (%s).",
                            !have_hw           ? conv1d_last_error()
                            : !hw.cuda_compiled ? "this build has no CUDA"
                                                : hw.cuda_error);

    size_t nreg;
    c1_variant_list(&nreg);
    row *rows = calloc(nreg + 1, sizeof *rows);
    if (!rows) return c1_cli_error(C1_EXIT_FAILURE, "bench", "out of memory.");
    size_t nrows = 0;
    for (int i = 0; i < nnamed; i++) {
        const c1_variant *v = c1_variant_find(named[i]);
        if (!v) {
            free(rows);
            return c1_cli_error(C1_EXIT_USAGE, "bench", "unknown variant '%s' (conv1d-tune list shows them).",
                                named[i]);
        }
        rows[nrows++].v = v;
    }
    if (nnamed == 0) { /* the sweep's candidates (the references are timed only when named) of d's class */
        const c1_variant **vs = malloc(nreg * sizeof *vs);
        if (!vs) {
            free(rows);
            return c1_cli_error(C1_EXIT_FAILURE, "bench", "out of memory for the candidates.");
        }
        const size_t n = c1_device_candidates(device, vs, nreg);
        for (size_t i = 0; i < n; i++)
            if (c1_precision_takes(vs[i]->precision, d.dtype)) rows[nrows++].v = vs[i];
        free(vs);
    }

    /* Without named variants, the rules' choice goes first and, in the first round, variants that cannot win
     * are stopped early (tuner.h): on long kernels the dense kernels take minutes a run. */
    if (nnamed == 0 && nrows > 1) {
        const c1_variant **vs = malloc(nrows * sizeof *vs);
        if (vs) {
            for (size_t i = 0; i < nrows; i++) vs[i] = rows[i].v;
            const int first = c1_rules_choice_index(vs, (int)nrows, &d);
            free(vs);
            if (first > 0) {
                const row pick = rows[first];
                memmove(rows + 1, rows, (size_t)first * sizeof *rows);
                rows[0] = pick;
            }
        }
    }
    if (copy && c1_copy_baseline_for(device)) rows[nrows++].v = c1_copy_baseline_for(device);

    c1_peaks peaks = {0};
    bool have_peaks = false;
    if (have_hw) {
        o.llc_bytes = (double)c1_hw_cache_bytes(3); /* CUDA children size their rotation by the GPU's L2 */
        /* The CPU ceilings say nothing about a GPU's roofline. */
        if (device == C1_DEVICE_CPU) have_peaks = c1_peaks_load_isolated(fingerprint, &peaks);
    }
    if (!seeded) seed = (unsigned long long)time(NULL) ^ ((unsigned long long)clock() << 20);
    o.budget_s = budget / rounds;

    c1_problem p;
    if (c1_problem_create(&d, seed, o.timeout_s, &p) != CONV1D_OK) {
        free(rows);
        return c1_cli_error(C1_EXIT_FAILURE, "bench", "%s", conv1d_last_error());
    }
    rc = C1_EXIT_OK;
    const c1_variant **batch = calloc((size_t)per_child, sizeof *batch);
    size_t *batch_row = calloc((size_t)per_child, sizeof *batch_row);
    c1_measurement *ms = calloc((size_t)per_child, sizeof *ms);
    bool *timed = calloc(nrows + 1, sizeof *timed); /* measured in the later rounds */
    if (!batch || !batch_row || !ms || !timed) rc = c1_cli_error(C1_EXIT_FAILURE, "bench", "out of memory.");
    for (size_t i = 0; i < nrows; i++) timed[i] = true;
    double best_ms = INFINITY;
    const char *best_name = "";
    /* Rounds interleave the variants, so a slow drift of the machine touches all of them alike. */
    for (int r = 0; r < rounds && rc == C1_EXIT_OK; r++) {
        size_t i = 0;
        while (i < nrows && rc == C1_EXIT_OK) {
            int nb = 0;
            for (; i < nrows && nb < per_child; i++) {
                row *w = &rows[i];
                if (r > 0 && (w->m.outcome != C1_OUTCOME_OK || !timed[i])) continue;
                if (!w->samples && !(w->samples = malloc(sizeof(double) * C1_MAX_SAMPLES * rounds))) {
                    rc = c1_cli_error(C1_EXIT_FAILURE, "bench", "out of memory.");
                    break;
                }
                batch[nb] = w->v;
                batch_row[nb++] = i;
            }
            if (rc != C1_EXIT_OK || nb == 0) break;
            /* One variant per child (the default): the first round stops a hopeless one at its run limit. */
            c1_measure_opts oi = o;
            if (nb == 1 && nnamed == 0 && r == 0 && !c1_is_copy_baseline(batch[0]))
                oi.run_limit_s = c1_hopeless_limit(&o, best_ms, o.budget_s);
            if (c1_measure_many(batch, nb, &p, &oi, ms) != CONV1D_OK) {
                rc = c1_cli_error(C1_EXIT_FAILURE, "bench", "%s", conv1d_last_error());
                break;
            }
            for (int b = 0; b < nb; b++) {
                row *w = &rows[batch_row[b]];
                c1_measurement *m = &ms[b];
                if (nb == 1) c1_hopeless_note(m, oi.run_limit_s, best_name, best_ms);
                if (m->outcome == C1_OUTCOME_OK && !c1_is_copy_baseline(w->v) && m->time_ms.median < best_ms) {
                    best_ms = m->time_ms.median;
                    best_name = w->v->name;
                }
                /* A variant that stops being ok in a later round (a crash, a timeout) is reported so. */
                if (r == 0 || m->outcome != C1_OUTCOME_OK)
                    w->m = *m;
                else
                    w->m.timed_faults += m->timed_faults; /* over the rounds */
                memcpy(w->samples + w->nsamples, m->samples, (size_t)m->nsamples * sizeof(double));
                w->nsamples += m->nsamples;
            }
        }
        if (r == 0 && screen > 0) {
            /* Keep the `screen` fastest of each (precision class, peer or not); the yardstick always. */
            for (size_t a = 0; a < nrows; a++) {
                const row *wa = &rows[a];
                if (wa->m.outcome != C1_OUTCOME_OK || c1_is_copy_baseline(wa->v)) continue;
                const bool peer_a = is_peer(wa->v);
                int faster = 0;
                for (size_t b = 0; b < nrows; b++) {
                    const row *wb = &rows[b];
                    if (b == a || wb->m.outcome != C1_OUTCOME_OK || c1_is_copy_baseline(wb->v) ||
                        wb->v->precision != wa->v->precision)
                        continue;
                    const bool peer_b = is_peer(wb->v);
                    if (peer_b == peer_a && (wb->m.time_ms.median < wa->m.time_ms.median ||
                                             (wb->m.time_ms.median == wa->m.time_ms.median && b < a)))
                        faster++;
                }
                timed[a] = faster < screen;
            }
        }
    }
    free(timed);
    free(ms);
    free(batch_row);
    free(batch);
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].m.outcome == C1_OUTCOME_OK && rows[i].nsamples > 0)
            rows[i].t = c1_stats_compute(rows[i].samples, rows[i].nsamples);
    qsort(rows, nrows, sizeof *rows, by_time);

    const double flops = conv1d_desc_flops(&d), bytes = conv1d_desc_min_bytes(&d);
    /* The peer's median per precision class (core/verdict.h): oneDNN for CPU rows, the fastest cuDNN variant
     * of the class for CUDA rows. */
    double peer_ms[C1_PREC_COUNT] = {0}, copy_ms = 0;
    c1_timing *timing = malloc((nrows ? nrows : 1) * sizeof *timing);
    if (!timing) rc = c1_cli_error(C1_EXIT_FAILURE, "bench", "out of memory.");
    for (size_t i = 0; timing && i < nrows; i++) {
        const c1_variant *v = rows[i].v;
        timing[i] = (c1_timing){.name = v->name, .family = v->family, .cuda = v->device == C1_DEVICE_CUDA,
                                .precision = v->precision, .ok = rows[i].m.outcome == C1_OUTCOME_OK,
                                .time_ms = rows[i].t, .rel_err = rows[i].m.error.rel_max};
        if (timing[i].ok && c1_is_copy_baseline(v)) copy_ms = rows[i].t.median;
    }
    for (int prec = 0; timing && prec < C1_PREC_COUNT; prec++) {
        const int peer = c1_verdict_peer(timing, (int)nrows, device == C1_DEVICE_CUDA, (c1_precision)prec);
        if (peer >= 0) peer_ms[prec] = rows[peer].t.median;
    }
    free(timing);
    const char *peer_label = device == C1_DEVICE_CPU ? "vs_" C1_CPU_PEER : "vs_" C1_CUDA_PEER_FAMILY;
    char canon[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(&d, canon, sizeof canon);

    if (csv) {
        printf("variant,family,device,precision,status,median_ms,p10_ms,p90_ms,gflops,gbs,rel_err\n");
        for (size_t i = 0; i < nrows && rc == C1_EXIT_OK; i++) {
            const row *w = &rows[i];
            printf("%s,%s,%s,%s,%s", w->v->name, w->v->family, c1_device_name(w->v->device),
                   c1_precision_name(w->v->precision), c1_outcome_name(w->m.outcome));
            if (w->m.outcome == C1_OUTCOME_OK && c1_is_copy_baseline(w->v))
                printf(",%.6g,%.6g,%.6g,,%.4g,\n", w->t.median, w->t.p10, w->t.p90, bytes / (w->t.median * 1e6));
            else if (w->m.outcome == C1_OUTCOME_OK)
                printf(",%.6g,%.6g,%.6g,%.4g,%.4g,%.3g\n", w->t.median, w->t.p10, w->t.p90,
                       flops / (w->t.median * 1e6), bytes / (w->t.median * 1e6), w->m.error.rel_max);
            else if (w->m.outcome == C1_OUTCOME_WRONG)
                printf(",,,,,,%.3g\n", w->m.error.bad_index >= 0 ? NAN : w->m.error.rel_max);
            else
                printf(",,,,,,\n");
        }
    } else if (rc == C1_EXIT_OK) {
        printf("shape     %s\n", canon);
        const c1_precision cls = c1_precision_of_dtype(d.dtype);
        if (device == C1_DEVICE_CPU)
            printf("class     %s (dtype %s), against %s\n", c1_precision_name(cls), conv1d_dtype_name(d.dtype),
                   c1_cpu_peer_name(cls));
        else
            printf("class     %s (dtype %s), each class against its fastest cuDNN variant\n",
                   d.dtype == CONV1D_F32 ? "fp32 and tf32" : c1_precision_name(cls), conv1d_dtype_name(d.dtype));
        printf("work      %.4g GFLOP, %.4g MB moved at least, %.3g FLOP/byte\n", flops / 1e9, bytes / 1e6,
               flops / bytes);
        const char *where = !have_hw ? "unknown" : device == C1_DEVICE_CUDA ? hw.gpus[0].name : hw.cpu_model;
        printf("machine   %s (%s), seed %llu, threads %d, buffer sets %d\n", fingerprint, where, seed,
               nrows ? rows[0].m.threads : 0, nrows ? rows[0].m.buffer_sets : 0);
        if (have_peaks)
            printf("ceilings  %.1f GFLOP/s fp32 FMA, %.1f GB/s copy (all cores)\n", peaks.fma_gflops_all,
                   peaks.copy_gbs_all);
        printf("\n%-26s %-11s %10s %10s %10s %9s %8s %6s %6s %8s %9s  %s\n", "variant", "status", "median_ms",
               "p10_ms", "p90_ms", "GFLOP/s", "GB/s", "%roof", "%copy", peer_label, "rel_err", "impl / reason");
        for (size_t i = 0; i < nrows; i++) {
            const row *w = &rows[i];
            if (w->m.outcome != C1_OUTCOME_OK) {
                printf("%-26s %-11s %10s %10s %10s %9s %8s %6s %6s %8s %9s  %s\n", w->v->name,
                       c1_outcome_name(w->m.outcome), "-", "-", "-", "-", "-", "-", "-", "-", "-", w->m.message);
                continue;
            }
            const double gflops = flops / (w->t.median * 1e6), gbs = bytes / (w->t.median * 1e6);
            if (c1_is_copy_baseline(w->v)) {
                printf("%-26s %-11s %10.4g %10.4g %10.4g %9s %8.2f %6s %6s %8s %9s  %s\n", w->v->name, "ok",
                       w->t.median, w->t.p10, w->t.p90, "-", gbs, "-", "100%", "-", "-", "yardstick, not a convolution");
                continue;
            }
            char roof[16] = "-", vs[16] = "-", ofcopy[16] = "-";
            if (copy_ms > 0) snprintf(ofcopy, sizeof ofcopy, "%.0f%%", 100 * copy_ms / w->t.median);
            if (have_peaks) {
                const double ceiling = fmin(peaks.fma_gflops_all, flops / bytes * peaks.copy_gbs_all);
                snprintf(roof, sizeof roof, "%.0f%%", 100 * gflops / ceiling);
            }
            const double peer = w->v->precision >= 0 && w->v->precision < C1_PREC_COUNT ? peer_ms[w->v->precision] : 0;
            if (peer > 0) snprintf(vs, sizeof vs, "%.2fx", peer / w->t.median);
            /* a variant that maps fresh memory while it runs pays page faults in its times: say how many */
            char note[sizeof w->m.impl + 64];
            if (w->m.timed_faults > C1_BENCH_FAULTS_NOTED)
                snprintf(note, sizeof note, "%s%s%ld page faults while timed", w->m.impl, w->m.impl[0] ? "; " : "",
                         w->m.timed_faults);
            else
                snprintf(note, sizeof note, "%s", w->m.impl);
            printf("%-26s %-11s %10.4g %10.4g %10.4g %9.2f %8.2f %6s %6s %8s %9.2g  %s\n", w->v->name, "ok",
                   w->t.median, w->t.p10, w->t.p90, gflops, gbs, roof, ofcopy, vs, w->m.error.rel_max, note);
        }
    }
    for (size_t i = 0; i < nrows; i++) free(rows[i].samples);
    free(rows);
    c1_problem_destroy(&p);
    return rc;
}
