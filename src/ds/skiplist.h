/*
 * skiplist.h: the ordered index of large sorted sets.
 *
 * Elements are (score, member) pairs ordered by score, then by member bytes
 * (memcmp on the common prefix, the shorter member first). -0.0 and 0.0 are
 * the same score; NaN is never a valid score (the caller rejects it). Each
 * link carries a span (how many level-0 steps it jumps), so ranks and
 * access by rank cost O(log n) like lookups.
 *
 * Ownership: members are hot-tier strs (str_hot_new). skiplist_insert takes
 * the member it is given; the skiplist frees it when the element is deleted
 * unless the call hands it back (skiplist_delete's out_member). A sorted set
 * that also keeps a dict from member to score can share the same str in both:
 * the range deletes call back before freeing each member for that reason.
 * Lookups take a (pointer, length) pair and never keep it.
 *
 * Node pointers returned by the lookups stay valid until that element is
 * deleted or its score updated (skiplist_update_score returns the node that
 * holds the element afterwards). All memory comes from ds/alloc.h.
 */
#ifndef LT_DS_SKIPLIST_H
#define LT_DS_SKIPLIST_H

#include <stddef.h>

#include "ds/str.h"

#define SKIPLIST_MAX_LEVEL 32 /* enough for 2^64 elements at p = 1/4 */

typedef struct skiplist_node {
    str member;
    double score;
    struct skiplist_node *backward; /* previous element; NULL for the first */
    struct skiplist_link {
        struct skiplist_node *forward;
        unsigned long span; /* level-0 steps to forward (to the end if NULL) */
    } level[];
} skiplist_node;

typedef struct skiplist {
    skiplist_node *header; /* sentinel with SKIPLIST_MAX_LEVEL links, no element */
    skiplist_node *tail;
    unsigned long length;
    int level; /* links in use in the header (1 when empty) */
} skiplist;

/* Score interval, as ZRANGEBYSCORE's "(1.5" / "1.5" / "-inf" / "+inf": an
 * exclusive flag excludes that end. Infinite bounds are plain +-inf. */
typedef struct skiplist_range {
    double min, max;
    int minex, maxex;
} skiplist_range;

/* One end of a lexicographic interval, as ZRANGEBYLEX's "[a", "(a", "-", "+".
 * For SKIPLIST_LEX_VALUE, ptr/len is the string (not copied: it must outlive
 * the range's use). */
enum skiplist_lex_kind {
    SKIPLIST_LEX_NEG_INF, /* "-": below every member */
    SKIPLIST_LEX_VALUE,
    SKIPLIST_LEX_POS_INF, /* "+": above every member */
};

typedef struct skiplist_lex_bound {
    enum skiplist_lex_kind kind;
    int exclusive; /* "(" rather than "[" (meaningless for the infinities) */
    const char *ptr;
    size_t len;
} skiplist_lex_bound;

typedef struct skiplist_lex_range {
    skiplist_lex_bound min, max;
} skiplist_lex_range;

/* Called by the range deletes for each element removed, before its member is
 * freed (the callback must not keep the member). */
typedef void skiplist_delete_cb(void *ctx, str member, double score);

skiplist *skiplist_create(void);
/* Frees the skiplist and every member it still owns. NULL is a no-op. */
void skiplist_free(skiplist *sl);

static inline unsigned long skiplist_length(const skiplist *sl)
{
    return sl->length;
}

/* Adds (score, member). The caller guarantees member is not already in the
 * skiplist (under any score); the skiplist owns member afterwards. */
skiplist_node *skiplist_insert(skiplist *sl, double score, str member);

/* Removes (score, member). Returns 1 if it was there, 0 otherwise. If
 * out_member is not NULL, the stored member is handed to the caller (who
 * must str_hot_free it) instead of being freed. */
int skiplist_delete(skiplist *sl, double score, const char *member, size_t len, str *out_member);

/* Moves the element (cur_score, member), which must exist, to new_score and
 * returns its node. The node is kept in place when the order is unchanged;
 * otherwise it is unlinked and relinked (same node, same member str). */
skiplist_node *skiplist_update_score(skiplist *sl, double cur_score, const char *member, size_t len,
                                     double new_score);

/* 1-based rank of (score, member), 0 if it is not in the skiplist. */
unsigned long skiplist_rank(const skiplist *sl, double score, const char *member, size_t len);
/* Element of 1-based rank, NULL if rank is 0 or above the length. */
skiplist_node *skiplist_by_rank(const skiplist *sl, unsigned long rank);

/* Iteration: first/last element, next/previous of a node (NULL at the ends). */
static inline skiplist_node *skiplist_first(const skiplist *sl)
{
    return sl->header->level[0].forward;
}

static inline skiplist_node *skiplist_last(const skiplist *sl)
{
    return sl->tail;
}

static inline skiplist_node *skiplist_next(const skiplist_node *n)
{
    return n->level[0].forward;
}

static inline skiplist_node *skiplist_prev(const skiplist_node *n)
{
    return n->backward;
}

/* First / last element whose score is in range, NULL if none (also when the
 * range itself is empty, e.g. min > max or "(1" "1"). */
skiplist_node *skiplist_first_in_range(const skiplist *sl, const skiplist_range *r);
skiplist_node *skiplist_last_in_range(const skiplist *sl, const skiplist_range *r);

/* Parses one end of a lex range: "[x" inclusive, "(x" exclusive (x may be
 * empty), "-" or "+" exactly. Returns 0, or -1 for anything else (Redis then
 * replies "min or max not valid string range item"). out->ptr points into s. */
int skiplist_lex_bound_parse(const char *s, size_t len, skiplist_lex_bound *out);

/* First / last element whose member is in the lex range, NULL if none. As in
 * Redis, lex ranges are meaningful when all scores are equal; with mixed
 * scores they compare members along the score order all the same. */
skiplist_node *skiplist_first_in_lex_range(const skiplist *sl, const skiplist_lex_range *r);
skiplist_node *skiplist_last_in_lex_range(const skiplist *sl, const skiplist_lex_range *r);

/* Range deletes: remove every element in the range, calling cb (if not NULL)
 * for each, in order, before its member is freed. Return how many went.
 * Ranks are 1-based and inclusive; start 0 counts as 1, an end past the
 * length stops at the last element, start > end deletes nothing. */
unsigned long skiplist_delete_range_by_score(skiplist *sl, const skiplist_range *r,
                                             skiplist_delete_cb *cb, void *ctx);
unsigned long skiplist_delete_range_by_lex(skiplist *sl, const skiplist_lex_range *r,
                                           skiplist_delete_cb *cb, void *ctx);
unsigned long skiplist_delete_range_by_rank(skiplist *sl, unsigned long start, unsigned long end,
                                            skiplist_delete_cb *cb, void *ctx);

/* Walks every level and checks order, backward links, the tail, the length
 * and every span. Returns 0 if consistent, a negative number naming the
 * first broken invariant otherwise (for tests and DEBUG commands). */
int skiplist_check(const skiplist *sl);

#endif
