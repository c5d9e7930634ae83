/*
 * str.c: binary-safe, length-prefixed strings (str.h).
 *
 * Layout of one block: struct str_hdr {len, cap}, then cap bytes, then one
 * byte for the NUL. The str pointer points just past the header.
 *
 * Invariants: len <= cap <= UINT32_MAX - 1 (lengths up to 4 GiB - 1 fit the
 * u32 header), s[len] == '\0' always. Heap strs come from malloc and may
 * grow (str_cat, str_grow: capacity doubles up to 1 MiB of need, then grows
 * by 1 MiB steps, so appends are amortised O(1) without doubling huge
 * values). Hot-tier strs come from hot_malloc and are sized exactly (keys
 * never change once stored); only a RAW string value reserves room to grow
 * (str_hot_reserve), with its own growth policy.
 */
#include "ds/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/util.h"

#define STR_MAX_CAP   ((size_t)UINT32_MAX - 1)
#define STR_GROW_STEP ((size_t)1 << 20)

static void str_die(const char *what, size_t size)
{
    fprintf(stderr, "longtail: %s (%zu bytes)\n", what, size);
    fflush(stderr);
    abort();
}

static size_t str_block_size(size_t cap)
{
    if (cap > STR_MAX_CAP)
        str_die("string too long", cap);
    return sizeof(struct str_hdr) + cap + 1;
}

static str str_init_block(void *block, const void *ptr, size_t len, size_t cap)
{
    struct str_hdr *h = block;
    str s = (char *)block + sizeof(*h);
    h->len = (uint32_t)len;
    h->cap = (uint32_t)cap;
    if (ptr)
        memcpy(s, ptr, len);
    else
        memset(s, 0, len);
    s[len] = '\0';
    return s;
}

str str_new(const void *ptr, size_t len)
{
    size_t size = str_block_size(len);
    void *block = heap_malloc(size);
    return str_init_block(block, ptr, len, len);
}

str str_new_tagged(unsigned tag, const void *ptr, size_t len)
{
    str s = str_new(NULL, len + 2);
    s[0] = (char)(tag >> 8);
    s[1] = (char)tag;
    memcpy(s + 2, ptr, len);
    return s;
}

str str_in_buffer(void *buf, size_t size, const void *ptr, size_t len)
{
    if (len + 1 > size || size - len - 1 < sizeof(struct str_hdr))
        return NULL;
    struct str_hdr *h = buf;
    h->len = h->cap = (uint32_t)len;
    str s = (char *)(h + 1);
    memcpy(s, ptr, len);
    s[len] = '\0';
    return s;
}

str str_from_cstr(const char *cstr)
{
    return str_new(cstr, strlen(cstr));
}

str str_dup(const str s)
{
    return str_new(s, str_len(s));
}

void str_free(str s)
{
    if (s)
        free(STR_HDR(s));
}

/* Makes room for at least need bytes in a heap str; may move it. */
static str str_reserve(str s, size_t need)
{
    struct str_hdr *h = STR_HDR(s);
    if (need <= h->cap)
        return s;
    if (need > STR_MAX_CAP)
        str_die("string too long", need);

    size_t cap = need < STR_GROW_STEP ? need * 2 : need + STR_GROW_STEP;
    if (cap > STR_MAX_CAP)
        cap = STR_MAX_CAP;
    size_t size = str_block_size(cap);
    h = heap_realloc(h, size);
    h->cap = (uint32_t)cap;
    return (char *)h + sizeof(*h);
}

str str_cat(str s, const void *ptr, size_t len)
{
    size_t old = str_len(s);
    if (len > STR_MAX_CAP - old)
        str_die("string too long", len);
    /* ptr may point into s itself: remember its offset across a move. */
    ptrdiff_t self = -1;
    if ((const char *)ptr >= s && (const char *)ptr <= s + old)
        self = (const char *)ptr - s;
    s = str_reserve(s, old + len);
    memcpy(s + old, self >= 0 ? s + self : ptr, len);
    STR_HDR(s)->len = (uint32_t)(old + len);
    s[old + len] = '\0';
    return s;
}

str str_grow(str s, size_t len)
{
    size_t old = str_len(s);
    s = str_reserve(s, len);
    if (len > old)
        memset(s + old, 0, len - old);
    STR_HDR(s)->len = (uint32_t)len;
    s[len] = '\0';
    return s;
}

str str_fromll(long long v)
{
    char buf[24];
    int n = util_ll2str(buf, sizeof(buf), v);
    return str_new(buf, (size_t)n);
}

str str_hot_new(const void *ptr, size_t len)
{
    return str_init_block(hot_malloc(str_block_size(len)), ptr, len, len);
}

str str_hot_dup(const str s)
{
    return str_hot_new(s, str_len(s));
}

str str_hot_reserve(str s, size_t cap)
{
    struct str_hdr *h = STR_HDR(s);
    if (cap <= h->cap)
        return s;
    h = hot_realloc(h, str_block_size(cap));
    h->cap = (uint32_t)cap;
    return (char *)h + sizeof(*h);
}

void str_hot_free(str s)
{
    if (s)
        hot_free(STR_HDR(s));
}

size_t str_hot_alloc_size(const str s)
{
    return hot_usable(STR_HDR(s));
}

int str_cmp(const str a, const str b)
{
    return util_bytes_cmp(a, str_len(a), b, str_len(b));
}

int str_eq(const str a, const void *ptr, size_t len)
{
    return str_len(a) == len && memcmp(a, ptr, len) == 0;
}

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

int str_eqi(const str a, const char *cstr)
{
    size_t len = str_len(a);
    for (size_t i = 0; i < len; i++) {
        /* cstr ending early is a mismatch, even against a NUL in a. */
        if (cstr[i] == '\0' ||
            ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)cstr[i]))
            return 0;
    }
    return cstr[len] == '\0';
}
