/*
 * dboptions.h: changing a DB-wide RocksDB option on an open database.
 *
 * RocksDB 7.8's C API has no SetDBOptions: its rocksdb_set_options changes
 * the default column family's options, and refuses every DB option
 * ("Could not find option"). dboptions.cc reaches the DB inside the C
 * API's opaque handle (rocksdb_t holds only the DB pointer in c.cc of the
 * same version, as infolog.h explains for the options handle).
 */
#ifndef LT_STORAGE_DBOPTIONS_H
#define LT_STORAGE_DBOPTIONS_H

#include <rocksdb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets DB option name (RocksDB's name, e.g. "max_background_jobs") to
 * value. 0, or -1 with *err set (malloc'd). */
int dboptions_set(rocksdb_t *db, const char *name, const char *value, char **err);

#ifdef __cplusplus
}
#endif

#endif
