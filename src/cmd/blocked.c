/*
 * blocked.c: clients blocked on keys (blocked.h).
 *
 * Structures: `waiting` maps a db-qualified key (u16 BE db index + user
 * key) to its FIFO of waiters; each blocked client has one waiter node per
 * distinct key it named (struct blocking), so unblocking is O(keys). Ready
 * keys are queued once each (`ready_set`) in signal order, with the arrival
 * number of the command that filled them. A waiter whose keys a command
 * parked for a storage read names, one that arrived before that, is not
 * served yet: the key stays ready and is tried again after each command and
 * from before_sleep (the parked command runs first, as it would in Redis).
 * A client served or timed out is queued on `unblocked`; its remaining
 * pipelined input runs from before_sleep, never from inside another
 * client's command.
 *
 * Invariants: CLIENT_BLOCKED <=> c->blk != NULL <=> c is in the waiter list
 * of each of its keys, lists ordered by the arrival of the commands; a
 * re-run happens only from blocked_handle_ready, with CLIENT_RERUN set, and
 * never nests.
 */
#include "cmd/blocked.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/event.h"
#include "net/net.h"
#include "net/reply.h"
#include "ds/log.h"
#include "tier/tier.h"

struct waiter {
    client *c;
    str wkey; /* the waitlist's dict key (owned by the dict) */
    struct waiter *prev, *next;
};

struct waitlist {
    struct waiter *head, *tail;
};

struct blocking {
    int n;
    struct waiter **nodes;
    int64_t deadline_ms; /* 0: none */
    long long timer;     /* ev timer id, 0 if none */
    int btype;
};

static void waitlist_free(void *v)
{
    free(v);
}

static const dict_type waiting_type = {dict_str_hash, dict_str_eq, dict_str_free, waitlist_free};
static const dict_type ready_type = {dict_str_hash, dict_str_eq, dict_str_free, NULL};

/* A key that got a value, and the arrival number of the command that gave
 * it: its waiters may not overtake parked commands that arrived before. */
struct ready_key {
    str w;            /* wkey (heap copy) */
    uint64_t arrival; /* of the command that filled it */
};

static dict *waiting;           /* wkey -> struct waitlist */
static dict *ready_set;         /* wkeys queued in ready[] */
static struct ready_key *ready; /* in signal order */
static size_t nready, ready_cap;
static struct ready_key *deferred; /* ready keys whose next waiter must wait */
static size_t ndeferred, deferred_cap;
static uint64_t serving_arrival; /* the ready key's, while serving it */
static client **unblocked;
static size_t nunblocked, unblocked_cap;
static long long nblocked, ntimeout;
static int handling;
static uint64_t frees; /* clients freed so far: a pass checks liveness only if it moved */

static void ensure_init(void)
{
    if (!waiting) {
        waiting = dict_create(&waiting_type);
        ready_set = dict_create(&ready_type);
    }
}

/* ---- timeout ------------------------------------------------------------- */

int blocked_timeout_or_reply(client *c, const str arg, int64_t *deadline_ms)
{
    long double v;
    if (!util_str2ld(arg, str_len(arg), &v)) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    v *= 1000.0L;
    /* rounded up (0.0001 s waits 1 ms, never forever); Redis converts to long
     * long without a range check: what does not fit comes out as LLONG_MIN
     * on this platform, hence "negative" */
    long long ms = (v >= 9223372036854775807.0L || v <= -9223372036854775807.0L)
                       ? LLONG_MIN
                       : (long long)ceill(v);
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    *deadline_ms = ms > 0 ? util_mstime() + ms : 0;
    return 0;
}

/* ---- block, unblock ------------------------------------------------------ */

static void queue_unblocked(client *c)
{
    if (nunblocked == unblocked_cap) {
        unblocked_cap = unblocked_cap ? unblocked_cap * 2 : 16;
        unblocked = heap_realloc(unblocked, unblocked_cap * sizeof(*unblocked));
    }
    unblocked[nunblocked++] = c;
}

/* Takes c out of every wait list; its argv is released by the caller. */
static void unblock(client *c)
{
    struct blocking *b = c->blk;
    if (!b)
        return;
    for (int i = 0; i < b->n; i++) {
        struct waiter *w = b->nodes[i];
        dict_entry *e = dict_find(waiting, w->wkey);
        struct waitlist *wl = e->v.val;
        if (w->prev)
            w->prev->next = w->next;
        else
            wl->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            wl->tail = w->prev;
        free(w);
        if (!wl->head)
            dict_delete(waiting, e->key);
    }
    if (b->timer)
        ev_timer_del(net.loop, b->timer);
    if (b->deadline_ms)
        ntimeout--;
    free(b->nodes);
    free(b);
    c->blk = NULL;
    c->flags &= ~CLIENT_BLOCKED;
    nblocked--;
}

/* c's blocked command is over (served, timed out, unblocked): the next
 * pipelined command may run. */
static void finish(client *c)
{
    command_blocked_done(c);
    unblock(c);
    client_reset_argv(c);
    if (!(c->flags & CLIENT_UNBLOCKED)) {
        c->flags |= CLIENT_UNBLOCKED;
        queue_unblocked(c);
    }
}

static int64_t on_timeout(ev_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    client *c = data;
    c->blk->timer = 0; /* this timer is removed by our return value */
    reply_null_array(c);
    finish(c);
    return -1;
}

void blocked_wait(client *c, const str *keys, int nkeys, int64_t deadline_ms, int btype)
{
    if (c->flags & CLIENT_RERUN) {
        c->flags |= CLIENT_RERUN_WAITS; /* still blocked, nothing replied */
        return;
    }
    if (c->flags & CLIENT_IN_EXEC) { /* a transaction never waits: as if timed out */
        if (btype & BLOCK_NULL_BULK)
            reply_null(c);
        else
            reply_null_array(c);
        return;
    }
    btype &= ~BLOCK_NULL_BULK;
    ensure_init();
    struct blocking *b = heap_calloc(1, sizeof(*b));
    b->nodes = heap_calloc((size_t)nkeys, sizeof(*b->nodes));
    b->btype = btype;
    b->deadline_ms = deadline_ms;
    for (int i = 0; i < nkeys; i++) {
        str w = str_new_tagged((unsigned)c->dbindex, keys[i], str_len(keys[i]));
        dict_entry *e = dict_find(waiting, w);
        int dup = 0;
        for (int j = 0; j < b->n && !dup; j++)
            dup = str_len(b->nodes[j]->wkey) == str_len(w) &&
                  !memcmp(b->nodes[j]->wkey, w, str_len(w));
        if (dup) { /* BLPOP k k: one place in the queue */
            str_free(w);
            continue;
        }
        if (!e) {
            e = dict_add(waiting, w, heap_calloc(1, sizeof(struct waitlist)));
        } else {
            str_free(w);
        }
        struct waitlist *wl = e->v.val;
        struct waiter *node = heap_calloc(1, sizeof(*node));
        node->c = c;
        node->wkey = e->key;
        /* in the order the commands arrived, as Redis serves them: one that
         * was parked for a storage read may block after a later one */
        struct waiter *after = wl->tail;
        while (after && after->c->arrival > c->arrival)
            after = after->prev;
        node->prev = after;
        node->next = after ? after->next : wl->head;
        if (node->next)
            node->next->prev = node;
        else
            wl->tail = node;
        if (after)
            after->next = node;
        else
            wl->head = node;
        b->nodes[b->n++] = node;
    }
    c->blk = b;
    c->flags |= CLIENT_BLOCKED;
    nblocked++;
    if (deadline_ms) {
        ntimeout++;
        int64_t in = deadline_ms - util_mstime();
        b->timer = ev_timer_add(net.loop, in > 0 ? in : 0, on_timeout, c);
    }
}

int blocked_is_rerun(const client *c)
{
    return (c->flags & CLIENT_RERUN) != 0;
}

/* ---- ready keys ------------------------------------------------------------ */

static void push_ready(struct ready_key **a, size_t *n, size_t *cap, struct ready_key k)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *a = heap_realloc(*a, *cap * sizeof(**a));
    }
    (*a)[(*n)++] = k;
}

/* w: a key of `waiting` (some client waits on it). A key filled while
 * serving another one (BLMOVE's push) takes that key's arrival. */
static void signal_wkey(const str w)
{
    if (dict_find(ready_set, w))
        return;
    uint64_t at = handling      ? serving_arrival
                  : net.current ? net.current->arrival
                                : cmd_stats.arrivals + 1;
    push_ready(&ready, &nready, &ready_cap, (struct ready_key){str_dup(w), at});
    dict_add(ready_set, str_dup(w), NULL);
}

void blocked_signal_key(struct db *db, const str key)
{
    if (!waiting || !dict_size(waiting))
        return;
    dict_entry *e = dict_find_tagged(waiting, (unsigned)db->index, key, str_len(key));
    if (e)
        signal_wkey(e->key);
}

void blocked_signal_db(int dbindex)
{
    if (!waiting || !dict_size(waiting))
        return;
    dict_iter it;
    dict_iter_init(&it, waiting);
    dict_entry *e;
    while ((e = dict_iter_next(&it))) {
        if (str_tag(e->key) == (unsigned)dbindex)
            signal_wkey(e->key);
    }
    dict_iter_done(&it);
}

/* Re-runs c's command for a ready key; 1 when it was served (replied),
 * 0 when it found nothing and called blocked_wait again. */
static int rerun(client *c)
{
    c->flags |= CLIENT_RERUN;
    c->flags &= ~CLIENT_RERUN_WAITS;
    command_call_blocked(c);
    c->flags &= ~CLIENT_RERUN;
    return !(c->flags & CLIENT_RERUN_WAITS);
}

/* Whether a command parked for storage reads, that arrived before
 * `before`, names a key of c's blocked command: c must let it run first. */
static int after_parked(client *c, uint64_t before)
{
    if (!tier_waiting())
        return 0;
    struct keyref *refs;
    int n = command_keys_alloc(c->cmd, c->argc, c->argv, &refs);
    struct key_at *keys = heap_malloc((size_t)(n ? n : 1) * sizeof(*keys));
    for (int i = 0; i < n; i++)
        keys[i] = (struct key_at){refs[i].dbindex < 0 ? c->dbindex : refs[i].dbindex,
                                  c->argv[refs[i].argi]};
    int r = tier_keys_wanted_before(keys, n, before);
    free(keys);
    free(refs);
    return r;
}

void blocked_handle_ready(void)
{
    if (handling || !nready)
        return;
    handling = 1;
    uint64_t frees_at_start = frees;
    /* Keys signalled while serving (BLMOVE pushing to a waited list) are
     * appended and served in the same pass. */
    for (size_t r = 0; r < nready; r++) {
        str w = ready[r].w;
        serving_arrival = ready[r].arrival;
        dict_delete(ready_set, w);
        dict_entry *e = dict_find(waiting, w);
        if (e) {
            /* the clients waiting now, in order (the list changes as they
             * are served); each one that finds nothing stays blocked, and
             * the next one may wait for another type */
            struct waitlist *wl = e->v.val;
            size_t n = 0;
            for (struct waiter *x = wl->head; x; x = x->next)
                n++;
            uint64_t *ids = heap_malloc((n ? n : 1) * sizeof(*ids));
            client **cs = heap_malloc((n ? n : 1) * sizeof(*cs));
            n = 0;
            for (struct waiter *x = wl->head; x; x = x->next) {
                cs[n] = x->c;
                ids[n++] = x->c->id;
            }
            for (size_t i = 0; i < n; i++) {
                client *c = cs[i];
                /* a client freed during this pass is skipped */
                if ((frees != frees_at_start && !client_is_live(c, ids[i])) ||
                    !(c->flags & CLIENT_BLOCKED) || (c->flags & CLIENT_CLOSE_ASAP))
                    continue;
                /* a command parked for a read that arrived before the one
                 * that filled the key, and names a key of this client's
                 * command, runs first: this waiter and the ones after it
                 * are served later (before_sleep tries again) */
                if (after_parked(c, serving_arrival)) {
                    push_ready(&deferred, &ndeferred, &deferred_cap,
                               (struct ready_key){w, serving_arrival});
                    w = NULL;
                    break;
                }
                if (rerun(c))
                    finish(c);
            }
            free(cs);
            free(ids);
        }
        str_free(w);
        ready[r].w = NULL;
    }
    nready = 0;
    handling = 0;
    for (size_t d = 0; d < ndeferred; d++) {
        if (dict_find(ready_set, deferred[d].w)) { /* filled again meanwhile */
            str_free(deferred[d].w);
            continue;
        }
        dict_add(ready_set, str_dup(deferred[d].w), NULL);
        push_ready(&ready, &nready, &ready_cap, deferred[d]);
    }
    ndeferred = 0;
}

void blocked_process_unblocked(void)
{
    while (nunblocked) {
        client *c = unblocked[--nunblocked];
        c->flags &= ~CLIENT_UNBLOCKED;
        if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_BLOCKED))
            continue;
        client_process_input(c);
    }
}

/* ---- CLIENT UNBLOCK, freeing --------------------------------------------- */

int blocked_unblock_by_id(uint64_t id, int with_error)
{
    for (client *c = net.clients; c; c = c->next) {
        if (c->id != id)
            continue;
        if (!(c->flags & CLIENT_BLOCKED))
            return 0;
        if (with_error)
            reply_error(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        else
            reply_null_array(c);
        finish(c);
        return 1;
    }
    return 0;
}

void blocked_client_freed(client *c)
{
    frees++;
    unblock(c);
    for (size_t i = 0; i < nunblocked; i++) {
        if (unblocked[i] == c) {
            unblocked[i] = unblocked[--nunblocked];
            i--;
        }
    }
}

long long blocked_clients_count(void)
{
    return nblocked;
}

long long blocked_timeout_count(void)
{
    return ntimeout;
}
