/*
 * conn.c: connection commands: PING ECHO QUIT HELLO AUTH SELECT RESET and
 * CLIENT's subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "ds/version.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "cmd/blocked.h"
#include "cmd/multi.h"

void cmd_ping(client *c)
{
    if (c->argc > 2) {
        reply_error_arity(c);
        return;
    }
    if (c->argc == 1)
        reply_status(c, "PONG");
    else
        reply_bulk_str(c, c->argv[1]);
}

void cmd_echo(client *c)
{
    reply_bulk_str(c, c->argv[1]);
}

void cmd_quit(client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Checks a password for a user; only "default" exists. */
static int auth_check(const char *user, const char *pass)
{
    if (strcmp(user, "default") != 0)
        return 0;
    if (!net_settings.requirepass[0])
        return 1;
    return strcmp(pass, net_settings.requirepass) == 0;
}

void cmd_auth(client *c)
{
    if (c->argc > 3) {
        reply_error_syntax(c);
        return;
    }
    const char *user = c->argc == 3 ? c->argv[1] : "default";
    const char *pass = c->argv[c->argc - 1];
    if (c->argc == 2 && !net_settings.requirepass[0]) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?");
        return;
    }
    if (!auth_check(user, pass)) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    c->authenticated = 1;
    reply_ok(c);
}

static int client_name_valid(const str name)
{
    size_t len = str_len(name);
    for (size_t i = 0; i < len; i++)
        if (name[i] < '!' || name[i] > '~')
            return 0;
    return 1;
}

void cmd_hello(client *c)
{
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (!util_str2ll(c->argv[1], str_len(c->argv[1]), &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options take effect in order, as in Redis: an AUTH before a bad
     * option has authenticated the client. */
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "auth") && more >= 2) {
            if (!auth_check(c->argv[j + 1], c->argv[j + 2])) {
                reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            c->authenticated = 1;
            j += 2;
        } else if (!strcasecmp(c->argv[j], "setname") && more >= 1) {
            str name = c->argv[j + 1];
            if (!client_name_valid(name)) {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special "
                               "characters.");
                return;
            }
            str_free(c->name);
            c->name = str_len(name) ? str_dup(name) : NULL;
            j++;
        } else {
            reply_error_fmt(c, "ERR Syntax error in HELLO option '%s'", c->argv[j]);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the same "
                       "time");
        return;
    }
    if (ver)
        c->resp = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, LT_REDIS_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_long(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_long(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

void cmd_select(client *c)
{
    long long idx;
    if (!util_str2ll(c->argv[1], str_len(c->argv[1]), &idx)) {
        reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    if (idx < INT32_MIN || idx > INT32_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and "
                       "2147483647");
        return;
    }
    if (client_select(c, (int)idx) < 0) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    reply_ok(c);
}

void cmd_reset(client *c)
{
    client_select(c, 0);
    c->resp = 2;
    str_free(c->name);
    c->name = NULL;
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT | CLIENT_NO_EVICT);
    c->authenticated = net_settings.requirepass[0] == 0;
    multi_reset(c);
    reply_status(c, "RESET");
}

/* ---- CLIENT -------------------------------------------------------------- */

void cmd_client_id(client *c)
{
    reply_long(c, (long long)c->id);
}

void cmd_client_setname(client *c)
{
    if (!client_name_valid(c->argv[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    str_free(c->name);
    c->name = str_len(c->argv[2]) ? str_dup(c->argv[2]) : NULL;
    reply_ok(c);
}

void cmd_client_getname(client *c)
{
    if (c->name)
        reply_bulk_str(c, c->name);
    else
        reply_null(c);
}

/* The CLIENT LIST / CLIENT INFO line of c, Redis 7.0's fields (a heap str). */
static str client_info_line(client *c)
{
    char buf[1024];
    int64_t now = util_mstime();
    char flags[16];
    int f = 0;
    if (c->flags & CLIENT_MULTI)
        flags[f++] = 'x';
    if (c->flags & CLIENT_BLOCKED)
        flags[f++] = 'b';
    if (c->flags & CLIENT_DIRTY_CAS)
        flags[f++] = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        flags[f++] = 'c';
    if (c->flags & CLIENT_NO_EVICT)
        flags[f++] = 'e';
    if (c->flags & CLIENT_UNIX)
        flags[f++] = 'U';
    if (f == 0)
        flags[f++] = 'N';
    flags[f] = 0;
    int ev = c->fd >= 0 ? ev_mask(net.loop, c->fd) : 0;
    char events[3];
    int e = 0;
    if (ev & EV_READ)
        events[e++] = 'r';
    if (ev & EV_WRITE)
        events[e++] = 'w';
    events[e] = 0;
    size_t oll = 0;
    for (struct reply_block *b = c->reply_head; b; b = b->next)
        oll++;
    const char *cmdname = c->lastcmd ? c->lastcmd->name : "NULL";
    snprintf(buf, sizeof(buf),
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 "
             "psub=0 ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=%zu rbs=%zu "
             "rbp=%zu obl=0 oll=%zu omem=%zu tot-mem=%zu events=%s cmd=%s user=default "
             "redir=-1 resp=%d",
             (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
             (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_ms) / 1000), flags,
             c->dbindex, multi_queued(c),
             c->qlen - c->qpos + (c->flags & CLIENT_IN_CALL ? c->req_bytes : 0), c->qcap - c->qlen,
             c->argv_bytes, multi_mem(c), c->qcap, c->qcap, oll, c->reply_bytes,
             sizeof(*c) + c->qcap + c->reply_bytes + c->argv_bytes + multi_mem(c), events, cmdname,
             c->resp);
    return str_from_cstr(buf);
}

void cmd_client_info(client *c)
{
    str line = client_info_line(c);
    line = str_cat(line, "\n", 1);
    reply_verbatim(c, line, str_len(line), "txt");
    str_free(line);
}

void cmd_client_list(client *c)
{
    unsigned long long *ids = NULL;
    int nids = 0;
    int type_filter = -1; /* 0 normal, 1 other (never matches: no replicas/pubsub yet) */
    if (c->argc == 4 && !strcasecmp(c->argv[2], "type")) {
        const char *t = c->argv[3];
        if (!strcasecmp(t, "normal"))
            type_filter = 0;
        else if (!strcasecmp(t, "master") || !strcasecmp(t, "replica") || !strcasecmp(t, "slave") ||
                 !strcasecmp(t, "pubsub"))
            type_filter = 1;
        else {
            reply_error_fmt(c, "ERR Unknown client type '%s'", t);
            return;
        }
    } else if (c->argc > 3 && !strcasecmp(c->argv[2], "id")) {
        ids = heap_calloc((size_t)(c->argc - 3), sizeof(*ids));
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (!util_str2ll(c->argv[j], str_len(c->argv[j]), &id) || id <= 0) {
                free(ids);
                reply_error(c, "ERR Invalid client ID");
                return;
            }
            ids[nids++] = (unsigned long long)id;
        }
    } else if (c->argc != 2) {
        reply_error_syntax(c);
        return;
    }
    str out = str_new(NULL, 0);
    if (type_filter != 1) {
        /* oldest first, as Redis lists them */
        client *last = net.clients;
        while (last && last->next)
            last = last->next;
        for (client *x = last; x; x = x->prev) {
            if (x->flags & CLIENT_CLOSE_ASAP)
                continue;
            if (ids) {
                int hit = 0;
                for (int k = 0; k < nids; k++)
                    hit |= ids[k] == x->id;
                if (!hit)
                    continue;
            }
            str line = client_info_line(x);
            out = str_cat(out, line, str_len(line));
            out = str_cat(out, "\n", 1);
            str_free(line);
        }
    }
    free(ids);
    reply_verbatim(c, out, str_len(out), "txt");
    str_free(out);
}

void cmd_client_unblock(client *c)
{
    if (c->argc > 4) {
        reply_error_fmt(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                        "CLIENT HELP.",
                        c->argv[1]);
        return;
    }
    long long id;
    if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &id)) {
        reply_error_not_int(c);
        return;
    }
    int with_error = 0;
    if (c->argc == 4) {
        if (!strcasecmp(c->argv[3], "error")) {
            with_error = 1;
        } else if (strcasecmp(c->argv[3], "timeout")) {
            reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    reply_long(c, blocked_unblock_by_id((uint64_t)id, with_error));
}

void cmd_client_kill(client *c)
{
    if (c->argc == 3) {
        /* old form: CLIENT KILL addr:port */
        for (client *x = net.clients; x; x = x->next) {
            if (!strcmp(x->addr, c->argv[2]) && !(x->flags & CLIENT_CLOSE_ASAP)) {
                if (x == c)
                    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
                else
                    client_close_async(x);
                reply_ok(c);
                return;
            }
        }
        reply_error(c, "ERR No such client");
        return;
    }
    if ((c->argc - 2) % 2 != 0) {
        reply_error_syntax(c);
        return;
    }
    unsigned long long id = 0;
    const char *addr = NULL, *laddr = NULL, *user = NULL;
    int skipme = 1, type = -1;
    for (int j = 2; j + 1 < c->argc; j += 2) {
        const char *opt = c->argv[j], *val = c->argv[j + 1];
        if (!strcasecmp(opt, "id")) {
            long long v;
            if (!util_str2ll(val, str_len(c->argv[j + 1]), &v) || v <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
            id = (unsigned long long)v;
        } else if (!strcasecmp(opt, "type")) {
            if (!strcasecmp(val, "normal"))
                type = 0;
            else if (!strcasecmp(val, "master") || !strcasecmp(val, "replica") ||
                     !strcasecmp(val, "slave") || !strcasecmp(val, "pubsub"))
                type = 1;
            else {
                reply_error_fmt(c, "ERR Unknown client type '%s'", val);
                return;
            }
        } else if (!strcasecmp(opt, "addr")) {
            addr = val;
        } else if (!strcasecmp(opt, "laddr")) {
            laddr = val;
        } else if (!strcasecmp(opt, "user")) {
            user = val;
        } else if (!strcasecmp(opt, "skipme")) {
            if (!strcasecmp(val, "yes"))
                skipme = 1;
            else if (!strcasecmp(val, "no"))
                skipme = 0;
            else {
                reply_error_syntax(c);
                return;
            }
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (user && strcmp(user, "default") != 0) {
        reply_error_fmt(c, "ERR No such user '%s'", user);
        return;
    }
    long long killed = 0;
    for (client *x = net.clients; x; x = x->next) {
        if (x->flags & CLIENT_CLOSE_ASAP)
            continue;
        if (id && x->id != id)
            continue;
        if (type == 1)
            continue;
        if (addr && strcmp(x->addr, addr))
            continue;
        if (laddr && strcmp(x->laddr, laddr))
            continue;
        if (x == c && skipme)
            continue;
        if (x == c)
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else
            client_close_async(x);
        killed++;
    }
    reply_long(c, killed);
}

void cmd_client_reply(client *c)
{
    const char *m = c->argv[2];
    if (!strcasecmp(m, "on")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
        reply_ok(c);
    } else if (!strcasecmp(m, "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (!strcasecmp(m, "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF))
            c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_error_syntax(c);
    }
}

void cmd_client_no_evict(client *c)
{
    const char *m = c->argv[2];
    if (!strcasecmp(m, "on")) {
        c->flags |= CLIENT_NO_EVICT;
        reply_ok(c);
    } else if (!strcasecmp(m, "off")) {
        c->flags &= ~CLIENT_NO_EVICT;
        reply_ok(c);
    } else {
        reply_error_syntax(c);
    }
}

void cmd_client_help(client *c)
{
    static const char *lines[] = {
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients of specified IDs only.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        NULL,
    };
    reply_help(c, "CLIENT", lines);
}
