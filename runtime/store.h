/*
 * Internal: the results database (SQLite), one schema for the tuner that writes it and the runtime that
 * reads it. The database is a cache of measurements: losing it loses time, never correctness.
 *
 * Schema (PRAGMA user_version = C1_STORE_SCHEMA_VERSION; older files are migrated forward on open):
 *
 *   hardware     (id, fingerprint UNIQUE, record JSON, fma_gflops_1core, fma_gflops_all, copy_gbs_1core,
 *                 copy_gbs_all, first_seen)
 *   builds       (id, signature UNIQUE, version, compiler, onednn, cuda, cudnn, variants)
 *                 signature: hash of the library version, compiler, oneDNN/CUDA/cuDNN versions and the
 *                 variant set (names and parameters), so a rebuilt binary never trusts old winners
 *   runs         (id, hardware_id, build_id, args, started, ended, status running|done|interrupted|failed)
 *   shapes       (id, key UNIQUE = canonical descriptor text, the descriptor's fields, layout, dtype)
 *   measurements (id, run_id, shape_id, hardware_id, build_id, variant, family, device, precision, status,
 *                 message, rel_err, rel_l2, median_ms, p10_ms, p90_ms, ci_lo_ms, ci_hi_ms, repeats,
 *                 threads, buffer_sets, seed, impl, wall_s, measured)
 *                 every variant and parameter point tried, whatever its outcome
 *   winners      (hardware_id, build_id, shape_id, device, precision, variant, median_ms, p10_ms, p90_ms,
 *                 peer_variant, peer_median_ms, tie, stale, run_id, decided)
 *                 PRIMARY KEY (hardware_id, build_id, shape_id, device, precision); stale = 1 once a
 *                 newer build has swept on the same hardware (kept, not deleted)
 *   models       (hardware_id, build_id, device, precision, variant, layout, kind, samples, rms, coef, fitted)
 *                 each variant's time model (runtime/model.h) per layout and shape kind, coef as text
 *                 "c0,c1,..."; replaced as a whole for a machine and build after every sweep (schema 2)
 *
 * Views (schema 3), what the tool's commands and the scripts read instead of their own joins:
 *   all_winners      one row per winner (machine, build, shape, device, precision class), stale ones included:
 *                    hardware_id, build_id, shape_id, run_id, fingerprint, signature, key, the shape's fields
 *                    (batch .. has_bias, layout, dtype), device, precision, variant, median_ms, p10_ms, p90_ms,
 *                    peer_variant, peer_median_ms, speedup, tie, stale, decided; the peer of a CUDA winner is
 *                    the fastest correct cuDNN measurement of its class in its run (store.c says how exactly)
 *   current_winners  the same, stale = 0
 *
 * Concurrency: WAL journal and a busy timeout, so several sweeps on one file wait for each other instead
 * of failing; each shape's rows are written in one transaction, so a killed sweep leaves whole shapes.
 * Times are UTC ISO-8601 text. All SQL is parameterized, and all of the project's SQL is the store's
 * (store.c, store_merge.c): the tool's commands and the library call the functions below.
 */
#ifndef CONV1D_STORE_H
#define CONV1D_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "conv1d.h"
#include "model.h"

#define C1_STORE_SCHEMA_VERSION 3
#define C1_STORE_BUSY_TIMEOUT_MS 60000

typedef struct sqlite3 sqlite3;

typedef struct c1_store {
    sqlite3 *db;
    char path[1024];
    int version; /* the file's schema version; older than C1_STORE_SCHEMA_VERSION only when opened read-only */
} c1_store;

/* The DB path a tool uses when given none: $CONV1D_DB if set and non-empty, else results/conv1d.db. */
const char *c1_store_default_path(void);

/* Opens (creating when `create`) and migrates the database; read-only when !create. Fails with
 * CONV1D_DB_ERROR and a sentence for a file that is not a database, is corrupt, is from a newer schema,
 * or cannot be opened. */
conv1d_status c1_store_open(c1_store *s, const char *path, bool create);
/* The same with its own busy timeout: the runtime's lookup waits briefly for a locked file, then goes on
 * without it, where the tuner waits for other sweeps. */
conv1d_status c1_store_open_wait(c1_store *s, const char *path, bool create, int busy_timeout_ms);
void c1_store_close(c1_store *s);

/* Transactions: BEGIN IMMEDIATE (waits for other writers up to the busy timeout), COMMIT, ROLLBACK. */
conv1d_status c1_store_begin(c1_store *s);
conv1d_status c1_store_commit(c1_store *s);
void c1_store_rollback(c1_store *s);

/* Ids of rows keyed by natural keys, inserted when missing. */
typedef struct c1_store_hardware {
    const char *fingerprint;
    const char *record_json;
    double fma_gflops_1core, fma_gflops_all, copy_gbs_1core, copy_gbs_all; /* 0: unknown */
} c1_store_hardware;
conv1d_status c1_store_hardware_id(c1_store *s, const c1_store_hardware *hw, int64_t *id);

typedef struct c1_store_build {
    const char *signature, *version, *compiler, *onednn, *cuda, *cudnn, *variants;
} c1_store_build;
conv1d_status c1_store_build_id(c1_store *s, const c1_store_build *b, int64_t *id);

conv1d_status c1_store_shape_id(c1_store *s, const conv1d_desc *d, int64_t *id);

/* A run: started now with status 'running'; finished sets ended and the final status. */
conv1d_status c1_store_run_start(c1_store *s, int64_t hardware_id, int64_t build_id, const char *args,
                                 int64_t *run_id);
conv1d_status c1_store_run_finish(c1_store *s, int64_t run_id, const char *status);

/* Marks this hardware's winners of other builds stale. */
conv1d_status c1_store_mark_stale(c1_store *s, int64_t hardware_id, int64_t build_id);

/* True when the shape already has measurements for this hardware, build and device (a finished shape). */
conv1d_status c1_store_shape_done(c1_store *s, int64_t hardware_id, int64_t build_id, int64_t shape_id,
                                  const char *device, bool *done);

typedef struct c1_store_measurement {
    int64_t run_id, shape_id, hardware_id, build_id;
    const char *variant, *family, *device, *precision, *status, *message, *impl;
    double rel_err, rel_l2;                              /* NaN: none (stored as NULL) */
    double median_ms, p10_ms, p90_ms, ci_lo_ms, ci_hi_ms; /* NaN when not timed */
    int repeats, threads, buffer_sets;
    uint64_t seed;
    double wall_s;
} c1_store_measurement;
conv1d_status c1_store_add_measurement(c1_store *s, const c1_store_measurement *m);

typedef struct c1_store_winner {
    int64_t hardware_id, build_id, shape_id, run_id;
    const char *device, *precision, *variant;
    double median_ms, p10_ms, p90_ms;
    const char *peer_variant; /* NULL: no peer measured */
    double peer_median_ms;    /* NaN: none */
    bool tie;
} c1_store_winner;
/* Inserts or replaces the winner of (hardware, build, shape, device, precision), not stale. */
conv1d_status c1_store_set_winner(c1_store *s, const c1_store_winner *w);

/* Calls fn(ctx, shape key, shape, variant) for each winner of this machine, build, device and precision
 * class (stale rows excluded, damaged shapes skipped), and with `like` only of shapes with its layout, dtype
 * and kind (model.h), until fn returns non-zero; *rows gets how many winners were read, damaged ones
 * included. */
typedef int (*c1_store_winner_fn)(void *ctx, const char *shape_key, const conv1d_desc *shape, const char *variant);
conv1d_status c1_store_each_winner(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *device, const char *precision, const conv1d_desc *like,
                                   c1_store_winner_fn fn, void *ctx, int64_t *rows);

/* How many winners this machine and build have for device and precision class, stale ones included, counted
 * up to `limit` (a cheap look at the index), into *n. */
conv1d_status c1_store_count_winners(c1_store *s, const char *fingerprint, const char *build_signature,
                                     const char *device, const char *precision, int64_t limit, int64_t *n);

/* Calls fn(ctx, shape id, shape) for every shape of the file (with like: of its layout, dtype and kind,
 * model.h), whichever machine measured it (damaged rows skipped), until fn returns non-zero: one pass over the
 * shapes table, without the per-row joins of c1_store_each_winner (the dispatcher's first look for neighbours). */
typedef int (*c1_store_shape_fn)(void *ctx, int64_t shape_id, const conv1d_desc *shape);
conv1d_status c1_store_each_shape(c1_store *s, const conv1d_desc *like, c1_store_shape_fn fn, void *ctx);

/* For ids[0..n): fn(ctx, i, shape key, variant) for each that has a winner of this machine, build, device and
 * precision class (stale rows excluded), in the order of ids, until fn returns non-zero. */
typedef int (*c1_store_shape_winner_fn)(void *ctx, size_t i, const char *shape_key, const char *variant);
conv1d_status c1_store_winners_of(c1_store *s, const char *fingerprint, const char *build_signature,
                                  const char *device, const char *precision, const int64_t *ids, size_t n,
                                  c1_store_shape_winner_fn fn, void *ctx);

/* The runtime's lookup: the winner's variant name for this machine and build (stale rows excluded).
 * CONV1D_NOT_FOUND when there is none. `variant` gets a copy of the name. */
conv1d_status c1_store_find_winner(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *shape_key, const char *device, const char *precision,
                                   char *variant, size_t variant_size);

/* One variant's newest measurement on one shape (c1_store_shape_times). */
typedef struct c1_store_variant_time {
    char variant[64];
    double median_ms; /* NaN: measured but not ok (too slow, failed, wrong); never for "unsupported" */
} c1_store_variant_time;

/* Every variant's newest measurement on the shape `shape_key` for this machine, build, device and precision
 * class, into out[0..max) (*n of them), leaving out variants recorded as not applying ("unsupported"). What
 * the dispatcher compares variants by on the shapes near an untuned one (lookup.h). */
conv1d_status c1_store_shape_times(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *shape_key, const char *device, const char *precision,
                                   c1_store_variant_time *out, size_t max, size_t *n);

/* Whether the file has the models table (schema 2 and later; an older file opened read-only has not). */
bool c1_store_has_models(const c1_store *s);

/* Whether the file has the views all_winners and current_winners (schema 3 and later; an older file opened
 * read-only has not, and c1_store_load_winners reads it all the same). */
bool c1_store_has_winner_views(const c1_store *s);

/* Which winners c1_store_load_winners reads. */
typedef struct c1_store_winner_query {
    const char *fingerprint; /* this machine's only; NULL or "": every machine */
    const char *signature;   /* this build's only; NULL or "": every build */
    bool with_stale;         /* stale winners too */
    bool latest_per_key;     /* one per (machine, shape, device, precision): the latest decided (a merged file
                              * can hold a current winner of several builds for one key) */
} c1_store_winner_query;

/* One row of the all_winners view. Text is never NULL ("" for a NULL column) except peer_variant. */
typedef struct c1_store_winner_row {
    char *fingerprint, *signature, *key, *dtype, *device, *precision, *variant, *decided;
    char *peer_variant;                        /* NULL: no peer */
    double median_ms, p10_ms, p90_ms;          /* NaN: NULL */
    double peer_median_ms, speedup;            /* NaN: no peer time (speedup also for a zero median) */
    bool tie, stale;
} c1_store_winner_row;

/* The winners that match q, malloc'd into *rows (free with c1_store_free_winners), ordered by fingerprint,
 * shape key, device and precision (byte order, as strcmp), then current before stale, newest decision first,
 * faster first. Reads files of schema 1 and later. */
conv1d_status c1_store_load_winners(c1_store *s, const c1_store_winner_query *q, c1_store_winner_row **rows,
                                    size_t *count);
void c1_store_free_winners(c1_store_winner_row *rows, size_t count);

/* Replaces this machine's and build's time models with m[0..n). */
conv1d_status c1_store_replace_models(c1_store *s, int64_t hardware_id, int64_t build_id, const c1_model *m,
                                      size_t n);

/* The time models of this machine and build, malloc'd into *models (the caller frees it); none, not an error,
 * for a file without them. Damaged rows are left out. */
conv1d_status c1_store_load_models(c1_store *s, const char *fingerprint, const char *build_signature,
                                   c1_model **models, size_t *count);

/* The distinct (hardware_id, build_id) pairs that have measurements, malloc'd (the caller frees it). */
conv1d_status c1_store_measured_pairs(c1_store *s, int64_t (**pairs)[2], size_t *count);

/* One variant's newest ok median on one shape, what the time models are fitted from. */
typedef struct c1_store_timing {
    char variant[64], device[8], precision[8];
    conv1d_desc desc;
    double median_ms;
} c1_store_timing;
/* Every (shape, variant) timing of this machine and build, malloc'd into *out (the caller frees it). */
conv1d_status c1_store_load_timings(c1_store *s, int64_t hardware_id, int64_t build_id, c1_store_timing **out,
                                    size_t *count);

/* ---- merging results databases (store_merge.c, for conv1d-tune merge) ---- */

/* What merges added to their output, summed over the inputs. */
typedef struct c1_store_merge_counts {
    long long runs, measurements, winners, winners_replaced; /* winners_replaced: slower ones among winners */
} c1_store_merge_counts;

/* Opens `path` read-only as a merge input and checks that it has every table and column merging relies on;
 * false with the reason, a sentence, in msg (and nothing left open). */
bool c1_store_open_merge_input(c1_store *in, const char *path, char *msg, size_t size);

/* Folds `in` into `out`, inside a transaction the caller began on out (c1_store_begin) and commits or rolls
 * back. Rows are matched by natural keys, never by id: hardware by fingerprint, builds by signature, shapes
 * by key, runs by (machine, build, started, args); a run already in out is skipped with its measurements, so
 * merging a file twice adds nothing; a winner on both sides keeps the smaller median time. Adds to *counts;
 * false with the reason (no final period) in msg. */
bool c1_store_merge(c1_store *out, c1_store *in, c1_store_merge_counts *counts, char *msg, size_t size);

/* Removes a database file with its WAL and shared-memory files (a file a tool created and could not fill). */
void c1_store_remove(const char *path);

#endif
