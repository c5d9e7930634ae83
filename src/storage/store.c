/*
 * store.c: longtail's RocksDB behind store.h, through RocksDB's C API (7.8).
 *
 * One database, opened with the column families "default" (unused, but
 * RocksDB always has it and 7.8's C API has no getter for its handle),
 * "keys", "expiry", "meta" and "elements". cf[] is indexed by enum store_cf + 1.
 *
 * Durability: WAL on and manual_wal_flush off, so every store_write has
 * handed its batch to the WAL file (write(2)) before it returns and a
 * kill -9 loses nothing acknowledged; sync=1 or store_sync_wal() add the
 * fsync that power loss needs.
 *
 * Tuning choices:
 * - one LRU block cache shared by every CF; index and filter blocks live
 *   in it (high priority, L0 pinned) so their memory is bounded by the
 *   cache instead of growing with the number of keys on disk;
 * - whole-key bloom filters on "keys" and "meta", where point reads of
 *   absent keys are common, partitioned with a two-level index so that no
 *   filter or index block outgrows the block cache; "expiry" is only ever
 *   walked in order, so it carries no filter;
 * - ZSTD block compression on every level (store_set_compression), 8 KB
 *   blocks: small values such as profile hashes take about half the
 *   room they took with LZ4 in 4 KB blocks, at no measurable cost in load
 *   rate;
 * - statistics at RocksDB's default level (7.8's C API cannot choose one;
 *   the default, except-detailed-timers, is the cheap one).
 *
 * A store_batch is built in RocksDB's own WriteBatch layout, naming each
 * column family by its id, which is fixed (the families are created in the
 * order of store_cf_names; every open checks it): it needs no store until
 * store_write, which hands it to RocksDB in one copy of its exact size and
 * gives a big buffer back before the memtable insert. A big value is thus
 * in memory three times at most during its commit (the hot value, and two
 * of: the batch, RocksDB's copy, the memtable), and only the memtable's
 * copy stays after it.
 */
#include "storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "ds/alloc.h"
#include "storage/dboptions.h"
#include "storage/infolog.h"

#define STORE_NCF              (STORE_CF_COUNT + 1) /* with "default" at index 0 */
#define STORE_ERRLEN           512
#define STORE_ZSTD_UPPER_LEVEL 1 /* ZSTD's level above the last level */

/* A store_batch is built in RocksDB's own WriteBatch layout (the records
 * of its WAL, db/write_batch.cc), so that store_write hands it over in one
 * copy of its exact size: a 12-byte header (sequence u64, left 0 for
 * RocksDB, then the count u32 little-endian, set by store_write), then per
 * operation a type byte, the column family's id (varint32), and the key
 * and the value (or the range's begin and end) each as a varint32 length
 * and the bytes. */
#define BATCH_HEADER          12
#define BATCH_PUT             0x1 /* in the default family (id 0): only seen by store_cf_id */
#define BATCH_CF_DELETE       0x4
#define BATCH_CF_PUT          0x5
#define BATCH_CF_DELETE_RANGE 0xE
#define BATCH_OP_MAX          16 /* type byte and three varint32s */

static const char *const store_cf_names[STORE_NCF] = {"default", "keys", "expiry", "meta",
                                                      "elements"};

struct store {
    char *dir;                    /* of the database (a copy of the options' dir) */
    pthread_rwlock_t handle;      /* write-held only by store_reopen: every use of db reads it */
    _Atomic int write_failed;     /* a write or WAL sync failed: no more writes on this db */
    char write_err[STORE_ERRLEN]; /* that failure's message (under err_lock) */
    rocksdb_t *db;
    rocksdb_options_t *opts;        /* DB and keys/meta CF options; owns the statistics */
    rocksdb_options_t *expiry_opts; /* expiry and elements CFs: same, without a bloom filter */
    rocksdb_cache_t *cache;
    rocksdb_column_family_handle_t *cf[STORE_NCF];
    rocksdb_readoptions_t *ropts; /* shared by every point read; never changed after open */
    rocksdb_writeoptions_t *wopts, *wopts_sync;
    rocksdb_flushoptions_t *fopts;
    pthread_mutex_t err_lock; /* write_err: set by the commit thread, read by the main one */
};

/* The last error of the calling thread's store calls (store_last_error). */
static __thread char last_err[STORE_ERRLEN];

static rocksdb_column_family_handle_t *store_cf(store *s, enum store_cf cf)
{
    return s->cf[(int)cf + 1];
}

/* Records an error of the calling thread's last call: the RocksDB status
 * (which names the operation and the file) or, for longtail's own checks,
 * what failed. */
static void store_set_error(store *s, const char *what, const char *msg)
{
    (void)s;
    if (msg)
        snprintf(last_err, sizeof(last_err), "%s", msg);
    else
        snprintf(last_err, sizeof(last_err), "%s failed", what);
}

/* Records the RocksDB error and frees it. */
static int store_fail(store *s, const char *what, char *rerr)
{
    store_set_error(s, what, rerr);
    free(rerr);
    return STORE_ERR;
}

const char *store_last_error(store *s)
{
    (void)s;
    return last_err;
}

/* The database is closed: a reopen failed. */
static int store_closed(store *s)
{
    if (s->db)
        return 0;
    store_set_error(s, "open", "the storage is closed (it could not be opened again)");
    return 1;
}

/* A write or WAL sync failed: from now on, until a reopen, nothing may
 * write to this database (RocksDB aborts on the next use of a file writer
 * that failed). */
static int store_mark_write_failed(store *s)
{
    pthread_mutex_lock(&s->err_lock);
    memcpy(s->write_err, last_err, sizeof(s->write_err));
    pthread_mutex_unlock(&s->err_lock);
    s->write_failed = 1;
    return STORE_ERR;
}

int store_write_failed(store *s, char *msg, size_t len)
{
    if (!s->write_failed)
        return 0;
    if (msg && len) {
        pthread_mutex_lock(&s->err_lock);
        snprintf(msg, len, "%s", s->write_err);
        pthread_mutex_unlock(&s->err_lock);
    }
    return 1;
}

void store_options_default(struct store_options *o)
{
    memset(o, 0, sizeof(*o));
    o->bloom_bits_per_key = 10;
    o->compression = STORE_COMPRESS_ZSTD;
    o->bottommost_compression = STORE_COMPRESS_ZSTD;
    o->zstd_level = 1;
    o->compression_dict_bytes = 0;
    o->block_size = 8 * 1024;
}

/* ---- open / close ------------------------------------------------------- */

/* RocksDB reports a held LOCK as "While lock file: <dir>/LOCK: Resource
 * temporarily unavailable" (another process) or "lock hold by current
 * process ... No locks available" (this one). */
static int store_is_lock_error(const char *msg)
{
    return strstr(msg, "LOCK") != NULL &&
           (strstr(msg, "Resource temporarily unavailable") != NULL ||
            strstr(msg, "No locks available") != NULL || strstr(msg, "lock hold") != NULL);
}

static char *store_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *out;

    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

static rocksdb_block_based_table_options_t *store_table_options(store *s, int bloom_bits,
                                                                uint64_t block_size)
{
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();

    rocksdb_block_based_options_set_block_cache(t, s->cache);
    if (block_size > 0)
        rocksdb_block_based_options_set_block_size(t, (size_t)block_size);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(t, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(t, 1);
    /* Index and filter in partitions of about one block, under a small
     * top-level index pinned in the cache: an SST's whole filter grows with
     * its key count (a 64 MB file of small values holds millions of keys,
     * megabytes of filter) and one bigger than a cache shard cannot be
     * cached at all, so every point read re-read and re-checksummed it (a
     * 10 M-key load fell from 180 000 to 5 000 keys/s once such a file
     * existed). */
    rocksdb_block_based_options_set_index_type(
        t, rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_metadata_block_size(t, 4096);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(t, 1);
    if (bloom_bits > 0) {
        rocksdb_block_based_options_set_partition_filters(t, 1);
        /* the table options take ownership of the policy */
        rocksdb_block_based_options_set_filter_policy(
            t, rocksdb_filterpolicy_create_bloom_full((double)bloom_bits));
        rocksdb_block_based_options_set_whole_key_filtering(t, 1);
    }
    return t;
}

/* Compression per level: the upper levels are rewritten soon (flushes, L0
 * and intermediate compactions), so they always get ZSTD's fastest level
 * (or LZ4); the last level holds most of the data for long, so its ZSTD
 * level is a config, and it may have a dictionary per SST file trained on
 * samples of its blocks (field names and key prefixes repeat across values,
 * which a dictionary captures even in small blocks; the training costs
 * every compaction into the last level CPU, hence off by default). ZSTD
 * rather than LZ4 above the last level by default: a store smaller than a
 * few memtables keeps its data in L0 until more writes come, and LZ4 there
 * leaves it about 1.6 times as large. */
static void store_set_compression(rocksdb_options_t *opts, const struct store_options *o)
{
    int max_dict =
        (int)(o->compression_dict_bytes < (1u << 30) ? o->compression_dict_bytes : (1u << 30));

    rocksdb_options_set_compression(opts, o->compression);
    /* window bits -14 and strategy 0 are RocksDB's defaults */
    rocksdb_options_set_compression_options(opts, -14, STORE_ZSTD_UPPER_LEVEL, 0, 0);
    rocksdb_options_set_bottommost_compression(opts, o->bottommost_compression);
    if (o->bottommost_compression == STORE_COMPRESS_ZSTD && max_dict > 0) {
        rocksdb_options_set_bottommost_compression_options(opts, -14, o->zstd_level, 0, max_dict,
                                                           1);
        /* RocksDB's advice: train on about 100 times the dictionary size */
        rocksdb_options_set_bottommost_compression_options_zstd_max_train_bytes(
            opts, max_dict <= INT32_MAX / 100 ? max_dict * 100 : INT32_MAX, 1);
    } else {
        rocksdb_options_set_bottommost_compression_options(opts, -14, o->zstd_level, 0, 0, 1);
    }
}

static void store_build_options(store *s, const struct store_options *o)
{
    rocksdb_options_t *opts = rocksdb_options_create();

    rocksdb_options_set_create_if_missing(opts, 1);
    rocksdb_options_set_create_missing_column_families(opts, 1);
    rocksdb_options_set_manual_wal_flush(opts, 0);
    rocksdb_options_enable_statistics(opts);
    /* no LOG file: RocksDB's lines go to longtail's log (infolog.h) */
    if (infolog_install(opts) != 0)
        rocksdb_options_set_keep_log_file_num(opts, 10);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(opts, 1);
    /* write SST data back in 1 MB steps rather than in one burst at close */
    rocksdb_options_set_bytes_per_sync(opts, 1 << 20);
    store_set_compression(opts, o);
    if (o->max_background_jobs > 0)
        rocksdb_options_set_max_background_jobs(opts, o->max_background_jobs);
    rocksdb_options_set_use_direct_reads(opts, o->direct_reads ? 1 : 0);
    if (o->max_total_wal_size > 0)
        rocksdb_options_set_max_total_wal_size(opts, o->max_total_wal_size);
    if (o->write_buffer_size > 0)
        rocksdb_options_set_write_buffer_size(opts, (size_t)o->write_buffer_size);
    if (o->max_write_buffer_number > 0)
        rocksdb_options_set_max_write_buffer_number(opts, o->max_write_buffer_number);
    if (o->level0_slowdown_writes_trigger > 0)
        rocksdb_options_set_level0_slowdown_writes_trigger(opts, o->level0_slowdown_writes_trigger);
    if (o->level0_stop_writes_trigger > 0)
        rocksdb_options_set_level0_stop_writes_trigger(opts, o->level0_stop_writes_trigger);
    if (o->rate_limit_bytes_per_sec > 0) {
        /* the options keep their own reference to the limiter */
        rocksdb_ratelimiter_t *rl =
            rocksdb_ratelimiter_create((int64_t)o->rate_limit_bytes_per_sec, 100 * 1000, 10);
        rocksdb_options_set_ratelimiter(opts, rl);
        rocksdb_ratelimiter_destroy(rl);
    }

    /* RocksDB's own default capacity when none is given, but created here
     * so that all CFs share it and its usage can be read. */
    s->cache = rocksdb_cache_create_lru(o->block_cache_size ? (size_t)o->block_cache_size
                                                            : (size_t)8 << 20);

    /* the table factory copies the table options (and shares the policy) */
    rocksdb_block_based_table_options_t *t =
        store_table_options(s, o->bloom_bits_per_key, o->block_size);
    rocksdb_options_set_block_based_table_factory(opts, t);
    rocksdb_block_based_options_destroy(t);

    /* A bloom filter over the memtable's whole keys: the prefetch asks
     * "may this key exist?" for every key a write creates, and a skiplist
     * search of a large memtable would cost more than the write itself. */
    if (o->bloom_bits_per_key > 0) {
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(opts, 0.02);
        rocksdb_options_set_memtable_whole_key_filtering(opts, 1);
    }

    s->expiry_opts = rocksdb_options_create_copy(opts);
    t = store_table_options(s, 0, o->block_size);
    rocksdb_options_set_block_based_table_factory(s->expiry_opts, t);
    rocksdb_block_based_options_destroy(t);

    s->opts = opts;
}

/* Closes the database handles (not the options, cache or the store). */
static void store_close_db(store *s)
{
    if (!s->db)
        return;
    for (int i = 0; i < STORE_NCF; i++) {
        if (s->cf[i])
            rocksdb_column_family_handle_destroy(s->cf[i]);
        s->cf[i] = NULL;
    }
    rocksdb_close(s->db);
    s->db = NULL;
}

static void store_free(store *s)
{
    store_close_db(s);
    if (s->ropts)
        rocksdb_readoptions_destroy(s->ropts);
    if (s->wopts)
        rocksdb_writeoptions_destroy(s->wopts);
    if (s->wopts_sync)
        rocksdb_writeoptions_destroy(s->wopts_sync);
    if (s->fopts)
        rocksdb_flushoptions_destroy(s->fopts);
    if (s->expiry_opts)
        rocksdb_options_destroy(s->expiry_opts);
    if (s->opts)
        rocksdb_options_destroy(s->opts);
    if (s->cache)
        rocksdb_cache_destroy(s->cache);
    pthread_mutex_destroy(&s->err_lock);
    pthread_rwlock_destroy(&s->handle);
    free(s->dir);
    free(s);
}

/* The id RocksDB gave a column family, read where its C API shows it: in
 * the bytes of a batch naming it (write batches below); -1 if unreadable. */
static long store_cf_id(rocksdb_column_family_handle_t *h)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, h, "", 0, "", 0);
    size_t n;
    const unsigned char *p = (const unsigned char *)rocksdb_writebatch_data(wb, &n);
    long id = -1;
    if (n > BATCH_HEADER && p[BATCH_HEADER] == BATCH_PUT) {
        id = 0;
    } else if (n > BATCH_HEADER && p[BATCH_HEADER] == BATCH_CF_PUT) {
        id = 0;
        for (size_t i = BATCH_HEADER + 1, shift = 0; i < n && shift < 35; i++, shift += 7) {
            id |= (long)(p[i] & 0x7f) << shift;
            if (!(p[i] & 0x80))
                break;
        }
    }
    rocksdb_writebatch_destroy(wb);
    return id;
}

/* A store_batch names family i of store_cf_names by the id i, which
 * RocksDB gives in creation order; a database where that is not so is
 * refused rather than written into the wrong family. 0 or STORE_ERR. */
static int store_cf_ids_check(store *s, char **err)
{
    for (int i = 1; i < STORE_NCF; i++) {
        long id = store_cf_id(s->cf[i]);
        if (id != i) {
            if (err)
                *err = store_strdupf("cannot open RocksDB in %s: column family %s has id %ld, "
                                     "not %d",
                                     s->dir, store_cf_names[i], id, i);
            return STORE_ERR;
        }
    }
    return 0;
}

/* Opens s->db with its column families (read_only: for reads alone,
 * replaying the WAL in memory); 0, or STORE_ERR with *err (malloc'd) when
 * err is given. */
static int store_open_db(store *s, char **err, int read_only)
{
    const rocksdb_options_t *cf_opts[STORE_NCF];
    for (int i = 0; i < STORE_NCF; i++)
        cf_opts[i] = s->opts;
    cf_opts[(int)STORE_CF_EXPIRY + 1] = s->expiry_opts;
    cf_opts[(int)STORE_CF_ELEMENTS + 1] = s->expiry_opts; /* read by prefix: no bloom */

    char *rerr = NULL;
    if (read_only)
        s->db = rocksdb_open_for_read_only_column_families(
            s->opts, s->dir, STORE_NCF, store_cf_names, cf_opts, s->cf, 0, &rerr);
    else
        s->db = rocksdb_open_column_families(s->opts, s->dir, STORE_NCF, store_cf_names, cf_opts,
                                             s->cf, &rerr);
    if (rerr == NULL && s->db != NULL) {
        if (store_cf_ids_check(s, err) == 0)
            return 0;
        store_close_db(s);
        return STORE_ERR;
    }
    if (err) {
        if (rerr && store_is_lock_error(rerr))
            *err = store_strdupf("another longtail-server is using %s (RocksDB LOCK held)", s->dir);
        else
            *err = store_strdupf("cannot open RocksDB in %s: %s", s->dir,
                                 rerr ? rerr : "unknown error");
    }
    free(rerr);
    s->db = NULL;
    return STORE_ERR;
}

int store_open(const struct store_options *o, store **out, char **err)
{
    *out = NULL;
    if (err)
        *err = NULL;
    store *s = heap_calloc(1, sizeof(*s));
    s->dir = heap_strdup(o->dir);
    pthread_mutex_init(&s->err_lock, NULL);
    /* a reopen waits for the readers; new readers then wait for it */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->handle, &ra);
    pthread_rwlockattr_destroy(&ra);
    store_build_options(s, o);
    if (store_open_db(s, err, 0) != 0) {
        store_free(s);
        return STORE_ERR;
    }
    s->ropts = rocksdb_readoptions_create();
    s->wopts = rocksdb_writeoptions_create();
    s->wopts_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts_sync, 1);
    s->fopts = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(s->fopts, 1);
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (s)
        store_free(s);
}

int store_reopen(store *s, char **err)
{
    if (err)
        *err = NULL;
    pthread_rwlock_wrlock(&s->handle);
    store_close_db(s);
    int rc = store_open_db(s, err, 0);
    if (rc == 0) {
        s->write_failed = 0;
    } else {
        /* a full disk can refuse the open itself (it flushes the old WAL
         * into a new SST): open for reads alone, which writes nothing, so
         * reads go on; writes stay refused until a later reopen works */
        snprintf(last_err, sizeof(last_err), "%s", err && *err ? *err : "reopen failed");
        store_mark_write_failed(s);
        if (store_open_db(s, NULL, 1) != 0)
            s->db = NULL;
    }
    pthread_rwlock_unlock(&s->handle);
    return rc;
}

/* Every use of the database handle holds it for reading: only a reopen
 * holds it for writing. */
static void store_use(store *s)
{
    pthread_rwlock_rdlock(&s->handle);
}

static void store_done(store *s)
{
    pthread_rwlock_unlock(&s->handle);
}

/* ---- point reads -------------------------------------------------------- */

/* A heap copy, never NULL, even of an empty value: callers tell a hit from
 * a miss by the pointer. */
static char *store_copy(const char *p, size_t n)
{
    char *v = heap_malloc(n);
    if (n)
        memcpy(v, p, n);
    return v;
}

int store_get(store *s, enum store_cf cf, const void *key, size_t klen, char **val, size_t *vlen)
{
    char *rerr = NULL;

    *val = NULL;
    *vlen = 0;
    store_use(s);
    if (store_closed(s)) {
        store_done(s);
        return STORE_ERR;
    }
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(s->db, s->ropts, store_cf(s, cf), key, klen, &rerr);
    store_done(s);
    if (rerr != NULL)
        return store_fail(s, "get", rerr);
    if (ps == NULL)
        return STORE_NOTFOUND;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(ps, &n);
    char *v = store_copy(p, n);
    rocksdb_pinnableslice_destroy(ps);
    *val = v;
    *vlen = n;
    return 0;
}

int store_key_may_exist(store *s, enum store_cf cf, const void *key, size_t klen)
{
    store_use(s);
    unsigned char may = !s->db || rocksdb_key_may_exist_cf(s->db, s->ropts, store_cf(s, cf), key,
                                                           klen, NULL, NULL, NULL, 0, NULL);
    store_done(s);
    return may != 0;
}

#define STORE_MGET_STACK 64

void store_multi_get(store *s, enum store_cf cf, size_t n, const char *const *keys,
                     const size_t *klens, char **vals, size_t *vlens, int *rc)
{
    rocksdb_pinnableslice_t *pins_stack[STORE_MGET_STACK];
    char *errs_stack[STORE_MGET_STACK];
    rocksdb_pinnableslice_t **pins = pins_stack;
    char **errs = errs_stack;

    if (n == 0)
        return;
    if (n > STORE_MGET_STACK) {
        pins = heap_malloc(n * sizeof(*pins));
        errs = heap_malloc(n * sizeof(*errs));
    }
    store_use(s);
    if (store_closed(s)) {
        store_done(s);
        for (size_t i = 0; i < n; i++) {
            vals[i] = NULL;
            vlens[i] = 0;
            rc[i] = STORE_ERR;
        }
        if (pins != pins_stack) {
            free(pins);
            free(errs);
        }
        return;
    }
    /* Values stay pinned in the block cache until copied: one copy each. */
    rocksdb_batched_multi_get_cf(s->db, s->ropts, store_cf(s, cf), n, keys, klens, pins, errs, 0);
    store_done(s);
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        vlens[i] = 0;
        if (errs[i] != NULL) {
            rc[i] = store_fail(s, "multi_get", errs[i]);
        } else if (pins[i] == NULL) {
            rc[i] = STORE_NOTFOUND;
        } else {
            size_t len;
            const char *p = rocksdb_pinnableslice_value(pins[i], &len);
            vals[i] = store_copy(p, len);
            vlens[i] = len;
            rc[i] = 0;
        }
        if (pins[i] != NULL)
            rocksdb_pinnableslice_destroy(pins[i]);
    }
    if (pins != pins_stack) {
        free(pins);
        free(errs);
    }
}

/* ---- write batches ------------------------------------------------------ */

struct store_batch {
    char *buf;
    size_t len, cap;
    size_t count; /* operations */
    size_t bytes; /* key and value bytes */
};

/* A batch keeps its buffer for the next commit up to this size; a bigger
 * one is given back as soon as it has served, so that a commit of one big
 * value leaves no copy of it behind. */
#define STORE_BATCH_KEEP  ((size_t)1 << 20)
#define STORE_BATCH_SLACK ((size_t)64 << 10)

store_batch *store_batch_new(void)
{
    return heap_calloc(1, sizeof(store_batch));
}

void store_batch_free(store_batch *b)
{
    if (b == NULL)
        return;
    free(b->buf);
    free(b);
}

void store_batch_clear(store_batch *b)
{
    if (b->cap > STORE_BATCH_KEEP) {
        free(b->buf);
        b->buf = NULL;
        b->cap = 0;
    }
    b->len = 0;
    b->count = 0;
    b->bytes = 0;
}

/* Room for one more operation of size bytes of keys and values. */
static void batch_reserve(store_batch *b, size_t size)
{
    size_t need = (b->len ? b->len : BATCH_HEADER) + BATCH_OP_MAX + size;
    if (need > b->cap) {
        /* doubling; but one operation bigger than the whole batch so far
         * (a big value) gets its size and a little room for the small ones
         * that follow it (counts, expiry entries), rather than doubling
         * (a copy of the value) at the next one */
        size_t cap = b->cap ? b->cap * 2 : 256;
        if (cap < need)
            cap = need + STORE_BATCH_SLACK;
        b->buf = heap_realloc(b->buf, cap);
        b->cap = cap;
    }
    if (b->len == 0) {
        memset(b->buf, 0, BATCH_HEADER);
        b->len = BATCH_HEADER;
    }
}

static void batch_varint(store_batch *b, size_t v)
{
    /* RocksDB's lengths are 32 bits; no caller has a longer key or value
     * (strs and listpacks are 32-bit too) */
    if (v > UINT32_MAX) {
        fprintf(stderr, "longtail: a batch operation of %zu bytes\n", v);
        abort();
    }
    unsigned char *p = (unsigned char *)b->buf + b->len;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    b->len = (size_t)((char *)p - b->buf);
}

static void batch_bytes(store_batch *b, const void *p, size_t n)
{
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->bytes += n;
}

/* Starts one operation of type on cf, with size bytes of keys and values. */
static void batch_op(store_batch *b, int type, enum store_cf cf, size_t size)
{
    batch_reserve(b, size);
    b->buf[b->len++] = (char)type;
    batch_varint(b, (size_t)cf + 1); /* the family's id: store_cf_ids_check */
    b->count++;
}

void store_batch_put(store_batch *b, enum store_cf cf, const void *k, size_t klen, const void *v,
                     size_t vlen)
{
    store_batch_put_parts(b, cf, k, klen, v, vlen, NULL, 0);
}

void store_batch_put_parts(store_batch *b, enum store_cf cf, const void *k, size_t klen,
                           const void *head, size_t hlen, const void *body, size_t blen)
{
    batch_op(b, BATCH_CF_PUT, cf, klen + hlen + blen);
    batch_varint(b, klen);
    batch_bytes(b, k, klen);
    batch_varint(b, hlen + blen);
    batch_bytes(b, head, hlen);
    batch_bytes(b, body, blen);
}

void store_batch_delete(store_batch *b, enum store_cf cf, const void *k, size_t klen)
{
    batch_op(b, BATCH_CF_DELETE, cf, klen);
    batch_varint(b, klen);
    batch_bytes(b, k, klen);
}

void store_batch_delete_range(store_batch *b, enum store_cf cf, const void *begin, size_t blen,
                              const void *end, size_t elen)
{
    batch_op(b, BATCH_CF_DELETE_RANGE, cf, blen + elen);
    batch_varint(b, blen);
    batch_bytes(b, begin, blen);
    batch_varint(b, elen);
    batch_bytes(b, end, elen);
}

size_t store_batch_count(store_batch *b)
{
    return b->count;
}

/* Key and value bytes recorded (RocksDB adds a few bytes of framing each). */
size_t store_batch_bytes(store_batch *b)
{
    return b->bytes;
}

/* store_write, but the batch is left to the caller. */
static int store_write_ops(store *s, store_batch *b, int sync)
{
    if (s->write_failed) {
        /* the error that stopped writes, again: no RocksDB call */
        pthread_mutex_lock(&s->err_lock);
        memcpy(last_err, s->write_err, sizeof(last_err));
        pthread_mutex_unlock(&s->err_lock);
        return STORE_ERR;
    }
    /* An empty batch still owes the caller the fsync it asked for. */
    if (b->count == 0)
        return sync ? store_sync_wal(s) : 0;
    store_use(s);
    if (store_closed(s)) {
        store_done(s);
        return store_mark_write_failed(s);
    }
    uint32_t n = (uint32_t)b->count;
    for (int i = 0; i < 4; i++)
        b->buf[8 + i] = (char)(n >> (8 * i));
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from(b->buf, b->len);
    /* a big buffer goes before the write, so that a big value is not held
     * once more while RocksDB copies it into its memtable */
    store_batch_clear(b);

    char *rerr = NULL;
    rocksdb_write(s->db, sync ? s->wopts_sync : s->wopts, wb, &rerr);
    store_done(s);
    rocksdb_writebatch_destroy(wb);
    if (rerr != NULL) {
        store_fail(s, "write", rerr);
        return store_mark_write_failed(s);
    }
    return 0;
}

int store_write(store *s, store_batch *b, int sync)
{
    int rc = store_write_ops(s, b, sync);
    store_batch_clear(b);
    return rc;
}

/* fdatasync of one file of the database directory; 0, 1 when it is gone
 * (a WAL RocksDB deleted meanwhile: its data is in synced SST files), or
 * STORE_ERR. */
static int sync_file(store *s, int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        char msg[STORE_ERRLEN];
        snprintf(msg, sizeof(msg), "open %s/%s: %s", s->dir, name, strerror(errno));
        store_set_error(s, "sync", msg);
        return STORE_ERR;
    }
    int rc = fdatasync(fd);
    int e = errno;
    close(fd);
    if (rc == 0)
        return 0;
    char msg[STORE_ERRLEN];
    snprintf(msg, sizeof(msg), "fdatasync %s/%s: %s", s->dir, name, strerror(e));
    store_set_error(s, "sync", msg);
    return STORE_ERR;
}

int store_sync_wal(store *s)
{
    if (s->write_failed)
        return 0; /* nothing is acknowledged until a reopen: nothing to sync */
    /* Not RocksDB's SyncWAL: after a failed WAL append, RocksDB aborts on
     * the next sync of that WAL's writer, and this runs on its own thread
     * beside the writes. fdatasync of the WAL files (*.log) through fds of
     * our own reaches the same data without touching RocksDB's writers;
     * then the directory, for WAL files created since the last sync. */
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        char msg[STORE_ERRLEN];
        snprintf(msg, sizeof(msg), "open %s: %s", s->dir, strerror(errno));
        store_set_error(s, "sync", msg);
        return STORE_ERR;
    }
    int rc = 0;
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        if (lfd >= 0)
            close(lfd);
        store_set_error(s, "sync", strerror(errno));
        close(dfd);
        return STORE_ERR;
    }
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".log") && sync_file(s, dfd, e->d_name) < 0)
            rc = STORE_ERR;
    }
    closedir(d);
    if (rc == 0 && fsync(dfd) != 0) {
        char msg[STORE_ERRLEN];
        snprintf(msg, sizeof(msg), "fsync %s: %s", s->dir, strerror(errno));
        store_set_error(s, "sync", msg);
        rc = STORE_ERR;
    }
    close(dfd);
    /* written data may not be durable: no write is acknowledged any more
     * until a reopen (the next commit's retry) */
    return rc == 0 ? 0 : store_mark_write_failed(s);
}

/* ---- iterators ---------------------------------------------------------- */

struct store_iter {
    store *s; /* held (store_use) until the iterator is freed */
    rocksdb_iterator_t *it;
    rocksdb_readoptions_t *ro; /* points at lower/upper below: lives as long as it */
    char *lower, *upper;       /* copies of the bounds, in the same allocation */
};

store_iter *store_iter_new(store *s, enum store_cf cf, const void *lower, size_t llen,
                           const void *upper, size_t ulen)
{
    size_t extra = (lower ? llen : 0) + (upper ? ulen : 0);
    store_iter *it = heap_malloc(sizeof(*it) + extra + 1);
    store_use(s);
    if (store_closed(s)) {
        store_done(s);
        free(it);
        return NULL;
    }
    it->s = s;
    char *p = (char *)(it + 1);

    it->lower = it->upper = NULL;
    it->ro = rocksdb_readoptions_create();
    if (lower) {
        it->lower = p;
        memcpy(p, lower, llen);
        p += llen;
        rocksdb_readoptions_set_iterate_lower_bound(it->ro, it->lower, llen);
    }
    if (upper) {
        it->upper = p;
        memcpy(p, upper, ulen);
        rocksdb_readoptions_set_iterate_upper_bound(it->ro, it->upper, ulen);
    }
    it->it = rocksdb_create_iterator_cf(s->db, it->ro, store_cf(s, cf));
    return it;
}

void store_iter_seek(store_iter *it, const void *key, size_t klen)
{
    rocksdb_iter_seek(it->it, key, klen);
}

void store_iter_seek_first(store_iter *it)
{
    rocksdb_iter_seek_to_first(it->it);
}

void store_iter_seek_last(store_iter *it)
{
    rocksdb_iter_seek_to_last(it->it);
}

int store_iter_valid(store_iter *it)
{
    return rocksdb_iter_valid(it->it) ? 1 : 0;
}

void store_iter_next(store_iter *it)
{
    rocksdb_iter_next(it->it);
}

void store_iter_prev(store_iter *it)
{
    rocksdb_iter_prev(it->it);
}

const char *store_iter_key(store_iter *it, size_t *klen)
{
    return rocksdb_iter_key(it->it, klen);
}

const char *store_iter_value(store_iter *it, size_t *vlen)
{
    return rocksdb_iter_value(it->it, vlen);
}

int store_iter_status(store_iter *it, char **err)
{
    char *rerr = NULL;

    if (err)
        *err = NULL;
    rocksdb_iter_get_error(it->it, &rerr);
    if (rerr == NULL)
        return 0;
    store_set_error(it->s, "iterator", rerr);
    if (err)
        *err = rerr;
    else
        free(rerr);
    return STORE_ERR;
}

void store_iter_free(store_iter *it)
{
    if (it == NULL)
        return;
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ro);
    store_done(it->s);
    free(it);
}

/* ---- maintenance -------------------------------------------------------- */

/* Whether the database may be written now (flushes, checkpoints and
 * compactions write files): not after a failed write, not when closed. */
static int store_writable(store *s)
{
    if (s->write_failed) {
        pthread_mutex_lock(&s->err_lock);
        memcpy(last_err, s->write_err, sizeof(last_err));
        pthread_mutex_unlock(&s->err_lock);
        return 0;
    }
    return !store_closed(s);
}

int store_checkpoint(store *s, const char *dir, char **err)
{
    char *rerr = NULL;

    if (err)
        *err = NULL;
    store_use(s);
    if (!store_writable(s)) {
        store_done(s);
        if (err)
            *err = strdup(last_err);
        return STORE_ERR;
    }
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &rerr);
    if (rerr == NULL) {
        /* log_size_for_flush 0: flush the memtables first, so the copy opens
         * without replaying a WAL. */
        rocksdb_checkpoint_create(cp, dir, 0, &rerr);
        rocksdb_checkpoint_object_destroy(cp);
    }
    store_done(s);
    if (rerr == NULL)
        return 0;
    store_set_error(s, "checkpoint", rerr);
    if (err)
        *err = rerr;
    else
        free(rerr);
    return STORE_ERR;
}

int store_flush(store *s)
{
    store_use(s);
    int rc = store_writable(s) ? 0 : STORE_ERR;
    for (int i = 0; rc == 0 && i < STORE_CF_COUNT; i++) {
        char *rerr = NULL;
        rocksdb_flush_cf(s->db, s->fopts, store_cf(s, (enum store_cf)i), &rerr);
        if (rerr != NULL)
            rc = store_fail(s, "flush", rerr);
    }
    store_done(s);
    return rc;
}

int store_compact(store *s, enum store_cf cf)
{
    char *rerr = NULL;

    store_use(s);
    if (!store_writable(s)) {
        store_done(s);
        return STORE_ERR;
    }
    rocksdb_flush_cf(s->db, s->fopts, store_cf(s, cf), &rerr);
    if (rerr != NULL) {
        store_done(s);
        return store_fail(s, "flush", rerr);
    }
    /* kForce (2): rewrite the bottom level too, so deleted ranges are
     * really gone afterwards. */
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2);
    rocksdb_compact_range_cf_opt(s->db, store_cf(s, cf), co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
    store_done(s);
    return 0;
}

/* ---- properties and statistics ------------------------------------------ */

/* Properties of the whole DB: every CF answers with the same number, so
 * they are read once instead of summed. */
static const char *const store_db_props[] = {
    "rocksdb.actual-delayed-write-rate",
    "rocksdb.is-write-stopped",
    "rocksdb.num-running-compactions",
    "rocksdb.num-running-flushes",
    "rocksdb.background-errors",
    "rocksdb.num-snapshots",
    "rocksdb.oldest-snapshot-time",
    "rocksdb.oldest-snapshot-sequence",
    "rocksdb.is-file-deletions-enabled",
    "rocksdb.min-log-number-to-keep",
    "rocksdb.min-obsolete-sst-number-to-keep",
};

int store_property_int(store *s, const char *name, uint64_t *out)
{
    *out = 0;
    if (!s->db)
        return STORE_ERR;
    /* The block cache is shared by every CF: ask the cache itself. */
    if (strcmp(name, "rocksdb.block-cache-usage") == 0) {
        *out = rocksdb_cache_get_usage(s->cache);
        return 0;
    }
    if (strcmp(name, "rocksdb.block-cache-pinned-usage") == 0) {
        *out = rocksdb_cache_get_pinned_usage(s->cache);
        return 0;
    }
    if (strcmp(name, "rocksdb.block-cache-capacity") == 0) {
        *out = rocksdb_cache_get_capacity(s->cache);
        return 0;
    }
    for (size_t i = 0; i < sizeof(store_db_props) / sizeof(store_db_props[0]); i++) {
        if (strcmp(name, store_db_props[i]) == 0)
            return rocksdb_property_int(s->db, name, out) == 0 ? 0 : STORE_ERR;
    }
    uint64_t sum = 0;
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        uint64_t v;
        if (rocksdb_property_int_cf(s->db, store_cf(s, (enum store_cf)i), name, &v) != 0)
            return STORE_ERR;
        sum += v;
    }
    *out = sum;
    return 0;
}

char *store_stats_text(store *s)
{
    return rocksdb_options_statistics_get_string(s->opts);
}

/* The STALL_MICROS ticker, read from the statistics text, where it appears
 * as "rocksdb.stall.micros COUNT : N". The ticker is the total time writers
 * spent delayed or stopped; the CF stats text ("rocksdb.cfstats") only has
 * it as a formatted H:M:S figure, so this is the simpler exact source. */
uint64_t store_stall_micros(store *s)
{
    static const char tag[] = "rocksdb.stall.micros COUNT : ";
    char *text = store_stats_text(s);
    uint64_t v = 0;

    if (text == NULL)
        return 0;
    const char *p = strstr(text, tag);
    if (p != NULL)
        v = strtoull(p + sizeof(tag) - 1, NULL, 10);
    free(text);
    return v;
}

/* ---- run-time options ---------------------------------------------------- */

/* Hands RocksDB's message of a refused option to the caller (or frees it). */
static int store_option_result(char *e, char **err)
{
    if (!e)
        return 0;
    if (err)
        *err = e;
    else
        free(e);
    return STORE_ERR;
}

int store_set_cf_option(store *s, const char *name, const char *value, char **err)
{
    if (!store_writable(s))
        return store_option_result(heap_strdup(last_err), err);
    const char *keys[1] = {name}, *vals[1] = {value};
    for (int i = 0; i < STORE_NCF; i++) {
        char *e = NULL;
        rocksdb_set_options_cf(s->db, s->cf[i], 1, keys, vals, &e);
        if (e)
            return store_option_result(e, err);
    }
    return 0;
}

int store_set_db_option(store *s, const char *name, const char *value, char **err)
{
    if (!store_writable(s))
        return store_option_result(heap_strdup(last_err), err);
    char *e = NULL;
    dboptions_set(s->db, name, value, &e);
    return store_option_result(e, err);
}

void store_set_block_cache_capacity(store *s, uint64_t bytes)
{
    rocksdb_cache_set_capacity(s->cache, (size_t)(bytes ? bytes : (uint64_t)8 << 20));
}
