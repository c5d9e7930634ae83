/*
 * expire.c: the active expiry cycle (DESIGN.md §3): bounded work over the
 * hot keys with a TTL, as Redis samples them, then over the stored expiry
 * index for cold keys.
 *
 * The index may hold stale entries (a TTL changed or removed, a key deleted
 * or flushed): each due entry is checked against the key itself, which is
 * deleted through the normal path only when it really expired. An entry
 * whose key cannot be read stays, and the cycle stops until the next one.
 */
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/internal.h"
#include "storage/codec.h"

static void active_expire_hot(struct db *db, int64_t deadline_us)
{
    for (;;) {
        size_t n = dict_size(db->expires);
        if (!n)
            return;
        dict_entry *sample[20];
        size_t got = dict_sample(db->expires, sample, n < 20 ? n : 20);
        str keys[20];
        int expired = 0;
        for (size_t i = 0; i < got; i++)
            keys[i] = sample[i]->v.s64 < keyspace_mstime ? sample[i]->key : NULL;
        for (size_t i = 0; i < got; i++) {
            if (!keys[i])
                continue;
            /* keys[i] is freed with its entry: copy it first */
            str k = str_new(keys[i], str_len(keys[i]));
            db_remove_entry(db, k);
            ks_stats.expired_keys++;
            ks_notify_key_expired(db, k);
            str_free(k);
            expired++;
        }
        if (got == 0 || expired * 4 < (int)got || (int64_t)util_monotonic_us() > deadline_us)
            return;
    }
}

static void active_expire_cold(int64_t deadline_us)
{
    char upper[8];
    codec_put_u64(upper, (uint64_t)keyspace_mstime);
    store_iter *it = store_iter_new(ks_st, STORE_CF_EXPIRY, NULL, 0, upper, sizeof(upper));
    if (!it) {
        ks_stats.expire_errors++;
        return;
    }
    store_batch *batch = commit_batch();
    int n = 0, failed = 0;
    for (store_iter_seek_first(it); store_iter_valid(it); store_iter_next(it)) {
        size_t len;
        const char *raw = store_iter_key(it, &len);
        int64_t when;
        uint16_t dbid;
        const char *k;
        size_t klen;
        if (codec_expiry_key_decode(raw, len, &when, &dbid, &k, &klen) != 0) {
            store_batch_delete(batch, STORE_CF_EXPIRY, raw, len);
            continue;
        }
        struct db *db = keyspace_db_by_id(dbid);
        if (db) {
            /* the lookup itself deletes the key if it is expired (whatever
             * TTL it has now), a split one without reading its elements;
             * a live key keeps its newer index entry */
            str key = str_new(k, klen);
            struct key_meta m;
            int r = db_lookup_meta(db, key, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, &m, NULL);
            str_free(key);
            if (r < 0) {
                failed = 1; /* the entry stays: tried again by a later cycle */
                break;
            }
        }
        store_batch_delete(batch, STORE_CF_EXPIRY, raw, len);
        if (++n % 16 == 0 && (int64_t)util_monotonic_us() > deadline_us)
            break;
    }
    if (!failed && store_iter_status(it, NULL) != 0) {
        log_warning("Expiry cycle: reading the expiry index failed: %s", store_last_error(ks_st));
        failed = 1;
    }
    store_iter_free(it);
    if (failed)
        ks_stats.expire_errors++;
}

void keyspace_active_expire(int64_t budget_us)
{
    int64_t deadline = (int64_t)util_monotonic_us() + budget_us;
    for (int i = 0; i < ks_ndbs; i++)
        active_expire_hot(&ks_dbs[i], deadline);
    if ((int64_t)util_monotonic_us() < deadline)
        active_expire_cold(deadline);
}
