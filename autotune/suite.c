/* Suite files: shape lists with their sources cited in comments. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "suite.h"

conv1d_status c1_suite_add(c1_suite *s, const conv1d_desc *d)
{
    if (s->count >= C1_SUITE_MAX_SHAPES)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "A suite holds at most %d shapes.", C1_SUITE_MAX_SHAPES);
    conv1d_desc *grown = realloc(s->shapes, (s->count + 1) * sizeof *grown);
    if (!grown) return c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory for %zu suite shapes.", s->count + 1);
    s->shapes = grown;
    s->shapes[s->count++] = *d;
    return CONV1D_OK;
}

/* Reads one line of at most `size - 1` bytes (newline excluded) into buf. Returns its length, or -1 at the
 * end of the file; *too_long is set when the line did not fit (the rest of it is consumed) and *nul when it
 * holds a NUL byte, which fgets would have hidden by cutting the line short. */
static long read_line(FILE *f, char *buf, size_t size, bool *too_long, bool *nul)
{
    size_t n = 0;
    int c;
    *too_long = *nul = false;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == '\0') *nul = true;
        if (n + 1 < size)
            buf[n++] = (char)c;
        else
            *too_long = true;
    }
    if (c == EOF && n == 0 && !*too_long) return -1;
    buf[n] = '\0';
    return (long)n;
}

conv1d_status c1_suite_load(const char *path, c1_suite *s)
{
    FILE *f = fopen(path, "r");
    if (!f) return c1_fail(CONV1D_IO_ERROR, "Cannot open suite %s: %s.", path, strerror(errno));
    const size_t before = s->count;
    char line[C1_SUITE_MAX_LINE + 1];
    conv1d_status rc = CONV1D_OK;
    bool too_long, nul;
    for (int lineno = 1; rc == CONV1D_OK && read_line(f, line, sizeof line, &too_long, &nul) >= 0; lineno++) {
        if (too_long) {
            rc = c1_fail(CONV1D_PARSE_ERROR, "%s:%d: line longer than %d characters.", path, lineno,
                         C1_SUITE_MAX_LINE);
            break;
        }
        if (nul) {
            rc = c1_fail(CONV1D_PARSE_ERROR, "%s:%d: NUL byte in the line (a suite is a text file).", path, lineno);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *start = line + strspn(line, " \t\r\n");
        char *end = start + strlen(start);
        while (end > start && strchr(" \t\r\n", end[-1])) *--end = '\0';
        if (!*start) continue;
        conv1d_desc d;
        if (conv1d_desc_parse(start, &d) != CONV1D_OK || conv1d_desc_validate(&d) != CONV1D_OK) {
            char reason[512];
            snprintf(reason, sizeof reason, "%s", conv1d_last_error());
            rc = c1_fail(CONV1D_PARSE_ERROR, "%s:%d: %s", path, lineno, reason);
        } else {
            rc = c1_suite_add(s, &d);
        }
    }
    if (rc == CONV1D_OK && ferror(f)) rc = c1_fail(CONV1D_IO_ERROR, "Error reading suite %s.", path);
    fclose(f);
    if (rc != CONV1D_OK) s->count = before;
    return rc;
}

void c1_suite_free(c1_suite *s)
{
    free(s->shapes);
    s->shapes = NULL;
    s->count = 0;
}
