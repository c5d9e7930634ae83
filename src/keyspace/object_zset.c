/*
 * object_zset.c: sorted set values (OBJ_ZSET) and their two encodings.
 *
 * LISTPACK: member, score, member, score... in one listpack, ordered by
 * (score, member bytes); a score is written in util_d2str's form, which a
 * listpack stores as an integer when it is one (Redis's own layout, so a
 * blob is the same bytes Redis would hold; like Redis's, a listpack turns
 * -0 into 0). SKIPLIST: a skiplist ordered the same way (ranks, ranges)
 * and a dict from member to its skiplist node; both share one hot str per
 * member, owned by the skiplist.
 *
 * Conversions follow Redis 7.0: a LISTPACK set becomes SKIPLIST just before
 * a member that would make it longer than zset-max-listpack-entries, or a
 * member longer than zset-max-listpack-value, goes in; it never goes back by
 * itself, only through zset_shrink_if_fits (results of ZUNIONSTORE & co).
 *
 * Every change of a member (added, rescored, removed) is reported to the
 * split storage (split_touch), which writes just those elements of a big
 * set that is stored split.
 *
 * Invariants: no NaN score; members unique; a LISTPACK set has an even
 * number of entries in strictly increasing order. The stored form of both
 * encodings is the LISTPACK layout of the pairs (zset_blob), and loading
 * keeps the encoding the value had when written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "ds/util.h"
#include "keyspace/object.h"
#include "keyspace/split.h"
#include "keyspace/settings.h"

/* The SKIPLIST encoding: o->u.ptr points to one of these. */
struct zsl {
    dict *d; /* member str (the skiplist's) -> skiplist_node */
    skiplist *sl;
};

static const dict_type zsl_dict_type = {dict_str_hash, dict_str_eq, NULL, NULL};
/* from_blob's duplicate check owns its keys */
static const dict_type member_set_type = {dict_str_hash, dict_str_eq, dict_str_hot_free, NULL};

/* Above this a listpack is not grown any more (Redis's safety limit). */
#define ZSET_LP_SAFE_BYTES (1u << 30)
#define SCORE_BUF          64

static obj *zset_obj(int encoding, void *ptr)
{
    return obj_new_collection(OBJ_ZSET, encoding, ptr);
}

static struct zsl *zsl_new(void)
{
    struct zsl *z = hot_malloc(sizeof(*z));
    z->d = dict_create(&zsl_dict_type);
    z->sl = skiplist_create();
    return z;
}

static void zsl_free(struct zsl *z)
{
    dict_release(z->d);
    skiplist_free(z->sl);
    hot_free(z);
}

obj *obj_zset_new(int encoding)
{
    if (encoding == OBJ_ENC_SKIPLIST)
        return zset_obj(OBJ_ENC_SKIPLIST, zsl_new());
    return zset_obj(OBJ_ENC_LISTPACK, lp_new());
}

obj *obj_zset_new_for(size_t first_len)
{
    if (keyspace_settings.zset_max_listpack_entries == 0 ||
        first_len > (size_t)keyspace_settings.zset_max_listpack_value)
        return obj_zset_new(OBJ_ENC_SKIPLIST);
    return obj_zset_new(OBJ_ENC_LISTPACK);
}

void zset_free_value(obj *o)
{
    if (o->encoding == OBJ_ENC_LISTPACK)
        lp_free(o->u.ptr);
    else
        zsl_free(o->u.ptr);
}

size_t zset_len(const obj *o)
{
    if (o->encoding == OBJ_ENC_LISTPACK)
        return lp_length(o->u.ptr) / 2;
    return skiplist_length(((const struct zsl *)o->u.ptr)->sl);
}

/* ---- helpers ------------------------------------------------------------- */

static int member_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* The dict is keyed by strs: a member of up to 256 bytes is laid out as a
 * str on the stack for the lookup, a longer one is copied to the heap. */
#define LOOKUP_STACK 256
struct lookup_key {
    struct str_hdr h;
    char b[LOOKUP_STACK + 1];
};

static str lookup_key_make(struct lookup_key *k, const void *m, size_t len)
{
    if (len > LOOKUP_STACK)
        return str_new(m, len);
    k->h.len = (uint32_t)len;
    k->h.cap = (uint32_t)len;
    memcpy(k->b, m, len);
    k->b[len] = 0;
    return k->b;
}

static void lookup_key_done(struct lookup_key *k, str s)
{
    if (s != k->b)
        str_free(s);
}

static skiplist_node *zsl_find(struct zsl *z, const void *m, size_t len)
{
    struct lookup_key k;
    str s = lookup_key_make(&k, m, len);
    dict_entry *e = dict_find(z->d, s);
    lookup_key_done(&k, s);
    return e ? e->v.val : NULL;
}

static void zsl_insert(struct zsl *z, double score, const void *m, size_t len)
{
    str member = str_hot_new(m, len);
    skiplist_node *n = skiplist_insert(z->sl, score, member);
    dict_add(z->d, member, n);
}

/* Score of a listpack score entry (validated: an integer or a float). */
static double lp_score_at(const unsigned char *p)
{
    size_t len;
    int64_t iv;
    const unsigned char *s = lp_get(p, &len, &iv);
    if (!s)
        return (double)iv;
    char buf[SCORE_BUF];
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return strtod(buf, NULL);
}

static int lp_member_cmp(const unsigned char *ep, const void *m, size_t len)
{
    char buf[LP_INTBUF_SIZE];
    size_t el;
    const unsigned char *e = lp_get_str(ep, &el, buf);
    return member_cmp((const char *)e, el, m, len);
}

static unsigned char *lp_find_member(unsigned char *lp, const void *m, size_t len)
{
    unsigned char *p = lp_first(lp);
    return p ? lp_find(lp, p, m, len, 1) : NULL;
}

/* The member entry of the element after / before the one at ep. */
static unsigned char *lp_next_elem(unsigned char *lp, unsigned char *ep)
{
    return lp_next(lp, lp_next(lp, ep));
}

static unsigned char *lp_prev_elem(unsigned char *lp, unsigned char *ep)
{
    unsigned char *p = lp_prev(lp, ep);
    return p ? lp_prev(lp, p) : NULL;
}

/* A score as Redis 7.0 writes it into a listpack: its integer fast path
 * catches -0.0 too, so a listpack never holds a negative zero (a SKIPLIST
 * set does, and its blob keeps it: util_d2str). */
static int lp_score_format(char *buf, size_t size, double score)
{
    if (score == 0) {
        buf[0] = '0';
        return 1;
    }
    return util_d2str(buf, size, score);
}

/* Inserts (member, score) at its place; member is not in the listpack and
 * the caller checked the size is safe. */
static unsigned char *lp_insert_sorted(unsigned char *lp, double score, const void *m, size_t len)
{
    char sbuf[SCORE_BUF];
    int slen = lp_score_format(sbuf, sizeof(sbuf), score);
    unsigned char *ep = lp_first(lp);
    while (ep) {
        unsigned char *sp = lp_next(lp, ep);
        double s = lp_score_at(sp);
        if (s > score || (s == score && lp_member_cmp(ep, m, len) > 0))
            break;
        ep = lp_next(lp, sp);
    }
    if (!ep) {
        lp = lp_append(lp, m, len);
        return lp_append(lp, sbuf, (size_t)slen);
    }
    unsigned char *np;
    lp = lp_insert(lp, ep, LP_BEFORE, m, len, &np);
    return lp_insert(lp, np, LP_AFTER, sbuf, (size_t)slen, NULL);
}

static int score_gte_min(double v, const skiplist_range *r)
{
    return r->minex ? v > r->min : v >= r->min;
}

static int score_lte_max(double v, const skiplist_range *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}

/* member against one end of a lex range: <0, 0, >0 as member is below,
 * equal to, above the bound */
static int lex_cmp_bound(const char *m, size_t len, const skiplist_lex_bound *b)
{
    if (b->kind == SKIPLIST_LEX_NEG_INF)
        return 1;
    if (b->kind == SKIPLIST_LEX_POS_INF)
        return -1;
    return member_cmp(m, len, b->ptr, b->len);
}

static int lex_gte_min(const char *m, size_t len, const skiplist_lex_range *r)
{
    int c = lex_cmp_bound(m, len, &r->min);
    return r->min.exclusive ? c > 0 : c >= 0;
}

static int lex_lte_max(const char *m, size_t len, const skiplist_lex_range *r)
{
    int c = lex_cmp_bound(m, len, &r->max);
    return r->max.exclusive ? c < 0 : c <= 0;
}

/* Order of two bounds as points, the infinities at the ends. */
static int lex_bound_cmp(const skiplist_lex_bound *a, const skiplist_lex_bound *b)
{
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    if (a->kind != SKIPLIST_LEX_VALUE)
        return 0;
    return member_cmp(a->ptr, a->len, b->ptr, b->len);
}

/* Redis's early exit for a listpack lex range: an empty range, or a last
 * member below min or a first member above max, gives nothing, even when
 * mixed scores leave members out of lex order in between. */
static int lp_lex_range_hits(unsigned char *lp, const skiplist_lex_range *r)
{
    int c = lex_bound_cmp(&r->min, &r->max);
    if (c > 0 ||
        (c == 0 && (r->min.exclusive || r->max.exclusive || r->min.kind != SKIPLIST_LEX_VALUE)))
        return 0;
    unsigned char *last = lp_last(lp);
    if (!last)
        return 0;
    char buf[LP_INTBUF_SIZE];
    size_t len;
    const char *m = (const char *)lp_get_str(lp_prev(lp, last), &len, buf);
    if (!lex_gte_min(m, len, r))
        return 0;
    m = (const char *)lp_get_str(lp_first(lp), &len, buf);
    return lex_lte_max(m, len, r);
}

/* ---- conversion ---------------------------------------------------------- */

void zset_convert(obj *o, int encoding)
{
    if (o->encoding == encoding)
        return;
    if (encoding == OBJ_ENC_SKIPLIST) {
        unsigned char *lp = o->u.ptr;
        struct zsl *z = zsl_new();
        char buf[LP_INTBUF_SIZE];
        for (unsigned char *ep = lp_first(lp); ep; ep = lp_next_elem(lp, ep)) {
            size_t len;
            const unsigned char *m = lp_get_str(ep, &len, buf);
            zsl_insert(z, lp_score_at(lp_next(lp, ep)), m, len);
        }
        lp_free(lp);
        o->u.ptr = z;
        o->encoding = OBJ_ENC_SKIPLIST;
        return;
    }
    struct zsl *z = o->u.ptr;
    unsigned char *lp = lp_new();
    char sbuf[SCORE_BUF];
    for (skiplist_node *n = skiplist_first(z->sl); n; n = skiplist_next(n)) {
        int slen = lp_score_format(sbuf, sizeof(sbuf), n->score);
        lp = lp_append(lp, n->member, str_len(n->member));
        lp = lp_append(lp, sbuf, (size_t)slen);
    }
    zsl_free(z);
    o->u.ptr = lp;
    o->encoding = OBJ_ENC_LISTPACK;
}

void zset_shrink_if_fits(obj *o, size_t maxlen)
{
    if (o->encoding != OBJ_ENC_SKIPLIST)
        return;
    if (zset_len(o) <= (size_t)keyspace_settings.zset_max_listpack_entries &&
        maxlen <= (size_t)keyspace_settings.zset_max_listpack_value)
        zset_convert(o, OBJ_ENC_LISTPACK);
}

/* ---- members ------------------------------------------------------------- */

int zset_score(obj *o, const void *m, size_t len, double *score)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *ep = lp_find_member(o->u.ptr, m, len);
        if (!ep)
            return 0;
        *score = lp_score_at(lp_next(o->u.ptr, ep));
        return 1;
    }
    skiplist_node *n = zsl_find(o->u.ptr, m, len);
    if (!n)
        return 0;
    *score = n->score;
    return 1;
}

int zset_add(obj *o, double score, const void *m, size_t len, int flags, int *out, double *newscore)
{
    int incr = flags & ZSET_IN_INCR, nx = flags & ZSET_IN_NX, xx = flags & ZSET_IN_XX;
    int gt = flags & ZSET_IN_GT, lt = flags & ZSET_IN_LT;
    *out = 0;
    if (isnan(score))
        return -1;

    double cur = 0;
    int found;
    unsigned char *ep = NULL;
    skiplist_node *node = NULL;
    if (o->encoding == OBJ_ENC_LISTPACK) {
        ep = lp_find_member(o->u.ptr, m, len);
        found = ep != NULL;
        if (found)
            cur = lp_score_at(lp_next(o->u.ptr, ep));
    } else {
        node = zsl_find(o->u.ptr, m, len);
        found = node != NULL;
        if (found)
            cur = node->score;
    }

    if (!found) {
        if (xx) {
            *out = ZSET_OUT_NOP;
            return 0;
        }
        if (o->encoding == OBJ_ENC_LISTPACK) {
            if (zset_len(o) + 1 > (size_t)keyspace_settings.zset_max_listpack_entries ||
                len > (size_t)keyspace_settings.zset_max_listpack_value ||
                lp_bytes(o->u.ptr) + len > ZSET_LP_SAFE_BYTES)
                zset_convert(o, OBJ_ENC_SKIPLIST);
            else
                o->u.ptr = lp_insert_sorted(o->u.ptr, score, m, len);
        }
        if (o->encoding == OBJ_ENC_SKIPLIST)
            zsl_insert(o->u.ptr, score, m, len);
        split_touch(o, m, len);
        *out = ZSET_OUT_ADDED;
        if (newscore)
            *newscore = score;
        return 0;
    }

    if (nx) {
        *out = ZSET_OUT_NOP;
        return 0;
    }
    if (incr) {
        score += cur;
        if (isnan(score))
            return -1;
    }
    if ((lt && score >= cur) || (gt && score <= cur)) {
        *out = ZSET_OUT_NOP;
        return 0;
    }
    if (newscore)
        *newscore = score;
    if (score == cur)
        return 0;
    split_touch(o, m, len);
    if (o->encoding == OBJ_ENC_LISTPACK) {
        /* the member's bytes may live in the listpack: take a copy first */
        char stack[256];
        char *copy = len <= sizeof(stack) ? stack : heap_malloc(len);
        memcpy(copy, m, len);
        o->u.ptr = lp_delete_range_at(o->u.ptr, &ep, 2);
        o->u.ptr = lp_insert_sorted(o->u.ptr, score, copy, len);
        if (copy != stack)
            free(copy);
    } else {
        struct zsl *z = o->u.ptr;
        skiplist_node *n = skiplist_update_score(z->sl, cur, m, len, score);
        dict_entry *e = dict_find(z->d, n->member);
        e->v.val = n;
    }
    *out = ZSET_OUT_UPDATED;
    return 0;
}

int zset_delete(obj *o, const void *m, size_t len)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *ep = lp_find_member(o->u.ptr, m, len);
        if (!ep)
            return 0;
        split_touch(o, m, len);
        o->u.ptr = lp_delete_range_at(o->u.ptr, &ep, 2);
        return 1;
    }
    struct zsl *z = o->u.ptr;
    struct lookup_key k;
    str s = lookup_key_make(&k, m, len);
    dict_entry *e = dict_unlink(z->d, s);
    lookup_key_done(&k, s);
    if (!e)
        return 0;
    split_touch(o, m, len);
    skiplist_node *n = e->v.val;
    double score = n->score;
    /* the dict does not own the member: the skiplist frees it last, so m
     * may even be that member */
    dict_free_unlinked(z->d, e);
    skiplist_delete(z->sl, score, m, len, NULL);
    return 1;
}

long zset_rank(obj *o, const void *m, size_t len, int reverse, double *score)
{
    size_t n = zset_len(o);
    if (o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *lp = o->u.ptr;
        long rank = 0;
        for (unsigned char *ep = lp_first(lp); ep; ep = lp_next_elem(lp, ep), rank++) {
            if (lp_equal(ep, m, len)) {
                if (score)
                    *score = lp_score_at(lp_next(lp, ep));
                return reverse ? (long)n - 1 - rank : rank;
            }
        }
        return -1;
    }
    struct zsl *z = o->u.ptr;
    skiplist_node *node = zsl_find(z, m, len);
    if (!node)
        return -1;
    unsigned long r = skiplist_rank(z->sl, node->score, m, len);
    if (score)
        *score = node->score;
    return reverse ? (long)(n - r) : (long)(r - 1);
}

int zset_at(obj *o, unsigned long rank, const char **m, size_t *len, double *score, char *buf)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        if (rank >= zset_len(o))
            return 0;
        unsigned char *ep = lp_seek(o->u.ptr, (long)(2 * rank));
        *m = (const char *)lp_get_str(ep, len, buf);
        *score = lp_score_at(lp_next(o->u.ptr, ep));
        return 1;
    }
    skiplist_node *n = skiplist_by_rank(((struct zsl *)o->u.ptr)->sl, rank + 1);
    if (!n)
        return 0;
    *m = n->member;
    *len = str_len(n->member);
    *score = n->score;
    return 1;
}

/* ---- iteration ----------------------------------------------------------- */

static void iter_base(struct zset_iter *it, obj *o, int reverse)
{
    it->o = o;
    it->reverse = reverse;
    it->bound = ZSET_ITER_ALL;
    it->ep = NULL;
    it->node = NULL;
}

void zset_iter_init(struct zset_iter *it, obj *o, int reverse)
{
    zset_iter_init_rank(it, o, 0, reverse);
}

void zset_iter_init_rank(struct zset_iter *it, obj *o, unsigned long rank, int reverse)
{
    iter_base(it, o, reverse);
    size_t n = zset_len(o);
    if (rank >= n)
        return;
    unsigned long asc = reverse ? n - 1 - rank : rank;
    if (o->encoding == OBJ_ENC_LISTPACK)
        it->ep = lp_seek(o->u.ptr, (long)(2 * asc));
    else
        it->node = skiplist_by_rank(((struct zsl *)o->u.ptr)->sl, asc + 1);
}

void zset_iter_init_score(struct zset_iter *it, obj *o, const skiplist_range *r, int reverse)
{
    iter_base(it, o, reverse);
    it->bound = ZSET_ITER_SCORE;
    it->range = *r;
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        skiplist *sl = ((struct zsl *)o->u.ptr)->sl;
        it->node = reverse ? skiplist_last_in_range(sl, r) : skiplist_first_in_range(sl, r);
        return;
    }
    unsigned char *lp = o->u.ptr;
    if (!reverse) {
        unsigned char *ep = lp_first(lp);
        while (ep && !score_gte_min(lp_score_at(lp_next(lp, ep)), r))
            ep = lp_next_elem(lp, ep);
        it->ep = ep;
    } else {
        unsigned char *ep = lp_last(lp);
        ep = ep ? lp_prev(lp, ep) : NULL;
        while (ep && !score_lte_max(lp_score_at(lp_next(lp, ep)), r))
            ep = lp_prev_elem(lp, ep);
        it->ep = ep;
    }
}

void zset_iter_init_lex(struct zset_iter *it, obj *o, const skiplist_lex_range *r, int reverse)
{
    iter_base(it, o, reverse);
    it->bound = ZSET_ITER_LEX;
    it->lex = *r;
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        skiplist *sl = ((struct zsl *)o->u.ptr)->sl;
        it->node = reverse ? skiplist_last_in_lex_range(sl, r) : skiplist_first_in_lex_range(sl, r);
        return;
    }
    unsigned char *lp = o->u.ptr;
    char buf[LP_INTBUF_SIZE];
    size_t len;
    const char *m;
    if (!lp_lex_range_hits(lp, r))
        return;
    if (!reverse) {
        unsigned char *ep = lp_first(lp);
        while (ep) {
            m = (const char *)lp_get_str(ep, &len, buf);
            if (lex_gte_min(m, len, r))
                break;
            ep = lp_next_elem(lp, ep);
        }
        it->ep = ep;
    } else {
        unsigned char *ep = lp_last(lp);
        ep = ep ? lp_prev(lp, ep) : NULL;
        while (ep) {
            m = (const char *)lp_get_str(ep, &len, buf);
            if (lex_lte_max(m, len, r))
                break;
            ep = lp_prev_elem(lp, ep);
        }
        it->ep = ep;
    }
}

/* Whether the element is still within the iterator's range on the side it
 * is walking towards. */
static int iter_in_bound(const struct zset_iter *it, const char *m, size_t len, double score)
{
    switch (it->bound) {
    case ZSET_ITER_SCORE:
        return it->reverse ? score_gte_min(score, &it->range) : score_lte_max(score, &it->range);
    case ZSET_ITER_LEX:
        return it->reverse ? lex_gte_min(m, len, &it->lex) : lex_lte_max(m, len, &it->lex);
    default:
        return 1;
    }
}

int zset_iter_next(struct zset_iter *it, const char **m, size_t *len, double *score)
{
    if (it->o->encoding == OBJ_ENC_LISTPACK) {
        unsigned char *lp = it->o->u.ptr;
        if (!it->ep)
            return 0;
        *m = (const char *)lp_get_str(it->ep, len, it->buf);
        *score = lp_score_at(lp_next(lp, it->ep));
        if (!iter_in_bound(it, *m, *len, *score)) {
            it->ep = NULL;
            return 0;
        }
        it->ep = it->reverse ? lp_prev_elem(lp, it->ep) : lp_next_elem(lp, it->ep);
        return 1;
    }
    skiplist_node *n = it->node;
    if (!n)
        return 0;
    if (!iter_in_bound(it, n->member, str_len(n->member), n->score)) {
        it->node = NULL;
        return 0;
    }
    *m = n->member;
    *len = str_len(n->member);
    *score = n->score;
    it->node = it->reverse ? skiplist_prev(n) : skiplist_next(n);
    return 1;
}

unsigned long zset_iter_skip(struct zset_iter *it, unsigned long n)
{
    const char *m;
    size_t len;
    double score;
    unsigned long done = 0;
    while (done < n && zset_iter_next(it, &m, &len, &score))
        done++;
    return done;
}

/* ---- ranges -------------------------------------------------------------- */

unsigned long zset_count_in_range(obj *o, const skiplist_range *r)
{
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        skiplist *sl = ((struct zsl *)o->u.ptr)->sl;
        skiplist_node *first = skiplist_first_in_range(sl, r);
        if (!first)
            return 0;
        skiplist_node *last = skiplist_last_in_range(sl, r);
        return skiplist_rank(sl, last->score, last->member, str_len(last->member)) -
               skiplist_rank(sl, first->score, first->member, str_len(first->member)) + 1;
    }
    struct zset_iter it;
    zset_iter_init_score(&it, o, r, 0);
    return zset_iter_skip(&it, (unsigned long)-1);
}

unsigned long zset_count_in_lex_range(obj *o, const skiplist_lex_range *r)
{
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        skiplist *sl = ((struct zsl *)o->u.ptr)->sl;
        skiplist_node *first = skiplist_first_in_lex_range(sl, r);
        if (!first)
            return 0;
        skiplist_node *last = skiplist_last_in_lex_range(sl, r);
        unsigned long a = skiplist_rank(sl, first->score, first->member, str_len(first->member));
        if (!last)
            return skiplist_length(sl) - a + 1;
        unsigned long b = skiplist_rank(sl, last->score, last->member, str_len(last->member));
        /* with mixed scores last may come before first: the count wraps
         * around as Redis's does (ZLEXCOUNT then replies a negative) */
        return b - a + 1;
    }
    struct zset_iter it;
    zset_iter_init_lex(&it, o, r, 0);
    return zset_iter_skip(&it, (unsigned long)-1);
}

/* A range delete took member out of the skiplist of o: out of the dict
 * too, and noted for the split storage. */
static void zsl_forget(void *ctx, str member, double score)
{
    obj *o = ctx;
    (void)score;
    split_touch(o, member, str_len(member));
    dict_delete(((struct zsl *)o->u.ptr)->d, member);
}

/* Deletes the run of elements that starts at the iterator's first element
 * and lasts while they are in its range (Redis's listpack range deletes). */
static unsigned long lp_delete_iter_run(obj *o, struct zset_iter *it)
{
    unsigned char *start = it->ep;
    if (!start)
        return 0;
    unsigned long n = 0;
    const char *m;
    size_t len;
    double score;
    while (zset_iter_next(it, &m, &len, &score)) {
        split_touch(o, m, len);
        n++;
    }
    /* the positions stay valid: nothing changed the listpack yet */
    unsigned char *p = start;
    o->u.ptr = lp_delete_range_at(o->u.ptr, &p, 2 * n);
    return n;
}

unsigned long zset_delete_range_by_score(obj *o, const skiplist_range *r)
{
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        struct zsl *z = o->u.ptr;
        return skiplist_delete_range_by_score(z->sl, r, zsl_forget, o);
    }
    struct zset_iter it;
    zset_iter_init_score(&it, o, r, 0);
    return lp_delete_iter_run(o, &it);
}

unsigned long zset_delete_range_by_lex(obj *o, const skiplist_lex_range *r)
{
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        struct zsl *z = o->u.ptr;
        return skiplist_delete_range_by_lex(z->sl, r, zsl_forget, o);
    }
    struct zset_iter it;
    zset_iter_init_lex(&it, o, r, 0);
    return lp_delete_iter_run(o, &it);
}

unsigned long zset_delete_range_by_rank(obj *o, unsigned long start, unsigned long end)
{
    if (o->encoding == OBJ_ENC_SKIPLIST) {
        struct zsl *z = o->u.ptr;
        return skiplist_delete_range_by_rank(z->sl, start + 1, end + 1, zsl_forget, o);
    }
    unsigned long n = end - start + 1;
    if (o->flags & OBJ_F_SPLIT) {
        struct zset_iter it;
        const char *m;
        size_t len;
        double score;
        zset_iter_init_rank(&it, o, start, 0);
        for (unsigned long i = 0; i < n && zset_iter_next(&it, &m, &len, &score); i++)
            split_touch(o, m, len);
    }
    o->u.ptr = lp_delete_range(o->u.ptr, (long)(2 * start), 2 * n);
    return n;
}

struct scan_wrap {
    zset_scan_fn *fn;
    void *ctx;
};

static void zsl_scan_cb(void *privdata, dict_entry *e)
{
    struct scan_wrap *w = privdata;
    skiplist_node *n = e->v.val;
    w->fn(w->ctx, n->member, str_len(n->member), n->score);
}

unsigned long long zset_scan(obj *o, unsigned long long cursor, zset_scan_fn *fn, void *ctx)
{
    struct scan_wrap w = {fn, ctx};
    return dict_scan(((struct zsl *)o->u.ptr)->d, cursor, zsl_scan_cb, &w);
}

/* ---- copies, memory, stored form ----------------------------------------- */

obj *zset_dup(const obj *o)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        size_t len = lp_bytes(o->u.ptr);
        unsigned char *lp = hot_malloc(len);
        memcpy(lp, o->u.ptr, len);
        return zset_obj(OBJ_ENC_LISTPACK, lp);
    }
    const struct zsl *src = o->u.ptr;
    struct zsl *z = zsl_new();
    for (skiplist_node *n = skiplist_first(src->sl); n; n = skiplist_next(n))
        zsl_insert(z, n->score, n->member, str_len(n->member));
    return zset_obj(OBJ_ENC_SKIPLIST, z);
}

size_t zset_mem(const obj *o)
{
    if (o->encoding == OBJ_ENC_LISTPACK)
        return hot_usable(o->u.ptr);
    const struct zsl *z = o->u.ptr;
    size_t n = hot_usable((void *)z) + dict_mem_usage(z->d) + hot_usable(z->sl) +
               hot_usable(z->sl->header);
    for (skiplist_node *x = skiplist_first(z->sl); x; x = skiplist_next(x))
        n += hot_usable(x) + str_hot_alloc_size(x->member);
    return n;
}

const unsigned char *zset_blob(obj *o, size_t *len, int *must_free)
{
    if (o->encoding == OBJ_ENC_LISTPACK) {
        *must_free = 0;
        *len = lp_bytes(o->u.ptr);
        return o->u.ptr;
    }
    struct zsl *z = o->u.ptr;
    unsigned char *lp = lp_new();
    char sbuf[SCORE_BUF];
    for (skiplist_node *n = skiplist_first(z->sl); lp && n; n = skiplist_next(n)) {
        int slen = util_d2str(sbuf, sizeof(sbuf), n->score);
        lp = lp_append(lp, n->member, str_len(n->member));
        if (lp)
            lp = lp_append(lp, sbuf, (size_t)slen);
    }
    /* a set past 4 GB does not fit one blob: the split encoding's case */
    if (!lp)
        return NULL;
    *must_free = 1;
    *len = lp_bytes(lp);
    return lp;
}

/* A stored score: an integer entry, or a float string util_str2d accepts. */
static int lp_score_valid(const unsigned char *p, double *out)
{
    size_t len;
    int64_t iv;
    const unsigned char *s = lp_get(p, &len, &iv);
    if (!s) {
        *out = (double)iv;
        return 1;
    }
    return len < SCORE_BUF && util_str2d((const char *)s, len, out);
}

obj *zset_from_blob(const void *buf, size_t len, int encoding)
{
    if (encoding != OBJ_ENC_LISTPACK && encoding != OBJ_ENC_SKIPLIST)
        return NULL;
    if (lp_validate(buf, len, NULL, NULL) != 0)
        return NULL;
    unsigned char *lp = hot_malloc(len);
    memcpy(lp, buf, len);
    if (lp_length(lp) % 2) {
        lp_free(lp);
        return NULL;
    }
    struct zsl *z = encoding == OBJ_ENC_SKIPLIST ? zsl_new() : NULL;
    dict *seen = z ? NULL : dict_create(&member_set_type);
    char mb[LP_INTBUF_SIZE], pb[LP_INTBUF_SIZE];
    const unsigned char *prev = NULL;
    size_t prevlen = 0;
    double prevscore = 0;
    int ok = 1;
    for (unsigned char *ep = lp_first(lp); ok && ep; ep = lp_next_elem(lp, ep)) {
        size_t ml;
        double score;
        const unsigned char *m = lp_get_str(ep, &ml, mb);
        if (!lp_score_valid(lp_next(lp, ep), &score)) {
            ok = 0;
        } else if (z) {
            if (zsl_find(z, m, ml))
                ok = 0;
            else
                zsl_insert(z, score, m, ml);
        } else {
            /* strictly increasing (score, member), and no member twice */
            if (prev &&
                (score < prevscore || (score == prevscore && member_cmp((const char *)prev, prevlen,
                                                                        (const char *)m, ml) >= 0)))
                ok = 0;
            str k = str_hot_new(m, ml);
            if (ok && !dict_add(seen, k, NULL)) {
                str_hot_free(k);
                ok = 0;
            } else if (!ok) {
                str_hot_free(k);
            }
            /* the previous member's bytes: integers are formatted in pb */
            if (m == (const unsigned char *)mb) {
                memcpy(pb, mb, ml);
                m = (const unsigned char *)pb;
            }
            prev = m;
            prevlen = ml;
            prevscore = score;
        }
    }
    if (seen)
        dict_release(seen);
    if (!ok) {
        lp_free(lp);
        if (z)
            zsl_free(z);
        return NULL;
    }
    if (z) {
        lp_free(lp);
        return zset_obj(OBJ_ENC_SKIPLIST, z);
    }
    return zset_obj(OBJ_ENC_LISTPACK, lp);
}
