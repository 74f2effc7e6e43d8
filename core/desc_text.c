/* Descriptors as text: the canonical key=value form, and oneDNN benchdnn's 1-D convolution descriptors. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conv1d.h"
#include "error.h"

/* Quoted user text is cut to this many bytes so that a sentence still fits the error buffer. */
#define QUOTE_MAX 80
#define QLEN(n) ((int)((n) < QUOTE_MAX ? (n) : QUOTE_MAX))

#define WHITESPACE " \t\n\r\v\f"

/* A piece of the input text; not NUL-terminated. */
typedef struct {
    const char *p;
    size_t n;
} span;

static bool span_is(span s, const char *lit) { return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0; }

static bool span_is_nocase(span s, const char *lit) { return strlen(lit) == s.n && !strncasecmp(s.p, lit, s.n); }

typedef enum { NUM_OK, NUM_BAD, NUM_RANGE } num_result;

/* Reads all of s as a decimal int64 (digits, with a leading '-' only when allowed). Junk anywhere wins over
 * overflow, so "99999999999999999999x" is reported as not a number. */
static num_result parse_int(span s, bool allow_minus, int64_t *out)
{
    bool neg = allow_minus && s.n > 0 && s.p[0] == '-';
    size_t i = neg;
    if (i == s.n) return NUM_BAD;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    bool range = false;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') return NUM_BAD;
        unsigned digit = (unsigned)(s.p[i] - '0');
        if (v > (limit - digit) / 10)
            range = true;
        else
            v = v * 10 + digit;
    }
    if (range) return NUM_RANGE;
    *out = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
    return NUM_OK;
}

/* ---- canonical form --------------------------------------------------------------------------------- */

typedef enum { K_INT, K_PADDING, K_BOOL, K_LAYOUT, K_DTYPE } key_kind;

enum {
    KEY_BATCH, KEY_LENGTH, KEY_IN_CHANNELS, KEY_OUT_CHANNELS, KEY_KERNEL_SIZE, KEY_STRIDE, KEY_PAD_LEFT,
    KEY_PAD_RIGHT, KEY_DILATION, KEY_NUM_GROUPS, KEY_PADDING, KEY_BIAS, KEY_LAYOUT, KEY_DTYPE, NUM_KEYS
};

static const struct key {
    const char *name, *alias;
    key_kind kind;
    size_t offset; /* of the int64_t field, for K_INT */
    bool required;
} keys[NUM_KEYS] = {
    [KEY_BATCH] = {"batch", NULL, K_INT, offsetof(conv1d_desc, batch), false},
    [KEY_LENGTH] = {"length", NULL, K_INT, offsetof(conv1d_desc, length), true},
    [KEY_IN_CHANNELS] = {"in_channels", NULL, K_INT, offsetof(conv1d_desc, in_channels), true},
    [KEY_OUT_CHANNELS] = {"out_channels", NULL, K_INT, offsetof(conv1d_desc, out_channels), true},
    [KEY_KERNEL_SIZE] = {"kernel_size", NULL, K_INT, offsetof(conv1d_desc, kernel_size), true},
    [KEY_STRIDE] = {"stride", NULL, K_INT, offsetof(conv1d_desc, stride), false},
    [KEY_PAD_LEFT] = {"pad_left", NULL, K_INT, offsetof(conv1d_desc, pad_left), false},
    [KEY_PAD_RIGHT] = {"pad_right", NULL, K_INT, offsetof(conv1d_desc, pad_right), false},
    [KEY_DILATION] = {"dilation", NULL, K_INT, offsetof(conv1d_desc, dilation), false},
    [KEY_NUM_GROUPS] = {"num_groups", "groups", K_INT, offsetof(conv1d_desc, num_groups), false},
    [KEY_PADDING] = {"padding", NULL, K_PADDING, 0, false},
    [KEY_BIAS] = {"bias", "has_bias", K_BOOL, 0, false},
    [KEY_LAYOUT] = {"layout", NULL, K_LAYOUT, 0, false},
    [KEY_DTYPE] = {"dtype", NULL, K_DTYPE, 0, false},
};

static int find_key(span name)
{
    for (int i = 0; i < NUM_KEYS; i++)
        if (span_is(name, keys[i].name) || (keys[i].alias && span_is(name, keys[i].alias))) return i;
    return -1;
}

static conv1d_status set_value(conv1d_desc *d, int key, span name, span value)
{
    const struct key *k = &keys[key];
    int64_t v = 0;
    switch (k->kind) {
    case K_INT:
    case K_PADDING:
        switch (parse_int(value, true, &v)) {
        case NUM_BAD:
            return c1_fail(CONV1D_PARSE_ERROR, "Value '%.*s' of key '%.*s' is not a decimal integer.",
                           QLEN(value.n), value.p, QLEN(name.n), name.p);
        case NUM_RANGE:
            return c1_fail(CONV1D_PARSE_ERROR, "Value %.*s of key '%.*s' does not fit in 64 bits.", QLEN(value.n),
                           value.p, QLEN(name.n), name.p);
        case NUM_OK:
            break;
        }
        if (k->kind == K_PADDING)
            d->pad_left = d->pad_right = v;
        else
            *(int64_t *)(void *)((char *)d + k->offset) = v;
        return CONV1D_OK;
    case K_BOOL:
        if (span_is(value, "1") || span_is_nocase(value, "true"))
            d->has_bias = 1;
        else if (span_is(value, "0") || span_is_nocase(value, "false"))
            d->has_bias = 0;
        else
            return c1_fail(CONV1D_PARSE_ERROR, "Value '%.*s' of key '%.*s' must be 0, 1, true or false.",
                           QLEN(value.n), value.p, QLEN(name.n), name.p);
        return CONV1D_OK;
    case K_LAYOUT:
        if (span_is_nocase(value, "nwc"))
            d->layout = CONV1D_LAYOUT_NWC;
        else if (span_is_nocase(value, "ncw"))
            d->layout = CONV1D_LAYOUT_NCW;
        else
            return c1_fail(CONV1D_PARSE_ERROR, "Value '%.*s' of key 'layout' must be nwc or ncw.", QLEN(value.n),
                           value.p);
        return CONV1D_OK;
    case K_DTYPE:
        if (span_is_nocase(value, "f32") || span_is_nocase(value, "float32"))
            d->dtype = CONV1D_F32;
        else if (span_is_nocase(value, "bf16") || span_is_nocase(value, "bfloat16"))
            d->dtype = CONV1D_BF16;
        else if (span_is_nocase(value, "f16") || span_is_nocase(value, "float16"))
            d->dtype = CONV1D_F16;
        else
            return c1_fail(CONV1D_PARSE_ERROR,
                           "Value '%.*s' of key 'dtype' must be f32, bf16 or f16 (or float32, bfloat16, float16).",
                           QLEN(value.n), value.p);
        return CONV1D_OK;
    }
    return c1_fail(CONV1D_INTERNAL, "Key '%s' has no parser.", k->name);
}

static conv1d_status parse_canonical(span text, conv1d_desc *out)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    span seen[NUM_KEYS] = {{0}}; /* the token that set each key, for duplicate and conflict messages */
    const char *s = text.p;
    for (;;) {
        s += strspn(s, "," WHITESPACE);
        if (s >= text.p + text.n) break;
        span tok = {s, strcspn(s, "," WHITESPACE)};
        s += tok.n;
        const char *eq = memchr(tok.p, '=', tok.n);
        if (!eq)
            return c1_fail(CONV1D_PARSE_ERROR, "Token '%.*s' is not of the form key=value.", QLEN(tok.n), tok.p);
        span name = {tok.p, (size_t)(eq - tok.p)};
        span value = {eq + 1, tok.n - name.n - 1};
        int key = find_key(name);
        if (key < 0)
            return c1_fail(CONV1D_PARSE_ERROR, "Unknown key '%.*s' in '%.*s'.", QLEN(name.n), name.p, QLEN(tok.n),
                           tok.p);
        if (seen[key].p)
            return c1_fail(CONV1D_PARSE_ERROR, "Key '%s' is given twice, as '%.*s' and as '%.*s'.", keys[key].name,
                           QLEN(seen[key].n), seen[key].p, QLEN(tok.n), tok.p);
        /* padding= sets both sides, so it cannot be mixed with either one-sided key. */
        int rival = key == KEY_PADDING ? (seen[KEY_PAD_LEFT].p ? KEY_PAD_LEFT : KEY_PAD_RIGHT)
                    : key == KEY_PAD_LEFT || key == KEY_PAD_RIGHT ? KEY_PADDING
                                                                  : -1;
        if (rival >= 0 && seen[rival].p)
            return c1_fail(CONV1D_PARSE_ERROR,
                           "'%.*s' conflicts with '%.*s': give either padding or pad_left/pad_right.", QLEN(tok.n),
                           tok.p, QLEN(seen[rival].n), seen[rival].p);
        seen[key] = tok;
        if (value.n == 0)
            return c1_fail(CONV1D_PARSE_ERROR, "Key '%.*s' has an empty value in '%.*s'.", QLEN(name.n), name.p,
                           QLEN(tok.n), tok.p);
        conv1d_status st = set_value(&d, key, name, value);
        if (st != CONV1D_OK) return st;
    }

    char missing[128] = "";
    for (int i = 0; i < NUM_KEYS; i++)
        if (keys[i].required && !seen[i].p)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "",
                     keys[i].name);
    if (*missing)
        return c1_fail(CONV1D_PARSE_ERROR, "The descriptor '%.*s' lacks the required key(s) %s.", QLEN(text.n),
                       text.p, missing);
    *out = d;
    return CONV1D_OK;
}

/* ---- benchdnn form ---------------------------------------------------------------------------------- */

/* Every entry benchdnn's str2desc knows: first the 1-D ones, indexed by BD_*, then depth and height, which are
 * accepted only with the value of an absent dimension (size 1, no padding, dense), as when a 1-D convolution is
 * written as a 2-D or 3-D one. */
enum { BD_G, BD_MB, BD_IC, BD_IW, BD_OC, BD_OW, BD_KW, BD_SW, BD_PW, BD_DW, BD_NUM_1D };
static const struct bd_entry {
    const char *prefix;
    int64_t trivial; /* the only value a depth or height entry may take */
} bd_entries[] = {
    [BD_G] = {"g", 0},  [BD_MB] = {"mb", 0}, [BD_IC] = {"ic", 0}, [BD_IW] = {"iw", 0}, [BD_OC] = {"oc", 0},
    [BD_OW] = {"ow", 0}, [BD_KW] = {"kw", 0}, [BD_SW] = {"sw", 0}, [BD_PW] = {"pw", 0}, [BD_DW] = {"dw", 0},
    {"id", 1}, {"ih", 1}, {"od", 1}, {"oh", 1}, {"kd", 1}, {"kh", 1}, {"sd", 1}, {"sh", 1},
    {"pd", 0}, {"ph", 0}, {"dd", 0}, {"dh", 0},
};
#define BD_ENTRIES ((int)(sizeof bd_entries / sizeof bd_entries[0]))

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Checked int64 arithmetic: on overflow *ovf is set and the result is meaningless. */
static int64_t add_c(int64_t a, int64_t b, bool *ovf)
{
    int64_t r;
    *ovf |= __builtin_add_overflow(a, b, &r);
    return r;
}
static int64_t sub_c(int64_t a, int64_t b, bool *ovf)
{
    int64_t r;
    *ovf |= __builtin_sub_overflow(a, b, &r);
    return r;
}
static int64_t mul_c(int64_t a, int64_t b, bool *ovf)
{
    int64_t r;
    *ovf |= __builtin_mul_overflow(a, b, &r);
    return r;
}

static conv1d_status parse_benchdnn(span text, conv1d_desc *out)
{
    /* benchdnn's defaults: two images, one group, stride 1, dense; padding and ow are derived when absent. */
    int64_t v[BD_NUM_1D] = {[BD_G] = 1, [BD_MB] = 2, [BD_SW] = 1};
    span tok[BD_ENTRIES] = {{0}}; /* the text of each entry given; .p is NULL for those absent */

    const char *s = text.p, *end = text.p + text.n;
    while (s < end) {
        if (*s == '_') {
            s++;
            continue;
        }
        if (*s == 'n') break; /* the name runs to the end of the text, quoted or not, and is not kept */
        int e = 0;
        while (e < BD_ENTRIES && strncmp(s, bd_entries[e].prefix, strlen(bd_entries[e].prefix)) != 0) e++;
        if (e == BD_ENTRIES) {
            span bad = {s, 0};
            while (s + bad.n < end && is_alpha(s[bad.n])) bad.n++;
            while (s + bad.n < end && is_digit(s[bad.n])) bad.n++;
            if (bad.n == 0) bad.n = 1;
            return c1_fail(CONV1D_PARSE_ERROR, "Unrecognized entry '%.*s' in benchdnn descriptor '%.*s'.",
                           QLEN(bad.n), bad.p, QLEN(text.n), text.p);
        }
        const struct bd_entry *be = &bd_entries[e];
        span num = {s + strlen(be->prefix), 0};
        while (num.p + num.n < end && (is_digit(num.p[num.n]) || num.p[num.n] == '-' || num.p[num.n] == '+'))
            num.n++;
        span t = {s, (size_t)(num.p + num.n - s)};
        s = num.p + num.n;
        if (tok[e].p)
            return c1_fail(CONV1D_PARSE_ERROR, "Entry '%s' is given twice, as '%.*s' and as '%.*s', in '%.*s'.",
                           be->prefix, QLEN(tok[e].n), tok[e].p, QLEN(t.n), t.p, QLEN(text.n), text.p);
        tok[e] = t;
        int64_t x = 0;
        switch (parse_int(num, false, &x)) {
        case NUM_BAD:
            if (num.n == 0)
                return c1_fail(CONV1D_PARSE_ERROR, "Entry '%s' has no value in benchdnn descriptor '%.*s'.",
                               be->prefix, QLEN(text.n), text.p);
            return c1_fail(CONV1D_PARSE_ERROR, "Entry '%.*s' needs a non-negative decimal integer.", QLEN(t.n), t.p);
        case NUM_RANGE:
            return c1_fail(CONV1D_PARSE_ERROR, "Value %.*s of entry '%s' does not fit in 64 bits.", QLEN(num.n),
                           num.p, be->prefix);
        case NUM_OK:
            break;
        }
        if (e < BD_NUM_1D)
            v[e] = x;
        else if (x != be->trivial)
            return c1_fail(CONV1D_PARSE_ERROR,
                           "Only 1-D descriptors are supported, but '%.*s' in '%.*s' gives a 2-D or 3-D size.",
                           QLEN(t.n), t.p, QLEN(text.n), text.p);
    }

    char missing[32] = "";
    const int required[] = {BD_IC, BD_IW, BD_OC, BD_KW};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!tok[required[i]].p)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "",
                     bd_entries[required[i]].prefix);
    if (*missing)
        return c1_fail(CONV1D_PARSE_ERROR, "The benchdnn descriptor '%.*s' lacks %s.", QLEN(text.n), text.p, missing);
    /* benchdnn rejects these zeros itself; sw must be positive before it divides. */
    const int positive[] = {BD_G, BD_IC, BD_OC, BD_IW, BD_KW, BD_SW};
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++) {
        span t = tok[positive[i]];
        if (t.p && v[positive[i]] == 0)
            return c1_fail(CONV1D_PARSE_ERROR, "Entry '%.*s' of benchdnn descriptor '%.*s' must be positive.",
                           QLEN(t.n), t.p, QLEN(text.n), text.p);
    }

    const int64_t iw = v[BD_IW], kw = v[BD_KW], sw = v[BD_SW], dw = v[BD_DW];
    bool ovf = false;
    const int64_t dilation = add_c(dw, 1, &ovf);
    const int64_t extent = add_c(mul_c(kw - 1, dilation, &ovf), 1, &ovf); /* input positions one output sees */
    int64_t pw = tok[BD_PW].p ? v[BD_PW] : -1, ow = v[BD_OW]; /* ow0 means absent, as in benchdnn */
    if (ow == 0) {
        if (pw < 0) pw = 0;
        /* benchdnn's own formula, C division included. */
        ow = add_c(sub_c(add_c(iw, mul_c(2, pw, &ovf), &ovf), extent, &ovf) / sw, 1, &ovf);
        if (!ovf && ow <= 0)
            return c1_fail(CONV1D_PARSE_ERROR,
                           "The benchdnn descriptor '%.*s' has no output: its kernel spans %lld positions, more "
                           "than iw %lld plus pw %lld on both sides.",
                           QLEN(text.n), text.p, (long long)extent, (long long)iw, (long long)pw);
    } else if (pw < 0) {
        /* benchdnn's symmetric padding for the given ow; a negative one means ow needs no left padding. */
        pw = sub_c(add_c(mul_c(ow - 1, sw, &ovf), extent, &ovf), iw, &ovf) / 2;
        if (pw < 0) pw = 0;
    }
    /* The right padding that makes the last output window end exactly at the padded input's end. */
    int64_t pad_right = sub_c(sub_c(add_c(mul_c(ow - 1, sw, &ovf), extent, &ovf), iw, &ovf), pw, &ovf);
    if (ovf)
        return c1_fail(CONV1D_PARSE_ERROR,
                       "The sizes of benchdnn descriptor '%.*s' give a padding or output length that does not fit "
                       "in 64 bits.",
                       QLEN(text.n), text.p);
    if (pad_right < 0) {
        /* Within one stride of the end, the floor in new_length drops the surplus: no padding gives the same ow. */
        if (pad_right <= -sw) {
            span o = tok[BD_OW].p ? tok[BD_OW] : (span){"ow", 2};
            return c1_fail(CONV1D_PARSE_ERROR,
                           "'%.*s' in benchdnn descriptor '%.*s' cannot be produced with non-negative right padding "
                           "from iw %lld, kw %lld, sw %lld, pw %lld and dw %lld.",
                           QLEN(o.n), o.p, QLEN(text.n), text.p, (long long)iw, (long long)kw, (long long)sw,
                           (long long)pw, (long long)dw);
        }
        pad_right = 0;
    }

    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = v[BD_MB];
    d.length = iw;
    d.in_channels = v[BD_IC];
    d.out_channels = v[BD_OC];
    d.kernel_size = kw;
    d.stride = sw;
    d.pad_left = pw;
    d.pad_right = pad_right;
    d.dilation = dilation;
    d.num_groups = v[BD_G];
    *out = d;
    return CONV1D_OK;
}

/* ---- entry points ----------------------------------------------------------------------------------- */

/* benchdnn descriptors have no '='; one inside a quoted benchdnn name does not count. */
static bool is_key_value(const char *text)
{
    bool quoted = false;
    for (const char *s = text; *s; s++) {
        if (*s == '"') quoted = !quoted;
        if (*s == '=' && !quoted) return true;
    }
    return false;
}

conv1d_status conv1d_desc_parse(const char *text, conv1d_desc *d)
{
    if (!text) return c1_fail(CONV1D_INVALID_ARGUMENT, "The descriptor text is NULL.");
    if (!d) return c1_fail(CONV1D_INVALID_ARGUMENT, "The descriptor pointer is NULL.");
    span t = {text + strspn(text, WHITESPACE), 0};
    t.n = strlen(t.p);
    while (t.n > 0 && strchr(WHITESPACE, t.p[t.n - 1])) t.n--;
    if (t.n == 0) return c1_fail(CONV1D_PARSE_ERROR, "The descriptor text is empty.");
    return is_key_value(t.p) ? parse_canonical(t, d) : parse_benchdnn(t, d);
}

size_t conv1d_desc_format(const conv1d_desc *d, char *buf, size_t size)
{
    if (!buf) size = 0;
    if (!d) {
        if (size) buf[0] = '\0';
        return 0;
    }
    /* Out-of-range enums are printed as numbers: such a descriptor is invalid and need not parse back. */
    char layout[16], dtype[24] = "";
    if (d->layout == CONV1D_LAYOUT_NWC || d->layout == CONV1D_LAYOUT_NCW)
        snprintf(layout, sizeof layout, "%s", d->layout == CONV1D_LAYOUT_NWC ? "nwc" : "ncw");
    else
        snprintf(layout, sizeof layout, "%d", (int)d->layout);
    /* f32 is not written, so the keys of results stored before the other dtypes existed stay the same. */
    if (d->dtype != CONV1D_F32) {
        const char *name = conv1d_dtype_name(d->dtype);
        if (name)
            snprintf(dtype, sizeof dtype, ",dtype=%s", name);
        else
            snprintf(dtype, sizeof dtype, ",dtype=%d", (int)d->dtype);
    }
    int n = snprintf(buf, size,
                     "batch=%lld,length=%lld,in_channels=%lld,out_channels=%lld,kernel_size=%lld,stride=%lld,"
                     "pad_left=%lld,pad_right=%lld,dilation=%lld,num_groups=%lld,bias=%d,layout=%s%s",
                     (long long)d->batch, (long long)d->length, (long long)d->in_channels, (long long)d->out_channels,
                     (long long)d->kernel_size, (long long)d->stride, (long long)d->pad_left, (long long)d->pad_right,
                     (long long)d->dilation, (long long)d->num_groups, d->has_bias, layout, dtype);
    if (n < 0) {
        if (size) buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}
