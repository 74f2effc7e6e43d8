/* NumPy .npy files: a strict reader (versions 1.0, 2.0, 3.0), an atomic writer (version 1.0), and the forms of
 * the conv1d dtypes in them (npy.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "npy.h"

static const char magic[6] = "\x93NUMPY";

_Static_assert(SIZE_MAX >= INT64_MAX, "byte sizes up to INT64_MAX must fit in size_t");

/* np.save writes headers of a few hundred bytes; the cap keeps a hostile length from becoming an allocation. */
#define MAX_HEADER_BYTES (1u << 20)

/* ------------------------------------------------------------------------------------------------------ */
/* Header dict parsing. Every read is bounds-checked against end; nothing here allocates. */

typedef struct hparser {
    const char *p, *begin, *end;
    const char *name; /* the file, for messages */
} hparser;

/* A byte as it may appear in a message: itself if printable, else \xNN. */
static const char *show(const hparser *h, char buf[8])
{
    if (h->p >= h->end) return "the end of the header";
    unsigned char c = (unsigned char)*h->p;
    if (c >= 0x20 && c < 0x7f && c != '\'')
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "\\x%02x", c);
    return buf;
}

static conv1d_status unexpected(const hparser *h, const char *wanted)
{
    char buf[8];
    if (h->p >= h->end)
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header dictionary is not terminated (expected %s).", h->name,
                       wanted);
    return c1_fail(CONV1D_PARSE_ERROR, "%s: malformed .npy header: expected %s at offset %td, found %s.", h->name,
                   wanted, h->p - h->begin, show(h, buf));
}

static void skip_ws(hparser *h)
{
    while (h->p < h->end && *h->p && strchr(" \t\r\n\f", *h->p)) h->p++;
}

static bool eat(hparser *h, char c)
{
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return true;
    }
    return false;
}

/* A quoted string without escapes (NumPy never writes any in the keys and dtypes this reader accepts). */
static conv1d_status parse_string(hparser *h, char *out, size_t cap, const char *what)
{
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return unexpected(h, what);
    const char quote = *h->p++;
    size_t n = 0;
    for (; h->p < h->end && *h->p != quote; h->p++) {
        if (*h->p == '\n') break; /* Python strings do not span lines */
        if (*h->p == '\\' || *h->p == '\0')
            return c1_fail(CONV1D_PARSE_ERROR, "%s: malformed .npy header: unsupported character in %s at offset %td.",
                           h->name, what, h->p - h->begin);
        if (n + 1 >= cap)
            return c1_fail(CONV1D_PARSE_ERROR, "%s: malformed .npy header: %s is longer than %zu characters.",
                           h->name, what, cap - 1);
        out[n++] = *h->p;
    }
    if (!eat(h, quote)) return unexpected(h, "a closing quote");
    out[n] = '\0';
    return CONV1D_OK;
}

/* A non-negative decimal integer that fits in int64. */
static conv1d_status parse_dim(hparser *h, int64_t *v)
{
    if (h->p < h->end && *h->p == '-')
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape has a negative dimension at offset %td.", h->name,
                       h->p - h->begin);
    if (h->p >= h->end || *h->p < '0' || *h->p > '9') return unexpected(h, "a dimension (a non-negative integer)");
    const char *start = h->p;
    int64_t x = 0;
    for (; h->p < h->end && *h->p >= '0' && *h->p <= '9'; h->p++) {
        int d = *h->p - '0';
        if (x > (INT64_MAX - d) / 10)
            return c1_fail(CONV1D_PARSE_ERROR,
                           "%s: the .npy shape has a dimension at offset %td that overflows 64 bits.", h->name,
                           start - h->begin);
        x = x * 10 + d;
    }
    if (h->p - start > 1 && *start == '0')
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape has a dimension with a leading zero at offset %td.",
                       h->name, start - h->begin);
    *v = x;
    return CONV1D_OK;
}

/* A Python tuple of integers: (), (n,), (n, m), (n, m,). "(n)" is an int in Python, not a tuple. */
static conv1d_status parse_shape(hparser *h, c1_npy *out)
{
    conv1d_status st;
    if (!eat(h, '(')) return unexpected(h, "'(' starting the shape tuple");
    skip_ws(h);
    if (eat(h, ')')) return CONV1D_OK;
    for (;;) {
        if (out->ndim == C1_NPY_MAX_DIMS)
            return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape has more than %d dimensions.", h->name,
                           C1_NPY_MAX_DIMS);
        if ((st = parse_dim(h, &out->shape[out->ndim])) != CONV1D_OK) return st;
        out->ndim++;
        skip_ws(h);
        if (eat(h, ',')) {
            skip_ws(h);
            if (eat(h, ')')) return CONV1D_OK;
            continue;
        }
        if (h->p < h->end && *h->p == ')' && out->ndim == 1)
            return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape (%lld) is not a tuple (a 1-D shape is written "
                           "(%lld,)).", h->name, (long long)out->shape[0], (long long)out->shape[0]);
        if (eat(h, ')')) return CONV1D_OK;
        return unexpected(h, "',' or ')' in the shape tuple");
    }
}

static conv1d_status parse_bool(hparser *h, int *v)
{
    static const struct { const char *text; int value; } words[] = {{"True", 1}, {"False", 0}};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(words[i].text);
        if ((size_t)(h->end - h->p) >= n && memcmp(h->p, words[i].text, n) == 0) {
            const char *after = h->p + n;
            /* "Truex" would be a name, not the constant */
            if (after < h->end && (*after == '_' || isalnum((unsigned char)*after))) break;
            h->p = after;
            *v = words[i].value;
            return CONV1D_OK;
        }
    }
    return unexpected(h, "True or False for 'fortran_order'");
}

/* Bytes per element of a dtype string as NumPy writes it ([byte order] kind [size] [unit]), or 0 with the
 * failure recorded. Sizes are bounded so that later products cannot overflow on their account. */
static size_t dtype_itemsize(const char *descr, const char *name)
{
    if (strcmp(descr, C1_NPY_BF16_DESCR) == 0) return 2; /* ml_dtypes' name; np.save itself writes '<V2' */
    const char *s = descr;
    if (*s && strchr("<>|=", *s)) s++;
    const char kind = *s ? *s++ : '\0';
    if (kind == 'O') {
        c1_fail(CONV1D_PARSE_ERROR, "%s has dtype %s (Python objects), which cannot be read without unpickling.",
                name, descr);
        return 0;
    }
    if (kind == '?' && !*s) return 1;
    size_t n = 0;
    const char *digits = s;
    while (*s >= '0' && *s <= '9' && n < 1000000) n = n * 10 + (size_t)(*s++ - '0');
    const bool sized = s > digits && n > 0 && n < 1000000;
    if (sized && !*s) {
        switch (kind) {
        case 'b': case 'i': case 'u': case 'f': case 'c': case 'S': case 'a': case 'V': return n;
        case 'U': return 4 * n; /* UCS-4 code units */
        }
    }
    /* datetime64 and timedelta64: 8 bytes, optionally with a unit in brackets */
    if ((kind == 'M' || kind == 'm') && sized && n == 8 && (!*s || (*s == '[' && strchr(s, ']') == s + strlen(s) - 1)))
        return 8;
    c1_fail(CONV1D_PARSE_ERROR, "%s has dtype '%s', which is not a NumPy type string this reader knows (such as "
            "'<f4').", name, descr);
    return 0;
}

static conv1d_status parse_header(const char *text, size_t len, const char *name, c1_npy *out)
{
    hparser h = {text, text, text + len, name};
    conv1d_status st;
    bool have_descr = false, have_order = false, have_shape = false;

    /* NumPy pads with spaces and ends with a newline. */
    if (len == 0 || text[len - 1] != '\n')
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header does not end with a newline.", name);
    skip_ws(&h);
    if (!eat(&h, '{')) return unexpected(&h, "'{' starting the header dictionary");
    for (;;) {
        skip_ws(&h);
        if (eat(&h, '}')) break; /* also after a trailing comma, as np.save writes it */
        char key[32];
        if ((st = parse_string(&h, key, sizeof key, "a quoted key")) != CONV1D_OK) return st;
        skip_ws(&h);
        if (!eat(&h, ':')) return unexpected(&h, "':' after a key");
        skip_ws(&h);
        bool *seen = strcmp(key, "descr") == 0           ? &have_descr
                     : strcmp(key, "fortran_order") == 0 ? &have_order
                     : strcmp(key, "shape") == 0         ? &have_shape
                                                         : NULL;
        if (!seen)
            return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header has the unknown key '%s' (expected 'descr', "
                           "'fortran_order' and 'shape').", name, key);
        if (*seen) return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header has the key '%s' twice.", name, key);
        *seen = true;
        if (seen == &have_descr) {
            if (h.p < h.end && *h.p == '[')
                return c1_fail(CONV1D_PARSE_ERROR, "%s has a structured dtype, which is not supported.", name);
            if ((st = parse_string(&h, out->descr, sizeof out->descr, "the 'descr' string")) != CONV1D_OK) return st;
        } else if (seen == &have_order) {
            if ((st = parse_bool(&h, &out->fortran_order)) != CONV1D_OK) return st;
        } else if ((st = parse_shape(&h, out)) != CONV1D_OK) {
            return st;
        }
        skip_ws(&h);
        if (eat(&h, ',')) continue;
        if (eat(&h, '}')) break;
        return unexpected(&h, "',' or '}' after a value");
    }
    skip_ws(&h);
    if (h.p != h.end)
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header has extra text after the dictionary at offset %td.",
                       name, h.p - h.begin);
    const char *missing = !have_descr ? "descr" : !have_order ? "fortran_order" : !have_shape ? "shape" : NULL;
    if (missing) return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header has no '%s' key.", name, missing);
    if (!(out->itemsize = dtype_itemsize(out->descr, name))) return CONV1D_PARSE_ERROR;
    return CONV1D_OK;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Preamble and sizes */

/* Checks magic and version in the first bytes and returns the preamble and header lengths. */
static conv1d_status parse_preamble(const unsigned char *b, size_t n, uint64_t file_size, const char *name,
                                    size_t *pre, size_t *hlen)
{
    if (n < 8 || memcmp(b, magic, sizeof magic) != 0)
        return c1_fail(CONV1D_PARSE_ERROR, "%s is not a NumPy .npy file (it does not start with \\x93NUMPY).", name);
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return c1_fail(CONV1D_PARSE_ERROR, "%s has .npy format version %u.%u; this reader knows 1.0, 2.0 and 3.0.",
                       name, b[6], b[7]);
    *pre = b[6] == 1 ? 10 : 12; /* 1.0: 16-bit header length; 2.0, 3.0: 32-bit */
    if (n < *pre) return c1_fail(CONV1D_PARSE_ERROR, "%s ends inside the .npy preamble.", name);
    *hlen = b[6] == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                      : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (*hlen > file_size - *pre)
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header length %zu runs past the end of the %llu-byte file.",
                       name, *hlen, (unsigned long long)file_size);
    if (*hlen > MAX_HEADER_BYTES)
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy header of %zu bytes is larger than the %u this reader "
                       "accepts.", name, *hlen, MAX_HEADER_BYTES);
    return CONV1D_OK;
}

/* product(shape) * itemsize, refused if it overflows; then it must equal the bytes after the header. */
static conv1d_status check_data_size(c1_npy *a, uint64_t remaining, const char *name)
{
    uint64_t bytes = a->itemsize;
    for (int i = 0; i < a->ndim; i++)
        if (__builtin_mul_overflow(bytes, (uint64_t)a->shape[i], &bytes) || bytes > (uint64_t)INT64_MAX) {
            char shape[1600];
            c1_npy_format_shape(shape, sizeof shape, a->ndim, a->shape);
            return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape %s of %s has a byte size that overflows 64 bits.",
                           name, shape, a->descr);
        }
    if (bytes != remaining) {
        char shape[1600];
        c1_npy_format_shape(shape, sizeof shape, a->ndim, a->shape);
        return c1_fail(CONV1D_PARSE_ERROR, "%s: the .npy shape %s of %s needs %llu data bytes, but the file has %llu "
                       "(%s).", name, shape, a->descr, (unsigned long long)bytes, (unsigned long long)remaining,
                       bytes > remaining ? "truncated" : "extra data at the end");
    }
    a->nbytes = (size_t)bytes;
    return CONV1D_OK;
}

static conv1d_status alloc_data(c1_npy *a, const char *name)
{
    a->data = malloc(a->nbytes ? a->nbytes : 1);
    if (!a->data)
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate %zu bytes for the data of %s.", a->nbytes, name);
    return CONV1D_OK;
}

void c1_npy_free(c1_npy *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

conv1d_status c1_npy_parse(const void *bytes, size_t size, const char *name, c1_npy *out)
{
    const unsigned char *b = bytes;
    size_t pre, hlen;
    conv1d_status st;
    memset(out, 0, sizeof *out);
    if ((st = parse_preamble(b, size, size, name, &pre, &hlen)) != CONV1D_OK ||
        (st = parse_header((const char *)b + pre, hlen, name, out)) != CONV1D_OK ||
        (st = check_data_size(out, size - pre - hlen, name)) != CONV1D_OK ||
        (st = alloc_data(out, name)) != CONV1D_OK) {
        c1_npy_free(out);
        return st;
    }
    if (out->nbytes) memcpy(out->data, b + pre + hlen, out->nbytes);
    return CONV1D_OK;
}

conv1d_status c1_npy_read(const char *path, c1_npy *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return c1_fail(CONV1D_IO_ERROR, "Cannot open %s: %s.", path, strerror(errno));
    conv1d_status st;
    struct stat sb;
    unsigned char pre_bytes[12];
    char *header = NULL;
    size_t pre, hlen;
    if (fstat(fileno(f), &sb) != 0) {
        st = c1_fail(CONV1D_IO_ERROR, "Cannot stat %s: %s.", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = c1_fail(CONV1D_IO_ERROR, "%s is not a regular file.", path);
        goto done;
    }
    const uint64_t size = (uint64_t)sb.st_size;
    size_t got = fread(pre_bytes, 1, size < sizeof pre_bytes ? (size_t)size : sizeof pre_bytes, f);
    if ((st = parse_preamble(pre_bytes, got, size, path, &pre, &hlen)) != CONV1D_OK) goto done;
    /* The header starts right after the preamble, which may be shorter than what was read. */
    if (!(header = malloc(hlen + 1))) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate %zu bytes for the header of %s.", hlen, path);
        goto done;
    }
    if (fseek(f, (long)pre, SEEK_SET) != 0 || fread(header, 1, hlen, f) != hlen) {
        st = c1_fail(CONV1D_IO_ERROR, "Cannot read the .npy header of %s.", path);
        goto done;
    }
    if ((st = parse_header(header, hlen, path, out)) != CONV1D_OK) goto done;
    if ((st = check_data_size(out, size - pre - hlen, path)) != CONV1D_OK) goto done;
    if ((st = alloc_data(out, path)) != CONV1D_OK) goto done;
    /* The file may change between fstat and here: insist on exactly nbytes and then the end. */
    if (fread(out->data, 1, out->nbytes, f) != out->nbytes || fgetc(f) != EOF)
        st = c1_fail(CONV1D_IO_ERROR, "Cannot read the %zu data bytes of %s (the file changed while being read?).",
                     out->nbytes, path);
done:
    free(header);
    fclose(f);
    if (st != CONV1D_OK) c1_npy_free(out);
    return st;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Writer */

size_t c1_npy_format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, __VA_ARGS__)
    PUT("(");
    for (int i = 0; i < ndim; i++) PUT("%s%lld", i ? ", " : "", (long long)shape[i]);
    PUT(ndim == 1 ? ",)" : ")");
#undef PUT
    return n;
}

static bool write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

conv1d_status c1_npy_write(const char *path, const char *descr, const void *data, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > C1_NPY_MAX_DIMS)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "Cannot write %s: %d dimensions (at most %d).", path, ndim,
                       C1_NPY_MAX_DIMS);
    /* The descr goes into the header verbatim: only a type string the reader knows, free of quotes. */
    const size_t itemsize = descr && strlen(descr) < 16 && !strpbrk(descr, "'\"\\") ? dtype_itemsize(descr, path) : 0;
    if (!itemsize)
        return c1_fail(CONV1D_INVALID_ARGUMENT, "Cannot write %s: '%s' is not an element type this writer knows.",
                       path, descr ? descr : "(null)");
    uint64_t nbytes = itemsize;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(nbytes, (uint64_t)shape[i], &nbytes) || nbytes > (uint64_t)INT64_MAX)
            return c1_fail(CONV1D_INVALID_ARGUMENT, "Cannot write %s: dimension %d is %lld, which is negative or "
                           "makes the byte size overflow.", path, i, (long long)shape[i]);

    /* Version 1.0: the preamble and header together are a multiple of 64 bytes, as np.save aligns them. */
    char head[10 + 64 + 24 * C1_NPY_MAX_DIMS + 64], shape_text[24 * C1_NPY_MAX_DIMS + 8];
    c1_npy_format_shape(shape_text, sizeof shape_text, ndim, shape);
    int dict = snprintf(head + 10, sizeof head - 10, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                        descr, shape_text);
    size_t total = (10 + (size_t)dict + 1 + 63) / 64 * 64;
    memset(head + 10 + dict, ' ', total - 10 - (size_t)dict - 1);
    head[total - 1] = '\n';
    memcpy(head, magic, sizeof magic);
    head[6] = 1;
    head[7] = 0;
    head[8] = (char)((total - 10) & 0xff);
    head[9] = (char)((total - 10) >> 8);

    /* A unique name next to the target, so the rename stays within one file system. */
    static atomic_uint counter;
    size_t tmp_size = strlen(path) + 64;
    char *tmp = malloc(tmp_size);
    if (!tmp) return c1_fail(CONV1D_OUT_OF_MEMORY, "Cannot write %s: out of memory.", path);
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(tmp, tmp_size, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        conv1d_status st = c1_fail(CONV1D_IO_ERROR, "Cannot write %s: %s.", path, strerror(errno));
        free(tmp);
        return st;
    }
    bool ok = write_all(fd, head, total) && (nbytes == 0 || write_all(fd, data, (size_t)nbytes)) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? CONV1D_OK : c1_fail(CONV1D_IO_ERROR, "Cannot write %s: %s.", path, strerror(err));
}

conv1d_status c1_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape)
{
    return c1_npy_write(path, C1_NPY_F32_DESCR, data, ndim, shape);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The conv1d dtypes in files */

c1_npy_form c1_npy_form_of(const c1_npy *a, conv1d_dtype t)
{
    switch (t) {
    case CONV1D_F32: return strcmp(a->descr, C1_NPY_F32_DESCR) == 0 ? C1_NPY_NATIVE : C1_NPY_NOT_DTYPE;
    case CONV1D_F16: return strcmp(a->descr, C1_NPY_F16_DESCR) == 0 ? C1_NPY_NATIVE : C1_NPY_NOT_DTYPE;
    case CONV1D_BF16:
        if (strcmp(a->descr, C1_NPY_V2_DESCR) == 0 || strcmp(a->descr, C1_NPY_BF16_DESCR) == 0) return C1_NPY_NATIVE;
        return strcmp(a->descr, C1_NPY_U16_DESCR) == 0 ? C1_NPY_RAW_BITS : C1_NPY_NOT_DTYPE;
    }
    return C1_NPY_NOT_DTYPE;
}

const char *c1_npy_descr_of(conv1d_dtype t, c1_npy_form f)
{
    switch (t) {
    case CONV1D_F32: return f == C1_NPY_NATIVE ? C1_NPY_F32_DESCR : NULL;
    case CONV1D_F16: return f == C1_NPY_NATIVE ? C1_NPY_F16_DESCR : NULL;
    case CONV1D_BF16:
        return f == C1_NPY_NATIVE ? C1_NPY_BF16_DESCR : f == C1_NPY_RAW_BITS ? C1_NPY_U16_DESCR : NULL;
    }
    return NULL;
}

const char *c1_npy_forms_text(conv1d_dtype t)
{
    switch (t) {
    case CONV1D_F32: return C1_NPY_F32_DESCR " (float32)";
    case CONV1D_F16: return C1_NPY_F16_DESCR " (float16)";
    case CONV1D_BF16:
        return C1_NPY_V2_DESCR " or " C1_NPY_BF16_DESCR " (ml_dtypes.bfloat16) or " C1_NPY_U16_DESCR " (its raw bits)";
    }
    return "none (not a conv1d dtype)";
}
