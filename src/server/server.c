/*
 * server.c: start-up (with the effect log's replay), the loop's
 * before-sleep step (the log, then replies, then a checkpoint when due),
 * cron, statistics and shutdown.
 *
 * The order inside before_sleep is the durability promise (DESIGN.md §2):
 * the effects of this iteration's writes are written to the effect log
 * (fsynced with appendfsync always), and only then are replies written to
 * sockets. appendfsync everysec fsyncs the log once a second from a thread
 * of its own, so the loop never waits on the disk for it. Checkpoints into
 * RocksDB run on the commit thread and no reply waits for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/blocked.h"
#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/client.h"
#include "net/net.h"
#include "repl/effects.h"
#include "server/server.h"
#include "storage/committer.h"
#include "storage/readpool.h"
#include "tier/tier.h"

struct server server;

/* A log file is closed for a new one at a checkpoint once it holds this
 * much: the checkpoint's position is in the new one, and the old one is
 * deleted when it is fsynced. */
#define LOG_FILE_MIN_ROTATE (16u << 20)

static volatile sig_atomic_t shutdown_signal;

void server_reset_stats(void)
{
    memset(&net_stats, 0, sizeof(net_stats));
    server.stat_peak_memory = 0;
    memset(&ks_stats, 0, sizeof(ks_stats));
    tier_reset_stats();
    dispatch_reset_stats();
}

long long server_changes_since_save(void)
{
    return ks_stats.changes - server.changes_at_save;
}

/* ---- instantaneous metrics ------------------------------------------------ */

static void inst_sample(int metric, long long value, int64_t now)
{
    typeof(server.inst[0]) *m = &server.inst[metric];
    int64_t dt = now - m->last_ms;
    if (m->last_ms && dt > 0)
        m->samples[m->idx++ % 16] = (value - m->last_value) * 1000 / dt;
    m->last_ms = now;
    m->last_value = value;
}

long long server_instantaneous(int metric)
{
    long long sum = 0;
    for (int i = 0; i < 16; i++)
        sum += server.inst[metric].samples[i];
    return sum / 16;
}

/* ---- appendfsync ----------------------------------------------------------- */

int server_apply_fsync_policy(void)
{
    if (!server.log)
        return 0;
    if (server.appendfsync == FSYNC_EVERYSEC)
        aof_sync_thread_start(server.log);
    else
        aof_sync_thread_stop(server.log);
    return 0;
}

/* ---- loop hooks ---------------------------------------------------------- */

#define LOG_BACKOFF_FIRST_MS 100
#define LOG_BACKOFF_MAX_MS   5000

/* The iteration's effects go to the log (fsynced with appendfsync always),
 * then its replies leave. When the log can't be written, the effects stay
 * buffered and are retried after a backoff; the replies that acknowledged
 * them become Redis's error for an AOF it cannot write, the rest go. */
static void log_flush_and_reply(void)
{
    aof *log = server.log;
    if (!aof_pending(log) && !aof_failed(log)) {
        clients_write_pending();
        return;
    }
    int ok = 0;
    uint64_t now = util_monotonic_us();
    if (!aof_failed(log) || now >= server.log_retry_at_us) {
        int was_failing = aof_failed(log) != NULL;
        ok = aof_flush(log, server.appendfsync == FSYNC_ALWAYS) == 0;
        if (ok && was_failing) {
            log_warning("Writing the effect log works again: write commands are accepted");
            server.log_backoff_ms = 0;
        } else if (!ok) {
            if (!was_failing)
                log_warning("Writing the effect log failed: %s. Write commands are refused "
                            "until it works again; retrying.",
                            aof_failed(log));
            server.log_backoff_ms =
                server.log_backoff_ms
                    ? (server.log_backoff_ms * 2 > LOG_BACKOFF_MAX_MS ? LOG_BACKOFF_MAX_MS
                                                                      : server.log_backoff_ms * 2)
                    : LOG_BACKOFF_FIRST_MS;
            server.log_retry_at_us = now + (uint64_t)server.log_backoff_ms * 1000;
        }
    }
    if (ok) {
        clients_write_pending();
        return;
    }
    char err[700];
    snprintf(err, sizeof(err), "MISCONF Errors writing to the AOF file: %s",
             aof_failed(log) ? aof_failed(log) : "unknown error");
    clients_write_pending_failed(err);
}

void server_before_sleep(ev_loop *l)
{
    if (shutdown_signal) {
        log_warning("Received %s scheduling shutdown...",
                    shutdown_signal == SIGINT ? "SIGINT" : "SIGTERM");
        server_shutdown(0);
    }
    blocked_handle_ready(); /* keys whose waiters had to let a parked command go first */
    blocked_process_unblocked();
    log_flush_and_reply();
    int pinned = tier_enforce_maxmemory();
    /* A checkpoint: the distinct dirty keys go to RocksDB on the commit
     * thread, covering the log up to here; a full log file is closed
     * first, so the files below can go once it is fsynced. It is due by
     * time or log size, or now when dirty keys keep the hot tier over
     * maxmemory (cold mode: every iteration). */
    if (!keyspace_commit_in_flight() && (keyspace_checkpoint_due() || pinned)) {
        aof_rotate_if(server.log, LOG_FILE_MIN_ROTATE);
        keyspace_commit_start();
    }
    clients_free_closing();
    if (server.shutdown_asap)
        server_shutdown(server.shutdown_exit_code);
}

/* A checkpoint the cron decided on: a save point, or a BGSAVE scheduled. */
static void cron_save(void)
{
    char *err = NULL;
    if (server_save_checkpoint(&err) != 0) {
        log_warning("Background checkpoint failed: %s", err ? err : "?");
        free(err);
    }
}

int64_t server_cron(ev_loop *l, long long id, void *data)
{
    if (server.cron_paused)
        return 1000 / server.hz;
    server.cronloops++;
    keyspace_clock_update();
    static int64_t last_sample;
    if (keyspace_mstime - last_sample >= 100) {
        last_sample = keyspace_mstime;
        inst_sample(INST_COMMANDS, cmd_stats.numcommands, last_sample);
        inst_sample(INST_NET_INPUT, net_stats.net_input_bytes, last_sample);
        inst_sample(INST_NET_OUTPUT, net_stats.net_output_bytes, last_sample);
    }
    clients_cron();
    /* Every ten seconds: the running count of hot-tier bytes against
     * jemalloc's own view of the arena. They differ by what the arena's
     * thread cache holds; more than that means an allocation bypassed
     * hot_malloc/hot_free. */
    if (server.cronloops % ((uint64_t)server.hz * 10) == 0) {
        size_t mine = hot_used(), jem = arena_jemalloc_allocated();
        size_t diff = mine > jem ? mine - jem : jem - mine;
        if (jem && diff > (1u << 20) + jem / 20)
            log_warning("hot tier accounting: running count %zu bytes, jemalloc arena %zu bytes",
                        mine, jem);
    }
    if (server.bgsave_scheduled) {
        server.bgsave_scheduled = 0;
        cron_save();
    }
    for (int i = 0; i < server.nsave; i++) {
        long long changes = server_changes_since_save();
        if (changes >= server.save_params[i][1] &&
            time(NULL) - server.lastsave_s >= server.save_params[i][0] && changes > 0) {
            log_notice("%lld changes in %lld seconds. Saving...", server.save_params[i][1],
                       server.save_params[i][0]);
            cron_save();
            break;
        }
    }
    if (server.active_expire_enabled)
        keyspace_active_expire(1000000 / server.hz / 4);
    keyspace_write_retry();
    for (int i = 0; i < keyspace_count(); i++) {
        struct db *db = keyspace_db(i);
        dict_rehash_ms(db->keys, 1);
        dict_rehash_ms(db->expires, 1);
        dict_maybe_shrink(db->keys);
        dict_maybe_shrink(db->expires);
    }
    return 1000 / server.hz;
}

static void readpool_handler(ev_loop *l, int fd, void *data, int mask)
{
    tier_on_reads_done();
}

static void committer_handler(ev_loop *l, int fd, void *data, int mask)
{
    keyspace_commit_reap();
}

/* ---- signals ------------------------------------------------------------- */

static void on_shutdown_signal(int sig)
{
    if (shutdown_signal) {
        /* a second signal: exit now, as Redis does */
        log_raw_safe("You insist... exiting now.\n");
        _exit(1);
    }
    shutdown_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_shutdown_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
}

/* ---- start and stop ------------------------------------------------------ */

/* Opens the effect log, replays what the stored data does not cover yet,
 * and starts a new log file. */
static int log_open(void)
{
    char path[4096];
    char *err = NULL;
    snprintf(path, sizeof(path), "%s/%s", server.dir, server.appenddirname);
    if (aof_open(&server.log, path, server.appendfilename, &err) != 0) {
        log_warning("%s", err);
        free(err);
        return -1;
    }
    keyspace_set_log(server.log);
    effects_init(server.log);
    struct aof_pos from;
    if (keyspace_log_covered(&from) != 0) {
        log_warning("Can't read the log position of the storage: %s",
                    store_last_error(server.store));
        return -1;
    }
    int64_t t0 = util_mstime();
    long long n = effects_replay(server.log, &from, server.aof_load_truncated, &err);
    if (n < 0) {
        log_warning("%s", err);
        free(err);
        return -1;
    }
    server.log_replayed = n;
    server.log_replay_ms = util_mstime() - t0;
    if (n)
        log_notice("Replayed %lld commands of the effect log in %.3f seconds", n,
                   (double)server.log_replay_ms / 1000);
    if (aof_start(server.log, from.seq, &err) != 0) {
        log_warning("%s", err);
        free(err);
        return -1;
    }
    /* What was replayed is dirty in memory: the first checkpoint, due at
     * once and written by the commit thread while clients are served,
     * stores it; until it is fsynced the replayed files stay. */
    return 0;
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int server_init(void)
{
    server.pid = getpid();
    server.start_ms = util_mstime();
    server.start_mono_us = util_monotonic_us();
    server.active_expire_enabled = 1;
    server.lastsave_s = time(NULL);
    util_random_hex(server.runid, 40);
    uint8_t seed[16];
    util_random_bytes(seed, sizeof(seed));
    dict_set_hash_seed(seed);
    keyspace_clock_update();
    install_signals();
    command_table_init();

    if (mkdir_p(server.dir) < 0) {
        log_warning("Can't create the data directory '%s': %s", server.dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/db", server.dir);
    mkdir(path, 0755); /* RocksDB would, after logging that it is missing */
    struct store_options so;
    store_options_default(&so);
    so.dir = path;
    so.block_cache_size = (uint64_t)server.storage_block_cache_size;
    so.max_background_jobs = server.storage_max_background_jobs;
    so.direct_reads = server.storage_direct_reads;
    so.write_buffer_size = (uint64_t)server.storage_write_buffer_size;
    so.max_total_wal_size = (uint64_t)server.storage_max_total_wal_size;
    so.max_write_buffer_number = server.storage_max_write_buffer_number;
    so.level0_slowdown_writes_trigger = server.storage_level0_slowdown_writes_trigger;
    so.level0_stop_writes_trigger = server.storage_level0_stop_writes_trigger;
    so.rate_limit_bytes_per_sec = (uint64_t)server.storage_rate_limit;
    so.compression =
        server.storage_compression ? server.storage_compression_algorithm : STORE_COMPRESS_NONE;
    so.bottommost_compression = server.storage_compression
                                    ? server.storage_bottommost_compression_algorithm
                                    : STORE_COMPRESS_NONE;
    so.zstd_level = server.storage_zstd_level;
    so.compression_dict_bytes = (uint64_t)server.storage_compression_dict_size;
    so.block_size = (uint64_t)server.storage_block_size;
    char *err = NULL;
    if (store_open(&so, &server.store, &err) != 0) {
        log_warning("Can't open the storage: %s", err ? err : "unknown error");
        free(err);
        return -1;
    }
    if (keyspace_open(server.store, server.databases) != 0) {
        log_warning("Can't open the keyspace in %s", server.dir);
        return -1;
    }
    tier_init();
    dispatch_init();
    dispatch_set_protected_check(server_protected_refusal);
    /* the pool reads ahead for the log's replay. Cold reads of data in the
     * page cache are CPU work: on 2 CPUs one reader served the tiered
     * profile store 20-45 % faster than four (their wake-ups and context
     * switches took the main thread's CPU) */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (server.storage_threads == 0)
        server.storage_threads = cpus >= 16 ? 8 : cpus >= 2 ? (int)(cpus / 2) : 1;
    /* ... but while the log is replayed the main thread mostly waits for
     * them, so the replay has a reader per CPU (up to 8) */
    int replay_threads = cpus > 8 ? 8 : cpus > 1 ? (int)cpus : 1;
    if (replay_threads < server.storage_threads)
        replay_threads = server.storage_threads;
    if (readpool_start(server.store, replay_threads) < 0) {
        log_warning("Can't start the storage read pool");
        return -1;
    }
    if (log_open() != 0)
        return -1;
    readpool_stop();
    server.readpool_fd = readpool_start(server.store, server.storage_threads);
    if (server.readpool_fd < 0) {
        log_warning("Can't start the storage read pool");
        return -1;
    }
    net.loop = ev_create();
    if (!net.loop)
        return -1;
    ev_add(net.loop, server.readpool_fd, EV_READ, readpool_handler, NULL);
    server.committer_fd = committer_start(server.store);
    if (server.committer_fd < 0) {
        log_warning("Can't start the commit thread");
        return -1;
    }
    ev_add(net.loop, server.committer_fd, EV_READ, committer_handler, NULL);
    if (listen_start() < 0)
        return -1;
    server_apply_fsync_policy();
    ev_set_before_sleep(net.loop, server_before_sleep);
    ev_timer_add(net.loop, 1, server_cron, NULL);
    return 0;
}

void server_run(void)
{
    ev_run(net.loop);
}

void server_shutdown(int exit_code)
{
    log_warning("User requested shutdown...");
    listen_stop();
    /* Replies of this iteration are written only after their log write. */
    if (aof_flush(server.log, 1) != 0)
        log_warning("Writing the effect log failed at shutdown: %s", aof_failed(server.log));
    clients_write_pending();
    if (keyspace_commit() != 0)
        log_warning("Final checkpoint failed: the next start replays the effect log");
    while (net.clients)
        client_free(net.clients);
    tier_stop();
    readpool_stop();
    committer_stop();
    /* completions that arrived after the last drain belong to freed clients */
    tier_on_reads_done();
    aof_sync_thread_stop(server.log);
    store_sync_wal(server.store);
    /* Memtables to SST files: the next start then has no WAL to replay and
     * serves at once, whatever was written before this shutdown; and the
     * effect log below the final checkpoint can go. */
    if (store_flush(server.store) != 0)
        log_warning("Flushing memtables at shutdown failed: %s", store_last_error(server.store));
    else if (!keyspace_has_dirty() && !keyspace_write_error())
        aof_retire(server.log);
    aof_close(server.log);
    server.log = NULL;
    keyspace_close();
    store_close(server.store);
    server.store = NULL;
    if (server.pidfile && server.pidfile[0])
        unlink(server.pidfile);
    log_warning("longtail is now ready to exit, bye bye...");
    exit(exit_code);
}
