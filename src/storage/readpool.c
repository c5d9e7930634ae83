/*
 * readpool.c: the storage read pool (readpool.h, DESIGN.md §2).
 *
 * One mutex guards the job queue (FIFO), the completion list (in
 * completion order) and the pending count. Workers sleep on one condvar.
 * The eventfd is written only when the completion list goes from empty to
 * non-empty: one wake-up per batch of completions, however many workers
 * finish meanwhile. readpool_drain reads the eventfd before taking the
 * list, so a job completed after the list was taken always finds the list
 * empty and writes again: no wake-up is lost (at worst one is spurious and
 * the drain returns NULL).
 *
 * All pool functions but the workers are called from the main thread.
 */
#include "storage/readpool.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "storage/codec.h"
#include "storage/elements.h"

static struct {
    store *s;
    pthread_t *threads;
    int nthreads;
    int efd;
    int stopping;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct read_job *qhead, *qtail; /* submitted, not yet taken by a worker */
    struct read_job *dhead, *dtail; /* completed, not yet drained */
    size_t pending;                 /* submitted and not yet drained */
    _Atomic unsigned delay_us;      /* readpool_set_delay */
} pool = {.efd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static uint64_t readpool_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void readpool_notify(void)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the fd is readable anyway. */
    while (write(pool.efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void *readpool_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.qhead == NULL && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.lock);
        struct read_job *job = pool.qhead;
        if (job == NULL)
            break; /* stopping and nothing queued */
        pool.qhead = job->next;
        if (pool.qhead == NULL)
            pool.qtail = NULL;
        pthread_mutex_unlock(&pool.lock);

        unsigned delay = pool.delay_us;
        if (delay) {
            struct timespec ts = {(time_t)(delay / 1000000u), (long)(delay % 1000000u) * 1000};
            nanosleep(&ts, NULL);
        }
        store_multi_get(pool.s, STORE_CF_KEYS, job->n, (const char *const *)job->keys, job->klens,
                        job->vals, job->vlens, job->rc);
        job->err = NULL;
        for (size_t i = 0; i < job->n; i++) {
            if (job->rc[i] == 0 && !job->header_only && job->klens[i] >= 2 &&
                elements_assemble(pool.s, codec_get_u16(job->keys[i]), &job->vals[i],
                                  &job->vlens[i]) != 0) {
                /* a split value's elements are read here too, off the main thread */
                free(job->vals[i]);
                job->vals[i] = NULL;
                job->rc[i] = STORE_ERR;
            }
            if (job->rc[i] == STORE_ERR && !job->err)
                job->err = heap_strdup(store_last_error(pool.s));
        }
        job->next = NULL;

        pthread_mutex_lock(&pool.lock);
        /* stamped under the lock, so list order and done_us agree */
        job->done_us = readpool_now_us();
        int was_empty = pool.dhead == NULL;
        if (was_empty)
            pool.dhead = job;
        else
            pool.dtail->next = job;
        pool.dtail = job;
        if (was_empty)
            readpool_notify();
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

int readpool_start(store *s, int nthreads)
{
    if (s == NULL || nthreads <= 0 || pool.threads != NULL)
        return -1;
    pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool.efd < 0)
        return -1;
    pool.threads = heap_calloc((size_t)nthreads, sizeof(pthread_t));
    pool.s = s;
    pool.stopping = 0;
    pool.nthreads = 0;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&pool.threads[i], NULL, readpool_worker, NULL) != 0)
            break;
        pool.nthreads++;
    }
    if (pool.nthreads == 0) {
        readpool_stop();
        return -1;
    }
    return pool.efd;
}

void readpool_stop(void)
{
    if (pool.threads == NULL)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
    /* Completed jobs stay on the list: readpool_drain still returns them. */
    pthread_mutex_lock(&pool.lock);
    close(pool.efd);
    pool.efd = -1;
    pthread_mutex_unlock(&pool.lock);
}

void readpool_submit(struct read_job *job)
{
    assert(pool.threads != NULL && !pool.stopping);
    job->next = NULL;
    job->done_us = 0;
    job->submit_us = readpool_now_us();
    pthread_mutex_lock(&pool.lock);
    if (pool.qtail)
        pool.qtail->next = job;
    else
        pool.qhead = job;
    pool.qtail = job;
    pool.pending++;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
}

struct read_job *readpool_drain(void)
{
    if (pool.efd >= 0) {
        uint64_t n;
        while (read(pool.efd, &n, sizeof(n)) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_lock(&pool.lock);
    struct read_job *list = pool.dhead;
    pool.dhead = pool.dtail = NULL;
    for (struct read_job *j = list; j; j = j->next)
        pool.pending--;
    pthread_mutex_unlock(&pool.lock);
    return list;
}

struct read_job *readpool_drain_wait(void)
{
    struct pollfd p = {.fd = pool.efd, .events = POLLIN};
    for (;;) {
        struct read_job *list = readpool_drain();
        if (list || !readpool_pending())
            return list;
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
}

size_t readpool_pending(void)
{
    pthread_mutex_lock(&pool.lock);
    size_t n = pool.pending;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

void readpool_set_delay(unsigned us)
{
    pool.delay_us = us;
}
