/*
 * skiplist.c: ordered index of (score, member) with ranks (skiplist.h).
 *
 * A probabilistic skiplist: each node gets a height h >= 1 (each extra level
 * with probability 1/4, at most SKIPLIST_MAX_LEVEL) and is linked into
 * levels 0..h-1. The header is a sentinel of full height at rank 0.
 *
 * Invariants (skiplist_check verifies all of them):
 * - level 0 links every element in strictly increasing (score, member)
 *   order; backward links mirror it; tail is the last element or NULL;
 * - the elements linked at level i+1 are a subsequence of those at level i;
 * - a link from x at rank r to y at rank s has span s - r; a link from x to
 *   NULL has span length - r (so header links of an empty list are 0);
 * - sl->level is the number of header levels in use: the highest one has a
 *   forward node unless the list is empty (then it is 1); header levels at
 *   or above sl->level have a NULL forward and are reset when put in use.
 *
 * Searches keep, per level, the last node before the target (update[]) and
 * its rank (rank[]): that is all an insert or an unlink needs to fix the
 * spans of the links that pass over the changed position.
 */
#include <assert.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/skiplist.h"
#include "ds/util.h"

static skiplist_node *node_new(int height, double score, str member)
{
    skiplist_node *n =
        hot_malloc(sizeof(skiplist_node) + (size_t)height * sizeof(struct skiplist_link));
    n->score = score;
    n->member = member;
    n->backward = NULL;
    for (int i = 0; i < height; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    return n;
}

/* Height of a new node: 1, plus one per pair of zero bits taken from one
 * random word (probability 1/4 each); 64 bits cover the 31 possible steps. */
static int random_height(void)
{
    uint64_t r = util_rand64();
    int h = 1;
    while (h < SKIPLIST_MAX_LEVEL && (r & 3) == 0) {
        h++;
        r >>= 2;
    }
    return h;
}

static int member_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Order of node n against (score, member): <0, 0, >0. -0.0 == 0.0 here,
 * which is the behaviour wanted. */
static int node_cmp(const skiplist_node *n, double score, const char *member, size_t len)
{
    if (n->score < score)
        return -1;
    if (n->score > score)
        return 1;
    return member_cmp(n->member, str_len(n->member), member, len);
}

skiplist *skiplist_create(void)
{
    skiplist *sl = hot_malloc(sizeof(*sl));
    sl->header = node_new(SKIPLIST_MAX_LEVEL, 0, NULL);
    sl->tail = NULL;
    sl->length = 0;
    sl->level = 1;
    return sl;
}

void skiplist_free(skiplist *sl)
{
    if (!sl)
        return;
    skiplist_node *x = sl->header->level[0].forward;
    while (x) {
        skiplist_node *next = x->level[0].forward;
        str_hot_free(x->member);
        hot_free(x);
        x = next;
    }
    hot_free(sl->header);
    hot_free(sl);
}

/* Fills update[] with, per level in use, the last node ordered before
 * (score, member), and rank[] (if not NULL) with their ranks. */
static void find_update(const skiplist *sl, double score, const char *member, size_t len,
                        skiplist_node **update, unsigned long *rank)
{
    skiplist_node *x = sl->header;
    unsigned long r = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && node_cmp(x->level[i].forward, score, member, len) < 0) {
            r += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
        if (rank)
            rank[i] = r;
    }
}

/* Links node n (height h, score and member set) at its place. */
static void link_node(skiplist *sl, skiplist_node *n, int h)
{
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    unsigned long rank[SKIPLIST_MAX_LEVEL];
    find_update(sl, n->score, n->member, str_len(n->member), update, rank);
    if (h > sl->level) {
        for (int i = sl->level; i < h; i++) {
            update[i] = sl->header;
            rank[i] = 0;
            sl->header->level[i].span = sl->length;
        }
        sl->level = h;
    }
    for (int i = 0; i < h; i++) {
        /* rank[0] - rank[i] is how far update[i] is behind update[0]; the new
         * node sits right after update[0]. */
        unsigned long behind = rank[0] - rank[i];
        n->level[i].forward = update[i]->level[i].forward;
        n->level[i].span = update[i]->level[i].span - behind;
        update[i]->level[i].forward = n;
        update[i]->level[i].span = behind + 1;
    }
    for (int i = h; i < sl->level; i++)
        update[i]->level[i].span++;
    n->backward = update[0] == sl->header ? NULL : update[0];
    if (n->level[0].forward)
        n->level[0].forward->backward = n;
    else
        sl->tail = n;
    sl->length++;
}

/* Unlinks x, whose predecessors per level are update[]; returns its height
 * (the levels on which it was linked). Does not free it. */
static int unlink_node(skiplist *sl, skiplist_node *x, skiplist_node **update)
{
    int h = 0;
    for (int i = 0; i < sl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
            h = i + 1;
        } else {
            update[i]->level[i].span--;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        sl->tail = x->backward;
    while (sl->level > 1 && !sl->header->level[sl->level - 1].forward)
        sl->level--;
    sl->length--;
    return h;
}

skiplist_node *skiplist_insert(skiplist *sl, double score, str member)
{
    assert(score == score); /* NaN would break the order */
    int h = random_height();
    skiplist_node *n = node_new(h, score, member);
    link_node(sl, n, h);
    return n;
}

int skiplist_delete(skiplist *sl, double score, const char *member, size_t len, str *out_member)
{
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    find_update(sl, score, member, len, update, NULL);
    skiplist_node *x = update[0]->level[0].forward;
    if (!x || node_cmp(x, score, member, len) != 0)
        return 0;
    unlink_node(sl, x, update);
    if (out_member)
        *out_member = x->member;
    else
        str_hot_free(x->member);
    hot_free(x);
    return 1;
}

skiplist_node *skiplist_update_score(skiplist *sl, double cur_score, const char *member, size_t len,
                                     double new_score)
{
    assert(new_score == new_score);
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    find_update(sl, cur_score, member, len, update, NULL);
    skiplist_node *x = update[0]->level[0].forward;
    assert(x && node_cmp(x, cur_score, member, len) == 0);

    /* Neighbours still on the right sides: only the score changes. */
    if ((!x->backward || node_cmp(x->backward, new_score, member, len) < 0) &&
        (!x->level[0].forward || node_cmp(x->level[0].forward, new_score, member, len) > 0)) {
        x->score = new_score;
        return x;
    }
    /* Relink the same node at its new place, keeping its height so no
     * allocation is needed. */
    int h = unlink_node(sl, x, update);
    x->score = new_score;
    link_node(sl, x, h);
    return x;
}

unsigned long skiplist_rank(const skiplist *sl, double score, const char *member, size_t len)
{
    const skiplist_node *x = sl->header;
    unsigned long r = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && node_cmp(x->level[i].forward, score, member, len) <= 0) {
            r += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != sl->header && node_cmp(x, score, member, len) == 0)
            return r;
    }
    return 0;
}

skiplist_node *skiplist_by_rank(const skiplist *sl, unsigned long rank)
{
    if (rank == 0 || rank > sl->length)
        return NULL;
    skiplist_node *x = sl->header;
    unsigned long r = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && r + x->level[i].span <= rank) {
            r += x->level[i].span;
            x = x->level[i].forward;
        }
        if (r == rank)
            return x;
    }
    return NULL;
}

/* ------------------------------------------------------------ score ranges */

static int score_gte_min(double v, const skiplist_range *r)
{
    return r->minex ? v > r->min : v >= r->min;
}

static int score_lte_max(double v, const skiplist_range *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}

/* Whether some element can be in r at all: the range is not empty and
 * overlaps [first, last]. */
static int score_range_hits(const skiplist *sl, const skiplist_range *r)
{
    if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex)))
        return 0;
    if (!sl->tail || !score_gte_min(sl->tail->score, r))
        return 0;
    return score_lte_max(sl->header->level[0].forward->score, r);
}

skiplist_node *skiplist_first_in_range(const skiplist *sl, const skiplist_range *r)
{
    if (!score_range_hits(sl, r))
        return NULL;
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (x->level[i].forward && !score_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
    /* The last element is >= min (checked above), so this is not NULL. */
    x = x->level[0].forward;
    return score_lte_max(x->score, r) ? x : NULL;
}

skiplist_node *skiplist_last_in_range(const skiplist *sl, const skiplist_range *r)
{
    if (!score_range_hits(sl, r))
        return NULL;
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (x->level[i].forward && score_lte_max(x->level[i].forward->score, r))
            x = x->level[i].forward;
    /* The first element is <= max (checked above), so x is not the header. */
    return score_gte_min(x->score, r) ? x : NULL;
}

/* -------------------------------------------------------------- lex ranges */

int skiplist_lex_bound_parse(const char *s, size_t len, skiplist_lex_bound *out)
{
    if (len == 0)
        return -1;
    out->ptr = NULL;
    out->len = 0;
    out->exclusive = 0;
    switch (s[0]) {
    case '-':
    case '+':
        if (len != 1)
            return -1;
        out->kind = s[0] == '-' ? SKIPLIST_LEX_NEG_INF : SKIPLIST_LEX_POS_INF;
        out->exclusive = 1;
        return 0;
    case '(':
    case '[':
        out->kind = SKIPLIST_LEX_VALUE;
        out->exclusive = s[0] == '(';
        out->ptr = s + 1;
        out->len = len - 1;
        return 0;
    default:
        return -1;
    }
}

static int lex_gte_min(const skiplist_node *n, const skiplist_lex_bound *b)
{
    if (b->kind != SKIPLIST_LEX_VALUE)
        return b->kind == SKIPLIST_LEX_NEG_INF;
    int c = member_cmp(n->member, str_len(n->member), b->ptr, b->len);
    return b->exclusive ? c > 0 : c >= 0;
}

static int lex_lte_max(const skiplist_node *n, const skiplist_lex_bound *b)
{
    if (b->kind != SKIPLIST_LEX_VALUE)
        return b->kind == SKIPLIST_LEX_POS_INF;
    int c = member_cmp(n->member, str_len(n->member), b->ptr, b->len);
    return b->exclusive ? c < 0 : c <= 0;
}

/* Order of two bounds as points: the infinities at the ends. */
static int lex_bound_cmp(const skiplist_lex_bound *a, const skiplist_lex_bound *b)
{
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    if (a->kind != SKIPLIST_LEX_VALUE)
        return 0;
    return member_cmp(a->ptr, a->len, b->ptr, b->len);
}

static int lex_range_hits(const skiplist *sl, const skiplist_lex_range *r)
{
    int c = lex_bound_cmp(&r->min, &r->max);
    if (c > 0 ||
        (c == 0 && (r->min.exclusive || r->max.exclusive || r->min.kind != SKIPLIST_LEX_VALUE)))
        return 0;
    if (!sl->tail || !lex_gte_min(sl->tail, &r->min))
        return 0;
    return lex_lte_max(sl->header->level[0].forward, &r->max);
}

skiplist_node *skiplist_first_in_lex_range(const skiplist *sl, const skiplist_lex_range *r)
{
    if (!lex_range_hits(sl, r))
        return NULL;
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (x->level[i].forward && !lex_gte_min(x->level[i].forward, &r->min))
            x = x->level[i].forward;
    x = x->level[0].forward;
    return x && lex_lte_max(x, &r->max) ? x : NULL;
}

skiplist_node *skiplist_last_in_lex_range(const skiplist *sl, const skiplist_lex_range *r)
{
    if (!lex_range_hits(sl, r))
        return NULL;
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (x->level[i].forward && lex_lte_max(x->level[i].forward, &r->max))
            x = x->level[i].forward;
    return x != sl->header && lex_gte_min(x, &r->min) ? x : NULL;
}

/* ------------------------------------------------------------ range deletes */

/* Unlinks and frees x (update[] being its predecessors), after telling cb.
 * update[] stays valid for x's successor: its entries precede it too. */
static void delete_node(skiplist *sl, skiplist_node *x, skiplist_node **update,
                        skiplist_delete_cb *cb, void *ctx)
{
    unlink_node(sl, x, update);
    if (cb)
        cb(ctx, x->member, x->score);
    str_hot_free(x->member);
    hot_free(x);
}

unsigned long skiplist_delete_range_by_score(skiplist *sl, const skiplist_range *r,
                                             skiplist_delete_cb *cb, void *ctx)
{
    if (!score_range_hits(sl, r))
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !score_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
        update[i] = x;
    }
    unsigned long removed = 0;
    x = x->level[0].forward;
    while (x && score_lte_max(x->score, r)) {
        skiplist_node *next = x->level[0].forward;
        delete_node(sl, x, update, cb, ctx);
        removed++;
        x = next;
    }
    return removed;
}

unsigned long skiplist_delete_range_by_lex(skiplist *sl, const skiplist_lex_range *r,
                                           skiplist_delete_cb *cb, void *ctx)
{
    if (!lex_range_hits(sl, r))
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !lex_gte_min(x->level[i].forward, &r->min))
            x = x->level[i].forward;
        update[i] = x;
    }
    unsigned long removed = 0;
    x = x->level[0].forward;
    while (x && lex_lte_max(x, &r->max)) {
        skiplist_node *next = x->level[0].forward;
        delete_node(sl, x, update, cb, ctx);
        removed++;
        x = next;
    }
    return removed;
}

unsigned long skiplist_delete_range_by_rank(skiplist *sl, unsigned long start, unsigned long end,
                                            skiplist_delete_cb *cb, void *ctx)
{
    if (start == 0)
        start = 1;
    if (start > end || start > sl->length)
        return 0;
    skiplist_node *update[SKIPLIST_MAX_LEVEL];
    skiplist_node *x = sl->header;
    unsigned long r = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && r + x->level[i].span < start) {
            r += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    unsigned long removed = 0;
    r++;
    x = x->level[0].forward;
    while (x && r <= end) {
        skiplist_node *next = x->level[0].forward;
        delete_node(sl, x, update, cb, ctx);
        removed++;
        r++;
        x = next;
    }
    return removed;
}

/* ------------------------------------------------------------------- check */

int skiplist_check(const skiplist *sl)
{
    const skiplist_node *h = sl->header;
    if (sl->level < 1 || sl->level > SKIPLIST_MAX_LEVEL)
        return -1;
    for (int i = sl->level; i < SKIPLIST_MAX_LEVEL; i++)
        if (h->level[i].forward)
            return -2;
    if (sl->level > 1 && !h->level[sl->level - 1].forward)
        return -3;

    /* Level 0: order, unit spans, backward links, tail, length. */
    unsigned long n = 0;
    const skiplist_node *prev = NULL;
    for (const skiplist_node *x = h; x->level[0].forward; x = x->level[0].forward) {
        const skiplist_node *y = x->level[0].forward;
        if (x->level[0].span != 1)
            return -4;
        if (y->backward != prev)
            return -5;
        if (prev && node_cmp(prev, y->score, y->member, str_len(y->member)) >= 0)
            return -6;
        prev = y;
        n++;
    }
    if (n != sl->length)
        return -7;
    if (sl->tail != prev)
        return -8;
    {
        const skiplist_node *last = prev ? prev : h;
        if (last->level[0].span != 0)
            return -9;
    }

    /* Level i > 0: every node is on level i-1 (walked alongside) and each
     * span equals the rank distance measured on level i-1, which level 0
     * has already validated. */
    for (int i = 1; i < sl->level; i++) {
        const skiplist_node *x = h, *below = h;
        unsigned long r = 0, below_r = 0;
        for (;;) {
            const skiplist_node *y = x->level[i].forward;
            if (!y) {
                if (x->level[i].span != sl->length - r)
                    return -10;
                break;
            }
            r += x->level[i].span;
            while (below != y) {
                if (!below->level[i - 1].forward)
                    return -11; /* y is not linked on level i-1 */
                below_r += below->level[i - 1].span;
                below = below->level[i - 1].forward;
            }
            if (below_r != r)
                return -12;
            x = y;
        }
    }
    return 0;
}
