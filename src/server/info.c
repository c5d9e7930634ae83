/*
 * info.c: the INFO command. Field names are Redis 7.0's where the concept
 * exists; `# Tiering` is longtail's own section.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmd/blocked.h"
#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "keyspace/db.h"
#include "keyspace/split.h"
#include "net/net.h"
#include "net/reply.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/elements.h"
#include "tier/tier.h"

static str cat_fmt(str s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static str cat_fmt(str s, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    return str_cat(s, buf, (size_t)n);
}

static void bytes_human(char *buf, size_t size, unsigned long long n)
{
    double d = (double)n;
    if (n < 1024)
        snprintf(buf, size, "%lluB", n);
    else if (n < 1024ull * 1024)
        snprintf(buf, size, "%.2fK", d / 1024);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(buf, size, "%.2fM", d / (1024 * 1024));
    else if (n < 1024ull * 1024 * 1024 * 1024)
        snprintf(buf, size, "%.2fG", d / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, size, "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
}

static size_t rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp)
        return 0;
    unsigned long pages = 0, rss = 0;
    if (fscanf(fp, "%lu %lu", &pages, &rss) != 2)
        rss = 0;
    fclose(fp);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t prop(const char *name)
{
    uint64_t v = 0;
    if (store_property_int(server.store, name, &v) != 0)
        return 0;
    return v;
}

static str section_server(str s)
{
    struct utsname u;
    uname(&u);
    int64_t up = (util_mstime() - server.start_ms) / 1000;
    s = cat_fmt(
        s,
        "# Server\r\n"
        "redis_version:%s\r\n"
        "longtail_version:%s\r\n"
        "redis_git_sha1:00000000\r\n"
        "redis_git_dirty:0\r\n"
        "redis_build_id:0\r\n"
        "redis_mode:standalone\r\n"
        "os:%s %s %s\r\n"
        "arch_bits:%d\r\n"
        "monotonic_clock:POSIX clock_gettime\r\n"
        "multiplexing_api:epoll\r\n"
        "atomicvar_api:c11-builtin\r\n"
        "gcc_version:%d.%d.%d\r\n"
        "process_id:%d\r\n"
        "process_supervised:no\r\n"
        "run_id:%s\r\n"
        "tcp_port:%d\r\n"
        "server_time_usec:%lld\r\n"
        "uptime_in_seconds:%lld\r\n"
        "uptime_in_days:%lld\r\n"
        "hz:%d\r\n"
        "configured_hz:%d\r\n"
        "lru_clock:%u\r\n"
        "executable:%s\r\n"
        "config_file:%s\r\n"
        "io_threads_active:0\r\n",
        LT_REDIS_VERSION, LT_VERSION, u.sysname, u.release, u.machine, (int)(sizeof(void *) * 8),
#ifdef __GNUC__
        __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
        0, 0, 0,
#endif
        (int)server.pid, server.runid, net_settings.port, (long long)util_ustime(), (long long)up,
        (long long)(up / 86400), server.hz, server.hz, access_clock() & ((1u << 24) - 1),
        "longtail-server", server.configfile ? server.configfile : "");
    return s;
}

static str section_clients(str s)
{
    size_t maxin = 0, maxout = 0;
    long long parked = 0;
    for (client *c = net.clients; c; c = c->next) {
        if (c->qcap > maxin)
            maxin = c->qcap;
        if (c->reply_bytes > maxout)
            maxout = c->reply_bytes;
        parked += (c->flags & CLIENT_PARKED) != 0;
    }
    return cat_fmt(s,
                   "# Clients\r\n"
                   "connected_clients:%lld\r\n"
                   "cluster_connections:0\r\n"
                   "maxclients:%lld\r\n"
                   "client_recent_max_input_buffer:%zu\r\n"
                   "client_recent_max_output_buffer:%zu\r\n"
                   "blocked_clients:%lld\r\n"
                   "tracking_clients:0\r\n"
                   "clients_in_timeout_table:%lld\r\n"
                   "parked_clients:%lld\r\n",
                   net.nclients, net_settings.maxclients, maxin, maxout, blocked_clients_count(),
                   blocked_timeout_count(), parked);
}

static str section_memory(str s)
{
    size_t used = arena_process_allocated();
    size_t hot = hot_used();
    if (!used)
        used = hot;
    size_t rss = rss_bytes();
    if (used > server.stat_peak_memory)
        server.stat_peak_memory = used;
    char h1[32], h2[32], h3[32], h4[32];
    bytes_human(h1, sizeof(h1), used);
    bytes_human(h2, sizeof(h2), rss);
    bytes_human(h3, sizeof(h3), (unsigned long long)tier_settings.maxmemory);
    bytes_human(h4, sizeof(h4), hot);
    const char *policy;
    int found;
    str pol = config_get_value("maxmemory-policy", &found);
    policy = pol;
    s = cat_fmt(s,
                "# Memory\r\n"
                "used_memory:%zu\r\n"
                "used_memory_human:%s\r\n"
                "used_memory_rss:%zu\r\n"
                "used_memory_rss_human:%s\r\n"
                "used_memory_peak:%zu\r\n"
                "hot_tier_used_memory:%zu\r\n"
                "hot_tier_used_memory_human:%s\r\n"
                "hot_tier_jemalloc_allocated:%zu\r\n"
                "maxmemory:%lld\r\n"
                "maxmemory_human:%s\r\n"
                "maxmemory_policy:%s\r\n"
                "mem_fragmentation_ratio:%.2f\r\n"
                "mem_allocator:%s\r\n"
                "lazyfree_pending_objects:0\r\n",
                used, h1, rss, h2, server.stat_peak_memory, hot, h4, arena_jemalloc_allocated(),
                tier_settings.maxmemory, h3, policy, used ? (double)rss / (double)used : 0.0,
                arena_allocator_name());
    str_free(pol);
    return s;
}

/* Redis's AOF fields where the concept is the same (the effect log is an
 * AOF without a base file: the checkpoints in RocksDB are its base), then
 * longtail's own: the log and its checkpoints, and the refused writes of
 * docs/design.md "Faults and limits". */
static str section_persistence(str s)
{
    const char *werr = keyspace_write_error();
    const struct aof_stats *as = aof_stats_of(server.log);
    int files;
    uint64_t total, current;
    aof_sizes(server.log, &files, &total, &current);
    int64_t last_ms;
    struct checkpoint_info cp;
    keyspace_log_stats(&last_ms, &cp);
    uint64_t lag = keyspace_log_lag();
    int delay = keyspace_write_delay_ms(); /* -1: waiting for the checkpoint */
    const char *bp = delay < 0 ? "waiting" : delay > 0 ? "slowing" : "off";
    long long dirty = 0;
    for (int i = 0; i < server.databases; i++)
        dirty += keyspace_dirty_count(keyspace_db(i));
    s = cat_fmt(s,
                "# Persistence\r\n"
                "loading:0\r\n"
                "async_loading:0\r\n"
                "rdb_changes_since_last_save:%lld\r\n"
                "rdb_bgsave_in_progress:0\r\n"
                "rdb_last_save_time:%lld\r\n"
                "rdb_last_bgsave_status:ok\r\n"
                "aof_enabled:1\r\n"
                "aof_rewrite_in_progress:0\r\n"
                "aof_rewrite_scheduled:0\r\n"
                "aof_last_bgrewrite_status:ok\r\n"
                "aof_last_write_status:%s\r\n"
                "aof_current_size:%llu\r\n"
                "aof_base_size:0\r\n"
                "aof_pending_rewrite:0\r\n"
                "aof_buffer_length:%zu\r\n"
                "aof_pending_bio_fsync:%d\r\n"
                "aof_delayed_fsync:%lld\r\n",
                server_changes_since_save(), (long long)server.lastsave_s, werr ? "err" : "ok",
                (unsigned long long)total, aof_pending(server.log),
                as->pending_fsyncs > 0 && server.appendfsync == FSYNC_EVERYSEC, as->delayed_fsync);
    return cat_fmt(s,
                   "storage_engine:rocksdb\r\n"
                   "log_files:%d\r\n"
                   "log_current_file_size:%llu\r\n"
                   "log_write_errors:%lld\r\n"
                   "log_fsync_errors:%lld\r\n"
                   "log_replayed_commands:%lld\r\n"
                   "log_replay_ms:%lld\r\n"
                   "checkpoint_in_progress:%d\r\n"
                   "checkpoint_dirty_keys:%lld\r\n"
                   "checkpoint_lag_bytes:%llu\r\n"
                   "checkpoint_last_age_ms:%lld\r\n"
                   "checkpoint_last_duration_ms:%.3f\r\n"
                   "checkpoint_last_keys:%lld\r\n"
                   "checkpoint_last_bytes:%lld\r\n"
                   "checkpoint_backpressure:%s\r\n"
                   "checkpoint_write_delay_ms:%d\r\n"
                   "checkpoint_delayed_writes:%lld\r\n"
                   "checkpoint_delayed_ms:%lld\r\n"
                   "storage_write_errors:%lld\r\n"
                   "storage_commit_retries:%lld\r\n"
                   "storage_reopens:%lld\r\n"
                   "storage_last_write_error:%s\r\n",
                   files, (unsigned long long)current, as->write_errors, as->fsync_errors,
                   server.log_replayed, server.log_replay_ms, keyspace_commit_in_flight(), dirty,
                   (unsigned long long)lag, last_ms ? (long long)(util_mstime() - last_ms) : -1LL,
                   (double)cp.duration_us / 1000, cp.keys, cp.bytes, bp, delay < 0 ? 0 : delay,
                   cmd_stats.delayed_writes, cmd_stats.delayed_us / 1000, ks_stats.commit_errors,
                   ks_stats.commit_retries, ks_stats.storage_reopens, werr ? werr : "");
}

static str section_stats(str s)
{
    return cat_fmt(s,
                   "# Stats\r\n"
                   "total_connections_received:%lld\r\n"
                   "total_commands_processed:%lld\r\n"
                   "instantaneous_ops_per_sec:%lld\r\n"
                   "total_net_input_bytes:%lld\r\n"
                   "total_net_output_bytes:%lld\r\n"
                   "instantaneous_input_kbps:%.2f\r\n"
                   "instantaneous_output_kbps:%.2f\r\n"
                   "rejected_connections:%lld\r\n"
                   "expired_keys:%lld\r\n"
                   "evicted_keys:0\r\n"
                   "keyspace_hits:%lld\r\n"
                   "keyspace_misses:%lld\r\n"
                   "pubsub_channels:0\r\n"
                   "pubsub_patterns:0\r\n"
                   "total_error_replies:%lld\r\n"
                   "unexpected_error_replies:%lld\r\n"
                   "total_reads_processed:%lld\r\n"
                   "total_writes_processed:%lld\r\n"
                   "client_output_buffer_limit_disconnections:%lld\r\n"
                   "client_reply_max_size_errors:%lld\r\n",
                   net_stats.numconnections, cmd_stats.numcommands,
                   server_instantaneous(INST_COMMANDS), net_stats.net_input_bytes,
                   net_stats.net_output_bytes, (double)server_instantaneous(INST_NET_INPUT) / 1024,
                   (double)server_instantaneous(INST_NET_OUTPUT) / 1024, net_stats.rejected_conn,
                   ks_stats.expired_keys, ks_stats.keyspace_hits, ks_stats.keyspace_misses,
                   cmd_stats.total_error_replies, 0ll, net_stats.reads, net_stats.writes,
                   net_stats.obuf_disconnections, net_stats.reply_max_errors);
}

static str section_replication(str s)
{
    return cat_fmt(s,
                   "# Replication\r\n"
                   "role:master\r\n"
                   "connected_slaves:0\r\n"
                   "master_failover_state:no-failover\r\n"
                   "master_replid:%s\r\n"
                   "master_replid2:0000000000000000000000000000000000000000\r\n"
                   "master_repl_offset:0\r\n"
                   "second_repl_offset:-1\r\n"
                   "repl_backlog_active:0\r\n"
                   "repl_backlog_size:0\r\n"
                   "repl_backlog_first_byte_offset:0\r\n"
                   "repl_backlog_histlen:0\r\n",
                   server.runid);
}

static str section_cpu(str s)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return cat_fmt(s,
                   "# CPU\r\n"
                   "used_cpu_sys:%ld.%06ld\r\n"
                   "used_cpu_user:%ld.%06ld\r\n"
                   "used_cpu_sys_children:%ld.%06ld\r\n"
                   "used_cpu_user_children:%ld.%06ld\r\n",
                   (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                   (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                   (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
                   (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec);
}

static str section_modules(str s)
{
    return cat_fmt(s, "# Modules\r\n");
}

static str section_cluster(str s)
{
    return cat_fmt(s, "# Cluster\r\ncluster_enabled:0\r\n");
}

static str section_commandstats(str s)
{
    s = cat_fmt(s, "# Commandstats\r\n");
    for (int i = 0; i < command_count_all(); i++) {
        struct command *c = command_at(i);
        if (!c->calls && !c->rejected_calls && !c->failed_calls)
            continue;
        s = cat_fmt(s,
                    "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,"
                    "failed_calls=%lld\r\n",
                    c->name, c->calls, c->usec, c->calls ? (double)c->usec / (double)c->calls : 0,
                    c->rejected_calls, c->failed_calls);
    }
    return s;
}

static str section_latencystats(str s)
{
    s = cat_fmt(s, "# Latencystats\r\n");
    for (int i = 0; i < command_count_all(); i++) {
        struct command *c = command_at(i);
        if (!c->latency || !c->latency->count)
            continue;
        s = cat_fmt(s, "latency_percentiles_usec_%s:", c->name);
        for (int p = 0; p < server.npercentiles; p++)
            s = cat_fmt(s, "%sp%g=%.3f", p ? "," : "", server.percentiles[p],
                        (double)hist_percentile(c->latency, server.percentiles[p]));
        s = cat_fmt(s, "\r\n");
    }
    return s;
}

static void errorstat_line(void *ctx, const char *code, long long count)
{
    str *s = ctx;
    *s = cat_fmt(*s, "errorstat_%s:count=%lld\r\n", code, count);
}

static str section_errorstats(str s)
{
    s = cat_fmt(s, "# Errorstats\r\n");
    dispatch_errorstats(errorstat_line, &s);
    return s;
}

static str section_keyspace(str s)
{
    s = cat_fmt(s, "# Keyspace\r\n");
    for (int i = 0; i < keyspace_count(); i++) {
        struct db *db = keyspace_db(i);
        if (db->nkeys)
            s = cat_fmt(s, "db%d:keys=%lld,expires=%lld,avg_ttl=%lld\r\n", i, db->nkeys,
                        db->nexpires, db->avg_ttl);
    }
    return s;
}

static str section_tiering(str s)
{
    long long hot_keys = 0, keys = 0;
    for (int i = 0; i < keyspace_count(); i++) {
        struct db *db = keyspace_db(i);
        hot_keys += (long long)dict_size(db->keys);
        keys += db->nkeys;
    }
    return cat_fmt(s,
                   "# Tiering\r\n"
                   "hot_keys:%lld\r\n"
                   "hot_tier_used_memory:%zu\r\n"
                   "maxmemory:%lld\r\n"
                   "keys_on_disk:%lld\r\n"
                   "prefetch_reads:%lld\r\n"
                   "prefetch_hits_absent:%lld\r\n"
                   "prefetch_bloom_absent:%lld\r\n"
                   "prefetch_bloom_skipped:%lld\r\n"
                   "prefetch_parked_commands:%lld\r\n"
                   "prefetch_stale_reads:%lld\r\n"
                   "prefetch_header_reads:%lld\r\n"
                   "prefetch_followed_commands:%lld\r\n"
                   "sync_loads:%lld\r\n"
                   "promotions:%lld\r\n"
                   "demotions:%lld\r\n"
                   "commits:%lld\r\n"
                   "commit_keys:%lld\r\n"
                   "commit_bytes:%lld\r\n"
                   "commit_errors:%lld\r\n"
                   "split_whole_writes:%lld\r\n"
                   "split_element_writes:%lld\r\n"
                   "split_garbage_ranges:%lld\r\n"
                   "split_element_reads:%lld\r\n"
                   "storage_read_errors:%lld\r\n"
                   "storage_corrupt_values:%lld\r\n"
                   "storage_expire_errors:%lld\r\n"
                   "storage_read_latency_p50_us:%llu\r\n"
                   "storage_read_latency_p99_us:%llu\r\n"
                   "storage_read_latency_p999_us:%llu\r\n"
                   "rocksdb_sst_bytes:%llu\r\n"
                   "rocksdb_memtable_bytes:%llu\r\n"
                   "block_cache_bytes:%llu\r\n"
                   "rocksdb_pending_compaction_bytes:%llu\r\n"
                   "rocksdb_running_compactions:%llu\r\n"
                   "rocksdb_write_stopped:%llu\r\n"
                   "rocksdb_delayed_write_rate:%llu\r\n"
                   "rocksdb_stall_micros:%llu\r\n",
                   hot_keys, hot_used(), tier_settings.maxmemory, keys, tier_stats.prefetch_reads,
                   tier_stats.prefetch_hits_absent, tier_stats.bloom_absent,
                   tier_stats.bloom_skipped, tier_stats.parked, tier_stats.stale_reads,
                   tier_stats.header_reads, tier_stats.followed, ks_stats.sync_loads,
                   ks_stats.promotions, ks_stats.demotions, ks_stats.commits, ks_stats.commit_keys,
                   ks_stats.commit_bytes, ks_stats.commit_errors, split_stats.whole_writes,
                   split_stats.element_writes, split_stats.garbage_ranges, elements_read_total(),
                   ks_stats.read_errors, ks_stats.corrupt_values, ks_stats.expire_errors,
                   (unsigned long long)hist_percentile(&tier_stats.read_latency, 50),
                   (unsigned long long)hist_percentile(&tier_stats.read_latency, 99),
                   (unsigned long long)hist_percentile(&tier_stats.read_latency, 99.9),
                   (unsigned long long)prop("rocksdb.live-sst-files-size"),
                   (unsigned long long)prop("rocksdb.cur-size-all-mem-tables"),
                   (unsigned long long)prop("rocksdb.block-cache-usage"),
                   (unsigned long long)prop("rocksdb.estimate-pending-compaction-bytes"),
                   (unsigned long long)prop("rocksdb.num-running-compactions"),
                   (unsigned long long)prop("rocksdb.is-write-stopped"),
                   (unsigned long long)prop("rocksdb.actual-delayed-write-rate"),
                   (unsigned long long)store_stall_micros(server.store));
}

struct section {
    const char *name;
    str (*fn)(str);
    int in_default;
};

static const struct section sections[] = {
    {"server", section_server, 1},
    {"clients", section_clients, 1},
    {"memory", section_memory, 1},
    {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},
    {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},
    {"modules", section_modules, 1},
    {"commandstats", section_commandstats, 0},
    {"errorstats", section_errorstats, 1},
    {"latencystats", section_latencystats, 0},
    {"cluster", section_cluster, 1},
    {"keyspace", section_keyspace, 1},
    {"tiering", section_tiering, 1},
};
#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

str info_generate(client *c, int argc, str *argv)
{
    int want[NSECTIONS] = {0};
    if (argc == 0) {
        for (int i = 0; i < NSECTIONS; i++)
            want[i] = sections[i].in_default;
    }
    for (int a = 0; a < argc; a++) {
        const char *n = argv[a];
        if (!strcasecmp(n, "default")) {
            for (int i = 0; i < NSECTIONS; i++)
                want[i] |= sections[i].in_default;
        } else if (!strcasecmp(n, "all") || !strcasecmp(n, "everything")) {
            for (int i = 0; i < NSECTIONS; i++)
                want[i] = 1;
        } else {
            for (int i = 0; i < NSECTIONS; i++)
                if (!strcasecmp(n, sections[i].name))
                    want[i] = 1;
        }
    }
    str s = str_new(NULL, 0);
    int first = 1;
    for (int i = 0; i < NSECTIONS; i++) {
        if (!want[i])
            continue;
        if (!first)
            s = str_cat(s, "\r\n", 2);
        first = 0;
        s = sections[i].fn(s);
    }
    return s;
}

void cmd_info(client *c)
{
    str s = info_generate(c, c->argc - 1, c->argv + 1);
    reply_verbatim(c, s, str_len(s), "txt");
    str_free(s);
}
