/*
 * report.c: statistics merging, time windows, and the text and JSON output.
 *
 * Latencies are recorded in nanoseconds into src/ds/hist.c's log-linear
 * histogram (128 linear sub-buckets per power of two: any percentile is
 * within 1/128 < 1% of the true sample, never an average of samples). The
 * JSON output lists the non-empty buckets as [upper bound, count] pairs;
 * the bounds follow the layout hist.c documents, which hist_layout_check()
 * verifies against hist_record() at start-up.
 *
 * A window is complete when every worker has handed it in; the last one in
 * turns it into a summary (counts and percentiles) and frees the merged
 * histograms, so memory does not grow with the number of windows beyond one
 * small summary each.
 *
 * With --rate every report also gives the target and achieved rates and how
 * far the client fell behind its schedule (struct lag_stats), so that a
 * client too slow for its rate is not taken for a slow server.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

void op_stats_init(struct op_stats *s)
{
    s->count = s->errors = s->misses = s->sum_ns = 0;
    hist_init(&s->h);
}

void op_stats_merge(struct op_stats *dst, const struct op_stats *src)
{
    dst->count += src->count;
    dst->errors += src->errors;
    dst->misses += src->misses;
    dst->sum_ns += src->sum_ns;
    hist_merge(&dst->h, &src->h);
}

void lag_stats_merge(struct lag_stats *dst, const struct lag_stats *src)
{
    if (src->behind_max > dst->behind_max)
        dst->behind_max = src->behind_max;
    if (src->client_max > dst->client_max)
        dst->client_max = src->client_max;
    dst->client_late += src->client_late;
}

const char *op_name(const struct bench_config *cfg, enum op op)
{
    int hash = cfg->type == TYPE_HASH;
    switch (op) {
    case OP_READ:
        return hash ? "HGETALL" : "GET";
    case OP_WRITE:
        return hash ? "HSET" : "SET";
    case OP_LOAD:
        return hash ? "HSET-all-fields" : "SET";
    default:
        return "all";
    }
}

/* ---- histogram layout ----------------------------------------------------------- */

#define SUBS         (1u << HIST_SUB_BITS)
#define USED_BUCKETS ((64u - HIST_SUB_BITS + 1) * SUBS) /* top bit 63 is the last magnitude */

/* Largest value that falls in bucket idx (hist.c's layout: exact values
 * below SUBS, then SUBS sub-buckets per power of two). */
static uint64_t hist_bucket_upper(unsigned idx)
{
    unsigned mag = idx / SUBS, sub = idx % SUBS;
    if (mag == 0)
        return sub;
    unsigned shift = mag - 1;
    return ((uint64_t)(SUBS + sub) << shift) + ((uint64_t)1 << shift) - 1;
}

int hist_layout_check(void)
{
    hist *h = malloc(sizeof(*h));
    hist_init(h);
    for (unsigned i = 0; i < USED_BUCKETS; i++)
        hist_record(h, hist_bucket_upper(i));
    int ok = 1;
    for (unsigned i = 0; i < USED_BUCKETS && ok; i++)
        ok = h->counts[i] == 1;
    free(h);
    return ok;
}

/* ---- windows ------------------------------------------------------------------ */

struct window_acc {
    int contributions;
    struct op_stats ops[OP_COUNT];
    struct lag_stats lag;
};

void windows_init(struct windows *ws, int nworkers)
{
    memset(ws, 0, sizeof(*ws));
    pthread_mutex_init(&ws->mu, NULL);
    ws->nworkers = nworkers;
}

static void summarize(struct window_summary *s, const struct op_stats *ops)
{
    struct op_stats *all = malloc(sizeof(*all));
    op_stats_init(all);
    for (int i = 0; i <= OP_COUNT; i++) {
        const struct op_stats *o = i < OP_COUNT ? &ops[i] : all;
        if (i < OP_COUNT)
            op_stats_merge(all, o);
        s->count[i] = o->count;
        s->errors[i] = o->errors;
        s->misses[i] = o->misses;
        s->p50[i] = hist_percentile(&o->h, 50);
        s->p90[i] = hist_percentile(&o->h, 90);
        s->p99[i] = hist_percentile(&o->h, 99);
        s->p999[i] = hist_percentile(&o->h, 99.9);
        s->max[i] = o->count ? o->h.max : 0;
    }
    free(all);
}

static void windows_grow(struct windows *ws, size_t idx)
{
    if (idx < ws->cap)
        return;
    size_t cap = ws->cap ? ws->cap : 64;
    while (cap <= idx)
        cap *= 2;
    ws->acc = realloc(ws->acc, cap * sizeof(*ws->acc));
    ws->done = realloc(ws->done, cap * sizeof(*ws->done));
    memset(ws->acc + ws->cap, 0, (cap - ws->cap) * sizeof(*ws->acc));
    memset(ws->done + ws->cap, 0, (cap - ws->cap) * sizeof(*ws->done));
    ws->cap = cap;
}

static void window_finish(struct windows *ws, size_t idx)
{
    summarize(&ws->done[idx], ws->acc[idx]->ops);
    ws->done[idx].lag = ws->acc[idx]->lag;
    free(ws->acc[idx]);
    ws->acc[idx] = NULL;
    if (idx + 1 > ws->ndone)
        ws->ndone = idx + 1;
}

void windows_contribute(struct windows *ws, uint64_t idx, struct op_stats *stats,
                        struct lag_stats *lag)
{
    pthread_mutex_lock(&ws->mu);
    windows_grow(ws, (size_t)idx);
    struct window_acc *a = ws->acc[idx];
    if (!a) {
        a = ws->acc[idx] = malloc(sizeof(*a));
        a->contributions = 0;
        a->lag = (struct lag_stats){0, 0, 0};
        for (int i = 0; i < OP_COUNT; i++)
            op_stats_init(&a->ops[i]);
    }
    for (int i = 0; i < OP_COUNT; i++)
        op_stats_merge(&a->ops[i], &stats[i]);
    lag_stats_merge(&a->lag, lag);
    if (++a->contributions == ws->nworkers)
        window_finish(ws, (size_t)idx);
    pthread_mutex_unlock(&ws->mu);
    for (int i = 0; i < OP_COUNT; i++)
        op_stats_init(&stats[i]);
    *lag = (struct lag_stats){0, 0, 0};
}

/* Finishes the windows that not every worker reached (--requests, abort). */
void windows_flush(struct windows *ws)
{
    pthread_mutex_lock(&ws->mu);
    for (size_t i = 0; i < ws->cap; i++)
        if (ws->acc[i])
            window_finish(ws, i);
    pthread_mutex_unlock(&ws->mu);
}

void windows_free(struct windows *ws)
{
    for (size_t i = 0; i < ws->cap; i++)
        free(ws->acc[i]);
    free(ws->acc);
    free(ws->done);
    pthread_mutex_destroy(&ws->mu);
}

/* ---- results ------------------------------------------------------------------ */

void phase_result_collect(struct phase_result *r, struct worker *w, int nworkers)
{
    op_stats_init(&r->all);
    r->lag = (struct lag_stats){0, 0, 0};
    r->unsent = 0;
    for (int j = 0; j < nworkers; j++) {
        lag_stats_merge(&r->lag, &w[j].lag_total);
        r->unsent += w[j].unsent;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        op_stats_init(&r->ops[i]);
        for (int j = 0; j < nworkers; j++)
            op_stats_merge(&r->ops[i], &w[j].total[i]);
        op_stats_merge(&r->all, &r->ops[i]);
    }
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* The client kept to its schedule if it delayed at most 1 in 1000 measured
 * requests by CLIENT_LATE_NS or more on its own, so that its delays (say, a
 * scheduling hiccup of a loaded machine) reach no reported percentile below
 * p99.9. Unsent requests are not the client's doing: at the end a request is
 * still owed only by a connection whose pipeline is full. */
static int client_kept_up(const struct phase_result *r)
{
    return r->lag.client_late * 1000 <= r->all.count;
}

static const double pcts[] = {50, 90, 99, 99.9, 99.99};
static const char *pct_names[] = {"p50", "p90", "p99", "p99.9", "p99.99"};
#define NPCT 5

static void text_row(FILE *f, const char *name, const struct op_stats *s, double secs)
{
    fprintf(f, "%-16s %11llu %12.1f %8llu %8llu", name, (unsigned long long)s->count,
            secs > 0 ? (double)s->count / secs : 0.0, (unsigned long long)s->errors,
            (unsigned long long)s->misses);
    for (int i = 0; i < NPCT; i++)
        fprintf(f, " %8.3f", ms(hist_percentile(&s->h, pcts[i])));
    fprintf(f, " %8.3f\n", ms(s->count ? s->h.max : 0));
}

static void text_table(FILE *f, const struct bench_config *cfg, const struct phase_result *r)
{
    fprintf(f, "%-16s %11s %12s %8s %8s", "op", "requests", "ops/s", "errors", "misses");
    for (int i = 0; i < NPCT; i++)
        fprintf(f, " %8s", pct_names[i]);
    fprintf(f, " %8s   (latency in ms)\n", "max");
    int shown = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!r->ops[i].count)
            continue;
        text_row(f, op_name(cfg, (enum op)i), &r->ops[i], r->seconds);
        shown++;
    }
    if (shown != 1)
        text_row(f, "all", &r->all, r->seconds);
}

static void text_errors(FILE *f, const struct bench_config *cfg, struct worker *w, int nworkers)
{
    /* merge the distinct messages of all workers */
    struct {
        const char *msg;
        enum op op;
        uint64_t count;
    } m[ERR_KINDS * 8];
    int n = 0;
    uint64_t other = 0;
    for (int j = 0; j < nworkers; j++) {
        other += w[j].errs_other;
        for (int i = 0; i < w[j].nerrs; i++) {
            int k;
            for (k = 0; k < n; k++)
                if (m[k].op == w[j].errs[i].op && !strcmp(m[k].msg, w[j].errs[i].msg))
                    break;
            if (k == n) {
                if (n == (int)(sizeof(m) / sizeof(m[0]))) {
                    other += w[j].errs[i].count;
                    continue;
                }
                m[n].msg = w[j].errs[i].msg;
                m[n].op = w[j].errs[i].op;
                m[n].count = 0;
                n++;
            }
            m[k].count += w[j].errs[i].count;
        }
    }
    if (!n && !other)
        return;
    fprintf(f, "error replies:\n");
    for (int k = 0; k < n; k++)
        fprintf(f, "  %-16s %10llu x %s\n", op_name(cfg, m[k].op), (unsigned long long)m[k].count,
                m[k].msg);
    if (other)
        fprintf(f, "  %-16s %10llu x (other messages)\n", "", (unsigned long long)other);
}

static double window_secs(const struct bench_config *cfg, const struct phase_result *run, size_t i)
{
    double start = (double)i * cfg->window;
    double len = run->seconds - start;
    return len < cfg->window ? (len > 0 ? len : 0) : cfg->window;
}

void report_text(FILE *f, const struct bench_config *cfg, const struct phase_result *load,
                 const struct phase_result *run, const struct windows *ws, struct worker *w,
                 int nworkers)
{
    if (load) {
        const struct op_stats *s = &load->ops[OP_LOAD];
        fprintf(f, "load%s: %llu keys in %.2f s: %.0f keys/s, %llu errors\n",
                load->aborted ? " (stopped early)" : "", (unsigned long long)s->count,
                load->seconds, load->seconds > 0 ? (double)s->count / load->seconds : 0.0,
                (unsigned long long)s->errors);
        text_table(f, cfg, load);
    }
    if (run) {
        if (load)
            fprintf(f, "\n");
        fprintf(f, "run%s: %.2f s, %llu requests, %.1f ops/s, %llu errors\n",
                run->aborted ? " (stopped early)" : "", run->seconds,
                (unsigned long long)run->all.count,
                run->seconds > 0 ? (double)run->all.count / run->seconds : 0.0,
                (unsigned long long)run->all.errors);
        if (cfg->rate)
            fprintf(f,
                    "rate: target %llu ops/s, achieved %.1f ops/s, behind: max %.3f ms "
                    "(client %.3f ms, %llu late by 1 ms+), unsent %llu%s: %s\n",
                    (unsigned long long)cfg->rate,
                    run->seconds > 0 ? (double)run->all.count / run->seconds : 0.0,
                    ms(run->lag.behind_max), ms(run->lag.client_max),
                    (unsigned long long)run->lag.client_late, (unsigned long long)run->unsent,
                    run->unsent ? " (held by full pipelines)" : "",
                    client_kept_up(run) ? "client kept up"
                                        : "CLIENT FELL BEHIND (latencies include its own delay)");
        text_table(f, cfg, run);
    }
    text_errors(f, cfg, w, nworkers);
    if (run && ws && ws->ndone) {
        fprintf(f, "\nwindows of %g s:\n%8s %12s %8s %8s %8s %8s %8s", cfg->window, "start(s)",
                "ops/s", "errors", "p50", "p99", "p99.9", "max");
        if (cfg->rate)
            fprintf(f, " %10s %8s %8s", "target/s", "behind", "client");
        fprintf(f, "\n");
        for (size_t i = 0; i < ws->ndone; i++) {
            const struct window_summary *s = &ws->done[i];
            double secs = window_secs(cfg, run, i);
            fprintf(f, "%8.1f %12.1f %8llu %8.3f %8.3f %8.3f %8.3f", (double)i * cfg->window,
                    secs > 0 ? (double)s->count[OP_COUNT] / secs : 0.0,
                    (unsigned long long)s->errors[OP_COUNT], ms(s->p50[OP_COUNT]),
                    ms(s->p99[OP_COUNT]), ms(s->p999[OP_COUNT]), ms(s->max[OP_COUNT]));
            if (cfg->rate)
                fprintf(f, " %10llu %8.3f %8.3f", (unsigned long long)cfg->rate,
                        ms(s->lag.behind_max), ms(s->lag.client_max));
            fprintf(f, "\n");
        }
    }
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_latency(FILE *f, const struct op_stats *s)
{
    fprintf(f, "{");
    for (int i = 0; i < NPCT; i++)
        fprintf(f, "\"%s\": %.6f, ", pct_names[i], ms(hist_percentile(&s->h, pcts[i])));
    fprintf(f, "\"min\": %.6f, \"max\": %.6f, \"mean\": %.6f}", ms(s->count ? s->h.min : 0),
            ms(s->count ? s->h.max : 0), s->count ? ms(s->sum_ns) / (double)s->count : 0.0);
}

static void json_op(FILE *f, const struct op_stats *s, double secs, const char *indent)
{
    fprintf(f,
            "{\n%s  \"requests\": %llu, \"ops_per_sec\": %.3f, \"errors\": %llu, "
            "\"misses\": %llu,\n%s  \"latency_ms\": ",
            indent, (unsigned long long)s->count, secs > 0 ? (double)s->count / secs : 0.0,
            (unsigned long long)s->errors, (unsigned long long)s->misses, indent);
    json_latency(f, s);
    fprintf(f,
            ",\n%s  \"histogram\": {\"unit\": \"ns\", \"bucket\": \"[upper bound, count]\", "
            "\"buckets\": [",
            indent);
    int first = 1;
    for (unsigned i = 0; i < USED_BUCKETS; i++) {
        if (!s->h.counts[i])
            continue;
        fprintf(f, "%s[%llu, %llu]", first ? "" : ", ", (unsigned long long)hist_bucket_upper(i),
                (unsigned long long)s->h.counts[i]);
        first = 0;
    }
    fprintf(f, "]}\n%s}", indent);
}

static void json_phase(FILE *f, const struct bench_config *cfg, const struct phase_result *r)
{
    fprintf(f,
            "{\n    \"seconds\": %.6f, \"requests\": %llu, \"ops_per_sec\": %.3f, "
            "\"errors\": %llu, \"aborted\": %s,\n    \"ops\": {",
            r->seconds, (unsigned long long)r->all.count,
            r->seconds > 0 ? (double)r->all.count / r->seconds : 0.0,
            (unsigned long long)r->all.errors, r->aborted ? "true" : "false");
    int first = 1;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!r->ops[i].count && !(r->phase == PHASE_LOAD && i == OP_LOAD))
            continue;
        fprintf(f, "%s\n      ", first ? "" : ",");
        json_str(f, op_name(cfg, (enum op)i));
        fprintf(f, ": ");
        json_op(f, &r->ops[i], r->seconds, "      ");
        first = 0;
    }
    fprintf(f, "\n    },\n    \"all\": ");
    json_op(f, &r->all, r->seconds, "    ");
    if (r->phase == PHASE_RUN && cfg->rate)
        fprintf(f,
                ",\n    \"rate\": {\"target_ops_per_sec\": %llu, \"achieved_ops_per_sec\": %.3f, "
                "\"behind_max_ms\": %.6f, \"client_lag_max_ms\": %.6f, "
                "\"client_late_requests\": %llu, \"unsent\": %llu, \"client_kept_up\": %s}",
                (unsigned long long)cfg->rate,
                r->seconds > 0 ? (double)r->all.count / r->seconds : 0.0, ms(r->lag.behind_max),
                ms(r->lag.client_max), (unsigned long long)r->lag.client_late,
                (unsigned long long)r->unsent, client_kept_up(r) ? "true" : "false");
    fprintf(f, "\n  }");
}

static const char *dist_name(enum dist_kind d)
{
    static const char *n[] = {"uniform", "zipf", "hotset", "sequential"};
    return n[d];
}

int report_json(const char *path, const struct bench_config *cfg, const struct phase_result *load,
                const struct phase_result *run, const struct windows *ws, struct worker *w,
                int nworkers)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f)
        return -1;
    fprintf(f, "{\n  \"tool\": \"longtail-bench\", \"version\": \"%s\",\n  \"command\": ",
            BENCH_VERSION);
    json_str(f, cfg->command_line);
    fprintf(f, ",\n  \"config\": {\"host\": ");
    json_str(f, cfg->host);
    fprintf(f, ", \"port\": %d, \"db\": %d, \"keys\": %llu, \"prefix\": ", cfg->port, cfg->db,
            (unsigned long long)cfg->keys);
    json_str(f, cfg->prefix);
    fprintf(f, ", \"dist\": ");
    json_str(f, cfg->dist_spec);
    fprintf(f,
            ", \"dist_kind\": \"%s\", \"zipf_theta\": %g, \"hot_keys_pct\": %g, "
            "\"hot_ops_pct\": %g,\n    \"ratio\": {\"read\": %u, \"write\": %u}, \"type\": ",
            dist_name(cfg->dist), cfg->dist == DIST_ZIPF ? cfg->theta : 0,
            cfg->dist == DIST_HOTSET ? cfg->hot_pct : 0,
            cfg->dist == DIST_HOTSET ? cfg->hot_ops : 0, cfg->rweight, cfg->wweight);
    json_str(f, cfg->type_spec);
    fprintf(f, ", \"fields\": %u, \"value_bytes\": %u, \"values\": \"%s\",\n", cfg->fields,
            cfg->value_size, cfg->values == VALUES_TEXT ? "text" : "random");
    fprintf(f,
            "    \"clients\": %d, \"pipeline\": %d, \"threads\": %d, \"duration\": %g, "
            "\"requests\": %llu, \"warmup\": %g, \"seed\": %llu, \"load\": %s, "
            "\"load_pipeline\": %d, \"window\": %g, \"rate\": %llu},\n",
            cfg->clients, cfg->pipeline, cfg->threads, cfg->duration,
            (unsigned long long)cfg->requests, cfg->warmup, (unsigned long long)cfg->seed,
            cfg->load ? "true" : "false", cfg->load_pipeline, cfg->window,
            (unsigned long long)cfg->rate);
    fprintf(f, "  \"load\": ");
    if (load)
        json_phase(f, cfg, load);
    else
        fprintf(f, "null");
    fprintf(f, ",\n  \"run\": ");
    if (run)
        json_phase(f, cfg, run);
    else
        fprintf(f, "null");

    fprintf(f, ",\n  \"error_replies\": [");
    int first = 1;
    uint64_t other = 0;
    for (int j = 0; j < nworkers; j++) {
        other += w[j].errs_other;
        for (int i = 0; i < w[j].nerrs; i++) {
            fprintf(f, "%s\n    {\"op\": \"%s\", \"count\": %llu, \"message\": ", first ? "" : ",",
                    op_name(cfg, w[j].errs[i].op), (unsigned long long)w[j].errs[i].count);
            json_str(f, w[j].errs[i].msg);
            fprintf(f, "}");
            first = 0;
        }
    }
    fprintf(f, "%s],\n  \"error_replies_other\": %llu,\n  \"windows\": [", first ? "" : "\n  ",
            (unsigned long long)other);
    for (size_t i = 0; run && ws && i < ws->ndone; i++) {
        const struct window_summary *s = &ws->done[i];
        double secs = window_secs(cfg, run, i);
        fprintf(f, "%s\n    {\"start_s\": %g, \"seconds\": %g", i ? "," : "",
                (double)i * cfg->window, secs);
        if (cfg->rate)
            fprintf(f,
                    ", \"target_ops_per_sec\": %llu, \"behind_max_ms\": %.6f, "
                    "\"client_lag_max_ms\": %.6f",
                    (unsigned long long)cfg->rate, ms(s->lag.behind_max), ms(s->lag.client_max));
        for (int o = 0; o <= OP_COUNT; o++) {
            if (o < OP_COUNT && !s->count[o])
                continue;
            fprintf(f,
                    ", \"%s\": {\"requests\": %llu, \"ops_per_sec\": %.3f, \"errors\": %llu, "
                    "\"misses\": %llu, \"p50_ms\": %.6f, \"p90_ms\": %.6f, \"p99_ms\": %.6f, "
                    "\"p99.9_ms\": %.6f, \"max_ms\": %.6f}",
                    o < OP_COUNT ? op_name(cfg, (enum op)o) : "all",
                    (unsigned long long)s->count[o], secs > 0 ? (double)s->count[o] / secs : 0.0,
                    (unsigned long long)s->errors[o], (unsigned long long)s->misses[o],
                    ms(s->p50[o]), ms(s->p90[o]), ms(s->p99[o]), ms(s->p999[o]), ms(s->max[o]));
        }
        fprintf(f, "}");
    }
    fprintf(f, "%s]\n}\n", run && ws && ws->ndone ? "\n  " : "");
    if (f != stdout && fclose(f) != 0)
        return -1;
    return 0;
}
