/*
 * object_set.h: set values (OBJ_SET), the API of keyspace/object_set.c.
 *
 * Members are binary strings. A set is INTSET (a sorted ds/intset of
 * int64) while every member is the canonical decimal form of an int64 and
 * there are at most set-max-intset-entries of them; otherwise HT (a dict
 * of hot strs with no values), as in Redis 7.0. Every change of a set goes
 * through these functions (never through the intset or dict directly).
 * Pointers handed out (iterators, set_random) are valid until the next
 * change of the set.
 */
#ifndef LT_KEYSPACE_OBJECT_SET_H
#define LT_KEYSPACE_OBJECT_SET_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"
#include "keyspace/object.h"

/* Room for an int64 in decimal, for members read out of an intset. */
#define OBJ_SET_BUF 24

/* An empty INTSET set. */
obj *obj_set_new(void);
/* An empty set with the encoding Redis gives a set created for `m` (its
 * first member): INTSET when m is an integer, else HT. */
obj *obj_set_new_for(const void *m, size_t len);
size_t set_len(const obj *o);
/* 1 when m is a member, else 0. */
int set_contains(obj *o, const void *m, size_t len);
/* 1 when m was added, 0 when it was a member. An INTSET set becomes HT on
 * a non-integer member or when it passes set-max-intset-entries. */
int set_add(obj *o, const void *m, size_t len);
/* 1 when m was a member and is gone. The encoding never changes. */
int set_remove(obj *o, const void *m, size_t len);
/* Converts an INTSET set to HT (no-op when HT already). */
void set_convert_to_ht(obj *o);

/* A member chosen at random (the set must not be empty): its bytes, valid
 * until the next change; integers are formatted into buf. */
const char *set_random(obj *o, size_t *len, char buf[OBJ_SET_BUF]);

/* Calls fn with `count` distinct members chosen at random (count below
 * set_len), reading only: one pass of selection sampling when count is a
 * large part of the set, else random draws with repeats skipped. */
typedef void set_member_fn(void *ctx, const char *m, size_t len);
void set_random_distinct(obj *o, size_t count, set_member_fn *fn, void *ctx);

struct set_iter {
    obj *o;
    size_t i;     /* INTSET: the next position */
    dict_iter di; /* HT */
    char buf[OBJ_SET_BUF];
};
void set_iter_init(struct set_iter *it, obj *o);
/* 1 and the next member (integers formatted into it->buf), or 0 at the
 * end. No change to the set meanwhile. */
int set_iter_next(struct set_iter *it, const char **m, size_t *len);
void set_iter_done(struct set_iter *it);

/* SSCAN's walk over an HT set: calls fn with each member's bytes. Returns
 * the next cursor (dict_scan's guarantee). INTSET sets are not scanned with
 * a cursor (SSCAN returns them whole). */
uint64_t set_scan(obj *o, uint64_t cursor, set_member_fn *fn, void *ctx);

obj *obj_set_dup(const obj *o);
/* Frees a set value (obj_free calls it after releasing any split state). */
void obj_set_free(obj *o);
size_t obj_set_mem(const obj *o);

/* Stored form: INTSET is the intset blob itself; HT is one listpack of the
 * members. Returns the blob (NULL when an HT set would pass the listpack's
 * 4 GB limit); *must_free says it is a copy to free with hot_free. */
const unsigned char *set_blob(obj *o, size_t *len, int *must_free);
/* Rebuilds a set from untrusted bytes with the given encoding; NULL unless
 * they are a valid, non-empty intset (INTSET) or listpack of unique
 * members (HT). The encoding is kept whatever the configured limits. */
obj *set_from_blob(const void *buf, size_t len, int encoding);

#endif
