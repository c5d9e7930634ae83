/*
 * lt-split: big collections stored one element per RocksDB key.
 *
 *   lt-split [--server PATH] [--reference] [-v]
 *
 * 1. A seeded random run over a few hashes big enough to be stored split
 *    (storage-split-threshold 64, hashes of up to 300 fields), mirrored in a
 *    model kept here: HSET, HDEL, DEL, RENAME, COPY, MOVE to another db and
 *    back, EXPIRE then PERSIST; with it, a list (LPUSH RPUSH LPOP RPOP LSET
 *    LINSERT LTRIM), a set of strings (SADD SREM) and a sorted set (ZADD
 *    ZINCRBY ZREM), also split. Every 40 steps each hash is
 * compared field by field with the model, in phases where every key is hot, where every key is read
 * back from RocksDB (maxmemory 1), after DEBUG RELOAD, after a SIGTERM restart and after kill -9
 * with appendfsync always.
 * 2. longtail only: one HSET on a 100 000-field hash writes one element
 *    (split_element_writes + 1, under 1 KB committed), so does one LPUSH on
 *    a 2000-element list, DEL queues one
 *    DeleteRange (split_garbage_ranges + 1), and with
 *    storage-split-threshold 0 nothing is split.
 * 3. longtail only: on a cold 100 000-field hash and a cold set, sorted set
 *    and list, EXISTS TYPE OBJECT ENCODING, the TTL family and HLEN SCARD
 *    ZCARD LLEN answer from the stored header and DEL/UNLINK delete from
 *    it: no promotion, no sync load, no element read (split_element_reads),
 *    one DeleteRange per key; the counters move when a command does need
 *    the value (HSTRLEN).
 *
 * Each phase of part 1, part 2 and part 3 are one test each (harness.h). With
 * --reference, redis-server runs part 1 (it proves the model); the storage
 * counters of parts 2 and 3 are longtail's own.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NHASH  4
#define NFIELD 300
#define STEPS  1200
#define BIG    100000

static lt_server srv;
static lt_opts opts;
static lt_conn *c0, *c1; /* db 0 and db 1 */

/* model: value of field f of hash h, or NULL */
static char *model[NHASH][NFIELD];

static void key_name(int h, char *out)
{
    sprintf(out, "hash:%d", h);
}

static void model_clear(int h)
{
    for (int f = 0; f < NFIELD; f++) {
        free(model[h][f]);
        model[h][f] = NULL;
    }
}

static int model_len(int h)
{
    int n = 0;
    for (int f = 0; f < NFIELD; f++)
        n += model[h][f] != NULL;
    return n;
}

static void connect_all(void)
{
    c0 = lt_conn_open(srv.port, 10000);
    c1 = lt_conn_open(srv.port, 10000);
    if (c1)
        lt_reply_free(lt_conn_call(c1, "SELECT", "1", NULL));
}

static void close_all(void)
{
    lt_conn_close(c0);
    lt_conn_close(c1);
    c0 = c1 = NULL;
}

/* Compares every hash with the model (HLEN, then HGET of every field). */
static void verify(const char *when)
{
    char key[32], field[16];
    for (int h = 0; h < NHASH; h++) {
        key_name(h, key);
        lt_reply *r = lt_conn_call(c0, "HLEN", key, NULL);
        int ok = r && r->type == ':' && r->integer == model_len(h);
        lt_check_replied(ok, "%s: HLEN %s = %lld, model %d", when, key, r ? r->integer : -1,
                         model_len(h));
        lt_reply_free(r);
        int bad = 0;
        for (int f = 0; f < NFIELD && bad < 3; f++) {
            sprintf(field, "f%d", f);
            r = lt_conn_call(c0, "HGET", key, field, NULL);
            const char *want = model[h][f];
            int same = r && (want ? r->type == '$' && !r->null && !strcmp(r->str, want)
                                  : r->type == '$' && r->null);
            if (!same) {
                bad++;
                lt_check_replied(0, "%s: HGET %s %s = %s, model %s", when, key, field,
                                 r && r->str ? r->str : "(nil)", want ? want : "(nil)");
            }
            lt_reply_free(r);
        }
        if (!bad)
            lt_check_replied(1, "%s", when);
    }
}

static void expect_int(lt_reply *r, long long v, const char *what)
{
    lt_check_replied(r && r->type == ':' && r->integer == v, "%s: want :%lld", what, v);
    lt_reply_free(r);
}

static void expect_ok(lt_reply *r, const char *what)
{
    lt_check_replied(r && r->type == '+', "%s: want +OK, got %s", what, r && r->str ? r->str : "?");
    lt_reply_free(r);
}

static void step(unsigned long long *rng)
{
    char a[32], b[32], field[16], val[64];
    int ha = (int)(lt_rand_next(rng) % NHASH), hb = (int)(lt_rand_next(rng) % NHASH);
    key_name(ha, a);
    key_name(hb, b);
    unsigned op = (unsigned)(lt_rand_next(rng) % 100);
    if (op < 70) { /* HSET, growing the hashes past the threshold */
        int f = (int)(lt_rand_next(rng) % NFIELD);
        sprintf(field, "f%d", f);
        sprintf(val, "v%llu", lt_rand_next(rng) % 100000);
        expect_int(lt_conn_call(c0, "HSET", a, field, val, NULL), model[ha][f] ? 0 : 1, "HSET");
        free(model[ha][f]);
        model[ha][f] = strdup(val);
    } else if (op < 85) {
        int f = (int)(lt_rand_next(rng) % NFIELD);
        sprintf(field, "f%d", f);
        expect_int(lt_conn_call(c0, "HDEL", a, field, NULL), model[ha][f] ? 1 : 0, "HDEL");
        free(model[ha][f]);
        model[ha][f] = NULL;
    } else if (op < 87) {
        expect_int(lt_conn_call(c0, "DEL", a, NULL), model_len(ha) ? 1 : 0, "DEL");
        model_clear(ha);
    } else if (op < 91) {
        if (ha == hb || !model_len(ha))
            return;
        expect_ok(lt_conn_call(c0, "RENAME", a, b, NULL), "RENAME");
        model_clear(hb);
        for (int f = 0; f < NFIELD; f++) {
            model[hb][f] = model[ha][f];
            model[ha][f] = NULL;
        }
    } else if (op < 94) {
        if (ha == hb)
            return;
        expect_int(lt_conn_call(c0, "COPY", a, b, "REPLACE", NULL), model_len(ha) ? 1 : 0, "COPY");
        if (!model_len(ha))
            return;
        model_clear(hb);
        for (int f = 0; f < NFIELD; f++)
            model[hb][f] = model[ha][f] ? strdup(model[ha][f]) : NULL;
    } else if (op < 97) {
        if (!model_len(ha))
            return;
        expect_int(lt_conn_call(c0, "MOVE", a, "1", NULL), 1, "MOVE to 1");
        /* changed in the other db, then moved back */
        expect_int(lt_conn_call(c1, "HSET", a, "f0", "moved", NULL), model[ha][0] ? 0 : 1,
                   "HSET in db 1");
        free(model[ha][0]);
        model[ha][0] = strdup("moved");
        expect_int(lt_conn_call(c1, "MOVE", a, "0", NULL), 1, "MOVE to 0");
    } else {
        if (!model_len(ha))
            return;
        expect_int(lt_conn_call(c0, "EXPIRE", a, "1000", NULL), 1, "EXPIRE");
        expect_int(lt_conn_call(c0, "PERSIST", a, NULL), 1, "PERSIST");
    }
}

/* ---- a list and a set, big enough to be split --------------------------- */

#define LMAX       900
#define SMEMBERS_N 700
static char *lmodel[LMAX * 2];
static int llen;
static unsigned char smodel[SMEMBERS_N];
#define ZMEMBERS_N 700
static unsigned char zin[ZMEMBERS_N];
static long long zscore[ZMEMBERS_N];

static void lmodel_insert(int at, const char *v)
{
    memmove(lmodel + at + 1, lmodel + at, (size_t)(llen - at) * sizeof(char *));
    lmodel[at] = strdup(v);
    llen++;
}

static void lmodel_remove(int at, int n)
{
    for (int i = at; i < at + n; i++)
        free(lmodel[i]);
    memmove(lmodel + at, lmodel + at + n, (size_t)(llen - at - n) * sizeof(char *));
    llen -= n;
}

static void verify_list_set(const char *when)
{
    lt_reply *r = lt_conn_call(c0, "LRANGE", "list", "0", "-1", NULL);
    int ok = r && (r->type == '*') && (int)r->n == llen;
    for (int i = 0; ok && i < llen; i++)
        ok = !strcmp(r->elem[i]->str, lmodel[i]);
    lt_check(ok, "%s: LRANGE list 0 -1 (%d elements in the model, %d in the reply)", when, llen,
             r && r->type == '*' ? (int)r->n : -1);
    lt_reply_free(r);
    int n = 0, bad = 0;
    char m[16];
    for (int i = 0; i < SMEMBERS_N; i++) {
        n += smodel[i];
        sprintf(m, "m%d", i);
        r = lt_conn_call(c0, "SISMEMBER", "set", m, NULL);
        bad += !r || r->type != ':' || r->integer != smodel[i];
        lt_reply_free(r);
    }
    r = lt_conn_call(c0, "SCARD", "set", NULL);
    bad += !r || r->integer != n;
    lt_reply_free(r);
    lt_check(!bad, "%s: set members as the model (%d wrong)", when, bad);
    n = bad = 0;
    for (int i = 0; i < ZMEMBERS_N; i++) {
        char want[32];
        n += zin[i];
        sprintf(m, "z%d", i);
        sprintf(want, "%lld", zscore[i]);
        r = lt_conn_call(c0, "ZSCORE", "zset", m, NULL);
        bad += !r || r->type != '$' || (zin[i] ? r->null || strcmp(r->str, want) : !r->null);
        lt_reply_free(r);
    }
    r = lt_conn_call(c0, "ZCARD", "zset", NULL);
    bad += !r || r->integer != n;
    lt_reply_free(r);
    lt_check(!bad, "%s: sorted set members and scores as the model (%d wrong)", when, bad);
}

static void step_list_set(unsigned long long *rng)
{
    char v[32], idx[32], m[16];
    unsigned op = (unsigned)(lt_rand_next(rng) % 100);
    sprintf(v, "e%llu", lt_rand_next(rng) % 100000);
    if (op < 25 && llen < LMAX) {
        expect_int(lt_conn_call(c0, "LPUSH", "list", v, NULL), llen + 1, "LPUSH");
        lmodel_insert(0, v);
    } else if (op < 50 && llen < LMAX) {
        expect_int(lt_conn_call(c0, "RPUSH", "list", v, NULL), llen + 1, "RPUSH");
        lmodel_insert(llen, v);
    } else if (op < 58 && llen > 0) {
        lt_reply_free(lt_conn_call(c0, "LPOP", "list", NULL));
        lmodel_remove(0, 1);
    } else if (op < 66 && llen > 0) {
        lt_reply_free(lt_conn_call(c0, "RPOP", "list", NULL));
        lmodel_remove(llen - 1, 1);
    } else if (op < 72 && llen > 0) {
        int i = (int)(lt_rand_next(rng) % (unsigned)llen);
        sprintf(idx, "%d", i);
        expect_ok(lt_conn_call(c0, "LSET", "list", idx, v, NULL), "LSET");
        free(lmodel[i]);
        lmodel[i] = strdup(v);
    } else if (op < 74 && llen > 0) {
        int i = (int)(lt_rand_next(rng) % (unsigned)llen);
        expect_int(lt_conn_call(c0, "LINSERT", "list", "BEFORE", lmodel[i], v, NULL), llen + 1,
                   "LINSERT");
        /* before the first element equal to lmodel[i] */
        int at = 0;
        while (strcmp(lmodel[at], lmodel[i]))
            at++;
        lmodel_insert(at, v);
    } else if (op < 75 && llen > 10) {
        int a = (int)(lt_rand_next(rng) % 5), b = llen - 1 - (int)(lt_rand_next(rng) % 5);
        char sa[16], sb[16];
        sprintf(sa, "%d", a);
        sprintf(sb, "%d", b);
        expect_ok(lt_conn_call(c0, "LTRIM", "list", sa, sb, NULL), "LTRIM");
        lmodel_remove(b + 1, llen - b - 1);
        lmodel_remove(0, a);
    } else if (op < 80) {
        int i = (int)(lt_rand_next(rng) % ZMEMBERS_N);
        long long sc = (long long)(lt_rand_next(rng) % 2000) - 1000;
        char ssc[32];
        sprintf(m, "z%d", i);
        sprintf(ssc, "%lld", sc);
        expect_int(lt_conn_call(c0, "ZADD", "zset", ssc, m, NULL), !zin[i], "ZADD");
        zin[i] = 1;
        zscore[i] = sc;
    } else if (op < 83) {
        int i = (int)(lt_rand_next(rng) % ZMEMBERS_N);
        sprintf(m, "z%d", i);
        lt_reply_free(lt_conn_call(c0, "ZINCRBY", "zset", "7", m, NULL));
        zscore[i] = zin[i] ? zscore[i] + 7 : 7;
        zin[i] = 1;
    } else if (op < 84) {
        int i = (int)(lt_rand_next(rng) % ZMEMBERS_N);
        sprintf(m, "z%d", i);
        expect_int(lt_conn_call(c0, "ZREM", "zset", m, NULL), zin[i], "ZREM");
        zin[i] = 0;
    } else if (op < 92) {
        int i = (int)(lt_rand_next(rng) % SMEMBERS_N);
        sprintf(m, "m%d", i);
        expect_int(lt_conn_call(c0, "SADD", "set", m, NULL), !smodel[i], "SADD");
        smodel[i] = 1;
    } else {
        int i = (int)(lt_rand_next(rng) % SMEMBERS_N);
        sprintf(m, "m%d", i);
        expect_int(lt_conn_call(c0, "SREM", "set", m, NULL), smodel[i], "SREM");
        smodel[i] = 0;
    }
}

static void set_config(const char *name, const char *value)
{
    expect_ok(lt_conn_call(c0, "CONFIG", "SET", name, value, NULL), "CONFIG SET");
}

/* Part 1's phases, one test each. */
static const char *const phase_tests[] = {
    "seeded model run, every key hot",
    "seeded model run, every key read back from RocksDB (maxmemory 1)",
    "seeded model run, then DEBUG RELOAD",
    "seeded model run, then a SIGTERM restart",
    "seeded model run, then kill -9 and a restart",
};

/* Part 1: the model run through every phase (main has begun the first test:
 * the server's start belongs to it). */
static void model_run(void)
{
    unsigned long long rng = 0x5eed5eedULL;
    static const char *phases[] = {"hot", "cold", "reload", "restart", "kill"};
    int per_phase = STEPS / 5;
    for (int p = 0; p < 5; p++) {
        const char *ph = phases[p];
        if (p > 0)
            lt_test_begin(phase_tests[p]);
        if (!opts.reference)
            set_config("maxmemory", !strcmp(ph, "cold") ? "1" : "0");
        for (int i = 0; i < per_phase; i++) {
            step(&rng);
            for (int j = 0; j < 3; j++)
                step_list_set(&rng);
            if (i % 40 == 39) {
                verify(ph);
                verify_list_set(ph);
            }
        }
        if (!strcmp(ph, "reload")) {
            expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");
            verify("after DEBUG RELOAD");
            verify_list_set("after DEBUG RELOAD");
        } else if (!strcmp(ph, "restart")) {
            close_all();
            lt_check(lt_server_stop(&srv) == 0, "SIGTERM: exit status 0");
            lt_check(lt_server_restart(&srv) == 0, "restart");
            connect_all();
            verify("after restart");
            verify_list_set("after restart");
        } else if (!strcmp(ph, "kill")) {
            close_all();
            lt_server_kill(&srv);
            lt_check(lt_server_restart(&srv) == 0, "restart after kill -9");
            connect_all();
            verify("after kill -9");
            verify_list_set("after kill -9");
        }
    }
}

static long long info_field(const char *name)
{
    char *info = lt_conn_call_text(c0, "INFO", "tiering", NULL);
    long long v = -1;
    const char *p = info ? strstr(info, name) : NULL;
    if (p && p[strlen(name)] == ':')
        v = atoll(p + strlen(name) + 1);
    free(info);
    return v;
}

static void settle(void)
{
    lt_check(lt_wait_checkpointed(c0, 5000) == 0, "every change is checkpointed within 5 s");
}

/* Part 2: what one change of a big hash writes. */
static void big_hash(void)
{
    set_config("maxmemory", "0");
    lt_buf pipe = {0};
    char field[16], val[16];
    for (int base = 0; base < BIG; base += 1000) {
        const char *argv[2 + 2000];
        size_t lens[2 + 2000];
        static char fields[1000][16], vals[1000][16];
        argv[0] = "HSET";
        argv[1] = "big";
        lens[0] = 4;
        lens[1] = 3;
        for (int j = 0; j < 1000; j++) {
            sprintf(fields[j], "field:%d", base + j);
            sprintf(vals[j], "%d", base + j);
            argv[2 + 2 * j] = fields[j];
            argv[3 + 2 * j] = vals[j];
            lens[2 + 2 * j] = strlen(fields[j]);
            lens[3 + 2 * j] = strlen(vals[j]);
        }
        lt_format_command(&pipe, 2002, argv, lens);
    }
    lt_conn_send_raw(c0, pipe.p, pipe.len);
    free(pipe.p);
    for (int base = 0; base < BIG; base += 1000) {
        lt_reply *r;
        lt_conn_read(c0, &r);
        lt_reply_free(r);
    }
    expect_int(lt_conn_call(c0, "HLEN", "big", NULL), BIG, "HLEN big");
    settle();
    long long w0 = info_field("split_element_writes"), b0 = info_field("commit_bytes");
    expect_int(lt_conn_call(c0, "HSET", "big", "field:7", "changed", NULL), 0, "HSET big");
    settle();
    long long w1 = info_field("split_element_writes"), b1 = info_field("commit_bytes");
    lt_check(w1 - w0 == 1, "one HSET on a 100 000-field hash writes one element (%lld)", w1 - w0);
    lt_check(b1 - b0 > 0 && b1 - b0 < 1024, "... and commits under 1 KB (%lld bytes)", b1 - b0);
    lt_reply *ri = lt_conn_call(c0, "INFO", "persistence", NULL);
    long long cp_keys = -1, cp_bytes = -1;
    lt_info_field(ri, "checkpoint_last_keys", &cp_keys);
    lt_info_field(ri, "checkpoint_last_bytes", &cp_bytes);
    lt_reply_free(ri);
    lt_check(cp_keys == 1 && cp_bytes == b1 - b0,
             "INFO persistence: the last checkpoint had 1 key and %lld bytes (%lld, %lld)", b1 - b0,
             cp_keys, cp_bytes);
    /* read back from RocksDB */
    expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");
    lt_reply *r = lt_conn_call(c0, "HGET", "big", "field:7", NULL);
    lt_check_reply(r, "\"changed\"", "HGET big after reload");
    lt_reply_free(r);
    r = lt_conn_call(c0, "HGET", "big", "field:99999", NULL);
    lt_check_reply(r, "\"99999\"", "HGET big after reload");
    lt_reply_free(r);
    /* a big list: one push is one element */
    for (int j = 0; j < 2000; j++) {
        sprintf(val, "%d", j);
        lt_reply_free(lt_conn_call(c0, "RPUSH", "biglist", val, NULL));
    }
    settle();
    w0 = info_field("split_element_writes");
    expect_int(lt_conn_call(c0, "LPUSH", "biglist", "first", NULL), 2001, "LPUSH biglist");
    settle();
    w1 = info_field("split_element_writes");
    lt_check(w1 - w0 == 1, "one LPUSH on a 2000-element list writes one element (%lld)", w1 - w0);
    expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");
    r = lt_conn_call(c0, "LRANGE", "biglist", "0", "1", NULL);
    lt_check_reply(r, "*2[\"first\",\"0\"]", "LRANGE biglist after reload");
    lt_reply_free(r);
    long long g0 = info_field("split_garbage_ranges");
    expect_int(lt_conn_call(c0, "DEL", "big", NULL), 1, "DEL big");
    settle();
    long long g1 = info_field("split_garbage_ranges");
    lt_check(g1 - g0 == 1, "DEL of a split hash removes its elements with one range (%lld)",
             g1 - g0);
    expect_int(lt_conn_call(c0, "EXISTS", "big", NULL), 0, "EXISTS big");
    /* threshold 0: a new big hash is written whole */
    set_config("storage-split-threshold", "0");
    long long s0 = info_field("split_whole_writes");
    for (int j = 0; j < 600; j++) {
        sprintf(field, "f%d", j);
        sprintf(val, "%d", j);
        lt_reply_free(lt_conn_call(c0, "HSET", "whole", field, val, NULL));
    }
    lt_check(info_field("split_whole_writes") == s0, "storage-split-threshold 0: nothing split");
    expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");
    expect_int(lt_conn_call(c0, "HLEN", "whole", NULL), 600, "HLEN whole after reload");
}

/* Fills key with n elements through pipelined commands of 1000 elements:
 * HSET field:i i, SADD m:i, ZADD i m:i or RPUSH e:i. */
static void fill(const char *cmd, const char *key, int n)
{
    static char items[2000][24];
    const char *argv[2 + 2000];
    size_t lens[2 + 2000];
    int pairs = !strcmp(cmd, "HSET") || !strcmp(cmd, "ZADD"), batches = 0;
    lt_buf pipe = {0};
    for (int base = 0; base < n; base += 1000, batches++) {
        int argc = 2;
        argv[0] = cmd;
        argv[1] = key;
        for (int j = base; j < n && j < base + 1000; j++) {
            char *a = items[argc - 2], *b = items[argc - 1];
            if (!strcmp(cmd, "HSET")) {
                sprintf(a, "field:%d", j);
                sprintf(b, "%d", j);
            } else if (!strcmp(cmd, "ZADD")) {
                sprintf(a, "%d", j);
                sprintf(b, "m:%d", j);
            } else {
                sprintf(a, "%c:%d", cmd[0] == 'S' ? 'm' : 'e', j);
            }
            argv[argc++] = a;
            if (pairs)
                argv[argc++] = b;
        }
        for (int j = 0; j < argc; j++)
            lens[j] = strlen(argv[j]);
        lt_format_command(&pipe, argc, argv, lens);
    }
    lt_conn_send_raw(c0, pipe.p, pipe.len);
    free(pipe.p);
    for (int i = 0; i < batches; i++) {
        lt_reply *r;
        lt_conn_read(c0, &r);
        lt_reply_free(r);
    }
}

struct counters {
    long long promotions, sync_loads, element_reads, header_reads, garbage;
};

static void counters_get(struct counters *k)
{
    k->promotions = info_field("promotions");
    k->sync_loads = info_field("sync_loads");
    k->element_reads = info_field("split_element_reads");
    k->header_reads = info_field("prefetch_header_reads");
    k->garbage = info_field("split_garbage_ranges");
}

/* Nothing was loaded since k0, and header_reads split values were read as
 * their header. */
static void expect_no_load(const struct counters *k0, long long header_reads, const char *what)
{
    struct counters k;
    counters_get(&k);
    lt_check(k.promotions == k0->promotions && k.sync_loads == k0->sync_loads &&
                 k.element_reads == k0->element_reads,
             "%s: no promotion (%lld), sync load (%lld) or element read (%lld)", what,
             k.promotions - k0->promotions, k.sync_loads - k0->sync_loads,
             k.element_reads - k0->element_reads);
    lt_check(k.header_reads - k0->header_reads == header_reads,
             "%s: %lld header-only reads (want %lld)", what, k.header_reads - k0->header_reads,
             header_reads);
}

static void expect_status(lt_reply *r, const char *want, const char *what)
{
    lt_check_replied(r && r->type == '+' && !strcmp(r->str, want), "%s: want +%s", what, want);
    lt_reply_free(r);
}

static void expect_bulk(lt_reply *r, const char *want, const char *what)
{
    lt_check_replied(r && r->type == '$' && !r->null && !strcmp(r->str, want), "%s: want \"%s\"",
                     what, want);
    lt_reply_free(r);
}

/* Part 3: commands that need no value never build a cold split one. */
static void cold_meta(void)
{
    static const char *keys[] = {"cold:hash", "cold:set", "cold:zset", "cold:list"};
    static const char *types[] = {"hash", "set", "zset", "list"};
    static const char *encs[] = {"hashtable", "hashtable", "skiplist", "quicklist"};
    set_config("storage-split-threshold", "64");
    set_config("maxmemory", "0");
    fill("HSET", keys[0], BIG);
    fill("SADD", keys[1], 2000);
    fill("ZADD", keys[2], 2000);
    fill("RPUSH", keys[3], 2000);
    expect_int(lt_conn_call(c0, "EXPIREAT", keys[2], "4102444800", NULL), 1, "EXPIREAT");
    long long dbsize0 = 0;
    lt_reply *r = lt_conn_call(c0, "DBSIZE", NULL);
    if (r && r->type == ':')
        dbsize0 = r->integer;
    lt_reply_free(r);
    expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");
    lt_check(info_field("hot_keys") == 0, "every key is cold");

    struct counters k0, k1;
    counters_get(&k0);
    expect_int(lt_conn_call(c0, "EXISTS", keys[0], keys[1], keys[2], keys[3], "nokey", NULL), 4,
               "EXISTS of 4 cold split keys");
    for (int i = 0; i < 4; i++) {
        expect_status(lt_conn_call(c0, "TYPE", keys[i], NULL), types[i], "TYPE");
        expect_bulk(lt_conn_call(c0, "OBJECT", "ENCODING", keys[i], NULL), encs[i],
                    "OBJECT ENCODING");
        r = lt_conn_call(c0, "TTL", keys[i], NULL);
        lt_check_replied(r && r->type == ':' && (i == 2 ? r->integer > 1000000 : r->integer == -1),
                         "TTL of cold %s", keys[i]);
        lt_reply_free(r);
    }
    r = lt_conn_call(c0, "EXPIRETIME", keys[2], NULL);
    lt_check_replied(r && r->type == ':' && r->integer == 4102444800LL,
                     "EXPIRETIME of a cold zset");
    lt_reply_free(r);
    r = lt_conn_call(c0, "PEXPIRETIME", keys[0], NULL);
    lt_check_replied(r && r->type == ':' && r->integer == -1, "PEXPIRETIME of a cold hash");
    lt_reply_free(r);
    expect_no_load(&k0, 4 + 4 * 3 + 2, "EXISTS TYPE OBJECT ENCODING TTL of cold split keys");

    /* the element counts, from the header; a wrong type is still refused */
    static const char *counts[] = {"HLEN", "SCARD", "ZCARD", "LLEN"};
    counters_get(&k0);
    for (int i = 0; i < 4; i++) {
        expect_int(lt_conn_call(c0, counts[i], keys[i], NULL), i == 0 ? BIG : 2000, counts[i]);
        r = lt_conn_call(c0, counts[i], keys[(i + 1) % 4], NULL);
        lt_check_replied(r && r->type == '-' && !strncmp(r->str, "WRONGTYPE", 9), "%s of a cold %s",
                         counts[i], types[(i + 1) % 4]);
        lt_reply_free(r);
    }
    expect_int(lt_conn_call(c0, "HLEN", "nokey", NULL), 0, "HLEN nokey");
    expect_no_load(&k0, 8, "HLEN SCARD ZCARD LLEN of cold split keys");

    /* the counters do move when the value is needed */
    counters_get(&k0);
    expect_int(lt_conn_call(c0, "HSTRLEN", keys[0], "nofield", NULL), 0, "HSTRLEN cold:hash");
    counters_get(&k1);
    lt_check(k1.promotions - k0.promotions == 1 && k1.element_reads - k0.element_reads == BIG,
             "HSTRLEN of a cold hash loads it: 1 promotion, %d element reads (%lld)", BIG,
             k1.element_reads - k0.element_reads);
    expect_int(lt_conn_call(c0, "HLEN", keys[0], NULL), BIG, "HLEN of the hash now hot");
    expect_ok(lt_conn_call(c0, "DEBUG", "RELOAD", NULL), "DEBUG RELOAD");

    counters_get(&k0);
    expect_int(lt_conn_call(c0, "DEL", keys[0], NULL), 1, "DEL of a cold 100 000-field hash");
    settle();
    expect_no_load(&k0, 1, "DEL of a cold 100 000-field hash");
    counters_get(&k1);
    lt_check(k1.garbage - k0.garbage == 1, "... queues one DeleteRange (%lld)",
             k1.garbage - k0.garbage);
    counters_get(&k0);
    expect_int(lt_conn_call(c0, "UNLINK", keys[1], "nokey", keys[2], keys[3], keys[1], NULL), 3,
               "UNLINK of a cold set, sorted set and list");
    settle();
    expect_no_load(&k0, 3, "UNLINK of cold split keys");
    counters_get(&k1);
    lt_check(k1.garbage - k0.garbage == 3, "... queues three DeleteRanges (%lld)",
             k1.garbage - k0.garbage);
    expect_int(lt_conn_call(c0, "DBSIZE", NULL), dbsize0 - 4, "DBSIZE after DEL and UNLINK");
    expect_int(lt_conn_call(c0, "EXISTS", keys[0], keys[1], keys[2], keys[3], NULL), 0,
               "EXISTS after DEL");

    /* the deletions are stored: the same after a restart */
    close_all();
    lt_check(lt_server_stop(&srv) == 0, "SIGTERM: exit status 0");
    lt_check(lt_server_restart(&srv) == 0, "restart");
    connect_all();
    expect_int(lt_conn_call(c0, "DBSIZE", NULL), dbsize0 - 4, "DBSIZE after restart");
    expect_int(lt_conn_call(c0, "EXISTS", keys[0], keys[1], keys[2], keys[3], NULL), 0,
               "EXISTS after restart");
    expect_int(lt_conn_call(c0, "HLEN", keys[0], NULL), 0, "HLEN after restart");
}

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-split") != 0)
        return 2;
    /* 5 phases of the model run; parts 2 and 3 are longtail's own. */
    lt_plan(opts.reference ? 5 : 7);
    lt_test_begin(phase_tests[0]);
    const char *lt_args[] = {"--storage-split-threshold",
                             "64",
                             "--hash-max-listpack-entries",
                             "16",
                             "--appendfsync",
                             "always",
                             "--enable-debug-command",
                             "yes"};
    const char *redis_args[] = {"--appendonly",
                                "yes",
                                "--appendfsync",
                                "always",
                                "--hash-max-listpack-entries",
                                "16",
                                "--enable-debug-command",
                                "yes",
                                "--save",
                                ""};
    int rc = opts.reference ? lt_server_start(&srv, opts.server, redis_args, 10)
                            : lt_server_start(&srv, opts.server, lt_args, 8);
    if (rc != 0) {
        lt_check(0, "server start");
        return lt_report("lt-split");
    }
    connect_all();
    model_run();
    if (!opts.reference) {
        lt_test_begin("one change of a split collection writes one element");
        big_hash();
        lt_test_begin("commands that need no value never load a cold split one");
        cold_meta();
    }
    close_all();
    for (int h = 0; h < NHASH; h++)
        model_clear(h);
    lmodel_remove(0, llen);
    int status = lt_report("lt-split");
    lt_server_cleanup(&srv, status != 0);
    return status;
}
