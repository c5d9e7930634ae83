/*
 * committer.h: the commit thread (DESIGN.md §2).
 *
 * One thread applies one WriteBatch at a time (WAL, then memtables), so the
 * main thread goes on running commands while RocksDB inserts the previous
 * loop iteration's writes. Completion is signalled on an eventfd the main
 * loop watches. The batch belongs to the committer from submit until the
 * result is taken.
 */
#ifndef LT_STORAGE_COMMITTER_H
#define LT_STORAGE_COMMITTER_H

#include "storage/store.h"

/* Starts the thread; returns the eventfd to watch, or -1. */
int committer_start(store *s);
void committer_stop(void);
/* Hands b to the thread (nothing may be in flight). */
void committer_submit(store_batch *b, int sync);
/* The result of the batch in flight: 0 or STORE_ERR once it is done, 1 while
 * it is still being written. Clears the eventfd. */
int committer_poll(void);
/* Waits until the batch in flight is written; its result. */
int committer_wait(void);

#endif
