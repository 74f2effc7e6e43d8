/*
 * libFuzzer target: opening a results database that may be anything (truncated, corrupt, hostile: huge
 * page counts, loops in the b-tree, a future schema version, odd column types) read-only, as the runtime
 * does, then the winner lookup, the winners as `winners`, `export` and `diff` read them (the all_winners view
 * or, in an older file, its text), and the checks `merge` makes of an input.
 *
 * Property: every outcome is a status and a message, never a crash, a hang or a sanitizer report. SQLite's
 * own defences are enabled as an application should when reading untrusted files
 * (SQLITE_DBCONFIG_DEFENSIVE, cell size checks, a memory limit), so this also checks that store.c does not
 * trust what it reads (NULL text, wrong types, over-long names).
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char path[64];

static void remove_files(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char aux[80];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(aux, sizeof aux, "%s%s", path, suffixes[i]);
        unlink(aux);
    }
}

static void run_query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return;
    /* A bounded number of rows: a corrupt file may describe an enormous table. */
    for (int rows = 0; rows < 1000 && sqlite3_step(st) == SQLITE_ROW; rows++)
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            if (t) (void)strlen((const char *)t);
        }
    sqlite3_finalize(st);
}

static int progress_stop(void *calls)
{
    /* Stops a query after about 10^7 virtual machine steps, so a crafted file cannot make one run forever. */
    return ++*(int *)calls > 10000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!*path) {
        snprintf(path, sizeof path, "/tmp/fuzz_store.%d.db", (int)getpid());
        sqlite3_soft_heap_limit64(64 << 20);
        sqlite3_hard_heap_limit64(256 << 20);
    }
    /* A journal left by the previous input must not be replayed into this one. */
    remove_files();
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    c1_store s;
    if (c1_store_open_wait(&s, path, false, 0) != CONV1D_OK) {
        const char *msg = conv1d_last_error();
        if (!msg || !*msg) abort();
        remove_files();
        return 0;
    }
    sqlite3_db_config(s.db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_exec(s.db, "PRAGMA cell_size_check = ON", NULL, NULL, NULL);
    int calls = 0;
    sqlite3_progress_handler(s.db, 1000, progress_stop, &calls);

    char variant[128], text_fp[256] = "fp", text_sig[256] = "sig";
    const char *key = "batch=1,length=16,in_channels=2,out_channels=2,kernel_size=3,stride=1,pad_left=0,"
                      "pad_right=0,dilation=1,num_groups=1,bias=0,layout=nwc";
    (void)c1_store_find_winner(&s, "fp", "sig", key, "cpu", "fp32", variant, sizeof variant);
    /* The lookup again with the keys of a winner the file holds, so that the found path runs too (with
     * whatever the file stores as the variant name: NULL, a blob, a very long text). */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s.db, "SELECT h.fingerprint, b.signature, sh.key, w.device, w.precision FROM winners w "
                                 "JOIN hardware h ON h.id = w.hardware_id JOIN builds b ON b.id = w.build_id "
                                 "JOIN shapes sh ON sh.id = w.shape_id LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        char text[5][256];
        for (int c = 0; c < 5; c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            snprintf(text[c], sizeof text[c], "%s", t ? (const char *)t : "");
        }
        (void)c1_store_find_winner(&s, text[0], text[1], text[2], text[3], text[4], variant, sizeof variant);
        (void)c1_store_find_winner(&s, text[0], text[1], text[2], text[3], text[4], variant, 1);
        snprintf(text_fp, sizeof text_fp, "%s", text[0]);
        snprintf(text_sig, sizeof text_sig, "%s", text[1]);
    }
    sqlite3_finalize(st);
    const c1_store_winner_query queries[] = {
        {.with_stale = true},                  /* winners --all */
        {.fingerprint = text_fp},              /* winners */
        {.fingerprint = text_fp, .signature = text_sig}, /* export */
        {.latest_per_key = true},              /* diff */
    };
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        c1_store_winner_row *rows = NULL;
        size_t n = 0;
        calls = 0;
        if (c1_store_load_winners(&s, &queries[q], &rows, &n) == CONV1D_OK) {
            for (size_t i = 0; i < n; i++)
                if (!rows[i].key || !rows[i].variant || !rows[i].fingerprint) abort();
            c1_store_free_winners(rows, n);
        } else if (!*conv1d_last_error()) {
            abort();
        }
    }
    calls = 0;
    run_query(s.db, "SELECT variant, status, median_ms, message FROM measurements ORDER BY shape_id, variant");
    calls = 0;
    run_query(s.db, "SELECT id, status, args FROM runs ORDER BY id DESC LIMIT 5");
    calls = 0;
    run_query(s.db, "PRAGMA quick_check");
    c1_store_close(&s);
    /* merge's checks of an input: a reason for every refusal. */
    char msg[1400] = "";
    if (c1_store_open_merge_input(&s, path, msg, sizeof msg))
        c1_store_close(&s);
    else if (!*msg)
        abort();
    remove_files();
    return 0;
}
