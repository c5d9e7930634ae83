/*
 * listpack.h: a compact list of strings and integers in one heap block, in
 * the byte format of Redis's listpack (so DUMP/RESTORE can exchange blobs
 * with Redis unchanged).
 *
 * A listpack is an `unsigned char *` from hot_malloc. Every function that
 * can change its size may move it: it returns the listpack to use from then
 * on, and the old pointer must no longer be used. An entry is designated by
 * a pointer to its first byte; any such pointer is invalidated by a change
 * to the listpack (functions that change it give back the position to go on
 * from through `newp`).
 *
 * Values: a string that is the canonical decimal form of an int64 (Redis's
 * string2ll rule: no '+', no leading zeros, no "-0", no spaces) is stored as
 * an integer; everything else as bytes. Reading back gives either the bytes
 * or the integer (lp_get), never a conversion of the caller's choosing.
 *
 * Functions that add data return NULL, and leave the listpack unchanged,
 * only when the result would not fit the format's 32-bit total size.
 * String arguments must not point into the listpack being changed.
 */
#ifndef LT_DS_LISTPACK_H
#define LT_DS_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

#define LP_HDR_SIZE      6     /* total bytes (u32 LE) + element count (u16 LE) */
#define LP_COUNT_UNKNOWN 65535 /* header count when there are 65535 entries or more */
#define LP_EOF           0xFF  /* terminator byte */
#define LP_INTBUF_SIZE   21    /* room for any int64 in decimal, see lp_get_str */

#define LP_BEFORE 0 /* lp_insert: put the new entry before the given one */
#define LP_AFTER  1 /* ... after it */

#define LP_ERR_CORRUPT  (-1) /* lp_validate: the bytes are not a valid listpack */
#define LP_ERR_REJECTED (-2) /* lp_validate: the entry callback refused an entry */

/* An empty listpack (7 bytes). */
unsigned char *lp_new(void);
void lp_free(unsigned char *lp);
/* Total size of the blob in bytes (header, entries, terminator). */
size_t lp_bytes(const unsigned char *lp);
/* Number of entries. O(1) below 65535 entries; otherwise a scan, whose result
 * is written back into the header when it fits (hence not const). */
size_t lp_length(unsigned char *lp);

/* Adding. `s`/`len` is a string (stored as an integer when canonical). */
unsigned char *lp_append(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_append_int(unsigned char *lp, int64_t v);
unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_prepend_int(unsigned char *lp, int64_t v);
/* Inserts before or after (`where`: LP_BEFORE/LP_AFTER) the entry at `p`;
 * `p` may also point at the terminator (then only LP_BEFORE, an append).
 * If `newp` is not NULL it receives the position of the new entry. */
unsigned char *lp_insert(unsigned char *lp, unsigned char *p, int where, const void *s, size_t len,
                         unsigned char **newp);
unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, int where, int64_t v,
                             unsigned char **newp);
/* Replaces the entry at `*p` and updates `*p` to the new entry's position. */
unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len);
unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, int64_t v);

/* Removing. lp_delete removes the entry at `p`; `newp` (if not NULL) gets
 * the entry that followed it, or NULL when it was the last. */
unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **newp);
/* Removes up to `num` entries starting at `*p` (fewer if the end comes
 * first); `*p` becomes the entry after them, or NULL. */
unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char **p, size_t num);
/* Removes up to `num` entries starting at `index` (negative: from the end,
 * -1 is the last). An index out of range removes nothing. */
unsigned char *lp_delete_range(unsigned char *lp, long index, size_t num);

/* Appends up to `num` entries of another listpack, starting at its entry
 * `p` (fewer if its end comes first), copied as they are encoded; `copied`
 * (if not NULL) gets how many. `p` must not point into `lp`. */
unsigned char *lp_append_entries(unsigned char *lp, const unsigned char *p, size_t num,
                                 size_t *copied);

/* A new listpack of the entries of lps[0..n) in order, allocated once;
 * NULL when it would not fit the 32-bit total size. */
unsigned char *lp_concat(unsigned char *const *lps, size_t n);

/* Walking. All return NULL past either end (never the terminator). */
unsigned char *lp_first(unsigned char *lp);
unsigned char *lp_last(unsigned char *lp);
unsigned char *lp_next(unsigned char *lp, unsigned char *p);
unsigned char *lp_prev(unsigned char *lp, unsigned char *p);
/* Entry at `index`; negative counts from the end (-1 is the last). */
unsigned char *lp_seek(unsigned char *lp, long index);

/* Reads the entry at `p`. For a string entry returns a pointer to its bytes
 * (inside the listpack, valid until the next change) and sets `*len`; for
 * an integer entry returns NULL and sets `*ival`. */
const unsigned char *lp_get(const unsigned char *p, size_t *len, int64_t *ival);
/* Same, but an integer is formatted in decimal into `buf` (at least
 * LP_INTBUF_SIZE bytes), which is then returned. */
const unsigned char *lp_get_str(const unsigned char *p, size_t *len, char *buf);
/* 1 if the entry at `p` equals the string `s`/`len` (an integer entry
 * equals its canonical decimal form only). */
int lp_equal(const unsigned char *p, const void *s, size_t len);

/* From `p` on, compares entries with `s`/`len`, skipping `skip` entries
 * after each one compared (skip 1 looks at the fields of a field/value
 * list). Returns the first matching entry, or NULL. */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned skip);

/* Checks untrusted bytes: header, every entry's encoding and bounds, the
 * back-lengths, the count, the terminator; never reads outside
 * buf[0..size). If `cb` is not NULL it is called on each entry once that
 * entry is known to be readable; a nonzero return rejects the listpack.
 * Returns 0 if valid, LP_ERR_CORRUPT or LP_ERR_REJECTED. */
typedef int (*lp_entry_cb)(const unsigned char *p, void *arg);
int lp_validate(const unsigned char *buf, size_t size, lp_entry_cb cb, void *arg);

#endif
