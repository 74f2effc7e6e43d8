/*
 * The machine fingerprint and ceilings: collection succeeds with consistent counts, the fingerprint is
 * stable and reacts only to performance-relevant fields, the JSON parses (checked by a small strict
 * parser below), the ceilings come out positive even from a very short run, and the ceilings cache
 * round-trips and rejects every kind of damage.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hwinfo.h"
#include "measure.h"
#include "peaks.h"
#include "test_util.h"

/* ---- a strict JSON checker (RFC 8259 grammar, no extensions) ------------------------------------------ */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"') return NULL;
    for (;;) {
        unsigned char c = (unsigned char)*p++;
        if (c == '"') return p;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            c = (unsigned char)*p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, p++)
                    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                        return NULL;
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return NULL;
            }
        }
    }
}

static const char *json_number(const char *p)
{
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9') p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const char *json_container(const char *p, int depth, char close, bool object)
{
    p = json_ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (object) {
            p = json_string(json_ws(p));
            if (!p) return NULL;
            p = json_ws(p);
            if (*p++ != ':') return NULL;
        }
        p = json_value(p, depth + 1);
        if (!p) return NULL;
        p = json_ws(p);
        if (*p == close) return p + 1;
        if (*p++ != ',') return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32) return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{': return json_container(p, depth, '}', true);
    case '[': return json_container(p, depth, ']', false);
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return json_number(p);
    }
}

static bool json_valid(const char *text)
{
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

static void test_json_checker(void **state)
{
    assert_true(json_valid("{\"a\":[1,-2.5e3,true,null,{\"b\":\"x\\u00e9\\n\"}]}"));
    assert_false(json_valid("{\"a\":1,}"));
    assert_false(json_valid("{\"a\":01}"));
    assert_false(json_valid("{\"a\":\"tab\there\"}"));
    assert_false(json_valid("{\"a\":1} x"));
    assert_false(json_valid("{\"a\":nan}"));
}

/* ---- collection ----------------------------------------------------------------------------------------- */

static void test_collect(void **state)
{
    c1_hwinfo *hw = calloc(1, sizeof *hw);
    assert_non_null(hw);
    assert_int_equal(c1_hw_collect(hw), CONV1D_OK);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(hw->packages >= 1);
    assert_true(hw->cores >= hw->packages);
    assert_true(hw->pus >= hw->cores);
    assert_true(hw->pus <= online); /* fewer only when a cgroup hides some */
    assert_true(hw->numa_nodes >= 1);
    assert_true(hw->memory_bytes > 0);
    assert_true(hw->l1d.size_bytes > 0 && hw->l1d.count >= 1);
    assert_true(hw->l2.size_bytes > hw->l1d.size_bytes && hw->l2.count >= 1);
    assert_true(hw->l3.size_bytes >= 0);
    assert_true(hw->cpu_model[0] && hw->cpu_vendor[0] && hw->os_name[0] && hw->os_release[0]);
    assert_true(hw->compiler[0] && hw->build_flags[0] && hw->onednn_version[0] && hw->onednn_isa[0]);
    assert_string_equal(hw->onednn_version, "3.2.0");

    /* ISA flags agree with the compiler's own check and with each other; the record holds what the
     * CONV1D_ISA cap leaves of them. */
    __builtin_cpu_init();
    assert_int_equal(!!(c1_isa_cpu_flags() & C1_ISA_AVX2), !!__builtin_cpu_supports("avx2"));
    assert_int_equal(!!(c1_isa_cpu_flags() & C1_ISA_AVX512F), !!__builtin_cpu_supports("avx512f"));
    assert_int_equal(hw->isa, c1_isa_effective_flags());
    assert_int_equal(hw->isa & ~c1_isa_cpu_flags(), 0);
    assert_string_equal(hw->isa_level, c1_isa_level_name(c1_isa_effective()));
    if (c1_isa_capped()) {
        assert_string_equal(hw->isa_cap, hw->isa_level);
        if (!c1_isa_available(C1_ISA_LEVEL_AVX512)) assert_false(hw->isa & (C1_ISA_AVX512F | C1_ISA_AVX512_BF16));
        if (!c1_isa_available(C1_ISA_LEVEL_AVX2)) assert_false(hw->isa & (C1_ISA_AVX2 | C1_ISA_FMA));
    } else {
        assert_string_equal(hw->isa_cap, "none");
        assert_int_equal(hw->isa, c1_isa_cpu_flags());
    }
    if (hw->isa & C1_ISA_AVX2) assert_true(hw->isa & C1_ISA_AVX);
    if (hw->isa & C1_ISA_AVX512BW) assert_true(hw->isa & C1_ISA_AVX512F);
    if (hw->isa & C1_ISA_AVX512_BF16) assert_true(hw->isa & C1_ISA_AVX512F);
    assert_string_equal(c1_isa_flag_name(C1_ISA_AVX512_BF16), "avx512_bf16");
    assert_null(c1_isa_flag_name(C1_ISA_AVX | C1_ISA_AVX2));

    /* The process-wide sizes kernels block with are the collected ones. */
    assert_int_equal(c1_hw_cache_bytes(1), hw->l1d.size_bytes);
    assert_int_equal(c1_hw_cache_bytes(2), hw->l2.size_bytes);
    assert_true(c1_hw_cache_bytes(3) > 0);
    if (hw->l3.size_bytes > 0) assert_int_equal(c1_hw_cache_bytes(3), hw->l3.size_bytes);
    assert_int_equal(c1_hw_cache_bytes(0), 0);
    assert_int_equal(c1_hw_cache_bytes(4), 0);
    assert_int_equal(c1_hw_cores(), hw->cores);

    /* No GPU, no driver: still a record, with the reason. */
    if (hw->cuda_compiled && hw->gpu_count == 0) assert_true(hw->cuda_error[0] != '\0');
    assert_int_equal(c1_hw_collect(NULL), CONV1D_INVALID_ARGUMENT);
    free(hw);
}

static bool is_hex16(const char *s)
{
    if (strlen(s) != 16) return false;
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static void test_fingerprint_stable(void **state)
{
    c1_hwinfo *a = calloc(2, sizeof *a), *b = a + 1;
    assert_non_null(a);
    assert_int_equal(c1_hw_collect(a), CONV1D_OK);
    assert_int_equal(c1_hw_collect(b), CONV1D_OK);
    char fa[17], fb[17];
    c1_hw_fingerprint(a, fa);
    c1_hw_fingerprint(b, fb);
    assert_true(is_hex16(fa));
    assert_string_equal(fa, fb);
    /* The documented hash: FNV-1a 64 of the canonical text. */
    char text[4096];
    size_t n = c1_hw_fingerprint_text(a, text, sizeof text);
    assert_true(n > 0 && n < sizeof text);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    char expect[17];
    snprintf(expect, sizeof expect, "%016llx", (unsigned long long)h);
    assert_string_equal(fa, expect);
    assert_non_null(strstr(text, "isa="));
    assert_null(strstr(text, a->hostname));
    free(a);
}

static void fingerprint_of(const c1_hwinfo *hw, char out[17]) { c1_hw_fingerprint(hw, out); }

static void test_fingerprint_sensitivity(void **state)
{
    c1_hwinfo *base = calloc(2, sizeof *base), *m = base + 1;
    assert_non_null(base);
    assert_int_equal(c1_hw_collect(base), CONV1D_OK);
    base->gpu_count = 0;
    char f0[17], f[17];
    fingerprint_of(base, f0);

    /* Irrelevant to performance: the fingerprint stays. */
#define SAME(change)                        \
    do {                                    \
        *m = *base;                         \
        change;                             \
        fingerprint_of(m, f);               \
        assert_string_equal(f, f0);         \
    } while (0)
    SAME(strcpy(m->os_release, "9.9.9-other-kernel"));
    SAME(strcpy(m->os_version, "#2 SMP some other day"));
    SAME(strcpy(m->hostname, "another-host"));
    SAME(m->memory_bytes += 1 << 30);
    SAME(strcpy(m->compiler, "gcc 99"));
    SAME(strcpy(m->cuda_error, "some other reason"));
    SAME(m->cudnn_version = 1); /* no GPU: the CUDA stack cannot change a result */

    /* Relevant: it changes. */
#define DIFFERENT(change)                    \
    do {                                     \
        *m = *base;                          \
        change;                              \
        fingerprint_of(m, f);                \
        assert_string_not_equal(f, f0);      \
    } while (0)
    DIFFERENT(strcpy(m->cpu_model, "Some Other CPU"));
    DIFFERENT(m->cpu_model_number += 1);
    DIFFERENT(m->cores *= 2);
    DIFFERENT(m->pus *= 2);
    DIFFERENT(m->l2.size_bytes *= 2);
    DIFFERENT(m->l3.size_bytes += 1 << 20);
    DIFFERENT(m->isa ^= C1_ISA_AVX512_BF16);
    DIFFERENT(m->isa ^= C1_ISA_AMX_TILE);
    DIFFERENT(strcpy(m->onednn_version, "3.3.0"));
    /* Another ISA than the one oneDNN dispatches to here, whichever that is. */
    DIFFERENT(strcpy(m->onednn_isa, strcmp(base->onednn_isa, "avx2") == 0 ? "avx512_core" : "avx2"));
    /* A capped process runs other kernels, so its results are another machine's. */
    DIFFERENT(strcpy(m->isa_cap, strcmp(base->isa_cap, "avx2") == 0 ? "c" : "avx2"));

    /* With a GPU, the GPU and its software stack count. */
    *m = *base;
    m->gpu_count = 1;
    strcpy(m->gpus[0].name, "NVIDIA H100 80GB HBM3");
    m->gpus[0].sm_count = 132;
    m->gpus[0].cc_major = 9;
    m->cuda_driver_version = 12040;
    m->cudnn_version = 90100;
    char g0[17], g[17];
    fingerprint_of(m, g0);
    assert_string_not_equal(g0, f0);
    c1_hwinfo *g1 = calloc(1, sizeof *g1);
    assert_non_null(g1);
#define GPU_DIFFERENT(change)                \
    do {                                     \
        *g1 = *m;                            \
        change;                              \
        fingerprint_of(g1, g);               \
        assert_string_not_equal(g, g0);      \
    } while (0)
    GPU_DIFFERENT(g1->gpus[0].sm_count = 114);
    GPU_DIFFERENT(g1->gpus[0].cc_minor = 1);
    GPU_DIFFERENT(g1->cuda_driver_version = 12080);
    GPU_DIFFERENT(g1->cudnn_version = 90200);
    *g1 = *m;
    strcpy(g1->gpus[0].uuid, "GPU-00000000-0000-0000-0000-000000000000"); /* another board of the same kind */
    g1->gpus[0].memory_bytes = 1;
    fingerprint_of(g1, g);
    assert_string_equal(g, g0);
    free(g1);
    free(base);
#undef SAME
#undef DIFFERENT
#undef GPU_DIFFERENT
}

static void test_json(void **state)
{
    c1_hwinfo *hw = calloc(1, sizeof *hw);
    assert_non_null(hw);
    assert_int_equal(c1_hw_collect(hw), CONV1D_OK);
    char *json = NULL, fp[17], key[64];
    assert_int_equal(c1_hw_to_json(hw, &json), CONV1D_OK);
    assert_non_null(json);
    assert_true(json_valid(json));
    c1_hw_fingerprint(hw, fp);
    snprintf(key, sizeof key, "\"fingerprint\":\"%s\"", fp);
    assert_non_null(strstr(json, key));
    assert_non_null(strstr(json, "\"onednn\":{\"version\":\"3.2.0\""));
    free(json);

    /* Quotes, backslashes, control bytes and invalid UTF-8 are escaped; valid UTF-8 passes through. */
    strcpy(hw->cpu_model, "A \"quoted\" \\ name\n\x01 \xff caf\xc3\xa9");
    assert_int_equal(c1_hw_to_json(hw, &json), CONV1D_OK);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"A \\\"quoted\\\" \\\\ name\\u000a\\u0001 \\ufffd caf\xc3\xa9\""));
    free(json);

    /* A GPU entry too. */
    hw->gpu_count = 1;
    strcpy(hw->gpus[0].name, "NVIDIA H100 80GB HBM3");
    strcpy(hw->gpus[0].uuid, "GPU-01234567-89ab-cdef-0123-456789abcdef");
    hw->gpus[0].sm_count = 132;
    hw->gpus[0].cc_major = 9;
    assert_int_equal(c1_hw_to_json(hw, &json), CONV1D_OK);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"compute_capability\":\"9.0\""));
    free(json);
    free(hw);
}

/* ---- ceilings --------------------------------------------------------------------------------------------- */

static bool positive_finite(double v) { return isfinite(v) && v > 0; }

static void assert_peaks_sane(const c1_peaks *p)
{
    assert_true(positive_finite(p->fma_gflops_1core));
    assert_true(positive_finite(p->fma_gflops_all));
    assert_true(positive_finite(p->copy_gbs_1core));
    assert_true(positive_finite(p->copy_gbs_all));
    assert_true(p->threads >= 1 && p->threads <= sysconf(_SC_NPROCESSORS_ONLN));
}

static void test_peaks_short_run(void **state)
{
    c1_peaks p = {0};
    assert_int_equal(c1_peaks_measure(0.02, &p), CONV1D_OK);
    assert_peaks_sane(&p);
    assert_int_equal(p.threads, c1_hw_cores());
    char *json = NULL;
    assert_int_equal(c1_peaks_to_json(&p, &json), CONV1D_OK);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"threads\":"));
    free(json);
    const char *isa = c1_peaks_fma_isa();
    assert_true(strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "sse2") == 0);
}

/* Field by field: the struct has padding that a file round trip need not preserve. */
static void assert_peaks_equal(const c1_peaks *a, const c1_peaks *b)
{
    assert_true(a->fma_gflops_1core == b->fma_gflops_1core && a->fma_gflops_all == b->fma_gflops_all);
    assert_true(a->copy_gbs_1core == b->copy_gbs_1core && a->copy_gbs_all == b->copy_gbs_all);
    assert_int_equal(a->threads, b->threads);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

#define FP "0123456789abcdef"
#define GOOD_BODY                                                                                           \
    "fma_gflops_1core=115.5\nfma_gflops_all=229\ncopy_gbs_1core=24\ncopy_gbs_all=41.25\nthreads=2\n"

static void test_peaks_cache(void **state)
{
    char dir[] = "/tmp/c1-peaks-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    assert_int_equal(setenv("XDG_CACHE_HOME", dir, 1), 0);

    char path[4096], expect[4096];
    snprintf(expect, sizeof expect, "%s/conv1d-tune/peaks-" FP ".txt", dir);
    assert_int_equal(c1_peaks_cache_path(FP, path, sizeof path), strlen(expect));
    assert_string_equal(path, expect);

    c1_peaks p, q;
    assert_int_equal(c1_peaks_load(FP, &p), CONV1D_NOT_FOUND);
    assert_int_equal(c1_peaks_load("../escape", &p), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(c1_peaks_save("a/b", &p), CONV1D_INVALID_ARGUMENT);

    /* Round trip, bit for bit. */
    p = (c1_peaks){114.98765432101234, 229.5, 23.999999999, 41.0 / 3.0, 2};
    assert_int_equal(c1_peaks_save(FP, &p), CONV1D_OK);
    memset(&q, 0, sizeof q);
    assert_int_equal(c1_peaks_load(FP, &q), CONV1D_OK);
    assert_peaks_equal(&p, &q);

    /* A hand-written file in the documented format loads. */
    write_file(path, "# note\nformat=1\nfingerprint=" FP "\n" GOOD_BODY);
    assert_int_equal(c1_peaks_load(FP, &q), CONV1D_OK);
    assert_true(q.fma_gflops_all == 229 && q.copy_gbs_all == 41.25 && q.threads == 2);

    /* Every kind of damage is refused and leaves *p alone. */
    static const char *const bad[] = {
        "garbage\n",
        "",
        "format=1\nfingerprint=" FP "\n" GOOD_BODY "extra=1\n",                   /* unknown key */
        "format=1\nfingerprint=" FP "\n" GOOD_BODY "threads=2\n",                 /* duplicate */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=1\n",                     /* missing keys */
        "format=2\nfingerprint=" FP "\n" GOOD_BODY,                               /* future format */
        "format=1\nfingerprint=fedcba9876543210\n" GOOD_BODY,                     /* another machine */
        "format=1\nfingerprint=" FP "\n" GOOD_BODY "\n",                          /* blank line */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=12abc\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=2\n",                                           /* trailing junk */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=-1\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=2\n",                                           /* negative */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=nan\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=2\n",                                           /* not finite */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=1\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=0\n",                                           /* no threads */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core=1\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=2",                                             /* truncated */
        "format=1\nfingerprint=" FP "\nfma_gflops_1core= 1\nfma_gflops_all=229\ncopy_gbs_1core=24\n"
        "copy_gbs_all=41\nthreads=2\n",                                           /* space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i]);
        q = (c1_peaks){1, 2, 3, 4, 5};
        conv1d_status s = c1_peaks_load(FP, &q);
        if (s != CONV1D_PARSE_ERROR) fail_msg("case %zu: status %d, want a parse error", i, (int)s);
        assert_true(q.fma_gflops_1core == 1 && q.threads == 5);
        assert_true(strlen(conv1d_last_error()) > 0);
    }

    /* A corrupt cache is measured again and replaced; then it is used. */
    write_file(path, "garbage\n");
    bool cached = true;
    assert_int_equal(c1_peaks_load_or_measure_for(FP, 0.02, &p, false, &cached), CONV1D_OK);
    assert_false(cached);
    assert_peaks_sane(&p);
    assert_int_equal(c1_peaks_load(FP, &q), CONV1D_OK);
    assert_peaks_equal(&p, &q);
    assert_int_equal(c1_peaks_load_or_measure_for(FP, 0.02, &q, false, &cached), CONV1D_OK);
    assert_true(cached);
    assert_peaks_equal(&p, &q);
    /* force measures even with a good cache. */
    assert_int_equal(c1_peaks_load_or_measure_for(FP, 0.02, &q, true, &cached), CONV1D_OK);
    assert_false(cached);
    assert_peaks_sane(&q);

    /* A relative XDG_CACHE_HOME is ignored, as the XDG spec says: $HOME/.cache is used. */
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    assert_int_equal(setenv("XDG_CACHE_HOME", "relative/dir", 1), 0);
    assert_int_equal(setenv("HOME", dir, 1), 0);
    snprintf(expect, sizeof expect, "%s/.cache/conv1d-tune/peaks-" FP ".txt", dir);
    c1_peaks_cache_path(FP, path, sizeof path);
    assert_string_equal(path, expect);
    if (old_home)
        setenv("HOME", old_home, 1);
    else
        unsetenv("HOME");
    free(old_home);

    snprintf(path, sizeof path, "%s/conv1d-tune/peaks-" FP ".txt", dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/conv1d-tune", dir);
    assert_int_equal(rmdir(path), 0); /* nothing else left behind: no temporary files */
    assert_int_equal(rmdir(dir), 0);
    if (old_xdg)
        setenv("XDG_CACHE_HOME", old_xdg, 1);
    else
        unsetenv("XDG_CACHE_HOME");
    free(old_xdg);
}

int main(void)
{
    c1_harness_init(); /* as conv1d-tune does: it forks children that may use CUDA */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_fingerprint_stable),
        cmocka_unit_test(test_fingerprint_sensitivity),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_peaks_short_run),
        cmocka_unit_test(test_peaks_cache),
    };
    return cmocka_run_group_tests_name("hwinfo", tests, NULL, NULL);
}
