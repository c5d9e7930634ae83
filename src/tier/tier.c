/*
 * tier.c: the only place that decides what lives in memory.
 *
 * Prefetch: before a command runs, its keys (cmd/ hands them over) that
 * are neither hot nor known absent are read by the storage pool; the
 * command's owner waits meanwhile (cmd/ parks its client: its pipelined
 * commands wait behind it, order kept) and other clients are served. On
 * completion the values are installed as clean hot keys, what the reads
 * found without installing (absent keys, split headers) is recorded in the
 * owner's known set, and the owner is handed to the resume hook, which runs
 * the command at once. A command that needs only metadata (PREFETCH_META:
 * DEL, EXISTS, TYPE, the TTL family...) has big split values read as their
 * header alone: the keyspace answers from it.
 *
 * Order: a command that arrives while an earlier command naming one of its
 * keys is parked (reading that key or another) or waiting waits too, in a
 * FIFO of followers, and runs when the commands before it are done:
 * commands on the same key run in the order they arrived, as in Redis, even
 * when the first one had to wait for the disk. A parked command holds every
 * key it names in `inflight`: those it reads (refs), and the others, hot or
 * known absent (held).
 *
 * Staleness: every key in flight is in `inflight` with the sequence number
 * of the last write to it (the keyspace's key_changed event). A read
 * submitted before a write of its key, or of a db flushed or swapped
 * meanwhile, is stale: its values are dropped and the command's keys are
 * looked at again.
 *
 * Read-ahead of the log's replay: the replay runs commands with no client
 * to serve, so it has the pool read the keys of its next commands while
 * the current ones run (tier_readahead_*), instead of a synchronous read
 * per cold key.
 *
 * Demotion: above maxmemory, clean keys are dropped from memory by sampled
 * LRU/LFU/random/TTL ranking; with maxmemory 1 (cold mode) every clean key
 * is dropped after each commit.
 */
#include "tier/tier.h"

#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "storage/codec.h"
#include "storage/readpool.h"

struct tier_settings tier_settings;
struct tier_stats tier_stats;

static void (*resume_hook)(void *owner);

/* A command's keys, copied (the strs stay the caller's). */
struct keylist {
    int n;
    struct key_at *k;
};

/* A prefetch's reads: every key's slot in one set of arrays, read by jobs
 * of at most JOB_KEYS keys each (several pool threads work for one big
 * command), which are submitted while fewer than INFLIGHT_KEYS keys are
 * being read in all and wait in a FIFO otherwise: a command with ten
 * thousand keys is read in waves, never by a fallback to synchronous
 * reads. */
#define JOB_KEYS      256
#define INFLIGHT_KEYS 8192

struct reads {
    char **keys; /* encoded keys-CF keys */
    size_t *klens;
    char **vals;
    size_t *vlens;
    int *rc;
    struct read_job *jobs;
    int njobs;
    int left; /* jobs not completed yet */
};

struct prefetch {
    struct reads r;
    void *owner; /* NULL once cancelled */
    uint64_t arrival;
    int flags;
    struct known_keys *known;
    struct keylist all; /* every key of the command, to look at again when stale */
    uint64_t submit_seq;
    int stale; /* a db of its keys was flushed or swapped meanwhile */
    int n;     /* keys read */
    uint16_t *dbid;
    str *akeys; /* the keys read, as the command holds them */
    str *ikeys; /* their inflight dict keys */
    int nheld;
    str *hkeys;                   /* inflight dict keys of its other keys (held, not read) */
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
    void *owner; /* NULL once cancelled */
    uint64_t arrival;
    int flags;
    struct known_keys *known;
    struct keylist all;
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

static struct inflight *inflight_of(const str ikey)
{
    return dict_find(inflight, ikey)->v.val;
}

/* Drops the entry once nothing holds it. */
static void inflight_drop_if_unused(const str ikey)
{
    struct inflight *f = inflight_of(ikey);
    if (f->refs == 0 && f->held == 0 && f->followers == 0)
        dict_delete(inflight, ikey);
}

/* keyspace's key_changed event: a read in flight of the key is stale. */
static void key_changed(struct db *db, const str key)
{
    write_seq++;
    dict_entry *e = inflight_find(db->dbid, key, str_len(key));
    if (e)
        ((struct inflight *)e->v.val)->last_write = write_seq;
}

/* keyspace's db_replaced event: every read in flight of the db (both dbs
 * of a swap: the event comes once each way) is stale. */
static void db_replaced(int emptied, int replaced)
{
    (void)replaced;
    struct db *db = keyspace_db(emptied);
    write_seq++;
    for (struct prefetch *p = pending; p; p = p->next)
        for (int i = 0; i < p->n; i++)
            if (p->dbid[i] == db->dbid)
                p->stale = 1;
}

void tier_init(void)
{
    keyspace_on_key_changed(key_changed);
    keyspace_on_db_replaced(db_replaced);
    hist_init(&tier_stats.read_latency);
}

void tier_set_resume_hook(void (*fn)(void *owner))
{
    resume_hook = fn;
}

void tier_reset_stats(void)
{
    memset(&tier_stats, 0, sizeof(tier_stats));
    hist_init(&tier_stats.read_latency);
}

static void keylist_copy(struct keylist *l, const struct key_at *keys, int n)
{
    l->n = n;
    l->k = heap_malloc((size_t)(n ? n : 1) * sizeof(*keys));
    memcpy(l->k, keys, (size_t)n * sizeof(*keys));
}

/* The arrays of pf's n keys: their dbs, names and reads. */
static void prefetch_alloc(struct prefetch *pf, size_t n)
{
    pf->dbid = heap_calloc(n, sizeof(*pf->dbid));
    pf->akeys = heap_calloc(n, sizeof(str));
    pf->r.keys = heap_calloc(n, sizeof(char *));
    pf->r.klens = heap_calloc(n, sizeof(size_t));
    pf->r.vals = heap_calloc(n, sizeof(char *));
    pf->r.vlens = heap_calloc(n, sizeof(size_t));
    pf->r.rc = heap_calloc(n, sizeof(int));
}

static void prefetch_free(struct prefetch *pf)
{
    for (int i = 0; i < pf->n; i++) {
        free(pf->r.keys[i]);
        free(pf->r.vals[i]);
    }
    free(pf->all.k);
    free(pf->dbid);
    free(pf->akeys);
    free(pf->ikeys);
    free(pf->hkeys);
    for (int i = 0; i < pf->r.njobs; i++)
        free(pf->r.jobs[i].err);
    free(pf->r.jobs);
    free(pf->r.keys);
    free(pf->r.klens);
    free(pf->r.vals);
    free(pf->r.vlens);
    free(pf->r.rc);
    free(pf);
}

/* Orders keys by db, then bytes, so duplicates are neighbours. */
static int key_at_cmp(const void *a, const void *b)
{
    const struct key_at *x = a, *y = b;
    if (x->dbindex != y->dbindex)
        return x->dbindex < y->dbindex ? -1 : 1;
    return str_cmp(x->key, y->key);
}

static int key_at_eq(const struct key_at *x, const struct key_at *y)
{
    return x->dbindex == y->dbindex && str_len(x->key) == str_len(y->key) &&
           !memcmp(x->key, y->key, str_len(x->key));
}

/* The distinct keys of keys[0..n) in a new array (the caller frees it);
 * a few are compared pairwise, more are sorted. */
static struct key_at *keys_distinct(const struct key_at *keys, int n, int *out_n)
{
    struct key_at *d = heap_malloc((size_t)(n ? n : 1) * sizeof(*d));
    int m = 0;
    if (n <= 16) {
        for (int i = 0; i < n; i++) {
            int dup = 0;
            for (int j = 0; j < m && !dup; j++)
                dup = key_at_eq(&d[j], &keys[i]);
            if (!dup)
                d[m++] = keys[i];
        }
    } else {
        memcpy(d, keys, (size_t)n * sizeof(*d));
        qsort(d, (size_t)n, sizeof(*d), key_at_cmp);
        for (int i = 0; i < n; i++)
            if (m == 0 || !key_at_eq(&d[m - 1], &d[i]))
                d[m++] = d[i];
    }
    *out_n = m;
    return d;
}

/* The owner waits behind the reads in flight of its keys (tier_prefetch). */
static void follow(void *owner, uint64_t arrival, const struct key_at *keys, int n, int flags,
                   struct known_keys *known)
{
    struct follower *f = heap_calloc(1, sizeof(*f));
    f->owner = owner;
    f->arrival = arrival;
    f->flags = flags;
    f->known = known;
    keylist_copy(&f->all, keys, n);
    f->ikeys = heap_calloc((size_t)(n ? n : 1), sizeof(str));
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

static int prefetch(void *owner, uint64_t arrival, const struct key_at *keys, int n, int flags,
                    struct known_keys *known, int may_follow);
static void reads_submit(struct prefetch *pf, int header_only);

static void resume(void *owner)
{
    if (resume_hook)
        resume_hook(owner);
}

/* Runs the followers whose earlier commands are done, in arrival order;
 * the first that still waits stops the rest. */
static void followers_run(void)
{
    while (fhead) {
        struct follower *f = fhead;
        for (int i = 0; f->owner && i < f->n; i++) {
            struct inflight *k = inflight_of(f->ikeys[i]);
            if (k->refs > 0 || k->held > 0)
                return;
        }
        fhead = f->next;
        if (!fhead)
            ftail = &fhead;
        for (int i = 0; i < f->n; i++) {
            inflight_of(f->ikeys[i])->followers--;
            inflight_drop_if_unused(f->ikeys[i]);
        }
        if (f->owner &&
            prefetch(f->owner, f->arrival, f->all.k, f->all.n, f->flags, f->known, 0) == 0)
            resume(f->owner);
        free(f->all.k);
        free(f->ikeys);
        free(f);
    }
}

int tier_prefetch(void *owner, uint64_t arrival, const struct key_at *keys, int n, int flags,
                  struct known_keys *known)
{
    return prefetch(owner, arrival, keys, n, flags, known, 1);
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

int tier_waiting(void)
{
    return pending != NULL || fhead != NULL;
}

int tier_keys_wanted_before(const struct key_at *keys, int n, uint64_t before)
{
    if (!inflight || dict_size(inflight) == 0 || n == 0)
        return 0;
    /* only the keys in flight at all can be named by a waiting command */
    struct key_at *busy = heap_malloc((size_t)n * sizeof(*busy));
    uint16_t *dbids = heap_malloc((size_t)n * sizeof(*dbids));
    int m = 0, found = 0;
    for (int i = 0; i < n; i++) {
        struct db *db = keyspace_db(keys[i].dbindex);
        if (db && inflight_find(db->dbid, keys[i].key, str_len(keys[i].key))) {
            busy[m] = keys[i];
            dbids[m++] = db->dbid;
        }
    }
    for (struct prefetch *p = pending; m && p && !found; p = p->next)
        found = p->owner && p->arrival < before &&
                (ikeys_name(p->ikeys, p->n, busy, dbids, m) ||
                 ikeys_name(p->hkeys, p->nheld, busy, dbids, m));
    for (struct follower *f = fhead; m && f && !found; f = f->next)
        found = f->owner && f->arrival < before && ikeys_name(f->ikeys, f->n, busy, dbids, m);
    free(busy);
    free(dbids);
    return found;
}

/* The bloom probe before a read (RocksDB's KeyMayExist: the memtable, then
 * the filters) saves the read of a key that is absent, but costs the main
 * thread a lookup that for an existing key is wasted. So the share of probes
 * that found keys absent is tracked (a moving average over about the last
 * hundred); below 1 in 20, only one prefetch in 32 probes, to notice when
 * new keys come back. */
static double probe_absent = 1.0;
static unsigned probe_tick;

static int probe_worth_it(void)
{
    if (probe_absent >= 0.05 || ++probe_tick % 32 == 0)
        return 1;
    tier_stats.bloom_skipped++;
    return 0;
}

static void probe_learn(int absent)
{
    probe_absent = probe_absent * 0.99 + (absent ? 0.01 : 0.0);
}

/* may_follow: 0 for a command that already waited its turn. */
static int prefetch(void *owner, uint64_t arrival, const struct key_at *keys, int n, int flags,
                    struct known_keys *known, int may_follow)
{
    if (may_follow && keys_busy(keys, n)) {
        follow(owner, arrival, keys, n, flags, known);
        return 1;
    }
    /* the usual case, hot keys: nothing to read, nothing to allocate */
    int unknown = 0;
    for (int i = 0; i < n && !unknown; i++) {
        struct db *db = keyspace_db(keys[i].dbindex);
        unknown = db && db_key_state(db, keys[i].key) == KEY_UNKNOWN;
    }
    if (!unknown)
        return 0;
    /* the keys to read, and the others (hot or known absent), each once */
    int nd;
    struct key_at *d = keys_distinct(keys, n, &nd);
    struct key_at *want = heap_malloc((size_t)(nd ? nd : 1) * sizeof(*want));
    struct key_at *other = heap_malloc((size_t)(nd ? nd : 1) * sizeof(*other));
    int nwant = 0, nother = 0;
    for (int i = 0; i < nd; i++) {
        struct db *db = keyspace_db(d[i].dbindex);
        if (!db)
            continue;
        if (db_key_state(db, d[i].key) == KEY_UNKNOWN)
            want[nwant++] = d[i];
        else
            other[nother++] = d[i];
    }
    free(d);
    /* When the bloom filters rule out every key, the command runs now with
     * them known absent. Otherwise all are read: a parked command's keys
     * must all be watched for writes while it waits. */
    int all_absent = probe_worth_it();
    for (int i = 0; i < nwant && all_absent; i++) {
        all_absent = !db_may_exist_on_disk(keyspace_db(want[i].dbindex), want[i].key);
        probe_learn(all_absent);
    }
    if (all_absent) {
        for (int i = 0; i < nwant; i++)
            known_add_absent(known, keyspace_db(want[i].dbindex)->dbid, want[i].key,
                             str_len(want[i].key));
        tier_stats.bloom_absent += nwant;
        free(want);
        free(other);
        return 0;
    }

    struct prefetch *pf = heap_calloc(1, sizeof(*pf));
    size_t nw = (size_t)nwant;
    pf->owner = owner;
    pf->arrival = arrival;
    pf->flags = flags;
    pf->known = known;
    keylist_copy(&pf->all, keys, n);
    pf->n = nwant;
    pf->submit_seq = write_seq;
    prefetch_alloc(pf, nw);
    pf->ikeys = heap_calloc(nw, sizeof(str));
    for (int i = 0; i < nwant; i++) {
        struct db *db = keyspace_db(want[i].dbindex);
        str key = want[i].key;
        size_t len = str_len(key);
        pf->dbid[i] = db->dbid;
        pf->akeys[i] = key;
        pf->r.keys[i] = heap_malloc(len + CODEC_KEY_PREFIX);
        pf->r.klens[i] = codec_key_encode(db->dbid, key, len, pf->r.keys[i]);
        dict_entry *e = inflight_hold(db->dbid, key, len);
        ((struct inflight *)e->v.val)->refs++;
        pf->ikeys[i] = e->key;
    }
    /* its other keys are held too: a later command naming one of them
     * waits for this one, as a later command on a key being read does */
    pf->nheld = nother;
    pf->hkeys = heap_calloc((size_t)(nother ? nother : 1), sizeof(str));
    for (int i = 0; i < nother; i++) {
        dict_entry *e =
            inflight_hold(keyspace_db(other[i].dbindex)->dbid, other[i].key, str_len(other[i].key));
        ((struct inflight *)e->v.val)->held++;
        pf->hkeys[i] = e->key;
    }
    free(want);
    free(other);
    pf->next = pending;
    if (pending)
        pending->prev = pf;
    pending = pf;
    tier_stats.parked++;
    tier_stats.prefetch_reads += nwant;
    reads_submit(pf, (flags & PREFETCH_META) != 0);
    return 1;
}

void tier_cancel(void *owner)
{
    for (struct prefetch *p = pending; p; p = p->next)
        if (p->owner == owner)
            p->owner = NULL;
    for (struct follower *f = fhead; f; f = f->next)
        if (f->owner == owner)
            f->owner = NULL;
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
        inflight_of(pf->hkeys[i])->held--;
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

/* Installs what pf's jobs read: values as clean hot keys, absent keys and
 * split headers in the owner's known set. A read that failed, or bytes the
 * codec refuses, mark the known set failed: the command answers the error
 * instead of running (the key is then neither hot nor known absent, and no
 * later lookup may take it for absent). Each value read is freed once
 * installed, before the command runs: a big value is then in memory twice
 * at most while its reply is built (the hot copy and the reply). */
static void prefetch_install(struct prefetch *pf)
{
    struct reads *r = &pf->r;
    int header_only = (pf->flags & PREFETCH_META) != 0;
    for (int i = 0; i < pf->n; i++) {
        struct db *db = keyspace_db_by_id(pf->dbid[i]);
        if (!db)
            continue;
        if (r->rc[i] == 0 && header_only) {
            if (db_install_header(db, pf->akeys[i], r->vals[i], r->vlens[i], pf->known) == 1)
                tier_stats.header_reads++;
        } else if (r->rc[i] == 0) {
            db_install_loaded(db, pf->akeys[i], r->vals[i], r->vlens[i], pf->known);
        } else if (r->rc[i] == STORE_NOTFOUND) {
            tier_stats.prefetch_hits_absent++;
            known_add_absent(pf->known, pf->dbid[i], pf->akeys[i], str_len(pf->akeys[i]));
        } else {
            const char *err = "storage read failed";
            for (int k = 0; k < r->njobs; k++)
                if (r->jobs[k].err)
                    err = r->jobs[k].err;
            tier_stats.read_errors++;
            keyspace_read_failed(pf->known, err, pf->akeys[i], str_len(pf->akeys[i]));
        }
        free(r->vals[i]);
        r->vals[i] = NULL;
    }
}

/* Jobs made but not submitted (INFLIGHT_KEYS), in order, and the keys
 * being read now. */
static struct read_job *wait_head, **wait_tail = &wait_head;
static size_t inflight_keys;
static int stopped; /* tier_stop: the pool takes no more jobs */

void tier_stop(void)
{
    stopped = 1;
}

static void jobs_submit_waiting(void)
{
    while (!stopped && wait_head &&
           (inflight_keys == 0 || inflight_keys + wait_head->n <= INFLIGHT_KEYS)) {
        struct read_job *j = wait_head;
        wait_head = j->next;
        if (!wait_head)
            wait_tail = &wait_head;
        inflight_keys += j->n;
        readpool_submit(j);
    }
}

/* Cuts pf's reads into jobs and submits them, or queues them. */
static void reads_submit(struct prefetch *pf, int header_only)
{
    struct reads *r = &pf->r;
    r->njobs = (pf->n + JOB_KEYS - 1) / JOB_KEYS;
    r->left = r->njobs;
    r->jobs = heap_calloc((size_t)r->njobs, sizeof(*r->jobs));
    for (int k = 0; k < r->njobs; k++) {
        struct read_job *j = &r->jobs[k];
        size_t first = (size_t)k * JOB_KEYS;
        j->owner = pf;
        j->n = (size_t)pf->n - first < JOB_KEYS ? (size_t)pf->n - first : JOB_KEYS;
        j->keys = r->keys + first;
        j->klens = r->klens + first;
        j->vals = r->vals + first;
        j->vlens = r->vlens + first;
        j->rc = r->rc + first;
        j->header_only = header_only;
        j->next = NULL;
        *wait_tail = j;
        wait_tail = &j->next;
    }
    jobs_submit_waiting();
}

/* All of pf's jobs are read. */
static void prefetch_done(struct prefetch *pf)
{
    int stale = prefetch_release(pf);
    if (pf->owner && stale) {
        /* look at the keys again: some are hot now, others re-read */
        tier_stats.stale_reads++;
        if (prefetch(pf->owner, pf->arrival, pf->all.k, pf->all.n, pf->flags, pf->known, 0) == 0)
            resume(pf->owner);
    } else if (pf->owner) {
        prefetch_install(pf);
        resume(pf->owner); /* runs the command, then the rest of the pipeline */
    }
    prefetch_free(pf);
}

static struct prefetch *ahead; /* the replay's read-ahead; its keys (akeys) are copies */
static struct known_keys *ahead_known;

/* Completed jobs: a prefetch whose reads are all in is done (the
 * read-ahead's reads are installed by tier_readahead_finish); then the
 * jobs waiting for room go. */
static void jobs_done(struct read_job *j)
{
    while (j) {
        struct read_job *next = j->next;
        struct prefetch *pf = j->owner;
        hist_record(&tier_stats.read_latency, j->done_us - j->submit_us);
        inflight_keys -= j->n;
        if (--pf->r.left == 0 && pf != ahead)
            prefetch_done(pf);
        j = next;
    }
    jobs_submit_waiting();
}

void tier_on_reads_done(void)
{
    jobs_done(readpool_drain());
    followers_run();
}

/* ---- read-ahead of the log's replay ---------------------------------------- */

void tier_readahead_start(const struct key_at *keys, int n)
{
    tier_readahead_finish();
    int nd;
    struct key_at *d = keys_distinct(keys, n, &nd);
    struct prefetch *pf = heap_calloc(1, sizeof(*pf));
    prefetch_alloc(pf, (size_t)(nd ? nd : 1));
    for (int i = 0; i < nd; i++) {
        struct db *db = keyspace_db(d[i].dbindex);
        if (!db || db_key_state(db, d[i].key) != KEY_UNKNOWN)
            continue; /* no bloom probe: it would cost the main thread a lookup */
        size_t len = str_len(d[i].key);
        pf->dbid[pf->n] = db->dbid;
        pf->akeys[pf->n] = str_dup(d[i].key);
        pf->r.keys[pf->n] = heap_malloc(len + CODEC_KEY_PREFIX);
        pf->r.klens[pf->n] = codec_key_encode(db->dbid, d[i].key, len, pf->r.keys[pf->n]);
        pf->n++;
    }
    free(d);
    tier_stats.prefetch_reads += pf->n;
    ahead = pf;
    if (pf->n)
        reads_submit(pf, 0);
}

void tier_readahead_finish(void)
{
    struct prefetch *pf = ahead;
    if (!pf)
        return;
    while (pf->r.left > 0)
        jobs_done(readpool_drain_wait());
    ahead = NULL;
    if (!ahead_known)
        ahead_known = known_new();
    for (int i = 0; i < pf->n; i++) {
        /* a key of a db flushed since has no db under its old physical
         * id; one written since (hot or known absent now) keeps what it
         * has (db_install_loaded refuses it) */
        struct db *db = keyspace_db_by_id(pf->dbid[i]);
        if (db && pf->r.rc[i] == 0)
            db_install_loaded(db, pf->akeys[i], pf->r.vals[i], pf->r.vlens[i], ahead_known);
        str_free(pf->akeys[i]);
    }
    known_clear(ahead_known);
    prefetch_free(pf);
}

/* ---- demotion ------------------------------------------------------------ */

/* Score: higher = better to demote. */
static double demote_score(struct db *db, dict_entry *e)
{
    obj *o = e->v.val;
    switch (tier_settings.policy) {
    case MAXMEMORY_LFU:
        return 255.0 - access_lfu_counter(o);
    case MAXMEMORY_RANDOM:
        return (double)(util_rand64() & 0xffff);
    case MAXMEMORY_TTL: {
        dict_entry *x = dict_find(db->expires, dict_key(db->keys, e));
        return x ? 1e18 - (double)x->v.s64 : 0;
    }
    default:
        return (double)access_idle_seconds(o);
    }
}

int tier_enforce_maxmemory(void)
{
    if (tier_settings.maxmemory == 0)
        return 0;
    if (tier_settings.maxmemory == 1) {
        keyspace_demote_all_clean();
        return keyspace_has_dirty();
    }
    int ndb = keyspace_count();
    int fails = 0;
    while (hot_used() > (size_t)tier_settings.maxmemory && fails < 16) {
        struct db *best_db = NULL;
        str best_key = NULL;
        double best = -1;
        for (int i = 0; i < ndb; i++) {
            struct db *db = keyspace_db(i);
            if (!dict_size(db->keys))
                continue;
            dict_entry *sample[64];
            size_t got = dict_sample(db->keys, sample, (size_t)tier_settings.samples);
            for (size_t s = 0; s < got; s++) {
                if (!db_clean_now(db, dict_key(db->keys, sample[s]), sample[s]->v.val))
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
    return hot_used() > (size_t)tier_settings.maxmemory;
}
