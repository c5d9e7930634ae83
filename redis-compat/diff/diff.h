/*
 * diff.h: shared types of lt-diff, the differential tester that sends the same
 * commands to redis-server 7.0.15 (the reference) and to longtail-server and
 * compares their replies.
 *
 * Pieces, one file each:
 *   net.c     servers started as child processes, and a raw RESP client that
 *             keeps every reply as the exact bytes the server sent.
 *   reply.c   RESP2/RESP3 framing and parsing of those bytes, printing, and
 *             the comparators (bytes, sorted, by property).
 *   script.c  the command-script syntax: parsing lines into items, and
 *             writing items back as script lines (for reproducers).
 *   gen.c     the seeded random command generator and its tables.
 *   lt-diff.c options, running items on a server pair, delta debugging.
 *
 * Conventions: server 0 of a pair is always redis-server, server 1 longtail.
 * Functions return 0 on success and a negative number on failure.
 */
#ifndef LT_DIFF_H
#define LT_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- growable byte buffer (always NUL-terminated when p != NULL) --------- */

typedef struct dbuf {
    char *p;
    size_t len, cap;
} dbuf;

void dbuf_add(dbuf *b, const void *p, size_t n);
void dbuf_puts(dbuf *b, const char *s);
void dbuf_printf(dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dbuf_clear(dbuf *b);
void dbuf_free(dbuf *b);
/* Append "p" as readable text: printable bytes as is, \r \n \t \\ \" and \xHH
 * (also the quoted form of a script argument). */
void dbuf_escape(dbuf *b, const char *p, size_t n);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
double now_sec(void);

/* ---- how two replies are compared ----------------------------------------- */

enum cmp_kind {
    CMP_DEFAULT = 0, /* look the command up in the comparator table (reply.c) */
    CMP_BYTES,       /* byte for byte */
    CMP_SORTED,      /* top-level aggregate compared as a multiset of elements */
    CMP_PAIRS,       /* flat name/value array or map compared as a set of pairs */
    CMP_CMDINFO,     /* COMMAND INFO: subcommands compared as a set */
    CMP_SHAPE,       /* same reply type (errors: same bytes) */
    CMP_TTL,         /* -2/-1 exactly, non-negative values within a tolerance */
    CMP_SCAN,        /* from cursor 0: full iteration on both, sorted sets compared */
    CMP_RANDOMKEY,   /* nil on both, or a key that exists on both */
    CMP_TIME,        /* two integers, clocks within 2 s */
    CMP_INFO,        /* same type, Redis's sections present, keyspace counts equal */
    CMP_HELLO,       /* same map apart from the connection id */
    CMP_COUNT,       /* same type and number of elements (SRANDMEMBER, ...) */
    CMP_SPOP,        /* members popped may differ: compare counts, then resync */
    CMP_IGNORE,      /* both must answer; nothing compared */
    CMP__COUNT
};

/* "bytes", "sorted", ... as used in scripts (@sorted CMD ...); NULL if out of range. */
const char *cmp_name(int kind);
int cmp_from_name(const char *name);
/* The comparator a command gets when a script or the generator does not say. */
int cmp_for_command(int argc, char **argv, const size_t *lens);

/* ---- items: what a script line or a generated step does ------------------- */

enum item_kind {
    ITEM_CMD,       /* send argv to both, compare with cmp */
    ITEM_RESP,      /* HELLO <arg> on both (directive @resp2 / @resp3) */
    ITEM_SLEEP,     /* sleep arg milliseconds */
    ITEM_FLUSHALL,  /* FLUSHALL on both, both must answer +OK */
    ITEM_CHECK,     /* full state comparison of the checked databases */
    ITEM_RECONNECT, /* new connections on both (after QUIT, or to reset state) */
};

typedef struct item {
    int kind;
    int cmp;  /* ITEM_CMD: enum cmp_kind */
    int arg;  /* ITEM_RESP: protocol; ITEM_SLEEP: milliseconds */
    int argc; /* ITEM_CMD */
    char **argv;
    size_t *lens;
    int line; /* script line, 0 for generated items */
} item;

typedef struct item_list {
    item *v;
    size_t n, cap;
    const char *name; /* script path or "random" */
} item_list;

void item_list_push(item_list *l, const item *it);
void item_list_free(item_list *l);
/* Deep copy of "src" into a new item. */
item item_copy(const item *src);
void item_free(item *it);
item item_cmd(int cmp, int argc, const char *const *argv, const size_t *lens);

/* script.c */
int script_load(const char *path, item_list *out, dbuf *err);
int script_parse_line(const char *line, int lineno, item_list *out, dbuf *err);
/* One item as a script line (no newline). */
void script_format_item(dbuf *b, const item *it);
/* One argument, quoted when needed. */
void script_format_arg(dbuf *b, const char *p, size_t n);

/* gen.c */
typedef struct gen_opts {
    uint64_t seed;
    long count;
    int check_every;      /* an ITEM_CHECK after every this many commands */
    const char *families; /* "list,hash" switches on extra families, "all" */
    const char *skip;     /* comma-separated commands not to generate */
} gen_opts;

int gen_sequence(const gen_opts *o, item_list *out, dbuf *err);
/* The family names and whether they are on by default, for --help. */
void gen_describe(dbuf *b);
/* The command that dumps a key of "type" for the state check ("GET", ...), or NULL. */
const char *gen_state_reader(const char *type, size_t tlen);
/* Databases the generator uses; the state check covers them. */
extern const int gen_dbs[];
extern const int gen_ndbs;

/* ---- raw RESP client (net.c) ---------------------------------------------- */

typedef struct dconn {
    int fd;
    dbuf in;       /* bytes read but not yet consumed */
    size_t off;    /* consumed prefix of "in" */
    int reply_off; /* CLIENT REPLY OFF in effect */
    int skip_now;  /* this command's reply is skipped (CLIENT REPLY SKIP) */
} dconn;

int dconn_open(dconn *c, int port, int timeout_ms);
void dconn_close(dconn *c);
/* Sends one command; sets *expect to whether the server will answer it. */
int dconn_send(dconn *c, int argc, char **argv, const size_t *lens, int *expect);
/* Reads one complete reply into "out" (raw bytes). -1 closed, -2 timeout, -3 bad RESP. */
int dconn_read(dconn *c, dbuf *out, int timeout_ms);
/* send + read; returns dconn_read's code, or 1 when no reply was expected. */
int dconn_call(dconn *c, int argc, char **argv, const size_t *lens, dbuf *out, int timeout_ms);
/* Convenience for fixed commands: arguments as C strings, NULL-terminated. */
int dconn_callv(dconn *c, dbuf *out, int timeout_ms, ...) __attribute__((sentinel));

/* ---- servers (net.c) --------------------------------------------------- */

typedef struct dserver {
    const char *label; /* "redis" or "longtail" */
    char root[512];    /* its own temp directory: data/ and server.log */
    int port;
    pid_t pid;
} dserver;

/*
 * Start redis-server (bins[0], extra0) and longtail-server (bins[1], extra1)
 * under "parent" on two free ports and wait for both to answer PING.
 * Returns 0, or -1 with the reason in "err" (both are stopped then).
 */
int dserver_start_pair(dserver s[2], const char *const bins[2], const char *const *extra[2],
                       const char *parent, dbuf *err);
/* SIGTERM, wait (SIGKILL after 5 s). Returns the raw wait status, -1 if not running. */
int dserver_stop(dserver *s);
/* 1 if the process is still running. */
int dserver_alive(dserver *s);
/* rm -rf "path". */
void rm_tree(const char *path);
/* The last "nlines" of the server's log, appended to "b". */
void dserver_log_tail(const dserver *s, dbuf *b, int nlines);

/* ---- replies (reply.c) ---------------------------------------------------- */

/* Bytes of the complete reply at p[0..n): >0 its length, 0 incomplete, -1 malformed. */
long resp_frame(const char *p, size_t n);

typedef struct rnode {
    char type;       /* RESP type byte; 'N' for any null ($-1, *-1, _) */
    const char *raw; /* the node's bytes in the reply */
    size_t rawlen;
    const char *s; /* payload of strings, errors, numbers (not NUL-terminated) */
    size_t slen;
    long long n; /* integer value; element count of aggregates */
    size_t nchild;
    struct rnode *child;
} rnode;

/* Parse a complete reply (as framed by resp_frame). Returns 0 or -1. */
int rnode_parse(const char *p, size_t n, rnode *out);
void rnode_free(rnode *r);

/* Context a comparator may use to ask both servers more questions. */
typedef struct cmp_ctx {
    dconn *conn[2]; /* the connections the command ran on */
    int timeout_ms;
} cmp_ctx;

/*
 * Compare the replies "r[0]" (redis) and "r[1]" (longtail) to the command in
 * "it". Returns 0 when they agree, 1 when they differ (the reason in "why"),
 * -1 when a follow-up command failed (connection lost).
 */
int cmp_replies(cmp_ctx *ctx, const item *it, const dbuf r[2], dbuf *why);

/* Print a reply for humans: escaped, cut after "max" bytes. */
void reply_print(dbuf *b, const char *p, size_t n, size_t max);

#endif
