/*
 * tier.h: what lives in memory (DESIGN.md §3): prefetch and parking of
 * clients whose keys are cold, and demotion of clean keys above maxmemory.
 */
#ifndef LT_TIER_TIER_H
#define LT_TIER_TIER_H

#include <stdint.h>

#include "ds/str.h"
#include "net/client.h"

/* Reads the command's cold keys through the read pool. Returns 0 when the
 * command can run now, 1 when the client was parked (client_resume() is
 * called when its keys are in). */
int tier_prefetch(client *c);
/* Whether a command that arrived before `before` (an arrival number) and
 * is parked or waiting names one of the keys of c's command: a blocked
 * client served because of the command of arrival `before` must not
 * overtake it. */
int tier_keys_wanted_before(client *c, uint64_t before);
/* Drains the read pool's completions (eventfd readable). */
void tier_on_reads_done(void);
/* A key was written: any read of it still in flight is stale. */
void tier_key_written(uint16_t dbid, const str key);
/* A whole db was flushed or swapped: every read of it in flight is stale. */
void tier_db_changed(uint16_t dbid);
/* Forgets a freed client's parked state (its jobs complete into nothing). */
void tier_client_freed(client *c);
/* Demotes clean keys until the hot tier is within maxmemory (or every clean
 * key in cold mode, maxmemory 1). Called after each commit and from cron. */
void tier_enforce_maxmemory(void);
/* LRU/LFU bookkeeping on access. */
void tier_touch(void *o);
void tier_init_obj(void *o);
/* OBJECT FREQ: the LFU counter decayed to now. */
int tier_lfu_counter(void *o);
/* OBJECT IDLETIME in seconds. */
long long tier_idle_seconds(void *o);

/* Keeps a demoted key's LRU/LFU word, and gives it back when the key is read
 * again (1 if it was still remembered). */
void tier_remember(uint16_t dbid, const char *key, size_t len, uint32_t lru);
int tier_recall(uint16_t dbid, const char *key, size_t len, uint32_t *lru);

struct tier_stats {
    long long prefetch_reads;       /* keys read by the pool */
    long long prefetch_hits_absent; /* of those, found absent */
    long long parked;               /* commands parked */
    long long stale_reads;          /* reads discarded (key written in flight) */
    long long bloom_absent;         /* keys known absent from the bloom filters, no read */
    long long header_reads;         /* split values read as their header alone */
    long long followed;             /* commands that waited for reads of their keys by others */
};
extern struct tier_stats tier_stats;

#endif
