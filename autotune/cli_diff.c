/*
 * conv1d-tune diff: compares the current winners of two results databases per (hardware, shape, device,
 * precision): same, faster or slower (B against A), a changed winning variant, and keys present in only one.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "store.h"

#define CSV_HEADER "shape,device,precision,hardware,variant_a,median_ms_a,variant_b,median_ms_b,ratio,status"
#define DEFAULT_THRESHOLD 0.05

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune diff A.db B.db [--threshold T] [--csv]\n\n"
               "Compares the current (non-stale) winners of two results databases for each hardware\n"
               "fingerprint, shape, device and precision class, B against A. A pair is 'same' when the [p10, p90]\n"
               "time ranges overlap or the medians differ by at most T relative to A; otherwise B is 'faster' or\n"
               "'slower'. A changed winning variant is reported too, and so is what only one side has\n"
               "('only_a', 'only_b'). Where several builds hold a current winner for one key (merged files),\n"
               "the latest decided one is compared. The table ends with the line\n"
               "  N same, N faster, N slower, N only in A, N only in B\n\n"
               "options:\n"
               "  --threshold T   relative change still counted as the same (default %g, i.e. %g%%)\n"
               "  --csv           CSV with the header\n"
               "                  " CSV_HEADER "\n"
               "                  (ratio = median_ms_b / median_ms_a; the shape is always quoted)\n"
               "  --help          this text\n\n"
               "exit status: 0 whatever the comparison finds (regressions included: read the status column to\n"
               "gate on them), 1 a database cannot be read, 2 usage error\n",
            DEFAULT_THRESHOLD, 100 * DEFAULT_THRESHOLD);
}

typedef c1_store_winner_row winner;

/* One database's current winners, the latest decided per key (hardware, shape, device, precision), in key
 * order (strcmp). */
typedef struct side {
    winner *w;
    size_t n;
} side;

/* Orders winners by (hardware, shape, device, precision): the order both lists are read in. */
static int cmp_key(const winner *a, const winner *b)
{
    int c = strcmp(a->fingerprint, b->fingerprint);
    if (!c) c = strcmp(a->key, b->key);
    if (!c) c = strcmp(a->device, b->device);
    if (!c) c = strcmp(a->precision, b->precision);
    return c;
}

/* Loads the current winners of path; on failure prints the reason and returns false. */
static bool load(const char *path, side *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        c1_cli_error(C1_EXIT_FAILURE, "diff", "no results database at %s.", path);
        return false;
    }
    c1_store s;
    if (c1_store_open(&s, path, false) != CONV1D_OK) {
        c1_cli_error(C1_EXIT_FAILURE, "diff", "%s", conv1d_last_error());
        return false;
    }
    /* Several builds can hold a current winner for one key (merged files): the latest decision counts. */
    const c1_store_winner_query q = {.latest_per_key = true};
    const bool ok = c1_store_load_winners(&s, &q, &out->w, &out->n) == CONV1D_OK;
    if (!ok) c1_cli_error(C1_EXIT_FAILURE, "diff", "%s", conv1d_last_error());
    c1_store_close(&s);
    return ok;
}

static void side_free(side *s)
{
    c1_store_free_winners(s->w, s->n);
    memset(s, 0, sizeof *s);
}

enum { S_SAME, S_FASTER, S_SLOWER, S_ONLY_A, S_ONLY_B, NSTATUS };
static const char *const status_name[NSTATUS] = {"same", "faster", "slower", "only_a", "only_b"};

static int compare(const winner *a, const winner *b, double threshold, double *ratio)
{
    *ratio = b->median_ms / a->median_ms;
    /* Overlapping ranges: the two cannot be told apart at this measurement's noise. */
    const bool ranges = !isnan(a->p10_ms) && !isnan(a->p90_ms) && !isnan(b->p10_ms) && !isnan(b->p90_ms);
    if (ranges && fmax(a->p10_ms, b->p10_ms) <= fmin(a->p90_ms, b->p90_ms)) return S_SAME;
    if (!isfinite(*ratio) || fabs(*ratio - 1) <= threshold) return S_SAME;
    return *ratio < 1 ? S_FASTER : S_SLOWER;
}


static void fmt_ms(char buf[32], double ms, const char *none)
{
    if (isnan(ms))
        snprintf(buf, 32, "%s", none);
    else
        snprintf(buf, 32, "%.6g", ms);
}

int c1_cmd_diff(int argc, char **argv)
{
    static const struct option options[] = {
        {"threshold", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double threshold = DEFAULT_THRESHOLD;
    bool csv = false;
    int c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't':
            threshold = strtod(optarg, &end);
            if (end == optarg || *end || !(threshold >= 0 && threshold < 100))
                return c1_cli_error(C1_EXIT_USAGE, "diff", "--threshold must be a number in [0, 100), got '%s'.",
                                    optarg);
            break;
        case 'c': csv = true; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, "diff", "%s needs a value.", argv[optind - 1]);
        default:
            return c1_cli_error(C1_EXIT_USAGE, "diff", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return c1_cli_error(C1_EXIT_USAGE, "diff", "name exactly two databases, A and B (see --help).");
    const char *path_a = argv[optind], *path_b = argv[optind + 1];

    side a, b;
    if (!load(path_a, &a)) return C1_EXIT_FAILURE;
    if (!load(path_b, &b)) {
        side_free(&a);
        return C1_EXIT_FAILURE;
    }

    /* Both lists are sorted by key: one merge pass pairs them. */
    int count[NSTATUS] = {0}, changed = 0;
    int wv = (int)strlen("variant"), wh = (int)strlen("hardware");
    for (int pass = csv ? 1 : 0; pass < 2; pass++) {
        if (pass == 1 && csv) printf("%s\n", CSV_HEADER);
        if (pass == 1 && !csv)
            printf("%-7s  %8s  %11s  %11s  %-*s  %-*s  %s\n", "status", "ratio", "median_ms_a", "median_ms_b", wv,
                   "variant", wh, "hardware", "shape");
        size_t i = 0, j = 0;
        while (i < a.n || j < b.n) {
            const int order = i == a.n ? 1 : j == b.n ? -1 : cmp_key(&a.w[i], &b.w[j]);
            const winner *wa = order <= 0 ? &a.w[i++] : NULL, *wb = order >= 0 ? &b.w[j++] : NULL;
            const winner *k = wa ? wa : wb;
            double ratio = NAN;
            const int status = wa && wb ? compare(wa, wb, threshold, &ratio) : wa ? S_ONLY_A : S_ONLY_B;
            const bool variant_changed = wa && wb && strcmp(wa->variant, wb->variant) != 0;
            char variant[160];
            if (variant_changed)
                snprintf(variant, sizeof variant, "%s -> %s", wa->variant, wb->variant);
            else
                snprintf(variant, sizeof variant, "%s", k->variant);
            if (pass == 0) { /* widths for the table */
                if ((int)strlen(variant) > wv) wv = (int)strlen(variant);
                if ((int)strlen(k->fingerprint) > wh) wh = (int)strlen(k->fingerprint);
                continue;
            }
            count[status]++;
            changed += variant_changed;
            char ma[32], mb[32], r[32];
            fmt_ms(ma, wa ? wa->median_ms : NAN, csv ? "" : "-");
            fmt_ms(mb, wb ? wb->median_ms : NAN, csv ? "" : "-");
            if (isfinite(ratio))
                snprintf(r, sizeof r, csv ? "%.6g" : "%.3fx", ratio);
            else
                snprintf(r, sizeof r, "%s", csv ? "" : "-");
            if (csv) {
                c1_cli_csv_field(stdout, k->key, true);
                putchar(',');
                c1_cli_csv_field(stdout, k->device, false);
                putchar(',');
                c1_cli_csv_field(stdout, k->precision, false);
                putchar(',');
                c1_cli_csv_field(stdout, k->fingerprint, false);
                putchar(',');
                c1_cli_csv_field(stdout, wa ? wa->variant : "", false);
                printf(",%s,", ma);
                c1_cli_csv_field(stdout, wb ? wb->variant : "", false);
                printf(",%s,%s,%s\n", mb, r, status_name[status]);
            } else {
                printf("%-7s  %8s  %11s  %11s  %-*s  %-*s  %s\n", status_name[status], r, ma, mb, wv, variant, wh,
                       k->fingerprint, k->key);
            }
        }
    }
    if (!csv) {
        if (a.n + b.n == 0) printf("(no current winners on either side)\n");
        printf("\nA = %s, B = %s, threshold %g\n", path_a, path_b, threshold);
        if (changed) printf("%d winner%s changed variant\n", changed, changed == 1 ? "" : "s");
        printf("%d same, %d faster, %d slower, %d only in A, %d only in B\n", count[S_SAME], count[S_FASTER],
               count[S_SLOWER], count[S_ONLY_A], count[S_ONLY_B]);
    }
    side_free(&a);
    side_free(&b);
    return C1_EXIT_OK;
}
