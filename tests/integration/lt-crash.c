/*
 * lt-crash: crash durability under load. Rounds of: start the server on the
 * same data directory, run a pipelined write load from several connections,
 * kill -9 it at a random moment with writes in flight, start it again, and
 * compare every key with a model of what was acknowledged.
 *
 *   lt-crash [--server PATH] [--mode hot|cold] [--reference] [--rounds N]
 *            [--seed S] [--connections N] [--server-arg ARG]... [-v]
 *
 * Short mode (make check): the default, 5 rounds. Long mode:
 *   lt-crash --mode hot --rounds 200      lt-crash --mode cold --rounds 200
 * Both print the seed first; a failure names the seed and round, and
 * `--seed S --rounds R` replays the same command streams (the kill moment
 * depends on timing, so a replay is likely, not certain, to fail the same way).
 *
 * The load: each connection owns its keys ("crash:c<conn>:<kind><n>"), kept
 * from round to round: strings (SET, APPEND), counters (INCR, INCRBY, SET),
 * small and big hashes (HSET, HDEL), sets (SADD, SREM), lists (RPUSH, LPOP
 * with and without a count), sorted sets (ZADD, ZREM), DEL of one to three
 * keys, EXPIRE with TTLs of days and PERSIST, and MULTI/EXEC of two to five of
 * these. The big collections range over 1500 elements and drift towards ~450
 * or ~1100 (lists 200 or 1000), chosen per round, across
 * storage-split-threshold (512, or 16 in about half of longtail's rounds,
 * given on the command line at each start), so they are stored split, grow,
 * shrink and are deleted. One round in ten is killed within 30 ms of the
 * start, the others after 50 ms to 1 s of load. Half the rounds start with a
 * clean restart (SIGTERM after the previous check, exit status 0), the other
 * half load the server that has just recovered from the previous kill -9.
 *
 * The model: each connection keeps the state of its keys after every
 * acknowledged command (every reply is checked against it on the way), and
 * the list of commands it sent that were not answered when the server died.
 * A connection's commands run in order, so after the restart the state of
 * its keys must be the acknowledged state plus exactly one prefix of those
 * unanswered commands (a MULTI/EXEC counts as one: all or nothing), the same
 * prefix for every key of the connection. TTLs must fall in the window their
 * EXPIRE allows (sent .. answered, or .. the kill). Then DBSIZE must equal
 * the model's count of keys, the keys SCAN returns (exactly the model's keys),
 * EXISTS over every key name the test uses, and INFO keyspace's keys= and
 * expires=.
 *
 * Modes: hot (longtail as is), cold (--maxmemory 1: every command reads its
 * keys back from RocksDB), --reference (redis-server 7 with appendonly yes,
 * appendfsync always: proves the model; the split threshold is not passed).
 * longtail runs with appendfsync always, but every fourth round with the
 * default (everysec) or with no, which also promise no loss on kill -9 (the
 * write reaches the OS before the reply; only a power loss may lose it).
 * --server-arg ARG appends ARG to the server's command line (repeatable): with
 * `--reference --server-arg --appendonly --server-arg no` kill -9 loses every
 * write and this test must say so.
 *
 * The last lines are figures (rounds, acknowledged commands checked,
 * unanswered commands found applied or not, lost) and
 * "lt-crash[MODE]: N passed, N failed".
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROUNDS 5
#define DEFAULT_CONNS  4
#define MAX_CONNS      16
#define MAX_ITEMS      40      /* elements named by one command */
#define MULTI_MAX      5       /* commands in one MULTI/EXEC */
#define MAX_BATCH      48      /* units sent in one write */
#define BIG_UNIVERSE   1500    /* elements a big collection draws from */
#define SMALL_UNIVERSE 24      /* and a small one */
#define TTL_SLACK_MS   1000    /* a server may date a command by the start of its loop turn */
#define READ_TIMEOUT   30000   /* ms: a server that answers nothing for this long has hung */
#define TTL_MIN_S      100000  /* EXPIRE seconds: more than a day, never reached */
#define TTL_SPREAD_S   9000000 /* ... plus up to this many */

/* ---- keys ------------------------------------------------------------------ */

enum { T_STR, T_CNT, T_HASH, T_SET, T_LIST, T_ZSET };

static const char *const type_names[] = {"string", "string", "hash", "set", "list", "zset"};

/* The keys every connection owns: "crash:c<conn>:<tag><n>". */
static const struct {
    const char *tag;
    int type, count, universe, big;
} kinds[] = {
    {"s", T_STR, 5, 0, 0},
    {"n", T_CNT, 3, 0, 0},
    {"h", T_HASH, 4, SMALL_UNIVERSE, 0},
    {"H", T_HASH, 1, BIG_UNIVERSE, 1},
    {"e", T_SET, 4, SMALL_UNIVERSE, 0},
    {"E", T_SET, 1, BIG_UNIVERSE, 1},
    {"l", T_LIST, 4, 0, 0},
    {"L", T_LIST, 1, 0, 1},
    {"z", T_ZSET, 4, SMALL_UNIVERSE, 0},
    {"Z", T_ZSET, 1, BIG_UNIVERSE, 1},
};
#define NKINDS (int)(sizeof(kinds) / sizeof(kinds[0]))

typedef struct keydef {
    char name[16];
    int type, universe, big;
} keydef;

static keydef keydefs[64]; /* of connection 0; the others differ only by name */
static int nkeys, nbig;
static int bigkeys[8];

/* The state of one key: in the model, or as read back from the server. */
typedef struct kstate {
    int exists;
    lt_buf str;        /* T_STR, T_CNT */
    unsigned char *in; /* T_HASH, T_SET, T_ZSET: element i is present */
    long long *val;    /* hash: value id of field i; zset: score of member i */
    int count;         /* elements present */
    long long *list;   /* T_LIST: element ids list[head .. head + llen) */
    int head, llen, lcap;
    long long ttl_ms;     /* -1: no TTL */
    long long t_lo, t_hi; /* the EXPIRE ran between these (unix ms) */
    long long pttl;       /* read back: the PTTL reply */
    char *bad;            /* read back: why the reply cannot be a model state */
} kstate;

static void ks_init(kstate *k, const keydef *d)
{
    memset(k, 0, sizeof(*k));
    k->ttl_ms = -1;
    if (d->universe) {
        k->in = calloc((size_t)d->universe, 1);
        k->val = calloc((size_t)d->universe, sizeof(long long));
    }
}

static void ks_free(kstate *k)
{
    free(k->str.p);
    free(k->in);
    free(k->val);
    free(k->list);
    free(k->bad);
    memset(k, 0, sizeof(*k));
}

static void ks_copy(kstate *dst, const kstate *src, const keydef *d)
{
    ks_free(dst);
    ks_init(dst, d);
    dst->exists = src->exists;
    if (src->str.len)
        lt_buf_append(&dst->str, src->str.p, src->str.len);
    if (d->universe) {
        memcpy(dst->in, src->in, (size_t)d->universe);
        memcpy(dst->val, src->val, (size_t)d->universe * sizeof(long long));
    }
    dst->count = src->count;
    if (src->llen) {
        dst->lcap = src->llen;
        dst->list = malloc((size_t)dst->lcap * sizeof(long long));
        memcpy(dst->list, src->list + src->head, (size_t)src->llen * sizeof(long long));
        dst->llen = src->llen;
    }
    dst->ttl_ms = src->ttl_ms;
    dst->t_lo = src->t_lo;
    dst->t_hi = src->t_hi;
}

/* The key is gone: empty it, drop its TTL. */
static void ks_clear(kstate *k, const keydef *d)
{
    k->exists = 0;
    k->str.len = 0;
    if (d->universe) {
        memset(k->in, 0, (size_t)d->universe);
        memset(k->val, 0, (size_t)d->universe * sizeof(long long));
    }
    k->count = 0;
    k->head = k->llen = 0;
    k->ttl_ms = -1;
}

static void ks_push(kstate *k, long long id)
{
    if (k->head + k->llen == k->lcap) {
        if (k->head > 0) {
            memmove(k->list, k->list + k->head, (size_t)k->llen * sizeof(long long));
            k->head = 0;
        }
        if (k->llen == k->lcap) {
            k->lcap = k->lcap ? k->lcap * 2 : 16;
            k->list = realloc(k->list, (size_t)k->lcap * sizeof(long long));
        }
    }
    k->list[k->head + k->llen++] = id;
}

/* Same value (type, elements, bytes); TTLs are compared by ttl_matches. */
static int ks_same_value(const kstate *a, const kstate *b, const keydef *d)
{
    if (a->exists != b->exists)
        return 0;
    if (!a->exists)
        return 1;
    switch (d->type) {
    case T_STR:
    case T_CNT:
        return a->str.len == b->str.len && memcmp(a->str.p, b->str.p, a->str.len) == 0;
    case T_LIST:
        return a->llen == b->llen && memcmp(a->list + a->head, b->list + b->head,
                                            (size_t)a->llen * sizeof(long long)) == 0;
    case T_SET:
        return a->count == b->count && memcmp(a->in, b->in, (size_t)d->universe) == 0;
    default:
        if (a->count != b->count || memcmp(a->in, b->in, (size_t)d->universe) != 0)
            return 0;
        for (int i = 0; i < d->universe; i++)
            if (a->in[i] && a->val[i] != b->val[i])
                return 0;
        return 1;
    }
}

/* Could "got" (read back between "before" and "after") carry model "m"'s TTL? */
static int ttl_matches(const kstate *m, const kstate *got, long long before, long long after)
{
    if (!m->exists)
        return got->pttl == -2;
    if (m->ttl_ms < 0)
        return got->pttl == -1;
    long long lo = m->t_lo + m->ttl_ms - after - TTL_SLACK_MS;
    long long hi = m->t_hi + m->ttl_ms - before + TTL_SLACK_MS;
    return got->pttl >= lo && got->pttl <= hi;
}

/* One line describing a state, for failure messages (malloc'd). */
static char *ks_text(const kstate *k, const keydef *d, int readback)
{
    lt_buf b = {0};
    if (readback && k->bad) {
        lt_buf_printf(&b, "unreadable (%s)", k->bad);
        return lt_buf_take(&b);
    }
    if (!k->exists) {
        lt_buf_puts(&b, "(absent)");
    } else {
        lt_buf_printf(&b, "%s", type_names[d->type]);
        if (d->type == T_STR || d->type == T_CNT) {
            lt_buf_puts(&b, " \"");
            lt_escape(&b, k->str.p, k->str.len < 120 ? k->str.len : 120);
            lt_buf_printf(&b, "%s\" (%zu bytes)", k->str.len > 120 ? "..." : "", k->str.len);
        } else if (d->type == T_LIST) {
            lt_buf_printf(&b, " of %d [", k->llen);
            for (int i = 0; i < k->llen && i < 12; i++)
                lt_buf_printf(&b, "%se%lld", i ? "," : "", k->list[k->head + i]);
            lt_buf_puts(&b, k->llen > 12 ? ",...]" : "]");
        } else {
            lt_buf_printf(&b, " of %d {", k->count);
            int shown = 0;
            for (int i = 0; i < d->universe && shown < 12; i++) {
                if (!k->in[i])
                    continue;
                if (d->type == T_SET)
                    lt_buf_printf(&b, "%sm%d", shown ? "," : "", i);
                else
                    lt_buf_printf(&b, "%s%c%d=%lld", shown ? "," : "",
                                  d->type == T_HASH ? 'f' : 'z', i, k->val[i]);
                shown++;
            }
            lt_buf_puts(&b, k->count > shown ? ",...}" : "}");
        }
    }
    if (readback)
        lt_buf_printf(&b, ", PTTL %lld", k->pttl);
    else if (k->ttl_ms >= 0)
        lt_buf_printf(&b, ", TTL %lld ms set at %lld..%lld", k->ttl_ms, k->t_lo, k->t_hi);
    else
        lt_buf_puts(&b, ", no TTL");
    return lt_buf_take(&b);
}

/* Where "got" differs from model "m", for failure messages (malloc'd). */
static char *ks_diff(const kstate *m, const kstate *got, const keydef *d)
{
    lt_buf b = {0};
    int n = 0;
    if (!got->bad && ks_same_value(m, got, d)) {
        lt_buf_puts(&b, "the TTL only");
    } else if (m->exists != got->exists || got->bad) {
        lt_buf_puts(&b, "existence or type");
    } else if (d->type == T_LIST) {
        int i = 0;
        while (i < m->llen && i < got->llen && m->list[m->head + i] == got->list[got->head + i])
            i++;
        lt_buf_printf(&b, "from index %d (lengths %d and %d)", i, m->llen, got->llen);
    } else if (d->universe) {
        for (int e = 0; e < d->universe && n < 8; e++) {
            if (m->in[e] == got->in[e] && (!m->in[e] || m->val[e] == got->val[e]))
                continue;
            char c = d->type == T_HASH ? 'f' : d->type == T_SET ? 'm' : 'z';
            lt_buf_printf(&b, "%s%c%d:", n++ ? ", " : "", c, e);
            if (m->in[e])
                lt_buf_printf(&b, " model %lld", m->val[e]);
            else
                lt_buf_puts(&b, " model absent");
            if (got->in[e])
                lt_buf_printf(&b, ", server %lld", got->val[e]);
            else
                lt_buf_puts(&b, ", server absent");
        }
    } else {
        lt_buf_puts(&b, "the bytes");
    }
    return lt_buf_take(&b);
}

/* ---- commands ------------------------------------------------------------ */

enum {
    OP_SET,
    OP_APPEND,
    OP_INCRBY,
    OP_HSET,
    OP_HDEL,
    OP_SADD,
    OP_SREM,
    OP_RPUSH,
    OP_LPOP,
    OP_ZADD,
    OP_ZREM,
    OP_DEL,
    OP_EXPIRE,
    OP_PERSIST,
};

typedef struct op {
    int kind, key, n;
    int items[MAX_ITEMS];      /* fields, members, or DEL's keys */
    long long vals[MAX_ITEMS]; /* hash value ids, scores, list element ids */
    long long arg;             /* SET/APPEND value id, INCRBY delta, EXPIRE s, LPOP count */
    int vlen;                  /* SET: filler bytes after the id */
} op;

/* What the connection sends as one: a command, or MULTI + commands + EXEC. */
typedef struct unit {
    int nops, multi;
    long long t_sent; /* unix ms just before its bytes were written */
    op ops[MULTI_MAX];
} unit;

/* The value a SET writes: "s<id>:" then "vlen" letters derived from the id. */
static void set_value(lt_buf *b, long long id, int vlen)
{
    b->len = 0;
    lt_buf_printf(b, "s%lld:", id);
    for (int j = 0; j < vlen; j++) {
        char ch = (char)('a' + (id * 7 + j) % 26);
        lt_buf_append(b, &ch, 1);
    }
}

/* Append the RESP form of "o" (on connection "conn"'s keys) to "out". */
static void op_format(lt_buf *out, int conn, const op *o)
{
    static const char *const names[] = {"SET",  "APPEND", "INCRBY", "HSET",   "HDEL",
                                        "SADD", "SREM",   "RPUSH",  "LPOP",   "ZADD",
                                        "ZREM", "DEL",    "EXPIRE", "PERSIST"};
    const char *argv[2 + 2 * MAX_ITEMS + 2];
    size_t lens[2 + 2 * MAX_ITEMS + 2];
    char text[2 * MAX_ITEMS + 2][48];
    char key[MAX_ITEMS + 1][48];
    lt_buf value = {0};
    int argc = 0, nt = 0;
    argv[argc++] = o->kind == OP_INCRBY && o->arg == 1 ? "INCR" : names[o->kind];
    if (o->kind == OP_DEL) {
        for (int i = 0; i < o->n; i++) {
            snprintf(key[i], sizeof(key[i]), "crash:c%d:%.15s", conn, keydefs[o->items[i]].name);
            argv[argc++] = key[i];
        }
    } else {
        snprintf(key[0], sizeof(key[0]), "crash:c%d:%.15s", conn, keydefs[o->key].name);
        argv[argc++] = key[0];
    }
#define TEXT(...) (snprintf(text[nt], sizeof(text[nt]), __VA_ARGS__), text[nt++])
    switch (o->kind) {
    case OP_SET:
        if (keydefs[o->key].type == T_CNT) {
            argv[argc++] = TEXT("%lld", o->arg);
        } else {
            set_value(&value, o->arg, o->vlen);
            argv[argc++] = value.p;
        }
        break;
    case OP_APPEND:
        argv[argc++] = TEXT("a%lld;", o->arg);
        break;
    case OP_INCRBY:
        if (o->arg != 1)
            argv[argc++] = TEXT("%lld", o->arg);
        break;
    case OP_HSET:
        for (int i = 0; i < o->n; i++) {
            argv[argc++] = TEXT("f%d", o->items[i]);
            argv[argc++] = TEXT("v%lld", o->vals[i]);
        }
        break;
    case OP_HDEL:
        for (int i = 0; i < o->n; i++)
            argv[argc++] = TEXT("f%d", o->items[i]);
        break;
    case OP_SADD:
    case OP_SREM:
        for (int i = 0; i < o->n; i++)
            argv[argc++] = TEXT("m%d", o->items[i]);
        break;
    case OP_RPUSH:
        for (int i = 0; i < o->n; i++)
            argv[argc++] = TEXT("e%lld", o->vals[i]);
        break;
    case OP_LPOP:
        if (o->arg > 0)
            argv[argc++] = TEXT("%lld", o->arg);
        break;
    case OP_ZADD:
        for (int i = 0; i < o->n; i++) {
            argv[argc++] = TEXT("%lld", o->vals[i]);
            argv[argc++] = TEXT("z%d", o->items[i]);
        }
        break;
    case OP_ZREM:
        for (int i = 0; i < o->n; i++)
            argv[argc++] = TEXT("z%d", o->items[i]);
        break;
    case OP_EXPIRE:
        argv[argc++] = TEXT("%lld", o->arg);
        break;
    default:
        break;
    }
#undef TEXT
    for (int i = 0; i < argc; i++)
        lens[i] = argv[i] == value.p ? value.len : strlen(argv[i]);
    lt_format_command(out, argc, argv, lens);
    free(value.p);
}

/*
 * Apply "o" to the key states "ks" of one connection, as the server would,
 * with its EXPIRE (if any) run between "t_lo" and "t_hi". Appends the
 * canonical text of the reply the server must send to "reply" (may be NULL).
 * Returns the number of keys it may have changed, written to "touched".
 */
static int op_apply(kstate *ks, const op *o, long long t_lo, long long t_hi, lt_buf *reply,
                    int *touched)
{
    lt_buf scratch = {0};
    lt_buf *r = reply ? reply : &scratch;
    const keydef *d = &keydefs[o->key];
    kstate *k = &ks[o->key];
    long long n = 0;
    touched[0] = o->key;
    int ntouched = 1;
    switch (o->kind) {
    case OP_SET:
        ks_clear(k, d);
        k->exists = 1;
        if (d->type == T_CNT)
            lt_buf_printf(&k->str, "%lld", o->arg);
        else
            set_value(&k->str, o->arg, o->vlen);
        lt_buf_puts(r, "+OK");
        break;
    case OP_APPEND:
        k->exists = 1;
        lt_buf_printf(&k->str, "a%lld;", o->arg);
        lt_buf_printf(r, ":%zu", k->str.len);
        break;
    case OP_INCRBY:
        n = k->exists ? strtoll(k->str.p, NULL, 10) : 0;
        n += o->arg;
        k->exists = 1;
        k->str.len = 0;
        lt_buf_printf(&k->str, "%lld", n);
        lt_buf_printf(r, ":%lld", n);
        break;
    case OP_HSET:
    case OP_SADD:
    case OP_ZADD:
        k->exists = 1;
        for (int i = 0; i < o->n; i++) {
            int e = o->items[i];
            if (!k->in[e]) {
                k->in[e] = 1;
                k->count++;
                n++;
            }
            k->val[e] = o->kind == OP_SADD ? 0 : o->vals[i];
        }
        lt_buf_printf(r, ":%lld", n);
        break;
    case OP_HDEL:
    case OP_SREM:
    case OP_ZREM:
        for (int i = 0; k->exists && i < o->n; i++) {
            int e = o->items[i];
            if (k->in[e]) {
                k->in[e] = 0;
                k->val[e] = 0;
                k->count--;
                n++;
            }
        }
        if (k->exists && k->count == 0)
            ks_clear(k, d);
        lt_buf_printf(r, ":%lld", n);
        break;
    case OP_RPUSH:
        k->exists = 1;
        for (int i = 0; i < o->n; i++)
            ks_push(k, o->vals[i]);
        lt_buf_printf(r, ":%d", k->llen);
        break;
    case OP_LPOP:
        if (!k->exists) {
            lt_buf_puts(r, o->arg > 0 ? "*(nil)" : "(nil)");
            break;
        }
        n = o->arg > 0 ? (o->arg < k->llen ? o->arg : k->llen) : 1;
        if (o->arg > 0)
            lt_buf_printf(r, "*%lld[", n);
        for (long long i = 0; i < n; i++) {
            lt_buf_printf(r, "%s\"e%lld\"", i ? "," : "", k->list[k->head]);
            k->head++;
            k->llen--;
        }
        if (o->arg > 0)
            lt_buf_puts(r, "]");
        if (k->llen == 0)
            ks_clear(k, d);
        break;
    case OP_DEL:
        ntouched = 0;
        for (int i = 0; i < o->n; i++) {
            int key = o->items[i];
            touched[ntouched++] = key;
            if (ks[key].exists) {
                n++;
                ks_clear(&ks[key], &keydefs[key]);
            }
        }
        lt_buf_printf(r, ":%lld", n);
        break;
    case OP_EXPIRE:
        if (k->exists) {
            k->ttl_ms = o->arg * 1000;
            k->t_lo = t_lo;
            k->t_hi = t_hi;
        }
        lt_buf_printf(r, ":%d", k->exists);
        break;
    case OP_PERSIST:
        n = k->exists && k->ttl_ms >= 0;
        k->ttl_ms = -1;
        lt_buf_printf(r, ":%lld", n);
        break;
    }
    free(scratch.p);
    return ntouched;
}

/* ---- connections under load ------------------------------------------------ */

typedef struct worker {
    int idx;
    pthread_t thread;
    lt_conn *conn;
    unsigned long long rng;
    kstate *model; /* every key after the last acknowledged unit */
    unit *pend;    /* sent (or being sent), unanswered: pend[head .. npend) */
    int head, npend, cap;
    long long next_id; /* ids of values and list elements, unique per connection */
    int big_add_pct;   /* this round: how often a big collection grows */
    int list_target;   /* this round: the length the big list drifts to */
    int est_len[64];   /* list lengths if everything sent applies */
    /* results of the round */
    long long acked_units, acked_ops;
    int bad_replies;
    char first_bad[600];
    int end_rc;             /* LT_ERR_* that ended the load */
    long long t_last_ack;   /* unix ms: the load's start, then the last reply */
    long long longest_wait; /* ms between two replies (or the start and the first) */
} worker;

/* A well-mixed generator state from any number (splitmix64's finaliser). */
static unsigned long long mix(unsigned long long x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static int nconns = DEFAULT_CONNS;
static worker workers[MAX_CONNS];

static unsigned rnd(worker *w, unsigned n)
{
    return (unsigned)(lt_rand_next(&w->rng) % n);
}

/* "n" distinct numbers below "universe" into "out". */
static void pick_distinct(worker *w, int *out, int n, int universe)
{
    for (int i = 0; i < n; i++) {
        int v, dup;
        do {
            v = (int)rnd(w, (unsigned)universe);
            dup = 0;
            for (int j = 0; j < i; j++)
                dup |= out[j] == v;
        } while (dup);
        out[i] = v;
    }
}

static void gen_op(worker *w, op *o)
{
    memset(o, 0, sizeof(*o));
    o->key = rnd(w, 100) < 30 ? bigkeys[rnd(w, (unsigned)nbig)] : (int)rnd(w, (unsigned)nkeys);
    const keydef *d = &keydefs[o->key];
    unsigned pct = rnd(w, 1000);
    if (pct < 25 && (!d->big || rnd(w, 4) == 0)) { /* the big ones live longer */
        o->kind = OP_DEL;
        o->n = 1 + (int)rnd(w, 3);
        o->items[0] = o->key;
        for (int i = 1; i < o->n; i++) {
            int dup;
            do {
                o->items[i] = (int)rnd(w, (unsigned)nkeys);
                dup = 0;
                for (int j = 0; j < i; j++)
                    dup |= o->items[j] == o->items[i];
            } while (dup);
        }
        for (int i = 0; i < o->n; i++)
            if (keydefs[o->items[i]].type == T_LIST)
                w->est_len[o->items[i]] = 0;
        return;
    }
    if (pct < 60) {
        o->kind = OP_EXPIRE;
        o->arg = TTL_MIN_S + rnd(w, TTL_SPREAD_S);
        return;
    }
    if (pct < 75) {
        o->kind = OP_PERSIST;
        return;
    }
    int add_pct = d->big ? w->big_add_pct : 60;
    int maxn = d->big ? MAX_ITEMS : 4;
    switch (d->type) {
    case T_STR:
        o->arg = w->next_id++;
        if (rnd(w, 4) == 0) {
            o->kind = OP_SET;
            o->vlen = rnd(w, 10) == 0 ? 1000 + (int)rnd(w, 3000) : (int)rnd(w, 60);
        } else {
            o->kind = OP_APPEND;
        }
        break;
    case T_CNT:
        if (rnd(w, 8) == 0) {
            o->kind = OP_SET;
            o->arg = (long long)rnd(w, 2000000) - 1000000;
        } else {
            o->kind = OP_INCRBY;
            o->arg = rnd(w, 3) == 0 ? 1 : (long long)rnd(w, 2001) - 1000;
        }
        break;
    case T_LIST:
        if (d->big)
            add_pct = w->est_len[o->key] < w->list_target ? 75 : 25;
        o->n = 1 + (int)rnd(w, (unsigned)maxn);
        if ((int)rnd(w, 100) < add_pct) {
            o->kind = OP_RPUSH;
            for (int i = 0; i < o->n; i++)
                o->vals[i] = w->next_id++;
            w->est_len[o->key] += o->n;
        } else {
            o->kind = OP_LPOP;
            o->arg = rnd(w, 3) == 0 ? 0 : o->n;
            w->est_len[o->key] -= o->arg ? (int)o->arg : 1;
            if (w->est_len[o->key] < 0)
                w->est_len[o->key] = 0;
        }
        break;
    default: {
        static const int add_ops[] = {[T_HASH] = OP_HSET, [T_SET] = OP_SADD, [T_ZSET] = OP_ZADD};
        static const int rem_ops[] = {[T_HASH] = OP_HDEL, [T_SET] = OP_SREM, [T_ZSET] = OP_ZREM};
        int add = (int)rnd(w, 100) < add_pct;
        o->kind = add ? add_ops[d->type] : rem_ops[d->type];
        o->n = 1 + (int)rnd(w, (unsigned)maxn);
        pick_distinct(w, o->items, o->n, d->universe);
        for (int i = 0; add && i < o->n; i++)
            o->vals[i] = d->type == T_ZSET ? (long long)rnd(w, 2001) - 1000 : w->next_id++;
        break;
    }
    }
}

static void gen_unit(worker *w, unit *u)
{
    u->multi = rnd(w, 100) < 8;
    u->nops = u->multi ? 2 + (int)rnd(w, MULTI_MAX - 1) : 1;
    for (int i = 0; i < u->nops; i++)
        gen_op(w, &u->ops[i]);
}

static void unit_format(lt_buf *out, int conn, const unit *u)
{
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    if (u->multi)
        lt_format_command(out, 1, multi, NULL);
    for (int i = 0; i < u->nops; i++)
        op_format(out, conn, &u->ops[i]);
    if (u->multi)
        lt_format_command(out, 1, exec, NULL);
}

/* Apply a whole unit to "ks" (replies dropped); "touched" gets up to 3 * MULTI_MAX keys. */
static int unit_apply(kstate *ks, const unit *u, long long t_hi, int *touched)
{
    int n = 0;
    for (int i = 0; i < u->nops; i++)
        n += op_apply(ks, &u->ops[i], u->t_sent, t_hi, NULL, touched + n);
    return n;
}

static void note_bad(worker *w, const char *fmt, const char *a, const char *b)
{
    if (w->bad_replies++ == 0)
        snprintf(w->first_bad, sizeof(w->first_bad), fmt, a, b);
}

/* Read one reply and compare its text with "want"; LT_OK or the read error. */
static int expect_reply(worker *w, const char *want, const char *what)
{
    lt_reply *r;
    int rc = lt_conn_read(w->conn, &r);
    if (rc != LT_OK)
        return rc;
    char *got = lt_reply_format(r);
    if (strcmp(got, want) != 0) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%s: got %%.200s, model says %%.200s", what);
        note_bad(w, msg, got, want);
    }
    free(got);
    lt_reply_free(r);
    return LT_OK;
}

/*
 * Read the replies of the oldest pending unit. On success apply it to the
 * model, comparing each reply with the model's, and drop it from pending.
 */
static int read_unit(worker *w)
{
    unit *u = &w->pend[w->head];
    int touched[3 * MULTI_MAX];
    int rc;
    if (u->multi) {
        if ((rc = expect_reply(w, "+OK", "MULTI")) != LT_OK)
            return rc;
        for (int i = 0; i < u->nops; i++)
            if ((rc = expect_reply(w, "+QUEUED", "a queued command")) != LT_OK)
                return rc;
    }
    lt_reply *r;
    if ((rc = lt_conn_read(w->conn, &r)) != LT_OK)
        return rc;
    long long now = lt_now_ms();
    /* Acknowledged: the model moves on, whatever the reply says. */
    lt_buf want = {0};
    if (u->multi)
        lt_buf_printf(&want, "*%d[", u->nops);
    for (int i = 0; i < u->nops; i++) {
        if (i)
            lt_buf_puts(&want, ",");
        op_apply(w->model, &u->ops[i], u->t_sent, now, &want, touched);
    }
    if (u->multi)
        lt_buf_puts(&want, "]");
    char *got = lt_reply_format(r);
    if (strcmp(got, want.p) != 0) {
        lt_buf cmd = {0};
        unit_format(&cmd, w->idx, u);
        for (size_t i = 0; i < cmd.len; i++)
            if (cmd.p[i] == '\r' || cmd.p[i] == '\n')
                cmd.p[i] = ' ';
        lt_buf_printf(&cmd, " -> got %.200s", got);
        note_bad(w, "%.400s, model says %.150s", cmd.p, want.p);
        free(cmd.p);
    }
    free(got);
    free(want.p);
    lt_reply_free(r);
    if (now - w->t_last_ack > w->longest_wait)
        w->longest_wait = now - w->t_last_ack;
    w->t_last_ack = now;
    w->acked_units++;
    w->acked_ops += u->nops;
    w->head++;
    return LT_OK;
}

/* Send one batch of new units; LT_OK or the write error. */
static int send_batch(worker *w, int count)
{
    if (w->head > 0 && w->npend + count > w->cap) {
        memmove(w->pend, w->pend + w->head, (size_t)(w->npend - w->head) * sizeof(unit));
        w->npend -= w->head;
        w->head = 0;
    }
    if (w->npend + count > w->cap) {
        w->cap = (w->npend + count) * 2;
        w->pend = realloc(w->pend, (size_t)w->cap * sizeof(unit));
    }
    lt_buf out = {0};
    long long now = lt_now_ms();
    for (int i = 0; i < count; i++) {
        unit *u = &w->pend[w->npend++];
        gen_unit(w, u);
        u->t_sent = now;
        unit_format(&out, w->idx, u);
    }
    int rc = lt_conn_send_raw(w->conn, out.p, out.len);
    free(out.p);
    return rc;
}

/* The load of one connection: two batches in flight until the server dies. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    int last = 0, rc = LT_OK;
    for (;;) {
        if (w->npend - w->head <= last) {
            last = 1 + (int)rnd(w, MAX_BATCH);
            if ((rc = send_batch(w, last)) != LT_OK)
                break;
        }
        if ((rc = read_unit(w)) != LT_OK)
            break;
    }
    w->end_rc = rc;
    return NULL;
}

/* ---- reading keys back ----------------------------------------------------- */

static void set_bad(kstate *k, const char *what, const lt_reply *r)
{
    if (k->bad)
        return;
    char *t = r ? lt_reply_format(r) : strdup("no reply");
    lt_buf b = {0};
    lt_buf_printf(&b, "%s: %.200s", what, t);
    free(t);
    k->bad = lt_buf_take(&b);
}

/* "<prefix><number>" with the number below "limit" (0: any): the number, or -1. */
static long long parse_name(const lt_reply *r, char prefix, long long limit)
{
    if (r->type != '$' || r->null || r->len < 2 || r->str[0] != prefix)
        return -1;
    char *end;
    long long v = strtoll(r->str + 1, &end, 10);
    if (*end || (limit && (v < 0 || v >= limit)))
        return -1;
    return v;
}

static void parse_content(kstate *k, const keydef *d, const lt_reply *r)
{
    if (d->type == T_STR || d->type == T_CNT) {
        if (r->type != '$')
            return set_bad(k, "GET", r);
        if (!r->null)
            lt_buf_append(&k->str, r->str, r->len);
        return;
    }
    if (r->type != '*' || r->null)
        return set_bad(k, "range", r);
    if (d->type == T_LIST) {
        for (size_t i = 0; i < r->n; i++) {
            long long id = parse_name(r->elem[i], 'e', 0);
            if (id < 0)
                return set_bad(k, "LRANGE element", r->elem[i]);
            ks_push(k, id);
        }
        return;
    }
    size_t step = d->type == T_SET ? 1 : 2;
    if (r->n % step)
        return set_bad(k, "odd reply", r);
    char prefix = d->type == T_HASH ? 'f' : d->type == T_SET ? 'm' : 'z';
    for (size_t i = 0; i < r->n; i += step) {
        const lt_reply *name = r->elem[i];
        long long e = parse_name(name, prefix, d->universe);
        if (e < 0 || k->in[e])
            return set_bad(k, "element", name);
        k->in[e] = 1;
        k->count++;
        if (step == 2) {
            const lt_reply *v = r->elem[i + 1];
            long long x;
            if (d->type == T_HASH) {
                x = parse_name(v, 'v', 0);
                if (x < 0)
                    return set_bad(k, "hash value", v);
            } else {
                char *end;
                if (v->type != '$' || v->null)
                    return set_bad(k, "score", v);
                x = strtoll(v->str, &end, 10);
                if (*end)
                    return set_bad(k, "score", v);
            }
            k->val[e] = x;
        }
    }
}

/*
 * Read every key of connection "w" through "c" into "got" (TYPE, PTTL and its
 * content, one pipeline); "before"/"after" bracket the reads. 0, or -1 on a
 * connection error.
 */
static int read_keys(lt_conn *c, int conn, kstate *got, long long *before, long long *after)
{
    static const char *const ranges[][4] = {
        [T_STR] = {"GET", NULL},
        [T_CNT] = {"GET", NULL},
        [T_HASH] = {"HGETALL", NULL},
        [T_SET] = {"SMEMBERS", NULL},
        [T_LIST] = {"LRANGE", NULL, "0", "-1"},
        [T_ZSET] = {"ZRANGE", NULL, "0", "-1"},
    };
    lt_buf out = {0};
    char key[48];
    for (int k = 0; k < nkeys; k++) {
        const keydef *d = &keydefs[k];
        snprintf(key, sizeof(key), "crash:c%d:%.15s", conn, d->name);
        const char *type[2] = {"TYPE", key}, *pttl[2] = {"PTTL", key};
        const char *argv[5] = {ranges[d->type][0], key, ranges[d->type][2], ranges[d->type][3],
                               "WITHSCORES"};
        int argc = d->type == T_LIST ? 4 : d->type == T_ZSET ? 5 : 2;
        lt_format_command(&out, 2, type, NULL);
        lt_format_command(&out, 2, pttl, NULL);
        lt_format_command(&out, argc, argv, NULL);
    }
    *before = lt_now_ms();
    int rc = lt_conn_send_raw(c, out.p, out.len);
    free(out.p);
    if (rc != LT_OK)
        return -1;
    for (int k = 0; k < nkeys; k++) {
        const keydef *d = &keydefs[k];
        kstate *g = &got[k];
        ks_init(g, d);
        lt_reply *r[3] = {NULL, NULL, NULL};
        for (int j = 0; j < 3; j++) {
            if (lt_conn_read(c, &r[j]) != LT_OK) {
                for (int i = 0; i < j; i++)
                    lt_reply_free(r[i]);
                return -1;
            }
        }
        if (r[0]->type != '+')
            set_bad(g, "TYPE", r[0]);
        else if (strcmp(r[0]->str, "none") == 0)
            g->exists = 0;
        else if (strcmp(r[0]->str, type_names[d->type]) == 0)
            g->exists = 1;
        else
            set_bad(g, "TYPE", r[0]);
        if (r[1]->type != ':')
            set_bad(g, "PTTL", r[1]);
        g->pttl = r[1]->integer;
        parse_content(g, d, r[2]);
        if (!g->bad && !g->exists && (g->str.len || g->count || g->llen || g->pttl != -2))
            set_bad(g, "an absent key with a value or TTL", r[2]);
        if (!g->bad && g->exists && g->str.len == 0 && g->count == 0 && g->llen == 0 &&
            d->type != T_STR && d->type != T_CNT)
            set_bad(g, "an empty collection", r[2]);
        for (int j = 0; j < 3; j++)
            lt_reply_free(r[j]);
    }
    *after = lt_now_ms();
    return 0;
}

/* ---- the run ----------------------------------------------------------------- */

typedef enum { MODE_HOT, MODE_COLD, MODE_REFERENCE } run_mode;

static run_mode mode = MODE_HOT;
static lt_server srv;
static const char *server_bin;
static const char *user_args[LT_MAX_ARGS];
static int n_user_args;
static unsigned long long seed;
static int round_no, total_rounds;
static char name[32];

/* figures */
static long long fig_split_rounds, fig_biggest, fig_longest_wait;
static long long fig_acked_units, fig_acked_ops, fig_unacked_applied, fig_unacked_dropped,
    fig_unacked_open, fig_lost_keys, fig_prefix_breaks, fig_count_errors;

static void fail_here(void)
{
    printf("%s: FAILED at round %d of seed %llu: the same command line with --seed %llu "
           "--rounds %d replays it\n",
           name, round_no, seed, seed, round_no + 1);
}

/* The server's command line for this round: mode, fsync policy, split threshold. */
static int server_args(const char **args, unsigned long long *rng, char *label, size_t cap)
{
    int n = 0;
    if (mode == MODE_REFERENCE) {
        args[n++] = "--appendonly";
        args[n++] = "yes";
        args[n++] = "--appendfsync";
        args[n++] = "always";
        args[n++] = "--save";
        args[n++] = "";
        snprintf(label, cap, "appendonly yes, appendfsync always");
    } else {
        /* always, but every fourth round the default (everysec) or no: neither may lose an
         * acknowledged write to kill -9, only to a power loss */
        const char *fsync = round_no % 4 != 3 ? "always" : round_no % 8 == 3 ? NULL : "no";
        int split16 = lt_rand_next(rng) % 2 == 0;
        if (fsync) {
            args[n++] = "--appendfsync";
            args[n++] = fsync;
        }
        if (split16) {
            args[n++] = "--storage-split-threshold";
            args[n++] = "16";
        }
        if (mode == MODE_COLD) {
            args[n++] = "--maxmemory";
            args[n++] = "1";
        }
        snprintf(label, cap, "appendfsync %s, split threshold %s", fsync ? fsync : "default",
                 split16 ? "16" : "default");
    }
    for (int i = 0; i < n_user_args && n < LT_MAX_ARGS; i++) {
        args[n++] = user_args[i];
        size_t len = strlen(label);
        snprintf(label + len, cap - len, "%s%s", i ? " " : ", then ", user_args[i]);
    }
    return n;
}

/* Start the server (round 0) or start it again with this round's arguments. */
static int server_up(const char **args, int n)
{
    if (round_no == 0)
        return lt_server_start(&srv, server_bin, args, n);
    for (int i = 0; i < srv.nargs; i++)
        free(srv.args[i]);
    srv.nargs = 0;
    for (int i = 0; i < n; i++)
        srv.args[srv.nargs++] = strdup(args[i]);
    return lt_server_restart(&srv);
}

/*
 * Find the prefixes of "w"'s unanswered units that explain "got"; on success
 * the model becomes the state after the shortest one. Returns 0 or -1.
 */
static int check_conn(worker *w, kstate *got, long long before, long long after, long long t_kill)
{
    int m = w->npend - w->head;
    kstate *trial = calloc((size_t)nkeys, sizeof(kstate));
    int *match = calloc((size_t)nkeys, sizeof(int));
    int *ever = calloc((size_t)nkeys, sizeof(int));
    int mismatches = 0, pmin = -1, pmax = -1, nmatch = 0, best = 0, best_mis = nkeys + 1;
    for (int k = 0; k < nkeys; k++) {
        ks_copy(&trial[k], &w->model[k], &keydefs[k]);
        match[k] = !got[k].bad && ks_same_value(&trial[k], &got[k], &keydefs[k]) &&
                   ttl_matches(&trial[k], &got[k], before, after);
        ever[k] = match[k];
        mismatches += !match[k];
    }
    for (int p = 0;; p++) {
        if (mismatches == 0) {
            if (pmin < 0)
                pmin = p;
            pmax = p;
            nmatch++;
        }
        if (mismatches < best_mis) {
            best_mis = mismatches;
            best = p;
        }
        if (p == m)
            break;
        int touched[3 * MULTI_MAX];
        int nt = unit_apply(trial, &w->pend[w->head + p], t_kill, touched);
        for (int i = 0; i < nt; i++) {
            int k = touched[i];
            int now = !got[k].bad && ks_same_value(&trial[k], &got[k], &keydefs[k]) &&
                      ttl_matches(&trial[k], &got[k], before, after);
            mismatches += match[k] - now;
            match[k] = now;
            ever[k] |= now;
        }
    }
    int ok = pmin >= 0;
    if (ok) {
        fig_unacked_applied += pmin;
        fig_unacked_dropped += m - pmax;
        fig_unacked_open += pmax - pmin;
        if (lt_verbose)
            printf("  conn %d: %d unanswered, prefixes %d..%d (%d fit)\n", w->idx, m, pmin, pmax,
                   nmatch);
        /* The state after prefix pmin is the new acknowledged state. */
        int touched[3 * MULTI_MAX];
        for (int p = 0; p < pmin; p++)
            unit_apply(w->model, &w->pend[w->head + p], t_kill, touched);
    } else {
        int lost = 0;
        for (int k = 0; k < nkeys; k++)
            lost += !ever[k];
        fig_lost_keys += lost;
        fig_prefix_breaks += lost == 0;
        printf("%s: round %d, connection %d: no prefix of its %d unanswered commands explains "
               "its keys (%d keys match no prefix at all; the closest prefix, %d, leaves %d "
               "keys wrong):\n",
               name, round_no, w->idx, m, lost, best, best_mis);
        /* Show the keys that are wrong at the closest prefix. */
        for (int k = 0; k < nkeys; k++)
            ks_copy(&trial[k], &w->model[k], &keydefs[k]);
        int touched[3 * MULTI_MAX];
        for (int p = 0; p < best; p++)
            unit_apply(trial, &w->pend[w->head + p], t_kill, touched);
        int shown = 0;
        for (int k = 0; k < nkeys && shown < 6; k++) {
            if (!got[k].bad && ks_same_value(&trial[k], &got[k], &keydefs[k]) &&
                ttl_matches(&trial[k], &got[k], before, after))
                continue;
            char *a = ks_text(&trial[k], &keydefs[k], 0), *b = ks_text(&got[k], &keydefs[k], 1);
            char *diff = ks_diff(&trial[k], &got[k], &keydefs[k]);
            printf("  crash:c%d:%s%s\n    model:  %.600s\n    server: %.600s\n    differs: "
                   "%.600s\n",
                   w->idx, keydefs[k].name, ever[k] ? "" : " (matches no prefix)", a, b, diff);
            free(a);
            free(b);
            free(diff);
            shown++;
        }
    }
    for (int k = 0; k < nkeys; k++)
        ks_free(&trial[k]);
    free(trial);
    free(match);
    free(ever);
    return ok ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* DBSIZE, SCAN, EXISTS and INFO keyspace against the model's count of keys. */
static void check_counts(lt_conn *c)
{
    long long want = 0, want_expires = 0;
    int argc = 1;
    const char **argv = malloc((size_t)(1 + nconns * nkeys) * sizeof(char *));
    char(*names)[48] = malloc((size_t)(nconns * nkeys) * sizeof(*names));
    argv[0] = "EXISTS";
    for (int i = 0; i < nconns; i++) {
        for (int k = 0; k < nkeys; k++) {
            want += workers[i].model[k].exists;
            want_expires += workers[i].model[k].exists && workers[i].model[k].ttl_ms >= 0;
            snprintf(names[argc - 1], sizeof(names[0]), "crash:c%d:%.15s", i, keydefs[k].name);
            argv[argc] = names[argc - 1];
            argc++;
        }
    }
    lt_reply *r = lt_conn_call(c, "DBSIZE", NULL);
    long long dbsize = r && r->type == ':' ? r->integer : -1;
    lt_reply_free(r);
    int ok = lt_check(dbsize == want, "round %d: DBSIZE %lld, the model has %lld keys", round_no,
                      dbsize, want);

    r = lt_conn_call_argv(c, argc, argv, NULL);
    long long nexist = r && r->type == ':' ? r->integer : -1;
    lt_reply_free(r);
    ok &= lt_check(nexist == want, "round %d: EXISTS over all %d key names: %lld, model %lld",
                   round_no, argc - 1, nexist, want);

    /* SCAN: every key once or more, and exactly the model's keys. */
    char **seen = NULL;
    size_t nseen = 0, capseen = 0;
    char cursor[32] = "0";
    int scan_ok = 1;
    do {
        r = lt_conn_call(c, "SCAN", cursor, "COUNT", "50", NULL);
        if (!r || r->type != '*' || r->n != 2 || r->elem[0]->type != '$' ||
            r->elem[1]->type != '*') {
            scan_ok = 0;
            lt_reply_free(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->elem[0]->str);
        for (size_t i = 0; i < r->elem[1]->n; i++) {
            if (nseen == capseen) {
                capseen = capseen ? capseen * 2 : 256;
                seen = realloc(seen, capseen * sizeof(char *));
            }
            seen[nseen++] = strdup(r->elem[1]->elem[i]->str);
        }
        lt_reply_free(r);
    } while (strcmp(cursor, "0") != 0);
    size_t distinct = 0;
    if (nseen)
        qsort(seen, nseen, sizeof(char *), cmp_str);
    int stray = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (i > 0 && strcmp(seen[i], seen[i - 1]) == 0)
            continue;
        distinct++;
        int conn, k;
        char tag[8];
        int found = 0;
        if (sscanf(seen[i], "crash:c%d:%7s", &conn, tag) == 2 && conn >= 0 && conn < nconns) {
            for (k = 0; k < nkeys; k++) {
                if (strcmp(keydefs[k].name, tag) == 0) {
                    found = workers[conn].model[k].exists;
                    break;
                }
            }
        }
        if (!found && stray++ < 3)
            printf("%s: round %d: SCAN returned %s, which the model does not have\n", name,
                   round_no, seen[i]);
    }
    for (size_t i = 0; i < nseen; i++)
        free(seen[i]);
    free(seen);
    ok &= lt_check(scan_ok && stray == 0 && (long long)distinct == want,
                   "round %d: SCAN found %zu keys (%d not in the model), model %lld", round_no,
                   distinct, stray, want);

    r = lt_conn_call(c, "INFO", "keyspace", NULL);
    char line[128];
    snprintf(line, sizeof(line), "db0:keys=%lld,expires=%lld,", want, want_expires);
    int info_ok = r && r->type == '$' && !r->null &&
                  (want ? strstr(r->str, line) != NULL : strstr(r->str, "db0:") == NULL);
    ok &= lt_check(info_ok, "round %d: INFO keyspace lacks \"%s\": %.300s", round_no, line,
                   r && r->str ? r->str : "?");
    lt_reply_free(r);
    if (!ok)
        fig_count_errors++;
    free(argv);
    free(names);
}

/* A counter of INFO tiering (longtail's own section), or -1. */
static long long info_tiering(lt_conn *c, const char *field)
{
    lt_reply *r = lt_conn_call(c, "INFO", "tiering", NULL);
    long long v = -1;
    if (!r || lt_info_field(r, field, &v) != 0)
        v = -1;
    lt_reply_free(r);
    return v;
}

/* Sizes of the big collections after the check: the figures, and a line with -v. */
static void note_sizes(lt_conn *c)
{
    lt_buf line = {0};
    for (int i = 0; i < nconns; i++) {
        for (int b = 0; b < nbig; b++) {
            const kstate *k = &workers[i].model[bigkeys[b]];
            long long n = keydefs[bigkeys[b]].type == T_LIST ? k->llen : k->count;
            if (n > fig_biggest)
                fig_biggest = n;
            if (i == 0)
                lt_buf_printf(&line, " %s=%lld", keydefs[bigkeys[b]].name, n);
        }
    }
    long long reads = mode == MODE_REFERENCE ? -1 : info_tiering(c, "split_element_reads");
    fig_split_rounds += reads > 0;
    if (lt_verbose)
        printf("  big collections of connection 0:%s; split elements read by the check: %lld\n",
               line.p, reads);
    free(line.p);
}

/* One round: start, load, kill -9, start again, check. 0, or -1 to stop the run. */
static int run_round(unsigned long long *rng)
{
    const char *args[LT_MAX_ARGS];
    static char label[256], last[256];
    int nargs = server_args(args, rng, label, sizeof(label));
    if (srv.pid > 0) {
        /* the load runs on the server that recovered from the last kill -9 */
        snprintf(label, sizeof(label), "recovered server: %.200s", last);
    } else if (!lt_check(server_up(args, nargs) == 0, "round %d: the server did not start",
                         round_no)) {
        return -1;
    }
    if (strncmp(label, "recovered", 9) != 0)
        snprintf(last, sizeof(last), "%.200s", label);
    /* Kill soon after start-up now and then, otherwise after 50 ms to 1 s of load. */
    unsigned dice = (unsigned)(lt_rand_next(rng) % 10);
    int load_ms = dice == 0 ? (int)(lt_rand_next(rng) % 30) : 50 + (int)(lt_rand_next(rng) % 950);
    for (int i = 0; i < nconns; i++) {
        worker *w = &workers[i];
        w->conn = lt_conn_open(srv.port, 10000);
        if (!lt_check(w->conn != NULL, "round %d: cannot connect", round_no))
            return -1;
        w->conn->timeout_ms = READ_TIMEOUT;
        w->rng = mix(seed ^ mix((unsigned long long)(round_no * MAX_CONNS + i + 1)));
        w->big_add_pct = rnd(w, 2) ? 75 : 30;
        w->list_target = rnd(w, 2) ? 1000 : 200;
        for (int k = 0; k < nkeys; k++)
            w->est_len[k] = w->model[k].llen;
        w->head = w->npend = 0;
        w->acked_units = w->acked_ops = 0;
        w->bad_replies = 0;
        w->end_rc = LT_OK;
        w->longest_wait = 0;
    }
    for (int i = 0; i < nconns; i++) {
        workers[i].t_last_ack = lt_now_ms();
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    }
    lt_sleep_ms(load_ms);
    int st = lt_server_kill(&srv);
    long long t_kill = lt_now_ms();
    long long units = 0, ops = 0, inflight = 0, wait = 0;
    int ok = 1;
    for (int i = 0; i < nconns; i++) {
        worker *w = &workers[i];
        pthread_join(w->thread, NULL);
        lt_conn_close(w->conn);
        w->conn = NULL;
        units += w->acked_units;
        ops += w->acked_ops;
        inflight += w->npend - w->head;
        /* a reply still awaited at the kill counts too */
        if (t_kill - w->t_last_ack > w->longest_wait)
            w->longest_wait = t_kill - w->t_last_ack;
        if (w->longest_wait > wait)
            wait = w->longest_wait;
        ok &= lt_check(w->bad_replies == 0,
                       "round %d, connection %d: %d replies differ from "
                       "the model; first: %s",
                       round_no, i, w->bad_replies, w->first_bad);
        ok &= lt_check(w->end_rc == LT_ERR_EOF || w->end_rc == LT_ERR_IO,
                       "round %d, connection %d: the load ended with error %d, not the kill",
                       round_no, i, w->end_rc);
    }
    ok &= lt_check(st == 128 + 9, "round %d: kill -9 gave exit status %d (died before?)", round_no,
                   st);
    if (wait > fig_longest_wait)
        fig_longest_wait = wait;
    printf("%s: round %d (%s): %lld ms of load, %lld commands acknowledged, longest wait for a "
           "reply %lld ms, %lld units in flight at the kill\n",
           name, round_no, label, (long long)load_ms, ops, wait, inflight);
    fflush(stdout);
    if (st != 128 + 9)
        lt_server_print_logs(&srv, 30);
    if (!lt_check(lt_server_restart(&srv) == 0, "round %d: no restart after kill -9", round_no))
        return -1;
    lt_conn *c = lt_conn_open(srv.port, 10000);
    if (!lt_check(c != NULL, "round %d: cannot connect after the restart", round_no))
        return -1;
    c->timeout_ms = READ_TIMEOUT;
    kstate *got = calloc((size_t)nkeys, sizeof(kstate));
    for (int i = 0; i < nconns; i++) {
        long long before = 0, after = 0;
        int rc = read_keys(c, i, got, &before, &after);
        if (!lt_check(rc == 0, "round %d: reading the keys back failed", round_no)) {
            ok = 0;
        } else {
            ok &= lt_check(check_conn(&workers[i], got, before, after, t_kill) == 0,
                           "round %d, connection %d: the keys are not the acknowledged state "
                           "plus a prefix of the unanswered commands",
                           round_no, i);
        }
        for (int k = 0; k < nkeys; k++)
            ks_free(&got[k]);
    }
    free(got);
    if (ok) {
        fig_acked_units += units;
        fig_acked_ops += ops;
        long long before = fig_count_errors;
        check_counts(c);
        ok = fig_count_errors == before;
        note_sizes(c);
    }
    lt_conn_close(c);
    int alive = lt_server_alive(&srv);
    ok &= lt_check(alive, "round %d: the server died during the check", round_no);
    /* Half the time the next round's load runs on this server, recovered from kill -9;
     * otherwise it is stopped (SIGTERM, exit status 0) and started with new arguments. */
    int keep = lt_rand_next(rng) % 2 == 0;
    if (alive && (!ok || !keep || round_no + 1 == total_rounds)) {
        int stop = lt_server_stop(&srv);
        ok &= lt_check(stop == 0, "round %d: SIGTERM: exit status %d", round_no, stop);
    }
    if (!ok)
        fail_here();
    return ok ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: lt-crash [--server PATH] [--mode hot|cold] [--reference] [--rounds N]"
                    " [--seed S] [--connections N] [--server-arg ARG]... [-v]\n");
    exit(2);
}

static void setup_keys(void)
{
    for (int i = 0; i < NKINDS; i++) {
        for (int j = 0; j < kinds[i].count; j++) {
            keydef *d = &keydefs[nkeys];
            if (kinds[i].big)
                snprintf(d->name, sizeof(d->name), "%s", kinds[i].tag);
            else
                snprintf(d->name, sizeof(d->name), "%.3s%d", kinds[i].tag, j);
            d->type = kinds[i].type;
            d->universe = kinds[i].universe;
            d->big = kinds[i].big;
            if (d->big)
                bigkeys[nbig++] = nkeys;
            nkeys++;
        }
    }
}

int main(int argc, char **argv)
{
    const char *given = NULL;
    int rounds = DEFAULT_ROUNDS, have_seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "hot") == 0)
                mode = MODE_HOT;
            else if (strcmp(argv[i], "cold") == 0)
                mode = MODE_COLD;
            else
                usage();
        } else if (strcmp(argv[i], "--reference") == 0) {
            mode = MODE_REFERENCE;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
            have_seed = 1;
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            nconns = atoi(argv[++i]);
            if (nconns < 1 || nconns > MAX_CONNS)
                usage();
        } else if (strcmp(argv[i], "--server-arg") == 0 && i + 1 < argc) {
            if (n_user_args < 16)
                user_args[n_user_args++] = argv[++i];
        } else if (strcmp(argv[i], "-v") == 0) {
            lt_verbose = 1;
        } else {
            usage();
        }
    }
    if (rounds < 1)
        usage();
    snprintf(name, sizeof(name), "lt-crash[%s]",
             mode == MODE_HOT    ? "hot"
             : mode == MODE_COLD ? "cold"
                                 : "reference");
    server_bin = mode == MODE_REFERENCE ? (given ? given : "redis-server")
                                        : lt_server_path(given, "../../longtail-server");
    if (!have_seed)
        seed = (unsigned long long)lt_now_us();
    printf("%s: seed %llu, %d rounds, %d connections, server %s\n", name, seed, rounds, nconns,
           server_bin);
    setup_keys();
    for (int i = 0; i < nconns; i++) {
        workers[i].idx = i;
        workers[i].next_id = 1;
        workers[i].model = calloc((size_t)nkeys, sizeof(kstate));
        for (int k = 0; k < nkeys; k++)
            ks_init(&workers[i].model[k], &keydefs[k]);
    }
    unsigned long long rng = mix(seed);
    total_rounds = rounds;
    long long t0 = lt_now_ms();
    int done = 0;
    /* Each round is one test; a failed round stops the run, and the rounds
     * it leaves unrun count as failed (the plan). */
    lt_plan(rounds);
    for (round_no = 0; round_no < rounds; round_no++) {
        char test[64];
        snprintf(test, sizeof(test), "round %d", round_no);
        lt_test_begin(test);
        int rc = run_round(&rng);
        lt_test_end();
        if (rc != 0)
            break;
        done++;
    }
    printf("%s: %d rounds in %lld s\n", name, done, (lt_now_ms() - t0) / 1000);
    printf("%s: acknowledged commands checked: %lld (in %lld units: commands or MULTI/EXEC)\n",
           name, fig_acked_ops, fig_acked_units);
    printf("%s: unanswered units at the kill: %lld found applied, %lld not applied, %lld "
           "either (same state)\n",
           name, fig_unacked_applied, fig_unacked_dropped, fig_unacked_open);
    printf("%s: longest wait for a reply %lld ms; largest collection %lld elements", name,
           fig_longest_wait, fig_biggest);
    if (mode != MODE_REFERENCE)
        printf("; rounds whose check read split-stored elements: %lld", fig_split_rounds);
    printf("\n");
    printf("%s: lost: %lld keys matched no prefix, %lld connections with no common prefix, %lld "
           "rounds with wrong counts\n",
           name, fig_lost_keys, fig_prefix_breaks, fig_count_errors);
    lt_server_cleanup(&srv, lt_checks_failed() > 0);
    for (int i = 0; i < nconns; i++) {
        for (int k = 0; k < nkeys; k++)
            ks_free(&workers[i].model[k]);
        free(workers[i].model);
        free(workers[i].pend);
    }
    return lt_report(name);
}
