/* The .npy reader and writer: round trips, every refusal of a malformed file, no crash on mutated input, and the
 * 16-bit forms (float16, ml_dtypes' bfloat16 as '<V2' or 'bfloat16', raw '<u2' bits). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "test_util.h"

static char dir[64];

static int make_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/test_npy.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[512];
    while (dp && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) != 0) rmdir(path);
        }
    if (dp) closedir(dp);
    return rmdir(dir);
}

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int count_entries(void)
{
    int n = 0;
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    for (struct dirent *e; (e = readdir(dp));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dp);
    return n;
}

static size_t raw_size;

/* A file of the given version with the header text verbatim (hlen: the header length field, or -1 for the
 * real length) followed by n data bytes. Returns its path; its bytes stay in raw for c1_npy_parse. */
static unsigned char raw[4096];
static const char *write_raw(const char *name, int major, int minor, const char *header, long hlen, size_t n)
{
    size_t len = strlen(header), pre = major == 1 ? 10 : 12;
    if (hlen < 0) hlen = (long)len;
    assert_true(pre + len + n <= sizeof raw);
    memcpy(raw, "\x93NUMPY", 6);
    raw[6] = (unsigned char)major;
    raw[7] = (unsigned char)minor;
    for (size_t i = 0; i < pre - 8; i++) raw[8 + i] = (unsigned char)((unsigned long)hlen >> (8 * i));
    memcpy(raw + pre, header, len);
    for (size_t i = 0; i < n; i++) raw[pre + len + i] = (unsigned char)i;
    raw_size = pre + len + n;
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw, 1, raw_size, f), raw_size);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Reading the file and parsing its bytes both fail with `status` and a sentence naming it and holding
 * `fragment`. */
static void expect_refused(const char *path, conv1d_status status, const char *fragment)
{
    c1_npy a;
    conv1d_status st = c1_npy_read(path, &a);
    if (st != status) fail_msg("%s: status %d, expected %d (%s)", path, st, status, conv1d_last_error());
    if (!strstr(conv1d_last_error(), fragment)) fail_msg("'%s' lacks '%s'", conv1d_last_error(), fragment);
    if (!strstr(conv1d_last_error(), path)) fail_msg("'%s' does not name %s", conv1d_last_error(), path);
    assert_null(a.data);
    if (status == CONV1D_PARSE_ERROR) {
        assert_int_equal(c1_npy_parse(raw, raw_size, "mem.npy", &a), status);
        if (!strstr(conv1d_last_error(), fragment)) fail_msg("parse: '%s' lacks '%s'", conv1d_last_error(), fragment);
        assert_null(a.data);
    }
}

static void expect_read(const char *path, const char *descr, int fortran, int ndim, const int64_t *shape)
{
    c1_npy a;
    if (c1_npy_read(path, &a) != CONV1D_OK) fail_msg("%s refused: %s", path, conv1d_last_error());
    assert_string_equal(a.descr, descr);
    assert_int_equal(a.fortran_order, fortran);
    assert_int_equal(a.ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(a.shape[i], shape[i]);
    assert_non_null(a.data);
    c1_npy_free(&a);
    assert_null(a.data);
}

static void round_trip(int ndim, const int64_t *shape)
{
    uint64_t seed = 42;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *data = tu_random_floats(&seed, n);
    const char *path = tmp_path("rt.npy");
    assert_int_equal(c1_npy_write_f32(path, data, ndim, shape), CONV1D_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(((size_t)sb.st_size - (size_t)n * 4) % 64, 0); /* header aligned as np.save does */

    c1_npy a;
    if (c1_npy_read(path, &a) != CONV1D_OK) fail_msg("%s", conv1d_last_error());
    assert_string_equal(a.descr, "<f4");
    assert_int_equal(a.fortran_order, 0);
    assert_int_equal(a.ndim, ndim);
    assert_int_equal(a.itemsize, 4);
    assert_int_equal(a.nbytes, (size_t)n * 4);
    for (int i = 0; i < ndim; i++) assert_int_equal(a.shape[i], shape[i]);
    assert_memory_equal(a.data, data, (size_t)n * 4);
    c1_npy_free(&a);
    free(data);
}

static void test_round_trip(void **state)
{
    round_trip(3, (int64_t[]){2, 3, 5});
    round_trip(1, (int64_t[]){7});
    round_trip(0, NULL);
    round_trip(2, (int64_t[]){0, 4});
    round_trip(4, (int64_t[]){1, 2, 1, 3});
    int64_t many[C1_NPY_MAX_DIMS];
    for (int i = 0; i < C1_NPY_MAX_DIMS; i++) many[i] = 1;
    many[5] = 3;
    round_trip(C1_NPY_MAX_DIMS, many);
}

static void test_writer_header_text(void **state)
{
    const float v[2] = {1.0f, 2.0f};
    const char *path = tmp_path("h.npy");
    assert_int_equal(c1_npy_write_f32(path, v, 1, (int64_t[]){2}), CONV1D_OK);
    FILE *f = fopen(path, "rb");
    char buf[256];
    assert_int_equal(fread(buf, 1, sizeof buf, f), 128 + 8);
    fclose(f);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    assert_memory_equal(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 57);
    for (int i = 10 + 57; i < 127; i++) assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[127], '\n');
    unlink(path);
}

static void test_writer_failures_leave_nothing(void **state)
{
    const float v[1] = {1.0f};
    int before = count_entries();
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir/y.npy", dir);
    assert_int_equal(c1_npy_write_f32(path, v, 1, (int64_t[]){1}), CONV1D_IO_ERROR);
    assert_non_null(strstr(conv1d_last_error(), path));
    /* A directory in the way: the rename fails and the temporary is removed. */
    const char *sub = tmp_path("a_dir");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(c1_npy_write_f32(sub, v, 1, (int64_t[]){1}), CONV1D_IO_ERROR);
    assert_int_equal(count_entries(), before + 1);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(c1_npy_write_f32(tmp_path("neg.npy"), v, 1, (int64_t[]){-1}), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(c1_npy_write_f32(tmp_path("big.npy"), v, 2, (int64_t[]){INT64_MAX / 2, 3}),
                     CONV1D_INVALID_ARGUMENT);
    assert_int_equal(c1_npy_write_f32(tmp_path("dims.npy"), v, C1_NPY_MAX_DIMS + 1, NULL), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(count_entries(), before);
    /* Replacing an existing file works. */
    assert_int_equal(c1_npy_write_f32(tmp_path("r.npy"), v, 1, (int64_t[]){1}), CONV1D_OK);
    assert_int_equal(c1_npy_write_f32(tmp_path("r.npy"), v, 0, NULL), CONV1D_OK);
    expect_read(tmp_path("r.npy"), "<f4", 0, 0, NULL);
    assert_int_equal(count_entries(), before + 1);
    unlink(tmp_path("r.npy"));
}

#define H(dict) dict "\n"
#define F32_2x3 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

static void test_accepted_forms(void **state)
{
    const int64_t s23[2] = {2, 3};
    /* What np.save writes, padded; then what Python's dict literal also allows. */
    expect_read(write_raw("a.npy", 1, 0, F32_2x3 "          \n", -1, 24), "<f4", 0, 2, s23);
    expect_read(write_raw("b.npy", 1, 0, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}\n", -1, 24),
                "<f4", 0, 2, s23);
    expect_read(write_raw("c.npy", 1, 0, "  {\t'descr' : '<f4' ,\n 'fortran_order': False, 'shape': ( 2 , 3 , ) }\n",
                          -1, 24), "<f4", 0, 2, s23);
    expect_read(write_raw("d.npy", 2, 0, H(F32_2x3), -1, 24), "<f4", 0, 2, s23);
    expect_read(write_raw("e.npy", 3, 0, H(F32_2x3), -1, 24), "<f4", 0, 2, s23);
    /* Reported as found, for the caller to refuse with a precise message. */
    expect_read(write_raw("f.npy", 1, 0, H("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), -1, 48),
                "<f8", 0, 2, s23);
    expect_read(write_raw("g.npy", 1, 0, H("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), -1, 24),
                "<f4", 1, 2, s23);
    expect_read(write_raw("h.npy", 1, 0, H("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }"), -1, 24),
                "<U3", 0, 1, (int64_t[]){2});
    expect_read(write_raw("i.npy", 1, 0, H("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }"), -1, 8),
                "<M8[ns]", 0, 1, (int64_t[]){1});
    expect_read(write_raw("j.npy", 1, 0, H("{'descr': '|b1', 'fortran_order': False, 'shape': (0, 5), }"), -1, 0),
                "|b1", 0, 2, (int64_t[]){0, 5});
}

static void test_refused_preamble(void **state)
{
    const char *p = write_raw("magic.npy", 1, 0, H(F32_2x3), -1, 24);
    raw[5] = 'Z';
    FILE *f = fopen(p, "r+b");
    fseek(f, 5, SEEK_SET);
    fputc('Z', f);
    fclose(f);
    expect_refused(p, CONV1D_PARSE_ERROR, "is not a NumPy .npy file");
    expect_refused(write_raw("v4.npy", 4, 0, H(F32_2x3), -1, 24), CONV1D_PARSE_ERROR, "format version 4.0");
    expect_refused(write_raw("v11.npy", 1, 1, H(F32_2x3), -1, 24), CONV1D_PARSE_ERROR, "format version 1.1");
    expect_refused(write_raw("v0.npy", 0, 0, H(F32_2x3), -1, 24), CONV1D_PARSE_ERROR, "format version 0.0");
    expect_refused(write_raw("hlen.npy", 1, 0, H(F32_2x3), 5000, 24), CONV1D_PARSE_ERROR, "runs past the end");
    expect_refused(write_raw("hlen2.npy", 2, 0, H(F32_2x3), 0x7fffffff, 24), CONV1D_PARSE_ERROR, "runs past the end");
    /* Shorter than its preamble, and empty. */
    f = fopen(tmp_path("short.npy"), "wb");
    fwrite("\x93NUMPY\x02\x00\x10", 1, 9, f);
    fclose(f);
    memcpy(raw, "\x93NUMPY\x02\x00\x10", 9);
    raw_size = 9;
    expect_refused(tmp_path("short.npy"), CONV1D_PARSE_ERROR, "ends inside the .npy preamble");
    fclose(fopen(tmp_path("empty.npy"), "wb"));
    raw_size = 0;
    expect_refused(tmp_path("empty.npy"), CONV1D_PARSE_ERROR, "is not a NumPy .npy file");
    expect_refused(tmp_path("missing.npy"), CONV1D_IO_ERROR, "Cannot open");
    assert_int_equal(mkdir(tmp_path("adir.npy"), 0700), 0);
    expect_refused(tmp_path("adir.npy"), CONV1D_IO_ERROR, "not a regular file");
}

static void test_refused_header(void **state)
{
    static const struct {
        const char *header;
        size_t data;
        const char *fragment;
    } cases[] = {
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }"), 24, "unknown key 'extra'"},
        {H("{'descr': '<f4', 'shape': (2, 3), }"), 24, "no 'fortran_order' key"},
        {H("{'fortran_order': False, 'shape': (2, 3), }"), 24, "no 'descr' key"},
        {H("{'descr': '<f4', 'fortran_order': False}"), 24, "no 'shape' key"},
        {H("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"), 24, "'descr' twice"},
        {H("{'descr': 'float32', 'fortran_order': False, 'shape': (2, 3), }"), 24, "not a NumPy type string"},
        {H("{'descr': '<f0', 'fortran_order': False, 'shape': (2, 3), }"), 24, "not a NumPy type string"},
        {H("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }"), 48, "Python objects"},
        {H("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }"), 24, "structured dtype"},
        {H("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }"), 24, "True or False"},
        {H("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3), }"), 24, "True or False"},
        {H("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }"), 24, "True or False"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }"), 24, "is not a tuple"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }"), 24, "'(' starting the shape"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"), 24, "negative dimension"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.0), }"), 24, "',' or ')'"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }"), 24, "leading zero"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), 24, "overflows 64 bits"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"), 24,
         "byte size that overflows 64 bits"},
        {H("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }"), 24,
         "byte size that overflows 64 bits"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "), 24, "not terminated"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3"), 24, "not terminated"},
        {H("{'descr': '<f4"), 24, "closing quote"},
        {F32_2x3, 24, "does not end with a newline"},
        {F32_2x3 "  \n", 24, NULL}, /* control: accepted */
        {H(F32_2x3 " x"), 24, "extra text after the dictionary"},
        {H("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }"), 24, "',' or '}'"},
        {H("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 24, "':' after a key"},
        {H("{descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 24, "a quoted key"},
        {H("{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (2, 3), }"), 24, "unsupported character"},
        {H("['descr', '<f4']"), 24, "'{' starting"},
        {H(""), 24, "'{' starting"},
        {H(F32_2x3), 23, "truncated"},
        {H(F32_2x3), 0, "truncated"},
        {H(F32_2x3), 25, "extra data at the end"},
        {H(F32_2x3), 48, "extra data at the end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "case%zu.npy", i);
        const char *path = write_raw(name, 1, 0, cases[i].header, -1, cases[i].data);
        if (!cases[i].fragment) {
            expect_read(path, "<f4", 0, 2, (int64_t[]){2, 3});
            continue;
        }
        c1_npy a;
        if (c1_npy_read(path, &a) == CONV1D_OK) fail_msg("case %zu accepted; expected '%s'", i, cases[i].fragment);
        expect_refused(path, CONV1D_PARSE_ERROR, cases[i].fragment);
    }
}

static void test_too_many_dims(void **state)
{
    char header[1024] = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (int i = 0; i <= C1_NPY_MAX_DIMS; i++) strcat(header, "1, ");
    strcat(header, "), }\n");
    expect_refused(write_raw("dims.npy", 1, 0, header, -1, 4), CONV1D_PARSE_ERROR, "more than 64 dimensions");
}

/* Mutated valid files must be refused or read cleanly; under SAN=1 this also checks for undefined behaviour. */
static void test_mutations(void **state)
{
    uint64_t seed = 7;
    const float v[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(c1_npy_write_f32(tmp_path("m.npy"), v, 2, (int64_t[]){2, 3}), CONV1D_OK);
    FILE *f = fopen(tmp_path("m.npy"), "rb");
    unsigned char good[256], buf[256];
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    assert_int_equal(n, 128 + 24);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, good, n);
        size_t len = n;
        for (int k = (int)tu_range(&seed, 1, 4); k > 0; k--) {
            size_t at = (size_t)tu_range(&seed, 0, (int64_t)len - 1);
            switch (tu_range(&seed, 0, 3)) {
            case 0: buf[at] = (unsigned char)tu_next(&seed); break;
            case 1: buf[at] = "{}()',: \n-0123456789TFx"[tu_range(&seed, 0, 22)]; break;
            case 2: len = at; break; /* truncate */
            default: if (len < sizeof buf) buf[len++] = (unsigned char)tu_next(&seed);
            }
            if (len == 0) break;
        }
        c1_npy a;
        conv1d_status st = c1_npy_parse(buf, len, "fuzz.npy", &a);
        if (st == CONV1D_OK) {
            accepted++;
            assert_true(a.nbytes <= len);
            c1_npy_free(&a);
        } else {
            assert_true(st == CONV1D_PARSE_ERROR);
            assert_null(a.data);
            assert_true(strlen(conv1d_last_error()) > 10);
        }
    }
    assert_true(accepted > 0);
    unlink(tmp_path("m.npy"));
}

/* --- 16-bit element types ------------------------------------------------------------------------------------ */

/* Every 16-bit descr round-trips bit for bit, NaN and infinity patterns included, with np.save's alignment. */
static void test_16bit_round_trip(void **state)
{
    const char *const descrs[] = {C1_NPY_F16_DESCR, C1_NPY_BF16_DESCR, C1_NPY_V2_DESCR, C1_NPY_U16_DESCR};
    const uint16_t bits[6] = {0x3f80, 0xc020, 0x7fc0, 0xffff, 0x7c00, 0x0001};
    const int64_t shape[2] = {2, 3};
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
        const char *path = tmp_path("rt16.npy");
        assert_int_equal(c1_npy_write(path, descrs[i], bits, 2, shape), CONV1D_OK);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(((size_t)sb.st_size - sizeof bits) % 64, 0);
        c1_npy a;
        if (c1_npy_read(path, &a) != CONV1D_OK) fail_msg("%s: %s", descrs[i], conv1d_last_error());
        assert_string_equal(a.descr, descrs[i]);
        assert_int_equal(a.itemsize, 2);
        assert_int_equal(a.nbytes, sizeof bits);
        assert_int_equal(a.ndim, 2);
        assert_memory_equal(a.data, bits, sizeof bits);
        c1_npy_free(&a);
        unlink(path);
    }
}

/* bfloat16 is written under ml_dtypes' name, which np.load resolves to ml_dtypes.bfloat16. */
static void test_16bit_header_text(void **state)
{
    const uint16_t v[2] = {0x3f80, 0x4000};
    const char *path = tmp_path("bf.npy");
    assert_int_equal(c1_npy_write(path, c1_npy_descr_of(CONV1D_BF16, C1_NPY_NATIVE), v, 1, (int64_t[]){2}),
                     CONV1D_OK);
    FILE *f = fopen(path, "rb");
    char buf[256];
    assert_int_equal(fread(buf, 1, sizeof buf, f), 128 + 4);
    fclose(f);
    const char dict[] = "{'descr': 'bfloat16', 'fortran_order': False, 'shape': (2,), }";
    assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    assert_memory_equal(buf + 10, dict, sizeof dict - 1);
    for (size_t i = 10 + sizeof dict - 1; i < 127; i++) assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[127], '\n');
    assert_memory_equal(buf + 128, v, 4);
    unlink(path);
}

/* Which descr stands for which dtype, and in which form; what the writer uses for each. */
static void test_16bit_forms(void **state)
{
    static const struct {
        const char *descr;
        c1_npy_form f32, bf16, f16;
    } table[] = {
        {"<f4", C1_NPY_NATIVE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE},
        {"<f2", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NATIVE},
        {"<V2", C1_NPY_NOT_DTYPE, C1_NPY_NATIVE, C1_NPY_NOT_DTYPE},
        {"bfloat16", C1_NPY_NOT_DTYPE, C1_NPY_NATIVE, C1_NPY_NOT_DTYPE},
        {"<u2", C1_NPY_NOT_DTYPE, C1_NPY_RAW_BITS, C1_NPY_NOT_DTYPE}, /* f16 comes as '<f2' only */
        {"<i2", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE},
        {"|V2", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE}, /* a void array, not ml_dtypes' */
        {"<V4", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE},
        {"<f8", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE},
        {">f2", C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE, C1_NPY_NOT_DTYPE}, /* the other byte order */
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        c1_npy a = {0};
        snprintf(a.descr, sizeof a.descr, "%s", table[i].descr);
        if (c1_npy_form_of(&a, CONV1D_F32) != table[i].f32 || c1_npy_form_of(&a, CONV1D_BF16) != table[i].bf16 ||
            c1_npy_form_of(&a, CONV1D_F16) != table[i].f16)
            fail_msg("descr %s: forms %d %d %d", table[i].descr, c1_npy_form_of(&a, CONV1D_F32),
                     c1_npy_form_of(&a, CONV1D_BF16), c1_npy_form_of(&a, CONV1D_F16));
    }
    assert_string_equal(c1_npy_descr_of(CONV1D_F32, C1_NPY_NATIVE), "<f4");
    assert_string_equal(c1_npy_descr_of(CONV1D_F16, C1_NPY_NATIVE), "<f2");
    assert_string_equal(c1_npy_descr_of(CONV1D_BF16, C1_NPY_NATIVE), "bfloat16");
    assert_string_equal(c1_npy_descr_of(CONV1D_BF16, C1_NPY_RAW_BITS), "<u2");
    assert_null(c1_npy_descr_of(CONV1D_F16, C1_NPY_RAW_BITS));
    assert_null(c1_npy_descr_of(CONV1D_F32, C1_NPY_NOT_DTYPE));
    /* every form a reader accepts is named in the message text */
    assert_string_equal(c1_npy_forms_text(CONV1D_BF16), "<V2 or bfloat16 (ml_dtypes.bfloat16) or <u2 (its raw bits)");
    assert_string_equal(c1_npy_forms_text(CONV1D_F16), "<f2 (float16)");
    assert_string_equal(c1_npy_forms_text(CONV1D_F32), "<f4 (float32)");
}

/* The 16-bit descrs in files as others write them: sizes checked at two bytes an element; unknown names and
 * descrs the writer cannot put in a header refused. */
static void test_16bit_files(void **state)
{
    const int64_t s23[2] = {2, 3};
    expect_read(write_raw("h16.npy", 1, 0, H("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }"), -1, 12),
                "<f2", 0, 2, s23);
    expect_read(write_raw("v2.npy", 1, 0, H("{'descr': '<V2', 'fortran_order': False, 'shape': (2, 3), }"), -1, 12),
                "<V2", 0, 2, s23);
    expect_read(write_raw("bf.npy", 3, 0, H("{'descr': 'bfloat16', 'fortran_order': False, 'shape': (2, 3), }"), -1,
                          12), "bfloat16", 0, 2, s23);
    expect_read(write_raw("u2.npy", 1, 0, H("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }"), -1, 12),
                "<u2", 0, 2, s23);
    expect_refused(write_raw("bft.npy", 1, 0, H("{'descr': 'bfloat16', 'fortran_order': False, 'shape': (2, 3), }"),
                             -1, 11), CONV1D_PARSE_ERROR, "truncated");
    expect_refused(write_raw("bf4.npy", 1, 0, H("{'descr': 'bfloat16', 'fortran_order': False, 'shape': (2, 3), }"),
                             -1, 24), CONV1D_PARSE_ERROR, "extra data at the end");
    expect_refused(write_raw("bf17.npy", 1, 0, H("{'descr': 'bfloat17', 'fortran_order': False, 'shape': (2, 3), }"),
                             -1, 12), CONV1D_PARSE_ERROR, "not a NumPy type string");
    expect_refused(write_raw("bfu.npy", 1, 0, H("{'descr': 'Bfloat16', 'fortran_order': False, 'shape': (2, 3), }"),
                             -1, 12), CONV1D_PARSE_ERROR, "not a NumPy type string");

    const uint16_t v[1] = {0};
    const int before = count_entries();
    static const char *const bad[] = {"float32", "<f4'", "bfloat17", "", "<f4\\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(c1_npy_write(tmp_path("bad.npy"), bad[i], v, 1, (int64_t[]){1}), CONV1D_INVALID_ARGUMENT);
        assert_non_null(strstr(conv1d_last_error(), "not an element type"));
    }
    assert_int_equal(c1_npy_write(tmp_path("bad.npy"), NULL, v, 1, (int64_t[]){1}), CONV1D_INVALID_ARGUMENT);
    assert_int_equal(count_entries(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_writer_header_text),
        cmocka_unit_test(test_writer_failures_leave_nothing),
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_refused_preamble),
        cmocka_unit_test(test_refused_header),
        cmocka_unit_test(test_too_many_dims),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_16bit_round_trip),
        cmocka_unit_test(test_16bit_header_text),
        cmocka_unit_test(test_16bit_forms),
        cmocka_unit_test(test_16bit_files),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
