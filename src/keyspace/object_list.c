/*
 * object_list.c: list values, kept as a quicklist (object_list.h).
 *
 * A quicklist is a doubly linked list of nodes. A packed node holds a
 * listpack of one or more elements; how many is bounded by
 * list-max-listpack-size, read at each insertion as Redis 7.0 reads its
 * fill factor: a negative value -1..-5 bounds a node's listpack at
 * 4/8/16/32/64 KB, a positive one bounds its element count (and its size
 * at 8 KB). A plain node holds one element of at least packed_threshold
 * bytes as raw bytes, so that an element too big for a listpack (4 GB)
 * still fits a list. list-compress-depth is accepted and reported but
 * nodes stay uncompressed in memory.
 *
 * Invariants: no node is empty; a plain node has count 1; the list's
 * count is the sum of its nodes' counts; an empty list is never kept (the
 * commands delete the key with its last element).
 *
 * Lookups by index walk whole nodes (by count) from whichever end is
 * nearer, then seek inside one listpack, so both ends are cheap.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "keyspace/object.h"
#include "keyspace/split.h"
#include "keyspace/settings.h"

struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *data; /* packed: a listpack; plain: the element's bytes */
    size_t sz;           /* plain: the element's length */
    uint32_t count;      /* elements in this node */
    uint8_t plain;
};

struct quicklist {
    struct ql_node *head, *tail;
    size_t count; /* elements */
    size_t nodes;
};

#define QL(o) ((struct quicklist *)(o)->u.ptr)

#define DEFAULT_PACKED_THRESHOLD (1ull << 30)
#define SIZE_SAFETY_LIMIT        8192 /* node bytes when the fill is a count */

static unsigned long long packed_threshold = DEFAULT_PACKED_THRESHOLD;
static const size_t fill_bytes[] = {4096, 8192, 16384, 32768, 65536};

int list_set_packed_threshold(unsigned long long sz)
{
    /* a packed element must leave room for the listpack's own bytes */
    if (sz > (1ull << 32) - (1ull << 20))
        return 0;
    packed_threshold = sz ? sz : DEFAULT_PACKED_THRESHOLD;
    return 1;
}

static int is_large(size_t len)
{
    return len >= packed_threshold;
}

/* Whether a packed node of new_sz bytes and new_count elements is within
 * list-max-listpack-size. */
static int node_fits(size_t new_sz, size_t new_count)
{
    long long fill = keyspace_settings.list_max_listpack_size;
    if (fill < 0) {
        size_t level = fill < -5 ? 4 : (size_t)(-fill - 1);
        return new_sz <= fill_bytes[level];
    }
    return new_sz <= SIZE_SAFETY_LIMIT && new_count <= (unsigned long long)fill;
}

/* Whether n can take one more element of len bytes (an over-estimate of
 * the entry: its encoding and back-length at their largest for len). */
static int node_allows(const struct ql_node *n, size_t len)
{
    if (!n || n->plain || is_large(len))
        return 0;
    size_t overhead = len < 64 ? 2 : len < 4096 ? 4 : 10;
    return node_fits(lp_bytes(n->data) + len + overhead, (size_t)n->count + 1);
}

/* Raw bytes of the entry at p. */
static size_t entry_bytes(unsigned char *lp, unsigned char *p)
{
    unsigned char *q = lp_next(lp, p);
    return (size_t)((q ? q : lp + lp_bytes(lp) - 1) - p);
}

static struct ql_node *node_new_plain(const void *s, size_t len)
{
    struct ql_node *n = hot_calloc(sizeof(*n));
    n->data = hot_malloc(len ? len : 1);
    if (len)
        memcpy(n->data, s, len);
    n->sz = len;
    n->count = 1;
    n->plain = 1;
    return n;
}

static struct ql_node *node_new_packed(void)
{
    struct ql_node *n = hot_calloc(sizeof(*n));
    n->data = lp_new();
    return n;
}

/* A node holding just s/len: plain when large (or too big for a listpack). */
static struct ql_node *node_with(const void *s, size_t len)
{
    if (is_large(len))
        return node_new_plain(s, len);
    struct ql_node *n = node_new_packed();
    unsigned char *lp = lp_append(n->data, s, len);
    if (!lp) {
        lp_free(n->data);
        hot_free(n);
        return node_new_plain(s, len);
    }
    n->data = lp;
    n->count = 1;
    return n;
}

static void node_free(struct ql_node *n)
{
    if (n->plain)
        hot_free(n->data);
    else
        lp_free(n->data);
    hot_free(n);
}

/* Links n next to at (after it when after is set); at NULL: the list is
 * empty, or n goes at the end after says (after: tail, else head). */
static void ql_link(struct quicklist *ql, struct ql_node *at, struct ql_node *n, int after)
{
    if (!at)
        at = after ? ql->tail : ql->head;
    if (!at) {
        n->prev = n->next = NULL;
        ql->head = ql->tail = n;
    } else if (after) {
        n->prev = at;
        n->next = at->next;
        if (at->next)
            at->next->prev = n;
        else
            ql->tail = n;
        at->next = n;
    } else {
        n->next = at;
        n->prev = at->prev;
        if (at->prev)
            at->prev->next = n;
        else
            ql->head = n;
        at->prev = n;
    }
    ql->nodes++;
}

static void ql_unlink_free(struct quicklist *ql, struct ql_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->nodes--;
    node_free(n);
}

/* The node holding index (negative: from the tail) and the index inside
 * it, walking from the nearer end; NULL when out of range. */
static struct ql_node *ql_seek(struct quicklist *ql, long index, size_t *off)
{
    if (index < 0)
        index += (long)ql->count;
    if (index < 0 || (size_t)index >= ql->count)
        return NULL;
    size_t i = (size_t)index;
    struct ql_node *n;
    if (i < ql->count / 2) {
        for (n = ql->head; i >= n->count; n = n->next)
            i -= n->count;
    } else {
        size_t back = ql->count - 1 - i;
        for (n = ql->tail; back >= n->count; n = n->prev)
            back -= n->count;
        i = n->count - 1 - back;
    }
    *off = i;
    return n;
}

static void node_get(struct ql_node *n, unsigned char *p, const char **s, size_t *len, char *buf)
{
    if (n->plain) {
        *s = (const char *)n->data;
        *len = n->sz;
    } else {
        *s = (const char *)lp_get_str(p, len, buf);
    }
}

/* ---- the list API -------------------------------------------------------- */

obj *obj_list_new(void)
{
    return obj_new_collection(OBJ_LIST, OBJ_ENC_QUICKLIST, hot_calloc(sizeof(struct quicklist)));
}

size_t list_len(const obj *o)
{
    return QL(o)->count;
}

void list_push(obj *o, const void *s, size_t len, int where)
{
    struct quicklist *ql = QL(o);
    struct ql_node *end = where == LIST_HEAD ? ql->head : ql->tail;
    if (node_allows(end, len)) {
        end->data =
            where == LIST_HEAD ? lp_prepend(end->data, s, len) : lp_append(end->data, s, len);
        assert(end->data);
        end->count++;
    } else {
        ql_link(ql, end, node_with(s, len), where == LIST_TAIL);
    }
    ql->count++;
    split_list_pushed(o, where);
}

int list_index(obj *o, long index, const char **s, size_t *len, char *buf)
{
    size_t off;
    struct ql_node *n = ql_seek(QL(o), index, &off);
    if (!n)
        return 0;
    node_get(n, n->plain ? NULL : lp_seek(n->data, (long)off), s, len, buf);
    return 1;
}

void list_delete_range(obj *o, long start, size_t n)
{
    struct quicklist *ql = QL(o);
    if (start < 0) {
        start += (long)ql->count;
        if (start < 0)
            start = 0;
    }
    if ((size_t)start >= ql->count || n == 0)
        return;
    if (n > ql->count - (size_t)start)
        n = ql->count - (size_t)start;
    split_list_removed(o, (size_t)start, n);
    size_t off;
    struct ql_node *node = ql_seek(ql, start, &off);
    while (n > 0) {
        struct ql_node *next = node->next;
        size_t k = node->count - off;
        if (k > n)
            k = n;
        if (k == node->count) {
            ql_unlink_free(ql, node);
        } else {
            node->data = lp_delete_range(node->data, (long)off, k);
            node->count -= (uint32_t)k;
        }
        ql->count -= k;
        n -= k;
        off = 0;
        node = next;
    }
}

/* Splits packed node n before its element at index off (0 < off < count):
 * n keeps the elements before, a new node after n gets the rest. */
static struct ql_node *node_split(struct quicklist *ql, struct ql_node *n, size_t off)
{
    struct ql_node *b = node_new_packed();
    size_t rest = n->count - off;
    b->data = lp_append_entries(b->data, lp_seek(n->data, (long)off), rest, NULL);
    assert(b->data);
    b->count = (uint32_t)rest;
    n->data = lp_delete_range(n->data, (long)off, rest);
    n->count = (uint32_t)off;
    ql_link(ql, n, b, 1);
    return b;
}

/* Puts s/len at the tail of n if it fits, else at the head of n's next
 * node if that fits, else in a new node between them. */
static void insert_after_node(struct quicklist *ql, struct ql_node *n, const void *s, size_t len)
{
    if (node_allows(n, len)) {
        n->data = lp_append(n->data, s, len);
        assert(n->data);
        n->count++;
    } else if (node_allows(n->next, len)) {
        n->next->data = lp_prepend(n->next->data, s, len);
        assert(n->next->data);
        n->next->count++;
    } else {
        ql_link(ql, n, node_with(s, len), 1);
    }
}

/* Inserts s/len next to the element p of node n (after it or before it). */
static void ql_insert_at(struct quicklist *ql, struct ql_node *n, unsigned char *p, const void *s,
                         size_t len, int after)
{
    ql->count++;
    if (node_allows(n, len)) {
        n->data = lp_insert(n->data, p, after ? LP_AFTER : LP_BEFORE, s, len, NULL);
        assert(n->data);
        n->count++;
        return;
    }
    if (after && (n->plain || !lp_next(n->data, p))) {
        insert_after_node(ql, n, s, len);
        return;
    }
    if (!after && (n->plain || p == lp_first(n->data))) {
        if (n->prev) {
            insert_after_node(ql, n->prev, s, len);
        } else {
            ql_link(ql, n, node_with(s, len), 0);
        }
        return;
    }
    /* inside a full packed node: split it where the element goes */
    size_t off = 0;
    for (unsigned char *q = lp_first(n->data); q != p; q = lp_next(n->data, q))
        off++;
    node_split(ql, n, after ? off + 1 : off);
    insert_after_node(ql, n, s, len);
}

int list_set(obj *o, long index, const void *s, size_t len)
{
    struct quicklist *ql = QL(o);
    size_t off;
    struct ql_node *n = ql_seek(ql, index, &off);
    if (!n)
        return 0;
    if (index < 0)
        index += (long)ql->count;
    split_list_set(o, (size_t)index);
    if (!n->plain && !is_large(len)) {
        /* in place, as Redis does, even past the fill bound */
        unsigned char *p = lp_seek(n->data, (long)off);
        unsigned char *lp = lp_replace(n->data, &p, s, len);
        if (lp) {
            n->data = lp;
            return 1;
        }
    } else if (n->plain && is_large(len)) {
        unsigned char *data = hot_malloc(len);
        memcpy(data, s, len);
        hot_free(n->data);
        n->data = data;
        n->sz = len;
        return 1;
    }
    /* the element changes kind: the new one goes after, the old one goes */
    ql_insert_at(ql, n, n->plain ? NULL : lp_seek(n->data, (long)off), s, len, 1);
    list_delete_range(o, index, 1);
    return 1;
}

/* ---- iteration ----------------------------------------------------------- */

/* Sets the iterator's next position to the neighbour of (n, p). */
static void iter_step(struct list_iter *it, struct ql_node *n, unsigned char *p)
{
    int fwd = it->dir == LIST_TAIL;
    if (!n->plain) {
        unsigned char *q = fwd ? lp_next(n->data, p) : lp_prev(n->data, p);
        if (q) {
            it->node = n;
            it->p = q;
            return;
        }
    }
    struct ql_node *m = fwd ? n->next : n->prev;
    it->node = m;
    it->p = m && !m->plain ? (fwd ? lp_first(m->data) : lp_last(m->data)) : NULL;
}

void list_iter_init(struct list_iter *it, obj *o, long index, int dir)
{
    size_t off;
    struct ql_node *n = ql_seek(QL(o), index, &off);
    it->o = o;
    it->dir = dir;
    it->node = n;
    it->p = n && !n->plain ? lp_seek(n->data, (long)off) : NULL;
    it->cur_node = NULL;
    it->cur = NULL;
}

int list_iter_next(struct list_iter *it, const char **s, size_t *len)
{
    struct ql_node *n = it->node;
    it->cur_node = n;
    it->cur = it->p;
    if (!n)
        return 0;
    node_get(n, it->p, s, len, it->buf);
    iter_step(it, n, it->p);
    return 1;
}

int list_iter_equal(struct list_iter *it, const void *s, size_t len)
{
    struct ql_node *n = it->cur_node;
    if (n->plain)
        return n->sz == len && (len == 0 || memcmp(n->data, s, len) == 0);
    return lp_equal(it->cur, s, len);
}

void list_iter_delete(struct list_iter *it)
{
    struct quicklist *ql = QL(it->o);
    struct ql_node *n = it->cur_node;
    assert(n);
    split_list_rewrite(it->o);
    ql->count--;
    it->cur_node = NULL;
    if (n->count == 1) {
        /* the next position is in another node, untouched */
        ql_unlink_free(ql, n);
        return;
    }
    size_t cur_off = (size_t)(it->cur - n->data);
    size_t cur_size = entry_bytes(n->data, it->cur);
    size_t next_off = it->node == n ? (size_t)(it->p - n->data) : 0;
    n->data = lp_delete(n->data, it->cur, NULL);
    n->count--;
    if (it->node == n)
        it->p = n->data + (next_off > cur_off ? next_off - cur_size : next_off);
}

void list_iter_insert(struct list_iter *it, const void *s, size_t len, int where)
{
    struct ql_node *n = it->cur_node;
    assert(n);
    split_list_rewrite(it->o);
    ql_insert_at(QL(it->o), n, it->cur, s, len, where == LIST_TAIL);
    it->node = NULL;
    it->cur_node = NULL;
}

/* ---- stored form, copies, memory ----------------------------------------- */

const unsigned char *list_blob(obj *o, size_t *len, int *must_free)
{
    struct quicklist *ql = QL(o);
    if (ql->nodes == 1 && !ql->head->plain) {
        *must_free = 0;
        *len = lp_bytes(ql->head->data);
        return ql->head->data;
    }
    /* plain elements get a listpack of their own to be concatenated */
    unsigned char **parts = heap_malloc(ql->nodes * sizeof(*parts));
    size_t i = 0;
    for (struct ql_node *n = ql->head; n; n = n->next, i++) {
        parts[i] = n->data;
        if (n->plain) {
            /* an element past 4 GB stays out (empty): the whole fails below */
            unsigned char *one = lp_new();
            unsigned char *lp = lp_append(one, n->data, n->sz);
            parts[i] = lp ? lp : one;
        }
    }
    unsigned char *lp = lp_concat(parts, ql->nodes);
    i = 0;
    int too_big = 0;
    for (struct ql_node *n = ql->head; n; n = n->next, i++) {
        if (n->plain) {
            too_big |= lp_length(parts[i]) == 0;
            lp_free(parts[i]);
        }
    }
    free(parts);
    if (too_big && lp) {
        lp_free(lp);
        lp = NULL;
    }
    /* past 4 GB: the split encoding's case */
    if (!lp)
        return NULL;
    *must_free = 1;
    *len = lp_bytes(lp);
    return lp;
}

obj *list_from_blob(const void *buf, size_t len, int encoding)
{
    if (encoding != OBJ_ENC_QUICKLIST || lp_validate(buf, len, NULL, NULL) != 0)
        return NULL;
    /* only read through the walking functions, which never write */
    unsigned char *src = (unsigned char *)buf;
    if (!lp_first(src))
        return NULL;
    obj *o = obj_list_new();
    struct quicklist *ql = QL(o);
    struct ql_node *n = NULL;
    unsigned char *run = NULL; /* entries not yet copied into n */
    size_t run_n = 0, nbytes = 0, ncount = 0;
    for (unsigned char *p = lp_first(src), *next; p; p = next) {
        next = lp_next(src, p);
        size_t eb = (size_t)((next ? next : src + len - 1) - p);
        size_t slen = 0;
        int64_t ival;
        const unsigned char *sp = lp_get(p, &slen, &ival);
        int large = sp && is_large(slen);
        if (!large && n && node_fits(nbytes + eb, ncount + 1)) {
            run_n++;
            nbytes += eb;
            ncount++;
            continue;
        }
        if (run_n) {
            n->data = lp_append_entries(n->data, run, run_n, NULL);
            n->count += (uint32_t)run_n;
            ql->count += run_n;
        }
        run = NULL;
        run_n = 0;
        if (large) {
            ql_link(ql, NULL, node_new_plain(sp, slen), 1);
            ql->count++;
            n = NULL;
            continue;
        }
        n = node_new_packed();
        ql_link(ql, NULL, n, 1);
        run = p;
        run_n = 1;
        nbytes = LP_HDR_SIZE + 1 + eb;
        ncount = 1;
    }
    if (run_n) {
        n->data = lp_append_entries(n->data, run, run_n, NULL);
        n->count += (uint32_t)run_n;
        ql->count += run_n;
    }
    return o;
}

void list_free(obj *o)
{
    struct quicklist *ql = QL(o);
    for (struct ql_node *n = ql->head, *next; n; n = next) {
        next = n->next;
        node_free(n);
    }
    hot_free(ql);
}

obj *list_dup(const obj *o)
{
    obj *d = obj_list_new();
    struct quicklist *ql = QL(o), *dl = QL(d);
    for (struct ql_node *n = ql->head; n; n = n->next) {
        struct ql_node *c = hot_calloc(sizeof(*c));
        size_t bytes = n->plain ? n->sz : lp_bytes(n->data);
        c->data = hot_malloc(bytes ? bytes : 1);
        memcpy(c->data, n->data, bytes);
        c->sz = n->sz;
        c->count = n->count;
        c->plain = n->plain;
        ql_link(dl, NULL, c, 1);
    }
    dl->count = ql->count;
    return d;
}

size_t list_mem(const obj *o)
{
    struct quicklist *ql = QL(o);
    size_t bytes = hot_usable(ql);
    for (struct ql_node *n = ql->head; n; n = n->next)
        bytes += hot_usable(n) + hot_usable(n->data);
    return bytes;
}
