/*
 * multi.h: transactions (MULTI, EXEC, DISCARD) and optimistic locking
 * (WATCH, UNWATCH).
 *
 * After MULTI a client's commands are checked (known, arity, allowed in a
 * transaction) and queued instead of run; a command refused while queueing
 * makes the EXEC that follows fail with EXECABORT. EXEC reads the keys of
 * every queued command and of every WATCHed key before running any of them
 * (one prefetch, so the transaction never waits halfway), then runs them
 * back to back with nothing in between: no other client's command, no
 * blocked client served (that waits for the end of EXEC), and no command
 * of the queue blocks (blocking commands answer as on a timeout).
 *
 * WATCH records keys by name and db index. Any change of a watched key
 * (keyspace's changed hook: set, modify, delete, expire; FLUSHDB,
 * FLUSHALL and SWAPDB when they change what the key is) marks its watchers
 * dirty, and their EXEC answers the null array. A key that was already
 * logically expired when watched is not "changed" by being deleted; one
 * that expires after it was watched fails the EXEC.
 */
#ifndef LT_CMD_MULTI_H
#define LT_CMD_MULTI_H

#include "ds/str.h"
#include "net/client.h"

struct db;
struct command;

/* Queues c's current command (takes its argv) and replies +QUEUED. */
void multi_queue(client *c);
/* A command was refused while c is in MULTI: EXEC will abort. */
void multi_flag_error(client *c);
/* The keys EXEC reads first: add(ctx, dbindex, key) for each WATCHed key
 * (the key str stays valid until UNWATCH, EXEC or DISCARD). */
void multi_watched_keys(client *c, void (*add)(void *ctx, int dbindex, str key), void *ctx);
/* The i-th queued command (i < multi_queued(c)): its table entry and argv. */
void multi_queued_at(const client *c, int i, const struct command **cmd, int *argc, str **argv);
/* Leaves MULTI, dropping the queue, and unwatches everything (DISCARD,
 * and an EXEC that cannot run). */
void multi_discard(client *c);
/* Whether a command queued by c writes (EXEC refused while storage
 * refuses writes). */
int multi_queued_writes(const client *c);
/* RESET and client free: leaves MULTI and unwatches everything. */
void multi_reset(client *c);
/* Number of queued commands, or -1 when not in MULTI (CLIENT LIST). */
int multi_queued(const client *c);
/* Bytes held by the queued commands (CLIENT LIST multi-mem). */
size_t multi_mem(const client *c);

/* keyspace's changed hook: marks the watchers of key dirty. */
void multi_touch_key(struct db *db, const str key);
/* keyspace's db replaced hook, before FLUSHDB/FLUSHALL (replaced -1) or
 * SWAPDB (both ways): watchers of keys in db index emptied whose value
 * changes are marked dirty. */
void multi_touch_db(int emptied, int replaced);

#endif
