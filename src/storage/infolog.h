/*
 * infolog.h: RocksDB's info log, routed into longtail's own log.
 *
 * RocksDB writes its LOG file through the same file writer as its data
 * files, and that writer aborts the process (an assertion Debian's build
 * keeps) on the next line after one failed write: on a full disk a LOG
 * line could kill the server. With this logger there is no LOG file at
 * all: RocksDB's warnings and errors reach longtail's log at warning
 * level, its info lines at verbose level (hidden by default).
 *
 * RocksDB 7.8's C API cannot make a logger, so infolog.cc (C++, as is
 * dboptions.cc for the same kind of reason) reaches the options inside
 * the C API's opaque handle: rocksdb_options_t is a struct whose only
 * member is rocksdb::Options (c.cc of the same RocksDB version, whose
 * headers it is compiled against).
 */
#ifndef LT_STORAGE_INFOLOG_H
#define LT_STORAGE_INFOLOG_H

#include <rocksdb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Makes every database opened with opts log through longtail's log.
 * Returns 0, or -1 when the logger could not be made (RocksDB then keeps
 * its own LOG file). */
int infolog_install(rocksdb_options_t *opts);

#ifdef __cplusplus
}
#endif

#endif
