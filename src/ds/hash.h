/*
 * hash.h: hash functions.
 *
 * - hash_siphash(): SipHash-1-2 keyed 64-bit hash (the dict's hash; seed is
 *   random per process, so flooding a table is hard).
 * - hash_crc16(): CRC16-CCITT (XMODEM), the Redis Cluster slot hash.
 * - hash_keyslot(): Redis Cluster slot of a key, honouring {hash tags}.
 * - hash_stable32(): a fixed, seedless 32-bit hash of a key that is part of
 *   the on-disk format (DESIGN.md §4). It may NEVER change.
 * - hash_crc64(): CRC-64 (Jones) as used by Redis's DUMP payloads.
 */
#ifndef LT_DS_HASH_H
#define LT_DS_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_siphash(const void *in, size_t len, const uint8_t k[16]);
uint64_t hash_siphash_nocase(const void *in, size_t len, const uint8_t k[16]);
uint16_t hash_crc16(const void *buf, size_t len);
unsigned hash_keyslot(const void *key, size_t len); /* 0..16383 */
uint32_t hash_stable32(const void *key, size_t len);
uint64_t hash_crc64(uint64_t crc, const void *buf, size_t len);

#endif
