/*
 * scan.c: walking the keys of a db in storage order (SCAN, KEYS,
 * RANDOMKEY). Outside a transaction a walk commits first, so storage holds
 * every key, hot or cold, and is walked alone.
 *
 * Inside a transaction (keyspace_set_atomic) a walk must not commit: the
 * checkpoint would store the transaction's first part, covering a log
 * position before it, and a crash before its EXEC reaches the log would
 * leave that part applied. The walk then merges storage with the keys
 * changed since the last written checkpoint (dirty, and committing while
 * one is in flight), whose state in memory is the truth: each is taken
 * from memory at its place in storage order (or skipped when deleted) and
 * storage's own record of it is skipped. That costs a sort of the changed
 * keys per walk, which the one commit outside transactions avoids.
 *
 * A walk that stops on a storage error, or meets a record the codec
 * refuses, fails (keyspace_read_error): a scan must never look complete
 * when it is not.
 */
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"

#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/internal.h"
#include "storage/codec.h"

/* A stored keys-CF record: its user key, type and TTL; -1 when corrupt. */
static int record_decode(store_iter *it, uint64_t *pos, const char **key, size_t *ulen,
                         struct codec_header *hd)
{
    size_t klen, vlen;
    const char *raw = store_iter_key(it, &klen);
    const char *val = store_iter_value(it, &vlen);
    uint16_t dbid;
    unsigned slot;
    uint32_t h;
    const char *payload;
    size_t plen;
    if (codec_key_decode(raw, klen, &dbid, &slot, &h, key, ulen) != 0 ||
        codec_header_decode(val, vlen, hd, &payload, &plen) != 0) {
        keyspace_read_failed(NULL, "a corrupt stored record", raw, klen);
        return -1;
    }
    *pos = (uint64_t)slot << 32 | h;
    return 0;
}

static int atomic; /* keyspace_set_atomic */

void keyspace_set_atomic(int on)
{
    atomic = on;
}

int ks_in_transaction(void)
{
    return atomic;
}

static store_iter *walk_db(struct db *db, unsigned slot, uint32_t h)
{
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(db->dbid, slot, h, lo);
    codec_key_prefix((uint16_t)(db->dbid + 1), 0, 0, hi);
    store_iter *it = store_iter_new(ks_st, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    if (!it)
        keyspace_read_failed(NULL, store_last_error(ks_st), NULL, 0);
    return it;
}

/* ---- the merged walk ------------------------------------------------------- */

/* A key changed since the last written checkpoint, with its keys-CF key. */
struct changed {
    str key; /* the dirty (or committing) set's */
    char *k;
    size_t kl;
};

static int changed_cmp(const void *x, const void *y)
{
    const struct changed *a = x, *b = y;
    return util_bytes_cmp(a->k, a->kl, b->k, b->kl);
}

struct walk {
    struct db *db;
    store_iter *it;
    int advance; /* the iterator's record was handed out: step past it first */
    struct changed *ch;
    int nch, next;
};

/* Adds the keys of set at or after lo (CODEC_KEY_PREFIX bytes) to w->ch. */
static void changed_add(struct walk *w, dict *set, const char *lo)
{
    dict_iter it;
    dict_iter_init(&it, set);
    dict_entry *d;
    while ((d = dict_iter_next(&it))) {
        str key = dict_key(set, d);
        size_t len = str_len(key);
        char *k = heap_malloc(len + CODEC_KEY_PREFIX);
        size_t kl = codec_key_encode(w->db->dbid, key, len, k);
        if (memcmp(k, lo, CODEC_KEY_PREFIX) < 0) {
            free(k);
            continue;
        }
        w->ch[w->nch++] = (struct changed){key, k, kl};
    }
    dict_iter_done(&it);
}

/* Opens a walk of db from (slot, h): storage alone, or merged with the
 * changed keys inside a transaction. 0, or -1 (keyspace_read_error). */
static int walk_open(struct walk *w, struct db *db, unsigned slot, uint32_t h)
{
    memset(w, 0, sizeof(*w));
    w->db = db;
    w->it = walk_db(db, slot, h);
    if (!w->it)
        return -1;
    store_iter_seek_first(w->it);
    size_t n = atomic ? dict_size(db->dirty) + dict_size(db->committing) : 0;
    if (n == 0)
        return 0;
    char lo[CODEC_KEY_PREFIX];
    codec_key_prefix(db->dbid, slot, h, lo);
    w->ch = heap_malloc(n * sizeof(*w->ch));
    changed_add(w, db->dirty, lo);
    if (dict_size(db->committing))
        changed_add(w, db->committing, lo);
    qsort(w->ch, (size_t)w->nch, sizeof(*w->ch), changed_cmp);
    int m = 0; /* a key both dirty and committing: once */
    for (int i = 0; i < w->nch; i++) {
        if (m && !changed_cmp(&w->ch[m - 1], &w->ch[i]))
            free(w->ch[i].k);
        else
            w->ch[m++] = w->ch[i];
    }
    w->nch = m;
    return 0;
}

/* The end of a walk: 0, or -1 when the iterator stopped on an error. */
static int walk_close(struct walk *w, int rc)
{
    if (rc == 0 && store_iter_status(w->it, NULL) != 0) {
        keyspace_read_failed(NULL, store_last_error(ks_st), NULL, 0);
        rc = -1;
    }
    store_iter_free(w->it);
    for (int i = 0; i < w->nch; i++)
        free(w->ch[i].k);
    free(w->ch);
    return rc;
}

/* The next key of the walk, with its type, TTL and (slot, h) position
 * (key valid until the next step): 1; 0 at the end; -1 on a corrupt
 * record. */
static int walk_step(struct walk *w, const char **key, size_t *ulen, int *type, int64_t *expire,
                     uint64_t *pos)
{
    if (w->advance) {
        store_iter_next(w->it);
        w->advance = 0;
    }
    for (;;) {
        size_t rkl = 0;
        int have = store_iter_valid(w->it);
        const char *rk = have ? store_iter_key(w->it, &rkl) : NULL;
        if (w->next < w->nch) {
            struct changed *c = &w->ch[w->next];
            int cmp = have ? util_bytes_cmp(c->k, c->kl, rk, rkl) : -1;
            if (cmp <= 0) {
                if (cmp == 0)
                    store_iter_next(w->it); /* stored before the change */
                w->next++;
                dict_entry *e = dict_find(w->db->keys, c->key);
                if (!e)
                    continue; /* deleted */
                uint16_t dbid;
                unsigned slot;
                uint32_t h;
                codec_key_decode(c->k, c->kl, &dbid, &slot, &h, key, ulen);
                *pos = (uint64_t)slot << 32 | h;
                *type = ((obj *)e->v.val)->type;
                *expire = db_entry_expire(w->db, c->key);
                return 1;
            }
        }
        if (!have)
            return 0;
        struct codec_header hd;
        if (record_decode(w->it, pos, key, ulen, &hd) != 0)
            return -1;
        *type = hd.type;
        *expire = hd.expire_ms;
        w->advance = 1;
        return 1;
    }
}

/* ---- SCAN, KEYS, RANDOMKEY ------------------------------------------------ */

int keyspace_scan(struct db *db, uint64_t cursor, keyspace_iter_fn *fn, void *ctx, uint64_t *next)
{
    *next = 0;
    if ((cursor >> 32) >= 16384)
        return 0; /* past the last slot: nothing left (a client may send any number) */
    if (keyspace_commit() != 0)
        return KEYSPACE_WRITE_FAILED;
    struct walk w;
    if (walk_open(&w, db, (unsigned)(cursor >> 32), (uint32_t)cursor) != 0)
        return -1;
    int stop = 0, rc;
    uint64_t stop_pos = 0, pos;
    const char *key;
    size_t ulen;
    int type;
    int64_t expire;
    while ((rc = walk_step(&w, &key, &ulen, &type, &expire, &pos)) == 1) {
        if (stop && pos != stop_pos) {
            *next = pos;
            break;
        }
        if (fn(ctx, key, ulen, type, expire) && !stop) {
            stop = 1;
            stop_pos = pos;
        }
    }
    return walk_close(&w, rc < 0 ? -1 : 0);
}

int keyspace_random_key(struct db *db, str *out)
{
    if (db->nkeys == 0)
        return 1;
    if (keyspace_commit() != 0)
        return KEYSPACE_WRITE_FAILED;
    int found = 1, rc = 0;
    for (int tries = 0; tries < 100 && found && rc == 0; tries++) {
        /* the first key at or after a random place, or else the first one */
        uint64_t r = util_rand64();
        struct walk w;
        const char *key;
        size_t ulen;
        int type, got = 0;
        int64_t expire;
        uint64_t pos;
        for (int from_start = 0; from_start < 2 && !got && rc == 0; from_start++) {
            unsigned slot = from_start ? 0 : (unsigned)((r >> 32) % 16384);
            if (walk_open(&w, db, slot, from_start ? 0 : (uint32_t)r) != 0) {
                rc = -1;
                break;
            }
            got = walk_step(&w, &key, &ulen, &type, &expire, &pos);
            if (got == 1 && !keyspace_time_passed(expire)) {
                *out = str_new(key, ulen);
                found = 0;
            }
            rc = walk_close(&w, got < 0 ? -1 : 0);
        }
        if (!got)
            break; /* nothing at all */
    }
    if (rc != 0 && !found) {
        str_free(*out);
        *out = NULL;
    }
    return rc != 0 ? -1 : found;
}
