/*
 * blocked.h: clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP...).
 *
 * A blocking command that finds nothing to pop calls blocked_wait: the
 * client stops reading commands (its later pipelined commands wait, in
 * order) and waits on its keys, in its db, with a deadline. When a key gets
 * a value (db_add/db_set call blocked_signal_key, a swapped db
 * blocked_signal_db, both through keyspace hooks), the key is queued as
 * ready; after the command that made it ready (after
 * EXEC for a transaction), blocked_handle_ready runs the waiting clients'
 * commands again, first come first served per key. A re-run
 * (blocked_is_rerun) that finds its key empty or of another type replies
 * nothing and stays blocked; one that pops replies and is unblocked. The
 * deadline replies the null array; CLIENT UNBLOCK replies that or an error.
 *
 * Invariants: a blocked client is in the wait list of every key it named
 * and nowhere else; its argv is kept until it is unblocked; keys of a
 * command re-run here are read with ordinary (synchronous if cold) lookups.
 */
#ifndef LT_CMD_BLOCKED_H
#define LT_CMD_BLOCKED_H

#include <stdint.h>

#include "ds/str.h"
#include "net/client.h"

struct db;

/* What a client waits for: a list or a sorted set to have elements. */
#define BLOCK_LIST 1
#define BLOCK_ZSET 2
/* Or-ed into the type: where it may not block (EXEC), the command answers
 * the null bulk rather than the null array (BLMOVE, BRPOPLPUSH). */
#define BLOCK_NULL_BULK 0x10

/* Parses a blocking timeout in seconds (a float, as Redis reads it: hex and
 * exponents allowed; overflow reads as negative). *deadline_ms: absolute
 * unix ms, or 0 for none. 0, or -1 after replying the error. */
int blocked_timeout_or_reply(client *c, const str arg, int64_t *deadline_ms);
/* Blocks c on keys (copied) until one is served, the deadline passes or it
 * is unblocked. Called by a command that found nothing; a no-op on a re-run. */
void blocked_wait(client *c, const str *keys, int nkeys, int64_t deadline_ms, int btype);
/* 1 while c's blocked command is re-run for a ready key. */
int blocked_is_rerun(const client *c);

/* A key got a value: clients waiting on it are served after this command. */
void blocked_signal_key(struct db *db, const str key);
/* Every key waited on in db index (SWAPDB). */
void blocked_signal_db(int dbindex);
/* Serves the clients of ready keys (after each top-level command, and from
 * before_sleep for keys whose next waiter had to wait: a command parked for
 * a storage read, that arrived before the one that filled the key, names
 * one of the waiter's keys). */
void blocked_handle_ready(void);
/* Runs the pipelined input of clients unblocked since (before_sleep). */
void blocked_process_unblocked(void);

/* CLIENT UNBLOCK: 1 when the client was blocked (now replied and free). */
int blocked_unblock_by_id(uint64_t id, int with_error);
/* Removes a client that is being freed from every wait list. */
void blocked_client_freed(client *c);
long long blocked_clients_count(void);
long long blocked_timeout_count(void); /* blocked clients with a deadline */

#endif
