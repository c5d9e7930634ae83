/*
 * dispatch.h: running clients' requests (dispatch.c).
 *
 * A request goes: command lookup, arity, authentication, transaction
 * (queued inside MULTI), in Redis's order; then the command's keys go to
 * tier/'s prefetch, which may park the client until they are read; then
 * the handler runs (command_call) with its accounting, and the blocked
 * clients whose keys it filled are served.
 */
#ifndef LT_CMD_DISPATCH_H
#define LT_CMD_DISPATCH_H

#include <stdint.h>

#include "net/client.h"

struct cmd_stats {
    long long numcommands;
    long long total_error_replies;
    uint64_t arrivals;        /* commands dispatched so far: their arrival order */
    long long delayed_writes; /* write commands held back by backpressure */
    long long delayed_us;     /* ... and how long they waited in all */
};
extern struct cmd_stats cmd_stats;

/* Registers dispatch with the layers below: net's hooks (a new client, a
 * request, a freed client, an error reply), tier's resume hook, and the
 * keyspace listeners of transactions and blocked clients. Once, at
 * start-up, after keyspace_open and tier_init. */
void dispatch_init(void);

/* Runs c's parsed request (net's request hook). */
void command_process(client *c);
/* Runs c->cmd now (keys are ready): timing, stats, slowlog; then serves
 * the blocked clients whose keys it filled. */
void command_call(client *c);
/* Runs one command of EXEC's queue (c->cmd, c->argv are the queued ones):
 * stats as for any command; blocked clients wait for the end of EXEC. */
void command_call_queued(client *c);
/* Runs a blocked client's command again for a key that got a value (the
 * command's own handler decides whether it is served): stats and slowlog
 * as for any call. */
void command_call_blocked(client *c);
/* A blocked command is over (served, timed out, unblocked): it is counted
 * now, as one call that ran as long as its runs took, and in the slow log. */
void command_blocked_done(client *c);

/* Runs c->argv as the log's replay does (repl/effects.c): no prefetch (a
 * cold key is read synchronously), no authentication, no refusal while
 * storage fails, replies dropped with the fake client. 0, or -1 when the
 * command is unknown or has the wrong number of arguments. */
int dispatch_replay(client *c);

/* Who may run a protected command (DEBUG: enable-debug-command), asked
 * before the command runs or is queued, as Redis does (a transaction is
 * then discarded at EXEC): NULL when c may, else the error to answer.
 * server/ registers it at start-up. */
void dispatch_set_protected_check(const char *(*refusal)(client *c, const struct command *cmd));
/* The keys of a command the replay will run in db *dbindex, each given to
 * add(ctx, its db index, the key), so they can be read ahead; a SELECT
 * moves *dbindex. A command dispatch_replay would refuse gives none. */
void dispatch_replay_keys(int argc, str *argv, int *dbindex,
                          void (*add)(void *ctx, int dbindex, str key), void *ctx);

/* What the layer above learns of every call of a command (a queued one and
 * a blocked one's re-run included): begin before the handler runs, end
 * after it with the number of keyspace changes the call made. */
struct call_hooks {
    void (*begin)(client *c);
    void (*end)(client *c, long long changes);
};
void dispatch_set_call_hooks(const struct call_hooks *h);

/* Selects database index for c: 0, or -1 if out of range. */
int client_select(client *c, int index);

/* INFO errorstats: calls fn for each error code replied so far. */
void dispatch_errorstats(void (*fn)(void *ctx, const char *code, long long count), void *ctx);
/* CONFIG RESETSTAT: the counters of this file and of every command. */
void dispatch_reset_stats(void);

#endif
