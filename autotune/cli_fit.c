/* conv1d-tune fit: refits the dispatcher's time models (runtime/model.h) from a database's measurements. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "build_info.h"
#include "cli.h"
#include "fit.h"
#include "lookup.h"
#include "store.h"

static const char *sub = "fit";

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune fit [--db PATH] [--quiet]\n\n"
               "Refits the time models that conv1d_plan_create uses for shapes without an exact winner, from\n"
               "every variant's measurements in the database, for every machine and build it holds, and lists\n"
               "this machine's and build's models (variant, layout, kind, shapes fitted, rms error of ln t).\n"
               "A sweep and a merge refit them on their own; this is for a database edited by other means.\n\n"
               "options:\n"
               "  --db PATH   results database (default: $CONV1D_DB, else results/conv1d.db)\n"
               "  --quiet     do not list the models\n"
               "  --help      this text\n\n"
               "exit status: 0 ok, 1 unusable database, 2 usage error\n");
}

int c1_cmd_fit(int argc, char **argv)
{
    enum { OPT_DB = 256 };
    static const struct option options[] = {
        {"db", required_argument, NULL, OPT_DB}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *db_path = NULL;
    int quiet = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", options, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, sub, "option %s needs a value.", argv[optind - 1]);
        default: return c1_cli_error(C1_EXIT_USAGE, sub, "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, sub, "unexpected argument '%s'.", argv[optind]);
    if (!db_path) db_path = c1_store_default_path();
    c1_store s;
    if (c1_store_open(&s, db_path, true) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_FAILURE, sub, "%s", conv1d_last_error());
    size_t n = 0;
    if (c1_fit_store_all(&s, &n) != CONV1D_OK) {
        c1_store_close(&s);
        return c1_cli_error(C1_EXIT_FAILURE, sub, "%s", conv1d_last_error());
    }
    c1_model *m = NULL;
    size_t mine = 0;
    conv1d_status st = c1_store_load_models(&s, c1_machine_fingerprint(), c1_build_info_get()->signature, &m, &mine);
    c1_store_close(&s);
    if (st != CONV1D_OK) return c1_cli_error(C1_EXIT_FAILURE, sub, "%s", conv1d_last_error());
    fprintf(stderr, "fit: %zu time models in %s, %zu of them for this machine and build\n", n, db_path, mine);
    if (!quiet) {
        printf("%-28s %-6s %-9s %-6s %7s %8s\n", "variant", "layout", "kind", "device", "shapes", "rms_ln_t");
        for (size_t i = 0; i < mine; i++)
            printf("%-28s %-6s %-9s %-6s %7d %8.3f%s\n", m[i].variant, m[i].layout == CONV1D_LAYOUT_NCW ? "ncw" : "nwc",
                   c1_shape_kind_name(m[i].kind), m[i].device, m[i].samples, m[i].rms,
                   m[i].samples < C1_MODEL_MIN_SAMPLES ? "  (too few shapes to predict)" : "");
    }
    free(m);
    return fflush(stdout) == 0 ? C1_EXIT_OK : c1_cli_error(C1_EXIT_FAILURE, sub, "cannot write the output.");
}
