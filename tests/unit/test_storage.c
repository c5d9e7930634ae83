/*
 * test_storage.c: the RocksDB layer (storage/store.c) and the read pool
 * (storage/readpool.c) against a real database in a temporary directory,
 * removed at the end.
 */
#include <ftw.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "storage/codec.h"
#include "storage/readpool.h"
#include "storage/store.h"
#include "unit.h"

static char tmpdir[] = "/tmp/lt-test-storage-XXXXXX";
static char dbdir[256], cpdir[256];

static store *open_store(const char *dir)
{
    struct store_options o;
    store *s = NULL;
    char *err = NULL;

    store_options_default(&o);
    o.dir = dir;
    o.block_cache_size = 4 << 20;
    o.write_buffer_size = 1 << 20;
    if (store_open(&o, &s, &err) != 0) {
        printf("  store_open(%s): %s\n", dir, err ? err : "?");
        free(err);
        return NULL;
    }
    CHECK(err == NULL);
    return s;
}

static void put_str(store_batch *b, enum store_cf cf, const char *k, const char *v)
{
    store_batch_put(b, cf, k, strlen(k), v, strlen(v));
}

/* 1 if k has value v, 0 if absent, -1 if it differs or fails */
static int has(store *s, enum store_cf cf, const char *k, const char *v)
{
    char *val;
    size_t vlen;
    int rc = store_get(s, cf, k, strlen(k), &val, &vlen);
    if (rc == STORE_NOTFOUND)
        return val == NULL ? 0 : -1;
    if (rc != 0)
        return -1;
    int ok = vlen == strlen(v) && memcmp(val, v, vlen) == 0;
    free(val);
    return ok ? 1 : -1;
}

TEST(open_reopen_lock)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    put_str(b, STORE_CF_KEYS, "alpha", "1");
    store_batch_put(b, STORE_CF_META, "format-version", 14, "\0\0\0\0\0\0\0\1", 8);
    store_batch_put(b, STORE_CF_EXPIRY, "e1", 2, "", 0);
    CHECK_EQ_INT(store_batch_count(b), 3);
    CHECK(store_batch_bytes(b) >= 5 + 1 + 14 + 2);
    CHECK_EQ_INT(store_write(s, b, 1), 0);
    store_batch_clear(b);
    CHECK_EQ_INT(store_batch_count(b), 0);
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    CHECK_EQ_INT(store_write(s, b, 1), 0);
    CHECK_EQ_INT(store_sync_wal(s), 0);

    /* a second open of the same directory fails and says why */
    struct store_options o;
    store_options_default(&o);
    o.dir = dbdir;
    store *s2 = NULL;
    char *err = NULL;
    CHECK_EQ_INT(store_open(&o, &s2, &err), STORE_ERR);
    CHECK(s2 == NULL);
    CHECK(err != NULL);
    if (err) {
        CHECK(strstr(err, "another longtail-server is using") != NULL);
        CHECK(strstr(err, dbdir) != NULL);
        CHECK(strstr(err, "LOCK") != NULL);
        free(err);
    }

    /* the CFs are separate namespaces */
    CHECK_EQ_INT(has(s, STORE_CF_META, "alpha", "1"), 0);
    CHECK_EQ_INT(has(s, STORE_CF_EXPIRY, "e1", ""), 1);
    store_close(s);

    /* written without an explicit flush: the WAL brings it back */
    s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s) {
        store_batch_free(b);
        return;
    }
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "alpha", "1"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_EXPIRY, "e1", ""), 1);
    char *val;
    size_t vlen;
    CHECK_EQ_INT(store_get(s, STORE_CF_META, "format-version", 14, &val, &vlen), 0);
    CHECK_EQ_MEM(val, vlen, "\0\0\0\0\0\0\0\1", 8);
    free(val);
    /* also after a flush to SST files */
    CHECK_EQ_INT(store_flush(s), 0);
    store_close(s);
    s = open_store(dbdir);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(has(s, STORE_CF_KEYS, "alpha", "1"), 1);
        store_close(s);
    }
    store_batch_free(b);

    /* an unusable directory is an error with a message, not a crash */
    o.dir = "/proc/definitely/not/here";
    CHECK_EQ_INT(store_open(&o, &s2, &err), STORE_ERR);
    CHECK(err != NULL && strstr(err, "cannot open RocksDB") != NULL);
    free(err);
}

TEST(batches)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    char k[32], v[64];

    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%03d", i);
        snprintf(v, sizeof(v), "value-%d", i);
        put_str(b, STORE_CF_KEYS, k, v);
    }
    /* an empty value and a binary key */
    store_batch_put(b, STORE_CF_KEYS, "empty", 5, "", 0);
    store_batch_put(b, STORE_CF_KEYS, "\0bin\xff", 5, "\0\1", 2);
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    store_batch_clear(b);

    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k042", "value-42"), 1);
    char *val;
    size_t vlen;
    CHECK_EQ_INT(store_get(s, STORE_CF_KEYS, "empty", 5, &val, &vlen), 0);
    CHECK(val != NULL);
    CHECK_EQ_INT(vlen, 0);
    free(val);
    CHECK_EQ_INT(store_get(s, STORE_CF_KEYS, "\0bin\xff", 5, &val, &vlen), 0);
    CHECK_EQ_MEM(val, vlen, "\0\1", 2);
    free(val);
    CHECK_EQ_INT(store_get(s, STORE_CF_KEYS, "nope", 4, &val, &vlen), STORE_NOTFOUND);
    CHECK(val == NULL);

    /* delete, overwrite and delete_range in one atomic batch; order counts */
    store_batch_delete(b, STORE_CF_KEYS, "k000", 4);
    put_str(b, STORE_CF_KEYS, "k001", "new");
    store_batch_delete_range(b, STORE_CF_KEYS, "k010", 4, "k020", 4);
    put_str(b, STORE_CF_KEYS, "k015", "back");
    CHECK_EQ_INT(store_batch_count(b), 4);
    CHECK_EQ_INT(store_write(s, b, 1), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k000", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k001", "new"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k009", "value-9"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k010", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k014", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k015", "back"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k019", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k020", "value-20"), 1);

    /* the bloom filter rules out absent keys once they are on disk */
    CHECK_EQ_INT(store_compact(s, STORE_CF_KEYS), 0);
    CHECK_EQ_INT(store_key_may_exist(s, STORE_CF_KEYS, "k050", 4), 1);
    int absent = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "absent-%d", i);
        absent += !store_key_may_exist(s, STORE_CF_KEYS, k, strlen(k));
    }
    CHECK(absent > 90);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k015", "back"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k012", ""), 0);

    /* a large batch whose buffer grows many times */
    store_batch_clear(b);
    char *big = malloc(100000);
    memset(big, 'x', 100000);
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof(k), "big%02d", i);
        store_batch_put(b, STORE_CF_META, k, strlen(k), big, 1000 + (size_t)i * 1000);
    }
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    CHECK_EQ_INT(store_get(s, STORE_CF_META, "big49", 5, &val, &vlen), 0);
    CHECK_EQ_INT(vlen, 50000);
    CHECK(val && memcmp(val, big, vlen) == 0);
    free(val);
    free(big);
    store_batch_free(b);
    store_close(s);
}

/* A batch is built in RocksDB's own layout: values in two parts, lengths
 * of every varint size, every column family; store_write empties it, and
 * a value bigger than the buffer kept between commits is written whole,
 * followed by small operations, across a reopen. */
TEST(batch_layout)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    store_batch_put_parts(b, STORE_CF_KEYS, "parts", 5, "head:", 5, "body", 4);
    store_batch_put_parts(b, STORE_CF_KEYS, "no-body", 7, "h", 1, NULL, 0);
    store_batch_put_parts(b, STORE_CF_KEYS, "no-head", 7, NULL, 0, "b", 1);
    static char big[3 << 20];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + i / 4096);
    /* lengths of one to four varint bytes: 127, 128, 16383, 16384, 3 MB */
    size_t lens[] = {0, 127, 128, 16383, 16384, sizeof(big)};
    char k[32];
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof(k), "len%zu", lens[i]);
        store_batch_put(b, STORE_CF_META, k, strlen(k), big, lens[i]);
    }
    /* a key of 200 bytes (two varint bytes) in the elements family */
    store_batch_put(b, STORE_CF_ELEMENTS, big, 200, "e", 1);
    put_str(b, STORE_CF_EXPIRY, "x1", "");
    CHECK_EQ_INT(store_batch_count(b), 11);
    CHECK_EQ_INT(store_write(s, b, 1), 0);
    CHECK_EQ_INT(store_batch_count(b), 0);
    CHECK_EQ_INT(store_batch_bytes(b), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "parts", "head:body"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "no-body", "h"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "no-head", "b"), 1);
    CHECK_EQ_INT(has(s, STORE_CF_EXPIRY, "x1", ""), 1);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "x1", ""), 0);
    char *val;
    size_t vlen;
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof(k), "len%zu", lens[i]);
        CHECK_EQ_INT(store_get(s, STORE_CF_META, k, strlen(k), &val, &vlen), 0);
        CHECK(val && vlen == lens[i] && memcmp(val, big, vlen) == 0);
        free(val);
    }
    CHECK_EQ_INT(store_get(s, STORE_CF_ELEMENTS, big, 200, &val, &vlen), 0);
    CHECK_EQ_MEM(val, vlen, "e", 1);
    free(val);

    /* deletes and a range delete after a reopen, in a batch begun before */
    store_batch_delete(b, STORE_CF_KEYS, "parts", 5);
    char *err = NULL;
    CHECK_EQ_INT(store_reopen(s, &err), 0);
    free(err);
    store_batch_delete_range(b, STORE_CF_META, "len0", 4, "len16383", 8);
    CHECK_EQ_INT(store_batch_count(b), 2);
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "parts", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_META, "len127", ""), 0);
    CHECK_EQ_INT(has(s, STORE_CF_META, "len128", ""), 0);
    CHECK_EQ_INT(store_get(s, STORE_CF_META, "len16383", 8, &val, &vlen), 0);
    CHECK(val && vlen == 16383);
    free(val);
    CHECK_EQ_INT(has(s, STORE_CF_KEYS, "no-head", "b"), 1);
    store_batch_free(b);
    store_close(s);
}

/* A database whose column families were created in another order has
 * other ids: store_open refuses it rather than write into the wrong one. */
TEST(cf_ids_checked)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/ids", tmpdir);
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    const char *names[] = {"default", "elements", "keys", "expiry", "meta"};
    const rocksdb_options_t *cfo[] = {o, o, o, o, o};
    rocksdb_column_family_handle_t *h[5];
    char *rerr = NULL;
    rocksdb_t *db = rocksdb_open_column_families(o, dir, 5, names, cfo, h, &rerr);
    CHECK(db != NULL && rerr == NULL);
    free(rerr);
    if (db) {
        for (int i = 0; i < 5; i++)
            rocksdb_column_family_handle_destroy(h[i]);
        rocksdb_close(db);
    }
    rocksdb_options_destroy(o);

    struct store_options so;
    store *s = NULL;
    char *err = NULL;
    store_options_default(&so);
    so.dir = dir;
    CHECK_EQ_INT(store_open(&so, &s, &err), STORE_ERR);
    CHECK(s == NULL);
    CHECK(err && strstr(err, "column family keys has id 2, not 1"));
    if (err)
        printf("  (refused: %s)\n", err);
    free(err);
    store_close(s);
}

TEST(multi_get)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    enum { N = 150 }; /* above the stack fast path */
    char kbuf[N][16];
    const char *keys[N];
    size_t klens[N], vlens[N];
    char *vals[N];
    int rc[N];

    for (int i = 0; i < N; i++) {
        snprintf(kbuf[i], sizeof(kbuf[i]), "k%03d", N - 1 - i); /* unsorted input */
        keys[i] = kbuf[i];
        klens[i] = strlen(kbuf[i]);
    }
    store_multi_get(s, STORE_CF_KEYS, N, keys, klens, vals, vlens, rc);
    for (int i = 0; i < N; i++) {
        int n = N - 1 - i;
        /* present: 1..9, 20..99 (k000 and k010..k019 but k015 deleted) */
        int present = (n >= 1 && n < 100 && !(n >= 10 && n < 20)) || n == 15;
        if (!present) {
            CHECK_EQ_INT(rc[i], STORE_NOTFOUND);
            CHECK(vals[i] == NULL);
            continue;
        }
        CHECK_EQ_INT(rc[i], 0);
        char want[32];
        if (n == 1)
            snprintf(want, sizeof(want), "new");
        else if (n == 15)
            snprintf(want, sizeof(want), "back");
        else
            snprintf(want, sizeof(want), "value-%d", n);
        CHECK_EQ_MEM(vals[i], vlens[i], want, strlen(want));
        free(vals[i]);
    }
    /* a small batch with duplicates */
    const char *k2[3] = {"k050", "zzz", "k050"};
    size_t l2[3] = {4, 3, 4};
    store_multi_get(s, STORE_CF_KEYS, 3, k2, l2, vals, vlens, rc);
    CHECK_EQ_INT(rc[0], 0);
    CHECK_EQ_INT(rc[1], STORE_NOTFOUND);
    CHECK_EQ_INT(rc[2], 0);
    CHECK_EQ_MEM(vals[2], vlens[2], "value-50", 8);
    free(vals[0]);
    free(vals[2]);
    store_multi_get(s, STORE_CF_KEYS, 0, k2, l2, vals, vlens, rc);
    store_close(s);
}

TEST(iterators)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    char k[CODEC_KEY_PREFIX + 16];
    /* three dbs of encoded keys, plus an unflushed overwrite */
    for (unsigned db = 1; db <= 3; db++)
        for (int i = 0; i < 20; i++) {
            char uk[16];
            snprintf(uk, sizeof(uk), "user%d", i);
            size_t n = codec_key_encode((uint16_t)db, uk, strlen(uk), k);
            store_batch_put(b, STORE_CF_KEYS, k, n, uk, strlen(uk));
        }
    CHECK_EQ_INT(store_write(s, b, 0), 0);

    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(2, 0, 0, lo);
    codec_key_prefix(3, 0, 0, hi);
    store_iter *it = store_iter_new(s, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    /* the bounds were copied: the caller's buffers may change */
    memset(lo, 0, sizeof(lo));
    memset(hi, 0xff, sizeof(hi));

    int count = 0;
    char prev[64];
    size_t prevlen = 0;
    for (store_iter_seek_first(it); store_iter_valid(it); store_iter_next(it)) {
        size_t klen, vlen;
        const char *key = store_iter_key(it, &klen);
        const char *val = store_iter_value(it, &vlen);
        uint16_t dbid;
        unsigned slot;
        uint32_t h;
        const char *uk;
        size_t uklen;
        CHECK_EQ_INT(codec_key_decode(key, klen, &dbid, &slot, &h, &uk, &uklen), 0);
        CHECK_EQ_INT(dbid, 2);
        CHECK_EQ_MEM(uk, uklen, val, vlen);
        if (count > 0) {
            size_t m = prevlen < klen ? prevlen : klen;
            int c = memcmp(prev, key, m);
            CHECK(c < 0 || (c == 0 && prevlen < klen));
        }
        memcpy(prev, key, klen);
        prevlen = klen;
        count++;
    }
    CHECK_EQ_INT(count, 20);
    CHECK_EQ_INT(store_iter_status(it, NULL), 0);

    /* backward gives the same keys in reverse */
    int back = 0;
    for (store_iter_seek_last(it); store_iter_valid(it); store_iter_prev(it)) {
        size_t klen;
        const char *key = store_iter_key(it, &klen);
        if (back == 0)
            CHECK_EQ_MEM(key, klen, prev, prevlen);
        CHECK_EQ_INT(codec_get_u16(key), 2);
        back++;
    }
    CHECK_EQ_INT(back, 20);

    /* seeking below the lower bound lands on the first key in range, and
     * past the upper bound is invalid */
    store_iter_seek(it, "", 0);
    CHECK(store_iter_valid(it));
    if (store_iter_valid(it)) {
        size_t klen;
        CHECK_EQ_INT(codec_get_u16(store_iter_key(it, &klen)), 2);
    }
    char past[CODEC_KEY_PREFIX];
    codec_key_prefix(3, 0, 0, past);
    store_iter_seek(it, past, sizeof(past));
    CHECK(!store_iter_valid(it));
    char *err = (char *)1;
    CHECK_EQ_INT(store_iter_status(it, &err), 0);
    CHECK(err == NULL);
    store_iter_free(it);

    /* unbounded: every db */
    it = store_iter_new(s, STORE_CF_KEYS, NULL, 0, NULL, 0);
    count = 0;
    int dbs[4] = {0};
    for (store_iter_seek_first(it); store_iter_valid(it); store_iter_next(it)) {
        size_t klen;
        const char *key = store_iter_key(it, &klen);
        if (klen >= CODEC_KEY_PREFIX && codec_get_u16(key) <= 3)
            dbs[codec_get_u16(key)]++;
        count++;
    }
    CHECK_EQ_INT(dbs[1], 20);
    CHECK_EQ_INT(dbs[2], 20);
    CHECK_EQ_INT(dbs[3], 20);
    store_iter_free(it);

    /* only an upper bound: db 1 and whatever sorts before it */
    codec_key_prefix(2, 0, 0, hi);
    it = store_iter_new(s, STORE_CF_KEYS, NULL, 0, hi, sizeof(hi));
    codec_key_prefix(1, 0, 0, lo);
    store_iter_seek(it, lo, sizeof(lo));
    count = 0;
    for (; store_iter_valid(it); store_iter_next(it))
        count++;
    CHECK_EQ_INT(count, 20);
    store_iter_free(it);

    /* dropping a whole db is one range delete */
    store_batch_clear(b);
    codec_key_prefix(2, 0, 0, lo);
    codec_key_prefix(3, 0, 0, hi);
    store_batch_delete_range(b, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    it = store_iter_new(s, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    store_iter_seek_first(it);
    CHECK(!store_iter_valid(it));
    store_iter_free(it);
    store_batch_free(b);
    store_close(s);
}

TEST(checkpoint_and_properties)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    put_str(b, STORE_CF_KEYS, "cp-only-in-memtable", "yes");
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    store_batch_free(b);

    char *err = NULL;
    CHECK_EQ_INT(store_checkpoint(s, cpdir, &err), 0);
    CHECK(err == NULL);
    /* the target must not exist */
    CHECK_EQ_INT(store_checkpoint(s, cpdir, &err), STORE_ERR);
    CHECK(err != NULL);
    free(err);
    CHECK(strlen(store_last_error(s)) > 0);

    /* the copy opens beside the original, with the same data */
    store *c = open_store(cpdir);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(has(c, STORE_CF_KEYS, "cp-only-in-memtable", "yes"), 1);
        CHECK_EQ_INT(has(c, STORE_CF_KEYS, "k050", "value-50"), 1);
        CHECK_EQ_INT(has(c, STORE_CF_EXPIRY, "e1", ""), 1);
        /* and is independent of it */
        b = store_batch_new();
        put_str(b, STORE_CF_KEYS, "k050", "changed");
        CHECK_EQ_INT(store_write(c, b, 0), 0);
        store_batch_free(b);
        CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k050", "value-50"), 1);
        store_close(c);
    }

    static const char *const props[] = {
        "rocksdb.estimate-num-keys",
        "rocksdb.cur-size-all-mem-tables",
        "rocksdb.live-sst-files-size",
        "rocksdb.block-cache-usage",
        "rocksdb.actual-delayed-write-rate",
        "rocksdb.is-write-stopped",
        "rocksdb.estimate-pending-compaction-bytes",
        "rocksdb.num-running-compactions",
    };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        uint64_t v = UINT64_MAX;
        int rc = store_property_int(s, props[i], &v);
        if (rc != 0)
            printf("  property %s failed\n", props[i]);
        CHECK_EQ_INT(rc, 0);
        CHECK(v != UINT64_MAX);
    }
    uint64_t v;
    CHECK_EQ_INT(store_property_int(s, "rocksdb.estimate-num-keys", &v), 0);
    CHECK(v > 50);
    CHECK_EQ_INT(store_property_int(s, "rocksdb.live-sst-files-size", &v), 0);
    CHECK(v > 0);
    CHECK_EQ_INT(store_property_int(s, "rocksdb.is-write-stopped", &v), 0);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(store_property_int(s, "rocksdb.no-such-property", &v), STORE_ERR);

    /* reads went through the cache */
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(has(s, STORE_CF_KEYS, "k050", "value-50"), 1);
    CHECK_EQ_INT(store_property_int(s, "rocksdb.block-cache-usage", &v), 0);
    CHECK(v > 0);

    char *text = store_stats_text(s);
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "rocksdb.stall.micros COUNT : ") != NULL);
        free(text);
    }
    CHECK_EQ_INT(store_stall_micros(s), 0);
    store_close(s);
}

/* ---- read pool ---------------------------------------------------------- */

enum { POOL_JOBS = 1000, POOL_KEYS = 4 };

struct test_job {
    struct read_job job;
    char *keys[POOL_KEYS];
    size_t klens[POOL_KEYS];
    char *vals[POOL_KEYS];
    size_t vlens[POOL_KEYS];
    int rc[POOL_KEYS];
    char kbuf[POOL_KEYS][CODEC_KEY_PREFIX + 16];
    int seen;
};

TEST(readpool)
{
    store *s = open_store(dbdir);
    CHECK(s != NULL);
    if (!s)
        return;
    store_batch *b = store_batch_new();
    for (int i = 0; i < 500; i++) {
        char uk[16], k[CODEC_KEY_PREFIX + 16];
        snprintf(uk, sizeof(uk), "pool%d", i);
        size_t n = codec_key_encode(9, uk, strlen(uk), k);
        store_batch_put(b, STORE_CF_KEYS, k, n, uk, strlen(uk));
    }
    CHECK_EQ_INT(store_write(s, b, 0), 0);
    store_batch_free(b);

    int fd = readpool_start(s, 4);
    CHECK(fd >= 0);
    if (fd < 0) {
        store_close(s);
        return;
    }
    CHECK_EQ_INT(readpool_start(s, 4), -1); /* only one pool */
    CHECK(readpool_drain() == NULL);
    CHECK_EQ_INT(readpool_pending(), 0);

    struct test_job *jobs = calloc(POOL_JOBS, sizeof(*jobs));
    for (int j = 0; j < POOL_JOBS; j++) {
        struct test_job *t = &jobs[j];
        for (int i = 0; i < POOL_KEYS; i++) {
            /* keys pool0..pool999: the upper half is absent */
            char uk[16];
            snprintf(uk, sizeof(uk), "pool%d", (j * POOL_KEYS + i) % 1000);
            t->klens[i] = codec_key_encode(9, uk, strlen(uk), t->kbuf[i]);
            t->keys[i] = t->kbuf[i];
        }
        t->job.owner = t;
        t->job.n = POOL_KEYS;
        t->job.keys = t->keys;
        t->job.klens = t->klens;
        t->job.vals = t->vals;
        t->job.vlens = t->vlens;
        t->job.rc = t->rc;
    }

    /* submit in waves and wait on the eventfd with poll() */
    int done = 0, wakeups = 0;
    uint64_t last_done = 0;
    int order_ok = 1;
    for (int j = 0; j < POOL_JOBS; j++) {
        readpool_submit(&jobs[j].job);
        if (j % 100 != 99)
            continue;
        while (done <= j) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int pr = poll(&p, 1, 5000);
            CHECK(pr == 1);
            if (pr != 1)
                break;
            wakeups++;
            for (struct read_job *r = readpool_drain(); r; r = r->next) {
                struct test_job *t = r->owner;
                t->seen++;
                done++;
                if (r->done_us < last_done || r->done_us < r->submit_us)
                    order_ok = 0;
                last_done = r->done_us;
            }
        }
        if (done <= j)
            break;
    }
    CHECK_EQ_INT(done, POOL_JOBS);
    CHECK(order_ok);
    CHECK(wakeups > 0 && wakeups <= POOL_JOBS);
    CHECK_EQ_INT(readpool_pending(), 0);

    int right = 1;
    for (int j = 0; j < POOL_JOBS; j++) {
        struct test_job *t = &jobs[j];
        if (t->seen != 1)
            right = 0;
        for (int i = 0; i < POOL_KEYS; i++) {
            int n = (j * POOL_KEYS + i) % 1000;
            char uk[16];
            snprintf(uk, sizeof(uk), "pool%d", n);
            if (n < 500) {
                if (t->rc[i] != 0 || t->vlens[i] != strlen(uk) ||
                    memcmp(t->vals[i], uk, t->vlens[i]) != 0)
                    right = 0;
            } else if (t->rc[i] != STORE_NOTFOUND || t->vals[i] != NULL) {
                right = 0;
            }
            free(t->vals[i]);
        }
    }
    CHECK(right);

    /* stop completes what is still queued; drain still hands it over */
    for (int j = 0; j < 50; j++) {
        jobs[j].seen = 0;
        readpool_submit(&jobs[j].job);
    }
    CHECK(readpool_pending() > 0);
    readpool_stop();
    int after = 0;
    for (struct read_job *r = readpool_drain(); r; r = r->next) {
        struct test_job *t = r->owner;
        for (int i = 0; i < POOL_KEYS; i++)
            free(t->vals[i]);
        after++;
    }
    CHECK_EQ_INT(after, 50);
    CHECK_EQ_INT(readpool_pending(), 0);

    /* and it can start again */
    fd = readpool_start(s, 1);
    CHECK(fd >= 0);
    readpool_stop();
    free(jobs);
    store_close(s);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int rm_rf(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
    snprintf(cpdir, sizeof(cpdir), "%s/checkpoint", tmpdir);

    RUN(open_reopen_lock);
    RUN(batches);
    RUN(batch_layout);
    RUN(cf_ids_checked);
    RUN(multi_get);
    RUN(iterators);
    RUN(checkpoint_and_properties);
    RUN(readpool);

    rm_rf(tmpdir);
    return unit_report("test_storage");
}
