/*
 * lt-restart: durability across restarts.
 *
 *   lt-restart [--server PATH] [--reference] [-v]
 *
 * 1. 100 000 keys of mixed sizes (a few bytes to 40 KB, some binary) and TTLs
 *    (none, EX, PX, and short ones that must expire while the server is
 *    down), written through pipelines; SIGTERM (exit status 0); start again
 *    on the same directory: the first PING is answered within RESTART_MAX_MS,
 *    every value is intact, every TTL is within the window its write allows,
 *    the short ones are gone, DBSIZE and INFO keyspace are exact.
 * 2. kill -9 right after acknowledged writes (appendfsync always), several
 *    rounds, two connections: every acknowledged write is there after the
 *    restart; writes sent but not acknowledged may or may not be.
 * 3. SHUTDOWN: the connection closes, the exit status is 0, data is kept.
 * 4. longtail only: a second server on the same directory refuses to start.
 *
 * 5. The final SIGTERM exits with status 0.
 * 6. longtail only: a torn effect log. After a kill -9 with writes not yet
 *    checkpointed, a half-written last record is appended to the newest
 *    log file: with aof-load-truncated no the server refuses to start and
 *    says why; with yes (the default) it cuts the record off, logs it, and
 *    replays the rest. A MULTI without its EXEC at the end is dropped whole.
 * 7. longtail only: the replay's read-ahead. 4 000 keys in two dbs are
 *    stored (SAVE), then a tail of 6 000 commands (twelve replay windows)
 *    only in the log: mostly INCRBY (whose result shows the value it
 *    found), some SET and DEL, SELECT, SWAPDB and FLUSHDB, seeded. After a kill -9 every key is
 * cold, and the replay reads the keys of each window while the one before runs: every key must end
 * as a model of the commands says (a value read before an earlier command wrote its key must not be
 * installed), and DBSIZE of each db exact.
 *
 * 8. longtail only: SCAN, KEYS and RANDOMKEY inside MULTI see the
 *    transaction's own writes and the stored keys it deleted are gone, but
 *    store nothing (a checkpoint there would store the transaction's first
 *    part before the log holds it whole): after EXEC its keys are still
 *    waiting for a checkpoint, and a kill -9 and restart give the whole
 *    transaction. Again with the stored keys cold (maxmemory 1).
 *
 * Each step is one test (harness.h). With --reference, redis-server runs the
 * same steps with AOF on (appendonly yes, appendfsync always); step 4 is
 * skipped.
 */
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NKEYS          100000
#define BATCH          1000
#define SHORT_TTL_MS   1500
#define RESTART_MAX_MS 2000 /* "well under a second", with slack for a loaded machine */
#define TTL_SLACK_MS   50

enum { TTL_NONE, TTL_EX, TTL_PX, TTL_SHORT };

static lt_server srv;
static lt_opts opts;

/* The deterministic value of key i: its length depends on i's size class. */
static size_t value_for(int i, char *buf)
{
    unsigned long long st = (unsigned long long)i * 0x9E3779B97F4A7C15ULL + 12345;
    unsigned long long r = lt_rand_next(&st);
    size_t len;
    if (i % 500 == 0)
        len = 20000 + r % 20000;
    else if (i % 20 == 1)
        len = 1000 + r % 3000;
    else if (i % 7 == 3)
        return (size_t)sprintf(buf, "%d", i - 50000); /* integers, negative too */
    else
        len = r % 100;
    int binary = i % 13 == 0;
    for (size_t j = 0; j < len; j++) {
        unsigned long long x = lt_rand_next(&st);
        buf[j] = binary ? (char)(x & 0xff) : (char)('a' + x % 26);
    }
    return len;
}

static int ttl_kind(int i)
{
    if (i % 997 == 5)
        return TTL_SHORT;
    return i % 3 == 0 ? TTL_EX : i % 3 == 1 ? TTL_PX : TTL_NONE;
}

/* TTL of key i in ms for its kind. */
static long long ttl_ms(int i)
{
    switch (ttl_kind(i)) {
    case TTL_EX:
        return (100000LL + i % 1000) * 1000;
    case TTL_PX:
        return 3600000LL + i;
    case TTL_SHORT:
        return SHORT_TTL_MS;
    default:
        return -1;
    }
}

static void key_for(int i, char *key)
{
    sprintf(key, "k:%06d", i);
}

/* Read "n" replies; count those not matching "+OK"/integer as failures. */
static int read_acks(lt_conn *c, int n, const char *what)
{
    int bad = 0;
    for (int j = 0; j < n; j++) {
        lt_reply *r;
        int rc = lt_conn_read(c, &r);
        if (rc != LT_OK) {
            printf("lt-restart: %s: read failed (%d) after %d replies\n", what, rc, j);
            return -1;
        }
        if (r->type == '-') {
            if (bad++ < 3)
                printf("lt-restart: %s: error reply -%s\n", what, r->str);
        }
        lt_reply_free(r);
    }
    return bad;
}

static long long t_write_start, t_write_end;

static void write_dataset(lt_conn *c)
{
    static char val[64 * 1024];
    char key[32], ttl[32];
    lt_buf pipe = {0};
    int errors = 0;
    t_write_start = lt_now_ms();
    for (int base = 0; base < NKEYS; base += BATCH) {
        for (int i = base; i < base + BATCH && i < NKEYS; i++) {
            key_for(i, key);
            size_t vlen = value_for(i, val);
            const char *argv[5] = {"SET", key, val, NULL, NULL};
            size_t lens[5] = {3, strlen(key), vlen, 0, 0};
            int argc = 3;
            long long t = ttl_ms(i);
            if (ttl_kind(i) == TTL_EX) {
                sprintf(ttl, "%lld", t / 1000);
                argv[3] = "EX";
            } else if (t > 0) {
                sprintf(ttl, "%lld", t);
                argv[3] = "PX";
            }
            if (argv[3]) {
                argv[4] = ttl;
                lens[3] = 2;
                lens[4] = strlen(ttl);
                argc = 5;
            }
            lt_format_command(&pipe, argc, argv, lens);
        }
        if (lt_conn_send_raw(c, pipe.p, pipe.len) != LT_OK) {
            lt_check(0, "sending the dataset failed");
            free(pipe.p);
            return;
        }
        pipe.len = 0;
        int n = base + BATCH <= NKEYS ? BATCH : NKEYS - base;
        int bad = read_acks(c, n, "dataset");
        errors += bad < 0 ? n : bad;
        if (bad < 0)
            break;
    }
    t_write_end = lt_now_ms();
    free(pipe.p);
    lt_check(errors == 0, "%d of %d SETs failed", errors, NKEYS);
}

/* GET + PTTL every key; check values, TTL windows and the short TTLs gone. */
static void verify_dataset(lt_conn *c, const char *when)
{
    static char val[64 * 1024];
    char key[32];
    lt_buf pipe = {0};
    int bad_value = 0, bad_ttl = 0, bad_short = 0, io = 0;
    for (int base = 0; base < NKEYS && !io; base += BATCH) {
        int end = base + BATCH < NKEYS ? base + BATCH : NKEYS;
        for (int i = base; i < end; i++) {
            key_for(i, key);
            const char *g[2] = {"GET", key};
            const char *p[2] = {"PTTL", key};
            lt_format_command(&pipe, 2, g, NULL);
            lt_format_command(&pipe, 2, p, NULL);
        }
        long long before = lt_now_ms();
        if (lt_conn_send_raw(c, pipe.p, pipe.len) != LT_OK) {
            io = 1;
            break;
        }
        pipe.len = 0;
        for (int i = base; i < end; i++) {
            lt_reply *rv = NULL, *rt = NULL;
            if (lt_conn_read(c, &rv) != LT_OK || lt_conn_read(c, &rt) != LT_OK) {
                lt_reply_free(rv);
                io = 1;
                break;
            }
            long long after = lt_now_ms();
            int kind = ttl_kind(i);
            if (kind == TTL_SHORT) {
                if (!(rv->type == '$' && rv->null) || rt->type != ':' || rt->integer != -2) {
                    if (bad_short++ < 3)
                        printf("lt-restart: %s: key %d with a %d ms TTL is still there\n", when, i,
                               SHORT_TTL_MS);
                }
            } else {
                size_t vlen = value_for(i, val);
                if (rv->type != '$' || rv->null || rv->len != vlen ||
                    memcmp(rv->str, val, vlen) != 0) {
                    if (bad_value++ < 3) {
                        char *t = lt_reply_format(rv);
                        printf("lt-restart: %s: key %d: wrong value %.200s\n", when, i, t);
                        free(t);
                    }
                }
                long long lo = -1, hi = -1;
                if (kind != TTL_NONE) {
                    /* The expire time was fixed between the write's send and reply. */
                    lo = t_write_start + ttl_ms(i) - after - TTL_SLACK_MS;
                    hi = t_write_end + ttl_ms(i) - before + TTL_SLACK_MS;
                }
                if (rt->type != ':' || rt->integer < lo || rt->integer > hi) {
                    if (bad_ttl++ < 3) {
                        char *t = lt_reply_format(rt);
                        printf("lt-restart: %s: key %d: PTTL %s, expected %lld..%lld\n", when, i, t,
                               lo, hi);
                        free(t);
                    }
                }
            }
            lt_reply_free(rv);
            lt_reply_free(rt);
        }
    }
    free(pipe.p);
    lt_check(!io, "%s: reading the dataset back failed", when);
    lt_check(bad_value == 0, "%s: %d keys lost or changed", when, bad_value);
    lt_check(bad_ttl == 0, "%s: %d keys with a wrong TTL", when, bad_ttl);
    lt_check(bad_short == 0, "%s: %d keys outlived their TTL", when, bad_short);
}

static int count_kind(int kind)
{
    int n = 0;
    for (int i = 0; i < NKEYS; i++)
        n += ttl_kind(i) == kind;
    return n;
}

static long long call_int(lt_conn *c, const char *a0, const char *a1)
{
    lt_reply *r = lt_conn_call(c, a0, a1, NULL);
    long long v = r && r->type == ':' ? r->integer : -999;
    lt_reply_free(r);
    return v;
}

static void check_counts(lt_conn *c, const char *when, long long extra_keys)
{
    long long alive = NKEYS - count_kind(TTL_SHORT) + extra_keys;
    long long expires = count_kind(TTL_EX) + count_kind(TTL_PX);
    long long dbsize = call_int(c, "DBSIZE", NULL);
    lt_check(dbsize == alive, "%s: DBSIZE %lld, expected %lld", when, dbsize, alive);
    lt_reply *r = lt_conn_call(c, "INFO", "keyspace", NULL);
    char want[128];
    snprintf(want, sizeof(want), "db0:keys=%lld,expires=%lld,", alive, expires);
    int ok = r && r->str && strstr(r->str, want);
    lt_check(ok, "%s: INFO keyspace lacks \"%s\": %s", when, want, r && r->str ? r->str : "?");
    lt_reply_free(r);
}

static lt_conn *connect_or_fail(void)
{
    lt_conn *c = lt_conn_open(srv.port, 5000);
    lt_check(c != NULL, "cannot connect to port %d", srv.port);
    if (c)
        c->timeout_ms = 60000;
    return c;
}

/* Part 1. */
static int test_sigterm_restart(void)
{
    lt_conn *c = connect_or_fail();
    if (!c)
        return -1;
    long long t0 = lt_now_ms();
    write_dataset(c);
    printf("lt-restart: wrote %d keys in %lld ms\n", NKEYS, lt_now_ms() - t0);
    lt_conn_close(c);
    int st = lt_server_stop(&srv);
    lt_check(st == 0, "SIGTERM: exit status %d", st);
    long long t1 = lt_now_ms();
    if (lt_server_restart(&srv) != 0) {
        lt_check(0, "the server did not start again");
        return -1;
    }
    long long took = lt_now_ms() - t1;
    printf("lt-restart: restart to first PONG: %lld ms\n", took);
    lt_check(took <= RESTART_MAX_MS, "restart took %lld ms (limit %d)", took, RESTART_MAX_MS);
    c = connect_or_fail();
    if (!c)
        return -1;
    long long wait = t_write_end + SHORT_TTL_MS + 100 - lt_now_ms();
    if (wait > 0)
        lt_sleep_ms((int)wait);
    t0 = lt_now_ms();
    verify_dataset(c, "after SIGTERM");
    printf("lt-restart: verified in %lld ms\n", lt_now_ms() - t0);
    check_counts(c, "after SIGTERM", 0);
    lt_conn_close(c);
    return 0;
}

/* Part 2: one round of acknowledged writes then kill -9. */
#define ACK_ROUNDS    4
#define ACK_BATCH     2000
#define UNACKED_BATCH 300
#define DELETED_BASE  10 /* keys k:000010... are deleted, one per round and connection */

static long long acked_incr;

static void ack_key(int conn, int round, int j, char *key)
{
    sprintf(key, "ack:%d:%d:%d", conn, round, j);
}

static int kill_round(int round)
{
    lt_conn *c[2] = {connect_or_fail(), connect_or_fail()};
    if (!c[0] || !c[1]) {
        lt_conn_close(c[0]);
        lt_conn_close(c[1]);
        return -1;
    }
    char key[64], val[64];
    lt_buf pipe[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < ACK_BATCH; j++) {
            ack_key(k, round, j, key);
            sprintf(val, "v%d", j);
            const char *set[3] = {"SET", key, val};
            const char *incr[2] = {"INCR", "ack:counter"};
            lt_format_command(&pipe[k], 3, set, NULL);
            lt_format_command(&pipe[k], 2, incr, NULL);
        }
        /* Delete a key of part 1, acknowledged like the rest. */
        sprintf(key, "k:%06d", DELETED_BASE + round * 2 + k);
        const char *del[2] = {"DEL", key};
        lt_format_command(&pipe[k], 2, del, NULL);
    }
    for (int k = 0; k < 2; k++)
        lt_conn_send_raw(c[k], pipe[k].p, pipe[k].len);
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        int n = read_acks(c[k], 2 * ACK_BATCH + 1, "acknowledged writes");
        bad += n < 0 ? 1 : n;
    }
    acked_incr += 2 * ACK_BATCH;
    /* More writes in flight, none acknowledged, and the kill right away. */
    for (int k = 0; k < 2; k++) {
        pipe[k].len = 0;
        for (int j = ACK_BATCH; j < ACK_BATCH + UNACKED_BATCH; j++) {
            ack_key(k, round, j, key);
            const char *set[3] = {"SET", key, "unacked"};
            lt_format_command(&pipe[k], 3, set, NULL);
        }
        lt_conn_send_raw(c[k], pipe[k].p, pipe[k].len);
    }
    int st = lt_server_kill(&srv);
    lt_check(bad == 0, "round %d: %d writes failed", round, bad);
    lt_check(st == 128 + 9, "round %d: kill -9 gave status %d", round, st);
    for (int k = 0; k < 2; k++) {
        lt_conn_close(c[k]);
        free(pipe[k].p);
    }
    if (lt_server_restart(&srv) != 0) {
        lt_check(0, "round %d: the server did not start after kill -9", round);
        return -1;
    }
    return 0;
}

/* Returns how many unacknowledged writes are present, or -1. */
static int verify_acked(int rounds)
{
    lt_conn *c = connect_or_fail();
    if (!c)
        return -1;
    char key[64], val[64];
    int missing = 0, unacked_present = 0, deleted_present = 0;
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < 2; k++) {
            lt_buf pipe = {0};
            for (int j = 0; j < ACK_BATCH + UNACKED_BATCH; j++) {
                ack_key(k, round, j, key);
                const char *get[2] = {"GET", key};
                lt_format_command(&pipe, 2, get, NULL);
            }
            lt_conn_send_raw(c, pipe.p, pipe.len);
            free(pipe.p);
            for (int j = 0; j < ACK_BATCH + UNACKED_BATCH; j++) {
                lt_reply *r;
                if (lt_conn_read(c, &r) != LT_OK) {
                    lt_check(0, "reading acknowledged keys failed");
                    lt_conn_close(c);
                    return -1;
                }
                if (j < ACK_BATCH) {
                    sprintf(val, "v%d", j);
                    if (r->type != '$' || r->null || strcmp(r->str, val) != 0) {
                        if (missing++ < 3)
                            printf("lt-restart: acknowledged ack:%d:%d:%d is lost\n", k, round, j);
                    }
                } else if (r->type == '$' && !r->null) {
                    unacked_present++;
                }
                lt_reply_free(r);
            }
            sprintf(key, "k:%06d", DELETED_BASE + round * 2 + k);
            lt_reply *r = lt_conn_call(c, "EXISTS", key, NULL);
            if (!r || r->type != ':' || r->integer != 0)
                deleted_present++;
            lt_reply_free(r);
        }
    }
    long long counter = 0;
    lt_reply *r = lt_conn_call(c, "GET", "ack:counter", NULL);
    if (r && r->type == '$' && !r->null)
        counter = atoll(r->str);
    lt_reply_free(r);
    lt_check(missing == 0, "%d acknowledged writes lost after kill -9", missing);
    lt_check(deleted_present == 0, "%d acknowledged DELs undone after kill -9", deleted_present);
    lt_check(counter == acked_incr, "ack:counter is %lld, %lld INCRs were acknowledged", counter,
             acked_incr);
    printf("lt-restart: %d of %d unacknowledged writes made it to disk\n", unacked_present,
           rounds * 2 * UNACKED_BATCH);
    lt_conn_close(c);
    return unacked_present;
}

/* Part 3: SHUTDOWN. */
static void test_shutdown(void)
{
    lt_conn *c = connect_or_fail();
    if (!c)
        return;
    lt_reply *r = lt_conn_call(c, "SET", "before-shutdown", "yes", NULL);
    lt_check_reply(r, "+OK", "SET before SHUTDOWN");
    lt_reply_free(r);
    lt_conn_send(c, "SHUTDOWN", NULL);
    lt_check(lt_conn_wait_closed(c, 10000), "SHUTDOWN did not close the connection");
    lt_conn_close(c);
    int st = lt_server_wait(&srv, 10000);
    lt_check(st == 0, "SHUTDOWN: exit status %d", st);
    if (st == -2)
        lt_server_kill(&srv);
    if (lt_server_restart(&srv) != 0) {
        lt_check(0, "the server did not start after SHUTDOWN");
        return;
    }
    c = connect_or_fail();
    if (!c)
        return;
    r = lt_conn_call(c, "GET", "before-shutdown", NULL);
    lt_check_reply(r, "\"yes\"", "GET after SHUTDOWN and restart");
    lt_reply_free(r);
    lt_conn_close(c);
}

/* Part 6: a torn log. */

/* Appends bytes to the newest log file of s; 0 or -1. */
static int log_append_raw(const lt_server *s, const char *bytes)
{
    char dir[PATH_MAX + 32], path[PATH_MAX + 300];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", s->dir);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    unsigned long long best = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long n;
        if (sscanf(e->d_name, "appendonly.aof.%llu.incr.aof", &n) == 1 && n > best)
            best = n;
    }
    closedir(d);
    if (!best)
        return -1;
    snprintf(path, sizeof(path), "%s/appendonly.aof.%llu.incr.aof", dir, best);
    FILE *f = fopen(path, "ab");
    if (!f)
        return -1;
    int ok = fwrite(bytes, 1, strlen(bytes), f) == strlen(bytes);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* 1 if the file at path contains needle. */
static int file_has(const char *path, const char *needle)
{
    char *text = lt_read_file(path, NULL);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void test_torn_log(void)
{
    lt_server t;
    /* one checkpoint at the first write, then none for an hour: what
     * follows is in the log alone */
    const char *args[] = {"--appendfsync", "always", "--checkpoint-interval", "3600000"};
    if (!lt_check(lt_server_start(&t, opts.server, args, 4) == 0, "start"))
        return;
    lt_conn *c = lt_conn_open(t.port, 5000);
    if (!lt_check(c != NULL, "connect"))
        return;
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "torn:%d", i);
        lt_reply_free(lt_conn_call(c, "SET", key, "v", NULL));
    }
    lt_reply_free(lt_conn_call(c, "MULTI", NULL));
    lt_reply_free(lt_conn_call(c, "SET", "m1", "x", NULL));
    lt_reply_free(lt_conn_call(c, "INCR", "m2", NULL));
    lt_reply *r = lt_conn_call(c, "EXEC", NULL);
    lt_check_reply(r, "*2[+OK,:1]", "EXEC");
    lt_reply_free(r);
    lt_conn_close(c);
    lt_server_kill(&t);
    lt_check(log_append_raw(&t, "*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$5\r\nab") == 0,
             "a torn record appended to the newest log file");

    /* aof-load-truncated no: refused */
    t.args[t.nargs++] = strdup("--aof-load-truncated");
    t.args[t.nargs++] = strdup("no");
    t.start_timeout_ms = 3000;
    int rc = lt_server_restart(&t);
    lt_check(rc != 0 && !lt_server_alive(&t), "aof-load-truncated no: the server does not start");
    lt_check(file_has(t.log, "Unexpected end of file reading the append only file"),
             "... and its log says why");
    if (t.pid > 0)
        lt_server_kill(&t);
    free(t.args[--t.nargs]);
    free(t.args[--t.nargs]);

    /* yes: the torn record is cut, the rest replayed */
    t.start_timeout_ms = 10000;
    if (lt_check(lt_server_restart(&t) == 0, "aof-load-truncated yes: the server starts")) {
        c = lt_conn_open(t.port, 5000);
        if (lt_check(c != NULL, "connect after the restart")) {
            lt_check(file_has(t.log, "AOF loaded anyway because aof-load-truncated is enabled"),
                     "the log says the torn record was cut off");
            r = lt_conn_call(c, "MGET", "torn:0", "torn:99", "m1", "m2", "torn", NULL);
            lt_check_reply(r, "*5[\"v\",\"v\",\"x\",\"1\",(nil)]",
                           "every whole record replayed, the torn one not");
            lt_reply_free(r);
            r = lt_conn_call(c, "DBSIZE", NULL);
            lt_check_reply(r, ":102", "DBSIZE");
            lt_reply_free(r);
            lt_conn_close(c);
        }
        /* a transaction without its EXEC at the end is dropped whole */
        lt_server_kill(&t);
        lt_check(log_append_raw(&t, "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\nm3\r\n"
                                    "$1\r\nx\r\n") == 0,
                 "MULTI and a SET appended");
        if (lt_check(lt_server_restart(&t) == 0, "restart after the open MULTI")) {
            c = lt_conn_open(t.port, 5000);
            if (lt_check(c != NULL, "connect")) {
                r = lt_conn_call(c, "MGET", "m1", "m3", NULL);
                lt_check_reply(r, "*2[\"x\",(nil)]", "the open transaction is not applied");
                lt_reply_free(r);
                lt_conn_close(c);
            }
        }
    }
    if (t.pid > 0)
        lt_check(lt_server_stop(&t) == 0, "SIGTERM: exit status 0");
    lt_server_cleanup(&t, lt_checks_failed() > 0);
}

/* How the tests below end: kill -9, restart, MGET keys (NULL-terminated)
 * against want, then SIGTERM and clean up. */
static void end_after_kill(lt_server *t, const char **keys, const char *want, const char *what)
{
    lt_server_kill(t);
    if (lt_check(lt_server_restart(t) == 0, "restart after kill -9")) {
        lt_conn *c = lt_conn_open(t->port, 10000);
        if (lt_check(c != NULL, "connect after the restart")) {
            const char *argv[16] = {"MGET"};
            int argc = 1;
            while (keys[argc - 1] && argc < 16) {
                argv[argc] = keys[argc - 1];
                argc++;
            }
            lt_reply *r = lt_conn_call_argv(c, argc, argv, NULL);
            lt_check_reply(r, want, what);
            lt_reply_free(r);
            lt_conn_close(c);
        }
    }
    if (t->pid > 0)
        lt_check(lt_server_stop(t) == 0, "SIGTERM: exit status 0");
    lt_server_cleanup(t, lt_checks_failed() > 0);
}

/* ---- 7. the replay's read-ahead ---------------------------------------- */

#define RA_KEYS 2000
#define RA_CMDS 6000

static void test_readahead(void)
{
    static long long val[2][RA_KEYS]; /* the model: dataset a db index names */
    static int has[2][RA_KEYS];
    lt_server t;
    const char *args[] = {"--checkpoint-interval", "3600000"};
    if (!lt_check(lt_server_start(&t, opts.server, args, 2) == 0, "start"))
        return;
    lt_conn *c = lt_conn_open(t.port, 10000);
    if (!lt_check(c != NULL, "connect")) {
        lt_server_cleanup(&t, 1);
        return;
    }
    char key[32], num[32], db[8];
    int sent = 0;
    for (int d = 0; d < 2; d++) {
        snprintf(db, sizeof(db), "%d", d);
        lt_conn_send(c, "SELECT", db, NULL);
        sent++;
        for (int i = 0; i < RA_KEYS; i++) {
            snprintf(key, sizeof(key), "ra:%d", i);
            val[d][i] = d * 1000000 + i;
            has[d][i] = 1;
            snprintf(num, sizeof(num), "%lld", val[d][i]);
            lt_conn_send(c, "SET", key, num, NULL);
            sent++;
        }
    }
    lt_conn_send(c, "SAVE", NULL); /* stored: cold after the restart */
    sent++;
    /* the tail, in the log alone */
    unsigned long long st = 77;
    int cur = 1;
    for (int n = 0; n < RA_CMDS; n++) {
        unsigned r = (unsigned)(lt_rand_next(&st) % 1000);
        int k = (int)(lt_rand_next(&st) % RA_KEYS);
        snprintf(key, sizeof(key), "ra:%d", k);
        if (r < 20) {
            cur = !cur;
            snprintf(db, sizeof(db), "%d", cur);
            lt_conn_send(c, "SELECT", db, NULL);
        } else if (r < 30) {
            for (int i = 0; i < RA_KEYS; i++) {
                long long tv = val[0][i];
                int th = has[0][i];
                val[0][i] = val[1][i];
                has[0][i] = has[1][i];
                val[1][i] = tv;
                has[1][i] = th;
            }
            lt_conn_send(c, "SWAPDB", "0", "1", NULL);
        } else if (r < 31) {
            memset(has[cur], 0, sizeof(has[cur]));
            lt_conn_send(c, "FLUSHDB", NULL);
        } else if (r < 130) {
            has[cur][k] = 0;
            lt_conn_send(c, "DEL", key, NULL);
        } else if (r < 230) {
            val[cur][k] = (long long)(lt_rand_next(&st) % 100000);
            has[cur][k] = 1;
            snprintf(num, sizeof(num), "%lld", val[cur][k]);
            lt_conn_send(c, "SET", key, num, NULL);
        } else {
            long long by = (long long)(lt_rand_next(&st) % 1000) - 500;
            val[cur][k] = (has[cur][k] ? val[cur][k] : 0) + by;
            has[cur][k] = 1;
            snprintf(num, sizeof(num), "%lld", by);
            lt_conn_send(c, "INCRBY", key, num, NULL);
        }
        sent++;
    }
    int errors = 0;
    for (int i = 0; i < sent; i++) {
        lt_reply *r = NULL;
        if (lt_conn_read(c, &r) != 0 || !r || r->type == '-')
            errors++;
        lt_reply_free(r);
    }
    lt_check(errors == 0, "every command of the load and the tail succeeded (%d errors)", errors);
    lt_conn_close(c);
    lt_server_kill(&t);
    if (lt_check(lt_server_restart(&t) == 0, "restart after kill -9")) {
        c = lt_conn_open(t.port, 10000);
        if (lt_check(c != NULL, "connect after the restart")) {
            long long replayed = lt_conn_info(c, "persistence", "log_replayed_commands");
            long long ahead = lt_conn_info(c, "tiering", "prefetch_reads");
            lt_check(ahead > 0, "the replay read keys ahead (%lld)", ahead);
            lt_check(replayed >= RA_CMDS * 3 / 4,
                     "the tail was replayed (%lld commands: more than nine windows)", replayed);
            int wrong = 0;
            for (int d = 0; d < 2; d++) {
                snprintf(db, sizeof(db), "%d", d);
                lt_reply_free(lt_conn_call(c, "SELECT", db, NULL));
                int want_size = 0;
                for (int i = 0; i < RA_KEYS; i++) {
                    snprintf(key, sizeof(key), "ra:%d", i);
                    snprintf(num, sizeof(num), "%lld", val[d][i]);
                    lt_reply *r = lt_conn_call(c, "GET", key, NULL);
                    int ok = has[d][i] ? r && r->type == '$' && !r->null && !strcmp(r->str, num)
                                       : r && r->type == '$' && r->null;
                    if (!ok && wrong++ < 5)
                        lt_check(0, "db %d %s: want %s, got %s", d, key, has[d][i] ? num : "nil",
                                 r && r->str ? r->str : "(nil)");
                    lt_reply_free(r);
                    want_size += has[d][i];
                }
                lt_reply *r = lt_conn_call(c, "DBSIZE", NULL);
                lt_check(r && r->type == ':' && r->integer == want_size,
                         "db %d: DBSIZE %lld, the model has %d", d, r ? r->integer : -1, want_size);
                lt_reply_free(r);
            }
            lt_check(wrong == 0, "every key as the model says after the replay (%d wrong)", wrong);
            lt_conn_close(c);
        }
    }
    if (t.pid > 0)
        lt_check(lt_server_stop(&t) == 0, "SIGTERM: exit status 0");
    lt_server_cleanup(&t, lt_checks_failed() > 0);
}

/* ---- 8. walks inside a transaction --------------------------------------- */

static void test_walk_in_multi(int cold)
{
    lt_server t;
    /* cold: every key leaves memory once checkpointed, each loop iteration */
    const char *args[] = {"--checkpoint-interval", "3600000", "--maxmemory", "1"};
    if (!lt_check(lt_server_start(&t, opts.server, args, cold ? 4 : 2) == 0, "start"))
        return;
    lt_conn *c = lt_conn_open(t.port, 10000);
    if (!lt_check(c != NULL, "connect")) {
        lt_server_cleanup(&t, 1);
        return;
    }
    lt_reply_free(lt_conn_call(c, "MSET", "s1", "1", "s2", "2", "s3", "3", NULL));
    lt_reply *r = lt_conn_call(c, "SAVE", NULL);
    lt_check_reply(r, "+OK", "SAVE: s1, s2 and s3 stored");
    lt_reply_free(r);
    lt_reply_free(lt_conn_call(c, "MULTI", NULL));
    const char *q[][3] = {{"SET", "n1", "x"},  {"DEL", "s1", NULL},       {"SET", "s2", "two"},
                          {"KEYS", "*", NULL}, {"RANDOMKEY", NULL, NULL}, {"DBSIZE", NULL, NULL}};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        r = lt_conn_call(c, q[i][0], q[i][1], q[i][2], NULL);
        lt_reply_free(r);
    }
    lt_reply_free(lt_conn_call(c, "SCAN", "0", "COUNT", "1000", NULL));
    r = lt_conn_call(c, "EXEC", NULL);
    int ok = r && r->type == '*' && r->n == 7;
    if (ok) {
        lt_reply_sort(r->elem[3]);
        char *keys = lt_reply_format(r->elem[3]);
        lt_check(!strcmp(keys, "*3[\"n1\",\"s2\",\"s3\"]"),
                 "KEYS inside MULTI: the transaction's writes and the stored keys left (%s)", keys);
        free(keys);
        const char *rk = r->elem[4]->str ? r->elem[4]->str : "";
        lt_check(!strcmp(rk, "n1") || !strcmp(rk, "s2") || !strcmp(rk, "s3"),
                 "RANDOMKEY inside MULTI is one of them (%s)", rk);
        lt_check(r->elem[5]->type == ':' && r->elem[5]->integer == 3, "DBSIZE 3");
        lt_reply *sc = r->elem[6];
        ok = sc->type == '*' && sc->n == 2 && !strcmp(sc->elem[0]->str, "0");
        if (ok) {
            lt_reply_sort(sc->elem[1]);
            char *sk = lt_reply_format(sc->elem[1]);
            ok = !strcmp(sk, "*3[\"n1\",\"s2\",\"s3\"]");
            lt_check(ok, "SCAN inside MULTI sees the same keys (%s)", sk);
            free(sk);
        }
    }
    lt_check(ok, "EXEC answered every queued command");
    lt_reply_free(r);
    long long dirty = lt_conn_info(c, "persistence", "checkpoint_dirty_keys");
    if (!cold) /* (cold mode checkpoints after every loop iteration) */
        lt_check(dirty == 3,
                 "the walks stored nothing: the transaction's 3 keys still wait for a "
                 "checkpoint (checkpoint_dirty_keys %lld)",
                 dirty);
    lt_conn_close(c);
    const char *keys[] = {"n1", "s1", "s2", "s3", NULL};
    end_after_kill(&t, keys, "*4[\"x\",(nil),\"two\",\"3\"]",
                   "the whole transaction, from the log");
}

/* DEBUG RELOAD inside MULTI once wrote a checkpoint in the middle of the
 * transaction, under a log position from before it: RocksDB held half a
 * transaction the log did not have yet. Now it stores nothing (the key
 * changed by the transaction stays dirty and hot), and a BGSAVE queued
 * there is scheduled, as Redis does, and runs after it. */
static void test_reload_in_multi(void)
{
    lt_server t;
    const char *args[] = {"--checkpoint-interval", "3600000", "--enable-debug-command", "yes",
                          "--appendfsync",         "always"};
    if (!lt_check(lt_server_start(&t, opts.server, args, 6) == 0, "start"))
        return;
    lt_conn *c = lt_conn_open(t.port, 10000);
    if (!lt_check(c != NULL, "connect")) {
        lt_server_cleanup(&t, 1);
        return;
    }
    lt_reply_free(lt_conn_call(c, "MSET", "c", "10", "other", "x", NULL));
    lt_reply *r = lt_conn_call(c, "SAVE", NULL);
    lt_check_reply(r, "+OK", "SAVE: c and other stored");
    lt_reply_free(r);
    lt_reply_free(lt_conn_call(c, "MULTI", NULL));
    lt_reply_free(lt_conn_call(c, "INCR", "c", NULL));
    lt_reply_free(lt_conn_call(c, "DEBUG", "RELOAD", NULL));
    lt_reply_free(lt_conn_call(c, "BGSAVE", NULL));
    r = lt_conn_call(c, "EXEC", NULL);
    lt_check_reply(r, "*3[:11,+OK,+Background saving scheduled]",
                   "EXEC: INCR, DEBUG RELOAD, BGSAVE scheduled");
    lt_reply_free(r);
    long long dirty = lt_conn_info(c, "persistence", "checkpoint_dirty_keys");
    lt_check(dirty == 1,
             "DEBUG RELOAD stored nothing of the transaction (checkpoint_dirty_keys %lld)", dirty);
    r = lt_conn_call(c, "OBJECT", "TIER", "other", NULL);
    lt_check_reply(r, "\"cold\"", "... and still dropped the clean keys from memory");
    lt_reply_free(r);
    /* the scheduled BGSAVE: the cron runs it, after the transaction */
    for (int i = 0; i < 200 && dirty != 0; i++) {
        lt_sleep_ms(10);
        dirty = lt_conn_info(c, "persistence", "checkpoint_dirty_keys");
    }
    lt_check(dirty == 0, "the scheduled BGSAVE ran after EXEC (checkpoint_dirty_keys %lld)", dirty);
    lt_reply_free(lt_conn_call(c, "INCR", "c", NULL));
    lt_conn_close(c);
    const char *keys[] = {"c", "other", NULL};
    end_after_kill(&t, keys, "*2[\"12\",\"x\"]", "each INCR applied once");
}

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-restart") != 0)
        return 2;
    /* Redis skips the second-server test (longtail only). */
    lt_plan(opts.reference ? 4 : 10);
    lt_test_begin("SIGTERM and restart keep 100 000 keys and their TTLs");
    const char *lt_args[] = {"--appendfsync", "always"};
    const char *redis_args[] = {"--appendonly", "yes", "--appendfsync", "always"};
    int rc = opts.reference ? lt_server_start(&srv, opts.server, redis_args, 4)
                            : lt_server_start(&srv, opts.server, lt_args, 2);
    if (rc != 0) {
        lt_check(0, "could not start %s", opts.server);
        lt_server_cleanup(&srv, 1);
        return lt_report("lt-restart");
    }
    if (test_sigterm_restart() == 0) {
        lt_test_begin("kill -9 loses no acknowledged write");
        int rounds = 0;
        for (; rounds < ACK_ROUNDS; rounds++)
            if (kill_round(rounds) != 0)
                break;
        if (rounds == ACK_ROUNDS) {
            int unacked = verify_acked(rounds);
            /* Part 1's keys survived kill -9 too: DBSIZE counts them all exactly. */
            lt_conn *c = unacked >= 0 ? connect_or_fail() : NULL;
            if (c) {
                long long want = NKEYS - count_kind(TTL_SHORT) - 2 * ACK_ROUNDS +
                                 2LL * ACK_ROUNDS * ACK_BATCH + 1 + unacked;
                long long dbsize = call_int(c, "DBSIZE", NULL);
                lt_check(dbsize == want, "DBSIZE %lld after kill -9, expected %lld", dbsize, want);
                lt_conn_close(c);
            }
            lt_test_begin("SHUTDOWN closes the connection, exits 0 and keeps the data");
            test_shutdown();
        }
    }
    if (!opts.reference && srv.pid > 0) {
        lt_test_begin("a second server refuses a directory in use");
        int st = lt_server_start_second(&srv, 10000);
        lt_check(st > 0, "a second server on the same directory %s",
                 st == 0 ? "exited with status 0" : "kept running");
    }
    if (srv.pid > 0) {
        lt_test_begin("the final SIGTERM exits with status 0");
        int st = lt_server_stop(&srv);
        lt_check(st == 0, "final SIGTERM: exit status %d", st);
    }
    lt_server_cleanup(&srv, lt_checks_failed() > 0);
    if (!opts.reference) {
        lt_test_begin("a torn log tail is cut off with aof-load-truncated yes, refused with no");
        test_torn_log();
        lt_test_begin("the replay reads ahead: a long tail over cold keys ends as the model");
        test_readahead();
        lt_test_begin("SCAN, KEYS and RANDOMKEY inside MULTI store nothing of the transaction");
        test_walk_in_multi(0);
        lt_test_begin("... and with the stored keys cold, see them as after the transaction");
        test_walk_in_multi(1);
        lt_test_begin("DEBUG RELOAD and BGSAVE inside MULTI store nothing of the transaction");
        test_reload_in_multi();
    }
    return lt_report("lt-restart");
}
