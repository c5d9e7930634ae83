/*
 * object_hash.c: hash values (OBJ_HASH) and their two encodings.
 *
 * A small hash is a listpack of field, value, field, value... (LISTPACK);
 * it becomes a dict of hot str -> hot str (HT) when it gets more than
 * hash-max-listpack-entries fields or a field or value longer than
 * hash-max-listpack-value bytes, as in Redis 7.0. An HT hash never goes
 * back to a listpack while it is in memory.
 *
 * Invariants: a LISTPACK hash has an even number of entries and unique
 * fields; the stored form of either encoding is one listpack of the pairs
 * (hash_blob), and loading keeps the encoding the value had when written,
 * so OBJECT ENCODING answers the same hot and cold.
 */
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "keyspace/object.h"
#include "keyspace/split.h"
#include "keyspace/settings.h"

static const dict_type hash_dict_type = {dict_str_hash, dict_str_eq, dict_str_hot_free,
                                         dict_str_hot_free};

obj *obj_hash_new(void)
{
    return obj_new_collection(OBJ_HASH, OBJ_ENC_LISTPACK, lp_new());
}

size_t hash_len(const obj *o)
{
    if (o->encoding == OBJ_ENC_LISTPACK)
        return lp_length(o->u.ptr) / 2;
    return dict_size(o->u.ptr);
}

/* dict lookups need a str: a heap copy of the field (fields are short). */
static dict_entry *ht_find(obj *o, const void *f, size_t flen)
{
    str k = str_new(f, flen);
    dict_entry *e = dict_find(o->u.ptr, k);
    str_free(k);
    return e;
}

static unsigned char *lp_find_field(obj *o, const void *f, size_t flen)
{
    unsigned char *p = lp_first(o->u.ptr);
    return p ? lp_find(o->u.ptr, p, f, flen, 1) : NULL;
}

const char *hash_get(obj *o, const void *f, size_t flen, size_t *vlen, char *buf)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *p = lp_find_field(o, f, flen);
        if (!p)
            return NULL;
        p = lp_next(o->u.ptr, p);
        return (const char *)lp_get_str(p, vlen, buf);
    }
    dict_entry *e = ht_find(o, f, flen);
    if (!e)
        return NULL;
    *vlen = str_len(e->v.val);
    return e->v.val;
}

void hash_convert_to_ht(obj *o)
{
    if (o->encoding != OBJ_ENC_LISTPACK)
        return;
    unsigned char *lp = o->u.ptr;
    dict *d = dict_create(&hash_dict_type);
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
        size_t fl, vl;
        const unsigned char *f = lp_get_str(p, &fl, fb);
        const unsigned char *v = lp_get_str(lp_next(lp, p), &vl, vb);
        dict_add(d, str_hot_new(f, fl), str_hot_new(v, vl));
    }
    lp_free(lp);
    o->u.ptr = d;
    o->encoding = OBJ_ENC_HT;
}

void hash_try_convert(obj *o, size_t len)
{
    if (o->encoding == OBJ_ENC_LISTPACK && len > (size_t)keyspace_settings.hash_max_listpack_value)
        hash_convert_to_ht(o);
}

int hash_set(obj *o, const void *f, size_t flen, const void *v, size_t vlen)
{
    hash_try_convert(o, flen);
    hash_try_convert(o, vlen);
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *lp = o->u.ptr;
        unsigned char *p = lp_find_field(o, f, flen);
        if (p) {
            p = lp_next(lp, p);
            unsigned char *nlp = lp_replace(lp, &p, v, vlen);
            if (nlp) {
                o->u.ptr = nlp;
                return 0;
            }
        } else {
            unsigned char *nlp = lp_append(lp, f, flen);
            if (nlp) {
                unsigned char *n2 = lp_append(nlp, v, vlen);
                if (n2) {
                    o->u.ptr = n2;
                    if (hash_len(o) > (size_t)keyspace_settings.hash_max_listpack_entries)
                        hash_convert_to_ht(o);
                    return 1;
                }
                /* take the lone field back out before converting */
                o->u.ptr = lp_delete_range(nlp, -1, 1);
            }
        }
        /* the listpack would pass 4 GB: a dict has no such limit */
        hash_convert_to_ht(o);
    }
    str k = str_hot_new(f, flen);
    int existed;
    dict_entry *e = dict_add_or_find(o->u.ptr, k, &existed);
    if (existed) {
        str_hot_free(k);
        str_hot_free(e->v.val);
    }
    e->v.val = str_hot_new(v, vlen);
    split_touch(o, f, flen);
    return !existed;
}

int hash_delete(obj *o, const void *f, size_t flen)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *p = lp_find_field(o, f, flen);
        if (!p)
            return 0;
        o->u.ptr = lp_delete_range_at(o->u.ptr, &p, 2);
        return 1;
    }
    str k = str_new(f, flen);
    int found = dict_find(o->u.ptr, k) != NULL;
    /* noted before the delete: f may be the field's own bytes */
    if (found) {
        split_touch(o, f, flen);
        dict_delete(o->u.ptr, k);
    }
    str_free(k);
    return found;
}

void hash_iter_init(struct hash_iter *it, obj *o)
{
    it->o = o;
    if (o->encoding == OBJ_ENC_LISTPACK)
        it->p = lp_first(o->u.ptr);
    else
        dict_iter_init(&it->di, o->u.ptr);
}

int hash_iter_next(struct hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    if (it->o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *lp = it->o->u.ptr;
        if (!it->p)
            return 0;
        unsigned char *vp = lp_next(lp, it->p);
        *f = (const char *)lp_get_str(it->p, flen, it->fbuf);
        *v = (const char *)lp_get_str(vp, vlen, it->vbuf);
        it->p = lp_next(lp, vp);
        return 1;
    }
    dict_entry *e = dict_iter_next(&it->di);
    if (!e)
        return 0;
    *f = e->key;
    *flen = str_len(e->key);
    *v = e->v.val;
    *vlen = str_len(e->v.val);
    return 1;
}

void hash_iter_done(struct hash_iter *it)
{
    if (it->o->encoding != OBJ_ENC_LISTPACK)
        dict_iter_done(&it->di);
}

const unsigned char *hash_blob(obj *o, size_t *len, int *must_free)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        *must_free = 0;
        *len = lp_bytes(o->u.ptr);
        return o->u.ptr;
    }
    unsigned char *lp = lp_new();
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    hash_iter_init(&it, o);
    while (lp && hash_iter_next(&it, &f, &fl, &v, &vl)) {
        lp = lp_append(lp, f, fl);
        if (lp)
            lp = lp_append(lp, v, vl);
    }
    hash_iter_done(&it);
    /* a hash past 4 GB does not fit one blob: the split encoding's case */
    if (!lp)
        return NULL;
    *must_free = 1;
    *len = lp_bytes(lp);
    return lp;
}

obj *hash_from_blob(const void *buf, size_t len, int encoding)
{
    if (encoding != OBJ_ENC_LISTPACK && encoding != OBJ_ENC_HT)
        return NULL;
    if (lp_validate(buf, len, NULL, NULL) != 0)
        return NULL;
    unsigned char *lp = hot_malloc(len);
    memcpy(lp, buf, len);
    if (lp_length(lp) % 2) {
        lp_free(lp);
        return NULL;
    }
    obj *o = obj_new_collection(OBJ_HASH, OBJ_ENC_LISTPACK, lp);
    /* unique fields, checked through a dict (kept for HT) */
    dict *d = dict_create(&hash_dict_type);
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
        size_t fl, vl;
        const unsigned char *f = lp_get_str(p, &fl, fb);
        const unsigned char *v = lp_get_str(lp_next(lp, p), &vl, vb);
        str k = str_hot_new(f, fl);
        if (!dict_add(d, k, encoding == OBJ_ENC_HT ? str_hot_new(v, vl) : NULL)) {
            str_hot_free(k);
            dict_release(d);
            obj_free(o);
            return NULL;
        }
    }
    if (encoding == OBJ_ENC_HT) {
        lp_free(lp);
        o->u.ptr = d;
        o->encoding = OBJ_ENC_HT;
    } else {
        dict_release(d);
    }
    return o;
}
