/*
 * util.c: number parsing/formatting, glob matching, clocks and randomness
 * (util.h).
 *
 * The parsing and formatting rules are Redis 7.0's, checked against a real
 * redis-server 7.0.15: they decide which replies and error strings a client
 * sees, so every quirk is deliberate (e.g. "-0" is not an integer, a long
 * double may be "inf" but not "nan", a stream-ID style unsigned parse falls
 * back to strtoull and so accepts " 1" and "+1"). Changing any of them
 * changes the protocol.
 *
 * Glob matching is recursive only at '*'. Two guards keep pathological
 * patterns ("a*a*a*...b") from taking exponential time, with results
 * identical to Redis: when the rest of a pattern after a '*' matches no
 * suffix of the string, no earlier '*' can help either, so the whole match
 * gives up; and nesting beyond GLOB_MAX_NESTING stars fails the match.
 */
#include "ds/util.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ds/alloc.h"

/* ------------------------------------------------------------------ integers */

/* Digits only, first one non-zero (or the single string "0"), into an
 * unsigned accumulator; returns 0 on anything else or on overflow of max. */
static int parse_digits(const char *p, size_t len, unsigned long long max, unsigned long long *out)
{
    if (len == 0)
        return 0;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 1;
    }
    if (p[0] < '1' || p[0] > '9')
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (max - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

int util_str2ll(const char *s, size_t len, long long *out)
{
    unsigned long long mag;
    if (len > 0 && s[0] == '-') {
        /* "-0" is rejected: the digits after '-' must start with 1-9. */
        if (len == 1 || s[1] == '0')
            return 0;
        if (!parse_digits(s + 1, len - 1, (unsigned long long)LLONG_MAX + 1, &mag))
            return 0;
        if (out)
            *out = mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag;
        return 1;
    }
    if (!parse_digits(s, len, LLONG_MAX, &mag))
        return 0;
    if (out)
        *out = (long long)mag;
    return 1;
}

int util_str2ull(const char *s, size_t len, unsigned long long *out)
{
    /* Redis works on the C string here: anything after a NUL is ignored. */
    const char *nul = memchr(s, '\0', len);
    if (nul)
        len = (size_t)(nul - s);

    long long ll;
    if (util_str2ll(s, len, &ll)) {
        if (ll < 0)
            return 0;
        if (out)
            *out = (unsigned long long)ll;
        return 1;
    }

    /* Not canonical: strtoull decides, with its leniency (leading spaces,
     * '+', leading zeros, and '-' wrapping around), as Redis's stream IDs. */
    char stackbuf[128];
    char *buf = len < sizeof(stackbuf) ? stackbuf : heap_malloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    int ok = !(errno == EINVAL || errno == ERANGE) && len > 0 && *end == '\0';
    if (buf != stackbuf)
        free(buf);
    if (ok && out)
        *out = v;
    return ok;
}

int util_ull2str(char *buf, size_t size, unsigned long long v)
{
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if ((size_t)n > size)
        return 0;
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    if ((size_t)n < size)
        buf[n] = '\0';
    return n;
}

int util_ll2str(char *buf, size_t size, long long v)
{
    if (v >= 0)
        return util_ull2str(buf, size, (unsigned long long)v);
    if (size < 2)
        return 0;
    /* Negate in unsigned arithmetic so LLONG_MIN works. */
    int n = util_ull2str(buf + 1, size - 1, 0ULL - (unsigned long long)v);
    if (n == 0)
        return 0;
    buf[0] = '-';
    return n + 1;
}

int util_ll_digits(long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = v < 0 ? 2 : 1;
    while (u >= 10) {
        u /= 10;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------- floats */

/* The C locale's isspace, which is what Redis runs under for LC_CTYPE. */
static int c_isspace(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

int util_str2ld(const char *s, size_t len, long double *out)
{
    char buf[UTIL_LD_STR_MAX];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';

    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    /* The whole string must be the number: an embedded NUL is garbage, as
     * in Redis 7.0.15. Overflow to inf and underflow to zero are errors; a
     * denormal result and a literal "inf" are not. */
    if (c_isspace(buf[0]) || end != buf + len || errno == EINVAL || isnan(v) ||
        (errno == ERANGE && (isinf(v) || v == 0)))
        return 0;
    if (out)
        *out = v;
    return 1;
}

int util_ld2str(char *buf, size_t size, long double v)
{
    if (isinf(v)) {
        const char *txt = v > 0 ? "inf" : "-inf";
        size_t n = strlen(txt);
        if (size < 5)
            return 0;
        memcpy(buf, txt, n + 1);
        return (int)n;
    }
    int r = snprintf(buf, size, "%.17Lf", v);
    if (r < 0 || (size_t)r + 1 > size)
        return 0;
    size_t n = (size_t)r;
    if (memchr(buf, '.', n)) {
        while (buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.')
            n--;
    }
    /* A negative value that rounds to zero prints as "-0": say "0". */
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }
    buf[n] = '\0';
    return (int)n;
}

int util_str2d(const char *s, size_t len, double *out)
{
    char stackbuf[128];
    if (len == 0 || c_isspace(s[0]))
        return 0;
    char *buf = len < sizeof(stackbuf) ? stackbuf : heap_malloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';

    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v) && !(errno == ERANGE && (isinf(v) || v == 0));
    if (buf != stackbuf)
        free(buf);
    if (ok && out)
        *out = v;
    return ok;
}

int util_d2str(char *buf, size_t size, double v)
{
    int r;
    if (isnan(v))
        r = snprintf(buf, size, "nan");
    else if (isinf(v))
        r = snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else
        r = snprintf(buf, size, "%.17g", v);
    if (r < 0 || (size_t)r + 1 > size)
        return 0;
    return r;
}

/* --------------------------------------------------------------------- glob */

#define GLOB_MAX_NESTING 1000

struct glob_state {
    int nocase;
    int give_up; /* the rest after some '*' matched nowhere: stop trying */
};

/* ASCII-only folding on the signed char value, as the C locale's tolower. */
static int glob_fold(const struct glob_state *g, int c)
{
    return (g->nocase && c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Matches the bracket expression at *pp (just past the '[') against c and
 * leaves *pp and *plp on its closing ']' (or on the pattern's last byte when
 * the bracket is never closed). Bytes compare as signed chars in ranges,
 * and an escaped byte compares exactly even when matching without case. */
static int glob_class(const char **pp, size_t *plp, char c, const struct glob_state *g)
{
    const char *p = *pp;
    size_t pl = *plp;
    int negate = pl > 0 && *p == '^';
    int hit = 0;

    if (negate) {
        p++;
        pl--;
    }
    for (;; p++, pl--) {
        if (pl == 0) {
            p--;
            pl++;
            break;
        }
        if (*p == '\\' && pl >= 2) {
            p++;
            pl--;
            hit |= *p == c;
        } else if (*p == ']') {
            break;
        } else if (pl >= 3 && p[1] == '-') {
            int lo = (signed char)p[0], hi = (signed char)p[2];
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            lo = glob_fold(g, lo);
            hi = glob_fold(g, hi);
            int x = glob_fold(g, (signed char)c);
            hit |= x >= lo && x <= hi;
            p += 2;
            pl -= 2;
        } else {
            hit |= glob_fold(g, (signed char)*p) == glob_fold(g, (signed char)c);
        }
    }
    *pp = p;
    *plp = pl;
    return negate ? !hit : hit;
}

static int glob_at(const char *p, size_t pl, const char *s, size_t sl, struct glob_state *g,
                   int nesting)
{
    if (nesting > GLOB_MAX_NESTING)
        return 0;

    while (pl > 0 && sl > 0) {
        switch (*p) {
        case '*':
            while (pl >= 2 && p[1] == '*') {
                p++;
                pl--;
            }
            if (pl == 1)
                return 1;
            for (; sl > 0; s++, sl--) {
                if (glob_at(p + 1, pl - 1, s, sl, g, nesting + 1))
                    return 1;
                if (g->give_up)
                    return 0;
            }
            g->give_up = 1;
            return 0;
        case '?':
            break;
        case '[':
            p++;
            pl--;
            if (!glob_class(&p, &pl, *s, g))
                return 0;
            break;
        case '\\':
            if (pl >= 2) {
                p++;
                pl--;
            }
            /* fall through */
        default:
            if (glob_fold(g, (signed char)*p) != glob_fold(g, (signed char)*s))
                return 0;
            break;
        }
        p++;
        pl--;
        s++;
        sl--;
        if (sl == 0) {
            /* Trailing stars match the empty rest; nothing else can. */
            while (pl > 0 && *p == '*') {
                p++;
                pl--;
            }
        }
    }
    return pl == 0 && sl == 0;
}

int util_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    struct glob_state g = {.nocase = nocase, .give_up = 0};
    return glob_at(pat, plen, s, slen, &g, 0);
}

/* ------------------------------------------------------------------- clocks */

int64_t util_ustime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_mstime(void)
{
    return util_ustime() / 1000;
}

uint64_t util_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --------------------------------------------------------------- randomness */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t random_from_urandom(uint8_t *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0)
        return 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got;
}

void util_random_bytes(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < len)
        got += random_from_urandom(buf + got, len - got);
    if (got < len) {
        /* No kernel randomness at all: better a time/pid seeded stream than
         * failing start-up; none of our uses is cryptographic. */
        uint64_t x = (uint64_t)util_ustime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)buf;
        for (; got < len; got++)
            buf[got] = (uint8_t)splitmix64(&x);
    }
}

/* xoshiro256**: one state per thread, seeded on first use. */
static _Thread_local uint64_t rng_state[4];
static _Thread_local int rng_seeded;

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t util_rand64(void)
{
    uint64_t *st = rng_state;
    if (!rng_seeded) {
        util_random_bytes((uint8_t *)st, sizeof(rng_state));
        if (!(st[0] | st[1] | st[2] | st[3]))
            st[0] = 1; /* the all-zero state is a fixed point */
        rng_seeded = 1;
    }
    uint64_t result = rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl64(st[3], 45);
    return result;
}

void util_random_hex(char *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t raw[64];
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < sizeof(raw) * 2 ? len - done : sizeof(raw) * 2;
        util_random_bytes(raw, (chunk + 1) / 2);
        for (size_t i = 0; i < chunk; i++)
            buf[done + i] = digits[(raw[i / 2] >> ((i & 1) * 4)) & 15];
        done += chunk;
    }
    buf[len] = '\0';
}

char *util_escape(char *out, size_t size, const char *p, size_t len)
{
    size_t o = 0;
    if (size < 8) {
        if (size)
            out[0] = 0;
        return out;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char esc[8];
        size_t n = 0;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            n = 2;
        } else if (ch == '\n' || ch == '\r' || ch == '\t') {
            esc[0] = '\\';
            esc[1] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
            n = 2;
        } else if (ch < ' ' || ch >= 127) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", ch);
        } else {
            esc[0] = (char)ch;
            n = 1;
        }
        if (o + n + 4 > size) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = 0;
    return out;
}
