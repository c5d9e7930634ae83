/*
 * command.c: the command table (built from commands.def), key extraction,
 * and the COMMAND command. Running a command is dispatch.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "cmd/docs.h"
#include "ds/alloc.h"
#include "ds/dict.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/reply.h"

static struct command table[] = {
#define CMD_ROW(n, p, ar, fl, f, l, s, acl, ks, tips, grp, since, sum, cx, syn)                    \
    {n, NULL, p, ar, fl, f, l, s, acl, ks, tips, grp, since, sum, cx, syn, NULL},
#define CONTAINER_ROW(n, ar, fl, acl, grp, since, sum, cx)                                         \
    {n, NULL, NULL, ar, fl, 0, 0, 0, acl, "", "", grp, since, sum, cx, "", NULL},
#define SUB_ROW(par, sub, p, ar, fl, f, l, s, acl, ks, tips, since, sum, cx, syn)                  \
    {par "|" sub, sub, p, ar, fl, f, l, s, acl, ks, tips, NULL, since, sum, cx, syn, par},
#include "cmd/commands.def"
#undef CMD_ROW
#undef CONTAINER_ROW
#undef SUB_ROW
};
#define NCOMMANDS ((int)(sizeof(table) / sizeof(table[0])))

static const char *flag_names[] = {
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "may_replicate",
    "sentinel",
    "only_sentinel",
    "no_mandatory_keys",
    "protected",
    "",
    "",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
};
#define NFLAGS ((int)(sizeof(flag_names) / sizeof(flag_names[0])))

/* longtail's own properties of commands, at bit CMD_LT_FIRST on (never in
 * COMMAND INFO): the order matches the CMD_LT_* bits of command.h. */
static const char *lt_flag_names[] = {
    "lt_meta",      "lt_no_prefetch", "lt_in_multi",  "lt_exec",   "lt_select",
    "lt_keys_sort", "lt_keys_move",   "lt_keys_copy", "lt_swapdb",
};
#define NLTFLAGS ((int)(sizeof(lt_flag_names) / sizeof(lt_flag_names[0])))

static const char *acl_names[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting",
};
#define NACLS ((int)(sizeof(acl_names) / sizeof(acl_names[0])))

static dict *lookup_table;

static const dict_type cmd_dict_type = {dict_cstr_nocase_hash, dict_cstr_nocase_eq, NULL, NULL};

/* The bits of the space-separated words of s: names[i] is bit shift + i. */
static uint64_t parse_words(const char *s, const char **names, int n, int shift, const char *what,
                            const char *cmd)
{
    uint64_t bits = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, " ");
        if (!len)
            break;
        int found = 0;
        for (int i = 0; i < n; i++) {
            if (strlen(names[i]) == len && !strncmp(names[i], s, len)) {
                bits |= 1ull << (shift + i);
                found = 1;
            }
        }
        /* the first pass (shift 0) leaves longtail's "lt_" words to the
         * second, which leaves Redis's to the first */
        int lt = strncmp(s, "lt_", 3) == 0;
        if (!found && lt == (shift != 0)) {
            fprintf(stderr, "commands.def: unknown %s '%.*s' in %s\n", what, (int)len, s, cmd);
            abort();
        }
        s += len;
    }
    return bits;
}

void command_table_init(void)
{
    lookup_table = dict_create(&cmd_dict_type);
    for (int i = 0; i < NCOMMANDS; i++) {
        struct command *c = &table[i];
        /* Redis's flags, then longtail's own (unknown words are errors in
         * exactly one of the two passes) */
        c->flags =
            parse_words(c->flags_str, flag_names, NFLAGS, 0, "flag", c->name) |
            parse_words(c->flags_str, lt_flag_names, NLTFLAGS, CMD_LT_FIRST, "flag", c->name);
        c->acl = parse_words(c->acl_str, acl_names, NACLS, 0, "acl category", c->name);
        if (c->parent_name)
            continue;
        dict_add(lookup_table, (void *)c->name, c);
    }
    for (int i = 0; i < NCOMMANDS; i++) {
        struct command *c = &table[i];
        if (!c->parent_name)
            continue;
        dict_entry *e = dict_find(lookup_table, (void *)c->parent_name);
        if (!e) {
            fprintf(stderr, "commands.def: %s has no parent\n", c->name);
            abort();
        }
        struct command *p = e->v.val;
        c->parent = p;
        c->group = p->group;
        p->subs = heap_realloc(p->subs, sizeof(*p->subs) * (size_t)(p->nsubs + 1));
        p->subs[p->nsubs++] = c;
    }
}

const struct command *command_lookup(const str name)
{
    dict_entry *e = dict_find(lookup_table, name);
    return e ? e->v.val : NULL;
}

static const struct command *command_sub(const struct command *p, const char *name)
{
    for (int i = 0; i < p->nsubs; i++)
        if (!strcasecmp(p->subs[i]->subname, name))
            return p->subs[i];
    return NULL;
}

const struct command *command_resolve_from(const struct command *top, int argc, str *argv)
{
    if (!top || !top->nsubs || argc < 2)
        return top;
    return command_sub(top, argv[1]);
}

const struct command *command_resolve(int argc, str *argv)
{
    return command_resolve_from(command_lookup(argv[0]), argc, argv);
}

int command_count_all(void)
{
    return NCOMMANDS;
}

struct command *command_at(int i)
{
    return i >= 0 && i < NCOMMANDS ? &table[i] : NULL;
}

void command_reset_stats(void)
{
    for (int i = 0; i < NCOMMANDS; i++) {
        table[i].calls = table[i].usec = table[i].rejected_calls = table[i].failed_calls = 0;
        free(table[i].latency);
        table[i].latency = NULL;
    }
}

/* ---- keys ---------------------------------------------------------------- */

/* One parsed key spec (the commands.def string form). begin: an index
 * ("N"), a keyword search ("@KEYWORD,STARTFROM") or unknown ("?"); find: a
 * range ("LASTKEY,STEP,LIMIT"), a key count ("#KEYNUMIDX,FIRSTKEY,STEP") or
 * unknown ("?"). */
struct keyspec {
    const char *flags, *flags_end;
    char begin_type; /* 'i' index, 'k' keyword, '?' */
    long index;
    const char *keyword;
    size_t keyword_len;
    long startfrom;
    char find_type; /* 'r' range, 'n' keynum, '?' */
    long lastkey, keystep, limit;
    long keynumidx, firstkey;
    const char *notes, *notes_end; /* NULL when none */
};

/* Parses the spec in [p, end); 0, or -1 when malformed (caught by the
 * table check at start-up). */
static int keyspec_parse(const char *p, const char *end, struct keyspec *ks)
{
    const char *bar1 = memchr(p, '|', (size_t)(end - p));
    const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1)) : NULL;
    if (!bar1 || !bar2)
        return -1;
    const char *bar3 = memchr(bar2 + 1, '|', (size_t)(end - bar2 - 1));
    ks->flags = p;
    ks->flags_end = bar1;
    ks->notes = bar3 ? bar3 + 1 : NULL;
    ks->notes_end = bar3 ? end : NULL;
    const char *b = bar1 + 1;
    char *q;
    if (*b == '?') {
        ks->begin_type = '?';
    } else if (*b == '@') {
        const char *comma = memchr(b, ',', (size_t)(bar2 - b));
        if (!comma)
            return -1;
        ks->begin_type = 'k';
        ks->keyword = b + 1;
        ks->keyword_len = (size_t)(comma - b - 1);
        ks->startfrom = strtol(comma + 1, NULL, 10);
    } else {
        ks->begin_type = 'i';
        ks->index = strtol(b, NULL, 10);
    }
    const char *f = bar2 + 1;
    if (*f == '?') {
        ks->find_type = '?';
    } else if (*f == '#') {
        ks->find_type = 'n';
        ks->keynumidx = strtol(f + 1, &q, 10);
        ks->firstkey = strtol(q + 1, &q, 10);
        ks->keystep = strtol(q + 1, NULL, 10);
    } else {
        ks->find_type = 'r';
        ks->lastkey = strtol(f, &q, 10);
        ks->keystep = strtol(q + 1, &q, 10);
        ks->limit = strtol(q + 1, NULL, 10);
    }
    return 0;
}

/* Walks a command's key specs: parses the one at *p into ks and moves *p
 * past it; 0 at the end. A malformed spec reads as unknown begin and find
 * (no keys), so the count of specs never changes. */
static int keyspec_next(const char **p, struct keyspec *ks)
{
    if (!**p)
        return 0;
    const char *end = strchr(*p, ';');
    if (!end)
        end = *p + strlen(*p);
    if (keyspec_parse(*p, end, ks) != 0) {
        memset(ks, 0, sizeof(*ks));
        ks->flags = ks->flags_end = *p;
        ks->begin_type = ks->find_type = '?';
    }
    *p = *end ? end + 1 : end;
    return 1;
}

/* The argv index where the spec's keys begin, or -1 (keyword absent). */
static int keyspec_begin(const struct keyspec *ks, int argc, str *argv)
{
    if (ks->begin_type == 'i')
        return ks->index < argc ? (int)ks->index : -1;
    if (ks->begin_type != 'k')
        return -1;
    long from = ks->startfrom >= 0 ? ks->startfrom : argc + ks->startfrom;
    long to = ks->startfrom >= 0 ? argc - 1 : 1;
    long dir = ks->startfrom >= 0 ? 1 : -1;
    for (long i = from; i >= 1 && i < argc && (dir > 0 ? i <= to : i >= to); i += dir) {
        if (str_len(argv[i]) == ks->keyword_len &&
            !strncasecmp(argv[i], ks->keyword, ks->keyword_len))
            return i + 1 < argc ? (int)(i + 1) : -1;
    }
    return -1;
}

/* Adds the keys of one spec; returns the new count n. */
static int keyspec_keys(const struct keyspec *ks, int argc, str *argv, struct keyref *refs, int max,
                        int n)
{
    int first = keyspec_begin(ks, argc, argv);
    if (first < 0 || ks->find_type == '?')
        return n;
    long last, step = ks->keystep > 0 ? ks->keystep : 1;
    if (ks->find_type == 'r') {
        if (ks->lastkey >= 0)
            last = first + ks->lastkey;
        else if (ks->limit <= 1)
            last = argc + ks->lastkey;
        else
            last = first + (argc - first) / ks->limit + ks->lastkey;
    } else {
        long idx = first + ks->keynumidx;
        long long nk;
        if (idx >= argc || !util_str2ll(argv[idx], str_len(argv[idx]), &nk) || nk <= 0 || nk > argc)
            return n;
        first += (int)ks->firstkey;
        last = first + (nk - 1) * step;
    }
    if (last >= argc)
        return n; /* the command rejects these arguments itself */
    for (long i = first; i <= last; i += step) {
        if (n < max) {
            refs[n].argi = (int)i;
            refs[n].dbindex = -1;
        }
        n++;
    }
    return n;
}

/* SORT's STORE destination, whose key spec is "unknown": options are
 * skipped with their arguments (LIMIT 2, BY and GET 1) and the last STORE
 * followed by an argument wins, as SORT itself reads them. Returns the new
 * count n. */
static int sort_store_key(int argc, str *argv, struct keyref *refs, int max, int n)
{
    int dst = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcasecmp(argv[i], "limit"))
            i += 2;
        else if (!strcasecmp(argv[i], "get") || !strcasecmp(argv[i], "by"))
            i += 1;
        else if (!strcasecmp(argv[i], "store") && i + 1 < argc)
            dst = i + 1; /* its argument is looked at as an option too, as Redis does */
    }
    if (!dst)
        return n;
    if (n < max) {
        refs[n].argi = dst;
        refs[n].dbindex = -1;
    }
    return n + 1;
}

/* MOVE key db: the key in the other db too. COPY src dst DB n: the
 * destination in db n. Returns the new count n. */
static int other_db_key(const struct command *cmd, int argc, str *argv, struct keyref *refs,
                        int max, int n)
{
    long long other = -1;
    int argi = 0;
    if ((cmd->flags & CMD_LT_KEYS_MOVE) && argc == 3) {
        if (util_str2ll(argv[2], str_len(argv[2]), &other))
            argi = 1;
    } else if (cmd->flags & CMD_LT_KEYS_COPY) {
        for (int i = 3; i + 1 < argc; i++) {
            if (!strcasecmp(argv[i], "db") &&
                util_str2ll(argv[i + 1], str_len(argv[i + 1]), &other)) {
                argi = 2;
                break;
            }
        }
    }
    if (!argi || other < 0 || other >= keyspace_count())
        return n;
    if (n < max) {
        refs[n].argi = argi;
        refs[n].dbindex = (int)other;
    }
    return n + 1;
}

int command_get_keys(const struct command *cmd, int argc, str *argv, struct keyref *refs, int max)
{
    int n = 0;
    const char *p = cmd->keyspecs;
    struct keyspec ks;
    while (keyspec_next(&p, &ks))
        n = keyspec_keys(&ks, argc, argv, refs, max, n);
    if (cmd->flags & CMD_LT_KEYS_SORT)
        n = sort_store_key(argc, argv, refs, max, n);
    return other_db_key(cmd, argc, argv, refs, max, n);
}

int command_keys_alloc(const struct command *cmd, int argc, str *argv, struct keyref **refs)
{
    int n = command_get_keys(cmd, argc, argv, NULL, 0);
    *refs = heap_malloc((size_t)(n ? n : 1) * sizeof(**refs));
    return command_get_keys(cmd, argc, argv, *refs, n);
}

/* ---- COMMAND ------------------------------------------------------------- */

static int popcount64(uint64_t v)
{
    int n = 0;
    while (v) {
        v &= v - 1;
        n++;
    }
    return n;
}

/* Counts the space-separated words in [p, end). */
static int count_words(const char *p, const char *end)
{
    int n = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        n++;
        while (p < end && *p != ' ')
            p++;
    }
    return n;
}

/* Replies each word of [p, end) as a simple string (flags) or a bulk
 * string (tips). */
static void reply_words(client *c, const char *p, const char *end, int bulk)
{
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        if (p > w) {
            if (bulk)
                reply_bulk(c, w, (size_t)(p - w));
            else
                reply_status_len(c, w, (size_t)(p - w));
        }
    }
}

/* "type" NAME "spec" {names[i]: vals[i]...}: a begin_search or find_keys
 * map's body, as COMMAND INFO shows it. */
static void reply_search(client *c, const char *type, int n, const char *const *names,
                         const long *vals)
{
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, type);
    reply_bulk_cstr(c, "spec");
    reply_map(c, n);
    for (int i = 0; i < n; i++) {
        reply_bulk_cstr(c, names[i]);
        reply_long(c, vals[i]);
    }
}

/* One key spec as COMMAND INFO shows it (Redis's map layout). */
static void reply_one_keyspec(client *c, const struct keyspec *ks)
{
    reply_map(c, ks->notes ? 4 : 3);
    if (ks->notes) {
        reply_bulk_cstr(c, "notes");
        reply_bulk(c, ks->notes, (size_t)(ks->notes_end - ks->notes));
    }
    reply_bulk_cstr(c, "flags");
    reply_set(c, count_words(ks->flags, ks->flags_end));
    reply_words(c, ks->flags, ks->flags_end, 0);
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    if (ks->begin_type == 'i') {
        static const char *const names[] = {"index"};
        reply_search(c, "index", 1, names, (long[]){ks->index});
    } else if (ks->begin_type == 'k') {
        reply_bulk_cstr(c, "type");
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk(c, ks->keyword, ks->keyword_len);
        reply_bulk_cstr(c, "startfrom");
        reply_long(c, ks->startfrom);
    } else {
        reply_search(c, "unknown", 0, NULL, NULL);
    }
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    if (ks->find_type == 'r') {
        static const char *const names[] = {"lastkey", "keystep", "limit"};
        reply_search(c, "range", 3, names, (long[]){ks->lastkey, ks->keystep, ks->limit});
    } else if (ks->find_type == 'n') {
        static const char *const names[] = {"keynumidx", "firstkey", "keystep"};
        reply_search(c, "keynum", 3, names, (long[]){ks->keynumidx, ks->firstkey, ks->keystep});
    } else {
        reply_search(c, "unknown", 0, NULL, NULL);
    }
}

static void reply_keyspecs(client *c, const struct command *cmd)
{
    const char *p = cmd->keyspecs;
    int n = 0;
    for (const char *q = p; *q; q++)
        n += *q == ';';
    n += *p != 0;
    reply_set(c, n);
    struct keyspec ks;
    while (keyspec_next(&p, &ks))
        reply_one_keyspec(c, &ks);
}

static void reply_command_info(client *c, const struct command *cmd)
{
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_long(c, cmd->arity);
    /* "protected" is hidden, as Redis hides it */
    uint64_t shown = cmd->flags & CMD_REDIS_FLAGS & ~CMD_PROTECTED;
    reply_set(c, popcount64(shown));
    for (int i = 0; i < NFLAGS; i++)
        if (shown & (1ull << i))
            reply_status(c, flag_names[i]);
    reply_long(c, cmd->first);
    reply_long(c, cmd->last);
    reply_long(c, cmd->step);
    reply_set(c, popcount64(cmd->acl));
    for (int i = 0; i < NACLS; i++) {
        if (cmd->acl & (1ull << i)) {
            char buf[32];
            snprintf(buf, sizeof(buf), "@%s", acl_names[i]);
            reply_status(c, buf);
        }
    }
    const char *tips_end = cmd->tips + strlen(cmd->tips);
    reply_set(c, count_words(cmd->tips, tips_end));
    reply_words(c, cmd->tips, tips_end, 1);
    reply_keyspecs(c, cmd);
    /* Redis: an empty set when there are none, an array otherwise */
    if (cmd->nsubs)
        reply_array(c, cmd->nsubs);
    else
        reply_set(c, 0);
    for (int i = 0; i < cmd->nsubs; i++)
        reply_command_info(c, cmd->subs[i]);
}

static void reply_command_docs(client *c, const struct command *cmd)
{
    int has_args = docs_has_arguments(cmd);
    int fields = 4 + has_args + (cmd->nsubs ? 1 : 0);
    reply_map(c, fields);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, cmd->group);
    reply_bulk_cstr(c, "complexity");
    reply_bulk_cstr(c, cmd->complexity);
    if (has_args) {
        reply_bulk_cstr(c, "arguments");
        docs_reply_arguments(c, cmd);
    }
    if (cmd->nsubs) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, cmd->nsubs);
        for (int i = 0; i < cmd->nsubs; i++) {
            reply_bulk_cstr(c, cmd->subs[i]->name);
            reply_command_docs(c, cmd->subs[i]);
        }
    }
}

static int top_level_count(void)
{
    int n = 0;
    for (int i = 0; i < NCOMMANDS; i++)
        n += table[i].parent_name == NULL;
    return n;
}

void cmd_command(client *c)
{
    reply_array(c, top_level_count());
    for (int i = 0; i < NCOMMANDS; i++)
        if (!table[i].parent_name)
            reply_command_info(c, &table[i]);
}

void cmd_command_count(client *c)
{
    reply_long(c, top_level_count());
}

/* "name" or "parent|sub" */
static const struct command *command_by_fullname(const char *name)
{
    const char *bar = strchr(name, '|');
    if (!bar) {
        str s = str_from_cstr(name);
        const struct command *cmd = command_lookup(s);
        str_free(s);
        return cmd;
    }
    str parent = str_new(name, (size_t)(bar - name));
    const struct command *p = command_lookup(parent);
    str_free(parent);
    return p ? command_sub(p, bar + 1) : NULL;
}

void cmd_command_info(client *c)
{
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = command_by_fullname(c->argv[i]);
        if (cmd)
            reply_command_info(c, cmd);
        else
            reply_null(c);
    }
}

void cmd_command_docs(client *c)
{
    if (c->argc == 2) {
        reply_map(c, top_level_count());
        for (int i = 0; i < NCOMMANDS; i++) {
            if (table[i].parent_name)
                continue;
            reply_bulk_cstr(c, table[i].name);
            reply_command_docs(c, &table[i]);
        }
        return;
    }
    int n = 0;
    for (int i = 2; i < c->argc; i++)
        n += command_by_fullname(c->argv[i]) != NULL;
    reply_map(c, n);
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = command_by_fullname(c->argv[i]);
        if (!cmd)
            continue;
        reply_bulk_cstr(c, cmd->name);
        reply_command_docs(c, cmd);
    }
}

void cmd_command_list(client *c)
{
    int mode = 0; /* 0 all, 1 module, 2 aclcat, 3 pattern */
    const char *arg = NULL;
    if (c->argc == 5 && !strcasecmp(c->argv[2], "filterby")) {
        arg = c->argv[4];
        if (!strcasecmp(c->argv[3], "module"))
            mode = 1;
        else if (!strcasecmp(c->argv[3], "aclcat"))
            mode = 2;
        else if (!strcasecmp(c->argv[3], "pattern"))
            mode = 3;
        else {
            reply_error_syntax(c);
            return;
        }
    } else if (c->argc != 2) {
        reply_error_syntax(c);
        return;
    }
    uint64_t aclbit = 0;
    if (mode == 2) {
        for (int i = 0; i < NACLS; i++)
            if (!strcasecmp(acl_names[i], arg))
                aclbit = 1ull << i;
    }
    void *h = reply_defer_len(c);
    long long n = 0;
    for (int i = 0; i < NCOMMANDS; i++) {
        const struct command *cmd = &table[i];
        if (mode == 1)
            continue;
        if (mode == 2 && !(cmd->acl & aclbit))
            continue;
        if (mode == 3 && !util_glob_match(arg, strlen(arg), cmd->name, strlen(cmd->name), 1))
            continue;
        reply_bulk_cstr(c, cmd->name);
        n++;
    }
    reply_set_array_len(c, h, n);
}

void cmd_command_getkeys(client *c)
{
    str *argv = c->argv + 2;
    int argc = c->argc - 2;
    const struct command *cmd = command_resolve(argc, argv);
    if (!cmd) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    struct keyref *refs;
    int n = command_keys_alloc(cmd, argc, argv, &refs);
    /* other-db references are not part of the key spec */
    int shown = 0;
    for (int i = 0; i < n; i++)
        shown += refs[i].dbindex < 0;
    if (shown == 0) {
        free(refs);
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    reply_array(c, shown);
    for (int i = 0; i < n; i++)
        if (refs[i].dbindex < 0)
            reply_bulk_str(c, argv[refs[i].argi]);
    free(refs);
}

void reply_error_arity(client *c)
{
    reply_error_fmt(c, "ERR wrong number of arguments for '%s' command",
                    c->cmd ? c->cmd->name : c->argv[0]);
}

void cmd_command_help(client *c)
{
    static const char *lines[] = {
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        NULL,
    };
    reply_help(c, "COMMAND", lines);
}

/* ---- README table -------------------------------------------------------- */

void command_print_markdown(void)
{
    printf("| command | group | arguments | summary |\n");
    printf("| --- | --- | --- | --- |\n");
    for (int i = 0; i < NCOMMANDS; i++) {
        const struct command *cmd = &table[i];
        if (!cmd->proc)
            continue;
        char name[96];
        snprintf(name, sizeof(name), "%s", cmd->name);
        for (char *p = name; *p; p++)
            *p = *p == '|' ? ' ' : (char)toupper((unsigned char)*p);
        printf("| %s | %s | ", name, cmd->group ? cmd->group : "");
        if (cmd->syntax && cmd->syntax[0]) {
            /* a '|' inside a table cell must be escaped, even in code */
            putchar('`');
            for (const char *p = cmd->syntax; *p; p++) {
                if (*p == '|')
                    putchar('\\');
                putchar(*p);
            }
            putchar('`');
        }
        printf(" | %s |\n", cmd->summary);
    }
}
