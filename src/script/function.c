/*
 * function.c: the FUNCTION command family.
 *
 * Scripting (Lua) is not built yet, so no library can ever be loaded: FUNCTION
 * FLUSH empties the (always empty) library registry and succeeds, which is
 * what clients and Redis's test harness send between groups of tests.
 * FUNCTION LOAD and the other subcommands are absent from the command table
 * and answer Redis's unknown-subcommand error until scripting exists.
 */
#include <string.h>

#include "cmd/command.h"
#include "net/reply.h"

void cmd_function_flush(client *c)
{
    if (c->argc == 3 && strcasecmp(c->argv[2], "async") && strcasecmp(c->argv[2], "sync")) {
        reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    reply_ok(c);
}

void cmd_function_help(client *c)
{
    static const char *lines[] = {
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        NULL,
    };
    reply_help(c, "FUNCTION", lines);
}
