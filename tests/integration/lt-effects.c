/*
 * lt-effects: the effect log holds exactly what rebuilds the data
 * (DESIGN.md §2 "The write path", src/repl/effects.h).
 *
 *   lt-effects [--server PATH] [--mode hot|cold] [--seed N] [--ops N]
 *              [--redis PATH] [-v]
 *
 * A seeded workload (the same commands for the same seed; what the server
 * picks at random, such as SPOP's members, is its own) goes to one
 * longtail-server through two connections: every data type and most write
 * commands, with the ones whose effect is not their own arguments among
 * them (SPOP with and without a count, INCRBYFLOAT, HINCRBYFLOAT, SET and
 * GETEX with expire options, SETEX, relative EXPIRE and PEXPIRE, GETSET,
 * GETDEL, GEOADD, LMPOP, ZMPOP, blocking pops served at once and served
 * later through the second connection, PFCOUNT updating its cached count),
 * MULTI/EXEC with SELECT inside, four dbs, MOVE, COPY, RENAME, SWAPDB,
 * FLUSHDB, SORT ... STORE and the *STORE commands, and keys that expire
 * (found on access and by the active cycle). After a pause that lets the
 * short TTLs pass, one EXISTS per db over every key name deletes what
 * expired and was not deleted yet. Then, each a test:
 *   1. the workload ran, and redis-check-aof finds every log file
 *      (appendonlydir/appendonly.aof.<N>.incr.aof) valid;
 *   2. the log holds only commands Redis 7.0 propagates (no SPOP, EXPIRE,
 *      INCRBYFLOAT, BLPOP..., no SET EX or GET), MULTI/EXEC well nested,
 *      and each kind of rewrite appears in it;
 *   3. a fresh redis-server 7.0.15 (no persistence, active expiry off so
 *      that only the log deletes keys) fed the files in order through
 *      `redis-cli --pipe` replies no error, has a DEBUG DIGEST that is not
 *      the empty one, and holds the same keys: DEBUG DIGEST-VALUE and
 *      PEXPIRETIME of every key name in every db, DBSIZE of every db.
 *      (longtail's own DEBUG DIGEST walks its storage, which writes a
 *      checkpoint first: test 4 would replay nothing);
 *   4. longtail killed with SIGKILL and started again on its directory
 *      (the log's tail replayed) has redis-server's DEBUG DIGEST, and the
 *      same keys as before the kill;
 *   5. (hot) keys whose short TTL passed before the restart but that a
 *      later command in the log kept (PERSIST, a longer PEXPIRE, RENAME,
 *      GETEX PERSIST) are there after the replay, as after Redis loads its
 *      AOF.
 * Keys that differ are printed (the lines of DIGEST-VALUE and PEXPIRETIME,
 * the first key's type, TTL and value on both servers), with the seed to
 * run it again.
 *
 * Keys that get a short TTL (tmp:*, tmpset:*) only see commands whose
 * effect is the same whether the key is still there or already expired
 * when the log is read again (writes that keep the TTL, reads, DEL): a
 * command that saves an expiring key (PERSIST, a longer EXPIRE, RENAME)
 * finds it expired when the log is fed to redis-server later, through a
 * client. Other keys get TTLs of hours, or times already past.
 *
 * Modes: hot (checkpoint-interval one hour; FLUSHDB and SWAPDB, which
 * checkpoint at once, only in the first half: the restart replays the
 * second half of the log) and cold (--maxmemory 1, checkpoints as
 * configured: keys are read back from storage, the restart replays the
 * tail after the last checkpoint, often nothing).
 */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#define DEFAULT_SEED 20240611ULL
#define DEFAULT_OPS  2500
#define NDBS         4   /* dbs the workload uses */
#define SHORT_TTL_MS 300 /* the longest short TTL */
#define SETTLE_MS    1000
#define MAX_ARGV     96
#define EMPTY_DIGEST "0000000000000000000000000000000000000000"

static const char *name = "lt-effects";
static int cold;
static unsigned long long seed = DEFAULT_SEED;
static unsigned long long rng;
static int nops = DEFAULT_OPS;
static lt_server srv, ref;

/* ---- commands --------------------------------------------------------------- */

struct cmd {
    int argc;
    char *argv[MAX_ARGV];
};

static void cmd_clear(struct cmd *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    c->argc = 0;
}

static void arg(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct cmd *c, const char *fmt, ...)
{
    if (c->argc == MAX_ARGV)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&c->argv[c->argc], fmt, ap) < 0)
        abort();
    va_end(ap);
    c->argc++;
}

static unsigned rnd(unsigned n)
{
    return (unsigned)(lt_rand_next(&rng) % n);
}

static const char *pick(const char *const *a, unsigned n)
{
    return a[rnd(n)];
}
#define PICK(a) pick(a, sizeof(a) / sizeof((a)[0]))

/* The key families: one type each, so that a command never meets a key
 * of another type by accident (errors change nothing and are not logged,
 * but they would test nothing either). */
enum {
    F_STR,
    F_NUM,
    F_BIT,
    F_HLL,
    F_LIST,
    F_HASH,
    F_SET,
    F_ZSET,
    F_GEO,
    F_TMP,    /* strings with short TTLs */
    F_TMPSET, /* sets with short TTLs */
    NFAM
};
static const struct family {
    const char *prefix;
    unsigned n;
} fams[NFAM] = {{"str", 8}, {"num", 4},  {"bit", 4}, {"hll", 4}, {"list", 6},  {"hash", 4},
                {"set", 6}, {"zset", 6}, {"geo", 3}, {"tmp", 8}, {"tmpset", 4}};

static void key(struct cmd *c, int fam)
{
    arg(c, "%s:%u", fams[fam].prefix, rnd(fams[fam].n));
}

/* Two different keys of a family. */
static void two_keys(struct cmd *c, int fam)
{
    unsigned a = rnd(fams[fam].n), b = (a + 1 + rnd(fams[fam].n - 1)) % fams[fam].n;
    arg(c, "%s:%u", fams[fam].prefix, a);
    arg(c, "%s:%u", fams[fam].prefix, b);
}

/* A string value: short words, integers, sometimes empty or binary-ish. */
static void value(struct cmd *c)
{
    unsigned k = rnd(10);
    if (k < 3) {
        arg(c, "%d", (int)rnd(2000) - 1000);
    } else if (k == 3) {
        arg(c, "%s", "");
    } else if (k == 4) {
        arg(c, "v\t%u\x01\xff", rnd(100));
    } else {
        char buf[40];
        unsigned len = 1 + rnd(30);
        for (unsigned i = 0; i < len; i++)
            buf[i] = (char)('a' + rnd(26));
        buf[len] = 0;
        arg(c, "%s", buf);
    }
}

static void member(struct cmd *c)
{
    /* integers keep small sets intsets; words turn them into hash tables */
    if (rnd(3))
        arg(c, "%u", rnd(40));
    else
        arg(c, "m%u", rnd(40));
}

static const char *floats[] = {"0.1",  "1.5",   "-2.25", "1e2", "3.0e-3", "10.5",
                               "-0.1", "5.0e3", "0.2",   "7",   "-13.75", "1.1e-7"};

static long long long_ttl_s(void)
{
    return 3600 + rnd(100000);
}

static long long now_ms(void)
{
    return lt_now_ms();
}

/* ---- the workload's commands ------------------------------------------------ */

static void gen_string(struct cmd *c)
{
    static const char *const setopts[] = {"NX", "XX", "GET", "KEEPTTL", "get"};
    switch (rnd(22)) {
    case 0:
    case 1:
        arg(c, "SET"), key(c, F_STR), value(c);
        break;
    case 2:
        arg(c, "set"), key(c, F_STR), value(c), arg(c, "%s", PICK(setopts));
        break;
    case 3:
        arg(c, "SET"), key(c, F_STR), value(c), arg(c, "EX"), arg(c, "%lld", long_ttl_s());
        if (rnd(2))
            arg(c, "GET");
        break;
    case 4:
        arg(c, "SET"), key(c, F_STR), value(c), arg(c, "PX"), arg(c, "%lld", long_ttl_s() * 1000);
        if (rnd(2))
            arg(c, "NX");
        break;
    case 5:
        arg(c, "SET"), key(c, F_STR), value(c), arg(c, "EXAT");
        arg(c, "%lld", now_ms() / 1000 + long_ttl_s());
        break;
    case 6:
        /* an absolute time: long ahead, or already past (stored, expires at once) */
        arg(c, "SET"), key(c, F_STR), value(c), arg(c, "PXAT");
        arg(c, "%lld", rnd(4) ? now_ms() + long_ttl_s() * 1000 : now_ms() - 1000);
        break;
    case 7:
        arg(c, "SETNX"), key(c, F_STR), value(c);
        break;
    case 8:
        arg(c, rnd(2) ? "SETEX" : "setex"), key(c, F_STR), arg(c, "%lld", long_ttl_s()), value(c);
        break;
    case 9:
        arg(c, "PSETEX"), key(c, F_STR), arg(c, "%lld", long_ttl_s() * 1000), value(c);
        break;
    case 10:
        arg(c, rnd(2) ? "MSET" : "MSETNX"), key(c, F_STR), value(c), key(c, F_STR), value(c);
        break;
    case 11:
        arg(c, "GETSET"), key(c, F_STR), value(c);
        break;
    case 12:
        arg(c, "GETDEL"), key(c, F_STR);
        break;
    case 13: {
        arg(c, "GETEX"), key(c, F_STR);
        switch (rnd(7)) {
        case 0:
            arg(c, "EX"), arg(c, "%lld", long_ttl_s());
            break;
        case 1:
            arg(c, "PX"), arg(c, "%lld", long_ttl_s() * 1000);
            break;
        case 2:
            arg(c, "EXAT"), arg(c, "%lld", now_ms() / 1000 + long_ttl_s());
            break;
        case 3:
            arg(c, "PXAT"), arg(c, "%lld", now_ms() + long_ttl_s() * 1000);
            break;
        case 4:
            arg(c, "PERSIST");
            break;
        case 5:
            arg(c, "EXAT"), arg(c, "%lld", now_ms() / 1000 - 10); /* past: deletes */
            break;
        default:
            break; /* no option: a read */
        }
        break;
    }
    case 14:
    case 15:
        arg(c, "APPEND"), key(c, F_STR), value(c);
        break;
    case 16:
    case 17:
        arg(c, "SETRANGE"), key(c, F_STR), arg(c, "%u", rnd(rnd(4) ? 20 : 80)), value(c);
        break;
    case 18:
        arg(c, "GET"), key(c, F_STR);
        break;
    case 19:
        arg(c, "INCRBYFLOAT"), key(c, F_NUM), arg(c, "%s", PICK(floats));
        break;
    case 20: {
        static const char *const ops[] = {"INCR", "DECR", "INCRBY", "DECRBY"};
        const char *op = PICK(ops);
        arg(c, "%s", op), key(c, F_NUM);
        if (op[strlen(op) - 1] == 'Y')
            arg(c, "%d", (int)rnd(200) - 100);
        break;
    }
    default:
        arg(c, "SET"), key(c, F_NUM), arg(c, "%d", (int)rnd(100));
        break;
    }
}

static void gen_bits(struct cmd *c)
{
    static const char *const types[] = {"u8", "i5", "u1", "i16", "u31"};
    static const char *const overflow[] = {"WRAP", "SAT", "FAIL"};
    switch (rnd(6)) {
    case 0:
    case 1:
        arg(c, "SETBIT"), key(c, F_BIT), arg(c, "%u", rnd(300)), arg(c, "%u", rnd(2));
        break;
    case 2:
    case 3:
        arg(c, "BITFIELD"), key(c, F_BIT);
        for (unsigned n = 1 + rnd(3); n > 0; n--) {
            switch (rnd(4)) {
            case 0:
                arg(c, "SET"), arg(c, "%s", PICK(types)), arg(c, "#%u", rnd(10));
                arg(c, "%d", (int)rnd(300) - 100);
                break;
            case 1:
                arg(c, "INCRBY"), arg(c, "%s", PICK(types)), arg(c, "%u", rnd(120));
                arg(c, "%d", (int)rnd(300) - 100);
                break;
            case 2:
                arg(c, "OVERFLOW"), arg(c, "%s", PICK(overflow));
                break;
            default:
                arg(c, "GET"), arg(c, "%s", PICK(types)), arg(c, "%u", rnd(64));
                break;
            }
        }
        break;
    case 4: {
        static const char *const ops[] = {"AND", "OR", "XOR"};
        arg(c, "BITOP"), arg(c, "%s", PICK(ops)), key(c, F_BIT), key(c, F_BIT), key(c, F_BIT);
        break;
    }
    default:
        arg(c, "BITOP"), arg(c, "NOT"), two_keys(c, F_BIT);
        break;
    }
}

static void gen_hll(struct cmd *c)
{
    switch (rnd(6)) {
    case 0:
    case 1: {
        arg(c, "PFADD"), key(c, F_HLL);
        /* now and then enough elements to make it dense */
        unsigned n = rnd(40) ? 1 + rnd(8) : MAX_ARGV - 3;
        unsigned base = rnd(rnd(2) ? 100 : 100000);
        for (unsigned i = 0; i < n; i++)
            arg(c, "e%u", base + i * 7);
        break;
    }
    case 2:
    case 3:
        arg(c, "PFCOUNT"), key(c, F_HLL); /* a count that was not cached is stored */
        break;
    case 4:
        arg(c, "PFCOUNT"), two_keys(c, F_HLL);
        break;
    default:
        arg(c, "PFMERGE"), key(c, F_HLL), key(c, F_HLL), key(c, F_HLL);
        break;
    }
}

static void gen_list(struct cmd *c)
{
    static const char *const ends[] = {"LEFT", "RIGHT", "left", "right"};
    switch (rnd(17)) {
    case 0:
    case 1:
    case 2: {
        static const char *const push[] = {"LPUSH", "RPUSH", "LPUSHX", "RPUSHX"};
        arg(c, "%s", PICK(push)), key(c, F_LIST);
        for (unsigned n = 1 + rnd(5); n > 0; n--)
            rnd(2) ? member(c) : value(c);
        break;
    }
    case 3:
        arg(c, rnd(2) ? "LPOP" : "RPOP"), key(c, F_LIST);
        if (rnd(2))
            arg(c, "%u", rnd(4));
        break;
    case 4:
        arg(c, "LINSERT"), key(c, F_LIST), arg(c, rnd(2) ? "BEFORE" : "AFTER"), member(c);
        value(c);
        break;
    case 5:
        arg(c, "LREM"), key(c, F_LIST), arg(c, "%d", (int)rnd(5) - 2), member(c);
        break;
    case 6:
        arg(c, "LSET"), key(c, F_LIST), arg(c, "%d", (int)rnd(8) - 4), value(c);
        break;
    case 7:
        arg(c, "LTRIM"), key(c, F_LIST), arg(c, "%d", (int)rnd(3)), arg(c, "%d", (int)rnd(12) - 2);
        break;
    case 8:
        arg(c, "LMOVE"), key(c, F_LIST), key(c, F_LIST), arg(c, "%s", PICK(ends));
        arg(c, "%s", PICK(ends));
        break;
    case 9:
        arg(c, "RPOPLPUSH"), key(c, F_LIST), key(c, F_LIST);
        break;
    case 10:
        arg(c, "LMPOP"), arg(c, "2"), two_keys(c, F_LIST), arg(c, "%s", PICK(ends));
        if (rnd(2))
            arg(c, "COUNT"), arg(c, "%u", 1 + rnd(4));
        break;
    case 11:
        /* blocking pops with a timeout: served at once, or nothing after 10 ms */
        arg(c, rnd(2) ? "BLPOP" : "BRPOP"), two_keys(c, F_LIST), arg(c, "0.01");
        break;
    case 12:
        arg(c, "BLMOVE"), key(c, F_LIST), key(c, F_LIST), arg(c, "%s", PICK(ends));
        arg(c, "%s", PICK(ends)), arg(c, "0.01");
        break;
    case 13:
        arg(c, "BRPOPLPUSH"), key(c, F_LIST), key(c, F_LIST), arg(c, "0.01");
        break;
    case 14:
        arg(c, "BLMPOP"), arg(c, "0.01"), arg(c, "2"), two_keys(c, F_LIST);
        arg(c, "%s", PICK(ends)), arg(c, "COUNT"), arg(c, "%u", 1 + rnd(5));
        break;
    case 15:
        /* SORT ... STORE: a list sorted as words, a set as numbers, a sorted
         * set in its own order */
        switch (rnd(3)) {
        case 0:
            arg(c, "SORT"), key(c, F_LIST), arg(c, "ALPHA");
            if (rnd(2))
                arg(c, "DESC");
            break;
        case 1:
            arg(c, "SORT"), key(c, F_SET);
            if (rnd(2))
                arg(c, "LIMIT"), arg(c, "%u", rnd(3)), arg(c, "%u", 1 + rnd(6));
            break;
        default:
            arg(c, "SORT"), key(c, F_ZSET), arg(c, "BY"), arg(c, "nosort");
            break;
        }
        arg(c, "STORE"), key(c, F_LIST);
        break;
    default:
        arg(c, "LRANGE"), key(c, F_LIST), arg(c, "0"), arg(c, "-1");
        break;
    }
}

static void gen_hash(struct cmd *c)
{
    switch (rnd(8)) {
    case 0:
    case 1:
        arg(c, rnd(2) ? "HSET" : "HMSET"), key(c, F_HASH);
        for (unsigned n = 1 + rnd(4); n > 0; n--)
            arg(c, "f%u", rnd(10)), value(c);
        break;
    case 2:
        arg(c, "HSETNX"), key(c, F_HASH), arg(c, "f%u", rnd(10)), value(c);
        break;
    case 3:
        arg(c, "HDEL"), key(c, F_HASH), arg(c, "f%u", rnd(10)), arg(c, "f%u", rnd(10));
        break;
    case 4:
        arg(c, "HINCRBY"), key(c, F_HASH), arg(c, "cnt"), arg(c, "%d", (int)rnd(100) - 50);
        break;
    case 5:
    case 6:
        arg(c, "HINCRBYFLOAT"), key(c, F_HASH), arg(c, "flt%u", rnd(2));
        arg(c, "%s", PICK(floats));
        break;
    default:
        arg(c, "HGETALL"), key(c, F_HASH);
        break;
    }
}

static void gen_set(struct cmd *c)
{
    switch (rnd(12)) {
    case 0:
    case 1:
    case 2:
        arg(c, "SADD"), key(c, F_SET);
        for (unsigned n = rnd(8) ? 1 + rnd(5) : 30; n > 0; n--)
            member(c);
        break;
    case 3:
        arg(c, "SREM"), key(c, F_SET), member(c), member(c);
        break;
    case 4:
        arg(c, "SPOP"), key(c, F_SET);
        break;
    case 5:
    case 6:
        /* a count of 0, a few, nearly all (the other strategy), all */
        arg(c, "SPOP"), key(c, F_SET), arg(c, "%u", rnd(4) ? rnd(6) : 10 + rnd(30));
        break;
    case 7:
        arg(c, "SMOVE"), key(c, F_SET), key(c, F_SET), member(c);
        break;
    case 8: {
        static const char *const ops[] = {"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"};
        arg(c, "%s", PICK(ops)), key(c, F_SET), key(c, F_SET), key(c, F_SET);
        break;
    }
    case 9:
        arg(c, "SRANDMEMBER"), key(c, F_SET);
        if (rnd(2))
            arg(c, "%d", (int)rnd(10) - 5);
        break;
    default:
        arg(c, "SMEMBERS"), key(c, F_SET);
        break;
    }
}

static void score(struct cmd *c)
{
    static const char *const s[] = {"0", "1", "2.5", "-3", "0.1", "1e-3", "100", "-0.25", "7"};
    if (rnd(2))
        arg(c, "%s", PICK(s));
    else
        arg(c, "%d", (int)rnd(50));
}

static void gen_zset(struct cmd *c)
{
    static const char *const minmax[] = {"MIN", "MAX", "min", "max"};
    switch (rnd(18)) {
    case 0:
    case 1:
    case 2: {
        static const char *const opts[] = {"NX", "XX", "GT", "LT", "CH"};
        arg(c, "ZADD"), key(c, F_ZSET);
        if (rnd(3) == 0)
            arg(c, "%s", PICK(opts));
        for (unsigned n = rnd(10) ? 1 + rnd(4) : 20; n > 0; n--)
            score(c), member(c);
        break;
    }
    case 3:
        arg(c, "ZADD"), key(c, F_ZSET), arg(c, "INCR"), score(c), member(c);
        break;
    case 4:
        arg(c, "ZINCRBY"), key(c, F_ZSET), score(c), member(c);
        break;
    case 5:
        arg(c, "ZREM"), key(c, F_ZSET), member(c), member(c);
        break;
    case 6:
        arg(c, "ZREMRANGEBYSCORE"), key(c, F_ZSET), arg(c, "%d", (int)rnd(20)),
            arg(c, "%d", (int)rnd(40));
        break;
    case 7:
        arg(c, "ZREMRANGEBYRANK"), key(c, F_ZSET), arg(c, "0"), arg(c, "%u", rnd(2));
        break;
    case 8:
        arg(c, "ZREMRANGEBYLEX"), key(c, F_ZSET), arg(c, "[1"), arg(c, "(3");
        break;
    case 9:
        arg(c, rnd(2) ? "ZPOPMIN" : "ZPOPMAX"), key(c, F_ZSET);
        if (rnd(2))
            arg(c, "%u", rnd(4));
        break;
    case 10:
        arg(c, "ZMPOP"), arg(c, "2"), two_keys(c, F_ZSET), arg(c, "%s", PICK(minmax));
        if (rnd(2))
            arg(c, "COUNT"), arg(c, "%u", 1 + rnd(5));
        break;
    case 11:
        arg(c, rnd(2) ? "BZPOPMIN" : "BZPOPMAX"), two_keys(c, F_ZSET), arg(c, "0.01");
        break;
    case 12:
        arg(c, "BZMPOP"), arg(c, "0.01"), arg(c, "2"), two_keys(c, F_ZSET);
        arg(c, "%s", PICK(minmax)), arg(c, "COUNT"), arg(c, "%u", 1 + rnd(5));
        break;
    case 13: {
        static const char *const ops[] = {"ZUNIONSTORE", "ZINTERSTORE"};
        static const char *const aggr[] = {"SUM", "MIN", "MAX"};
        arg(c, "%s", PICK(ops)), key(c, F_ZSET), arg(c, "2"), two_keys(c, F_ZSET);
        if (rnd(2))
            arg(c, "WEIGHTS"), arg(c, "2"), arg(c, "0.5");
        if (rnd(2))
            arg(c, "AGGREGATE"), arg(c, "%s", PICK(aggr));
        break;
    }
    case 14:
        arg(c, "ZDIFFSTORE"), key(c, F_ZSET), arg(c, "2"), two_keys(c, F_ZSET);
        break;
    case 15:
        arg(c, "ZRANGESTORE"), key(c, F_ZSET), key(c, F_ZSET), arg(c, "0"), arg(c, "%u", rnd(5));
        break;
    default:
        arg(c, "ZRANGE"), key(c, F_ZSET), arg(c, "0"), arg(c, "-1"), arg(c, "WITHSCORES");
        break;
    }
}

static void lonlat(struct cmd *c)
{
    /* around a point, so that searches find some */
    arg(c, "%.6f", 13.0 + (double)rnd(2000000) / 1e6);
    arg(c, "%.6f", 38.0 + (double)rnd(1000000) / 1e6);
}

static void gen_geo(struct cmd *c)
{
    switch (rnd(6)) {
    case 0:
    case 1:
    case 2: {
        static const char *const opts[] = {"NX", "XX", "CH"};
        arg(c, "GEOADD"), key(c, F_GEO);
        if (rnd(3) == 0)
            arg(c, "%s", PICK(opts));
        for (unsigned n = 1 + rnd(3); n > 0; n--)
            lonlat(c), arg(c, "p%u", rnd(30));
        break;
    }
    case 3:
        arg(c, "GEOSEARCHSTORE"), key(c, F_GEO), key(c, F_GEO), arg(c, "FROMLONLAT"), lonlat(c);
        arg(c, "BYRADIUS"), arg(c, "%u", 20 + rnd(100)), arg(c, "km"), arg(c, "ASC");
        if (rnd(2))
            arg(c, "COUNT"), arg(c, "%u", 1 + rnd(5));
        break;
    case 4:
        arg(c, "GEORADIUS"), key(c, F_GEO), lonlat(c), arg(c, "%u", 20 + rnd(100)), arg(c, "km");
        arg(c, "STORE"), key(c, F_GEO);
        break;
    default:
        arg(c, "GEORADIUSBYMEMBER"), key(c, F_GEO), arg(c, "p%u", rnd(30));
        arg(c, "%u", 20 + rnd(100)), arg(c, "km"), arg(c, "STORE"), key(c, F_GEO);
        break;
    }
}

/* Keys with short TTLs: only commands whose effect does not depend on
 * whether the key expired already (see the top of the file). */
static void gen_tmp(struct cmd *c)
{
    switch (rnd(10)) {
    case 0:
    case 1:
        arg(c, "SET"), key(c, F_TMP), arg(c, "%u", rnd(100)), arg(c, "PX");
        arg(c, "%u", 20 + rnd(SHORT_TTL_MS - 20));
        break;
    case 2:
        arg(c, "PSETEX"), key(c, F_TMP), arg(c, "%u", 20 + rnd(SHORT_TTL_MS - 20));
        arg(c, "%u", rnd(100));
        break;
    case 3:
        arg(c, "INCR"), key(c, F_TMP);
        break;
    case 4:
        arg(c, rnd(2) ? "GET" : "EXISTS"), key(c, F_TMP); /* expires on access */
        break;
    case 5:
        arg(c, "SADD"), key(c, F_TMPSET), member(c), member(c), member(c);
        break;
    case 6:
        arg(c, "PEXPIRE"), key(c, F_TMPSET), arg(c, "%u", 20 + rnd(SHORT_TTL_MS - 20));
        break;
    case 7:
        arg(c, "SPOP"), key(c, F_TMPSET);
        if (rnd(2))
            arg(c, "%u", rnd(3));
        break;
    case 8:
        arg(c, "SCARD"), key(c, F_TMPSET);
        break;
    default:
        arg(c, "DEL"), key(c, rnd(2) ? F_TMP : F_TMPSET);
        break;
    }
}

/* A family whose keys may be renamed, moved, copied and given long TTLs. */
static int plain_family(void)
{
    return (int)rnd(F_TMP);
}

static void gen_keys(struct cmd *c)
{
    int f = plain_family();
    switch (rnd(14)) {
    case 0:
        arg(c, rnd(2) ? "DEL" : "UNLINK"), key(c, f);
        if (rnd(2))
            key(c, plain_family());
        break;
    case 1:
        arg(c, rnd(2) ? "RENAME" : "RENAMENX"), two_keys(c, f);
        break;
    case 2:
        arg(c, "COPY"), two_keys(c, f);
        if (rnd(2))
            arg(c, "DB"), arg(c, "%u", rnd(NDBS));
        if (rnd(2))
            arg(c, "REPLACE");
        break;
    case 3:
        arg(c, "MOVE"), key(c, f), arg(c, "%u", rnd(NDBS));
        break;
    case 4:
    case 5: {
        static const char *const flags[] = {"NX", "XX", "GT", "LT"};
        arg(c, rnd(2) ? "EXPIRE" : "expire"), key(c, f), arg(c, "%lld", long_ttl_s());
        if (rnd(3) == 0)
            arg(c, "%s", PICK(flags));
        break;
    }
    case 6:
        arg(c, "PEXPIRE"), key(c, f), arg(c, "%lld", long_ttl_s() * 1000);
        break;
    case 7:
        arg(c, "EXPIREAT"), key(c, f), arg(c, "%lld", now_ms() / 1000 + long_ttl_s());
        break;
    case 8:
        arg(c, "PEXPIREAT"), key(c, f), arg(c, "%lld", now_ms() + long_ttl_s() * 1000);
        break;
    case 9:
        /* already past: the key is deleted */
        switch (rnd(3)) {
        case 0:
            arg(c, "EXPIRE"), key(c, f), arg(c, "%d", -(int)rnd(10));
            break;
        case 1:
            arg(c, "EXPIREAT"), key(c, f), arg(c, "%u", 1000 + rnd(1000));
            break;
        default:
            arg(c, "PEXPIREAT"), key(c, f), arg(c, "%lld", now_ms() - 5000);
            break;
        }
        break;
    case 10:
    case 11:
        arg(c, "PERSIST"), key(c, f);
        break;
    default:
        arg(c, "TTL"), key(c, f);
        break;
    }
}

/* One random command (no SELECT, no transaction): into c. */
static void gen_command(struct cmd *c)
{
    static void (*const gens[])(struct cmd *) = {
        gen_string, gen_string, gen_string, gen_bits, gen_hll, gen_list, gen_list,
        gen_list,   gen_hash,   gen_hash,   gen_set,  gen_set, gen_set,  gen_zset,
        gen_zset,   gen_zset,   gen_geo,    gen_tmp,  gen_tmp, gen_keys, gen_keys};
    gens[rnd(sizeof(gens) / sizeof(gens[0]))](c);
}

/* ---- running it ------------------------------------------------------------- */

struct stats {
    long long commands, errors, later, at_once, multi;
};
static struct stats st;

static char *cmd_text(const struct cmd *c)
{
    lt_buf b = {0};
    for (int i = 0; i < c->argc; i++) {
        if (i)
            lt_buf_puts(&b, " ");
        lt_escape(&b, c->argv[i], strlen(c->argv[i]));
    }
    return lt_buf_take(&b);
}

/* Sends c and reads its reply: NULL (printed) when the connection failed. */
static lt_reply *run(lt_conn *conn, const struct cmd *c)
{
    lt_reply *r = lt_conn_call_argv(conn, c->argc, (const char **)c->argv, NULL);
    st.commands++;
    if (r && r->type == '-')
        st.errors++;
    if (lt_verbose || !r) {
        char *t = cmd_text(c);
        char *rt = r ? lt_reply_format(r) : strdup("(connection failed)");
        printf("%s: %s -> %.200s\n", name, t, rt);
        free(t);
        free(rt);
    }
    return r;
}

/* Runs c and frees it; -1 when the connection failed. */
static int run_free(lt_conn *conn, struct cmd *c)
{
    lt_reply *r = run(conn, c);
    cmd_clear(c);
    if (!r)
        return -1;
    lt_reply_free(r);
    return 0;
}

static int select_db(lt_conn *conn, int db)
{
    struct cmd c = {0};
    arg(&c, "SELECT"), arg(&c, "%d", db);
    return run_free(conn, &c);
}

static int c1_db; /* the db the first connection has selected */

/* MULTI, two to five commands (a SELECT among them now and then), EXEC. */
static int transaction(lt_conn *conn)
{
    struct cmd c = {0};
    arg(&c, "MULTI");
    if (run_free(conn, &c) < 0)
        return -1;
    int db = c1_db;
    for (unsigned n = 2 + rnd(4); n > 0; n--) {
        if (rnd(6) == 0) {
            db = (int)rnd(NDBS);
            arg(&c, "SELECT"), arg(&c, "%d", db);
        } else {
            gen_command(&c);
        }
        if (run_free(conn, &c) < 0)
            return -1;
    }
    arg(&c, "EXEC");
    lt_reply *r = run(conn, &c);
    cmd_clear(&c);
    if (!r)
        return -1;
    if (r->type == '*' && !r->null)
        c1_db = db;
    lt_reply_free(r);
    st.multi++;
    return 0;
}

/* A blocking pop on the second connection, in a random db: served at once
 * when its key has elements, else served later by what the first
 * connection pushes (in a transaction now and then). */
static int blocking_pop(lt_conn *c1, lt_conn *c2)
{
    int db = (int)rnd(NDBS);
    if (select_db(c2, db) < 0 || select_db(c1, db) < 0)
        return -1;
    c1_db = db;
    struct cmd b = {0}, fill = {0};
    int zset = rnd(3) == 0;
    int fam = zset ? F_ZSET : F_LIST;
    char k1[32], k2[32];
    unsigned a = rnd(fams[fam].n);
    snprintf(k1, sizeof(k1), "%s:%u", fams[fam].prefix, a);
    snprintf(k2, sizeof(k2), "%s:%u", fams[fam].prefix, (a + 1) % fams[fam].n);
    const char *filled = rnd(2) ? k1 : k2; /* the key that gets elements */
    if (zset) {
        switch (rnd(3)) {
        case 0:
            arg(&b, "BZPOPMIN"), arg(&b, "%s", k1), arg(&b, "%s", k2), arg(&b, "0");
            break;
        case 1:
            arg(&b, "BZPOPMAX"), arg(&b, "%s", k1), arg(&b, "%s", k2), arg(&b, "0");
            break;
        default:
            arg(&b, "BZMPOP"), arg(&b, "0"), arg(&b, "2"), arg(&b, "%s", k1), arg(&b, "%s", k2);
            arg(&b, rnd(2) ? "MIN" : "MAX"), arg(&b, "COUNT"), arg(&b, "%u", 1 + rnd(4));
            break;
        }
        arg(&fill, "ZADD"), arg(&fill, "%s", filled);
        for (unsigned n = 1 + rnd(4); n > 0; n--)
            score(&fill), member(&fill);
    } else {
        switch (rnd(5)) {
        case 0:
            arg(&b, rnd(2) ? "BLPOP" : "BRPOP"), arg(&b, "%s", k1), arg(&b, "%s", k2), arg(&b, "0");
            break;
        case 1:
            arg(&b, "BLMPOP"), arg(&b, "0"), arg(&b, "2"), arg(&b, "%s", k1), arg(&b, "%s", k2);
            arg(&b, rnd(2) ? "LEFT" : "RIGHT"), arg(&b, "COUNT"), arg(&b, "%u", 1 + rnd(4));
            break;
        case 2:
        case 3:
            filled = k1;
            arg(&b, "BLMOVE"), arg(&b, "%s", k1), arg(&b, "%s", k2);
            arg(&b, rnd(2) ? "RIGHT" : "left"), arg(&b, rnd(2) ? "LEFT" : "right"), arg(&b, "0");
            break;
        default:
            filled = k1;
            arg(&b, "BRPOPLPUSH"), arg(&b, "%s", k1), arg(&b, "%s", k2), arg(&b, "0");
            break;
        }
        arg(&fill, rnd(2) ? "RPUSH" : "LPUSH"), arg(&fill, "%s", filled);
        for (unsigned n = 1 + rnd(4); n > 0; n--)
            value(&fill);
    }
    /* Served at once when a key it pops from has elements (a move pops
     * from its first key only). */
    int move = !strcmp(b.argv[0], "BLMOVE") || !strcmp(b.argv[0], "BRPOPLPUSH");
    lt_reply *e =
        move ? lt_conn_call(c1, "EXISTS", k1, NULL) : lt_conn_call(c1, "EXISTS", k1, k2, NULL);
    int at_once = e && e->type == ':' && e->integer > 0;
    lt_reply_free(e);
    if (lt_conn_send_argv(c2, b.argc, (const char **)b.argv, NULL) != LT_OK) {
        cmd_clear(&b), cmd_clear(&fill);
        return -1;
    }
    if (lt_verbose) {
        char *t = cmd_text(&b);
        printf("%s: (second connection, db %d) %s\n", name, db, t);
        free(t);
    }
    int rc = 0;
    if (!at_once) {
        /* wait until it blocks, then fill its key */
        long long deadline = lt_now_ms() + 5000;
        while (lt_conn_info(c1, "clients", "blocked_clients") != 1 && lt_now_ms() < deadline)
            lt_sleep_ms(1);
        if (!lt_check(lt_conn_info(c1, "clients", "blocked_clients") == 1,
                      "the second connection's %s did not block", b.argv[0]))
            rc = -1;
        int in_multi = rc == 0 && rnd(3) == 0;
        struct cmd m = {0};
        if (in_multi) {
            arg(&m, "MULTI");
            rc = run_free(c1, &m);
        }
        if (rc == 0)
            rc = run_free(c1, &fill);
        if (rc == 0 && in_multi) {
            arg(&m, "EXEC");
            rc = run_free(c1, &m);
        }
        st.later++;
    } else {
        st.at_once++;
    }
    lt_reply *r = NULL;
    if (rc == 0 && lt_conn_read(c2, &r) != LT_OK)
        rc = -1;
    lt_check(rc == 0 && r && r->type != '-' && !r->null, "the second connection's %s: %s",
             b.argv[0], rc ? "no reply" : "an error or nothing popped");
    if (lt_verbose && r) {
        char *t = lt_reply_format(r);
        printf("%s: (second connection) -> %.200s\n", name, t);
        free(t);
    }
    st.commands++;
    lt_reply_free(r);
    cmd_clear(&b);
    cmd_clear(&fill);
    return rc;
}

/* The seeded workload; 0, or -1 when a connection failed. */
static int workload(lt_conn *c1, lt_conn *c2)
{
    rng = seed;
    c1_db = 0;
    for (int i = 0; i < nops; i++) {
        unsigned r = rnd(1000);
        struct cmd c = {0};
        int rc;
        if (i == nops / 4) {
            arg(&c, "FLUSHDB");
            rc = run_free(c1, &c);
        } else if (i == nops / 2 || (r < 6 && i < nops / 2)) {
            /* (a SWAPDB or FLUSHDB is a checkpoint: none in the second half,
             * which the restart replays in hot mode) */
            arg(&c, "SWAPDB"), arg(&c, "%u", rnd(NDBS)), arg(&c, "%u", rnd(NDBS));
            rc = run_free(c1, &c);
        } else if (r < 40) {
            c1_db = (int)rnd(NDBS);
            rc = select_db(c1, c1_db);
        } else if (r < 70) {
            rc = transaction(c1);
        } else if (r < 90) {
            rc = blocking_pop(c1, c2);
        } else {
            gen_command(&c);
            rc = run_free(c1, &c);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* After the short TTLs passed: every db's keys are looked at once (EXISTS
 * over every name), so nothing expired is left undeleted. */
static int sweep(lt_conn *c1)
{
    for (int db = 0; db < NDBS; db++) {
        if (select_db(c1, db) < 0)
            return -1;
        struct cmd c = {0};
        arg(&c, "EXISTS");
        for (int f = 0; f < NFAM; f++)
            for (unsigned k = 0; k < fams[f].n; k++)
                arg(&c, "%s:%u", fams[f].prefix, k);
        if (run_free(c1, &c) < 0)
            return -1;
    }
    c1_db = NDBS - 1;
    return 0;
}

/* ---- comparing ---------------------------------------------------------------- */

static char *digest(lt_conn *c)
{
    lt_reply *r = lt_conn_call(c, "DEBUG", "DIGEST", NULL);
    char *d = !r ? strdup("(no reply)") : r->type == '+' ? strdup(r->str) : lt_reply_format(r);
    lt_reply_free(r);
    return d;
}

/* What a key holds, as one line: its type, PEXPIRETIME and value. */
static char *describe(lt_conn *c, const char *k)
{
    lt_buf b = {0};
    char *type = lt_conn_call_text(c, "TYPE", k, NULL);
    char *ttl = lt_conn_call_text(c, "PEXPIRETIME", k, NULL);
    char *val;
    if (!strcmp(type, "+string"))
        val = lt_conn_call_text(c, "GET", k, NULL);
    else if (!strcmp(type, "+list"))
        val = lt_conn_call_text(c, "LRANGE", k, "0", "-1", NULL);
    else if (!strcmp(type, "+set"))
        val = lt_conn_call_text(c, "SORT", k, "ALPHA", NULL);
    else if (!strcmp(type, "+hash"))
        val = lt_conn_call_text(c, "HGETALL", k, NULL);
    else if (!strcmp(type, "+zset"))
        val = lt_conn_call_text(c, "ZRANGE", k, "0", "-1", "WITHSCORES", NULL);
    else
        val = strdup("");
    lt_buf_printf(&b, "%s expiretime %s %.600s", type, ttl, val);
    free(type);
    free(ttl);
    free(val);
    return lt_buf_take(&b);
}

/* The workload's keys as a server holds them, one line each: "db N KEY
 * <DEBUG DIGEST-VALUE> <PEXPIRETIME>" for every key name in the dbs the
 * workload uses (Redis's digests tell only whether a key has a TTL),
 * and "db N size <DBSIZE>" for all 16. Unlike DEBUG DIGEST, which walks
 * the storage and so makes longtail write a checkpoint first, this leaves
 * the log's tail to the restart to replay. NULL when a call failed. */
static char *snapshot(lt_conn *c)
{
    lt_buf b = {0};
    lt_buf_puts(&b, "");
    for (int db = 0; db < 16; db++) {
        char dbs[8];
        snprintf(dbs, sizeof(dbs), "%d", db);
        lt_reply *r = lt_conn_call(c, "SELECT", dbs, NULL);
        int ok = r && r->type == '+';
        lt_reply_free(r);
        r = ok ? lt_conn_call(c, "DBSIZE", NULL) : NULL;
        if (!r || r->type != ':') {
            lt_reply_free(r);
            free(b.p);
            return NULL;
        }
        lt_buf_printf(&b, "db %d size %lld\n", db, r->integer);
        lt_reply_free(r);
        if (db >= NDBS)
            continue;
        struct cmd k = {0};
        arg(&k, "DEBUG"), arg(&k, "DIGEST-VALUE");
        for (int f = 0; f < NFAM; f++)
            for (unsigned i = 0; i < fams[f].n; i++)
                arg(&k, "%s:%u", fams[f].prefix, i);
        r = lt_conn_call_argv(c, k.argc, (const char **)k.argv, NULL);
        ok = r && r->type == '*' && r->n == (size_t)k.argc - 2;
        for (size_t i = 0; ok && i < r->n; i++) {
            /* the digest says whether there is a TTL, PEXPIRETIME which */
            lt_reply *t = lt_conn_call(c, "PEXPIRETIME", k.argv[i + 2], NULL);
            ok = t && t->type == ':';
            if (ok)
                lt_buf_printf(&b, "db %d %s %s %lld\n", db, k.argv[i + 2], r->elem[i]->str,
                              t->integer);
            lt_reply_free(t);
        }
        lt_reply_free(r);
        cmd_clear(&k);
        if (!ok) {
            free(b.p);
            return NULL;
        }
    }
    return lt_buf_take(&b);
}

/* Compares two snapshots: 1 when equal; else prints the lines that differ
 * (ten at most) and what the first key that differs holds on both servers
 * (ca, cb; NULL for a server that is gone). */
static int same_keys(const char *sa, const char *na, lt_conn *ca, const char *sb, const char *nb,
                     lt_conn *cb)
{
    if (!sa || !sb) {
        printf("%s: could not read the keys of %s\n", name, !sa ? na : nb);
        return 0;
    }
    const char *a = sa, *b = sb;
    int differ = 0, described = 0;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la)) {
            if (!differ)
                printf("%s: lines that differ (%s | %s):\n", name, na, nb);
            if (differ++ < 10)
                printf("  %.*s | %.*s\n", (int)la, a, (int)lb, b);
            int db;
            char k[64];
            if (!described && sscanf(a, "db %d %63s", &db, k) == 2 && strcmp(k, "size")) {
                described = 1;
                char dbs[8];
                snprintf(dbs, sizeof(dbs), "%d", db);
                lt_conn *conns[2] = {ca, cb};
                const char *names[2] = {na, nb};
                for (int i = 0; i < 2; i++) {
                    if (!conns[i])
                        continue;
                    lt_reply_free(lt_conn_call(conns[i], "SELECT", dbs, NULL));
                    char *v = describe(conns[i], k);
                    printf("  db %d %s on %s: %s\n", db, k, names[i], v);
                    free(v);
                }
            }
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    if (differ)
        printf("%s: %d line(s) differ\n", name, differ);
    return differ == 0;
}

/* ---- the log files ------------------------------------------------------------ */

struct logfile {
    unsigned long long seq;
    char path[2 * PATH_MAX];
};

static int cmp_seq(const void *a, const void *b)
{
    const struct logfile *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The log files of the server's directory, in numeric order; their count
 * (at most max), or -1. */
static int log_files(struct logfile *out, int max)
{
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", srv.dir);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        unsigned long long seq;
        int end = 0;
        if (sscanf(e->d_name, "appendonly.aof.%llu.incr.aof%n", &seq, &end) == 1 &&
            e->d_name[end] == 0) {
            out[n].seq = seq;
            snprintf(out[n].path, sizeof(out[n].path), "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof(*out), cmp_seq);
    return n;
}

/* ---- what the log may hold ------------------------------------------------ */

/* The commands Redis 7.0 propagates (to its AOF and replicas) for the
 * workload's writes: a command that is not deterministic as written (SPOP,
 * INCRBYFLOAT, EXPIRE, a blocking pop...) is propagated as one of these. */
static const char propagated[] =
    " "
    "SELECT MULTI EXEC SET SETNX MSET MSETNX APPEND INCR DECR INCRBY DECRBY SETRANGE SETBIT "
    "BITOP BITFIELD PFADD PFCOUNT PFMERGE LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LINSERT LREM "
    "LSET LTRIM LMOVE RPOPLPUSH SORT HSET HMSET HSETNX HDEL HINCRBY SADD SREM SMOVE "
    "SINTERSTORE SUNIONSTORE SDIFFSTORE ZADD ZINCRBY ZREM ZREMRANGEBYSCORE ZREMRANGEBYRANK "
    "ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE "
    "GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER DEL UNLINK RENAME RENAMENX COPY MOVE "
    "PEXPIREAT PERSIST FLUSHDB FLUSHALL SWAPDB ";

static int has_arg(int argc, char **argv, int from, const char *word)
{
    for (int i = from; i < argc; i++)
        if (!strcasecmp(argv[i], word))
            return 1;
    return 0;
}

/* Why a command may not be in the log, or NULL when it may. */
static const char *not_propagated(int argc, char **argv)
{
    char word[64];
    size_t n = strlen(argv[0]);
    for (size_t i = 0; i < n && i < sizeof(word) - 3; i++)
        word[i + 1] = (char)toupper((unsigned char)argv[0][i]);
    word[0] = ' ';
    n = n < sizeof(word) - 3 ? n : sizeof(word) - 3;
    word[n + 1] = ' ';
    word[n + 2] = 0;
    if (!strstr(propagated, word))
        return "not a command Redis propagates";
    if (!strcasecmp(argv[0], "SET") &&
        (has_arg(argc, argv, 3, "EX") || has_arg(argc, argv, 3, "PX") ||
         has_arg(argc, argv, 3, "EXAT") || has_arg(argc, argv, 3, "GET")))
        return "SET with a relative expire or GET (Redis propagates SET ... PXAT, no GET)";
    if (!strcasecmp(argv[0], "SORT") && !has_arg(argc, argv, 2, "STORE"))
        return "SORT without STORE";
    if (!strncasecmp(argv[0], "GEORADIUS", 9) && !has_arg(argc, argv, 2, "STORE") &&
        !has_arg(argc, argv, 2, "STOREDIST"))
        return "GEORADIUS without STORE";
    if (!strcasecmp(argv[0], "PFCOUNT") && argc != 2)
        return "PFCOUNT of several keys (it changes nothing)";
    return NULL;
}

struct log_stats {
    long long commands, multi;
    long long srem, pexpireat, pxat, keepttl, pops, zadd_geo, hset, pfcount;
};

/* Reads one log file as RESP arrays of bulk strings and checks each
 * command with not_propagated and the MULTI/EXEC nesting; counts what the
 * rewrites emit. 0, or -1 after printing what is wrong. */
static int check_log_file(const char *path, struct log_stats *ls)
{
    size_t size;
    char *text = lt_read_file(path, &size);
    if (!text) {
        printf("%s: %s: cannot open\n", name, path);
        return -1;
    }
    const char *p = text, *end = p + size;
    int in_multi = 0, rc = 0;
    while (p < end && rc == 0) {
        int argc;
        char *argv[MAX_ARGV + 8] = {0};
        if (sscanf(p, "*%d\r\n", &argc) != 1 || argc < 1 || argc > MAX_ARGV + 8) {
            printf("%s: %s: no command at byte %ld\n", name, path, (long)(p - text));
            rc = -1;
            break;
        }
        p = strstr(p, "\r\n") + 2;
        for (int i = 0; i < argc && rc == 0; i++) {
            long len;
            if (p >= end || sscanf(p, "$%ld\r\n", &len) != 1 || len < 0) {
                printf("%s: %s: no bulk string at byte %ld\n", name, path, (long)(p - text));
                rc = -1;
                break;
            }
            p = strstr(p, "\r\n") + 2;
            argv[i] = strndup(p, (size_t)len);
            p += len + 2;
        }
        if (rc == 0) {
            ls->commands++;
            const char *why = not_propagated(argc, argv);
            if (!why && !strcasecmp(argv[0], "MULTI"))
                why = in_multi++ ? "MULTI inside MULTI" : NULL;
            else if (!why && !strcasecmp(argv[0], "EXEC"))
                why = in_multi-- ? NULL : "EXEC without MULTI";
            if (why) {
                struct cmd c = {0};
                for (int i = 0; i < argc && i < MAX_ARGV; i++)
                    arg(&c, "%s", argv[i]);
                char *t = cmd_text(&c);
                printf("%s: the log holds \"%.300s\": %s\n", name, t, why);
                free(t);
                cmd_clear(&c);
                rc = -1;
            }
            ls->multi += !strcasecmp(argv[0], "MULTI");
            ls->srem += !strcasecmp(argv[0], "SREM");
            ls->pexpireat += !strcasecmp(argv[0], "PEXPIREAT");
            ls->pxat += !strcasecmp(argv[0], "SET") && has_arg(argc, argv, 3, "PXAT");
            /* INCRBYFLOAT's SET (num:*) and HINCRBYFLOAT's HSET (fields flt*) */
            ls->keepttl += !strcmp(argv[0], "SET") && !strncmp(argv[1], "num:", 4) &&
                           has_arg(argc, argv, 3, "KEEPTTL");
            ls->pops += !strcmp(argv[0], "LPOP") || !strcmp(argv[0], "RPOP") ||
                        !strcmp(argv[0], "ZPOPMIN") || !strcmp(argv[0], "ZPOPMAX") ||
                        !strcmp(argv[0], "LMOVE") || !strcmp(argv[0], "RPOPLPUSH");
            ls->zadd_geo += !strcmp(argv[0], "zadd");
            ls->hset += !strcmp(argv[0], "HSET") && argc == 4 && !strncmp(argv[2], "flt", 3);
            ls->pfcount += !strcasecmp(argv[0], "PFCOUNT");
        }
        for (int i = 0; i < argc; i++)
            free(argv[i]);
    }
    if (rc == 0 && in_multi) {
        printf("%s: %s ends inside MULTI\n", name, path);
        rc = -1;
    }
    free(text);
    return rc;
}

/* Runs a shell command: its output (malloc'd) and exit status. */
static char *shell(const char *cmdline, int *status)
{
    FILE *p = popen(cmdline, "r");
    *status = -1;
    if (!p)
        return strdup("");
    lt_buf b = {0};
    char buf[4096];
    size_t n;
    lt_buf_puts(&b, "");
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        lt_buf_append(&b, buf, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return lt_buf_take(&b);
}

/* The directory of the redis-server binary given, with '/' at the end
 * ("" when it is found through PATH): redis-cli and redis-check-aof are
 * taken from beside it. */
static void tools_dir(const char *redis, char *out, size_t cap)
{
    const char *slash = strrchr(redis, '/');
    if (!slash)
        snprintf(out, cap, "%s", "");
    else
        snprintf(out, cap, "%.*s/", (int)(slash - redis), redis);
}

/* ---- 4. replaying does not expire keys --------------------------------------- */

/* Commands that keep a key with a short TTL (PERSIST, a longer PEXPIRE,
 * RENAME then PERSIST, GETEX PERSIST), replayed after that TTL passed: as
 * when Redis loads its AOF, nothing expires while the log is replayed, so
 * each key is there after the restart. Hot mode only, where no checkpoint
 * covers these commands and the restart replays them all. */
static void test_replay_keeps_saved_keys(void)
{
    lt_test_begin("the restart's replay expires no key (a TTL passed, a later command kept it)");
    lt_conn *c = srv.pid > 0 ? lt_conn_open(srv.port, 10000) : NULL;
    if (!lt_check(c != NULL, "no server to connect to"))
        return;
    static const char *const cmds[][6] = {
        {"SET", "keep:1", "v", "PX", "200"},
        {"PERSIST", "keep:1"},
        {"SET", "keep:2", "v", "PX", "200"},
        {"APPEND", "keep:2", "x"},
        {"PEXPIRE", "keep:2", "3600000"},
        {"SET", "keep:3", "a", "PX", "200"},
        {"RENAME", "keep:3", "keep:4"},
        {"PERSIST", "keep:4"},
        {"SET", "keep:5", "v", "PX", "200"},
        {"GETEX", "keep:5", "PERSIST"},
        {"SADD", "keep:6", "m"},
        {"PEXPIRE", "keep:6", "200"},
        {"SADD", "keep:6", "n"},
        {"PERSIST", "keep:6"},
    };
    int ok = 1;
    for (size_t i = 0; ok && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int n = 0;
        while (n < 6 && cmds[i][n])
            n++;
        lt_reply *r = lt_conn_call_argv(c, n, (const char **)cmds[i], NULL);
        ok = lt_check(r && r->type != '-', "%s %s failed", cmds[i][0], cmds[i][1]);
        lt_reply_free(r);
    }
    lt_conn_close(c);
    lt_sleep_ms(400); /* every short TTL passes */
    lt_server_kill(&srv);
    c = ok && lt_server_restart(&srv) == 0 ? lt_conn_open(srv.port, 10000) : NULL;
    if (!lt_check(c != NULL, "could not restart the server"))
        return;
    static const char *const want[][2] = {
        {"keep:1", "\"v\""}, {"keep:2", "\"vx\""}, {"keep:4", "\"a\""}, {"keep:5", "\"v\""}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        lt_reply *r = lt_conn_call(c, "GET", want[i][0], NULL);
        lt_check_reply(r, want[i][1], want[i][0]);
        lt_reply_free(r);
    }
    lt_reply *r = lt_conn_call(c, "SMEMBERS", "keep:6", NULL);
    lt_reply_sort(r);
    lt_check_reply(r, "*2[\"m\",\"n\"]", "keep:6");
    lt_reply_free(r);
    r = lt_conn_call(c, "PTTL", "keep:2", NULL);
    lt_check_replied(r && r->type == ':' && r->integer > 3000000 && r->integer <= 3600000,
                     "PTTL keep:2 after the restart: %lld", r && r->type == ':' ? r->integer : -9);
    lt_reply_free(r);
    r = lt_conn_call(c, "PTTL", "keep:1", NULL);
    lt_check_reply(r, ":-1", "PTTL keep:1");
    lt_reply_free(r);
    lt_conn_close(c);
}

/* ---- main --------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [--server PATH] [--mode hot|cold] [--seed N] [--ops N] "
            "[--redis PATH] [-v]\n",
            name);
}

int main(int argc, char **argv)
{
    const char *given = NULL, *redis = "redis-server";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--server") && i + 1 < argc) {
            given = argv[++i];
        } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "cold")) {
                cold = 1;
            } else if (strcmp(argv[i], "hot")) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
            nops = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--redis") && i + 1 < argc) {
            redis = argv[++i];
        } else if (!strcmp(argv[i], "-v")) {
            lt_verbose = 1;
        } else {
            usage();
            return 2;
        }
    }
    const char *server = lt_server_path(given, "../../longtail-server");
    char tools[PATH_MAX];
    tools_dir(redis, tools, sizeof(tools));
    const char *mode = cold ? "cold" : "hot";
    printf("%s: mode %s, seed %llu, %d operations (again: lt-effects --mode %s --seed %llu "
           "--ops %d)\n",
           name, mode, seed, nops, mode, seed, nops);
    lt_plan(cold ? 4 : 5);

    /* ---- the workload */
    lt_test_begin("the workload runs, and redis-check-aof finds every log file valid");
    const char *hot_args[] = {"--enable-debug-command", "yes", "--checkpoint-interval", "3600000"};
    const char *cold_args[] = {"--enable-debug-command", "yes", "--maxmemory", "1"};
    if (lt_server_start(&srv, server, cold ? cold_args : hot_args, 4) != 0) {
        lt_check(0, "could not start %s", server);
        lt_server_cleanup(&srv, 1);
        return lt_report(name);
    }
    lt_conn *c1 = lt_conn_open(srv.port, 10000), *c2 = lt_conn_open(srv.port, 10000);
    long long t0 = lt_now_ms();
    int ok = lt_check(c1 && c2, "could not connect") && workload(c1, c2) == 0;
    long long t_work = lt_now_ms() - t0;
    if (ok && cold) {
        /* cold: the keys were demoted at checkpoints and read back */
        long long p = lt_conn_info(c1, "tiering", "promotions");
        printf("%s: %lld keys were read back from storage\n", name, p);
        lt_check(p > 100, "cold mode read back %lld keys only", p);
    }
    long long expired0 = ok ? lt_conn_info(c1, "stats", "expired_keys") : -1;
    /* the short TTLs pass; the active cycle deletes what it finds */
    lt_sleep_ms(SHORT_TTL_MS + SETTLE_MS);
    long long expired1 = ok ? lt_conn_info(c1, "stats", "expired_keys") : -1;
    ok = ok && sweep(c1) == 0;
    char *lt_keys = ok ? snapshot(c1) : NULL;
    printf("%s: %lld commands (%lld error replies, expected: wrong arguments are part of the "
           "mix) in %lld ms; %lld transactions, %lld blocking pops served later, %lld at once; "
           "the active cycle expired %lld keys during the pause\n",
           name, st.commands, st.errors, t_work, st.multi, st.later, st.at_once,
           expired1 - expired0);
    lt_check(ok, "the workload did not run through");
    lt_check(lt_keys != NULL, "could not read longtail's keys after the workload");
    lt_check(st.later > 0 && st.multi > 0, "the workload served no blocked client later or "
                                           "ran no transaction");

    /* ---- 1. every file is valid AOF */
    struct logfile files[64];
    int nfiles = log_files(files, 64);
    lt_check(nfiles > 0, "no log file in %s/appendonlydir", srv.dir);
    for (int i = 0; i < nfiles; i++) {
        char cmdline[2 * PATH_MAX + 400];
        snprintf(cmdline, sizeof(cmdline), "'%sredis-check-aof' '%s' 2>&1", tools, files[i].path);
        int status;
        char *out = shell(cmdline, &status);
        lt_check(status == 0 && strstr(out, "is valid"), "redis-check-aof %s: status %d: %.600s",
                 files[i].path, status, out);
        free(out);
    }

    /* ---- the rewrites */
    lt_test_begin("the log holds only commands Redis 7.0 propagates, MULTI/EXEC nested right");
    struct log_stats ls = {0};
    int bad = 0;
    for (int i = 0; i < nfiles; i++)
        bad += check_log_file(files[i].path, &ls) != 0;
    lt_check(nfiles > 0 && !bad, "%d log file(s) hold what Redis does not propagate", bad);
    printf("%s: the log: %lld commands, %lld MULTI, %lld SREM, %lld PEXPIREAT, %lld SET PXAT, "
           "%lld SET num:* KEEPTTL, %lld plain pops and moves, %lld zadd (GEOADD), %lld HSET "
           "flt*, %lld PFCOUNT\n",
           name, ls.commands, ls.multi, ls.srem, ls.pexpireat, ls.pxat, ls.keepttl, ls.pops,
           ls.zadd_geo, ls.hset, ls.pfcount);
    /* every kind of rewrite was made at least once */
    lt_check(ls.multi && ls.srem && ls.pexpireat && ls.pxat && ls.keepttl && ls.pops &&
                 ls.zadd_geo && ls.hset && ls.pfcount,
             "a kind of rewrite is missing from the log (counts above)");

    /* ---- 2. redis-server fed the log has the same data */
    lt_test_begin("redis-server fed the log holds the same keys (DEBUG DIGEST-VALUE, "
                  "PEXPIRETIME, DBSIZE)");
    const char *ref_args[] = {"--save", "", "--appendonly", "no", "--enable-debug-command", "yes"};
    int ref_up = lt_server_start(&ref, redis, ref_args, 6) == 0;
    lt_check(ref_up, "could not start %s", redis);
    lt_conn *r = ref_up ? lt_conn_open(ref.port, 10000) : NULL;
    char *want = NULL;
    if (r) {
        /* only what the log says deletes keys */
        char *t = lt_conn_call_text(r, "DEBUG", "SET-ACTIVE-EXPIRE", "0", NULL);
        lt_check(!strcmp(t, "+OK"), "redis-server: DEBUG SET-ACTIVE-EXPIRE 0: %s", t);
        free(t);
        lt_buf cmdline = {0};
        lt_buf_puts(&cmdline, "cat");
        for (int i = 0; i < nfiles; i++)
            lt_buf_printf(&cmdline, " '%s'", files[i].path);
        lt_buf_printf(&cmdline, " | '%sredis-cli' -p %d --pipe 2>&1", tools, ref.port);
        int status;
        char *out = shell(cmdline.p, &status);
        free(cmdline.p);
        lt_check(status == 0 && strstr(out, "errors: 0,"), "redis-cli --pipe: status %d: %.600s",
                 status, out);
        const char *rp = strstr(out, "replies: ");
        printf("%s: redis-server took the log: %s", name, rp ? rp : "(no reply count)\n");
        free(out);
        /* the whole dataset's digest first: looking keys up may expire some */
        want = digest(r);
        lt_check(strlen(want) == 40 && strcmp(want, EMPTY_DIGEST),
                 "redis-server's DEBUG DIGEST: %s", want);
        char *ref_keys = snapshot(r);
        lt_check(same_keys(lt_keys, "longtail", c1, ref_keys, "redis-server", r),
                 "redis-server fed the log differs from longtail (seed %llu)", seed);
        free(ref_keys);
    } else {
        lt_check(0, "could not connect to %s", redis);
    }

    /* ---- 3. the restart replays the log to the same data */
    lt_test_begin("after kill -9 the restart replays the log: same DEBUG DIGEST as redis-server");
    lt_conn_close(c1);
    lt_conn_close(c2);
    lt_server_kill(&srv);
    int up = lt_server_restart(&srv) == 0;
    lt_conn *c = up ? lt_conn_open(srv.port, 10000) : NULL;
    lt_check(c != NULL, "could not restart %s", server);
    if (c) {
        char *got = digest(c);
        lt_check(want && !strcmp(got, want), "DEBUG DIGEST after the restart %s, redis-server's %s",
                 got, want ? want : "(none)");
        free(got);
        char *again = snapshot(c);
        lt_check(same_keys(lt_keys, "longtail before kill -9", NULL, again, "after the restart", c),
                 "the restart changed keys (seed %llu)", seed);
        free(again);
        lt_conn_close(c);
        /* how much of the log the restart replayed (the server's log says) */
        int status;
        char cmdline[PATH_MAX + 100];
        snprintf(cmdline, sizeof(cmdline), "grep -o 'Replayed [0-9]* commands' '%s' | tail -1",
                 srv.log);
        char *out = shell(cmdline, &status);
        long long replayed = 0;
        sscanf(out, "Replayed %lld", &replayed);
        printf("%s: the restart replayed %lld commands of the log\n", name, replayed);
        /* hot: no checkpoint after the middle of the workload, so the tail
         * is long (cold: checkpoints as usual, the tail may be empty) */
        if (!cold)
            lt_check(replayed > 100, "the restart replayed %lld commands only", replayed);
        free(out);
    }
    lt_conn_close(r);
    free(want);
    free(lt_keys);
    if (!cold)
        test_replay_keeps_saved_keys();
    int failed = lt_checks_failed() > 0;
    if (failed)
        printf("%s: to run it again: lt-effects --mode %s --seed %llu --ops %d\n", name, mode, seed,
               nops);
    lt_server_cleanup(&ref, failed);
    lt_server_cleanup(&srv, failed);
    return lt_report(name);
}
