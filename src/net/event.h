/*
 * event.h: the event loop (epoll). It knows nothing of the server: file
 * events with one read and one write callback per descriptor, timers, and a
 * hook that runs before each wait (where the server writes the effect log
 * and then the replies).
 */
#ifndef LT_NET_EVENT_H
#define LT_NET_EVENT_H

#include <stdint.h>

#define EV_NONE  0
#define EV_READ  1
#define EV_WRITE 2

typedef struct ev_loop ev_loop;
typedef void ev_file_fn(ev_loop *l, int fd, void *data, int mask);
/* Returns the delay in ms until the next call, or -1 to remove the timer. */
typedef int64_t ev_timer_fn(ev_loop *l, long long id, void *data);
typedef void ev_hook_fn(ev_loop *l);

ev_loop *ev_create(void);
void ev_free(ev_loop *l);
/* Registers fn for mask (EV_READ or EV_WRITE, or both) on fd. 0 or -1. */
int ev_add(ev_loop *l, int fd, int mask, ev_file_fn *fn, void *data);
void ev_del(ev_loop *l, int fd, int mask);
int ev_mask(ev_loop *l, int fd);
long long ev_timer_add(ev_loop *l, int64_t ms, ev_timer_fn *fn, void *data);
void ev_timer_del(ev_loop *l, long long id);
void ev_set_before_sleep(ev_loop *l, ev_hook_fn *fn);
void ev_run(ev_loop *l);
void ev_stop(ev_loop *l);

#endif
