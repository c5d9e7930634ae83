/*
 * settings.h: the keyspace's configuration (DESIGN.md §6: each layer reads
 * its config from its own settings struct).
 *
 * server/ owns the config table (server/config.def): it points each of
 * these options at its field here and writes it at start-up and on CONFIG
 * SET; nothing in keyspace/ or below includes server/. A change takes
 * effect at the next use (the next conversion check, commit, access).
 */
#ifndef LT_KEYSPACE_SETTINGS_H
#define LT_KEYSPACE_SETTINGS_H

struct keyspace_settings {
    /* encodings of collections (object_*.c), Redis's configs */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long list_max_listpack_size; /* quicklist node fill: < 0 bytes, > 0 elements */
    int list_compress_depth;          /* accepted and reported; nodes stay uncompressed */
    long long hll_sparse_max_bytes;   /* HyperLogLog strings (types/hll.c) */
    /* collections with at least this many elements are stored one element
     * per RocksDB key (split.c); 0: never */
    long long split_threshold;
    /* access bookkeeping (access.c): an LFU counter instead of an LRU clock
     * in every object (the maxmemory-policy is an LFU one), and its tuning */
    int lfu;
    int lfu_log_factor;
    int lfu_decay_time;
    /* checkpoints (commit.c): at most this long apart while keys are dirty
     * (ms), and sooner once the log since the last one passes log_bytes */
    long long checkpoint_interval_ms;
    long long checkpoint_log_bytes;
    /* backpressure: writes are slowed from half of this much log behind
     * the last written checkpoint, and wait for checkpoints at it */
    long long checkpoint_max_lag_bytes;
};

extern struct keyspace_settings keyspace_settings;

#endif
