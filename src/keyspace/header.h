/*
 * header.h: the stored headers of big cold keys, for the one command about
 * to run.
 *
 * Some commands need of a key only whether it exists, its type, encoding,
 * TTL and number of elements, or to delete it (DEL, EXISTS, TYPE, TTL,
 * HLEN...). For such a command prefetch (tier/) reads a split value's
 * keys-CF record and not its elements, and hands the header here instead
 * of installing a value; the keyspace (db_lookup_meta, db_delete) answers
 * from it and deletes the key without ever building it. A record holds
 * while the key is neither hot nor changed in memory: db.c checks both
 * before it looks here, so a record never overrides a newer state. The key
 * pointers are the command's own argv strings, valid while it runs.
 */
#ifndef LT_KEYSPACE_HEADER_H
#define LT_KEYSPACE_HEADER_H

#include <stddef.h>
#include <stdint.h>

/* As many as prefetch reads for one command. */
#define KEY_HEADERS_MAX 64

struct key_header {
    uint16_t dbid;
    uint8_t type;
    uint8_t encoding;
    const char *key;
    size_t len;
    int64_t expire_ms; /* -1 when none */
    uint64_t version;  /* of the stored elements */
    uint64_t count;    /* elements */
};

struct key_headers {
    int n;
    struct key_header h[KEY_HEADERS_MAX];
};

#endif
