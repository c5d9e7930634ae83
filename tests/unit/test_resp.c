/*
 * test_resp.c: unit tests of the request parser (net/resp.c).
 *
 * Expected replies and error strings were taken from redis-server 7.0.15.
 * Most tests go through feed(), which plays the part of a client: it keeps
 * the bytes the parser did not consume, appends the next chunk, and calls
 * resp_parse until it needs more. The result is a transcript of the
 * commands parsed (lengths and bytes) and how parsing ended, so the same
 * input cut at different places can be compared exactly.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/resp.h"
#include "unit.h"

#define MAX_BULK (512LL * 1024 * 1024)

/* A growable byte buffer for inputs and transcripts. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addf_len(struct buf *b, size_t n)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%zu:", n);
    buf_adds(b, tmp);
}

/* Chunking strategies: how many bytes the next read brings. */
enum chunking { WHOLE, BYTES, RANDOM, SPLIT_AT };

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct feed_opts {
    int authenticated;
    long long max_bulk;
    enum chunking how;
    size_t split, split2; /* SPLIT_AT: the chunks end there (0: unused) */
    size_t max_random;
};

/* Feeds input as a client would and returns the transcript (caller frees
 * .p): one "argc[len:bytes,...]\n" per command, then "AGAIN\n" or
 * "ERROR msg\n" (and "LEFT n" when bytes stay unconsumed). It may hold
 * NULs: compare it with its length. */
static struct buf feed_buf(const char *in, size_t len, const struct feed_opts *o)
{
    struct resp_parser p;
    resp_init(&p, o->max_bulk);
    p.authenticated = o->authenticated;
    struct buf out = {0}, pending = {0};
    size_t off = 0;
    int status = RESP_AGAIN;
    buf_add(&pending, "", 0);
    buf_add(&out, "", 0);
    while (status != RESP_ERROR) {
        size_t n;
        if (off == len)
            break;
        switch (o->how) {
        case WHOLE:
            n = len;
            break;
        case BYTES:
            n = 1;
            break;
        case SPLIT_AT:
            n = off < o->split ? o->split - off : off < o->split2 ? o->split2 - off : len - off;
            break;
        default:
            n = 1 + rng() % o->max_random;
            break;
        }
        if (n > len - off)
            n = len - off;
        buf_add(&pending, in + off, n);
        off += n;
        for (;;) {
            size_t used = 0;
            status = resp_parse(&p, pending.p, pending.len, &used);
            if (used > pending.len) {
                buf_adds(&out, "CONSUMED TOO MUCH\n");
                status = RESP_ERROR;
                break;
            }
            memmove(pending.p, pending.p + used, pending.len - used);
            pending.len -= used;
            if (status != RESP_DONE)
                break;
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%d[", p.argc);
            buf_adds(&out, tmp);
            for (int i = 0; i < p.argc; i++) {
                buf_addf_len(&out, str_len(p.argv[i]));
                buf_add(&out, p.argv[i], str_len(p.argv[i]));
                buf_adds(&out, ",");
            }
            buf_adds(&out, "]\n");
            resp_reset(&p);
        }
    }
    if (status == RESP_ERROR) {
        buf_adds(&out, "ERROR ");
        buf_adds(&out, p.error ? p.error : "(null)");
        buf_adds(&out, "\n");
    } else {
        buf_adds(&out, "AGAIN\n");
    }
    if (pending.len > 0 && status != RESP_ERROR) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "LEFT %zu\n", pending.len);
        buf_adds(&out, tmp);
    }
    resp_reset(&p);
    free(pending.p);
    return out;
}

/* The transcript as a C string, for inputs whose commands hold no NUL. */
static char *feed_opts(const char *in, size_t len, const struct feed_opts *o)
{
    return feed_buf(in, len, o).p;
}

static int buf_is(const struct buf *b, const char *expect, size_t elen)
{
    return b->len == elen && memcmp(b->p, expect, elen) == 0;
}

static void report_transcript(int line, const char *how, size_t at, const struct buf *got,
                              const char *expect)
{
    printf("  line %d: %s %zu: transcript:\n", line, how, at);
    fwrite(got->p, 1, got->len, stdout);
    printf("  expected:\n%s", expect);
}

/* Checks that input gives the expected transcript whole, byte by byte, cut
 * at every point, and in random chunks. */
static void check_all_splits_opts(const char *in, size_t len, const char *expect, size_t elen,
                                  struct feed_opts o, int line)
{
    o.how = WHOLE;
    struct buf t = feed_buf(in, len, &o);
    if (!unit_check(buf_is(&t, expect, elen)))
        report_transcript(line, "whole", len, &t, expect);
    free(t.p);
    o.how = BYTES;
    t = feed_buf(in, len, &o);
    if (!unit_check(buf_is(&t, expect, elen)))
        report_transcript(line, "byte by byte", 1, &t, expect);
    free(t.p);
    for (size_t i = 1; i < len && len < 4096; i++) {
        o.how = SPLIT_AT;
        o.split = i;
        o.split2 = 0;
        t = feed_buf(in, len, &o);
        int ok = unit_check(buf_is(&t, expect, elen));
        if (!ok)
            report_transcript(line, "split at", i, &t, expect);
        free(t.p);
        if (!ok)
            break;
    }
    /* Every pair of cuts, for short inputs: a state left by one read must
     * survive an empty-handed next one. */
    int ok = 1;
    for (size_t i = 1; i < len && len <= 200 && ok; i++) {
        for (size_t j = i + 1; j < len && ok; j++) {
            o.how = SPLIT_AT;
            o.split = i;
            o.split2 = j;
            t = feed_buf(in, len, &o);
            ok = unit_check(buf_is(&t, expect, elen));
            if (!ok)
                report_transcript(line, "split at i and", j, &t, expect);
            free(t.p);
        }
    }
    for (int r = 0; r < 50; r++) {
        o.how = RANDOM;
        o.max_random = 1 + (size_t)r * 3;
        t = feed_buf(in, len, &o);
        int ok = unit_check(buf_is(&t, expect, elen));
        if (!ok)
            report_transcript(line, "random chunks up to", o.max_random, &t, expect);
        free(t.p);
        if (!ok)
            break;
    }
}

/* lit and expect are string literals (they may hold NULs). */
#define CHECK_SPLITS(lit, expect)                                                                  \
    check_all_splits_opts(lit, sizeof(lit) - 1, expect, sizeof(expect) - 1,                        \
                          (struct feed_opts){.authenticated = 1, .max_bulk = MAX_BULK}, __LINE__)
#define CHECK_SPLITS_UNAUTH(lit, expect)                                                           \
    check_all_splits_opts(lit, sizeof(lit) - 1, expect, sizeof(expect) - 1,                        \
                          (struct feed_opts){.authenticated = 0, .max_bulk = MAX_BULK}, __LINE__)

TEST(multibulk_basic)
{
    CHECK_SPLITS("*1\r\n$4\r\nPING\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", "3[3:SET,1:k,0:,]\nAGAIN\n");
    /* Not complete: nothing comes out, the parser waits. */
    CHECK_SPLITS("*3\r\n$4\r\nECHO\r\n$1\r\na\r\n", "AGAIN\n");
    CHECK_SPLITS("*1\r\n$4\r\nPING\r", "AGAIN\n");
    CHECK_SPLITS("*1\r", "AGAIN\nLEFT 3\n");
    CHECK_SPLITS("*1\r\n$4\r", "AGAIN\nLEFT 3\n");
}

TEST(multibulk_binary)
{
    /* \r\n, NUL and high bytes inside a bulk are data. */
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$10\r\n\r\n\0\r\n*1\r\n\xff\r\n";
    CHECK_SPLITS(in, "2[4:ECHO,10:\r\n\0\r\n*1\r\n\xff,]\nAGAIN\n");
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, in, sizeof(in) - 1, &used), RESP_DONE);
    CHECK_EQ_INT(used, sizeof(in) - 1);
    CHECK_EQ_INT(p.argc, 2);
    CHECK_EQ_MEM(p.argv[1], str_len(p.argv[1]), "\r\n\0\r\n*1\r\n\xff", 10);
    CHECK_EQ_INT(p.argv[1][10], 0); /* strs stay NUL-terminated */
    resp_reset(&p);
}

TEST(multibulk_skipped)
{
    /* Any count <= 0 is no command; so are empty inline lines. */
    CHECK_SPLITS("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("*-9223372036854775808\r\nPING\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("\r\n\n   \n\t\r\nPING\n", "1[4:PING,]\nAGAIN\n");
    /* A skipped command alone still consumes its bytes. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    size_t used;
    static const char skip[] = "*0\r\n*-1\r\n\r\n";
    CHECK_EQ_INT(resp_parse(&p, skip, sizeof(skip) - 1, &used), RESP_AGAIN);
    CHECK_EQ_INT(used, sizeof(skip) - 1);
    resp_reset(&p);
}

TEST(unchecked_terminators)
{
    /* Redis skips the two bytes after a bulk and the byte after a header's
     * '\r' without looking at them. */
    CHECK_SPLITS("*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n", "1[4:PING,]\n1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("*1\rX$4\r\nPING\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("*1\r\n$4\rXPING\r\n", "1[4:PING,]\nAGAIN\n");
    /* An inline line ends at \n alone; only one \r before it is dropped. */
    CHECK_SPLITS("PING\r\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("ECHO a\r\r\n", "2[4:ECHO,1:a,]\nAGAIN\n");
}

TEST(multibulk_count_errors)
{
    CHECK_SPLITS("*999999999999\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*2147483648\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*\r\nPING\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*01\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*+1\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*-0\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*-01\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*1 \r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("* 1\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*12345678901234567890\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*99999999999999999999\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*18446744073709551616\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*-9999999999999999999\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*-9223372036854775809\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS("*00000000000000000001\r\n", "ERROR Protocol error: invalid multibulk length\n");
    /* Commands before the error are still parsed. */
    CHECK_SPLITS("PING\r\n*x\r\n", "1[4:PING,]\nERROR Protocol error: invalid multibulk length\n");
    /* INT_MAX itself is accepted; argv is not allocated for it up front. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    p.authenticated = 1;
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, "*2147483647\r\n", 13, &used), RESP_AGAIN);
    CHECK_EQ_INT(used, 13);
    CHECK(p.argv_cap <= 1024);
    resp_reset(&p);
}

TEST(bulk_errors)
{
    CHECK_SPLITS("*1\r\n$-5\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$-1\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$-0\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$abc\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$04\r\nPING\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$4 \r\nPING\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$99999999999\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*1\r\n$536870913\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS("*2\r\n$4\r\nECHO\r\n$536870912\r\nabc", "AGAIN\n");
    /* The limit comes from max_bulk_len. */
    struct feed_opts o = {.authenticated = 1, .max_bulk = 10, .how = WHOLE};
    static const char ten[] = "*1\r\n$10\r\n0123456789\r\n";
    char *t = feed_opts(ten, sizeof(ten) - 1, &o);
    CHECK_EQ_STR(t, "1[10:0123456789,]\nAGAIN\n");
    free(t);
    t = feed_opts("*1\r\n$11\r\n", 9, &o);
    CHECK_EQ_STR(t, "ERROR Protocol error: invalid bulk length\n");
    free(t);
}

TEST(expected_dollar)
{
    CHECK_SPLITS("*1\r\nfoo\r\n", "ERROR Protocol error: expected '$', got 'f'\n");
    CHECK_SPLITS("*2\r\n$4\r\nECHO\r\n:1\r\n", "ERROR Protocol error: expected '$', got ':'\n");
    /* The byte is sent raw, except line breaks which become spaces. */
    CHECK_SPLITS("*1\r\n\x01\r\n", "ERROR Protocol error: expected '$', got '\x01'\n");
    CHECK_SPLITS("*1\r\n\xff\r\n", "ERROR Protocol error: expected '$', got '\xff'\n");
    CHECK_SPLITS("*1\r\n\n\r\n", "ERROR Protocol error: expected '$', got ' '\n");
    CHECK_SPLITS("*1\r\n\r\r\n", "ERROR Protocol error: expected '$', got ' '\n");
    CHECK_SPLITS("*1\r\n\r\n", "ERROR Protocol error: expected '$', got ' '\n");
    /* The check waits for the whole line. */
    CHECK_SPLITS("*1\r\nfoo", "AGAIN\nLEFT 3\n");
    /* A NUL before the line's '\r' hides it (Redis searches with strchr). */
    CHECK_SPLITS("*1\r\n\0$4\r\nPING\r\n", "AGAIN\nLEFT 11\n");
}

TEST(unauthenticated)
{
    CHECK_SPLITS_UNAUTH("*10\r\n", "AGAIN\n");
    CHECK_SPLITS_UNAUTH("*11\r\n", "ERROR Protocol error: unauthenticated multibulk length\n");
    CHECK_SPLITS_UNAUTH("*2147483648\r\n", "ERROR Protocol error: invalid multibulk length\n");
    CHECK_SPLITS_UNAUTH("*11\r\n$99999999999\r\n",
                        "ERROR Protocol error: unauthenticated multibulk length\n");
    CHECK_SPLITS_UNAUTH("*1\r\n$16384\r\n", "AGAIN\n");
    CHECK_SPLITS_UNAUTH("*1\r\n$16385\r\n", "ERROR Protocol error: unauthenticated bulk length\n");
    CHECK_SPLITS_UNAUTH("*1\r\n$99999999999\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS_UNAUTH("*1\r\n$-1\r\n", "ERROR Protocol error: invalid bulk length\n");
    CHECK_SPLITS_UNAUTH("*-1\r\n*0\r\nAUTH x\r\n", "2[4:AUTH,1:x,]\nAGAIN\n");

    /* The flag is read when each header is parsed: once the owner sets it
     * (after AUTH), the next command may be large. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    CHECK_EQ_INT(p.authenticated, 0);
    static const char in[] = "AUTH pw\r\n*11\r\n";
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, in, sizeof(in) - 1, &used), RESP_DONE);
    resp_reset(&p);
    p.authenticated = 1;
    CHECK_EQ_INT(resp_parse(&p, in + used, sizeof(in) - 1 - used, &used), RESP_AGAIN);
    resp_reset(&p);
}

/* Repeats c n times after prefix (and before suffix) into a new buffer. */
static char *fill(const char *prefix, size_t plen, char c, size_t n, const char *suffix,
                  size_t slen, size_t *len)
{
    char *s = malloc(plen + n + slen + 1);
    memcpy(s, prefix, plen);
    memset(s + plen, c, n);
    memcpy(s + plen + n, suffix, slen);
    *len = plen + n + slen;
    return s;
}

/* Feeds in whole and in 4 KiB chunks; both must end as expect says. */
static void check_big(const char *in, size_t len, const char *expect, int line)
{
    struct feed_opts o = {.authenticated = 1, .max_bulk = MAX_BULK, .how = WHOLE};
    char *t = feed_opts(in, len, &o);
    if (!unit_check(strncmp(t, expect, strlen(expect)) == 0))
        printf("  line %d: whole: got %.200s, expected %s\n", line, t, expect);
    free(t);
    o.how = RANDOM;
    o.max_random = 8192;
    t = feed_opts(in, len, &o);
    if (!unit_check(strncmp(t, expect, strlen(expect)) == 0))
        printf("  line %d: chunks: got %.200s, expected %s\n", line, t, expect);
    free(t);
}

TEST(too_big_lines)
{
    size_t len;
    char *s;
    /* Inline: more than 64 KiB buffered without '\n' is an error; exactly
     * 64 KiB still waits. */
    s = fill("", 0, 'a', RESP_INLINE_MAX, "", 0, &len);
    check_big(s, len, "AGAIN\nLEFT 65536\n", __LINE__);
    free(s);
    s = fill("", 0, 'a', RESP_INLINE_MAX + 1, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big inline request\n", __LINE__);
    free(s);
    s = fill("", 0, 'a', RESP_INLINE_MAX - 1, "\ra", 2, &len);
    check_big(s, len, "ERROR Protocol error: too big inline request\n", __LINE__);
    free(s);
    /* A line longer than 64 KiB is fine when its '\n' is already there. */
    s = fill("", 0, 'a', 70000, "\n", 1, &len);
    {
        struct feed_opts o = {.authenticated = 1, .max_bulk = MAX_BULK, .how = WHOLE};
        char *t = feed_opts(s, len, &o);
        CHECK(strncmp(t, "1[70000:aaa", 11) == 0);
        free(t);
    }
    free(s);
    /* A NUL hides the '\n' after it. */
    s = fill("PING\0\r\n", 7, 'a', RESP_INLINE_MAX - 7, "1", 1, &len);
    check_big(s, len, "ERROR Protocol error: too big inline request\n", __LINE__);
    free(s);

    /* '*' header. */
    s = fill("*", 1, '1', RESP_INLINE_MAX - 1, "", 0, &len);
    check_big(s, len, "AGAIN\nLEFT 65536\n", __LINE__);
    free(s);
    s = fill("*", 1, '1', RESP_INLINE_MAX, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big mbulk count string\n", __LINE__);
    free(s);
    /* A '\r' as the last byte: the line may be complete, no limit applies. */
    s = fill("*", 1, '1', RESP_INLINE_MAX - 1, "\r", 1, &len);
    check_big(s, len, "AGAIN\nLEFT 65537\n", __LINE__);
    free(s);
    s = fill("*", 1, '1', RESP_INLINE_MAX - 1, "\r\n", 2, &len);
    check_big(s, len, "ERROR Protocol error: invalid multibulk length\n", __LINE__);
    free(s);
    s = fill("*1\0\r\n", 5, 'a', RESP_INLINE_MAX - 4, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big mbulk count string\n", __LINE__);
    free(s);

    /* '$' header: counted from the start of its line. */
    s = fill("*1\r\n$", 5, '1', RESP_INLINE_MAX - 1, "", 0, &len);
    check_big(s, len, "AGAIN\nLEFT 65536\n", __LINE__);
    free(s);
    s = fill("*1\r\n$", 5, '1', RESP_INLINE_MAX, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big bulk count string\n", __LINE__);
    free(s);
    s = fill("*1\r\n$1\0\r\n", 9, 'a', RESP_INLINE_MAX - 4, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big bulk count string\n", __LINE__);
    free(s);
    s = fill("*1\r\nx", 5, 'x', RESP_INLINE_MAX - 1, "", 0, &len);
    check_big(s, len, "AGAIN\nLEFT 65536\n", __LINE__);
    free(s);
    s = fill("*1\r\nx", 5, 'x', RESP_INLINE_MAX, "", 0, &len);
    check_big(s, len, "ERROR Protocol error: too big bulk count string\n", __LINE__);
    free(s);
}

TEST(inline_incremental_scan)
{
    /* A long inline line fed byte by byte is scanned once: the parser
     * remembers how far it looked. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    char line[5000];
    memset(line, 'x', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    size_t used;
    for (size_t n = 1; n < sizeof(line); n++) {
        CHECK_EQ_INT(resp_parse(&p, line, n, &used), RESP_AGAIN);
        CHECK_EQ_INT(used, 0);
        CHECK_EQ_INT(p.inline_no_newline, n);
    }
    CHECK_EQ_INT(resp_parse(&p, line, sizeof(line), &used), RESP_DONE);
    CHECK_EQ_INT(used, sizeof(line));
    CHECK_EQ_INT(p.argc, 1);
    CHECK_EQ_INT(str_len(p.argv[0]), sizeof(line) - 1);
    CHECK_EQ_INT(p.inline_no_newline, 0);
    resp_reset(&p);
}

TEST(inline_commands)
{
    CHECK_SPLITS("PING\r\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("PING\n", "1[4:PING,]\nAGAIN\n");
    CHECK_SPLITS("ECHO \"\"\r\n", "2[4:ECHO,0:,]\nAGAIN\n");
    CHECK_SPLITS("ECHO \"a\\x41\\n\"\r\n", "2[4:ECHO,3:aA\n,]\nAGAIN\n");
    CHECK_SPLITS("ECHO 'it\\'s'\r\n", "2[4:ECHO,4:it's,]\nAGAIN\n");
    CHECK_SPLITS("ECHO 'it''s'\r\n", "ERROR Protocol error: unbalanced quotes in request\n");
    CHECK_SPLITS("ECHO \"abc\r\n", "ERROR Protocol error: unbalanced quotes in request\n");
    CHECK_SPLITS("ECHO \"a\"b\r\n", "ERROR Protocol error: unbalanced quotes in request\n");
    CHECK_SPLITS("ECHO a\"b c\"\r\n", "2[4:ECHO,4:ab c,]\nAGAIN\n");
    CHECK_SPLITS("ECHO\tx\r\n", "2[4:ECHO,1:x,]\nAGAIN\n");
    CHECK_SPLITS("ECHO a\vb\r\n", "2[4:ECHO,3:a\vb,]\nAGAIN\n");
    CHECK_SPLITS("SET k v\nGET k\r\nPING", "3[3:SET,1:k,1:v,]\n2[3:GET,1:k,]\nAGAIN\nLEFT 4\n");
    /* A NUL hides the line's '\n'. */
    CHECK_SPLITS("PING\0\r\nPING\r\n", "AGAIN\nLEFT 13\n");
    /* Inline and multibulk mix freely in one pipeline. */
    CHECK_SPLITS("PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n",
                 "1[4:PING,]\n1[4:PING,]\n1[4:PING,]\nAGAIN\n");
    /* '*' decides only at the start of a command. */
    CHECK_SPLITS("ECHO *1\r\n", "2[4:ECHO,2:*1,]\nAGAIN\n");
}

/* resp_split_args against one expected list ("\x1f"-separated, NULL when
 * the quotes are unbalanced). */
static void check_split(const char *line, size_t len, const char *const *expect, int n, int ln)
{
    int argc = -1;
    str *argv = resp_split_args(line, len, &argc);
    if (n < 0) {
        if (!unit_check(argv == NULL)) {
            printf("  line %d: expected unbalanced quotes, got %d args\n", ln, argc);
            resp_free_args(argv, argc);
        }
        return;
    }
    if (!unit_check(argv && argc == n)) {
        printf("  line %d: expected %d args, got %d (%p)\n", ln, n, argc, (void *)argv);
        resp_free_args(argv, argc);
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t el = strlen(expect[i]);
        /* "\x01" in an expectation stands for a NUL byte. */
        char tmp[64];
        for (size_t k = 0; k < el; k++)
            tmp[k] = expect[i][k] == '\x01' ? '\0' : expect[i][k];
        if (!unit_check(str_len(argv[i]) == el && memcmp(argv[i], tmp, el) == 0))
            printf("  line %d: arg %d is \"%s\", expected \"%s\"\n", ln, i, argv[i], expect[i]);
    }
    resp_free_args(argv, argc);
}

#define SPLIT(line, ...)                                                                           \
    do {                                                                                           \
        static const char *const _e[] = {__VA_ARGS__};                                             \
        check_split(line, sizeof(line) - 1, _e, (int)(sizeof(_e) / sizeof(_e[0])), __LINE__);      \
    } while (0)
#define SPLIT_NONE(line) check_split(line, sizeof(line) - 1, NULL, 0, __LINE__)
#define SPLIT_ERR(line)  check_split(line, sizeof(line) - 1, NULL, -1, __LINE__)

TEST(split_args)
{
    SPLIT_NONE("");
    SPLIT_NONE("   \t\r\n\v\f ");
    SPLIT("a", "a");
    SPLIT("  set  key   value  ", "set", "key", "value");
    SPLIT("a\tb\rc\nd", "a", "b", "c", "d");
    /* \v and \f separate arguments only between them, not inside a token. */
    SPLIT("\f\va\vb\f", "a\vb\f");
    SPLIT("\"\"", "");
    SPLIT("''", "");
    SPLIT("'' x", "", "x");
    SPLIT("\"a b\" c", "a b", "c");
    SPLIT("\"\\x41\\x4a\\x4A\"", "AJJ");
    SPLIT("\"\\x00\"", "\x01");
    SPLIT("\"\\xff\"", "\xff");
    SPLIT("\"\\x4\"", "x4");
    SPLIT("\"\\xaF\\xFa\\x0g\"", "\xaf\xfax0g");
    SPLIT("x\"\" y", "x", "y");
    SPLIT("\"\\x4g\"", "x4g");
    SPLIT("\"\\X41\"", "X41");
    SPLIT("\"\\xZZ\\q\"", "xZZq");
    SPLIT("\"\\n\\r\\t\\b\\a\\\\\\\"\"", "\n\r\t\b\a\\\"");
    SPLIT("'a\\nb'", "a\\nb");
    SPLIT("'it\\'s'", "it's");
    SPLIT_ERR("'a\\\\'");
    SPLIT("'a\\\\ '", "a\\\\ ");
    SPLIT("a\\x41", "a\\x41");
    SPLIT("a\"b c\"", "ab c");
    SPLIT("\"a\"\v", "a");
    SPLIT("\"a\"\f", "a");
    SPLIT("'a'\tb", "a", "b");
    SPLIT_ERR("'a'\"b\"");
    SPLIT_ERR("\"a\"b");
    SPLIT_ERR("'it''s'");
    SPLIT_ERR("\"\"\"\"");
    SPLIT_ERR("\"abc");
    SPLIT_ERR("'abc");
    SPLIT_ERR("\"abc\\");
    SPLIT_ERR("\"abc\\\"");
    SPLIT_ERR("\"\\x4");
    SPLIT_ERR("a'b c'd e");
    /* The line ends at its first NUL, as the C string Redis splits. */
    SPLIT("a\0b", "a");
    SPLIT_ERR("\"a\0\"");
}

TEST(pipeline_one_done_per_call)
{
    struct buf in = {0};
    int n = 10000;
    for (int i = 0; i < n; i++) {
        char cmd[96];
        if (i % 3 == 0)
            snprintf(cmd, sizeof(cmd), "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$1\r\nv\r\n",
                     4 + snprintf(NULL, 0, "%d", i), i);
        else if (i % 3 == 1)
            snprintf(cmd, sizeof(cmd), "GET key:%d\r\n", i);
        else
            snprintf(cmd, sizeof(cmd), "*0\r\n*1\r\n$4\r\nPING\r\n");
        buf_adds(&in, cmd);
    }
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    p.authenticated = 1;
    size_t off = 0;
    int count = 0, bad = 0;
    for (;;) {
        size_t used;
        int st = resp_parse(&p, in.p + off, in.len - off, &used);
        off += used;
        if (st != RESP_DONE) {
            CHECK_EQ_INT(st, RESP_AGAIN);
            break;
        }
        int i = count++;
        if (i % 3 == 0) {
            char key[32];
            snprintf(key, sizeof(key), "key:%d", i);
            bad += p.argc != 3 || !str_eq(p.argv[1], key, strlen(key));
        } else if (i % 3 == 1) {
            bad += p.argc != 2 || !str_eqi(p.argv[0], "get");
        } else {
            bad += p.argc != 1 || !str_eqi(p.argv[0], "ping");
        }
        resp_reset(&p);
    }
    CHECK_EQ_INT(count, n);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(off, in.len);
    resp_reset(&p);

    /* The same pipeline in random chunks gives the same commands. */
    struct feed_opts o = {.authenticated = 1, .max_bulk = MAX_BULK, .how = WHOLE};
    char *whole = feed_opts(in.p, in.len, &o);
    o.how = RANDOM;
    o.max_random = 97;
    char *chunks = feed_opts(in.p, in.len, &o);
    CHECK(strcmp(whole, chunks) == 0);
    free(whole);
    free(chunks);
    free(in.p);
}

TEST(all_splits_mixed_pipeline)
{
    static const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$5\r\n\0\1\2\3\4\r\n"
                             "*0\r\n*-1\r\n"
                             "ECHO \"x\\x00y\" 'q' \r\n"
                             "\r\n"
                             "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
                             "*1\r\n$4\r\nPINGxy"
                             "  GET   k\n"
                             "*1\r\n$3\r\n$3\r\n\r\n";
    CHECK_SPLITS(in, "3[3:SET,3:k\r\n,5:\0\1\2\3\4,]\n"
                     "3[4:ECHO,3:x\0y,1:q,]\n"
                     "2[4:ECHO,0:,]\n"
                     "1[4:PING,]\n"
                     "2[3:GET,1:k,]\n"
                     "1[3:$3\r,]\n"
                     "AGAIN\n");
    /* The transcript compares with embedded NULs through strcmp: make sure
     * the NUL bytes were really compared, with a direct check. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, in, sizeof(in) - 1, &used), RESP_DONE);
    CHECK_EQ_MEM(p.argv[2], str_len(p.argv[2]), "\0\1\2\3\4", 5);
    CHECK_EQ_INT(resp_parse(&p, in + used, sizeof(in) - 1 - used, &used), RESP_DONE);
    CHECK_EQ_MEM(p.argv[1], str_len(p.argv[1]), "x\0y", 3);
    resp_reset(&p);
}

TEST(large_bulk_incremental)
{
    /* A huge announced bulk allocates little until its bytes come. */
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    p.authenticated = 1;
    static const char hdr[] = "*2\r\n$3\r\nSET\r\n$536870912\r\nabc";
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, hdr, sizeof(hdr) - 1, &used), RESP_AGAIN);
    CHECK_EQ_INT(used, sizeof(hdr) - 1);
    CHECK(p.bulk != NULL && str_len(p.bulk) <= (4u << 20));
    CHECK_EQ_INT(resp_pending_bytes(&p), 3 + 3);
    resp_reset(&p);
    CHECK_EQ_INT(resp_pending_bytes(&p), 0);

    /* A 5 MB bulk in 1000-byte reads: every byte lands once, in order. */
    size_t blen = 5u << 20;
    char *data = malloc(blen);
    for (size_t i = 0; i < blen; i++)
        data[i] = (char)(i * 2654435761u >> 13);
    struct buf in = {0};
    char h[64];
    snprintf(h, sizeof(h), "*2\r\n$3\r\nSET\r\n$%zu\r\n", blen);
    buf_adds(&in, h);
    buf_add(&in, data, blen);
    buf_adds(&in, "\r\n*1\r\n$4\r\nPING\r\n");
    size_t off = 0, end = 0;
    int st = RESP_AGAIN;
    while (st == RESP_AGAIN && end < in.len) {
        end = end + 1000 < in.len ? end + 1000 : in.len;
        st = resp_parse(&p, in.p + off, end - off, &used);
        off += used;
        /* Everything but an incomplete header is consumed at once. */
        CHECK(st != RESP_AGAIN || end - off < 64);
    }
    CHECK_EQ_INT(st, RESP_DONE);
    CHECK_EQ_INT(p.argc, 2);
    CHECK_EQ_MEM(p.argv[1], str_len(p.argv[1]), data, blen);
    resp_reset(&p);
    CHECK_EQ_INT(resp_parse(&p, in.p + off, in.len - off, &used), RESP_DONE);
    CHECK_EQ_INT(p.argc, 1);
    resp_reset(&p);
    free(in.p);
    free(data);
}

TEST(many_arguments)
{
    /* argv grows past its initial 1024 slots, up to the announced count. */
    struct buf in = {0};
    int n = 5000;
    char h[32];
    snprintf(h, sizeof(h), "*%d\r\n", n);
    buf_adds(&in, h);
    for (int i = 0; i < n; i++) {
        char a[48];
        snprintf(a, sizeof(a), "$%d\r\n%d\r\n", snprintf(NULL, 0, "%d", i), i);
        buf_adds(&in, a);
    }
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    p.authenticated = 1;
    size_t off = 0, used;
    int st = RESP_AGAIN;
    /* In pieces of 100 bytes, so argv grows between calls too. */
    while (st == RESP_AGAIN && off < in.len) {
        size_t end = off + 100 < in.len ? off + 100 : in.len;
        st = resp_parse(&p, in.p + off, end - off, &used);
        off += used;
        CHECK(p.argv_cap <= n);
    }
    CHECK_EQ_INT(st, RESP_DONE);
    CHECK_EQ_INT(p.argc, n);
    CHECK_EQ_INT(p.argv_cap, n);
    int bad = 0;
    for (int i = 0; i < n && i < p.argc; i++) {
        char a[16];
        snprintf(a, sizeof(a), "%d", i);
        bad += !str_eq(p.argv[i], a, strlen(a));
    }
    CHECK_EQ_INT(bad, 0);
    resp_reset(&p);
    free(in.p);
}

TEST(take_argv_and_leftovers)
{
    struct resp_parser p;
    resp_init(&p, MAX_BULK);
    p.authenticated = 1;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
    size_t used, off = 0;
    CHECK_EQ_INT(resp_parse(&p, in, sizeof(in) - 1, &used), RESP_DONE);
    off += used;
    int argc;
    str *argv = resp_take_argv(&p, &argc);
    CHECK_EQ_INT(argc, 2);
    CHECK(p.argv == NULL && p.argc == 0);
    CHECK(str_eq(argv[1], "hi", 2));
    resp_free_args(argv, argc);
    /* Not resetting after RESP_DONE: the next call drops the old command. */
    CHECK_EQ_INT(resp_parse(&p, in + off, sizeof(in) - 1 - off, &used), RESP_DONE);
    off += used;
    CHECK_EQ_INT(resp_parse(&p, in + off, sizeof(in) - 1 - off, &used), RESP_DONE);
    off += used;
    CHECK_EQ_INT(p.argc, 1);
    CHECK_EQ_INT(off, sizeof(in) - 1);
    /* A partial command is freed by reset (sanitizers check the leak). */
    static const char part[] = "*3\r\n$1\r\na\r\n$5\r\nab";
    CHECK_EQ_INT(resp_parse(&p, part, sizeof(part) - 1, &used), RESP_AGAIN);
    CHECK_EQ_INT(used, sizeof(part) - 1);
    CHECK_EQ_INT(resp_pending_bytes(&p), 3);
    resp_reset(&p);
    CHECK(p.argv == NULL && p.bulk == NULL && p.reqtype == 0);
    CHECK_EQ_INT(resp_parse(&p, "PING\r\n", 6, &used), RESP_DONE);
    resp_reset(&p);
}

int main(void)
{
    RUN(multibulk_basic);
    RUN(multibulk_binary);
    RUN(multibulk_skipped);
    RUN(unchecked_terminators);
    RUN(multibulk_count_errors);
    RUN(bulk_errors);
    RUN(expected_dollar);
    RUN(unauthenticated);
    RUN(too_big_lines);
    RUN(inline_incremental_scan);
    RUN(inline_commands);
    RUN(split_args);
    RUN(pipeline_one_done_per_call);
    RUN(all_splits_mixed_pipeline);
    RUN(large_bulk_incremental);
    RUN(many_arguments);
    RUN(take_argv_and_leftovers);
    return unit_report("test_resp");
}
