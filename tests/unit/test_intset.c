/*
 * test_intset.c: unit tests of src/ds/intset.c.
 *
 * Exact bytes (checked against a DUMP from redis-server 7.0.15), upgrades
 * at every width boundary, a randomized run against a sorted array, and
 * intset_validate on truncations and corruptions (run under ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/intset.h"
#include "unit.h"

static uint64_t test_rng = 0x2545F4914F6CDD1DULL;
static uint64_t trand(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

/* SADD s 1 -5 70000; DUMP s (redis-server 7.0.15): the intset inside. */
TEST(matches_redis_dump)
{
    static const unsigned char redis[] = {0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
                                          0x00, 0xfb, 0xff, 0xff, 0xff, 0x01, 0x00,
                                          0x00, 0x00, 0x70, 0x11, 0x01, 0x00};
    unsigned char *is = intset_new();
    int added;
    is = intset_add(is, 1, &added);
    CHECK_EQ_INT(added, 1);
    is = intset_add(is, -5, &added);
    is = intset_add(is, 70000, &added);
    CHECK_EQ_MEM(is, intset_blob_len(is), redis, sizeof(redis));
    CHECK_EQ_INT(intset_validate(is, intset_blob_len(is), 1), 0);
    is = intset_add(is, 1, &added);
    CHECK_EQ_INT(added, 0);
    CHECK_EQ_MEM(is, intset_blob_len(is), redis, sizeof(redis));
    intset_free(is);
}

TEST(empty)
{
    unsigned char *is = intset_new();
    static const unsigned char want[] = {2, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_MEM(is, intset_blob_len(is), want, sizeof(want));
    CHECK_EQ_INT(intset_length(is), 0);
    CHECK(!intset_find(is, 0));
    int64_t v;
    CHECK_EQ_INT(intset_get(is, 0, &v), INTSET_ERR_RANGE);
    int removed = 1;
    is = intset_remove(is, 5, &removed);
    CHECK_EQ_INT(removed, 0);
    /* An empty set is never stored, so RESTORE must not accept one. */
    CHECK_EQ_INT(intset_validate(is, intset_blob_len(is), 1), INTSET_ERR_CORRUPT);
    intset_free(is);
}

TEST(upgrades)
{
    static const struct {
        int64_t v;
        unsigned enc;
    } cases[] = {
        {32767, 2},         {-32768, 2},       {32768, 4},         {-32769, 4},    {2147483647, 4},
        {-2147483648LL, 4}, {2147483648LL, 8}, {-2147483649LL, 8}, {INT64_MAX, 8}, {INT64_MIN, 8},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* Start from a small set, add the boundary value, check order. */
        unsigned char *is = intset_new();
        is = intset_add(is, 5, NULL);
        is = intset_add(is, -3, NULL);
        is = intset_add(is, 100, NULL);
        int added;
        is = intset_add(is, cases[i].v, &added);
        CHECK_EQ_INT(added, 1);
        CHECK_EQ_INT(intset_encoding(is), cases[i].enc);
        CHECK_EQ_INT(intset_blob_len(is), INTSET_HDR_SIZE + 4 * cases[i].enc);
        CHECK_EQ_INT(intset_validate(is, intset_blob_len(is), 1), 0);
        int64_t want[4] = {-3, 5, 100, cases[i].v}, got;
        if (cases[i].v < 0) {
            want[0] = cases[i].v;
            want[1] = -3;
            want[2] = 5;
            want[3] = 100;
        }
        for (size_t k = 0; k < 4; k++) {
            CHECK_EQ_INT(intset_get(is, k, &got), 0);
            CHECK_EQ_INT(got, want[k]);
            CHECK(intset_find(is, want[k]));
        }
        CHECK_EQ_INT(intset_get(is, 4, &got), INTSET_ERR_RANGE);
        /* Removing never narrows; a wide value absent from a narrow set is
         * simply not found. */
        int removed;
        is = intset_remove(is, cases[i].v, &removed);
        CHECK_EQ_INT(removed, 1);
        CHECK_EQ_INT(intset_encoding(is), cases[i].enc);
        CHECK(!intset_find(is, cases[i].v));
        CHECK_EQ_INT(intset_length(is), 3);
        intset_free(is);

        is = intset_add(intset_new(), 1, NULL);
        CHECK(!intset_find(is, cases[i].v) || cases[i].v == 1);
        is = intset_remove(is, cases[i].v, &removed);
        CHECK_EQ_INT(removed, 0);
        intset_free(is);
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t rand_value(int width)
{
    int64_t v = (int64_t)trand();
    if (width == 0)
        return v % 200 - 100;
    if (width == 1)
        return (int16_t)v;
    if (width == 2)
        return (int32_t)v;
    return v;
}

TEST(random_against_model)
{
    enum { OPS = 100000, MAXN = 2000 };
    int64_t *model = malloc(sizeof(int64_t) * (MAXN + 1));
    size_t n = 0;
    int failed = 0;
    unsigned char *is = intset_new();
    int width = 0;

    for (int op = 0; op < OPS && !failed; op++) {
        /* Every 20000 operations start over, widening the value range in
         * steps so every upgrade path is taken from a populated set. */
        if (op % 20000 == 0) {
            intset_free(is);
            is = intset_new();
            n = 0;
            width = 0;
        }
        if (op % 20000 == 4000 || op % 20000 == 8000 || op % 20000 == 12000)
            width++;
        uint64_t r = trand() % 100;
        int64_t v = rand_value((int)(trand() % (unsigned)(width + 1)));
        if (r < 50 && n < MAXN) {
            int added;
            is = intset_add(is, v, &added);
            size_t k = 0;
            while (k < n && model[k] < v)
                k++;
            int present = k < n && model[k] == v;
            if (!present) {
                memmove(model + k + 1, model + k, (n - k) * sizeof(*model));
                model[k] = v;
                n++;
            }
            failed |= added != !present;
        } else if (r < 75) {
            if (n && trand() % 2)
                v = model[trand() % n];
            int removed;
            is = intset_remove(is, v, &removed);
            size_t k = 0;
            while (k < n && model[k] < v)
                k++;
            int present = k < n && model[k] == v;
            if (present) {
                memmove(model + k, model + k + 1, (n - k - 1) * sizeof(*model));
                n--;
            }
            failed |= removed != present;
        } else if (r < 90) {
            if (n && trand() % 2)
                v = model[trand() % n];
            int present = bsearch(&v, model, n, sizeof(*model), cmp64) != NULL;
            failed |= intset_find(is, v) != present;
        } else if (n > 0) {
            int64_t rv = intset_random(is);
            failed |= bsearch(&rv, model, n, sizeof(*model), cmp64) == NULL;
            size_t k = trand() % n;
            int64_t got;
            failed |= intset_get(is, k, &got) != 0 || got != model[k];
        }
        if (op % 101 == 0) {
            failed |= intset_length(is) != n;
            for (size_t k = 0; k < n && !failed; k++) {
                int64_t got;
                failed |= intset_get(is, k, &got) != 0 || got != model[k];
            }
            if (n)
                failed |= intset_validate(is, intset_blob_len(is), 1) != 0;
        }
        if (failed)
            printf("  random_against_model: mismatch at op %d\n", op);
    }
    CHECK(!failed);
    intset_free(is);
    free(model);
}

TEST(random_covers_values)
{
    /* intset_random reaches every element of a small set. */
    unsigned char *is = intset_new();
    for (int64_t v = 0; v < 10; v++)
        is = intset_add(is, v * 1000003, NULL);
    int seen[10] = {0};
    for (int i = 0; i < 2000; i++)
        seen[intset_random(is) / 1000003]++;
    for (int i = 0; i < 10; i++)
        CHECK(seen[i] > 0);
    intset_free(is);
}

static unsigned char *sample_set(void)
{
    unsigned char *is = intset_new();
    for (int i = 0; i < 40; i++)
        is = intset_add(is, (int64_t)(trand() % 100000) - 50000, NULL);
    return is;
}

TEST(validate)
{
    unsigned char *is = sample_set();
    size_t size = intset_blob_len(is);
    CHECK_EQ_INT(intset_validate(is, size, 1), 0);
    for (size_t k = 0; k < size; k++) {
        unsigned char *c = malloc(k ? k : 1);
        memcpy(c, is, k);
        CHECK_EQ_INT(intset_validate(c, k, 1), INTSET_ERR_CORRUPT);
        CHECK_EQ_INT(intset_validate(c, k, 0), INTSET_ERR_CORRUPT);
        free(c);
    }
    /* Bad encodings, a length that disagrees with the size. */
    unsigned char *c = malloc(size);
    static const uint32_t bad_enc[] = {0, 1, 3, 16, 0x02000000};
    for (size_t i = 0; i < 5; i++) {
        memcpy(c, is, size);
        memcpy(c, &bad_enc[i], 4); /* little-endian host */
        CHECK_EQ_INT(intset_validate(c, size, 0), INTSET_ERR_CORRUPT);
    }
    memcpy(c, is, size);
    c[4]++;
    CHECK_EQ_INT(intset_validate(c, size, 0), INTSET_ERR_CORRUPT);
    memcpy(c, is, size);
    c[7] = 0x40; /* length near 2^30: size arithmetic must not wrap */
    CHECK_EQ_INT(intset_validate(c, size, 0), INTSET_ERR_CORRUPT);
    /* Out of order, and a duplicate: only the deep check sees them. */
    memcpy(c, is, size);
    memcpy(c + INTSET_HDR_SIZE, is + INTSET_HDR_SIZE + 2, 2);
    memcpy(c + INTSET_HDR_SIZE + 2, is + INTSET_HDR_SIZE, 2);
    CHECK_EQ_INT(intset_validate(c, size, 0), 0);
    CHECK_EQ_INT(intset_validate(c, size, 1), INTSET_ERR_CORRUPT);
    memcpy(c, is, size);
    memcpy(c + size - 2, is + size - 4, 2);
    CHECK_EQ_INT(intset_validate(c, size, 1), INTSET_ERR_CORRUPT);
    free(c);

    /* Random corruptions: an accepted blob must read back sorted. */
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        c = malloc(size);
        memcpy(c, is, size);
        size_t pos = trand() % size;
        c[pos] = (unsigned char)trand();
        if (intset_validate(c, size, 1) == 0) {
            accepted++;
            int64_t prev = 0, cur;
            for (size_t k = 0; k < intset_length(c); k++) {
                CHECK_EQ_INT(intset_get(c, k, &cur), 0);
                CHECK(k == 0 || cur > prev);
                prev = cur;
            }
        }
        free(c);
    }
    CHECK(accepted > 0);
    intset_free(is);
}

int main(void)
{
    RUN(matches_redis_dump);
    RUN(empty);
    RUN(upgrades);
    RUN(random_against_model);
    RUN(random_covers_values);
    RUN(validate);
    return unit_report("test_intset");
}
