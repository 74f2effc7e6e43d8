/* The build's identity: library version, compiler, library versions and the variant set, hashed. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "oneapi/dnnl/dnnl.h"

#include "build_info.h"
#include "variant.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <cudnn_version.h>
#endif

static c1_build_info info;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    const size_t used = strlen(buf);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static void compute(void)
{
    snprintf(info.version, sizeof info.version, "%s", conv1d_version_string());
    snprintf(info.compiler, sizeof info.compiler, "gcc-compatible %s", __VERSION__);
    const dnnl_version_t *v = dnnl_version();
    snprintf(info.onednn, sizeof info.onednn, "%d.%d.%d", v->major, v->minor, v->patch);
#ifdef C1_HAVE_CUDA
    snprintf(info.cuda, sizeof info.cuda, "%d.%d", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    snprintf(info.cudnn, sizeof info.cudnn, "%d.%d.%d", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
#endif
    size_t n;
    const c1_variant *list = c1_variant_list(&n);
    for (size_t i = 0; i < n; i++)
        append(info.variants, sizeof info.variants, "%s %s %s %s %d,%d,%d,%d;", list[i].name, list[i].family,
               c1_device_name(list[i].device), c1_precision_name(list[i].precision), list[i].params[0],
               list[i].params[1], list[i].params[2], list[i].params[3]);

    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    const char *fields[] = {info.version, info.compiler, info.onednn, info.cuda, info.cudnn, info.variants};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        for (const char *p = fields[f];; p++) {
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull; /* the NUL separates fields */
            if (!*p) break;
        }
    snprintf(info.signature, sizeof info.signature, "%016llx", (unsigned long long)h);
}

const c1_build_info *c1_build_info_get(void)
{
    pthread_once(&once, compute);
    return &info;
}
