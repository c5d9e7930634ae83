/*
 * server.h: the server's state, shared by every layer above storage/.
 *
 * One global `server`, owned by the main thread. Configuration values live
 * here too; server/config.def maps config names onto these fields.
 */
#ifndef LT_SERVER_SERVER_H
#define LT_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ds/hist.h"
#include "ds/str.h"
#include "net/client.h"
#include "net/event.h"
#include "storage/store.h"

#define LT_VERSION       "0.1.0"
#define LT_REDIS_VERSION "7.0.15" /* the Redis version whose behaviour we follow */

#define MAXMEMORY_LRU         0
#define MAXMEMORY_LFU         1
#define MAXMEMORY_RANDOM      2
#define MAXMEMORY_TTL         3
#define MAXMEMORY_NO_EVICTION 4 /* longtail never evicts data; all policies only demote */

#define FSYNC_NO       0
#define FSYNC_ALWAYS   1
#define FSYNC_EVERYSEC 2

#define PROTECTED_NO  0
#define PROTECTED_YES 1

#define SLOWLOG_ENTRY_MAX_ARGC   32
#define SLOWLOG_ENTRY_MAX_STRING 128

struct slowlog_entry {
    long long id;
    int64_t time_s;
    long long duration_us;
    int argc;
    str *argv;
    str peer, name;
    struct slowlog_entry *next, *prev;
};

struct server {
    /* config (see config.def) */
    char *configfile;
    int port;
    char *bind;
    int protected_mode;
    char *dir;
    int databases;
    long long maxmemory;
    int maxmemory_policy;
    int maxmemory_samples;
    int appendfsync;
    int appendonly; /* always yes: every write goes through the RocksDB WAL */
    char *save;     /* "seconds changes ..." checkpoint schedule */
    int nsave;
    long long save_params[16][2];
    int storage_threads;
    int loglevel;
    char *logfile;
    char *pidfile;
    int daemonize;
    char *requirepass;
    long long maxclients;
    long long timeout;
    long long tcp_keepalive;
    long long tcp_backlog;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    char *client_output_buffer_limit;
    long long obuf_hard, obuf_soft, obuf_soft_secs; /* normal class, parsed */
    int hz;
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long hll_sparse_max_bytes;
    long long slowlog_log_slower_than;
    long long slowlog_max_len;
    int lfu_log_factor;
    int lfu_decay_time;
    int active_expire_enabled;
    int enable_debug_command; /* 0 no, 1 yes, 2 local */
    long long storage_block_cache_size;
    int storage_max_background_jobs;
    int storage_direct_reads;
    long long storage_write_buffer_size;
    int storage_max_write_buffer_number;
    int storage_level0_slowdown_writes_trigger;
    int storage_level0_stop_writes_trigger;
    long long storage_rate_limit;
    int storage_compression;
    int storage_compression_algorithm;            /* STORE_COMPRESS_LZ4 or _ZSTD */
    int storage_bottommost_compression_algorithm; /* same */
    int storage_zstd_level;
    long long storage_compression_dict_size;
    long long storage_block_size;
    long long storage_split_threshold;
    int latency_tracking;
    char *latency_percentiles; /* "50 99 99.9" */
    int npercentiles;
    double percentiles[16];
    long long list_max_listpack_size; /* quicklist node fill: < 0 bytes, > 0 elements */
    int list_compress_depth;

    /* runtime */
    pid_t pid;
    char runid[41];
    int64_t start_ms;
    uint64_t start_mono_us;
    ev_loop *loop;
    int listen_fds[16];
    int nlisten;
    store *store;
    int readpool_fd;
    client *clients; /* all clients, linked */
    long long nclients;
    uint64_t next_client_id;
    uint64_t arrivals;       /* commands dispatched so far: their arrival order */
    client *pending_writes;  /* clients with replies to write */
    client *awaiting_commit; /* clients whose replies wait for the commit in flight */
    int committer_fd;        /* eventfd of the commit thread */
    client *current;         /* client running a command */
    int shutdown_asap;
    int cron_paused; /* DEBUG PAUSE-CRON */
    int shutdown_exit_code;
    int64_t lastsave_s;
    long long dirty_since_save;
    uint64_t cronloops;
    int64_t mstime_cached; /* ms at the start of the command (Redis's cmd time snapshot) */
    uint32_t lru_clock;

    /* stats */
    long long stat_numcommands;
    long long stat_numconnections;
    long long stat_rejected_conn;
    long long stat_net_input_bytes, stat_net_output_bytes;
    long long stat_total_error_replies;
    long long stat_unexpected_error_replies;
    long long stat_reads, stat_writes; /* read/write system calls on client sockets */
    size_t stat_peak_memory;
    /* instantaneous metrics: samples taken every 100 ms */
    struct {
        long long last_value;
        int64_t last_ms;
        long long samples[16];
        int idx;
    } inst[3];
    hist read_latency; /* storage reads of the pool, µs */
    struct slowlog_entry *slowlog_head, *slowlog_tail;
    long long slowlog_len;
    long long slowlog_next_id;
    void *errorstats; /* dict: error code -> count */
};

extern struct server server;

/* server.c */
int server_init(void);
void server_run(void);
void server_shutdown(int exit_code); /* commit, close storage, exit */
void server_before_sleep(ev_loop *l);
int64_t server_cron(ev_loop *l, long long id, void *data);
void server_update_cached_time(void);
uint32_t server_lru_clock(void);
void server_count_error(const char *msg);
void server_reset_stats(void);
#define INST_COMMANDS   0
#define INST_NET_INPUT  1
#define INST_NET_OUTPUT 2
/* Per-second rate of a counter, averaged over the last 1.6 s. */
long long server_instantaneous(int metric);
int server_apply_fsync_policy(void);
/* Checkpoint to <dir>/checkpoint after a commit (SAVE, BGSAVE, `save`). */
int server_save_checkpoint(char **err);

/* listen.c */
int listen_start(void);
void listen_stop(void);
/* Re-opens the listening sockets after a change of port or bind; on
 * failure the old sockets stay. 0 or -1. */
int listen_restart(void);

/* info.c */
str info_generate(client *c, int argc, str *argv);

/* admin.c */
void slowlog_push(client *c, long long duration_us);
void slowlog_reset(void);

#endif
