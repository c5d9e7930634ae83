/*
 * reply.c: RESP2/RESP3 reply encoding into the client's block list.
 *
 * Replies go to the tail block (REPLY_CHUNK bytes, or bigger for a big
 * bulk). A deferred length is an empty block inserted in the list; its
 * header is written when the count is known.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"
#include "net/net.h"
#include "net/reply.h"

static int reply_suppressed(client *c)
{
    return (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) || c->fd < 0 ||
           (c->flags & CLIENT_CLOSE_ASAP);
}

static void reply_mark_pending(client *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE)) {
        c->flags |= CLIENT_PENDING_WRITE;
        c->pw_next = net.pending_writes;
        net.pending_writes = c;
    }
}

static struct reply_block *reply_block_new(size_t size)
{
    struct reply_block *b = heap_malloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void reply_append_block(client *c, struct reply_block *b)
{
    if (c->reply_tail)
        c->reply_tail->next = b;
    else
        c->reply_head = b;
    c->reply_tail = b;
}

/* Appends bytes to c's output, whatever the reply mode (reply_raw checks
 * it first). */
static void reply_append(client *c, const char *buf, size_t len);

void reply_raw(client *c, const char *buf, size_t len)
{
    if (reply_suppressed(c))
        return;
    reply_append(c, buf, len);
}

static void reply_append(client *c, const char *buf, size_t len)
{
    if (c->flags & CLIENT_REPLY_OVERFLOW)
        return;
    if ((c->flags & CLIENT_REPLY_METERED) &&
        reply_mark(c) + len - c->reply_base > (uint64_t)net_settings.reply_max) {
        /* this command's reply is too big: it becomes an error at its end */
        c->flags |= CLIENT_REPLY_OVERFLOW;
        return;
    }
    reply_mark_pending(c);
    c->reply_bytes += len;
    if (net_settings.obuf_hard && (long long)c->reply_bytes > net_settings.obuf_hard) {
        /* over the hard limit: the client goes now, as in Redis */
        log_warning("Client id=%llu addr=%s closed for overcoming of output buffer limits.",
                    (unsigned long long)c->id, c->addr);
        net_stats.obuf_disconnections++;
        client_close_async(c);
        return;
    }
    struct reply_block *t = c->reply_tail;
    if (t && t->size > t->used) {
        size_t n = t->size - t->used < len ? t->size - t->used : len;
        memcpy(t->buf + t->used, buf, n);
        t->used += n;
        buf += n;
        len -= n;
    }
    if (len) {
        struct reply_block *b = reply_block_new(len > REPLY_CHUNK ? len : REPLY_CHUNK);
        memcpy(b->buf, buf, len);
        b->used = len;
        reply_append_block(c, b);
    }
}

static void reply_prefix_num(client *c, char prefix, long long n)
{
    char buf[32];
    buf[0] = prefix;
    int len = util_ll2str(buf + 1, sizeof(buf) - 3, n) + 1;
    buf[len++] = '\r';
    buf[len++] = '\n';
    reply_raw(c, buf, (size_t)len);
}

void reply_ok(client *c)
{
    reply_raw(c, "+OK\r\n", 5);
}

void reply_status_len(client *c, const char *s, size_t len)
{
    reply_raw(c, "+", 1);
    reply_raw(c, s, len);
    reply_raw(c, "\r\n", 2);
}

void reply_status(client *c, const char *s)
{
    reply_status_len(c, s, strlen(s));
}

void reply_error(client *c, const char *msg)
{
    /* An error code is the first word when it is all upper case; Redis
     * prepends "ERR " otherwise. Newlines would break the protocol. */
    const char *sp = strchr(msg, ' ');
    int has_code = sp != NULL && sp != msg;
    for (const char *p = msg; has_code && p < sp; p++)
        if (!((*p >= 'A' && *p <= 'Z') || *p == '_' || (*p >= '0' && *p <= '9')))
            has_code = 0;
    if (net.hooks.error_reply)
        net.hooks.error_reply(c, has_code ? msg : "ERR", has_code ? (size_t)(sp - msg) : 3);
    reply_raw(c, "-", 1);
    if (!has_code)
        reply_raw(c, "ERR ", 4);
    size_t len = strlen(msg);
    char safe[512];
    if (len < sizeof(safe) && (strchr(msg, '\n') || strchr(msg, '\r'))) {
        for (size_t i = 0; i < len; i++)
            safe[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
        reply_raw(c, safe, len);
    } else {
        reply_raw(c, msg, len);
    }
    reply_raw(c, "\r\n", 2);
}

void reply_error_fmt(client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(c, buf);
}

void reply_error_syntax(client *c)
{
    reply_error(c, "ERR syntax error");
}

void reply_error_wrongtype(client *c)
{
    reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_error_not_int(client *c)
{
    reply_error(c, "ERR value is not an integer or out of range");
}

void reply_error_not_float(client *c)
{
    reply_error(c, "ERR value is not a valid float");
}

void reply_error_overflow(client *c)
{
    reply_error(c, "ERR increment or decrement would overflow");
}

void reply_error_subcommand(client *c)
{
    char name[128];
    snprintf(name, sizeof(name), "%s", c->argv[0]);
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    reply_error_fmt(c, "ERR unknown subcommand '%.128s'. Try %s HELP.", c->argv[1], name);
}

void reply_long(client *c, long long v)
{
    reply_prefix_num(c, ':', v);
}

void reply_bulk(client *c, const void *p, size_t len)
{
    reply_prefix_num(c, '$', (long long)len);
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void reply_bulk_cstr(client *c, const char *s)
{
    if (!s)
        reply_null(c);
    else
        reply_bulk(c, s, strlen(s));
}

void reply_bulk_str(client *c, const str s)
{
    reply_bulk(c, s, str_len(s));
}

void reply_bulk_long(client *c, long long v)
{
    char buf[32];
    int len = util_ll2str(buf, sizeof(buf), v);
    reply_bulk(c, buf, (size_t)len);
}

void reply_null(client *c)
{
    if (c->resp >= 3)
        reply_raw(c, "_\r\n", 3);
    else
        reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(client *c)
{
    if (c->resp >= 3)
        reply_raw(c, "_\r\n", 3);
    else
        reply_raw(c, "*-1\r\n", 5);
}

void reply_array(client *c, long long n)
{
    reply_prefix_num(c, '*', n);
}

void reply_map(client *c, long long n)
{
    if (c->resp >= 3)
        reply_prefix_num(c, '%', n);
    else
        reply_prefix_num(c, '*', n * 2);
}

void reply_set(client *c, long long n)
{
    reply_prefix_num(c, c->resp >= 3 ? '~' : '*', n);
}

void reply_empty_array(client *c)
{
    reply_raw(c, "*0\r\n", 4);
}

void reply_double(client *c, double d)
{
    char buf[64];
    int len = util_d2str(buf, sizeof(buf), d);
    if (c->resp >= 3) {
        reply_raw(c, ",", 1);
        reply_raw(c, buf, (size_t)len);
        reply_raw(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, (size_t)len);
    }
}

void reply_bignum(client *c, const char *digits, size_t len)
{
    if (c->resp < 3) {
        reply_bulk(c, digits, len);
        return;
    }
    reply_raw(c, "(", 1);
    reply_raw(c, digits, len);
    reply_raw(c, "\r\n", 2);
}

void reply_attribute(client *c, long long n)
{
    reply_prefix_num(c, '|', n);
}

void reply_push(client *c, long long n)
{
    reply_prefix_num(c, '>', n);
}

void reply_bool(client *c, int b)
{
    if (c->resp >= 3)
        reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
    else
        reply_raw(c, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(client *c, const char *p, size_t len, const char *ext)
{
    if (c->resp < 3) {
        reply_bulk(c, p, len);
        return;
    }
    reply_prefix_num(c, '=', (long long)len + 4);
    reply_raw(c, ext, 3);
    reply_raw(c, ":", 1);
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void reply_help(client *c, const char *cmd, const char **lines)
{
    int n = 0;
    while (lines[n])
        n++;
    reply_array(c, n + 3);
    char first[256];
    snprintf(first, sizeof(first),
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    reply_status(c, first);
    for (int i = 0; i < n; i++)
        reply_status(c, lines[i]);
    reply_status(c, "HELP");
    reply_status(c, "    Prints this help.");
}

/* ---- the size of a reply ------------------------------------------------- */

struct reply_meter reply_meter_begin(client *c)
{
    struct reply_meter outer = {c->reply_base, c->flags & CLIENT_REPLY_METERED};
    c->reply_base = reply_mark(c);
    c->flags |= CLIENT_REPLY_METERED;
    return outer;
}

void reply_meter_end(client *c, struct reply_meter outer)
{
    if (c->flags & CLIENT_REPLY_OVERFLOW) {
        c->flags &= ~CLIENT_REPLY_OVERFLOW;
        reply_rollback(c, c->reply_base);
        net_stats.reply_max_errors++;
        reply_error_fmt(c, "ERR the reply is larger than client-reply-max-size (%lld bytes)",
                        net_settings.reply_max);
    }
    c->reply_base = outer.base;
    c->flags = (c->flags & ~CLIENT_REPLY_METERED) | outer.metered;
    if ((long long)c->reply_bytes > net_settings.reply_max && !(c->flags & CLIENT_CLOSE_ASAP)) {
        log_warning("Client id=%llu addr=%s closed: its unsent replies (%zu bytes) are over "
                    "client-reply-max-size.",
                    (unsigned long long)c->id, c->addr, c->reply_bytes);
        net_stats.obuf_disconnections++;
        client_close_async(c);
    }
}

int reply_stopped(const client *c)
{
    return (c->flags &
            (CLIENT_REPLY_OVERFLOW | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_CLOSE_ASAP)) ||
           c->fd < 0;
}

/* ---- deferred lengths ---------------------------------------------------- */

void *reply_defer_len(client *c)
{
    if (reply_suppressed(c) || (c->flags & CLIENT_REPLY_OVERFLOW))
        return NULL;
    reply_mark_pending(c);
    struct reply_block *b = reply_block_new(0);
    reply_append_block(c, b);
    /* the next reply goes into a fresh block after this one */
    struct reply_block *n = reply_block_new(REPLY_CHUNK);
    reply_append_block(c, n);
    return b;
}

/* Replaces the placeholder block with one holding bytes. */
static void reply_fill_deferred(client *c, struct reply_block *b, const char *bytes, size_t len)
{
    struct reply_block *nb = reply_block_new(len);
    memcpy(nb->buf, bytes, len);
    nb->used = len;
    nb->next = b->next;
    for (struct reply_block **p = &c->reply_head; *p; p = &(*p)->next) {
        if (*p == b) {
            *p = nb;
            break;
        }
    }
    if (c->reply_tail == b)
        c->reply_tail = nb;
    free(b);
    c->reply_bytes += len;
}

static void reply_set_deferred(client *c, void *handle, char prefix, long long n)
{
    if (!handle)
        return;
    char buf[32];
    buf[0] = prefix;
    int len = util_ll2str(buf + 1, sizeof(buf) - 3, n) + 1;
    buf[len++] = '\r';
    buf[len++] = '\n';
    reply_fill_deferred(c, handle, buf, (size_t)len);
}

void reply_set_deferred_bulk(client *c, void *handle, const char *p, size_t len)
{
    if (!handle)
        return;
    char hdr[32];
    int hl = snprintf(hdr, sizeof(hdr), "$%zu\r\n", len);
    char *buf = heap_malloc((size_t)hl + len + 2);
    memcpy(buf, hdr, (size_t)hl);
    memcpy(buf + hl, p, len);
    memcpy(buf + hl + len, "\r\n", 2);
    reply_fill_deferred(c, handle, buf, (size_t)hl + len + 2);
    free(buf);
}

void reply_set_array_len(client *c, void *handle, long long n)
{
    reply_set_deferred(c, handle, '*', n);
}

void reply_set_set_len(client *c, void *handle, long long n)
{
    reply_set_deferred(c, handle, c->resp >= 3 ? '~' : '*', n);
}

void reply_set_map_len(client *c, void *handle, long long n)
{
    if (c->resp >= 3)
        reply_set_deferred(c, handle, '%', n);
    else
        reply_set_deferred(c, handle, '*', n * 2);
}

/* ---- rewriting what is not released yet ---------------------------------- */

uint64_t reply_mark(client *c)
{
    return c->sent_total + c->reply_bytes;
}

void reply_rollback(client *c, uint64_t mark)
{
    if (mark >= reply_mark(c) || mark < c->release_mark || mark < c->sent_total)
        return;
    size_t keep = (size_t)(mark - c->sent_total); /* queued bytes that stay */
    size_t off = c->sent_in_head;
    struct reply_block *b = c->reply_head, *last = NULL;
    while (b) {
        size_t avail = b->used > off ? b->used - off : 0;
        if (keep <= avail) {
            b->used = off + keep;
            last = b;
            break;
        }
        keep -= avail;
        last = b;
        b = b->next;
        off = 0;
    }
    /* everything after `last` goes */
    struct reply_block *n = last ? last->next : NULL;
    if (last)
        last->next = NULL;
    while (n) {
        struct reply_block *next = n->next;
        free(n);
        n = next;
    }
    c->reply_tail = last;
    c->reply_bytes = (size_t)(mark - c->sent_total);
    while (c->nwranges && c->wranges[c->nwranges - 1].start >= mark)
        c->nwranges--;
    if (c->nwranges && c->wranges[c->nwranges - 1].end > mark)
        c->wranges[c->nwranges - 1].end = mark;
}

void client_mark_write_reply(client *c, uint64_t start, uint64_t end)
{
    /* one range per reply (each becomes one error): never merged */
    if (end <= start || end <= c->release_mark)
        return;
    if (c->nwranges == c->wranges_cap) {
        c->wranges_cap = c->wranges_cap ? c->wranges_cap * 2 : 4;
        c->wranges = heap_realloc(c->wranges, (size_t)c->wranges_cap * sizeof(*c->wranges));
    }
    c->wranges[c->nwranges++] = (struct reply_range){start, end};
}

/* The bytes [from, to) of c's queued output, copied into buf. */
static void reply_copy_out(client *c, uint64_t from, uint64_t to, char *buf)
{
    uint64_t pos = c->sent_total;
    size_t off = c->sent_in_head;
    for (struct reply_block *b = c->reply_head; b && pos < to; b = b->next, off = 0) {
        size_t avail = b->used > off ? b->used - off : 0;
        uint64_t bs = pos, be = pos + avail;
        uint64_t s = from > bs ? from : bs, e = to < be ? to : be;
        if (s < e)
            memcpy(buf + (s - from), b->buf + off + (s - bs), (size_t)(e - s));
        pos = be;
    }
}

void client_fail_writes(client *c, const char *err)
{
    uint64_t from = c->release_mark > c->sent_total ? c->release_mark : c->sent_total;
    uint64_t to = reply_mark(c);
    int n = c->nwranges;
    if (n && to > from) {
        /* the ranges first: the rollback drops those past its mark */
        struct reply_range *ranges = heap_malloc((size_t)n * sizeof(*ranges));
        memcpy(ranges, c->wranges, (size_t)n * sizeof(*ranges));
        char *old = heap_malloc((size_t)(to - from));
        reply_copy_out(c, from, to, old);
        reply_rollback(c, from);
        uint64_t cur = from;
        for (int i = 0; i < n; i++) {
            uint64_t s = ranges[i].start, e = ranges[i].end;
            if (e <= from || s >= to)
                continue;
            if (s < cur)
                s = cur;
            reply_append(c, old + (cur - from), (size_t)(s - cur));
            reply_append(c, "-", 1);
            reply_append(c, err, strlen(err));
            reply_append(c, "\r\n", 2);
            if (net.hooks.error_reply)
                net.hooks.error_reply(c, err, strcspn(err, " "));
            cur = e > to ? to : e;
        }
        reply_append(c, old + (cur - from), (size_t)(to - cur));
        free(old);
        free(ranges);
    }
    c->nwranges = 0;
    c->release_mark = reply_mark(c);
}
