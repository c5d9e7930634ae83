/*
 * elements.c: appends a split value's elements to its metadata (elements.h).
 *
 * Invariant: the elements are read from the live database, not a snapshot
 * of the keys-CF read; a value that changes in between is a key written
 * while its read was in flight, which the keyspace discards anyway.
 */
#include "storage/elements.h"

#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "storage/codec.h"

static long long elements_read; /* atomic: the pool's threads add to it */

long long elements_read_total(void)
{
    return __atomic_load_n(&elements_read, __ATOMIC_RELAXED);
}

static int buf_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap * 2;
    if (ncap < need)
        ncap = need;
    char *n = heap_realloc(*buf, ncap);
    *buf = n;
    *cap = ncap;
    return 0;
}

int elements_assemble(store *s, uint16_t dbid, char **val, size_t *vlen)
{
    struct codec_header h;
    const char *payload;
    size_t plen;
    if (codec_header_decode(*val, *vlen, &h, &payload, &plen) != 0 || !(h.flags & CODEC_F_SPLIT))
        return 0; /* not split (or corrupt: the decoder says so) */
    struct codec_split_meta m;
    if (codec_split_meta_decode(payload, plen, &m) != 0)
        return 0;
    char lo[CODEC_ELEM_PREFIX], hi[CODEC_ELEM_PREFIX];
    codec_elem_prefix(dbid, m.version, lo);
    codec_elem_prefix(dbid, m.version + 1, hi);
    store_iter *it = store_iter_new(s, STORE_CF_ELEMENTS, lo, sizeof(lo), hi, sizeof(hi));
    if (!it)
        return STORE_ERR;
    /* build into a new buffer so *val stays intact on failure */
    size_t len = (size_t)(payload - *val) + CODEC_SPLIT_META;
    size_t cap = len + 64 * (m.count < 1024 ? m.count : 1024) + 64;
    char *buf = heap_malloc(cap);
    int rc = buf ? 0 : STORE_ERR;
    if (buf)
        memcpy(buf, *val, len);
    long long nread = 0;
    for (store_iter_seek_first(it); rc == 0 && store_iter_valid(it); store_iter_next(it)) {
        nread++;
        size_t kl, dl;
        const char *k = store_iter_key(it, &kl);
        const char *d = store_iter_value(it, &dl);
        if (kl < CODEC_ELEM_PREFIX)
            continue;
        size_t sl = kl - CODEC_ELEM_PREFIX;
        if (buf_reserve(&buf, &cap, len + 8 + sl + dl) != 0) {
            rc = STORE_ERR;
            break;
        }
        codec_put_u32(buf + len, (uint32_t)sl);
        memcpy(buf + len + 4, k + CODEC_ELEM_PREFIX, sl);
        len += 4 + sl;
        codec_put_u32(buf + len, (uint32_t)dl);
        memcpy(buf + len + 4, d, dl);
        len += 4 + dl;
    }
    if (rc == 0 && store_iter_status(it, NULL) != 0)
        rc = STORE_ERR;
    store_iter_free(it);
    __atomic_add_fetch(&elements_read, nread, __ATOMIC_RELAXED);
    if (rc != 0) {
        free(buf);
        return STORE_ERR;
    }
    free(*val);
    *val = buf;
    *vlen = len;
    return 0;
}
