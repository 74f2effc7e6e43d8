/* conv1d-tune describe: what a descriptor means (canonical form, sizes, work, traffic, tensor shapes). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "npy.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune describe DESC [--layout nwc|ncw] [--plan] [--db PATH]\n\n"
               "Prints the canonical form of the descriptor DESC (key=value or benchdnn form), its output length,\n"
               "FLOPs (a multiply-add counts 2), the minimum bytes moved (every tensor read or written once),\n"
               "the arithmetic intensity, and the tensor shapes in the layout.\n\n"
               "options:\n"
               "  --layout nwc|ncw   override the descriptor's layout\n"
               "  --plan             also the variant libconv1d's dispatcher picks on this machine, and why\n"
               "                     (conv1d_plan_create in database mode; no data is touched)\n"
               "  --db PATH          the results database for --plan (default: $CONV1D_DB, else\n"
               "                     results/conv1d.db)\n"
               "  --help             this text\n");
}

/* 1234567 -> "1.23 M" style, for readers; the exact number is printed next to it. */
static const char *human(double v, char buf[32])
{
    static const char *units[] = {" ", " k", " M", " G", " T", " P", " E"};
    int u = 0;
    for (; v >= 1000.0 && u < 6; u++) v /= 1000.0;
    snprintf(buf, 32, u ? "%.3g%s" : "%.0f%s", v, units[u]);
    return buf;
}

static void print_tensor(const char *name, const char *axes, int ndim, const int64_t *shape)
{
    char text[128];
    c1_npy_format_shape(text, sizeof text, ndim, shape);
    printf("%-15s%s  %s\n", name, text, axes);
}

int c1_cmd_describe(int argc, char **argv)
{
    static const struct option options[] = {
        {"layout", required_argument, NULL, 'l'},
        {"plan", no_argument, NULL, 'p'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *layout = NULL, *db_path = NULL;
    int c, plan = 0;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'l': layout = optarg; break;
        case 'p': plan = 1; break;
        case 'd': db_path = optarg; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, "describe", "option %s needs a value.", argv[optind - 1]);
        default: return c1_cli_error(C1_EXIT_USAGE, "describe", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return c1_cli_error(C1_EXIT_USAGE, "describe", "expected exactly one descriptor, got %d arguments.",
                            argc - optind);
    }
    conv1d_desc d;
    int rc = c1_cli_shape("describe", argv[optind], layout, &d);
    if (rc != C1_EXIT_OK) return rc;

    char canonical[512], buf[32];
    conv1d_desc_format(&d, canonical, sizeof canonical);
    const int64_t ol = conv1d_output_length(&d), cg = d.in_channels / d.num_groups;
    const double flops = conv1d_desc_flops(&d), bytes = conv1d_desc_min_bytes(&d);
    const int nwc = d.layout == CONV1D_LAYOUT_NWC;
    printf("%-15s%s\n", "canonical:", canonical);
    printf("%-15s%s\n", "layout:", nwc ? "nwc" : "ncw");
    printf("%-15s%lld\n", "output_length:", (long long)ol);
    printf("%-15s%.0f (%sFLOP)\n", "flops:", flops, human(flops, buf));
    printf("%-15s%.0f (%sB)\n", "min_bytes:", bytes, human(bytes, buf));
    printf("%-15s%.4g FLOP/byte\n", "intensity:", flops / bytes);
    if (nwc) {
        print_tensor("input:", "(batch, length, in_channels)", 3, (int64_t[]){d.batch, d.length, d.in_channels});
        print_tensor("weight:", "(kernel_size, in_channels/groups, out_channels)", 3,
                     (int64_t[]){d.kernel_size, cg, d.out_channels});
        print_tensor("output:", "(batch, out_length, out_channels)", 3, (int64_t[]){d.batch, ol, d.out_channels});
    } else {
        print_tensor("input:", "(batch, in_channels, length)", 3, (int64_t[]){d.batch, d.in_channels, d.length});
        print_tensor("weight:", "(out_channels, in_channels/groups, kernel_size)", 3,
                     (int64_t[]){d.out_channels, cg, d.kernel_size});
        print_tensor("output:", "(batch, out_channels, out_length)", 3, (int64_t[]){d.batch, d.out_channels, ol});
    }
    if (d.has_bias)
        print_tensor("bias:", "(out_channels,)", 1, &d.out_channels);
    else
        printf("%-15snone\n", "bias:");
    if (plan) {
        conv1d_options o;
        conv1d_options_init(&o);
        o.db_path = db_path;
        conv1d_plan *p;
        if (conv1d_plan_create(&p, &d, &o) != CONV1D_OK)
            return c1_cli_error(C1_EXIT_FAILURE, "describe", "%s", conv1d_last_error());
        printf("%-15s%s\n", "plan:", conv1d_plan_variant(p));
        printf("%-15s%s\n", "chosen:", conv1d_plan_explain(p));
        conv1d_plan_destroy(p);
    }
    return fflush(stdout) == 0 ? C1_EXIT_OK : c1_cli_error(C1_EXIT_FAILURE, "describe", "cannot write the output.");
}
