/*
 * conv1d-tune winners: the winner per (hardware, shape, device, precision) from the results database, as an
 * aligned table ending with the geometric-mean speedup over the peer, or as CSV.
 *
 * The rows, their peers and speedups are the store's (c1_store_load_winners, the all_winners view): the peer
 * of a CPU winner is the one the tuner stored (oneDNN), the peer of a CUDA winner the fastest correct cuDNN
 * measurement of the winner's precision class on the same shape in the same run. This file only prints them.
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
#include "hwinfo.h"
#include "store.h"

#define CSV_HEADER "shape,device,precision,variant,median_ms,p10_ms,p90_ms,peer,peer_ms,speedup,tie,stale,hardware"

enum { C_DEVICE, C_PRECISION, C_VARIANT, C_MEDIAN, C_P10, C_P90, C_PEER, C_PEER_MS, C_SPEEDUP, C_TIE, C_STALE,
       C_HARDWARE, C_SHAPE, NCOLS };
static const char *const col_names[NCOLS] = {"device", "precision", "variant", "median_ms", "p10_ms", "p90_ms",
                                             "peer",   "peer_ms",   "speedup", "tie",       "stale",  "hardware",
                                             "shape"};

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune winners [--db PATH] [--csv] [--all]\n\n"
               "Prints the fastest correct variant stored per shape, device and precision class, with its time,\n"
               "the peer library's time and the speedup over it; the table ends with the geometric mean of\n"
               "that speedup over the winners that have a peer measurement. The peer is oneDNN for CPU rows and\n"
               "the fastest cuDNN algorithm of the same precision class (same run) for CUDA rows.\n\n"
               "options:\n"
               "  --db PATH   results database (default: $CONV1D_DB, else results/conv1d.db)\n"
               "  --all       every machine and stale winners too (default: this machine, current winners)\n"
               "  --csv       CSV with the header\n"
               "              " CSV_HEADER "\n"
               "              (shape is always quoted: it contains commas; peer, peer_ms and speedup are empty\n"
               "              without a peer measurement; tie and stale are 0 or 1)\n"
               "  --help      this text\n\n"
               "exit status: 0 ok, 1 unreadable database, 2 usage error or no database at PATH\n");
}

/* One CSV field followed by a comma, or by the line's end. */
static void csv_field(const char *s, bool force_quote, bool last)
{
    c1_cli_csv_field(stdout, s, force_quote);
    putchar(last ? '\n' : ',');
}

/* The number as text with `fmt`, or `none` when it is unknown (NaN: NULL in the database). */
static char *num_cell(double v, const char *fmt, const char *none)
{
    char buf[64];
    if (isnan(v)) return strdup(none);
    snprintf(buf, sizeof buf, fmt, v);
    return strdup(buf);
}

typedef struct row {
    char *cell[NCOLS];
} row;

static void free_rows(row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < NCOLS; c++) free(rows[i].cell[c]);
    free(rows);
}

int c1_cmd_winners(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"csv", no_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    const char *path = c1_store_default_path();
    bool csv = false, all = false;
    int c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'd': path = optarg; break;
        case 'c': csv = true; break;
        case 'a': all = true; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, "winners", "%s needs a value.", argv[optind - 1]);
        default:
            return c1_cli_error(C1_EXIT_USAGE, "winners", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, "winners", "unexpected argument '%s'.", argv[optind]);
    if (!*path) return c1_cli_error(C1_EXIT_USAGE, "winners", "--db needs a non-empty path.");

    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return c1_cli_error(C1_EXIT_USAGE, "winners", "no results database at %s (run conv1d-tune sweep first).",
                            path);

    /* Without --all only this machine's rows: other machines' winners say nothing about what runs here. */
    char fingerprint[17] = "";
    if (!all) {
        c1_hwinfo hw;
        if (c1_hw_collect(&hw) == CONV1D_OK)
            c1_hw_fingerprint(&hw, fingerprint);
        else
            fprintf(stderr, "conv1d-tune winners: cannot fingerprint this machine (%s); showing every machine.\n",
                    conv1d_last_error());
    }

    c1_store s;
    if (c1_store_open(&s, path, false) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_FAILURE, "winners", "%s", conv1d_last_error());

    const c1_store_winner_query q = {.fingerprint = fingerprint, .with_stale = all};
    c1_store_winner_row *w = NULL;
    size_t n = 0;
    if (c1_store_load_winners(&s, &q, &w, &n) != CONV1D_OK) {
        int rc = c1_cli_error(C1_EXIT_FAILURE, "winners", "%s", conv1d_last_error());
        c1_store_close(&s);
        return rc;
    }
    c1_store_close(&s);

    row *rows = calloc(n ? n : 1, sizeof *rows);
    double log_sum = 0;
    int with_peer = 0;
    bool oom = !rows;
    for (size_t i = 0; i < n && !oom; i++) {
        row *r = &rows[i];
        r->cell[C_SHAPE] = strdup(w[i].key);
        r->cell[C_DEVICE] = strdup(w[i].device);
        r->cell[C_PRECISION] = strdup(w[i].precision);
        r->cell[C_VARIANT] = strdup(w[i].variant);
        r->cell[C_MEDIAN] = num_cell(w[i].median_ms, "%.6g", csv ? "" : "-");
        r->cell[C_P10] = num_cell(w[i].p10_ms, "%.6g", csv ? "" : "-");
        r->cell[C_P90] = num_cell(w[i].p90_ms, "%.6g", csv ? "" : "-");
        r->cell[C_PEER] = strdup(w[i].peer_variant ? w[i].peer_variant : csv ? "" : "-");
        r->cell[C_PEER_MS] = num_cell(w[i].peer_median_ms, "%.6g", csv ? "" : "-");
        r->cell[C_SPEEDUP] = num_cell(w[i].speedup, csv ? "%.6g" : "%.2fx", csv ? "" : "-");
        r->cell[C_TIE] = strdup(w[i].tie ? "1" : "0");
        r->cell[C_STALE] = strdup(w[i].stale ? "1" : "0");
        r->cell[C_HARDWARE] = strdup(w[i].fingerprint);
        for (int k = 0; k < NCOLS; k++) oom |= !r->cell[k];
        if (w[i].speedup > 0 && isfinite(w[i].speedup)) {
            log_sum += log(w[i].speedup);
            with_peer++;
        }
    }
    c1_store_free_winners(w, n);
    int rc = C1_EXIT_OK;
    if (oom) rc = c1_cli_error(C1_EXIT_FAILURE, "winners", "out of memory.");

    if (rc == C1_EXIT_OK && csv) {
        printf("%s\n", CSV_HEADER);
        for (size_t i = 0; i < n; i++) {
            csv_field(rows[i].cell[C_SHAPE], true, false);
            for (int k = 0; k < C_SHAPE; k++) csv_field(rows[i].cell[k], false, k == C_SHAPE - 1);
        }
    } else if (rc == C1_EXIT_OK) {
        int width[NCOLS];
        for (int k = 0; k < NCOLS; k++) width[k] = (int)strlen(col_names[k]);
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < NCOLS; k++)
                if ((int)strlen(rows[i].cell[k]) > width[k]) width[k] = (int)strlen(rows[i].cell[k]);
        if (all)
            printf("winners in %s: every machine, stale ones included\n\n", path);
        else if (*fingerprint)
            printf("winners in %s: this machine (%s), current builds\n\n", path, fingerprint);
        else
            printf("winners in %s: every machine, current builds\n\n", path);
        /* Text columns align left, numbers right; the shape, the widest, comes last and is not padded. */
        const bool right[NCOLS] = {[C_MEDIAN] = true, [C_P10] = true, [C_P90] = true, [C_PEER_MS] = true,
                                   [C_SPEEDUP] = true, [C_TIE] = true, [C_STALE] = true};
        for (size_t i = 0; i <= n; i++)
            for (int k = 0; k < NCOLS; k++) {
                const char *cell = i == 0 ? col_names[k] : rows[i - 1].cell[k];
                if (k == NCOLS - 1)
                    printf("%s\n", cell);
                else
                    printf(right[k] ? "%*s  " : "%-*s  ", width[k], cell);
            }
        if (n == 0) printf("(none%s)\n", all ? "" : "; --all shows other machines and stale winners");
        if (with_peer > 0)
            printf("\ngeometric mean speedup over the peer: %.2fx across %d of %zu winners\n",
                   exp(log_sum / with_peer), with_peer, n);
        else if (n > 0)
            printf("\nno winner has a peer measurement: no speedup to summarise\n");
    }
    if (rows) free_rows(rows, n);
    return rc;
}
