/* The results database: schema, migrations, and the few statements the tuner and runtime need. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basics.h"
#include "error.h"
#include "model.h"
#include "store.h"

/*
 * The winners as readers want them (schema 3): one row per (machine, build, shape, device, precision class),
 * stale ones included, with the machine's fingerprint, the build's signature, the shape's canonical key and
 * fields, and the peer a winner is compared with. The peer of a CPU winner is the stored one (oneDNN); the
 * peer of a CUDA winner is the fastest correct cuDNN measurement (family "cudnn") of the winner's precision
 * class on the same shape in the same run (the earliest of equal ones), so hand-written kernels are compared
 * with cuDNN's best algorithm rather than with one fixed algorithm; without such a measurement the stored peer
 * stays. speedup = peer_median_ms / median_ms (NULL without a peer time or for a zero median).
 *
 * The migration that creates the view quotes this text, and readers of an older file opened read-only use it
 * as a subquery in the view's place, so both read the same rows. Never edit it: a changed view is a new
 * migration (DROP VIEW, CREATE VIEW) with a new text, which the readers then use instead.
 */
#define CUDNN_PEER(column)                                                                                          \
    "(CASE WHEN w.device = 'cuda' THEN (SELECT m." column " FROM measurements m WHERE m.hardware_id = w.hardware_id " \
    "AND m.build_id = w.build_id AND m.shape_id = w.shape_id AND m.device = 'cuda' AND m.run_id = w.run_id AND "    \
    "m.precision = w.precision AND m.family = 'cudnn' AND m.status = 'ok' AND m.median_ms > 0 ORDER BY "           \
    "m.median_ms, m.id LIMIT 1) END)"
#define ALL_WINNERS_V3                                                                                              \
    "SELECT w.hardware_id AS hardware_id, w.build_id AS build_id, w.shape_id AS shape_id, w.run_id AS run_id, "   \
    "h.fingerprint AS fingerprint, b.signature AS signature, sh.key AS key, sh.batch AS batch, "                   \
    "sh.length AS length, sh.in_channels AS in_channels, sh.out_channels AS out_channels, "                        \
    "sh.kernel_size AS kernel_size, sh.stride AS stride, sh.pad_left AS pad_left, sh.pad_right AS pad_right, "     \
    "sh.dilation AS dilation, sh.num_groups AS num_groups, sh.has_bias AS has_bias, sh.layout AS layout, "        \
    "sh.dtype AS dtype, w.device AS device, w.precision AS precision, w.variant AS variant, "                      \
    "w.median_ms AS median_ms, w.p10_ms AS p10_ms, w.p90_ms AS p90_ms, "                                            \
    "coalesce(" CUDNN_PEER("variant") ", w.peer_variant) AS peer_variant, "                                         \
    "coalesce(" CUDNN_PEER("median_ms") ", w.peer_median_ms) AS peer_median_ms, "                                   \
    "coalesce(" CUDNN_PEER("median_ms") ", w.peer_median_ms) / w.median_ms AS speedup, "                            \
    "w.tie AS tie, w.stale AS stale, w.decided AS decided "                                                         \
    "FROM winners w JOIN hardware h ON h.id = w.hardware_id JOIN shapes sh ON sh.id = w.shape_id "                \
    "LEFT JOIN builds b ON b.id = w.build_id"

/* Migrations: migrations[v] takes a database from user_version v to v + 1. Append, never edit. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE hardware ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL UNIQUE,"
    "  record TEXT NOT NULL,"
    "  fma_gflops_1core REAL, fma_gflops_all REAL, copy_gbs_1core REAL, copy_gbs_all REAL,"
    "  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));"
    "CREATE TABLE builds ("
    "  id INTEGER PRIMARY KEY,"
    "  signature TEXT NOT NULL UNIQUE,"
    "  version TEXT NOT NULL, compiler TEXT NOT NULL, onednn TEXT, cuda TEXT, cudnn TEXT,"
    "  variants TEXT NOT NULL);"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  hardware_id INTEGER NOT NULL REFERENCES hardware(id),"
    "  build_id INTEGER NOT NULL REFERENCES builds(id),"
    "  args TEXT NOT NULL,"
    "  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    "  ended TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')));"
    "CREATE TABLE shapes ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  batch INTEGER NOT NULL, length INTEGER NOT NULL, in_channels INTEGER NOT NULL,"
    "  out_channels INTEGER NOT NULL, kernel_size INTEGER NOT NULL, stride INTEGER NOT NULL,"
    "  pad_left INTEGER NOT NULL, pad_right INTEGER NOT NULL, dilation INTEGER NOT NULL,"
    "  num_groups INTEGER NOT NULL, has_bias INTEGER NOT NULL, layout TEXT NOT NULL, dtype TEXT NOT NULL);"
    "CREATE TABLE measurements ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  shape_id INTEGER NOT NULL REFERENCES shapes(id),"
    "  hardware_id INTEGER NOT NULL REFERENCES hardware(id),"
    "  build_id INTEGER NOT NULL REFERENCES builds(id),"
    "  variant TEXT NOT NULL, family TEXT NOT NULL, device TEXT NOT NULL, precision TEXT NOT NULL,"
    "  status TEXT NOT NULL, message TEXT, rel_err REAL, rel_l2 REAL,"
    "  median_ms REAL, p10_ms REAL, p90_ms REAL, ci_lo_ms REAL, ci_hi_ms REAL,"
    "  repeats INTEGER, threads INTEGER, buffer_sets INTEGER, seed INTEGER, impl TEXT, wall_s REAL,"
    "  measured TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));"
    "CREATE INDEX measurements_by_shape ON measurements(hardware_id, build_id, shape_id, device);"
    "CREATE TABLE winners ("
    "  hardware_id INTEGER NOT NULL REFERENCES hardware(id),"
    "  build_id INTEGER NOT NULL REFERENCES builds(id),"
    "  shape_id INTEGER NOT NULL REFERENCES shapes(id),"
    "  device TEXT NOT NULL, precision TEXT NOT NULL, variant TEXT NOT NULL,"
    "  median_ms REAL NOT NULL, p10_ms REAL, p90_ms REAL,"
    "  peer_variant TEXT, peer_median_ms REAL,"
    "  tie INTEGER NOT NULL DEFAULT 0, stale INTEGER NOT NULL DEFAULT 0,"
    "  run_id INTEGER REFERENCES runs(id),"
    "  decided TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    "  PRIMARY KEY (hardware_id, build_id, shape_id, device, precision));",
    /* 1 -> 2: each variant's time model per layout and kind (runtime/model.h), refitted after every sweep */
    "CREATE TABLE models ("
    "  hardware_id INTEGER NOT NULL REFERENCES hardware(id),"
    "  build_id INTEGER NOT NULL REFERENCES builds(id),"
    "  device TEXT NOT NULL, precision TEXT NOT NULL, variant TEXT NOT NULL,"
    "  layout TEXT NOT NULL, kind TEXT NOT NULL,"
    "  samples INTEGER NOT NULL, rms REAL NOT NULL, coef TEXT NOT NULL,"
    "  fitted TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    "  PRIMARY KEY (hardware_id, build_id, device, precision, variant, layout, kind));",
    /* 2 -> 3: the winners as readers want them (ALL_WINNERS_V3 above), and the current (not stale) ones;
     * views of these names in a file that claims an older version are replaced */
    "DROP VIEW IF EXISTS current_winners; DROP VIEW IF EXISTS all_winners;"
    "CREATE VIEW all_winners AS " ALL_WINNERS_V3 ";"
    "CREATE VIEW current_winners AS SELECT * FROM all_winners WHERE stale = 0;",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == C1_STORE_SCHEMA_VERSION,
               "one migration per schema version");

const char *c1_store_default_path(void)
{
    const char *env = getenv("CONV1D_DB");
    return env && *env ? env : "results/conv1d.db";
}

static conv1d_status db_fail(c1_store *s, const char *what)
{
    /* SQLite says "disk I/O error" for every failed write; the system's reason (a full disk, a file size
     * limit, a read-only file system) is what the user can act on. */
    const int err = s->db ? sqlite3_system_errno(s->db) : 0;
    return c1_fail(CONV1D_DB_ERROR, "Results database %s: %s failed: %s%s%s%s.", s->path, what,
                   s->db ? sqlite3_errmsg(s->db) : "no connection", err ? " (" : "", err ? strerror(err) : "",
                   err ? ")" : "");
}

static conv1d_status exec(c1_store *s, const char *sql, const char *what)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? CONV1D_OK : db_fail(s, what);
}

static conv1d_status migrate(c1_store *s, bool writable)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading the schema version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0) return db_fail(s, "reading the schema version");
    if (version > C1_STORE_SCHEMA_VERSION)
        return c1_fail(CONV1D_DB_ERROR, "Results database %s has schema version %d, newer than this build's %d.",
                       s->path, version, C1_STORE_SCHEMA_VERSION);
    s->version = version;
    if (version == C1_STORE_SCHEMA_VERSION) return CONV1D_OK;
    /* Read-only, an older file is read as it is: every migration so far only adds tables and views, and a
     * reader asks the store (c1_store_has_models, c1_store_has_winner_views) before it reads one a migration
     * added. */
    if (!writable) {
        if (version >= 1) return CONV1D_OK;
        return c1_fail(CONV1D_DB_ERROR, "Results database %s has schema version %d and is opened read-only.",
                       s->path, version);
    }
    conv1d_status rc = c1_store_begin(s);
    /* Re-read under the write lock: another process may have migrated meanwhile. */
    if (rc == CONV1D_OK && sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : version;
        sqlite3_finalize(st);
    }
    for (; rc == CONV1D_OK && version < C1_STORE_SCHEMA_VERSION; version++, s->version = version) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        if ((rc = exec(s, migrations[version], "migrating the schema")) == CONV1D_OK)
            rc = exec(s, pragma, "setting the schema version");
    }
    if (rc != CONV1D_OK) {
        c1_store_rollback(s);
        return rc;
    }
    return c1_store_commit(s);
}

/* Switching to WAL takes a lock for which SQLite does not call the busy handler, so a process opening the
 * file while another creates or migrates it gets SQLITE_BUSY at once: retry within the busy timeout. */
static conv1d_status enable_wal(c1_store *s, int busy_timeout_ms)
{
    const double deadline = c1_now_s() + busy_timeout_ms / 1e3;
    for (;;) {
        const int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return CONV1D_OK;
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || c1_now_s() > deadline) return db_fail(s, "enabling WAL");
        sqlite3_sleep(10);
    }
}

conv1d_status c1_store_open(c1_store *s, const char *path, bool create)
{
    return c1_store_open_wait(s, path, create, C1_STORE_BUSY_TIMEOUT_MS);
}

conv1d_status c1_store_open_wait(c1_store *s, const char *path, bool create, int busy_timeout_ms)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    const int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        conv1d_status rc = db_fail(s, "opening");
        c1_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, busy_timeout_ms);
    /* The first read tells a database from any other file; WAL lets readers and a writer coexist. */
    conv1d_status rc = exec(s, "SELECT count(*) FROM sqlite_master", "reading");
    if (rc == CONV1D_OK && create) rc = enable_wal(s, busy_timeout_ms);
    if (rc == CONV1D_OK) rc = exec(s, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (rc == CONV1D_OK) rc = migrate(s, create);
    if (rc != CONV1D_OK) c1_store_close(s);
    return rc;
}

void c1_store_close(c1_store *s)
{
    if (s->db) sqlite3_close_v2(s->db);
    s->db = NULL;
}

void c1_store_remove(const char *path)
{
    unlink(path);
    char side[4200];
    /* A name too long for the buffer is left alone rather than cut short into another file's name. */
    if ((size_t)snprintf(side, sizeof side, "%s-wal", path) < sizeof side) unlink(side);
    if ((size_t)snprintf(side, sizeof side, "%s-shm", path) < sizeof side) unlink(side);
}

conv1d_status c1_store_begin(c1_store *s) { return exec(s, "BEGIN IMMEDIATE", "starting a transaction"); }
conv1d_status c1_store_commit(c1_store *s) { return exec(s, "COMMIT", "committing"); }
void c1_store_rollback(c1_store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

/* ---- statement helpers: bind by position from a small tagged list ---- */

typedef struct arg {
    char type; /* 'i' int64, 'd' double (NaN -> NULL), 's' text (NULL -> NULL) */
    int64_t i;
    double d;
    const char *s;
} arg;
#define AI(v) ((arg){.type = 'i', .i = (v)})
#define AD(v) ((arg){.type = 'd', .d = (v)})
#define AS(v) ((arg){.type = 's', .s = (v)})

static conv1d_status prepare_bind(c1_store *s, const char *sql, const arg *args, int n, sqlite3_stmt **st,
                                  const char *what)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return db_fail(s, what);
    for (int i = 0; i < n; i++) {
        int rc;
        if (args[i].type == 'i')
            rc = sqlite3_bind_int64(*st, i + 1, args[i].i);
        else if (args[i].type == 'd')
            rc = isnan(args[i].d) ? sqlite3_bind_null(*st, i + 1) : sqlite3_bind_double(*st, i + 1, args[i].d);
        else
            rc = args[i].s ? sqlite3_bind_text(*st, i + 1, args[i].s, -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null(*st, i + 1);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(*st);
            return db_fail(s, what);
        }
    }
    return CONV1D_OK;
}

/* Runs a statement that returns no rows. */
static conv1d_status run(c1_store *s, const char *sql, const arg *args, int n, const char *what)
{
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s, sql, args, n, &st, what);
    if (rc != CONV1D_OK) return rc;
    rc = sqlite3_step(st) == SQLITE_DONE ? CONV1D_OK : db_fail(s, what);
    sqlite3_finalize(st);
    return rc;
}

/* Runs a query for one integer; CONV1D_NOT_FOUND without a row. */
static conv1d_status query_int(c1_store *s, const char *sql, const arg *args, int n, int64_t *out, const char *what)
{
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s, sql, args, n, &st, what);
    if (rc != CONV1D_OK) return rc;
    const int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = step == SQLITE_DONE ? CONV1D_NOT_FOUND : db_fail(s, what);
    sqlite3_finalize(st);
    return rc;
}

/* INSERT ... ON CONFLICT DO NOTHING, then the id by the natural key. */
static conv1d_status upsert_id(c1_store *s, const char *insert, const arg *args, int n, const char *select,
                               const arg *key, int64_t *id, const char *what)
{
    conv1d_status rc = run(s, insert, args, n, what);
    if (rc == CONV1D_OK) rc = query_int(s, select, key, 1, id, what);
    return rc == CONV1D_NOT_FOUND ? db_fail(s, what) : rc;
}

conv1d_status c1_store_hardware_id(c1_store *s, const c1_store_hardware *hw, int64_t *id)
{
    const arg a[] = {AS(hw->fingerprint),    AS(hw->record_json),    AD(hw->fma_gflops_1core),
                     AD(hw->fma_gflops_all), AD(hw->copy_gbs_1core), AD(hw->copy_gbs_all)};
    /* Ceilings measured later (or again) replace unknown ones. */
    conv1d_status rc = run(s,
                           "INSERT INTO hardware (fingerprint, record, fma_gflops_1core, fma_gflops_all, "
                           "copy_gbs_1core, copy_gbs_all) VALUES (?1, ?2, nullif(?3, 0), nullif(?4, 0), "
                           "nullif(?5, 0), nullif(?6, 0)) ON CONFLICT (fingerprint) DO UPDATE SET "
                           "fma_gflops_1core = coalesce(excluded.fma_gflops_1core, fma_gflops_1core), "
                           "fma_gflops_all = coalesce(excluded.fma_gflops_all, fma_gflops_all), "
                           "copy_gbs_1core = coalesce(excluded.copy_gbs_1core, copy_gbs_1core), "
                           "copy_gbs_all = coalesce(excluded.copy_gbs_all, copy_gbs_all)",
                           a, 6, "recording the hardware");
    if (rc == CONV1D_OK)
        rc = query_int(s, "SELECT id FROM hardware WHERE fingerprint = ?1", a, 1, id, "finding the hardware");
    return rc == CONV1D_NOT_FOUND ? db_fail(s, "finding the hardware") : rc;
}

conv1d_status c1_store_build_id(c1_store *s, const c1_store_build *b, int64_t *id)
{
    const arg a[] = {AS(b->signature), AS(b->version), AS(b->compiler), AS(b->onednn),
                     AS(b->cuda),      AS(b->cudnn),   AS(b->variants)};
    return upsert_id(s,
                     "INSERT INTO builds (signature, version, compiler, onednn, cuda, cudnn, variants) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (signature) DO NOTHING",
                     a, 7, "SELECT id FROM builds WHERE signature = ?1", a, id, "recording the build");
}

conv1d_status c1_store_shape_id(c1_store *s, const conv1d_desc *d, int64_t *id)
{
    char key[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, key, sizeof key);
    const arg a[] = {AS(key),
                     AI(d->batch),
                     AI(d->length),
                     AI(d->in_channels),
                     AI(d->out_channels),
                     AI(d->kernel_size),
                     AI(d->stride),
                     AI(d->pad_left),
                     AI(d->pad_right),
                     AI(d->dilation),
                     AI(d->num_groups),
                     AI(d->has_bias),
                     AS(d->layout == CONV1D_LAYOUT_NCW ? "ncw" : "nwc"),
                     AS(conv1d_dtype_name(d->dtype))};
    return upsert_id(s,
                     "INSERT INTO shapes (key, batch, length, in_channels, out_channels, kernel_size, stride, "
                     "pad_left, pad_right, dilation, num_groups, has_bias, layout, dtype) VALUES (?1, ?2, ?3, ?4, "
                     "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (key) DO NOTHING",
                     a, 14, "SELECT id FROM shapes WHERE key = ?1", a, id, "recording the shape");
}

conv1d_status c1_store_run_start(c1_store *s, int64_t hardware_id, int64_t build_id, const char *args,
                                 int64_t *run_id)
{
    const arg a[] = {AI(hardware_id), AI(build_id), AS(args)};
    conv1d_status rc = run(s, "INSERT INTO runs (hardware_id, build_id, args, status) VALUES (?1, ?2, ?3, 'running')",
                           a, 3, "recording the run");
    if (rc == CONV1D_OK) *run_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

conv1d_status c1_store_run_finish(c1_store *s, int64_t run_id, const char *status)
{
    const arg a[] = {AS(status), AI(run_id)};
    return run(s, "UPDATE runs SET status = ?1, ended = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?2", a, 2,
               "finishing the run");
}

conv1d_status c1_store_mark_stale(c1_store *s, int64_t hardware_id, int64_t build_id)
{
    const arg a[] = {AI(hardware_id), AI(build_id)};
    return run(s, "UPDATE winners SET stale = 1 WHERE hardware_id = ?1 AND build_id <> ?2 AND stale = 0", a, 2,
               "marking old winners stale");
}

conv1d_status c1_store_shape_done(c1_store *s, int64_t hardware_id, int64_t build_id, int64_t shape_id,
                                  const char *device, bool *done)
{
    const arg a[] = {AI(hardware_id), AI(build_id), AI(shape_id), AS(device)};
    int64_t one = 0;
    conv1d_status rc = query_int(s,
                                 "SELECT 1 FROM measurements WHERE hardware_id = ?1 AND build_id = ?2 AND "
                                 "shape_id = ?3 AND device = ?4 LIMIT 1",
                                 a, 4, &one, "looking up finished shapes");
    *done = rc == CONV1D_OK;
    return rc == CONV1D_NOT_FOUND ? CONV1D_OK : rc;
}

conv1d_status c1_store_add_measurement(c1_store *s, const c1_store_measurement *m)
{
    const arg a[] = {AI(m->run_id),    AI(m->shape_id),  AI(m->hardware_id), AI(m->build_id),
                     AS(m->variant),   AS(m->family),    AS(m->device),      AS(m->precision),
                     AS(m->status),    AS(m->message),   AD(m->rel_err),     AD(m->rel_l2),
                     AD(m->median_ms), AD(m->p10_ms),    AD(m->p90_ms),      AD(m->ci_lo_ms),
                     AD(m->ci_hi_ms),  AI(m->repeats),   AI(m->threads),     AI(m->buffer_sets),
                     AI((int64_t)m->seed), AS(m->impl),  AD(m->wall_s)};
    return run(s,
               "INSERT INTO measurements (run_id, shape_id, hardware_id, build_id, variant, family, device, "
               "precision, status, message, rel_err, rel_l2, median_ms, p10_ms, p90_ms, ci_lo_ms, ci_hi_ms, repeats, "
               "threads, buffer_sets, seed, impl, wall_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
               "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
               a, 23, "recording a measurement");
}

conv1d_status c1_store_set_winner(c1_store *s, const c1_store_winner *w)
{
    const arg a[] = {AI(w->hardware_id),  AI(w->build_id),   AI(w->shape_id),  AS(w->device),
                     AS(w->precision),    AS(w->variant),    AD(w->median_ms), AD(w->p10_ms),
                     AD(w->p90_ms),       AS(w->peer_variant), AD(w->peer_median_ms), AI(w->tie),
                     AI(w->run_id)};
    return run(s,
               "INSERT OR REPLACE INTO winners (hardware_id, build_id, shape_id, device, precision, variant, "
               "median_ms, p10_ms, p90_ms, peer_variant, peer_median_ms, tie, stale, run_id) VALUES (?1, ?2, ?3, "
               "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13)",
               a, 13, "recording a winner");
}

conv1d_status c1_store_find_winner(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *shape_key, const char *device, const char *precision,
                                   char *variant, size_t variant_size)
{
    const arg a[] = {AS(fingerprint), AS(build_signature), AS(shape_key), AS(device), AS(precision)};
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s,
                                    "SELECT w.variant FROM winners w JOIN hardware h ON h.id = w.hardware_id "
                                    "JOIN builds b ON b.id = w.build_id JOIN shapes sh ON sh.id = w.shape_id "
                                    "WHERE h.fingerprint = ?1 AND b.signature = ?2 AND sh.key = ?3 AND "
                                    "w.device = ?4 AND w.precision = ?5 AND w.stale = 0",
                                    a, 5, &st, "looking up a winner");
    if (rc != CONV1D_OK) return rc;
    const int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        snprintf(variant, variant_size, "%s", name ? (const char *)name : "");
    } else {
        rc = step == SQLITE_DONE ? c1_fail(CONV1D_NOT_FOUND, "No winner for %s on this machine and build.", shape_key)
                                 : db_fail(s, "looking up a winner");
    }
    sqlite3_finalize(st);
    return rc;
}

conv1d_status c1_store_shape_times(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *shape_key, const char *device, const char *precision,
                                   c1_store_variant_time *out, size_t max, size_t *n)
{
    *n = 0;
    const arg a[] = {AS(fingerprint), AS(build_signature), AS(shape_key), AS(device), AS(precision)};
    sqlite3_stmt *st;
    /* Oldest first, so that a variant's newest row overwrites its older ones below. */
    conv1d_status rc = prepare_bind(s,
                                    "SELECT m.variant, m.status, m.median_ms FROM measurements m JOIN hardware h ON "
                                    "h.id = m.hardware_id JOIN builds b ON b.id = m.build_id JOIN shapes sh ON "
                                    "sh.id = m.shape_id WHERE h.fingerprint = ?1 AND b.signature = ?2 AND sh.key = ?3 "
                                    "AND m.device = ?4 AND m.precision = ?5 AND m.status <> 'unsupported' "
                                    "ORDER BY m.id",
                                    a, 5, &st, "reading a shape's measurements");
    if (rc != CONV1D_OK) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *variant = (const char *)sqlite3_column_text(st, 0), *status = (const char *)sqlite3_column_text(st, 1);
        if (!variant || !status) continue;
        const double ms = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        size_t i = 0;
        while (i < *n && strcmp(out[i].variant, variant) != 0) i++;
        if (i == *n) {
            if (*n == max) continue;
            snprintf(out[i].variant, sizeof out[i].variant, "%s", variant);
            ++*n;
        }
        out[i].median_ms = strcmp(status, "ok") == 0 && ms > 0 && isfinite(ms) ? ms : NAN;
    }
    if (step != SQLITE_DONE) rc = db_fail(s, "reading a shape's measurements");
    sqlite3_finalize(st);
    c1_clear_error();
    return rc;
}

bool c1_store_has_models(const c1_store *s) { return s->version >= 2; }

bool c1_store_has_winner_views(const c1_store *s) { return s->version >= 3; }

/* ---- time models (runtime/model.h) ---- */

static const char *layout_text(conv1d_layout l) { return l == CONV1D_LAYOUT_NCW ? "ncw" : "nwc"; }

conv1d_status c1_store_replace_models(c1_store *s, int64_t hardware_id, int64_t build_id, const c1_model *m,
                                      size_t n)
{
    const arg del[] = {AI(hardware_id), AI(build_id)};
    conv1d_status rc = run(s, "DELETE FROM models WHERE hardware_id = ?1 AND build_id = ?2", del, 2,
                           "replacing the time models");
    for (size_t i = 0; rc == CONV1D_OK && i < n; i++) {
        char coef[C1_MODEL_FEATURES * 26 + 1];
        size_t len = 0;
        for (int j = 0; j < C1_MODEL_FEATURES; j++)
            len += (size_t)snprintf(coef + len, sizeof coef - len, "%s%.17g", j ? "," : "", m[i].coef[j]);
        const arg a[] = {AI(hardware_id),        AI(build_id),   AS(m[i].device),
                         AS(m[i].precision),     AS(m[i].variant), AS(layout_text(m[i].layout)),
                         AS(c1_shape_kind_name(m[i].kind)), AI(m[i].samples), AD(m[i].rms), AS(coef)};
        rc = run(s,
                 "INSERT INTO models (hardware_id, build_id, device, precision, variant, layout, kind, samples, rms, "
                 "coef) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                 a, 10, "recording a time model");
    }
    return rc;
}

/* A malloc'd array of *cap elements holding n, with room for one more: the same or a moved array, or NULL
 * when out of memory (the array is then left as it was). */
static void *grow(void *array, size_t *cap, size_t n, size_t elem_size)
{
    if (n < *cap) return array;
    const size_t ncap = *cap ? 2 * *cap : 64;
    void *grown = realloc(array, ncap * elem_size);
    if (grown) *cap = ncap;
    return grown;
}

/* Parses "c0,c1,...": false for anything but exactly C1_MODEL_FEATURES finite numbers. */
static bool parse_coef(const char *text, double coef[C1_MODEL_FEATURES])
{
    for (int j = 0; j < C1_MODEL_FEATURES; j++) {
        char *end;
        if (!text) return false;
        coef[j] = strtod(text, &end);
        if (end == text || !isfinite(coef[j])) return false;
        if (j + 1 < C1_MODEL_FEATURES && *end != ',') return false;
        text = end + (j + 1 < C1_MODEL_FEATURES);
        if (j + 1 == C1_MODEL_FEATURES && *end != '\0') return false;
    }
    return true;
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
    snprintf(dst, size, "%s", src ? (const char *)src : "");
}

conv1d_status c1_store_load_models(c1_store *s, const char *fingerprint, const char *build_signature,
                                   c1_model **models, size_t *count)
{
    *models = NULL;
    *count = 0;
    if (!c1_store_has_models(s)) return CONV1D_OK;
    const arg a[] = {AS(fingerprint), AS(build_signature)};
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s,
                                    "SELECT m.device, m.precision, m.variant, m.layout, m.kind, m.samples, m.rms, "
                                    "m.coef FROM models m JOIN hardware h ON h.id = m.hardware_id JOIN builds b ON "
                                    "b.id = m.build_id WHERE h.fingerprint = ?1 AND b.signature = ?2",
                                    a, 2, &st, "reading the time models");
    if (rc != CONV1D_OK) return rc;
    size_t cap = 0, n = 0;
    c1_model *out = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        c1_model m;
        memset(&m, 0, sizeof m);
        copy_text(m.device, sizeof m.device, sqlite3_column_text(st, 0));
        copy_text(m.precision, sizeof m.precision, sqlite3_column_text(st, 1));
        copy_text(m.variant, sizeof m.variant, sqlite3_column_text(st, 2));
        const char *layout = (const char *)sqlite3_column_text(st, 3), *kind = (const char *)sqlite3_column_text(st, 4);
        m.layout = layout && strcmp(layout, "ncw") == 0 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
        m.kind = kind && strcmp(kind, "depthwise") == 0 ? C1_KIND_DEPTHWISE
                 : kind && strcmp(kind, "grouped") == 0 ? C1_KIND_GROUPED
                                                         : C1_KIND_DENSE;
        const int64_t samples = sqlite3_column_int64(st, 5);
        m.samples = samples > 0 && samples < (1 << 30) ? (int)samples : 0;
        m.rms = sqlite3_column_double(st, 6);
        /* A damaged row is left out, never trusted. */
        if (!parse_coef((const char *)sqlite3_column_text(st, 7), m.coef) || !layout || !kind) continue;
        c1_model *room = grow(out, &cap, n, sizeof *out);
        if (!room) {
            rc = c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory reading the time models.");
            break;
        }
        out = room;
        out[n++] = m;
    }
    if (rc == CONV1D_OK && step != SQLITE_DONE) rc = db_fail(s, "reading the time models");
    sqlite3_finalize(st);
    if (rc != CONV1D_OK) {
        free(out);
        return rc;
    }
    *models = out;
    *count = n;
    return CONV1D_OK;
}

/* The shape columns batch .. dtype (14 of them, in the shapes table's order from batch) of a row, starting at
 * column `first`, into *d; false for a row that is not a valid descriptor (a damaged row is never trusted). */
static bool read_shape(sqlite3_stmt *st, int first, conv1d_desc *d)
{
    conv1d_desc_init(d);
    int64_t *fields[] = {&d->batch,    &d->length,   &d->in_channels, &d->out_channels, &d->kernel_size,
                         &d->stride,   &d->pad_left, &d->pad_right,   &d->dilation,     &d->num_groups};
    for (int i = 0; i < 10; i++) *fields[i] = sqlite3_column_int64(st, first + i);
    d->has_bias = sqlite3_column_int(st, first + 10) != 0;
    const char *layout = (const char *)sqlite3_column_text(st, first + 11);
    const char *dtype = (const char *)sqlite3_column_text(st, first + 12);
    d->layout = layout && strcmp(layout, "ncw") == 0 ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
    d->dtype = dtype && strcmp(dtype, "bf16") == 0 ? CONV1D_BF16 : dtype && strcmp(dtype, "f16") == 0 ? CONV1D_F16
                                                                                                     : CONV1D_F32;
    return conv1d_desc_validate(d) == CONV1D_OK;
}

/* The shapes like a descriptor, for a query whose parameters ?A .. ?D are (whether to filter, layout, dtype, kind
 * as model.h numbers it): its layout, dtype and kind, or every shape when ?A is 0. */
#define SHAPE_LIKE(A, B, C, D)                                                                                      \
    "(?" A " = 0 OR (sh.layout = ?" B " AND sh.dtype = ?" C " AND (CASE WHEN sh.num_groups = 1 THEN 0 WHEN "      \
    "sh.num_groups = sh.in_channels THEN 1 ELSE 2 END) = ?" D "))"
#define LIKE_ARGS(like)                                                                                             \
    AI((like) != NULL), AS((like) ? layout_text((like)->layout) : ""), AS((like) ? conv1d_dtype_name((like)->dtype) : ""), \
        AI((like) ? (int64_t)c1_shape_kind_of(like) : -1)

#define SHAPE_COLUMNS                                                                                               \
    "sh.batch, sh.length, sh.in_channels, sh.out_channels, sh.kernel_size, sh.stride, sh.pad_left, sh.pad_right, " \
    "sh.dilation, sh.num_groups, sh.has_bias, sh.layout, sh.dtype"

conv1d_status c1_store_each_winner(c1_store *s, const char *fingerprint, const char *build_signature,
                                   const char *device, const char *precision, const conv1d_desc *like,
                                   c1_store_winner_fn fn, void *ctx, int64_t *rows)
{
    *rows = 0;
    const arg a[] = {AS(fingerprint), AS(build_signature), AS(device), AS(precision), LIKE_ARGS(like)};
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(
        s,
        "SELECT sh.key, w.variant, " SHAPE_COLUMNS " FROM winners w JOIN hardware h ON h.id = w.hardware_id JOIN "
        "builds b ON b.id = w.build_id JOIN shapes sh ON sh.id = w.shape_id WHERE h.fingerprint = ?1 AND "
        "b.signature = ?2 AND w.device = ?3 AND w.precision = ?4 AND w.stale = 0 AND " SHAPE_LIKE("5", "6", "7", "8"),
        a, 8, &st, "reading winners");
    if (rc != CONV1D_OK) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        ++*rows;
        conv1d_desc d;
        const char *key = (const char *)sqlite3_column_text(st, 0), *variant = (const char *)sqlite3_column_text(st, 1);
        if (!key || !variant || !read_shape(st, 2, &d)) continue;
        if (fn(ctx, key, &d, variant)) break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = db_fail(s, "reading winners");
    sqlite3_finalize(st);
    c1_clear_error();
    return rc;
}

conv1d_status c1_store_count_winners(c1_store *s, const char *fingerprint, const char *build_signature,
                                     const char *device, const char *precision, int64_t limit, int64_t *n)
{
    const arg a[] = {AS(fingerprint), AS(build_signature), AS(device), AS(precision), AI(limit)};
    /* Only the primary key's columns: SQLite answers from the index alone. */
    const conv1d_status rc = query_int(s,
                                       "SELECT count(*) FROM (SELECT 1 FROM winners w WHERE w.hardware_id = (SELECT id "
                                       "FROM hardware WHERE fingerprint = ?1) AND w.build_id = (SELECT id FROM builds "
                                       "WHERE signature = ?2) AND w.device = ?3 AND w.precision = ?4 LIMIT ?5)",
                                       a, 5, n, "counting winners");
    return rc == CONV1D_NOT_FOUND ? db_fail(s, "counting winners") : rc;
}

conv1d_status c1_store_each_shape(c1_store *s, const conv1d_desc *like, c1_store_shape_fn fn, void *ctx)
{
    const arg a[] = {LIKE_ARGS(like)};
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s, "SELECT sh.id, " SHAPE_COLUMNS " FROM shapes sh WHERE " SHAPE_LIKE("1", "2", "3", "4"),
                                    a, 4, &st, "reading shapes");
    if (rc != CONV1D_OK) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        conv1d_desc d;
        if (read_shape(st, 1, &d) && fn(ctx, sqlite3_column_int64(st, 0), &d)) break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = db_fail(s, "reading shapes");
    sqlite3_finalize(st);
    c1_clear_error();
    return rc;
}

conv1d_status c1_store_winners_of(c1_store *s, const char *fingerprint, const char *build_signature,
                                  const char *device, const char *precision, const int64_t *ids, size_t n,
                                  c1_store_shape_winner_fn fn, void *ctx)
{
    if (n == 0) return CONV1D_OK;
    const arg a[] = {AS(fingerprint), AS(build_signature), AS(device), AS(precision), AI(ids[0])};
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s,
                                    "SELECT sh.key, w.variant FROM winners w JOIN hardware h ON h.id = w.hardware_id "
                                    "JOIN builds b ON b.id = w.build_id JOIN shapes sh ON sh.id = w.shape_id WHERE "
                                    "h.fingerprint = ?1 AND b.signature = ?2 AND w.device = ?3 AND w.precision = ?4 "
                                    "AND w.shape_id = ?5 AND w.stale = 0",
                                    a, 5, &st, "reading winners");
    if (rc != CONV1D_OK) return rc;
    for (size_t i = 0; i < n && rc == CONV1D_OK; i++) {
        if (i > 0 && (sqlite3_reset(st) != SQLITE_OK || sqlite3_bind_int64(st, 5, ids[i]) != SQLITE_OK)) {
            rc = db_fail(s, "reading winners");
            break;
        }
        const int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(st, 0), *variant = (const char *)sqlite3_column_text(st, 1);
            if (key && variant && fn(ctx, i, key, variant)) break;
        } else if (step != SQLITE_DONE)
            rc = db_fail(s, "reading winners");
    }
    sqlite3_finalize(st);
    c1_clear_error();
    return rc;
}

conv1d_status c1_store_load_timings(c1_store *s, int64_t hardware_id, int64_t build_id, c1_store_timing **out,
                                    size_t *count)
{
    *out = NULL;
    *count = 0;
    const arg a[] = {AI(hardware_id), AI(build_id)};
    sqlite3_stmt *st;
    /* The newest ok measurement of each variant on each shape. */
    conv1d_status rc = prepare_bind(
        s,
        "SELECT m.variant, m.device, m.precision, m.median_ms, " SHAPE_COLUMNS " FROM measurements m JOIN shapes sh ON sh.id = m.shape_id WHERE m.id IN (SELECT max(id) FROM measurements "
        "WHERE hardware_id = ?1 AND build_id = ?2 AND status = 'ok' AND median_ms > 0 GROUP BY shape_id, variant, "
        "device, precision) ORDER BY m.variant, m.device, m.precision, sh.layout",
        a, 2, &st, "reading the measurements");
    if (rc != CONV1D_OK) return rc;
    size_t cap = 0, n = 0;
    c1_store_timing *t = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        c1_store_timing r;
        memset(&r, 0, sizeof r);
        copy_text(r.variant, sizeof r.variant, sqlite3_column_text(st, 0));
        copy_text(r.device, sizeof r.device, sqlite3_column_text(st, 1));
        copy_text(r.precision, sizeof r.precision, sqlite3_column_text(st, 2));
        r.median_ms = sqlite3_column_double(st, 3);
        if (!read_shape(st, 4, &r.desc) || !(r.median_ms > 0) || !isfinite(r.median_ms)) continue;
        c1_store_timing *room = grow(t, &cap, n, sizeof *t);
        if (!room) {
            rc = c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory reading the measurements.");
            break;
        }
        t = room;
        t[n++] = r;
    }
    if (rc == CONV1D_OK && step != SQLITE_DONE) rc = db_fail(s, "reading the measurements");
    sqlite3_finalize(st);
    c1_clear_error();
    if (rc != CONV1D_OK) {
        free(t);
        return rc;
    }
    *out = t;
    *count = n;
    return CONV1D_OK;
}

conv1d_status c1_store_measured_pairs(c1_store *s, int64_t (**pairs)[2], size_t *count)
{
    *pairs = NULL;
    *count = 0;
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s, "SELECT DISTINCT hardware_id, build_id FROM measurements ORDER BY 1, 2", NULL,
                                    0, &st, "listing the measured machines and builds");
    if (rc != CONV1D_OK) return rc;
    size_t n = 0, cap = 0;
    int64_t(*out)[2] = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t(*room)[2] = grow(out, &cap, n, sizeof *out);
        if (!room) {
            rc = c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory listing the measured machines and builds.");
            break;
        }
        out = room;
        out[n][0] = sqlite3_column_int64(st, 0);
        out[n][1] = sqlite3_column_int64(st, 1);
        n++;
    }
    if (rc == CONV1D_OK && step != SQLITE_DONE) rc = db_fail(s, "listing the measured machines and builds");
    sqlite3_finalize(st);
    if (rc != CONV1D_OK) {
        free(out);
        return rc;
    }
    *pairs = out;
    *count = n;
    return CONV1D_OK;
}

/* ---- the winners as the tool's commands read them (the all_winners view) ---- */

static char *dup_text(const unsigned char *t) { return strdup(t ? (const char *)t : ""); }

static double column_or_nan(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void free_winner_row(c1_store_winner_row *r)
{
    free(r->fingerprint);
    free(r->signature);
    free(r->key);
    free(r->dtype);
    free(r->device);
    free(r->precision);
    free(r->variant);
    free(r->peer_variant);
    free(r->decided);
}

void c1_store_free_winners(c1_store_winner_row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) free_winner_row(&rows[i]);
    free(rows);
}

/* Whether two rows are of the same (machine, shape, device, precision). */
static bool same_winner_key(const c1_store_winner_row *a, const c1_store_winner_row *b)
{
    return strcmp(a->fingerprint, b->fingerprint) == 0 && strcmp(a->key, b->key) == 0 &&
           strcmp(a->device, b->device) == 0 && strcmp(a->precision, b->precision) == 0;
}

/* The BINARY collation orders text as strcmp does, so a caller may merge two lists by strcmp. */
#define LIST_WINNERS(source)                                                                                        \
    "SELECT fingerprint, signature, key, dtype, device, precision, variant, median_ms, p10_ms, p90_ms, "           \
    "peer_variant, peer_median_ms, speedup, tie, stale, decided FROM " source " WHERE (?1 OR stale = 0) AND "      \
    "(?2 IS NULL OR fingerprint = ?2) AND (?3 IS NULL OR signature = ?3) "                                         \
    "ORDER BY fingerprint, key, device, precision, stale, decided DESC, median_ms"

conv1d_status c1_store_load_winners(c1_store *s, const c1_store_winner_query *q, c1_store_winner_row **rows,
                                    size_t *count)
{
    *rows = NULL;
    *count = 0;
    const char *fingerprint = q->fingerprint && *q->fingerprint ? q->fingerprint : NULL;
    const char *signature = q->signature && *q->signature ? q->signature : NULL;
    const arg a[] = {AI(q->with_stale), AS(fingerprint), AS(signature)};
    /* An older file opened read-only has no view: the view's own text stands in for it. */
    const char *sql = c1_store_has_winner_views(s) ? LIST_WINNERS("all_winners")
                                                   : LIST_WINNERS("(" ALL_WINNERS_V3 ")");
    sqlite3_stmt *st;
    conv1d_status rc = prepare_bind(s, sql, a, 3, &st, "reading the winners");
    if (rc != CONV1D_OK) return rc;
    size_t cap = 0, n = 0;
    c1_store_winner_row *out = NULL;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        c1_store_winner_row r = {
            .fingerprint = dup_text(sqlite3_column_text(st, 0)),
            .signature = dup_text(sqlite3_column_text(st, 1)),
            .key = dup_text(sqlite3_column_text(st, 2)),
            .dtype = dup_text(sqlite3_column_text(st, 3)),
            .device = dup_text(sqlite3_column_text(st, 4)),
            .precision = dup_text(sqlite3_column_text(st, 5)),
            .variant = dup_text(sqlite3_column_text(st, 6)),
            .median_ms = column_or_nan(st, 7),
            .p10_ms = column_or_nan(st, 8),
            .p90_ms = column_or_nan(st, 9),
            .peer_variant = sqlite3_column_type(st, 10) == SQLITE_NULL ? NULL : dup_text(sqlite3_column_text(st, 10)),
            .peer_median_ms = column_or_nan(st, 11),
            .speedup = column_or_nan(st, 12),
            .tie = sqlite3_column_int(st, 13) != 0,
            .stale = sqlite3_column_int(st, 14) != 0,
            .decided = dup_text(sqlite3_column_text(st, 15)),
        };
        const bool whole = r.fingerprint && r.signature && r.key && r.dtype && r.device && r.precision && r.variant &&
                           r.decided && (r.peer_variant || sqlite3_column_type(st, 10) == SQLITE_NULL);
        c1_store_winner_row *room = whole ? grow(out, &cap, n, sizeof *out) : NULL;
        if (!room) {
            free_winner_row(&r);
            rc = c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory reading the winners of %s.", s->path);
            break;
        }
        out = room;
        /* Rows come newest first within a key: an older decision for the same key is left out. */
        if (q->latest_per_key && n > 0 && same_winner_key(&out[n - 1], &r)) {
            free_winner_row(&r);
            continue;
        }
        out[n++] = r;
    }
    if (rc == CONV1D_OK && step != SQLITE_DONE) rc = db_fail(s, "reading the winners");
    sqlite3_finalize(st);
    if (rc != CONV1D_OK) {
        c1_store_free_winners(out, n);
        return rc;
    }
    *rows = out;
    *count = n;
    return CONV1D_OK;
}
