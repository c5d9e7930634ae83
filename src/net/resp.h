/*
 * resp.h: the request parser (RESP multibulk and inline commands).
 *
 * Pure: it reads bytes from a buffer and builds an argv of strs (ds/str.h,
 * heap allocated); it knows nothing of clients or sockets, so it can be
 * fuzzed directly. It is incremental: a command split across reads is
 * resumed where it stopped, and the bytes of a large bulk argument are not
 * re-scanned on every read.
 *
 * Rules and error strings are Redis 7.0's (they are protocol facts):
 *   "Protocol error: too big inline request"          inline line > 64 KiB without \n
 *   "Protocol error: unbalanced quotes in request"     inline quoting
 *   "Protocol error: too big mbulk count string"       '*' line > 64 KiB without \r\n
 *   "Protocol error: invalid multibulk length"         not an integer, or > INT_MAX
 *   "Protocol error: unauthenticated multibulk length" > 10 while !authenticated
 *   "Protocol error: too big bulk count string"        '$' line > 64 KiB without \r\n
 *   "Protocol error: expected '$', got 'X'"            X is the byte found
 *   "Protocol error: invalid bulk length"              not an integer, < 0, or > max_bulk_len
 *   "Protocol error: unauthenticated bulk length"      > 16384 while !authenticated
 * A multibulk of length <= 0 ("*0", "*-1") is skipped (no command). An empty
 * inline line is skipped. Inline lines end at \n; a trailing \r is dropped.
 */
#ifndef LT_NET_RESP_H
#define LT_NET_RESP_H

#include <stddef.h>

#include "ds/str.h"

/* Redis's limit; fuzzing builds may define it smaller to reach it quickly. */
#ifndef RESP_INLINE_MAX
#define RESP_INLINE_MAX (64 * 1024)
#endif

enum resp_status {
    RESP_AGAIN = 0,  /* need more bytes (some may have been consumed) */
    RESP_DONE = 1,   /* one command is in argv/argc */
    RESP_ERROR = -1, /* protocol error: message in p->error; the connection must close */
};

struct resp_parser {
    /* limits, set by the owner */
    long long max_bulk_len; /* proto-max-bulk-len */
    int authenticated;      /* 0 applies the unauthenticated limits */

    /* result of RESP_DONE: owned by the parser until resp_take_argv() or
     * resp_reset() */
    int argc;
    str *argv;

    /* error message of RESP_ERROR (static string or inside the parser) */
    const char *error;
    char errbuf[64];

    /* incremental state (private) */
    int reqtype;        /* 0 none yet, 1 multibulk, 2 inline */
    long long mb_left;  /* bulk arguments still to read */
    long long bulk_len; /* -1 when the next '$' header is awaited */
    int argv_cap;
    int inline_no_newline; /* filled by the parser (see RESP_INLINE_MAX) */
    str bulk;              /* the bulk being received, NULL until its bytes come */
    long long bulk_have;   /* bytes of it consumed (data, then the 2 trailing bytes) */
    size_t argv_bytes;     /* sum of the lengths in argv */
};

/* authenticated starts at 0: the owner sets it (to 1 when no password is
 * required). */
void resp_init(struct resp_parser *p, long long max_bulk_len);
/* Frees argv and any partial state; the parser is ready for a new command. */
void resp_reset(struct resp_parser *p);
/* Parses from buf[0..len). *consumed gets how many bytes were used (the
 * caller drops them from its buffer). On RESP_DONE, p->argc/p->argv hold the
 * command; call resp_reset() (or take argv) before the next call. */
enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *consumed);
/* Hands the argv (and its strs) to the caller, who frees each with str_free
 * and the array with free(). The parser forgets them. */
str *resp_take_argv(struct resp_parser *p, int *argc);
/* Bytes of the unfinished command held by the parser (its arguments so far
 * and the received part of the current bulk), for client-query-buffer-limit:
 * with the caller's unconsumed bytes it is what Redis's query buffer holds. */
size_t resp_pending_bytes(const struct resp_parser *p);

/* Splits an inline line as Redis's sdssplitargs (quotes, \xHH, escapes).
 * Returns a malloc'd array of heap strs and sets *argc, or NULL on
 * unbalanced quotes. Also used by the config file parser. */
str *resp_split_args(const char *line, size_t len, int *argc);
void resp_free_args(str *argv, int argc);

#endif
