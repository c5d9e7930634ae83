/*
 * object.c: values and their encodings.
 *
 * Strings follow Redis's choice of encoding so that OBJECT ENCODING answers
 * the same: a canonical integer of at most 20 characters is INT, other
 * values of at most 44 bytes are EMBSTR (bytes in the object's own
 * allocation), longer ones RAW. APPEND and SETRANGE always leave RAW.
 */
#include <stdio.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "ds/util.h"
#include "keyspace/object.h"
#include "keyspace/split.h"

static obj *obj_alloc(size_t extra)
{
    obj *o = hot_malloc(sizeof(obj) + extra);
    o->flags = 0;
    o->unused = 0;
    o->lru = 0;
    return o;
}

obj *obj_new_collection(int type, int encoding, void *ptr)
{
    obj *o = obj_alloc(0);
    o->type = (uint8_t)type;
    o->encoding = (uint8_t)encoding;
    o->u.ptr = ptr;
    return o;
}

obj *obj_string_from_ll(long long v)
{
    obj *o = obj_alloc(0);
    o->type = OBJ_STRING;
    o->encoding = OBJ_ENC_INT;
    o->u.i = v;
    return o;
}

/* EMBSTR layout: the 8-byte header, a u32 length at offset 8, then the
 * bytes and a NUL, in one allocation of at least sizeof(obj) (so that
 * obj_string_make_raw can turn it into a RAW string in place). 12 bytes of
 * overhead, as close to Redis's 19 as a u32 length allows.
 * RAW layout: u.s is a hot str whose capacity may exceed its length
 * (APPEND and SETRANGE grow it geometrically). */
#define EMB_HDR 12

static uint32_t emb_len(const obj *o)
{
    uint32_t len;
    memcpy(&len, (const char *)o + 8, sizeof(len));
    return len;
}

static char *emb_data(const obj *o)
{
    return (char *)o + EMB_HDR;
}

static obj *obj_string_embstr(const void *ptr, size_t len)
{
    size_t size = EMB_HDR + len + 1;
    obj *o = obj_alloc((size < sizeof(obj) ? sizeof(obj) : size) - sizeof(obj));
    o->type = OBJ_STRING;
    o->encoding = OBJ_ENC_EMBSTR;
    uint32_t l = (uint32_t)len;
    memcpy((char *)o + 8, &l, sizeof(l));
    if (len)
        memcpy(emb_data(o), ptr, len);
    emb_data(o)[len] = 0;
    return o;
}

obj *obj_string_raw(const void *ptr, size_t len)
{
    obj *o = obj_alloc(0);
    o->type = OBJ_STRING;
    o->encoding = OBJ_ENC_RAW;
    o->u.s = str_hot_new(ptr, len); /* zeroed when ptr is NULL */
    return o;
}

obj *obj_string_new(const void *ptr, size_t len)
{
    long long v;
    if (len <= 20 && util_str2ll(ptr, len, &v))
        return obj_string_from_ll(v);
    if (len <= OBJ_EMBSTR_MAX)
        return obj_string_embstr(ptr, len);
    return obj_string_raw(ptr, len);
}

obj *obj_string_with_encoding(const void *ptr, size_t len, int encoding)
{
    long long v;
    switch (encoding) {
    case OBJ_ENC_INT:
        if (len <= 20 && util_str2ll(ptr, len, &v))
            return obj_string_from_ll(v);
        break;
    case OBJ_ENC_EMBSTR:
        /* EMBSTR when short enough, else RAW: never INT */
        if (len <= OBJ_EMBSTR_MAX)
            return obj_string_embstr(ptr, len);
        return obj_string_raw(ptr, len);
    case OBJ_ENC_RAW:
        return obj_string_raw(ptr, len);
    }
    return obj_string_new(ptr, len);
}

void obj_free(obj *o)
{
    if (!o)
        return;
    if (obj_is_collection(o))
        split_release(o); /* its stored elements, if any, are garbage now */
    if (o->type == OBJ_SET) {
        obj_set_free(o);
        return;
    }
    if (o->type == OBJ_STRING && o->encoding == OBJ_ENC_RAW)
        str_hot_free(o->u.s);
    else if (o->type == OBJ_HASH && o->encoding == OBJ_ENC_LISTPACK)
        lp_free(o->u.ptr);
    else if (o->type == OBJ_HASH)
        dict_release(o->u.ptr);
    else if (o->type == OBJ_LIST)
        list_free(o);
    else if (o->type == OBJ_ZSET)
        zset_free_value(o);
    hot_free(o);
}

static obj *obj_hash_dup(const obj *o)
{
    obj *n = obj_hash_new();
    if (o->encoding == OBJ_ENC_LISTPACK) {
        size_t len = lp_bytes(o->u.ptr);
        lp_free(n->u.ptr);
        n->u.ptr = hot_malloc(len);
        memcpy(n->u.ptr, o->u.ptr, len);
        return n;
    }
    hash_convert_to_ht(n);
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    hash_iter_init(&it, (obj *)o);
    while (hash_iter_next(&it, &f, &fl, &v, &vl))
        hash_set(n, f, fl, v, vl);
    hash_iter_done(&it);
    return n;
}

obj *obj_dup(const obj *o)
{
    if (o->type == OBJ_HASH)
        return obj_hash_dup(o);
    if (o->type == OBJ_SET)
        return obj_set_dup(o);
    if (o->type == OBJ_LIST)
        return list_dup(o);
    if (o->type == OBJ_ZSET)
        return zset_dup(o);
    switch (o->encoding) {
    case OBJ_ENC_INT:
        return obj_string_from_ll(o->u.i);
    case OBJ_ENC_EMBSTR:
        return obj_string_embstr(emb_data(o), emb_len(o));
    default:
        return obj_string_raw(o->u.s, str_len(o->u.s));
    }
}

const char *obj_string_bytes(const obj *o, char *buf, size_t *len)
{
    if (o->encoding == OBJ_ENC_INT) {
        *len = (size_t)util_ll2str(buf, 21, o->u.i);
        return buf;
    }
    if (o->encoding == OBJ_ENC_EMBSTR) {
        *len = emb_len(o);
        return emb_data(o);
    }
    *len = str_len(o->u.s);
    return o->u.s;
}

size_t obj_string_len(const obj *o)
{
    if (o->encoding == OBJ_ENC_INT)
        return (size_t)util_ll_digits(o->u.i);
    if (o->encoding == OBJ_ENC_EMBSTR)
        return emb_len(o);
    return str_len(o->u.s);
}

int obj_string_ll(const obj *o, long long *out)
{
    if (o->encoding == OBJ_ENC_INT) {
        *out = o->u.i;
        return 1;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    return util_str2ll(p, len, out);
}

obj *obj_string_make_raw(obj *o, size_t min_len)
{
    if (o->encoding == OBJ_ENC_RAW) {
        size_t len = str_len(o->u.s);
        if (min_len > len) {
            if (min_len > STR_HDR(o->u.s)->cap) {
                size_t cap = min_len < 1024 * 1024 ? min_len * 2 : min_len + 1024 * 1024;
                if (cap > UINT32_MAX - 1)
                    cap = min_len;
                o->u.s = str_hot_reserve(o->u.s, cap);
            }
            memset(o->u.s + len, 0, min_len - len);
            STR_HDR(o->u.s)->len = (uint32_t)min_len;
            o->u.s[min_len] = 0;
        }
        return o;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    size_t nlen = len > min_len ? len : min_len;
    str np = str_hot_new(NULL, nlen);
    memcpy(np, p, len);
    /* an EMBSTR's bytes live inside o: o stays the same object, the bytes
     * move to their own buffer (the tail of o's allocation is unused) */
    o->encoding = OBJ_ENC_RAW;
    o->u.s = np;
    return o;
}

void obj_string_append(obj *o, const void *ptr, size_t len)
{
    size_t old = obj_string_len(o);
    obj_string_make_raw(o, old + len);
    memcpy(o->u.s + old, ptr, len);
}

unsigned char *obj_string_writable(obj *o, size_t min_len)
{
    obj_string_make_raw(o, min_len);
    return (unsigned char *)o->u.s;
}

void obj_string_set(obj *o, const void *ptr, size_t len)
{
    if (o->encoding != OBJ_ENC_RAW) {
        /* ptr may be an EMBSTR's own bytes: copy before converting */
        str np = str_hot_new(ptr, len);
        o->encoding = OBJ_ENC_RAW;
        o->u.s = np;
        return;
    }
    if (len > STR_HDR(o->u.s)->cap) {
        /* ptr is not inside the buffer: bytes from it would fit */
        o->u.s = str_hot_reserve(o->u.s, len);
    }
    memmove(o->u.s, ptr, len);
    STR_HDR(o->u.s)->len = (uint32_t)len;
    o->u.s[len] = 0;
}

size_t obj_mem(const obj *o)
{
    if (o->type == OBJ_SET)
        return obj_set_mem(o);
    size_t n = hot_usable((void *)o);
    if (o->type == OBJ_LIST)
        return n + list_mem(o);
    if (o->type == OBJ_STRING && o->encoding == OBJ_ENC_RAW)
        n += str_hot_alloc_size(o->u.s);
    if (o->type == OBJ_HASH && o->encoding == OBJ_ENC_LISTPACK)
        n += hot_usable(o->u.ptr);
    if (o->type == OBJ_HASH && o->encoding == OBJ_ENC_HT) {
        n += dict_mem_usage(o->u.ptr);
        dict_iter it;
        dict_iter_init(&it, o->u.ptr);
        for (dict_entry *e; (e = dict_iter_next(&it));)
            n += str_hot_alloc_size(e->key) + str_hot_alloc_size(e->v.val);
        dict_iter_done(&it);
    }
    if (o->type == OBJ_ZSET)
        n += zset_mem(o);
    return n;
}

const char *obj_type_name(int type)
{
    switch (type) {
    case OBJ_STRING:
        return "string";
    case OBJ_LIST:
        return "list";
    case OBJ_SET:
        return "set";
    case OBJ_ZSET:
        return "zset";
    case OBJ_HASH:
        return "hash";
    case OBJ_STREAM:
        return "stream";
    }
    return "none";
}

const char *obj_encoding_name(const obj *o)
{
    return obj_encoding_name_of(o->encoding);
}

const char *obj_encoding_name_of(int encoding)
{
    switch (encoding) {
    case OBJ_ENC_RAW:
        return "raw";
    case OBJ_ENC_INT:
        return "int";
    case OBJ_ENC_EMBSTR:
        return "embstr";
    case OBJ_ENC_HT:
        return "hashtable";
    case OBJ_ENC_LISTPACK:
        return "listpack";
    case OBJ_ENC_INTSET:
        return "intset";
    case OBJ_ENC_QUICKLIST:
        return "quicklist";
    case OBJ_ENC_SKIPLIST:
        return "skiplist";
    }
    return "unknown";
}
