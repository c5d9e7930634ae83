/*
 * event.c: epoll event loop.
 *
 * Per descriptor: a read callback, a write callback, one data pointer and
 * the registered mask; the table grows with the highest descriptor seen.
 * Timers are a short unsorted list (the server has one or two), checked
 * after each wait. The before-sleep hook runs before every epoll_wait; it
 * may register new events (replies that could not be written at once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "net/event.h"

struct ev_file {
    int mask;
    ev_file_fn *rfn, *wfn;
    void *data;
};

struct ev_timer {
    long long id;
    int64_t when_ms;
    ev_timer_fn *fn;
    void *data;
    struct ev_timer *next;
};

struct ev_loop {
    int epfd;
    int stop;
    int nfiles;
    struct ev_file *files;
    struct epoll_event *fired;
    int nfired;
    struct ev_timer *timers;
    long long next_timer_id;
    ev_hook_fn *before_sleep;
};

static int64_t ev_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ev_loop *ev_create(void)
{
    ev_loop *l = heap_calloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->nfired = 1024;
    l->fired = heap_calloc((size_t)l->nfired, sizeof(*l->fired));
    return l;
}

void ev_free(ev_loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    while (l->timers) {
        struct ev_timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    free(l->files);
    free(l->fired);
    free(l);
}

static int ev_grow(ev_loop *l, int fd)
{
    if (fd < l->nfiles)
        return 0;
    int n = l->nfiles ? l->nfiles : 1024;
    while (n <= fd)
        n *= 2;
    struct ev_file *f = heap_realloc(l->files, (size_t)n * sizeof(*f));
    memset(f + l->nfiles, 0, (size_t)(n - l->nfiles) * sizeof(*f));
    l->files = f;
    l->nfiles = n;
    return 0;
}

static int ev_apply(ev_loop *l, int fd, int old, int mask)
{
    struct epoll_event ee = {0};
    if (mask & EV_READ)
        ee.events |= EPOLLIN;
    if (mask & EV_WRITE)
        ee.events |= EPOLLOUT;
    ee.data.fd = fd;
    int op = old == EV_NONE ? EPOLL_CTL_ADD : (mask == EV_NONE ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    return epoll_ctl(l->epfd, op, fd, &ee);
}

int ev_add(ev_loop *l, int fd, int mask, ev_file_fn *fn, void *data)
{
    if (ev_grow(l, fd) < 0)
        return -1;
    struct ev_file *f = &l->files[fd];
    int nmask = f->mask | mask;
    if (nmask != f->mask && ev_apply(l, fd, f->mask, nmask) < 0)
        return -1;
    f->mask = nmask;
    if (mask & EV_READ)
        f->rfn = fn;
    if (mask & EV_WRITE)
        f->wfn = fn;
    f->data = data;
    return 0;
}

void ev_del(ev_loop *l, int fd, int mask)
{
    if (fd >= l->nfiles)
        return;
    struct ev_file *f = &l->files[fd];
    if (f->mask == EV_NONE)
        return;
    int nmask = f->mask & ~mask;
    if (nmask != f->mask)
        ev_apply(l, fd, f->mask, nmask);
    f->mask = nmask;
}

int ev_mask(ev_loop *l, int fd)
{
    return fd < l->nfiles ? l->files[fd].mask : EV_NONE;
}

long long ev_timer_add(ev_loop *l, int64_t ms, ev_timer_fn *fn, void *data)
{
    struct ev_timer *t = heap_calloc(1, sizeof(*t));
    t->id = ++l->next_timer_id;
    t->when_ms = ev_now_ms() + ms;
    t->fn = fn;
    t->data = data;
    t->next = l->timers;
    l->timers = t;
    return t->id;
}

void ev_timer_del(ev_loop *l, long long id)
{
    for (struct ev_timer **p = &l->timers; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            struct ev_timer *t = *p;
            *p = t->next;
            free(t);
            return;
        }
    }
}

void ev_set_before_sleep(ev_loop *l, ev_hook_fn *fn)
{
    l->before_sleep = fn;
}

void ev_stop(ev_loop *l)
{
    l->stop = 1;
}

static int ev_wait_ms(ev_loop *l)
{
    if (!l->timers)
        return 1000;
    int64_t now = ev_now_ms(), min = INT64_MAX;
    for (struct ev_timer *t = l->timers; t; t = t->next)
        if (t->when_ms < min)
            min = t->when_ms;
    return min <= now ? 0 : (int)(min - now);
}

static void ev_run_timers(ev_loop *l)
{
    int64_t now = ev_now_ms();
    /* A timer callback may add or delete timers: restart the walk after each
     * call, skipping timers not yet due. */
    for (;;) {
        struct ev_timer *t;
        for (t = l->timers; t; t = t->next)
            if (t->when_ms <= now)
                break;
        if (!t)
            return;
        long long id = t->id;
        int64_t next = t->fn(l, id, t->data);
        for (t = l->timers; t && t->id != id; t = t->next)
            ;
        if (!t)
            continue;
        if (next < 0)
            ev_timer_del(l, id);
        else
            t->when_ms = ev_now_ms() + next;
    }
}

void ev_run(ev_loop *l)
{
    l->stop = 0;
    while (!l->stop) {
        if (l->before_sleep)
            l->before_sleep(l);
        if (l->stop)
            break;
        int n = epoll_wait(l->epfd, l->fired, l->nfired, ev_wait_ms(l));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            int fd = l->fired[i].data.fd;
            uint32_t ev = l->fired[i].events;
            if (fd >= l->nfiles)
                continue;
            struct ev_file *f = &l->files[fd];
            int readable = (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (f->mask & EV_READ);
            if (readable)
                f->rfn(l, fd, f->data, EV_READ);
            /* the read callback may have closed fd: re-check the mask */
            f = &l->files[fd];
            if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (f->mask & EV_WRITE) &&
                (!readable || f->wfn != f->rfn))
                f->wfn(l, fd, f->data, EV_WRITE);
        }
        ev_run_timers(l);
    }
}
