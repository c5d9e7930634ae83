/*
 * known.h: what the prefetch of a command learned of its keys without
 * installing them as values: that a key does not exist, or a big (split)
 * value's stored header for a command that needs no more of it.
 *
 * Some commands need of a key only whether it exists, its type, encoding,
 * TTL and number of elements, or to delete it (DEL, EXISTS, TYPE, TTL,
 * HLEN...). For such a command prefetch (tier/) reads a split value's
 * keys-CF record and not its elements, and hands its header here instead of
 * installing a value; the keyspace (db_lookup_meta, db_delete) answers from
 * it and deletes the key without ever building it.
 *
 * The set is the command context of the keyspace calls that may read
 * storage (db_lookup and the calls built on it take it): a key known absent
 * is not read again, a known header is not read again. An entry holds only
 * while its key is neither hot nor changed in memory; the keyspace checks
 * both before it looks here. Entries name keys by physical db id, so a
 * SWAPDB inside the same EXEC does not make them lie.
 *
 * Ownership: entries keep their own copy of the key bytes (the command's
 * strings may go while it runs: EXEC's UNWATCH frees the WATCHed keys);
 * cmd/ clears the set after each command. Any number of keys: a set of
 * more than a few is indexed by a hash table.
 */
#ifndef LT_KEYSPACE_KNOWN_H
#define LT_KEYSPACE_KNOWN_H

#include <stddef.h>
#include <stdint.h>

struct dict;

/* A stored split value's header: what its keys-CF record says. */
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

struct known_key {
    int absent;          /* 1: the key does not exist; 0: h is its split header */
    size_t off;          /* of its bytes in the set's buffer */
    struct key_header h; /* dbid and len always (key unused); the rest when !absent */
};

struct known_keys {
    size_t n, cap;
    struct known_key *k;
    char *bytes; /* the keys' bytes, one after the other */
    size_t used, bcap;
    struct dict *index; /* (dbid, key) -> position, once n passes a few */
    /* a read of one of the command's keys failed (prefetch, or a lookup
     * that had to read): the command must answer read_err, never run as
     * if the key were absent */
    int read_failed;
    char read_err[300];
};

struct known_keys *known_new(void);
void known_free(struct known_keys *kk);
/* Forgets every entry and the read failure (after the command ran). */
void known_clear(struct known_keys *kk);
void known_add_absent(struct known_keys *kk, uint16_t dbid, const char *key, size_t len);
/* h names the key (dbid, key, len); the bytes are copied. */
void known_add_header(struct known_keys *kk, const struct key_header *h);
/* A read of the command's keys failed with msg (the first one is kept). */
void known_read_failed(struct known_keys *kk, const char *msg);
/* 1 when a read of the command's keys failed (kk may be NULL). */
static inline int known_failed(const struct known_keys *kk)
{
    return kk && kk->read_failed;
}
/* The entry of (dbid, key), or NULL; kk may be NULL (nothing known). */
const struct known_key *known_find(const struct known_keys *kk, uint16_t dbid, const char *key,
                                   size_t len);

#endif
