/*
 * codec.h: how keys and values are laid out in RocksDB (DESIGN.md §4). This
 * is the on-disk format: the numbers and layouts here are frozen once
 * released; a new layout gets a new version, and old ones stay readable.
 *
 * keys CF key:    dbid (u16 BE) | slot (u16 BE) | h (u32 BE) | user key
 *   slot = hashfn_keyslot(user key), h = hashfn_stable32(user key), so a slot's
 *   keys are one range and SCAN's cursor is (slot << 32 | h).
 * keys CF value:  type (u8) | encoding (u8) | flags (u8) | [expire-at ms
 *   (u64 BE) if flags & CODEC_F_EXPIRE] | payload
 * expiry CF key:  expire-at ms (u64 BE) | dbid (u16 BE) | user key; empty value
 * elements CF key: dbid (u16 BE) | version (u64 BE) | subkey; value: the
 *   element's data. A big collection is stored split (CODEC_F_SPLIT): its
 *   keys-CF payload is only its metadata (version, count, aux) and each
 *   element is one elements-CF key under the value's version, so a change of
 *   one element writes one key. Versions are never reused: a value that is
 *   rewritten whole gets a new version and the old one is removed with one
 *   DeleteRange. Subkeys and data per type: hash field -> value, set member
 *   -> empty, sorted set member -> score (IEEE double, u64 BE), list
 *   absolute index (u64 BE) -> element (aux = the index of the first).
 * meta CF:        names (CODEC_META_*) to small values (u64 BE unless said).
 *
 * Decoding never trusts the bytes: truncated or malformed input gives
 * CODEC_ERR, never a crash or an out-of-bounds read.
 */
#ifndef LT_STORAGE_CODEC_H
#define LT_STORAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_ERR (-1)

#define CODEC_KEY_PREFIX    8         /* dbid + slot + h */
#define CODEC_F_EXPIRE      (1u << 0) /* an expire-at ms field follows the flags */
#define CODEC_F_SPLIT       (1u << 1) /* payload = split metadata (format 2) */
#define CODEC_F_KNOWN       (CODEC_F_EXPIRE | CODEC_F_SPLIT) /* others are corrupt */
#define CODEC_EXPIRY_PREFIX 10                               /* expire-at ms + dbid */
#define CODEC_ELEM_PREFIX   10                               /* dbid + version */
#define CODEC_SPLIT_META    24                               /* version, count, aux */

/* Format version written in meta under CODEC_META_VERSION. 1: every value
 * in one keys-CF value; 2: adds split values (format 1 data reads as is). */
#define CODEC_FORMAT_VERSION      2
#define CODEC_META_SPLIT_NEXT     "split-next-version" /* the next unused split version */
#define CODEC_META_VERSION        "format-version"
#define CODEC_META_DBMAP          "dbmap"        /* u16 BE dbid per db index */
#define CODEC_META_LOG_POSITION   "log-position" /* seq u64, offset u64, db+1 u16 */
#define CODEC_META_PROBE          "write-probe"  /* the time of the last write retried alone */
#define CODEC_META_COUNT_PREFIX   "count:"       /* "count:" + dbid (u16 BE) -> u64 BE */
#define CODEC_META_EXPIRES_PREFIX "expires:"     /* keys with a TTL: the same form */

/* Frozen value type numbers (never renumber). */
enum codec_type {
    CODEC_T_STRING = 0,
    CODEC_T_LIST = 1,
    CODEC_T_SET = 2,
    CODEC_T_ZSET = 3,
    CODEC_T_HASH = 4,
    CODEC_T_STREAM = 5,
    CODEC_T_LAST = CODEC_T_STREAM, /* highest known type; a header above it is corrupt */
};

/* Encode a keys-CF key into out (capacity >= klen + CODEC_KEY_PREFIX);
 * returns its length. */
size_t codec_key_encode(uint16_t dbid, const void *key, size_t klen, char *out);
/* Same, with slot and h already known. */
size_t codec_key_encode_with(uint16_t dbid, unsigned slot, uint32_t h, const void *key, size_t klen,
                             char *out);
/* Decode: sets the fields and points *key into buf. 0 or CODEC_ERR. */
int codec_key_decode(const char *buf, size_t len, uint16_t *dbid, unsigned *slot, uint32_t *h,
                     const char **key, size_t *klen);
/* Stronger check than decoding: slot and h must be the user key's own
 * hashes (catches a cut or corrupted user key). 0 or CODEC_ERR. */
int codec_key_verify(const char *buf, size_t len);
/* The 8-byte prefix of a position (dbid, slot, h): range bounds for SCAN and
 * for a whole db (slot = 0, h = 0 .. dbid + 1). */
void codec_key_prefix(uint16_t dbid, unsigned slot, uint32_t h, char out[CODEC_KEY_PREFIX]);

struct codec_header {
    uint8_t type;
    uint8_t encoding;
    uint8_t flags;
    int64_t expire_ms; /* -1 when no CODEC_F_EXPIRE */
};
/* Writes the header into out (capacity >= CODEC_HEADER_MAX); returns its
 * length. flags' CODEC_F_EXPIRE is set from expire_ms >= 0. */
#define CODEC_HEADER_MAX 11
size_t codec_header_encode(const struct codec_header *h, char *out);
/* Parses the header; *payload and *plen point past it. 0 or CODEC_ERR. */
int codec_header_decode(const char *buf, size_t len, struct codec_header *h, const char **payload,
                        size_t *plen);

/* expiry CF key: out capacity >= klen + 10. */
size_t codec_expiry_key_encode(int64_t expire_ms, uint16_t dbid, const void *key, size_t klen,
                               char *out);
int codec_expiry_key_decode(const char *buf, size_t len, int64_t *expire_ms, uint16_t *dbid,
                            const char **key, size_t *klen);

/* Split values. The metadata payload of a split value: */
struct codec_split_meta {
    uint64_t version; /* >= 1 */
    uint64_t count;   /* elements */
    uint64_t aux;     /* type-specific (list: absolute index of the first element) */
};
void codec_split_meta_encode(const struct codec_split_meta *m, char out[CODEC_SPLIT_META]);
int codec_split_meta_decode(const char *p, size_t len, struct codec_split_meta *m);
/* elements CF key: out capacity >= slen + CODEC_ELEM_PREFIX. */
size_t codec_elem_key_encode(uint16_t dbid, uint64_t version, const void *sub, size_t slen,
                             char *out);
void codec_elem_prefix(uint16_t dbid, uint64_t version, char out[CODEC_ELEM_PREFIX]);

/* A split value as loaded (elements_assemble): header | metadata | then per
 * element u32 BE subkey length | subkey | u32 BE data length | data, in
 * subkey order. Walk it with codec_elem_next: 1 and the next element, 0 at
 * the end, CODEC_ERR when the framing is cut or garbled. */
int codec_elem_next(const char **p, const char *end, const char **sub, size_t *slen,
                    const char **data, size_t *dlen);

/* Big-endian helpers. */
void codec_put_u16(char *p, uint16_t v);
void codec_put_u32(char *p, uint32_t v);
void codec_put_u64(char *p, uint64_t v);
uint16_t codec_get_u16(const char *p);
uint32_t codec_get_u32(const char *p);
uint64_t codec_get_u64(const char *p);

#endif
