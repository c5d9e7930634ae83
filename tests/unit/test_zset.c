/*
 * test_zset.c: unit tests of src/keyspace/object_zset.c.
 *
 * A randomized test runs long sequences of adds, updates, deletes and range
 * deletes on a sorted set in each encoding (and across conversions) against
 * a plain sorted array, comparing scores, ranks, iteration by rank, score
 * and lex ranges in both directions, counts and the stored blob after every
 * step. Hand-written cases cover ZADD's flags, -0 in a listpack, and blobs
 * that must be refused (odd entry count, a repeated member, out of order,
 * an unparsable or NaN score). Every test ends with hot_used() back where
 * it began.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "keyspace/object.h"
#include "keyspace/settings.h"
#include "unit.h"

static uint64_t test_rng = 0x2545f4914f6cdd1dULL;
static uint64_t trand(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

static unsigned trand_below(unsigned n)
{
    return (unsigned)(trand() % n);
}

/* ---- the model: a sorted array of (score, member) ------------------------ */

#define MAXM 400
struct elem {
    double score;
    char m[16];
};
static struct elem model[MAXM];
static int nmodel;

static int elem_cmp(const void *a, const void *b)
{
    const struct elem *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->m, y->m);
}

static int model_find(const char *m)
{
    for (int i = 0; i < nmodel; i++)
        if (strcmp(model[i].m, m) == 0)
            return i;
    return -1;
}

static void model_set(const char *m, double score)
{
    int i = model_find(m);
    if (i < 0) {
        i = nmodel++;
        snprintf(model[i].m, sizeof(model[i].m), "%s", m);
    }
    model[i].score = score;
    qsort(model, (size_t)nmodel, sizeof(model[0]), elem_cmp);
}

static void model_del_at(int i)
{
    memmove(&model[i], &model[i + 1], (size_t)(nmodel - i - 1) * sizeof(model[0]));
    nmodel--;
}

static int in_range(double v, const skiplist_range *r)
{
    return (r->minex ? v > r->min : v >= r->min) && (r->maxex ? v < r->max : v <= r->max);
}

/* ---- comparing a set with the model -------------------------------------- */

static int same_elem(const char *m, size_t len, double score, const struct elem *e)
{
    return len == strlen(e->m) && memcmp(m, e->m, len) == 0 && score == e->score;
}

static void check_all(obj *o)
{
    CHECK_EQ_INT(zset_len(o), nmodel);
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    int i = 0;
    zset_iter_init(&it, o, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        CHECK(i < nmodel && same_elem(m, len, score, &model[i]));
        i++;
    }
    CHECK_EQ_INT(i, nmodel);
    zset_iter_init(&it, o, 1);
    while (zset_iter_next(&it, &m, &len, &score)) {
        i--;
        CHECK(i >= 0 && same_elem(m, len, score, &model[i]));
    }
    CHECK_EQ_INT(i, 0);
    for (int k = 0; k < nmodel; k += 1 + nmodel / 20) {
        double s;
        CHECK(zset_score(o, model[k].m, strlen(model[k].m), &s) && s == model[k].score);
        CHECK_EQ_INT(zset_rank(o, model[k].m, strlen(model[k].m), 0, NULL), k);
        CHECK_EQ_INT(zset_rank(o, model[k].m, strlen(model[k].m), 1, NULL), nmodel - 1 - k);
        char buf[OBJ_ZSET_BUF];
        CHECK(zset_at(o, (unsigned long)k, &m, &len, &score, buf) &&
              same_elem(m, len, score, &model[k]));
        zset_iter_init_rank(&it, o, (unsigned long)k, 0);
        CHECK(zset_iter_next(&it, &m, &len, &score) && same_elem(m, len, score, &model[k]));
        zset_iter_init_rank(&it, o, (unsigned long)k, 1);
        CHECK(zset_iter_next(&it, &m, &len, &score) &&
              same_elem(m, len, score, &model[nmodel - 1 - k]));
    }
    CHECK(zset_rank(o, "nosuch", 6, 0, NULL) == -1);
}

static void check_range(obj *o, const skiplist_range *r)
{
    int first = -1, last = -1;
    for (int i = 0; i < nmodel; i++) {
        if (in_range(model[i].score, r)) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    unsigned long want = first < 0 ? 0 : (unsigned long)(last - first + 1);
    CHECK_EQ_INT(zset_count_in_range(o, r), want);
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    int i = first;
    zset_iter_init_score(&it, o, r, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        CHECK(i >= 0 && i <= last && same_elem(m, len, score, &model[i]));
        i++;
    }
    CHECK(first < 0 || i == last + 1);
    i = last;
    zset_iter_init_score(&it, o, r, 1);
    while (zset_iter_next(&it, &m, &len, &score)) {
        CHECK(i >= first && i >= 0 && same_elem(m, len, score, &model[i]));
        i--;
    }
    CHECK(first < 0 || i == first - 1);
}

/* The blob rebuilds the same set, in either encoding. */
static void check_blob(obj *o)
{
    size_t len;
    int must_free;
    const unsigned char *b = zset_blob(o, &len, &must_free);
    CHECK(b != NULL);
    obj *a = zset_from_blob(b, len, o->encoding);
    obj *s = zset_from_blob(b, len, OBJ_ENC_SKIPLIST);
    CHECK(a && s && a->encoding == o->encoding && s->encoding == OBJ_ENC_SKIPLIST);
    if (a)
        check_all(a);
    if (s)
        check_all(s);
    obj_free(a);
    obj_free(s);
    if (must_free)
        hot_free((void *)b);
}

static skiplist_range random_range(void)
{
    skiplist_range r;
    r.min = (double)trand_below(60) - 10;
    r.max = r.min + (double)trand_below(40) - 5;
    r.minex = trand_below(2);
    r.maxex = trand_below(2);
    if (trand_below(10) == 0)
        r.min = -INFINITY;
    if (trand_below(10) == 0)
        r.max = INFINITY;
    return r;
}

static void random_ops(int start_encoding, int steps)
{
    size_t before = hot_used();
    obj *o = obj_zset_new(start_encoding);
    nmodel = 0;
    for (int step = 0; step < steps; step++) {
        unsigned op = trand_below(100);
        char m[16];
        snprintf(m, sizeof(m), "m%u", trand_below(300));
        if (op < 55) {
            /* scores in halves, with ties, some infinite */
            double score = (double)((int)trand_below(100) - 20) / 2;
            if (trand_below(50) == 0)
                score = trand_below(2) ? INFINITY : -INFINITY;
            int out;
            double ns;
            int had = model_find(m) >= 0;
            CHECK(zset_add(o, score, m, strlen(m), 0, &out, &ns) == 0);
            CHECK(had ? !(out & ZSET_OUT_ADDED) : out == ZSET_OUT_ADDED);
            model_set(m, score);
        } else if (op < 75) {
            int i = model_find(m);
            CHECK_EQ_INT(zset_delete(o, m, strlen(m)), i >= 0);
            if (i >= 0)
                model_del_at(i);
        } else if (op < 80) {
            skiplist_range r = random_range();
            unsigned long n = 0;
            for (int i = nmodel - 1; i >= 0; i--)
                if (in_range(model[i].score, &r)) {
                    model_del_at(i);
                    n++;
                }
            CHECK_EQ_INT(zset_delete_range_by_score(o, &r), n);
        } else if (op < 83 && nmodel > 0) {
            unsigned long a = trand_below((unsigned)nmodel);
            unsigned long b = a + trand_below((unsigned)(nmodel - a));
            CHECK_EQ_INT(zset_delete_range_by_rank(o, a, b), b - a + 1);
            for (unsigned long k = a; k <= b; k++)
                model_del_at((int)a);
        } else if (op < 88) {
            zset_convert(o, o->encoding == OBJ_ENC_LISTPACK ? OBJ_ENC_SKIPLIST : OBJ_ENC_LISTPACK);
        } else {
            skiplist_range r = random_range();
            check_range(o, &r);
        }
        if (step % 50 == 0) {
            check_all(o);
            check_blob(o);
        }
    }
    check_all(o);
    obj *d = zset_dup(o);
    CHECK(d->encoding == o->encoding);
    check_all(d);
    obj_free(d);
    obj_free(o);
    CHECK_EQ_INT(hot_used(), before);
}

TEST(random_listpack)
{
    /* no limit: the set stays a listpack unless converted on purpose */
    keyspace_settings.zset_max_listpack_entries = 1000000;
    keyspace_settings.zset_max_listpack_value = 64;
    random_ops(OBJ_ENC_LISTPACK, 4000);
}

TEST(random_skiplist)
{
    keyspace_settings.zset_max_listpack_entries = 1000000;
    keyspace_settings.zset_max_listpack_value = 64;
    random_ops(OBJ_ENC_SKIPLIST, 4000);
}

TEST(random_converting)
{
    /* small limits: adds convert to SKIPLIST along the way */
    keyspace_settings.zset_max_listpack_entries = 16;
    keyspace_settings.zset_max_listpack_value = 64;
    random_ops(OBJ_ENC_LISTPACK, 4000);
}

TEST(add_flags)
{
    keyspace_settings.zset_max_listpack_entries = 128;
    keyspace_settings.zset_max_listpack_value = 64;
    size_t before = hot_used();
    for (int enc = 0; enc < 2; enc++) {
        obj *o = obj_zset_new(enc ? OBJ_ENC_SKIPLIST : OBJ_ENC_LISTPACK);
        int out;
        double ns = 0;
        CHECK(zset_add(o, 5, "a", 1, 0, &out, &ns) == 0 && out == ZSET_OUT_ADDED && ns == 5);
        CHECK(zset_add(o, 1, "b", 1, ZSET_IN_XX, &out, NULL) == 0 && out == ZSET_OUT_NOP);
        CHECK(zset_add(o, 1, "a", 1, ZSET_IN_NX, &out, NULL) == 0 && out == ZSET_OUT_NOP);
        CHECK(zset_add(o, 4, "a", 1, ZSET_IN_GT, &out, NULL) == 0 && out == ZSET_OUT_NOP);
        CHECK(zset_add(o, 6, "a", 1, ZSET_IN_GT, &out, &ns) == 0 && out == ZSET_OUT_UPDATED);
        CHECK(zset_add(o, 7, "a", 1, ZSET_IN_LT, &out, NULL) == 0 && out == ZSET_OUT_NOP);
        CHECK(zset_add(o, 6, "a", 1, 0, &out, &ns) == 0 && out == 0 && ns == 6);
        CHECK(zset_add(o, 1.5, "a", 1, ZSET_IN_INCR, &out, &ns) == 0 && ns == 7.5);
        CHECK(zset_add(o, NAN, "c", 1, 0, &out, NULL) < 0);
        CHECK(zset_add(o, INFINITY, "a", 1, 0, &out, NULL) == 0);
        CHECK(zset_add(o, -INFINITY, "a", 1, ZSET_IN_INCR, &out, NULL) < 0);
        double s;
        CHECK(zset_score(o, "a", 1, &s) && s == INFINITY);
        CHECK(!zset_score(o, "c", 1, &s));
        /* -0: a listpack writes it as 0, a skiplist keeps the sign */
        CHECK(zset_add(o, -0.0, "z", 1, 0, &out, NULL) == 0);
        CHECK(zset_score(o, "z", 1, &s) && s == 0 && signbit(s) == (enc == 1));
        obj_free(o);
    }
    CHECK_EQ_INT(hot_used(), before);
}

TEST(conversion_limits)
{
    keyspace_settings.zset_max_listpack_entries = 3;
    keyspace_settings.zset_max_listpack_value = 4;
    size_t before = hot_used();
    obj *o = obj_zset_new_for(4);
    CHECK(o->encoding == OBJ_ENC_LISTPACK);
    int out;
    zset_add(o, 1, "a", 1, 0, &out, NULL);
    zset_add(o, 2, "b", 1, 0, &out, NULL);
    zset_add(o, 3, "c", 1, 0, &out, NULL);
    CHECK(o->encoding == OBJ_ENC_LISTPACK);
    zset_add(o, 4, "d", 1, 0, &out, NULL);
    CHECK(o->encoding == OBJ_ENC_SKIPLIST);
    zset_delete(o, "d", 1);
    zset_shrink_if_fits(o, 1);
    CHECK(o->encoding == OBJ_ENC_LISTPACK);
    zset_add(o, 9, "long1", 5, ZSET_IN_XX, &out, NULL);
    CHECK(o->encoding == OBJ_ENC_LISTPACK);
    zset_add(o, 0, "b", 1, 0, &out, NULL);
    CHECK(o->encoding == OBJ_ENC_LISTPACK);
    obj_free(o);
    o = obj_zset_new_for(5);
    CHECK(o->encoding == OBJ_ENC_SKIPLIST);
    obj_free(o);
    keyspace_settings.zset_max_listpack_entries = 0;
    o = obj_zset_new_for(1);
    CHECK(o->encoding == OBJ_ENC_SKIPLIST);
    obj_free(o);
    CHECK_EQ_INT(hot_used(), before);
}

/* A listpack of the given strings, as a blob. */
static unsigned char *lp_of(int n, const char **v)
{
    unsigned char *lp = lp_new();
    for (int i = 0; i < n; i++)
        lp = lp_append(lp, v[i], strlen(v[i]));
    return lp;
}

static int blob_ok(int n, const char **v, int encoding)
{
    unsigned char *lp = lp_of(n, v);
    obj *o = zset_from_blob(lp, lp_bytes(lp), encoding);
    int ok = o != NULL;
    obj_free(o);
    lp_free(lp);
    return ok;
}

TEST(blob_validation)
{
    size_t before = hot_used();
    const char *good[] = {"a", "1", "b", "1.5", "c", "inf"};
    CHECK(blob_ok(6, good, OBJ_ENC_LISTPACK));
    CHECK(blob_ok(6, good, OBJ_ENC_SKIPLIST));
    CHECK(!blob_ok(6, good, OBJ_ENC_HT));
    CHECK(blob_ok(0, good, OBJ_ENC_LISTPACK));
    CHECK(!blob_ok(5, good, OBJ_ENC_LISTPACK));
    CHECK(!blob_ok(5, good, OBJ_ENC_SKIPLIST));
    const char *dup[] = {"a", "1", "a", "2"};
    CHECK(!blob_ok(4, dup, OBJ_ENC_LISTPACK));
    CHECK(!blob_ok(4, dup, OBJ_ENC_SKIPLIST));
    const char *unordered[] = {"a", "2", "b", "1"};
    CHECK(!blob_ok(4, unordered, OBJ_ENC_LISTPACK));
    CHECK(blob_ok(4, unordered, OBJ_ENC_SKIPLIST));
    const char *tie[] = {"b", "1", "a", "1"};
    CHECK(!blob_ok(4, tie, OBJ_ENC_LISTPACK));
    const char *badscore[] = {"a", "x"};
    CHECK(!blob_ok(2, badscore, OBJ_ENC_LISTPACK));
    CHECK(!blob_ok(2, badscore, OBJ_ENC_SKIPLIST));
    const char *nan[] = {"a", "nan"};
    CHECK(!blob_ok(2, nan, OBJ_ENC_LISTPACK));
    const char *space[] = {"a", " 1"};
    CHECK(!blob_ok(2, space, OBJ_ENC_SKIPLIST));
    const char *intmembers[] = {"-5", "1", "7", "1", "10", "2"};
    CHECK(blob_ok(6, intmembers, OBJ_ENC_LISTPACK));
    /* truncated and garbage bytes */
    unsigned char *lp = lp_of(6, good);
    CHECK(zset_from_blob(lp, lp_bytes(lp) - 1, OBJ_ENC_LISTPACK) == NULL);
    CHECK(zset_from_blob("garbage", 7, OBJ_ENC_SKIPLIST) == NULL);
    lp_free(lp);
    CHECK_EQ_INT(hot_used(), before);
}

TEST(lex_ranges)
{
    keyspace_settings.zset_max_listpack_entries = 128;
    keyspace_settings.zset_max_listpack_value = 64;
    size_t before = hot_used();
    for (int enc = 0; enc < 2; enc++) {
        obj *o = obj_zset_new(enc ? OBJ_ENC_SKIPLIST : OBJ_ENC_LISTPACK);
        const char *ms[] = {"", "a", "b", "c", "d", "e"};
        int out;
        for (int i = 0; i < 6; i++)
            zset_add(o, 0, ms[i], strlen(ms[i]), 0, &out, NULL);
        skiplist_lex_range r;
        CHECK(skiplist_lex_bound_parse("[b", 2, &r.min) == 0);
        CHECK(skiplist_lex_bound_parse("(e", 2, &r.max) == 0);
        CHECK_EQ_INT(zset_count_in_lex_range(o, &r), 3);
        struct zset_iter it;
        const char *m;
        size_t len;
        double score;
        zset_iter_init_lex(&it, o, &r, 1);
        CHECK(zset_iter_next(&it, &m, &len, &score) && len == 1 && m[0] == 'd');
        CHECK(zset_iter_skip(&it, 10) == 2);
        CHECK(skiplist_lex_bound_parse("-", 1, &r.min) == 0);
        CHECK(skiplist_lex_bound_parse("+", 1, &r.max) == 0);
        CHECK_EQ_INT(zset_count_in_lex_range(o, &r), 6);
        CHECK(skiplist_lex_bound_parse("+", 1, &r.min) == 0);
        CHECK_EQ_INT(zset_count_in_lex_range(o, &r), 0);
        CHECK(skiplist_lex_bound_parse("(", 1, &r.min) == 0);
        CHECK(skiplist_lex_bound_parse("[c", 2, &r.max) == 0);
        CHECK_EQ_INT(zset_delete_range_by_lex(o, &r), 3);
        CHECK_EQ_INT(zset_len(o), 3);
        obj_free(o);
    }
    CHECK_EQ_INT(hot_used(), before);
}

int main(void)
{
    RUN(random_listpack);
    RUN(random_skiplist);
    RUN(random_converting);
    RUN(add_flags);
    RUN(conversion_limits);
    RUN(blob_validation);
    RUN(lex_ranges);
    return unit_report("test_zset");
}
