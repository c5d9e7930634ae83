/*
 * zset.h: what other command files use of the sorted set commands.
 *
 * The blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) live elsewhere and pop
 * and reply through zset_pop_reply, so their replies are byte for byte
 * those of ZPOPMIN/ZPOPMAX/ZMPOP.
 */
#ifndef LT_TYPES_ZSET_H
#define LT_TYPES_ZSET_H

#include "ds/str.h"
#include "net/client.h"

#define ZSET_POP_MIN 0
#define ZSET_POP_MAX 1

/* Pops from the first of keys[0..nkeys) that holds a sorted set and
 * replies, as Redis's pop does:
 * - a key that is not a sorted set: WRONGTYPE (nothing popped);
 * - none holds one: a null array if nil_when_empty, else an empty array;
 * - count 0: an empty array; count -1: one element, never nested;
 * - otherwise up to count elements from the lowest (ZSET_POP_MIN) or the
 *   highest scores, replied as: flat [m, s, m, s...] (!emitkey, !nested:
 *   ZPOPMIN, or RESP2); [[m, s]...] (!emitkey, nested: ZPOPMIN with a count
 *   in RESP3); [key, m, s...] (emitkey, !nested: BZPOPMIN); [key, [[m, s]
 *   ...]] (emitkey, nested: ZMPOP, BZMPOP).
 * The key is deleted with its last element and marked changed otherwise.
 * With rewrite (BZPOPMIN, BZPOPMAX, ZMPOP, BZMPOP) the command's effect
 * (repl/effects.h) is the plain pop it made, `ZPOPMIN|ZPOPMAX key`, with
 * the number popped when count is not -1; else its own arguments. */
void zset_pop_reply(client *c, str *keys, int nkeys, int where, int emitkey, long count, int nested,
                    int nil_when_empty, int rewrite);

/* The arguments of ZMPOP and BZMPOP from argv[numkeys_idx]: "numkeys key
 * [key ...] MIN|MAX [COUNT count]" (*count 1 when absent). 0, or -1 after
 * replying Redis's error. */
int zset_mpop_args_or_reply(client *c, int numkeys_idx, long *numkeys, int *where, long *count);

#endif
