/* conv1d-tune list: the registered variants, as a table or CSV. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "variant.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune list [--csv]\n\n"
               "Lists the variants built into this program, the reference first.\n\n"
               "options:\n"
               "  --csv    CSV with the header variant,family,device,precision\n"
               "  --help   this text\n");
}

int c1_cmd_list(int argc, char **argv)
{
    static const struct option options[] = {
        {"csv", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int csv = 0, c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'c': csv = 1; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        default: return c1_cli_error(C1_EXIT_USAGE, "list", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind < argc) return c1_cli_error(C1_EXIT_USAGE, "list", "unexpected argument '%s'.", argv[optind]);

    size_t n;
    const c1_variant *v = c1_variant_list(&n);
    int name_w = (int)strlen("variant"), family_w = (int)strlen("family");
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(v[i].name) > name_w) name_w = (int)strlen(v[i].name);
        if ((int)strlen(v[i].family) > family_w) family_w = (int)strlen(v[i].family);
    }
    if (csv)
        printf("variant,family,device,precision\n");
    else
        printf("%-*s  %-*s  %-6s  %s\n", name_w, "variant", family_w, "family", "device", "precision");
    for (size_t i = 0; i < n; i++) {
        const char *dev = c1_device_name(v[i].device), *prec = c1_precision_name(v[i].precision);
        if (csv)
            printf("%s,%s,%s,%s\n", v[i].name, v[i].family, dev, prec);
        else
            printf("%-*s  %-*s  %-6s  %s\n", name_w, v[i].name, family_w, v[i].family, dev, prec);
    }
    return C1_EXIT_OK;
}
