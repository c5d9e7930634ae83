/*
 * lt-bench: longtail-bench's open-loop mode (--rate) against a real
 * longtail-server, run as its own process and judged by what it reports.
 *
 *   lt-bench [--server PATH] [--bench PATH] [-v]
 *
 * --bench defaults to $LT_BENCH, else ../../longtail-bench next to this
 * binary.
 *
 * Tests:
 *  1. --rate 2000 for 2 s sends 4000 requests (within 5 %), and the report,
 *     its windows and the JSON say the target and the achieved rate.
 *  2. No coordinated omission: the server is stopped (SIGSTOP) for 300 ms in
 *     the middle of a --rate run with pipelining; the run still sends its
 *     4000 requests, the largest latency is at least 250 ms, and p90 is at
 *     least 50 ms, since every request due during the stall waits for it. A
 *     closed loop would show at most one slow request per pipeline slot (32
 *     here). The delay is reported as "behind" schedule, not as the client's
 *     own.
 *  3. --rate with --requests sends exactly that many, at the rate.
 *  4. A bad --rate is refused (exit status 2).
 *  5. Without --rate the closed loop is as before: exact --requests count,
 *     no rate line, no rate columns in the windows.
 *
 * The bounds are generous (a loaded 2-core machine is late by milliseconds,
 * never by 250 ms); nothing depends on timing but those bounds.
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static lt_opts opts;
static const char *bench;
static lt_server srv;
static int srv_up;

/* ---- running longtail-bench ------------------------------------------------- */

/*
 * Runs longtail-bench -p PORT -q with the NULL-terminated "args" against the
 * server and returns its standard output (malloc'd), its exit status in
 * "*status". With "stall_at_ms" > 0 the server is stopped that long after
 * the start, for "stall_ms", then continued.
 */
static char *bench_run(const char *const *args, int stall_at_ms, int stall_ms, int *status)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", srv.port);
    const char *argv[48];
    int n = 0;
    argv[n++] = bench;
    argv[n++] = "-p";
    argv[n++] = port;
    argv[n++] = "-q";
    for (int i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (lt_verbose) {
        printf("  $");
        for (int i = 0; i < n; i++)
            printf(" %s", argv[i]);
        printf("\n");
    }
    int fd[2];
    if (pipe(fd) < 0) {
        *status = -1;
        return NULL;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(bench, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", bench, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0) {
        close(fd[0]);
        *status = -1;
        return NULL;
    }
    if (stall_at_ms > 0) {
        /* the report is printed at the end, so the pipe cannot fill meanwhile */
        lt_sleep_ms(stall_at_ms);
        kill(srv.pid, SIGSTOP);
        lt_sleep_ms(stall_ms);
        kill(srv.pid, SIGCONT);
    }
    lt_buf out = {0};
    char chunk[4096];
    for (;;) {
        ssize_t k = read(fd[0], chunk, sizeof(chunk));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        lt_buf_append(&out, chunk, (size_t)k);
    }
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    lt_buf_puts(&out, "");
    char *text = lt_buf_take(&out);
    printf("%s", text); /* the report, for the log */
    return text;
}

/* ---- reading its report ----------------------------------------------------- */

/* The line of "text" that starts with "prefix", or NULL. */
static const char *line_with(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, n))
            return p;
    return NULL;
}

struct run_line {
    double seconds, ops;
    unsigned long long requests;
};

static int parse_run(const char *text, struct run_line *r)
{
    const char *l = line_with(text, "run: ");
    return l && sscanf(l, "run: %lf s, %llu requests, %lf ops/s", &r->seconds, &r->requests,
                       &r->ops) == 3;
}

struct rate_line {
    unsigned long long target, late, unsent;
    double achieved, behind, client;
};

static int parse_rate(const char *text, struct rate_line *r)
{
    const char *l = line_with(text, "rate: ");
    return l && sscanf(l,
                       "rate: target %llu ops/s, achieved %lf ops/s, behind: max %lf ms "
                       "(client %lf ms, %llu late by 1 ms+), unsent %llu",
                       &r->target, &r->achieved, &r->behind, &r->client, &r->late, &r->unsent) == 6;
}

/* The latency figures (ms) of the table row "all". */
struct all_row {
    unsigned long long requests;
    double p50, p90, p99, max;
};

static int parse_all(const char *text, struct all_row *a)
{
    const char *l = line_with(text, "all ");
    unsigned long long errors, misses;
    double ops, p999, p9999;
    return l && sscanf(l, "all %llu %lf %llu %llu %lf %lf %lf %lf %lf %lf", &a->requests, &ops,
                       &errors, &misses, &a->p50, &a->p90, &a->p99, &p999, &p9999, &a->max) == 10;
}

static int within(double v, double expect, double frac)
{
    return v >= expect * (1 - frac) && v <= expect * (1 + frac);
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_rate_holds(void)
{
    char json[PATH_MAX];
    snprintf(json, sizeof(json), "%s/bench.json", srv.root);
    const char *args[] = {"--keys",   "1000", "--type", "string:16", "--ratio",    "1:1",
                          "-c",       "10",   "--rate", "2000",      "--duration", "2",
                          "--window", "0.5",  "--json", json,        NULL};
    int status;
    char *out = bench_run(args, 0, 0, &status);
    struct run_line run;
    struct rate_line rate;
    if (!lt_check(out && status == 0, "longtail-bench exits 0 (status %d)", status) ||
        !lt_check(parse_run(out, &run), "a run line") ||
        !lt_check(parse_rate(out, &rate), "a rate line")) {
        free(out);
        return;
    }
    lt_check(within((double)run.requests, 4000, 0.05), "4000 requests within 5 %%: %llu",
             run.requests);
    lt_check(rate.target == 2000, "target 2000 ops/s: %llu", rate.target);
    lt_check(within(rate.achieved, 2000, 0.05), "achieved 2000 ops/s within 5 %%: %.1f",
             rate.achieved);
    lt_check(within(run.ops, rate.achieved, 0.001), "the run's ops/s is the achieved rate");

    /* windows: start ops/s errors p50 p99 p99.9 max target/s behind client */
    const char *w = line_with(out, "start(s) ");
    lt_check(w && strstr(w, "target/s") && strstr(w, "behind") && strstr(w, "client"),
             "the window header has target/s, behind, client");
    int windows = 0, targets = 0;
    for (const char *p = w ? strchr(w, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        double start, ops, p50, p99, p999, max, behind, client;
        unsigned long long errors, target;
        if (sscanf(p + 1, "%lf %lf %llu %lf %lf %lf %lf %llu %lf %lf", &start, &ops, &errors, &p50,
                   &p99, &p999, &max, &target, &behind, &client) != 10)
            break;
        windows++;
        targets += target == 2000;
    }
    lt_check(windows == 4 && targets == 4, "4 windows of 0.5 s, each with target 2000: %d, %d",
             windows, targets);

    char *j = lt_read_file(json, NULL);
    lt_check(j && strstr(j, "\"rate\": 2000}") &&
                 strstr(j, "\"rate\": {\"target_ops_per_sec\": 2000, \"achieved_ops_per_sec\": ") &&
                 strstr(j, "\"target_ops_per_sec\": 2000, \"behind_max_ms\": "),
             "the JSON has the rate in config, run and windows");
    free(j);
    free(out);
}

static void test_stall_counts(void)
{
    const char *args[] = {"--keys", "1000", "--type", "string:16", "--ratio",    "1:1", "-c", "8",
                          "-P",     "4",    "--rate", "2000",      "--duration", "2",   NULL};
    int status;
    char *out = bench_run(args, 800, 300, &status);
    struct run_line run;
    struct rate_line rate;
    struct all_row all;
    if (!lt_check(out && status == 0, "longtail-bench exits 0 (status %d)", status) ||
        !lt_check(parse_run(out, &run), "a run line") ||
        !lt_check(parse_rate(out, &rate), "a rate line") ||
        !lt_check(parse_all(out, &all), "an \"all\" row")) {
        free(out);
        return;
    }
    lt_check(within((double)run.requests, 4000, 0.05),
             "4000 requests within 5 %% despite the stall: %llu", run.requests);
    lt_check(all.max >= 250, "max latency >= 250 ms (a 300 ms stall): %.3f ms", all.max);
    lt_check(all.p90 >= 50, "p90 >= 50 ms: the requests due in the stall waited: %.3f ms", all.p90);
    lt_check(rate.behind >= 250, "behind schedule by >= 250 ms: %.3f ms", rate.behind);
    lt_check(rate.client < 100, "not the client's own delay: client %.3f ms", rate.client);
    lt_check(lt_server_alive(&srv), "the server runs on");
    free(out);
}

static void test_rate_requests(void)
{
    const char *args[] = {"--keys", "1000", "--type",     "string:16", "-c", "4",
                          "--rate", "2000", "--requests", "1000",      NULL};
    int status;
    char *out = bench_run(args, 0, 0, &status);
    struct run_line run;
    if (lt_check(out && status == 0, "longtail-bench exits 0 (status %d)", status) &&
        lt_check(parse_run(out, &run), "a run line")) {
        lt_check(run.requests == 1000, "exactly 1000 requests: %llu", run.requests);
        /* 1000 requests at 2000/s: the last is due at 0.4995 s */
        lt_check(run.seconds >= 0.45 && run.seconds < 1.5, "about 0.5 s: %.2f s", run.seconds);
    }
    free(out);
}

static void test_bad_rate(void)
{
    const char *zero[] = {"--rate", "0", "--duration", "1", NULL};
    const char *junk[] = {"--rate", "fast", "--duration", "1", NULL};
    int status;
    free(bench_run(zero, 0, 0, &status));
    lt_check(status == 2, "--rate 0 is refused with status 2: %d", status);
    free(bench_run(junk, 0, 0, &status));
    lt_check(status == 2, "--rate fast is refused with status 2: %d", status);
}

static void test_closed_unchanged(void)
{
    const char *args[] = {"--keys", "1000",       "--type", "string:16", "-c",  "4", "-P",
                          "2",      "--requests", "3000",   "--window",  "0.5", NULL};
    int status;
    char *out = bench_run(args, 0, 0, &status);
    struct run_line run;
    if (lt_check(out && status == 0, "longtail-bench exits 0 (status %d)", status) &&
        lt_check(parse_run(out, &run), "a run line")) {
        lt_check(run.requests == 3000, "exactly 3000 requests: %llu", run.requests);
        lt_check(!line_with(out, "rate: "), "no rate line");
        const char *w = line_with(out, "start(s) ");
        lt_check(w && !strncmp(strchr(w, '\n') - 3, "max", 3), "window columns end at max");
    }
    free(out);
}

static const char *bench_path(const char *given)
{
    static char resolved[PATH_MAX];
    if (given)
        return given;
    const char *env = getenv("LT_BENCH");
    if (env && *env)
        return env;
    ssize_t n = readlink("/proc/self/exe", resolved, sizeof(resolved) - 32);
    if (n <= 0)
        return "longtail-bench";
    resolved[n] = 0;
    char *slash = strrchr(resolved, '/');
    strcpy(slash ? slash + 1 : resolved, "../../longtail-bench");
    return resolved;
}

int main(int argc, char **argv)
{
    /* --bench PATH is ours; the rest is the harness's */
    const char *given = NULL;
    char *rest[16];
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--bench") && i + 1 < argc)
            given = argv[++i];
        else if (nrest < 15)
            rest[nrest++] = argv[i];
    }
    rest[nrest] = NULL;
    if (lt_opts_parse(&opts, nrest, rest, "lt-bench") != 0)
        return 2;
    if (opts.reference) {
        printf("lt-bench: tests longtail-bench, not a server; nothing to run on redis-server\n");
        return lt_report("lt-bench");
    }
    bench = bench_path(given);
    lt_plan(5);
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"--rate holds its rate and reports target and achieved rates", test_rate_holds},
        {"--rate counts a stalled server's queueing (no coordinated omission)", test_stall_counts},
        {"--rate with --requests sends exactly that many at the rate", test_rate_requests},
        {"a bad --rate is refused", test_bad_rate},
        {"without --rate the closed loop is unchanged", test_closed_unchanged},
    };
    int have_bench = access(bench, X_OK) == 0;
    if (!have_bench)
        printf("lt-bench: %s is not an executable file\n", bench);
    else
        srv_up = lt_server_start(&srv, opts.server, NULL, 0) == 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        lt_test_begin(tests[i].name);
        if (lt_check(have_bench, "longtail-bench is built") &&
            lt_check(srv_up, "a longtail-server to measure"))
            tests[i].fn();
        lt_test_end();
    }
    if (srv_up)
        lt_server_cleanup(&srv, lt_checks_failed() > 0);
    return lt_report("lt-bench");
}
