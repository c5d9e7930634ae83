/*
 * util.c: lt-diff's small helpers: growable buffers, allocation that never
 * returns NULL, fatal errors, a monotonic clock, and items (deep-copied
 * commands with their comparator).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lt-diff: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- dbuf ------------------------------------------------------------------ */

static void dbuf_reserve(dbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void dbuf_add(dbuf *b, const void *p, size_t n)
{
    dbuf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void dbuf_puts(dbuf *b, const char *s)
{
    dbuf_add(b, s, strlen(s));
}

void dbuf_printf(dbuf *b, const char *fmt, ...)
{
    dbuf_reserve(b, 128);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->p[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        dbuf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void dbuf_clear(dbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void dbuf_free(dbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void dbuf_escape(dbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (c) {
        case '\r':
            dbuf_add(b, "\\r", 2);
            break;
        case '\n':
            dbuf_add(b, "\\n", 2);
            break;
        case '\t':
            dbuf_add(b, "\\t", 2);
            break;
        case '\\':
            dbuf_add(b, "\\\\", 2);
            break;
        case '"':
            dbuf_add(b, "\\\"", 2);
            break;
        default:
            if (isprint(c))
                dbuf_add(b, &p[i], 1);
            else
                dbuf_printf(b, "\\x%02x", c);
        }
    }
}

/* ---- items ----------------------------------------------------------------- */

void item_list_push(item_list *l, const item *it)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *it;
}

void item_free(item *it)
{
    for (int i = 0; i < it->argc; i++)
        free(it->argv[i]);
    free(it->argv);
    free(it->lens);
    it->argv = NULL;
    it->lens = NULL;
    it->argc = 0;
}

void item_list_free(item_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        item_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

item item_cmd(int cmp, int argc, const char *const *argv, const size_t *lens)
{
    item it = {.kind = ITEM_CMD, .cmp = cmp, .argc = argc};
    it.argv = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    it.lens = xmalloc(sizeof(size_t) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        it.argv[i] = xmalloc(n + 1);
        memcpy(it.argv[i], argv[i], n);
        it.argv[i][n] = '\0';
        it.lens[i] = n;
    }
    it.argv[argc] = NULL;
    return it;
}

item item_copy(const item *src)
{
    item it = *src;
    if (src->kind == ITEM_CMD) {
        item c = item_cmd(src->cmp, src->argc, (const char *const *)src->argv, src->lens);
        it.argv = c.argv;
        it.lens = c.lens;
    }
    return it;
}
