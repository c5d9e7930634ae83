/*
 * test_quicklist.c: unit tests of the list values of
 * src/keyspace/object_list.c (the quicklist).
 *
 * A randomized run against a plain array of strings (the reference model)
 * under every kind of list-max-listpack-size (byte bounds, element
 * counts, one element per node) and packed threshold (so plain nodes mix
 * with packed ones): pushes, index reads, LSET, inserts and deletes
 * through iterators in both directions, range deletes; the whole list is
 * compared after each step, forwards and backwards, and through its
 * stored form and a copy. Then the stored form's validation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "keyspace/object.h"
#include "keyspace/settings.h"
#include "unit.h"

static uint64_t test_rng = 0x2545F4914F6CDD1DULL;
static uint64_t trand(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

/* ---- the reference model: an array of byte strings ---------------------- */

struct elem {
    char *p;
    size_t len;
};

struct model {
    struct elem *v;
    size_t n, cap;
};

static void model_insert(struct model *m, size_t at, const char *s, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof(*m->v));
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof(*m->v));
    m->v[at].p = malloc(len ? len : 1);
    memcpy(m->v[at].p, s, len);
    m->v[at].len = len;
    m->n++;
}

static void model_delete(struct model *m, size_t at, size_t k)
{
    if (at >= m->n)
        return;
    if (k > m->n - at)
        k = m->n - at;
    for (size_t i = at; i < at + k; i++)
        free(m->v[i].p);
    memmove(m->v + at, m->v + at + k, (m->n - at - k) * sizeof(*m->v));
    m->n -= k;
}

static void model_clear(struct model *m)
{
    model_delete(m, 0, m->n);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* A random value: integers (stored as listpack integers), short strings,
 * and now and then a long one (a plain node under a low threshold). */
static size_t random_value(char *buf)
{
    switch (trand() % 6) {
    case 0:
        return (size_t)snprintf(buf, 32, "%lld", (long long)(trand() % 100000) - 50000);
    case 1:
        return (size_t)snprintf(buf, 32, "%lld", (long long)trand());
    case 2: {
        size_t len = trand() % 3000;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)('a' + trand() % 26);
        return len;
    }
    default: {
        size_t len = trand() % 20;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)('a' + trand() % 4);
        return len;
    }
    }
}

static int same_forward(obj *o, const struct model *m)
{
    if (list_len(o) != m->n)
        return 0;
    struct list_iter it;
    const char *s;
    size_t len, i = 0;
    list_iter_init(&it, o, 0, LIST_TAIL);
    while (list_iter_next(&it, &s, &len)) {
        if (i >= m->n || len != m->v[i].len || memcmp(s, m->v[i].p, len) != 0)
            return 0;
        i++;
    }
    return i == m->n;
}

static int same_backward(obj *o, const struct model *m)
{
    struct list_iter it;
    const char *s;
    size_t len, i = m->n;
    list_iter_init(&it, o, -1, LIST_HEAD);
    while (list_iter_next(&it, &s, &len)) {
        if (i == 0 || len != m->v[i - 1].len || memcmp(s, m->v[i - 1].p, len) != 0)
            return 0;
        i--;
    }
    return i == 0;
}

static int same_stored(obj *o, const struct model *m)
{
    size_t len;
    int must_free;
    const unsigned char *blob = list_blob(o, &len, &must_free);
    if (!blob)
        return 0;
    obj *back = list_from_blob(blob, len, OBJ_ENC_QUICKLIST);
    if (must_free)
        hot_free((void *)blob);
    if (!back)
        return m->n == 0;
    int ok = same_forward(back, m) && same_backward(back, m);
    obj_free(back);
    obj *copy = obj_dup(o);
    ok = ok && same_forward(copy, m);
    obj_free(copy);
    return ok;
}

/* ---- tests ---------------------------------------------------------------- */

TEST(push_pop_index)
{
    keyspace_settings.list_max_listpack_size = -2;
    obj *o = obj_list_new();
    CHECK_EQ_STR(obj_encoding_name(o), "quicklist");
    char buf[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(buf, sizeof(buf), "%d", i);
        list_push(o, buf, (size_t)n, LIST_TAIL);
    }
    list_push(o, "head", 4, LIST_HEAD);
    CHECK_EQ_INT(list_len(o), 10001);
    const char *s;
    size_t len;
    char ib[OBJ_LIST_BUF];
    CHECK(list_index(o, 0, &s, &len, ib) && len == 4 && !memcmp(s, "head", 4));
    CHECK(list_index(o, -1, &s, &len, ib) && len == 4 && !memcmp(s, "9999", 4));
    CHECK(list_index(o, 5001, &s, &len, ib) && len == 4 && !memcmp(s, "5000", 4));
    CHECK(list_index(o, -10001, &s, &len, ib) && len == 4 && !memcmp(s, "head", 4));
    CHECK(!list_index(o, 10001, &s, &len, ib));
    CHECK(!list_index(o, -10002, &s, &len, ib));
    list_delete_range(o, 0, 2);
    CHECK(list_index(o, 0, &s, &len, ib) && len == 1 && !memcmp(s, "1", 1));
    list_delete_range(o, -3, 100);
    CHECK(list_index(o, -1, &s, &len, ib) && len == 4 && !memcmp(s, "9996", 4));
    CHECK_EQ_INT(list_len(o), 9996);
    list_delete_range(o, 0, 9996);
    CHECK_EQ_INT(list_len(o), 0);
    obj_free(o);
}

TEST(plain_nodes)
{
    keyspace_settings.list_max_listpack_size = -2;
    CHECK(list_set_packed_threshold(10));
    obj *o = obj_list_new();
    list_push(o, "aa", 2, LIST_TAIL);
    list_push(o, "xxxxxxxxxxxx", 12, LIST_TAIL); /* plain */
    list_push(o, "bb", 2, LIST_TAIL);
    CHECK(list_set(o, 0, "yyyyyyyyyyyy", 12));   /* packed -> plain */
    CHECK(list_set(o, 1, "cc", 2));              /* plain -> packed */
    CHECK(list_set(o, 2, "zzzzzzzzzzzzzz", 14)); /* packed -> plain */
    CHECK(list_set(o, 2, "wwwwwwwwwwwwww", 14)); /* plain -> plain */
    CHECK(!list_set(o, 3, "x", 1));
    struct model m = {0};
    model_insert(&m, 0, "yyyyyyyyyyyy", 12);
    model_insert(&m, 1, "cc", 2);
    model_insert(&m, 2, "wwwwwwwwwwwwww", 14);
    CHECK(same_forward(o, &m) && same_backward(o, &m) && same_stored(o, &m));
    model_clear(&m);
    obj_free(o);
    CHECK(!list_set_packed_threshold((1ull << 32)));
    CHECK(list_set_packed_threshold(0));
}

TEST(iter_insert_delete)
{
    keyspace_settings.list_max_listpack_size = 3;
    obj *o = obj_list_new();
    struct model m = {0};
    char buf[8];
    for (int i = 0; i < 9; i++) {
        int n = snprintf(buf, sizeof(buf), "e%d", i);
        list_push(o, buf, (size_t)n, LIST_TAIL);
        model_insert(&m, m.n, buf, (size_t)n);
    }
    /* insert in the middle of a full node, before and after */
    struct list_iter it;
    const char *s;
    size_t len;
    list_iter_init(&it, o, 4, LIST_TAIL);
    CHECK(list_iter_next(&it, &s, &len) && list_iter_equal(&it, "e4", 2));
    list_iter_insert(&it, "new", 3, LIST_HEAD);
    model_insert(&m, 4, "new", 3);
    CHECK(same_forward(o, &m) && same_backward(o, &m));
    list_iter_init(&it, o, 1, LIST_TAIL);
    CHECK(list_iter_next(&it, &s, &len) && list_iter_equal(&it, "e1", 2));
    list_iter_insert(&it, "after", 5, LIST_TAIL);
    model_insert(&m, 2, "after", 5);
    CHECK(same_forward(o, &m) && same_backward(o, &m));
    /* delete every other element walking backwards */
    list_iter_init(&it, o, -1, LIST_HEAD);
    size_t i = m.n;
    while (list_iter_next(&it, &s, &len)) {
        i--;
        if (i % 2 == 0) {
            list_iter_delete(&it);
            model_delete(&m, i, 1);
        }
    }
    CHECK(same_forward(o, &m) && same_backward(o, &m) && same_stored(o, &m));
    model_clear(&m);
    obj_free(o);
}

/* One random step on both the list and the model. */
static void random_step(obj *o, struct model *m, char *buf)
{
    const char *s;
    size_t len;
    char ib[OBJ_LIST_BUF];
    size_t vlen = random_value(buf);
    /* pushes outweigh removals so that lists span many nodes */
    static const unsigned char weights[] = {0, 0, 0, 0, 0, 0, 0, 2, 2, 3,
                                            3, 4, 4, 4, 4, 6, 7, 8, 9, 9};
    unsigned op = weights[trand() % sizeof(weights)];
    if (m->n == 0)
        op = 0;
    switch (op) {
    case 0:
    case 1: {
        int where = trand() % 2 ? LIST_HEAD : LIST_TAIL;
        list_push(o, buf, vlen, where);
        model_insert(m, where == LIST_HEAD ? 0 : m->n, buf, vlen);
        break;
    }
    case 2: {
        long idx = (long)(trand() % (m->n + 2)) - (long)(trand() % 2 ? m->n + 1 : 0);
        int found = list_index(o, idx, &s, &len, ib);
        long at = idx < 0 ? idx + (long)m->n : idx;
        int want = at >= 0 && at < (long)m->n;
        CHECK_EQ_INT(found, want);
        if (found && want)
            CHECK_EQ_MEM(s, len, m->v[at].p, m->v[at].len);
        break;
    }
    case 3: {
        size_t at = (size_t)(trand() % m->n);
        CHECK(list_set(o, trand() % 2 ? (long)at : (long)at - (long)m->n, buf, vlen));
        model_delete(m, at, 1);
        model_insert(m, at, buf, vlen);
        break;
    }
    case 4:
    case 5: {
        size_t at = (size_t)(trand() % m->n);
        int where = trand() % 2 ? LIST_HEAD : LIST_TAIL;
        struct list_iter it;
        list_iter_init(&it, o, (long)at, trand() % 2 ? LIST_HEAD : LIST_TAIL);
        CHECK(list_iter_next(&it, &s, &len));
        CHECK(list_iter_equal(&it, m->v[at].p, m->v[at].len));
        list_iter_insert(&it, buf, vlen, where);
        model_insert(m, where == LIST_HEAD ? at : at + 1, buf, vlen);
        break;
    }
    case 6: {
        size_t at = (size_t)(trand() % m->n);
        size_t k = (size_t)(trand() % 5);
        if (trand() % 2) {
            list_delete_range(o, (long)at, k);
        } else {
            list_delete_range(o, (long)at - (long)m->n, k);
        }
        model_delete(m, at, k);
        break;
    }
    case 7: {
        /* LREM-like: drop the elements equal to a picked one, either way */
        size_t at = (size_t)(trand() % m->n);
        struct elem pick = {malloc(m->v[at].len + 1), m->v[at].len};
        memcpy(pick.p, m->v[at].p, pick.len);
        int back = trand() % 2;
        struct list_iter it;
        list_iter_init(&it, o, back ? -1 : 0, back ? LIST_HEAD : LIST_TAIL);
        while (list_iter_next(&it, &s, &len))
            if (list_iter_equal(&it, pick.p, pick.len))
                list_iter_delete(&it);
        for (size_t i = m->n; i-- > 0;)
            if (m->v[i].len == pick.len && !memcmp(m->v[i].p, pick.p, pick.len))
                model_delete(m, i, 1);
        free(pick.p);
        break;
    }
    default: {
        /* pops at either end */
        if (trand() % 2) {
            list_delete_range(o, 0, 1);
            model_delete(m, 0, 1);
        } else {
            list_delete_range(o, -1, 1);
            model_delete(m, m->n - 1, 1);
        }
        break;
    }
    }
}

TEST(random_against_model)
{
    static const long long fills[] = {-1, -2, -5, -9, 0, 1, 2, 5, 128};
    static const unsigned long long thresholds[] = {0, 8, 100, 2000};
    char *buf = malloc(4096);
    size_t maxlen = 0;
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        for (size_t t = 0; t < sizeof(thresholds) / sizeof(thresholds[0]); t++) {
            keyspace_settings.list_max_listpack_size = fills[f];
            list_set_packed_threshold(thresholds[t]);
            obj *o = obj_list_new();
            struct model m = {0};
            int bad = 0;
            for (int step = 0; step < 2000 && !bad; step++) {
                random_step(o, &m, buf);
                if (!same_forward(o, &m) || (step % 50 == 0 && !same_backward(o, &m))) {
                    printf("  fill %lld threshold %llu: mismatch at step %d\n", fills[f],
                           thresholds[t], step);
                    bad = 1;
                }
                if (step % 300 == 299 && !same_stored(o, &m))
                    bad = 1;
            }
            CHECK(!bad);
            if (m.n > maxlen)
                maxlen = m.n;
            CHECK(same_backward(o, &m) && same_stored(o, &m));
            model_clear(&m);
            obj_free(o);
        }
    }
    list_set_packed_threshold(0);
    free(buf);
    /* the run must have built lists of many nodes */
    CHECK(maxlen > 200);
}

TEST(blob_validation)
{
    keyspace_settings.list_max_listpack_size = -2;
    unsigned char *lp = lp_new();
    CHECK(list_from_blob(lp, lp_bytes(lp), OBJ_ENC_QUICKLIST) == NULL); /* empty */
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "123", 3);
    CHECK(list_from_blob(lp, lp_bytes(lp), OBJ_ENC_LISTPACK) == NULL);
    CHECK(list_from_blob(lp, lp_bytes(lp) - 1, OBJ_ENC_QUICKLIST) == NULL);
    obj *o = list_from_blob(lp, lp_bytes(lp), OBJ_ENC_QUICKLIST);
    CHECK(o && list_len(o) == 2);
    if (o) {
        size_t len;
        int must_free;
        const unsigned char *b = list_blob(o, &len, &must_free);
        /* a list of one node is stored as that node's listpack */
        CHECK(!must_free);
        CHECK_EQ_MEM(b, len, lp, lp_bytes(lp));
        obj_free(o);
    }
    /* a big list splits into nodes on load and gives back the same blob */
    unsigned char *big = lp_new();
    char buf[32];
    for (int i = 0; i < 70000; i++) {
        int n = snprintf(buf, sizeof(buf), "v%d", i);
        big = lp_append(big, buf, (size_t)n);
    }
    o = list_from_blob(big, lp_bytes(big), OBJ_ENC_QUICKLIST);
    CHECK(o && list_len(o) == 70000);
    if (o) {
        size_t len;
        int must_free;
        const unsigned char *b = list_blob(o, &len, &must_free);
        CHECK(must_free);
        CHECK_EQ_MEM(b, len, big, lp_bytes(big));
        hot_free((void *)b);
        obj_free(o);
    }
    lp_free(big);
    lp_free(lp);
}

int main(void)
{
    RUN(push_pop_index);
    RUN(plain_nodes);
    RUN(iter_insert_delete);
    RUN(random_against_model);
    RUN(blob_validation);
    return unit_report("test_quicklist");
}
