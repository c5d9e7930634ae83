/*
 * effects.h: the effect stream: what each write command propagates, as
 * Redis 7.0 propagates it to its AOF and replicas (DESIGN.md §2 "Effects").
 *
 * By default a command that changed the keyspace propagates its own
 * arguments, in the db it ran in. A handler whose command is not
 * deterministic as written (SPOP, INCRBYFLOAT, relative expires, a served
 * blocking pop...) emits its effects itself with effect_begin/effect_arg
 * (or effect_emit) and calls effect_prevent so its arguments are not
 * propagated too. Keys deleted because they expired (on access or by the
 * active cycle) propagate a DEL, before the command that found them. The
 * effects of EXEC's commands are wrapped in MULTI ... EXEC.
 *
 * The stream goes to the effect log (storage/aof.h): the loop writes it at
 * the end of each iteration, before the iteration's replies leave. The
 * same stream is what replicas will be fed.
 */
#ifndef LT_REPL_EFFECTS_H
#define LT_REPL_EFFECTS_H

#include "ds/str.h"
#include "net/client.h"
#include "storage/aof.h"

/* Wires the stream to the log: registers the dispatch and keyspace hooks. */
void effects_init(aof *log);

/* One effect of argc arguments in db dbindex (-1: not db-specific, such as
 * FLUSHALL or SWAPDB): then exactly argc effect_arg* calls. */
void effect_begin(int dbindex, int argc);
void effect_arg(const char *p, size_t len);
void effect_arg_str(const str s);
void effect_arg_cstr(const char *s);
void effect_arg_ll(long long v);
/* One whole effect. */
void effect_emit(int dbindex, int argc, const str *argv);
/* The running command's own arguments are not propagated (its handler
 * emitted its effects, or it has none). */
void effect_prevent(void);
/* effect_emit of argv in c's db, then effect_prevent. */
void effect_rewrite(client *c, int argc, const str *argv);
/* The running command's effects are one transaction: MULTI is written
 * before the first of them and EXEC after the last (inside EXEC, the
 * transaction's own MULTI ... EXEC holds them). For a handler that emits
 * two or more effects, as Redis wraps them (SPOP with a count). */
void effect_multi(void);

/* Replays the log after the position the storage covers, through the
 * command path, before the server serves anyone. Returns the commands run,
 * or -1 with *err (heap). */
long long effects_replay(aof *log, const struct aof_pos *from, int truncated_ok, char **err);

#endif
