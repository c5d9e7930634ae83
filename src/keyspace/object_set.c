/*
 * object_set.c: set values (OBJ_SET) and their two encodings.
 *
 * INTSET: a ds/intset of the members' integer values, kept while every
 * member is the canonical decimal form of an int64 (util_str2ll, Redis's
 * string2ll) and there are at most set-max-intset-entries members (capped
 * at 2^30 as Redis does). HT: a dict whose keys are hot strs and whose
 * values are unused. The first non-integer member or the member past the
 * limit turns an INTSET set into HT for good: removals never convert back,
 * exactly as Redis 7.0 (which has no listpack sets).
 *
 * Invariants: an INTSET set's members are integers in ascending order (its
 * iteration order, which replies of Redis show too); an HT set holds unique
 * strs. The stored form is the intset blob (INTSET) or a listpack of the
 * members (HT), and loading keeps the encoding it was written with, so
 * OBJECT ENCODING answers the same hot and cold.
 */
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/intset.h"
#include "ds/listpack.h"
#include "ds/util.h"
#include "keyspace/object.h"
#include "keyspace/split.h"
#include "keyspace/settings.h"

static const dict_type set_dict_type = {dict_str_hash, dict_str_eq, dict_str_hot_free, NULL};

/* A member as a str for dict lookups: short ones are built in the
 * caller's stack block, longer ones on the heap (key_done frees them). */
#define KEY_STACK 64
struct key_block {
    struct str_hdr h;
    char b[KEY_STACK + 1];
};

static str key_make(struct key_block *kb, const void *m, size_t len)
{
    if (len > KEY_STACK)
        return str_new(m, len);
    kb->h.len = (uint32_t)len;
    kb->h.cap = (uint32_t)len;
    if (len)
        memcpy(kb->b, m, len);
    kb->b[len] = 0;
    return kb->b;
}

static void key_done(struct key_block *kb, str k)
{
    if (k != kb->b)
        str_free(k);
}

static int member_ll(const void *m, size_t len, long long *v)
{
    return len <= 20 && util_str2ll(m, len, v);
}

static size_t intset_limit(void)
{
    long long max = keyspace_settings.set_max_intset_entries;
    if (max > (1ll << 30))
        max = 1ll << 30;
    return (size_t)max;
}

static obj *set_alloc(int encoding)
{
    return obj_new_collection(OBJ_SET, encoding,
                              encoding == OBJ_ENC_INTSET ? (void *)intset_new()
                                                         : (void *)dict_create(&set_dict_type));
}

obj *obj_set_new(void)
{
    return set_alloc(OBJ_ENC_INTSET);
}

obj *obj_set_new_for(const void *m, size_t len)
{
    long long v;
    return set_alloc(member_ll(m, len, &v) ? OBJ_ENC_INTSET : OBJ_ENC_HT);
}

size_t set_len(const obj *o)
{
    if (o->encoding == OBJ_ENC_INTSET)
        return intset_length(o->u.ptr);
    return dict_size(o->u.ptr);
}

int set_contains(obj *o, const void *m, size_t len)
{
    if (o->encoding == OBJ_ENC_INTSET) {
        long long v;
        return member_ll(m, len, &v) && intset_find(o->u.ptr, v);
    }
    struct key_block kb;
    str k = key_make(&kb, m, len);
    int found = dict_find(o->u.ptr, k) != NULL;
    key_done(&kb, k);
    return found;
}

void set_convert_to_ht(obj *o)
{
    if (o->encoding != OBJ_ENC_INTSET)
        return;
    unsigned char *is = o->u.ptr;
    dict *d = dict_create(&set_dict_type);
    size_t n = intset_length(is);
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        char buf[OBJ_SET_BUF];
        intset_get(is, i, &v);
        int l = util_ll2str(buf, sizeof(buf), v);
        dict_add(d, str_hot_new(buf, (size_t)l), NULL);
    }
    intset_free(is);
    o->u.ptr = d;
    o->encoding = OBJ_ENC_HT;
}

int set_add(obj *o, const void *m, size_t len)
{
    if (o->encoding == OBJ_ENC_INTSET) {
        long long v;
        if (member_ll(m, len, &v)) {
            int added;
            o->u.ptr = intset_add(o->u.ptr, v, &added);
            if (!added)
                return 0;
            if (intset_length(o->u.ptr) > intset_limit())
                set_convert_to_ht(o);
            split_touch(o, m, len);
            return 1;
        }
        /* not an integer, hence not a member yet */
        set_convert_to_ht(o);
    }
    str k = str_hot_new(m, len);
    if (!dict_add(o->u.ptr, k, NULL)) {
        str_hot_free(k);
        return 0;
    }
    split_touch(o, m, len);
    return 1;
}

int set_remove(obj *o, const void *m, size_t len)
{
    if (o->encoding == OBJ_ENC_INTSET) {
        long long v;
        if (!member_ll(m, len, &v))
            return 0;
        int removed;
        o->u.ptr = intset_remove(o->u.ptr, v, &removed);
        if (removed)
            split_touch(o, m, len);
        return removed;
    }
    struct key_block kb;
    str k = key_make(&kb, m, len);
    int found = dict_find(o->u.ptr, k) != NULL;
    /* noted before the delete: m may be the member's own bytes (SPOP) */
    if (found) {
        split_touch(o, m, len);
        dict_delete(o->u.ptr, k);
    }
    key_done(&kb, k);
    return found;
}

/* dict_random favours members alone in their bucket; as Redis's
 * dictGetFairRandomKey, draw among a sample of whole chains instead. */
#define FAIR_SAMPLE 15

static dict_entry *fair_random_entry(dict *d)
{
    dict_entry *es[FAIR_SAMPLE];
    size_t n = dict_sample(d, es, FAIR_SAMPLE);
    if (n == 0)
        return dict_random(d);
    return es[util_rand64() % n];
}

const char *set_random(obj *o, size_t *len, char buf[OBJ_SET_BUF])
{
    if (o->encoding == OBJ_ENC_INTSET) {
        *len = (size_t)util_ll2str(buf, OBJ_SET_BUF, intset_random(o->u.ptr));
        return buf;
    }
    dict_entry *e = fair_random_entry(o->u.ptr);
    *len = str_len(e->key);
    return e->key;
}

/* Redis draws with a temporary dict when it wants few members of a big set
 * (count * 3 <= size) and copies the set when it wants most of it: the
 * same split here, with an open-addressing table of what was drawn (an
 * intset value or a dict entry's address). */
void set_random_distinct(obj *o, size_t count, set_member_fn *fn, void *ctx)
{
    size_t size = set_len(o);
    const char *m;
    size_t ml;
    if (count * 3 > size) {
        struct set_iter it;
        size_t left = size, need = count;
        set_iter_init(&it, o);
        while (need && set_iter_next(&it, &m, &ml)) {
            if (util_rand64() % left < need) {
                fn(ctx, m, ml);
                need--;
            }
            left--;
        }
        set_iter_done(&it);
        return;
    }
    size_t cap = 16;
    while (cap < count * 2)
        cap <<= 1;
    uint64_t *drawn = heap_malloc(cap * sizeof(*drawn));
    unsigned char *used = heap_calloc(cap, 1);
    char buf[OBJ_SET_BUF];
    for (size_t got = 0; got < count;) {
        uint64_t id;
        if (o->encoding == OBJ_ENC_INTSET) {
            int64_t v = intset_random(o->u.ptr);
            id = (uint64_t)v;
            ml = (size_t)util_ll2str(buf, sizeof(buf), v);
            m = buf;
        } else {
            dict_entry *e = fair_random_entry(o->u.ptr);
            id = (uint64_t)(uintptr_t)e;
            m = e->key;
            ml = str_len(e->key);
        }
        uint64_t x = (id ^ (id >> 30)) * 0xbf58476d1ce4e5b9ull;
        size_t h = (size_t)(x ^ (x >> 31)) & (cap - 1);
        while (used[h] && drawn[h] != id)
            h = (h + 1) & (cap - 1);
        if (used[h])
            continue;
        used[h] = 1;
        drawn[h] = id;
        got++;
        fn(ctx, m, ml);
    }
    free(drawn);
    free(used);
}

void set_iter_init(struct set_iter *it, obj *o)
{
    it->o = o;
    it->i = 0;
    if (o->encoding == OBJ_ENC_HT)
        dict_iter_init(&it->di, o->u.ptr);
}

int set_iter_next(struct set_iter *it, const char **m, size_t *len)
{
    if (it->o->encoding == OBJ_ENC_INTSET) {
        int64_t v;
        if (intset_get(it->o->u.ptr, it->i, &v) != 0)
            return 0;
        it->i++;
        *len = (size_t)util_ll2str(it->buf, sizeof(it->buf), v);
        *m = it->buf;
        return 1;
    }
    dict_entry *e = dict_iter_next(&it->di);
    if (!e)
        return 0;
    *m = e->key;
    *len = str_len(e->key);
    return 1;
}

void set_iter_done(struct set_iter *it)
{
    if (it->o->encoding == OBJ_ENC_HT)
        dict_iter_done(&it->di);
}

struct scan_ctx {
    set_member_fn *fn;
    void *ctx;
};

static void set_scan_cb(void *privdata, dict_entry *e)
{
    struct scan_ctx *s = privdata;
    s->fn(s->ctx, e->key, str_len(e->key));
}

uint64_t set_scan(obj *o, uint64_t cursor, set_member_fn *fn, void *ctx)
{
    struct scan_ctx s = {fn, ctx};
    return dict_scan(o->u.ptr, cursor, set_scan_cb, &s);
}

obj *obj_set_dup(const obj *o)
{
    if (o->encoding == OBJ_ENC_INTSET) {
        obj *n = set_alloc(OBJ_ENC_INTSET);
        size_t len = intset_blob_len(o->u.ptr);
        intset_free(n->u.ptr);
        n->u.ptr = hot_malloc(len);
        memcpy(n->u.ptr, o->u.ptr, len);
        return n;
    }
    obj *n = set_alloc(OBJ_ENC_HT);
    dict_iter it;
    dict_iter_init(&it, o->u.ptr);
    for (dict_entry *e; (e = dict_iter_next(&it));)
        dict_add(n->u.ptr, str_hot_dup(e->key), NULL);
    dict_iter_done(&it);
    return n;
}

void obj_set_free(obj *o)
{
    if (o->encoding == OBJ_ENC_INTSET)
        intset_free(o->u.ptr);
    else
        dict_release(o->u.ptr);
    hot_free(o);
}

size_t obj_set_mem(const obj *o)
{
    size_t n = hot_usable((void *)o);
    if (o->encoding == OBJ_ENC_INTSET)
        return n + hot_usable(o->u.ptr);
    n += dict_mem_usage(o->u.ptr);
    dict_iter it;
    dict_iter_init(&it, o->u.ptr);
    for (dict_entry *e; (e = dict_iter_next(&it));)
        n += str_hot_alloc_size(e->key);
    dict_iter_done(&it);
    return n;
}

const unsigned char *set_blob(obj *o, size_t *len, int *must_free)
{
    if (o->encoding == OBJ_ENC_INTSET) {
        *must_free = 0;
        *len = intset_blob_len(o->u.ptr);
        return o->u.ptr;
    }
    unsigned char *lp = lp_new();
    dict_iter it;
    dict_iter_init(&it, o->u.ptr);
    for (dict_entry *e; lp && (e = dict_iter_next(&it));)
        lp = lp_append(lp, e->key, str_len(e->key));
    dict_iter_done(&it);
    /* a set past 4 GB does not fit one blob: the split encoding's case */
    if (!lp)
        return NULL;
    *must_free = 1;
    *len = lp_bytes(lp);
    return lp;
}

static obj *set_from_intset_blob(const void *buf, size_t len)
{
    if (intset_validate(buf, len, 1) != 0)
        return NULL;
    obj *o = set_alloc(OBJ_ENC_INTSET);
    intset_free(o->u.ptr);
    o->u.ptr = hot_malloc(len);
    memcpy(o->u.ptr, buf, len);
    return o;
}

static obj *set_from_members_blob(const void *buf, size_t len)
{
    if (lp_validate(buf, len, NULL, NULL) != 0)
        return NULL;
    /* only walked, never changed or kept: no copy */
    unsigned char *lp = (unsigned char *)buf;
    obj *o = set_alloc(OBJ_ENC_HT);
    char ib[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        size_t ml;
        const unsigned char *m = lp_get_str(p, &ml, ib);
        str k = str_hot_new(m, ml);
        if (!dict_add(o->u.ptr, k, NULL)) {
            str_hot_free(k);
            obj_set_free(o);
            return NULL;
        }
    }
    if (set_len(o) == 0) {
        obj_set_free(o);
        return NULL;
    }
    return o;
}

obj *set_from_blob(const void *buf, size_t len, int encoding)
{
    if (encoding == OBJ_ENC_INTSET)
        return set_from_intset_blob(buf, len);
    if (encoding == OBJ_ENC_HT)
        return set_from_members_blob(buf, len);
    return NULL;
}
