/*
 * internal.h: what the files of keyspace/ share; not for other layers.
 *
 * db.c owns the dbs, lookups and changes; commit.c turns the changes into
 * RocksDB batches (and FLUSHDB/SWAPDB into storage changes) and keeps the
 * write-failure state; expire.c is the active expiry cycle; scan.c walks
 * the stored keys.
 */
#ifndef LT_KEYSPACE_INTERNAL_H
#define LT_KEYSPACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace/db.h"
#include "storage/store.h"

extern struct db *ks_dbs;
extern int ks_ndbs;
extern store *ks_st;

/* db.c */
/* The meta-CF key of a count of physical id dbid ("count:" / "expires:"
 * prefix, codec.h) into out (>= 32 bytes). */
void ks_meta_count_key(char *out, const char *prefix, uint16_t dbid, size_t *len);
/* A growable scratch buffer of at least n bytes (valid until the next call). */
char *ks_scratch(size_t n);
/* key's TTL in ms, or -1 (key is hot). */
int64_t db_entry_expire(struct db *db, const str key);
/* Deletes hot key: counts, dirty, events (expiry, DEL of a hot key). */
void db_remove_entry(struct db *db, const str key);
/* Puts the stored form of o with expire into b under keys-CF key k
 * (header and payload copied once, into the batch): 0, or -1 when the value
 * has no single-blob form (a hash over 4 GB). */
int db_value_put(store_batch *b, const char *k, size_t kl, obj *o, int64_t expire);
void ks_notify_db_replaced(int emptied, int replaced);
/* The stored bytes of key are corrupt (the codec refused them): the same,
 * counted apart, and logged once per key with the key escaped. */
void ks_corrupt(struct known_keys *known, struct db *db, const char *key, size_t klen);

void ks_notify_key_expired(struct db *db, const str key);
/* A transaction's commands are running (keyspace_set_atomic). */
int ks_in_transaction(void);

/* commit.c */
void commit_open(void);
void commit_close(void);
/* Writes the format version (8 bytes) and the dbmap now, synchronously
 * (keyspace_open of a new or older store): 0 or -1. */
int commit_meta_now(const char version[8]);
/* The commit being built: the expiry cycle adds its index deletes. */
store_batch *commit_batch(void);

#endif
