/*
 * committer.c: the commit thread (committer.h).
 *
 * State under one mutex: the batch to write (job), whether a result is
 * waiting (done) and that result. The eventfd is written once per finished
 * batch; committer_poll/committer_wait read it back, so a result is taken
 * exactly once whichever of the two takes it.
 */
#include "storage/committer.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

static struct {
    store *s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running, stopping;
    store_batch *job; /* to write, NULL if none */
    int sync;
    int busy; /* submitted and its result not taken yet */
    int done, rc;
    int efd;
} cm = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .efd = -1};

static void *committer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cm.lock);
    for (;;) {
        while (!cm.job && !cm.stopping)
            pthread_cond_wait(&cm.cond, &cm.lock);
        if (!cm.job)
            break;
        store_batch *b = cm.job;
        int sync = cm.sync;
        pthread_mutex_unlock(&cm.lock);
        int rc = store_write(cm.s, b, sync);
        pthread_mutex_lock(&cm.lock);
        cm.job = NULL;
        cm.rc = rc;
        cm.done = 1;
        pthread_cond_broadcast(&cm.cond);
        uint64_t one = 1;
        ssize_t w = write(cm.efd, &one, sizeof(one));
        (void)w;
    }
    pthread_mutex_unlock(&cm.lock);
    return NULL;
}

int committer_start(store *s)
{
    if (cm.running)
        return cm.efd;
    cm.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cm.efd < 0)
        return -1;
    cm.s = s;
    cm.stopping = 0;
    if (pthread_create(&cm.thread, NULL, committer_main, NULL) != 0) {
        close(cm.efd);
        cm.efd = -1;
        return -1;
    }
    cm.running = 1;
    return cm.efd;
}

void committer_stop(void)
{
    if (!cm.running)
        return;
    committer_wait();
    pthread_mutex_lock(&cm.lock);
    cm.stopping = 1;
    pthread_cond_broadcast(&cm.cond);
    pthread_mutex_unlock(&cm.lock);
    pthread_join(cm.thread, NULL);
    close(cm.efd);
    cm.efd = -1;
    cm.running = 0;
}

void committer_submit(store_batch *b, int sync)
{
    pthread_mutex_lock(&cm.lock);
    cm.job = b;
    cm.sync = sync;
    cm.busy = 1;
    cm.done = 0;
    pthread_cond_broadcast(&cm.cond);
    pthread_mutex_unlock(&cm.lock);
}

static int take_result(void)
{
    uint64_t v;
    ssize_t r = read(cm.efd, &v, sizeof(v));
    (void)r;
    cm.busy = 0;
    cm.done = 0;
    return cm.rc;
}

int committer_poll(void)
{
    if (!cm.busy)
        return 0;
    pthread_mutex_lock(&cm.lock);
    int rc = cm.done ? take_result() : 1;
    pthread_mutex_unlock(&cm.lock);
    return rc;
}

int committer_wait(void)
{
    if (!cm.busy)
        return 0;
    pthread_mutex_lock(&cm.lock);
    while (!cm.done)
        pthread_cond_wait(&cm.cond, &cm.lock);
    int rc = take_result();
    pthread_mutex_unlock(&cm.lock);
    return rc;
}
