/*
 * reply.h: writing RESP2/RESP3 replies into a client's output buffer.
 *
 * Each function appends one reply element in the client's protocol
 * (c->resp): a map is a flat array in RESP2, a null is $-1 or *-1 in RESP2
 * and _ in RESP3, a double is a bulk string in RESP2 and , in RESP3.
 * Errors: reply_error(c, "ERR msg") sends "-ERR msg\r\n"; a message without
 * an error code gets "ERR " prepended as Redis does. Every error reply goes
 * through net's error_reply hook first (INFO errorstats, failed calls).
 */
#ifndef LT_NET_REPLY_H
#define LT_NET_REPLY_H

#include <stddef.h>

#include "net/client.h"

void reply_raw(client *c, const char *buf, size_t len);
void reply_ok(client *c);
void reply_status(client *c, const char *s);
void reply_status_len(client *c, const char *s, size_t len);
void reply_error(client *c, const char *msg);
void reply_error_fmt(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_error_syntax(client *c);
void reply_error_wrongtype(client *c);
void reply_error_not_int(client *c);
void reply_error_not_float(client *c);
void reply_error_overflow(client *c);
void reply_long(client *c, long long v);
void reply_bulk(client *c, const void *p, size_t len);
void reply_bulk_cstr(client *c, const char *s); /* NULL -> null */
void reply_bulk_str(client *c, const str s);
void reply_bulk_long(client *c, long long v);
void reply_null(client *c);       /* $-1 / _ */
void reply_null_array(client *c); /* *-1 / _ */
void reply_array(client *c, long long n);
void reply_map(client *c, long long n); /* n pairs */
void reply_set(client *c, long long n);
void reply_double(client *c, double d);
void reply_bool(client *c, int b);
void reply_bignum(client *c, const char *digits, size_t len); /* ( in RESP3, bulk in RESP2 */
void reply_attribute(client *c, long long n);                 /* RESP3 only: | n pairs */
void reply_push(client *c, long long n);                      /* RESP3 only: > n */
void reply_verbatim(client *c, const char *p, size_t len, const char *ext);
void reply_empty_array(client *c);
void reply_help(client *c, const char *cmd, const char **lines);
void reply_error_subcommand(client *c);

/* The position of c's output: every byte queued so far, counted from the
 * connection's start. */
uint64_t reply_mark(client *c);
/* Drops what was queued after mark (a reply being built that turned out
 * not to be the answer: the command replies an error instead). mark must
 * not be before what is released. */
void reply_rollback(client *c, uint64_t mark);

/*
 * The reply of one command is measured (dispatch wraps each command in
 * these): once it passes client-reply-max-size, what it would add is
 * dropped and reply_stopped() turns true, so a loop that generates output
 * can end early; reply_meter_end then replaces the partial reply with an
 * error. A client whose unsent replies hold more than client-reply-max-size
 * after a command (a pipeline or a slow reader) is closed. The meter nests
 * (EXEC measures each queued command): reply_meter_begin returns the outer
 * meter, to be given back to reply_meter_end.
 */
struct reply_meter {
    uint64_t base;
    unsigned metered;
};
struct reply_meter reply_meter_begin(client *c);
void reply_meter_end(client *c, struct reply_meter outer);
/* 1 when nothing more the running command adds will be sent: its reply
 * overflowed, or replies are off or the client is going. Loops whose
 * output is their only effect stop on it. */
int reply_stopped(const client *c);

/* Deferred lengths: returns a handle, the element count is set later. */
void *reply_defer_len(client *c);
void reply_set_array_len(client *c, void *handle, long long n);
void reply_set_map_len(client *c, void *handle, long long n);
void reply_set_set_len(client *c, void *handle, long long n); /* ~ in RESP3, * in RESP2 */
/* Fills a deferred slot with a bulk string (SCAN's cursor, known last). */
void reply_set_deferred_bulk(client *c, void *handle, const char *p, size_t len);

#endif
