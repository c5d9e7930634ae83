/*
 * lt-script: runs command scripts against a fresh server per script and
 * compares every reply with the expected canonical text.
 *
 *   lt-script [--server PATH] [--mode hot|cold] [--reference] [--record] [-v]
 *             script.txt...
 *
 * --mode hot runs longtail as is; --mode cold adds "--maxmemory 1", so every
 * key is read back from RocksDB; --reference runs the scripts against
 * redis-server (default "redis-server" from PATH) to prove the expected
 * replies. Every server also gets "--enable-debug-command yes" (DEBUG is
 * refused by default). The server path comes from --server, else $LT_SERVER, else
 * ../../longtail-server relative to this binary. --record writes the script
 * to stdout with each mismatching expected line replaced by the reply
 * received (only with one script; review the result before keeping it).
 *
 * Counting (harness.h): a test is one script file in one mode, on its own
 * fresh server; it passes when every check of the script passed. Its checks
 * are reply comparisons (each command's reply against its expected line) and
 * other checks (the directives' own: @expect-closed, the exit status on the
 * final SIGTERM, a script that cannot be read or parsed). With --reference, a
 * script with nothing but @longtail-only sections is skipped, said so. The
 * last lines are
 * "lt-script[MODE]: checks: ..." and "lt-script[MODE]: N passed, N failed"
 * with N counting scripts.
 *
 * Script format (also in scripts/README.md):
 *
 *   # a comment (a line starting with '#', outside a command's reply line)
 *   SET key "a value\r\n"        a command: arguments separated by blanks;
 *   +OK                          the next line is always its expected reply
 *
 * Arguments: "double quoted" with \" \\ \r \n \t \0 \xHH \$ escapes, or bare
 * words; ${name} expands a variable in either (${now}, ${now+N}, ${now-N},
 * ${now_ms}, ${now_ms+N} are the client's clock in s / ms).
 *
 * Expected lines are the canonical text of harness.h (lt_reply_format), with
 * ${name} expanded to the variable's escaped text and leading/trailing blanks
 * ignored (a reply ending in a blank needs a regex ending in "[ ]"), or one of:
 *   ~re:REGEX    a POSIX extended regex matched against the whole reply text
 *   ~any         any reply (still read)
 *   (noreply)    the server must not reply (CLIENT REPLY OFF/SKIP): not read
 *   (closed)     the server closed the connection instead of replying
 *
 * Directives:
 *   @resp3 / @resp2        HELLO 3 / HELLO 2 on this connection, kept on reconnect
 *   @conn NAME             switch to connection NAME (opened on first use)
 *   @reconnect             close this connection and open it again
 *   @restart               SIGTERM (exit status must be 0), start again on the
 *                          same directory and port; every connection reopens
 *   @debug-reload          DEBUG RELOAD, expecting +OK
 *   @sleep MS
 *   @within MS             retry the next command until its reply matches (or MS pass)
 *   @sort                  sort the elements of the next reply before comparing
 *   @capture NAME          store the next reply's value (integer, string) in NAME
 *   @set NAME VALUE        define a variable (VALUE is one argument)
 *   @gen NAME SIZE PATTERN NAME = PATTERN repeated to SIZE bytes
 *   @loop NAME FROM TO ... @endloop   repeat the lines with NAME = FROM..TO
 *   @scan-all SCAN [args]  iterate SCAN (or HSCAN/SSCAN/ZSCAN key) to the end;
 *                          the next line is the expected sorted, de-duplicated
 *                          set of elements (field/value pairs kept together)
 *   @raw "bytes"           send bytes as they are; the next line is the first
 *                          reply (@raw "" just reads the next one)
 *   @expect-closed         the server must close this connection (within 2 s)
 *   @server-args ARGS...   extra server arguments (before the first command)
 *   @longtail-only ... @end    skipped with --reference
 *   @reference-only ... @end   run only with --reference
 */
#include "harness.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS        4096
#define MAX_CONNS       16
#define MAX_VARS        256
#define MAX_LOOPS       8
#define READ_TIMEOUT_MS 30000

typedef struct var {
    char *name;
    char *value;
    size_t len;
} var;

typedef struct named_conn {
    char name[64];
    lt_conn *c;
    int proto; /* 2 or 3, re-sent on reconnect */
} named_conn;

typedef struct loop_frame {
    char *name;
    long long cur, to;
    int start; /* index of the @loop line */
} loop_frame;

typedef enum { MODE_HOT, MODE_COLD, MODE_REFERENCE } run_mode;

typedef struct script {
    const char *path;
    char **lines;
    int nlines;
    char **recorded; /* per line: replacement expected text, or NULL */
    int line;        /* 1-based line being run, for messages */
    int aborted;     /* the server died or hangs: stop this script */
    int timeouts;    /* replies that never came */
} script;

static run_mode mode = MODE_HOT;
static const char *server_bin;
static int record;
static FILE *out; /* diagnostics: stdout, or stderr when recording */

static lt_server server;
static int server_started;
static char *server_extra[LT_MAX_ARGS];
static int server_nextra;

static named_conn conns[MAX_CONNS];
static int nconns;
static named_conn *cur_conn;

static var vars[MAX_VARS];
static int nvars;

/* Modifiers that apply to the next command only. */
static int next_sort;
static char *next_capture;
static int next_within_ms;

/* ---- small helpers ------------------------------------------------------ */

static void fail(script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(script *s, const char *fmt, ...)
{
    lt_count_check(0, 0);
    fprintf(out, "FAIL %s:%d: ", s->path, s->line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fprintf(out, "\n");
    fflush(out);
}

static char *dupn(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        fprintf(stderr, "lt-script: out of memory\n");
        exit(2);
    }
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static var *var_find(const char *name, size_t n)
{
    for (int i = 0; i < nvars; i++)
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
            return &vars[i];
    return NULL;
}

static int var_set(const char *name, const char *value, size_t len)
{
    var *v = var_find(name, strlen(name));
    if (!v) {
        if (nvars == MAX_VARS)
            return -1;
        v = &vars[nvars++];
        v->name = dupn(name, strlen(name));
    } else {
        free(v->value);
    }
    v->value = dupn(value, len);
    v->len = len;
    return 0;
}

static void vars_clear(void)
{
    for (int i = 0; i < nvars; i++) {
        free(vars[i].name);
        free(vars[i].value);
    }
    nvars = 0;
}

/*
 * Expand "${...}" at p (pointing at '$'): appends the value to "b" (escaped
 * when "escaped") and returns the number of input bytes consumed, or -1.
 */
static int expand_var(const char *p, lt_buf *b, int escaped, char *err, size_t errlen)
{
    const char *end = strchr(p, '}');
    if (!end) {
        snprintf(err, errlen, "unterminated ${");
        return -1;
    }
    const char *name = p + 2;
    size_t n = (size_t)(end - name);
    char tmp[64];
    const char *val = NULL;
    size_t vlen = 0;
    var *v = var_find(name, n);
    if (v) {
        val = v->value;
        vlen = v->len;
    } else if (n >= 3 && strncmp(name, "now", 3) == 0) {
        /* ${now}, ${now+N}, ${now-N}, ${now_ms}, ${now_ms+N} */
        const char *q = name + 3;
        long long base = lt_now_ms() / 1000;
        if ((size_t)(end - q) >= 3 && strncmp(q, "_ms", 3) == 0) {
            base = lt_now_ms();
            q += 3;
        }
        long long delta = 0;
        if (q < end) {
            char *e;
            delta = strtoll(q, &e, 10);
            if (e != end || (*q != '+' && *q != '-')) {
                snprintf(err, errlen, "bad time variable ${%.*s}", (int)n, name);
                return -1;
            }
        }
        snprintf(tmp, sizeof(tmp), "%lld", base + delta);
        val = tmp;
        vlen = strlen(tmp);
    } else {
        snprintf(err, errlen, "undefined variable ${%.*s}", (int)n, name);
        return -1;
    }
    if (escaped)
        lt_escape(b, val, vlen);
    else
        lt_buf_append(b, val, vlen);
    return (int)(end - p) + 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

typedef struct args {
    int argc;
    char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
} args;

static void args_free(args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
}

/* Split a command line into arguments. 0, or -1 with "err" set. */
static int tokenize(const char *line, args *a, char *err, size_t errlen)
{
    a->argc = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '\r' || *p == '\n')
            return 0;
        if (a->argc == MAX_ARGS) {
            snprintf(err, errlen, "too many arguments");
            return -1;
        }
        lt_buf b = {0};
        int quoted = *p == '"';
        if (quoted)
            p++;
        for (;;) {
            if (!*p) {
                if (quoted) {
                    snprintf(err, errlen, "unterminated quoted argument");
                    free(b.p);
                    args_free(a);
                    return -1;
                }
                break;
            }
            if (!quoted && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
                break;
            if (quoted && *p == '"') {
                p++;
                if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                    snprintf(err, errlen, "closing quote must be followed by a blank");
                    free(b.p);
                    args_free(a);
                    return -1;
                }
                break;
            }
            if (p[0] == '$' && p[1] == '{') {
                int used = expand_var(p, &b, 0, err, errlen);
                if (used < 0) {
                    free(b.p);
                    args_free(a);
                    return -1;
                }
                p += used;
                continue;
            }
            if (quoted && *p == '\\') {
                char ch;
                p++;
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
                case '0':
                    ch = '\0';
                    break;
                case '"':
                    ch = '"';
                    break;
                case '\\':
                    ch = '\\';
                    break;
                case '$':
                    ch = '$';
                    break;
                case 'x': {
                    int h = hexval(p[1]), l = h >= 0 ? hexval(p[2]) : -1;
                    if (h < 0 || l < 0) {
                        snprintf(err, errlen, "bad \\x escape");
                        free(b.p);
                        args_free(a);
                        return -1;
                    }
                    ch = (char)(h * 16 + l);
                    p += 2;
                    break;
                }
                default:
                    snprintf(err, errlen, "unknown escape \\%c", *p ? *p : '0');
                    free(b.p);
                    args_free(a);
                    return -1;
                }
                lt_buf_append(&b, &ch, 1);
                p++;
                continue;
            }
            lt_buf_append(&b, p, 1);
            p++;
        }
        a->lens[a->argc] = b.len;
        a->argv[a->argc] = lt_buf_take(&b);
        a->argc++;
    }
}

/* The expected line with ${...} expanded (escaped), leading and trailing blanks cut. */
static char *expand_expected(const char *line, char *err, size_t errlen)
{
    while (*line == ' ' || *line == '\t')
        line++;
    lt_buf b = {0};
    for (const char *p = line; *p; p++) {
        if (p[0] == '$' && p[1] == '{') {
            int used = expand_var(p, &b, 1, err, errlen);
            if (used < 0) {
                free(b.p);
                return NULL;
            }
            p += used - 1;
            continue;
        }
        lt_buf_append(&b, p, 1);
    }
    char *s = lt_buf_take(&b);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* 1 if "got" satisfies "expected" (see the header comment). */
static int reply_matches(const char *expected, const char *got, char *err, size_t errlen)
{
    if (strcmp(expected, "~any") == 0)
        return 1;
    if (strncmp(expected, "~re:", 4) == 0) {
        lt_buf b = {0};
        lt_buf_printf(&b, "^(%s)$", expected + 4);
        regex_t re;
        int rc = regcomp(&re, b.p, REG_EXTENDED | REG_NOSUB);
        free(b.p);
        if (rc != 0) {
            snprintf(err, errlen, "bad regex");
            return 0;
        }
        int ok = regexec(&re, got, 0, NULL, 0) == 0;
        regfree(&re);
        return ok;
    }
    return strcmp(expected, got) == 0;
}

/* ---- server and connections --------------------------------------------- */

static int server_ensure(script *s)
{
    if (server_started)
        return 0;
    const char *extra[LT_MAX_ARGS];
    int n = 0;
    if (mode == MODE_COLD) {
        extra[n++] = "--maxmemory";
        extra[n++] = "1";
    }
    /* DEBUG (RELOAD, DIGEST...) is refused by default, by Redis 7 and longtail alike. */
    extra[n++] = "--enable-debug-command";
    extra[n++] = "yes";
    for (int i = 0; i < server_nextra && n < LT_MAX_ARGS; i++)
        extra[n++] = server_extra[i];
    if (lt_server_start(&server, server_bin, extra, n) != 0) {
        fail(s, "could not start %s", server_bin);
        s->aborted = 1;
        lt_server_cleanup(&server, 1);
        return -1;
    }
    server_started = 1;
    return 0;
}

static void conn_drop(named_conn *nc)
{
    lt_conn_close(nc->c);
    nc->c = NULL;
}

static int send_hello(script *s, named_conn *nc)
{
    const char *proto = nc->proto == 3 ? "3" : "2";
    lt_reply *r = lt_conn_call(nc->c, "HELLO", proto, NULL);
    int ok = r && (r->type == '%' || (r->type == '*' && !r->null));
    if (!ok) {
        char *text = r ? lt_reply_format(r) : strdup("(no reply)");
        fail(s, "HELLO %s failed: %s", proto, text);
        free(text);
    }
    lt_reply_free(r);
    return ok ? 0 : -1;
}

/* The current connection, opened (and HELLO'd) when needed. */
static lt_conn *conn_get(script *s)
{
    if (server_ensure(s) != 0)
        return NULL;
    if (!cur_conn) {
        cur_conn = &conns[nconns++];
        snprintf(cur_conn->name, sizeof(cur_conn->name), "main");
        cur_conn->proto = 2;
    }
    if (!cur_conn->c) {
        cur_conn->c = lt_conn_open(server.port, 5000);
        if (!cur_conn->c) {
            fail(s, "cannot connect to port %d", server.port);
            if (!lt_server_alive(&server)) {
                lt_server_print_logs(&server, 30);
                s->aborted = 1;
            }
            return NULL;
        }
        cur_conn->c->timeout_ms = READ_TIMEOUT_MS;
        if (cur_conn->proto == 3 && send_hello(s, cur_conn) != 0)
            return NULL;
    }
    return cur_conn->c;
}

static void conns_drop_all(void)
{
    for (int i = 0; i < nconns; i++)
        conn_drop(&conns[i]);
}

static void conns_reset(void)
{
    conns_drop_all();
    nconns = 0;
    cur_conn = NULL;
}

/* Read one reply as canonical text; a failed read yields "(closed)" etc. */
static char *read_reply_text(script *s, lt_conn *c, lt_reply **keep)
{
    lt_reply *r = NULL;
    int rc = lt_conn_read(c, &r);
    if (keep)
        *keep = NULL;
    if (rc != LT_OK) {
        conn_drop(cur_conn);
        if (!lt_server_alive(&server)) {
            fail(s, "the server died");
            lt_server_print_logs(&server, 40);
            s->aborted = 1;
        }
        if (rc == LT_ERR_TIMEOUT && ++s->timeouts == 2 && !s->aborted) {
            fail(s, "a second reply timed out: giving up on this script");
            lt_server_print_logs(&server, 20);
            s->aborted = 1;
        }
        switch (rc) {
        case LT_ERR_EOF:
            return strdup("(closed)");
        case LT_ERR_TIMEOUT:
            return strdup("(timeout)");
        case LT_ERR_PROTO:
            return strdup("(protocol-error)");
        default:
            return strdup("(io-error)");
        }
    }
    if (next_sort)
        lt_reply_sort(r);
    char *text = lt_reply_format(r);
    if (keep)
        *keep = r;
    else
        lt_reply_free(r);
    return text;
}

/* ---- running ------------------------------------------------------------ */

static void print_command(const args *a)
{
    lt_buf b = {0};
    for (int i = 0; i < a->argc; i++) {
        if (i)
            lt_buf_puts(&b, " ");
        size_t n = a->lens[i] > 200 ? 200 : a->lens[i];
        int plain = n > 0 && n == a->lens[i];
        for (size_t j = 0; plain && j < n; j++) {
            unsigned char ch = (unsigned char)a->argv[i][j];
            plain = ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\';
        }
        if (plain) {
            lt_buf_append(&b, a->argv[i], n);
        } else {
            lt_buf_puts(&b, "\"");
            lt_escape(&b, a->argv[i], n);
            if (n < a->lens[i])
                lt_buf_printf(&b, "...(%zu bytes)", a->lens[i]);
            lt_buf_puts(&b, "\"");
        }
    }
    fprintf(out, "    command:  %s\n", b.p ? b.p : "");
    free(b.p);
}

static void print_text(const char *label, const char *text)
{
    size_t n = strlen(text);
    if (n > 2000)
        fprintf(out, "    %s%.2000s...(%zu chars)\n", label, text, n);
    else
        fprintf(out, "    %s%s\n", label, text);
}

/* Compare, count, and report; "what" prints the command on failure. */
static int judge(script *s, int exp_line, const char *expected, const char *got, const args *cmd)
{
    char err[256] = "";
    int ok = reply_matches(expected, got, err, sizeof(err));
    lt_count_check(1, ok);
    if (ok)
        return 1;
    fprintf(out, "FAIL %s:%d:%s%s\n", s->path, s->line, err[0] ? " " : "", err);
    if (cmd)
        print_command(cmd);
    print_text("expected: ", expected);
    print_text("got:      ", got);
    fflush(out);
    if (record && exp_line >= 0) {
        free(s->recorded[exp_line]);
        s->recorded[exp_line] = strdup(got);
    }
    return 0;
}

static void capture(script *s, const lt_reply *r, const char *text)
{
    if (r && r->type == ':') {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", r->integer);
        var_set(next_capture, tmp, strlen(tmp));
    } else if (r && r->str) {
        var_set(next_capture, r->str, r->len);
    } else {
        var_set(next_capture, text, strlen(text));
    }
}

static void run_command(script *s, const args *a, const char *expected, int exp_line)
{
    long long deadline = lt_now_ms() + next_within_ms;
    for (;;) {
        lt_conn *c = conn_get(s);
        if (!c) {
            lt_count_check(1, 0); /* the reply to compare never came */
            return;
        }
        int rc = lt_conn_send_argv(c, a->argc, (const char **)a->argv, a->lens);
        char *got;
        lt_reply *r = NULL;
        if (strcmp(expected, "(noreply)") == 0) {
            got = strdup(rc == LT_OK ? "(noreply)" : "(send-failed)");
        } else if (rc != LT_OK) {
            conn_drop(cur_conn);
            got = strdup("(closed)");
        } else {
            got = read_reply_text(s, c, &r);
        }
        char err[64];
        if (next_within_ms && lt_now_ms() < deadline && !s->aborted &&
            !reply_matches(expected, got, err, sizeof(err))) {
            free(got);
            lt_reply_free(r);
            lt_sleep_ms(20);
            continue;
        }
        if (lt_verbose) {
            print_command(a);
            print_text("got:      ", got);
        }
        judge(s, exp_line, expected, got, a);
        if (next_capture)
            capture(s, r, got);
        free(got);
        lt_reply_free(r);
        return;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* @scan-all: iterate a SCAN-family command to cursor 0 and compare the sorted set of elements. */
static void run_scan_all(script *s, const args *a, const char *expected, int exp_line)
{
    if (a->argc < 1) {
        fail(s, "@scan-all needs a command");
        return;
    }
    int is_scan = strcasecmp(a->argv[0], "SCAN") == 0;
    int pairs = strcasecmp(a->argv[0], "HSCAN") == 0 || strcasecmp(a->argv[0], "ZSCAN") == 0;
    int cpos = is_scan ? 1 : 2;
    if (a->argc < cpos) {
        fail(s, "@scan-all %s needs a key", a->argv[0]);
        return;
    }
    const char *argv[MAX_ARGS + 1];
    size_t lens[MAX_ARGS + 1];
    int argc = 0;
    char cursor[64] = "0";
    for (int i = 0; i < a->argc; i++) {
        if (i == cpos)
            argc++;
        argv[argc] = a->argv[i];
        lens[argc++] = a->lens[i];
    }
    if (cpos == a->argc)
        argc++;
    char **items = NULL;
    size_t nitems = 0, cap = 0;
    char *got = NULL;
    for (int iter = 0; iter < 1000000; iter++) {
        argv[cpos] = cursor;
        lens[cpos] = strlen(cursor);
        lt_conn *c = conn_get(s);
        if (!c) {
            lt_count_check(1, 0);
            goto done;
        }
        lt_reply *r = NULL;
        if (lt_conn_send_argv(c, argc, argv, lens) != LT_OK) {
            conn_drop(cur_conn);
            got = strdup("(closed)");
            break;
        }
        char *text = read_reply_text(s, c, &r);
        if (!r || r->type != '*' || r->null || r->n != 2 || r->elem[0]->type != '$' ||
            r->elem[0]->null || r->elem[0]->len >= sizeof(cursor) ||
            (r->elem[1]->type != '*' && r->elem[1]->type != '~') ||
            (pairs && r->elem[1]->n % 2 != 0)) {
            got = text;
            lt_reply_free(r);
            break;
        }
        free(text);
        lt_reply *list = r->elem[1];
        for (size_t i = 0; i < list->n; i += pairs ? 2 : 1) {
            lt_buf b = {0};
            char *t = lt_reply_format(list->elem[i]);
            lt_buf_puts(&b, t);
            free(t);
            if (pairs) {
                t = lt_reply_format(list->elem[i + 1]);
                lt_buf_puts(&b, ",");
                lt_buf_puts(&b, t);
                free(t);
            }
            if (nitems == cap) {
                cap = cap ? cap * 2 : 64;
                items = realloc(items, cap * sizeof(char *));
            }
            items[nitems++] = lt_buf_take(&b);
        }
        memcpy(cursor, r->elem[0]->str, r->elem[0]->len + 1);
        lt_reply_free(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    if (!got) {
        if (nitems > 1)
            qsort(items, nitems, sizeof(char *), cmp_str);
        lt_buf b = {0};
        size_t uniq = 0;
        lt_buf body = {0};
        for (size_t i = 0; i < nitems; i++) {
            if (i > 0 && strcmp(items[i], items[i - 1]) == 0)
                continue;
            if (uniq++)
                lt_buf_puts(&body, ",");
            lt_buf_puts(&body, items[i]);
        }
        lt_buf_printf(&b, "*%zu[%s]", pairs ? uniq * 2 : uniq, body.p ? body.p : "");
        free(body.p);
        got = lt_buf_take(&b);
    }
    judge(s, exp_line, expected, got, a);
done:
    for (size_t i = 0; i < nitems; i++)
        free(items[i]);
    free(items);
    free(got);
}

static void run_raw(script *s, const args *a, const char *expected, int exp_line)
{
    if (a->argc != 1) {
        fail(s, "@raw takes one (quoted) argument");
        return;
    }
    lt_conn *c = conn_get(s);
    if (!c) {
        lt_count_check(1, 0);
        return;
    }
    char *got;
    if (lt_conn_send_raw(c, a->argv[0], a->lens[0]) != LT_OK) {
        conn_drop(cur_conn);
        got = strdup("(closed)");
    } else if (strcmp(expected, "(noreply)") == 0) {
        got = strdup("(noreply)");
    } else {
        got = read_reply_text(s, c, NULL);
    }
    judge(s, exp_line, expected, got, a);
    free(got);
}

static void modifiers_reset(void)
{
    next_sort = 0;
    free(next_capture);
    next_capture = NULL;
    next_within_ms = 0;
}

static char *trim_left(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The expected line after line "pc", expanded; NULL (reported) if missing or bad. */
static char *expected_at(script *s, int pc)
{
    if (pc + 1 >= s->nlines) {
        fail(s, "missing the expected reply line");
        return NULL;
    }
    char err[256];
    char *e = expand_expected(s->lines[pc + 1], err, sizeof(err));
    if (!e)
        fail(s, "expected line: %s", err);
    else if (!*e) {
        fail(s, "empty expected reply line");
        free(e);
        e = NULL;
    }
    return e;
}

static int word_is(const char *p, const char *w)
{
    size_t n = strlen(w);
    return strncmp(p, w, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == '\t' || p[n] == '\r');
}

/* Run the directive on line "pc"; returns the next pc. */
static int run_directive(script *s, int pc, int *section, loop_frame *loops, int *nloops)
{
    char *line = trim_left(s->lines[pc]);
    char *rest = line;
    while (*rest && *rest != ' ' && *rest != '\t')
        rest++;
    char err[256];
    args a;
    if (tokenize(rest, &a, err, sizeof(err)) != 0) {
        fail(s, "%s", err);
        return pc + 1;
    }
    int next = pc + 1;
    if (word_is(line, "@resp3") || word_is(line, "@resp2")) {
        if (conn_get(s)) {
            cur_conn->proto = line[5] == '3' ? 3 : 2;
            send_hello(s, cur_conn);
        }
    } else if (word_is(line, "@conn")) {
        if (a.argc != 1 || a.lens[0] >= sizeof(conns[0].name)) {
            fail(s, "@conn NAME");
        } else {
            named_conn *found = NULL;
            for (int i = 0; i < nconns; i++)
                if (strcmp(conns[i].name, a.argv[0]) == 0)
                    found = &conns[i];
            if (!found && nconns < MAX_CONNS) {
                found = &conns[nconns++];
                snprintf(found->name, sizeof(found->name), "%s", a.argv[0]);
                found->proto = 2;
            }
            if (found)
                cur_conn = found;
            else
                fail(s, "too many connections");
        }
    } else if (word_is(line, "@reconnect")) {
        if (cur_conn)
            conn_drop(cur_conn);
        conn_get(s);
    } else if (word_is(line, "@restart")) {
        if (server_ensure(s) == 0) {
            conns_drop_all();
            int st = lt_server_stop(&server);
            if (st != 0)
                fail(s, "the server exited with status %d on SIGTERM", st);
            if (lt_server_restart(&server) != 0) {
                fail(s, "the server did not start again");
                s->aborted = 1;
            }
        }
    } else if (word_is(line, "@debug-reload")) {
        args cmd = {0};
        cmd.argc = 2;
        cmd.argv[0] = "DEBUG";
        cmd.argv[1] = "RELOAD";
        cmd.lens[0] = 5;
        cmd.lens[1] = 6;
        run_command(s, &cmd, "+OK", -1);
    } else if (word_is(line, "@sleep")) {
        if (a.argc != 1)
            fail(s, "@sleep MS");
        else
            lt_sleep_ms(atoi(a.argv[0]));
    } else if (word_is(line, "@within")) {
        if (a.argc != 1)
            fail(s, "@within MS");
        else
            next_within_ms = atoi(a.argv[0]);
    } else if (word_is(line, "@sort")) {
        next_sort = 1;
    } else if (word_is(line, "@capture")) {
        if (a.argc != 1) {
            fail(s, "@capture NAME");
        } else {
            free(next_capture);
            next_capture = strdup(a.argv[0]);
        }
    } else if (word_is(line, "@set")) {
        if (a.argc != 2 || var_set(a.argv[0], a.argv[1], a.lens[1]) != 0)
            fail(s, "@set NAME VALUE");
    } else if (word_is(line, "@gen")) {
        long long size = a.argc == 3 ? atoll(a.argv[1]) : -1;
        if (size < 0 || a.lens[2] == 0 || size > (1LL << 30)) {
            fail(s, "@gen NAME SIZE PATTERN");
        } else {
            char *v = malloc((size_t)size + 1);
            for (long long i = 0; i < size; i++)
                v[i] = a.argv[2][(size_t)i % a.lens[2]];
            var_set(a.argv[0], v, (size_t)size);
            free(v);
        }
    } else if (word_is(line, "@loop")) {
        if (a.argc != 3 || *nloops == MAX_LOOPS) {
            fail(s, "@loop NAME FROM TO (at most %d deep)", MAX_LOOPS);
        } else {
            loop_frame *f = &loops[(*nloops)++];
            f->name = strdup(a.argv[0]);
            f->cur = atoll(a.argv[1]);
            f->to = atoll(a.argv[2]);
            f->start = pc;
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%lld", f->cur);
            var_set(f->name, tmp, strlen(tmp));
            if (f->cur > f->to)
                fail(s, "@loop with FROM > TO");
        }
    } else if (word_is(line, "@endloop")) {
        if (*nloops == 0) {
            fail(s, "@endloop without @loop");
        } else {
            loop_frame *f = &loops[*nloops - 1];
            if (f->cur < f->to) {
                f->cur++;
                char tmp[32];
                snprintf(tmp, sizeof(tmp), "%lld", f->cur);
                var_set(f->name, tmp, strlen(tmp));
                next = f->start + 1;
            } else {
                free(f->name);
                (*nloops)--;
            }
        }
    } else if (word_is(line, "@scan-all") || word_is(line, "@raw")) {
        char *e = expected_at(s, pc);
        if (e) {
            if (line[1] == 's')
                run_scan_all(s, &a, e, pc + 1);
            else
                run_raw(s, &a, e, pc + 1);
            free(e);
        }
        modifiers_reset();
        next = pc + 2;
    } else if (word_is(line, "@expect-closed")) {
        if (cur_conn && cur_conn->c) {
            if (lt_conn_wait_closed(cur_conn->c, 2000))
                lt_count_check(0, 1);
            else
                fail(s, "the server did not close the connection");
            conn_drop(cur_conn);
        } else {
            lt_count_check(0, 1);
        }
    } else if (word_is(line, "@server-args")) {
        if (server_started) {
            fail(s, "@server-args after the server started");
        } else {
            for (int i = 0; i < a.argc && server_nextra < LT_MAX_ARGS; i++)
                server_extra[server_nextra++] = strdup(a.argv[i]);
        }
    } else if (word_is(line, "@longtail-only") || word_is(line, "@reference-only")) {
        if (*section)
            fail(s, "sections do not nest");
        int reference_only = line[1] == 'r';
        *section = (reference_only == (mode == MODE_REFERENCE)) ? 1 : 2; /* 2: skip */
    } else if (word_is(line, "@end")) {
        if (!*section)
            fail(s, "@end without a section");
        *section = 0;
    } else {
        fail(s, "unknown directive %s", line);
    }
    args_free(&a);
    return next;
}

static void run_script(script *s)
{
    int section = 0; /* 0 none, 1 running a section, 2 skipping one */
    loop_frame loops[MAX_LOOPS];
    int nloops = 0;
    int pc = 0;
    while (pc < s->nlines && !s->aborted) {
        s->line = pc + 1;
        char *line = trim_left(s->lines[pc]);
        if (section == 2) {
            if (word_is(line, "@end"))
                section = 0;
            pc++;
            continue;
        }
        if (!*line || *line == '#' || *line == '\r') {
            pc++;
            continue;
        }
        if (*line == '@') {
            pc = run_directive(s, pc, &section, loops, &nloops);
            continue;
        }
        char err[256];
        args a;
        char *e = expected_at(s, pc);
        if (e && tokenize(line, &a, err, sizeof(err)) != 0) {
            fail(s, "%s", err);
        } else if (e) {
            if (a.argc == 0)
                fail(s, "empty command");
            else
                run_command(s, &a, e, pc + 1);
            args_free(&a);
        }
        free(e);
        modifiers_reset();
        pc += 2;
    }
    if (!s->aborted && section)
        fail(s, "missing @end");
    if (!s->aborted && nloops)
        fail(s, "missing @endloop");
    while (nloops > 0)
        free(loops[--nloops].name);
}

static int load_script(script *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->path = path;
    char *text = lt_read_file(path, NULL);
    if (!text) {
        fprintf(out, "FAIL %s: %s\n", path, strerror(errno));
        return -1;
    }
    int cap = 0;
    for (char *p = text; p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (!nl && !*p)
            break;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        if (s->nlines == cap) {
            cap = cap ? cap * 2 : 256;
            s->lines = realloc(s->lines, (size_t)cap * sizeof(char *));
        }
        s->lines[s->nlines++] = strdup(p);
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    s->recorded = calloc((size_t)(s->nlines ? s->nlines : 1), sizeof(char *));
    return 0;
}

static void free_script(script *s)
{
    for (int i = 0; i < s->nlines; i++) {
        free(s->lines[i]);
        free(s->recorded[i]);
    }
    free(s->lines);
    free(s->recorded);
}

static void usage(void)
{
    fprintf(stderr, "usage: lt-script [--server PATH] [--mode hot|cold] [--reference] "
                    "[--record] [-v] script.txt...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *given = NULL;
    int first = argc;
    out = stdout;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "hot") == 0)
                mode = MODE_HOT;
            else if (strcmp(argv[i], "cold") == 0)
                mode = MODE_COLD;
            else
                usage();
        } else if (strcmp(argv[i], "--reference") == 0) {
            mode = MODE_REFERENCE;
        } else if (strcmp(argv[i], "--record") == 0) {
            record = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            lt_verbose = 1;
        } else if (argv[i][0] == '-') {
            usage();
        } else {
            first = i;
            break;
        }
    }
    if (first == argc)
        usage();
    FILE *record_out = NULL;
    if (record) {
        if (argc - first != 1) {
            fprintf(stderr, "lt-script: --record takes exactly one script\n");
            return 2;
        }
        /* The script goes to the real stdout; every message (ours and the harness's) to stderr. */
        record_out = fdopen(dup(1), "w");
        dup2(2, 1);
    }
    server_bin = mode == MODE_REFERENCE ? (given ? given : "redis-server")
                                        : lt_server_path(given, "../../longtail-server");
    const char *mode_name = mode == MODE_HOT ? "hot" : mode == MODE_COLD ? "cold" : "reference";
    char name[64];
    snprintf(name, sizeof(name), "lt-script[%s]", mode_name);
    /* A test is one script in this mode: it passes when every reply and
     * every other check of the script passed. */
    lt_plan(argc - first);
    if (strchr(server_bin, '/') && access(server_bin, X_OK) != 0) {
        fprintf(out, "FAIL the server binary %s: %s\n", server_bin, strerror(errno));
        return lt_report(name);
    }
    for (int i = first; i < argc; i++) {
        const char *base = strrchr(argv[i], '/');
        char test[PATH_MAX];
        snprintf(test, sizeof(test), "%s [%s]", base ? base + 1 : argv[i], mode_name);
        lt_test_begin(test);
        script s;
        if (load_script(&s, argv[i]) != 0) {
            lt_count_check(0, 0);
            continue;
        }
        run_script(&s);
        if (server_started) {
            conns_reset();
            int st = lt_server_stop(&server);
            if (st == 0) {
                lt_count_check(0, 1);
            } else if (!s.aborted) {
                s.line = s.nlines;
                fail(&s, "the server exited with status %d on SIGTERM", st);
                lt_server_print_logs(&server, 20);
            }
            lt_server_cleanup(&server, lt_test_checks_failed() > 0);
            server_started = 0;
        }
        conns_reset();
        vars_clear();
        modifiers_reset();
        for (int j = 0; j < server_nextra; j++)
            free(server_extra[j]);
        server_nextra = 0;
        /* Against Redis, a script of longtail's own commands only checks nothing. */
        if (mode == MODE_REFERENCE)
            lt_test_skip("every command is in a @longtail-only section");
        else
            lt_test_end();
        if (record) {
            for (int j = 0; j < s.nlines; j++)
                fprintf(record_out, "%s\n", s.recorded[j] ? s.recorded[j] : s.lines[j]);
        }
        free_script(&s);
    }
    if (record_out)
        fclose(record_out);
    return lt_report(name);
}
