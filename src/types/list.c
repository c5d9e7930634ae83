/*
 * list.c: the list commands (the non-blocking ones; types/list.h exports
 * their pop and move steps for the blocking ones).
 *
 * Each handler: parse the arguments Redis parses before the lookup, look
 * the key up, check the type, parse the rest, work through the list API
 * of keyspace/object_list.h, reply, then mark the key changed. Replies and
 * errors are Redis 7.0's, including the order in which they are checked.
 * A list that loses its last element is deleted; an empty list is never
 * stored. Elements popped in ranges are replied straight from the list,
 * before they are removed.
 *
 * Effects (repl/effects.h), as Redis 7.0 propagates them: LMPOP and the
 * blocking pops propagate the plain pop they made (`LPOP k [n]`, `RPOP k
 * [n]`), the blocking moves the LMOVE or RPOPLPUSH (types/bpop.c); the
 * others their own arguments.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/list.h"
#include "types/types.h"

/* After elements were removed from the list o at key: delete it if empty. */
static void list_removed(struct db *db, const str key, obj *o)
{
    if (list_len(o) == 0)
        db_delete(db, key, NULL); /* hot: nothing to read */
    else
        db_modified(db, key);
}

/* n elements from index start, towards the tail, or towards the head
 * when reverse (start is then the first one replied). */
static void reply_range(client *c, obj *o, long start, long n, int reverse)
{
    reply_array(c, n);
    struct list_iter it;
    const char *s;
    size_t len;
    list_iter_init(&it, o, start, reverse ? LIST_HEAD : LIST_TAIL);
    while (n-- > 0 && list_iter_next(&it, &s, &len))
        reply_bulk(c, s, len);
}

/* The effect `LPOP|RPOP key [n]` (n < 0: none) in place of the command's. */
static void effect_pop(client *c, const str key, int where, long n)
{
    effect_begin(c->dbindex, n < 0 ? 2 : 3);
    effect_arg_cstr(where == LIST_HEAD ? "LPOP" : "RPOP");
    effect_arg_str(key);
    if (n >= 0)
        effect_arg_ll(n);
    effect_prevent();
}

/* ---- exported steps (types/list.h) --------------------------------------- */

int list_where_or_reply(client *c, const str arg, int *where)
{
    if (!strcasecmp(arg, "left")) {
        *where = LIST_HEAD;
    } else if (!strcasecmp(arg, "right")) {
        *where = LIST_TAIL;
    } else {
        reply_error_syntax(c);
        return -1;
    }
    return 0;
}

int list_mpop_args_or_reply(client *c, int numkeys_idx, long *numkeys, int *where, long *count)
{
    if (long_at_least_or_reply(c, c->argv[numkeys_idx], 1, "ERR numkeys should be greater than 0",
                               numkeys) < 0)
        return -1;
    /* numkeys may be anything up to LONG_MAX: compare without overflow */
    if (*numkeys >= c->argc - numkeys_idx - 1) {
        reply_error_syntax(c);
        return -1;
    }
    int where_idx = numkeys_idx + (int)*numkeys + 1;
    if (list_where_or_reply(c, c->argv[where_idx], where) < 0)
        return -1;
    *count = -1;
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (*count == -1 && !strcasecmp(c->argv[j], "count") && j + 1 < c->argc) {
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

void list_pop_reply_with_key(client *c, struct db *db, const str key, obj *o, int where)
{
    const char *s;
    size_t len;
    char buf[OBJ_LIST_BUF];
    long at = where == LIST_HEAD ? 0 : -1;
    list_index(o, at, &s, &len, buf);
    reply_array(c, 2);
    reply_bulk_str(c, key);
    reply_bulk(c, s, len);
    list_delete_range(o, at, 1);
    list_removed(db, key, o);
    effect_pop(c, key, where, -1);
}

/* Up to count elements from the where end, as LPOP/RPOP with a count;
 * returns how many. */
static long pop_range_reply(client *c, obj *o, int where, long count)
{
    long llen = (long)list_len(o);
    long n = count > llen ? llen : count;
    reply_range(c, o, where == LIST_HEAD ? 0 : -1, n, where == LIST_TAIL);
    list_delete_range(o, where == LIST_HEAD ? 0 : -n, (size_t)n);
    return n;
}

void list_mpop_reply_with_key(client *c, struct db *db, const str key, obj *o, int where,
                              long count)
{
    reply_array(c, 2);
    reply_bulk_str(c, key);
    long n = pop_range_reply(c, o, where, count);
    list_removed(db, key, o);
    effect_pop(c, key, where, n);
}

void list_move_reply(client *c, struct db *db, const str src, obj *o, const str dst, obj *dobj,
                     int wherefrom, int whereto)
{
    const char *s;
    size_t len;
    char buf[OBJ_LIST_BUF];
    long at = wherefrom == LIST_HEAD ? 0 : -1;
    list_index(o, at, &s, &len, buf);
    /* the element must outlive its removal (and src may be dst) */
    char *copy = heap_malloc(len ? len : 1);
    memcpy(copy, s, len);
    list_delete_range(o, at, 1);
    if (dobj) {
        list_push(dobj, copy, len, whereto);
        db_modified(db, dst);
    } else {
        dobj = obj_list_new();
        list_push(dobj, copy, len, whereto);
        db_add(db, dst, dobj);
    }
    reply_bulk(c, copy, len);
    free(copy);
    list_removed(db, src, o);
}

/* ---- push ---------------------------------------------------------------- */

static void push_generic(client *c, int where, int only_existing)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o && only_existing) {
        reply_long(c, 0);
        return;
    }
    int created = !o;
    if (created)
        o = obj_list_new();
    for (int j = 2; j < c->argc; j++)
        list_push(o, c->argv[j], str_len(c->argv[j]), where);
    if (created)
        db_add(c->db, c->argv[1], o);
    else
        db_modified(c->db, c->argv[1]);
    reply_long(c, (long long)list_len(o));
}

void cmd_lpush(client *c)
{
    push_generic(c, LIST_HEAD, 0);
}

void cmd_rpush(client *c)
{
    push_generic(c, LIST_TAIL, 0);
}

void cmd_lpushx(client *c)
{
    push_generic(c, LIST_HEAD, 1);
}

void cmd_rpushx(client *c)
{
    push_generic(c, LIST_TAIL, 1);
}

void cmd_linsert(client *c)
{
    int where;
    if (!strcasecmp(c->argv[2], "after")) {
        where = LIST_TAIL;
    } else if (!strcasecmp(c->argv[2], "before")) {
        where = LIST_HEAD;
    } else {
        reply_error_syntax(c);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_long(c, 0);
        return;
    }
    struct list_iter it;
    const char *s;
    size_t len;
    list_iter_init(&it, o, 0, LIST_TAIL);
    while (list_iter_next(&it, &s, &len)) {
        if (list_iter_equal(&it, c->argv[3], str_len(c->argv[3]))) {
            list_iter_insert(&it, c->argv[4], str_len(c->argv[4]), where);
            db_modified(c->db, c->argv[1]);
            reply_long(c, (long long)list_len(o));
            return;
        }
    }
    reply_long(c, -1);
}

/* ---- pop and move -------------------------------------------------------- */

static void pop_generic(client *c, int where)
{
    long count = 0;
    int hascount = c->argc == 3;
    if (c->argc > 3) {
        reply_error_arity(c);
        return;
    }
    if (hascount &&
        long_at_least_or_reply(c, c->argv[2], 0, "ERR value is out of range, must be positive",
                               &count) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        if (hascount)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    if (hascount && count == 0) {
        reply_empty_array(c);
        return;
    }
    if (!hascount) {
        const char *s;
        size_t len;
        char buf[OBJ_LIST_BUF];
        long at = where == LIST_HEAD ? 0 : -1;
        list_index(o, at, &s, &len, buf);
        reply_bulk(c, s, len);
        list_delete_range(o, at, 1);
    } else {
        pop_range_reply(c, o, where, count);
    }
    list_removed(c->db, c->argv[1], o);
}

void cmd_lpop(client *c)
{
    pop_generic(c, LIST_HEAD);
}

void cmd_rpop(client *c)
{
    pop_generic(c, LIST_TAIL);
}

static void move_generic(client *c, int wherefrom, int whereto)
{
    obj *o, *dobj;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    if (lookup_type_or_reply(c, c->argv[2], OBJ_LIST, &dobj, LOOKUP_WRITE) < 0)
        return;
    list_move_reply(c, c->db, c->argv[1], o, c->argv[2], dobj, wherefrom, whereto);
}

void cmd_lmove(client *c)
{
    int wherefrom, whereto;
    if (list_where_or_reply(c, c->argv[3], &wherefrom) < 0 ||
        list_where_or_reply(c, c->argv[4], &whereto) < 0)
        return;
    move_generic(c, wherefrom, whereto);
}

void cmd_rpoplpush(client *c)
{
    move_generic(c, LIST_TAIL, LIST_HEAD);
}

void cmd_lmpop(client *c)
{
    long numkeys, count;
    int where;
    if (list_mpop_args_or_reply(c, 1, &numkeys, &where, &count) < 0)
        return;
    for (long j = 0; j < numkeys; j++) {
        const str key = c->argv[2 + j];
        obj *o;
        if (lookup_type_or_reply(c, key, OBJ_LIST, &o, LOOKUP_WRITE) < 0)
            return;
        if (o) {
            list_mpop_reply_with_key(c, c->db, key, o, where, count);
            return;
        }
    }
    reply_null_array(c);
}

/* ---- read ---------------------------------------------------------------- */

void cmd_llen(client *c)
{
    reply_count(c, OBJ_LIST, list_len);
}

void cmd_lindex(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    long index;
    if (long_or_reply(c, c->argv[2], &index) < 0)
        return;
    const char *s;
    size_t len;
    char buf[OBJ_LIST_BUF];
    if (list_index(o, index, &s, &len, buf))
        reply_bulk(c, s, len);
    else
        reply_null(c);
}

void cmd_lrange(client *c)
{
    long start, end;
    if (long_or_reply(c, c->argv[2], &start) < 0 || long_or_reply(c, c->argv[3], &end) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        reply_empty_array(c);
        return;
    }
    long llen = (long)list_len(o);
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        reply_empty_array(c);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    reply_range(c, o, start, end - start + 1, 0);
}

void cmd_lpos(client *c)
{
    long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j];
        int moreargs = j + 1 < c->argc;
        if (!strcasecmp(opt, "rank") && moreargs) {
            if (long_or_reply(c, c->argv[++j], &rank) < 0)
                return;
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 "
                               "from the second ... or use negative to start from the end of "
                               "the list");
                return;
            }
        } else if (!strcasecmp(opt, "count") && moreargs) {
            if (long_at_least_or_reply(c, c->argv[++j], 0, "ERR COUNT can't be negative", &count) <
                0)
                return;
        } else if (!strcasecmp(opt, "maxlen") && moreargs) {
            if (long_at_least_or_reply(c, c->argv[++j], 0, "ERR MAXLEN can't be negative",
                                       &maxlen) < 0)
                return;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    /* A negative rank searches from the tail. Redis negates it with
     * wrap-around, so LONG_MIN stays negative and then matches every
     * element found: the unsigned arithmetic below keeps that answer. */
    int dir = LIST_TAIL;
    if (rank < 0) {
        rank = (long)(0ul - (unsigned long)rank);
        dir = LIST_HEAD;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_NONE) < 0)
        return;
    if (!o) {
        if (count != -1)
            reply_empty_array(c);
        else
            reply_null(c);
        return;
    }
    void *lenh = count != -1 ? reply_defer_len(c) : NULL;
    long llen = (long)list_len(o);
    long index = 0, matches = 0, matchindex = -1, arraylen = 0;
    struct list_iter it;
    const char *s;
    size_t len;
    const str ele = c->argv[2];
    list_iter_init(&it, o, dir == LIST_HEAD ? -1 : 0, dir);
    while ((maxlen == 0 || index < maxlen) && list_iter_next(&it, &s, &len)) {
        if (list_iter_equal(&it, ele, str_len(ele))) {
            matches++;
            matchindex = dir == LIST_TAIL ? index : llen - index - 1;
            if (matches >= rank) {
                if (!lenh)
                    break;
                arraylen++;
                reply_long(c, matchindex);
                long seen = (long)((unsigned long)matches - (unsigned long)rank + 1ul);
                if (count && seen >= count)
                    break;
            }
        }
        index++;
        matchindex = -1;
    }
    if (lenh)
        reply_set_array_len(c, lenh, arraylen);
    else if (matchindex != -1)
        reply_long(c, matchindex);
    else
        reply_null(c);
}

/* ---- change in place ----------------------------------------------------- */

void cmd_lset(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_error(c, "ERR no such key");
        return;
    }
    long index;
    if (long_or_reply(c, c->argv[2], &index) < 0)
        return;
    if (!list_set(o, index, c->argv[3], str_len(c->argv[3]))) {
        reply_error(c, "ERR index out of range");
        return;
    }
    db_modified(c->db, c->argv[1]);
    reply_ok(c);
}

void cmd_ltrim(client *c)
{
    long start, end;
    if (long_or_reply(c, c->argv[2], &start) < 0 || long_or_reply(c, c->argv[3], &end) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_ok(c);
        return;
    }
    long llen = (long)list_len(o), ltrim, rtrim;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        /* the whole list goes */
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen)
            end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    list_delete_range(o, 0, (size_t)ltrim);
    list_delete_range(o, -rtrim, (size_t)rtrim);
    list_removed(c->db, c->argv[1], o);
    reply_ok(c);
}

void cmd_lrem(client *c)
{
    long toremove;
    if (long_or_reply(c, c->argv[2], &toremove) < 0)
        return;
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_LIST, &o, LOOKUP_WRITE) < 0)
        return;
    if (!o) {
        reply_long(c, 0);
        return;
    }
    struct list_iter it;
    const char *s;
    size_t len;
    const str ele = c->argv[3];
    long removed = 0;
    if (toremove < 0) {
        toremove = (long)(0ul - (unsigned long)toremove);
        list_iter_init(&it, o, -1, LIST_HEAD);
    } else {
        list_iter_init(&it, o, 0, LIST_TAIL);
    }
    while (list_iter_next(&it, &s, &len)) {
        if (list_iter_equal(&it, ele, str_len(ele))) {
            list_iter_delete(&it);
            removed++;
            if (toremove && removed == toremove)
                break;
        }
    }
    if (removed)
        list_removed(c->db, c->argv[1], o);
    reply_long(c, removed);
}
