/* This machine's kernel context (kernel_ctx.h). */
#include <pthread.h>

#include "cpu_caches.h"
#include "kernel_ctx.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static c1_kernel_ctx machine;

static void discover(void)
{
    machine.isa = c1_isa_effective();
    machine.l1d_bytes = c1_hw_cache_bytes(1);
    machine.l2_bytes = c1_hw_cache_bytes(2);
    machine.l3_bytes = c1_hw_cache_bytes(3);
}

const c1_kernel_ctx *c1_kernel_ctx_machine(void)
{
    pthread_once(&once, discover);
    return &machine;
}
