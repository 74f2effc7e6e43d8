/* How a plan chooses its variant: forced, exported table, results database (exact, nearest), rules. */
#include "lookup.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basics.h"
#include "build_info.h"
#include "error.h"
#include "hwinfo.h"
#include "model.h"
#include "store.h"
#include "tuned.h"

/* A locked database is waited for this long, then left out: plan creation must stay fast. */
#define LOOKUP_BUSY_TIMEOUT_MS 100

static pthread_once_t fingerprint_once = PTHREAD_ONCE_INIT;
static char fingerprint[17];

static void fingerprint_init(void)
{
    /* c1_hwinfo is large (GPU records); keep it off the caller's stack. */
    c1_hwinfo *hw = malloc(sizeof *hw);
    if (hw && c1_hw_collect(hw) == CONV1D_OK) c1_hw_fingerprint(hw, fingerprint);
    free(hw);
    c1_clear_error();
}

const char *c1_machine_fingerprint(void)
{
    pthread_once(&fingerprint_once, fingerprint_init);
    return fingerprint;
}

/* ---- nearest shape ---------------------------------------------------------------------------------- */

enum shape_kind { KIND_DENSE, KIND_DEPTHWISE, KIND_GROUPED };

static enum shape_kind kind_of(const conv1d_desc *d)
{
    if (d->num_groups == 1) return KIND_DENSE;
    return d->num_groups == d->in_channels ? KIND_DEPTHWISE : KIND_GROUPED;
}

static double log_ratio(int64_t a, int64_t b) { return fabs(log2((double)a / (double)b)); }

double c1_shape_distance(const conv1d_desc *a, const conv1d_desc *b)
{
    if (a->layout != b->layout || kind_of(a) != kind_of(b)) return INFINITY;
    double dist = log_ratio(a->batch * a->length, b->batch * b->length) + log_ratio(a->in_channels, b->in_channels) +
                  log_ratio(a->out_channels, b->out_channels) + 2.0 * log_ratio(a->kernel_size, b->kernel_size) +
                  log_ratio(a->dilation, b->dilation) + log_ratio(a->num_groups, b->num_groups);
    if (a->kernel_size != b->kernel_size) dist += 2.0;
    if (a->stride != b->stride) dist += 4.0;
    if ((a->dilation > 1) != (b->dilation > 1)) dist += 4.0;
    if (a->has_bias != b->has_bias) dist += 0.25;
    return dist;
}

/* ---- rules -------------------------------------------------------------------------------------------- */

/* The first of `names` (NULL-terminated) that exists and applies to *d. */
static const c1_variant *first_applicable(const conv1d_desc *d, c1_device dev, const char *const *names)
{
    for (; *names; names++) {
        const c1_variant *v = c1_variant_find(*names);
        if (v && v->device == dev && c1_variant_applies(v, d) == CONV1D_OK) return v;
    }
    return NULL;
}

/* The variant of `family`, device dev and d's precision class that applies to *d: the first in registry order,
 * or with `highest_isa` the one of the highest ISA level (the first among equals). The hand-written CUDA families
 * are found by name here, never by symbol, so the rules hold whichever of their points a build has; the 16-bit
 * rules name families, not points, as every family has few 16-bit variants. */
static const c1_variant *of_family(const conv1d_desc *d, c1_device dev, const char *family, bool highest_isa)
{
    size_t n;
    const c1_variant *list = c1_variant_list(&n), *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (list[i].device == dev && list[i].precision == c1_precision_of_dtype(d->dtype) &&
            strcmp(list[i].family, family) == 0 && (!best || list[i].isa > best->isa) &&
            c1_variant_applies(&list[i], d) == CONV1D_OK) {
            best = &list[i];
            if (!highest_isa) break;
        }
    return best;
}

static const c1_variant *first_of_family(const conv1d_desc *d, c1_device dev, const char *family)
{
    return of_family(d, dev, family, false);
}

static const c1_variant *best_of_family(const conv1d_desc *d, const char *family)
{
    return of_family(d, C1_DEVICE_CPU, family, true);
}

/* The CPU rules of lookup.h for bf16 and f16: the native 16-bit kernels (depthwise, direct; the AVX512_BF16
 * ones first), the wrapped FFT for long kernels and Winograd for wide stride-1 layers where no bf16 dot
 * product runs, then oneDNN of the class, then the class's reference. */
static const c1_variant *cpu_rules16(const conv1d_desc *d, const char **rule)
{
    const int64_t span = (d->kernel_size - 1) * d->dilation / d->stride + 1, cg = d->in_channels / d->num_groups;
    const c1_variant *v = NULL;
    if (span >= (cg < 16 ? 192 : 16) && (v = best_of_family(d, "fft"))) {
        *rule = "long kernel: FFT";
        return v;
    }
    if (kind_of(d) == KIND_DEPTHWISE && (v = best_of_family(d, "depthwise"))) {
        *rule = "depthwise";
        return v;
    }
    const c1_variant *direct = best_of_family(d, "direct");
    if (kind_of(d) == KIND_DENSE && d->stride == 1 && d->in_channels >= 128 && d->out_channels >= 128 &&
        (!direct || direct->isa < C1_ISA_LEVEL_AVX512BF16) && (v = best_of_family(d, "winograd"))) {
        *rule = "dense, wide, stride 1: Winograd";
        return v;
    }
    if (direct) {
        *rule = kind_of(d) == KIND_GROUPED ? "grouped" : "dense";
        return direct;
    }
    if ((v = first_of_family(d, C1_DEVICE_CPU, "onednn"))) {
        *rule = "peer";
        return v;
    }
    *rule = "reference"; /* the class's own: exact, and slow */
    return first_of_family(d, C1_DEVICE_CPU, "ref");
}

/* The CUDA rules: a depthwise kernel for depthwise shapes, the shared-memory tiles otherwise (and for a
 * depthwise shape the depthwise kernels do not take), cuDNN's implicit precomputed GEMM as the fallback. */
static const c1_variant *cuda_rules(const conv1d_desc *d, const char **rule)
{
    static const char *const cudnn[] = {"cudnn_algo1", "cudnn_algo0", NULL};
    const c1_variant *v = NULL;
    if (kind_of(d) == KIND_DEPTHWISE) {
        *rule = "cuda depthwise";
        v = first_of_family(d, C1_DEVICE_CUDA, "cuda_depthwise");
    }
    if (!v) {
        *rule = kind_of(d) == KIND_DEPTHWISE ? "cuda depthwise, shared-memory tiles" : "cuda shared-memory tiles";
        v = first_of_family(d, C1_DEVICE_CUDA, "cuda_smem");
    }
    if (!v) {
        *rule = "cuda peer";
        v = first_applicable(d, C1_DEVICE_CUDA, cudnn);
    }
    return v;
}

/* The CPU rules of lookup.h. */
static const c1_variant *cpu_rules(const conv1d_desc *d, const char **rule)
{
    if (d->dtype != CONV1D_F32) return cpu_rules16(d, rule);
    static const char *const depthwise[] = {"depthwise__avx512", "depthwise__avx2", "depthwise__c", NULL};
    static const char *const dense_wide[] = {"direct_8x48__avx512", "direct_6x32__avx512", "direct_6x16__avx2",
                                             "onednn", NULL};
    static const char *const dense_other[] = {"direct_6x32__avx512", "direct_6x16__avx2", "onednn", NULL};
    static const char *const grouped[] = {"onednn", "direct_4x8__c", NULL};
    static const char *const fft[] = {"fft_b256_m__avx512", "fft_b1024_m__avx512", "fft_b4096_m__avx512",
                                      "fft_whole_m__avx512", "fft_b256_m__avx2", "fft_whole_m__avx2", NULL};
    /* Winograd tiles by kernel size (index), for wide stride-1 dense layers. */
    static const char *const winograd[][5] = {
        [3] = {"winograd_f4r3__avx512", "winograd_f4r3__avx2", NULL},
        [5] = {"winograd_f4r5__avx512", "winograd_f4r5__avx2", NULL},
        /* F(3,7) takes up to 400 channels a group (its error), F(2,7) the wider ones */
        [7] = {"winograd_f3r7__avx512", "winograd_f3r7__avx2", "winograd_f2r7__avx512", "winograd_f2r7__avx2", NULL},
    };
    /* Long kernels, measured against the best direct or depthwise kernel (results/NOTES.md): the FFT ties at about
     * 9-16 sub-signal taps with 48 channels a group or dense with 256, at 130-190 depthwise. */
    const int64_t span = (d->kernel_size - 1) * d->dilation / d->stride + 1, cg = d->in_channels / d->num_groups;
    if (span >= (cg < 16 ? 192 : 16)) {
        const c1_variant *v = first_applicable(d, C1_DEVICE_CPU, fft);
        if (v) {
            *rule = "long kernel: FFT";
            return v;
        }
    }
    switch (kind_of(d)) {
    case KIND_DEPTHWISE:
        *rule = "depthwise";
        return first_applicable(d, C1_DEVICE_CPU, depthwise);
    case KIND_GROUPED:
        *rule = "grouped";
        return first_applicable(d, C1_DEVICE_CPU, grouped);
    default:
        if (d->in_channels <= 8) {
            *rule = "dense first layer";
            return first_applicable(d, C1_DEVICE_CPU, dense_wide);
        }
        if (d->stride == 1 && d->in_channels >= 128 && d->out_channels >= 128 && d->kernel_size < 8 &&
            winograd[d->kernel_size][0]) {
            const c1_variant *v = first_applicable(d, C1_DEVICE_CPU, winograd[d->kernel_size]);
            if (v) {
                *rule = "dense, wide, stride 1: Winograd";
                return v;
            }
        }
        if (d->in_channels >= 64 && d->out_channels >= 64) {
            *rule = "dense, wide";
            return first_applicable(d, C1_DEVICE_CPU, dense_wide);
        }
        *rule = "dense, narrow";
        return first_applicable(d, C1_DEVICE_CPU, dense_other);
    }
}

const c1_variant *c1_heuristic_choice(const conv1d_desc *d, c1_device dev, char *why, size_t why_size)
{
    const char *rule = "";
    const c1_variant *v = dev == C1_DEVICE_CUDA ? cuda_rules(d, &rule) : cpu_rules(d, &rule);
    if (!v) {
        /* Nothing the rules name applies: any non-reference fp32 variant of the device that does (never a
         * variant of the other device: a CUDA plan takes device pointers). */
        size_t n;
        const c1_variant *list = c1_variant_list(&n);
        const c1_precision prec = c1_precision_of_dtype(d->dtype);
        for (size_t i = 0; i < n && !v; i++)
            if (list[i].device == dev && list[i].precision == prec && strcmp(list[i].family, "ref") != 0 &&
                c1_variant_applies(&list[i], d) == CONV1D_OK)
                v = &list[i];
        rule = v ? "first applicable variant" : "reference";
        for (size_t i = 0; i < n && !v && dev == C1_DEVICE_CPU; i++) /* the reference of the dtype's class */
            if (strcmp(list[i].family, "ref") == 0 && list[i].precision == prec &&
                c1_variant_applies(&list[i], d) == CONV1D_OK)
                v = &list[i];
    }
    c1_clear_error();
    snprintf(why, why_size, "%s", rule);
    return v;
}

/* ---- time models ------------------------------------------------------------------------------------- */

size_t c1_model_rank(const c1_model *models, size_t n_models, const conv1d_desc *d, c1_device dev,
                     c1_model_pick *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < n_models; i++) {
        const c1_model *m = &models[i];
        if (!c1_model_covers(m, d) || strcmp(m->device, c1_device_name(dev)) != 0 ||
            strcmp(m->precision, c1_precision_name(c1_precision_of_dtype(d->dtype))) != 0)
            continue;
        const c1_variant *v = c1_variant_find(m->variant);
        if (!v || v->device != dev || v->precision != c1_precision_of_dtype(d->dtype) ||
            c1_variant_applies(v, d) != CONV1D_OK)
            continue;
        const double t = c1_model_predict_ms(m, d);
        if (!isfinite(t)) continue;
        /* Insertion into the sorted prefix; the list is a few dozen long. */
        size_t j = n < max ? n++ : max;
        if (j == max && (max == 0 || t >= out[max - 1].predicted_ms)) continue;
        if (j == max) j = max - 1;
        while (j > 0 && out[j - 1].predicted_ms > t) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = (c1_model_pick){v, t, m->samples};
    }
    c1_clear_error();
    return n;
}

/* Whether the embedded table (make TUNED=) was exported on this machine and build. */
static bool table_is_ours(void)
{
    return strcmp(c1_tuned_fingerprint, c1_machine_fingerprint()) == 0 &&
           strcmp(c1_tuned_build_signature, c1_build_info_get()->signature) == 0;
}

/* The time models of this machine and build in an open database ranked for d (c1_model_rank): how many picks. */
static size_t rank_db_models(c1_store *s, const conv1d_desc *d, c1_device dev, c1_model_pick *out, size_t max,
                             bool *have_models)
{
    c1_model *models = NULL;
    size_t n = 0, ranked = 0;
    if (c1_store_load_models(s, c1_machine_fingerprint(), c1_build_info_get()->signature, &models, &n) == CONV1D_OK)
        ranked = c1_model_rank(models, n, d, dev, out, max);
    free(models);
    c1_clear_error();
    if (have_models) *have_models = n > 0;
    return ranked;
}

/* The embedded table's time models ranked for d, when the table is this machine's and build's. */
static size_t rank_table_models(const conv1d_desc *d, c1_device dev, c1_model_pick *out, size_t max)
{
    return c1_tuned_model_count > 0 && table_is_ours()
               ? c1_model_rank(c1_tuned_models, c1_tuned_model_count, d, dev, out, max)
               : 0;
}

/* The models' first two picks, as the plan's explanation says them. */
static void explain_picks(char *explain, size_t size, const char *what, const c1_model_pick *picks)
{
    c1_appendf(explain, size, "%s: %s predicted %.4g ms (fitted on %d shapes), next %s %.4g ms", what,
               picks[0].v->name, picks[0].predicted_ms, picks[0].samples, picks[1].v->name, picks[1].predicted_ms);
}

/* Step 4: the time models' choice. CONV1D_OK with *v set and the reason appended to explain; else
 * CONV1D_NOT_FOUND (nothing appended when there are no models at all). */
static conv1d_status from_models(c1_store *s, const conv1d_desc *d, const char *dev, const c1_variant **v,
                                 char *explain, size_t explain_size)
{
    c1_model_pick picks[3];
    bool have = false;
    const c1_device device = strcmp(dev, "cuda") == 0 ? C1_DEVICE_CUDA : C1_DEVICE_CPU;
    const size_t ranked = rank_db_models(s, d, device, picks, sizeof picks / sizeof picks[0], &have);
    if (!have) return CONV1D_NOT_FOUND;
    if (ranked < C1_MODEL_MIN_RANKED) {
        c1_appendf(explain, explain_size, "time models rank %zu variant%s for this %s shape (need %d); ", ranked,
                   ranked == 1 ? "" : "s", c1_shape_kind_name(c1_shape_kind_of(d)), C1_MODEL_MIN_RANKED);
        return CONV1D_NOT_FOUND;
    }
    *v = picks[0].v;
    explain_picks(explain, explain_size, "time model", picks);
    return CONV1D_OK;
}

/* ---- the database ------------------------------------------------------------------------------------- */


/* The calling thread's error sentence without its final period, to be embedded in an explanation. */
static const char *reason(char *buf, size_t size)
{
    snprintf(buf, size, "%s", conv1d_last_error());
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '.') buf[n - 1] = '\0';
    return buf;
}

/* ---- the tuned shapes nearest an untuned one -------------------------------------------------------- */

typedef struct neighbour {
    double distance;
    char key[CONV1D_DESC_TEXT_MAX];
    char winner[64];
} neighbour;

/* The C1_NEIGHBOURS tuned shapes nearest d within C1_NEAREST_MAX_DISTANCE, nearest first, as the store's
 * winners pass by. */
typedef struct neighbour_scan {
    const conv1d_desc *d;
    neighbour nb[C1_NEIGHBOURS];
    size_t n;
    double nearest; /* the nearest tuned shape of d's layout and kind at any distance; INFINITY: none known */
} neighbour_scan;

static int neighbour_visit(void *ctx, const char *shape_key, const conv1d_desc *t, const char *variant)
{
    neighbour_scan *ns = ctx;
    const double dist = c1_shape_distance(ns->d, t);
    if (dist < ns->nearest) ns->nearest = dist;
    if (!(dist <= C1_NEAREST_MAX_DISTANCE) || (ns->n == C1_NEIGHBOURS && dist >= ns->nb[ns->n - 1].distance))
        return 0;
    size_t j = ns->n < C1_NEIGHBOURS ? ns->n++ : C1_NEIGHBOURS - 1;
    while (j > 0 && ns->nb[j - 1].distance > dist) {
        ns->nb[j] = ns->nb[j - 1];
        j--;
    }
    ns->nb[j].distance = dist;
    snprintf(ns->nb[j].key, sizeof ns->nb[j].key, "%s", shape_key);
    snprintf(ns->nb[j].winner, sizeof ns->nb[j].winner, "%s", variant);
    return 0;
}

/* A variant's standing on the neighbours: the weighted mean of ln(its time / the neighbour's best). */
typedef struct standing {
    const c1_variant *v;
    double sum, weight;
} standing;

#define MAX_STANDINGS 256

/* The weight of a neighbour at distance `dist`. */
static double neighbour_weight(double dist) { return exp(-dist / C1_NEIGHBOUR_SCALE); }

/* Adds one neighbour's measurements to the standings of the variants that apply to d. */
static void add_neighbour(standing *st, size_t *n, const c1_store_variant_time *t, size_t nt, double w,
                          const conv1d_desc *d, c1_device dev)
{
    double best = INFINITY;
    for (size_t i = 0; i < nt; i++)
        if (t[i].median_ms < best) best = t[i].median_ms;
    if (!isfinite(best)) return;
    for (size_t i = 0; i < nt; i++) {
        size_t j = 0;
        while (j < *n && strcmp(st[j].v->name, t[i].variant) != 0) j++;
        if (j == *n) {
            const c1_variant *v = c1_variant_find(t[i].variant);
            if (!v || v->device != dev || v->precision != c1_precision_of_dtype(d->dtype) ||
                strcmp(v->family, "ref") == 0 || c1_variant_applies(v, d) != CONV1D_OK || *n == MAX_STANDINGS)
                continue;
            st[(*n)++] = (standing){v, 0, 0};
        }
        /* Measured but not ok: too slow to finish its timing, or failed; charged as C1_NEIGHBOUR_FAILED. */
        st[j].sum += w * (isfinite(t[i].median_ms) ? log(t[i].median_ms / best) : C1_NEIGHBOUR_FAILED);
        st[j].weight += w;
    }
}

static int by_standing(const void *a, const void *b)
{
    const standing *x = a, *y = b;
    const double sx = x->sum / x->weight, sy = y->sum / y->weight;
    return (sx > sy) - (sx < sy);
}

/* Ranks the applicable variants of dev by their standing on the tuned shapes nb[0..nn) near d (lookup.h),
 * best first, into out[0..max); returns how many were ranked. */
static size_t rank_neighbours(c1_store *s, const conv1d_desc *d, c1_device dev, const neighbour *nb, size_t nn,
                              c1_neighbour_pick *out, size_t max)
{
    standing *st = malloc(MAX_STANDINGS * sizeof *st);
    c1_store_variant_time *t = malloc(MAX_STANDINGS * sizeof *t);
    size_t n = 0, ranked = 0;
    double total = 0;
    for (size_t i = 0; st && t && i < nn; i++) {
        size_t nt = 0;
        const double w = neighbour_weight(nb[i].distance);
        total += w;
        if (c1_store_shape_times(s, c1_machine_fingerprint(), c1_build_info_get()->signature, nb[i].key,
                                 c1_device_name(dev), c1_precision_name(c1_precision_of_dtype(d->dtype)), t,
                                 MAX_STANDINGS, &nt) != CONV1D_OK || nt == 0) {
            /* A database that kept the winners and not the measurements (a merge of winners, a hand-made
             * file): the winner is all that is known of the neighbour. */
            snprintf(t[0].variant, sizeof t[0].variant, "%s", nb[i].winner);
            t[0].median_ms = 1.0;
            nt = 1;
        }
        add_neighbour(st, &n, t, nt, w, d, dev);
    }
    if (st) {
        /* Only variants measured on enough of the neighbourhood are ranked. */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (st[i].weight >= C1_NEIGHBOUR_COVER * total) st[kept++] = st[i];
        qsort(st, kept, sizeof *st, by_standing);
        for (; ranked < kept && ranked < max; ranked++)
            out[ranked] = (c1_neighbour_pick){st[ranked].v, exp(st[ranked].sum / st[ranked].weight)};
    }
    free(st);
    free(t);
    c1_clear_error();
    return ranked;
}

/* The shapes of d's layout, dtype and kind nearest d within C1_NEAREST_MAX_DISTANCE, whoever tuned them: the
 * first NEAR_CANDIDATES, nearest first, and whether more were in range. */
#define NEAR_CANDIDATES 16
/* With fewer winners than this for the machine and build, the full scan is the cheaper one. */
#define FULL_SCAN_BELOW 256
typedef struct shape_scan {
    const conv1d_desc *d;
    double dist[NEAR_CANDIDATES];
    int64_t id[NEAR_CANDIDATES];
    size_t n;
    bool more;
} shape_scan;

static int shape_visit(void *ctx, int64_t id, const conv1d_desc *t)
{
    shape_scan *ss = ctx;
    const double dist = c1_shape_distance(ss->d, t);
    if (!(dist <= C1_NEAREST_MAX_DISTANCE)) return 0;
    if (ss->n == NEAR_CANDIDATES) {
        ss->more = true;
        if (dist >= ss->dist[ss->n - 1]) return 0;
    }
    size_t j = ss->n < NEAR_CANDIDATES ? ss->n++ : NEAR_CANDIDATES - 1;
    for (; j > 0 && ss->dist[j - 1] > dist; j--) {
        ss->dist[j] = ss->dist[j - 1];
        ss->id[j] = ss->id[j - 1];
    }
    ss->dist[j] = dist;
    ss->id[j] = id;
    return 0;
}

typedef struct winner_take {
    const shape_scan *ss;
    neighbour_scan *ns;
} winner_take;

static int winner_taken(void *ctx, size_t i, const char *shape_key, const char *variant)
{
    winner_take *wt = ctx;
    neighbour *nb = &wt->ns->nb[wt->ns->n++];
    nb->distance = wt->ss->dist[i];
    snprintf(nb->key, sizeof nb->key, "%s", shape_key);
    snprintf(nb->winner, sizeof nb->winner, "%s", variant);
    return wt->ns->n == C1_NEIGHBOURS;
}

/* ---- the shapes of a database, kept between plans ---- */

/* A process plans many shapes against one database: the shapes table (ids and descriptors) is read once and
 * kept while the file and its WAL keep their identity, size and modification time, so an untuned plan after
 * the first skips the pass over the table (about 1.4 ms of 2 on 5000 shapes). A file changed between the
 * check and the read only makes the copy newer than its mark, so the next plan reads it again. */
typedef struct file_mark {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_mark;

typedef struct cached_shape {
    int64_t id;
    conv1d_desc d;
} cached_shape;

static pthread_mutex_t shapes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool valid, oom;
    char path[sizeof((c1_store *)0)->path];
    file_mark main, wal;
    cached_shape *v;
    size_t n, cap;
} shapes_cache;

static file_mark mark_of(const char *path)
{
    struct stat st;
    file_mark m;
    memset(&m, 0, sizeof m);
    if (stat(path, &st) == 0) {
        m.dev = st.st_dev;
        m.ino = st.st_ino;
        m.size = st.st_size;
        m.mtime = st.st_mtim;
    }
    return m;
}

static bool same_mark(const file_mark *a, const file_mark *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int cache_shape(void *ctx, int64_t id, const conv1d_desc *d)
{
    (void)ctx;
    if (shapes_cache.n == shapes_cache.cap) {
        const size_t cap = shapes_cache.cap ? 2 * shapes_cache.cap : 1024;
        cached_shape *v = realloc(shapes_cache.v, cap * sizeof *v);
        if (!v) {
            shapes_cache.oom = true;
            return 1;
        }
        shapes_cache.v = v;
        shapes_cache.cap = cap;
    }
    shapes_cache.v[shapes_cache.n++] = (cached_shape){id, *d};
    return 0;
}

/* c1_store_each_shape(s, like, fn, ctx) from the kept copy of s's shapes, read again when the file changed. */
static conv1d_status each_kept_shape(c1_store *s, const conv1d_desc *like, c1_store_shape_fn fn, void *ctx)
{
    char wal[sizeof s->path + 8];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    const file_mark main = mark_of(s->path), log = mark_of(wal);
    conv1d_status rc = CONV1D_OK;
    pthread_mutex_lock(&shapes_lock);
    if (!shapes_cache.valid || strcmp(shapes_cache.path, s->path) != 0 || !same_mark(&main, &shapes_cache.main) ||
        !same_mark(&log, &shapes_cache.wal)) {
        shapes_cache.valid = shapes_cache.oom = false;
        shapes_cache.n = 0;
        rc = c1_store_each_shape(s, NULL, cache_shape, NULL);
        if (rc == CONV1D_OK && !shapes_cache.oom) {
            shapes_cache.valid = true;
            snprintf(shapes_cache.path, sizeof shapes_cache.path, "%s", s->path);
            shapes_cache.main = main;
            shapes_cache.wal = log;
        }
    }
    if (shapes_cache.valid) {
        const c1_shape_kind kind = c1_shape_kind_of(like);
        for (size_t i = 0; i < shapes_cache.n; i++) {
            const conv1d_desc *t = &shapes_cache.v[i].d;
            if (t->layout == like->layout && t->dtype == like->dtype && c1_shape_kind_of(t) == kind &&
                fn(ctx, shapes_cache.v[i].id, t))
                break;
        }
    } else if (rc == CONV1D_OK) {
        rc = c1_store_each_shape(s, like, fn, ctx); /* no memory for the copy: read as needed */
    }
    pthread_mutex_unlock(&shapes_lock);
    return rc;
}

/* The tuned shapes near d in *ns (none, and ns->nearest INFINITY, when this machine and build tuned no shape of
 * d's layout, dtype and kind). With many winners, first the nearest shapes of the file, whoever measured them (from the kept copy of the
 * shapes table above), and then which of them this machine and build tuned (a few lookups); only when that
 * finds too few, or with few winners, every winner of the machine and build (a join per row: 2.9 ms on 5000). */
static conv1d_status scan_neighbours(c1_store *s, const conv1d_desc *d, c1_device dev, neighbour_scan *ns)
{
    *ns = (neighbour_scan){.d = d, .n = 0, .nearest = INFINITY};
    const char *device = c1_device_name(dev), *precision = c1_precision_name(c1_precision_of_dtype(d->dtype));
    shape_scan ss = {.d = d, .n = 0, .more = false};
    int64_t tuned = 0;
    conv1d_status rc = c1_store_count_winners(s, c1_machine_fingerprint(), c1_build_info_get()->signature, device,
                                              precision, FULL_SCAN_BELOW, &tuned);
    if (rc == CONV1D_OK && tuned >= FULL_SCAN_BELOW) rc = each_kept_shape(s, d, shape_visit, &ss);
    if (rc == CONV1D_OK) {
        winner_take wt = {&ss, ns};
        rc = c1_store_winners_of(s, c1_machine_fingerprint(), c1_build_info_get()->signature, device, precision,
                                 ss.id, ss.n, winner_taken, &wt);
    }
    if (rc != CONV1D_OK || ns->n == C1_NEIGHBOURS || (ns->n > 0 && !ss.more) || tuned == 0) return rc;
    *ns = (neighbour_scan){.d = d, .n = 0, .nearest = INFINITY};
    int64_t rows;
    return c1_store_each_winner(s, c1_machine_fingerprint(), c1_build_info_get()->signature, device, precision, d,
                                neighbour_visit, ns, &rows);
}

/* Step 3: the tuned shapes near d. CONV1D_OK with *v set and the reason appended to explain; else
 * CONV1D_NOT_FOUND (the reason appended) or the store's failure. */
static conv1d_status from_neighbours(c1_store *s, const conv1d_desc *d, c1_device dev, const c1_variant **v,
                                     char *explain, size_t explain_size)
{
    neighbour_scan ns;
    conv1d_status rc = scan_neighbours(s, d, dev, &ns);
    if (rc != CONV1D_OK) return rc;
    if (ns.n == 0) {
        if (ns.nearest == INFINITY)
            c1_appendf(explain, explain_size,
                       "the DB has no tuned %s %s %s shapes for this machine (fingerprint %s) and build %s; ",
                       conv1d_dtype_name(d->dtype), d->layout == CONV1D_LAYOUT_NCW ? "ncw" : "nwc",
                       c1_shape_kind_name(c1_shape_kind_of(d)), c1_machine_fingerprint(),
                       c1_build_info_get()->signature);
        else
            c1_appendf(explain, explain_size, "the nearest tuned shape is too far (distance %.2f > %.0f); ",
                       ns.nearest, C1_NEAREST_MAX_DISTANCE);
        return CONV1D_NOT_FOUND;
    }
    c1_neighbour_pick picks[2];
    const size_t ranked = rank_neighbours(s, d, dev, ns.nb, ns.n, picks, 2);
    if (ranked == 0) {
        c1_appendf(explain, explain_size, "no applicable variant was measured on the %zu tuned shape%s nearby; ", ns.n,
                   ns.n == 1 ? "" : "s");
        return CONV1D_NOT_FOUND;
    }
    *v = picks[0].v;
    c1_appendf(explain, explain_size,
               "%zu tuned shape%s nearby, the nearest tuned shape %s at distance %.2f: %s at %.2fx %s best", ns.n,
               ns.n == 1 ? "" : "s", ns.nb[0].key, ns.nb[0].distance, picks[0].v->name, picks[0].ratio,
               ns.n == 1 ? "its" : "their");
    if (ranked > 1) c1_appendf(explain, explain_size, ", next %s at %.2fx", picks[1].v->name, picks[1].ratio);
    return CONV1D_OK;
}

/* Steps 3 and 4. CONV1D_OK with *v set, or a reason (sentence in explain) to fall through. */
static conv1d_status from_db(const conv1d_desc *d, const char *key, const char *dev, const char *db_path,
                             const c1_variant **v, char *explain, size_t explain_size)
{
    const char *path = db_path ? db_path : c1_store_default_path();
    char why[768];
    if (!*c1_machine_fingerprint()) {
        snprintf(explain, explain_size, "DB unusable: this machine's fingerprint is unknown (hwloc failed)");
        return CONV1D_NOT_FOUND;
    }
    c1_store s;
    conv1d_status rc = c1_store_open_wait(&s, path, false, LOOKUP_BUSY_TIMEOUT_MS);
    if (rc != CONV1D_OK) {
        snprintf(explain, explain_size, "DB unusable: %s", reason(why, sizeof why));
        return rc;
    }
    char name[128];
    rc = c1_store_find_winner(&s, c1_machine_fingerprint(), c1_build_info_get()->signature, key, dev,
                              c1_precision_name(c1_precision_of_dtype(d->dtype)), name,
                              sizeof name);
    if (rc == CONV1D_OK) {
        const c1_variant *w = c1_variant_find(name);
        if (w && strcmp(c1_device_name(w->device), dev) == 0 && c1_variant_applies(w, d) == CONV1D_OK) {
            *v = w;
            snprintf(explain, explain_size, "exact winner from DB %s", path);
            c1_store_close(&s);
            return CONV1D_OK;
        }
        snprintf(explain, explain_size, "DB %s names winner %s, which %s; ", path, name,
                 w ? "does not apply here" : "this build does not have");
    } else if (rc == CONV1D_NOT_FOUND) {
        snprintf(explain, explain_size, "no exact winner in DB %s; ", path);
    } else {
        snprintf(explain, explain_size, "DB unusable: %s", reason(why, sizeof why));
        c1_store_close(&s);
        return rc;
    }
    const c1_device device = strcmp(dev, "cuda") == 0 ? C1_DEVICE_CUDA : C1_DEVICE_CPU;
    rc = from_neighbours(&s, d, device, v, explain, explain_size);
    if (rc == CONV1D_NOT_FOUND) {
        /* The time models speak where no tuned shape is near (results/NOTES.md: on shapes with near tuned
         * shapes those shapes' measurements were the better guide). */
        if (from_models(&s, d, dev, v, explain, explain_size) == CONV1D_OK) rc = CONV1D_OK;
    } else if (rc != CONV1D_OK)
        c1_appendf(explain, explain_size, "DB unusable: %s", reason(why, sizeof why));
    c1_store_close(&s);
    return rc;
}

conv1d_status c1_lookup_choose(const conv1d_desc *d, c1_device dev, conv1d_mode mode, const char *db_path,
                               const c1_variant **v, char *explain, size_t explain_size, bool *exact)
{
    const char *dev_name = c1_device_name(dev);
    *v = NULL;
    *exact = true;
    explain[0] = '\0';

    const char *forced = getenv("CONV1D_VARIANT");
    if (forced && *forced) {
        const c1_variant *f = c1_variant_find(forced);
        if (!f) return c1_fail(CONV1D_INVALID_ARGUMENT, "CONV1D_VARIANT=%s names no variant of this build.", forced);
        if (f->device != dev)
            return c1_fail(CONV1D_INVALID_ARGUMENT, "CONV1D_VARIANT=%s is a %s variant, the plan is for %s.", forced,
                           c1_device_name(f->device), dev_name);
        if (c1_variant_applies(f, d) != CONV1D_OK) {
            char reason[512];
            snprintf(reason, sizeof reason, "%s", conv1d_last_error());
            return c1_fail(CONV1D_INVALID_ARGUMENT, "CONV1D_VARIANT=%s does not apply to this shape: %s", forced,
                           reason);
        }
        *v = f;
        snprintf(explain, explain_size, "forced by CONV1D_VARIANT=%s", forced);
        return CONV1D_OK;
    }

    char key[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, key, sizeof key);

    if (c1_tuned_count > 0) {
        if (!table_is_ours()) {
            c1_appendf(explain, explain_size, "embedded table is for another machine or build; ");
        } else {
            for (size_t i = 0; i < c1_tuned_count; i++) {
                const c1_tuned_entry *e = &c1_tuned_table[i];
                if (strcmp(e->shape_key, key) != 0 || strcmp(e->device, dev_name) != 0 ||
                    strcmp(e->precision, c1_precision_name(c1_precision_of_dtype(d->dtype))) != 0)
                    continue;
                const c1_variant *t = c1_variant_find(e->variant);
                if (t && t->device == dev && c1_variant_applies(t, d) == CONV1D_OK) {
                    *v = t;
                    snprintf(explain, explain_size, "exact winner from the embedded table");
                    c1_clear_error();
                    return CONV1D_OK;
                }
            }
            c1_appendf(explain, explain_size, "not in the embedded table; ");
        }
    }

    if (mode != CONV1D_MODE_ESTIMATE) {
        char db_explain[1024] = "";
        conv1d_status rc = from_db(d, key, dev_name, db_path, v, db_explain, sizeof db_explain);
        c1_appendf(explain, explain_size, "%s", db_explain);
        if (rc == CONV1D_OK) {
            *exact = strncmp(db_explain, "exact winner", 12) == 0;
            c1_clear_error();
            return CONV1D_OK;
        }
        c1_appendf(explain, explain_size, "; ");
    } else {
        c1_appendf(explain, explain_size, "estimate mode, no DB; ");
    }

    /* The embedded table's time models, for a library deployed without its database. */
    c1_model_pick picks[2];
    if (rank_table_models(d, dev, picks, 2) >= C1_MODEL_MIN_RANKED) {
        *exact = false;
        *v = picks[0].v;
        explain_picks(explain, explain_size, "embedded time model", picks);
        c1_clear_error();
        return CONV1D_OK;
    }

    char why[64];
    *exact = false;
    *v = c1_heuristic_choice(d, dev, why, sizeof why);
    if (!*v)
        return c1_fail(CONV1D_UNSUPPORTED, "No %s variant of this build applies to %s.", dev_name, key);
    c1_appendf(explain, explain_size, "heuristic: %s -> %s", why, (*v)->name);
    c1_clear_error();
    return CONV1D_OK;
}

/* Opens the database at db_path (else the default path) read-only for a look-up; false when this machine has no
 * fingerprint or the file cannot be opened (the caller then has no database to ask). */
static bool open_for_lookup(c1_store *s, const char *db_path)
{
    return *c1_machine_fingerprint() &&
           c1_store_open_wait(s, db_path ? db_path : c1_store_default_path(), false, LOOKUP_BUSY_TIMEOUT_MS) ==
               CONV1D_OK;
}

size_t c1_model_top(const conv1d_desc *d, c1_device dev, const char *db_path, c1_model_pick *out, size_t max)
{
    size_t n = 0;
    c1_store s;
    if (open_for_lookup(&s, db_path)) {
        n = rank_db_models(&s, d, dev, out, max, NULL);
        c1_store_close(&s);
    }
    if (n == 0) n = rank_table_models(d, dev, out, max);
    c1_clear_error();
    return n;
}

size_t c1_neighbour_top(const conv1d_desc *d, c1_device dev, const char *db_path, c1_neighbour_pick *out, size_t max)
{
    size_t n = 0;
    c1_store s;
    if (open_for_lookup(&s, db_path)) {
        neighbour_scan ns;
        if (scan_neighbours(&s, d, dev, &ns) == CONV1D_OK && ns.n > 0)
            n = rank_neighbours(&s, d, dev, ns.nb, ns.n, out, max);
        c1_store_close(&s);
    }
    c1_clear_error();
    return n;
}
