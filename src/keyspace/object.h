/*
 * object.h: values of the keyspace.
 *
 * An obj is one value with its type and encoding (OBJECT ENCODING reports
 * Redis's names). Strings come in three encodings as in Redis: INT (a long
 * long in the object), EMBSTR (bytes in the same allocation, <= 44 bytes)
 * and RAW (a separate buffer that can grow: APPEND, SETRANGE).
 * Hashes come in two encodings as in Redis: LISTPACK (field, value, field,
 * value... in one listpack, while small) and HT (a dict of hot strs to hot
 * strs); see object_hash.h for the conversion rule. Sets: INTSET or HT
 * (object_set.h). Lists are always QUICKLIST (object_list.h).
 * Sorted sets: LISTPACK or SKIPLIST (object_zset.h).
 * Every obj lives in the hot tier (hot_malloc). An obj in the keyspace is
 * owned by its db; commands that need to keep a value past the next write
 * copy it.
 */
#ifndef LT_KEYSPACE_OBJECT_H
#define LT_KEYSPACE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"
#include "ds/str.h"

/* Types: the same numbers as the stored format (storage/codec.h). */
#define OBJ_STRING 0
#define OBJ_LIST   1
#define OBJ_SET    2
#define OBJ_ZSET   3
#define OBJ_HASH   4
#define OBJ_STREAM 5

/* Encodings: frozen numbers, stored in the header's encoding byte. */
#define OBJ_ENC_RAW      0
#define OBJ_ENC_INT      1
#define OBJ_ENC_HT       2 /* hash: dict of str -> str; set: dict of str */
#define OBJ_ENC_INTSET   6 /* set: a ds/intset */
#define OBJ_ENC_EMBSTR   8
#define OBJ_ENC_LISTPACK 11 /* hash: field, value pairs in a listpack */

/* list: a linked list of listpacks (object_list.h) */
#define OBJ_ENC_QUICKLIST 9

#define OBJ_EMBSTR_MAX 44 /* Redis's limit for embstr */

/* Changed since it was last taken by a checkpoint. Cleared lazily: a
 * written checkpoint does not visit its keys; the demoter asks
 * db_clean_now(), which clears it once the key is neither dirty (PENDING)
 * nor in the checkpoint in flight. */
#define OBJ_F_DIRTY    (1u << 0)
#define OBJ_F_UNSTORED (1u << 1) /* its last commit could not store it: stays dirty in memory */
#define OBJ_F_SPLIT    (1u << 2) /* has a split_state (keyspace/split.h) */
/* Its key is in its db's dirty set: the next write of it needs no lookup
 * there. A hint that is never wrong when set: cleared when the set is
 * taken by a checkpoint (commit_one) and when the value leaves its key
 * (db_take); a value replacing another under its key inherits it (db_set). */
#define OBJ_F_PENDING (1u << 3)

/* 16 bytes, as small as Redis's robj: the hot tier holds one per key. A
 * stored split's state lives in a side table (keyspace/split.h), found
 * through OBJ_F_SPLIT, since only big collections have one. */
typedef struct obj {
    uint8_t type;
    uint8_t encoding;
    uint8_t flags;
    uint8_t unused;
    uint32_t lru; /* LRU clock (s) or LFU: 16 bits of minutes, 8 bits of log counter */
    union {
        long long i; /* OBJ_ENC_INT */
        str s;       /* RAW: a hot str (its header holds length and capacity); EMBSTR:
                        object.c */
        void *ptr;   /* other types */
    } u;
} obj;

/* A new string value; picks INT when the bytes are a canonical integer of at
 * most 20 chars, EMBSTR when short, RAW otherwise (as Redis's SET). */
obj *obj_string_new(const void *ptr, size_t len);
obj *obj_string_from_ll(long long v);
/* RAW string, never INT or EMBSTR (APPEND/SETRANGE results, as Redis). */
obj *obj_string_raw(const void *ptr, size_t len);
/* A string with a given encoding (loading from storage keeps the encoding
 * the value had when written). */
obj *obj_string_with_encoding(const void *ptr, size_t len, int encoding);
/* A collection value (hash, list, set, zset) around its container: every
 * collection obj is made here, so its split state starts empty. */
obj *obj_new_collection(int type, int encoding, void *ptr);
void obj_free(obj *o);
obj *obj_dup(const obj *o);

/* Bytes of a string: for INT, formatted into buf (>= 21 bytes). */
const char *obj_string_bytes(const obj *o, char *buf, size_t *len);
size_t obj_string_len(const obj *o);
/* Integer value of a string, 1 if it is one (INT encoding or canonical). */
int obj_string_ll(const obj *o, long long *out);
/* Make a RAW string of at least len bytes with the new bytes zeroed;
 * converts INT/EMBSTR to RAW. Returns the (same) object. */
obj *obj_string_make_raw(obj *o, size_t min_len);
/* Append bytes (RAW result). */
void obj_string_append(obj *o, const void *ptr, size_t len);
/* The bytes of a string for a change in place (SETBIT, BITFIELD): makes it
 * RAW and at least min_len bytes long (new bytes zeroed), and returns its
 * buffer. The pointer is valid until the next change of o's length or
 * encoding. */
unsigned char *obj_string_writable(obj *o, size_t min_len);
/* Replaces the bytes of a string with len bytes from ptr (RAW result; the
 * string may shrink; ptr may point into o's own buffer). */
void obj_string_set(obj *o, const void *ptr, size_t len);

/* Hot-tier bytes used by the value (for MEMORY/accounting/tests). */
size_t obj_mem(const obj *o);
const char *obj_type_name(int type);
const char *obj_encoding_name(const obj *o);
const char *obj_encoding_name_of(int encoding); /* the same by number (a stored header's) */

#include "keyspace/object_hash.h"
#include "keyspace/object_set.h"
#include "keyspace/object_list.h"
#include "keyspace/object_zset.h"

#endif
