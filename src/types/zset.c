/*
 * zset.c: the sorted set commands.
 *
 * Each handler: parse (every error a parse can give comes before the key is
 * looked up, where Redis does so), look the key up (prefetch made it hot),
 * check the type, work through the sorted set API of keyspace/object_zset.h,
 * reply, then mark the key changed. Replies and errors are Redis 7.0's,
 * scores formatted as its replies format doubles (reply_double: "%.17g",
 * inf, -inf; RESP3 doubles). A sorted set that loses its last member is
 * deleted; results of the *STORE commands take the encoding Redis gives
 * them. ZUNION, ZINTER, ZDIFF (and their STORE forms) and ZINTERCARD also
 * take plain sets, whose members count with score 1. ZMPOP and the
 * blocking pops propagate the ZPOPMIN or ZPOPMAX they made
 * (repl/effects.h); the others their own arguments.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/object_set.h"
#include "keyspace/settings.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"
#include "types/zset.h"

/* ---- argument parsing ---------------------------------------------------- */

/* One end of a score range: "1.5", "(1.5", "-inf", "+inf". Redis hands the
 * whole C string to strtod, so leading blanks and an empty number ("" or
 * "(") pass, and bytes after a NUL are not looked at. */
static int score_bound_parse(const str s, double *v, int *ex)
{
    const char *p = s;
    *ex = 0;
    if (*p == '(') {
        p++;
        *ex = 1;
    }
    char *end;
    *v = strtod(p, &end);
    return *end == '\0' && !isnan(*v) ? 0 : -1;
}

static int score_range_or_reply(client *c, const str min, const str max, skiplist_range *r)
{
    if (score_bound_parse(min, &r->min, &r->minex) < 0 ||
        score_bound_parse(max, &r->max, &r->maxex) < 0) {
        reply_error(c, "ERR min or max is not a float");
        return -1;
    }
    return 0;
}

static int lex_range_or_reply(client *c, const str min, const str max, skiplist_lex_range *r)
{
    if (skiplist_lex_bound_parse(min, str_len(min), &r->min) < 0 ||
        skiplist_lex_bound_parse(max, str_len(max), &r->max) < 0) {
        reply_error(c, "ERR min or max not valid string range item");
        return -1;
    }
    return 0;
}

/* ---- ZADD, ZINCRBY ------------------------------------------------------- */

static void zadd_generic(client *c, int flags)
{
    int scoreidx = 2, ch = 0;
    for (; scoreidx < c->argc; scoreidx++) {
        const str opt = c->argv[scoreidx];
        if (str_eqi(opt, "nx"))
            flags |= ZSET_IN_NX;
        else if (str_eqi(opt, "xx"))
            flags |= ZSET_IN_XX;
        else if (str_eqi(opt, "ch"))
            ch = 1;
        else if (str_eqi(opt, "incr"))
            flags |= ZSET_IN_INCR;
        else if (str_eqi(opt, "gt"))
            flags |= ZSET_IN_GT;
        else if (str_eqi(opt, "lt"))
            flags |= ZSET_IN_LT;
        else
            break;
    }
    int incr = flags & ZSET_IN_INCR, nx = flags & ZSET_IN_NX, xx = flags & ZSET_IN_XX;
    int gt = flags & ZSET_IN_GT, lt = flags & ZSET_IN_LT;
    int elements = c->argc - scoreidx;
    if (elements % 2 || !elements) {
        reply_error_syntax(c);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    /* every score is checked before anything changes */
    double *scores = heap_malloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++) {
        const str a = c->argv[scoreidx + 2 * j];
        if (!util_str2d(a, str_len(a), &scores[j])) {
            reply_error_not_float(c);
            free(scores);
            return;
        }
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_WRITE) < 0) {
        free(scores);
        return;
    }
    int created = 0;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!o && !xx) {
        o = obj_zset_new_for(str_len(c->argv[scoreidx + 1]));
        created = 1;
    }
    for (int j = 0; o && j < elements; j++) {
        const str m = c->argv[scoreidx + 2 * j + 1];
        int out;
        double newscore = scores[j];
        if (zset_add(o, scores[j], m, str_len(m), flags, &out, &newscore) < 0) {
            reply_error(c, "ERR resulting score is not a number (NaN)");
            goto done;
        }
        added += (out & ZSET_OUT_ADDED) != 0;
        updated += (out & ZSET_OUT_UPDATED) != 0;
        processed += !(out & ZSET_OUT_NOP);
        score = newscore;
    }
    if (incr) {
        if (processed)
            reply_double(c, score);
        else
            reply_null(c);
    } else {
        reply_long(c, ch ? added + updated : added);
    }
done:
    free(scores);
    if (created && zset_len(o) > 0) {
        db_add(c->db, c->argv[1], o);
    } else if (created) {
        obj_free(o);
    } else if (added || updated) {
        db_modified(c->db, c->argv[1]);
    }
}

void cmd_zadd(client *c)
{
    zadd_generic(c, 0);
}

void cmd_zincrby(client *c)
{
    zadd_generic(c, ZSET_IN_INCR);
}

/* ---- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK --------------------------------- */

void cmd_zrem(client *c)
{
    remove_members(c, OBJ_ZSET, zset_delete, zset_len);
}

void cmd_zcard(client *c)
{
    reply_count(c, OBJ_ZSET, zset_len);
}

void cmd_zscore(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    double score;
    if (o && zset_score(o, c->argv[2], str_len(c->argv[2]), &score))
        reply_double(c, score);
    else
        reply_null(c);
}

void cmd_zmscore(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (o && zset_score(o, c->argv[j], str_len(c->argv[j]), &score))
            reply_double(c, score);
        else
            reply_null(c);
    }
}

static void zrank_generic(client *c, int reverse)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    long rank = o ? zset_rank(o, c->argv[2], str_len(c->argv[2]), reverse, NULL) : -1;
    if (rank < 0)
        reply_null(c);
    else
        reply_long(c, rank);
}

void cmd_zrank(client *c)
{
    zrank_generic(c, 0);
}

void cmd_zrevrank(client *c)
{
    zrank_generic(c, 1);
}

/* ---- ZCOUNT, ZLEXCOUNT --------------------------------------------------- */

void cmd_zcount(client *c)
{
    skiplist_range r;
    if (score_range_or_reply(c, c->argv[2], c->argv[3], &r) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    reply_long(c, o ? (long long)zset_count_in_range(o, &r) : 0);
}

void cmd_zlexcount(client *c)
{
    skiplist_lex_range r;
    if (lex_range_or_reply(c, c->argv[2], c->argv[3], &r) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    reply_long(c, o ? (long long)zset_count_in_lex_range(o, &r) : 0);
}

/* ---- ZRANGE and its forms ------------------------------------------------ */

/* Where a range goes: to the client, or into a new sorted set stored at
 * dstkey (ZRANGESTORE). */
struct range_out {
    client *c;
    const str dstkey; /* NULL: reply to the client */
    obj *dst;
    int withscores;
    int nested; /* RESP3 with scores: one [member, score] array per element */
    void *deferred;
    long long count;
};

/* length: the number of elements to come, or -1 when not known yet. */
static void range_out_begin(struct range_out *ro, long length)
{
    ro->count = 0;
    ro->deferred = NULL;
    if (ro->dstkey) {
        /* Redis starts a known-long result as a skiplist */
        ro->dst =
            obj_zset_new(length > keyspace_settings.zset_max_listpack_entries ? OBJ_ENC_SKIPLIST
                                                                              : OBJ_ENC_LISTPACK);
        return;
    }
    if (length > 0)
        reply_array(ro->c, ro->withscores && ro->c->resp == 2 ? 2 * length : length);
    else
        ro->deferred = reply_defer_len(ro->c);
}

static void range_out_emit(struct range_out *ro, const char *m, size_t len, double score)
{
    ro->count++;
    if (ro->dstkey) {
        int out;
        zset_add(ro->dst, score, m, len, 0, &out, NULL);
        return;
    }
    if (ro->nested)
        reply_array(ro->c, 2);
    reply_bulk(ro->c, m, len);
    if (ro->withscores)
        reply_double(ro->c, score);
}

static void range_out_end(struct range_out *ro)
{
    if (!ro->dstkey) {
        if (ro->deferred)
            reply_set_array_len(ro->c, ro->deferred,
                                ro->withscores && ro->c->resp == 2 ? 2 * ro->count : ro->count);
        return;
    }
    if (ro->count) {
        db_set(ro->c->db, ro->dstkey, ro->dst, 0, ro->c->known);
        reply_long(ro->c, ro->count);
    } else {
        obj_free(ro->dst);
        db_delete(ro->c->db, ro->dstkey, ro->c->known);
        reply_long(ro->c, 0);
    }
}

static void range_by_rank(struct range_out *ro, obj *o, long start, long end, int reverse)
{
    long llen = (long)zset_len(o);
    if (start < 0)
        start = llen + start;
    if (end < 0)
        end = llen + end;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        range_out_begin(ro, 0);
        range_out_end(ro);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    long n = end - start + 1;
    range_out_begin(ro, n);
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init_rank(&it, o, (unsigned long)start, reverse);
    while (n-- > 0 && zset_iter_next(&it, &m, &len, &score))
        range_out_emit(ro, m, len, score);
    range_out_end(ro);
}

/* The iterator is at the range's first element: LIMIT offset count as
 * Redis applies it (a negative offset gives nothing, a negative count no
 * limit). */
static void range_emit_limited(struct range_out *ro, struct zset_iter *it, long offset, long limit)
{
    const char *m;
    size_t len;
    double score;
    if (offset < 0)
        return;
    zset_iter_skip(it, (unsigned long)offset);
    /* a negative limit is no limit (however negative: no overflow) */
    while (limit != 0 && zset_iter_next(it, &m, &len, &score)) {
        range_out_emit(ro, m, len, score);
        if (limit > 0)
            limit--;
    }
}

enum range_kind { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum range_dir { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

/* Redis's zrangeGenericCommand: argv[first] is the source key, then min
 * and max, then the options. */
static void zrange_generic(client *c, int first, const str dstkey, enum range_kind kind,
                           enum range_dir dir)
{
    int minidx = first + 1, maxidx = first + 2;
    long offset = 0, limit = -1, start = 0, end = 0;
    int withscores = 0;
    for (int j = first + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!dstkey && str_eqi(c->argv[j], "withscores")) {
            withscores = 1;
        } else if (str_eqi(c->argv[j], "limit") && left >= 2) {
            if (long_or_reply(c, c->argv[j + 1], &offset) < 0 ||
                long_or_reply(c, c->argv[j + 2], &limit) < 0)
                return;
            j += 2;
        } else if (dir == DIR_AUTO && str_eqi(c->argv[j], "rev")) {
            dir = DIR_REVERSE;
        } else if (kind == RANGE_AUTO && str_eqi(c->argv[j], "bylex")) {
            kind = RANGE_LEX;
        } else if (kind == RANGE_AUTO && str_eqi(c->argv[j], "byscore")) {
            kind = RANGE_SCORE;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (dir == DIR_AUTO)
        dir = DIR_FORWARD;
    if (kind == RANGE_AUTO)
        kind = RANGE_RANK;
    if (limit != -1 && kind == RANGE_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either "
                       "BYSCORE or BYLEX");
        return;
    }
    if (withscores && kind == RANGE_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int reverse = dir == DIR_REVERSE;
    if (reverse && kind != RANGE_RANK) {
        /* the range is given as max, min */
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    skiplist_range r;
    skiplist_lex_range lr;
    if (kind == RANGE_RANK) {
        if (long_or_reply(c, c->argv[minidx], &start) < 0 ||
            long_or_reply(c, c->argv[maxidx], &end) < 0)
            return;
    } else if (kind == RANGE_SCORE) {
        if (score_range_or_reply(c, c->argv[minidx], c->argv[maxidx], &r) < 0)
            return;
    } else if (lex_range_or_reply(c, c->argv[minidx], c->argv[maxidx], &lr) < 0) {
        return;
    }

    struct range_out ro = {c, dstkey, NULL, withscores || dstkey, 0, NULL, 0};
    ro.nested = !dstkey && withscores && c->resp > 2;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[first], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        if (dstkey) {
            range_out_begin(&ro, -1);
            range_out_end(&ro);
        } else {
            reply_empty_array(c);
        }
        return;
    }
    if (kind == RANGE_RANK) {
        range_by_rank(&ro, o, start, end, reverse);
        return;
    }
    if (offset > 0 && (size_t)offset >= zset_len(o)) {
        range_out_begin(&ro, 0);
        range_out_end(&ro);
        return;
    }
    range_out_begin(&ro, -1);
    struct zset_iter it;
    if (kind == RANGE_SCORE)
        zset_iter_init_score(&it, o, &r, reverse);
    else
        zset_iter_init_lex(&it, o, &lr, reverse);
    range_emit_limited(&ro, &it, offset, limit);
    range_out_end(&ro);
}

void cmd_zrange(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_AUTO, DIR_AUTO);
}

void cmd_zrevrange(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_RANK, DIR_REVERSE);
}

void cmd_zrangebyscore(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_FORWARD);
}

void cmd_zrevrangebyscore(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_REVERSE);
}

void cmd_zrangebylex(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_LEX, DIR_FORWARD);
}

void cmd_zrevrangebylex(client *c)
{
    zrange_generic(c, 1, NULL, RANGE_LEX, DIR_REVERSE);
}

void cmd_zrangestore(client *c)
{
    zrange_generic(c, 2, c->argv[1], RANGE_AUTO, DIR_AUTO);
}

/* ---- ZREMRANGEBY* -------------------------------------------------------- */

static void zremrange_generic(client *c, enum range_kind kind)
{
    long start = 0, end = 0;
    skiplist_range r;
    skiplist_lex_range lr;
    if (kind == RANGE_RANK) {
        if (long_or_reply(c, c->argv[2], &start) < 0 || long_or_reply(c, c->argv[3], &end) < 0)
            return;
    } else if (kind == RANGE_SCORE) {
        if (score_range_or_reply(c, c->argv[2], c->argv[3], &r) < 0)
            return;
    } else if (lex_range_or_reply(c, c->argv[2], c->argv[3], &lr) < 0) {
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_long(c, 0);
        return;
    }
    unsigned long deleted;
    if (kind == RANGE_RANK) {
        long llen = (long)zset_len(o);
        if (start < 0)
            start = llen + start;
        if (end < 0)
            end = llen + end;
        if (start < 0)
            start = 0;
        if (start > end || start >= llen) {
            reply_long(c, 0);
            return;
        }
        if (end >= llen)
            end = llen - 1;
        deleted = zset_delete_range_by_rank(o, (unsigned long)start, (unsigned long)end);
    } else if (kind == RANGE_SCORE) {
        deleted = zset_delete_range_by_score(o, &r);
    } else {
        deleted = zset_delete_range_by_lex(o, &lr);
    }
    if (zset_len(o) == 0)
        db_delete(c->db, c->argv[1], c->known);
    else if (deleted)
        db_modified(c->db, c->argv[1]);
    reply_long(c, (long long)deleted);
}

void cmd_zremrangebyrank(client *c)
{
    zremrange_generic(c, RANGE_RANK);
}

void cmd_zremrangebyscore(client *c)
{
    zremrange_generic(c, RANGE_SCORE);
}

void cmd_zremrangebylex(client *c)
{
    zremrange_generic(c, RANGE_LEX);
}

/* ---- pops ---------------------------------------------------------------- */

void zset_pop_reply(client *c, str *keys, int nkeys, int where, int emitkey, long count, int nested,
                    int nil_when_empty, int rewrite)
{
    obj *o = NULL;
    str key = NULL;
    for (int i = 0; i < nkeys; i++) {
        if (lookup_type_or_reply(c, keys[i], OBJ_ZSET, &o, LOOKUP_WRITE) < 0)
            return;
        if (o) {
            key = keys[i];
            break;
        }
    }
    if (!o) {
        if (nil_when_empty)
            reply_null_array(c);
        else
            reply_empty_array(c);
        return;
    }
    if (count == 0) {
        reply_empty_array(c);
        return;
    }
    int with_count = count != -1;
    if (count == -1)
        count = 1;
    long llen = (long)zset_len(o);
    long n = count > llen ? llen : count;
    if (!nested && !emitkey) {
        reply_array(c, n * 2);
    } else if (nested && !emitkey) {
        reply_array(c, n);
    } else if (!nested) {
        reply_array(c, n * 2 + 1);
        reply_bulk_str(c, key);
    } else {
        reply_array(c, 2);
        reply_bulk_str(c, key);
        reply_array(c, n);
    }
    /* reply while walking, then cut the whole run at once */
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, o, where == ZSET_POP_MAX);
    for (long i = 0; i < n && zset_iter_next(&it, &m, &len, &score); i++) {
        if (nested)
            reply_array(c, 2);
        reply_bulk(c, m, len);
        reply_double(c, score);
    }
    if (where == ZSET_POP_MAX)
        zset_delete_range_by_rank(o, (unsigned long)(llen - n), (unsigned long)(llen - 1));
    else
        zset_delete_range_by_rank(o, 0, (unsigned long)(n - 1));
    if (zset_len(o) == 0)
        db_delete(c->db, key, c->known);
    else
        db_modified(c->db, key);
    if (rewrite) {
        effect_begin(c->dbindex, with_count ? 3 : 2);
        effect_arg_cstr(where == ZSET_POP_MAX ? "ZPOPMAX" : "ZPOPMIN");
        effect_arg_str(key);
        if (with_count)
            effect_arg_ll(n);
        effect_prevent();
    }
}

static void zpop_min_max(client *c, int where)
{
    if (c->argc > 3) {
        reply_error_syntax(c);
        return;
    }
    long count = -1;
    if (c->argc == 3 &&
        long_at_least_or_reply(c, c->argv[2], 0, "ERR value is out of range, must be positive",
                               &count) < 0)
        return;
    zset_pop_reply(c, &c->argv[1], 1, where, 0, count, c->resp > 2 && count != -1, 0, 0);
}

void cmd_zpopmin(client *c)
{
    zpop_min_max(c, ZSET_POP_MIN);
}

void cmd_zpopmax(client *c)
{
    zpop_min_max(c, ZSET_POP_MAX);
}

int zset_mpop_args_or_reply(client *c, int numkeys_idx, long *numkeys, int *where, long *count)
{
    *count = -1;
    if (long_at_least_or_reply(c, c->argv[numkeys_idx], 1, "ERR numkeys should be greater than 0",
                               numkeys) < 0)
        return -1;
    if (*numkeys >= c->argc - numkeys_idx - 1) {
        reply_error_syntax(c);
        return -1;
    }
    int where_idx = numkeys_idx + 1 + (int)*numkeys;
    if (str_eqi(c->argv[where_idx], "min")) {
        *where = ZSET_POP_MIN;
    } else if (str_eqi(c->argv[where_idx], "max")) {
        *where = ZSET_POP_MAX;
    } else {
        reply_error_syntax(c);
        return -1;
    }
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (*count == -1 && str_eqi(c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            if (long_at_least_or_reply(c, c->argv[j], 1, "ERR count should be greater than 0",
                                       count) < 0)
                return -1;
        } else {
            reply_error_syntax(c);
            return -1;
        }
    }
    if (*count == -1)
        *count = 1;
    return 0;
}

void cmd_zmpop(client *c)
{
    long numkeys, count;
    int where;
    if (zset_mpop_args_or_reply(c, 1, &numkeys, &where, &count) < 0)
        return;
    zset_pop_reply(c, &c->argv[2], (int)numkeys, where, 1, count, 1, 1, 1);
}

/* ---- ZRANDMEMBER --------------------------------------------------------- */

struct zpair {
    const char *m;
    size_t len;
    double score;
};

/* All elements of a LISTPACK set in order, for repeated random picks;
 * integers are formatted into *bufs (OBJ_ZSET_BUF bytes per element). */
static struct zpair *zset_pairs(obj *o, char **bufs)
{
    size_t n = zset_len(o);
    struct zpair *ps = heap_malloc((n ? n : 1) * sizeof(*ps));
    *bufs = malloc((n ? n : 1) * OBJ_ZSET_BUF);
    struct zset_iter it;
    size_t i = 0;
    zset_iter_init(&it, o, 0);
    while (i < n && zset_iter_next(&it, &ps[i].m, &ps[i].len, &ps[i].score)) {
        if (ps[i].m == it.buf) {
            memcpy(*bufs + i * OBJ_ZSET_BUF, it.buf, OBJ_ZSET_BUF);
            ps[i].m = *bufs + i * OBJ_ZSET_BUF;
        }
        i++;
    }
    return ps;
}

static size_t random_below(size_t n)
{
    return (size_t)(util_rand64() % n);
}

static void reply_random_pick(client *c, const char *m, size_t len, double score, int withscores)
{
    if (withscores && c->resp > 2)
        reply_array(c, 2);
    reply_bulk(c, m, len);
    if (withscores)
        reply_double(c, score);
}

/* Ranks already picked (distinct picks from a big set): open addressing. */
struct rank_set {
    unsigned long *slots; /* rank + 1; 0 is empty */
    size_t mask;
};

static int rank_set_add(struct rank_set *s, unsigned long rank)
{
    size_t i = (size_t)(rank * 0x9E3779B97F4A7C15ull) & s->mask;
    while (s->slots[i]) {
        if (s->slots[i] == rank + 1)
            return 0;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = rank + 1;
    return 1;
}

static void zrandmember_with_count(client *c, long count, int withscores)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o || count == 0) {
        reply_empty_array(c);
        return;
    }
    size_t size = zset_len(o);
    int uniq = count > 0;
    unsigned long n = uniq ? (unsigned long)count : (unsigned long)-count;
    if (uniq && n > size)
        n = size;
    reply_array(c, withscores && c->resp == 2 ? (long long)n * 2 : (long long)n);
    const char *m;
    size_t len;
    double score;
    char buf[OBJ_ZSET_BUF];
    if (!uniq) {
        char *bufs = NULL;
        struct zpair *ps = o->encoding == OBJ_ENC_LISTPACK ? zset_pairs(o, &bufs) : NULL;
        /* a count near -LONG_MAX ends with client-reply-max-size */
        for (unsigned long i = 0; i < n && !reply_stopped(c); i++) {
            size_t r = random_below(size);
            if (ps)
                reply_random_pick(c, ps[r].m, ps[r].len, ps[r].score, withscores);
            else if (zset_at(o, r, &m, &len, &score, buf))
                reply_random_pick(c, m, len, score, withscores);
        }
        free(ps);
        free(bufs);
        return;
    }
    if (o->encoding == OBJ_ENC_LISTPACK || n * 3 > size) {
        /* selection sampling: n distinct elements in the set's order */
        struct zset_iter it;
        size_t need = n;
        zset_iter_init(&it, o, 0);
        for (size_t i = 0; need && zset_iter_next(&it, &m, &len, &score); i++) {
            if (random_below(size - i) < need) {
                reply_random_pick(c, m, len, score, withscores);
                need--;
            }
        }
        return;
    }
    /* few picks from a big set: random ranks, each once */
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    struct rank_set seen = {heap_calloc(cap, sizeof(unsigned long)), cap - 1};
    for (unsigned long got = 0; got < n;) {
        size_t r = random_below(size);
        if (!rank_set_add(&seen, r))
            continue;
        if (zset_at(o, r, &m, &len, &score, buf))
            reply_random_pick(c, m, len, score, withscores);
        got++;
    }
    free(seen.slots);
}

void cmd_zrandmember(client *c)
{
    if (c->argc >= 3) {
        long count;
        int withscores;
        if (random_count_or_reply(c, "withscores", &count, &withscores) == 0)
            zrandmember_with_count(c, count, withscores);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    const char *m;
    size_t len;
    double score;
    char buf[OBJ_ZSET_BUF];
    if (zset_at(o, random_below(zset_len(o)), &m, &len, &score, buf))
        reply_bulk(c, m, len);
}

/* ---- ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD ---------------- */

enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zaggr { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* One input: a sorted set, a set (every member scores 1) or nothing. */
struct zop_src {
    obj *o;
    double weight;
};

static size_t zop_src_len(const struct zop_src *s)
{
    if (!s->o)
        return 0;
    return s->o->type == OBJ_ZSET ? zset_len(s->o) : set_len(s->o);
}

static int zop_src_find(const struct zop_src *s, const char *m, size_t len, double *score)
{
    if (!s->o)
        return 0;
    if (s->o->type == OBJ_ZSET)
        return zset_score(s->o, m, len, score);
    *score = 1.0;
    return set_contains(s->o, m, len);
}

struct zop_iter {
    const struct zop_src *s;
    struct zset_iter zi;
    struct set_iter si;
};

static void zop_iter_init(struct zop_iter *it, const struct zop_src *s)
{
    it->s = s;
    if (s->o->type == OBJ_ZSET)
        zset_iter_init(&it->zi, s->o, 0);
    else
        set_iter_init(&it->si, s->o);
}

static int zop_iter_next(struct zop_iter *it, const char **m, size_t *len, double *score)
{
    if (it->s->o->type == OBJ_ZSET)
        return zset_iter_next(&it->zi, m, len, score);
    *score = 1.0;
    return set_iter_next(&it->si, m, len);
}

static void zop_iter_done(struct zop_iter *it)
{
    if (it->s->o->type != OBJ_ZSET)
        set_iter_done(&it->si);
}

static void aggregate(double *target, double val, enum zaggr aggr)
{
    if (aggr == AGGR_SUM) {
        *target = *target + val;
        /* inf + -inf: Redis keeps 0 rather than NaN */
        if (isnan(*target))
            *target = 0.0;
    } else if (aggr == AGGR_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

/* Stable sort by cardinality (ascending, or descending with rev), as the
 * C library's merge sort orders Redis's inputs: the order decides which
 * score comes first in an aggregate. */
static void zop_sort(struct zop_src *src, long n, int rev)
{
    for (long i = 1; i < n; i++) {
        struct zop_src x = src[i];
        size_t xl = zop_src_len(&x);
        long j = i - 1;
        while (j >= 0 && (rev ? zop_src_len(&src[j]) < xl : zop_src_len(&src[j]) > xl)) {
            src[j + 1] = src[j];
            j--;
        }
        src[j + 1] = x;
    }
}

/* The union's accumulator: member -> score, in a heap dict (not a value of
 * the keyspace): a plain double per member, updated as Redis does. */
static const dict_type acc_dict_type = {dict_str_hash, dict_str_eq, dict_str_free, NULL};

static double acc_get(dict_entry *e)
{
    double d;
    memcpy(&d, &e->v.u64, sizeof(d));
    return d;
}

static void acc_set(dict_entry *e, double d)
{
    memcpy(&e->v.u64, &d, sizeof(d));
}

static void zop_union(struct zop_src *src, long n, enum zaggr aggr, obj *dst, size_t *maxlen)
{
    dict *acc = dict_create(&acc_dict_type);
    for (long i = 0; i < n; i++) {
        if (zop_src_len(&src[i]) == 0)
            continue;
        struct zop_iter it;
        const char *m;
        size_t len;
        double score;
        zop_iter_init(&it, &src[i]);
        while (zop_iter_next(&it, &m, &len, &score)) {
            double v = src[i].weight * score;
            if (isnan(v))
                v = 0;
            str k = str_new(m, len);
            int existed;
            dict_entry *e = dict_add_or_find(acc, k, &existed);
            if (existed) {
                str_free(k);
                double t = acc_get(e);
                aggregate(&t, v, aggr);
                acc_set(e, t);
            } else {
                acc_set(e, v);
                if (len > *maxlen)
                    *maxlen = len;
            }
        }
        zop_iter_done(&it);
    }
    dict_iter di;
    dict_iter_init(&di, acc);
    for (dict_entry *e; (e = dict_iter_next(&di));) {
        int out;
        zset_add(dst, acc_get(e), e->key, str_len(e->key), 0, &out, NULL);
    }
    dict_iter_done(&di);
    dict_release(acc);
}

/* Returns the cardinality (ZINTERCARD, when dst is NULL: stops at limit if
 * limit is not 0). */
static unsigned long zop_inter(struct zop_src *src, long n, enum zaggr aggr, obj *dst,
                               size_t *maxlen, long limit)
{
    unsigned long card = 0;
    if (zop_src_len(&src[0]) == 0)
        return 0;
    struct zop_iter it;
    const char *m;
    size_t len;
    double score;
    zop_iter_init(&it, &src[0]);
    while (zop_iter_next(&it, &m, &len, &score)) {
        double acc = src[0].weight * score;
        if (isnan(acc))
            acc = 0;
        long j;
        for (j = 1; j < n; j++) {
            double v;
            if (src[j].o == src[0].o)
                v = score;
            else if (!zop_src_find(&src[j], m, len, &v))
                break;
            aggregate(&acc, v * src[j].weight, aggr);
        }
        if (j < n)
            continue;
        card++;
        if (!dst) {
            if (limit && card >= (unsigned long)limit)
                break;
            continue;
        }
        int out;
        zset_add(dst, acc, m, len, 0, &out, NULL);
        if (len > *maxlen)
            *maxlen = len;
    }
    zop_iter_done(&it);
    return card;
}

static void zop_diff(struct zop_src *src, long n, obj *dst, size_t *maxlen)
{
    if (zop_src_len(&src[0]) == 0)
        return;
    zop_sort(src + 1, n - 1, 1);
    struct zop_iter it;
    const char *m;
    size_t len;
    double score;
    zop_iter_init(&it, &src[0]);
    while (zop_iter_next(&it, &m, &len, &score)) {
        int found = 0;
        for (long j = 1; j < n && !found; j++) {
            double v;
            found = src[j].o == src[0].o || zop_src_find(&src[j], m, len, &v);
        }
        if (found)
            continue;
        int out;
        zset_add(dst, score, m, len, 0, &out, NULL);
        if (len > *maxlen)
            *maxlen = len;
    }
    zop_iter_done(&it);
}

/* Redis's zunionInterDiffGenericCommand: argv[numkeys_idx] is numkeys,
 * the keys follow, then the options; dstkey NULL replies the result. */
static void zop_generic(client *c, const str dstkey, int numkeys_idx, enum zop op, int card_only)
{
    long setnum;
    if (long_or_reply(c, c->argv[numkeys_idx], &setnum) < 0)
        return;
    if (setnum < 1) {
        reply_error_fmt(c, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (setnum > c->argc - numkeys_idx - 1) {
        reply_error_syntax(c);
        return;
    }
    struct zop_src *src = heap_calloc((size_t)setnum, sizeof(*src));
    int j = numkeys_idx + 1;
    for (long i = 0; i < setnum; i++, j++) {
        obj *o = db_lookup(c->db, c->argv[j], dstkey ? LOOKUP_WRITE : LOOKUP_NONE, c->known);
        if (o && o->type != OBJ_ZSET && o->type != OBJ_SET) {
            free(src);
            reply_error_wrongtype(c);
            return;
        }
        src[i].o = o;
        src[i].weight = 1.0;
    }
    enum zaggr aggr = AGGR_SUM;
    int withscores = 0;
    long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        const str a = c->argv[j];
        if (op != ZOP_DIFF && !card_only && remaining >= setnum + 1 && str_eqi(a, "weights")) {
            j++;
            for (long i = 0; i < setnum; i++, j++) {
                const str w = c->argv[j];
                if (!util_str2d(w, str_len(w), &src[i].weight)) {
                    reply_error(c, "ERR weight value is not a float");
                    free(src);
                    return;
                }
            }
        } else if (op != ZOP_DIFF && !card_only && remaining >= 2 && str_eqi(a, "aggregate")) {
            const str v = c->argv[j + 1];
            if (str_eqi(v, "sum")) {
                aggr = AGGR_SUM;
            } else if (str_eqi(v, "min")) {
                aggr = AGGR_MIN;
            } else if (str_eqi(v, "max")) {
                aggr = AGGR_MAX;
            } else {
                reply_error_syntax(c);
                free(src);
                return;
            }
            j += 2;
        } else if (!dstkey && !card_only && str_eqi(a, "withscores")) {
            withscores = 1;
            j++;
        } else if (card_only && remaining >= 2 && str_eqi(a, "limit")) {
            if (long_at_least_or_reply(c, c->argv[j + 1], 0, "ERR LIMIT can't be negative",
                                       &limit) < 0) {
                free(src);
                return;
            }
            j += 2;
        } else {
            reply_error_syntax(c);
            free(src);
            return;
        }
    }
    if (op != ZOP_DIFF)
        zop_sort(src, setnum, 0);

    if (card_only) {
        unsigned long card = zop_inter(src, setnum, aggr, NULL, NULL, limit);
        free(src);
        reply_long(c, (long long)card);
        return;
    }
    obj *dst = obj_zset_new(OBJ_ENC_SKIPLIST);
    size_t maxlen = 0;
    if (op == ZOP_UNION)
        zop_union(src, setnum, aggr, dst, &maxlen);
    else if (op == ZOP_INTER)
        zop_inter(src, setnum, aggr, dst, &maxlen, 0);
    else
        zop_diff(src, setnum, dst, &maxlen);
    free(src);

    size_t n = zset_len(dst);
    if (dstkey) {
        if (n) {
            zset_shrink_if_fits(dst, maxlen);
            db_set(c->db, dstkey, dst, 0, c->known);
            reply_long(c, (long long)n);
        } else {
            obj_free(dst);
            db_delete(c->db, dstkey, c->known);
            reply_long(c, 0);
        }
        return;
    }
    reply_array(c, withscores && c->resp == 2 ? (long long)n * 2 : (long long)n);
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, dst, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        if (withscores && c->resp > 2)
            reply_array(c, 2);
        reply_bulk(c, m, len);
        if (withscores)
            reply_double(c, score);
    }
    obj_free(dst);
}

void cmd_zunion(client *c)
{
    zop_generic(c, NULL, 1, ZOP_UNION, 0);
}

void cmd_zinter(client *c)
{
    zop_generic(c, NULL, 1, ZOP_INTER, 0);
}

void cmd_zdiff(client *c)
{
    zop_generic(c, NULL, 1, ZOP_DIFF, 0);
}

void cmd_zunionstore(client *c)
{
    zop_generic(c, c->argv[1], 2, ZOP_UNION, 0);
}

void cmd_zinterstore(client *c)
{
    zop_generic(c, c->argv[1], 2, ZOP_INTER, 0);
}

void cmd_zdiffstore(client *c)
{
    zop_generic(c, c->argv[1], 2, ZOP_DIFF, 0);
}

void cmd_zintercard(client *c)
{
    zop_generic(c, NULL, 1, ZOP_INTER, 1);
}

/* ---- ZSCAN --------------------------------------------------------------- */

struct zscan_ctx {
    client *c;
    const char *pat;
    size_t plen;
    long long emitted; /* replies written: members and scores */
    long long scanned; /* members and scores seen, before MATCH */
};

static void zscan_emit(void *ctx, const char *m, size_t len, double score)
{
    struct zscan_ctx *s = ctx;
    s->scanned += 2;
    if (s->pat && !util_glob_match(s->pat, s->plen, m, len, 0))
        return;
    char buf[64];
    int sl = util_d2str(buf, sizeof(buf), score);
    reply_bulk(s->c, m, len);
    reply_bulk(s->c, buf, (size_t)sl);
    s->emitted += 2;
}

void cmd_zscan(client *c)
{
    unsigned long long cursor;
    obj *o;
    struct scan_opts so;
    if (!scan_key_start_or_reply(c, OBJ_ZSET, &cursor, &o, &so))
        return;
    struct zscan_ctx s = {c, so.pat, so.plen, 0, 0};
    reply_array(c, 2);
    void *slot = reply_defer_len(c);
    void *h = reply_defer_len(c);
    if (o->encoding == OBJ_ENC_LISTPACK) {
        /* a small set goes out whole in one reply */
        struct zset_iter it;
        const char *m;
        size_t len;
        double score;
        zset_iter_init(&it, o, 0);
        while (zset_iter_next(&it, &m, &len, &score))
            zscan_emit(&s, m, len, score);
        cursor = 0;
    } else {
        long long maxiter = so.maxiter;
        do {
            cursor = zset_scan(o, cursor, zscan_emit, &s);
        } while (cursor && maxiter-- && s.scanned < so.count);
    }
    reply_set_array_len(c, h, s.emitted);
    char buf[32];
    int len = util_ull2str(buf, sizeof(buf), cursor);
    reply_set_deferred_bulk(c, slot, buf, (size_t)len);
}
