/*
 * config.c: the configuration table and its three front ends: the config
 * file / command line (redis.conf syntax), CONFIG GET/SET and CONFIG
 * REWRITE.
 *
 * Values are parsed and printed by type from config.def; CONFIG SET of
 * several options is all-or-nothing (earlier ones are rolled back when a
 * later one fails), as in Redis 7.0. Apply hooks (config_apply) push a
 * change into the running server (log level, fsync policy...).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/settings.h"
#include "net/net.h"
#include "net/resp.h"
#include "server/config.h"
#include "server/server.h"
#include "tier/tier.h"

enum conf_type { CT_BOOL, CT_INT, CT_LL, CT_MEM, CT_ENUM, CT_STR, CT_SPECIAL };

#define CF_IMMUTABLE (1 << 0)
#define CF_HIDDEN    (1 << 1)
#define CF_SAME_OK   (1 << 2)
#define CF_MULTI     (1 << 3) /* a string of several words (bind, save) */
#define CF_PROTECTED (1 << 4) /* refused as Redis refuses protected configs */
#define CF_BASENAME  (1 << 5) /* a name under dir, never a path ("...dirname"/"...filename") */

struct conf {
    const char *name;
    enum conf_type type;
    void *field;
    long long def;
    const char *sdef;
    long long min, max;
    const char *values; /* enum "name:value ..." */
    int flags;
};

static const struct conf confs[] = {
#define CONF_BOOL(n, f, d, fl)        {n, CT_BOOL, &(f), d, NULL, 0, 1, NULL, fl},
#define CONF_INT(n, f, d, mn, mx, fl) {n, CT_INT, &(f), d, NULL, mn, mx, NULL, fl},
#define CONF_LL(n, f, d, mn, mx, fl)  {n, CT_LL, &(f), d, NULL, mn, mx, NULL, fl},
#define CONF_MEM(n, f, d, mn, mx, fl) {n, CT_MEM, &(f), d, NULL, mn, mx, NULL, fl},
#define CONF_ENUM(n, f, d, v, fl)     {n, CT_ENUM, &(f), d, NULL, 0, 0, v, fl},
#define CONF_STR(n, f, d, fl)         {n, CT_STR, &(f), 0, d, 0, 0, NULL, fl},
#define CONF_SPECIAL(n, fl)           {n, CT_SPECIAL, NULL, 0, NULL, 0, 0, NULL, fl},
#include "server/config.def"
#undef CONF_BOOL
#undef CONF_INT
#undef CONF_LL
#undef CONF_MEM
#undef CONF_ENUM
#undef CONF_STR
#undef CONF_SPECIAL
};
#define NCONFS (sizeof(confs) / sizeof(confs[0]))

static const struct conf *conf_find(const char *name)
{
    for (size_t i = 0; i < NCONFS; i++)
        if (!strcasecmp(confs[i].name, name))
            return &confs[i];
    return NULL;
}

static void *conf_field(const struct conf *c)
{
    return c->field;
}

/* ---- client-output-buffer-limit ------------------------------------------ */

/* Only the "normal" class applies (no replicas or pub/sub yet); the other
 * classes are kept as given so CONFIG GET round-trips. */
static long long obl_replica[3] = {256ll << 20, 64ll << 20, 60};
static long long obl_pubsub[3] = {32ll << 20, 8ll << 20, 60};

static int conf_parse_mem(const char *s, long long *out);

static int obl_parse(str *vals, int n, const char **err)
{
    if (n % 4 != 0 || n == 0) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return -1;
    }
    long long parsed[16][3];
    int classes[16];
    for (int i = 0; i < n; i += 4) {
        const char *cls = vals[i];
        int k;
        if (!strcasecmp(cls, "normal"))
            k = 0;
        else if (!strcasecmp(cls, "replica") || !strcasecmp(cls, "slave"))
            k = 1;
        else if (!strcasecmp(cls, "pubsub"))
            k = 2;
        else {
            *err = "Invalid client class specified in buffer limit configuration.";
            return -1;
        }
        long long h, s, secs;
        if (conf_parse_mem(vals[i + 1], &h) < 0 || conf_parse_mem(vals[i + 2], &s) < 0 ||
            !util_str2ll(vals[i + 3], str_len(vals[i + 3]), &secs) || secs < 0) {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return -1;
        }
        classes[i / 4] = k;
        parsed[i / 4][0] = h;
        parsed[i / 4][1] = s;
        parsed[i / 4][2] = secs;
        if (i / 4 >= 15)
            break;
    }
    for (int j = 0; j < n / 4 && j < 16; j++) {
        long long *dst = classes[j] == 0 ? NULL : classes[j] == 1 ? obl_replica : obl_pubsub;
        if (!dst) {
            net_settings.obuf_hard = parsed[j][0];
            net_settings.obuf_soft = parsed[j][1];
            net_settings.obuf_soft_secs = parsed[j][2];
        } else {
            dst[0] = parsed[j][0];
            dst[1] = parsed[j][1];
            dst[2] = parsed[j][2];
        }
    }
    return 0;
}

static str obl_format(void)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld",
             net_settings.obuf_hard, net_settings.obuf_soft, net_settings.obuf_soft_secs,
             obl_replica[0], obl_replica[1], obl_replica[2], obl_pubsub[0], obl_pubsub[1],
             obl_pubsub[2]);
    return str_from_cstr(buf);
}

/* ---- parsing and printing ------------------------------------------------ */

static int conf_parse_mem(const char *s, long long *out)
{
    size_t len = strlen(s);
    size_t digits = len;
    while (digits > 0 && isalpha((unsigned char)s[digits - 1]))
        digits--;
    const char *unit = s + digits;
    long long mul;
    if (!*unit || !strcasecmp(unit, "b"))
        mul = 1;
    else if (!strcasecmp(unit, "k"))
        mul = 1000;
    else if (!strcasecmp(unit, "kb"))
        mul = 1024;
    else if (!strcasecmp(unit, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(unit, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(unit, "g"))
        mul = 1000ll * 1000 * 1000;
    else if (!strcasecmp(unit, "gb"))
        mul = 1024ll * 1024 * 1024;
    else
        return -1;
    long long v;
    if (digits == 0 || !util_str2ll(s, digits, &v))
        return -1;
    if (v < 0)
        return -1;
    if (mul != 1 && v > LLONG_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int config_parse_mem(const char *s, long long *out)
{
    return conf_parse_mem(s, out);
}

static int enum_lookup(const char *values, const char *name, int *out)
{
    const char *p = values;
    size_t nlen = strlen(name);
    while (*p) {
        const char *colon = strchr(p, ':');
        if ((size_t)(colon - p) == nlen && !strncasecmp(p, name, nlen)) {
            *out = atoi(colon + 1);
            return 0;
        }
        p = strchr(colon, ' ');
        if (!p)
            break;
        p++;
    }
    return -1;
}

/* First name in the enum list with this value (several names may share
 * one: the policies differ only in ranking, and longtail never evicts). */
static const char *enum_name(const struct conf *c, int v, char *buf, size_t size)
{
    const char *p = c->values;
    while (p && *p) {
        const char *colon = strchr(p, ':');
        if (atoi(colon + 1) == v) {
            snprintf(buf, size, "%.*s", (int)(colon - p), p);
            return buf;
        }
        p = strchr(colon, ' ');
        if (p)
            p++;
    }
    return "";
}

static void enum_list(const struct conf *c, char *buf, size_t size)
{
    size_t off = 0;
    const char *p = c->values;
    buf[0] = 0;
    while (p && *p && off < size) {
        const char *colon = strchr(p, ':');
        off +=
            (size_t)snprintf(buf + off, size - off, "%s%.*s", off ? ", " : "", (int)(colon - p), p);
        p = strchr(colon, ' ');
        if (p)
            p++;
    }
}

/* maxmemory-policy keeps the name the user gave, since several names map
 * to the same ranking. */
static char policy_name[32] = "noeviction";

static int conf_set(const struct conf *c, str *vals, int nvals, const char **err)
{
    static char errbuf[256];
    if (c->type == CT_SPECIAL)
        return obl_parse(vals, nvals, err);
    if (c->type == CT_STR && (c->flags & CF_MULTI)) {
        str joined = str_new(NULL, 0);
        for (int i = 0; i < nvals; i++) {
            if (i)
                joined = str_cat(joined, " ", 1);
            joined = str_cat(joined, vals[i], str_len(vals[i]));
        }
        char **sp = conf_field(c);
        free(*sp);
        *sp = strdup(joined);
        str_free(joined);
        return 0;
    }
    if (nvals != 1) {
        *err = "wrong number of arguments";
        return -1;
    }
    const char *v = vals[0];
    void *f = conf_field(c);
    long long ll;
    switch (c->type) {
    case CT_BOOL:
        if (!strcasecmp(v, "yes"))
            *(int *)f = 1;
        else if (!strcasecmp(v, "no"))
            *(int *)f = 0;
        else {
            *err = "argument must be 'yes' or 'no'";
            return -1;
        }
        return 0;
    case CT_INT:
    case CT_LL:
    case CT_MEM:
        if (c->type == CT_MEM) {
            if (conf_parse_mem(v, &ll) < 0) {
                *err = "argument must be a memory value";
                return -1;
            }
        } else if (!util_str2ll(v, str_len(vals[0]), &ll)) {
            *err = "argument couldn't be parsed into an integer";
            return -1;
        }
        if (ll < c->min || ll > c->max) {
            snprintf(errbuf, sizeof(errbuf), "argument must be between %lld and %lld inclusive",
                     c->min, c->max);
            *err = errbuf;
            return -1;
        }
        if (c->type == CT_INT)
            *(int *)f = (int)ll;
        else
            *(long long *)f = ll;
        return 0;
    case CT_ENUM: {
        int e;
        if (enum_lookup(c->values, v, &e) < 0) {
            char list[256];
            enum_list(c, list, sizeof(list));
            snprintf(errbuf, sizeof(errbuf), "argument(s) must be one of the following: %s", list);
            *err = errbuf;
            return -1;
        }
        *(int *)f = e;
        if (!strcmp(c->name, "maxmemory-policy")) {
            snprintf(policy_name, sizeof(policy_name), "%s", v);
            for (char *p = policy_name; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        }
        return 0;
    }
    case CT_STR: {
        char **sp = f;
        free(*sp);
        *sp = strdup(v);
        return 0;
    }
    default:
        *err = "unsupported";
        return -1;
    }
}

static str conf_format(const struct conf *c)
{
    char buf[64];
    void *f = conf_field(c);
    switch (c->type) {
    case CT_BOOL:
        return str_from_cstr(*(int *)f ? "yes" : "no");
    case CT_INT:
        return str_fromll(*(int *)f);
    case CT_LL:
    case CT_MEM:
        return str_fromll(*(long long *)f);
    case CT_ENUM:
        if (!strcmp(c->name, "maxmemory-policy"))
            return str_from_cstr(policy_name);
        return str_from_cstr(enum_name(c, *(int *)f, buf, sizeof(buf)));
    case CT_STR:
        return str_from_cstr(*(char **)f ? *(char **)f : "");
    case CT_SPECIAL:
        return obl_format();
    }
    return str_from_cstr("");
}

void config_init_defaults(void)
{
    for (size_t i = 0; i < NCONFS; i++) {
        const struct conf *c = &confs[i];
        void *f = conf_field(c);
        switch (c->type) {
        case CT_BOOL:
        case CT_INT:
        case CT_ENUM:
            *(int *)f = (int)c->def;
            break;
        case CT_LL:
        case CT_MEM:
            *(long long *)f = c->def;
            break;
        case CT_STR:
            *(char **)f = strdup(c->sdef);
            break;
        case CT_SPECIAL:
            break;
        }
    }
    net_settings.obuf_hard = net_settings.obuf_soft = net_settings.obuf_soft_secs = 0;
}

/* RocksDB's name of a STORE_COMPRESS_* algorithm, or of none when
 * storage-compression is off. */
static const char *config_compression_name(int algorithm)
{
    if (!server.storage_compression)
        return "kNoCompression";
    return algorithm == STORE_COMPRESS_ZSTD ? "kZSTD" : "kLZ4Compression";
}

/* The three compression configs set two RocksDB options together. */
static int config_apply_compression(const char **err)
{
    static char errbuf[256];
    const char *names[2] = {"compression", "bottommost_compression"};
    const char *values[2] = {
        config_compression_name(server.storage_compression_algorithm),
        config_compression_name(server.storage_bottommost_compression_algorithm)};
    for (int i = 0; i < 2; i++) {
        char *e = NULL;
        if (store_set_cf_option(server.store, names[i], values[i], &e) != 0) {
            snprintf(errbuf, sizeof(errbuf), "RocksDB refused %s=%s: %s", names[i], values[i],
                     e ? e : "?");
            free(e);
            *err = errbuf;
            return -1;
        }
    }
    return 0;
}

/* Storage options RocksDB can change while open. */
static int config_apply_storage(const struct conf *c, const char **err)
{
    static const struct {
        const char *conf, *rocks;
        int db; /* a DB option rather than a column-family one */
    } map[] = {
        {"storage-max-background-jobs", "max_background_jobs", 1},
        {"storage-write-buffer-size", "write_buffer_size", 0},
        {"storage-max-total-wal-size", "max_total_wal_size", 1},
        {"storage-max-write-buffer-number", "max_write_buffer_number", 0},
        {"storage-level0-slowdown-writes-trigger", "level0_slowdown_writes_trigger", 0},
        {"storage-level0-stop-writes-trigger", "level0_stop_writes_trigger", 0},
    };
    static char errbuf[256];
    if (!strcmp(c->name, "storage-block-cache-size")) {
        store_set_block_cache_capacity(server.store, (uint64_t)server.storage_block_cache_size);
        return 0;
    }
    char value[32];
    const char *name = NULL;
    int db = 0;
    if (!strcmp(c->name, "storage-compression") ||
        !strcmp(c->name, "storage-compression-algorithm") ||
        !strcmp(c->name, "storage-bottommost-compression-algorithm")) {
        return config_apply_compression(err);
    } else {
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (!strcmp(map[i].conf, c->name)) {
                name = map[i].rocks;
                db = map[i].db;
                str v = conf_format(c);
                snprintf(value, sizeof(value), "%s", v);
                str_free(v);
            }
        }
    }
    if (!name)
        return 0;
    char *e = NULL;
    int rc = db ? store_set_db_option(server.store, name, value, &e)
                : store_set_cf_option(server.store, name, value, &e);
    if (rc != 0) {
        snprintf(errbuf, sizeof(errbuf), "RocksDB refused %s=%s: %s", name, value, e ? e : "?");
        free(e);
        *err = errbuf;
        return -1;
    }
    return 0;
}

/* Pushes a changed option into the running server. */
static int config_apply(const struct conf *c, const char **err)
{
    if (!strcmp(c->name, "appendonly") && !server.appendonly) {
        server.appendonly = 1;
        *err = "longtail always writes its effect log: appendonly can't be turned off";
        return -1;
    }
    if (!strcmp(c->name, "save")) {
        int argc;
        str *argv = resp_split_args(server.save, strlen(server.save), &argc);
        int ok = argv && argc % 2 == 0 && argc / 2 <= 16;
        long long v[32];
        for (int i = 0; ok && i < argc; i++)
            ok = util_str2ll(argv[i], str_len(argv[i]), &v[i]) && v[i] >= 0;
        if (argv)
            resp_free_args(argv, argc);
        if (!ok) {
            *err = "Invalid save parameters";
            return -1;
        }
        server.nsave = argc / 2;
        for (int i = 0; i < server.nsave; i++) {
            server.save_params[i][0] = v[2 * i];
            server.save_params[i][1] = v[2 * i + 1];
        }
        return 0;
    }
    if (!strcmp(c->name, "latency-tracking-info-percentiles")) {
        int argc;
        str *argv =
            resp_split_args(server.latency_percentiles, strlen(server.latency_percentiles), &argc);
        int ok = argv && argc <= 16;
        double v[16];
        for (int i = 0; ok && i < argc; i++)
            ok = util_str2d(argv[i], str_len(argv[i]), &v[i]) && v[i] >= 0 && v[i] <= 100;
        if (argv)
            resp_free_args(argv, argc);
        if (!ok) {
            *err = "latency-tracking-info-percentiles: percentiles must be between 0.0 and 100.0";
            return -1;
        }
        server.npercentiles = argc;
        memcpy(server.percentiles, v, sizeof(double) * (size_t)argc);
        return 0;
    }
    if (!strcmp(c->name, "hz")) {
        /* as Redis: any value is accepted and clamped */
        if (server.hz < 1)
            server.hz = 1;
        if (server.hz > 500)
            server.hz = 500;
    } else if (!strcmp(c->name, "loglevel"))
        log_set_level(server.loglevel);
    else if (!strcmp(c->name, "port") || !strcmp(c->name, "bind")) {
        if (net.loop && listen_restart() < 0) {
            *err = !strcmp(c->name, "port") ? "Unable to listen on this port. Check server logs."
                                            : "Failed to bind to specified addresses.";
            return -1;
        }
    } else if (!strncmp(c->name, "storage-", 8) && server.store)
        return config_apply_storage(c, err);
    else if (!strcmp(c->name, "appendfsync")) {
        server_apply_fsync_policy();
    } else if (!strcmp(c->name, "maxmemory-policy"))
        keyspace_settings.lfu = tier_settings.policy == MAXMEMORY_LFU;
    return 0;
}

/* ---- config file and command line ---------------------------------------- */

static int config_fatal(int linenum, const char *line, const char *msg)
{
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (longtail %s) ***\n", LT_VERSION);
    if (linenum > 0)
        fprintf(stderr, "Reading the configuration file, at line %d\n", linenum);
    fprintf(stderr, ">>> '%s'\n%s\n", line, msg);
    return -1;
}

static int config_load_text(const char *text, int depth);

static int config_line(str *argv, int argc, int linenum, const char *line, int depth)
{
    char msg[512];
    if (!strcasecmp(argv[0], "include") && argc == 2) {
        if (depth > 16)
            return config_fatal(linenum, line, "Too many nested includes");
        FILE *fp = fopen(argv[1], "r");
        if (!fp) {
            snprintf(msg, sizeof(msg), "Fatal error, can't open config file '%s': %s", argv[1],
                     strerror(errno));
            return config_fatal(linenum, line, msg);
        }
        str text = str_new(NULL, 0);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
            text = str_cat(text, buf, n);
        fclose(fp);
        int rc = config_load_text(text, depth + 1);
        str_free(text);
        return rc;
    }
    const struct conf *c = conf_find(argv[0]);
    if (!c)
        return config_fatal(linenum, line, "Bad directive or wrong number of arguments");
    if ((c->flags & CF_BASENAME) && argc == 2 && strchr(argv[1], '/')) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s can't be a path, just a %s", c->name,
                 strstr(c->name, "dirname") ? "dirname" : "filename");
        return config_fatal(linenum, line, msg);
    }
    const char *err = NULL;
    if (conf_set(c, argv + 1, argc - 1, &err) < 0)
        return config_fatal(linenum, line, err);
    return 0;
}

static int config_load_text(const char *text, int depth)
{
    int linenum = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        linenum++;
        char *line = heap_strndup(p, len);
        /* trim */
        char *s = line;
        while (*s && isspace((unsigned char)*s))
            s++;
        size_t sl = strlen(s);
        while (sl > 0 && isspace((unsigned char)s[sl - 1]))
            s[--sl] = 0;
        int rc = 0;
        if (*s && *s != '#') {
            int argc;
            str *argv = resp_split_args(s, sl, &argc);
            if (!argv)
                rc = config_fatal(linenum, s, "Unbalanced quotes in configuration line");
            else if (argc > 0)
                rc = config_line(argv, argc, linenum, s, depth);
            if (argv)
                resp_free_args(argv, argc);
        }
        free(line);
        if (rc < 0)
            return -1;
        p = nl ? nl + 1 : p + len;
    }
    return 0;
}

int config_load(const char *path, int argc, char **argv)
{
    str text = str_new(NULL, 0);
    if (path) {
        FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
        if (!fp) {
            fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path,
                    strerror(errno));
            str_free(text);
            return -1;
        }
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
            text = str_cat(text, buf, n);
        if (fp != stdin)
            fclose(fp);
        text = str_cat(text, "\n", 1);
    }
    /* Command-line options become config lines: "--port 7000 --save ''"
     * -> "port 7000\nsave ''\n". */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            if (i > 0)
                text = str_cat(text, "\n", 1);
            text = str_cat(text, a + 2, strlen(a + 2));
        } else {
            text = str_cat(text, " \"", 2);
            for (const char *q = a; *q; q++) {
                if (*q == '"' || *q == '\\')
                    text = str_cat(text, "\\", 1);
                text = str_cat(text, q, 1);
            }
            text = str_cat(text, "\"", 1);
        }
    }
    int rc = config_load_text(text, 0);
    str_free(text);
    for (size_t i = 0; rc == 0 && i < NCONFS; i++) {
        const char *err = NULL;
        if (config_apply(&confs[i], &err) < 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (longtail %s) ***\n%s: %s\n", LT_VERSION,
                    confs[i].name, err);
            rc = -1;
        }
    }
    return rc;
}

/* ---- CONFIG GET / SET ---------------------------------------------------- */

str config_get_value(const char *name, int *found)
{
    const struct conf *c = conf_find(name);
    *found = c != NULL;
    return c ? conf_format(c) : NULL;
}

int config_set_one(const char *name, str *vals, int nvals, const char **err)
{
    const struct conf *c = conf_find(name);
    if (!c) {
        *err = "unknown";
        return -1;
    }
    if (c->flags & CF_IMMUTABLE) {
        *err = "can't set immutable config";
        return -1;
    }
    if (conf_set(c, vals, nvals, err) < 0)
        return -1;
    return config_apply(c, err);
}

#include "cmd/command.h"
#include "net/reply.h"

void cmd_config_get(client *c)
{
    /* An exact name is answered as the client typed it, a pattern with the
     * canonical names; each option at most once (as Redis 7.0). */
    char matched[NCONFS];
    memset(matched, 0, sizeof(matched));
    const char *as_typed[NCONFS];
    int nmatch = 0;
    for (int a = 2; a < c->argc; a++) {
        const char *arg = c->argv[a];
        if (!strpbrk(arg, "*?[")) {
            const struct conf *cf = conf_find(arg);
            if (cf && !matched[cf - confs] && !(cf->flags & CF_HIDDEN)) {
                matched[cf - confs] = 1;
                as_typed[cf - confs] = arg;
                nmatch++;
            }
            continue;
        }
        for (size_t i = 0; i < NCONFS; i++) {
            if (matched[i] || (confs[i].flags & CF_HIDDEN))
                continue;
            if (util_glob_match(arg, str_len(c->argv[a]), confs[i].name, strlen(confs[i].name),
                                1)) {
                matched[i] = 1;
                as_typed[i] = confs[i].name;
                nmatch++;
            }
        }
    }
    reply_map(c, nmatch);
    for (size_t i = 0; i < NCONFS; i++) {
        if (!matched[i])
            continue;
        reply_bulk_cstr(c, as_typed[i]);
        str v = conf_format(&confs[i]);
        reply_bulk_str(c, v);
        str_free(v);
    }
}

void cmd_config_set(client *c)
{
    if ((c->argc - 2) % 2 != 0) {
        reply_error_syntax(c);
        return;
    }
    int n = (c->argc - 2) / 2;
    const struct conf *set[64];
    str old[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        const char *name = c->argv[2 + 2 * i];
        const struct conf *cf = conf_find(name);
        if (!cf) {
            reply_error_fmt(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
                            name);
            return;
        }
        if ((cf->flags & CF_IMMUTABLE) && (cf->flags & CF_SAME_OK)) {
            str cur = conf_format(cf);
            int same = !strcasecmp(cur, c->argv[3 + 2 * i]);
            if (!same && (cf->type == CT_MEM || cf->type == CT_INT || cf->type == CT_LL)) {
                long long want;
                same = conf_parse_mem(c->argv[3 + 2 * i], &want) == 0 &&
                       want == (cf->type == CT_INT ? *(int *)conf_field(cf)
                                                   : *(long long *)conf_field(cf));
            }
            str_free(cur);
            if (same) {
                set[i] = cf;
                continue;
            }
        }
        if (cf->flags & CF_PROTECTED) {
            reply_error_fmt(c,
                            "ERR CONFIG SET failed (possibly related to argument '%s') - can't "
                            "set protected config",
                            name);
            return;
        }
        if (cf->flags & CF_IMMUTABLE) {
            reply_error_fmt(c,
                            "ERR CONFIG SET failed (possibly related to argument '%s') - can't "
                            "set immutable config",
                            name);
            return;
        }
        for (int j = 0; j < i; j++) {
            if (set[j] == cf) {
                reply_error_fmt(c,
                                "ERR CONFIG SET failed (possibly related to argument '%s') - "
                                "duplicate parameter",
                                name);
                return;
            }
        }
        set[i] = cf;
    }
    for (int i = 0; i < n; i++)
        old[i] = conf_format(set[i]);
    const char *err = NULL;
    int failed = -1;
    for (int i = 0; i < n; i++) {
        str *vals = &c->argv[3 + 2 * i];
        int nv = 1;
        str *split = NULL;
        if (set[i]->type == CT_SPECIAL) {
            split = resp_split_args(vals[0], str_len(vals[0]), &nv);
            vals = split;
        }
        int rc = split || set[i]->type != CT_SPECIAL ? conf_set(set[i], vals, nv, &err) : -1;
        if (split)
            resp_free_args(split, nv);
        if (rc < 0) {
            failed = i;
            break;
        }
        /* an unchanged value needs no apply (re-binding the same port
         * would fail) */
        str now = conf_format(set[i]);
        int changed = strcmp(now, old[i]) != 0;
        str_free(now);
        if (changed && config_apply(set[i], &err) < 0) {
            failed = i;
            break;
        }
    }
    if (failed >= 0) {
        /* roll back everything already applied, in reverse order */
        const char *ignored;
        for (int i = failed; i >= 0; i--) {
            int nv;
            str *vals = resp_split_args(old[i], str_len(old[i]), &nv);
            if (set[i]->type != CT_SPECIAL && set[i]->type != CT_STR) {
                conf_set(set[i], vals, nv, &ignored);
            } else if (set[i]->type == CT_STR) {
                str one = old[i];
                conf_set(set[i], &one, 1, &ignored);
            } else {
                conf_set(set[i], vals, nv, &ignored);
            }
            config_apply(set[i], &ignored);
            resp_free_args(vals, nv);
        }
        reply_error_fmt(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                        set[failed]->name, err ? err : "invalid value");
    } else {
        reply_ok(c);
    }
    for (int i = 0; i < n; i++)
        str_free(old[i]);
}

void cmd_config_resetstat(client *c)
{
    server_reset_stats();
    reply_ok(c);
}

/* CONFIG REWRITE: keeps the file's comments and other lines, rewrites each
 * option's first line with its current value (dropping repeats), and
 * appends the options that differ from their default and had no line. */
/* Appends v to out so that the config parser reads it back as one
 * argument: bare when it is a plain word, otherwise quoted and escaped. */
static str cat_quoted(str out, const char *v, size_t len)
{
    int plain = len > 0;
    for (size_t i = 0; i < len && plain; i++)
        plain = v[i] > ' ' && v[i] < 127 && v[i] != '"' && v[i] != '\'' && v[i] != '\\';
    if (plain)
        return str_cat(out, v, len);
    out = str_cat(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            out = str_cat(out, esc, 2);
        } else if (ch == '\n') {
            out = str_cat(out, "\\n", 2);
        } else if (ch == '\r') {
            out = str_cat(out, "\\r", 2);
        } else if (ch == '\t') {
            out = str_cat(out, "\\t", 2);
        } else if (ch < ' ' || ch >= 127) {
            snprintf(esc, sizeof(esc), "\\x%02x", ch);
            out = str_cat(out, esc, 4);
        } else {
            out = str_cat(out, (const char *)&ch, 1);
        }
    }
    return str_cat(out, "\"", 1);
}

/* "name value\n" as the config file spells it. */
static str cat_config_line(str out, const struct conf *cf)
{
    str v = conf_format(cf);
    out = str_cat(out, cf->name, strlen(cf->name));
    out = str_cat(out, " ", 1);
    if (cf->type == CT_STR && !(cf->flags & CF_MULTI)) {
        out = cat_quoted(out, v, str_len(v));
    } else if (cf->type == CT_STR && str_len(v) == 0) {
        out = str_cat(out, "\"\"", 2);
    } else {
        int argc;
        str *argv = resp_split_args(v, str_len(v), &argc);
        for (int i = 0; argv && i < argc; i++) {
            if (i)
                out = str_cat(out, " ", 1);
            out = cat_quoted(out, argv[i], str_len(argv[i]));
        }
        if (argv)
            resp_free_args(argv, argc);
    }
    str_free(v);
    return str_cat(out, "\n", 1);
}

int config_rewrite(const char **err)
{
    if (!server.configfile) {
        *err = "The server is running without a config file";
        return -1;
    }
    FILE *fp = fopen(server.configfile, "r");
    str out = str_new(NULL, 0);
    char written[NCONFS];
    memset(written, 0, sizeof(written));
    if (fp) {
        char line[65536];
        while (fgets(line, sizeof(line), fp)) {
            char *s = line;
            while (isspace((unsigned char)*s))
                s++;
            int argc = 0;
            str *argv = (*s && *s != '#') ? resp_split_args(s, strlen(s), &argc) : NULL;
            const struct conf *cf = argv && argc > 0 ? conf_find(argv[0]) : NULL;
            if (argv)
                resp_free_args(argv, argc);
            if (!cf) {
                out = str_cat(out, line, strlen(line));
                continue;
            }
            size_t idx = (size_t)(cf - confs);
            if (written[idx])
                continue;
            written[idx] = 1;
            out = cat_config_line(out, cf);
        }
        fclose(fp);
    }
    for (size_t i = 0; i < NCONFS; i++) {
        if (written[i])
            continue;
        str v = conf_format(&confs[i]);
        int is_default;
        if (confs[i].type == CT_STR)
            is_default = !strcmp(v, confs[i].sdef);
        else if (confs[i].type == CT_SPECIAL)
            is_default = net_settings.obuf_hard == 0 && net_settings.obuf_soft == 0;
        else if (confs[i].type == CT_ENUM && !strcmp(confs[i].name, "maxmemory-policy"))
            is_default = !strcmp(v, "noeviction");
        else {
            long long cur;
            util_str2ll(v, str_len(v), &cur);
            is_default = confs[i].type == CT_ENUM || confs[i].type == CT_BOOL
                             ? *(int *)conf_field(&confs[i]) == confs[i].def
                             : cur == confs[i].def;
        }
        str_free(v);
        if (!is_default)
            out = cat_config_line(out, &confs[i]);
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", server.configfile, (int)server.pid);
    FILE *w = fopen(tmp, "w");
    if (!w || fwrite(out, 1, str_len(out), w) != str_len(out) || fflush(w) != 0) {
        if (w)
            fclose(w);
        str_free(out);
        unlink(tmp);
        *err = "Rewriting config file failed";
        return -1;
    }
    fsync(fileno(w));
    fclose(w);
    str_free(out);
    if (rename(tmp, server.configfile) < 0) {
        unlink(tmp);
        *err = "Rewriting config file failed";
        return -1;
    }
    return 0;
}

void cmd_config_rewrite(client *c)
{
    const char *err;
    if (config_rewrite(&err) < 0)
        reply_error_fmt(c, "ERR %s", err);
    else
        reply_ok(c);
}

void cmd_config_help(client *c)
{
    static const char *lines[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        NULL,
    };
    reply_help(c, "CONFIG", lines);
}
