/*
 * elements.h: reading the elements of split values (codec.h) back from RocksDB.
 *
 * A split value's keys-CF value holds only its metadata; its elements are
 * elements-CF keys under (dbid, version). Loading reads them with one
 * bounded iterator and appends them to the keys-CF value in the framing
 * that codec_elem_next walks, so the keyspace decodes one buffer either
 * way. Runs on any thread (the read pool calls it right after MultiGet).
 */
#ifndef LT_STORAGE_ELEMENTS_H
#define LT_STORAGE_ELEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* *val (malloc'd, *vlen bytes) is the keys-CF value of a key of db dbid.
 * When it is split, its elements are appended (*val is reallocated). 0, or
 * STORE_ERR (read error or no memory: *val is unchanged). */
int elements_assemble(store *s, uint16_t dbid, char **val, size_t *vlen);
/* Elements elements_assemble has read since start, on every thread (INFO). */
long long elements_read_total(void);

#endif
