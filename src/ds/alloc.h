/*
 * alloc.h: the allocator of the hot tier.
 *
 * Every byte that belongs to an in-memory key or value (keys, objects, their
 * tables) is allocated here, so that the hot tier's size is known exactly.
 * The implementation lives in tier/arena.c (a jemalloc arena of its own with
 * its own thread cache); ds/ only sees these functions. Memory from hot_*
 * must be released with hot_free, never with free().
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
void hot_free(void *ptr);
/* Usable size of a block from hot_malloc (what the accounting counts). */
size_t hot_usable(void *ptr);
/* Bytes currently allocated through hot_* (running count, exact). */
size_t hot_used(void);

#endif
