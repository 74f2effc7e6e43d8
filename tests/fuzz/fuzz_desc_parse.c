/*
 * libFuzzer target: conv1d_desc_parse on arbitrary text (both the key=value and the benchdnn forms).
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *   - a failed parse leaves an error sentence that fits conv1d_last_error();
 *   - a descriptor that parses and validates is printed by conv1d_desc_format, and that text parses back to
 *     the very same descriptor (field for field) that also validates: the canonical form is lossless.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv1d.h"

static int same_desc(const conv1d_desc *a, const conv1d_desc *b)
{
    return a->batch == b->batch && a->length == b->length && a->in_channels == b->in_channels &&
           a->out_channels == b->out_channels && a->kernel_size == b->kernel_size && a->stride == b->stride &&
           a->pad_left == b->pad_left && a->pad_right == b->pad_right && a->dilation == b->dilation &&
           a->num_groups == b->num_groups && a->has_bias == b->has_bias && a->layout == b->layout &&
           a->dtype == b->dtype;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser takes a C string: the input up to its first NUL. */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    conv1d_desc d;
    if (conv1d_desc_parse(text, &d) != CONV1D_OK) {
        const char *msg = conv1d_last_error();
        if (!msg || !*msg) abort(); /* every failure says why */
        free(text);
        return 0;
    }
    if (conv1d_desc_validate(&d) == CONV1D_OK) {
        char canon[512];
        size_t n = conv1d_desc_format(&d, canon, sizeof canon);
        if (n == 0 || n >= sizeof canon) abort();
        /* The required length is reported exactly, so a caller can size its buffer from it. */
        char tiny[8];
        if (conv1d_desc_format(&d, tiny, sizeof tiny) != n) abort();
        conv1d_desc back;
        if (conv1d_desc_parse(canon, &back) != CONV1D_OK) {
            fprintf(stderr, "canonical text does not parse: %s (%s)\n", canon, conv1d_last_error());
            abort();
        }
        if (!same_desc(&d, &back) || conv1d_desc_validate(&back) != CONV1D_OK) {
            fprintf(stderr, "round trip changed the descriptor: %s\n", canon);
            abort();
        }
    }
    free(text);
    return 0;
}
