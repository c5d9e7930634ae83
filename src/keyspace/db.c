/*
 * db.c: databases, lookup, changes and the commit (DESIGN.md §3).
 *
 * Invariants:
 * - A key in db->keys is the latest value; RocksDB has the value of the last
 *   commit. A key in db->dirty changed since then: at commit it is written
 *   (if in db->keys) or deleted (if not).
 * - A key that is neither hot nor dirty is exactly what RocksDB holds.
 * - nkeys/nexpires count every key; they are written to the meta CF in the
 *   same WriteBatch as the keys whose change moved them.
 * - Only clean keys are demoted; demotion changes no count.
 * - A stored header (header.h) speaks for a key only while the key is
 *   neither hot nor changed in memory: every use checks both first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "keyspace/db.h"
#include "keyspace/settings.h"
#include "keyspace/split.h"
#include "ds/log.h"
#include "storage/codec.h"
#include "storage/committer.h"
#include "storage/elements.h"
#include "storage/store.h"

static struct db *dbs;
static int ndbs;
static store_batch *batch;  /* the commit being built; the expiry cycle adds index deletes */
static store_batch *flight; /* the commit the committer is writing, NULL if none */
static store_batch *spare;  /* the other batch, cleared, while none is in flight */
static size_t flight_keys;  /* keys and bytes of the commit in flight */
static size_t flight_bytes;
static store *st; /* the storage every db lives in (keyspace_open) */

/* Listeners of the keyspace's events (keyspace_on_*), registered at
 * start-up by the layers above, called in registration order. */
#define LISTENERS_MAX 4
#define LISTENERS(name, ...)                                                                       \
    static void (*name[LISTENERS_MAX])(__VA_ARGS__);                                               \
    static int n_##name
LISTENERS(on_key_changed, struct db *, const str);
LISTENERS(on_key_filled, struct db *, const str);
LISTENERS(on_db_replaced, int, int);
LISTENERS(on_commit_done, int);
#define LISTEN(name, fn)                                                                           \
    do {                                                                                           \
        if (n_##name == LISTENERS_MAX)                                                             \
            abort(); /* a start-up wiring error */                                                 \
        name[n_##name++] = fn;                                                                     \
    } while (0)
#define NOTIFY(name, ...)                                                                          \
    do {                                                                                           \
        for (int l_ = 0; l_ < n_##name; l_++)                                                      \
            name[l_](__VA_ARGS__);                                                                 \
    } while (0)

int64_t keyspace_mstime;
struct keyspace_stats ks_stats;

static void val_free(void *v)
{
    obj_free(v);
}

/* keys embed their str in the entry; expires entries point at it */
static const dict_type keys_type = {dict_str_hash, dict_str_eq, NULL, val_free, 1};
static const dict_type expires_type = {dict_str_hash, dict_str_eq, NULL, NULL};
static const dict_type dirty_type = {dict_str_hash, dict_str_eq, dict_str_hot_free, NULL};

/* ---- a growable scratch buffer for encoding ------------------------------ */

static char *scratch;
static size_t scratch_cap;

static char *scratch_get(size_t n)
{
    if (n > scratch_cap) {
        scratch_cap = n < 4096 ? 4096 : n * 2;
        free(scratch);
        scratch = malloc(scratch_cap);
        if (!scratch) {
            log_warning("out of memory");
            abort();
        }
    }
    return scratch;
}

/* ---- meta ---------------------------------------------------------------- */

static void meta_count_key(char *out, const char *prefix, uint16_t dbid, size_t *len)
{
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    codec_put_u16(out + pl, dbid);
    *len = pl + 2;
}

static long long meta_read_u64(const char *name, size_t nlen, long long def)
{
    char *v;
    size_t vlen;
    if (store_get(st, STORE_CF_META, name, nlen, &v, &vlen) != 0)
        return def;
    long long r = vlen == 8 ? (long long)codec_get_u64(v) : def;
    free(v);
    return r;
}

static void batch_put_counts(struct db *db)
{
    char k[32], v[8];
    size_t klen;
    meta_count_key(k, CODEC_META_COUNT_PREFIX, db->dbid, &klen);
    codec_put_u64(v, (uint64_t)db->nkeys);
    store_batch_put(batch, STORE_CF_META, k, klen, v, 8);
    meta_count_key(k, "expires:", db->dbid, &klen);
    codec_put_u64(v, (uint64_t)db->nexpires);
    store_batch_put(batch, STORE_CF_META, k, klen, v, 8);
}

static void batch_put_dbmap(void)
{
    char *v = scratch_get((size_t)ndbs * 2);
    for (int i = 0; i < ndbs; i++)
        codec_put_u16(v + 2 * i, dbs[i].dbid);
    store_batch_put(batch, STORE_CF_META, CODEC_META_DBMAP, strlen(CODEC_META_DBMAP), v,
                    (size_t)ndbs * 2);
}

int keyspace_open(store *s, int n)
{
    st = s;
    ndbs = n;
    dbs = calloc((size_t)n, sizeof(*dbs));
    batch = store_batch_new();
    spare = store_batch_new();
    char *v = NULL;
    size_t vlen = 0;
    int have_map =
        store_get(st, STORE_CF_META, CODEC_META_DBMAP, strlen(CODEC_META_DBMAP), &v, &vlen) == 0;
    long long version = meta_read_u64(CODEC_META_VERSION, strlen(CODEC_META_VERSION), -1);
    if (version > CODEC_FORMAT_VERSION) {
        log_warning("The stored data has storage format %lld; this longtail reads up to %d",
                    version, CODEC_FORMAT_VERSION);
        free(v);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct db *db = &dbs[i];
        db->index = i;
        db->dbid = (uint16_t)i;
        if (have_map && vlen >= (size_t)(i + 1) * 2)
            db->dbid = codec_get_u16(v + 2 * i);
        db->keys = dict_create(&keys_type);
        db->expires = dict_create(&expires_type);
        db->dirty = dict_create(&dirty_type);
        db->committing = dict_create(&dirty_type);
        char k[32];
        size_t klen;
        meta_count_key(k, CODEC_META_COUNT_PREFIX, db->dbid, &klen);
        db->nkeys = meta_read_u64(k, klen, 0);
        meta_count_key(k, "expires:", db->dbid, &klen);
        db->nexpires = meta_read_u64(k, klen, 0);
    }
    /* A dbmap shorter than `databases` (databases was raised): the new
     * indexes take ids not used by the map. */
    if (have_map && vlen < (size_t)n * 2) {
        for (int i = (int)(vlen / 2); i < n; i++) {
            uint16_t id = 0;
            for (;;) {
                int used = 0;
                for (int j = 0; j < i; j++)
                    used |= dbs[j].dbid == id;
                if (!used)
                    break;
                id++;
            }
            dbs[i].dbid = id;
        }
    }
    free(v);
    split_open((uint64_t)meta_read_u64(CODEC_META_SPLIT_NEXT, strlen(CODEC_META_SPLIT_NEXT), 1));
    if (!have_map || vlen != (size_t)n * 2 || version < CODEC_FORMAT_VERSION) {
        char ver[8];
        codec_put_u64(ver, CODEC_FORMAT_VERSION);
        store_batch_put(batch, STORE_CF_META, CODEC_META_VERSION, strlen(CODEC_META_VERSION), ver,
                        8);
        batch_put_dbmap();
        if (store_write(st, batch, 1) != 0) {
            log_warning("Can't write the storage metadata: %s", store_last_error(st));
            return -1;
        }
        store_batch_clear(batch);
    }
    return 0;
}

void keyspace_close(void)
{
    for (int i = 0; i < ndbs; i++) {
        dict_release(dbs[i].dirty);
        dict_release(dbs[i].committing);
        dict_release(dbs[i].expires);
        dict_release(dbs[i].keys);
    }
    free(dbs);
    dbs = NULL;
    store_batch_free(batch);
    store_batch_free(spare);
    batch = spare = NULL;
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

struct db *keyspace_db(int index)
{
    return index >= 0 && index < ndbs ? &dbs[index] : NULL;
}

int keyspace_count(void)
{
    return ndbs;
}

struct db *keyspace_db_by_id(uint16_t dbid)
{
    for (int i = 0; i < ndbs; i++)
        if (dbs[i].dbid == dbid)
            return &dbs[i];
    return NULL;
}

/* ---- serialization ------------------------------------------------------- */

/* The payload of a value: a string's bytes, a hash's listpack of pairs,
 * a set's intset or listpack of members, a list's listpack of elements,
 * a sorted set's listpack of (member, score) pairs.
 * *must_free: the payload is a copy (hot_free it after use). */
static const char *value_payload(obj *o, char *numbuf, size_t *len, int *must_free)
{
    *must_free = 0;
    if (o->type == OBJ_HASH)
        return (const char *)hash_blob(o, len, must_free);
    if (o->type == OBJ_SET)
        return (const char *)set_blob(o, len, must_free);
    if (o->type == OBJ_LIST)
        return (const char *)list_blob(o, len, must_free);
    if (o->type == OBJ_ZSET)
        return (const char *)zset_blob(o, len, must_free);
    return obj_string_bytes(o, numbuf, len);
}

/* Encodes o (with expire) as a stored value into the scratch buffer; NULL
 * when the value has no single-blob form (a hash above 4 GB). */
static const char *value_encode(obj *o, int64_t expire, size_t *len)
{
    char numbuf[32];
    size_t plen;
    int must_free;
    const char *p = value_payload(o, numbuf, &plen, &must_free);
    if (!p)
        return NULL;
    char *out = scratch_get(CODEC_HEADER_MAX + plen);
    struct codec_header h = {o->type, o->encoding, 0, expire};
    size_t hl = codec_header_encode(&h, out);
    memcpy(out + hl, p, plen);
    if (must_free)
        hot_free((void *)p);
    *len = hl + plen;
    return out;
}

/* Rebuilds a value from untrusted stored bytes; NULL when corrupt.
 * split->version: the split version when the value is stored split, else 0. */
static obj *value_decode(const char *val, size_t vlen, int64_t *expire,
                         struct codec_split_meta *split)
{
    struct codec_header h;
    const char *payload;
    size_t plen;
    if (codec_header_decode(val, vlen, &h, &payload, &plen) != 0)
        return NULL;
    *expire = h.expire_ms;
    split->version = 0;
    if (h.flags & CODEC_F_SPLIT)
        return split_decode(h.type, h.encoding, payload, plen, split);
    switch (h.type) {
    case OBJ_STRING:
        return obj_string_with_encoding(payload, plen, h.encoding);
    case OBJ_HASH:
        return hash_from_blob(payload, plen, h.encoding);
    case OBJ_SET:
        return set_from_blob(payload, plen, h.encoding);
    case OBJ_LIST:
        return list_from_blob(payload, plen, h.encoding);
    case OBJ_ZSET:
        return zset_from_blob(payload, plen, h.encoding);
    }
    return NULL;
}

/* ---- install, lookup ----------------------------------------------------- */

static dict_entry *db_install(struct db *db, const str key, obj *o, int64_t expire)
{
    dict_entry *e = dict_add(db->keys, key, o);
    access_init(o);
    uint32_t lru;
    if (access_recall(db->dbid, key, str_len(key), &lru))
        o->lru = lru;
    if (expire >= 0) {
        dict_entry *x = dict_add(db->expires, dict_key(db->keys, e), NULL);
        x->v.s64 = expire;
    }
    ks_stats.promotions++;
    return e;
}

/* A key changed in memory whose change RocksDB does not hold yet (this
 * tick's, or the commit in flight's): when it is not hot, it is deleted. */
static int db_changed_unstored(struct db *db, const str key)
{
    return dict_find(db->dirty, key) ||
           (dict_size(db->committing) && dict_find(db->committing, key));
}

int db_install_loaded(struct db *db, const str key, const char *val, size_t vlen)
{
    if (dict_find(db->keys, key) || db_changed_unstored(db, key))
        return 0; /* newer in memory */
    int64_t expire;
    struct codec_split_meta split;
    obj *o = value_decode(val, vlen, &expire, &split);
    if (!o) {
        log_warning("Corrupt stored value for a key of db %d (%zu bytes); treated as absent",
                    db->index, vlen);
        return -1;
    }
    db_install(db, key, o, expire);
    if (split.version)
        split_attach(o, db->dbid, &split);
    return 0;
}

/* The split kinds split_decode builds: a header naming another is corrupt. */
static int split_kind_valid(int type, int encoding)
{
    return (type == OBJ_HASH && encoding == OBJ_ENC_HT) ||
           (type == OBJ_SET && encoding == OBJ_ENC_HT) ||
           (type == OBJ_ZSET && encoding == OBJ_ENC_SKIPLIST) ||
           (type == OBJ_LIST && encoding == OBJ_ENC_QUICKLIST);
}

/* The header of a stored keys-CF value, when it is split: 1 and *h (all
 * but dbid and key), 0 when the value is stored whole, -1 when corrupt. */
static int header_parse(const char *val, size_t vlen, struct key_header *h)
{
    struct codec_header ch;
    const char *payload;
    size_t plen;
    if (codec_header_decode(val, vlen, &ch, &payload, &plen) != 0)
        return -1;
    if (!(ch.flags & CODEC_F_SPLIT))
        return 0;
    struct codec_split_meta m;
    if (!split_kind_valid(ch.type, ch.encoding) ||
        codec_split_meta_decode(payload, plen, &m) != 0 || m.count == 0)
        return -1;
    h->type = ch.type;
    h->encoding = ch.encoding;
    h->expire_ms = ch.expire_ms;
    h->version = m.version;
    h->count = m.count;
    return 1;
}

int db_install_header(struct db *db, const str akey, const char *val, size_t vlen,
                      struct known_keys *known)
{
    if (dict_find(db->keys, akey) || db_changed_unstored(db, akey))
        return 0; /* newer in memory */
    struct key_header h;
    int p = header_parse(val, vlen, &h);
    if (p != 1)
        return db_install_loaded(db, akey, val, vlen);
    h.dbid = db->dbid;
    h.key = akey;
    h.len = str_len(akey);
    known_add_header(known, &h);
    return 1;
}

/* What the running command's prefetch learned of key (the caller checked
 * that key is neither hot nor changed since), or NULL. */
static const struct known_key *known_of(const struct known_keys *known, struct db *db,
                                        const str key)
{
    return known_find(known, db->dbid, key, str_len(key));
}

static int absent_known(const struct known_keys *known, struct db *db, const str key)
{
    const struct known_key *k = known_of(known, db, key);
    return k && k->absent;
}

/* The stored (keys-CF) value of key, read synchronously: store_get's
 * return (0, STORE_NOTFOUND or an error); *v is the caller's to free. */
static int stored_get(struct db *db, const str key, char **v, size_t *vlen)
{
    size_t klen = str_len(key);
    char *k = malloc(klen + CODEC_KEY_PREFIX);
    size_t kl = codec_key_encode(db->dbid, key, klen, k);
    int rc = store_get(st, STORE_CF_KEYS, k, kl, v, vlen);
    free(k);
    return rc;
}

/* Reads a key that is not hot from RocksDB, synchronously, and installs it.
 * Returns its entry or NULL when absent. With hdr, a split value is not
 * loaded: its header goes in *hdr, *got_header is set and NULL returned. */
static dict_entry *db_sync_load_ex(struct db *db, const str key, struct key_header *hdr,
                                   int *got_header)
{
    char *v = NULL;
    size_t vlen = 0;
    int rc = stored_get(db, key, &v, &vlen);
    ks_stats.sync_loads++;
    if (rc == 0 && hdr && header_parse(v, vlen, hdr) == 1) {
        free(v);
        *got_header = 1;
        return NULL;
    }
    if (rc == 0 && elements_assemble(st, db->dbid, &v, &vlen) != 0) {
        free(v);
        rc = STORE_ERR;
    }
    if (rc != 0) {
        if (rc < 0)
            log_warning("Storage read failed: %s", store_last_error(st));
        return NULL;
    }
    dict_entry *e = NULL;
    int64_t expire;
    struct codec_split_meta split;
    obj *o = value_decode(v, vlen, &expire, &split);
    if (o) {
        e = db_install(db, key, o, expire);
        if (split.version)
            split_attach(o, db->dbid, &split);
    } else
        log_warning("Corrupt stored value for a key of db %d; treated as absent", db->index);
    free(v);
    return e;
}

static dict_entry *db_sync_load(struct db *db, const str key)
{
    return db_sync_load_ex(db, key, NULL, NULL);
}

int db_may_exist_on_disk(struct db *db, const str key)
{
    size_t klen = str_len(key);
    char buf[256];
    char *k = klen + CODEC_KEY_PREFIX <= sizeof(buf) ? buf : malloc(klen + CODEC_KEY_PREFIX);
    size_t kl = codec_key_encode(db->dbid, key, klen, k);
    int may = store_key_may_exist(st, STORE_CF_KEYS, k, kl);
    if (k != buf)
        free(k);
    return may;
}

int db_key_state(struct db *db, const str key)
{
    if (dict_find(db->keys, key))
        return KEY_HOT;
    if (db_changed_unstored(db, key))
        return KEY_ABSENT;
    return KEY_UNKNOWN;
}

static int64_t entry_expire(struct db *db, const str key)
{
    dict_entry *x = dict_find(db->expires, key);
    return x ? x->v.s64 : -1;
}

int db_peek(struct db *db, const str key, int64_t *expire_ms)
{
    *expire_ms = -1;
    if (dict_find(db->keys, key)) {
        *expire_ms = entry_expire(db, key);
        return 1;
    }
    if (db_changed_unstored(db, key))
        return 0;
    char *v = NULL;
    size_t vlen = 0;
    if (stored_get(db, key, &v, &vlen) != 0)
        return 0;
    struct codec_header h;
    const char *payload;
    size_t plen;
    int exists = codec_header_decode(v, vlen, &h, &payload, &plen) == 0;
    if (exists)
        *expire_ms = h.expire_ms;
    free(v);
    return exists;
}

int db_tier_of(struct db *db, const str key)
{
    int64_t when;
    if (!db_peek(db, key, &when) || (when >= 0 && keyspace_mstime > when))
        return -1;
    return dict_find(db->keys, key) ? KEY_HOT : KEY_UNKNOWN;
}

static void db_mark_dirty(struct db *db, const str key, obj *o)
{
    if (!dict_find(db->dirty, key))
        dict_add(db->dirty, str_hot_new(key, str_len(key)), NULL);
    if (o)
        o->flags |= OBJ_F_DIRTY;
    NOTIFY(on_key_changed, db, key);
    ks_stats.changes++;
}

static void db_remove_entry(struct db *db, const str key)
{
    if (dict_delete(db->expires, key) == 0)
        db->nexpires--;
    dict_delete(db->keys, key);
    db->nkeys--;
    db_mark_dirty(db, key, NULL);
}

obj *db_take(struct db *db, const str key, const struct known_keys *known)
{
    if (!db_lookup(db, key, LOOKUP_WRITE | LOOKUP_NOTOUCH, known))
        return NULL;
    if (dict_delete(db->expires, key) == 0)
        db->nexpires--;
    dict_entry *e = dict_unlink(db->keys, key);
    obj *o = e->v.val;
    e->v.val = NULL;
    dict_free_unlinked(db->keys, e);
    db->nkeys--;
    db_mark_dirty(db, key, NULL);
    return o;
}

static void lookup_count(int flags, int hit)
{
    if (flags & (LOOKUP_WRITE | LOOKUP_NOSTATS))
        return;
    if (hit)
        ks_stats.keyspace_hits++;
    else
        ks_stats.keyspace_misses++;
}

obj *db_lookup(struct db *db, const str key, int flags, const struct known_keys *known)
{
    dict_entry *e = dict_find(db->keys, key);
    if (!e && !db_changed_unstored(db, key) && !absent_known(known, db, key))
        e = db_sync_load(db, key);
    obj *o = NULL;
    if (e) {
        int64_t when = entry_expire(db, key);
        if (when >= 0 && keyspace_mstime > when && !(flags & LOOKUP_EVEN_EXPIRED)) {
            if (!(flags & LOOKUP_NOEXPIRE)) {
                db_remove_entry(db, key);
                ks_stats.expired_keys++;
            }
        } else {
            o = e->v.val;
        }
    }
    lookup_count(flags, o != NULL);
    if (o && !(flags & LOOKUP_NOTOUCH))
        access_touch(o);
    return o;
}

/* A cold split key deleted from its stored header: counts and commit as
 * for a hot key (db_remove_entry), and its elements queued as garbage. */
static void header_delete(struct db *db, const str key, int64_t expire_ms, uint64_t version)
{
    if (expire_ms >= 0)
        db->nexpires--;
    db->nkeys--;
    split_release_stored(db->dbid, version);
    db_mark_dirty(db, key, NULL);
}

int db_lookup_meta(struct db *db, const str key, int flags, struct key_meta *m,
                   const struct known_keys *known)
{
    struct key_header h;
    int cold = 0;
    if (!dict_find(db->keys, key) && !db_changed_unstored(db, key)) {
        const struct known_key *k = known_of(known, db, key);
        if (k && !k->absent) {
            h = k->h;
            cold = 1;
        } else if (!k && !db_sync_load_ex(db, key, &h, &cold) && !cold) {
            lookup_count(flags, 0); /* absent: not read again */
            return 0;
        }
    }
    if (!cold) {
        obj *o = db_lookup(db, key, flags, known);
        if (!o)
            return 0;
        m->type = o->type;
        m->encoding = o->encoding;
        m->expire_ms = entry_expire(db, key);
        m->cold = 0;
        m->split_version = m->count = 0;
        m->val = o;
        return 1;
    }
    if (h.expire_ms >= 0 && keyspace_mstime > h.expire_ms && !(flags & LOOKUP_EVEN_EXPIRED)) {
        if (!(flags & LOOKUP_NOEXPIRE)) {
            header_delete(db, key, h.expire_ms, h.version);
            ks_stats.expired_keys++;
        }
        lookup_count(flags, 0);
        return 0;
    }
    lookup_count(flags, 1);
    m->type = h.type;
    m->encoding = h.encoding;
    m->expire_ms = h.expire_ms;
    m->cold = 1;
    m->split_version = h.version;
    m->count = h.count;
    m->val = NULL;
    return 1;
}

int db_exists(struct db *db, const str key, const struct known_keys *known)
{
    return db_lookup(db, key, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, known) != NULL;
}

void db_add(struct db *db, const str key, obj *val)
{
    access_init(val);
    dict_entry *e = dict_add(db->keys, key, val);
    if (!e) {
        log_warning("db_add on an existing key");
        abort();
    }
    db->nkeys++;
    db_mark_dirty(db, key, val);
    NOTIFY(on_key_filled, db, key);
}

void db_set(struct db *db, const str key, obj *val, int flags, const struct known_keys *known)
{
    if (!db_lookup(db, key, LOOKUP_WRITE | LOOKUP_NOTOUCH, known)) {
        db_add(db, key, val);
        return;
    }
    dict_entry *e = dict_find(db->keys, key);
    obj *old = e->v.val;
    val->lru = old->lru;
    e->v.val = val;
    obj_free(old);
    if (!(flags & SETKEY_KEEPTTL) && dict_delete(db->expires, key) == 0)
        db->nexpires--;
    db_mark_dirty(db, key, val);
    NOTIFY(on_key_filled, db, key);
}

int db_delete(struct db *db, const str key, const struct known_keys *known)
{
    struct key_meta m;
    if (!db_lookup_meta(db, key, LOOKUP_WRITE | LOOKUP_NOTOUCH, &m, known))
        return 0;
    if (m.cold)
        header_delete(db, key, m.expire_ms, m.split_version);
    else
        db_remove_entry(db, key);
    return 1;
}

void db_modified(struct db *db, const str key)
{
    dict_entry *e = dict_find(db->keys, key);
    db_mark_dirty(db, key, e ? e->v.val : NULL);
}

int64_t db_get_expire(struct db *db, const str key)
{
    return entry_expire(db, key);
}

void db_set_expire(struct db *db, const str key, int64_t when_ms)
{
    dict_entry *e = dict_find(db->keys, key);
    if (!e)
        return;
    int existed;
    dict_entry *x = dict_add_or_find(db->expires, dict_key(db->keys, e), &existed);
    if (!existed)
        db->nexpires++;
    x->v.s64 = when_ms;
    db_mark_dirty(db, key, e->v.val);
}

int db_remove_expire(struct db *db, const str key)
{
    if (dict_delete(db->expires, key) != 0)
        return 0;
    db->nexpires--;
    db_modified(db, key);
    return 1;
}

int db_key_expired(struct db *db, const str key)
{
    int64_t when = entry_expire(db, key);
    return when >= 0 && keyspace_mstime > when;
}

/* ---- commit -------------------------------------------------------------- */

int keyspace_has_dirty(void)
{
    for (int i = 0; i < ndbs; i++)
        if (dict_size(dbs[i].dirty))
            return 1;
    return store_batch_count(batch) > 0;
}

/* A dirty key of the commit being built, with its keys-CF key. */
struct commit_key {
    str key; /* the dirty set's */
    char *k; /* encoded (points into kbuf when short) */
    size_t kl;
    char kbuf[64];
};

static int commit_key_cmp(const void *a, const void *b)
{
    const struct commit_key *x = *(struct commit_key *const *)a,
                            *y = *(struct commit_key *const *)b;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(x->k, y->k, n);
    return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

/* Adds one dirty key to the batch: its value (or its deletion). */
static void commit_one(struct db *db, const str key, const char *k, size_t kl)
{
    size_t klen = str_len(key);
    dict_entry *e = dict_find(db->keys, key);
    if (!e) {
        store_batch_delete(batch, STORE_CF_KEYS, k, kl);
        return;
    }
    int64_t expire = entry_expire(db, key);
    size_t vl;
    obj *o = e->v.val;
    const char *v = NULL;
    if (split_commit_value(batch, db->dbid, k, kl, o, expire)) {
        o->flags &= (uint8_t)~OBJ_F_UNSTORED;
    } else if ((v = value_encode(o, expire, &vl))) {
        store_batch_put(batch, STORE_CF_KEYS, k, kl, v, vl);
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
        char *x = scratch_get(klen + 10);
        size_t xl = codec_expiry_key_encode(expire, db->dbid, key, klen, x);
        store_batch_put(batch, STORE_CF_EXPIRY, x, xl, "", 0);
    }
}

/* Builds the batch from every db's dirty keys, which move to the
 * committing sets; returns the number of keys. */
static size_t commit_build(void)
{
    size_t nkeys = 0;
    static struct commit_key *cks;
    static struct commit_key **order; /* cks sorted (kbuf pointers stay put) */
    static size_t cks_cap;
    for (int i = 0; i < ndbs; i++) {
        struct db *db = &dbs[i];
        size_t n = dict_size(db->dirty);
        if (!n)
            continue;
        if (n > cks_cap) {
            cks_cap = n * 2;
            free(cks);
            free(order);
            cks = malloc(cks_cap * sizeof(*cks));
            order = malloc(cks_cap * sizeof(*order));
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
            size_t klen = str_len(d->key);
            ck->key = d->key;
            ck->k = klen + CODEC_KEY_PREFIX <= sizeof(ck->kbuf) ? ck->kbuf
                                                                : malloc(klen + CODEC_KEY_PREFIX);
            ck->kl = codec_key_encode(db->dbid, d->key, klen, ck->k);
        }
        dict_iter_done(&it);
        qsort(order, m, sizeof(*order), commit_key_cmp);
        for (size_t j = 0; j < m; j++) {
            commit_one(db, order[j]->key, order[j]->k, order[j]->kl);
            if (order[j]->k != order[j]->kbuf)
                free(order[j]->k);
        }
        nkeys += m;
        batch_put_counts(db);
        dict *t = db->committing; /* empty: one commit at a time */
        db->committing = db->dirty;
        db->dirty = t;
    }
    split_commit_garbage(batch);
    return nkeys;
}

/* The commit built last is written (ok) or was refused: its keys become
 * clean, or dirty again to be retried. */
static void commit_finish(int ok, size_t nkeys, size_t bytes)
{
    for (int i = 0; i < ndbs; i++) {
        struct db *db = &dbs[i];
        if (!dict_size(db->committing))
            continue;
        dict_iter it;
        dict_iter_init(&it, db->committing);
        dict_entry *d;
        while ((d = dict_iter_next(&it))) {
            if (dict_find(db->dirty, d->key))
                continue; /* changed again since: stays dirty */
            dict_entry *e = dict_find(db->keys, d->key);
            if (!ok)
                dict_add(db->dirty, str_hot_new(d->key, str_len(d->key)), NULL);
            else if (e && !(((obj *)e->v.val)->flags & OBJ_F_UNSTORED))
                ((obj *)e->v.val)->flags &= (uint8_t)~OBJ_F_DIRTY;
        }
        dict_iter_done(&it);
        dict_clear(db->committing);
    }
    if (!ok) {
        split_commit_failed();
        ks_stats.commit_errors++;
        log_warning("Commit to storage failed, will retry: %s", store_last_error(st));
        return;
    }
    split_commit_succeeded();
    ks_stats.commits++;
    ks_stats.commit_keys += (long long)nkeys;
    ks_stats.commit_bytes += (long long)bytes;
}

/* Writes the batch commit_build made (nkeys keys) on this thread; 0 or -1. */
static int commit_write_built(size_t nkeys)
{
    size_t bytes = store_batch_bytes(batch);
    int rc = store_write(st, batch, keyspace_settings.sync_commits);
    store_batch_clear(batch);
    commit_finish(rc == 0, nkeys, bytes);
    return rc == 0 ? 0 : -1;
}

static void flight_finish(int rc)
{
    store_batch_clear(flight);
    spare = flight;
    flight = NULL;
    commit_finish(rc == 0, flight_keys, flight_bytes);
    NOTIFY(on_commit_done, rc == 0);
}

void keyspace_on_commit_done(void (*fn)(int ok))
{
    LISTEN(on_commit_done, fn);
}

void keyspace_on_key_changed(void (*fn)(struct db *db, const str key))
{
    LISTEN(on_key_changed, fn);
}

void keyspace_on_db_replaced(void (*fn)(int emptied, int replaced))
{
    LISTEN(on_db_replaced, fn);
}

void keyspace_on_key_filled(void (*fn)(struct db *db, const str key))
{
    LISTEN(on_key_filled, fn);
}

void keyspace_clock_update(void)
{
    keyspace_mstime = util_mstime();
}

int keyspace_commit_in_flight(void)
{
    return flight != NULL;
}

/* Below these a batch is written on the main thread at once: handing it
 * to the commit thread costs a wake-up and a loop iteration more than
 * RocksDB takes to insert it. */
#define COMMIT_ASYNC_MIN_KEYS  128
#define COMMIT_ASYNC_MIN_BYTES (256 * 1024)

int keyspace_commit_start(void)
{
    if (flight || !keyspace_has_dirty())
        return 0;
    size_t nkeys = commit_build();
    if (nkeys < COMMIT_ASYNC_MIN_KEYS && store_batch_bytes(batch) < COMMIT_ASYNC_MIN_BYTES) {
        int rc = commit_write_built(nkeys);
        NOTIFY(on_commit_done, rc == 0);
        return 1;
    }
    flight_keys = nkeys;
    flight_bytes = store_batch_bytes(batch);
    flight = batch;
    batch = spare;
    spare = NULL;
    committer_submit(flight, keyspace_settings.sync_commits);
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
    if (flight)
        flight_finish(committer_wait());
    if (!keyspace_has_dirty())
        return 0;
    return commit_write_built(commit_build());
}

/* ---- demotion ------------------------------------------------------------ */

int db_demote(struct db *db, const str key)
{
    dict_entry *e = dict_find(db->keys, key);
    if (!e || (((obj *)e->v.val)->flags & OBJ_F_DIRTY))
        return 0;
    access_remember(db->dbid, key, str_len(key), ((obj *)e->v.val)->lru);
    split_forget(e->v.val); /* the stored copy stays */
    dict_delete(db->expires, key);
    dict_delete(db->keys, key);
    ks_stats.demotions++;
    return 1;
}

long long keyspace_demote_all_clean(void)
{
    long long n = 0;
    for (int i = 0; i < ndbs; i++) {
        struct db *db = &dbs[i];
        if (!dict_size(db->keys))
            continue;
        dict_iter it;
        dict_iter_init(&it, db->keys);
        dict_entry *e;
        while ((e = dict_iter_next(&it))) {
            obj *o = e->v.val;
            if (o->flags & OBJ_F_DIRTY)
                continue;
            str k = dict_key(db->keys, e);
            access_remember(db->dbid, k, str_len(k), o->lru);
            split_forget(o);
            dict_delete(db->expires, k);
            dict_delete(db->keys, k);
            n++;
        }
        dict_iter_done(&it);
    }
    ks_stats.demotions += n;
    return n;
}

/* ---- flush and swap ------------------------------------------------------ */

static void batch_delete_db_range(uint16_t dbid)
{
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(dbid, 0, 0, lo);
    codec_key_prefix((uint16_t)(dbid + 1), 0, 0, hi);
    store_batch_delete_range(batch, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    char elo[2], ehi[2];
    codec_put_u16(elo, dbid);
    codec_put_u16(ehi, (uint16_t)(dbid + 1));
    store_batch_delete_range(batch, STORE_CF_ELEMENTS, elo, 2, ehi, 2);
}

/* Forgets every key of db: memory now, storage in the commit batch. */
static long long db_empty(struct db *db)
{
    NOTIFY(on_db_replaced, db->index, -1);
    long long removed = db->nkeys;
    dict_clear(db->dirty);
    dict_clear(db->expires);
    dict_clear(db->keys);
    db->nkeys = 0;
    db->nexpires = 0;
    db->avg_ttl = 0;
    batch_delete_db_range(db->dbid);
    batch_put_counts(db);
    return removed;
}

long long db_flush(struct db *db)
{
    long long removed = db_empty(db);
    ks_stats.changes++;
    keyspace_commit();
    return removed;
}

long long keyspace_flush_all(void)
{
    long long removed = 0;
    for (int i = 0; i < ndbs; i++)
        removed += db_empty(&dbs[i]);
    /* The expiry index has nothing left to point at. */
    store_batch_delete_range(batch, STORE_CF_EXPIRY, "", 0, "\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                             9);
    ks_stats.changes++;
    keyspace_commit();
    return removed;
}

int keyspace_swap(int a, int b)
{
    if (a == b)
        return 0;
    NOTIFY(on_db_replaced, a, b);
    NOTIFY(on_db_replaced, b, a);
    keyspace_commit();
    struct db tmp = dbs[a];
    dbs[a] = dbs[b];
    dbs[b] = tmp;
    dbs[a].index = a;
    dbs[b].index = b;
    batch_put_dbmap();
    if (store_write(st, batch, keyspace_settings.sync_commits) != 0) {
        store_batch_clear(batch);
        tmp = dbs[a];
        dbs[a] = dbs[b];
        dbs[b] = tmp;
        dbs[a].index = a;
        dbs[b].index = b;
        return -1;
    }
    store_batch_clear(batch);
    return 0;
}

/* ---- expiry -------------------------------------------------------------- */

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
            str_free(k);
            ks_stats.expired_keys++;
            expired++;
        }
        if (got == 0 || expired * 4 < (int)got || (int64_t)util_monotonic_us() > deadline_us)
            return;
    }
}

/* Walks due entries of the stored expiry index. Each entry is checked
 * against the key itself (the index may hold stale entries: a TTL that was
 * changed or removed, a key deleted or flushed); an entry whose key really
 * expired deletes the key through the normal path. */
static void active_expire_cold(int64_t deadline_us)
{
    char upper[8];
    codec_put_u64(upper, (uint64_t)keyspace_mstime);
    store_iter *it = store_iter_new(st, STORE_CF_EXPIRY, NULL, 0, upper, sizeof(upper));
    int n = 0;
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
            db_lookup_meta(db, key, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, &m, NULL);
            str_free(key);
        }
        store_batch_delete(batch, STORE_CF_EXPIRY, raw, len);
        if (++n % 16 == 0 && (int64_t)util_monotonic_us() > deadline_us)
            break;
    }
    store_iter_free(it);
}

void keyspace_active_expire(int64_t budget_us)
{
    int64_t deadline = (int64_t)util_monotonic_us() + budget_us;
    for (int i = 0; i < ndbs; i++)
        active_expire_hot(&dbs[i], deadline);
    if ((int64_t)util_monotonic_us() < deadline)
        active_expire_cold(deadline);
}

/* ---- iteration ----------------------------------------------------------- */

uint64_t keyspace_scan(struct db *db, uint64_t cursor, keyspace_iter_fn *fn, void *ctx)
{
    if ((cursor >> 32) >= 16384)
        return 0; /* past the last slot: nothing left (a client may send any number) */
    keyspace_commit();
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(db->dbid, (unsigned)(cursor >> 32), (uint32_t)cursor, lo);
    codec_key_prefix((uint16_t)(db->dbid + 1), 0, 0, hi);
    store_iter *it = store_iter_new(st, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    uint64_t next = 0;
    int stop = 0;
    uint64_t stop_pos = 0;
    for (store_iter_seek_first(it); store_iter_valid(it); store_iter_next(it)) {
        size_t klen, vlen;
        const char *raw = store_iter_key(it, &klen);
        uint16_t dbid;
        unsigned slot;
        uint32_t h;
        const char *key;
        size_t ulen;
        if (codec_key_decode(raw, klen, &dbid, &slot, &h, &key, &ulen) != 0)
            continue;
        uint64_t pos = (uint64_t)slot << 32 | h;
        if (stop && pos != stop_pos) {
            next = pos;
            break;
        }
        const char *val = store_iter_value(it, &vlen);
        struct codec_header hd;
        const char *payload;
        size_t plen;
        if (codec_header_decode(val, vlen, &hd, &payload, &plen) != 0)
            continue;
        if (fn(ctx, key, ulen, hd.type, hd.expire_ms) && !stop) {
            stop = 1;
            stop_pos = pos;
        }
    }
    store_iter_free(it);
    return next;
}

int keyspace_random_key(struct db *db, str *out)
{
    if (db->nkeys == 0)
        return -1;
    keyspace_commit();
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX];
    codec_key_prefix(db->dbid, 0, 0, lo);
    codec_key_prefix((uint16_t)(db->dbid + 1), 0, 0, hi);
    store_iter *it = store_iter_new(st, STORE_CF_KEYS, lo, sizeof(lo), hi, sizeof(hi));
    int found = -1;
    for (int tries = 0; tries < 100 && found < 0; tries++) {
        uint64_t r = util_rand64();
        char pos[CODEC_KEY_PREFIX];
        codec_key_prefix(db->dbid, (unsigned)((r >> 32) % 16384), (uint32_t)r, pos);
        store_iter_seek(it, pos, sizeof(pos));
        if (!store_iter_valid(it))
            store_iter_seek_first(it);
        if (!store_iter_valid(it))
            break;
        size_t klen, vlen;
        const char *raw = store_iter_key(it, &klen);
        const char *val = store_iter_value(it, &vlen);
        uint16_t dbid;
        unsigned slot;
        uint32_t h;
        const char *key;
        size_t ulen;
        struct codec_header hd;
        const char *payload;
        size_t plen;
        if (codec_key_decode(raw, klen, &dbid, &slot, &h, &key, &ulen) != 0 ||
            codec_header_decode(val, vlen, &hd, &payload, &plen) != 0)
            continue;
        if (hd.expire_ms >= 0 && keyspace_mstime > hd.expire_ms)
            continue;
        *out = str_new(key, ulen);
        found = 0;
    }
    store_iter_free(it);
    return found;
}
