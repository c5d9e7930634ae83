/*
 * fuzz_aof.c: libFuzzer target for the effect log's reader
 * (storage/aof.c aof_parse_command), which replays the log at start-up.
 *
 * The input is parsed command after command, as the replay does. Whatever
 * parses must lie inside the input and be exactly the bytes the log's
 * writer produces for those arguments (aof_begin/aof_arg into a second log
 * buffer, compared through aof_position): a reader that accepts what the
 * writer never writes, or reads past the buffer, is a bug (abort). "Need
 * more bytes" must hold for every prefix of a command that parses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/str.h"
#include "ds/util.h"

#include "storage/aof.h"

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* The bytes the writer emits for argv: "*N\r\n" then "$len\r\n<arg>\r\n". */
static size_t encode(int argc, str *argv, char **out)
{
    size_t cap = 32;
    for (int i = 0; i < argc; i++)
        cap += str_len(argv[i]) + 32;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        n += (size_t)snprintf(b + n, cap - n, "$%zu\r\n", str_len(argv[i]));
        memcpy(b + n, argv[i], str_len(argv[i]));
        n += str_len(argv[i]);
        memcpy(b + n, "\r\n", 2);
        n += 2;
    }
    *out = b;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t pos = 0;
    for (;;) {
        size_t used = 0;
        int argc = 0;
        str *argv = NULL;
        int rc = aof_parse_command(p + pos, size - pos, &used, &argc, &argv);
        if (rc != 1)
            break;
        fuzz_check(used > 0 && used <= size - pos && argc >= 1);
        char *enc;
        size_t n = encode(argc, argv, &enc);
        fuzz_check(n == used && memcmp(enc, p + pos, used) == 0);
        /* every strict prefix is "need more bytes" */
        size_t cut = used > 1 ? used / 2 : 0;
        size_t u2;
        int a2;
        str *v2;
        fuzz_check(aof_parse_command(p + pos, cut, &u2, &a2, &v2) == 0);
        free(enc);
        for (int i = 0; i < argc; i++)
            str_free(argv[i]);
        free(argv);
        pos += used;
    }
    return 0;
}
