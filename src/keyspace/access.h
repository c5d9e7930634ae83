/*
 * access.h: when a value was last used, and how often (DESIGN.md §3).
 *
 * Every obj carries one 32-bit word, o->lru: with an LRU policy the access
 * clock in seconds at its last access; with an LFU policy (the settings'
 * `lfu`) 16 bits of minutes at its last decrement and an 8-bit logarithmic
 * counter, as Redis keeps them. OBJECT FREQ and IDLETIME read it, and tier/
 * ranks keys for demotion by it.
 *
 * A demoted key loses its object and with it this word; reading the key
 * back would start it afresh, and OBJECT FREQ/IDLETIME or the demotion
 * ranking would answer differently hot and cold. So demotion leaves the word
 * in a history table, and a key read back takes it again.
 */
#ifndef LT_KEYSPACE_ACCESS_H
#define LT_KEYSPACE_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace/object.h"

/* The access clock: unix seconds (INFO lru_clock shows its low 24 bits). */
uint32_t access_clock(void);
/* A new value's word, as for a first access. */
void access_init(obj *o);
/* An access: the LRU clock is set, or the LFU counter maybe incremented. */
void access_touch(obj *o);
/* The LFU counter decayed to now (OBJECT FREQ). */
unsigned access_lfu_counter(const obj *o);
/* Seconds since the last access (OBJECT IDLETIME, LRU ranking). */
long long access_idle_seconds(const obj *o);

/* Keeps a demoted key's word (a newer key may take its slot) ... */
void access_remember(uint16_t dbid, const char *key, size_t len, uint32_t word);
/* ... and gives it back when the key is read again: 1 when it was still
 * there (it is then forgotten). */
int access_recall(uint16_t dbid, const char *key, size_t len, uint32_t *word);

#endif
