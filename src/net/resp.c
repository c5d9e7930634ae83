/*
 * resp.c: the request parser (resp.h): RESP multibulk and inline commands,
 * with Redis 7.0's rules and error strings.
 *
 * The caller keeps the bytes it has not seen consumed and passes them again,
 * followed by new ones, on the next call. Everything before the line being
 * looked for is consumed: header lines ('*', '$', inline) stay in the
 * caller's buffer until they are complete (they are at most 64 KiB), and
 * the bytes of a bulk are copied into its argument as they arrive, so a
 * large bulk costs O(its size) however it is split.
 *
 * Quirks kept on purpose because they decide replies (Redis 7.0 searches
 * its NUL-terminated query buffer with strchr):
 *  - a line search stops at a NUL byte: a header or inline line holding a
 *    NUL before its terminator is never complete, and waits until the
 *    64 KiB "too big" limit fires;
 *  - the byte after a header's '\r', and the two bytes after a bulk's
 *    data, are skipped without checking that they are "\n" and "\r\n";
 *  - integers are strict (no '+', no spaces, no leading zeros, "-0" is not
 *    a number, at most 20 characters).
 * One limit is ours: a bulk longer than a str can hold (4 GiB - 1) is an
 * "invalid bulk length" whatever max_bulk_len says.
 *
 * Invariants between calls: reqtype == 0 means no command is started and
 * argv holds nothing but a finished command not yet reset; in a multibulk,
 * argc + mb_left is the announced count; bulk_len >= 0 means bulk_have
 * bytes of the current bulk (data, then the two trailing bytes) are
 * consumed, the data being in bulk[0..min(bulk_have, bulk_len)), and bulk
 * is NULL exactly when bulk_have is 0.
 */
#include "net/resp.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/alloc.h"

#define REQ_NONE      0
#define REQ_MULTIBULK 1
#define REQ_INLINE    2

/* Limits Redis applies to a client that has not authenticated yet. */
#define UNAUTH_MAX_MULTIBULK 10
#define UNAUTH_MAX_BULK      16384

/* A bulk that is not all in the buffer gets at most this much memory up
 * front; the rest is allocated as its bytes arrive (doubling), so a client
 * announcing a huge bulk costs nothing until it sends it. Like the next
 * one, it may be set smaller by fuzzing builds to reach the growth paths. */
#ifndef RESP_BULK_PREALLOC
#define RESP_BULK_PREALLOC ((size_t)1 << 20)
#endif
/* Initial argv capacity bound, for the same reason. */
#ifndef RESP_ARGV_PREALLOC
#define RESP_ARGV_PREALLOC 1024
#endif
/* A str's length is a u32 (ds/str.h). */
#define BULK_MAX_LEN ((long long)UINT32_MAX - 1)
/* Redis rejects integer strings of 21 characters or more before parsing. */
#define LL_MAX_CHARS 20

/* Parses a whole string as Redis's string2ll does. Returns 1 on success. */
static int parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > LL_MAX_CHARS)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Looks for the terminator 'term' in s[0..n), starting at *scanned (bytes
 * already known to hold neither the terminator nor a NUL). Returns its
 * offset, or -1 if it is not there or a NUL comes first; *scanned is
 * updated either way so that the next search does not look again. */
static long long line_find(const char *s, size_t n, size_t *scanned, char term)
{
    size_t from = *scanned <= n ? *scanned : 0;
    const char *t = memchr(s + from, term, n - from);
    size_t stop = t ? (size_t)(t - s) : n;
    const char *z = memchr(s + from, '\0', stop - from);
    if (z) {
        *scanned = (size_t)(z - s);
        return -1;
    }
    *scanned = stop;
    return t ? (long long)stop : -1;
}

static enum resp_status resp_fail(struct resp_parser *p, const char *msg)
{
    p->error = msg;
    return RESP_ERROR;
}

static void argv_free(struct resp_parser *p)
{
    for (int i = 0; i < p->argc; i++)
        str_free(p->argv[i]);
    free(p->argv);
    p->argv = NULL;
    p->argc = 0;
    p->argv_cap = 0;
    p->argv_bytes = 0;
}

static void argv_push(struct resp_parser *p, str arg)
{
    if (p->argc == p->argv_cap) {
        /* argc + mb_left is the announced count: never allocate beyond it. */
        long long want = (long long)p->argv_cap * 2;
        long long total = p->argc + p->mb_left;
        if (want > total)
            want = total;
        str *v = heap_realloc(p->argv, sizeof(str) * (size_t)want);
        p->argv = v;
        p->argv_cap = (int)want;
    }
    p->argv[p->argc++] = arg;
    p->argv_bytes += str_len(arg);
}

void resp_init(struct resp_parser *p, long long max_bulk_len)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = max_bulk_len;
    p->bulk_len = -1;
}

void resp_reset(struct resp_parser *p)
{
    argv_free(p);
    str_free(p->bulk);
    p->bulk = NULL;
    p->bulk_have = 0;
    p->bulk_len = -1;
    p->mb_left = 0;
    p->reqtype = REQ_NONE;
    p->inline_no_newline = 0;
    p->error = NULL;
}

str *resp_take_argv(struct resp_parser *p, int *argc)
{
    str *v = p->argv;
    *argc = p->argc;
    p->argv = NULL;
    p->argc = 0;
    p->argv_cap = 0;
    p->argv_bytes = 0;
    return v;
}

size_t resp_pending_bytes(const struct resp_parser *p)
{
    if (p->reqtype == REQ_NONE)
        return 0;
    size_t data = 0;
    if (p->bulk_len >= 0)
        data = (size_t)(p->bulk_have < p->bulk_len ? p->bulk_have : p->bulk_len);
    return p->argv_bytes + data;
}

/* Only an optimisation: a line too long to remember is scanned again. */
static void remember_scan(struct resp_parser *p, size_t scanned)
{
    p->inline_no_newline = scanned <= INT_MAX ? (int)scanned : 0;
}

/* One inline command: the line ends at '\n' (a '\r' before it is dropped). */
static enum resp_status parse_inline(struct resp_parser *p, const char *buf, size_t len,
                                     size_t *pos)
{
    const char *s = buf + *pos;
    size_t n = len - *pos;
    size_t scanned = (size_t)p->inline_no_newline;
    long long nl = line_find(s, n, &scanned, '\n');
    if (nl < 0) {
        if (n > RESP_INLINE_MAX)
            return resp_fail(p, "Protocol error: too big inline request");
        remember_scan(p, scanned);
        return RESP_AGAIN;
    }
    size_t linelen = (size_t)nl;
    if (linelen > 0 && s[linelen - 1] == '\r')
        linelen--;
    int argc;
    str *argv = resp_split_args(s, linelen, &argc);
    if (!argv)
        return resp_fail(p, "Protocol error: unbalanced quotes in request");
    *pos += (size_t)nl + 1;
    p->inline_no_newline = 0;
    p->reqtype = REQ_NONE;
    if (argc == 0) {
        free(argv);
        return RESP_AGAIN;
    }
    p->argv = argv;
    p->argc = argc;
    p->argv_cap = argc;
    p->argv_bytes = 0;
    for (int i = 0; i < argc; i++)
        p->argv_bytes += str_len(argv[i]);
    return RESP_DONE;
}

/* A '*' or '$' header line. Returns 1 with the number in *value and *pos
 * past the line, 0 if the line is not complete yet, or -1 when it exceeds
 * the 64 KiB limit (too_big is then the error). */
static int parse_header(struct resp_parser *p, const char *buf, size_t len, size_t *pos,
                        const char *too_big, long long *value, int *ok)
{
    const char *s = buf + *pos;
    size_t n = len - *pos;
    size_t scanned = (size_t)p->inline_no_newline;
    long long cr = line_find(s, n, &scanned, '\r');
    if (cr < 0) {
        if (n > RESP_INLINE_MAX) {
            resp_fail(p, too_big);
            return -1;
        }
        remember_scan(p, scanned);
        return 0;
    }
    /* One byte must follow the '\r' (it is skipped unchecked). */
    if ((size_t)cr + 1 >= n) {
        remember_scan(p, (size_t)cr);
        return 0;
    }
    /* s[0] is the '*' or '$' (or the wrong byte the caller reports). */
    *ok = cr >= 1 && parse_ll(s + 1, (size_t)cr - 1, value);
    *pos += (size_t)cr + 2;
    p->inline_no_newline = 0;
    return 1;
}

/* Moves the bytes of the current bulk (and its two trailing bytes) from the
 * buffer. Returns 1 when the bulk is complete and pushed to argv. */
static int read_bulk(struct resp_parser *p, const char *buf, size_t len, size_t *pos)
{
    size_t avail = len - *pos;
    size_t blen = (size_t)p->bulk_len;
    size_t have = (size_t)p->bulk_have;

    /* Nothing of it consumed yet (so p->bulk is NULL) and all of it here:
     * one allocation of the exact size. */
    if (have == 0 && avail >= blen + 2) {
        argv_push(p, str_new(buf + *pos, blen));
        *pos += blen + 2;
        p->bulk_len = -1;
        return 1;
    }
    if (avail == 0)
        return 0;
    if (!p->bulk) {
        size_t cap = avail > RESP_BULK_PREALLOC ? avail : RESP_BULK_PREALLOC;
        p->bulk = str_new(NULL, cap < blen ? cap : blen);
    }
    if (have < blen) {
        size_t n = blen - have < avail ? blen - have : avail;
        size_t size = str_len(p->bulk);
        if (have + n > size) {
            size_t grow = size * 2 > have + n ? size * 2 : have + n;
            p->bulk = str_grow(p->bulk, grow < blen ? grow : blen);
        }
        memcpy(p->bulk + have, buf + *pos, n);
        have += n;
        *pos += n;
        avail -= n;
    }
    if (have >= blen) {
        size_t skip = blen + 2 - have < avail ? blen + 2 - have : avail;
        have += skip;
        *pos += skip;
    }
    if (have < blen + 2) {
        p->bulk_have = (long long)have;
        return 0;
    }
    argv_push(p, p->bulk);
    p->bulk = NULL;
    p->bulk_have = 0;
    p->bulk_len = -1;
    return 1;
}

/* Continues a multibulk command. */
static enum resp_status parse_multibulk(struct resp_parser *p, const char *buf, size_t len,
                                        size_t *pos)
{
    long long ll;
    int ok, r;

    if (p->mb_left == 0) {
        r = parse_header(p, buf, len, pos, "Protocol error: too big mbulk count string", &ll, &ok);
        if (r <= 0)
            return r < 0 ? RESP_ERROR : RESP_AGAIN;
        if (!ok || ll > INT_MAX)
            return resp_fail(p, "Protocol error: invalid multibulk length");
        if (ll > UNAUTH_MAX_MULTIBULK && !p->authenticated)
            return resp_fail(p, "Protocol error: unauthenticated multibulk length");
        if (ll <= 0) {
            p->reqtype = REQ_NONE;
            return RESP_AGAIN;
        }
        p->mb_left = ll;
        p->argv_cap = (int)(ll < RESP_ARGV_PREALLOC ? ll : RESP_ARGV_PREALLOC);
        p->argv = heap_malloc(sizeof(str) * (size_t)p->argv_cap);
    }

    while (p->mb_left > 0) {
        if (p->bulk_len < 0) {
            size_t start = *pos;
            r = parse_header(p, buf, len, pos, "Protocol error: too big bulk count string", &ll,
                             &ok);
            if (r <= 0)
                return r < 0 ? RESP_ERROR : RESP_AGAIN;
            if (buf[start] != '$') {
                char x = buf[start];
                /* Redis turns line breaks in error text into spaces. */
                if (x == '\r' || x == '\n')
                    x = ' ';
                snprintf(p->errbuf, sizeof(p->errbuf), "Protocol error: expected '$', got '%c'", x);
                return resp_fail(p, p->errbuf);
            }
            if (!ok || ll < 0 || ll > p->max_bulk_len || ll > BULK_MAX_LEN)
                return resp_fail(p, "Protocol error: invalid bulk length");
            if (ll > UNAUTH_MAX_BULK && !p->authenticated)
                return resp_fail(p, "Protocol error: unauthenticated bulk length");
            p->bulk_len = ll;
            p->bulk_have = 0;
        }
        if (!read_bulk(p, buf, len, pos))
            return RESP_AGAIN;
        p->mb_left--;
    }
    p->reqtype = REQ_NONE;
    return RESP_DONE;
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *consumed)
{
    size_t pos = 0;
    enum resp_status st = RESP_AGAIN;

    /* A finished command the caller did not take or reset. */
    if (p->reqtype == REQ_NONE && p->argv)
        argv_free(p);
    p->error = NULL;

    while (pos < len) {
        if (p->reqtype == REQ_NONE)
            p->reqtype = buf[pos] == '*' ? REQ_MULTIBULK : REQ_INLINE;
        size_t before = pos;
        if (p->reqtype == REQ_MULTIBULK)
            st = parse_multibulk(p, buf, len, &pos);
        else
            st = parse_inline(p, buf, len, &pos);
        if (st != RESP_AGAIN)
            break;
        /* AGAIN with a command still open means the buffer ran out; with
         * none open, an empty command was skipped: look for the next. */
        if (p->reqtype != REQ_NONE || pos == before)
            break;
    }
    *consumed = pos;
    return st;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Bytes past the end read as NUL, like the C string Redis walks. */
#define AT(k) ((k) < len ? (unsigned char)line[k] : 0)

/*
 * Redis's sdssplitargs rules: arguments are separated by blanks; "double
 * quotes" take \xHH and \n \r \t \b \a escapes (any other escaped byte
 * stands for itself); 'single quotes' take only \'. A closing quote must be
 * followed by a blank or the end of the line, and an unclosed quote is an
 * error. Outside quotes a token ends at ' ', \t, \r, \n only (so \v and \f
 * are part of it), and a quote opens in the middle of a token ("a"b is
 * an error, a"b c" is one argument). The line ends at its first NUL, as a
 * C string would.
 */
str *resp_split_args(const char *line, size_t len, int *argc)
{
    const char *z = memchr(line, '\0', len);
    if (z)
        len = (size_t)(z - line);

    int n = 0, cap = 0;
    str *v = NULL;
    char *tok = heap_malloc(len + 1);
    size_t i = 0;
    *argc = 0;
    for (;;) {
        while (i < len && is_space(AT(i)))
            i++;
        if (i == len)
            break;

        size_t tlen = 0;
        int quote = 0; /* 0, '"' or '\'' */
        for (int done = 0; !done;) {
            int c = AT(i);
            if (quote == '"') {
                if (c == '\\' && AT(i + 1) == 'x' && hex_val(AT(i + 2)) >= 0 &&
                    hex_val(AT(i + 3)) >= 0) {
                    tok[tlen++] = (char)(hex_val(AT(i + 2)) * 16 + hex_val(AT(i + 3)));
                    i += 4;
                } else if (c == '\\' && AT(i + 1)) {
                    int e = AT(i + 1);
                    tok[tlen++] = (char)(e == 'n'   ? '\n'
                                         : e == 'r' ? '\r'
                                         : e == 't' ? '\t'
                                         : e == 'b' ? '\b'
                                         : e == 'a' ? '\a'
                                                    : e);
                    i += 2;
                } else if (c == '"') {
                    if (AT(i + 1) && !is_space(AT(i + 1)))
                        goto unbalanced;
                    i++;
                    done = 1;
                } else if (c == 0) {
                    goto unbalanced;
                } else {
                    tok[tlen++] = (char)c;
                    i++;
                }
            } else if (quote == '\'') {
                if (c == '\\' && AT(i + 1) == '\'') {
                    tok[tlen++] = '\'';
                    i += 2;
                } else if (c == '\'') {
                    if (AT(i + 1) && !is_space(AT(i + 1)))
                        goto unbalanced;
                    i++;
                    done = 1;
                } else if (c == 0) {
                    goto unbalanced;
                } else {
                    tok[tlen++] = (char)c;
                    i++;
                }
            } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0) {
                done = 1;
            } else if (c == '"' || c == '\'') {
                quote = c;
                i++;
            } else {
                tok[tlen++] = (char)c;
                i++;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            str *nv = heap_realloc(v, sizeof(str) * (size_t)cap);
            v = nv;
        }
        v[n++] = str_new(tok, tlen);
    }
#undef AT
    free(tok);
    if (!v) {
        /* No argument: still an array, so NULL only ever means an error. */
        v = heap_malloc(sizeof(str));
    }
    *argc = n;
    return v;

unbalanced:
    free(tok);
    resp_free_args(v, n);
    *argc = 0;
    return NULL;
}

void resp_free_args(str *argv, int argc)
{
    if (!argv)
        return;
    for (int i = 0; i < argc; i++)
        str_free(argv[i]);
    free(argv);
}
