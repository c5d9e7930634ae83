/*
 * server.c: start-up, the loop's before-sleep step (commit, then replies),
 * cron, statistics and shutdown.
 *
 * The order inside before_sleep is the durability promise (DESIGN.md §2):
 * every write of this iteration goes into one WriteBatch, is written to the
 * RocksDB WAL (fsynced with appendfsync always), and only then are replies
 * written to sockets. appendfsync everysec fsyncs the WAL once a second from
 * a thread of its own, so the loop never waits on the disk for it.
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
#include "server/server.h"
#include "storage/committer.h"
#include "storage/readpool.h"
#include "tier/tier.h"

struct server server;

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

/* ---- WAL fsync thread (appendfsync everysec) ----------------------------- */

static pthread_t fsync_thread;
static int fsync_running;
static pthread_mutex_t fsync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fsync_cond = PTHREAD_COND_INITIALIZER;

static void *fsync_main(void *arg)
{
    pthread_mutex_lock(&fsync_lock);
    while (fsync_running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&fsync_cond, &fsync_lock, &ts);
        if (!fsync_running)
            break;
        pthread_mutex_unlock(&fsync_lock);
        /* a failure stops writes (store_write_failed) until a commit's
         * retry reopens the storage */
        if (store_sync_wal(server.store) != 0)
            log_warning("WAL fsync failed: %s", store_last_error(server.store));
        pthread_mutex_lock(&fsync_lock);
    }
    pthread_mutex_unlock(&fsync_lock);
    return NULL;
}

static void fsync_thread_stop(void)
{
    pthread_mutex_lock(&fsync_lock);
    int was = fsync_running;
    fsync_running = 0;
    pthread_cond_signal(&fsync_cond);
    pthread_mutex_unlock(&fsync_lock);
    if (was)
        pthread_join(fsync_thread, NULL);
}

int server_apply_fsync_policy(void)
{
    if (!server.store)
        return 0;
    int want = server.appendfsync == FSYNC_EVERYSEC;
    if (want && !fsync_running) {
        fsync_running = 1;
        if (pthread_create(&fsync_thread, NULL, fsync_main, NULL) != 0) {
            fsync_running = 0;
            return -1;
        }
    } else if (!want && fsync_running) {
        fsync_thread_stop();
    }
    return 0;
}

/* ---- loop hooks ---------------------------------------------------------- */

/* keyspace's commit_done listener: the replies waiting for the commit go,
 * or, when storage refused it, every write acknowledgement not sent yet
 * becomes Redis's error for an AOF it cannot write (the rest goes). */
static void commit_done(int ok)
{
    char err[700];
    const char *why = ok ? NULL : keyspace_write_error();
    snprintf(err, sizeof(err), "MISCONF Errors writing to the AOF file: %s",
             why ? why : "unknown error");
    clients_commit_done(ok, err);
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
    /* This iteration's writes go to the commit thread and its replies wait
     * for them (commit_done); with a commit still in flight, they wait for
     * the next one. While storage refuses writes and the next retry is not
     * due, no commit starts: write commands are refused meanwhile, so the
     * replies need none and go at once. */
    if (!keyspace_commit_in_flight()) {
        if (keyspace_has_dirty()) {
            clients_await_commit();
            if (!keyspace_commit_start())
                commit_done(0);
        } else {
            clients_write_pending();
        }
    }
    tier_enforce_maxmemory();
    clients_free_closing();
    if (server.shutdown_asap)
        server_shutdown(server.shutdown_exit_code);
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
    for (int i = 0; i < server.nsave; i++) {
        long long changes = server_changes_since_save();
        if (changes >= server.save_params[i][1] &&
            time(NULL) - server.lastsave_s >= server.save_params[i][0] && changes > 0) {
            char *err = NULL;
            log_notice("%lld changes in %lld seconds. Saving...", server.save_params[i][1],
                       server.save_params[i][0]);
            if (server_save_checkpoint(&err) != 0) {
                log_warning("Background checkpoint failed: %s", err ? err : "?");
                free(err);
            }
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
    net.loop = ev_create();
    if (!net.loop)
        return -1;
    server.readpool_fd = readpool_start(server.store, server.storage_threads);
    if (server.readpool_fd < 0) {
        log_warning("Can't start the storage read pool");
        return -1;
    }
    ev_add(net.loop, server.readpool_fd, EV_READ, readpool_handler, NULL);
    server.committer_fd = committer_start(server.store);
    if (server.committer_fd < 0) {
        log_warning("Can't start the commit thread");
        return -1;
    }
    ev_add(net.loop, server.committer_fd, EV_READ, committer_handler, NULL);
    keyspace_on_commit_done(commit_done);
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
    /* Replies of this iteration are written only after their commit. */
    if (keyspace_commit() != 0)
        log_warning("Final commit failed; unacknowledged writes are lost");
    clients_write_pending();
    while (net.clients)
        client_free(net.clients);
    tier_stop();
    readpool_stop();
    committer_stop();
    /* completions that arrived after the last drain belong to freed clients */
    tier_on_reads_done();
    fsync_thread_stop();
    store_sync_wal(server.store);
    /* Memtables to SST files: the next start then has no WAL to replay and
     * serves at once, whatever was written before this shutdown. */
    if (store_flush(server.store) != 0)
        log_warning("Flushing memtables at shutdown failed: %s", store_last_error(server.store));
    keyspace_close();
    store_close(server.store);
    server.store = NULL;
    if (server.pidfile && server.pidfile[0])
        unlink(server.pidfile);
    log_warning("longtail is now ready to exit, bye bye...");
    exit(exit_code);
}
