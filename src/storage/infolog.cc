/*
 * infolog.cc: RocksDB's info log routed into longtail's log (infolog.h).
 *
 * C++ only as far as RocksDB's Logger interface requires: a subclass whose
 * Logv formats the line and hands it to ds/log.c. Exceptions never cross
 * into C: the only call that may throw (make_shared) is caught.
 */
#include "storage/infolog.h"

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <new>

#include <rocksdb/env.h>
#include <rocksdb/options.h>

extern "C" {
#include "ds/log.h"
}

/* The C API's options handle, as c.cc of RocksDB 7.8 defines it. */
struct rocksdb_options_t {
    rocksdb::Options rep;
};

namespace {

class ForwardingLogger : public rocksdb::Logger {
  public:
    ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

    using rocksdb::Logger::Logv;

    /* Lines without a level (RocksDB's headers) are informational. */
    void Logv(const char *fmt, va_list ap) override
    {
        Logv(rocksdb::InfoLogLevel::INFO_LEVEL, fmt, ap);
    }

    void Logv(const rocksdb::InfoLogLevel level, const char *fmt, va_list ap) override
    {
        if (level < GetInfoLogLevel())
            return;
        char line[1024];
        int n = std::vsnprintf(line, sizeof(line), fmt, ap);
        if (n < 0)
            return;
        size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        int ll = level >= rocksdb::InfoLogLevel::WARN_LEVEL &&
                         level != rocksdb::InfoLogLevel::HEADER_LEVEL
                     ? LL_WARNING
                     : level == rocksdb::InfoLogLevel::DEBUG_LEVEL ? LL_DEBUG : LL_VERBOSE;
        log_msg(ll, "RocksDB: %s", line);
    }
};

} // namespace

extern "C" int infolog_install(rocksdb_options_t *opts)
{
    try {
        opts->rep.info_log = std::make_shared<ForwardingLogger>();
    } catch (...) {
        return -1;
    }
    return 0;
}
