/*
 * hash.c: the hash commands.
 *
 * Each handler: parse, look the key up (prefetch made it hot), check the
 * type, work through the hash API of keyspace/object.h, reply, then mark
 * the key changed. Replies and errors are Redis 7.0's, including when a
 * LISTPACK hash turns into an HT one (before a write, when an argument is
 * longer than hash-max-listpack-value; after it, when there are more than
 * hash-max-listpack-entries fields). A hash that loses its last field is
 * deleted. HINCRBYFLOAT propagates as `HSET k f <value>` (repl/effects.h),
 * the others their own arguments.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/listpack.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"

/* For writes: the hash at key, or a new empty one (*created set; the caller
 * db_adds it once it has fields). NULL after a WRONGTYPE reply. */
static obj *hash_for_write_or_reply(client *c, int *created)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_WRITE) < 0)
        return NULL;
    *created = !o;
    return o ? o : obj_hash_new();
}

/* Redis looks at the arguments to be stored before writing them. */
static void hash_convert_for_args(obj *o, client *c, int first, int last)
{
    for (int j = first; j <= last; j++)
        hash_try_convert(o, str_len(c->argv[j]));
}

static void hash_written(client *c, obj *o, int created)
{
    if (created)
        db_add(c->db, c->argv[1], o);
    else
        db_modified(c->db, c->argv[1]);
}

/* ---- set, get, delete ---------------------------------------------------- */

static void hset_generic(client *c, int is_hmset)
{
    if (c->argc % 2 != 0) {
        reply_error_arity(c);
        return;
    }
    int created;
    obj *o = hash_for_write_or_reply(c, &created);
    if (!o)
        return;
    hash_convert_for_args(o, c, 2, c->argc - 1);
    long long added = 0;
    for (int j = 2; j < c->argc; j += 2)
        added +=
            hash_set(o, c->argv[j], str_len(c->argv[j]), c->argv[j + 1], str_len(c->argv[j + 1]));
    hash_written(c, o, created);
    if (is_hmset)
        reply_ok(c);
    else
        reply_long(c, added);
}

void cmd_hset(client *c)
{
    hset_generic(c, 0);
}

void cmd_hmset(client *c)
{
    hset_generic(c, 1);
}

void cmd_hsetnx(client *c)
{
    int created;
    obj *o = hash_for_write_or_reply(c, &created);
    if (!o)
        return;
    size_t vl;
    char buf[OBJ_HASH_BUF];
    if (hash_get(o, c->argv[2], str_len(c->argv[2]), &vl, buf)) {
        reply_long(c, 0);
        return;
    }
    hash_convert_for_args(o, c, 2, 3);
    hash_set(o, c->argv[2], str_len(c->argv[2]), c->argv[3], str_len(c->argv[3]));
    hash_written(c, o, created);
    reply_long(c, 1);
}

static void reply_field(client *c, obj *o, const str field)
{
    size_t vl;
    char buf[OBJ_HASH_BUF];
    const char *v = o ? hash_get(o, field, str_len(field), &vl, buf) : NULL;
    if (v)
        reply_bulk(c, v, vl);
    else
        reply_null(c);
}

void cmd_hget(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    reply_field(c, o, c->argv[2]);
}

void cmd_hmget(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_field(c, o, c->argv[j]);
}

void cmd_hdel(client *c)
{
    remove_members(c, OBJ_HASH, hash_delete, hash_len);
}

void cmd_hexists(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    size_t vl;
    char buf[OBJ_HASH_BUF];
    reply_long(c, o && hash_get(o, c->argv[2], str_len(c->argv[2]), &vl, buf) ? 1 : 0);
}

void cmd_hlen(client *c)
{
    reply_count(c, OBJ_HASH, hash_len);
}

void cmd_hstrlen(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    size_t vl = 0;
    char buf[OBJ_HASH_BUF];
    if (!o || !hash_get(o, c->argv[2], str_len(c->argv[2]), &vl, buf))
        vl = 0;
    reply_long(c, (long long)vl);
}

/* ---- whole-hash readers -------------------------------------------------- */

#define HGET_KEYS 1
#define HGET_VALS 2

static void hgetall_generic(client *c, int what)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    long long n = o ? (long long)hash_len(o) : 0;
    if (what == (HGET_KEYS | HGET_VALS))
        reply_map(c, n);
    else
        reply_array(c, n);
    if (!o)
        return;
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        if (what & HGET_KEYS)
            reply_bulk(c, f, fl);
        if (what & HGET_VALS)
            reply_bulk(c, v, vl);
    }
    hash_iter_done(&it);
}

void cmd_hgetall(client *c)
{
    hgetall_generic(c, HGET_KEYS | HGET_VALS);
}

void cmd_hkeys(client *c)
{
    hgetall_generic(c, HGET_KEYS);
}

void cmd_hvals(client *c)
{
    hgetall_generic(c, HGET_VALS);
}

/* ---- increments ---------------------------------------------------------- */

void cmd_hincrby(client *c)
{
    long long incr, cur = 0;
    if (!util_str2ll(c->argv[3], str_len(c->argv[3]), &incr)) {
        reply_error_not_int(c);
        return;
    }
    int created;
    obj *o = hash_for_write_or_reply(c, &created);
    if (!o)
        return;
    size_t vl;
    char buf[OBJ_HASH_BUF];
    const char *v = hash_get(o, c->argv[2], str_len(c->argv[2]), &vl, buf);
    if (v && !util_str2ll(v, vl, &cur)) {
        reply_error(c, "ERR hash value is not an integer");
        goto fail;
    }
    long long nv;
    if (__builtin_add_overflow(cur, incr, &nv)) {
        reply_error(c, "ERR increment or decrement would overflow");
        goto fail;
    }
    char out[32];
    int len = util_ll2str(out, sizeof(out), nv);
    hash_set(o, c->argv[2], str_len(c->argv[2]), out, (size_t)len);
    hash_written(c, o, created);
    reply_long(c, nv);
    return;
fail:
    if (created)
        obj_free(o);
}

void cmd_hincrbyfloat(client *c)
{
    long double incr, cur = 0;
    if (!util_str2ld(c->argv[3], str_len(c->argv[3]), &incr)) {
        reply_error_not_float(c);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    int created;
    obj *o = hash_for_write_or_reply(c, &created);
    if (!o)
        return;
    size_t vl;
    char buf[OBJ_HASH_BUF];
    const char *v = hash_get(o, c->argv[2], str_len(c->argv[2]), &vl, buf);
    if (v && (vl >= UTIL_LD_STR_MAX || !util_str2ld(v, vl, &cur))) {
        reply_error(c, "ERR hash value is not a float");
        goto fail;
    }
    long double nv = cur + incr;
    if (isnan(nv) || isinf(nv)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        goto fail;
    }
    char out[UTIL_LD_STR_MAX];
    int len = util_ld2str(out, sizeof(out), nv);
    hash_set(o, c->argv[2], str_len(c->argv[2]), out, (size_t)len);
    hash_written(c, o, created);
    /* the value as stored and replied, byte for byte */
    effect_begin(c->dbindex, 4);
    effect_arg_cstr("HSET");
    effect_arg_str(c->argv[1]);
    effect_arg_str(c->argv[2]);
    effect_arg(out, (size_t)len);
    effect_prevent();
    reply_bulk(c, out, (size_t)len);
    return;
fail:
    if (created)
        obj_free(o);
}

/* ---- HRANDFIELD ---------------------------------------------------------- */

struct pair {
    const char *f, *v;
    size_t fl, vl;
};

/* All pairs of o in iteration order, into a heap array of hash_len(o).
 * The pointers stay valid while o is unchanged: for a listpack, integers
 * are formatted into bufs (hash_len(o) * 2 * OBJ_HASH_BUF bytes). */
static struct pair *hash_pairs(obj *o, char **bufs)
{
    size_t n = hash_len(o);
    struct pair *ps = heap_malloc((n ? n : 1) * sizeof(*ps));
    *bufs = malloc((n ? n : 1) * 2 * OBJ_HASH_BUF);
    struct hash_iter it;
    size_t i = 0;
    hash_iter_init(&it, o);
    while (i < n && hash_iter_next(&it, &ps[i].f, &ps[i].fl, &ps[i].v, &ps[i].vl)) {
        /* the iterator's own buffers are reused: keep a copy */
        if (ps[i].f == it.fbuf) {
            memcpy(*bufs + 2 * i * OBJ_HASH_BUF, it.fbuf, OBJ_HASH_BUF);
            ps[i].f = *bufs + 2 * i * OBJ_HASH_BUF;
        }
        if (ps[i].v == it.vbuf) {
            memcpy(*bufs + (2 * i + 1) * OBJ_HASH_BUF, it.vbuf, OBJ_HASH_BUF);
            ps[i].v = *bufs + (2 * i + 1) * OBJ_HASH_BUF;
        }
        i++;
    }
    hash_iter_done(&it);
    return ps;
}

static void reply_pair(client *c, const struct pair *p, int withvalues)
{
    if (withvalues && c->resp > 2)
        reply_array(c, 2);
    reply_bulk(c, p->f, p->fl);
    if (withvalues)
        reply_bulk(c, p->v, p->vl);
}

static size_t random_below(size_t n)
{
    uint64_t r = ((uint64_t)random() << 31) ^ (uint64_t)random();
    return (size_t)(r % n);
}

static void hrandfield_with_count(client *c, long count, int withvalues)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    if (!o || count == 0) {
        reply_empty_array(c);
        return;
    }
    size_t size = hash_len(o);
    int uniq = count > 0;
    unsigned long n = uniq ? (unsigned long)count : (unsigned long)-count;
    char *bufs;
    struct pair *ps = hash_pairs(o, &bufs);
    if (!uniq) {
        reply_array(c, withvalues && c->resp == 2 ? (long long)n * 2 : (long long)n);
        /* a count near -LONG_MAX ends with client-reply-max-size */
        for (unsigned long i = 0; i < n && !reply_stopped(c); i++)
            reply_pair(c, &ps[random_below(size)], withvalues);
    } else {
        if (n > size)
            n = size;
        reply_array(c, withvalues && c->resp == 2 ? (long long)n * 2 : (long long)n);
        /* selection sampling: n distinct pairs, in the hash's order */
        size_t need = n;
        for (size_t i = 0; i < size && need; i++) {
            if (random_below(size - i) < need) {
                reply_pair(c, &ps[i], withvalues);
                need--;
            }
        }
    }
    free(ps);
    free(bufs);
}

void cmd_hrandfield(client *c)
{
    if (c->argc >= 3) {
        long count;
        int withvalues;
        if (random_count_or_reply(c, "withvalues", &count, &withvalues) == 0)
            hrandfield_with_count(c, count, withvalues);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_HASH, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    if (o->encoding == OBJ_ENC_HT) {
        dict_entry *e = dict_random(o->u.ptr);
        reply_bulk_str(c, e->key);
        return;
    }
    char buf[OBJ_HASH_BUF];
    size_t fl;
    const unsigned char *f =
        lp_get_str(lp_seek(o->u.ptr, 2 * (long)random_below(hash_len(o))), &fl, buf);
    reply_bulk(c, f, fl);
}

/* ---- HSCAN --------------------------------------------------------------- */

struct hscan_ctx {
    client *c;
    const char *pat;
    size_t plen;
    long long emitted; /* replies written: fields and values */
    long long scanned; /* fields and values seen, before MATCH */
};

static void hscan_emit(struct hscan_ctx *s, const char *f, size_t fl, const char *v, size_t vl)
{
    s->scanned += 2;
    if (s->pat && !util_glob_match(s->pat, s->plen, f, fl, 0))
        return;
    reply_bulk(s->c, f, fl);
    reply_bulk(s->c, v, vl);
    s->emitted += 2;
}

static void hscan_cb(void *privdata, dict_entry *e)
{
    hscan_emit(privdata, e->key, str_len(e->key), e->v.val, str_len(e->v.val));
}

void cmd_hscan(client *c)
{
    unsigned long long cursor;
    obj *o;
    struct scan_opts so;
    if (!scan_key_start_or_reply(c, OBJ_HASH, &cursor, &o, &so))
        return;
    long long count = so.count;
    struct hscan_ctx s = {c, so.pat, so.plen, 0, 0};
    reply_array(c, 2);
    void *slot = reply_defer_len(c);
    void *h = reply_defer_len(c);
    if (o->encoding == OBJ_ENC_LISTPACK) {
        /* a small hash goes out whole in one reply */
        struct hash_iter it;
        const char *f, *v;
        size_t fl, vl;
        hash_iter_init(&it, o);
        while (hash_iter_next(&it, &f, &fl, &v, &vl))
            hscan_emit(&s, f, fl, v, vl);
        hash_iter_done(&it);
        cursor = 0;
    } else {
        /* Redis's loop: stop at count elements (fields and values both
         * count, as in its reply list) or after count * 10 buckets */
        long long maxiter = so.maxiter;
        do {
            cursor = dict_scan(o->u.ptr, cursor, hscan_cb, &s);
        } while (cursor && maxiter-- && s.scanned < count);
    }
    reply_set_array_len(c, h, s.emitted);
    char buf[32];
    int len = util_ull2str(buf, sizeof(buf), cursor);
    reply_set_deferred_bulk(c, slot, buf, (size_t)len);
}
