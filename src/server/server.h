/*
 * server.h: the server's own state: what wires the layers together at
 * start-up and drives them from the loop (before_sleep, cron), and what
 * only the server-wide commands (CONFIG, INFO, DEBUG, SAVE, SHUTDOWN) read.
 * Nothing below server/ includes this header.
 */
#ifndef LT_SERVER_SERVER_H
#define LT_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ds/hist.h"
#include "ds/str.h"
#include "ds/version.h"
#include "net/client.h"
#include "net/event.h"
#include "storage/aof.h"
#include "storage/store.h"

#define FSYNC_NO       0
#define FSYNC_ALWAYS   1
#define FSYNC_EVERYSEC 2

/* What only server/ reads or does: start-up, the storage options, the loop
 * hooks, cron, persistence schedule and INFO. Every other layer's config
 * lives in its own settings struct (net_settings, keyspace_settings,
 * tier_settings, cmd_settings), which server/config.def points at. */
struct server {
    /* config (see config.def) */
    char *configfile;
    char *dir;
    int databases;
    int appendfsync;
    int appendonly;       /* always yes: every write goes to the effect log */
    char *appenddirname;  /* the effect log's directory, under dir */
    char *appendfilename; /* its files' base name */
    int aof_load_truncated;
    char *save; /* "seconds changes ..." checkpoint schedule */
    int nsave;
    long long save_params[16][2];
    int storage_threads;
    int loglevel;
    char *logfile;
    char *pidfile;
    int daemonize;
    int hz;
    int active_expire_enabled;
    int enable_debug_command; /* 0 no, 1 yes, 2 local */
    long long storage_block_cache_size;
    int storage_max_background_jobs;
    int storage_direct_reads;
    long long storage_write_buffer_size;
    long long storage_max_total_wal_size;
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
    char *latency_percentiles; /* "50 99 99.9" */
    int npercentiles;
    double percentiles[16];

    /* runtime */
    pid_t pid;
    char runid[41];
    int64_t start_ms;
    uint64_t start_mono_us;
    store *store;
    aof *log;                 /* the effect log (storage/aof.h) */
    uint64_t log_retry_at_us; /* a failed log write is retried from then */
    int64_t log_backoff_ms;
    long long log_replayed; /* commands replayed at start-up */
    long long log_replay_ms;
    int readpool_fd;
    int committer_fd; /* eventfd of the commit thread */
    int shutdown_asap;
    int cron_paused; /* DEBUG PAUSE-CRON */
    int shutdown_exit_code;
    int64_t lastsave_s;
    long long changes_at_save; /* ks_stats.changes at the last save */
    int bgsave_scheduled;      /* BGSAVE ran inside EXEC: the cron saves */
    uint64_t cronloops;

    /* stats */
    size_t stat_peak_memory;
    /* instantaneous metrics: samples taken every 100 ms */
    struct {
        long long last_value;
        int64_t last_ms;
        long long samples[16];
        int idx;
    } inst[3];
};

extern struct server server;

/* server.c */
int server_init(void);
void server_run(void);
void server_shutdown(int exit_code); /* commit, close storage, exit */
void server_before_sleep(ev_loop *l);
int64_t server_cron(ev_loop *l, long long id, void *data);
void server_reset_stats(void);
#define INST_COMMANDS   0
#define INST_NET_INPUT  1
#define INST_NET_OUTPUT 2
/* Per-second rate of a counter, averaged over the last 1.6 s. */
long long server_instantaneous(int metric);
int server_apply_fsync_policy(void);
/* Changes since the last save (INFO rdb_changes_since_last_save, `save`). */
long long server_changes_since_save(void);
/* Checkpoint to <dir>/checkpoint after a commit (SAVE, BGSAVE, `save`). */
int server_save_checkpoint(char **err);
/* May c run the protected command cmd (DEBUG)? NULL, or the error: the
 * dispatcher asks before the command runs or is queued. */
const char *server_protected_refusal(client *c, const struct command *cmd);

/* info.c */
str info_generate(client *c, int argc, str *argv);

#endif
