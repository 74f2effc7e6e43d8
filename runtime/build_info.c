/* The build's identity: library version, compiler, library versions and the variant set, hashed. A build
 * without oneDNN (ONEDNN=0) records "none" as its oneDNN version. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef C1_NO_ONEDNN
#include "oneapi/dnnl/dnnl.h"
#endif

#include "basics.h"
#include "build_info.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif
#ifdef C1_HAVE_CUDNN
#include <cudnn_version.h>
#endif

static c1_build_info info;
static pthread_once_t once = PTHREAD_ONCE_INIT;


static void compute(void)
{
    snprintf(info.version, sizeof info.version, "%s", conv1d_version_string());
    snprintf(info.compiler, sizeof info.compiler, "gcc-compatible %s", __VERSION__);
#ifdef C1_NO_ONEDNN
    snprintf(info.onednn, sizeof info.onednn, "none"); /* ONEDNN=0: built without the CPU peer */
#else
    const dnnl_version_t *v = dnnl_version();
    snprintf(info.onednn, sizeof info.onednn, "%d.%d.%d", v->major, v->minor, v->patch);
#endif
#ifdef C1_HAVE_CUDA
    snprintf(info.cuda, sizeof info.cuda, "%d.%d", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
#endif
#ifdef C1_HAVE_CUDNN
    snprintf(info.cudnn, sizeof info.cudnn, "%d.%d.%d", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
#elif defined(C1_HAVE_CUDA)
    snprintf(info.cudnn, sizeof info.cudnn, "none"); /* CUDNN=0: built without the GPU peer */
#endif
    size_t n;
    const c1_variant *list = c1_variant_list(&n);
    for (size_t i = 0; i < n; i++)
        c1_appendf(info.variants, sizeof info.variants, "%s %s %s %s %d,%d,%d,%d;", list[i].name, list[i].family,
               c1_device_name(list[i].device), c1_precision_name(list[i].precision), list[i].params[0],
               list[i].params[1], list[i].params[2], list[i].params[3]);

    uint64_t h = C1_FNV1A64_INIT;
    const char *fields[] = {info.version, info.compiler, info.onednn, info.cuda, info.cudnn, info.variants};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        h = c1_fnv1a64(h, fields[f], strlen(fields[f]) + 1); /* the NUL separates fields */
    snprintf(info.signature, sizeof info.signature, "%016llx", (unsigned long long)h);
}

const c1_build_info *c1_build_info_get(void)
{
    pthread_once(&once, compute);
    return &info;
}
