/* conv1d_desc_parse / conv1d_desc_format: canonical round trips, benchdnn descriptors, malformed text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv1d.h"

static void assert_desc_equal(const conv1d_desc *a, const conv1d_desc *b)
{
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->in_channels, b->in_channels);
    assert_int_equal(a->out_channels, b->out_channels);
    assert_int_equal(a->kernel_size, b->kernel_size);
    assert_int_equal(a->stride, b->stride);
    assert_int_equal(a->pad_left, b->pad_left);
    assert_int_equal(a->pad_right, b->pad_right);
    assert_int_equal(a->dilation, b->dilation);
    assert_int_equal(a->num_groups, b->num_groups);
    assert_int_equal(a->has_bias, b->has_bias);
    assert_int_equal(a->layout, b->layout);
    assert_int_equal(a->dtype, b->dtype);
}

/* A descriptor no parse produces, to see that a failing parse leaves *d alone. */
static conv1d_desc sentinel(void)
{
    return (conv1d_desc){-7, -7, -7, -7, -7, -7, -7, -7, -7, -7, 7, (conv1d_layout)7, (conv1d_dtype)7};
}

static conv1d_desc make(int64_t batch, int64_t length, int64_t ic, int64_t oc, int64_t k, int64_t stride,
                        int64_t pad_left, int64_t pad_right, int64_t dilation, int64_t groups, int bias,
                        conv1d_layout layout)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.batch = batch, d.length = length, d.in_channels = ic, d.out_channels = oc, d.kernel_size = k;
    d.stride = stride, d.pad_left = pad_left, d.pad_right = pad_right, d.dilation = dilation;
    d.num_groups = groups, d.has_bias = bias, d.layout = layout;
    return d;
}

static void assert_round_trip(const conv1d_desc *d)
{
    char buf[400];
    size_t n = conv1d_desc_format(d, buf, sizeof buf);
    assert_true(n < sizeof buf);
    assert_int_equal(strlen(buf), n);
    conv1d_desc back = sentinel();
    if (conv1d_desc_parse(buf, &back) != CONV1D_OK) fail_msg("'%s' does not parse: %s", buf, conv1d_last_error());
    assert_desc_equal(d, &back);
}

static void assert_parses(const char *text, const conv1d_desc *want)
{
    conv1d_desc d = sentinel();
    if (conv1d_desc_parse(text, &d) != CONV1D_OK) fail_msg("'%s' does not parse: %s", text, conv1d_last_error());
    assert_desc_equal(&d, want);
}

/* Fails with CONV1D_PARSE_ERROR, names `token` in the sentence, and leaves *d as it was. */
static void assert_rejects(const char *text, const char *token)
{
    conv1d_desc d = sentinel(), before = sentinel();
    conv1d_status st = conv1d_desc_parse(text, &d);
    if (st != CONV1D_PARSE_ERROR) fail_msg("'%s' gave status %d, not a parse error", text, (int)st);
    const char *msg = conv1d_last_error();
    if (!strstr(msg, token)) fail_msg("the error for '%s' does not name '%s': %s", text, token, msg);
    size_t len = strlen(msg);
    assert_true(len > 0 && msg[len - 1] == '.');
    assert_desc_equal(&d, &before);
}

/* ---- format ----------------------------------------------------------------------------------------- */

static void test_format_exact(void **state)
{
    (void)state;
    conv1d_desc d = make(8, 4096, 256, 256, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NWC);
    char buf[256];
    const char *want = "batch=8,length=4096,in_channels=256,out_channels=256,kernel_size=3,stride=1,pad_left=1,"
                       "pad_right=1,dilation=1,num_groups=1,bias=1,layout=nwc";
    assert_int_equal(conv1d_desc_format(&d, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);

    d.layout = CONV1D_LAYOUT_NCW, d.has_bias = 0;
    conv1d_desc_format(&d, buf, sizeof buf);
    assert_non_null(strstr(buf, ",bias=0,layout=ncw"));
    assert_null(strstr(buf, "dtype"));

    /* The 16-bit dtypes are written at the end, and read back (MAX's names too). */
    const struct {
        conv1d_dtype t;
        const char *written, *max_name;
    } types[] = {{CONV1D_BF16, ",layout=ncw,dtype=bf16", "bfloat16"}, {CONV1D_F16, ",layout=ncw,dtype=f16", "float16"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        d.dtype = types[i].t;
        conv1d_desc_format(&d, buf, sizeof buf);
        assert_non_null(strstr(buf, types[i].written));
        assert_int_equal(strlen(strstr(buf, types[i].written)), strlen(types[i].written));
        conv1d_desc back;
        assert_int_equal(conv1d_desc_parse(buf, &back), CONV1D_OK);
        assert_int_equal(back.dtype, types[i].t);
        char max_text[300];
        snprintf(max_text, sizeof max_text, "length=10,in_channels=2,out_channels=2,kernel_size=3,dtype=%s",
                 types[i].max_name);
        assert_int_equal(conv1d_desc_parse(max_text, &back), CONV1D_OK);
        assert_int_equal(back.dtype, types[i].t);
        /* Half the bytes of the same shape in f32. */
        conv1d_desc f32 = d;
        f32.dtype = CONV1D_F32;
        assert_true(conv1d_desc_min_bytes(&d) * 2 == conv1d_desc_min_bytes(&f32));
    }
    assert_int_equal(conv1d_dtype_size(CONV1D_F32), 4);
    assert_int_equal(conv1d_dtype_size(CONV1D_BF16), 2);
    assert_int_equal(conv1d_dtype_size((conv1d_dtype)9), 0);
    assert_null(conv1d_dtype_name((conv1d_dtype)9));
}

static void test_format_like_snprintf(void **state)
{
    (void)state;
    conv1d_desc d = make(8, 4096, 256, 256, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NWC);
    char full[256], small[10];
    size_t n = conv1d_desc_format(&d, full, sizeof full);
    assert_int_equal(conv1d_desc_format(&d, NULL, 0), n);
    memset(small, 'x', sizeof small);
    assert_int_equal(conv1d_desc_format(&d, small, sizeof small), n);
    assert_string_equal(small, "batch=8,l");
    small[0] = 'x';
    assert_int_equal(conv1d_desc_format(&d, small, 1), n);
    assert_int_equal(small[0], '\0');
    small[0] = 'x';
    assert_int_equal(conv1d_desc_format(NULL, small, sizeof small), 0);
    assert_int_equal(small[0], '\0');
}

/* The widest valid descriptor: every field as wide as validation lets it be. */
static void test_format_widest_valid(void **state)
{
    (void)state;
    const int64_t big = INT64_MAX / 4 - 1;
    conv1d_desc d = make(1, 1, 1000000000000000000, 1000000000000000000, 1, INT64_MAX, big, big, INT64_MAX,
                         1000000000000000000, 1, CONV1D_LAYOUT_NWC);
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_OK);
    char buf[400];
    size_t n = conv1d_desc_format(&d, buf, sizeof buf);
    assert_true(n < 320);
    assert_round_trip(&d);
}

/* ---- canonical form --------------------------------------------------------------------------------- */

static void test_round_trip_fixed(void **state)
{
    (void)state;
    const conv1d_desc fixed[] = {
        make(8, 4096, 256, 256, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NWC),
        make(1, 16000, 1, 512, 10, 5, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NCW),   /* wav2vec2 feature encoder */
        make(4, 2048, 1536, 1536, 4, 1, 3, 0, 1, 1536, 1, CONV1D_LAYOUT_NWC), /* Mamba causal depthwise */
        make(2, 3000, 80, 384, 3, 1, 1, 1, 1, 1, 1, CONV1D_LAYOUT_NCW),    /* Whisper stem */
        make(1, 8192, 64, 64, 3, 1, 256, 256, 256, 1, 1, CONV1D_LAYOUT_NWC), /* WaveNet dilated */
        make(16, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NWC),
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        assert_int_equal(conv1d_desc_validate(&fixed[i]), CONV1D_OK);
        assert_round_trip(&fixed[i]);
    }
    /* Invalid values still survive the text: validation, not parsing, rejects them. */
    conv1d_desc odd = make(-1, 0, 3, 5, -4, 0, -2, INT64_MIN, 0, 2, 0, CONV1D_LAYOUT_NWC);
    assert_round_trip(&odd);
}

/* A number of about `digits` digits, at least 1, from a deterministic generator. */
static int64_t rand_size(unsigned *seed, int max_digits)
{
    int digits = 1 + rand_r(seed) % max_digits;
    int64_t v = 0;
    for (int i = 0; i < digits; i++) v = v * 10 + rand_r(seed) % 10;
    return v > 0 ? v : 1;
}

static void test_round_trip_random(void **state)
{
    (void)state;
    unsigned seed = 12345;
    int done = 0;
    for (int tries = 0; done < 3000 && tries < 100000; tries++) {
        int wide = rand_r(&seed) % 4 == 0; /* now and then sizes far beyond real models */
        int64_t groups = rand_r(&seed) % 3 == 0 ? rand_size(&seed, wide ? 6 : 2) : 1;
        conv1d_desc d = make(rand_size(&seed, wide ? 5 : 2), rand_size(&seed, wide ? 12 : 5),
                             groups * rand_size(&seed, wide ? 6 : 3), groups * rand_size(&seed, wide ? 6 : 3),
                             rand_size(&seed, wide ? 3 : 2), rand_size(&seed, wide ? 18 : 1),
                             rand_size(&seed, wide ? 15 : 2) - 1, rand_size(&seed, wide ? 15 : 2) - 1,
                             rand_size(&seed, wide ? 10 : 2), groups, rand_r(&seed) % 2,
                             rand_r(&seed) % 2 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC);
        if (conv1d_desc_validate(&d) != CONV1D_OK) continue;
        assert_round_trip(&d);
        done++;
    }
    assert_int_equal(done, 3000);
}

static void test_canonical_defaults(void **state)
{
    (void)state;
    conv1d_desc want;
    conv1d_desc_init(&want);
    want.length = 100, want.in_channels = 4, want.out_channels = 8, want.kernel_size = 3;
    assert_parses("length=100,in_channels=4,out_channels=8,kernel_size=3", &want);
    /* Any mix of commas and white space separates keys; the order is free. */
    assert_parses("  kernel_size=3 ,, out_channels=8\tin_channels=4\nlength=100,\n", &want);
}

static void test_canonical_aliases(void **state)
{
    (void)state;
    conv1d_desc want = make(3, 50, 6, 9, 5, 2, 2, 2, 3, 3, 1, CONV1D_LAYOUT_NCW);
    assert_parses("batch=3 length=50 in_channels=6 out_channels=9 kernel_size=5 stride=2 padding=2 dilation=3 "
                  "groups=3 has_bias=true layout=ncw dtype=f32",
                  &want);
    assert_parses("batch=3,length=50,in_channels=6,out_channels=9,kernel_size=5,stride=2,pad_left=2,pad_right=2,"
                  "dilation=3,num_groups=3,bias=1,layout=NCW",
                  &want);
    want.has_bias = 0, want.layout = CONV1D_LAYOUT_NWC;
    assert_parses("batch=3,length=50,in_channels=6,out_channels=9,kernel_size=5,stride=2,padding=2,dilation=3,"
                  "num_groups=3,bias=false,layout=nwc",
                  &want);
    assert_parses("batch=3,length=50,in_channels=6,out_channels=9,kernel_size=5,stride=2,padding=2,dilation=3,"
                  "num_groups=3,has_bias=0",
                  &want);
}

/* Negative numbers parse, so that validation can say what is wrong with them. */
static void test_canonical_negative_for_validation(void **state)
{
    (void)state;
    conv1d_desc d = sentinel();
    assert_int_equal(conv1d_desc_parse("length=10,in_channels=1,out_channels=1,kernel_size=3,pad_left=-1", &d),
                     CONV1D_OK);
    assert_int_equal(d.pad_left, -1);
    assert_int_equal(conv1d_desc_validate(&d), CONV1D_INVALID_ARGUMENT);
    assert_non_null(strstr(conv1d_last_error(), "pad_left must be non-negative"));
    assert_int_equal(conv1d_desc_parse("length=-9223372036854775808,in_channels=1,out_channels=1,kernel_size=3", &d),
                     CONV1D_OK);
    assert_int_equal(d.length, INT64_MIN);
}

static void test_canonical_malformed(void **state)
{
    (void)state;
    const char *req = "in_channels=1,out_channels=1,kernel_size=3";
    char text[256];
    const struct {
        const char *extra, *token;
    } cases[] = {
        {"length=12,colour=5", "'colour'"},
        {"length=12,length=12", "'length'"},
        {"length=12,groups=1,num_groups=1", "'num_groups=1'"},
        {"length=", "'length'"},
        {"length=12,stride=", "'stride'"},
        {"length=12x", "'12x'"},
        {"length=1 2", "'2'"},
        {"length=+5", "'+5'"},
        {"length=-", "'-'"},
        {"length=0x10", "'0x10'"},
        {"length=99999999999999999999", "99999999999999999999"},
        {"length=9223372036854775808", "9223372036854775808"},
        {"length=12,pad_left==1", "'=1'"},
        {"length=12,padding=1,pad_left=1", "'pad_left=1'"},
        {"length=12,pad_right=2,padding=1", "'padding=1'"},
        {"length=12,layout=nchw", "'nchw'"},
        {"length=12,bias=yes", "'yes'"},
        {"length=12,has_bias=2", "'2'"},
        {"length=12,dtype=f64", "'f64'"},
        {"length=12,dtype=float", "'float'"},
        {"length=12,stray", "'stray'"},
        {"length=12,=3", "'=3'"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s%s", req, *cases[i].extra ? "," : "", cases[i].extra);
        if (!*cases[i].extra) snprintf(text, sizeof text, "   ");
        assert_rejects(text, cases[i].token);
    }
    assert_rejects("in_channels=1,out_channels=1", "length, kernel_size");
    assert_rejects("length=12,in_channels=1,kernel_size=3", "out_channels");
}

/* ---- benchdnn form ---------------------------------------------------------------------------------- */

static void test_benchdnn_real_models(void **state)
{
    (void)state;
    conv1d_desc want = make(8, 4096, 256, 256, 3, 1, 1, 1, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n\"w2v\"", &want);
    assert_parses("g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n\"w2v\"", &want);
    assert_parses("  mb8_ic256iw4096_oc256ow4096_kw3sw1pw1dw0_n\"name with = and spaces\"\n", &want);
    assert_parses("mb8ic256iw4096oc256ow4096kw3sw1pw1nplain_name", &want);
    /* Only a quoted name may hold '=': otherwise the text is read as key=value. */
    assert_rejects("mb8ic256iw4096oc256ow4096kw3sw1pw1nplain=x", "'mb8ic256iw4096oc256ow4096kw3sw1pw1nplain'");

    /* wav2vec2's first feature-encoder layer: 16000 samples, k10 s5, right padding 0. */
    want = make(2, 16000, 1, 512, 10, 5, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("g1mb2_ic1iw16000_oc512ow3199_kw10sw5pw0", &want);
    assert_int_equal(conv1d_output_length(&want), 3199);

    /* Its second layer (k3 s2): ow derived, then a given ow one position short of a full window (floor). */
    want = make(1, 3199, 512, 512, 3, 2, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("mb1ic512iw3199oc512kw3sw2", &want);
    assert_int_equal(conv1d_output_length(&want), 1599);
    want.length = 3200;
    assert_parses("mb1ic512iw3200oc512ow1599kw3sw2pw0", &want);
    assert_int_equal(conv1d_output_length(&want), 1599);

    /* Dilated (dw1 = PyTorch dilation 2), WaveNet-like. */
    want = make(1, 1000, 64, 64, 3, 1, 2, 2, 2, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("mb1ic64iw1000oc64ow1000kw3pw2dw1", &want);

    /* Mamba's causal depthwise conv: groups = channels, all padding on the left. */
    want = make(4, 2048, 256, 256, 4, 1, 3, 0, 1, 256, 0, CONV1D_LAYOUT_NWC);
    assert_parses("g256mb4ic256iw2048oc256ow2048kw4pw3", &want);
    assert_int_equal(conv1d_output_length(&want), 2048);

    /* Whisper's second stem conv: stride 2, padding 1, 3000 -> 1500 with right padding 0. */
    want = make(1, 3000, 384, 384, 3, 2, 1, 0, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("mb1ic384iw3000oc384ow1500kw3sw2pw1", &want);
    assert_int_equal(conv1d_output_length(&want), 1500);
}

static void test_benchdnn_defaults_and_derivations(void **state)
{
    (void)state;
    /* mb defaults to 2, ow follows from pw 0. */
    conv1d_desc want = make(2, 100, 16, 32, 3, 1, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic16iw100oc32kw3", &want);
    /* ow0 counts as absent, as in benchdnn. */
    assert_parses("ic16iw100oc32ow0kw3", &want);
    /* The entries may come in any order. */
    assert_parses("kw3oc32iw100ic16", &want);

    /* A given ow without pw: benchdnn's symmetric padding ((ow-1)*sw - iw + extent) / 2. */
    want = make(2, 100, 64, 64, 5, 1, 2, 2, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic64iw100oc64ow100kw5", &want);
    want = make(2, 100, 64, 64, 4, 1, 1, 2, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic64iw100oc64ow100kw4", &want);
    /* ... and where that padding would be negative, no padding gives ow by the floor. */
    want = make(2, 10, 1, 1, 3, 4, 0, 0, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic1iw10oc1ow2kw3sw4", &want);
    assert_int_equal(conv1d_output_length(&want), 2);

    /* A given pw larger than the derived ow needs: the surplus goes right. */
    want = make(2, 10, 1, 1, 3, 1, 4, 4, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic1iw10oc1kw3pw4", &want);

    /* benchdnn's C division truncates toward zero: a kernel just past the input still gives ow 1. */
    want = make(2, 3, 1, 1, 4, 2, 0, 1, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("ic1iw3oc1kw4sw2", &want);

    /* A 1-D convolution written as 2-D with H = 1 (and as 3-D with D = 1). */
    want = make(1, 1000, 3, 64, 3, 1, 1, 1, 1, 1, 0, CONV1D_LAYOUT_NWC);
    assert_parses("mb1ic3ih1iw1000oc64oh1ow1000kh1kw3sh1ph0pw1dh0", &want);
    assert_parses("mb1ic3id1ih1iw1000oc64od1oh1ow1000kd1kh1kw3pd0ph0pw1", &want);

    /* Largest values that fit: parsing must not overflow, validation judges them. */
    conv1d_desc d = sentinel();
    assert_int_equal(conv1d_desc_parse("ic1iw9223372036854775807oc1kw1", &d), CONV1D_OK);
    assert_int_equal(d.length, INT64_MAX);
    assert_int_equal(d.pad_right, 0);
}

static void test_benchdnn_malformed(void **state)
{
    (void)state;
    const struct {
        const char *text, *token;
    } cases[] = {
        {"mb2ic1iw100oc1kw3zz5", "'zz5'"},
        {"mb2ic1iw100oc1kw3sw", "'sw'"},
        {"ic", "'ic'"},
        {"mb2ic1iw100oc1kw", "'kw'"},
        {"mb2ic1iw100oc1kw3 sw1", "' '"},
        {"mb2ic1iw100oc1kw3X", "'X'"},
        {"MB2ic1iw100oc1kw3", "'MB2'"},
        {"mb2ic1iw100oc1kw3pw-1", "'pw-1'"},
        {"mb2ic1iw100oc1kw3sw+2", "'sw+2'"},
        {"mb2ic1iw100oc1kw3mb4", "'mb4'"},
        {"ic1iw100oc1kw3iw50", "'iw50'"},
        {"mb2ic1iw99999999999999999999oc1kw3", "99999999999999999999"},
        {"mb2ic16ih16iw16oc16oh16ow16kh3kw3", "'ih16'"},
        {"mb2ic16iw16oc16ow16kh3kw3", "'kh3'"},
        {"mb2ic16iw16oc16ow16kw3sh2", "'sh2'"},
        {"mb2ic16iw16oc16ow16kw3ph1", "'ph1'"},
        {"mb2ic16iw16oc16ow16kw3dh1", "'dh1'"},
        {"mb2ic16id8iw16oc16kw3", "'id8'"},
        {"mb2iw100oc1kw3", "ic"},
        {"mb2ic1iw100kw3", "oc"},
        {"mb2ic1oc1kw3", "iw"},
        {"mb2ic1iw100oc1", "kw"},
        {"n\"only a name\"", "ic, iw, oc, kw"},
        {"g0ic1iw100oc1kw3", "'g0'"},
        {"ic0iw100oc1kw3", "'ic0'"},
        {"ic1iw100oc1kw3sw0", "'sw0'"},
        {"ic1iw0oc1kw3", "'iw0'"},
        {"ic1iw100oc1kw00", "'kw00'"},
        {"ic1iw2oc1kw5", "'ic1iw2oc1kw5'"},             /* no output at all */
        {"ic1iw100oc1ow10kw3pw1", "'ow10'"},            /* ow too small for any padding */
        {"ic1iw100oc1ow100kw3pw5", "'ow100'"},          /* pw too large for that ow */
        {"ic1iw10oc1ow2kw3sw4pw3", "'ow2'"},
        {"ic1iw1oc1kw9223372036854775807dw1", "64 bits"}, /* extent overflows */
        {"ic1iw1oc1ow9223372036854775807kw1sw2", "64 bits"},
        {"ic1iw1oc1kw1pw9223372036854775807", "64 bits"},
        {"ic1iw1oc1kw1dw9223372036854775807", "64 bits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) assert_rejects(cases[i].text, cases[i].token);
}

/* ---- both forms ------------------------------------------------------------------------------------- */

static void test_null_arguments(void **state)
{
    (void)state;
    conv1d_desc d = sentinel(), before = sentinel();
    assert_int_equal(conv1d_desc_parse(NULL, &d), CONV1D_INVALID_ARGUMENT);
    assert_true(strlen(conv1d_last_error()) > 0);
    assert_desc_equal(&d, &before);
    assert_int_equal(conv1d_desc_parse("length=1,in_channels=1,out_channels=1,kernel_size=1", NULL),
                     CONV1D_INVALID_ARGUMENT);
}

/* Random edits of good text: each result either parses or fails cleanly with *d untouched. */
static void test_mutations_fail_cleanly(void **state)
{
    (void)state;
    const char *seeds[] = {
        "batch=8,length=4096,in_channels=256,out_channels=256,kernel_size=3,stride=1,pad_left=1,pad_right=1,"
        "dilation=1,num_groups=1,bias=1,layout=nwc",
        "g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n\"w2v\"",
        "g1mb2_ic1iw16000_oc512ow3199_kw10sw5pw0",
    };
    const char alphabet[] = "0123456789-+=,_ \"abcdgiklmnoprsw";
    unsigned seed = 777;
    char text[300];
    for (int i = 0; i < 20000; i++) {
        snprintf(text, sizeof text, "%s", seeds[i % 3]);
        for (int edits = 1 + rand_r(&seed) % 3; edits > 0; edits--) {
            size_t len = strlen(text), at = (size_t)rand_r(&seed) % (len + 1);
            char c = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
            switch (rand_r(&seed) % 3) {
            case 0: /* replace */
                if (at < len) text[at] = c;
                break;
            case 1: /* delete */
                if (at < len) memmove(text + at, text + at + 1, len - at);
                break;
            default: /* insert */
                if (len + 2 < sizeof text) {
                    memmove(text + at + 1, text + at, len - at + 1);
                    text[at] = c;
                }
            }
        }
        conv1d_desc d = sentinel(), before = sentinel();
        conv1d_status st = conv1d_desc_parse(text, &d);
        if (st == CONV1D_OK) continue;
        if (st != CONV1D_PARSE_ERROR) fail_msg("'%s' gave status %d", text, (int)st);
        assert_true(strlen(conv1d_last_error()) > 0);
        assert_desc_equal(&d, &before);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_format_like_snprintf),
        cmocka_unit_test(test_format_widest_valid),
        cmocka_unit_test(test_round_trip_fixed),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_canonical_defaults),
        cmocka_unit_test(test_canonical_aliases),
        cmocka_unit_test(test_canonical_negative_for_validation),
        cmocka_unit_test(test_canonical_malformed),
        cmocka_unit_test(test_benchdnn_real_models),
        cmocka_unit_test(test_benchdnn_defaults_and_derivations),
        cmocka_unit_test(test_benchdnn_malformed),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_mutations_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
