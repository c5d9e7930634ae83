/*
 * types.h: helpers shared by the command handlers in types/.
 */
#ifndef LT_TYPES_TYPES_H
#define LT_TYPES_TYPES_H

#include "ds/str.h"
#include "net/client.h"

/* Parses a SCAN-family cursor as Redis does (strtoul: "-1" wraps around, a
 * leading space or trailing garbage is "ERR invalid cursor", already sent).
 * 0 on success, -1 after replying. */
int scan_cursor_or_reply(client *c, const str arg, unsigned long long *cursor);

/* The options of the SCAN family: COUNT n (>= 1, default 10), MATCH pattern
 * (a lone "*" is no pattern) and, with allow_type (SCAN), TYPE name.
 * Parsed from argv[first]; 0, or -1 after replying the error. */
struct scan_opts {
    long long count;
    const char *pat; /* NULL: every element */
    size_t plen;
    const char *type; /* NULL: any type */
};
int scan_options_or_reply(client *c, int first, int allow_type, struct scan_opts *o);

#endif
