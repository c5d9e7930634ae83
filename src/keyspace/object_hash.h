/*
 * object_hash.h: hash values (OBJ_HASH), the API of keyspace/object_hash.c.
 *
 * Fields and values are binary strings. A hash is LISTPACK (field, value,
 * field, value... in one listpack) while it has at most
 * hash-max-listpack-entries fields and none longer than
 * hash-max-listpack-value; otherwise HT (a dict of hot strs to hot strs),
 * as in Redis 7.0. Pointers returned by the readers are valid until the
 * next change of the hash.
 */
#ifndef LT_KEYSPACE_OBJECT_HASH_H
#define LT_KEYSPACE_OBJECT_HASH_H

#include <stddef.h>

#include "ds/dict.h"
#include "keyspace/object.h"

/* Bytes of a field or value; numbers stored as integers in a listpack are
 * formatted into the caller's buf (LP_INTBUF_SIZE bytes). */
#define OBJ_HASH_BUF 24

obj *obj_hash_new(void);
size_t hash_len(const obj *o);
/* Finds field: returns its value bytes (and *vlen), or NULL. */
const char *hash_get(obj *o, const void *f, size_t flen, size_t *vlen, char *buf);
/* Sets field to value (creating it): 1 when the field is new, 0 when it
 * was updated. Converts to HT when a limit is crossed. */
int hash_set(obj *o, const void *f, size_t flen, const void *v, size_t vlen);
/* 1 when the field was there and is gone. */
int hash_delete(obj *o, const void *f, size_t flen);
/* Converts a LISTPACK hash when one of the lengths is above
 * hash-max-listpack-value (Redis checks the arguments before a write). */
void hash_try_convert(obj *o, size_t len);
void hash_convert_to_ht(obj *o);

struct hash_iter {
    obj *o;
    unsigned char *p; /* listpack: the next field */
    dict_iter di;     /* HT */
    char fbuf[OBJ_HASH_BUF], vbuf[OBJ_HASH_BUF];
};
void hash_iter_init(struct hash_iter *it, obj *o);
/* 1 and the next pair, or 0 at the end. No change to the hash meanwhile. */
int hash_iter_next(struct hash_iter *it, const char **f, size_t *flen, const char **v,
                   size_t *vlen);
void hash_iter_done(struct hash_iter *it);

/* Stored form: the pairs as one listpack blob (whatever the encoding).
 * Returns the blob; *must_free says it is a copy to free with hot_free. */
const unsigned char *hash_blob(obj *o, size_t *len, int *must_free);
/* Rebuilds a hash from untrusted bytes with the given encoding; NULL when
 * the bytes are not a valid listpack of pairs (with unique fields for HT). */
obj *hash_from_blob(const void *buf, size_t len, int encoding);

#endif
