/*
 * hashfn.h: hash functions (no Redis semantics; the hash type is keyspace/object_hash.h).
 *
 * - hashfn_siphash(): SipHash-1-2 keyed 64-bit hash (the dict's hash; seed is
 *   random per process, so flooding a table is hard).
 * - hashfn_crc16(): CRC16-CCITT (XMODEM), the Redis Cluster slot hash.
 * - hashfn_keyslot(): Redis Cluster slot of a key, honouring {hash tags}.
 * - hashfn_stable32(): a fixed, seedless 32-bit hash of a key that is part of
 *   the on-disk format (DESIGN.md §4). It may NEVER change.
 * - hashfn_crc64(): CRC-64 (Jones) as used by Redis's DUMP payloads.
 */
#ifndef LT_DS_HASHFN_H
#define LT_DS_HASHFN_H

#include <stddef.h>
#include <stdint.h>

uint64_t hashfn_siphash(const void *in, size_t len, const uint8_t k[16]);
uint64_t hashfn_siphash_nocase(const void *in, size_t len, const uint8_t k[16]);
uint16_t hashfn_crc16(const void *buf, size_t len);
unsigned hashfn_keyslot(const void *key, size_t len); /* 0..16383 */
uint32_t hashfn_stable32(const void *key, size_t len);
uint64_t hashfn_crc64(uint64_t crc, const void *buf, size_t len);

#endif
