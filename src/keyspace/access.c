/*
 * access.c: the LRU clock and LFU counter of values, and the history of
 * demoted keys' words (access.h).
 *
 * LFU: the counter grows with probability 1 / ((counter - LFU_INIT) *
 * lfu-log-factor + 1) on each access and loses one per lfu-decay-time
 * minutes without access, so it is a logarithm of the access rate; new
 * values start at LFU_INIT so that they are not the first to go.
 *
 * History: a direct-mapped table of 64 Ki slots (1 MiB), each a 64-bit
 * fingerprint of (dbid, key) and the word; a newer key mapping to the same
 * slot replaces the older one.
 */
#include "keyspace/access.h"

#include <stdlib.h>

#include "ds/alloc.h"
#include "ds/hashfn.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/settings.h"

#define LFU_INIT_VAL  5
#define HISTORY_SLOTS (1u << 16)

/* The clocks read the keyspace's cached time (set before each command and
 * by cron), as Redis reads its cached LRU clock: no system call per access. */
uint32_t access_clock(void)
{
    return (uint32_t)(keyspace_mstime / 1000);
}

static uint16_t lfu_minutes(void)
{
    return (uint16_t)((keyspace_mstime / 60000) & 0xffff);
}

unsigned access_lfu_counter(const obj *o)
{
    unsigned ldt = o->lru >> 8, counter = o->lru & 0xff;
    unsigned now = lfu_minutes();
    unsigned elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    unsigned decay = (unsigned)keyspace_settings.lfu_decay_time;
    unsigned periods = decay ? elapsed / decay : 0;
    return periods > counter ? 0 : counter - periods;
}

void access_init(obj *o)
{
    if (keyspace_settings.lfu)
        o->lru = ((uint32_t)lfu_minutes() << 8) | LFU_INIT_VAL;
    else
        o->lru = access_clock();
}

void access_touch(obj *o)
{
    if (!keyspace_settings.lfu) {
        o->lru = access_clock();
        return;
    }
    unsigned counter = access_lfu_counter(o);
    if (counter < 255) {
        double r = (double)(util_rand64() >> 11) / (double)(1ull << 53);
        double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        if (r < 1.0 / (base * keyspace_settings.lfu_log_factor + 1))
            counter++;
    }
    o->lru = ((uint32_t)lfu_minutes() << 8) | counter;
}

long long access_idle_seconds(const obj *o)
{
    uint32_t now = access_clock();
    return now >= o->lru ? (long long)(now - o->lru) : 0;
}

/* ---- history of demoted keys --------------------------------------------- */

struct history_slot {
    uint64_t fp; /* 0: empty */
    uint32_t word;
};

static struct history_slot *history;

static uint64_t history_fp(uint16_t dbid, const char *key, size_t len)
{
    static const uint8_t k[16] = "longtail-history";
    return (hashfn_siphash(key, len, k) ^ ((uint64_t)dbid * 0x9e3779b97f4a7c15ull)) | 1;
}

void access_remember(uint16_t dbid, const char *key, size_t len, uint32_t word)
{
    if (!history)
        history = heap_calloc(HISTORY_SLOTS, sizeof(*history));
    uint64_t fp = history_fp(dbid, key, len);
    struct history_slot *h = &history[fp & (HISTORY_SLOTS - 1)];
    h->fp = fp;
    h->word = word;
}

int access_recall(uint16_t dbid, const char *key, size_t len, uint32_t *word)
{
    if (!history)
        return 0;
    uint64_t fp = history_fp(dbid, key, len);
    struct history_slot *h = &history[fp & (HISTORY_SLOTS - 1)];
    if (h->fp != fp)
        return 0;
    *word = h->word;
    h->fp = 0;
    return 1;
}
