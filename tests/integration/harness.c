/*
 * harness.c: servers as child processes, connections with our own RESP2/RESP3
 * reader, canonical reply text, and the count of tests and checks (see
 * harness.h).
 *
 * Invariants: every fork()ed server gets PR_SET_PDEATHSIG so it never
 * outlives the test; a connection's socket is non-blocking and every wait on
 * it goes through poll() with the connection's timeout, and while a send is
 * blocked the harness keeps reading replies into the buffer, so a server that
 * stops reading until its replies are consumed cannot deadlock a pipeline.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int lt_verbose;

/* ---- misc --------------------------------------------------------------- */

long long lt_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long lt_now_ms(void)
{
    return lt_now_us() / 1000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

unsigned long long lt_rand_next(unsigned long long *state)
{
    unsigned long long x = *state ? *state : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

const char *lt_server_path(const char *given, const char *dflt)
{
    static char *resolved;
    if (given && *given)
        return given;
    const char *env = getenv("LT_SERVER");
    if (env && *env)
        return env;
    if (!strchr(dflt, '/') || dflt[0] == '/')
        return dflt;
    /* A relative default is relative to this binary, not to the cwd. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return dflt;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    free(resolved);
    if (asprintf(&resolved, "%s/%s", exe, dflt) < 0)
        return dflt;
    return resolved;
}

int lt_opts_parse(lt_opts *o, int argc, char **argv, const char *name)
{
    const char *given = NULL;
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else if (strcmp(argv[i], "--reference") == 0) {
            o->reference = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            lt_verbose = 1;
        } else {
            fprintf(stderr, "usage: %s [--server PATH] [--reference] [-v]\n", name);
            return -1;
        }
    }
    if (o->reference)
        o->server = given ? given : "redis-server";
    else
        o->server = lt_server_path(given, "../../longtail-server");
    return 0;
}

/* ---- growable buffer ---------------------------------------------------- */

void lt_buf_append(lt_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lt_buf_puts(lt_buf *b, const char *s)
{
    lt_buf_append(b, s, strlen(s));
}

void lt_buf_printf(lt_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        lt_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lt_buf_append(b, big, (size_t)n);
    free(big);
}

char *lt_buf_take(lt_buf *b)
{
    if (!b->p)
        lt_buf_append(b, "", 0);
    char *p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    lt_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        lt_buf_append(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return lt_buf_take(&b);
}

/* ---- tests and checks --------------------------------------------------- */

/* Checks of the whole run (reply comparisons and other checks, failed ones
 * of either kind), of the open test, and the tests themselves. */
typedef struct check_counts {
    long replies, others, failed;
} check_counts;
static check_counts checks_all, checks_test, checks_outside;
static char *test_name; /* the open test, or NULL */
static int tests_begun, tests_passed, tests_failed, tests_skipped;
static int tests_planned = -1;

void lt_plan(int ntests)
{
    tests_planned = ntests;
    /* tests/run-all.sh reads it when the program dies before its summary */
    printf("plan: %d tests\n", ntests);
    fflush(stdout);
}

int lt_test_end(void)
{
    if (!test_name)
        return 0;
    long n = checks_test.replies + checks_test.others;
    /* A test that checked nothing proves nothing: it fails. */
    int ok = checks_test.failed == 0 && n > 0;
    if (n == 0) {
        tests_failed++;
        printf("[FAILED] %s: made no check\n", test_name);
    } else if (ok) {
        tests_passed++;
        printf("[ok] %s: %ld reply comparison%s, %ld other check%s\n", test_name,
               checks_test.replies, checks_test.replies == 1 ? "" : "s", checks_test.others,
               checks_test.others == 1 ? "" : "s");
    } else {
        tests_failed++;
        printf("[FAILED] %s: %ld of %ld check%s failed\n", test_name, checks_test.failed, n,
               n == 1 ? "" : "s");
    }
    fflush(stdout);
    free(test_name);
    test_name = NULL;
    return ok;
}

void lt_test_skip(const char *why)
{
    if (!test_name)
        return;
    if (checks_test.replies + checks_test.others > 0) {
        lt_test_end();
        return;
    }
    tests_skipped++;
    printf("[skipped] %s: %s\n", test_name, why);
    fflush(stdout);
    free(test_name);
    test_name = NULL;
}

void lt_test_begin(const char *name)
{
    lt_test_end();
    test_name = xstrdup(name);
    tests_begun++;
    memset(&checks_test, 0, sizeof(checks_test));
    if (lt_verbose)
        printf("---- test: %s\n", name);
}

int lt_checks_failed(void)
{
    return (int)(checks_all.failed + checks_outside.failed);
}

int lt_test_checks_failed(void)
{
    return test_name ? (int)checks_test.failed : 0;
}

void lt_count_check(int reply, int ok)
{
    /* Outside a test a check is counted apart and makes the run fail. */
    check_counts *into[2] = {test_name ? &checks_test : &checks_outside, &checks_all};
    for (int i = 0; i < 2; i++) {
        if (reply)
            into[i]->replies++;
        else
            into[i]->others++;
        if (!ok)
            into[i]->failed++;
    }
}

static int check_vat(int reply, const char *file, int line, int ok, const char *fmt, va_list ap)
{
    lt_count_check(reply, ok);
    if (ok)
        return 1;
    printf("FAIL %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return 0;
}

int lt_check_at(const char *file, int line, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ok = check_vat(0, file, line, ok, fmt, ap);
    va_end(ap);
    return ok;
}

int lt_check_replied_at(const char *file, int line, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ok = check_vat(1, file, line, ok, fmt, ap);
    va_end(ap);
    return ok;
}

int lt_check_reply_at(const char *file, int line, const lt_reply *r, const char *expected,
                      const char *what)
{
    char *got = r ? lt_reply_format(r) : xstrdup("(no reply)");
    int ok = strcmp(got, expected) == 0;
    lt_check_replied_at(file, line, ok, "%s\n    expected: %s\n    got:      %s", what, expected,
                        got);
    free(got);
    return ok;
}

int lt_report(const char *name)
{
    lt_test_end();
    int failed = tests_failed;
    long outside = checks_outside.replies + checks_outside.others;
    if (outside > 0) {
        printf("[FAILED] %ld check%s outside any test (every check belongs to a test)\n", outside,
               outside == 1 ? "" : "s");
        failed++;
    }
    if (tests_planned >= 0 && tests_begun < tests_planned) {
        printf("[FAILED] %d planned test%s did not run\n", tests_planned - tests_begun,
               tests_planned - tests_begun == 1 ? "" : "s");
        failed += tests_planned - tests_begun;
    } else if (tests_planned >= 0 && tests_begun > tests_planned) {
        printf("[FAILED] %d tests ran, %d planned: the plan is wrong\n", tests_begun,
               tests_planned);
        failed++;
    }
    if (tests_skipped)
        printf("%s: %d test%s skipped\n", name, tests_skipped, tests_skipped == 1 ? "" : "s");
    printf("%s: checks: %ld reply comparisons, %ld other checks, %ld failed\n", name,
           checks_all.replies + checks_outside.replies, checks_all.others + checks_outside.others,
           checks_all.failed + checks_outside.failed);
    printf("%s: %d passed, %d failed\n", name, tests_passed, failed);
    fflush(stdout);
    return failed ? 1 : 0;
}

/* ---- canonical text ----------------------------------------------------- */

void lt_escape(lt_buf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '"':
            lt_buf_puts(out, "\\\"");
            break;
        case '\\':
            lt_buf_puts(out, "\\\\");
            break;
        case '\r':
            lt_buf_puts(out, "\\r");
            break;
        case '\n':
            lt_buf_puts(out, "\\n");
            break;
        case '\t':
            lt_buf_puts(out, "\\t");
            break;
        default:
            if (ch < 0x20 || ch >= 0x7f)
                lt_buf_printf(out, "\\x%02x", ch);
            else
                lt_buf_append(out, &p[i], 1);
        }
    }
}

static void quote(lt_buf *out, const char *p, size_t n)
{
    lt_buf_puts(out, "\"");
    lt_escape(out, p, n);
    lt_buf_puts(out, "\"");
}

static int cmp_strptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void format_into(lt_buf *out, const lt_reply *r);

/* Elements of an aggregate, each formatted; maps format "k:v" per entry. */
static char **format_elements(const lt_reply *r, size_t *count)
{
    int is_map = r->type == '%' || r->type == '|';
    size_t n = r->n;
    char **v = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        lt_buf b = {0};
        if (is_map) {
            format_into(&b, r->elem[2 * i]);
            lt_buf_puts(&b, ":");
            format_into(&b, r->elem[2 * i + 1]);
        } else {
            format_into(&b, r->elem[i]);
        }
        v[i] = lt_buf_take(&b);
    }
    *count = n;
    return v;
}

static void format_aggregate(lt_buf *out, const lt_reply *r, const char *open, const char *close,
                             int sorted)
{
    size_t n;
    char **v = format_elements(r, &n);
    if (sorted && n > 1)
        qsort(v, n, sizeof(char *), cmp_strptr);
    lt_buf_printf(out, "%c%zu%s", r->type, n, open);
    for (size_t i = 0; i < n; i++) {
        if (i)
            lt_buf_puts(out, ",");
        lt_buf_puts(out, v[i]);
        free(v[i]);
    }
    free(v);
    lt_buf_puts(out, close);
}

static void format_into(lt_buf *out, const lt_reply *r)
{
    if (r->attr)
        format_aggregate(out, r->attr, "{", "}", 0);
    switch (r->type) {
    case '+':
    case '-':
    case ',':
    case '(':
        lt_buf_append(out, &r->type, 1);
        lt_buf_append(out, r->str, r->len);
        break;
    case ':':
        lt_buf_printf(out, ":%lld", r->integer);
        break;
    case '#':
        lt_buf_puts(out, r->integer ? "#t" : "#f");
        break;
    case '_':
        lt_buf_puts(out, "_");
        break;
    case '$':
        if (r->null)
            lt_buf_puts(out, "(nil)");
        else
            quote(out, r->str, r->len);
        break;
    case '!':
        lt_buf_puts(out, "!");
        quote(out, r->str, r->len);
        break;
    case '=':
        /* "fmt:text": the three-letter format stays readable outside the quotes. */
        lt_buf_puts(out, "=");
        if (r->len >= 4 && r->str[3] == ':') {
            lt_buf_append(out, r->str, 4);
            quote(out, r->str + 4, r->len - 4);
        } else {
            quote(out, r->str, r->len);
        }
        break;
    case '*':
        if (r->null) {
            lt_buf_puts(out, "*(nil)");
            break;
        }
        format_aggregate(out, r, "[", "]", 0);
        break;
    case '>':
        format_aggregate(out, r, "[", "]", 0);
        break;
    case '~':
        format_aggregate(out, r, "{", "}", 1);
        break;
    case '%':
    case '|':
        format_aggregate(out, r, "{", "}", 0);
        break;
    default:
        lt_buf_printf(out, "?type-%d", r->type);
        break;
    }
}

char *lt_reply_format(const lt_reply *r)
{
    lt_buf b = {0};
    format_into(&b, r);
    return lt_buf_take(&b);
}

static void redis_format_into(lt_buf *out, const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        lt_buf_puts(out, "+");
        lt_buf_append(out, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        lt_buf_puts(out, "-");
        lt_buf_append(out, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        lt_buf_printf(out, ":%lld", r->integer);
        break;
    case REDIS_REPLY_STRING:
        quote(out, r->str, r->len);
        break;
    case REDIS_REPLY_ARRAY:
        lt_buf_printf(out, "*%zu[", r->elements);
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                lt_buf_puts(out, ",");
            redis_format_into(out, r->element[i]);
        }
        lt_buf_puts(out, "]");
        break;
    case REDIS_REPLY_NIL:
        lt_buf_puts(out, "(nil)");
        break;
#ifdef REDIS_REPLY_MAP
    /* hiredis >= 1.0 knows RESP3: map its types onto the same text. */
    case REDIS_REPLY_DOUBLE:
        lt_buf_puts(out, ",");
        lt_buf_append(out, r->str, r->len);
        break;
    case REDIS_REPLY_BOOL:
        lt_buf_puts(out, r->integer ? "#t" : "#f");
        break;
    case REDIS_REPLY_BIGNUM:
        lt_buf_puts(out, "(");
        lt_buf_append(out, r->str, r->len);
        break;
    case REDIS_REPLY_VERB:
        lt_buf_printf(out, "=%s:", r->vtype);
        quote(out, r->str, r->len);
        break;
    case REDIS_REPLY_MAP:
    case REDIS_REPLY_ATTR:
        lt_buf_printf(out, "%c%zu{", r->type == REDIS_REPLY_MAP ? '%' : '|', r->elements / 2);
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (i)
                lt_buf_puts(out, ",");
            redis_format_into(out, r->element[i]);
            lt_buf_puts(out, ":");
            redis_format_into(out, r->element[i + 1]);
        }
        lt_buf_puts(out, "}");
        break;
    case REDIS_REPLY_SET:
    case REDIS_REPLY_PUSH: {
        int set = r->type == REDIS_REPLY_SET;
        char **v = xcalloc(r->elements, sizeof(char *));
        for (size_t i = 0; i < r->elements; i++) {
            lt_buf b = {0};
            redis_format_into(&b, r->element[i]);
            v[i] = lt_buf_take(&b);
        }
        if (set && r->elements > 1)
            qsort(v, r->elements, sizeof(char *), cmp_strptr);
        lt_buf_printf(out, "%c%zu%s", set ? '~' : '>', r->elements, set ? "{" : "[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                lt_buf_puts(out, ",");
            lt_buf_puts(out, v[i]);
            free(v[i]);
        }
        free(v);
        lt_buf_puts(out, set ? "}" : "]");
        break;
    }
#endif
    default:
        lt_buf_printf(out, "?type-%d", r->type);
        break;
    }
}

char *lt_redis_reply_format(const redisReply *r)
{
    lt_buf b = {0};
    redis_format_into(&b, r);
    return lt_buf_take(&b);
}

void lt_reply_free(lt_reply *r)
{
    if (!r)
        return;
    size_t n = (r->type == '%' || r->type == '|') ? 2 * r->n : r->n;
    for (size_t i = 0; i < n; i++)
        lt_reply_free(r->elem[i]);
    free(r->elem);
    free(r->str);
    lt_reply_free(r->attr);
    free(r);
}

typedef struct sort_item {
    char *text;
    lt_reply *k, *v;
} sort_item;

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const sort_item *)a)->text, ((const sort_item *)b)->text);
}

void lt_reply_sort(lt_reply *r)
{
    if (!r || r->null || r->n < 2)
        return;
    int is_map = r->type == '%';
    if (!is_map && r->type != '*' && r->type != '~' && r->type != '>')
        return;
    sort_item *items = xcalloc(r->n, sizeof(sort_item));
    for (size_t i = 0; i < r->n; i++) {
        lt_buf b = {0};
        items[i].k = r->elem[is_map ? 2 * i : i];
        items[i].v = is_map ? r->elem[2 * i + 1] : NULL;
        format_into(&b, items[i].k);
        if (is_map) {
            lt_buf_puts(&b, ":");
            format_into(&b, items[i].v);
        }
        items[i].text = lt_buf_take(&b);
    }
    qsort(items, r->n, sizeof(sort_item), cmp_item);
    for (size_t i = 0; i < r->n; i++) {
        if (is_map) {
            r->elem[2 * i] = items[i].k;
            r->elem[2 * i + 1] = items[i].v;
        } else {
            r->elem[i] = items[i].k;
        }
        free(items[i].text);
    }
    free(items);
}

/* ---- RESP reader -------------------------------------------------------- */

#define PARSE_DONE      1
#define PARSE_MORE      0
#define PARSE_BAD       (-1)
#define PARSE_MAX_DEPTH 64

/* A line "p[*pos..CRLF)": returns its length and moves *pos past the CRLF. */
static int parse_line(const char *p, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *start = p + *pos;
    const char *end = memchr(start, '\r', len - *pos);
    while (end && (size_t)(end - p) + 1 < len && end[1] != '\n')
        end = memchr(end + 1, '\r', len - (size_t)(end + 1 - p));
    if (!end || (size_t)(end - p) + 1 >= len)
        return PARSE_MORE;
    *line = start;
    *n = (size_t)(end - start);
    *pos = (size_t)(end - p) + 2;
    return PARSE_DONE;
}

static int parse_ll(const char *s, size_t n, long long *out)
{
    char tmp[32];
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static char *copy_text(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int parse_reply(const char *p, size_t len, size_t *pos, lt_reply **out, int depth)
{
    if (depth > PARSE_MAX_DEPTH)
        return PARSE_BAD;
    if (*pos >= len)
        return PARSE_MORE;
    char type = p[*pos];
    size_t at = *pos + 1;
    const char *line;
    size_t n;
    int rc = parse_line(p, len, &at, &line, &n);
    if (rc != PARSE_DONE)
        return rc;
    lt_reply *r = xcalloc(1, sizeof(*r));
    r->type = type;
    long long count;
    switch (type) {
    case '+':
    case '-':
    case ',':
    case '(':
        r->str = copy_text(line, n);
        r->len = n;
        break;
    case ':':
        if (parse_ll(line, n, &r->integer) != 0)
            goto bad;
        break;
    case '#':
        if (n != 1 || (line[0] != 't' && line[0] != 'f'))
            goto bad;
        r->integer = line[0] == 't';
        break;
    case '_':
        if (n != 0)
            goto bad;
        break;
    case '$':
    case '=':
    case '!':
        if (parse_ll(line, n, &count) != 0 || count < -1)
            goto bad;
        if (count == -1) {
            if (type != '$')
                goto bad;
            r->null = 1;
            break;
        }
        if (len - at < (size_t)count + 2) {
            lt_reply_free(r);
            return PARSE_MORE;
        }
        if (p[at + (size_t)count] != '\r' || p[at + (size_t)count + 1] != '\n')
            goto bad;
        r->str = copy_text(p + at, (size_t)count);
        r->len = (size_t)count;
        at += (size_t)count + 2;
        break;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        if (parse_ll(line, n, &count) != 0 || count < -1)
            goto bad;
        if (count == -1) {
            if (type != '*')
                goto bad;
            r->null = 1;
            break;
        }
        size_t items = (size_t)count * ((type == '%' || type == '|') ? 2 : 1);
        /* Every element takes at least 3 bytes: allocate only once they can all be here. */
        if (items > (len - at) / 3) {
            lt_reply_free(r);
            return PARSE_MORE;
        }
        r->n = (size_t)count;
        r->elem = xcalloc(items, sizeof(lt_reply *));
        for (size_t i = 0; i < items; i++) {
            rc = parse_reply(p, len, &at, &r->elem[i], depth + 1);
            if (rc != PARSE_DONE) {
                lt_reply_free(r);
                return rc;
            }
        }
        break;
    }
    default:
        goto bad;
    }
    if (type == '|') {
        /* An attribute precedes the reply it describes. */
        lt_reply *real;
        rc = parse_reply(p, len, &at, &real, depth + 1);
        if (rc != PARSE_DONE) {
            lt_reply_free(r);
            return rc;
        }
        real->attr = r;
        r = real;
    }
    *pos = at;
    *out = r;
    return PARSE_DONE;
bad:
    lt_reply_free(r);
    return PARSE_BAD;
}

/* ---- connections -------------------------------------------------------- */

lt_conn *lt_conn_open(int port, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    signal(SIGPIPE, SIG_IGN);
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!ctx)
        return NULL;
    if (ctx->err) {
        redisFree(ctx);
        return NULL;
    }
    lt_conn *c = xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    c->fd = ctx->fd;
    c->timeout_ms = timeout_ms;
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    return c;
}

void lt_conn_close(lt_conn *c)
{
    if (!c)
        return;
    redisFree(c->ctx);
    free(c->buf);
    free(c);
}

/* Read what the socket has into the buffer. 1 if bytes came, or LT_ERR_*. */
static int conn_fill(lt_conn *c)
{
    if (c->off > 0 && c->off == c->len) {
        c->off = c->len = 0;
    } else if (c->off > (1u << 20) && c->off * 2 > c->len) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 131072;
        while (c->cap - c->len < 65536)
            c->cap *= 2;
        c->buf = xrealloc(c->buf, c->cap);
    }
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n > 0) {
        c->len += (size_t)n;
        return 1;
    }
    if (n == 0)
        return LT_ERR_EOF;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return errno == ECONNRESET ? LT_ERR_EOF : LT_ERR_IO;
}

int lt_conn_send_raw(lt_conn *c, const void *data, size_t n)
{
    const char *p = data;
    long long deadline = mono_ms() + c->timeout_ms;
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            deadline = mono_ms() + c->timeout_ms;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return errno == EPIPE || errno == ECONNRESET ? LT_ERR_EOF : LT_ERR_IO;
        struct pollfd pfd = {c->fd, POLLOUT | POLLIN, 0};
        long long left = deadline - mono_ms();
        if (left <= 0)
            return LT_ERR_TIMEOUT;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return LT_ERR_IO;
        if (pfd.revents & POLLIN) {
            /* Keep replies flowing so the server never waits on us. */
            int rc = conn_fill(c);
            if (rc < 0 && rc != LT_ERR_EOF)
                return rc;
        }
    }
    return LT_OK;
}

int lt_conn_send_argv(lt_conn *c, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0)
        return LT_ERR_IO;
    int rc = lt_conn_send_raw(c, cmd, (size_t)n);
    redisFreeCommand(cmd);
    return rc;
}

#define MAX_CALL_ARGS 256

static int collect_args(const char *arg0, va_list ap, const char **argv)
{
    int argc = 0;
    for (const char *a = arg0; a && argc < MAX_CALL_ARGS; a = va_arg(ap, const char *))
        argv[argc++] = a;
    return argc;
}

int lt_conn_send(lt_conn *c, const char *arg0, ...)
{
    const char *argv[MAX_CALL_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int argc = collect_args(arg0, ap, argv);
    va_end(ap);
    return lt_conn_send_argv(c, argc, argv, NULL);
}

int lt_conn_read(lt_conn *c, lt_reply **out)
{
    *out = NULL;
    long long deadline = mono_ms() + c->timeout_ms;
    for (;;) {
        size_t pos = c->off;
        int rc = parse_reply(c->buf, c->len, &pos, out, 0);
        if (rc == PARSE_DONE) {
            c->off = pos;
            return LT_OK;
        }
        if (rc == PARSE_BAD)
            return LT_ERR_PROTO;
        for (;;) {
            long long left = deadline - mono_ms();
            if (left <= 0)
                return LT_ERR_TIMEOUT;
            struct pollfd pfd = {c->fd, POLLIN, 0};
            int pr = poll(&pfd, 1, (int)left);
            if (pr < 0 && errno != EINTR)
                return LT_ERR_IO;
            if (pr <= 0)
                continue;
            int fr = conn_fill(c);
            if (fr < 0)
                return fr;
            if (fr > 0)
                break;
        }
    }
}

static const char *conn_error_text(int rc)
{
    switch (rc) {
    case LT_ERR_EOF:
        return "connection closed by the server";
    case LT_ERR_TIMEOUT:
        return "timed out";
    case LT_ERR_PROTO:
        return "protocol error in the reply";
    default:
        return strerror(errno);
    }
}

void lt_format_command(lt_buf *b, int argc, const char **argv, const size_t *lens)
{
    lt_buf_printf(b, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        lt_buf_printf(b, "$%zu\r\n", n);
        lt_buf_append(b, argv[i], n);
        lt_buf_append(b, "\r\n", 2);
    }
}

lt_reply *lt_conn_call_argv(lt_conn *c, int argc, const char **argv, const size_t *lens)
{
    lt_reply *r = NULL;
    int rc = lt_conn_send_argv(c, argc, argv, lens);
    if (rc == LT_OK)
        rc = lt_conn_read(c, &r);
    if (rc != LT_OK) {
        printf("harness: %s: %s\n", argc > 0 ? argv[0] : "?", conn_error_text(rc));
        return NULL;
    }
    return r;
}

lt_reply *lt_conn_call(lt_conn *c, const char *arg0, ...)
{
    const char *argv[MAX_CALL_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int argc = collect_args(arg0, ap, argv);
    va_end(ap);
    return lt_conn_call_argv(c, argc, argv, NULL);
}

char *lt_conn_call_text(lt_conn *c, const char *arg0, ...)
{
    const char *argv[MAX_CALL_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int argc = collect_args(arg0, ap, argv);
    va_end(ap);
    lt_reply *r = lt_conn_call_argv(c, argc, argv, NULL);
    if (!r)
        return xstrdup("(error)");
    char *text = lt_reply_format(r);
    lt_reply_free(r);
    return text;
}

int lt_conn_wait_closed(lt_conn *c, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR)
            return 0;
        if (pr <= 0)
            continue;
        int rc = conn_fill(c);
        if (rc == LT_ERR_EOF || rc == LT_ERR_IO)
            return 1;
        /* Bytes before the close (an error reply) are dropped: keep the buffer small. */
        if (rc > 0 && c->len > (1u << 20))
            c->off = c->len = 0;
    }
}

int lt_wait_checkpointed(lt_conn *c, int timeout_ms)
{
    for (int waited = 0;; waited += 10) {
        lt_reply *r = lt_conn_call(c, "INFO", "persistence", NULL);
        long long dirty = -1, busy = -1;
        int known = lt_info_field(r, "checkpoint_dirty_keys", &dirty) == 0 &&
                    lt_info_field(r, "checkpoint_in_progress", &busy) == 0;
        lt_reply_free(r);
        if (!known || (dirty == 0 && busy == 0))
            return 0;
        if (waited >= timeout_ms)
            return -1;
        lt_sleep_ms(10);
    }
}

int lt_info_field(const lt_reply *r, const char *field, long long *out)
{
    if (!r || !r->str || (r->type != '$' && r->type != '='))
        return -1;
    size_t flen = strlen(field);
    const char *p = r->str;
    while (p && *p) {
        if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
            char *end;
            long long v = strtoll(p + flen + 1, &end, 10);
            if (end == p + flen + 1)
                return -1;
            *out = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

long long lt_conn_info(lt_conn *c, const char *section, const char *field)
{
    lt_reply *r = c ? lt_conn_call(c, "INFO", section, NULL) : NULL;
    long long v = -1;
    if (lt_info_field(r, field, &v) != 0)
        v = -1;
    lt_reply_free(r);
    return v;
}

redisContext *lt_connect(const lt_server *s, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!ctx)
        return NULL;
    if (ctx->err) {
        printf("harness: connect to port %d: %s\n", s->port, ctx->errstr);
        redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv);
    return ctx;
}

/* ---- servers ------------------------------------------------------------ */

/* 1 if nothing listens on "port" (IPv4 any address), by binding it ourselves. */
static int port_is_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static int pick_port(void)
{
    static unsigned long long state;
    if (!state)
        state = (unsigned long long)lt_now_us() ^ ((unsigned long long)getpid() << 32);
    for (int i = 0; i < 1000; i++) {
        int port = 20000 + (int)(lt_rand_next(&state) % 40001);
        if (port_is_free(port))
            return port;
    }
    return -1;
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void print_tail(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char **ring = xcalloc((size_t)lines, sizeof(char *));
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof(line), f)) {
        free(ring[count % lines]);
        ring[count % lines] = xstrdup(line);
        count++;
    }
    fclose(f);
    int first = count > lines ? count - lines : 0;
    if (count > 0)
        printf("---- last %d lines of %s ----\n", count - first, path);
    for (int i = first; i < count; i++) {
        const char *l = ring[i % lines];
        printf("%s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
    }
    for (int i = 0; i < lines; i++)
        free(ring[i]);
    free(ring);
}

void lt_server_print_logs(const lt_server *s, int lines)
{
    print_tail(s->log, lines);
    print_tail(s->out, lines);
    fflush(stdout);
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* fork/exec "bin" on "port"; returns the pid or -1. */
static pid_t spawn(const lt_server *s, int port, const char *log, const char *out)
{
    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%d", port);
    const char *argv[LT_MAX_ARGS + 10];
    int argc = 0;
    argv[argc++] = s->bin;
    argv[argc++] = "--port";
    argv[argc++] = port_s;
    argv[argc++] = "--dir";
    argv[argc++] = s->dir;
    argv[argc++] = "--logfile";
    argv[argc++] = log;
    for (int i = 0; i < s->nargs; i++)
        argv[argc++] = s->args[i];
    argv[argc] = NULL;
    if (lt_verbose) {
        printf("harness: starting");
        for (int i = 0; i < argc; i++)
            printf(" %s", argv[i]);
        printf("\n");
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(s->bin, (char *const *)argv);
        fprintf(stderr, "harness: exec %s: %s\n", s->bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Wait until the server on "port" answers PING. 0 ready, -1 died, -2 timeout. */
static int wait_ready(pid_t pid, int port, int timeout_ms, int *status)
{
    long long deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return -1;
        lt_conn *c = lt_conn_open(port, 200);
        if (c) {
            c->timeout_ms = 2000;
            lt_reply *r = NULL;
            if (lt_conn_send(c, "PING", NULL) == LT_OK)
                lt_conn_read(c, &r);
            int ready = r && ((r->type == '+' && strcmp(r->str, "PONG") == 0) ||
                              (r->type == '-' && strncmp(r->str, "NOAUTH", 6) == 0));
            lt_reply_free(r);
            lt_conn_close(c);
            if (ready)
                return 0;
        }
        lt_sleep_ms(10);
    }
    return -2;
}

/* Start on s->port (or a fresh port when "pick"); shared by start and restart. */
static int server_launch(lt_server *s, int pick)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        if (pick) {
            s->port = pick_port();
            if (s->port < 0) {
                printf("harness: no free port found\n");
                return -1;
            }
        }
        s->pid = spawn(s, s->port, s->log, s->out);
        if (s->pid < 0) {
            printf("harness: fork: %s\n", strerror(errno));
            s->pid = 0;
            return -1;
        }
        int status = 0;
        int rc = wait_ready(s->pid, s->port, s->start_timeout_ms, &status);
        if (rc == 0)
            return 0;
        if (rc == -1) {
            s->pid = 0;
            /* Another process took the port between our bind test and the
             * server's, or, for a restart, while the server was down (a
             * parallel test's server): start again on a fresh port. */
            if (file_contains(s->log, "in use") || file_contains(s->out, "in use")) {
                pick = 1;
                continue;
            }
            printf("harness: %s exited during start-up (status %d)\n", s->bin, status_code(status));
        } else {
            printf("harness: %s did not answer PING on port %d within %d ms\n", s->bin, s->port,
                   s->start_timeout_ms);
            lt_server_kill(s);
        }
        lt_server_print_logs(s, 30);
        return -1;
    }
    printf("harness: could not find a port the server could bind\n");
    return -1;
}

int lt_server_start(lt_server *s, const char *bin, const char *const *extra, int nextra)
{
    if (lt_server_prepare(s, bin, extra, nextra) != 0)
        return -1;
    return lt_server_launch(s);
}

int lt_server_launch(lt_server *s)
{
    return server_launch(s, 1);
}

int lt_server_prepare(lt_server *s, const char *bin, const char *const *extra, int nextra)
{
    memset(s, 0, sizeof(*s));
    signal(SIGPIPE, SIG_IGN);
    if (strchr(bin, '/') && bin[0] != '/') {
        /* Absolute, to stay valid whatever the cwd; symlinks are kept as they are, since
         * Debian's redis-server is a link whose name picks what the binary does. */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            printf("harness: getcwd: %s\n", strerror(errno));
            return -1;
        }
        lt_buf b = {0};
        lt_buf_printf(&b, "%s/%s", cwd, bin);
        snprintf(s->bin, sizeof(s->bin), "%s", b.p);
        free(b.p);
    } else {
        snprintf(s->bin, sizeof(s->bin), "%s", bin);
    }
    if (nextra > LT_MAX_ARGS) {
        printf("harness: too many server arguments\n");
        return -1;
    }
    for (int i = 0; i < nextra; i++)
        s->args[s->nargs++] = xstrdup(extra[i]);
    s->start_timeout_ms = 10000;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->root, sizeof(s->root), "%s/lt-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->root)) {
        printf("harness: mkdtemp %s: %s\n", s->root, strerror(errno));
        s->root[0] = '\0';
        return -1;
    }
    snprintf(s->dir, sizeof(s->dir), "%s/data", s->root);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->root);
    snprintf(s->out, sizeof(s->out), "%s/stdout.log", s->root);
    if (mkdir(s->dir, 0755) != 0) {
        printf("harness: mkdir %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

int lt_server_restart(lt_server *s)
{
    if (s->pid > 0) {
        printf("harness: restart while the server still runs\n");
        return -1;
    }
    return server_launch(s, 0);
}

int lt_server_start_second(lt_server *s, int timeout_ms)
{
    int port = pick_port();
    char log[PATH_MAX + 32], out[PATH_MAX + 32];
    snprintf(log, sizeof(log), "%s/second.log", s->root);
    snprintf(out, sizeof(out), "%s/second-stdout.log", s->root);
    pid_t pid = spawn(s, port, log, out);
    if (pid < 0)
        return -1;
    long long deadline = mono_ms() + timeout_ms;
    int status;
    while (mono_ms() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status_code(status);
        lt_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static int server_signal(lt_server *s, int sig, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    long long deadline = mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid)
            break;
        if (w < 0) {
            s->pid = 0;
            return -1;
        }
        if (mono_ms() > deadline) {
            printf("harness: server pid %d ignored signal %d for %d ms: SIGKILL\n", (int)s->pid,
                   sig, timeout_ms);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        lt_sleep_ms(5);
    }
    s->pid = 0;
    return status_code(status);
}

int lt_server_wait(lt_server *s, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    long long deadline = mono_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid) {
            s->pid = 0;
            return status_code(status);
        }
        if (w < 0) {
            s->pid = 0;
            return -1;
        }
        if (mono_ms() > deadline)
            return -2;
        lt_sleep_ms(5);
    }
}

int lt_server_stop(lt_server *s)
{
    return server_signal(s, SIGTERM, 30000);
}

int lt_server_kill(lt_server *s)
{
    return server_signal(s, SIGKILL, 10000);
}

int lt_server_alive(lt_server *s)
{
    if (s->pid <= 0)
        return 0;
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        printf("harness: server pid %d ended (status %d)\n", (int)s->pid, status_code(status));
        s->pid = 0;
        return 0;
    }
    return 1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void lt_server_cleanup(lt_server *s, int failed)
{
    if (s->pid > 0)
        lt_server_kill(s);
    for (int i = 0; i < s->nargs; i++)
        free(s->args[i]);
    s->nargs = 0;
    if (!s->root[0])
        return;
    if (failed) {
        printf("harness: kept the server's directory %s\n", s->root);
    } else {
        nftw(s->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    s->root[0] = '\0';
}
