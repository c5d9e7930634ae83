/*
 * geohash.c: geohash encoding, cells, neighbours, distances and the cell
 * cover of a search (see geohash.h for the model).
 *
 * Invariants: a hash holds latitude in its even bits and longitude in its
 * odd bits, most significant bits first at each coordinate; a zeroed cell
 * (bits 0, step 0) is never scanned. The floating point expressions are
 * written in a fixed order on purpose: the same inputs must give the same
 * bits as Redis, since distances are printed to 4 decimals and points on a
 * search's border are in or out depending on the last bit.
 */
#include "ds/geohash.h"

#include <math.h>
#include <stddef.h>

#define DEG_TO_RAD (M_PI / 180.0)

static double deg_rad(double deg)
{
    return deg * DEG_TO_RAD;
}

static double rad_deg(double rad)
{
    return rad / DEG_TO_RAD;
}

static const geohash_range lon_wgs84 = {GEOHASH_LON_MIN, GEOHASH_LON_MAX};
static const geohash_range lat_wgs84 = {GEOHASH_LAT_MIN, GEOHASH_LAT_MAX};

/* Moves the 32 bits of v to the even bit positions of the result. */
static uint64_t spread_bits(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & 0x5555555555555555ULL;
    return x;
}

/* The inverse of spread_bits: gathers the even bits of v. */
static uint32_t gather_bits(uint64_t v)
{
    uint64_t x = v & 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

static uint64_t interleave(uint32_t lat, uint32_t lon)
{
    return spread_bits(lat) | (spread_bits(lon) << 1);
}

static int range_is_zero(const geohash_range *r)
{
    return r->min == 0 && r->max == 0;
}

static int cell_is_zero(geohash_bits h)
{
    return h.bits == 0 && h.step == 0;
}

int geohash_encode(const geohash_range *lon_range, const geohash_range *lat_range, double lon,
                   double lat, int step, geohash_bits *out)
{
    out->bits = 0;
    out->step = 0;
    if (step < 1 || step > 32 || range_is_zero(lon_range) || range_is_zero(lat_range))
        return 0;
    if (lon > GEOHASH_LON_MAX || lon < GEOHASH_LON_MIN || lat > GEOHASH_LAT_MAX ||
        lat < GEOHASH_LAT_MIN)
        return 0;
    out->step = (uint8_t)step;
    if (lat < lat_range->min || lat > lat_range->max || lon < lon_range->min ||
        lon > lon_range->max)
        return 0;

    double lat_frac = (lat - lat_range->min) / (lat_range->max - lat_range->min);
    double lon_frac = (lon - lon_range->min) / (lon_range->max - lon_range->min);
    /* Scaling by a power of two is exact; the conversion truncates. A
     * coordinate at its range's maximum gives 2^step (see geohash.h). */
    lat_frac *= (double)(1ULL << step);
    lon_frac *= (double)(1ULL << step);
    out->bits = interleave((uint32_t)lat_frac, (uint32_t)lon_frac);
    return 1;
}

int geohash_encode_wgs84(double lon, double lat, int step, geohash_bits *out)
{
    return geohash_encode(&lon_wgs84, &lat_wgs84, lon, lat, step, out);
}

uint64_t geohash_align52(geohash_bits hash)
{
    return hash.bits << (52 - hash.step * 2);
}

int geohash_decode(const geohash_range *lon_range, const geohash_range *lat_range,
                   geohash_bits hash, geohash_area *area)
{
    if (cell_is_zero(hash) || range_is_zero(lon_range) || range_is_zero(lat_range))
        return 0;
    area->hash = hash;
    uint32_t ilat = gather_bits(hash.bits);
    uint32_t ilon = gather_bits(hash.bits >> 1);
    double cells = (double)(1ULL << hash.step);
    double lat_span = lat_range->max - lat_range->min;
    double lon_span = lon_range->max - lon_range->min;
    /* ilat + 1 stays 32-bit on purpose: it wraps for a garbage score the
     * same way Redis's arithmetic does. */
    uint32_t ilat_next = ilat + 1, ilon_next = ilon + 1;
    area->lat.min = lat_range->min + (ilat * 1.0 / cells) * lat_span;
    area->lat.max = lat_range->min + (ilat_next * 1.0 / cells) * lat_span;
    area->lon.min = lon_range->min + (ilon * 1.0 / cells) * lon_span;
    area->lon.max = lon_range->min + (ilon_next * 1.0 / cells) * lon_span;
    return 1;
}

int geohash_decode_wgs84(geohash_bits hash, geohash_area *area)
{
    return geohash_decode(&lon_wgs84, &lat_wgs84, hash, area);
}

void geohash_area_center(const geohash_area *area, double xy[2])
{
    xy[0] = (area->lon.min + area->lon.max) / 2;
    if (xy[0] > GEOHASH_LON_MAX)
        xy[0] = GEOHASH_LON_MAX;
    if (xy[0] < GEOHASH_LON_MIN)
        xy[0] = GEOHASH_LON_MIN;
    xy[1] = (area->lat.min + area->lat.max) / 2;
    if (xy[1] > GEOHASH_LAT_MAX)
        xy[1] = GEOHASH_LAT_MAX;
    if (xy[1] < GEOHASH_LAT_MIN)
        xy[1] = GEOHASH_LAT_MIN;
}

/* A double to uint64 the way an x86-64 compiler's plain cast does it, so
 * that a score no GEOADD wrote (negative, huge) decodes to the same
 * position as in Redis, without undefined behaviour here. */
static uint64_t score_to_u64(double score)
{
    const double two63 = 9223372036854775808.0;
    if (score < two63) {
        if (score >= -two63)
            return (uint64_t)(int64_t)score;
        return 0x8000000000000000ULL;
    }
    double rest = score - two63;
    if (rest < two63)
        return (uint64_t)(int64_t)rest ^ 0x8000000000000000ULL;
    return 0; /* inf, NaN, >= 2^64 */
}

int geohash_decode_score(double score, double xy[2])
{
    geohash_bits hash = {score_to_u64(score), GEOHASH_STEP_MAX};
    geohash_area area;
    if (!geohash_decode_wgs84(hash, &area))
        return 0;
    geohash_area_center(&area, xy);
    return 1;
}

/* Moves a cell dlon cells east and dlat cells north (each -1, 0 or 1),
 * wrapping around within the step. A coordinate that does not move keeps
 * all its bits, even a bit above the step's range. */
static geohash_bits cell_move(geohash_bits h, int dlon, int dlat)
{
    uint64_t mask = h.step >= 32 ? 0xFFFFFFFFULL : ((1ULL << h.step) - 1);
    uint32_t lat = gather_bits(h.bits);
    uint32_t lon = gather_bits(h.bits >> 1);
    if (dlon)
        lon = (uint32_t)(((uint64_t)lon + (uint64_t)(int64_t)dlon) & mask);
    if (dlat)
        lat = (uint32_t)(((uint64_t)lat + (uint64_t)(int64_t)dlat) & mask);
    h.bits = interleave(lat, lon);
    return h;
}

void geohash_neighbors(const geohash_bits *hash, geohash_bits out[8])
{
    out[0] = cell_move(*hash, 0, 1);   /* north */
    out[1] = cell_move(*hash, 0, -1);  /* south */
    out[2] = cell_move(*hash, 1, 0);   /* east */
    out[3] = cell_move(*hash, -1, 0);  /* west */
    out[4] = cell_move(*hash, 1, 1);   /* north-east */
    out[5] = cell_move(*hash, -1, 1);  /* north-west */
    out[6] = cell_move(*hash, 1, -1);  /* south-east */
    out[7] = cell_move(*hash, -1, -1); /* south-west */
}

double geohash_lat_distance(double lat1, double lat2)
{
    return GEOHASH_EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double geohash_distance(double lon1, double lat1, double lon2, double lat2)
{
    double lon1r = deg_rad(lon1);
    double lon2r = deg_rad(lon2);
    double v = sin((lon2r - lon1r) / 2);
    /* On one meridian the distance is the latitude difference; taking that
     * path also decides the last bits of the result. */
    if (v == 0.0)
        return geohash_lat_distance(lat1, lat2);
    double lat1r = deg_rad(lat1);
    double lat2r = deg_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * GEOHASH_EARTH_RADIUS_M * asin(sqrt(a));
}

void geohash_bounding_box(const geohash_shape *shape, double bounds[4])
{
    double lon = shape->lon, lat = shape->lat;
    int circle = shape->type == GEOHASH_CIRCLE;
    double half_h = shape->to_meters * (circle ? shape->radius : shape->height / 2);
    double half_w = shape->to_meters * (circle ? shape->radius : shape->width / 2);

    double lat_delta = rad_deg(half_h / GEOHASH_EARTH_RADIUS_M);
    /* A degree of longitude is shorter away from the equator, so the box is
     * widest at its edge nearest the equator. */
    double lon_delta_top = rad_deg(half_w / GEOHASH_EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
    double lon_delta_bottom =
        rad_deg(half_w / GEOHASH_EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
    double lon_delta = lat < 0 ? lon_delta_bottom : lon_delta_top;
    bounds[0] = lon - lon_delta;
    bounds[2] = lon + lon_delta;
    bounds[1] = lat - lat_delta;
    bounds[3] = lat + lat_delta;
}

int geohash_estimate_steps(double radius_m, double lat)
{
    if (radius_m == 0)
        return GEOHASH_STEP_MAX;
    int step = 1;
    while (radius_m < GEOHASH_MERCATOR_MAX) {
        radius_m *= 2;
        step++;
    }
    step -= 2; /* one cell and its neighbours must cover the radius */
    /* Cells shrink (in metres of longitude) towards the poles. */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80)
            step--;
    }
    if (step < 1)
        step = 1;
    if (step > GEOHASH_STEP_MAX)
        step = GEOHASH_STEP_MAX;
    return step;
}

/* Centre cell, its neighbours and its area at the given step. */
static void cover_at(double lon, double lat, int step, geohash_bits *center, geohash_bits nb[8],
                     geohash_area *area)
{
    geohash_encode(&lon_wgs84, &lat_wgs84, lon, lat, step, center);
    geohash_neighbors(center, nb);
    geohash_decode(&lon_wgs84, &lat_wgs84, *center, area);
}

void geohash_search_areas(const geohash_shape *shape, geohash_search *out)
{
    enum { N, S, E, W, NE, NW, SE, SW };
    double bounds[4];
    geohash_bounding_box(shape, bounds);
    double min_lon = bounds[0], min_lat = bounds[1], max_lon = bounds[2], max_lat = bounds[3];

    /* A box is reached through its corners: use its half diagonal. */
    double radius_m = shape->type == GEOHASH_CIRCLE
                          ? shape->radius
                          : sqrt((shape->width / 2) * (shape->width / 2) +
                                 (shape->height / 2) * (shape->height / 2));
    radius_m *= shape->to_meters;
    int steps = geohash_estimate_steps(radius_m, shape->lat);

    geohash_bits center, nb[8];
    geohash_area area;
    cover_at(shape->lon, shape->lat, steps, &center, nb, &area);

    /* Near a cell's edge the neighbours may not reach the whole bounding
     * box: then one step coarser. */
    geohash_area north, south, east, west;
    geohash_decode(&lon_wgs84, &lat_wgs84, nb[N], &north);
    geohash_decode(&lon_wgs84, &lat_wgs84, nb[S], &south);
    geohash_decode(&lon_wgs84, &lat_wgs84, nb[E], &east);
    geohash_decode(&lon_wgs84, &lat_wgs84, nb[W], &west);
    int coarser = north.lat.max < max_lat || south.lat.min > min_lat || east.lon.max < max_lon ||
                  west.lon.min > min_lon;
    if (steps > 1 && coarser) {
        steps--;
        cover_at(shape->lon, shape->lat, steps, &center, nb, &area);
    }

    /* Drop the neighbours on a side the shape does not reach. */
    static const geohash_bits zero = {0, 0};
    if (steps >= 2) {
        if (area.lat.min < min_lat)
            nb[S] = nb[SW] = nb[SE] = zero;
        if (area.lat.max > max_lat)
            nb[N] = nb[NE] = nb[NW] = zero;
        if (area.lon.min < min_lon)
            nb[W] = nb[SW] = nb[NW] = zero;
        if (area.lon.max > max_lon)
            nb[E] = nb[SE] = nb[NE] = zero;
    }

    out->cells[0] = center;
    for (int i = 0; i < 8; i++)
        out->cells[i + 1] = nb[i];
    out->area = area;
}

void geohash_cell_scores(geohash_bits cell, uint64_t *min, uint64_t *max)
{
    *min = geohash_align52(cell);
    cell.bits++;
    *max = geohash_align52(cell);
}

int geohash_in_shape(const geohash_shape *shape, double score, double xy[2], double *dist)
{
    if (!geohash_decode_score(score, xy))
        return 0;
    if (shape->type == GEOHASH_CIRCLE) {
        double d = geohash_distance(shape->lon, shape->lat, xy[0], xy[1]);
        if (d > shape->radius * shape->to_meters)
            return 0;
        *dist = d;
        return 1;
    }
    double width_m = shape->width * shape->to_meters;
    double height_m = shape->height * shape->to_meters;
    /* The latitude test is the cheap one: first. */
    if (geohash_lat_distance(xy[1], shape->lat) > height_m / 2)
        return 0;
    if (geohash_distance(xy[0], xy[1], shape->lon, xy[1]) > width_m / 2)
        return 0;
    *dist = geohash_distance(shape->lon, shape->lat, xy[0], xy[1]);
    return 1;
}

void geohash_score_to_string(double score, char out[12])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const geohash_range lon_std = {-180, 180}, lat_std = {-90, 90};
    double xy[2];
    geohash_bits hash;
    geohash_decode_score(score, xy);
    geohash_encode(&lon_std, &lat_std, xy[0], xy[1], GEOHASH_STEP_MAX, &hash);
    /* 52 bits give 10 characters of 5 bits; the 11th is always '0'. */
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[(hash.bits >> (52 - (i + 1) * 5)) & 0x1f];
    out[10] = '0';
    out[11] = '\0';
}
