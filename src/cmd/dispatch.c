/*
 * dispatch.c: running clients' requests (dispatch.h).
 *
 * Dispatch order is Redis's: unknown command, arity, authentication, then
 * MULTI's queueing; then the command's keys (from the table's key specs,
 * or the whole transaction's for EXEC) go to tier/'s prefetch, which may
 * park the client; then the handler runs (command_call). A parked client
 * is resumed by tier/ through the resume hook registered here, which runs
 * the command and then the client's pipelined requests.
 *
 * Backpressure: before its keys are read, a write command (or an EXEC
 * with writes queued) waits as long as keyspace_write_delay_ms says while
 * checkpoints fall behind the effect log; the client is parked meanwhile,
 * so its pipelined requests wait behind it, in order.
 *
 * Accounting: a call counts its time, latency and slowlog entry when it
 * ends, and a failed call when it replied an error. A command that blocks
 * (BLPOP...) is counted once, when it is finally served, timed out or
 * unblocked, with the time it spent running (not waiting), as Redis does:
 * that is when it appears in the slow log.
 *
 * This file also owns what net/ asks of the layer above: a new client's
 * db, forgetting a freed client everywhere, and INFO errorstats.
 */
#include "cmd/dispatch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/blocked.h"
#include "cmd/command.h"
#include "cmd/multi.h"
#include "cmd/slowlog.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/hist.h"
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "tier/tier.h"

struct cmd_settings cmd_settings;
struct cmd_stats cmd_stats;

/* ---- error statistics ---------------------------------------------------- */

static uint64_t errname_hash(const void *k)
{
    return dict_cstr_nocase_hash(k);
}
static int errname_eq(const void *a, const void *b)
{
    return strcmp(a, b) == 0;
}
static void errname_free(void *k)
{
    free(k);
}
static const dict_type errstats_type = {errname_hash, errname_eq, errname_free, NULL};
static dict *errorstats; /* error code -> count */

/* net's error_reply hook: INFO errorstats, and the failure of the call
 * running (a blocked command's is counted when it is over). */
static void error_replied(client *c, const char *code, size_t len)
{
    char name[64];
    if (len >= sizeof(name))
        len = sizeof(name) - 1;
    memcpy(name, code, len);
    name[len] = 0;
    cmd_stats.total_error_replies++;
    c->errors_replied++;
    if (c->cmd && (c->flags & CLIENT_IN_CALL))
        ((struct command *)c->cmd)->failed_calls++;
    dict_entry *e = dict_find(errorstats, name);
    if (!e) {
        if (dict_size(errorstats) >= 128) /* as Redis: a flood of distinct codes is not tracked */
            return;
        e = dict_add(errorstats, heap_strdup(name), NULL);
        e->v.s64 = 0;
    }
    e->v.s64++;
}

void dispatch_errorstats(void (*fn)(void *ctx, const char *code, long long count), void *ctx)
{
    dict_iter it;
    dict_iter_init(&it, errorstats);
    dict_entry *e;
    while ((e = dict_iter_next(&it)))
        fn(ctx, e->key, e->v.s64);
    dict_iter_done(&it);
}

void dispatch_reset_stats(void)
{
    cmd_stats.numcommands = 0;
    cmd_stats.total_error_replies = 0;
    dict_clear(errorstats);
    command_reset_stats();
}

/* ---- refusing ------------------------------------------------------------ */

static void reject_unknown(client *c)
{
    char args[512];
    size_t off = 0;
    args[0] = 0;
    for (int i = 1; i < c->argc && off < 128; i++) {
        int room = 128 - (int)off;
        off += (size_t)snprintf(args + off, sizeof(args) - off, "'%.*s' ", room, c->argv[i]);
        if (off >= sizeof(args))
            off = sizeof(args) - 1;
    }
    reply_error_fmt(c, "ERR unknown command '%.128s', with args beginning with: %s", c->argv[0],
                    args);
}

/* A command refused before it runs: counted, and a transaction being
 * queued will abort. */
static void reject(client *c)
{
    if (c->cmd)
        ((struct command *)c->cmd)->rejected_calls++;
    multi_flag_error(c);
}

/* ---- keys and prefetch ---------------------------------------------------- */

/* The keys of the command being dispatched (tier_prefetch copies them). */
static struct key_list keys;

/* Gives add the keys of one invocation in db index dbindex (unless the
 * command names another db for a key). */
static void keys_of(const struct command *cmd, int argc, str *argv, int dbindex,
                    void (*add)(void *ctx, int dbindex, str key), void *ctx)
{
    struct keyref few[16], *refs = few; /* most commands name a few keys */
    int n = command_get_keys(cmd, argc, argv, few, 16);
    if (n > 16)
        n = command_keys_alloc(cmd, argc, argv, &refs);
    for (int i = 0; i < n; i++)
        add(ctx, refs[i].dbindex < 0 ? dbindex : refs[i].dbindex, argv[refs[i].argi]);
    if (refs != few)
        free(refs);
}

/* A db index argument of a queued command, or -1 when not a valid one. */
static int db_index_arg(const str arg)
{
    long long idx;
    if (!util_str2ll(arg, str_len(arg), &idx) || idx < 0 || idx >= keyspace_count())
        return -1;
    return (int)idx;
}

/* The keys EXEC reads: the WATCHed keys, then every queued command's, each
 * in the dataset it will be in when it runs: a queued SELECT changes the
 * db index of the commands after it, a queued SWAPDB which dataset an
 * index names (perm: index -> the index that names it now). */
static void exec_keys(client *c)
{
    if (!(c->flags & CLIENT_MULTI))
        return; /* EXEC without MULTI: an error, no keys */
    int dbindex = c->dbindex;
    int ndb = keyspace_count();
    int *perm = heap_malloc((size_t)ndb * sizeof(*perm));
    for (int i = 0; i < ndb; i++)
        perm[i] = i;
    multi_watched_keys(c, key_list_add, &keys);
    for (int i = 0; i < multi_queued(c); i++) {
        const struct command *cmd;
        int argc;
        str *argv;
        multi_queued_at(c, i, &cmd, &argc, &argv);
        if (cmd->flags & CMD_LT_SELECT) {
            int idx = db_index_arg(argv[1]);
            if (idx >= 0)
                dbindex = idx;
            continue;
        }
        if (cmd->flags & CMD_LT_SWAPDB) {
            int a = db_index_arg(argv[1]), b = db_index_arg(argv[2]);
            if (a >= 0 && b >= 0) {
                int t = perm[a];
                perm[a] = perm[b];
                perm[b] = t;
            }
            continue;
        }
        int first = keys.n;
        keys_of(cmd, argc, argv, dbindex, key_list_add, &keys);
        for (int k = first; k < keys.n; k++)
            keys.k[k].dbindex = perm[keys.k[k].dbindex];
    }
    free(perm);
}

/* Reads c's cold keys before its command runs: 0 when it can run now, 1
 * when it is parked (resume() runs it). */
static int prefetch(client *c)
{
    const struct command *cmd = c->cmd;
    if (cmd->flags & CMD_LT_NO_PREFETCH)
        return 0; /* OBJECT TIER: loading the key would change the answer */
    keys.n = 0;
    if (cmd->flags & CMD_LT_EXEC)
        exec_keys(c);
    else
        keys_of(cmd, c->argc, c->argv, c->dbindex, key_list_add, &keys);
    if (keys.n == 0)
        return 0;
    int flags = (cmd->flags & CMD_LT_META) ? PREFETCH_META : 0;
    if (tier_prefetch(c, c->arrival, keys.k, keys.n, flags, c->known) == 0)
        return 0;
    c->flags |= CLIENT_PARKED;
    return 1;
}

/* The reads of c's keys failed: the command does not run (a key it could
 * not read must never be taken for an absent one); a transaction is
 * discarded, as when EXEC is refused. */
static void refuse_unread(client *c)
{
    reply_error_fmt(c, "ERR storage read failed: %s", c->known->read_err);
    if (c->cmd->flags & CMD_LT_EXEC)
        multi_discard(c);
    known_clear(c->known);
}

/* After a parked command ran: the client's pipelined requests. */
static void continue_input(client *c)
{
    if (c->flags & CLIENT_BLOCKED)
        return; /* the argv stays for the re-runs */
    client_reset_argv(c);
    client_process_input(c);
}

/* tier's resume hook: the parked client's keys are in. */
static void resume(void *owner)
{
    client *c = owner;
    c->flags &= ~CLIENT_PARKED;
    if (known_failed(c->known))
        refuse_unread(c);
    else
        command_call(c);
    continue_input(c);
}

/* ---- backpressure -------------------------------------------------------- */

#define THROTTLE_POLL_MS 10 /* at checkpoint-max-lag a write looks again this often */

static int64_t throttle_wake(ev_loop *l, long long id, void *data)
{
    (void)l;
    (void)id;
    client *c = data;
    if (keyspace_write_delay_ms() < 0)
        return THROTTLE_POLL_MS; /* still at the bound: the checkpoint goes on */
    c->flags &= ~(CLIENT_PARKED | CLIENT_THROTTLED);
    c->throttle_timer = 0; /* removed by our return value */
    cmd_stats.delayed_us += (long long)(util_monotonic_us() - c->throttle_since_us);
    if (!prefetch(c)) {
        command_call(c);
        continue_input(c);
    }
    return -1;
}

/* Holds c's write command back while checkpoints catch up: 1 when it
 * waits (throttle_wake runs it), 0 when it runs now. */
static int throttle(client *c)
{
    const struct command *cmd = c->cmd;
    if (!(cmd->flags & CMD_WRITE) && !((cmd->flags & CMD_LT_EXEC) && multi_queued_writes(c)))
        return 0;
    int ms = keyspace_write_delay_ms();
    if (!ms)
        return 0;
    c->flags |= CLIENT_PARKED | CLIENT_THROTTLED;
    c->throttle_since_us = util_monotonic_us();
    c->throttle_timer = ev_timer_add(net.loop, ms > 0 ? ms : THROTTLE_POLL_MS, throttle_wake, c);
    cmd_stats.delayed_writes++;
    return 1;
}

static const char *(*protected_refusal)(client *c, const struct command *cmd);

void dispatch_set_protected_check(const char *(*refusal)(client *c, const struct command *cmd))
{
    protected_refusal = refusal;
}

void command_process(client *c)
{
    /* before any parking: a command that waits for a storage read keeps
     * its place among blocked clients (blocked.c) */
    c->arrival = ++cmd_stats.arrivals;
    const struct command *top = command_lookup(c->argv[0]);
    const struct command *cmd = command_resolve_from(top, c->argc, c->argv);
    c->cmd = NULL;
    if (!cmd) {
        if (top && top->nsubs && c->argc >= 2) {
            char name[64];
            snprintf(name, sizeof(name), "%s", top->name);
            for (char *p = name; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            reply_error_fmt(c, "ERR unknown subcommand '%.128s'. Try %s HELP.", c->argv[1], name);
        } else {
            reject_unknown(c);
        }
        reject(c);
        return;
    }
    c->cmd = cmd;
    if ((cmd->nsubs && !cmd->proc && c->argc < 2) || (cmd->arity > 0 && c->argc != cmd->arity) ||
        c->argc < -cmd->arity) {
        reply_error_arity(c);
        reject(c);
        return;
    }
    const char *refused;
    if ((cmd->flags & CMD_PROTECTED) && protected_refusal &&
        (refused = protected_refusal(c, cmd))) {
        reply_error(c, refused);
        reject(c);
        return;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NO_AUTH)) {
        reply_error(c, "NOAUTH Authentication required.");
        reject(c);
        return;
    }
    /* as Redis with an AOF it cannot write: write commands (EXEC of any)
     * and PING are refused while storage refuses writes */
    const char *werr = keyspace_write_error();
    if (werr && ((cmd->flags & CMD_WRITE) || cmd->proc == cmd_ping ||
                 ((cmd->flags & CMD_LT_EXEC) && multi_queued_writes(c)))) {
        if ((cmd->flags & CMD_LT_EXEC) && (c->flags & CLIENT_MULTI)) {
            reply_error_fmt(c,
                            "EXECABORT Transaction discarded because of: MISCONF Errors writing "
                            "to the AOF file: %s",
                            werr);
            multi_discard(c);
        } else {
            reply_error_fmt(c, "MISCONF Errors writing to the AOF file: %s", werr);
        }
        reject(c);
        return;
    }
    if (c->flags & CLIENT_MULTI) {
        if (cmd->flags & CMD_NO_MULTI) {
            reply_error(c, "ERR Command not allowed inside a transaction");
            reject(c);
            return;
        }
        if (!(cmd->flags & CMD_LT_IN_MULTI)) {
            multi_queue(c);
            return;
        }
    }
    if (throttle(c))
        return; /* throttle_wake() runs it */
    if (prefetch(c))
        return; /* parked: resume() runs it */
    command_call(c);
}

/* The command a logged invocation runs, or NULL when the replay refuses
 * it (unknown, or the wrong number of arguments). */
static const struct command *replay_resolve(int argc, str *argv)
{
    const struct command *cmd = command_resolve_from(command_lookup(argv[0]), argc, argv);
    if (!cmd || (cmd->nsubs && !cmd->proc && argc < 2) || (cmd->arity > 0 && argc != cmd->arity) ||
        argc < -cmd->arity)
        return NULL;
    return cmd;
}

void dispatch_replay_keys(int argc, str *argv, int *dbindex,
                          void (*add)(void *ctx, int dbindex, str key), void *ctx)
{
    const struct command *cmd = replay_resolve(argc, argv);
    if (!cmd)
        return;
    if (cmd->flags & CMD_LT_SELECT) {
        int idx = db_index_arg(argv[1]);
        if (idx >= 0)
            *dbindex = idx;
        return;
    }
    keys_of(cmd, argc, argv, *dbindex, add, ctx);
}

int dispatch_replay(client *c)
{
    const struct command *cmd = replay_resolve(c->argc, c->argv);
    if (!cmd)
        return -1;
    c->cmd = cmd;
    c->arrival = ++cmd_stats.arrivals;
    if ((c->flags & CLIENT_MULTI) && !(cmd->flags & CMD_LT_IN_MULTI)) {
        multi_queue(c);
        return 0;
    }
    /* nothing may block: a pop finds what the log says was there */
    unsigned was = c->flags & CLIENT_IN_EXEC;
    c->flags |= CLIENT_IN_EXEC;
    command_call(c);
    c->flags = (c->flags & ~CLIENT_IN_EXEC) | was;
    return 0;
}

/* ---- calls --------------------------------------------------------------- */

/* Counts one call of cmd that ran for dur µs: calls, time, latency
 * histogram, slow log. */
static void account(client *c, struct command *cmd, long long dur)
{
    cmd->calls++;
    cmd->usec += dur;
    if (cmd_settings.latency_tracking) {
        if (!cmd->latency) {
            cmd->latency = heap_malloc(sizeof(*cmd->latency));
            hist_init(cmd->latency);
        }
        hist_record(cmd->latency, (uint64_t)dur);
    }
    cmd_stats.numcommands++;
    c->commands++;
    if (!(cmd->flags & CMD_SKIP_SLOWLOG))
        slowlog_push(c, dur);
}

static const struct call_hooks *call_hooks;

void dispatch_set_call_hooks(const struct call_hooks *h)
{
    call_hooks = h;
}

/* Runs c->cmd's handler; returns its duration in µs. */
static long long run(client *c)
{
    keyspace_clock_update();
    uint64_t start = util_monotonic_us();
    struct reply_meter outer = reply_meter_begin(c);
    long long changes = ks_stats.changes;
    if (call_hooks)
        call_hooks->begin(c);
    c->cmd->proc(c);
    if (call_hooks)
        call_hooks->end(c, ks_stats.changes - changes);
    reply_meter_end(c, outer);
    return (long long)(util_monotonic_us() - start);
}

/* Runs c->cmd and accounts for it, unless it blocked: then it is counted
 * when it is over (command_blocked_done). */
static void call(client *c)
{
    long long dur = run(c);
    if (c->flags & CLIENT_BLOCKED) {
        c->block_run_us = dur;
        c->block_errors = c->errors_replied;
        return;
    }
    account(c, (struct command *)c->cmd, dur);
}

/* A command that changed the keyspace acknowledged a write with its reply
 * [start, now): if the write cannot be made durable, the reply becomes an
 * error (net's client_fail_writes). */
static void mark_write(client *c, uint64_t start, long long changes)
{
    if (ks_stats.changes != changes &&
        (c->cmd->flags & (CMD_WRITE | CMD_LT_EXEC) || (c->flags & CLIENT_RERUN)))
        client_mark_write_reply(c, start, reply_mark(c));
}

void command_call(client *c)
{
    net.current = c;
    c->lastcmd = c->cmd; /* CLIENT LIST shows the running command as cmd= */
    c->flags |= CLIENT_IN_CALL;
    uint64_t start = reply_mark(c);
    long long changes = ks_stats.changes;
    call(c);
    mark_write(c, start, changes);
    known_clear(c->known);
    c->flags &= ~CLIENT_IN_CALL;
    blocked_handle_ready(); /* keys this command filled serve blocked clients now */
    net.current = NULL;
    c->flags &= ~CLIENT_REPLY_SKIP;
    if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= ~CLIENT_REPLY_SKIP_NEXT;
        c->flags |= CLIENT_REPLY_SKIP;
    }
}

void command_call_queued(client *c)
{
    call(c);
}

void command_call_blocked(client *c)
{
    client *saved = net.current;
    net.current = c;
    uint64_t start = reply_mark(c);
    long long changes = ks_stats.changes;
    c->block_run_us += run(c);
    mark_write(c, start, changes);
    known_clear(c->known);
    net.current = saved;
}

void command_blocked_done(client *c)
{
    struct command *cmd = (struct command *)c->cmd;
    account(c, cmd, c->block_run_us);
    if (c->errors_replied != c->block_errors)
        cmd->failed_calls++;
}

/* ---- clients ------------------------------------------------------------- */

int client_select(client *c, int index)
{
    struct db *db = keyspace_db(index);
    if (!db)
        return -1;
    c->dbindex = index;
    c->db = db;
    return 0;
}

/* net's created hook */
static void client_created(client *c)
{
    client_select(c, 0);
    c->known = known_new();
}

/* net's freed hook: c is forgotten by every layer that keeps it. */
static void client_freed(client *c)
{
    if (c->flags & CLIENT_THROTTLED)
        ev_timer_del(net.loop, c->throttle_timer);
    else if (c->flags & CLIENT_PARKED)
        tier_cancel(c);
    if (c->flags & (CLIENT_BLOCKED | CLIENT_UNBLOCKED))
        blocked_client_freed(c);
    multi_reset(c);
    known_free(c->known);
    c->known = NULL;
}

/* keyspace's db_replaced listener: WATCHed keys there may change, and after
 * a swap clients blocked in the db may find their keys filled (served
 * after the command). */
static void db_replaced(int emptied, int replaced)
{
    multi_touch_db(emptied, replaced);
    if (replaced >= 0)
        blocked_signal_db(emptied);
}

void dispatch_init(void)
{
    errorstats = dict_create(&errstats_type);
    static const struct net_hooks hooks = {client_created, command_process, client_freed,
                                           error_replied};
    net_set_hooks(&hooks);
    tier_set_resume_hook(resume);
    keyspace_on_key_filled(blocked_signal_key);
    keyspace_on_key_changed(multi_touch_key);
    keyspace_on_db_replaced(db_replaced);
}
