/*
 * fuzz_resp.c: libFuzzer target for the request parser (net/resp.c).
 *
 * Input layout: byte 0 holds options (bit 0: authenticated, bit 1: a small
 * max_bulk_len, bit 2: hand argv over with resp_take_argv, bit 3: skip the
 * reset after RESP_DONE, bits 5-7: how many chunk-size bytes follow, 0-7).
 * The chunk-size bytes are used in turn, over and over, as the sizes of
 * the reads (0 = all that is left); the rest is the payload.
 *
 * The payload is fed as a client would (unconsumed bytes kept and passed
 * again with the next read) and checked:
 *  - consumed <= len, and whatever stays unconsumed is at most one line
 *    below the 64 KiB limit plus the last read;
 *  - every RESP_DONE has argc >= 1 and argv[0..argc) well-formed strs;
 *  - every RESP_ERROR has a "Protocol error: " message;
 *  - for payloads up to 64 KiB (where no limit depends on how much is
 *    buffered), the commands and the ending are the same fed whole and fed
 *    in chunks.
 * resp_split_args runs on the payload too, and for a payload that is one
 * inline line it must agree with the parser's inline path. A failed check
 * calls abort(), so the target works under libFuzzer and under the corpus
 * replay (tests/fuzz/replay.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/resp.h"

#define OPT_AUTH       0x01
#define OPT_SMALL_BULK 0x02
#define OPT_TAKE       0x04
#define OPT_NO_RESET   0x08

static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_resp: check failed: %s\n", what);
        abort();
    }
}

/* FNV-1a over everything a parse produced, to compare two runs. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void check_argv(str *argv, int argc, size_t total)
{
    fuzz_check(argc >= 1 && argv != NULL, "argc >= 1 with argv");
    size_t sum = 0;
    for (int i = 0; i < argc; i++) {
        fuzz_check(argv[i] != NULL, "argv[i] set");
        size_t n = str_len(argv[i]);
        fuzz_check(argv[i][n] == '\0', "str NUL-terminated");
        sum += n;
    }
    /* Arguments are made of input bytes: never more of them. */
    fuzz_check(sum <= total, "argument bytes <= input bytes");
}

struct run {
    uint64_t hash;
    int commands;
    int status;
};

/* Feeds payload in reads of the given sizes (nsizes == 0: all at once). */
static struct run feed(const uint8_t *payload, size_t len, uint8_t opts, const uint8_t *sizes,
                       size_t nsizes)
{
    struct resp_parser p;
    resp_init(&p, (opts & OPT_SMALL_BULK) ? 64 : 512LL * 1024 * 1024);
    p.authenticated = opts & OPT_AUTH;
    struct run r = {14695981039346656037ULL, 0, RESP_AGAIN};

    char *pending = malloc(len ? len : 1);
    fuzz_check(pending != NULL, "malloc");
    size_t plen = 0, off = 0, k = 0;
    int st = RESP_AGAIN;
    while (off < len && st != RESP_ERROR) {
        size_t n = nsizes ? sizes[k++ % nsizes] : 0;
        if (n == 0 || n > len - off)
            n = len - off;
        memcpy(pending + plen, payload + off, n);
        plen += n;
        off += n;
        for (;;) {
            size_t used = (size_t)-1;
            st = resp_parse(&p, pending, plen, &used);
            fuzz_check(used <= plen, "consumed <= len");
            memmove(pending, pending + used, plen - used);
            plen -= used;
            if (st == RESP_ERROR) {
                fuzz_check(p.error && strncmp(p.error, "Protocol error: ", 16) == 0,
                           "error message");
                r.hash = mix(r.hash, p.error, strlen(p.error));
                break;
            }
            if (st == RESP_AGAIN) {
                fuzz_check(plen <= RESP_INLINE_MAX + 1 + n, "unconsumed bytes bounded");
                fuzz_check(resp_pending_bytes(&p) <= off, "pending bytes <= bytes fed");
                break;
            }
            fuzz_check(st == RESP_DONE, "status");
            check_argv(p.argv, p.argc, len);
            fuzz_check(p.argv_cap >= p.argc, "argv_cap >= argc");
            r.commands++;
            r.hash = mix(r.hash, &p.argc, sizeof(p.argc));
            for (int i = 0; i < p.argc; i++) {
                size_t al = str_len(p.argv[i]);
                r.hash = mix(r.hash, &al, sizeof(al));
                r.hash = mix(r.hash, p.argv[i], al);
            }
            fuzz_check(resp_pending_bytes(&p) == 0, "nothing pending after DONE");
            if (opts & OPT_TAKE) {
                int argc;
                str *argv = resp_take_argv(&p, &argc);
                fuzz_check(p.argv == NULL && p.argc == 0, "take empties the parser");
                resp_free_args(argv, argc);
            } else if (!(opts & OPT_NO_RESET)) {
                resp_reset(&p);
            }
        }
    }
    r.status = st;
    r.hash = mix(r.hash, &st, sizeof(st));
    resp_reset(&p);
    free(pending);
    return r;
}

/* The payload as one inline line must parse as resp_split_args splits it. */
static void check_inline_agrees(const uint8_t *payload, size_t len, uint8_t opts)
{
    if (len == 0 || len > RESP_INLINE_MAX || payload[0] == '*' || memchr(payload, '\n', len) ||
        memchr(payload, '\0', len))
        return;
    int argc = -1;
    str *argv = resp_split_args((const char *)payload, len, &argc);

    char *line = malloc(len + 1);
    fuzz_check(line != NULL, "malloc");
    memcpy(line, payload, len);
    line[len] = '\n';
    struct resp_parser p;
    resp_init(&p, 512LL * 1024 * 1024);
    p.authenticated = opts & OPT_AUTH;
    size_t used;
    int st = resp_parse(&p, line, len + 1, &used);
    if (!argv) {
        fuzz_check(st == RESP_ERROR &&
                       strcmp(p.error, "Protocol error: unbalanced quotes in request") == 0,
                   "inline: unbalanced quotes");
    } else if (argc == 0) {
        fuzz_check(st == RESP_AGAIN && used == len + 1, "inline: empty line skipped");
    } else {
        fuzz_check(st == RESP_DONE && used == len + 1 && p.argc == argc, "inline: command");
        for (int i = 0; i < argc; i++)
            fuzz_check(str_len(p.argv[i]) == str_len(argv[i]) &&
                           memcmp(p.argv[i], argv[i], str_len(argv[i])) == 0,
                       "inline: same arguments as split_args");
    }
    resp_reset(&p);
    free(line);
    resp_free_args(argv, argc);
}

static void check_split(const uint8_t *data, size_t len)
{
    int argc = -1;
    str *argv = resp_split_args((const char *)data, len, &argc);
    if (!argv) {
        fuzz_check(argc == 0, "split: argc 0 on error");
        return;
    }
    fuzz_check(argc >= 0, "split: argc >= 0");
    size_t sum = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = str_len(argv[i]);
        fuzz_check(argv[i][n] == '\0', "split: str NUL-terminated");
        sum += n;
    }
    fuzz_check(sum <= len, "split: argument bytes <= input bytes");
    resp_free_args(argv, argc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opts = data[0];
    size_t nsizes = (size_t)(opts >> 5);
    if (size < 1 + nsizes)
        return 0;
    const uint8_t *sizes = data + 1;
    size_t len = size - 1 - nsizes;
    /* An exact-size copy, so that ASan sees a read past the end. */
    uint8_t *payload = malloc(len ? len : 1);
    fuzz_check(payload != NULL, "malloc");
    memcpy(payload, data + 1 + nsizes, len);

    struct run chunked = feed(payload, len, opts, sizes, nsizes);
    if (nsizes > 0 && len <= RESP_INLINE_MAX) {
        struct run whole = feed(payload, len, opts, NULL, 0);
        fuzz_check(whole.hash == chunked.hash && whole.commands == chunked.commands,
                   "same commands whole and in chunks");
    }
    check_split(payload, len);
    check_inline_agrees(payload, len, opts);
    free(payload);
    return 0;
}
