/* The one CPU-feature probe and the CONV1D_ISA cap (see isa.h). */
#include "isa.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#include "basics.h"
#include "error.h"

static uint64_t read_xcr0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/* __builtin_cpu_supports already checks that the OS saves the vector state (XCR0); the newer flags are
 * read from cpuid directly because older compilers do not know their names. */
static uint32_t probe_flags(void)
{
    uint32_t isa = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) isa |= C1_ISA_SSE42;
    if (__builtin_cpu_supports("avx")) isa |= C1_ISA_AVX;
    if (__builtin_cpu_supports("avx2")) isa |= C1_ISA_AVX2;
    if (__builtin_cpu_supports("fma")) isa |= C1_ISA_FMA;
    if (__builtin_cpu_supports("avx512f")) isa |= C1_ISA_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) isa |= C1_ISA_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) isa |= C1_ISA_AVX512VL;
    if (__builtin_cpu_supports("avx512dq")) isa |= C1_ISA_AVX512DQ;

    unsigned a1, b1, c1, d1;
    bool osxsave = false;
    if (__get_cpuid(1, &a1, &b1, &c1, &d1)) {
        osxsave = (c1 >> 27) & 1;
        /* F16C operates on the AVX (ymm) state, which the AVX flag's OS check already covers. */
        if ((isa & C1_ISA_AVX) && ((c1 >> 29) & 1)) isa |= C1_ISA_F16C;
    }
    if (__get_cpuid_max(0, NULL) < 7) return isa;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub = a;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;

    if (isa & C1_ISA_AVX512F) {
        if ((c >> 11) & 1) isa |= C1_ISA_AVX512_VNNI;
        if ((d >> 23) & 1) isa |= C1_ISA_AVX512_FP16;
        if (max_sub >= 1) {
            unsigned a7, b7, c7, d7;
            __cpuid_count(7, 1, a7, b7, c7, d7);
            if ((a7 >> 5) & 1) isa |= C1_ISA_AVX512_BF16;
        }
    }
    /* AMX needs the tile configuration and data state enabled by the OS (XCR0 bits 17 and 18). */
    if (((xcr0 >> 17) & 3) == 3) {
        if ((d >> 24) & 1) isa |= C1_ISA_AMX_TILE;
        if ((d >> 22) & 1) isa |= C1_ISA_AMX_BF16;
        if ((d >> 25) & 1) isa |= C1_ISA_AMX_INT8;
    }
    return isa;
}

/* What each level needs of the flags. */
static const uint32_t level_needs[C1_ISA_LEVEL_COUNT] = {
    [C1_ISA_LEVEL_C] = 0,
    [C1_ISA_LEVEL_AVX2] = C1_ISA_AVX | C1_ISA_AVX2 | C1_ISA_FMA | C1_ISA_F16C,
    [C1_ISA_LEVEL_AVX512] = C1_ISA_AVX | C1_ISA_AVX2 | C1_ISA_FMA | C1_ISA_F16C | C1_ISA_AVX512F |
                            C1_ISA_AVX512BW | C1_ISA_AVX512VL | C1_ISA_AVX512DQ,
    [C1_ISA_LEVEL_AVX512BF16] = C1_ISA_AVX | C1_ISA_AVX2 | C1_ISA_FMA | C1_ISA_F16C | C1_ISA_AVX512F |
                                C1_ISA_AVX512BW | C1_ISA_AVX512VL | C1_ISA_AVX512DQ | C1_ISA_AVX512_BF16,
};

/* The flags each level may use: a capped process hides everything above its level. */
static const uint32_t level_allows[C1_ISA_LEVEL_COUNT] = {
    [C1_ISA_LEVEL_C] = C1_ISA_SSE42 | C1_ISA_AVX,
    [C1_ISA_LEVEL_AVX2] = C1_ISA_SSE42 | C1_ISA_AVX | C1_ISA_AVX2 | C1_ISA_FMA | C1_ISA_F16C,
    [C1_ISA_LEVEL_AVX512] = ~(uint32_t)(C1_ISA_AVX512_BF16 | C1_ISA_AVX512_FP16 | C1_ISA_AMX_BF16),
    [C1_ISA_LEVEL_AVX512BF16] = UINT32_MAX,
};

static struct {
    pthread_once_t once;
    uint32_t flags;
    c1_isa_level cpu, effective;
    bool env_bad;
} probe = {PTHREAD_ONCE_INIT, 0, C1_ISA_LEVEL_C, C1_ISA_LEVEL_C, false};

static void probe_once(void)
{
    probe.flags = probe_flags();
    probe.cpu = C1_ISA_LEVEL_C;
    for (int l = C1_ISA_LEVEL_COUNT - 1; l > C1_ISA_LEVEL_C; l--)
        if ((probe.flags & level_needs[l]) == level_needs[l]) {
            probe.cpu = (c1_isa_level)l;
            break;
        }
    probe.effective = probe.cpu;
    const char *env = getenv("CONV1D_ISA");
    if (env && *env) {
        c1_isa_level cap;
        if (!c1_isa_level_parse(env, &cap))
            probe.env_bad = true;
        else if (cap < probe.effective)
            probe.effective = cap;
    }
}

uint32_t c1_isa_cpu_flags(void)
{
    pthread_once(&probe.once, probe_once);
    return probe.flags;
}

c1_isa_level c1_isa_cpu_level(void)
{
    pthread_once(&probe.once, probe_once);
    return probe.cpu;
}

c1_isa_level c1_isa_effective(void)
{
    pthread_once(&probe.once, probe_once);
    return probe.effective;
}

bool c1_isa_available(c1_isa_level level) { return level >= 0 && level <= c1_isa_effective(); }

bool c1_isa_capped(void) { return c1_isa_effective() < c1_isa_cpu_level(); }

uint32_t c1_isa_effective_flags(void) { return c1_isa_cpu_flags() & level_allows[c1_isa_effective()]; }

conv1d_status c1_isa_check_env(void)
{
    pthread_once(&probe.once, probe_once);
    if (!probe.env_bad) return CONV1D_OK;
    const char *env = getenv("CONV1D_ISA");
    return c1_fail(CONV1D_INVALID_ARGUMENT,
                   "CONV1D_ISA=%.40s is not an ISA level: use avx512bf16, avx512, avx2 or c, or leave it unset for the best "
                   "this CPU has.",
                   env ? env : "");
}

const char *c1_isa_level_name(c1_isa_level level)
{
    switch (level) {
#define C1_ISA_LEVEL_CASE_(name, text) \
    case C1_ISA_LEVEL_##name:          \
        return text;
        C1_ISA_LEVEL_MAP(C1_ISA_LEVEL_CASE_)
#undef C1_ISA_LEVEL_CASE_
    case C1_ISA_LEVEL_COUNT: break;
    }
    return NULL;
}

bool c1_isa_level_parse(const char *text, c1_isa_level *level)
{
    for (int l = 0; text && l < C1_ISA_LEVEL_COUNT; l++)
        if (strcasecmp(text, c1_isa_level_name((c1_isa_level)l)) == 0) {
            *level = (c1_isa_level)l;
            return true;
        }
    return false;
}

const char *c1_isa_flag_name(uint32_t bit)
{
    switch (bit) {
#define C1_HW_ISA_CASE_(name, b, text) \
    case C1_ISA_##name:                \
        return text;
        C1_HW_ISA_MAP(C1_HW_ISA_CASE_)
#undef C1_HW_ISA_CASE_
    }
    return NULL;
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static char cpu_key[17];

static void key_init(void)
{
    unsigned a, b, c, d, brand[12] = {0}, sig = 0;
    if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u)
        for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
    if (__get_cpuid(1, &a, &b, &c, &d)) sig = a; /* family, model, stepping */
    const uint32_t flags = c1_isa_effective_flags();
    uint64_t h = c1_fnv1a64(C1_FNV1A64_INIT, brand, sizeof brand);
    h = c1_fnv1a64(h, &sig, sizeof sig);
    h = c1_fnv1a64(h, &flags, sizeof flags);
    for (int i = 15; i >= 0; i--, h >>= 4) cpu_key[i] = "0123456789abcdef"[h & 15];
    cpu_key[16] = '\0';
}

const char *c1_cpu_key(void)
{
    pthread_once(&key_once, key_init);
    return cpu_key;
}
