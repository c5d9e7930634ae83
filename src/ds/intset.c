/*
 * intset.c: Redis's intset byte format (intset.h).
 *
 * Invariants: values are strictly ascending; every value is stored with
 * the blob's one encoding (2, 4 or 8 bytes, little-endian, two's
 * complement); the blob is exactly header + length * encoding bytes. The
 * encoding only grows: adding a value that needs a wider one rewrites all
 * values first. Such a value is below or above every existing one (they
 * all fit the narrower width), so it goes at one end without a search.
 */
#include "ds/intset.h"

#include <assert.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/util.h"

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

unsigned intset_encoding(const unsigned char *is)
{
    return rd_u32(is);
}

size_t intset_length(const unsigned char *is)
{
    return rd_u32(is + 4);
}

size_t intset_blob_len(const unsigned char *is)
{
    return INTSET_HDR_SIZE + intset_length(is) * intset_encoding(is);
}

static unsigned enc_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX)
        return 2;
    if (v >= INT32_MIN && v <= INT32_MAX)
        return 4;
    return 8;
}

static int64_t val_at(const unsigned char *is, unsigned enc, size_t i)
{
    const unsigned char *p = is + INTSET_HDR_SIZE + i * enc;
    uint64_t u = 0;
    for (unsigned b = 0; b < enc; b++)
        u |= (uint64_t)p[b] << (8 * b);
    if (enc == 8)
        return (int64_t)u;
    uint64_t m = (uint64_t)1 << (enc * 8 - 1);
    return (int64_t)((u ^ m) - m);
}

static void val_set(unsigned char *is, unsigned enc, size_t i, int64_t v)
{
    unsigned char *p = is + INTSET_HDR_SIZE + i * enc;
    uint64_t u = (uint64_t)v;
    for (unsigned b = 0; b < enc; b++)
        p[b] = (unsigned char)(u >> (8 * b));
}

/* Binary search: 1 and the position if found, else 0 and the position
 * where `v` would go. */
static int search(const unsigned char *is, int64_t v, size_t *pos)
{
    unsigned enc = intset_encoding(is);
    size_t lo = 0, hi = intset_length(is);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t cur = val_at(is, enc, mid);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

unsigned char *intset_new(void)
{
    unsigned char *is = hot_malloc(INTSET_HDR_SIZE);
    wr_u32(is, 2);
    wr_u32(is + 4, 0);
    return is;
}

void intset_free(unsigned char *is)
{
    hot_free(is);
}

static unsigned char *upgrade_and_add(unsigned char *is, int64_t v)
{
    unsigned old = intset_encoding(is), enc = enc_for(v);
    size_t n = intset_length(is);
    int front = v < 0;

    is = hot_realloc(is, INTSET_HDR_SIZE + (n + 1) * enc);
    /* From the end backwards, so nothing is overwritten before it is read. */
    for (size_t i = n; i-- > 0;)
        val_set(is, enc, i + (size_t)front, val_at(is, old, i));
    val_set(is, enc, front ? 0 : n, v);
    wr_u32(is, enc);
    wr_u32(is + 4, (uint32_t)(n + 1));
    return is;
}

unsigned char *intset_add(unsigned char *is, int64_t v, int *added)
{
    unsigned enc = intset_encoding(is);
    size_t n = intset_length(is), pos;

    if (enc_for(v) > enc) {
        if (added)
            *added = 1;
        return upgrade_and_add(is, v);
    }
    if (search(is, v, &pos)) {
        if (added)
            *added = 0;
        return is;
    }
    assert(n < UINT32_MAX);
    is = hot_realloc(is, INTSET_HDR_SIZE + (n + 1) * enc);
    unsigned char *at = is + INTSET_HDR_SIZE + pos * enc;
    memmove(at + enc, at, (n - pos) * enc);
    val_set(is, enc, pos, v);
    wr_u32(is + 4, (uint32_t)(n + 1));
    if (added)
        *added = 1;
    return is;
}

unsigned char *intset_remove(unsigned char *is, int64_t v, int *removed)
{
    unsigned enc = intset_encoding(is);
    size_t n = intset_length(is), pos;

    if (enc_for(v) > enc || !search(is, v, &pos)) {
        if (removed)
            *removed = 0;
        return is;
    }
    unsigned char *at = is + INTSET_HDR_SIZE + pos * enc;
    memmove(at, at + enc, (n - pos - 1) * enc);
    wr_u32(is + 4, (uint32_t)(n - 1));
    is = hot_realloc(is, INTSET_HDR_SIZE + (n - 1) * enc);
    if (removed)
        *removed = 1;
    return is;
}

int intset_find(const unsigned char *is, int64_t v)
{
    size_t pos;
    return enc_for(v) <= intset_encoding(is) && search(is, v, &pos);
}

int intset_get(const unsigned char *is, size_t index, int64_t *v)
{
    if (index >= intset_length(is))
        return INTSET_ERR_RANGE;
    *v = val_at(is, intset_encoding(is), index);
    return 0;
}

int64_t intset_random(const unsigned char *is)
{
    size_t n = intset_length(is);
    assert(n > 0);
    return val_at(is, intset_encoding(is), (size_t)(util_rand64() % n));
}

int intset_validate(const unsigned char *buf, size_t size, int deep)
{
    if (size < INTSET_HDR_SIZE)
        return INTSET_ERR_CORRUPT;
    uint32_t enc = rd_u32(buf);
    if (enc != 2 && enc != 4 && enc != 8)
        return INTSET_ERR_CORRUPT;
    uint64_t n = rd_u32(buf + 4);
    if (n == 0 || INTSET_HDR_SIZE + n * enc != size)
        return INTSET_ERR_CORRUPT;
    if (!deep)
        return 0;
    int64_t prev = val_at(buf, enc, 0);
    for (size_t i = 1; i < n; i++) {
        int64_t cur = val_at(buf, enc, i);
        if (cur <= prev)
            return INTSET_ERR_CORRUPT;
        prev = cur;
    }
    return 0;
}
