/*
 * conv1d-tune merge: folds results databases (shards of one sweep, other machines) into one, in a single
 * transaction, without duplicates (the store's merge, runtime/store_merge.c, says how rows are matched), then
 * refits the time models of the merged measurements.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "fit.h"
#include "store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune merge --db OUT INPUT.db [INPUT.db ...]\n\n"
               "Merges results databases (the shards of a sweep, or sweeps of other machines) into OUT, which is\n"
               "created when missing. Hardware, builds, shapes and runs are matched by their natural keys, so\n"
               "nothing is duplicated: a run already in OUT is skipped along with its measurements, and merging\n"
               "the same file again adds nothing. When OUT and an input both have a winner for the same\n"
               "(hardware, build, shape, device, precision), the one with the smaller median time is kept.\n"
               "Everything happens in one transaction: on any error OUT is left as it was.\n\n"
               "options:\n"
               "  --db OUT   the database to merge into (required)\n"
               "  --help     this text\n\n"
               "exit status: 0 merged, 1 an input or OUT is not a usable conv1d-tune database, 2 usage error\n");
}

int c1_cmd_merge(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL;
    int c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'd': out_path = optarg; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, "merge", "%s needs a value.", argv[optind - 1]);
        default:
            return c1_cli_error(C1_EXIT_USAGE, "merge", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (!out_path || !*out_path) return c1_cli_error(C1_EXIT_USAGE, "merge", "--db OUT is required (see --help).");
    const int ninputs = argc - optind;
    if (ninputs < 1) return c1_cli_error(C1_EXIT_USAGE, "merge", "name at least one input database.");

    /* Every input is checked before OUT is touched, so a bad one leaves OUT as it was. */
    for (int i = optind; i < argc; i++) {
        c1_store in;
        char msg[1400];
        if (!c1_store_open_merge_input(&in, argv[i], msg, sizeof msg))
            return c1_cli_error(C1_EXIT_FAILURE, "merge", "%s Nothing was merged.", msg);
        c1_store_close(&in);
    }

    struct stat sb;
    const bool created = stat(out_path, &sb) != 0 && errno == ENOENT;
    c1_store out;
    if (c1_store_open(&out, out_path, true) != CONV1D_OK) {
        int rc = c1_cli_error(C1_EXIT_FAILURE, "merge", "%s", conv1d_last_error());
        if (created) c1_store_remove(out_path);
        return rc;
    }
    if (c1_store_begin(&out) != CONV1D_OK) {
        int rc = c1_cli_error(C1_EXIT_FAILURE, "merge", "%s", conv1d_last_error());
        c1_store_close(&out);
        if (created) c1_store_remove(out_path);
        return rc;
    }
    c1_store_merge_counts added = {0};
    int rc = C1_EXIT_OK;
    for (int i = optind; i < argc && rc == C1_EXIT_OK; i++) {
        c1_store in;
        char msg[1400], why[1200] = "";
        if (!c1_store_open_merge_input(&in, argv[i], msg, sizeof msg)) {
            rc = c1_cli_error(C1_EXIT_FAILURE, "merge", "%s Nothing was merged.", msg);
            break;
        }
        if (!c1_store_merge(&out, &in, &added, why, sizeof why))
            rc = c1_cli_error(C1_EXIT_FAILURE, "merge", "merging %s into %s: %s. Nothing was merged.", argv[i],
                              out_path, why);
        c1_store_close(&in);
    }
    if (rc == C1_EXIT_OK && c1_store_commit(&out) != CONV1D_OK)
        rc = c1_cli_error(C1_EXIT_FAILURE, "merge", "%s Nothing was merged.", conv1d_last_error());
    if (rc != C1_EXIT_OK) c1_store_rollback(&out);
    /* The time models follow the merged measurements (a separate transaction: the merge itself stands). */
    size_t n_models = 0;
    if (rc == C1_EXIT_OK && c1_fit_store_all(&out, &n_models) != CONV1D_OK)
        fprintf(stderr, "conv1d-tune merge: the time models were not refitted: %s\n", conv1d_last_error());
    c1_store_close(&out);
    if (rc != C1_EXIT_OK) {
        if (created) c1_store_remove(out_path);
        return rc;
    }
    printf("%s: added %lld runs, %lld measurements, %lld winners (%lld replacing slower ones) from %d input%s\n",
           out_path, added.runs, added.measurements, added.winners, added.winners_replaced, ninputs,
           ninputs == 1 ? "" : "s");
    return C1_EXIT_OK;
}
