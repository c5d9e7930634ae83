/*
 * arena.h: the hot tier's own jemalloc arena (DESIGN.md §5).
 *
 * The allocation functions themselves are declared in ds/alloc.h (ds/ uses
 * them without knowing where they come from). This header adds what the
 * tier needs to watch the arena: its index and jemalloc's own view of it.
 *
 * The arena and its explicit thread cache belong to the main thread: hot_*
 * must not be called from other threads.
 */
#ifndef LT_TIER_ARENA_H
#define LT_TIER_ARENA_H

#include <stddef.h>

#include "ds/alloc.h"

/* Creates the arena (idempotent; hot_malloc calls it on first use). */
void arena_init(void);
/* jemalloc's count of bytes allocated in the arena (small + large), after an
 * epoch refresh; 0 when built without jemalloc (sanitizers). */
size_t arena_jemalloc_allocated(void);
/* Bytes allocated by the whole process (jemalloc stats.allocated), or 0. */
size_t arena_process_allocated(void);
/* Resident bytes of the process as jemalloc sees them (stats.resident), or 0. */
size_t arena_process_resident(void);
/* Name of the allocator for INFO's mem_allocator. */
const char *arena_allocator_name(void);

/* jemalloc's statistics report, handed to cb in pieces; 0 when the build
 * has no jemalloc (sanitizers). */
int arena_malloc_stats(void (*cb)(void *, const char *), void *opaque);
/* Returns unused dirty pages of every arena to the system. */
void arena_purge(void);

#endif
