/*
 * hll.c: HyperLogLog counters in string values (PFADD, PFCOUNT, PFMERGE,
 * PFSELFTEST, PFDEBUG), byte-compatible with Redis's representation, so a
 * value copied from Redis with GET and SET here counts the same.
 *
 * The value (antirez, "Redis new data structure: the HyperLogLog", 2014):
 * a 16-byte header, "HYLL", an encoding byte (0 dense, 1 sparse), three
 * unused bytes and the last computed cardinality as a little-endian u64
 * whose top bit set means "stale". 16384 registers (P = 14) of 6 bits
 * follow:
 *   - dense: 12288 bytes, register i at bit i*6 counting from the least
 *     significant bit of the first byte;
 *   - sparse: run-length opcodes. ZERO 00xxxxxx: xxxxxx+1 zero registers;
 *     XZERO 01xxxxxx yyyyyyyy: a 14-bit run of up to 16384 zeros; VAL
 *     1vvvvvxx: xx+1 registers holding vvvvv+1 (1..32). A register above
 *     32, or a sparse form longer than hll-sparse-max-bytes, turns the value
 *     dense for good.
 * An element's register is the low 14 bits of its 64-bit MurmurHash2
 * (MurmurHash64A, seed 0xadc83b19); its rank is one more than the number
 * of trailing zero bits of the 50 bits left (at most 51). The count is Otmar
 * Ertl's improved estimator over the histogram of register values ("New
 * cardinality estimation algorithms for HyperLogLog sketches", 2017).
 *
 * The sparse form is not canonical: Redis's bytes depend on the order of
 * the updates (a run is split in place, then neighbours are merged within
 * a window of five opcodes from the one before it), and sparse_set does
 * exactly the same so that the bytes match.
 *
 * A value is checked before use (magic, encoding, exact dense length:
 * WRONGTYPE otherwise); a sparse form whose runs do not add up to 16384
 * registers is reported INVALIDOBJ, never read past its end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/settings.h"
#include "net/reply.h"
#include "types/types.h"

#define HLL_P           14
#define HLL_REGS        (1 << HLL_P)
#define HLL_Q           (64 - HLL_P) /* hash bits left for the rank */
#define HLL_BITS        6
#define HLL_HDR         16
#define HLL_DENSE_SIZE  (HLL_HDR + (HLL_REGS * HLL_BITS + 7) / 8)
#define HLL_DENSE       0
#define HLL_SPARSE      1
#define HLL_VAL_MAX     32 /* the largest value of a sparse VAL opcode */
#define HLL_VAL_RUN_MAX 4
#define HLL_ZERO_MAX    64
#define HLL_ALPHA_INF   0.721347520444481703680 /* 1 / (2 ln 2) */

#define ERR_HLL_INVALID "INVALIDOBJ Corrupted HLL object detected"
#define ERR_HLL_TYPE    "WRONGTYPE Key is not a valid HyperLogLog string value."

/* ---- hashing -------------------------------------------------------------- */

/* Austin Appleby's MurmurHash64A, reading 8-byte blocks little-endian on
 * every platform. */
static uint64_t hll_hash(const unsigned char *p, size_t len)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    uint64_t h = 0xadc83b19ull ^ ((uint64_t)len * m);
    size_t blocks = len & ~(size_t)7;
    for (size_t i = 0; i < blocks; i += 8) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--)
            k = (k << 8) | p[i + (size_t)b];
        k *= m;
        k ^= k >> 47;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t rest = len & 7;
    if (rest) {
        uint64_t t = 0;
        for (size_t b = rest; b-- > 0;)
            t = (t << 8) | p[blocks + b];
        h ^= t;
        h *= m;
    }
    h ^= h >> 47;
    h *= m;
    h ^= h >> 47;
    return h;
}

/* The register of an element (returned) and its rank (*rank, 1..51). */
static int hll_position(const void *ele, size_t len, int *rank)
{
    uint64_t h = hll_hash(ele, len);
    int index = (int)(h & (HLL_REGS - 1));
    h >>= HLL_P;
    h |= 1ull << HLL_Q; /* the rank is bounded even for a zero hash */
    *rank = __builtin_ctzll(h) + 1;
    return index;
}

/* ---- dense registers ------------------------------------------------------ */

static int dense_get(const unsigned char *r, int i)
{
    unsigned bit = (unsigned)i * HLL_BITS, byte = bit >> 3, shift = bit & 7;
    unsigned v = r[byte] >> shift;
    if (shift > 8 - HLL_BITS)
        v |= (unsigned)r[byte + 1] << (8 - shift);
    return (int)(v & 63);
}

static void dense_put(unsigned char *r, int i, int v)
{
    unsigned bit = (unsigned)i * HLL_BITS, byte = bit >> 3, shift = bit & 7;
    r[byte] = (unsigned char)((r[byte] & ~(63u << shift)) | ((unsigned)v << shift));
    if (shift > 8 - HLL_BITS) {
        unsigned hi = 8 - shift;
        r[byte + 1] = (unsigned char)((r[byte + 1] & ~(63u >> hi)) | ((unsigned)v >> hi));
    }
}

/* ---- sparse opcodes ------------------------------------------------------- */

enum { OP_ZERO, OP_XZERO, OP_VAL };

struct sparse_op {
    int kind;
    int run;  /* registers covered */
    int val;  /* VAL only */
    int size; /* bytes */
};

/* Decodes the opcode at p. An XZERO cut by the end of the string reads a
 * zero second byte (Redis reads the terminator there); the walkers stop
 * past the end all the same. */
static void sparse_decode(const unsigned char *p, const unsigned char *end, struct sparse_op *op)
{
    if ((p[0] & 0xc0) == 0x00) {
        op->kind = OP_ZERO;
        op->run = (p[0] & 0x3f) + 1;
        op->val = 0;
        op->size = 1;
    } else if ((p[0] & 0xc0) == 0x40) {
        int lo = p + 1 < end ? p[1] : 0;
        op->kind = OP_XZERO;
        op->run = (((p[0] & 0x3f) << 8) | lo) + 1;
        op->val = 0;
        op->size = 2;
    } else {
        op->kind = OP_VAL;
        op->run = (p[0] & 0x03) + 1;
        op->val = ((p[0] >> 2) & 0x1f) + 1;
        op->size = 1;
    }
}

static unsigned char *emit_zeros(unsigned char *q, int run)
{
    if (run > HLL_ZERO_MAX) {
        *q++ = (unsigned char)(0x40 | ((run - 1) >> 8));
        *q++ = (unsigned char)((run - 1) & 0xff);
    } else {
        *q++ = (unsigned char)(run - 1);
    }
    return q;
}

static unsigned char val_op(int val, int run)
{
    return (unsigned char)(0x80 | ((val - 1) << 2) | (run - 1));
}

/* Calls fn for every run of a sparse form (registers [first, first + run)
 * holding val); 0 when the runs cover exactly the 16384 registers, -1 (and
 * fn not called for the offending run) otherwise. */
typedef void sparse_run_fn(void *ctx, int first, int run, int val);
static int sparse_walk(const unsigned char *p, size_t len, sparse_run_fn *fn, void *ctx)
{
    const unsigned char *end = p + len;
    long idx = 0;
    struct sparse_op op;
    while (p < end) {
        sparse_decode(p, end, &op);
        if (idx + op.run > HLL_REGS)
            return -1;
        fn(ctx, (int)idx, op.run, op.val);
        idx += op.run;
        p += op.size;
    }
    return idx == HLL_REGS ? 0 : -1;
}

/* ---- the value ------------------------------------------------------------ */

/* A HLL being changed: the whole value (header included). A dense value is
 * changed in place in its string (owned 0); a sparse one in a malloc'd copy
 * written back by hll_store (it changes length). */
struct hll {
    unsigned char *b;
    size_t len, cap;
    int owned;
};

static int hll_encoding(const unsigned char *p)
{
    return p[4];
}

static void hll_invalidate(unsigned char *p)
{
    p[15] |= 0x80;
}

/* Whether a string value is a HLL: magic, a known encoding, and the exact
 * size when dense. Replies WRONGTYPE (of either kind) when it is not. */
static int hll_check_or_reply(client *c, obj *o)
{
    if (o->type != OBJ_STRING) {
        reply_error_wrongtype(c);
        return -1;
    }
    char buf[32];
    size_t len;
    const unsigned char *p = (const unsigned char *)obj_string_bytes(o, buf, &len);
    if (o->encoding == OBJ_ENC_INT || len < HLL_HDR || memcmp(p, "HYLL", 4) != 0 ||
        p[4] > HLL_SPARSE || (p[4] == HLL_DENSE && len != HLL_DENSE_SIZE)) {
        reply_error(c, ERR_HLL_TYPE);
        return -1;
    }
    return 0;
}

/* An empty HLL, as Redis makes it: sparse, one XZERO over every register,
 * a valid cached count of 0. */
static obj *hll_new(void)
{
    unsigned char v[HLL_HDR + 2] = {'H', 'Y', 'L', 'L', HLL_SPARSE};
    emit_zeros(v + HLL_HDR, HLL_REGS);
    return obj_string_raw(v, sizeof(v));
}

/* Opens the HLL in o (checked, RAW) for changes. */
static void hll_open(struct hll *h, obj *o)
{
    size_t len = obj_string_len(o);
    unsigned char *p = obj_string_writable(o, 0);
    h->len = len;
    if (hll_encoding(p) == HLL_DENSE) {
        h->b = p;
        h->cap = len;
        h->owned = 0;
        return;
    }
    h->cap = len + 16;
    h->b = heap_malloc(h->cap);
    memcpy(h->b, p, len);
    h->owned = 1;
}

static void hll_close(struct hll *h)
{
    if (h->owned)
        free(h->b);
    h->b = NULL;
}

/* Writes the changed HLL back into o (when it was a copy) and closes it. */
static void hll_store(struct hll *h, obj *o)
{
    if (h->owned)
        obj_string_set(o, h->b, h->len);
    hll_close(h);
}

static void to_dense_run(void *ctx, int first, int run, int val)
{
    unsigned char *r = ctx;
    if (val)
        for (int i = first; i < first + run; i++)
            dense_put(r, i, val);
}

/* Turns a sparse HLL dense (header kept, cached count included). 0, or -1
 * when the sparse form is corrupt (h unchanged). */
static int hll_to_dense(struct hll *h)
{
    if (hll_encoding(h->b) == HLL_DENSE)
        return 0;
    unsigned char *d = heap_calloc(1, HLL_DENSE_SIZE);
    memcpy(d, h->b, HLL_HDR);
    d[4] = HLL_DENSE;
    if (sparse_walk(h->b + HLL_HDR, h->len - HLL_HDR, to_dense_run, d + HLL_HDR) < 0) {
        free(d);
        return -1;
    }
    if (h->owned)
        free(h->b);
    h->b = d;
    h->len = h->cap = HLL_DENSE_SIZE;
    h->owned = 1;
    return 0;
}

/* Register i to at least val in a dense HLL: 1 when it changed. */
static int dense_raise(struct hll *h, int i, int val)
{
    unsigned char *r = h->b + HLL_HDR;
    if (dense_get(r, i) >= val)
        return 0;
    dense_put(r, i, val);
    return 1;
}

/* Register idx to at least val in a sparse HLL, turning it dense when val
 * does not fit a VAL opcode or the form would grow past
 * hll-sparse-max-bytes. 1 changed, 0 not, -1 corrupt. */
static int sparse_raise(struct hll *h, int idx, int val)
{
    if (val > HLL_VAL_MAX)
        goto promote;
    if (h->cap < h->len + 4) {
        h->cap = h->len + 64;
        h->b = heap_realloc(h->b, h->cap);
    }
    unsigned char *start = h->b + HLL_HDR, *end = h->b + h->len;
    unsigned char *p = start, *prev = NULL;
    long first = 0;
    struct sparse_op op = {0};
    while (p < end) {
        sparse_decode(p, end, &op);
        if (idx < first + op.run)
            break;
        prev = p;
        p += op.size;
        first += op.run;
    }
    if (p >= end)
        return -1;

    if (op.kind == OP_VAL && op.val >= val)
        return 0;
    if (op.run == 1 && op.kind != OP_XZERO) {
        /* a single register: its opcode is rewritten in place */
        *p = val_op(val, 1);
    } else {
        /* the run splits in up to three: before idx, idx, after idx */
        unsigned char seq[5], *q = seq;
        long last = first + op.run - 1;
        if (op.kind == OP_VAL) {
            if (idx > first)
                *q++ = val_op(op.val, (int)(idx - first));
            *q++ = val_op(val, 1);
            if (idx < last)
                *q++ = val_op(op.val, (int)(last - idx));
        } else {
            if (idx > first)
                q = emit_zeros(q, (int)(idx - first));
            *q++ = val_op(val, 1);
            if (idx < last)
                q = emit_zeros(q, (int)(last - idx));
        }
        long seqlen = q - seq, delta = seqlen - op.size;
        if (delta > 0 && (long long)h->len + delta > keyspace_settings.hll_sparse_max_bytes)
            goto promote;
        /* An XZERO cut by the end of the string (its second byte read as
         * zero) counts as two bytes all the same: the last byte of seq
         * falls past the new end, as in Redis. */
        if (end > p + op.size)
            memmove(p + seqlen, p + op.size, (size_t)(end - p - op.size));
        memcpy(p, seq, (size_t)seqlen);
        h->len += (size_t)delta;
        end += delta;
    }

    /* Adjacent VAL opcodes of the same value are merged while their runs
     * fit one opcode, looking at most at five opcodes from the one before
     * the change (Redis's window: the bytes must be the same). */
    unsigned char *s = prev ? prev : start;
    for (int scan = 5; s < end && scan > 0; scan--) {
        if ((*s & 0xc0) == 0x40) {
            s += 2;
            continue;
        }
        if ((*s & 0xc0) == 0x00) {
            s++;
            continue;
        }
        if (s + 1 < end && (s[1] & 0x80)) {
            int v1 = ((s[0] >> 2) & 0x1f) + 1, v2 = ((s[1] >> 2) & 0x1f) + 1;
            int run = (s[0] & 3) + (s[1] & 3) + 2;
            if (v1 == v2 && run <= HLL_VAL_RUN_MAX) {
                s[1] = val_op(v1, run);
                memmove(s, s + 1, (size_t)(end - s - 1));
                end--;
                h->len--;
                continue; /* the merged opcode may merge with the next */
            }
        }
        s++;
    }
    hll_invalidate(h->b);
    return 1;

promote:
    if (hll_to_dense(h) < 0)
        return -1;
    dense_raise(h, idx, val);
    return 1; /* a register that did not fit had to change */
}

static int hll_raise(struct hll *h, int idx, int val)
{
    if (hll_encoding(h->b) == HLL_DENSE)
        return dense_raise(h, idx, val);
    return sparse_raise(h, idx, val);
}

/* ---- counting -------------------------------------------------------------- */

static void max_run(void *ctx, int first, int run, int val)
{
    uint8_t *max = ctx;
    for (int i = first; i < first + run; i++)
        if (max[i] < val)
            max[i] = (uint8_t)val;
}

/* max[i] = max(max[i], register i of the HLL bytes p). -1 when corrupt. */
static int hll_merge_into(uint8_t *max, const unsigned char *p, size_t len)
{
    if (hll_encoding(p) == HLL_DENSE) {
        for (int i = 0; i < HLL_REGS; i++) {
            int v = dense_get(p + HLL_HDR, i);
            if (max[i] < v)
                max[i] = (uint8_t)v;
        }
        return 0;
    }
    return sparse_walk(p + HLL_HDR, len - HLL_HDR, max_run, max);
}

/* Ertl's sigma and tau series, summed until they stop changing. */
static double hll_sigma(double x)
{
    if (x == 1.)
        return INFINITY;
    double y = 1, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (prev != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.)
        return 0.;
    double y = 1.0, z = 1 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (prev != z);
    return z / 3;
}

/* The cardinality estimate from the histogram of register values. */
static uint64_t hll_estimate(const long hist[64])
{
    double m = HLL_REGS;
    double z = m * hll_tau((m - (double)hist[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += (double)hist[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)hist[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static uint64_t hll_count_registers(const uint8_t *regs)
{
    long hist[64] = {0};
    for (int i = 0; i < HLL_REGS; i++)
        hist[regs[i] & 63]++;
    return hll_estimate(hist);
}

static void hist_run(void *ctx, int first, int run, int val)
{
    (void)first;
    ((long *)ctx)[val] += run;
}

/* The estimate of the HLL bytes p; -1 when corrupt. */
static int hll_count(const unsigned char *p, size_t len, uint64_t *card)
{
    long hist[64] = {0};
    if (hll_encoding(p) == HLL_DENSE) {
        for (int i = 0; i < HLL_REGS; i++)
            hist[dense_get(p + HLL_HDR, i)]++;
    } else if (sparse_walk(p + HLL_HDR, len - HLL_HDR, hist_run, hist) < 0) {
        return -1;
    }
    *card = hll_estimate(hist);
    return 0;
}

/* ---- commands -------------------------------------------------------------- */

void cmd_pfadd(client *c)
{
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    long long updated = 0;
    int created = !o;
    if (created) {
        o = hll_new();
        db_add(c->db, c->argv[1], o);
        updated++;
    } else {
        if (hll_check_or_reply(c, o) < 0)
            return;
        string_unshare(c->db, c->argv[1], o);
    }
    struct hll h;
    hll_open(&h, o);
    for (int j = 2; j < c->argc; j++) {
        int rank, idx = hll_position(c->argv[j], str_len(c->argv[j]), &rank);
        int r = hll_raise(&h, idx, rank);
        if (r < 0) {
            /* Redis keeps the registers raised before the corrupt part was
             * met, without counting a change */
            if (updated) {
                hll_store(&h, o);
                db_modified(c->db, c->argv[1]);
                ks_stats.changes--;
            } else {
                hll_close(&h);
            }
            reply_error(c, ERR_HLL_INVALID);
            return;
        }
        updated += r;
    }
    if (updated) {
        hll_invalidate(h.b);
        hll_store(&h, o);
        if (!created)
            db_modified(c->db, c->argv[1]);
        /* db_add or db_modified counted one change; Redis counts one per
         * register raised (and one for the creation) */
        ks_stats.changes += updated - 1;
    } else {
        hll_close(&h);
    }
    reply_long(c, updated ? 1 : 0);
}

void cmd_pfcount(client *c)
{
    if (c->argc > 2) {
        /* the union of several HLLs, counted without changing any */
        uint8_t *max = heap_calloc(1, HLL_REGS);
        for (int j = 1; j < c->argc; j++) {
            obj *o = db_lookup(c->db, c->argv[j], LOOKUP_NONE, c->known);
            if (!o)
                continue;
            if (hll_check_or_reply(c, o) < 0) {
                free(max);
                return;
            }
            char buf[32];
            size_t len;
            const unsigned char *p = (const unsigned char *)obj_string_bytes(o, buf, &len);
            if (hll_merge_into(max, p, len) < 0) {
                free(max);
                reply_error(c, ERR_HLL_INVALID);
                return;
            }
        }
        reply_long(c, (long long)hll_count_registers(max));
        free(max);
        return;
    }
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    if (!o) {
        reply_long(c, 0);
        return;
    }
    if (hll_check_or_reply(c, o) < 0)
        return;
    string_unshare(c->db, c->argv[1], o);
    size_t len = obj_string_len(o);
    unsigned char *p = obj_string_writable(o, 0);
    uint64_t card = 0;
    if (!(p[15] & 0x80)) {
        for (int i = 7; i >= 0; i--)
            card = (card << 8) | p[8 + i];
        reply_long(c, (long long)card);
        return;
    }
    if (hll_count(p, len, &card) < 0) {
        reply_error(c, ERR_HLL_INVALID);
        return;
    }
    /* the count is cached in the value (a change, stored as such) */
    for (int i = 0; i < 8; i++)
        p[8 + i] = (unsigned char)(card >> (8 * i));
    db_modified(c->db, c->argv[1]);
    reply_long(c, (long long)card);
}

void cmd_pfmerge(client *c)
{
    uint8_t *max = heap_calloc(1, HLL_REGS);
    int dense = 0;
    /* the destination's own registers are part of the union */
    for (int j = 1; j < c->argc; j++) {
        obj *o = db_lookup(c->db, c->argv[j], LOOKUP_NONE, c->known);
        if (!o)
            continue;
        if (hll_check_or_reply(c, o) < 0) {
            free(max);
            return;
        }
        char buf[32];
        size_t len;
        const unsigned char *p = (const unsigned char *)obj_string_bytes(o, buf, &len);
        if (hll_encoding(p) == HLL_DENSE)
            dense = 1;
        if (hll_merge_into(max, p, len) < 0) {
            free(max);
            reply_error(c, ERR_HLL_INVALID);
            return;
        }
    }
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    int created = !o;
    if (created) {
        o = hll_new();
        db_add(c->db, c->argv[1], o);
    } else {
        string_unshare(c->db, c->argv[1], o);
    }
    struct hll h;
    hll_open(&h, o);
    /* a dense source makes the result dense at once; otherwise it stays
     * sparse while it fits, as Redis writes it register by register */
    if (dense)
        hll_to_dense(&h);
    for (int i = 0; i < HLL_REGS; i++) {
        if (max[i] && hll_raise(&h, i, max[i]) < 0) {
            hll_close(&h);
            free(max);
            reply_error(c, ERR_HLL_INVALID);
            return;
        }
    }
    free(max);
    hll_invalidate(h.b);
    hll_store(&h, o);
    if (!created)
        db_modified(c->db, c->argv[1]);
    reply_ok(c);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key */
void cmd_pfdebug(client *c)
{
    const char *sub = c->argv[1];
    obj *o = db_lookup(c->db, c->argv[2], LOOKUP_WRITE, c->known);
    if (!o) {
        reply_error(c, "ERR The specified key does not exist");
        return;
    }
    if (hll_check_or_reply(c, o) < 0)
        return;
    string_unshare(c->db, c->argv[2], o);
    struct hll h;
    hll_open(&h, o);
    int sparse = hll_encoding(h.b) == HLL_SPARSE;
    if (!strcasecmp(sub, "getreg") || !strcasecmp(sub, "todense")) {
        /* both leave the value dense */
        if (sparse) {
            if (hll_to_dense(&h) < 0) {
                hll_close(&h);
                reply_error(c, ERR_HLL_INVALID);
                return;
            }
            hll_store(&h, o);
            db_modified(c->db, c->argv[2]);
            hll_open(&h, o);
        }
        if (!strcasecmp(sub, "todense")) {
            reply_long(c, sparse);
        } else {
            reply_array(c, HLL_REGS);
            for (int i = 0; i < HLL_REGS; i++)
                reply_long(c, dense_get(h.b + HLL_HDR, i));
        }
    } else if (!strcasecmp(sub, "decode")) {
        if (!sparse) {
            reply_error(c, "ERR HLL encoding is not sparse");
        } else {
            /* "z:run" ZERO, "Z:run" XZERO, "v:value,run" VAL, space separated */
            size_t cap = (h.len - HLL_HDR) * 12 + 1, n = 0;
            char *out = heap_malloc(cap);
            const unsigned char *p = h.b + HLL_HDR, *end = h.b + h.len;
            struct sparse_op op;
            while (p < end) {
                sparse_decode(p, end, &op);
                if (op.kind == OP_VAL)
                    n += (size_t)snprintf(out + n, cap - n, "v:%d,%d ", op.val, op.run);
                else
                    n += (size_t)snprintf(out + n, cap - n, "%c:%d ",
                                          op.kind == OP_ZERO ? 'z' : 'Z', op.run);
                p += op.size;
            }
            reply_bulk(c, out, n ? n - 1 : 0);
            free(out);
        }
    } else if (!strcasecmp(sub, "encoding")) {
        reply_status(c, sparse ? "sparse" : "dense");
    } else {
        reply_error_fmt(c, "ERR Unknown PFDEBUG subcommand '%s'", sub);
    }
    hll_close(&h);
}

/* ---- self test ------------------------------------------------------------- */

/* Checks the register packing and the estimator: random register values
 * read back as written; a dense and a sparse HLL fed the same elements
 * count the same, and within six standard errors of the truth. */
void cmd_pfselftest(client *c)
{
    unsigned char *regs = heap_calloc(1, HLL_DENSE_SIZE);
    uint8_t *want = heap_malloc(HLL_REGS);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int pass = 0; pass < 64; pass++) {
        for (int i = 0; i < HLL_REGS; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            want[i] = (uint8_t)((seed >> 33) & 63);
            dense_put(regs, i, want[i]);
        }
        for (int i = 0; i < HLL_REGS; i++) {
            if (dense_get(regs, i) != want[i]) {
                reply_error_fmt(c, "TESTFAILED Register error at %d", i);
                goto done;
            }
        }
    }

    obj *dense_o = hll_new(), *sparse_o = hll_new();
    struct hll d, s;
    hll_open(&d, dense_o);
    hll_to_dense(&d);
    hll_open(&s, sparse_o);
    long long saved_max = keyspace_settings.hll_sparse_max_bytes;
    keyspace_settings.hll_sparse_max_bytes = 1 << 20; /* keep s sparse while it can be */
    double relerr = 1.04 / sqrt((double)HLL_REGS);
    int failed = 0;
    for (uint64_t n = 1; n <= 100000 && !failed; n++) {
        unsigned char ele[8];
        uint64_t x = n * 0x9e3779b97f4a7c15ull;
        memcpy(ele, &x, 8);
        int rank, idx = hll_position(ele, 8, &rank);
        dense_raise(&d, idx, rank);
        if (n <= 5000)
            hll_raise(&s, idx, rank);
        if (n % 1000 && n != 10)
            continue;
        uint64_t cd = 0, cs = 0;
        hll_count(d.b, d.len, &cd);
        double err = fabs((double)cd - (double)n);
        if (err > 6 * relerr * (double)n + 1) {
            reply_error_fmt(c, "TESTFAILED Too big error. card:%llu abserr:%.0f",
                            (unsigned long long)n, err);
            failed = 1;
        } else if (n <= 5000 && (hll_count(s.b, s.len, &cs) < 0 || cs != cd)) {
            reply_error_fmt(c, "TESTFAILED sparse and dense disagree at %llu: %llu != %llu",
                            (unsigned long long)n, (unsigned long long)cs, (unsigned long long)cd);
            failed = 1;
        }
    }
    keyspace_settings.hll_sparse_max_bytes = saved_max;
    hll_store(&d, dense_o);
    hll_store(&s, sparse_o);
    obj_free(dense_o);
    obj_free(sparse_o);
    if (!failed)
        reply_ok(c);
done:
    free(regs);
    free(want);
}
