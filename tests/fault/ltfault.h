/*
 * ltfault.h: the control block shared by the fault shim (ltfault.so, loaded
 * into a server with LD_PRELOAD) and the test that drives it.
 *
 * The test creates a file of exactly sizeof(struct ltfault_ctl) bytes, maps
 * it MAP_SHARED and starts the server with LTFAULT_CTL=<that file>; the shim
 * maps the same file when it loads. From then on the test changes the rule
 * by writing the mapping (tests/integration/fault.c does it), and the shim
 * reads it on every intercepted call: no signal, no restart.
 *
 * One rule at a time: "fail the calls of class ops on files of kind kinds
 * (under prefix, if set) with errno err, after skip more matching calls have
 * succeeded, count times (-1: until disarmed)"; or, with delay_us set,
 * "make them that much slower" (a slow disk) instead of failing them.
 *
 * Concurrency: armed is read first (relaxed) and is the only cost of a call
 * while nothing is armed. The rule fields are published under a sequence
 * lock: the writer makes seq odd, writes, makes it even; a reader retries
 * while seq is odd or changed. skip and count are consumed with
 * compare-and-swap, so with many threads exactly skip calls pass and exactly
 * count calls fail. hits and matched only grow (reset by re-arming).
 */
#ifndef LT_TESTS_LTFAULT_H
#define LT_TESTS_LTFAULT_H

#include <stdatomic.h>
#include <stdint.h>

#define LTFAULT_MAGIC  0x3146544cu /* "LTF1" little-endian */
#define LTFAULT_PREFIX 256

/* Operation classes (ops). */
#define LTFAULT_OP_READ  (1u << 0) /* pread, read, fread, fread_unlocked */
#define LTFAULT_OP_WRITE (1u << 1) /* write, pwrite, writev, fwrite, fallocate, ftruncate */
#define LTFAULT_OP_SYNC  (1u << 2) /* fsync, fdatasync, sync_file_range */
#define LTFAULT_OP_OPEN  (1u << 3) /* open/openat/creat of a file of that kind */

/* File kinds (kinds), from the file's name when it was opened. */
#define LTFAULT_KIND_WAL      (1u << 0) /* <number>.log */
#define LTFAULT_KIND_SST      (1u << 1) /* *.sst */
#define LTFAULT_KIND_MANIFEST (1u << 2) /* MANIFEST-* */
#define LTFAULT_KIND_INFOLOG  (1u << 3) /* RocksDB's info log: LOG, LOG.old.*, *_LOG* */
#define LTFAULT_KIND_OTHER    (1u << 4) /* any other file or directory opened by path */
#define LTFAULT_KIND_AOF      (1u << 5) /* longtail's effect log: *.aof */
#define LTFAULT_KIND_ANY      0x3fu

struct ltfault_ctl {
    uint32_t magic;         /* LTFAULT_MAGIC, written once by the creator */
    _Atomic uint32_t armed; /* 0: every call passes through */
    _Atomic uint32_t seq;   /* sequence lock over ops..prefix */
    _Atomic uint32_t ops;
    _Atomic uint32_t kinds;
    _Atomic int32_t err;         /* errno of a failed call */
    _Atomic int64_t skip;        /* matching calls still to let through */
    _Atomic int64_t count;       /* failures still to inject; -1: no limit */
    _Atomic uint64_t hits;       /* failures injected since armed */
    _Atomic uint64_t match;      /* calls that matched the rule since armed */
    _Atomic int64_t delay_us;    /* > 0: a "failure" is this long a sleep, then the call runs */
    char prefix[LTFAULT_PREFIX]; /* absolute path prefix, "" for any */
};

#endif
