/*
 * bitops.c: the bitmap commands on string values (SETBIT, GETBIT,
 * BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO).
 *
 * A string is a bit array with bit 0 the most significant bit of byte 0;
 * reads past the end see zeros, writes past the end grow the string with
 * zero bytes. Offsets are limited by proto-max-bulk-len as in Redis (and by
 * the 4 GB a string can hold here). A string changed in place is made RAW
 * first, even when the change turns out to be none, as Redis does
 * (string_unshare); only real changes count in rdb_changes_since_last_save.
 * Replies, errors and the order in which arguments are checked are Redis
 * 7.0's.
 *
 * Effects (repl/effects.h): each command propagates its own arguments when
 * it changed something, as in Redis 7.0; and so does a BITFIELD whose
 * every write failed (OVERFLOW FAIL) but that created or grew the string,
 * which Redis 7.0 leaves out of its AOF although the string stays: the
 * log must make the same string.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "net/net.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT_VALUE  "ERR bit is not an integer or out of range"
#define ERR_BF_TYPE                                                                                \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "    \
    "i64 is."

/* The longest string a bit command may make: proto-max-bulk-len, and
 * below the u32 length of a string (with room for a 64-bit field). */
static uint64_t bit_max_bytes(void)
{
    uint64_t lim = UINT32_MAX - 16;
    return (uint64_t)net_settings.proto_max_bulk_len < lim
               ? (uint64_t)net_settings.proto_max_bulk_len
               : lim;
}

/* A bit offset argument: an integer in [0, max bytes * 8). With
 * hash_bits > 0 (BITFIELD), "#N" means N * hash_bits (wrapping on
 * overflow as Redis's multiplication does, then refused as negative or too
 * big). 0, or -1 after replying. */
static int bit_offset_or_reply(client *c, const str arg, int hash_bits, uint64_t *out)
{
    const char *p = arg;
    size_t len = str_len(arg);
    int hash = hash_bits > 0 && len > 0 && p[0] == '#';
    long long v;
    if (!util_str2ll(p + hash, len - (size_t)hash, &v)) {
        reply_error(c, ERR_BIT_OFFSET);
        return -1;
    }
    if (hash)
        v = (long long)((unsigned long long)v * (unsigned long long)hash_bits);
    if (v < 0 || ((uint64_t)v >> 3) >= bit_max_bytes()) {
        reply_error(c, ERR_BIT_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* A string at key for a bit write reaching bit max_bit: created (RAW, zero
 * bytes) when absent, else made RAW and grown with zeros to cover it.
 * *grown is 1 when the key was created or got longer (a change by itself).
 * NULL after a WRONGTYPE reply. */
static obj *string_for_bit_write_or_reply(client *c, uint64_t max_bit, int *created, int *grown)
{
    size_t need = (size_t)(max_bit >> 3) + 1;
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_WRITE, c->known);
    if (o && o->type != OBJ_STRING) {
        reply_error_wrongtype(c);
        return NULL;
    }
    *created = *grown = 0;
    if (!o) {
        o = obj_string_raw(NULL, need);
        db_add(c->db, c->argv[1], o);
        *created = *grown = 1;
        return o;
    }
    string_unshare(c->db, c->argv[1], o);
    size_t old = obj_string_len(o);
    obj_string_writable(o, need);
    *grown = obj_string_len(o) != old;
    return o;
}

/* Reads a string for a bit command: the bytes (INT formatted into buf). */
static const unsigned char *string_bytes(const obj *o, char *buf, size_t *len)
{
    return (const unsigned char *)obj_string_bytes(o, buf, len);
}

/* ---- SETBIT, GETBIT ------------------------------------------------------- */

void cmd_setbit(client *c)
{
    uint64_t off;
    long long on;
    if (bit_offset_or_reply(c, c->argv[2], 0, &off) < 0)
        return;
    if (!util_str2ll(c->argv[3], str_len(c->argv[3]), &on) || (on & ~1LL)) {
        reply_error(c, ERR_BIT_VALUE);
        return;
    }
    int created, grown;
    obj *o = string_for_bit_write_or_reply(c, off, &created, &grown);
    if (!o)
        return;
    unsigned char *p = obj_string_writable(o, 0);
    unsigned char mask = (unsigned char)(0x80 >> (off & 7));
    int old = (p[off >> 3] & mask) != 0;
    if (grown || old != on) {
        if (on)
            p[off >> 3] |= mask;
        else
            p[off >> 3] &= (unsigned char)~mask;
        if (!created)
            db_modified(c->db, c->argv[1]);
    }
    reply_long(c, old);
}

void cmd_getbit(client *c)
{
    uint64_t off;
    if (bit_offset_or_reply(c, c->argv[2], 0, &off) < 0)
        return;
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    if (o && o->type != OBJ_STRING) {
        reply_error_wrongtype(c);
        return;
    }
    int bit = 0;
    if (o) {
        char buf[32];
        size_t len;
        const unsigned char *p = string_bytes(o, buf, &len);
        if ((off >> 3) < len)
            bit = (p[off >> 3] & (0x80 >> (off & 7))) != 0;
    }
    reply_long(c, bit);
}

/* ---- BITCOUNT, BITPOS ---------------------------------------------------- */

/* Turns a BITCOUNT/BITPOS range (byte or bit indexes, negative counting
 * from the end) into the bit range [*sb, *eb] inside a string of len
 * bytes. -1 when the range is empty. */
static int bit_range(long long start, long long end, long long len, int isbit, uint64_t *sb,
                     uint64_t *eb)
{
    long long total = isbit ? len * 8 : len;
    if (start < 0)
        start += total;
    if (end < 0)
        end += total;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= total)
        end = total - 1;
    if (start > end)
        return -1;
    *sb = isbit ? (uint64_t)start : (uint64_t)start * 8;
    *eb = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    return 0;
}

static long long popcount_bytes(const unsigned char *p, size_t n)
{
    long long count = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        count += __builtin_popcountll(w);
    }
    for (; i < n; i++)
        count += __builtin_popcount(p[i]);
    return count;
}

/* Set bits in [sb, eb] (bit offsets inside the string). */
static long long popcount_bits(const unsigned char *p, uint64_t sb, uint64_t eb)
{
    uint64_t first = sb >> 3, last = eb >> 3;
    long long count = popcount_bytes(p + first, (size_t)(last - first + 1));
    /* take out the bits of the edge bytes outside the range */
    count -= __builtin_popcount(p[first] & (0xff00 >> (sb & 7)) & 0xff);
    count -= __builtin_popcount(p[last] & (0xff >> ((eb & 7) + 1)));
    return count;
}

/* Bit at offset i of p (most significant first). */
static int bit_at(const unsigned char *p, uint64_t i)
{
    return (p[i >> 3] >> (7 - (i & 7))) & 1;
}

/* The first bit equal to bit in [sb, eb], or -1. */
static long long bit_find(const unsigned char *p, uint64_t sb, uint64_t eb, int bit)
{
    uint64_t i = sb;
    for (; i <= eb && (i & 7); i++)
        if (bit_at(p, i) == bit)
            return (long long)i;
    /* whole bytes that cannot hold the bit are skipped, 8 at a time when
     * possible */
    uint64_t skip64 = bit ? 0 : UINT64_MAX;
    unsigned char skip8 = bit ? 0 : 0xff;
    while (i + 7 <= eb) {
        if (i + 63 <= eb) {
            uint64_t w;
            memcpy(&w, p + (i >> 3), 8);
            if (w == skip64) {
                i += 64;
                continue;
            }
        }
        if (p[i >> 3] != skip8)
            break;
        i += 8;
    }
    for (; i <= eb; i++)
        if (bit_at(p, i) == bit)
            return (long long)i;
    return -1;
}

static int parse_ll_or_reply(client *c, const str arg, long long *v)
{
    if (!util_str2ll(arg, str_len(arg), v)) {
        reply_error_not_int(c);
        return -1;
    }
    return 0;
}

/* BYTE or BIT: 1 for BIT, 0 for BYTE, -1 after a syntax error reply. */
static int parse_unit_or_reply(client *c, const str arg)
{
    if (!strcasecmp(arg, "bit"))
        return 1;
    if (!strcasecmp(arg, "byte"))
        return 0;
    reply_error_syntax(c);
    return -1;
}

void cmd_bitcount(client *c)
{
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    if (!o) {
        reply_long(c, 0);
        return;
    }
    if (o->type != OBJ_STRING) {
        reply_error_wrongtype(c);
        return;
    }
    char buf[32];
    size_t len;
    const unsigned char *p = string_bytes(o, buf, &len);
    uint64_t sb = 0, eb = 0;
    int empty = len == 0;
    if (len)
        eb = (uint64_t)len * 8 - 1;
    if (c->argc == 4 || c->argc == 5) {
        long long start, end;
        int isbit = 0;
        if (parse_ll_or_reply(c, c->argv[2], &start) < 0 ||
            parse_ll_or_reply(c, c->argv[3], &end) < 0)
            return;
        /* as Redis: an inverted negative range answers before the unit */
        if (start < 0 && end < 0 && start > end) {
            reply_long(c, 0);
            return;
        }
        if (c->argc == 5 && (isbit = parse_unit_or_reply(c, c->argv[4])) < 0)
            return;
        empty = bit_range(start, end, (long long)len, isbit, &sb, &eb) < 0;
    } else if (c->argc != 2) {
        reply_error_syntax(c);
        return;
    }
    reply_long(c, empty ? 0 : popcount_bits(p, sb, eb));
}

void cmd_bitpos(client *c)
{
    long long bit;
    if (parse_ll_or_reply(c, c->argv[2], &bit) < 0)
        return;
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    /* a missing key is an endless run of zeros */
    obj *o = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
    if (!o) {
        reply_long(c, bit ? -1 : 0);
        return;
    }
    if (o->type != OBJ_STRING) {
        reply_error_wrongtype(c);
        return;
    }
    char buf[32];
    size_t len;
    const unsigned char *p = string_bytes(o, buf, &len);
    long long start = 0, end = (long long)len - 1;
    int isbit = 0, end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        if (parse_ll_or_reply(c, c->argv[3], &start) < 0)
            return;
        if (c->argc == 6 && (isbit = parse_unit_or_reply(c, c->argv[5])) < 0)
            return;
        if (c->argc >= 5) {
            if (parse_ll_or_reply(c, c->argv[4], &end) < 0)
                return;
            end_given = 1;
        }
    } else if (c->argc != 3) {
        reply_error_syntax(c);
        return;
    }
    uint64_t sb, eb;
    if (bit_range(start, end, (long long)len, isbit, &sb, &eb) < 0) {
        reply_long(c, -1);
        return;
    }
    long long pos = bit_find(p, sb, eb, (int)bit);
    /* Without an explicit end, the string is seen as padded with zeros on
     * the right: a clear bit is found just past its last byte. */
    if (pos < 0 && bit == 0 && !end_given)
        pos = (long long)(eb >> 3) * 8 + 8;
    reply_long(c, pos);
}

/* ---- BITOP --------------------------------------------------------------- */

void cmd_bitop(client *c)
{
    const char *opname = c->argv[1];
    enum { OP_AND, OP_OR, OP_XOR, OP_NOT } op;
    if (!strcasecmp(opname, "and"))
        op = OP_AND;
    else if (!strcasecmp(opname, "or"))
        op = OP_OR;
    else if (!strcasecmp(opname, "xor"))
        op = OP_XOR;
    else if (!strcasecmp(opname, "not"))
        op = OP_NOT;
    else {
        reply_error_syntax(c);
        return;
    }
    if (op == OP_NOT && c->argc != 4) {
        reply_error(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = c->argc - 3;
    /* all sources are read before the destination is written (it may be
     * one of them); INT values are formatted into their own buffers */
    const unsigned char **src = heap_malloc(sizeof(*src) * (size_t)n);
    size_t *lens = heap_malloc(sizeof(*lens) * (size_t)n);
    char(*bufs)[32] = heap_malloc(sizeof(*bufs) * (size_t)n);
    size_t maxlen = 0, minlen = SIZE_MAX;
    for (int j = 0; j < n; j++) {
        obj *o = db_lookup(c->db, c->argv[3 + j], LOOKUP_NONE, c->known);
        if (o && o->type != OBJ_STRING) {
            reply_error_wrongtype(c);
            free(src);
            free(lens);
            free(bufs);
            return;
        }
        src[j] = NULL;
        lens[j] = 0;
        if (o)
            src[j] = string_bytes(o, bufs[j], &lens[j]);
        if (lens[j] > maxlen)
            maxlen = lens[j];
        if (lens[j] < minlen)
            minlen = lens[j];
    }
    obj *res = NULL;
    if (maxlen) {
        res = obj_string_raw(NULL, maxlen); /* zeroed */
        unsigned char *r = obj_string_writable(res, 0);
        if (op == OP_NOT) {
            for (size_t i = 0; i < maxlen; i++)
                r[i] = (unsigned char)~src[0][i];
        } else if (op == OP_AND) {
            /* a shorter (or missing) source is padded with zeros: the
             * result is zero past the shortest */
            if (minlen)
                memcpy(r, src[0], minlen);
            for (int j = 1; j < n; j++)
                for (size_t i = 0; i < minlen; i++)
                    r[i] &= src[j][i];
        } else {
            for (int j = 0; j < n; j++) {
                if (op == OP_OR)
                    for (size_t i = 0; i < lens[j]; i++)
                        r[i] |= src[j][i];
                else
                    for (size_t i = 0; i < lens[j]; i++)
                        r[i] ^= src[j][i];
            }
        }
    }
    free(src);
    free(lens);
    free(bufs);
    if (res)
        db_set(c->db, c->argv[2], res, 0, c->known);
    else
        db_delete(c->db, c->argv[2], c->known);
    reply_long(c, (long long)maxlen);
}

/* ---- BITFIELD ------------------------------------------------------------ */

enum bf_opcode { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

struct bf_op {
    uint64_t offset;
    long long arg; /* SET value or INCRBY increment */
    enum bf_opcode opcode;
    enum bf_overflow overflow;
    int bits;
    int sign;
};

/* Reads bits [offset, offset + bits) of p, most significant first; bytes
 * at or past len read as zero. */
static uint64_t bf_read(const unsigned char *p, size_t len, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int i = 0; i < bits; i++, offset++) {
        uint64_t byte = offset >> 3;
        int b = byte < len ? (p[byte] >> (7 - (offset & 7))) & 1 : 0;
        v = (v << 1) | (uint64_t)b;
    }
    return v;
}

static void bf_write(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int i = bits - 1; i >= 0; i--, offset++) {
        unsigned char mask = (unsigned char)(0x80 >> (offset & 7));
        if ((v >> i) & 1)
            p[offset >> 3] |= mask;
        else
            p[offset >> 3] &= (unsigned char)~mask;
    }
}

static int64_t bf_sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v & (1ull << (bits - 1))))
        v |= UINT64_MAX << bits;
    return (int64_t)v;
}

/* The value to store for a mathematical result r of a field of the given
 * width and sign: *ok is 0 on overflow (then WRAP keeps the low bits, SAT
 * the nearest limit; FAIL stores nothing). Returns the stored field bits. */
static uint64_t bf_fit(__int128 r, int bits, int sign, enum bf_overflow ow, int *ok)
{
    __int128 min, max;
    if (sign) {
        max = ((__int128)1 << (bits - 1)) - 1;
        min = -max - 1;
    } else {
        max = ((__int128)1 << bits) - 1;
        min = 0;
    }
    uint64_t mask = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    *ok = r >= min && r <= max;
    if (*ok || ow == BF_WRAP)
        return (uint64_t)r & mask;
    return (uint64_t)(r > max ? max : min) & mask;
}

/* The field as the integer it reads as. */
static long long bf_value(uint64_t field, int bits, int sign)
{
    return sign ? bf_sign_extend(field, bits) : (long long)field;
}

/* Parses "i<bits>" (1-64) or "u<bits>" (1-63). As Redis, the digits end at
 * the first NUL byte. */
static int bf_type_or_reply(client *c, const str arg, int *sign, int *bits)
{
    const char *p = arg;
    long long v;
    if ((p[0] != 'i' && p[0] != 'u') || !util_str2ll(p + 1, strlen(p + 1), &v) || v < 1 ||
        v > (p[0] == 'i' ? 64 : 63)) {
        reply_error(c, ERR_BF_TYPE);
        return -1;
    }
    *sign = p[0] == 'i';
    *bits = (int)v;
    return 0;
}

/* Parses the operations of argv[2...]; returns their number (*ops is
 * malloc'd), or -1 after replying. *max_bit is the highest bit written. */
static int bf_parse_or_reply(client *c, struct bf_op **ops, int *writes, uint64_t *max_bit)
{
    enum bf_overflow ow = BF_WRAP;
    int n = 0;
    *ops = NULL;
    *writes = 0;
    *max_bit = 0;
    for (int j = 2; j < c->argc; j++) {
        int more = c->argc - j - 1;
        const char *sub = c->argv[j];
        enum bf_opcode opcode;
        if (!strcasecmp(sub, "get") && more >= 2) {
            opcode = BF_GET;
        } else if (!strcasecmp(sub, "set") && more >= 3) {
            opcode = BF_SET;
        } else if (!strcasecmp(sub, "incrby") && more >= 3) {
            opcode = BF_INCRBY;
        } else if (!strcasecmp(sub, "overflow") && more >= 1) {
            const char *name = c->argv[++j];
            if (!strcasecmp(name, "wrap")) {
                ow = BF_WRAP;
            } else if (!strcasecmp(name, "sat")) {
                ow = BF_SAT;
            } else if (!strcasecmp(name, "fail")) {
                ow = BF_FAIL;
            } else {
                reply_error(c, "ERR Invalid OVERFLOW type specified");
                goto err;
            }
            continue;
        } else {
            reply_error_syntax(c);
            goto err;
        }
        struct bf_op op = {.opcode = opcode, .overflow = ow};
        if (bf_type_or_reply(c, c->argv[j + 1], &op.sign, &op.bits) < 0 ||
            bit_offset_or_reply(c, c->argv[j + 2], op.bits, &op.offset) < 0)
            goto err;
        if (opcode != BF_GET) {
            *writes = 1;
            if (op.offset + (uint64_t)op.bits - 1 > *max_bit)
                *max_bit = op.offset + (uint64_t)op.bits - 1;
            if (parse_ll_or_reply(c, c->argv[j + 3], &op.arg) < 0)
                goto err;
        }
        *ops = realloc(*ops, sizeof(**ops) * (size_t)(n + 1));
        (*ops)[n++] = op;
        j += opcode == BF_GET ? 2 : 3;
    }
    return n;
err:
    free(*ops);
    *ops = NULL;
    return -1;
}

static void bitfield_generic(client *c, int readonly_cmd)
{
    struct bf_op *ops;
    int writes;
    uint64_t max_bit;
    int n = bf_parse_or_reply(c, &ops, &writes, &max_bit);
    if (n < 0)
        return;
    obj *o;
    int created = 0, grown = 0;
    if (!writes) {
        o = db_lookup(c->db, c->argv[1], LOOKUP_NONE, c->known);
        if (o && o->type != OBJ_STRING) {
            reply_error_wrongtype(c);
            free(ops);
            return;
        }
    } else {
        if (readonly_cmd) {
            reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
            free(ops);
            return;
        }
        o = string_for_bit_write_or_reply(c, max_bit, &created, &grown);
        if (!o) {
            free(ops);
            return;
        }
    }
    long long changes = 0;
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        struct bf_op *op = &ops[i];
        if (op->opcode == BF_GET) {
            char buf[32];
            size_t len = 0;
            const unsigned char *p = o ? string_bytes(o, buf, &len) : NULL;
            reply_long(c, bf_value(bf_read(p, len, op->offset, op->bits), op->bits, op->sign));
            continue;
        }
        size_t len = obj_string_len(o);
        unsigned char *p = obj_string_writable(o, 0);
        uint64_t old = bf_read(p, len, op->offset, op->bits);
        long long oldv = bf_value(old, op->bits, op->sign);
        __int128 want;
        if (op->opcode == BF_INCRBY)
            want = (__int128)oldv + op->arg;
        else if (op->sign)
            want = op->arg;
        else /* Redis reads an unsigned SET value as a u64: -1 is too big */
            want = (__int128)(uint64_t)op->arg;
        int ok;
        uint64_t field = bf_fit(want, op->bits, op->sign, op->overflow, &ok);
        if (!ok && op->overflow == BF_FAIL) {
            reply_null(c);
            continue;
        }
        bf_write(p, op->offset, op->bits, field);
        long long newv = bf_value(field, op->bits, op->sign);
        reply_long(c, op->opcode == BF_SET ? oldv : newv);
        if (grown || field != old)
            changes++;
    }
    free(ops);
    if (created || grown || changes) {
        /* db_add or db_modified counted one change; Redis counts one per
         * written field (and none for a string that only grew when every
         * write failed) */
        if (!created)
            db_modified(c->db, c->argv[1]);
        ks_stats.changes += changes - 1;
        if (!changes)
            effect_rewrite(c, c->argc, c->argv); /* not a change, but the string is there */
    }
}

void cmd_bitfield(client *c)
{
    bitfield_generic(c, 0);
}

void cmd_bitfield_ro(client *c)
{
    bitfield_generic(c, 1);
}
