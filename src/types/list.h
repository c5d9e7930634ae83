/*
 * list.h: the pop and move steps of the list commands, for the blocking
 * commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) to serve a client
 * now or later with exactly the replies of LPOP, LMPOP and LMOVE.
 *
 * Each function takes an existing, non-empty list o stored at key in db
 * (the caller looked it up and checked its type), writes the reply to c,
 * marks the keys changed and deletes a list that became empty.
 */
#ifndef LT_TYPES_LIST_H
#define LT_TYPES_LIST_H

#include "ds/str.h"
#include "keyspace/db.h"
#include "net/client.h"

/* LEFT or RIGHT (any case) into LIST_HEAD or LIST_TAIL; -1 after replying
 * a syntax error. */
int list_where_or_reply(client *c, const str arg, int *where);

/* The arguments of LMPOP and BLMPOP from argv[numkeys_idx]: "numkeys key
 * [key ...] LEFT|RIGHT [COUNT count]". *count is 1 when COUNT is absent.
 * 0, or -1 after replying Redis's error. */
int list_mpop_args_or_reply(client *c, int numkeys_idx, long *numkeys, int *where, long *count);

/* One element from the `where` end, replied as BLPOP/BRPOP do: a two
 * element array of the key and the element. The command's effect is
 * `LPOP key` or `RPOP key` (repl/effects.h). */
void list_pop_reply_with_key(client *c, struct db *db, const str key, obj *o, int where);

/* Up to count elements from the `where` end, replied as LMPOP does: the
 * key, then the array of elements in the order they were popped. The
 * command's effect is `LPOP key n` or `RPOP key n`, n the number popped. */
void list_mpop_reply_with_key(client *c, struct db *db, const str key, obj *o, int where,
                              long count);

/* LMOVE: one element from the `wherefrom` end of the list o at src onto
 * the `whereto` end of dst, whose current value is dobj (NULL when absent,
 * else a list: the caller checked; dobj may be o when dst is src). The
 * element is the reply, a bulk string. */
void list_move_reply(client *c, struct db *db, const str src, obj *o, const str dst, obj *dobj,
                     int wherefrom, int whereto);

#endif
