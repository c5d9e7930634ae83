/*
 * object_list.h: list values (OBJ_LIST), included from object.h.
 *
 * A list is always a quicklist, as in Redis 7.0 (OBJECT ENCODING
 * "quicklist"): a doubly linked list of nodes, each either a listpack of
 * several elements ("packed", bounded by list-max-listpack-size) or one
 * element kept as raw bytes ("plain", for elements of at least the packed
 * threshold that DEBUG QUICKLIST-PACKED-THRESHOLD sets, 1 GB by default).
 *
 * Indexes are 0-based from the head; negative ones count from the tail
 * (-1 is the last element). Element bytes handed out by the readers are
 * valid until the next change of the list. Every change of a list goes
 * through these functions.
 */
#ifndef LT_KEYSPACE_OBJECT_LIST_H
#define LT_KEYSPACE_OBJECT_LIST_H

#include <stddef.h>

#define LIST_HEAD 0 /* the left end: LPUSH, LPOP */
#define LIST_TAIL 1 /* the right end: RPUSH, RPOP */

/* Room to format an integer element (LP_INTBUF_SIZE). */
#define OBJ_LIST_BUF 24

struct obj;

struct obj *obj_list_new(void);
size_t list_len(const struct obj *o);
void list_push(struct obj *o, const void *s, size_t len, int where);
/* Element at index into s and len (integers are formatted into buf); 0 when
 * out of range. */
int list_index(struct obj *o, long index, const char **s, size_t *len, char *buf);
/* Replaces the element at index; 0 when out of range. */
int list_set(struct obj *o, long index, const void *s, size_t len);
/* Removes n elements from index start (>= 0, or negative from the tail);
 * the part past the end is ignored. */
void list_delete_range(struct obj *o, long start, size_t n);

/* Walks the list from an index towards the tail (LIST_TAIL) or the head
 * (LIST_HEAD). The element last returned by list_iter_next is the
 * iterator's current one: it can be compared, deleted (the walk goes on
 * with the following one) or have an element inserted next to it (the
 * walk then ends). No other change to the list while iterating. */
struct list_iter {
    struct obj *o;
    int dir;
    void *node;         /* the node of the next element, NULL at the end */
    unsigned char *p;   /* its entry (packed node) */
    void *cur_node;     /* the current element */
    unsigned char *cur; /* its entry (packed node) */
    char buf[OBJ_LIST_BUF];
};
/* index out of range gives an iterator at its end. */
void list_iter_init(struct list_iter *it, struct obj *o, long index, int dir);
int list_iter_next(struct list_iter *it, const char **s, size_t *len);
/* 1 if the current element equals s/len (an integer entry equals its
 * canonical decimal form only, as Redis compares). */
int list_iter_equal(struct list_iter *it, const void *s, size_t len);
void list_iter_delete(struct list_iter *it);
/* Inserts before (LIST_HEAD) or after (LIST_TAIL) the current element. */
void list_iter_insert(struct list_iter *it, const void *s, size_t len, int where);

/* Stored form: every element in one listpack blob, whatever the nodes.
 * Returns the blob (*must_free: a copy to hot_free), or NULL when the list
 * does not fit one listpack (4 GB). */
const unsigned char *list_blob(struct obj *o, size_t *len, int *must_free);
/* Rebuilds a list from untrusted bytes; NULL when they are not a valid,
 * non-empty listpack or the encoding is not QUICKLIST. */
struct obj *list_from_blob(const void *buf, size_t len, int encoding);

void list_free(struct obj *o);
struct obj *list_dup(const struct obj *o);
size_t list_mem(const struct obj *o);

/* Elements of at least this many bytes get a plain node of their own.
 * list_set_packed_threshold returns 0 when sz is above the listpack limit
 * (4 GB less 1 MB); 0 restores the default (1 GB). */
int list_set_packed_threshold(unsigned long long sz);

#endif
