/*
 * Merging results databases (conv1d-tune merge): shards of one sweep, other machines. Rows are matched by
 * their natural keys, never by id: hardware by fingerprint, builds by signature, shapes by key, runs by
 * (fingerprint, signature, started, args). A run already present is skipped with its measurements, so merging
 * a file twice adds nothing. A winner present on both sides keeps the faster of the two. A machine's ceilings
 * measured on one side only fill the unknown ones of the other.
 *
 * Columns are copied by name (those the output's schema and the input share), so a column added by a later
 * migration is carried without changes here. Views are not copied: the output has its own.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

/* Every table a conv1d-tune database has, with the columns merging relies on. */
static const struct {
    const char *table;
    const char *columns[6];
} required[] = {
    {"hardware", {"id", "fingerprint"}},
    {"builds", {"id", "signature"}},
    {"shapes", {"id", "key"}},
    {"runs", {"id", "hardware_id", "build_id", "started", "args"}},
    {"measurements", {"id", "run_id", "shape_id", "hardware_id", "build_id"}},
    {"winners", {"hardware_id", "build_id", "shape_id", "device", "precision", "median_ms"}},
};

/* Source id -> output id, appended in increasing source id order (inputs are read ORDER BY id). */
typedef struct idmap {
    int64_t *src, *dst;
    bool *added; /* runs: inserted by this merge, so their measurements follow */
    size_t n, cap;
} idmap;

static bool idmap_put(idmap *m, int64_t src, int64_t dst, bool added)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        int64_t *s = realloc(m->src, cap * sizeof *s);
        if (s) m->src = s;
        int64_t *d = realloc(m->dst, cap * sizeof *d);
        if (d) m->dst = d;
        bool *a = realloc(m->added, cap * sizeof *a);
        if (a) m->added = a;
        if (!s || !d || !a) return false;
        m->cap = cap;
    }
    m->src[m->n] = src;
    m->dst[m->n] = dst;
    m->added[m->n] = added;
    m->n++;
    return true;
}

/* Index of src in the map, or -1. */
static ptrdiff_t idmap_find(const idmap *m, int64_t src)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (m->src[mid] == src) return (ptrdiff_t)mid;
        if (m->src[mid] < src)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void idmap_free(idmap *m)
{
    free(m->src);
    free(m->dst);
    free(m->added);
    memset(m, 0, sizeof *m);
}

/* One merge: the output, the input being read, their id maps, what has been added so far, and where a
 * failure's reason goes. */
typedef struct merger {
    c1_store *out, *in;
    idmap hardware, builds, shapes, runs;
    c1_store_merge_counts *counts;
    char *error;
    size_t error_size;
} merger;

static bool fail(merger *m, sqlite3 *db, const char *what)
{
    snprintf(m->error, m->error_size, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return false;
}

/* True when db has a table of that name. */
static bool has_table(sqlite3 *db, const char *table, bool *yes)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    const int step = sqlite3_step(st);
    *yes = step == SQLITE_ROW;
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE;
}

/* True when `table` has `column` in db (the name is bound, never spliced). */
static bool has_column(sqlite3 *db, const char *table, const char *column, bool *yes)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    const int step = sqlite3_step(st);
    *yes = step == SQLITE_ROW;
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE;
}

bool c1_store_open_merge_input(c1_store *in, const char *path, char *msg, size_t size)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(msg, size, "cannot read input %s: %s.", path, strerror(errno));
        return false;
    }
    if (c1_store_open(in, path, false) != CONV1D_OK) {
        snprintf(msg, size, "input %s is not a usable conv1d-tune database: %s", path, conv1d_last_error());
        return false;
    }
    for (size_t t = 0; t < sizeof required / sizeof required[0]; t++) {
        bool exists = false;
        const bool read = has_table(in->db, required[t].table, &exists);
        if (!read || !exists) {
            if (!read)
                snprintf(msg, size, "input %s cannot be read: %s.", path, sqlite3_errmsg(in->db));
            else
                snprintf(msg, size, "input %s is not a conv1d-tune database: it has no table %s.", path,
                         required[t].table);
            c1_store_close(in);
            return false;
        }
        for (int c = 0; c < 6 && required[t].columns[c]; c++) {
            bool yes = false;
            if (!has_column(in->db, required[t].table, required[t].columns[c], &yes)) {
                snprintf(msg, size, "input %s cannot be read: %s.", path, sqlite3_errmsg(in->db));
                c1_store_close(in);
                return false;
            }
            if (!yes) {
                snprintf(msg, size, "input %s is not a conv1d-tune database: it has no column %s.%s.", path,
                         required[t].table, required[t].columns[c]);
                c1_store_close(in);
                return false;
            }
        }
    }
    return true;
}

/*
 * Copying one table: the columns the output's table and the input's share, in the output's order, read from
 * the input as "SELECT rowid, cols... ORDER BY rowid" and written as "INSERT INTO table (cols...) VALUES
 * (?1...)". Column names come from the output's own schema and are quoted as identifiers; every value is
 * bound.
 */
#define MAX_COLS 64
typedef struct copier {
    const char *table;
    int ncols;
    char *names[MAX_COLS];
    idmap *remap[MAX_COLS]; /* foreign keys: the map that translates the column, else NULL */
    sqlite3_stmt *select, *insert;
} copier;

static void copier_free(copier *c)
{
    for (int i = 0; i < c->ncols; i++) free(c->names[i]);
    sqlite3_finalize(c->select);
    sqlite3_finalize(c->insert);
    memset(c, 0, sizeof *c);
}

/* Appends "name" as a quoted SQL identifier. */
static bool append_ident(char *buf, size_t size, size_t *len, const char *name)
{
    if (*len + 2 * strlen(name) + 4 >= size) return false;
    buf[(*len)++] = '"';
    for (; *name; name++) {
        if (*name == '"') buf[(*len)++] = '"';
        buf[(*len)++] = *name;
    }
    buf[(*len)++] = '"';
    buf[*len] = '\0';
    return true;
}

static bool append(char *buf, size_t size, size_t *len, const char *text)
{
    const size_t n = strlen(text);
    if (*len + n + 1 >= size) return false;
    memcpy(buf + *len, text, n + 1);
    *len += n;
    return true;
}

static idmap *fk_map(merger *m, const char *column)
{
    if (strcmp(column, "hardware_id") == 0) return &m->hardware;
    if (strcmp(column, "build_id") == 0) return &m->builds;
    if (strcmp(column, "shape_id") == 0) return &m->shapes;
    if (strcmp(column, "run_id") == 0) return &m->runs;
    return NULL;
}

static bool copier_init(merger *m, copier *c, const char *table, bool replace)
{
    memset(c, 0, sizeof *c);
    c->table = table;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->out->db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &st, NULL) !=
        SQLITE_OK)
        return fail(m, m->out->db, "reading the output's schema");
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        bool shared = false;
        /* The id is the output's own; everything else the input has too is copied. */
        if (!name || strcmp(name, "id") == 0) continue;
        if (!has_column(m->in->db, table, name, &shared)) {
            sqlite3_finalize(st);
            return fail(m, m->in->db, "reading the input's schema");
        }
        if (!shared) continue;
        if (c->ncols == MAX_COLS || !(c->names[c->ncols] = strdup(name))) {
            sqlite3_finalize(st);
            snprintf(m->error, m->error_size, "table %s has too many columns to merge", table);
            return false;
        }
        c->remap[c->ncols] = fk_map(m, name);
        c->ncols++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) return fail(m, m->out->db, "reading the output's schema");

    char sel[4096], ins[4096];
    size_t ls = 0, li = 0;
    bool ok = append(sel, sizeof sel, &ls, "SELECT rowid") &&
              append(ins, sizeof ins, &li, replace ? "INSERT OR REPLACE INTO " : "INSERT INTO ") &&
              append_ident(ins, sizeof ins, &li, table) && append(ins, sizeof ins, &li, " (");
    for (int i = 0; ok && i < c->ncols; i++)
        ok = append(sel, sizeof sel, &ls, ", ") && append_ident(sel, sizeof sel, &ls, c->names[i]) &&
             (i == 0 || append(ins, sizeof ins, &li, ", ")) && append_ident(ins, sizeof ins, &li, c->names[i]);
    ok = ok && append(sel, sizeof sel, &ls, " FROM ") && append_ident(sel, sizeof sel, &ls, table) &&
         append(sel, sizeof sel, &ls, " ORDER BY rowid") && append(ins, sizeof ins, &li, ") VALUES (");
    for (int i = 0; ok && i < c->ncols; i++) {
        char p[16];
        snprintf(p, sizeof p, "%s?%d", i ? ", " : "", i + 1);
        ok = append(ins, sizeof ins, &li, p);
    }
    ok = ok && append(ins, sizeof ins, &li, ")");
    if (!ok) {
        snprintf(m->error, m->error_size, "table %s has too many columns to merge", table);
        return false;
    }
    if (sqlite3_prepare_v2(m->in->db, sel, -1, &c->select, NULL) != SQLITE_OK)
        return fail(m, m->in->db, "reading the input");
    if (sqlite3_prepare_v2(m->out->db, ins, -1, &c->insert, NULL) != SQLITE_OK)
        return fail(m, m->out->db, "preparing the output");
    return true;
}

/* Index of a copied column by name, or -1 (then the value is not available from the input row). */
static int copier_col(const copier *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->names[i], name) == 0) return i;
    return -1;
}

/* The input row's value of copied column i (select column i + 1, after the rowid). */
static sqlite3_value *src_value(const copier *c, int i) { return sqlite3_column_value(c->select, i + 1); }

/* The output id a foreign-key value maps to; false when it maps to nothing (NULL or a dangling id). */
static bool mapped(const copier *c, int i, int64_t *out, bool *added)
{
    if (sqlite3_column_type(c->select, i + 1) == SQLITE_NULL) return false;
    const ptrdiff_t k = idmap_find(c->remap[i], sqlite3_column_int64(c->select, i + 1));
    if (k < 0) return false;
    *out = c->remap[i]->dst[k];
    if (added) *added = c->remap[i]->added[k];
    return true;
}

/* Binds the current input row into the insert, foreign keys translated; false when one cannot be, except
 * column `nullable` (or -1), which is then bound as NULL. */
static bool bind_row(copier *c, int nullable)
{
    sqlite3_reset(c->insert);
    sqlite3_clear_bindings(c->insert);
    for (int i = 0; i < c->ncols; i++) {
        if (c->remap[i]) {
            int64_t id;
            if (mapped(c, i, &id, NULL))
                sqlite3_bind_int64(c->insert, i + 1, id);
            else if (sqlite3_column_type(c->select, i + 1) != SQLITE_NULL && i != nullable)
                return false;
        } else {
            sqlite3_bind_value(c->insert, i + 1, src_value(c, i));
        }
    }
    return true;
}

static bool insert_row(merger *m, copier *c, int64_t *id)
{
    if (sqlite3_step(c->insert) != SQLITE_DONE) return fail(m, m->out->db, "writing the output");
    if (id) *id = sqlite3_last_insert_rowid(m->out->db);
    return true;
}

/* Output id of the row whose `key_col` equals the input row's, or 0 when there is none. */
static bool lookup_by(merger *m, sqlite3_stmt *find, sqlite3_value *key, int64_t *id)
{
    sqlite3_reset(find);
    sqlite3_bind_value(find, 1, key);
    const int step = sqlite3_step(find);
    *id = step == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
    return step == SQLITE_ROW || step == SQLITE_DONE ? true : fail(m, m->out->db, "reading the output");
}

/* hardware, builds, shapes: matched by one unique key column; missing rows inserted. */
static bool merge_keyed(merger *m, const char *table, const char *key, const char *find_sql, idmap *map)
{
    copier c;
    sqlite3_stmt *find = NULL, *ceilings = NULL;
    bool ok = copier_init(m, &c, table, false);
    const int kcol = ok ? copier_col(&c, key) : -1;
    if (ok && kcol < 0) {
        snprintf(m->error, m->error_size, "table %s has no column %s", table, key);
        ok = false;
    }
    if (ok && sqlite3_prepare_v2(m->out->db, find_sql, -1, &find, NULL) != SQLITE_OK)
        ok = fail(m, m->out->db, "reading the output");
    /* A machine's ceilings may have been measured on only one side: fill the unknown ones. */
    const bool is_hw = strcmp(table, "hardware") == 0;
    const int ceil_col[4] = {is_hw ? copier_col(&c, "fma_gflops_1core") : -1,
                             is_hw ? copier_col(&c, "fma_gflops_all") : -1,
                             is_hw ? copier_col(&c, "copy_gbs_1core") : -1,
                             is_hw ? copier_col(&c, "copy_gbs_all") : -1};
    if (ok && is_hw && ceil_col[0] >= 0 && ceil_col[1] >= 0 && ceil_col[2] >= 0 && ceil_col[3] >= 0 &&
        sqlite3_prepare_v2(m->out->db,
                           "UPDATE hardware SET fma_gflops_1core = coalesce(fma_gflops_1core, ?2), "
                           "fma_gflops_all = coalesce(fma_gflops_all, ?3), "
                           "copy_gbs_1core = coalesce(copy_gbs_1core, ?4), copy_gbs_all = coalesce(copy_gbs_all, ?5) "
                           "WHERE id = ?1",
                           -1, &ceilings, NULL) != SQLITE_OK)
        ok = fail(m, m->out->db, "preparing the output");
    int step = SQLITE_DONE;
    while (ok && (step = sqlite3_step(c.select)) == SQLITE_ROW) {
        const int64_t src_id = sqlite3_column_int64(c.select, 0);
        int64_t id;
        ok = lookup_by(m, find, src_value(&c, kcol), &id);
        if (ok && id == 0) {
            ok = bind_row(&c, -1) && insert_row(m, &c, &id);
        } else if (ok && ceilings) {
            sqlite3_reset(ceilings);
            sqlite3_bind_int64(ceilings, 1, id);
            for (int k = 0; k < 4; k++) sqlite3_bind_value(ceilings, k + 2, src_value(&c, ceil_col[k]));
            if (sqlite3_step(ceilings) != SQLITE_DONE) ok = fail(m, m->out->db, "writing the output");
        }
        if (ok && !idmap_put(map, src_id, id, false)) ok = fail(m, NULL, "recording ids");
    }
    if (ok && step != SQLITE_DONE) ok = fail(m, m->in->db, "reading the input");
    sqlite3_finalize(find);
    sqlite3_finalize(ceilings);
    copier_free(&c);
    return ok;
}

/* Runs: matched by (hardware, build, started, args) after translating the ids. */
static bool merge_runs(merger *m)
{
    copier c;
    sqlite3_stmt *find = NULL;
    bool ok = copier_init(m, &c, "runs", false);
    const int hcol = copier_col(&c, "hardware_id"), bcol = copier_col(&c, "build_id"),
              scol = copier_col(&c, "started"), acol = copier_col(&c, "args");
    if (ok && (hcol < 0 || bcol < 0 || scol < 0 || acol < 0)) {
        snprintf(m->error, m->error_size, "table runs lacks a key column");
        ok = false;
    }
    if (ok && sqlite3_prepare_v2(m->out->db,
                                 "SELECT id FROM runs WHERE hardware_id = ?1 AND build_id = ?2 AND started IS ?3 "
                                 "AND args IS ?4",
                                 -1, &find, NULL) != SQLITE_OK)
        ok = fail(m, m->out->db, "reading the output");
    int step = SQLITE_DONE;
    while (ok && (step = sqlite3_step(c.select)) == SQLITE_ROW) {
        const int64_t src_id = sqlite3_column_int64(c.select, 0);
        int64_t hw, build, id = 0;
        /* A run whose machine or build is missing in its own file cannot be placed: skipped. */
        if (!mapped(&c, hcol, &hw, NULL) || !mapped(&c, bcol, &build, NULL)) continue;
        sqlite3_reset(find);
        sqlite3_bind_int64(find, 1, hw);
        sqlite3_bind_int64(find, 2, build);
        sqlite3_bind_value(find, 3, src_value(&c, scol));
        sqlite3_bind_value(find, 4, src_value(&c, acol));
        const int found = sqlite3_step(find);
        if (found == SQLITE_ROW)
            id = sqlite3_column_int64(find, 0);
        else if (found != SQLITE_DONE)
            ok = fail(m, m->out->db, "reading the output");
        const bool added = ok && id == 0;
        if (added && (ok = bind_row(&c, -1) && insert_row(m, &c, &id))) m->counts->runs++;
        if (ok && !idmap_put(&m->runs, src_id, id, added)) ok = fail(m, NULL, "recording ids");
    }
    if (ok && step != SQLITE_DONE) ok = fail(m, m->in->db, "reading the input");
    sqlite3_finalize(find);
    copier_free(&c);
    return ok;
}

/* Measurements follow their runs: only those of runs this merge added are copied. */
static bool merge_measurements(merger *m)
{
    copier c;
    bool ok = copier_init(m, &c, "measurements", false);
    const int rcol = copier_col(&c, "run_id");
    if (ok && rcol < 0) {
        snprintf(m->error, m->error_size, "table measurements has no column run_id");
        ok = false;
    }
    int step = SQLITE_DONE;
    while (ok && (step = sqlite3_step(c.select)) == SQLITE_ROW) {
        int64_t run;
        bool added = false;
        if (!mapped(&c, rcol, &run, &added) || !added || !bind_row(&c, -1)) continue;
        if ((ok = insert_row(m, &c, NULL))) m->counts->measurements++;
    }
    if (ok && step != SQLITE_DONE) ok = fail(m, m->in->db, "reading the input");
    copier_free(&c);
    return ok;
}

/* Winners: inserted when missing; on both sides the smaller median time stays. */
static bool merge_winners(merger *m)
{
    copier c;
    sqlite3_stmt *find = NULL;
    bool ok = copier_init(m, &c, "winners", true);
    const int hcol = copier_col(&c, "hardware_id"), bcol = copier_col(&c, "build_id"),
              scol = copier_col(&c, "shape_id"), dcol = copier_col(&c, "device"), pcol = copier_col(&c, "precision"),
              mcol = copier_col(&c, "median_ms");
    if (ok && (hcol < 0 || bcol < 0 || scol < 0 || dcol < 0 || pcol < 0 || mcol < 0)) {
        snprintf(m->error, m->error_size, "table winners lacks a key column");
        ok = false;
    }
    if (ok && sqlite3_prepare_v2(m->out->db,
                                 "SELECT median_ms FROM winners WHERE hardware_id = ?1 AND build_id = ?2 AND "
                                 "shape_id = ?3 AND device = ?4 AND precision = ?5",
                                 -1, &find, NULL) != SQLITE_OK)
        ok = fail(m, m->out->db, "reading the output");
    int step = SQLITE_DONE;
    while (ok && (step = sqlite3_step(c.select)) == SQLITE_ROW) {
        int64_t hw, build, shape;
        if (!mapped(&c, hcol, &hw, NULL) || !mapped(&c, bcol, &build, NULL) || !mapped(&c, scol, &shape, NULL))
            continue;
        sqlite3_reset(find);
        sqlite3_bind_int64(find, 1, hw);
        sqlite3_bind_int64(find, 2, build);
        sqlite3_bind_int64(find, 3, shape);
        sqlite3_bind_value(find, 4, src_value(&c, dcol));
        sqlite3_bind_value(find, 5, src_value(&c, pcol));
        const int found = sqlite3_step(find);
        bool replace = false;
        if (found == SQLITE_ROW) {
            const bool theirs_known = sqlite3_column_type(c.select, mcol + 1) != SQLITE_NULL;
            const bool ours_known = sqlite3_column_type(find, 0) != SQLITE_NULL;
            replace = theirs_known &&
                      (!ours_known || sqlite3_column_double(c.select, mcol + 1) < sqlite3_column_double(find, 0));
            if (!replace) continue;
        } else if (found != SQLITE_DONE) {
            ok = fail(m, m->out->db, "reading the output");
            break;
        }
        sqlite3_reset(find); /* release the read before writing the same rows */
        /* A winner whose run is missing from its file keeps no run rather than being dropped. */
        if (!bind_row(&c, copier_col(&c, "run_id"))) continue;
        if ((ok = insert_row(m, &c, NULL))) {
            m->counts->winners++;
            m->counts->winners_replaced += replace;
        }
    }
    if (ok && step != SQLITE_DONE) ok = fail(m, m->in->db, "reading the input");
    sqlite3_finalize(find);
    copier_free(&c);
    return ok;
}

bool c1_store_merge(c1_store *out, c1_store *in, c1_store_merge_counts *counts, char *msg, size_t size)
{
    merger mm = {.out = out, .in = in, .counts = counts, .error = msg, .error_size = size}, *m = &mm;
    bool ok = merge_keyed(m, "hardware", "fingerprint", "SELECT id FROM hardware WHERE fingerprint = ?1",
                          &m->hardware) &&
              merge_keyed(m, "builds", "signature", "SELECT id FROM builds WHERE signature = ?1", &m->builds) &&
              merge_keyed(m, "shapes", "key", "SELECT id FROM shapes WHERE key = ?1", &m->shapes) &&
              merge_runs(m) && merge_measurements(m) && merge_winners(m);
    idmap_free(&m->hardware);
    idmap_free(&m->builds);
    idmap_free(&m->shapes);
    idmap_free(&m->runs);
    return ok;
}
