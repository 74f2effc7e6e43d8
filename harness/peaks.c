/* Machine ceilings: fp32 FMA peak and DRAM copy bandwidth, measured briefly and cached per fingerprint. */
#include "peaks.h"
#include "isa.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>

#include "basics.h"
#include "measure.h"
#include <omp.h>
#include <xmmintrin.h>

#include "error.h"

/* The FMA chains compute acc = acc * MUL + ADD; any 0 < MUL < 1 keeps them finite. */
#define FMA_MUL 0.9999f
#define FMA_ADD 0.0001f
#define PEAKS_FORMAT 1

typedef float (*fma_kernel)(int64_t iters, float mul, float add);
typedef void (*copy_kernel)(void *dst, const void *src, size_t bytes);

static volatile float fma_sink; /* keeps every kernel's result, so no call can be dropped */

/* Baseline x86-64 has no FMA instruction: multiply then add, still 2 FLOPs per lane; 12 chains of 4. */
static float fma_sse2(int64_t iters, float mul, float add)
{
    typedef float v4f __attribute__((vector_size(16)));
    const v4f m = {mul, mul, mul, mul}, a = {add, add, add, add};
#define C1_ACC_(k) v4f acc##k = m * 0.0f + (1.0f + 0.01f * (k));
#define C1_FMA_(k) acc##k = acc##k * m + a;
#define C1_ALL_(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    C1_ALL_(C1_ACC_)
    for (int64_t i = 0; i < iters; i++) {
        C1_ALL_(C1_FMA_)
    }
    v4f s = ((acc0 + acc1) + (acc2 + acc3)) + ((acc4 + acc5) + (acc6 + acc7)) + ((acc8 + acc9) + (acc10 + acc11));
#undef C1_ACC_
#undef C1_FMA_
#undef C1_ALL_
    return s[0] + s[1] + s[2] + s[3];
}

/* Ordinary stores: each destination line is read before it is written, as in most kernels. */
static void copy_memcpy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }

/* Non-temporal stores with baseline SSE; dst and src 16-byte aligned, bytes a multiple of 64. */
static void copy_nt_sse2(void *dst, const void *src, size_t bytes)
{
    float *d = dst;
    const float *s = src;
    for (size_t i = 0; i < bytes / sizeof(float); i += 16) {
        __m128 a = _mm_load_ps(s + i), b = _mm_load_ps(s + i + 4), c = _mm_load_ps(s + i + 8),
               e = _mm_load_ps(s + i + 12);
        _mm_stream_ps(d + i, a);
        _mm_stream_ps(d + i + 4, b);
        _mm_stream_ps(d + i + 8, c);
        _mm_stream_ps(d + i + 12, e);
    }
    _mm_sfence();
}

/* The widest kernels this CPU runs, and the FMA kernel's FLOPs per round. */
typedef struct kernels {
    fma_kernel fma;
    double flops_per_iter;
    copy_kernel copy_nt;
    const char *isa;
} kernels;

static kernels pick_kernels(void)
{
    /* The ceiling of the ISA level the variants may use here (CONV1D_ISA included), so a capped run reads
     * its results against the roofline its kernels can reach. */
    if (c1_isa_available(C1_ISA_LEVEL_AVX512))
        return (kernels){c1_peaks_fma_avx512, 12 * 16 * 2, c1_peaks_copy_nt_avx512, "avx512"};
    if (c1_isa_available(C1_ISA_LEVEL_AVX2))
        return (kernels){c1_peaks_fma_avx2, 12 * 8 * 2, c1_peaks_copy_nt_avx2, "avx2"};
    return (kernels){fma_sse2, 12 * 4 * 2, copy_nt_sse2, "sse2"};
}

const char *c1_peaks_fma_isa(void) { return pick_kernels().isa; }

/* Rounds per trial so that one trial on one core takes about trial_s. */
static int64_t calibrate(fma_kernel k, double trial_s)
{
    int64_t iters = 1024;
    for (;;) {
        double t0 = c1_now_s();
        fma_sink += k(iters, FMA_MUL, FMA_ADD);
        double dt = c1_now_s() - t0;
        if (dt > 2e-3 || iters > ((int64_t)1 << 40)) {
            double n = (double)iters * trial_s / (dt > 0 ? dt : 1e-9);
            return n < 1024 ? 1024 : n > 1e15 ? (int64_t)1e15 : (int64_t)n;
        }
        iters *= 4;
    }
}

/* One PU in each core the topology allows, so "all cores" means one thread per physical core. */
typedef struct placement {
    hwloc_topology_t topo; /* NULL: no binding, threads = online processors */
    hwloc_bitmap_t *pu;
    int n;
    int64_t llc_bytes; /* all last-level cache instances together */
} placement;

static void placement_free(placement *pl)
{
    for (int i = 0; pl->pu && i < pl->n; i++) hwloc_bitmap_free(pl->pu[i]);
    free(pl->pu);
    if (pl->topo) hwloc_topology_destroy(pl->topo);
    memset(pl, 0, sizeof *pl);
}

static void placement_init(placement *pl)
{
    memset(pl, 0, sizeof *pl);
    if (hwloc_topology_init(&pl->topo) != 0) {
        pl->topo = NULL;
    } else if (hwloc_topology_load(pl->topo) != 0) {
        hwloc_topology_destroy(pl->topo);
        pl->topo = NULL;
    }
    if (pl->topo) {
        int cores = hwloc_get_nbobjs_by_type(pl->topo, HWLOC_OBJ_CORE);
        pl->pu = cores > 0 ? calloc((size_t)cores, sizeof *pl->pu) : NULL;
        for (int i = 0; pl->pu && i < cores; i++) {
            hwloc_obj_t core = hwloc_get_obj_by_type(pl->topo, HWLOC_OBJ_CORE, i);
            hwloc_bitmap_t set = core && core->cpuset ? hwloc_bitmap_dup(core->cpuset) : NULL;
            if (!set) continue;
            hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(pl->topo));
            if (hwloc_bitmap_iszero(set)) {
                hwloc_bitmap_free(set);
                continue;
            }
            hwloc_bitmap_singlify(set);
            pl->pu[pl->n++] = set;
        }
        hwloc_obj_type_t llc[] = {HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE};
        for (int j = 0; j < 2 && pl->llc_bytes == 0; j++) {
            int n = hwloc_get_nbobjs_by_type(pl->topo, llc[j]);
            for (int i = 0; i < n; i++) {
                hwloc_obj_t o = hwloc_get_obj_by_type(pl->topo, llc[j], i);
                if (o && o->attr) pl->llc_bytes += (int64_t)o->attr->cache.size;
            }
        }
    }
    if (pl->n == 0) {
        for (int i = 0; pl->pu && i < pl->n; i++) hwloc_bitmap_free(pl->pu[i]);
        free(pl->pu);
        pl->pu = NULL;
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        pl->n = n > 0 ? (int)n : 1;
    }
    if (pl->llc_bytes <= 0) pl->llc_bytes = 64 << 20;
}

/* Stops the compiler from treating a copy whose destination is never read as dead. */
static inline void clobber(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

typedef struct budget {
    double fma_trial_s; /* per trial */
    int fma_trials;
    double copy_s; /* per figure, trials run until it is spent */
    int copy_min_trials, copy_max_trials;
} budget;

static double copy_gbs(size_t bytes, double dt) { return 2.0 * (double)bytes / dt * 1e-9; }

conv1d_status c1_peaks_measure(double seconds, c1_peaks *p)
{
    if (!p) return c1_fail(CONV1D_INVALID_ARGUMENT, "The c1_peaks pointer is NULL.");
    if (!(seconds > 0) || !isfinite(seconds)) seconds = C1_PEAKS_DEFAULT_SECONDS;
    budget b = {seconds / 4 / 4, 4, seconds / 4, 2, 10};
    if (b.fma_trial_s < 1e-3) b.fma_trial_s = 1e-3;

    const kernels k = pick_kernels();
    const fma_kernel kernel = k.fma;
    const double flops_per_iter = k.flops_per_iter;
    /* Both ways of copying, interleaved; the faster one is the ceiling (usually the non-temporal one, whose
     * DRAM traffic is exactly the bytes counted, where ordinary stores also read the destination). */
    const copy_kernel copies[2] = {copy_memcpy, k.copy_nt};

    placement pl;
    placement_init(&pl);
    /* Two buffers of twice the last-level cache each (at least 128 MiB): four times the cache in flight. */
    size_t bytes = (size_t)(2 * pl.llc_bytes);
    if (bytes < ((size_t)128 << 20)) bytes = (size_t)128 << 20;
    bytes = (bytes + 4095) & ~(size_t)4095;
    char *src = NULL, *dst = NULL;
    /* 2 MiB alignment lets the kernel back the buffers with huge pages, as production buffers would be. */
    if (posix_memalign((void **)&src, (size_t)2 << 20, bytes) != 0) src = NULL;
    if (posix_memalign((void **)&dst, (size_t)2 << 20, bytes) != 0) dst = NULL;
    if (!src || !dst) {
        free(src);
        free(dst);
        placement_free(&pl);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate two %zu MiB buffers for the copy bandwidth test.",
                       bytes >> 20);
    }

    /* One core: the calling thread, wherever the OS runs it. */
    int64_t iters = calibrate(kernel, b.fma_trial_s);
    double fma1 = 0;
    for (int t = 0; t < b.fma_trials; t++) {
        double t0 = c1_now_s();
        fma_sink += kernel(iters, FMA_MUL, FMA_ADD);
        double g = (double)iters * flops_per_iter / (c1_now_s() - t0) * 1e-9;
        if (g > fma1) fma1 = g;
    }

    /* All cores: one thread bound to each core; the same per-thread work as one core. */
    double fma_all = 0, copy_all = 0, t0 = 0;
    int threads = 1, done = 0, trial = 0;
    double copy_start = 0;
#pragma omp parallel num_threads(pl.n)
    {
        int me = omp_get_thread_num(), nt = omp_get_num_threads();
        hwloc_bitmap_t saved = NULL;
        if (pl.topo && pl.pu && me < pl.n) {
            saved = hwloc_bitmap_alloc();
            if (saved && hwloc_get_cpubind(pl.topo, saved, HWLOC_CPUBIND_THREAD) == 0)
                hwloc_set_cpubind(pl.topo, pl.pu[me], HWLOC_CPUBIND_THREAD);
            else if (saved) {
                hwloc_bitmap_free(saved);
                saved = NULL;
            }
        }
        float local = 0;
        for (int t = 0; t < b.fma_trials; t++) {
#pragma omp single
            t0 = c1_now_s();
            local += kernel(iters, FMA_MUL, FMA_ADD);
#pragma omp barrier
#pragma omp single
            {
                double g = (double)nt * (double)iters * flops_per_iter / (c1_now_s() - t0) * 1e-9;
                if (g > fma_all) fma_all = g;
                threads = nt;
            }
        }

        /* First touch by the thread that will copy each chunk, so pages sit on its NUMA node. */
        size_t per = (bytes / (size_t)nt) & ~(size_t)4095;
        size_t lo = per * (size_t)me, hi = me == nt - 1 ? bytes : lo + per;
        memset(src + lo, 1, hi - lo);
        memset(dst + lo, 0, hi - lo);
#pragma omp barrier
#pragma omp single
        copy_start = c1_now_s();
        while (!done) {
            for (int m = 0; m < 2; m++) {
#pragma omp single
                t0 = c1_now_s();
                copies[m](dst + lo, src + lo, hi - lo);
                clobber(dst);
#pragma omp barrier
#pragma omp single
                {
                    double g = copy_gbs(bytes, c1_now_s() - t0);
                    if (g > copy_all) copy_all = g;
                    if (m == 1) {
                        trial++;
                        done = trial >= b.copy_max_trials ||
                               (trial >= b.copy_min_trials && c1_now_s() - copy_start >= b.copy_s);
                    }
                }
            }
        }
        if (saved) {
            hwloc_set_cpubind(pl.topo, saved, HWLOC_CPUBIND_THREAD);
            hwloc_bitmap_free(saved);
        }
#pragma omp critical
        fma_sink += local;
    }

    /* One core copying the whole buffer. */
    double copy1 = 0, start = c1_now_s();
    for (int t = 0; t < b.copy_max_trials; t++) {
        for (int m = 0; m < 2; m++) {
            double c0 = c1_now_s();
            copies[m](dst, src, bytes);
            clobber(dst);
            double g = copy_gbs(bytes, c1_now_s() - c0);
            if (g > copy1) copy1 = g;
        }
        if (t + 1 >= b.copy_min_trials && c1_now_s() - start >= b.copy_s) break;
    }

    free(src);
    free(dst);
    placement_free(&pl);
    if (!(fma1 > 0 && fma_all > 0 && copy1 > 0 && copy_all > 0) || !isfinite(fma1 + fma_all + copy1 + copy_all))
        return c1_fail(CONV1D_INTERNAL, "The ceiling measurement produced a non-positive or non-finite figure.");
    p->fma_gflops_1core = fma1;
    p->fma_gflops_all = fma_all;
    p->copy_gbs_1core = copy1;
    p->copy_gbs_all = copy_all;
    p->threads = threads;
    return CONV1D_OK;
}

/* ---- cache file --------------------------------------------------------------------------------------- */

/* Fingerprints become file names: letters, digits, '-' and '_' only. */
static bool valid_fingerprint(const char *fp)
{
    if (!fp || !*fp || strlen(fp) > 64) return false;
    for (const char *c = fp; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-' ||
              *c == '_'))
            return false;
    return true;
}

/* The cache directory: $XDG_CACHE_HOME (absolute paths only, as the XDG spec says) or $HOME/.cache. */
static size_t cache_root(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') return (size_t)snprintf(buf, size, "%s", xdg);
    const char *home = getenv("HOME");
    if (home && *home) return (size_t)snprintf(buf, size, "%s/.cache", home);
    if (size) buf[0] = '\0';
    return 0;
}

size_t c1_peaks_cache_path(const char *fingerprint, char *buf, size_t size)
{
    char root[4096];
    size_t n = cache_root(root, sizeof root);
    if (n == 0 || n >= sizeof root) {
        if (size) buf[0] = '\0';
        return 0;
    }
    int m = snprintf(buf, size, "%s/conv1d-tune/peaks-%s.txt", root, fingerprint ? fingerprint : "");
    return m > 0 ? (size_t)m : 0;
}

static conv1d_status cache_path_checked(const char *fingerprint, char *buf, size_t size)
{
    if (!valid_fingerprint(fingerprint))
        return c1_fail(CONV1D_INVALID_ARGUMENT, "The fingerprint '%s' is not 1-64 letters, digits, '-' or '_'.",
                       fingerprint ? fingerprint : "(null)");
    size_t n = c1_peaks_cache_path(fingerprint, buf, size);
    if (n == 0) return c1_fail(CONV1D_NOT_FOUND, "Neither XDG_CACHE_HOME nor HOME names a cache directory.");
    if (n >= size) return c1_fail(CONV1D_INVALID_ARGUMENT, "The cache path is longer than %zu bytes.", size - 1);
    return CONV1D_OK;
}

static bool parse_double(const char *s, double *out)
{
    if (!*s || *s == ' ' || *s == '\t') return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v) || !(v > 0) || v > 1e12) return false;
    *out = v;
    return true;
}

conv1d_status c1_peaks_load(const char *fingerprint, c1_peaks *p)
{
    char path[4096];
    conv1d_status s = cache_path_checked(fingerprint, path, sizeof path);
    if (s != CONV1D_OK) return s;
    if (!p) return c1_fail(CONV1D_INVALID_ARGUMENT, "The c1_peaks pointer is NULL.");
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return c1_fail(CONV1D_NOT_FOUND, "No cached ceilings at %s.", path);
        return c1_fail(CONV1D_IO_ERROR, "Cannot read %s: %s.", path, strerror(errno));
    }
    char text[4097];
    size_t n = fread(text, 1, sizeof text, f);
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) return c1_fail(CONV1D_IO_ERROR, "Cannot read %s.", path);
    if (n >= sizeof text) return c1_fail(CONV1D_PARSE_ERROR, "%s is larger than 4 KiB.", path);
    text[n] = '\0';
    if (strlen(text) != n) return c1_fail(CONV1D_PARSE_ERROR, "%s contains a NUL byte.", path);
    if (n == 0 || text[n - 1] != '\n') return c1_fail(CONV1D_PARSE_ERROR, "%s is empty or truncated.", path);

    enum { K_FORMAT, K_FP, K_FMA1, K_FMAALL, K_COPY1, K_COPYALL, K_THREADS, K_COUNT };
    static const char *const keys[K_COUNT] = {"format",         "fingerprint",    "fma_gflops_1core", "fma_gflops_all",
                                              "copy_gbs_1core", "copy_gbs_all",   "threads"};
    bool seen[K_COUNT] = {false};
    c1_peaks v = {0};
    int line = 0;
    for (char *cur = text, *next; *cur; cur = next) {
        char *nl = strchr(cur, '\n');
        *nl = '\0';
        next = nl + 1;
        line++;
        if (cur[0] == '#') continue;
        char *eq = strchr(cur, '=');
        if (!eq) return c1_fail(CONV1D_PARSE_ERROR, "%s line %d is not key=value.", path, line);
        *eq = '\0';
        const char *val = eq + 1;
        int k = 0;
        while (k < K_COUNT && strcmp(cur, keys[k]) != 0) k++;
        if (k == K_COUNT) return c1_fail(CONV1D_PARSE_ERROR, "%s line %d: unknown key '%s'.", path, line, cur);
        if (seen[k]) return c1_fail(CONV1D_PARSE_ERROR, "%s line %d: '%s' given twice.", path, line, cur);
        seen[k] = true;
        bool ok = true;
        switch (k) {
        case K_FORMAT: ok = strcmp(val, "1") == 0; break;
        case K_FP: ok = strcmp(val, fingerprint) == 0; break;
        case K_FMA1: ok = parse_double(val, &v.fma_gflops_1core); break;
        case K_FMAALL: ok = parse_double(val, &v.fma_gflops_all); break;
        case K_COPY1: ok = parse_double(val, &v.copy_gbs_1core); break;
        case K_COPYALL: ok = parse_double(val, &v.copy_gbs_all); break;
        case K_THREADS: {
            char *end;
            errno = 0;
            long t = strtol(val, &end, 10);
            ok = *val >= '0' && *val <= '9' && *end == '\0' && errno == 0 && t >= 1 && t <= 1 << 20;
            v.threads = (int)t;
            break;
        }
        }
        if (!ok) return c1_fail(CONV1D_PARSE_ERROR, "%s line %d: bad value '%s' for %s.", path, line, val, cur);
    }
    for (int k = 0; k < K_COUNT; k++)
        if (!seen[k]) return c1_fail(CONV1D_PARSE_ERROR, "%s has no '%s' line.", path, keys[k]);
    *p = v;
    return CONV1D_OK;
}

/* mkdir -p for the directory part of path; 0700 as the XDG spec asks for cache directories. */
static bool make_parent_dirs(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        bool ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *s = '/';
        if (!ok) return false;
    }
    return true;
}

conv1d_status c1_peaks_save(const char *fingerprint, const c1_peaks *p)
{
    char path[4096];
    conv1d_status s = cache_path_checked(fingerprint, path, sizeof path);
    if (s != CONV1D_OK) return s;
    if (!p) return c1_fail(CONV1D_INVALID_ARGUMENT, "The c1_peaks pointer is NULL.");
    if (!make_parent_dirs(path)) return c1_fail(CONV1D_IO_ERROR, "Cannot create the directory of %s: %s.", path,
                                                strerror(errno));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return c1_fail(CONV1D_IO_ERROR, "Cannot create a temporary file next to %s: %s.", path,
                               strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return c1_fail(CONV1D_IO_ERROR, "Cannot write %s: %s.", tmp, strerror(errno));
    }
    /* %.17g: the figures read back bit for bit. */
    fprintf(f,
            "# conv1d-tune machine ceilings (fp32 FMA GFLOP/s, copy GB/s counting read + write)\n"
            "format=%d\nfingerprint=%s\nfma_gflops_1core=%.17g\nfma_gflops_all=%.17g\n"
            "copy_gbs_1core=%.17g\ncopy_gbs_all=%.17g\nthreads=%d\n",
            PEAKS_FORMAT, fingerprint, p->fma_gflops_1core, p->fma_gflops_all, p->copy_gbs_1core, p->copy_gbs_all,
            p->threads);
    bool ok = !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return c1_fail(CONV1D_IO_ERROR, "Cannot write %s: %s.", path, strerror(e));
    }
    return CONV1D_OK;
}

conv1d_status c1_peaks_load_or_measure_for(const char *fingerprint, double seconds, c1_peaks *p, bool force,
                                           bool *from_cache)
{
    if (from_cache) *from_cache = false;
    if (!p) return c1_fail(CONV1D_INVALID_ARGUMENT, "The c1_peaks pointer is NULL.");
    if (!valid_fingerprint(fingerprint))
        return c1_fail(CONV1D_INVALID_ARGUMENT, "The fingerprint '%s' is not 1-64 letters, digits, '-' or '_'.",
                       fingerprint ? fingerprint : "(null)");
    if (!force && c1_peaks_load(fingerprint, p) == CONV1D_OK) {
        if (from_cache) *from_cache = true;
        return CONV1D_OK;
    }
    /* Missing, unreadable or corrupt: measure again and replace the file. */
    conv1d_status s = c1_peaks_measure(seconds, p);
    if (s != CONV1D_OK) return s;
    (void)c1_peaks_save(fingerprint, p);
    c1_clear_error();
    return CONV1D_OK;
}

conv1d_status c1_peaks_load_or_measure(const char *fingerprint, c1_peaks *p, bool force)
{
    return c1_peaks_load_or_measure_for(fingerprint, C1_PEAKS_DEFAULT_SECONDS, p, force, NULL);
}

conv1d_status c1_peaks_to_json(const c1_peaks *p, char **json)
{
    if (!p || !json) return c1_fail(CONV1D_INVALID_ARGUMENT, "c1_peaks_to_json needs figures and an output pointer.");
    const double v[4] = {p->fma_gflops_1core, p->fma_gflops_all, p->copy_gbs_1core, p->copy_gbs_all};
    char num[4][32];
    for (int i = 0; i < 4; i++) {
        if (isfinite(v[i]))
            snprintf(num[i], sizeof num[i], "%.6g", v[i]);
        else
            snprintf(num[i], sizeof num[i], "null"); /* JSON has no inf or nan */
    }
    const char *fmt = "{\"fma_gflops_1core\":%s,\"fma_gflops_all\":%s,\"copy_gbs_1core\":%s,\"copy_gbs_all\":%s,"
                      "\"threads\":%d,\"fma_isa\":\"%s\"}";
    const char *isa = c1_peaks_fma_isa();
    int n = snprintf(NULL, 0, fmt, num[0], num[1], num[2], num[3], p->threads, isa);
    char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!out) return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory while writing the ceilings as JSON.");
    snprintf(out, (size_t)n + 1, fmt, num[0], num[1], num[2], num[3], p->threads, isa);
    *json = out;
    return CONV1D_OK;
}

/* ---- from a process that must not run OpenMP itself --------------------------------------------------- */

static int load_child(void *arg, void *shared)
{
    return c1_peaks_load_or_measure((const char *)arg, (c1_peaks *)shared, false) == CONV1D_OK ? 0 : 1;
}

bool c1_peaks_load_isolated(const char *fingerprint, c1_peaks *p)
{
    c1_peaks *shared = c1_shared_alloc(sizeof *shared);
    if (!shared) return false;
    c1_outcome outcome;
    char detail[128];
    const bool ok = c1_sandbox_run(load_child, (void *)fingerprint, shared, 60, &outcome, detail, sizeof detail) ==
                        CONV1D_OK &&
                    outcome == C1_OUTCOME_OK;
    if (ok) *p = *shared;
    c1_shared_free(shared, sizeof *shared);
    return ok;
}
