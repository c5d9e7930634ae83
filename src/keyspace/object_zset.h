/*
 * object_zset.h: sorted set values (OBJ_ZSET), included from object.h.
 *
 * A sorted set maps binary members to double scores and keeps them ordered
 * by (score, member bytes). Two encodings, as in Redis 7.0: LISTPACK
 * (member, score, member, score... in one listpack, in that order) while the
 * set has at most zset-max-listpack-entries members of at most
 * zset-max-listpack-value bytes, and SKIPLIST (a skiplist for the order and
 * ranks plus a dict member -> skiplist node for O(1) lookups, sharing the
 * member strs) beyond. The commands of types/zset.c and geo go through this
 * API only; no caller touches the listpack, skiplist or dict.
 *
 * Scores are never NaN. Pointers handed out by the readers (members, which
 * listpack integers format into the caller's or iterator's buffer) stay
 * valid until the next change of the set.
 */
#ifndef LT_KEYSPACE_OBJECT_ZSET_H
#define LT_KEYSPACE_OBJECT_ZSET_H

#include <stddef.h>

#include "ds/skiplist.h"

#define OBJ_ENC_SKIPLIST 7 /* zset: skiplist + dict */

/* Room for a member stored as an integer in a listpack, once formatted. */
#define OBJ_ZSET_BUF 24

/* zset_add: how to add (ZADD's options) */
#define ZSET_IN_NX   (1 << 0) /* only add new members */
#define ZSET_IN_XX   (1 << 1) /* only update existing members */
#define ZSET_IN_GT   (1 << 2) /* update only when the new score is greater */
#define ZSET_IN_LT   (1 << 3) /* update only when the new score is less */
#define ZSET_IN_INCR (1 << 4) /* the score is an increment of the current one */
/* zset_add: what happened */
#define ZSET_OUT_ADDED   (1 << 0) /* a new member */
#define ZSET_OUT_UPDATED (1 << 1) /* an existing member's score changed */
#define ZSET_OUT_NOP     (1 << 2) /* nothing done because of the conditions */

struct obj;

/* An empty sorted set in the given encoding (OBJ_ENC_LISTPACK or
 * OBJ_ENC_SKIPLIST). */
struct obj *obj_zset_new(int encoding);
/* ZADD's choice for a new key whose first member is first_len bytes:
 * SKIPLIST when the listpack limits leave no room for it. */
struct obj *obj_zset_new_for(size_t first_len);
void zset_free_value(struct obj *o);
struct obj *zset_dup(const struct obj *o);
size_t zset_mem(const struct obj *o);

size_t zset_len(const struct obj *o);
/* 1 and *score when member is in the set, 0 otherwise. */
int zset_score(struct obj *o, const void *m, size_t len, double *score);
/* Adds or updates member as ZADD does with flags (ZSET_IN_*): *out gets
 * ZSET_OUT_* and *newscore (may be NULL) the member's score afterwards when
 * it was added or updated. Returns 0, or -1 when score is NaN or the
 * increment makes it NaN (nothing changed). Converts a LISTPACK set to
 * SKIPLIST before a member that would cross a limit goes in. */
int zset_add(struct obj *o, double score, const void *m, size_t len, int flags, int *out,
             double *newscore);
/* 1 when member was there and is gone. */
int zset_delete(struct obj *o, const void *m, size_t len);
/* 0-based rank of member counted from the lowest score (from the highest
 * with reverse), and its score; -1 when absent. */
long zset_rank(struct obj *o, const void *m, size_t len, int reverse, double *score);

/* Encodings. zset_convert changes o's encoding in place (no-op when it has
 * it already). zset_shrink_if_fits makes a SKIPLIST set a LISTPACK one when
 * it is within the listpack limits, maxlen being its longest member (the
 * rule Redis applies to the results of ZUNIONSTORE and friends). */
void zset_convert(struct obj *o, int encoding);
void zset_shrink_if_fits(struct obj *o, size_t maxlen);

/* Counting and deleting ranges. Ranks are 0-based, inclusive and already
 * clamped by the caller to 0 <= start <= end < zset_len(o). Lex ranges
 * are meant for sets whose scores are all equal; with mixed scores they
 * give what Redis gives (a lex count can even wrap around). */
unsigned long zset_count_in_range(struct obj *o, const skiplist_range *r);
unsigned long zset_count_in_lex_range(struct obj *o, const skiplist_lex_range *r);
unsigned long zset_delete_range_by_score(struct obj *o, const skiplist_range *r);
unsigned long zset_delete_range_by_lex(struct obj *o, const skiplist_lex_range *r);
unsigned long zset_delete_range_by_rank(struct obj *o, unsigned long start, unsigned long end);

/* Iteration in score order (reverse: from the highest), optionally starting
 * at a rank or at the first element of a score or lex range; a range
 * iterator stops after the last element in the range. No change to the set
 * while an iterator is in use. */
enum zset_iter_bound { ZSET_ITER_ALL, ZSET_ITER_SCORE, ZSET_ITER_LEX };
struct zset_iter {
    struct obj *o;
    int reverse;
    enum zset_iter_bound bound;
    skiplist_range range;
    skiplist_lex_range lex;
    unsigned char *ep;   /* LISTPACK: the next element's member entry, NULL at the end */
    skiplist_node *node; /* SKIPLIST: the next element, NULL at the end */
    char buf[OBJ_ZSET_BUF];
};
void zset_iter_init(struct zset_iter *it, struct obj *o, int reverse);
/* Starts at 0-based rank (counted in the iteration's direction); past the
 * end the iterator is empty. */
void zset_iter_init_rank(struct zset_iter *it, struct obj *o, unsigned long rank, int reverse);
/* The range's first element (its last with reverse) onwards, within r. r's
 * strings (lex) must outlive the iterator. */
void zset_iter_init_score(struct zset_iter *it, struct obj *o, const skiplist_range *r,
                          int reverse);
void zset_iter_init_lex(struct zset_iter *it, struct obj *o, const skiplist_lex_range *r,
                        int reverse);
/* 1 with the next element, 0 at the end. *m may point into it->buf. */
int zset_iter_next(struct zset_iter *it, const char **m, size_t *len, double *score);
/* Skips up to n elements; returns how many were skipped. */
unsigned long zset_iter_skip(struct zset_iter *it, unsigned long n);

/* The element of 0-based rank (ascending), into *m (buf: OBJ_ZSET_BUF bytes
 * for listpack integers) and *score; 0 when rank is past the end. */
int zset_at(struct obj *o, unsigned long rank, const char **m, size_t *len, double *score,
            char *buf);

/* One step of a SKIPLIST set's scan (ZSCAN): calls fn for the members of
 * the buckets at cursor and returns the next cursor (0 at the end), with
 * Redis's guarantee that a member present for the whole scan is seen. */
typedef void zset_scan_fn(void *ctx, const char *m, size_t len, double score);
unsigned long long zset_scan(struct obj *o, unsigned long long cursor, zset_scan_fn *fn, void *ctx);

/* Stored form: the (member, score) pairs in score order as one listpack
 * blob, whatever the encoding; scores are written as Redis writes them in
 * a listpack (a SKIPLIST set's -0 stays "-0"). *must_free says the blob is a copy to hot_free. NULL
 * when the set does not fit one listpack (4 GB). */
const unsigned char *zset_blob(struct obj *o, size_t *len, int *must_free);
/* Rebuilds a sorted set from untrusted bytes with the given encoding; NULL
 * unless they are a valid listpack of pairs with unique members and valid
 * scores (in order, for LISTPACK). */
struct obj *zset_from_blob(const void *buf, size_t len, int encoding);

#endif
