/*
 * net.h: the network layer's settings, state and hooks.
 *
 * net/ owns the event loop, the listening sockets and the connections:
 * reading and parsing requests, buffering and writing replies, limits and
 * timeouts. It knows nothing of commands or the keyspace: a parsed request
 * goes up through the `request` hook, a client about to be freed through
 * `freed`, and an error reply through `error_reply`, all registered at
 * start-up by the layer that runs commands (cmd/, wired by server/).
 *
 * Settings are written by server/'s config table at start-up and on
 * CONFIG SET; net/ reads them where they apply (the next accept, read,
 * reply or cron pass).
 */
#ifndef LT_NET_NET_H
#define LT_NET_NET_H

#include <stdint.h>

#include "net/client.h"
#include "net/event.h"

struct net_settings {
    int port;
    char *bind; /* space-separated addresses; "-" before one: optional */
    int protected_mode;
    char *requirepass; /* "" when none: new clients are authenticated */
    long long maxclients;
    long long timeout; /* idle seconds before a client is closed; 0: never */
    long long tcp_keepalive;
    long long tcp_backlog;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    /* client-output-buffer-limit of the normal class: hard bytes, soft
     * bytes, soft seconds (0: no limit) */
    long long obuf_hard, obuf_soft, obuf_soft_secs;
    /* client-reply-max-size (longtail's own): the most one command's reply
     * may hold, and the most a client's unsent replies may hold after a
     * command (reply_meter_end) */
    long long reply_max;
};
extern struct net_settings net_settings;

struct net_hooks {
    /* a new client: the layers above set their defaults (its db) */
    void (*created)(client *c);
    /* a complete request is in c->argc/argv: run it (it may park or block
     * the client: then CLIENT_PARKED or CLIENT_BLOCKED is set) */
    void (*request)(client *c);
    /* c is about to be freed: forget every reference to it */
    void (*freed)(client *c);
    /* an error reply goes to c; code is its first word ("ERR", "WRONGTYPE") */
    void (*error_reply)(client *c, const char *code, size_t len);
};
void net_set_hooks(const struct net_hooks *h);

struct net {
    struct net_hooks hooks;
    ev_loop *loop;
    client *clients; /* all clients, linked */
    long long nclients;
    uint64_t next_client_id;
    client *pending_writes; /* clients with replies to write */
    client *current;        /* the client whose request runs now (set by the layer above) */
    int listen_fds[16];
    int nlisten;
};
extern struct net net;

struct net_stats {
    long long numconnections, rejected_conn;
    long long net_input_bytes, net_output_bytes;
    long long reads, writes;       /* read/write system calls on client sockets */
    long long obuf_disconnections; /* clients closed for their unsent replies */
    long long reply_max_errors;    /* replies refused for client-reply-max-size */
};
extern struct net_stats net_stats;

/* listen.c: opens the sockets of net_settings.bind/port. 0 or -1. */
int listen_start(void);
void listen_stop(void);
/* Re-opens the listening sockets after a change of port or bind; on
 * failure the old sockets stay. 0 or -1. */
int listen_restart(void);

#endif
