/* conv1d-tune: entry point; subcommands live in autotune/cli_*.c. */
#include "cli.h"

int main(int argc, char **argv) { return c1_cli_main(argc, argv); }
