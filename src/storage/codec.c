/*
 * codec.c: the on-disk layout of keys, value headers and expiry entries
 * (codec.h, DESIGN.md §4).
 *
 * Invariants:
 * - All integers are big-endian, so RocksDB's bytewise order is numeric
 *   order: keys of one db sort by (slot, h, user key), expiry entries by
 *   time.
 * - Decoders read only inside [buf, buf + len) and reject anything that an
 *   encoder of this format version could not have written (short input,
 *   slot >= 16384, unknown type or flag bits, expire times past INT64_MAX),
 *   so a caller never acts on garbage. What the layout cannot tell (a user
 *   key or payload cut short) is caught by codec_key_verify and by the
 *   payload's own decoder.
 */
#include "storage/codec.h"

#include <assert.h>
#include <string.h>

#include "ds/hashfn.h"

#define CODEC_SLOTS 16384u

void codec_put_u16(char *p, uint16_t v)
{
    unsigned char *u = (unsigned char *)p;
    u[0] = (unsigned char)(v >> 8);
    u[1] = (unsigned char)v;
}

void codec_put_u32(char *p, uint32_t v)
{
    unsigned char *u = (unsigned char *)p;
    u[0] = (unsigned char)(v >> 24);
    u[1] = (unsigned char)(v >> 16);
    u[2] = (unsigned char)(v >> 8);
    u[3] = (unsigned char)v;
}

void codec_put_u64(char *p, uint64_t v)
{
    codec_put_u32(p, (uint32_t)(v >> 32));
    codec_put_u32(p + 4, (uint32_t)v);
}

uint16_t codec_get_u16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)((unsigned)u[0] << 8 | u[1]);
}

uint32_t codec_get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

uint64_t codec_get_u64(const char *p)
{
    return (uint64_t)codec_get_u32(p) << 32 | codec_get_u32(p + 4);
}

/* ---- keys CF ------------------------------------------------------------ */

void codec_key_prefix(uint16_t dbid, unsigned slot, uint32_t h, char out[CODEC_KEY_PREFIX])
{
    /* slot is not checked against 16384: a SCAN cursor past the last slot
     * is a legal end bound and must still sort after every real key. */
    codec_put_u16(out, dbid);
    codec_put_u16(out + 2, (uint16_t)slot);
    codec_put_u32(out + 4, h);
}

size_t codec_key_encode_with(uint16_t dbid, unsigned slot, uint32_t h, const void *key, size_t klen,
                             char *out)
{
    assert(slot < CODEC_SLOTS);
    codec_key_prefix(dbid, slot, h, out);
    if (klen)
        memcpy(out + CODEC_KEY_PREFIX, key, klen);
    return CODEC_KEY_PREFIX + klen;
}

size_t codec_key_encode(uint16_t dbid, const void *key, size_t klen, char *out)
{
    return codec_key_encode_with(dbid, hashfn_keyslot(key, klen), hashfn_stable32(key, klen), key,
                                 klen, out);
}

int codec_key_decode(const char *buf, size_t len, uint16_t *dbid, unsigned *slot, uint32_t *h,
                     const char **key, size_t *klen)
{
    if (buf == NULL || len < CODEC_KEY_PREFIX)
        return CODEC_ERR;
    unsigned s = codec_get_u16(buf + 2);
    if (s >= CODEC_SLOTS)
        return CODEC_ERR;
    *dbid = codec_get_u16(buf);
    *slot = s;
    *h = codec_get_u32(buf + 4);
    *key = buf + CODEC_KEY_PREFIX;
    *klen = len - CODEC_KEY_PREFIX;
    return 0;
}

int codec_key_verify(const char *buf, size_t len)
{
    uint16_t dbid;
    unsigned slot;
    uint32_t h;
    const char *key;
    size_t klen;

    if (codec_key_decode(buf, len, &dbid, &slot, &h, &key, &klen) != 0)
        return CODEC_ERR;
    if (hashfn_keyslot(key, klen) != slot || hashfn_stable32(key, klen) != h)
        return CODEC_ERR;
    return 0;
}

/* ---- value header ------------------------------------------------------- */

size_t codec_header_encode(const struct codec_header *h, char *out)
{
    uint8_t flags = (uint8_t)(h->flags & ~CODEC_F_EXPIRE);

    if (h->expire_ms >= 0)
        flags |= CODEC_F_EXPIRE;
    out[0] = (char)h->type;
    out[1] = (char)h->encoding;
    out[2] = (char)flags;
    if (!(flags & CODEC_F_EXPIRE))
        return 3;
    codec_put_u64(out + 3, (uint64_t)h->expire_ms);
    return CODEC_HEADER_MAX;
}

int codec_header_decode(const char *buf, size_t len, struct codec_header *h, const char **payload,
                        size_t *plen)
{
    size_t hlen = 3;

    if (buf == NULL || len < hlen)
        return CODEC_ERR;
    uint8_t type = (uint8_t)buf[0], flags = (uint8_t)buf[2];
    if (type > CODEC_T_LAST || (flags & ~CODEC_F_KNOWN))
        return CODEC_ERR;
    int64_t expire_ms = -1;
    if (flags & CODEC_F_EXPIRE) {
        if (len < CODEC_HEADER_MAX)
            return CODEC_ERR;
        uint64_t at = codec_get_u64(buf + 3);
        if (at > (uint64_t)INT64_MAX)
            return CODEC_ERR;
        expire_ms = (int64_t)at;
        hlen = CODEC_HEADER_MAX;
    }
    h->type = type;
    h->encoding = (uint8_t)buf[1];
    h->flags = flags;
    h->expire_ms = expire_ms;
    *payload = buf + hlen;
    *plen = len - hlen;
    return 0;
}

/* ---- split values ------------------------------------------------------- */

void codec_split_meta_encode(const struct codec_split_meta *m, char out[CODEC_SPLIT_META])
{
    codec_put_u64(out, m->version);
    codec_put_u64(out + 8, m->count);
    codec_put_u64(out + 16, m->aux);
}

int codec_split_meta_decode(const char *p, size_t len, struct codec_split_meta *m)
{
    if (len < CODEC_SPLIT_META)
        return CODEC_ERR;
    m->version = codec_get_u64(p);
    m->count = codec_get_u64(p + 8);
    m->aux = codec_get_u64(p + 16);
    return m->version == 0 ? CODEC_ERR : 0;
}

void codec_elem_prefix(uint16_t dbid, uint64_t version, char out[CODEC_ELEM_PREFIX])
{
    codec_put_u16(out, dbid);
    codec_put_u64(out + 2, version);
}

size_t codec_elem_key_encode(uint16_t dbid, uint64_t version, const void *sub, size_t slen,
                             char *out)
{
    codec_elem_prefix(dbid, version, out);
    if (slen)
        memcpy(out + CODEC_ELEM_PREFIX, sub, slen);
    return CODEC_ELEM_PREFIX + slen;
}

int codec_elem_next(const char **p, const char *end, const char **sub, size_t *slen,
                    const char **data, size_t *dlen)
{
    const char *q = *p;
    if (q == end)
        return 0;
    if (end - q < 4)
        return CODEC_ERR;
    uint32_t sl = codec_get_u32(q);
    q += 4;
    if ((size_t)(end - q) < (size_t)sl + 4)
        return CODEC_ERR;
    *sub = q;
    *slen = sl;
    q += sl;
    uint32_t dl = codec_get_u32(q);
    q += 4;
    if ((size_t)(end - q) < dl)
        return CODEC_ERR;
    *data = q;
    *dlen = dl;
    *p = q + dl;
    return 1;
}

/* ---- expiry CF ---------------------------------------------------------- */

size_t codec_expiry_key_encode(int64_t expire_ms, uint16_t dbid, const void *key, size_t klen,
                               char *out)
{
    /* Times before the epoch never reach storage (such a key is deleted at
     * once); a negative value here would sort after every real entry. */
    assert(expire_ms >= 0);
    codec_put_u64(out, (uint64_t)expire_ms);
    codec_put_u16(out + 8, dbid);
    if (klen)
        memcpy(out + CODEC_EXPIRY_PREFIX, key, klen);
    return CODEC_EXPIRY_PREFIX + klen;
}

int codec_expiry_key_decode(const char *buf, size_t len, int64_t *expire_ms, uint16_t *dbid,
                            const char **key, size_t *klen)
{
    if (buf == NULL || len < CODEC_EXPIRY_PREFIX)
        return CODEC_ERR;
    uint64_t at = codec_get_u64(buf);
    if (at > (uint64_t)INT64_MAX)
        return CODEC_ERR;
    *expire_ms = (int64_t)at;
    *dbid = codec_get_u16(buf + 8);
    *key = buf + CODEC_EXPIRY_PREFIX;
    *klen = len - CODEC_EXPIRY_PREFIX;
    return 0;
}
