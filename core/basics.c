/* Small shared helpers: clock, text, hashing, seeded random data. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basics.h"

double c1_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void c1_appendf(char *buf, size_t size, const char *fmt, ...)
{
    const size_t used = strlen(buf);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

uint64_t c1_fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

uint64_t c1_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void c1_fill_random(float *p, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = (float)((double)(c1_splitmix64(s) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
        p[i] = v != 0.0f ? v : 0.5f;
    }
}

float *c1_alloc_floats(size_t n)
{
    const size_t bytes = n > 0 ? (n * sizeof(float) + 63) / 64 * 64 : 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
