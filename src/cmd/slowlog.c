/*
 * slowlog.c: the slow log (SLOWLOG GET, LEN, RESET): commands that took
 * longer than slowlog-log-slower-than microseconds, newest first, at most
 * slowlog-max-len of them, each with its arguments (at most 32, each cut
 * at 128 bytes, as Redis keeps them), the client's address and name.
 */
#include "cmd/slowlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "net/reply.h"

#define SLOWLOG_ENTRY_MAX_ARGC   32
#define SLOWLOG_ENTRY_MAX_STRING 128

struct slowlog_entry {
    long long id;
    int64_t time_s;
    long long duration_us;
    int argc;
    str *argv;
    str peer, name;
    struct slowlog_entry *next, *prev;
};

static struct {
    struct slowlog_entry *head, *tail;
    long long len;
    long long next_id;
} slowlog;

static void slowlog_free_entry(struct slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        str_free(e->argv[i]);
    free(e->argv);
    str_free(e->peer);
    str_free(e->name);
    free(e);
}

void slowlog_push(client *c, long long duration_us)
{
    if (cmd_settings.slowlog_log_slower_than < 0 ||
        duration_us < cmd_settings.slowlog_log_slower_than)
        return;
    if (cmd_settings.slowlog_max_len == 0)
        return;
    struct slowlog_entry *e = heap_calloc(1, sizeof(*e));
    e->id = slowlog.next_id++;
    e->time_s = time(NULL);
    e->duration_us = duration_us;
    int argc = c->argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC : c->argc;
    e->argc = argc;
    e->argv = heap_calloc((size_t)argc, sizeof(str));
    for (int i = 0; i < argc; i++) {
        if (argc != c->argc && i == argc - 1) {
            char buf[64];
            snprintf(buf, sizeof(buf), "... (%d more arguments)", c->argc - argc + 1);
            e->argv[i] = str_from_cstr(buf);
        } else if (str_len(c->argv[i]) > SLOWLOG_ENTRY_MAX_STRING) {
            char buf[64];
            snprintf(buf, sizeof(buf), "... (%zu more bytes)",
                     str_len(c->argv[i]) - SLOWLOG_ENTRY_MAX_STRING);
            e->argv[i] = str_new(c->argv[i], SLOWLOG_ENTRY_MAX_STRING);
            e->argv[i] = str_cat(e->argv[i], buf, strlen(buf));
        } else {
            e->argv[i] = str_dup(c->argv[i]);
        }
    }
    e->peer = str_from_cstr(c->addr);
    e->name = str_from_cstr(c->name ? c->name : "");
    e->next = slowlog.head;
    if (slowlog.head)
        slowlog.head->prev = e;
    slowlog.head = e;
    if (!slowlog.tail)
        slowlog.tail = e;
    slowlog.len++;
    while (slowlog.len > cmd_settings.slowlog_max_len) {
        struct slowlog_entry *t = slowlog.tail;
        slowlog.tail = t->prev;
        if (t->prev)
            t->prev->next = NULL;
        else
            slowlog.head = NULL;
        slowlog_free_entry(t);
        slowlog.len--;
    }
}

void slowlog_reset(void)
{
    while (slowlog.head) {
        struct slowlog_entry *e = slowlog.head;
        slowlog.head = e->next;
        slowlog_free_entry(e);
    }
    slowlog.tail = NULL;
    slowlog.len = 0;
}

void cmd_slowlog_get(client *c)
{
    long long count = 10;
    if (c->argc == 3) {
        if (!util_str2ll(c->argv[2], str_len(c->argv[2]), &count) || count < -1) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1)
            count = slowlog.len;
    } else if (c->argc > 3) {
        reply_error_arity(c);
        return;
    }
    if (count > slowlog.len)
        count = slowlog.len;
    reply_array(c, count);
    struct slowlog_entry *e = slowlog.head;
    for (long long i = 0; i < count && e; i++, e = e->next) {
        reply_array(c, 6);
        reply_long(c, e->id);
        reply_long(c, e->time_s);
        reply_long(c, e->duration_us);
        reply_array(c, e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk_str(c, e->argv[j]);
        reply_bulk_str(c, e->peer);
        reply_bulk_str(c, e->name);
    }
}

void cmd_slowlog_len(client *c)
{
    reply_long(c, slowlog.len);
}

void cmd_slowlog_reset(client *c)
{
    slowlog_reset();
    reply_ok(c);
}

void cmd_slowlog_help(client *c)
{
    static const char *lines[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        NULL,
    };
    reply_help(c, "SLOWLOG", lines);
}
