/*
 * db.h: the keyspace (DESIGN.md §3).
 *
 * A db is one of the `databases` numbered datasets. In memory it holds only
 * the hot keys (keys: str -> obj) and their TTLs (expires: same key str ->
 * ms); every key, hot or cold, is in RocksDB under the db's physical id
 * (dbid). nkeys and nexpires count all keys, hot and cold, exactly.
 *
 * Lookups go: hot table -> changed-and-deleted in this tick (absent) -> what
 * the running command's prefetch learned (known.h: absent, or a stored
 * header) -> a synchronous RocksDB read (counted as a sync load; prefetch
 * makes it rare). The calls that may read storage take that knowledge, the
 * command context, as their last argument (NULL: nothing known). A cold key that is read
 * back becomes hot (a promotion) and clean. Commands that need no value
 * (db_lookup_meta, db_delete) stop short of that for a big (split) value:
 * its stored header answers (keyspace/header.h) and it is never built.
 *
 * Every change goes through this API, which records the key in the db's
 * dirty set; at the end of the loop iteration all dirty keys of all dbs go
 * in one RocksDB WriteBatch, written by the commit thread while the loop
 * goes on, and the replies of that iteration leave once it is written.
 * Keys of the commit in flight stay dirty (never demoted) until then.
 * Handlers never touch RocksDB.
 */
#ifndef LT_KEYSPACE_DB_H
#define LT_KEYSPACE_DB_H

#include <stdint.h>

#include "ds/dict.h"
#include "ds/str.h"
#include "keyspace/known.h"
#include "keyspace/object.h"
#include "storage/aof.h"
#include "storage/store.h"

struct db {
    int index;          /* SELECT number */
    uint16_t dbid;      /* physical id in storage (meta dbmap); moves with SWAPDB */
    dict *keys;         /* hot keys: hot str -> obj */
    dict *expires;      /* hot keys with a TTL: the same str -> int64 ms */
    dict *dirty;        /* changed since the last commit was built: key -> its entry in keys */
    dict *committing;   /* the keys of the commit in flight (same form) */
    long long nkeys;    /* all keys, hot and cold */
    long long nexpires; /* all keys with a TTL, hot and cold */
    long long avg_ttl;  /* estimate, for INFO keyspace */
    uint64_t expire_cursor;
    int counts_pending; /* counts changed with no dirty key (FLUSHDB): the next commit writes them
                         */
    int counts_carried; /* the commit in flight writes them */
};

/* Lookup flags */
#define LOOKUP_NONE         0
#define LOOKUP_WRITE        (1 << 0) /* the caller is about to change the key */
#define LOOKUP_NOTOUCH      (1 << 1) /* don't update LRU/LFU */
#define LOOKUP_NOSTATS      (1 << 2) /* don't count keyspace hits/misses */
#define LOOKUP_NOEXPIRE     (1 << 3) /* don't delete an expired key, report it absent */
#define LOOKUP_EVEN_EXPIRED (1 << 4) /* return a logically expired key as it is (DEBUG) */

/* db_set flags */
#define SETKEY_KEEPTTL (1 << 0)

/* ndb databases in the storage s (open): loads the dbmap and the counts. */
int keyspace_open(store *s, int ndb);
void keyspace_close(void);
struct db *keyspace_db(int index);
/* Keys of db changed since the last checkpoint was built (INFO). */
long long keyspace_dirty_count(const struct db *db);
int keyspace_count(void);

/* A command's key, in the db (index) the command names it in. */
struct key_at {
    int dbindex;
    str key; /* the command's own (argv), valid while it runs */
};
/* A growable list of them (a command's keys to prefetch, the replay's
 * read-ahead). key_list_add appends to the key_list `list`: it has the
 * shape of the callbacks that collect keys (multi_watched_keys,
 * dispatch_replay_keys). */
struct key_list {
    int n, cap;
    struct key_at *k;
};
void key_list_add(void *list, int dbindex, str key);

/* The value of key, or NULL when absent (an expired key is deleted, unless
 * flags say otherwise). */
/* The value of key, or NULL when absent or when it could not be read: a
 * storage read that fails (or stored bytes the codec refuses) is recorded
 * in known (known_failed) and in keyspace_read_error(), never taken for an
 * absent key. */
obj *db_lookup(struct db *db, const str key, int flags, struct known_keys *known);
/* Whether key exists (loads it if needed), without touching LRU or stats:
 * 1, 0, or -1 when it could not be read. */
int db_exists(struct db *db, const str key, struct known_keys *known);

/* What a command that needs no value sees of a key. */
struct key_meta {
    int type, encoding;
    int64_t expire_ms;      /* -1 when none */
    int cold;               /* from the stored header: the value is not in memory */
    uint64_t split_version; /* cold: the version of its stored elements */
    uint64_t count;         /* cold: its number of elements */
    obj *val;               /* not cold: the value (valid while the command runs) */
};
/* db_lookup for commands that need only whether key exists, its type,
 * encoding, TTL or element count (EXISTS, TYPE, TTL, OBJECT ENCODING, DEL,
 * HLEN SCARD ZCARD LLEN): a split value that is not in memory is not
 * loaded; its stored header answers, from the running command's prefetch
 * (known) or read now (a sync load). A smaller cold value is
 * loaded as by db_lookup. An expired key is deleted as by db_lookup. 1 when
 * key exists (*m filled), 0 when not, -1 when it could not be read. */
int db_lookup_meta(struct db *db, const str key, int flags, struct key_meta *m,
                   struct known_keys *known);

/* Adds a key that does not exist (the caller looked it up). Takes val. */
void db_add(struct db *db, const str key, obj *val);
/* Sets key to val, creating or replacing it; the TTL is removed unless
 * SETKEY_KEEPTTL. Takes val. 0, or -1 when the key could not be read
 * (known says why; val is freed and nothing changed). */
int db_set(struct db *db, const str key, obj *val, int flags, struct known_keys *known);
/* Removes key and hands its value to the caller (RENAME, MOVE: the value
 * moves instead of being copied); NULL when absent or unreadable (known
 * says which). The TTL is dropped. */
obj *db_take(struct db *db, const str key, struct known_keys *known);
/* Deletes key: 1 if it existed, 0 if not, -1 when it could not be read. A
 * cold split value is deleted from its header (db_lookup_meta): its
 * elements go with one DeleteRange at commit. */
int db_delete(struct db *db, const str key, struct known_keys *known);
/* The value of key changed in place (APPEND, INCR...): mark it dirty. */
void db_modified(struct db *db, const str key);

/* TTLs, in unix ms. db_get_expire: -1 when none (key must exist). */
int64_t db_get_expire(struct db *db, const str key);
void db_set_expire(struct db *db, const str key, int64_t when_ms);
int db_remove_expire(struct db *db, const str key); /* 1 if there was one */
/* 1 if an existing key is logically expired now (the caller deletes). */
int db_key_expired(struct db *db, const str key);

/* Empties a db (FLUSHDB) / all (FLUSHALL): memory at once; the db takes a
 * fresh physical id and the old one's ranges are deleted by the next
 * checkpoint (the effect log makes the command durable). Returns the
 * number of keys removed. */
long long db_flush(struct db *db);
long long keyspace_flush_all(void);
/* SWAPDB: exchanges two datasets, in memory at once and in the stored
 * dbmap by the next checkpoint: 0. */
int keyspace_swap(int a, int b);
/* Moves key from src to dst (MOVE). The caller checked both sides. */

/* State of a key before a command runs (prefetch). */
#define KEY_HOT     0
#define KEY_ABSENT  1 /* deleted in this tick, not yet committed: known absent */
#define KEY_UNKNOWN 2 /* must be read from storage */
int db_key_state(struct db *db, const str key);
/* 0 when storage surely does not hold key (bloom filters, memtables; no
 * disk read), 1 when it may. */
int db_may_exist_on_disk(struct db *db, const str key);

/* Whether key exists, hot or stored, logically expired or not, with its
 * TTL in *expire_ms (-1 when none); reads only the stored header of a cold
 * key, which stays cold (WATCH's FLUSHDB/SWAPDB check). -1 when it could
 * not be read. */
int db_peek(struct db *db, const str key, int64_t *expire_ms);
/* OBJECT TIER: KEY_HOT, KEY_UNKNOWN (cold: on disk only), -1 when the key
 * does not exist (or is expired), -2 when it could not be read; never
 * loads the key. */
int db_tier_of(struct db *db, const str key);

/* Checkpoints (DESIGN.md §2): every dirty key of every db in one batch,
 * with the effect-log position it covers. keyspace_commit waits for the
 * checkpoint in flight, then writes the rest synchronously without an
 * fsync (SCAN, SAVE, shutdown): 0, or -1 when RocksDB refused the write
 * (keys stay dirty, retried). Inside a transaction (keyspace_set_atomic)
 * it writes nothing and returns 0: it would store part of the transaction
 * under a log position from before it (DEBUG RELOAD in MULTI).
 * keyspace_commit_start hands the batch to the commit thread, which writes
 * it fsynced (1 when it did; 0 when one is in flight or nothing is dirty);
 * keyspace_commit_reap takes its result when the thread signals. Replies
 * never wait for a checkpoint: they wait for the effect log. */
int keyspace_commit(void);
int keyspace_commit_start(void);
/* The effect log (storage/aof.h) whose position every commit records;
 * NULL: none (tests of the keyspace alone). */
void keyspace_set_log(aof *a);
/* The log position the stored data covers (read at start-up): 0, or -1
 * when storage could not be read. {0, 0, -1} when none was recorded. */
int keyspace_log_covered(struct aof_pos *pos);
/* When the last checkpoint started, and the last one the commit thread
 * wrote: how long it took from its hand-over to its end, its keys and
 * bytes (INFO). */
struct checkpoint_info {
    long long duration_us, keys, bytes;
};
void keyspace_log_stats(int64_t *last_ms, struct checkpoint_info *last);
/* Bytes of log since the position the last written checkpoint covers (all
 * of the current file when that is an older one): what a restart would
 * replay, and what checkpoint-log-size bounds. */
uint64_t keyspace_log_lag(void);
/* Backpressure: how long the next write command should wait (ms) because
 * checkpoints fall behind the log: 0 not at all, -1 until the checkpoint
 * being written ends (checkpoint-max-lag reached). */
int keyspace_write_delay_ms(void);
/* A checkpoint is due: keys are dirty and the interval passed, or the log
 * since the last one passed its bound (keyspace_settings). */
int keyspace_checkpoint_due(void);
void keyspace_commit_reap(void);
int keyspace_commit_in_flight(void);
/* Events, for the layers above (registered at start-up, each with up to
 * four listeners, called in registration order):
 * - key_filled: a key got a new value (db_add, db_set): blocked clients;
 * - key_changed: any change of a key (set, modified, deleted, expired):
 *   WATCH, and tier/'s reads in flight of it are stale;
 * - db_replaced: before db index `emptied` is flushed (replaced -1) or
 *   swapped with db index `replaced` (once each way): WATCH, blocked
 *   clients, tier/'s reads in flight of either db are stale. */
void keyspace_on_key_filled(void (*fn)(struct db *db, const str key));
void keyspace_on_key_changed(void (*fn)(struct db *db, const str key));
void keyspace_on_db_replaced(void (*fn)(int emptied, int replaced));
/* - key_expired: a key was deleted because it expired (found on access or
 *   by the active cycle), after the deletion: the effect stream's DEL. */
void keyspace_on_key_expired(void (*fn)(struct db *db, const str key));
int keyspace_has_dirty(void);
/* Drops every clean hot key (DEBUG RELOAD, cold mode). Returns how many. */
long long keyspace_demote_all_clean(void);
/* Drops one clean hot key from memory (tier/). 1 if it was dropped. */
int db_demote(struct db *db, const str key);
/* 1 if the hot value o of key is clean (its stored copy is current), so
 * it may be demoted; clears its stale OBJ_F_DIRTY on the way. */
int db_clean_now(struct db *db, const str key, obj *o);

/* Installs a value read from storage (prefetch completion) as a clean hot
 * key; bytes are the stored value. Returns 0, or -1 if the bytes are corrupt
 * (recorded in known, logged once). A value that is logically expired is
 * installed too: the next lookup deletes it through the normal path. */
int db_install_loaded(struct db *db, const str key, const char *val, size_t vlen,
                      struct known_keys *known);
/* The same for the prefetch of a command that needs no value, whose read
 * skipped the elements of split values: a split value's header is added to
 * known under akey (the command's argv str) and 1 returned; any other value
 * is installed by db_install_loaded (its result). */
int db_install_header(struct db *db, const str akey, const char *val, size_t vlen,
                      struct known_keys *known);
/* Finds the db whose physical id is dbid (completions), or NULL. */
struct db *keyspace_db_by_id(uint16_t dbid);

/* The time commands see, in unix ms: fixed while one command runs, as
 * Redis's command time snapshot, so that every expiry decision of a command
 * (and of every command of an EXEC) agrees. Read-only outside keyspace/;
 * cmd/ updates it before each command runs. */
extern int64_t keyspace_mstime;
/* The effect log is being replayed (keyspace_set_loading): as Redis while
 * it loads its AOF, no key is taken for expired, so the commands the log
 * holds find the keys they found when they ran; their DELs do the rest. */
extern int keyspace_loading;
void keyspace_set_loading(int on);
/* An expire-at time (ms, -1 for none) that has passed. */
static inline int keyspace_time_passed(int64_t when)
{
    return when >= 0 && !keyspace_loading && keyspace_mstime > when;
}
void keyspace_clock_update(void);

/* Active expiry: one cycle of bounded work over hot TTL keys and the stored
 * expiry index. */
void keyspace_active_expire(int64_t budget_us);

/* Iteration over all keys of a db in storage order (SCAN, KEYS,
 * RANDOMKEY): commits first so storage is complete; inside a transaction
 * (keyspace_set_atomic) merges storage with the keys changed since the
 * last checkpoint instead, so nothing of the transaction is stored before
 * the log holds all of it. Failures: */
#define KEYSPACE_READ_FAILED  (-1) /* keyspace_read_error() says why */
#define KEYSPACE_WRITE_FAILED (-2) /* the commit first: keyspace_write_error() */
typedef int keyspace_iter_fn(void *ctx, const char *key, size_t klen, int type, int64_t expire_ms);
/* Walks from cursor; stops when fn returns non-zero after a full (slot, h)
 * group, with *next the next cursor (0 when the end was reached). 0, or a
 * failure code: then the walk is not complete, whatever fn saw. */
int keyspace_scan(struct db *db, uint64_t cursor, keyspace_iter_fn *fn, void *ctx, uint64_t *next);
/* A random key of db into *out (heap str): 0; 1 when empty; or a failure
 * code. */
int keyspace_random_key(struct db *db, str *out);
/* A transaction's commands run (1) or not (0): cmd/'s EXEC. */
void keyspace_set_atomic(int on);

/* The message of the last failed storage read (main thread). */
const char *keyspace_read_error(void);
/* A storage read of key failed with msg (tier/'s prefetch, the keyspace's
 * own reads): recorded as the last read error and in known, counted, and
 * logged at most once a second. key may be NULL. */
void keyspace_read_failed(struct known_keys *known, const char *msg, const char *key, size_t klen);
/* NULL while the effect log and storage take writes; while the log fails
 * (until a write of it works again) or after a refused checkpoint (until
 * one succeeds), the failure's message: write commands are refused with it
 * (MISCONF). */
const char *keyspace_write_error(void);
/* While writes fail and nothing is left to commit (writes are refused),
 * tries storage again when the backoff allows: a write of its own that
 * works ends the failure. From cron. */
void keyspace_write_retry(void);

struct keyspace_stats {
    long long keyspace_hits, keyspace_misses;
    long long expired_keys, expired_stale_perc;
    long long sync_loads, promotions, demotions;
    long long commits, commit_keys, commit_bytes;
    long long commit_errors;   /* commits refused by storage */
    long long commit_retries;  /* commits tried again after one was refused */
    long long storage_reopens; /* storage opened again after a failed write */
    long long read_errors;     /* storage reads that failed (corrupt values included) */
    long long corrupt_values;  /* stored values the codec refused */
    long long expire_errors;   /* expiry cycles stopped by a failed read */
    long long changes;         /* writes since start (server/ keeps its mark for `save`) */
};
extern struct keyspace_stats ks_stats;

#endif
