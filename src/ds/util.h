/*
 * util.h: number parsing and formatting and glob matching, with exactly the
 * rules Redis applies (they decide replies and error strings), and the byte
 * order of keys.
 */
#ifndef LT_DS_UTIL_H
#define LT_DS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Byte strings in memcmp order, a prefix before the longer string: the
 * order of RocksDB's default comparator, and of Redis's sds compare. */
static inline int util_bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Strict integer parsing: optional '-', no leading zeros (except "0"), no
 * spaces, no '+', fits in long long. Returns 1 on success, 0 otherwise.
 * (Redis's string2ll: "007", " 1", "1 ", "+1", "" are all rejected.) */
int util_str2ll(const char *s, size_t len, long long *out);
/* util_str2ull is Redis's string2ull (stream IDs): a string util_str2ll
 * accepts is taken if not negative; anything else goes to strtoull, which
 * also accepts leading spaces, '+' and leading zeros ("01" -> 1). */
int util_str2ull(const char *s, size_t len, unsigned long long *out);
/* Writes the decimal form into buf (no NUL if full); returns its length,
 * 0 if buf is too small. 21 bytes are always enough. */
int util_ll2str(char *buf, size_t size, long long v);
int util_ull2str(char *buf, size_t size, unsigned long long v);
/* Digits of v in decimal (1 for 0, includes '-' for negatives). */
int util_ll_digits(long long v);

/* Room for any util_ld2str output (Redis's MAX_LONG_DOUBLE_CHARS); also the
 * bound on util_str2ld's input (len must be below it). */
#define UTIL_LD_STR_MAX (5 * 1024)

/* Long double parsing as Redis's INCRBYFLOAT (string2ld): no spaces, no
 * trailing garbage, not NaN, length <= 5*1024. Returns 1 on success. */
int util_str2ld(const char *s, size_t len, long double *out);
/* Long double formatting as Redis's ld2string with humanfriendly mode
 * (INCRBYFLOAT replies): "%.17Lf" then trailing zeros and '.' removed;
 * "inf"/"-inf" forms as Redis. Returns length, 0 on error. */
int util_ld2str(char *buf, size_t size, long double v);
/* Double parsing as Redis's string2d/getDoubleFromObject: strtod, whole
 * string, no leading space, not NaN. Returns 1 on success. */
int util_str2d(const char *s, size_t len, double *out);
/* Double formatting for RESP replies as Redis 7.0 does: "inf", "-inf",
 * integers in the exact range as "%.0f"-like with no decimals... exactly
 * Redis's d2string ("%.17g" style). Returns length. */
int util_d2str(char *buf, size_t size, double v);

/* Glob-style match (KEYS, SCAN MATCH, CONFIG GET): * ? [abc] [^a] [a-z] \x,
 * optionally case-insensitive, exactly as Redis's stringmatchlen, including
 * its recursion bound on pathological patterns. Returns 1 on match. */
int util_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* p[0..len) with C-style escapes (\n \r \t \" \\ \xHH) into out
 * (NUL-terminated, cut with "..." when size is too small): binary keys in
 * log lines. Returns out. */
char *util_escape(char *out, size_t size, const char *p, size_t len);

/* Microseconds / milliseconds since the epoch, and a monotonic clock in us. */
int64_t util_ustime(void);
int64_t util_mstime(void);
uint64_t util_monotonic_us(void);

/* Fill buf with len random bytes from /dev/urandom (falls back to a seeded
 * PRNG). */
void util_random_bytes(uint8_t *buf, size_t len);
/* Fast non-cryptographic PRNG for sampling (xorshift-style), per process. */
uint64_t util_rand64(void);

/* len random hex chars then a NUL, as Redis's run_id/replid: pass len 40
 * and a buffer of 41 bytes. */
void util_random_hex(char *buf, size_t len);

#endif
