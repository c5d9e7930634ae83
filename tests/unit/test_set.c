/*
 * test_set.c: unit tests of src/keyspace/object_set.c.
 *
 * The encoding rules (which first member makes an intset, when an intset
 * becomes a hashtable, that it never goes back), iteration and random
 * draws, and the stored form: a round trip keeps members and encoding, and
 * set_from_blob refuses corrupt or inconsistent bytes (run under ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/intset.h"
#include "ds/listpack.h"
#include "keyspace/object.h"
#include "keyspace/settings.h"
#include "unit.h"

static int has(obj *o, const char *m)
{
    return set_contains(o, m, strlen(m));
}

static int add(obj *o, const char *m)
{
    return set_add(o, m, strlen(m));
}

TEST(encodings)
{
    keyspace_settings.set_max_intset_entries = 4;
    obj *o = obj_set_new_for("12", 2);
    CHECK_EQ_INT(o->encoding, OBJ_ENC_INTSET);
    CHECK_EQ_INT(add(o, "12"), 1);
    CHECK_EQ_INT(add(o, "12"), 0);
    CHECK_EQ_INT(add(o, "-3"), 1);
    /* non-canonical integers are strings: not members of an intset */
    CHECK(!has(o, "012"));
    CHECK(!has(o, "+12"));
    CHECK(has(o, "-3"));
    CHECK_EQ_INT(set_remove(o, "012", 3), 0);
    CHECK_EQ_INT(add(o, "7"), 1);
    CHECK_EQ_INT(add(o, "8"), 1);
    CHECK_EQ_INT(o->encoding, OBJ_ENC_INTSET);
    CHECK_EQ_INT(add(o, "9"), 1); /* the fifth member passes the limit */
    CHECK_EQ_INT(o->encoding, OBJ_ENC_HT);
    CHECK_EQ_INT(set_len(o), 5);
    CHECK(has(o, "12") && has(o, "-3") && has(o, "9"));
    CHECK_EQ_INT(set_remove(o, "9", 1), 1);
    CHECK_EQ_INT(set_remove(o, "8", 1), 1);
    CHECK_EQ_INT(o->encoding, OBJ_ENC_HT);
    obj_free(o);

    keyspace_settings.set_max_intset_entries = 512;
    o = obj_set_new_for("x", 1);
    CHECK_EQ_INT(o->encoding, OBJ_ENC_HT);
    obj_free(o);
    o = obj_set_new();
    add(o, "1");
    CHECK_EQ_INT(add(o, "01"), 1);
    CHECK_EQ_INT(o->encoding, OBJ_ENC_HT);
    CHECK(has(o, "1") && has(o, "01"));
    obj_free(o);
    /* a long member (heap lookup key) and binary bytes */
    o = obj_set_new();
    char big[200];
    memset(big, 'z', sizeof(big));
    CHECK_EQ_INT(set_add(o, big, sizeof(big)), 1);
    CHECK_EQ_INT(set_add(o, "a\0b", 3), 1);
    CHECK(set_contains(o, big, sizeof(big)));
    CHECK(!set_contains(o, big, sizeof(big) - 1));
    CHECK(set_contains(o, "a\0b", 3));
    CHECK_EQ_INT(set_remove(o, big, sizeof(big)), 1);
    CHECK_EQ_INT(set_len(o), 1);
    obj_free(o);
}

TEST(iteration_order)
{
    obj *o = obj_set_new();
    const char *in[] = {"30", "-7", "2", "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < 5; i++)
        add(o, in[i]);
    const char *want[] = {"-9223372036854775808", "-7", "2", "30", "9223372036854775807"};
    struct set_iter it;
    const char *m;
    size_t ml, n = 0;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &m, &ml)) {
        CHECK(n < 5 && ml == strlen(want[n]) && memcmp(m, want[n], ml) == 0);
        n++;
    }
    set_iter_done(&it);
    CHECK_EQ_INT(n, 5);
    obj_free(o);
}

struct seen {
    int count[10];
    int calls;
};

static void note(void *ctx, const char *m, size_t len)
{
    struct seen *s = ctx;
    CHECK(len == 1 && m[0] >= '0' && m[0] <= '9');
    s->count[m[0] - '0']++;
    s->calls++;
}

TEST(random_distinct)
{
    for (int enc = 0; enc < 2; enc++) {
        obj *o = obj_set_new();
        for (int i = 0; i < 10; i++) {
            char d = (char)('0' + i);
            set_add(o, &d, 1);
        }
        if (enc)
            set_convert_to_ht(o);
        /* 2 of 10 draws with repeats skipped, 8 of 10 one pass */
        for (size_t count = 2; count <= 8; count += 6) {
            for (int round = 0; round < 50; round++) {
                struct seen s = {{0}, 0};
                set_random_distinct(o, count, note, &s);
                CHECK_EQ_INT(s.calls, (int)count);
                for (int i = 0; i < 10; i++)
                    CHECK(s.count[i] <= 1);
            }
        }
        char buf[OBJ_SET_BUF];
        size_t ml;
        for (int i = 0; i < 100; i++) {
            const char *m = set_random(o, &ml, buf);
            CHECK(ml == 1 && set_contains(o, m, ml));
        }
        obj_free(o);
    }
}

TEST(blob_round_trip)
{
    obj *o = obj_set_new();
    add(o, "5");
    add(o, "70000");
    size_t len;
    int must_free;
    const unsigned char *b = set_blob(o, &len, &must_free);
    CHECK_EQ_INT(must_free, 0);
    CHECK_EQ_INT(len, intset_blob_len(o->u.ptr));
    obj *r = set_from_blob(b, len, OBJ_ENC_INTSET);
    CHECK(r && r->encoding == OBJ_ENC_INTSET && set_len(r) == 2 && has(r, "70000"));
    obj_free(r);
    /* the same bytes as HT are not a listpack */
    CHECK(set_from_blob(b, len, OBJ_ENC_HT) == NULL);
    CHECK(set_from_blob(b, len, OBJ_ENC_LISTPACK) == NULL);

    set_convert_to_ht(o);
    add(o, "");
    add(o, "abc");
    b = set_blob(o, &len, &must_free);
    CHECK_EQ_INT(must_free, 1);
    r = set_from_blob(b, len, OBJ_ENC_HT);
    CHECK(r && r->encoding == OBJ_ENC_HT && set_len(r) == 4);
    CHECK(has(r, "") && has(r, "abc") && has(r, "5") && has(r, "70000"));
    obj *d = obj_dup(r);
    CHECK(d->encoding == OBJ_ENC_HT && set_len(d) == 4 && has(d, "abc"));
    obj_free(d);
    obj_free(r);
    /* every truncation is refused */
    for (size_t cut = 0; cut < len; cut++)
        CHECK(set_from_blob(b, cut, OBJ_ENC_HT) == NULL);
    hot_free((void *)b);
    obj_free(o);
}

TEST(blob_corrupt)
{
    /* a listpack with a member twice */
    unsigned char *lp = lp_new();
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "b", 1);
    lp = lp_append(lp, "a", 1);
    CHECK(set_from_blob(lp, lp_bytes(lp), OBJ_ENC_HT) == NULL);
    lp_free(lp);
    /* the integer 7 and the string "7" are the same member */
    lp = lp_new();
    lp = lp_append_int(lp, 7);
    lp = lp_append(lp, "7", 1);
    CHECK(set_from_blob(lp, lp_bytes(lp), OBJ_ENC_HT) == NULL);
    lp_free(lp);
    /* an empty set is never stored */
    lp = lp_new();
    CHECK(set_from_blob(lp, lp_bytes(lp), OBJ_ENC_HT) == NULL);
    lp_free(lp);
    /* intsets: unsorted, duplicated, bad width, empty */
    static const unsigned char unsorted[] = {2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0};
    static const unsigned char dup[] = {2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0};
    static const unsigned char width[] = {3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0};
    static const unsigned char empty[] = {2, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char good[] = {2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 5, 0};
    CHECK(set_from_blob(unsorted, sizeof(unsorted), OBJ_ENC_INTSET) == NULL);
    CHECK(set_from_blob(dup, sizeof(dup), OBJ_ENC_INTSET) == NULL);
    CHECK(set_from_blob(width, sizeof(width), OBJ_ENC_INTSET) == NULL);
    CHECK(set_from_blob(empty, sizeof(empty), OBJ_ENC_INTSET) == NULL);
    obj *o = set_from_blob(good, sizeof(good), OBJ_ENC_INTSET);
    CHECK(o && set_len(o) == 2 && has(o, "3") && has(o, "5"));
    obj_free(o);
    CHECK(set_from_blob(good, sizeof(good) - 1, OBJ_ENC_INTSET) == NULL);
}

int main(void)
{
    keyspace_settings.set_max_intset_entries = 512;
    RUN(encodings);
    RUN(iteration_order);
    RUN(random_distinct);
    RUN(blob_round_trip);
    RUN(blob_corrupt);
    return unit_report("test_set");
}
