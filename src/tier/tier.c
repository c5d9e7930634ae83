/*
 * tier.c: the only place that decides what lives in memory.
 *
 * Prefetch: before a command runs, its keys (from the command table) that
 * are neither hot nor known absent are read by the storage pool; the
 * client is parked meanwhile (its pipelined commands wait behind it, order
 * kept) and other clients are served. On completion the values are installed
 * as clean hot keys and the command runs at once, with the keys found absent
 * remembered for that one execution. A command that needs no value (DEL,
 * EXISTS, TYPE, the TTL family) has big split values read as their header
 * alone: the keyspace answers from it (keyspace/header.h).
 *
 * Order: a command that arrives while an earlier command naming one of its
 * keys is parked (reading that key or another) or waiting waits too, in a
 * FIFO of followers, and runs when the commands before it are done:
 * commands on the same key run in the order they arrived, as in Redis, even
 * when the first one had to wait for the disk.
 *
 * Staleness: every key in flight is in `inflight` with the sequence number
 * of the last write to it. A read submitted before a write of its key is
 * stale: its value is dropped and the command's keys are looked at again.
 *
 * Demotion: above maxmemory, clean keys are dropped from memory by sampled
 * LRU/LFU/random/TTL ranking; with maxmemory 1 (cold mode) every clean key
 * is dropped after each commit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/hash.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "server/log.h"
#include "server/multi.h"
#include "server/server.h"
#include "storage/codec.h"
#include "storage/readpool.h"
#include "tier/tier.h"

struct tier_stats tier_stats;

struct prefetch {
    struct read_job job;
    client *c; /* NULL once the client is gone */
    uint64_t submit_seq;
    int stale; /* the db was flushed or swapped meanwhile */
    int n;
    uint16_t *dbid;
    str *ukeys; /* user keys (heap copies) */
    str *akeys; /* the same keys as the client holds them (argv, WATCH) */
    str *ikeys; /* inflight dict keys: dbid + user key (hot) */
    int nheld;
    str *hkeys; /* inflight dict keys of the command's other keys (held, not read) */
    struct prefetch *prev, *next; /* in flight */
};

struct inflight {
    long refs;      /* reads in flight of the key */
    long held;      /* parked commands that name it without reading it */
    long followers; /* waiting commands that name it */
    uint64_t last_write;
};

/* A command waiting for reads of its keys that an earlier command started. */
struct follower {
    client *c; /* NULL once the client is gone */
    int n;
    str *ikeys; /* the inflight dict keys it holds */
    struct follower *next;
};
static struct follower *fhead, **ftail = &fhead;

static uint64_t write_seq = 1;
static struct prefetch *pending; /* all prefetches in flight */

static void inflight_free(void *v)
{
    hot_free(v);
}
static const dict_type inflight_type = {dict_str_hash, dict_str_eq, dict_str_hot_free,
                                        inflight_free};
static dict *inflight;

static str inflight_key(uint16_t dbid, const char *key, size_t len)
{
    str k = str_hot_new(NULL, len + 2);
    k[0] = (char)(dbid >> 8);
    k[1] = (char)dbid;
    memcpy(k + 2, key, len);
    return k;
}

/* The inflight entry of (dbid, key), or NULL. */
static dict_entry *inflight_find(uint16_t dbid, const char *key, size_t len)
{
    if (!inflight || dict_size(inflight) == 0)
        return NULL;
    return dict_find_tagged(inflight, dbid, key, len);
}

/* Adds a hold on (dbid, key): the entry, created if needed. */
static dict_entry *inflight_hold(uint16_t dbid, const char *key, size_t len)
{
    if (!inflight)
        inflight = dict_create(&inflight_type);
    str ik = inflight_key(dbid, key, len);
    int existed;
    dict_entry *e = dict_add_or_find(inflight, ik, &existed);
    if (existed)
        str_hot_free(ik);
    else
        e->v.val = hot_calloc(sizeof(struct inflight));
    return e;
}

/* Drops the entry once nothing holds it. */
static void inflight_drop_if_unused(const str ikey)
{
    dict_entry *e = dict_find(inflight, ikey);
    struct inflight *f = e->v.val;
    if (f->refs == 0 && f->held == 0 && f->followers == 0)
        dict_delete(inflight, ikey);
}

void tier_key_written(uint16_t dbid, const str key)
{
    write_seq++;
    dict_entry *e = inflight_find(dbid, key, str_len(key));
    if (e)
        ((struct inflight *)e->v.val)->last_write = write_seq;
}

void tier_db_changed(uint16_t dbid)
{
    write_seq++;
    for (struct prefetch *p = pending; p; p = p->next)
        for (int i = 0; i < p->n; i++)
            if (p->dbid[i] == dbid)
                p->stale = 1;
}

static void prefetch_free(struct prefetch *pf)
{
    for (int i = 0; i < pf->n; i++) {
        str_free(pf->ukeys[i]);
        free(pf->job.keys[i]);
        free(pf->job.vals[i]);
    }
    free(pf->dbid);
    free(pf->ukeys);
    free(pf->akeys);
    free(pf->ikeys);
    free(pf->hkeys);
    free(pf->job.keys);
    free(pf->job.klens);
    free(pf->job.vals);
    free(pf->job.vlens);
    free(pf->job.rc);
    free(pf);
}

/* Commands that need of their keys only whether they exist, their type,
 * encoding, TTL or number of elements, or to delete them: reading a big
 * value's elements for them would turn an O(1) command into O(N) disk
 * reads. The EXPIRE family writes the TTL into the value's header, so it
 * loads the value. */
static int prefetch_header_only(const struct command *cmd)
{
    void (*p)(client *) = cmd->proc;
    return p == cmd_del || p == cmd_unlink || p == cmd_exists || p == cmd_type || p == cmd_ttl ||
           p == cmd_pttl || p == cmd_expiretime || p == cmd_pexpiretime ||
           p == cmd_object_encoding || p == cmd_hlen || p == cmd_scard || p == cmd_zcard ||
           p == cmd_llen;
}

#define PREFETCH_MAX 64

/* The keys c's command will read: its own, or for EXEC those of the whole
 * transaction. Returns how many (at most PREFETCH_MAX; others are loaded
 * synchronously when used). */
static int prefetch_keys(client *c, struct key_at *keys)
{
    int n;
    if (c->cmd->proc == cmd_exec) {
        n = multi_exec_keys(c, keys, PREFETCH_MAX);
    } else {
        struct keyref refs[PREFETCH_MAX];
        n = command_get_keys(c->cmd, c, c->argc, c->argv, refs, PREFETCH_MAX);
        for (int i = 0; i < n && i < PREFETCH_MAX; i++)
            keys[i] = (struct key_at){refs[i].dbindex < 0 ? c->dbindex : refs[i].dbindex,
                                      c->argv[refs[i].argi]};
    }
    return n < PREFETCH_MAX ? n : PREFETCH_MAX;
}

/* c waits behind the reads in flight of its keys (tier_prefetch). */
static void follow(client *c, const struct key_at *keys, int n)
{
    struct follower *f = calloc(1, sizeof(*f));
    f->c = c;
    f->ikeys = calloc((size_t)n, sizeof(str));
    for (int i = 0; i < n; i++) {
        struct db *db = keyspace_db(keys[i].dbindex);
        if (!db)
            continue;
        dict_entry *e = inflight_hold(db->dbid, keys[i].key, str_len(keys[i].key));
        ((struct inflight *)e->v.val)->followers++;
        f->ikeys[f->n++] = e->key;
    }
    *ftail = f;
    ftail = &f->next;
    c->flags |= CLIENT_PARKED;
    tier_stats.followed++;
}

/* Whether a key of the command is being read, or named by a command
 * parked or waiting already. */
static int keys_busy(const struct key_at *keys, int n)
{
    if (!inflight || dict_size(inflight) == 0)
        return 0; /* the usual case: nothing read, nobody waiting */
    for (int i = 0; i < n; i++) {
        struct db *db = keyspace_db(keys[i].dbindex);
        if (db && inflight_find(db->dbid, keys[i].key, str_len(keys[i].key)))
            return 1;
    }
    return 0;
}

static int prefetch(client *c, int may_follow);

static int key_among(const struct key_at *set, int n, const struct key_at *k)
{
    for (int j = 0; j < n; j++)
        if (set[j].dbindex == k->dbindex && str_len(set[j].key) == str_len(k->key) &&
            !memcmp(set[j].key, k->key, str_len(k->key)))
            return 1;
    return 0;
}

/* Runs the followers whose earlier commands are done, in arrival order;
 * the first that still waits stops the rest. */
static void followers_run(void)
{
    while (fhead) {
        struct follower *f = fhead;
        for (int i = 0; f->c && i < f->n; i++) {
            struct inflight *k = dict_find(inflight, f->ikeys[i])->v.val;
            if (k->refs > 0 || k->held > 0)
                return;
        }
        fhead = f->next;
        if (!fhead)
            ftail = &fhead;
        for (int i = 0; i < f->n; i++) {
            ((struct inflight *)dict_find(inflight, f->ikeys[i])->v.val)->followers--;
            inflight_drop_if_unused(f->ikeys[i]);
        }
        client *c = f->c;
        free(f->ikeys);
        free(f);
        if (c) {
            c->flags &= ~CLIENT_PARKED;
            if (prefetch(c, 0) == 0)
                client_resume(c);
        }
    }
}

int tier_prefetch(client *c)
{
    return prefetch(c, 1);
}

/* Whether ik (an inflight dict key) is (dbid, key). */
static int ikey_is(const str ik, uint16_t dbid, const str key)
{
    return str_len(ik) == str_len(key) + 2 && str_tag(ik) == dbid &&
           !memcmp(ik + 2, key, str_len(key));
}

static int ikeys_name(const str *ikeys, int n, const struct key_at *keys, const uint16_t *dbids,
                      int nkeys)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nkeys; j++)
            if (ikey_is(ikeys[i], dbids[j], keys[j].key))
                return 1;
    return 0;
}

int tier_keys_wanted_before(client *c, uint64_t before)
{
    if (!inflight || dict_size(inflight) == 0)
        return 0;
    struct key_at keys[PREFETCH_MAX];
    uint16_t dbids[PREFETCH_MAX];
    int n = prefetch_keys(c, keys), m = 0;
    for (int i = 0; i < n; i++) {
        struct db *db = keyspace_db(keys[i].dbindex);
        if (db && inflight_find(db->dbid, keys[i].key, str_len(keys[i].key))) {
            keys[m] = keys[i];
            dbids[m++] = db->dbid;
        }
    }
    if (m == 0)
        return 0;
    for (struct prefetch *p = pending; p; p = p->next)
        if (p->c && p->c->arrival < before &&
            (ikeys_name(p->ikeys, p->n, keys, dbids, m) ||
             ikeys_name(p->hkeys, p->nheld, keys, dbids, m)))
            return 1;
    for (struct follower *f = fhead; f; f = f->next)
        if (f->c && f->c->arrival < before && ikeys_name(f->ikeys, f->n, keys, dbids, m))
            return 1;
    return 0;
}

/* may_follow: 0 for a command that already waited its turn. */
static int prefetch(client *c, int may_follow)
{
    if (c->headers)
        c->headers->n = 0;
    if (c->cmd->proc == cmd_object_tier)
        return 0; /* it reports where the key is: loading it would change the answer */
    struct key_at keys[PREFETCH_MAX];
    int n = prefetch_keys(c, keys);
    if (may_follow && keys_busy(keys, n)) {
        follow(c, keys, n);
        return 1;
    }
    /* the keys to read, and the others (hot or known absent), each once */
    struct key_at want[PREFETCH_MAX], other[PREFETCH_MAX];
    int nwant = 0, nother = 0;
    c->absent.n = 0;
    for (int i = 0; i < n; i++) {
        if (!keyspace_db(keys[i].dbindex))
            continue;
        if (db_key_state(keyspace_db(keys[i].dbindex), keys[i].key) == KEY_UNKNOWN) {
            if (!key_among(want, nwant, &keys[i]))
                want[nwant++] = keys[i];
        } else if (!key_among(other, nother, &keys[i])) {
            other[nother++] = keys[i];
        }
    }
    if (nwant == 0)
        return 0;
    /* When the bloom filters rule out every key, the command runs now with
     * them known absent. Otherwise all are read: a parked command's keys
     * must all be watched for writes while it waits. */
    if (nwant <= ABSENT_MAX) {
        int all_absent = 1;
        for (int i = 0; i < nwant && all_absent; i++)
            all_absent = !db_may_exist_on_disk(keyspace_db(want[i].dbindex), want[i].key);
        if (all_absent) {
            for (int i = 0; i < nwant; i++) {
                c->absent.dbindex[i] = want[i].dbindex;
                c->absent.key[i] = want[i].key;
                c->absent.len[i] = str_len(want[i].key);
            }
            c->absent.n = nwant;
            tier_stats.bloom_absent += nwant;
            return 0;
        }
    }

    struct prefetch *pf = calloc(1, sizeof(*pf));
    pf->c = c;
    pf->n = nwant;
    pf->submit_seq = write_seq;
    pf->dbid = calloc((size_t)nwant, sizeof(*pf->dbid));
    pf->ukeys = calloc((size_t)nwant, sizeof(str));
    pf->akeys = calloc((size_t)nwant, sizeof(str));
    pf->ikeys = calloc((size_t)nwant, sizeof(str));
    pf->job.owner = pf;
    pf->job.n = (size_t)nwant;
    pf->job.keys = calloc((size_t)nwant, sizeof(char *));
    pf->job.klens = calloc((size_t)nwant, sizeof(size_t));
    pf->job.vals = calloc((size_t)nwant, sizeof(char *));
    pf->job.vlens = calloc((size_t)nwant, sizeof(size_t));
    pf->job.rc = calloc((size_t)nwant, sizeof(int));
    pf->job.header_only = prefetch_header_only(c->cmd);
    for (int i = 0; i < nwant; i++) {
        struct db *db = keyspace_db(want[i].dbindex);
        str key = want[i].key;
        size_t len = str_len(key);
        pf->dbid[i] = db->dbid;
        pf->ukeys[i] = str_new(key, len);
        pf->akeys[i] = key;
        pf->job.keys[i] = malloc(len + CODEC_KEY_PREFIX);
        pf->job.klens[i] = codec_key_encode(db->dbid, key, len, pf->job.keys[i]);
        dict_entry *e = inflight_hold(db->dbid, key, len);
        ((struct inflight *)e->v.val)->refs++;
        pf->ikeys[i] = e->key;
    }
    /* its other keys are held too: a later command naming one of them
     * waits for this one, as a later command on a key being read does */
    pf->nheld = nother;
    pf->hkeys = calloc((size_t)(nother ? nother : 1), sizeof(str));
    for (int i = 0; i < nother; i++) {
        dict_entry *e =
            inflight_hold(keyspace_db(other[i].dbindex)->dbid, other[i].key, str_len(other[i].key));
        ((struct inflight *)e->v.val)->held++;
        pf->hkeys[i] = e->key;
    }
    pf->next = pending;
    if (pending)
        pending->prev = pf;
    pending = pf;
    c->pf = pf;
    c->flags |= CLIENT_PARKED;
    tier_stats.parked++;
    tier_stats.prefetch_reads += nwant;
    readpool_submit(&pf->job);
    return 1;
}

void tier_client_freed(client *c)
{
    for (struct prefetch *p = pending; p; p = p->next)
        if (p->c == c)
            p->c = NULL;
    for (struct follower *f = fhead; f; f = f->next)
        if (f->c == c)
            f->c = NULL;
    c->pf = NULL;
}

/* Releases the inflight entries of pf; returns 1 if any of its keys was
 * written since it was submitted. */
static int prefetch_release(struct prefetch *pf)
{
    int stale = pf->stale;
    for (int i = 0; i < pf->n; i++) {
        dict_entry *e = dict_find(inflight, pf->ikeys[i]);
        if (!e)
            continue;
        struct inflight *f = e->v.val;
        if (f->last_write > pf->submit_seq)
            stale = 1;
        f->refs--;
        inflight_drop_if_unused(pf->ikeys[i]);
    }
    for (int i = 0; i < pf->nheld; i++) {
        ((struct inflight *)dict_find(inflight, pf->hkeys[i])->v.val)->held--;
        inflight_drop_if_unused(pf->hkeys[i]);
    }
    pf->nheld = 0;
    if (pf->prev)
        pf->prev->next = pf->next;
    else
        pending = pf->next;
    if (pf->next)
        pf->next->prev = pf->prev;
    return stale;
}

void tier_on_reads_done(void)
{
    struct read_job *j = readpool_drain();
    while (j) {
        struct read_job *next = j->next;
        struct prefetch *pf = j->owner;
        hist_record(&server.read_latency, j->done_us - j->submit_us);
        int stale = prefetch_release(pf);
        client *c = pf->c;
        if (!c) {
            prefetch_free(pf);
            j = next;
            continue;
        }
        if (stale)
            tier_stats.stale_reads++;
        for (int i = 0; i < pf->n && !stale; i++) {
            struct db *db = keyspace_db_by_id(pf->dbid[i]);
            if (!db)
                continue;
            if (j->rc[i] == 0 && j->header_only) {
                if (!c->headers)
                    c->headers = calloc(1, sizeof(*c->headers));
                if (c->headers &&
                    db_install_header(db, pf->akeys[i], j->vals[i], j->vlens[i], c->headers) == 1)
                    tier_stats.header_reads++;
            } else if (j->rc[i] == 0) {
                db_install_loaded(db, pf->ukeys[i], j->vals[i], j->vlens[i]);
            } else if (j->rc[i] == STORE_NOTFOUND) {
                tier_stats.prefetch_hits_absent++;
                if (c->absent.n < ABSENT_MAX) {
                    int a = c->absent.n++;
                    c->absent.dbindex[a] = db->index;
                    c->absent.key[a] = pf->akeys[i];
                    c->absent.len[a] = str_len(pf->akeys[i]);
                }
            }
        }
        c->flags &= ~CLIENT_PARKED;
        if (stale) {
            /* look at the keys again: some are hot now, others re-read */
            c->pf = NULL;
            prefetch_free(pf);
            if (prefetch(c, 0) == 0)
                client_resume(c);
        } else {
            c->pf = NULL;
            prefetch_free(pf);
            client_resume(c); /* runs the command, then the rest of the pipeline */
        }
        j = next;
    }
    followers_run();
}

/* ---- LRU / LFU ----------------------------------------------------------- */

#define LFU_INIT_VAL 5

static int policy_is_lfu(void)
{
    return server.maxmemory_policy == MAXMEMORY_LFU;
}

static uint16_t lfu_minutes(void)
{
    return (uint16_t)((util_mstime() / 60000) & 0xffff);
}

static unsigned lfu_decayed(const obj *o)
{
    unsigned ldt = o->lru >> 8, counter = o->lru & 0xff;
    unsigned now = lfu_minutes();
    unsigned elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    unsigned periods = server.lfu_decay_time ? elapsed / (unsigned)server.lfu_decay_time : 0;
    return periods > counter ? 0 : counter - periods;
}

void tier_init_obj(void *p)
{
    obj *o = p;
    if (policy_is_lfu())
        o->lru = ((uint32_t)lfu_minutes() << 8) | LFU_INIT_VAL;
    else
        o->lru = server_lru_clock();
}

void tier_touch(void *p)
{
    obj *o = p;
    if (!policy_is_lfu()) {
        o->lru = server_lru_clock();
        return;
    }
    unsigned counter = lfu_decayed(o);
    if (counter < 255) {
        double r = (double)(util_rand64() >> 11) / (double)(1ull << 53);
        double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        if (r < 1.0 / (base * server.lfu_log_factor + 1))
            counter++;
    }
    o->lru = ((uint32_t)lfu_minutes() << 8) | counter;
}

int tier_lfu_counter(void *p)
{
    return (int)lfu_decayed(p);
}

long long tier_idle_seconds(void *p)
{
    obj *o = p;
    uint32_t now = server_lru_clock();
    return now >= o->lru ? (long long)(now - o->lru) : 0;
}

/* ---- access history of demoted keys --------------------------------------- */

/* A demoted key loses its object, and with it its LRU clock or LFU counter;
 * reading it back would start it afresh, so OBJECT FREQ/IDLETIME and the
 * demotion ranking would answer differently hot and cold. A direct-mapped
 * table of recently demoted keys keeps that word: a slot holds a 64-bit
 * fingerprint of (dbid, key) and the lru field; a newer key mapping to the
 * same slot replaces it. 64 Ki slots, 1 MiB. */
#define HISTORY_SLOTS (1u << 16)

struct history_slot {
    uint64_t fp;
    uint32_t lru;
};

static struct history_slot *history;

static uint64_t history_fp(uint16_t dbid, const char *key, size_t len)
{
    static const uint8_t k[16] = "longtail-history";
    return hash_siphash(key, len, k) ^ ((uint64_t)dbid * 0x9e3779b97f4a7c15ull);
}

void tier_remember(uint16_t dbid, const char *key, size_t len, uint32_t lru)
{
    if (!history)
        history = calloc(HISTORY_SLOTS, sizeof(*history));
    uint64_t fp = history_fp(dbid, key, len) | 1; /* 0 marks an empty slot */
    struct history_slot *h = &history[fp & (HISTORY_SLOTS - 1)];
    h->fp = fp;
    h->lru = lru;
}

int tier_recall(uint16_t dbid, const char *key, size_t len, uint32_t *lru)
{
    if (!history)
        return 0;
    uint64_t fp = history_fp(dbid, key, len) | 1;
    struct history_slot *h = &history[fp & (HISTORY_SLOTS - 1)];
    if (h->fp != fp)
        return 0;
    *lru = h->lru;
    h->fp = 0;
    return 1;
}

/* ---- demotion ------------------------------------------------------------ */

/* Score: higher = better to demote. */
static double demote_score(struct db *db, dict_entry *e)
{
    obj *o = e->v.val;
    switch (server.maxmemory_policy) {
    case MAXMEMORY_LFU:
        return 255.0 - lfu_decayed(o);
    case MAXMEMORY_RANDOM:
        return (double)(util_rand64() & 0xffff);
    case MAXMEMORY_TTL: {
        dict_entry *x = dict_find(db->expires, dict_key(db->keys, e));
        return x ? 1e18 - (double)x->v.s64 : 0;
    }
    default:
        return (double)tier_idle_seconds(o);
    }
}

void tier_enforce_maxmemory(void)
{
    if (server.maxmemory == 0)
        return;
    if (server.maxmemory == 1) {
        keyspace_demote_all_clean();
        return;
    }
    int ndb = keyspace_count();
    int fails = 0;
    while (hot_used() > (size_t)server.maxmemory && fails < 16) {
        struct db *best_db = NULL;
        str best_key = NULL;
        double best = -1;
        for (int i = 0; i < ndb; i++) {
            struct db *db = keyspace_db(i);
            if (!dict_size(db->keys))
                continue;
            dict_entry *sample[64];
            size_t got = dict_sample(db->keys, sample, (size_t)server.maxmemory_samples);
            for (size_t s = 0; s < got; s++) {
                obj *o = sample[s]->v.val;
                if (o->flags & OBJ_F_DIRTY)
                    continue;
                double score = demote_score(db, sample[s]);
                if (score > best) {
                    best = score;
                    best_db = db;
                    best_key = dict_key(db->keys, sample[s]);
                }
            }
        }
        if (!best_db) {
            fails++;
            continue;
        }
        str k = str_new(best_key, str_len(best_key));
        db_demote(best_db, k);
        str_free(k);
    }
}
