/*
 * sha1.h: SHA-1 (FIPS 180-4). Used for DEBUG DIGEST, whose values must match
 * Redis's for the same data; not for anything security-sensitive.
 */
#ifndef LT_DS_SHA1_H
#define LT_DS_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t bytes;
    uint8_t buf[64];
    size_t buflen;
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *data, size_t len);
void sha1_final(sha1_ctx *c, uint8_t out[20]);
void sha1(const void *data, size_t len, uint8_t out[20]);

#endif
