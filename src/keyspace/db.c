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
#include "ds/hashfn.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "keyspace/db.h"
#include "keyspace/internal.h"
#include "keyspace/settings.h"
#include "keyspace/split.h"
#include "ds/log.h"
#include "storage/codec.h"
#include "storage/committer.h"
#include "storage/elements.h"
#include "storage/store.h"

struct db *ks_dbs;
int ks_ndbs;
store *ks_st;

/* Listeners of the keyspace's events (keyspace_on_*), registered at
 * start-up by the layers above, called in registration order. */
#define LISTENERS_MAX 4
#define LISTENERS(name, ...)                                                                       \
    static void (*name[LISTENERS_MAX])(__VA_ARGS__);                                               \
    static int n_##name
LISTENERS(on_key_changed, struct db *, const str);
LISTENERS(on_key_filled, struct db *, const str);
LISTENERS(on_db_replaced, int, int);
LISTENERS(on_key_expired, struct db *, const str);
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
int keyspace_loading;

void keyspace_set_loading(int on)
{
    keyspace_loading = on;
}

void ks_notify_db_replaced(int emptied, int replaced)
{
    NOTIFY(on_db_replaced, emptied, replaced);
}

void ks_notify_key_expired(struct db *db, const str key)
{
    NOTIFY(on_key_expired, db, key);
}

struct keyspace_stats ks_stats;

static void val_free(void *v)
{
    obj_free(v);
}

/* keys embed their str in the entry; expires entries point at it */
static const dict_type keys_type = {dict_str_hash, dict_str_eq, NULL, val_free, 1};
static const dict_type expires_type = {dict_str_hash, dict_str_eq, NULL, NULL};
static const dict_type dirty_type = {dict_str_hash, dict_str_eq, NULL, NULL, 1};

/* ---- a growable scratch buffer for encoding ------------------------------ */

static char *scratch;
static size_t scratch_cap;

/* Above this, the buffer serves one call and is not kept for the small
 * ones that follow (a huge key's expiry entry must not pin its size). */
#define SCRATCH_KEEP (64 * 1024)

char *ks_scratch(size_t n)
{
    if (n > scratch_cap || (scratch_cap > SCRATCH_KEEP && n <= SCRATCH_KEEP)) {
        scratch_cap = n < 4096 ? 4096 : n;
        free(scratch);
        scratch = heap_malloc(scratch_cap);
    }
    return scratch;
}

/* ---- meta ---------------------------------------------------------------- */

void ks_meta_count_key(char *out, const char *prefix, uint16_t dbid, size_t *len)
{
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    codec_put_u16(out + pl, dbid);
    *len = pl + 2;
}

/* A u64 of the meta CF into *out (def when absent or not 8 bytes long);
 * 0, or -1 when the read failed (start-up must not guess a count). */
static int meta_read_u64(const char *name, size_t nlen, long long def, long long *out)
{
    char *v;
    size_t vlen;
    int rc = store_get(ks_st, STORE_CF_META, name, nlen, &v, &vlen);
    *out = def;
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != 0) {
        log_warning("Reading the storage metadata failed: %s", store_last_error(ks_st));
        return -1;
    }
    if (vlen == 8)
        *out = (long long)codec_get_u64(v);
    free(v);
    return 0;
}

int keyspace_open(store *s, int n)
{
    ks_st = s;
    ks_ndbs = n;
    ks_dbs = heap_calloc((size_t)n, sizeof(*ks_dbs));
    commit_open();
    char *v = NULL;
    size_t vlen = 0;
    int rc = store_get(ks_st, STORE_CF_META, CODEC_META_DBMAP, strlen(CODEC_META_DBMAP), &v, &vlen);
    if (rc < 0) {
        log_warning("Reading the storage metadata failed: %s", store_last_error(ks_st));
        return -1;
    }
    int have_map = rc == 0;
    long long version;
    if (meta_read_u64(CODEC_META_VERSION, strlen(CODEC_META_VERSION), -1, &version) != 0) {
        free(v);
        return -1;
    }
    if (version > CODEC_FORMAT_VERSION) {
        log_warning("The stored data has storage format %lld; this longtail reads up to %d",
                    version, CODEC_FORMAT_VERSION);
        free(v);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct db *db = &ks_dbs[i];
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
        ks_meta_count_key(k, CODEC_META_COUNT_PREFIX, db->dbid, &klen);
        int r = meta_read_u64(k, klen, 0, &db->nkeys);
        ks_meta_count_key(k, CODEC_META_EXPIRES_PREFIX, db->dbid, &klen);
        if (r != 0 || meta_read_u64(k, klen, 0, &db->nexpires) != 0) {
            free(v);
            return -1;
        }
    }
    /* A dbmap shorter than `databases` (databases was raised): the new
     * indexes take ids not used by the map. */
    if (have_map && vlen < (size_t)n * 2) {
        for (int i = (int)(vlen / 2); i < n; i++) {
            uint16_t id = 0;
            for (;;) {
                int used = 0;
                for (int j = 0; j < i; j++)
                    used |= ks_dbs[j].dbid == id;
                if (!used)
                    break;
                id++;
            }
            ks_dbs[i].dbid = id;
        }
    }
    free(v);
    long long split_next;
    if (meta_read_u64(CODEC_META_SPLIT_NEXT, strlen(CODEC_META_SPLIT_NEXT), 1, &split_next) != 0)
        return -1;
    split_open((uint64_t)split_next);
    if (!have_map || vlen != (size_t)n * 2 || version < CODEC_FORMAT_VERSION) {
        char ver[8];
        codec_put_u64(ver, CODEC_FORMAT_VERSION);
        if (commit_meta_now(ver) != 0) {
            log_warning("Can't write the storage metadata: %s", store_last_error(ks_st));
            return -1;
        }
    }
    return 0;
}

void keyspace_close(void)
{
    for (int i = 0; i < ks_ndbs; i++) {
        dict_release(ks_dbs[i].dirty);
        dict_release(ks_dbs[i].committing);
        dict_release(ks_dbs[i].expires);
        dict_release(ks_dbs[i].keys);
    }
    free(ks_dbs);
    ks_dbs = NULL;
    commit_close();
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

struct db *keyspace_db(int index)
{
    return index >= 0 && index < ks_ndbs ? &ks_dbs[index] : NULL;
}

int keyspace_count(void)
{
    return ks_ndbs;
}

struct db *keyspace_db_by_id(uint16_t dbid)
{
    for (int i = 0; i < ks_ndbs; i++)
        if (ks_dbs[i].dbid == dbid)
            return &ks_dbs[i];
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

/* Puts o (with expire) into b as the stored value of keys-CF key k: the
 * header and the payload go straight into the batch (a string's bytes are
 * copied once, from the value itself). -1 when the value has no
 * single-blob form (a hash above 4 GB). */
int db_value_put(store_batch *b, const char *k, size_t kl, obj *o, int64_t expire)
{
    char numbuf[32], head[CODEC_HEADER_MAX];
    size_t plen;
    int must_free;
    const char *p = value_payload(o, numbuf, &plen, &must_free);
    if (!p)
        return -1;
    struct codec_header h = {o->type, o->encoding, 0, expire};
    size_t hl = codec_header_encode(&h, head);
    store_batch_put_parts(b, STORE_CF_KEYS, k, kl, head, hl, p, plen);
    if (must_free)
        hot_free((void *)p);
    return 0;
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

/* ---- read failures ------------------------------------------------------- */

static char read_err[300]; /* the last failed read's message */

const char *keyspace_read_error(void)
{
    return read_err;
}

void keyspace_read_failed(struct known_keys *known, const char *msg, const char *key, size_t klen)
{
    static int64_t last_log_ms;
    snprintf(read_err, sizeof(read_err), "%s", msg);
    known_read_failed(known, read_err);
    ks_stats.read_errors++;
    int64_t now = util_mstime();
    if (now - last_log_ms >= 1000) { /* a failing disk fails every read: one line a second */
        last_log_ms = now;
        char k[160];
        if (key)
            log_warning("Storage read failed (key \"%s\"): %s",
                        util_escape(k, sizeof(k), key, klen), msg);
        else
            log_warning("Storage read failed: %s", msg);
    }
}

/* Fingerprints of the keys whose corruption was logged already: each is
 * logged once (a client retrying would flood the log), counted always. */
#define CORRUPT_LOGGED 256
static uint64_t corrupt_logged[CORRUPT_LOGGED];

void ks_corrupt(struct known_keys *known, struct db *db, const char *key, size_t klen)
{
    char k[160], msg[300];
    util_escape(k, sizeof(k), key, klen);
    snprintf(msg, sizeof(msg), "corrupt stored value of key \"%s\" in db %d", k, db->index);
    snprintf(read_err, sizeof(read_err), "%s", msg);
    known_read_failed(known, msg);
    ks_stats.read_errors++;
    ks_stats.corrupt_values++;
    static const uint8_t seed[16] = "longtail-corrupt";
    uint64_t fp = hashfn_siphash(key, klen, seed) ^ db->dbid;
    uint64_t *slot = &corrupt_logged[fp % CORRUPT_LOGGED];
    if (*slot != fp) {
        *slot = fp;
        log_warning("Storage: the stored value of key \"%s\" in db %d is corrupt: the codec "
                    "refused it; commands on it answer an error",
                    k, db->index);
    }
}

void key_list_add(void *list, int dbindex, str key)
{
    struct key_list *l = list;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->k = heap_realloc(l->k, (size_t)l->cap * sizeof(*l->k));
    }
    l->k[l->n++] = (struct key_at){dbindex, key};
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

int db_install_loaded(struct db *db, const str key, const char *val, size_t vlen,
                      struct known_keys *known)
{
    if (dict_find(db->keys, key) || db_changed_unstored(db, key))
        return 0; /* newer in memory */
    int64_t expire;
    struct codec_split_meta split;
    obj *o = value_decode(val, vlen, &expire, &split);
    if (!o) {
        ks_corrupt(known, db, key, str_len(key));
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
        return db_install_loaded(db, akey, val, vlen, known);
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
    char *k = heap_malloc(klen + CODEC_KEY_PREFIX);
    size_t kl = codec_key_encode(db->dbid, key, klen, k);
    int rc = store_get(ks_st, STORE_CF_KEYS, k, kl, v, vlen);
    free(k);
    return rc;
}

/* Reads a key that is not hot from RocksDB, synchronously, and installs it.
 * Returns 1 with *e its entry, 0 when absent, or -1 when the read failed
 * or the stored bytes are corrupt (recorded: keyspace_read_failed, ks_corrupt).
 * With hdr, a split value is not loaded: its header goes in *hdr and 2 is
 * returned. */
static int db_sync_load_ex(struct db *db, const str key, struct known_keys *known, dict_entry **e,
                           struct key_header *hdr)
{
    char *v = NULL;
    size_t vlen = 0;
    *e = NULL;
    int rc = stored_get(db, key, &v, &vlen);
    ks_stats.sync_loads++;
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc == 0 && hdr) {
        int p = header_parse(v, vlen, hdr);
        if (p == 1) {
            free(v);
            return 2;
        }
        if (p < 0) {
            free(v);
            ks_corrupt(known, db, key, str_len(key));
            return -1;
        }
    }
    if (rc == 0 && elements_assemble(ks_st, db->dbid, &v, &vlen) != 0) {
        free(v);
        rc = STORE_ERR;
    }
    if (rc != 0) {
        keyspace_read_failed(known, store_last_error(ks_st), NULL, 0);
        return -1;
    }
    int64_t expire;
    struct codec_split_meta split;
    obj *o = value_decode(v, vlen, &expire, &split);
    free(v);
    if (!o) {
        ks_corrupt(known, db, key, str_len(key));
        return -1;
    }
    *e = db_install(db, key, o, expire);
    if (split.version)
        split_attach(o, db->dbid, &split);
    return 1;
}

int db_may_exist_on_disk(struct db *db, const str key)
{
    size_t klen = str_len(key);
    char buf[256];
    char *k = klen + CODEC_KEY_PREFIX <= sizeof(buf) ? buf : heap_malloc(klen + CODEC_KEY_PREFIX);
    size_t kl = codec_key_encode(db->dbid, key, klen, k);
    int may = store_key_may_exist(ks_st, STORE_CF_KEYS, k, kl);
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

int64_t db_entry_expire(struct db *db, const str key)
{
    dict_entry *x = dict_find(db->expires, key);
    return x ? x->v.s64 : -1;
}

int db_peek(struct db *db, const str key, int64_t *expire_ms)
{
    *expire_ms = -1;
    if (dict_find(db->keys, key)) {
        *expire_ms = db_entry_expire(db, key);
        return 1;
    }
    if (db_changed_unstored(db, key))
        return 0;
    char *v = NULL;
    size_t vlen = 0;
    int rc = stored_get(db, key, &v, &vlen);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != 0) {
        keyspace_read_failed(NULL, store_last_error(ks_st), NULL, 0);
        return -1;
    }
    struct codec_header h;
    const char *payload;
    size_t plen;
    int ok = codec_header_decode(v, vlen, &h, &payload, &plen) == 0;
    free(v);
    if (!ok) {
        ks_corrupt(NULL, db, key, str_len(key));
        return -1;
    }
    *expire_ms = h.expire_ms;
    return 1;
}

int db_tier_of(struct db *db, const str key)
{
    int64_t when;
    int p = db_peek(db, key, &when);
    if (p < 0)
        return -2;
    if (!p || keyspace_time_passed(when))
        return -1;
    return dict_find(db->keys, key) ? KEY_HOT : KEY_UNKNOWN;
}

/* key changed: e is its entry in db->keys, NULL when it has none any
 * more. The dirty set keeps e, so the checkpoint needs no lookup; a value
 * marked OBJ_F_PENDING is in the set under this very entry already. */
static void db_mark_dirty(struct db *db, const str key, dict_entry *e)
{
    obj *o = e ? e->v.val : NULL;
    if (!o || !(o->flags & OBJ_F_PENDING))
        dict_add_or_find(db->dirty, key, NULL)->v.val = e;
    if (o)
        o->flags |= OBJ_F_DIRTY | OBJ_F_PENDING;
    NOTIFY(on_key_changed, db, key);
    ks_stats.changes++;
}

void db_remove_entry(struct db *db, const str key)
{
    if (dict_delete(db->expires, key) == 0)
        db->nexpires--;
    dict_delete(db->keys, key);
    db->nkeys--;
    db_mark_dirty(db, key, NULL);
}

obj *db_take(struct db *db, const str key, struct known_keys *known)
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
    o->flags &= (uint8_t)~OBJ_F_PENDING; /* it may go under another key */
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

/* db_lookup; *failed is set when the key could not be read (then NULL). */
static obj *lookup(struct db *db, const str key, int flags, struct known_keys *known, int *failed)
{
    dict_entry *e = dict_find(db->keys, key);
    *failed = 0;
    if (!e && !db_changed_unstored(db, key) && !absent_known(known, db, key) &&
        db_sync_load_ex(db, key, known, &e, NULL) < 0) {
        *failed = 1; /* recorded (keyspace_read_failed), never taken for "absent" */
        return NULL;
    }
    obj *o = NULL;
    if (e) {
        int64_t when = db_entry_expire(db, key);
        if (keyspace_time_passed(when) && !(flags & LOOKUP_EVEN_EXPIRED)) {
            if (!(flags & LOOKUP_NOEXPIRE)) {
                db_remove_entry(db, key);
                ks_stats.expired_keys++;
                NOTIFY(on_key_expired, db, key);
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

obj *db_lookup(struct db *db, const str key, int flags, struct known_keys *known)
{
    int failed;
    return lookup(db, key, flags, known, &failed);
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
                   struct known_keys *known)
{
    struct key_header h;
    int cold = 0;
    if (!dict_find(db->keys, key) && !db_changed_unstored(db, key)) {
        const struct known_key *k = known_of(known, db, key);
        dict_entry *e;
        int r;
        if (k && !k->absent) {
            h = k->h;
            cold = 1;
        } else if (!k && (r = db_sync_load_ex(db, key, known, &e, &h)) != 1) {
            if (r < 0)
                return -1; /* recorded in known */
            if (r == 0) {
                lookup_count(flags, 0); /* absent: not read again */
                return 0;
            }
            cold = 1; /* r == 2: its header */
        }
    }
    if (!cold) {
        int failed;
        obj *o = lookup(db, key, flags, known, &failed);
        if (!o)
            return failed ? -1 : 0;
        m->type = o->type;
        m->encoding = o->encoding;
        m->expire_ms = db_entry_expire(db, key);
        m->cold = 0;
        m->split_version = m->count = 0;
        m->val = o;
        return 1;
    }
    if (keyspace_time_passed(h.expire_ms) && !(flags & LOOKUP_EVEN_EXPIRED)) {
        if (!(flags & LOOKUP_NOEXPIRE)) {
            header_delete(db, key, h.expire_ms, h.version);
            ks_stats.expired_keys++;
            NOTIFY(on_key_expired, db, key);
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

int db_exists(struct db *db, const str key, struct known_keys *known)
{
    int failed;
    if (lookup(db, key, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, known, &failed))
        return 1;
    return failed ? -1 : 0;
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
    db_mark_dirty(db, key, e);
    NOTIFY(on_key_filled, db, key);
}

int db_set(struct db *db, const str key, obj *val, int flags, struct known_keys *known)
{
    int failed;
    if (!lookup(db, key, LOOKUP_WRITE | LOOKUP_NOTOUCH, known, &failed)) {
        if (failed) {
            obj_free(val); /* the old value could not be read: nothing changes */
            return -1;
        }
        db_add(db, key, val);
        return 0;
    }
    dict_entry *e = dict_find(db->keys, key);
    obj *old = e->v.val;
    val->lru = old->lru;
    val->flags |= old->flags & OBJ_F_PENDING; /* the same key, still in the dirty set */
    e->v.val = val;
    obj_free(old);
    if (!(flags & SETKEY_KEEPTTL) && dict_delete(db->expires, key) == 0)
        db->nexpires--;
    db_mark_dirty(db, key, e);
    NOTIFY(on_key_filled, db, key);
    return 0;
}

int db_delete(struct db *db, const str key, struct known_keys *known)
{
    struct key_meta m;
    int r = db_lookup_meta(db, key, LOOKUP_WRITE | LOOKUP_NOTOUCH, &m, known);
    if (r <= 0)
        return r;
    if (m.cold)
        header_delete(db, key, m.expire_ms, m.split_version);
    else
        db_remove_entry(db, key);
    return 1;
}

void db_modified(struct db *db, const str key)
{
    dict_entry *e = dict_find(db->keys, key);
    db_mark_dirty(db, key, e);
}

int64_t db_get_expire(struct db *db, const str key)
{
    return db_entry_expire(db, key);
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
    db_mark_dirty(db, key, e);
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
    return keyspace_time_passed(db_entry_expire(db, key));
}

void keyspace_on_key_changed(void (*fn)(struct db *db, const str key))
{
    LISTEN(on_key_changed, fn);
}

void keyspace_on_key_expired(void (*fn)(struct db *db, const str key))
{
    LISTEN(on_key_expired, fn);
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

/* ---- demotion ------------------------------------------------------------ */

int db_clean_now(struct db *db, const str key, obj *o)
{
    if (!(o->flags & OBJ_F_DIRTY))
        return 1;
    if (o->flags & (OBJ_F_PENDING | OBJ_F_UNSTORED))
        return 0;
    if (dict_size(db->committing) && dict_find(db->committing, key))
        return 0; /* its checkpoint is still being written */
    o->flags &= (uint8_t)~OBJ_F_DIRTY;
    return 1;
}

int db_demote(struct db *db, const str key)
{
    dict_entry *e = dict_find(db->keys, key);
    if (!e || !db_clean_now(db, key, e->v.val))
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
    for (int i = 0; i < ks_ndbs; i++) {
        struct db *db = &ks_dbs[i];
        if (!dict_size(db->keys))
            continue;
        dict_iter it;
        dict_iter_init(&it, db->keys);
        dict_entry *e;
        while ((e = dict_iter_next(&it))) {
            obj *o = e->v.val;
            str k = dict_key(db->keys, e);
            if (!db_clean_now(db, k, o))
                continue;
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
