/* Internal: the conv1d-tune command line. Each subcommand lives in its own autotune/cli_<name>.c. */
#ifndef CONV1D_CLI_H
#define CONV1D_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "conv1d.h"

/* Exit statuses of every subcommand. */
enum { C1_EXIT_OK = 0, C1_EXIT_FAILURE = 1, C1_EXIT_USAGE = 2 };

int c1_cli_main(int argc, char **argv);

/* Subcommands: argv[0] is the subcommand's name; each handles --help itself. */
int c1_cmd_describe(int argc, char **argv);
int c1_cmd_list(int argc, char **argv);
int c1_cmd_run(int argc, char **argv);
int c1_cmd_bench(int argc, char **argv);
int c1_cmd_sweep(int argc, char **argv);
int c1_cmd_winners(int argc, char **argv);
int c1_cmd_merge(int argc, char **argv);
int c1_cmd_diff(int argc, char **argv);
int c1_cmd_hw(int argc, char **argv);
int c1_cmd_export(int argc, char **argv);
int c1_cmd_fit(int argc, char **argv);
int c1_cmd_bench_dispatch(int argc, char **argv);

/* "conv1d-tune SUB: <message>" on stderr; returns `code` so callers can `return c1_cli_error(...)`. */
int c1_cli_error(int code, const char *sub, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes one CSV field (RFC 4180: quoted when asked or when it holds a comma, quote or line break;
 * quotes doubled). */
void c1_cli_csv_field(FILE *f, const char *s, bool force_quote);

/* Parses --shape text and an optional --layout override ("nwc", "ncw" or NULL) into *d and validates it.
 * On failure prints the reason and returns C1_EXIT_USAGE; else C1_EXIT_OK. */
int c1_cli_shape(const char *sub, const char *shape, const char *layout, conv1d_desc *d);

/* The most memory one problem may take in the commands that allocate it (bench, run, sweep): its input,
 * weights, bias and output in float32 plus the double-precision reference output. A descriptor over the
 * limit is refused before anything is allocated or any database is opened, so a typing slip cannot end in
 * the out-of-memory killer. $CONV1D_MAX_BYTES (a positive decimal number of bytes) replaces the default. */
#define C1_CLI_MAX_BYTES_DEFAULT ((unsigned long long)16 << 30)

/* The bytes counted against the limit for *d (a validated descriptor); saturates instead of wrapping. */
unsigned long long c1_cli_problem_bytes(const conv1d_desc *d);

/* C1_EXIT_OK when *d fits the limit; else prints why (sizes, limit, how to raise it) and returns
 * C1_EXIT_USAGE. A malformed $CONV1D_MAX_BYTES is refused the same way. */
int c1_cli_check_size(const char *sub, const conv1d_desc *d);

#endif
