/*
 * dict.h: a chained hash table with incremental rehashing.
 *
 * Keys and values are opaque pointers; a dict_type gives the hash, the
 * equality and how to free them. Growing and shrinking rehash a few buckets
 * per operation (and dict_rehash_ms() in cron), so no single call is O(n).
 * Tables are power-of-two sized; all memory comes from the hot tier
 * (ds/alloc.h).
 *
 * Safe iteration: while a dict_iter is live, the dict does not rehash, so the
 * caller may delete the entry it was just handed. dict_scan() gives Redis's
 * reverse-binary cursor guarantee (every element present for the whole scan
 * is returned at least once) even across rehashing.
 */
#ifndef LT_DS_DICT_H
#define LT_DS_DICT_H

#include <stddef.h>
#include <stdint.h>

/* In a dict whose type has embed_str_key, entries end at next: the key's
 * str (header, bytes, NUL) follows it in the same allocation, 16 bytes less
 * per entry than a pointer to a str of its own and no second allocation.
 * Read such keys with dict_key, never e->key. */
typedef struct dict_entry {
    union {
        void *val;
        int64_t s64;
        uint64_t u64;
    } v;
    struct dict_entry *next;
    void *key; /* not in entries of an embed_str_key dict */
} dict_entry;

typedef struct dict_type {
    uint64_t (*hash)(const void *key);
    int (*key_eq)(const void *a, const void *b); /* non-zero when equal */
    void (*key_free)(void *key);                 /* may be NULL; unused with embed_str_key */
    void (*val_free)(void *val);                 /* may be NULL */
    /* keys are strs (ds/str.h) copied into the entry: dict_add and
     * dict_add_or_find copy the caller's key, which the caller keeps */
    int embed_str_key;
} dict_type;

typedef struct dict dict;

dict *dict_create(const dict_type *type);
void dict_release(dict *d); /* frees every key and value through the type */
void dict_clear(dict *d);   /* same, keeps the dict */
/* dict_clear, keeping a table of up to max_buckets buckets for the next
 * fill: a set emptied and refilled to about the same size every time
 * (a checkpoint's keys) is then not grown and rehashed again each time. */
void dict_clear_keep(dict *d, size_t max_buckets);
size_t dict_size(const dict *d);
/* Bytes of table and entries owned by the dict (not keys/values). */
size_t dict_mem_usage(const dict *d);

dict_entry *dict_find(dict *d, const void *key);
/* dict_find of the tagged str (str_new_tagged) of tag and key[0..len),
 * built on the stack when short: no allocation per lookup. */
dict_entry *dict_find_tagged(dict *d, unsigned tag, const void *key, size_t len);
/* The key of an entry of d (for every dict; the only way for embed_str_key
 * dicts). Valid as long as the entry. */
void *dict_key(const dict *d, const dict_entry *e);
/* Insert; returns the new entry, or NULL when the key exists (nothing
 * changed; the caller still owns key). The dict owns key after a successful
 * insert, unless it embeds keys (then it keeps a copy). */
dict_entry *dict_add(dict *d, void *key, void *val);
/* Find or insert with a NULL value; *existed tells which. */
dict_entry *dict_add_or_find(dict *d, void *key, int *existed);
/* Remove and free key and value through the type. Returns 0, or -1 when
 * absent. */
int dict_delete(dict *d, const void *key);
/* Remove without freeing: returns the entry, to be freed with
 * dict_free_unlinked(d, e) (which frees key/val through the type). NULL when
 * absent. */
dict_entry *dict_unlink(dict *d, const void *key);
void dict_free_unlinked(dict *d, dict_entry *e);

/* A random entry (NULL when empty); fair enough for sampling. */
dict_entry *dict_random(dict *d);
/* Up to count entries from random places, for eviction-style sampling;
 * returns how many were stored in out. May return fewer, or duplicates none. */
size_t dict_sample(dict *d, dict_entry **out, size_t count);

typedef void dict_scan_fn(void *privdata, dict_entry *e);
uint64_t dict_scan(dict *d, uint64_t cursor, dict_scan_fn *fn, void *privdata);

typedef struct dict_iter {
    dict *d;
    long index;
    int table;
    dict_entry *entry, *next;
} dict_iter;
void dict_iter_init(dict_iter *it, dict *d);
dict_entry *dict_iter_next(dict_iter *it); /* NULL at the end */
void dict_iter_done(dict_iter *it);        /* must be called; re-enables rehash */

/* Rehash for about ms milliseconds; returns 1 if more work remains. */
int dict_rehash_ms(dict *d, int ms);
/* Shrink the table when it is mostly empty (call from cron). */
void dict_maybe_shrink(dict *d);

/* Ready-made types. Keys are hot-tier strs (ds/str.h). */
uint64_t dict_str_hash(const void *key);
int dict_str_eq(const void *a, const void *b);
void dict_str_hot_free(void *key);
void dict_str_free(void *key);
/* Case-insensitive hash/equality of NUL-terminated C strings (a str works
 * too): command names, config names. */
uint64_t dict_cstr_nocase_hash(const void *key);
int dict_cstr_nocase_eq(const void *a, const void *b);
/* Seed of the keyed hash used by dict_str_hash (set once at start-up from
 * /dev/urandom; tests may leave the default). */
void dict_set_hash_seed(const uint8_t seed[16]);

#endif
