/*
 * worker.c: one benchmark thread: its connections, an epoll loop, request
 * building and reply accounting.
 *
 * A connection is a hiredis context, opened blocking (connect, AUTH,
 * SELECT) and then switched to non-blocking; its replies are parsed by a
 * hiredis reader whose object functions build nothing: they only note
 * whether a reply is an error (keeping its text) or a miss (nil, or an empty
 * array for HGETALL), so no memory is allocated per reply.
 *
 * Closed loop (the default, and always for --load): each connection works
 * in batches, as redis-benchmark does: it writes --pipeline requests at once,
 * waits for all their replies, then writes the next batch. A request's
 * latency is from the moment its batch was built to the read that completed
 * its reply; one clock read serves a whole batch and a whole read.
 *
 * Open loop (--rate): request j of the run is due at t_start + j / rate, and
 * the requests are dealt round-robin to the connections of all workers, so
 * each connection has its own evenly spaced schedule, staggered against the
 * others. A worker walks its share of the schedule in time order (a timerfd
 * wakes it when the next request is due), adding each due request to its
 * connection's "owed" count; a connection sends what it owes while it has
 * fewer than --pipeline requests outstanding, so a request held back by a
 * full pipeline is sent late, never skipped. Its latency counts from its
 * intended send time, so the time it waited is part of it.
 *
 * Requests are formatted straight into the connection's output buffer from
 * templates made once; the buffer is sized for the largest pipeline up
 * front, and holds only requests not yet written (all of them outstanding),
 * so it never grows.
 *
 * Invariants: the requests a connection waits replies for are its ring
 * q[qhead .. qhead + qlen), in sending order (replies come in that order).
 * Closed loop: a connection sends only when qlen is 0; "active" counts
 * connections with a batch in flight, and the loop ends when it is zero and
 * no connection may send again. Open loop: w->owed and w->inflight are the
 * sums of the connections' owed and qlen, and the loop ends when nothing
 * more can fall due or be sent and nothing is in flight.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK  (256 * 1024)
#define DRAIN_LIMIT (10ull * 1000000000ull) /* replies still owed after the end */
#define TICK_MS     20

/* A request waiting for its reply. */
struct pending {
    uint64_t start; /* latency counts from here: batch built, or intended send time */
    uint8_t op;
    uint8_t recorded; /* in the measured part */
};

struct conn {
    struct worker *w;
    redisContext *ctx;
    int fd;
    redisReader *reader;
    char *out;
    size_t out_len, out_off, out_cap;
    struct pending *q; /* ring of qcap: requests sent and not answered */
    unsigned qhead, qlen, qcap;
    /* open loop */
    uint64_t next_j;       /* run-wide number of this connection's next request */
    uint64_t owed;         /* its requests due and not sent yet */
    uint64_t slot_free_at; /* when its full pipeline last got a free slot */
    int want_out;
    /* the reply being parsed */
    int reply_err, reply_miss;
    char errmsg[120];
};

/* ---- templates ---------------------------------------------------------------- */

/* The fixed parts of every request, made once from the configuration and
 * then read by all workers. */
static struct templates {
    char read_head[64], write_head[64], load_head[64];
    size_t read_head_len, write_head_len, load_head_len;
    char vhdr[32]; /* "$<value_size>\r\n" */
    size_t vhdr_len;
    char *fields; /* "$<len>\r\nfield<i>\r\n" for each field */
    size_t *field_off, *field_len;
    size_t prefix_len;
    size_t max_read, max_write, max_load; /* bytes of one request, at most */
} tpl;

static size_t bulk_head(char *p, size_t cap, size_t len)
{
    return (size_t)snprintf(p, cap, "$%zu\r\n", len);
}

static void templates_init(const struct bench_config *cfg)
{
    size_t klen = strlen(cfg->prefix) + KEY_DIGITS;
    tpl.prefix_len = strlen(cfg->prefix);
    tpl.vhdr_len = bulk_head(tpl.vhdr, sizeof(tpl.vhdr), cfg->value_size);
    int hash = cfg->type == TYPE_HASH;
    tpl.read_head_len =
        (size_t)snprintf(tpl.read_head, sizeof(tpl.read_head), "%s$%zu\r\n",
                         hash ? "*2\r\n$7\r\nHGETALL\r\n" : "*2\r\n$3\r\nGET\r\n", klen);
    tpl.write_head_len =
        (size_t)snprintf(tpl.write_head, sizeof(tpl.write_head), "%s$%zu\r\n",
                         hash ? "*4\r\n$4\r\nHSET\r\n" : "*3\r\n$3\r\nSET\r\n", klen);
    if (hash)
        tpl.load_head_len =
            (size_t)snprintf(tpl.load_head, sizeof(tpl.load_head), "*%u\r\n$4\r\nHSET\r\n$%zu\r\n",
                             2 + 2 * cfg->fields, klen);
    else
        tpl.load_head_len =
            (size_t)snprintf(tpl.load_head, sizeof(tpl.load_head), "%s", tpl.write_head);
    unsigned nf = hash ? cfg->fields : 0;
    tpl.field_off = calloc(nf + 1, sizeof(size_t));
    tpl.field_len = calloc(nf + 1, sizeof(size_t));
    tpl.fields = malloc((size_t)nf * 40 + 1);
    size_t pos = 0, max_field = 0;
    for (unsigned i = 0; i < nf; i++) {
        char name[24];
        int nl = snprintf(name, sizeof(name), "field%u", i);
        tpl.field_off[i] = pos;
        pos += (size_t)sprintf(tpl.fields + pos, "$%d\r\n%s\r\n", nl, name);
        tpl.field_len[i] = pos - tpl.field_off[i];
        if (tpl.field_len[i] > max_field)
            max_field = tpl.field_len[i];
    }
    size_t value = tpl.vhdr_len + cfg->value_size + 2;
    tpl.max_read = tpl.read_head_len + klen + 2;
    tpl.max_write = tpl.write_head_len + klen + 2 + max_field + value;
    tpl.max_load =
        hash ? tpl.load_head_len + klen + 2 + (size_t)nf * (max_field + value) : tpl.max_write;
}

static inline char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static inline char *put_key(char *p, const struct bench_config *cfg, uint64_t k)
{
    p = put(p, cfg->prefix, tpl.prefix_len);
    for (int i = KEY_DIGITS - 1; i >= 0; i--) {
        p[i] = (char)('0' + k % 10);
        k /= 10;
    }
    p += KEY_DIGITS;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static inline char *put_value(char *p, struct worker *w)
{
    p = put(p, tpl.vhdr, tpl.vhdr_len);
    p = put(p, values_pick(w->values, &w->rng), w->cfg->value_size);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Appends one request of kind "op" on key "k" to the output buffer. */
static void build_request(struct conn *c, enum op op, uint64_t k)
{
    struct worker *w = c->w;
    const struct bench_config *cfg = w->cfg;
    char *p = c->out + c->out_len;
    switch (op) {
    case OP_READ:
        p = put(p, tpl.read_head, tpl.read_head_len);
        p = put_key(p, cfg, k);
        break;
    case OP_WRITE:
        p = put(p, tpl.write_head, tpl.write_head_len);
        p = put_key(p, cfg, k);
        if (cfg->type == TYPE_HASH) {
            unsigned f = (unsigned)rng_below(&w->rng, cfg->fields);
            p = put(p, tpl.fields + tpl.field_off[f], tpl.field_len[f]);
        }
        p = put_value(p, w);
        break;
    case OP_LOAD:
        p = put(p, tpl.load_head, tpl.load_head_len);
        p = put_key(p, cfg, k);
        if (cfg->type == TYPE_HASH) {
            for (unsigned f = 0; f < cfg->fields; f++) {
                p = put(p, tpl.fields + tpl.field_off[f], tpl.field_len[f]);
                p = put_value(p, w);
            }
        } else {
            p = put_value(p, w);
        }
        break;
    default:
        break;
    }
    c->out_len = (size_t)(p - c->out);
}

/* ---- reply objects that allocate nothing ------------------------------------------ */

static void *reply_string(const redisReadTask *t, char *s, size_t len)
{
    struct conn *c = t->privdata;
    if (!t->parent && t->type == REDIS_REPLY_ERROR) {
        c->reply_err = 1;
        size_t n = len < sizeof(c->errmsg) - 1 ? len : sizeof(c->errmsg) - 1;
        memcpy(c->errmsg, s, n);
        c->errmsg[n] = 0;
    }
    return c;
}

static void *reply_array(const redisReadTask *t, int elements)
{
    struct conn *c = t->privdata;
    if (!t->parent && elements == 0)
        c->reply_miss = 1;
    return c;
}

static void *reply_integer(const redisReadTask *t, long long v)
{
    return t->privdata;
}

static void *reply_nil(const redisReadTask *t)
{
    struct conn *c = t->privdata;
    if (!t->parent)
        c->reply_miss = 1;
    return c;
}

static void reply_free(void *p) {}

static redisReplyObjectFunctions reply_fns = {reply_string, reply_array, reply_integer, reply_nil,
                                              reply_free};

/* ---- connections ------------------------------------------------------------------ */

static int conn_setup(struct conn *c, const struct bench_config *cfg, char *err, size_t errlen)
{
    struct timeval tv = {5, 0};
    c->ctx = redisConnectWithTimeout(cfg->host, cfg->port, tv);
    if (!c->ctx || c->ctx->err) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", cfg->host, cfg->port,
                 c->ctx ? c->ctx->errstr : "out of memory");
        return -1;
    }
    redisReply *r = NULL;
    if (cfg->auth) {
        r = cfg->user ? redisCommand(c->ctx, "AUTH %s %s", cfg->user, cfg->auth)
                      : redisCommand(c->ctx, "AUTH %s", cfg->auth);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "AUTH failed: %s", r ? r->str : c->ctx->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    if (cfg->db) {
        r = redisCommand(c->ctx, "SELECT %d", cfg->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "SELECT %d failed: %s", cfg->db, r ? r->str : c->ctx->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    c->fd = c->ctx->fd;
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "fcntl: %s", strerror(errno));
        return -1;
    }
    c->reader = redisReaderCreateWithFunctions(&reply_fns);
    c->reader->maxbuf = 0; /* keep the read buffer: no free/alloc cycle per read */
    redisReaderSetPrivdata(c->reader, c);
    unsigned maxn =
        (unsigned)(cfg->pipeline > cfg->load_pipeline ? cfg->pipeline : cfg->load_pipeline);
    size_t per = tpl.max_read > tpl.max_write ? tpl.max_read : tpl.max_write;
    size_t need = per * (size_t)cfg->pipeline;
    if (tpl.max_load * (size_t)cfg->load_pipeline > need)
        need = tpl.max_load * (size_t)cfg->load_pipeline;
    c->out_cap = need;
    c->out = malloc(need);
    c->qcap = maxn;
    c->q = malloc(maxn * sizeof(*c->q));
    return 0;
}

int workers_connect(struct worker *ws, int nworkers, const struct bench_config *cfg, char *err,
                    size_t errlen)
{
    templates_init(cfg);
    int first = 0;
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &ws[i];
        w->nconns = cfg->clients / nworkers + (i < cfg->clients % nworkers);
        w->first_conn = first;
        first += w->nconns;
        w->conns = calloc((size_t)w->nconns, sizeof(struct conn));
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (cfg->rate) {
            /* data.ptr NULL marks the timer among the connections */
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
            w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
            if (w->timerfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timerfd, &ev) < 0) {
                snprintf(err, errlen, "timerfd: %s", strerror(errno));
                return -1;
            }
        }
        w->rbuf_size = READ_CHUNK;
        w->rbuf = malloc(w->rbuf_size);
        for (int j = 0; j < w->nconns; j++) {
            struct conn *c = &w->conns[j];
            c->w = w;
            c->fd = -1;
            if (conn_setup(c, cfg, err, errlen) < 0)
                return -1;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
                snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

void workers_free(struct worker *ws, int nworkers)
{
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &ws[i];
        for (int j = 0; j < w->nconns; j++) {
            struct conn *c = &w->conns[j];
            if (c->reader)
                redisReaderFree(c->reader);
            if (c->ctx)
                redisFree(c->ctx);
            free(c->out);
            free(c->q);
        }
        free(w->conns);
        free(w->rbuf);
        if (w->epfd >= 0)
            close(w->epfd);
        if (w->timerfd >= 0)
            close(w->timerfd);
    }
    free(tpl.fields);
    free(tpl.field_off);
    free(tpl.field_len);
}

/* ---- the loop ---------------------------------------------------------------------- */

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void worker_fail(struct worker *w, const char *fmt, ...)
{
    if (!w->fatal[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->fatal, sizeof(w->fatal), fmt, ap);
        va_end(ap);
    }
    atomic_store(w->plan->abort, 1);
}

void worker_phase_start(struct worker *w, const struct phase_plan *plan, uint64_t budget)
{
    w->plan = plan;
    w->budget = budget;
    w->budgeted = plan->phase == PHASE_LOAD || plan->t_stop == 0;
    w->load_next = w->key_lo;
    w->last_done = plan->t_record;
    w->window_idx = 0;
    w->stopping = 0;
    w->sched_next = 0;
    w->sched_done = 0;
    w->owed = w->inflight = w->unsent = 0;
    w->lag_total = w->lag_window = (struct lag_stats){0, 0, 0};
    atomic_store(&w->lag_recent, 0);
    atomic_store(&w->finished, 0);
    for (int i = 0; i < OP_COUNT; i++) {
        op_stats_init(&w->total[i]);
        op_stats_init(&w->window[i]);
    }
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        c->qhead = c->qlen = 0;
        c->next_j = (uint64_t)(w->first_conn + i);
        c->owed = c->slot_free_at = 0;
    }
}

static void set_want_out(struct conn *c, int on)
{
    if (c->want_out == on)
        return;
    c->want_out = on;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t k = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                set_want_out(c, 1);
                return 0;
            }
            worker_fail(c->w, "write to the server failed: %s", strerror(errno));
            return -1;
        }
        c->out_off += (size_t)k;
    }
    c->out_off = c->out_len = 0;
    set_want_out(c, 0);
    return 0;
}

/* How many requests the next batch may carry at time "now" (0: none). */
static unsigned batch_size(struct worker *w, uint64_t now)
{
    const struct phase_plan *plan = w->plan;
    if (w->stopping || atomic_load_explicit(plan->abort, memory_order_relaxed))
        return 0;
    if (plan->t_stop && now >= plan->t_stop) {
        w->stopping = 1;
        return 0;
    }
    unsigned n = (unsigned)(plan->phase == PHASE_LOAD ? w->cfg->load_pipeline : w->cfg->pipeline);
    if (w->budgeted && now >= plan->t_record) {
        if (w->budget == 0)
            return 0;
        if (n > w->budget)
            n = (unsigned)w->budget;
        w->budget -= n;
    }
    return n;
}

/* Builds the next request of the phase into the output buffer and queues
 * it as awaiting its reply, latency counting from "start". */
static void conn_push(struct conn *c, uint64_t start)
{
    struct worker *w = c->w;
    enum op op;
    uint64_t k;
    if (w->plan->phase == PHASE_LOAD) {
        op = OP_LOAD;
        k = w->load_next++;
    } else {
        unsigned rw = w->cfg->rweight + w->cfg->wweight;
        op = rng_below(&w->rng, rw) < w->cfg->rweight ? OP_READ : OP_WRITE;
        k = keygen_next(&w->keys, &w->rng);
    }
    build_request(c, op, k);
    struct pending *p = &c->q[(c->qhead + c->qlen++) % c->qcap];
    p->start = start;
    p->op = (uint8_t)op;
    p->recorded = start >= w->plan->t_record;
}

/* Sends the next batch (closed loop); returns 1 if one was sent. */
static int conn_send(struct conn *c, uint64_t now)
{
    unsigned n = batch_size(c->w, now);
    if (n == 0)
        return 0;
    for (unsigned i = 0; i < n; i++)
        conn_push(c, now);
    conn_flush(c);
    return 1;
}

static void note_error(struct worker *w, enum op op, const char *msg)
{
    for (int i = 0; i < w->nerrs; i++) {
        if (w->errs[i].op == op && !strcmp(w->errs[i].msg, msg)) {
            w->errs[i].count++;
            return;
        }
    }
    if (w->nerrs == ERR_KINDS) {
        w->errs_other++;
        return;
    }
    w->errs[w->nerrs].op = op;
    w->errs[w->nerrs].count = 1;
    snprintf(w->errs[w->nerrs].msg, sizeof(w->errs[w->nerrs].msg), "%s", msg);
    w->nerrs++;
}

/* Moves to the window that "now" falls in, handing in the ones passed. */
static void window_advance(struct worker *w, uint64_t now)
{
    const struct phase_plan *plan = w->plan;
    if (!plan->window_ns || now < plan->t_record)
        return;
    uint64_t idx = (now - plan->t_record) / plan->window_ns;
    if (plan->t_stop) {
        uint64_t last = (plan->t_stop - plan->t_record - 1) / plan->window_ns;
        if (idx > last)
            idx = last;
    }
    while (w->window_idx < idx)
        windows_contribute(plan->windows, w->window_idx++, w->window, &w->lag_window);
}

/* Counts the reply to "p" that arrived at "now". The closed loop counts only
 * replies before the end; the open loop counts every request due in the
 * measured part, however late its reply, lest a stall at the end be left
 * out. */
static void account(struct worker *w, struct conn *c, const struct pending *p, uint64_t now)
{
    const struct phase_plan *plan = w->plan;
    enum op op = (enum op)p->op;
    int counted = p->recorded && (plan->rate || !plan->t_stop || now <= plan->t_stop);
    if (c->reply_err) {
        if (counted)
            note_error(w, op, c->errmsg);
        atomic_fetch_add_explicit(&w->done_errs, 1, memory_order_relaxed);
    }
    if (!counted)
        return;
    uint64_t lat = now > p->start ? now - p->start : 0;
    struct op_stats *t = &w->total[op];
    t->count++;
    t->sum_ns += lat;
    t->errors += (uint64_t)c->reply_err;
    t->misses += (uint64_t)c->reply_miss;
    hist_record(&t->h, lat);
    if (plan->window_ns) {
        struct op_stats *s = &w->window[op];
        s->count++;
        s->sum_ns += lat;
        s->errors += (uint64_t)c->reply_err;
        s->misses += (uint64_t)c->reply_miss;
        hist_record(&s->h, lat);
    }
    w->last_done = now;
}

/* Reads what the server sent; returns 1 when no reply is owed any more
 * after at least one came (a closed-loop batch is complete). */
static int conn_read(struct conn *c, uint64_t now)
{
    struct worker *w = c->w;
    ssize_t k = read(c->fd, w->rbuf, w->rbuf_size);
    if (k == 0) {
        worker_fail(w, "the server closed the connection");
        return 0;
    }
    if (k < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        worker_fail(w, "read from the server failed: %s", strerror(errno));
        return 0;
    }
    if (redisReaderFeed(c->reader, w->rbuf, (size_t)k) != REDIS_OK) {
        worker_fail(w, "reply buffer: %s", c->reader->errstr);
        return 0;
    }
    window_advance(w, now);
    uint64_t done = 0;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            worker_fail(w, "protocol error in a reply: %s", c->reader->errstr);
            return 0;
        }
        if (!reply)
            break;
        if (c->qlen == 0) {
            worker_fail(w, "the server sent a reply to no request");
            return 0;
        }
        account(w, c, &c->q[c->qhead], now);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
        c->reply_err = c->reply_miss = 0;
        done++;
    }
    atomic_fetch_add_explicit(&w->done_ops, done, memory_order_relaxed);
    return done > 0 && c->qlen == 0;
}

/* ---- the closed loop ----------------------------------------------------------- */

static void run_closed(struct worker *w)
{
    const struct phase_plan *plan = w->plan;
    struct epoll_event evs[64];
    int active = 0;
    uint64_t now = now_ns();
    for (int i = 0; i < w->nconns; i++)
        active += conn_send(&w->conns[i], now);
    uint64_t drain_deadline = 0;
    while (active > 0 && !atomic_load_explicit(plan->abort, memory_order_relaxed)) {
        int n = epoll_wait(w->epfd, evs, 64, TICK_MS);
        if (n < 0 && errno != EINTR) {
            worker_fail(w, "epoll_wait: %s", strerror(errno));
            break;
        }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT && conn_flush(c) < 0)
                break;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (conn_read(c, now) && !conn_send(c, now))
                    active--;
            }
        }
        window_advance(w, now);
        if (plan->t_stop && now >= plan->t_stop) {
            w->stopping = 1;
            if (!drain_deadline)
                drain_deadline = now + DRAIN_LIMIT;
            else if (now > drain_deadline)
                worker_fail(w, "%d connections still had replies owed 10 s after the end", active);
        }
    }
}

/* ---- the open loop (--rate) ------------------------------------------------------ */

/* Intended send time of the run's request number "j". */
static uint64_t sched_time(const struct worker *w, uint64_t j)
{
    return w->plan->t_start + (uint64_t)((unsigned __int128)j * 1000000000u / w->plan->rate);
}

/* The run's number of this worker's request "e": the run's requests go
 * round-robin over all connections, and this worker's are those of its
 * connections first_conn .. first_conn + nconns - 1. */
static uint64_t sched_request(const struct worker *w, uint64_t e)
{
    uint64_t n = (uint64_t)w->nconns;
    return e / n * (uint64_t)w->cfg->clients + (uint64_t)w->first_conn + e % n;
}

static void lag_note(struct worker *w, uint64_t behind, uint64_t client)
{
    if (behind > atomic_load_explicit(&w->lag_recent, memory_order_relaxed))
        atomic_store_explicit(&w->lag_recent, behind, memory_order_relaxed);
    struct lag_stats one = {behind, client, client >= CLIENT_LATE_NS};
    lag_stats_merge(&w->lag_total, &one);
    lag_stats_merge(&w->lag_window, &one);
}

/* Sends what "c" owes while its pipeline has room, each request's latency
 * counting from its intended send time. */
static void conn_send_due(struct conn *c, uint64_t now)
{
    struct worker *w = c->w;
    unsigned room = (unsigned)w->cfg->pipeline;
    if (!c->owed || c->qlen >= room || w->stopping)
        return;
    if (c->out_off) { /* keep only the bytes not written yet, so the buffer never fills */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    while (c->owed && c->qlen < room) {
        uint64_t due = sched_time(w, c->next_j);
        conn_push(c, due);
        if (due >= w->plan->t_record) {
            uint64_t could = due > c->slot_free_at ? due : c->slot_free_at;
            lag_note(w, now > due ? now - due : 0, now > could ? now - could : 0);
        }
        c->next_j += (uint64_t)w->cfg->clients;
        c->owed--;
        w->owed--;
        w->inflight++;
    }
    conn_flush(c);
}

/* Moves the schedule up to "now": each of this worker's requests due by
 * then is owed by its connection, which sends it if its pipeline has room. */
static void sched_advance(struct worker *w, uint64_t now)
{
    const struct phase_plan *plan = w->plan;
    uint64_t n = (uint64_t)w->nconns, from = w->sched_next;
    while (!w->sched_done) {
        uint64_t t = sched_time(w, sched_request(w, w->sched_next));
        if ((plan->t_stop && t >= plan->t_stop) || (w->budgeted && !w->budget)) {
            w->sched_done = 1;
            break;
        }
        if (t > now)
            break;
        if (w->budgeted && t >= plan->t_record && --w->budget == 0)
            w->sched_done = 1;
        w->conns[w->sched_next % n].owed++;
        w->owed++;
        w->sched_next++;
    }
    /* round-robin: the connections that got requests are consecutive */
    uint64_t touched = w->sched_next - from < n ? w->sched_next - from : n;
    for (uint64_t i = 0; i < touched; i++)
        conn_send_due(&w->conns[(from + i) % n], now);
}

/* When the loop must wake next (0: only for replies). */
static uint64_t sched_wake(const struct worker *w)
{
    if (w->stopping)
        return 0;
    if (!w->sched_done)
        return sched_time(w, sched_request(w, w->sched_next));
    return w->plan->t_stop;
}

static void run_open(struct worker *w)
{
    const struct phase_plan *plan = w->plan;
    unsigned room = (unsigned)w->cfg->pipeline;
    struct epoll_event evs[64];
    uint64_t armed = 0, drain_deadline = 0;
    uint64_t now = now_ns();
    while (!atomic_load_explicit(plan->abort, memory_order_relaxed)) {
        if (plan->t_stop && now >= plan->t_stop && !w->stopping) {
            /* what fell due before the end is sent if it can be; the rest
             * stays unsent */
            sched_advance(w, now);
            w->stopping = 1;
            drain_deadline = now + DRAIN_LIMIT;
        }
        if (!w->inflight && (w->stopping || (w->sched_done && !w->owed)))
            break;
        if (drain_deadline && now > drain_deadline) {
            worker_fail(w, "%llu requests still had replies owed 10 s after the end",
                        (unsigned long long)w->inflight);
            break;
        }
        window_advance(w, now);
        if (!w->stopping)
            sched_advance(w, now);
        uint64_t wake = sched_wake(w);
        if (wake != armed) {
            struct itimerspec its = {
                .it_value = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)}};
            timerfd_settime(w->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = wake;
        }
        int n = epoll_wait(w->epfd, evs, 64, TICK_MS);
        if (n < 0 && errno != EINTR) {
            worker_fail(w, "epoll_wait: %s", strerror(errno));
            break;
        }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                uint64_t expirations;
                if (read(w->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                    worker_fail(w, "timerfd: %s", strerror(errno));
                armed = 0;
                continue;
            }
            if (evs[i].events & EPOLLOUT && conn_flush(c) < 0)
                break;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                unsigned before = c->qlen;
                conn_read(c, now);
                w->inflight -= before - c->qlen;
                if (before >= room && c->qlen < room)
                    c->slot_free_at = now;
                conn_send_due(c, now);
            }
        }
        now = now_ns();
    }
    /* the measured requests that fell due and were never sent */
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        for (uint64_t k = 0; k < c->owed; k++)
            w->unsent += sched_time(w, c->next_j + k * (uint64_t)w->cfg->clients) >= plan->t_record;
    }
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct phase_plan *plan = w->plan;
    if (plan->rate)
        run_open(w);
    else
        run_closed(w);
    if (plan->window_ns) {
        /* Hand in every window up to the last one this worker can reach. */
        uint64_t last = w->window_idx;
        if (plan->t_stop && !atomic_load(plan->abort))
            last = (plan->t_stop - plan->t_record - 1) / plan->window_ns;
        while (w->window_idx <= last)
            windows_contribute(plan->windows, w->window_idx++, w->window, &w->lag_window);
    }
    atomic_store(&w->finished, 1);
    return NULL;
}
