/*
 * keys.c: commands on keys of any type: DEL EXISTS TYPE RENAME COPY MOVE
 * KEYS SCAN RANDOMKEY DBSIZE FLUSH* SWAPDB TOUCH OBJECT and the TTL family.
 *
 * Effects (repl/effects.h): EXPIRE, PEXPIRE and EXPIREAT propagate as
 * `PEXPIREAT k <ms> [flag]`, and any of the family that deletes the key (a
 * time already past) as `DEL k`, as Redis 7.0 does; the others propagate
 * their own arguments.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "tier/tier.h"
#include "types/types.h"

void cmd_del(client *c)
{
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        int r = delete_or_reply(c, c->db, c->argv[j]);
        if (r < 0)
            return;
        n += r;
    }
    reply_long(c, n);
}

void cmd_unlink(client *c)
{
    cmd_del(c);
}

void cmd_exists(client *c)
{
    long long n = 0;
    struct key_meta m;
    for (int j = 1; j < c->argc; j++) {
        int r = lookup_meta_or_reply(c, c->argv[j], LOOKUP_NOTOUCH, &m);
        if (r < 0)
            return;
        n += r;
    }
    reply_long(c, n);
}

void cmd_touch(client *c)
{
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        n += db_lookup(c->db, c->argv[j], LOOKUP_NONE, c->known) != NULL;
    if (read_ok_or_reply(c) < 0)
        return;
    reply_long(c, n);
}

void cmd_type(client *c)
{
    struct key_meta m;
    int found = lookup_meta_or_reply(c, c->argv[1], LOOKUP_NOTOUCH, &m);
    if (found >= 0)
        reply_status(c, found ? obj_type_name(m.type) : "none");
}

/* Moves the value of hot key src in db from to key dst in db to, TTL
 * included (RENAME, MOVE): the object itself moves, with its LRU/LFU word,
 * and an existing dst is replaced. 0, or -1 after replying the read error
 * when dst could not be read (nothing moved). */
static int move_value(client *c, struct db *from, const str src, struct db *to, const str dst)
{
    if (delete_or_reply(c, to, dst) < 0)
        return -1;
    int64_t expire = db_get_expire(from, src);
    obj *o = db_take(from, src, c->known);
    uint32_t lru = o->lru;
    db_add(to, dst, o);
    o->lru = lru;
    if (expire >= 0)
        db_set_expire(to, dst, expire);
    return 0;
}

static void rename_generic(client *c, int nx)
{
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    if (!o) {
        if (read_ok_or_reply(c) == 0)
            reply_error(c, "ERR no such key");
        return;
    }
    if (str_len(c->argv[1]) == str_len(c->argv[2]) &&
        !memcmp(c->argv[1], c->argv[2], str_len(c->argv[1]))) {
        if (nx)
            reply_long(c, 0);
        else
            reply_ok(c);
        return;
    }
    if (nx && db_lookup(c->db, c->argv[2], LOOKUP_WRITE, c->known)) {
        reply_long(c, 0);
        return;
    }
    if (move_value(c, c->db, c->argv[1], c->db, c->argv[2]) < 0)
        return;
    if (nx)
        reply_long(c, 1);
    else
        reply_ok(c);
}

void cmd_rename(client *c)
{
    rename_generic(c, 0);
}

void cmd_renamenx(client *c)
{
    rename_generic(c, 1);
}

static int db_index_or_reply(client *c, const str arg, struct db **db)
{
    long long idx;
    if (!util_str2ll(arg, str_len(arg), &idx)) {
        reply_error_not_int(c);
        return -1;
    }
    if (idx < INT32_MIN || idx > INT32_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and "
                       "2147483647");
        return -1;
    }
    *db = keyspace_db((int)idx);
    if (!*db) {
        reply_error(c, "ERR DB index is out of range");
        return -1;
    }
    return 0;
}

void cmd_copy(client *c)
{
    struct db *dst = c->db;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "replace")) {
            replace = 1;
        } else if (!strcasecmp(c->argv[j], "db") && j + 1 < c->argc) {
            if (db_index_or_reply(c, c->argv[j + 1], &dst) < 0)
                return;
            j++;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (dst == c->db && str_len(c->argv[1]) == str_len(c->argv[2]) &&
        !memcmp(c->argv[1], c->argv[2], str_len(c->argv[1]))) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    if (!o) {
        if (read_ok_or_reply(c) == 0)
            reply_long(c, 0);
        return;
    }
    if (db_lookup(dst, c->argv[2], LOOKUP_WRITE, c->known)) {
        if (!replace) {
            reply_long(c, 0);
            return;
        }
        db_delete(dst, c->argv[2], c->known);
    } else if (read_ok_or_reply(c) < 0) {
        return;
    }
    int64_t expire = db_get_expire(c->db, c->argv[1]);
    db_add(dst, c->argv[2], obj_dup(o));
    if (expire >= 0)
        db_set_expire(dst, c->argv[2], expire);
    reply_long(c, 1);
}

void cmd_move(client *c)
{
    struct db *dst;
    if (db_index_or_reply(c, c->argv[2], &dst) < 0)
        return;
    if (dst == c->db) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    if (!o) {
        if (read_ok_or_reply(c) == 0)
            reply_long(c, 0);
        return;
    }
    if (db_lookup(dst, c->argv[1], LOOKUP_WRITE, c->known)) {
        reply_long(c, 0);
        return;
    }
    if (move_value(c, c->db, c->argv[1], dst, c->argv[1]) < 0)
        return;
    reply_long(c, 1);
}

/* ---- KEYS, SCAN, RANDOMKEY ----------------------------------------------- */

struct key_filter {
    client *c;
    const char *pat;
    size_t plen;
    int type; /* -1: any; -2: unknown type name, nothing matches */
    long long count, seen;
    long long emitted;
};

static int key_matches(struct key_filter *f, const char *key, size_t klen, int type, int64_t expire)
{
    if (keyspace_time_passed(expire))
        return 0;
    if (f->type == -2 || (f->type >= 0 && f->type != type))
        return 0;
    if (f->pat && !(f->plen == 1 && f->pat[0] == '*') &&
        !util_glob_match(f->pat, f->plen, key, klen, 0))
        return 0;
    return 1;
}

static int keys_cb(void *ctx, const char *key, size_t klen, int type, int64_t expire)
{
    struct key_filter *f = ctx;
    if (key_matches(f, key, klen, type, expire)) {
        reply_bulk(f->c, key, klen);
        f->emitted++;
    }
    /* a reply past client-reply-max-size ends the walk (it becomes an error) */
    return reply_stopped(f->c);
}

void cmd_keys(client *c)
{
    struct key_filter f = {c, c->argv[1], str_len(c->argv[1]), -1, 0, 0, 0};
    uint64_t mark = reply_mark(c);
    void *h = reply_defer_len(c);
    uint64_t next;
    int rc = keyspace_scan(c->db, 0, keys_cb, &f, &next);
    if (rc != 0) {
        /* what the walk replied so far is not the answer */
        reply_rollback(c, mark);
        reply_keyspace_failure(c, rc);
        return;
    }
    reply_set_array_len(c, h, f.emitted);
}

static int scan_cb(void *ctx, const char *key, size_t klen, int type, int64_t expire)
{
    struct key_filter *f = ctx;
    f->seen++;
    if (key_matches(f, key, klen, type, expire)) {
        reply_bulk(f->c, key, klen);
        f->emitted++;
    }
    return f->seen >= f->count;
}

static int type_by_name(const char *name)
{
    static const char *names[] = {"string", "list", "set", "zset", "hash", "stream"};
    for (int i = 0; i < 6; i++)
        if (!strcasecmp(names[i], name))
            return i;
    return -2;
}

void cmd_scan(client *c)
{
    unsigned long long cursor;
    if (scan_cursor_or_reply(c, c->argv[1], &cursor) < 0)
        return;
    struct scan_opts so;
    if (scan_options_or_reply(c, 2, 1, &so) < 0)
        return;
    struct key_filter f = {c,        so.pat, so.plen, so.type ? type_by_name(so.type) : -1,
                           so.count, 0,      0};
    uint64_t mark = reply_mark(c);
    reply_array(c, 2);
    /* the cursor is only known after the walk: reserve its slot */
    void *slot = reply_defer_len(c);
    void *h = reply_defer_len(c);
    uint64_t next;
    int rc = keyspace_scan(c->db, cursor, scan_cb, &f, &next);
    if (rc != 0) {
        /* an end of the walk that is not its end: never cursor 0 */
        reply_rollback(c, mark);
        reply_keyspace_failure(c, rc);
        return;
    }
    reply_set_array_len(c, h, f.emitted);
    char buf[32];
    int len = util_ull2str(buf, sizeof(buf), next);
    reply_set_deferred_bulk(c, slot, buf, (size_t)len);
}

void cmd_randomkey(client *c)
{
    str key;
    int rc = keyspace_random_key(c->db, &key);
    if (rc < 0) {
        reply_keyspace_failure(c, rc);
        return;
    }
    if (rc == 1) {
        reply_null(c);
        return;
    }
    reply_bulk_str(c, key);
    str_free(key);
}

void cmd_dbsize(client *c)
{
    reply_long(c, c->db->nkeys);
}

static int flush_option_or_reply(client *c)
{
    if (c->argc == 1)
        return 0;
    if (c->argc == 2 && (!strcasecmp(c->argv[1], "async") || !strcasecmp(c->argv[1], "sync")))
        return 0;
    reply_error_syntax(c);
    return -1;
}

void cmd_flushdb(client *c)
{
    if (flush_option_or_reply(c) < 0)
        return;
    if (db_flush(c->db) < 0)
        reply_keyspace_failure(c, KEYSPACE_WRITE_FAILED);
    else
        reply_ok(c);
}

void cmd_flushall(client *c)
{
    if (flush_option_or_reply(c) < 0)
        return;
    if (keyspace_flush_all() < 0)
        reply_keyspace_failure(c, KEYSPACE_WRITE_FAILED);
    else
        reply_ok(c);
}

void cmd_swapdb(client *c)
{
    long long a, b;
    if (!util_str2ll(c->argv[1], str_len(c->argv[1]), &a) || a < INT32_MIN || a > INT32_MAX) {
        reply_error(c, "ERR invalid first DB index");
        return;
    }
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &b) || b < INT32_MIN || b > INT32_MAX) {
        reply_error(c, "ERR invalid second DB index");
        return;
    }
    if (!keyspace_db((int)a) || !keyspace_db((int)b)) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    int rc = keyspace_swap((int)a, (int)b);
    /* clients keep their index: they now see the other dataset (those
     * blocked in either db were signalled through the keyspace's hook) */
    for (client *x = net.clients; x; x = x->next)
        x->db = keyspace_db(x->dbindex);
    if (rc < 0)
        reply_keyspace_failure(c, KEYSPACE_WRITE_FAILED);
    else
        reply_ok(c);
}

/* ---- OBJECT -------------------------------------------------------------- */

static obj *object_lookup_or_null(client *c)
{
    obj *o = db_lookup(c->db, c->argv[2], LOOKUP_NOTOUCH | LOOKUP_NOSTATS, c->known);
    if (!o && read_ok_or_reply(c) == 0)
        reply_null(c);
    return o;
}

void cmd_object_encoding(client *c)
{
    struct key_meta m;
    int r = lookup_meta_or_reply(c, c->argv[2], LOOKUP_NOTOUCH | LOOKUP_NOSTATS, &m);
    if (r > 0)
        reply_bulk_cstr(c, obj_encoding_name_of(m.encoding));
    else if (r == 0)
        reply_null(c);
}

void cmd_object_freq(client *c)
{
    obj *o = object_lookup_or_null(c);
    if (!o)
        return;
    if (tier_settings.policy != MAXMEMORY_LFU) {
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                       "tracked. Please note that when switching between policies at runtime LRU "
                       "and LFU data will take some time to adjust.");
        return;
    }
    reply_long(c, access_lfu_counter(o));
}

void cmd_object_idletime(client *c)
{
    obj *o = object_lookup_or_null(c);
    if (!o)
        return;
    if (tier_settings.policy == MAXMEMORY_LFU) {
        reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                       "note that when switching between policies at runtime LRU and LFU data "
                       "will take some time to adjust.");
        return;
    }
    reply_long(c, access_idle_seconds(o));
}

void cmd_object_refcount(client *c)
{
    obj *o = object_lookup_or_null(c);
    if (!o)
        return;
    /* Redis shares the integers 0..9999 when no LRU/LFU policy needs a
     * per-object clock; it reports them with INT_MAX references. */
    int shared = o->encoding == OBJ_ENC_INT && o->u.i >= 0 && o->u.i < 10000 &&
                 (tier_settings.maxmemory == 0 || tier_settings.policy > MAXMEMORY_LFU);
    reply_long(c, shared ? 2147483647 : 1);
}

void cmd_object_tier(client *c)
{
    int t = db_tier_of(c->db, c->argv[2]);
    if (t == -2)
        reply_keyspace_failure(c, KEYSPACE_READ_FAILED);
    else if (t < 0)
        reply_null(c);
    else
        reply_bulk_cstr(c, t == KEY_HOT ? "hot" : "cold");
}

void cmd_object_help(client *c)
{
    static const char *lines[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "TIER <key>",
        "    Return where the <key> lives now: 'hot' (in memory) or 'cold' (on disk only).",
        NULL,
    };
    reply_help(c, "OBJECT", lines);
}

/* ---- TTLs ---------------------------------------------------------------- */

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

/* EXPIRE (relative, seconds), PEXPIRE (relative), EXPIREAT (seconds) and
 * PEXPIREAT. */
static void expire_generic(client *c, int relative, int seconds)
{
    int64_t basetime = relative ? keyspace_mstime : 0;
    int flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j];
        if (!strcasecmp(opt, "nx"))
            flags |= EXPIRE_NX;
        else if (!strcasecmp(opt, "xx"))
            flags |= EXPIRE_XX;
        else if (!strcasecmp(opt, "gt"))
            flags |= EXPIRE_GT;
        else if (!strcasecmp(opt, "lt"))
            flags |= EXPIRE_LT;
        else {
            reply_error_fmt(c, "ERR Unsupported option %s", opt);
            return;
        }
    }
    if ((flags & EXPIRE_NX) && (flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXPIRE_GT) && (flags & EXPIRE_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &when)) {
        reply_error_not_int(c);
        return;
    }
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_error_fmt(c, "ERR invalid expire time in '%s' command", c->cmd->name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_error_fmt(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    when += basetime;
    if (!db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known)) {
        if (read_ok_or_reply(c) == 0)
            reply_long(c, 0);
        return;
    }
    if (flags) {
        int64_t cur = db_get_expire(c->db, c->argv[1]);
        if ((flags & EXPIRE_NX) && cur != -1) {
            reply_long(c, 0);
            return;
        }
        if ((flags & EXPIRE_XX) && cur == -1) {
            reply_long(c, 0);
            return;
        }
        if ((flags & EXPIRE_GT) && (cur == -1 || when <= cur)) {
            reply_long(c, 0);
            return;
        }
        if ((flags & EXPIRE_LT) && cur != -1 && when >= cur) {
            reply_long(c, 0);
            return;
        }
    }
    if (when <= keyspace_mstime && !keyspace_loading) { /* as Redis loading its AOF */
        db_delete(c->db, c->argv[1], c->known);
        ks_stats.expired_keys++;
        effect_begin(c->dbindex, 2);
        effect_arg_cstr("DEL");
        effect_arg_str(c->argv[1]);
        effect_prevent();
    } else {
        db_set_expire(c->db, c->argv[1], when);
        if (relative || seconds) {
            /* PEXPIREAT's own arguments already say when */
            effect_begin(c->dbindex, c->argc);
            effect_arg_cstr("PEXPIREAT");
            effect_arg_str(c->argv[1]);
            effect_arg_ll(when);
            for (int j = 3; j < c->argc; j++)
                effect_arg_str(c->argv[j]);
            effect_prevent();
        }
    }
    reply_long(c, 1);
}

void cmd_expire(client *c)
{
    expire_generic(c, 1, 1);
}

void cmd_pexpire(client *c)
{
    expire_generic(c, 1, 0);
}

void cmd_expireat(client *c)
{
    expire_generic(c, 0, 1);
}

void cmd_pexpireat(client *c)
{
    expire_generic(c, 0, 0);
}

static void ttl_generic(client *c, int ms, int absolute)
{
    struct key_meta m;
    int r = lookup_meta_or_reply(c, c->argv[1], LOOKUP_NOTOUCH, &m);
    if (r <= 0) {
        if (r == 0)
            reply_long(c, -2);
        return;
    }
    int64_t expire = m.expire_ms;
    if (expire == -1) {
        reply_long(c, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - keyspace_mstime;
    if (ttl < 0)
        ttl = 0;
    /* rounded to the nearest second; ttl + 500 would overflow at LLONG_MAX */
    reply_long(c, ms ? ttl : ttl / 1000 + (ttl % 1000 >= 500));
}

void cmd_ttl(client *c)
{
    ttl_generic(c, 0, 0);
}

void cmd_pttl(client *c)
{
    ttl_generic(c, 1, 0);
}

void cmd_expiretime(client *c)
{
    ttl_generic(c, 0, 1);
}

void cmd_pexpiretime(client *c)
{
    ttl_generic(c, 1, 1);
}

void cmd_persist(client *c)
{
    if (!db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known)) {
        if (read_ok_or_reply(c) == 0)
            reply_long(c, 0);
        return;
    }
    reply_long(c, db_remove_expire(c->db, c->argv[1]));
}
