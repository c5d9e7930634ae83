/*
 * types.c: helpers shared by the command handlers of every type
 * (types.h): looking a key up with its type checked, element counts and
 * removals common to the collections, integer and cursor arguments, the
 * SCAN family's options, and making a string value writable.
 */
#include "types/types.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/reply.h"

void string_unshare(struct db *db, const str key, obj *o)
{
    if (o->encoding == OBJ_ENC_RAW)
        return;
    obj_string_make_raw(o, 0);
    /* stored as RAW too (the same answer hot or cold), but not a change of
     * the value: Redis does not count it */
    db_modified(db, key);
    ks_stats.changes--;
}

int read_ok_or_reply(client *c)
{
    if (!known_failed(c->known))
        return 0;
    reply_error_fmt(c, "ERR storage read failed: %s", c->known->read_err);
    return -1;
}

void reply_keyspace_failure(client *c, int code)
{
    if (code == KEYSPACE_WRITE_FAILED) {
        const char *e = keyspace_write_error();
        reply_error_fmt(c, "MISCONF Errors writing to the AOF file: %s", e ? e : "unknown error");
    } else {
        reply_error_fmt(c, "ERR storage read failed: %s", keyspace_read_error());
    }
}

int lookup_type_or_reply(client *c, const str key, int type, obj **o, int flags)
{
    *o = db_lookup(c->db, key, flags, c->known);
    if (!*o)
        return read_ok_or_reply(c);
    if ((*o)->type != type) {
        reply_error_wrongtype(c);
        return -1;
    }
    return 0;
}

int set_or_reply(client *c, struct db *db, const str key, obj *val, int flags)
{
    if (db_set(db, key, val, flags, c->known) == 0)
        return 0;
    read_ok_or_reply(c);
    return -1;
}

int delete_or_reply(client *c, struct db *db, const str key)
{
    int r = db_delete(db, key, c->known);
    if (r < 0)
        read_ok_or_reply(c);
    return r;
}

int lookup_meta_or_reply(client *c, const str key, int flags, struct key_meta *m)
{
    int r = db_lookup_meta(c->db, key, flags, m, c->known);
    if (r < 0)
        read_ok_or_reply(c);
    return r;
}

void reply_count(client *c, int type, size_t (*len)(const obj *))
{
    struct key_meta m;
    int r = lookup_meta_or_reply(c, c->argv[1], LOOKUP_NONE, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_long(c, 0);
    } else if (m.type != type) {
        reply_error_wrongtype(c);
    } else {
        reply_long(c, (long long)(m.cold ? m.count : len(m.val)));
    }
}

void remove_members(client *c, int type, int (*del)(obj *, const void *, size_t),
                    size_t (*len)(const obj *))
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], type, &o, LOOKUP_WRITE) < 0)
        return;
    long long removed = 0;
    for (int j = 2; o && j < c->argc; j++) {
        if (!del(o, c->argv[j], str_len(c->argv[j])))
            continue;
        removed++;
        if (len(o) == 0) {
            db_delete(c->db, c->argv[1], NULL); /* hot: nothing to read */
            o = NULL;
        }
    }
    if (o && removed)
        db_modified(c->db, c->argv[1]);
    reply_long(c, removed);
}

int random_count_or_reply(client *c, const char *with, long *count, int *withvalues)
{
    long long l;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &l)) {
        reply_error_not_int(c);
        return -1;
    }
    if (l < -LONG_MAX) {
        reply_error_fmt(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX,
                        LONG_MAX);
        return -1;
    }
    *withvalues = c->argc == 4;
    if (c->argc > 4 || (c->argc == 4 && strcasecmp(c->argv[3], with))) {
        reply_error_syntax(c);
        return -1;
    }
    /* with the option, the reply holds two entries per pick */
    if (*withvalues && (l < -LONG_MAX / 2 || l > LONG_MAX / 2)) {
        reply_error(c, "ERR value is out of range");
        return -1;
    }
    *count = (long)l;
    return 0;
}

int long_or_reply(client *c, const str arg, long *out)
{
    long long v;
    if (!util_str2ll(arg, str_len(arg), &v)) {
        reply_error_not_int(c);
        return -1;
    }
    *out = (long)v;
    return 0;
}

int long_at_least_or_reply(client *c, const str arg, long min, const char *msg, long *out)
{
    long long v;
    if (!util_str2ll(arg, str_len(arg), &v) || v < min) {
        reply_error(c, msg);
        return -1;
    }
    *out = (long)v;
    return 0;
}

int scan_cursor_or_reply(client *c, const str arg, unsigned long long *cursor)
{
    char *end;
    errno = 0;
    *cursor = strtoull(arg, &end, 10);
    if (isspace((unsigned char)arg[0]) || *end != '\0' || errno == ERANGE ||
        end != arg + str_len(arg)) {
        reply_error(c, "ERR invalid cursor");
        return -1;
    }
    return 0;
}

int scan_options_or_reply(client *c, int first, int allow_type, struct scan_opts *o)
{
    o->count = 10;
    o->pat = NULL;
    o->plen = 0;
    o->type = NULL;
    for (int j = first; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "count") && more) {
            if (!util_str2ll(c->argv[j + 1], str_len(c->argv[j + 1]), &o->count)) {
                reply_error_not_int(c);
                return -1;
            }
            if (o->count < 1) {
                reply_error_syntax(c);
                return -1;
            }
            j++;
        } else if (!strcasecmp(c->argv[j], "match") && more) {
            o->plen = str_len(c->argv[j + 1]);
            o->pat = o->plen == 1 && c->argv[j + 1][0] == '*' ? NULL : c->argv[j + 1];
            j++;
        } else if (allow_type && !strcasecmp(c->argv[j], "type") && more) {
            o->type = c->argv[j + 1];
            j++;
        } else {
            reply_error_syntax(c);
            return -1;
        }
    }
    o->maxiter = o->count > LLONG_MAX / 10 ? LLONG_MAX : o->count * 10;
    return 0;
}

int scan_key_start_or_reply(client *c, int type, unsigned long long *cursor, obj **o,
                            struct scan_opts *so)
{
    if (scan_cursor_or_reply(c, c->argv[2], cursor) < 0 ||
        lookup_type_or_reply(c, c->argv[1], type, o, LOOKUP_NONE) < 0)
        return 0;
    if (!*o) {
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_empty_array(c);
        return 0;
    }
    return scan_options_or_reply(c, 3, 0, so) == 0;
}
