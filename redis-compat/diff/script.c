/*
 * script.c: the command-script syntax of lt-diff, read and written.
 *
 * One command per line, arguments split as a shell would: whitespace
 * separates; "..." takes escapes \" \\ \n \r \t \a \b \0 and \xHH; '...' is
 * literal apart from \'. A line whose first non-blank is '#' is a comment.
 * Lines starting with '@' are directives:
 *   @resp2 | @resp3       HELLO 2 / HELLO 3 on both connections
 *   @sleep MS             pause
 *   @flushall             FLUSHALL on both (setup, not counted)
 *   @check                compare DBSIZE, KEYS * and every value of the
 *                         generator's databases
 *   @reconnect            fresh connections (db 0, RESP2, no name)
 *   @<comparator> CMD...  run CMD, compare with that comparator instead of
 *                         the command's default (bytes, sorted, shape, ttl,
 *                         scan, randomkey, time, info, hello, count, spop,
 *                         ignore)
 * script_format_item writes an item back in this syntax, so that the
 * reproducers lt-diff prints can be pasted into a script file.
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

typedef struct args {
    int argc, cap;
    char **argv;
    size_t *lens;
} args;

static void args_push(args *a, const char *p, size_t n)
{
    if (a->argc == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->argv = xrealloc(a->argv, sizeof(char *) * (size_t)a->cap);
        a->lens = xrealloc(a->lens, sizeof(size_t) * (size_t)a->cap);
    }
    a->argv[a->argc] = xmalloc(n + 1);
    memcpy(a->argv[a->argc], p, n);
    a->argv[a->argc][n] = '\0';
    a->lens[a->argc++] = n;
}

static void args_free(args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a->lens);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Split "s" into arguments; -1 on an unterminated or badly closed quote. */
static int split_args(const char *s, args *out, dbuf *err)
{
    dbuf cur = {0};
    const char *p = s;
    int rc = 0;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        dbuf_clear(&cur);
        dbuf_add(&cur, "", 0);
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    dbuf_puts(err, "unterminated \"");
                    rc = -1;
                    goto done;
                }
                if (*p == '"') {
                    p++;
                    break;
                }
                if (*p == '\\' && p[1]) {
                    char c = p[1];
                    p += 2;
                    switch (c) {
                    case 'n':
                        c = '\n';
                        break;
                    case 'r':
                        c = '\r';
                        break;
                    case 't':
                        c = '\t';
                        break;
                    case 'a':
                        c = '\a';
                        break;
                    case 'b':
                        c = '\b';
                        break;
                    case '0':
                        c = '\0';
                        break;
                    case 'x':
                        if (hexval(p[0]) >= 0 && hexval(p[1]) >= 0) {
                            c = (char)(hexval(p[0]) * 16 + hexval(p[1]));
                            p += 2;
                        }
                        break;
                    default:
                        break;
                    }
                    dbuf_add(&cur, &c, 1);
                    continue;
                }
                dbuf_add(&cur, p++, 1);
            }
        } else if (*p == '\'') {
            p++;
            for (;;) {
                if (!*p) {
                    dbuf_puts(err, "unterminated '");
                    rc = -1;
                    goto done;
                }
                if (*p == '\'') {
                    p++;
                    break;
                }
                if (*p == '\\' && p[1] == '\'') {
                    dbuf_add(&cur, "'", 1);
                    p += 2;
                    continue;
                }
                dbuf_add(&cur, p++, 1);
            }
        } else {
            while (*p && !isspace((unsigned char)*p))
                dbuf_add(&cur, p++, 1);
            args_push(out, cur.p, cur.len);
            continue;
        }
        if (*p && !isspace((unsigned char)*p)) {
            dbuf_puts(err, "a closing quote must be followed by a space");
            rc = -1;
            goto done;
        }
        args_push(out, cur.p, cur.len);
    }
done:
    dbuf_free(&cur);
    return rc;
}

int script_parse_line(const char *line, int lineno, item_list *out, dbuf *err)
{
    const char *p = line;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p || *p == '#')
        return 0;
    args a = {0};
    if (split_args(p, &a, err) < 0) {
        args_free(&a);
        return -1;
    }
    item it = {.kind = ITEM_CMD, .line = lineno};
    int first = 0, rc = 0;
    if (a.argv[0][0] == '@') {
        const char *d = a.argv[0] + 1;
        int ka = a.argc;
        if (strcasecmp(d, "resp2") == 0 || strcasecmp(d, "resp3") == 0) {
            it.kind = ITEM_RESP;
            it.arg = d[4] - '0';
        } else if (strcasecmp(d, "sleep") == 0 && a.argc == 2) {
            it.kind = ITEM_SLEEP;
            it.arg = atoi(a.argv[1]);
            ka = 1;
        } else if (strcasecmp(d, "flushall") == 0) {
            it.kind = ITEM_FLUSHALL;
        } else if (strcasecmp(d, "check") == 0) {
            it.kind = ITEM_CHECK;
        } else if (strcasecmp(d, "reconnect") == 0) {
            it.kind = ITEM_RECONNECT;
        } else if (cmp_from_name(d) > 0 && a.argc >= 2) {
            it.cmp = cmp_from_name(d);
            first = 1;
        } else {
            dbuf_printf(err, "unknown directive or missing command: %s", a.argv[0]);
            rc = -1;
        }
        if (rc == 0 && it.kind != ITEM_CMD && ka != 1) {
            dbuf_printf(err, "directive %s takes no such arguments", a.argv[0]);
            rc = -1;
        }
    }
    if (rc == 0) {
        if (it.kind == ITEM_CMD) {
            item c = item_cmd(it.cmp, a.argc - first, (const char *const *)a.argv + first,
                              a.lens + first);
            c.line = lineno;
            it = c;
        }
        item_list_push(out, &it);
    }
    args_free(&a);
    return rc;
}

int script_load(const char *path, item_list *out, dbuf *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        dbuf_printf(err, "%s: cannot open", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        dbuf e = {0};
        if (script_parse_line(line, lineno, out, &e) < 0) {
            dbuf_printf(err, "%s:%d: %s", path, lineno, e.p ? e.p : "syntax error");
            dbuf_free(&e);
            rc = -1;
            break;
        }
        dbuf_free(&e);
    }
    free(line);
    fclose(f);
    return rc;
}

void script_format_arg(dbuf *b, const char *p, size_t n)
{
    int plain = n > 0 && p[0] != '@' && p[0] != '#';
    for (size_t i = 0; plain && i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        plain = isgraph(c) && c != '"' && c != '\'' && c != '\\';
    }
    if (plain) {
        dbuf_add(b, p, n);
        return;
    }
    dbuf_add(b, "\"", 1);
    dbuf_escape(b, p, n);
    dbuf_add(b, "\"", 1);
}

void script_format_item(dbuf *b, const item *it)
{
    switch (it->kind) {
    case ITEM_RESP:
        dbuf_printf(b, "@resp%d", it->arg);
        return;
    case ITEM_SLEEP:
        dbuf_printf(b, "@sleep %d", it->arg);
        return;
    case ITEM_FLUSHALL:
        dbuf_puts(b, "@flushall");
        return;
    case ITEM_CHECK:
        dbuf_puts(b, "@check");
        return;
    case ITEM_RECONNECT:
        dbuf_puts(b, "@reconnect");
        return;
    default:
        break;
    }
    if (it->cmp != CMP_DEFAULT && it->cmp != cmp_for_command(it->argc, it->argv, it->lens))
        dbuf_printf(b, "@%s ", cmp_name(it->cmp));
    for (int i = 0; i < it->argc; i++) {
        if (i)
            dbuf_add(b, " ", 1);
        script_format_arg(b, it->argv[i], it->lens[i]);
    }
}
