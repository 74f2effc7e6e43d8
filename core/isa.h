/*
 * isa.h: the one CPU-feature probe, and the ISA levels that variants are written for.
 *
 * Every ISA-specific variant names its level in the ISA column of variants/variants.inc (c, avx2, avx512,
 * avx512bf16);
 * the registry, the harness, the tests and the machine record ask c1_isa_available() whether that level may
 * run here. A level may run when the CPU and OS support it and the cap CONV1D_ISA (a level's name;
 * unset or empty: no cap) does not exclude it, so one AVX-512 machine can exercise and time the AVX2 and
 * portable paths as an AVX2-only machine would run them. The cap never raises a level the CPU lacks.
 *
 * Levels:
 *   c       portable C, baseline x86-64 (SSE2): what any x86-64 machine runs
 *   avx2    AVX2 + FMA + F16C (Haswell, Zen 1 and later)
 *   avx512  AVX-512 F + BW + VL + DQ (Skylake-SP, Ice Lake, Zen 4 and later)
 *   avx512bf16  avx512 + AVX512_BF16: vdpbf16ps and vcvtne2ps2bf16 (Cooper Lake, Sapphire Rapids, Zen 4 and
 *           later); CONV1D_ISA=avx512 on such a CPU runs what an AVX-512 CPU without bf16 runs
 *
 * Thread-safe: the probe and CONV1D_ISA are read once per process, on first use.
 */
#ifndef CONV1D_CORE_ISA_H
#define CONV1D_CORE_ISA_H

#include <stdbool.h>
#include <stdint.h>

#include "conv1d.h"

/* X(NAME, text), lowest first: the order is the cap's order. */
#define C1_ISA_LEVEL_MAP(X) \
    X(C, "c")               \
    X(AVX2, "avx2")         \
    X(AVX512, "avx512")     \
    X(AVX512BF16, "avx512bf16")

typedef enum c1_isa_level {
#define C1_ISA_LEVEL_ENUM_(name, text) C1_ISA_LEVEL_##name,
    C1_ISA_LEVEL_MAP(C1_ISA_LEVEL_ENUM_)
#undef C1_ISA_LEVEL_ENUM_
        C1_ISA_LEVEL_COUNT
} c1_isa_level;

/* ISA flags: X(NAME, bit, text). Bits are stable: they are hashed into the fingerprint by name, but code
 * may store masks. */
#define C1_HW_ISA_MAP(X)              \
    X(SSE42, 0, "sse4.2")             \
    X(AVX, 1, "avx")                  \
    X(AVX2, 2, "avx2")                \
    X(FMA, 3, "fma")                  \
    X(AVX512F, 4, "avx512f")          \
    X(AVX512BW, 5, "avx512bw")        \
    X(AVX512VL, 6, "avx512vl")        \
    X(AVX512DQ, 7, "avx512dq")        \
    X(AVX512_BF16, 8, "avx512_bf16")  \
    X(AVX512_VNNI, 9, "avx512_vnni")  \
    X(AMX_TILE, 10, "amx_tile")       \
    X(AMX_BF16, 11, "amx_bf16")       \
    X(AMX_INT8, 12, "amx_int8")       \
    X(F16C, 13, "f16c")               \
    X(AVX512_FP16, 14, "avx512_fp16")

enum {
#define C1_HW_ISA_ENUM_(name, bit, text) C1_ISA_##name = 1u << (bit),
    C1_HW_ISA_MAP(C1_HW_ISA_ENUM_)
#undef C1_HW_ISA_ENUM_
};

/* The C1_ISA_* flags the CPU and OS support, before any cap. */
uint32_t c1_isa_cpu_flags(void);

/* The highest level the CPU and OS support, before any cap. */
c1_isa_level c1_isa_cpu_level(void);

/* The level variants may use: the CPU's, lowered to CONV1D_ISA when that is set. A CONV1D_ISA that is not
 * a level name caps nothing here; c1_isa_check_env() reports it. */
c1_isa_level c1_isa_effective(void);

/* Whether variants of this level may run in this process (CPU support and the cap). */
bool c1_isa_available(c1_isa_level level);

/* The C1_ISA_* flags as variants may use them: the CPU's, with those above the effective level cleared. */
uint32_t c1_isa_effective_flags(void);

/* CONV1D_OK, or CONV1D_INVALID_ARGUMENT with a sentence naming the bad CONV1D_ISA value. */
conv1d_status c1_isa_check_env(void);

/* Whether CONV1D_ISA lowers the level below the CPU's (and so changes what may run). */
bool c1_isa_capped(void);

/* A key of this CPU as the variants see it: 16 hex digits hashing the CPU's brand string, family, model and
 * stepping and the effective ISA flags (so a capped process has its own). For per-machine caches a kernel
 * keeps itself (FFTW wisdom), where the runtime's full fingerprint is out of the kernel's reach. */
const char *c1_cpu_key(void);

/* "c", "avx2", "avx512", "avx512bf16"; NULL for an out-of-range value. */
const char *c1_isa_level_name(c1_isa_level level);

/* Parses a level name (case-insensitive). false for anything else. Pure. */
bool c1_isa_level_parse(const char *text, c1_isa_level *level);

/* The name of one C1_ISA_* flag ("avx2"), or NULL for anything but exactly one known bit. */
const char *c1_isa_flag_name(uint32_t bit);

#endif
