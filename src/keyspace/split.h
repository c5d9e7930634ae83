/*
 * split.h: big collections stored one element per RocksDB key (codec.h,
 * DESIGN.md §4).
 *
 * A collection with at least storage-split-threshold elements, in its big
 * encoding (hashtable hash or set, any list), is committed split: the keys-CF value holds
 * its metadata and each element is an elements-CF key under a version. Once
 * stored split, its obj carries a split_state (split_state_of; kept in a
 * side table keyed by the obj, flagged by OBJ_F_SPLIT, so that the small
 * obj of every other value has no room for it) that records which subkeys
 * changed since the last commit, so the next commit writes just those
 * elements. The state belongs to the stored copy:
 * - freeing the obj (delete, overwrite, expiry) queues its version's
 *   elements for one DeleteRange in the next commit (split_release, from
 *   obj_free); demoting it drops the state without touching storage
 *   (split_forget);
 * - a value that moves to another db, or is new, is written whole under a
 *   fresh version; a renamed value keeps its version (only the keys-CF
 *   value moves).
 * The type's mutators call split_touch for every subkey they change.
 */
#ifndef LT_KEYSPACE_SPLIT_H
#define LT_KEYSPACE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"
#include "keyspace/object.h"
#include "storage/codec.h"
#include "storage/store.h"

#define SPLIT_LIST_RANGES 8

struct split_state {
    uint64_t version;   /* of the stored copy; 0 until the first commit succeeds */
    uint64_t next;      /* version being written by the pending commit, 0 if none */
    uint16_t dbid;      /* physical db of the stored copy */
    uint16_t next_dbid; /* ... and of the pending version */
    uint8_t drop;       /* the pending commit writes the value whole: forget the state */
    dict *changed;      /* subkeys changed since the last commit: hot str -> NULL */
    /* lists: elements are keyed by absolute index, head being element 0's;
     * pushes and pops at the ends move head and mark ranges of indexes;
     * a change in the middle (LINSERT, LREM) asks for a whole rewrite */
    int64_t head;
    uint8_t rewrite;
    int nranges;
    int64_t ranges[SPLIT_LIST_RANGES][2]; /* [lo, hi) absolute indexes changed */
};

static inline int obj_is_collection(const obj *o)
{
    return o->type == OBJ_HASH || o->type == OBJ_SET || o->type == OBJ_ZSET || o->type == OBJ_LIST;
}

/* The state of an obj flagged OBJ_F_SPLIT. */
struct split_state *split_state_of(const obj *o);

void split_touch_slow(obj *o, const void *sub, size_t len);
/* A mutator changed (set or removed) subkey sub of o. */
static inline void split_touch(obj *o, const void *sub, size_t len)
{
    if (o->flags & OBJ_F_SPLIT)
        split_touch_slow(o, sub, len);
}

/* List mutators (object_list.c), before the change for removals and sets,
 * after it for pushes; start is normalized (>= 0). */
void split_list_pushed_slow(obj *o, int where);
void split_list_removed_slow(obj *o, size_t start, size_t n);
void split_list_set_slow(obj *o, size_t index);
static inline void split_list_pushed(obj *o, int where)
{
    if (o->flags & OBJ_F_SPLIT)
        split_list_pushed_slow(o, where);
}
static inline void split_list_removed(obj *o, size_t start, size_t n)
{
    if (o->flags & OBJ_F_SPLIT)
        split_list_removed_slow(o, start, n);
}
static inline void split_list_set(obj *o, size_t index)
{
    if (o->flags & OBJ_F_SPLIT)
        split_list_set_slow(o, index);
}
static inline void split_list_rewrite(obj *o)
{
    if (o->flags & OBJ_F_SPLIT)
        split_state_of(o)->rewrite = 1;
}

/* obj_free: the stored elements are garbage. */
void split_release(obj *o);
/* Demotion: the stored copy stays; the memory state goes. */
void split_forget(obj *o);
/* A cold split value was deleted without being loaded (db_delete from its
 * header): its stored version of db dbid is garbage, as in split_release. */
void split_release_stored(uint16_t dbid, uint64_t version);

/* Reads the next-version counter (keyspace_open). */
void split_open(uint64_t next_version);

/* Commit. Writes o (a dirty collection of db dbid, keys-CF key k) into b
 * split when it is or should be; 1 when written, 0 when the caller writes
 * it as one value (any split copy it had is then queued as garbage). */
int split_commit_value(store_batch *b, uint16_t dbid, const char *k, size_t kl, obj *o,
                       int64_t expire);
/* Adds the queued garbage (old versions) and the version counter to b. */
void split_commit_garbage(store_batch *b);
/* The batch built last was written: pending versions become current, the
 * garbage it removed is forgotten. Or it was refused: the values it had
 * are written whole by the next commit. */
void split_commit_succeeded(void);
void split_commit_failed(void);

/* Rebuilds a split value from its assembled form (header fields given,
 * payload = metadata then framed elements); NULL when corrupt. The state
 * is attached by split_attach once the value is installed in db dbid. */
obj *split_decode(int type, int encoding, const char *payload, size_t plen,
                  struct codec_split_meta *meta);
void split_attach(obj *o, uint16_t dbid, const struct codec_split_meta *meta);

/* Statistics for INFO. */
struct split_stats {
    long long whole_writes;   /* values written whole under a new version */
    long long element_writes; /* element puts and deletes */
    long long garbage_ranges; /* old versions removed */
};
extern struct split_stats split_stats;

#endif
