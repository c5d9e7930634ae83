/*
 * split.c: committing and loading split collections (split.h).
 *
 * Invariants:
 * - st->version names the elements RocksDB holds for the value; it changes
 *   only after the batch that wrote the new version succeeded
 *   (split_commit_succeeded). The changes recorded for a value are cleared
 *   when they go in a batch; if that batch fails, the value is written
 *   whole by the next one (split_commit_failed).
 * - A whole rewrite removes the previous version in the same batch; a freed
 *   value's version is queued and removed by the next successful commit.
 * - Versions come from one counter kept in meta, written in every batch
 *   that allocates one, so a version is never reused, even after a crash.
 */
#include "keyspace/split.h"

#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/str.h"
#include "ds/log.h"
#include "keyspace/settings.h"
#include "storage/codec.h"

struct split_stats split_stats;

static uint64_t next_version = 1;
static int next_version_dirty;

/* Old versions to remove: (dbid, version) pairs. */
static struct garbage {
    uint16_t dbid;
    uint64_t version;
} * garbage;
static size_t ngarbage, garbage_cap, garbage_written;

/* Values written by the commit being built or in flight, whose state
 * changes when it ends (split_commit_succeeded/failed). */
static obj **inflight;
static size_t ninflight, inflight_cap;

static void inflight_add(obj *o)
{
    for (size_t i = 0; i < ninflight; i++)
        if (inflight[i] == o)
            return;
    if (ninflight == inflight_cap) {
        inflight_cap = inflight_cap ? inflight_cap * 2 : 16;
        inflight = heap_realloc(inflight, inflight_cap * sizeof(*inflight));
    }
    inflight[ninflight++] = o;
}

static void inflight_remove(obj *o)
{
    for (size_t i = 0; i < ninflight; i++) {
        if (inflight[i] == o) {
            inflight[i] = inflight[--ninflight];
            return;
        }
    }
}

static const dict_type changed_type = {dict_str_hash, dict_str_eq, NULL, NULL, 1};

/* ---- the side table: obj -> its split_state ------------------------------ */

static uint64_t state_key_hash(const void *key)
{
    /* objs are 16-byte aligned: mix the pointer's bits so buckets spread */
    uint64_t x = (uint64_t)(uintptr_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static int state_key_eq(const void *a, const void *b)
{
    return a == b;
}

static const dict_type states_type = {state_key_hash, state_key_eq, NULL, NULL};
static dict *states; /* obj * -> struct split_state *, for objs with OBJ_F_SPLIT */

struct split_state *split_state_of(const obj *o)
{
    if (!(o->flags & OBJ_F_SPLIT))
        return NULL;
    dict_entry *e = dict_find(states, o);
    return e->v.val;
}

/* Gives o the state st, or takes its state away (st NULL; not freed). */
static void state_set(obj *o, struct split_state *st)
{
    if (st) {
        int existed;
        if (!states)
            states = dict_create(&states_type);
        dict_add_or_find(states, o, &existed)->v.val = st;
        o->flags |= OBJ_F_SPLIT;
    } else if (o->flags & OBJ_F_SPLIT) {
        dict_delete(states, o);
        o->flags &= (uint8_t)~OBJ_F_SPLIT;
    }
}

void split_open(uint64_t next)
{
    next_version = next ? next : 1;
    next_version_dirty = 0;
    ngarbage = garbage_written = 0;
}

void split_touch_slow(obj *o, const void *sub, size_t len)
{
    struct split_state *st = split_state_of(o);
    if (!st->changed)
        st->changed = dict_create(&changed_type);
    union {
        struct str_hdr h;
        char bytes[128];
    } buf;
    str k = str_in_buffer(&buf, sizeof(buf), sub, len);
    str heap = k ? NULL : (k = str_new(sub, len));
    dict_add_or_find(st->changed, k, NULL); /* the dict copies it */
    str_free(heap);
}

static void state_free(struct split_state *st)
{
    if (st->changed)
        dict_release(st->changed);
    free(st);
}

static void garbage_add(uint16_t dbid, uint64_t version)
{
    if (ngarbage == garbage_cap) {
        garbage_cap = garbage_cap ? garbage_cap * 2 : 16;
        garbage = heap_realloc(garbage, garbage_cap * sizeof(*garbage));
    }
    garbage[ngarbage].dbid = dbid;
    garbage[ngarbage].version = version;
    ngarbage++;
}

void split_release(obj *o)
{
    struct split_state *st = split_state_of(o);
    if (!st)
        return;
    inflight_remove(o);
    if (st->version)
        garbage_add(st->dbid, st->version);
    if (st->next) /* being written by the commit in flight */
        garbage_add(st->next_dbid, st->next);
    state_free(st);
    state_set(o, NULL);
}

void split_release_stored(uint16_t dbid, uint64_t version)
{
    if (version)
        garbage_add(dbid, version);
}

void split_forget(obj *o)
{
    struct split_state *st = split_state_of(o);
    if (st) {
        state_free(st);
        state_set(o, NULL);
    }
}

/* ---- lists: ranges of absolute indexes --------------------------------- */

#define LIST_BASE ((int64_t)1 << 62) /* element 0's index after a whole write */

static void list_mark(struct split_state *st, int64_t lo, int64_t hi)
{
    if (st->rewrite || lo >= hi)
        return;
    /* merge with every range it touches, then keep it */
    for (int i = 0; i < st->nranges;) {
        if (st->ranges[i][0] <= hi && lo <= st->ranges[i][1]) {
            if (st->ranges[i][0] < lo)
                lo = st->ranges[i][0];
            if (st->ranges[i][1] > hi)
                hi = st->ranges[i][1];
            st->ranges[i][0] = st->ranges[st->nranges - 1][0];
            st->ranges[i][1] = st->ranges[st->nranges - 1][1];
            st->nranges--;
        } else {
            i++;
        }
    }
    if (st->nranges == SPLIT_LIST_RANGES) {
        st->rewrite = 1; /* scattered changes: writing it whole is simpler */
        return;
    }
    st->ranges[st->nranges][0] = lo;
    st->ranges[st->nranges][1] = hi;
    st->nranges++;
}

void split_list_pushed_slow(obj *o, int where)
{
    struct split_state *st = split_state_of(o);
    if (where == LIST_HEAD) {
        st->head--;
        list_mark(st, st->head, st->head + 1);
    } else {
        int64_t p = st->head + (int64_t)list_len(o) - 1;
        list_mark(st, p, p + 1);
    }
}

void split_list_removed_slow(obj *o, size_t start, size_t n)
{
    struct split_state *st = split_state_of(o);
    size_t len = list_len(o);
    if (start == 0) {
        list_mark(st, st->head, st->head + (int64_t)n);
        st->head += (int64_t)n;
    } else if (start + n == len) {
        list_mark(st, st->head + (int64_t)start, st->head + (int64_t)(start + n));
    } else {
        st->rewrite = 1;
    }
}

void split_list_set_slow(obj *o, size_t index)
{
    struct split_state *st = split_state_of(o);
    list_mark(st, st->head + (int64_t)index, st->head + (int64_t)index + 1);
}

/* ---- per type ------------------------------------------------------------ */

/* Only the big encodings are split: the compact ones are one small blob. */
static int split_encodable(const obj *o)
{
    switch (o->type) {
    case OBJ_HASH:
    case OBJ_SET:
        return o->encoding == OBJ_ENC_HT;
    case OBJ_ZSET:
        return o->encoding == OBJ_ENC_SKIPLIST;
    case OBJ_LIST:
        return 1;
    }
    return 0;
}

static size_t coll_len(obj *o)
{
    switch (o->type) {
    case OBJ_HASH:
        return hash_len(o);
    case OBJ_SET:
        return set_len(o);
    case OBJ_LIST:
        return list_len(o);
    case OBJ_ZSET:
        return zset_len(o);
    }
    return 0;
}

/* Puts element sub of a version with data, or deletes it (data NULL). */
static void write_elem(store_batch *b, uint16_t dbid, uint64_t version, const void *sub,
                       size_t slen, const void *data, size_t dlen)
{
    char kbuf[256];
    char *k =
        slen + CODEC_ELEM_PREFIX <= sizeof(kbuf) ? kbuf : heap_malloc(slen + CODEC_ELEM_PREFIX);
    size_t kl = codec_elem_key_encode(dbid, version, sub, slen, k);
    if (data)
        store_batch_put(b, STORE_CF_ELEMENTS, k, kl, data, dlen);
    else
        store_batch_delete(b, STORE_CF_ELEMENTS, k, kl);
    if (k != kbuf)
        free(k);
    split_stats.element_writes++;
}

/* A score as 8 bytes: the IEEE double's bits, big-endian (exact). */
static void score_put(char out[8], double score)
{
    uint64_t bits;
    memcpy(&bits, &score, 8);
    codec_put_u64(out, bits);
}

static double score_get(const char *p)
{
    uint64_t bits = codec_get_u64(p);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* Writes list elements [from, to) (list positions) at head + position. */
static void put_list_run(store_batch *b, uint16_t dbid, uint64_t version, obj *o, int64_t head,
                         size_t from, size_t to)
{
    struct list_iter it;
    const char *v;
    size_t vl;
    char sub[8];
    list_iter_init(&it, o, (long)from, LIST_TAIL);
    for (size_t i = from; i < to && list_iter_next(&it, &v, &vl); i++) {
        codec_put_u64(sub, (uint64_t)(head + (int64_t)i));
        write_elem(b, dbid, version, sub, 8, v, vl);
    }
}

/* Removes the stored elements at absolute indexes [lo, hi), if any. */
static void delete_list_range(store_batch *b, uint16_t dbid, uint64_t version, int64_t lo,
                              int64_t hi)
{
    if (lo >= hi)
        return;
    char klo[CODEC_ELEM_PREFIX + 8], khi[CODEC_ELEM_PREFIX + 8], sub[8];
    codec_put_u64(sub, (uint64_t)lo);
    codec_elem_key_encode(dbid, version, sub, 8, klo);
    codec_put_u64(sub, (uint64_t)hi);
    codec_elem_key_encode(dbid, version, sub, 8, khi);
    store_batch_delete_range(b, STORE_CF_ELEMENTS, klo, sizeof(klo), khi, sizeof(khi));
    split_stats.element_writes++;
}

static void write_all(store_batch *b, uint16_t dbid, uint64_t version, obj *o)
{
    if (o->type == OBJ_HASH) {
        struct hash_iter it;
        const char *f, *v;
        size_t fl, vl;
        hash_iter_init(&it, o);
        while (hash_iter_next(&it, &f, &fl, &v, &vl))
            write_elem(b, dbid, version, f, fl, v, vl);
        hash_iter_done(&it);
    } else if (o->type == OBJ_SET) {
        struct set_iter it;
        const char *m;
        size_t ml;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &m, &ml))
            write_elem(b, dbid, version, m, ml, "", 0);
        set_iter_done(&it);
    } else if (o->type == OBJ_ZSET) {
        struct zset_iter it;
        const char *m;
        size_t ml;
        double score;
        char sc[8];
        zset_iter_init(&it, o, 0);
        while (zset_iter_next(&it, &m, &ml, &score)) {
            score_put(sc, score);
            write_elem(b, dbid, version, m, ml, sc, 8);
        }
    } else if (o->type == OBJ_LIST) {
        split_state_of(o)->head = LIST_BASE;
        put_list_run(b, dbid, version, o, LIST_BASE, 0, list_len(o));
    }
}

static void write_changed(store_batch *b, uint16_t dbid, uint64_t version, obj *o,
                          struct split_state *st)
{
    if (o->type == OBJ_LIST) {
        /* each range: what is in the list now is written over the stored
         * element, what is outside it (popped, trimmed) is removed */
        int64_t first = st->head, end = st->head + (int64_t)list_len(o);
        for (int i = 0; i < st->nranges; i++) {
            int64_t lo = st->ranges[i][0], hi = st->ranges[i][1];
            int64_t from = lo > first ? lo : first, to = hi < end ? hi : end;
            if (from < to) {
                put_list_run(b, dbid, version, o, st->head, (size_t)(from - first),
                             (size_t)(to - first));
                delete_list_range(b, dbid, version, lo, from);
                delete_list_range(b, dbid, version, to, hi);
            } else {
                delete_list_range(b, dbid, version, lo, hi);
            }
        }
        return;
    }
    if (!st->changed)
        return;
    dict_iter it;
    dict_iter_init(&it, st->changed);
    dict_entry *e;
    while ((e = dict_iter_next(&it))) {
        str sub = dict_key(st->changed, e);
        size_t sl = str_len(sub), vl = 0;
        const char *v = NULL;
        char buf[OBJ_HASH_BUF];
        double score;
        if (o->type == OBJ_HASH) {
            v = hash_get(o, sub, sl, &vl, buf);
        } else if (o->type == OBJ_SET) {
            v = set_contains(o, sub, sl) ? "" : NULL;
        } else if (o->type == OBJ_ZSET && zset_score(o, sub, sl, &score)) {
            score_put(buf, score);
            v = buf;
            vl = 8;
        }
        write_elem(b, dbid, version, sub, sl, v, vl);
    }
    dict_iter_done(&it);
}

static void delete_version(store_batch *b, uint16_t dbid, uint64_t version)
{
    char lo[CODEC_ELEM_PREFIX], hi[CODEC_ELEM_PREFIX];
    codec_elem_prefix(dbid, version, lo);
    codec_elem_prefix(dbid, version + 1, hi);
    store_batch_delete_range(b, STORE_CF_ELEMENTS, lo, sizeof(lo), hi, sizeof(hi));
    split_stats.garbage_ranges++;
}

/* ---- commit -------------------------------------------------------------- */

/* The changes recorded so far are in the batch: later ones start afresh. */
static void changes_written(struct split_state *st)
{
    if (st->changed)
        dict_clear(st->changed);
    st->nranges = 0;
    st->rewrite = 0;
}

int split_commit_value(store_batch *b, uint16_t dbid, const char *k, size_t kl, obj *o,
                       int64_t expire)
{
    if (!obj_is_collection(o))
        return 0;
    struct split_state *st = split_state_of(o);
    size_t n = coll_len(o);
    long long threshold = keyspace_settings.split_threshold;
    uint64_t version;
    if (st) {
        st->next = 0;
        st->drop = 0;
    }
    if (st && st->version && st->dbid == dbid && !st->rewrite) {
        /* stored split here already: only what changed */
        version = st->version;
        write_changed(b, dbid, version, o, st);
        changes_written(st);
        inflight_add(o);
    } else if (split_encodable(o) && threshold > 0 && n >= (size_t)threshold) {
        if (!st) {
            st = heap_calloc(1, sizeof(*st));
            state_set(o, st);
        }
        if (st->version)
            delete_version(b, st->dbid, st->version);
        st->next = next_version++;
        st->next_dbid = dbid;
        next_version_dirty = 1;
        version = st->next;
        write_all(b, dbid, version, o);
        split_stats.whole_writes++;
        changes_written(st);
        inflight_add(o);
    } else {
        /* written as one value by the caller; a split copy is removed with
         * it and the state goes once that batch is written */
        if (st) {
            if (st->version)
                delete_version(b, st->dbid, st->version);
            st->drop = 1;
            inflight_add(o);
        }
        return 0;
    }
    char meta[CODEC_HEADER_MAX + CODEC_SPLIT_META];
    struct codec_header h = {o->type, o->encoding, CODEC_F_SPLIT, expire};
    size_t hl = codec_header_encode(&h, meta);
    struct codec_split_meta m = {version, n, o->type == OBJ_LIST ? (uint64_t)st->head : 0};
    codec_split_meta_encode(&m, meta + hl);
    store_batch_put(b, STORE_CF_KEYS, k, kl, meta, hl + CODEC_SPLIT_META);
    return 1;
}

void split_commit_garbage(store_batch *b)
{
    for (size_t i = 0; i < ngarbage; i++)
        delete_version(b, garbage[i].dbid, garbage[i].version);
    garbage_written = ngarbage;
    if (next_version_dirty) {
        char v[8];
        codec_put_u64(v, next_version);
        store_batch_put(b, STORE_CF_META, CODEC_META_SPLIT_NEXT, strlen(CODEC_META_SPLIT_NEXT), v,
                        8);
    }
}

static void split_garbage_committed(void)
{
    /* entries queued after the batch was built wait for the next one */
    if (garbage_written)
        memmove(garbage, garbage + garbage_written,
                (ngarbage - garbage_written) * sizeof(*garbage));
    ngarbage -= garbage_written;
    garbage_written = 0;
    next_version_dirty = 0;
}

void split_commit_succeeded(void)
{
    for (size_t i = 0; i < ninflight; i++) {
        obj *o = inflight[i];
        struct split_state *st = split_state_of(o);
        if (st->drop) {
            state_free(st);
            state_set(o, NULL);
        } else if (st->next) {
            st->version = st->next;
            st->dbid = st->next_dbid;
            st->next = 0;
        }
    }
    ninflight = 0;
    split_garbage_committed();
}

void split_commit_failed(void)
{
    /* what those values' changes were is gone: each is written whole next */
    for (size_t i = 0; i < ninflight; i++) {
        struct split_state *st = split_state_of(inflight[i]);
        st->next = 0;
        st->drop = 0;
        st->rewrite = 1;
    }
    ninflight = 0;
    garbage_written = 0;
}

/* ---- load ---------------------------------------------------------------- */

obj *split_decode(int type, int encoding, const char *payload, size_t plen,
                  struct codec_split_meta *meta)
{
    if (codec_split_meta_decode(payload, plen, meta) != 0)
        return NULL;
    obj *o;
    if (type == OBJ_HASH && encoding == OBJ_ENC_HT) {
        o = obj_hash_new();
        hash_convert_to_ht(o);
    } else if (type == OBJ_SET && encoding == OBJ_ENC_HT) {
        o = obj_set_new();
        set_convert_to_ht(o);
    } else if (type == OBJ_ZSET && encoding == OBJ_ENC_SKIPLIST) {
        o = obj_zset_new(OBJ_ENC_SKIPLIST);
    } else if (type == OBJ_LIST && encoding == OBJ_ENC_QUICKLIST) {
        o = obj_list_new();
    } else {
        return NULL;
    }
    const char *p = payload + CODEC_SPLIT_META, *end = payload + plen;
    const char *sub, *data;
    size_t slen, dlen;
    int rc;
    int64_t expect = (int64_t)meta->aux;
    while ((rc = codec_elem_next(&p, end, &sub, &slen, &data, &dlen)) == 1) {
        if (type == OBJ_HASH) {
            hash_set(o, sub, slen, data, dlen);
        } else if (type == OBJ_SET) {
            set_add(o, sub, slen);
        } else if (type == OBJ_ZSET) {
            int out;
            if (dlen != 8 || zset_add(o, score_get(data), sub, slen, 0, &out, NULL) != 0)
                break; /* NaN: corrupt */
        } else {
            /* a list's indexes run without a gap from head */
            if (slen != 8 || (int64_t)codec_get_u64(sub) != expect++)
                break;
            list_push(o, data, dlen, LIST_TAIL);
        }
    }
    if (rc != 0 || coll_len(o) == 0) {
        obj_free(o);
        return NULL;
    }
    return o;
}

void split_attach(obj *o, uint16_t dbid, const struct codec_split_meta *meta)
{
    struct split_state *st = heap_calloc(1, sizeof(*st));
    st->version = meta->version;
    st->dbid = dbid;
    st->head = (int64_t)meta->aux;
    state_set(o, st);
}
