/*
 * effects.c: the effect stream (effects.h), and the replay of the log at
 * start-up.
 *
 * Every call of a command is a frame: dispatch's call hooks open it before
 * the handler runs and close it after, with the number of keyspace changes
 * the call made. Changes made by expiry (each propagated as its own DEL)
 * are not the command's: a read that only expired keys propagates nothing.
 * A frame whose command is EXEC wraps the effects of its queued commands in
 * MULTI ... EXEC (and so does one whose handler called effect_multi, its
 * own effects); MULTI is written before the first of them, so a
 * transaction that changed nothing leaves nothing in the log.
 */
#include "repl/effects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "cmd/dispatch.h"
#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "tier/tier.h"

static aof *out;     /* the log, NULL when effects go nowhere */
static int enabled;  /* 0 while the log is being replayed */
static int arg_left; /* arguments the effect being written still needs (0 between effects) */

#define MAX_DEPTH 16

static struct frame {
    int dbindex;        /* the client's db when the call began */
    int exec;           /* the call is EXEC */
    int multi;          /* its effects are one transaction (EXEC, effect_multi) */
    int multi_written;  /* ... and MULTI is in the stream */
    int prevented;      /* the handler emitted its effects itself */
    long long expired0; /* expired_changes when the call began */
} frames[MAX_DEPTH];
static int depth;
static long long expired_changes; /* keys deleted by expiry, ever */

/* ---- writing -------------------------------------------------------------- */

void effect_begin(int dbindex, int argc)
{
    if (!out || !enabled)
        return;
    if (arg_left != 0) /* a handler's bug: the log's last array is malformed */
        log_warning("An effect was written with %d arguments %s than it announced", arg_left,
                    arg_left > 0 ? "fewer" : "more");
    /* the first effect of a transaction opens it (the outermost one) */
    for (int i = 0; i < depth && i < MAX_DEPTH; i++) {
        if (frames[i].multi) {
            if (!frames[i].multi_written) {
                aof_begin(out, dbindex, 1);
                aof_arg(out, "MULTI", 5);
                frames[i].multi_written = 1;
            }
            break;
        }
    }
    aof_begin(out, dbindex, argc);
    arg_left = argc;
}

void effect_arg(const char *p, size_t len)
{
    if (!out || !enabled)
        return;
    aof_arg(out, p, len);
    arg_left--;
}

void effect_arg_str(const str s)
{
    effect_arg(s, str_len(s));
}

void effect_arg_cstr(const char *s)
{
    effect_arg(s, strlen(s));
}

void effect_arg_ll(long long v)
{
    if (!out || !enabled)
        return;
    aof_arg_ll(out, v);
    arg_left--;
}

void effect_emit(int dbindex, int argc, const str *argv)
{
    effect_begin(dbindex, argc);
    for (int i = 0; i < argc; i++)
        effect_arg_str(argv[i]);
}

void effect_prevent(void)
{
    if (depth > 0 && depth <= MAX_DEPTH)
        frames[depth - 1].prevented = 1;
}

void effect_rewrite(client *c, int argc, const str *argv)
{
    effect_emit(c->dbindex, argc, argv);
    effect_prevent();
}

void effect_multi(void)
{
    if (depth > 0 && depth <= MAX_DEPTH)
        frames[depth - 1].multi = 1;
}

/* Ends the transaction of frame f if its first effect opened one. */
static void multi_end(struct frame *f)
{
    if (f->multi_written) {
        effect_begin(-1, 1);
        effect_arg("EXEC", 4);
    }
}

/* ---- hooks ---------------------------------------------------------------- */

/* keyspace's key_expired listener: an expired key's deletion is a DEL. */
static void key_expired(struct db *db, const str key)
{
    expired_changes++;
    effect_begin(db->index, 2);
    effect_arg("DEL", 3);
    effect_arg_str(key);
}

static void call_begin(client *c)
{
    if (depth < MAX_DEPTH) {
        struct frame *f = &frames[depth];
        f->dbindex = c->dbindex;
        f->exec = (c->cmd->flags & CMD_LT_EXEC) != 0;
        f->multi = f->exec;
        f->multi_written = 0;
        f->prevented = 0;
        f->expired0 = expired_changes;
    }
    depth++;
}

static void call_end(client *c, long long changes)
{
    depth--;
    if (depth >= MAX_DEPTH) {
        log_warning("Effects of a call nested %d deep were not propagated", depth + 1);
        return;
    }
    struct frame *f = &frames[depth];
    if (f->exec) {
        multi_end(f);
        return;
    }
    long long own = changes - (expired_changes - f->expired0);
    if (own > 0 && !f->prevented)
        effect_emit(f->dbindex, c->argc, c->argv);
    multi_end(f);
}

void effects_init(aof *log)
{
    out = log;
    enabled = 1;
    static const struct call_hooks hooks = {call_begin, call_end};
    dispatch_set_call_hooks(&hooks);
    keyspace_on_key_expired(key_expired);
}

/* ---- replay --------------------------------------------------------------- */

/* The log is replayed in windows of REPLAY_WINDOW commands: while one
 * window runs, the pool reads the cold keys of the next one (tier's
 * read-ahead), so the replay does not wait for one synchronous read per
 * cold key. */
#define REPLAY_WINDOW 512

struct window {
    int n;
    int argc[REPLAY_WINDOW];
    str *argv[REPLAY_WINDOW];
};

struct replayer {
    client *c;
    long long errors;
    struct window win[2]; /* the one running next, and the one being read */
    int cur;
    int ahead_db;          /* the db the commands being collected run in (SELECT) */
    struct key_list ahead; /* their keys */
};

static void window_free(struct window *w)
{
    for (int i = 0; i < w->n; i++) {
        for (int j = 0; j < w->argc[i]; j++)
            str_free(w->argv[i][j]);
        free(w->argv[i]);
    }
    w->n = 0;
}

/* Runs the current window (its keys were read ahead) after starting the
 * reads of the next one; the next becomes the current. */
static int window_step(struct replayer *r, char **err)
{
    struct window *w = &r->win[r->cur], *next = &r->win[!r->cur];
    tier_readahead_finish(); /* w's keys are in */
    r->ahead.n = 0;
    for (int i = 0; i < next->n; i++)
        dispatch_replay_keys(next->argc[i], next->argv[i], &r->ahead_db, key_list_add, &r->ahead);
    if (r->ahead.n)
        tier_readahead_start(r->ahead.k, r->ahead.n);
    client *c = r->c;
    int rc = 0;
    for (int i = 0; i < w->n && rc == 0; i++) {
        c->argc = w->argc[i]; /* the client's now */
        c->argv = w->argv[i];
        w->argc[i] = 0;
        w->argv[i] = NULL;
        uint64_t errors = c->errors_replied;
        if (dispatch_replay(c) != 0) {
            char m[256];
            snprintf(m, sizeof(m), "Unknown command '%.64s' reading the append only file",
                     c->argv[0]);
            *err = heap_strdup(m);
            rc = -1;
        } else if (c->errors_replied != errors && r->errors++ < 10) {
            log_warning("Replaying the log: '%.64s' replied an error", c->argv[0]);
        }
        client_reset_argv(c);
    }
    window_free(w);
    r->cur = !r->cur;
    return rc;
}

static int replay_command(void *ctx, int argc, str *argv, char **err)
{
    struct replayer *r = ctx;
    struct window *next = &r->win[!r->cur];
    next->argc[next->n] = argc;
    next->argv[next->n] = heap_malloc((size_t)argc * sizeof(str));
    for (int i = 0; i < argc; i++)
        next->argv[next->n][i] = str_dup(argv[i]);
    if (++next->n < REPLAY_WINDOW)
        return 0;
    return window_step(r, err);
}

long long effects_replay(aof *log, const struct aof_pos *from, int truncated_ok, char **err)
{
    struct replayer *r = heap_calloc(1, sizeof(*r));
    r->c = client_create(-1, 0);
    int was = enabled;
    enabled = 0; /* what is replayed is in the log already */
    keyspace_set_loading(1);
    long long n = aof_replay(log, from, truncated_ok, replay_command, r, err);
    /* the last two windows: the one read ahead, then the rest */
    for (int k = 0; k < 2 && n >= 0; k++)
        if (window_step(r, err) != 0)
            n = -1;
    tier_readahead_finish();
    keyspace_set_loading(0);
    enabled = was;
    window_free(&r->win[0]);
    window_free(&r->win[1]);
    client_free(r->c);
    if (r->errors)
        log_warning("Replaying the log: %lld commands replied an error", r->errors);
    free(r->ahead.k);
    free(r);
    return n;
}
