/*
 * docs.c: COMMAND DOCS "arguments", parsed from the commands.def syntax.
 *
 * The notation: [x] is optional; <x> groups without making optional
 * (LINSERT's "<BEFORE | AFTER>"); a|b (spaced or not) are alternatives, a
 * oneof; "x [x ...]" repeats x (multiple), "GET pattern [GET pattern ...]"
 * repeats it with its token (multiple_token); an ALL-CAPS word alone is a
 * pure-token; an ALL-CAPS word before lower-case words is their token
 * ("EX seconds", and "WEIGHTS weight [weight ...]" gives the repeated
 * weight the token), and before an alternation it is the token of the
 * whole oneof ("TYPE NORMAL|MASTER"); several words in one slot form a block;
 * "yes|no" (lower-case alternatives) is one string argument named "yes/no".
 * A oneof or block is named after its members joined by '_' (Redis's own
 * convention: key_value, nosave_save), and the table below gives the few
 * names and types Redis chose otherwise.
 *
 * Invariants: a tree is built once per command (lazily, in the main
 * thread) and never changes; a syntax that fails to parse gives a command
 * without "arguments" and a warning in the log (the unit test parses every
 * row, so this does not happen in a release).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/docs.h"
#include "ds/alloc.h"
#include "net/reply.h"
#include "ds/log.h"

/* Where Redis's name or type is not the one derived from the syntax. The
 * match is on the derived name, which for a oneof or block is its members'
 * final names joined by '_'. */
static const struct docs_override {
    const char *command; /* full name ("client|kill"), NULL for every command */
    const char *name;    /* the derived name */
    const char *new_name;
    const char *new_type;
    unsigned add_flags;
} overrides[] = {
    {NULL, "nx_xx", "condition", NULL, 0},
    {NULL, "nx_xx_gt_lt", "condition", NULL, 0},
    {NULL, "seconds_milliseconds_unix-time-seconds_unix-time-milliseconds_keepttl", "expiration",
     NULL, 0},
    {NULL, "seconds_milliseconds_unix-time-seconds_unix-time-milliseconds_persist", "expiration",
     NULL, 0},
    {NULL, "async_sync", "async", NULL, 0},
    {"hello", "protover_username_password_clientname", "arguments", NULL, 0},
    {"client|no-evict", "on_off", "enabled", NULL, 0},
    /* Redis's name predates REPLICA */
    {"client|kill", "normal_master_slave_replica_pubsub", "normal_master_slave_pubsub", NULL, 0},
    /* the filters of the new form may come in any order */
    {"client|kill", "client-id_normal_master_slave_pubsub_username_ip:port_ip:port_yes/no",
     "new-format", "oneof", DOCS_ARG_MULTIPLE},
    {"client|kill", "ip:port_new-format", "filter", NULL, 0},
    {"command|list", "module-name_category_pattern", "filterby", NULL, 0},
    {"lcs", "min-match-len", "len", NULL, 0},
    {"incrbyfloat", "increment", NULL, "double", 0},
    {"sort", "asc_desc", "order", NULL, 0},
    {"sort", "alpha", "sorting", NULL, 0},
    {"sort_ro", "asc_desc", "order", NULL, 0},
    {"sort_ro", "alpha", "sorting", NULL, 0},
    {"linsert", "before_after", "where", NULL, 0},
    {"lmpop", "left_right", "where", NULL, 0},
    {NULL, "gt_lt", "comparison", NULL, 0},
    {NULL, "byscore_bylex", "sortby", NULL, 0},
    {NULL, "sum_min_max", "aggregate", NULL, 0},
    {"zunion", "weight", NULL, "integer", 0},
    {"zinter", "weight", NULL, "integer", 0},
    {"zunionstore", "weight", NULL, "integer", 0},
    {"zinterstore", "weight", NULL, "integer", 0},
    {"zadd", "ch", "change", NULL, 0},
    {"zadd", "incr", "increment", NULL, 0},
    {"zadd", "score", NULL, "double", 0},
    {"zcount", "min", NULL, "double", 0},
    {"zcount", "max", NULL, "double", 0},
    {"zrangebyscore", "min", NULL, "double", 0},
    {"zrangebyscore", "max", NULL, "double", 0},
    {"zrevrangebyscore", "min", NULL, "double", 0},
    {"zrevrangebyscore", "max", NULL, "double", 0},
    {"zremrangebyscore", "min", NULL, "double", 0},
    {"zremrangebyscore", "max", NULL, "double", 0},
    {"zrange", "start", NULL, "string", 0},
    {"zrevrange", "stop", NULL, "integer", 0},
    {"zremrangebyrank", "stop", NULL, "integer", 0},
    {"zrangestore", "dst", NULL, "key", 0},
    {"zrangestore", "src", NULL, "key", 0},
    {"zrandmember", "count_withscores", "options", NULL, 0},
    {"zmpop", "min_max", "where", NULL, 0},
    {"zintercard", "limit", NULL, "integer", 0},
    {"setbit", "value", NULL, "integer", 0},
    {"bitpos", "bit", NULL, "integer", 0},
    {NULL, "byte_bit", "index_unit", NULL, 0},
    {"bitpos", "end_index_unit", "end_index", NULL, 0},
    {"bitpos", "start_end_index", "index", NULL, 0},
    {"bitcount", "start_end_index_unit", "index", NULL, 0},
    {"bitfield", "value", NULL, "integer", 0},
    {"bitfield", "encoding_offset_wrap_sat_fail_encoding_offset_value_encoding_offset_increment",
     "operation", NULL, DOCS_ARG_MULTIPLE},
    /* geo */
    {NULL, "m_km_ft_mi", "unit", NULL, 0},
    {NULL, "asc_desc", "order", NULL, 0},
    {NULL, "count_any", "count", NULL, 0},
    {NULL, "longitude", NULL, "double", 0},
    {NULL, "latitude", NULL, "double", 0},
    {NULL, "radius", NULL, "double", 0},
    {NULL, "width", NULL, "double", 0},
    {NULL, "height", NULL, "double", 0},
    {"geoadd", "ch", "change", NULL, 0},
    {NULL, "member_longitude_latitude", "from", NULL, 0},
    {NULL, "radius_unit", "circle", NULL, 0},
    {NULL, "width_height_unit", "box", NULL, 0},
    {NULL, "circle_box", "by", NULL, 0},
};

/* Keys of a command's second (or later) key spec: the others use spec 0.
 * SORT's patterns name keys too, through its BY/GET spec. */
static const struct {
    const char *command, *name;
    int index;
} key_spec_of[] = {
    {"bitop", "key", 1},          {"pfmerge", "sourcekey", 1},
    {"copy", "destination", 1},   {"rename", "newkey", 1},
    {"renamenx", "newkey", 1},    {"smove", "destination", 1},
    {"lmove", "destination", 1},  {"rpoplpush", "destination", 1},
    {"blmove", "destination", 1}, {"brpoplpush", "destination", 1},
    {"sinterstore", "key", 1},    {"sunionstore", "key", 1},
    {"sdiffstore", "key", 1},     {"zunionstore", "key", 1},
    {"zinterstore", "key", 1},    {"zdiffstore", "key", 1},
    {"zrangestore", "src", 1},    {"geosearchstore", "source", 1},
    {"sort", "pattern", 1},       {"sort", "destination", 2},
    {"sort_ro", "pattern", 1},
};

/* Where Redis puts a token's repeated operand in a block named after the
 * token (CLIENT LIST's "ID client-id [client-id ...]") rather than giving
 * the token to the repeated argument (ZUNION's "WEIGHTS weight [weight ...]"). */
static const struct {
    const char *command, *token;
} token_blocks[] = {
    {"client|list", "ID"},
};

/* Argument names that are keys, and words that make a name an integer
 * when they are the whole name or one of its '-'-separated parts (trailing
 * digits ignored: key1, index2). */
static const char *const key_names[] = {"key",    "source",  "destination",
                                        "newkey", "destkey", "sourcekey"};
static const char *const integer_words[] = {
    "seconds",   "milliseconds", "count", "index",   "offset",  "start", "end",
    "increment", "decrement",    "db",    "numkeys", "timeout", "len",   "cursor",
    "protover",  "client-id",    "stop",  "rank",    "matches",
};

static char *docs_lower(const char *s, size_t len)
{
    char *d = heap_strndup(s, len);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static void arg_clear(struct docs_arg *a)
{
    free(a->name);
    free(a->token);
    docs_free(a->args, a->nargs);
}

void docs_free(struct docs_arg *args, int nargs)
{
    for (int i = 0; i < nargs; i++)
        arg_clear(&args[i]);
    free(args);
}

/* A growing list of sibling arguments. */
struct arg_vec {
    struct docs_arg *v;
    int n, cap;
};

static void vec_push(struct arg_vec *vec, struct docs_arg a)
{
    if (vec->n == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 4;
        vec->v = heap_realloc(vec->v, (size_t)vec->cap * sizeof(*vec->v));
    }
    vec->v[vec->n++] = a;
}

static void vec_free(struct arg_vec *vec)
{
    docs_free(vec->v, vec->n);
    vec->v = NULL;
    vec->n = vec->cap = 0;
}

/* ---- naming and typing ---------------------------------------------------- */

static int name_is(const char *s, size_t len, const char *word)
{
    while (len > 0 && isdigit((unsigned char)s[len - 1]))
        len--;
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static const char *type_of_name(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
        if (name_is(name, len, key_names[i]))
            return "key";
    if (strncmp(name, "unix-time", 9) == 0)
        return "unix-time";
    if (strcmp(name, "pattern") == 0)
        return "pattern";
    for (size_t i = 0; i < sizeof(integer_words) / sizeof(integer_words[0]); i++) {
        if (name_is(name, len, integer_words[i]))
            return "integer";
        for (const char *p = name; *p;) {
            size_t plen = strcspn(p, "-");
            if (name_is(p, plen, integer_words[i]))
                return "integer";
            p += plen + (p[plen] == '-');
        }
    }
    return "string";
}

/* Applies the override table to a finished argument. */
static void arg_finish(const char *cmdname, struct docs_arg *a)
{
    for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
        const struct docs_override *o = &overrides[i];
        if ((o->command && strcmp(o->command, cmdname) != 0) || strcmp(o->name, a->name) != 0)
            continue;
        if (o->new_name) {
            free(a->name);
            a->name = heap_strndup(o->new_name, strlen(o->new_name));
        }
        if (o->new_type && strcmp(a->type, "pure-token") != 0)
            a->type = o->new_type;
        a->flags |= o->add_flags;
    }
    a->key_spec_index = strcmp(a->type, "key") == 0 ? 0 : -1;
    for (size_t i = 0; i < sizeof(key_spec_of) / sizeof(key_spec_of[0]); i++)
        if ((a->key_spec_index == 0 || !strcmp(a->type, "pattern")) &&
            !strcmp(key_spec_of[i].command, cmdname) && !strcmp(key_spec_of[i].name, a->name))
            a->key_spec_index = key_spec_of[i].index;
}

static struct docs_arg arg_plain(const char *cmdname, const char *name, size_t len)
{
    struct docs_arg a = {heap_strndup(name, len), NULL, NULL, 0, -1, NULL, 0};
    a.type = type_of_name(a.name);
    arg_finish(cmdname, &a);
    return a;
}

static int token_block(const char *cmdname, const char *token)
{
    for (size_t i = 0; i < sizeof(token_blocks) / sizeof(token_blocks[0]); i++)
        if (!strcmp(token_blocks[i].command, cmdname) && !strcmp(token_blocks[i].token, token))
            return 1;
    return 0;
}

/* A oneof or block owning members[0..n). Its name is the members' names
 * joined by '_', or the token's when that would only repeat its one member
 * (a token_blocks entry). */
static struct docs_arg arg_group(const char *cmdname, const char *type, struct docs_arg *members,
                                 int n, char *token)
{
    struct docs_arg a = {NULL, type, token, 0, -1, members, n};
    if (n == 1 && token) {
        a.name = docs_lower(token, strlen(token));
    } else {
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += strlen(members[i].name) + 1;
        a.name = heap_malloc(len + 1);
        a.name[0] = '\0';
        for (int i = 0; i < n; i++) {
            if (i)
                strcat(a.name, "_");
            strcat(a.name, members[i].name);
        }
    }
    arg_finish(cmdname, &a);
    return a;
}

/* ---- tokens --------------------------------------------------------------- */

enum tok_kind { T_WORD, T_CAPS, T_ELLIPSIS, T_OPEN, T_CLOSE, T_BAR };

struct tok {
    enum tok_kind kind;
    const char *p;
    size_t len;
    int match; /* T_OPEN: index of its T_CLOSE */
};

/* A T_OPEN of "<...>": a group that is not optional. */
#define TOK_IS_REQUIRED(ps, i) ((ps)->toks[i].p[0] == '<')

struct parser {
    const char *cmdname;
    struct tok *toks;
    int ntoks;
};

static enum tok_kind word_kind(const char *p, size_t len)
{
    if (len == 3 && memcmp(p, "...", 3) == 0)
        return T_ELLIPSIS;
    int upper = 0;
    for (size_t i = 0; i < len; i++) {
        if (islower((unsigned char)p[i]))
            return T_WORD;
        upper |= isupper((unsigned char)p[i]) != 0;
    }
    return upper ? T_CAPS : T_WORD;
}

/* Splits syntax into tokens and pairs the brackets. Returns 0 or -1. */
static int tokenize(struct parser *ps, const char *syntax)
{
    int cap = (int)strlen(syntax) + 1, depth = 0;
    int *stack = heap_malloc((size_t)cap * sizeof(int));
    ps->toks = heap_malloc((size_t)cap * sizeof(struct tok));
    ps->ntoks = 0;
    for (const char *p = syntax; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        struct tok *t = &ps->toks[ps->ntoks];
        t->p = p;
        t->len = 1;
        t->match = -1;
        if (*p == '[' || *p == '<') {
            t->kind = T_OPEN;
            stack[depth++] = ps->ntoks;
        } else if (*p == ']' || *p == '>') {
            t->kind = T_CLOSE;
            if (depth == 0 || ps->toks[stack[depth - 1]].p[0] != (*p == ']' ? '[' : '<'))
                goto fail;
            ps->toks[stack[--depth]].match = ps->ntoks;
        } else if (*p == '|') {
            t->kind = T_BAR;
        } else {
            t->len = strcspn(p, " []<>|");
            t->kind = word_kind(p, t->len);
        }
        p += t->len;
        ps->ntoks++;
    }
    free(stack);
    return depth == 0 ? 0 : -1;
fail:
    free(stack);
    return -1;
}

/* Index just past the item (a word or a bracketed group) starting at i. */
static int item_end(const struct parser *ps, int i)
{
    return ps->toks[i].kind == T_OPEN ? ps->toks[i].match + 1 : i + 1;
}

/* "[x y ...]": lower-case words then "...", nothing else. */
static int is_repetition(const struct parser *ps, int open)
{
    int close = ps->toks[open].match;
    if (TOK_IS_REQUIRED(ps, open) || close - open < 3 || ps->toks[close - 1].kind != T_ELLIPSIS)
        return 0;
    for (int i = open + 1; i < close - 1; i++)
        if (ps->toks[i].kind != T_WORD)
            return 0;
    return 1;
}

/* "[TOKEN x ...]": an ALL-CAPS word, lower-case words, then "...". */
static int is_token_repetition(const struct parser *ps, int open)
{
    int close = ps->toks[open].match;
    if (TOK_IS_REQUIRED(ps, open) || close - open < 4 || ps->toks[open + 1].kind != T_CAPS ||
        ps->toks[close - 1].kind != T_ELLIPSIS)
        return 0;
    for (int i = open + 2; i < close - 1; i++)
        if (ps->toks[i].kind != T_WORD)
            return 0;
    return 1;
}

static int parse_alternatives(struct parser *ps, int lo, int hi, struct arg_vec *out);

/* Makes the last k arguments of vec, which must be the plain words
 * toks[from..from+k), repeatable: one multiple argument, or a multiple block. */
static int mark_repeated(struct parser *ps, struct arg_vec *vec, int from, int k)
{
    if (vec->n < k)
        return -1;
    struct docs_arg *last = &vec->v[vec->n - k];
    for (int i = 0; i < k; i++) {
        const struct tok *t = &ps->toks[from + i];
        if (last[i].args || last[i].token || last[i].flags || strlen(last[i].name) != t->len ||
            memcmp(last[i].name, t->p, t->len) != 0)
            return -1;
    }
    if (k == 1) {
        last->flags |= DOCS_ARG_MULTIPLE;
        return 0;
    }
    struct docs_arg *members = heap_malloc((size_t)k * sizeof(*members));
    memcpy(members, last, (size_t)k * sizeof(*members));
    vec->n -= k;
    struct docs_arg block = arg_group(ps->cmdname, "block", members, k, NULL);
    block.flags |= DOCS_ARG_MULTIPLE;
    vec_push(vec, block);
    return 0;
}

/* A sequence of items with no top-level '|': appends its arguments to out. */
static int parse_sequence(struct parser *ps, int lo, int hi, struct arg_vec *out)
{
    for (int i = lo; i < hi;) {
        const struct tok *t = &ps->toks[i];
        int next = item_end(ps, i);
        if (t->kind == T_WORD) {
            vec_push(out, arg_plain(ps->cmdname, t->p, t->len));
        } else if (t->kind == T_CAPS) {
            /* the token's operand: the words (and their repetitions) after it */
            while (next < hi && (ps->toks[next].kind == T_WORD ||
                                 (ps->toks[next].kind == T_OPEN && is_repetition(ps, next))))
                next = item_end(ps, next);
            char *token = heap_strndup(t->p, t->len);
            if (next == i + 1) {
                struct docs_arg a = {docs_lower(t->p, t->len), "pure-token", token, 0, -1, NULL, 0};
                arg_finish(ps->cmdname, &a);
                vec_push(out, a);
            } else {
                struct arg_vec operand = {0};
                if (parse_sequence(ps, i + 1, next, &operand) < 0) {
                    free(token);
                    vec_free(&operand);
                    return -1;
                }
                if (operand.n == 1 && !token_block(ps->cmdname, token)) {
                    operand.v[0].token = token;
                    vec_push(out, operand.v[0]);
                    free(operand.v);
                } else {
                    vec_push(out, arg_group(ps->cmdname, "block", operand.v, operand.n, token));
                }
            }
        } else if (t->kind == T_OPEN && is_repetition(ps, i)) {
            if (mark_repeated(ps, out, i + 1, t->match - i - 2) < 0)
                return -1;
        } else if (t->kind == T_OPEN && is_token_repetition(ps, i)) {
            /* "GET pattern [GET pattern ...]": the token comes with every
             * repetition (Redis's multiple_token) */
            const struct tok *tk = &ps->toks[i + 1];
            struct docs_arg *last = out->n ? &out->v[out->n - 1] : NULL;
            if (!last || !last->token || strlen(last->token) != tk->len ||
                memcmp(last->token, tk->p, tk->len) != 0 || t->match - i != 4 ||
                strlen(last->name) != ps->toks[i + 2].len ||
                memcmp(last->name, ps->toks[i + 2].p, ps->toks[i + 2].len) != 0)
                return -1;
            last->flags |= DOCS_ARG_MULTIPLE | DOCS_ARG_MULTIPLE_TOKEN;
        } else if (t->kind == T_OPEN) {
            struct arg_vec inner = {0};
            if (parse_alternatives(ps, i + 1, t->match, &inner) < 0 || inner.n == 0) {
                vec_free(&inner);
                return -1;
            }
            unsigned opt = TOK_IS_REQUIRED(ps, i) ? 0 : DOCS_ARG_OPTIONAL;
            if (inner.n == 1) {
                inner.v[0].flags |= opt;
                vec_push(out, inner.v[0]);
                free(inner.v);
            } else {
                struct docs_arg block = arg_group(ps->cmdname, "block", inner.v, inner.n, NULL);
                block.flags |= opt;
                vec_push(out, block);
            }
        } else {
            return -1; /* a stray "...", "]" or "|" */
        }
        i = next;
    }
    return 0;
}

/* Item kinds of toks[lo..hi) into kinds (capacity hi - lo); returns the count. */
static int item_kinds(const struct parser *ps, int lo, int hi, enum tok_kind *kinds)
{
    int n = 0;
    for (int i = lo; i < hi; i = item_end(ps, i))
        kinds[n++] = ps->toks[i].kind;
    return n;
}

/* "TYPE NORMAL|MASTER", "FILTERBY MODULE name|ACLCAT category": the first
 * alternative is one ALL-CAPS word longer than every other and otherwise
 * shaped like them, so that word introduces the whole oneof. In "EX
 * seconds|PX milliseconds|KEEPTTL" the shapes differ and EX is EX's alone. */
static int leading_token(const struct parser *ps, const int *alt_lo, const int *alt_hi, int nalts)
{
    if (ps->toks[alt_lo[0]].kind != T_CAPS)
        return 0;
    int span = alt_hi[0] - alt_lo[0];
    enum tok_kind *first = heap_malloc((size_t)span * sizeof(*first));
    enum tok_kind *other = heap_malloc((size_t)span * sizeof(*other));
    int nfirst = item_kinds(ps, alt_lo[0] + 1, alt_hi[0], first), ok = nfirst > 0;
    for (int a = 1; ok && a < nalts; a++) {
        /* an alternative longer than the first cannot match its shape */
        if (alt_hi[a] - alt_lo[a] > span) {
            ok = 0;
            break;
        }
        int nother = item_kinds(ps, alt_lo[a], alt_hi[a], other);
        ok = nother == nfirst && memcmp(first, other, (size_t)nfirst * sizeof(*first)) == 0;
    }
    free(first);
    free(other);
    return ok;
}

/* The alternatives toks[alt_lo[a]..alt_hi[a]), a < nalts, none empty, as one
 * argument appended to out: a oneof, or a string for "yes|no". */
static int parse_oneof(struct parser *ps, int *alt_lo, const int *alt_hi, int nalts,
                       struct arg_vec *out)
{
    char *token = NULL;
    if (leading_token(ps, alt_lo, alt_hi, nalts)) {
        const struct tok *t = &ps->toks[alt_lo[0]++];
        token = heap_strndup(t->p, t->len);
    }
    int all_words = 1;
    for (int a = 0; a < nalts; a++)
        all_words &= alt_hi[a] - alt_lo[a] == 1 && ps->toks[alt_lo[a]].kind == T_WORD;
    if (all_words) {
        /* values spelled out: one string argument */
        size_t len = 0;
        for (int a = 0; a < nalts; a++)
            len += ps->toks[alt_lo[a]].len + 1;
        char *name = heap_malloc(len);
        name[0] = '\0';
        for (int a = 0; a < nalts; a++) {
            if (a)
                strcat(name, "/");
            strncat(name, ps->toks[alt_lo[a]].p, ps->toks[alt_lo[a]].len);
        }
        struct docs_arg arg = arg_plain(ps->cmdname, name, strlen(name));
        free(name);
        arg.token = token;
        vec_push(out, arg);
        return 0;
    }

    struct arg_vec choices = {0};
    for (int a = 0; a < nalts; a++) {
        struct arg_vec seq = {0};
        if (parse_sequence(ps, alt_lo[a], alt_hi[a], &seq) < 0 || seq.n == 0) {
            vec_free(&seq);
            vec_free(&choices);
            free(token);
            return -1;
        }
        if (seq.n == 1) {
            vec_push(&choices, seq.v[0]);
            free(seq.v);
        } else {
            vec_push(&choices, arg_group(ps->cmdname, "block", seq.v, seq.n, NULL));
        }
    }
    vec_push(out, arg_group(ps->cmdname, "oneof", choices.v, choices.n, token));
    return 0;
}

/* Items in toks[lo..hi), maybe separated by top-level '|': appends the
 * sequence's arguments, or one oneof. */
static int parse_alternatives(struct parser *ps, int lo, int hi, struct arg_vec *out)
{
    int nalts = 1;
    for (int i = lo; i < hi; i = item_end(ps, i))
        nalts += ps->toks[i].kind == T_BAR;
    if (nalts == 1)
        return parse_sequence(ps, lo, hi, out);

    int *alt_lo = heap_malloc((size_t)nalts * sizeof(int));
    int *alt_hi = heap_malloc((size_t)nalts * sizeof(int));
    int a = 0, rc = 0;
    alt_lo[0] = lo;
    for (int i = lo; i < hi; i = item_end(ps, i)) {
        if (ps->toks[i].kind == T_BAR) {
            alt_hi[a++] = i;
            alt_lo[a] = i + 1;
        }
    }
    alt_hi[a] = hi;
    for (a = 0; a < nalts; a++)
        if (alt_lo[a] == alt_hi[a])
            rc = -1;
    if (rc == 0)
        rc = parse_oneof(ps, alt_lo, alt_hi, nalts, out);
    free(alt_lo);
    free(alt_hi);
    return rc;
}

int docs_parse(const char *cmdname, const char *syntax, struct docs_arg **args, int *nargs)
{
    struct parser ps = {cmdname, NULL, 0};
    struct arg_vec out = {0};
    int rc = tokenize(&ps, syntax);
    if (rc == 0)
        rc = parse_alternatives(&ps, 0, ps.ntoks, &out);
    free(ps.toks);
    if (rc < 0) {
        vec_free(&out);
        *args = NULL;
        *nargs = 0;
        return -1;
    }
    *args = out.v;
    *nargs = out.n;
    return 0;
}

/* ---- the cache and COMMAND DOCS ------------------------------------------- */

static struct docs_cached {
    int built;
    struct docs_arg *args;
    int nargs;
} * cache;

const struct docs_arg *docs_arguments(const struct command *cmd, int *nargs)
{
    if (!cache) {
        size_t size = (size_t)command_count_all() * sizeof(*cache);
        cache = memset(heap_malloc(size), 0, size);
    }
    long i = cmd - command_at(0);
    if (i < 0 || i >= command_count_all()) {
        *nargs = 0;
        return NULL;
    }
    if (!cache[i].built) {
        cache[i].built = 1;
        if (docs_parse(cmd->name, cmd->syntax ? cmd->syntax : "", &cache[i].args, &cache[i].nargs) <
            0)
            log_warning("COMMAND DOCS: cannot parse the syntax of '%s': %s", cmd->name,
                        cmd->syntax);
    }
    *nargs = cache[i].nargs;
    return cache[i].args;
}

int docs_has_arguments(const struct command *cmd)
{
    int n;
    docs_arguments(cmd, &n);
    return n > 0;
}

static void reply_args(client *c, const struct docs_arg *args, int nargs)
{
    reply_array(c, nargs);
    for (int i = 0; i < nargs; i++) {
        const struct docs_arg *a = &args[i];
        int nflags = ((a->flags & DOCS_ARG_OPTIONAL) != 0) + ((a->flags & DOCS_ARG_MULTIPLE) != 0) +
                     ((a->flags & DOCS_ARG_MULTIPLE_TOKEN) != 0);
        reply_map(c, 2 + (a->key_spec_index >= 0) + (a->token != NULL) + (nflags > 0) +
                         (a->nargs > 0));
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, a->name);
        reply_bulk_cstr(c, "type");
        reply_bulk_cstr(c, a->type);
        if (a->key_spec_index >= 0) {
            reply_bulk_cstr(c, "key_spec_index");
            reply_long(c, a->key_spec_index);
        }
        if (a->token) {
            reply_bulk_cstr(c, "token");
            reply_bulk_cstr(c, a->token);
        }
        if (nflags) {
            reply_bulk_cstr(c, "flags");
            reply_set(c, nflags);
            if (a->flags & DOCS_ARG_OPTIONAL)
                reply_status(c, "optional");
            if (a->flags & DOCS_ARG_MULTIPLE)
                reply_status(c, "multiple");
            if (a->flags & DOCS_ARG_MULTIPLE_TOKEN)
                reply_status(c, "multiple_token");
        }
        if (a->nargs) {
            reply_bulk_cstr(c, "arguments");
            reply_args(c, a->args, a->nargs);
        }
    }
}

void docs_reply_arguments(client *c, const struct command *cmd)
{
    int nargs;
    const struct docs_arg *args = docs_arguments(cmd, &nargs);
    reply_args(c, args, nargs);
}
