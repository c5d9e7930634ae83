/*
 * lt-fault: proof that the fault shim (tests/fault/ltfault.so) really fails
 * a real longtail-server's storage calls, and a record of what today's
 * server does then.
 *
 *   lt-fault [--server PATH] [-v]
 *
 * 1. Cold reads: NKEYS keys of 4 KB are written (appendfsync always,
 *    maxmemory 1 so that nothing stays hot), the server is restarted so
 *    that they are in SST files and no block is cached. With SST reads
 *    failing with EIO, GET of a key that was never read does not return its
 *    value, and the shim counts the failed reads; once disarmed, the same
 *    GET returns the value.
 * 2. WAL appends: with every WAL write failing with ENOSPC, a SET is
 *    affected: the shim counts failed WAL writes and the SET gets no OK.
 *    After a restart without faults, every key acknowledged before is
 *    there with its value.
 *
 * The exact replies are today's, and two of them are issue #9's bugs,
 * checked as they are so that this test notices when they change (update
 * the checks marked ISSUE-9 then):
 *  - a failed SST read is answered as if the key were absent (GET nil,
 *    EXISTS 0) instead of an error reply;
 *  - a failed WAL append ends the process: RocksDB asserts
 *    ("sync_without_flush_called_") when the commit is retried, the SET
 *    never gets a reply and the exit status is 134 (SIGABRT).
 * longtail only: the shim is meaningless for redis-server.
 */
#include "fault.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS    300
#define VALUE_SZ 4096

static lt_server srv;
static lt_opts opts;
static fault_ctl *fc;

/* The deterministic 4 KB value of key i (printable, so replies stay readable). */
static void value_for(int i, char *buf)
{
    unsigned long long x = 0x9E3779B97F4A7C15ull * (unsigned long long)(i + 1);
    for (int j = 0; j < VALUE_SZ; j++)
        buf[j] = (char)('a' + lt_rand_next(&x) % 26);
}

static void key_for(int i, char *buf, size_t len)
{
    snprintf(buf, len, "fault:%d", i);
}

/* 1 if the file at "path" contains "needle". */
static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    lt_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        lt_buf_append(&b, chunk, n);
    fclose(f);
    lt_buf_append(&b, "", 1);
    int found = strstr(b.p, needle) != NULL;
    free(b.p);
    return found;
}

/* 1 if GET of key i answers its value. */
static int get_is_value(lt_conn *c, int i)
{
    char k[32], v[VALUE_SZ];
    key_for(i, k, sizeof(k));
    value_for(i, v);
    lt_reply *r = lt_conn_call(c, "GET", k, NULL);
    int ok =
        r && r->type == '$' && !r->null && r->len == VALUE_SZ && memcmp(r->str, v, VALUE_SZ) == 0;
    lt_reply_free(r);
    return ok;
}

static int write_keys(lt_conn *c)
{
    char k[32], v[VALUE_SZ];
    int acked = 0;
    for (int i = 0; i < NKEYS; i++) {
        key_for(i, k, sizeof(k));
        value_for(i, v);
        const char *argv[] = {"SET", k, v};
        size_t lens[] = {3, strlen(k), VALUE_SZ};
        lt_reply *r = lt_conn_call_argv(c, 3, argv, lens);
        if (r && r->type == '+' && strcmp(r->str, "OK") == 0)
            acked++;
        lt_reply_free(r);
    }
    return acked;
}

static void check_all_keys(lt_conn *c, const char *when)
{
    int good = 0;
    for (int i = 0; i < NKEYS; i++)
        good += get_is_value(c, i);
    lt_check(good == NKEYS, "%s: %d of %d acknowledged keys read back with their value", when, good,
             NKEYS);
    lt_reply *r = lt_conn_call(c, "DBSIZE", NULL);
    lt_check(r && r->type == ':' && r->integer == NKEYS, "%s: DBSIZE is %d (got %lld)", when, NKEYS,
             r ? r->integer : -1);
    lt_reply_free(r);
}

/* 1. SST reads failing with EIO. */
static void test_cold_reads(void)
{
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "connect"))
        return;
    lt_check(write_keys(c) == NKEYS, "all %d SETs answered +OK", NKEYS);
    lt_conn_close(c);
    lt_check(lt_server_stop(&srv) == 0, "SIGTERM: exit status 0");
    if (!lt_check(lt_server_restart(&srv) == 0, "restart on the same directory"))
        return;
    c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "connect after the restart"))
        return;

    lt_check(get_is_value(c, 0), "unfaulted: GET of a cold key reads its value from disk");

    fault_arm(fc, LTFAULT_OP_READ, LTFAULT_KIND_SST, EIO, 0, -1, NULL);
    char k[32];
    key_for(1, k, sizeof(k));
    lt_reply *r = lt_conn_call(c, "GET", k, NULL);
    lt_check(r != NULL, "GET answered while SST reads fail");
    lt_check(!get_is_value(c, 2),
             "GET of a cold key does not return its value while SST reads fail");
    lt_check(fault_hits(fc) > 0, "the shim failed the server's SST reads (%llu failures)",
             (unsigned long long)fault_hits(fc));
    /* ISSUE-9: today a failed read is answered as absent; the target is an error reply */
    lt_check_reply(r, "(nil)", "ISSUE-9 today: GET on a failed SST read answers nil");
    lt_reply_free(r);
    key_for(3, k, sizeof(k));
    r = lt_conn_call(c, "EXISTS", k, NULL);
    lt_check_reply(r, ":0", "ISSUE-9 today: EXISTS on a failed SST read answers 0");
    lt_reply_free(r);
    fault_disarm(fc);

    lt_check(get_is_value(c, 1), "disarmed: the same GET returns the value again");
    lt_check(lt_server_alive(&srv), "the server is still running");
    lt_conn_close(c);
}

/* 2. WAL appends failing with ENOSPC. */
static void test_wal_append(void)
{
    lt_conn *c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "connect"))
        return;
    fault_arm(fc, LTFAULT_OP_WRITE, LTFAULT_KIND_WAL, ENOSPC, 0, -1, NULL);
    c->timeout_ms = 5000;
    lt_reply *r = NULL;
    int rc = lt_conn_send(c, "SET", "fault:new", "v", NULL);
    if (rc == LT_OK)
        rc = lt_conn_read(c, &r);
    lt_check(!(r && r->type == '+'), "the SET is not acknowledged while WAL appends fail");
    lt_check(fault_hits(fc) > 0, "the shim failed the server's WAL appends (%llu failures)",
             (unsigned long long)fault_hits(fc));
    /* ISSUE-9: today the process aborts inside RocksDB; the target is -MISCONF replies */
    lt_check(rc == LT_ERR_EOF || rc == LT_ERR_IO,
             "ISSUE-9 today: the connection is closed without a reply (read status %d)", rc);
    int st = lt_server_wait(&srv, 10000);
    lt_check(st == 134, "ISSUE-9 today: the server exits on SIGABRT, status 134 (got %d)", st);
    lt_check(file_has(srv.out, "Assertion `sync_without_flush_called_' failed"),
             "ISSUE-9 today: RocksDB's assertion is on the server's stderr");
    lt_reply_free(r);
    lt_conn_close(c);
    fault_disarm(fc);
    if (st == -2)
        lt_server_kill(&srv);

    if (!lt_check(lt_server_restart(&srv) == 0, "restart after the fault"))
        return;
    c = lt_conn_open(srv.port, 5000);
    if (!lt_check(c != NULL, "connect after the restart"))
        return;
    check_all_keys(c, "after the restart");
    lt_conn_close(c);
}

int main(int argc, char **argv)
{
    if (lt_opts_parse(&opts, argc, argv, "lt-fault") != 0)
        return 2;
    if (opts.reference) {
        printf("lt-fault: longtail only (the shim fails RocksDB's files); nothing to run on "
               "redis-server\n");
        return lt_report("lt-fault");
    }
    lt_plan(2);
    lt_test_begin("SST reads failing with EIO");
    fc = fault_ctl_create();
    int up = lt_check(fc != NULL, "fault control block and shim");
    if (up) {
        fault_env_set(fc);
        const char *args[] = {"--appendfsync", "always", "--maxmemory", "1"};
        up = lt_check(lt_server_start(&srv, opts.server, args, 4) == 0,
                      "server starts with the shim");
    }
    if (up)
        test_cold_reads();
    lt_test_end();
    lt_test_begin("WAL appends failing with ENOSPC");
    if (lt_check(up && lt_server_alive(&srv), "the server runs"))
        test_wal_append();
    lt_test_end();
    int failed = lt_checks_failed() > 0;
    if (failed)
        lt_server_print_logs(&srv, 20);
    lt_server_stop(&srv);
    lt_server_cleanup(&srv, failed);
    fault_env_clear();
    if (fc)
        fault_ctl_free(fc);
    return lt_report("lt-fault");
}
