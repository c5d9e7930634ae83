/*
 * test_listpack.c: unit tests of src/ds/listpack.c.
 *
 * Exact bytes at every encoding boundary (from the listpack specification),
 * a randomized run against a plain array of strings, both walking
 * directions, the unknown-count header, and lp_validate on every truncation
 * and on random corruptions (run under ASan: a read out of bounds fails).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/listpack.h"
#include "unit.h"

static uint64_t test_rng = 0x9E3779B97F4A7C15ULL;
static uint64_t trand(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

/* The single entry of a one-element listpack, with its back-length. */
static int one_entry_is(unsigned char *lp, const unsigned char *want, size_t n)
{
    return lp_bytes(lp) == LP_HDR_SIZE + n + 1 && memcmp(lp + LP_HDR_SIZE, want, n) == 0 &&
           lp[LP_HDR_SIZE + n] == LP_EOF && lp_validate(lp, lp_bytes(lp), NULL, NULL) == 0;
}

/* Each integer as a string: expected encoding+data bytes (backlen added). */
static const struct {
    const char *s;
    unsigned char enc[9];
    size_t n;
} int_cases[] = {
    {"0", {0x00}, 1},
    {"1", {0x01}, 1},
    {"127", {0x7F}, 1},
    {"128", {0xC0, 0x80}, 2},
    {"-1", {0xDF, 0xFF}, 2},
    {"4095", {0xCF, 0xFF}, 2},
    {"-4096", {0xD0, 0x00}, 2},
    {"4096", {0xF1, 0x00, 0x10}, 3},
    {"-4097", {0xF1, 0xFF, 0xEF}, 3},
    {"32767", {0xF1, 0xFF, 0x7F}, 3},
    {"-32768", {0xF1, 0x00, 0x80}, 3},
    {"32768", {0xF2, 0x00, 0x80, 0x00}, 4},
    {"-32769", {0xF2, 0xFF, 0x7F, 0xFF}, 4},
    {"8388607", {0xF2, 0xFF, 0xFF, 0x7F}, 4},
    {"-8388608", {0xF2, 0x00, 0x00, 0x80}, 4},
    {"8388608", {0xF3, 0x00, 0x00, 0x80, 0x00}, 5},
    {"-8388609", {0xF3, 0xFF, 0xFF, 0x7F, 0xFF}, 5},
    {"2147483647", {0xF3, 0xFF, 0xFF, 0xFF, 0x7F}, 5},
    {"-2147483648", {0xF3, 0x00, 0x00, 0x00, 0x80}, 5},
    {"2147483648", {0xF4, 0x00, 0x00, 0x00, 0x80, 0, 0, 0, 0}, 9},
    {"-2147483649", {0xF4, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF}, 9},
    {"9223372036854775807", {0xF4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 9},
    {"-9223372036854775808", {0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80}, 9},
};

TEST(int_encodings)
{
    for (size_t i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
        unsigned char want[10];
        size_t n = int_cases[i].n;
        memcpy(want, int_cases[i].enc, n);
        want[n] = (unsigned char)n; /* back-length of a short entry */
        long long v = strtoll(int_cases[i].s, NULL, 10);

        unsigned char *lp = lp_append(lp_new(), int_cases[i].s, strlen(int_cases[i].s));
        CHECK(one_entry_is(lp, want, n + 1));
        unsigned char *lp2 = lp_append_int(lp_new(), v);
        CHECK_EQ_MEM(lp, lp_bytes(lp), lp2, lp_bytes(lp2));

        size_t len;
        int64_t iv = 0;
        CHECK(lp_get(lp_first(lp), &len, &iv) == NULL);
        CHECK_EQ_INT(iv, v);
        char buf[LP_INTBUF_SIZE];
        const unsigned char *s = lp_get_str(lp_first(lp), &len, buf);
        CHECK_EQ_MEM(s, len, int_cases[i].s, strlen(int_cases[i].s));
        CHECK(lp_equal(lp_first(lp), int_cases[i].s, strlen(int_cases[i].s)));
        lp_free(lp);
        lp_free(lp2);
    }
}

TEST(noncanonical_numbers_are_strings)
{
    const char *cases[] = {
        "007", "-0",   "+1", " 1", "1 ", "", "9223372036854775808", "-9223372036854775809",
        "1.5", "0x10", "-",  "12a"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i]);
        unsigned char *lp = lp_append(lp_new(), cases[i], n);
        unsigned char want[32];
        want[0] = (unsigned char)(0x80 | n);
        memcpy(want + 1, cases[i], n);
        want[n + 1] = (unsigned char)(n + 1);
        CHECK(one_entry_is(lp, want, n + 2));
        size_t len;
        int64_t iv;
        const unsigned char *s = lp_get(lp_first(lp), &len, &iv);
        CHECK(s != NULL);
        CHECK_EQ_MEM(s, len, cases[i], n);
        /* An integer entry is not equal to a non-canonical spelling. */
        unsigned char *lp2 = lp_append_int(lp_new(), 7);
        CHECK(!lp_equal(lp_first(lp2), "007", 3));
        CHECK(lp_equal(lp_first(lp2), "7", 1));
        lp_free(lp2);
        lp_free(lp);
    }
}

/* Header bytes of a string entry of length n, and its back-length. */
TEST(string_encodings)
{
    static const size_t lens[] = {0,    1,    63,    64,    125,   126,  127,
                                  4095, 4096, 16378, 16379, 16380, 70000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        char *s = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            s[j] = (char)('a' + j % 26);
        unsigned char *lp = lp_append(lp_new(), s, n);
        const unsigned char *e = lp + LP_HDR_SIZE;
        size_t hdr;
        if (n < 64) {
            CHECK_EQ_INT(e[0], 0x80 | n);
            hdr = 1;
        } else if (n < 4096) {
            CHECK_EQ_INT(e[0], 0xE0 | (n >> 8));
            CHECK_EQ_INT(e[1], n & 0xFF);
            hdr = 2;
        } else {
            CHECK_EQ_INT(e[0], 0xF0);
            CHECK_EQ_INT(e[1] | e[2] << 8 | e[3] << 16 | (size_t)e[4] << 24, n);
            hdr = 5;
        }
        size_t enc = hdr + n;
        const unsigned char *bl = e + enc;
        size_t bllen = enc < 128 ? 1 : enc < 16384 ? 2 : 3;
        CHECK_EQ_INT(lp_bytes(lp), LP_HDR_SIZE + enc + bllen + 1);
        if (bllen == 1) {
            CHECK_EQ_INT(bl[0], enc);
        } else if (bllen == 2) {
            CHECK_EQ_INT(bl[0], enc >> 7);
            CHECK_EQ_INT(bl[1], 0x80 | (enc & 127));
        } else {
            CHECK_EQ_INT(bl[0], enc >> 14);
            CHECK_EQ_INT(bl[1], 0x80 | ((enc >> 7) & 127));
            CHECK_EQ_INT(bl[2], 0x80 | (enc & 127));
        }
        /* Walk back over the entry from the end and read it. */
        lp = lp_prepend_int(lp, 1);
        CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), NULL, NULL), 0);
        unsigned char *last = lp_last(lp);
        CHECK(last == lp_next(lp, lp_first(lp)));
        size_t len;
        int64_t iv;
        const unsigned char *got = lp_get(last, &len, &iv);
        CHECK(got != NULL);
        CHECK_EQ_MEM(got, len, s, n);
        CHECK(lp_prev(lp, last) == lp_first(lp));
        CHECK(lp_prev(lp, lp_first(lp)) == NULL);
        CHECK(lp_next(lp, last) == NULL);
        free(s);
        lp_free(lp);
    }
}

TEST(empty)
{
    unsigned char *lp = lp_new();
    static const unsigned char want[] = {7, 0, 0, 0, 0, 0, 0xFF};
    CHECK_EQ_MEM(lp, lp_bytes(lp), want, sizeof(want));
    CHECK(lp_first(lp) == NULL);
    CHECK(lp_last(lp) == NULL);
    CHECK(lp_seek(lp, 0) == NULL);
    CHECK(lp_seek(lp, -1) == NULL);
    CHECK_EQ_INT(lp_length(lp), 0);
    CHECK(lp_find(lp, lp_first(lp), "a", 1, 0) == NULL);
    lp = lp_delete_range(lp, 0, 10);
    CHECK_EQ_INT(lp_bytes(lp), 7);
    CHECK_EQ_INT(lp_validate(lp, 7, NULL, NULL), 0);
    lp_free(lp);
}

/* The hash {a: 1, b: hello} as Redis 7.0.15 dumps it (HSET h a 1 b hello;
 * DUMP h): the listpack inside the payload. */
TEST(matches_redis_dump)
{
    static const unsigned char redis[] = {
        0x16, 0x00, 0x00, 0x00, 0x04, 0x00, 0x81, 0x61, 0x02, 0x01, 0x01,
        0x81, 0x62, 0x02, 0x85, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x06, 0xff,
    };
    unsigned char *lp = lp_new();
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "1", 1);
    lp = lp_append(lp, "b", 1);
    lp = lp_append(lp, "hello", 5);
    CHECK_EQ_MEM(lp, lp_bytes(lp), redis, sizeof(redis));
    lp_free(lp);
}

TEST(find_with_skip)
{
    /* field/value pairs where values look like fields */
    const char *items[] = {"f1", "f2", "f2", "5", "5", "x", "007", "7", "big", "-4097"};
    unsigned char *lp = lp_new();
    for (size_t i = 0; i < 10; i++)
        lp = lp_append(lp, items[i], strlen(items[i]));
    unsigned char *p = lp_find(lp, lp_first(lp), "f2", 2, 1);
    CHECK(p == lp_seek(lp, 2));
    p = lp_find(lp, lp_first(lp), "f2", 2, 0);
    CHECK(p == lp_seek(lp, 1));
    CHECK(lp_find(lp, lp_first(lp), "5", 1, 1) == lp_seek(lp, 4));
    CHECK(lp_find(lp, lp_first(lp), "x", 1, 1) == NULL); /* only as a value */
    CHECK(lp_find(lp, lp_first(lp), "7", 1, 1) == NULL);
    CHECK(lp_find(lp, lp_seek(lp, 1), "7", 1, 1) == lp_seek(lp, 7));
    CHECK(lp_find(lp, lp_first(lp), "007", 3, 1) == lp_seek(lp, 6));
    CHECK(lp_find(lp, lp_first(lp), "-4097", 5, 0) == lp_seek(lp, 9));
    CHECK(lp_find(lp, lp_first(lp), "-04097", 6, 0) == NULL);
    CHECK(lp_find(lp, lp_first(lp), "big", 3, 1) == lp_seek(lp, 8));
    lp_free(lp);
}

TEST(unknown_count)
{
    unsigned char *lp = lp_new();
    for (int i = 0; i < 70000; i++)
        lp = lp_append_int(lp, i % 100);
    CHECK_EQ_INT(lp[4] | lp[5] << 8, LP_COUNT_UNKNOWN);
    CHECK_EQ_INT(lp_length(lp), 70000);
    CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), NULL, NULL), 0);
    int64_t v;
    size_t len;
    CHECK(lp_get(lp_seek(lp, 69999), &len, &v) == NULL && v == 99);
    CHECK(lp_get(lp_seek(lp, -70000), &len, &v) == NULL && v == 0);
    CHECK(lp_seek(lp, 70000) == NULL);
    CHECK(lp_seek(lp, -70001) == NULL);
    lp = lp_delete_range(lp, 100, 69800);
    /* Still unknown in the header (as Redis), valid, and counted on demand. */
    CHECK_EQ_INT(lp[4] | lp[5] << 8, LP_COUNT_UNKNOWN);
    CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), NULL, NULL), 0);
    CHECK_EQ_INT(lp_length(lp), 200);
    CHECK_EQ_INT(lp[4] | lp[5] << 8, 200);
    CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), NULL, NULL), 0);
    CHECK(lp_get(lp_seek(lp, 100), &len, &v) == NULL && v == 0);
    CHECK(lp_get(lp_seek(lp, -1), &len, &v) == NULL && v == 99);
    lp_free(lp);
}

/* ------------------------------------------------------- model testing */

struct mstr {
    char *s;
    size_t len;
};

static struct mstr rand_value(void)
{
    static const char *specials[] = {"0",
                                     "127",
                                     "128",
                                     "-1",
                                     "4095",
                                     "4096",
                                     "-4096",
                                     "-4097",
                                     "32767",
                                     "32768",
                                     "8388607",
                                     "8388608",
                                     "2147483647",
                                     "2147483648",
                                     "-2147483649",
                                     "9223372036854775807",
                                     "-9223372036854775808",
                                     "9223372036854775808",
                                     "007",
                                     "-0",
                                     "",
                                     "+5"};
    struct mstr m;
    char tmp[32];
    uint64_t r = trand() % 100;
    if (r < 20) {
        const char *s = specials[trand() % (sizeof(specials) / sizeof(specials[0]))];
        m.len = strlen(s);
        m.s = malloc(m.len + 1);
        memcpy(m.s, s, m.len);
    } else if (r < 50) {
        int shift = (int)(trand() % 64);
        long long v = (long long)(trand() >> shift);
        if (trand() & 1)
            v = -v;
        m.len = (size_t)snprintf(tmp, sizeof(tmp), "%lld", v);
        m.s = malloc(m.len + 1);
        memcpy(m.s, tmp, m.len);
    } else {
        uint64_t k = trand() % 100;
        m.len = k < 80 ? trand() % 70 : k < 98 ? trand() % 300 : 4000 + trand() % 200;
        m.s = malloc(m.len + 1);
        for (size_t i = 0; i < m.len; i++)
            m.s[i] = (char)(trand() & 0xFF);
    }
    return m;
}

static int entry_is(const unsigned char *p, const struct mstr *m)
{
    char buf[LP_INTBUF_SIZE];
    size_t len;
    const unsigned char *s = lp_get_str(p, &len, buf);
    return len == m->len && memcmp(s, m->s, len) == 0 && lp_equal(p, m->s, m->len);
}

static int check_model(unsigned char *lp, const struct mstr *model, size_t n)
{
    int ok = lp_validate(lp, lp_bytes(lp), NULL, NULL) == 0 && lp_length(lp) == n;
    size_t i = 0;
    for (unsigned char *p = lp_first(lp); p && ok; p = lp_next(lp, p), i++)
        ok = i < n && entry_is(p, &model[i]);
    ok = ok && i == n;
    i = n;
    for (unsigned char *p = lp_last(lp); p && ok; p = lp_prev(lp, p))
        ok = i > 0 && entry_is(p, &model[--i]);
    return ok && i == 0;
}

TEST(random_against_model)
{
    enum { MAXN = 300, OPS = 100000 };
    struct mstr model[MAXN + 1];
    size_t n = 0;
    unsigned char *lp = lp_new();
    int failed = 0;

    for (int op = 0; op < OPS && !failed; op++) {
        uint64_t r = trand() % 100;
        if (n >= MAXN)
            r = 90; /* delete */
        if (r < 15) {
            struct mstr m = rand_value();
            lp = lp_append(lp, m.s, m.len);
            model[n++] = m;
        } else if (r < 25) {
            struct mstr m = rand_value();
            lp = lp_prepend(lp, m.s, m.len);
            memmove(model + 1, model, n * sizeof(*model));
            model[0] = m;
            n++;
        } else if (r < 45 && n > 0) {
            struct mstr m = rand_value();
            size_t i = trand() % n;
            int where = (int)(trand() & 1);
            unsigned char *np = NULL;
            lp = lp_insert(lp, lp_seek(lp, (long)i), where, m.s, m.len, &np);
            size_t at = i + (where == LP_AFTER);
            memmove(model + at + 1, model + at, (n - at) * sizeof(*model));
            model[at] = m;
            n++;
            failed |= !entry_is(np, &model[at]) || np != lp_seek(lp, (long)at);
        } else if (r < 55 && n > 0) {
            long long v = (long long)(trand() >> (trand() % 64));
            if (trand() & 1)
                v = -v;
            size_t i = trand() % n;
            unsigned char *p = lp_seek(lp, -(long)(n - i));
            lp = lp_insert_int(lp, p, LP_BEFORE, v, NULL);
            char tmp[32];
            struct mstr m;
            m.len = (size_t)snprintf(tmp, sizeof(tmp), "%lld", v);
            m.s = malloc(m.len + 1);
            memcpy(m.s, tmp, m.len);
            memmove(model + i + 1, model + i, (n - i) * sizeof(*model));
            model[i] = m;
            n++;
        } else if (r < 70 && n > 0) {
            struct mstr m = rand_value();
            size_t i = trand() % n;
            unsigned char *p = lp_seek(lp, (long)i);
            lp = lp_replace(lp, &p, m.s, m.len);
            free(model[i].s);
            model[i] = m;
            failed |= !entry_is(p, &m) || p != lp_seek(lp, (long)i);
        } else if (r < 80 && n > 0) {
            size_t i = trand() % n;
            unsigned char *next;
            lp = lp_delete(lp, lp_seek(lp, (long)i), &next);
            free(model[i].s);
            memmove(model + i, model + i + 1, (n - i - 1) * sizeof(*model));
            n--;
            failed |= i < n ? next != lp_seek(lp, (long)i) : next != NULL;
        } else if (r < 85 && n > 0) {
            long idx = (long)(trand() % n);
            size_t num = trand() % 8;
            if (trand() & 1)
                idx -= (long)n;
            size_t i = idx < 0 ? (size_t)(idx + (long)n) : (size_t)idx;
            if (num > n - i)
                num = n - i;
            /* Asking for more than remain stops at the end. */
            size_t ask = i + num == n ? num + (trand() % 3) * 1000 : num;
            lp = lp_delete_range(lp, idx, ask);
            for (size_t k = i; k < i + num; k++)
                free(model[k].s);
            memmove(model + i, model + i + num, (n - i - num) * sizeof(*model));
            n -= num;
        } else if (r < 95 && n > 0) {
            size_t i = trand() % n;
            unsigned skip = (unsigned)(trand() % 3);
            size_t start = trand() % n;
            unsigned char *p =
                lp_find(lp, lp_seek(lp, (long)start), model[i].s, model[i].len, skip);
            size_t want = SIZE_MAX;
            for (size_t k = start; k < n; k += skip + 1) {
                if (model[k].len == model[i].len &&
                    memcmp(model[k].s, model[i].s, model[i].len) == 0) {
                    want = k;
                    break;
                }
            }
            failed |= want == SIZE_MAX ? p != NULL : p != lp_seek(lp, (long)want);
        } else if (n > 0) {
            size_t i = trand() % n;
            failed |= !entry_is(lp_seek(lp, (long)i), &model[i]) ||
                      !entry_is(lp_seek(lp, (long)i - (long)n), &model[i]);
        }
        if (op % 97 == 0)
            failed |= !check_model(lp, model, n);
        if (failed)
            printf("  random_against_model: mismatch at op %d\n", op);
    }
    CHECK(!failed);
    CHECK(check_model(lp, model, n));
    for (size_t i = 0; i < n; i++)
        free(model[i].s);
    lp_free(lp);
}

/* ---------------------------------------------------------- validation */

static unsigned char *sample_lp(void)
{
    unsigned char *lp = lp_new();
    for (size_t i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++)
        lp = lp_append(lp, int_cases[i].s, strlen(int_cases[i].s));
    static const size_t lens[] = {0, 5, 63, 64, 126, 200, 4095, 4096};
    char big[5000];
    memset(big, 'z', sizeof(big));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        lp = lp_append(lp, big, lens[i]);
    return lp;
}

static int count_cb(const unsigned char *p, void *arg)
{
    (void)p;
    return ++*(int *)arg > 3;
}

TEST(validate_good_and_callback)
{
    unsigned char *lp = sample_lp();
    CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), NULL, NULL), 0);
    int n = 0;
    CHECK_EQ_INT(lp_validate(lp, lp_bytes(lp), count_cb, &n), LP_ERR_REJECTED);
    CHECK_EQ_INT(n, 4);
    lp_free(lp);
    static const unsigned char bad[][8] = {
        {7, 0, 0, 0, 0, 0, 0xFE},       /* no terminator */
        {7, 0, 0, 0, 1, 0, 0xFF},       /* count says 1 */
        {8, 0, 0, 0, 0, 0, 0xFF, 0xFF}, /* 0xFF where an entry should be */
        {8, 0, 0, 0, 1, 0, 0xF5, 0xFF}, /* invalid encoding */
        {8, 0, 0, 0, 1, 0, 0x01, 0xFF}, /* entry without back-length */
    };
    static const size_t sizes[] = {7, 7, 8, 8, 8};
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(lp_validate(bad[i], sizes[i], NULL, NULL), LP_ERR_CORRUPT);
    static const unsigned char good[] = {9, 0, 0, 0, 1, 0, 0x05, 0x01, 0xFF};
    CHECK_EQ_INT(lp_validate(good, sizeof(good), NULL, NULL), 0);
    /* A non-canonical back-length (two bytes for 1) is refused. */
    static const unsigned char longbl[] = {10, 0, 0, 0, 1, 0, 0x05, 0x00, 0x81, 0xFF};
    CHECK_EQ_INT(lp_validate(longbl, sizeof(longbl), NULL, NULL), LP_ERR_CORRUPT);
    /* A 32-bit string length far past the end. */
    static const unsigned char huge[] = {13,   0,    0,    0,    1,    0,   0xF0,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xFF};
    CHECK_EQ_INT(lp_validate(huge, sizeof(huge), NULL, NULL), LP_ERR_CORRUPT);
}

TEST(validate_truncations)
{
    unsigned char *lp = sample_lp();
    size_t size = lp_bytes(lp);
    for (size_t k = 0; k < size; k++) {
        /* An exact-size heap copy, so that ASan sees any overread. */
        unsigned char *c = malloc(k ? k : 1);
        memcpy(c, lp, k);
        CHECK(lp_validate(c, k, NULL, NULL) != 0);
        /* Same prefix made plausible: header total and a terminator. */
        if (k >= LP_HDR_SIZE + 1) {
            c[0] = (unsigned char)k;
            c[1] = (unsigned char)(k >> 8);
            c[2] = (unsigned char)(k >> 16);
            c[3] = (unsigned char)(k >> 24);
            c[k - 1] = LP_EOF;
            if (lp_validate(c, k, NULL, NULL) == 0) {
                printf("  truncation to %zu accepted\n", k);
                CHECK(0);
            }
        }
        free(c);
    }
    lp_free(lp);
}

/* A listpack that passes validation must be safe to walk and read. */
static void walk_all(unsigned char *lp)
{
    size_t fwd = 0, back = 0, len;
    char buf[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        lp_get_str(p, &len, buf);
        fwd++;
    }
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p))
        back++;
    CHECK_EQ_INT(fwd, back);
    CHECK_EQ_INT(lp_length(lp), fwd);
}

TEST(validate_random_corruptions)
{
    unsigned char *lp = sample_lp();
    size_t size = lp_bytes(lp);
    int accepted = 0, rejected = 0;
    for (int round = 0; round < 20000; round++) {
        unsigned char *c = malloc(size);
        memcpy(c, lp, size);
        int flips = 1 + (int)(trand() % 3);
        for (int f = 0; f < flips; f++) {
            /* Favour the structural bytes near entry starts and the header. */
            size_t pos = trand() % 4 == 0 ? trand() % 16 : trand() % size;
            c[pos] = (unsigned char)trand();
        }
        if (lp_validate(c, size, NULL, NULL) == 0) {
            accepted++;
            walk_all(c);
        } else {
            rejected++;
        }
        free(c);
    }
    CHECK(rejected > 0);
    CHECK(accepted > 0); /* flips inside string bytes leave it valid */
    /* Random garbage of random sizes, with a consistent header. */
    for (int round = 0; round < 20000; round++) {
        size_t n = 7 + trand() % 40;
        unsigned char *c = malloc(n);
        for (size_t i = 0; i < n; i++)
            c[i] = (unsigned char)trand();
        c[0] = (unsigned char)n;
        c[1] = c[2] = c[3] = 0;
        if (trand() & 1) {
            c[4] = 0xFF;
            c[5] = 0xFF;
        }
        c[n - 1] = LP_EOF;
        if (lp_validate(c, n, NULL, NULL) == 0)
            walk_all(c);
        free(c);
    }
    lp_free(lp);
}

int main(void)
{
    RUN(int_encodings);
    RUN(noncanonical_numbers_are_strings);
    RUN(string_encodings);
    RUN(empty);
    RUN(matches_redis_dump);
    RUN(find_with_skip);
    RUN(unknown_count);
    RUN(random_against_model);
    RUN(validate_good_and_callback);
    RUN(validate_truncations);
    RUN(validate_random_corruptions);
    return unit_report("test_listpack");
}
