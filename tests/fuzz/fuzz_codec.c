/*
 * fuzz_codec.c: libFuzzer target for the on-disk decoders (storage/codec.c).
 *
 * Each input is fed whole to the keys-CF key, value header, expiry key and
 * split-value (metadata + element framing) decoders. Whatever decodes must lie inside the input and
 * re-encode to exactly the input's bytes: a decoder that accepts something an encoder would not
 * write, or reads outside the buffer, is a bug. Mismatches call abort(), so the target works under
 * libFuzzer and under the corpus replay. The input is copied to an exact-size heap buffer so ASan
 * catches a read one byte past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/codec.h"

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_key(const char *buf, size_t len)
{
    uint16_t dbid;
    unsigned slot;
    uint32_t h;
    const char *key;
    size_t klen;

    int verified = codec_key_verify(buf, len) == 0;
    if (codec_key_decode(buf, len, &dbid, &slot, &h, &key, &klen) != 0) {
        fuzz_check(!verified);
        return;
    }
    fuzz_check(slot < 16384 && key >= buf && key + klen == buf + len);
    char *out = malloc(klen + CODEC_KEY_PREFIX);
    size_t n = codec_key_encode_with(dbid, slot, h, key, klen, out);
    fuzz_check(n == len && memcmp(out, buf, len) == 0);
    if (verified) {
        /* a verified key is what codec_key_encode itself writes */
        n = codec_key_encode(dbid, key, klen, out);
        fuzz_check(n == len && memcmp(out, buf, len) == 0);
    }
    free(out);
}

static void fuzz_header(const char *buf, size_t len)
{
    struct codec_header h;
    const char *payload;
    size_t plen;

    if (codec_header_decode(buf, len, &h, &payload, &plen) != 0)
        return;
    fuzz_check(payload >= buf && payload + plen == buf + len);
    fuzz_check(h.type <= CODEC_T_LAST && (h.flags & ~CODEC_F_KNOWN) == 0);
    fuzz_check((h.expire_ms >= 0) == ((h.flags & CODEC_F_EXPIRE) != 0));
    fuzz_check(h.expire_ms >= -1);
    char out[CODEC_HEADER_MAX];
    size_t n = codec_header_encode(&h, out);
    fuzz_check(n == (size_t)(payload - buf) && memcmp(out, buf, n) == 0);
}

static void fuzz_expiry(const char *buf, size_t len)
{
    int64_t at;
    uint16_t dbid;
    const char *key;
    size_t klen;

    if (codec_expiry_key_decode(buf, len, &at, &dbid, &key, &klen) != 0)
        return;
    fuzz_check(at >= 0 && key >= buf && key + klen == buf + len);
    char *out = malloc(klen + CODEC_EXPIRY_PREFIX);
    size_t n = codec_expiry_key_encode(at, dbid, key, klen, out);
    fuzz_check(n == len && memcmp(out, buf, len) == 0);
    free(out);
}

/* A loaded split value's metadata and element framing: every element lies
 * inside the input, and re-framing what was walked gives the input back. */
static void fuzz_split(const char *buf, size_t len)
{
    struct codec_split_meta m;
    if (codec_split_meta_decode(buf, len, &m) != 0)
        return;
    char meta[CODEC_SPLIT_META];
    codec_split_meta_encode(&m, meta);
    fuzz_check(m.version != 0 && memcmp(meta, buf, CODEC_SPLIT_META) == 0);
    const char *p = buf + CODEC_SPLIT_META, *end = buf + len;
    const char *sub, *data;
    size_t slen, dlen;
    int rc;
    while ((rc = codec_elem_next(&p, end, &sub, &slen, &data, &dlen)) == 1) {
        fuzz_check(sub >= buf && sub + slen <= end && data >= sub + slen && data + dlen == p);
        fuzz_check(codec_get_u32(sub - 4) == slen && codec_get_u32(data - 4) == dlen);
        char *k = malloc(slen + CODEC_ELEM_PREFIX);
        size_t kl = codec_elem_key_encode(7, m.version, sub, slen, k);
        fuzz_check(kl == slen + CODEC_ELEM_PREFIX && codec_get_u64(k + 2) == m.version);
        free(k);
    }
    fuzz_check(rc == 0 ? p == end : rc == CODEC_ERR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);
    fuzz_key(buf, size);
    fuzz_header(buf, size);
    fuzz_expiry(buf, size);
    fuzz_split(buf, size);
    free(buf);
    return 0;
}
