/* conv1d-tune: entry point; subcommands live in autotune/cli_*.c. */
#include <omp.h>
#include <stdio.h>

#include "cli.h"
#include "measure.h"

/* The most OpenMP threads a team may have, as for --threads. libgomp keeps a per-thread record of each new
 * team on the stack, so an absurd OMP_NUM_THREADS (about 100000) crashes inside GOMP_parallel rather than
 * failing; the cap turns that into a warning. Reading and setting the count starts no thread. */
#define C1_MAX_OMP_THREADS 4096

int main(int argc, char **argv)
{
    if (omp_get_max_threads() > C1_MAX_OMP_THREADS) {
        fprintf(stderr, "conv1d-tune: OMP_NUM_THREADS asks for %d threads; using %d.\n", omp_get_max_threads(),
                C1_MAX_OMP_THREADS);
        omp_set_num_threads(C1_MAX_OMP_THREADS);
    }
    c1_harness_init(); /* GPU facts from a child: this process forks children that may use CUDA */
    return c1_cli_main(argc, argv);
}
