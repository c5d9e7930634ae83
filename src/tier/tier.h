/*
 * tier.h: what lives in memory (DESIGN.md §3): prefetch and parking of
 * commands whose keys are cold, and demotion of clean keys above maxmemory.
 *
 * tier/ knows keys and the keyspace, not clients or commands: a command
 * waiting for its keys is an opaque owner, and when they are in, tier/
 * hands the owner back to the scheduler that cmd/ registered
 * (tier_set_resume_hook); it never runs a command itself.
 */
#ifndef LT_TIER_TIER_H
#define LT_TIER_TIER_H

#include <stdint.h>

#include "ds/hist.h"
#include "keyspace/db.h"

/* maxmemory-policy: how clean keys are ranked for demotion. longtail never
 * evicts data: every policy only drops keys from memory. */
#define MAXMEMORY_LRU         0
#define MAXMEMORY_LFU         1
#define MAXMEMORY_RANDOM      2
#define MAXMEMORY_TTL         3
#define MAXMEMORY_NO_EVICTION 4

struct tier_settings {
    long long maxmemory; /* bytes of the hot tier; 0: no bound; 1: cold mode */
    int policy;          /* MAXMEMORY_* */
    int samples;         /* keys sampled per demotion (maxmemory-samples) */
};
extern struct tier_settings tier_settings;

/* Registers tier/'s listeners of keyspace events (a write or a flush makes
 * reads in flight stale). Once, at start-up, after keyspace_open. */
void tier_init(void);
/* The scheduler of parked commands: called with the owner of a prefetch
 * when its keys are in (from tier_on_reads_done, or when a command it
 * waited behind is done), never from inside tier_prefetch. */
void tier_set_resume_hook(void (*fn)(void *owner));

/* tier_prefetch flags */
#define PREFETCH_META (1 << 0) /* the command needs only metadata: split values as headers */

/* Before a command runs: reads those of its keys that are neither hot nor
 * known absent, and records in known what the reads found without
 * installing (absent keys, split headers with PREFETCH_META); values are
 * installed as clean hot keys. Returns 0 when the command can run now, 1
 * when owner must wait: the resume hook is called later. A command whose
 * keys are named by an earlier waiting command waits behind it (order on a
 * key, DESIGN.md §3). keys (copied) and the strs they point at, and known,
 * stay the caller's and valid until then; arrival orders commands. */
int tier_prefetch(void *owner, uint64_t arrival, const struct key_at *keys, int n, int flags,
                  struct known_keys *known);
/* The owner is gone: its reads complete into nothing, no resume. */
void tier_cancel(void *owner);
/* Whether any command is parked or waiting behind one (cheap). */
int tier_waiting(void);
/* Whether a command that arrived before `before` and is still waiting for
 * reads names one of keys: a blocked client served because of the command
 * of arrival `before` must not overtake it. */
int tier_keys_wanted_before(const struct key_at *keys, int n, uint64_t before);
/* Shutdown: no more reads are submitted (the pool is stopping). */
void tier_stop(void);
/* Drains the read pool's completions (its eventfd is readable). */
void tier_on_reads_done(void);
/* The log's replay (nothing else runs): tier_readahead_start has the pool
 * read those of keys (the next commands') that are neither hot nor known
 * absent, and returns; tier_readahead_finish waits for the reads and
 * installs each value read as a clean hot key unless its key was written
 * meanwhile. One read-ahead at a time: start finishes the previous one. A
 * read that failed installs nothing (the command's own read tries again). */
void tier_readahead_start(const struct key_at *keys, int n);
void tier_readahead_finish(void);
/* Demotes clean keys until the hot tier is within maxmemory (or every clean
 * key in cold mode, maxmemory 1). Called at the end of every loop
 * iteration. Returns 1 when dirty keys stand in the way (the hot tier is
 * still over maxmemory, or in cold mode keys are dirty): a checkpoint is
 * needed before more can go. */
int tier_enforce_maxmemory(void);

struct tier_stats {
    long long prefetch_reads;       /* keys read by the pool */
    long long prefetch_hits_absent; /* of those, found absent */
    long long parked;               /* commands parked */
    long long stale_reads;          /* reads discarded (key written in flight) */
    long long bloom_absent;         /* keys known absent from the bloom filters, no read */
    long long bloom_skipped;        /* prefetches that read without probing them first */
    long long header_reads;         /* split values read as their header alone */
    long long followed;             /* commands that waited for reads of their keys by others */
    long long read_errors;          /* keys whose read failed (their commands answered an error) */
    hist read_latency;              /* of the pool's reads, µs */
};
extern struct tier_stats tier_stats;
/* Zeroes the counters (CONFIG RESETSTAT). */
void tier_reset_stats(void);

#endif
