/*
 * FFTW's planner lock and the wisdom cache of the FFT family (fft.h says where the file lives and what is
 * promised about it).
 *
 * FFTW keeps its planner state (wisdom, twiddle tables, the solver registry) in globals without locks, so plan
 * creation, plan destruction and wisdom import/export are serialised here; fftwf_execute_* on an existing plan is
 * thread-safe and needs no lock. The file is checked against the exact shape FFTW writes (wisdom_text_ok: FFTW's
 * reader aborts on some well-formed but out-of-range entries) and only then handed to
 * fftwf_import_wisdom_from_string, which leaves FFTW's wisdom unchanged when the text is malformed or was written
 * by another FFTW build (its signature of the solver set differs); wisdom that reads well but does not fit a
 * problem is caught by FFTW's planner, which forgets it and plans afresh. So nothing in the file can fail a plan,
 * only make planning take longer.
 */
#include <errno.h>
#include <fftw3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fft.h"
#include "isa.h"

/* A wisdom file larger than this is not FFTW's (a few KiB per hundred plans): it is not read. */
#define MAX_WISDOM_BYTES (16u << 20)

static pthread_mutex_t planner = PTHREAD_MUTEX_INITIALIZER;
static char path_buf[4096];     /* the path in effect (c1_fft_wisdom_path_locked) */
static char loaded_path[4096];  /* the path this process has read, "" for none yet */
static char *known;             /* the wisdom as last read or written, to tell whether it has grown */

void c1_fft_planner_lock(void) { pthread_mutex_lock(&planner); }
void c1_fft_planner_unlock(void) { pthread_mutex_unlock(&planner); }

const char *c1_fft_wisdom_path_locked(void)
{
    const char *env = getenv("CONV1D_FFTW_WISDOM");
    if (env) {
        if (!*env || strcmp(env, "off") == 0) return "";
        snprintf(path_buf, sizeof path_buf, "%s", env);
        return path_buf;
    }
    const char *fp = c1_cpu_key();
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    /* Beside the machine's measured peaks (harness/peaks.h), one file per CPU (c1_cpu_key): XDG_CACHE_HOME only
     * when absolute, as XDG says. */
    if (xdg && *xdg == '/')
        snprintf(path_buf, sizeof path_buf, "%s/conv1d-tune/fftwf-wisdom-%s.txt", xdg, *fp ? fp : "unknown");
    else if (home && *home)
        snprintf(path_buf, sizeof path_buf, "%s/.cache/conv1d-tune/fftwf-wisdom-%s.txt", home, *fp ? fp : "unknown");
    else
        return "";
    return path_buf;
}

/* The whole file as a NUL-terminated string, or NULL (missing, unreadable, a directory, too large). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (unsigned long long)st.st_size <= MAX_WISDOM_BYTES) {
        text = malloc((size_t)st.st_size + 1);
        if (text) {
            const size_t n = fread(text, 1, (size_t)st.st_size, f);
            text[n] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* Reads "#x" and 1-8 hex digits at *p into *v, advancing *p; false when not there. */
static bool hex_field(const char **p, unsigned long *v)
{
    const char *s = *p;
    if (s[0] != '#' || s[1] != 'x') return false;
    s += 2;
    unsigned long x = 0;
    int n = 0;
    for (; n < 9 && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')); n++, s++)
        x = x * 16 + (unsigned long)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
    if (n < 1 || n > 8) return false;
    *v = x;
    *p = s;
    return true;
}

/*
 * Whether text is exactly what fftwf_export_wisdom writes: the line "(fftw-<version> fftwf_wisdom" and four
 * signature words, one line per solution "  (<solver> <id> #x<l> #x<u> #x<timelimit> #x<md5> x4)", and ")".
 * FFTW's reader rejects most malformed wisdom gracefully but aborts (a CK assertion, even in release builds) on a
 * well-formed entry whose flags do not fit its bit fields (l and u 20 bits, the time limit 9), so such text,
 * and anything else out of this shape, is never handed to it.
 */
static bool wisdom_text_ok(const char *s)
{
    static const char head[] = "(fftw-";
    if (strncmp(s, head, sizeof head - 1) != 0) return false;
    s += sizeof head - 1;
    while ((*s >= '0' && *s <= '9') || *s == '.' || (*s >= 'a' && *s <= 'z') || *s == '-') s++; /* the version */
    static const char prec[] = " fftwf_wisdom";
    if (strncmp(s, prec, sizeof prec - 1) != 0) return false; /* another precision's wisdom */
    s += sizeof prec - 1;
    unsigned long v;
    for (int i = 0; i < 4; i++)
        if (*s++ != ' ' || !hex_field(&s, &v)) return false;
    if (*s++ != '\n') return false;
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ')') break;
        if (*s++ != '(') return false;
        int n = 0;
        for (; n < 64 && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_');
             n++)
            s++;
        if (n < 1 || n >= 64 || *s++ != ' ') return false;
        n = 0;
        for (; n < 7 && *s >= '0' && *s <= '9'; n++) s++;
        if (n < 1 || n > 6) return false;
        static const unsigned long limit[7] = {1ul << 20, 1ul << 20, 1ul << 9, ~0ul, ~0ul, ~0ul, ~0ul};
        for (int i = 0; i < 7; i++)
            if (*s++ != ' ' || !hex_field(&s, &v) || (limit[i] != ~0ul && v >= limit[i])) return false;
        if (*s++ != ')' || *s++ != '\n') return false;
    }
    s++;
    while (*s == '\n' || *s == ' ') s++;
    return *s == '\0';
}

/* Merges the file's wisdom into FFTW's when it has FFTW's exact shape (wisdom_text_ok); FFTW itself then rejects
 * another build's wisdom (its signature of the solver set differs) and leaves its wisdom unchanged when it does. */
static void import_file(const char *path)
{
    char *text = read_file(path);
    if (!text) return;
    if (wisdom_text_ok(text)) (void)fftwf_import_wisdom_from_string(text);
    free(text);
}

void c1_fft_wisdom_load_locked(void)
{
    const char *path = c1_fft_wisdom_path_locked();
    if (!*path || strcmp(path, loaded_path) == 0) return;
    snprintf(loaded_path, sizeof loaded_path, "%s", path);
    import_file(path);
    free(known);
    known = fftwf_export_wisdom_to_string();
}

/* mkdir -p of the file's folder; failures show up later as a failed write, which is ignored. */
static void make_parents(const char *path)
{
    char dir[sizeof path_buf];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return;
        *p = '/';
    }
}

void c1_fft_wisdom_save_locked(void)
{
    const char *path = c1_fft_wisdom_path_locked();
    if (!*path) return;
    char *now = fftwf_export_wisdom_to_string();
    if (!now) return;
    if (known && strcmp(now, known) == 0) {
        free(now);
        return;
    }
    free(now);
    /* Another process may have written the file since: take its wisdom too, then write the union. */
    import_file(path);
    char *text = fftwf_export_wisdom_to_string();
    if (!text) return;
    make_parents(path);
    char tmp[sizeof path_buf + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    if (f) {
        const size_t n = strlen(text);
        ok = fwrite(text, 1, n, f) == n;
        ok = fclose(f) == 0 && ok;
    }
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok && f) unlink(tmp);
    free(known);
    known = text; /* even after a failed write: the next plan does not try again for the same wisdom */
}

void c1_fft_wisdom_reset(void)
{
    c1_fft_planner_lock();
    fftwf_forget_wisdom();
    loaded_path[0] = '\0';
    free(known);
    known = NULL;
    c1_fft_planner_unlock();
}
