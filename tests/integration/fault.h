/*
 * fault.h: the test side of the fault shim (tests/fault/ltfault.c): make a
 * control block, start servers with the shim loaded, arm and disarm rules
 * while they run, and read how many faults were injected.
 *
 *   fault_ctl *f = fault_ctl_create();              // $TMPDIR/ltfault-XXXXXX
 *   fault_env_set(f);                               // before lt_server_start
 *   lt_server_start(&srv, ...);                     // the server has the shim
 *   fault_arm(f, LTFAULT_OP_READ, LTFAULT_KIND_SST, EIO, 0, -1, NULL);
 *   ...                                             // every SST read fails
 *   fault_disarm(f);
 *   fault_env_clear();  fault_ctl_free(f);
 *
 * The control block is one mapped file: a rule takes effect on the next
 * intercepted call of the server, with no round trip.
 */
#ifndef LT_TESTS_FAULT_H
#define LT_TESTS_FAULT_H

#include "../fault/ltfault.h"

#include <stdint.h>

typedef struct fault_ctl fault_ctl;

/*
 * Create a disarmed control block in a new file $TMPDIR/ltfault-XXXXXX (or
 * under /tmp) and map it. NULL (with the reason printed) if the file cannot
 * be made or the shim is not built: its path is $LTFAULT_SO, else
 * ../fault/ltfault.so next to the running binary.
 */
fault_ctl *fault_ctl_create(void);

/* Unmap, remove the file and free; NULL is a no-op. */
void fault_ctl_free(fault_ctl *f);

/* The shim's path, as found by fault_ctl_create. */
const char *fault_shim_path(const fault_ctl *f);

/*
 * Put LD_PRELOAD, LTFAULT_CTL and ASAN_OPTIONS (verify_asan_link_order=0
 * added) in this process's environment, so that the servers it starts from
 * now on load the shim; fault_env_clear restores the three as they were.
 */
void fault_env_set(const fault_ctl *f);
void fault_env_clear(void);

/*
 * Arm one rule (replacing any other): fail calls of class "ops"
 * (LTFAULT_OP_*) on files of kind "kinds" (LTFAULT_KIND_*) with errno
 * "err", once "skip" more matching calls have passed, "count" times (-1:
 * until disarmed). "prefix" (may be NULL) limits it to paths under that
 * directory; it is made absolute and canonical here. Resets hits and
 * matched calls.
 */
void fault_arm(fault_ctl *f, uint32_t ops, uint32_t kinds, int err, int64_t skip, int64_t count,
               const char *prefix);

/* Arm a slow disk instead (replacing any other rule): every call of class
 * "ops" on files of kind "kinds" (under "prefix", may be NULL) sleeps
 * delay_us, then runs; hits counts them. */
void fault_slow(fault_ctl *f, uint32_t ops, uint32_t kinds, int64_t delay_us, const char *prefix);

/* Every call passes through again; the counters keep their values. */
void fault_disarm(fault_ctl *f);

/* Failures injected, and calls that matched the rule, since the last arm. */
uint64_t fault_hits(const fault_ctl *f);
uint64_t fault_matched(const fault_ctl *f);

#endif
