/*
 * lt-badinput: malformed and hostile input must give Redis's protocol errors
 * and closed connections, never a crash, and never touch the data.
 *
 *   lt-badinput [--server PATH] [--reference] [-v]
 *
 * - protocol errors (huge or negative lengths, bad length lines, an inline
 *   line of 1 MB, unbalanced quotes...): the exact error, then the close;
 * - unterminated bulks and commands cut short, then the client leaves;
 * - random bytes and mutated commands on many connections;
 * - 10 000 connections opened and dropped (some mid-command, some reset);
 * - a pipeline of 10 000 commands in one write;
 * throughout: a connection opened at the start keeps working, the server
 * stays up, and the keys written at the start are intact (DBSIZE exact).
 * Each item above is one test (harness.h). Everything here is plain Redis
 * behaviour, so --reference runs it all.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DATA_KEYS    1000
#define CONNECTIONS  10000
#define CONN_BATCH   500
#define RANDOM_CONNS 300

static lt_server srv;
static lt_opts opts;

/* Everything the server sends until it closes the connection (or timeout). */
static int read_until_close(lt_conn *c, lt_buf *got, int timeout_ms)
{
    if (c->len > c->off)
        lt_buf_append(got, c->buf + c->off, c->len - c->off);
    c->off = c->len = 0;
    char chunk[65536];
    for (int waited = 0; waited < timeout_ms;) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int step = timeout_ms - waited < 50 ? timeout_ms - waited : 50;
        int pr = poll(&pfd, 1, step);
        if (pr <= 0) {
            waited += step;
            continue;
        }
        ssize_t n = read(c->fd, chunk, sizeof(chunk));
        if (n > 0) {
            lt_buf_append(got, chunk, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return 1; /* EOF or reset: closed */
    }
    return 0;
}

static void escape_print(const char *label, const char *p, size_t n)
{
    lt_buf b = {0};
    lt_escape(&b, p, n > 300 ? 300 : n);
    printf("    %s\"%s\"%s\n", label, b.p ? b.p : "", n > 300 ? "..." : "");
    free(b.p);
}

/* Send "input"; expect exactly "expected" back, then the close. */
static void expect_protocol_error(const char *what, const char *input, size_t n,
                                  const char *expected)
{
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "%s: cannot connect", what))
        return;
    /* The server may close while we still send (1 MB inline): that is fine. */
    lt_conn_send_raw(c, input, n);
    lt_buf got = {0};
    int closed = read_until_close(c, &got, 5000);
    int same = got.len == strlen(expected) && memcmp(got.p, expected, got.len) == 0;
    if (!lt_check_replied(same && closed, "%s: %s", what,
                          closed ? "wrong reply" : "the connection was left open")) {
        escape_print("expected: ", expected, strlen(expected));
        escape_print("got:      ", got.p ? got.p : "", got.len);
    }
    free(got.p);
    lt_conn_close(c);
}

static void test_protocol_errors(void)
{
    expect_protocol_error("*999999999999", "*999999999999\r\n", 15,
                          "-ERR Protocol error: invalid multibulk length\r\n");
    expect_protocol_error("$-5", "*1\r\n$-5\r\n", 9,
                          "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("*abc", "*abc\r\n", 6,
                          "-ERR Protocol error: invalid multibulk length\r\n");
    expect_protocol_error("$abc", "*1\r\n$abc\r\n", 10,
                          "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("bulk over proto-max-bulk-len", "*1\r\n$600000000\r\n", 16,
                          "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("huge bulk length", "*1\r\n$99999999999999999999999\r\n", 30,
                          "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("no $", "*1\r\nfoo\r\n", 9,
                          "-ERR Protocol error: expected '$', got 'f'\r\n");
    expect_protocol_error("unbalanced quotes", "SET \"a b\r\n", 10,
                          "-ERR Protocol error: unbalanced quotes in request\r\n");
    expect_protocol_error("error after a good command", "PING\r\n*1\r\n$-5\r\nPING\r\n", 21,
                          "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");

    size_t big = 70000;
    char *p = malloc(1048576 + 2);
    memcpy(p, "*1\r\n$", 5);
    memset(p + 5, '1', big);
    expect_protocol_error("70 KB bulk length line", p, big + 5,
                          "-ERR Protocol error: too big bulk count string\r\n");
    p[0] = '*';
    memset(p + 1, '1', big);
    expect_protocol_error("70 KB multibulk length line", p, big + 1,
                          "-ERR Protocol error: too big mbulk count string\r\n");
    memset(p, 'a', 1048576);
    memcpy(p + 1048576, "\r\n", 2);
    expect_protocol_error("1 MB inline line", p, 1048578,
                          "-ERR Protocol error: too big inline request\r\n");
    free(p);
}

/* Commands cut short, then the client leaves: nothing is executed. */
static void test_unterminated(void)
{
    static const char *inputs[] = {
        "*3\r\n$3\r\nSET\r\n$5\r\ncut:1\r\n$100\r\nabc",
        "*3\r\n$3\r\nSET\r\n$5\r\ncut:2\r\n$1\r\nv",
        "*3\r\n$3\r\nSET\r\n$5\r\ncut:3\r\n",
        "*3\r\n$3\r\nSET\r\n$5\r\ncut:4",
        "*3\r\n$3\r\nSET\r\n$",
        "*3\r\n",
        "*",
        "SET cut:5 v",
        "*3\r\n$3\r\nSET\r\n$5\r\ncut:6\r\n$1\r\nv\r",
    };
    size_t n = sizeof(inputs) / sizeof(inputs[0]);
    for (size_t i = 0; i < n; i++) {
        lt_conn *c = lt_conn_open(srv.port, 5000);
        if (!lt_check(c != NULL, "unterminated %zu: cannot connect", i))
            continue;
        lt_conn_send_raw(c, inputs[i], strlen(inputs[i]));
        /* Nothing may come back: the command is not complete. */
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, 100);
        lt_check(pr == 0, "unterminated input %zu got a reply or a close", i);
        lt_conn_close(c);
    }
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!c)
        return;
    lt_reply *r =
        lt_conn_call(c, "EXISTS", "cut:1", "cut:2", "cut:3", "cut:4", "cut:5", "cut:6", NULL);
    lt_check_reply(r, ":0", "no cut-short command was executed");
    lt_reply_free(r);
    lt_conn_close(c);
}

/* Random bytes, and valid read-only commands with random bytes changed. */
static void test_random(void)
{
    static const char *seeds[] = {
        "*2\r\n$3\r\nGET\r\n$6\r\ndata:1\r\n",
        "*2\r\n$6\r\nEXISTS\r\n$6\r\ndata:2\r\n",
        "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n",
        "*1\r\n$4\r\nPING\r\n",
        "*2\r\n$3\r\nTTL\r\n$6\r\ndata:3\r\n",
        "GET data:4\r\n",
        "STRLEN \"data:5\"\r\n",
    };
    unsigned long long st = 20240601;
    char buf[4096];
    int alive = 1;
    for (int i = 0; i < RANDOM_CONNS && alive; i++) {
        size_t n;
        if (i % 2 == 0) {
            n = 1 + lt_rand_next(&st) % sizeof(buf);
            for (size_t j = 0; j < n; j++)
                buf[j] = (char)(lt_rand_next(&st) & 0xff);
            if (i % 4 == 0)
                buf[0] = (char)"*$+-:"[lt_rand_next(&st) % 5];
        } else {
            n = 0;
            int cmds = 1 + (int)(lt_rand_next(&st) % 20);
            for (int k = 0; k < cmds; k++) {
                const char *s = seeds[lt_rand_next(&st) % (sizeof(seeds) / sizeof(seeds[0]))];
                size_t l = strlen(s);
                if (n + l > sizeof(buf))
                    break;
                memcpy(buf + n, s, l);
                n += l;
            }
            int flips = 1 + (int)(lt_rand_next(&st) % 4);
            for (int k = 0; k < flips; k++)
                buf[lt_rand_next(&st) % n] = (char)(lt_rand_next(&st) & 0xff);
        }
        lt_conn *c = lt_conn_open(srv.port, 5000);
        if (!c) {
            alive = lt_server_alive(&srv);
            lt_check(0, "random input %d: cannot connect", i);
            continue;
        }
        lt_conn_send_raw(c, buf, n);
        /* Take whatever comes in a short while, then leave. */
        lt_buf got = {0};
        read_until_close(c, &got, 5);
        free(got.p);
        lt_conn_close(c);
        if (i % 50 == 49)
            alive = lt_server_alive(&srv);
    }
    lt_check(lt_server_alive(&srv), "the server died on random input");
}

/* Open and drop CONNECTIONS connections, CONN_BATCH at a time. */
static void test_many_connections(void)
{
    int fds[CONN_BATCH];
    int failed = 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long long t0 = lt_now_ms();
    for (int done = 0; done < CONNECTIONS; done += CONN_BATCH) {
        for (int i = 0; i < CONN_BATCH; i++) {
            fds[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                failed++;
                if (fds[i] >= 0)
                    close(fds[i]);
                fds[i] = -1;
                continue;
            }
            /* A third leave mid-command, a third after a whole command. */
            int kind = (done + i) % 3;
            if (kind == 1 && write(fds[i], "*2\r\n$3\r\nGET\r\n$3\r\nab", 19) < 0)
                failed++;
            if (kind == 2 && write(fds[i], "PING\r\n", 6) < 0)
                failed++;
        }
        for (int i = 0; i < CONN_BATCH; i++) {
            if (fds[i] < 0)
                continue;
            if ((done + i) % 7 == 0) {
                /* Leave with a reset instead of a FIN. */
                struct linger lg = {1, 0};
                setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            }
            close(fds[i]);
        }
    }
    printf("lt-badinput: %d connections opened and dropped in %lld ms\n", CONNECTIONS,
           lt_now_ms() - t0);
    lt_check(failed == 0, "%d of %d connections failed", failed, CONNECTIONS);
    lt_check(lt_server_alive(&srv), "the server died under connection churn");
}

/* One write of 10 000 commands. */
static void test_big_pipeline(lt_conn *c)
{
    lt_buf pipe = {0};
    for (int i = 0; i < 10000; i++) {
        if (i % 2)
            lt_buf_puts(&pipe, "*2\r\n$4\r\nINCR\r\n$8\r\npipeline\r\n");
        else
            lt_buf_puts(&pipe, "INCR pipeline\r\n");
    }
    lt_conn_send_raw(c, pipe.p, pipe.len);
    free(pipe.p);
    int bad = 0;
    for (int i = 0; i < 10000; i++) {
        lt_reply *r;
        if (lt_conn_read(c, &r) != LT_OK) {
            bad = -1;
            break;
        }
        if (r->type != ':' || r->integer != i + 1)
            bad++;
        lt_reply_free(r);
    }
    lt_check(bad == 0, "a pipeline of 10 000 INCRs: %d wrong replies", bad);
    lt_reply *r = lt_conn_call(c, "GETDEL", "pipeline", NULL);
    lt_check_reply(r, "\"10000\"", "pipeline counter");
    lt_reply_free(r);
}

static void write_data(lt_conn *c)
{
    lt_buf pipe = {0};
    for (int i = 0; i < DATA_KEYS; i++) {
        char key[32], val[64];
        sprintf(key, "data:%d", i);
        sprintf(val, "value-%d-\x01\x02", i * 7919);
        const char *argv[3] = {"SET", key, val};
        lt_format_command(&pipe, 3, argv, NULL);
    }
    lt_conn_send_raw(c, pipe.p, pipe.len);
    free(pipe.p);
    int bad = 0;
    for (int i = 0; i < DATA_KEYS; i++) {
        lt_reply *r;
        if (lt_conn_read(c, &r) != LT_OK) {
            bad = -1;
            break;
        }
        bad += r->type != '+';
        lt_reply_free(r);
    }
    lt_check(bad == 0, "writing the data keys: %d failures", bad);
}

static void check_data(lt_conn *c, const char *when)
{
    int bad = 0;
    for (int i = 0; i < DATA_KEYS; i++) {
        char key[32], val[64];
        sprintf(key, "data:%d", i);
        sprintf(val, "value-%d-\x01\x02", i * 7919);
        lt_reply *r = lt_conn_call(c, "GET", key, NULL);
        if (!r || r->type != '$' || r->null || strcmp(r->str, val) != 0)
            bad++;
        lt_reply_free(r);
    }
    lt_check(bad == 0, "%s: %d data keys changed", when, bad);
    lt_reply *r = lt_conn_call(c, "DBSIZE", NULL);
    char want[32];
    sprintf(want, ":%d", DATA_KEYS);
    lt_check_reply(r, want, "DBSIZE");
    lt_reply_free(r);
}

static void check_survivor(lt_conn *keeper, const char *when)
{
    lt_reply *r = lt_conn_call(keeper, "PING", NULL);
    lt_check(r && r->type == '+', "%s: the connection opened at the start no longer works", when);
    lt_reply_free(r);
}

/* With enable-debug-command at its default (no), DEBUG is refused before
 * it runs or is queued, as Redis does: a transaction with it is discarded
 * at EXEC. COMMAND INFO does not show the "protected" flag behind that. */
static void test_protected(void)
{
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "connect"))
        return;
    lt_reply *r = lt_conn_call(c, "MULTI", NULL);
    lt_check_reply(r, "+OK", "MULTI");
    lt_reply_free(r);
    r = lt_conn_call(c, "DEBUG", "SLEEP", "0", NULL);
    lt_check_reply(r,
                   "-ERR DEBUG command not allowed. If the enable-debug-command option is set "
                   "to \"local\", you can run it from a local connection, otherwise you need to "
                   "set this option in the configuration file, and then restart the server.",
                   "DEBUG refused while queueing");
    lt_reply_free(r);
    r = lt_conn_call(c, "EXEC", NULL);
    lt_check_reply(r, "-EXECABORT Transaction discarded because of previous errors.",
                   "EXEC discards the transaction");
    lt_reply_free(r);
    r = lt_conn_call(c, "COMMAND", "INFO", "DEBUG", NULL);
    int ok = r && r->type == '*' && r->n == 1 && r->elem[0]->type == '*' && r->elem[0]->n >= 3;
    if (lt_check(ok, "COMMAND INFO DEBUG")) {
        char *flags = lt_reply_format(r->elem[0]->elem[2]);
        lt_check(!strcmp(flags, "*4[+admin,+noscript,+loading,+stale]"), "DEBUG's flags: %s",
                 flags);
        free(flags);
    }
    lt_reply_free(r);
    lt_conn_close(c);
}

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-badinput") != 0)
        return 2;
    lt_plan(9);
    lt_test_begin("1000 keys written in one pipeline");
    if (lt_server_start(&srv, opts.server, NULL, 0) != 0) {
        lt_check(0, "could not start %s", opts.server);
        lt_server_cleanup(&srv, 1);
        return lt_report("lt-badinput");
    }
    lt_conn *keeper = lt_conn_open(srv.port, 5000);
    if (!keeper) {
        lt_check(0, "cannot connect");
        lt_server_cleanup(&srv, 1);
        return lt_report("lt-badinput");
    }
    keeper->timeout_ms = 30000;
    write_data(keeper);

    lt_test_begin("protocol errors get the exact error, then the close");
    test_protocol_errors();
    check_survivor(keeper, "after protocol errors");
    lt_test_begin("commands cut short are never executed");
    test_unterminated();
    check_survivor(keeper, "after unterminated input");
    lt_test_begin("random and mutated input does not take the server down");
    test_random();
    check_survivor(keeper, "after random input");
    lt_test_begin("DEBUG is refused before it is queued (enable-debug-command no)");
    test_protected();
    lt_test_begin("10 000 connections opened and dropped");
    test_many_connections();
    check_survivor(keeper, "after 10 000 connections");
    lt_test_begin("a pipeline of 10 000 commands in one write");
    test_big_pipeline(keeper);

    /* Every dropped connection is gone from the server's count. */
    lt_test_begin("connected_clients forgets every dropped client; the data is intact");
    long long clients = -1;
    for (int i = 0; i < 100; i++) {
        lt_reply *r = lt_conn_call(keeper, "INFO", "clients", NULL);
        if (lt_info_field(r, "connected_clients", &clients) != 0)
            clients = -1;
        lt_reply_free(r);
        if (clients == 1)
            break;
        lt_sleep_ms(50);
    }
    lt_check(clients == 1, "connected_clients is %lld after every other client left", clients);
    check_data(keeper, "at the end");
    lt_conn_close(keeper);
    lt_test_begin("SIGTERM exits with status 0");
    int st = lt_server_stop(&srv);
    lt_check(st == 0, "SIGTERM: exit status %d", st);
    lt_server_cleanup(&srv, lt_checks_failed() > 0);
    return lt_report("lt-badinput");
}
