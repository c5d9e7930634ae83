/*
 * object.h: values of the keyspace.
 *
 * An obj is one value with its type and encoding (OBJECT ENCODING reports
 * Redis's names). Strings come in three encodings as in Redis: INT (a long
 * long in the object), EMBSTR (bytes in the same allocation, <= 44 bytes)
 * and RAW (a separate buffer that can grow: APPEND, SETRANGE).
 * Every obj lives in the hot tier (hot_malloc). An obj in the keyspace is
 * owned by its db; commands that need to keep a value past the next write
 * copy it.
 */
#ifndef LT_KEYSPACE_OBJECT_H
#define LT_KEYSPACE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "ds/str.h"

/* Types: the same numbers as the stored format (storage/codec.h). */
#define OBJ_STRING 0
#define OBJ_LIST   1
#define OBJ_SET    2
#define OBJ_ZSET   3
#define OBJ_HASH   4
#define OBJ_STREAM 5

/* Encodings: frozen numbers, stored in the header's encoding byte. */
#define OBJ_ENC_RAW    0
#define OBJ_ENC_INT    1
#define OBJ_ENC_EMBSTR 8

#define OBJ_EMBSTR_MAX 44 /* Redis's limit for embstr */

#define OBJ_F_DIRTY (1u << 0) /* changed since the last commit: may not be demoted */

typedef struct obj {
    uint8_t type;
    uint8_t encoding;
    uint8_t flags;
    uint8_t unused;
    uint32_t lru; /* LRU clock (s) or LFU: 16 bits of minutes, 8 bits of log counter */
    union {
        long long i; /* OBJ_ENC_INT */
        struct {
            char *ptr; /* RAW only: its own buffer (EMBSTR layout: object.c) */
            uint32_t len;
            uint32_t cap;
        } s;
        void *ptr; /* other types */
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

/* Hot-tier bytes used by the value (for MEMORY/accounting/tests). */
size_t obj_mem(const obj *o);
const char *obj_type_name(int type);
const char *obj_encoding_name(const obj *o);

#endif
