/*
 * absent.h: keys known to be absent for the one command about to run.
 *
 * Prefetch (tier/) learns that some of a command's keys do not exist,
 * either from the bloom filters or from a storage read; the lookup
 * (keyspace/db.c) then answers "absent" for them without reading again.
 * The key pointers are the command's own argv strings, valid while it runs.
 */
#ifndef LT_KEYSPACE_ABSENT_H
#define LT_KEYSPACE_ABSENT_H

#include <stddef.h>

/* As many as one prefetch reads (tier.c PREFETCH_MAX): a command or an
 * EXEC creating that many new keys needs no synchronous read. */
#define ABSENT_MAX 64

struct absent_keys {
    int n;
    int dbindex[ABSENT_MAX];
    const char *key[ABSENT_MAX];
    size_t len[ABSENT_MAX];
};

#endif
