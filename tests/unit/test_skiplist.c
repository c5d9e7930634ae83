/*
 * test_skiplist.c: unit tests of src/ds/skiplist.c.
 *
 * Besides hand-written cases (ordering ties, -0.0 and 0.0, infinities, lex
 * bound parsing as redis-server 7.0.15 accepts it), two randomized tests run
 * long sequences of operations against a plain sorted array and compare
 * every answer; skiplist_check (which walks every level and verifies every
 * span) runs throughout. Every test ends with hot_used() back where it began.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/skiplist.h"
#include "ds/str.h"
#include "unit.h"

/* Deterministic PRNG for the tests themselves (reproducible sequences). */
static uint64_t test_rng = 0x9e3779b97f4a7c15ULL;
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

static skiplist_node *ins(skiplist *sl, double score, const char *m)
{
    return skiplist_insert(sl, score, str_hot_new(m, strlen(m)));
}

static int del(skiplist *sl, double score, const char *m)
{
    return skiplist_delete(sl, score, m, strlen(m), NULL);
}

static unsigned long rank_of(skiplist *sl, double score, const char *m)
{
    return skiplist_rank(sl, score, m, strlen(m));
}

static int node_is(const skiplist_node *n, double score, const char *m)
{
    return n && n->score == score && str_len(n->member) == strlen(m) &&
           memcmp(n->member, m, strlen(m)) == 0;
}

static skiplist_range srange(double min, int minex, double max, int maxex)
{
    skiplist_range r = {min, max, minex, maxex};
    return r;
}

static skiplist_lex_range lrange(const char *min, const char *max)
{
    skiplist_lex_range r;
    int a = skiplist_lex_bound_parse(min, strlen(min), &r.min);
    int b = skiplist_lex_bound_parse(max, strlen(max), &r.max);
    if (a || b)
        abort();
    return r;
}

/* ============================================================ fixed cases */

TEST(empty)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    CHECK_EQ_INT(skiplist_length(sl), 0);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK(skiplist_first(sl) == NULL);
    CHECK(skiplist_last(sl) == NULL);
    CHECK_EQ_INT(rank_of(sl, 1, "a"), 0);
    CHECK(skiplist_by_rank(sl, 0) == NULL);
    CHECK(skiplist_by_rank(sl, 1) == NULL);
    CHECK_EQ_INT(del(sl, 1, "a"), 0);
    skiplist_range all = srange(-INFINITY, 0, INFINITY, 0);
    CHECK(skiplist_first_in_range(sl, &all) == NULL);
    CHECK(skiplist_last_in_range(sl, &all) == NULL);
    skiplist_lex_range lall = lrange("-", "+");
    CHECK(skiplist_first_in_lex_range(sl, &lall) == NULL);
    CHECK(skiplist_last_in_lex_range(sl, &lall) == NULL);
    CHECK_EQ_INT(skiplist_delete_range_by_score(sl, &all, NULL, NULL), 0);
    CHECK_EQ_INT(skiplist_delete_range_by_lex(sl, &lall, NULL, NULL), 0);
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 1, 10, NULL, NULL), 0);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    skiplist_free(NULL);
    CHECK_EQ_INT(hot_used(), used0);
}

TEST(order_and_ties)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    /* Same score: members by bytes, shorter first on a common prefix; the
     * empty member first; bytes compared unsigned. */
    ins(sl, 2, "b");
    ins(sl, 1, "zz");
    ins(sl, 2, "ab");
    ins(sl, 2, "a");
    ins(sl, 2, "");
    ins(sl, 2, "\xff");
    ins(sl, 3, "a");
    skiplist_insert(sl, 2, str_hot_new("a\0", 2));
    skiplist_insert(sl, 2, str_hot_new("a\0b", 3));
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK_EQ_INT(skiplist_length(sl), 9);
    const char *want[] = {"zz", "", "a", "ab", "b", "\xff", "a"};
    const skiplist_node *n = skiplist_first(sl);
    CHECK(node_is(n, 1, want[0]));
    n = skiplist_next(n);
    CHECK(node_is(n, 2, want[1]));
    n = skiplist_next(n);
    CHECK(node_is(n, 2, want[2]));
    n = skiplist_next(n);
    CHECK(n && str_len(n->member) == 2 && memcmp(n->member, "a\0", 2) == 0); /* "a\0" */
    n = skiplist_next(n);
    CHECK(n && str_len(n->member) == 3 && memcmp(n->member, "a\0b", 3) == 0);
    n = skiplist_next(n);
    CHECK(node_is(n, 2, want[3]));
    n = skiplist_next(n);
    CHECK(node_is(n, 2, want[4]));
    n = skiplist_next(n);
    CHECK(node_is(n, 2, want[5]));
    n = skiplist_next(n);
    CHECK(node_is(n, 3, want[6]));
    CHECK(skiplist_next(n) == NULL);
    CHECK(skiplist_last(sl) == n);
    /* Backward from the end reaches the first with no gaps. */
    int count = 0;
    for (const skiplist_node *b = skiplist_last(sl); b; b = skiplist_prev(b))
        count++;
    CHECK_EQ_INT(count, 9);

    CHECK_EQ_INT(rank_of(sl, 1, "zz"), 1);
    CHECK_EQ_INT(rank_of(sl, 2, ""), 2);
    CHECK_EQ_INT(skiplist_rank(sl, 2, "a\0b", 3), 5);
    CHECK_EQ_INT(rank_of(sl, 3, "a"), 9);
    CHECK_EQ_INT(rank_of(sl, 2, "zz"), 0); /* member there, other score */
    CHECK_EQ_INT(rank_of(sl, 2, "c"), 0);
    CHECK(node_is(skiplist_by_rank(sl, 6), 2, "ab"));
    CHECK(skiplist_by_rank(sl, 10) == NULL);

    CHECK_EQ_INT(del(sl, 2, "zz"), 0);
    CHECK_EQ_INT(del(sl, 1, "zz"), 1);
    CHECK_EQ_INT(del(sl, 1, "zz"), 0);
    str out = NULL;
    CHECK_EQ_INT(skiplist_delete(sl, 3, "a", 1, &out), 1);
    CHECK(out && str_len(out) == 1 && out[0] == 'a');
    str_hot_free(out);
    CHECK(node_is(skiplist_last(sl), 2, "\xff"));
    CHECK(skiplist_prev(skiplist_first(sl)) == NULL);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

TEST(negative_zero)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    ins(sl, 0.0, "b");
    ins(sl, -0.0, "a");
    ins(sl, -0.0, "c");
    ins(sl, -1e-300, "z");
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK(node_is(skiplist_by_rank(sl, 1), -1e-300, "z"));
    CHECK(node_is(skiplist_by_rank(sl, 2), 0, "a"));
    CHECK(node_is(skiplist_by_rank(sl, 3), 0, "b"));
    CHECK(node_is(skiplist_by_rank(sl, 4), 0, "c"));
    /* Either zero finds an element stored with the other. */
    CHECK_EQ_INT(rank_of(sl, 0.0, "a"), 2);
    CHECK_EQ_INT(rank_of(sl, -0.0, "b"), 3);
    skiplist_range r = srange(-0.0, 0, 0.0, 0);
    CHECK(node_is(skiplist_first_in_range(sl, &r), 0, "a"));
    CHECK(node_is(skiplist_last_in_range(sl, &r), 0, "c"));
    r = srange(0.0, 1, 1, 0); /* (0 excludes -0.0 too */
    CHECK(skiplist_first_in_range(sl, &r) == NULL);
    r = srange(-0.0, 0, 0.0, 1); /* [-0 (0: empty */
    CHECK(skiplist_first_in_range(sl, &r) == NULL);
    /* Moving between the zeros is an in-place update. */
    skiplist_node *n = skiplist_by_rank(sl, 3);
    CHECK(skiplist_update_score(sl, 0.0, "b", 1, -0.0) == n);
    CHECK(signbit(n->score));
    CHECK_EQ_INT(rank_of(sl, 0.0, "b"), 3);
    CHECK_EQ_INT(del(sl, 0.0, "c"), 1);
    CHECK_EQ_INT(del(sl, 0.0, "b"), 1);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

TEST(infinities)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    ins(sl, INFINITY, "p");
    ins(sl, -INFINITY, "n");
    ins(sl, 5, "m");
    ins(sl, INFINITY, "a");
    ins(sl, -INFINITY, "z");
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK(node_is(skiplist_first(sl), -INFINITY, "n"));
    CHECK(node_is(skiplist_last(sl), INFINITY, "p"));
    CHECK_EQ_INT(rank_of(sl, INFINITY, "a"), 4);

    skiplist_range r = srange(-INFINITY, 0, INFINITY, 0);
    CHECK(node_is(skiplist_first_in_range(sl, &r), -INFINITY, "n"));
    CHECK(node_is(skiplist_last_in_range(sl, &r), INFINITY, "p"));
    r = srange(-INFINITY, 1, INFINITY, 1);
    CHECK(node_is(skiplist_first_in_range(sl, &r), 5, "m"));
    CHECK(node_is(skiplist_last_in_range(sl, &r), 5, "m"));
    r = srange(INFINITY, 0, INFINITY, 0);
    CHECK(node_is(skiplist_first_in_range(sl, &r), INFINITY, "a"));
    CHECK(node_is(skiplist_last_in_range(sl, &r), INFINITY, "p"));
    r = srange(INFINITY, 1, INFINITY, 0);
    CHECK(skiplist_first_in_range(sl, &r) == NULL);
    CHECK(skiplist_last_in_range(sl, &r) == NULL);
    r = srange(-INFINITY, 0, -INFINITY, 0);
    CHECK(node_is(skiplist_last_in_range(sl, &r), -INFINITY, "z"));
    r = srange(6, 0, 5, 0); /* min > max */
    CHECK(skiplist_first_in_range(sl, &r) == NULL);
    CHECK_EQ_INT(skiplist_delete_range_by_score(sl, &r, NULL, NULL), 0);

    CHECK(skiplist_update_score(sl, INFINITY, "p", 1, -INFINITY) != NULL);
    CHECK_EQ_INT(rank_of(sl, -INFINITY, "p"), 2);
    r = srange(-INFINITY, 0, -INFINITY, 0);
    CHECK_EQ_INT(skiplist_delete_range_by_score(sl, &r, NULL, NULL), 3);
    CHECK_EQ_INT(skiplist_length(sl), 2);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

TEST(lex_bound_parse)
{
    skiplist_lex_bound b;
    /* Accepted and refused forms, as ZRANGEBYLEX of redis-server 7.0.15. */
    CHECK_EQ_INT(skiplist_lex_bound_parse("-", 1, &b), 0);
    CHECK_EQ_INT(b.kind, SKIPLIST_LEX_NEG_INF);
    CHECK_EQ_INT(skiplist_lex_bound_parse("+", 1, &b), 0);
    CHECK_EQ_INT(b.kind, SKIPLIST_LEX_POS_INF);
    CHECK_EQ_INT(skiplist_lex_bound_parse("[abc", 4, &b), 0);
    CHECK(b.kind == SKIPLIST_LEX_VALUE && !b.exclusive && b.len == 3 && !memcmp(b.ptr, "abc", 3));
    CHECK_EQ_INT(skiplist_lex_bound_parse("(a", 2, &b), 0);
    CHECK(b.kind == SKIPLIST_LEX_VALUE && b.exclusive && b.len == 1 && b.ptr[0] == 'a');
    CHECK_EQ_INT(skiplist_lex_bound_parse("(", 1, &b), 0);
    CHECK(b.kind == SKIPLIST_LEX_VALUE && b.exclusive && b.len == 0);
    CHECK_EQ_INT(skiplist_lex_bound_parse("[", 1, &b), 0);
    CHECK(b.kind == SKIPLIST_LEX_VALUE && !b.exclusive && b.len == 0);
    CHECK_EQ_INT(skiplist_lex_bound_parse("[a\0b", 4, &b), 0);
    CHECK(b.len == 3);
    CHECK_EQ_INT(skiplist_lex_bound_parse("", 0, &b), -1);
    CHECK_EQ_INT(skiplist_lex_bound_parse("+a", 2, &b), -1);
    CHECK_EQ_INT(skiplist_lex_bound_parse("-x", 2, &b), -1);
    CHECK_EQ_INT(skiplist_lex_bound_parse("a", 1, &b), -1);
    CHECK_EQ_INT(skiplist_lex_bound_parse("1", 1, &b), -1);
}

TEST(lex_fixed)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    const char *m[] = {"", "+a", "-", "a", "aa", "b", "c"};
    for (int i = 0; i < 7; i++)
        ins(sl, 0, m[i]);
    skiplist_lex_range r = lrange("-", "+");
    CHECK(node_is(skiplist_first_in_lex_range(sl, &r), 0, ""));
    CHECK(node_is(skiplist_last_in_lex_range(sl, &r), 0, "c"));
    r = lrange("(", "+"); /* excludes only the empty member */
    CHECK(node_is(skiplist_first_in_lex_range(sl, &r), 0, "+a"));
    r = lrange("[", "(b");
    CHECK(node_is(skiplist_first_in_lex_range(sl, &r), 0, ""));
    CHECK(node_is(skiplist_last_in_lex_range(sl, &r), 0, "aa"));
    r = lrange("[a", "[a");
    CHECK(node_is(skiplist_first_in_lex_range(sl, &r), 0, "a"));
    CHECK(node_is(skiplist_last_in_lex_range(sl, &r), 0, "a"));
    r = lrange("(a", "[a");
    CHECK(skiplist_first_in_lex_range(sl, &r) == NULL);
    r = lrange("[b", "[a");
    CHECK(skiplist_last_in_lex_range(sl, &r) == NULL);
    r = lrange("+", "-");
    CHECK(skiplist_first_in_lex_range(sl, &r) == NULL);
    r = lrange("-", "-");
    CHECK(skiplist_first_in_lex_range(sl, &r) == NULL);
    r = lrange("+", "+");
    CHECK(skiplist_last_in_lex_range(sl, &r) == NULL);
    r = lrange("(c", "+");
    CHECK(skiplist_first_in_lex_range(sl, &r) == NULL);
    r = lrange("-", "(");
    CHECK(skiplist_last_in_lex_range(sl, &r) == NULL);
    r = lrange("(a", "(b");
    CHECK_EQ_INT(skiplist_delete_range_by_lex(sl, &r, NULL, NULL), 1); /* "aa" */
    CHECK_EQ_INT(rank_of(sl, 0, "aa"), 0);
    CHECK_EQ_INT(rank_of(sl, 0, "b"), 5);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

TEST(update_score)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    skiplist_node *a = ins(sl, 1, "a");
    ins(sl, 2, "b");
    skiplist_node *c = ins(sl, 3, "c");
    str cm = c->member;
    /* Order unchanged: same node, only the score moves. */
    CHECK(skiplist_update_score(sl, 1, "a", 1, 1.5) == a);
    CHECK(a->score == 1.5);
    CHECK(skiplist_update_score(sl, 1.5, "a", 1, 2) == a); /* (2,"a") < (2,"b") */
    CHECK_EQ_INT(rank_of(sl, 2, "a"), 1);
    /* Order changed: relinked, same node and member. */
    CHECK(skiplist_update_score(sl, 3, "c", 1, 0) == c);
    CHECK(c->member == cm);
    CHECK_EQ_INT(rank_of(sl, 0, "c"), 1);
    CHECK(skiplist_first(sl) == c);
    CHECK(skiplist_update_score(sl, 2, "a", 1, 10) == a);
    CHECK(skiplist_last(sl) == a);
    CHECK(node_is(skiplist_by_rank(sl, 2), 2, "b"));
    CHECK_EQ_INT(skiplist_check(sl), 0);
    /* Many moves on a bigger list keep it consistent. */
    char buf[16];
    for (int i = 0; i < 300; i++) {
        snprintf(buf, sizeof(buf), "m%d", i);
        ins(sl, i, buf);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(buf, sizeof(buf), "m%d", i);
        skiplist_update_score(sl, i, buf, strlen(buf), 299 - i);
    }
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK_EQ_INT(rank_of(sl, 299, "m0"), 303); /* last: only (10, "a") left of 300 */
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

struct deleted {
    int n;
    char last[32];
    double last_score;
};

static void on_delete(void *ctx, str member, double score)
{
    struct deleted *d = ctx;
    d->n++;
    size_t len = str_len(member) < 31 ? str_len(member) : 31;
    memcpy(d->last, member, len);
    d->last[len] = 0;
    d->last_score = score;
}

TEST(delete_by_rank)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    char buf[16];
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "%03d", i);
        ins(sl, i / 10, buf);
    }
    struct deleted d = {0};
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 5, 4, on_delete, &d), 0);
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 101, 200, on_delete, &d), 0);
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 1, 1, on_delete, &d), 1);
    CHECK_EQ_STR(d.last, "000");
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 10, 19, on_delete, &d), 10);
    CHECK_EQ_STR(d.last, "019");
    CHECK(d.last_score == 1);
    /* 89 left: ranks 80..89 are the last ten. */
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 80, 1000, on_delete, &d), 10);
    CHECK_EQ_STR(d.last, "099");
    CHECK_EQ_INT(d.n, 21);
    CHECK_EQ_INT(skiplist_length(sl), 79);
    CHECK(node_is(skiplist_last(sl), 8, "089"));
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK_EQ_INT(skiplist_delete_range_by_rank(sl, 1, 79, NULL, NULL), 79);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK_EQ_INT(sl->level, 1);
    CHECK(skiplist_first(sl) == NULL && skiplist_last(sl) == NULL);
    ins(sl, 1, "again");
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

/* ====================================================== randomized model */

/* Members come from a fixed universe so the model can tell present from
 * absent in O(1); the sorted array holds universe indices. */
#define UNIVERSE 2000

static char *uni_m[UNIVERSE];
static size_t uni_len[UNIVERSE];
static int present[UNIVERSE];
static double uscore[UNIVERSE];
static int sorted[UNIVERSE];
static int nsorted;

static const double score_pool[] = {-INFINITY, -3, -1.5, -1, -0.0,  0.0,
                                    0.25,      1,  2,    7,  1e300, INFINITY};
#define NPOOL (int)(sizeof(score_pool) / sizeof(score_pool[0]))

static void universe_init(void)
{
    for (int i = 0; i < UNIVERSE; i++) {
        /* Short strings over a tiny alphabet: many shared prefixes, "" once. */
        size_t len = i == 0 ? 0 : 1 + trand_below(5);
        char buf[8];
        int again;
        do {
            for (size_t k = 0; k < len; k++)
                buf[k] = "ab\0\xff"[trand_below(4)];
            again = 0;
            for (int j = 0; j < i && !again; j++)
                again = uni_len[j] == len && memcmp(uni_m[j], buf, len) == 0;
            if (again && len < 7)
                len++;
        } while (again);
        uni_m[i] = malloc(len + 1);
        memcpy(uni_m[i], buf, len);
        uni_len[i] = len;
        present[i] = 0;
    }
    nsorted = 0;
}

static void universe_free(void)
{
    for (int i = 0; i < UNIVERSE; i++)
        free(uni_m[i]);
}

static int m_cmp(int a, int b)
{
    size_t n = uni_len[a] < uni_len[b] ? uni_len[a] : uni_len[b];
    int c = n ? memcmp(uni_m[a], uni_m[b], n) : 0;
    if (c)
        return c;
    return uni_len[a] < uni_len[b] ? -1 : uni_len[a] > uni_len[b];
}

static int el_cmp(int a, int b)
{
    if (uscore[a] < uscore[b])
        return -1;
    if (uscore[a] > uscore[b])
        return 1;
    return m_cmp(a, b);
}

/* Position of element u in the sorted model (present or not). */
static int model_pos(int u)
{
    int lo = 0, hi = nsorted;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (el_cmp(sorted[mid], u) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void model_insert(int u, double score)
{
    uscore[u] = score;
    int p = model_pos(u);
    memmove(sorted + p + 1, sorted + p, (size_t)(nsorted - p) * sizeof(int));
    sorted[p] = u;
    nsorted++;
    present[u] = 1;
}

static void model_remove_at(int p)
{
    present[sorted[p]] = 0;
    memmove(sorted + p, sorted + p + 1, (size_t)(nsorted - p - 1) * sizeof(int));
    nsorted--;
}

static int node_is_u(const skiplist_node *n, int u)
{
    return n && n->score == uscore[u] && str_len(n->member) == uni_len[u] &&
           memcmp(n->member, uni_m[u], uni_len[u]) == 0;
}

/* Full comparison: forward and backward walks, by_rank, rank. */
static int model_matches(const skiplist *sl)
{
    if (skiplist_check(sl) != 0 || skiplist_length(sl) != (unsigned long)nsorted)
        return 0;
    const skiplist_node *n = skiplist_first(sl);
    for (int i = 0; i < nsorted; i++, n = skiplist_next(n))
        if (!node_is_u(n, sorted[i]))
            return 0;
    if (n)
        return 0;
    n = skiplist_last(sl);
    for (int i = nsorted - 1; i >= 0; i--, n = skiplist_prev(n))
        if (!node_is_u(n, sorted[i]))
            return 0;
    return n == NULL;
}

static double pick_score(void)
{
    if (trand_below(8) == 0)
        return (double)(int)trand_below(2000) / 16 - 60;
    return score_pool[trand_below(NPOOL)];
}

static int in_srange(double v, const skiplist_range *r)
{
    return (r->minex ? v > r->min : v >= r->min) && (r->maxex ? v < r->max : v <= r->max);
}

/* Deleted members reported by the callbacks, in order, checked against the
 * model's expectation. */
struct expect_del {
    const int *want;
    int n, next, bad;
};

static void on_expect(void *ctx, str member, double score)
{
    struct expect_del *e = ctx;
    if (e->next >= e->n) {
        e->bad = 1;
        return;
    }
    int u = e->want[e->next++];
    if (str_len(member) != uni_len[u] || memcmp(member, uni_m[u], uni_len[u]) != 0 ||
        score != uscore[u])
        e->bad = 1;
}

TEST(random_model)
{
    size_t used0 = hot_used();
    universe_init();
    skiplist *sl = skiplist_create();
    int ops = 200000, mismatches = 0, range_deletes = 0, ranged_hits = 0;
    int removed[UNIVERSE];
    for (int op = 0; op < ops && mismatches < 5; op++) {
        int u = (int)trand_below(UNIVERSE);
        unsigned what = trand_below(100);
        int bad = 0;
        /* Inserts win while the set is small, so it hovers around ~1000. */
        if (what < (nsorted < UNIVERSE / 2 ? 40u : 25u)) {
            if (!present[u]) {
                double s = pick_score();
                skiplist_node *n = skiplist_insert(sl, s, str_hot_new(uni_m[u], uni_len[u]));
                model_insert(u, s);
                bad = !node_is_u(n, u);
            }
        } else if (what < 55) {
            double s = present[u] ? uscore[u] : pick_score();
            if (present[u] && trand_below(4) == 0)
                s = s == 0 ? -s : s; /* look up -0.0 with 0.0 and back */
            int was = present[u];
            int got = skiplist_delete(sl, s, uni_m[u], uni_len[u], NULL);
            if (was)
                model_remove_at(model_pos(u));
            bad = got != was;
        } else if (what < 65) {
            if (present[u]) {
                double s = pick_score();
                model_remove_at(model_pos(u));
                double old = uscore[u];
                skiplist_node *n = skiplist_update_score(sl, old, uni_m[u], uni_len[u], s);
                model_insert(u, s);
                bad = !node_is_u(n, u);
            }
        } else if (what < 75) {
            unsigned long want = 0;
            if (present[u])
                want = (unsigned long)model_pos(u) + 1;
            double s = present[u] ? uscore[u] : pick_score();
            bad = skiplist_rank(sl, s, uni_m[u], uni_len[u]) != want;
            unsigned long r = trand_below((unsigned)nsorted + 2);
            skiplist_node *n = skiplist_by_rank(sl, r);
            if (r >= 1 && r <= (unsigned long)nsorted)
                bad |= !node_is_u(n, sorted[r - 1]);
            else
                bad |= n != NULL;
        } else if (what < 97) {
            skiplist_range r =
                srange(pick_score(), (int)trand_below(2), pick_score(), (int)trand_below(2));
            if (trand_below(4) == 0 && r.min > r.max) {
                double t = r.min;
                r.min = r.max;
                r.max = t;
            }
            int first = -1, last = -1;
            for (int i = 0; i < nsorted; i++)
                if (in_srange(uscore[sorted[i]], &r)) {
                    if (first < 0)
                        first = i;
                    last = i;
                }
            skiplist_node *f = skiplist_first_in_range(sl, &r);
            skiplist_node *l = skiplist_last_in_range(sl, &r);
            if (first < 0) {
                bad = f != NULL || l != NULL;
            } else {
                ranged_hits++;
                bad = !node_is_u(f, sorted[first]) || !node_is_u(l, sorted[last]);
                /* Ranks of the ends give the count, as ZCOUNT computes it. */
                if (!bad)
                    bad = skiplist_rank(sl, f->score, f->member, str_len(f->member)) !=
                              (unsigned long)first + 1 ||
                          skiplist_rank(sl, l->score, l->member, str_len(l->member)) !=
                              (unsigned long)last + 1;
            }
        } else {
            /* Range deletes, kept small so the set does not drain. */
            struct expect_del e = {removed, 0, 0, 0};
            unsigned long got;
            if (what == 97) {
                int s = (int)trand_below((unsigned)nsorted + 3), len = (int)trand_below(6);
                for (int i = s < 1 ? 1 : s; i <= s + len && i <= nsorted; i++)
                    removed[e.n++] = sorted[i - 1];
                got = skiplist_delete_range_by_rank(sl, (unsigned long)s, (unsigned long)(s + len),
                                                    on_expect, &e);
            } else {
                double lo = pick_score();
                skiplist_range r =
                    srange(lo, (int)trand_below(2), lo + trand_below(2), (int)trand_below(2));
                for (int i = 0; i < nsorted; i++)
                    if (in_srange(uscore[sorted[i]], &r))
                        removed[e.n++] = sorted[i];
                got = skiplist_delete_range_by_score(sl, &r, on_expect, &e);
            }
            for (int i = 0; i < e.n; i++)
                model_remove_at(model_pos(removed[i]));
            bad = e.bad || got != (unsigned long)e.n || e.next != e.n;
            range_deletes += e.n;
        }
        if (!bad && (op % 1000 == 0 || what >= 97))
            bad = !model_matches(sl);
        if (bad) {
            printf("  random_model: mismatch at op %d (kind %u)\n", op, what);
            mismatches++;
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(model_matches(sl));
    CHECK(range_deletes > 1000);
    CHECK(ranged_hits > 10000);
    skiplist_free(sl);
    universe_free();
    CHECK_EQ_INT(hot_used(), used0);
}

/* Lex ranges are defined for equal scores: every element is stored with
 * 0.0 or -0.0 (the same score), so the model is ordered by member alone. */
static int in_lex_bound_min(int u, const skiplist_lex_bound *b)
{
    if (b->kind != SKIPLIST_LEX_VALUE)
        return b->kind == SKIPLIST_LEX_NEG_INF;
    size_t n = uni_len[u] < b->len ? uni_len[u] : b->len;
    int c = n ? memcmp(uni_m[u], b->ptr, n) : 0;
    if (!c)
        c = uni_len[u] < b->len ? -1 : uni_len[u] > b->len;
    return b->exclusive ? c > 0 : c >= 0;
}

static int in_lex_bound_max(int u, const skiplist_lex_bound *b)
{
    if (b->kind != SKIPLIST_LEX_VALUE)
        return b->kind == SKIPLIST_LEX_POS_INF;
    size_t n = uni_len[u] < b->len ? uni_len[u] : b->len;
    int c = n ? memcmp(uni_m[u], b->ptr, n) : 0;
    if (!c)
        c = uni_len[u] < b->len ? -1 : uni_len[u] > b->len;
    return b->exclusive ? c < 0 : c <= 0;
}

static void pick_lex_bound(skiplist_lex_bound *b, char *buf)
{
    unsigned k = trand_below(10);
    if (k == 0) {
        skiplist_lex_bound_parse("-", 1, b);
        return;
    }
    if (k == 1) {
        skiplist_lex_bound_parse("+", 1, b);
        return;
    }
    buf[0] = trand_below(2) ? '(' : '[';
    size_t len = trand_below(5);
    for (size_t i = 0; i < len; i++)
        buf[1 + i] = "ab\0\xff"[trand_below(4)];
    skiplist_lex_bound_parse(buf, len + 1, b);
}

TEST(random_lex_model)
{
    size_t used0 = hot_used();
    universe_init();
    skiplist *sl = skiplist_create();
    int mismatches = 0, hits = 0, range_deletes = 0;
    int removed[UNIVERSE];
    for (int op = 0; op < 60000 && mismatches < 5; op++) {
        int u = (int)trand_below(UNIVERSE);
        unsigned what = trand_below(100);
        int bad = 0;
        if (what < (nsorted < UNIVERSE / 2 ? 40u : 25u)) {
            if (!present[u]) {
                double s = trand_below(2) ? 0.0 : -0.0;
                skiplist_insert(sl, s, str_hot_new(uni_m[u], uni_len[u]));
                model_insert(u, s);
            }
        } else if (what < 55) {
            int was = present[u];
            bad = skiplist_delete(sl, 0.0, uni_m[u], uni_len[u], NULL) != was;
            if (was)
                model_remove_at(model_pos(u));
        } else {
            char bmin[8], bmax[8];
            skiplist_lex_range r;
            pick_lex_bound(&r.min, bmin);
            pick_lex_bound(&r.max, bmax);
            int first = -1, last = -1;
            for (int i = 0; i < nsorted; i++)
                if (in_lex_bound_min(sorted[i], &r.min) && in_lex_bound_max(sorted[i], &r.max)) {
                    if (first < 0)
                        first = i;
                    last = i;
                }
            if (what < 98) {
                skiplist_node *f = skiplist_first_in_lex_range(sl, &r);
                skiplist_node *l = skiplist_last_in_lex_range(sl, &r);
                if (first < 0) {
                    bad = f != NULL || l != NULL;
                } else {
                    hits++;
                    bad = !node_is_u(f, sorted[first]) || !node_is_u(l, sorted[last]);
                }
            } else {
                struct expect_del e = {removed, 0, 0, 0};
                for (int i = first; first >= 0 && i <= last; i++)
                    removed[e.n++] = sorted[i];
                unsigned long got = skiplist_delete_range_by_lex(sl, &r, on_expect, &e);
                for (int i = 0; i < e.n; i++)
                    model_remove_at(model_pos(removed[i]));
                bad = e.bad || got != (unsigned long)e.n || e.next != e.n;
                range_deletes += e.n;
                if (!bad)
                    bad = !model_matches(sl);
            }
        }
        if (!bad && op % 1000 == 0)
            bad = !model_matches(sl);
        if (bad) {
            printf("  random_lex_model: mismatch at op %d (kind %u)\n", op, what);
            mismatches++;
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(model_matches(sl));
    CHECK(hits > 1000);
    CHECK(range_deletes > 100);
    skiplist_free(sl);
    universe_free();
    CHECK_EQ_INT(hot_used(), used0);
}

/* A large list built in order and in reverse: levels grow as log4(n)
 * (p = 1/4) and rank access stays exact at every position sampled. */
TEST(large)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    char buf[16];
    for (int i = 0; i < 100000; i++) {
        int len = snprintf(buf, sizeof(buf), "%06d", i);
        skiplist_insert(sl, i % 2 ? 0.0 : -0.0, str_hot_new(buf, (size_t)len));
    }
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK(sl->level >= 6 && sl->level <= 16);
    /* Links per node: 1 / (1 - 1/4) = 4/3 on average. */
    unsigned long links = 0;
    for (int i = 0; i < sl->level; i++)
        for (const skiplist_node *x = sl->header->level[i].forward; x; x = x->level[i].forward)
            links++;
    CHECK(links > 125000 && links < 142000);
    for (int k = 0; k < 1000; k++) {
        unsigned long r = 1 + trand_below(100000);
        skiplist_node *n = skiplist_by_rank(sl, r);
        snprintf(buf, sizeof(buf), "%06lu", r - 1);
        CHECK(n && strcmp(n->member, buf) == 0);
        CHECK_EQ_INT(skiplist_rank(sl, 0, buf, 6), r);
    }
    skiplist_range all = srange(-INFINITY, 0, INFINITY, 0);
    CHECK_EQ_INT(skiplist_delete_range_by_score(sl, &all, NULL, NULL), 100000);
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK_EQ_INT(sl->level, 1);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

/* The checker itself must catch broken spans and links. */
TEST(check_detects_corruption)
{
    size_t used0 = hot_used();
    skiplist *sl = skiplist_create();
    char buf[16];
    for (int i = 0; i < 200; i++) {
        snprintf(buf, sizeof(buf), "k%d", i);
        ins(sl, i, buf);
    }
    CHECK_EQ_INT(skiplist_check(sl), 0);
    CHECK(sl->level > 1);
    skiplist_node *n = skiplist_by_rank(sl, 50);
    n->level[0].span = 2;
    CHECK(skiplist_check(sl) != 0);
    n->level[0].span = 1;
    sl->header->level[sl->level - 1].span++;
    CHECK(skiplist_check(sl) != 0);
    sl->header->level[sl->level - 1].span--;
    double s = n->score;
    n->score = 1000;
    CHECK(skiplist_check(sl) != 0);
    n->score = s;
    skiplist_node *b = n->backward;
    n->backward = NULL;
    CHECK(skiplist_check(sl) != 0);
    n->backward = b;
    sl->length++;
    CHECK(skiplist_check(sl) != 0);
    sl->length--;
    CHECK_EQ_INT(skiplist_check(sl), 0);
    skiplist_free(sl);
    CHECK_EQ_INT(hot_used(), used0);
}

int main(void)
{
    RUN(empty);
    RUN(order_and_ties);
    RUN(negative_zero);
    RUN(infinities);
    RUN(lex_bound_parse);
    RUN(lex_fixed);
    RUN(update_score);
    RUN(delete_by_rank);
    RUN(random_model);
    RUN(random_lex_model);
    RUN(large);
    RUN(check_detects_corruption);
    return unit_report("test_skiplist");
}
