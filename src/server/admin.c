/*
 * admin.c: server commands: TIME LASTSAVE SAVE BGSAVE SHUTDOWN SLOWLOG DEBUG
 * and the slow log itself.
 *
 * SAVE and BGSAVE write a RocksDB checkpoint (hard links, so it is quick)
 * to <dir>/checkpoint: a consistent copy another longtail can open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/command.h"
#include "ds/hashfn.h"
#include "ds/sha1.h"
#include "ds/util.h"
#include "keyspace/access.h"
#include "keyspace/db.h"
#include "net/reply.h"
#include "server/config.h"
#include "ds/log.h"
#include "server/server.h"
#include "storage/codec.h"
#include "storage/readpool.h"
#include "ds/alloc.h"
#include "tier/tier.h"

void cmd_time(client *c)
{
    int64_t us = util_ustime();
    reply_array(c, 2);
    reply_bulk_long(c, us / 1000000);
    reply_bulk_long(c, us % 1000000);
}

void cmd_lastsave(client *c)
{
    reply_long(c, server.lastsave_s);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Commits, then writes a checkpoint to <dir>/checkpoint, replacing the
 * previous one only once the new one is complete. */
int server_save_checkpoint(char **err)
{
    if (keyspace_commit() != 0) {
        *err = strdup("commit failed");
        return -1;
    }
    char tmp[4096], final[4096], old[4096];
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp-%d", server.dir, (int)server.pid);
    snprintf(final, sizeof(final), "%s/checkpoint", server.dir);
    snprintf(old, sizeof(old), "%s/checkpoint.old-%d", server.dir, (int)server.pid);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (store_checkpoint(server.store, tmp, err) != 0)
        return -1;
    int had_old = rename(final, old) == 0;
    if (rename(tmp, final) != 0) {
        *err = strdup(strerror(errno));
        if (had_old)
            rename(old, final);
        return -1;
    }
    if (had_old)
        nftw(old, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    server.lastsave_s = time(NULL);
    server.changes_at_save = ks_stats.changes;
    log_notice("DB saved on disk (checkpoint %s)", final);
    return 0;
}

void cmd_save(client *c)
{
    char *err = NULL;
    if (server_save_checkpoint(&err) != 0) {
        log_warning("Checkpoint failed: %s", err ? err : "?");
        free(err);
        reply_error(c, "ERR");
        return;
    }
    reply_ok(c);
}

void cmd_bgsave(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && strcasecmp(c->argv[1], "schedule"))) {
        reply_error_syntax(c);
        return;
    }
    if (c->flags & CLIENT_IN_EXEC) {
        /* as Redis: not in the middle of a transaction, soon after it */
        server.bgsave_scheduled = 1;
        reply_status(c, "Background saving scheduled");
        return;
    }
    char *err = NULL;
    if (server_save_checkpoint(&err) != 0) {
        log_warning("Checkpoint failed: %s", err ? err : "?");
        free(err);
        reply_error(c, "ERR");
        return;
    }
    reply_status(c, "Background saving started");
}

void cmd_shutdown(client *c)
{
    int save = 0, nosave = 0, abort_ = 0;
    for (int j = 1; j < c->argc; j++) {
        const char *o = c->argv[j];
        if (!strcasecmp(o, "nosave"))
            nosave = 1;
        else if (!strcasecmp(o, "save"))
            save = 1;
        else if (!strcasecmp(o, "now") || !strcasecmp(o, "force"))
            ;
        else if (!strcasecmp(o, "abort"))
            abort_ = 1;
        else {
            reply_error_syntax(c);
            return;
        }
    }
    if ((save && nosave) || (abort_ && c->argc > 2)) {
        reply_error_syntax(c);
        return;
    }
    if (abort_) {
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    if (save) {
        char *err = NULL;
        if (server_save_checkpoint(&err) != 0) {
            log_warning("Checkpoint before shutdown failed: %s", err ? err : "?");
            free(err);
            reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
            return;
        }
    }
    /* Every write is committed at the end of this iteration; then exit. */
    c->flags |= CLIENT_REPLY_OFF;
    server.shutdown_asap = 1;
    server.shutdown_exit_code = 0;
}

/* ---- DEBUG --------------------------------------------------------------- */

/* DEBUG DIGEST and DIGEST-VALUE compute Redis's digests exactly (SHA-1
 * mixing as Redis 7.0 does), so a dataset copied from Redis digests the
 * same here: xor_digest(d, p) is d ^= SHA1(p); mix_digest(d, p) is that
 * followed by d = SHA1(d). */
static void xor_digest(uint8_t d[20], const void *p, size_t len)
{
    uint8_t h[20];
    sha1(p, len, h);
    for (int i = 0; i < 20; i++)
        d[i] ^= h[i];
}

static void mix_digest(uint8_t d[20], const void *p, size_t len)
{
    xor_digest(d, p, len);
    sha1(d, 20, d);
}

static void value_digest(uint8_t d[20], obj *o, int64_t expire)
{
    uint32_t aux = htonl(o->type);
    mix_digest(d, &aux, sizeof(aux));
    if (o->type == OBJ_HASH) {
        /* per pair, order-independent: a digest of field then value, xored */
        struct hash_iter it;
        const char *f, *v;
        size_t fl, vl;
        hash_iter_init(&it, o);
        while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
            uint8_t ed[20] = {0};
            mix_digest(ed, f, fl);
            mix_digest(ed, v, vl);
            xor_digest(d, ed, 20);
        }
        hash_iter_done(&it);
    } else if (o->type == OBJ_SET) {
        /* order-independent: each member's digest xored in */
        struct set_iter it;
        const char *m;
        size_t ml;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &m, &ml))
            xor_digest(d, m, ml);
        set_iter_done(&it);
    } else if (o->type == OBJ_LIST) {
        /* every element in order, mixed into the key's digest */
        struct list_iter it;
        const char *v;
        size_t vl;
        list_iter_init(&it, o, 0, LIST_TAIL);
        while (list_iter_next(&it, &v, &vl))
            mix_digest(d, v, vl);
    } else if (o->type == OBJ_ZSET) {
        /* per element, order-independent: member then "%.17g" of the score */
        struct zset_iter it;
        const char *m;
        size_t ml;
        double score;
        zset_iter_init(&it, o, 0);
        while (zset_iter_next(&it, &m, &ml, &score)) {
            uint8_t ed[20] = {0};
            char sb[64];
            int sl = snprintf(sb, sizeof(sb), "%.17g", score);
            mix_digest(ed, m, ml);
            mix_digest(ed, sb, (size_t)sl);
            xor_digest(d, ed, 20);
        }
    } else {
        char buf[32];
        size_t len;
        const char *v = obj_string_bytes(o, buf, &len);
        mix_digest(d, v, len);
    }
    if (expire != -1)
        xor_digest(d, "!!expire!!", 10);
}

static void hex20(const uint8_t d[20], char out[41])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[40] = 0;
}

struct digest_ctx {
    struct db *db;
    uint8_t *final;
};

static int digest_cb(void *ctx, const char *key, size_t klen, int type, int64_t expire)
{
    struct digest_ctx *d = ctx;
    str k = str_new(key, klen);
    obj *o = db_lookup(d->db, k, LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_EVEN_EXPIRED, NULL);
    if (o) {
        uint8_t digest[20] = {0};
        mix_digest(digest, key, klen);
        value_digest(digest, o, db_get_expire(d->db, k));
        xor_digest(d->final, digest, 20);
    }
    str_free(k);
    return 0;
}

static void debug_digest(client *c)
{
    uint8_t final[20] = {0};
    long long read_errors = ks_stats.read_errors;
    for (int i = 0; i < keyspace_count(); i++) {
        struct digest_ctx d = {keyspace_db(i), final};
        if (d.db->nkeys == 0)
            continue;
        uint32_t aux = htonl((uint32_t)i);
        mix_digest(final, &aux, sizeof(aux));
        uint64_t next;
        int rc = keyspace_scan(d.db, 0, digest_cb, &d, &next);
        if (rc == 0 && ks_stats.read_errors != read_errors)
            rc = KEYSPACE_READ_FAILED; /* a key the walk met could not be read */
        if (rc != 0) {
            if (rc == KEYSPACE_WRITE_FAILED)
                reply_error_fmt(c, "MISCONF Errors writing to the AOF file: %s",
                                keyspace_write_error());
            else
                reply_error_fmt(c, "ERR storage read failed: %s", keyspace_read_error());
            return;
        }
    }
    char hex[41];
    hex20(final, hex);
    reply_status(c, hex);
}

static void debug_digest_value(client *c)
{
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        obj *o = db_lookup(c->db, c->argv[j], LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_EVEN_EXPIRED,
                           c->known);
        uint8_t d[20] = {0};
        if (o)
            value_digest(d, o, db_get_expire(c->db, c->argv[j]));
        char hex[41];
        hex20(d, hex);
        reply_status(c, hex);
    }
}

/* DEBUG PROTOCOL <type>: one reply of each RESP type, for client tests. */
static void debug_protocol(client *c)
{
    const char *t = c->argv[2];
    if (!strcasecmp(t, "string")) {
        reply_bulk_cstr(c, "Hello World");
    } else if (!strcasecmp(t, "integer")) {
        reply_long(c, 12345);
    } else if (!strcasecmp(t, "double")) {
        reply_double(c, 3.141);
    } else if (!strcasecmp(t, "bignum")) {
        reply_bignum(c, "1234567999999999999999999999999999999", 37);
    } else if (!strcasecmp(t, "null")) {
        reply_null(c);
    } else if (!strcasecmp(t, "array")) {
        reply_array(c, 3);
        for (int j = 0; j < 3; j++)
            reply_long(c, j);
    } else if (!strcasecmp(t, "set")) {
        reply_set(c, 3);
        for (int j = 0; j < 3; j++)
            reply_long(c, j);
    } else if (!strcasecmp(t, "map")) {
        reply_map(c, 3);
        for (int j = 0; j < 3; j++) {
            reply_long(c, j);
            reply_bool(c, j == 1);
        }
    } else if (!strcasecmp(t, "attrib")) {
        if (c->resp >= 3) {
            reply_attribute(c, 1);
            reply_bulk_cstr(c, "key-popularity");
            reply_array(c, 2);
            reply_bulk_cstr(c, "key:123");
            reply_long(c, 90);
        }
        /* an attribute is not a reply: a real one follows */
        reply_bulk_cstr(c, "Some real reply following the attribute");
    } else if (!strcasecmp(t, "push")) {
        if (c->resp < 3) {
            reply_error(c, "ERR RESP2 is not supported by this command");
            return;
        }
        reply_push(c, 2);
        reply_bulk_cstr(c, "server-cpu-usage");
        reply_long(c, 42);
        reply_bulk_cstr(c, "Some real reply following the push reply");
    } else if (!strcasecmp(t, "true")) {
        reply_bool(c, 1);
    } else if (!strcasecmp(t, "false")) {
        reply_bool(c, 0);
    } else if (!strcasecmp(t, "verbatim")) {
        reply_verbatim(c, "This is a verbatim\nstring", 25, "txt");
    } else {
        reply_error(c, "ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
    }
}

/* DEBUG POPULATE count [prefix] [size]: keys prefix:0..count-1 (default
 * prefix "key") with values "value:N", cut or zero-padded to size bytes
 * when size is given; existing keys are left alone. */
static void debug_populate(client *c)
{
    long long count, size = 0;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &count) || count < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    if (c->argc == 5 && (!util_str2ll(c->argv[4], str_len(c->argv[4]), &size) || size < 0)) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    const char *prefix = c->argc >= 4 ? c->argv[3] : "key";
    size_t plen = c->argc >= 4 ? str_len(c->argv[3]) : 3;
    for (long long i = 0; i < count; i++) {
        char num[32], val[64];
        int nl = util_ll2str(num, sizeof(num), i);
        str key = str_new(prefix, plen);
        key = str_cat(key, ":", 1);
        key = str_cat(key, num, (size_t)nl);
        if (db_exists(c->db, key, c->known) == 0) {
            int vl = snprintf(val, sizeof(val), "value:%lld", i);
            obj *o;
            if (c->argc == 5) {
                o = obj_string_raw(NULL, (size_t)size);
                memcpy(o->u.s, val, (size_t)(vl < size ? vl : size));
                if (size <= OBJ_EMBSTR_MAX) {
                    obj *e = obj_string_with_encoding(o->u.s, (size_t)size, OBJ_ENC_EMBSTR);
                    obj_free(o);
                    o = e;
                }
            } else {
                o = obj_string_with_encoding(val, (size_t)vl, OBJ_ENC_EMBSTR);
            }
            db_add(c->db, key, o);
        }
        str_free(key);
    }
    reply_ok(c);
}

const char *server_protected_refusal(client *c, const struct command *cmd)
{
    (void)cmd; /* DEBUG is the only protected command */
    int local =
        (c->flags & CLIENT_UNIX) || !strncmp(c->addr, "127.", 4) || !strncmp(c->addr, "::1", 3);
    if (server.enable_debug_command == 1 || (server.enable_debug_command == 2 && local))
        return NULL;
    return "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
           "\"local\", you can run it from a local connection, otherwise you need to set this "
           "option in the configuration file, and then restart the server.";
}

void cmd_debug(client *c)
{
    const char *sub = c->argv[1];
    if (!strcasecmp(sub, "help") && c->argc == 2) {
        static const char *lines[] = {
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "OBJECT <key>",
            "    Show low level info about the <key> and associated value.",
            "RELOAD",
            "    Commit every change and drop the whole hot tier: every key is read back",
            "    from RocksDB when next used.",
            "LOADAOF",
            "    The same as RELOAD (what the effect log holds is checkpointed first).",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "PAUSE-CRON <0|1>",
            "    Stop periodic cron job processing.",
            "STORAGE-READ-DELAY <microseconds>",
            "    Delay every read from RocksDB by <microseconds>, as on a slow disk (tests).",
            "    0 (the default) removes the delay.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            NULL,
        };
        reply_help(c, "DEBUG", lines);
    } else if (!strcasecmp(sub, "reload") || !strcasecmp(sub, "loadaof")) {
        /* Redis reloads its RDB/AOF; here the durable copy is RocksDB:
         * commit, then drop the hot tier so every key is read back. */
        if (keyspace_commit() != 0) {
            reply_error(c, "ERR Error trying to commit the data to storage");
            return;
        }
        keyspace_demote_all_clean();
        reply_ok(c);
    } else if (!strcasecmp(sub, "sleep") && c->argc == 3) {
        double secs = strtod(c->argv[2], NULL);
        if (secs > 0) {
            struct timespec ts = {(time_t)secs, (long)((secs - floor(secs)) * 1e9)};
            nanosleep(&ts, NULL);
        }
        reply_ok(c);
    } else if (!strcasecmp(sub, "set-active-expire") && c->argc == 3) {
        server.active_expire_enabled = atoi(c->argv[2]) != 0;
        reply_ok(c);
    } else if (!strcasecmp(sub, "object") && c->argc == 3) {
        obj *o = db_lookup(c->db, c->argv[2], LOOKUP_NOTOUCH | LOOKUP_NOSTATS, c->known);
        if (!o) {
            reply_error(c, "ERR no such key");
            return;
        }
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u "
                 "lru_seconds_idle:%lld",
                 (void *)o, obj_encoding_name(o),
                 o->type == OBJ_STRING ? obj_string_len(o) + 1 : obj_mem(o),
                 o->lru & ((1u << 24) - 1), access_idle_seconds(o));
        reply_status(c, buf);
    } else if (!strcasecmp(sub, "digest") && c->argc == 2) {
        debug_digest(c);
    } else if (!strcasecmp(sub, "digest-value") && c->argc >= 2) {
        debug_digest_value(c);
    } else if (!strcasecmp(sub, "populate") && c->argc >= 3 && c->argc <= 5) {
        debug_populate(c);
    } else if (!strcasecmp(sub, "pause-cron") && c->argc == 3) {
        server.cron_paused = atoi(c->argv[2]) != 0;
        reply_ok(c);
    } else if (!strcasecmp(sub, "storage-read-delay") && c->argc == 3) {
        long long us;
        if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &us) || us < 0 || us > 10000000) {
            reply_error(c, "ERR delay must be an integer between 0 and 10000000 microseconds");
            return;
        }
        readpool_set_delay((unsigned)us);
        reply_ok(c);
    } else if (!strcasecmp(sub, "protocol") && c->argc == 3) {
        debug_protocol(c);
    } else if (!strcasecmp(sub, "quicklist-packed-threshold") && c->argc == 3) {
        long long sz;
        if (config_parse_mem(c->argv[2], &sz) < 0 ||
            !list_set_packed_threshold((unsigned long long)sz))
            reply_error(c,
                        "ERR argument must be a memory value bigger than 1 and smaller than 4gb");
        else
            reply_ok(c);
    } else if (!strcasecmp(sub, "change-repl-id") && c->argc == 2) {
        util_random_hex(server.runid, 40);
        reply_ok(c);
    } else {
        reply_error_fmt(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                        "Try DEBUG HELP.",
                        sub);
    }
}

/* ---- MEMORY -------------------------------------------------------------- */

void cmd_memory_usage(client *c)
{
    for (int j = 3; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "samples") && j + 1 < c->argc) {
            long long n;
            if (!util_str2ll(c->argv[j + 1], str_len(c->argv[j + 1]), &n) || n < 0) {
                reply_error_not_int(c);
                return;
            }
            j++;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    obj *o = db_lookup(c->db, c->argv[2], LOOKUP_NOTOUCH | LOOKUP_NOSTATS, c->known);
    if (!o) {
        reply_null(c);
        return;
    }
    /* value + the table entry that holds it, with the key string in it
     * (value and next pointers, then the key's str) */
    size_t bytes =
        obj_mem(o) + 2 * sizeof(void *) + sizeof(struct str_hdr) + str_len(c->argv[2]) + 1;
    reply_long(c, (long long)bytes);
}

static void malloc_stats_cb(void *opaque, const char *text)
{
    str *out = opaque;
    *out = str_cat(*out, text, strlen(text));
}

void cmd_memory_malloc_stats(client *c)
{
    str out = str_new(NULL, 0);
    if (!arena_malloc_stats(malloc_stats_cb, &out))
        out = str_cat(out, "Stats not supported for the current allocator", 46);
    reply_verbatim(c, out, str_len(out), "txt");
    str_free(out);
}

void cmd_memory_purge(client *c)
{
    arena_purge();
    reply_ok(c);
}

void cmd_memory_help(client *c)
{
    static const char *lines[] = {
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        NULL,
    };
    reply_help(c, "MEMORY", lines);
}
