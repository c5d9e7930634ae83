/*
 * test_codec.c: the on-disk layout (storage/codec.c): every encoding
 * round-trips, byte order gives the orderings SCAN and FLUSHDB rely on, and
 * truncated or corrupted input is refused without reading out of bounds
 * (run under ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/hashfn.h"
#include "storage/codec.h"
#include "unit.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Decodes an exact-size heap copy, so ASan sees any read past the end. */
static int key_decode_copy(const char *buf, size_t len, uint16_t *dbid, unsigned *slot, uint32_t *h,
                           char *key_out, size_t *klen)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    const char *k;
    int rc = codec_key_decode(copy, len, dbid, slot, h, &k, klen);
    if (rc == 0)
        memcpy(key_out, k, *klen);
    free(copy);
    return rc;
}

TEST(big_endian)
{
    char b[8];
    codec_put_u16(b, 0x1234);
    CHECK_EQ_MEM(b, 2, "\x12\x34", 2);
    CHECK_EQ_INT(codec_get_u16(b), 0x1234);
    codec_put_u32(b, 0xdeadbeefu);
    CHECK_EQ_MEM(b, 4, "\xde\xad\xbe\xef", 4);
    CHECK(codec_get_u32(b) == 0xdeadbeefu);
    codec_put_u64(b, 0x0102030405060708ull);
    CHECK_EQ_MEM(b, 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    CHECK(codec_get_u64(b) == 0x0102030405060708ull);
    codec_put_u64(b, UINT64_MAX);
    CHECK(codec_get_u64(b) == UINT64_MAX);
    codec_put_u16(b, 0xffff);
    CHECK_EQ_INT(codec_get_u16(b), 0xffff);
    for (int i = 0; i < 1000; i++) {
        uint64_t v = rng();
        codec_put_u64(b, v);
        CHECK(codec_get_u64(b) == v);
        codec_put_u32(b, (uint32_t)v);
        CHECK(codec_get_u32(b) == (uint32_t)v);
        codec_put_u16(b, (uint16_t)v);
        CHECK(codec_get_u16(b) == (uint16_t)v);
    }
}

TEST(key_roundtrip)
{
    static const uint16_t dbids[] = {0, 1, 15, 255, 256, 0x7fff, 0xfffe, 0xffff};
    size_t longlen = 100000;
    char *longkey = malloc(longlen);
    for (size_t i = 0; i < longlen; i++)
        longkey[i] = (char)rng();
    struct {
        const char *k;
        size_t len;
    } keys[] = {
        {"", 0},
        {"a", 1},
        {"foo", 3},
        {"\0\0\0", 3},
        {"\xff\xfe\x00\x01", 4},
        {"{user1000}.following", 21},
        {"key with spaces\r\n", 17},
        {longkey, longlen},
    };
    char *buf = malloc(longlen + CODEC_KEY_PREFIX);
    char *out = malloc(longlen + CODEC_KEY_PREFIX);

    for (size_t d = 0; d < sizeof(dbids) / sizeof(dbids[0]); d++) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            size_t n = codec_key_encode(dbids[d], keys[i].k, keys[i].len, buf);
            CHECK_EQ_INT(n, keys[i].len + CODEC_KEY_PREFIX);
            uint16_t dbid;
            unsigned slot;
            uint32_t h;
            size_t klen;
            CHECK_EQ_INT(key_decode_copy(buf, n, &dbid, &slot, &h, out, &klen), 0);
            CHECK_EQ_INT(dbid, dbids[d]);
            CHECK_EQ_INT(slot, hashfn_keyslot(keys[i].k, keys[i].len));
            CHECK(h == hashfn_stable32(keys[i].k, keys[i].len));
            CHECK_EQ_MEM(out, klen, keys[i].k, keys[i].len);
            CHECK_EQ_INT(codec_key_verify(buf, n), 0);

            /* the same bytes from encode_with */
            size_t m = codec_key_encode_with(dbids[d], slot, h, keys[i].k, keys[i].len, out);
            CHECK_EQ_MEM(out, m, buf, n);
        }
    }

    /* extremes of slot and h through encode_with */
    static const unsigned slots[] = {0, 1, 8191, 16383};
    static const uint32_t hs[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    for (size_t d = 0; d < sizeof(dbids) / sizeof(dbids[0]); d++)
        for (size_t s = 0; s < sizeof(slots) / sizeof(slots[0]); s++)
            for (size_t j = 0; j < sizeof(hs) / sizeof(hs[0]); j++) {
                size_t n = codec_key_encode_with(dbids[d], slots[s], hs[j], "k\0y", 3, buf);
                uint16_t dbid;
                unsigned slot;
                uint32_t h;
                size_t klen;
                CHECK_EQ_INT(key_decode_copy(buf, n, &dbid, &slot, &h, out, &klen), 0);
                CHECK_EQ_INT(dbid, dbids[d]);
                CHECK_EQ_INT(slot, slots[s]);
                CHECK(h == hs[j]);
                CHECK_EQ_MEM(out, klen, "k\0y", 3);
                char pre[CODEC_KEY_PREFIX];
                codec_key_prefix(dbids[d], slots[s], hs[j], pre);
                CHECK_EQ_MEM(buf, CODEC_KEY_PREFIX, pre, CODEC_KEY_PREFIX);
            }
    free(buf);
    free(out);
    free(longkey);
}

TEST(key_slot_is_cluster_slot)
{
    char buf[64];
    uint16_t dbid;
    unsigned slot, slot2;
    uint32_t h, h2;
    const char *k;
    size_t klen;

    /* a hash tag puts keys in one slot (one contiguous range) */
    size_t n = codec_key_encode(3, "{user1000}.following", 20, buf);
    CHECK_EQ_INT(codec_key_decode(buf, n, &dbid, &slot, &h, &k, &klen), 0);
    n = codec_key_encode(3, "{user1000}.followers", 20, buf);
    CHECK_EQ_INT(codec_key_decode(buf, n, &dbid, &slot2, &h2, &k, &klen), 0);
    CHECK_EQ_INT(slot, slot2);
    CHECK_EQ_INT(slot, hashfn_keyslot("user1000", 8));
    /* a well-known Redis Cluster slot: CLUSTER KEYSLOT foo = 12182 */
    n = codec_key_encode(0, "foo", 3, buf);
    CHECK_EQ_INT(codec_key_decode(buf, n, &dbid, &slot, &h, &k, &klen), 0);
    CHECK_EQ_INT(slot, 12182);
}

struct enc {
    char b[40];
    size_t n;
    unsigned slot;
    uint32_t h;
    char key[24];
    size_t klen;
};

static int enc_cmp(const void *a, const void *b)
{
    const struct enc *x = a, *y = b;
    return cmp_bytes(x->b, x->n, y->b, y->n);
}

TEST(key_ordering)
{
    enum { N = 2000 };
    struct enc *e = calloc(N, sizeof(*e));

    for (int i = 0; i < N; i++) {
        e[i].klen = (size_t)(rng() % 20);
        for (size_t j = 0; j < e[i].klen; j++)
            e[i].key[j] = (char)rng();
        e[i].n = codec_key_encode(7, e[i].key, e[i].klen, e[i].b);
        e[i].slot = hashfn_keyslot(e[i].key, e[i].klen);
        e[i].h = hashfn_stable32(e[i].key, e[i].klen);
    }
    qsort(e, N, sizeof(*e), enc_cmp);
    /* bytewise order (RocksDB's) is (slot, h) order: a SCAN cursor
     * slot << 32 | h only moves forward */
    for (int i = 1; i < N; i++) {
        uint64_t a = (uint64_t)e[i - 1].slot << 32 | e[i - 1].h;
        uint64_t b = (uint64_t)e[i].slot << 32 | e[i].h;
        CHECK(a <= b);
    }

    /* a whole db is [prefix(dbid, 0, 0), prefix(dbid + 1, 0, 0)) */
    char lo[CODEC_KEY_PREFIX], hi[CODEC_KEY_PREFIX], lo8[CODEC_KEY_PREFIX], hi6[CODEC_KEY_PREFIX];
    codec_key_prefix(7, 0, 0, lo);
    codec_key_prefix(8, 0, 0, hi);
    codec_key_prefix(6, 0, 0, hi6);
    codec_key_prefix(8, 0, 0, lo8);
    for (int i = 0; i < N; i++) {
        CHECK(cmp_bytes(e[i].b, e[i].n, lo, CODEC_KEY_PREFIX) >= 0);
        CHECK(cmp_bytes(e[i].b, e[i].n, hi, CODEC_KEY_PREFIX) < 0);
    }
    /* the extreme keys of the neighbour dbs stay outside */
    char buf[64];
    size_t n = codec_key_encode_with(6, 16383, 0xffffffffu, "\xff\xff\xff", 3, buf);
    CHECK(cmp_bytes(buf, n, lo, CODEC_KEY_PREFIX) < 0);
    CHECK(cmp_bytes(buf, n, hi6, CODEC_KEY_PREFIX) >= 0);
    n = codec_key_encode_with(8, 0, 0, "", 0, buf);
    CHECK(cmp_bytes(buf, n, hi, CODEC_KEY_PREFIX) >= 0);
    CHECK(cmp_bytes(buf, n, lo8, CODEC_KEY_PREFIX) >= 0);
    n = codec_key_encode_with(7, 16383, 0xffffffffu, "\xff\xff\xff\xff", 4, buf);
    CHECK(cmp_bytes(buf, n, hi, CODEC_KEY_PREFIX) < 0);
    n = codec_key_encode_with(7, 0, 0, "", 0, buf);
    CHECK(cmp_bytes(buf, n, lo, CODEC_KEY_PREFIX) == 0);

    /* a cursor's prefix splits a db at (slot, h): keys before it are
     * exactly those with a smaller (slot, h) */
    for (int t = 0; t < 50; t++) {
        struct enc *c = &e[rng() % N];
        char pre[CODEC_KEY_PREFIX];
        codec_key_prefix(7, c->slot, c->h, pre);
        uint64_t cur = (uint64_t)c->slot << 32 | c->h;
        for (int i = 0; i < N; i++) {
            uint64_t k = (uint64_t)e[i].slot << 32 | e[i].h;
            CHECK((cmp_bytes(e[i].b, e[i].n, pre, CODEC_KEY_PREFIX) < 0) == (k < cur));
        }
    }
    /* slot 16384 (the cursor after the last slot) bounds the db from above */
    char end[CODEC_KEY_PREFIX];
    codec_key_prefix(7, 16384, 0, end);
    for (int i = 0; i < N; i++)
        CHECK(cmp_bytes(e[i].b, e[i].n, end, CODEC_KEY_PREFIX) < 0);
    free(e);
}

TEST(key_corrupt)
{
    char buf[64], out[64];
    uint16_t dbid;
    unsigned slot;
    uint32_t h;
    size_t klen;
    const char *k;
    size_t n = codec_key_encode(2, "some:user:key", 13, buf);

    /* shorter than the prefix: refused; a cut user key: refused by verify */
    for (size_t len = 0; len < n; len++) {
        int rc = key_decode_copy(buf, len, &dbid, &slot, &h, out, &klen);
        if (len < CODEC_KEY_PREFIX)
            CHECK_EQ_INT(rc, CODEC_ERR);
        else
            CHECK_EQ_INT(rc, 0);
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        CHECK_EQ_INT(codec_key_verify(copy, len), CODEC_ERR);
        free(copy);
    }
    CHECK_EQ_INT(codec_key_decode(NULL, 0, &dbid, &slot, &h, &k, &klen), CODEC_ERR);
    /* a slot out of range is corrupt */
    char bad[CODEC_KEY_PREFIX + 1];
    memcpy(bad, buf, CODEC_KEY_PREFIX);
    codec_put_u16(bad + 2, 16384);
    CHECK_EQ_INT(codec_key_decode(bad, CODEC_KEY_PREFIX, &dbid, &slot, &h, &k, &klen), CODEC_ERR);
    codec_put_u16(bad + 2, 0xffff);
    CHECK_EQ_INT(codec_key_decode(bad, CODEC_KEY_PREFIX, &dbid, &slot, &h, &k, &klen), CODEC_ERR);

    /* any flipped byte in the slot, h or the user key fails verification */
    for (int t = 0; t < 2000; t++) {
        char copy[64];
        memcpy(copy, buf, n);
        size_t pos = 2 + (size_t)(rng() % (n - 2)); /* dbid is not covered by the hash */
        copy[pos] ^= (char)(1 + rng() % 255);
        CHECK_EQ_INT(codec_key_verify(copy, n), CODEC_ERR);
        /* and decoding never crashes */
        (void)key_decode_copy(copy, n, &dbid, &slot, &h, out, &klen);
    }
}

static void header_roundtrip(uint8_t type, uint8_t encoding, uint8_t flags, int64_t expire_ms,
                             const char *payload, size_t plen)
{
    struct codec_header in = {type, encoding, flags, expire_ms}, out;
    char *buf = malloc(CODEC_HEADER_MAX + plen);
    size_t n = codec_header_encode(&in, buf);
    CHECK_EQ_INT(n, expire_ms >= 0 ? CODEC_HEADER_MAX : 3);
    memcpy(buf + n, payload, plen);
    const char *p;
    size_t pl;
    CHECK_EQ_INT(codec_header_decode(buf, n + plen, &out, &p, &pl), 0);
    CHECK_EQ_INT(out.type, type);
    CHECK_EQ_INT(out.encoding, encoding);
    CHECK_EQ_INT(out.flags, expire_ms >= 0 ? CODEC_F_EXPIRE : 0);
    CHECK_EQ_INT(out.expire_ms, expire_ms >= 0 ? expire_ms : -1);
    CHECK_EQ_MEM(p, pl, payload, plen);
    CHECK(p == buf + n);
    free(buf);
}

TEST(header_roundtrip)
{
    static const int64_t exps[] = {-1, 0, 1, 1700000000000ll, INT64_MAX};
    for (int t = CODEC_T_STRING; t <= CODEC_T_LAST; t++)
        for (size_t e = 0; e < sizeof(exps) / sizeof(exps[0]); e++) {
            header_roundtrip((uint8_t)t, 0, 0, exps[e], "", 0);
            header_roundtrip((uint8_t)t, 255, 0, exps[e], "payload\0bytes", 13);
            /* the flag in the input is ignored: expire_ms decides */
            header_roundtrip((uint8_t)t, 7, CODEC_F_EXPIRE, exps[e], "x", 1);
        }
    /* any expire below zero means none */
    header_roundtrip(CODEC_T_HASH, 1, 0, INT64_MIN, "abc", 3);
    header_roundtrip(CODEC_T_HASH, 1, 0, -5, "abc", 3);

    /* the exact bytes are the frozen format */
    struct codec_header h = {CODEC_T_ZSET, 2, 0, 0x0102030405060708ll};
    char buf[CODEC_HEADER_MAX];
    CHECK_EQ_INT(codec_header_encode(&h, buf), 11);
    CHECK_EQ_MEM(buf, 11, "\x03\x02\x01\x01\x02\x03\x04\x05\x06\x07\x08", 11);
    h.expire_ms = -1;
    CHECK_EQ_INT(codec_header_encode(&h, buf), 3);
    CHECK_EQ_MEM(buf, 3, "\x03\x02\x00", 3);
}

TEST(header_corrupt)
{
    struct codec_header in = {CODEC_T_LIST, 3, 0, 1234567890123ll}, out;
    char buf[32];
    size_t n = codec_header_encode(&in, buf);
    memcpy(buf + n, "pay", 3);
    const char *p;
    size_t pl;

    /* every cut inside the header is refused; a cut payload is the payload
     * decoder's to find, but never read past the end */
    for (size_t len = 0; len <= n + 3; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        int rc = codec_header_decode(copy, len, &out, &p, &pl);
        if (len < n) {
            CHECK_EQ_INT(rc, CODEC_ERR);
        } else {
            CHECK_EQ_INT(rc, 0);
            CHECK(p == copy + n && pl == len - n);
        }
        free(copy);
    }
    CHECK_EQ_INT(codec_header_decode(NULL, 0, &out, &p, &pl), CODEC_ERR);

    /* unknown types and flags are corrupt */
    char bad[CODEC_HEADER_MAX];
    memcpy(bad, buf, CODEC_HEADER_MAX);
    bad[0] = CODEC_T_LAST + 1;
    CHECK_EQ_INT(codec_header_decode(bad, CODEC_HEADER_MAX, &out, &p, &pl), CODEC_ERR);
    bad[0] = (char)0xff;
    CHECK_EQ_INT(codec_header_decode(bad, CODEC_HEADER_MAX, &out, &p, &pl), CODEC_ERR);
    memcpy(bad, buf, CODEC_HEADER_MAX);
    bad[2] = (char)(CODEC_F_EXPIRE | 0x80);
    CHECK_EQ_INT(codec_header_decode(bad, CODEC_HEADER_MAX, &out, &p, &pl), CODEC_ERR);
    /* an expire time past INT64_MAX cannot have been written */
    memcpy(bad, buf, CODEC_HEADER_MAX);
    codec_put_u64(bad + 3, (uint64_t)INT64_MAX + 1);
    CHECK_EQ_INT(codec_header_decode(bad, CODEC_HEADER_MAX, &out, &p, &pl), CODEC_ERR);
    /* a missing expire flag makes the header short, not wrong */
    memcpy(bad, "\x00\x00\x00", 3);
    CHECK_EQ_INT(codec_header_decode(bad, 3, &out, &p, &pl), 0);
    CHECK_EQ_INT(out.expire_ms, -1);
    CHECK_EQ_INT(pl, 0);

    /* random flips: refused or decoded within bounds, never a crash */
    int refused = 0;
    for (int t = 0; t < 5000; t++) {
        size_t len = n + 3;
        char *copy = malloc(len);
        memcpy(copy, buf, len);
        int flips = 1 + (int)(rng() % 3);
        for (int f = 0; f < flips; f++)
            copy[rng() % len] ^= (char)(1 + rng() % 255);
        int rc = codec_header_decode(copy, len, &out, &p, &pl);
        if (rc == 0) {
            CHECK(p >= copy && p + pl == copy + len);
            CHECK(out.type <= CODEC_T_LAST);
            CHECK((out.flags & ~CODEC_F_KNOWN) == 0);
            CHECK((out.expire_ms >= 0) == ((out.flags & CODEC_F_EXPIRE) != 0));
            /* what decodes re-encodes to the same header bytes */
            char re[CODEC_HEADER_MAX];
            size_t rn = codec_header_encode(&out, re);
            CHECK_EQ_MEM(re, rn, copy, (size_t)(p - copy));
        } else {
            CHECK_EQ_INT(rc, CODEC_ERR);
            refused++;
        }
        free(copy);
    }
    CHECK(refused > 0);
}

TEST(expiry_roundtrip)
{
    static const int64_t exps[] = {0, 1, 1700000000123ll, INT64_MAX};
    static const uint16_t dbids[] = {0, 1, 0xffff};
    char buf[64];
    for (size_t e = 0; e < sizeof(exps) / sizeof(exps[0]); e++)
        for (size_t d = 0; d < sizeof(dbids) / sizeof(dbids[0]); d++) {
            size_t n = codec_expiry_key_encode(exps[e], dbids[d], "k\0\xff", 3, buf);
            CHECK_EQ_INT(n, 3 + CODEC_EXPIRY_PREFIX);
            int64_t at;
            uint16_t dbid;
            const char *k;
            size_t klen;
            CHECK_EQ_INT(codec_expiry_key_decode(buf, n, &at, &dbid, &k, &klen), 0);
            CHECK_EQ_INT(at, exps[e]);
            CHECK_EQ_INT(dbid, dbids[d]);
            CHECK_EQ_MEM(k, klen, "k\0\xff", 3);
            n = codec_expiry_key_encode(exps[e], dbids[d], "", 0, buf);
            CHECK_EQ_INT(codec_expiry_key_decode(buf, n, &at, &dbid, &k, &klen), 0);
            CHECK_EQ_INT(klen, 0);
        }

    /* entries sort by time first, whatever the db and key */
    for (int t = 0; t < 2000; t++) {
        char a[64], b[64];
        int64_t ta = (int64_t)(rng() >> 1), tb = (int64_t)(rng() >> 1);
        if (t % 3 == 0)
            tb = ta + 1;
        size_t an = codec_expiry_key_encode(ta, (uint16_t)rng(), "zzzz", 4, a);
        size_t bn = codec_expiry_key_encode(tb, (uint16_t)rng(), "", 0, b);
        if (ta < tb)
            CHECK(cmp_bytes(a, an, b, bn) < 0);
        else if (ta > tb)
            CHECK(cmp_bytes(a, an, b, bn) > 0);
    }
}

TEST(expiry_corrupt)
{
    char buf[64];
    size_t n = codec_expiry_key_encode(1700000000000ll, 4, "key", 3, buf);
    int64_t at;
    uint16_t dbid;
    const char *k;
    size_t klen;

    for (size_t len = 0; len <= n; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        int rc = codec_expiry_key_decode(copy, len, &at, &dbid, &k, &klen);
        CHECK_EQ_INT(rc, len < CODEC_EXPIRY_PREFIX ? CODEC_ERR : 0);
        if (rc == 0)
            CHECK(k + klen == copy + len);
        free(copy);
    }
    CHECK_EQ_INT(codec_expiry_key_decode(NULL, 0, &at, &dbid, &k, &klen), CODEC_ERR);
    char bad[CODEC_EXPIRY_PREFIX];
    memcpy(bad, buf, sizeof(bad));
    bad[0] = (char)0x80; /* a time past INT64_MAX */
    CHECK_EQ_INT(codec_expiry_key_decode(bad, sizeof(bad), &at, &dbid, &k, &klen), CODEC_ERR);

    for (int t = 0; t < 2000; t++) {
        char *copy = malloc(n);
        memcpy(copy, buf, n);
        copy[rng() % n] ^= (char)(1 + rng() % 255);
        if (codec_expiry_key_decode(copy, n, &at, &dbid, &k, &klen) == 0) {
            CHECK(at >= 0);
            char re[64];
            size_t rn = codec_expiry_key_encode(at, dbid, k, klen, re);
            CHECK_EQ_MEM(re, rn, copy, n);
        }
        free(copy);
    }
}

int main(void)
{
    RUN(big_endian);
    RUN(key_roundtrip);
    RUN(key_slot_is_cluster_slot);
    RUN(key_ordering);
    RUN(key_corrupt);
    RUN(header_roundtrip);
    RUN(header_corrupt);
    RUN(expiry_roundtrip);
    RUN(expiry_corrupt);
    return unit_report("test_codec");
}
