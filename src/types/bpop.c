/*
 * bpop.c: the blocking list and sorted set commands (BLPOP BRPOP
 * BLMPOP BLMOVE BRPOPLPUSH, BZPOPMIN BZPOPMAX BZMPOP).
 *
 * Each handler first does what the non-blocking command would: with an
 * element to pop it replies at once through types/list.h. With nothing, the
 * client blocks (cmd/blocked.h) and the same handler runs again whenever
 * one of its keys gets a value. On such a re-run a key of another type
 * counts as empty (Redis 7.0 serves only list keys to list waiters, sorted
 * sets to sorted set waiters), except the destination of a move, whose
 * wrong type is the client's reply.
 *
 * Effects (repl/effects.h): a served command propagates the non-blocking
 * one it amounted to, as Redis 7.0 does: `LPOP|RPOP k [n]` (types/list.c),
 * `ZPOPMIN|ZPOPMAX k [n]` (types/zset.c), `LMOVE src dst <from> <to>` for
 * BLMOVE (the client's words when served at once, `left`/`right` when
 * served later) and `RPOPLPUSH src dst` for BRPOPLPUSH. A command that
 * blocks or times out changes nothing and propagates nothing.
 */
#include "cmd/command.h"
#include "keyspace/db.h"
#include "net/reply.h"
#include "cmd/blocked.h"
#include "repl/effects.h"
#include "types/list.h"
#include "types/zset.h"
#include "types/types.h"

/* The value of type `type` at key: 1 with *o set, 0 when absent or (on a
 * re-run) of another type, -1 after a WRONGTYPE reply or the read error of
 * a key a re-run had to read and could not (the client is then served
 * with the error). */
static int value_at(client *c, const str key, int type, obj **o)
{
    *o = db_lookup(c->db, key, LOOKUP_WRITE, c->known);
    if (!*o)
        return read_ok_or_reply(c);
    if ((*o)->type == type)
        return 1;
    if (blocked_is_rerun(c)) {
        *o = NULL;
        return 0;
    }
    reply_error_wrongtype(c);
    return -1;
}

static void bpop_generic(client *c, int where)
{
    int64_t deadline;
    if (blocked_timeout_or_reply(c, c->argv[c->argc - 1], &deadline) < 0)
        return;
    for (int j = 1; j < c->argc - 1; j++) {
        obj *o;
        int rc = value_at(c, c->argv[j], OBJ_LIST, &o);
        if (rc < 0)
            return;
        if (rc > 0) {
            list_pop_reply_with_key(c, c->db, c->argv[j], o, where);
            return;
        }
    }
    blocked_wait(c, c->argv + 1, c->argc - 2, deadline, BLOCK_LIST);
}

void cmd_blpop(client *c)
{
    bpop_generic(c, LIST_HEAD);
}

void cmd_brpop(client *c)
{
    bpop_generic(c, LIST_TAIL);
}

void cmd_blmpop(client *c)
{
    long numkeys, count;
    int where;
    int64_t deadline;
    if (list_mpop_args_or_reply(c, 2, &numkeys, &where, &count) < 0 ||
        blocked_timeout_or_reply(c, c->argv[1], &deadline) < 0)
        return;
    for (long j = 0; j < numkeys; j++) {
        obj *o;
        int rc = value_at(c, c->argv[3 + j], OBJ_LIST, &o);
        if (rc < 0)
            return;
        if (rc > 0) {
            list_mpop_reply_with_key(c, c->db, c->argv[3 + j], o, where, count);
            return;
        }
    }
    blocked_wait(c, c->argv + 3, (int)numkeys, deadline, BLOCK_LIST);
}

/* BLMOVE (lmove) and BRPOPLPUSH. */
static void bmove_generic(client *c, int lmove, int wherefrom, int whereto, const str timeout)
{
    int64_t deadline;
    if (blocked_timeout_or_reply(c, timeout, &deadline) < 0)
        return;
    obj *o;
    int rc = value_at(c, c->argv[1], OBJ_LIST, &o);
    if (rc < 0)
        return;
    if (rc == 0) {
        blocked_wait(c, c->argv + 1, 1, deadline, BLOCK_LIST | BLOCK_NULL_BULK);
        return;
    }
    obj *dobj = db_lookup(c->db, c->argv[2], LOOKUP_WRITE, c->known);
    if (!dobj && read_ok_or_reply(c) < 0)
        return; /* served with the error; the source keeps its element */
    if (dobj && dobj->type != OBJ_LIST) {
        reply_error_wrongtype(c); /* served with the error; the source keeps its element */
        return;
    }
    list_move_reply(c, c->db, c->argv[1], o, c->argv[2], dobj, wherefrom, whereto);
    int later = blocked_is_rerun(c);
    effect_begin(c->dbindex, lmove ? 5 : 3);
    effect_arg_cstr(lmove ? "LMOVE" : "RPOPLPUSH");
    effect_arg_str(c->argv[1]);
    effect_arg_str(c->argv[2]);
    if (lmove && later) {
        effect_arg_cstr(wherefrom == LIST_HEAD ? "left" : "right");
        effect_arg_cstr(whereto == LIST_HEAD ? "left" : "right");
    } else if (lmove) {
        effect_arg_str(c->argv[3]);
        effect_arg_str(c->argv[4]);
    }
    effect_prevent();
}

void cmd_blmove(client *c)
{
    int wherefrom, whereto;
    if (list_where_or_reply(c, c->argv[3], &wherefrom) < 0 ||
        list_where_or_reply(c, c->argv[4], &whereto) < 0)
        return;
    bmove_generic(c, 1, wherefrom, whereto, c->argv[5]);
}

void cmd_brpoplpush(client *c)
{
    bmove_generic(c, 0, LIST_TAIL, LIST_HEAD, c->argv[3]);
}

/* ---- sorted sets ----------------------------------------------------------- */

/* The first key of keys holding a sorted set, -1 when none, -2 after a
 * WRONGTYPE reply. */
static int first_zset(client *c, str *keys, int nkeys)
{
    for (int j = 0; j < nkeys; j++) {
        obj *o;
        int rc = value_at(c, keys[j], OBJ_ZSET, &o);
        if (rc < 0)
            return -2;
        if (rc > 0)
            return j;
    }
    return -1;
}

static void bzpop_generic(client *c, int where)
{
    int64_t deadline;
    if (blocked_timeout_or_reply(c, c->argv[c->argc - 1], &deadline) < 0)
        return;
    int j = first_zset(c, c->argv + 1, c->argc - 2);
    if (j >= 0)
        zset_pop_reply(c, &c->argv[1 + j], 1, where, 1, -1, 0, 0, 1);
    else if (j == -1)
        blocked_wait(c, c->argv + 1, c->argc - 2, deadline, BLOCK_ZSET);
}

void cmd_bzpopmin(client *c)
{
    bzpop_generic(c, ZSET_POP_MIN);
}

void cmd_bzpopmax(client *c)
{
    bzpop_generic(c, ZSET_POP_MAX);
}

void cmd_bzmpop(client *c)
{
    long numkeys, count;
    int where;
    int64_t deadline;
    if (zset_mpop_args_or_reply(c, 2, &numkeys, &where, &count) < 0 ||
        blocked_timeout_or_reply(c, c->argv[1], &deadline) < 0)
        return;
    int j = first_zset(c, c->argv + 3, (int)numkeys);
    if (j >= 0)
        zset_pop_reply(c, &c->argv[3 + j], 1, where, 1, count, 1, 0, 1);
    else if (j == -1)
        blocked_wait(c, c->argv + 3, (int)numkeys, deadline, BLOCK_ZSET);
}
