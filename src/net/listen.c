/*
 * listen.c: listening sockets (`bind`, `port`) and accepting clients
 * (maxclients, protected mode, TCP options).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/client.h"
#include "net/net.h"
#include "net/event.h"
#include "net/resp.h"
#include "ds/log.h"

static void format_addr(const struct sockaddr_storage *sa, char *out, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
        snprintf(out, size, "%s:%d", ip, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
        snprintf(out, size, "%s:%d", ip, port);
    } else {
        snprintf(out, size, "?:0");
    }
}

static int addr_is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
            return s->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static const char protected_msg[] =
    "-DENIED longtail is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers, you may: 1) Disable "
    "protected mode with 'CONFIG SET protected-mode no' from the loopback interface. 2) Set a "
    "password with 'CONFIG SET requirepass <password>'. 3) Start the server with "
    "'--protected-mode no'. 4) Bind to specific addresses with the 'bind' option.\r\n";

static void accept_handler(ev_loop *l, int lfd, void *data, int mask)
{
    for (int i = 0; i < 1000; i++) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warning("Accepting client connection: %s", strerror(errno));
            return;
        }
        net_stats.numconnections++;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (net_settings.tcp_keepalive > 0) {
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            int idle = (int)net_settings.tcp_keepalive;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
            int intvl = idle / 3 ? idle / 3 : 1;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
            int cnt = 3;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        }
        if (net.nclients >= net_settings.maxclients) {
            static const char msg[] = "-ERR max number of clients reached\r\n";
            ssize_t w = write(fd, msg, sizeof(msg) - 1);
            (void)w;
            close(fd);
            net_stats.rejected_conn++;
            continue;
        }
        if (net_settings.protected_mode && !net_settings.requirepass[0] && !addr_is_loopback(&sa)) {
            ssize_t w = write(fd, protected_msg, sizeof(protected_msg) - 1);
            (void)w;
            close(fd);
            net_stats.rejected_conn++;
            continue;
        }
        client *c = client_create(fd, 0);
        if (!c) {
            close(fd);
            continue;
        }
        format_addr(&sa, c->addr, sizeof(c->addr));
        struct sockaddr_storage la;
        socklen_t lalen = sizeof(la);
        if (getsockname(fd, (struct sockaddr *)&la, &lalen) == 0)
            format_addr(&la, c->laddr, sizeof(c->laddr));
    }
}

static int listen_one(const char *addr, int optional)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    char port[16];
    snprintf(port, sizeof(port), "%d", net_settings.port);
    const char *host = addr;
    if (!strcmp(addr, "*"))
        host = NULL, hints.ai_family = AF_INET;
    else if (!strcmp(addr, "::*"))
        host = NULL, hints.ai_family = AF_INET6;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        if (optional)
            return 0;
        log_warning("Could not create server TCP listening socket %s:%d: %s", addr,
                    net_settings.port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, (int)net_settings.tcp_backlog) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        if (optional && (err == EADDRNOTAVAIL || err == EAFNOSUPPORT || err == EPROTONOSUPPORT))
            return 0;
        log_warning("Could not create server TCP listening socket %s:%d: %s", addr,
                    net_settings.port, strerror(err));
        return -1;
    }
    freeaddrinfo(res);
    if (net.nlisten >= (int)(sizeof(net.listen_fds) / sizeof(int))) {
        close(fd);
        return 0;
    }
    net.listen_fds[net.nlisten++] = fd;
    ev_add(net.loop, fd, EV_READ, accept_handler, NULL);
    return 0;
}

int listen_start(void)
{
    if (net_settings.port == 0)
        return 0;
    int argc;
    str *argv = resp_split_args(net_settings.bind, strlen(net_settings.bind), &argc);
    if (!argv)
        return -1;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int optional = a[0] == '-';
        rc = listen_one(optional ? a + 1 : a, optional);
    }
    resp_free_args(argv, argc);
    if (rc == 0 && net.nlisten == 0) {
        log_warning("Configured to not listen anywhere, exiting.");
        return -1;
    }
    return rc;
}

void listen_stop(void)
{
    for (int i = 0; i < net.nlisten; i++) {
        ev_del(net.loop, net.listen_fds[i], EV_READ);
        close(net.listen_fds[i]);
    }
    net.nlisten = 0;
}

int listen_restart(void)
{
    int old[16], nold = net.nlisten;
    memcpy(old, net.listen_fds, sizeof(int) * (size_t)nold);
    net.nlisten = 0;
    if (listen_start() < 0) {
        for (int i = 0; i < net.nlisten; i++) {
            ev_del(net.loop, net.listen_fds[i], EV_READ);
            close(net.listen_fds[i]);
        }
        memcpy(net.listen_fds, old, sizeof(int) * (size_t)nold);
        net.nlisten = nold;
        return -1;
    }
    for (int i = 0; i < nold; i++) {
        ev_del(net.loop, old[i], EV_READ);
        close(old[i]);
    }
    return 0;
}
