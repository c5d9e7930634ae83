/*
 * listpack.c: Redis's listpack byte format (listpack.h), written from its
 * public specification.
 *
 * Layout: total bytes (u32 LE) · entry count (u16 LE, LP_COUNT_UNKNOWN when
 * it does not fit) · entries · 0xFF. An entry is its encoding byte(s) and
 * data, then a back-length: the size of encoding+data written in 7-bit
 * groups, most significant first, every group but the first with bit 7
 * set, so that it can be read from its last byte towards the left.
 *
 * First byte of an entry:
 *   0xxxxxxx          7-bit unsigned integer
 *   10xxxxxx          string, 6-bit length, then the bytes
 *   110xxxxx b        13-bit signed integer (high bits first)
 *   1110xxxx b        string, 12-bit length, then the bytes
 *   11110000 +4       string, 32-bit LE length, then the bytes
 *   11110001..0100    16, 24, 32, 64-bit signed LE integer
 *   11111111          terminator; 0xF5..0xFE are invalid
 *
 * Invariants: the header's total equals the block's size; the count is
 * exact, or LP_COUNT_UNKNOWN (which may then stay even after the list
 * shrinks below 65535, as in Redis); every value is written with the
 * smallest encoding that holds it, and every back-length with the fewest
 * bytes, so equal contents give equal bytes.
 */
#include "ds/listpack.h"

#include <assert.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/util.h"

#define ENC_UINT7_MASK 0x80
#define ENC_STR6       0x80
#define ENC_INT13      0xC0
#define ENC_STR12      0xE0
#define ENC_STR32      0xF0
#define ENC_INT16      0xF1
#define ENC_INT24      0xF2
#define ENC_INT32      0xF3
#define ENC_INT64      0xF4

#define ENTRY_HDR_MAX 9 /* the largest encoding without string bytes: 0xF4 + 8 */

/* ------------------------------------------------------------- header */

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

static unsigned hdr_count(const unsigned char *lp)
{
    return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}

static void hdr_set_count(unsigned char *lp, size_t n)
{
    if (n > LP_COUNT_UNKNOWN)
        n = LP_COUNT_UNKNOWN;
    lp[4] = (unsigned char)n;
    lp[5] = (unsigned char)(n >> 8);
}

/* ------------------------------------------------------- back-lengths */

static size_t backlen_size(size_t l)
{
    if (l < 128)
        return 1;
    if (l < 16384)
        return 2;
    if (l < 2097152)
        return 3;
    if (l < 268435456)
        return 4;
    return 5;
}

static size_t backlen_write(unsigned char *buf, size_t l)
{
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) {
        size_t shift = 7 * (n - 1 - i);
        buf[i] = (unsigned char)((l >> shift) & 127);
        if (i > 0)
            buf[i] |= 128;
    }
    return n;
}

/* Reads a back-length whose last byte is at `p` (trusted listpack). */
static size_t backlen_read(const unsigned char *p)
{
    size_t v = 0;
    unsigned shift = 0;
    for (;;) {
        v |= (size_t)(*p & 127) << shift;
        if (!(*p & 128))
            return v;
        shift += 7;
        p--;
    }
}

/* ------------------------------------------------------------ entries */

/* Bytes needed to know an entry's size from its first byte; 0 if invalid. */
static size_t enc_hdr_bytes(unsigned char b)
{
    if (b < 0xE0)
        return 1;
    if (b < 0xF0)
        return 2;
    if (b == ENC_STR32)
        return 5;
    if (b <= ENC_INT64)
        return 1;
    return 0;
}

/* Size of encoding + data of the entry at `p`, given that enc_hdr_bytes
 * of its first byte are readable and it is not invalid or the terminator. */
static uint64_t enc_size(const unsigned char *p)
{
    unsigned char b = p[0];
    if (!(b & ENC_UINT7_MASK))
        return 1;
    if ((b & 0xC0) == ENC_STR6)
        return 1 + (uint64_t)(b & 0x3F);
    if ((b & 0xE0) == ENC_INT13)
        return 2;
    if ((b & 0xF0) == ENC_STR12)
        return 2 + (((uint64_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case ENC_STR32:
        return 5 + (uint64_t)rd_u32(p + 1);
    case ENC_INT16:
        return 3;
    case ENC_INT24:
        return 4;
    case ENC_INT32:
        return 5;
    default:
        return 9;
    }
}

static size_t entry_size(const unsigned char *p)
{
    size_t e = (size_t)enc_size(p);
    return e + backlen_size(e);
}

/* Encodes integer `v` into buf; returns its size. */
static size_t enc_int(unsigned char *buf, int64_t v)
{
    uint64_t u = (uint64_t)v;
    size_t n;
    if (v >= 0 && v <= 127) {
        buf[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        buf[0] = (unsigned char)(ENC_INT13 | ((u >> 8) & 0x1F));
        buf[1] = (unsigned char)u;
        return 2;
    }
    if (v >= INT16_MIN && v <= INT16_MAX) {
        buf[0] = ENC_INT16;
        n = 2;
    } else if (v >= -8388608 && v <= 8388607) {
        buf[0] = ENC_INT24;
        n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        buf[0] = ENC_INT32;
        n = 4;
    } else {
        buf[0] = ENC_INT64;
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = (unsigned char)(u >> (8 * i));
    return 1 + n;
}

/* Encoding bytes of a string of `len` bytes (the bytes follow). */
static size_t enc_str_hdr(unsigned char *buf, size_t len)
{
    if (len < 64) {
        buf[0] = (unsigned char)(ENC_STR6 | len);
        return 1;
    }
    if (len < 4096) {
        buf[0] = (unsigned char)(ENC_STR12 | (len >> 8));
        buf[1] = (unsigned char)len;
        return 2;
    }
    buf[0] = ENC_STR32;
    wr_u32(buf + 1, (uint32_t)len);
    return 5;
}

static int64_t sign_extend(uint64_t u, unsigned bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    return (int64_t)((u ^ m) - m);
}

const unsigned char *lp_get(const unsigned char *p, size_t *len, int64_t *ival)
{
    unsigned char b = p[0];
    uint64_t u = 0;
    unsigned bits;

    if (!(b & ENC_UINT7_MASK)) {
        *ival = b;
        return NULL;
    }
    if ((b & 0xC0) == ENC_STR6) {
        *len = b & 0x3F;
        return p + 1;
    }
    if ((b & 0xE0) == ENC_INT13) {
        *ival = sign_extend(((uint64_t)(b & 0x1F) << 8) | p[1], 13);
        return NULL;
    }
    if ((b & 0xF0) == ENC_STR12) {
        *len = ((size_t)(b & 0x0F) << 8) | p[1];
        return p + 2;
    }
    switch (b) {
    case ENC_STR32:
        *len = rd_u32(p + 1);
        return p + 5;
    case ENC_INT16:
        bits = 16;
        break;
    case ENC_INT24:
        bits = 24;
        break;
    case ENC_INT32:
        bits = 32;
        break;
    default:
        assert(b == ENC_INT64);
        bits = 64;
        break;
    }
    for (unsigned i = 0; i < bits / 8; i++)
        u |= (uint64_t)p[1 + i] << (8 * i);
    *ival = bits == 64 ? (int64_t)u : sign_extend(u, bits);
    return NULL;
}

const unsigned char *lp_get_str(const unsigned char *p, size_t *len, char *buf)
{
    int64_t v;
    const unsigned char *s = lp_get(p, len, &v);
    if (s)
        return s;
    *len = (size_t)util_ll2str(buf, LP_INTBUF_SIZE, v);
    return (const unsigned char *)buf;
}

int lp_equal(const unsigned char *p, const void *s, size_t len)
{
    size_t elen;
    int64_t v;
    const unsigned char *es = lp_get(p, &elen, &v);
    if (es)
        return elen == len && memcmp(es, s, len) == 0;
    long long sv;
    return util_str2ll(s, len, &sv) && sv == v;
}

/* ------------------------------------------------------------ walking */

size_t lp_bytes(const unsigned char *lp)
{
    return rd_u32(lp);
}

unsigned char *lp_first(unsigned char *lp)
{
    unsigned char *p = lp + LP_HDR_SIZE;
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += entry_size(p);
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
    if (p == lp + LP_HDR_SIZE)
        return NULL;
    size_t e = backlen_read(p - 1);
    return p - backlen_size(e) - e;
}

unsigned char *lp_last(unsigned char *lp)
{
    return lp_prev(lp, lp + lp_bytes(lp) - 1);
}

size_t lp_length(unsigned char *lp)
{
    unsigned n = hdr_count(lp);
    if (n != LP_COUNT_UNKNOWN)
        return n;
    size_t count = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p))
        count++;
    hdr_set_count(lp, count);
    return count;
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
    unsigned n = hdr_count(lp);
    unsigned char *p;

    /* With a known count, walk from whichever end is nearer. */
    if (n != LP_COUNT_UNKNOWN) {
        if (index < 0)
            index += (long)n;
        if (index < 0 || index >= (long)n)
            return NULL;
        if ((unsigned long)index > n / 2)
            index -= (long)n;
    }
    if (index >= 0) {
        for (p = lp_first(lp); p && index > 0; index--)
            p = lp_next(lp, p);
    } else {
        for (p = lp_last(lp); p && index < -1; index++)
            p = lp_prev(lp, p);
    }
    return p;
}

/* ----------------------------------------------------------- changing */

/* Replaces `del` bytes at offset `off` with the entry hdr+data (none when
 * hdr is NULL) and adjusts the count by `delta`. */
static unsigned char *lp_splice(unsigned char *lp, size_t off, size_t del, const unsigned char *hdr,
                                size_t hdrlen, const void *data, size_t datalen, long delta)
{
    size_t old = lp_bytes(lp);
    size_t enclen = hdrlen + datalen;
    size_t add = hdr ? enclen + backlen_size(enclen) : 0;
    uint64_t total = (uint64_t)old - del + add;

    if (total > UINT32_MAX)
        return NULL;
    if (add > del)
        lp = hot_realloc(lp, (size_t)total);
    memmove(lp + off + add, lp + off + del, old - off - del);
    if (hdr) {
        memcpy(lp + off, hdr, hdrlen);
        if (datalen)
            memcpy(lp + off + hdrlen, data, datalen);
        backlen_write(lp + off + enclen, enclen);
    }
    if (add < del)
        lp = hot_realloc(lp, (size_t)total);
    wr_u32(lp, (uint32_t)total);

    unsigned n = hdr_count(lp);
    if (n != LP_COUNT_UNKNOWN)
        hdr_set_count(lp, (size_t)((long)n + delta));
    return lp;
}

/* Encoding of a value given as a string: integer if canonical. */
static size_t enc_value(unsigned char *hdr, const void *s, size_t *len)
{
    long long v;
    if (util_str2ll(s, *len, &v)) {
        *len = 0;
        return enc_int(hdr, v);
    }
    return enc_str_hdr(hdr, *len);
}

static unsigned char *lp_insert_enc(unsigned char *lp, unsigned char *p, int where,
                                    const unsigned char *hdr, size_t hdrlen, const void *data,
                                    size_t datalen, unsigned char **newp)
{
    if (where == LP_AFTER) {
        assert(*p != LP_EOF);
        p += entry_size(p);
    }
    size_t off = (size_t)(p - lp);
    lp = lp_splice(lp, off, 0, hdr, hdrlen, data, datalen, 1);
    if (lp && newp)
        *newp = lp + off;
    return lp;
}

unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where, const void *s, size_t len,
                         unsigned char **newp)
{
    unsigned char hdr[ENTRY_HDR_MAX];
    size_t hdrlen = enc_value(hdr, s, &len);
    return lp_insert_enc(lp, p, where, hdr, hdrlen, s, len, newp);
}

unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, int where, int64_t v,
                             unsigned char **newp)
{
    unsigned char hdr[ENTRY_HDR_MAX];
    size_t hdrlen = enc_int(hdr, v);
    return lp_insert_enc(lp, p, where, hdr, hdrlen, NULL, 0, newp);
}

unsigned char *lp_append(unsigned char *lp, const void *s, size_t len)
{
    return lp_insert(lp, lp + lp_bytes(lp) - 1, LP_BEFORE, s, len, NULL);
}

unsigned char *lp_append_int(unsigned char *lp, int64_t v)
{
    return lp_insert_int(lp, lp + lp_bytes(lp) - 1, LP_BEFORE, v, NULL);
}

unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len)
{
    return lp_insert(lp, lp + LP_HDR_SIZE, LP_BEFORE, s, len, NULL);
}

unsigned char *lp_prepend_int(unsigned char *lp, int64_t v)
{
    return lp_insert_int(lp, lp + LP_HDR_SIZE, LP_BEFORE, v, NULL);
}

static unsigned char *lp_replace_enc(unsigned char *lp, unsigned char **p, const unsigned char *hdr,
                                     size_t hdrlen, const void *data, size_t datalen)
{
    size_t off = (size_t)(*p - lp);
    lp = lp_splice(lp, off, entry_size(*p), hdr, hdrlen, data, datalen, 0);
    if (lp)
        *p = lp + off;
    return lp;
}

unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len)
{
    unsigned char hdr[ENTRY_HDR_MAX];
    size_t hdrlen = enc_value(hdr, s, &len);
    return lp_replace_enc(lp, p, hdr, hdrlen, s, len);
}

unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, int64_t v)
{
    unsigned char hdr[ENTRY_HDR_MAX];
    size_t hdrlen = enc_int(hdr, v);
    return lp_replace_enc(lp, p, hdr, hdrlen, NULL, 0);
}

unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char **p, size_t num)
{
    unsigned char *q = *p;
    size_t n = 0;
    while (n < num && *q != LP_EOF) {
        q += entry_size(q);
        n++;
    }
    size_t off = (size_t)(*p - lp);
    lp = lp_splice(lp, off, (size_t)(q - *p), NULL, 0, NULL, 0, -(long)n);
    *p = lp[off] == LP_EOF ? NULL : lp + off;
    return lp;
}

unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **newp)
{
    lp = lp_delete_range_at(lp, &p, 1);
    if (newp)
        *newp = p;
    return lp;
}

unsigned char *lp_delete_range(unsigned char *lp, long index, size_t num)
{
    unsigned char *p = lp_seek(lp, index);
    if (!p || num == 0)
        return lp;
    return lp_delete_range_at(lp, &p, num);
}

unsigned char *lp_append_entries(unsigned char *lp, const unsigned char *p, size_t num,
                                 size_t *copied)
{
    /* entries are position-independent (their back-length is their own
     * size), so a run of them is copied as bytes, never decoded */
    const unsigned char *q = p;
    size_t n = 0;
    while (n < num && *q != LP_EOF) {
        q += entry_size(q);
        n++;
    }
    size_t add = (size_t)(q - p);
    size_t old = lp_bytes(lp);
    if ((uint64_t)old + add > UINT32_MAX)
        return NULL;
    lp = hot_realloc(lp, old + add);
    memcpy(lp + old - 1, p, add);
    lp[old - 1 + add] = LP_EOF;
    wr_u32(lp, (uint32_t)(old + add));
    /* an unknown count stays unknown: no scan on every append */
    unsigned count = hdr_count(lp);
    if (count != LP_COUNT_UNKNOWN)
        hdr_set_count(lp, count + n);
    if (copied)
        *copied = n;
    return lp;
}

unsigned char *lp_concat(unsigned char *const *lps, size_t n)
{
    uint64_t total = LP_HDR_SIZE + 1;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = hdr_count(lps[i]);
        total += lp_bytes(lps[i]) - LP_HDR_SIZE - 1;
        count = c == LP_COUNT_UNKNOWN || count == LP_COUNT_UNKNOWN ? LP_COUNT_UNKNOWN : count + c;
    }
    if (total > UINT32_MAX)
        return NULL;
    /* one allocation: growing a big blob append by append would copy it
     * over and over */
    unsigned char *lp = hot_malloc((size_t)total);
    wr_u32(lp, (uint32_t)total);
    hdr_set_count(lp, count);
    size_t off = LP_HDR_SIZE;
    for (size_t i = 0; i < n; i++) {
        size_t len = lp_bytes(lps[i]) - LP_HDR_SIZE - 1;
        memcpy(lp + off, lps[i] + LP_HDR_SIZE, len);
        off += len;
    }
    lp[off] = LP_EOF;
    return lp;
}

unsigned char *lp_new(void)
{
    unsigned char *lp = hot_malloc(LP_HDR_SIZE + 1);
    wr_u32(lp, LP_HDR_SIZE + 1);
    hdr_set_count(lp, 0);
    lp[LP_HDR_SIZE] = LP_EOF;
    return lp;
}

void lp_free(unsigned char *lp)
{
    hot_free(lp);
}

/* ------------------------------------------------------------ finding */

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned skip)
{
    int parsed = 0, is_int = 0;
    long long sv = 0;
    unsigned left = 0;

    for (; p; p = lp_next(lp, p)) {
        if (left) {
            left--;
            continue;
        }
        left = skip;
        size_t elen;
        int64_t ev;
        const unsigned char *es = lp_get(p, &elen, &ev);
        if (es) {
            if (elen == len && memcmp(es, s, len) == 0)
                return p;
            continue;
        }
        /* Parse the needle once, on the first integer entry met. */
        if (!parsed) {
            is_int = util_str2ll(s, len, &sv);
            parsed = 1;
        }
        if (is_int && sv == ev)
            return p;
    }
    return NULL;
}

/* --------------------------------------------------------- validation */

int lp_validate(const unsigned char *buf, size_t size, lp_entry_cb cb, void *arg)
{
    if (size < LP_HDR_SIZE + 1 || size > UINT32_MAX)
        return LP_ERR_CORRUPT;
    if (rd_u32(buf) != size || buf[size - 1] != LP_EOF)
        return LP_ERR_CORRUPT;

    const unsigned char *p = buf + LP_HDR_SIZE;
    const unsigned char *end = buf + size - 1; /* the terminator */
    size_t count = 0;

    while (p < end) {
        size_t room = (size_t)(end - p);
        size_t need = enc_hdr_bytes(p[0]);
        if (need == 0 || need > room)
            return LP_ERR_CORRUPT; /* invalid encoding (or 0xFF too early) */
        uint64_t e = enc_size(p);
        if (e > room)
            return LP_ERR_CORRUPT;
        size_t bl = backlen_size((size_t)e);
        if (e + bl > room)
            return LP_ERR_CORRUPT;
        /* The back-length must be the canonical one, byte for byte, so that
         * walking backwards lands exactly where walking forwards did. */
        unsigned char want[5];
        backlen_write(want, (size_t)e);
        if (memcmp(p + e, want, bl) != 0)
            return LP_ERR_CORRUPT;
        if (cb && cb(p, arg) != 0)
            return LP_ERR_REJECTED;
        p += e + bl;
        count++;
    }
    if (p != end)
        return LP_ERR_CORRUPT;
    unsigned n = hdr_count(buf);
    if (n != LP_COUNT_UNKNOWN && n != count)
        return LP_ERR_CORRUPT;
    return 0;
}
