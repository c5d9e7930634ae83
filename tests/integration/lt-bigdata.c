/*
 * lt-bigdata: a dataset several times larger than maxmemory.
 *
 *   lt-bigdata [--server PATH] [--reference] [-v]
 *
 * longtail starts with maxmemory MAXMEMORY; we write DATA_FACTOR times that in
 * values (keys of 200 B to 2 KB), then check:
 * - DBSIZE is exact, INFO tiering keys_on_disk counts every key;
 * - the hot tier stays within maxmemory plus the stated slack
 *   (SLACK = 1 MiB + 5% of maxmemory: about one pipeline's worth of
 *   not-yet-committed keys plus the hash tables), after the writes, after
 *   reading everything back and after overwrites/deletes, once the demotion
 *   has had up to SETTLE_MS to catch up;
 * - some keys were demoted (hot_keys < keys), every key reads back intact,
 *   in order and at random, and overwrites/deletes of cold keys are exact.
 * Four tests (harness.h): the writes, the sequential read, the overwrites and
 * random reads, and SIGTERM's exit status. The sequential read (every key
 * exists) must skip the bloom probe for most cold keys, and 2000 new keys
 * written after the random reads must be probed again (known absent
 * without a read). With --reference, redis-server runs
 * the same data without maxmemory (Redis would evict or refuse writes) and the
 * tiering checks are skipped.
 *
 * Then two tests of what one big value (BIG_VALUE, 100 MB) costs in memory,
 * each on a fresh server: hot, and cold (--maxmemory 1: the value leaves
 * memory once committed and GET reads it back from RocksDB). Measured from
 * /proc/PID/status: RSS growth once the value is stored (polled until it
 * settles, SETTLE_MS at most), the peak during the command (VmHWM, reset
 * through /proc/PID/clear_refs), INFO used_memory, and RSS after DEL. The
 * bounds, in multiples of the value, are the measured costs plus a margin
 * (utils/bench/bigvalue.py measures them):
 *   stored (hot): the value and its copy in RocksDB's memtable, 2.1x;
 *   peak of SET: the value, the commit's batch and RocksDB's, 3.1x;
 *   GET: the reply, 1.0x hot, 2.0x cold (the value installed, the reply);
 *   stored (cold): the memtable's copy, 1.1x; after DEL: nothing, 0.1x.
 * redis-server passes the hot test at 1.0x everywhere (--reference; the cold
 * one is longtail's own). Sanitizer builds use libc malloc and ASan's
 * quarantine, which keeps freed memory: the tests say so and are skipped.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXMEMORY   (8LL << 20)
#define DATA_FACTOR 5.5
#define SLACK       ((1LL << 20) + MAXMEMORY / 20)
#define SETTLE_MS   3000
#define PIPELINE    200

#define BIG_VALUE         (100LL << 20)
#define BOUND_STORED_HOT  2.5 /* RSS and used_memory growth once SET is stored, x BIG_VALUE */
#define BOUND_STORED_COLD 1.5
#define BOUND_SET_PEAK    3.5 /* VmHWM growth during SET */
#define BOUND_GET_HOT     1.5 /* VmHWM growth during GET */
#define BOUND_GET_COLD    2.5
#define BOUND_FREED       0.3 /* RSS above the start's after DEL */
#define FREED_MS          15000

static lt_server srv;
static lt_opts opts;
static int nkeys;
static int generation[200000]; /* value generation per key: 0 = deleted */

static size_t value_for(int i, int gen, char *buf)
{
    unsigned long long st = ((unsigned long long)i << 8 | (unsigned)gen) * 0x9E3779B97F4A7C15ULL;
    size_t len = 200 + lt_rand_next(&st) % 1800;
    for (size_t j = 0; j < len; j++)
        buf[j] = (char)(lt_rand_next(&st) & 0xff);
    return len;
}

static void key_for(int i, char *key)
{
    sprintf(key, "big:%07d", i);
}

/* Wait for the hot tier to settle within maxmemory + SLACK, and check it. */
static void check_hot_tier(lt_conn *c, const char *when)
{
    if (opts.reference)
        return;
    long long used = -1;
    for (int waited = 0; waited <= SETTLE_MS; waited += 50) {
        used = lt_conn_info(c, "tiering", "hot_tier_used_memory");
        if (used >= 0 && used <= MAXMEMORY + SLACK)
            break;
        lt_sleep_ms(50);
    }
    printf("lt-bigdata: %s: hot_tier_used_memory %lld (maxmemory %lld, slack %lld)\n", when, used,
           MAXMEMORY, SLACK);
    lt_check(used >= 0, "%s: INFO tiering has no hot_tier_used_memory", when);
    lt_check(used <= MAXMEMORY + SLACK, "%s: hot tier %lld bytes > maxmemory %lld + slack %lld",
             when, used, MAXMEMORY, SLACK);
}

static void check_dbsize(lt_conn *c, const char *when)
{
    long long want = 0;
    for (int i = 0; i < nkeys; i++)
        want += generation[i] != 0;
    lt_reply *r = lt_conn_call(c, "DBSIZE", NULL);
    long long got = r && r->type == ':' ? r->integer : -1;
    lt_reply_free(r);
    lt_check(got == want, "%s: DBSIZE %lld, expected %lld", when, got, want);
    if (!opts.reference) {
        long long disk = lt_conn_info(c, "tiering", "keys_on_disk");
        lt_check(disk == want, "%s: keys_on_disk %lld, expected %lld", when, disk, want);
    }
}

/* SET (gen > 0) or DEL (gen == 0) the keys in idx[0..n). */
static int write_keys(lt_conn *c, const int *idx, int n, const int *gen)
{
    static char val[4096];
    char key[32];
    lt_buf pipe = {0};
    int bad = 0;
    for (int base = 0; base < n; base += PIPELINE) {
        int end = base + PIPELINE < n ? base + PIPELINE : n;
        pipe.len = 0;
        for (int j = base; j < end; j++) {
            key_for(idx[j], key);
            if (gen[j]) {
                size_t vlen = value_for(idx[j], gen[j], val);
                const char *argv[3] = {"SET", key, val};
                size_t lens[3] = {3, strlen(key), vlen};
                lt_format_command(&pipe, 3, argv, lens);
            } else {
                const char *argv[2] = {"DEL", key};
                lt_format_command(&pipe, 2, argv, NULL);
            }
        }
        if (lt_conn_send_raw(c, pipe.p, pipe.len) != LT_OK) {
            free(pipe.p);
            return -1;
        }
        for (int j = base; j < end; j++) {
            lt_reply *r;
            if (lt_conn_read(c, &r) != LT_OK) {
                free(pipe.p);
                return -1;
            }
            if (r->type == '-' && bad++ < 3)
                printf("lt-bigdata: write of key %d: -%s\n", idx[j], r->str);
            lt_reply_free(r);
            generation[idx[j]] = gen[j];
        }
    }
    free(pipe.p);
    return bad;
}

/* GET the keys in idx[0..n) and compare with their current generation. */
static int read_keys(lt_conn *c, const int *idx, int n, const char *when)
{
    static char val[4096];
    char key[32];
    lt_buf pipe = {0};
    int bad = 0;
    for (int base = 0; base < n; base += PIPELINE) {
        int end = base + PIPELINE < n ? base + PIPELINE : n;
        pipe.len = 0;
        for (int j = base; j < end; j++) {
            key_for(idx[j], key);
            const char *argv[2] = {"GET", key};
            lt_format_command(&pipe, 2, argv, NULL);
        }
        if (lt_conn_send_raw(c, pipe.p, pipe.len) != LT_OK) {
            free(pipe.p);
            return -1;
        }
        for (int j = base; j < end; j++) {
            lt_reply *r;
            if (lt_conn_read(c, &r) != LT_OK) {
                free(pipe.p);
                return -1;
            }
            int i = idx[j];
            int ok;
            if (generation[i] == 0) {
                ok = r->type == '$' && r->null;
            } else {
                size_t vlen = value_for(i, generation[i], val);
                ok = r->type == '$' && !r->null && r->len == vlen && memcmp(r->str, val, vlen) == 0;
            }
            if (!ok && bad++ < 3)
                printf("lt-bigdata: %s: key %d (generation %d) reads wrong\n", when, i,
                       generation[i]);
            lt_reply_free(r);
        }
    }
    free(pipe.p);
    return bad;
}

/* ---- the memory of one big value ---------------------------------------- */

/* A field of /proc/PID/status ("VmRSS", "VmHWM") in bytes, or -1. */
static long long proc_status(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = atoll(line + n + 1) * 1024;
    fclose(f);
    return v;
}

/* The peak RSS (VmHWM) starts again from the current RSS: 0 or -1. */
static int peak_reset(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* RSS once it is at most limit, polling for up to ms; else the last one. */
static long long rss_settled(pid_t pid, long long limit, int ms)
{
    long long rss = proc_status(pid, "VmRSS");
    for (int waited = 0; rss > limit && waited < ms; waited += 50) {
        lt_sleep_ms(50);
        rss = proc_status(pid, "VmRSS");
    }
    return rss;
}

static double times_value(long long bytes)
{
    return (double)bytes / (double)BIG_VALUE;
}

/* One command with binary arguments (lt_conn_call takes C strings) and its
 * reply; NULL on error. */
static lt_reply *call_big(lt_conn *c, int argc, const char **argv, const size_t *lens)
{
    lt_reply *r = NULL;
    if (lt_conn_send_argv(c, argc, argv, lens) != LT_OK || lt_conn_read(c, &r) != LT_OK)
        return NULL;
    return r;
}

/* SET, GET and DEL of one BIG_VALUE on a fresh server (cold: --maxmemory 1),
 * with the memory each costs checked against the bounds above. */
static void big_value_memory(int cold, const char *value)
{
    lt_server bs;
    const char *args[] = {"--maxmemory", "1"};
    if (lt_server_start(&bs, opts.server, args, cold ? 2 : 0) != 0) {
        lt_check(0, "could not start %s", opts.server);
        lt_server_cleanup(&bs, 1);
        return;
    }
    lt_conn *c = lt_conn_open(bs.port, 5000);
    if (!c) {
        lt_check(0, "cannot connect");
        lt_server_cleanup(&bs, 1);
        return;
    }
    c->timeout_ms = 60000;
    lt_reply *r = lt_conn_call(c, "INFO", "memory", NULL);
    int libc = r && r->str && strstr(r->str, "mem_allocator:libc");
    lt_reply_free(r);
    const char *mode = cold ? "cold" : "hot";
    if (libc || peak_reset(bs.pid) != 0) {
        lt_test_skip(libc ? "the server uses libc malloc (a sanitizer build): its RSS, with "
                            "ASan's quarantine of freed memory, says nothing of the default "
                            "build's"
                          : "/proc/PID/clear_refs cannot be written here: the peak RSS "
                            "cannot be measured");
        lt_conn_close(c);
        lt_server_stop(&bs);
        lt_server_cleanup(&bs, 0);
        return;
    }
    pid_t pid = bs.pid;
    long long base = proc_status(pid, "VmRSS");
    long long used0 = lt_conn_info(c, "memory", "used_memory");
    lt_check(base > 0 && proc_status(pid, "VmHWM") > 0 && used0 > 0,
             "%s: no VmRSS/VmHWM in /proc/%d/status or no INFO used_memory", mode, (int)pid);

    /* SET: what the stored value costs, and the peak of its commit */
    lt_check(peak_reset(pid) == 0, "%s: cannot reset the peak RSS", mode);
    const char *set[] = {"SET", "big", value};
    size_t setl[] = {3, 3, (size_t)BIG_VALUE};
    r = call_big(c, 3, set, setl);
    lt_check(r && r->type == '+', "%s: SET of %lld bytes failed", mode, BIG_VALUE);
    lt_reply_free(r);
    long long peak = proc_status(pid, "VmHWM") - base;
    /* stored: the checkpoint that writes it to RocksDB is over */
    lt_check(lt_wait_checkpointed(c, 10000) == 0, "%s: the SET is checkpointed within 10 s", mode);
    peak = proc_status(pid, "VmHWM") - base;
    double bound = cold ? BOUND_STORED_COLD : BOUND_STORED_HOT;
    long long stored = rss_settled(pid, base + (long long)(bound * BIG_VALUE), SETTLE_MS) - base;
    long long used = lt_conn_info(c, "memory", "used_memory") - used0;
    printf("lt-bigdata: %s SET of %lld MB: RSS +%.2fx, peak +%.2fx, used_memory +%.2fx\n", mode,
           BIG_VALUE >> 20, times_value(stored), times_value(peak), times_value(used));
    lt_check(stored <= bound * BIG_VALUE,
             "%s: RSS grew by %.2fx the value once stored (bound %.1fx)", mode, times_value(stored),
             bound);
    lt_check(peak <= BOUND_SET_PEAK * BIG_VALUE,
             "%s: RSS peaked at +%.2fx the value during SET (bound %.1fx)", mode, times_value(peak),
             BOUND_SET_PEAK);
    lt_check(used <= bound * BIG_VALUE, "%s: used_memory grew by %.2fx the value (bound %.1fx)",
             mode, times_value(used), bound);

    /* GET: the reply, and in cold mode the value read back */
    long long before = proc_status(pid, "VmRSS");
    lt_check(peak_reset(pid) == 0, "%s: cannot reset the peak RSS", mode);
    const char *get[] = {"GET", "big"};
    r = call_big(c, 2, get, NULL);
    peak = proc_status(pid, "VmHWM") - before;
    lt_check_replied(r && r->type == '$' && r->len == (size_t)BIG_VALUE &&
                         memcmp(r->str, value, (size_t)BIG_VALUE) == 0,
                     "%s: GET does not return the value", mode);
    lt_reply_free(r);
    bound = cold ? BOUND_GET_COLD : BOUND_GET_HOT;
    printf("lt-bigdata: %s GET of %lld MB: peak +%.2fx\n", mode, BIG_VALUE >> 20,
           times_value(peak));
    lt_check(peak <= bound * BIG_VALUE,
             "%s: RSS peaked at +%.2fx the value during GET (bound %.1fx)", mode, times_value(peak),
             bound);

    /* DEL: the memory comes back */
    r = lt_conn_call(c, "DEL", "big", NULL);
    lt_check_replied(r && r->type == ':' && r->integer == 1, "%s: DEL did not delete", mode);
    lt_reply_free(r);
    long long left = rss_settled(pid, base + (long long)(BOUND_FREED * BIG_VALUE), FREED_MS) - base;
    printf("lt-bigdata: %s DEL: RSS +%.2fx the value above the start\n", mode, times_value(left));
    lt_check(left <= BOUND_FREED * BIG_VALUE,
             "%s: RSS stayed %.2fx the value above the start after DEL (bound %.1fx)", mode,
             times_value(left), BOUND_FREED);

    lt_conn_close(c);
    int st = lt_server_stop(&bs);
    lt_check(st == 0, "%s: SIGTERM: exit status %d", mode, st);
    lt_server_cleanup(&bs, lt_test_checks_failed() > 0);
}

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-bigdata") != 0)
        return 2;
    lt_plan(6);
    lt_test_begin("5.5 x maxmemory of values: every key counted, the hot tier bounded");
    char maxmem[32];
    snprintf(maxmem, sizeof(maxmem), "%lld", MAXMEMORY);
    const char *args[] = {"--maxmemory", maxmem};
    if (lt_server_start(&srv, opts.server, args, opts.reference ? 0 : 2) != 0) {
        lt_check(0, "could not start %s", opts.server);
        lt_server_cleanup(&srv, 1);
        return lt_report("lt-bigdata");
    }
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!c) {
        lt_check(0, "cannot connect");
        lt_server_cleanup(&srv, 1);
        return lt_report("lt-bigdata");
    }
    c->timeout_ms = 60000;

    /* Enough keys for DATA_FACTOR x maxmemory of values (1100 B on average). */
    nkeys = (int)(DATA_FACTOR * (double)MAXMEMORY / 1100.0);
    int *idx = malloc(sizeof(int) * (size_t)nkeys);
    int *gen = malloc(sizeof(int) * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) {
        idx[i] = i;
        gen[i] = 1;
    }
    long long t0 = lt_now_ms();
    int bad = write_keys(c, idx, nkeys, gen);
    lt_check(bad == 0, "%d SETs of the dataset failed", bad);
    printf("lt-bigdata: wrote %d keys (about %lld MB) in %lld ms\n", nkeys,
           (long long)nkeys * 1100 >> 20, lt_now_ms() - t0);
    check_dbsize(c, "after the writes");
    check_hot_tier(c, "after the writes");
    if (!opts.reference) {
        long long hot = lt_conn_info(c, "tiering", "hot_keys");
        lt_check(hot >= 0 && hot < nkeys, "hot_keys %lld of %d: nothing was demoted", hot, nkeys);
    }

    lt_test_begin("every key reads back intact in order, the hot tier bounded");
    t0 = lt_now_ms();
    long long skipped0 = lt_conn_info(c, "tiering", "prefetch_bloom_skipped");
    long long reads0 = lt_conn_info(c, "tiering", "prefetch_reads");
    bad = read_keys(c, idx, nkeys, "sequential read");
    lt_check(bad == 0, "sequential read: %d keys wrong", bad);
    printf("lt-bigdata: read %d keys in %lld ms\n", nkeys, lt_now_ms() - t0);
    check_hot_tier(c, "after reading every key");
    if (!opts.reference) {
        /* every key exists: the bloom probe finds nothing absent, so most
         * reads of cold keys skip it (one in 32 still probes) */
        long long skipped = lt_conn_info(c, "tiering", "prefetch_bloom_skipped") - skipped0;
        long long reads = lt_conn_info(c, "tiering", "prefetch_reads") - reads0;
        lt_check(reads > 0 && skipped > reads * 3 / 4,
                 "reads of existing cold keys skip the bloom probe (%lld of %lld)", skipped, reads);
    }

    lt_test_begin("overwrites and deletes of cold keys, then random reads, are exact");
    /* Overwrite a random third, delete a random tenth, read at random. */
    unsigned long long st = 42;
    int n = 0;
    for (int i = 0; i < nkeys; i++) {
        unsigned long long r = lt_rand_next(&st) % 30;
        if (r < 10) {
            idx[n] = i;
            gen[n++] = r < 3 ? 0 : 2;
        }
    }
    bad = write_keys(c, idx, n, gen);
    lt_check(bad == 0, "%d overwrites/deletes failed", bad);
    check_dbsize(c, "after overwrites and deletes");
    for (int i = 0; i < nkeys; i++)
        idx[i] = (int)(lt_rand_next(&st) % (unsigned long long)nkeys);
    bad = read_keys(c, idx, nkeys, "random read");
    lt_check(bad == 0, "random read: %d keys wrong", bad);
    check_hot_tier(c, "after random reads");
    check_dbsize(c, "at the end");
    if (!opts.reference) {
        /* after reads that skipped the bloom probe (above), new keys bring
         * it back */
        long long absent0 = lt_conn_info(c, "tiering", "prefetch_bloom_absent");
        char key[32];
        for (int i = 0; i < 2000; i++) {
            snprintf(key, sizeof(key), "fresh:%d", i);
            lt_reply_free(lt_conn_call(c, "SET", key, "v", NULL));
        }
        long long absent = lt_conn_info(c, "tiering", "prefetch_bloom_absent") - absent0;
        lt_check(absent > 1000,
                 "then 2000 new keys are probed again: %lld known absent without a read", absent);
        for (int i = 0; i < 2000; i++) {
            snprintf(key, sizeof(key), "fresh:%d", i);
            lt_reply_free(lt_conn_call(c, "DEL", key, NULL));
        }
        check_dbsize(c, "after the new keys");
    }

    lt_conn_close(c);
    lt_test_begin("SIGTERM exits with status 0");
    int stc = lt_server_stop(&srv);
    lt_check(stc == 0, "SIGTERM: exit status %d", stc);
    lt_server_cleanup(&srv, lt_checks_failed() > 0);
    free(idx);
    free(gen);

    /* a value of pseudo-random bytes: nothing compresses it */
    char *value = malloc((size_t)BIG_VALUE);
    st = 7;
    for (long long i = 0; i < BIG_VALUE; i += 8) {
        unsigned long long x = lt_rand_next(&st);
        memcpy(value + i, &x, 8);
    }
    lt_test_begin("a 100 MB value (hot): stored 2.5x its size, SET peaks 3.5x, GET 1.5x, DEL "
                  "gives it back");
    big_value_memory(0, value);
    lt_test_begin("a 100 MB value (cold): stored 1.5x its size, SET peaks 3.5x, GET 2.5x, DEL "
                  "gives it back");
    if (opts.reference)
        lt_test_skip("cold mode is longtail's own (redis-server would evict the value)");
    else
        big_value_memory(1, value);
    free(value);
    return lt_report("lt-bigdata");
}
