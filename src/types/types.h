/*
 * types.h: helpers shared by the command handlers in types/.
 */
#ifndef LT_TYPES_TYPES_H
#define LT_TYPES_TYPES_H

#include "ds/str.h"
#include "keyspace/db.h"
#include "net/client.h"

/* Reads of keys fail as errors, never as absent keys (docs/design.md
 * "Storage faults"): the prefetch of a command's keys failing keeps the
 * command from running at all; a lookup a handler makes itself that has to
 * read (SORT's BY/GET keys, a blocked client's command run again) and
 * fails leaves c->known failed. These helpers then reply
 * "ERR storage read failed: <why>" and return -1. */
int read_ok_or_reply(client *c);

/* Looks key up in c's db (db_lookup flags); replies WRONGTYPE and returns
 * -1 when it holds another type than `type`, or the read error when it
 * could not be read. *o is NULL when absent. */
int lookup_type_or_reply(client *c, const str key, int type, obj **o, int flags);
/* db_set / db_delete / db_lookup_meta of a key of c's command: as they
 * return, and -1 after replying the read error when it could not be read
 * (db_set then freed val: nothing changed). */
int set_or_reply(client *c, struct db *db, const str key, obj *val, int flags);
int delete_or_reply(client *c, struct db *db, const str key);
int lookup_meta_or_reply(client *c, const str key, int flags, struct key_meta *m);
/* The error of a failed keyspace walk or commit (KEYSPACE_READ_FAILED:
 * "ERR storage read failed: ...", KEYSPACE_WRITE_FAILED: "MISCONF Errors
 * writing to the AOF file: ...", as Redis answers when its AOF cannot be
 * written). */
void reply_keyspace_failure(client *c, int code);

/* HLEN, SCARD, ZCARD, LLEN key: the number of elements of the collection
 * of `type` at argv[1] (len), 0 when absent. A cold split value answers
 * from its stored header, its elements never read. */
void reply_count(client *c, int type, size_t (*len)(const obj *));

/* HDEL, SREM, ZREM key member [member ...]: removes the members from the
 * collection of `type` at argv[1] through del, deletes the key with its
 * last member, and replies the number removed. */
void remove_members(client *c, int type, int (*del)(obj *, const void *, size_t),
                    size_t (*len)(const obj *));

/* HRANDFIELD / ZRANDMEMBER key count [WITHVALUES|WITHSCORES]: the count
 * (argv[2], Redis's range checks, halved with the option) and whether the
 * option (the word `with`, any case) is given. 0, or -1 after replying. */
int random_count_or_reply(client *c, const char *with, long *count, int *withvalues);

/* An integer argument as a long; -1 after "value is not an integer". */
int long_or_reply(client *c, const str arg, long *out);
/* An integer in [min, LONG_MAX]; msg (Redis's) is the error both for a
 * non-integer and for a value below min. */
int long_at_least_or_reply(client *c, const str arg, long min, const char *msg, long *out);

/* Parses a SCAN-family cursor as Redis does (strtoul: "-1" wraps around, a
 * leading space or trailing garbage is "ERR invalid cursor", already sent).
 * 0 on success, -1 after replying. */
int scan_cursor_or_reply(client *c, const str arg, unsigned long long *cursor);

/* The options of the SCAN family: COUNT n (>= 1, default 10), MATCH pattern
 * (a lone "*" is no pattern) and, with allow_type (SCAN), TYPE name.
 * Parsed from argv[first]; 0, or -1 after replying the error. */
struct scan_opts {
    long long count;
    long long maxiter; /* buckets visited at most: count * 10, saturated */
    const char *pat;   /* NULL: every element */
    size_t plen;
    const char *type; /* NULL: any type */
};
int scan_options_or_reply(client *c, int first, int allow_type, struct scan_opts *o);
/* HSCAN, SSCAN, ZSCAN key cursor [options]: in Redis's order, the cursor,
 * then the key (an absent one is the empty, finished scan before the
 * options are read), then the options. 1 with *o (of `type`) to scan, or 0
 * when the reply is already made. */
int scan_key_start_or_reply(client *c, int type, unsigned long long *cursor, obj **o,
                            struct scan_opts *so);

/* Makes the string value o of key RAW before a change in place, as Redis's
 * dbUnshareStringValue does (OBJECT ENCODING then says "raw" even when the
 * command changes nothing after all). Not counted as a change. */
void string_unshare(struct db *db, const str key, obj *o);

#endif
