/*
 * docs.h: the "arguments" field of COMMAND DOCS, derived from the syntax
 * string of each commands.def row.
 *
 * A syntax string in Redis's documented notation ("key value [NX|XX] [GET]
 * [EX seconds|PX milliseconds|KEEPTTL]") is parsed into a tree of arguments
 * with Redis's names, types, tokens and flags. Each command's tree is built
 * once, on first use, and lives as long as the process.
 */
#ifndef LT_CMD_DOCS_H
#define LT_CMD_DOCS_H

#include "cmd/command.h"
#include "net/client.h"

#define DOCS_ARG_OPTIONAL       (1u << 0) /* may be left out */
#define DOCS_ARG_MULTIPLE       (1u << 1) /* may be repeated */
#define DOCS_ARG_MULTIPLE_TOKEN (1u << 2) /* repeated with its token each time */

struct docs_arg {
    char *name;
    const char *type;      /* Redis's type name: "string", "integer", "key", "oneof"... */
    char *token;           /* the literal word that introduces it, NULL when none */
    unsigned flags;        /* DOCS_ARG_* */
    int key_spec_index;    /* index into the command's key specs; -1 for no key */
    struct docs_arg *args; /* alternatives of a oneof, members of a block */
    int nargs;
};

/* Parses syntax (the arguments after the command's name; "" has none) as
 * the arguments of the command named cmdname ("set", "client|kill"; it
 * selects the naming and typing exceptions). On success returns 0 and sets
 * *args (owned by the caller, release with docs_free) and *nargs. Returns
 * -1 when the string is malformed: unbalanced brackets, an empty group or
 * alternative, or a "..." that does not repeat what precedes it. */
int docs_parse(const char *cmdname, const char *syntax, struct docs_arg **args, int *nargs);
void docs_free(struct docs_arg *args, int nargs);

/* The argument tree of cmd, parsed on first use and cached; NULL with
 * *nargs 0 when cmd takes no arguments. Valid for the process's lifetime. */
const struct docs_arg *docs_arguments(const struct command *cmd, int *nargs);
int docs_has_arguments(const struct command *cmd);
/* Writes the value of COMMAND DOCS's "arguments" field: an array with a
 * map per argument (name, type, [key_spec_index], [token], [flags],
 * [arguments]). The caller writes the "arguments" key itself, and only when
 * docs_has_arguments(cmd). */
void docs_reply_arguments(client *c, const struct command *cmd);

#endif
