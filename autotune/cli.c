/* conv1d-tune: subcommand dispatch and helpers shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "isa.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"describe", c1_cmd_describe, "canonical form, output length, FLOPs, bytes and intensity of a shape"},
    {"list", c1_cmd_list, "the registered variants"},
    {"run", c1_cmd_run, "one convolution on .npy files"},
    {"sweep", c1_cmd_sweep, "tune a suite of shapes on the CPU and GPU into the results database (resumable)"},
    {"winners", c1_cmd_winners, "the stored winner per shape, with the speedup over the peer"},
    {"merge", c1_cmd_merge, "merge results databases (shards, other machines) into one"},
    {"diff", c1_cmd_diff, "compare the winners of two results databases"},
    {"bench", c1_cmd_bench, "check and time every applicable variant of a device (cpu, cuda) on one shape"},
    {"hw", c1_cmd_hw, "this machine: fingerprint, CPU, caches, ISA, libraries, GPUs, ceilings"},
    {"bench-dispatch", c1_cmd_bench_dispatch, "the dispatcher's overhead: execute via a plan vs direct, plan_create"},
    {"fit", c1_cmd_fit, "refit the dispatcher's time models from a database's measurements"},
    {"export", c1_cmd_export, "this machine's winners as a C table to build into libconv1d (make TUNED=)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune COMMAND [OPTIONS]   (conv1d-tune COMMAND --help for its options)\n\n"
               "Benchmarks and tunes 1-D convolution kernels (libconv1d %s).\n\ncommands:\n",
            conv1d_version_string());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
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
        if (strcmp(argv[1], commands[i].name) == 0) {
            /* A mistyped cap would otherwise measure or dispatch on the wrong ISA without a word. */
            if (c1_isa_check_env() != CONV1D_OK) return c1_cli_error(C1_EXIT_USAGE, argv[1], "%s", conv1d_last_error());
            return commands[i].fn(argc - 1, argv + 1);
        }
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

unsigned long long c1_cli_problem_bytes(const conv1d_desc *d)
{
    const unsigned long long terms[][2] = {
        {(unsigned long long)conv1d_input_elems(d), sizeof(float)},
        {(unsigned long long)conv1d_weight_elems(d), sizeof(float)},
        {d->has_bias ? (unsigned long long)d->out_channels : 0, sizeof(float)},
        {(unsigned long long)conv1d_output_elems(d), sizeof(float) + sizeof(double)},
    };
    unsigned long long total = 0, t;
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        if (__builtin_mul_overflow(terms[i][0], terms[i][1], &t) || __builtin_add_overflow(total, t, &total))
            return ~0ULL;
    return total;
}

int c1_cli_check_size(const char *sub, const conv1d_desc *d)
{
    unsigned long long limit = C1_CLI_MAX_BYTES_DEFAULT;
    const char *env = getenv("CONV1D_MAX_BYTES");
    if (env && *env) {
        char *end = NULL;
        errno = 0;
        const unsigned long long v = strtoull(env, &end, 10);
        if (errno || *end || v == 0 || env[0] == '-' || env[0] == '+' || env[0] == ' ')
            return c1_cli_error(C1_EXIT_USAGE, sub,
                                "CONV1D_MAX_BYTES must be a positive decimal number of bytes, got '%.40s'.", env);
        limit = v;
    }
    const unsigned long long need = c1_cli_problem_bytes(d);
    if (need <= limit) return C1_EXIT_OK;
    char text[512];
    conv1d_desc_format(d, text, sizeof text);
    return c1_cli_error(C1_EXIT_USAGE, sub,
                        "the shape %s needs %.4g GiB for its input, weights, output and reference, over the "
                        "limit of %.4g GiB (set CONV1D_MAX_BYTES to raise it).",
                        text, (double)need / (1ull << 30), (double)limit / (1ull << 30));
}
