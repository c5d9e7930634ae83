/*
 * commit.c: the keyspace's changes into RocksDB (DESIGN.md §2), FLUSHDB,
 * FLUSHALL and SWAPDB, and what happens when storage refuses a write.
 *
 * A commit is one WriteBatch: every dirty key of every db (its value, or
 * its deletion), their expiry index entries, the exact key counts of the
 * dbs they touch, the garbage of split values, and the structural changes
 * pending: the dbmap (FLUSHDB gives a db a fresh physical id, SWAPDB
 * exchanges two) and the ranges of retired ids to delete. Dirty keys move
 * to `committing` while their commit is written; a commit that fails puts
 * them back into `dirty`, and the structural changes it carried back into
 * the pending state, so the next commit carries them again: nothing is
 * lost by a failed write.
 *
 * FLUSHDB retires the db's physical id instead of deleting its keys in
 * place: the db takes an unused id at once (so no lookup can find an old
 * key while the delete waits for a commit), and the old id's ranges go
 * with one DeleteRange each in the commit that also writes the new dbmap.
 *
 * Write failures (docs/design.md "Storage faults"): when a commit is
 * refused, the keyspace is `failing`: write commands are refused with its
 * error (keyspace_write_error), reads go on, and the commit is retried
 * after a backoff (100 ms, doubling to 5 s). storage/ allows no write on a
 * database after a failed one, so a retry first reopens it. The first
 * commit that succeeds ends the failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/internal.h"
#include "keyspace/settings.h"
#include "keyspace/split.h"
#include "storage/codec.h"
#include "storage/aof.h"
#include "storage/committer.h"

static store_batch *batch;  /* the commit being built; the expiry cycle adds index deletes */
static store_batch *flight; /* the commit the committer is writing, NULL if none */
static store_batch *spare;  /* the other batch, cleared, while none is in flight */
static size_t flight_keys;  /* keys and bytes of the commit in flight */
static size_t flight_bytes;

/* The effect log, and the positions in it: what the commit being written
 * covers (built), what the last written one covers, and what the last
 * fsynced one does (files below it can go). */
static aof *ks_log;
static uint64_t flight_started_us;
static struct checkpoint_info last_cp; /* the last checkpoint written by the commit thread */
static struct aof_pos built_pos, covered_pos;
static int64_t last_checkpoint_ms;

/* Structural changes not yet in a written commit. The commit being
 * written carries the pending ones (`carried`); a failure hands them back. */
static struct {
    int dbmap; /* the dbmap changed */
    int dbmap_carried;
    int expiry_flush; /* FLUSHALL: the whole expiry index goes */
    int expiry_carried;
    uint16_t *retired; /* physical ids whose ranges go */
    int nretired, cap;
    int retired_carried; /* the first ones, carried by the commit in flight */
} pend;

/* The state of a failed write (see above). */
static struct {
    int failing;
    char err[512];
    int64_t since_ms;
    uint64_t retry_at_us; /* monotonic */
    int64_t backoff_ms;
} wf;

/* A written checkpoint's key set keeps its table (8 MB at most) to be
 * the next dirty set: it refills to about the same size every checkpoint. */
#define COMMIT_SET_KEEP ((size_t)1 << 20)

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000

void commit_open(void)
{
    batch = store_batch_new();
    spare = store_batch_new();
}

void commit_close(void)
{
    store_batch_free(batch);
    store_batch_free(spare);
    batch = spare = NULL;
    free(pend.retired);
    memset(&pend, 0, sizeof(pend));
}

store_batch *commit_batch(void)
{
    return batch;
}

/* ---- meta records -------------------------------------------------------- */

static void batch_put_counts(store_batch *b, struct db *db)
{
    char k[32], v[8];
    size_t klen;
    ks_meta_count_key(k, CODEC_META_COUNT_PREFIX, db->dbid, &klen);
    codec_put_u64(v, (uint64_t)db->nkeys);
    store_batch_put(b, STORE_CF_META, k, klen, v, 8);
    ks_meta_count_key(k, CODEC_META_EXPIRES_PREFIX, db->dbid, &klen);
    codec_put_u64(v, (uint64_t)db->nexpires);
    store_batch_put(b, STORE_CF_META, k, klen, v, 8);
}

static void batch_put_dbmap(store_batch *b)
{
    char *v = ks_scratch((size_t)ks_ndbs * 2);
    for (int i = 0; i < ks_ndbs; i++)
        codec_put_u16(v + 2 * i, ks_dbs[i].dbid);
    store_batch_put(b, STORE_CF_META, CODEC_META_DBMAP, strlen(CODEC_META_DBMAP), v,
                    (size_t)ks_ndbs * 2);
}

/* Every stored record of physical id dbid: its keys, its split elements
 * and its counts. */
static void batch_delete_dbid(store_batch *b, uint16_t dbid)
{
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(dbid, 0, 0, lo);
    codec_key_prefix((uint16_t)(dbid + 1), 0, 0, hi);
    store_batch_delete_range(b, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    char elo[2], ehi[2];
    codec_put_u16(elo, dbid);
    codec_put_u16(ehi, (uint16_t)(dbid + 1));
    store_batch_delete_range(b, STORE_CF_ELEMENTS, elo, 2, ehi, 2);
    char k[32];
    size_t klen;
    ks_meta_count_key(k, CODEC_META_COUNT_PREFIX, dbid, &klen);
    store_batch_delete(b, STORE_CF_META, k, klen);
    ks_meta_count_key(k, CODEC_META_EXPIRES_PREFIX, dbid, &klen);
    store_batch_delete(b, STORE_CF_META, k, klen);
}

int commit_meta_now(const char version[8])
{
    store_batch *b = store_batch_new();
    store_batch_put(b, STORE_CF_META, CODEC_META_VERSION, strlen(CODEC_META_VERSION), version, 8);
    batch_put_dbmap(b);
    int rc = store_write(ks_st, b, 1);
    store_batch_free(b);
    return rc == 0 ? 0 : -1;
}

/* ---- building a commit ----------------------------------------------------- */

int keyspace_has_dirty(void)
{
    if (pend.dbmap || pend.expiry_flush || pend.nretired > pend.retired_carried)
        return 1;
    for (int i = 0; i < ks_ndbs; i++)
        if (dict_size(ks_dbs[i].dirty) || ks_dbs[i].counts_pending)
            return 1;
    return store_batch_count(batch) > 0;
}

/* A dirty key of the commit being built, with its keys-CF key. */
struct commit_key {
    str key;       /* the dirty set's */
    dict_entry *e; /* its entry in the keyspace, NULL when deleted */
    char *k;       /* encoded (points into kbuf when short) */
    size_t kl;
    char kbuf[64];
};

static int commit_key_cmp(const void *a, const void *b)
{
    const struct commit_key *x = *(struct commit_key *const *)a,
                            *y = *(struct commit_key *const *)b;
    return util_bytes_cmp(x->k, x->kl, y->k, y->kl);
}

/* Adds one dirty key to the batch: its value (or its deletion). */
static void commit_one(struct db *db, const str key, dict_entry *e, const char *k, size_t kl)
{
    size_t klen = str_len(key);
#ifdef LT_SANITIZERS
    if (e != dict_find(db->keys, key)) {
        log_warning("The dirty set's entry of a key is stale");
        abort();
    }
#endif
    if (!e) {
        store_batch_delete(batch, STORE_CF_KEYS, k, kl);
        return;
    }
    int64_t expire = db_entry_expire(db, key);
    obj *o = e->v.val;
    o->flags &= (uint8_t)~OBJ_F_PENDING; /* its key leaves the dirty set */
    if (split_commit_value(batch, db->dbid, k, kl, o, expire)) {
        o->flags &= (uint8_t)~OBJ_F_UNSTORED;
    } else if (db_value_put(batch, k, kl, o, expire) == 0) {
        o->flags &= (uint8_t)~OBJ_F_UNSTORED;
    } else {
        /* no single-blob form (a hash over 4 GB): the stored copy is the
         * old one, so this value must never be demoted */
        o->flags |= OBJ_F_UNSTORED;
        log_warning("A value of db %d is too big to store; it stays in memory and the stored "
                    "copy is its previous value",
                    db->index);
    }
    if (expire >= 0) {
        char *x = ks_scratch(klen + CODEC_EXPIRY_PREFIX);
        size_t xl = codec_expiry_key_encode(expire, db->dbid, key, klen, x);
        store_batch_put(batch, STORE_CF_EXPIRY, x, xl, "", 0);
    }
}

/* The structural changes pending go into the batch (and are carried). */
static void commit_structure(void)
{
    if (pend.dbmap) {
        batch_put_dbmap(batch);
        pend.dbmap = 0;
        pend.dbmap_carried = 1;
    }
    if (pend.expiry_flush) {
        /* the expiry index has nothing left to point at */
        store_batch_delete_range(batch, STORE_CF_EXPIRY, "", 0,
                                 "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
        pend.expiry_flush = 0;
        pend.expiry_carried = 1;
    }
    for (int i = pend.retired_carried; i < pend.nretired; i++)
        batch_delete_dbid(batch, pend.retired[i]);
    pend.retired_carried = pend.nretired;
}

/* Builds the batch from every db's dirty keys, which move to the
 * committing sets; returns the number of keys. */
static size_t commit_build(void)
{
    size_t nkeys = 0;
    static struct commit_key *cks;
    static struct commit_key **order; /* cks sorted (kbuf pointers stay put) */
    static size_t cks_cap;
    commit_structure();
    for (int i = 0; i < ks_ndbs; i++) {
        struct db *db = &ks_dbs[i];
        size_t n = dict_size(db->dirty);
        if (!n) {
            if (db->counts_pending) {
                batch_put_counts(batch, db);
                db->counts_pending = 0;
                db->counts_carried = 1;
            }
            continue;
        }
        if (n > cks_cap) {
            cks_cap = n * 2;
            free(cks);
            free(order);
            cks = heap_malloc(cks_cap * sizeof(*cks));
            order = heap_malloc(cks_cap * sizeof(*order));
        }
        /* The batch goes to the memtable in key order: RocksDB's skiplist
         * insert reuses its search path between neighbouring keys, which
         * a random order throws away at every key. */
        dict_iter it;
        dict_iter_init(&it, db->dirty);
        dict_entry *d;
        size_t m = 0;
        while ((d = dict_iter_next(&it))) {
            struct commit_key *ck = &cks[m];
            order[m++] = ck;
            ck->key = dict_key(db->dirty, d);
            ck->e = d->v.val;
            size_t klen = str_len(ck->key);
            ck->k = klen + CODEC_KEY_PREFIX <= sizeof(ck->kbuf)
                        ? ck->kbuf
                        : heap_malloc(klen + CODEC_KEY_PREFIX);
            ck->kl = codec_key_encode(db->dbid, ck->key, klen, ck->k);
        }
        dict_iter_done(&it);
        qsort(order, m, sizeof(*order), commit_key_cmp);
        for (size_t j = 0; j < m; j++) {
            commit_one(db, order[j]->key, order[j]->e, order[j]->k, order[j]->kl);
            if (order[j]->k != order[j]->kbuf)
                free(order[j]->k);
        }
        nkeys += m;
        batch_put_counts(batch, db);
        db->counts_pending = 0;
        db->counts_carried = 1;
        dict *t = db->committing; /* empty: one commit at a time */
        db->committing = db->dirty;
        db->dirty = t;
    }
    split_commit_garbage(batch);
    /* the log position the batch covers: replay starts there */
    if (ks_log) {
        char v[18];
        aof_position(ks_log, &built_pos);
        codec_put_u64(v, built_pos.seq);
        codec_put_u64(v + 8, built_pos.off);
        codec_put_u16(v + 16, (uint16_t)(built_pos.db + 1));
        store_batch_put(batch, STORE_CF_META, CODEC_META_LOG_POSITION,
                        strlen(CODEC_META_LOG_POSITION), v, sizeof(v));
    }
    return nkeys;
}

/* ---- the end of a commit ------------------------------------------------- */

/* A refused commit: writes are refused until one is written. */
static void failure_begin(void)
{
    char msg[sizeof(wf.err)];
    if (!store_write_failed(ks_st, msg, sizeof(msg)))
        snprintf(msg, sizeof(msg), "%s", store_last_error(ks_st));
    int64_t now = util_mstime();
    if (!wf.failing) {
        wf.failing = 1;
        wf.since_ms = now;
        wf.backoff_ms = BACKOFF_FIRST_MS;
        snprintf(wf.err, sizeof(wf.err), "%s", msg);
        log_warning("Writing to storage failed: %s. Write commands are refused until it works "
                    "again; retrying.",
                    msg);
    } else {
        wf.backoff_ms = wf.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wf.backoff_ms * 2;
        snprintf(wf.err, sizeof(wf.err), "%s", msg);
        log_verbose("Writing to storage still fails: %s", msg);
    }
    wf.retry_at_us = util_monotonic_us() + (uint64_t)wf.backoff_ms * 1000;
    ks_stats.commit_errors++;
}

static void failure_end(void)
{
    if (!wf.failing)
        return;
    log_warning("Writing to storage works again, after %lld ms (%lld retries): write commands "
                "are accepted",
                (long long)(util_mstime() - wf.since_ms), ks_stats.commit_retries);
    wf.failing = 0;
}

/* The commit built last is written (ok) or was refused: its keys become
 * clean, or dirty again to be retried, and so do the structural changes
 * it carried. */
static void commit_finish(int ok, size_t nkeys, size_t bytes, int synced)
{
    for (int i = 0; i < ks_ndbs; i++) {
        struct db *db = &ks_dbs[i];
        if (!ok && db->counts_carried)
            db->counts_pending = 1;
        db->counts_carried = 0;
        if (!dict_size(db->committing))
            continue;
        /* Written: its keys are clean, which the demoter finds out for
         * itself (db_clean_now). Refused: they are dirty again. */
        if (!ok) {
            dict_iter it;
            dict_iter_init(&it, db->committing);
            dict_entry *d;
            while ((d = dict_iter_next(&it))) {
                str key = dict_key(db->committing, d);
                dict_entry *e = dict_find(db->keys, key);
                int again; /* changed again since: in the set already */
                dict_entry *x = dict_add_or_find(db->dirty, key, &again);
                if (!again)
                    x->v.val = e;
                if (e)
                    ((obj *)e->v.val)->flags |= OBJ_F_PENDING;
            }
            dict_iter_done(&it);
        }
        dict_clear_keep(db->committing, COMMIT_SET_KEEP);
    }
    if (!ok) {
        pend.dbmap |= pend.dbmap_carried;
        pend.expiry_flush |= pend.expiry_carried;
        pend.dbmap_carried = pend.expiry_carried = 0;
        pend.retired_carried = 0;
        split_commit_failed();
        failure_begin();
        return;
    }
    pend.dbmap_carried = pend.expiry_carried = 0;
    if (pend.retired_carried) {
        memmove(pend.retired, pend.retired + pend.retired_carried,
                (size_t)(pend.nretired - pend.retired_carried) * sizeof(*pend.retired));
        pend.nretired -= pend.retired_carried;
    }
    pend.retired_carried = 0;
    if (ks_log) {
        covered_pos = built_pos;
        /* fsynced: the log before it is not needed any more */
        if (synced)
            aof_drop_below(ks_log, covered_pos.seq);
    }
    split_commit_succeeded();
    failure_end();
    ks_stats.commits++;
    ks_stats.commit_keys += (long long)nkeys;
    ks_stats.commit_bytes += (long long)bytes;
}

/* Writes the batch commit_build made (nkeys keys) on this thread; 0 or -1. */
static int commit_write_built(size_t nkeys)
{
    size_t bytes = store_batch_bytes(batch);
    int rc = store_write(ks_st, batch, 0);
    store_batch_clear(batch);
    commit_finish(rc == 0, nkeys, bytes, 0);
    return rc == 0 ? 0 : -1;
}

static void flight_finish(int rc)
{
    store_batch_clear(flight);
    spare = flight;
    flight = NULL;
    last_cp.duration_us = (long long)(util_monotonic_us() - flight_started_us);
    last_cp.keys = (long long)flight_keys;
    last_cp.bytes = (long long)flight_bytes;
    commit_finish(rc == 0, flight_keys, flight_bytes, 1);
}

/* ---- write failures ------------------------------------------------------ */

const char *keyspace_write_error(void)
{
    static char msg[512];
    const char *lf = ks_log ? aof_failed(ks_log) : NULL;
    if (lf)
        return lf;
    if (wf.failing)
        return wf.err;
    /* a RocksDB write that failed: refused until a reopen */
    return store_write_failed(ks_st, msg, sizeof(msg)) ? msg : NULL;
}

/* Whether a commit may be written now: not while failing before the next
 * retry; a retry first gives storage fresh handles. */
static int commit_allowed(int respect_backoff)
{
    if (!wf.failing && !store_write_failed(ks_st, NULL, 0))
        return 1;
    if (respect_backoff && wf.failing && util_monotonic_us() < wf.retry_at_us)
        return 0;
    if (wf.failing)
        ks_stats.commit_retries++;
    if (store_write_failed(ks_st, NULL, 0)) {
        char *err = NULL;
        ks_stats.storage_reopens++;
        if (store_reopen(ks_st, &err) != 0) {
            log_warning("Reopening the storage failed: %s", err ? err : "?");
            free(err);
            failure_begin();
            return 0;
        }
        log_notice("Storage reopened after a failed write");
    }
    return 1;
}

void keyspace_write_retry(void)
{
    if (flight || keyspace_has_dirty() || !keyspace_write_error() || !commit_allowed(1))
        return;
    /* nothing to commit (writes are refused): a write of our own tells
     * whether storage takes writes again */
    store_batch *b = store_batch_new();
    char now[8];
    codec_put_u64(now, (uint64_t)util_mstime());
    store_batch_put(b, STORE_CF_META, CODEC_META_PROBE, strlen(CODEC_META_PROBE), now, 8);
    int rc = store_write(ks_st, b, 1);
    store_batch_free(b);
    if (rc == 0)
        failure_end();
    else
        failure_begin();
}

/* ---- the log ------------------------------------------------------------- */

void keyspace_set_log(aof *a)
{
    ks_log = a;
}

int keyspace_log_covered(struct aof_pos *pos)
{
    char *v;
    size_t vlen;
    int rc = store_get(ks_st, STORE_CF_META, CODEC_META_LOG_POSITION,
                       strlen(CODEC_META_LOG_POSITION), &v, &vlen);
    pos->seq = pos->off = 0;
    pos->db = -1;
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != 0)
        return -1;
    if (vlen == 18) {
        pos->seq = codec_get_u64(v);
        pos->off = codec_get_u64(v + 8);
        pos->db = (int)codec_get_u16(v + 16) - 1;
    }
    free(v);
    covered_pos = *pos;
    return 0;
}

void keyspace_log_stats(int64_t *last_ms, struct checkpoint_info *last)
{
    *last_ms = last_checkpoint_ms;
    *last = last_cp;
}

uint64_t keyspace_log_lag(void)
{
    if (!ks_log)
        return 0;
    struct aof_pos now;
    aof_position(ks_log, &now);
    return now.seq == covered_pos.seq ? now.off - covered_pos.off : now.off;
}

long long keyspace_dirty_count(const struct db *db)
{
    return (long long)dict_size(db->dirty);
}

int keyspace_checkpoint_due(void)
{
    if (!keyspace_has_dirty())
        return 0;
    if (!ks_log)
        return 1;
    if (util_mstime() - last_checkpoint_ms >= keyspace_settings.checkpoint_interval_ms)
        return 1;
    return keyspace_log_lag() >= (uint64_t)keyspace_settings.checkpoint_log_bytes;
}

/* Backpressure: a write waits while checkpoints fall behind. Half of
 * checkpoint-max-lag behind the last written checkpoint, with the next
 * one being written, a write waits 1 ms; the wait doubles at every
 * eighth of the way to the bound (up to 128 ms); at the bound writes wait
 * for the checkpoint to end. With no checkpoint in flight nothing waits:
 * none is behind, and one starts as soon as the lag passes
 * checkpoint-log-size. */
int keyspace_write_delay_ms(void)
{
    if (!flight || !ks_log)
        return 0;
    uint64_t lag = keyspace_log_lag();
    uint64_t max = (uint64_t)keyspace_settings.checkpoint_max_lag_bytes, soft = max / 2;
    if (lag < soft)
        return 0;
    if (lag >= max)
        return -1;
    return 1 << (int)((lag - soft) * 8 / (max - soft));
}

/* ---- commit entry points -------------------------------------------------- */

int keyspace_commit_in_flight(void)
{
    return flight != NULL;
}

int keyspace_commit_start(void)
{
    if (flight || !keyspace_has_dirty() || !commit_allowed(1))
        return 0;
    size_t nkeys = commit_build();
    last_checkpoint_ms = util_mstime();
    flight_keys = nkeys;
    flight_bytes = store_batch_bytes(batch);
    flight_started_us = util_monotonic_us();
    flight = batch;
    batch = spare;
    spare = NULL;
    committer_submit(flight, 1);
    return 1;
}

void keyspace_commit_reap(void)
{
    if (!flight)
        return;
    int rc = committer_poll();
    if (rc != 1)
        flight_finish(rc);
}

int keyspace_commit(void)
{
    if (ks_in_transaction())
        return 0; /* put off until the log holds the whole transaction */
    if (flight)
        flight_finish(committer_wait());
    if (!keyspace_has_dirty())
        return 0;
    if (!commit_allowed(1))
        return -1;
    return commit_write_built(commit_build());
}

/* ---- flush and swap ------------------------------------------------------ */

/* A physical id used by no db and not waiting for its delete. */
static uint16_t dbid_unused(void)
{
    for (unsigned id = 0;; id++) {
        int used = 0;
        for (int i = 0; i < ks_ndbs && !used; i++)
            used = ks_dbs[i].dbid == id;
        for (int i = 0; i < pend.nretired && !used; i++)
            used = pend.retired[i] == id;
        if (!used)
            return (uint16_t)id;
    }
}

/* Forgets every key of db: memory now; its physical id is retired (its
 * ranges go in the next commit) and it takes a fresh one. */
static long long db_empty(struct db *db)
{
    ks_notify_db_replaced(db->index, -1);
    long long removed = db->nkeys;
    dict_clear(db->dirty);
    dict_clear(db->expires);
    dict_clear(db->keys);
    db->nkeys = 0;
    db->nexpires = 0;
    db->avg_ttl = 0;
    if (pend.nretired == pend.cap) {
        pend.cap = pend.cap ? pend.cap * 2 : 16;
        pend.retired = heap_realloc(pend.retired, (size_t)pend.cap * sizeof(*pend.retired));
    }
    pend.retired[pend.nretired++] = db->dbid;
    db->dbid = dbid_unused();
    db->counts_pending = 1;
    pend.dbmap = 1;
    return removed;
}

long long db_flush(struct db *db)
{
    long long removed = db_empty(db);
    ks_stats.changes++;
    return removed;
}

long long keyspace_flush_all(void)
{
    long long removed = 0;
    for (int i = 0; i < ks_ndbs; i++)
        removed += db_empty(&ks_dbs[i]);
    pend.expiry_flush = 1;
    ks_stats.changes++;
    return removed;
}

int keyspace_swap(int a, int b)
{
    if (a == b)
        return 0;
    ks_notify_db_replaced(a, b);
    ks_notify_db_replaced(b, a);
    struct db tmp = ks_dbs[a];
    ks_dbs[a] = ks_dbs[b];
    ks_dbs[b] = tmp;
    ks_dbs[a].index = a;
    ks_dbs[b].index = b;
    pend.dbmap = 1;
    ks_stats.changes++;
    return 0;
}
