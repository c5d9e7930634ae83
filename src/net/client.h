/*
 * client.h: a connected client: its socket, query buffer and parser, the
 * request being run, its reply buffers, and the state the layers above
 * keep per client (opaque pointers here: net/ never looks inside them).
 *
 * Replies accumulate in the client's buffers and are written to the socket
 * only after the loop iteration's effects are in the effect log (server.c
 * before_sleep), so no reply leaves before its write is durable.
 */
#ifndef LT_NET_CLIENT_H
#define LT_NET_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ds/str.h"
#include "net/resp.h"

struct db;
struct command;
struct blocking;
struct multi_state;
struct known_keys;

/* Client flags: net/'s own, and the ones the layers above set (net/ only
 * stops reading a client's requests while it is PARKED or BLOCKED). */
#define CLIENT_CLOSE_AFTER_REPLY (1u << 0) /* QUIT, protocol error */
#define CLIENT_CLOSE_ASAP        (1u << 1) /* freed at the next before_sleep */
#define CLIENT_PARKED            (1u << 2) /* waiting for storage reads */
#define CLIENT_PENDING_WRITE     (1u << 3) /* in server.pending_writes */
#define CLIENT_REPLY_OFF         (1u << 4) /* CLIENT REPLY OFF */
#define CLIENT_REPLY_SKIP_NEXT   (1u << 5) /* CLIENT REPLY SKIP, for the next command */
#define CLIENT_REPLY_SKIP        (1u << 6) /* skip the reply of the current command */
#define CLIENT_NO_EVICT          (1u << 7) /* CLIENT NO-EVICT on */
#define CLIENT_IN_CALL           (1u << 8) /* running a command */
#define CLIENT_UNIX              (1u << 9)
#define CLIENT_BLOCKED           (1u << 10) /* waiting on keys (server/blocked.h) */
#define CLIENT_RERUN             (1u << 11) /* its blocked command is being re-run */
#define CLIENT_RERUN_WAITS       (1u << 12) /* ... and found nothing: stays blocked */
#define CLIENT_UNBLOCKED         (1u << 13) /* queued to run its pipelined input */
#define CLIENT_MULTI             (1u << 15) /* in MULTI: commands are queued (server/multi.h) */
#define CLIENT_DIRTY_CAS         (1u << 16) /* a WATCHed key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC        (1u << 17) /* a command was rejected while queueing */
#define CLIENT_IN_EXEC           (1u << 18) /* running EXEC's queue: nothing may block */
#define CLIENT_REPLY_METERED     (1u << 19) /* a command runs: its reply is measured */
#define CLIENT_REPLY_OVERFLOW    (1u << 20) /* ... and outgrew client-reply-max-size */
#define CLIENT_THROTTLED         (1u << 21) /* PARKED: its write waits for checkpoints (cmd/) */

#define REPLY_CHUNK (16 * 1024)

struct reply_block {
    struct reply_block *next;
    size_t size, used;
    char buf[];
};

typedef struct client {
    uint64_t id;
    uint64_t arrival; /* order in which its current command arrived (cmd/) */
    int fd;
    unsigned flags;
    int resp; /* 2 or 3 */
    int authenticated;
    int dbindex;
    struct db *db;
    str name; /* CLIENT SETNAME, or NULL */
    str lib_name, lib_ver;
    char addr[64], laddr[64];

    /* input */
    char *qbuf;
    size_t qlen, qpos, qcap;
    struct resp_parser parser;
    int argc;
    str *argv;
    const struct command *cmd, *lastcmd;
    size_t argv_bytes;
    size_t req_bytes; /* bytes of the request being run (CLIENT LIST qbuf=) */

    /* output */
    struct reply_block *reply_head, *reply_tail;
    size_t reply_bytes; /* bytes queued, not yet written */
    /* Replies leave only once the writes before them are logged: bytes are
     * counted from the connection's start; release_mark is how far the
     * socket may be written. */
    uint64_t sent_total, release_mark;
    /* Ranges of queued reply bytes (same coordinates) that acknowledge a
     * write: if the write cannot be made durable they are replaced by an
     * error before they are released (client_fail_writes). */
    struct reply_range {
        uint64_t start, end;
    } * wranges;
    int nwranges, wranges_cap;
    size_t sent_in_head;     /* bytes of reply_head already written */
    int64_t obuf_soft_since; /* ms when the soft limit was first exceeded, 0 if not */
    uint64_t reply_base;     /* reply_mark when the running command began */
    /* deferred length (array/map size known only at the end) */

    /* timing */
    int64_t ctime_ms, last_ms;
    long long commands;      /* commands run (for CLIENT LIST tot-... not in 7.0) */
    uint64_t errors_replied; /* error replies sent so far */
    /* of a blocked command (cmd/): how long its runs took, and errors_replied
     * when it blocked (it is counted as one call when it is over) */
    long long block_run_us;
    uint64_t block_errors;

    /* blocking commands (server/blocked.c) */
    struct blocking *blk;
    /* MULTI queue and WATCHed keys (server/multi.c), NULL until used */
    struct multi_state *mstate;

    /* what the prefetch of its command learned of the keys (cmd/, tier/) */
    struct known_keys *known;

    /* a write held back while checkpoints catch up (cmd/): its timer, and
     * when it began to wait (monotonic us) */
    long long throttle_timer;
    uint64_t throttle_since_us;

    struct client *prev, *next; /* all clients */
    struct client *pw_next;     /* pending writes list */
} client;

client *client_create(int fd, unsigned flags);
/* Frees now (not from inside its own command). */
void client_free(client *c);
/* Frees at the next before_sleep (safe anywhere). */
void client_close_async(client *c);
/* Frees the clients flagged by client_close_async (before_sleep). */
void clients_free_closing(void);
/* Reads from the socket, parses and runs what is complete. */
void client_read(client *c);
/* Runs the commands in the query buffer until it is empty, the client is
 * parked, or it must close. */
void client_process_input(client *c);
/* Writes queued replies; 0, or -1 if the client was freed. */
int client_write(client *c);
/* Frees argv of the last command. */
void client_reset_argv(client *c);
/* Writes every pending reply: the writes they acknowledge are in the
 * effect log. */
void clients_write_pending(void);
/* The same when the effect log could not be written: every write
 * acknowledgement not sent yet becomes the error reply err
 * (client_fail_writes), and the rest goes. */
void clients_write_pending_failed(const char *err);
/* Reply bytes [start, end) of c acknowledge a write (the layer that runs
 * commands says so after each write command). */
void client_mark_write_reply(client *c, uint64_t start, uint64_t end);
/* The writes whose acknowledgements c has not been sent yet cannot be made
 * durable: each such reply becomes the error reply err (an error line
 * without "-" and CRLF), and every queued reply of c is released. */
void client_fail_writes(client *c, const char *err);
/* Closes clients idle longer than `timeout` and those over limits. */
void clients_cron(void);
/* 1 when c is still a connected client with that id (not freed). */
int client_is_live(const client *c, uint64_t id);

#endif
