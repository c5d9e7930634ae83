/*
 * test_docs.c: COMMAND DOCS "arguments" (cmd/docs.c): the trees parsed
 * from commands.def's syntax strings, the parser's notation rules and
 * errors, and the reply bytes.
 *
 * Expected trees and reply bytes were taken from redis-server 7.0.15
 * (COMMAND DOCS, "since" and "summary" left out). A tree is compared in a
 * compact rendering: name:type, then #key_spec_index, =token, ? optional,
 * * multiple, {members}; siblings are separated by ", ".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/command.h"
#include "cmd/docs.h"
#include "net/reply.h"
#include "net/net.h"
#include "unit.h"

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void render(struct buf *b, const struct docs_arg *args, int nargs)
{
    for (int i = 0; i < nargs; i++) {
        const struct docs_arg *a = &args[i];
        if (i)
            buf_adds(b, ", ");
        buf_adds(b, a->name);
        buf_adds(b, ":");
        buf_adds(b, a->type);
        if (a->key_spec_index >= 0) {
            char tmp[16];
            snprintf(tmp, sizeof(tmp), "#%d", a->key_spec_index);
            buf_adds(b, tmp);
        }
        if (a->token) {
            buf_adds(b, "=");
            buf_adds(b, a->token);
        }
        if (a->flags & DOCS_ARG_OPTIONAL)
            buf_adds(b, "?");
        if (a->flags & DOCS_ARG_MULTIPLE)
            buf_adds(b, "*");
        if (a->flags & DOCS_ARG_MULTIPLE_TOKEN)
            buf_adds(b, "+");
        if (a->nargs) {
            buf_adds(b, "{");
            render(b, a->args, a->nargs);
            buf_adds(b, "}");
        }
    }
}

static const struct command *find(const char *name)
{
    for (int i = 0; i < command_count_all(); i++)
        if (strcmp(command_at(i)->name, name) == 0)
            return command_at(i);
    return NULL;
}

/* The rendered tree of a command in the table (the cached one). */
static char *tree_of(const char *name)
{
    const struct command *cmd = find(name);
    struct buf b = {0};
    buf_adds(&b, "");
    if (!cmd)
        return b.p;
    int n;
    const struct docs_arg *args = docs_arguments(cmd, &n);
    render(&b, args, n);
    return b.p;
}

/* The rendered tree of a syntax string parsed as cmdname's, or "ERROR". */
static char *parse_of(const char *cmdname, const char *syntax)
{
    struct docs_arg *args;
    int n;
    struct buf b = {0};
    buf_adds(&b, "");
    if (docs_parse(cmdname, syntax, &args, &n) < 0) {
        buf_adds(&b, "ERROR");
        return b.p;
    }
    render(&b, args, n);
    docs_free(args, n);
    return b.p;
}

#define CHECK_TREE(cmdname, expected)                                                              \
    do {                                                                                           \
        char *_t = tree_of(cmdname);                                                               \
        CHECK_EQ_STR(_t, expected);                                                                \
        free(_t);                                                                                  \
    } while (0)

#define CHECK_PARSE(cmdname, syntax, expected)                                                     \
    do {                                                                                           \
        char *_t = parse_of(cmdname, syntax);                                                      \
        CHECK_EQ_STR(_t, expected);                                                                \
        free(_t);                                                                                  \
    } while (0)

TEST(redis_trees)
{
    CHECK_TREE("set", "key:key#0, value:string, condition:oneof?{nx:pure-token=NX, "
                      "xx:pure-token=XX}, get:pure-token=GET?, expiration:oneof?{"
                      "seconds:integer=EX, milliseconds:integer=PX, "
                      "unix-time-seconds:unix-time=EXAT, unix-time-milliseconds:unix-time=PXAT, "
                      "keepttl:pure-token=KEEPTTL}");
    CHECK_TREE("getex", "key:key#0, expiration:oneof?{seconds:integer=EX, "
                        "milliseconds:integer=PX, unix-time-seconds:unix-time=EXAT, "
                        "unix-time-milliseconds:unix-time=PXAT, persist:pure-token=PERSIST}");
    CHECK_TREE("expire", "key:key#0, seconds:integer, condition:oneof?{nx:pure-token=NX, "
                         "xx:pure-token=XX, gt:pure-token=GT, lt:pure-token=LT}");
    CHECK_TREE("pexpireat", "key:key#0, unix-time-milliseconds:unix-time, condition:oneof?{"
                            "nx:pure-token=NX, xx:pure-token=XX, gt:pure-token=GT, "
                            "lt:pure-token=LT}");
    CHECK_TREE("scan", "cursor:integer, pattern:pattern=MATCH?, count:integer=COUNT?, "
                       "type:string=TYPE?");
    CHECK_TREE("mset", "key_value:block*{key:key#0, value:string}");
    CHECK_TREE("mget", "key:key#0*");
    CHECK_TREE("client|kill",
               "filter:oneof{ip:port:string, new-format:oneof*{client-id:integer=ID?, "
               "normal_master_slave_pubsub:oneof=TYPE?{normal:pure-token=NORMAL, "
               "master:pure-token=MASTER, slave:pure-token=SLAVE, replica:pure-token=REPLICA, "
               "pubsub:pure-token=PUBSUB}, username:string=USER?, ip:port:string=ADDR?, "
               "ip:port:string=LADDR?, yes/no:string=SKIPME?}}");
    CHECK_TREE("client|list", "normal_master_replica_pubsub:oneof=TYPE?{"
                              "normal:pure-token=NORMAL, master:pure-token=MASTER, "
                              "replica:pure-token=REPLICA, pubsub:pure-token=PUBSUB}, "
                              "id:block=ID?{client-id:integer*}");
    CHECK_TREE("lcs", "key1:key#0, key2:key#0, len:pure-token=LEN?, idx:pure-token=IDX?, "
                      "len:integer=MINMATCHLEN?, withmatchlen:pure-token=WITHMATCHLEN?");
    CHECK_TREE("info", "section:string?*");
    CHECK_TREE("hello", "arguments:block?{protover:integer, username_password:block=AUTH?{"
                        "username:string, password:string}, clientname:string=SETNAME?}");
    CHECK_TREE("command|list", "filterby:oneof=FILTERBY?{module-name:string=MODULE, "
                               "category:string=ACLCAT, pattern:pattern=PATTERN}");
    CHECK_TREE("shutdown", "nosave_save:oneof?{nosave:pure-token=NOSAVE, save:pure-token=SAVE}, "
                           "now:pure-token=NOW?, force:pure-token=FORCE?, "
                           "abort:pure-token=ABORT?");
    CHECK_TREE("flushall", "async:oneof?{async:pure-token=ASYNC, sync:pure-token=SYNC}");
    CHECK_TREE("client|no-evict", "enabled:oneof{on:pure-token=ON, off:pure-token=OFF}");
    CHECK_TREE("copy", "source:key#0, destination:key#1, destination-db:integer=DB?, "
                       "replace:pure-token=REPLACE?");
    CHECK_TREE("incrbyfloat", "key:key#0, increment:double");
    CHECK_TREE("incrby", "key:key#0, increment:integer");
    CHECK_TREE("auth", "username:string?, password:string");
    CHECK_TREE("config|set", "parameter_value:block*{parameter:string, value:string}");
    CHECK_TREE("swapdb", "index1:integer, index2:integer");
    /* sorted sets: names and types as Redis gives them */
    CHECK_TREE("zmpop", "numkeys:integer, key:key#0*, where:oneof{min:pure-token=MIN, "
                        "max:pure-token=MAX}, count:integer=COUNT?");
    CHECK_TREE("zadd", "key:key#0, condition:oneof?{nx:pure-token=NX, xx:pure-token=XX}, "
                       "comparison:oneof?{gt:pure-token=GT, lt:pure-token=LT}, "
                       "change:pure-token=CH?, increment:pure-token=INCR?, "
                       "score_member:block*{score:double, member:string}");
    CHECK_TREE("zunionstore", "destination:key#0, numkeys:integer, key:key#1*, "
                              "weight:integer=WEIGHTS?*, aggregate:oneof=AGGREGATE?{"
                              "sum:pure-token=SUM, min:pure-token=MIN, max:pure-token=MAX}");
    CHECK_TREE("bitop", "operation:string, destkey:key#0, key:key#1*");
    CHECK_TREE("pfmerge", "destkey:key#0, sourcekey:key#1*");
    CHECK_TREE("bitpos", "key:key#0, bit:integer, index:block?{start:integer, "
                         "end_index:block?{end:integer, index_unit:oneof?{byte:pure-token=BYTE, "
                         "bit:pure-token=BIT}}}");
    CHECK_TREE("sort", "key:key#0, pattern:pattern#1=BY?, offset_count:block=LIMIT?{"
                       "offset:integer, count:integer}, pattern:pattern#1=GET?*+, "
                       "order:oneof?{asc:pure-token=ASC, desc:pure-token=DESC}, "
                       "sorting:pure-token=ALPHA?, destination:key#2=STORE?");
    CHECK_TREE("sort_ro", "key:key#0, pattern:pattern#1=BY?, offset_count:block=LIMIT?{"
                          "offset:integer, count:integer}, pattern:pattern#1=GET?*+, "
                          "order:oneof?{asc:pure-token=ASC, desc:pure-token=DESC}, "
                          "sorting:pure-token=ALPHA?");
}

static int valid_type(const char *t)
{
    static const char *const types[] = {"string",    "integer",    "double", "key",  "pattern",
                                        "unix-time", "pure-token", "oneof",  "block"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i]) == 0)
            return 1;
    return 0;
}

/* Every node is well formed; returns the number of bad ones. */
static int count_bad(const struct docs_arg *args, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const struct docs_arg *a = &args[i];
        int group = !strcmp(a->type, "oneof") || !strcmp(a->type, "block");
        int is_key = !strcmp(a->type, "key");
        if (!a->name[0] || !valid_type(a->type) || group != (a->nargs > 0) ||
            (strcmp(a->type, "pattern") && is_key != (a->key_spec_index >= 0)) ||
            (!strcmp(a->type, "pure-token") && !a->token)) {
            printf("  bad argument '%s' (%s)\n", a->name, a->type);
            bad++;
        }
        bad += count_bad(a->args, a->nargs);
    }
    return bad;
}

TEST(every_command_parses)
{
    for (int i = 0; i < command_count_all(); i++) {
        const struct command *cmd = command_at(i);
        struct docs_arg *args;
        int n;
        int has_syntax = cmd->syntax && cmd->syntax[0];
        int rc = docs_parse(cmd->name, cmd->syntax ? cmd->syntax : "", &args, &n);
        if (rc < 0)
            printf("  cannot parse '%s': %s\n", cmd->name, cmd->syntax);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(n > 0, has_syntax);
        CHECK_EQ_INT(count_bad(args, n), 0);
        CHECK_EQ_INT(docs_has_arguments(cmd), has_syntax);
        docs_free(args, n);
    }
}

TEST(cached_once)
{
    const struct command *set = find("set");
    int n1, n2;
    const struct docs_arg *a = docs_arguments(set, &n1);
    const struct docs_arg *b = docs_arguments(set, &n2);
    CHECK(a != NULL);
    CHECK(a == b);
    CHECK_EQ_INT(n1, 5);
    CHECK_EQ_INT(n2, 5);
    CHECK(!docs_has_arguments(find("dbsize")));
}

TEST(notation)
{
    CHECK_PARSE("x", "", "");
    CHECK_PARSE("x", "a [b [c]]", "a:string, b_c:block?{b:string, c:string?}");
    CHECK_PARSE("x", "ON|OFF", "on_off:oneof{on:pure-token=ON, off:pure-token=OFF}");
    CHECK_PARSE("x", "[yes|no]", "yes/no:string?");
    CHECK_PARSE("x", "[MODE yes|no|maybe]", "yes/no/maybe:string=MODE?");
    CHECK_PARSE("x", "[KIND A|B]", "a_b:oneof=KIND?{a:pure-token=A, b:pure-token=B}");
    /* EX takes seconds; KEEPTTL alone has a different shape, so no shared token */
    CHECK_PARSE("x", "[EX seconds|KEEPTTL]",
                "seconds_keepttl:oneof?{seconds:integer=EX, keepttl:pure-token=KEEPTTL}");
    CHECK_PARSE("x", "a <B | C> d",
                "a:string, b_c:oneof{b:pure-token=B, c:pure-token=C}, d:string");
    CHECK_PARSE("x", "a <b", "ERROR");
    CHECK_PARSE("x", "[a>", "ERROR");
    CHECK_PARSE("x", "a | b c", "a_b_c:oneof{a:string, b_c:block{b:string, c:string}}");
    CHECK_PARSE("x", "numkeys key [key ...] [WEIGHTS weight [weight ...]]",
                "numkeys:integer, key:key#0*, weight:string=WEIGHTS?*");
    CHECK_PARSE("x", "field value [field value ...]",
                "field_value:block*{field:string, value:string}");
    CHECK_PARSE("x", "[LIMIT offset count]",
                "offset_count:block=LIMIT?{offset:integer, count:integer}");
    CHECK_PARSE("x", "timeout start-index end2 unix-time-x destination newkey pattern",
                "timeout:integer, start-index:integer, end2:integer, unix-time-x:unix-time, "
                "destination:key#0, newkey:key#0, pattern:pattern");
    CHECK_PARSE("x", "member extended sender", "member:string, extended:string, sender:string");
    CHECK_PARSE("x", "[GET pattern [GET pattern ...]]", "pattern:pattern=GET?*+");
    CHECK_PARSE("x", "GET pattern [GET pattern ...]", "pattern:pattern=GET*+");
    CHECK_PARSE("x", "[GET pattern [SET pattern ...]]", "ERROR");
    CHECK_PARSE("x", "[GET a b [GET a b ...]]", "ERROR");
}

TEST(malformed)
{
    CHECK_PARSE("x", "[a", "ERROR");
    CHECK_PARSE("x", "a]", "ERROR");
    CHECK_PARSE("x", "[]", "ERROR");
    CHECK_PARSE("x", "a | ", "ERROR");
    CHECK_PARSE("x", "| a", "ERROR");
    CHECK_PARSE("x", "a [a||b]", "ERROR");
    CHECK_PARSE("x", "a ...", "ERROR");
    CHECK_PARSE("x", "a [b ...]", "ERROR");
    CHECK_PARSE("x", "[b ...]", "ERROR");
    CHECK_PARSE("x", "a b [b a ...]", "ERROR");
    CHECK_PARSE("x", "[GET pattern ...]", "ERROR");
}

/* Random strings in the notation's alphabet: a parse either fails cleanly
 * or gives a well-formed tree (under ASan: no bad access, no leak). */
TEST(random_syntax)
{
    static const char *const pieces[] = {"[",   "]", "|",  " ",       " ",      "...", "a",
                                         "key", "B", "EX", "seconds", "yes|no", " | ", "[a ...]"};
    uint64_t rng = 0x2545f4914f6cdd1dull;
    int parsed = 0;
    for (int round = 0; round < 20000; round++) {
        char syntax[256] = "";
        int npieces = 1 + round % 12;
        for (int i = 0; i < npieces; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            strcat(syntax, pieces[rng % (sizeof(pieces) / sizeof(pieces[0]))]);
        }
        struct docs_arg *args;
        int n;
        if (docs_parse("x", syntax, &args, &n) == 0) {
            parsed++;
            CHECK_EQ_INT(count_bad(args, n), 0);
            docs_free(args, n);
        }
    }
    CHECK(parsed > 1000);
}

/* The bytes a client gets; frees the client's reply blocks. */
static struct buf reply_bytes(client *c)
{
    struct buf b = {0};
    buf_adds(&b, "");
    for (struct reply_block *r = c->reply_head, *next; r; r = next) {
        next = r->next;
        buf_add(&b, r->buf, r->used);
        free(r);
    }
    c->reply_head = c->reply_tail = NULL;
    net.pending_writes = NULL;
    return b;
}

TEST(reply)
{
    client c;
    memset(&c, 0, sizeof(c));
    c.fd = 1000; /* never written: the bytes stay in c's blocks */

    c.resp = 3;
    docs_reply_arguments(&c, find("getex"));
    struct buf b = reply_bytes(&c);
    const char *getex3 =
        "*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index"
        "\r\n:0\r\n%4\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\n"
        "flags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$7\r\nseconds"
        "\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nEX\r\n%3\r\n$4\r\nname\r\n$12\r\n"
        "milliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nPX\r\n%3\r\n$4\r\n"
        "name\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4"
        "\r\nEXAT\r\n%3\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\n"
        "unix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n%3\r\n$4\r\nname\r\n$7\r\npersist\r\n$4\r\n"
        "type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nPERSIST\r\n";
    CHECK_EQ_MEM(b.p, b.len, getex3, strlen(getex3));
    free(b.p);

    c.resp = 2;
    docs_reply_arguments(&c, find("info"));
    b = reply_bytes(&c);
    const char *info2 = "*1\r\n*6\r\n$4\r\nname\r\n$7\r\nsection\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
                        "$5\r\nflags\r\n*2\r\n+optional\r\n+multiple\r\n";
    CHECK_EQ_MEM(b.p, b.len, info2, strlen(info2));
    free(b.p);
}

int main(void)
{
    command_table_init();
    RUN(redis_trees);
    RUN(every_command_parses);
    RUN(cached_once);
    RUN(notation);
    RUN(malformed);
    RUN(random_syntax);
    RUN(reply);
    return unit_report("test_docs");
}
