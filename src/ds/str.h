/*
 * str.h: binary-safe, length-prefixed strings.
 *
 * A str is a pointer to its bytes; the length lives in a header just before
 * them and the bytes are always followed by a NUL, so a str can be passed to
 * C functions that want a C string when it holds no NUL itself.
 *
 * Two allocators: str_new() and friends use the process heap (argv of
 * clients, temporary values); str_hot_new() uses the hot tier (keys stored in
 * the keyspace). Free each with its own function: str_free / str_hot_free.
 */
#ifndef LT_DS_STR_H
#define LT_DS_STR_H

#include <stddef.h>
#include <stdint.h>

typedef char *str;

struct str_hdr {
    uint32_t len;
    uint32_t cap; /* bytes available after the header, excluding the final NUL */
};

#define STR_HDR(s) ((struct str_hdr *)((s) - sizeof(struct str_hdr)))

static inline size_t str_len(const str s)
{
    return ((const struct str_hdr *)(s - sizeof(struct str_hdr)))->len;
}

str str_new(const void *ptr, size_t len);        /* heap; ptr may be NULL (zeroed) */
str str_from_cstr(const char *cstr);             /* heap */
str str_dup(const str s);                        /* heap */
void str_free(str s);                            /* heap; NULL is a no-op */
str str_cat(str s, const void *ptr, size_t len); /* heap; may move s; returns new pointer */
str str_grow(str s, size_t len); /* heap; set length to len, zero-filling new bytes */
str str_fromll(long long v);     /* heap */
/* Tagged strings: a 2-byte big-endian tag (a db index or id) before the
 * bytes; the keys of tables that span every db (blocked clients, WATCH,
 * reads in flight). */
str str_new_tagged(unsigned tag, const void *ptr, size_t len); /* heap */
static inline unsigned str_tag(const str s)
{
    return (unsigned)((unsigned char)s[0] << 8 | (unsigned char)s[1]);
}

/* A str built in the caller's buffer (size bytes, aligned for a struct
 * str_hdr), for a lookup that should not allocate; NULL when it does not
 * fit. It is never freed. */
str str_in_buffer(void *buf, size_t size, const void *ptr, size_t len);

str str_hot_new(const void *ptr, size_t len); /* hot tier */
str str_hot_dup(const str s);                 /* hot tier */
void str_hot_free(str s);                     /* hot tier; NULL is a no-op */
size_t str_hot_alloc_size(const str s);       /* bytes the hot tier accounts for s */
/* Hot tier: room for at least cap bytes (length unchanged); may move s. */
str str_hot_reserve(str s, size_t cap);

/* memcmp-style comparison of two strs, then by length. */
int str_cmp(const str a, const str b);
int str_eq(const str a, const void *ptr, size_t len);
/* Case-insensitive equality with a C string (command and option names). */
int str_eqi(const str a, const char *cstr);

#endif
