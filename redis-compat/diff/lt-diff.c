/*
 * lt-diff.c: differential tests of longtail-server against redis-server 7.0.15.
 *
 * Each session starts both servers afresh (net.c) and sends every command to
 * both, one at a time, so that in cold mode (longtail with --maxmemory 1)
 * every command reads its keys back from RocksDB. Replies are compared by the
 * comparator reply.c picks for the command: byte for byte unless the command
 * is non-deterministic by nature.
 *
 *   --scripts: command scripts (script.c); every mismatch is reported and the
 *     script goes on; a fresh pair of servers per script file and mode.
 *   --random: a generated sequence (gen.c); the first mismatch ends the run
 *     and is reduced to a minimal reproducer by delta debugging: subsets of
 *     the commands before it are replayed on fresh servers while the
 *     mismatch persists, within a time budget.
 *
 * Counting: a test is one script file, or one random sequence, in one mode
 * and protocol, on a fresh pair of servers; it passes when every reply
 * compared was the same and both servers started and stopped cleanly. Its
 * checks are the reply comparisons (every compared command; a state check
 * counts as one; directives and commands that get no reply count as none)
 * and one other check: the pair of servers started, and neither crashed.
 * Output ends with "lt-diff: checks: ..." and "lt-diff: N passed, N failed"
 * counting tests.
 *
 * Temp dirs: one root per run (mkdtemp under $TMPDIR), one directory per
 * server below it. Removed at the end when everything passed; kept, with the
 * server logs and reproducers, otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

/* ---- options ----------------------------------------------------------------- */

static struct {
    const char *bins[2];
    int modes;           /* bit 0 hot, bit 1 cold */
    int resps;           /* random runs: bit 0 RESP2, bit 1 RESP3 */
    int script_resps;    /* script runs: the same, for the protocol a script starts in */
    int timeout_ms;      /* per reply */
    double repro_budget; /* per reproducer */
    double repro_total;  /* all reproducers of this invocation */
    int minimize_scripts;
    int keep;
    int verbose;
    int flaky; /* reproducer trials: any mismatch counts, up to this many tries */
    char root[512];
} opt = {
    .bins = {"redis-server", NULL},
    .modes = 3,
    .resps = 3,
    .timeout_ms = 10000,
    .script_resps = 1,
    .repro_budget = 60,
    .repro_total = 90,
};

static double repro_spent;

static int n_tests_passed, n_tests_failed;
static long n_replies, n_others, n_checks_failed; /* checks of every test */
static int keep_root; /* something failed: leave the temp root in place */

static const char *const redis_args[] = {
    "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", NULL};
static const char *const lt_hot_args[] = {"--enable-debug-command", "yes", NULL};
static const char *const lt_cold_args[] = {"--enable-debug-command", "yes", "--maxmemory", "1",
                                           NULL};

static const char *mode_name(int mode)
{
    return mode ? "cold" : "hot";
}

/* ---- sessions: a started pair of servers and their connections -------------- */

typedef struct session {
    dserver srv[2];
    dconn conn[2]; /* the command connections */
    dconn chk[2];  /* RESP2 connections of the state check */
    int mode, resp;
    int proto; /* protocol of the command connections now (HELLO, RESET, QUIT change it) */
    int started;
} session;

/* What went wrong at one item. */
typedef struct mismatch {
    item cmd;     /* the command whose replies differ (a copy) */
    int check_db; /* the database, when found by a state check; else -1 */
    int broken;   /* a connection failed: the session cannot go on */
    char type0;   /* first byte of redis's reply to the last command run */
    dbuf reply[2];
    dbuf why;
} mismatch;

static void mismatch_reset(mismatch *m)
{
    item_free(&m->cmd);
    for (int i = 0; i < 2; i++)
        dbuf_clear(&m->reply[i]);
    dbuf_clear(&m->why);
    m->check_db = -1;
    m->broken = 0;
}

static void mismatch_free(mismatch *m)
{
    item_free(&m->cmd);
    for (int i = 0; i < 2; i++)
        dbuf_free(&m->reply[i]);
    dbuf_free(&m->why);
}

static int conns_open(session *s)
{
    for (int i = 0; i < 2; i++) {
        if (dconn_open(&s->conn[i], s->srv[i].port, opt.timeout_ms) < 0 ||
            dconn_open(&s->chk[i], s->srv[i].port, opt.timeout_ms) < 0)
            return -1;
    }
    return 0;
}

static void conns_close(session *s)
{
    for (int i = 0; i < 2; i++) {
        dconn_close(&s->conn[i]);
        dconn_close(&s->chk[i]);
    }
}

/* Start a fresh pair. On failure the reason is printed and -1 returned. */
static int session_open(session *s, int mode, int resp)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->resp = resp;
    s->proto = resp;
    const char *const *extra[2] = {redis_args, mode ? lt_cold_args : lt_hot_args};
    dbuf err = {0};
    if (dserver_start_pair(s->srv, opt.bins, extra, opt.root, &err) < 0) {
        printf("lt-diff: could not start the servers (%s mode):\n%s", mode_name(mode),
               err.p ? err.p : "");
        dbuf_free(&err);
        return -1;
    }
    dbuf_free(&err);
    s->started = 1;
    if (conns_open(s) < 0) {
        printf("lt-diff: could not connect to the servers\n");
        return -1;
    }
    if (resp == 3) {
        dbuf out = {0};
        for (int i = 0; i < 2; i++) {
            if (dconn_callv(&s->conn[i], &out, opt.timeout_ms, "HELLO", "3", NULL) != 0 ||
                out.len == 0 || out.p[0] != '%') {
                printf("lt-diff: %s does not accept HELLO 3: ", s->srv[i].label);
                dbuf b = {0};
                reply_print(&b, out.p ? out.p : "", out.len, 300);
                printf("%s\n", b.p ? b.p : "");
                dbuf_free(&b);
                dbuf_free(&out);
                return -1;
            }
        }
        dbuf_free(&out);
    }
    return 0;
}

/*
 * Stop both servers. A server that died on its own, or did not exit cleanly
 * on SIGTERM, is reported and counted as a failure. "keep" leaves the
 * directories in place.
 */
static int session_close(session *s, int keep, int quiet)
{
    conns_close(s);
    int bad = 0;
    for (int i = 0; i < 2 && s->started; i++) {
        int alive = dserver_alive(&s->srv[i]);
        int st = alive ? dserver_stop(&s->srv[i]) : -1;
        int clean = alive && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
                              (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
        if (!clean) {
            bad = 1;
            if (!quiet) {
                if (!alive)
                    printf("lt-diff: %s died during the session\n", s->srv[i].label);
                else if (WIFSIGNALED(st))
                    printf("lt-diff: %s was killed by signal %d on shutdown\n", s->srv[i].label,
                           WTERMSIG(st));
                else
                    printf("lt-diff: %s exited with status %d on shutdown\n", s->srv[i].label,
                           WEXITSTATUS(st));
                dbuf b = {0};
                dserver_log_tail(&s->srv[i], &b, 20);
                fputs(b.p ? b.p : "", stdout);
                dbuf_free(&b);
            }
        }
    }
    if (bad)
        keep = 1;
    for (int i = 0; i < 2 && s->started; i++)
        if (!keep && !opt.keep)
            rm_tree(s->srv[i].root);
    s->started = 0;
    return bad ? -1 : 0;
}

/* ---- running one item ------------------------------------------------------- */

enum { RUN_OK = 0, RUN_DIFF = 1, RUN_SKIP = 2 };

/* Send "it" on conns[0] and conns[1], compare. RUN_OK, RUN_DIFF or RUN_SKIP (no reply). */
static int exec_cmd(dconn *conns[2], const item *it, mismatch *mm)
{
    int expect[2], rc[2];
    dbuf r[2] = {{0}, {0}};
    for (int i = 0; i < 2; i++)
        rc[i] = dconn_send(conns[i], it->argc, it->argv, it->lens, &expect[i]) < 0 ? -1 : 0;
    for (int i = 0; i < 2; i++)
        if (rc[i] == 0)
            rc[i] = expect[i] ? dconn_read(conns[i], &r[i], opt.timeout_ms) : 1;
    int res;
    dbuf why = {0};
    mm->type0 = rc[0] == 0 && r[0].len ? r[0].p[0] : 0;
    if (rc[0] == 1 && rc[1] == 1) {
        res = RUN_SKIP;
    } else if (rc[0] != 0 || rc[1] != 0) {
        static const char *what[] = {"connection closed", "no reply (timeout)", "malformed RESP"};
        for (int i = 0; i < 2; i++)
            if (rc[i] < 0)
                dbuf_printf(&why, "%s%s: %s", why.len ? "; " : "", i ? "longtail" : "redis",
                            what[-rc[i] - 1]);
        if (!why.len)
            dbuf_puts(&why, "one server answered, the other did not");
        res = RUN_DIFF;
        mm->broken = 1;
    } else {
        cmp_ctx ctx = {{conns[0], conns[1]}, opt.timeout_ms};
        int c = cmp_replies(&ctx, it, r, &why);
        if (c < 0)
            mm->broken = 1;
        res = c == 0 ? RUN_OK : RUN_DIFF;
    }
    if (res == RUN_DIFF) {
        item_free(&mm->cmd);
        mm->cmd = item_copy(it);
        for (int i = 0; i < 2; i++) {
            dbuf_clear(&mm->reply[i]);
            dbuf_add(&mm->reply[i], r[i].p ? r[i].p : "", r[i].len);
        }
        dbuf_clear(&mm->why);
        dbuf_add(&mm->why, why.p ? why.p : "", why.len);
    }
    dbuf_free(&why);
    dbuf_free(&r[0]);
    dbuf_free(&r[1]);
    return res;
}

static int exec_argv(dconn *conns[2], int cmp, mismatch *mm, int argc, const char *const *argv,
                     const size_t *lens)
{
    item it = item_cmd(cmp, argc, argv, lens);
    int rc = exec_cmd(conns, &it, mm);
    item_free(&it);
    return rc;
}

typedef struct keyset {
    size_t n, cap;
    char **k;
    size_t *len;
} keyset;

static int key_cmp(const keyset *ks, size_t a, size_t b)
{
    size_t m = ks->len[a] < ks->len[b] ? ks->len[a] : ks->len[b];
    int c = memcmp(ks->k[a], ks->k[b], m);
    return c ? c : (ks->len[a] > ks->len[b]) - (ks->len[a] < ks->len[b]);
}

static void keyset_add_reply(keyset *ks, const dbuf *reply)
{
    rnode r;
    if (rnode_parse(reply->p, reply->len, &r) == 0) {
        for (size_t i = 0; i < r.nchild; i++) {
            if (r.child[i].type != '$')
                continue;
            if (ks->n == ks->cap) {
                ks->cap = ks->cap ? ks->cap * 2 : 32;
                ks->k = xrealloc(ks->k, sizeof(char *) * ks->cap);
                ks->len = xrealloc(ks->len, sizeof(size_t) * ks->cap);
            }
            ks->k[ks->n] = xmalloc(r.child[i].slen + 1);
            memcpy(ks->k[ks->n], r.child[i].s, r.child[i].slen);
            ks->len[ks->n++] = r.child[i].slen;
        }
    }
    rnode_free(&r);
}

/* Sort and drop duplicates (simple insertion sort: a few dozen keys). */
static void keyset_normalize(keyset *ks)
{
    for (size_t i = 1; i < ks->n; i++)
        for (size_t j = i; j > 0 && key_cmp(ks, j - 1, j) > 0; j--) {
            char *tk = ks->k[j];
            size_t tl = ks->len[j];
            ks->k[j] = ks->k[j - 1];
            ks->len[j] = ks->len[j - 1];
            ks->k[j - 1] = tk;
            ks->len[j - 1] = tl;
        }
    size_t u = 0;
    for (size_t i = 0; i < ks->n; i++) {
        if (u > 0 && key_cmp(ks, u - 1, i) == 0) {
            free(ks->k[i]);
            continue;
        }
        ks->k[u] = ks->k[i];
        ks->len[u++] = ks->len[i];
    }
    ks->n = u;
}

static void keyset_free(keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
    free(ks->len);
}

/*
 * The state check: per database of the generator, DBSIZE, KEYS * and, for
 * every key either server has, TYPE, the family's whole-value reader and
 * PEXPIRETIME. Runs on the RESP2 check connections so that the command
 * connection's database and protocol stay as they were.
 */
static int exec_check(session *s, mismatch *mm)
{
    dconn *c[2] = {&s->chk[0], &s->chk[1]};
    dbuf out[2] = {{0}, {0}};
    int rc = RUN_OK;
    for (int d = 0; d < gen_ndbs && rc == RUN_OK; d++) {
        char db[16];
        snprintf(db, sizeof(db), "%d", gen_dbs[d]);
        mm->check_db = gen_dbs[d];
        const char *sel[] = {"SELECT", db};
        if ((rc = exec_argv(c, CMP_BYTES, mm, 2, sel, NULL)) != RUN_OK)
            break;
        /* KEYS before DBSIZE: a wrong count with the right keys is a counting bug */
        const char *keys[] = {"KEYS", "*"};
        if ((rc = exec_argv(c, CMP_SORTED, mm, 2, keys, NULL)) != RUN_OK)
            break;
        const char *dbsize[] = {"DBSIZE"};
        if ((rc = exec_argv(c, CMP_BYTES, mm, 1, dbsize, NULL)) != RUN_OK)
            break;
        /* the key sets agree; read them once more to learn the names */
        keyset ks = {0};
        for (int i = 0; i < 2; i++) {
            if (dconn_callv(c[i], &out[i], opt.timeout_ms, "KEYS", "*", NULL) != 0) {
                rc = RUN_DIFF;
                mm->broken = 1;
                dbuf_printf(&mm->why, "state check: KEYS failed on %s", s->srv[i].label);
                break;
            }
            keyset_add_reply(&ks, &out[i]);
        }
        keyset_normalize(&ks);
        for (size_t k = 0; k < ks.n && rc == RUN_OK; k++) {
            const char *type[] = {"TYPE", ks.k[k]};
            size_t tl[] = {4, ks.len[k]};
            if ((rc = exec_argv(c, CMP_BYTES, mm, 2, type, tl)) != RUN_OK)
                break;
            if (dconn_call(c[0], 2, (char **)type, tl, &out[0], opt.timeout_ms) != 0 ||
                out[0].len < 3) {
                rc = RUN_DIFF;
                mm->broken = 1;
                break;
            }
            const char *reader = gen_state_reader(out[0].p + 1, out[0].len - 3);
            if (reader) {
                const char *argv[16];
                size_t lens[16];
                int argc = 0;
                char *copy = xstrdup(reader);
                for (char *sv = NULL, *w = strtok_r(copy, " ", &sv); w && argc < 16;
                     w = strtok_r(NULL, " ", &sv)) {
                    int is_key = strcmp(w, "%k") == 0;
                    argv[argc] = is_key ? ks.k[k] : w;
                    lens[argc++] = is_key ? ks.len[k] : strlen(w);
                }
                rc = exec_argv(c, CMP_DEFAULT, mm, argc, argv, lens);
                free(copy);
                if (rc != RUN_OK)
                    break;
            }
            const char *pt[] = {"PEXPIRETIME", ks.k[k]};
            size_t pl[] = {11, ks.len[k]};
            rc = exec_argv(c, CMP_TTL, mm, 2, pt, pl);
        }
        keyset_free(&ks);
    }
    if (rc == RUN_OK)
        mm->check_db = -1;
    dbuf_free(&out[0]);
    dbuf_free(&out[1]);
    return rc;
}

static int session_reconnect(session *s)
{
    for (int i = 0; i < 2; i++) {
        dconn_close(&s->conn[i]);
        if (dconn_open(&s->conn[i], s->srv[i].port, opt.timeout_ms) < 0)
            return -1;
    }
    return 0;
}

static int is_word(const item *it, int i, const char *w)
{
    return it->argc > i && strlen(w) == it->lens[i] &&
           strncasecmp(it->argv[i], w, it->lens[i]) == 0;
}

/* Run one item. RUN_OK, RUN_DIFF (details in "mm") or RUN_SKIP (nothing compared). */
static int exec_item(session *s, const item *it, mismatch *mm)
{
    dconn *c[2] = {&s->conn[0], &s->conn[1]};
    int rc;
    switch (it->kind) {
    case ITEM_CMD:
        rc = exec_cmd(c, it, mm);
        if (is_word(it, 0, "QUIT") && it->argc == 1) {
            s->proto = 2;
            if (!mm->broken && session_reconnect(s) < 0)
                mm->broken = 1;
        } else if (is_word(it, 0, "RESET") && it->argc == 1) {
            s->proto = 2;
        } else if (is_word(it, 0, "HELLO") && it->argc >= 2 && mm->type0 != '-' && mm->type0 != 0) {
            s->proto = it->argv[1][0] - '0';
        }
        return rc;
    case ITEM_RESP: {
        char proto[8];
        snprintf(proto, sizeof(proto), "%d", it->arg);
        const char *argv[] = {"HELLO", proto};
        rc = exec_argv(c, CMP_HELLO, mm, 2, argv, NULL);
        s->proto = it->arg;
        return rc;
    }
    case ITEM_FLUSHALL: {
        const char *argv[] = {"FLUSHALL"};
        rc = exec_argv(c, CMP_BYTES, mm, 1, argv, NULL);
        return rc == RUN_OK ? RUN_SKIP : rc;
    }
    case ITEM_SLEEP: {
        struct timespec ts = {it->arg / 1000, (long)(it->arg % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return RUN_SKIP;
    }
    case ITEM_CHECK:
        return exec_check(s, mm);
    case ITEM_RECONNECT:
        s->proto = 2;
        if (session_reconnect(s) < 0) {
            mm->broken = 1;
            dbuf_puts(&mm->why, "could not reconnect");
            return RUN_DIFF;
        }
        return RUN_SKIP;
    }
    return RUN_SKIP;
}

/* ---- printing ---------------------------------------------------------------- */

static void print_mismatch(const char *where, const session *s, const mismatch *mm)
{
    dbuf b = {0};
    dbuf_printf(&b, "MISMATCH %s [%s, resp%d]", where, mode_name(s->mode),
                mm->check_db >= 0 ? 2 : s->proto);
    if (mm->check_db >= 0)
        dbuf_printf(&b, " in the state check of db %d", mm->check_db);
    dbuf_puts(&b, "\n  command:  ");
    script_format_item(&b, &mm->cmd);
    dbuf_printf(&b, "\n  why:      %s\n", mm->why.p ? mm->why.p : "");
    for (int i = 0; i < 2; i++) {
        dbuf_printf(&b, "  %-9s ", i ? "longtail:" : "redis:");
        reply_print(&b, mm->reply[i].p ? mm->reply[i].p : "", mm->reply[i].len, 400);
        dbuf_puts(&b, "\n");
    }
    size_t n = mm->reply[0].len < mm->reply[1].len ? mm->reply[0].len : mm->reply[1].len, d = 0;
    while (d < n && mm->reply[0].p[d] == mm->reply[1].p[d])
        d++;
    if (mm->reply[0].len > 200 || mm->reply[1].len > 200) {
        dbuf_printf(&b, "  first difference at byte %zu: redis '", d);
        size_t from = d > 40 ? d - 40 : 0;
        for (int i = 0; i < 2; i++) {
            size_t end = d + 80 < mm->reply[i].len ? d + 80 : mm->reply[i].len;
            if (i)
                dbuf_puts(&b, "' longtail '");
            dbuf_escape(&b, mm->reply[i].p + from, end > from ? end - from : 0);
        }
        dbuf_puts(&b, "'\n");
    }
    fputs(b.p, stdout);
    fflush(stdout);
    dbuf_free(&b);
}

/* ---- scripts ------------------------------------------------------------------ */

static int minimize(const item_list *items, size_t fail_index, const mismatch *first, int mode,
                    int resp, const char *title);

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand directories into their *.txt files, sorted. */
static void collect_scripts(const char *path, char ***files, size_t *n)
{
    struct stat st;
    if (stat(path, &st) < 0)
        die("%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        *files = xrealloc(*files, sizeof(char *) * (*n + 1));
        (*files)[(*n)++] = xstrdup(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        die("%s: %s", path, strerror(errno));
    size_t start = *n;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        char *full = xmalloc(strlen(path) + len + 2);
        sprintf(full, "%s/%s", path, e->d_name);
        *files = xrealloc(*files, sizeof(char *) * (*n + 1));
        (*files)[(*n)++] = full;
    }
    closedir(d);
    qsort(*files + start, *n - start, sizeof(char *), str_cmp);
}

/* One test ended: "compared" reply comparisons of which "differ" failed, and
 * the servers' check ("servers_ok"). Counts it and prints its line. */
static void test_done(const char *name, long compared, long differ, int servers_ok, double secs)
{
    n_replies += compared;
    n_others++;
    n_checks_failed += differ + !servers_ok;
    long checks = compared + 1, failed = differ + !servers_ok;
    if (failed == 0 && compared > 0) {
        n_tests_passed++;
        printf("[ok] %s: %ld reply comparisons, 1 other check (%.1f s)\n", name, compared, secs);
    } else {
        n_tests_failed++;
        if (failed == 0)
            printf("[FAILED] %s: compared no reply (%.1f s)\n", name, secs);
        else
            printf("[FAILED] %s: %ld of %ld checks failed (%.1f s)\n", name, failed, checks, secs);
    }
    fflush(stdout);
}

/* The name of a test: the script's file name, mode and protocol. */
static void test_name(char *out, size_t n, const char *what, int mode, int resp)
{
    const char *base = strrchr(what, '/');
    snprintf(out, n, "%s [%s, resp%d]", base ? base + 1 : what, mode_name(mode), resp);
}

static void run_script(const char *path, const item_list *items, int mode, int resp)
{
    session s;
    double t0 = now_sec();
    char name[600];
    test_name(name, sizeof(name), path, mode, resp);
    if (session_open(&s, mode, resp) < 0) {
        session_close(&s, 1, 0);
        keep_root = 1;
        test_done(name, 0, 0, 0, now_sec() - t0);
        return;
    }
    long pass = 0, fail = 0;
    mismatch mm = {.check_db = -1};
    for (size_t i = 0; i < items->n; i++) {
        mismatch_reset(&mm);
        int rc = exec_item(&s, &items->v[i], &mm);
        if (rc == RUN_OK)
            pass++;
        if (rc == RUN_DIFF) {
            fail++;
            char where[600];
            snprintf(where, sizeof(where), "%s:%d", path, items->v[i].line);
            print_mismatch(where, &s, &mm);
            if (opt.minimize_scripts && !mm.broken)
                minimize(items, i, &mm, mode, resp, where);
            if (mm.broken) {
                printf("lt-diff: %s: connection lost, rest of the script skipped\n", path);
                break;
            }
        }
    }
    mismatch_free(&mm);
    int bad = session_close(&s, fail > 0, 0) < 0;
    if (fail || bad)
        keep_root = 1;
    test_done(name, pass + fail, fail, !bad, now_sec() - t0);
}

/* ---- delta debugging ------------------------------------------------------------ */

typedef struct trial_set {
    const item_list *items;
    const item *tail; /* the failing command(s), always run last */
    size_t ntail;
    int mode, resp;
    int want_broken; /* the original failure was a lost connection */
    long trials;
} trial_set;

/*
 * Run items[idx[0..n)] then the tail on fresh servers: 1 if the last tail item
 * still fails (with --flaky: if anything fails, in up to that many tries).
 */
static int trial_once(trial_set *t, const size_t *idx, size_t n)
{
    session s;
    t->trials++;
    int failed = 0;
    if (session_open(&s, t->mode, t->resp) == 0) {
        mismatch mm = {.check_db = -1};
        int broken = 0;
        for (size_t i = 0; i < n && !broken && !failed; i++) {
            mismatch_reset(&mm);
            int rc = exec_item(&s, &t->items->v[idx[i]], &mm);
            broken = mm.broken;
            failed = opt.flaky && rc == RUN_DIFF;
        }
        for (size_t i = 0; i < t->ntail && !broken && !failed; i++) {
            mismatch_reset(&mm);
            int rc = exec_item(&s, &t->tail[i], &mm);
            broken = mm.broken;
            if (i + 1 == t->ntail || opt.flaky)
                failed = rc == RUN_DIFF && (!t->want_broken || mm.broken);
        }
        mismatch_free(&mm);
    }
    session_close(&s, 0, 1);
    return failed;
}

static int trial(trial_set *t, const size_t *idx, size_t n)
{
    for (int i = 0; i < (opt.flaky > 1 ? opt.flaky : 1); i++)
        if (trial_once(t, idx, n))
            return 1;
    return 0;
}

/* Zeller's ddmin over "cur" (indices), bounded by the deadline. */
static size_t ddmin(trial_set *t, size_t *cur, size_t n, double deadline)
{
    size_t *cand = xmalloc(sizeof(size_t) * (n ? n : 1));
    size_t chunks = 2;
    while (n >= 1 && now_sec() < deadline) {
        if (chunks > n)
            chunks = n;
        int reduced = 0;
        for (size_t c = 0; c < chunks && !reduced && now_sec() < deadline; c++) {
            size_t lo = c * n / chunks, hi = (c + 1) * n / chunks;
            /* the complement: everything but chunk c */
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (i < lo || i >= hi)
                    cand[m++] = cur[i];
            if (trial(t, cand, m)) {
                memcpy(cur, cand, sizeof(size_t) * m);
                n = m;
                chunks = chunks > 2 ? chunks - 1 : 2;
                reduced = 1;
            }
        }
        if (!reduced) {
            if (chunks >= n)
                break;
            chunks = chunks * 2 < n ? chunks * 2 : n;
        }
    }
    free(cand);
    return n;
}

/*
 * Reduce items[0..fail_index) + the failing command to a short list that still
 * fails on fresh servers, print it in script syntax (and save it next to the
 * kept logs). Returns the number of commands in the reproducer, or -1.
 */
static int minimize(const item_list *items, size_t fail_index, const mismatch *first, int mode,
                    int resp, const char *title)
{
    double t0 = now_sec();
    double budget = opt.repro_budget;
    if (budget > opt.repro_total - repro_spent)
        budget = opt.repro_total - repro_spent;
    if (budget <= 0) {
        printf("lt-diff: reproducer budget (--repro-total %.0f s) spent: no reproducer\n",
               opt.repro_total);
        return -1;
    }
    double deadline = t0 + budget;
    item tail[2];
    size_t ntail = 0;
    if (first->check_db >= 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", first->check_db);
        const char *sel[] = {"SELECT", db};
        tail[ntail++] = item_cmd(CMP_DEFAULT, 2, sel, NULL);
    }
    tail[ntail++] = item_copy(&first->cmd);
    trial_set t = {.items = items,
                   .tail = tail,
                   .ntail = ntail,
                   .mode = mode,
                   .resp = resp,
                   .want_broken = first->broken};
    size_t *cur = xmalloc(sizeof(size_t) * (fail_index ? fail_index : 1));
    size_t n = 0;
    for (size_t i = 0; i < fail_index; i++)
        if (items->v[i].kind != ITEM_SLEEP)
            cur[n++] = i;
    printf("lt-diff: minimizing %zu commands before the mismatch (budget %.0f s)...\n", n, budget);
    fflush(stdout);
    int rc = -1;
    if (!trial(&t, cur, n)) {
        printf("lt-diff: the mismatch does not reproduce on fresh servers (timing or state "
               "outside the commands?); no reproducer\n");
    } else {
        n = ddmin(&t, cur, n, deadline);
        dbuf b = {0};
        dbuf_printf(&b,
                    "# lt-diff reproducer: %s; mode %s (longtail%s), %zu commands, "
                    "%ld trials, %.1f s%s\n",
                    title, mode_name(mode), mode ? " --maxmemory 1" : "", n + ntail, t.trials,
                    now_sec() - t0,
                    now_sec() >= deadline ? " (budget spent: may not be minimal)" : "");
        dbuf_printf(&b, "# run: lt-diff --mode %s --scripts FILE\n", mode_name(mode));
        if (resp == 3)
            dbuf_puts(&b, "@resp3\n");
        for (size_t i = 0; i < n; i++) {
            script_format_item(&b, &items->v[cur[i]]);
            dbuf_puts(&b, "\n");
        }
        for (size_t i = 0; i < ntail; i++) {
            script_format_item(&b, &tail[i]);
            dbuf_puts(&b, "\n");
        }
        printf("lt-diff: minimal reproducer:\n%s", b.p);
        char path[700];
        static int seq;
        snprintf(path, sizeof(path), "%s/repro-%d-%s-resp%d.txt", opt.root, ++seq, mode_name(mode),
                 resp);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(b.p, f);
            fclose(f);
            printf("lt-diff: saved as %s\n", path);
        }
        dbuf_free(&b);
        rc = (int)(n + ntail);
    }
    fflush(stdout);
    free(cur);
    for (size_t i = 0; i < ntail; i++)
        item_free(&tail[i]);
    repro_spent += now_sec() - t0;
    return rc;
}

/* ---- random runs ------------------------------------------------------------------ */

static void run_random(const item_list *items, uint64_t seed, int mode, int resp)
{
    session s;
    double t0 = now_sec();
    printf("lt-diff: random seed=%llu count=%zu items [%s, resp%d]\n", (unsigned long long)seed,
           items->n, mode_name(mode), resp);
    fflush(stdout);
    char what[64], name[128];
    snprintf(what, sizeof(what), "random seed=%llu", (unsigned long long)seed);
    test_name(name, sizeof(name), what, mode, resp);
    if (session_open(&s, mode, resp) < 0) {
        session_close(&s, 1, 0);
        keep_root = 1;
        test_done(name, 0, 0, 0, now_sec() - t0);
        return;
    }
    long pass = 0;
    mismatch mm = {.check_db = -1};
    size_t fail_at = items->n;
    for (size_t i = 0; i < items->n; i++) {
        mismatch_reset(&mm);
        int rc = exec_item(&s, &items->v[i], &mm);
        if (rc == RUN_OK)
            pass++;
        if (rc == RUN_DIFF) {
            fail_at = i;
            break;
        }
        if (opt.verbose && (i + 1) % 1000 == 0)
            printf("lt-diff:   %zu items, %.1f s\n", i + 1, now_sec() - t0);
    }
    int fail = fail_at < items->n;
    if (fail) {
        char where[200];
        snprintf(where, sizeof(where), "random seed=%llu index=%zu", (unsigned long long)seed,
                 fail_at);
        print_mismatch(where, &s, &mm);
    }
    int bad = session_close(&s, fail, 0) < 0;
    if (fail) {
        for (int i = 0; i < 2; i++)
            printf("lt-diff: %s's directory and log kept in %s\n", s.srv[i].label, s.srv[i].root);
        /* the other modes and protocols often fail at the same command: reduce once */
        static size_t last_fail = (size_t)-1;
        static int last_db = -2;
        if (fail_at == last_fail && mm.check_db == last_db) {
            printf("lt-diff: same command as the previous run's mismatch: see its reproducer "
                   "above\n");
        } else {
            char title[200];
            snprintf(title, sizeof(title), "seed %llu, index %zu, resp%d", (unsigned long long)seed,
                     fail_at, resp);
            minimize(items, fail_at, &mm, mode, resp, title);
        }
        last_fail = fail_at;
        last_db = mm.check_db;
    }
    mismatch_free(&mm);
    if (fail || bad)
        keep_root = 1;
    test_done(name, pass + fail, fail, !bad, now_sec() - t0);
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    dbuf fam = {0};
    gen_describe(&fam);
    fprintf(f,
            "usage: lt-diff [options] --scripts DIR|FILE... | --random [--seed S] [--count N]\n"
            "  --longtail PATH      longtail-server binary (default $LONGTAIL_SERVER,\n"
            "                       else ./longtail-server, else longtail-server in PATH)\n"
            "  --redis PATH         redis-server binary (default redis-server)\n"
            "  --mode hot|cold|both longtail's mode: cold = --maxmemory 1 (default both)\n"
            "  --resp 2|3|both      protocol of the random runs (default both)\n"
            "  --scripts-resp 2|3|both  protocol scripts start in (default 2; sections\n"
            "                       switch with @resp3/@resp2)\n"
            "  --scripts P...       run command scripts (directories: their *.txt)\n"
            "  --random             run a generated sequence\n"
            "  --seed S             seed of the random sequence (default 1)\n"
            "  --count N            commands in the random sequence (default 10000)\n"
            "  --check-every K      state check after every K commands (default 100)\n"
            "  --families LIST      switch families on (NAME, +NAME, -NAME, all)\n"
            "  --skip LIST          commands not to generate (\"GET,OBJECT ENCODING\")\n"
            "  --repro-time S       budget of one reproducer search (default 60)\n"
            "  --repro-total S      budget of all reproducer searches (default 90)\n"
            "  --minimize           also minimize script mismatches\n"
            "  --flaky N            reproducer search for timing-dependent mismatches: a\n"
            "                       trial fails on any mismatch, tried up to N times\n"
            "  --dump               print the random sequence as a script and exit\n"
            "  --timeout MS         how long to wait for one reply (default 10000)\n"
            "  --keep               keep the temp directories even when all passed\n"
            "  --verbose            progress lines\n"
            "Families of the generator:\n%s"
            "Output ends with the checks (reply comparisons, other checks) and\n"
            "lt-diff: N passed, N failed, counting tests: a script or random sequence\n"
            "in one mode and protocol.\n",
            fam.p);
    dbuf_free(&fam);
}

static int parse_modes(const char *v, int is_resp)
{
    if (strcmp(v, "both") == 0)
        return 3;
    if (is_resp)
        return strcmp(v, "2") == 0 ? 1 : strcmp(v, "3") == 0 ? 2 : -1;
    return strcmp(v, "hot") == 0 ? 1 : strcmp(v, "cold") == 0 ? 2 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char **paths = NULL;
    size_t npaths = 0;
    int random_mode = 0, dump = 0;
    gen_opts g = {.seed = 1, .count = 10000, .check_every = 100};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!v)                                                                                    \
            die("%s needs a value (see --help)", a);                                               \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--scripts") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                paths = xrealloc(paths, sizeof(char *) * (npaths + 1));
                paths[npaths++] = argv[++i];
            }
            if (npaths == 0)
                die("--scripts needs a directory or file");
        } else if (strcmp(a, "--random") == 0) {
            random_mode = 1;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            g.seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--count") == 0) {
            NEED_VALUE();
            g.count = atol(v);
        } else if (strcmp(a, "--check-every") == 0) {
            NEED_VALUE();
            g.check_every = atoi(v);
        } else if (strcmp(a, "--families") == 0) {
            NEED_VALUE();
            g.families = v;
        } else if (strcmp(a, "--skip") == 0) {
            NEED_VALUE();
            g.skip = v;
        } else if (strcmp(a, "--mode") == 0) {
            NEED_VALUE();
            if ((opt.modes = parse_modes(v, 0)) < 0)
                die("--mode hot|cold|both");
        } else if (strcmp(a, "--resp") == 0) {
            NEED_VALUE();
            if ((opt.resps = parse_modes(v, 1)) < 0)
                die("--resp 2|3|both");
        } else if (strcmp(a, "--scripts-resp") == 0) {
            NEED_VALUE();
            if ((opt.script_resps = parse_modes(v, 1)) < 0)
                die("--scripts-resp 2|3|both");
        } else if (strcmp(a, "--longtail") == 0) {
            NEED_VALUE();
            opt.bins[1] = v;
        } else if (strcmp(a, "--redis") == 0) {
            NEED_VALUE();
            opt.bins[0] = v;
        } else if (strcmp(a, "--repro-time") == 0) {
            NEED_VALUE();
            opt.repro_budget = atof(v);
        } else if (strcmp(a, "--repro-total") == 0) {
            NEED_VALUE();
            opt.repro_total = atof(v);
        } else if (strcmp(a, "--timeout") == 0) {
            NEED_VALUE();
            opt.timeout_ms = atoi(v);
        } else if (strcmp(a, "--dump") == 0) {
            dump = 1;
        } else if (strcmp(a, "--flaky") == 0) {
            NEED_VALUE();
            opt.flaky = atoi(v);
        } else if (strcmp(a, "--minimize") == 0) {
            opt.minimize_scripts = 1;
        } else if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            opt.verbose = 1;
        } else {
            usage(stderr);
            die("unknown option %s", a);
        }
    }
    if (dump) {
        item_list items = {0};
        dbuf err = {0}, b = {0};
        if (gen_sequence(&g, &items, &err) < 0)
            die("%s", err.p);
        for (size_t i = 0; i < items.n; i++) {
            dbuf_clear(&b);
            script_format_item(&b, &items.v[i]);
            printf("%s\n", b.p);
        }
        dbuf_free(&b);
        dbuf_free(&err);
        item_list_free(&items);
        return 0;
    }
    if (npaths == 0 && !random_mode) {
        usage(stderr);
        return 2;
    }
    if (!opt.bins[1]) {
        const char *env = getenv("LONGTAIL_SERVER");
        opt.bins[1] = env && *env                              ? env
                      : access("./longtail-server", X_OK) == 0 ? "./longtail-server"
                                                               : "longtail-server";
    }
    /* the servers run in their own directories: make relative binary paths absolute */
    static char absbin[2][4096];
    for (int i = 0; i < 2; i++) {
        if (strchr(opt.bins[i], '/') && opt.bins[i][0] != '/' && realpath(opt.bins[i], absbin[i]))
            opt.bins[i] = absbin[i];
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(opt.root, sizeof(opt.root), "%s/lt-diff.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(opt.root))
        die("mkdtemp %s: %s", opt.root, strerror(errno));

    double t0 = now_sec();
    char **files = NULL;
    size_t nfiles = 0;
    for (size_t i = 0; i < npaths; i++)
        collect_scripts(paths[i], &files, &nfiles);
    /* one test per script, mode and protocol, and per random run */
    int nmodes = (opt.modes & 1) + (opt.modes >> 1 & 1);
    long plan = (long)nfiles * nmodes * ((opt.script_resps & 1) + (opt.script_resps >> 1 & 1));
    if (random_mode)
        plan += nmodes * ((opt.resps & 1) + (opt.resps >> 1 & 1));
    printf("plan: %ld tests\n", plan);
    if (npaths) {
        int resps = opt.script_resps;
        for (size_t f = 0; f < nfiles; f++) {
            item_list items = {0};
            dbuf err = {0};
            if (script_load(files[f], &items, &err) < 0)
                die("%s", err.p);
            dbuf_free(&err);
            for (int mode = 0; mode < 2; mode++)
                for (int r = 0; r < 2; r++)
                    if ((opt.modes >> mode & 1) && (resps >> r & 1))
                        run_script(files[f], &items, mode, r + 2);
            item_list_free(&items);
            free(files[f]);
        }
        free(files);
    }
    if (random_mode) {
        item_list items = {.name = "random"};
        dbuf err = {0};
        if (gen_sequence(&g, &items, &err) < 0)
            die("%s", err.p);
        dbuf_free(&err);
        for (int mode = 0; mode < 2; mode++)
            for (int r = 0; r < 2; r++)
                if ((opt.modes >> mode & 1) && (opt.resps >> r & 1))
                    run_random(&items, g.seed, mode, r + 2);
        item_list_free(&items);
    }
    free(paths);
    if (keep_root || opt.keep)
        printf("lt-diff: temp directory kept: %s\n", opt.root);
    else
        rm_tree(opt.root);
    printf("lt-diff: total time %.1f s\n", now_sec() - t0);
    printf("lt-diff: checks: %ld reply comparisons, %ld other checks, %ld failed\n", n_replies,
           n_others, n_checks_failed);
    printf("lt-diff: %d passed, %d failed\n", n_tests_passed, n_tests_failed);
    return n_tests_failed ? 1 : 0;
}
