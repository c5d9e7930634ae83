/*
 * client.c: client lifecycle, reading and parsing requests, writing replies.
 *
 * A complete request goes up through the request hook (net.h). Reading never
 * hands up a request of a parked or blocked client: its bytes wait in the
 * query buffer until the command before has run (order is kept). Replies
 * are written by clients_write_pending(), called after the log write.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"
#include "net/client.h"
#include "net/net.h"
#include "net/reply.h"

#define READ_CHUNK (16 * 1024)
/* A query buffer bigger than this (bytes that piled up while the client
 * was parked or blocked) is freed as soon as it is consumed, rather than
 * kept until the client is idle. */
#define QBUF_KEEP (4 * READ_CHUNK)

struct net_settings net_settings;
struct net net;
struct net_stats net_stats;

static long long clients_closing; /* clients flagged CLIENT_CLOSE_ASAP */
#define WRITE_MAX_PER_CALL (1024 * 1024)

static void client_read_handler(ev_loop *l, int fd, void *data, int mask)
{
    client_read(data);
}

static void client_write_handler(ev_loop *l, int fd, void *data, int mask)
{
    client_write(data);
}

void net_set_hooks(const struct net_hooks *h)
{
    net.hooks = *h;
}

client *client_create(int fd, unsigned flags)
{
    client *c = heap_calloc(1, sizeof(*c));
    c->id = ++net.next_client_id;
    c->fd = fd;
    c->flags = flags;
    c->resp = 2;
    c->authenticated = net_settings.requirepass[0] == 0;
    c->ctime_ms = c->last_ms = util_mstime();
    resp_init(&c->parser, net_settings.proto_max_bulk_len);
    c->parser.authenticated = c->authenticated;
    if (fd >= 0 && ev_add(net.loop, fd, EV_READ, client_read_handler, c) < 0) {
        free(c);
        return NULL;
    }
    c->next = net.clients;
    if (net.clients)
        net.clients->prev = c;
    net.clients = c;
    net.nclients++;
    if (net.hooks.created)
        net.hooks.created(c);
    return c;
}

void client_reset_argv(client *c)
{
    for (int i = 0; i < c->argc; i++)
        str_free(c->argv[i]);
    free(c->argv);
    c->argv = NULL;
    c->argc = 0;
    c->cmd = NULL;
    c->argv_bytes = 0;
}

static void client_free_replies(client *c)
{
    struct reply_block *b = c->reply_head;
    while (b) {
        struct reply_block *n = b->next;
        free(b);
        b = n;
    }
    c->reply_head = c->reply_tail = NULL;
    c->reply_bytes = 0;
    c->sent_in_head = 0;
}

void client_free(client *c)
{
    if (net.current == c)
        net.current = NULL;
    if (net.hooks.freed)
        net.hooks.freed(c);
    if (c->fd >= 0) {
        ev_del(net.loop, c->fd, EV_READ | EV_WRITE);
        close(c->fd);
        c->fd = -1;
    }
    if (c->flags & CLIENT_PENDING_WRITE) {
        for (client **p = &net.pending_writes; *p; p = &(*p)->pw_next) {
            if (*p == c) {
                *p = c->pw_next;
                break;
            }
        }
    }
    if (c->flags & CLIENT_CLOSE_ASAP)
        clients_closing--;
    if (c->prev)
        c->prev->next = c->next;
    else
        net.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    net.nclients--;
    client_reset_argv(c);
    resp_reset(&c->parser);
    client_free_replies(c);
    free(c->wranges);
    free(c->qbuf);
    str_free(c->name);
    str_free(c->lib_name);
    str_free(c->lib_ver);
    free(c);
}

void client_close_async(client *c)
{
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    c->flags |= CLIENT_CLOSE_ASAP;
    clients_closing++;
    /* stop reading now; the write side is gone too */
    if (c->fd >= 0)
        ev_del(net.loop, c->fd, EV_READ | EV_WRITE);
}

void clients_free_closing(void)
{
    if (!clients_closing)
        return;
    client *c = net.clients;
    while (c) {
        client *next = c->next;
        if ((c->flags & CLIENT_CLOSE_ASAP) && !(c->flags & CLIENT_IN_CALL))
            client_free(c);
        c = next;
    }
}

/* A client that must close after its reply is written goes through the
 * pending-write list even when it has nothing left to send. */
static void client_queue_close(client *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE)) {
        c->flags |= CLIENT_PENDING_WRITE;
        c->pw_next = net.pending_writes;
        net.pending_writes = c;
    }
}

static void client_check_qbuf_limit(client *c)
{
    size_t pending = c->qlen - c->qpos + resp_pending_bytes(&c->parser);
    if ((long long)pending > net_settings.client_query_buffer_limit) {
        log_warning("Closing client that reached max query buffer length: id=%llu (qbuf "
                    "initial bytes: %zu bytes)",
                    (unsigned long long)c->id, pending);
        client_close_async(c);
    }
}

void client_process_input(client *c)
{
    while (!(c->flags &
             (CLIENT_PARKED | CLIENT_BLOCKED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) &&
           c->qpos < c->qlen) {
        size_t consumed = 0;
        size_t start = c->qpos;
        c->parser.authenticated = c->authenticated;
        c->parser.max_bulk_len = net_settings.proto_max_bulk_len;
        enum resp_status st =
            resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &consumed);
        c->qpos += consumed;
        if (st == RESP_AGAIN)
            break;
        if (st == RESP_ERROR) {
            log_verbose("Protocol error (%s) from client: id=%llu addr=%s", c->parser.error,
                        (unsigned long long)c->id, c->addr);
            reply_error(c, c->parser.error);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            resp_reset(&c->parser);
            break;
        }
        c->req_bytes = c->qpos - start;
        c->argv = resp_take_argv(&c->parser, &c->argc);
        resp_reset(&c->parser);
        if (c->argc == 0) {
            client_reset_argv(c);
            continue;
        }
        c->last_ms = util_mstime();
        net.hooks.request(c);
        if (!(c->flags & (CLIENT_PARKED | CLIENT_BLOCKED)))
            client_reset_argv(c);
    }
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        client_queue_close(c);
    if (c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
        if (c->qcap > QBUF_KEEP) {
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
    } else if (c->qpos > 0 && c->qpos >= c->qcap / 2) {
        memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
        c->qlen -= c->qpos;
        c->qpos = 0;
    }
}

void client_read(client *c)
{
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    size_t want = READ_CHUNK;
    if (c->qcap - c->qlen < want) {
        if (c->qpos > 0) {
            memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
            c->qlen -= c->qpos;
            c->qpos = 0;
        }
        if (c->qcap - c->qlen < want) {
            size_t ncap = c->qcap ? c->qcap * 2 : READ_CHUNK;
            while (ncap - c->qlen < want)
                ncap *= 2;
            char *nb = heap_realloc(c->qbuf, ncap);
            c->qbuf = nb;
            c->qcap = ncap;
        }
    }
    /* At most 16 KiB per read, parsed before the next one, as Redis does:
     * the protocol's 64 KiB line limits depend on what is buffered. */
    ssize_t n = read(c->fd, c->qbuf + c->qlen, want);
    net_stats.reads++;
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        log_verbose("Reading from client: %s", strerror(errno));
        client_close_async(c);
        return;
    }
    if (n == 0) {
        client_close_async(c);
        return;
    }
    c->qlen += (size_t)n;
    net_stats.net_input_bytes += n;
    c->last_ms = util_mstime();
    client_check_qbuf_limit(c);
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    client_process_input(c);
}

/* ---- writing ------------------------------------------------------------- */

int client_write(client *c)
{
    size_t total = 0;
    while (c->reply_head) {
        /* only what the log writes so far have released */
        uint64_t allowed = c->release_mark > c->sent_total ? c->release_mark - c->sent_total : 0;
        struct iovec iov[64];
        int n = 0;
        size_t bytes = 0;
        size_t off = c->sent_in_head;
        for (struct reply_block *b = c->reply_head; b && n < 64 && bytes < allowed; b = b->next) {
            if (b->used > off) {
                size_t len = b->used - off;
                if (len > allowed - bytes)
                    len = (size_t)(allowed - bytes);
                iov[n].iov_base = b->buf + off;
                iov[n].iov_len = len;
                bytes += len;
                n++;
            }
            off = 0;
        }
        if (n == 0) {
            if (allowed && c->reply_bytes == 0)
                client_free_replies(c);
            break;
        }
        ssize_t w = writev(c->fd, iov, n);
        net_stats.writes++;
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            log_verbose("Error writing to client: %s", strerror(errno));
            client_free(c);
            return -1;
        }
        net_stats.net_output_bytes += w;
        total += (size_t)w;
        c->reply_bytes -= (size_t)w;
        c->sent_total += (uint64_t)w;
        size_t left = (size_t)w;
        while (left && c->reply_head) {
            struct reply_block *b = c->reply_head;
            size_t avail = b->used - c->sent_in_head;
            if (left >= avail) {
                left -= avail;
                c->reply_head = b->next;
                if (!c->reply_head)
                    c->reply_tail = NULL;
                free(b);
                c->sent_in_head = 0;
            } else {
                c->sent_in_head += left;
                left = 0;
            }
        }
        /* drop emptied placeholder blocks at the head */
        while (c->reply_head && c->reply_head->used == 0 && c->reply_head->next) {
            struct reply_block *b = c->reply_head;
            c->reply_head = b->next;
            free(b);
        }
        if ((size_t)w < bytes || total >= WRITE_MAX_PER_CALL)
            break;
    }
    if (c->reply_head && c->reply_head->used == c->sent_in_head && !c->reply_head->next) {
        client_free_replies(c);
    }
    if (!c->reply_head || c->reply_bytes == 0) {
        client_free_replies(c);
        ev_del(net.loop, c->fd, EV_WRITE);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            client_free(c);
            return -1;
        }
    } else if (c->release_mark > c->sent_total) {
        if (!(ev_mask(net.loop, c->fd) & EV_WRITE))
            ev_add(net.loop, c->fd, EV_WRITE, client_write_handler, c);
    } else {
        ev_del(net.loop, c->fd, EV_WRITE); /* the rest waits for its log write */
    }
    return 0;
}

void clients_write_pending(void)
{
    client *c = net.pending_writes;
    net.pending_writes = NULL;
    while (c) {
        client *next = c->pw_next;
        c->flags &= ~CLIENT_PENDING_WRITE;
        c->pw_next = NULL;
        c->release_mark = c->sent_total + c->reply_bytes;
        c->nwranges = 0;
        if (!(c->flags & CLIENT_CLOSE_ASAP) && c->fd >= 0) {
            if (!(ev_mask(net.loop, c->fd) & EV_WRITE))
                client_write(c);
        }
        c = next;
    }
}

void clients_write_pending_failed(const char *err)
{
    for (client *c = net.pending_writes; c; c = c->pw_next)
        client_fail_writes(c, err);
    clients_write_pending();
}

static int client_over_obuf_limit(client *c, int64_t now)
{
    if (net_settings.obuf_hard && (long long)c->reply_bytes > net_settings.obuf_hard)
        return 1;
    if (net_settings.obuf_soft && (long long)c->reply_bytes > net_settings.obuf_soft) {
        if (!c->obuf_soft_since)
            c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since >= net_settings.obuf_soft_secs * 1000)
            return 1;
    } else {
        c->obuf_soft_since = 0;
    }
    return 0;
}

int client_is_live(const client *c, uint64_t id)
{
    for (const client *x = net.clients; x; x = x->next)
        if (x == c)
            return x->id == id;
    return 0;
}

void clients_cron(void)
{
    int64_t now = util_mstime();
    client *c = net.clients;
    while (c) {
        client *next = c->next;
        if (c->flags & CLIENT_CLOSE_ASAP) {
            /* freed by clients_free_closing() */
        } else if (net_settings.timeout && !(c->flags & (CLIENT_PARKED | CLIENT_BLOCKED)) &&
                   now / 1000 - c->last_ms / 1000 > net_settings.timeout) {
            /* whole seconds, as Redis counts idle time */
            log_verbose("Closing idle client");
            client_free(c);
        } else if (c->qcap && c->qpos == c->qlen && !(c->flags & CLIENT_PARKED) &&
                   now - c->last_ms >= 2000) {
            /* an idle client gives its query buffer back (as Redis does) */
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = c->qlen = c->qpos = 0;
        } else if (client_over_obuf_limit(c, now)) {
            net_stats.obuf_disconnections++;
            log_warning("Client id=%llu scheduled to be closed ASAP for overcoming of output "
                        "buffer limits.",
                        (unsigned long long)c->id);
            client_free(c);
        }
        c = next;
    }
}
