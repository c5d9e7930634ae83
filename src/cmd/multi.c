/*
 * multi.c: MULTI/EXEC/DISCARD and WATCH/UNWATCH (see multi.h).
 *
 * A client's state lives in c->mstate, made on first use: the queue (each
 * command with the argv it arrived with) and the list of its watched keys.
 * Every watched key is one node, in two lists at once: the client's (to
 * unwatch it all) and the key's watchers (to dirty them on a change), the
 * latter found through `watchers`, keyed by db index + key as blocked.c
 * keys its wait lists.
 *
 * Invariants: a client watches a key at most once; a node is in the key's
 * list exactly while it is in the client's; a client running its EXEC is
 * never dirtied or unwatched by the changes its own queue makes (its watched
 * keys are read by that EXEC's prefetch and still referenced).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/multi.h"

#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/reply.h"

struct queued {
    const struct command *cmd;
    int argc;
    str *argv;
};

struct watched {
    client *c;
    str wkey;                    /* the key of `watchers` (owned by the dict) */
    str key;                     /* the user key, for EXEC's prefetch */
    int dbindex;                 /* the db the key was watched in */
    int expired;                 /* logically expired when watched: deleting it is no change */
    struct watched *prev, *next; /* the key's watchers */
    struct watched *cnext;       /* the client's watched keys */
};

struct watchers {
    struct watched *head;
};

struct multi_state {
    struct queued *q;
    int n, cap;
    size_t bytes;
    struct watched *watched;
};

static void watchers_free(void *v)
{
    free(v);
}
static const dict_type watchers_type = {dict_str_hash, dict_str_eq, dict_str_free, watchers_free};
static dict *watchers; /* wkey -> struct watchers */

static struct multi_state *state_of(client *c)
{
    if (!c->mstate)
        c->mstate = heap_calloc(1, sizeof(*c->mstate));
    return c->mstate;
}

/* ---- queue --------------------------------------------------------------- */

void multi_queue(client *c)
{
    /* a transaction that will fail keeps nothing, as Redis does */
    if (!(c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC))) {
        struct multi_state *m = state_of(c);
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 8;
            m->q = heap_realloc(m->q, (size_t)m->cap * sizeof(*m->q));
        }
        struct queued *q = &m->q[m->n++];
        q->cmd = c->cmd;
        q->argc = c->argc;
        q->argv = c->argv;
        m->bytes += sizeof(*q) + (size_t)c->argc * sizeof(str);
        for (int i = 0; i < c->argc; i++)
            m->bytes += str_len(c->argv[i]) + sizeof(struct str_hdr) + 1;
        c->argv = NULL;
        c->argc = 0;
    }
    reply_status(c, "QUEUED");
}

void multi_flag_error(client *c)
{
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
}

static void queue_free(struct multi_state *m)
{
    for (int i = 0; i < m->n; i++) {
        for (int j = 0; j < m->q[i].argc; j++)
            str_free(m->q[i].argv[j]);
        free(m->q[i].argv);
    }
    free(m->q);
    m->q = NULL;
    m->n = m->cap = 0;
    m->bytes = 0;
}

int multi_queued_writes(const client *c)
{
    for (int i = 0; c->mstate && (c->flags & CLIENT_MULTI) && i < c->mstate->n; i++)
        if (c->mstate->q[i].cmd->flags & CMD_WRITE)
            return 1;
    return 0;
}

int multi_queued(const client *c)
{
    if (!(c->flags & CLIENT_MULTI))
        return -1;
    return c->mstate ? c->mstate->n : 0;
}

size_t multi_mem(const client *c)
{
    return c->mstate ? c->mstate->bytes : 0;
}

/* ---- WATCH --------------------------------------------------------------- */

static void unwatch_all(client *c)
{
    struct multi_state *m = c->mstate;
    if (!m)
        return;
    struct watched *w = m->watched;
    while (w) {
        struct watched *cnext = w->cnext;
        dict_entry *e = dict_find(watchers, w->wkey);
        struct watchers *ws = e->v.val;
        if (w->prev)
            w->prev->next = w->next;
        else
            ws->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        if (!ws->head)
            dict_delete(watchers, w->wkey);
        str_free(w->key);
        free(w);
        w = cnext;
    }
    m->watched = NULL;
}

static void watch_key(client *c, const str key)
{
    struct multi_state *m = state_of(c);
    size_t len = str_len(key);
    for (struct watched *w = m->watched; w; w = w->cnext)
        if (w->dbindex == c->dbindex && str_len(w->key) == len && !memcmp(w->key, key, len))
            return;
    if (!watchers)
        watchers = dict_create(&watchers_type);
    str wk = str_new_tagged((unsigned)c->dbindex, key, len);
    int existed;
    dict_entry *e = dict_add_or_find(watchers, wk, &existed);
    if (existed)
        str_free(wk);
    else
        e->v.val = heap_calloc(1, sizeof(struct watchers));
    struct watchers *ws = e->v.val;
    struct watched *w = heap_calloc(1, sizeof(*w));
    w->c = c;
    w->wkey = e->key;
    w->key = str_dup(key);
    w->dbindex = c->dbindex;
    /* the key is hot or known absent here: WATCH's keys were prefetched */
    w->expired =
        db_lookup(c->db, key, LOOKUP_EVEN_EXPIRED | LOOKUP_NOTOUCH | LOOKUP_NOSTATS, c->known) &&
        db_key_expired(c->db, key);
    w->next = ws->head;
    if (ws->head)
        ws->head->prev = w;
    ws->head = w;
    w->cnext = m->watched;
    m->watched = w;
}

void cmd_watch(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* its EXEC fails anyway: nothing more to watch */
    if (!(c->flags & CLIENT_DIRTY_CAS))
        for (int i = 1; i < c->argc; i++)
            watch_key(c, c->argv[i]);
    reply_ok(c);
}

void cmd_unwatch(client *c)
{
    unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(c);
}

void multi_touch_key(struct db *db, const str key)
{
    if (!watchers || dict_size(watchers) == 0)
        return;
    dict_entry *e = dict_find_tagged(watchers, (unsigned)db->index, key, str_len(key));
    if (!e)
        return;
    struct watched *w = ((struct watchers *)e->v.val)->head;
    while (w) {
        /* unwatching w's client frees w and maybe the key's entry, never
         * another client's node: take the next one first */
        struct watched *next = w->next;
        client *c = w->c;
        if (c->flags & CLIENT_IN_EXEC) {
            w = next;
            continue;
        }
        if (w->expired && db_key_state(db, key) != KEY_HOT) {
            w->expired = 0; /* a stale key was deleted: logically no change */
            w = next;
            continue;
        }
        c->flags |= CLIENT_DIRTY_CAS;
        unwatch_all(c); /* dirty already: nothing to watch any more */
        w = next;
    }
}

/* Whether key exists in db index i (hot or stored, expired or not), and if
 * so whether it is logically expired. */
static int key_exists_in(int i, const str key, int *expired)
{
    struct db *db = keyspace_db(i);
    int64_t when;
    *expired = 0;
    if (!db || !db_peek(db, key, &when))
        return 0;
    *expired = keyspace_time_passed(when);
    return 1;
}

void multi_touch_db(int emptied, int replaced)
{
    if (!watchers || dict_size(watchers) == 0)
        return;
    keyspace_clock_update();
    dict_iter it;
    dict_iter_init(&it, watchers);
    dict_entry *e;
    while ((e = dict_iter_next(&it))) {
        if (str_tag(e->key) != (unsigned)emptied)
            continue;
        struct watchers *ws = e->v.val;
        str key = ws->head->key;
        int exp_emptied, exp_replaced = 0;
        int in_emptied = key_exists_in(emptied, key, &exp_emptied);
        int in_replaced = replaced >= 0 && key_exists_in(replaced, key, &exp_replaced);
        if (!in_emptied && !in_replaced)
            continue;
        /* clients are only flagged here (no unwatch while iterating) */
        for (struct watched *w = ws->head; w; w = w->next) {
            if (w->c->flags & CLIENT_IN_EXEC)
                continue;
            if (w->expired) {
                if (!in_replaced) {
                    w->expired = 0; /* the stale key is gone: no change */
                    continue;
                }
                if (exp_replaced)
                    continue; /* stale, and stale again */
            } else if (!in_emptied && exp_replaced) {
                w->expired = 1; /* nothing became a stale key: no change yet */
                continue;
            }
            w->c->flags |= CLIENT_DIRTY_CAS;
        }
    }
    dict_iter_done(&it);
}

/* EXEC fails when a watched key that was live when watched has expired
 * since (no change was signalled: nothing deleted it yet). */
static int watched_key_expired(client *c)
{
    for (struct watched *w = c->mstate ? c->mstate->watched : NULL; w; w = w->cnext) {
        if (w->expired)
            continue;
        struct db *db = keyspace_db(w->dbindex);
        if (db_lookup(db, w->key, LOOKUP_EVEN_EXPIRED | LOOKUP_NOTOUCH | LOOKUP_NOSTATS,
                      c->known) &&
            db_key_expired(db, w->key))
            return 1;
    }
    return 0;
}

/* ---- MULTI, EXEC, DISCARD ------------------------------------------------ */

void multi_discard(client *c)
{
    if (c->mstate)
        queue_free(c->mstate);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatch_all(c);
}

void multi_reset(client *c)
{
    multi_discard(c);
    free(c->mstate);
    c->mstate = NULL;
}

void cmd_multi(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    reply_ok(c);
}

void cmd_discard(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_discard(c);
    reply_ok(c);
}

void multi_watched_keys(client *c, void (*add)(void *ctx, int dbindex, str key), void *ctx)
{
    for (struct watched *w = c->mstate ? c->mstate->watched : NULL; w; w = w->cnext)
        add(ctx, w->dbindex, w->key);
}

void multi_queued_at(const client *c, int i, const struct command **cmd, int *argc, str **argv)
{
    const struct queued *q = &c->mstate->q[i];
    *cmd = q->cmd;
    *argc = q->argc;
    *argv = q->argv;
}

void cmd_exec(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c))
        c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(c);
        multi_discard(c);
        return;
    }
    struct multi_state *m = state_of(c);
    int argc = c->argc;
    str *argv = c->argv;
    const struct command *exec = c->cmd;
    c->flags |= CLIENT_IN_EXEC;
    keyspace_set_atomic(1); /* no checkpoint may store part of it */
    reply_array(c, m->n);
    for (int i = 0; i < m->n; i++) {
        c->argc = m->q[i].argc;
        c->argv = m->q[i].argv;
        c->cmd = m->q[i].cmd;
        command_call_queued(c);
    }
    keyspace_set_atomic(0);
    c->argc = argc;
    c->argv = argv;
    c->cmd = exec;
    c->flags &= ~CLIENT_IN_EXEC;
    multi_discard(c);
}
