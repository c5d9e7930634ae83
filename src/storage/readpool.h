/*
 * readpool.h: the storage read pool (DESIGN.md §2).
 *
 * N threads take read jobs from a queue, run one batched MultiGet per job on
 * the keys CF (and read the elements of split values, unless the job asks
 * for headers only), and put the finished job on a completion list; an eventfd
 * wakes the main thread, which drains the list with readpool_drain().
 * A job is owned by the pool from submit until drained; the pool never
 * touches anything but the job.
 */
#ifndef LT_STORAGE_READPOOL_H
#define LT_STORAGE_READPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

struct read_job {
    struct read_job *next; /* queue link (pool's) */
    void *owner;           /* caller's: who waits for this job */
    size_t n;              /* number of keys */
    char **keys;           /* encoded keys-CF keys (caller's, kept until drained) */
    size_t *klens;
    char **vals; /* filled by the pool: malloc'd values or NULL */
    size_t *vlens;
    int *rc;            /* 0, STORE_NOTFOUND or STORE_ERR per key */
    char *err;          /* the first STORE_ERR's message (malloc'd, the owner frees), or NULL */
    int header_only;    /* caller's: a split value comes back as its keys-CF record alone */
    uint64_t submit_us; /* monotonic, set by readpool_submit */
    uint64_t done_us;   /* monotonic, set when the read finished */
};

/* Starts nthreads readers on s. Returns the eventfd to watch (readable when
 * jobs have completed), or -1. */
int readpool_start(store *s, int nthreads);
void readpool_stop(void); /* joins the threads; queued jobs are completed first */
void readpool_submit(struct read_job *job);
/* Clears the eventfd and returns the completed jobs (in completion order),
 * linked through ->next; NULL if none. */
struct read_job *readpool_drain(void);
/* The same, waiting until a job has completed: for a main thread that
 * has nothing else to do (the log's replay). NULL only if none is
 * pending. */
struct read_job *readpool_drain_wait(void);
/* Jobs submitted and not yet drained. */
size_t readpool_pending(void);
/* Tests: every job waits `us` microseconds before its read, as on a slow
 * disk (DEBUG STORAGE-READ-DELAY); 0 (the default) for none. */
void readpool_set_delay(unsigned us);

#endif
