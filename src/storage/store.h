/*
 * store.h: longtail's RocksDB, behind a small C API.
 *
 * One RocksDB database with four column families (DESIGN.md §4):
 * STORE_CF_KEYS, STORE_CF_EXPIRY, STORE_CF_META, STORE_CF_ELEMENTS. This layer knows bytes, not
 * Redis: it never includes client or command headers.
 *
 * Errors: functions return 0 on success, STORE_NOTFOUND where a key may be
 * absent, or STORE_ERR; the message (RocksDB's status, which names the
 * operation and the file) is the calling thread's store_last_error(), or
 * returned in *err (malloc'd, caller frees) where the function takes one.
 *
 * Faults (docs/design.md "Storage faults"): RocksDB aborts the process on
 * the next use of a file writer that failed once, so after a failed write
 * or WAL sync the store refuses every write, flush, checkpoint and option
 * change with that first error, without calling RocksDB, until
 * store_reopen() gives it fresh handles. Reads go on meanwhile. RocksDB's
 * own LOG file is replaced by longtail's log (infolog.h), and the WAL is
 * fsynced through fds of our own (store_sync_wal), never RocksDB's writer.
 *
 * Thread safety: store_get / store_multi_get / iterators may be used from
 * any thread concurrently (RocksDB is thread-safe); writes come from the
 * main thread or the commit thread, one at a time; store_reopen from the
 * main thread, which it waits for every other use to end.
 */
#ifndef LT_STORAGE_STORE_H
#define LT_STORAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_NOTFOUND 1
#define STORE_ERR      (-1)

enum store_cf {
    STORE_CF_KEYS = 0,
    STORE_CF_EXPIRY = 1,
    STORE_CF_META = 2,
    STORE_CF_ELEMENTS = 3, /* elements of split values (codec.h) */
    STORE_CF_COUNT = 4
};

struct store_options {
    const char *dir;                    /* RocksDB directory (created if missing) */
    uint64_t block_cache_size;          /* bytes; 0 = RocksDB's default */
    int max_background_jobs;            /* 0 = RocksDB's default */
    int direct_reads;                   /* use_direct_reads */
    uint64_t write_buffer_size;         /* memtable size per CF; 0 = default */
    uint64_t max_total_wal_size;        /* WAL bytes before the oldest is freed; 0 = default */
    int max_write_buffer_number;        /* 0 = default */
    int level0_slowdown_writes_trigger; /* 0 = default */
    int level0_stop_writes_trigger;     /* 0 = default */
    uint64_t rate_limit_bytes_per_sec;  /* 0 = none */
    int bloom_bits_per_key;             /* whole-key bloom filter; 0 = off, default 10 */
    int compression;                    /* STORE_COMPRESS_*: levels above the last */
    int bottommost_compression;         /* STORE_COMPRESS_*: the last level (most data) */
    int zstd_level;                     /* ZSTD's level, where ZSTD is used */
    uint64_t compression_dict_bytes;    /* ZSTD dictionary per SST of the last level; 0 = none */
    uint64_t block_size;                /* data block size (uncompressed); 0 = RocksDB's 4 KB */
};
/* Block compression algorithms: the values are RocksDB's own
 * CompressionType numbers, also used in the config table. */
#define STORE_COMPRESS_NONE 0
#define STORE_COMPRESS_LZ4  4
#define STORE_COMPRESS_ZSTD 7
void store_options_default(struct store_options *o);

typedef struct store store;

/* Opens (creating if needed) the database. When another process holds it,
 * fails with a message that says so (RocksDB's LOCK). */
int store_open(const struct store_options *o, store **out, char **err);
void store_close(store *s);
/* The message of the calling thread's last failed call. */
const char *store_last_error(store *s);
/* Closes and opens the database again (fresh WAL and file writers), after
 * a failed write: 0, or STORE_ERR with *err: the store is then open for
 * reads alone (writes stay refused, store_write_failed) or, when even that
 * fails, closed (every call fails) until a reopen succeeds. Main thread, no
 * iterator open and no write in flight; it waits for the read pool's reads
 * in progress. */
int store_reopen(store *s, char **err);
/* 0 while writes work; 1 after a failed write or sync, with the first
 * failure's message in msg (len bytes), until a reopen. */
int store_write_failed(store *s, char *msg, size_t len);

/* Point read. On success *val is malloc'd (caller frees) and *vlen set. */
int store_get(store *s, enum store_cf cf, const void *key, size_t klen, char **val, size_t *vlen);
/* Cheap check through bloom filters / memtables: 0 = surely absent,
 * 1 = may exist. */
int store_key_may_exist(store *s, enum store_cf cf, const void *key, size_t klen);

/* Batched point reads (one MultiGet). For each i: rc[i] = 0 and vals[i]
 * (malloc'd) / vlens[i] set, or rc[i] = STORE_NOTFOUND (vals[i] = NULL), or
 * STORE_ERR. */
void store_multi_get(store *s, enum store_cf cf, size_t n, const char *const *keys,
                     const size_t *klens, char **vals, size_t *vlens, int *rc);

/* Write batches. */
typedef struct store_batch store_batch;
store_batch *store_batch_new(void);
void store_batch_free(store_batch *b);
/* Empties b; a big buffer (above 1 MB) is given back, a small one kept. */
void store_batch_clear(store_batch *b);
void store_batch_put(store_batch *b, enum store_cf cf, const void *k, size_t klen, const void *v,
                     size_t vlen);
/* A put whose value is head followed by body (a stored value's header and
 * its payload): both are copied once, straight into the batch, so a big
 * value is never assembled in a buffer of its own first. */
void store_batch_put_parts(store_batch *b, enum store_cf cf, const void *k, size_t klen,
                           const void *head, size_t hlen, const void *body, size_t blen);
void store_batch_delete(store_batch *b, enum store_cf cf, const void *k, size_t klen);
/* Delete [begin, end) */
void store_batch_delete_range(store_batch *b, enum store_cf cf, const void *begin, size_t blen,
                              const void *end, size_t elen);
size_t store_batch_count(store_batch *b);
size_t store_batch_bytes(store_batch *b);
/* Applies the batch atomically (WAL on). sync=1 fsyncs the WAL first. A
 * failure stops writes (store_write_failed): the outcome of this batch is
 * unknown (a WAL append that succeeded before a failed fsync is replayed
 * by the next open). Whatever the outcome, b is empty afterwards (as after
 * store_batch_clear): RocksDB takes it in one copy, a buffer above 1 MB is
 * freed before the memtable insert, and RocksDB's copy after the write. */
int store_write(store *s, store_batch *b, int sync);
/* fdatasync of the WAL files and fsync of the directory, through fds of
 * our own (appendfsync everysec, from a thread of its own, beside writes). */
int store_sync_wal(store *s);

/* Iterators (forward and backward), each over one column family, optionally
 * bounded to [lower, upper). Keys/values are valid until the next move.
 * store_iter_new returns NULL (store_last_error) when the storage is
 * closed. An iterator that stops on an error just becomes invalid: every
 * walk must ask store_iter_status at its end. */
typedef struct store_iter store_iter;
store_iter *store_iter_new(store *s, enum store_cf cf, const void *lower, size_t llen,
                           const void *upper, size_t ulen);
void store_iter_seek(store_iter *it, const void *key, size_t klen);
void store_iter_seek_first(store_iter *it);
void store_iter_seek_last(store_iter *it);
int store_iter_valid(store_iter *it);
void store_iter_next(store_iter *it);
void store_iter_prev(store_iter *it);
const char *store_iter_key(store_iter *it, size_t *klen);
const char *store_iter_value(store_iter *it, size_t *vlen);
/* 0, or STORE_ERR if iteration stopped on an error (store_last_error). */
int store_iter_status(store_iter *it, char **err);
void store_iter_free(store_iter *it);

/* A consistent copy of the database in dir (must not exist): RocksDB
 * checkpoint (hard links). */
int store_checkpoint(store *s, const char *dir, char **err);
/* Flush memtables and compact the whole key range of a CF (tests, DEBUG). */
int store_compact(store *s, enum store_cf cf);
int store_flush(store *s);

/* RocksDB properties: integer (e.g. "rocksdb.estimate-num-keys",
 * "rocksdb.cur-size-all-mem-tables", "rocksdb.live-sst-files-size",
 * "rocksdb.block-cache-usage", "rocksdb.actual-delayed-write-rate",
 * "rocksdb.is-write-stopped", "rocksdb.estimate-pending-compaction-bytes")
 * summed over all column families where that makes sense; returns 0 and
 * sets *out, or STORE_ERR. */
int store_property_int(store *s, const char *name, uint64_t *out);
/* Text statistics (options statistics), malloc'd, or NULL. */
char *store_stats_text(store *s);
/* Cumulative write-stall microseconds and stall count from statistics
 * ("rocksdb.stall.micros"); 0 if statistics are off. */
uint64_t store_stall_micros(store *s);

/* Run-time option changes (CONFIG SET): a column-family option (RocksDB's
 * name, e.g. "write_buffer_size") on every CF, a DB option (e.g.
 * "max_background_jobs"), the block cache's capacity. 0 or STORE_ERR with
 * *err (malloc'd). */
int store_set_cf_option(store *s, const char *name, const char *value, char **err);
int store_set_db_option(store *s, const char *name, const char *value, char **err);
void store_set_block_cache_capacity(store *s, uint64_t bytes);

#endif
