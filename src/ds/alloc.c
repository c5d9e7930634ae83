/*
 * alloc.c: hot-tier allocations on a dedicated jemalloc arena.
 *
 * Every hot-tier block is allocated with MALLOCX_ARENA(a) | MALLOCX_TCACHE(t):
 * an arena of its own, so jemalloc can report its size independently of
 * RocksDB and connection buffers, and an explicit thread cache, because
 * MALLOCX_TCACHE_NONE would take the arena lock on every call. The running
 * count `used` adds sallocx() of each block on allocation and subtracts it on
 * free, so hot_used() is exact and costs nothing; cron cross-checks it with
 * jemalloc's own arena statistics.
 *
 * Sanitizer builds use the system allocator (ASan must see every block);
 * the running count then uses malloc_usable_size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/log.h"

#ifdef LT_SANITIZERS
#include <malloc.h>
#else
#include <jemalloc/jemalloc.h>
#endif

static size_t used;

void alloc_oom(size_t size)
{
    log_warning("Out Of Memory allocating %zu bytes!", size);
    abort();
}

void *heap_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        alloc_oom(size);
    return p;
}

void *heap_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        alloc_oom(n * size);
    return p;
}

void *heap_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        alloc_oom(size);
    return p;
}

char *heap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = heap_malloc(n);
    memcpy(p, s, n);
    return p;
}

char *heap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = heap_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

#ifdef LT_SANITIZERS

void arena_init(void) {}

void *hot_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        alloc_oom(size);
    used += malloc_usable_size(p);
    return p;
}

void *hot_calloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (!p)
        alloc_oom(size);
    used += malloc_usable_size(p);
    return p;
}

void *hot_realloc(void *ptr, size_t size)
{
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        alloc_oom(size);
    used = used - old + malloc_usable_size(p);
    return p;
}

void hot_free(void *ptr)
{
    if (!ptr)
        return;
    used -= malloc_usable_size(ptr);
    free(ptr);
}

size_t hot_usable(void *ptr)
{
    return malloc_usable_size(ptr);
}

size_t arena_jemalloc_allocated(void)
{
    return 0;
}

size_t arena_process_allocated(void)
{
    return 0;
}

size_t arena_process_resident(void)
{
    return 0;
}

const char *arena_allocator_name(void)
{
    return "libc";
}

int arena_malloc_stats(void (*cb)(void *, const char *), void *opaque)
{
    return 0;
}

void arena_purge(void) {}

#else /* jemalloc */

static unsigned arena_index;
static int flags; /* MALLOCX_ARENA | MALLOCX_TCACHE, 0 until initialised */
static size_t purge_mib[3], purge_miblen = 3; /* "arena.<arena_index>.purge" */

/* A hot block at least this big, freed (or moved by a realloc), has the
 * arena's dirty pages returned to the system at once. jemalloc does the
 * same for such blocks of the default arenas (its oversize arena, whose
 * threshold this is); an arena of our own is not covered by it, and its
 * decay only runs when the arena is used again: without this, the RSS of
 * an idle server would stay at its peak after a big DEL. */
#define HOT_PURGE_MIN ((size_t)8 << 20)

static void hot_purge(void)
{
    mallctlbymib(purge_mib, purge_miblen, NULL, NULL, NULL, 0);
}

void arena_init(void)
{
    if (flags)
        return;
    unsigned ind, tc;
    size_t sz = sizeof(ind);
    if (mallctl("arenas.create", &ind, &sz, NULL, 0) != 0) {
        fprintf(stderr, "longtail: jemalloc arenas.create failed\n");
        abort();
    }
    sz = sizeof(tc);
    if (mallctl("tcache.create", &tc, &sz, NULL, 0) != 0) {
        fprintf(stderr, "longtail: jemalloc tcache.create failed\n");
        abort();
    }
    if (mallctlnametomib("arena.0.purge", purge_mib, &purge_miblen) != 0) {
        fprintf(stderr, "longtail: jemalloc arena.0.purge is missing\n");
        abort();
    }
    purge_mib[1] = ind;
    arena_index = ind;
    flags = MALLOCX_ARENA(ind) | MALLOCX_TCACHE(tc);
}

void *hot_malloc(size_t size)
{
    if (!flags)
        arena_init();
    void *p = mallocx(size ? size : 1, flags);
    if (!p)
        alloc_oom(size);
    used += sallocx(p, 0);
    return p;
}

void *hot_calloc(size_t size)
{
    if (!flags)
        arena_init();
    void *p = mallocx(size ? size : 1, flags | MALLOCX_ZERO);
    if (!p)
        alloc_oom(size);
    used += sallocx(p, 0);
    return p;
}

void *hot_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return hot_malloc(size);
    size_t old = sallocx(ptr, 0);
    void *p = rallocx(ptr, size ? size : 1, flags);
    if (!p)
        alloc_oom(size);
    size_t now = sallocx(p, 0);
    used = used - old + now;
    if (old >= HOT_PURGE_MIN && (p != ptr || now < old))
        hot_purge();
    return p;
}

void hot_free(void *ptr)
{
    if (!ptr)
        return;
    size_t size = sallocx(ptr, 0);
    used -= size;
    dallocx(ptr, flags);
    if (size >= HOT_PURGE_MIN)
        hot_purge();
}

size_t hot_usable(void *ptr)
{
    return sallocx(ptr, 0);
}

static size_t arena_stat(const char *name)
{
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    size_t v = 0;
    sz = sizeof(v);
    if (mallctl(name, &v, &sz, NULL, 0) != 0)
        return 0;
    return v;
}

size_t arena_jemalloc_allocated(void)
{
    if (!flags)
        return 0;
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%u.small.allocated", arena_index);
    size_t small = arena_stat(name);
    snprintf(name, sizeof(name), "stats.arenas.%u.large.allocated", arena_index);
    size_t large = 0, sz = sizeof(large);
    mallctl(name, &large, &sz, NULL, 0); /* same epoch as above */
    return small + large;
}

size_t arena_process_allocated(void)
{
    return arena_stat("stats.allocated");
}

size_t arena_process_resident(void)
{
    return arena_stat("stats.resident");
}

const char *arena_allocator_name(void)
{
    static char name[64];
    if (!name[0]) {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v)
            snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(v, "-"), v);
        else
            snprintf(name, sizeof(name), "jemalloc");
    }
    return name;
}

int arena_malloc_stats(void (*cb)(void *, const char *), void *opaque)
{
    malloc_stats_print(cb, opaque, NULL);
    return 1;
}

void arena_purge(void)
{
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    mallctl(name, NULL, NULL, NULL, 0);
}

#endif

size_t hot_used(void)
{
    return used;
}
