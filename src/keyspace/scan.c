/*
 * scan.c: walking the stored keys of a db in storage order (SCAN, KEYS,
 * RANDOMKEY). Both commit first, so storage holds every key, hot or cold.
 *
 * A walk that stops on a storage error, or meets a record the codec
 * refuses, fails (keyspace_read_error): a scan must never look complete
 * when it is not.
 */
#include <string.h>

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

/* The end of a walk: 0, or -1 when the iterator stopped on an error. */
static int walk_end(store_iter *it, int rc)
{
    if (rc == 0 && store_iter_status(it, NULL) != 0) {
        keyspace_read_failed(NULL, store_last_error(ks_st), NULL, 0);
        rc = -1;
    }
    store_iter_free(it);
    return rc;
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

int keyspace_scan(struct db *db, uint64_t cursor, keyspace_iter_fn *fn, void *ctx, uint64_t *next)
{
    *next = 0;
    if ((cursor >> 32) >= 16384)
        return 0; /* past the last slot: nothing left (a client may send any number) */
    if (keyspace_commit() != 0)
        return KEYSPACE_WRITE_FAILED;
    store_iter *it = walk_db(db, (unsigned)(cursor >> 32), (uint32_t)cursor);
    if (!it)
        return -1;
    int stop = 0, rc = 0;
    uint64_t stop_pos = 0;
    for (store_iter_seek_first(it); store_iter_valid(it); store_iter_next(it)) {
        uint64_t pos;
        const char *key;
        size_t ulen;
        struct codec_header hd;
        if (record_decode(it, &pos, &key, &ulen, &hd) != 0) {
            rc = -1;
            break;
        }
        if (stop && pos != stop_pos) {
            *next = pos;
            break;
        }
        if (fn(ctx, key, ulen, hd.type, hd.expire_ms) && !stop) {
            stop = 1;
            stop_pos = pos;
        }
    }
    return walk_end(it, rc);
}

int keyspace_random_key(struct db *db, str *out)
{
    if (db->nkeys == 0)
        return 1;
    if (keyspace_commit() != 0)
        return KEYSPACE_WRITE_FAILED;
    store_iter *it = walk_db(db, 0, 0);
    if (!it)
        return -1;
    int found = 1, rc = 0;
    for (int tries = 0; tries < 100 && found; tries++) {
        uint64_t r = util_rand64();
        char pos[CODEC_KEY_PREFIX];
        codec_key_prefix(db->dbid, (unsigned)((r >> 32) % 16384), (uint32_t)r, pos);
        store_iter_seek(it, pos, sizeof(pos));
        if (!store_iter_valid(it))
            store_iter_seek_first(it);
        if (!store_iter_valid(it))
            break;
        uint64_t p;
        const char *key;
        size_t ulen;
        struct codec_header hd;
        if (record_decode(it, &p, &key, &ulen, &hd) != 0) {
            rc = -1;
            break;
        }
        if (keyspace_time_passed(hd.expire_ms))
            continue;
        *out = str_new(key, ulen);
        found = 0;
    }
    rc = walk_end(it, rc);
    if (rc != 0 && !found) {
        str_free(*out);
        *out = NULL;
    }
    return rc != 0 ? -1 : found;
}
