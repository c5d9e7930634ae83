/*
 * reply.c: RESP replies as bytes, and how two of them are compared.
 *
 * resp_frame finds where one complete reply ends (every RESP2 and RESP3
 * type: + - : $ * and _ , # ( = ! % ~ | >), so the client can keep the exact
 * bytes. rnode_parse turns a framed reply into a tree for the comparators
 * that look at properties instead of bytes.
 *
 * The comparator table (cmp_rules) says how each command's reply is compared
 * when a script or the generator does not choose: byte for byte unless the
 * reply legitimately differs between two correct servers (random choices,
 * clocks, connection ids, hash-table order, longtail's own documentation
 * text). Whatever the comparator, an error reply on either side must match
 * the other side byte for byte.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diff.h"

/* ---- framing --------------------------------------------------------------- */

static int parse_ll(const char *p, const char *end, long long *out)
{
    int neg = 0;
    long long v = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (long long)1e17)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* End offset of the reply starting at "pos": >0, 0 incomplete, -1 malformed. */
static long frame_at(const char *p, size_t n, size_t pos, int depth)
{
    if (depth > 128)
        return -1;
    if (pos >= n)
        return 0;
    const char *eol = memchr(p + pos, '\r', n - pos);
    if (!eol || (size_t)(eol - p) + 1 >= n)
        return 0;
    if (eol[1] != '\n')
        return -1;
    size_t line_end = (size_t)(eol - p) + 2;
    char t = p[pos];
    long long len;
    switch (t) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '(':
    case '_':
        return (long)line_end;
    case '$':
    case '=':
    case '!':
        if (parse_ll(p + pos + 1, eol, &len) < 0)
            return -1;
        if (len == -1 && t == '$')
            return (long)line_end;
        if (len < 0)
            return -1;
        if (line_end + (size_t)len + 2 > n)
            return 0;
        if (p[line_end + (size_t)len] != '\r' || p[line_end + (size_t)len + 1] != '\n')
            return -1;
        return (long)(line_end + (size_t)len + 2);
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        if (parse_ll(p + pos + 1, eol, &len) < 0)
            return -1;
        if (len == -1 && t == '*')
            return (long)line_end;
        if (len < 0)
            return -1;
        if (t == '%' || t == '|')
            len *= 2;
        if (t == '|')
            len += 1; /* an attribute map precedes the reply it describes */
        size_t q = line_end;
        for (long long i = 0; i < len; i++) {
            long r = frame_at(p, n, q, depth + 1);
            if (r <= 0)
                return r;
            q = (size_t)r;
        }
        return (long)q;
    }
    default:
        return -1;
    }
}

long resp_frame(const char *p, size_t n)
{
    return frame_at(p, n, 0, 0);
}

/* ---- parsing --------------------------------------------------------------- */

static long parse_at(const char *p, size_t n, size_t pos, rnode *out)
{
    memset(out, 0, sizeof(*out));
    const char *eol = memchr(p + pos, '\r', n - pos);
    if (!eol)
        return -1;
    size_t line_end = (size_t)(eol - p) + 2;
    char t = p[pos];
    out->type = t;
    out->raw = p + pos;
    out->s = p + pos + 1;
    out->slen = (size_t)(eol - (p + pos + 1));
    long long len = 0;
    size_t end = line_end;
    switch (t) {
    case ':':
        parse_ll(out->s, eol, &out->n);
        break;
    case '_':
        out->type = 'N';
        break;
    case '+':
    case '-':
    case ',':
    case '#':
    case '(':
        break;
    case '$':
    case '=':
    case '!':
        parse_ll(out->s, eol, &len);
        if (len < 0) {
            out->type = 'N';
            break;
        }
        out->s = p + line_end;
        out->slen = (size_t)len;
        end = line_end + (size_t)len + 2;
        break;
    case '|': {
        /* Attributes carry no part of the answer: parse past them. */
        parse_ll(out->s, eol, &len);
        size_t q = line_end;
        for (long long i = 0; i < 2 * len; i++) {
            rnode tmp;
            long r = parse_at(p, n, q, &tmp);
            rnode_free(&tmp);
            if (r < 0)
                return -1;
            q = (size_t)r;
        }
        return parse_at(p, n, q, out);
    }
    case '*':
    case '~':
    case '>':
    case '%':
        parse_ll(out->s, eol, &len);
        if (len < 0) {
            out->type = 'N';
            break;
        }
        out->n = len;
        out->nchild = (size_t)(t == '%' ? 2 * len : len);
        out->child = xmalloc(sizeof(rnode) * (out->nchild ? out->nchild : 1));
        for (size_t i = 0; i < out->nchild; i++) {
            long r = parse_at(p, n, end, &out->child[i]);
            if (r < 0) {
                out->nchild = i + 1;
                return -1;
            }
            end = (size_t)r;
        }
        break;
    default:
        return -1;
    }
    out->rawlen = end - pos;
    return (long)end;
}

int rnode_parse(const char *p, size_t n, rnode *out)
{
    if (n == 0 || resp_frame(p, n) <= 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return parse_at(p, n, 0, out) < 0 ? -1 : 0;
}

void rnode_free(rnode *r)
{
    for (size_t i = 0; i < r->nchild; i++)
        rnode_free(&r->child[i]);
    free(r->child);
    r->child = NULL;
    r->nchild = 0;
}

void reply_print(dbuf *b, const char *p, size_t n, size_t max)
{
    if (n <= max) {
        dbuf_escape(b, p, n);
        return;
    }
    dbuf_escape(b, p, max);
    dbuf_printf(b, "... (%zu bytes in all)", n);
}

/* ---- comparator names and the per-command table ----------------------------- */

static const char *const cmp_names[CMP__COUNT] = {
    [CMP_DEFAULT] = "default", [CMP_BYTES] = "bytes",     [CMP_SORTED] = "sorted",
    [CMP_PAIRS] = "pairs",     [CMP_CMDINFO] = "cmdinfo", [CMP_SHAPE] = "shape",
    [CMP_TTL] = "ttl",         [CMP_SCAN] = "scan",       [CMP_RANDOMKEY] = "randomkey",
    [CMP_TIME] = "time",       [CMP_INFO] = "info",       [CMP_HELLO] = "hello",
    [CMP_COUNT] = "count",     [CMP_SPOP] = "spop",       [CMP_IGNORE] = "ignore",
};

const char *cmp_name(int kind)
{
    return kind >= 0 && kind < CMP__COUNT ? cmp_names[kind] : NULL;
}

int cmp_from_name(const char *name)
{
    for (int i = 1; i < CMP__COUNT; i++)
        if (strcasecmp(name, cmp_names[i]) == 0)
            return i;
    return -1;
}

/*
 * Commands whose replies are not compared byte for byte, and why. The first
 * matching row wins. "sub": NULL matches any arguments, "" only the bare
 * command, "*" any subcommand, a name that subcommand.
 */
static const struct cmp_rule {
    const char *cmd, *sub;
    int kind;
} cmp_rules[] = {
    /* order of a hash table, not part of the contract */
    {"KEYS", NULL, CMP_SORTED},
    {"SMEMBERS", NULL, CMP_SORTED},
    {"SINTER", NULL, CMP_SORTED},
    {"SUNION", NULL, CMP_SORTED},
    {"SDIFF", NULL, CMP_SORTED},
    {"HGETALL", NULL, CMP_PAIRS},
    {"CONFIG", "GET", CMP_PAIRS},
    {"COMMAND", "INFO", CMP_CMDINFO},
    {"HKEYS", NULL, CMP_SORTED},
    {"HVALS", NULL, CMP_SORTED},
    {"SCAN", NULL, CMP_SCAN},
    {"SSCAN", NULL, CMP_SCAN},
    {"HSCAN", NULL, CMP_SCAN},
    {"ZSCAN", NULL, CMP_SCAN},
    /* random choices */
    {"RANDOMKEY", NULL, CMP_RANDOMKEY},
    {"SRANDMEMBER", NULL, CMP_COUNT},
    {"HRANDFIELD", NULL, CMP_COUNT},
    {"ZRANDMEMBER", NULL, CMP_COUNT},
    {"SPOP", NULL, CMP_SPOP},
    /* clocks */
    {"TIME", NULL, CMP_TIME},
    {"TTL", NULL, CMP_TTL},
    {"PTTL", NULL, CMP_TTL},
    {"EXPIRETIME", NULL, CMP_TTL},
    {"PEXPIRETIME", NULL, CMP_TTL},
    {"LASTSAVE", NULL, CMP_SHAPE},
    {"OBJECT", "IDLETIME", CMP_SHAPE},
    {"OBJECT", "FREQ", CMP_SHAPE},
    /* per-server facts: ids, addresses, memory, statistics */
    {"INFO", NULL, CMP_INFO},
    {"HELLO", NULL, CMP_HELLO},
    {"CLIENT", "ID", CMP_SHAPE},
    {"CLIENT", "LIST", CMP_SHAPE},
    {"CLIENT", "INFO", CMP_SHAPE},
    {"CLIENT", "KILL", CMP_SHAPE},
    {"MEMORY", "*", CMP_SHAPE},
    {"DEBUG", "*", CMP_SHAPE},
    {"SLOWLOG", "*", CMP_SHAPE},
    /* the command table: longtail has fewer commands and its own doc text */
    {"COMMAND", "", CMP_SHAPE},
    {"COMMAND", "COUNT", CMP_SHAPE},
    {"COMMAND", "LIST", CMP_SHAPE},
    {"COMMAND", "DOCS", CMP_SHAPE},
    {"COMMAND", "HELP", CMP_SHAPE},
    {"OBJECT", "HELP", CMP_SHAPE},
    {"CLIENT", "HELP", CMP_SHAPE},
    {"CONFIG", "HELP", CMP_SHAPE},
    {"MEMORY", "HELP", CMP_SHAPE},
    {"FUNCTION", "HELP", CMP_SHAPE},
};

static int word_is(const char *word, const char *p, size_t n)
{
    return strlen(word) == n && strncasecmp(word, p, n) == 0;
}

int cmp_for_command(int argc, char **argv, const size_t *lens)
{
    for (size_t i = 0; argc >= 1 && i < sizeof(cmp_rules) / sizeof(cmp_rules[0]); i++) {
        const struct cmp_rule *r = &cmp_rules[i];
        if (!word_is(r->cmd, argv[0], lens[0]))
            continue;
        if (!r->sub || (r->sub[0] == '\0' && argc == 1) ||
            (argc >= 2 && (strcmp(r->sub, "*") == 0 || word_is(r->sub, argv[1], lens[1]))))
            return r->kind;
    }
    return CMP_BYTES;
}

/* ---- comparators ------------------------------------------------------------- */

static int is_error(const rnode *r)
{
    return r->type == '-' || r->type == '!';
}

static int same_bytes(const dbuf r[2])
{
    return r[0].len == r[1].len && memcmp(r[0].p, r[1].p, r[0].len) == 0;
}

static int is_aggregate(char t)
{
    return t == '*' || t == '~' || t == '%' || t == '>';
}

static int span_eq(const rnode *x, const rnode *y)
{
    return x->rawlen == y->rawlen && memcmp(x->raw, y->raw, x->rawlen) == 0;
}

typedef struct span {
    const char *p;
    size_t n;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, m);
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* The elements of an aggregate (map entries, or "pairs", as key+value) as sorted byte spans. */
static span *sorted_elements(const rnode *r, size_t *count, int pairs)
{
    size_t step = r->type == '%' || (pairs && r->nchild % 2 == 0) ? 2 : 1;
    size_t n = r->nchild / step;
    span *v = xmalloc(sizeof(span) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        const rnode *first = &r->child[i * step], *last = &r->child[i * step + step - 1];
        v[i].p = first->raw;
        v[i].n = (size_t)(last->raw + last->rawlen - first->raw);
    }
    qsort(v, n, sizeof(span), span_cmp);
    *count = n;
    return v;
}

/* Append up to 5 elements found only in redis's and only in longtail's sorted lists. */
static void why_only_in(dbuf *why, const span *s0, size_t n0, const span *s1, size_t n1)
{
    for (int side = 0; side < 2; side++) {
        const span *x = side ? s1 : s0, *y = side ? s0 : s1;
        size_t nx = side ? n1 : n0, ny = side ? n0 : n1;
        int shown = 0;
        for (size_t k = 0; k < nx && shown < 5; k++) {
            if (bsearch(&x[k], y, ny, sizeof(span), span_cmp))
                continue;
            dbuf_printf(why, "; only in %s: ", side ? "longtail" : "redis");
            dbuf_escape(why, x[k].p, x[k].n);
            shown++;
        }
    }
}

static int cmp_sorted(const rnode a[2], int pairs, dbuf *why)
{
    if (!is_aggregate(a[0].type) || a[0].type != a[1].type || a[0].nchild != a[1].nchild) {
        dbuf_puts(why, "replies differ (compared as unordered collections)");
        return 1;
    }
    size_t n0, n1;
    span *s0 = sorted_elements(&a[0], &n0, pairs), *s1 = sorted_elements(&a[1], &n1, pairs);
    int differ = n0 != n1;
    for (size_t i = 0; !differ && i < n0; i++)
        differ = span_cmp(&s0[i], &s1[i]) != 0;
    if (differ) {
        dbuf_puts(why, "elements differ (compared as unordered collections)");
        why_only_in(why, s0, n0, s1, n1);
    }
    free(s0);
    free(s1);
    return differ;
}

/* The entry of "list" (COMMAND INFO subcommands) whose name is "name", or NULL. */
static const rnode *cmdinfo_find(const rnode *list, const rnode *name)
{
    for (size_t i = 0; i < list->nchild; i++) {
        const rnode *e = &list->child[i];
        if (e->nchild >= 1 && span_eq(&e->child[0], name))
            return e;
    }
    return NULL;
}

/* Subcommands as a set: names missing on either side, else the first that differs. */
static int cmdinfo_subcommands(const rnode *s0, const rnode *s1, dbuf *why)
{
    int differ = 0;
    for (int side = 0; side < 2; side++) {
        const rnode *x = side ? s1 : s0, *y = side ? s0 : s1;
        for (size_t i = 0; i < x->nchild; i++) {
            const rnode *e = &x->child[i];
            if (e->nchild < 1 || cmdinfo_find(y, &e->child[0]))
                continue;
            dbuf_printf(why, "%ssubcommand only in %s: %.*s", differ ? "; " : "",
                        side ? "longtail" : "redis", (int)e->child[0].slen, e->child[0].s);
            differ = 1;
        }
    }
    for (size_t i = 0; !differ && i < s0->nchild; i++) {
        const rnode *e = &s0->child[i], *o = e->nchild ? cmdinfo_find(s1, &e->child[0]) : NULL;
        if (!o || span_eq(e, o))
            continue;
        dbuf_printf(why, "subcommand %.*s differs: redis '", (int)e->child[0].slen, e->child[0].s);
        reply_print(why, e->raw, e->rawlen, 300);
        dbuf_puts(why, "' longtail '");
        reply_print(why, o->raw, o->rawlen, 300);
        dbuf_puts(why, "'");
        differ = 1;
    }
    if (!differ && (s0->type != s1->type || s0->nchild != s1->nchild)) {
        dbuf_printf(why, "subcommand lists differ: redis '%c%zu' longtail '%c%zu'", s0->type,
                    s0->nchild, s1->type, s1->nchild);
        differ = 1;
    }
    return differ;
}

/*
 * COMMAND INFO: one entry per requested name, in order; an entry's tenth
 * element lists the subcommands in the server's hash-table order.
 */
static int cmp_cmdinfo(const rnode a[2], dbuf *why)
{
    if (!is_aggregate(a[0].type) || a[0].type != a[1].type || a[0].nchild != a[1].nchild) {
        dbuf_puts(why, "replies differ");
        return 1;
    }
    for (size_t i = 0; i < a[0].nchild; i++) {
        const rnode *e0 = &a[0].child[i], *e1 = &a[1].child[i];
        if (e0->nchild != 10 || e1->nchild != 10) {
            if (e0->rawlen != e1->rawlen || memcmp(e0->raw, e1->raw, e0->rawlen) != 0) {
                dbuf_printf(why, "entry %zu differs", i);
                return 1;
            }
            continue;
        }
        static const char *const fields[9] = {"name",           "arity",    "flags",
                                              "first key",      "last key", "step",
                                              "ACL categories", "tips",     "key specs"};
        for (int f = 0; f < 9; f++) {
            if (span_eq(&e0->child[f], &e1->child[f]))
                continue;
            dbuf_printf(why, "entry %zu ('%.*s'): %s differ: redis '", i,
                        (int)(e0->child[0].slen < 40 ? e0->child[0].slen : 40), e0->child[0].s,
                        fields[f]);
            reply_print(why, e0->child[f].raw, e0->child[f].rawlen, 300);
            dbuf_puts(why, "' longtail '");
            reply_print(why, e1->child[f].raw, e1->child[f].rawlen, 300);
            dbuf_puts(why, "'");
            return 1;
        }
        if (cmdinfo_subcommands(&e0->child[9], &e1->child[9], why)) {
            dbuf_printf(why, " (in '%.*s')", (int)(e0->child[0].slen < 40 ? e0->child[0].slen : 40),
                        e0->child[0].s);
            return 1;
        }
    }
    return 0;
}

static int cmp_shape(const rnode a[2], dbuf *why)
{
    if (a[0].type != a[1].type) {
        dbuf_printf(why, "reply types differ ('%c' vs '%c')", a[0].type, a[1].type);
        return 1;
    }
    return 0;
}

static int cmp_ttl(const item *it, const rnode a[2], dbuf *why)
{
    if (a[0].type != ':' || a[1].type != ':') {
        dbuf_puts(why, "replies differ");
        return 1;
    }
    long long x = a[0].n, y = a[1].n;
    if (x < 0 || y < 0) {
        if (x == y)
            return 0;
        dbuf_printf(why, "%lld vs %lld", x, y);
        return 1;
    }
    long long tol =
        (it->lens[0] > 0 && (it->argv[0][0] == 'p' || it->argv[0][0] == 'P')) ? 2000 : 2;
    if (llabs(x - y) <= tol)
        return 0;
    dbuf_printf(why, "%lld vs %lld (tolerance %lld)", x, y, tol);
    return 1;
}

static int cmp_time(const rnode a[2], dbuf *why)
{
    long long t[2];
    for (int i = 0; i < 2; i++) {
        if (a[i].type != '*' || a[i].nchild != 2 || a[i].child[0].type != '$' ||
            a[i].child[1].type != '$' ||
            parse_ll(a[i].child[0].s, a[i].child[0].s + a[i].child[0].slen, &t[i]) < 0) {
            dbuf_puts(why, "TIME reply is not two integers as bulk strings");
            return 1;
        }
    }
    if (llabs(t[0] - t[1]) > 2) {
        dbuf_printf(why, "clocks differ by %lld s", llabs(t[0] - t[1]));
        return 1;
    }
    return 0;
}

/* The "dbN:keys=..,expires=.." lines of INFO's "# Keyspace" section, one per line. */
static void keyspace_lines(const char *s, size_t n, dbuf *out)
{
    int in = 0;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        size_t len = e - i;
        if (len && s[i + len - 1] == '\r')
            len--;
        if (len && s[i] == '#')
            in = len == 10 && memcmp(s + i, "# Keyspace", 10) == 0;
        else if (in && len > 2 && memcmp(s + i, "db", 2) == 0) {
            /* avg_ttl depends on timing: keep dbN:keys=..,expires=.. */
            const char *cut = memmem(s + i, len, ",avg_ttl=", 9);
            dbuf_add(out, s + i, cut ? (size_t)(cut - (s + i)) : len);
            dbuf_add(out, "\n", 1);
        }
        i = e + 1;
    }
}

static int cmp_info(const rnode a[2], dbuf *why)
{
    if (cmp_shape(a, why))
        return 1;
    if (a[0].type != '$' && a[0].type != '=')
        return 0;
    const char *t0 = a[0].s, *t1 = a[1].s;
    size_t n0 = a[0].slen, n1 = a[1].slen;
    /* every section header Redis prints must be in longtail's reply too */
    int differ = 0;
    for (size_t i = 0; i < n0;) {
        size_t e = i;
        while (e < n0 && t0[e] != '\n')
            e++;
        if (e - i > 2 && t0[i] == '#') {
            size_t len = e - i;
            if (t0[i + len - 1] == '\r')
                len--;
            int found = 0;
            for (const char *q = t1; q && q < t1 + n1;) {
                q = memmem(q, (size_t)(t1 + n1 - q), t0 + i, len);
                if (!q)
                    break;
                if ((q == t1 || q[-1] == '\n') &&
                    (q + len == t1 + n1 || q[len] == '\r' || q[len] == '\n')) {
                    found = 1;
                    break;
                }
                q++;
            }
            if (!found) {
                if (!differ)
                    dbuf_puts(why, "INFO sections missing in longtail:");
                dbuf_puts(why, " '");
                dbuf_add(why, t0 + i, len);
                dbuf_puts(why, "'");
                differ = 1;
            }
        }
        i = e + 1;
    }
    dbuf k0 = {0}, k1 = {0};
    keyspace_lines(t0, n0, &k0);
    keyspace_lines(t1, n1, &k1);
    if (k0.len != k1.len || (k0.len && memcmp(k0.p, k1.p, k0.len) != 0)) {
        if (differ)
            dbuf_puts(why, "; ");
        dbuf_puts(why, "keyspace differs: redis '");
        dbuf_escape(why, k0.p ? k0.p : "", k0.len);
        dbuf_puts(why, "' longtail '");
        dbuf_escape(why, k1.p ? k1.p : "", k1.len);
        dbuf_puts(why, "'");
        differ = 1;
    }
    dbuf_free(&k0);
    dbuf_free(&k1);
    return differ;
}

static int cmp_hello(const rnode a[2], dbuf *why)
{
    if (cmp_shape(a, why))
        return 1;
    if (a[0].nchild != a[1].nchild || a[0].nchild % 2) {
        dbuf_puts(why, "HELLO replies have different fields");
        return 1;
    }
    for (size_t i = 0; i + 1 < a[0].nchild; i += 2) {
        const rnode *k = &a[0].child[i];
        if (!span_eq(k, &a[1].child[i])) {
            dbuf_puts(why, "HELLO fields differ");
            return 1;
        }
        int is_id = k->slen == 2 && memcmp(k->s, "id", 2) == 0;
        if (is_id ? a[0].child[i + 1].type != a[1].child[i + 1].type
                  : !span_eq(&a[0].child[i + 1], &a[1].child[i + 1])) {
            dbuf_puts(why, "HELLO field '");
            dbuf_add(why, k->s, k->slen);
            dbuf_puts(why, "' differs");
            return 1;
        }
    }
    return 0;
}

static int cmp_count(const rnode a[2], dbuf *why)
{
    if (cmp_shape(a, why))
        return 1;
    if (a[0].nchild != a[1].nchild) {
        dbuf_printf(why, "%zu vs %zu elements", a[0].nchild, a[1].nchild);
        return 1;
    }
    return 0;
}

/* Strings of a reply (a bulk, or an aggregate of bulks) as sorted spans. */
static span *reply_strings(const rnode *r, size_t *n)
{
    if (r->type == '$') {
        span *v = xmalloc(sizeof(span));
        v->p = r->s;
        v->n = r->slen;
        *n = 1;
        return v;
    }
    span *v = xmalloc(sizeof(span) * (r->nchild ? r->nchild : 1));
    *n = 0;
    for (size_t i = 0; i < r->nchild; i++)
        if (r->child[i].type == '$') {
            v[*n].p = r->child[i].s;
            v[*n].n = r->child[i].slen;
            (*n)++;
        }
    qsort(v, *n, sizeof(span), span_cmp);
    return v;
}

/*
 * Both popped the same number of random members, not the same ones. Make
 * redis's set equal to longtail's again: put back what redis popped, then
 * remove what longtail popped. Neither set was emptied (both would have
 * popped everything, hence the same members).
 */
static int cmp_spop(cmp_ctx *ctx, const item *it, const rnode a[2], dbuf *why)
{
    if (cmp_count(a, why))
        return 1;
    if (a[0].type == 'N' || it->argc < 2)
        return 0;
    size_t n0, n1;
    span *p0 = reply_strings(&a[0], &n0), *p1 = reply_strings(&a[1], &n1);
    int same = n0 == n1;
    for (size_t i = 0; same && i < n0; i++)
        same = span_cmp(&p0[i], &p1[i]) == 0;
    int rc = 0;
    if (!same) {
        for (int step = 0; step < 2 && rc == 0; step++) {
            span *v = step ? p1 : p0;
            size_t n = step ? n1 : n0;
            char **argv = xmalloc(sizeof(char *) * (n + 2));
            size_t *lens = xmalloc(sizeof(size_t) * (n + 2));
            argv[0] = step ? "SREM" : "SADD";
            lens[0] = 4;
            argv[1] = it->argv[1];
            lens[1] = it->lens[1];
            for (size_t i = 0; i < n; i++) {
                argv[i + 2] = (char *)v[i].p;
                lens[i + 2] = v[i].n;
            }
            dbuf out = {0};
            if (dconn_call(ctx->conn[0], (int)n + 2, argv, lens, &out, ctx->timeout_ms) < 0)
                rc = -1;
            dbuf_free(&out);
            free(argv);
            free(lens);
        }
    }
    free(p0);
    free(p1);
    return rc;
}

/* Whether "key" exists on server "i" (EXISTS answers :1). */
static int key_exists(cmp_ctx *ctx, int i, const char *key, size_t klen, int *exists)
{
    char *argv[2] = {"EXISTS", (char *)key};
    size_t lens[2] = {6, klen};
    dbuf out = {0};
    int rc = dconn_call(ctx->conn[i], 2, argv, lens, &out, ctx->timeout_ms);
    *exists = rc == 0 && out.len == 4 && memcmp(out.p, ":1\r\n", 4) == 0;
    dbuf_free(&out);
    return rc == 0 ? 0 : -1;
}

static int cmp_randomkey(cmp_ctx *ctx, const rnode a[2], dbuf *why)
{
    if (cmp_shape(a, why))
        return 1;
    if (a[0].type != '$')
        return 0;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            int ex;
            if (key_exists(ctx, j, a[i].s, a[i].slen, &ex) < 0)
                return -1;
            if (!ex) {
                dbuf_printf(why, "the key %s returned is not in %s: '", i ? "longtail" : "redis",
                            j ? "longtail" : "redis");
                dbuf_escape(why, a[i].s, a[i].slen);
                dbuf_puts(why, "'");
                return 1;
            }
        }
    }
    return 0;
}

/*
 * SCAN from cursor 0: drive each server's iteration to its end with the same
 * options and compare what was returned as sets (HSCAN/ZSCAN: as pairs).
 * A scan from another cursor is compared by shape: cursors are opaque.
 */
static int scan_collect(cmp_ctx *ctx, int i, const item *it, int cpos, const rnode *first,
                        dbuf *acc, dbuf *why)
{
    int pairs = it->lens[0] == 5 && (strncasecmp(it->argv[0], "HSCAN", 5) == 0 ||
                                     strncasecmp(it->argv[0], "ZSCAN", 5) == 0);
    char **argv = xmalloc(sizeof(char *) * (size_t)it->argc);
    size_t *lens = xmalloc(sizeof(size_t) * (size_t)it->argc);
    memcpy(argv, it->argv, sizeof(char *) * (size_t)it->argc);
    memcpy(lens, it->lens, sizeof(size_t) * (size_t)it->argc);
    dbuf out = {0};
    rnode cur = *first, owned = {0};
    int rc = 0;
    for (int round = 0; round < 100000; round++) {
        if (cur.type != '*' || cur.nchild != 2 || cur.child[0].type != '$' ||
            !is_aggregate(cur.child[1].type)) {
            dbuf_printf(why, "%s: SCAN reply is not [cursor, elements]", i ? "longtail" : "redis");
            rc = 1;
            break;
        }
        const rnode *el = &cur.child[1];
        for (size_t k = 0; k < el->nchild; k += pairs ? 2 : 1) {
            const rnode *e = &el->child[k];
            size_t len = pairs && k + 1 < el->nchild
                             ? (size_t)(el->child[k + 1].raw + el->child[k + 1].rawlen - e->raw)
                             : e->rawlen;
            dbuf_printf(acc, "%zu:", len);
            dbuf_add(acc, e->raw, len);
        }
        const rnode *c = &cur.child[0];
        if (c->slen == 1 && c->s[0] == '0')
            break;
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%.*s", (int)(c->slen < 63 ? c->slen : 63), c->s);
        argv[cpos] = cursor;
        lens[cpos] = strlen(cursor);
        rnode_free(&owned);
        if (dconn_call(ctx->conn[i], it->argc, argv, lens, &out, ctx->timeout_ms) != 0 ||
            rnode_parse(out.p, out.len, &owned) < 0) {
            rc = -1;
            break;
        }
        cur = owned;
    }
    rnode_free(&owned);
    dbuf_free(&out);
    free(argv);
    free(lens);
    return rc;
}

/* Split "len:bytes" records into sorted unique spans. */
static span *scan_set(const dbuf *acc, size_t *n)
{
    size_t cap = 16;
    span *v = xmalloc(sizeof(span) * cap);
    *n = 0;
    for (size_t i = 0; i < acc->len;) {
        size_t len = strtoul(acc->p + i, NULL, 10);
        const char *colon = memchr(acc->p + i, ':', acc->len - i);
        if (!colon)
            break;
        if (*n == cap)
            v = xrealloc(v, sizeof(span) * (cap *= 2));
        v[*n].p = colon + 1;
        v[*n].n = len;
        (*n)++;
        i = (size_t)(colon + 1 - acc->p) + len;
    }
    qsort(v, *n, sizeof(span), span_cmp);
    size_t u = 0;
    for (size_t i = 0; i < *n; i++)
        if (u == 0 || span_cmp(&v[u - 1], &v[i]) != 0)
            v[u++] = v[i];
    *n = u;
    return v;
}

static int cmp_scan(cmp_ctx *ctx, const item *it, const rnode a[2], dbuf *why)
{
    int cpos = it->lens[0] == 4 ? 1 : 2; /* SCAN cursor vs SSCAN key cursor */
    if (it->argc <= cpos || it->lens[cpos] != 1 || it->argv[cpos][0] != '0')
        return cmp_shape(a, why);
    dbuf acc[2] = {{0}, {0}};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = scan_collect(ctx, i, it, cpos, &a[i], &acc[i], why);
    if (rc == 0) {
        size_t n0, n1;
        span *s0 = scan_set(&acc[0], &n0), *s1 = scan_set(&acc[1], &n1);
        int differ = n0 != n1;
        for (size_t i = 0; !differ && i < n0; i++)
            differ = span_cmp(&s0[i], &s1[i]) != 0;
        if (differ) {
            dbuf_printf(why, "full iterations differ: redis %zu elements, longtail %zu", n0, n1);
            why_only_in(why, s0, n0, s1, n1);
            rc = 1;
        }
        free(s0);
        free(s1);
    }
    dbuf_free(&acc[0]);
    dbuf_free(&acc[1]);
    return rc;
}

int cmp_replies(cmp_ctx *ctx, const item *it, const dbuf r[2], dbuf *why)
{
    int kind = it->cmp == CMP_DEFAULT ? cmp_for_command(it->argc, it->argv, it->lens) : it->cmp;
    if (kind == CMP_IGNORE)
        return 0;
    if (same_bytes(r))
        return 0;
    if (kind == CMP_BYTES) {
        dbuf_puts(why, "replies differ");
        return 1;
    }
    rnode a[2];
    if (rnode_parse(r[0].p, r[0].len, &a[0]) < 0 || rnode_parse(r[1].p, r[1].len, &a[1]) < 0) {
        rnode_free(&a[0]);
        rnode_free(&a[1]);
        dbuf_puts(why, "unparsable reply");
        return 1;
    }
    int rc;
    if (is_error(&a[0]) || is_error(&a[1])) {
        rc = !same_bytes(r);
        if (rc)
            dbuf_puts(why, "error replies differ");
    } else {
        switch (kind) {
        case CMP_SORTED:
            rc = cmp_sorted(a, 0, why);
            break;
        case CMP_PAIRS:
            rc = cmp_sorted(a, 1, why);
            break;
        case CMP_CMDINFO:
            rc = cmp_cmdinfo(a, why);
            break;
        case CMP_TTL:
            rc = cmp_ttl(it, a, why);
            break;
        case CMP_SCAN:
            rc = cmp_scan(ctx, it, a, why);
            break;
        case CMP_RANDOMKEY:
            rc = cmp_randomkey(ctx, a, why);
            break;
        case CMP_TIME:
            rc = cmp_time(a, why);
            break;
        case CMP_INFO:
            rc = cmp_info(a, why);
            break;
        case CMP_HELLO:
            rc = cmp_hello(a, why);
            break;
        case CMP_COUNT:
            rc = cmp_count(a, why);
            break;
        case CMP_SPOP:
            rc = cmp_spop(ctx, it, a, why);
            break;
        default:
            rc = cmp_shape(a, why);
            break;
        }
    }
    rnode_free(&a[0]);
    rnode_free(&a[1]);
    return rc;
}
