/*
 * intset.h: a sorted set of integers in one heap block, in the byte format
 * of Redis's intset (so DUMP/RESTORE can exchange blobs with Redis):
 *
 *   encoding (u32 LE: 2, 4 or 8) · length (u32 LE) · values (LE, ascending)
 *
 * An intset is an `unsigned char *` from hot_malloc. Functions that change
 * it may move it and return the pointer to use from then on.
 */
#ifndef LT_DS_INTSET_H
#define LT_DS_INTSET_H

#include <stddef.h>
#include <stdint.h>

#define INTSET_HDR_SIZE    8
#define INTSET_ERR_CORRUPT (-1) /* intset_validate: not a valid intset */
#define INTSET_ERR_RANGE   (-2) /* intset_get: index out of range */

/* An empty intset, encoding 2. */
unsigned char *intset_new(void);
void intset_free(unsigned char *is);

/* Adds `v`; `*added` (if not NULL) is 1 if it was not there, else 0.
 * Widens every value first when `v` needs a larger encoding. */
unsigned char *intset_add(unsigned char *is, int64_t v, int *added);
/* Removes `v`; `*removed` (if not NULL) is 1 if it was there. The encoding
 * never narrows (as in Redis). */
unsigned char *intset_remove(unsigned char *is, int64_t v, int *removed);
/* 1 if `v` is in the set. */
int intset_find(const unsigned char *is, int64_t v);
/* Value at position `index` (ascending order): 0, or INTSET_ERR_RANGE. */
int intset_get(const unsigned char *is, size_t index, int64_t *v);
size_t intset_length(const unsigned char *is);
/* Size of the blob in bytes. */
size_t intset_blob_len(const unsigned char *is);
/* Bytes per value: 2, 4 or 8. */
unsigned intset_encoding(const unsigned char *is);
/* A value chosen uniformly at random; the set must not be empty. */
int64_t intset_random(const unsigned char *is);

/* Checks untrusted bytes: a valid encoding, a size that matches the
 * length exactly, at least one value (an empty set is never stored), and
 * when `deep` is set, values strictly ascending (sorted and unique).
 * Never reads outside buf[0..size). Returns 0 or INTSET_ERR_CORRUPT. */
int intset_validate(const unsigned char *buf, size_t size, int deep);

#endif
