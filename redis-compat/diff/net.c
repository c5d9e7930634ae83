/*
 * net.c: the two server processes and a raw RESP client.
 *
 * Servers run as children of lt-diff, each in its own directory under the
 * run's temp root (data/ for --dir, server.log for stdout and stderr), and
 * die with lt-diff (PR_SET_PDEATHSIG), so an interrupted run leaves no server
 * behind. Ports come from the kernel (bind to port 0); a server that loses
 * its port to another process in the meantime is restarted on new ones.
 *
 * The client writes commands as RESP multibulks and reads exactly one
 * complete reply per command, returned as the bytes the server sent: the
 * framing (resp_frame in reply.c) knows every RESP2/RESP3 type, so nested
 * aggregates, attributes and pushes are kept whole. It tracks CLIENT REPLY
 * OFF/SKIP, the only way a command legitimately gets no reply.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

/* ---- client ---------------------------------------------------------------- */

int dconn_open(dconn *c, int port, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    return 0;
}

void dconn_close(dconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    dbuf_free(&c->in);
    c->off = 0;
}

static int arg_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/*
 * Whether the server answers this command, given CLIENT REPLY: OFF silences
 * everything but CLIENT REPLY ON; SKIP silences itself and the next command.
 */
static int reply_expected(dconn *c, int argc, char **argv, const size_t *lens)
{
    int silenced = c->reply_off || c->skip_now;
    int skip_next = 0;
    if (argc == 3 && arg_is(argv[0], lens[0], "client") && arg_is(argv[1], lens[1], "reply")) {
        if (arg_is(argv[2], lens[2], "on")) {
            c->reply_off = 0;
            silenced = 0;
        } else if (arg_is(argv[2], lens[2], "off")) {
            c->reply_off = 1;
            silenced = 1;
        } else if (arg_is(argv[2], lens[2], "skip")) {
            skip_next = !c->reply_off;
            silenced = 1;
        }
    }
    c->skip_now = skip_next;
    return !silenced;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int dconn_send(dconn *c, int argc, char **argv, const size_t *lens, int *expect)
{
    dbuf b = {0};
    dbuf_printf(&b, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        dbuf_printf(&b, "$%zu\r\n", lens[i]);
        dbuf_add(&b, argv[i], lens[i]);
        dbuf_add(&b, "\r\n", 2);
    }
    *expect = reply_expected(c, argc, argv, lens);
    int rc = c->fd >= 0 ? write_all(c->fd, b.p, b.len) : -1;
    dbuf_free(&b);
    return rc;
}

int dconn_read(dconn *c, dbuf *out, int timeout_ms)
{
    dbuf_clear(out);
    double deadline = now_sec() + timeout_ms / 1000.0;
    for (;;) {
        if (c->in.len > c->off) {
            long n = resp_frame(c->in.p + c->off, c->in.len - c->off);
            if (n < 0)
                return -3;
            if (n > 0) {
                dbuf_add(out, c->in.p + c->off, (size_t)n);
                c->off += (size_t)n;
                if (c->off == c->in.len) {
                    c->off = 0;
                    c->in.len = 0;
                }
                return 0;
            }
        }
        if (c->fd < 0)
            return -1;
        int left = (int)((deadline - now_sec()) * 1000);
        if (left <= 0)
            return -2;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return pr == 0 ? -2 : -1;
        if (c->off > 0 && c->off > c->in.len / 2) {
            memmove(c->in.p, c->in.p + c->off, c->in.len - c->off);
            c->in.len -= c->off;
            c->off = 0;
        }
        char tmp[65536];
        ssize_t r = read(c->fd, tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        dbuf_add(&c->in, tmp, (size_t)r);
    }
}

int dconn_call(dconn *c, int argc, char **argv, const size_t *lens, dbuf *out, int timeout_ms)
{
    int expect;
    if (dconn_send(c, argc, argv, lens, &expect) < 0)
        return -1;
    if (!expect) {
        dbuf_clear(out);
        return 1;
    }
    return dconn_read(c, out, timeout_ms);
}

int dconn_callv(dconn *c, dbuf *out, int timeout_ms, ...)
{
    char *argv[64];
    size_t lens[64];
    int argc = 0;
    va_list ap;
    va_start(ap, timeout_ms);
    for (const char *a; argc < 64 && (a = va_arg(ap, const char *)) != NULL; argc++) {
        argv[argc] = (char *)a;
        lens[argc] = strlen(a);
    }
    va_end(ap);
    return dconn_call(c, argc, argv, lens, out, timeout_ms);
}

/* ---- servers --------------------------------------------------------------- */

static int instance_counter;

/* Two distinct ports that were free a moment ago. */
static int pick_ports(int ports[2])
{
    int fds[2] = {-1, -1};
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof(sa);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &sl) < 0) {
            rc = -1;
            break;
        }
        ports[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static pid_t spawn(dserver *s, const char *bin, const char *const *extra)
{
    char data[600], log[600], port[16];
    snprintf(data, sizeof(data), "%s/data", s->root);
    snprintf(log, sizeof(log), "%s/server.log", s->root);
    snprintf(port, sizeof(port), "%d", s->port);
    const char *argv[64];
    int argc = 0;
    argv[argc++] = bin;
    argv[argc++] = "--port";
    argv[argc++] = port;
    argv[argc++] = "--dir";
    argv[argc++] = data;
    argv[argc++] = "--bind";
    argv[argc++] = "127.0.0.1";
    for (int i = 0; extra && extra[i] && argc < 62; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;

    pid_t ppid = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != ppid)
        _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, 0);
        close(nul);
    }
    if (chdir(data) < 0)
        _exit(127);
    execvp(bin, (char *const *)argv);
    fprintf(stderr, "lt-diff: exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

int dserver_alive(dserver *s)
{
    if (s->pid <= 0)
        return 0;
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == s->pid) {
        s->pid = 0;
        return 0;
    }
    return 1;
}

/* 0 once the server answers +PONG, -1 if it died, -2 on timeout. */
static int wait_ready(dserver *s, double deadline)
{
    dbuf out = {0};
    int rc = -2;
    while (now_sec() < deadline) {
        if (!dserver_alive(s)) {
            rc = -1;
            break;
        }
        dconn c;
        if (dconn_open(&c, s->port, 500) == 0) {
            int r = dconn_callv(&c, &out, 500, "PING", NULL);
            dconn_close(&c);
            if (r == 0 && out.len == 7 && memcmp(out.p, "+PONG\r\n", 7) == 0) {
                rc = 0;
                break;
            }
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    dbuf_free(&out);
    return rc;
}

void dserver_log_tail(const dserver *s, dbuf *b, int nlines)
{
    char log[600];
    snprintf(log, sizeof(log), "%s/server.log", s->root);
    FILE *f = fopen(log, "r");
    if (!f) {
        dbuf_printf(b, "    (no log at %s)\n", log);
        return;
    }
    dbuf all = {0};
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
        dbuf_add(&all, tmp, r);
    fclose(f);
    size_t start = all.len;
    int seen = 0;
    while (start > 0 && seen <= nlines) {
        start--;
        if (all.p[start] == '\n' && start + 1 < all.len)
            seen++;
    }
    if (seen > nlines)
        start++;
    dbuf_printf(b, "    --- %s log (%s) ---\n", s->label, log);
    for (size_t i = start; i < all.len;) {
        size_t e = i;
        while (e < all.len && all.p[e] != '\n')
            e++;
        dbuf_puts(b, "    ");
        dbuf_add(b, all.p + i, e - i);
        dbuf_puts(b, "\n");
        i = e + 1;
    }
    dbuf_free(&all);
}

int dserver_start_pair(dserver s[2], const char *const bins[2], const char *const *extra[2],
                       const char *parent, dbuf *err)
{
    static const char *labels[2] = {"redis", "longtail"};
    int n = ++instance_counter;
    for (int i = 0; i < 2; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].label = labels[i];
        snprintf(s[i].root, sizeof(s[i].root), "%s/%s-%d", parent, labels[i], n);
        char data[600];
        snprintf(data, sizeof(data), "%s/data", s[i].root);
        if (mkdir(s[i].root, 0755) < 0 || mkdir(data, 0755) < 0) {
            dbuf_printf(err, "mkdir %s: %s\n", data, strerror(errno));
            return -1;
        }
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        int ports[2];
        if (pick_ports(ports) < 0) {
            dbuf_printf(err, "no free port: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            s[i].port = ports[i];
            s[i].pid = spawn(&s[i], bins[i], extra[i]);
            if (s[i].pid < 0) {
                dbuf_printf(err, "fork: %s\n", strerror(errno));
                s[i].pid = 0;
            }
        }
        double deadline = now_sec() + 20;
        int rc[2];
        for (int i = 0; i < 2; i++)
            rc[i] = s[i].pid > 0 ? wait_ready(&s[i], deadline) : -1;
        if (rc[0] == 0 && rc[1] == 0)
            return 0;
        int timed_out = 0;
        for (int i = 0; i < 2; i++) {
            if (rc[i] == -2)
                timed_out = 1;
            dserver_stop(&s[i]);
        }
        if (timed_out || attempt == 3) {
            for (int i = 0; i < 2; i++) {
                if (rc[i] != 0) {
                    dbuf_printf(err, "%s (%s) did not answer PING on port %d (%s)\n", labels[i],
                                bins[i], s[i].port, rc[i] == -2 ? "timeout" : "exited");
                    dserver_log_tail(&s[i], err, 15);
                }
            }
            return -1;
        }
        /* Most likely a port taken between pick_ports and bind: try new ones. */
    }
    return -1;
}

int dserver_stop(dserver *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    double deadline = now_sec() + 5;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid || (r < 0 && errno != EINTR))
            break;
        if (now_sec() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    s->pid = 0;
    return st;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
