/*
 * lt-limits: client limits, configuration and start-up, checked against the
 * replies Redis 7.0.15 gives.
 *
 *   lt-limits [--server PATH] [--reference] [-v]
 *
 * - start-up: an unknown option (config file or command line), a bad value,
 *   unbalanced quotes or a missing include -> exit status 1 and Redis's
 *   "*** FATAL CONFIG FILE ERROR ***" block naming the line;
 * - CONFIG GET (globs, several patterns, RESP3 map), CONFIG SET of several
 *   options (all-or-nothing: a bad value, an unknown or immutable option or a
 *   failed apply rolls the others back), the exact error texts;
 * - proto-max-bulk-len and client-query-buffer-limit;
 * - client-output-buffer-limit: a client that pipelines GETs of a big value
 *   without reading is dropped once over the hard limit, or once over the
 *   soft limit for longer than its seconds; the server and other clients go
 *   on;
 * - (longtail only) client-reply-max-size: one reply past it (SRANDMEMBER
 *   with a count near -LONG_MAX, a big GET, one command of an EXEC) is an
 *   error in its place; a client with more unsent replies than it after a
 *   command is closed; both counted in INFO stats;
 * - timeout: an idle client is closed after 1-2 s, an active one is not;
 * - requirepass: NOAUTH before AUTH, AUTH and HELLO AUTH, the smaller
 *   protocol limits of unauthenticated clients;
 * - SIGINT and SHUTDOWN NOSAVE: exit status 0, the data is there after a
 *   restart; (longtail only) a second server on the same dir refuses to start
 *   and says why (the lock);
 * - maxclients 5: the sixth connection gets the error and is closed, a slot
 *   freed is taken again;
 * - a server started from a config file with `include` and quoted
 *   arguments: CONFIG REWRITE keeps comments and the include line, writes
 *   the new values, and a restart from the rewritten file gets them back.
 *
 * Each start-up error and each item above is a test (harness.h). With
 * --reference the same checks run against redis-server (with AOF on so data
 * survives SHUTDOWN NOSAVE); the lock check is longtail's own.
 * Servers started from a config file go through a tiny sh wrapper that puts
 * the file first on the command line, so the harness can start, stop and
 * restart them like any other.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "lt-limits"

static lt_opts opts;
static char work[PATH_MAX - 256]; /* our own temporary directory: config files, outputs */

/* ---- small helpers ------------------------------------------------------ */

static lt_conn *open_conn(int port)
{
    lt_conn *c = lt_conn_open(port, 5000);
    lt_check(c != NULL, "cannot connect to port %d", port);
    if (c)
        c->timeout_ms = 10000;
    return c;
}

/* Call and compare the canonical text with "expected". */
static void expect_at(int line, lt_conn *c, const char *expected, const char *arg0, ...)
{
    const char *argv[LT_MAX_ARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < LT_MAX_ARGS; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    lt_buf what = {0};
    for (int i = 0; i < argc; i++)
        lt_buf_printf(&what, "%s%s", i ? " " : "", argv[i]);
    lt_reply *r = c ? lt_conn_call_argv(c, argc, argv, NULL) : NULL;
    lt_check_reply_at(__FILE__, line, r, expected, what.p);
    lt_reply_free(r);
    free(what.p);
}
#define expect(c, expected, ...) expect_at(__LINE__, c, expected, __VA_ARGS__)

/*
 * A CONFIG GET reply as "{"k":"v",...}" with the entries sorted by name, so
 * RESP2 arrays and RESP3 maps compare alike whatever order the server uses
 * (Redis 7.0 answers in the order of its internal dict). The text starts with
 * the reply's type byte.
 */
static char *config_pairs_text(const lt_reply *r)
{
    if (!r)
        return strdup("(no reply)");
    if ((r->type != '%' && r->type != '*') || r->null || (r->type == '*' && r->n % 2 != 0))
        return lt_reply_format(r);
    size_t npairs = r->type == '%' ? r->n : r->n / 2;
    char **entries = calloc(npairs ? npairs : 1, sizeof(char *));
    for (size_t i = 0; i < npairs; i++) {
        char *k = lt_reply_format(r->elem[2 * i]);
        char *v = lt_reply_format(r->elem[2 * i + 1]);
        lt_buf b = {0};
        lt_buf_printf(&b, "%s:%s", k, v);
        entries[i] = lt_buf_take(&b);
        free(k);
        free(v);
    }
    for (size_t i = 1; i < npairs; i++) {
        for (size_t j = i; j > 0 && strcmp(entries[j - 1], entries[j]) > 0; j--) {
            char *t = entries[j];
            entries[j] = entries[j - 1];
            entries[j - 1] = t;
        }
    }
    lt_buf out = {0};
    lt_buf_printf(&out, "%c{", r->type);
    for (size_t i = 0; i < npairs; i++) {
        lt_buf_printf(&out, "%s%s", i ? "," : "", entries[i]);
        free(entries[i]);
    }
    free(entries);
    lt_buf_puts(&out, "}");
    return lt_buf_take(&out);
}

static void expect_config_get_at(int line, lt_conn *c, const char *expected, const char *p1,
                                 const char *p2)
{
    lt_reply *r = c ? lt_conn_call(c, "CONFIG", "GET", p1, p2, NULL) : NULL;
    char *got = config_pairs_text(r);
    lt_check_replied_at(__FILE__, line, strcmp(got, expected) == 0,
                        "CONFIG GET %s%s%s\n    expected: %s\n    got:      %s", p1, p2 ? " " : "",
                        p2 ? p2 : "", expected, got);
    free(got);
    lt_reply_free(r);
}
#define expect_config_get(c, expected, p1, p2) expect_config_get_at(__LINE__, c, expected, p1, p2)

/* The value of one option, or a malloc'd "?" when it cannot be read. */
static char *config_value(lt_conn *c, const char *name)
{
    lt_reply *r = c ? lt_conn_call(c, "CONFIG", "GET", name, NULL) : NULL;
    char *v = NULL;
    size_t need = r && r->type == '%' ? 1 : 2; /* a map's n counts entries */
    if (r && (r->type == '*' || r->type == '%') && r->n >= need && r->elem[1]->str)
        v = strdup(r->elem[1]->str);
    lt_reply_free(r);
    return v ? v : strdup("?");
}

static void expect_value_at(int line, lt_conn *c, const char *name, const char *want,
                            const char *when)
{
    char *v = config_value(c, name);
    lt_check_replied_at(__FILE__, line, strcmp(v, want) == 0, "%s: %s is \"%s\", expected \"%s\"",
                        when, name, v, want);
    free(v);
}
#define expect_value(c, name, want, when) expect_value_at(__LINE__, c, name, want, when)

/* Everything the server sends until it closes the connection, or "timeout_ms" passes.
 * Returns 1 if it closed (EOF or reset). */
static int drain_until_close(int fd, lt_buf *got, size_t keep, int timeout_ms, size_t *total)
{
    char chunk[65536];
    long long deadline = lt_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - lt_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left);
        if (pr <= 0)
            continue;
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (total)
                *total += (size_t)n;
            if (got && got->len < keep)
                lt_buf_append(got, chunk, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 1;
    }
}

static void print_escaped(const char *label, const char *p, size_t n)
{
    lt_buf b = {0};
    lt_escape(&b, p, n > 200 ? 200 : n);
    printf("    %s\"%s\"%s\n", label, b.p ? b.p : "", n > 200 ? "..." : "");
    free(b.p);
}

/*
 * Send "input" on a new connection; the server must answer exactly
 * "expected" (possibly "") and close the connection.
 */
static void expect_reply_and_close_at(int line, int port, const char *what, const char *input,
                                      size_t n, const char *expected)
{
    lt_conn *c = lt_conn_open(port, 5000);
    if (!lt_check_at(__FILE__, line, c != NULL, "%s: cannot connect", what))
        return;
    /* The server may close while we still send: that is the point. */
    if (n)
        lt_conn_send_raw(c, input, n);
    lt_buf got = {0};
    if (c->len > c->off)
        lt_buf_append(&got, c->buf + c->off, c->len - c->off);
    int closed = drain_until_close(c->fd, &got, 1 << 20, 5000, NULL);
    int same = got.len == strlen(expected) && memcmp(got.p ? got.p : "", expected, got.len) == 0;
    if (!lt_check_replied_at(__FILE__, line, same && closed, "%s: %s", what,
                             !closed ? "the connection was left open"
                                     : "wrong reply before the close")) {
        print_escaped("expected: ", expected, strlen(expected));
        print_escaped("got:      ", got.p ? got.p : "", got.len);
    }
    free(got.p);
    lt_conn_close(c);
}
#define expect_reply_and_close(port, what, input, n, expected)                                     \
    expect_reply_and_close_at(__LINE__, port, what, input, n, expected)

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("%s: cannot write %s: %s\n", NAME, path, strerror(errno));
        return -1;
    }
    fputs(text, f);
    fclose(f);
    return 0;
}

/* 1 if "text" has a line exactly "line" (trailing CR/LF ignored). */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == n && memcmp(p, line, n) == 0)
            return 1;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* The line after the first line starting with "prefix" (malloc'd), or NULL. */
static char *line_after(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, n) == 0) {
            if (!nl)
                return NULL;
            const char *next = nl + 1;
            const char *end = strchr(next, '\n');
            size_t len = end ? (size_t)(end - next) : strlen(next);
            return strndup(next, len);
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static const char *server_display(void)
{
    return opts.reference ? "redis-server" : "longtail";
}

/* An absolute (or PATH-searched, when it has no slash) form of the server binary. */
static void server_abs(char *out, size_t size)
{
    if (strchr(opts.server, '/') && opts.server[0] != '/') {
        char cwd[PATH_MAX - 512];
        if (getcwd(cwd, sizeof(cwd))) {
            snprintf(out, size, "%s/%s", cwd, opts.server);
            return;
        }
    }
    snprintf(out, size, "%s", opts.server);
}

/*
 * Run the server with "args" until it exits (at most "timeout_ms"), its
 * stdout and stderr into "out_path". Returns the exit status, 128 + signal,
 * or -1 if it was still running (then it is killed) or could not start.
 */
static int run_to_exit(const char *const *args, int nargs, const char *out_path, int timeout_ms)
{
    char bin[PATH_MAX];
    server_abs(bin, sizeof(bin));
    const char *argv[32];
    int argc = 0;
    argv[argc++] = bin;
    for (int i = 0; i < nargs && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    long long deadline = lt_now_ms() + timeout_ms;
    int status;
    while (lt_now_ms() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        lt_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* ---- start-up errors ---------------------------------------------------- */

/*
 * Start the server with "args"; it must exit with status 1 and print a
 * block with "*** FATAL CONFIG FILE ERROR", the offending line after ">>> "
 * (checked as a prefix: Redis re-quotes command-line values) and "reason"
 * right below it. "at_line" > 0 also checks "Reading the configuration file,
 * at line N".
 */
static void expect_fatal_at(int line, const char *what, const char *const *args, int nargs,
                            const char *offending, const char *reason, int at_line)
{
    char out_path[PATH_MAX];
    snprintf(out_path, sizeof(out_path), "%s/fatal.out", work);
    int st = run_to_exit(args, nargs, out_path, 10000);
    char *out = lt_read_file(out_path, NULL);
    if (!out)
        out = strdup("");
    int ok = 1;
    ok &= lt_check_at(__FILE__, line, st == 1, "%s: exit status %d, expected 1", what, st);
    ok &= lt_check_at(__FILE__, line, strstr(out, "*** FATAL CONFIG FILE ERROR") != NULL,
                      "%s: no \"*** FATAL CONFIG FILE ERROR\" block", what);
    char prefix[512];
    snprintf(prefix, sizeof(prefix), ">>> '%s", offending);
    ok &= lt_check_at(__FILE__, line, strstr(out, prefix) != NULL,
                      "%s: the offending line \"%s\" is not named", what, prefix);
    char *reason_line = line_after(out, prefix);
    ok &= lt_check_at(__FILE__, line, reason_line && strcmp(reason_line, reason) == 0,
                      "%s: reason\n    expected: %s\n    got:      %s", what, reason,
                      reason_line ? reason_line : "(none)");
    free(reason_line);
    if (at_line > 0) {
        char where[128];
        snprintf(where, sizeof(where), "Reading the configuration file, at line %d", at_line);
        ok &= lt_check_at(__FILE__, line, has_line(out, where), "%s: no line \"%s\"", what, where);
    }
    if (!ok)
        printf("---- output of %s ----\n%s----\n", server_display(), out);
    free(out);
}
#define expect_fatal(what, args, offending, reason, at_line)                                       \
    expect_fatal_at(__LINE__, what, args, (int)(sizeof(args) / sizeof(args[0])), offending,        \
                    reason, at_line)

static void test_startup_errors(void)
{
    char dir[PATH_MAX], conf[PATH_MAX], inc[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/fatal-data", work);
    mkdir(dir, 0755);

    /* Unknown option in the config file, at line 3. */
    lt_test_begin("start-up error: unknown option in the config file");
    snprintf(conf, sizeof(conf), "%s/unknown.conf", work);
    write_file(conf, "# lt-limits\ntimeout 0\nbogus-directive-xyz 5\n");
    const char *a1[] = {conf, "--port", "0", "--dir", dir};
    expect_fatal("unknown option in the config file", a1, "bogus-directive-xyz 5",
                 "Bad directive or wrong number of arguments", 3);

    /* Unknown option on the command line. */
    lt_test_begin("start-up error: unknown option on the command line");
    const char *a2[] = {"--port", "0", "--dir", dir, "--bogus-flag-xyz", "1"};
    expect_fatal("unknown option on the command line", a2, "bogus-flag-xyz",
                 "Bad directive or wrong number of arguments", 0);

    /* A known option with the wrong number of arguments. */
    lt_test_begin("start-up error: known option without its argument");
    snprintf(conf, sizeof(conf), "%s/arity.conf", work);
    write_file(conf, "timeout\n");
    const char *a3[] = {conf, "--port", "0", "--dir", dir};
    expect_fatal("known option without its argument", a3, "timeout", "wrong number of arguments",
                 1);

    /* A bad value on the command line. */
    lt_test_begin("start-up error: bad value on the command line");
    const char *a4[] = {"--port", "0", "--dir", dir, "--maxclients", "abc"};
    expect_fatal("bad value on the command line", a4, "maxclients",
                 "argument couldn't be parsed into an integer", 0);

    /* The effect log's names must not be paths (Redis's own check). */
    lt_test_begin("start-up error: appenddirname or appendfilename that is a path");
    const char *alog1[] = {"--port", "0", "--dir", dir, "--appenddirname", "../x"};
    expect_fatal("appenddirname ../x", alog1, "appenddirname",
                 "appenddirname can't be a path, just a dirname", 0);
    const char *alog2[] = {"--port", "0", "--dir", dir, "--appendfilename", "a/b"};
    expect_fatal("appendfilename a/b", alog2, "appendfilename",
                 "appendfilename can't be a path, just a filename", 0);

    /* Unbalanced quotes. */
    lt_test_begin("start-up error: unbalanced quotes");
    snprintf(conf, sizeof(conf), "%s/quotes.conf", work);
    write_file(conf, "# lt-limits\nrequirepass \"abc\n");
    const char *a5[] = {conf, "--port", "0", "--dir", dir};
    expect_fatal("unbalanced quotes", a5, "requirepass \"abc",
                 "Unbalanced quotes in configuration line", 2);

    /* An include of a file that does not exist: exit 1, the path named. */
    lt_test_begin("start-up error: include of a missing file");
    snprintf(conf, sizeof(conf), "%s/badinclude.conf", work);
    snprintf(inc, sizeof(inc), "include %s/no-such-file.conf\n", work);
    write_file(conf, inc);
    const char *a6[] = {conf, "--port", "0", "--dir", dir};
    char out_path[PATH_MAX];
    snprintf(out_path, sizeof(out_path), "%s/fatal.out", work);
    int st = run_to_exit(a6, 5, out_path, 10000);
    char *out = lt_read_file(out_path, NULL);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "can't open config file '%s/no-such-file.conf'", work);
    lt_check(st == 1, "missing include: exit status %d, expected 1", st);
    lt_check(out && strstr(out, want), "missing include: no \"%s\" in:\n%s", want, out ? out : "");
    free(out);
}

/* ---- CONFIG GET / SET --------------------------------------------------- */

static void test_config_get(lt_conn *c, int port)
{
    expect_config_get(c, "*{\"maxmemory-policy\":\"noeviction\"}", "maxmemory-p*", NULL);
    expect_config_get(c,
                      "*{\"client-output-buffer-limit\":\"normal 0 0 0 slave 268435456 67108864 "
                      "60 pubsub 33554432 8388608 60\",\"client-query-buffer-limit\":"
                      "\"1073741824\"}",
                      "client-*-buffer-limit", NULL);
    expect_config_get(c, "*{\"timeout\":\"0\"}", "time?ut", NULL);
    expect_config_get(c, "*{\"timeout\":\"0\"}", "[tp]imeout", NULL);
    expect_config_get(c, "*{\"timeout\":\"0\"}", "TIME*", NULL);
    expect_config_get(c, "*{\"proto-max-bulk-len\":\"536870912\",\"timeout\":\"0\"}", "*max-bulk*",
                      "timeout");
    expect_config_get(c, "*{\"timeout\":\"0\"}", "timeout", "time*");
    expect_config_get(c, "*{\"maxclients\":\"10000\",\"timeout\":\"0\"}", "maxclients", "timeout");
    expect_config_get(c, "*{}", "no-such-option-xyz", NULL);
    expect_config_get(c, "*{}", "no-such-*-xyz", NULL);
    /* Redis 7.0 names an exact (glob-free) match the way it was asked. */
    expect_config_get(c, "*{\"TIMEOUT\":\"0\"}", "TIMEOUT", NULL);
    expect(c, "-ERR wrong number of arguments for 'config|get' command", "CONFIG", "GET", NULL);

    /* RESP3: a map. */
    lt_conn *c3 = open_conn(port);
    if (!c3)
        return;
    lt_reply *r = lt_conn_call(c3, "HELLO", "3", NULL);
    lt_check(r && r->type == '%', "HELLO 3 did not answer a map");
    lt_reply_free(r);
    expect_config_get(c3, "%{\"maxclients\":\"10000\",\"timeout\":\"0\"}", "maxclients", "timeout");
    expect_config_get(c3, "%{}", "no-such-option-xyz", NULL);
    lt_conn_close(c3);
}

#define FAILED(opt) "-ERR CONFIG SET failed (possibly related to argument '" opt "') - "

/* A socket listening on a free port (to make CONFIG SET port fail); -1 on failure. */
static int listen_busy(int *port)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)(20000 + (lt_now_us() + attempt * 7919) % 40000));
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0) {
            *port = ntohs(sa.sin_port);
            return fd;
        }
        close(fd);
    }
    return -1;
}

static void test_config_set(lt_conn *c, int port)
{
    /* Several at once, names in any case. */
    expect(c, "+OK", "CONFIG", "SET", "timeout", "7", "MAXCLIENTS", "100", NULL);
    expect_config_get(c, "*{\"maxclients\":\"100\",\"timeout\":\"7\"}", "timeout", "maxclients");

    /* All or nothing: whichever option fails, the others keep their values. */
    expect(c, FAILED("maxclients") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "timeout", "9", "maxclients", "abc", NULL);
    expect_config_get(c, "*{\"maxclients\":\"100\",\"timeout\":\"7\"}", "timeout", "maxclients");
    expect(c, FAILED("maxclients") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "maxclients", "abc", "timeout", "9", NULL);
    expect_value(c, "timeout", "7", "a bad value first");
    expect(c, "-ERR Unknown option or number of arguments for CONFIG SET - 'no-such-xyz'", "CONFIG",
           "SET", "timeout", "9", "no-such-xyz", "3", NULL);
    expect_value(c, "timeout", "7", "after an unknown option");
    expect(c, FAILED("databases") "can't set immutable config", "CONFIG", "SET", "timeout", "9",
           "databases", "3", NULL);
    expect_value(c, "timeout", "7", "after an immutable option");
    expect(c, FAILED("timeout") "duplicate parameter", "CONFIG", "SET", "timeout", "9", "timeout",
           "10", NULL);
    expect_value(c, "timeout", "7", "after a duplicate");
    expect(c, FAILED("timeout") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "maxmemory", "10mb", "timeout", "x", NULL);
    expect_value(c, "maxmemory", "0", "maxmemory after a failed CONFIG SET");

    /* A value that parses but cannot be applied: the port is taken. */
    int busy_port = 0;
    int busy = listen_busy(&busy_port);
    if (lt_check(busy >= 0, "cannot open a listening socket")) {
        char p[16];
        snprintf(p, sizeof(p), "%d", busy_port);
        expect(c, FAILED("port") "Unable to listen on this port. Check server logs.", "CONFIG",
               "SET", "timeout", "9", "port", p, NULL);
        close(busy);
        expect_value(c, "timeout", "7", "after a port that cannot be bound");
        char want[16];
        snprintf(want, sizeof(want), "%d", port);
        expect_value(c, "port", want, "after a port that cannot be bound");
        lt_conn *n = open_conn(port);
        expect(n, "+PONG", "PING", NULL);
        lt_conn_close(n);
    }

    expect(c, "+OK", "CONFIG", "SET", "TIMEOUT", "0", "maxclients", "10000", NULL);
    expect_config_get(c, "*{\"maxclients\":\"10000\",\"timeout\":\"0\"}", "timeout", "maxclients");

    /* Memory units and the output buffer classes. */
    expect(c, "+OK", "CONFIG", "SET", "maxmemory", "1GB", NULL);
    expect_value(c, "maxmemory", "1073741824", "maxmemory 1GB");
    expect(c, "+OK", "CONFIG", "SET", "maxmemory", "0", NULL);
    expect(c, "+OK", "CONFIG", "SET", "client-output-buffer-limit",
           "normal 1mb 512kb 3 replica 4 5 6", NULL);
    expect_value(c, "client-output-buffer-limit",
                 "normal 1048576 524288 3 slave 4 5 6 pubsub 33554432 8388608 60",
                 "client-output-buffer-limit with classes");
    expect(c, "+OK", "CONFIG", "SET", "client-output-buffer-limit",
           "normal 0 0 0 slave 268435456 67108864 60", NULL);
    expect_value(c, "client-output-buffer-limit",
                 "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
                 "client-output-buffer-limit restored");

    /* hz is clamped into 1..500 rather than refused. */
    expect(c, "+OK", "CONFIG", "SET", "hz", "1000", NULL);
    expect_value(c, "hz", "500", "hz 1000");
    expect(c, "+OK", "CONFIG", "SET", "hz", "0", NULL);
    expect_value(c, "hz", "1", "hz 0");
    expect(c, "+OK", "CONFIG", "SET", "hz", "10", NULL);

    expect(c, "-ERR The server is running without a config file", "CONFIG", "REWRITE", NULL);
}

/* Every error text of CONFIG SET, as Redis 7.0.15 words it. */
static void test_config_errors(lt_conn *c)
{
    expect(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG", "SET", NULL);
    expect(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG", "SET", "timeout",
           NULL);
    expect(c, "-ERR syntax error", "CONFIG", "SET", "timeout", "5", "maxclients", NULL);
    expect(c, "-ERR Unknown option or number of arguments for CONFIG SET - 'no-such-xyz'", "CONFIG",
           "SET", "no-such-xyz", "1", NULL);
    expect(c, FAILED("timeout") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "timeout", "abc", NULL);
    expect(c, FAILED("timeout") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "timeout", "1.5", NULL);
    expect(c, FAILED("timeout") "argument couldn't be parsed into an integer", "CONFIG", "SET",
           "timeout", "", NULL);
    expect(c, FAILED("timeout") "argument must be between 0 and 2147483647 inclusive", "CONFIG",
           "SET", "timeout", "-1", NULL);
    expect(c, FAILED("maxclients") "argument must be between 1 and 4294967295 inclusive", "CONFIG",
           "SET", "maxclients", "0", NULL);
    expect(c, FAILED("port") "argument must be between 0 and 65535 inclusive", "CONFIG", "SET",
           "port", "70000", NULL);
    expect(c,
           FAILED("proto-max-bulk-len") "argument must be between 1048576 and "
                                        "9223372036854775807 inclusive",
           "CONFIG", "SET", "proto-max-bulk-len", "100", NULL);
    expect(c,
           FAILED("client-query-buffer-limit") "argument must be between 1048576 and "
                                               "9223372036854775807 inclusive",
           "CONFIG", "SET", "client-query-buffer-limit", "100", NULL);
    expect(c, FAILED("maxmemory") "argument must be a memory value", "CONFIG", "SET", "maxmemory",
           "abc", NULL);
    expect(c, FAILED("maxmemory") "argument must be a memory value", "CONFIG", "SET", "maxmemory",
           "10xb", NULL);
    expect(c, FAILED("maxmemory") "argument must be a memory value", "CONFIG", "SET", "maxmemory",
           "-1", NULL);
    expect(c, FAILED("appendonly") "argument must be 'yes' or 'no'", "CONFIG", "SET", "appendonly",
           "maybe", NULL);
    expect(c, FAILED("protected-mode") "argument must be 'yes' or 'no'", "CONFIG", "SET",
           "protected-mode", "maybe", NULL);
    expect(c,
           FAILED("appendfsync") "argument(s) must be one of the following: everysec, always, "
                                 "no",
           "CONFIG", "SET", "appendfsync", "sometimes", NULL);
    expect(c,
           FAILED("loglevel") "argument(s) must be one of the following: debug, verbose, notice, "
                              "warning",
           "CONFIG", "SET", "loglevel", "bogus", NULL);
    expect(c,
           FAILED("maxmemory-policy") "argument(s) must be one of the following: volatile-lru, "
                                      "volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, "
                                      "allkeys-lfu, allkeys-random, noeviction",
           "CONFIG", "SET", "maxmemory-policy", "bogus", NULL);
    expect(c, FAILED("daemonize") "can't set immutable config", "CONFIG", "SET", "daemonize", "yes",
           NULL);
    expect(c, FAILED("databases") "can't set immutable config", "CONFIG", "SET", "databases", "4",
           NULL);
    expect(c, FAILED("dir") "can't set protected config", "CONFIG", "SET", "dir", "/tmp", NULL);
    expect(c,
           FAILED("client-output-buffer-limit") "Wrong number of arguments in buffer limit "
                                                "configuration.",
           "CONFIG", "SET", "client-output-buffer-limit", "normal 1 2", NULL);
    expect(c,
           FAILED("client-output-buffer-limit") "Invalid client class specified in buffer limit "
                                                "configuration.",
           "CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3", NULL);
    expect(c,
           FAILED("client-output-buffer-limit") "Error in hard, soft or soft_seconds setting in "
                                                "buffer limit configuration.",
           "CONFIG", "SET", "client-output-buffer-limit", "normal a 2 3", NULL);
    expect(c,
           FAILED("client-output-buffer-limit") "Error in hard, soft or soft_seconds setting in "
                                                "buffer limit configuration.",
           "CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 -3", NULL);
    /* Nothing above changed anything. */
    expect_config_get(c, "*{\"maxclients\":\"10000\",\"timeout\":\"0\"}", "maxclients", "timeout");
    expect_config_get(c, "*{\"appendfsync\":\"everysec\",\"maxmemory\":\"0\"}", "appendfsync",
                      "maxmemory");
}

/* ---- protocol limits ---------------------------------------------------- */

static void test_proto_max_bulk_len(lt_conn *keeper, int port)
{
    expect(keeper, "+OK", "CONFIG", "SET", "proto-max-bulk-len", "1mb", NULL);
    expect_value(keeper, "proto-max-bulk-len", "1048576", "proto-max-bulk-len 1mb");
    const char *over = "*2\r\n$4\r\nECHO\r\n$1048577\r\n";
    expect_reply_and_close(port, "a bulk one byte over proto-max-bulk-len", over, strlen(over),
                           "-ERR Protocol error: invalid bulk length\r\n");
    const char *after = "PING\r\n*3\r\n$3\r\nSET\r\n$6\r\npm:key\r\n$2000000\r\nabc";
    expect_reply_and_close(port, "a good command, then a bulk over proto-max-bulk-len", after,
                           strlen(after), "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");

    /* Exactly at the limit: accepted. */
    size_t n = 1048576;
    char *val = malloc(n);
    for (size_t i = 0; i < n; i++)
        val[i] = (char)('a' + i % 26);
    lt_conn *c = open_conn(port);
    if (c) {
        const char *argv[2] = {"ECHO", val};
        size_t lens[2] = {4, n};
        lt_reply *r = lt_conn_call_argv(c, 2, argv, lens);
        lt_check(r && r->type == '$' && r->len == n && memcmp(r->str, val, n) == 0,
                 "ECHO of exactly proto-max-bulk-len bytes did not come back");
        lt_reply_free(r);
        lt_conn_close(c);
    }
    free(val);
    expect(keeper, "+OK", "CONFIG", "SET", "proto-max-bulk-len", "512mb", NULL);
    expect(keeper, ":0", "EXISTS", "pm:key", NULL);
}

static void test_query_buffer_limit(lt_conn *keeper, int port)
{
    expect(keeper, "+OK", "CONFIG", "SET", "client-query-buffer-limit", "1mb", NULL);
    size_t big = 2000000;
    lt_buf in = {0};
    lt_buf_printf(&in, "*3\r\n$3\r\nSET\r\n$6\r\nqb:big\r\n$%zu\r\n", big);
    size_t head = in.len;
    char *x = malloc(big);
    memset(x, 'x', big);
    lt_buf_append(&in, x, big);
    lt_buf_append(&in, "\r\n", 2);
    /* A bulk still coming in (1.5 MB of 2 MB sent) that fills the query buffer. */
    expect_reply_and_close(port, "1.5 MB of an unfinished bulk over client-query-buffer-limit",
                           in.p, head + 1500000, "");
    /* The same command whole. */
    expect_reply_and_close(port, "a 2 MB command over client-query-buffer-limit", in.p, in.len, "");
    expect(keeper, ":0", "EXISTS", "qb:big", NULL);

    /* Under the limit: fine. */
    lt_conn *c = open_conn(port);
    if (c) {
        const char *argv[3] = {"SET", "qb:ok", x};
        size_t lens[3] = {3, 5, 512 * 1024};
        lt_reply *r = lt_conn_call_argv(c, 3, argv, lens);
        lt_check_reply(r, "+OK", "SET of 512 KB under a 1 MB query buffer limit");
        lt_reply_free(r);
        lt_conn_close(c);
    }
    expect(keeper, ":524288", "STRLEN", "qb:ok", NULL);
    expect(keeper, "+OK", "CONFIG", "SET", "client-query-buffer-limit", "1gb", NULL);
    expect(keeper, ":1", "DEL", "qb:ok", NULL);
    free(x);
    free(in.p);
}

/* ---- output buffer limit ------------------------------------------------ */

#define OBL_VALUE (64 * 1024)
#define OBL_GETS  200

/* A blocking socket with a small receive buffer, so replies pile up in the server. */
static int raw_connect_small(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_output_buffer_limit(lt_conn *keeper, int port)
{
    char *val = malloc(OBL_VALUE);
    for (size_t i = 0; i < OBL_VALUE; i++)
        val[i] = (char)('A' + i % 23);
    const char *set[3] = {"SET", "obl:big", val};
    size_t lens[3] = {3, 7, OBL_VALUE};
    lt_reply *r = lt_conn_call_argv(keeper, 3, set, lens);
    lt_check_reply(r, "+OK", "SET obl:big");
    lt_reply_free(r);

    lt_buf pipe = {0};
    for (int i = 0; i < OBL_GETS; i++)
        lt_buf_puts(&pipe, "*2\r\n$3\r\nGET\r\n$7\r\nobl:big\r\n");
    char hdr[32];
    size_t per_reply = (size_t)snprintf(hdr, sizeof(hdr), "$%d\r\n", OBL_VALUE) + OBL_VALUE + 2;
    size_t all = per_reply * OBL_GETS;

    /* Without a limit, a client that reads gets every reply. */
    lt_conn *reader = open_conn(port);
    if (reader) {
        lt_conn_send_raw(reader, pipe.p, pipe.len);
        int good = 0;
        for (int i = 0; i < OBL_GETS; i++) {
            lt_reply *g;
            if (lt_conn_read(reader, &g) != LT_OK)
                break;
            good += g->type == '$' && g->len == OBL_VALUE;
            lt_reply_free(g);
        }
        lt_check(good == OBL_GETS, "no limit: %d of %d big GETs answered", good, OBL_GETS);
        lt_conn_close(reader);
    }

    expect(keeper, "+OK", "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0", NULL);
    int fd = raw_connect_small(port);
    if (lt_check(fd >= 0, "cannot connect the slow reader")) {
        ssize_t w = write(fd, pipe.p, pipe.len);
        lt_check(w == (ssize_t)pipe.len, "the pipeline of GETs was not sent whole");
        /* The server keeps serving others while that client is stuck. */
        lt_sleep_ms(300);
        lt_conn *other = open_conn(port);
        if (other) {
            lt_reply *g = lt_conn_call(other, "GET", "obl:big", NULL);
            lt_check(g && g->type == '$' && g->len == OBL_VALUE && !memcmp(g->str, val, OBL_VALUE),
                     "another client's GET of the big value failed");
            lt_reply_free(g);
            expect(other, "+PONG", "PING", NULL);
            lt_conn_close(other);
        }
        size_t got = 0;
        int closed = drain_until_close(fd, NULL, 0, 10000, &got);
        lt_check(closed, "a client over the output buffer hard limit was not disconnected");
        lt_check(got < all, "the slow reader got all %zu bytes despite the 1 MB hard limit", got);
        if (lt_verbose)
            printf("%s: slow reader got %zu of %zu bytes before the close\n", NAME, got, all);
        close(fd);
    }
    expect(keeper, "+PONG", "PING", NULL);

    /*
     * Soft limit: being over it for less than its seconds is tolerated; past
     * them the client is closed, at the latest when one more reply is added
     * (Redis checks only then).
     */
    expect(keeper, "+OK", "CONFIG", "SET", "client-output-buffer-limit", "normal 0 1mb 1", NULL);
    fd = raw_connect_small(port);
    if (lt_check(fd >= 0, "cannot connect the slow reader")) {
        const char *setname = "CLIENT SETNAME obl-slow\r\n";
        char ok[8] = {0};
        ssize_t w = write(fd, setname, strlen(setname));
        ssize_t n = w > 0 ? read(fd, ok, 5) : -1;
        lt_check(n == 5 && !memcmp(ok, "+OK\r\n", 5), "CLIENT SETNAME on the slow reader failed");
        w = write(fd, pipe.p, pipe.len);
        lt_check(w == (ssize_t)pipe.len, "the pipeline of GETs was not sent whole");
        lt_sleep_ms(300);
        lt_reply *l = lt_conn_call(keeper, "CLIENT", "LIST", NULL);
        lt_check(l && l->str && strstr(l->str, "name=obl-slow"),
                 "a client over the soft limit for 0.3 s of 1 s was disconnected");
        lt_reply_free(l);
        /* Redis counts the seconds whole: 1 s over is sure only after 2. */
        lt_sleep_ms(2000);
        const char *one = "*2\r\n$3\r\nGET\r\n$7\r\nobl:big\r\n";
        w = write(fd, one, strlen(one)); /* fails if already closed: fine */
        size_t got = 0;
        int closed = drain_until_close(fd, NULL, 0, 10000, &got);
        lt_check(closed, "a client over the soft limit for 2.3 s of 1 s was not disconnected");
        lt_check(got < all, "the slow reader got all %zu bytes despite the soft limit", got);
        close(fd);
    }
    expect(keeper, "+PONG", "PING", NULL);
    expect(keeper, "+OK", "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0", NULL);
    expect(keeper, ":1", "DEL", "obl:big", NULL);
    free(pipe.p);
    free(val);
}

/* ---- client-reply-max-size (longtail's own) ------------------------------ */

#define RMS_ERR "-ERR the reply is larger than client-reply-max-size (1048576 bytes)"

/* The value of an INFO stats field, or -1 (a failed check) without it. */
static long long info_stat(lt_conn *c, const char *field)
{
    lt_reply *r = lt_conn_call(c, "INFO", "stats", NULL);
    char name[128];
    snprintf(name, sizeof(name), "\r\n%s:", field);
    const char *at = r && r->str ? strstr(r->str, name) : NULL;
    long long v = at ? strtoll(at + strlen(name), NULL, 10) : -1;
    lt_check(at != NULL, "INFO stats lacks %s", field);
    lt_reply_free(r);
    return v;
}

static void set_filled(lt_conn *c, const char *key, size_t len)
{
    char *val = malloc(len);
    memset(val, 'v', len);
    const char *set[3] = {"SET", key, val};
    size_t lens[3] = {3, strlen(key), len};
    lt_reply *r = lt_conn_call_argv(c, 3, set, lens);
    lt_check_reply(r, "+OK", "SET of a big value");
    lt_reply_free(r);
    free(val);
}

/*
 * One reply past client-reply-max-size is an error in its place (the loops
 * of SRANDMEMBER & co. with a count near -LONG_MAX end there instead of
 * taking the host's memory: Redis 7.0.15 is OOM-killed); a client whose
 * unsent replies pass it after a command is closed; other clients go on.
 */
static void test_reply_max_size(lt_conn *keeper, int port)
{
    long long errors = info_stat(keeper, "client_reply_max_size_errors");
    long long closed_before = info_stat(keeper, "client_output_buffer_limit_disconnections");
    expect(keeper, "+OK", "CONFIG", "SET", "client-reply-max-size", "1mb", NULL);
    expect(keeper, "*2[\"client-reply-max-size\",\"1048576\"]", "CONFIG", "GET",
           "client-reply-max-size", NULL);
    expect(keeper,
           "-ERR CONFIG SET failed (possibly related to argument 'client-reply-max-size') - "
           "argument must be between 1048576 and 9223372036854775807 inclusive",
           "CONFIG", "SET", "client-reply-max-size", "1000", NULL);
    expect(keeper, ":3", "SADD", "rms:s", "a", "b", "c", NULL);
    expect(keeper, ":1", "HSET", "rms:h", "f", "v", NULL);
    expect(keeper, ":1", "ZADD", "rms:z", "1", "a", NULL);
    expect(keeper, RMS_ERR, "SRANDMEMBER", "rms:s", "-9223372036854775807", NULL);
    expect(keeper, RMS_ERR, "HRANDFIELD", "rms:h", "-4611686018427387903", "WITHVALUES", NULL);
    expect(keeper, RMS_ERR, "ZRANDMEMBER", "rms:z", "-9223372036854775807", NULL);
    expect(keeper, RMS_ERR, "ZRANDMEMBER", "rms:z", "-4611686018427387903", "WITHSCORES", NULL);
    expect(keeper, "*3[\"f\",\"f\",\"f\"]", "HRANDFIELD", "rms:h", "-3", NULL);
    /* a value bigger than the limit: GET fails, STRLEN and GETRANGE work */
    set_filled(keeper, "rms:big", 1536 * 1024);
    expect(keeper, RMS_ERR, "GET", "rms:big", NULL);
    expect(keeper, ":1572864", "STRLEN", "rms:big", NULL);
    expect(keeper, "\"vv\"", "GETRANGE", "rms:big", "0", "1", NULL);
    /* inside EXEC each queued command is measured alone */
    expect(keeper, "+OK", "MULTI", NULL);
    expect(keeper, "+QUEUED", "GET", "rms:big", NULL);
    expect(keeper, "+QUEUED", "PING", NULL);
    expect(keeper, "*2[" RMS_ERR ",+PONG]", "EXEC", NULL);
    long long now = info_stat(keeper, "client_reply_max_size_errors");
    lt_check(now == errors + 6, "client_reply_max_size_errors went from %lld to %lld, not +6",
             errors, now);

    /* three GETs of 600 KB sent at once: the second leaves 1.2 MB unsent */
    set_filled(keeper, "rms:mid", 600 * 1024);
    int fd = raw_connect_small(port);
    if (lt_check(fd >= 0, "cannot connect the pipelining client")) {
        const char *get = "*2\r\n$3\r\nGET\r\n$7\r\nrms:mid\r\n";
        lt_buf pipe = {0};
        for (int i = 0; i < 3; i++)
            lt_buf_puts(&pipe, get);
        lt_buf_puts(&pipe, "*1\r\n$4\r\nPING\r\n");
        ssize_t w = write(fd, pipe.p, pipe.len);
        lt_check(w == (ssize_t)pipe.len, "the pipeline was not sent whole");
        size_t got = 0;
        int closed = drain_until_close(fd, NULL, 0, 10000, &got);
        lt_check(closed, "a client with 1.2 MB of unsent replies was not closed");
        lt_check(got < 3 * 600 * 1024, "the client got all %zu bytes despite the limit", got);
        close(fd);
        free(pipe.p);
    }
    now = info_stat(keeper, "client_output_buffer_limit_disconnections");
    lt_check(now == closed_before + 1,
             "client_output_buffer_limit_disconnections went from %lld to %lld, not +1",
             closed_before, now);
    expect(keeper, "+PONG", "PING", NULL);
    expect(keeper, "+OK", "CONFIG", "SET", "client-reply-max-size", "1gb", NULL);
    expect(keeper, ":5", "DEL", "rms:s", "rms:h", "rms:z", "rms:big", "rms:mid", NULL);
}

/* ---- timeout ------------------------------------------------------------ */

static void test_timeout(lt_conn *keeper, int port)
{
    lt_conn *idle = open_conn(port);
    lt_conn *active = open_conn(port);
    if (!idle || !active) {
        lt_conn_close(idle);
        lt_conn_close(active);
        return;
    }
    expect(keeper, "+OK", "CONFIG", "SET", "timeout", "1", NULL);
    expect(idle, "+PONG", "PING", NULL);
    long long t0 = lt_now_ms();
    expect(active, "+PONG", "PING", NULL);
    long long last = lt_now_ms(), closed_at = 0;
    int active_ok = 1;
    /* The keeper and "active" send a command every 250 ms; "idle" sends nothing. */
    while (lt_now_ms() - t0 < 4000) {
        if (!closed_at && lt_conn_wait_closed(idle, 50))
            closed_at = lt_now_ms();
        if (closed_at && lt_now_ms() - closed_at > 1500)
            break;
        if (closed_at)
            lt_sleep_ms(50);
        if (lt_now_ms() - last >= 250) {
            lt_reply *a = lt_conn_call(active, "PING", NULL);
            lt_reply *k = lt_conn_call(keeper, "PING", NULL);
            active_ok &= a && a->type == '+' && k && k->type == '+';
            lt_reply_free(a);
            lt_reply_free(k);
            last = lt_now_ms();
        }
    }
    long long took = closed_at ? closed_at - t0 : -1;
    if (lt_verbose)
        printf("%s: idle client closed after %lld ms\n", NAME, took);
    lt_check(closed_at != 0, "timeout 1: the idle client is still connected after 4 s");
    lt_check(!closed_at || (took >= 900 && took <= 3500),
             "timeout 1: the idle client was closed after %lld ms (expected 1000-2000)", took);
    lt_check(active_ok, "timeout 1: a client sending a command every 250 ms was closed");
    expect(keeper, "+OK", "CONFIG", "SET", "timeout", "0", NULL);
    lt_conn_close(idle);
    lt_conn_close(active);
}

/* ---- requirepass -------------------------------------------------------- */

#define NOAUTH    "-NOAUTH Authentication required."
#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."

static void test_requirepass(lt_conn *keeper, int port)
{
    expect(keeper,
           "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?",
           "AUTH", "x", NULL);
    expect(keeper, "+OK", "CONFIG", "SET", "requirepass", "s3cret", NULL);
    /* Connections made before keep working. */
    expect(keeper, "+PONG", "PING", NULL);

    lt_conn *c = open_conn(port);
    if (!c)
        return;
    expect(c, NOAUTH, "PING", NULL);
    expect(c, NOAUTH, "GET", "k", NULL);
    expect(c, NOAUTH, "SET", "k", "v", NULL);
    expect(c, NOAUTH, "CONFIG", "GET", "requirepass", NULL);
    expect(c, NOAUTH, "SELECT", "1", NULL);
    expect(c,
           "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
           "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
           "the RESP protocol version at the same time",
           "HELLO", "3", NULL);
    expect(c, "-ERR wrong number of arguments for 'auth' command", "AUTH", NULL);
    expect(c, "-ERR syntax error", "AUTH", "a", "b", "c", NULL);
    expect(c, WRONGPASS, "AUTH", "wrong", NULL);
    expect(c, WRONGPASS, "AUTH", "nosuch", "s3cret", NULL);
    expect(c, NOAUTH, "PING", NULL);
    expect(c, "+OK", "AUTH", "s3cret", NULL);
    expect(c, "+PONG", "PING", NULL);
    /* A failed AUTH does not undo an earlier one. */
    expect(c, WRONGPASS, "AUTH", "wrong", NULL);
    expect(c, "+PONG", "PING", NULL);
    expect(c, "+RESET", "RESET", NULL);
    expect(c, NOAUTH, "PING", NULL);
    expect(c, "+OK", "AUTH", "default", "s3cret", NULL);
    expect(c, "+PONG", "PING", NULL);
    lt_conn_close(c);

    /* HELLO AUTH. */
    c = open_conn(port);
    if (!c)
        return;
    expect(c, "-ERR Syntax error in HELLO option 'AUTH'", "HELLO", "3", "AUTH", "default", NULL);
    expect(c, WRONGPASS, "HELLO", "3", "AUTH", "default", "wrong", NULL);
    expect(c, WRONGPASS, "HELLO", "3", "AUTH", "nosuch", "s3cret", NULL);
    expect(c, NOAUTH, "PING", NULL);
    lt_reply *r = lt_conn_call(c, "HELLO", "3", "AUTH", "default", "s3cret", NULL);
    long long proto = -1;
    if (r && r->type == '%') {
        for (size_t i = 0; i < r->n; i++) {
            lt_reply *k = r->elem[2 * i], *v = r->elem[2 * i + 1];
            if (k->str && !strcmp(k->str, "proto") && v->type == ':')
                proto = v->integer;
        }
    }
    lt_check(proto == 3, "HELLO 3 AUTH default <right>: no map with proto 3");
    lt_reply_free(r);
    expect(c, "+PONG", "PING", NULL);
    lt_conn_close(c);

    /* Inline AUTH in a pipeline. */
    const char *inl = "AUTH s3cret\r\nGET no-such-key\r\n";
    c = open_conn(port);
    if (c) {
        lt_conn_send_raw(c, inl, strlen(inl));
        lt_reply *a = NULL, *b = NULL;
        lt_conn_read(c, &a);
        lt_conn_read(c, &b);
        lt_check_reply(a, "+OK", "inline AUTH");
        lt_check_reply(b, "(nil)", "GET after inline AUTH in the same write");
        lt_reply_free(a);
        lt_reply_free(b);
        lt_conn_close(c);
    }

    /* An unauthenticated client may not send big requests. */
    expect_reply_and_close(port, "unauthenticated *11", "*11\r\n", 5,
                           "-ERR Protocol error: unauthenticated multibulk length\r\n");
    const char *bulk = "*2\r\n$4\r\nAUTH\r\n$16385\r\n";
    expect_reply_and_close(port, "unauthenticated $16385", bulk, strlen(bulk),
                           "-ERR Protocol error: unauthenticated bulk length\r\n");

    expect(keeper, "+OK", "CONFIG", "SET", "requirepass", "", NULL);
    c = open_conn(port);
    expect(c, "+PONG", "PING", NULL);
    lt_conn_close(c);
}

/* ---- shutdown ----------------------------------------------------------- */

static void test_shutdown(lt_server *srv, lt_conn **keeper)
{
    expect(*keeper, "-ERR No shutdown in progress.", "SHUTDOWN", "ABORT", NULL);
    expect(*keeper, "-ERR syntax error", "SHUTDOWN", "SAVE", "NOSAVE", NULL);
    expect(*keeper, "-ERR syntax error", "SHUTDOWN", "BOGUS", NULL);
    expect(*keeper, "-ERR syntax error", "SHUTDOWN", "ABORT", "NOW", NULL);

    /* SIGINT: exit 0, the data is there after a restart. */
    expect(*keeper, "+OK", "SET", "durable:sigint", "v1", NULL);
    lt_conn_close(*keeper);
    *keeper = NULL;
    kill(srv->pid, SIGINT);
    int st = lt_server_wait(srv, 20000);
    lt_check(st == 0, "SIGINT: exit status %d, expected 0", st);
    if (st == -2)
        lt_server_kill(srv);
    if (!lt_check(lt_server_restart(srv) == 0, "the server did not start after SIGINT"))
        return;
    *keeper = open_conn(srv->port);
    expect(*keeper, "\"v1\"", "GET", "durable:sigint", NULL);

    /* SHUTDOWN NOSAVE: the acknowledged write survives all the same. */
    expect(*keeper, "+OK", "SET", "durable:shutdown", "v2", NULL);
    if (*keeper)
        lt_conn_send(*keeper, "SHUTDOWN", "NOSAVE", NULL);
    lt_check(*keeper && lt_conn_wait_closed(*keeper, 10000),
             "SHUTDOWN NOSAVE did not close the connection");
    lt_conn_close(*keeper);
    *keeper = NULL;
    st = lt_server_wait(srv, 20000);
    lt_check(st == 0, "SHUTDOWN NOSAVE: exit status %d, expected 0", st);
    if (st == -2)
        lt_server_kill(srv);
    if (!lt_check(lt_server_restart(srv) == 0, "the server did not start after SHUTDOWN"))
        return;
    *keeper = open_conn(srv->port);
    expect(*keeper, "\"v1\"", "GET", "durable:sigint", NULL);
    expect(*keeper, "\"v2\"", "GET", "durable:shutdown", NULL);
}

/* longtail only: a second server on the same dir refuses, naming the lock. */
static void test_second_server(lt_server *srv)
{
    int st = lt_server_start_second(srv, 10000);
    lt_check(st > 0 && st < 128, "a second server on the same dir: %s %d",
             st < 0 ? "still running" : "exit status", st);
    char path[PATH_MAX + 32];
    lt_buf all = {0};
    const char *files[] = {"second.log", "second-stdout.log"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", srv->root, files[i]);
        char *t = lt_read_file(path, NULL);
        if (t)
            lt_buf_puts(&all, t);
        free(t);
    }
    int mentions = all.p && (strcasestr(all.p, "lock") != NULL);
    lt_check(mentions, "the second server's output does not mention the lock:\n%s",
             all.p ? all.p : "(empty)");
    free(all.p);
    lt_check(lt_server_alive(srv), "the first server died when a second one tried the same dir");
}

/* ---- maxclients --------------------------------------------------------- */

#define MAXCLIENTS_ERR "-ERR max number of clients reached\r\n"

/* Wait until INFO clients says "want" connected clients (the server saw a close). */
static int wait_clients(lt_conn *c, long long want)
{
    long long n = -1;
    for (int i = 0; i < 100; i++) {
        n = lt_conn_info(c, "clients", "connected_clients");
        if (n == want)
            return 1;
        lt_sleep_ms(20);
    }
    printf("%s: connected_clients is %lld, waited for %lld\n", NAME, n, want);
    return 0;
}

static void test_maxclients(void)
{
    lt_server ms;
    const char *args[] = {"--maxclients", "5"};
    if (lt_server_start(&ms, opts.server, args, 2) != 0) {
        lt_check(0, "could not start %s --maxclients 5", opts.server);
        lt_server_cleanup(&ms, 1);
        return;
    }
    int failed_before = lt_checks_failed();
    lt_conn *c[6] = {0};
    for (int i = 0; i < 5; i++) {
        c[i] = open_conn(ms.port);
        expect(c[i], "+PONG", "PING", NULL);
    }
    expect_reply_and_close(ms.port, "the 6th connection with maxclients 5", "", 0, MAXCLIENTS_ERR);
    expect_reply_and_close(ms.port, "the 7th connection with maxclients 5", "", 0, MAXCLIENTS_ERR);

    /* One leaves: its slot is free again, once. */
    lt_conn_close(c[0]);
    c[0] = NULL;
    lt_check(wait_clients(c[1], 4), "the server did not notice a client leaving");
    c[0] = open_conn(ms.port);
    expect(c[0], "+PONG", "PING", NULL);
    expect_reply_and_close(ms.port, "a 6th connection again", "", 0, MAXCLIENTS_ERR);
    lt_check(lt_conn_info(c[1], "stats", "rejected_connections") == 3,
             "rejected_connections is %lld, expected 3",
             lt_conn_info(c[1], "stats", "rejected_connections"));

    /* Raised at run time: one more fits. */
    expect(c[1], "+OK", "CONFIG", "SET", "maxclients", "6", NULL);
    c[5] = open_conn(ms.port);
    expect(c[5], "+PONG", "PING", NULL);
    expect_reply_and_close(ms.port, "the 7th connection with maxclients 6", "", 0, MAXCLIENTS_ERR);
    for (int i = 0; i < 6; i++)
        lt_conn_close(c[i]);
    int st = lt_server_stop(&ms);
    lt_check(st == 0, "SIGTERM (maxclients server): exit status %d", st);
    lt_server_cleanup(&ms, lt_checks_failed() > failed_before);
}

/* ---- config file, include, quoting, CONFIG REWRITE ---------------------- */

static void test_config_file(void)
{
    char main_conf[PATH_MAX], inc_conf[PATH_MAX], wrapper[PATH_MAX], bin[PATH_MAX];
    snprintf(main_conf, sizeof(main_conf), "%s/main.conf", work);
    snprintf(inc_conf, sizeof(inc_conf), "%s/inc.conf", work);
    snprintf(wrapper, sizeof(wrapper), "%s/server-with-conf.sh", work);
    server_abs(bin, sizeof(bin));

    const char *inc_text = "# included by main.conf\n"
                           "maxmemory-policy 'allkeys-lru'\n"
                           "timeout 100\n";
    lt_buf m = {0};
    lt_buf_puts(&m, "# lt-limits: a comment CONFIG REWRITE keeps\n"
                    "timeout 50\n"
                    "maxclients 200\n"
                    "\n"
                    "# lt-limits: another comment\n"
                    "requirepass \"pa ss\\\"wo\\x41rd\"\n"
                    "appendonly yes\n");
    lt_buf_printf(&m, "include %s\n", inc_conf);
    lt_buf_puts(&m, "slowlog-max-len 64\n");
    lt_buf w = {0};
    lt_buf_printf(&w, "#!/bin/sh\nexec '%s' '%s' \"$@\"\n", bin, main_conf);
    int ok = write_file(inc_conf, inc_text) == 0 && write_file(main_conf, m.p) == 0 &&
             write_file(wrapper, w.p) == 0 && chmod(wrapper, 0755) == 0;
    free(m.p);
    free(w.p);
    if (!lt_check(ok, "cannot write the config files"))
        return;

    lt_server cs;
    if (lt_server_start(&cs, wrapper, NULL, 0) != 0) {
        lt_check(0, "could not start %s from a config file", server_display());
        lt_server_cleanup(&cs, 1);
        return;
    }
    int failed_before = lt_checks_failed();
    const char *pass = "pa ss\"woArd";
    lt_conn *c = open_conn(cs.port);
    expect(c, NOAUTH, "PING", NULL);
    expect(c, "+OK", "AUTH", pass, NULL);
    /* The include came after "timeout 50": its value wins. */
    expect_value(c, "timeout", "100", "config file");
    expect_value(c, "maxclients", "200", "config file");
    expect_value(c, "requirepass", pass, "config file");
    expect_value(c, "maxmemory-policy", "allkeys-lru", "config file");
    expect_value(c, "slowlog-max-len", "64", "config file");
    expect_value(c, "appendonly", "yes", "config file");
    expect(c, "+OK", "SET", "cf:key", "kept", NULL);

    expect(c, "+OK", "CONFIG", "SET", "maxclients", "300", "requirepass", "new \"pass\" 'q'",
           "slowlog-max-len", "99", NULL);
    expect(c, "+PONG", "PING", NULL);
    expect(c, "+OK", "CONFIG", "REWRITE", NULL);
    lt_conn_close(c);

    char *text = lt_read_file(main_conf, NULL);
    if (!text)
        text = strdup("");
    char inc_line[PATH_MAX + 16];
    snprintf(inc_line, sizeof(inc_line), "include %s", inc_conf);
    int fok = 1;
    fok &= lt_check(has_line(text, "# lt-limits: a comment CONFIG REWRITE keeps"),
                    "CONFIG REWRITE dropped the first comment");
    fok &= lt_check(has_line(text, "# lt-limits: another comment"),
                    "CONFIG REWRITE dropped the second comment");
    fok &= lt_check(has_line(text, inc_line), "CONFIG REWRITE dropped the include line");
    fok &= lt_check(has_line(text, "maxclients 300"), "CONFIG REWRITE: no line \"maxclients 300\"");
    fok &= lt_check(has_line(text, "slowlog-max-len 99"),
                    "CONFIG REWRITE: no line \"slowlog-max-len 99\"");
    fok &= lt_check(!has_line(text, "maxclients 200"), "CONFIG REWRITE kept \"maxclients 200\"");
    char *inc_now = lt_read_file(inc_conf, NULL);
    fok &=
        lt_check(inc_now && !strcmp(inc_now, inc_text), "CONFIG REWRITE changed the included file");
    free(inc_now);
    if (!fok || lt_verbose)
        printf("---- %s after CONFIG REWRITE ----\n%s----\n", main_conf, text);
    free(text);

    /* SIGTERM, start again from the rewritten file: the new values and the data. */
    int st = lt_server_stop(&cs);
    lt_check(st == 0, "SIGTERM (config file server): exit status %d", st);
    if (lt_check(lt_server_restart(&cs) == 0,
                 "the server does not start from the file CONFIG REWRITE wrote")) {
        c = open_conn(cs.port);
        const char *newpass = "new \"pass\" 'q'";
        expect(c, WRONGPASS, "AUTH", pass, NULL);
        expect(c, "+OK", "AUTH", newpass, NULL);
        expect_value(c, "maxclients", "300", "after CONFIG REWRITE and restart");
        expect_value(c, "slowlog-max-len", "99", "after CONFIG REWRITE and restart");
        expect_value(c, "timeout", "100", "after CONFIG REWRITE and restart");
        expect_value(c, "maxmemory-policy", "allkeys-lru", "after CONFIG REWRITE and restart");
        expect_value(c, "requirepass", newpass, "after CONFIG REWRITE and restart");
        expect(c, "\"kept\"", "GET", "cf:key", NULL);
        lt_conn_close(c);
        st = lt_server_stop(&cs);
        lt_check(st == 0, "SIGTERM after the restart: exit status %d", st);
    }
    lt_server_cleanup(&cs, lt_checks_failed() > failed_before);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, NAME) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* 6 start-up errors, 13 tests on one server (client-reply-max-size and
     * the second-server test are longtail's own), maxclients and the config
     * file. */
    lt_plan(opts.reference ? 20 : 22);
    const char *tmp = getenv("TMPDIR");
    snprintf(work, sizeof(work), "%s/lt-limits-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work)) {
        printf("%s: mkdtemp %s: %s\n", NAME, work, strerror(errno));
        return lt_report(NAME);
    }
    long long t0 = lt_now_ms();

    test_startup_errors();

    /* Redis keeps data over SHUTDOWN NOSAVE only with the AOF on. */
    lt_test_begin("CONFIG GET: globs, several patterns, RESP3");
    const char *redis_args[] = {"--appendonly", "yes"};
    lt_server srv;
    int rc = opts.reference ? lt_server_start(&srv, opts.server, redis_args, 2)
                            : lt_server_start(&srv, opts.server, NULL, 0);
    if (rc != 0) {
        lt_check(0, "could not start %s", opts.server);
        lt_server_cleanup(&srv, 1);
    } else {
        lt_conn *keeper = open_conn(srv.port);
        if (keeper) {
            test_config_get(keeper, srv.port);
            lt_test_begin("CONFIG SET: several options, all or nothing");
            test_config_set(keeper, srv.port);
            lt_test_begin("CONFIG GET/SET error texts");
            test_config_errors(keeper);
            lt_test_begin("proto-max-bulk-len");
            test_proto_max_bulk_len(keeper, srv.port);
            lt_test_begin("client-query-buffer-limit");
            test_query_buffer_limit(keeper, srv.port);
            lt_test_begin("client-output-buffer-limit: hard and soft limits");
            test_output_buffer_limit(keeper, srv.port);
            if (!opts.reference) {
                lt_test_begin("client-reply-max-size: an error for one reply, a close for many");
                test_reply_max_size(keeper, srv.port);
            }
            lt_test_begin("timeout closes an idle client, not an active one");
            test_timeout(keeper, srv.port);
            lt_test_begin("requirepass: NOAUTH, AUTH, HELLO AUTH, limits before AUTH");
            test_requirepass(keeper, srv.port);
            lt_test_begin("the server survives every limit above");
            lt_check(lt_server_alive(&srv), "the server died during the limit tests");
            lt_test_begin("SIGINT and SHUTDOWN NOSAVE exit 0 and keep the data");
            test_shutdown(&srv, &keeper);
            if (!opts.reference && srv.pid > 0) {
                lt_test_begin("a second server on the same dir refuses, naming the lock");
                test_second_server(&srv);
            }
            lt_conn_close(keeper);
        }
        if (srv.pid > 0) {
            lt_test_begin("the final SIGTERM exits with status 0");
            int st = lt_server_stop(&srv);
            lt_check(st == 0, "final SIGTERM: exit status %d", st);
        }
        lt_server_cleanup(&srv, lt_checks_failed() > 0);
    }

    lt_test_begin("maxclients: the error, the close, a freed slot taken again");
    test_maxclients();
    lt_test_begin("config file with include and quotes, CONFIG REWRITE, restart");
    test_config_file();
    lt_test_end();

    if (lt_checks_failed())
        printf("%s: kept %s\n", NAME, work);
    else
        nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%s: %s, %lld ms\n", NAME, server_display(), lt_now_ms() - t0);
    return lt_report(NAME);
}
