/*
 * sort.c: SORT and SORT_RO.
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
 * [ALPHA] [STORE destination] sorts the elements of a list, set or sorted
 * set (a missing key is an empty list) and replies them, or stores them as
 * a list. Replies, errors and side effects are Redis 7.0's:
 *
 * - Options are parsed first (a bad LIMIT number is reported at once, an
 *   unknown word is a syntax error), then the key's type is checked.
 * - A pattern's first '*' is replaced by the element; "key->field" reads a
 *   hash field; "#" is the element itself. Pattern keys are read through
 *   db_lookup like any key (cold ones load synchronously and count as
 *   keyspace hits or misses); a key of another type reads as missing.
 * - BY with a pattern that has no '*' means "don't sort": lists and sorted
 *   sets keep their own order (reversed by DESC) and LIMIT picks a range of
 *   it directly; a set is sorted ALPHA anyway when the result is STOREd, so
 *   that the stored list does not depend on the set's memory layout (a
 *   reply keeps its layout's order: an intset's as Redis, a hash table's
 *   our own).
 * - Numeric sorting reads every weight with strtod (a missing one is 0):
 *   trailing bytes, a NaN or an out-of-range value is "ERR One or more
 *   scores can't be converted into double". Equal weights are ordered by
 *   the elements' bytes. ALPHA compares bytes as strcoll() does in Redis's
 *   C/C.UTF-8 locale (up to the first NUL) when replying, and whole byte
 *   strings (memcmp, then length) when storing, as Redis does.
 * - A sorted set is converted to its skiplist encoding first, as Redis
 *   does (OBJECT ENCODING shows it afterwards); the change is stored.
 * - STORE replaces the destination (dropping its TTL) with the result as a
 *   list, a missing GET value being ""; an empty result deletes it. The
 *   reply is the number of elements stored.
 *
 * Invariants: the elements are copied out of the source before any pattern
 * lookup, because a lookup may load (and so change the memory of) other
 * keys; the sort is stable, so elements that compare equal keep the order
 * in which they were read, as glibc's qsort (a merge sort) keeps it for
 * Redis. Only elements that compare equal and differ can come out in
 * another order than Redis's: ALPHA ties (equal BY weights, or bytes equal
 * up to a NUL) among a set's or sorted set's members, which Redis reads in
 * hash table order, or sorted with BY and LIMIT, where Redis uses a partial
 * quicksort. Numeric weights that tie are ordered by the elements' bytes.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "types/types.h"
#include "net/reply.h"

/* Room for a value formatted out of an integer encoding (string, hash,
 * list, set or zset listpack entry). */
#define SORT_BUF 32

/* ---- patterns ------------------------------------------------------------ */

/* A BY or GET pattern, split once. Redis reads the pattern as a C string
 * to find '*' and "->" (a NUL byte ends the search) but takes the field
 * name up to the pattern's real end. */
struct sort_pattern {
    const char *p;
    size_t len;
    int self;       /* "#": the element itself */
    long star;      /* offset of the first '*', -1 when there is none */
    size_t postfix; /* bytes after '*' that belong to the key name */
    const char *field;
    size_t flen; /* 0: a string key, else a hash field of this name */
};

static void sort_pattern_init(struct sort_pattern *pt, const str s)
{
    size_t len = str_len(s);
    size_t clen = strnlen(s, len);
    memset(pt, 0, sizeof(*pt));
    pt->p = s;
    pt->len = len;
    pt->self = len >= 1 && s[0] == '#' && (len == 1 || s[1] == '\0');
    const char *star = memchr(s, '*', clen);
    pt->star = star ? (long)(star - s) : -1;
    if (!star)
        return;
    size_t after = (size_t)(star - s) + 1;
    for (size_t i = after; i + 2 < clen; i++) {
        if (s[i] == '-' && s[i + 1] == '>') {
            pt->field = s + i + 2;
            pt->flen = len - i - 2;
            break;
        }
    }
    pt->postfix = len - after - (pt->flen ? pt->flen + 2 : 0);
}

/* The value pattern pt names for element e: 1 with its bytes in *v, *vlen
 * (valid until the next keyspace call; integers formatted into buf), or 0
 * when the key or field is missing or of another type. *keybuf is a
 * scratch str reused between calls. */
static int sort_pattern_value(client *c, const struct sort_pattern *pt, const char *e, size_t elen,
                              str *keybuf, const char **v, size_t *vlen, char *buf)
{
    if (pt->self) {
        *v = e;
        *vlen = elen;
        return 1;
    }
    if (pt->star < 0)
        return 0;
    size_t pre = (size_t)pt->star;
    str k = str_grow(*keybuf, pre + elen + pt->postfix);
    *keybuf = k;
    memcpy(k, pt->p, pre);
    memcpy(k + pre, e, elen);
    memcpy(k + pre + elen, pt->p + pre + 1, pt->postfix);
    obj *o = db_lookup(c->db, k, LOOKUP_NONE, c->known);
    if (!o)
        return 0;
    if (pt->flen) {
        if (o->type != OBJ_HASH)
            return 0;
        *v = hash_get(o, pt->field, pt->flen, vlen, buf);
        return *v != NULL;
    }
    if (o->type != OBJ_STRING)
        return 0;
    *v = obj_string_bytes(o, buf, vlen);
    return 1;
}

/* ---- the elements -------------------------------------------------------- */

/* One element; its bytes and its ALPHA BY value live in the vector's pool
 * (offsets: the pool moves while it grows). */
struct sort_elem {
    size_t off, len;
    double score;      /* numeric sort: the weight */
    size_t coff, clen; /* ALPHA with BY: the weight */
    int has_cmp;
};

struct sort_vec {
    struct sort_elem *v;
    size_t n, cap;
    char *pool;
    size_t plen, pcap;
};

static size_t sort_pool_add(struct sort_vec *s, const char *p, size_t len)
{
    if (!s->pool || s->pcap - s->plen < len) {
        size_t need = s->plen + len;
        s->pcap = s->pcap ? s->pcap : 256;
        while (s->pcap < need)
            s->pcap *= 2;
        s->pool = heap_realloc(s->pool, s->pcap);
    }
    size_t off = s->plen;
    if (len)
        memcpy(s->pool + off, p, len);
    s->plen += len;
    return off;
}

static void sort_vec_add(struct sort_vec *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = heap_realloc(s->v, s->cap * sizeof(*s->v));
    }
    struct sort_elem *e = &s->v[s->n++];
    memset(e, 0, sizeof(*e));
    e->off = sort_pool_add(s, p, len);
    e->len = len;
}

static void sort_vec_free(struct sort_vec *s)
{
    free(s->v);
    free(s->pool);
}

/* ---- reading the source (the collection types' iterators) ---------------- */

static size_t sort_source_len(obj *o)
{
    switch (o->type) {
    case OBJ_LIST:
        return list_len(o);
    case OBJ_SET:
        return set_len(o);
    default:
        return zset_len(o);
    }
}

/* Every element in the type's own order (a set's is its encoding's). */
static void sort_load_all(struct sort_vec *s, obj *o)
{
    const char *m;
    size_t len;
    if (o->type == OBJ_LIST) {
        struct list_iter it;
        list_iter_init(&it, o, 0, LIST_TAIL);
        while (list_iter_next(&it, &m, &len))
            sort_vec_add(s, m, len);
    } else if (o->type == OBJ_SET) {
        struct set_iter it;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &m, &len))
            sort_vec_add(s, m, len);
        set_iter_done(&it);
    } else {
        struct zset_iter it;
        double score;
        zset_iter_init(&it, o, 0);
        while (zset_iter_next(&it, &m, &len, &score))
            sort_vec_add(s, m, len);
    }
}

/* Reads up to take elements of a list or sorted set, from position start
 * of its order (reversed with desc). */
static void sort_load_range(struct sort_vec *s, obj *o, long long start, long long take, int desc)
{
    const char *m;
    size_t len;
    if (o->type == OBJ_LIST) {
        struct list_iter it;
        long idx = desc ? (long)list_len(o) - (long)start - 1 : (long)start;
        list_iter_init(&it, o, idx, desc ? LIST_HEAD : LIST_TAIL);
        while (take-- > 0 && list_iter_next(&it, &m, &len))
            sort_vec_add(s, m, len);
    } else {
        struct zset_iter it;
        double score;
        zset_iter_init_rank(&it, o, (unsigned long)start, desc);
        while (take-- > 0 && zset_iter_next(&it, &m, &len, &score))
            sort_vec_add(s, m, len);
    }
}

/* ---- comparing and sorting ----------------------------------------------- */

struct sort_ctx {
    const char *pool;
    int alpha, desc, by, store;
};

/* Binary order: memcmp, then the shorter first. */
static int sort_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int cmp = memcmp(a, b, alen < blen ? alen : blen);
    if (cmp)
        return cmp;
    return alen < blen ? -1 : alen > blen;
}

/* strcoll() in the C/C.UTF-8 locale: unsigned bytes up to the first NUL
 * (the end of a string counts as a NUL). */
static int sort_coll_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0;
    for (;; i++) {
        unsigned char ca = i < alen ? (unsigned char)a[i] : 0;
        unsigned char cb = i < blen ? (unsigned char)b[i] : 0;
        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (ca == 0)
            return 0;
    }
}

static int sort_cmp(const struct sort_ctx *x, const struct sort_elem *a, const struct sort_elem *b)
{
    const char *pa = x->pool + a->off, *pb = x->pool + b->off;
    int cmp;
    if (!x->alpha) {
        if (a->score > b->score)
            cmp = 1;
        else if (a->score < b->score)
            cmp = -1;
        else
            cmp = sort_bytes_cmp(pa, a->len, pb, b->len);
    } else if (x->by) {
        if (!a->has_cmp || !b->has_cmp)
            cmp = a->has_cmp == b->has_cmp ? 0 : a->has_cmp ? 1 : -1;
        else if (x->store)
            cmp = sort_bytes_cmp(x->pool + a->coff, a->clen, x->pool + b->coff, b->clen);
        else
            cmp = sort_coll_cmp(x->pool + a->coff, a->clen, x->pool + b->coff, b->clen);
    } else if (x->store) {
        cmp = sort_bytes_cmp(pa, a->len, pb, b->len);
    } else {
        cmp = sort_coll_cmp(pa, a->len, pb, b->len);
    }
    return x->desc ? -cmp : cmp;
}

/* Stable merge sort of v[0..n) using tmp (n elements). */
static void sort_merge(struct sort_elem *v, struct sort_elem *tmp, size_t n,
                       const struct sort_ctx *x)
{
    if (n < 12) {
        for (size_t i = 1; i < n; i++) {
            struct sort_elem e = v[i];
            size_t j = i;
            while (j > 0 && sort_cmp(x, &v[j - 1], &e) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = e;
        }
        return;
    }
    size_t h = n / 2;
    sort_merge(v, tmp, h, x);
    sort_merge(v + h, tmp, n - h, x);
    if (sort_cmp(x, &v[h - 1], &v[h]) <= 0)
        return; /* already in order */
    memcpy(tmp, v, h * sizeof(*v));
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        v[k++] = sort_cmp(x, &v[j], &tmp[i]) < 0 ? v[j++] : tmp[i++];
    while (i < h)
        v[k++] = tmp[i++];
}

/* ---- the command --------------------------------------------------------- */

struct sort_opts {
    int dontsort, desc, alpha;
    long long limit_start, limit_count;
    str store; /* NULL: reply */
    int *gets; /* argv indexes of the GET patterns */
    int ngets;
};

/* Parses argv[2..] (*by: the last BY pattern, NULL when none): 0, or -1
 * after replying the error. */
static int sort_parse_or_reply(client *c, int readonly, struct sort_opts *o, str *by)
{
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const str a = c->argv[j];
        if (str_eqi(a, "asc")) {
            o->desc = 0;
        } else if (str_eqi(a, "desc")) {
            o->desc = 1;
        } else if (str_eqi(a, "alpha")) {
            o->alpha = 1;
        } else if (str_eqi(a, "limit") && left >= 2) {
            if (!util_str2ll(c->argv[j + 1], str_len(c->argv[j + 1]), &o->limit_start) ||
                !util_str2ll(c->argv[j + 2], str_len(c->argv[j + 2]), &o->limit_count)) {
                reply_error_not_int(c);
                return -1;
            }
            j += 2;
        } else if (str_eqi(a, "store") && left >= 1 && !readonly) {
            o->store = c->argv[++j];
        } else if (str_eqi(a, "by") && left >= 1) {
            *by = c->argv[++j];
            /* A pattern without '*' (up to a NUL, as Redis reads it) names
             * no per-element key: nothing to sort by. */
            if (!memchr(*by, '*', strnlen(*by, str_len(*by))))
                o->dontsort = 1;
        } else if (str_eqi(a, "get") && left >= 1) {
            o->gets[o->ngets++] = ++j;
        } else {
            reply_error_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Reads the weights of the elements (BY pattern, or the elements). Returns
 * -1 when a numeric weight is not a double (every lookup is still made, as
 * in Redis). */
static int sort_weights(client *c, struct sort_vec *s, const str by, int alpha)
{
    struct sort_pattern pt;
    if (by) {
        sort_pattern_init(&pt, by);
        assert(!pt.self && pt.star >= 0);
    }
    str keybuf = str_new(NULL, 0);
    char buf[SORT_BUF];
    int bad = 0;
    for (size_t j = 0; j < s->n; j++) {
        const char *v;
        size_t vlen;
        if (by) {
            struct sort_elem *e = &s->v[j];
            if (!sort_pattern_value(c, &pt, s->pool + e->off, e->len, &keybuf, &v, &vlen, buf))
                continue;
        } else {
            v = s->pool + s->v[j].off;
            vlen = s->v[j].len;
        }
        if (alpha) {
            if (by) {
                /* v is not in the pool: a BY pattern is never "#" (it has
                 * no '*', so it means nosort and no weights are read) */
                s->v[j].coff = sort_pool_add(s, v, vlen);
                s->v[j].clen = vlen;
                s->v[j].has_cmp = 1;
            }
            continue;
        }
        char small[64];
        char *z = vlen < sizeof(small) ? small : heap_malloc(vlen + 1);
        memcpy(z, v, vlen);
        z[vlen] = '\0';
        char *eptr;
        errno = 0;
        double d = strtod(z, &eptr);
        if (*eptr != '\0' || errno == ERANGE || isnan(d))
            bad = 1;
        s->v[j].score = d;
        if (z != small)
            free(z);
    }
    str_free(keybuf);
    return bad ? -1 : 0;
}

static void sort_reply(client *c, struct sort_vec *s, long long start, long long end,
                       struct sort_pattern *gets, int ngets)
{
    long long count = end - start + 1;
    if (count < 0)
        count = 0;
    uint64_t mark = reply_mark(c);
    reply_array(c, count * (ngets ? ngets : 1));
    str keybuf = str_new(NULL, 0);
    char buf[SORT_BUF];
    for (long long j = start; j <= end; j++) {
        const struct sort_elem *e = &s->v[j];
        const char *ep = s->pool + e->off;
        if (!ngets)
            reply_bulk(c, ep, e->len);
        for (int g = 0; g < ngets; g++) {
            const char *v;
            size_t vlen;
            if (sort_pattern_value(c, &gets[g], ep, e->len, &keybuf, &v, &vlen, buf))
                reply_bulk(c, v, vlen);
            else
                reply_null(c);
        }
    }
    str_free(keybuf);
    if (known_failed(c->known)) {
        /* a GET key could not be read: not an answer */
        reply_rollback(c, mark);
        read_ok_or_reply(c);
    }
}

static void sort_store(client *c, const str dst, struct sort_vec *s, long long start, long long end,
                       struct sort_pattern *gets, int ngets)
{
    long long count = end - start + 1;
    if (count < 0)
        count = 0;
    long long outlen = count * (ngets ? ngets : 1);
    if (outlen == 0) {
        if (delete_or_reply(c, c->db, dst) >= 0)
            reply_long(c, 0);
        return;
    }
    obj *list = obj_list_new();
    str keybuf = str_new(NULL, 0);
    char buf[SORT_BUF];
    for (long long j = start; j <= end; j++) {
        const struct sort_elem *e = &s->v[j];
        const char *ep = s->pool + e->off;
        if (!ngets)
            list_push(list, ep, e->len, LIST_TAIL);
        for (int g = 0; g < ngets; g++) {
            const char *v;
            size_t vlen;
            if (!sort_pattern_value(c, &gets[g], ep, e->len, &keybuf, &v, &vlen, buf)) {
                v = "";
                vlen = 0;
            }
            list_push(list, v, vlen, LIST_TAIL);
        }
    }
    str_free(keybuf);
    if (known_failed(c->known)) { /* a GET key could not be read: nothing stored */
        obj_free(list);
        read_ok_or_reply(c);
        return;
    }
    if (set_or_reply(c, c->db, dst, list, 0) == 0)
        reply_long(c, outlen);
}

static void sort_generic(client *c, int readonly)
{
    struct sort_opts o;
    memset(&o, 0, sizeof(o));
    o.limit_count = -1;
    o.gets = heap_malloc((size_t)c->argc * sizeof(int));
    str by = NULL;
    struct sort_pattern *gets = NULL;
    struct sort_vec s;
    memset(&s, 0, sizeof(s));
    if (sort_parse_or_reply(c, readonly, &o, &by) < 0)
        goto done;

    obj *src = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    if (!src && read_ok_or_reply(c) < 0)
        goto done;
    if (src && src->type != OBJ_LIST && src->type != OBJ_SET && src->type != OBJ_ZSET) {
        reply_error_wrongtype(c);
        goto done;
    }
    /* A set has no order of its own worth storing. */
    if (src && o.dontsort && src->type == OBJ_SET && o.store) {
        o.dontsort = 0;
        o.alpha = 1;
        by = NULL;
    }
    if (src && src->type == OBJ_ZSET && src->encoding != OBJ_ENC_SKIPLIST) {
        zset_convert(src, OBJ_ENC_SKIPLIST);
        /* stored, but not a change of the value: Redis does not count it
         * (a SORT that replies propagates nothing) */
        db_modified(c->db, c->argv[1]);
        ks_stats.changes--;
    }

    long long n = src ? (long long)sort_source_len(src) : 0;
    long long start = o.limit_start < 0 ? 0 : o.limit_start;
    long long end;
    if (o.limit_count < 0)
        end = n - 1;
    else if (o.limit_count - 1 > LLONG_MAX - start)
        end = LLONG_MAX;
    else
        end = start + (o.limit_count - 1);
    if (start >= n) {
        start = n - 1;
        end = n - 2;
    }
    if (end >= n)
        end = n - 1;

    if (src && o.dontsort && src->type != OBJ_SET) {
        /* the type's own order: LIMIT is a range of it */
        sort_load_range(&s, src, start, end - start + 1, o.desc);
        end -= start;
        start = 0;
    } else if (src) {
        sort_load_all(&s, src);
    }
    src = NULL; /* lookups below may load other keys */

    int bad = 0;
    if (!o.dontsort) {
        bad = sort_weights(c, &s, by, o.alpha) < 0;
        if (!bad && s.n > 1) {
            struct sort_ctx x = {s.pool, o.alpha, o.desc, by != NULL, o.store != NULL};
            struct sort_elem *tmp = heap_malloc((s.n / 2 + 1) * sizeof(*tmp));
            sort_merge(s.v, tmp, s.n, &x);
            free(tmp);
        }
    }
    if (read_ok_or_reply(c) < 0) /* a BY key could not be read */
        goto done;
    if (bad) {
        reply_error(c, "ERR One or more scores can't be converted into double");
        goto done;
    }
    gets = heap_malloc((size_t)(o.ngets ? o.ngets : 1) * sizeof(*gets));
    for (int g = 0; g < o.ngets; g++)
        sort_pattern_init(&gets[g], c->argv[o.gets[g]]);
    if (o.store)
        sort_store(c, o.store, &s, start, end, gets, o.ngets);
    else
        sort_reply(c, &s, start, end, gets, o.ngets);
done:
    free(gets);
    free(o.gets);
    sort_vec_free(&s);
}

void cmd_sort(client *c)
{
    sort_generic(c, 0);
}

void cmd_sort_ro(client *c)
{
    sort_generic(c, 1);
}
