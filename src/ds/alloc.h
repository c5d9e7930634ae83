/*
 * alloc.h: the allocators: the hot tier's, and checked allocation on the
 * process heap for everything else.
 *
 * Every byte that belongs to an in-memory key or value (keys, objects, their
 * tables) is allocated here, so that the hot tier's size is known exactly.
 * The implementation (alloc.c) is a jemalloc arena of its own with its own
 * thread cache (DESIGN.md §5), which belongs to the main thread: hot_* must
 * not be called from other threads. Memory from hot_* must be released with
 * hot_free, never with free().
 *
 * hot_malloc never returns NULL: running out of memory aborts the process
 * with a message, as Redis does.
 */
#ifndef LT_DS_ALLOC_H
#define LT_DS_ALLOC_H

#include <stddef.h>

void *hot_malloc(size_t size);
void *hot_calloc(size_t size);
void *hot_realloc(void *ptr, size_t size);
/* A block of 8 MB or more freed (or moved by hot_realloc) has the arena's
 * dirty pages returned to the system at once (alloc.c). */
void hot_free(void *ptr);
/* Usable size of a block from hot_malloc (what the accounting counts). */
size_t hot_usable(void *ptr);
/* Bytes currently allocated through hot_* (running count, exact). */
size_t hot_used(void);

/* ---- the process heap ------------------------------------------------------
 * Connection buffers, argv, prefetch state, temporary values: every heap
 * allocation of longtail goes through these (never a bare malloc), which
 * never return NULL: out of memory aborts the process after one log line,
 * as Redis does. Memory from heap_* is released with free(). */
void *heap_malloc(size_t size);
void *heap_calloc(size_t n, size_t size);
void *heap_realloc(void *ptr, size_t size);
char *heap_strdup(const char *s);
/* The first n bytes of s (fewer if it ends first), terminated. */
char *heap_strndup(const char *s, size_t n);
/* Out of memory: logs "Out Of Memory allocating N bytes!" and aborts. */
void alloc_oom(size_t size) __attribute__((noreturn));

/* ---- the arena behind it, for accounting and INFO --------------------- */

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
