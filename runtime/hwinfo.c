/* The machine fingerprint: hwloc topology, cpuid ISA flags, OS, build, oneDNN and CUDA versions. */
#include "hwinfo.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <hwloc.h>
#ifndef C1_NO_ONEDNN
#include <oneapi/dnnl/dnnl.h>

#include "onednn.h"
#endif

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif
#ifdef C1_HAVE_CUDNN
#include <cudnn.h>
#endif

#include "basics.h"
#include "error.h"

#ifndef C1_BUILD_FLAGS
#define C1_BUILD_FLAGS "unknown"
#endif

/* Copies src (or "unknown" when it is NULL or empty), truncating to fit. */
static void copy_str(char *dst, size_t size, const char *src)
{
    if (!src || !*src) src = "unknown";
    size_t n = strlen(src);
    if (n > size - 1) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- topology (hwloc) --------------------------------------------------------------------------------- */

static int info_int(hwloc_obj_t obj, const char *name)
{
    const char *s = obj ? hwloc_obj_get_info_by_name(obj, name) : NULL;
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 0);
    return *end == '\0' && v >= 0 && v <= 1 << 30 ? (int)v : -1;
}

/* Fills the CPU, cache and memory fields. */
static conv1d_status fill_topology(c1_hwinfo *hw)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) return c1_fail(CONV1D_DEVICE_ERROR, "hwloc could not be initialised.");
    /* A library must not move its caller's threads: without this flag hwloc's x86 backend binds the calling thread
     * to each PU in turn to run cpuid there. The Linux backend still reports everything the record holds (on the
     * machines of results/, the same record and fingerprint), and discovery takes about 0.8 ms instead of 1.1. */
    (void)hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING);
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return c1_fail(CONV1D_DEVICE_ERROR, "hwloc could not discover this machine's topology.");
    }
    hw->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    hw->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    hw->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    hw->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    /* Some platforms expose no package or core objects; count what is there rather than report 0. */
    if (hw->pus <= 0) {
        hwloc_topology_destroy(topo);
        return c1_fail(CONV1D_DEVICE_ERROR, "hwloc found no processing units on this machine.");
    }
    if (hw->cores <= 0) hw->cores = hw->pus;
    if (hw->packages <= 0) hw->packages = 1;
    if (hw->numa_nodes <= 0) hw->numa_nodes = 1;

    hwloc_obj_t root = hwloc_get_root_obj(topo);
    hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
    /* The CPU description sits on the package on x86 and on the root object elsewhere. */
    const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
    if (!model) model = hwloc_obj_get_info_by_name(root, "CPUModel");
    const char *vendor = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUVendor") : NULL;
    if (!vendor) vendor = hwloc_obj_get_info_by_name(root, "CPUVendor");
    copy_str(hw->cpu_model, sizeof hw->cpu_model, model);
    copy_str(hw->cpu_vendor, sizeof hw->cpu_vendor, vendor);
    hwloc_obj_t info_obj = pkg && hwloc_obj_get_info_by_name(pkg, "CPUFamilyNumber") ? pkg : root;
    hw->cpu_family = info_int(info_obj, "CPUFamilyNumber");
    hw->cpu_model_number = info_int(info_obj, "CPUModelNumber");
    hw->cpu_stepping = info_int(info_obj, "CPUStepping");

    hw->l1d = c1_hw_cache_level(topo, HWLOC_OBJ_L1CACHE);
    hw->l2 = c1_hw_cache_level(topo, HWLOC_OBJ_L2CACHE);
    hw->l3 = c1_hw_cache_level(topo, HWLOC_OBJ_L3CACHE);
    hw->memory_bytes = root->total_memory > 0 ? (int64_t)root->total_memory : -1;
    hwloc_topology_destroy(topo);
    return CONV1D_OK;
}

/* ---- oneDNN and CUDA ---------------------------------------------------------------------------------- */

#ifdef C1_NO_ONEDNN
/* A build without oneDNN (ONEDNN=0): the record says so, and the fingerprint text reads "onednn=none none". */
static void fill_onednn(c1_hwinfo *hw)
{
    copy_str(hw->onednn_version, sizeof hw->onednn_version, "none");
    copy_str(hw->onednn_hash, sizeof hw->onednn_hash, "none");
    copy_str(hw->onednn_isa, sizeof hw->onednn_isa, "none");
}
#else

/* oneDNN's dnnl_cpu_isa_t values, written as numbers so that any oneDNN 3.x header compiles here even if it
 * lacks some of the names; the values are bit sets that oneDNN keeps stable. */
static const char *onednn_isa_name(unsigned isa)
{
    static const struct {
        unsigned value;
        const char *name;
    } names[] = {
        {0x0, "default"},          {0x1, "sse41"},          {0x3, "avx"},
        {0x7, "avx2"},             {0xf, "avx2_vnni"},      {0x1f, "avx2_vnni_2"},
        {0x27, "avx512_core"},     {0x67, "avx512_core_vnni"}, {0xe7, "avx512_core_bf16"},
        {0x1ef, "avx512_core_fp16"}, {0xfef, "avx512_core_amx"}, {0x1fef, "avx512_core_amx_fp16"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == isa) return names[i].name;
    return NULL;
}

static void fill_onednn(c1_hwinfo *hw)
{
    const dnnl_version_t *v = dnnl_version();
    if (v)
        snprintf(hw->onednn_version, sizeof hw->onednn_version, "%d.%d.%d", v->major, v->minor, v->patch);
    else
        copy_str(hw->onednn_version, sizeof hw->onednn_version, NULL);
    copy_str(hw->onednn_hash, sizeof hw->onednn_hash, v ? v->hash : NULL);
    c1_onednn_limit_isa(); /* the record shows what oneDNN dispatches to under the CONV1D_ISA cap */
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    const char *name = onednn_isa_name(isa);
    if (name)
        copy_str(hw->onednn_isa, sizeof hw->onednn_isa, name);
    else
        snprintf(hw->onednn_isa, sizeof hw->onednn_isa, "isa_0x%x", isa);
}
#endif

#ifdef C1_HAVE_CUDA
static void format_uuid(const unsigned char b[16], char *out, size_t size)
{
    snprintf(out, size,
             "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void cuda_error_text(c1_hwinfo *hw, const char *what, cudaError_t e)
{
    snprintf(hw->cuda_error, sizeof hw->cuda_error, "%s: %s (%s)", what, cudaGetErrorString(e),
             cudaGetErrorName(e));
    (void)cudaGetLastError(); /* leave no sticky error behind for later CUDA users in this process */
}

static void fill_cuda(c1_hwinfo *hw)
{
    hw->cuda_compiled = 1;
    int v = 0;
    if (cudaDriverGetVersion(&v) == cudaSuccess) hw->cuda_driver_version = v;
    v = 0;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) hw->cuda_runtime_version = v;

    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cuda_error_text(hw, "cudaGetDeviceCount", e);
        return;
    }
    if (n <= 0) {
        snprintf(hw->cuda_error, sizeof hw->cuda_error, "no CUDA device is visible");
        return;
    }
    if (n > C1_HW_MAX_GPUS) n = C1_HW_MAX_GPUS;
    for (int i = 0; i < n; i++) {
        struct cudaDeviceProp prop;
        e = cudaGetDeviceProperties(&prop, i);
        if (e != cudaSuccess) {
            cuda_error_text(hw, "cudaGetDeviceProperties", e);
            break;
        }
        c1_hw_gpu *g = &hw->gpus[hw->gpu_count++];
        copy_str(g->name, sizeof g->name, prop.name);
        format_uuid((const unsigned char *)prop.uuid.bytes, g->uuid, sizeof g->uuid);
        g->sm_count = prop.multiProcessorCount;
        g->cc_major = prop.major;
        g->cc_minor = prop.minor;
        g->memory_bytes = (int64_t)prop.totalGlobalMem;
        g->l2_bytes = prop.l2CacheSize;
    }
#ifdef C1_HAVE_CUDNN
    /* Asked only with a GPU: the first cudnnGetVersion() loads cuDNN's libraries (0.7-4 ms, on the first plan of
     * every process), and without a GPU cuDNN can change no result (the build record names the cuDNN it has). */
    if (hw->gpu_count > 0) hw->cudnn_version = (int)cudnnGetVersion();
#endif
}
#endif

/* ---- collect ------------------------------------------------------------------------------------------ */

void c1_hw_collect_gpu(c1_hwinfo *hw)
{
    hw->cuda_compiled = hw->cuda_driver_version = hw->cuda_runtime_version = hw->cudnn_version = 0;
    hw->cuda_error[0] = '\0';
    hw->gpu_count = 0;
    memset(hw->gpus, 0, sizeof hw->gpus);
#ifdef C1_HAVE_CUDA
    fill_cuda(hw);
#endif
}

static c1_hw_gpu_probe_fn gpu_probe; /* NULL: c1_hw_collect_gpu here */

void c1_hw_set_gpu_probe(c1_hw_gpu_probe_fn fn) { __atomic_store_n(&gpu_probe, fn, __ATOMIC_RELEASE); }

conv1d_status c1_hw_collect(c1_hwinfo *hw)
{
    if (!hw) return c1_fail(CONV1D_INVALID_ARGUMENT, "The c1_hwinfo pointer is NULL.");
    memset(hw, 0, sizeof *hw);
    hw->cpu_family = hw->cpu_model_number = hw->cpu_stepping = -1;
    conv1d_status s = fill_topology(hw);
    if (s != CONV1D_OK) return s;
    hw->isa = c1_isa_effective_flags();
    copy_str(hw->isa_level, sizeof hw->isa_level, c1_isa_level_name(c1_isa_effective()));
    copy_str(hw->isa_cap, sizeof hw->isa_cap, c1_isa_capped() ? c1_isa_level_name(c1_isa_effective()) : "none");

    struct utsname u;
    if (uname(&u) == 0) {
        copy_str(hw->os_name, sizeof hw->os_name, u.sysname);
        copy_str(hw->os_release, sizeof hw->os_release, u.release);
        copy_str(hw->os_version, sizeof hw->os_version, u.version);
        copy_str(hw->os_machine, sizeof hw->os_machine, u.machine);
    } else {
        copy_str(hw->os_name, sizeof hw->os_name, NULL);
        copy_str(hw->os_release, sizeof hw->os_release, NULL);
        copy_str(hw->os_version, sizeof hw->os_version, NULL);
        copy_str(hw->os_machine, sizeof hw->os_machine, NULL);
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    copy_str(hw->hostname, sizeof hw->hostname, host);

#if defined(__clang__)
    copy_str(hw->compiler, sizeof hw->compiler, "clang " __clang_version__);
#elif defined(__GNUC__)
    copy_str(hw->compiler, sizeof hw->compiler, "gcc " __VERSION__);
#else
    copy_str(hw->compiler, sizeof hw->compiler, NULL);
#endif
    copy_str(hw->build_flags, sizeof hw->build_flags, C1_BUILD_FLAGS);
    unsigned hv = hwloc_get_api_version();
    snprintf(hw->hwloc_api_version, sizeof hw->hwloc_api_version, "%u.%u.%u", hv >> 16, (hv >> 8) & 0xff, hv & 0xff);

    fill_onednn(hw);
    const c1_hw_gpu_probe_fn probe = __atomic_load_n(&gpu_probe, __ATOMIC_ACQUIRE);
    (probe ? probe : c1_hw_collect_gpu)(hw);
    return CONV1D_OK;
}

/* ---- fingerprint -------------------------------------------------------------------------------------- */

typedef struct text_out {
    char *buf;
    size_t size, len;
} text_out;

static void out_printf(text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(text_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
}

size_t c1_hw_fingerprint_text(const c1_hwinfo *hw, char *buf, size_t size)
{
    text_out o = {buf, size, 0};
    if (size) buf[0] = '\0';
    int packages = hw->packages > 0 ? hw->packages : 1;
    out_printf(&o, "cpu_vendor=%s\ncpu_model=%s\ncpu_family=%d\ncpu_model_number=%d\n", hw->cpu_vendor,
               hw->cpu_model, hw->cpu_family, hw->cpu_model_number);
    out_printf(&o, "packages=%d\ncores_per_package=%d\npus_per_package=%d\n", hw->packages, hw->cores / packages,
               hw->pus / packages);
    out_printf(&o, "l1d=%" PRId64 "x%d\nl2=%" PRId64 "x%d\nl3=%" PRId64 "x%d\n", hw->l1d.size_bytes, hw->l1d.count,
               hw->l2.size_bytes, hw->l2.count, hw->l3.size_bytes, hw->l3.count);
    out_printf(&o, "isa=");
    const char *sep = "";
    for (int bit = 0; bit < 32; bit++) {
        const char *name = c1_isa_flag_name(1u << bit);
        /* F16C comes with AVX2 on every CPU that has both; left out so that earlier fingerprints stay valid. */
        if (name && (hw->isa & (1u << bit)) && (1u << bit) != C1_ISA_F16C) {
            out_printf(&o, "%s%s", sep, name);
            sep = ",";
        }
    }
    /* A capped process (CONV1D_ISA) runs other kernels: its results are another machine's. Uncapped records
     * print no line, so fingerprints taken before the cap existed still match. */
    if (strcmp(hw->isa_cap, "none") != 0 && hw->isa_cap[0]) out_printf(&o, "\nisa_cap=%s", hw->isa_cap);
    out_printf(&o, "\nonednn=%s %s\n", hw->onednn_version, hw->onednn_isa);
    /* Without a GPU the CUDA stack cannot change any result, so CUDA and non-CUDA builds agree. */
    if (hw->gpu_count > 0) {
        out_printf(&o, "cuda_driver=%d\ncuda_runtime=%d\ncudnn=%d\n", hw->cuda_driver_version,
                   hw->cuda_runtime_version, hw->cudnn_version);
        for (int i = 0; i < hw->gpu_count && i < C1_HW_MAX_GPUS; i++)
            out_printf(&o, "gpu%d=%s sm=%d cc=%d.%d\n", i, hw->gpus[i].name, hw->gpus[i].sm_count,
                       hw->gpus[i].cc_major, hw->gpus[i].cc_minor);
    }
    return o.len;
}

/* The fingerprint hash is FNV-1a 64 (c1_fnv1a64): simple, stable across platforms and compilers, and good
 * enough to tell machines apart; it is not a security hash. */
static uint64_t fnv1a64(const char *s, size_t n) { return c1_fnv1a64(C1_FNV1A64_INIT, s, n); }

void c1_hw_fingerprint(const c1_hwinfo *hw, char out[17])
{
    char stack[4096];
    size_t n = c1_hw_fingerprint_text(hw, stack, sizeof stack);
    uint64_t h;
    if (n < sizeof stack) {
        h = fnv1a64(stack, n);
    } else {
        char *heap = malloc(n + 1);
        if (heap) {
            c1_hw_fingerprint_text(hw, heap, n + 1);
            h = fnv1a64(heap, n);
            free(heap);
        } else {
            h = fnv1a64(stack, sizeof stack - 1); /* cannot happen with C1_HW_MAX_GPUS names of 256 bytes */
        }
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* ---- JSON --------------------------------------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
} jbuf;

static void jb_put(jbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_printf(jbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    jb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of a valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD so the output always parses. */
static void jb_str(jbuf *b, const char *s)
{
    jb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            jb_put(b, esc, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            jb_printf(b, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            jb_put(b, (const char *)p, 1);
            p++;
        } else {
            int n = utf8_len(p);
            if (n) {
                jb_put(b, (const char *)p, (size_t)n);
                p += n;
            } else {
                jb_put(b, "\\ufffd", 6);
                p++;
            }
        }
    }
    jb_put(b, "\"", 1);
}

static void jb_key(jbuf *b, const char *key, bool first)
{
    if (!first) jb_put(b, ",", 1);
    jb_str(b, key);
    jb_put(b, ":", 1);
}

static void jb_kstr(jbuf *b, const char *key, const char *v, bool first)
{
    jb_key(b, key, first);
    jb_str(b, v);
}

static void jb_kint(jbuf *b, const char *key, int64_t v, bool first)
{
    jb_key(b, key, first);
    jb_printf(b, "%" PRId64, v);
}

static void jb_cache(jbuf *b, const char *key, c1_hw_cache c, bool first)
{
    jb_key(b, key, first);
    jb_printf(b, "{\"size_bytes\":%" PRId64 ",\"count\":%d}", c.size_bytes, c.count);
}

conv1d_status c1_hw_to_json(const c1_hwinfo *hw, char **json)
{
    if (!hw || !json) return c1_fail(CONV1D_INVALID_ARGUMENT, "c1_hw_to_json needs a record and an output pointer.");
    *json = NULL;
    jbuf b = {0};
    char fp[17];
    c1_hw_fingerprint(hw, fp);

    jb_put(&b, "{", 1);
    jb_kstr(&b, "fingerprint", fp, true);

    jb_key(&b, "cpu", false);
    jb_put(&b, "{", 1);
    jb_kstr(&b, "model", hw->cpu_model, true);
    jb_kstr(&b, "vendor", hw->cpu_vendor, false);
    jb_kint(&b, "family", hw->cpu_family, false);
    jb_kint(&b, "model_number", hw->cpu_model_number, false);
    jb_kint(&b, "stepping", hw->cpu_stepping, false);
    jb_kint(&b, "packages", hw->packages, false);
    jb_kint(&b, "cores", hw->cores, false);
    jb_kint(&b, "pus", hw->pus, false);
    jb_kstr(&b, "isa_level", hw->isa_level, false);
    jb_kstr(&b, "isa_cap", hw->isa_cap, false);
    jb_key(&b, "isa", false);
    jb_put(&b, "{", 1);
    bool first = true;
    for (int bit = 0; bit < 32; bit++) {
        const char *name = c1_isa_flag_name(1u << bit);
        if (!name) continue;
        jb_key(&b, name, first);
        jb_printf(&b, "%s", hw->isa & (1u << bit) ? "true" : "false");
        first = false;
    }
    jb_put(&b, "}}", 2);

    jb_key(&b, "caches", false);
    jb_put(&b, "{", 1);
    jb_cache(&b, "l1d", hw->l1d, true);
    jb_cache(&b, "l2", hw->l2, false);
    jb_cache(&b, "l3", hw->l3, false);
    jb_put(&b, "}", 1);

    jb_key(&b, "memory", false);
    jb_put(&b, "{", 1);
    jb_kint(&b, "numa_nodes", hw->numa_nodes, true);
    jb_kint(&b, "total_bytes", hw->memory_bytes, false);
    jb_put(&b, "}", 1);

    jb_key(&b, "os", false);
    jb_put(&b, "{", 1);
    jb_kstr(&b, "name", hw->os_name, true);
    jb_kstr(&b, "release", hw->os_release, false);
    jb_kstr(&b, "version", hw->os_version, false);
    jb_kstr(&b, "machine", hw->os_machine, false);
    jb_kstr(&b, "hostname", hw->hostname, false);
    jb_put(&b, "}", 1);

    jb_key(&b, "build", false);
    jb_put(&b, "{", 1);
    jb_kstr(&b, "compiler", hw->compiler, true);
    jb_kstr(&b, "flags", hw->build_flags, false);
    jb_kstr(&b, "hwloc_api", hw->hwloc_api_version, false);
    jb_put(&b, "}", 1);

    jb_key(&b, "onednn", false);
    jb_put(&b, "{", 1);
    jb_kstr(&b, "version", hw->onednn_version, true);
    jb_kstr(&b, "hash", hw->onednn_hash, false);
    jb_kstr(&b, "isa", hw->onednn_isa, false);
    jb_put(&b, "}", 1);

    jb_key(&b, "cuda", false);
    jb_put(&b, "{", 1);
    jb_key(&b, "compiled", true);
    jb_printf(&b, "%s", hw->cuda_compiled ? "true" : "false");
    jb_kint(&b, "driver_version", hw->cuda_driver_version, false);
    jb_kint(&b, "runtime_version", hw->cuda_runtime_version, false);
    jb_kint(&b, "cudnn_version", hw->cudnn_version, false);
    jb_kstr(&b, "error", hw->cuda_error, false);
    jb_kint(&b, "gpu_count", hw->gpu_count, false);
    jb_key(&b, "gpus", false);
    jb_put(&b, "[", 1);
    for (int i = 0; i < hw->gpu_count && i < C1_HW_MAX_GPUS; i++) {
        const c1_hw_gpu *g = &hw->gpus[i];
        if (i) jb_put(&b, ",", 1);
        jb_put(&b, "{", 1);
        jb_kstr(&b, "name", g->name, true);
        jb_kstr(&b, "uuid", g->uuid, false);
        jb_kint(&b, "sm_count", g->sm_count, false);
        jb_key(&b, "compute_capability", false);
        jb_printf(&b, "\"%d.%d\"", g->cc_major, g->cc_minor);
        jb_kint(&b, "memory_bytes", g->memory_bytes, false);
        jb_kint(&b, "l2_bytes", g->l2_bytes, false);
        if (g->peak_fma_gflops > 0 && g->peak_copy_gbs > 0) {
            jb_key(&b, "peaks", false);
            jb_printf(&b, "{\"fma_gflops\":%.6g,\"copy_gbs\":%.6g}", g->peak_fma_gflops, g->peak_copy_gbs);
        }
        jb_put(&b, "}", 1);
    }
    jb_put(&b, "]}", 2);
    jb_put(&b, "}", 1);

    if (b.oom) {
        free(b.p);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory while writing the hardware record as JSON.");
    }
    *json = b.p;
    return CONV1D_OK;
}
