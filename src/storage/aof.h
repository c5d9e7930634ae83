/*
 * aof.h: the effect log's files (DESIGN.md §2 "The write path").
 *
 * The effects of writes (repl/effects.h formats them) are appended to a
 * buffer here during a loop iteration; at its end aof_flush() writes the
 * buffer to the current log file, fsynced with appendfsync always, and the
 * iteration's replies may go. The log is Redis's AOF format (RESP arrays of
 * bulk strings) in numbered files under the log directory,
 * <appenddirname>/<appendfilename>.<seq>.incr.aof, so redis-check-aof reads
 * each one and `cat`-ing them in order into redis-server rebuilds the data.
 *
 * A position in the stream is (file seq, byte offset, selected db there). A
 * checkpoint (keyspace/commit.c) records the position its data covers; at
 * start-up aof_replay() delivers the commands after it. Files wholly below a
 * durable checkpoint's position are deleted (aof_drop_below).
 *
 * Failures: a write or fsync that fails is cut back (ftruncate) to the last
 * whole record and the buffer is kept; the log is "failed" (aof_failed)
 * until a later aof_flush(), in a new file, succeeds.
 */
#ifndef LT_STORAGE_AOF_H
#define LT_STORAGE_AOF_H

#include <stddef.h>
#include <stdint.h>

#include "ds/str.h"

typedef struct aof aof;

struct aof_pos {
    uint64_t seq; /* file number */
    uint64_t off; /* bytes of that file */
    int db;       /* the db selected at that point, -1 if none yet */
};

struct aof_stats {
    long long writes, write_errors, fsyncs, fsync_errors, rotations, deleted_files;
    long long bytes_written;  /* since start */
    long long pending_fsyncs; /* writes not fsynced yet (everysec) */
    int64_t last_fsync_ms;
    long long delayed_fsync; /* everysec fsyncs that took over 2 s */
};

/* Opens the log directory dir (created if missing) whose files are named
 * base.<seq>.incr.aof. Nothing is written until aof_start(). 0, or -1 with
 * *err (heap). */
int aof_open(aof **out, const char *dir, const char *base, char **err);
/* Flushes, fsyncs and closes; safe with NULL. */
void aof_close(aof *a);

/* Replays the log from pos: calls fn for every command in order, SELECT,
 * MULTI and EXEC included, with the position after it; an incomplete
 * MULTI at the very end is not delivered. A torn last record of the last
 * file is cut off (the file is truncated) when truncated_ok, else an error.
 * Returns the number of commands delivered, or -1 with *err (heap); fn
 * returning non-zero stops the replay with that error (*err from fn). */
long long aof_replay(aof *a, const struct aof_pos *from, int truncated_ok,
                     int (*fn)(void *ctx, int argc, str *argv, char **err), void *ctx, char **err);

/* Parses one command of the log at p[0..n): 1 with *used bytes and the
 * arguments (heap, each a str), 0 when more bytes are needed, -1 when the
 * bytes are not a RESP array of bulk strings as the log writes them. */
int aof_parse_command(const char *p, size_t n, size_t *used, int *argc, str **argv);

/* Starts appending: opens a new file, numbered after every file present
 * and after min_seq (the file of the position the storage covers, which
 * may be deleted already). 0, or -1 with *err (heap). */
int aof_start(aof *a, uint64_t min_seq, char **err);

/* ---- appending (the loop thread) ----------------------------------------- */

/* A command of argc arguments in db dbindex (-1: any db) begins: a SELECT
 * is written first when another db is selected. Then exactly argc calls of
 * aof_arg. */
void aof_begin(aof *a, int dbindex, int argc);
void aof_arg(aof *a, const char *p, size_t len);
void aof_arg_ll(aof *a, long long v);

/* The position after everything appended so far, written or buffered. */
void aof_position(const aof *a, struct aof_pos *pos);
/* Bytes buffered, not written yet. */
size_t aof_pending(const aof *a);
/* Writes the buffer to the file, and fsyncs it if sync. 0, or -1: the
 * buffer is kept (aof_failed says why) and later calls retry in a new file. */
int aof_flush(aof *a, int sync);
/* Why the last flush or fsync failed, or NULL when the log works. */
const char *aof_failed(const aof *a);
/* Starts a new file if the current one holds at least min_bytes (the next
 * checkpoint's position is then in it, and the old file can be dropped
 * once that checkpoint is durable). Flushes and fsyncs the old file. */
int aof_rotate_if(aof *a, uint64_t min_bytes);
/* fsyncs what was written (appendfsync everysec calls this from a thread of
 * its own, aof_sync_thread_*); 0 or -1. */
int aof_sync(aof *a);
void aof_sync_thread_start(aof *a);
void aof_sync_thread_stop(aof *a);
/* Deletes every file numbered below seq (never the current one). */
void aof_drop_below(aof *a, uint64_t seq);
/* Closes the current file and deletes every file: the storage covers all
 * of them, durably (a clean shutdown). No appending after this. */
void aof_retire(aof *a);

/* Files, their total size, and the current file's size (INFO). */
void aof_sizes(const aof *a, int *files, uint64_t *total, uint64_t *current);
const struct aof_stats *aof_stats_of(const aof *a);
const char *aof_dir(const aof *a);

#endif
