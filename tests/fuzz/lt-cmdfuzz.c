/*
 * lt-cmdfuzz: a random command fuzzer for longtail, driven by the server's own command table.
 *
 *   lt-cmdfuzz [--server PATH] [--mode hot|cold] [--seed N] [--duration S | --count N]
 *              [--skip NAME,...] [--epoch N] [--hang-timeout S] [--max-rss MB] [--out DIR]
 *              [--keep-going] [--no-shrink] [--shrink-time S] [-v]
 *   lt-cmdfuzz --replay FILE [--server PATH] [--mode hot|cold] [--no-shrink]
 *
 * The commands come from the server itself: COMMAND (arity, flags, first/last/step) and COMMAND
 * DOCS (argument specs: tokens, optional, multiple, oneof, block). Every invocation is built from
 * those specs with right and wrong arity, option tokens in random order and case, numbers at the
 * edges (0, -1, LLONG_MIN, LLONG_MAX, 2^31, 2^53, inf, nan, 1e308, junk), empty, binary and long
 * strings, and key names drawn from one small pool shared by every type (so WRONGTYPE paths run).
 * Four connections: 0 builds data (a setup phase makes hashes, lists, sets, sorted sets, geo and
 * HLL keys in dbs 0-2, many past --storage-split-threshold 16), 1-3 fuzz: single commands,
 * pipelines, WATCH/MULTI/EXEC/DISCARD with other connections writing in between, blocking
 * commands with tiny timeouts served (or not) by another connection, HELLO 3/HELLO 2/RESET.
 * Every 64 steps each connection must answer ECHO "sync:N" in order (a lost or extra reply shows).
 *
 * The server (mode hot, or cold: --maxmemory 1, every key re-read from RocksDB) is restarted every
 * --epoch commands. A failure is: the server died, an ASan/UBSan/LSan report in its output, no
 * reply within --hang-timeout while it is alive, a reply that is not RESP (or a RESP3 type on a
 * connection that never sent HELLO), a reply out of order, a connection closed by a live server,
 * or its RSS over --max-rss (the server is killed: "runaway memory"). The epoch's command log is
 * saved under --out, replayed on a fresh server to confirm, and shrunk (the shortest failing
 * suffix, then delta debugging over the logged commands, then one-by-one removal) to a minimal
 * reproduction, which is printed and saved next to the log. --replay FILE runs a saved log (and
 * shrinks it). A run is deterministic for a seed as far as the server allows: the generator never
 * looks at replies.
 *
 * Log format, one command per line: "C[&] ARG ARG ..." where C is the connection (0-3), "&" means
 * "sent without waiting for its reply" (pipelined or blocked), and each ARG is a double-quoted
 * string with C escapes; "C (wait)" reads the connection's pending replies.
 *
 * Excluded commands are listed (with the reason) in EXCLUDED below; CONFIG SET leaves the options
 * in CONFIG_KEEP alone. --skip steps over known crashers while hunting for others: a command name
 * ("srandmember", "client|list") is never sent; "NAME:ARG" (globs, case-insensitive) never sends
 * NAME with an argument matching ARG, e.g. "*scan:922337203685477580[67]".
 *
 * --duration is wall-clock time, shrinking included; --count bounds the commands sent (the same
 * commands on every machine for a seed). Short run (make check): tests/run-all.sh runs seed 9,
 * 30000 commands hot and 20000 cold (about 20 s each in the sanitizer build).
 * Long mode (hunting), e.g. against the sanitizer build:
 *   lt-cmdfuzz --server build-asan/longtail-server --mode cold --duration 900 --seed $RANDOM \
 *              --keep-going --out /tmp/cmdfuzz
 * Each distinct failure (by sanitizer frame, or kind) is confirmed, shrunk and printed once.
 * Each epoch is a test (reading the command table is one more); the last line is
 * "lt-cmdfuzz[MODE]: N passed, N failed".
 */
#include "../integration/harness.h"

#include <ctype.h>
#include <fnmatch.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NCONN        4 /* connection 0 builds data, 1..3 fuzz */
#define NKEYS        8 /* key pool "k0".."k7", shared by every type */
#define SYNC_EVERY   64
#define REFILL       400
#define MAX_DEPTH    64
#define PREFIX_MAX   160
#define MAX_LINE     (1 << 20)
#define MAX_REPLY    (1ll << 30)
#define SETUP_BIG    17 /* past --storage-split-threshold 16 */
#define MAX_ARGS_GEN 400

/* ---- options ------------------------------------------------------------ */

static const char *opt_server;
static int opt_cold;
static unsigned long long opt_seed = 1;
static double opt_duration = 20;
static long opt_count;
static const char *opt_replay;
static char opt_skip[4096];
static int opt_epoch = 3000;
static int opt_hang_ms = 10000;
static long opt_max_rss_mb = 2048;
static const char *opt_out = "cmdfuzz-out";
static int opt_keep_going;
static int opt_shrink = 1;
static int opt_shrink_time = 300;

/* ---- random numbers ----------------------------------------------------- */

static unsigned long long rng;

static unsigned long long rnd(unsigned long long n)
{
    return n ? lt_rand_next(&rng) % n : 0;
}

static int chance(double p)
{
    return (double)rnd(1000000) < p * 1000000.0;
}

#define PICK(arr) ((arr)[rnd(sizeof(arr) / sizeof((arr)[0]))])

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "lt-cmdfuzz: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "lt-cmdfuzz: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the command table -------------------------------------------------- */

enum { A_KEY, A_STRING, A_INTEGER, A_DOUBLE, A_PATTERN, A_UNIXTIME, A_TOKEN, A_ONEOF, A_BLOCK };

typedef struct farg {
    char *name;
    int type;
    char *token;
    int optional, multiple, multiple_token;
    struct farg *sub;
    int nsub;
} farg;

#define F_WRITE    (1u << 0)
#define F_READONLY (1u << 1)
#define F_BLOCKING (1u << 2)
#define F_ADMIN    (1u << 3)

typedef struct fcmd {
    char *name;  /* "zrange", "client|list" */
    char *argv0; /* first word sent */
    char *sub;   /* second word, or NULL */
    int arity;
    unsigned flags;
    int first, last, step;
    farg *args;
    int nargs;
    int container; /* has subcommands: only those are sent */
    int ktype;     /* the KT_* its keys should have (from the docs' group), or -1 */
    int excluded;
    double weight;
    long sent, ok; /* invocations, and replies that were not errors */
} fcmd;

static fcmd *cmds;
static int ncmds;
static double total_weight;
static char **config_names; /* CONFIG SET candidates */
static int nconfig;

/*
 * Commands never generated, and why. Every one would end the run or make the fuzzer's own
 * bookkeeping wrong rather than test the server. Names of commands longtail does not have are
 * kept so that adding them later does not silently enter the fuzz.
 */
static const struct {
    const char *name;
    const char *why;
} EXCLUDED[] = {
    {"shutdown", "ends the server"},
    {"quit", "closes the fuzzer's connection"},
    {"client|kill", "can close the fuzzer's own connections"},
    {"client|reply", "OFF/SKIP suppress the replies the fuzzer counts"},
    {"client|pause", "stops every connection: a hang by design"},
    {"monitor", "turns the connection into a stream"},
    {"subscribe", "pub/sub replies are not one per command"},
    {"psubscribe", "pub/sub replies are not one per command"},
    {"ssubscribe", "pub/sub replies are not one per command"},
    {"sync", "turns the connection into a replication stream"},
    {"psync", "turns the connection into a replication stream"},
    {"replicaof", "connects to other hosts"},
    {"slaveof", "connects to other hosts"},
    {"migrate", "connects to other hosts"},
    {"failover", "pauses clients"},
    {"debug", "generated by gen_debug: only subcommands that do not crash, sleep or stop timers"},
    {"config|set", "generated by gen_config_set: never options in CONFIG_KEEP"},
};

/* CONFIG SET never touches these: they would close or lock out the fuzzer's connections, move
 * the server, change the mode (maxmemory), fill the disk (logs) or lift the bound on one reply
 * (client-reply-max-size: the server starts with 64mb, so that SRANDMEMBER k -9223372036854775807
 * ends in a fraction of a second). */
static const char *const CONFIG_KEEP[] = {
    "port",
    "bind",
    "dir",
    "maxmemory",
    "requirepass",
    "maxclients",
    "timeout",
    "client-output-buffer-limit",
    "client-query-buffer-limit",
    "proto-max-bulk-len",
    "loglevel",
    "logfile",
    "pidfile",
    "daemonize",
    "enable-debug-command",
    "databases",
    "client-reply-max-size",
};

static int name_in_list(const char *name, const char *list)
{
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static const lt_reply *kv_get(const lt_reply *r, const char *key)
{
    if (!r || (r->type != '*' && r->type != '%'))
        return NULL;
    size_t items = r->type == '%' ? r->n * 2 : r->n;
    for (size_t i = 0; i + 1 < items; i += 2) {
        const lt_reply *k = r->elem[i];
        if (k->str && strcasecmp(k->str, key) == 0)
            return r->elem[i + 1];
    }
    return NULL;
}

static int arg_type(const char *t)
{
    static const struct {
        const char *name;
        int type;
    } map[] = {{"key", A_KEY},          {"string", A_STRING},   {"integer", A_INTEGER},
               {"double", A_DOUBLE},    {"pattern", A_PATTERN}, {"unix-time", A_UNIXTIME},
               {"pure-token", A_TOKEN}, {"oneof", A_ONEOF},     {"block", A_BLOCK}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (t && strcmp(map[i].name, t) == 0)
            return map[i].type;
    return A_STRING;
}

static void parse_args(const lt_reply *list, farg **out, int *nout)
{
    *out = NULL;
    *nout = 0;
    if (!list || list->type != '*' || list->n == 0)
        return;
    farg *v = calloc(list->n, sizeof(farg));
    for (size_t i = 0; i < list->n; i++) {
        const lt_reply *a = list->elem[i];
        const lt_reply *name = kv_get(a, "name"), *type = kv_get(a, "type");
        const lt_reply *token = kv_get(a, "token"), *flags = kv_get(a, "flags");
        v[i].name = xstrdup(name && name->str ? name->str : "");
        v[i].type = arg_type(type ? type->str : NULL);
        v[i].token = token && token->str ? xstrdup(token->str) : NULL;
        for (size_t j = 0; flags && j < flags->n; j++) {
            const char *f = flags->elem[j]->str;
            if (!f)
                continue;
            if (strcmp(f, "optional") == 0)
                v[i].optional = 1;
            else if (strcmp(f, "multiple") == 0)
                v[i].multiple = 1;
            else if (strcmp(f, "multiple_token") == 0)
                v[i].multiple_token = 1;
        }
        parse_args(kv_get(a, "arguments"), &v[i].sub, &v[i].nsub);
    }
    *out = v;
    *nout = (int)list->n;
}

static fcmd *cmd_find(const char *name)
{
    for (int i = 0; i < ncmds; i++)
        if (strcasecmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static void add_info(const lt_reply *e, const char *parent)
{
    if (!e || e->type != '*' || e->n < 6 || !e->elem[0]->str)
        return;
    cmds = xrealloc(cmds, sizeof(fcmd) * (size_t)(ncmds + 1));
    fcmd *c = &cmds[ncmds++];
    memset(c, 0, sizeof(*c));
    c->name = xstrdup(e->elem[0]->str);
    for (char *p = c->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *bar = strchr(c->name, '|');
    if (bar) {
        c->argv0 = xstrdup(parent);
        c->sub = xstrdup(bar + 1);
    } else {
        c->argv0 = xstrdup(c->name);
    }
    c->arity = (int)e->elem[1]->integer;
    c->ktype = -1;
    for (size_t j = 0; j < e->elem[2]->n; j++) {
        const char *f = e->elem[2]->elem[j]->str;
        if (!f)
            continue;
        if (strcmp(f, "write") == 0)
            c->flags |= F_WRITE;
        else if (strcmp(f, "readonly") == 0)
            c->flags |= F_READONLY;
        else if (strcmp(f, "blocking") == 0)
            c->flags |= F_BLOCKING;
        else if (strcmp(f, "admin") == 0)
            c->flags |= F_ADMIN;
    }
    c->first = (int)e->elem[3]->integer;
    c->last = (int)e->elem[4]->integer;
    c->step = (int)e->elem[5]->integer;
    if (e->n >= 10 && e->elem[9]->type == '*' && e->elem[9]->n > 0) {
        c->container = 1;
        char *pname = xstrdup(c->name);
        const lt_reply *subs = e->elem[9];
        for (size_t j = 0; j < subs->n; j++)
            add_info(subs->elem[j], pname);
        free(pname);
    }
}

/* Key types the setup builds; a command's docs group says which one it wants. */
enum { KT_STRING, KT_HASH, KT_LIST, KT_SET, KT_ZSET, KT_HLL, KT_COUNT };

static int group_ktype(const char *group)
{
    if (!strcmp(group, "string") || !strcmp(group, "bitmap"))
        return KT_STRING;
    if (!strcmp(group, "hash"))
        return KT_HASH;
    if (!strcmp(group, "list"))
        return KT_LIST;
    if (!strcmp(group, "set"))
        return KT_SET;
    if (!strcmp(group, "sorted-set") || !strcmp(group, "geo"))
        return KT_ZSET;
    if (!strcmp(group, "hyperloglog"))
        return KT_HLL;
    return -1;
}

static void add_docs(const lt_reply *list)
{
    if (!list || list->type != '*')
        return;
    for (size_t i = 0; i + 1 < list->n; i += 2) {
        const lt_reply *name = list->elem[i], *doc = list->elem[i + 1];
        if (!name->str)
            continue;
        fcmd *c = cmd_find(name->str);
        if (c && !c->args)
            parse_args(kv_get(doc, "arguments"), &c->args, &c->nargs);
        const lt_reply *grp = kv_get(doc, "group");
        if (c && grp && grp->str)
            c->ktype = group_ktype(grp->str);
        add_docs(kv_get(doc, "subcommands"));
    }
}

/* Load COMMAND and COMMAND DOCS from a running server; weights and exclusions. */
static int table_load(int port)
{
    lt_conn *c = lt_conn_open(port, 10000);
    if (!c)
        return -1;
    lt_reply *info = lt_conn_call(c, "COMMAND", NULL);
    lt_reply *docs = lt_conn_call(c, "COMMAND", "DOCS", NULL);
    lt_reply *conf = lt_conn_call(c, "CONFIG", "GET", "*", NULL);
    lt_conn_close(c);
    if (!info || info->type != '*' || !docs) {
        lt_reply_free(info);
        lt_reply_free(docs);
        lt_reply_free(conf);
        return -1;
    }
    for (size_t i = 0; i < info->n; i++)
        add_info(info->elem[i], NULL);
    add_docs(docs);
    for (size_t i = 0; conf && conf->type == '*' && i + 1 < conf->n; i += 2) {
        const char *n = conf->elem[i]->str;
        int keep = 0;
        for (size_t j = 0; j < sizeof(CONFIG_KEEP) / sizeof(CONFIG_KEEP[0]); j++)
            keep |= n && strcmp(n, CONFIG_KEEP[j]) == 0;
        if (n && !keep) {
            config_names = xrealloc(config_names, sizeof(char *) * (size_t)(nconfig + 1));
            config_names[nconfig++] = xstrdup(n);
        }
    }
    lt_reply_free(info);
    lt_reply_free(docs);
    lt_reply_free(conf);
    total_weight = 0;
    for (int i = 0; i < ncmds; i++) {
        fcmd *m = &cmds[i];
        for (size_t j = 0; j < sizeof(EXCLUDED) / sizeof(EXCLUDED[0]); j++)
            if (strcmp(EXCLUDED[j].name, m->name) == 0 && strcmp(m->name, "debug") != 0 &&
                strcmp(m->name, "config|set") != 0)
                m->excluded = 1;
        if (name_in_list(m->name, opt_skip))
            m->excluded = 1;
        if (m->container)
            m->excluded = 1;
        /* the data commands matter most; admin commands and whole-db wipes are rarer */
        m->weight = (m->flags & (F_WRITE | F_READONLY)) && m->first > 0 ? 3.0 : 1.0;
        if (m->flags & F_ADMIN)
            m->weight = 0.4;
        if (!strcmp(m->name, "flushall") || !strcmp(m->name, "flushdb") ||
            !strcmp(m->name, "swapdb") || !strcmp(m->name, "function|flush"))
            m->weight = 0.15;
        if (!strcmp(m->name, "debug"))
            m->weight = 0.8;
        if (!strcmp(m->name, "multi") || !strcmp(m->name, "exec") || !strcmp(m->name, "watch"))
            m->weight = 1.5;
        if (!m->excluded)
            total_weight += m->weight;
    }
    return ncmds > 0 ? 0 : -1;
}

static fcmd *cmd_pick(unsigned need, unsigned avoid)
{
    for (int tries = 0; tries < 1000; tries++) {
        double x = (double)rnd(1000000) / 1000000.0 * total_weight;
        for (int i = 0; i < ncmds; i++) {
            fcmd *m = &cmds[i];
            if (m->excluded)
                continue;
            x -= m->weight;
            if (x <= 0) {
                if ((m->flags & need) == need && !(m->flags & avoid))
                    return m;
                break;
            }
        }
    }
    return NULL;
}

/* ---- the command log ---------------------------------------------------- */

typedef struct fstr {
    char *p;
    size_t n;
} fstr;

typedef struct entry {
    int conn;
    int deferred; /* sent without waiting for the reply */
    int argc;     /* 0: "(wait)", read the pending replies */
    fstr *argv;
    int cmd; /* index in cmds, or -1 */
    int sync;
} entry;

typedef struct elog {
    entry *e;
    int n, cap;
} elog;

static void log_free(elog *l)
{
    for (int i = 0; i < l->n; i++) {
        for (int j = 0; j < l->e[i].argc; j++)
            free(l->e[i].argv[j].p);
        free(l->e[i].argv);
    }
    free(l->e);
    memset(l, 0, sizeof(*l));
}

static void log_copy_entry(elog *l, const entry *src)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->e = xrealloc(l->e, sizeof(entry) * (size_t)l->cap);
    }
    entry *e = &l->e[l->n++];
    *e = *src;
    e->argv = xmalloc(sizeof(fstr) * (size_t)(src->argc ? src->argc : 1));
    for (int j = 0; j < src->argc; j++) {
        e->argv[j].n = src->argv[j].n;
        e->argv[j].p = xmalloc(src->argv[j].n + 1);
        memcpy(e->argv[j].p, src->argv[j].p, src->argv[j].n);
        e->argv[j].p[src->argv[j].n] = '\0';
    }
}

static void entry_print(FILE *f, const entry *e)
{
    fprintf(f, "%d%s", e->conn, e->deferred ? "&" : "");
    if (e->argc == 0)
        fprintf(f, " (wait)");
    for (int j = 0; j < e->argc; j++) {
        lt_buf b = {0};
        lt_escape(&b, e->argv[j].p, e->argv[j].n);
        fprintf(f, " \"%s\"", b.p ? b.p : "");
        free(b.p);
    }
    fputc('\n', f);
}

/* Parse one quoted argument at *p (C escapes); advances *p. 0 or -1. */
static int parse_quoted(const char **pp, lt_buf *out)
{
    const char *p = *pp;
    if (*p != '"')
        return -1;
    p++;
    while (*p && *p != '"') {
        if (*p != '\\') {
            lt_buf_append(out, p++, 1);
            continue;
        }
        p++;
        char ch;
        switch (*p) {
        case 'n':
            ch = '\n';
            break;
        case 'r':
            ch = '\r';
            break;
        case 't':
            ch = '\t';
            break;
        case 'x': {
            char hex[3] = {p[1], p[2], 0};
            if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
                return -1;
            ch = (char)strtol(hex, NULL, 16);
            p += 2;
            break;
        }
        case '\0':
            return -1;
        default:
            ch = *p;
            break;
        }
        lt_buf_append(out, &ch, 1);
        p++;
    }
    if (*p != '"')
        return -1;
    *pp = p + 1;
    return 0;
}

static int log_load(const char *path, elog *l)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("lt-cmdfuzz: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        entry e = {0};
        e.cmd = -1;
        char *p = line;
        e.conn = (int)strtol(p, &p, 10);
        if (*p == '&') {
            e.deferred = 1;
            p++;
        }
        fstr argv[MAX_ARGS_GEN + 8];
        while (*p == ' ') {
            p++;
            if (strncmp(p, "(wait)", 6) == 0) {
                p += 6;
                continue;
            }
            lt_buf b = {0};
            const char *q = p;
            if (parse_quoted(&q, &b) != 0 || e.argc >= MAX_ARGS_GEN + 8) {
                free(b.p);
                rc = -1;
                break;
            }
            argv[e.argc].n = b.len;
            argv[e.argc].p = b.p ? b.p : xstrdup("");
            e.argc++;
            p = (char *)q;
        }
        if (rc != 0 || e.conn < 0 || e.conn >= NCONN || (*p != '\n' && *p != '\0')) {
            printf("lt-cmdfuzz: %s:%d: cannot parse this line\n", path, lineno);
            for (int j = 0; j < e.argc; j++)
                free(argv[j].p);
            rc = -1;
            break;
        }
        e.argv = argv;
        if (e.argc > 0) {
            lt_buf nm = {0};
            lt_buf_append(&nm, argv[0].p, argv[0].n);
            if (e.argc > 1) {
                lt_buf_puts(&nm, "|");
                lt_buf_append(&nm, argv[1].p, argv[1].n);
            }
            fcmd *m = nm.p ? cmd_find(nm.p) : NULL;
            if (!m && nm.p) {
                char *bar = strchr(nm.p, '|');
                if (bar)
                    *bar = '\0';
                m = cmd_find(nm.p);
            }
            e.cmd = m ? (int)(m - cmds) : -1;
            e.sync = argv[0].n == 4 && strncasecmp(argv[0].p, "echo", 4) == 0 && e.argc == 2 &&
                     argv[1].n > 5 && memcmp(argv[1].p, "sync:", 5) == 0;
            free(nm.p);
        }
        log_copy_entry(l, &e);
        for (int j = 0; j < e.argc; j++)
            free(argv[j].p);
    }
    free(line);
    fclose(f);
    return rc;
}

static int log_save(const char *path, const elog *l, const int *keep, const char *header)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("lt-cmdfuzz: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%s", header);
    for (int i = 0; i < l->n; i++)
        if (!keep || keep[i])
            entry_print(f, &l->e[i]);
    fclose(f);
    return 0;
}

/* ---- generating arguments ----------------------------------------------- */

typedef struct gen {
    fstr a[MAX_ARGS_GEN];
    int n;
    int group[MAX_ARGS_GEN]; /* top-level argument each word came from */
    int cur_group;
    unsigned char gopt[MAX_ARGS_GEN]; /* group number -> it came from an optional argument */
    int numkeys_at;                   /* index of a "numkeys" placeholder, or -1 */
    int keys_after;
    fcmd *cmd;
} gen;

static void g_push(gen *g, const char *p, size_t n)
{
    if (g->n >= MAX_ARGS_GEN)
        return;
    g->a[g->n].p = xmalloc(n + 1);
    memcpy(g->a[g->n].p, p, n);
    g->a[g->n].p[n] = '\0';
    g->a[g->n].n = n;
    g->group[g->n] = g->cur_group;
    g->n++;
}

static void g_pushs(gen *g, const char *s)
{
    g_push(g, s, strlen(s));
}

static void g_printf(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void g_printf(gen *g, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    g_pushs(g, buf);
}

/* A token or command name in upper, lower or mixed case. */
static void g_word(gen *g, const char *w)
{
    char buf[128];
    size_t n = strlen(w);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    int mode = (int)rnd(20);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)w[i];
        buf[i] = (char)(mode < 12   ? toupper(ch)
                        : mode < 17 ? tolower(ch)
                                    : (rnd(2) ? toupper(ch) : tolower(ch)));
    }
    g_push(g, buf, n);
}

static const char *const EDGE_INTS[] = {
    "0",
    "1",
    "-1",
    "2",
    "-2",
    "16",
    "17",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775807",
    "9223372036854775806",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740992",
    "9007199254740993",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "99999999999999999999999",
    "1000000",
    "007",
    "+1",
    "-0",
    " 1",
    "1 ",
    "0x10",
    "1e3",
    "1.5",
    "",
    "abc",
};

static const char *const EDGE_FLOATS[] = {
    "0",
    "1",
    "-1",
    "0.5",
    "-0.5",
    "1.5",
    "3.14159",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "-nan",
    "1e308",
    "-1e308",
    "1e309",
    "4.9e-324",
    "2.2250738585072014e-308",
    "1e-320",
    "1.7976931348623157e308",
    "0.1e",
    "1e",
    "e1",
    ".5",
    "5.",
    "-0",
    "9007199254740993",
    "0x1p3",
    "infinity",
    " 1.5",
    "1.5 ",
    "",
    "abc",
    "1,5",
    "123456789012345678901234567890",
    "-9223372036854775808",
    "9223372036854775807",
};

static const char *const EDGE_TIMES[] = {
    "0",
    "1",
    "-1",
    "100",
    "1000000000",
    "4102444800",
    "4102444800000",
    "253402300799",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775",
    "9223372036854776",
    "abc",
    "",
};

static const char *const PATTERNS[] = {
    "*",       "k*",      "k?",    "k[0-3]", "f*",
    "m*",      "*1*",     "[",     "\\",     "[^a]",
    "**",      "k[",      "*[a-z", "",       "*a*a*a*a*a*a*a*a*a*b",
    "?",       "[]",      "[\\",   "k\\*",   "h*llo",
    "*x*y*z*", "[!a-z]*", "pop*",
};

static const char *const RANGES[] = {
    "(1",  "[m1",  "-",   "+",   "-inf",  "+inf",  "(5", "0",   "-1",
    "10",  "(",    "[",   "abc", "(-inf", "(+inf", "[a", "[m9", "(m3",
    "1.5", "(1.5", "nan", "[",   "[\xff", "+inf",  "(0", "5",
};

static const char *const EXTREME_INTS[] = {
    "9223372036854775807", "-9223372036854775808", "-9223372036854775807", "0", "-1",
    "2147483648",          "4294967296",           "9007199254740992",     "1",
};

static void g_int(gen *g)
{
    int k = (int)rnd(100);
    if (k < 55)
        g_printf(g, "%d", (int)rnd(45) - 5);
    else if (k < 80)
        g_pushs(g, PICK(EXTREME_INTS));
    else
        g_pushs(g, PICK(EDGE_INTS));
}

static void g_float(gen *g)
{
    if (chance(0.45))
        g_printf(g, "%d.%d", (int)rnd(60) - 10, (int)rnd(100));
    else if (chance(0.3))
        g_printf(g, "%d", (int)rnd(50) - 10);
    else
        g_pushs(g, PICK(EDGE_FLOATS));
}

/* The type setup gave each key of db 0 (-1: none); commands then mostly pick a key of the
 * type they work on. Writes change types later: it only biases the choice. */
static int key_type[NKEYS];

static void g_key(gen *g)
{
    if (g->cmd && g->cmd->ktype >= 0 && chance(0.6)) {
        int cand[NKEYS], n = 0;
        for (int i = 0; i < NKEYS; i++)
            if (key_type[i] == g->cmd->ktype)
                cand[n++] = i;
        if (n > 0) {
            g_printf(g, "k%d", cand[rnd((unsigned)n)]);
            return;
        }
    }
    if (chance(0.94))
        g_printf(g, "k%d", (int)rnd(NKEYS));
    else if (chance(0.3))
        g_pushs(g, "");
    else if (chance(0.5))
        g_printf(g, "pop:%d", (int)rnd(20));
    else
        g_printf(g, "k%d:%llu", (int)rnd(3), rnd(100000));
}

/* A value: small numbers, words, empty, binary, and now and then a long string. */
static void g_value(gen *g)
{
    int k = (int)rnd(100);
    if (k < 25) {
        g_printf(g, "%d", (int)rnd(60) - 10);
    } else if (k < 50) {
        g_printf(g, "v%d", (int)rnd(40));
    } else if (k < 58) {
        g_printf(g, "m%d", (int)rnd(40));
    } else if (k < 64) {
        g_pushs(g, "");
    } else if (k < 72) {
        char buf[48];
        size_t n = 1 + rnd(sizeof(buf) - 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)rnd(256);
        g_push(g, buf, n);
    } else if (k < 80) {
        g_pushs(g, PICK(EDGE_FLOATS));
    } else if (k < 88) {
        g_pushs(g, PICK(EDGE_INTS));
    } else if (k < 96) {
        static const size_t lens[] = {64, 65, 100, 1000, 4096, 8191, 8192, 20000};
        size_t n = PICK(lens);
        char *p = xmalloc(n);
        memset(p, 'a' + (int)rnd(26), n);
        g_push(g, p, n);
        free(p);
    } else {
        static const char *const odd[] = {
            "\r\n",     "\n",  "\"",    " ",    "a b", "*1\r\n$4\r\nPING\r\n",
            "\x00\x01", "nil", "(nil)", "-ERR", "+OK"};
        const char *s = PICK(odd);
        g_push(g, s, strcmp(s, "\x00\x01") == 0 ? 2 : strlen(s));
    }
}

static void g_field(gen *g)
{
    if (chance(0.8))
        g_printf(g, "f%d", (int)rnd(45));
    else
        g_value(g);
}

static void g_member(gen *g)
{
    if (chance(0.45))
        g_printf(g, "m%d", (int)rnd(45));
    else if (chance(0.5))
        g_printf(g, "%d", (int)rnd(45));
    else
        g_value(g);
}

/* A timeout of a blocking command: tiny but never "block forever", or invalid. */
static void g_timeout(gen *g, int millis)
{
    static const char *const secs[] = {"0.01",  "0.02", "0.001", "0.05", "1e-2", "-1",
                                       "-0.01", "abc",  "",      "0.01", "0.03"};
    static const char *const ms[] = {"1", "5", "10", "20", "-1", "abc", "10", "2"};
    g_pushs(g, millis ? PICK(ms) : PICK(secs));
}

static int name_has(const char *name, const char *word)
{
    return strstr(name, word) != NULL;
}

static void g_db(gen *g)
{
    static const char *const edge[] = {"15",  "16", "-1", "65535", "9223372036854775807",
                                       "abc", "",   "1.5"};
    if (chance(0.85))
        g_printf(g, "%d", (int)rnd(4));
    else
        g_pushs(g, PICK(edge));
}

/* Memory-heavy offsets (SETRANGE, SETBIT, BITFIELD) stay under 16 MB or go past the limit. */
static void g_offset(gen *g)
{
    /* the largest legal offsets (536870911 bytes, 4294967295 bits) make a 512 MB string, which
     * costs the server over 2 GB: only the first illegal ones are sent */
    static const char *const edge[] = {
        "-1", "536870912", "4294967296", "9223372036854775807", "-9223372036854775808", "abc",
        "#1", "#-1",       "u8",         "#9223372036854775807"};
    if (chance(0.75))
        g_printf(g, "%d", (int)rnd(200));
    else if (chance(0.5))
        g_printf(g, "%d", (int)rnd(1 << 20));
    else
        g_pushs(g, PICK(edge));
}

/*
 * Commands whose legal invocations can run for as long as a count says: a negative count of
 * SRANDMEMBER & co. asks for that many elements (Redis 7.0 too builds such a reply until memory
 * runs out). They get small counts, or the LLONG_MIN edges (out of range: must be refused), and
 * no random mutation; so do blocking commands, whose timeout must stay tiny.
 */
static int careful(const fcmd *m)
{
    return m && ((m->flags & F_BLOCKING) || !strcmp(m->name, "srandmember") ||
                 !strcmp(m->name, "hrandfield") || !strcmp(m->name, "zrandmember"));
}

static void g_leaf(gen *g, const farg *a)
{
    const char *n = a->name;
    const char *cname = g->cmd ? g->cmd->name : "";
    if (careful(g->cmd) && !(g->cmd->flags & F_BLOCKING) && !strcmp(n, "count")) {
        static const char *const edge[] = {"-9223372036854775808",
                                           "-9223372036854775807",
                                           "9223372036854775807",
                                           "2147483648",
                                           "abc",
                                           "",
                                           "-100000",
                                           "1.5"};
        if (chance(0.85))
            g_printf(g, "%d", (int)rnd(101) - 50);
        else
            g_pushs(g, PICK(edge));
        return;
    }
    if (a->type == A_KEY) {
        g_key(g);
        if (g->numkeys_at >= 0)
            g->keys_after++;
        return;
    }
    if (!strcmp(n, "numkeys")) {
        g->numkeys_at = g->n;
        g->keys_after = 0;
        g_pushs(g, "?");
        return;
    }
    if (g->cmd && (g->cmd->flags & F_BLOCKING) && !strcmp(n, "timeout")) {
        g_timeout(g, 0);
        return;
    }
    if (!strcmp(n, "milliseconds") || (!strcmp(cname, "wait") && !strcmp(n, "timeout"))) {
        g_timeout(g, 1);
        return;
    }
    if (!strcmp(n, "index") || !strcmp(n, "db") || !strcmp(n, "destination-db") ||
        !strcmp(n, "index1") || !strcmp(n, "index2")) {
        g_db(g);
        return;
    }
    if (!strcmp(n, "offset") &&
        (!strcmp(cname, "setrange") || !strcmp(cname, "setbit") || !strncmp(cname, "bitfield", 8) ||
         !strcmp(cname, "getrange") || !strcmp(cname, "getbit"))) {
        g_offset(g);
        return;
    }
    if (!strcmp(n, "protover")) {
        static const char *const v[] = {"3", "2", "3", "1", "4", "-1", "abc", "", "30"};
        g_pushs(g, PICK(v));
        return;
    }
    if (!strcmp(n, "client-id") || !strcmp(n, "id")) {
        g_printf(g, "%d", (int)rnd(8));
        return;
    }
    if (!strcmp(n, "parameter") && nconfig > 0) {
        g_pushs(g, chance(0.8) ? config_names[rnd((unsigned)nconfig)] : PICK(PATTERNS));
        return;
    }
    if (name_has(n, "longitude")) {
        static const char *const v[] = {"13.361389", "-180", "180", "181", "0", "-180.1", "nan"};
        g_pushs(g, chance(0.6) ? "15.08" : PICK(v));
        return;
    }
    if (name_has(n, "latitude")) {
        static const char *const v[] = {"38.115556", "85.05112878", "-85.05112878", "85.05112879",
                                        "90",        "0",           "inf"};
        g_pushs(g, chance(0.6) ? "37.50" : PICK(v));
        return;
    }
    switch (a->type) {
    case A_INTEGER:
        g_int(g);
        return;
    case A_DOUBLE:
        if (name_has(n, "radius") || name_has(n, "width") || name_has(n, "height")) {
            g_pushs(g, chance(0.7) ? "200" : PICK(EDGE_FLOATS));
            return;
        }
        g_float(g);
        return;
    case A_PATTERN:
        g_pushs(g, PICK(PATTERNS));
        return;
    case A_UNIXTIME:
        g_pushs(g, PICK(EDGE_TIMES));
        return;
    default:
        break;
    }
    if (name_has(n, "field")) {
        g_field(g);
    } else if (name_has(n, "member") || name_has(n, "element") || name_has(n, "pivot")) {
        g_member(g);
    } else if (!strcmp(n, "min") || !strcmp(n, "max") || !strcmp(n, "start") ||
               !strcmp(n, "stop") || !strcmp(n, "end")) {
        if (chance(0.5))
            g_int(g);
        else
            g_pushs(g, PICK(RANGES));
    } else if (!strcmp(n, "cursor")) {
        if (chance(0.6))
            g_printf(g, "%d", (int)rnd(40));
        else
            g_int(g);
    } else if (name_has(n, "score") || name_has(n, "increment")) {
        g_float(g);
    } else {
        g_value(g);
    }
}

static void g_arg(gen *g, const farg *a, int force)
{
    if (a->optional && !force && chance(0.5))
        return;
    int reps = 1;
    if (a->multiple) {
        int k = (int)rnd(100);
        reps = k < 65 ? 1 + (int)rnd(3) : k < 90 ? 4 + (int)rnd(8) : k < 97 ? 0 : 20 + (int)rnd(60);
    }
    for (int r = 0; r < reps; r++) {
        if (a->token && (r == 0 || a->multiple_token))
            g_word(g, a->token);
        switch (a->type) {
        case A_TOKEN:
            if (!a->token)
                g_word(g, a->name);
            break;
        case A_ONEOF:
            if (a->nsub > 0)
                g_arg(g, &a->sub[rnd((unsigned)a->nsub)], 1);
            break;
        case A_BLOCK:
            for (int i = 0; i < a->nsub; i++)
                g_arg(g, &a->sub[i], 0);
            break;
        default:
            g_leaf(g, a);
            break;
        }
    }
}

/* Swap whole top-level argument groups after position "from" (options in random order). */
static void shuffle_groups(gen *g, int from)
{
    int starts[MAX_ARGS_GEN], ns = 0;
    for (int i = from; i < g->n; i++)
        if (i == from || g->group[i] != g->group[i - 1])
            starts[ns++] = i;
    if (ns < 2)
        return;
    fstr tmp[MAX_ARGS_GEN];
    int order[MAX_ARGS_GEN];
    for (int i = 0; i < ns; i++)
        order[i] = i;
    for (int i = ns - 1; i > 0; i--) {
        int j = (int)rnd((unsigned)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int w = 0;
    for (int k = 0; k < ns; k++) {
        int s = starts[order[k]];
        int e = order[k] + 1 < ns ? starts[order[k] + 1] : g->n;
        for (int i = s; i < e; i++)
            tmp[w++] = g->a[i];
    }
    memcpy(&g->a[from], tmp, sizeof(fstr) * (size_t)w);
}

static void gen_debug(gen *g)
{
    g_word(g, "debug");
    int k = (int)rnd(100);
    if (k < 15) {
        g_word(g, "object");
        g_key(g);
    } else if (k < 25) {
        g_word(g, "digest");
    } else if (k < 35) {
        g_word(g, "digest-value");
        for (int i = (int)rnd(4); i >= 0; i--)
            g_key(g);
    } else if (k < 47) {
        /* commits and drops the hot tier: the next reads come from RocksDB */
        g_word(g, rnd(4) ? "reload" : "loadaof");
    } else if (k < 55) {
        g_word(g, "set-active-expire");
        g_pushs(g, PICK(((const char *const[]){"0", "1", "2", "abc"})));
    } else if (k < 62) {
        g_word(g, "populate");
        g_printf(g, "%d", (int)rnd(300) - 5);
        if (chance(0.7))
            g_pushs(g, chance(0.5) ? "pop" : "k");
        if (chance(0.5))
            g_printf(g, "%d", (int)rnd(200) - 5);
    } else if (k < 68) {
        g_word(g, "storage-read-delay");
        g_pushs(g, PICK(((const char *const[]){"0", "100", "500", "-1", "abc", "0"})));
    } else if (k < 76) {
        g_word(g, "quicklist-packed-threshold");
        g_pushs(g, PICK(((const char *const[]){"0", "1", "10", "100", "1kb", "1b", "-1", "abc",
                                               "4gb", "5gb", "9223372036854775807"})));
    } else if (k < 88) {
        g_word(g, "protocol");
        g_pushs(g, PICK(((const char *const[]){"string", "integer", "double", "bignum", "null",
                                               "array", "set", "map", "attrib", "push", "verbatim",
                                               "true", "false", "junk"})));
    } else if (k < 92) {
        g_word(g, "change-repl-id");
    } else if (k < 95) {
        g_word(g, "sleep");
        g_pushs(g, "0");
    } else {
        g_word(g, "help");
    }
}

static void gen_config_set(gen *g)
{
    g_word(g, "config");
    g_word(g, "set");
    int pairs = chance(0.85) ? 1 : 2 + (int)rnd(2);
    for (int i = 0; i < pairs && nconfig > 0; i++) {
        const char *name = config_names[rnd((unsigned)nconfig)];
        g_word(g, name);
        int k = (int)rnd(10);
        if (k < 3)
            g_pushs(g, PICK(((const char *const[]){"yes", "no", "1", "0"})));
        else if (k < 6)
            g_int(g);
        else if (k < 8)
            g_pushs(g, PICK(((const char *const[]){"1kb", "1mb", "64mb", "0b", "-1gb",
                                                   "allkeys-lru", "noeviction", "always", "no",
                                                   "everysec", "lz4", "zstd", "3600 1 60 10"})));
        else
            g_value(g);
    }
}

/* A random invocation of "m" into g (wrong arity and mutations included). */
static void gen_command(gen *g, fcmd *m)
{
    g->n = 0;
    g->cur_group = 0;
    g->numkeys_at = -1;
    g->cmd = m;
    if (!strcmp(m->name, "debug")) {
        gen_debug(g);
        return;
    }
    if (!strcmp(m->name, "config|set")) {
        gen_config_set(g);
        return;
    }
    g_word(g, m->argv0);
    if (m->sub)
        g_word(g, m->sub);
    int fixed = g->n;
    if (m->nargs > 0) {
        for (int i = 0; i < m->nargs && i + 1 < MAX_ARGS_GEN; i++) {
            g->cur_group = i + 1;
            g->gopt[i + 1] = (unsigned char)m->args[i].optional;
            g_arg(g, &m->args[i], 0);
        }
        if (g->numkeys_at >= 0 && chance(0.85)) {
            free(g->a[g->numkeys_at].p);
            char buf[32];
            snprintf(buf, sizeof(buf), "%d", g->keys_after);
            g->a[g->numkeys_at].p = xstrdup(buf);
            g->a[g->numkeys_at].n = strlen(buf);
        } else if (g->numkeys_at >= 0) {
            free(g->a[g->numkeys_at].p);
            g->a[g->numkeys_at].p = xstrdup(PICK(EDGE_INTS));
            g->a[g->numkeys_at].n = strlen(g->a[g->numkeys_at].p);
        }
        /* options after the first argument in another order */
        if (chance(0.25)) {
            int from = fixed;
            while (from < g->n && !g->gopt[g->group[from]])
                from++;
            shuffle_groups(g, from);
        }
    } else {
        int want = m->arity > 0 ? m->arity - 1 : -m->arity - 1 + (int)rnd(3);
        if (m->sub)
            want--;
        for (int i = 0; i < want; i++) {
            int pos = g->n;
            int last = m->last < 0 ? pos + 1 : m->last;
            if (m->first > 0 && pos >= m->first && pos <= last &&
                (m->step <= 1 || (pos - m->first) % m->step == 0))
                g_key(g);
            else
                g_value(g);
        }
    }
    /* mutations: wrong arity, a dropped, repeated or junk argument */
    int k = (int)rnd(100);
    if (careful(m))
        return;
    if (k < 5 && g->n > 1) {
        int cut = 1 + (int)rnd((unsigned)g->n - 1);
        for (int i = cut; i < g->n; i++)
            free(g->a[i].p);
        g->n = cut;
    } else if (k < 10) {
        for (int i = (int)rnd(3); i >= 0; i--)
            g_value(g);
    } else if (k < 13 && g->n > fixed + 1) {
        int i = fixed + (int)rnd((unsigned)(g->n - fixed));
        free(g->a[i].p);
        memmove(&g->a[i], &g->a[i + 1], sizeof(fstr) * (size_t)(g->n - i - 1));
        g->n--;
    } else if (k < 16 && g->n > fixed) {
        int i = fixed + (int)rnd((unsigned)(g->n - fixed));
        free(g->a[i].p);
        gen tmp;
        tmp.n = 0;
        tmp.numkeys_at = -1;
        tmp.cmd = m;
        tmp.cur_group = 0;
        if (rnd(2))
            g_value(&tmp);
        else
            g_int(&tmp);
        g->a[i] = tmp.a[0];
    } else if (k < 18 && g->n > fixed && g->n < MAX_ARGS_GEN) {
        int i = fixed + (int)rnd((unsigned)(g->n - fixed));
        g_push(g, g->a[i].p, g->a[i].n);
    }
}

/* ---- connections and the reply reader ----------------------------------- */

typedef struct pend {
    int entry;
    int cmd;
    int sync;
} pend;

typedef struct rstate {
    int depth;
    long long remain[MAX_DEPTH];
    char kind[MAX_DEPTH];
    long long bulk_left; /* payload bytes + CRLF still to come */
    char bulk_type;
    char top; /* type byte of the reply being read, 0 between replies */
    char prefix[PREFIX_MAX];
    size_t plen;
    long long total;
} rstate;

typedef struct fconn {
    lt_conn *lc;
    char *in;
    size_t inlen, incap;
    lt_buf out;
    pend *q;
    size_t qhead, qlen, qcap;
    rstate rs;
    int maybe3; /* sent HELLO: RESP3 types are allowed */
} fconn;

enum {
    FAIL_NONE,
    FAIL_CRASH,
    FAIL_SANITIZER,
    FAIL_HANG,
    FAIL_MALFORMED,
    FAIL_DESYNC,
    FAIL_CLOSED,
    FAIL_MEMORY,
    FAIL_EXIT,
};

static const char *const FAIL_NAMES[] = {"none",
                                         "crash",
                                         "sanitizer report",
                                         "hang",
                                         "malformed reply",
                                         "reply out of order",
                                         "connection closed by a live server",
                                         "runaway memory",
                                         "bad exit status"};

typedef struct run {
    lt_server srv;
    int started;
    fconn c[NCONN];
    elog log;
    int last_conn;
    long long last_rss_check;
    /* the failure */
    int fail;
    char detail[1024];
    char sig[512];     /* what identifies this failure across runs */
    char report[8192]; /* sanitizer report lines / log tail */
    char hang_sig[96]; /* "hang: NAME" when no stack says more */
    char frame[256];   /* the first frame of the report in longtail's own code */
    char handler[128]; /* the first cmd_* frame of the report: the command handler */
    int fail_entry;
    int exit_status; /* wait status once the server ended by itself */
    long long sent;
} run;

static void failf(run *r, int kind, int entry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(run *r, int kind, int entry, const char *fmt, ...)
{
    if (r->fail)
        return;
    r->fail = kind;
    r->fail_entry = entry;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

static long rss_mb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static int check_rss(run *r, int entry)
{
    long long now = mono_ms();
    if (now - r->last_rss_check < 100)
        return 0;
    r->last_rss_check = now;
    long mb = rss_mb(r->srv.pid);
    if (mb > opt_max_rss_mb) {
        failf(r, FAIL_MEMORY, entry, "server RSS %ld MB over %ld MB", mb, opt_max_rss_mb);
        /* named by the last command sent: usually the one running */
        const struct entry *e = entry >= 0 && entry < r->log.n ? &r->log.e[entry] : NULL;
        snprintf(r->sig, sizeof(r->sig), "runaway memory: %.*s",
                 e && e->argc > 0 ? (int)(e->argv[0].n < 40 ? e->argv[0].n : 40) : 1,
                 e && e->argc > 0 ? e->argv[0].p : "?");
        for (char *p = r->sig; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        lt_server_kill(&r->srv);
        return -1;
    }
    return 0;
}

static int is_resp3_type(char t)
{
    return strchr(",(#_=!~>%|", t) != NULL;
}

static int valid_ll(const char *p, size_t n, long long *out)
{
    char tmp[32];
    if (n == 0 || n >= sizeof(tmp))
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end || !(isdigit((unsigned char)tmp[0]) || tmp[0] == '-'))
        return 0;
    *out = v;
    return 1;
}

static void on_reply(run *r, int ci)
{
    fconn *c = &r->c[ci];
    rstate *s = &c->rs;
    if (c->qlen == 0) {
        failf(r, FAIL_DESYNC, -1, "conn %d: a reply came with no command pending: %.*s", ci,
              (int)s->plen, s->prefix);
        snprintf(r->sig, sizeof(r->sig), "extra reply");
        return;
    }
    pend p = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    int err = s->top == '-' || s->top == '!';
    if (p.cmd >= 0 && !err)
        cmds[p.cmd].ok++;
    if (p.sync) {
        const entry *e = &r->log.e[p.entry];
        char want[128];
        int n = snprintf(want, sizeof(want), "$%zu\r\n%.*s\r\n", e->argv[1].n, (int)e->argv[1].n,
                         e->argv[1].p);
        int ok = (s->plen == (size_t)n && memcmp(s->prefix, want, (size_t)n) == 0) ||
                 (s->plen >= 9 && memcmp(s->prefix, "+QUEUED\r\n", 9) == 0) || err;
        if (!ok) {
            lt_buf b = {0};
            lt_escape(&b, s->prefix, s->plen);
            failf(r, FAIL_DESYNC, p.entry, "conn %d: ECHO %.*s answered %s", ci, (int)e->argv[1].n,
                  e->argv[1].p, b.p ? b.p : "");
            free(b.p);
            snprintf(r->sig, sizeof(r->sig), "reply out of order");
        }
    }
}

/* The type byte of a completed element climbs the stack; a top-level one is a reply. */
static void elem_done(run *r, int ci, char kind)
{
    rstate *s = &r->c[ci].rs;
    for (;;) {
        if (s->depth == 0) {
            /* pushes (RESP3 out-of-band) and attributes are not replies */
            if (s->top != '>' && s->top != '|')
                on_reply(r, ci);
            s->top = 0;
            s->plen = 0;
            s->total = 0;
            return;
        }
        /* neither an attribute nor a push is an element of its parent: Redis 7.0 itself sends
         * DEBUG PROTOCOL push's push inside EXEC's array, then the real reply after it */
        if (kind == '|' || kind == '>')
            return;
        if (--s->remain[s->depth - 1] > 0)
            return;
        kind = s->kind[s->depth - 1];
        s->depth--;
    }
}

static void capture(rstate *s, const char *p, size_t n)
{
    size_t room = PREFIX_MAX - s->plen;
    if (n > room)
        n = room;
    memcpy(s->prefix + s->plen, p, n);
    s->plen += n;
}

static int malformed(run *r, int ci, const char *why, const char *at, size_t n)
{
    lt_buf b = {0};
    lt_escape(&b, at, n > 80 ? 80 : n);
    lt_buf e = {0};
    lt_escape(&e, r->c[ci].rs.prefix, r->c[ci].rs.plen);
    failf(r, FAIL_MALFORMED, -1, "conn %d: %s at \"%s\" (reply so far: \"%s\")", ci, why,
          b.p ? b.p : "", e.p ? e.p : "");
    snprintf(r->sig, sizeof(r->sig), "malformed reply: %s", why);
    free(b.p);
    free(e.p);
    return -1;
}

/* Parse every complete piece of the input buffer of connection "ci". */
static int feed(run *r, int ci)
{
    fconn *c = &r->c[ci];
    rstate *s = &c->rs;
    size_t pos = 0;
    while (pos < c->inlen && !r->fail) {
        const char *b = c->in + pos;
        size_t avail = c->inlen - pos;
        if (s->bulk_left > 0) {
            size_t take = avail < (size_t)s->bulk_left ? avail : (size_t)s->bulk_left;
            for (size_t i = 0; i < take; i++) {
                long long left = s->bulk_left - (long long)i;
                if (left > 2)
                    continue;
                if (b[i] != (left == 2 ? '\r' : '\n'))
                    return malformed(r, ci, "bulk string not ended by CRLF", b + i, avail - i);
            }
            capture(s, b, take);
            s->total += (long long)take;
            pos += take;
            s->bulk_left -= (long long)take;
            if (s->total > MAX_REPLY) {
                failf(r, FAIL_MEMORY, -1, "conn %d: one reply passed %lld bytes", ci, MAX_REPLY);
                snprintf(r->sig, sizeof(r->sig), "runaway reply");
                return -1;
            }
            if (s->bulk_left == 0)
                elem_done(r, ci, s->bulk_type);
            continue;
        }
        const char *nl = memchr(b, '\n', avail);
        if (!nl) {
            if (avail > MAX_LINE)
                return malformed(r, ci, "line over 1 MB", b, avail);
            break;
        }
        size_t linelen = (size_t)(nl - b) + 1;
        if (linelen < 3 || nl[-1] != '\r')
            return malformed(r, ci, "line not ended by CRLF", b, linelen);
        char t = b[0];
        const char *v = b + 1;
        size_t vn = linelen - 3;
        if (memchr(v, '\r', vn))
            return malformed(r, ci, "CR inside a line", b, linelen);
        if (!c->maybe3 && is_resp3_type(t))
            return malformed(r, ci, "RESP3 type on a RESP2 connection", b, linelen);
        if (s->top == 0)
            s->top = t;
        capture(s, b, linelen);
        s->total += (long long)linelen;
        pos += linelen;
        long long len;
        switch (t) {
        case '+':
        case '-':
            elem_done(r, ci, t);
            break;
        case ':':
            if (!valid_ll(v, vn, &len))
                return malformed(r, ci, "bad integer", b, linelen);
            elem_done(r, ci, t);
            break;
        case ',': {
            char tmp[400];
            if (vn == 0 || vn >= sizeof(tmp))
                return malformed(r, ci, "bad double", b, linelen);
            memcpy(tmp, v, vn);
            tmp[vn] = '\0';
            char *end;
            strtod(tmp, &end);
            if (*end)
                return malformed(r, ci, "bad double", b, linelen);
            elem_done(r, ci, t);
            break;
        }
        case '(': {
            size_t i = v[0] == '-' ? 1 : 0;
            if (i >= vn)
                return malformed(r, ci, "bad big number", b, linelen);
            for (; i < vn; i++)
                if (!isdigit((unsigned char)v[i]))
                    return malformed(r, ci, "bad big number", b, linelen);
            elem_done(r, ci, t);
            break;
        }
        case '#':
            if (vn != 1 || (v[0] != 't' && v[0] != 'f'))
                return malformed(r, ci, "bad boolean", b, linelen);
            elem_done(r, ci, t);
            break;
        case '_':
            if (vn != 0)
                return malformed(r, ci, "bad null", b, linelen);
            elem_done(r, ci, t);
            break;
        case '$':
        case '=':
        case '!':
            if (!valid_ll(v, vn, &len) || len < -1 || (len == -1 && t != '$'))
                return malformed(r, ci, "bad length", b, linelen);
            if (len == -1) {
                elem_done(r, ci, t);
                break;
            }
            if (t == '=' && len < 4)
                return malformed(r, ci, "verbatim string shorter than its format", b, linelen);
            s->bulk_left = len + 2;
            s->bulk_type = t;
            break;
        case '*':
        case '~':
        case '>':
        case '%':
        case '|':
            if (!valid_ll(v, vn, &len) || len < -1 || (len == -1 && t != '*'))
                return malformed(r, ci, "bad aggregate length", b, linelen);
            if (len == -1 || len == 0) {
                elem_done(r, ci, t);
                break;
            }
            if (s->depth >= MAX_DEPTH)
                return malformed(r, ci, "nesting deeper than 64", b, linelen);
            s->remain[s->depth] = (t == '%' || t == '|') ? len * 2 : len;
            s->kind[s->depth] = t;
            s->depth++;
            break;
        default:
            return malformed(r, ci, "unknown type byte", b, linelen);
        }
    }
    memmove(c->in, c->in + pos, c->inlen - pos);
    c->inlen -= pos;
    return r->fail ? -1 : 0;
}

/* How the server ended: a sanitizer report in its output, else the exit status. */
static void read_report(run *r)
{
    FILE *f = fopen(r->srv.out, "r");
    char line[2048];
    int in_report = 0, lines = 0;
    char kind[64] = "", frame[256] = "", ubsan[256] = "";
    size_t used = 0;
    r->report[0] = '\0';
    r->handler[0] = '\0';
    while (f && fgets(line, sizeof(line), f)) {
        char *p;
        if (!in_report && ((p = strstr(line, "ERROR: AddressSanitizer: ")) ||
                           (p = strstr(line, "ERROR: LeakSanitizer: ")))) {
            in_report = 1;
            char *w = strstr(p, "Sanitizer: ") + 11;
            size_t n = strcspn(w, " \n");
            snprintf(kind, sizeof(kind), "%s%.*s", strstr(p, "Leak") ? "leak:" : "asan:", (int)n,
                     w);
        }
        if (!in_report && (p = strstr(line, "runtime error: "))) {
            in_report = 1;
            /* "path/file.c:LINE:COL: runtime error" -> "file.c:LINE" */
            char loc[200];
            size_t n = (size_t)(p - line);
            n = n >= 2 ? n - 2 : 0;
            if (n >= sizeof(loc))
                n = sizeof(loc) - 1;
            memcpy(loc, line, n);
            loc[n] = '\0';
            char *col = strrchr(loc, ':');
            if (col)
                *col = '\0';
            char *base = strrchr(loc, '/');
            snprintf(ubsan, sizeof(ubsan), "ubsan:%s", base ? base + 1 : loc);
            snprintf(kind, sizeof(kind), "ubsan");
        }
        if (in_report) {
            if (lines < 40 && used + strlen(line) + 1 < sizeof(r->report)) {
                memcpy(r->report + used, line, strlen(line) + 1);
                used += strlen(line);
                lines++;
            }
            if (!r->handler[0] && (p = strstr(line, " in cmd_")) && strstr(line, "    #")) {
                p += 4;
                size_t n = strcspn(p, " \n");
                snprintf(r->handler, sizeof(r->handler), "%.*s", (int)n, p);
            }
            if (!frame[0] && (p = strstr(line, " in ")) && strstr(line, "    #") &&
                strstr(line, "src/") && !strstr(line, "libsanitizer")) {
                p += 4;
                size_t n = strcspn(p, " \n");
                snprintf(frame, sizeof(frame), "%.*s", (int)n, p);
            }
        }
    }
    if (f)
        fclose(f);
    snprintf(r->frame, sizeof(r->frame), "%s", frame);
    /* a failed assert() (longtail's or a library's): "prog: FILE:LINE: func: Assertion ..." */
    f = fopen(r->srv.out, "r");
    while (!kind[0] && !ubsan[0] && f && fgets(line, sizeof(line), f)) {
        if (!strstr(line, "Assertion `"))
            continue;
        char *a = strstr(line, ": ");
        char *b = a ? strstr(a + 2, ": ") : NULL;
        if (a && b)
            snprintf(r->sig, sizeof(r->sig), "assertion %.*s", (int)(b - a - 2), a + 2);
        snprintf(r->report, sizeof(r->report), "%s", line);
    }
    if (f)
        fclose(f);
    if (ubsan[0])
        snprintf(r->sig, sizeof(r->sig), "%s", ubsan);
    else if (kind[0])
        snprintf(r->sig, sizeof(r->sig), "%s:%s", kind, frame[0] ? frame : "?");
}

/* 1 while the server runs; reaps it (and keeps its status) once it ended. */
static int srv_alive(run *r)
{
    if (r->srv.pid <= 0)
        return 0;
    int status;
    if (waitpid(r->srv.pid, &status, WNOHANG) == r->srv.pid) {
        r->srv.pid = 0;
        r->exit_status = status;
        return 0;
    }
    return 1;
}

/* After a read error: did the server die (and why), or close on us? */
static void conn_lost(run *r, int ci, int entry)
{
    long long deadline = mono_ms() + 15000;
    int alive = 1;
    while (mono_ms() < deadline) {
        alive = srv_alive(r);
        if (!alive)
            break;
        lt_sleep_ms(50);
    }
    if (!alive) {
        read_report(r);
        if (r->sig[0])
            failf(r, FAIL_SANITIZER, entry, "the server died with a %s",
                  strncmp(r->sig, "assertion", 9) == 0 ? "failed assertion" : "sanitizer report");
        else {
            int st = r->exit_status;
            failf(r, FAIL_CRASH, entry, "the server died without a sanitizer report (%s %d)",
                  WIFSIGNALED(st) ? "signal" : "exit status",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            snprintf(r->sig, sizeof(r->sig), "server died (%s %d)",
                     WIFSIGNALED(st) ? "signal" : "exit status",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
    } else {
        read_report(r);
        if (r->sig[0]) {
            failf(r, FAIL_SANITIZER, entry, "sanitizer report while the server still runs");
        } else {
            failf(r, FAIL_CLOSED, entry, "conn %d closed by the server", ci);
            snprintf(r->sig, sizeof(r->sig), "connection closed");
        }
    }
}

static int conn_fill(run *r, int ci, int entry)
{
    fconn *c = &r->c[ci];
    if (c->incap - c->inlen < 65536) {
        c->incap = c->incap ? c->incap * 2 : 262144;
        c->in = xrealloc(c->in, c->incap);
    }
    ssize_t n = read(c->lc->fd, c->in + c->inlen, c->incap - c->inlen);
    if (n > 0) {
        c->inlen += (size_t)n;
        return feed(r, ci) == 0 ? 1 : -1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    conn_lost(r, ci, entry);
    return -1;
}

static int hang(run *r, int ci, int entry)
{
    if (!srv_alive(r)) {
        conn_lost(r, ci, entry);
        return -1;
    }
    fconn *c = &r->c[ci];
    const struct entry *e = c->qlen > 0 ? &r->log.e[c->q[c->qhead].entry] : NULL;
    char name[64] = "?";
    if (e && e->argc > 0) {
        size_t n = e->argv[0].n < sizeof(name) - 1 ? e->argv[0].n : sizeof(name) - 1;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)e->argv[0].p[i]);
        name[n] = '\0';
    }
    failf(r, FAIL_HANG, e ? (int)(e - r->log.e) : entry,
          "conn %d: no reply to %s within %d ms, the server is alive", ci, name, opt_hang_ms);
    snprintf(r->sig, sizeof(r->sig), "hang: %s", name);
    snprintf(r->hang_sig, sizeof(r->hang_sig), "hang: %s", name);
    return -1;
}

static int conn_flush(run *r, int ci, int entry)
{
    fconn *c = &r->c[ci];
    size_t off = 0;
    long long last = mono_ms();
    while (off < c->out.len && !r->fail) {
        ssize_t w = write(c->lc->fd, c->out.p + off, c->out.len - off);
        if (w > 0) {
            off += (size_t)w;
            last = mono_ms();
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_lost(r, ci, entry);
            break;
        }
        struct pollfd pfd = {c->lc->fd, POLLOUT | POLLIN, 0};
        poll(&pfd, 1, 100);
        if (pfd.revents & POLLIN) {
            int rc = conn_fill(r, ci, entry);
            if (rc < 0)
                break;
            if (rc > 0)
                last = mono_ms();
        }
        if (check_rss(r, entry) != 0)
            break;
        if (mono_ms() - last > opt_hang_ms) {
            hang(r, ci, entry);
            break;
        }
    }
    c->out.len = 0;
    return r->fail ? -1 : 0;
}

static int conn_drain(run *r, int ci, int entry)
{
    fconn *c = &r->c[ci];
    long long last = mono_ms();
    while (c->qlen > 0 && !r->fail) {
        struct pollfd pfd = {c->lc->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, 100);
        if (pr > 0) {
            int rc = conn_fill(r, ci, entry);
            if (rc < 0)
                break;
            if (rc > 0)
                last = mono_ms();
        }
        if (check_rss(r, entry) != 0)
            break;
        if (mono_ms() - last > opt_hang_ms) {
            hang(r, ci, entry);
            break;
        }
    }
    return r->fail ? -1 : 0;
}

static void conn_push(fconn *c, pend p)
{
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 64;
        pend *nq = xmalloc(sizeof(pend) * ncap);
        for (size_t i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qhead = 0;
        c->qcap = ncap;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = p;
    c->qlen++;
}

/* A "(wait)" entry: send what is buffered and read every pending reply of its connection. */
static int exec_wait(run *r, int idx)
{
    const entry *e = &r->log.e[idx];
    if (r->last_conn >= 0 && r->last_conn != e->conn && r->c[r->last_conn].out.len > 0)
        if (conn_flush(r, r->last_conn, idx) != 0)
            return -1;
    r->last_conn = e->conn;
    if (conn_flush(r, e->conn, idx) != 0)
        return -1;
    return conn_drain(r, e->conn, idx);
}

/* ---- server life -------------------------------------------------------- */

static void run_stop_conns(run *r)
{
    for (int i = 0; i < NCONN; i++) {
        fconn *c = &r->c[i];
        lt_conn_close(c->lc);
        free(c->in);
        free(c->out.p);
        free(c->q);
        memset(c, 0, sizeof(*c));
    }
}

static int run_start(run *r)
{
    const char *extra[16];
    int n = 0;
    extra[n++] = "--storage-split-threshold";
    extra[n++] = "16";
    extra[n++] = "--enable-debug-command";
    extra[n++] = "yes";
    extra[n++] = "--client-reply-max-size";
    extra[n++] = "64mb";
    if (opt_cold) {
        extra[n++] = "--maxmemory";
        extra[n++] = "1";
    }
    memset(&r->srv, 0, sizeof(r->srv));
    if (lt_server_start(&r->srv, opt_server, extra, n) != 0) {
        lt_server_cleanup(&r->srv, 0);
        return -1;
    }
    r->started = 1;
    for (int i = 0; i < NCONN; i++) {
        r->c[i].lc = lt_conn_open(r->srv.port, opt_hang_ms);
        if (!r->c[i].lc) {
            printf("lt-cmdfuzz: cannot connect to port %d\n", r->srv.port);
            return -1;
        }
    }
    r->last_conn = -1;
    r->fail = FAIL_NONE;
    r->sig[0] = r->detail[0] = r->report[0] = '\0';
    r->fail_entry = -1;
    return 0;
}

/* Drain everything, stop the server and look at how it ended. */
static void run_finish(run *r)
{
    if (!r->fail) {
        for (int i = 0; i < NCONN && !r->fail; i++)
            if (conn_flush(r, i, r->log.n - 1) == 0)
                conn_drain(r, i, r->log.n - 1);
    }
    run_stop_conns(r);
    if (r->fail == FAIL_HANG && r->srv.pid > 0) {
        /* SIGSEGV to the main thread: a sanitizer build prints where it was stuck */
        syscall(SYS_tgkill, (int)r->srv.pid, (int)r->srv.pid, SIGSEGV);
        lt_server_wait(&r->srv, 5000);
        if (r->srv.pid > 0)
            lt_server_kill(&r->srv);
        read_report(r);
        /* the handler it was stuck in names the hang, else the command awaited */
        if (r->handler[0])
            snprintf(r->sig, sizeof(r->sig), "hang in %s", r->handler);
        else if (r->frame[0])
            snprintf(r->sig, sizeof(r->sig), "hang in %s", r->frame);
        else
            snprintf(r->sig, sizeof(r->sig), "%s", r->hang_sig);
    }
    if (r->fail == FAIL_DESYNC || r->fail == FAIL_MALFORMED || r->fail == FAIL_CLOSED) {
        if (r->srv.pid > 0)
            lt_server_kill(&r->srv);
    }
    if (r->srv.pid > 0) {
        int st = lt_server_stop(&r->srv);
        if (!r->fail) {
            read_report(r);
            if (r->sig[0])
                failf(r, FAIL_SANITIZER, r->log.n - 1, "sanitizer report at exit");
            else if (st != 0) {
                failf(r, FAIL_EXIT, r->log.n - 1, "the server exited with status %d", st);
                snprintf(r->sig, sizeof(r->sig), "exit status %d", st);
            }
        }
    }
    if (r->fail && (r->fail != FAIL_SANITIZER || strncmp(r->sig, "assertion", 9) == 0)) {
        /* the tail of the server's own log says what it was doing */
        FILE *f = fopen(r->srv.log, "r");
        if (f) {
            char *lines[12] = {0};
            char buf[1024];
            int k = 0;
            while (fgets(buf, sizeof(buf), f)) {
                free(lines[k % 12]);
                lines[k % 12] = xstrdup(buf);
                k++;
            }
            fclose(f);
            size_t used = strlen(r->report);
            for (int i = k > 12 ? k - 12 : 0; i < k; i++) {
                size_t n = strlen(lines[i % 12]);
                if (used + n + 1 < sizeof(r->report)) {
                    memcpy(r->report + used, lines[i % 12], n + 1);
                    used += n;
                }
            }
            for (int i = 0; i < 12; i++)
                free(lines[i]);
        }
    }
    lt_server_cleanup(&r->srv, 0);
    r->started = 0;
}

/* ---- running a log (fuzz and replay share this) ------------------------- */

static int run_entry(run *r, int idx)
{
    entry *e = &r->log.e[idx];
    fconn *c = &r->c[e->conn];
    if (r->fail)
        return -1;
    if (e->argc > 0) {
        if (r->last_conn >= 0 && r->last_conn != e->conn && r->c[r->last_conn].out.len > 0) {
            if (conn_flush(r, r->last_conn, idx) != 0)
                return -1;
            /* let the server read it before the next connection speaks (replays keep order) */
            lt_sleep_ms(1);
        }
        r->last_conn = e->conn;
        const char *argv[MAX_ARGS_GEN + 8];
        size_t lens[MAX_ARGS_GEN + 8];
        for (int j = 0; j < e->argc; j++) {
            argv[j] = e->argv[j].p;
            lens[j] = e->argv[j].n;
        }
        lt_format_command(&c->out, e->argc, argv, lens);
        pend p = {idx, e->cmd, e->sync};
        conn_push(c, p);
        if (e->argv[0].n == 5 && strncasecmp(e->argv[0].p, "hello", 5) == 0)
            c->maybe3 = 1;
        if (e->cmd >= 0)
            cmds[e->cmd].sent++;
        r->sent++;
        if (!e->deferred || c->out.len > 65536)
            if (conn_flush(r, e->conn, idx) != 0)
                return -1;
        if (!e->deferred && conn_drain(r, e->conn, idx) != 0)
            return -1;
        return check_rss(r, idx);
    }
    return exec_wait(r, idx);
}

/* ---- the fuzz steps ----------------------------------------------------- */

typedef struct fuzz {
    run *r;
    long step;
    int sync_no;
    int next_sync; /* the next emitted entry is a sync ECHO */
} fuzz;

/* Append an entry to the log and run it. */
static int emit(fuzz *f, int conn, int deferred, gen *g, int cmd)
{
    entry e = {0};
    e.conn = conn;
    e.deferred = deferred;
    e.argc = g->n;
    e.argv = g->a;
    e.cmd = cmd;
    e.sync = f->next_sync;
    f->next_sync = 0;
    log_copy_entry(&f->r->log, &e);
    for (int i = 0; i < g->n; i++)
        free(g->a[i].p);
    g->n = 0;
    return run_entry(f->r, f->r->log.n - 1);
}

static int emit_words(fuzz *f, int conn, int deferred, const char *w0, ...)
{
    if (name_in_list(w0, opt_skip))
        return 0;
    gen g;
    g.n = 0;
    g.cur_group = 0;
    va_list ap;
    va_start(ap, w0);
    for (const char *w = w0; w; w = va_arg(ap, const char *))
        g_pushs(&g, w);
    va_end(ap);
    lt_buf nm = {0};
    lt_buf_puts(&nm, w0);
    fcmd *m = cmd_find(nm.p);
    free(nm.p);
    return emit(f, conn, deferred, &g, m ? (int)(m - cmds) : -1);
}

static int emit_wait(fuzz *f, int conn)
{
    gen g;
    g.n = 0;
    return emit(f, conn, 0, &g, -1);
}

/*
 * --skip "NAME:PATTERN" rules: never send command NAME (a glob, "*" for all) with an argument
 * matching PATTERN (a glob, case-insensitive), e.g. "*scan:92233720368547758*".
 */
static int skipped_args(const fcmd *m, const gen *g)
{
    const char *p = opt_skip;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char rule[256];
        snprintf(rule, sizeof(rule), "%.*s", (int)(len < 255 ? len : 255), p);
        char *colon = strchr(rule, ':');
        if (colon) {
            *colon = '\0';
            if (fnmatch(rule, m->name, FNM_CASEFOLD) == 0)
                for (int i = 1; i < g->n; i++)
                    if (fnmatch(colon + 1, g->a[i].p, FNM_CASEFOLD) == 0)
                        return 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int emit_random(fuzz *f, int conn, int deferred, unsigned need, unsigned avoid)
{
    for (int tries = 0; tries < 20; tries++) {
        fcmd *m = cmd_pick(need, avoid);
        if (!m)
            return 0;
        gen g;
        gen_command(&g, m);
        if (skipped_args(m, &g)) {
            for (int i = 0; i < g.n; i++)
                free(g.a[i].p);
            continue;
        }
        return emit(f, conn, deferred, &g, (int)(m - cmds));
    }
    return 0;
}

/* Build one key of a random type on conn 0 (in whatever db conn 0 is in). */
static int build_key(fuzz *f, int db, int ki)
{
    char key[16];
    snprintf(key, sizeof(key), "k%d", ki);
    gen g;
    g.n = 0;
    g.cur_group = 0;
    g.numkeys_at = -1;
    g.cmd = NULL;
    int k = (int)rnd(100);
    int n = k % 3 == 0 ? 2 + (int)rnd(12) : SETUP_BIG + (int)rnd(30);
    if (chance(0.08))
        n = 100 + (int)rnd(200);
    if (emit_words(f, 0, 1, "DEL", key, NULL) != 0)
        return -1;
    int type = (int)rnd(8);
    static const int kt[8] = {KT_STRING, KT_HASH, KT_LIST, KT_SET,
                              KT_SET,    KT_ZSET, KT_ZSET, KT_HLL};
    if (db == 0)
        key_type[ki] = kt[type];
    switch (type) {
    case 0:
        g_pushs(&g, "SET");
        g_pushs(&g, key);
        if (rnd(2))
            g_printf(&g, "%d", (int)rnd(1000) - 100);
        else
            g_value(&g);
        break;
    case 1:
        g_pushs(&g, "HSET");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++) {
            g_printf(&g, "f%d", i);
            if (rnd(2))
                g_printf(&g, "%d", (int)rnd(100));
            else
                g_printf(&g, "v%d", i);
        }
        break;
    case 2:
        g_pushs(&g, rnd(2) ? "RPUSH" : "LPUSH");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++)
            if (rnd(3))
                g_printf(&g, "m%d", (int)rnd(45));
            else
                g_printf(&g, "%d", (int)rnd(45));
        break;
    case 3: /* integers only: an intset while small */
        g_pushs(&g, "SADD");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++)
            g_printf(&g, "%d", i * (rnd(4) ? 1 : -7));
        break;
    case 4:
        g_pushs(&g, "SADD");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++)
            g_printf(&g, "m%d", i);
        break;
    case 5:
        g_pushs(&g, "ZADD");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++) {
            if (rnd(5))
                g_printf(&g, "%d", (int)rnd(40) - 10);
            else
                g_pushs(&g, PICK(((const char *const[]){"inf", "-inf", "1.5", "0", "-0.25"})));
            g_printf(&g, "m%d", i);
        }
        break;
    case 6:
        g_pushs(&g, "GEOADD");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++) {
            g_printf(&g, "%d.%d", (int)rnd(60) - 30, (int)rnd(1000));
            g_printf(&g, "%d.%d", (int)rnd(80) - 40, (int)rnd(1000));
            g_printf(&g, "m%d", i);
        }
        break;
    default:
        g_pushs(&g, "PFADD");
        g_pushs(&g, key);
        for (int i = 0; i < n; i++)
            g_printf(&g, "m%d", (int)rnd(1000));
        break;
    }
    if (emit(f, 0, 1, &g, -1) != 0)
        return -1;
    if (chance(0.08)) {
        char ms[16];
        snprintf(ms, sizeof(ms), "%d", 50 + (int)rnd(3000));
        if (emit_words(f, 0, 1, "PEXPIRE", key, ms, NULL) != 0)
            return -1;
    }
    return 0;
}

static int setup(fuzz *f, int all)
{
    static const char *const dbs[] = {"0", "1", "2"};
    for (int d = 0; d < 3; d++) {
        if (emit_words(f, 0, 1, "SELECT", dbs[d], NULL) != 0)
            return -1;
        for (int k = 0; k < NKEYS; k++) {
            if (!all && !chance(0.2))
                continue;
            if (d > 0 && !chance(0.4))
                continue;
            if (build_key(f, d, k) != 0)
                return -1;
        }
    }
    if (emit_words(f, 0, 1, "SELECT", "0", NULL) != 0)
        return -1;
    return emit_wait(f, 0);
}

static int fuzz_conn(void)
{
    return 1 + (int)rnd(NCONN - 1);
}

static int step_transaction(fuzz *f)
{
    int a = fuzz_conn();
    int b = a % (NCONN - 1) + 1;
    gen g;
    if (chance(0.6)) {
        g.n = 0;
        g.cur_group = 0;
        g.numkeys_at = -1;
        g.cmd = NULL;
        g_word(&g, "watch");
        for (int i = (int)rnd(3); i >= 0; i--)
            g_key(&g);
        if (emit(f, a, 0, &g, cmd_find("watch") ? (int)(cmd_find("watch") - cmds) : -1) != 0)
            return -1;
    }
    for (int i = (int)rnd(3); i > 0; i--)
        if (emit_random(f, b, 0, F_WRITE, F_BLOCKING) != 0)
            return -1;
    if (emit_words(f, a, chance(0.5), "MULTI", NULL) != 0)
        return -1;
    int n = 1 + (int)rnd(5);
    for (int i = 0; i < n; i++) {
        int k = (int)rnd(100);
        int rc;
        if (k < 10)
            rc = emit_words(f, a, chance(0.5), "UNWATCH", NULL);
        else if (k < 14)
            rc = emit_words(f, a, chance(0.5), "WATCH", "k1", NULL);
        else if (k < 17)
            rc = emit_words(f, a, chance(0.5), "MULTI", NULL);
        else if (k < 30)
            rc = emit_random(f, b, 0, 0, F_BLOCKING);
        else
            rc = emit_random(f, a, chance(0.5), 0, 0);
        if (rc != 0)
            return -1;
    }
    int k = (int)rnd(100);
    if (k < 70)
        return emit_words(f, a, 0, rnd(3) ? "EXEC" : "exec", NULL);
    if (k < 90)
        return emit_words(f, a, 0, "DISCARD", NULL);
    return emit_wait(f, a);
}

static int step_blocking(fuzz *f)
{
    int a = fuzz_conn();
    int b = a % (NCONN - 1) + 1;
    if (emit_random(f, a, 1, F_BLOCKING, 0) != 0)
        return -1;
    int k = (int)rnd(100);
    int rc = 0;
    if (k < 60) {
        static const char *const feeders[] = {"lpush", "rpush",  "zadd",    "lmove", "rpoplpush",
                                              "sadd",  "lpushx", "zincrby", "set",   "del"};
        fcmd *m = cmd_find(PICK(feeders));
        if (m) {
            gen g;
            gen_command(&g, m);
            rc = emit(f, b, 0, &g, (int)(m - cmds));
        }
    } else if (k < 70) {
        char id[16];
        snprintf(id, sizeof(id), "%d", 2 + a);
        rc = emit_words(f, b, 0, "CLIENT", "UNBLOCK", id, rnd(2) ? "ERROR" : "TIMEOUT", NULL);
    } else if (k < 85) {
        rc = emit_random(f, b, 0, 0, F_BLOCKING);
    }
    if (rc != 0)
        return -1;
    return emit_wait(f, a);
}

static int step_protocol(fuzz *f)
{
    int a = fuzz_conn();
    int k = (int)rnd(100);
    if (k < 40)
        return emit_words(f, a, 0, "HELLO", "3", NULL);
    if (k < 60)
        return emit_words(f, a, 0, "HELLO", "2", NULL);
    if (k < 75)
        return emit_words(f, a, 0, "RESET", NULL);
    if (k < 85)
        return emit_words(f, a, 0, "HELLO", "3", "SETNAME", "fz", NULL);
    return emit_words(f, a, 0, "HELLO", NULL);
}

static int step_sync(fuzz *f)
{
    for (int i = 0; i < NCONN; i++) {
        char tok[32];
        snprintf(tok, sizeof(tok), "sync:%d", ++f->sync_no);
        f->next_sync = 1;
        if (emit_words(f, i, 0, "ECHO", tok, NULL) != 0)
            return -1;
    }
    return 0;
}

/*
 * Several connections each send commands without waiting, then all are read: in cold mode their
 * keys are parked on storage reads at the same time, so commands on the same key from different
 * connections queue behind each other (tier.c's in-flight table and followers).
 */
static int step_concurrent(fuzz *f)
{
    int used[NCONN] = {0};
    int n = 3 + (int)rnd(6);
    for (int i = 0; i < n; i++) {
        int a = fuzz_conn();
        used[a] = 1;
        if (emit_random(f, a, 1, 0, F_BLOCKING) != 0)
            return -1;
    }
    for (int a = 1; a < NCONN; a++)
        if (used[a] && emit_wait(f, a) != 0)
            return -1;
    return 0;
}

static int fuzz_step(fuzz *f)
{
    f->step++;
    if (f->step % SYNC_EVERY == 0)
        return step_sync(f);
    if (f->step % REFILL == 0)
        return setup(f, 0);
    int k = (int)rnd(1000);
    if (k < 640)
        return emit_random(f, fuzz_conn(), 0, 0, 0);
    if (k < 720)
        return step_concurrent(f);
    if (k < 800) {
        int a = fuzz_conn();
        int n = 2 + (int)rnd(9);
        for (int i = 0; i < n; i++)
            if (emit_random(f, a, i + 1 < n, 0, 0) != 0)
                return -1;
        return 0;
    }
    if (k < 880)
        return step_transaction(f);
    if (k < 950)
        return step_blocking(f);
    if (k < 975)
        return step_protocol(f);
    int a = fuzz_conn();
    char db[4];
    snprintf(db, sizeof(db), "%d", (int)rnd(3));
    return emit_words(f, a, 0, "SELECT", db, NULL);
}

/* ---- replay and shrinking ----------------------------------------------- */

/* The kept entries of "full" as a log of their own; "undefer" (may be NULL) clears their "&". */
static void kept_log(const elog *full, const int *keep, const int *undefer, elog *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < full->n; i++) {
        if (keep && !keep[i])
            continue;
        log_copy_entry(out, &full->e[i]);
        if (undefer && undefer[i])
            out->e[out->n - 1].deferred = 0;
    }
}

/* Run the kept entries of "full" on a fresh server. Returns the failure kind (0: none). */
static int replay(const elog *full, const int *keep, const int *undefer, run *r)
{
    memset(r, 0, sizeof(*r));
    if (run_start(r) != 0)
        return -1;
    kept_log(full, keep, undefer, &r->log);
    for (int i = 0; i < r->log.n && !r->fail; i++)
        run_entry(r, i);
    /* entries after the failure were never sent */
    run_finish(r);
    log_free(&r->log);
    return r->fail;
}

static int same_failure(const run *a, const char *sig)
{
    return a->fail && strcmp(a->sig, sig) == 0;
}

static int test_keep(const elog *full, const int *keep, const int *undefer, const char *sig,
                     long *tests)
{
    run *r = calloc(1, sizeof(run));
    (*tests)++;
    replay(full, keep, undefer, r);
    int same = same_failure(r, sig);
    free(r);
    return same;
}

static int count_keep(const int *keep, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += keep[i] != 0;
    return k;
}

/*
 * Shrink "full" to a smaller log that fails with the same signature. Fills "keep" (1 per kept
 * entry) and "undefer" (1: send it and wait for its reply, though the log had "&"). First the
 * shortest failing suffix (failures usually need only the last commands), then delta debugging
 * (remove chunks, halving their size), then single entries, then "&" one by one: a reproduction
 * that waits for every reply does not depend on how the server interleaves connections.
 */
static void shrink(const elog *full, const char *sig, int *keep, int *undefer)
{
    int n = full->n;
    long tests = 0;
    long long deadline = mono_ms() + (long long)opt_shrink_time * 1000;
    int *cand = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        keep[i] = 1;
        undefer[i] = 0;
    }
    for (int len = 1; len < n && mono_ms() < deadline; len *= 2) {
        for (int i = 0; i < n; i++)
            cand[i] = i >= n - len;
        if (test_keep(full, cand, NULL, sig, &tests)) {
            memcpy(keep, cand, sizeof(int) * (size_t)n);
            break;
        }
    }
    int chunks = 2;
    for (;;) {
        int kept = count_keep(keep, n);
        if (kept <= 1 || mono_ms() > deadline)
            break;
        if (chunks > kept)
            chunks = kept;
        int size = (kept + chunks - 1) / chunks;
        int removed_any = 0;
        for (int c = 0; c < chunks && mono_ms() < deadline; c++) {
            /* candidate: keep minus the c-th chunk of kept entries */
            int seen = 0, any = 0;
            for (int i = 0; i < n; i++) {
                cand[i] = keep[i];
                if (keep[i]) {
                    if (seen >= c * size && seen < (c + 1) * size) {
                        cand[i] = 0;
                        any = 1;
                    }
                    seen++;
                }
            }
            if (!any || count_keep(cand, n) == 0)
                continue;
            if (test_keep(full, cand, NULL, sig, &tests)) {
                memcpy(keep, cand, sizeof(int) * (size_t)n);
                removed_any = 1;
                break;
            }
        }
        if (removed_any) {
            chunks = chunks > 2 ? chunks - 1 : 2;
            continue;
        }
        if (chunks >= kept)
            break;
        chunks = chunks * 2;
    }
    for (int i = n - 1; i >= 0 && mono_ms() < deadline; i--) {
        if (!keep[i] || count_keep(keep, n) <= 1)
            continue;
        memcpy(cand, keep, sizeof(int) * (size_t)n);
        cand[i] = 0;
        if (test_keep(full, cand, NULL, sig, &tests))
            memcpy(keep, cand, sizeof(int) * (size_t)n);
    }
    for (int i = 0; i < n && mono_ms() < deadline; i++) {
        if (!keep[i] || !full->e[i].deferred)
            continue;
        undefer[i] = 1;
        if (!test_keep(full, keep, undefer, sig, &tests))
            undefer[i] = 0;
    }
    free(cand);
    printf("  shrunk to %d of %d commands in %ld replays%s\n", count_keep(keep, n), n, tests,
           mono_ms() > deadline ? " (time limit reached)" : "");
}

static void print_kept(const elog *full, const int *keep, const int *undefer)
{
    elog k;
    kept_log(full, keep, undefer, &k);
    for (int i = 0; i < k.n; i++) {
        printf("    ");
        entry_print(stdout, &k.e[i]);
    }
    log_free(&k);
}

static void print_failure(const run *r)
{
    printf("FAILURE: %s: %s\n", FAIL_NAMES[r->fail], r->detail);
    printf("  signature: %s\n", r->sig);
    if (r->report[0]) {
        printf("  ---- server report ----\n");
        const char *p = r->report;
        int lines = 0;
        while (*p && lines < 30) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            printf("  | %.*s\n", (int)n, p);
            lines++;
            p += n + (nl ? 1 : 0);
        }
    }
}

static char *header_text(const char *what)
{
    lt_buf b = {0};
    lt_buf_printf(&b, "# lt-cmdfuzz %s; mode %s\n", what, opt_cold ? "cold" : "hot");
    lt_buf_printf(&b,
                  "# server options: --storage-split-threshold 16 --enable-debug-command yes "
                  "--client-reply-max-size 64mb%s\n",
                  opt_cold ? " --maxmemory 1" : "");
    lt_buf_puts(&b, "# each line: CONN[&] ARGS... (& = do not wait for the reply)\n");
    return lt_buf_take(&b);
}

/* Save, confirm and shrink a failing log; print the reproduction. */
static void handle_failure(const run *r, const elog *l, const char *tag)
{
    print_failure(r);
    mkdir(opt_out, 0755);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s.log", opt_out, tag);
    char *hdr = header_text(tag);
    log_save(path, l, NULL, hdr);
    printf("  command log (%d commands): %s\n", l->n, path);
    if (!opt_shrink) {
        free(hdr);
        return;
    }
    run *again = calloc(1, sizeof(run));
    int kind = replay(l, NULL, NULL, again);
    if (kind <= 0 || !same_failure(again, r->sig)) {
        printf("  replay did not reproduce it (got: %s)\n", kind > 0 ? again->sig : "no failure");
        kind = replay(l, NULL, NULL, again);
        if (kind <= 0 || !same_failure(again, r->sig)) {
            printf("  second replay did not reproduce it either: not shrunk\n");
            free(again);
            free(hdr);
            return;
        }
    }
    printf("  replay reproduced it; shrinking\n");
    int *keep = xmalloc(sizeof(int) * (size_t)(l->n ? l->n : 1));
    int *undefer = xmalloc(sizeof(int) * (size_t)(l->n ? l->n : 1));
    int hang_ms = opt_hang_ms;
    if (r->fail == FAIL_HANG && opt_hang_ms > 5000)
        opt_hang_ms = 5000; /* each replay of a hang waits this long */
    shrink(l, r->sig, keep, undefer);
    snprintf(path, sizeof(path), "%s/%s.min.log", opt_out, tag);
    elog k;
    kept_log(l, keep, undefer, &k);
    log_save(path, &k, NULL, hdr);
    log_free(&k);
    printf("  minimal reproduction (%s):\n", path);
    print_kept(l, keep, undefer);
    /* how stable is it? */
    int hits = 0;
    for (int i = 0; i < 3; i++) {
        replay(l, keep, undefer, again);
        hits += same_failure(again, r->sig);
    }
    opt_hang_ms = hang_ms;
    printf("  the reproduction fails %d times out of 3 replays\n", hits);
    if (again->fail)
        print_failure(again);
    free(again);
    free(keep);
    free(undefer);
    free(hdr);
}

/* --replay: run a saved log on a fresh server; shrink what fails. 0 if nothing failed. */
static int replay_file(elog *l)
{
    if (log_load(opt_replay, l) != 0)
        return -1;
    run *rr = calloc(1, sizeof(run));
    int kind = replay(l, NULL, NULL, rr);
    if (kind <= 0) {
        if (kind == 0)
            printf("lt-cmdfuzz: replay of %d commands: no failure\n", l->n);
        free(rr);
        return kind == 0 ? 0 : -1;
    }
    print_failure(rr);
    if (opt_shrink) {
        int *keep = xmalloc(sizeof(int) * (size_t)l->n);
        int *undefer = xmalloc(sizeof(int) * (size_t)l->n);
        shrink(l, rr->sig, keep, undefer);
        printf("  minimal reproduction:\n");
        print_kept(l, keep, undefer);
        free(keep);
        free(undefer);
    }
    free(rr);
    return 1;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: lt-cmdfuzz [--server PATH] [--mode hot|cold] [--seed N] "
                    "[--duration S | --count N]\n"
                    "                  [--skip NAME,...] [--epoch N] [--hang-timeout S] "
                    "[--max-rss MB] [--out DIR]\n"
                    "                  [--keep-going] [--no-shrink] [--shrink-time S] "
                    "[--replay FILE] [-v]\n");
}

static int parse_opts(int argc, char **argv)
{
    const char *server = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--server") && v)
            server = argv[++i];
        else if (!strcmp(a, "--mode") && v) {
            i++;
            if (!strcmp(v, "cold"))
                opt_cold = 1;
            else if (strcmp(v, "hot") != 0)
                return -1;
        } else if (!strcmp(a, "--seed") && v)
            opt_seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--duration") && v) {
            opt_duration = atof(argv[++i]);
            opt_count = 0;
        } else if (!strcmp(a, "--count") && v) {
            opt_count = atol(argv[++i]);
            opt_duration = 0;
        } else if (!strcmp(a, "--replay") && v)
            opt_replay = argv[++i];
        else if (!strcmp(a, "--skip") && v) {
            size_t n = strlen(opt_skip);
            snprintf(opt_skip + n, sizeof(opt_skip) - n, "%s%s", n ? "," : "", argv[++i]);
        } else if (!strcmp(a, "--epoch") && v)
            opt_epoch = atoi(argv[++i]);
        else if (!strcmp(a, "--hang-timeout") && v)
            opt_hang_ms = (int)(atof(argv[++i]) * 1000);
        else if (!strcmp(a, "--max-rss") && v)
            opt_max_rss_mb = atol(argv[++i]);
        else if (!strcmp(a, "--out") && v)
            opt_out = argv[++i];
        else if (!strcmp(a, "--keep-going"))
            opt_keep_going = 1;
        else if (!strcmp(a, "--no-shrink"))
            opt_shrink = 0;
        else if (!strcmp(a, "--shrink-time") && v)
            opt_shrink_time = atoi(argv[++i]);
        else if (!strcmp(a, "-v"))
            lt_verbose = 1;
        else
            return -1;
    }
    if (opt_epoch < 100 || opt_hang_ms < 100)
        return -1;
    opt_server = lt_server_path(server, "../../longtail-server");
    return 0;
}

static void print_coverage(long long sent, double secs)
{
    int total = 0, tried = 0, succeeded = 0;
    lt_buf never = {0};
    for (int i = 0; i < ncmds; i++) {
        if (cmds[i].container)
            continue;
        total++;
        if (cmds[i].sent > 0)
            tried++;
        if (cmds[i].ok > 0)
            succeeded++;
        else
            lt_buf_printf(&never, " %s", cmds[i].name);
    }
    printf("lt-cmdfuzz: %lld commands in %.1f s of fuzzing (%.0f/s, server restarts included); "
           "%d of %d commands sent, %d of them "
           "with a non-error reply\n",
           sent, secs, secs > 0 ? (double)sent / secs : 0.0, tried, total, succeeded);
    if (never.p)
        printf("lt-cmdfuzz: never a non-error reply:%s\n", never.p);
    free(never.p);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_opts(argc, argv) != 0) {
        usage();
        return 2;
    }
    /* stacks for UBSan reports and for abort() (a failed assert) in a sanitizer build */
    if (!getenv("UBSAN_OPTIONS"))
        setenv("UBSAN_OPTIONS", "print_stacktrace=1", 1);
    if (!getenv("ASAN_OPTIONS"))
        setenv("ASAN_OPTIONS", "handle_abort=1", 1);
    signal(SIGPIPE, SIG_IGN);

    /* the command table comes from a server of the same binary */
    run *r = calloc(1, sizeof(run));
    char name[64];
    snprintf(name, sizeof(name), "lt-cmdfuzz[%s]", opt_cold ? "cold" : "hot");
    lt_test_begin("command table");
    if (!lt_check(run_start(r) == 0, "cannot start %s", opt_server))
        return lt_report(name);
    int loaded = table_load(r->srv.port) == 0;
    run_finish(r);
    if (!lt_check(loaded, "cannot read COMMAND / COMMAND DOCS"))
        return lt_report(name);
    lt_test_end();
    int usable = 0;
    for (int i = 0; i < ncmds; i++)
        usable += !cmds[i].excluded;
    printf("lt-cmdfuzz: %d commands in the table, %d fuzzed; mode %s; seed %llu; server %s\n",
           ncmds, usable, opt_cold ? "cold" : "hot", opt_seed, opt_server);

    if (opt_replay) {
        free(r);
        elog l = {0};
        lt_test_begin("replay");
        int rc = replay_file(&l);
        log_free(&l);
        lt_check(rc == 0, "the replayed log failed");
        return lt_report(name);
    }

    long long t0 = mono_ms();
    long long total_sent = 0, fuzz_ms = 0;
    char seen[32][512];
    int nseen = 0;
    for (int epoch = 0;; epoch++) {
        double el = (double)(mono_ms() - t0) / 1000.0;
        if (opt_duration > 0 && el >= opt_duration)
            break;
        if (opt_count > 0 && total_sent >= opt_count)
            break;
        rng = opt_seed * 0x9E3779B97F4A7C15ULL + (unsigned long long)epoch * 0xBF58476D1CE4E5B9ULL;
        lt_rand_next(&rng);
        char test[32];
        snprintf(test, sizeof(test), "epoch %d", epoch);
        lt_test_begin(test);
        memset(r, 0, sizeof(*r));
        if (!lt_check(run_start(r) == 0, "cannot start %s", opt_server))
            break;
        long long e0 = mono_ms();
        fuzz f = {r, 0, 0, 0};
        for (int i = 0; i < NKEYS; i++)
            key_type[i] = -1;
        setup(&f, 1);
        /* one epoch in three reads RocksDB slowly: parked commands overlap more */
        if (epoch % 3 == 2)
            emit_words(&f, 0, 0, "DEBUG", "STORAGE-READ-DELAY", "300", NULL);
        while (!r->fail && r->log.n < opt_epoch) {
            if (opt_duration > 0 && (double)(mono_ms() - t0) / 1000.0 >= opt_duration)
                break;
            if (opt_count > 0 && total_sent + r->sent >= opt_count)
                break;
            fuzz_step(&f);
        }
        if (!r->fail)
            step_sync(&f);
        run_finish(r);
        fuzz_ms += mono_ms() - e0;
        total_sent += r->sent;
        lt_count_check(0, !r->fail);
        if (!r->fail) {
            if (lt_verbose)
                printf("epoch %d: %lld commands, ok\n", epoch, r->sent);
            log_free(&r->log);
            continue;
        }
        int dup = 0;
        for (int i = 0; i < nseen; i++)
            dup |= strcmp(seen[i], r->sig) == 0;
        char tag[96];
        snprintf(tag, sizeof(tag), "seed%llu-%s-epoch%d", opt_seed, opt_cold ? "cold" : "hot",
                 epoch);
        printf("epoch %d (seed %llu): failure after %lld commands: %s\n", epoch, opt_seed, r->sent,
               r->sig);
        if (!dup) {
            if (nseen < 32)
                snprintf(seen[nseen++], sizeof(seen[0]), "%s", r->sig);
            elog l = r->log;
            memset(&r->log, 0, sizeof(r->log));
            /* the log ends at the command whose reply was awaited */
            run copy = *r;
            handle_failure(&copy, &l, tag);
            log_free(&l);
        } else {
            log_free(&r->log);
        }
        if (!opt_keep_going)
            break;
    }
    print_coverage(total_sent, (double)fuzz_ms / 1000.0);
    if (nseen > 0) {
        printf("lt-cmdfuzz: distinct failures:\n");
        for (int i = 0; i < nseen; i++)
            printf("  %s\n", seen[i]);
    }
    free(r);
    return lt_report(name);
}
