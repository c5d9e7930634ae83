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
 * random reads, and SIGTERM's exit status. With --reference, redis-server runs
 * the same data without maxmemory (Redis would evict or refuse writes) and the
 * tiering checks are skipped.
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

static long long info_tiering(lt_conn *c, const char *field)
{
    lt_reply *r = lt_conn_call(c, "INFO", "tiering", NULL);
    long long v = -1;
    if (lt_info_field(r, field, &v) != 0)
        v = -1;
    lt_reply_free(r);
    return v;
}

/* Wait for the hot tier to settle within maxmemory + SLACK, and check it. */
static void check_hot_tier(lt_conn *c, const char *when)
{
    if (opts.reference)
        return;
    long long used = -1;
    for (int waited = 0; waited <= SETTLE_MS; waited += 50) {
        used = info_tiering(c, "hot_tier_used_memory");
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
        long long disk = info_tiering(c, "keys_on_disk");
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

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-bigdata") != 0)
        return 2;
    lt_plan(4);
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
        long long hot = info_tiering(c, "hot_keys");
        lt_check(hot >= 0 && hot < nkeys, "hot_keys %lld of %d: nothing was demoted", hot, nkeys);
    }

    lt_test_begin("every key reads back intact in order, the hot tier bounded");
    t0 = lt_now_ms();
    bad = read_keys(c, idx, nkeys, "sequential read");
    lt_check(bad == 0, "sequential read: %d keys wrong", bad);
    printf("lt-bigdata: read %d keys in %lld ms\n", nkeys, lt_now_ms() - t0);
    check_hot_tier(c, "after reading every key");

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

    lt_conn_close(c);
    lt_test_begin("SIGTERM exits with status 0");
    int stc = lt_server_stop(&srv);
    lt_check(stc == 0, "SIGTERM: exit status %d", stc);
    lt_server_cleanup(&srv, lt_checks_failed() > 0);
    free(idx);
    free(gen);
    return lt_report("lt-bigdata");
}
