/* Internal: small helpers the library, the harness and the tool share, each written once. */
#ifndef CONV1D_BASICS_H
#define CONV1D_BASICS_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock. */
double c1_now_s(void);

/* Appends printf-style text to the NUL-terminated buf of `size` bytes, truncating when full. */
void c1_appendf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* FNV-1a 64-bit: h = c1_fnv1a64(C1_FNV1A64_INIT, data, n), chainable. Stable everywhere; not a secure hash. */
#define C1_FNV1A64_INIT 0xcbf29ce484222325ull
uint64_t c1_fnv1a64(uint64_t h, const void *data, size_t n);

/* splitmix64: the next number of the stream whose state is *s; a recorded seed reproduces the stream. */
uint64_t c1_splitmix64(uint64_t *s);

/* n floats uniform in [-1, 1) from the stream *s, never zero (a zero input could hide a missing term). */
void c1_fill_random(float *p, int64_t n, uint64_t *s);

/* n floats, zeroed, on a 64-byte (cache line) boundary, so no vector load of packed weights or bias splits a
 * line; release with free(). NULL when out of memory. */
float *c1_alloc_floats(size_t n);

#endif
