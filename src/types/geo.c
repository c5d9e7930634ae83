/*
 * geo.c: the GEO commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
 * GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms).
 *
 * A geo set is a sorted set whose scores are 52-bit interleaved geohashes
 * (ds/geohash.h); every read and write goes through the sorted set API of
 * keyspace/object_zset.h. Replies and errors are Redis 7.0's: distances
 * with 4 decimals, coordinates as Redis prints long doubles (RESP3
 * doubles), and a search scans the same cells in the same order, so that
 * unsorted results and COUNT ANY pick the same members. Arguments are
 * checked in Redis's order, the source key's type first. GEOADD
 * propagates as the ZADD it is, `zadd k [options] <geohash> m ...` with
 * the scores as integers (repl/effects.h), as Redis 7.0 does; the STORE
 * searches propagate their own arguments.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "ds/geohash.h"
#include "ds/util.h"
#include "keyspace/db.h"
#include "keyspace/object_zset.h"
#include "net/reply.h"
#include "repl/effects.h"
#include "types/types.h"

/* ---- arguments ----------------------------------------------------------- */

/* A double as Redis parses one; msg (NULL: the generic float error). */
static int double_or_reply(client *c, const str arg, const char *msg, double *out)
{
    if (!util_str2d(arg, str_len(arg), out)) {
        if (msg)
            reply_error(c, msg);
        else
            reply_error_not_float(c);
        return -1;
    }
    return 0;
}

/* Metres per unit, or -1 after replying. */
static double unit_or_reply(client *c, const str u)
{
    if (str_eqi(u, "m"))
        return 1;
    if (str_eqi(u, "km"))
        return 1000;
    if (str_eqi(u, "ft"))
        return 0.3048;
    if (str_eqi(u, "mi"))
        return 1609.34;
    reply_error(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* argv[i], argv[i + 1]: longitude and latitude within the GEO limits. */
static int lonlat_or_reply(client *c, int i, double xy[2])
{
    if (double_or_reply(c, c->argv[i], NULL, &xy[0]) < 0 ||
        double_or_reply(c, c->argv[i + 1], NULL, &xy[1]) < 0)
        return -1;
    if (xy[0] < GEOHASH_LON_MIN || xy[0] > GEOHASH_LON_MAX || xy[1] < GEOHASH_LAT_MIN ||
        xy[1] > GEOHASH_LAT_MAX) {
        reply_error_fmt(c, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return -1;
    }
    return 0;
}

/* argv[i] radius, argv[i + 1] unit. */
static int radius_or_reply(client *c, int i, geohash_shape *shape)
{
    double r;
    if (double_or_reply(c, c->argv[i], "ERR need numeric radius", &r) < 0)
        return -1;
    if (r < 0) {
        reply_error(c, "ERR radius cannot be negative");
        return -1;
    }
    double to_m = unit_or_reply(c, c->argv[i + 1]);
    if (to_m < 0)
        return -1;
    shape->type = GEOHASH_CIRCLE;
    shape->radius = r;
    shape->to_meters = to_m;
    return 0;
}

/* argv[i] width, argv[i + 1] height, argv[i + 2] unit. */
static int box_or_reply(client *c, int i, geohash_shape *shape)
{
    double w, h;
    if (double_or_reply(c, c->argv[i], "ERR need numeric width", &w) < 0 ||
        double_or_reply(c, c->argv[i + 1], "ERR need numeric height", &h) < 0)
        return -1;
    if (h < 0 || w < 0) {
        reply_error(c, "ERR height or width cannot be negative");
        return -1;
    }
    double to_m = unit_or_reply(c, c->argv[i + 2]);
    if (to_m < 0)
        return -1;
    shape->type = GEOHASH_BOX;
    shape->width = w;
    shape->height = h;
    shape->to_meters = to_m;
    return 0;
}

/* The position of member in o: 1, or 0 when it is not there. */
static int member_position(obj *o, const str member, double xy[2])
{
    double score;
    if (!zset_score(o, member, str_len(member), &score))
        return 0;
    return geohash_decode_score(score, xy);
}

/* A coordinate as Redis replies it: a long double with up to 17 decimals,
 * trailing zeros cut; a bulk string in RESP2, a double in RESP3. */
static void reply_coord(client *c, double v)
{
    char buf[128];
    int len = util_ld2str(buf, sizeof(buf), (long double)v);
    if (c->resp >= 3) {
        reply_raw(c, ",", 1);
        reply_raw(c, buf, (size_t)len);
        reply_raw(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, (size_t)len);
    }
}

/* A distance: always a bulk string with 4 decimals, whatever the protocol. */
static void reply_distance(client *c, double d)
{
    char buf[128];
    int len = snprintf(buf, sizeof(buf), "%.4f", d);
    reply_bulk(c, buf, (size_t)len);
}

/* ---- GEOADD, GEODIST, GEOHASH, GEOPOS ------------------------------------ */

void cmd_geoadd(client *c)
{
    int nx = 0, xx = 0, ch = 0, first = 2;
    for (; first < c->argc; first++) {
        if (str_eqi(c->argv[first], "nx"))
            nx = 1;
        else if (str_eqi(c->argv[first], "xx"))
            xx = 1;
        else if (str_eqi(c->argv[first], "ch"))
            ch = 1;
        else
            break;
    }
    int elements = (c->argc - first) / 3;
    if ((c->argc - first) % 3 || (nx && xx) || elements == 0) {
        reply_error_syntax(c);
        return;
    }
    /* every position is checked before the key is looked at */
    double *scores = heap_malloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++) {
        double xy[2];
        geohash_bits hash;
        if (lonlat_or_reply(c, first + 3 * j, xy) < 0) {
            free(scores);
            return;
        }
        geohash_encode_wgs84(xy[0], xy[1], GEOHASH_STEP_MAX, &hash);
        scores[j] = (double)geohash_align52(hash);
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_WRITE) < 0) {
        free(scores);
        return;
    }
    int created = 0;
    if (!o && !xx) {
        o = obj_zset_new_for(str_len(c->argv[first + 2]));
        created = 1;
    }
    long long added = 0, updated = 0;
    int flags = (nx ? ZSET_IN_NX : 0) | (xx ? ZSET_IN_XX : 0);
    for (int j = 0; o && j < elements; j++) {
        const str m = c->argv[first + 3 * j + 2];
        int out = 0;
        zset_add(o, scores[j], m, str_len(m), flags, &out, NULL);
        added += (out & ZSET_OUT_ADDED) != 0;
        updated += (out & ZSET_OUT_UPDATED) != 0;
    }
    if (created || added || updated) {
        /* ZADD's arguments: the options as given, then score member pairs
         * (Redis spells the command in lowercase) */
        effect_begin(c->dbindex, first + 2 * elements);
        effect_arg_cstr("zadd");
        for (int j = 1; j < first; j++)
            effect_arg_str(c->argv[j]);
        for (int j = 0; j < elements; j++) {
            effect_arg_ll((long long)scores[j]);
            effect_arg_str(c->argv[first + 3 * j + 2]);
        }
        effect_prevent();
    }
    free(scores);
    if (created)
        db_add(c->db, c->argv[1], o);
    else if (added || updated)
        db_modified(c->db, c->argv[1]);
    reply_long(c, ch ? added + updated : added);
}

void cmd_geodist(client *c)
{
    double to_m = 1;
    if (c->argc == 5) {
        to_m = unit_or_reply(c, c->argv[4]);
        if (to_m < 0)
            return;
    } else if (c->argc > 5) {
        reply_error_syntax(c);
        return;
    }
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    double a[2], b[2];
    if (!o || !member_position(o, c->argv[2], a) || !member_position(o, c->argv[3], b)) {
        reply_null(c);
        return;
    }
    reply_distance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_m);
}

void cmd_geohash(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (!o || !zset_score(o, c->argv[j], str_len(c->argv[j]), &score)) {
            reply_null(c);
            continue;
        }
        char buf[12];
        geohash_score_to_string(score, buf);
        reply_bulk(c, buf, 11);
    }
}

void cmd_geopos(client *c)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[1], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        if (!o || !member_position(o, c->argv[j], xy)) {
            reply_null_array(c);
            continue;
        }
        reply_array(c, 2);
        reply_coord(c, xy[0]);
        reply_coord(c, xy[1]);
    }
}

/* ---- searching ----------------------------------------------------------- */

/* One match. Members are copied into the result's pool: a listpack
 * iterator formats integers into a buffer it reuses, and GEOSEARCHSTORE may
 * replace the very set it read. */
struct geo_point {
    double lon, lat;
    double dist; /* metres until the reply divides it by the unit */
    double score;
    size_t off, len; /* the member in geo_result.pool */
};

struct geo_result {
    struct geo_point *v;
    size_t used, cap;
    char *pool;
    size_t pool_used, pool_cap;
};

static void result_add(struct geo_result *r, const double xy[2], double dist, double score,
                       const char *m, size_t len)
{
    if (r->used == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = heap_realloc(r->v, r->cap * sizeof(*r->v));
    }
    /* allocated even for empty members: they are replied from the pool */
    if (!r->pool || r->pool_used + len > r->pool_cap) {
        while (!r->pool_cap || r->pool_used + len > r->pool_cap)
            r->pool_cap = r->pool_cap ? r->pool_cap * 2 : 256;
        r->pool = heap_realloc(r->pool, r->pool_cap);
    }
    if (len)
        memcpy(r->pool + r->pool_used, m, len);
    struct geo_point *p = &r->v[r->used++];
    p->lon = xy[0];
    p->lat = xy[1];
    p->dist = dist;
    p->score = score;
    p->off = r->pool_used;
    p->len = len;
    r->pool_used += len;
}

static void result_free(struct geo_result *r)
{
    free(r->v);
    free(r->pool);
}

/* Adds the members of one cell that lie in the shape, in score order,
 * stopping once limit (0: none) results are there. */
static void search_cell(obj *o, geohash_bits cell, const geohash_shape *shape, size_t limit,
                        struct geo_result *r)
{
    uint64_t min, max;
    geohash_cell_scores(cell, &min, &max);
    skiplist_range range = {(double)min, (double)max, 0, 1};
    struct zset_iter it;
    zset_iter_init_score(&it, o, &range, 0);
    const char *m;
    size_t len;
    double score;
    while (zset_iter_next(&it, &m, &len, &score)) {
        double xy[2], dist;
        if (geohash_in_shape(shape, score, xy, &dist))
            result_add(r, xy, dist, score, m, len);
        if (r->used && limit && r->used >= limit)
            break;
    }
}

/* Scans the centre cell then its neighbours (geohash_search's order). A
 * neighbour equal to the one scanned just before is skipped: at very large
 * radii neighbours coincide. As in Redis, that comparison is not made
 * against the centre cell itself. */
static void search_shape(obj *o, const geohash_shape *shape, size_t limit, struct geo_result *r)
{
    geohash_search s;
    geohash_search_areas(shape, &s);
    int last = 0;
    for (int i = 0; i < GEOHASH_SEARCH_CELLS; i++) {
        geohash_bits cell = s.cells[i];
        if (cell.bits == 0 && cell.step == 0)
            continue;
        if (last && cell.bits == s.cells[last].bits && cell.step == s.cells[last].step)
            continue;
        if (r->used && limit && r->used >= limit)
            break;
        search_cell(o, cell, shape, limit, r);
        last = i;
    }
}

static int cmp_dist_asc(const void *a, const void *b)
{
    double da = ((const struct geo_point *)a)->dist, db = ((const struct geo_point *)b)->dist;
    return da > db ? 1 : (da == db ? 0 : -1);
}

static int cmp_dist_desc(const void *a, const void *b)
{
    return -cmp_dist_asc(a, b);
}

/* Sorting the N closest of more results: a quicksort that only recurses
 * into the parts that overlap positions [lo, hi] (Bentley and McIlroy's
 * three-way partitioning: median of three, or of nine above 40 elements,
 * keys equal to the pivot gathered at the ends, insertion sort below 7
 * elements or when a pass moved nothing). Which of several equally distant
 * members makes the cut depends on exactly these steps, and they are the
 * ones Redis takes. */
typedef int geo_cmp(const void *, const void *);

static void point_swap(struct geo_point *a, struct geo_point *b)
{
    struct geo_point t = *a;
    *a = *b;
    *b = t;
}

static void points_swap_n(struct geo_point *a, struct geo_point *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        point_swap(a + i, b + i);
}

static void insertion_sort(struct geo_point *a, size_t n, geo_cmp *cmp)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp(&a[j - 1], &a[j]) > 0; j--)
            point_swap(&a[j], &a[j - 1]);
}

static struct geo_point *median3(struct geo_point *a, struct geo_point *b, struct geo_point *c,
                                 geo_cmp *cmp)
{
    if (cmp(a, b) < 0)
        return cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a);
    return cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c);
}

/* Whether [first, last] holds part of [lo, hi]. */
static int overlaps(const struct geo_point *first, const struct geo_point *last,
                    const struct geo_point *lo, const struct geo_point *hi)
{
    return !((lo < first && hi < first) || (lo > last && hi > last));
}

static void partial_sort(struct geo_point *a, size_t n, geo_cmp *cmp, const struct geo_point *lo,
                         const struct geo_point *hi)
{
    for (;;) {
        if (n < 7) {
            insertion_sort(a, n, cmp);
            return;
        }
        struct geo_point *mid = a + n / 2;
        if (n > 7) {
            struct geo_point *first = a, *last = a + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                first = median3(first, first + d, first + 2 * d, cmp);
                mid = median3(mid - d, mid, mid + d, cmp);
                last = median3(last - 2 * d, last - d, last, cmp);
            }
            mid = median3(first, mid, last, cmp);
        }
        point_swap(a, mid);
        struct geo_point *pa = a + 1, *pb = a + 1, *pc = a + n - 1, *pd = a + n - 1;
        int moved = 0;
        for (;;) {
            int r;
            while (pb <= pc && (r = cmp(pb, a)) <= 0) {
                if (r == 0) {
                    moved = 1;
                    point_swap(pa++, pb);
                }
                pb++;
            }
            while (pb <= pc && (r = cmp(pc, a)) >= 0) {
                if (r == 0) {
                    moved = 1;
                    point_swap(pc, pd--);
                }
                pc--;
            }
            if (pb > pc)
                break;
            point_swap(pb++, pc--);
            moved = 1;
        }
        if (!moved) {
            insertion_sort(a, n, cmp);
            return;
        }
        struct geo_point *end = a + n;
        size_t k = (size_t)(pa - a) < (size_t)(pb - pa) ? (size_t)(pa - a) : (size_t)(pb - pa);
        points_swap_n(a, pb - k, k);
        size_t tail = (size_t)(end - pd - 1);
        k = (size_t)(pd - pc) < tail ? (size_t)(pd - pc) : tail;
        points_swap_n(pb, end - k, k);
        size_t left = (size_t)(pb - pa), right = (size_t)(pd - pc);
        if (left > 1 && overlaps(a, a + left - 1, lo, hi))
            partial_sort(a, left, cmp, lo, hi);
        if (right > 1 && overlaps(end - right, end - 1, lo, hi)) {
            a = end - right;
            n = right;
            continue;
        }
        return;
    }
}

#define GEO_FROM_COORDS (1 << 0) /* GEORADIUS: centre and radius in fixed places */
#define GEO_FROM_MEMBER (1 << 1) /* GEORADIUSBYMEMBER */
#define GEO_NOSTORE     (1 << 2) /* the _RO forms: no STORE/STOREDIST */
#define GEO_SEARCH      (1 << 3) /* GEOSEARCH: FROM... and BY... options */
#define GEO_SEARCHSTORE (1 << 4) /* GEOSEARCHSTORE: destination in argv[1] */

enum geo_sort { SORT_NONE, SORT_ASC, SORT_DESC };

struct geo_opts {
    int withdist, withhash, withcoord;
    int frommember, fromlonlat, byradius, bybox;
    int any, storedist;
    enum geo_sort sort;
    long long count;
    str store; /* destination key, NULL for none */
};

/* The options after base, in any order. Members named by FROMMEMBER are
 * looked up as they come (o may be NULL: the key is missing, the error or
 * empty reply comes after every option was checked). */
static int search_options_or_reply(client *c, int base, int flags, obj *o, geohash_shape *shape,
                                   struct geo_opts *op)
{
    int search = (flags & GEO_SEARCH) != 0;
    for (int i = base; i < c->argc; i++) {
        const str a = c->argv[i];
        int left = c->argc - i - 1; /* arguments after this one */
        if (str_eqi(a, "withdist")) {
            op->withdist = 1;
        } else if (str_eqi(a, "withhash")) {
            op->withhash = 1;
        } else if (str_eqi(a, "withcoord")) {
            op->withcoord = 1;
        } else if (str_eqi(a, "any")) {
            op->any = 1;
        } else if (str_eqi(a, "asc")) {
            op->sort = SORT_ASC;
        } else if (str_eqi(a, "desc")) {
            op->sort = SORT_DESC;
        } else if (str_eqi(a, "count") && left >= 1) {
            long long n;
            if (!util_str2ll(c->argv[i + 1], str_len(c->argv[i + 1]), &n)) {
                reply_error_not_int(c);
                return -1;
            }
            if (n <= 0) {
                reply_error(c, "ERR COUNT must be > 0");
                return -1;
            }
            op->count = n;
            i++;
        } else if ((str_eqi(a, "store") || str_eqi(a, "storedist")) && left >= 1 &&
                   !(flags & GEO_NOSTORE) && !search) {
            op->store = c->argv[i + 1];
            op->storedist = str_eqi(a, "storedist");
            i++;
        } else if (str_eqi(a, "storedist") && search && (flags & GEO_SEARCHSTORE)) {
            op->storedist = 1;
        } else if (str_eqi(a, "frommember") && left >= 1 && search && !op->fromlonlat) {
            double xy[2];
            if (o && !member_position(o, c->argv[i + 1], xy)) {
                reply_error(c, "ERR could not decode requested zset member");
                return -1;
            }
            if (o) {
                shape->lon = xy[0];
                shape->lat = xy[1];
            }
            op->frommember = 1;
            i++;
        } else if (str_eqi(a, "fromlonlat") && left >= 2 && search && !op->frommember) {
            double xy[2];
            if (lonlat_or_reply(c, i + 1, xy) < 0)
                return -1;
            shape->lon = xy[0];
            shape->lat = xy[1];
            op->fromlonlat = 1;
            i += 2;
        } else if (str_eqi(a, "byradius") && left >= 2 && search && !op->bybox) {
            if (radius_or_reply(c, i + 1, shape) < 0)
                return -1;
            op->byradius = 1;
            i += 2;
        } else if (str_eqi(a, "bybox") && left >= 3 && search && !op->byradius) {
            if (box_or_reply(c, i + 1, shape) < 0)
                return -1;
            op->bybox = 1;
            i += 3;
        } else {
            reply_error_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Writes the results (already sorted, n of them) as the sorted set at
 * key, or deletes key when there are none; replies the count. */
static void store_results(client *c, const str key, struct geo_result *r, size_t n,
                          const struct geo_opts *op, double to_m)
{
    if (n == 0) {
        db_delete(c->db, key, c->known);
        reply_long(c, 0);
        return;
    }
    obj *dst = obj_zset_new(OBJ_ENC_SKIPLIST);
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++) {
        const struct geo_point *p = &r->v[i];
        double score = op->storedist ? p->dist / to_m : p->score;
        int out;
        zset_add(dst, score, r->pool + p->off, p->len, 0, &out, NULL);
        if (p->len > maxlen)
            maxlen = p->len;
    }
    zset_shrink_if_fits(dst, maxlen);
    db_set(c->db, key, dst, 0, c->known);
    reply_long(c, (long long)n);
}

static void reply_results(client *c, struct geo_result *r, size_t n, const struct geo_opts *op,
                          double to_m)
{
    int extra = op->withdist + op->withhash + op->withcoord;
    reply_array(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct geo_point *p = &r->v[i];
        if (extra)
            reply_array(c, extra + 1);
        reply_bulk(c, r->pool + p->off, p->len);
        if (op->withdist)
            reply_distance(c, p->dist / to_m);
        if (op->withhash)
            reply_long(c, (long long)p->score);
        if (op->withcoord) {
            reply_array(c, 2);
            reply_coord(c, p->lon);
            reply_coord(c, p->lat);
        }
    }
}

static void search_generic(client *c, int src, int flags)
{
    obj *o;
    if (lookup_type_or_reply(c, c->argv[src], OBJ_ZSET, &o, LOOKUP_NONE) < 0)
        return;

    geohash_shape shape = {0};
    struct geo_opts op = {0};
    int base;
    if (flags & GEO_FROM_COORDS) {
        double xy[2];
        base = 6;
        if (lonlat_or_reply(c, 2, xy) < 0 || radius_or_reply(c, 4, &shape) < 0)
            return;
        shape.lon = xy[0];
        shape.lat = xy[1];
    } else if (flags & GEO_FROM_MEMBER) {
        base = 5;
        /* without the key, options are still checked before the reply */
        if (o) {
            double xy[2];
            if (!member_position(o, c->argv[2], xy)) {
                reply_error(c, "ERR could not decode requested zset member");
                return;
            }
            shape.lon = xy[0];
            shape.lat = xy[1];
            if (radius_or_reply(c, 3, &shape) < 0)
                return;
        }
    } else {
        base = 2;
        if (flags & GEO_SEARCHSTORE) {
            base = 3;
            op.store = c->argv[1];
        }
    }
    if (search_options_or_reply(c, base, flags, o, &shape, &op) < 0)
        return;

    if (op.store && (op.withdist || op.withhash || op.withcoord)) {
        reply_error_fmt(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                        (flags & GEO_SEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return;
    }
    if ((flags & GEO_SEARCH) && !(op.frommember || op.fromlonlat)) {
        reply_error_fmt(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s",
                        c->argv[0]);
        return;
    }
    if ((flags & GEO_SEARCH) && !(op.byradius || op.bybox)) {
        reply_error_fmt(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %s",
                        c->argv[0]);
        return;
    }
    if (op.any && !op.count) {
        reply_error(c, "ERR the ANY argument requires COUNT argument");
        return;
    }

    if (!o) {
        if (op.store) {
            db_delete(c->db, op.store, c->known);
            reply_long(c, 0);
        } else {
            reply_empty_array(c);
        }
        return;
    }

    /* The N closest need sorting; ANY takes the first N found instead. */
    if (op.count && op.sort == SORT_NONE && !op.any)
        op.sort = SORT_ASC;

    struct geo_result r = {0};
    search_shape(o, &shape, op.any ? (size_t)op.count : 0, &r);

    if (r.used == 0 && !op.store) {
        reply_empty_array(c);
        result_free(&r);
        return;
    }
    size_t n = (op.count == 0 || r.used < (unsigned long long)op.count) ? r.used : (size_t)op.count;
    if (op.sort != SORT_NONE && r.used > 1) {
        geo_cmp *cmp = op.sort == SORT_ASC ? cmp_dist_asc : cmp_dist_desc;
        /* all of them: the C library's sort, as Redis */
        if (n == r.used)
            qsort(r.v, r.used, sizeof(*r.v), cmp);
        else
            partial_sort(r.v, r.used, cmp, r.v, r.v + n - 1);
    }

    if (op.store)
        store_results(c, op.store, &r, n, &op, shape.to_meters);
    else
        reply_results(c, &r, n, &op, shape.to_meters);
    result_free(&r);
}

void cmd_georadius(client *c)
{
    search_generic(c, 1, GEO_FROM_COORDS);
}

void cmd_georadius_ro(client *c)
{
    search_generic(c, 1, GEO_FROM_COORDS | GEO_NOSTORE);
}

void cmd_georadiusbymember(client *c)
{
    search_generic(c, 1, GEO_FROM_MEMBER);
}

void cmd_georadiusbymember_ro(client *c)
{
    search_generic(c, 1, GEO_FROM_MEMBER | GEO_NOSTORE);
}

void cmd_geosearch(client *c)
{
    search_generic(c, 1, GEO_SEARCH);
}

void cmd_geosearchstore(client *c)
{
    search_generic(c, 2, GEO_SEARCH | GEO_SEARCHSTORE);
}
