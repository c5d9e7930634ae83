/*
 * types.h: helpers shared by the command handlers in types/.
 */
#ifndef LT_TYPES_TYPES_H
#define LT_TYPES_TYPES_H

#include "ds/str.h"
#include "keyspace/db.h"
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

/* Makes the string value o of key RAW before a change in place, as Redis's
 * dbUnshareStringValue does (OBJECT ENCODING then says "raw" even when the
 * command changes nothing after all). Not counted as a change. */
void string_unshare(struct db *db, const str key, obj *o);

#endif
