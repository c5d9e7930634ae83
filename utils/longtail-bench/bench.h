/*
 * bench.h: longtail-bench's shared types.
 *
 * The tool has four parts: main.c (options, help, the phases of a run),
 * keygen.c (random numbers, key distributions, value text), worker.c (one
 * thread per --threads: its connections, an epoll loop, request building and
 * reply accounting) and report.c (per-window aggregation, text and JSON
 * output).
 *
 * A run is closed-loop (each connection sends its next batch when the last
 * one is answered) or, with --rate, open-loop: requests follow a fixed
 * schedule whatever the server does, and latency counts from each request's
 * intended send time, so a stalled server shows as the queueing it causes.
 *
 * Invariants: a worker thread is the only writer of its own stats; the main
 * thread reads them only after joining it, except the progress counters,
 * which are atomics. Windows are merged under the window mutex by each
 * worker in window order, and the last worker to hand in a window finishes
 * it, so windows complete in order. Nothing is allocated per request.
 */
#ifndef LT_BENCH_H
#define LT_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "ds/hist.h"

#define BENCH_VERSION "0.1.0"
#define KEY_DIGITS    12 /* keys are PREFIX + 12 zero-padded digits */

/* ---- configuration -------------------------------------------------------- */

enum dist_kind { DIST_UNIFORM, DIST_ZIPF, DIST_HOTSET, DIST_SEQUENTIAL };
enum value_type { TYPE_STRING, TYPE_HASH };
enum value_kind { VALUES_TEXT, VALUES_RANDOM };

struct bench_config {
    const char *host;
    int port;
    const char *user, *auth;
    int db;
    uint64_t keys;
    const char *prefix;
    enum dist_kind dist;
    double theta;              /* zipf */
    double hot_pct, hot_ops;   /* hotset: hot_pct % of keys get hot_ops % of ops */
    unsigned rweight, wweight; /* --ratio R:W */
    enum value_type type;
    unsigned fields;     /* hash fields per key */
    unsigned value_size; /* bytes per string value or per hash field value */
    enum value_kind values;
    int clients, pipeline, threads;
    uint64_t rate;   /* --rate: requests per second over all connections; 0 = closed loop */
    double duration; /* seconds; 0 when --requests is given */
    uint64_t requests;
    double warmup;
    uint64_t seed;
    int load, load_pipeline, load_only;
    double window; /* seconds per window; 0 = no windows */
    const char *json_path;
    int progress; /* -1 auto (a terminal), 0 never, 1 always */
    char *dist_spec, *type_spec, *command_line;
};

/* ---- operations ------------------------------------------------------------ */

enum op { OP_READ, OP_WRITE, OP_LOAD, OP_COUNT };

/* Counters and latency (ns) of one operation kind. */
struct op_stats {
    uint64_t count, errors, misses;
    uint64_t sum_ns;
    hist h;
};

/* How far an open-loop run fell behind its schedule (ns), over the requests
 * of the measured part. "behind" is the send time minus the intended time,
 * whatever the cause; "client" counts only from when the connection could
 * send (a free pipeline slot), so it is the client's own delay: a stalled
 * server that keeps the pipeline full adds to "behind", not to "client". */
struct lag_stats {
    uint64_t behind_max, client_max;
    uint64_t client_late; /* requests the client itself sent CLIENT_LATE_NS late or more */
};

#define CLIENT_LATE_NS 1000000u

void lag_stats_merge(struct lag_stats *dst, const struct lag_stats *src);

void op_stats_init(struct op_stats *s);
void op_stats_merge(struct op_stats *dst, const struct op_stats *src);
const char *op_name(const struct bench_config *cfg, enum op op);

/* ---- random numbers and keys (keygen.c) ------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t seed);

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n): the high half of a 64x64 product (bias below 2^-32 for
 * any n this tool uses). */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Zipf(s) over ranks 1..n by rejection-inversion: O(1) memory and time. */
struct zipf {
    double s, one_minus_s;
    double h_x1, h_n, s_const;
    uint64_t n;
};

void zipf_init(struct zipf *z, uint64_t n, double s);
uint64_t zipf_sample(const struct zipf *z, rng *r);

/* Draws key numbers in [0, keys) for one worker. */
struct keygen {
    enum dist_kind dist;
    uint64_t keys;
    struct zipf zipf;
    uint64_t hot_keys;            /* hotset: the first hot_keys (scrambled) are hot */
    double hot_ops;               /* probability an op goes to the hot set */
    uint64_t mul, add;            /* scramble: k -> (k * mul + add) mod keys, a bijection */
    uint64_t seq, seq_lo, seq_hi; /* sequential: this worker's range */
};

void keygen_init(struct keygen *g, const struct bench_config *cfg, uint64_t lo, uint64_t hi);
uint64_t keygen_next(struct keygen *g, rng *r);

/* Value bytes: slices of one read-only buffer made at start-up. */
struct values {
    char *buf;
    size_t span; /* a slice starts at any offset below span (a power of two) */
};

void values_init(struct values *v, const struct bench_config *cfg);
static inline const char *values_pick(const struct values *v, rng *r)
{
    return v->buf + (rng_next(r) & (v->span - 1));
}

/* ---- workers (worker.c) ---------------------------------------------------- */

struct conn;
struct windows;

enum phase { PHASE_LOAD, PHASE_RUN };

/* What the main thread tells every worker about the phase being run. All
 * times are CLOCK_MONOTONIC nanoseconds. */
struct phase_plan {
    enum phase phase;
    uint64_t t_start;  /* when workers start sending */
    uint64_t t_record; /* replies to requests sent from here on are recorded */
    uint64_t t_stop;   /* no request is sent at or after this (0: --requests) */
    uint64_t window_ns;
    uint64_t rate; /* open loop at this many requests/s in total; 0: closed loop */
    struct windows *windows;
    atomic_int *abort; /* set by anyone on a fatal error */
};

struct worker {
    int index;
    const struct bench_config *cfg;
    const struct values *values;
    struct conn *conns;
    int nconns;
    int first_conn; /* global index of conns[0] among all --clients */
    int epfd;
    int timerfd; /* wakes the open loop when the next request is due */
    rng rng;
    struct keygen keys;
    uint64_t key_lo, key_hi; /* this worker's share of the keyspace (load) */
    pthread_t thread;

    /* the phase in progress */
    const struct phase_plan *plan;
    uint64_t budget;     /* requests left to send (--requests or load) */
    int budgeted;        /* budget bounds this phase */
    uint64_t load_next;  /* next key to load */
    uint64_t last_done;  /* time of the last recorded reply */
    uint64_t window_idx; /* window being filled */
    int stopping;

    /* the open loop's schedule: this worker's share of the run's requests,
     * request j of the run being due at t_start + j / rate */
    uint64_t sched_next; /* this worker's next request to fall due */
    int sched_done;      /* no more requests will fall due */
    uint64_t owed;       /* due and not sent yet, over all connections */
    uint64_t inflight;   /* sent and not answered, over all connections */
    uint64_t unsent;     /* measured requests still owed at the end */

    struct op_stats total[OP_COUNT];
    struct op_stats window[OP_COUNT];
    struct lag_stats lag_total, lag_window;

    /* distinct error messages, with counts */
#define ERR_KINDS 8
    struct {
        char msg[120];
        enum op op;
        uint64_t count;
    } errs[ERR_KINDS];
    int nerrs;
    uint64_t errs_other;

    /* read by the progress line while the thread runs */
    atomic_uint_fast64_t done_ops, done_errs;
    atomic_uint_fast64_t lag_recent; /* largest "behind" since the last progress line */

    char fatal[256]; /* why the worker gave up, when it did */
    atomic_int finished;

    char *rbuf; /* read() lands here before the reply parser copies it */
    size_t rbuf_size;
};

int workers_connect(struct worker *w, int nworkers, const struct bench_config *cfg, char *err,
                    size_t errlen);
void worker_phase_start(struct worker *w, const struct phase_plan *plan, uint64_t budget);
void *worker_main(void *arg);
void workers_free(struct worker *w, int nworkers);

/* ---- windows and output (report.c) ----------------------------------------- */

struct window_summary {
    uint64_t count[OP_COUNT + 1], errors[OP_COUNT + 1], misses[OP_COUNT + 1];
    uint64_t p50[OP_COUNT + 1], p90[OP_COUNT + 1], p99[OP_COUNT + 1], p999[OP_COUNT + 1],
        max[OP_COUNT + 1]; /* ns; index OP_COUNT is all operations together */
    struct lag_stats lag;  /* requests sent in this window (open loop) */
};

struct windows {
    pthread_mutex_t mu;
    int nworkers;
    struct window_acc **acc; /* windows being merged, by index */
    struct window_summary *done;
    size_t cap, ndone;
};

void windows_init(struct windows *ws, int nworkers);
/* Hands in one worker's stats and lag for window "idx" (windows in order per
 * worker) and clears them. */
void windows_contribute(struct windows *ws, uint64_t idx, struct op_stats *stats,
                        struct lag_stats *lag);
/* Finishes the windows some worker never reached (--requests, abort). */
void windows_flush(struct windows *ws);
void windows_free(struct windows *ws);
/* 1 if report.c's idea of hist.c's bucket bounds is right. */
int hist_layout_check(void);

/* The results of one phase, merged over the workers. */
struct phase_result {
    enum phase phase;
    double seconds;
    struct op_stats ops[OP_COUNT];
    struct op_stats all;
    struct lag_stats lag; /* open loop only */
    uint64_t unsent;      /* open loop: measured requests due but never sent */
    int aborted;
};

void phase_result_collect(struct phase_result *r, struct worker *w, int nworkers);
void report_text(FILE *f, const struct bench_config *cfg, const struct phase_result *load,
                 const struct phase_result *run, const struct windows *ws, struct worker *w,
                 int nworkers);
int report_json(const char *path, const struct bench_config *cfg, const struct phase_result *load,
                const struct phase_result *run, const struct windows *ws, struct worker *w,
                int nworkers);

/* Monotonic clock in ns. */
uint64_t now_ns(void);

#endif
