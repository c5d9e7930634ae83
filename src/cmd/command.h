/*
 * command.h: the command table and dispatch.
 *
 * Every command is one row of cmd/commands.def; the table drives lookup,
 * arity checks, key extraction for prefetch (key specs), COMMAND
 * COUNT/INFO/LIST/DOCS/GETKEYS and the README's command table. Container
 * commands (CLIENT, CONFIG, OBJECT...) have their subcommands as rows too.
 * What longtail must know of a command beyond Redis's flags (how prefetch
 * treats it, extra keys, its place in a transaction) is a flag of its row
 * too (CMD_LT_*), never a comparison of handlers.
 */
#ifndef LT_CMD_COMMAND_H
#define LT_CMD_COMMAND_H

#include <stdint.h>

#include "net/client.h"

typedef void command_proc(client *c);

/* Command flags (Redis's names, in COMMAND INFO order) */
#define CMD_WRITE             (1ull << 0)
#define CMD_READONLY          (1ull << 1)
#define CMD_DENYOOM           (1ull << 2)
#define CMD_MODULE            (1ull << 3)
#define CMD_ADMIN             (1ull << 4)
#define CMD_PUBSUB            (1ull << 5)
#define CMD_NOSCRIPT          (1ull << 6)
#define CMD_BLOCKING          (1ull << 8)
#define CMD_LOADING           (1ull << 9)
#define CMD_STALE             (1ull << 10)
#define CMD_SKIP_MONITOR      (1ull << 11)
#define CMD_SKIP_SLOWLOG      (1ull << 12)
#define CMD_ASKING            (1ull << 13)
#define CMD_FAST              (1ull << 14)
#define CMD_NO_AUTH           (1ull << 15)
#define CMD_MAY_REPLICATE     (1ull << 16)
#define CMD_SENTINEL          (1ull << 17)
#define CMD_ONLY_SENTINEL     (1ull << 18)
#define CMD_NO_MANDATORY_KEYS (1ull << 19)
#define CMD_PROTECTED         (1ull << 20)
#define CMD_NO_ASYNC_LOADING  (1ull << 23)
#define CMD_NO_MULTI          (1ull << 24)
#define CMD_MOVABLE_KEYS      (1ull << 25)
#define CMD_ALLOW_BUSY        (1ull << 26)
#define CMD_REDIS_FLAGS       ((1ull << 27) - 1) /* the bits COMMAND INFO shows */

/* longtail's own flags ("lt_..." words of the flags column), never shown */
#define CMD_LT_FIRST       40
#define CMD_LT_META        (1ull << 40) /* needs only keys' metadata: split values read as headers */
#define CMD_LT_NO_PREFETCH (1ull << 41) /* its keys are not read before it runs (OBJECT TIER) */
#define CMD_LT_IN_MULTI    (1ull << 42) /* runs at once inside MULTI, never queued */
#define CMD_LT_EXEC        (1ull << 43) /* its keys are the transaction's (EXEC) */
#define CMD_LT_SELECT      (1ull << 44) /* changes the db of the commands queued after it */
#define CMD_LT_KEYS_SORT   (1ull << 45) /* SORT's STORE destination is a key */
#define CMD_LT_KEYS_MOVE   (1ull << 46) /* MOVE's key in the destination db is a key */
#define CMD_LT_KEYS_COPY   (1ull << 47) /* COPY's destination in its DB option's db is a key */
#define CMD_LT_SWAPDB      (1ull << 48) /* exchanges what two db indexes name (for EXEC's keys) */

/* The layer's settings (config table: latency-tracking, slowlog-*). */
struct cmd_settings {
    int latency_tracking;
    long long slowlog_log_slower_than;
    long long slowlog_max_len;
};
extern struct cmd_settings cmd_settings;

struct command {
    const char *name;    /* lower case; "parent|sub" full name for subcommands */
    const char *subname; /* sub's own name, NULL for top-level */
    command_proc *proc;  /* NULL for a container (dispatches to subcommands) */
    int arity;
    const char *flags_str;
    int first, last, step; /* key positions as in COMMAND INFO (0 = none) */
    const char *acl_str;
    const char *keyspecs; /* "FLAGS|BEGIN|LASTKEY,STEP,LIMIT[|NOTES];..." (commands.def) */
    const char *tips;     /* space-separated command tips */
    const char *group;
    const char *since;
    const char *summary;
    const char *complexity;
    const char *syntax; /* arguments, in Redis's documented notation */
    const char *parent_name;

    /* derived at start-up */
    uint64_t flags;
    uint64_t acl;
    const struct command *parent;
    struct command **subs;
    int nsubs;

    /* statistics (INFO commandstats, latencystats) */
    long long calls, usec, rejected_calls, failed_calls;
    struct hist *latency; /* µs per call; allocated on the first call */
};

void command_table_init(void);
/* Looks up a top-level command by name (case-insensitive). */
const struct command *command_lookup(const str name);
/* Resolves argv to the command to run (descending into a container when
 * argv[1] names a subcommand). NULL when unknown. */
const struct command *command_resolve(int argc, str *argv);
/* The same from argv[0]'s top-level entry top (NULL when unknown). */
const struct command *command_resolve_from(const struct command *top, int argc, str *argv);

/* Key positions of a command invocation. */
struct keyref {
    int argi;    /* index in argv */
    int dbindex; /* -1: the client's db; otherwise the db named by the command */
};
/* Fills refs (capacity max); returns the count (may exceed max: then only
 * max were stored). */
int command_get_keys(const struct command *cmd, int argc, str *argv, struct keyref *refs, int max);
/* Every key reference of an invocation, in *refs (heap, the caller frees);
 * returns how many. */
int command_keys_alloc(const struct command *cmd, int argc, str *argv, struct keyref **refs);
/* "ERR wrong number of arguments for '<command>' command" */
void reply_error_arity(client *c);

/* All commands, for INFO commandstats and COMMAND LIST. */
int command_count_all(void);
struct command *command_at(int i); /* top-level and subcommands, i < count */
void command_reset_stats(void);
/* Markdown table of supported commands (README; --commands-markdown). */
void command_print_markdown(void);

/* Implemented in types/ and server/: the procs named in commands.def */
#define CMD_ROW(name, proc, ...)        void proc(client *c);
#define SUB_ROW(parent, sub, proc, ...) void proc(client *c);
#define CONTAINER_ROW(name, ...)
#include "cmd/commands.def"
#undef CMD_ROW
#undef SUB_ROW
#undef CONTAINER_ROW

#endif
