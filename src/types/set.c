/*
 * set.c: the set commands.
 *
 * Each handler: parse, look the keys up (prefetch made them hot), check the
 * types, work through the set API (keyspace/object_set.h), reply, then mark
 * the keys changed. Replies, errors and the encodings of the results are
 * Redis 7.0's: a set created for a first member that is an integer starts
 * as an intset, and the results of SINTERSTORE/SUNIONSTORE/SDIFFSTORE are
 * built member by member into a new intset, so they convert exactly when
 * Redis's do. Where Redis picks an algorithm by size (SRANDMEMBER, SPOP
 * with a count, SDIFF) the same choice is made here, because it decides
 * the order of a reply or the encoding of what is left. A set that loses
 * its last member is deleted.
 *
 * Effects (repl/effects.h): SPOP propagates what it removed, as Redis 7.0
 * does: `SREM k m` per member popped (two or more in MULTI ... EXEC), or
 * `DEL k` when a count took the whole set. The others propagate their own
 * arguments.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"

static void reply_member(void *ctx, const char *m, size_t len)
{
    reply_bulk(ctx, m, len);
}

/* Every member of o, in its iteration order (ascending for an intset). */
static void reply_members(client *c, obj *o)
{
    struct set_iter it;
    const char *m;
    size_t ml;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &m, &ml))
        reply_bulk(c, m, ml);
    set_iter_done(&it);
}

/* SPOP's effect for one member popped from the set at key. */
static void effect_srem(client *c, const str key, const char *m, size_t ml)
{
    effect_begin(c->dbindex, 3);
    effect_arg_cstr("SREM");
    effect_arg_str(key);
    effect_arg(m, ml);
}

/* ---- add, remove, move --------------------------------------------------- */

void cmd_sadd(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_WRITE) < 0)
        return;
    int created = !o;
    if (created)
        o = obj_set_new_for(c->argv[2], str_len(c->argv[2]));
    long long added = 0;
    for (int j = 2; j < c->argc; j++)
        added += set_add(o, c->argv[j], str_len(c->argv[j]));
    if (created)
        db_add(c->db, c->argv[1], o);
    else if (added)
        db_modified(c->db, c->argv[1]);
    reply_long(c, added);
}

void cmd_srem(client *c)
{
    remove_members(c, OBJ_SET, set_remove, set_len);
}

void cmd_smove(client *c)
{
    obj *src = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    obj *dst = db_lookup(c->db, c->argv[2], LOOKUP_WRITE, c->known);
    const str m = c->argv[3];
    size_t ml = str_len(m);
    /* as Redis: a missing source answers 0 before any type is checked */
    if (!src) {
        reply_long(c, 0);
        return;
    }
    if (src->type != OBJ_SET || (dst && dst->type != OBJ_SET)) {
        reply_error_wrongtype(c);
        return;
    }
    if (src == dst) {
        reply_long(c, set_contains(src, m, ml));
        return;
    }
    if (!set_remove(src, m, ml)) {
        reply_long(c, 0);
        return;
    }
    if (set_len(src) == 0)
        db_delete(c->db, c->argv[1], c->known);
    else
        db_modified(c->db, c->argv[1]);
    if (!dst) {
        dst = obj_set_new_for(m, ml);
        set_add(dst, m, ml);
        db_add(c->db, c->argv[2], dst);
    } else if (set_add(dst, m, ml)) {
        db_modified(c->db, c->argv[2]);
    }
    reply_long(c, 1);
}

/* ---- readers ------------------------------------------------------------- */

void cmd_scard(client *c)
{
    reply_count(c, OBJ_SET, set_len);
}

void cmd_sismember(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_NONE) < 0)
        return;
    reply_long(c, o && set_contains(o, c->argv[2], str_len(c->argv[2])));
}

void cmd_smismember(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_NONE) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_long(c, o && set_contains(o, c->argv[j], str_len(c->argv[j])));
}

void cmd_smembers(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_set(c, 0);
        return;
    }
    reply_set(c, (long long)set_len(o));
    reply_members(c, o);
}

/* ---- random members ------------------------------------------------------ */

static void srandmember_with_count(client *c)
{
    long long l;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &l)) {
        reply_error_not_int(c);
        return;
    }
    if (l < -LONG_MAX) {
        reply_error_fmt(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX,
                        LONG_MAX);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o || l == 0) {
        reply_empty_array(c);
        return;
    }
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    size_t size = set_len(o);
    /* Redis's cases: repeats allowed (or a single member): independent
     * draws; at least the whole set: the set in its order; otherwise
     * distinct members */
    if (l < 0 || count == 1) {
        reply_array(c, (long long)count);
        char buf[OBJ_SET_BUF];
        /* a count near -LONG_MAX ends with client-reply-max-size */
        for (unsigned long long i = 0; i < count && !reply_stopped(c); i++) {
            size_t ml;
            const char *m = set_random(o, &ml, buf);
            reply_bulk(c, m, ml);
        }
        return;
    }
    if (count >= size) {
        reply_array(c, (long long)size);
        reply_members(c, o);
        return;
    }
    reply_array(c, (long long)count);
    set_random_distinct(o, (size_t)count, reply_member, c);
}

void cmd_srandmember(client *c)
{
    if (c->argc > 3) {
        reply_error_syntax(c);
        return;
    }
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    char buf[OBJ_SET_BUF];
    size_t ml;
    const char *m = set_random(o, &ml, buf);
    reply_bulk(c, m, ml);
}

/* Redis pops by removing random members while what stays is more than a
 * fifth of what goes; otherwise it draws the members that stay into a new
 * set (created for the first of them, so its encoding can differ from the
 * old one's), replies what is left of the old set and stores the new. */
#define SPOP_MOVE_STRATEGY_MUL 5

static void spop_with_count(client *c)
{
    long long l;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &l) || l < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o || l == 0) {
        reply_set(c, 0);
        return;
    }
    size_t count = (size_t)l, size = set_len(o);
    char buf[OBJ_SET_BUF];
    size_t ml;
    const char *m;
    effect_prevent();
    if (count >= size) {
        reply_set(c, (long long)size);
        reply_members(c, o);
        db_delete(c->db, c->argv[1], c->known);
        effect_begin(c->dbindex, 2);
        effect_arg_cstr("DEL");
        effect_arg_str(c->argv[1]);
        return;
    }
    if (count > 1)
        effect_multi();
    size_t remaining = size - count;
    reply_set(c, (long long)count);
    if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
        while (count--) {
            m = set_random(o, &ml, buf);
            reply_bulk(c, m, ml);
            effect_srem(c, c->argv[1], m, ml);
            set_remove(o, m, ml);
        }
        db_modified(c->db, c->argv[1]);
        return;
    }
    obj *kept = NULL;
    while (remaining--) {
        m = set_random(o, &ml, buf);
        if (!kept)
            kept = obj_set_new_for(m, ml);
        set_add(kept, m, ml);
        set_remove(o, m, ml);
    }
    /* what is left of o is what was popped */
    struct set_iter it;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &m, &ml)) {
        reply_bulk(c, m, ml);
        effect_srem(c, c->argv[1], m, ml);
    }
    set_iter_done(&it);
    db_set(c->db, c->argv[1], kept, SETKEY_KEEPTTL, c->known);
}

void cmd_spop(client *c)
{
    if (c->argc > 3) {
        reply_error_syntax(c);
        return;
    }
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_SET, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    char buf[OBJ_SET_BUF];
    size_t ml;
    const char *m = set_random(o, &ml, buf);
    reply_bulk(c, m, ml);
    effect_srem(c, c->argv[1], m, ml);
    effect_prevent();
    set_remove(o, m, ml);
    if (set_len(o) == 0)
        db_delete(c->db, c->argv[1], c->known);
    else
        db_modified(c->db, c->argv[1]);
}

/* ---- intersection -------------------------------------------------------- */

struct ranked {
    obj *o;
    int pos;
};

/* By cardinality, ties in argument order (glibc's qsort is a stable merge
 * sort, and the order decides which set Redis iterates). */
static int cmp_by_card(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    size_t lx = x->o ? set_len(x->o) : 0, ly = y->o ? set_len(y->o) : 0;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->pos - y->pos;
}

static int cmp_by_card_desc(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    size_t lx = x->o ? set_len(x->o) : 0, ly = y->o ? set_len(y->o) : 0;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x->pos - y->pos;
}

/* Looks up n keys as sets into sets[] (NULL when absent). -1 after a
 * WRONGTYPE reply; else how many were absent. */
static int lookup_sets_or_reply(client *c, str *keys, int n, struct ranked *sets)
{
    int absent = 0;
    for (int j = 0; j < n; j++) {
        if (lookup_type_or_reply(c, keys[j], OBJ_SET, &sets[j].o, LOOKUP_NONE) < 0)
            return -1;
        sets[j].pos = j;
        absent += !sets[j].o;
    }
    return absent;
}

/* Stores result at dst (a new value, TTL gone) and replies its size; an
 * empty result deletes dst instead. */
static void store_result(client *c, const str dst, obj *result)
{
    long long n = (long long)set_len(result);
    if (n > 0) {
        db_set(c->db, dst, result, 0, c->known);
    } else {
        obj_free(result);
        db_delete(c->db, dst, c->known);
    }
    reply_long(c, n);
}

/* SINTER, SINTERSTORE (dst set) and SINTERCARD (card_only, limit 0: none). */
static void sinter_generic(client *c, str *keys, int n, const str dst, int card_only,
                           long long limit)
{
    struct ranked *sets = heap_calloc((size_t)n, sizeof(*sets));
    int absent = lookup_sets_or_reply(c, keys, n, sets);
    if (absent < 0)
        goto done;
    if (absent > 0) {
        if (dst) {
            db_delete(c->db, dst, c->known);
            reply_long(c, 0);
        } else if (card_only) {
            reply_long(c, 0);
        } else {
            reply_set(c, 0);
        }
        goto done;
    }
    qsort(sets, (size_t)n, sizeof(*sets), cmp_by_card);
    obj *result = dst ? obj_set_new() : NULL;
    void *len_slot = !dst && !card_only ? reply_defer_len(c) : NULL;
    long long card = 0;
    struct set_iter it;
    const char *m;
    size_t ml;
    set_iter_init(&it, sets[0].o);
    while (set_iter_next(&it, &m, &ml)) {
        int j;
        for (j = 1; j < n; j++) {
            if (sets[j].o != sets[0].o && !set_contains(sets[j].o, m, ml))
                break;
        }
        if (j < n)
            continue;
        if (card_only) {
            card++;
            if (limit && card >= limit)
                break;
        } else if (!dst) {
            reply_bulk(c, m, ml);
            card++;
        } else {
            set_add(result, m, ml);
        }
    }
    set_iter_done(&it);
    if (card_only)
        reply_long(c, card);
    else if (dst)
        store_result(c, dst, result);
    else
        reply_set_set_len(c, len_slot, card);
done:
    free(sets);
}

void cmd_sinter(client *c)
{
    sinter_generic(c, c->argv + 1, c->argc - 1, NULL, 0, 0);
}

void cmd_sinterstore(client *c)
{
    sinter_generic(c, c->argv + 2, c->argc - 2, c->argv[1], 0, 0);
}

void cmd_sintercard(client *c)
{
    long long numkeys, limit = 0;
    if (!util_str2ll(c->argv[1], str_len(c->argv[1]), &numkeys) || numkeys < 1) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "limit") && j + 1 < c->argc) {
            j++;
            if (!util_str2ll(c->argv[j], str_len(c->argv[j]), &limit) || limit < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    sinter_generic(c, c->argv + 2, (int)numkeys, NULL, 1, limit);
}

/* ---- union and difference ------------------------------------------------ */

#define SET_OP_UNION 0
#define SET_OP_DIFF  1

/* SUNION, SDIFF and their STORE forms (dst set). The result is built as a
 * set first, which decides the reply's order and the stored encoding. */
static void sunion_diff_generic(client *c, str *keys, int n, const str dst, int op)
{
    struct ranked *sets = heap_calloc((size_t)n, sizeof(*sets));
    if (lookup_sets_or_reply(c, keys, n, sets) < 0) {
        free(sets);
        return;
    }
    int sameset = 0;
    for (int j = 1; j < n; j++)
        sameset |= sets[j].o && sets[j].o == sets[0].o;
    /* Redis's choice for DIFF: walk the first set and probe the others
     * (cost halved, it does better on common members) or copy the first
     * set and remove every member of the others */
    int diff_algo = 1;
    if (op == SET_OP_DIFF && sets[0].o && !sameset) {
        long long one = 0, two = 0;
        for (int j = 0; j < n; j++) {
            if (!sets[j].o)
                continue;
            one += (long long)set_len(sets[0].o);
            two += (long long)set_len(sets[j].o);
        }
        one /= 2;
        diff_algo = one <= two ? 1 : 2;
        if (diff_algo == 1 && n > 1)
            qsort(sets + 1, (size_t)n - 1, sizeof(*sets), cmp_by_card_desc);
    }
    obj *result = obj_set_new();
    struct set_iter it;
    const char *m;
    size_t ml;
    if (op == SET_OP_UNION) {
        for (int j = 0; j < n; j++) {
            if (!sets[j].o)
                continue;
            set_iter_init(&it, sets[j].o);
            while (set_iter_next(&it, &m, &ml))
                set_add(result, m, ml);
            set_iter_done(&it);
        }
    } else if (sets[0].o && !sameset && diff_algo == 1) {
        set_iter_init(&it, sets[0].o);
        while (set_iter_next(&it, &m, &ml)) {
            int j;
            for (j = 1; j < n; j++) {
                if (sets[j].o && set_contains(sets[j].o, m, ml))
                    break;
            }
            if (j == n)
                set_add(result, m, ml);
        }
        set_iter_done(&it);
    } else if (sets[0].o && !sameset) {
        for (int j = 0; j < n && (j == 0 || set_len(result) > 0); j++) {
            if (!sets[j].o)
                continue;
            set_iter_init(&it, sets[j].o);
            while (set_iter_next(&it, &m, &ml)) {
                if (j == 0)
                    set_add(result, m, ml);
                else
                    set_remove(result, m, ml);
            }
            set_iter_done(&it);
        }
    }
    free(sets);
    if (dst) {
        store_result(c, dst, result);
        return;
    }
    reply_set(c, (long long)set_len(result));
    reply_members(c, result);
    obj_free(result);
}

void cmd_sunion(client *c)
{
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_UNION);
}

void cmd_sunionstore(client *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_UNION);
}

void cmd_sdiff(client *c)
{
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_DIFF);
}

void cmd_sdiffstore(client *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_DIFF);
}

/* ---- SSCAN --------------------------------------------------------------- */

struct sscan_ctx {
    client *c;
    const char *pat;
    size_t plen;
    long long emitted; /* members replied */
    long long scanned; /* members seen, before MATCH */
};

static void sscan_emit(void *ctx, const char *m, size_t ml)
{
    struct sscan_ctx *s = ctx;
    s->scanned++;
    if (s->pat && !util_glob_match(s->pat, s->plen, m, ml, 0))
        return;
    reply_bulk(s->c, m, ml);
    s->emitted++;
}

void cmd_sscan(client *c)
{
    unsigned long long cursor;
    obj *o;
    struct scan_opts so;
    if (!scan_key_start_or_reply(c, OBJ_SET, &cursor, &o, &so))
        return;
    struct sscan_ctx s = {c, so.pat, so.plen, 0, 0};
    reply_array(c, 2);
    void *slot = reply_defer_len(c);
    void *members = reply_defer_len(c);
    if (o->encoding == OBJ_ENC_INTSET) {
        /* an intset goes out whole in one reply */
        struct set_iter it;
        const char *m;
        size_t ml;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &m, &ml))
            sscan_emit(&s, m, ml);
        set_iter_done(&it);
        cursor = 0;
    } else {
        /* Redis's loop: stop at count members or after count * 10 buckets */
        long long maxiter = so.maxiter;
        do {
            cursor = set_scan(o, cursor, sscan_emit, &s);
        } while (cursor && maxiter-- && s.scanned < so.count);
    }
    reply_set_array_len(c, members, s.emitted);
    char buf[32];
    int len = util_ull2str(buf, sizeof(buf), cursor);
    reply_set_deferred_bulk(c, slot, buf, (size_t)len);
}
