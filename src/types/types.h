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

#endif
