/*
 * string.c: the string commands.
 *
 * Each handler: parse options, look the key up (the value is hot: prefetch
 * brought it in), check the type, change it through the keyspace API,
 * reply. Limits and error strings are Redis 7.0's.
 *
 * Effects (repl/effects.h) as Redis 7.0 propagates them: a relative or
 * absolute expire becomes `SET k v PXAT <ms>` (SET, SETEX, PSETEX) or
 * `PEXPIREAT k <ms>` (GETEX; `DEL k` when already past), INCRBYFLOAT
 * `SET k <value> KEEPTTL`, GETSET `SET k v`, GETDEL `DEL k`; SET's GET is
 * dropped. The others propagate their own arguments.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"

static void reply_string_obj(client *c, const obj *o)
{
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    reply_bulk(c, p, len);
}

/* A string of offset + len bytes must fit proto-max-bulk-len (and the sum
 * must not overflow). */
static int check_string_length_or_reply(client *c, long long offset, long long len)
{
    long long size;
    if (__builtin_add_overflow(offset, len, &size) || size > net_settings.proto_max_bulk_len) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* ---- effects ------------------------------------------------------------- */

/* The effect `SET key val [PXAT when]`, in place of the command's own. */
static void effect_set(client *c, const str key, const str val, int64_t when)
{
    effect_begin(c->dbindex, when >= 0 ? 5 : 3);
    effect_arg_cstr("SET");
    effect_arg_str(key);
    effect_arg_str(val);
    if (when >= 0) {
        effect_arg_cstr("PXAT");
        effect_arg_ll(when);
    }
    effect_prevent();
}

/* The effect `name key`, in place of the command's own. */
static void effect_key(client *c, const char *name, const str key)
{
    effect_begin(c->dbindex, 2);
    effect_arg_cstr(name);
    effect_arg_str(key);
    effect_prevent();
}

/* ---- SET and its options (shared with GETEX) ----------------------------- */

#define SET_NX         (1 << 0)
#define SET_XX         (1 << 1)
#define SET_GET        (1 << 2)
#define SET_KEEPTTL    (1 << 3)
#define SET_PERSIST    (1 << 4)
#define SET_EX         (1 << 5)
#define SET_PX         (1 << 6)
#define SET_EXAT       (1 << 7)
#define SET_PXAT       (1 << 8)
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

static int opt_is(const char *opt, const char *name)
{
    return !strcasecmp(opt, name);
}

/* Parses the options from argv[first]; for SET (is_set) or GETEX. */
static int parse_set_options(client *c, int first, int is_set, int *flags, str *expire)
{
    *flags = 0;
    *expire = NULL;
    for (int j = first; j < c->argc; j++) {
        const char *opt = c->argv[j];
        str next = j == c->argc - 1 ? NULL : c->argv[j + 1];
        int f = *flags;
        if (is_set && opt_is(opt, "nx") && !(f & SET_XX)) {
            *flags |= SET_NX;
        } else if (is_set && opt_is(opt, "xx") && !(f & SET_NX)) {
            *flags |= SET_XX;
        } else if (is_set && opt_is(opt, "get")) {
            *flags |= SET_GET;
        } else if (is_set && opt_is(opt, "keepttl") && !(f & (SET_PERSIST | SET_ANY_EXPIRE))) {
            *flags |= SET_KEEPTTL;
        } else if (!is_set && opt_is(opt, "persist") && !(f & (SET_KEEPTTL | SET_ANY_EXPIRE))) {
            *flags |= SET_PERSIST;
        } else if (next && !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                   ((opt_is(opt, "ex") && !(f & (SET_ANY_EXPIRE & ~SET_EX))) ||
                    (opt_is(opt, "px") && !(f & (SET_ANY_EXPIRE & ~SET_PX))) ||
                    (opt_is(opt, "exat") && !(f & (SET_ANY_EXPIRE & ~SET_EXAT))) ||
                    (opt_is(opt, "pxat") && !(f & (SET_ANY_EXPIRE & ~SET_PXAT))))) {
            *flags |= opt_is(opt, "ex")     ? SET_EX
                      : opt_is(opt, "px")   ? SET_PX
                      : opt_is(opt, "exat") ? SET_EXAT
                                            : SET_PXAT;
            *expire = next;
            j++;
        } else {
            reply_error_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Turns an expire argument into an absolute unix time in ms. */
static int expire_ms_or_reply(client *c, const str arg, int seconds, int relative, int64_t *out)
{
    long long v;
    if (!util_str2ll(arg, str_len(arg), &v)) {
        reply_error_not_int(c);
        return -1;
    }
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        reply_error_fmt(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return -1;
    }
    if (seconds)
        v *= 1000;
    if (relative && __builtin_add_overflow(v, keyspace_mstime, &v)) {
        reply_error_fmt(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return -1;
    }
    if (v <= 0) {
        reply_error_fmt(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return -1;
    }
    *out = v;
    return 0;
}

static int flags_expire_ms(client *c, int flags, str expire, int64_t *when)
{
    return expire_ms_or_reply(c, expire, (flags & (SET_EX | SET_EXAT)) != 0,
                              (flags & (SET_EX | SET_PX)) != 0, when);
}

/* Sets key to a new string value built from argv bytes, with an optional
 * absolute expire (-1: none). */
static void set_string(client *c, const str key, const str val, int keepttl, int64_t when)
{
    obj *o = obj_string_new(val, str_len(val));
    db_set(c->db, key, o, keepttl ? SETKEY_KEEPTTL : 0, c->known);
    if (when >= 0)
        db_set_expire(c->db, key, when);
}

void cmd_set(client *c)
{
    int flags;
    str expire;
    if (parse_set_options(c, 3, 1, &flags, &expire) < 0)
        return;
    int64_t when = -1;
    if (expire && flags_expire_ms(c, flags, expire, &when) < 0)
        return;
    obj *old = NULL;
    if (flags & SET_GET) {
        if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &old, LOOKUP_NONE) < 0)
            return;
        if (old)
            reply_string_obj(c, old);
        else
            reply_null(c);
    }
    int found = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known) != NULL;
    if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
        if (!(flags & SET_GET))
            reply_null(c);
        return;
    }
    set_string(c, c->argv[1], c->argv[2], flags & SET_KEEPTTL, when);
    if (when >= 0) {
        effect_set(c, c->argv[1], c->argv[2], when);
    } else if (flags & SET_GET) {
        /* the arguments without GET (any case): the reply is no effect */
        int n = 0;
        for (int j = 0; j < c->argc; j++)
            n += j < 3 || !opt_is(c->argv[j], "get");
        effect_begin(c->dbindex, n);
        for (int j = 0; j < c->argc; j++)
            if (j < 3 || !opt_is(c->argv[j], "get"))
                effect_arg_str(c->argv[j]);
        effect_prevent();
    }
    if (!(flags & SET_GET))
        reply_ok(c);
}

void cmd_setnx(client *c)
{
    if (db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known)) {
        reply_long(c, 0);
        return;
    }
    set_string(c, c->argv[1], c->argv[2], 0, -1);
    reply_long(c, 1);
}

static void setex_generic(client *c, int seconds)
{
    int64_t when;
    if (expire_ms_or_reply(c, c->argv[2], seconds, 1, &when) < 0)
        return;
    set_string(c, c->argv[1], c->argv[3], 0, when);
    effect_set(c, c->argv[1], c->argv[3], when);
    reply_ok(c);
}

void cmd_setex(client *c)
{
    setex_generic(c, 1);
}

void cmd_psetex(client *c)
{
    setex_generic(c, 0);
}

void cmd_get(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    if (o)
        reply_string_obj(c, o);
    else
        reply_null(c);
}

void cmd_getset(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    if (o)
        reply_string_obj(c, o);
    else
        reply_null(c);
    set_string(c, c->argv[1], c->argv[2], 0, -1);
    effect_set(c, c->argv[1], c->argv[2], -1);
}

void cmd_getdel(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    reply_string_obj(c, o);
    db_delete(c->db, c->argv[1], c->known);
    effect_key(c, "DEL", c->argv[1]);
}

void cmd_getex(client *c)
{
    int flags;
    str expire;
    if (parse_set_options(c, 2, 0, &flags, &expire) < 0)
        return;
    /* as Redis: a missing key answers nil before the TTL value is checked */
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    int64_t when = -1;
    if (expire && flags_expire_ms(c, flags, expire, &when) < 0)
        return;
    reply_string_obj(c, o);
    if (when >= 0 && when <= keyspace_mstime && !keyspace_loading) {
        /* an absolute time in the past deletes the key */
        db_delete(c->db, c->argv[1], c->known);
        ks_stats.expired_keys++;
        effect_key(c, "DEL", c->argv[1]);
    } else if (when >= 0) {
        db_set_expire(c->db, c->argv[1], when);
        effect_begin(c->dbindex, 3);
        effect_arg_cstr("PEXPIREAT");
        effect_arg_str(c->argv[1]);
        effect_arg_ll(when);
        effect_prevent();
    } else if ((flags & SET_PERSIST) && db_remove_expire(c->db, c->argv[1])) {
        effect_key(c, "PERSIST", c->argv[1]);
    }
}

void cmd_mget(client *c)
{
    reply_array(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        obj *o = db_lookup(c->db, c->argv[j], LOOKUP_NONE, c->known);
        if (o && o->type == OBJ_STRING)
            reply_string_obj(c, o);
        else
            reply_null(c);
    }
}

static void mset_generic(client *c, int nx)
{
    if (c->argc % 2 == 0) {
        reply_error_arity(c);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_lookup(c->db, c->argv[j], LOOKUP_WRITE, c->known)) {
                reply_long(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2)
        set_string(c, c->argv[j], c->argv[j + 1], 0, -1);
    if (nx)
        reply_long(c, 1);
    else
        reply_ok(c);
}

void cmd_mset(client *c)
{
    mset_generic(c, 0);
}

void cmd_msetnx(client *c)
{
    mset_generic(c, 1);
}

void cmd_append(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_WRITE) < 0)
        return;
    size_t add = str_len(c->argv[2]);
    if (!o) {
        db_add(c->db, c->argv[1], obj_string_new(c->argv[2], add));
        reply_long(c, (long long)add);
        return;
    }
    size_t cur = obj_string_len(o);
    if (check_string_length_or_reply(c, (long long)cur, (long long)add) < 0)
        return;
    obj_string_append(o, c->argv[2], add);
    db_modified(c->db, c->argv[1]);
    reply_long(c, (long long)obj_string_len(o));
}

void cmd_strlen(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    reply_long(c, o ? (long long)obj_string_len(o) : 0);
}

static void incr_generic(client *c, long long incr)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_WRITE) < 0)
        return;
    long long v = 0;
    if (o && !obj_string_ll(o, &v)) {
        reply_error_not_int(c);
        return;
    }
    long long nv;
    if (__builtin_add_overflow(v, incr, &nv)) {
        reply_error_overflow(c);
        return;
    }
    if (o && o->encoding == OBJ_ENC_INT) {
        o->u.i = nv;
        db_modified(c->db, c->argv[1]);
    } else {
        db_set(c->db, c->argv[1], obj_string_from_ll(nv), SETKEY_KEEPTTL, c->known);
    }
    reply_long(c, nv);
}

void cmd_incr(client *c)
{
    incr_generic(c, 1);
}

void cmd_decr(client *c)
{
    incr_generic(c, -1);
}

void cmd_incrby(client *c)
{
    long long v;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &v)) {
        reply_error_not_int(c);
        return;
    }
    incr_generic(c, v);
}

void cmd_decrby(client *c)
{
    long long v;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &v)) {
        reply_error_not_int(c);
        return;
    }
    if (v == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -v);
}

void cmd_incrbyfloat(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_WRITE) < 0)
        return;
    long double cur = 0, incr;
    if (o) {
        char buf[32];
        size_t len;
        const char *p = obj_string_bytes(o, buf, &len);
        if (!util_str2ld(p, len, &cur)) {
            reply_error_not_float(c);
            return;
        }
    }
    if (!util_str2ld(c->argv[2], str_len(c->argv[2]), &incr)) {
        reply_error_not_float(c);
        return;
    }
    long double nv = cur + incr;
    if (isnan(nv) || isinf(nv)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[UTIL_LD_STR_MAX];
    int len = util_ld2str(out, sizeof(out), nv);
    /* not integer-encoded even when it looks like one, as in Redis */
    db_set(c->db, c->argv[1], obj_string_with_encoding(out, (size_t)len, OBJ_ENC_EMBSTR),
           SETKEY_KEEPTTL, c->known);
    /* the value as stored and replied, byte for byte */
    effect_begin(c->dbindex, 4);
    effect_arg_cstr("SET");
    effect_arg_str(c->argv[1]);
    effect_arg(out, (size_t)len);
    effect_arg_cstr("KEEPTTL");
    effect_prevent();
    reply_bulk(c, out, (size_t)len);
}

void cmd_getrange(client *c)
{
    long long start, end;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &start) ||
        !util_str2ll(c->argv[3], str_len(c->argv[3]), &end)) {
        reply_error_not_int(c);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_bulk(c, "", 0);
        return;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    long long slen = (long long)len;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0)
        start += slen;
    if (end < 0)
        end += slen;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= slen)
        end = slen - 1;
    if (start > end || slen == 0) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, p + start, (size_t)(end - start + 1));
}

void cmd_setrange(client *c)
{
    long long offset;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &offset)) {
        reply_error_not_int(c);
        return;
    }
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_STRING, &o, LOOKUP_WRITE) < 0)
        return;
    size_t vlen = str_len(c->argv[3]);
    if (!o) {
        if (vlen == 0) {
            reply_long(c, 0);
            return;
        }
        if (check_string_length_or_reply(c, offset, (long long)vlen) < 0)
            return;
        o = obj_string_raw(NULL, (size_t)offset + vlen);
        memcpy(o->u.s + offset, c->argv[3], vlen);
        db_add(c->db, c->argv[1], o);
        reply_long(c, (long long)obj_string_len(o));
        return;
    }
    size_t cur = obj_string_len(o);
    if (vlen == 0) {
        reply_long(c, (long long)cur);
        return;
    }
    if (check_string_length_or_reply(c, offset, (long long)vlen) < 0)
        return;
    obj_string_make_raw(o, (size_t)offset + vlen);
    memcpy(o->u.s + offset, c->argv[3], vlen);
    db_modified(c->db, c->argv[1]);
    reply_long(c, (long long)obj_string_len(o));
}

/* ---- LCS ----------------------------------------------------------------- */

void cmd_lcs(client *c)
{
    int getlen = 0, getidx = 0, withmatchlen = 0;
    long long minmatchlen = 0;
    /* the types are checked before the options, as Redis does */
    obj *oa = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    obj *ob = db_lookup(c->db, c->argv[2], LOOKUP_NONE, c->known);
    if ((oa && oa->type != OBJ_STRING) || (ob && ob->type != OBJ_STRING)) {
        reply_error(c, "ERR The specified keys must contain string values");
        return;
    }
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j];
        int more = c->argc - j - 1;
        if (opt_is(opt, "idx")) {
            getidx = 1;
        } else if (opt_is(opt, "len")) {
            getlen = 1;
        } else if (opt_is(opt, "withmatchlen")) {
            withmatchlen = 1;
        } else if (opt_is(opt, "minmatchlen") && more) {
            if (!util_str2ll(c->argv[j + 1], str_len(c->argv[j + 1]), &minmatchlen)) {
                reply_error_not_int(c);
                return;
            }
            if (minmatchlen < 0)
                minmatchlen = 0;
            j++;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (getidx && getlen) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    char bufa[32], bufb[32];
    size_t alen = 0, blen = 0;
    const char *a = oa ? obj_string_bytes(oa, bufa, &alen) : "";
    const char *b = ob ? obj_string_bytes(ob, bufb, &blen) : "";
    /* copies: the table walk below must not see the values change */
    char *ca = heap_malloc(alen + 1), *cb = heap_malloc(blen + 1);
    memcpy(ca, a, alen);
    memcpy(cb, b, blen);
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    if (cells > (unsigned long long)net_settings.proto_max_bulk_len / sizeof(uint32_t) ||
        cells > SIZE_MAX / sizeof(uint32_t)) {
        free(ca);
        free(cb);
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds "
                       "proto-max-bulk-len");
        return;
    }
    uint32_t *t = heap_malloc((size_t)cells * sizeof(uint32_t));
#define LCS(i, j) t[(size_t)(j) * (alen + 1) + (size_t)(i)]
    for (size_t i = 0; i <= alen; i++) {
        for (size_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                LCS(i, j) = 0;
            else if (ca[i - 1] == cb[j - 1])
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else
                LCS(i, j) = LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
        }
    }
    uint32_t idx = LCS(alen, blen);
    char *result = NULL;
    if (!getlen && !getidx)
        result = heap_malloc((size_t)idx + 1);
    void *arr = NULL;
    long long nmatches = 0;
    if (getidx) {
        reply_map(c, 2);
        reply_bulk_cstr(c, "matches");
        arr = reply_defer_len(c);
    }
    /* Walk the table back from the end: matches along a diagonal form one
     * range; a range is reported when the walk leaves it. */
    size_t i = alen, j = blen;
    uint32_t k = idx;
    long long as = -1, ae = 0, bs = 0, be = 0; /* current range, as < 0: none */
    while (i > 0 && j > 0) {
        int emit = 0;
        if (ca[i - 1] == cb[j - 1]) {
            if (result)
                result[k - 1] = ca[i - 1];
            if (as < 0) {
                as = ae = (long long)i - 1;
                bs = be = (long long)j - 1;
            } else {
                as--;
                bs--;
            }
            if (as == 0 || bs == 0)
                emit = 1;
            k--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1))
                i--;
            else
                j--;
            if (as >= 0)
                emit = 1;
        }
        if (emit) {
            long long matchlen = ae - as + 1;
            if (getidx && (minmatchlen == 0 || matchlen >= minmatchlen)) {
                reply_array(c, withmatchlen ? 3 : 2);
                reply_array(c, 2);
                reply_long(c, as);
                reply_long(c, ae);
                reply_array(c, 2);
                reply_long(c, bs);
                reply_long(c, be);
                if (withmatchlen)
                    reply_long(c, matchlen);
                nmatches++;
            }
            as = -1;
        }
    }
#undef LCS
    free(t);
    free(ca);
    free(cb);
    if (getidx) {
        reply_set_array_len(c, arr, nmatches);
        reply_bulk_cstr(c, "len");
        reply_long(c, idx);
    } else if (getlen) {
        reply_long(c, idx);
    } else {
        reply_bulk(c, result, idx);
        free(result);
    }
}
