/*
 * dboptions.cc: SetDBOptions for the C side (dboptions.h). Exceptions
 * never cross into C: the map's allocations are caught.
 */
#include "storage/dboptions.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

#include <rocksdb/db.h>

/* The C API's database handle, as c.cc of RocksDB 7.8 defines it. */
struct rocksdb_t {
    rocksdb::DB *rep;
};

extern "C" int dboptions_set(rocksdb_t *db, const char *name, const char *value, char **err)
{
    try {
        std::unordered_map<std::string, std::string> opts{{name, value}};
        rocksdb::Status st = db->rep->SetDBOptions(opts);
        if (st.ok())
            return 0;
        *err = strdup(st.ToString().c_str());
    } catch (...) {
        *err = strdup("out of memory");
    }
    return -1;
}
