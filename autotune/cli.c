/* conv1d-tune: subcommand dispatch and helpers shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"describe", c1_cmd_describe, "canonical form, output length, FLOPs, bytes and intensity of a shape"},
    {"list", c1_cmd_list, "the registered variants"},
    {"run", c1_cmd_run, "one convolution on .npy files"},
    {"sweep", c1_cmd_sweep, "tune a suite of shapes into the results database (resumable)"},
    {"winners", c1_cmd_winners, "the stored winner per shape, with the speedup over the peer"},
    {"merge", c1_cmd_merge, "merge results databases (shards, other machines) into one"},
    {"diff", c1_cmd_diff, "compare the winners of two results databases"},
    {"bench", c1_cmd_bench, "check and time every applicable variant on one shape"},
    {"hw", c1_cmd_hw, "this machine: fingerprint, CPU, caches, ISA, libraries, GPUs, ceilings"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune COMMAND [OPTIONS]   (conv1d-tune COMMAND --help for its options)\n\n"
               "Benchmarks and tunes 1-D convolution kernels (libconv1d %s).\n\ncommands:\n",
            conv1d_version_string());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int c1_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return C1_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return C1_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("conv1d-tune %s\n", conv1d_version_string());
        return C1_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "conv1d-tune: unknown command '%s'.\n", argv[1]);
    usage(stderr);
    return C1_EXIT_USAGE;
}

int c1_cli_error(int code, const char *sub, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "conv1d-tune %s: ", sub);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void c1_cli_csv_field(FILE *f, const char *s, bool force_quote)
{
    if (!force_quote && !strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int c1_cli_shape(const char *sub, const char *shape, const char *layout, conv1d_desc *d)
{
    if (!shape) return c1_cli_error(C1_EXIT_USAGE, sub, "--shape DESC is required.");
    if (conv1d_desc_parse(shape, d) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_USAGE, sub, "bad --shape: %s", conv1d_last_error());
    if (layout) {
        if (strcmp(layout, "nwc") == 0)
            d->layout = CONV1D_LAYOUT_NWC;
        else if (strcmp(layout, "ncw") == 0)
            d->layout = CONV1D_LAYOUT_NCW;
        else
            return c1_cli_error(C1_EXIT_USAGE, sub, "--layout must be nwc or ncw, got '%s'.", layout);
    }
    if (conv1d_desc_validate(d) != CONV1D_OK)
        return c1_cli_error(C1_EXIT_USAGE, sub, "invalid shape: %s", conv1d_last_error());
    return C1_EXIT_OK;
}
