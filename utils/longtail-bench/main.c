/*
 * main.c: longtail-bench's options, help, and the phases of a run: connect,
 * optionally load the keyspace, then run the workload (warm-up, measured
 * part, closed- or open-loop) while printing a progress line each second,
 * and report.
 *
 * The main thread never sends requests: it starts one worker thread per
 * --threads for each phase, watches their atomic counters for the progress
 * line, joins them and merges their statistics.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help_text[] =
    "NAME\n"
    "    longtail-bench - load generator for Redis-protocol servers with skewed,\n"
    "    larger-than-memory keyspaces\n"
    "\n"
    "SYNOPSIS\n"
    "    longtail-bench [-h HOST] [-p PORT] [-a PASSWORD] [--keys N] [--dist DIST]\n"
    "                   [--ratio R:W] [--type TYPE] [-c CLIENTS] [-P PIPELINE]\n"
    "                   [--threads T] [--duration S | -n REQUESTS] [--warmup S]\n"
    "                   [--rate N] [--seed N] [--load] [--window S] [--json FILE] ...\n"
    "\n"
    "DESCRIPTION\n"
    "    longtail-bench sends a mix of reads and writes over a keyspace of --keys\n"
    "    keys named PREFIX + 12 digits (key:000000000042), picking keys from a\n"
    "    uniform, zipf, hot-set or sequential distribution. Values are strings\n"
    "    (SET/GET) or hashes (HSET of one field / HGETALL, the shape of a user\n"
    "    profile store). Each client connection keeps PIPELINE requests in\n"
    "    flight in batches, as redis-benchmark does; clients are spread over T\n"
    "    threads, each with its own epoll loop. With --rate the load is open-loop\n"
    "    instead: requests are sent on a fixed schedule whatever the server does\n"
    "    (see LATENCY).\n"
    "\n"
    "    It reports requests per second overall and per operation, latency\n"
    "    percentiles p50 p90 p99 p99.9 p99.99 and the maximum from a log-linear\n"
    "    histogram (relative error under 1%), error replies by message, and\n"
    "    misses (nil or empty replies). On a terminal a progress line is\n"
    "    printed every second.\n"
    "\n"
    "CONNECTION\n"
    "    -h, --host HOST        server address (default 127.0.0.1)\n"
    "    -p, --port PORT        server port (default 6379)\n"
    "    -a, --auth PASSWORD    AUTH with this password on every connection\n"
    "        --user NAME        AUTH as this ACL user (with --auth)\n"
    "        --db N             SELECT this database (default 0)\n"
    "\n"
    "WORKLOAD\n"
    "    --keys N               keyspace size (default 1000000); k, m, g suffixes\n"
    "                           multiply by 10^3, 10^6, 10^9\n"
    "    --prefix STR           key prefix (default \"key:\")\n"
    "    --dist DIST            key distribution (default uniform):\n"
    "                             uniform        every key equally likely\n"
    "                             zipf:THETA     rank r drawn with weight r^-THETA\n"
    "                                            (0 < THETA <= 5, e.g. 0.99); ranks are\n"
    "                                            scattered over the keyspace\n"
    "                             hotset:P:Q     P % of the keys receive Q % of the\n"
    "                                            operations, uniform within each part\n"
    "                             sequential     each thread walks its share of the\n"
    "                                            keyspace in order, wrapping around\n"
    "    --ratio R:W            reads to writes (default 1:1; 0:1 writes only)\n"
    "    --type TYPE            value shape (default string:100):\n"
    "                             string:BYTES        SET key value / GET key\n"
    "                             hash:FIELDS:BYTES   HSET key fieldN value (one random\n"
    "                                                 field) / HGETALL key; --load\n"
    "                                                 writes all FIELDS fields\n"
    "    --values text|random   value bytes: pseudo-text that compresses about like\n"
    "                           text (default), or random letters and digits\n"
    "    --seed N               seed of every random choice (default 1): the same\n"
    "                           seed and options give the same request stream\n"
    "\n"
    "LOAD\n"
    "    -c, --clients N        connections (default 50)\n"
    "    -P, --pipeline N       requests in flight per connection (default 1)\n"
    "        --threads T        client threads (default 1)\n"
    "        --duration S       measure for S seconds (default 10)\n"
    "    -n, --requests N       measure N requests instead of a duration\n"
    "        --warmup S         run S seconds first without measuring (default 0)\n"
    "        --rate N           open loop: N requests per second in total, on a\n"
    "                           fixed schedule spread evenly over the connections,\n"
    "                           each keeping up to PIPELINE outstanding (see\n"
    "                           LATENCY); k, m suffixes as for --keys\n"
    "        --load             first write every key once (all fields of a hash),\n"
    "                           as fast as the server allows, with progress and ETA;\n"
    "                           then run the workload only if --duration or\n"
    "                           --requests is given\n"
    "        --load-pipeline N  pipeline depth of --load (default 64)\n"
    "\n"
    "OUTPUT\n"
    "        --window S         also report throughput and latency per window of S\n"
    "                           seconds of the measured part\n"
    "        --json FILE        write everything as JSON to FILE (- for standard\n"
    "                           output): options, load and run results per\n"
    "                           operation, percentiles, the non-empty histogram\n"
    "                           buckets ([upper bound ns, count]), error replies\n"
    "                           and windows\n"
    "        --progress         print the progress line even when not on a terminal\n"
    "                           (one line per second)\n"
    "    -q, --quiet            no progress line\n"
    "        --help             this text\n"
    "        --version          the version\n"
    "\n"
    "LATENCY\n"
    "    Without --rate, latency is measured from the moment a batch is written\n"
    "    to the read that completes each reply, in milliseconds. A request\n"
    "    counts in the measured part if its batch was sent after the warm-up and\n"
    "    its reply came before the end.\n"
    "\n"
    "    That is a closed loop: a slow reply delays the requests behind it, so\n"
    "    a server that stalls for 300 ms shows one slow request per connection\n"
    "    rather than the 300 ms of queueing every request due meanwhile would\n"
    "    have seen (coordinated omission). With --rate N the run is open-loop:\n"
    "    request j of the run is due j/N seconds after the start, requests go\n"
    "    round-robin over the connections, so each connection has its own\n"
    "    schedule of one request every CLIENTS/N seconds, staggered against the\n"
    "    others. A connection keeps up to PIPELINE requests outstanding and\n"
    "    sends every request that is due while it has room; a request due while\n"
    "    its pipeline is full is sent late, never skipped, and every latency\n"
    "    counts from the request's intended send time. The measured part is the\n"
    "    requests due after the warm-up and before the end, with their replies\n"
    "    however late they come; requests due but still unsent at the end are\n"
    "    reported as unsent. The run report then adds the line\n"
    "        rate: target N ops/s, achieved A ops/s, behind: max B ms (client C ms,\n"
    "        L late by 1 ms+), unsent U: client kept up\n"
    "    B is the largest delay between a request's intended and actual send\n"
    "    time; C is the same delay counted only from when the connection had a\n"
    "    free pipeline slot, the client's own delay, and L the number of\n"
    "    requests the client delayed by 1 ms or more. A large B with a small C\n"
    "    is the server keeping the pipeline full, and belongs to its latency.\n"
    "    When L is over 1 in 1000 measured requests the line ends with CLIENT\n"
    "    FELL BEHIND: the latencies include the client's own delay (a busy or\n"
    "    slow-waking client machine); use more --threads or a lower --rate.\n"
    "    Unsent requests were still held back by full pipelines at the end: the\n"
    "    server answered too slowly for the rate (or CLIENTS x PIPELINE is too\n"
    "    small for it at the server's latency), and the achieved rate is below\n"
    "    the target.\n"
    "    Windows add the columns target/s, behind (B) and client (C), and the\n"
    "    JSON output a \"rate\" object in \"run\" and the same figures per window.\n"
    "\n"
    "EXAMPLES\n"
    "    Uniform SET/GET, as redis-benchmark -t set,get -c 50 -P 16 -r 100000:\n"
    "        longtail-bench --keys 100000 --type string:3 -c 50 -P 16 --duration 10\n"
    "\n"
    "    A profile store: 1 M hashes of 20 fields, 99 writes per read, zipf 0.99,\n"
    "    reported every 10 seconds for 5 minutes, results in profile.json:\n"
    "        longtail-bench --keys 1m --type hash:20:16 --load --dist zipf:0.99 \\\n"
    "            --ratio 1:99 -c 50 -P 8 --threads 2 --warmup 10 --duration 300 \\\n"
    "            --window 10 --json profile.json\n"
    "\n"
    "    10 % of the keys get 90 % of the operations, 9 reads per write:\n"
    "        longtail-bench --keys 10m --dist hotset:10:90 --ratio 9:1 -P 4\n"
    "\n"
    "    Open loop: 20 000 requests/s over 50 connections for a minute, with\n"
    "    per-second windows; latency includes any queueing a stall causes:\n"
    "        longtail-bench --keys 1m --rate 20k -c 50 --duration 60 --window 1\n"
    "\n"
    "    Bulk load only, 10 M small strings:\n"
    "        longtail-bench --keys 10m --type string:8 --load -c 16 --threads 2\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when the run completed (error replies are counted and reported, not\n"
    "    fatal); 1 when a connection failed or the server broke the protocol;\n"
    "    2 on bad options; 130 when interrupted (SIGINT or SIGTERM: the results\n"
    "    so far are reported).\n";

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "longtail-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'longtail-bench --help'.\n");
    exit(2);
}

/* A non-negative integer with an optional k/m/g (10^3, 10^6, 10^9) suffix. */
static uint64_t parse_count(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1e9, end++;
    v *= mul;
    if (errno || end == s || *end || v < 0 || v > 1e15 || v != floor(v))
        usage_error("bad number for %s", opt);
    return (uint64_t)v;
}

static int parse_int(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage_error("bad value for %s", opt);
    return (int)v;
}

static double parse_secs(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e7)
        usage_error("bad number of seconds for %s", opt);
    return v;
}

static void parse_dist(struct bench_config *cfg, const char *s)
{
    char *end;
    cfg->dist_spec = strdup(s);
    if (!strcmp(s, "uniform")) {
        cfg->dist = DIST_UNIFORM;
    } else if (!strcmp(s, "sequential")) {
        cfg->dist = DIST_SEQUENTIAL;
    } else if (!strncmp(s, "zipf:", 5)) {
        cfg->dist = DIST_ZIPF;
        cfg->theta = strtod(s + 5, &end);
        if (end == s + 5 || *end || !(cfg->theta > 0) || cfg->theta > 5)
            usage_error("bad zipf exponent in --dist %s (0 < THETA <= 5)", s);
    } else if (!strncmp(s, "hotset:", 7)) {
        cfg->dist = DIST_HOTSET;
        cfg->hot_pct = strtod(s + 7, &end);
        if (end == s + 7 || *end != ':')
            usage_error("bad --dist %s (hotset:P:Q)", s);
        const char *q = end + 1;
        cfg->hot_ops = strtod(q, &end);
        if (end == q || *end || !(cfg->hot_pct > 0) || cfg->hot_pct > 100 || cfg->hot_ops < 0 ||
            cfg->hot_ops > 100)
            usage_error("bad --dist %s (hotset:P:Q, percentages)", s);
    } else {
        usage_error("unknown --dist %s (uniform, zipf:THETA, hotset:P:Q, sequential)", s);
    }
}

static void parse_type(struct bench_config *cfg, const char *s)
{
    char *end;
    cfg->type_spec = strdup(s);
    if (!strncmp(s, "string:", 7)) {
        cfg->type = TYPE_STRING;
        unsigned long v = strtoul(s + 7, &end, 10);
        if (end == s + 7 || *end || v < 1 || v > 64u * 1024 * 1024)
            usage_error("bad --type %s (string:BYTES, 1..64 MB)", s);
        cfg->value_size = (unsigned)v;
        cfg->fields = 0;
    } else if (!strncmp(s, "hash:", 5)) {
        cfg->type = TYPE_HASH;
        unsigned long f = strtoul(s + 5, &end, 10);
        if (end == s + 5 || *end != ':' || f < 1 || f > 100000)
            usage_error("bad --type %s (hash:FIELDS:BYTES)", s);
        const char *b = end + 1;
        unsigned long v = strtoul(b, &end, 10);
        if (end == b || *end || v < 1 || v > 1024 * 1024)
            usage_error("bad --type %s (hash:FIELDS:BYTES)", s);
        cfg->fields = (unsigned)f;
        cfg->value_size = (unsigned)v;
    } else {
        usage_error("unknown --type %s (string:BYTES or hash:FIELDS:BYTES)", s);
    }
}

static void parse_ratio(struct bench_config *cfg, const char *s)
{
    unsigned r, w;
    char tail;
    if (sscanf(s, "%u:%u%c", &r, &w, &tail) != 2 || r + w == 0 || r > 1000000 || w > 1000000)
        usage_error("bad --ratio %s (R:W, e.g. 9:1)", s);
    cfg->rweight = r;
    cfg->wweight = w;
}

enum {
    O_KEYS = 256,
    O_PREFIX,
    O_DIST,
    O_RATIO,
    O_TYPE,
    O_VALUES,
    O_THREADS,
    O_DURATION,
    O_WARMUP,
    O_RATE,
    O_SEED,
    O_LOAD,
    O_LOAD_PIPELINE,
    O_WINDOW,
    O_JSON,
    O_PROGRESS,
    O_USER,
    O_DB,
    O_HELP,
    O_VERSION,
};

static const struct option long_opts[] = {
    {"host", required_argument, 0, 'h'},
    {"port", required_argument, 0, 'p'},
    {"auth", required_argument, 0, 'a'},
    {"user", required_argument, 0, O_USER},
    {"db", required_argument, 0, O_DB},
    {"keys", required_argument, 0, O_KEYS},
    {"prefix", required_argument, 0, O_PREFIX},
    {"dist", required_argument, 0, O_DIST},
    {"ratio", required_argument, 0, O_RATIO},
    {"type", required_argument, 0, O_TYPE},
    {"values", required_argument, 0, O_VALUES},
    {"clients", required_argument, 0, 'c'},
    {"pipeline", required_argument, 0, 'P'},
    {"threads", required_argument, 0, O_THREADS},
    {"duration", required_argument, 0, O_DURATION},
    {"requests", required_argument, 0, 'n'},
    {"warmup", required_argument, 0, O_WARMUP},
    {"rate", required_argument, 0, O_RATE},
    {"seed", required_argument, 0, O_SEED},
    {"load", no_argument, 0, O_LOAD},
    {"load-pipeline", required_argument, 0, O_LOAD_PIPELINE},
    {"window", required_argument, 0, O_WINDOW},
    {"json", required_argument, 0, O_JSON},
    {"progress", no_argument, 0, O_PROGRESS},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, O_HELP},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0},
};

static char *join_argv(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) * 4 + 3;
    char *s = malloc(n), *p = s;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *q = a; *q; q++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=,+@%",
                        *q))
                plain = 0;
        if (i)
            *p++ = ' ';
        if (plain) {
            p = stpcpy(p, a);
        } else {
            *p++ = '\'';
            for (const char *q = a; *q; q++) {
                if (*q == '\'')
                    p = stpcpy(p, "'\\''");
                else
                    *p++ = *q;
            }
            *p++ = '\'';
        }
    }
    *p = 0;
    return s;
}

static void parse_options(struct bench_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "127.0.0.1";
    cfg->port = 6379;
    cfg->keys = 1000000;
    cfg->prefix = "key:";
    cfg->rweight = cfg->wweight = 1;
    cfg->clients = 50;
    cfg->pipeline = 1;
    cfg->threads = 1;
    cfg->seed = 1;
    cfg->load_pipeline = 64;
    cfg->progress = -1;
    parse_dist(cfg, "uniform");
    parse_type(cfg, "string:100");
    cfg->command_line = join_argv(argc, argv);
    int have_duration = 0, have_requests = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h:p:a:c:P:n:q", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            cfg->host = optarg;
            break;
        case 'p':
            cfg->port = parse_int("--port", optarg, 1, 65535);
            break;
        case 'a':
            cfg->auth = optarg;
            break;
        case O_USER:
            cfg->user = optarg;
            break;
        case O_DB:
            cfg->db = parse_int("--db", optarg, 0, 1 << 20);
            break;
        case O_KEYS:
            cfg->keys = parse_count("--keys", optarg);
            if (cfg->keys < 1 || cfg->keys > 999999999999ull)
                usage_error("--keys must be 1..999999999999, not %s", optarg);
            break;
        case O_PREFIX:
            cfg->prefix = optarg;
            if (strlen(optarg) > 200)
                usage_error("--prefix is too long", optarg);
            break;
        case O_DIST:
            free(cfg->dist_spec);
            parse_dist(cfg, optarg);
            break;
        case O_RATIO:
            parse_ratio(cfg, optarg);
            break;
        case O_TYPE:
            free(cfg->type_spec);
            parse_type(cfg, optarg);
            break;
        case O_VALUES:
            if (!strcmp(optarg, "text"))
                cfg->values = VALUES_TEXT;
            else if (!strcmp(optarg, "random"))
                cfg->values = VALUES_RANDOM;
            else
                usage_error("--values is text or random, not %s", optarg);
            break;
        case 'c':
            cfg->clients = parse_int("--clients", optarg, 1, 100000);
            break;
        case 'P':
            cfg->pipeline = parse_int("--pipeline", optarg, 1, 255);
            break;
        case O_THREADS:
            cfg->threads = parse_int("--threads", optarg, 1, 1024);
            break;
        case O_DURATION:
            cfg->duration = parse_secs("--duration", optarg);
            if (cfg->duration <= 0)
                usage_error("--duration must be positive, not %s", optarg);
            have_duration = 1;
            break;
        case 'n':
            cfg->requests = parse_count("--requests", optarg);
            if (!cfg->requests)
                usage_error("--requests must be positive, not %s", optarg);
            have_requests = 1;
            break;
        case O_WARMUP:
            cfg->warmup = parse_secs("--warmup", optarg);
            break;
        case O_RATE:
            cfg->rate = parse_count("--rate", optarg);
            if (cfg->rate < 1 || cfg->rate > 1000000000)
                usage_error("--rate must be 1..1g requests per second, not %s", optarg);
            break;
        case O_SEED:
            cfg->seed = parse_count("--seed", optarg);
            break;
        case O_LOAD:
            cfg->load = 1;
            break;
        case O_LOAD_PIPELINE:
            cfg->load_pipeline = parse_int("--load-pipeline", optarg, 1, 255);
            break;
        case O_WINDOW:
            cfg->window = parse_secs("--window", optarg);
            if (cfg->window < 0.1)
                usage_error("--window must be at least 0.1 s, not %s", optarg);
            break;
        case O_JSON:
            cfg->json_path = optarg;
            break;
        case O_PROGRESS:
            cfg->progress = 1;
            break;
        case 'q':
            cfg->progress = 0;
            break;
        case O_HELP:
            fputs(help_text, stdout);
            exit(0);
        case O_VERSION:
            printf("longtail-bench %s\n", BENCH_VERSION);
            exit(0);
        default:
            fprintf(stderr, "Try 'longtail-bench --help'.\n");
            exit(2);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument %s", argv[optind]);
    if (have_duration && have_requests)
        usage_error("give --duration or --requests, not both%s", "");
    if (cfg->user && !cfg->auth)
        usage_error("--user needs --auth%s", "");
    if (cfg->rate && cfg->load && !have_duration && !have_requests)
        usage_error("--rate sets the pace of the run: give --duration or --requests%s", "");
    if (cfg->threads > cfg->clients)
        cfg->threads = cfg->clients;
    cfg->load_only = cfg->load && !have_duration && !have_requests;
    if (!have_duration && !have_requests)
        cfg->duration = 10;
    if (have_requests)
        cfg->duration = 0;
}

/* ---- running a phase ----------------------------------------------------------- */

static atomic_int abort_flag;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    interrupted = 1;
    atomic_store(&abort_flag, 1);
}

static int show_progress(const struct bench_config *cfg)
{
    return cfg->progress == 1 || (cfg->progress == -1 && isatty(2));
}

static void progress_line(const struct bench_config *cfg, const struct phase_plan *plan,
                          uint64_t now, uint64_t done, uint64_t errs, double rate, uint64_t total,
                          uint64_t behind)
{
    int tty = cfg->progress == -1;
    char line[256], target[96] = "";
    if (plan->rate)
        snprintf(target, sizeof(target), " (target %llu, behind %.1f ms)",
                 (unsigned long long)plan->rate, (double)behind / 1e6);
    if (plan->phase == PHASE_LOAD) {
        double pct = total ? 100.0 * (double)done / (double)total : 0;
        double eta = rate > 0 ? (double)(total - (done < total ? done : total)) / rate : 0;
        snprintf(line, sizeof(line),
                 "load: %5.1f%% %llu/%llu keys, %.0f keys/s, ETA %.0f s, errors %llu", pct,
                 (unsigned long long)done, (unsigned long long)total, rate, eta,
                 (unsigned long long)errs);
    } else if (now < plan->t_record) {
        snprintf(line, sizeof(line), "warmup: %.0f s left, %.0f ops/s%s, errors %llu",
                 (double)(plan->t_record - now) / 1e9, rate, target, (unsigned long long)errs);
    } else {
        double el = (double)(now - plan->t_record) / 1e9;
        if (plan->t_stop)
            snprintf(line, sizeof(line),
                     "run: %.0f/%.0f s, %.0f ops/s%s, %llu requests, errors %llu", el,
                     (double)(plan->t_stop - plan->t_record) / 1e9, rate, target,
                     (unsigned long long)done, (unsigned long long)errs);
        else
            snprintf(line, sizeof(line),
                     "run: %.0f s, %llu/%llu requests, %.0f ops/s%s, errors %llu", el,
                     (unsigned long long)done, (unsigned long long)total, rate, target,
                     (unsigned long long)errs);
    }
    if (tty)
        fprintf(stderr, "\r%s\033[K", line);
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* Runs one phase on every worker and collects its results. "total" is the
 * number of requests the phase is bounded by (0 for a duration). */
static void run_phase(const struct bench_config *cfg, struct worker *w, int nw,
                      struct phase_plan *plan, uint64_t total, struct phase_result *res)
{
    uint64_t assigned = 0;
    for (int i = 0; i < nw; i++) {
        uint64_t budget;
        if (plan->phase == PHASE_LOAD)
            budget = w[i].key_hi - w[i].key_lo;
        else if (i == nw - 1)
            budget = total - assigned;
        else
            budget = total * (uint64_t)w[i].nconns / (uint64_t)cfg->clients;
        assigned += budget;
        worker_phase_start(&w[i], plan, budget);
        atomic_store(&w[i].done_ops, 0);
        atomic_store(&w[i].done_errs, 0);
    }
    for (int i = 0; i < nw; i++)
        pthread_create(&w[i].thread, NULL, worker_main, &w[i]);

    int progress = show_progress(cfg);
    uint64_t last_t = plan->t_start, last_done = 0, next_line = plan->t_start + 1000000000ull;
    uint64_t base_done = 0; /* requests done before the measured part */
    int recording = plan->t_record <= plan->t_start;
    for (;;) {
        int finished = 0;
        for (int i = 0; i < nw; i++)
            finished += atomic_load(&w[i].finished);
        if (finished == nw)
            break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        uint64_t now = now_ns();
        if (!recording && now >= plan->t_record) {
            recording = 1;
            base_done = 0;
            for (int i = 0; i < nw; i++)
                base_done += atomic_load(&w[i].done_ops);
        }
        if (progress && now >= next_line) {
            uint64_t done = 0, errs = 0, behind = 0;
            for (int i = 0; i < nw; i++) {
                done += atomic_load(&w[i].done_ops);
                errs += atomic_load(&w[i].done_errs);
                uint64_t b = atomic_exchange(&w[i].lag_recent, 0);
                if (b > behind)
                    behind = b;
            }
            double rate = (double)(done - last_done) / ((double)(now - last_t) / 1e9);
            progress_line(cfg, plan, now, recording ? done - base_done : done, errs, rate, total,
                          behind);
            last_t = now;
            last_done = done;
            next_line += 1000000000ull;
        }
    }
    for (int i = 0; i < nw; i++)
        pthread_join(w[i].thread, NULL);
    if (progress && cfg->progress == -1)
        fprintf(stderr, "\r\033[K");

    res->phase = plan->phase;
    res->aborted = atomic_load(&abort_flag);
    phase_result_collect(res, w, nw);
    if (plan->t_stop && !res->aborted) {
        res->seconds = (double)(plan->t_stop - plan->t_record) / 1e9;
    } else {
        uint64_t end = plan->t_record;
        for (int i = 0; i < nw; i++)
            if (w[i].last_done > end)
                end = w[i].last_done;
        if (res->aborted && interrupted)
            end = now_ns();
        res->seconds = (double)(end - plan->t_record) / 1e9;
    }
}

int main(int argc, char **argv)
{
    struct bench_config cfg;
    parse_options(&cfg, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    if (!hist_layout_check()) {
        fprintf(stderr, "longtail-bench: the histogram layout of src/ds/hist.c changed; "
                        "report.c must follow it\n");
        return 1;
    }

    struct values values;
    values_init(&values, &cfg);
    int nw = cfg.threads;
    struct worker *w = calloc((size_t)nw, sizeof(*w));
    for (int i = 0; i < nw; i++) {
        w[i].index = i;
        w[i].cfg = &cfg;
        w[i].values = &values;
        w[i].epfd = -1;
        w[i].timerfd = -1;
        w[i].key_lo = cfg.keys * (uint64_t)i / (uint64_t)nw;
        w[i].key_hi = cfg.keys * (uint64_t)(i + 1) / (uint64_t)nw;
        rng_seed(&w[i].rng, cfg.seed * 0x100000001b3ull + (uint64_t)i);
        keygen_init(&w[i].keys, &cfg, w[i].key_lo, w[i].key_hi);
    }
    char err[512];
    if (workers_connect(w, nw, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "longtail-bench: %s\n", err);
        return 1;
    }
    if (show_progress(&cfg)) {
        char pace[64] = "";
        if (cfg.rate)
            snprintf(pace, sizeof(pace), ", open loop at %llu requests/s",
                     (unsigned long long)cfg.rate);
        fprintf(stderr,
                "longtail-bench %s: %s:%d, %d clients, pipeline %d, %d threads, %llu keys, "
                "%s, %s, ratio %u:%u%s\n",
                BENCH_VERSION, cfg.host, cfg.port, cfg.clients, cfg.pipeline, nw,
                (unsigned long long)cfg.keys, cfg.dist_spec, cfg.type_spec, cfg.rweight,
                cfg.wweight, pace);
    }

    struct phase_result *load = NULL, *run = NULL;
    struct windows windows;
    windows_init(&windows, nw);
    struct phase_plan plan = {.abort = &abort_flag, .windows = &windows};
    if (cfg.load) {
        load = malloc(sizeof(*load));
        plan.phase = PHASE_LOAD;
        plan.t_start = plan.t_record = now_ns();
        plan.t_stop = 0;
        plan.window_ns = 0;
        plan.rate = 0; /* the load is always as fast as the server allows */
        run_phase(&cfg, w, nw, &plan, cfg.keys, load);
    }
    if (!cfg.load_only && !atomic_load(&abort_flag)) {
        run = malloc(sizeof(*run));
        plan.phase = PHASE_RUN;
        plan.t_start = now_ns();
        plan.t_record = plan.t_start + (uint64_t)(cfg.warmup * 1e9);
        plan.t_stop = cfg.duration > 0 ? plan.t_record + (uint64_t)(cfg.duration * 1e9) : 0;
        plan.window_ns = (uint64_t)(cfg.window * 1e9);
        plan.rate = cfg.rate;
        run_phase(&cfg, w, nw, &plan, cfg.requests, run);
        windows_flush(&windows);
    }

    int status = 0;
    for (int i = 0; i < nw; i++) {
        if (w[i].fatal[0]) {
            fprintf(stderr, "longtail-bench: %s\n", w[i].fatal);
            status = 1;
            break;
        }
    }
    if (interrupted) {
        fprintf(stderr, "longtail-bench: interrupted; results so far:\n");
        status = 130;
    }
    report_text(stdout, &cfg, load, run, &windows, w, nw);
    if (cfg.json_path && report_json(cfg.json_path, &cfg, load, run, &windows, w, nw) < 0) {
        fprintf(stderr, "longtail-bench: cannot write %s: %s\n", cfg.json_path, strerror(errno));
        status = 1;
    }
    windows_free(&windows);
    workers_free(w, nw);
    free(w);
    free(load);
    free(run);
    free(values.buf);
    free(cfg.dist_spec);
    free(cfg.type_spec);
    free(cfg.command_line);
    return status;
}
